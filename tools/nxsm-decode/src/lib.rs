//! # nxsm-decode
//!
//! Reference reader of the security messages built by nx-security-module, wire format 3 (and
//! 2) as specified in `docs/wire-format.md` (the contract; this crate follows that page, not
//! the writer's source).
//!
//! - [`decode`] turns the bytes of one message into an owned, validated [`Message`]: postcard
//!   decoding plus every rule the page states (format 3 or 2, module `"nxsm"`, events in order
//!   and at most one of each kind, alerts, baselines, inventories, findings and audit records
//!   alone in their message, local indices in range, protocol 3 invalid, no flag bits outside
//!   TCP, alerts with a known kind, protocol and initiator and rule 0 unless an indicator,
//!   baseline lists strictly ascending with at most [`MAX_BASELINE_ENTRIES`] entries and no
//!   port 0, known socket, finding, reason, category and audit kinds, no trailing bytes, ...).
//!   It never panics; every failure is a [`DecodeError`].
//! - [`to_json`] gives a readable JSON view: addresses as text, protocols and TCP flags by
//!   name, the window's start and end, local addresses resolved.
//! - [`encode`] writes a [`Message`] back (tests and tools use it to build inputs).
//!
//! The `nxsm-decode` binary prints messages given as raw bytes or hex lines as JSON, and has a
//! `--replay` mode for `scripts/replay` (one line or table row per flow, alert, finding and
//! audit record, a line or block per baseline and inventory);
//! `nxsm-decode --help`
//! lists the options.
//!
//! ```
//! // format 3, "nxsm", version 0, sequence 7, time 0, one event: a heartbeat of zeros.
//! let line = "03 046e78736d 00 07 00 01 02 00000000000000000000000000000000000000";
//! let bytes = nxsm_decode::hex::parse_line(line).unwrap();
//! let message = nxsm_decode::decode(&bytes).unwrap();
//! assert_eq!(message.sequence, 7);
//! assert_eq!(nxsm_decode::to_json(&message)["events"][0]["event"], "heartbeat");
//! assert!(nxsm_decode::decode(&bytes[..bytes.len() - 1]).is_err());
//! ```

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

mod audit;
mod findings;
pub mod hex;
mod inventory;
mod json;
pub mod replay;

pub use audit::{AuditCategory, AuditKind, AuditRecord};
pub use findings::{Finding, FindingHead, FindingKind, RiskyReason, RiskyService};
pub use inventory::{Connection, Inventory, Socket, SocketKind};
pub use json::{
    alert_json, audit_json, baseline_json, event_json, finding_json, flow_json, inventory_json,
    socket_json, to_json,
};

/// The wire format version this reader follows (`docs/wire-format.md`).
pub const FORMAT: u8 = 3;
/// The oldest format it also reads: version 2 is version 3 without events 5 to 7 (and
/// without collector bit 3).
pub const OLDEST_FORMAT: u8 = 2;
/// The module id every message carries.
pub const MODULE: &str = "nxsm";
/// Most local addresses of one IP version in one message.
pub const MAX_LOCALS: usize = 8;
/// Most entries of one list of a baseline event: the largest `NXSM_BASELINE_ENTRIES` a
/// build accepts.
pub const MAX_BASELINE_ENTRIES: usize = 64;

/// One security message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Wire format version ([`FORMAT`], or [`OLDEST_FORMAT`] and up).
    pub format: u8,
    /// Module id ([`MODULE`]).
    pub module: String,
    /// Library version, `major << 24 | minor << 16 | patch`.
    pub module_version: u32,
    /// Message number on the device (+1 per message, wrapping).
    pub sequence: u32,
    /// Unix seconds when the message was built.
    pub time: u32,
    /// At least one event, in the order of their variant numbers: network activity, system
    /// information, heartbeat, or one of alerts, baseline, inventory, findings, audit alone.
    pub events: Vec<Event>,
}

/// One event of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Event {
    /// Variant 0: one window of flows (or one part of it).
    NetworkActivity(NetworkActivity),
    /// Variant 1: the module's build and settings.
    SystemInformation(SystemInformation),
    /// Variant 2: the module's health counters.
    Heartbeat(Heartbeat),
    /// Variant 3: what the detection policy caught (at least one alert).
    Alerts(Vec<Alert>),
    /// Variant 4: what learn mode recorded.
    Baseline(Baseline),
    /// Variant 5 (format 3): the sockets the device exposes (or one part of them).
    Inventory(Inventory),
    /// Variant 6 (format 3): weaknesses of the set-up that started or ended (at least one).
    Findings(Vec<Finding>),
    /// Variant 7 (format 3): records of the security event log (at least one).
    Audit(Vec<AuditRecord>),
}

/// The kinds of [`Event`], in their wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// [`Event::NetworkActivity`].
    NetworkActivity,
    /// [`Event::SystemInformation`].
    SystemInformation,
    /// [`Event::Heartbeat`].
    Heartbeat,
    /// [`Event::Alerts`].
    Alerts,
    /// [`Event::Baseline`].
    Baseline,
    /// [`Event::Inventory`].
    Inventory,
    /// [`Event::Findings`].
    Findings,
    /// [`Event::Audit`].
    Audit,
}

impl EventKind {
    /// The name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::NetworkActivity => "network_activity",
            EventKind::SystemInformation => "system_information",
            EventKind::Heartbeat => "heartbeat",
            EventKind::Alerts => "alerts",
            EventKind::Baseline => "baseline",
            EventKind::Inventory => "inventory",
            EventKind::Findings => "findings",
            EventKind::Audit => "audit",
        }
    }

    /// The wire variant number.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The oldest format this reader reads this event in (inventory, findings and audit came
    /// with format 3).
    pub fn since_format(self) -> u8 {
        if self >= EventKind::Inventory {
            3
        } else {
            2
        }
    }

    /// Whether this event travels in a message of its own.
    pub fn alone(self) -> bool {
        self >= EventKind::Alerts
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Event {
    /// Which kind of event this is.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::NetworkActivity(_) => EventKind::NetworkActivity,
            Event::SystemInformation(_) => EventKind::SystemInformation,
            Event::Heartbeat(_) => EventKind::Heartbeat,
            Event::Alerts(_) => EventKind::Alerts,
            Event::Baseline(_) => EventKind::Baseline,
            Event::Inventory(_) => EventKind::Inventory,
            Event::Findings(_) => EventKind::Findings,
            Event::Audit(_) => EventKind::Audit,
        }
    }
}

/// One window of flows, or one part of a window split over several messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkActivity {
    /// Window length in seconds: the window runs from `time - duration_s` to `time`.
    pub duration_s: u32,
    /// 0 for the first message of the window, then 1, 2, ...
    pub part: u16,
    /// The window goes on in the next message.
    pub more: bool,
    /// Device-side IPv4 addresses that `v4_flows` use.
    pub v4_locals: Vec<[u8; 4]>,
    /// IPv4 flows.
    pub v4_flows: Vec<FlowV4>,
    /// Device-side IPv6 addresses that `v6_flows` use.
    pub v6_locals: Vec<[u8; 16]>,
    /// IPv6 flows.
    pub v6_flows: Vec<FlowV6>,
}

