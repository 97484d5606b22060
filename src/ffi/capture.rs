//! The hooks' entry points and the ring callback.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::AtomicPtr;

use super::types::*;
use super::{code, MONITOR};
use crate::capture::Direction;
use crate::intake::Packet;
use crate::monitor::{Capture, Error};
use crate::raw::{self, Seen};
use crate::sync::{compare_exchange, fetch_add, fetch_sub, AtomicU32, Ordering};
use crate::wire::HeaderOrder;

/// Records one packet from a NetX Duo hook. Never blocks; safe from ISRs and any thread.
///
/// `ip_header` points at the IP header and `length` is how many bytes are readable from
/// there (for NetX Duo: up to `nx_packet_append_ptr` of the first buffer). Only the IP and
/// transport headers are read, never past `length`. Every packet shape takes any `length`:
/// one above `PTRDIFF_MAX`, more than any buffer holds, is read as `PTRDIFF_MAX` (or as
/// reaching the end of the address space), not refused. `direction` is an
/// `nxsm_direction`, `header_order` an `nxsm_header_order`.
///
/// Returns `NXSM_OK` when the packet was stored for the consumer, and
/// `NXSM_ERR_BLOCKED` whatever became of its record when a block rule of the detection
/// policy matches it: the hook must then drop the packet. `NXSM_ERR_MALFORMED`,
/// `NXSM_ERR_NOT_RECORDED` and `NXSM_ERR_RING_FULL` are counted in the statistics;
/// `NXSM_ERR_NOT_STARTED` (module stopped), `NXSM_ERR_CAPTURE_OFF` (network-activity
/// collector off) and argument errors are not. IPv4 without options (40 bytes or more)
/// and IPv6 whose next header is TCP, UDP or ICMPv6 (60 bytes or more) are stored as raw
/// header words and parsed by the next drain, so for them `NXSM_ERR_MALFORMED` and
/// `NXSM_ERR_NOT_RECORDED` become `malformed` and `ignored` counts then instead of return
/// codes; other packets are parsed here, and so is IPv4 sent with its header in host order
/// (no hook sees that). The hooks call the fixed forms [`nxsm_capture_out`],
/// [`nxsm_capture_in`] and [`nxsm_capture_in_host_order`], which skip the argument checks.
#[no_mangle]
pub extern "C" fn nxsm_capture(
    ip_header: *const u8,
    length: usize,
    direction: u32,
    header_order: u32,
) -> nxsm_result {
    const IN: u32 = nxsm_direction::NXSM_DIRECTION_IN as u32;
    const OUT: u32 = nxsm_direction::NXSM_DIRECTION_OUT as u32;
    const NETWORK: u32 = nxsm_header_order::NXSM_HEADER_NETWORK_ORDER as u32;
    const HOST: u32 = nxsm_header_order::NXSM_HEADER_HOST_ORDER as u32;
    match (direction, header_order) {
        (OUT, NETWORK) => nxsm_capture_out(ip_header, length),
        (IN, NETWORK) => nxsm_capture_in(ip_header, length),
        (IN, HOST) => nxsm_capture_in_host_order(ip_header, length),
        // No hook sees a sent header in host order: no entry point of its own.
        (OUT, HOST) => capture_as(
            ip_header,
            length,
            Seen::new(Direction::Out, HeaderOrder::Host),
        ),
        _ => nxsm_result::NXSM_ERR_INVALID_ARGUMENT,
    }
}

/// [`nxsm_capture`] of a packet the IP sends, header in network order: what the IP packet
/// filter sees for `NX_IP_PACKET_OUT`. The hooks call this form; with the direction and
/// order fixed there is nothing to check or select per packet.
#[no_mangle]
pub extern "C" fn nxsm_capture_out(ip_header: *const u8, length: usize) -> nxsm_result {
    const SEEN: Seen = Seen::new(Direction::Out, HeaderOrder::Network);
    capture_as(ip_header, length, SEEN)
}

/// [`nxsm_capture`] of a received packet, header in network order: what the IP packet
/// filter sees for `NX_IP_PACKET_IN`.
#[no_mangle]
pub extern "C" fn nxsm_capture_in(ip_header: *const u8, length: usize) -> nxsm_result {
    const SEEN: Seen = Seen::new(Direction::In, HeaderOrder::Network);
    capture_as(ip_header, length, SEEN)
}

