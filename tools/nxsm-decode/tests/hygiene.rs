//! Inventories, findings and audit records written by the core (`InventoryPlan`,
//! `FindingsMessage`, `AuditPlan`) and read back (wire format sections 3.6 to 3.8).

use nx_security_module::testing::hygiene::{
    AuditKind as CoreKind, AuditLog, AuditRecord as CoreRecord, BlindSpot, Findings, Reason,
    Service, ServiceProtocol, Socket as CoreSocket, SocketKind as CoreSocketKind,
};
use nx_security_module::testing::message::{AuditPlan, FindingsMessage, InventoryPlan};
use nxsm_decode::replay::message_lines;
use nxsm_decode::{
    decode, encode, to_json, AuditRecord, Connection, Event, Finding, FindingHead, Message,
    RiskyService, Socket,
};
use proptest::prelude::*;

const T: u32 = 1_700_000_000;

fn listening(kind: CoreSocketKind, ip_index: u8, port: u16) -> CoreSocket {
    CoreSocket {
        kind: kind as u8,
        ip_index,
        local_port: port,
        ..CoreSocket::EMPTY
    }
}

fn established(ip_index: u8, v6: bool, n: u8) -> CoreSocket {
    let width = if v6 { 16 } else { 4 };
    let mut local = [0u8; 16];
    let mut remote = [0u8; 16];
    for i in 0..width {
        local[i] = 0x20 + i as u8;
        remote[i] = n.wrapping_add(i as u8);
    }
    CoreSocket {
        kind: CoreSocketKind::TcpEstablished as u8,
        ip_version: if v6 { 6 } else { 4 },
        ip_index,
        local_port: 443,
        remote_port: 40_000 + u16::from(n),
        local_address: local,
        remote_address: remote,
        ..CoreSocket::EMPTY
    }
}

/// What the format says a reader must see for a socket the writer was given.
fn expected_socket(socket: &CoreSocket) -> Socket {
    let ip = socket.ip_index;
    match socket.kind() {
        Some(CoreSocketKind::TcpListening) => Socket::TcpListening {
            ip,
            port: socket.local_port,
        },
        Some(CoreSocketKind::UdpBound) => Socket::UdpBound {
            ip,
            port: socket.local_port,
        },
        _ => {
            let (l, r) = (&socket.local_address, &socket.remote_address);
            let connection = if socket.ip_version == 6 {
                Connection::V6 {
                    local: *l,
                    local_port: socket.local_port,
                    remote: *r,
                    remote_port: socket.remote_port,
                }
            } else {
                Connection::V4 {
                    local: [l[0], l[1], l[2], l[3]],
                    local_port: socket.local_port,
                    remote: [r[0], r[1], r[2], r[3]],
                    remote_port: socket.remote_port,
                }
            };
            Socket::TcpEstablished { ip, connection }
        }
    }
}

/// Every part of an inventory as the writer splits it, decoded.
fn write_inventory(sockets: &[CoreSocket], found: u32, max_len: usize) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut rest = sockets;
    let mut part = 0u16;
    loop {
        let plan = InventoryPlan::new(rest, found, part, max_len, 100 + u32::from(part), T);
        let mut buf = vec![0u8; plan.len()];
        let written = plan.write(&mut buf).expect("a planned message is written");
        assert_eq!(written, plan.len(), "plan length and bytes written differ");
        let message = decode(&buf).unwrap_or_else(|e| panic!("part {part}: {e}"));
        assert_eq!(encode(&message), buf, "bytes differ from a re-encode");
        messages.push(message);
        rest = &rest[plan.count()..];
        if !plan.more() {
            break;
        }
        part += 1;
        assert!(plan.count() >= 1, "the plans do not advance");
    }
    assert!(rest.is_empty(), "InventoryPlan stopped with sockets left");
    messages
}

