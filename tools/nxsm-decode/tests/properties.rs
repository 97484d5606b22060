//! Random collections through the core's writer and back through this reader, and random
//! inventory, findings and audit events through [`nxsm_decode::encode`] and back.

mod common;

use std::collections::HashSet;

use common::check_collection;
use nx_security_module::testing::message::{Collection, Heartbeat, SystemInformation, Window};
use nx_security_module::testing::message::{Direction, DirectionCounters, Flow, Key};
use nx_security_module::testing::wire::{TcpFlags, TransportKind};
use proptest::prelude::*;

fn counter() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..128, 128u32..16_384, any::<u32>(), Just(u32::MAX)]
}

/// A 64-bit heartbeat counter: small, any 32-bit value, past 2^32, or the widest.
fn total() -> impl Strategy<Value = u64> {
    prop_oneof![
        counter().prop_map(u64::from),
        (1u64 << 32)..(1u64 << 40),
        any::<u64>(),
        Just(u64::MAX)
    ]
}

fn protocol() -> impl Strategy<Value = TransportKind> {
    prop_oneof![
        Just(TransportKind::Tcp),
        Just(TransportKind::Udp),
        Just(TransportKind::Icmp)
    ]
}

/// A flow with the local address drawn from `local` (a small pool, so that locals repeat,
/// or anything) and TCP flags only on TCP flows, as the flow table records them.
fn flow<A: Copy + std::fmt::Debug>(
    local: impl Strategy<Value = A>,
    remote: impl Strategy<Value = A>,
) -> impl Strategy<Value = Flow<A>> {
    (
        local,
        remote,
        any::<u16>(),
        any::<u16>(),
        protocol(),
        (counter(), counter(), counter(), counter()),
        any::<u8>(),
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(
            |(local, remote, lp, rp, protocol, (bi, pi, bo, po), fi, fo, opened_by_peer)| {
                let tcp = protocol == TransportKind::Tcp;
                let icmp = protocol == TransportKind::Icmp;
                Flow {
                    inbound: DirectionCounters {
                        bytes: bi,
                        packets: pi,
                    },
                    outbound: DirectionCounters {
                        bytes: bo,
                        packets: po,
                    },
                    flags_in: TcpFlags(if tcp { fi } else { 0 }),
                    flags_out: TcpFlags(if tcp { fo } else { 0 }),
                    last_seen: 0,
                    ..Flow::new(
                        Key {
                            local,
                            remote,
                            local_port: if icmp { 0 } else { lp },
                            remote_port: if icmp { 0 } else { rp },
                            protocol,
                        },
                        0,
                        if opened_by_peer {
                            Direction::In
                        } else {
                            Direction::Out
                        },
                    )
                }
            },
        )
}

fn v4_local() -> impl Strategy<Value = [u8; 4]> {
    prop_oneof![
        3 => (0u8..12).prop_map(|i| [192, 0, 2, i]),
        1 => any::<[u8; 4]>(),
    ]
}

fn v6_local() -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![
        3 => (0u8..12).prop_map(|i| {
            let mut a = [0u8; 16];
            a[..2].copy_from_slice(&[0xfe, 0x80]);
            a[15] = i;
            a
        }),
        1 => any::<[u8; 16]>(),
    ]
}

/// Flows with distinct keys, as one window of the flow table holds them.
fn unique<A: Copy + Eq + std::hash::Hash>(mut flows: Vec<Flow<A>>) -> Vec<Flow<A>> {
    let mut keys = HashSet::new();
    flows.retain(|f| {
        let k = f.key();
        keys.insert((k.local, k.remote, k.local_port, k.remote_port, k.protocol))
    });
    flows
}

fn system() -> impl Strategy<Value = SystemInformation> {
    (
        any::<[u8; 3]>(),
        any::<[u8; 3]>(),
        any::<u32>(),
        (any::<u16>(), any::<u16>(), any::<u16>()),
        (counter(), counter()),
        (counter(), counter(), counter()),
        0u8..8,
        0u8..2,
    )
        .prop_map(
            |(threadx, netx, module_version, (v4, v6, ring), (outbox, max), (h, m, l), c, mode)| {
                SystemInformation {
                    threadx,
                    netx,
                    module_version,
                    max_flows_v4: v4,
                    max_flows_v6: v6,
                    ring_slots: ring,
                    outbox_bytes: outbox,
                    max_message_bytes: max,
                    intervals_s: [h, m, l],
                    collectors: c,
                    capture_mode: mode,
                }
            },
        )
}

