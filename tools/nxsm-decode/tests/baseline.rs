//! The baseline event (wire format section 3.5): hand-written bytes, messages written by the
//! core's `BaselineMessage` read back, malformed lists, and the binary's output.

mod common;

use common::run;

use nx_security_module::testing::config::capacity;
use nx_security_module::testing::message::{BaselineMessage, BaselineReport, Learned};
use nxsm_decode::hex::{parse_line, to_hex};
use nxsm_decode::{
    decode, encode, to_json, Baseline, BaselineList, DecodeError, Event, Message,
    MAX_BASELINE_ENTRIES,
};
use serde_json::{json, Value};

/// Format 2, "nxsm", version 0, sequence 5, time 1,700,003,600, one event: a baseline that
/// started at 1,700,000,000, learned 3,600 s, was applied under policy 0x1234abcd with 3
/// entries over, and holds 203.0.113.0/24, 203.0.114.0/24, 2001:db8:0:1::/64, TCP 8080 and
/// UDP 53 and 5353.
const HAND_WRITTEN: &str = "\
    02 046e78736d 00 05 90fecfaa06 01 \
    04 80e2cfaa06 901c 01 cdd7d29101 03 \
    02 cb0071 cb0072 \
    01 20010db800000001 \
    01 1f90 \
    02 0035 14e9";

fn hand_written() -> Vec<u8> {
    parse_line(HAND_WRITTEN).unwrap()
}

fn baseline_of(message: &Message) -> &Baseline {
    assert_eq!(message.events.len(), 1);
    match &message.events[0] {
        Event::Baseline(baseline) => baseline,
        other => panic!("not a baseline: {other:?}"),
    }
}

#[test]
fn hand_written_bytes_field_by_field() {
    let message = decode(&hand_written()).unwrap();
    assert_eq!(message.format, 2);
    assert_eq!(message.module, "nxsm");
    assert_eq!(message.module_version, 0);
    assert_eq!(message.sequence, 5);
    assert_eq!(message.time, 1_700_003_600);
    let baseline = baseline_of(&message);
    assert_eq!(message.baseline(), Some(baseline));
    assert_eq!(baseline.started, 1_700_000_000);
    assert_eq!(baseline.duration_s, 3_600);
    assert!(baseline.applied);
    assert_eq!(baseline.policy, 0x1234_abcd);
    assert_eq!(baseline.overflow, 3);
    assert_eq!(baseline.v4_prefixes, [[203, 0, 113], [203, 0, 114]]);
    assert_eq!(baseline.v6_prefixes, [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]]);
    assert_eq!(baseline.tcp_ports, [8080]);
    assert_eq!(baseline.udp_ports, [53, 5353]);
    assert_eq!(baseline.end(), 1_700_003_600);
    assert_eq!(encode(&message), hand_written());
}