fn inventory_sockets() -> Vec<CoreSocket> {
    let mut sockets = vec![
        listening(CoreSocketKind::TcpListening, 0, 23),
        listening(CoreSocketKind::UdpBound, 1, 5683),
        listening(CoreSocketKind::TcpListening, 255, u16::MAX),
    ];
    for n in 0..40u8 {
        sockets.push(established(n % 3, n % 2 == 1, n));
    }
    sockets
}

#[test]
fn inventory_round_trips_in_one_message_and_in_parts() {
    let sockets = inventory_sockets();
    let expected: Vec<Socket> = sockets.iter().map(expected_socket).collect();
    for (max_len, found) in [(16_384, 43u32), (320, 43), (400, 70_000), (1024, u32::MAX)] {
        let messages = write_inventory(&sockets, found, max_len);
        assert_eq!(messages.len() == 1, max_len == 16_384, "{max_len}");
        let mut read = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            assert_eq!((m.format, m.sequence, m.time), (3, 100 + i as u32, T));
            let Some(inventory) = m.inventory() else {
                panic!("not an inventory: {m:?}")
            };
            assert_eq!(m.events.len(), 1);
            assert_eq!(inventory.found, found);
            assert_eq!(usize::from(inventory.part), i);
            assert_eq!(inventory.more, i + 1 < messages.len());
            read.extend(inventory.sockets.iter().copied());
            assert!(max_len >= encode(m).len());
        }
        assert_eq!(read, expected);
    }
    // An empty inventory is one message without sockets.
    let messages = write_inventory(&[], 0, 1024);
    assert_eq!(messages.len(), 1);
    assert_eq!(
        to_json(&messages[0])["events"][0],
        serde_json::json!({"event": "inventory", "found": 0, "part": 0, "more": false,
                           "sockets": []})
    );
}

/// The findings message of whatever `findings` has waiting, decoded.
fn write_findings(findings: &Findings, sequence: u32) -> Message {
    let plan = FindingsMessage::new(findings, sequence, T);
    let mut buf = vec![0u8; plan.len()];
    let written = plan.write(&mut buf).expect("the message is written");
    assert_eq!(written, buf.len());
    let message = decode(&buf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(encode(&message), buf);
    message
}

#[test]
fn findings_round_trip_as_they_start_and_end() {
    let mut findings = Findings::new();
    let sockets = [
        listening(CoreSocketKind::TcpListening, 0, 23),
        listening(CoreSocketKind::UdpBound, 0, 161),
        listening(CoreSocketKind::TcpListening, 0, 8080),
    ];
    findings.inventory_read(&sockets, T);
    findings.hooks(2, 1, T + 1);
    findings.set(BlindSpot::NetworkActivityOff, true, T + 2);
    findings.set(BlindSpot::NoClock, true, T + 3);
    let m = write_findings(&findings, 7);
    let on = |time| FindingHead { active: true, time };
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
                on(T),
                RiskyService {
                    protocol: 1,
                    port: 161,
                    reason: 7
                }
            ),
            Finding::UnhookedIp(on(T + 1), 2),
            Finding::HookReplaced(on(T + 1), 1),
            Finding::NetworkActivityOff(on(T + 2)),
            Finding::NoClock(on(T + 3)),
        ]
    );
    assert_eq!(message_lines(&m).len(), 6);
    findings.reported();
    // Everything ends.
    findings.inventory_read(&[], T + 10);
    findings.hooks(0, 0, T + 11);
    findings.set(BlindSpot::NetworkActivityOff, false, T + 12);
    findings.set(BlindSpot::NoClock, false, T + 13);
    let m = write_findings(&findings, 8);
    let ended: Vec<(bool, u32)> = m
        .findings()
        .unwrap()
        .iter()
        .map(|f| (f.head().active, f.head().time))
        .collect();
    assert_eq!(
        ended,
        [
            (false, T + 10),
            (false, T + 10),
            (false, T + 11),
            (false, T + 11),
            (false, T + 12),
            (false, T + 13)
        ]
    );
    // The application's own list: reason 0, both protocols.
    let mut findings = Findings::new();
    findings.set_services(Some(&[
        Service::new(ServiceProtocol::Udp, 9999, Reason::Listed),
        Service::new(ServiceProtocol::Tcp, 8080, Reason::Listed),
    ]));
    findings.inventory_read(&sockets, T);
    let m = write_findings(&findings, 9);
    assert_eq!(
        to_json(&m)["events"][0]["findings"],
        serde_json::json!([{"finding": "risky_service", "active": true, "time": T,
                            "protocol": "tcp", "port": 8080,
                            "reason": "listed_by_application"}])
    );
    // Every default service, each with its reason.
    let mut findings = Findings::new();
    let all: Vec<CoreSocket> = [21u16, 23, 80, 502, 1883]
        .iter()
        .map(|&p| listening(CoreSocketKind::TcpListening, 0, p))
        .chain(
            [5683u16, 69, 161]
                .iter()
                .map(|&p| listening(CoreSocketKind::UdpBound, 0, p)),
        )
        .collect();
    findings.inventory_read(&all, T);
    let m = write_findings(&findings, 10);
    let reasons: Vec<u32> = m
        .findings()
        .unwrap()
        .iter()
        .map(|f| f.service().unwrap().reason)
        .collect();
    assert_eq!(reasons, [1, 2, 3, 4, 5, 6, 1, 7]);
}

