//! IPFIX (RFC 7011) encoding of flow records, with the IANA information elements, and
//! RFC 5103 biflow records (reverse elements under the reverse PEN 29305).
//!
//! Four templates, each a fixed record size (no variable-length fields, so a collector
//! never has to parse a length prefix from us):
//!
//! | Template | Records | Record bytes |
//! |---|---|---|
//! | [`TEMPLATE_V4`] | one direction, IPv4 | [`RECORD_V4`] (40) |
//! | [`TEMPLATE_V6`] | one direction, IPv6 | [`RECORD_V6`] (64) |
//! | [`TEMPLATE_BIFLOW_V4`] | both directions, IPv4 | [`RECORD_BIFLOW_V4`] (58) |
//! | [`TEMPLATE_BIFLOW_V6`] | both directions, IPv6 | [`RECORD_BIFLOW_V6`] (82) |
//!
//! [`flow_records`] turns one flow of a device message into records; [`Encoder`] packs
//! records into IPFIX messages no longer than a bound (UDP: one datagram each) and makes
//! the template messages; [`Exporter`] sends them over UDP and re-sends the templates on a
//! timer, as collectors expect over UDP (RFC 7011 section 8.4).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use nxsm_decode::{Flow, Protocol, INITIATOR_LOCAL, INITIATOR_REMOTE};

/// IPFIX version number (message header).
pub const VERSION: u16 = 10;
/// Bytes of the message header.
pub const MESSAGE_HEADER: usize = 16;
/// Bytes of a set header.
pub const SET_HEADER: usize = 4;
/// Set ID of a template set.
pub const TEMPLATE_SET_ID: u16 = 2;
/// The reverse information element private enterprise number (RFC 5103 section 6.1).
pub const REVERSE_PEN: u32 = 29305;

/// Template of a one-direction IPv4 record.
pub const TEMPLATE_V4: u16 = 256;
/// Template of a one-direction IPv6 record.
pub const TEMPLATE_V6: u16 = 257;
/// Template of an IPv4 biflow record.
pub const TEMPLATE_BIFLOW_V4: u16 = 258;
/// Template of an IPv6 biflow record.
pub const TEMPLATE_BIFLOW_V6: u16 = 259;

/// Bytes of a [`TEMPLATE_V4`] record.
pub const RECORD_V4: usize = 40;
/// Bytes of a [`TEMPLATE_V6`] record.
pub const RECORD_V6: usize = 64;
/// Bytes of a [`TEMPLATE_BIFLOW_V4`] record.
pub const RECORD_BIFLOW_V4: usize = 58;
/// Bytes of a [`TEMPLATE_BIFLOW_V6`] record.
pub const RECORD_BIFLOW_V6: usize = 82;

/// IANA information element numbers used here.
pub mod ie {
    /// octetDeltaCount (unsigned64).
    pub const OCTET_DELTA_COUNT: u16 = 1;
    /// packetDeltaCount (unsigned64).
    pub const PACKET_DELTA_COUNT: u16 = 2;
    /// protocolIdentifier (unsigned8).
    pub const PROTOCOL_IDENTIFIER: u16 = 4;
    /// tcpControlBits (unsigned16, RFC 7125).
    pub const TCP_CONTROL_BITS: u16 = 6;
    /// sourceTransportPort (unsigned16).
    pub const SOURCE_TRANSPORT_PORT: u16 = 7;
    /// sourceIPv4Address.
    pub const SOURCE_IPV4_ADDRESS: u16 = 8;
    /// destinationTransportPort (unsigned16).
    pub const DESTINATION_TRANSPORT_PORT: u16 = 11;
    /// destinationIPv4Address.
    pub const DESTINATION_IPV4_ADDRESS: u16 = 12;
    /// sourceIPv6Address.
    pub const SOURCE_IPV6_ADDRESS: u16 = 27;
    /// destinationIPv6Address.
    pub const DESTINATION_IPV6_ADDRESS: u16 = 28;
    /// flowStartSeconds (dateTimeSeconds).
    pub const FLOW_START_SECONDS: u16 = 150;
    /// flowEndSeconds (dateTimeSeconds).
    pub const FLOW_END_SECONDS: u16 = 151;
    /// biflowDirection (unsigned8): 1 initiator, 2 reverseInitiator.
    pub const BIFLOW_DIRECTION: u16 = 239;
}

