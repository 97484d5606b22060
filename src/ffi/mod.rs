//! The C ABI: every `extern "C"` item of the library, and the only module with `unsafe`.
//!
//! Conventions (checked by `ffi-tests` and the C harness):
//! - every function that can fail returns a numbered [`nxsm_result`]; `NXSM_OK` is 0 and
//!   means success only;
//! - every pointer is checked for NULL and every struct carries its `struct_size`, so a
//!   header/library mismatch is an error code, not memory corruption;
//! - nothing blocks: a call that finds another context inside the module returns
//!   `NXSM_ERR_BUSY` at once.
#![allow(non_camel_case_types)]

mod api;
mod guard;
mod panic;
mod types;

pub use api::*;
pub use types::*;
