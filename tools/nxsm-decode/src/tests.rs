//! Unit tests on bytes written by hand from docs/wire-format.md (no writer involved).

use super::*;
use serde_json::json;

/// Unsigned LEB128, as section 1 of the wire format describes it.
fn varint(value: u32) -> Vec<u8> {
    varint64(u64::from(value))
}

/// The same for a `u64` (the same bytes for a value that fits a `u32`).
fn varint64(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

/// The header: format 2, "nxsm", version 0.1.0, sequence 7, time 1,700,000,000.
const HEADER: &[u8] = &[
    0x02, // format
    0x04, b'n', b'x', b's', b'm', // module
    0x80, 0x80, 0x04, // module_version 0x0001_0000 (0.1.0)
    0x07, // sequence
    0x80, 0xe2, 0xcf, 0xaa, 0x06, // time 1,700,000,000
];

/// NetworkActivity of the worked example (section 6), variant number first.
fn network_event() -> Vec<u8> {
    let mut b = vec![
        0x00, // variant NetworkActivity
        0x0a, // duration_s 10
        0x00, // part 0
        0x00, // more false
        0x01, 192, 168, 1, 10,   // v4_locals [192.168.1.10]
        0x01, // one IPv4 flow
        0x00, // local index 0
        20, 1, 2, 3, // remote 20.1.2.3
        0xc3, 0x50, // local_port 50000
        0x22, 0xb3, // remote_port 8883
        0x24, // TCP, SYN in (bit 2), SYN out (bit 5)
        0x00, // initiator: the device
        0xe8, 0x07, // bytes_in 1000
        0xd0, 0x0f, // bytes_out 2000
        0x04, // packets_in
        0x05, // packets_out
        0x01, // one IPv6 local
    ];
    b.extend([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]); // fe80::1
    b.push(0x01); // one IPv6 flow
    b.push(0x00); // local index 0
    b.extend([
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    ]); // 2001:db8::2
    b.extend([0, 0, 0, 0]); // ports
    b.push(0x02); // ICMP, no flags
    b.push(0x00); // initiator: the device
    b.extend([0x00, 0x40, 0x00, 0x01]); // 0 in, 64 out, 0 packets in, 1 out
    b
}

fn system_event() -> Vec<u8> {
    let mut b = vec![0x01, 6, 4, 1, 6, 4, 1]; // variant, threadx 6.4.1, netx 6.4.1
    b.extend([0x80, 0x80, 0x04]); // module_version 0.1.0
    b.extend([0x40, 0x20]); // max_flows_v4 64, max_flows_v6 32
    b.extend([0x80, 0x01]); // ring_slots 128
    b.extend([0x80, 0x40]); // outbox_bytes 8192
    b.extend([0x80, 0x08]); // max_message_bytes 1024
    b.extend([0x0a, 0x3c, 0xac, 0x02]); // intervals 10, 60, 300
    b.extend([0x07, 0x01]); // collectors all, capture mode IP input
    b
}

fn heartbeat_event() -> Vec<u8> {
    let mut b = vec![0x02];
    for value in [3600u32, 100, 90, 4, 3, 2, 1, 5, 6, 7] {
        b.extend(varint(value));
    }
    b.push(0x02); // outbox_messages
    b.extend(varint(1500)); // outbox_used_bytes
    b.extend(varint(u32::MAX)); // outbox_peak_bytes
    b.push(0x00); // clock_unavailable
    b.push(0x03); // clock_steps_back
    b.push(0x02); // collections_waited
    b.push(0x05); // alerts_sent
    b.push(0x01); // alerts_suppressed
    b.extend(varint64(1 << 40)); // packets_blocked
    b
}

fn message(events: &[Vec<u8>]) -> Vec<u8> {
    let mut b = HEADER.to_vec();
    b.extend(varint(events.len() as u32));
    for e in events {
        b.extend(e);
    }
    b
}

fn example() -> Vec<u8> {
    message(&[network_event(), system_event(), heartbeat_event()])
}

#[test]
fn worked_example_decodes_field_by_field() {
    let m = decode(&example()).unwrap();
    assert_eq!(m.format, 2);
    assert_eq!(m.module, "nxsm");
    assert_eq!(m.module_version, 0x0001_0000);
    assert_eq!(m.sequence, 7);
    assert_eq!(m.time, 1_700_000_000);
    assert_eq!(m.events.len(), 3);
    let w = m.network_activity().unwrap();
    assert_eq!((w.duration_s, w.part, w.more), (10, 0, false));
    assert_eq!(w.v4_locals, vec![[192, 168, 1, 10]]);
    assert_eq!(
        w.v4_flows,
        vec![FlowV4 {
            local: 0,
            remote: [20, 1, 2, 3],
            local_port: 50000,
            remote_port: 8883,
            kind: kind_byte(Protocol::Tcp, FlagSet::SYN, FlagSet::SYN),
            initiator: INITIATOR_LOCAL,
            bytes_in: 1000,
            bytes_out: 2000,
            packets_in: 4,
            packets_out: 5,
        }]
    );
    let f = &w.v4_flows[0];
    assert_eq!(f.protocol(), Some(Protocol::Tcp));
    assert_eq!((f.flags_in(), f.flags_out()), (FlagSet::SYN, FlagSet::SYN));
    assert_eq!(w.v6_locals.len(), 1);
    let g = &w.v6_flows[0];
    assert_eq!(g.protocol(), Some(Protocol::Icmp));
    assert_eq!((g.local_port, g.remote_port), (0, 0));
    assert_eq!(
        (g.bytes_in, g.bytes_out, g.packets_in, g.packets_out),
        (0, 64, 0, 1)
    );
    assert_eq!(
        m.system_information(),
        Some(&SystemInformation {
            threadx: [6, 4, 1],
            netx: [6, 4, 1],
            module_version: 0x0001_0000,
            max_flows_v4: 64,
            max_flows_v6: 32,
            ring_slots: 128,
            outbox_bytes: 8192,
            max_message_bytes: 1024,
            intervals_s: [10, 60, 300],
            collectors: 7,
            capture_mode: 1,
        })
    );
    assert_eq!(
        m.heartbeat(),
        Some(&Heartbeat {
            uptime_s: 3600,
            packets_seen: 100,
            packets_counted: 90,
            malformed: 4,
            ignored: 3,
            ring_dropped: 2,
            table_full_dropped: 1,
            messages_sent: 5,
            messages_failed: 6,
            messages_dropped: 7,
            outbox_messages: 2,
            outbox_used_bytes: 1500,
            outbox_peak_bytes: u32::MAX,
            clock_unavailable: 0,
            clock_steps_back: 3,
            collections_waited: 2,
            alerts_sent: 5,
            alerts_suppressed: 1,
            packets_blocked: 1 << 40,
        })
    );
    // The reader's own encoder gives back the hand-written bytes.
    assert_eq!(encode(&m), example());
}

#[test]
fn worked_example_as_json() {
    let m = decode(&example()).unwrap();
    let v = to_json(&m);
    assert_eq!(v["module_version"], "0.1.0");
    assert_eq!(v["sequence"], 7);
    let na = &v["events"][0];
    assert_eq!(na["event"], "network_activity");
    assert_eq!(
        na["window"],
        json!({"start": 1_699_999_990, "end": 1_700_000_000, "duration_s": 10})
    );
    assert_eq!(
        na["flows"][0],
        json!({"ip": 4, "proto": "tcp", "local": "192.168.1.10", "local_port": 50000,
               "remote": "20.1.2.3", "remote_port": 8883, "bytes_in": 1000, "bytes_out": 2000,
               "packets_in": 4, "packets_out": 5, "tcp_flags_in": ["SYN"],
               "tcp_flags_out": ["SYN"], "initiator": "local"})
    );
    assert_eq!(na["flows"][1]["local"], "fe80::1");
    assert_eq!(na["flows"][1]["remote"], "2001:db8::2");
    assert_eq!(na["flows"][1]["proto"], "icmp");
    assert_eq!(na["flows"][1]["tcp_flags_out"], json!([]));
    let si = &v["events"][1];
    assert_eq!(si["event"], "system_information");
    assert_eq!(si["threadx"], "6.4.1");
    assert_eq!(si["capture_mode"], "ip-input");
    assert_eq!(
        si["collectors"],
        json!(["network_activity", "system_information", "heartbeat"])
    );
    assert_eq!(
        si["intervals_s"],
        json!({"high": 10, "medium": 60, "low": 300})
    );
    assert_eq!(v["events"][2]["outbox_peak_bytes"], u32::MAX);
    // Keys keep the documented order.
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "format",
            "module",
            "module_version",
            "sequence",
            "time",
            "events"
        ]
    );
}