/// biflowDirection: the record's source opened the flow.
pub const DIRECTION_INITIATOR: u8 = 1;
/// biflowDirection: the record's destination opened the flow.
pub const DIRECTION_REVERSE_INITIATOR: u8 = 2;

/// tcpControlBits FIN, SYN and RST (RFC 7125).
pub const TCP_FIN: u16 = 0x01;
/// See [`TCP_FIN`].
pub const TCP_SYN: u16 = 0x02;
/// See [`TCP_FIN`].
pub const TCP_RST: u16 = 0x04;

/// IP header bytes counted per packet in octetDeltaCount: the fixed header only (options
/// and IPv6 extension headers are not reported by the device, so they are not in it).
pub const IPV4_HEADER: u64 = 20;
/// See [`IPV4_HEADER`].
pub const IPV6_HEADER: u64 = 40;

/// One field specifier of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Information element number.
    pub id: u16,
    /// Bytes in the record.
    pub length: u16,
    /// Enterprise number ([`REVERSE_PEN`] for reverse elements).
    pub enterprise: Option<u32>,
}

const fn iana(id: u16, length: u16) -> Field {
    Field {
        id,
        length,
        enterprise: None,
    }
}

const fn reverse(id: u16, length: u16) -> Field {
    Field {
        id,
        length,
        enterprise: Some(REVERSE_PEN),
    }
}

// The order of the fields is the order write_record writes them in.
const FIELDS_V4: [Field; 11] = [
    iana(ie::SOURCE_IPV4_ADDRESS, 4),
    iana(ie::DESTINATION_IPV4_ADDRESS, 4),
    iana(ie::SOURCE_TRANSPORT_PORT, 2),
    iana(ie::DESTINATION_TRANSPORT_PORT, 2),
    iana(ie::PROTOCOL_IDENTIFIER, 1),
    iana(ie::TCP_CONTROL_BITS, 2),
    iana(ie::BIFLOW_DIRECTION, 1),
    iana(ie::OCTET_DELTA_COUNT, 8),
    iana(ie::PACKET_DELTA_COUNT, 8),
    iana(ie::FLOW_START_SECONDS, 4),
    iana(ie::FLOW_END_SECONDS, 4),
];
const FIELDS_V6: [Field; 11] = [
    iana(ie::SOURCE_IPV6_ADDRESS, 16),
    iana(ie::DESTINATION_IPV6_ADDRESS, 16),
    iana(ie::SOURCE_TRANSPORT_PORT, 2),
    iana(ie::DESTINATION_TRANSPORT_PORT, 2),
    iana(ie::PROTOCOL_IDENTIFIER, 1),
    iana(ie::TCP_CONTROL_BITS, 2),
    iana(ie::BIFLOW_DIRECTION, 1),
    iana(ie::OCTET_DELTA_COUNT, 8),
    iana(ie::PACKET_DELTA_COUNT, 8),
    iana(ie::FLOW_START_SECONDS, 4),
    iana(ie::FLOW_END_SECONDS, 4),
];
const REVERSE_FIELDS: [Field; 3] = [
    reverse(ie::OCTET_DELTA_COUNT, 8),
    reverse(ie::PACKET_DELTA_COUNT, 8),
    reverse(ie::TCP_CONTROL_BITS, 2),
];

