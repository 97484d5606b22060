//! What a message says: the event payloads and the inputs of one collection.

use super::varint64_len;
use crate::flows::Flow;
use serde::ser::{Serialize, SerializeTuple, Serializer};

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
        // Two version triples and the two one-byte fields, then the varints.
        8 + varints_len(&self.varints())
    }

    /// The varint fields in wire order, widened to `u64` for the encoder both events share
    /// (postcard's varint of a `u16` or `u32` is the same bytes as that of the `u64` of the
    /// same value).
    #[inline(never)] // shared by the length and the encoder
    fn varints(&self) -> [u64; 9] {
        let [high, medium, low] = self.intervals_s;
        [
            u64::from(self.module_version),
            u64::from(self.max_flows_v4),
            u64::from(self.max_flows_v6),
            u64::from(self.ring_slots),
            u64::from(self.outbox_bytes),
            u64::from(self.max_message_bytes),
            u64::from(high),
            u64::from(medium),
            u64::from(low),
        ]
    }
}

/// Field by field what `#[derive(Serialize)]` gives (postcard writes structs and arrays as
/// their elements, without names or lengths), through the one encoder both events share.
impl Serialize for SystemInformation {
    #[inline(always)] // a call of the shared encoder; into the event's tuple
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let [a, b, c] = self.threadx;
        let [d, e, f] = self.netx;
        flat(
            serializer,
            &[a, b, c, d, e, f],
            &self.varints(),
            &[self.collectors, self.capture_mode],
        )
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
}

impl Heartbeat {
    /// Bytes it takes on the wire (without the event's variant number).
    pub fn encoded_len(&self) -> usize {
        varints_len(&self.varints())
    }

    /// Every field in wire order, all varints (the narrower ones widened, see
    /// `SystemInformation::varints`).
    #[inline(never)] // shared by the length and the encoder
    fn varints(&self) -> [u64; 15] {
        [
            u64::from(self.uptime_s),
            self.packets_seen,
            self.packets_counted,
            self.malformed,
            self.ignored,
            self.ring_dropped,
            self.table_full_dropped,
            u64::from(self.messages_sent),
            u64::from(self.messages_failed),
            u64::from(self.messages_dropped),
            u64::from(self.outbox_messages),
            u64::from(self.outbox_used_bytes),
            u64::from(self.outbox_peak_bytes),
            u64::from(self.clock_unavailable),
            u64::from(self.clock_steps_back),
        ]
    }
}

/// As `SystemInformation`'s: the derived encoding, through the shared encoder.
impl Serialize for Heartbeat {
    #[inline(always)] // a call of the shared encoder; into the event's tuple
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        flat(serializer, &[], &self.varints(), &[])
    }
}

/// Bytes `values` take as postcard varints.
#[inline(never)]
fn varints_len(values: &[u64]) -> usize {
    let mut len = 0;
    let mut index = 0;
    while let Some(value) = values.get(index) {
        len += varint64_len(*value);
        index += 1;
    }
    len
}

