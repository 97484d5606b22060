//! The part of `include/nx_security_module.h` the benchmarks use, written out as a C
//! compiler sees it: plain integers for enums, raw pointers, `struct_size` in every struct.
//!
//! The functions that are measured are called through pointers the optimizer cannot see
//! through ([`Calls`]), so link-time optimization cannot inline them into the benchmark
//! loop or specialize them for constant arguments: every call costs what a call from C
//! firmware into the static library costs.

use std::hint::black_box;

// Link the library so its `#[no_mangle]` symbols resolve the declarations below.
extern crate nx_security_module;

/// `NXSM_OK`.
pub const NXSM_OK: u32 = 0;
/// `NXSM_ERR_NO_MESSAGE`.
pub const NXSM_ERR_NO_MESSAGE: u32 = 11;
/// `NXSM_DIRECTION_IN`.
pub const NXSM_DIRECTION_IN: u32 = 0;
/// `NXSM_DIRECTION_OUT`.
pub const NXSM_DIRECTION_OUT: u32 = 1;
/// `NXSM_HEADER_NETWORK_ORDER`.
pub const NXSM_HEADER_NETWORK_ORDER: u32 = 0;
/// `NXSM_HEADER_HOST_ORDER`.
pub const NXSM_HEADER_HOST_ORDER: u32 = 1;
/// `1 << NXSM_COLLECTOR_NETWORK_ACTIVITY`.
pub const NXSM_COLLECTOR_BIT_NETWORK_ACTIVITY: u32 = 1;
/// `NXSM_COLLECTORS_ALL`.
pub const NXSM_COLLECTORS_ALL: u32 = 7;
/// `NXSM_STATE_ACTIVE`.
pub const NXSM_STATE_ACTIVE: u32 = 2;

/// `nxsm_config`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Config {
    pub struct_size: u32,
    pub high_interval_s: u32,
    pub medium_interval_s: u32,
    pub low_interval_s: u32,
    pub first_collection_base_s: u32,
    pub retry_interval_s: u32,
    pub pending_timeout_s: u32,
    pub capture_mode: u32,
    pub protocols: u32,
    pub collectors: u32,
}

/// `nxsm_platform_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PlatformInfo {
    pub struct_size: u32,
    pub threadx_version: [u8; 3],
    pub netx_version: [u8; 3],
}

/// `nxsm_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Stats {
    pub struct_size: u32,
    pub state: u32,
    pub state_since_s: u32,
    pub first_collection_s: u32,
    pub starts: u32,
    pub stops: u32,
    pub polls: u32,
    pub state_changes: u32,
    pub packets_seen: u32,
    pub packets_counted: u32,
    pub malformed: u32,
    pub ignored: u32,
    pub ring_dropped: u32,
    pub table_full_dropped: u32,
    pub ring_waiting: u32,
    pub flows_v4: u32,
    pub flows_v6: u32,
    pub collections: u32,
    pub messages_built: u32,
    pub messages_sent: u32,
    pub messages_failed: u32,
    pub messages_dropped: u32,
    pub outbox_messages: u32,
    pub outbox_used_bytes: u32,
    pub outbox_peak_bytes: u32,
    pub clock_unavailable: u32,
    pub next_collection_s: u32,
    pub clock_steps_back: u32,
}

/// `nxsm_flow`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Flow {
    pub ip_version: u8,
    pub protocol: u8,
    pub tcp_flags_in: u8,
    pub tcp_flags_out: u8,
    pub local_address: [u8; 16],
    pub remote_address: [u8; 16],
    pub local_port: u16,
    pub remote_port: u16,
    pub bytes_in: u32,
    pub bytes_out: u32,
    pub packets_in: u32,
    pub packets_out: u32,
    pub first_seen_s: u32,
    pub last_seen_s: u32,
}

extern "C" {
    fn nxsm_config_default(out: *mut Config) -> u32;
    fn nxsm_start(config: *const Config, now_s: u32, random: u32) -> u32;
    fn nxsm_stop() -> u32;
    fn nxsm_poll(now_s: u32, hub_connected: bool) -> u32;
    fn nxsm_get_stats(out: *mut Stats) -> u32;
    fn nxsm_capture(ip_header: *const u8, length: usize, direction: u32, order: u32) -> u32;
    fn nxsm_drain(now_s: u32) -> u32;
    fn nxsm_read_flows(first: usize, out: *mut Flow, capacity: usize, written: *mut usize) -> u32;
    fn nxsm_message_peek(
        out_bytes: *mut *const u8,
        out_length: *mut usize,
        out_sequence: *mut u32,
    ) -> u32;
    fn nxsm_message_ack(sequence: u32, sent: bool) -> u32;
    fn nxsm_set_platform_info(info: *const PlatformInfo) -> u32;
}

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