#[test]
fn single_events_decode() {
    for event in [network_event(), system_event(), heartbeat_event()] {
        let m = decode(&message(&[event])).unwrap();
        assert_eq!(m.events.len(), 1);
    }
    let m = decode(&message(&[system_event(), heartbeat_event()])).unwrap();
    assert!(m.network_activity().is_none());
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = example();
    for len in 0..bytes.len() {
        assert_eq!(
            decode(&bytes[..len]),
            Err(DecodeError::Truncated),
            "length {len}"
        );
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = example();
    bytes.push(0);
    assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes(1)));
    bytes.extend([1, 2]);
    assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes(3)));
}

#[test]
fn format_and_module() {
    let mut bytes = example();
    bytes[0] = 1;
    assert_eq!(decode(&bytes), Err(DecodeError::UnsupportedFormat(1)));
    bytes[0] = 3;
    assert_eq!(decode(&bytes).unwrap().format, 3);
    bytes[0] = 4;
    assert_eq!(decode(&bytes), Err(DecodeError::UnsupportedFormat(4)));
    bytes[0] = 0;
    assert_eq!(decode(&bytes), Err(DecodeError::UnsupportedFormat(0)));
    let mut bytes = example();
    bytes[5] = b'n';
    assert_eq!(decode(&bytes), Err(DecodeError::WrongModule("nxsn".into())));
    bytes[5] = 0xff;
    assert_eq!(decode(&bytes), Err(DecodeError::BadUtf8));
    // A longer module id shifts everything after it: still refused for the id.
    let mut bytes = vec![0x02, 0x05, b'n', b'x', b's', b'm', b'2'];
    bytes.extend(&example()[6..]);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::WrongModule("nxsm2".into()))
    );
}

