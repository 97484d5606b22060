use super::audit::{AuditKind, AuditLog, Category, RECORDS};
use super::findings::{BlindSpot, Finding, Findings, Reason, Service, ServiceProtocol, Subject};
use super::inventory::{Inventory, Read, Scan, Socket, SocketKind, SOCKETS};
use crate::message::{AuditPlan, FindingsMessage, InventoryPlan, MIN_MESSAGE_BYTES};

const T0: u32 = 1_700_000_000;

fn listening(port: u16) -> Socket {
    Socket {
        kind: SocketKind::TcpListening as u8,
        local_port: port,
        ..Socket::EMPTY
    }
}

fn bound(port: u16) -> Socket {
    Socket {
        kind: SocketKind::UdpBound as u8,
        ..listening(port)
    }
}

fn connection_v4(local_port: u16, remote_port: u16) -> Socket {
    let mut socket = Socket {
        kind: SocketKind::TcpEstablished as u8,
        ip_version: 4,
        ip_index: 1,
        local_port,
        remote_port,
        ..Socket::EMPTY
    };
    socket.local_address[..4].copy_from_slice(&[192, 0, 2, 1]);
    socket.remote_address[..4].copy_from_slice(&[198, 51, 100, 7]);
    socket
}

fn connection_v6() -> Socket {
    Socket {
        ip_version: 6,
        local_address: [0x20; 16],
        remote_address: [0xFE; 16],
        ..connection_v4(50_000, 443)
    }
}

/// A source reporting `sockets` (`found` of them) as the platform would, into a room the
/// C API zeroed.
fn source(sockets: &[Socket], found: u32) -> impl FnOnce(&mut [Socket]) -> Option<Scan> + '_ {
    move |room| {
        room.fill(Socket::EMPTY);
        for (slot, socket) in room.iter_mut().zip(sockets) {
            *slot = *socket;
        }
        Some(Scan {
            found,
            ..Scan::default()
        })
    }
}

#[test]
fn every_field_must_agree_with_the_kind() {
    for good in [
        listening(23),
        bound(69),
        connection_v4(1, 2),
        connection_v6(),
    ] {
        assert!(good.is_valid(), "{good:?}");
    }
    let broken: [fn(&mut Socket); 9] = [
        |s| s.kind = 3,
        |s| s.reserved = 1,
        |s| s.local_port = 0,
        |s| s.remote_port = 9,
        |s| s.ip_version = 4,
        |s| s.local_address[15] = 1,
        |s| s.remote_address[0] = 1,
        |s| s.kind = 2,
        |s| s.kind = 0xFF,
    ];
    for (n, break_it) in broken.iter().enumerate() {
        let mut socket = listening(23);
        break_it(&mut socket);
        assert!(!socket.is_valid(), "listener case {n}");
    }
    let mut v4 = connection_v4(1, 2);
    v4.local_address[4] = 1;
    assert!(!v4.is_valid(), "bytes past an IPv4 address");
    let mut other = connection_v4(1, 2);
    other.ip_version = 5;
    assert!(!other.is_valid());
    let mut no_peer_port = connection_v4(1, 0);
    assert!(!no_peer_port.is_valid());
    no_peer_port.remote_port = 7;
    assert!(no_peer_port.is_valid());
}

#[test]
fn a_read_keeps_valid_sockets_and_counts_the_rest() {
    let mut inventory = Inventory::new();
    let mut garbage = listening(80);
    garbage.kind = 9;
    let sockets = [
        listening(23),
        garbage,
        bound(5683),
        connection_v4(40_000, 443),
    ];
    let (read, _) = inventory.read(source(&sockets, 4)).unwrap();
    assert_eq!(read, Read::Complete { changed: true });
    let kept = inventory.sockets().unwrap();
    assert_eq!(
        kept,
        [listening(23), bound(5683), connection_v4(40_000, 443)]
    );
    assert_eq!(inventory.found(), 4);
    assert_eq!(inventory.counters().invalid, 1);
}

#[test]
fn more_sockets_than_room_are_counted_not_listed() {
    let mut inventory = Inventory::new();
    let many: std::vec::Vec<Socket> = (1..=SOCKETS as u16 + 5).map(listening).collect();
    // A source that claims more than it had room for, and one that lies about its count.
    inventory.read(source(&many, many.len() as u32)).unwrap();
    assert_eq!(inventory.sockets().unwrap().len(), SOCKETS);
    assert_eq!(inventory.found(), many.len() as u32);
    assert_eq!(inventory.counters().overflow, 5);
    inventory.read(source(&many, u32::MAX)).unwrap();
    assert_eq!(inventory.sockets().unwrap().len(), SOCKETS);
    // A source that wrote less than it found leaves empty entries, which are invalid.
    inventory.read(source(&many[..2], 6)).unwrap();
    assert_eq!(inventory.sockets().unwrap().len(), 2);
    assert_eq!(inventory.counters().invalid, 4);
}

