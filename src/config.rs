//! Build-time capacities and run-time settings.
//!
//! Capacities size static storage, so they are constants chosen when the library is built
//! (`config/capacities.txt` lists them; `build.rs` reads the environment variables of the
//! same names). Settings (intervals, capture mode, protocols)
//! may change at run time and are validated before anything uses them.

/// Capacities fixed at build time, one constant per row of `config/capacities.txt` (named
/// without the `NXSM_` prefix), plus the flow-table index sizes derived from them.
pub mod capacity {
    include!(concat!(env!("OUT_DIR"), "/capacities.rs"));
}

/// Whether the library is built with detection (the `detection` feature, CMake option
/// `NXSM_DETECTION`, on by default): policies, alerts, blocking and learn mode. Without it
/// every detection path is compiled out and its storage is empty; the C functions stay and
/// return `NXSM_ERR_NOT_BUILT`.
pub const DETECTION: bool = cfg!(feature = "detection");

/// The detection storage this build keeps: the capacities when [`DETECTION`] is on, none
/// when it is off.
pub mod detection {
    use super::{capacity, DETECTION};

    /// Words of each of the two policy buffers.
    pub const POLICY_WORDS: usize = if DETECTION {
        capacity::POLICY_BYTES / 4
    } else {
        0
    };
    /// Flow alerts a window may raise.
    pub const ALERTS_PER_WINDOW: usize = if DETECTION {
        capacity::MAX_ALERTS_PER_WINDOW
    } else {
        0
    };
    /// Entries per learn-mode list.
    pub const BASELINE_ENTRIES: usize = if DETECTION {
        capacity::BASELINE_ENTRIES
    } else {
        0
    };
}

/// Longest collection interval accepted, one day: a longer window would let 32-bit byte
/// counters of a busy flow saturate before they are reported.
pub const MAX_INTERVAL_S: u32 = 86_400;
/// Longest retry period accepted while no hub takes messages.
pub const MAX_RETRY_S: u32 = 3_600;
/// Longest first-collection base accepted (the first collection happens within twice that).
pub const MAX_FIRST_COLLECTION_BASE_S: u32 = 3_600;

/// Collector priority groups; each has its own interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// Network activity (default 10 s).
    High = 0,
    /// The inventory (default 30 s).
    Medium = 1,
    /// System information and heartbeat (default 60 s).
    Low = 2,
}

impl Priority {
    /// Maps the C value; anything else is `None`.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0 => Some(Self::High),
            1 => Some(Self::Medium),
            2 => Some(Self::Low),
            _ => None,
        }
    }
}

/// Where inbound packets are seen (the two capture points of the original module).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureMode {
    /// Inbound at TCP/UDP/ICMP dispatch: only packets NetX Duo accepted for this host.
    UnicastOnly = 0,
    /// Inbound at IP input: every packet the driver hands to NetX Duo.
    IpInput = 1,
}

impl CaptureMode {
    /// Maps the C value; anything else is `None`.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0 => Some(Self::UnicastOnly),
            1 => Some(Self::IpInput),
            _ => None,
        }
    }
}

/// Transport protocols to record, as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocols(u32);

impl Protocols {
    /// TCP bit.
    pub(crate) const TCP: u32 = 1;
    /// UDP bit.
    pub(crate) const UDP: u32 = 2;
    /// ICMP and ICMPv6 bit.
    pub(crate) const ICMP: u32 = 4;
    /// Every protocol the module understands.
    pub const ALL: Self = Self(Self::TCP | Self::UDP | Self::ICMP);

    /// A non-empty set of known bits; anything else is `None`.
    pub fn from_bits(bits: u32) -> Option<Self> {
        (bits != 0 && bits & !Self::ALL.0 == 0).then_some(Self(bits))
    }

    /// The raw bit set.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `bit` is in the set.
    pub fn contains(self, bit: u32) -> bool {
        self.0 & bit == bit
    }

    /// Whether packets of `kind` are recorded. The bits are `1 << kind` (TCP 0, UDP 1,
    /// ICMP 2), so this is one shift and one test on the hook path.
    #[inline]
    pub fn records(self, kind: crate::wire::TransportKind) -> bool {
        self.0 & (1 << kind as u32) != 0
    }

