//! The core's writer against this reader: every event type, splitting, the golden bytes.

mod common;

use common::{check_collection, compose, flow};
use nx_security_module::testing::message::Flow;
use nx_security_module::testing::message::{Collection, Heartbeat, SystemInformation, Window};
use nx_security_module::testing::wire::TransportKind::{Icmp, Tcp, Udp};
use nxsm_decode::{decode, decode_hex_text, encode, to_json, Event, FlagSet, Protocol};
use serde_json::json;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

fn system() -> SystemInformation {
    SystemInformation {
        threadx: [6, 4, 1],
        netx: [6, 4, 2],
        module_version: nx_security_module::VERSION,
        max_flows_v4: 64,
        max_flows_v6: 32,
        ring_slots: 256,
        outbox_bytes: 8192,
        max_message_bytes: 1024,
        intervals_s: [10, 60, 3600],
        collectors: 0b111,
        capture_mode: 1,
    }
}

fn heartbeat() -> Heartbeat {
    Heartbeat {
        uptime_s: 86_400,
        packets_seen: 1_000_000,
        packets_counted: 999_000,
        malformed: 500,
        ignored: 400,
        ring_dropped: 100,
        table_full_dropped: 0,
        messages_sent: 9_000,
        messages_failed: 3,
        messages_dropped: 1,
        outbox_messages: 2,
        outbox_used_bytes: 1_800,
        outbox_peak_bytes: 4_000,
        clock_unavailable: 7,
        clock_steps_back: 8,
        collections_waited: 9,
        alerts_sent: 10,
        alerts_suppressed: 11,
        packets_blocked: 12,
    }
}

fn v4_flows() -> Vec<Flow<[u8; 4]>> {
    vec![
        flow(
            [192, 168, 1, 10],
            [20, 1, 2, 3],
            50_000,
            8883,
            Tcp,
            (1000, 4),
            (2000, 5),
            (SYN | ACK, SYN),
        ),
        flow(
            [192, 168, 1, 10],
            [8, 8, 8, 8],
            40_000,
            53,
            Udp,
            (120, 1),
            (40, 1),
            (0, 0),
        ),
        flow(
            [10, 0, 0, 1],
            [10, 0, 0, 254],
            0,
            0,
            Icmp,
            (84, 1),
            (84, 1),
            (0, 0),
        ),
        flow(
            [10, 0, 0, 1],
            [203, 0, 113, 9],
            443,
            61_000,
            Tcp,
            (u32::MAX, u32::MAX),
            (0, 0),
            (FIN | RST | PSH | ACK, FIN | SYN | RST),
        ),
    ]
}

fn v6_flows() -> Vec<Flow<[u8; 16]>> {
    let fe80_1 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let db8_2 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let db8_1 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    vec![
        flow(fe80_1, db8_2, 0, 0, Icmp, (0, 0), (64, 1), (0, 0)),
        flow(
            db8_1,
            db8_2,
            u16::MAX,
            1,
            Tcp,
            (16_384, 127),
            (16_383, 128),
            (RST, ACK),
        ),
        flow(
            db8_1,
            fe80_1,
            5683,
            5683,
            Udp,
            (1, 1),
            (2_097_152, 2),
            (0, 0),
        ),
    ]
}

#[test]
fn system_information_alone() {
    let si = system();
    let c = Collection {
        time: 1_700_000_000,
        network: None,
        system: Some(&si),
        heartbeat: None,
    };
    let messages = check_collection(&c, 1024, 41);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].events.len(), 1);
    let json = to_json(&messages[0]);
    assert_eq!(json["events"][0]["threadx"], "6.4.1");
    assert_eq!(json["events"][0]["netx"], "6.4.2");
    assert_eq!(json["events"][0]["capture_mode"], "ip-input");
    assert_eq!(json["events"][0]["intervals_s"]["low"], 3600);
}

#[test]
fn heartbeat_alone_and_at_its_limits() {
    for hb in [
        heartbeat(),
        Heartbeat::default(),
        Heartbeat {
            uptime_s: u32::MAX,
            packets_seen: u64::MAX,
            packets_counted: u64::MAX,
            malformed: u64::MAX,
            ignored: u64::MAX,
            ring_dropped: u64::MAX,
            table_full_dropped: u64::MAX,
            messages_sent: u32::MAX,
            messages_failed: u32::MAX,
            messages_dropped: u32::MAX,
            outbox_messages: u16::MAX,
            outbox_used_bytes: u32::MAX,
            outbox_peak_bytes: u32::MAX,
            clock_unavailable: u32::MAX,
            clock_steps_back: u32::MAX,
            collections_waited: u32::MAX,
            alerts_sent: u32::MAX,
            alerts_suppressed: u32::MAX,
            packets_blocked: u64::MAX,
        },
    ] {
        let c = Collection {
            time: u32::MAX,
            network: None,
            system: None,
            heartbeat: Some(&hb),
        };
        let messages = check_collection(&c, 256, u32::MAX);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].sequence, u32::MAX);
    }
}

