//! The exported `nxsm_*` functions.

use core::ffi::{c_char, c_void};
use core::mem::size_of;
use core::ptr::NonNull;
use core::sync::atomic::AtomicPtr;

use super::guard::TryShared;
use super::types::*;
use crate::capture::Direction;
use crate::config::{capacity, Priority, RawSettings, Settings};
use crate::flows::{Address, Flow};
use crate::intake::{Intake, Offer};
use crate::module::{LifecycleError, Module, Platform, SetError, State};
use crate::raw::{self, Seen};
use crate::scheduler::Collector;
use crate::sync::{compare_exchange, fetch_add, fetch_sub, AtomicU32, Ordering};
use crate::wire::HeaderOrder;

/// The device's one security module (static storage, no heap).
static MODULE: TryShared<Module> = TryShared::new(Module::new());
/// What the capture hooks share with the module.
static INTAKE: Intake = Intake::new();
/// Ring watermark callback: function and its context (the fill that triggers it is kept by
/// the intake, see `Intake::set_watermark`). Changed only under `RING_LOCKED`.
static RING_CALLBACK: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());
static RING_CONTEXT: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());
/// Captures inside `call_ring_callback`, plus `RING_LOCKED` while `nxsm_set_ring_callback`
/// changes the pair: the two never overlap, so a call never sees half of a change.
static RING_CALLERS: AtomicU32 = AtomicU32::new(0);
const RING_LOCKED: u32 = 1 << 31;

type FfiResult<T> = Result<T, nxsm_result>;

/// Turns a `FfiResult<()>` into the code C sees.
fn code(result: FfiResult<()>) -> nxsm_result {
    match result {
        Ok(()) => nxsm_result::NXSM_OK,
        Err(error) => error,
    }
}

/// Borrows a C input pointer, refusing NULL.
fn input<'a, T>(ptr: *const T) -> FfiResult<&'a T> {
    // SAFETY: C callers pass either NULL or a pointer to a live, aligned `T` that stays
    // valid for the duration of the call (the documented contract of every entry point).
    unsafe { ptr.as_ref() }.ok_or(nxsm_result::NXSM_ERR_NULL_ARGUMENT)
}

/// Borrows a C output pointer, refusing NULL.
fn output<'a, T>(ptr: *mut T) -> FfiResult<&'a mut T> {
    // SAFETY: as `input`, and the caller does not touch the object during the call.
    unsafe { ptr.as_mut() }.ok_or(nxsm_result::NXSM_ERR_NULL_ARGUMENT)
}

/// Borrows the `len` bytes of a captured packet at `ptr`. A `len` that no buffer can have
/// is cut to the most a slice at `ptr` may span (not refused: the fast paths never look
/// at it, and only headers are read).
fn packet_bytes<'a>(ptr: NonNull<u8>, len: usize) -> &'a [u8] {
    let len = len
        .min(isize::MAX as usize)
        .min(usize::MAX - ptr.as_ptr().addr());
    // SAFETY: the caller passes `len` readable bytes at `ptr` that stay valid and unchanged
    // for the duration of the call (for a hook: the packet is not released meanwhile); the
    // cut keeps the slice inside the address space and `isize::MAX`.
    unsafe { core::slice::from_raw_parts(ptr.as_ptr(), len) }
}