#[test]
fn the_same_sockets_in_another_order_are_no_change() {
    let mut inventory = Inventory::new();
    let sockets = [listening(23), bound(69), connection_v4(1, 2)];
    inventory.read(source(&sockets, 3)).unwrap();
    inventory.reported();
    let shuffled = [connection_v4(1, 2), listening(23), bound(69)];
    let (read, _) = inventory.read(source(&shuffled, 3)).unwrap();
    assert_eq!(read, Read::Complete { changed: false });
    let (read, _) = inventory.read(source(&shuffled[..2], 2)).unwrap();
    assert_eq!(read, Read::Complete { changed: true }, "a socket closed");
}

#[test]
fn an_incomplete_read_reports_nothing() {
    let mut inventory = Inventory::new();
    inventory.read(source(&[listening(23)], 1)).unwrap();
    let (read, scan) = inventory
        .read(|_| {
            Some(Scan {
                found: 1,
                ips_skipped: 1,
                ..Scan::default()
            })
        })
        .unwrap();
    assert_eq!((read, scan.ips_skipped), (Read::Incomplete, 1));
    assert_eq!(inventory.sockets(), None);
    assert_eq!(inventory.counters().incomplete, 1);
    assert!(inventory.read(|_| None).is_none(), "no source");
}

fn waiting(findings: &Findings) -> std::vec::Vec<Finding> {
    let mut all = std::vec::Vec::new();
    findings.for_each_waiting(&mut |finding| all.push(finding));
    all
}

#[test]
fn a_telnet_listener_starts_and_ends_one_finding() {
    let mut findings = Findings::new();
    findings.inventory_read(&[listening(23), listening(8080), bound(53)], T0);
    let telnet = Service::new(ServiceProtocol::Tcp, 23, Reason::CleartextRemoteLogin);
    let started = Finding {
        active: true,
        time: T0,
        subject: Subject::Service(telnet),
    };
    assert_eq!(waiting(&findings), [started]);
    findings.reported();
    findings.inventory_read(&[listening(23)], T0 + 10);
    assert!(!findings.pending(), "still listening: nothing new");
    findings.inventory_read(&[], T0 + 20);
    let ended = Finding {
        active: false,
        time: T0 + 20,
        ..started
    };
    assert_eq!(waiting(&findings), [ended]);
    findings.reported();
    assert!(!findings.pending());
}

#[test]
fn udp_and_tcp_services_are_told_apart() {
    let mut findings = Findings::new();
    // TCP 69 and UDP 23 are not on the default list; UDP 69 (TFTP) is.
    findings.inventory_read(&[listening(69), bound(23)], T0);
    assert!(!findings.pending());
    findings.inventory_read(&[bound(69)], T0);
    assert_eq!(waiting(&findings).len(), 1);
}

#[test]
fn blind_spots_carry_their_counts() {
    let mut findings = Findings::new();
    findings.hooks(1, 0, T0);
    findings.set(BlindSpot::NoClock, true, T0 + 1);
    let all = waiting(&findings);
    assert_eq!(
        all.iter().map(|f| f.subject).collect::<std::vec::Vec<_>>(),
        [
            Subject::BlindSpot(BlindSpot::UnhookedIp, 1),
            Subject::BlindSpot(BlindSpot::NoClock, 0)
        ]
    );
    findings.reported();
    findings.hooks(2, 0, T0 + 2);
    assert!(!findings.pending(), "one condition, whatever its count");
    assert_eq!(findings.active(), 1 << 16 | 1 << 19);
}

#[test]
fn a_new_service_list_ends_the_old_findings_first() {
    let mut findings = Findings::new();
    findings.inventory_read(&[listening(23)], T0);
    findings.reported();
    findings.end_services(T0 + 5);
    let [ended] = waiting(&findings)[..] else {
        panic!()
    };
    assert!(!ended.active && ended.time == T0 + 5);
    findings.reported();
    let custom = [Service::new(ServiceProtocol::Tcp, 8080, Reason::Listed)];
    findings.set_services(Some(&custom));
    assert_eq!(findings.service_count(), 1);
    findings.inventory_read(&[listening(23), listening(8080)], T0 + 6);
    let [started] = waiting(&findings)[..] else {
        panic!()
    };
    assert_eq!(started.subject, Subject::Service(custom[0]));
    findings.set_services(None);
    assert_eq!(findings.service_count(), 8);
}

