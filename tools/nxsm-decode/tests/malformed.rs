//! Damaged input: never a panic, always an error where the format says so.

mod common;

use common::{compose, connections_alert, flow, flow_alert, write_alerts};
use nx_security_module::testing::message::{
    AlertKind, Collection, Direction, Heartbeat, SystemInformation, Window,
};
use nx_security_module::testing::wire::TransportKind::{Icmp, Tcp, Udp};
use nxsm_decode::replay::{Format, Replay};
use nxsm_decode::{decode, decode_hex_text, hex, to_json, DecodeError};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Writer output with every event: one message, a window split over several, and alert
/// messages; then an inventory, findings and audit message of this reader's `encode`.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(write_samples)
}

fn write_samples() -> Vec<Vec<u8>> {
    let v4: Vec<_> = (0..40u32)
        .map(|i| {
            flow(
                [10, 0, (i % 3) as u8, 1],
                [192, 0, 2, i as u8],
                i as u16,
                80,
                [Tcp, Udp, Icmp][(i % 3) as usize],
                (i * 300, i),
                (u32::MAX / (i + 1), i * 5),
                if i % 3 == 0 { (0x13, 0x02) } else { (0, 0) },
            )
        })
        .collect();
    let v6: Vec<_> = (0..10u8)
        .map(|i| {
            let mut a = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
            let mut b = a;
            a[15] = i % 2;
            b[8] = 0xff;
            b[15] = i;
            flow(
                a,
                b,
                443,
                50_000 + u16::from(i),
                Tcp,
                (1, 1),
                (2, 2),
                (0x02, 0x12),
            )
        })
        .collect();
    let si = SystemInformation {
        threadx: [6, 4, 1],
        collectors: 7,
        ..Default::default()
    };
    let hb = Heartbeat {
        uptime_s: 1234,
        outbox_peak_bytes: u32::MAX,
        ..Default::default()
    };
    let c = Collection {
        time: 1_700_000_000,
        network: Some(Window {
            duration_s: 10,
            v4: &v4,
            v6: &v6,
        }),
        system: Some(&si),
        heartbeat: Some(&hb),
    };
    let mut all = compose(&c, 4096, 1);
    assert_eq!(all.len(), 1);
    all.extend(compose(&c, 256, 100));
    assert!(all.len() > 3);
    let alerts: Vec<_> = (0..12u8)
        .map(|i| {
            let v6 = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i];
            let (local, remote): (&[u8], &[u8]) = if i % 2 == 0 {
                (&[10, 0, 0, 1], &[192, 0, 2, i])
            } else {
                (&v6, &v6)
            };
            let (protocol, ports) =
                [(Tcp, (50_000, 443)), (Udp, (53, 5353)), (Icmp, (0, 0))][usize::from(i % 3)];
            flow_alert(
                [
                    AlertKind::Indicator,
                    AlertKind::OutboundNotAllowed,
                    AlertKind::InboundPortNotAllowed,
                ][usize::from(i % 3)],
                // `rule` is the indicator's source, 0 for the other kinds.
                (
                    1_700_000_000 + u32::from(i),
                    0xdead_beef,
                    if i % 3 == 0 { u32::from(i % 2) } else { 0 },
                ),
                local,
                ports.0,
                remote,
                ports.1,
                protocol,
                [Direction::Out, Direction::In][usize::from(i % 2)],
            )
        })
        .chain([connections_alert((1_700_000_010, 0xdead_beef), 900, 0, 64)])
        .collect();
    all.extend(
        write_alerts(&alerts, 320, 200, 1_700_000_010)
            .into_iter()
            .map(|(bytes, _)| bytes),
    );
    all.extend(lone_events());
    all
}