/// Borrows `len` C output elements, refusing NULL and impossible lengths.
fn output_slice<'a, T>(ptr: *mut T, len: usize) -> FfiResult<&'a mut [T]> {
    if ptr.is_null() {
        return Err(nxsm_result::NXSM_ERR_NULL_ARGUMENT);
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(nxsm_result::NXSM_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: the caller provides `len` writable, aligned `T`s at `ptr`, untouched by
    // anyone else during the call.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Checks the `struct_size` a caller put in a struct against ours.
fn check_size<T>(struct_size: u32) -> FfiResult<()> {
    if struct_size as usize == size_of::<T>() {
        Ok(())
    } else {
        Err(nxsm_result::NXSM_ERR_ABI_MISMATCH)
    }
}

fn check_clock(now_s: u32) -> FfiResult<u32> {
    if now_s == NXSM_TIME_UNAVAILABLE {
        Err(nxsm_result::NXSM_ERR_CLOCK_UNAVAILABLE)
    } else {
        Ok(now_s)
    }
}

fn with_module<R>(f: impl FnOnce(&mut Module) -> FfiResult<R>) -> FfiResult<R> {
    MODULE
        .try_with(f)
        .unwrap_or(Err(nxsm_result::NXSM_ERR_BUSY))
}

fn priority(raw: u32) -> FfiResult<Priority> {
    Priority::from_raw(raw).ok_or(nxsm_result::NXSM_ERR_INVALID_ARGUMENT)
}

impl From<LifecycleError> for nxsm_result {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::AlreadyStarted => Self::NXSM_ERR_ALREADY_STARTED,
            LifecycleError::NotStarted => Self::NXSM_ERR_NOT_STARTED,
        }
    }
}

impl From<SetError> for nxsm_result {
    fn from(error: SetError) -> Self {
        match error {
            SetError::OutOfRange => Self::NXSM_ERR_INVALID_ARGUMENT,
            SetError::NotStarted => Self::NXSM_ERR_NOT_STARTED,
        }
    }
}

impl From<State> for nxsm_state {
    fn from(state: State) -> Self {
        match state {
            State::NotInitialized => Self::NXSM_STATE_NOT_INITIALIZED,
            State::Pending => Self::NXSM_STATE_PENDING,
            State::Active => Self::NXSM_STATE_ACTIVE,
            State::Suspended => Self::NXSM_STATE_SUSPENDED,
        }
    }
}

impl nxsm_config {
    fn from_settings(settings: &Settings) -> Self {
        let raw = settings.to_raw();
        Self {
            struct_size: size_of::<Self>() as u32,
            high_interval_s: raw.intervals_s[0],
            medium_interval_s: raw.intervals_s[1],
            low_interval_s: raw.intervals_s[2],
            first_collection_base_s: raw.first_collection_base_s,
            retry_interval_s: raw.retry_interval_s,
            pending_timeout_s: raw.pending_timeout_s,
            capture_mode: raw.capture_mode,
            protocols: raw.protocols,
            collectors: raw.collectors,
        }
    }

    #[inline(always)] // into `nxsm_start`, which then copies no `Result` around
    fn settings(&self) -> FfiResult<Settings> {
        check_size::<Self>(self.struct_size)?;
        Settings::from_raw(&RawSettings {
            intervals_s: [
                self.high_interval_s,
                self.medium_interval_s,
                self.low_interval_s,
            ],
            first_collection_base_s: self.first_collection_base_s,
            retry_interval_s: self.retry_interval_s,
            pending_timeout_s: self.pending_timeout_s,
            capture_mode: self.capture_mode,
            protocols: self.protocols,
            collectors: self.collectors,
        })
        .map_err(|_| nxsm_result::NXSM_ERR_INVALID_ARGUMENT)
    }
}

/// Library version as `(major << 24) | (minor << 16) | patch`.
#[no_mangle]
pub extern "C" fn nxsm_version() -> u32 {
    crate::VERSION
}

/// Library version as static NUL-terminated text, e.g. `"0.1.0"`.
#[no_mangle]
pub extern "C" fn nxsm_version_string() -> *const c_char {
    const TEXT: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    TEXT.as_ptr().cast()
}

/// Static NUL-terminated text for a result code; `"unknown result"` for an unknown code.
#[no_mangle]
pub extern "C" fn nxsm_result_text(code: u32) -> *const c_char {
    match nxsm_result::from_code(code) {
        Some(result) => result.text().as_ptr(),
        None => c"unknown result".as_ptr(),
    }
}

/// Fills `out` with the defaults (those of the original module) and its `struct_size`.
#[no_mangle]
pub extern "C" fn nxsm_config_default(out: *mut nxsm_config) -> nxsm_result {
    code(output(out).map(|out| *out = nxsm_config::from_settings(&Settings::DEFAULT)))
}

/// Checks every field of `config` without starting anything.
#[no_mangle]
pub extern "C" fn nxsm_config_validate(config: *const nxsm_config) -> nxsm_result {
    code(input(config).and_then(nxsm_config::settings).map(|_| ()))
}

/// Fills `out` with the capacities this library was built with.
#[no_mangle]
pub extern "C" fn nxsm_get_capacities(out: *mut nxsm_capacities) -> nxsm_result {
    code(output(out).and_then(|out| {
        check_size::<nxsm_capacities>(out.struct_size)?;
        out.max_flows_v4 = capacity::MAX_FLOWS_V4 as u32;
        out.max_flows_v6 = capacity::MAX_FLOWS_V6 as u32;
        out.ring_slots = capacity::RING_SLOTS as u32;
        out.outbox_bytes = capacity::OUTBOX_BYTES as u32;
        out.max_message_bytes = capacity::MAX_MESSAGE_BYTES as u32;
        Ok(())
    }))
}

/// Starts the module: NOT_INITIALIZED -> PENDING.
///
/// `now_s` is Unix time (`NXSM_TIME_UNAVAILABLE` is refused, as the original refused to
/// start without a clock); `random` spreads the first collection (pass `NX_RAND()`).
/// Every time argument is compared modulo 2^32: a clock truncated to 32 bits goes on
/// working when it wraps in 2106 (0xFFFFFFFE, then 0, 1, ...), and times up to 68 years
/// apart compare correctly.
#[no_mangle]
pub extern "C" fn nxsm_start(config: *const nxsm_config, now_s: u32, random: u32) -> nxsm_result {
    code((|| {
        let settings = input(config)?.settings()?;
        let now = check_clock(now_s)?;
        with_module(|module| {
            module.start(&settings, now, random)?;
            if settings.collectors & Collector::NetworkActivity.bit() != 0 {
                INTAKE.open(settings.protocols);
            }
            INTAKE.set_started(true);
            Ok(())
        })
    })())
}

/// Stops the module: any state -> NOT_INITIALIZED. The open window is collected into the
/// outbox first; waiting messages and all counters are kept for the next start.
#[no_mangle]
pub extern "C" fn nxsm_stop() -> nxsm_result {
    code(with_module(|module| {
        if !module.is_running() {
            return Err(nxsm_result::NXSM_ERR_NOT_STARTED);
        }
        INTAKE.set_started(false);
        close_intake(module);
        let intake = module.intake_counters(&INTAKE);
        module.stop(&intake)?;
        Ok(())
    }))
}

/// Drains the ring, runs the state machine at `now_s` and makes the collections that are
/// due (their messages go to the outbox in every running state). Call it about once a
/// second from one context, then hand out messages with `nxsm_message_peek`.
///
/// In ACTIVE a collection puts into the outbox only the messages that fit without
/// dropping any; the rest of its window waits in the flow table and follows at the next
/// polls as sent messages free room (a new collection, or losing the hub, pushes it in
/// whole, dropping the oldest messages if it must). So a hub that takes messages loses
/// none, whatever the outbox size.
///
/// `hub_connected` tells whether any IoT Hub client is connected right now. With `now_s`
/// = `NXSM_TIME_UNAVAILABLE` the ring is still drained (stamped with the last known time)
/// and `clock_unavailable` counted; nothing else advances and the result is
/// `NXSM_ERR_CLOCK_UNAVAILABLE`.
#[no_mangle]
pub extern "C" fn nxsm_poll(now_s: u32, hub_connected: bool) -> nxsm_result {
    code(with_module(|module| {
        if !module.is_running() {
            return Err(nxsm_result::NXSM_ERR_NOT_STARTED);
        }
        // One drain for both cases: without a clock, stamped with the last known time.
        let clock = check_clock(now_s);
        module.drain(&INTAKE, clock.unwrap_or(module.now()));
        let Ok(now) = clock else {
            module.poll_without_clock()?;
            return Err(nxsm_result::NXSM_ERR_CLOCK_UNAVAILABLE);
        };
        let intake = module.intake_counters(&INTAKE);
        module.poll(now, hub_connected, &intake)?;
        Ok(())
    }))
}

/// Hands out the oldest waiting message: `*out_bytes` and `*out_length` describe its
/// bytes, `*out_sequence` is the number to acknowledge it with. Only in ACTIVE, and not
/// before the retry delay after a failed send; otherwise `NXSM_ERR_NO_MESSAGE`.
///
/// The message is lent: its bytes stay valid and unchanged until `nxsm_message_ack`,
/// whatever runs meanwhile (polls, collections, settings, `nxsm_stop`, from any context).
/// Acknowledge every message peeked: while one is out, no other message can drop it, so a
/// new message that finds no other room is refused (counted in `messages_dropped`).
#[no_mangle]
pub extern "C" fn nxsm_message_peek(
    out_bytes: *mut *const u8,
    out_length: *mut usize,
    out_sequence: *mut u32,
) -> nxsm_result {
    code((|| {
        let out_bytes = output(out_bytes)?;
        let out_length = output(out_length)?;
        let out_sequence = output(out_sequence)?;
        with_module(|module| {
            let (sequence, bytes) = module.peek().ok_or(nxsm_result::NXSM_ERR_NO_MESSAGE)?;
            *out_bytes = bytes.as_ptr();
            *out_length = bytes.len();
            *out_sequence = sequence;
            Ok(())
        })
    })())
}

/// Reports what became of message `sequence` (the oldest, from `nxsm_message_peek`):
/// `sent` removes it (`messages_sent`); otherwise it stays, `messages_failed` is counted
/// and it is handed out again after `retry_interval_s`. Any other sequence number gets
/// `NXSM_ERR_INVALID_ARGUMENT` (the message may have been dropped meanwhile).
#[no_mangle]
pub extern "C" fn nxsm_message_ack(sequence: u32, sent: bool) -> nxsm_result {
    code(with_module(|module| {
        module
            .ack(sequence, sent)
            .map_err(|_| nxsm_result::NXSM_ERR_INVALID_ARGUMENT)
    }))
}

/// Sets the platform versions reported in system information (any time, any state).
#[no_mangle]
pub extern "C" fn nxsm_set_platform_info(info: *const nxsm_platform_info) -> nxsm_result {
    code(input(info).and_then(|info| {
        check_size::<nxsm_platform_info>(info.struct_size)?;
        with_module(|module| {
            module.set_platform(Platform {
                threadx: info.threadx_version,
                netx: info.netx_version,
            });
            Ok(())
        })
    }))
}

/// Stops capture; records captured before the switch went off still count.
fn close_intake(module: &mut Module) {
    INTAKE.close();
    module.drain(&INTAKE, module.now());
}

fn collector(raw: u32) -> FfiResult<Collector> {
    Collector::from_raw(raw).ok_or(nxsm_result::NXSM_ERR_INVALID_ARGUMENT)
}

/// Enables or disables one `nxsm_collector` and puts it in an `nxsm_priority` group, on a
/// running module. Disabling network activity collects the open window at once and stops
/// capture; enabling it starts a new window.
#[no_mangle]
pub extern "C" fn nxsm_set_collector(
    collector_id: u32,
    enabled: bool,
    priority_group: u32,
) -> nxsm_result {
    code((|| {
        let which = collector(collector_id)?;
        let group = priority(priority_group)?;
        with_module(|module| {
            if !module.is_running() {
                return Err(nxsm_result::NXSM_ERR_NOT_STARTED);
            }
            if which == Collector::NetworkActivity {
                if enabled {
                    INTAKE.open(module.settings().protocols);
                } else {
                    close_intake(module);
                }
            }
            let intake = module.intake_counters(&INTAKE);
            module.set_collector(which, enabled, group, &intake)?;
            Ok(())
        })
    })())
}

/// Writes whether one `nxsm_collector` is enabled and its `nxsm_priority` group.
#[no_mangle]
pub extern "C" fn nxsm_get_collector(
    collector_id: u32,
    out_enabled: *mut bool,
    out_priority_group: *mut u32,
) -> nxsm_result {
    code((|| {
        let which = collector(collector_id)?;
        let out_enabled = output(out_enabled)?;
        let out_group = output(out_priority_group)?;
        let (enabled, group) = with_module(|module| Ok(module.collector(which)))?;
        *out_enabled = enabled;
        *out_group = group as u32;
        Ok(())
    })())
}

/// Writes the current `nxsm_state` value to `out_state` (0 when stopped).
#[no_mangle]
pub extern "C" fn nxsm_get_state(out_state: *mut u32) -> nxsm_result {
    code(output(out_state).and_then(|out| {
        *out = with_module(|module| Ok(nxsm_state::from(module.state()) as u32))?;
        Ok(())
    }))
}

/// Copies state and counters to `out` (whose `struct_size` the caller sets). Callable from
/// any thread, also while hooks capture; `NXSM_ERR_BUSY` while another context is inside
/// the module.
///
/// What a snapshot guarantees:
/// - `packets_seen = packets_counted + table_full_dropped + ring_dropped + malformed +
///   ignored + ring_waiting`, exactly, in every snapshot. Each counter the hooks keep is
///   read once, and `packets_seen` and `ring_waiting` are both derived from the same read
///   of the ring's write position; the consumer's counters cannot move during the call.
/// - A packet whose hook runs during the call is either wholly in the snapshot (in
///   `packets_seen` and in one of the other terms) or wholly absent; no total ever
///   decreases from one snapshot to the next.
/// - The 64-bit totals are exact as long as the module is drained, polled or asked for its
///   statistics at least once per 2^32 packets (about 50 days at 1,000 packets a second).
/// - Every other field is read in the same critical section of the module, which hooks
///   never enter, so those fields agree with each other.
#[no_mangle]
pub extern "C" fn nxsm_get_stats(out: *mut nxsm_stats) -> nxsm_result {
    code(output(out).and_then(|out| {
        check_size::<nxsm_stats>(out.struct_size)?;
        *out = with_module(|module| {
            let intake = module.intake_counters(&INTAKE);
            let counters = module.counters();
            let messages = module.messages();
            Ok(nxsm_stats {
                struct_size: out.struct_size,
                state: nxsm_state::from(module.state()) as u32,
                state_since_s: module.state_since(),
                first_collection_s: module.first_collection_at(),
                starts: counters.starts,
                stops: counters.stops,
                polls: counters.polls,
                state_changes: counters.state_changes,
                packets_seen: intake.seen,
                packets_counted: counters.packets_counted,
                malformed: intake.malformed,
                ignored: intake.ignored,
                ring_dropped: intake.ring_dropped,
                table_full_dropped: counters.table_full_dropped,
                ring_waiting: intake.ring_waiting,
                flows_v4: module.flows().v4.len() as u32,
                flows_v6: module.flows().v6.len() as u32,
                collections: counters.collections,
                messages_built: messages.built,
                messages_sent: messages.sent,
                messages_failed: messages.failed,
                messages_dropped: messages.dropped,
                outbox_messages: messages.waiting,
                outbox_used_bytes: messages.used_bytes,
                outbox_peak_bytes: messages.peak_bytes,
                clock_unavailable: counters.clock_unavailable,
                next_collection_s: module.next_collection().unwrap_or(0),
                clock_steps_back: counters.clock_steps_back,
            })
        })?;
        Ok(())
    }))
}

/// Changes the interval of one `nxsm_priority` group on a running module (1..=86400 s).
#[no_mangle]
pub extern "C" fn nxsm_set_interval(priority_group: u32, seconds: u32) -> nxsm_result {
    code(
        priority(priority_group)
            .and_then(|group| with_module(|module| Ok(module.set_interval(group, seconds)?))),
    )
}

/// Writes the interval of one `nxsm_priority` group to `out_seconds`.
#[no_mangle]
pub extern "C" fn nxsm_get_interval(priority_group: u32, out_seconds: *mut u32) -> nxsm_result {
    code((|| {
        let group = priority(priority_group)?;
        let out = output(out_seconds)?;
        *out = with_module(|module| Ok(module.interval(group)))?;
        Ok(())
    })())
}

/// Records one packet from a NetX Duo hook. Never blocks; safe from ISRs and any thread.
///
/// `ip_header` points at the IP header and `length` is how many bytes are readable from
/// there (for NetX Duo: up to `nx_packet_append_ptr` of the first buffer). Only the IP and
/// transport headers are read, never past `length`. Every packet shape takes any `length`:
/// one above `PTRDIFF_MAX`, more than any buffer holds, is read as `PTRDIFF_MAX` (or as
/// reaching the end of the address space), not refused. `direction` is an
/// `nxsm_direction`, `header_order` an `nxsm_header_order`.
///
/// Returns `NXSM_OK` when the packet was stored for the consumer. `NXSM_ERR_MALFORMED`,
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
        // No hook sees a sent header in host order: no fast path of its own.
        (OUT, HOST) => match NonNull::new(ip_header.cast_mut()) {
            Some(header) => {
                capture_other(header, length, Seen::new(Direction::Out, HeaderOrder::Host))
            }
            None => nxsm_result::NXSM_ERR_NULL_ARGUMENT,
        },
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
/// point, each with its own constant `seen`), everything else out of line.
#[inline(always)]
fn capture_as(ip_header: *const u8, length: usize, seen: Seen) -> nxsm_result {
    let Some(ip_header) = NonNull::new(ip_header.cast_mut()) else {
        return nxsm_result::NXSM_ERR_NULL_ARGUMENT;
    };
    if length >= raw::V4_LEN {
        // SAFETY: `ip_header` is not NULL and the caller passes `length` readable bytes
        // there, here at least `V4_LEN`, valid and unchanged for the call (for a hook: the
        // packet is not released meanwhile); `[u8; N]` needs no alignment.
        let header = unsafe { ip_header.cast::<[u8; raw::V4_LEN]>().as_ref() };
        if let Some(offer) = INTAKE.offer_v4_raw(header, seen) {
            return result_of(offer);
        }
    }
    capture_other(ip_header, length, seen)
}

/// [`capture_as`] for every packet the IPv4 fast path leaves: the IPv6 fast path, then the
/// parse in the hook. Out of line, so the IPv4 path keeps its registers.
#[inline(never)]
fn capture_other(ip_header: NonNull<u8>, length: usize, seen: Seen) -> nxsm_result {
    if length >= raw::V6_LEN {
        // SAFETY: as in `capture_as`, with at least `V6_LEN` readable bytes.
        let header = unsafe { ip_header.cast::<[u8; raw::V6_LEN]>().as_ref() };
        if let Some(offer) = INTAKE.offer_v6_raw(header, seen) {
            return result_of(offer);
        }
    }
    result_of(INTAKE.offer_other(packet_bytes(ip_header, length), seen))
}

/// The result code of an offer, waking the consumer when the ring reached its watermark.
#[inline(always)]
fn result_of(offer: Offer) -> nxsm_result {
    match offer {
        Offer::Stored { at_watermark } => {
            if at_watermark {
                wake_consumer();
            }
            nxsm_result::NXSM_OK
        }
        Offer::Ignored => nxsm_result::NXSM_ERR_NOT_RECORDED,
        Offer::Malformed(_) => nxsm_result::NXSM_ERR_MALFORMED,
        Offer::Dropped => nxsm_result::NXSM_ERR_RING_FULL,
        Offer::Closed => closed(),
    }
}

/// Why capture is off. Decided only here, so a stored packet pays nothing for it. (Not
/// `#[cold]`: that moves the branch here out of a short `cbz`'s reach in the hooks.)
#[inline(never)]
fn closed() -> nxsm_result {
    if INTAKE.is_started() {
        nxsm_result::NXSM_ERR_CAPTURE_OFF
    } else {
        nxsm_result::NXSM_ERR_NOT_STARTED
    }
}

/// Calls the ring callback, if one is set, at the watermark.
#[inline(always)]
fn wake_consumer() {
    // Only a hint (`call_ring_callback` reads the pair again, registered): skipping a call
    // is always allowed. Inline, it also keeps the hooks branching over the watermark
    // code; a lone call there would be made conditional, an instruction on every packet.
    if RING_CALLBACK.load(Ordering::Relaxed).is_null() {
        return;
    }
    call_ring_callback();
}

/// Calls the ring callback, unless `nxsm_set_ring_callback` is changing it right now. Out of
/// line and cold: only a capture that reaches the watermark comes here.
#[cold]
#[inline(never)]
fn call_ring_callback() {
    // Registered before the pair is read: a setter that sees a caller refuses, and the
    // Acquire pairs with the setter's unlock, so the pair read is the one it stored.
    let callers = fetch_add(&RING_CALLERS, 1, Ordering::Acquire);
    if callers & RING_LOCKED == 0 {
        let function = RING_CALLBACK.load(Ordering::Relaxed);
        let context = RING_CONTEXT.load(Ordering::Relaxed);
        if !function.is_null() {
            // SAFETY: only `nxsm_set_ring_callback` stores here, and only a non-NULL
            // `unsafe extern "C" fn(*mut c_void)` or NULL; the context is the caller's,
            // set with this function.
            let function: unsafe extern "C" fn(*mut c_void) =
                unsafe { core::mem::transmute(function) };
            unsafe { function(context) };
        }
    }
    // Release: the call is over before a setter can lock.
    fetch_sub(&RING_CALLERS, 1, Ordering::Release);
}

/// Takes `RING_LOCKED` when no capture is inside `call_ring_callback`.
fn lock_ring_callback() -> FfiResult<()> {
    loop {
        // Acquire: every call that ended before this sees the old pair is over.
        match compare_exchange(
            &RING_CALLERS,
            0,
            RING_LOCKED,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Ok(()),
            // A spurious failure of the weak exchange: nobody is inside, try again.
            Err(0) => continue,
            Err(_) => return Err(nxsm_result::NXSM_ERR_BUSY),
        }
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
    code(with_module(|module| {
        if module.is_running() {
            return Err(nxsm_result::NXSM_ERR_ALREADY_STARTED);
        }
        let (function, fill) = match callback {
            Some(function) => {
                if watermark == 0 || watermark as usize > capacity::RING_SLOTS {
                    return Err(nxsm_result::NXSM_ERR_INVALID_ARGUMENT);
                }
                (function as *mut c_void, watermark)
            }
            // No callback: no offer reports the watermark.
            None => (core::ptr::null_mut(), 0),
        };
        lock_ring_callback()?;
        INTAKE.set_watermark(fill);
        RING_CALLBACK.store(function, Ordering::Relaxed);
        RING_CONTEXT.store(context, Ordering::Relaxed);
        // Release: a capture that registers after this reads the new pair.
        fetch_sub(&RING_CALLERS, RING_LOCKED, Ordering::Release);
        Ok(())
    }))
}

/// Moves the records waiting in the ring into the flow table (also done by `nxsm_poll`);
/// call it from the consumer when the ring callback fired. `now_s` only stamps the flows'
/// first and last packet times: the module's clock and schedule move with polls alone.
#[no_mangle]
pub extern "C" fn nxsm_drain(now_s: u32) -> nxsm_result {
    code((|| {
        let now = check_clock(now_s)?;
        with_module(|module| {
            if !module.is_running() {
                return Err(nxsm_result::NXSM_ERR_NOT_STARTED);
            }
            module.drain(&INTAKE, now);
            Ok(())
        })
    })())
}

/// Copies flows `first..` of the current window (IPv4 flows, then IPv6 flows) into `out`,
/// at most `capacity` of them, and writes how many to `written` (0 past the end).
#[no_mangle]
pub extern "C" fn nxsm_read_flows(
    first: usize,
    out: *mut nxsm_flow,
    capacity: usize,
    written: *mut usize,
) -> nxsm_result {
    code((|| {
        let written = output(written)?;
        *written = 0;
        if capacity == 0 {
            return Ok(());
        }
        let out = output_slice(out, capacity)?;
        *written = with_module(|module| {
            let flows = module.flows();
            let v4 = flows.v4.flows().iter().map(|f| flow_out(4, f));
            let v6 = flows.v6.flows().iter().map(|f| flow_out(6, f));
            let mut count = 0;
            for (slot, flow) in out.iter_mut().zip(v4.chain(v6).skip(first)) {
                *slot = flow;
                count += 1;
            }
            Ok(count)
        })?;
        Ok(())
    })())
}

fn flow_out<A: Address>(ip_version: u8, flow: &Flow<A>) -> nxsm_flow {
    let mut local_address = [0u8; 16];
    let mut remote_address = [0u8; 16];
    let local = flow.key.local.octets();
    let remote = flow.key.remote.octets();
    for (to, from) in local_address.iter_mut().zip(local) {
        *to = *from;
    }
    for (to, from) in remote_address.iter_mut().zip(remote) {
        *to = *from;
    }
    nxsm_flow {
        ip_version,
        protocol: flow.key.protocol as u8,
        tcp_flags_in: flow.flags_in.0,
        tcp_flags_out: flow.flags_out.0,
        local_address,
        remote_address,
        local_port: flow.key.local_port,
        remote_port: flow.key.remote_port,
        bytes_in: flow.inbound.bytes,
        bytes_out: flow.outbound.bytes,
        packets_in: flow.inbound.packets,
        packets_out: flow.outbound.packets,
        first_seen_s: flow.first_seen,
        last_seen_s: flow.last_seen,
    }
}