/// [`nxsm_capture`] of a received packet whose header NetX Duo has turned to host order:
/// what a TCP, UDP or ICMP receive function sees.
#[no_mangle]
pub extern "C" fn nxsm_capture_in_host_order(ip_header: *const u8, length: usize) -> nxsm_result {
    const SEEN: Seen = Seen::new(Direction::In, HeaderOrder::Host);
    capture_as(ip_header, length, SEEN)
}

/// The capture entry points' shared body: the IPv4 fast path inline (one copy per entry
/// point, each with its own constant `seen`), every other packet out of line.
// `(always)` although rustc 1.95 inlines it anyway (same figures without): each entry point
// is built around its own copy, whatever another compiler's inliner decides.
#[inline(always)]
fn capture_as(ip_header: *const u8, length: usize, seen: Seen) -> nxsm_result {
    let Some(start) = NonNull::new(ip_header.cast_mut()) else {
        return nxsm_result::NXSM_ERR_NULL_ARGUMENT;
    };
    let packet = RawPacket {
        start,
        length,
        bytes: PhantomData,
    };
    match MONITOR.capture_fast(packet, seen) {
        Some(capture) => result(capture),
        None => capture_rest(packet, seen),
    }
}

/// [`Monitor::capture_rest`](crate::monitor::Monitor::capture_rest) out of line, so the
/// IPv4 path keeps its registers.
#[inline(never)]
fn capture_rest(packet: RawPacket<'_>, seen: Seen) -> nxsm_result {
    result(MONITOR.capture_rest(packet, seen))
}

/// The C code of a capture's outcome.
#[inline(always)]
fn result(capture: Capture) -> nxsm_result {
    // SAFETY: both are `repr(u32)` and every `Capture` value is the `nxsm_result` of the
    // same meaning (checked below), so this is that mapping without a table look-up.
    unsafe { core::mem::transmute::<Capture, nxsm_result>(capture) }
}

// The numbers `result` relies on.
const _: () = {
    assert!(Capture::Stored as u32 == nxsm_result::NXSM_OK as u32);
    assert!(Capture::NotStarted as u32 == nxsm_result::NXSM_ERR_NOT_STARTED as u32);
    assert!(Capture::Malformed as u32 == nxsm_result::NXSM_ERR_MALFORMED as u32);
    assert!(Capture::RingFull as u32 == nxsm_result::NXSM_ERR_RING_FULL as u32);
    assert!(Capture::NotRecorded as u32 == nxsm_result::NXSM_ERR_NOT_RECORDED as u32);
    assert!(Capture::CaptureOff as u32 == nxsm_result::NXSM_ERR_CAPTURE_OFF as u32);
    assert!(Capture::Blocked as u32 == nxsm_result::NXSM_ERR_BLOCKED as u32);
};

/// A packet as a hook hands it over: `length` readable bytes at `start`. The fast paths
/// take a fixed-size prefix straight from the pointer; only the parse in the hook makes a
/// slice of the whole.
#[derive(Clone, Copy)]
struct RawPacket<'a> {
    start: NonNull<u8>,
    length: usize,
    /// The bytes are borrowed for the call.
    bytes: PhantomData<&'a [u8]>,
}

impl<'a> RawPacket<'a> {
    /// The first `N` bytes, if there are that many.
    #[inline(always)]
    fn prefix<const N: usize>(self) -> Option<&'a [u8; N]> {
        if self.length < N {
            return None;
        }
        // SAFETY: `start` is not NULL and the caller of the entry point passes `length`
        // readable bytes there, here at least `N`, valid and unchanged for the call (for a
        // hook: the packet is not released meanwhile); `[u8; N]` needs no alignment.
        Some(unsafe { self.start.cast::<[u8; N]>().as_ref() })
    }
}

impl<'a> Packet<'a> for RawPacket<'a> {
    #[inline(always)]
    fn v4_header(self) -> Option<&'a [u8; raw::V4_LEN]> {
        self.prefix()
    }

    #[inline(always)]
    fn v6_header(self) -> Option<&'a [u8; raw::V6_LEN]> {
        self.prefix()
    }

    /// Every byte. A `length` that no buffer can have is cut to the most a slice at
    /// `start` may span (not refused: the fast paths never look at it, and only headers
    /// are read).
    fn bytes(self) -> &'a [u8] {
        let length = self
            .length
            .min(isize::MAX as usize)
            .min(usize::MAX - self.start.as_ptr().addr());
        // SAFETY: as in `prefix`, for `length` bytes; the cut keeps the slice inside the
        // address space and `isize::MAX`.
        unsafe { core::slice::from_raw_parts(self.start.as_ptr(), length) }
    }
}