#[test]
fn event_list_rules() {
    assert_eq!(decode(&message(&[])), Err(DecodeError::NoEvents));
    assert_eq!(
        decode(&message(&[heartbeat_event(), heartbeat_event()])),
        Err(DecodeError::DuplicateEvent(EventKind::Heartbeat))
    );
    assert_eq!(
        decode(&message(&[heartbeat_event(), system_event()])),
        Err(DecodeError::EventOrder {
            found: EventKind::SystemInformation,
            after: EventKind::Heartbeat
        })
    );
    assert_eq!(
        decode(&message(&[system_event(), network_event()])),
        Err(DecodeError::EventOrder {
            found: EventKind::NetworkActivity,
            after: EventKind::SystemInformation
        })
    );
    assert_eq!(
        decode(&message(&[
            network_event(),
            system_event(),
            heartbeat_event(),
            heartbeat_event()
        ])),
        Err(DecodeError::DuplicateEvent(EventKind::Heartbeat))
    );
    // Variants 5 to 7 are the inventory, findings and audit events; 8 and above are unknown.
    for variant in [8u32, 9, 127, 128, u32::MAX] {
        let mut event = varint(variant);
        event.extend(&heartbeat_event()[1..]);
        assert_eq!(
            decode(&message(&[event])),
            Err(DecodeError::UnknownEvent(variant))
        );
    }
    // The unknown number does not stick to the next decode.
    assert!(decode(&example()).is_ok());
    let mut bytes = message(&[heartbeat_event()]);
    let at = HEADER.len() + 1;
    bytes[at] = 0xff; // a variant varint that never ends within u32
    bytes.truncate(at + 1);
    bytes.extend([0xff, 0xff, 0xff, 0xff, 0x01]);
    assert_eq!(decode(&bytes), Err(DecodeError::BadVarint));
}

/// Offsets of the network event's fields inside `example()`.
const NET: usize = HEADER.len() + 1; // after the event count
const MORE: usize = NET + 3;
const V4_LOCAL_COUNT: usize = NET + 4;
const V4_FLOW: usize = NET + 10; // first byte of the IPv4 flow (its local index)
const V4_KIND: usize = V4_FLOW + 9;

#[test]
fn bool_bytes() {
    let mut bytes = example();
    assert_eq!(bytes[MORE], 0);
    bytes[MORE] = 1;
    assert!(decode(&bytes).unwrap().network_activity().unwrap().more);
    for bad in [2u8, 0x80, 0xff] {
        bytes[MORE] = bad;
        assert_eq!(decode(&bytes), Err(DecodeError::BadBool));
    }
}

#[test]
fn protocol_and_flags() {
    let mut bytes = example();
    assert_eq!(bytes[V4_KIND], 0x24);
    bytes[V4_KIND] = 0x03;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::InvalidProtocol {
            ip: IpVersion::V4,
            flow: 0
        })
    );
    bytes[V4_KIND] = 0x01 | 0x04; // UDP with SYN in
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::FlagsWithoutTcp {
            ip: IpVersion::V4,
            flow: 0
        })
    );
    bytes[V4_KIND] = 0xfc; // TCP, every flag both ways
    let m = decode(&bytes).unwrap();
    let f = &m.network_activity().unwrap().v4_flows[0];
    assert_eq!(f.flags_in().names(), ["SYN", "FIN", "RST"]);
    assert_eq!(f.flags_out().names(), ["SYN", "FIN", "RST"]);
    bytes[V4_KIND] = 0b0100_1000; // FIN in, FIN out
    let v = to_json(&decode(&bytes).unwrap());
    assert_eq!(v["events"][0]["flows"][0]["tcp_flags_in"], json!(["FIN"]));
    assert_eq!(v["events"][0]["flows"][0]["tcp_flags_out"], json!(["FIN"]));
    bytes[V4_KIND] = 0b1001_0000; // RST in (bit 4), RST out (bit 7)
    let m = decode(&bytes).unwrap();
    let f = &m.network_activity().unwrap().v4_flows[0];
    assert_eq!((f.flags_in(), f.flags_out()), (FlagSet::RST, FlagSet::RST));
    bytes[V4_KIND] = 0x02; // ICMP
    assert_eq!(
        to_json(&decode(&bytes).unwrap())["events"][0]["flows"][0]["proto"],
        "icmp"
    );
}

