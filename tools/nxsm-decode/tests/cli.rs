//! The `nxsm-decode` binary on files, stdin and in replay mode.

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{compose, flow, run};
use nx_security_module::testing::message::{Collection, Heartbeat, SystemInformation, Window};
use nx_security_module::testing::wire::TransportKind::{Icmp, Tcp, Udp};
use nxsm_decode::hex::to_hex;
use serde_json::Value;

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn json_lines(output: &Output) -> Vec<Value> {
    stdout_lines(output)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Three messages of the writer: one window split in two parts (system information and
/// heartbeat in the first), then a heartbeat alone.
fn messages() -> Vec<Vec<u8>> {
    let v4: Vec<_> = (0..12u8)
        .map(|i| {
            flow(
                [192, 0, 2, 1],
                [198, 51, 100, i],
                40_000 + u16::from(i),
                443,
                Tcp,
                (1000 + u32::from(i), 3),
                (500, 2),
                (0x12, 0x03),
            )
        })
        .collect();
    let v6 = vec![
        flow(
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            0,
            0,
            Icmp,
            (0, 0),
            (64, 1),
            (0, 0),
        ),
        flow(
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            5353,
            5353,
            Udp,
            (100, 1),
            (0, 0),
            (0, 0),
        ),
    ];
    let si = SystemInformation {
        threadx: [6, 4, 1],
        netx: [6, 4, 1],
        module_version: nx_security_module::VERSION,
        collectors: 7,
        ..Default::default()
    };
    let hb = Heartbeat {
        uptime_s: 75,
        packets_seen: 12,
        ..Default::default()
    };
    let window = Collection {
        time: 1_700_000_000,
        network: Some(Window {
            duration_s: 10,
            v4: &v4,
            v6: &v6,
        }),
        system: Some(&si),
        heartbeat: Some(&hb),
    };
    let mut all = compose(&window, 256, 7);
    assert_eq!(all.len(), 2, "the window takes two messages at 256 bytes");
    let later = Collection {
        time: 1_700_000_060,
        network: None,
        system: None,
        heartbeat: Some(&hb),
    };
    all.extend(compose(&later, 256, 9));
    all
}

#[test]
fn hex_file_with_comments_a_wrapped_message_and_a_bad_line() {
    let m = messages();
    let wrapped: Vec<String> = to_hex(&m[1])
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let text = format!(
        "# three messages\n{}  # first\n{}\n0104 zz\n\n{}\n",
        to_hex(&m[0]),
        wrapped.join("\n"),
        to_hex(&m[2])
    );
    let path = temp_file("messages.hex", text.as_bytes());
    let output = run(&[path.to_str().unwrap()], b"");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a bad line makes the exit status 1"
    );
    let values = json_lines(&output);
    assert_eq!(values.len(), 3);
    assert_eq!(values[0]["sequence"], 7);
    assert_eq!(values[1]["sequence"], 8);
    assert_eq!(values[1]["events"][0]["part"], 1);
    assert_eq!(values[2]["events"][0]["event"], "heartbeat");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let bad_line = 3 + wrapped.len();
    assert!(
        stderr.contains(&format!("messages.hex:{bad_line}: bad hex")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn stdin_hex_and_pretty() {
    let m = messages();
    let text = format!("{}\n{}\n", to_hex(&m[0]), to_hex(&m[2]));
    let output = run(&[], text.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let values = json_lines(&output);
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["module"], "nxsm");
    assert_eq!(values[0]["events"][0]["window"]["start"], 1_699_999_990);
    assert_eq!(values[0]["events"][1]["threadx"], "6.4.1");
    let flow = &values[0]["events"][0]["flows"][0];
    assert_eq!(flow["local"], "192.0.2.1");
    assert_eq!(flow["tcp_flags_in"], serde_json::json!(["SYN"]));
    assert_eq!(flow["tcp_flags_out"], serde_json::json!(["SYN", "FIN"]));

    let output = run(&["--pretty", "--hex", "-"], text.as_bytes());
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.lines().count() > 20);
    let first: Value = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first["sequence"], 7);
}

#[test]
fn raw_files_auto_detected_and_forced() {
    let m = messages();
    let good = temp_file("message.bin", &m[0]);
    let mut cut = m[0].clone();
    cut.pop();
    let bad = temp_file("cut.bin", &cut);
    let output = run(&[good.to_str().unwrap(), bad.to_str().unwrap()], b"");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_lines(&output).len(), 1);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cut.bin: bad message: message ends early"),
        "{stderr}"
    );

    let output = run(&["--raw"], &m[2]);
    assert!(output.status.success());
    assert_eq!(json_lines(&output)[0]["sequence"], 9);
    // Hex text read as raw bytes is not a message.
    let output = run(&["--raw"], to_hex(&m[2]).as_bytes());
    assert_eq!(output.status.code(), Some(1));
    let output = run(&["no-such-file.hex"], b"");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn golden_file_as_the_format_page_says() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/network_v4_v6.hex"
    );
    let output = run(&[path], b"");
    assert!(output.status.success(), "{output:?}");
    let values = json_lines(&output);
    assert_eq!(values.len(), 1);
    assert_eq!(values[0]["events"][0]["flows"][1]["remote"], "2001:db8::2");
}

