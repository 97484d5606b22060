//! The capture path through the C ABI: packets in both header byte orders, every outcome
//! counted, the watermark callback, flows read back in batches.

use nxsm_ffi_tests::*;
use nxsm_test_packets as packets;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

const T0: u32 = 1_700_000_000;

/// 192.168.1.10:50000 -> 20.1.2.3:8883 TCP SYN, 40 bytes.
fn syn() -> Vec<u8> {
    packets::ipv4([192, 168, 1, 10], [20, 1, 2, 3])
        .tcp(50000, 8883, packets::TCP_SYN)
        .build()
}

fn capture(packet: &[u8], direction: u32, order: u32) -> u32 {
    // SAFETY: `packet` is live and `len` bytes long.
    unsafe { nxsm_capture(packet.as_ptr(), packet.len(), direction, order) }
}

fn start() {
    let config = default_config();
    // SAFETY: `config` is live.
    assert_eq!(unsafe { nxsm_start(&config, T0, 0) }, NXSM_OK);
}

/// The reply as NetX Duo's receive path shows it: fixed header words in CPU order.
fn syn_ack_host_order() -> Vec<u8> {
    let mut p = packets::ipv4([20, 1, 2, 3], [192, 168, 1, 10])
        .tcp(8883, 50000, packets::TCP_SYN | packets::TCP_ACK)
        .build();
    packets::to_host_order(&mut p, 5);
    p
}

#[test]
fn a_connection_in_both_orders_makes_one_flow() {
    let _serial = serial();
    start();
    let before = stats();
    assert_eq!(
        capture(&syn(), NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER),
        NXSM_OK
    );
    assert_eq!(
        capture(
            &syn_ack_host_order(),
            NXSM_DIRECTION_IN,
            NXSM_HEADER_HOST_ORDER
        ),
        NXSM_OK
    );
    assert_eq!(unsafe { nxsm_drain(T0 + 1) }, NXSM_OK);
    let flows = read_flows();
    assert_eq!(flows.len(), 1, "{flows:?}");
    let f = flows[0];
    assert_eq!((f.ip_version, f.protocol), (4, 0));
    assert_eq!(f.local_address[..4], [192, 168, 1, 10]);
    assert_eq!(f.remote_address[..4], [20, 1, 2, 3]);
    assert_eq!((f.local_port, f.remote_port), (50000, 8883));
    assert_eq!((f.bytes_out, f.packets_out, f.tcp_flags_out), (20, 1, 0x02));
    assert_eq!((f.bytes_in, f.packets_in, f.tcp_flags_in), (20, 1, 0x12));
    let after = stats();
    assert_eq!(after.packets_seen - before.packets_seen, 2);
    assert_eq!(after.packets_counted - before.packets_counted, 2);
    assert_eq!(after.flows_v4, 1);
    // Switching network activity off collects the window into the outbox.
    assert_eq!(
        unsafe { nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH) },
        NXSM_OK
    );
    assert!(read_flows().is_empty());
    assert_eq!(stats().messages_built - after.messages_built, 1);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

