//! Messages of one list event (alerts, audit records): as many items of a slice as fit in
//! one message, the rest left for the next.

use super::compose::header;
use super::sink::{measure, write_into, Sink};
use super::{EncodeError, MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES};

/// An item of a list event.
pub trait Listed {
    /// The `enum Event` variant of the list.
    const EVENT: u32;
    /// Writes the item.
    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError>;
}

/// One planned message: the first `count` of some items.
#[derive(Debug)]
pub struct ListPlan<'a, T> {
    items: &'a [T],
    sequence: u32,
    time: u32,
    len: usize,
}

impl<'a, T: Listed> ListPlan<'a, T> {
    /// The message numbered `sequence` at `time` carrying as many of `items` as fit in
    /// `max_len` (at least one, whatever its size: every item is far below the smallest
    /// maximum); `None` when there is none.
    pub fn new(items: &'a [T], max_len: usize, sequence: u32, time: u32) -> Option<Self> {
        let max_len = max_len.clamp(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
        let mut plan = Self {
            items: items.get(..1)?,
            sequence,
            time,
            len: 0,
        };
        plan.len = plan.measure();
        for count in 2..=items.len() {
            let wider = Self {
                items: items.get(..count)?,
                ..plan
            };
            let len = wider.measure();
            if len > max_len {
                break;
            }
            plan = Self { len, ..wider };
        }
        Some(plan)
    }

    /// Items it carries.
    pub fn count(&self) -> usize {
        self.items.len()
    }

    /// Exact length in bytes.
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        self.len
    }

    /// Its sequence number.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Writes the message into `out`, returning the bytes written.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let out = out.get_mut(..self.len).ok_or(EncodeError::BufferTooSmall)?;
        write_into(out, |writer| self.emit(writer))
    }

    fn measure(&self) -> usize {
        measure(|counter| self.emit(counter))
    }

    /// The header, the one event, then each item.
    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        header(sink, self.sequence, self.time, 1)?;
        sink.varint(T::EVENT)?;
        sink.varint(self.items.len() as u32)?;
        for item in self.items {
            item.emit(sink)?;
        }
        Ok(())
    }
}