#[test]
fn audit_records_are_numbered_and_losses_reported() {
    let mut log = AuditLog::new();
    log.record(T0, AuditKind::Started, 0, [15, 0, 0]);
    log.record(T0, AuditKind::IntervalChanged, 2, [0, 10, 0]);
    let records = log.waiting(T0).to_vec();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].sequence, 1);
    assert_eq!(records[1].category, Category::RequestError as u8);
    assert_eq!(records[0].category, Category::ControlSystem as u8);
    log.sent(2);
    // Fill the queue: the last place is kept for the loss report.
    for n in 0..RECORDS as u32 + 3 {
        log.record(T0 + 1, AuditKind::PolicyCleared, 0, [0, n, 0]);
    }
    let records = log.waiting(T0 + 2).to_vec();
    assert_eq!(records.len(), RECORDS);
    let lost = RECORDS as u32 + 3 - (RECORDS as u32 - 1);
    let report = records[RECORDS - 1];
    assert_eq!(report.kind, AuditKind::AuditLost as u8);
    assert_eq!(
        (report.category, report.new),
        (Category::AuditLog as u8, lost)
    );
    // The lost records' numbers were taken: the report's number shows the gap.
    assert_eq!(report.sequence, 2 + RECORDS as u32 + 3);
    assert_eq!(records[RECORDS - 2].sequence, 2 + RECORDS as u32 - 2);
    assert_eq!(log.counters().lost, lost);
    log.sent(1);
    assert_eq!(log.waiting(T0 + 3).len(), RECORDS - 1);
    assert_eq!(log.waiting(T0 + 3)[0].sequence, 3);
}

/// The encoded length of each planned message, less the header's.
fn body(len: usize, sequence: u32, time: u32) -> usize {
    let varint = crate::message::varint_len;
    len - (1 + 5 + varint(crate::VERSION) + varint(sequence) + varint(time) + 1)
}

#[test]
fn socket_sizes_on_the_wire_are_those_documented() {
    // Event variant, found, part, more, count: five bytes while small.
    for (socket, size) in [
        (listening(23), 4),
        (bound(161), 4),
        (connection_v4(40_000, 443), 15),
        (connection_v6(), 39),
    ] {
        let sockets = [socket];
        let plan = InventoryPlan::new(&sockets, 1, 0, 1024, 3, T0);
        assert_eq!(body(plan.len(), 3, T0), 5 + size, "{socket:?}");
        let mut out = [0u8; 128];
        assert_eq!(plan.write(&mut out), Ok(plan.len()));
    }
}

#[test]
fn a_long_inventory_is_split_into_parts_that_fit() {
    let sockets: std::vec::Vec<Socket> = (0..SOCKETS).map(|_| connection_v6()).collect();
    let mut first = 0;
    let mut part = 0;
    loop {
        let plan = InventoryPlan::new(&sockets[first..], SOCKETS as u32, part, 0, 9, T0);
        assert!(plan.len() <= MIN_MESSAGE_BYTES && plan.count() >= 1);
        let mut out = [0u8; MIN_MESSAGE_BYTES];
        let written = plan.write(&mut out).unwrap();
        assert_eq!(written, plan.len());
        first += plan.count();
        part += 1;
        if !plan.more() {
            break;
        }
    }
    assert_eq!(first, SOCKETS);
    assert!(SOCKETS * 39 < MIN_MESSAGE_BYTES || part > 1);
}

#[test]
fn findings_and_audit_records_have_the_documented_sizes() {
    let mut findings = Findings::new();
    findings.set(BlindSpot::NetworkActivityOff, true, 5);
    let message = FindingsMessage::new(&findings, 0, 5);
    // Variant, count, then 3 bytes: variant, active, time.
    assert_eq!(body(message.len(), 0, 5), 2 + 3);
    let mut findings = Findings::new();
    findings.inventory_read(&[listening(1883)], T0);
    let message = FindingsMessage::new(&findings, 0, T0);
    // Variant, active, time (5), protocol, port (2), reason.
    assert_eq!(body(message.len(), 0, T0), 2 + 1 + 1 + 5 + 1 + 2 + 1);
    let mut log = AuditLog::new();
    log.record(5, AuditKind::Stopped, 0, [0; 3]);
    log.record(5, AuditKind::PolicyLoaded, 0, [u32::MAX; 3]);
    let records = log.waiting(5).to_vec();
    let plan = AuditPlan::new(&records[..1], 1024, 0, 5).unwrap();
    assert_eq!(body(plan.len(), 0, 5), 2 + 8);
    let plan = AuditPlan::new(&records[1..], 1024, 0, 5).unwrap();
    // Sequence, time, category, kind, result: a byte each; three widest values.
    assert_eq!(body(plan.len(), 0, 5), 2 + 5 + 3 * 5);
}
