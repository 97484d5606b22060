//! Planning and writing messages no longer than a maximum size.

use core::ops::Range;

use heapless::Vec;
use serde::Serialize;

use super::model::Collection;
use super::{varint_len, FORMAT, MAX_LOCALS, MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES, MODULE_ID};
use crate::flows::{Address, Flow};

/// Why a message could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer is shorter than [`Plan::len`].
    BufferTooSmall,
    /// The serializer refused the input (a planning defect; never expected).
    Serializer,
}

/// The message output: a byte slice filled front to back, by postcard (as its output
/// flavor) and directly. Writing byte by byte, inlined, costs a few instructions per byte
/// where postcard's own slice output copies every varint through a `memcpy` call;
/// messages are made of one- to five-byte pieces.
struct Bytes<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Bytes<'_> {
    /// Appends `value` as postcard encodes it.
    fn serde<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let rest = self
            .out
            .get_mut(self.at..)
            .ok_or(EncodeError::BufferTooSmall)?;
        let written = postcard::serialize_with_flavor(value, Bytes { out: rest, at: 0 })
            .map_err(|_| EncodeError::Serializer)?;
        self.at += written;
        Ok(())
    }

    /// Appends `seq<[u8; N]>`: the count, then each address.
    fn locals<A: Address>(&mut self, locals: &[A]) -> Result<(), EncodeError> {
        self.varint(locals.len() as u32)?;
        for local in locals {
            self.octets(local.octets())?;
        }
        Ok(())
    }

    /// Appends bytes as they are (a plain loop: see `record`).
    #[inline(always)]
    fn octets(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let mut index = 0;
        while let Some(byte) = bytes.get(index) {
            self.byte(*byte)?;
            index += 1;
        }
        Ok(())
    }

    /// Appends `seq<Flow>`: the count, then each flow's record, whose local address is an
    /// index into `locals`.
    fn records<A: Address>(&mut self, flows: &[Flow<A>], locals: &[A]) -> Result<(), EncodeError> {
        self.varint(flows.len() as u32)?;
        for flow in flows {
            // Planning put every local address of these flows in `locals`; an index the
            // decoder refuses (255) would show a planning defect instead of hiding it.
            let local = local_index(locals, &flow.key.local).map_or(u8::MAX, |i| i as u8);
            self.record(flow, local)?;
        }
        Ok(())
    }

    /// Appends one flow record: the fields of `docs/wire-format.md` 3.1 one after another.
    /// Plain calls and a `while` loop rather than iterators over arrays: at the firmware's
    /// size-first optimization level those iterators stay out-of-line calls per byte.
    #[inline(always)]
    fn record<A: Address>(&mut self, flow: &Flow<A>, local: u8) -> Result<(), EncodeError> {
        self.byte(local)?;
        self.octets(flow.key.remote.octets())?;
        let [a, b] = flow.key.local_port.to_be_bytes();
        let [c, d] = flow.key.remote_port.to_be_bytes();
        self.byte(a)?;
        self.byte(b)?;
        self.byte(c)?;
        self.byte(d)?;
        self.byte(kind(flow))?;
        self.varint(flow.inbound.bytes)?;
        self.varint(flow.outbound.bytes)?;
        self.varint(flow.inbound.packets)?;
        self.varint(flow.outbound.packets)
    }

    /// Unsigned LEB128, as postcard writes a `u32` or a sequence length.
    #[inline(always)]
    fn varint(&mut self, mut value: u32) -> Result<(), EncodeError> {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80)?;
            value >>= 7;
        }
        self.byte(value as u8)
    }

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
}

impl postcard::ser_flavors::Flavor for Bytes<'_> {
    type Output = usize;

    #[inline(always)]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.octets(data)
            .map_err(|_| postcard::Error::SerializeBufferFull)
    }

    #[inline(always)]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.byte(byte)
            .map_err(|_| postcard::Error::SerializeBufferFull)
    }

    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.at)
    }
}

/// Splits one [`Collection`] into messages of at most `max_len` bytes.
#[derive(Debug)]
pub struct Composer<'a> {
    collection: &'a Collection<'a>,
    max_len: usize,
    at: Cursor,
}

/// How far a [`Composer`] got: enough to go on later with the same collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Sequence number of the next message.
    pub sequence: u32,
    v4_next: usize,
    v6_next: usize,
    part: u16,
    /// No message planned yet: the next one carries system information and heartbeat.
    first: bool,
}