#[test]
fn local_index_in_range() {
    let mut bytes = example();
    bytes[V4_FLOW] = 1;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::LocalIndex {
            ip: IpVersion::V4,
            flow: 0,
            index: 1,
            locals: 1
        })
    );
    bytes[V4_FLOW] = 0xff;
    assert!(matches!(
        decode(&bytes),
        Err(DecodeError::LocalIndex { index: 255, .. })
    ));
}

/// A window with the given IPv4 locals and flows `(local index, remote last octet, kind)`.
fn v4_window(locals: &[[u8; 4]], flows: &[(u8, u8, u8)]) -> Vec<u8> {
    let mut b = vec![0x00, 0x0a, 0x00, 0x00];
    b.extend(varint(locals.len() as u32));
    for l in locals {
        b.extend(l);
    }
    b.extend(varint(flows.len() as u32));
    for &(local, remote, kind) in flows {
        b.extend([
            local, 10, 0, 0, remote, 0x00, 0x50, 0x04, 0x00, kind, 0, 0, 0, 0, 0,
        ]);
    }
    b.extend([0x00, 0x00]); // no IPv6
    b
}

#[test]
fn the_initiator_is_local_or_remote() {
    let mut bytes = example();
    // The IPv4 flow's initiator byte follows its kind byte 0x24.
    let at = bytes.iter().position(|&b| b == 0x24).unwrap() + 1;
    bytes[at] = 1;
    let m = decode(&bytes).unwrap();
    assert_eq!(to_json(&m)["events"][0]["flows"][0]["initiator"], "remote");
    bytes[at] = 2;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::BadInitiator {
            ip: IpVersion::V4,
            flow: 0,
            value: 2
        })
    );
}

#[test]
fn locals_rules() {
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    assert!(decode(&message(&[v4_window(&[a, b], &[(1, 5, 0), (0, 5, 0)])])).is_ok());
    assert_eq!(
        decode(&message(&[v4_window(&[a, b], &[(0, 5, 0)])])),
        Err(DecodeError::UnusedLocal {
            ip: IpVersion::V4,
            index: 1
        })
    );
    assert_eq!(
        decode(&message(&[v4_window(&[a, a], &[(0, 5, 0), (1, 6, 0)])])),
        Err(DecodeError::DuplicateLocal {
            ip: IpVersion::V4,
            index: 1
        })
    );
    let eight: Vec<[u8; 4]> = (0..8).map(|i| [10, 0, 1, i]).collect();
    let flows: Vec<(u8, u8, u8)> = (0..8).map(|i| (i, 1, 1)).collect();
    assert!(decode(&message(&[v4_window(&eight, &flows)])).is_ok());
    let nine: Vec<[u8; 4]> = (0..9).map(|i| [10, 0, 1, i]).collect();
    let flows: Vec<(u8, u8, u8)> = (0..9).map(|i| (i, 1, 1)).collect();
    assert_eq!(
        decode(&message(&[v4_window(&nine, &flows)])),
        Err(DecodeError::TooManyLocals {
            ip: IpVersion::V4,
            count: 9
        })
    );
    // An empty window is well formed.
    assert!(decode(&message(&[v4_window(&[], &[])])).is_ok());
}

#[test]
fn flow_keys_unique_in_a_message() {
    let a = [10, 0, 0, 1];
    assert_eq!(
        decode(&message(&[v4_window(&[a], &[(0, 5, 1), (0, 5, 1)])])),
        Err(DecodeError::DuplicateFlow {
            ip: IpVersion::V4,
            flow: 1
        })
    );
    // Same addresses and ports, other protocol: another flow.
    assert!(decode(&message(&[v4_window(&[a], &[(0, 5, 1), (0, 5, 2)])])).is_ok());
}

/// The heartbeat's packet counters are `u64` varints: values past 2^32 up to 2^64 - 1
/// decode exactly, a longer or larger varint is refused, and the 32-bit fields still refuse
/// what does not fit them.
#[test]
fn heartbeat_packet_counters_are_64_bit() {
    let heartbeat = |seen: &[u8], uptime: &[u8]| {
        let mut b = vec![0x02];
        b.extend(uptime);
        b.extend(seen); // packets_seen
        b.extend(varint64(u64::MAX)); // packets_counted
        b.extend(varint64((1 << 32) - 1)); // malformed
        b.extend([0x00; 3]); // ignored, ring_dropped, table_full_dropped
        b.extend([0x00; 8]); // the 32-bit and 16-bit fields after them
        b.extend([0x00; 4]); // collections_waited, alerts_sent, alerts_suppressed, packets_blocked
        message(&[b])
    };
    assert_eq!(varint64(u64::MAX).len(), 10);
    assert_eq!(varint64(1_500), varint(1_500));
    let past = (1u64 << 32) + 640;
    let m = decode(&heartbeat(&varint64(past), &[0x01])).unwrap();
    let hb = m.heartbeat().unwrap();
    assert_eq!(
        (
            hb.uptime_s,
            hb.packets_seen,
            hb.packets_counted,
            hb.malformed
        ),
        (1, past, u64::MAX, u64::from(u32::MAX))
    );
    let v = to_json(&m);
    assert_eq!(v["events"][0]["packets_seen"], past);
    assert_eq!(v["events"][0]["packets_counted"], u64::MAX);
    // Ten bytes at most, the tenth 0 or 1.
    let mut too_large = varint64(u64::MAX);
    too_large[9] = 0x02;
    assert_eq!(
        decode(&heartbeat(&too_large, &[0x01])),
        Err(DecodeError::BadVarint)
    );
    let mut too_long = varint64(u64::MAX);
    too_long[9] = 0x81;
    too_long.push(0x00);
    assert_eq!(
        decode(&heartbeat(&too_long, &[0x01])),
        Err(DecodeError::BadVarint)
    );
    // uptime_s stays a u32.
    assert_eq!(
        decode(&heartbeat(&[0x00], &varint64(1 << 32))),
        Err(DecodeError::BadVarint)
    );
}

