//! The inventory, findings and audit events (wire format 3, sections 3.6 to 3.8) on bytes
//! written by hand from docs/wire-format.md: every variant, the JSON view, the replay lines
//! and table, and damaged input.

use nxsm_decode::replay::{message_lines, Format, Replay};
use nxsm_decode::{
    decode, encode, hex, to_json, AuditCategory, AuditKind, AuditRecord, Connection, DecodeError,
    Event, EventKind, Finding, FindingHead, Inventory, Message, RiskyReason, RiskyService, Socket,
};
use serde_json::{json, Value};

/// Unsigned LEB128 (section 1).
fn varint(value: u32) -> Vec<u8> {
    let mut value = u64::from(value);
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

const T: u32 = 1_700_000_000;

/// A message of `format`: "nxsm", version 0.1.0, sequence 20, time [`T`], then the events.
fn message(format: u8, events: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![format, 0x04, b'n', b'x', b's', b'm', 0x80, 0x80, 0x04, 20];
    b.extend(varint(T));
    b.extend(varint(events.len() as u32));
    for e in events {
        b.extend(e);
    }
    b
}

fn v3(events: &[Vec<u8>]) -> Vec<u8> {
    message(3, events)
}

const HEADER_LEN: usize = 15;

/// A heartbeat of zeros (section 3.3): variant 2 and 19 one-byte counters.
fn heartbeat_event() -> Vec<u8> {
    let mut b = vec![0x02];
    b.extend([0u8; 19]);
    b
}

// ---- 3.6 Inventory ----

fn port_socket(variant: u8, ip: u8, port: u16) -> Vec<u8> {
    let mut b = vec![variant, ip];
    b.extend(port.to_be_bytes());
    b
}

fn v4_connection(ip: u8) -> Vec<u8> {
    let mut b = vec![0x02, ip, 0x00]; // TcpEstablished, ip, Connection V4
    b.extend([192, 0, 2, 1]);
    b.extend(502u16.to_be_bytes());
    b.extend([192, 0, 2, 9]);
    b.extend(50_000u16.to_be_bytes());
    b
}

const V6_LOCAL: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
];
const V6_REMOTE: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09,
];

fn v6_connection(ip: u8) -> Vec<u8> {
    let mut b = vec![0x02, ip, 0x01]; // TcpEstablished, ip, Connection V6
    b.extend(V6_LOCAL);
    b.extend(443u16.to_be_bytes());
    b.extend(V6_REMOTE);
    b.extend(50_001u16.to_be_bytes());
    b
}

fn inventory_event(found: u32, part: u16, more: u8, sockets: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0x05];
    b.extend(varint(found));
    b.extend(varint(u32::from(part)));
    b.push(more);
    b.extend(varint(sockets.len() as u32));
    for s in sockets {
        b.extend(s);
    }
    b
}

/// Every socket variant and both connection variants.
fn sockets() -> Vec<Vec<u8>> {
    vec![
        port_socket(0x00, 0, 23),
        port_socket(0x01, 1, 5683),
        v4_connection(0),
        v6_connection(1),
    ]
}

fn inventory_message() -> Vec<u8> {
    v3(&[inventory_event(6, 0, 0, &sockets())])
}

#[test]
fn socket_sizes_are_the_documented_ones() {
    // "a listening or bound port takes 4 bytes, an IPv4 connection 15, an IPv6 connection 39"
    let sizes: Vec<usize> = sockets().iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 4, 15, 39]);
}

#[test]
fn inventory_decodes_field_by_field() {
    let m = decode(&inventory_message()).unwrap();
    assert_eq!(m.format, 3);
    assert_eq!(m.sequence, 20);
    assert_eq!(
        m.events,
        [Event::Inventory(Inventory {
            found: 6,
            part: 0,
            more: false,
            sockets: vec![
                Socket::TcpListening { ip: 0, port: 23 },
                Socket::UdpBound { ip: 1, port: 5683 },
                Socket::TcpEstablished {
                    ip: 0,
                    connection: Connection::V4 {
                        local: [192, 0, 2, 1],
                        local_port: 502,
                        remote: [192, 0, 2, 9],
                        remote_port: 50_000,
                    },
                },
                Socket::TcpEstablished {
                    ip: 1,
                    connection: Connection::V6 {
                        local: V6_LOCAL,
                        local_port: 443,
                        remote: V6_REMOTE,
                        remote_port: 50_001,
                    },
                },
            ],
        })]
    );
    assert_eq!(encode(&m), inventory_message());
    assert_eq!(m.inventory().unwrap().sockets.len(), 4);
    assert_eq!(
        to_json(&m),
        json!({
            "format": 3,
            "module": "nxsm",
            "module_version": "0.1.0",
            "sequence": 20,
            "time": T,
            "events": [{
                "event": "inventory",
                "found": 6,
                "part": 0,
                "more": false,
                "sockets": [
                    {"kind": "tcp_listening", "ip": 0, "port": 23},
                    {"kind": "udp_bound", "ip": 1, "port": 5683},
                    {"kind": "tcp_established", "ip": 0, "local": "192.0.2.1",
                     "local_port": 502, "remote": "192.0.2.9", "remote_port": 50000},
                    {"kind": "tcp_established", "ip": 1, "local": "2001:db8::1",
                     "local_port": 443, "remote": "2001:db8::9", "remote_port": 50001},
                ],
            }],
        })
    );
}