impl Cursor {
    /// All zero: no collection (what a stopped module keeps, in `.bss`).
    pub const NONE: Self = Self {
        sequence: 0,
        v4_next: 0,
        v6_next: 0,
        part: 0,
        first: false,
    };

    /// Takes out the flows planned so far (IPv4, IPv6), so the composer goes on at the
    /// front of a window from which they were removed.
    pub fn take_planned(&mut self) -> (usize, usize) {
        (
            core::mem::take(&mut self.v4_next),
            core::mem::take(&mut self.v6_next),
        )
    }

    /// The start of a collection whose first message gets `sequence`.
    pub const fn start(sequence: u32) -> Self {
        Self {
            sequence,
            v4_next: 0,
            v6_next: 0,
            part: 0,
            first: true,
        }
    }
}

/// One planned message: its events, the flows it carries and its exact length.
#[derive(Debug)]
pub struct Plan<'a> {
    collection: &'a Collection<'a>,
    sequence: u32,
    extras: bool,
    network: Option<Part>,
    len: usize,
}

/// The flows of one network-activity part.
#[derive(Debug, Default)]
struct Part {
    duration_s: u32,
    number: u16,
    more: bool,
    v4: Range<usize>,
    v6: Range<usize>,
    v4_locals: Vec<[u8; 4], MAX_LOCALS>,
    v6_locals: Vec<[u8; 16], MAX_LOCALS>,
}

impl<'a> Composer<'a> {
    /// A composer whose first message gets `first_sequence`. `max_len` is clamped into
    /// `MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES`, the range in which every flow fits.
    pub fn new(collection: &'a Collection<'a>, max_len: usize, first_sequence: u32) -> Self {
        Self::resume(collection, max_len, Cursor::start(first_sequence))
    }

    /// A composer that goes on from `at` (what [`cursor`](Self::cursor) returned for the
    /// same collection).
    pub fn resume(collection: &'a Collection<'a>, max_len: usize, at: Cursor) -> Self {
        Self {
            collection,
            max_len: max_len.clamp(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
            at,
        }
    }

    /// The sequence number the next message gets.
    pub fn next_sequence(&self) -> u32 {
        self.at.sequence
    }

    /// How far it got.
    pub fn cursor(&self) -> Cursor {
        self.at
    }

    /// Plans the next message, or `None` when everything has been planned.
    pub fn next_message(&mut self) -> Option<Plan<'a>> {
        let collection = self.collection;
        let window = collection.network.filter(|window| !window.is_empty());
        let extras =
            self.at.first && (collection.system.is_some() || collection.heartbeat.is_some());
        let flows_left = window.is_some_and(|window| {
            self.at.v4_next < window.v4.len() || self.at.v6_next < window.v6.len()
        });
        if !extras && !flows_left {
            return None;
        }
        let mut plan = Plan {
            collection,
            sequence: self.at.sequence,
            extras,
            network: None,
            len: 0,
        };
        if let (Some(window), true) = (window, flows_left) {
            plan.network = Some(Part {
                duration_s: window.duration_s,
                number: self.at.part,
                v4: self.at.v4_next..self.at.v4_next,
                v6: self.at.v6_next..self.at.v6_next,
                ..Part::default()
            });
        }
        // The message with an empty part; flows then add their exact cost.
        plan.len = plan.base_len();
        if let (Some(window), Some(part)) = (window, plan.network.as_mut()) {
            let mut room = self.max_len.saturating_sub(plan.len);
            fill(&mut part.v4, &mut part.v4_locals, window.v4, &mut room);
            if part.v4.end == window.v4.len() {
                fill(&mut part.v6, &mut part.v6_locals, window.v6, &mut room);
            }
            if part.v4.is_empty() && part.v6.is_empty() {
                // Unreachable with a maximum of at least MIN_MESSAGE_BYTES; stopping here
                // rather than looping keeps a planning defect from hanging the device.
                return None;
            }
            self.at.v4_next = part.v4.end;
            self.at.v6_next = part.v6.end;
            part.more = self.at.v4_next < window.v4.len() || self.at.v6_next < window.v6.len();
            self.at.part = self.at.part.wrapping_add(1);
            plan.len = self.max_len.saturating_sub(room);
        }
        self.at.first = false;
        self.at.sequence = self.at.sequence.wrapping_add(1);
        Some(plan)
    }
}

