//! nx-security-module: a heap-free security monitor for NetX Duo devices.
//!
//! The crate is `no_std` and allocation-free. Every byte of state is a `static` whose size
//! is fixed by the build-time capacities in [`config::capacity`]. Time is always passed in
//! by the caller: the core never reads a clock.
//!
//! Layout (the modules are private; [`testing`] is what host tools and tests use, [`ffi`]
//! what a firmware uses), in the order a packet travels:
//! - `wire`: checked, zero-copy views of IPv4, IPv6 and transport headers.
//! - `capture`: from header bytes to a compact flow record; `raw`: the hook's fast path
//!   that copies header words for the consumer to parse.
//! - `ring`: the lock-free multi-producer, single-consumer ring between hooks and consumer,
//!   whose entries `entry` defines; `intake`: what every hook shares with the consumer
//!   (ring, switches, counters).
//! - `flows`: the fixed-capacity flow tables of the current window; `fragments`: the first
//!   fragments whose later fragments count in their flow.
//! - `scheduler`: the three priority groups and when collectors run; `time`: serial
//!   (modulo 2^32) device time.
//! - `policy`: the detection policy blob, checked, and the store hooks read it from;
//!   `detect`: the policy's rules evaluated on flows, and the alerts they raise.
//! - `message`: the postcard envelope and its splitting; `outbox`: finished messages
//!   waiting for the hub.
//! - `module`: the security-module life cycle (state machine), collections and counters;
//!   `monitor`: the intake, the module and the wake-up together, and the order every
//!   operation follows (what the C API wraps).
//! - `config`: build-time capacities and the run-time settings a firmware may change.
//! - `sync`: atomics, with switches for the model checker and for cores without
//!   compare-and-swap.
//! - `ffi`: every `extern "C"` item, the only place with `unsafe` code.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(unsafe_code)]
// The model-checking build (`--cfg loom`) has neither the monitor nor the C API, so much
// of what they use is unused there.
#![cfg_attr(loom, allow(dead_code))]
#![warn(missing_docs)]
// The documentation is for the people working on the core (`cargo doc
// --document-private-items`): links into private modules are meant.
#![allow(rustdoc::private_intra_doc_links)]

/// cbindgen:ignore
pub(crate) mod capture;
/// cbindgen:ignore
pub(crate) mod config;
/// cbindgen:ignore
pub(crate) mod detect;
/// cbindgen:ignore
pub(crate) mod entry;
/// cbindgen:ignore
pub(crate) mod flows;
/// cbindgen:ignore
pub(crate) mod fragments;
/// cbindgen:ignore
pub(crate) mod hygiene;
/// cbindgen:ignore
pub(crate) mod intake;
/// cbindgen:ignore
pub(crate) mod message;
/// cbindgen:ignore
pub(crate) mod module;
/// cbindgen:ignore
#[cfg(not(loom))]
pub(crate) mod monitor;
/// cbindgen:ignore
pub(crate) mod outbox;
/// cbindgen:ignore
pub(crate) mod policy;
/// cbindgen:ignore
pub(crate) mod raw;
/// cbindgen:ignore
pub(crate) mod ring;
/// cbindgen:ignore
pub(crate) mod scheduler;
/// cbindgen:ignore
mod sync;
/// cbindgen:ignore
pub(crate) mod time;
/// cbindgen:ignore
pub(crate) mod wire;

#[cfg(not(loom))]
#[allow(unsafe_code)]
pub mod ffi;

/// cbindgen:ignore
#[cfg(not(loom))]
pub mod testing;

/// Version of this library as `major << 24 | minor << 16 | patch`, the packing the original
/// module used for `security_module_version`.
pub const VERSION: u32 = pack_version(
    env!("CARGO_PKG_VERSION_MAJOR"),
    env!("CARGO_PKG_VERSION_MINOR"),
    env!("CARGO_PKG_VERSION_PATCH"),
);

const fn parse_component(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut value = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

const fn pack_version(major: &str, minor: &str, patch: &str) -> u32 {
    (parse_component(major) << 24) | (parse_component(minor) << 16) | parse_component(patch)
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_packs_cargo_version() {
        let expected = (env!("CARGO_PKG_VERSION_MAJOR").parse::<u32>().unwrap() << 24)
            | (env!("CARGO_PKG_VERSION_MINOR").parse::<u32>().unwrap() << 16)
            | env!("CARGO_PKG_VERSION_PATCH").parse::<u32>().unwrap();
        assert_eq!(super::VERSION, expected);
    }
}
