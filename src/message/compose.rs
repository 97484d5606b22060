//! Planning and writing messages no longer than a maximum size.

use core::ops::Range;

use heapless::Vec;

use super::model::Collection;
use super::sink::{Counter, Sink, Writer};
use super::{varint_len, FORMAT, MAX_LOCALS, MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES, MODULE_ID};
use crate::flows::{Address, Flow};

/// Why a message could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer is shorter than [`Plan::len`].
    BufferTooSmall,
}

/// Appends `seq<[u8; N]>`: the count, then each address.
fn locals<A: Address, S: Sink>(sink: &mut S, locals: &[A]) -> Result<(), EncodeError> {
    sink.varint(locals.len() as u32)?;
    for local in locals {
        sink.octets(local.octets())?;
    }
    Ok(())
}

/// Appends `seq<Flow>`: the count, then each flow's record, whose local address is an
/// index into `locals`.
fn records<A: Address, S: Sink>(
    sink: &mut S,
    flows: &[Flow<A>],
    locals: &[A],
) -> Result<(), EncodeError> {
    sink.varint(flows.len() as u32)?;
    for flow in flows {
        // Planning put every local address of these flows in `locals`; an index the
        // decoder refuses (255) would show a planning defect instead of hiding it.
        let local = local_index(locals, &flow.local).map_or(u8::MAX, |i| i as u8);
        record(sink, flow, local)?;
    }
    Ok(())
}