/// One flow; `A` is the address (`[u8; 4]` or `[u8; 16]`, wire octet order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow<A> {
    /// Index of the device-side address in the locals of the same IP version.
    pub local: u8,
    /// Peer address.
    pub remote: A,
    /// Device-side port (0 for ICMP).
    #[serde(with = "be16")]
    pub local_port: u16,
    /// Peer port (0 for ICMP).
    #[serde(with = "be16")]
    pub remote_port: u16,
    /// Protocol (bits 0-1), received TCP flags (bits 2-4), sent TCP flags (bits 5-7).
    pub kind: u8,
    /// Who opened the flow: 0 the device ([`INITIATOR_LOCAL`]), 1 the peer
    /// ([`INITIATOR_REMOTE`]).
    pub initiator: u8,
    /// IP payload bytes received (saturating).
    pub bytes_in: u32,
    /// IP payload bytes sent (saturating).
    pub bytes_out: u32,
    /// Packets received (saturating).
    pub packets_in: u32,
    /// Packets sent (saturating).
    pub packets_out: u32,
}

/// An IPv4 flow.
pub type FlowV4 = Flow<[u8; 4]>;
/// An IPv6 flow.
pub type FlowV6 = Flow<[u8; 16]>;

/// Transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (0).
    Tcp,
    /// UDP (1).
    Udp,
    /// ICMP or ICMPv6 (2).
    Icmp,
}

impl Protocol {
    /// The protocol of bits 0-1 of a `kind` byte (`None` for the invalid value 3).
    pub fn from_kind(kind: u8) -> Option<Self> {
        match kind & 0b11 {
            0 => Some(Protocol::Tcp),
            1 => Some(Protocol::Udp),
            2 => Some(Protocol::Icmp),
            _ => None,
        }
    }

    /// The value of bits 0-1 of a `kind` byte.
    pub fn bits(self) -> u8 {
        match self {
            Protocol::Tcp => 0,
            Protocol::Udp => 1,
            Protocol::Icmp => 2,
        }
    }

    /// Lower-case name: `tcp`, `udp`, `icmp`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The TCP flags a flow reports for one direction: a set of SYN, FIN and RST.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlagSet(u8);

impl FlagSet {
    /// SYN.
    pub const SYN: FlagSet = FlagSet(0b001);
    /// FIN.
    pub const FIN: FlagSet = FlagSet(0b010);
    /// RST.
    pub const RST: FlagSet = FlagSet(0b100);
    /// No flag.
    pub const EMPTY: FlagSet = FlagSet(0);

    /// The set from its three bits (SYN bit 0, FIN bit 1, RST bit 2); higher bits are dropped.
    pub fn from_bits(bits: u8) -> Self {
        FlagSet(bits & 0b111)
    }

    /// The three bits (SYN bit 0, FIN bit 1, RST bit 2).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Both sets together.
    pub fn union(self, other: FlagSet) -> FlagSet {
        FlagSet(self.0 | other.0)
    }

    /// Whether every flag of `other` is in this set.
    pub fn contains(self, other: FlagSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the flags present, in the order SYN, FIN, RST.
    pub fn names(self) -> Vec<&'static str> {
        [
            (FlagSet::SYN, "SYN"),
            (FlagSet::FIN, "FIN"),
            (FlagSet::RST, "RST"),
        ]
        .into_iter()
        .filter(|(flag, _)| self.contains(*flag))
        .map(|(_, name)| name)
        .collect()
    }
}

impl<A> Flow<A> {
    /// The protocol (`None` when bits 0-1 hold the invalid value 3).
    pub fn protocol(&self) -> Option<Protocol> {
        Protocol::from_kind(self.kind)
    }

    /// TCP flags seen on received segments (bits 2-4).
    pub fn flags_in(&self) -> FlagSet {
        FlagSet::from_bits(self.kind >> 2)
    }

    /// TCP flags seen on sent segments (bits 5-7).
    pub fn flags_out(&self) -> FlagSet {
        FlagSet::from_bits(self.kind >> 5)
    }

    /// Who opened the flow: `"local"` (the device) or `"remote"` (`None` for another value).
    pub fn initiator_name(&self) -> Option<&'static str> {
        match self.initiator {
            INITIATOR_LOCAL => Some("local"),
            INITIATOR_REMOTE => Some("remote"),
            _ => None,
        }
    }
}

/// `Flow::initiator` of a flow the device opened.
pub const INITIATOR_LOCAL: u8 = 0;
/// `Flow::initiator` of a flow the peer opened.
pub const INITIATOR_REMOTE: u8 = 1;

/// The `kind` byte of a flow.
pub fn kind_byte(protocol: Protocol, flags_in: FlagSet, flags_out: FlagSet) -> u8 {
    protocol.bits() | flags_in.bits() << 2 | flags_out.bits() << 5
}

/// The module's build and settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInformation {
    /// ThreadX version major, minor, patch (0.0.0 when not told).
    pub threadx: [u8; 3],
    /// NetX Duo version major, minor, patch (0.0.0 when not told).
    pub netx: [u8; 3],
    /// Library version, packed as in the message header.
    pub module_version: u32,
    /// IPv4 flow slots per window.
    pub max_flows_v4: u16,
    /// IPv6 flow slots per window.
    pub max_flows_v6: u16,
    /// Capture ring records.
    pub ring_slots: u16,
    /// Outbox byte budget.
    pub outbox_bytes: u32,
    /// Largest message.
    pub max_message_bytes: u32,
    /// High, medium and low group intervals, seconds.
    pub intervals_s: [u32; 3],
    /// Enabled collectors: bit 0 network activity, 1 system information, 2 heartbeat, 3
    /// inventory (format 3).
    pub collectors: u8,
    /// 0 unicast only (transport dispatch), 1 IP input.
    pub capture_mode: u8,
}

/// The module's health counters (since boot, saturating; the packet counters are 64-bit).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Seconds since the module was last started.
    pub uptime_s: u32,
    /// Packets the hooks handed to the module while it captured.
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
    /// Send attempts that failed.
    pub messages_failed: u32,
    /// Messages dropped unsent.
    pub messages_dropped: u32,
    /// Messages waiting in the outbox when this one was built.
    pub outbox_messages: u16,
    /// Bytes they occupy.
    pub outbox_used_bytes: u32,
    /// Most bytes ever waiting at once.
    pub outbox_peak_bytes: u32,
    /// Polls made while the device had no time.
    pub clock_unavailable: u32,
    /// Polls whose time was earlier than the previous one (the clock was set back).
    pub clock_steps_back: u32,
    /// Collections part of whose messages waited in the device's flow table for outbox room.
    pub collections_waited: u32,
    /// Alerts put into messages for the hub.
    pub alerts_sent: u32,
    /// Alerts not raised because their window had reached its limit.
    pub alerts_suppressed: u32,
    /// Packets the hooks dropped because a block rule of the policy matched.
    pub packets_blocked: u64,
}