/// The field specifiers of a template (empty for an unknown ID).
pub fn template_fields(template: u16) -> Vec<Field> {
    match template {
        TEMPLATE_V4 => FIELDS_V4.to_vec(),
        TEMPLATE_V6 => FIELDS_V6.to_vec(),
        TEMPLATE_BIFLOW_V4 => [&FIELDS_V4[..], &REVERSE_FIELDS[..]].concat(),
        TEMPLATE_BIFLOW_V6 => [&FIELDS_V6[..], &REVERSE_FIELDS[..]].concat(),
        _ => Vec::new(),
    }
}

/// Bytes of one record of a template (the sum of its field lengths).
pub fn record_size(template: u16) -> usize {
    template_fields(template)
        .iter()
        .map(|f| usize::from(f.length))
        .sum()
}

/// The two addresses of a record, of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addresses {
    /// Source and destination IPv4.
    V4([u8; 4], [u8; 4]),
    /// Source and destination IPv6.
    V6([u8; 16], [u8; 16]),
}

/// The counters of the reverse direction of a biflow record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reverse {
    /// reverseOctetDeltaCount.
    pub octets: u64,
    /// reversePacketDeltaCount.
    pub packets: u64,
    /// reverseTcpControlBits.
    pub tcp_flags: u16,
}

/// One IPFIX data record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowRecord {
    /// Source and destination.
    pub addresses: Addresses,
    /// sourceTransportPort (0 for ICMP).
    pub source_port: u16,
    /// destinationTransportPort (0 for ICMP).
    pub destination_port: u16,
    /// protocolIdentifier: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6.
    pub protocol: u8,
    /// tcpControlBits of the forward direction.
    pub tcp_flags: u16,
    /// biflowDirection ([`DIRECTION_INITIATOR`] or [`DIRECTION_REVERSE_INITIATOR`]).
    pub direction: u8,
    /// octetDeltaCount: IP payload bytes plus the fixed IP header per packet.
    pub octets: u64,
    /// packetDeltaCount.
    pub packets: u64,
    /// flowStartSeconds: the start of the device's window.
    pub start: u32,
    /// flowEndSeconds: the end of the device's window.
    pub end: u32,
    /// The reverse direction, for a biflow record.
    pub reverse: Option<Reverse>,
}

