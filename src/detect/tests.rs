//! Each rule on flows made here, against policies made word by word.

use super::*;
use crate::policy::spec::Spec;
use crate::policy::{check, flag, Layout};
use crate::wire::{Datagram, TcpFlags, Transport};

const DEVICE: [u8; 4] = [192, 0, 2, 10];
const T: u32 = 1_700_000_000;

fn words(octets: [u8; 4]) -> [u32; 4] {
    [u32::from_ne_bytes(octets), 0, 0, 0]
}

/// A record of a packet between the device and `peer`, `out` when the device sent it (a SYN
/// for TCP).
pub(super) fn record(
    out: bool,
    peer: [u8; 4],
    local_port: u16,
    remote_port: u16,
    kind: TransportKind,
) -> FlowRecord {
    let (src, dst, sport, dport) = if out {
        (DEVICE, peer, local_port, remote_port)
    } else {
        (peer, DEVICE, remote_port, local_port)
    };
    let flags = if kind == TransportKind::Tcp {
        TcpFlags(0x02)
    } else {
        TcpFlags(0)
    };
    let direction = if out { Direction::Out } else { Direction::In };
    FlowRecord::new(
        direction,
        &Datagram {
            version: IpVersion::V4,
            src: words(src),
            dst: words(dst),
            transport: Transport {
                kind,
                ports: u32::from(sport) << 16 | u32::from(dport),
                flags,
            },
            len: 40,
        },
    )
}

const fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

fn policy() -> (Vec<u8, 512>, Layout) {
    let spec = Spec {
        flags: flag::OUTBOUND_ALLOWED | flag::INBOUND_TCP | flag::CONNECTIONS,
        sources: 2,
        connections: (0, 3),
        indicators_v4: vec![(ip(198, 51, 100, 7), ip(198, 51, 100, 7), 1)],
        allowed_v4: vec![(ip(203, 0, 113, 0), ip(203, 0, 113, 255))],
        tcp: vec![8080],
        ..Spec::default()
    };
    let blob = spec.blob();
    let layout = check(&blob[..], blob.len()).unwrap();
    (Vec::from_slice(&blob).unwrap(), layout)
}

fn kinds(detector: &Detector) -> std::vec::Vec<(AlertKind, u32)> {
    detector
        .pending()
        .iter()
        .map(|a| (a.kind, a.rule))
        .collect()
}

#[test]
fn each_rule_raises_its_alert_once_per_flow_and_window() {
    let (blob, layout) = policy();
    let policy = Policy::new(&blob[..], &layout);
    let mut detector = Detector::new();
    let evaluate = |detector: &mut Detector, record: &FlowRecord| {
        detector.flow_entered(&policy, record, false, T);
    };
    // The device connects to a listed address that is also not allowed: two alerts.
    let listed = record(true, [198, 51, 100, 7], 50_000, 443, TransportKind::Tcp);
    evaluate(&mut detector, &listed);
    // An allowed destination: nothing.
    evaluate(
        &mut detector,
        &record(true, [203, 0, 113, 9], 50_001, 443, TransportKind::Tcp),
    );
    // The peer connects to the allowed port, then to another: one alert.
    evaluate(
        &mut detector,
        &record(false, [203, 0, 113, 9], 8080, 51_000, TransportKind::Tcp),
    );
    evaluate(
        &mut detector,
        &record(false, [203, 0, 113, 9], 23, 51_000, TransportKind::Tcp),
    );
    // UDP has no inbound rule in this policy.
    evaluate(
        &mut detector,
        &record(false, [203, 0, 113, 9], 69, 51_000, TransportKind::Udp),
    );
    // The same flow again (a refused flow is evaluated at each packet): no second alert.
    detector.flow_entered(&policy, &listed, true, T);
    assert_eq!(
        kinds(&detector),
        [
            (AlertKind::Indicator, 1),
            (AlertKind::OutboundNotAllowed, 0),
            (AlertKind::InboundPortNotAllowed, 0)
        ]
    );
    let Subject::Flow(flow) = detector.pending()[2].subject else {
        panic!()
    };
    assert_eq!(
        (flow.local_port, flow.remote_port, flow.initiator),
        (23, 51_000, Direction::In)
    );
    assert_eq!(&flow.remote[..4], &[203, 0, 113, 9]);
    assert_eq!(detector.pending()[0].policy, policy.crc32());
    // A new window alerts on the same flow again.
    detector.window_closed(Some(&policy), 2, T + 10);
    evaluate(&mut detector, &listed);
    assert_eq!(detector.pending().len(), 5);
    assert_eq!(detector.counters().alerts_suppressed, 0);
}

