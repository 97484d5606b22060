//! Detection: the active policy's rules, evaluated on the consumer's side, and the alerts
//! they raise.
//!
//! A flow is evaluated once, when it enters the flow table in a window (and so is a flow
//! the full table refused: an indicator or a closed port must not hide behind a flood); the
//! connection-count rule is evaluated when a network-activity window closes. Hooks never
//! evaluate anything. Alerts wait here for the next poll, which puts them in the outbox
//! ahead of any collection.
//!
//! Limits: at most one alert per rule and flow in a window, and at most
//! `NXSM_MAX_ALERTS_PER_WINDOW` flow alerts in a window; the rest are counted as
//! suppressed. A window's connection-count alert comes on top of them.

pub mod baseline;

use heapless::Vec;

use crate::capture::{Direction, FlowRecord, IpVersion};
use crate::policy::{flag, Fields, Policy, Words};
use crate::wire::{ipv4_octets, ipv6_octets, TransportKind};

/// Which rule an alert reports. The values are the wire format's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AlertKind {
    /// The remote address is an indicator (`rule`: the indicator's source).
    Indicator = 0,
    /// A flow the device opened to a remote outside the outbound allow list.
    OutboundNotAllowed = 1,
    /// A flow the peer opened to a local port outside the inbound allow list.
    InboundPortNotAllowed = 2,
    /// The window held more or fewer flows than the connection-count rule allows.
    ConnectionsOutOfRange = 3,
}

/// The flow an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertFlow {
    /// IP version.
    pub version: IpVersion,
    /// Transport protocol.
    pub protocol: TransportKind,
    /// Device-side address, wire octets (IPv4 in the first 4).
    pub local: [u8; 16],
    /// Device-side port (0 for ICMP).
    pub local_port: u16,
    /// Peer address, wire octets.
    pub remote: [u8; 16],
    /// Peer port (0 for ICMP).
    pub remote_port: u16,
    /// Who opened the flow (`Out`: the device).
    pub initiator: Direction,
}

/// What an alert is about: a flow, or the window's flow count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The flow that broke the rule.
    Flow(AlertFlow),
    /// The flows the window held, and the range the rule allows.
    Connections {
        /// Flows in the window, those a full table refused included (counted once per
        /// refused packet).
        active: u32,
        /// Fewest allowed.
        min: u32,
        /// Most allowed.
        max: u32,
    },
}

/// One alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Which rule.
    pub kind: AlertKind,
    /// Unix seconds when it was raised.
    pub time: u32,
    /// CRC-32 of the policy that raised it.
    pub policy: u32,
    /// The indicator's source for [`AlertKind::Indicator`], 0 otherwise.
    pub rule: u32,
    /// What it is about.
    pub subject: Subject,
}

/// The detection counters (heartbeat and statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectCounters {
    /// Alerts put in messages for the hub.
    pub alerts_sent: u32,
    /// Alerts not raised because a window had reached its limit, or the queue was full.
    pub alerts_suppressed: u32,
}

/// Most alerts in one window (and waiting at once).
const LIMIT: usize = crate::config::detection::ALERTS_PER_WINDOW;

