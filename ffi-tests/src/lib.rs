//! The C view of the library: the signatures and structs of `include/nx_security_module.h`
//! written out by hand, as a C compiler would see them, so tests call the exported symbols
//! exactly as firmware does (plain integers for enums, raw pointers, `struct_size`).
//!
//! The module is a per-device singleton, so tests that drive it take [`serial`] first.

use std::sync::{Mutex, MutexGuard};

// Link the library so its `#[no_mangle]` symbols resolve the declarations below.
extern crate nx_security_module;

pub const NXSM_OK: u32 = 0;
pub const NXSM_ERR_NULL_ARGUMENT: u32 = 1;
pub const NXSM_ERR_INVALID_ARGUMENT: u32 = 2;
pub const NXSM_ERR_ALREADY_STARTED: u32 = 3;
pub const NXSM_ERR_NOT_STARTED: u32 = 4;
pub const NXSM_ERR_BUSY: u32 = 5;
pub const NXSM_ERR_ABI_MISMATCH: u32 = 6;
pub const NXSM_ERR_CLOCK_UNAVAILABLE: u32 = 7;
pub const NXSM_ERR_MALFORMED: u32 = 8;
pub const NXSM_ERR_RING_FULL: u32 = 9;
pub const NXSM_ERR_NOT_RECORDED: u32 = 10;
pub const NXSM_ERR_NO_MESSAGE: u32 = 11;
pub const NXSM_ERR_CAPTURE_OFF: u32 = 12;

pub const NXSM_COLLECTOR_NETWORK_ACTIVITY: u32 = 0;
pub const NXSM_COLLECTOR_SYSTEM_INFORMATION: u32 = 1;
pub const NXSM_COLLECTOR_HEARTBEAT: u32 = 2;
pub const NXSM_COLLECTORS_ALL: u32 = 7;
pub const NXSM_PRIORITY_HIGH: u32 = 0;
pub const NXSM_PRIORITY_MEDIUM: u32 = 1;
pub const NXSM_PRIORITY_LOW: u32 = 2;

pub const NXSM_DIRECTION_IN: u32 = 0;
pub const NXSM_DIRECTION_OUT: u32 = 1;
pub const NXSM_HEADER_NETWORK_ORDER: u32 = 0;
pub const NXSM_HEADER_HOST_ORDER: u32 = 1;

pub const NXSM_STATE_NOT_INITIALIZED: u32 = 0;
pub const NXSM_STATE_PENDING: u32 = 1;
pub const NXSM_STATE_ACTIVE: u32 = 2;
pub const NXSM_STATE_SUSPENDED: u32 = 3;

pub const NXSM_TIME_UNAVAILABLE: u32 = 0xFFFF_FFFF;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlatformInfo {
    pub struct_size: u32,
    pub threadx_version: [u8; 3],
    pub netx_version: [u8; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub struct_size: u32,
    pub state: u32,
    pub state_since_s: u32,
    pub first_collection_s: u32,
    pub starts: u32,
    pub stops: u32,
    pub polls: u32,
    pub state_changes: u32,
    pub packets_seen: u64,
    pub packets_counted: u64,
    pub malformed: u64,
    pub ignored: u64,
    pub ring_dropped: u64,
    pub table_full_dropped: u64,
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

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

pub type RingCallback = Option<unsafe extern "C" fn(context: *mut std::ffi::c_void)>;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capacities {
    pub struct_size: u32,
    pub max_flows_v4: u32,
    pub max_flows_v6: u32,
    pub ring_slots: u32,
    pub outbox_bytes: u32,
    pub max_message_bytes: u32,
}

extern "C" {
    pub fn nxsm_version() -> u32;
    pub fn nxsm_version_string() -> *const std::ffi::c_char;
    pub fn nxsm_result_text(code: u32) -> *const std::ffi::c_char;
    pub fn nxsm_config_default(out: *mut Config) -> u32;
    pub fn nxsm_config_validate(config: *const Config) -> u32;
    pub fn nxsm_get_capacities(out: *mut Capacities) -> u32;
    pub fn nxsm_start(config: *const Config, now_s: u32, random: u32) -> u32;
    pub fn nxsm_stop() -> u32;
    pub fn nxsm_poll(now_s: u32, hub_connected: bool) -> u32;
    pub fn nxsm_get_state(out_state: *mut u32) -> u32;
    pub fn nxsm_get_stats(out: *mut Stats) -> u32;
    pub fn nxsm_set_interval(priority: u32, seconds: u32) -> u32;
    pub fn nxsm_get_interval(priority: u32, out_seconds: *mut u32) -> u32;
    pub fn nxsm_capture(ip_header: *const u8, length: usize, direction: u32, order: u32) -> u32;
    pub fn nxsm_capture_out(ip_header: *const u8, length: usize) -> u32;
    pub fn nxsm_capture_in(ip_header: *const u8, length: usize) -> u32;
    pub fn nxsm_capture_in_host_order(ip_header: *const u8, length: usize) -> u32;
    pub fn nxsm_set_ring_callback(
        callback: RingCallback,
        context: *mut std::ffi::c_void,
        watermark: u32,
    ) -> u32;
    pub fn nxsm_drain(now_s: u32) -> u32;
    pub fn nxsm_read_flows(
        first: usize,
        out: *mut Flow,
        capacity: usize,
        written: *mut usize,
    ) -> u32;
    pub fn nxsm_message_peek(
        out_bytes: *mut *const u8,
        out_length: *mut usize,
        out_sequence: *mut u32,
    ) -> u32;
    pub fn nxsm_message_ack(sequence: u32, sent: bool) -> u32;
    pub fn nxsm_set_platform_info(info: *const PlatformInfo) -> u32;
    pub fn nxsm_set_collector(collector: u32, enabled: bool, priority: u32) -> u32;
    pub fn nxsm_get_collector(
        collector: u32,
        out_enabled: *mut bool,
        out_priority: *mut u32,
    ) -> u32;
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Exclusive use of the singleton for one test; it is stopped when taken.
pub fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: no pointer arguments.
    unsafe { nxsm_stop() };
    guard
}

/// The library's default configuration, as C gets it.
pub fn default_config() -> Config {
    let mut config = Config::default();
    // SAFETY: `config` is a live, writable `Config`.
    assert_eq!(unsafe { nxsm_config_default(&mut config) }, NXSM_OK);
    config
}

/// State and counters, as C reads them.
pub fn stats() -> Stats {
    let mut stats = Stats {
        struct_size: std::mem::size_of::<Stats>() as u32,
        ..Stats::default()
    };
    // SAFETY: `stats` is a live, writable `Stats`.
    assert_eq!(unsafe { nxsm_get_stats(&mut stats) }, NXSM_OK);
    stats
}

/// Text of a C string returned by the library.
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string that lives for the whole program.
pub unsafe fn text(ptr: *const std::ffi::c_char) -> String {
    assert!(!ptr.is_null());
    // SAFETY: the library returns static NUL-terminated strings.
    unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_str()
        .unwrap()
        .to_owned()
}

/// Every flow of the current window, read the way C reads them (in small batches).
pub fn read_flows() -> Vec<Flow> {
    let mut all = Vec::new();
    loop {
        let mut batch = [Flow::default(); 3];
        let mut written = 0usize;
        // SAFETY: `batch` has room for 3 flows, `written` is writable.
        let code = unsafe { nxsm_read_flows(all.len(), batch.as_mut_ptr(), 3, &mut written) };
        assert_eq!(code, NXSM_OK);
        all.extend_from_slice(&batch[..written]);
        if written < 3 {
            return all;
        }
    }
}
