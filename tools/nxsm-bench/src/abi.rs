//! The part of `include/nx_security_module.h` the benchmarks use, written out as a C
//! compiler sees it: plain integers for enums, raw pointers, `struct_size` in every struct.
//!
//! The functions that are measured are called through pointers the optimizer cannot see
//! through ([`Calls`]), so link-time optimization cannot inline them into the benchmark
//! loop or specialize them for constant arguments: every call costs what a call from C
//! firmware into the static library costs.

use std::hint::black_box;

// The C view of the header (constants, structs, function declarations) is the one the
// ffi-tests crate writes out; the benchmarks add only what they measure with.
use nxsm_ffi_tests::{
    nxsm_capture, nxsm_config_default, nxsm_drain, nxsm_get_stats, nxsm_message_ack,
    nxsm_message_peek, nxsm_poll, nxsm_read_flows, nxsm_set_platform_info, nxsm_start, nxsm_stop,
};
pub use nxsm_ffi_tests::{
    Config, Flow, PlatformInfo, Stats, NXSM_COLLECTORS_ALL, NXSM_DIRECTION_IN, NXSM_DIRECTION_OUT,
    NXSM_ERR_NO_MESSAGE, NXSM_HEADER_HOST_ORDER, NXSM_HEADER_NETWORK_ORDER, NXSM_OK,
    NXSM_STATE_ACTIVE,
};

/// `nxsm_config.collectors` bit of network activity (`1 << NXSM_COLLECTOR_NETWORK_ACTIVITY`).
pub const NXSM_COLLECTOR_BIT_NETWORK_ACTIVITY: u32 =
    1 << nxsm_ffi_tests::NXSM_COLLECTOR_NETWORK_ACTIVITY;

/// C type of `nxsm_capture`.
pub type CaptureFn = unsafe extern "C" fn(*const u8, usize, u32, u32) -> u32;
/// C type of `nxsm_drain`.
pub type DrainFn = unsafe extern "C" fn(u32) -> u32;
/// C type of `nxsm_poll`.
pub type PollFn = unsafe extern "C" fn(u32, bool) -> u32;

/// The measured entry points, as opaque function pointers.
#[derive(Clone, Copy)]
pub struct Calls {
    capture: CaptureFn,
    drain: DrainFn,
    poll: PollFn,
}

impl Calls {
    /// The library's functions, hidden from the optimizer.
    pub fn library() -> Self {
        Self::with_capture(nxsm_capture)
    }

    /// The library's drain and poll with another capture function (the loop baseline).
    pub fn with_capture(capture: CaptureFn) -> Self {
        Self {
            capture: black_box(capture),
            drain: black_box(nxsm_drain as DrainFn),
            poll: black_box(nxsm_poll as PollFn),
        }
    }

    /// `nxsm_capture(ip_header, length, direction, order)`.
    ///
    /// # Safety
    /// `ip_header` must point at `length` readable bytes that stay unchanged during the call.
    #[inline(always)]
    pub unsafe fn capture(
        &self,
        ip_header: *const u8,
        length: usize,
        direction: u32,
        order: u32,
    ) -> u32 {
        // SAFETY: the caller's contract is that of `nxsm_capture`.
        unsafe { (self.capture)(ip_header, length, direction, order) }
    }

    /// `nxsm_drain(now_s)`.
    #[inline(always)]
    pub fn drain(&self, now_s: u32) -> u32 {
        // SAFETY: no pointer arguments.
        unsafe { (self.drain)(now_s) }
    }

    /// `nxsm_poll(now_s, hub_connected)`.
    #[inline(always)]
    pub fn poll(&self, now_s: u32, hub_connected: bool) -> u32 {
        // SAFETY: no pointer arguments.
        unsafe { (self.poll)(now_s, hub_connected) }
    }
}

/// Same signature as `nxsm_capture`, returning `NXSM_OK` at once: what the benchmark loop
/// and the call cost by themselves (the Cortex-M4 firmware subtracts the same baseline).
/// Called only through an opaque pointer, so it is neither inlined nor removed.
///
/// # Safety
/// None needed: the arguments are not used. `unsafe` only to share [`CaptureFn`].
#[inline(never)]
pub unsafe extern "C" fn empty_call(
    _ip_header: *const u8,
    _length: usize,
    _direction: u32,
    _order: u32,
) -> u32 {
    NXSM_OK
}

/// The library's default configuration (`nxsm_config_default`).
pub fn default_config() -> Config {
    let mut config = Config::default();
    // SAFETY: `config` is a live, writable `Config`.
    let code = unsafe { nxsm_config_default(&mut config) };
    assert_eq!(code, NXSM_OK, "nxsm_config_default");
    config
}

/// `nxsm_start`.
pub fn start(config: &Config, now_s: u32, random: u32) -> u32 {
    // SAFETY: `config` is live for the call.
    unsafe { nxsm_start(config, now_s, random) }
}

/// `nxsm_stop`.
pub fn stop() -> u32 {
    // SAFETY: no pointer arguments.
    unsafe { nxsm_stop() }
}

/// `nxsm_set_platform_info`.
pub fn set_platform_info(threadx: [u8; 3], netx: [u8; 3]) -> u32 {
    let info = PlatformInfo {
        struct_size: std::mem::size_of::<PlatformInfo>() as u32,
        threadx_version: threadx,
        netx_version: netx,
    };
    // SAFETY: `info` is live for the call.
    unsafe { nxsm_set_platform_info(&info) }
}

/// State and counters (`nxsm_get_stats`).
pub fn stats() -> Stats {
    let mut stats = Stats {
        struct_size: std::mem::size_of::<Stats>() as u32,
        ..Stats::default()
    };
    // SAFETY: `stats` is a live, writable `Stats`.
    let code = unsafe { nxsm_get_stats(&mut stats) };
    assert_eq!(code, NXSM_OK, "nxsm_get_stats");
    stats
}

/// Every flow of the current window (`nxsm_read_flows`, in batches of 16).
pub fn read_flows() -> Vec<Flow> {
    let mut all = Vec::new();
    loop {
        let mut batch = [Flow::default(); 16];
        let mut written = 0usize;
        // SAFETY: `batch` has room for 16 flows, `written` is writable.
        let code = unsafe { nxsm_read_flows(all.len(), batch.as_mut_ptr(), 16, &mut written) };
        assert_eq!(code, NXSM_OK, "nxsm_read_flows");
        all.extend_from_slice(&batch[..written]);
        if written < batch.len() {
            return all;
        }
    }
}

/// Hands out every message the module lets go now (`nxsm_message_peek`), acknowledges each
/// as sent (`nxsm_message_ack`) and shows its bytes to `each` first. Returns how many.
pub fn take_messages(mut each: impl FnMut(&[u8])) -> u32 {
    let mut taken = 0;
    loop {
        let mut bytes: *const u8 = std::ptr::null();
        let mut length = 0usize;
        let mut sequence = 0u32;
        // SAFETY: the three outputs are live and writable.
        let code = unsafe { nxsm_message_peek(&mut bytes, &mut length, &mut sequence) };
        if code == NXSM_ERR_NO_MESSAGE {
            return taken;
        }
        assert_eq!(code, NXSM_OK, "nxsm_message_peek");
        // SAFETY: the library keeps `length` bytes at `bytes` unchanged until the ack below.
        each(unsafe { std::slice::from_raw_parts(bytes, length) });
        // SAFETY: no pointer arguments.
        let code = unsafe { nxsm_message_ack(sequence, true) };
        assert_eq!(code, NXSM_OK, "nxsm_message_ack");
        taken += 1;
    }
}