#[test]
fn network_activity_v4_only_v6_only_and_both() {
    let v4 = v4_flows();
    let v6 = v6_flows();
    for (a, b) in [(&v4[..], &[][..]), (&[][..], &v6[..]), (&v4[..], &v6[..])] {
        let c = Collection {
            time: 1_700_000_000,
            network: Some(Window {
                duration_s: 10,
                v4: a,
                v6: b,
            }),
            system: None,
            heartbeat: None,
        };
        let messages = check_collection(&c, 1024, 0);
        assert_eq!(messages.len(), 1);
    }
}

#[test]
fn every_field_of_every_event_in_one_message() {
    let (v4, v6, si, hb) = (v4_flows(), v6_flows(), system(), heartbeat());
    let c = Collection {
        time: 1_700_000_000,
        network: Some(Window {
            duration_s: 10,
            v4: &v4,
            v6: &v6,
        }),
        system: Some(&si),
        heartbeat: Some(&hb),
    };
    let messages = check_collection(&c, 1024, 7);
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.events.len(), 3);
    assert!(matches!(m.events[0], Event::NetworkActivity(_)));
    assert!(matches!(m.events[1], Event::SystemInformation(_)));
    assert!(matches!(m.events[2], Event::Heartbeat(_)));
    let w = m.network_activity().unwrap();
    assert_eq!((w.duration_s, w.part, w.more), (10, 0, false));
    assert_eq!(w.v4_locals.len(), 2);
    assert_eq!(w.v6_locals.len(), 2);
    // Flag mapping: header bits FIN 0x01, SYN 0x02, RST 0x04 -> SYN, FIN, RST; others dropped.
    let last = w
        .v4_flows
        .iter()
        .find(|f| f.remote == [203, 0, 113, 9])
        .unwrap();
    assert_eq!(last.protocol(), Some(Protocol::Tcp));
    assert_eq!(last.flags_in(), FlagSet::FIN.union(FlagSet::RST));
    assert_eq!(
        last.flags_out(),
        FlagSet::SYN.union(FlagSet::FIN).union(FlagSet::RST)
    );
    assert_eq!((last.bytes_in, last.packets_in), (u32::MAX, u32::MAX));

    let json = to_json(m);
    let flows = json["events"][0]["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 7);
    assert_eq!(
        flows[0],
        json!({"ip": 4, "proto": "tcp", "local": "192.168.1.10", "local_port": 50000,
               "remote": "20.1.2.3", "remote_port": 8883, "bytes_in": 1000,
               "bytes_out": 2000, "packets_in": 4, "packets_out": 5,
               "tcp_flags_in": ["SYN"], "tcp_flags_out": ["SYN"], "initiator": "local"})
    );
    let v6_icmp = flows
        .iter()
        .find(|f| f["remote"] == "2001:db8::2" && f["proto"] == "icmp");
    assert_eq!(v6_icmp.unwrap()["local"], "fe80::1");
    assert_eq!(
        json["events"][0]["window"],
        json!({"start": 1_699_999_990, "end": 1_700_000_000, "duration_s": 10})
    );
}

/// Many flows with many local addresses, split at several small maxima.
type V4 = Vec<Flow<[u8; 4]>>;
type V6 = Vec<Flow<[u8; 16]>>;

fn crowd() -> (V4, V6) {
    let v4 = (0..300u32)
        .map(|i| {
            let protocol = [Tcp, Udp, Icmp][(i % 3) as usize];
            let flags = if protocol == Tcp {
                ((i % 8) as u8, (i % 5) as u8)
            } else {
                (0, 0)
            };
            flow(
                [10, 0, (i % 11) as u8, 1],
                [198, 51, (i / 256) as u8, i as u8],
                (i * 7) as u16,
                443,
                protocol,
                (i * 1000, i),
                (i * i * 97, i * 3),
                flags,
            )
        })
        .collect();
    let v6 = (0..120u32)
        .map(|i| {
            let mut local = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
            local[15] = (i % 13) as u8;
            let mut remote = [
                0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ];
            remote[14] = (i >> 8) as u8;
            remote[15] = i as u8;
            flow(
                local,
                remote,
                5683,
                (i * 13) as u16,
                [Udp, Tcp][(i % 2) as usize],
                (i.pow(3), i),
                (u32::MAX - i, i * 2),
                ((i % 2) as u8 * SYN, 0),
            )
        })
        .collect();
    (v4, v6)
}