/// One alert (section 3.4): the variant number is the rule that was broken.
///
/// On the wire: the variant number as a varint, then the [`AlertHead`], then the
/// [`AlertFlow`] or the [`ConnectionCount`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Alert {
    /// Variant 0: the remote address is in an indicator range (`rule`: the range's source,
    /// 0 the policy's own list, *i* its *i*-th feed).
    Indicator(AlertHead, AlertFlow),
    /// Variant 1: a flow the device opened, to a remote outside the outbound allow list.
    OutboundNotAllowed(AlertHead, AlertFlow),
    /// Variant 2: a flow the peer opened, to a local port outside the inbound allow list.
    InboundPortNotAllowed(AlertHead, AlertFlow),
    /// Variant 3: the window held more (or fewer) flows than the rule allows.
    ConnectionsOutOfRange(AlertHead, ConnectionCount),
}

/// The kinds of [`Alert`], in their wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// [`Alert::Indicator`].
    Indicator,
    /// [`Alert::OutboundNotAllowed`].
    OutboundNotAllowed,
    /// [`Alert::InboundPortNotAllowed`].
    InboundPortNotAllowed,
    /// [`Alert::ConnectionsOutOfRange`].
    ConnectionsOutOfRange,
}

impl AlertKind {
    /// The name used in JSON and replay output.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::Indicator => "indicator",
            AlertKind::OutboundNotAllowed => "outbound_not_allowed",
            AlertKind::InboundPortNotAllowed => "inbound_port_not_allowed",
            AlertKind::ConnectionsOutOfRange => "connections_out_of_range",
        }
    }

    /// The wire variant number.
    pub fn number(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Alert {
    /// Which rule was broken.
    pub fn kind(&self) -> AlertKind {
        match self {
            Alert::Indicator(..) => AlertKind::Indicator,
            Alert::OutboundNotAllowed(..) => AlertKind::OutboundNotAllowed,
            Alert::InboundPortNotAllowed(..) => AlertKind::InboundPortNotAllowed,
            Alert::ConnectionsOutOfRange(..) => AlertKind::ConnectionsOutOfRange,
        }
    }

    /// The fields every alert starts with.
    pub fn head(&self) -> &AlertHead {
        match self {
            Alert::Indicator(head, _)
            | Alert::OutboundNotAllowed(head, _)
            | Alert::InboundPortNotAllowed(head, _)
            | Alert::ConnectionsOutOfRange(head, _) => head,
        }
    }

    /// The flow, for the three flow kinds.
    pub fn flow(&self) -> Option<&AlertFlow> {
        match self {
            Alert::Indicator(_, flow)
            | Alert::OutboundNotAllowed(_, flow)
            | Alert::InboundPortNotAllowed(_, flow) => Some(flow),
            Alert::ConnectionsOutOfRange(..) => None,
        }
    }

    /// The connection count, for [`Alert::ConnectionsOutOfRange`].
    pub fn connections(&self) -> Option<&ConnectionCount> {
        match self {
            Alert::ConnectionsOutOfRange(_, count) => Some(count),
            _ => None,
        }
    }
}

/// The fields every alert starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertHead {
    /// Unix seconds when the alert was raised (a flow: when it entered the flow table; a
    /// count: when its window closed).
    pub time: u32,
    /// CRC-32 of the policy blob that raised it.
    pub policy: u32,
    /// The indicator's source for [`Alert::Indicator`], 0 otherwise.
    pub rule: u32,
}

/// The flow an alert is about: variant 0 IPv4, variant 1 IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AlertFlow {
    /// Variant 0: an IPv4 flow.
    V4 {
        /// Device-side address, wire octet order.
        local: [u8; 4],
        /// Device-side port (0 for ICMP).
        #[serde(with = "be16")]
        local_port: u16,
        /// Peer address.
        remote: [u8; 4],
        /// Peer port (0 for ICMP).
        #[serde(with = "be16")]
        remote_port: u16,
        /// 0 TCP, 1 UDP, 2 ICMP (3 and above are invalid).
        protocol: u8,
        /// 0 the device ([`INITIATOR_LOCAL`]), 1 the peer ([`INITIATOR_REMOTE`]).
        initiator: u8,
    },
    /// Variant 1: an IPv6 flow.
    V6 {
        /// Device-side address, wire octet order.
        local: [u8; 16],
        /// Device-side port (0 for ICMP).
        #[serde(with = "be16")]
        local_port: u16,
        /// Peer address.
        remote: [u8; 16],
        /// Peer port (0 for ICMP).
        #[serde(with = "be16")]
        remote_port: u16,
        /// 0 TCP, 1 UDP, 2 ICMP (3 and above are invalid).
        protocol: u8,
        /// 0 the device ([`INITIATOR_LOCAL`]), 1 the peer ([`INITIATOR_REMOTE`]).
        initiator: u8,
    },
}

impl AlertFlow {
    /// 4 or 6.
    pub fn ip(&self) -> u8 {
        match self {
            AlertFlow::V4 { .. } => 4,
            AlertFlow::V6 { .. } => 6,
        }
    }

    /// The device-side address as text.
    pub fn local_text(&self) -> String {
        match self {
            AlertFlow::V4 { local, .. } => json::AddressText::text(local),
            AlertFlow::V6 { local, .. } => json::AddressText::text(local),
        }
    }

    /// The peer address as text.
    pub fn remote_text(&self) -> String {
        match self {
            AlertFlow::V4 { remote, .. } => json::AddressText::text(remote),
            AlertFlow::V6 { remote, .. } => json::AddressText::text(remote),
        }
    }

    /// Device-side port.
    pub fn local_port(&self) -> u16 {
        match *self {
            AlertFlow::V4 { local_port, .. } | AlertFlow::V6 { local_port, .. } => local_port,
        }
    }

    /// Peer port.
    pub fn remote_port(&self) -> u16 {
        match *self {
            AlertFlow::V4 { remote_port, .. } | AlertFlow::V6 { remote_port, .. } => remote_port,
        }
    }

    /// The protocol byte as written (0 TCP, 1 UDP, 2 ICMP).
    pub fn protocol_byte(&self) -> u8 {
        match *self {
            AlertFlow::V4 { protocol, .. } | AlertFlow::V6 { protocol, .. } => protocol,
        }
    }

    /// The protocol (`None` for a value of 3 or more).
    pub fn protocol(&self) -> Option<Protocol> {
        match self.protocol_byte() {
            byte @ 0..=2 => Protocol::from_kind(byte),
            _ => None,
        }
    }

    /// The initiator byte as written (0 the device, 1 the peer).
    pub fn initiator(&self) -> u8 {
        match *self {
            AlertFlow::V4 { initiator, .. } | AlertFlow::V6 { initiator, .. } => initiator,
        }
    }

    /// Who opened the flow: `"local"` (the device) or `"remote"` (`None` for another value).
    pub fn initiator_name(&self) -> Option<&'static str> {
        match self.initiator() {
            INITIATOR_LOCAL => Some("local"),
            INITIATOR_REMOTE => Some("remote"),
            _ => None,
        }
    }
}

/// The flow count of a window, and the range the rule allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCount {
    /// Flows the window held, plus the packets of new flows the full table refused.
    pub active: u32,
    /// Fewest flows the rule allows.
    pub min: u32,
    /// Most flows the rule allows.
    pub max: u32,
}

