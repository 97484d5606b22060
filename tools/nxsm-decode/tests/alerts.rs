//! Alerts written by the core's `AlertPlan` and read back (wire format section 3.4).

mod common;

use common::{connections_alert, expected_alert, flow_alert, write_alerts};
use nx_security_module::testing::message::{
    Alert as CoreAlert, AlertKind::*, Direction, MIN_MESSAGE_BYTES,
};
use nx_security_module::testing::wire::TransportKind::{self, Icmp, Tcp, Udp};
use nxsm_decode::{decode, encode, to_json, DecodeError, Event};

const V4_LOCAL: [u8; 4] = [192, 0, 2, 10];
const V6_LOCAL: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
];

/// Every alert kind, both IP versions, all three protocols, both initiators, and the
/// extreme values of every field.
fn variety() -> Vec<CoreAlert> {
    let mut alerts = Vec::new();
    let heads = [
        (1_700_000_005, 0xdead_beef, 1),
        (0, 0, 0),
        (u32::MAX, u32::MAX, u32::MAX),
        (127, 128, 16_383),
    ];
    let kinds = [Indicator, OutboundNotAllowed, InboundPortNotAllowed];
    let protocols: [(TransportKind, u16, u16); 4] = [
        (Tcp, 50_000, 443),
        (Udp, 53, 5353),
        (Tcp, u16::MAX, 0),
        (Icmp, 0, 0),
    ];
    let mut n = 0u8;
    for (k, kind) in kinds.into_iter().enumerate() {
        for (h, &head) in heads.iter().enumerate() {
            for &(protocol, local_port, remote_port) in &protocols {
                n = n.wrapping_add(1);
                let initiator = if (k + h) % 2 == 0 {
                    Direction::Out
                } else {
                    Direction::In
                };
                let head = if kind == Indicator {
                    head
                } else {
                    (head.0, head.1, 0)
                };
                alerts.push(flow_alert(
                    kind,
                    head,
                    &V4_LOCAL,
                    local_port,
                    &[198, 51, 100, n],
                    remote_port,
                    protocol,
                    initiator,
                ));
                let mut remote = [0xffu8; 16];
                remote[15] = n;
                alerts.push(flow_alert(
                    kind,
                    head,
                    &V6_LOCAL,
                    local_port,
                    &remote,
                    remote_port,
                    protocol,
                    initiator,
                ));
            }
        }
    }
    alerts.push(connections_alert((1_700_000_010, 0x1234_5678), 70, 0, 20));
    alerts.push(connections_alert(
        (u32::MAX, u32::MAX),
        u32::MAX,
        u32::MAX,
        u32::MAX,
    ));
    alerts.push(connections_alert((0, 0), 0, 1, 0));
    alerts.push(connections_alert((300, 300), 128, 16_384, 2_097_152));
    alerts
}

/// Writes `alerts` at `max_len` and checks every message and every alert read back.
fn round_trip(alerts: &[CoreAlert], max_len: usize, first_sequence: u32) -> usize {
    let time = 1_700_000_060;
    let messages = write_alerts(alerts, max_len, first_sequence, time);
    let mut next = 0;
    for (i, (bytes, count)) in messages.iter().enumerate() {
        assert!(
            bytes.len() <= max_len.max(MIN_MESSAGE_BYTES),
            "message {i} too long"
        );
        let m = decode(bytes).unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert_eq!(m.sequence, first_sequence.wrapping_add(i as u32));
        assert_eq!(m.time, time);
        assert_eq!(m.module_version, nx_security_module::VERSION);
        assert_eq!(m.events.len(), 1, "alerts travel alone");
        let Event::Alerts(read) = &m.events[0] else {
            panic!("message {i} is not an alerts event");
        };
        assert_eq!(read.len(), *count);
        for (j, alert) in read.iter().enumerate() {
            assert_eq!(
                *alert,
                expected_alert(&alerts[next + j]),
                "alert {}",
                next + j
            );
        }
        next += count;
        assert_eq!(&encode(&m), bytes, "message {i} written back");
        // A message that ended early would have held the next alert.
        if next < alerts.len() {
            let sequence = first_sequence.wrapping_add(i as u32);
            let one_more =
                write_alerts(&alerts[next - count..next + 1], usize::MAX, sequence, time);
            assert!(one_more.len() > 1 || one_more[0].0.len() > max_len);
        }
    }
    assert_eq!(next, alerts.len(), "every alert read back once");
    messages.len()
}

