//! Planning and writing messages no longer than a maximum size.

use core::ops::Range;

use heapless::Vec;
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Serialize, Serializer};

use super::model::{Collection, Heartbeat, SystemInformation};
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

/// Splits one [`Collection`] into messages of at most `max_len` bytes.
#[derive(Debug)]
pub struct Composer<'a> {
    collection: &'a Collection<'a>,
    max_len: usize,
    sequence: u32,
    v4_next: usize,
    v6_next: usize,
    part: u16,
    first: bool,
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
        Self {
            collection,
            max_len: max_len.clamp(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
            sequence: first_sequence,
            v4_next: 0,
            v6_next: 0,
            part: 0,
            first: true,
        }
    }

    /// The sequence number the next message gets.
    pub fn next_sequence(&self) -> u32 {
        self.sequence
    }

    /// Plans the next message, or `None` when everything has been planned.
    pub fn next_message(&mut self) -> Option<Plan<'a>> {
        let collection = self.collection;
        let window = collection.network.filter(|window| !window.is_empty());
        let extras = self.first && (collection.system.is_some() || collection.heartbeat.is_some());
        let flows_left = window
            .is_some_and(|window| self.v4_next < window.v4.len() || self.v6_next < window.v6.len());
        if !extras && !flows_left {
            return None;
        }
        let mut plan = Plan {
            collection,
            sequence: self.sequence,
            extras,
            network: None,
            len: 0,
        };
        if let (Some(window), true) = (window, flows_left) {
            plan.network = Some(Part {
                duration_s: window.duration_s,
                number: self.part,
                v4: self.v4_next..self.v4_next,
                v6: self.v6_next..self.v6_next,
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
            self.v4_next = part.v4.end;
            self.v6_next = part.v6.end;
            part.more = self.v4_next < window.v4.len() || self.v6_next < window.v6.len();
            self.part = self.part.wrapping_add(1);
            plan.len = self.max_len.saturating_sub(room);
        }
        self.first = false;
        self.sequence = self.sequence.wrapping_add(1);
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
        let known = locals.contains(&flow.key.local);
        let mut cost = record_len(flow);
        if !known {
            cost += size_of::<A>();
        }
        let count = (range.len()) as u32;
        cost += varint_len(count + 1) - varint_len(count);
        if cost > *room || (!known && locals.is_full()) {
            return;
        }
        if !known && locals.push(flow.key.local).is_err() {
            return;
        }
        *room -= cost;
        range.end += 1;
    }
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
    pub fn write(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        if out.len() < self.len {
            return Err(EncodeError::BufferTooSmall);
        }
        postcard::to_slice(self, out)
            .map(|written| written.len())
            .map_err(|_| EncodeError::Serializer)
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

/// The message itself: header fields, then the events.
impl Serialize for Plan<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut message = serializer.serialize_tuple(6)?;
        message.serialize_element(&FORMAT)?;
        message.serialize_element(MODULE_ID)?;
        message.serialize_element(&crate::VERSION)?;
        message.serialize_element(&self.sequence)?;
        message.serialize_element(&self.collection.time)?;
        message.serialize_element(&Events(self))?;
        message.end()
    }
}

/// The events of a plan, as `seq<Event>`.
struct Events<'p>(&'p Plan<'p>);

/// `enum Event` of the wire format; the variant order gives the variant numbers.
#[derive(Serialize)]
enum Event<'p> {
    NetworkActivity(NetworkActivity<'p>),
    SystemInformation(&'p SystemInformation),
    Heartbeat(&'p Heartbeat),
}

#[derive(Serialize)]
struct NetworkActivity<'p> {
    duration_s: u32,
    part: u16,
    more: bool,
    v4_locals: &'p [[u8; 4]],
    v4_flows: Records<'p, [u8; 4]>,
    v6_locals: &'p [[u8; 16]],
    v6_flows: Records<'p, [u8; 16]>,
}

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let plan = self.0;
        let mut events = serializer.serialize_seq(Some(plan.event_count()))?;
        if let (Some(part), Some(window)) = (plan.network.as_ref(), plan.collection.network) {
            events.serialize_element(&Event::NetworkActivity(NetworkActivity {
                duration_s: part.duration_s,
                part: part.number,
                more: part.more,
                v4_locals: &part.v4_locals,
                v4_flows: Records {
                    flows: window.v4.get(part.v4.clone()).unwrap_or_default(),
                    locals: &part.v4_locals,
                },
                v6_locals: &part.v6_locals,
                v6_flows: Records {
                    flows: window.v6.get(part.v6.clone()).unwrap_or_default(),
                    locals: &part.v6_locals,
                },
            }))?;
        }
        if plan.extras {
            if let Some(system) = plan.collection.system {
                events.serialize_element(&Event::SystemInformation(system))?;
            }
            if let Some(heartbeat) = plan.collection.heartbeat {
                events.serialize_element(&Event::Heartbeat(heartbeat))?;
            }
        }
        events.end()
    }
}

/// Flows written as records that refer to their local address by index.
struct Records<'p, A> {
    flows: &'p [Flow<A>],
    locals: &'p [A],
}

/// One flow record on the wire.
#[derive(Serialize)]
struct Record<A> {
    local: u8,
    remote: A,
    local_port: [u8; 2],
    remote_port: [u8; 2],
    kind: u8,
    bytes_in: u32,
    bytes_out: u32,
    packets_in: u32,
    packets_out: u32,
}

impl<A: Address + Serialize> Serialize for Records<'_, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut records = serializer.serialize_seq(Some(self.flows.len()))?;
        for flow in self.flows {
            // Planning put every local address of these flows in `locals`; an index the
            // decoder refuses (255) would show a planning defect instead of hiding it.
            let local = self
                .locals
                .iter()
                .position(|local| *local == flow.key.local)
                .map_or(u8::MAX, |index| index as u8);
            records.serialize_element(&Record {
                local,
                remote: flow.key.remote,
                local_port: flow.key.local_port.to_be_bytes(),
                remote_port: flow.key.remote_port.to_be_bytes(),
                kind: kind(flow),
                bytes_in: flow.inbound.bytes,
                bytes_out: flow.outbound.bytes,
                packets_in: flow.inbound.packets,
                packets_out: flow.outbound.packets,
            })?;
        }
        records.end()
    }
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