/// What learn mode recorded (section 3.5): the remote prefixes the device opened flows to
/// and the local ports peers opened flows to, each list sorted ascending.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Unix seconds when learning started.
    pub started: u32,
    /// How long it learned.
    pub duration_s: u32,
    /// The learned lists became the active policy's allow lists.
    pub applied: bool,
    /// CRC-32 of the policy active now (0 when none is).
    pub policy: u32,
    /// Entries not kept because their list was full.
    pub overflow: u32,
    /// IPv4 /24 networks: their first three octets.
    pub v4_prefixes: Vec<[u8; 3]>,
    /// IPv6 /64 networks: their first eight octets.
    pub v6_prefixes: Vec<[u8; 8]>,
    /// Local TCP ports peers opened flows to.
    #[serde(with = "be16_list")]
    pub tcp_ports: Vec<u16>,
    /// Local UDP ports peers opened flows to.
    #[serde(with = "be16_list")]
    pub udp_ports: Vec<u16>,
}

impl Baseline {
    /// When learning ended: `started + duration_s` (wider than `u32`, so it never wraps).
    pub fn end(&self) -> u64 {
        u64::from(self.started) + u64::from(self.duration_s)
    }

    /// The IPv4 networks as CIDR text (`203.0.113.0/24`).
    pub fn v4_cidrs(&self) -> Vec<String> {
        self.v4_prefixes
            .iter()
            .map(|&[a, b, c]| format!("{}/24", std::net::Ipv4Addr::new(a, b, c, 0)))
            .collect()
    }

    /// The IPv6 networks as CIDR text (`2001:db8:0:1::/64`).
    pub fn v6_cidrs(&self) -> Vec<String> {
        self.v6_prefixes
            .iter()
            .map(|prefix| {
                let mut octets = [0u8; 16];
                octets[..8].copy_from_slice(prefix);
                format!("{}/64", std::net::Ipv6Addr::from(octets))
            })
            .collect()
    }

    /// Every network as CIDR text, IPv4 first: the outbound allow list it makes.
    pub fn outbound_cidrs(&self) -> Vec<String> {
        let mut cidrs = self.v4_cidrs();
        cidrs.extend(self.v6_cidrs());
        cidrs
    }
}

/// The lists of a [`Baseline`], for error reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineList {
    /// `v4_prefixes`.
    V4Prefixes,
    /// `v6_prefixes`.
    V6Prefixes,
    /// `tcp_ports`.
    TcpPorts,
    /// `udp_ports`.
    UdpPorts,
}

impl BaselineList {
    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            BaselineList::V4Prefixes => "v4_prefixes",
            BaselineList::V6Prefixes => "v6_prefixes",
            BaselineList::TcpPorts => "tcp_ports",
            BaselineList::UdpPorts => "udp_ports",
        }
    }
}

impl fmt::Display for BaselineList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A list of ports: a `seq` of [`be16`] values.
mod be16_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &[u16], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(value.iter().map(|port| port.to_be_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u16>, D::Error> {
        <Vec<[u8; 2]>>::deserialize(deserializer)
            .map(|ports| ports.into_iter().map(u16::from_be_bytes).collect())
    }
}

/// Ports travel as two big-endian bytes, not as a varint.
pub(crate) mod be16 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &u16, serializer: S) -> Result<S::Ok, S::Error> {
        value.to_be_bytes().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
        <[u8; 2]>::deserialize(deserializer).map(u16::from_be_bytes)
    }
}

/// An enum variant number this reader does not know, and whose enum it belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unknown {
    Event(u32),
    Alert(u32),
    AlertFlow(u32),
    Socket(u32),
    Connection(u32),
    Finding(u32),
}

impl Unknown {
    fn error(self) -> DecodeError {
        match self {
            Unknown::Event(n) => DecodeError::UnknownEvent(n),
            Unknown::Alert(n) => DecodeError::UnknownAlertKind(n),
            Unknown::AlertFlow(n) => DecodeError::UnknownAlertIp(n),
            Unknown::Socket(n) => DecodeError::UnknownSocket(n),
            Unknown::Connection(n) => DecodeError::UnknownConnectionIp(n),
            Unknown::Finding(n) => DecodeError::UnknownFinding(n),
        }
    }

    /// Records the number for [`decode`] and returns the custom error postcard carries.
    pub(crate) fn raise<E: de::Error>(self) -> E {
        UNKNOWN_VARIANT.with(|cell| cell.set(Some(self)));
        E::custom(self.error())
    }
}

thread_local! {
    /// The last unknown variant number met while decoding on this thread (postcard keeps
    /// no text of a custom error, so the number is handed over here).
    static UNKNOWN_VARIANT: Cell<Option<Unknown>> = const { Cell::new(None) };
}

const EVENT_VARIANTS: &[&str] = &[
    "NetworkActivity",
    "SystemInformation",
    "Heartbeat",
    "Alerts",
    "Baseline",
    "Inventory",
    "Findings",
    "Audit",
];

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("Event", EVENT_VARIANTS, EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event: variant 0 to 7")
    }

    fn visit_enum<E: EnumAccess<'de>>(self, data: E) -> Result<Event, E::Error> {
        let (number, payload): (u32, _) = data.variant()?;
        match number {
            0 => payload.newtype_variant().map(Event::NetworkActivity),
            1 => payload.newtype_variant().map(Event::SystemInformation),
            2 => payload.newtype_variant().map(Event::Heartbeat),
            3 => payload.newtype_variant().map(Event::Alerts),
            4 => payload.newtype_variant().map(Event::Baseline),
            5 => payload.newtype_variant().map(Event::Inventory),
            6 => payload.newtype_variant().map(Event::Findings),
            7 => payload.newtype_variant().map(Event::Audit),
            other => Err(Unknown::Event(other).raise()),
        }
    }
}

const ALERT_VARIANTS: &[&str] = &[
    "Indicator",
    "OutboundNotAllowed",
    "InboundPortNotAllowed",
    "ConnectionsOutOfRange",
];

impl<'de> Deserialize<'de> for Alert {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("Alert", ALERT_VARIANTS, AlertVisitor)
    }
}

struct AlertVisitor;

impl<'de> Visitor<'de> for AlertVisitor {
    type Value = Alert;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an alert: variant 0, 1, 2 or 3")
    }

    fn visit_enum<E: EnumAccess<'de>>(self, data: E) -> Result<Alert, E::Error> {
        let (number, payload): (u32, _) = data.variant()?;
        match number {
            0 => payload
                .tuple_variant(2, PairVisitor::default())
                .map(|(head, flow)| Alert::Indicator(head, flow)),
            1 => payload
                .tuple_variant(2, PairVisitor::default())
                .map(|(head, flow)| Alert::OutboundNotAllowed(head, flow)),
            2 => payload
                .tuple_variant(2, PairVisitor::default())
                .map(|(head, flow)| Alert::InboundPortNotAllowed(head, flow)),
            3 => payload
                .tuple_variant(2, PairVisitor::default())
                .map(|(head, count)| Alert::ConnectionsOutOfRange(head, count)),
            other => Err(Unknown::Alert(other).raise()),
        }
    }
}

/// The two fields of a tuple variant.
pub(crate) struct PairVisitor<A, B>(std::marker::PhantomData<(A, B)>);

impl<A, B> Default for PairVisitor<A, B> {
    fn default() -> Self {
        PairVisitor(std::marker::PhantomData)
    }
}

