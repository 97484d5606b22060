//! Helpers shared by the tests that run the core's writer and read its output back.
#![allow(dead_code)]

use nx_security_module::testing::message::{self as core_message, Collection, Composer};
use nx_security_module::testing::message::{Direction, DirectionCounters, Flow, Key};
use nx_security_module::testing::wire::{TcpFlags, TransportKind};
use nxsm_decode::{
    decode, encode, Event, FlowV4, FlowV6, Heartbeat, Message, NetworkActivity, SystemInformation,
};

/// Writes a collection with the core's composer: the bytes of every message, in order.
pub fn compose(collection: &Collection<'_>, max_len: usize, first_sequence: u32) -> Vec<Vec<u8>> {
    let mut composer = Composer::new(collection, max_len, first_sequence);
    let mut messages = Vec::new();
    while let Some(plan) = composer.next_message() {
        let mut buf = vec![0u8; plan.len()];
        let written = plan
            .write(&mut buf)
            .expect("the writer writes a planned message");
        assert_eq!(written, plan.len(), "plan length and bytes written differ");
        assert_eq!(
            plan.sequence(),
            first_sequence.wrapping_add(messages.len() as u32)
        );
        buf.truncate(written);
        messages.push(buf);
        assert!(messages.len() < 1_000_000, "the composer does not stop");
    }
    messages
}

/// A flow as a reader sees it, with its local address resolved: comparable with what the
/// writer was given.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seen {
    pub ip: u8,
    pub local: Vec<u8>,
    pub remote: Vec<u8>,
    pub local_port: u16,
    pub remote_port: u16,
    /// Protocol bits (0 TCP, 1 UDP, 2 ICMP).
    pub protocol: u8,
    /// SYN bit 0, FIN bit 1, RST bit 2.
    pub flags_in: u8,
    pub flags_out: u8,
    /// 0 the device opened the flow, 1 the peer.
    pub initiator: u8,
    pub bytes_in: u32,
    pub bytes_out: u32,
    pub packets_in: u32,
    pub packets_out: u32,
}

/// The SYN/FIN/RST set of a TCP header flag byte (FIN 0x01, SYN 0x02, RST 0x04).
pub fn reported_flags(flags: TcpFlags) -> u8 {
    let mut set = 0;
    if flags.0 & 0x02 != 0 {
        set |= 0b001;
    }
    if flags.0 & 0x01 != 0 {
        set |= 0b010;
    }
    if flags.0 & 0x04 != 0 {
        set |= 0b100;
    }
    set
}

/// What the format says a reader must see for a flow the writer was given.
pub fn expected<A: AsRef<[u8]>>(ip: u8, flow: &Flow<A>) -> Seen {
    let (protocol, tcp) = match flow.protocol {
        TransportKind::Tcp => (0, true),
        TransportKind::Udp => (1, false),
        TransportKind::Icmp => (2, false),
    };
    Seen {
        ip,
        local: flow.local.as_ref().to_vec(),
        remote: flow.remote.as_ref().to_vec(),
        local_port: flow.local_port,
        remote_port: flow.remote_port,
        protocol,
        flags_in: if tcp {
            reported_flags(flow.flags_in)
        } else {
            0
        },
        flags_out: if tcp {
            reported_flags(flow.flags_out)
        } else {
            0
        },
        initiator: match flow.initiator {
            Direction::Out => 0,
            Direction::In => 1,
        },
        bytes_in: flow.inbound.bytes,
        bytes_out: flow.outbound.bytes,
        packets_in: flow.inbound.packets,
        packets_out: flow.outbound.packets,
    }
}

fn seen_flow<A: AsRef<[u8]>>(ip: u8, locals: &[A], flow: &nxsm_decode::Flow<A>) -> Seen {
    Seen {
        ip,
        local: locals[usize::from(flow.local)].as_ref().to_vec(),
        remote: flow.remote.as_ref().to_vec(),
        local_port: flow.local_port,
        remote_port: flow.remote_port,
        protocol: flow.protocol().expect("validated").bits(),
        flags_in: flow.flags_in().bits(),
        flags_out: flow.flags_out().bits(),
        initiator: flow.initiator,
        bytes_in: flow.bytes_in,
        bytes_out: flow.bytes_out,
        packets_in: flow.packets_in,
        packets_out: flow.packets_out,
    }
}

/// The flows of one decoded part, IPv4 first.
pub fn seen(window: &NetworkActivity) -> Vec<Seen> {
    let v4 = window
        .v4_flows
        .iter()
        .map(|f| seen_flow(4, &window.v4_locals, f));
    let v6 = window
        .v6_flows
        .iter()
        .map(|f| seen_flow(6, &window.v6_locals, f));
    v4.chain(v6).collect()
}