#[test]
fn varint_limits() {
    // part is a u16: 65,535 takes three bytes, anything larger is an error.
    let mut window = network_event();
    window.splice(2..3, [0xff, 0xff, 0x03]);
    let m = decode(&message(&[window.clone()])).unwrap();
    assert_eq!(m.network_activity().unwrap().part, u16::MAX);
    window.splice(2..5, [0x80, 0x80, 0x04]);
    assert_eq!(decode(&message(&[window])), Err(DecodeError::BadVarint));
    // duration_s is a u32: five bytes at most, the fifth below 0x10.
    let mut window = network_event();
    window.splice(1..2, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    let m = decode(&message(&[window.clone()])).unwrap();
    assert_eq!(m.network_activity().unwrap().duration_s, u32::MAX);
    window[5] = 0x10;
    assert_eq!(
        decode(&message(&[window.clone()])),
        Err(DecodeError::BadVarint)
    );
    window[5] = 0x8f;
    assert_eq!(decode(&message(&[window])), Err(DecodeError::BadVarint));
    // The JSON window start does not wrap below zero.
    let mut window = network_event();
    window.splice(1..2, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    let v = to_json(&decode(&message(&[window])).unwrap());
    assert_eq!(
        v["events"][0]["window"]["start"],
        1_700_000_000i64 - i64::from(u32::MAX)
    );
}

#[test]
fn system_information_values() {
    let mut event = system_event();
    let mode = event.len() - 1;
    event[mode] = 2;
    assert_eq!(
        decode(&message(&[event.clone()])),
        Err(DecodeError::BadCaptureMode(2))
    );
    event[mode] = 0;
    let v = to_json(&decode(&message(&[event.clone()])).unwrap());
    assert_eq!(v["events"][0]["capture_mode"], "unicast-only");
    event[mode - 1] = 0x08;
    assert_eq!(
        decode(&message(&[event.clone()])),
        Err(DecodeError::BadCollectors(0x08))
    );
    event[mode - 1] = 0b101;
    let v = to_json(&decode(&message(&[event])).unwrap());
    assert_eq!(
        v["events"][0]["collectors"],
        json!(["network_activity", "heartbeat"])
    );
}

#[test]
fn huge_counts_fail_without_allocating() {
    // A sequence count of 2^32-1 flows in a few bytes: truncated, not an allocation failure.
    let mut window = vec![0x00, 0x0a, 0x00, 0x00, 0x00];
    window.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(decode(&message(&[window])), Err(DecodeError::Truncated));
    let mut bytes = HEADER.to_vec();
    bytes.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(decode(&bytes), Err(DecodeError::Truncated));
}

#[test]
fn versions_and_errors_display() {
    assert_eq!(version_text(0x0102_0003), "1.2.3");
    assert_eq!(version_text(0x0001_0000), "0.1.0");
    assert_eq!(version_text(0x0000_0100), "0.0.256");
    assert_eq!(version_text(u32::MAX), "255.255.65535");
    assert_eq!(
        DecodeError::LocalIndex {
            ip: IpVersion::V6,
            flow: 2,
            index: 3,
            locals: 1
        }
        .to_string(),
        "IPv6 flow 2: local index 3 past the 1 local address(es)"
    );
    assert_eq!(
        DecodeError::UnknownEvent(9).to_string(),
        "unknown event variant 9"
    );
}

#[test]
fn hex_lines() {
    let text = format!("# example\n  {}  # trailing\n", hex::to_hex(&example()));
    let mut messages = Vec::new();
    for line in text.lines() {
        if let Some(m) = decode_hex_line(line).unwrap() {
            messages.push(m);
        }
    }
    assert_eq!(messages.len(), 1);
    assert!(matches!(
        decode_hex_line("0204"),
        Err(InputError::Decode(DecodeError::Truncated))
    ));
    assert!(matches!(decode_hex_line("01 4"), Err(InputError::Hex(_))));
}

#[test]
fn v4_local_count_offset_is_right() {
    // Guards the offsets the tests above poke at.
    assert_eq!(example()[V4_LOCAL_COUNT], 1);
    assert_eq!(example()[V4_FLOW + 1..V4_FLOW + 5], [20, 1, 2, 3]);
}

#[test]
fn hex_text_one_per_line_or_wrapped() {
    let full = hex::to_hex(&example());
    let other = hex::to_hex(&message(&[heartbeat_event()]));
    // Wrapped at 64 digits like the golden files, then one message per line.
    let mut text = String::from("# comment\n");
    for chunk in full.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(chunk).unwrap());
        text.push('\n');
    }
    text.push_str(&other);
    text.push_str("\n\n");
    text.push_str(&full);
    text.push('\n');
    let results = decode_hex_text(text.as_bytes());
    let spans: Vec<String> = results.iter().map(|(s, _)| s.to_string()).collect();
    let wrapped = full.len().div_ceil(64);
    assert!(wrapped > 2);
    assert_eq!(
        spans,
        [
            format!("2-{}", wrapped + 1),
            format!("{}", wrapped + 2),
            format!("{}", wrapped + 4)
        ]
    );
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(results[0].1.as_ref().unwrap(), &decode(&example()).unwrap());

    // A cut message followed by a whole one: the cut one is reported, the next still decodes.
    let text = format!("{}\n{other}\n{}", &full[..40], &full[..30]);
    let results = decode_hex_text(text.as_bytes());
    let summary: Vec<(String, bool)> = results
        .iter()
        .map(|(s, r)| (s.to_string(), r.is_ok()))
        .collect();
    assert_eq!(
        summary,
        [
            ("1".to_string(), false),
            ("2".to_string(), true),
            ("3".to_string(), false)
        ]
    );
    assert_eq!(
        results[0].1,
        Err(InputError::Decode(DecodeError::Truncated))
    );

    // A blank line ends a wrapped message; a bad hex line is reported on its own.
    let text = format!("{}\n\n{}\nzz\n", &full[..64], &full[64..]);
    let results = decode_hex_text(text.as_bytes());
    let spans: Vec<String> = results.iter().map(|(s, _)| s.to_string()).collect();
    assert_eq!(spans, ["1", "3", "4"]);
    assert!(matches!(results[2].1, Err(InputError::Hex(_))));
    assert!(decode_hex_text(b"").is_empty());
    assert!(decode_hex_text(b"\n# nothing\n\n").is_empty());
}

