//! Security messages: the versioned envelope of `docs/wire-format.md` (postcard's encoding,
//! written by the library's own code in `sink.rs`).
//!
//! A collection (what the due collectors produced at one time) becomes one or more
//! messages no longer than the configured maximum. [`Composer`](crate::message::Composer) plans each message first
//! (which flows fit, which local addresses they need, the exact length), so the caller can
//! reserve exactly that much room, then `Plan::write` serializes it with postcard. Nothing
//! is ever cut: a window with more flows than one message holds goes on in the next one.

mod alerts;
mod baseline;
mod compose;
mod hygiene;
mod list;
mod model;
mod sink;

pub use alerts::AlertPlan;
pub use baseline::BaselineMessage;
pub use compose::{Composer, Cursor, EncodeError};
pub use hygiene::{AuditPlan, FindingsMessage, InventoryPlan};
pub use model::{Collection, Heartbeat, SystemInformation, Window};

/// Wire format version (the first byte of every message).
pub const FORMAT: u8 = 3;
/// Module id in every message header.
pub const MODULE_ID: &str = "nxsm";
/// Distinct device-side addresses per IP version in one message part.
pub const MAX_LOCALS: usize = 8;
/// Smallest maximum message size accepted: room for a full header, system information,
/// heartbeat and one IPv6 flow with a new local address, with every varint at its widest.
pub const MIN_MESSAGE_BYTES: usize = 320;
/// Largest maximum message size accepted (lengths in the outbox are 16-bit).
pub const MAX_MESSAGE_BYTES: usize = 16_384;

/// Bytes a postcard varint of `value` takes: one per started group of 7 significant bits
/// (a count of leading zeros instead of a chain of comparisons).
#[inline]
pub const fn varint_len(value: u32) -> usize {
    ((38 - (value | 1).leading_zeros()) / 7) as usize
}

/// Bytes a postcard varint of a `u64` `value` takes (1 to 10; the same as [`varint_len`]
/// below 2^32).
#[inline]
pub const fn varint64_len(value: u64) -> usize {
    ((70 - (value | 1).leading_zeros()) / 7) as usize
}

#[cfg(test)]
mod tests;
