//! The inventory source, the risky-service list and the audit trail through their C
//! signatures: what a source writes is checked and reported, hostile sources are counted,
//! hostile lists refused and audited, and every message goes out in the wire format.

use nxsm_decode::{Connection, Event, Finding, Inventory, Message, Socket};
use nxsm_ffi_tests::*;
use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU32, Ordering};

const T0: u32 = 1_800_000_000;

/// What the test source writes: 0 a device with Telnet, CoAP and one connection (and one
/// broken entry), 1 a source that claims far more than it had room for, 2 one that could
/// not read an IP instance.
static MODE: AtomicU32 = AtomicU32::new(0);
static CALLS: AtomicU32 = AtomicU32::new(0);

fn socket(kind: u32, port: u16) -> nxsm_socket {
    nxsm_socket {
        kind: kind as u8,
        local_port: port,
        ..nxsm_socket::default()
    }
}

unsafe extern "C" fn source(scan: *mut nxsm_inventory_scan, context: *mut c_void) {
    assert_eq!(context as usize, 0x5eed);
    CALLS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the library passes a live scan whose `sockets` has room for `capacity`.
    let scan = unsafe { &mut *scan };
    let room = unsafe { std::slice::from_raw_parts_mut(scan.sockets, scan.capacity as usize) };
    assert!(
        room.iter().all(|s| *s == nxsm_socket::default()),
        "zeroed on entry"
    );
    match MODE.load(Ordering::SeqCst) {
        0 => {
            let mut connection = socket(NXSM_SOCKET_TCP_ESTABLISHED, 40_000);
            connection.ip_version = 4;
            connection.ip_index = 1;
            connection.remote_port = 443;
            connection.local_address[..4].copy_from_slice(&[192, 0, 2, 1]);
            connection.remote_address[..4].copy_from_slice(&[198, 51, 100, 7]);
            let mut broken = socket(NXSM_SOCKET_UDP_BOUND, 53);
            broken.reserved = 0xAA;
            let written = [
                socket(NXSM_SOCKET_TCP_LISTEN, 23),
                socket(NXSM_SOCKET_UDP_BOUND, 5683),
                connection,
                broken,
            ];
            room[..4].copy_from_slice(&written);
            scan.found = 4;
        }
        1 => {
            for (n, slot) in room.iter_mut().enumerate() {
                *slot = socket(NXSM_SOCKET_TCP_LISTEN, 1000 + n as u16);
            }
            scan.found = u32::MAX;
            scan.ips_unhooked = 2;
            scan.hooks_replaced = 1;
        }
        _ => {
            room[0] = socket(NXSM_SOCKET_TCP_LISTEN, 23);
            scan.found = 1;
            scan.ips_skipped = 1;
        }
    }
}

fn set_source(on: bool) {
    let (function, context) = if on {
        (Some(source as _), 0x5eed as *mut c_void)
    } else {
        (None, null_mut())
    };
    // SAFETY: a valid function (or none) and an opaque context.
    assert_eq!(
        unsafe { nxsm_set_inventory_source(function, context) },
        NXSM_OK
    );
}

fn peek() -> Option<(u32, Vec<u8>)> {
    let mut bytes = null();
    let mut length = 0usize;
    let mut sequence = 0u32;
    // SAFETY: three live out-pointers.
    match unsafe { nxsm_message_peek(&mut bytes, &mut length, &mut sequence) } {
        // SAFETY: the library lends `length` bytes at `bytes` until the ack.
        NXSM_OK => Some((
            sequence,
            unsafe { std::slice::from_raw_parts(bytes, length) }.to_vec(),
        )),
        _ => None,
    }
}

/// Every message waiting, sent and decoded.
fn send_all() -> Vec<Message> {
    let mut sent = Vec::new();
    while let Some((sequence, bytes)) = peek() {
        // SAFETY: no pointers.
        assert_eq!(unsafe { nxsm_message_ack(sequence, true) }, NXSM_OK);
        sent.push(nxsm_decode::decode(&bytes).expect("every message decodes"));
    }
    sent
}

/// The events of `messages`, in order.
fn events(messages: &[Message]) -> Vec<&Event> {
    messages.iter().flat_map(|m| m.events.iter()).collect()
}

fn poll(now: u32) {
    // SAFETY: no pointers.
    assert_eq!(unsafe { nxsm_poll(now, true) }, NXSM_OK);
}

fn start(now: u32) {
    let config = default_config();
    // SAFETY: a live config.
    assert_eq!(unsafe { nxsm_start(&config, now, 0) }, NXSM_OK);
}