/// An alerts event with one IPv4 indicator alert: TCP 192.0.2.10:50000 -> 198.51.100.7:443,
/// opened by the device, raised at 1,700,000,005 by policy 0xdeadbeef from feed 1.
fn v4_indicator_event() -> Vec<u8> {
    vec![
        0x03, // variant Alerts
        0x01, // one alert
        0x00, // alert variant Indicator
        0x85, 0xe2, 0xcf, 0xaa, 0x06, // time 1,700,000,005
        0xef, 0xfd, 0xb6, 0xf5, 0x0d, // policy 0xdeadbeef
        0x01, // rule 1 (the first feed)
        0x00, // flow variant V4
        192, 0, 2, 10, // local 192.0.2.10
        0xc3, 0x50, // local_port 50000
        198, 51, 100, 7, // remote 198.51.100.7
        0x01, 0xbb, // remote_port 443
        0x00, // protocol TCP
        0x00, // initiator: the device
    ]
}

/// Offset of the v4 indicator alert's flow variant inside `message(&[v4_indicator_event()])`.
const ALERT_FLOW: usize = HEADER.len() + 1 + 14;

/// An alerts event with two alerts: an IPv6 inbound-port alert (UDP
/// 2001:db8::1:53 <- 2001:db8::9:5353, opened by the peer) and a connection count of 70
/// outside 0..=20.
fn v6_and_connections_event() -> Vec<u8> {
    let mut b = vec![
        0x03, // variant Alerts
        0x02, // two alerts
        0x02, // alert variant InboundPortNotAllowed
        0x86, 0xe2, 0xcf, 0xaa, 0x06, // time 1,700,000,006
        0xf8, 0xac, 0xd1, 0x91, 0x01, // policy 0x12345678
        0x00, // rule 0
        0x01, // flow variant V6
    ];
    b.extend([
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    ]); // local 2001:db8::1
    b.extend([0x00, 0x35]); // local_port 53
    b.extend([
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09,
    ]); // remote 2001:db8::9
    b.extend([0x14, 0xe9]); // remote_port 5353
    b.push(0x01); // protocol UDP
    b.push(0x01); // initiator: the peer
    b.extend([
        0x03, // alert variant ConnectionsOutOfRange
        0x8a, 0xe2, 0xcf, 0xaa, 0x06, // time 1,700,000,010
        0xf8, 0xac, 0xd1, 0x91, 0x01, // policy 0x12345678
        0x00, // rule 0
        0x46, // active 70
        0x00, // min 0
        0x14, // max 20
    ]);
    b
}

