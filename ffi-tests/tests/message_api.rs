//! Messages through the C ABI: collections into the outbox, hand-out only in ACTIVE,
//! acknowledgements, retries, collectors and platform information.

use nxsm_ffi_tests::*;
use nxsm_test_packets as packets;
use std::ptr::{null, null_mut};

const T0: u32 = 1_800_000_000;

fn start(now: u32) {
    let config = default_config();
    assert_eq!(config.collectors, NXSM_COLLECTORS_ALL);
    assert_eq!(unsafe { nxsm_start(&config, now, 0) }, NXSM_OK);
}

fn peek() -> Result<(u32, Vec<u8>), u32> {
    let mut bytes = null();
    let mut length = 0usize;
    let mut sequence = 0u32;
    match unsafe { nxsm_message_peek(&mut bytes, &mut length, &mut sequence) } {
        NXSM_OK => Ok((
            sequence,
            unsafe { std::slice::from_raw_parts(bytes, length) }.to_vec(),
        )),
        code => Err(code),
    }
}

/// Sends whatever earlier tests left, so each test starts with an empty outbox.
fn send_all() -> Vec<(u32, Vec<u8>)> {
    let mut sent = Vec::new();
    while let Ok((sequence, bytes)) = peek() {
        assert_eq!(unsafe { nxsm_message_ack(sequence, true) }, NXSM_OK);
        sent.push((sequence, bytes));
    }
    sent
}