/// Serializes `head` (bytes), `varints` (`u64`s) and `tail` (bytes) as one tuple. Out of
/// line and shared, so the firmware holds one copy of the element encoders (plain loops:
/// slice iterators can stay out-of-line calls at `opt-level = "s"`).
#[inline(never)]
fn flat<S: Serializer>(
    serializer: S,
    head: &[u8],
    varints: &[u64],
    tail: &[u8],
) -> Result<S::Ok, S::Error> {
    let mut tuple = serializer.serialize_tuple(head.len() + varints.len() + tail.len())?;
    let mut index = 0;
    while let Some(byte) = head.get(index) {
        tuple.serialize_element(byte)?;
        index += 1;
    }
    index = 0;
    while let Some(value) = varints.get(index) {
        tuple.serialize_element(value)?;
        index += 1;
    }
    index = 0;
    while let Some(byte) = tail.get(index) {
        tuple.serialize_element(byte)?;
        index += 1;
    }
    tuple.end()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The structs as they were, with the derived encoding the wire format documents.
    #[derive(serde::Serialize)]
    struct DerivedSystem {
        threadx: [u8; 3],
        netx: [u8; 3],
        module_version: u32,
        max_flows_v4: u16,
        max_flows_v6: u16,
        ring_slots: u16,
        outbox_bytes: u32,
        max_message_bytes: u32,
        intervals_s: [u32; 3],
        collectors: u8,
        capture_mode: u8,
    }

    #[derive(serde::Serialize)]
    struct DerivedHeartbeat {
        uptime_s: u32,
        packets_seen: u64,
        packets_counted: u64,
        malformed: u64,
        ignored: u64,
        ring_dropped: u64,
        table_full_dropped: u64,
        messages_sent: u32,
        messages_failed: u32,
        messages_dropped: u32,
        outbox_messages: u16,
        outbox_used_bytes: u32,
        outbox_peak_bytes: u32,
        clock_unavailable: u32,
        clock_steps_back: u32,
    }

    /// Values at every varint width boundary, and some in between.
    const VALUES: [u32; 12] = [
        0,
        1,
        127,
        128,
        300,
        16_383,
        16_384,
        65_535,
        2_097_151,
        2_097_152,
        268_435_456,
        u32::MAX,
    ];

    fn encode<T: Serialize>(value: &T) -> std::vec::Vec<u8> {
        let mut buffer = [0u8; 128];
        let used = postcard::to_slice(&(1u32, value), &mut buffer).unwrap();
        used.to_vec()
    }

    #[test]
    fn system_information_encodes_as_the_derived_struct() {
        for (i, &value) in VALUES.iter().enumerate() {
            let next = VALUES[(i + 5) % VALUES.len()];
            let small = value as u16;
            let system = SystemInformation {
                threadx: [value as u8, 2, 3],
                netx: [6, next as u8, 0xFF],
                module_version: value,
                max_flows_v4: small,
                max_flows_v6: next as u16,
                ring_slots: small.wrapping_add(1),
                outbox_bytes: next,
                max_message_bytes: value ^ next,
                intervals_s: [next, value, value / 3],
                collectors: i as u8,
                capture_mode: 0x80 | i as u8,
            };
            let derived = DerivedSystem {
                threadx: system.threadx,
                netx: system.netx,
                module_version: system.module_version,
                max_flows_v4: system.max_flows_v4,
                max_flows_v6: system.max_flows_v6,
                ring_slots: system.ring_slots,
                outbox_bytes: system.outbox_bytes,
                max_message_bytes: system.max_message_bytes,
                intervals_s: system.intervals_s,
                collectors: system.collectors,
                capture_mode: system.capture_mode,
            };
            let bytes = encode(&system);
            assert_eq!(bytes, encode(&derived), "{system:?}");
            assert_eq!(bytes.len(), 1 + system.encoded_len());
        }
    }

    /// Values at every varint width boundary past 32 bits.
    const WIDE: [u64; 10] = [
        0,
        u32::MAX as u64,
        1 << 32,
        (1 << 35) - 1,
        1 << 35,
        1 << 49,
        (1 << 56) - 1,
        1 << 63,
        u64::MAX - 1,
        u64::MAX,
    ];

    #[test]
    fn heartbeat_encodes_as_the_derived_struct() {
        for i in 0..VALUES.len() + WIDE.len() {
            let at = |k: usize| VALUES[(i + k) % VALUES.len()];
            // The 64-bit counters: the 32-bit values, then the wider ones.
            let wide = |k: usize| {
                let k = (i + k) % (VALUES.len() + WIDE.len());
                VALUES
                    .get(k)
                    .map_or_else(|| WIDE[k - VALUES.len()], |&v| u64::from(v))
            };
            let heartbeat = Heartbeat {
                uptime_s: at(0),
                packets_seen: wide(1),
                packets_counted: wide(2),
                malformed: wide(3),
                ignored: wide(4),
                ring_dropped: wide(5),
                table_full_dropped: wide(6),
                messages_sent: at(7),
                messages_failed: at(8),
                messages_dropped: at(9),
                outbox_messages: at(10) as u16,
                outbox_used_bytes: at(11),
                outbox_peak_bytes: at(12),
                clock_unavailable: at(13),
                clock_steps_back: at(14),
            };
            let derived = DerivedHeartbeat {
                uptime_s: heartbeat.uptime_s,
                packets_seen: heartbeat.packets_seen,
                packets_counted: heartbeat.packets_counted,
                malformed: heartbeat.malformed,
                ignored: heartbeat.ignored,
                ring_dropped: heartbeat.ring_dropped,
                table_full_dropped: heartbeat.table_full_dropped,
                messages_sent: heartbeat.messages_sent,
                messages_failed: heartbeat.messages_failed,
                messages_dropped: heartbeat.messages_dropped,
                outbox_messages: heartbeat.outbox_messages,
                outbox_used_bytes: heartbeat.outbox_used_bytes,
                outbox_peak_bytes: heartbeat.outbox_peak_bytes,
                clock_unavailable: heartbeat.clock_unavailable,
                clock_steps_back: heartbeat.clock_steps_back,
            };
            let bytes = encode(&heartbeat);
            assert_eq!(bytes, encode(&derived), "{heartbeat:?}");
            assert_eq!(bytes.len(), 1 + heartbeat.encoded_len());
        }
    }
}