#[test]
fn v4_indicator_alert_decodes_field_by_field() {
    let m = decode(&message(&[v4_indicator_event()])).unwrap();
    assert_eq!(m.sequence, 7);
    assert_eq!(m.events.len(), 1);
    assert_eq!(m.events[0].kind(), EventKind::Alerts);
    let alerts = m.alerts().unwrap();
    assert_eq!(
        alerts,
        [Alert::Indicator(
            AlertHead {
                time: 1_700_000_005,
                policy: 0xdead_beef,
                rule: 1,
            },
            AlertFlow::V4 {
                local: [192, 0, 2, 10],
                local_port: 50000,
                remote: [198, 51, 100, 7],
                remote_port: 443,
                protocol: 0,
                initiator: INITIATOR_LOCAL,
            }
        )]
    );
    let a = &alerts[0];
    assert_eq!(a.kind(), AlertKind::Indicator);
    assert!(a.connections().is_none());
    let f = a.flow().unwrap();
    assert_eq!(f.ip(), 4);
    assert_eq!(f.protocol(), Some(Protocol::Tcp));
    assert_eq!(f.initiator_name(), Some("local"));
    assert_eq!(
        (f.local_text(), f.remote_text()),
        ("192.0.2.10".to_string(), "198.51.100.7".to_string())
    );
    // The bytes come back from the model.
    assert_eq!(encode(&m), message(&[v4_indicator_event()]));
    assert_eq!(
        to_json(&m)["events"][0],
        json!({
            "event": "alerts",
            "alerts": [{
                "kind": "indicator",
                "time": 1_700_000_005u32,
                "policy": "0xdeadbeef",
                "rule": 1,
                "ip": 4,
                "proto": "tcp",
                "local": "192.0.2.10",
                "local_port": 50000,
                "remote": "198.51.100.7",
                "remote_port": 443,
                "initiator": "local",
            }],
        })
    );
}

#[test]
fn v6_and_connections_alerts_decode_field_by_field() {
    let m = decode(&message(&[v6_and_connections_event()])).unwrap();
    let alerts = m.alerts().unwrap();
    assert_eq!(alerts.len(), 2);
    let mut local = [0u8; 16];
    local[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    let mut remote = local;
    local[15] = 1;
    remote[15] = 9;
    assert_eq!(
        alerts[0],
        Alert::InboundPortNotAllowed(
            AlertHead {
                time: 1_700_000_006,
                policy: 0x1234_5678,
                rule: 0,
            },
            AlertFlow::V6 {
                local,
                local_port: 53,
                remote,
                remote_port: 5353,
                protocol: 1,
                initiator: INITIATOR_REMOTE,
            }
        )
    );
    assert_eq!(
        alerts[1],
        Alert::ConnectionsOutOfRange(
            AlertHead {
                time: 1_700_000_010,
                policy: 0x1234_5678,
                rule: 0,
            },
            ConnectionCount {
                active: 70,
                min: 0,
                max: 20,
            }
        )
    );
    assert_eq!(alerts[1].kind(), AlertKind::ConnectionsOutOfRange);
    assert!(alerts[1].flow().is_none());
    assert_eq!(encode(&m), message(&[v6_and_connections_event()]));
    let j = to_json(&m);
    let alerts = &j["events"][0]["alerts"];
    assert_eq!(alerts[0]["kind"], "inbound_port_not_allowed");
    assert_eq!(alerts[0]["ip"], 6);
    assert_eq!(alerts[0]["proto"], "udp");
    assert_eq!(alerts[0]["local"], "2001:db8::1");
    assert_eq!(alerts[0]["remote"], "2001:db8::9");
    assert_eq!(alerts[0]["initiator"], "remote");
    assert_eq!(alerts[0]["policy"], "0x12345678");
    assert_eq!(
        alerts[1],
        json!({
            "kind": "connections_out_of_range",
            "time": 1_700_000_010u32,
            "policy": "0x12345678",
            "rule": 0,
            "active": 70,
            "min": 0,
            "max": 20,
        })
    );
}

#[test]
fn every_truncation_of_an_alert_message_is_an_error() {
    for bytes in [
        message(&[v4_indicator_event()]),
        message(&[v6_and_connections_event()]),
    ] {
        assert!(decode(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..len]),
                Err(DecodeError::Truncated),
                "length {len}"
            );
        }
    }
}