pub fn system_of(si: &core_message::SystemInformation) -> SystemInformation {
    SystemInformation {
        threadx: si.threadx,
        netx: si.netx,
        module_version: si.module_version,
        max_flows_v4: si.max_flows_v4,
        max_flows_v6: si.max_flows_v6,
        ring_slots: si.ring_slots,
        outbox_bytes: si.outbox_bytes,
        max_message_bytes: si.max_message_bytes,
        intervals_s: si.intervals_s,
        collectors: si.collectors,
        capture_mode: si.capture_mode,
    }
}

pub fn heartbeat_of(hb: &core_message::Heartbeat) -> Heartbeat {
    Heartbeat {
        uptime_s: hb.uptime_s,
        packets_seen: hb.packets_seen,
        packets_counted: hb.packets_counted,
        malformed: hb.malformed,
        ignored: hb.ignored,
        ring_dropped: hb.ring_dropped,
        table_full_dropped: hb.table_full_dropped,
        messages_sent: hb.messages_sent,
        messages_failed: hb.messages_failed,
        messages_dropped: hb.messages_dropped,
        outbox_messages: hb.outbox_messages,
        outbox_used_bytes: hb.outbox_used_bytes,
        outbox_peak_bytes: hb.outbox_peak_bytes,
        clock_unavailable: hb.clock_unavailable,
        clock_steps_back: hb.clock_steps_back,
        collections_waited: hb.collections_waited,
        alerts_sent: hb.alerts_sent,
        alerts_suppressed: hb.alerts_suppressed,
        packets_blocked: hb.packets_blocked,
    }
}

/// A core flow.
#[allow(clippy::too_many_arguments)]
pub fn flow<A: Copy>(
    local: A,
    remote: A,
    local_port: u16,
    remote_port: u16,
    protocol: TransportKind,
    inbound: (u32, u32),
    outbound: (u32, u32),
    flags: (u8, u8),
) -> Flow<A> {
    Flow {
        inbound: DirectionCounters {
            bytes: inbound.0,
            packets: inbound.1,
        },
        outbound: DirectionCounters {
            bytes: outbound.0,
            packets: outbound.1,
        },
        flags_in: TcpFlags(flags.0),
        flags_out: TcpFlags(flags.1),
        last_seen: 0,
        ..Flow::new(
            Key {
                local,
                remote,
                local_port,
                remote_port,
                protocol,
            },
            0,
            Direction::Out,
        )
    }
}

/// The first flow of a part, to test whether it would have fitted in the previous message.
enum NextFlow {
    V4([u8; 4], FlowV4),
    V6([u8; 16], FlowV6),
}

fn first_flow(window: &NetworkActivity) -> Option<NextFlow> {
    if let Some(f) = window.v4_flows.first() {
        return Some(NextFlow::V4(window.v4_locals[usize::from(f.local)], *f));
    }
    window
        .v6_flows
        .first()
        .map(|f| NextFlow::V6(window.v6_locals[usize::from(f.local)], *f))
}

/// Adds a flow to a part, with its local address when new; `false` when a ninth local
/// address would be needed.
fn add_flow(window: &mut NetworkActivity, next: NextFlow) -> bool {
    fn add<A: PartialEq + Copy>(
        locals: &mut Vec<A>,
        flows: &mut Vec<nxsm_decode::Flow<A>>,
        local: A,
        mut flow: nxsm_decode::Flow<A>,
    ) -> bool {
        let index = match locals.iter().position(|l| *l == local) {
            Some(i) => i,
            None if locals.len() == nxsm_decode::MAX_LOCALS => return false,
            None => {
                locals.push(local);
                locals.len() - 1
            }
        };
        flow.local = index as u8;
        flows.push(flow);
        true
    }
    match next {
        NextFlow::V4(local, f) => add(&mut window.v4_locals, &mut window.v4_flows, local, f),
        NextFlow::V6(local, f) => add(&mut window.v6_locals, &mut window.v6_flows, local, f),
    }
}

