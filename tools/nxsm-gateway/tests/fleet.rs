//! End to end, with real programs: a mosquitto broker, an nfcapd IPFIX collector, the
//! gateway binary, and `scripts/replay --publish` replaying the demo capture through the
//! real library on the host simulator. The flows nfdump reads back must be exactly those
//! the reference decoder shows for the same replay.
//!
//! Ignored by a plain `cargo test`: they need mosquitto, nfdump and the host build.
//! `scripts/test fleet` runs them (`cargo test -p nxsm-gateway --test fleet -- --ignored`).
//! Every process a test starts is killed when its guard drops, also when the test fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nxsm_decode::{encode, Event, Heartbeat, Message};
use serde_json::Value;

const GATEWAY: &str = env!("CARGO_BIN_EXE_nxsm-gateway");
const LOCALS: [&str; 6] = [
    "--local",
    "192.0.2.1/24",
    "--local",
    "2001:db8::1",
    "--local",
    "fe80::ff:fe00:1",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A child process killed and reaped on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Guard {
    /// Waits for the process to exit by itself (at most `limit`).
    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "process still running after {limit:?}"
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits for the exit (nfcapd writes its file on SIGTERM).
    fn terminate(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.wait_exit(Duration::from_secs(20));
    }
}

/// A temporary directory removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "nxsm-fleet-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Temp(path)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        sleep(Duration::from_millis(50));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// mosquitto on a free loopback port, anonymous, no persistence.
fn broker(dir: &Path) -> (Guard, String) {
    broker_on(dir, free_tcp_port())
}

fn broker_on(dir: &Path, port: u16) -> (Guard, String) {
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let log = File::create(dir.join("mosquitto.log")).unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&config)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("mosquitto (scripts/setup installs it)");
    let guard = Guard(child);
    wait_until("mosquitto", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (guard, format!("mqtt://127.0.0.1:{port}"))
}

/// nfcapd writing into `dir/flows` from a free loopback UDP port.
fn collector(dir: &Path) -> (Guard, u16, PathBuf) {
    let port = free_udp_port();
    let flows = dir.join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    let log_path = dir.join("nfcapd.log");
    let log = File::create(&log_path).unwrap();
    let child = Command::new("nfcapd")
        .arg("-w")
        .arg(&flows)
        .args(["-p", &port.to_string(), "-b", "127.0.0.1", "-t", "60"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("nfcapd (scripts/setup installs nfdump)");
    let guard = Guard(child);
    wait_until("nfcapd", Duration::from_secs(10), || {
        read(&log_path).contains("Startup")
    });
    (guard, port, flows)
}

/// The gateway with `args`, stderr to `dir/NAME.log`, once it has subscribed.
fn gateway(dir: &Path, name: &str, url: &str, args: &[&str]) -> (Guard, PathBuf) {
    let log_path = dir.join(format!("{name}.log"));
    let child = Command::new(GATEWAY)
        .args(["--mqtt", url, "--stats", "0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let guard = Guard(child);
    wait_until(
        "the gateway's subscription",
        Duration::from_secs(15),
        || read(&log_path).contains("subscribed to"),
    );
    (guard, log_path)
}

/// The `key=value` pairs of the gateway's final counters line.
fn final_counters(log: &Path) -> BTreeMap<String, u64> {
    let text = read(log);
    let line = text
        .lines()
        .find(|l| l.starts_with("nxsm-gateway: final"))
        .unwrap_or_else(|| panic!("no final line in:\n{text}"));
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A capture the end-to-end tests replay: its replay options and file.
struct Capture {
    options: &'static [&'static str],
    file: &'static str,
    /// IPFIX records (one per direction) it gives at least.
    least_rows: usize,
    /// Payload bytes its largest flow carries one way at least.
    least_flow_bytes: u64,
}

/// The demo capture (unicast-only).
const DEMO: Capture = Capture {
    options: &LOCALS,
    file: "c-harness/data/pcap/demo/device.pcap",
    least_rows: 10,
    least_flow_bytes: 0,
};

/// Big pings and UDP answers fragmented in IPv4 and IPv6, in ip-input mode: the later
/// fragments count in their datagrams' flows (src/fragments.rs).
const FRAGMENTED: Capture = Capture {
    options: &[
        "--local",
        "192.0.2.1/24",
        "--local",
        "2001:db8::1",
        "--capture",
        "ip-input",
    ],
    file: "c-harness/data/pcap/fragments/device.pcap",
    least_rows: 4,
    // A 2,960-byte UDP answer is three fragments: counted whole only with its tails.
    least_flow_bytes: 2_960,
};

/// Replays `capture`, publishing its messages as device dev-1; returns the decoder's JSON
/// lines.
fn replay(url: &str, capture: &Capture) -> Vec<Value> {
    let output = Command::new(root().join("scripts/replay"))
        .env("NXSM_GATEWAY", GATEWAY)
        .args(capture.options)
        .args(["--publish", url, "--device-id", "dev-1"])
        .arg(root().join(capture.file))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success(), "scripts/replay --publish failed");
    json_lines(&String::from_utf8(output.stdout).unwrap())
}

/// One flow as nfdump shows it: addresses, ports, protocol, then packets and bytes of the
/// forward direction and (biflows) of the reverse one.
type Row = (IpAddr, IpAddr, u16, u16, String, u64, u64, u64, u64);

fn nfdump_rows(flows: &Path) -> Vec<Row> {
    let output = Command::new("nfdump")
        .arg("-R")
        .arg(flows)
        .args(["-o", "csv"])
        .output()
        .unwrap();
    assert!(output.status.success(), "nfdump failed");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (sa, da, sp, dp, pr) = (col("sa"), col("da"), col("sp"), col("dp"), col("pr"));
    let (ipkt, ibyt, opkt, obyt) = (col("ipkt"), col("ibyt"), col("opkt"), col("obyt"));
    let mut rows = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != header.len() {
            break; // the summary follows the records
        }
        let n = |i: usize| f[i].trim().parse::<u64>().unwrap();
        rows.push((
            f[sa].trim().parse().unwrap(),
            f[da].trim().parse().unwrap(),
            n(sp) as u16,
            n(dp) as u16,
            f[pr].trim().to_string(),
            n(ipkt),
            n(ibyt),
            n(opkt),
            n(obyt),
        ));
    }
    rows.sort();
    rows
}

/// The decoder's flow lines (those with a `proto`).
fn flows(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l.get("proto").is_some()).collect()
}

/// What nfdump must show for the decoder's flows: per direction, or biflows whose source
/// is the initiator. Octets are the payload plus 20 (IPv4) or 40 (IPv6) bytes per packet.
fn expected_rows(lines: &[Value], biflow: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for flow in flows(lines) {
        let ip = flow["ip"].as_u64().unwrap();
        let header = if ip == 4 { 20 } else { 40 };
        let proto = match (flow["proto"].as_str().unwrap(), ip) {
            ("tcp", _) => "TCP",
            ("udp", _) => "UDP",
            ("icmp", 4) => "ICMP",
            ("icmp", _) => "ICMP6",
            (other, _) => panic!("protocol {other}"),
        };
        let local: IpAddr = flow["local"].as_str().unwrap().parse().unwrap();
        let remote: IpAddr = flow["remote"].as_str().unwrap().parse().unwrap();
        let lp = flow["local_port"].as_u64().unwrap() as u16;
        let rp = flow["remote_port"].as_u64().unwrap() as u16;
        let count = |k: &str| flow[k].as_u64().unwrap();
        let out = (
            count("packets_out"),
            count("bytes_out") + header * count("packets_out"),
        );
        let inn = (
            count("packets_in"),
            count("bytes_in") + header * count("packets_in"),
        );
        let outbound = (local, remote, lp, rp);
        let inbound = (remote, local, rp, lp);
        let row = |(s, d, sp, dp): (IpAddr, IpAddr, u16, u16), f: (u64, u64), r: (u64, u64)| {
            (s, d, sp, dp, proto.to_string(), f.0, f.1, r.0, r.1)
        };
        if biflow {
            if flow["initiator"] == "local" {
                rows.push(row(outbound, out, inn));
            } else {
                rows.push(row(inbound, inn, out));
            }
            continue;
        }
        if out.0 > 0 {
            rows.push(row(outbound, out, (0, 0)));
        }
        if inn.0 > 0 {
            rows.push(row(inbound, inn, (0, 0)));
        }
    }
    rows.sort();
    rows
}

fn ipfix_round_trip(biflow: bool) {
    ipfix_round_trip_of(&DEMO, biflow);
}

fn ipfix_round_trip_of(capture: &Capture, biflow: bool) {
    let dir = Temp::new();
    let (_broker, url) = broker(&dir.0);
    let (mut nfcapd, port, flow_dir) = collector(&dir.0);
    let json = dir.0.join("gateway.json");
    let feed = dir.0.join("feed.netset");
    std::fs::write(&feed, "# the demo's peer\n192.0.2.2\n").unwrap();
    let collector = format!("127.0.0.1:{port}");
    let mut args = vec![
        "--ipfix",
        &collector,
        "--exit-idle",
        "3",
        "--json",
        json.to_str().unwrap(),
        "--feed",
        feed.to_str().unwrap(),
    ];
    if biflow {
        args.push("--biflow");
    }
    let (mut gw, log) = gateway(&dir.0, "gateway", &url, &args);
    let decoded = replay(&url, capture);
    assert!(gw.wait_exit(Duration::from_secs(60)).success());
    nfcapd.terminate();

    // The header sequence numbers count data records as the collector expects.
    let nfcapd_log = read(&dir.0.join("nfcapd.log"));
    assert!(nfcapd_log.contains("Sequence Errors: 0"), "{nfcapd_log}");
    let expected = expected_rows(&decoded, biflow);
    assert!(expected.len() >= capture.least_rows, "{expected:?}");
    let largest = flows(&decoded)
        .iter()
        .flat_map(|f| [&f["bytes_in"], &f["bytes_out"]])
        .filter_map(Value::as_u64)
        .max()
        .unwrap_or(0);
    assert!(
        largest >= capture.least_flow_bytes,
        "largest flow {largest} B"
    );
    assert_eq!(nfdump_rows(&flow_dir), expected);

    let counters = final_counters(&log);
    // Every message has at least one line, each with its sequence number.
    let messages = decoded
        .iter()
        .filter_map(|l| l["seq"].as_u64())
        .collect::<BTreeSet<_>>()
        .len() as u64;
    assert_eq!(counters["messages"], messages);
    assert_eq!(counters["processed"], messages);
    assert_eq!(counters["records"], flows(&decoded).len() as u64);
    assert_eq!(counters["ipfix_records"], expected.len() as u64);
    assert_eq!(counters["decode_errors"], 0);
    assert_eq!(counters["gaps"] + counters["duplicates"], 0);

    // The gateway's JSON lines are the decoder's, with the device id first, plus one
    // fleet indicator alert per flow to the listed peer.
    let lines = json_lines(&read(&json));
    let (summary, lines): (Vec<Value>, Vec<Value>) =
        lines.into_iter().partition(|l| l["event"] == "device");
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["device"], "dev-1");
    assert_eq!(summary[0]["messages"], messages);
    let (alerts, rest): (Vec<&Value>, Vec<&Value>) =
        lines.iter().partition(|l| l["origin"] == "gateway");
    let stripped: Vec<Value> = rest
        .iter()
        .map(|l| {
            let mut object = l.as_object().unwrap().clone();
            assert_eq!(object.shift_remove("device").unwrap(), "dev-1");
            Value::Object(object)
        })
        .collect();
    let decoded_events: Vec<Value> = decoded
        .iter()
        .filter(|l| l.get("summary").is_none())
        .cloned()
        .collect();
    assert_eq!(stripped, decoded_events);
    let to_peer = flows(&decoded)
        .iter()
        .filter(|f| f["remote"] == "192.0.2.2")
        .count();
    assert!(to_peer > 0, "both captures talk to 192.0.2.2");
    assert_eq!(alerts.len(), to_peer);
    assert_eq!(counters["fleet_alerts"], to_peer as u64);
    for alert in alerts {
        assert_eq!(alert["event"], "alert");
        assert_eq!(alert["kind"], "indicator");
        assert_eq!(alert["rule"], 1);
        assert_eq!(alert["remote"], "192.0.2.2");
    }
}

#[test]
#[ignore = "needs mosquitto, nfdump and the host build: scripts/test fleet"]
fn ipfix_per_direction_equals_the_decoder() {
    ipfix_round_trip(false);
}

/// The fragmented capture: a datagram's later fragments are in its flow's packets and
/// octets, on the device and in the collector alike.
#[test]
#[ignore = "needs mosquitto, nfdump and the host build: scripts/test fleet"]
fn ipfix_of_a_fragmented_capture_equals_the_decoder() {
    ipfix_round_trip_of(&FRAGMENTED, false);
}

#[test]
#[ignore = "needs mosquitto, nfdump and the host build: scripts/test fleet"]
fn ipfix_biflow_read_back_by_nfdump() {
    ipfix_round_trip(true);
}

fn heartbeat_message(sequence: u32) -> Vec<u8> {
    encode(&Message {
        format: nxsm_decode::FORMAT,
        module: nxsm_decode::MODULE.into(),
        module_version: 1 << 16,
        sequence,
        time: 1_700_000_000 + sequence,
        events: vec![Event::Heartbeat(Heartbeat {
            uptime_s: sequence,
            ..Heartbeat::default()
        })],
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn publish(url: &str, device: &str, file: &Path) {
    let status = Command::new(GATEWAY)
        .args(["publish", "--mqtt", url, "--device-id", device])
        .arg(file)
        .status()
        .unwrap();
    assert!(status.success(), "publish failed");
}

#[test]
#[ignore = "needs mosquitto: scripts/test fleet"]
fn shared_subscription_splits_without_loss_or_copies() {
    const N: u32 = 60;
    let dir = Temp::new();
    let (_broker, url) = broker(&dir.0);
    let input = dir.0.join("messages.hex");
    let mut file = File::create(&input).unwrap();
    for sequence in 0..N {
        writeln!(file, "{}", hex(&heartbeat_message(sequence))).unwrap();
    }
    drop(file);
    let mut members = Vec::new();
    for name in ["a", "b"] {
        let json = dir.0.join(format!("{name}.json"));
        let (gw, log) = gateway(
            &dir.0,
            name,
            &url,
            &[
                "--share",
                "fleet",
                "--exit-idle",
                "3",
                "--json",
                json.to_str().unwrap(),
            ],
        );
        members.push((gw, log, json));
    }
    publish(&url, "dev-s", &input);
    let mut total = 0;
    let mut seen = BTreeSet::new();
    for (mut gw, log, json) in members {
        assert!(gw.wait_exit(Duration::from_secs(60)).success());
        let counters = final_counters(&log);
        assert!(counters["processed"] > 0, "each member got a share");
        assert_eq!(counters["duplicates"] + counters["decode_errors"], 0);
        total += counters["processed"];
        for line in json_lines(&read(&json)) {
            if line["event"] == "heartbeat" {
                assert!(seen.insert(line["seq"].as_u64().unwrap()), "a copy: {line}");
            }
        }
    }
    assert_eq!(total, u64::from(N));
    assert_eq!(seen, (0..u64::from(N)).collect());
}

#[test]
#[ignore = "needs mosquitto: scripts/test fleet"]
fn gap_duplicate_and_corrupt_message_are_counted() {
    let dir = Temp::new();
    let (_broker, url) = broker(&dir.0);
    let input = dir.0.join("messages.hex");
    let text = [
        hex(&heartbeat_message(0)),
        hex(&heartbeat_message(1)),
        hex(&heartbeat_message(1)), // a copy, as after a reconnect
        hex(&heartbeat_message(4)), // 2 and 3 never arrive
        "deadbeef".to_string(),     // not a message
    ]
    .join("\n");
    std::fs::write(&input, text).unwrap();
    let json = dir.0.join("gateway.json");
    let (mut gw, log) = gateway(
        &dir.0,
        "gateway",
        &url,
        &["--exit-idle", "3", "--json", json.to_str().unwrap()],
    );
    publish(&url, "dev-g", &input);
    assert!(gw.wait_exit(Duration::from_secs(60)).success());
    let c = final_counters(&log);
    assert_eq!(
        (
            c["messages"],
            c["processed"],
            c["duplicates"],
            c["gaps"],
            c["decode_errors"],
            c["devices"]
        ),
        (5, 3, 1, 2, 1, 1)
    );
    let lines = json_lines(&read(&json));
    let gap = lines.iter().find(|l| l["event"] == "gap").unwrap();
    assert_eq!(
        (gap["missing"].as_u64(), gap["seq"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(gap["device"], "dev-g");
    assert!(lines.iter().any(|l| l["event"] == "decode_error"));
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "needs mosquitto and openssl: scripts/test fleet"]
fn tls_and_password() {
    let dir = Temp::new();
    let d = &dir.0;
    // mosquitto started as root reads its files as the mosquitto user.
    run("chmod", &["755", d.to_str().unwrap()], d);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=nxsm-test-ca",
    ]);
    run("openssl", &ca, d);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run("openssl", &csr, d);
    std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
        d,
    );
    std::fs::write(d.join("passwords"), "").unwrap();
    run("mosquitto_passwd", &["-b", "passwords", "gw", "s3cret"], d);
    run("chmod", &["644", "passwords", "server.key"], d);
    std::fs::write(d.join("password.txt"), "s3cret\n").unwrap();
    std::fs::write(d.join("wrong.txt"), "nope\n").unwrap();

    let port = free_tcp_port();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    std::fs::write(
        d.join("mosquitto.conf"),
        format!(
            "listener {port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n\
             allow_anonymous false\npassword_file {}\npersistence false\n",
            p("ca.pem"),
            p("server.pem"),
            p("server.key"),
            p("passwords")
        ),
    )
    .unwrap();
    let log = File::create(d.join("mosquitto.log")).unwrap();
    let _broker = Guard(
        Command::new("mosquitto")
            .arg("-c")
            .arg(d.join("mosquitto.conf"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_until("mosquitto", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let url = format!("mqtts://127.0.0.1:{port}");
    let (ca, password) = (p("ca.pem"), p("password.txt"));
    let auth = [
        "--ca",
        &ca,
        "--username",
        "gw",
        "--password-file",
        &password,
    ];
    let mut args = vec!["--exit-idle", "3"];
    args.extend(auth);
    let (mut gw, log) = gateway(d, "gateway", &url, &args);
    let input = d.join("messages.hex");
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n",
            hex(&heartbeat_message(0)),
            hex(&heartbeat_message(1))
        ),
    )
    .unwrap();
    let publish = |extra: &[&str]| {
        Command::new(GATEWAY)
            .args(["publish", "--mqtt", &url, "--device-id", "dev-t"])
            .args(extra)
            .arg(&input)
            .output()
            .unwrap()
    };
    assert!(publish(&auth).status.success());
    assert!(gw.wait_exit(Duration::from_secs(60)).success());
    assert_eq!(final_counters(&log)["processed"], 2);

    // A wrong password and an untrusted server certificate are refused.
    let wrong = p("wrong.txt");
    let refused = publish(&["--ca", &ca, "--username", "gw", "--password-file", &wrong]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("NotAuthorized"));
    let server = p("server.pem");
    let untrusted = publish(&[
        "--ca",
        &server,
        "--username",
        "gw",
        "--password-file",
        &password,
    ]);
    assert!(!untrusted.status.success());
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("UnknownIssuer"));
    // A gateway that never gets in exits with an error, not as an idle success.
    let status = Command::new(GATEWAY)
        .args(["--mqtt", &url, "--exit-idle", "2", "--stats", "0"])
        .args(["--ca", &ca, "--username", "gw", "--password-file", &wrong])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}

#[test]
#[ignore = "needs mosquitto: scripts/test fleet"]
fn reconnects_and_subscribes_again_after_a_broker_restart() {
    let dir = Temp::new();
    let port = free_tcp_port();
    let (first, url) = broker_on(&dir.0, port);
    let input = dir.0.join("messages.hex");
    std::fs::write(&input, format!("{}\n", hex(&heartbeat_message(0)))).unwrap();
    let (mut gw, log) = gateway(&dir.0, "gateway", &url, &["--exit-idle", "6"]);
    publish(&url, "dev-r", &input);
    drop(first); // the broker goes away, with the gateway's session
    wait_until("the lost connection", Duration::from_secs(10), || {
        read(&log).contains("connection:")
    });
    let (_second, _) = broker_on(&dir.0, port);
    wait_until("the second subscription", Duration::from_secs(15), || {
        read(&log).matches("subscribed to").count() == 2
    });
    std::fs::write(&input, format!("{}\n", hex(&heartbeat_message(1)))).unwrap();
    publish(&url, "dev-r", &input);
    assert!(gw.wait_exit(Duration::from_secs(60)).success());
    let c = final_counters(&log);
    assert_eq!((c["processed"], c["gaps"]), (2, 0));
    assert!(c["connection_errors"] >= 1);
}

#[test]
#[ignore = "needs mosquitto: scripts/test fleet"]
fn load_many_devices_with_latency_split_over_two_gateways() {
    const DEVICES: u32 = 50;
    const MESSAGES: u32 = 8;
    let dir = Temp::new();
    let (_broker, url) = broker(&dir.0);
    let devices = dir.0.join("devices");
    std::fs::create_dir(&devices).unwrap();
    for d in 0..DEVICES {
        let mut file = File::create(devices.join(format!("dev-{d:03}.hex"))).unwrap();
        for sequence in 0..MESSAGES {
            writeln!(file, "{}", hex(&heartbeat_message(sequence))).unwrap();
        }
    }
    let mut members = Vec::new();
    for name in ["a", "b"] {
        let json = dir.0.join(format!("{name}.json"));
        let (gw, log) = gateway(
            &dir.0,
            name,
            &url,
            &[
                "--share",
                "load",
                "--latency",
                "--exit-idle",
                "3",
                "--json",
                json.to_str().unwrap(),
            ],
        );
        members.push((gw, log, json));
    }
    let out = Command::new(GATEWAY)
        .args(["load", "--mqtt", &url, "--connections", "4"])
        .arg(&devices)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "load failed: {text}");
    let total = DEVICES * MESSAGES;
    assert!(
        text.contains(&format!("published={total} acked={total} errors=0")),
        "{text}"
    );
    let mut processed = 0;
    let mut seen = BTreeSet::new();
    for (mut gw, log, json) in members {
        assert!(gw.wait_exit(Duration::from_secs(60)).success());
        let counters = final_counters(&log);
        assert!(counters["processed"] > 0, "each member got a share");
        assert_eq!(counters["duplicates"] + counters["decode_errors"], 0);
        // Every message carried the publisher's stamp, on one clock.
        assert_eq!(counters["latency_samples"], counters["messages"]);
        assert_eq!(counters["latency_ahead"], 0);
        assert!(counters["latency_p50_us"] <= counters["latency_p99_us"]);
        processed += counters["processed"];
        for line in json_lines(&read(&json)) {
            if line["event"] == "heartbeat" {
                let key = (line["device"].to_string(), line["seq"].as_u64().unwrap());
                assert!(seen.insert(key), "a copy: {line}");
            }
        }
    }
    assert_eq!(processed, u64::from(total));
    assert_eq!(seen.len(), total as usize);
}
