//! Device time: Unix seconds in a `u32`, compared modulo 2^32.
//!
//! Times are compared by their distance rather than their value (serial-number
//! arithmetic), so a clock passed in truncated to 32 bits keeps the module working when it
//! wraps in 2106: 0xFFFF_FFFE is followed by 0, 1, ... as any other second by the next.
//! Two times compare correctly while they are less than 2^31 s (68 years) apart.
//! `0xFFFF_FFFF` stays reserved for "no clock" (`NXSM_TIME_UNAVAILABLE`): that one second
//! of each wrap is treated as a poll without a clock.

/// Seconds since the Unix epoch, as the device's clock gives them (modulo 2^32).
pub type UnixSeconds = u32;

/// Whether `a` comes before `b`.
#[inline]
pub const fn is_before(a: UnixSeconds, b: UnixSeconds) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Seconds from `from` to `to`; 0 when `to` is not after `from`.
#[inline]
pub const fn elapsed(from: UnixSeconds, to: UnixSeconds) -> u32 {
    if is_before(from, to) {
        to.wrapping_sub(from)
    } else {
        0
    }
}

/// The earlier of two times.
#[inline]
pub const fn earlier(a: UnixSeconds, b: UnixSeconds) -> UnixSeconds {
    if is_before(b, a) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrap_is_one_second_like_any_other() {
        assert!(is_before(0xFFFF_FFFE, 0));
        assert!(!is_before(0, 0xFFFF_FFFE));
        assert_eq!(elapsed(0xFFFF_FFFE, 3), 5);
        assert_eq!(elapsed(3, 0xFFFF_FFFE), 0);
        assert_eq!(earlier(0xFFFF_FFF0, 4), 0xFFFF_FFF0);
        assert_eq!(earlier(1_700_000_000, 1_699_999_999), 1_699_999_999);
        assert!(!is_before(7, 7));
        assert_eq!(elapsed(7, 7), 0);
    }
}