#[test]
fn the_connection_count_includes_flows_the_full_table_refused() {
    let (blob, layout) = policy();
    let policy = Policy::new(&blob[..], &layout);
    let mut detector = Detector::new();
    detector.window_closed(Some(&policy), 3, T);
    assert!(detector.pending().is_empty(), "3 flows are within 0..=3");
    // A scan the table refused: 2 flows in the table, 5 refused packets.
    for port in 1..=5 {
        let scan = record(
            false,
            [203, 0, 113, 1],
            8080,
            40_000 + port,
            TransportKind::Tcp,
        );
        detector.flow_entered(&policy, &scan, true, T + 1);
    }
    detector.window_closed(Some(&policy), 2, T + 10);
    let alert = detector.pending()[0];
    assert_eq!(alert.kind, AlertKind::ConnectionsOutOfRange);
    assert_eq!(
        alert.subject,
        Subject::Connections {
            active: 7,
            min: 0,
            max: 3
        }
    );
    assert_eq!(alert.time, T + 10);
    // The count starts again with the next window.
    detector.window_closed(Some(&policy), 1, T + 20);
    assert_eq!(detector.pending().len(), 1);
}

#[test]
fn past_the_window_limit_alerts_are_counted_as_suppressed() {
    let (blob, layout) = policy();
    let policy = Policy::new(&blob[..], &layout);
    let mut detector = Detector::new();
    for port in 0..LIMIT as u16 + 3 {
        let flow = record(
            true,
            [198, 51, 100, 7],
            50_000 + port,
            443,
            TransportKind::Udp,
        );
        detector.flow_entered(&policy, &flow, false, T);
    }
    // Each flow raises two alerts (indicator, not allowed): the limit is reached halfway.
    assert_eq!(detector.pending().len(), LIMIT);
    assert_eq!(
        detector.counters().alerts_suppressed as usize,
        2 * (LIMIT + 3) - LIMIT
    );
    // The window's connection count still alerts: the limit does not hide it.
    detector.window_closed(Some(&policy), LIMIT + 3, T + 10);
    assert_eq!(detector.pending().len(), LIMIT + 1);
    assert_eq!(
        detector.pending()[LIMIT].kind,
        AlertKind::ConnectionsOutOfRange
    );
    detector.sent(3);
    assert_eq!(detector.pending().len(), LIMIT - 2);
    assert_eq!(detector.counters().alerts_sent, 3);
}

#[test]
fn the_outbound_allow_list_leaves_the_network_s_own_traffic_alone() {
    let (blob, layout) = policy();
    let policy = Policy::new(&blob[..], &layout);
    let mut detector = Detector::new();
    for peer in [
        [224, 0, 0, 251],
        [239, 255, 255, 250],
        [255, 255, 255, 255],
        [169, 254, 1, 2],
    ] {
        let flow = record(true, peer, 5353, 53, TransportKind::Udp);
        detector.flow_entered(&policy, &flow, false, T);
    }
    assert!(detector.pending().is_empty(), "{:?}", kinds(&detector));
    assert!(local_network_v6(0xff02 << 112 | 1));
    assert!(local_network_v6(0xfe80 << 112 | 7));
    assert!(!local_network_v6(0x2001_0db8 << 96));
    assert!(!local_network_v4(u32::from_be_bytes([192, 0, 2, 1])));
}