#[test]
fn alert_rules() {
    let ok = message(&[v4_indicator_event()]);
    let protocol_at = ok.len() - 2;
    let initiator_at = ok.len() - 1;
    for value in [3u8, 4, 0x80, 0xff] {
        let mut bytes = ok.clone();
        bytes[protocol_at] = value;
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::BadAlertProtocol { alert: 0, value })
        );
    }
    for value in [2u8, 0x80, 0xff] {
        let mut bytes = ok.clone();
        bytes[initiator_at] = value;
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::BadAlertInitiator { alert: 0, value })
        );
    }
    // ICMP: ports must be 0.
    let mut bytes = ok.clone();
    bytes[protocol_at] = 2;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::AlertIcmpPorts { alert: 0 })
    );
    let port_bytes = [
        ALERT_FLOW + 5,
        ALERT_FLOW + 6,
        ALERT_FLOW + 11,
        ALERT_FLOW + 12,
    ];
    for &at in &port_bytes {
        bytes[at] = 0;
    }
    let m = decode(&bytes).unwrap();
    assert_eq!(
        m.alerts().unwrap()[0].flow().unwrap().protocol(),
        Some(Protocol::Icmp)
    );
    bytes[port_bytes[3]] = 1;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::AlertIcmpPorts { alert: 0 })
    );
    // The IPv6 alert's protocol, in the two-alert event.
    let mut bytes = message(&[v6_and_connections_event()]);
    let at = HEADER.len() + 1 + 15 + 16 + 2 + 16 + 2; // the IPv6 alert's protocol
    bytes[at] = 3;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::BadAlertProtocol { alert: 0, value: 3 })
    );
    // Unknown alert kinds, unknown flow variants.
    let kind_at = HEADER.len() + 3;
    for number in [4u32, 5, 127, 128, u32::MAX] {
        let mut bytes = ok[..kind_at].to_vec();
        bytes.extend(varint(number));
        bytes.extend(&ok[kind_at + 1..]);
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::UnknownAlertKind(number)),
            "{number}"
        );
    }
    for number in [2u32, 200] {
        let mut bytes = ok[..ALERT_FLOW].to_vec();
        bytes.extend(varint(number));
        bytes.extend(&ok[ALERT_FLOW + 1..]);
        assert_eq!(decode(&bytes), Err(DecodeError::UnknownAlertIp(number)));
    }
    // `rule` is the indicator's source, 0 for the other kinds.
    let rule_at = kind_at + 11;
    assert_eq!(ok[rule_at], 1);
    for kind in [1u8, 2] {
        let mut bytes = ok.clone();
        bytes[kind_at] = kind;
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::AlertRuleNotZero { alert: 0, rule: 1 })
        );
        bytes[rule_at] = 0;
        assert_eq!(decode(&bytes).unwrap().alerts().unwrap()[0].head().rule, 0);
    }
    let mut bytes = message(&[v6_and_connections_event()]);
    let count_rule_at = bytes.len() - 4;
    bytes[count_rule_at] = 2;
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::AlertRuleNotZero { alert: 1, rule: 2 })
    );
    // A connection count where a flow is due reads other fields: here it ends early.
    let mut bytes = ok.clone();
    bytes[kind_at] = 3;
    assert!(decode(&bytes).is_err());
    // An alerts event with no alert.
    assert_eq!(
        decode(&message(&[vec![0x03, 0x00]])),
        Err(DecodeError::NoAlerts)
    );
    // Alerts alone, once.
    assert_eq!(
        decode(&message(&[heartbeat_event(), v4_indicator_event()])),
        Err(DecodeError::NotAlone(EventKind::Alerts))
    );
    assert_eq!(
        decode(&message(&[network_event(), v4_indicator_event()])),
        Err(DecodeError::NotAlone(EventKind::Alerts))
    );
    assert_eq!(
        decode(&message(&[v4_indicator_event(), heartbeat_event()])),
        Err(DecodeError::EventOrder {
            found: EventKind::Heartbeat,
            after: EventKind::Alerts
        })
    );
    assert_eq!(
        decode(&message(&[v4_indicator_event(), v4_indicator_event()])),
        Err(DecodeError::DuplicateEvent(EventKind::Alerts))
    );
    // The unknown alert number does not stick to the next decode.
    assert!(decode(&ok).is_ok());
    let mut bad = ok.clone();
    bad[protocol_at] = 3;
    assert!(matches!(
        decode(&bad),
        Err(DecodeError::BadAlertProtocol { .. })
    ));
}

#[test]
fn alert_errors_display() {
    assert_eq!(
        DecodeError::UnknownAlertKind(4).to_string(),
        "unknown alert kind (variant 4)"
    );
    assert_eq!(
        DecodeError::UnknownAlertIp(2).to_string(),
        "alert flow of unknown IP version (variant 2)"
    );
    assert_eq!(
        DecodeError::NoAlerts.to_string(),
        "alerts event has no alert"
    );
    assert_eq!(
        DecodeError::BadAlertProtocol { alert: 1, value: 3 }.to_string(),
        "alert 1: invalid protocol value 3"
    );
    assert_eq!(
        DecodeError::BadAlertInitiator { alert: 0, value: 2 }.to_string(),
        "alert 0: initiator 2 is neither 0 nor 1"
    );
    assert_eq!(
        DecodeError::AlertIcmpPorts { alert: 2 }.to_string(),
        "alert 2: ICMP flow with a port other than 0"
    );
}