#[test]
fn collections_wait_for_a_hub_then_go_out_in_order() {
    let _serial = serial();
    start(T0);
    assert_eq!(unsafe { nxsm_poll(T0 + 1, true) }, NXSM_OK);
    send_all();
    assert_eq!(unsafe { nxsm_poll(T0 + 2, false) }, NXSM_OK);
    let built = stats().messages_built;
    for now in T0 + 3..T0 + 80 {
        assert_eq!(unsafe { nxsm_poll(now, false) }, NXSM_OK);
        assert_eq!(peek(), Err(NXSM_ERR_NO_MESSAGE), "not ACTIVE at {now}");
    }
    // First collection at +30 (every collector), then +40 ... +70 (no flows: nothing).
    assert_eq!(stats().messages_built - built, 1);
    assert_eq!(stats().next_collection_s, T0 + 80);
    assert_eq!(unsafe { nxsm_poll(T0 + 80, true) }, NXSM_OK);
    let sent = send_all();
    assert_eq!(sent.len(), 1);
    let (_, message) = &sent[0];
    assert_eq!(message[0], nxsm_decode::FORMAT);
    assert_eq!(&message[1..6], b"\x04nxsm");
    let s = stats();
    assert_eq!(
        s.messages_built,
        s.messages_sent + s.messages_dropped + s.outbox_messages
    );
    assert_eq!(s.outbox_messages, 0);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

#[test]
fn failed_sends_are_retried_after_the_retry_interval() {
    let _serial = serial();
    start(T0);
    assert_eq!(unsafe { nxsm_poll(T0 + 1, true) }, NXSM_OK);
    send_all();
    assert_eq!(unsafe { nxsm_poll(T0 + 30, true) }, NXSM_OK);
    let failed = stats().messages_failed;
    let (sequence, first) = peek().unwrap();
    assert_eq!(
        unsafe { nxsm_message_ack(sequence.wrapping_add(1), true) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(unsafe { nxsm_message_ack(sequence, false) }, NXSM_OK);
    assert_eq!(stats().messages_failed - failed, 1);
    assert_eq!(peek(), Err(NXSM_ERR_NO_MESSAGE));
    assert_eq!(unsafe { nxsm_poll(T0 + 32, true) }, NXSM_OK);
    assert_eq!(peek(), Err(NXSM_ERR_NO_MESSAGE));
    assert_eq!(unsafe { nxsm_poll(T0 + 33, true) }, NXSM_OK);
    assert_eq!(peek(), Ok((sequence, first)));
    assert_eq!(send_all().len(), 1);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

#[test]
fn poll_without_a_clock_still_drains_and_counts() {
    let _serial = serial();
    start(T0);
    let before = stats();
    // An outbound UDP packet 10.0.0.1:5353 -> 10.0.0.2:53 with 8 bytes of payload.
    let packet = packets::ipv4([10, 0, 0, 1], [10, 0, 0, 2])
        .udp(5353, 53)
        .payload(8)
        .build();
    assert_eq!(
        unsafe {
            nxsm_capture(
                packet.as_ptr(),
                packet.len(),
                NXSM_DIRECTION_OUT,
                NXSM_HEADER_NETWORK_ORDER,
            )
        },
        NXSM_OK
    );
    assert_eq!(
        unsafe { nxsm_poll(NXSM_TIME_UNAVAILABLE, true) },
        NXSM_ERR_CLOCK_UNAVAILABLE
    );
    let after = stats();
    assert_eq!(after.clock_unavailable - before.clock_unavailable, 1);
    assert_eq!(after.packets_counted - before.packets_counted, 1);
    assert_eq!(after.ring_waiting, 0);
    assert_eq!(after.state, NXSM_STATE_PENDING, "no clock, no state change");
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    assert_eq!(
        stats().messages_built - after.messages_built,
        1,
        "stop collects the window (the no-clock finding and the audit records wait for a start)"
    );
    assert_eq!(
        unsafe { nxsm_poll(NXSM_TIME_UNAVAILABLE, true) },
        NXSM_ERR_NOT_STARTED
    );
}

#[test]
fn collectors_and_platform_info_are_checked() {
    let _serial = serial();
    let mut enabled = false;
    let mut group = 9u32;
    assert_eq!(
        unsafe { nxsm_set_collector(NXSM_COLLECTOR_HEARTBEAT, false, NXSM_PRIORITY_LOW) },
        NXSM_ERR_NOT_STARTED
    );
    assert_eq!(
        unsafe { nxsm_get_collector(4, &mut enabled, &mut group) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_get_collector(0, null_mut(), &mut group) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_set_platform_info(null()) },
        NXSM_ERR_NULL_ARGUMENT
    );
    let mut info = PlatformInfo {
        struct_size: 4,
        threadx_version: [6, 4, 1],
        netx_version: [6, 4, 2],
    };
    assert_eq!(
        unsafe { nxsm_set_platform_info(&info) },
        NXSM_ERR_ABI_MISMATCH
    );
    info.struct_size = std::mem::size_of::<PlatformInfo>() as u32;
    assert_eq!(unsafe { nxsm_set_platform_info(&info) }, NXSM_OK);
    start(T0);
    assert_eq!(
        unsafe { nxsm_set_collector(NXSM_COLLECTOR_HEARTBEAT, true, 3) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_set_collector(NXSM_COLLECTOR_HEARTBEAT, false, NXSM_PRIORITY_MEDIUM) },
        NXSM_OK
    );
    assert_eq!(
        unsafe { nxsm_get_collector(NXSM_COLLECTOR_HEARTBEAT, &mut enabled, &mut group) },
        NXSM_OK
    );
    assert_eq!((enabled, group), (false, NXSM_PRIORITY_MEDIUM));
    assert_eq!(
        unsafe { nxsm_get_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, &mut enabled, &mut group) },
        NXSM_OK
    );
    assert_eq!((enabled, group), (true, NXSM_PRIORITY_HIGH));
    assert_eq!(unsafe { nxsm_poll(T0 + 1, true) }, NXSM_OK);
    send_all();
    assert_eq!(unsafe { nxsm_poll(T0 + 30, true) }, NXSM_OK);
    let sent = send_all();
    assert_eq!(sent.len(), 1);
    // Only system information is due and enabled in the low group: its ThreadX and NetX
    // versions follow the 1-byte event count and the variant number 1.
    let message = &sent[0].1;
    let mut at = 6; // format, then "nxsm" with its length
    for _ in 0..3 {
        // module version, sequence, time: varints
        while message[at] & 0x80 != 0 {
            at += 1;
        }
        at += 1;
    }
    assert_eq!(
        &message[at..at + 2],
        &[1, 1],
        "one event: system information"
    );
    assert_eq!(&message[at + 2..at + 8], &[6, 4, 1, 6, 4, 2]);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

/// An outbound UDP packet from `local` to `remote` with `payload` bytes, as the first
/// buffer holds it: 40 bytes of headers and the start of the data.
fn udp_v4(local: [u8; 4], remote: [u8; 4], payload: u16) -> Vec<u8> {
    let mut p = packets::ipv4(local, remote)
        .udp(5353, 53)
        .payload(usize::from(payload))
        .build();
    p.truncate(40);
    p
}

/// The same over IPv6 (60 bytes).
fn udp_v6(local: [u8; 16], remote: [u8; 16], payload: u16) -> Vec<u8> {
    let mut p = packets::ipv6(local, remote)
        .udp(5353, 53)
        .payload(usize::from(payload))
        .build();
    p.truncate(60);
    p
}

/// A window of 64 + 64 flows, each with its own device-side address, takes more than the
/// default 4 KB outbox. While the hub takes messages (four a poll, as the shim sends them)
/// the rest of the window waits for room: every flow arrives, exactly, and nothing drops.
#[test]
fn a_window_larger_than_the_outbox_arrives_whole_while_the_hub_takes_messages() {
    let _serial = serial();
    start(T0);
    assert_eq!(unsafe { nxsm_poll(T0 + 1, true) }, NXSM_OK);
    send_all();
    let before = stats();
    let flows = 64u8;
    for round in 0..3 {
        for n in 0..flows {
            let v4 = udp_v4([10, 0, n, 1], [198, 51, 100, n], 1_000 + u16::from(n));
            let mut local = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
            local[8] = n;
            let mut remote = local;
            remote[4] = 0xff;
            let v6 = udp_v6(local, remote, 1_200);
            assert_eq!(unsafe { nxsm_capture_out(v4.as_ptr(), v4.len()) }, NXSM_OK);
            assert_eq!(unsafe { nxsm_capture_out(v6.as_ptr(), v6.len()) }, NXSM_OK);
            if n % 16 == 15 {
                assert_eq!(unsafe { nxsm_drain(T0 + 2 + round) }, NXSM_OK);
            }
        }
    }
    assert_eq!(unsafe { nxsm_poll(T0 + 30, true) }, NXSM_OK);
    let at_collection = stats().messages_built - before.messages_built;
    let mut sent = Vec::new();
    for now in T0 + 30..T0 + 40 {
        assert_eq!(unsafe { nxsm_poll(now, true) }, NXSM_OK);
        for _ in 0..4 {
            let Ok((sequence, bytes)) = peek() else { break };
            assert_eq!(unsafe { nxsm_message_ack(sequence, true) }, NXSM_OK);
            sent.push(bytes);
        }
    }
    let after = stats();
    assert_eq!(after.messages_dropped, before.messages_dropped);
    let built = after.messages_built - before.messages_built;
    assert!(at_collection < built, "{at_collection} of {built} at once");
    assert_eq!(sent.len() as u32, built);
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for bytes in &sent {
        let message = nxsm_decode::decode(bytes).unwrap();
        assert_eq!(message.time, T0 + 30);
        for event in message.events {
            if let nxsm_decode::Event::NetworkActivity(window) = event {
                for flow in &window.v4_flows {
                    let local = window.v4_locals[usize::from(flow.local)];
                    v4.push((local, flow.remote, flow.packets_out, flow.bytes_out));
                }
                for flow in &window.v6_flows {
                    let local = window.v6_locals[usize::from(flow.local)];
                    v6.push((local[8], flow.remote[8], flow.packets_out, flow.bytes_out));
                }
            }
        }
    }
    v4.sort();
    v6.sort();
    let expected_v4: Vec<_> = (0..flows)
        .map(|n| {
            (
                [10, 0, n, 1],
                [198, 51, 100, n],
                3,
                3 * (1_008 + u32::from(n)),
            )
        })
        .collect();
    let expected_v6: Vec<_> = (0..flows).map(|n| (n, n, 3, 3 * 1_208)).collect();
    assert_eq!(v4, expected_v4);
    assert_eq!(v6, expected_v6);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    send_all();
}
