//! The `nxsm-policy` binary run as a process: compile, report, `--check`, errors, exit
//! status.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nx_security_module::testing::policy::{check, Policy};

const BIN: &str = env!("CARGO_BIN_EXE_nxsm-policy");

/// A folder of its own under the system's temporary folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("nxsm-policy-cli-{}-{name}", std::process::id()));
        fs::create_dir_all(path.join("feeds")).unwrap();
        Folder(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&Path]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run nxsm-policy")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

const POLICY: &str = r#"{"indicators": {"cidrs": ["198.51.100.7/32", "2001:db8:bad::/48"],
    "feeds": ["feeds/drop.json"]},
  "outbound_allowed": ["192.0.2.0/24"],
  "inbound_ports_allowed": {"tcp": [8080, 22, 8080]},
  "block": ["indicator", "inbound_port_not_allowed"]}"#;

const DROP: &str = "{\"cidr\": \"203.0.113.1/24\", \"sblid\": \"SBL1\", \"rir\": \"lacnic\"}\n\
                    {\"type\": \"metadata\", \"records\": 1}\n";

fn setup(name: &str) -> (Folder, PathBuf, PathBuf) {
    let folder = Folder::new(name);
    folder.write("feeds/drop.json", DROP);
    let policy = folder.write("policy.json", POLICY);
    let blob = folder.path("policy.bin");
    (folder, policy, blob)
}