#[test]
fn every_kind_version_and_protocol_round_trips() {
    let alerts = variety();
    assert!(alerts.len() > 90);
    assert_eq!(round_trip(&alerts, 16_384, 0), 1, "they all fit 16 KB");
    assert!(round_trip(&alerts, 1024, 1) > 1);
    let small = round_trip(&alerts, MIN_MESSAGE_BYTES, u32::MAX - 2);
    assert!(small > 5, "{small} messages at the smallest maximum");
}

#[test]
fn one_alert_of_each_kind_alone() {
    for alert in variety() {
        let messages = write_alerts(&[alert], 1024, 42, 7);
        assert_eq!(messages.len(), 1);
        let m = decode(&messages[0].0).unwrap();
        assert_eq!(m.alerts().unwrap(), [expected_alert(&alert)]);
        let json = to_json(&m);
        let a = &json["events"][0]["alerts"][0];
        assert_eq!(json["events"][0]["event"], "alerts");
        assert_eq!(a["time"], alert.time);
        assert_eq!(a["policy"], format!("0x{:08x}", alert.policy));
        assert_eq!(a["rule"], alert.rule);
        assert_eq!(a["kind"], expected_alert(&alert).kind().name());
    }
}

#[test]
fn every_truncation_of_an_alert_message_is_an_error() {
    let alerts = variety();
    for (bytes, _) in write_alerts(&alerts, MIN_MESSAGE_BYTES, 5, 9)
        .iter()
        .chain(&write_alerts(&alerts[..3], 1024, 6, 9))
        .chain(&write_alerts(&alerts[alerts.len() - 4..], 1024, 7, 9))
    {
        assert!(decode(bytes).is_ok());
        for len in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..len]),
                Err(DecodeError::Truncated),
                "cut to {len} of {} bytes",
                bytes.len()
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(DecodeError::TrailingBytes(1)));
    }
}

/// The header of a writer message (format, module, version, sequence, time) is followed by
/// the event count, the event variant, the alert count, then the alerts.
fn header_len(bytes: &[u8]) -> usize {
    let varint_len = |at: usize| bytes[at..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
    let mut at = 1 + 1 + 4; // format, module
    for _ in 0..3 {
        at += varint_len(at); // module_version, sequence, time
    }
    at
}

#[test]
fn bad_values_in_writer_output() {
    // One IPv4 TCP indicator alert: its last two bytes are the protocol and the initiator.
    let alert = flow_alert(
        Indicator,
        (1, 2, 3),
        &V4_LOCAL,
        1000,
        &[198, 51, 100, 7],
        443,
        Tcp,
        Direction::Out,
    );
    let (bytes, _) = write_alerts(&[alert], 1024, 1, 1).remove(0);
    let n = bytes.len();
    let mut bad = bytes.clone();
    bad[n - 2] = 3;
    assert_eq!(
        decode(&bad),
        Err(DecodeError::BadAlertProtocol { alert: 0, value: 3 })
    );
    let mut bad = bytes.clone();
    bad[n - 1] = 2;
    assert_eq!(
        decode(&bad),
        Err(DecodeError::BadAlertInitiator { alert: 0, value: 2 })
    );
    let mut bad = bytes.clone();
    bad[n - 2] = 2; // ICMP with ports 1000 and 443
    assert_eq!(decode(&bad), Err(DecodeError::AlertIcmpPorts { alert: 0 }));
    let at = header_len(&bytes);
    assert_eq!(&bytes[at..at + 4], [0x01, 0x03, 0x01, 0x00]);
    let mut bad = bytes.clone();
    bad[at + 3] = 4; // alert kind 4
    assert_eq!(decode(&bad), Err(DecodeError::UnknownAlertKind(4)));
    let mut bad = bytes.clone();
    bad[at + 1] = 8; // event 8 (7 is the audit event)
    assert_eq!(decode(&bad), Err(DecodeError::UnknownEvent(8)));
    // An alerts event emptied of its alert.
    let mut empty = bytes[..at + 2].to_vec();
    empty.push(0x00);
    assert_eq!(decode(&empty), Err(DecodeError::NoAlerts));
    // Every single-byte change reads without panic.
    for at in 0..n {
        for value in [0x00, 0x02, 0x03, 0x04, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[at] = value;
            if let Ok(m) = decode(&changed) {
                let _ = to_json(&m);
            }
        }
    }
}
