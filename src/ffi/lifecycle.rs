//! Version, configuration and the life cycle: start, stop, poll, drain, state.

use core::ffi::c_char;
use core::mem::size_of;

use super::types::*;
use super::{check_clock, check_size, checked, clock, code, input, output, FfiResult, MONITOR};
use crate::config::{capacity, RawSettings, Settings};
use crate::module::State;

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
    checked!({
        let settings = input(config)?.settings()?;
        let now = check_clock(now_s)?;
        Ok(MONITOR.start(&settings, now, random)?)
    })
}

/// Stops the module: any state -> NOT_INITIALIZED. The open window is collected into the
/// outbox first; waiting messages and all counters are kept for the next start.
#[no_mangle]
pub extern "C" fn nxsm_stop() -> nxsm_result {
    code(MONITOR.stop().map_err(Into::into))
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
    code(
        MONITOR
            .poll(clock(now_s), hub_connected)
            .map_err(Into::into),
    )
}

/// Moves the records waiting in the ring into the flow table (also done by `nxsm_poll`);
/// call it from the consumer when the ring callback fired. `now_s` only stamps the flows'
/// first and last packet times: the module's clock and schedule move with polls alone.
#[no_mangle]
pub extern "C" fn nxsm_drain(now_s: u32) -> nxsm_result {
    code(check_clock(now_s).and_then(|now| Ok(MONITOR.drain(now).map(|_| ())?)))
}

/// Writes the current `nxsm_state` value to `out_state` (0 when stopped).
#[no_mangle]
pub extern "C" fn nxsm_get_state(out_state: *mut u32) -> nxsm_result {
    code(output(out_state).and_then(|out| {
        *out = nxsm_state::from(MONITOR.state()?) as u32;
        Ok(())
    }))
}
