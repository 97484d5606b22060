//! The inventory source, the risky-service list and the audit trail through their C
//! signatures: what a source writes is checked and reported, hostile sources are counted,
//! hostile lists refused and audited, and every message goes out in the wire format.

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
fn send_all() -> Vec<nxsm_decode::Message> {
    let mut sent = Vec::new();
    while let Some((sequence, bytes)) = peek() {
        // SAFETY: no pointers.
        assert_eq!(unsafe { nxsm_message_ack(sequence, true) }, NXSM_OK);
        sent.push(nxsm_decode::decode(&bytes).expect("every message decodes"));
    }
    sent
}

fn poll(now: u32) {
    // SAFETY: no pointers.
    let code = unsafe { nxsm_poll(now, true) };
    assert_eq!(code, NXSM_OK);
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
    start(T0);
    // The first collection (30 s after the start) reads the tables.
    for now in T0..=T0 + 30 {
        poll(now);
    }
    let messages = send_all();
    let stats = stats();
    assert_eq!(stats.inventory_sockets, 4);
    assert_eq!(stats.inventory_rejected, 1, "the broken entry");
    assert!(stats.inventory_reads >= 1);
    // Telnet is the 2nd entry of the default list, CoAP the 6th.
    assert_eq!(stats.findings_active, 1 << 1 | 1 << 5);
    let events: Vec<String> = messages
        .iter()
        .flat_map(|m| m.events.iter().map(|e| format!("{e:?}")))
        .collect();
    let inventory = events
        .iter()
        .find(|e| e.starts_with("Inventory"))
        .expect("an inventory");
    assert!(
        inventory.contains("port: 23") && inventory.contains("port: 5683"),
        "{inventory}"
    );
    let findings = events
        .iter()
        .find(|e| e.starts_with("Findings"))
        .expect("findings");
    assert!(
        findings.contains("23") && findings.contains("5683"),
        "{findings}"
    );
    assert!(events
        .iter()
        .any(|e| e.starts_with("Audit") && e.contains("Started")));
    // Unchanged: not sent again before its interval.
    for now in T0 + 31..T0 + 45 {
        poll(now);
    }
    assert!(send_all().iter().all(|m| m
        .events
        .iter()
        .all(|e| !format!("{e:?}").starts_with("Inventory"))));
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
    let before = counted.inventory_rejected;
    MODE.store(2, Ordering::SeqCst);
    for now in T0 + 31..=T0 + 60 {
        poll(now);
    }
    assert!(stats().inventory_rejected > before, "an incomplete read");
    send_all();
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
    let set = |list: &[nxsm_service]| unsafe { nxsm_set_risky_services(list.as_ptr(), list.len()) };
    // SAFETY (all calls): live slices or NULL with 0.
    assert_eq!(
        unsafe { nxsm_set_risky_services(null(), 1) },
        NXSM_ERR_NULL_ARGUMENT
    );
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
    assert_eq!(
        set(&[
            telnet,
            nxsm_service {
                port: 8080,
                reason: 0,
                ..telnet
            }
        ]),
        NXSM_OK
    );
    assert_eq!(unsafe { nxsm_set_risky_services(null(), 0) }, NXSM_OK);
    poll(T0 + 1);
    let audit: Vec<String> = send_all()
        .iter()
        .flat_map(|m| m.events.iter().map(|e| format!("{e:?}")))
        .filter(|e| e.starts_with("Audit"))
        .collect();
    let text = audit.join(" ");
    assert_eq!(text.matches("ServicesChanged").count(), 6, "{text}");
    assert_eq!(text.matches("RequestError").count(), 4, "{text}");
}