    /// The set whose [`bits`](Self::bits) were `bits`, or `None` for 0; skips the check of
    /// [`from_bits`](Self::from_bits) for values that came from a `Protocols`.
    pub(crate) fn from_checked_bits(bits: u32) -> Option<Self> {
        (bits != 0).then_some(Self(bits))
    }
}

// `Protocols::records` relies on each protocol's bit being `1 << kind`.
const _: () = {
    use crate::wire::TransportKind;
    assert!(Protocols::TCP == 1 << TransportKind::Tcp as u32);
    assert!(Protocols::UDP == 1 << TransportKind::Udp as u32);
    assert!(Protocols::ICMP == 1 << TransportKind::Icmp as u32);
};

/// Why a setting was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingError {
    /// A collection interval outside `1..=MAX_INTERVAL_S`.
    Interval,
    /// The first-collection base outside `1..=MAX_FIRST_COLLECTION_BASE_S`.
    FirstCollection,
    /// The retry period outside `1..=MAX_RETRY_S`.
    Retry,
    /// The pending timeout outside `1..=MAX_INTERVAL_S`.
    PendingTimeout,
    /// An unknown capture mode.
    CaptureMode,
    /// An empty protocol set or unknown bits.
    Protocols,
    /// Unknown collector bits.
    Collectors,
}

/// Everything a firmware may choose at run time, already validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Collection interval per priority group, seconds.
    pub intervals_s: [u32; 3],
    /// First collection at `base + random % (2 * base)` seconds after start.
    pub first_collection_base_s: u32,
    /// Period of retries while no hub accepts messages.
    pub retry_interval_s: u32,
    /// Time in PENDING without a hub before the module suspends.
    pub pending_timeout_s: u32,
    /// Inbound capture point.
    pub capture_mode: CaptureMode,
    /// Protocols recorded.
    pub protocols: Protocols,
    /// Enabled collectors, bit `1 << Collector` each.
    pub collectors: u8,
}

impl Settings {
    /// The original module's defaults: 10/30/60 s groups, first collection 30-89 s after
    /// start, 3 s retries, 300 s until suspended, unicast-only capture, all protocols.
    pub const DEFAULT: Self = Self {
        intervals_s: [10, 30, 60],
        first_collection_base_s: 30,
        retry_interval_s: 3,
        pending_timeout_s: 300,
        capture_mode: CaptureMode::UnicastOnly,
        protocols: Protocols::ALL,
        collectors: crate::scheduler::Collector::ALL_BITS,
    };

    /// Checks a collection interval.
    pub fn check_interval(seconds: u32) -> Result<u32, SettingError> {
        in_range(seconds, MAX_INTERVAL_S, SettingError::Interval)
    }

    /// Builds settings from raw values, refusing the first one out of range.
    pub fn from_raw(raw: &RawSettings) -> Result<Self, SettingError> {
        let mut intervals_s = [0; 3];
        for (slot, &value) in intervals_s.iter_mut().zip(raw.intervals_s.iter()) {
            *slot = Self::check_interval(value)?;
        }
        Ok(Self {
            intervals_s,
            first_collection_base_s: in_range(
                raw.first_collection_base_s,
                MAX_FIRST_COLLECTION_BASE_S,
                SettingError::FirstCollection,
            )?,
            retry_interval_s: in_range(raw.retry_interval_s, MAX_RETRY_S, SettingError::Retry)?,
            pending_timeout_s: in_range(
                raw.pending_timeout_s,
                MAX_INTERVAL_S,
                SettingError::PendingTimeout,
            )?,
            capture_mode: CaptureMode::from_raw(raw.capture_mode)
                .ok_or(SettingError::CaptureMode)?,
            protocols: Protocols::from_bits(raw.protocols).ok_or(SettingError::Protocols)?,
            collectors: u8::try_from(raw.collectors)
                .ok()
                .filter(|bits| bits & !crate::scheduler::Collector::ALL_BITS == 0)
                .ok_or(SettingError::Collectors)?,
        })
    }

    /// The raw form, e.g. to fill a C configuration struct.
    pub fn to_raw(&self) -> RawSettings {
        RawSettings {
            intervals_s: self.intervals_s,
            first_collection_base_s: self.first_collection_base_s,
            retry_interval_s: self.retry_interval_s,
            pending_timeout_s: self.pending_timeout_s,
            capture_mode: self.capture_mode as u32,
            protocols: self.protocols.bits(),
            collectors: u32::from(self.collectors),
        }
    }
}