/// Alerts waiting for the next poll, and what the current window raised.
#[derive(Debug)]
pub struct Detector {
    /// Room for a window's flow alerts and its connection-count alert, which the flow
    /// alerts of a scan must not crowd out.
    pending: Vec<Alert, { LIMIT + 1 }>,
    /// A fingerprint of each (rule, flow) alerted in the current window.
    raised: Vec<u32, LIMIT>,
    /// Packets of new flows the full table refused in the current window.
    refused: u32,
    counters: DetectCounters,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    /// Nothing raised (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            pending: Vec::new(),
            raised: Vec::new(),
            refused: 0,
            counters: DetectCounters {
                alerts_sent: 0,
                alerts_suppressed: 0,
            },
        }
    }

    /// Evaluates a flow entering the table (`refused`: the full table refused it) against
    /// `policy`, stamping alerts `now`. Who opened it is what its first packet tells
    /// ([`FlowRecord::initiator`]).
    pub fn flow_entered<W, F>(
        &mut self,
        policy: &Policy<'_, W, F>,
        record: &FlowRecord,
        refused: bool,
        now: u32,
    ) where
        W: Words + ?Sized,
        F: Fields + ?Sized,
    {
        if refused {
            self.refused = self.refused.saturating_add(1);
        }
        let breaches = breaches(policy, record, ALL_RULES);
        if breaches == Breaches::default() {
            return;
        }
        // The alert's view of the flow only when there is something to alert on.
        let flow = alert_flow(record);
        let raise = |kind, rule| Alert {
            kind,
            time: now,
            policy: policy.crc32(),
            rule,
            subject: Subject::Flow(flow),
        };
        if let Some(source) = breaches.indicator {
            self.raise(raise(AlertKind::Indicator, source));
        }
        if breaches.outbound {
            self.raise(raise(AlertKind::OutboundNotAllowed, 0));
        }
        if breaches.inbound_port {
            self.raise(raise(AlertKind::InboundPortNotAllowed, 0));
        }
    }

    /// Closes the window that held `flows` flows: evaluates the connection-count rule of
    /// `policy` (if any) and starts counting the next window.
    pub fn window_closed<W, F>(&mut self, policy: Option<&Policy<'_, W, F>>, flows: usize, now: u32)
    where
        W: Words + ?Sized,
        F: Fields + ?Sized,
    {
        let active = u32::try_from(flows)
            .unwrap_or(u32::MAX)
            .saturating_add(self.refused);
        if let Some((min, max)) = policy.and_then(Policy::connections) {
            if !(min..=max).contains(&active) {
                let alert = Alert {
                    kind: AlertKind::ConnectionsOutOfRange,
                    time: now,
                    policy: policy.map_or(0, Policy::crc32),
                    rule: 0,
                    subject: Subject::Connections { active, min, max },
                };
                // Outside the window's limit: one per window at most, and the scan that
                // used the limit up is what it reports.
                if self.pending.push(alert).is_err() {
                    self.counters.alerts_suppressed =
                        self.counters.alerts_suppressed.saturating_add(1);
                }
            }
        }
        self.raised.clear();
        self.refused = 0;
    }

    /// Queues `alert` unless the same rule already alerted on the same flow in this window;
    /// counts it as suppressed when the window's limit is reached.
    fn raise(&mut self, alert: Alert) {
        let fingerprint = fingerprint(&alert);
        if self.raised.contains(&fingerprint) {
            return;
        }
        // The last place in `pending` is the connection-count alert's.
        if self.pending.len() >= LIMIT
            || self.raised.push(fingerprint).is_err()
            || self.pending.push(alert).is_err()
        {
            self.counters.alerts_suppressed = self.counters.alerts_suppressed.saturating_add(1);
        }
    }

    /// The alerts waiting for the outbox, oldest first.
    pub fn pending(&self) -> &[Alert] {
        &self.pending
    }

    /// The first `count` waiting alerts went into messages.
    pub fn sent(&mut self, count: usize) {
        let count = count.min(self.pending.len());
        let kept = self.pending.len() - count;
        for to in 0..kept {
            if let Some(alert) = self.pending.get(to + count).copied() {
                if let Some(slot) = self.pending.get_mut(to) {
                    *slot = alert;
                }
            }
        }
        self.pending.truncate(kept);
        self.counters.alerts_sent = self.counters.alerts_sent.saturating_add(count as u32);
    }

    /// The counters.
    pub fn counters(&self) -> DetectCounters {
        self.counters
    }
}

/// The flow rules a record's flow breaks: the one home of what each rule means, for the
/// alerts and for blocking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Breaches {
    /// The remote address is an indicator: its source.
    pub indicator: Option<u32>,
    /// The device opened it, to a remote outside the outbound allow list.
    pub outbound: bool,
    /// The peer opened it, to a local TCP or UDP port outside the inbound allow list.
    pub inbound_port: bool,
}

/// The rules [`breaches`] evaluates for alerts: every rule.
pub const ALL_RULES: u32 = flag::BLOCK;