impl<'de, A: Deserialize<'de>, B: Deserialize<'de>> Visitor<'de> for PairVisitor<A, B> {
    type Value = (A, B);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("two fields")
    }

    fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<(A, B), S::Error> {
        let a = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let b = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        Ok((a, b))
    }
}

/// The fields of an [`AlertFlow`] variant, in wire order (postcard writes a struct variant's
/// fields exactly as it writes a newtype variant holding this struct).
#[derive(Deserialize)]
struct AlertFlowFields<A> {
    local: A,
    #[serde(with = "be16")]
    local_port: u16,
    remote: A,
    #[serde(with = "be16")]
    remote_port: u16,
    protocol: u8,
    initiator: u8,
}

impl<'de> Deserialize<'de> for AlertFlow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("AlertFlow", &["V4", "V6"], AlertFlowVisitor)
    }
}

struct AlertFlowVisitor;

impl<'de> Visitor<'de> for AlertFlowVisitor {
    type Value = AlertFlow;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an alert flow: variant 0 (IPv4) or 1 (IPv6)")
    }

    fn visit_enum<E: EnumAccess<'de>>(self, data: E) -> Result<AlertFlow, E::Error> {
        let (number, payload): (u32, _) = data.variant()?;
        match number {
            0 => payload
                .newtype_variant::<AlertFlowFields<[u8; 4]>>()
                .map(|f| AlertFlow::V4 {
                    local: f.local,
                    local_port: f.local_port,
                    remote: f.remote,
                    remote_port: f.remote_port,
                    protocol: f.protocol,
                    initiator: f.initiator,
                }),
            1 => payload
                .newtype_variant::<AlertFlowFields<[u8; 16]>>()
                .map(|f| AlertFlow::V6 {
                    local: f.local,
                    local_port: f.local_port,
                    remote: f.remote,
                    remote_port: f.remote_port,
                    protocol: f.protocol,
                    initiator: f.initiator,
                }),
            other => Err(Unknown::AlertFlow(other).raise()),
        }
    }
}

/// IP version of a flow or local address, for error reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl fmt::Display for IpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IpVersion::V4 => "IPv4",
            IpVersion::V6 => "IPv6",
        })
    }
}