/// Settings as plain numbers, before validation (what arrives from C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSettings {
    /// See [`Settings::intervals_s`].
    pub intervals_s: [u32; 3],
    /// See [`Settings::first_collection_base_s`].
    pub first_collection_base_s: u32,
    /// See [`Settings::retry_interval_s`].
    pub retry_interval_s: u32,
    /// See [`Settings::pending_timeout_s`].
    pub pending_timeout_s: u32,
    /// See [`Settings::capture_mode`].
    pub capture_mode: u32,
    /// See [`Settings::protocols`].
    pub protocols: u32,
    /// See [`Settings::collectors`].
    pub collectors: u32,
}

impl RawSettings {
    /// All zero: "never configured" (not valid settings).
    pub const ZERO: Self = Self {
        intervals_s: [0; 3],
        first_collection_base_s: 0,
        retry_interval_s: 0,
        pending_timeout_s: 0,
        capture_mode: 0,
        protocols: 0,
        collectors: 0,
    };
}

fn in_range(value: u32, max: u32, error: SettingError) -> Result<u32, SettingError> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_raw() {
        let raw = Settings::DEFAULT.to_raw();
        assert_eq!(Settings::from_raw(&raw), Ok(Settings::DEFAULT));
    }

    #[test]
    fn each_field_is_checked() {
        let good = Settings::DEFAULT.to_raw();
        type Case = (fn(&mut RawSettings), SettingError);
        let cases: [Case; 12] = [
            (|r| r.collectors = 16, SettingError::Collectors),
            (|r| r.collectors = 0x107, SettingError::Collectors),
            (|r| r.intervals_s[0] = 0, SettingError::Interval),
            (
                |r| r.intervals_s[1] = MAX_INTERVAL_S + 1,
                SettingError::Interval,
            ),
            (|r| r.intervals_s[2] = 0, SettingError::Interval),
            (
                |r| r.first_collection_base_s = 0,
                SettingError::FirstCollection,
            ),
            (
                |r| r.retry_interval_s = MAX_RETRY_S + 1,
                SettingError::Retry,
            ),
            (|r| r.pending_timeout_s = 0, SettingError::PendingTimeout),
            (|r| r.capture_mode = 2, SettingError::CaptureMode),
            (|r| r.protocols = 0, SettingError::Protocols),
            (|r| r.protocols = 8, SettingError::Protocols),
            (|r| r.protocols = u32::MAX, SettingError::Protocols),
        ];
        for (break_it, expected) in cases {
            let mut raw = good;
            break_it(&mut raw);
            assert_eq!(Settings::from_raw(&raw), Err(expected), "{raw:?}");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let mut raw = Settings::DEFAULT.to_raw();
        raw.intervals_s = [1, MAX_INTERVAL_S, 60];
        raw.retry_interval_s = MAX_RETRY_S;
        raw.first_collection_base_s = MAX_FIRST_COLLECTION_BASE_S;
        raw.capture_mode = CaptureMode::IpInput as u32;
        raw.protocols = Protocols::UDP;
        let settings = Settings::from_raw(&raw).unwrap();
        assert_eq!(settings.intervals_s, [1, MAX_INTERVAL_S, 60]);
        assert!(settings.protocols.contains(Protocols::UDP));
        assert!(!settings.protocols.contains(Protocols::TCP));
    }

    #[test]
    fn raw_enums_reject_unknown_values() {
        assert_eq!(Priority::from_raw(2), Some(Priority::Low));
        assert_eq!(Priority::from_raw(3), None);
        assert_eq!(CaptureMode::from_raw(1), Some(CaptureMode::IpInput));
        assert_eq!(CaptureMode::from_raw(7), None);
    }

    #[test]
    fn capacities_have_documented_defaults_or_env_values() {
        let expect = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        assert_eq!(capacity::MAX_FLOWS_V4, expect("NXSM_MAX_FLOWS_V4", 64));
        assert_eq!(capacity::MAX_FLOWS_V6, expect("NXSM_MAX_FLOWS_V6", 64));
        assert_eq!(capacity::RING_SLOTS, expect("NXSM_RING_SLOTS", 64));
        assert!(capacity::RING_SLOTS.is_power_of_two());
    }
}
