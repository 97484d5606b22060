//! The C ABI: every `extern "C"` item of the library, and the only module with `unsafe`.
//!
//! Each function wraps one [`Monitor`] operation: it checks its C
//! arguments, calls the monitor and turns the outcome into a numbered [`nxsm_result`].
//! Conventions (checked by `ffi-tests` and the C harness):
//! - every function that can fail returns a numbered [`nxsm_result`]; `NXSM_OK` is 0 and
//!   means success only;
//! - every pointer is checked for NULL and every struct carries its `struct_size`, so a
//!   header/library mismatch is an error code, not memory corruption;
//! - nothing blocks: a call that finds another context inside the module returns
//!   `NXSM_ERR_BUSY` at once.
//!
//! By area: `lifecycle` (version, configuration, start, stop, poll, drain, state),
//! `capture` (the hooks' entry points and the ring callback), `messages` (peek, ack, flows),
//! `settings` (collectors, intervals, platform, statistics), `policy` (detection policy),
//! `hygiene` (the inventory source and the risky-service list).
#![allow(non_camel_case_types)]

// In the order the generated header lists them.
// In the order the generated header lists them (one group each, so rustfmt keeps it).
mod types;

mod lifecycle;

mod capture;

mod messages;

mod settings;

mod policy;

mod hygiene;

mod guard;
mod panic;

pub use capture::*;
pub use hygiene::*;
pub use lifecycle::*;
pub use messages::*;
pub use policy::*;
pub use settings::*;
pub use types::*;

use core::mem::size_of;

use crate::config::Priority;
use crate::detect::Alert;
use crate::hygiene::inventory::{Scan, Socket};
use crate::module::Module;
use crate::monitor::{Error, Exclusive, Monitor, Notify};
use crate::scheduler::Collector;
use guard::TryShared;

/// What the monitor calls back: the ring callback (from hooks) and the alert callback (from
/// polls).
pub(crate) struct Callbacks {
    ring: capture::RingCallback,
    alert: policy::AlertCallback,
    inventory: hygiene::InventorySource,
}

impl Notify for Callbacks {
    #[inline(always)]
    fn wake(&self) {
        self.ring.wake();
    }

    fn alert(&self, alert: &Alert) {
        self.alert.call(alert);
    }

    fn read_sockets(&self, sockets: &mut [Socket]) -> Option<Scan> {
        self.inventory.read(sockets)
    }
}

/// The device's one monitor (static storage, no heap).
static MONITOR: Monitor<TryShared<Module>, Callbacks> = Monitor::new(
    TryShared::new(Module::new()),
    Callbacks {
        ring: capture::RingCallback::new(),
        alert: policy::AlertCallback::new(),
        inventory: hygiene::InventorySource::new(),
    },
);

impl Exclusive<Module> for TryShared<Module> {
    #[inline(always)]
    fn try_with<R>(&self, f: impl FnOnce(&mut Module) -> R) -> Option<R> {
        TryShared::try_with(self, f).ok()
    }
}

type FfiResult<T> = Result<T, nxsm_result>;

impl From<Error> for nxsm_result {
    fn from(error: Error) -> Self {
        Self::from_code(error.code()).unwrap_or(Self::NXSM_ERR_INVALID_ARGUMENT)
    }
}

// The core numbers its refusals as this API does (`module::result_code`).
const _: () = {
    use crate::module::result_code as core;
    assert!(core::INVALID_ARGUMENT == nxsm_result::NXSM_ERR_INVALID_ARGUMENT as u32);
    assert!(core::ALREADY_STARTED == nxsm_result::NXSM_ERR_ALREADY_STARTED as u32);
    assert!(core::NOT_STARTED == nxsm_result::NXSM_ERR_NOT_STARTED as u32);
    assert!(core::BUSY == nxsm_result::NXSM_ERR_BUSY as u32);
    assert!(core::CLOCK_UNAVAILABLE == nxsm_result::NXSM_ERR_CLOCK_UNAVAILABLE as u32);
    assert!(core::NO_MESSAGE == nxsm_result::NXSM_ERR_NO_MESSAGE as u32);
    assert!(core::NOT_BUILT == nxsm_result::NXSM_ERR_NOT_BUILT as u32);
};

/// An entry point's body in which `?` ends the call with that error's code; its value is
/// the code C sees (`NXSM_OK` when the body returns `Ok(())`).
macro_rules! checked {
    ($body:block) => {
        $crate::ffi::code((|| -> $crate::ffi::FfiResult<()> { $body })())
    };
}
use checked;

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

/// Borrows `len` C input elements, refusing NULL and impossible lengths.
fn input_slice<'a, T>(ptr: *const T, len: usize) -> FfiResult<&'a [T]> {
    if ptr.is_null() {
        return Err(nxsm_result::NXSM_ERR_NULL_ARGUMENT);
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(nxsm_result::NXSM_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: the caller provides `len` readable, aligned `T`s at `ptr` for the duration of
    // the call.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Checks the `struct_size` a caller put in a struct against ours.
fn check_size<T>(struct_size: u32) -> FfiResult<()> {
    if struct_size as usize == size_of::<T>() {
        Ok(())
    } else {
        Err(nxsm_result::NXSM_ERR_ABI_MISMATCH)
    }
}

/// A C time argument: `None` for `NXSM_TIME_UNAVAILABLE`.
fn clock(now_s: u32) -> Option<u32> {
    (now_s != NXSM_TIME_UNAVAILABLE).then_some(now_s)
}

/// A C time argument that must be a time.
fn check_clock(now_s: u32) -> FfiResult<u32> {
    clock(now_s).ok_or(nxsm_result::NXSM_ERR_CLOCK_UNAVAILABLE)
}

fn priority(raw: u32) -> FfiResult<Priority> {
    Priority::from_raw(raw).ok_or(nxsm_result::NXSM_ERR_INVALID_ARGUMENT)
}

fn collector(raw: u32) -> FfiResult<Collector> {
    Collector::from_raw(raw).ok_or(nxsm_result::NXSM_ERR_INVALID_ARGUMENT)
}