/// Takes flows from `range.end` on while they fit in `room`, collecting their local
/// addresses; stops at the first that does not fit or needs a ninth local address.
fn fill<A: Address, const L: usize>(
    range: &mut Range<usize>,
    locals: &mut Vec<A, L>,
    flows: &[Flow<A>],
    room: &mut usize,
) {
    let Some(rest) = flows.get(range.end..) else {
        return;
    };
    for flow in rest {
        let known = local_index(locals, &flow.key.local).is_some();
        let mut cost = record_len(flow);
        if !known {
            cost += size_of::<A>();
        }
        let count = (range.len()) as u32;
        cost += varint_len(count + 1) - varint_len(count);
        // A ninth local address does not fit the part either: `push` refuses it.
        if cost > *room || (!known && locals.push(flow.key.local).is_err()) {
            return;
        }
        *room -= cost;
        range.end += 1;
    }
}

/// Where `address` stands in a part's local addresses (compared as words: an array `==`
/// becomes a `bcmp` call).
fn local_index<A: Address>(locals: &[A], address: &A) -> Option<usize> {
    let words = address.words();
    locals
        .iter()
        .position(|local| local.difference(&words) == 0)
}

/// Bytes one flow record takes on the wire (`docs/wire-format.md` 3.1).
pub(crate) fn record_len<A>(flow: &Flow<A>) -> usize {
    // local index, remote address, two be16 ports, kind, then four varint counters.
    1 + size_of::<A>()
        + 4
        + 1
        + varint_len(flow.inbound.bytes)
        + varint_len(flow.outbound.bytes)
        + varint_len(flow.inbound.packets)
        + varint_len(flow.outbound.packets)
}

impl Plan<'_> {
    /// Exact length of the message in bytes.
    #[allow(clippy::len_without_is_empty)] // a plan is never empty
    pub fn len(&self) -> usize {
        self.len
    }

    /// Its sequence number.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Flows it carries (IPv4 and IPv6).
    pub fn flows(&self) -> usize {
        self.network
            .as_ref()
            .map_or(0, |part| part.v4.len() + part.v6.len())
    }

    /// Serializes the message into `out`, returning the bytes written (`self.len()`).
    ///
    /// The system-information and heartbeat events (the serde model) go through serde and
    /// postcard. The header, the network-activity event and its flow records, plain runs of
    /// varints and bytes, are written directly in the same encoding: postcard's generated
    /// code for them cost more than a kilobyte of firmware. `tests::direct_writing_matches_
    /// serde` compares both ways of writing on many messages, and the golden bytes pin it.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let out = out.get_mut(..self.len).ok_or(EncodeError::BufferTooSmall)?;
        let mut w = Bytes { out, at: 0 };
        // Header: format, module id, version, sequence, time, event count.
        w.byte(FORMAT)?;
        w.varint(MODULE_ID.len() as u32)?;
        w.octets(MODULE_ID.as_bytes())?;
        w.varint(crate::VERSION)?;
        w.varint(self.sequence)?;
        w.varint(self.collection.time)?;
        w.varint(self.event_count() as u32)?;
        if let (Some(part), Some(window)) = (self.network.as_ref(), self.collection.network) {
            w.varint(EVENT_NETWORK_ACTIVITY)?;
            w.varint(part.duration_s)?;
            w.varint(u32::from(part.number))?;
            w.byte(u8::from(part.more))?;
            w.locals(&part.v4_locals)?;
            w.records(
                window.v4.get(part.v4.clone()).unwrap_or_default(),
                &part.v4_locals,
            )?;
            w.locals(&part.v6_locals)?;
            w.records(
                window.v6.get(part.v6.clone()).unwrap_or_default(),
                &part.v6_locals,
            )?;
        }
        if self.extras {
            if let Some(system) = self.collection.system {
                w.serde(&(EVENT_SYSTEM_INFORMATION, system))?;
            }
            if let Some(heartbeat) = self.collection.heartbeat {
                w.serde(&(EVENT_HEARTBEAT, heartbeat))?;
            }
        }
        Ok(w.at)
    }

    /// Length of the message without flow records and local addresses, counted from the
    /// varint widths (the same arithmetic as postcard's; tests compare the two). Computing
    /// it rather than running the serializer once more keeps a second copy of the
    /// serialization code out of the firmware.
    fn base_len(&self) -> usize {
        let mut len = 1
            + varint_len(MODULE_ID.len() as u32)
            + MODULE_ID.len()
            + varint_len(crate::VERSION)
            + varint_len(self.sequence)
            + varint_len(self.collection.time)
            + varint_len(self.event_count() as u32);
        if let Some(part) = &self.network {
            // variant, duration, part, more, then four empty sequences (locals and flows of
            // each version): their one-byte counts.
            len += 1 + varint_len(part.duration_s) + varint_len(u32::from(part.number)) + 1 + 4;
        }
        if self.extras {
            if let Some(system) = self.collection.system {
                len += 1 + system.encoded_len();
            }
            if let Some(heartbeat) = self.collection.heartbeat {
                len += 1 + heartbeat.encoded_len();
            }
        }
        len
    }

    fn event_count(&self) -> usize {
        let extras = if self.extras {
            usize::from(self.collection.system.is_some())
                + usize::from(self.collection.heartbeat.is_some())
        } else {
            0
        };
        usize::from(self.network.is_some()) + extras
    }
}