#[test]
fn inventory_parts() {
    let bytes = v3(&[inventory_event(70_000, 300, 1, &sockets()[..1])]);
    let m = decode(&bytes).unwrap();
    let inventory = m.inventory().unwrap();
    assert_eq!(
        (inventory.found, inventory.part, inventory.more),
        (70_000, 300, true)
    );
    assert_eq!(encode(&m), bytes);
    // The largest part number, and an empty inventory.
    let m = decode(&v3(&[inventory_event(0, u16::MAX, 0, &[])])).unwrap();
    assert_eq!(m.inventory().unwrap().part, u16::MAX);
    assert_eq!(to_json(&m)["events"][0]["sockets"], json!([]));
}

#[test]
fn inventory_errors() {
    let ok = inventory_message();
    // `more` is a bool.
    let more_at = HEADER_LEN + 1 + 1 + 1 + 1;
    assert_eq!(ok[more_at], 0);
    for bad in [2u8, 0x80, 0xff] {
        let mut bytes = ok.clone();
        bytes[more_at] = bad;
        assert_eq!(decode(&bytes), Err(DecodeError::BadBool));
    }
    // `part` is a u16: 65,536 overflows it; `found` a u32.
    let mut event = vec![0x05, 0x06, 0x80, 0x80, 0x04, 0x00, 0x00];
    assert_eq!(decode(&v3(&[event.clone()])), Err(DecodeError::BadVarint));
    event.splice(2..5, [0xff, 0xff, 0x03]);
    assert_eq!(
        decode(&v3(&[event])).unwrap().inventory().unwrap().part,
        u16::MAX
    );
    let event = vec![0x05, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00, 0x00];
    assert_eq!(decode(&v3(&[event])), Err(DecodeError::BadVarint));
    // Unknown socket and connection variants.
    for number in [3u32, 127, 128, u32::MAX] {
        let mut socket = varint(number);
        socket.extend([0, 0, 23]);
        assert_eq!(
            decode(&v3(&[inventory_event(1, 0, 0, &[socket])])),
            Err(DecodeError::UnknownSocket(number))
        );
    }
    for number in [2u32, 200] {
        let mut socket = v4_connection(0);
        socket.splice(2..3, varint(number));
        assert_eq!(
            decode(&v3(&[inventory_event(1, 0, 0, &[socket])])),
            Err(DecodeError::UnknownConnectionIp(number))
        );
    }
    // An IPv4 connection read as IPv6 runs out of bytes.
    let mut socket = v4_connection(0);
    socket[2] = 0x01;
    assert_eq!(
        decode(&v3(&[inventory_event(1, 0, 0, &[socket])])),
        Err(DecodeError::Truncated)
    );
    // More sockets listed than found.
    assert_eq!(
        decode(&v3(&[inventory_event(3, 0, 0, &sockets())])),
        Err(DecodeError::InventoryOverFound {
            listed: 4,
            found: 3
        })
    );
    assert!(decode(&v3(&[inventory_event(4, 0, 0, &sockets())])).is_ok());
}

// ---- 3.7 Findings ----

fn head(variant: u8, active: bool, time: u32) -> Vec<u8> {
    let mut b = vec![variant, u8::from(active)];
    b.extend(varint(time));
    b
}

fn risky(active: bool, time: u32, protocol: u8, port: u16, reason: u32) -> Vec<u8> {
    let mut b = head(0x00, active, time);
    b.push(protocol);
    b.extend(port.to_be_bytes());
    b.extend(varint(reason));
    b
}

fn counted(variant: u8, active: bool, time: u32, count: u32) -> Vec<u8> {
    let mut b = head(variant, active, time);
    b.extend(varint(count));
    b
}

