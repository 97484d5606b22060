//! The exported `nxsm_*` functions.

use core::ffi::c_char;
use core::mem::size_of;

use super::guard::TryShared;
use super::types::*;
use crate::config::{capacity, Priority, RawSettings, Settings};
use crate::module::{LifecycleError, Module, SetError, State};

/// The device's one security module (static storage, no heap).
static MODULE: TryShared<Module> = TryShared::new(Module::new());

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
        }
    }

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
    let text: &core::ffi::CStr = match code {
        0 => c"success",
        1 => c"a required pointer argument was NULL",
        2 => c"a value is outside its documented range",
        3 => c"the module is already started",
        4 => c"the module is not started",
        5 => c"another context is inside the module; try again",
        6 => c"struct_size does not match this library (header and library differ)",
        7 => c"the clock is not available",
        _ => c"unknown result",
    };
    text.as_ptr()
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
        Ok(())
    }))
}

/// Starts the module: NOT_INITIALIZED -> PENDING.
///
/// `now_s` is Unix time (`NXSM_TIME_UNAVAILABLE` is refused, as the original refused to
/// start without a clock); `random` spreads the first collection (pass `NX_RAND()`).
#[no_mangle]
pub extern "C" fn nxsm_start(config: *const nxsm_config, now_s: u32, random: u32) -> nxsm_result {
    code((|| {
        let settings = input(config)?.settings()?;
        let now = check_clock(now_s)?;
        with_module(|module| Ok(module.start(settings, now, random)?))
    })())
}

/// Stops the module: any state -> NOT_INITIALIZED. Counters are kept.
#[no_mangle]
pub extern "C" fn nxsm_stop() -> nxsm_result {
    code(with_module(|module| Ok(module.stop()?)))
}

/// Runs the state machine at `now_s`; call it about once a second from one context.
///
/// `hub_connected` tells whether any IoT Hub client is connected right now.
#[no_mangle]
pub extern "C" fn nxsm_poll(now_s: u32, hub_connected: bool) -> nxsm_result {
    code((|| {
        let now = check_clock(now_s)?;
        with_module(|module| {
            module
                .poll(now, hub_connected)
                .map(|_| ())
                .map_err(Into::into)
        })
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

/// Copies state and counters to `out` (whose `struct_size` the caller sets).
#[no_mangle]
pub extern "C" fn nxsm_get_stats(out: *mut nxsm_stats) -> nxsm_result {
    code(output(out).and_then(|out| {
        check_size::<nxsm_stats>(out.struct_size)?;
        *out = with_module(|module| {
            let counters = module.counters();
            Ok(nxsm_stats {
                struct_size: out.struct_size,
                state: nxsm_state::from(module.state()) as u32,
                state_since_s: module.state_since(),
                first_collection_s: module.first_collection_at(),
                starts: counters.starts,
                stops: counters.stops,
                polls: counters.polls,
                state_changes: counters.state_changes,
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