/// Variant numbers of `enum Event` (`docs/wire-format.md` 3).
const EVENT_NETWORK_ACTIVITY: u32 = 0;
const EVENT_SYSTEM_INFORMATION: u32 = 1;
const EVENT_HEARTBEAT: u32 = 2;

/// The message written the way serde and postcard write it, every part through the serde
/// data model (for tests: the direct writer must give the same bytes).
#[cfg(test)]
pub(crate) fn write_with_serde(plan: &Plan<'_>) -> Result<std::vec::Vec<u8>, EncodeError> {
    let mut out = std::vec![0u8; plan.len];
    let mut w = Bytes {
        out: &mut out,
        at: 0,
    };
    let header = (
        FORMAT,
        MODULE_ID,
        crate::VERSION,
        plan.sequence,
        plan.collection.time,
        plan.event_count() as u32,
    );
    w.serde(&header)?;
    if let (Some(part), Some(window)) = (plan.network.as_ref(), plan.collection.network) {
        let event = (
            EVENT_NETWORK_ACTIVITY,
            part.duration_s,
            part.number,
            part.more,
            part.v4_locals.as_slice(),
        );
        w.serde(&event)?;
        w.records(
            window.v4.get(part.v4.clone()).unwrap_or_default(),
            &part.v4_locals,
        )?;
        w.serde(&part.v6_locals.as_slice())?;
        w.records(
            window.v6.get(part.v6.clone()).unwrap_or_default(),
            &part.v6_locals,
        )?;
    }
    if plan.extras {
        if let Some(system) = plan.collection.system {
            w.serde(&(EVENT_SYSTEM_INFORMATION, system))?;
        }
        if let Some(heartbeat) = plan.collection.heartbeat {
            w.serde(&(EVENT_HEARTBEAT, heartbeat))?;
        }
    }
    let len = w.at;
    out.truncate(len);
    Ok(out)
}

/// A flow's record as written (for tests).
#[cfg(test)]
pub(crate) fn encoded_record<A: Address>(
    flow: &Flow<A>,
    local: u8,
) -> Result<std::vec::Vec<u8>, EncodeError> {
    let mut out = [0u8; 64];
    let mut w = Bytes {
        out: &mut out,
        at: 0,
    };
    w.record(flow, local)?;
    let len = w.at;
    Ok(out[..len].to_vec())
}

/// Protocol in bits 0-1, received SYN/FIN/RST in bits 2-4, sent ones in bits 5-7 (TCP
/// only: the flag bits of other protocols are 0).
pub(crate) fn kind<A>(flow: &Flow<A>) -> u8 {
    // TCP header bits: FIN 0x01, SYN 0x02, RST 0x04; on the wire SYN, FIN, RST.
    let pick = |flags: u8| ((flags >> 1) & 1) | ((flags & 1) << 1) | (flags & 4);
    let protocol = flow.key.protocol as u8;
    if flow.key.protocol != crate::wire::TransportKind::Tcp {
        return protocol;
    }
    protocol | pick(flow.flags_in.0) << 2 | pick(flow.flags_out.0) << 5
}