fn expected_record(record: &CoreRecord) -> AuditRecord {
    AuditRecord {
        sequence: record.sequence,
        time: record.time,
        category: record.category,
        kind: u32::from(record.kind),
        result: u32::from(record.result),
        subject: record.subject,
        old: record.old,
        new: record.new,
    }
}

/// Every message the writer makes of `records`, decoded.
fn write_audit(records: &[CoreRecord], max_len: usize) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut rest = records;
    let mut sequence = 50u32;
    while let Some(plan) = AuditPlan::new(rest, max_len, sequence, T) {
        let mut buf = vec![0u8; plan.len()];
        let written = plan.write(&mut buf).expect("a planned message is written");
        assert_eq!(written, plan.len());
        let message = decode(&buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(encode(&message), buf);
        assert!(buf.len() <= max_len.max(320));
        messages.push(message);
        rest = &rest[plan.count()..];
        sequence += 1;
    }
    assert!(rest.is_empty());
    messages
}

#[test]
fn every_audit_kind_round_trips() {
    let mut log = AuditLog::new();
    let kinds = [
        (CoreKind::Started, 0),
        (CoreKind::Stopped, 0),
        (CoreKind::CollectorChanged, 0),
        (CoreKind::IntervalChanged, 0),
        (CoreKind::IntervalChanged, 3),
        (CoreKind::PolicyLoaded, 0),
        (CoreKind::PolicyLoaded, 9),
        (CoreKind::PolicyCleared, 0),
        (CoreKind::LearnStarted, 0),
        (CoreKind::LearnStarted, 255),
        (CoreKind::LearnEnded, 0),
        (CoreKind::ClockSetBack, 0),
        (CoreKind::MessagesDropped, 0),
        (CoreKind::HooksLost, 0),
        (CoreKind::ServicesChanged, 2),
    ];
    for (i, &(kind, result)) in kinds.iter().enumerate() {
        let i = i as u32;
        log.record(T + i, kind, result, [i, u32::MAX - i, i << 20]);
    }
    let records = log.waiting(T + 100).to_vec();
    let messages = write_audit(&records, 16_384);
    assert_eq!(messages.len(), 1);
    let read = messages[0].audit().unwrap();
    let expected: Vec<AuditRecord> = records.iter().map(expected_record).collect();
    assert_eq!(read, expected.as_slice());
    let names: Vec<String> = message_lines(&messages[0])
        .iter()
        .map(|l| format!("{} {}", l["category"], l["kind"]))
        .collect();
    assert_eq!(names[4], r#""request_error" "interval_changed""#);
    assert_eq!(names[1], r#""control_system" "stopped""#);
    // A full queue loses records and then says so: an `AuditLost` record, audit-log category.
    let mut log = AuditLog::new();
    for i in 0..40u32 {
        log.record(T + i, CoreKind::IntervalChanged, 0, [0, i, i + 1]);
    }
    let records = log.waiting(T + 100).to_vec();
    for max_len in [320usize, 16_384] {
        let messages = write_audit(&records, max_len);
        let read: Vec<AuditRecord> = messages
            .iter()
            .flat_map(|m| m.audit().unwrap().iter().copied())
            .collect();
        let expected: Vec<AuditRecord> = records.iter().map(expected_record).collect();
        assert_eq!(read, expected);
        let last = read.last().unwrap();
        assert_eq!(
            (last.category, last.kind().map(|k| k.name())),
            (3, Some("audit_lost"))
        );
    }
}

fn core_socket() -> impl Strategy<Value = CoreSocket> {
    prop_oneof![
        (any::<u8>(), 1..=u16::MAX).prop_map(|(ip, port)| listening(
            CoreSocketKind::TcpListening,
            ip,
            port
        )),
        (any::<u8>(), 1..=u16::MAX).prop_map(|(ip, port)| listening(
            CoreSocketKind::UdpBound,
            ip,
            port
        )),
        (any::<u8>(), any::<bool>(), any::<u8>()).prop_map(|(ip, v6, n)| established(ip, v6, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_inventories_round_trip(
        sockets in prop::collection::vec(core_socket(), 0..120),
        unlisted in prop_oneof![Just(0u32), any::<u32>()],
        max_len in 320usize..=2048,
    ) {
        let found = (sockets.len() as u32).saturating_add(unlisted);
        let messages = write_inventory(&sockets, found, max_len);
        let read: Vec<Socket> = messages
            .iter()
            .flat_map(|m| m.inventory().unwrap().sockets.iter().copied())
            .collect();
        let expected: Vec<Socket> = sockets.iter().map(expected_socket).collect();
        prop_assert_eq!(read, expected);
    }

    #[test]
    fn random_audit_logs_round_trip(
        entries in prop::collection::vec((1u8..=13, any::<u8>(), any::<[u32; 3]>()), 1..60),
        max_len in 320usize..=1024,
    ) {
        let mut log = AuditLog::new();
        for (i, &(kind, result, values)) in entries.iter().enumerate() {
            let kind = match kind {
                1 => CoreKind::Started,
                2 => CoreKind::Stopped,
                3 => CoreKind::CollectorChanged,
                4 => CoreKind::IntervalChanged,
                5 => CoreKind::PolicyLoaded,
                6 => CoreKind::PolicyCleared,
                7 => CoreKind::LearnStarted,
                8 => CoreKind::LearnEnded,
                9 => CoreKind::ClockSetBack,
                10 => CoreKind::MessagesDropped,
                11 => CoreKind::HooksLost,
                12 => CoreKind::AuditLost,
                _ => CoreKind::ServicesChanged,
            };
            // Only the requests the format lets be refused carry a result.
            let refusable = matches!(
                kind,
                CoreKind::IntervalChanged
                    | CoreKind::PolicyLoaded
                    | CoreKind::LearnStarted
                    | CoreKind::ServicesChanged
            );
            let result = if refusable { u32::from(result) } else { 0 };
            log.record(T + i as u32, kind, result, values);
        }
        let records = log.waiting(T + 1000).to_vec();
        let read: Vec<AuditRecord> = write_audit(&records, max_len)
            .iter()
            .flat_map(|m| m.audit().unwrap().iter().copied())
            .collect();
        let expected: Vec<AuditRecord> = records.iter().map(expected_record).collect();
        prop_assert_eq!(read, expected);
    }
}

#[test]
fn writer_messages_are_the_one_event() {
    let messages = write_inventory(&inventory_sockets(), 43, 320);
    for m in messages {
        assert!(matches!(m.events.as_slice(), [Event::Inventory(_)]));
    }
}