fn findings_event(findings: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0x06];
    b.extend(varint(findings.len() as u32));
    for f in findings {
        b.extend(f);
    }
    b
}

/// Every finding variant, TCP and UDP, started and ended.
fn findings() -> Vec<Vec<u8>> {
    vec![
        risky(true, T, 0, 23, 2),
        risky(false, T + 5, 1, 161, 7),
        counted(0x01, true, T + 10, 2),
        counted(0x02, false, T + 20, 1),
        head(0x03, true, T + 30),
        head(0x04, true, 0),
    ]
}

fn findings_message() -> Vec<u8> {
    v3(&[findings_event(&findings())])
}

#[test]
fn finding_sizes_are_the_documented_ones() {
    // "a finding takes 2 bytes and its time (5 bytes for a Unix time of this century), plus
    // 4 bytes for RiskyService or the count's varint"
    assert_eq!(head(0x04, true, T).len(), 2 + 5);
    assert_eq!(risky(true, T, 0, 23, 2).len(), 2 + 5 + 4);
    assert_eq!(counted(0x01, true, T, 200).len(), 2 + 5 + 2);
}

#[test]
fn findings_decode_field_by_field() {
    let m = decode(&findings_message()).unwrap();
    let on = |time| FindingHead { active: true, time };
    let off = |time| FindingHead {
        active: false,
        time,
    };
    assert_eq!(
        m.findings().unwrap(),
        [
            Finding::RiskyService(
                on(T),
                RiskyService {
                    protocol: 0,
                    port: 23,
                    reason: 2
                }
            ),
            Finding::RiskyService(
                off(T + 5),
                RiskyService {
                    protocol: 1,
                    port: 161,
                    reason: 7
                }
            ),
            Finding::UnhookedIp(on(T + 10), 2),
            Finding::HookReplaced(off(T + 20), 1),
            Finding::NetworkActivityOff(on(T + 30)),
            Finding::NoClock(on(0)),
        ]
    );
    assert_eq!(encode(&m), findings_message());
    assert_eq!(
        to_json(&m)["events"][0],
        json!({
            "event": "findings",
            "findings": [
                {"finding": "risky_service", "active": true, "time": T, "protocol": "tcp",
                 "port": 23, "reason": "cleartext_remote_login"},
                {"finding": "risky_service", "active": false, "time": T + 5, "protocol": "udp",
                 "port": 161, "reason": "cleartext_management"},
                {"finding": "unhooked_ip", "active": true, "time": T + 10, "count": 2},
                {"finding": "hook_replaced", "active": false, "time": T + 20, "count": 1},
                {"finding": "network_activity_off", "active": true, "time": T + 30},
                {"finding": "no_clock", "active": true, "time": 0},
            ],
        })
    );
}

#[test]
fn every_risky_reason() {
    let names = [
        "listed_by_application",
        "cleartext_file_transfer",
        "cleartext_remote_login",
        "cleartext_web",
        "unauthenticated_industrial",
        "mqtt_without_tls",
        "coap_without_dtls",
        "cleartext_management",
    ];
    for (number, name) in names.into_iter().enumerate() {
        let number = number as u32;
        let m = decode(&v3(&[findings_event(&[risky(true, T, 0, 21, number)])])).unwrap();
        assert_eq!(to_json(&m)["events"][0]["findings"][0]["reason"], name);
        assert_eq!(RiskyReason::from_number(number).unwrap().number(), number);
    }
    for number in [8u32, 127, 128, u32::MAX] {
        assert_eq!(
            decode(&v3(&[findings_event(&[
                head(0x04, true, T),
                risky(true, T, 0, 21, number)
            ])])),
            Err(DecodeError::UnknownRiskyReason {
                finding: 1,
                value: number
            })
        );
    }
}