#[test]
fn hand_written_bytes_as_json() {
    let message = decode(&hand_written()).unwrap();
    let value = to_json(&message);
    assert_eq!(
        value["events"][0],
        json!({
            "event": "baseline",
            "started": 1_700_000_000u32,
            "duration_s": 3_600,
            "end": 1_700_003_600u32,
            "applied": true,
            "policy": "0x1234abcd",
            "overflow": 3,
            "outbound": ["203.0.113.0/24", "203.0.114.0/24", "2001:db8:0:1::/64"],
            "inbound": {"tcp": [8080], "udp": [53, 5353]},
        })
    );
    let keys: Vec<&str> = value["events"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "event",
            "started",
            "duration_s",
            "end",
            "applied",
            "policy",
            "overflow",
            "outbound",
            "inbound"
        ]
    );
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = hand_written();
    for len in 0..bytes.len() {
        assert_eq!(
            decode(&bytes[..len]),
            Err(DecodeError::Truncated),
            "{len} of {} bytes",
            bytes.len()
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(decode(&longer), Err(DecodeError::TrailingBytes(1)));
}

/// The message the core writes for `learned`, checked against its own length.
fn write(learned: &Learned, applied: bool, policy: u32, sequence: u32, time: u32) -> Vec<u8> {
    let report = BaselineReport {
        learned,
        applied,
        policy,
    };
    let message = BaselineMessage::new(report, sequence, time);
    let mut out = vec![0u8; 4096];
    let written = message.write(&mut out).unwrap();
    assert_eq!(written, message.len());
    out.truncate(written);
    out
}

/// What the decoder must read for `learned`.
fn expected(learned: &Learned, applied: bool, policy: u32) -> Baseline {
    Baseline {
        started: learned.started,
        duration_s: learned.duration_s,
        applied,
        policy,
        overflow: learned.overflow,
        v4_prefixes: learned
            .v4
            .iter()
            .map(|p| {
                let [_, a, b, c] = p.to_be_bytes();
                [a, b, c]
            })
            .collect(),
        v6_prefixes: learned.v6.iter().map(|p| p.to_be_bytes()).collect(),
        tcp_ports: learned.tcp.to_vec(),
        udp_ports: learned.udp.to_vec(),
    }
}

fn round_trip(learned: &Learned, applied: bool, policy: u32, sequence: u32, time: u32) {
    let bytes = write(learned, applied, policy, sequence, time);
    let message = decode(&bytes).unwrap_or_else(|e| panic!("{e}: {}", to_hex(&bytes)));
    assert_eq!(message.sequence, sequence);
    assert_eq!(message.time, time);
    assert_eq!(baseline_of(&message), &expected(learned, applied, policy));
    assert_eq!(encode(&message), bytes);
    for len in 0..bytes.len() {
        assert!(decode(&bytes[..len]).is_err(), "{len} bytes decoded");
    }
}

#[test]
fn round_trip_empty_lists() {
    let learned = Learned::new(1_700_000_000, 60);
    round_trip(&learned, false, 0, 0, 1_700_000_060);
    let bytes = write(&learned, false, 0, 0, 1_700_000_060);
    let value = to_json(&decode(&bytes).unwrap());
    assert_eq!(value["events"][0]["outbound"], json!([]));
    assert_eq!(value["events"][0]["inbound"], json!({"tcp": [], "udp": []}));
    assert_eq!(value["events"][0]["policy"], "0x00000000");
}

/// Full lists: `NXSM_BASELINE_ENTRIES` (16 by default) entries each.
fn full(started: u32, duration_s: u32) -> Learned {
    let entries = capacity::BASELINE_ENTRIES;
    let mut learned = Learned::new(started, duration_s);
    for i in 0..entries {
        let n = u32::try_from(i).unwrap();
        learned.v4.push(0xcb_0071 + n * 0x101).unwrap();
        learned
            .v6
            .push(0x2001_0db8_0000_0000 + u64::from(n) * 0x1_0001)
            .unwrap();
        learned
            .tcp
            .push(1 + 1_000 * u16::try_from(i).unwrap())
            .unwrap();
        learned
            .udp
            .push(53 + 97 * u16::try_from(i).unwrap())
            .unwrap();
    }
    learned.overflow = 12;
    learned
}

#[test]
fn round_trip_full_lists() {
    let learned = full(1_700_000_000, 3_600);
    assert_eq!(learned.v4.len(), capacity::BASELINE_ENTRIES);
    round_trip(&learned, true, 0xdead_beef, 42, 1_700_003_600);
    let bytes = write(&learned, true, 0xdead_beef, 42, 1_700_003_600);
    let value = to_json(&decode(&bytes).unwrap());
    let event = &value["events"][0];
    assert_eq!(
        event["outbound"].as_array().unwrap().len(),
        2 * capacity::BASELINE_ENTRIES
    );
    assert_eq!(event["outbound"][0], "203.0.113.0/24");
    assert_eq!(
        event["outbound"][capacity::BASELINE_ENTRIES],
        "2001:db8::/64"
    );
    assert_eq!(event["inbound"]["tcp"][0], 1);
    assert_eq!(event["inbound"]["udp"][1], 150);
}

#[test]
fn round_trip_extreme_values() {
    let mut learned = Learned::new(u32::MAX, u32::MAX);
    learned.overflow = u32::MAX;
    for prefix in [0, 1, 0xff_ffff] {
        learned.v4.push(prefix).unwrap();
    }
    for prefix in [0, u64::MAX] {
        learned.v6.push(prefix).unwrap();
    }
    for port in [1, 127, 128, 255, 256, u16::MAX] {
        learned.tcp.push(port).unwrap();
    }
    learned.udp.push(u16::MAX).unwrap();
    round_trip(&learned, true, u32::MAX, u32::MAX, u32::MAX);
    round_trip(&learned, false, 0, 0, 0);
    let bytes = write(&learned, true, u32::MAX, u32::MAX, u32::MAX);
    let value = to_json(&decode(&bytes).unwrap());
    let event = &value["events"][0];
    assert_eq!(event["end"], json!(2 * u64::from(u32::MAX)));
    assert_eq!(event["policy"], "0xffffffff");
    assert_eq!(
        event["outbound"],
        json!([
            "0.0.0.0/24",
            "0.0.1.0/24",
            "255.255.255.0/24",
            "::/64",
            "ffff:ffff:ffff:ffff::/64"
        ])
    );
}

/// A valid baseline message, for breaking one field at a time.
fn valid() -> Message {
    decode(&hand_written()).unwrap()
}

fn with(change: impl FnOnce(&mut Baseline)) -> Vec<u8> {
    let mut message = valid();
    let Event::Baseline(baseline) = &mut message.events[0] else {
        unreachable!()
    };
    change(baseline);
    encode(&message)
}

#[test]
fn lists_out_of_order_are_errors() {
    let unsorted = |list, index| Err(DecodeError::BaselineUnsorted { list, index });
    assert_eq!(
        decode(&with(|b| b.v4_prefixes.reverse())),
        unsorted(BaselineList::V4Prefixes, 1)
    );
    assert_eq!(
        decode(&with(|b| b.v4_prefixes[1] = b.v4_prefixes[0])),
        unsorted(BaselineList::V4Prefixes, 1)
    );
    assert_eq!(
        decode(&with(|b| b
            .v6_prefixes
            .push([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]))),
        unsorted(BaselineList::V6Prefixes, 1)
    );
    assert_eq!(
        decode(&with(|b| b.tcp_ports = vec![443, 80, 8080])),
        unsorted(BaselineList::TcpPorts, 1)
    );
    assert_eq!(
        decode(&with(|b| b.udp_ports = vec![53, 5353, 5353])),
        unsorted(BaselineList::UdpPorts, 2)
    );
}

#[test]
fn port_zero_is_an_error() {
    assert_eq!(
        decode(&with(|b| b.tcp_ports = vec![0, 80])),
        Err(DecodeError::BaselinePortZero {
            list: BaselineList::TcpPorts,
            index: 0
        })
    );
    assert_eq!(
        decode(&with(|b| b.udp_ports = vec![0])),
        Err(DecodeError::BaselinePortZero {
            list: BaselineList::UdpPorts,
            index: 0
        })
    );
}

#[test]
fn too_many_entries_are_an_error() {
    let max = MAX_BASELINE_ENTRIES;
    let ports = |n: usize| (1..=u16::try_from(n).unwrap()).collect::<Vec<u16>>();
    assert!(decode(&with(|b| b.tcp_ports = ports(max))).is_ok());
    assert_eq!(
        decode(&with(|b| b.udp_ports = ports(max + 1))),
        Err(DecodeError::BaselineTooLong {
            list: BaselineList::UdpPorts,
            count: max + 1
        })
    );
    let v4: Vec<[u8; 3]> = (0..=max).map(|i| [10, 0, i as u8]).collect();
    assert_eq!(
        decode(&with(|b| b.v4_prefixes = v4)),
        Err(DecodeError::BaselineTooLong {
            list: BaselineList::V4Prefixes,
            count: max + 1
        })
    );
}

#[test]
fn bad_bool_and_unknown_event() {
    let mut bytes = hand_written();
    // The `applied` byte follows the event number (at 14, after the header's 13 bytes and
    // the event count), `started` (5 bytes) and `duration_s` (2 bytes).
    let applied = 14 + 1 + 5 + 2;
    assert_eq!(bytes[applied], 1);
    bytes[applied] = 2;
    assert_eq!(decode(&bytes), Err(DecodeError::BadBool));
    let mut bytes = hand_written();
    assert_eq!(bytes[14], 4);
    bytes[14] = 8;
    assert_eq!(decode(&bytes), Err(DecodeError::UnknownEvent(8)));
}

#[test]
fn errors_read_well() {
    let error = decode(&with(|b| b.tcp_ports = vec![443, 80])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "baseline tcp_ports: entry 1 is not above the one before it (not strictly ascending)"
    );
    let error = decode(&with(|b| b.udp_ports = vec![0])).unwrap_err();
    assert_eq!(error.to_string(), "baseline udp_ports: entry 0 is port 0");
}

/// The hand-written message, then one the core writes with empty lists, not applied.
fn cli_input() -> String {
    let empty = write(&Learned::new(1_700_010_000, 60), false, 0, 6, 1_700_010_060);
    format!("{HAND_WRITTEN}\n{}\n", to_hex(&empty))
}

#[test]
fn replay_json_one_line_per_baseline() {
    let output = run(&["--replay"], cli_input().as_bytes());
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"t":1700003600,"event":"baseline","started":1700000000,"duration_s":3600,"end":1700003600,"applied":true,"policy":"0x1234abcd","overflow":3,"outbound":["203.0.113.0/24","203.0.114.0/24","2001:db8:0:1::/64"],"inbound":{"tcp":[8080],"udp":[53,5353]},"seq":5}"#,
            r#"{"t":1700010060,"event":"baseline","started":1700010000,"duration_s":60,"end":1700010060,"applied":false,"policy":"0x00000000","overflow":0,"outbound":[],"inbound":{"tcp":[],"udp":[]},"seq":6}"#,
        ]
    );
}