/// Writes a collection, reads every message back and checks everything the format says
/// about a collection's messages. Returns the decoded messages.
pub fn check_collection(
    collection: &Collection<'_>,
    max_len: usize,
    first_sequence: u32,
) -> Vec<Message> {
    let limit = max_len.clamp(core_message::MIN_MESSAGE_BYTES, 16_384);
    let raw = compose(collection, max_len, first_sequence);
    let mut messages = Vec::with_capacity(raw.len());
    for (i, bytes) in raw.iter().enumerate() {
        assert!(
            bytes.len() <= limit,
            "message {i}: {} bytes over the maximum {limit}",
            bytes.len()
        );
        let message = decode(bytes).unwrap_or_else(|e| {
            panic!(
                "message {i} of {}: {e}\n{}",
                raw.len(),
                nxsm_decode::hex::to_hex(bytes)
            )
        });
        // Every message is in its one canonical encoding.
        assert_eq!(
            &encode(&message),
            bytes,
            "message {i} re-encodes differently"
        );
        messages.push(message);
    }

    let window = collection
        .network
        .filter(|w| !w.v4.is_empty() || !w.v6.is_empty());
    let nothing = window.is_none() && collection.system.is_none() && collection.heartbeat.is_none();
    assert_eq!(
        messages.is_empty(),
        nothing,
        "messages for an empty collection or none"
    );

    for (i, m) in messages.iter().enumerate() {
        // Every format this reader knows: the writer's is not visible through its testing
        // surface, and a collection reads the same in format 2 and 3.
        assert!((nxsm_decode::OLDEST_FORMAT..=nxsm_decode::FORMAT).contains(&m.format));
        assert_eq!(m.format, messages[0].format);
        assert_eq!(m.module, "nxsm");
        assert_eq!(m.module_version, nx_security_module::VERSION, "message {i}");
        assert_eq!(
            m.sequence,
            first_sequence.wrapping_add(i as u32),
            "message {i}"
        );
        assert_eq!(m.time, collection.time, "message {i}");
    }

    // System information and heartbeat: once, in the first message, as given.
    let systems: Vec<(usize, &SystemInformation)> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.system_information().map(|s| (i, s)))
        .collect();
    match collection.system {
        Some(si) => assert_eq!(systems, vec![(0, &system_of(si))]),
        None => assert!(systems.is_empty()),
    }
    let heartbeats: Vec<(usize, &Heartbeat)> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.heartbeat().map(|h| (i, h)))
        .collect();
    match collection.heartbeat {
        Some(hb) => assert_eq!(heartbeats, vec![(0, &heartbeat_of(hb))]),
        None => assert!(heartbeats.is_empty()),
    }

    // The window: parts 0, 1, 2, ... in consecutive messages, `more` on all but the last,
    // every flow exactly once.
    let parts: Vec<&NetworkActivity> = messages
        .iter()
        .filter_map(Message::network_activity)
        .collect();
    match window {
        None => assert!(parts.is_empty(), "network activity without flows"),
        Some(window) => {
            assert_eq!(
                parts.len(),
                messages.len(),
                "a message of the window lacks its part"
            );
            for (i, part) in parts.iter().enumerate() {
                assert_eq!(usize::from(part.part), i % 65_536, "part number");
                assert_eq!(part.duration_s, window.duration_s);
                assert_eq!(part.more, i + 1 < parts.len(), "`more` of part {i}");
                assert!(
                    !part.v4_flows.is_empty() || !part.v6_flows.is_empty(),
                    "part {i} carries no flow"
                );
            }
            let mut got: Vec<Seen> = parts.iter().flat_map(|p| seen(p)).collect();
            let mut want: Vec<Seen> = window
                .v4
                .iter()
                .map(|f| expected(4, f))
                .chain(window.v6.iter().map(|f| expected(6, f)))
                .collect();
            got.sort();
            want.sort();
            assert_eq!(got.len(), want.len(), "flow count");
            assert_eq!(got, want, "flows read back");

            // A part ends early only when the next flow would not fit (or needs a ninth local
            // address): adding it to the message makes the message too long.
            for (i, pair) in messages.windows(2).enumerate() {
                let next = first_flow(pair[1].network_activity().expect("part"))
                    .expect("part carries a flow");
                let mut grown = pair[0].clone();
                let Some(Event::NetworkActivity(part)) = grown.events.get_mut(0) else {
                    panic!("message {i}: network activity is not first");
                };
                if add_flow(part, next) {
                    let len = encode(&grown).len();
                    assert!(
                        len > limit,
                        "message {i} ({} bytes) ended although the next flow fitted ({len} of {limit})",
                        raw[i].len()
                    );
                }
            }
        }
    }
    messages
}