/// The ring callback: a C function and its context, called at the watermark.
pub(super) struct RingCallback {
    function: AtomicPtr<c_void>,
    context: AtomicPtr<c_void>,
    /// Captures inside `call`, plus `LOCKED` while `nxsm_set_ring_callback` changes the
    /// pair: the two never overlap, so a call never sees half of a change.
    callers: AtomicU32,
}

const LOCKED: u32 = 1 << 31;

impl RingCallback {
    pub(super) const fn new() -> Self {
        Self {
            function: AtomicPtr::new(core::ptr::null_mut()),
            context: AtomicPtr::new(core::ptr::null_mut()),
            callers: AtomicU32::new(0),
        }
    }

    /// Calls the callback, unless `nxsm_set_ring_callback` is changing it right now. Out of
    /// line and cold: only a capture that reaches the watermark comes here.
    #[cold]
    #[inline(never)]
    fn call(&self) {
        // Registered before the pair is read: a setter that sees a caller refuses, and the
        // Acquire pairs with the setter's unlock, so the pair read is the one it stored.
        let callers = fetch_add(&self.callers, 1, Ordering::Acquire);
        if callers & LOCKED == 0 {
            let function = self.function.load(Ordering::Relaxed);
            let context = self.context.load(Ordering::Relaxed);
            if !function.is_null() {
                // SAFETY: only `replace` stores here, and only a non-NULL
                // `unsafe extern "C" fn(*mut c_void)` or NULL; the context is the caller's,
                // set with this function.
                let function: unsafe extern "C" fn(*mut c_void) =
                    unsafe { core::mem::transmute(function) };
                unsafe { function(context) };
            }
        }
        // Release: the call is over before a setter can lock.
        fetch_sub(&self.callers, 1, Ordering::Release);
    }

    /// Replaces the pair when no capture is inside `call`; `Busy` otherwise.
    fn replace(&self, function: *mut c_void, context: *mut c_void) -> Result<(), Error> {
        loop {
            // Acquire: every call that ended before this sees the old pair is over.
            match compare_exchange(
                &self.callers,
                0,
                LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                // A spurious failure of the weak exchange: nobody is inside, try again.
                Err(0) => continue,
                Err(_) => return Err(Error::Busy),
            }
        }
        self.function.store(function, Ordering::Relaxed);
        self.context.store(context, Ordering::Relaxed);
        // Release: a capture that registers after this reads the new pair.
        fetch_sub(&self.callers, LOCKED, Ordering::Release);
        Ok(())
    }
}

impl RingCallback {
    /// Calls the callback if one is set.
    #[inline(always)]
    pub(super) fn wake(&self) {
        // Only a hint (`call` reads the pair again, registered): skipping a call is always
        // allowed. Inline, it also keeps the hooks branching over the watermark code; a
        // lone call there would be made conditional, an instruction on every packet.
        if self.function.load(Ordering::Relaxed).is_null() {
            return;
        }
        self.call();
    }
}

/// Sets the function called when the ring fill reaches `watermark` records (1..=ring
/// slots), or removes it when `callback` is NULL. Only while the module is stopped
/// (`NXSM_ERR_ALREADY_STARTED` otherwise).
///
/// The change is atomic for every capture: a call always gets the `context` given with its
/// `callback`, and once this function has returned `NXSM_OK` the previous pair is never
/// called again (its context may be freed). A capture made just before `nxsm_stop` may
/// still be running the current callback: then nothing is changed and the result is
/// `NXSM_ERR_BUSY`; try again, but not from inside the callback. A capture that reaches
/// the watermark while the change is being made may call neither pair.
#[no_mangle]
pub extern "C" fn nxsm_set_ring_callback(
    callback: nxsm_ring_callback,
    context: *mut c_void,
    watermark: u32,
) -> nxsm_result {
    let (function, fill) = match callback {
        Some(function) => (function as *mut c_void, Some(watermark)),
        None => (core::ptr::null_mut(), None),
    };
    code(
        MONITOR
            .set_watermark(fill, |callbacks| callbacks.ring.replace(function, context))
            .map_err(Into::into),
    )
}