fn heartbeat() -> impl Strategy<Value = Heartbeat> {
    (
        (counter(), total(), total(), total(), total()),
        (total(), total(), counter(), counter(), counter()),
        (any::<u16>(), counter(), counter(), counter(), counter()),
        (counter(), counter(), counter(), total()),
    )
        .prop_map(
            |((a, b, c, d, e), (f, g, h, i, j), (k, l, m, n, o), (p, q, r, s))| Heartbeat {
                uptime_s: a,
                packets_seen: b,
                packets_counted: c,
                malformed: d,
                ignored: e,
                ring_dropped: f,
                table_full_dropped: g,
                messages_sent: h,
                messages_failed: i,
                messages_dropped: j,
                outbox_messages: k,
                outbox_used_bytes: l,
                outbox_peak_bytes: m,
                clock_unavailable: n,
                clock_steps_back: o,
                collections_waited: p,
                alerts_sent: q,
                alerts_suppressed: r,
                packets_blocked: s,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_collections_round_trip(
        v4 in prop::collection::vec(flow(v4_local(), any::<[u8; 4]>()), 0..160),
        v6 in prop::collection::vec(flow(v6_local(), any::<[u8; 16]>()), 0..80),
        with_window in any::<bool>(),
        si in prop::option::of(system()),
        hb in prop::option::of(heartbeat()),
        time in any::<u32>(),
        duration_s in counter(),
        max_len in 256usize..=2048,
        first_sequence in any::<u32>(),
    ) {
        let (v4, v6) = (unique(v4), unique(v6));
        let collection = Collection {
            time,
            network: with_window.then_some(Window { duration_s, v4: &v4, v6: &v6 }),
            system: si.as_ref(),
            heartbeat: hb.as_ref(),
        };
        let messages = check_collection(&collection, max_len, first_sequence);
        // The JSON view of every message resolves every flow's local address.
        for m in &messages {
            let json = nxsm_decode::to_json(m);
            for event in json["events"].as_array().unwrap() {
                if let Some(flows) = event["flows"].as_array() {
                    for f in flows {
                        prop_assert!(f["local"].is_string());
                        prop_assert!(["tcp", "udp", "icmp"].contains(&f["proto"].as_str().unwrap()));
                    }
                }
            }
        }
    }

    /// Few local addresses, many small flows: long windows split over many parts.
    #[test]
    fn long_windows_split_at_small_maxima(
        v4 in prop::collection::vec(flow((0u8..3).prop_map(|i| [10, 0, 0, i]), any::<[u8; 4]>()), 100..400),
        v6 in prop::collection::vec(flow(v6_local(), any::<[u8; 16]>()), 0..150),
        max_len in 256usize..=512,
        first_sequence in any::<u32>(),
    ) {
        let (v4, v6) = (unique(v4), unique(v6));
        let si = SystemInformation::default();
        let collection = Collection {
            time: 1_700_000_000,
            network: Some(Window { duration_s: 10, v4: &v4, v6: &v6 }),
            system: Some(&si),
            heartbeat: None,
        };
        let messages = check_collection(&collection, max_len, first_sequence);
        prop_assert!(messages.len() > 1);
    }
}

// ---- Inventory, findings and audit (format 3): no writer in the core's testing surface yet,
// so random events of this reader's own types go through `encode` and back.

mod lone_events {
    use nxsm_decode::replay::{message_lines, Format, Replay};
    use nxsm_decode::{
        decode, encode, to_json, AuditCategory, AuditKind, AuditRecord, Connection, DecodeError,
        Event, Finding, FindingHead, Inventory, Message, RiskyService, Socket,
    };
    use proptest::prelude::*;

    fn counter() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..128, 128u32..16_384, any::<u32>(), Just(u32::MAX)]
    }

    fn socket() -> impl Strategy<Value = Socket> {
        prop_oneof![
            (any::<u8>(), any::<u16>()).prop_map(|(ip, port)| Socket::TcpListening { ip, port }),
            (any::<u8>(), any::<u16>()).prop_map(|(ip, port)| Socket::UdpBound { ip, port }),
            (any::<u8>(), any::<([u8; 4], u16, [u8; 4], u16)>()).prop_map(
                |(ip, (local, local_port, remote, remote_port))| Socket::TcpEstablished {
                    ip,
                    connection: Connection::V4 {
                        local,
                        local_port,
                        remote,
                        remote_port,
                    },
                }
            ),
            (any::<u8>(), any::<([u8; 16], u16, [u8; 16], u16)>()).prop_map(
                |(ip, (local, local_port, remote, remote_port))| Socket::TcpEstablished {
                    ip,
                    connection: Connection::V6 {
                        local,
                        local_port,
                        remote,
                        remote_port,
                    },
                }
            ),
        ]
    }

    fn inventory() -> impl Strategy<Value = Inventory> {
        (
            prop::collection::vec(socket(), 0..40),
            prop_oneof![Just(0u32), counter()],
            any::<u16>(),
            any::<bool>(),
        )
            .prop_map(|(sockets, unlisted, part, more)| Inventory {
                found: (sockets.len() as u32).saturating_add(unlisted),
                part,
                more,
                sockets,
            })
    }

    fn finding() -> impl Strategy<Value = Finding> {
        let head =
            (any::<bool>(), counter()).prop_map(|(active, time)| FindingHead { active, time });
        (head, 0u8..5, 0u8..2, any::<u16>(), 0u32..8, counter()).prop_map(
            |(head, variant, protocol, port, reason, count)| match variant {
                0 => Finding::RiskyService(
                    head,
                    RiskyService {
                        protocol,
                        port,
                        reason,
                    },
                ),
                1 => Finding::UnhookedIp(head, count),
                2 => Finding::HookReplaced(head, count),
                3 => Finding::NetworkActivityOff(head),
                _ => Finding::NoClock(head),
            },
        )
    }

    fn record() -> impl Strategy<Value = AuditRecord> {
        (
            (counter(), counter()),
            1u32..=13,
            prop_oneof![3 => Just(0u32), 1 => counter()],
            (counter(), counter(), counter()),
        )
            .prop_map(|((sequence, time), kind, result, (subject, old, new))| {
                let kind_of = AuditKind::from_number(kind).unwrap_or(AuditKind::Stopped);
                // Only a refusable request has a result, and then it is a request error.
                let result = if kind_of.can_be_refused() { result } else { 0 };
                let category = if result != 0 {
                    AuditCategory::RequestError
                } else {
                    kind_of.category()
                };
                AuditRecord {
                    sequence,
                    time,
                    category: category.number(),
                    kind,
                    result,
                    subject,
                    old,
                    new,
                }
            })
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            inventory().prop_map(Event::Inventory),
            prop::collection::vec(finding(), 1..20).prop_map(Event::Findings),
            prop::collection::vec(record(), 1..20).prop_map(Event::Audit),
        ]
    }

    fn table(message: &Message) -> String {
        let mut replay = Replay::new(Vec::new(), Format::Table);
        replay.message(message).unwrap();
        String::from_utf8(replay.finish().unwrap()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_lone_events_round_trip(
            event in event(),
            (module_version, sequence, time) in any::<(u32, u32, u32)>(),
            cut in any::<prop::sample::Index>(),
            (at, value) in (any::<prop::sample::Index>(), any::<u8>()),
        ) {
            let message = Message {
                format: 3,
                module: "nxsm".into(),
                module_version,
                sequence,
                time,
                events: vec![event],
            };
            let bytes = encode(&message);
            prop_assert_eq!(decode(&bytes), Ok(message.clone()));
            // One line per finding or audit record, one for an inventory.
            let lines = message_lines(&message);
            let expected = match &message.events[0] {
                Event::Findings(f) => f.len(),
                Event::Audit(r) => r.len(),
                _ => 1,
            };
            prop_assert_eq!(lines.len(), expected);
            for line in &lines {
                prop_assert_eq!(&line["seq"], &serde_json::json!(sequence));
                prop_assert_eq!(&line["t"], &serde_json::json!(time));
            }
            let json = to_json(&message).to_string();
            prop_assert!(!json.contains("invalid"));
            prop_assert!(!table(&message).contains("invalid"));
            // Cut anywhere: truncated. One byte changed: an error or a message, no panic.
            prop_assert_eq!(decode(&bytes[..cut.index(bytes.len())]), Err(DecodeError::Truncated));
            let mut changed = bytes.clone();
            changed[at.index(bytes.len())] = value;
            if let Ok(m) = decode(&changed) {
                let _ = to_json(&m);
                let _ = message_lines(&m);
                let _ = table(&m);
            }
            // The same event in a format-2 message is refused.
            let mut old = bytes.clone();
            old[0] = 2;
            prop_assert!(
                matches!(decode(&old), Err(DecodeError::EventNotInFormat { format: 2, .. })),
                "{:?}",
                decode(&old)
            );
        }
    }
}