impl FlowRecord {
    /// The template this record is written with.
    pub fn template(&self) -> u16 {
        match (self.addresses, self.reverse.is_some()) {
            (Addresses::V4(..), false) => TEMPLATE_V4,
            (Addresses::V6(..), false) => TEMPLATE_V6,
            (Addresses::V4(..), true) => TEMPLATE_BIFLOW_V4,
            (Addresses::V6(..), true) => TEMPLATE_BIFLOW_V6,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match &self.addresses {
            Addresses::V4(source, destination) => {
                out.extend_from_slice(source);
                out.extend_from_slice(destination);
            }
            Addresses::V6(source, destination) => {
                out.extend_from_slice(source);
                out.extend_from_slice(destination);
            }
        }
        out.extend_from_slice(&self.source_port.to_be_bytes());
        out.extend_from_slice(&self.destination_port.to_be_bytes());
        out.push(self.protocol);
        out.extend_from_slice(&self.tcp_flags.to_be_bytes());
        out.push(self.direction);
        out.extend_from_slice(&self.octets.to_be_bytes());
        out.extend_from_slice(&self.packets.to_be_bytes());
        out.extend_from_slice(&self.start.to_be_bytes());
        out.extend_from_slice(&self.end.to_be_bytes());
        if let Some(reverse) = &self.reverse {
            out.extend_from_slice(&reverse.octets.to_be_bytes());
            out.extend_from_slice(&reverse.packets.to_be_bytes());
            out.extend_from_slice(&reverse.tcp_flags.to_be_bytes());
        }
    }
}

/// tcpControlBits of a device flag set (SYN bit 0, FIN bit 1, RST bit 2).
pub fn tcp_bits(flags: nxsm_decode::FlagSet) -> u16 {
    let mut bits = 0;
    if flags.contains(nxsm_decode::FlagSet::SYN) {
        bits |= TCP_SYN;
    }
    if flags.contains(nxsm_decode::FlagSet::FIN) {
        bits |= TCP_FIN;
    }
    if flags.contains(nxsm_decode::FlagSet::RST) {
        bits |= TCP_RST;
    }
    bits
}

/// An address of either width, as the device reports it.
pub trait FlowAddress: Copy {
    /// The record's addresses, source first.
    fn pair(source: Self, destination: Self) -> Addresses;
    /// Fixed IP header bytes per packet.
    const HEADER: u64;
    /// protocolIdentifier of the device's "ICMP" (ICMPv6 on IPv6).
    const ICMP: u8;
}

impl FlowAddress for [u8; 4] {
    fn pair(source: Self, destination: Self) -> Addresses {
        Addresses::V4(source, destination)
    }
    const HEADER: u64 = IPV4_HEADER;
    const ICMP: u8 = 1;
}

impl FlowAddress for [u8; 16] {
    fn pair(source: Self, destination: Self) -> Addresses {
        Addresses::V6(source, destination)
    }
    const HEADER: u64 = IPV6_HEADER;
    const ICMP: u8 = 58;
}

/// octetDeltaCount of `packets` packets carrying `payload` IP payload bytes.
pub fn octets<A: FlowAddress>(payload: u32, packets: u32) -> u64 {
    u64::from(payload) + u64::from(packets) * A::HEADER
}

/// The records of one device flow: `local` is its resolved device-side address, `time` the
/// message time and `duration_s` the window length.
///
/// One direction per record by default: outbound (local to remote, the sent counters and
/// flags) and inbound (remote to local, the received ones), a direction with no packet left
/// out. With `biflow`, one RFC 5103 record whose source is the initiator and whose reverse
/// elements carry the other direction. `None` flows (invalid protocol or initiator, which
/// a validated message never holds) give no record.
pub fn flow_records<A: FlowAddress>(
    local: A,
    flow: &Flow<A>,
    time: u32,
    duration_s: u32,
    biflow: bool,
) -> Vec<FlowRecord> {
    let Some(protocol) = flow.protocol() else {
        return Vec::new();
    };
    let protocol = match protocol {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Icmp => A::ICMP,
    };
    let local_opened = match flow.initiator {
        INITIATOR_LOCAL => true,
        INITIATOR_REMOTE => false,
        _ => return Vec::new(),
    };
    let start = time.saturating_sub(duration_s);
    let out = (
        octets::<A>(flow.bytes_out, flow.packets_out),
        u64::from(flow.packets_out),
        tcp_bits(flow.flags_out()),
    );
    let inn = (
        octets::<A>(flow.bytes_in, flow.packets_in),
        u64::from(flow.packets_in),
        tcp_bits(flow.flags_in()),
    );
    let outbound = |counters: (u64, u64, u16), direction| FlowRecord {
        addresses: A::pair(local, flow.remote),
        source_port: flow.local_port,
        destination_port: flow.remote_port,
        protocol,
        tcp_flags: counters.2,
        direction,
        octets: counters.0,
        packets: counters.1,
        start,
        end: time,
        reverse: None,
    };
    let inbound = |counters: (u64, u64, u16), direction| FlowRecord {
        addresses: A::pair(flow.remote, local),
        source_port: flow.remote_port,
        destination_port: flow.local_port,
        ..outbound(counters, direction)
    };
    let (out_direction, in_direction) = if local_opened {
        (DIRECTION_INITIATOR, DIRECTION_REVERSE_INITIATOR)
    } else {
        (DIRECTION_REVERSE_INITIATOR, DIRECTION_INITIATOR)
    };
    if biflow {
        if flow.packets_in == 0 && flow.packets_out == 0 {
            return Vec::new();
        }
        let (forward, back) = if local_opened { (out, inn) } else { (inn, out) };
        let mut record = if local_opened {
            outbound(forward, DIRECTION_INITIATOR)
        } else {
            inbound(forward, DIRECTION_INITIATOR)
        };
        record.reverse = Some(Reverse {
            octets: back.0,
            packets: back.1,
            tcp_flags: back.2,
        });
        return vec![record];
    }
    let mut records = Vec::with_capacity(2);
    if flow.packets_out > 0 {
        records.push(outbound(out, out_direction));
    }
    if flow.packets_in > 0 {
        records.push(inbound(inn, in_direction));
    }
    records
}

/// Builds IPFIX messages: header, sets, records; counts the data records of its
/// observation domain for the header's sequence number.
#[derive(Clone, Debug)]
pub struct Encoder {
    domain: u32,
    sequence: u32,
    max_message: usize,
}

/// The smallest message bound accepted: a header, a set header and the largest record.
pub const MIN_MESSAGE: usize = MESSAGE_HEADER + SET_HEADER + RECORD_BIFLOW_V6;
/// The default bound: one unfragmented datagram on a 1500-byte Ethernet path (1500 minus
/// the IPv6 and UDP headers).
pub const DEFAULT_MESSAGE: usize = 1452;

impl Encoder {
    /// An encoder for observation domain `domain`, each message at most `max_message`
    /// bytes (clamped to `MIN_MESSAGE..=65535`, the header's length field).
    pub fn new(domain: u32, max_message: usize) -> Self {
        Encoder {
            domain,
            sequence: 0,
            max_message: max_message.clamp(MIN_MESSAGE, usize::from(u16::MAX)),
        }
    }