/// Why bytes are not a valid message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end inside the message.
    Truncated,
    /// A varint is longer than its type allows or overflows it.
    BadVarint,
    /// A `bool` byte other than 0 or 1.
    BadBool,
    /// A string that is not UTF-8.
    BadUtf8,
    /// An event variant number other than 0 to 7.
    UnknownEvent(u32),
    /// An alert variant number (its kind) other than 0, 1, 2, 3.
    UnknownAlertKind(u32),
    /// An alert flow variant number (its IP version) other than 0 (IPv4) and 1 (IPv6).
    UnknownAlertIp(u32),
    /// A socket variant number (its kind) other than 0, 1, 2.
    UnknownSocket(u32),
    /// A connection variant number (its IP version) other than 0 (IPv4) and 1 (IPv6).
    UnknownConnectionIp(u32),
    /// A finding variant number (its condition) other than 0 to 4.
    UnknownFinding(u32),
    /// Any other postcard decoding failure.
    Postcard(postcard::Error),
    /// Bytes left over after the message.
    TrailingBytes(usize),
    /// A `format` outside [`OLDEST_FORMAT`]..=[`FORMAT`].
    UnsupportedFormat(u8),
    /// An event the message's format does not have (inventory, findings or audit in a
    /// format-2 message).
    EventNotInFormat {
        /// The event.
        event: EventKind,
        /// The message's format.
        format: u8,
    },
    /// An alerts, baseline, inventory, findings or audit event beside other events.
    NotAlone(EventKind),
    /// A `module` other than [`MODULE`].
    WrongModule(String),
    /// A message without events.
    NoEvents,
    /// The same kind of event twice.
    DuplicateEvent(EventKind),
    /// An event before one that must precede it.
    EventOrder {
        /// The event met.
        found: EventKind,
        /// The event it came after.
        after: EventKind,
    },
    /// More than [`MAX_LOCALS`] local addresses of one version.
    TooManyLocals {
        /// IP version.
        ip: IpVersion,
        /// How many the message lists.
        count: usize,
    },
    /// A local address listed twice.
    DuplicateLocal {
        /// IP version.
        ip: IpVersion,
        /// Index of the second occurrence.
        index: usize,
    },
    /// A local address no flow uses.
    UnusedLocal {
        /// IP version.
        ip: IpVersion,
        /// Its index.
        index: usize,
    },
    /// A flow's local index past the end of the locals.
    LocalIndex {
        /// IP version.
        ip: IpVersion,
        /// Position of the flow in its list.
        flow: usize,
        /// The index it holds.
        index: u8,
        /// How many locals there are.
        locals: usize,
    },
    /// A flow whose protocol bits hold 3.
    InvalidProtocol {
        /// IP version.
        ip: IpVersion,
        /// Position of the flow in its list.
        flow: usize,
    },
    /// A UDP or ICMP flow with TCP flag bits set.
    FlagsWithoutTcp {
        /// IP version.
        ip: IpVersion,
        /// Position of the flow in its list.
        flow: usize,
    },
    /// A flow whose initiator is neither 0 nor 1.
    BadInitiator {
        /// IP version.
        ip: IpVersion,
        /// Position of the flow in its list.
        flow: usize,
        /// The value.
        value: u8,
    },
    /// A flow whose key already appeared in the message.
    DuplicateFlow {
        /// IP version.
        ip: IpVersion,
        /// Position of the second occurrence in its list.
        flow: usize,
    },
    /// A `capture_mode` other than 0 or 1.
    BadCaptureMode(u8),
    /// `collectors` bits other than 0-3 set (0-2 in format 2).
    BadCollectors(u8),
    /// An alerts event without any alert.
    NoAlerts,
    /// An alert flow whose protocol is 3 or more.
    BadAlertProtocol {
        /// Position of the alert in its event.
        alert: usize,
        /// The value.
        value: u8,
    },
    /// An alert flow whose initiator is neither 0 nor 1.
    BadAlertInitiator {
        /// Position of the alert in its event.
        alert: usize,
        /// The value.
        value: u8,
    },
    /// An ICMP alert flow with a port other than 0.
    AlertIcmpPorts {
        /// Position of the alert in its event.
        alert: usize,
    },
    /// An alert other than an indicator whose `rule` is not 0.
    AlertRuleNotZero {
        /// Position of the alert in its event.
        alert: usize,
        /// The value.
        rule: u32,
    },
    /// A baseline list with more than [`MAX_BASELINE_ENTRIES`] entries.
    BaselineTooLong {
        /// The list.
        list: BaselineList,
        /// How many entries it has.
        count: usize,
    },
    /// A baseline list entry not above the one before it (the lists are strictly
    /// ascending).
    BaselineUnsorted {
        /// The list.
        list: BaselineList,
        /// Position of the entry.
        index: usize,
    },
    /// A baseline port list holding port 0.
    BaselinePortZero {
        /// The list.
        list: BaselineList,
        /// Position of the entry.
        index: usize,
    },
    /// An inventory part listing more sockets than the read found.
    InventoryOverFound {
        /// Sockets listed in the part.
        listed: usize,
        /// `found`.
        found: u32,
    },
    /// A findings event without any finding.
    NoFindings,
    /// A risky service whose protocol is neither 0 (TCP) nor 1 (UDP).
    BadFindingProtocol {
        /// Position of the finding in its event.
        finding: usize,
        /// The value.
        value: u8,
    },
    /// A risky service with an unknown reason number.
    UnknownRiskyReason {
        /// Position of the finding in its event.
        finding: usize,
        /// The value.
        value: u32,
    },
    /// An audit event without any record.
    NoAuditRecords,
    /// An audit record whose category is 4 or more.
    BadAuditCategory {
        /// Position of the record in its event.
        record: usize,
        /// The value.
        value: u8,
    },
    /// An audit record of an unknown kind.
    UnknownAuditKind {
        /// Position of the record in its event.
        record: usize,
        /// The value.
        value: u32,
    },
    /// An audit record whose category is not the one its kind and result have.
    AuditCategoryMismatch {
        /// Position of the record in its event.
        record: usize,
        /// Its kind.
        kind: AuditKind,
        /// Its category.
        category: AuditCategory,
        /// Its result.
        result: u32,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "message ends early (truncated)"),
            DecodeError::BadVarint => write!(f, "bad varint (too long or overflows its type)"),
            DecodeError::BadBool => write!(f, "bad bool byte (neither 0x00 nor 0x01)"),
            DecodeError::BadUtf8 => write!(f, "module id is not UTF-8"),
            DecodeError::UnknownEvent(n) => write!(f, "unknown event variant {n}"),
            DecodeError::UnknownAlertKind(n) => write!(f, "unknown alert kind (variant {n})"),
            DecodeError::UnknownAlertIp(n) => {
                write!(f, "alert flow of unknown IP version (variant {n})")
            }
            DecodeError::UnknownSocket(n) => write!(f, "unknown socket kind (variant {n})"),
            DecodeError::UnknownConnectionIp(n) => {
                write!(f, "connection of unknown IP version (variant {n})")
            }
            DecodeError::UnknownFinding(n) => write!(f, "unknown finding (variant {n})"),
            DecodeError::Postcard(e) => write!(f, "postcard: {e}"),
            DecodeError::TrailingBytes(n) => {
                write!(f, "{n} byte(s) left over after the message")
            }
            DecodeError::UnsupportedFormat(v) => {
                write!(
                    f,
                    "unsupported format {v} (this reader knows formats {OLDEST_FORMAT} and {FORMAT})"
                )
            }
            DecodeError::EventNotInFormat { event, format } => write!(
                f,
                "event {event} in a format-{format} message (it exists since format {})",
                event.since_format()
            ),
            DecodeError::NotAlone(k) => {
                write!(f, "event {k} beside other events (it travels alone)")
            }
            DecodeError::WrongModule(m) => {
                write!(f, "module id {m:?} is not {MODULE:?}")
            }
            DecodeError::NoEvents => write!(f, "message has no event"),
            DecodeError::DuplicateEvent(k) => write!(f, "event {k} appears twice"),
            DecodeError::EventOrder { found, after } => {
                write!(f, "event {found} after {after} (wrong order)")
            }
            DecodeError::TooManyLocals { ip, count } => {
                write!(f, "{count} {ip} local addresses (at most {MAX_LOCALS})")
            }
            DecodeError::DuplicateLocal { ip, index } => {
                write!(f, "{ip} local address {index} is listed twice")
            }
            DecodeError::UnusedLocal { ip, index } => {
                write!(f, "{ip} local address {index} is used by no flow")
            }
            DecodeError::LocalIndex {
                ip,
                flow,
                index,
                locals,
            } => write!(
                f,
                "{ip} flow {flow}: local index {index} past the {locals} local address(es)"
            ),
            DecodeError::InvalidProtocol { ip, flow } => {
                write!(f, "{ip} flow {flow}: invalid protocol value 3")
            }
            DecodeError::FlagsWithoutTcp { ip, flow } => {
                write!(f, "{ip} flow {flow}: TCP flags on a UDP or ICMP flow")
            }
            DecodeError::BadInitiator { ip, flow, value } => {
                write!(f, "{ip} flow {flow}: initiator {value} is neither 0 nor 1")
            }
            DecodeError::DuplicateFlow { ip, flow } => {
                write!(f, "{ip} flow {flow}: same key as an earlier flow")
            }
            DecodeError::BadCaptureMode(v) => write!(f, "unknown capture mode {v}"),
            DecodeError::BadCollectors(v) => write!(f, "unknown collector bits in {v:#04x}"),
            DecodeError::NoAlerts => write!(f, "alerts event has no alert"),
            DecodeError::BadAlertProtocol { alert, value } => {
                write!(f, "alert {alert}: invalid protocol value {value}")
            }
            DecodeError::BadAlertInitiator { alert, value } => {
                write!(f, "alert {alert}: initiator {value} is neither 0 nor 1")
            }
            DecodeError::AlertIcmpPorts { alert } => {
                write!(f, "alert {alert}: ICMP flow with a port other than 0")
            }
            DecodeError::BaselineTooLong { list, count } => write!(
                f,
                "baseline {list}: {count} entries (at most {MAX_BASELINE_ENTRIES})"
            ),
            DecodeError::BaselineUnsorted { list, index } => write!(
                f,
                "baseline {list}: entry {index} is not above the one before it (not strictly ascending)"
            ),
            DecodeError::BaselinePortZero { list, index } => {
                write!(f, "baseline {list}: entry {index} is port 0")
            }
            DecodeError::AlertRuleNotZero { alert, rule } => {
                write!(f, "alert {alert}: rule {rule} on an alert other than an indicator (must be 0)")
            }
            DecodeError::InventoryOverFound { listed, found } => write!(
                f,
                "inventory lists {listed} sockets but found only {found}"
            ),
            DecodeError::NoFindings => write!(f, "findings event has no finding"),
            DecodeError::BadFindingProtocol { finding, value } => write!(
                f,
                "finding {finding}: risky service protocol {value} is neither 0 (TCP) nor 1 (UDP)"
            ),
            DecodeError::UnknownRiskyReason { finding, value } => {
                write!(f, "finding {finding}: unknown risky-service reason {value}")
            }
            DecodeError::NoAuditRecords => write!(f, "audit event has no record"),
            DecodeError::BadAuditCategory { record, value } => {
                write!(f, "audit record {record}: invalid category {value}")
            }
            DecodeError::UnknownAuditKind { record, value } => {
                write!(f, "audit record {record}: unknown kind {value}")
            }
            DecodeError::AuditCategoryMismatch {
                record,
                kind,
                category,
                result,
            } => write!(
                f,
                "audit record {record}: {kind} with result {result} is not a {category} record"
            ),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Postcard(e) => Some(e),
            _ => None,
        }
    }
}

impl From<postcard::Error> for DecodeError {
    fn from(error: postcard::Error) -> Self {
        use postcard::Error as P;
        match error {
            P::DeserializeUnexpectedEnd => DecodeError::Truncated,
            P::DeserializeBadVarint => DecodeError::BadVarint,
            P::DeserializeBadBool => DecodeError::BadBool,
            P::DeserializeBadUtf8 => DecodeError::BadUtf8,
            other => DecodeError::Postcard(other),
        }
    }
}