#[test]
fn findings_errors() {
    for value in [2u8, 3, 0x80, 0xff] {
        assert_eq!(
            decode(&v3(&[findings_event(&[risky(true, T, value, 23, 2)])])),
            Err(DecodeError::BadFindingProtocol { finding: 0, value })
        );
    }
    for number in [5u32, 6, 128, u32::MAX] {
        let mut finding = varint(number);
        finding.extend(&head(0x04, true, T)[1..]);
        assert_eq!(
            decode(&v3(&[findings_event(&[finding])])),
            Err(DecodeError::UnknownFinding(number))
        );
    }
    // `active` is a bool.
    for bad in [2u8, 0xff] {
        let mut finding = head(0x03, true, T);
        finding[1] = bad;
        assert_eq!(
            decode(&v3(&[findings_event(&[finding])])),
            Err(DecodeError::BadBool)
        );
    }
    // `time` and `count` are u32: a fifth varint byte above 0x0f overflows.
    let mut finding = vec![0x04, 0x01];
    finding.extend([0xff, 0xff, 0xff, 0xff, 0x10]);
    assert_eq!(
        decode(&v3(&[findings_event(&[finding])])),
        Err(DecodeError::BadVarint)
    );
    let mut finding = head(0x01, true, T);
    finding.extend([0x80, 0x80, 0x80, 0x80, 0x10]);
    assert_eq!(
        decode(&v3(&[findings_event(&[finding])])),
        Err(DecodeError::BadVarint)
    );
    let mut finding = head(0x01, true, T);
    finding.extend(varint(u32::MAX));
    let m = decode(&v3(&[findings_event(&[finding])])).unwrap();
    assert_eq!(m.findings().unwrap()[0].count(), Some(u32::MAX));
    // A findings event needs a finding.
    assert_eq!(
        decode(&v3(&[findings_event(&[])])),
        Err(DecodeError::NoFindings)
    );
}

// ---- 3.8 Audit ----

#[allow(clippy::too_many_arguments)]
fn record(
    sequence: u32,
    time: u32,
    category: u8,
    kind: u32,
    result: u32,
    subject: u32,
    old: u32,
    new: u32,
) -> Vec<u8> {
    let mut b = varint(sequence);
    b.extend(varint(time));
    b.push(category);
    for v in [kind, result, subject, old, new] {
        b.extend(varint(v));
    }
    b
}

fn audit_event(records: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0x07];
    b.extend(varint(records.len() as u32));
    for r in records {
        b.extend(r);
    }
    b
}

/// Every kind in its category (section 3.8's table), then refused requests.
fn records() -> Vec<Vec<u8>> {
    vec![
        record(1, T, 0, 1, 0, 0b1111, 0, 1),
        record(2, T, 0, 2, 0, 0, 0, 0),
        record(3, T, 1, 3, 0, 0, 1 << 8, 2),
        record(4, T + 60, 1, 4, 0, 0, 3600, 60),
        record(5, T, 1, 5, 0, 0xdead_beef, 0, 0xdead_beef),
        record(6, T, 1, 6, 0, 0, 0xdead_beef, 0),
        record(7, T, 1, 7, 0, 0, 0, 600),
        record(8, T, 1, 8, 0, 1, 0, 0x1234_5678),
        record(9, T, 0, 9, 0, 0, T + 100, T),
        record(10, T, 0, 10, 0, 12, 0, 3),
        record(11, T, 0, 11, 0, 1, 0, 1),
        record(13, T, 3, 12, 0, 0, 0, 1),
        record(14, T, 1, 13, 0, 0, 8, 9),
        record(15, T, 2, 4, 5, 1, 60, 0),
        record(16, T, 2, 5, 7, 0xffff_ffff, 0, 0),
        record(17, T, 2, 7, 3, 0, 0, 0),
        record(
            u32::MAX,
            u32::MAX,
            2,
            13,
            u32::MAX,
            u32::MAX,
            u32::MAX,
            u32::MAX,
        ),
    ]
}

fn audit_message() -> Vec<u8> {
    v3(&[audit_event(&records())])
}

#[test]
fn audit_record_sizes() {
    // "8 bytes for a record of small values"; 32 with every u32 field at its widest (the
    // core's `result` is a byte, hence the page's 28).
    assert_eq!(record(1, 2, 0, 2, 0, 0, 0, 0).len(), 8);
    assert_eq!(records().last().unwrap().len(), 5 + 5 + 1 + 1 + 4 * 5);
}