/// What `record`'s flow breaks of `policy`, among `rules` (named by their block bits,
/// [`flag::BLOCK_INDICATOR`] and so on; the others are not looked up and come out as not
/// broken). Who opened the flow is worked out only for the rules that depend on it.
pub fn breaches<W, F>(policy: &Policy<'_, W, F>, record: &FlowRecord, rules: u32) -> Breaches
where
    W: Words + ?Sized,
    F: Fields + ?Sized,
{
    let by_initiator = rules & (flag::BLOCK_OUTBOUND | flag::BLOCK_INBOUND_PORT) != 0;
    let opened_by_device = by_initiator && record.initiator() == Direction::Out;
    let indicators = rules & flag::BLOCK_INDICATOR != 0;
    let outbound = opened_by_device && rules & flag::BLOCK_OUTBOUND != 0;
    let (indicator, allowed) = match record.version() {
        IpVersion::V4 => {
            let remote = u32::from_be_bytes(ipv4_octets(record.remote()));
            (
                indicators.then(|| policy.indicator_v4(remote)).flatten(),
                !outbound || local_network_v4(remote) || policy.outbound_allowed_v4(remote),
            )
        }
        IpVersion::V6 => {
            let remote = u128::from_be_bytes(ipv6_octets(record.remote()));
            (
                indicators.then(|| policy.indicator_v6(remote)).flatten(),
                !outbound || local_network_v6(remote) || policy.outbound_allowed_v6(remote),
            )
        }
    };
    let local_port = (record.ports() >> 16) as u16;
    let inbound_port = by_initiator
        && !opened_by_device
        && rules & flag::BLOCK_INBOUND_PORT != 0
        && match record.protocol() {
            TransportKind::Tcp => !policy.inbound_allowed(true, local_port),
            TransportKind::Udp => !policy.inbound_allowed(false, local_port),
            TransportKind::Icmp => false,
        };
    Breaches {
        indicator,
        outbound: !allowed,
        inbound_port,
    }
}

/// Whether the packet of `record` breaks a rule of `policy` that blocks (only those rules
/// are looked up).
pub fn blocks<W, F>(policy: &Policy<'_, W, F>, record: &FlowRecord) -> bool
where
    W: Words + ?Sized,
    F: Fields + ?Sized,
{
    let breaches = breaches(policy, record, policy.flags() & flag::BLOCK);
    breaches.indicator.is_some() || breaches.outbound || breaches.inbound_port
}

/// Multicast, limited broadcast and link-local IPv4 destinations: the network's own
/// machinery (IGMP, DHCP, mDNS, ARP-adjacent protocols), which the outbound allow list
/// does not govern.
fn local_network_v4(address: u32) -> bool {
    address >> 28 == 0xE || address == u32::MAX || address >> 16 == 0xA9FE
}

/// Multicast and link-local IPv6 destinations (neighbour discovery, MLD, mDNS): without
/// them IPv6 does not work, so the outbound allow list does not govern them.
fn local_network_v6(address: u128) -> bool {
    address >> 120 == 0xFF || address >> 118 == 0xFE80 >> 6
}

/// The alert view of a record's flow.
fn alert_flow(record: &FlowRecord) -> AlertFlow {
    let octets = |words| match record.version() {
        IpVersion::V4 => {
            let mut all = [0u8; 16];
            for (to, from) in all.iter_mut().zip(ipv4_octets(words)) {
                *to = from;
            }
            all
        }
        IpVersion::V6 => ipv6_octets(words),
    };
    let ports = record.ports();
    let (local_port, remote_port) = ((ports >> 16) as u16, ports as u16);
    AlertFlow {
        version: record.version(),
        protocol: record.protocol(),
        local: octets(record.local()),
        local_port,
        remote: octets(record.remote()),
        remote_port,
        initiator: record.initiator(),
    }
}

/// Folds what makes two alerts the same (rule and flow key) into one word.
/// A word at a time: a byte at a time costs some 230 instructions an alert.
fn fingerprint(alert: &Alert) -> u32 {
    let mut hash = 0x811C_9DC5u32 ^ alert.kind as u32;
    let mut mix = |word: u32| hash = (hash ^ word).wrapping_mul(0x0100_0193).rotate_left(13);
    if let Subject::Flow(flow) = &alert.subject {
        mix((flow.version as u32) << 8 | flow.protocol as u32);
        for address in [&flow.local, &flow.remote] {
            for word in address.chunks_exact(4) {
                if let [a, b, c, d] = *word {
                    mix(u32::from_ne_bytes([a, b, c, d]));
                }
            }
        }
        mix(u32::from(flow.local_port) << 16 | u32::from(flow.remote_port));
    }
    hash
}

#[cfg(all(test, feature = "detection"))]
mod tests;