/// One flow record (`docs/wire-format.md` 3.1): local index, remote address, both ports
/// (big-endian), kind, initiator, then the four counters. Plain calls rather than iterators over
/// arrays: at the firmware's size-first optimization level those stay out-of-line calls.
#[inline(always)]
fn record<A: Address, S: Sink>(sink: &mut S, flow: &Flow<A>, local: u8) -> Result<(), EncodeError> {
    sink.byte(local)?;
    sink.octets(flow.remote.octets())?;
    let [a, b] = flow.local_port.to_be_bytes();
    let [c, d] = flow.remote_port.to_be_bytes();
    sink.byte(a)?;
    sink.byte(b)?;
    sink.byte(c)?;
    sink.byte(d)?;
    sink.byte(kind(flow))?;
    sink.byte(initiator(flow))?;
    sink.varint(flow.inbound.bytes)?;
    sink.varint(flow.outbound.bytes)?;
    sink.varint(flow.inbound.packets)?;
    sink.varint(flow.outbound.packets)
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
        let known = local_index(locals, &flow.local).is_some();
        let mut cost = record_len(flow);
        if !known {
            cost += size_of::<A>();
        }
        let count = (range.len()) as u32;
        cost += varint_len(count + 1) - varint_len(count);
        // A ninth local address does not fit the part either: `push` refuses it.
        if cost > *room || (!known && locals.push(flow.local).is_err()) {
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

/// Bytes one flow record takes on the wire.
pub(crate) fn record_len<A: Address>(flow: &Flow<A>) -> usize {
    let mut counter = Counter::default();
    let _ = record(&mut counter, flow, 0);
    counter.0
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

    /// Writes the message into `out`, returning the bytes written (`self.len()`).
    pub fn write(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let out = out.get_mut(..self.len).ok_or(EncodeError::BufferTooSmall)?;
        let mut writer = Writer::new(out);
        self.emit(&mut writer, true)?;
        Ok(writer.written())
    }

    /// Length of the message without its flow records and local addresses (planning adds
    /// each flow's exact cost to it).
    fn base_len(&self) -> usize {
        let mut counter = Counter::default();
        let _ = self.emit(&mut counter, false);
        counter.0
    }

    /// The message's fields in wire order (`docs/wire-format.md`): the header, then each
    /// event. Without `flows`, the part's address and flow sequences are written empty.
    fn emit<S: Sink>(&self, sink: &mut S, flows: bool) -> Result<(), EncodeError> {
        header(
            sink,
            self.sequence,
            self.collection.time,
            self.event_count(),
        )?;
        if let (Some(part), Some(window)) = (self.network.as_ref(), self.collection.network) {
            sink.varint(EVENT_NETWORK_ACTIVITY)?;
            sink.varint(part.duration_s)?;
            sink.varint(u32::from(part.number))?;
            sink.byte(u8::from(part.more))?;
            let (v4, v6) = if flows {
                (
                    window.v4.get(part.v4.clone()).unwrap_or_default(),
                    window.v6.get(part.v6.clone()).unwrap_or_default(),
                )
            } else {
                (&[][..], &[][..])
            };
            let v4_locals = if flows { &part.v4_locals[..] } else { &[] };
            let v6_locals = if flows { &part.v6_locals[..] } else { &[] };
            locals(sink, v4_locals)?;
            records(sink, v4, v4_locals)?;
            locals(sink, v6_locals)?;
            records(sink, v6, v6_locals)?;
        }
        if self.extras {
            if let Some(system) = self.collection.system {
                sink.varint(EVENT_SYSTEM_INFORMATION)?;
                system.emit(sink)?;
            }
            if let Some(heartbeat) = self.collection.heartbeat {
                sink.varint(EVENT_HEARTBEAT)?;
                heartbeat.emit(sink)?;
            }
        }
        Ok(())
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

/// The header every message starts with: format, module id, version, sequence, time and
/// the number of events that follow.
pub(crate) fn header<S: Sink>(
    sink: &mut S,
    sequence: u32,
    time: u32,
    events: usize,
) -> Result<(), EncodeError> {
    sink.byte(FORMAT)?;
    sink.varint(MODULE_ID.len() as u32)?;
    sink.octets(MODULE_ID.as_bytes())?;
    sink.varint(crate::VERSION)?;
    sink.varint(sequence)?;
    sink.varint(time)?;
    sink.varint(events as u32)
}

/// Variant numbers of `enum Event` (`docs/wire-format.md` 3).
const EVENT_NETWORK_ACTIVITY: u32 = 0;
const EVENT_SYSTEM_INFORMATION: u32 = 1;
const EVENT_HEARTBEAT: u32 = 2;
/// `enum Event` variant of the alerts event.
pub(crate) const EVENT_ALERTS: u32 = 3;
/// `enum Event` variant of the baseline event.
pub(crate) const EVENT_BASELINE: u32 = 4;
/// `enum Event` variant of the inventory event.
pub(crate) const EVENT_INVENTORY: u32 = 5;
/// `enum Event` variant of the findings event.
pub(crate) const EVENT_FINDINGS: u32 = 6;
/// `enum Event` variant of the audit event.
pub(crate) const EVENT_AUDIT: u32 = 7;

/// A flow's record as written (for tests).
#[cfg(test)]
pub(crate) fn encoded_record<A: Address>(
    flow: &Flow<A>,
    local: u8,
) -> Result<std::vec::Vec<u8>, EncodeError> {
    let mut out = [0u8; 64];
    let mut writer = Writer::new(&mut out);
    record(&mut writer, flow, local)?;
    let len = writer.written();
    Ok(out[..len].to_vec())
}

/// Who opened the flow: 0 the device, 1 the peer.
#[inline(always)]
pub(crate) fn initiator<A>(flow: &Flow<A>) -> u8 {
    match flow.initiator {
        crate::capture::Direction::Out => 0,
        crate::capture::Direction::In => 1,
    }
}

/// Protocol in bits 0-1, received SYN/FIN/RST in bits 2-4, sent ones in bits 5-7 (TCP
/// only: the flag bits of other protocols are 0).
pub(crate) fn kind<A>(flow: &Flow<A>) -> u8 {
    // TCP header bits: FIN 0x01, SYN 0x02, RST 0x04; on the wire SYN, FIN, RST.
    let pick = |flags: u8| ((flags >> 1) & 1) | ((flags & 1) << 1) | (flags & 4);
    let protocol = flow.protocol as u8;
    if flow.protocol != crate::wire::TransportKind::Tcp {
        return protocol;
    }
    protocol | pick(flow.flags_in.0) << 2 | pick(flow.flags_out.0) << 5
}