#[test]
fn replay_json_one_line_per_flow() {
    let m = messages();
    let summary = r#"{"summary": {"files": 1, "ip_packets": 14}}"#;
    let text = format!(
        "{}\n{}\n\n{}\n{summary}\nnot hex\n",
        to_hex(&m[0]),
        to_hex(&m[1]),
        to_hex(&m[2])
    );
    let output = run(&["--replay"], text.as_bytes());
    assert_eq!(output.status.code(), Some(1), "the bad line");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(stderr.contains("<stdin>:6:"), "{stderr}");
    let lines = stdout_lines(&output);
    // 14 flows, system information and heartbeat, a later heartbeat, the summary.
    assert_eq!(lines.len(), 14 + 2 + 1 + 1);
    assert_eq!(
        lines.last().unwrap(),
        summary,
        "JSON lines pass through unchanged"
    );
    let values: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let flows: Vec<&Value> = values.iter().filter(|v| v.get("ip").is_some()).collect();
    assert_eq!(flows.len(), 14);
    for f in &flows {
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "t",
                "ip",
                "proto",
                "local",
                "local_port",
                "remote",
                "remote_port",
                "bytes_in",
                "bytes_out",
                "packets_in",
                "packets_out",
                "tcp_flags_in",
                "tcp_flags_out",
                "initiator",
                "seq",
                "part"
            ]
        );
        assert_eq!(f["t"], 1_700_000_000);
    }
    let parts: Vec<(u64, u64)> = flows
        .iter()
        .map(|f| (f["seq"].as_u64().unwrap(), f["part"].as_u64().unwrap()))
        .collect();
    assert!(parts.contains(&(7, 0)) && parts.contains(&(8, 1)));
    assert!(flows.iter().any(|f| f["ip"] == 6 && f["proto"] == "icmp"));
    let events: Vec<&Value> = values.iter().filter(|v| v.get("event").is_some()).collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["event"], "system_information");
    assert_eq!(events[0]["seq"], 7);
    assert_eq!(events[1]["event"], "heartbeat");
    assert_eq!(events[1]["uptime_s"], 75);
    assert_eq!(events[2]["t"], 1_700_000_060);
    assert_eq!(events[2]["seq"], 9);
    assert!(events.iter().all(|e| e.get("ip").is_none()));
}

#[test]
fn replay_table() {
    let m = messages();
    let text = format!(
        "{}\n{}\n{}\n{}\n",
        to_hex(&m[0]),
        to_hex(&m[1]),
        to_hex(&m[2]),
        r#"{"summary": {"files": 1, "device": ["192.0.2.1"]}}"#
    );
    let output = run(&["--replay", "--format", "table"], text.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("== window"))
        .collect();
    assert_eq!(headers.len(), 1, "one window over two messages:\n{text}");
    assert!(headers[0].contains("2023-11-14 22:13:10 .. 2023-11-14 22:13:20 UTC"));
    let columns = lines.iter().position(|l| l.starts_with("ip")).unwrap();
    let rows = &lines[columns + 1..columns + 15];
    assert!(rows
        .iter()
        .all(|r| r.len() == rows[0].len() || r.contains("icmp")));
    assert!(rows[0].contains("192.0.2.1:40000") && rows[0].contains("198.51.100.0:443"));
    assert!(text.contains("[2001:db8::1]:5353"));
    assert!(text.contains("SYN,FIN"));
    assert!(text.contains("heartbeat  t=1700000060 seq=9"));
    assert!(text.contains("summary\n  files   1\n  device  192.0.2.1\n"));
    // The blocks of the window's first message come after all of its rows.
    let si = text.find("system_information").unwrap();
    assert!(si > text.find("[2001:db8::1]:5353").unwrap());
}

#[test]
fn bad_command_lines() {
    for args in [
        &["--bogus"][..],
        &["--hex", "--raw"],
        &["--replay", "--format", "xml"],
        &["--format", "json"],
        &["--replay", "file.hex"],
        &["--pretty=yes"],
    ] {
        let output = run(args, b"");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let output = run(&["--help"], b"");
    assert!(output.status.success());
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .contains("--replay"));
}