    /// Data records sent so far (modulo 2^32): the next message's sequence number.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    fn header(&self, out: &mut Vec<u8>, export_time: u32) {
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // length, set by finish()
        out.extend_from_slice(&export_time.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.domain.to_be_bytes());
    }

    fn finish(out: &mut [u8]) {
        // Both callers keep the message within max_message <= 65535.
        let length = u16::try_from(out.len()).unwrap_or(u16::MAX);
        out[2..4].copy_from_slice(&length.to_be_bytes());
    }

    /// A message holding one template set with the given templates.
    pub fn templates(&self, templates: &[u16], export_time: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(MESSAGE_HEADER + 256);
        self.header(&mut out, export_time);
        let set_start = out.len();
        out.extend_from_slice(&TEMPLATE_SET_ID.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        for &template in templates {
            let fields = template_fields(template);
            if fields.is_empty() {
                continue;
            }
            out.extend_from_slice(&template.to_be_bytes());
            // At most 14 fields: always fits.
            out.extend_from_slice(&(fields.len() as u16).to_be_bytes());
            for field in fields {
                match field.enterprise {
                    None => out.extend_from_slice(&field.id.to_be_bytes()),
                    Some(_) => out.extend_from_slice(&(field.id | 0x8000).to_be_bytes()),
                }
                out.extend_from_slice(&field.length.to_be_bytes());
                if let Some(pen) = field.enterprise {
                    out.extend_from_slice(&pen.to_be_bytes());
                }
            }
        }
        let set_length = (out.len() - set_start) as u16;
        out[set_start + 2..set_start + 4].copy_from_slice(&set_length.to_be_bytes());
        Self::finish(&mut out);
        out
    }

    /// The messages carrying `records`: records of one template go into one data set,
    /// several sets share a message while it stays within the bound.
    pub fn data(&mut self, records: &[FlowRecord], export_time: u32) -> Vec<Vec<u8>> {
        let mut messages = Vec::new();
        let mut sorted: Vec<&FlowRecord> = records.iter().collect();
        sorted.sort_by_key(|r| r.template());
        let mut message: Vec<u8> = Vec::new();
        let mut in_message = 0u32;
        let mut set_start: Option<(usize, u16)> = None;
        for record in sorted {
            let template = record.template();
            let size = record_size(template);
            let same_set = matches!(set_start, Some((_, t)) if t == template);
            let needed = size + if same_set { 0 } else { SET_HEADER };
            if !message.is_empty() && message.len() + needed > self.max_message {
                Self::close_set(&mut message, set_start.take());
                Self::finish(&mut message);
                messages.push(std::mem::take(&mut message));
                self.sequence = self.sequence.wrapping_add(in_message);
                in_message = 0;
            }
            if message.is_empty() {
                self.header(&mut message, export_time);
            }
            if !matches!(set_start, Some((_, t)) if t == template) {
                Self::close_set(&mut message, set_start.take());
                set_start = Some((message.len(), template));
                message.extend_from_slice(&template.to_be_bytes());
                message.extend_from_slice(&[0, 0]);
            }
            record.write(&mut message);
            in_message += 1;
        }
        if !message.is_empty() {
            Self::close_set(&mut message, set_start.take());
            Self::finish(&mut message);
            messages.push(message);
            self.sequence = self.sequence.wrapping_add(in_message);
        }
        messages
    }

    fn close_set(message: &mut [u8], set: Option<(usize, u16)>) {
        if let Some((start, _)) = set {
            let length = u16::try_from(message.len() - start).unwrap_or(u16::MAX);
            message[start + 2..start + 4].copy_from_slice(&length.to_be_bytes());
        }
    }
}

/// What the exporter has sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportCounters {
    /// IPFIX messages sent (templates included).
    pub messages: u64,
    /// Data records sent.
    pub records: u64,
    /// Template messages sent.
    pub template_messages: u64,
    /// Datagrams the socket refused (the collector's port closed, buffer full, ...).
    pub send_errors: u64,
}