#[test]
fn split_windows_give_back_every_flow_once() {
    let (v4, v6) = crowd();
    let (si, hb) = (system(), heartbeat());
    for max in [0, 100, 256, 257, 300, 512, 700, 1024, 2048, 16_384, 100_000] {
        for (system, heartbeat) in [(None, None), (Some(&si), Some(&hb)), (None, Some(&hb))] {
            let c = Collection {
                time: 1_700_000_000,
                network: Some(Window {
                    duration_s: 60,
                    v4: &v4,
                    v6: &v6,
                }),
                system,
                heartbeat,
            };
            let messages = check_collection(&c, max, u32::MAX - 3);
            if max <= 1024 {
                assert!(
                    messages.len() > 1,
                    "max {max}: {} message(s)",
                    messages.len()
                );
            }
        }
    }
}

#[test]
fn empty_window_and_empty_collection() {
    let hb = heartbeat();
    let c = Collection {
        time: 5,
        network: Some(Window {
            duration_s: 10,
            v4: &[],
            v6: &[],
        }),
        system: None,
        heartbeat: Some(&hb),
    };
    let messages = check_collection(&c, 1024, 0);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].network_activity().is_none());
    let nothing = Collection {
        time: 5,
        network: Some(Window {
            duration_s: 10,
            v4: &[],
            v6: &[],
        }),
        system: None,
        heartbeat: None,
    };
    assert!(compose(&nothing, 1024, 0).is_empty());
}

#[test]
fn nine_local_addresses_need_two_parts() {
    let v4: Vec<Flow<[u8; 4]>> = (0..9u8)
        .map(|i| {
            flow(
                [10, 0, 0, i],
                [1, 1, 1, 1],
                1,
                1,
                Udp,
                (1, 1),
                (1, 1),
                (0, 0),
            )
        })
        .collect();
    let c = Collection {
        time: 1,
        network: Some(Window {
            duration_s: 1,
            v4: &v4,
            v6: &[],
        }),
        system: None,
        heartbeat: None,
    };
    let messages = check_collection(&c, 16_384, 0);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].network_activity().unwrap().v4_locals.len(), 8);
}

#[test]
fn golden_bytes_read_as_the_format_page_describes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/network_v4_v6.hex"
    );
    let text = std::fs::read(path).expect("golden file");
    let results = decode_hex_text(&text);
    assert_eq!(results.len(), 1, "one message in the golden file");
    let message = results[0].1.clone().expect("golden message decodes");
    // Section 6: sequence 7, time 1,700,000,000, a 10-s window, two flows, SI and heartbeat.
    assert_eq!((message.sequence, message.time), (7, 1_700_000_000));
    assert_eq!(message.module_version, nx_security_module::VERSION);
    let json = to_json(&message);
    let events = json["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["window"]["duration_s"], 10);
    assert_eq!(
        events[0]["flows"],
        json!([
            {"ip": 4, "proto": "tcp", "local": "192.168.1.10", "local_port": 50000,
             "remote": "20.1.2.3", "remote_port": 8883, "bytes_in": 1000, "bytes_out": 2000,
             "packets_in": 4, "packets_out": 5, "tcp_flags_in": ["SYN"], "tcp_flags_out": ["SYN"],
             "initiator": "local"},
            {"ip": 6, "proto": "icmp", "local": "fe80::1", "local_port": 0,
             "remote": "2001:db8::2", "remote_port": 0, "bytes_in": 0, "bytes_out": 64,
             "packets_in": 0, "packets_out": 1, "tcp_flags_in": [], "tcp_flags_out": [],
             "initiator": "local"}
        ])
    );
    assert_eq!(events[1]["event"], "system_information");
    assert_eq!(events[2]["event"], "heartbeat");
    // The reader's own encoding of what it read is the golden bytes.
    let bytes: Vec<u8> = text
        .split(|&b| b == b'\n')
        .flat_map(|line| nxsm_decode::hex::parse_line(line).unwrap())
        .collect();
    assert_eq!(encode(&message), bytes);
    assert_eq!(decode(&bytes).unwrap(), message);
}
