//! Where message bytes go: into a buffer ([`Writer`]) or only counted ([`Counter`]).
//!
//! Every field list of the format (the header, each event, a flow record) is written once,
//! against a [`Sink`]; the same code then gives both the bytes and their exact length, so
//! the two cannot disagree. Integers are unsigned LEB128 varints, as postcard encodes a
//! `u32`, a `u64` or a sequence length; bytes and byte arrays are written as they are.

// `#[inline(always)]` here: without it serializing a flow record takes 267 instructions
// instead of 233, a full collection 10% more (scripts/bench).

use super::{varint64_len, varint_len, EncodeError};

/// A destination for the pieces of a message.
pub trait Sink {
    /// One byte.
    fn byte(&mut self, byte: u8) -> Result<(), EncodeError>;
    /// Bytes as they are.
    fn octets(&mut self, bytes: &[u8]) -> Result<(), EncodeError>;
    /// A `u32` (or a sequence length) as a varint.
    fn varint(&mut self, value: u32) -> Result<(), EncodeError>;
    /// A `u64` as a varint.
    fn varint64(&mut self, value: u64) -> Result<(), EncodeError>;
}

/// The exact length of what `emit` writes.
pub(crate) fn measure(emit: impl FnOnce(&mut Counter) -> Result<(), EncodeError>) -> usize {
    let mut counter = Counter::default();
    let _ = emit(&mut counter);
    counter.0
}

/// Writes what `emit` writes into `out`, returning the bytes written.
pub(crate) fn write_into(
    out: &mut [u8],
    emit: impl FnOnce(&mut Writer<'_>) -> Result<(), EncodeError>,
) -> Result<usize, EncodeError> {
    let mut writer = Writer::new(out);
    emit(&mut writer)?;
    Ok(writer.written())
}

/// A byte slice filled front to back. Writing byte by byte, inlined, costs a few
/// instructions per byte, where a general-purpose serializer copies every varint through
/// a `memcpy` call; messages are made of one- to five-byte pieces.
pub(crate) struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `out`.
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Self { out, at: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> usize {
        self.at
    }
}

impl Sink for Writer<'_> {
    #[inline(always)]
    fn byte(&mut self, byte: u8) -> Result<(), EncodeError> {
        let slot = self
            .out
            .get_mut(self.at)
            .ok_or(EncodeError::BufferTooSmall)?;
        *slot = byte;
        self.at += 1;
        Ok(())
    }

    /// A plain loop: at the firmware's size-first optimization level an iterator over the
    /// bytes stays an out-of-line call per byte.
    #[inline(always)]
    fn octets(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let mut index = 0;
        while let Some(byte) = bytes.get(index) {
            self.byte(*byte)?;
            index += 1;
        }
        Ok(())
    }

    #[inline(always)]
    fn varint(&mut self, mut value: u32) -> Result<(), EncodeError> {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80)?;
            value >>= 7;
        }
        self.byte(value as u8)
    }

    /// Out of line: only the system-information and heartbeat events use it.
    #[inline(never)]
    fn varint64(&mut self, mut value: u64) -> Result<(), EncodeError> {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80)?;
            value >>= 7;
        }
        self.byte(value as u8)
    }
}

/// Counts the bytes a message would take.
#[derive(Debug, Default)]
pub(crate) struct Counter(pub(crate) usize);

impl Sink for Counter {
    #[inline(always)]
    fn byte(&mut self, _: u8) -> Result<(), EncodeError> {
        self.0 += 1;
        Ok(())
    }

    #[inline(always)]
    fn octets(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0 += bytes.len();
        Ok(())
    }

    #[inline(always)]
    fn varint(&mut self, value: u32) -> Result<(), EncodeError> {
        self.0 += varint_len(value);
        Ok(())
    }

    /// Out of line, as the writer's.
    #[inline(never)]
    fn varint64(&mut self, value: u64) -> Result<(), EncodeError> {
        self.0 += varint64_len(value);
        Ok(())
    }
}