#[test]
fn audit_decodes_field_by_field() {
    let m = decode(&audit_message()).unwrap();
    let records = m.audit().unwrap();
    assert_eq!(records.len(), 17);
    assert_eq!(
        records[3],
        AuditRecord {
            sequence: 4,
            time: T + 60,
            category: 1,
            kind: 4,
            result: 0,
            subject: 0,
            old: 3600,
            new: 60,
        }
    );
    let kinds: Vec<_> = records.iter().map(|r| r.kind().unwrap()).collect();
    assert_eq!(
        kinds[..13].iter().map(|k| k.number()).collect::<Vec<_>>(),
        (1..=13).collect::<Vec<_>>()
    );
    assert_eq!(encode(&m), audit_message());
    let json = to_json(&m);
    let names: Vec<(&str, &str)> = json["events"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["category"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("control_system", "started"),
            ("control_system", "stopped"),
            ("configuration", "collector_changed"),
            ("configuration", "interval_changed"),
            ("configuration", "policy_loaded"),
            ("configuration", "policy_cleared"),
            ("configuration", "learn_started"),
            ("configuration", "learn_ended"),
            ("control_system", "clock_set_back"),
            ("control_system", "messages_dropped"),
            ("control_system", "hooks_lost"),
            ("audit_log", "audit_lost"),
            ("configuration", "services_changed"),
            ("request_error", "interval_changed"),
            ("request_error", "policy_loaded"),
            ("request_error", "learn_started"),
            ("request_error", "services_changed"),
        ]
    );
    assert_eq!(
        json["events"][0]["records"][3],
        json!({"sequence": 4, "time": T + 60, "category": "configuration",
               "kind": "interval_changed", "result": 0, "subject": 0, "old": 3600, "new": 60})
    );
    assert_eq!(json["events"][0]["event"], "audit");
}

#[test]
fn audit_errors() {
    for value in [4u8, 0x80, 0xff] {
        assert_eq!(
            decode(&v3(&[audit_event(&[record(1, T, value, 1, 0, 0, 0, 0)])])),
            Err(DecodeError::BadAuditCategory { record: 0, value })
        );
    }
    for value in [0u32, 14, 128, u32::MAX] {
        assert_eq!(
            decode(&v3(&[audit_event(&[
                record(1, T, 0, 2, 0, 0, 0, 0),
                record(2, T, 0, value, 0, 0, 0, 0)
            ])])),
            Err(DecodeError::UnknownAuditKind { record: 1, value })
        );
    }
    // The category is the kind's, or a request error exactly when the request was refused.
    for (category, kind, result) in [
        (1u8, 1u32, 0u32), // started is a control-system event
        (3, 2, 0),         // stopped
        (0, 3, 0),         // collector changed is a configuration change
        (2, 3, 5),         // and is not a refusable request
        (1, 4, 5),         // a refused interval is a request error
        (2, 4, 0),         // a request error has a result
        (0, 12, 0),        // audit lost is an audit-log event
        (2, 13, 0),
    ] {
        let kind_name = AuditKind::from_number(kind).unwrap();
        assert_eq!(
            decode(&v3(&[audit_event(&[record(
                1, T, category, kind, result, 0, 0, 0
            )])])),
            Err(DecodeError::AuditCategoryMismatch {
                record: 0,
                kind: kind_name,
                category: AuditCategory::from_number(category).unwrap(),
                result,
            }),
            "{category} {kind} {result}"
        );
    }
    // Overflowing u32 fields.
    let mut r = record(1, T, 0, 2, 0, 0, 0, 0);
    r.truncate(r.len() - 1);
    r.extend([0x80, 0x80, 0x80, 0x80, 0x10]);
    assert_eq!(
        decode(&v3(&[audit_event(&[r])])),
        Err(DecodeError::BadVarint)
    );
    assert_eq!(
        decode(&v3(&[audit_event(&[])])),
        Err(DecodeError::NoAuditRecords)
    );
}

// ---- Messages: formats, order, lone events ----

fn new_events() -> [(EventKind, Vec<u8>); 3] {
    [
        (EventKind::Inventory, inventory_event(6, 0, 0, &sockets())),
        (EventKind::Findings, findings_event(&findings())),
        (EventKind::Audit, audit_event(&records())),
    ]
}

#[test]
fn format_2_has_no_events_5_to_7() {
    for (kind, event) in new_events() {
        assert!(decode(&message(3, std::slice::from_ref(&event))).is_ok());
        assert_eq!(
            decode(&message(2, &[event])),
            Err(DecodeError::EventNotInFormat {
                event: kind,
                format: 2
            })
        );
    }
    // The older events read the same in both formats.
    for format in [2u8, 3] {
        let m = decode(&message(format, &[heartbeat_event()])).unwrap();
        assert_eq!(m.format, format);
        assert!(m.heartbeat().is_some());
    }
    for format in [0u8, 1, 4, 0xff] {
        assert_eq!(
            decode(&message(format, &[heartbeat_event()])),
            Err(DecodeError::UnsupportedFormat(format))
        );
    }
    assert_eq!(nxsm_decode::FORMAT, 3);
    assert_eq!(nxsm_decode::OLDEST_FORMAT, 2);
}

