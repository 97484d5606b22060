//! What a message says: the event payloads and the inputs of one collection.

use super::sink::{Counter, Sink};
use super::EncodeError;
use crate::flows::Flow;

/// The system-information event (`docs/wire-format.md` 3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemInformation {
    /// ThreadX major, minor, patch (0.0.0 when the platform did not say).
    pub threadx: [u8; 3],
    /// NetX Duo major, minor, patch.
    pub netx: [u8; 3],
    /// This library's packed version.
    pub module_version: u32,
    /// IPv4 flow slots.
    pub max_flows_v4: u16,
    /// IPv6 flow slots.
    pub max_flows_v6: u16,
    /// Capture ring records.
    pub ring_slots: u16,
    /// Outbox byte budget.
    pub outbox_bytes: u32,
    /// Largest message.
    pub max_message_bytes: u32,
    /// High, medium and low group intervals, seconds.
    pub intervals_s: [u32; 3],
    /// Enabled collectors, bit per collector.
    pub collectors: u8,
    /// Capture point (0 unicast only, 1 IP input).
    pub capture_mode: u8,
}

impl SystemInformation {
    /// Bytes it takes on the wire (without the event's variant number).
    pub fn encoded_len(&self) -> usize {
        let mut counter = Counter::default();
        let _ = self.emit(&mut counter);
        counter.0
    }

    /// The event's fields in wire order: both version triples, the varints, then the two
    /// one-byte fields. Every varint goes through the `u64` writer, one out-of-line call
    /// each (a varint of a `u16` or `u32` is the same bytes as that of the `u64` of the same
    /// value): inlined `u32` writers cost 1.6 KB of firmware here.
    pub(crate) fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        let [a, b, c] = self.threadx;
        let [d, e, f] = self.netx;
        sink.octets(&[a, b, c, d, e, f])?;
        sink.varint64(u64::from(self.module_version))?;
        sink.varint64(u64::from(self.max_flows_v4))?;
        sink.varint64(u64::from(self.max_flows_v6))?;
        sink.varint64(u64::from(self.ring_slots))?;
        sink.varint64(u64::from(self.outbox_bytes))?;
        sink.varint64(u64::from(self.max_message_bytes))?;
        let [high, medium, low] = self.intervals_s;
        sink.varint64(u64::from(high))?;
        sink.varint64(u64::from(medium))?;
        sink.varint64(u64::from(low))?;
        sink.byte(self.collectors)?;
        sink.byte(self.capture_mode)
    }
}

/// The heartbeat event (`docs/wire-format.md` 3.3): every health counter since boot. The
/// packet counters are 64-bit so that they never wrap in the life of a device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// Seconds since the module was last started.
    pub uptime_s: u32,
    /// Packets handed to the module while it captured.
    pub packets_seen: u64,
    /// Packets added to a flow.
    pub packets_counted: u64,
    /// Packets that could not be parsed.
    pub malformed: u64,
    /// Well-formed packets with nothing to record.
    pub ignored: u64,
    /// Packets dropped because the capture ring was full.
    pub ring_dropped: u64,
    /// Packets of new flows that found the flow table full.
    pub table_full_dropped: u64,
    /// Messages the hub client accepted.
    pub messages_sent: u32,
    /// Failed send attempts (each message stays queued and is retried).
    pub messages_failed: u32,
    /// Messages dropped unsent to make room in the outbox.
    pub messages_dropped: u32,
    /// Messages waiting in the outbox.
    pub outbox_messages: u16,
    /// Bytes they occupy.
    pub outbox_used_bytes: u32,
    /// Most bytes ever waiting at once.
    pub outbox_peak_bytes: u32,
    /// Polls made while the device had no time.
    pub clock_unavailable: u32,
    /// Polls whose time was earlier than the previous one (the clock was set back).
    pub clock_steps_back: u32,
    /// Collections part of whose messages waited in the flow table for outbox room.
    pub collections_waited: u32,
    /// Alerts put in messages for the hub.
    pub alerts_sent: u32,
    /// Alerts not raised: a window had reached its limit.
    pub alerts_suppressed: u32,
    /// Packets the hooks dropped because a block rule of the policy matched.
    pub packets_blocked: u64,
}

impl Heartbeat {
    /// Bytes it takes on the wire (without the event's variant number).
    pub fn encoded_len(&self) -> usize {
        let mut counter = Counter::default();
        let _ = self.emit(&mut counter);
        counter.0
    }

    /// The event's fields in wire order, all varints.
    pub(crate) fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.varint64(u64::from(self.uptime_s))?;
        sink.varint64(self.packets_seen)?;
        sink.varint64(self.packets_counted)?;
        sink.varint64(self.malformed)?;
        sink.varint64(self.ignored)?;
        sink.varint64(self.ring_dropped)?;
        sink.varint64(self.table_full_dropped)?;
        sink.varint64(u64::from(self.messages_sent))?;
        sink.varint64(u64::from(self.messages_failed))?;
        sink.varint64(u64::from(self.messages_dropped))?;
        sink.varint64(u64::from(self.outbox_messages))?;
        sink.varint64(u64::from(self.outbox_used_bytes))?;
        sink.varint64(u64::from(self.outbox_peak_bytes))?;
        sink.varint64(u64::from(self.clock_unavailable))?;
        sink.varint64(u64::from(self.clock_steps_back))?;
        sink.varint64(u64::from(self.collections_waited))?;
        sink.varint64(u64::from(self.alerts_sent))?;
        sink.varint64(u64::from(self.alerts_suppressed))?;
        sink.varint64(self.packets_blocked)
    }
}

/// One window of flows, ending at the collection's time.
#[derive(Clone, Copy, Debug)]
pub struct Window<'a> {
    /// Length of the window, seconds.
    pub duration_s: u32,
    /// IPv4 flows.
    pub v4: &'a [Flow<[u8; 4]>],
    /// IPv6 flows.
    pub v6: &'a [Flow<[u8; 16]>],
}

impl Window<'_> {
    /// Whether the window has no flow at all (it then produces no event).
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// What the collectors due at one time produced.
#[derive(Clone, Copy, Debug)]
pub struct Collection<'a> {
    /// Unix seconds of the collection (every message's `time`).
    pub time: u32,
    /// Network activity, when due.
    pub network: Option<Window<'a>>,
    /// System information, when due.
    pub system: Option<&'a SystemInformation>,
    /// Heartbeat, when due.
    pub heartbeat: Option<&'a Heartbeat>,
}