#[test]
fn every_outcome_has_its_code_and_counter() {
    let _serial = serial();
    assert_eq!(
        capture(&syn(), NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER),
        NXSM_ERR_NOT_STARTED
    );
    start();
    let before = stats();
    assert_eq!(
        capture(&syn()[..30], NXSM_DIRECTION_OUT, 0),
        NXSM_ERR_MALFORMED
    );
    let mut igmp = syn();
    igmp[9] = 2;
    // Shorter than the raw copy: parsed by the hook, which tells at once.
    assert_eq!(
        capture(&igmp[..24], NXSM_DIRECTION_IN, 0),
        NXSM_ERR_NOT_RECORDED
    );
    // Common shapes are queued as raw headers and classified by the consumer.
    assert_eq!(capture(&igmp, NXSM_DIRECTION_IN, 0), NXSM_OK);
    let mut short_total = syn();
    short_total[3] = 12;
    assert_eq!(capture(&short_total, NXSM_DIRECTION_IN, 0), NXSM_OK);
    assert_eq!(capture(&syn(), 2, 0), NXSM_ERR_INVALID_ARGUMENT);
    assert_eq!(capture(&syn(), 0, 2), NXSM_ERR_INVALID_ARGUMENT);
    assert_eq!(
        unsafe { nxsm_capture(null(), 40, 0, 0) },
        NXSM_ERR_NULL_ARGUMENT
    );
    let mut full = 0u64;
    for _ in 0..10_000 {
        if capture(&syn(), NXSM_DIRECTION_OUT, 0) == NXSM_ERR_RING_FULL {
            full += 1;
        }
    }
    let after = stats();
    assert_eq!(full, 10_000 - u64::from(after.ring_waiting - 2));
    assert_eq!(after.malformed - before.malformed, 1);
    assert_eq!(after.ignored - before.ignored, 1);
    assert_eq!(after.ring_dropped - before.ring_dropped, full);
    assert_eq!(after.packets_seen - before.packets_seen, 10_004);
    assert_eq!(unsafe { nxsm_poll(T0 + 1, false) }, NXSM_OK);
    let drained = stats();
    assert_eq!(drained.ring_waiting, 0);
    assert_eq!(drained.malformed - before.malformed, 2);
    assert_eq!(drained.ignored - before.ignored, 2);
    assert_eq!(
        drained.packets_counted - before.packets_counted,
        10_000 - full
    );
    assert_eq!(
        drained.packets_seen - before.packets_seen,
        (drained.packets_counted - before.packets_counted)
            + (drained.table_full_dropped - before.table_full_dropped)
            + (drained.ring_dropped - before.ring_dropped)
            + (drained.malformed - before.malformed)
            + (drained.ignored - before.ignored)
    );
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

/// The flows one capture call makes of `packets` in a freshly started module.
fn flows_of(packets: &[Vec<u8>], capture: impl Fn(&[u8]) -> u32) -> (Vec<u32>, Vec<Flow>) {
    start();
    let codes = packets.iter().map(|p| capture(p)).collect();
    assert_eq!(unsafe { nxsm_drain(T0 + 1) }, NXSM_OK);
    let flows = read_flows();
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    (codes, flows)
}

/// The hooks' fixed forms record exactly what `nxsm_capture` records with their direction
/// and header order, check their pointer, and refuse to record while stopped. A sent header
/// in host order (no hook sees one) takes the general path and still makes the same flow.
#[test]
fn fixed_forms_record_as_nxsm_capture_does() {
    let _serial = serial();
    type Fixed = unsafe extern "C" fn(*const u8, usize) -> u32;
    let host = syn_ack_host_order();
    let mut igmp = syn();
    igmp[9] = 2;
    let network = vec![syn().to_vec(), igmp.to_vec(), syn()[..30].to_vec()];
    let forms: [(Fixed, u32, u32, Vec<Vec<u8>>); 3] = [
        (
            nxsm_capture_out,
            NXSM_DIRECTION_OUT,
            NXSM_HEADER_NETWORK_ORDER,
            network.clone(),
        ),
        (
            nxsm_capture_in,
            NXSM_DIRECTION_IN,
            NXSM_HEADER_NETWORK_ORDER,
            network,
        ),
        (
            nxsm_capture_in_host_order,
            NXSM_DIRECTION_IN,
            NXSM_HEADER_HOST_ORDER,
            vec![host.clone(), host[..30].to_vec()],
        ),
    ];
    for (fixed, direction, order, packets) in forms {
        // SAFETY: every packet is live and `len` bytes long.
        let by_fixed = flows_of(&packets, |p| unsafe { fixed(p.as_ptr(), p.len()) });
        let general = flows_of(&packets, |p| capture(p, direction, order));
        assert_eq!(by_fixed, general);
        assert_eq!(by_fixed.1.len(), 1, "{by_fixed:?}");
        let packet = syn();
        assert_eq!(
            unsafe { fixed(packet.as_ptr(), packet.len()) },
            NXSM_ERR_NOT_STARTED
        );
        start();
        assert_eq!(unsafe { fixed(null(), 40) }, NXSM_ERR_NULL_ARGUMENT);
        assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    }
    let mut sent_host = syn().to_vec();
    for chunk in sent_host.chunks_exact_mut(4).take(5) {
        let word = u32::from_be_bytes(chunk.try_into().unwrap());
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    let sent = flows_of(&[syn().to_vec()], |p| capture(p, NXSM_DIRECTION_OUT, 0));
    let as_host = flows_of(&[sent_host], |p| {
        capture(p, NXSM_DIRECTION_OUT, NXSM_HEADER_HOST_ORDER)
    });
    assert_eq!(sent, as_host);
    start();
    assert_eq!(
        unsafe { nxsm_capture(null(), 40, NXSM_DIRECTION_OUT, NXSM_HEADER_HOST_ORDER) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        capture(&syn()[..30], NXSM_DIRECTION_OUT, NXSM_HEADER_HOST_ORDER),
        NXSM_ERR_MALFORMED
    );
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

/// `syn()` with a 4-byte IP option (router alert): 44 bytes, parsed in the hook.
fn syn_with_option() -> Vec<u8> {
    packets::ipv4([192, 168, 1, 10], [20, 1, 2, 3])
        .options(&[0x94, 0x04, 0, 0])
        .tcp(50000, 8883, packets::TCP_SYN)
        .build()
}

/// 2001:db8::1:50000 -> 2001:db8::2:8883, TCP SYN.
fn syn_v6() -> Vec<u8> {
    packets::ipv6(packets::v6_doc(1), packets::v6_doc(2))
        .tcp(50000, 8883, packets::TCP_SYN)
        .build()
}

/// IPv6 with `count` hop-by-hop headers of 8 bytes, then UDP 5000 -> 53.
fn ipv6_extension_chain(count: usize) -> Vec<u8> {
    packets::ipv6(packets::v6_doc(1), packets::v6_doc(2))
        .hop_by_hop(count)
        .udp(5000, 53)
        .build()
}

/// `length` is never compared with anything but the bytes the headers need: a value no
/// buffer has is accepted by every packet shape, the fast paths' and the parsed ones.
#[test]
fn every_packet_shape_takes_any_length() {
    let _serial = serial();
    let packets = vec![
        syn().to_vec(),
        syn_with_option(),
        syn_v6(),
        ipv6_extension_chain(1),
    ];
    let exact = flows_of(&packets, |p| {
        capture(p, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER)
    });
    assert_eq!(exact.0, vec![NXSM_OK; 4]);
    // The two IPv4 packets are one connection.
    assert_eq!(exact.1.len(), 3, "{:?}", exact.1);
    assert_eq!(exact.1[0].packets_out, 2);
    for length in [usize::MAX, isize::MAX as usize + 1, isize::MAX as usize] {
        // SAFETY: every packet is live and holds the headers the library reads.
        let general = flows_of(&packets, |p| unsafe {
            nxsm_capture(
                p.as_ptr(),
                length,
                NXSM_DIRECTION_OUT,
                NXSM_HEADER_NETWORK_ORDER,
            )
        });
        let fixed = flows_of(&packets, |p| unsafe {
            nxsm_capture_out(p.as_ptr(), length)
        });
        assert_eq!(general, exact, "{length}");
        assert_eq!(fixed, exact, "{length}");
    }
}

/// A running module whose network-activity collector is off says so, for every entry point
/// and packet shape, and counts nothing; a stopped one says that it is stopped.
#[test]
fn capture_off_has_its_own_code() {
    let _serial = serial();
    type Fixed = unsafe extern "C" fn(*const u8, usize) -> u32;
    let mut config = default_config();
    config.collectors = NXSM_COLLECTORS_ALL & !(1 << NXSM_COLLECTOR_NETWORK_ACTIVITY);
    assert_eq!(unsafe { nxsm_start(&config, T0, 0) }, NXSM_OK);
    let before = stats();
    let packets = [
        syn().to_vec(),
        syn_with_option(),
        syn_v6(),
        syn()[..30].to_vec(),
    ];
    let fixed: [Fixed; 3] = [
        nxsm_capture_out,
        nxsm_capture_in,
        nxsm_capture_in_host_order,
    ];
    for p in &packets {
        for form in fixed {
            // SAFETY: `p` is live and `len` bytes long.
            assert_eq!(unsafe { form(p.as_ptr(), p.len()) }, NXSM_ERR_CAPTURE_OFF);
        }
        for direction in [NXSM_DIRECTION_IN, NXSM_DIRECTION_OUT] {
            for order in [NXSM_HEADER_NETWORK_ORDER, NXSM_HEADER_HOST_ORDER] {
                assert_eq!(capture(p, direction, order), NXSM_ERR_CAPTURE_OFF);
            }
        }
    }
    assert_eq!(stats().packets_seen, before.packets_seen);
    let set = |enabled| unsafe {
        nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, enabled, NXSM_PRIORITY_HIGH)
    };
    assert_eq!(set(true), NXSM_OK);
    assert_eq!(capture(&syn(), NXSM_DIRECTION_OUT, 0), NXSM_OK);
    assert_eq!(set(false), NXSM_OK);
    assert_eq!(capture(&syn(), NXSM_DIRECTION_OUT, 0), NXSM_ERR_CAPTURE_OFF);
    assert_eq!(stats().packets_seen, before.packets_seen + 1);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    assert_eq!(capture(&syn(), NXSM_DIRECTION_OUT, 0), NXSM_ERR_NOT_STARTED);
    let packet = syn();
    assert_eq!(
        unsafe { nxsm_capture_out(packet.as_ptr(), packet.len()) },
        NXSM_ERR_NOT_STARTED
    );
    assert_eq!(
        unsafe { text(nxsm_result_text(NXSM_ERR_CAPTURE_OFF)) },
        "capture is off: the network-activity collector is disabled"
    );
}

/// More IPv6 extension headers than the parser follows make a well-formed packet with
/// nothing to record, not a malformed one.
#[test]
fn nine_extension_headers_are_ignored_not_malformed() {
    let _serial = serial();
    start();
    let before = stats();
    assert_eq!(
        capture(&ipv6_extension_chain(8), NXSM_DIRECTION_IN, 0),
        NXSM_OK
    );
    assert_eq!(
        capture(&ipv6_extension_chain(9), NXSM_DIRECTION_IN, 0),
        NXSM_ERR_NOT_RECORDED
    );
    let after = stats();
    assert_eq!(after.ignored - before.ignored, 1);
    assert_eq!(after.malformed - before.malformed, 0);
    assert_eq!(after.packets_seen - before.packets_seen, 2);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

static WAKES: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn wake(context: *mut std::ffi::c_void) {
    assert_eq!(context as usize, 0x1234);
    WAKES.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn the_watermark_wakes_the_consumer_once_per_fill() {
    let _serial = serial();
    let ctx = 0x1234 as *mut std::ffi::c_void;
    assert_eq!(
        unsafe { nxsm_set_ring_callback(Some(wake), ctx, 0) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_set_ring_callback(Some(wake), ctx, 100_000) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_set_ring_callback(Some(wake), ctx, 4) },
        NXSM_OK
    );
    start();
    assert_eq!(
        unsafe { nxsm_set_ring_callback(None, null_mut(), 0) },
        NXSM_ERR_ALREADY_STARTED
    );
    WAKES.store(0, Ordering::SeqCst);
    for _ in 0..3 {
        capture(&syn(), NXSM_DIRECTION_OUT, 0);
    }
    assert_eq!(WAKES.load(Ordering::SeqCst), 0);
    capture(&syn(), NXSM_DIRECTION_OUT, 0);
    assert_eq!(WAKES.load(Ordering::SeqCst), 1);
    capture(&syn(), NXSM_DIRECTION_OUT, 0);
    assert_eq!(WAKES.load(Ordering::SeqCst), 1);
    assert_eq!(unsafe { nxsm_drain(T0) }, NXSM_OK);
    for _ in 0..4 {
        capture(&syn(), NXSM_DIRECTION_OUT, 0);
    }
    assert_eq!(WAKES.load(Ordering::SeqCst), 2);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    assert_eq!(
        unsafe { nxsm_set_ring_callback(None, null_mut(), 0) },
        NXSM_OK
    );
}

static SLOW_WAKE_ENTERED: AtomicBool = AtomicBool::new(false);
static SLOW_WAKE_RELEASED: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn slow_wake(_context: *mut std::ffi::c_void) {
    SLOW_WAKE_ENTERED.store(true, Ordering::SeqCst);
    while !SLOW_WAKE_RELEASED.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
}

#[test]
fn the_callback_is_not_changed_while_a_capture_runs_it() {
    let _serial = serial();
    SLOW_WAKE_ENTERED.store(false, Ordering::SeqCst);
    SLOW_WAKE_RELEASED.store(false, Ordering::SeqCst);
    assert_eq!(
        unsafe { nxsm_set_ring_callback(Some(slow_wake), null_mut(), 1) },
        NXSM_OK
    );
    start();
    let producer = std::thread::spawn(|| capture(&syn(), NXSM_DIRECTION_OUT, 0));
    while !SLOW_WAKE_ENTERED.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    // The capture is still inside the callback: the setter must not return as if done.
    assert_eq!(
        unsafe { nxsm_set_ring_callback(None, null_mut(), 0) },
        NXSM_ERR_BUSY
    );
    assert_eq!(
        unsafe { nxsm_set_ring_callback(Some(wake), 0x1234 as *mut _, 1) },
        NXSM_ERR_BUSY
    );
    SLOW_WAKE_RELEASED.store(true, Ordering::SeqCst);
    assert_eq!(producer.join().unwrap(), NXSM_OK);
    assert_eq!(
        unsafe { nxsm_set_ring_callback(None, null_mut(), 0) },
        NXSM_OK
    );
}

#[test]
fn read_flows_checks_its_pointers() {
    let _serial = serial();
    let mut written = 7usize;
    let mut one = [Flow::default(); 1];
    assert_eq!(
        unsafe { nxsm_read_flows(0, one.as_mut_ptr(), 1, null_mut()) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_read_flows(0, null_mut(), 1, &mut written) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_read_flows(0, null_mut(), 0, &mut written) },
        NXSM_OK
    );
    assert_eq!(written, 0);
    assert_eq!(
        unsafe { nxsm_read_flows(usize::MAX, one.as_mut_ptr(), 1, &mut written) },
        NXSM_OK
    );
    assert_eq!(written, 0);
    assert_eq!(unsafe { nxsm_drain(T0) }, NXSM_ERR_NOT_STARTED);
    assert_eq!(
        unsafe { nxsm_drain(NXSM_TIME_UNAVAILABLE) },
        NXSM_ERR_CLOCK_UNAVAILABLE
    );
}

#[test]
fn producers_on_many_threads_are_counted_exactly() {
    let _serial = serial();
    start();
    let before = stats();
    let producers: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut packet = syn();
                packet[19] = t; // one flow per thread
                let mut recorded = 0u32;
                for _ in 0..50_000 {
                    if capture(&packet, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER) == NXSM_OK {
                        recorded += 1;
                    }
                }
                recorded
            })
        })
        .collect();
    // The consumer drains while the producers run.
    let mut now = T0;
    while !producers.iter().all(|p| p.is_finished()) {
        let code = unsafe { nxsm_drain(now) };
        assert!(code == NXSM_OK || code == NXSM_ERR_BUSY);
        now += 1;
    }
    let recorded: u64 = producers
        .into_iter()
        .map(|p| u64::from(p.join().unwrap()))
        .sum();
    assert_eq!(unsafe { nxsm_drain(now) }, NXSM_OK);
    let after = stats();
    assert_eq!(after.packets_seen - before.packets_seen, 200_000);
    assert_eq!(after.packets_counted - before.packets_counted, recorded);
    assert_eq!(
        recorded + (after.ring_dropped - before.ring_dropped),
        200_000
    );
    let packets: u64 = read_flows().iter().map(|f| u64::from(f.packets_out)).sum();
    assert_eq!(packets, recorded);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

/// `nxsm_get_stats` while hooks capture on other threads and a consumer drains: every
/// snapshot adds up exactly (`packets_seen` is everything else plus `ring_waiting`) and no
/// total goes back.
#[test]
fn every_stats_snapshot_adds_up_while_producers_run() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    const READS: u32 = 300_000;
    let _serial = serial();
    start();
    let running = Arc::new(AtomicBool::new(true));
    let producers: Vec<_> = (0..2u8)
        .map(|t| {
            let running = Arc::clone(&running);
            std::thread::spawn(move || {
                let mut igmp = syn();
                igmp[9] = 2;
                let mut n = 0u32;
                while running.load(Ordering::Relaxed) {
                    let mut packet = syn();
                    packet[18] = t;
                    // A few hundred flows, so some find the table full.
                    packet[19] = n as u8;
                    // Stored, stored and ignored by the drain, malformed and ignored by the
                    // hook.
                    let (bytes, len) = match n % 8 {
                        5 => (&igmp, 40),
                        6 => (&syn(), 30),
                        7 => (&igmp, 24),
                        _ => (&packet, 40),
                    };
                    capture(&bytes[..len], NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER);
                    n = n.wrapping_add(1);
                }
            })
        })
        .collect();
    let drainer = {
        let running = Arc::clone(&running);
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                let code = unsafe { nxsm_drain(T0 + 1) };
                assert!(code == NXSM_OK || code == NXSM_ERR_BUSY);
                std::thread::yield_now();
            }
        })
    };
    let (mut reads, mut busy, mut with_waiting) = (0u32, 0u64, 0u32);
    let mut previous: Option<Stats> = None;
    let first = stats_when_free();
    while reads < READS {
        let mut s = Stats {
            struct_size: std::mem::size_of::<Stats>() as u32,
            ..Stats::default()
        };
        // SAFETY: `s` is a live, writable `Stats`.
        match unsafe { nxsm_get_stats(&mut s) } {
            NXSM_OK => {}
            NXSM_ERR_BUSY => {
                busy += 1;
                continue;
            }
            code => panic!("nxsm_get_stats: {code}"),
        }
        reads += 1;
        let parts = s.packets_counted
            + s.table_full_dropped
            + s.ring_dropped
            + s.malformed
            + s.ignored
            + u64::from(s.ring_waiting);
        assert_eq!(s.packets_seen, parts, "read {reads}: {s:?}");
        if let Some(p) = previous {
            for (name, now, before) in [
                ("packets_seen", s.packets_seen, p.packets_seen),
                ("packets_counted", s.packets_counted, p.packets_counted),
                ("table_full", s.table_full_dropped, p.table_full_dropped),
                ("ring_dropped", s.ring_dropped, p.ring_dropped),
                ("malformed", s.malformed, p.malformed),
                ("ignored", s.ignored, p.ignored),
            ] {
                assert!(now >= before, "read {reads}: {name} went back");
            }
        }
        if s.ring_waiting > 0 {
            with_waiting += 1;
        }
        previous = Some(s);
    }
    running.store(false, Ordering::Relaxed);
    for producer in producers {
        producer.join().unwrap();
    }
    drainer.join().unwrap();
    let last = previous.unwrap();
    // The reads did overlap the capture: packets of every outcome arrived meanwhile.
    assert!(last.packets_seen > first.packets_seen);
    assert!(last.malformed > first.malformed && last.ignored > first.ignored);
    assert!(with_waiting > 0, "{busy} busy");
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

/// `stats()`, retried while another context is inside the module.
fn stats_when_free() -> Stats {
    loop {
        let mut s = Stats {
            struct_size: std::mem::size_of::<Stats>() as u32,
            ..Stats::default()
        };
        // SAFETY: `s` is a live, writable `Stats`.
        match unsafe { nxsm_get_stats(&mut s) } {
            NXSM_OK => return s,
            NXSM_ERR_BUSY => std::thread::yield_now(),
            code => panic!("nxsm_get_stats: {code}"),
        }
    }
}