/// Decodes and validates the bytes of exactly one message.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    match bytes.first() {
        None => return Err(DecodeError::Truncated),
        Some(&format) if !(OLDEST_FORMAT..=FORMAT).contains(&format) => {
            return Err(DecodeError::UnsupportedFormat(format))
        }
        Some(_) => {}
    }
    UNKNOWN_VARIANT.with(|cell| cell.set(None));
    let (message, rest) = postcard::take_from_bytes::<Message>(bytes).map_err(|error| {
        match (error, UNKNOWN_VARIANT.with(Cell::take)) {
            (postcard::Error::SerdeDeCustom, Some(unknown)) => unknown.error(),
            (error, _) => DecodeError::from(error),
        }
    })?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    validate(&message)?;
    Ok(message)
}

/// Encodes a message (no validation: tests use it to build invalid inputs too).
pub fn encode(message: &Message) -> Vec<u8> {
    // Serializing into a growable vector cannot fail for these types.
    postcard::to_stdvec(message).unwrap_or_default()
}

/// Checks the rules of the wire format that postcard itself does not enforce.
pub fn validate(message: &Message) -> Result<(), DecodeError> {
    if !(OLDEST_FORMAT..=FORMAT).contains(&message.format) {
        return Err(DecodeError::UnsupportedFormat(message.format));
    }
    if message.module != MODULE {
        return Err(DecodeError::WrongModule(message.module.clone()));
    }
    if message.events.is_empty() {
        return Err(DecodeError::NoEvents);
    }
    let mut previous: Option<EventKind> = None;
    for event in &message.events {
        let kind = event.kind();
        match previous {
            Some(p) if p == kind => return Err(DecodeError::DuplicateEvent(kind)),
            Some(p) if p > kind => {
                return Err(DecodeError::EventOrder {
                    found: kind,
                    after: p,
                })
            }
            _ => {}
        }
        previous = Some(kind);
        if message.format < kind.since_format() {
            return Err(DecodeError::EventNotInFormat {
                event: kind,
                format: message.format,
            });
        }
    }
    if message.events.len() > 1 {
        if let Some(event) = message.events.iter().find(|e| e.kind().alone()) {
            return Err(DecodeError::NotAlone(event.kind()));
        }
    }
    for event in &message.events {
        match event {
            Event::NetworkActivity(window) => {
                validate_flows(IpVersion::V4, &window.v4_locals, &window.v4_flows)?;
                validate_flows(IpVersion::V6, &window.v6_locals, &window.v6_flows)?;
            }
            Event::SystemInformation(si) => {
                if si.capture_mode > 1 {
                    return Err(DecodeError::BadCaptureMode(si.capture_mode));
                }
                // Bit 3 (inventory) came with format 3.
                let known = if message.format >= 3 { 0b1111 } else { 0b111 };
                if si.collectors & !known != 0 {
                    return Err(DecodeError::BadCollectors(si.collectors));
                }
            }
            Event::Heartbeat(_) => {}
            Event::Alerts(alerts) => validate_alerts(alerts)?,
            Event::Baseline(baseline) => validate_baseline(baseline)?,
            Event::Inventory(inventory) => {
                if inventory.sockets.len() as u64 > u64::from(inventory.found) {
                    return Err(DecodeError::InventoryOverFound {
                        listed: inventory.sockets.len(),
                        found: inventory.found,
                    });
                }
            }
            Event::Findings(findings) => validate_findings(findings)?,
            Event::Audit(records) => validate_audit(records)?,
        }
    }
    Ok(())
}

fn validate_findings(findings: &[Finding]) -> Result<(), DecodeError> {
    if findings.is_empty() {
        return Err(DecodeError::NoFindings);
    }
    for (position, finding) in findings.iter().enumerate() {
        let Some(service) = finding.service() else {
            continue;
        };
        if service.protocol().is_none() {
            return Err(DecodeError::BadFindingProtocol {
                finding: position,
                value: service.protocol,
            });
        }
        if service.reason().is_none() {
            return Err(DecodeError::UnknownRiskyReason {
                finding: position,
                value: service.reason,
            });
        }
    }
    Ok(())
}

fn validate_audit(records: &[AuditRecord]) -> Result<(), DecodeError> {
    if records.is_empty() {
        return Err(DecodeError::NoAuditRecords);
    }
    for (position, record) in records.iter().enumerate() {
        let Some(category) = record.category() else {
            return Err(DecodeError::BadAuditCategory {
                record: position,
                value: record.category,
            });
        };
        let Some(kind) = record.kind() else {
            return Err(DecodeError::UnknownAuditKind {
                record: position,
                value: record.kind,
            });
        };
        if !kind.allows(category, record.result) {
            return Err(DecodeError::AuditCategoryMismatch {
                record: position,
                kind,
                category,
                result: record.result,
            });
        }
    }
    Ok(())
}

fn validate_alerts(alerts: &[Alert]) -> Result<(), DecodeError> {
    if alerts.is_empty() {
        return Err(DecodeError::NoAlerts);
    }
    for (position, alert) in alerts.iter().enumerate() {
        let rule = alert.head().rule;
        if alert.kind() != AlertKind::Indicator && rule != 0 {
            return Err(DecodeError::AlertRuleNotZero {
                alert: position,
                rule,
            });
        }
        let Some(flow) = alert.flow() else {
            continue;
        };
        let Some(protocol) = flow.protocol() else {
            return Err(DecodeError::BadAlertProtocol {
                alert: position,
                value: flow.protocol_byte(),
            });
        };
        if flow.initiator_name().is_none() {
            return Err(DecodeError::BadAlertInitiator {
                alert: position,
                value: flow.initiator(),
            });
        }
        if protocol == Protocol::Icmp && (flow.local_port() != 0 || flow.remote_port() != 0) {
            return Err(DecodeError::AlertIcmpPorts { alert: position });
        }
    }
    Ok(())
}

fn validate_baseline(baseline: &Baseline) -> Result<(), DecodeError> {
    fn list<T: Ord>(list: BaselineList, entries: &[T]) -> Result<(), DecodeError> {
        if entries.len() > MAX_BASELINE_ENTRIES {
            return Err(DecodeError::BaselineTooLong {
                list,
                count: entries.len(),
            });
        }
        match entries.windows(2).position(|pair| pair[0] >= pair[1]) {
            Some(before) => Err(DecodeError::BaselineUnsorted {
                list,
                index: before + 1,
            }),
            None => Ok(()),
        }
    }
    list(BaselineList::V4Prefixes, &baseline.v4_prefixes)?;
    list(BaselineList::V6Prefixes, &baseline.v6_prefixes)?;
    for (name, ports) in [
        (BaselineList::TcpPorts, &baseline.tcp_ports),
        (BaselineList::UdpPorts, &baseline.udp_ports),
    ] {
        list(name, ports)?;
        if let Some(index) = ports.iter().position(|&port| port == 0) {
            return Err(DecodeError::BaselinePortZero { list: name, index });
        }
    }
    Ok(())
}