#[test]
fn collector_bit_3_is_the_inventory_in_format_3() {
    let mut si = vec![0x01, 6, 4, 1, 6, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    si.extend([0x0f, 0x00]); // every collector, unicast only
    let m = decode(&message(3, &[si.clone()])).unwrap();
    assert_eq!(
        to_json(&m)["events"][0]["collectors"],
        json!([
            "network_activity",
            "system_information",
            "heartbeat",
            "inventory"
        ])
    );
    assert_eq!(
        decode(&message(2, &[si.clone()])),
        Err(DecodeError::BadCollectors(0x0f))
    );
    let at = si.len() - 2;
    si[at] = 0x10;
    assert_eq!(
        decode(&message(3, &[si])),
        Err(DecodeError::BadCollectors(0x10))
    );
}

#[test]
fn new_events_travel_alone_in_order() {
    for (kind, event) in new_events() {
        assert_eq!(
            decode(&v3(&[heartbeat_event(), event.clone()])),
            Err(DecodeError::NotAlone(kind))
        );
        assert_eq!(
            decode(&v3(&[event.clone(), event.clone()])),
            Err(DecodeError::DuplicateEvent(kind))
        );
        assert_eq!(
            decode(&v3(&[event.clone(), heartbeat_event()])),
            Err(DecodeError::EventOrder {
                found: EventKind::Heartbeat,
                after: kind
            })
        );
    }
    let [(_, inventory), (_, findings), (_, audit)] = new_events();
    assert_eq!(
        decode(&v3(&[inventory.clone(), findings.clone(), audit.clone()])),
        Err(DecodeError::NotAlone(EventKind::Inventory))
    );
    assert_eq!(
        decode(&v3(&[findings.clone(), audit.clone()])),
        Err(DecodeError::NotAlone(EventKind::Findings))
    );
    assert_eq!(
        decode(&v3(&[audit, inventory])),
        Err(DecodeError::EventOrder {
            found: EventKind::Inventory,
            after: EventKind::Audit
        })
    );
}

#[test]
fn every_truncation_and_trailing_bytes_are_errors() {
    for bytes in [inventory_message(), findings_message(), audit_message()] {
        assert!(decode(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..len]),
                Err(DecodeError::Truncated),
                "cut to {len} of {}",
                bytes.len()
            );
        }
        for extra in [&[0u8][..], &[0xff, 0x01]] {
            let mut longer = bytes.clone();
            longer.extend_from_slice(extra);
            assert_eq!(
                decode(&longer),
                Err(DecodeError::TrailingBytes(extra.len()))
            );
        }
        // Every single-byte change: an error or a message, never a panic.
        for at in 0..bytes.len() {
            for value in [0x00, 0x01, 0x02, 0x07, 0x08, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] = value;
                if let Ok(m) = decode(&changed) {
                    let _ = to_json(&m);
                    let _ = message_lines(&m);
                    let _ = table(&[m]);
                }
            }
        }
    }
}