/// Writes alerts with the core's `AlertPlan`, as many messages as they need (numbered from
/// `first_sequence`, wrapping): the bytes of every message and how many alerts each carries.
pub fn write_alerts(
    alerts: &[core_message::Alert],
    max_len: usize,
    first_sequence: u32,
    time: u32,
) -> Vec<(Vec<u8>, usize)> {
    let mut messages = Vec::new();
    let mut rest = alerts;
    let mut sequence = first_sequence;
    while let Some(plan) = core_message::AlertPlan::new(rest, max_len, sequence, time) {
        assert_eq!(plan.sequence(), sequence);
        assert!(plan.count() >= 1 && plan.count() <= rest.len());
        let mut buf = vec![0u8; plan.len()];
        let written = plan
            .write(&mut buf)
            .expect("the writer writes a planned message");
        assert_eq!(written, plan.len(), "plan length and bytes written differ");
        buf.truncate(written);
        messages.push((buf, plan.count()));
        rest = &rest[plan.count()..];
        sequence = sequence.wrapping_add(1);
        assert!(messages.len() <= alerts.len(), "the plans do not advance");
    }
    assert!(rest.is_empty(), "AlertPlan stopped with alerts left");
    messages
}

/// What the format says a reader must see for an alert the writer was given.
pub fn expected_alert(alert: &core_message::Alert) -> nxsm_decode::Alert {
    use core_message::{AlertKind, IpVersion, Subject};
    use nxsm_decode::{Alert, AlertFlow, AlertHead, ConnectionCount};
    let head = AlertHead {
        time: alert.time,
        policy: alert.policy,
        rule: alert.rule,
    };
    match alert.subject {
        Subject::Flow(flow) => {
            let protocol = match flow.protocol {
                TransportKind::Tcp => 0,
                TransportKind::Udp => 1,
                TransportKind::Icmp => 2,
            };
            let initiator = match flow.initiator {
                Direction::Out => nxsm_decode::INITIATOR_LOCAL,
                Direction::In => nxsm_decode::INITIATOR_REMOTE,
            };
            let wire = match flow.version {
                IpVersion::V4 => AlertFlow::V4 {
                    local: flow.local[..4].try_into().unwrap(),
                    local_port: flow.local_port,
                    remote: flow.remote[..4].try_into().unwrap(),
                    remote_port: flow.remote_port,
                    protocol,
                    initiator,
                },
                IpVersion::V6 => AlertFlow::V6 {
                    local: flow.local,
                    local_port: flow.local_port,
                    remote: flow.remote,
                    remote_port: flow.remote_port,
                    protocol,
                    initiator,
                },
            };
            match alert.kind {
                AlertKind::Indicator => Alert::Indicator(head, wire),
                AlertKind::OutboundNotAllowed => Alert::OutboundNotAllowed(head, wire),
                AlertKind::InboundPortNotAllowed => Alert::InboundPortNotAllowed(head, wire),
                AlertKind::ConnectionsOutOfRange => {
                    panic!("the core pairs a connection-count alert with a count")
                }
            }
        }
        Subject::Connections { active, min, max } => {
            assert_eq!(alert.kind, AlertKind::ConnectionsOutOfRange);
            Alert::ConnectionsOutOfRange(head, ConnectionCount { active, min, max })
        }
    }
}

/// A core flow alert; addresses of 4 bytes are IPv4.
#[allow(clippy::too_many_arguments)]
pub fn flow_alert(
    kind: core_message::AlertKind,
    (time, policy, rule): (u32, u32, u32),
    local: &[u8],
    local_port: u16,
    remote: &[u8],
    remote_port: u16,
    protocol: TransportKind,
    initiator: Direction,
) -> core_message::Alert {
    let mut l = [0u8; 16];
    let mut r = [0u8; 16];
    l[..local.len()].copy_from_slice(local);
    r[..remote.len()].copy_from_slice(remote);
    core_message::Alert {
        kind,
        time,
        policy,
        rule,
        subject: core_message::Subject::Flow(core_message::AlertFlow {
            version: if local.len() == 4 {
                core_message::IpVersion::V4
            } else {
                core_message::IpVersion::V6
            },
            protocol,
            local: l,
            local_port,
            remote: r,
            remote_port,
            initiator,
        }),
    }
}

/// A core connection-count alert.
pub fn connections_alert(
    (time, policy): (u32, u32),
    active: u32,
    min: u32,
    max: u32,
) -> core_message::Alert {
    core_message::Alert {
        kind: core_message::AlertKind::ConnectionsOutOfRange,
        time,
        policy,
        rule: 0,
        subject: core_message::Subject::Connections { active, min, max },
    }
}

/// Runs the `nxsm-decode` binary with `args`, `stdin` as its input.
pub fn run(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_nxsm-decode"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nxsm-decode");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}