#[test]
fn the_inventory_findings_and_audit_reach_the_outbox() {
    let _serial = serial();
    send_all();
    MODE.store(0, Ordering::SeqCst);
    set_source(true);
    let before = stats();
    start(T0);
    // Reads at the start and every 10 s; the first collection (30 s after the start)
    // sends the inventory again.
    for now in T0..=T0 + 30 {
        poll(now);
    }
    let messages = send_all();
    let after = stats();
    assert_eq!(after.inventory_sockets, 4);
    let reads = after.inventory_reads - before.inventory_reads;
    assert_eq!(reads, 4);
    let rejected = after.inventory_rejected - before.inventory_rejected;
    assert_eq!(rejected, reads, "the broken entry, each read");
    // Telnet is the 2nd entry of the default list, CoAP the 6th.
    assert_eq!(after.findings_active, 1 << 1 | 1 << 5);
    let events = events(&messages);
    let inventories: Vec<&Inventory> = events
        .iter()
        .filter_map(|e| match e {
            Event::Inventory(inventory) => Some(inventory),
            _ => None,
        })
        .collect();
    assert_eq!(inventories.len(), 2, "the first read, then the collection");
    let expected = [
        Socket::TcpListening { ip: 0, port: 23 },
        Socket::UdpBound { ip: 0, port: 5683 },
        Socket::TcpEstablished {
            ip: 1,
            connection: Connection::V4 {
                local: [192, 0, 2, 1],
                local_port: 40_000,
                remote: [198, 51, 100, 7],
                remote_port: 443,
            },
        },
    ];
    for inventory in &inventories {
        assert_eq!((inventory.found, inventory.more), (4, false));
        assert_eq!(inventory.sockets, expected);
    }
    let findings: Vec<(u8, u16, u32, bool)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Findings(findings) => Some(findings),
            _ => None,
        })
        .flatten()
        .map(|f| match f {
            Finding::RiskyService(head, s) => (s.protocol, s.port, s.reason, head.active),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(findings, [(0, 23, 2, true), (1, 5683, 6, true)]);
    let started = events.iter().any(|e| match e {
        Event::Audit(records) => records
            .iter()
            .any(|r| r.kind == 1 && r.subject == NXSM_COLLECTORS_ALL),
        _ => false,
    });
    assert!(started, "the start's audit record");
    // Unchanged: not sent again before its interval.
    for now in T0 + 31..T0 + 45 {
        poll(now);
    }
    let later = send_all();
    assert!(self::events(&later)
        .iter()
        .all(|e| !matches!(e, Event::Inventory(_))));
    set_source(false);
}

#[test]
fn hostile_sources_are_counted_not_trusted() {
    let _serial = serial();
    send_all();
    set_source(true);
    start(T0);
    MODE.store(1, Ordering::SeqCst);
    for now in T0..=T0 + 30 {
        poll(now);
    }
    let counted = stats();
    assert_eq!(counted.inventory_sockets, u32::MAX);
    // Unhooked IPs and a replaced hook are findings (bits 16 and 17).
    assert_eq!(counted.findings_active & (3 << 16), 3 << 16);
    let listed = events(&send_all())
        .iter()
        .filter_map(|e| match e {
            Event::Inventory(inventory) => Some(inventory.sockets.len()),
            _ => None,
        })
        .max();
    assert!(listed.is_some_and(|n| n > 0));
    let before = counted.inventory_rejected;
    MODE.store(2, Ordering::SeqCst);
    for now in T0 + 31..=T0 + 60 {
        poll(now);
    }
    assert!(stats().inventory_rejected > before, "an incomplete read");
    let incomplete = send_all();
    assert!(events(&incomplete)
        .iter()
        .all(|e| !matches!(e, Event::Inventory(_))));
    set_source(false);
}

#[test]
fn risky_service_lists_are_checked_and_audited() {
    let _serial = serial();
    send_all();
    start(T0);
    let telnet = nxsm_service {
        protocol: 0,
        reason: 2,
        port: 23,
    };
    // SAFETY (every call): a live slice, or NULL.
    let set = |list: &[nxsm_service]| unsafe { nxsm_set_risky_services(list.as_ptr(), list.len()) };
    let null_list = unsafe { nxsm_set_risky_services(null(), 1) };
    assert_eq!(null_list, NXSM_ERR_NULL_ARGUMENT);
    assert_eq!(set(&[telnet; 17]), NXSM_ERR_INVALID_ARGUMENT);
    assert_eq!(
        set(&[nxsm_service {
            protocol: 2,
            ..telnet
        }]),
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        set(&[nxsm_service {
            reason: 8,
            ..telnet
        }]),
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        set(&[nxsm_service { port: 0, ..telnet }]),
        NXSM_ERR_INVALID_ARGUMENT
    );
    let web = nxsm_service {
        port: 8080,
        reason: 0,
        ..telnet
    };
    assert_eq!(set(&[telnet, web]), NXSM_OK);
    assert_eq!(unsafe { nxsm_set_risky_services(null(), 0) }, NXSM_OK);
    poll(T0 + 1);
    let messages = send_all();
    let changes: Vec<(u8, u32, u32, u32)> = events(&messages)
        .iter()
        .filter_map(|e| match e {
            Event::Audit(records) => Some(records),
            _ => None,
        })
        .flatten()
        .filter(|r| r.kind == 13)
        .map(|r| (r.category, r.result, r.old, r.new))
        .collect();
    // Four refused (request errors with NXSM_ERR_INVALID_ARGUMENT and the count asked), the
    // list of two, then the defaults again. The NULL list never reached the module.
    let invalid = NXSM_ERR_INVALID_ARGUMENT;
    let expected = [
        (2, invalid, 0, 17),
        (2, invalid, 0, 1),
        (2, invalid, 0, 1),
        (2, invalid, 0, 1),
        (1, 0, 8, 2),
        (1, 0, 2, 8),
    ];
    assert_eq!(changes, expected);
}
