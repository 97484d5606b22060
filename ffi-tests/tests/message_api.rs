//! Messages through the C ABI: collections into the outbox, hand-out only in ACTIVE,
//! acknowledgements, retries, collectors and platform information.

use nxsm_ffi_tests::*;
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
    assert_eq!(&message[..6], b"\x01\x04nxsm");
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
    let packet: [u8; 36] = [
        0x45, 0, 0, 36, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x14, 0xe9, 0, 53, 0,
        16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
    ];
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
        "stop collects the window"
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
        unsafe { nxsm_get_collector(3, &mut enabled, &mut group) },
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