/// An inventory, findings and audit message (format 3) of every variant.
fn lone_events() -> Vec<Vec<u8>> {
    use nxsm_decode::{
        encode, AuditRecord, Connection, Event, Finding, FindingHead, Inventory, Message,
        RiskyService, Socket,
    };
    let message = |event| {
        encode(&Message {
            format: 3,
            module: "nxsm".into(),
            module_version: 0x0001_0000,
            sequence: 300,
            time: 1_700_000_100,
            events: vec![event],
        })
    };
    let head = FindingHead {
        active: true,
        time: 1_700_000_000,
    };
    vec![
        message(Event::Inventory(Inventory {
            found: 5,
            part: 1,
            more: true,
            sockets: vec![
                Socket::TcpListening { ip: 0, port: 23 },
                Socket::UdpBound { ip: 1, port: 161 },
                Socket::TcpEstablished {
                    ip: 0,
                    connection: Connection::V4 {
                        local: [10, 0, 0, 1],
                        local_port: 502,
                        remote: [10, 0, 0, 2],
                        remote_port: 40_000,
                    },
                },
                Socket::TcpEstablished {
                    ip: 2,
                    connection: Connection::V6 {
                        local: [0xfe; 16],
                        local_port: 443,
                        remote: [0x20; 16],
                        remote_port: 40_001,
                    },
                },
            ],
        })),
        message(Event::Findings(vec![
            Finding::RiskyService(
                head,
                RiskyService {
                    protocol: 1,
                    port: 69,
                    reason: 1,
                },
            ),
            Finding::UnhookedIp(head, 3),
            Finding::HookReplaced(head, 1),
            Finding::NetworkActivityOff(head),
            Finding::NoClock(head),
        ])),
        message(Event::Audit(
            [(0u8, 1u32, 0u32), (1, 4, 0), (2, 5, 3), (3, 12, 0)]
                .into_iter()
                .enumerate()
                .map(|(i, (category, kind, result))| AuditRecord {
                    sequence: i as u32,
                    time: 1_700_000_000,
                    category,
                    kind,
                    result,
                    subject: 1,
                    old: 2,
                    new: 3,
                })
                .collect(),
        )),
    ]
}

#[test]
fn every_truncation_of_writer_output_is_an_error() {
    for (i, bytes) in samples().iter().enumerate() {
        assert!(decode(bytes).is_ok(), "sample {i}");
        for len in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..len]),
                Err(DecodeError::Truncated),
                "sample {i} cut to {len} of {} bytes",
                bytes.len()
            );
        }
    }
}

#[test]
fn trailing_bytes_after_writer_output_are_an_error() {
    for bytes in samples() {
        for extra in [&[0u8][..], &[1], &[0xff, 0xff], &bytes[..]] {
            let mut longer = bytes.clone();
            longer.extend_from_slice(extra);
            assert_eq!(
                decode(&longer),
                Err(DecodeError::TrailingBytes(extra.len()))
            );
        }
    }
}

#[test]
fn every_single_byte_change_is_read_without_panic() {
    for bytes in samples().iter().take(2) {
        for at in 0..bytes.len() {
            for value in [0x00, 0x03, 0x80, 0xff, bytes[at] ^ 0x20] {
                let mut changed = bytes.clone();
                changed[at] = value;
                // (Most changes of a counter byte still decode; the JSON view of those is
                // covered by the random tests below.)
                let _ = decode(&changed);
            }
        }
    }
}

fn replay_lines(lines: &[Vec<u8>], format: Format) -> Vec<u8> {
    let mut replay = Replay::new(Vec::new(), format);
    for line in lines {
        let _ = replay.line(line).expect("writing to a vector");
    }
    replay.finish().expect("writing to a vector")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(message) = decode(&bytes) {
            let _ = to_json(&message);
        }
        let mut framed = vec![1u8, 4, b'n', b'x', b's', b'm'];
        framed.extend(&bytes);
        if let Ok(message) = decode(&framed) {
            let _ = to_json(&message);
        }
    }

    #[test]
    fn random_tails_after_a_valid_start_never_panic(
        sample in 0usize..64,
        cut in any::<prop::sample::Index>(),
        tail in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let samples = samples();
        let bytes = &samples[sample % samples.len()];
        let mut mixed = bytes[..cut.index(bytes.len())].to_vec();
        mixed.extend(&tail);
        if let Ok(message) = decode(&mixed) {
            let _ = to_json(&message);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_text_never_panics(text in prop::collection::vec(
        prop_oneof![Just(b'\n'), Just(b'#'), Just(b' '), Just(b'{'), any::<u8>(),
                    prop::sample::select(b"0123456789abcdefABCDEF".to_vec())],
        0..400,
    )) {
        let _ = decode_hex_text(&text);
        let lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        let _ = replay_lines(&lines, Format::Json);
        let _ = replay_lines(&lines, Format::Table);
    }

    #[test]
    fn damaged_hex_lines_in_replay_never_panic(
        sample in 0usize..64,
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let samples = samples();
        let mut bytes = samples[sample % samples.len()].clone();
        let i = at.index(bytes.len());
        bytes[i] = value;
        let lines = vec![hex::to_hex(&bytes).into_bytes()];
        let _ = replay_lines(&lines, Format::Json);
        let _ = replay_lines(&lines, Format::Table);
    }
}