#[test]
fn replay_table_block_per_baseline() {
    let output = run(&["--replay", "--format", "table"], cli_input().as_bytes());
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        "\
BASELINE learned 3600 s from 2023-11-14 22:13:20 UTC (t 1700000000): applied, policy 0x1234abcd, overflow 3  (seq 5, t 1700003600)
  outbound 203.0.113.0/24, 203.0.114.0/24, 2001:db8:0:1::/64
  inbound  tcp 8080; udp 53, 5353

BASELINE learned 60 s from 2023-11-15 01:00:00 UTC (t 1700010000): not applied, policy 0x00000000, overflow 0  (seq 6, t 1700010060)
  outbound -
  inbound  tcp -; udp -

"
    );
}

#[test]
fn decoded_message_as_json() {
    let output = run(&["--hex"], cli_input().as_bytes());
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let values: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["sequence"], 5);
    assert_eq!(values[0]["events"][0]["event"], "baseline");
    assert_eq!(values[1]["events"][0]["applied"], false);
    // A broken list is reported, and the exit status says so.
    let bad = with(|b| b.tcp_ports = vec![0]);
    let output = run(&["--hex"], format!("{}\n", to_hex(&bad)).as_bytes());
    assert_eq!(output.status.code(), Some(1));
    let errors = String::from_utf8(output.stderr).unwrap();
    assert!(
        errors.contains("baseline tcp_ports: entry 0 is port 0"),
        "{errors}"
    );
}

#[test]
fn a_baseline_travels_alone() {
    let mut message = decode(&hand_written()).unwrap();
    message
        .events
        .insert(0, Event::Heartbeat(nxsm_decode::Heartbeat::default()));
    assert_eq!(
        decode(&encode(&message)),
        Err(DecodeError::NotAlone(nxsm_decode::EventKind::Baseline))
    );
}