#[test]
fn compiles_with_a_text_report_on_stderr() {
    let (_folder, policy, blob) = setup("text");
    let output = run(&[&policy, Path::new("-o"), &blob]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
    let report = text(&output.stderr);
    for line in [
        "source 0: indicators.cidrs: 2 entries, 0 skipped, 0 comment lines, 0 normalized",
        "source 1: feeds/drop.json: 1 entries, 1 skipped, 0 comment lines, 1 normalized",
        "indicators_v4: 2 ranges -> 2 after merging",
        "skipped lines: 1, normalized entries: 1",
        "flags: BLOCK_INDICATOR BLOCK_INBOUND_PORT OUTBOUND_ALLOWED INBOUND_TCP",
    ] {
        assert!(report.contains(line), "`{report}` lacks `{line}`");
    }
    let bytes = fs::read(&blob).unwrap();
    assert!(report.contains(&format!("blob: {} bytes, crc32 0x", bytes.len())));
    let layout = check(&bytes[..], bytes.len()).unwrap();
    let policy = Policy::new(&bytes[..], &layout);
    assert_eq!(policy.indicator_v4(0xCB00_7163), Some(1));
    assert!(policy.inbound_allowed(true, 22) && !policy.inbound_allowed(true, 23));
    assert!(policy.inbound_allowed(false, 23));
}

#[test]
fn json_report_on_stdout() {
    let (_folder, policy, blob) = setup("json");
    let output = run(&[&policy, Path::new("--json"), Path::new("-o"), &blob]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let bytes = fs::read(&blob).unwrap();
    assert_eq!(report["bytes"], bytes.len());
    assert_eq!(report["skipped"], 1);
    assert_eq!(report["normalized"], 1);
    assert_eq!(report["sources"][1]["name"], "feeds/drop.json");
    assert_eq!(report["lists"][1]["list"], "indicators_v6");
    assert_eq!(report["lists"][1]["after"], 1);
    let crc = u32::from_le_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(report["crc32"], format!("0x{crc:08X}").as_str());
}

#[test]
fn check_prints_a_blob_and_refuses_a_bad_one() {
    let (folder, policy, blob) = setup("check");
    assert!(run(&[&policy, Path::new("-o"), &blob]).status.success());
    let output = run(&[Path::new("--check"), &blob]);
    assert!(output.status.success());
    let printed = text(&output.stdout);
    for line in [
        "flags: 0x035 BLOCK_INDICATOR BLOCK_INBOUND_PORT OUTBOUND_ALLOWED INBOUND_TCP\n",
        "sources: 2\n",
        "connections: no rule\n",
        "indicators v4: 2 ranges\n  198.51.100.7/32  source 0\n  203.0.113.0/24  source 1\n",
        "indicators v6: 1 ranges\n  2001:db8:bad::/48  source 0\n",
        "outbound allowed v4: 1 ranges\n  192.0.2.0/24\noutbound allowed v6: 0 ranges\n",
        "inbound tcp ports: 22 8080\n",
        "inbound udp ports: any (no rule)\n",
    ] {
        assert!(printed.contains(line), "`{printed}` lacks `{line}`");
    }

    let mut bytes = fs::read(&blob).unwrap();
    bytes[60] ^= 0x80;
    let broken = folder.path("broken.bin");
    fs::write(&broken, &bytes).unwrap();
    let output = run(&[Path::new("--check"), &broken]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("NXSM_ERR_POLICY_CHECKSUM (17)"));
    fs::write(&broken, &bytes[..52]).unwrap();
    let output = run(&[Path::new("--check"), &broken]);
    assert!(text(&output.stderr).contains("NXSM_ERR_POLICY_TRUNCATED (14)"));
}

#[test]
fn bad_policies_and_command_lines() {
    let folder = Folder::new("bad");
    folder.write("feeds/x.netset", "192.0.2.0/24\nnot-an-address\n");
    let policy = folder.write(
        "policy.json",
        r#"{"indicators": {"feeds": ["feeds/x.netset"]}}"#,
    );
    let blob = folder.path("out.bin");
    let output = run(&[&policy, Path::new("-o"), &blob]);
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output.stderr);
    assert!(message.contains("x.netset:2: "), "{message}");
    assert!(message.contains("`not-an-address`"), "{message}");
    assert!(!blob.exists(), "no blob is written for a bad policy");

    assert_eq!(run(&[&policy]).status.code(), Some(2));
    assert_eq!(run(&[Path::new("--bogus")]).status.code(), Some(2));
    assert_eq!(run(&[]).status.code(), Some(2));
    let help = run(&[Path::new("--help")]);
    assert!(help.status.success());
    let help = text(&help.stdout);
    for part in [
        "usage: nxsm-policy POLICY.json -o BLOB",
        "indicators.feeds",
        "DROP JSON",
    ] {
        assert!(help.contains(part), "{part}");
    }
}

/// A decoded message holding a baseline event, as `nxsm-decode` prints it.
const DECODED_BASELINE: &str = r#"{"format":2,"module":"nxsm","module_version":"0.2.0","sequence":5,"time":1700003600,"events":[{"event":"baseline","started":1700000000,"duration_s":3600,"end":1700003600,"applied":true,"policy":"0x1234abcd","overflow":0,"outbound":["203.0.113.0/24","2001:db8:0:1::/64"],"inbound":{"tcp":[8080],"udp":[5353]}}]}"#;

#[test]
fn from_baseline_writes_a_policy_that_compiles() {
    let (folder, base, _) = setup("from-baseline");
    fs::create_dir_all(folder.path("learned")).unwrap();
    let baseline = folder.write("baseline.json", DECODED_BASELINE);
    let learned = folder.path("learned/policy.json");
    let output = run(&[
        Path::new("--from-baseline"),
        &baseline,
        Path::new("-o"),
        &learned,
        Path::new("--base"),
        &base,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = text(&output.stderr);
    assert!(
        report.contains("2 outbound networks, 1 TCP and 1 UDP ports from"),
        "{report}"
    );
    assert!(report.contains("(compiles: "), "{report}");
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&learned).unwrap()).unwrap();
    assert_eq!(
        written,
        serde_json::json!({
            "indicators": {"cidrs": ["198.51.100.7/32", "2001:db8:bad::/48"],
                           "feeds": ["../feeds/drop.json"]},
            "outbound_allowed": ["203.0.113.0/24", "2001:db8:0:1::/64"],
            "inbound_ports_allowed": {"tcp": [8080], "udp": [5353]},
            "block": ["indicator", "inbound_port_not_allowed"],
        })
    );

    // The file compiles with nxsm-policy itself, and the blob allows what was learned.
    let blob = folder.path("learned.bin");
    let output = run(&[&learned, Path::new("-o"), &blob]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let bytes = fs::read(&blob).unwrap();
    let layout = check(&bytes[..], bytes.len()).unwrap();
    let policy = Policy::new(&bytes[..], &layout);
    assert!(policy.outbound_allowed_v4(0xCB00_7101));
    assert!(
        !policy.outbound_allowed_v4(0xC000_0201),
        "192.0.2.1: the base's, replaced"
    );
    assert!(policy.outbound_allowed_v6(0x2001_0db8_0000_0001_0000_0000_0000_0042));
    assert!(!policy.outbound_allowed_v6(0x2001_0db8_0000_0002_0000_0000_0000_0000));
    assert!(policy.inbound_allowed(true, 8080) && !policy.inbound_allowed(true, 22));
    assert!(policy.inbound_allowed(false, 5353) && !policy.inbound_allowed(false, 53));
    assert_eq!(policy.indicator_v4(0xC633_6407), Some(0));
    assert_eq!(
        policy.indicator_v4(0xCB00_7163),
        Some(1),
        "the base's feed, rebased"
    );

    // A replay line alone, no base.
    let line = folder.write(
        "line.json",
        r#"{"t":1700003600,"event":"baseline","started":1700000000,"duration_s":3600,"end":1700003600,"applied":false,"policy":"0x00000000","overflow":1,"outbound":["203.0.113.0/24"],"inbound":{"tcp":[],"udp":[5353]},"seq":5}"#,
    );
    let alone = folder.path("alone.json");
    let output = run(&[Path::new("--from-baseline"), &line, Path::new("-o"), &alone]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = run(&[&alone, Path::new("-o"), &blob]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let bytes = fs::read(&blob).unwrap();
    let layout = check(&bytes[..], bytes.len()).unwrap();
    let policy = Policy::new(&bytes[..], &layout);
    assert!(
        !policy.inbound_allowed(true, 8080),
        "an empty TCP list allows nothing"
    );
    assert!(policy.inbound_allowed(false, 5353));
}

#[test]
fn from_baseline_errors() {
    let folder = Folder::new("from-baseline-errors");
    let heartbeat = folder.write("heartbeat.json", r#"{"event":"heartbeat"}"#);
    let out = folder.path("out.json");
    let output = run(&[
        Path::new("--from-baseline"),
        &heartbeat,
        Path::new("-o"),
        &out,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no baseline event"));
    assert!(!out.exists(), "nothing is written for a bad baseline");
    let baseline = folder.write("baseline.json", DECODED_BASELINE);
    // Command lines: -o missing, --base without --from-baseline, --json or a policy with it.
    for args in [
        vec![Path::new("--from-baseline"), &baseline],
        vec![Path::new("--base"), &baseline, Path::new("-o"), &out],
        vec![
            Path::new("--from-baseline"),
            &baseline,
            Path::new("-o"),
            &out,
            Path::new("--json"),
        ],
        vec![
            Path::new("--from-baseline"),
            &baseline,
            &baseline,
            Path::new("-o"),
            &out,
        ],
    ] {
        assert_eq!(run(&args).status.code(), Some(2), "{args:?}");
    }
    let help = text(&run(&[Path::new("--help")]).stdout);
    assert!(help.contains("--from-baseline BASELINE.json -o POLICY.json [--base POLICY.json]"));
    assert!(help.contains("--base P"));
}