/// Alert messages of the writer: three alerts in message 12, then an ICMP alert in 13.
fn alert_messages() -> Vec<Vec<u8>> {
    use common::{connections_alert, flow_alert, write_alerts};
    use nx_security_module::testing::message::{AlertKind, Direction};
    let v6 = |last: u8| {
        [
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last,
        ]
    };
    let first = [
        flow_alert(
            AlertKind::Indicator,
            (1_700_000_005, 0xdead_beef, 1),
            &[192, 0, 2, 10],
            50_000,
            &[198, 51, 100, 7],
            443,
            Tcp,
            Direction::Out,
        ),
        flow_alert(
            AlertKind::InboundPortNotAllowed,
            (1_700_000_006, 0xdead_beef, 0),
            &v6(1),
            53,
            &v6(9),
            5353,
            Udp,
            Direction::In,
        ),
        connections_alert((1_700_000_010, 0xdead_beef), 70, 0, 20),
    ];
    let second = [flow_alert(
        AlertKind::OutboundNotAllowed,
        (1_700_000_070, 0xdead_beef, 0),
        &[192, 0, 2, 10],
        0,
        &[203, 0, 113, 1],
        0,
        Icmp,
        Direction::Out,
    )];
    let mut all: Vec<Vec<u8>> = write_alerts(&first, 1024, 12, 1_700_000_010)
        .into_iter()
        .map(|(bytes, _)| bytes)
        .collect();
    all.extend(
        write_alerts(&second, 1024, 13, 1_700_000_070)
            .into_iter()
            .map(|(bytes, _)| bytes),
    );
    assert_eq!(all.len(), 2);
    all
}

#[test]
fn replay_json_one_line_per_alert() {
    let m = alert_messages();
    let text = format!("{}\n{}\n", to_hex(&m[0]), to_hex(&m[1]));
    let output = run(&["--replay"], text.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let lines = stdout_lines(&output);
    assert_eq!(
        lines,
        [
            r#"{"t":1700000005,"event":"alert","kind":"indicator","ip":4,"proto":"tcp","local":"192.0.2.10","local_port":50000,"remote":"198.51.100.7","remote_port":443,"initiator":"local","rule":1,"seq":12}"#,
            r#"{"t":1700000006,"event":"alert","kind":"inbound_port_not_allowed","ip":6,"proto":"udp","local":"2001:db8::1","local_port":53,"remote":"2001:db8::9","remote_port":5353,"initiator":"remote","rule":0,"seq":12}"#,
            r#"{"t":1700000010,"event":"alert","kind":"connections_out_of_range","active":70,"min":0,"max":20,"rule":0,"seq":12}"#,
            r#"{"t":1700000070,"event":"alert","kind":"outbound_not_allowed","ip":4,"proto":"icmp","local":"192.0.2.10","local_port":0,"remote":"203.0.113.1","remote_port":0,"initiator":"local","rule":0,"seq":13}"#,
        ]
    );
}

#[test]
fn replay_table_one_line_per_alert() {
    let m = alert_messages();
    let text = format!("{}\n{}\n", to_hex(&m[0]), to_hex(&m[1]));
    let output = run(&["--replay", "--format", "table"], text.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        text,
        "\
ALERT indicator                 tcp   192.0.2.10:50000 -> 198.51.100.7:443    opened by local   rule 1  (seq 12, t 1700000005)
ALERT inbound_port_not_allowed  udp   [2001:db8::1]:53 -> [2001:db8::9]:5353  opened by remote  rule 0  (seq 12, t 1700000006)
ALERT connections_out_of_range  active 70 (allowed 0..20)                                               (seq 12, t 1700000010)

ALERT outbound_not_allowed      icmp  192.0.2.10 -> 203.0.113.1  opened by local   rule 0  (seq 13, t 1700000070)

"
    );
    // An alert message between the parts of a split window is printed when it is read; the
    // window's table follows once complete.
    let window = messages();
    let text = format!(
        "{}\n{}\n{}\n",
        to_hex(&window[0]),
        to_hex(&m[1]),
        to_hex(&window[1])
    );
    let output = run(&["--replay", "--format", "table"], text.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let alert = text.find("ALERT outbound_not_allowed").unwrap();
    let header = text.find("== window").unwrap();
    assert!(alert < header, "{text}");
    assert_eq!(text.matches("== window").count(), 1, "{text}");
    assert!(
        text.contains("198.51.100.11:443"),
        "every row of the window:\n{text}"
    );
}

#[test]
fn alert_message_as_json() {
    let m = alert_messages();
    let output = run(&["--hex"], format!("{}\n", to_hex(&m[0])).as_bytes());
    assert!(output.status.success(), "{output:?}");
    let values = json_lines(&output);
    assert_eq!(values.len(), 1);
    let event = &values[0]["events"][0];
    assert_eq!(event["event"], "alerts");
    let alerts = event["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 3);
    let keys: Vec<&str> = alerts[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "kind",
            "time",
            "policy",
            "rule",
            "ip",
            "proto",
            "local",
            "local_port",
            "remote",
            "remote_port",
            "initiator"
        ]
    );
    assert_eq!(alerts[0]["policy"], "0xdeadbeef");
    assert_eq!(alerts[2]["kind"], "connections_out_of_range");
    assert_eq!(
        (&alerts[2]["active"], &alerts[2]["min"], &alerts[2]["max"]),
        (&Value::from(70), &Value::from(0), &Value::from(20))
    );
}