/// Sends IPFIX over UDP to one collector.
#[derive(Debug)]
pub struct Exporter {
    socket: UdpSocket,
    encoder: Encoder,
    templates: Vec<u16>,
    template_interval: Duration,
    last_templates: Option<Instant>,
    counters: ExportCounters,
}

impl Exporter {
    /// A socket connected to `collector`; `biflow` chooses the biflow templates.
    pub fn new(
        collector: SocketAddr,
        domain: u32,
        biflow: bool,
        template_interval: Duration,
    ) -> io::Result<Self> {
        let bind: SocketAddr = if collector.is_ipv4() {
            "0.0.0.0:0".parse().map_err(io::Error::other)?
        } else {
            "[::]:0".parse().map_err(io::Error::other)?
        };
        let socket = UdpSocket::bind(bind)?;
        socket.connect(collector)?;
        let templates = if biflow {
            vec![TEMPLATE_BIFLOW_V4, TEMPLATE_BIFLOW_V6]
        } else {
            vec![TEMPLATE_V4, TEMPLATE_V6]
        };
        Ok(Exporter {
            socket,
            encoder: Encoder::new(domain, DEFAULT_MESSAGE),
            templates,
            template_interval,
            last_templates: None,
            counters: ExportCounters::default(),
        })
    }

    /// What was sent so far.
    pub fn counters(&self) -> ExportCounters {
        self.counters
    }

    fn send(&mut self, message: &[u8]) {
        self.counters.messages += 1;
        if self.socket.send(message).is_err() {
            self.counters.send_errors += 1;
        }
    }

    /// Sends the templates if they were never sent or the interval has passed.
    pub fn refresh_templates(&mut self, export_time: u32) {
        let due = self
            .last_templates
            .is_none_or(|at| at.elapsed() >= self.template_interval);
        if due {
            let message = self.encoder.templates(&self.templates, export_time);
            self.send(&message);
            self.counters.template_messages += 1;
            self.last_templates = Some(Instant::now());
        }
    }

    /// Sends `records` (templates first when due).
    pub fn export(&mut self, records: &[FlowRecord], export_time: u32) {
        if records.is_empty() {
            return;
        }
        self.refresh_templates(export_time);
        for message in self.encoder.data(records, export_time) {
            self.send(&message);
        }
        self.counters.records += records.len() as u64;
    }
}

#[cfg(test)]
mod tests;