fn validate_flows<A: Copy + Eq + std::hash::Hash>(
    ip: IpVersion,
    locals: &[A],
    flows: &[Flow<A>],
) -> Result<(), DecodeError> {
    if locals.len() > MAX_LOCALS {
        return Err(DecodeError::TooManyLocals {
            ip,
            count: locals.len(),
        });
    }
    for (index, local) in locals.iter().enumerate() {
        if locals[..index].contains(local) {
            return Err(DecodeError::DuplicateLocal { ip, index });
        }
    }
    let mut used = [false; MAX_LOCALS];
    let mut keys = HashSet::with_capacity(flows.len());
    for (position, flow) in flows.iter().enumerate() {
        let index = usize::from(flow.local);
        let Some(local) = locals.get(index) else {
            return Err(DecodeError::LocalIndex {
                ip,
                flow: position,
                index: flow.local,
                locals: locals.len(),
            });
        };
        used[index] = true;
        let Some(protocol) = flow.protocol() else {
            return Err(DecodeError::InvalidProtocol { ip, flow: position });
        };
        if protocol != Protocol::Tcp && flow.kind >> 2 != 0 {
            return Err(DecodeError::FlagsWithoutTcp { ip, flow: position });
        }
        if flow.initiator_name().is_none() {
            return Err(DecodeError::BadInitiator {
                ip,
                flow: position,
                value: flow.initiator,
            });
        }
        let key = (
            *local,
            flow.remote,
            flow.local_port,
            flow.remote_port,
            protocol,
        );
        if !keys.insert(key) {
            return Err(DecodeError::DuplicateFlow { ip, flow: position });
        }
    }
    if let Some(index) = used[..locals.len()].iter().position(|u| !u) {
        return Err(DecodeError::UnusedLocal { ip, index });
    }
    Ok(())
}

/// Why a line or file of input gave no message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// The text is not hex.
    Hex(hex::HexError),
    /// The bytes are not a valid message.
    Decode(DecodeError),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Hex(e) => write!(f, "bad hex: {e}"),
            InputError::Decode(e) => write!(f, "bad message: {e}"),
        }
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InputError::Hex(e) => Some(e),
            InputError::Decode(e) => Some(e),
        }
    }
}

/// Decodes one line of hex text: `Ok(None)` for a blank or comment-only line.
pub fn decode_hex_line(line: impl AsRef<[u8]>) -> Result<Option<Message>, InputError> {
    let bytes = hex::parse_line(line).map_err(InputError::Hex)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    decode(&bytes).map(Some).map_err(InputError::Decode)
}

/// Lines of a hex text, counting from 1: where a message or an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineSpan {
    /// First line.
    pub first: usize,
    /// Last line (equal to `first` unless the message was wrapped).
    pub last: usize,
}

impl fmt::Display for LineSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Decodes hex text holding messages one per line. A message may also be wrapped over
/// consecutive lines (as in `tests/golden/`): a line whose bytes end inside a message goes on
/// with the next line; a blank or comment-only line ends it. When the next line is a whole
/// message on its own, or does not continue the message but starts one, the earlier lines
/// are reported as truncated and that line is read afresh.
pub fn decode_hex_text(text: &[u8]) -> Vec<(LineSpan, Result<Message, InputError>)> {
    fn span(first: usize, last: usize) -> LineSpan {
        LineSpan { first, last }
    }
    fn truncated(first: usize, last: usize) -> (LineSpan, Result<Message, InputError>) {
        (
            span(first, last),
            Err(InputError::Decode(DecodeError::Truncated)),
        )
    }
    let mut results = Vec::new();
    // First line and bytes of a message that goes on past the lines read so far.
    let mut pending: Option<(usize, Vec<u8>)> = None;
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let mut number = 0;
    for line in text.split(|&b| b == b'\n') {
        number += 1;
        let bytes = match hex::parse_line(line) {
            Ok(bytes) if !bytes.is_empty() => bytes,
            other => {
                if let Some((first, _)) = pending.take() {
                    results.push(truncated(first, number - 1));
                }
                if let Err(error) = other {
                    results.push((span(number, number), Err(InputError::Hex(error))));
                }
                continue;
            }
        };
        if let Some((first, mut joined)) = pending.take() {
            joined.extend_from_slice(&bytes);
            let alone = decode(&bytes);
            match decode(&joined) {
                // This line is a message of its own: the earlier ones stay incomplete.
                Err(DecodeError::Truncated) if alone.is_ok() => {
                    results.push(truncated(first, number - 1));
                }
                Err(DecodeError::Truncated) => {
                    pending = Some((first, joined));
                    continue;
                }
                // This line starts a message of its own: the same.
                Err(_) if matches!(alone, Ok(_) | Err(DecodeError::Truncated)) => {
                    results.push(truncated(first, number - 1));
                }
                result => {
                    results.push((span(first, number), result.map_err(InputError::Decode)));
                    continue;
                }
            }
        }
        match decode(&bytes) {
            Err(DecodeError::Truncated) => pending = Some((number, bytes)),
            result => results.push((span(number, number), result.map_err(InputError::Decode))),
        }
    }
    if let Some((first, _)) = pending {
        results.push(truncated(first, number));
    }
    results
}

/// Library version `major << 24 | minor << 16 | patch` as `"major.minor.patch"`.
pub fn version_text(packed: u32) -> String {
    format!(
        "{}.{}.{}",
        packed >> 24,
        (packed >> 16) & 0xff,
        packed & 0xffff
    )
}

impl Message {
    /// The network activity event, if any.
    pub fn network_activity(&self) -> Option<&NetworkActivity> {
        self.events.iter().find_map(|e| match e {
            Event::NetworkActivity(w) => Some(w),
            _ => None,
        })
    }

    /// The system information event, if any.
    pub fn system_information(&self) -> Option<&SystemInformation> {
        self.events.iter().find_map(|e| match e {
            Event::SystemInformation(s) => Some(s),
            _ => None,
        })
    }

    /// The heartbeat event, if any.
    pub fn heartbeat(&self) -> Option<&Heartbeat> {
        self.events.iter().find_map(|e| match e {
            Event::Heartbeat(h) => Some(h),
            _ => None,
        })
    }

    /// The alerts event's alerts, if any.
    pub fn alerts(&self) -> Option<&[Alert]> {
        self.events.iter().find_map(|e| match e {
            Event::Alerts(a) => Some(a.as_slice()),
            _ => None,
        })
    }

    /// The baseline event, if any.
    pub fn baseline(&self) -> Option<&Baseline> {
        self.events.iter().find_map(|e| match e {
            Event::Baseline(b) => Some(b),
            _ => None,
        })
    }

    /// The inventory event, if any.
    pub fn inventory(&self) -> Option<&Inventory> {
        self.events.iter().find_map(|e| match e {
            Event::Inventory(i) => Some(i),
            _ => None,
        })
    }

    /// The findings event's findings, if any.
    pub fn findings(&self) -> Option<&[Finding]> {
        self.events.iter().find_map(|e| match e {
            Event::Findings(f) => Some(f.as_slice()),
            _ => None,
        })
    }

    /// The audit event's records, if any.
    pub fn audit(&self) -> Option<&[AuditRecord]> {
        self.events.iter().find_map(|e| match e {
            Event::Audit(a) => Some(a.as_slice()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests;
