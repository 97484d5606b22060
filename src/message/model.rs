//! What a message says: the event payloads and the inputs of one collection.

use super::varint_len;
use crate::flows::Flow;
use serde::Serialize;

/// The system-information event (`docs/wire-format.md` 3.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
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
        let [high, medium, low] = self.intervals_s;
        // Two version triples and the two one-byte fields, then the varints.
        8 + [
            self.module_version,
            u32::from(self.max_flows_v4),
            u32::from(self.max_flows_v6),
            u32::from(self.ring_slots),
            self.outbox_bytes,
            self.max_message_bytes,
            high,
            medium,
            low,
        ]
        .iter()
        .map(|value| varint_len(*value))
        .sum::<usize>()
    }
}

/// The heartbeat event (`docs/wire-format.md` 3.3): every health counter since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    /// Seconds since the module was last started.
    pub uptime_s: u32,
    /// Packets handed to the module while it captured.
    pub packets_seen: u32,
    /// Packets added to a flow.
    pub packets_counted: u32,
    /// Packets that could not be parsed.
    pub malformed: u32,
    /// Well-formed packets with nothing to record.
    pub ignored: u32,
    /// Packets dropped because the capture ring was full.
    pub ring_dropped: u32,
    /// Packets of new flows that found the flow table full.
    pub table_full_dropped: u32,
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
}

impl Heartbeat {
    /// Bytes it takes on the wire (without the event's variant number).
    pub fn encoded_len(&self) -> usize {
        [
            self.uptime_s,
            self.packets_seen,
            self.packets_counted,
            self.malformed,
            self.ignored,
            self.ring_dropped,
            self.table_full_dropped,
            self.messages_sent,
            self.messages_failed,
            self.messages_dropped,
            u32::from(self.outbox_messages),
            self.outbox_used_bytes,
            self.outbox_peak_bytes,
            self.clock_unavailable,
            self.clock_steps_back,
        ]
        .iter()
        .map(|value| varint_len(*value))
        .sum()
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