#[test]
fn errors_read_well() {
    let cases: [(DecodeError, &str); 12] = [
        (
            DecodeError::UnknownSocket(3),
            "unknown socket kind (variant 3)",
        ),
        (
            DecodeError::UnknownConnectionIp(2),
            "connection of unknown IP version (variant 2)",
        ),
        (
            DecodeError::UnknownFinding(5),
            "unknown finding (variant 5)",
        ),
        (
            DecodeError::EventNotInFormat {
                event: EventKind::Audit,
                format: 2,
            },
            "event audit in a format-2 message (it exists since format 3)",
        ),
        (
            DecodeError::NotAlone(EventKind::Alerts),
            "event alerts beside other events (it travels alone)",
        ),
        (
            DecodeError::AlertRuleNotZero { alert: 1, rule: 4 },
            "alert 1: rule 4 on an alert other than an indicator (must be 0)",
        ),
        (
            DecodeError::InventoryOverFound {
                listed: 4,
                found: 3,
            },
            "inventory lists 4 sockets but found only 3",
        ),
        (
            DecodeError::BadFindingProtocol {
                finding: 0,
                value: 2,
            },
            "finding 0: risky service protocol 2 is neither 0 (TCP) nor 1 (UDP)",
        ),
        (
            DecodeError::UnknownRiskyReason {
                finding: 2,
                value: 8,
            },
            "finding 2: unknown risky-service reason 8",
        ),
        (
            DecodeError::BadAuditCategory {
                record: 0,
                value: 4,
            },
            "audit record 0: invalid category 4",
        ),
        (
            DecodeError::UnknownAuditKind {
                record: 1,
                value: 14,
            },
            "audit record 1: unknown kind 14",
        ),
        (
            DecodeError::AuditCategoryMismatch {
                record: 0,
                kind: AuditKind::IntervalChanged,
                category: AuditCategory::Configuration,
                result: 5,
            },
            "audit record 0: interval_changed with result 5 is not a configuration record",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
    assert_eq!(
        DecodeError::UnsupportedFormat(4).to_string(),
        "unsupported format 4 (this reader knows formats 2 and 3)"
    );
}

// ---- Replay output ----

fn lines(bytes: &[u8]) -> Vec<String> {
    message_lines(&decode(bytes).unwrap())
        .iter()
        .map(Value::to_string)
        .collect()
}

#[test]
fn replay_json_lines() {
    assert_eq!(
        lines(&inventory_message()),
        [concat!(
            r#"{"t":1700000000,"event":"inventory","found":6,"part":0,"more":false,"sockets":["#,
            r#"{"kind":"tcp_listening","ip":0,"port":23},{"kind":"udp_bound","ip":1,"port":5683},"#,
            r#"{"kind":"tcp_established","ip":0,"local":"192.0.2.1","local_port":502,"remote":"192.0.2.9","remote_port":50000},"#,
            r#"{"kind":"tcp_established","ip":1,"local":"2001:db8::1","local_port":443,"remote":"2001:db8::9","remote_port":50001}"#,
            r#"],"seq":20}"#
        )]
    );
    assert_eq!(
        lines(&findings_message()),
        [
            r#"{"t":1700000000,"event":"finding","finding":"risky_service","active":true,"time":1700000000,"protocol":"tcp","port":23,"reason":"cleartext_remote_login","seq":20}"#,
            r#"{"t":1700000000,"event":"finding","finding":"risky_service","active":false,"time":1700000005,"protocol":"udp","port":161,"reason":"cleartext_management","seq":20}"#,
            r#"{"t":1700000000,"event":"finding","finding":"unhooked_ip","active":true,"time":1700000010,"count":2,"seq":20}"#,
            r#"{"t":1700000000,"event":"finding","finding":"hook_replaced","active":false,"time":1700000020,"count":1,"seq":20}"#,
            r#"{"t":1700000000,"event":"finding","finding":"network_activity_off","active":true,"time":1700000030,"seq":20}"#,
            r#"{"t":1700000000,"event":"finding","finding":"no_clock","active":true,"time":0,"seq":20}"#,
        ]
    );
    let audit = lines(&v3(&[audit_event(&records()[3..5])]));
    assert_eq!(
        audit,
        [
            r#"{"t":1700000000,"event":"audit","sequence":4,"time":1700000060,"category":"configuration","kind":"interval_changed","result":0,"subject":0,"old":3600,"new":60,"seq":20}"#,
            r#"{"t":1700000000,"event":"audit","sequence":5,"time":1700000000,"category":"configuration","kind":"policy_loaded","result":0,"subject":3735928559,"old":0,"new":3735928559,"seq":20}"#,
        ]
    );
    assert_eq!(lines(&audit_message()).len(), 17);
}

fn table(messages: &[Message]) -> String {
    let mut replay = Replay::new(Vec::new(), Format::Table);
    for m in messages {
        replay.message(m).unwrap();
    }
    String::from_utf8(replay.finish().unwrap()).unwrap()
}

#[test]
fn replay_table() {
    let inventory = decode(&inventory_message()).unwrap();
    let findings = decode(&findings_message()).unwrap();
    let audit = decode(&v3(&[audit_event(&[
        records()[3].clone(),
        records()[13].clone(),
    ])]))
    .unwrap();
    let more = decode(&v3(&[inventory_event(9, 1, 1, &[])])).unwrap();
    assert_eq!(
        table(&[inventory, findings, audit, more]),
        "\
INVENTORY found 6, part 0, complete  (seq 20, t 1700000000)
  kind             ip  local              remote
  tcp_listening     0  *:23               -
  udp_bound         1  *:5683             -
  tcp_established   0  192.0.2.1:502      192.0.2.9:50000
  tcp_established   1  [2001:db8::1]:443  [2001:db8::9]:50001

FINDINGS  (seq 20, t 1700000000)
  time                                    state    finding
  2023-11-14 22:13:20 UTC (t 1700000000)  started  risky_service tcp 23 (cleartext_remote_login)
  2023-11-14 22:13:25 UTC (t 1700000005)  ended    risky_service udp 161 (cleartext_management)
  2023-11-14 22:13:30 UTC (t 1700000010)  started  unhooked_ip count 2
  2023-11-14 22:13:40 UTC (t 1700000020)  ended    hook_replaced count 1
  2023-11-14 22:13:50 UTC (t 1700000030)  started  network_activity_off
  1970-01-01 00:00:00 UTC (t 0)           started  no_clock

AUDIT  (seq 20, t 1700000000)
  seq        time  category       kind              result  subject  old -> new
    4  1700000060  configuration  interval_changed       0        0  3600 -> 60
   15  1700000000  request_error  interval_changed       5        1  60 -> 0

INVENTORY found 9, part 1, more follows  (seq 20, t 1700000000)
  (no sockets)

"
    );
}

#[test]
fn replay_lines_from_hex() {
    let mut replay = Replay::new(Vec::new(), Format::Json);
    let text = hex::to_hex(&findings_message());
    assert!(replay.line(text.as_bytes()).unwrap().is_none());
    let out = String::from_utf8(replay.finish().unwrap()).unwrap();
    assert_eq!(out.lines().count(), 6);
}

#[test]
fn lone_events_leave_a_split_window_waiting() {
    use nxsm_decode::{kind_byte, FlagSet, FlowV4, NetworkActivity, Protocol};
    let flow = FlowV4 {
        local: 0,
        remote: [192, 0, 2, 9],
        local_port: 502,
        remote_port: 50_000,
        kind: kind_byte(Protocol::Tcp, FlagSet::EMPTY, FlagSet::EMPTY),
        initiator: 1,
        bytes_in: 1,
        bytes_out: 2,
        packets_in: 1,
        packets_out: 1,
    };
    let part = |part, more, sequence| Message {
        format: 3,
        module: "nxsm".into(),
        module_version: 0,
        sequence,
        time: T,
        events: vec![Event::NetworkActivity(NetworkActivity {
            duration_s: 10,
            part,
            more,
            v4_locals: vec![[192, 0, 2, 1]],
            v4_flows: vec![flow],
            ..Default::default()
        })],
    };
    let lone = [
        inventory_message(),
        findings_message(),
        v3(&[audit_event(&records()[..1])]),
    ];
    let mut messages = vec![part(0, true, 1)];
    messages.extend(lone.iter().map(|b| decode(b).unwrap()));
    messages.push(part(1, false, 5));
    let text = table(&messages);
    let position = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(position("INVENTORY") < position("FINDINGS"));
    assert!(position("FINDINGS") < position("AUDIT"));
    assert!(position("AUDIT") < position("== window"));
    // Both parts' rows are in the one window table.
    let window = &text[position("== window")..];
    assert_eq!(window.matches("192.0.2.1:502").count(), 2);
}

/// The binary with `args`, `stdin` as its input: (exit code, stdout, stderr).
fn run(args: &[&str], stdin: &[u8]) -> (Option<i32>, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_nxsm-decode"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_binary_prints_the_new_events() {
    let input = format!(
        "{}\n{}\n{}\n{}\n",
        hex::to_hex(&inventory_message()),
        hex::to_hex(&findings_message()),
        hex::to_hex(&v3(&[audit_event(&records()[..2])])),
        hex::to_hex(&message(2, &[findings_event(&findings())])),
    );
    // JSON: one object per message; the format-2 message with a finding is refused.
    let (code, out, err) = run(&["--hex"], input.as_bytes());
    assert_eq!(code, Some(1), "{err}");
    let events: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["events"][0]["event"].to_string())
        .collect();
    assert_eq!(events, [r#""inventory""#, r#""findings""#, r#""audit""#]);
    assert!(
        err.contains("event findings in a format-2 message (it exists since format 3)"),
        "{err}"
    );
    // Replay lines: one per inventory, finding and audit record.
    let (code, out, _) = run(&["--replay"], input.as_bytes());
    assert_eq!(code, Some(1));
    let kinds: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].to_string())
        .collect();
    let mut expected = vec![r#""inventory""#.to_string()];
    expected.extend(std::iter::repeat_n(r#""finding""#.to_string(), 6));
    expected.extend(std::iter::repeat_n(r#""audit""#.to_string(), 2));
    assert_eq!(kinds, expected);
    let (code, out, _) = run(&["--replay", "--format", "table"], input.as_bytes());
    assert_eq!(code, Some(1));
    assert!(out.starts_with("INVENTORY found 6, part 0, complete  (seq 20, t 1700000000)\n"));
    assert!(out.contains("\nFINDINGS  (seq 20, t 1700000000)\n"));
    assert!(out.contains("\nAUDIT  (seq 20, t 1700000000)\n"));
}
