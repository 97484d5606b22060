//! The compiler against the core's reader: every blob is checked and looked up through
//! `nx_security_module::testing::policy`, with feed files written to a temporary folder.

use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use nx_security_module::testing::policy::{check, flag, Layout, Policy, PolicyError};

use super::*;

/// A folder of its own under the system's temporary folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "nxsm-policy-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(path.join("feeds")).unwrap();
        Folder(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    /// Writes `policy.json` and compiles it.
    fn compile(&self, policy: &str) -> Result<Compiled, Error> {
        compile(&self.write("policy.json", policy))
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn v4(text: &str) -> u32 {
    u32::from(text.parse::<Ipv4Addr>().unwrap())
}

fn v6(text: &str) -> u128 {
    u128::from(text.parse::<Ipv6Addr>().unwrap())
}

fn layout(blob: &[u8]) -> Layout {
    check(blob, blob.len()).expect("the core accepts every blob written")
}

const EXAMPLE: &str = r#"{"indicators": {"cidrs": ["198.51.100.7/32", "2001:db8:bad::/48"],
    "feeds": ["feeds/level1.netset"]},
  "outbound_allowed": ["10.0.0.0/8", "fd00::/8"],
  "inbound_ports_allowed": {"tcp": [8080], "udp": [5353]},
  "connections": {"min": 0, "max": 20},
  "block": ["indicator"]}"#;

const LEVEL1: &str = "\
# FireHOL level1 (test copy)
203.0.113.0/24
192.0.2.128/25 # a comment
2001:db8:beef::/48
";

#[test]
fn the_example_policy_compiles_and_every_lookup_answers() {
    let folder = Folder::new("example");
    folder.write("feeds/level1.netset", LEVEL1);
    let compiled = folder.compile(EXAMPLE).unwrap();
    let blob = &compiled.blob[..];
    let layout = layout(blob);
    let policy = Policy::new(blob, &layout);

    assert_eq!(
        policy.flags(),
        flag::BLOCK_INDICATOR
            | flag::OUTBOUND_ALLOWED
            | flag::INBOUND_TCP
            | flag::INBOUND_UDP
            | flag::CONNECTIONS
    );
    assert_eq!(policy.indicator_v4(v4("198.51.100.7")), Some(0));
    assert_eq!(policy.indicator_v4(v4("198.51.100.6")), None);
    assert_eq!(policy.indicator_v4(v4("198.51.100.8")), None);
    assert_eq!(policy.indicator_v4(v4("203.0.113.0")), Some(1));
    assert_eq!(policy.indicator_v4(v4("203.0.113.255")), Some(1));
    assert_eq!(policy.indicator_v4(v4("192.0.2.200")), Some(1));
    assert_eq!(policy.indicator_v4(v4("192.0.2.127")), None);
    assert_eq!(policy.indicator_v6(v6("2001:db8:bad::1")), Some(0));
    assert_eq!(policy.indicator_v6(v6("2001:db8:bad:ffff::1")), Some(0));
    assert_eq!(policy.indicator_v6(v6("2001:db8:bae::")), None);
    assert_eq!(policy.indicator_v6(v6("2001:db8:beef::42")), Some(1));

    assert!(policy.outbound_allowed_v4(v4("10.1.2.3")));
    assert!(!policy.outbound_allowed_v4(v4("11.0.0.0")));
    assert!(!policy.outbound_allowed_v4(v4("198.51.100.7")));
    assert!(policy.outbound_allowed_v6(v6("fd12::1")));
    assert!(!policy.outbound_allowed_v6(v6("fe80::1")));

    assert!(policy.inbound_allowed(true, 8080));
    assert!(!policy.inbound_allowed(true, 80));
    assert!(!policy.inbound_allowed(true, 5353));
    assert!(policy.inbound_allowed(false, 5353));
    assert!(!policy.inbound_allowed(false, 53));
    assert_eq!(policy.connections(), Some((0, 20)));
    assert_eq!(policy.counts(), [3, 2, 1, 1, 1, 1]);
    assert_eq!(policy.crc32(), compiled.report.crc32);

    let report = &compiled.report;
    assert_eq!(report.bytes, blob.len());
    assert_eq!(report.sources.len(), 2);
    assert_eq!(report.sources[0].name, "indicators.cidrs");
    assert_eq!(report.sources[0].entries, 2);
    assert_eq!(report.sources[1].name, "feeds/level1.netset");
    assert_eq!(
        (report.sources[1].entries, report.sources[1].comments),
        (3, 1)
    );
    assert_eq!(report.skipped, 0);
    assert_eq!(report.normalized, 0);
}

#[test]
fn an_empty_policy_has_no_rules_and_allows_everything() {
    let folder = Folder::new("empty");
    let compiled = folder.compile("{}").unwrap();
    assert_eq!(compiled.blob.len(), HEADER_BYTES_FOR_TESTS);
    let layout = layout(&compiled.blob);
    let policy = Policy::new(&compiled.blob[..], &layout);
    assert_eq!(policy.flags(), 0);
    assert_eq!(policy.connections(), None);
    assert!(policy.outbound_allowed_v4(v4("192.0.2.1")));
    assert!(policy.inbound_allowed(true, 1));
    assert_eq!(describe(&compiled.blob).unwrap().sources, 1);
}

const HEADER_BYTES_FOR_TESTS: usize = nx_security_module::testing::policy::HEADER_BYTES;

#[test]
fn an_empty_allow_list_allows_nothing_and_connections_default_max() {
    let folder = Folder::new("empty-allow");
    let compiled = folder
        .compile(r#"{"outbound_allowed": [], "connections": {"min": 3}, "inbound_ports_allowed": {"udp": []}}"#)
        .unwrap();
    let layout = layout(&compiled.blob);
    let policy = Policy::new(&compiled.blob[..], &layout);
    assert!(!policy.outbound_allowed_v4(v4("192.0.2.1")));
    assert!(!policy.outbound_allowed_v6(v6("2001:db8::1")));
    assert_eq!(policy.connections(), Some((3, u32::MAX)));
    assert!(policy.inbound_allowed(true, 22));
    assert!(!policy.inbound_allowed(false, 22));
}

#[test]
fn netset_comments_trailing_text_and_host_bits() {
    let folder = Folder::new("netset");
    folder.write(
        "feeds/list.netset",
        "# FireHOL style\r\n; semicolon comment\r\n\r\n192.0.2.7/24   \r\n\
         198.51.100.1 # trailing comment\n203.0.113.9/30;SBL1\n\
         2001:db8::1/32\tcomment after a tab\n   \n",
    );
    let compiled = folder
        .compile(r#"{"indicators": {"feeds": ["feeds/list.netset"]}}"#)
        .unwrap();
    let source = &compiled.report.sources[1];
    assert_eq!(
        (
            source.entries,
            source.comments,
            source.normalized,
            source.skipped
        ),
        (4, 4, 3, 0)
    );
    assert_eq!(compiled.report.normalized, 3);
    let description = describe(&compiled.blob).unwrap();
    let texts: Vec<String> = description
        .indicators_v4
        .iter()
        .map(|(range, source)| format!("{range} {source}"))
        .collect();
    assert_eq!(
        texts,
        ["192.0.2.0/24 1", "198.51.100.1/32 1", "203.0.113.8/30 1"]
    );
    assert_eq!(description.indicators_v6[0].0.to_string(), "2001:db8::/32");
}

#[test]
fn drop_json_lines_with_a_metadata_line() {
    let folder = Folder::new("drop");
    folder.write(
        "feeds/drop_v4.json",
        r#"{"cidr": "192.0.2.0/24", "sblid": "SBL100", "rir": "arin"}
{"cidr": "198.51.100.0/24", "sblid": "SBL101", "rir": "ripencc"}
{"type": "metadata", "timestamp": 1700000000, "size": 3, "records": 3, "copyright": "test"}
"#,
    );
    folder.write(
        "feeds/drop_v6.json",
        "{\"cidr\": \"2001:db8:1::/48\", \"sblid\": \"SBL200\", \"rir\": \"apnic\"}\n\
         {\"type\": \"metadata\", \"records\": 1}\n",
    );
    let compiled = folder
        .compile(r#"{"indicators": {"feeds": ["feeds/drop_v4.json", "feeds/drop_v6.json"]}}"#)
        .unwrap();
    let report = &compiled.report;
    assert_eq!(
        (report.sources[1].entries, report.sources[1].skipped),
        (2, 1)
    );
    assert_eq!(
        (report.sources[2].entries, report.sources[2].skipped),
        (1, 1)
    );
    assert_eq!(report.skipped, 2);
    let layout = layout(&compiled.blob);
    let policy = Policy::new(&compiled.blob[..], &layout);
    assert_eq!(policy.indicator_v4(v4("192.0.2.9")), Some(1));
    assert_eq!(policy.indicator_v4(v4("198.51.100.255")), Some(1));
    assert_eq!(policy.indicator_v6(v6("2001:db8:1:2::3")), Some(2));
    assert_eq!(describe(&compiled.blob).unwrap().sources, 3);
}

#[test]
fn merging_overlap_adjacency_containment_and_the_lowest_source() {
    let folder = Folder::new("merge");
    folder.write(
        "feeds/a.netset",
        "192.0.2.64/26\n192.0.2.128/25\n198.51.100.0/25\n203.0.113.10\n203.0.113.12\n\
         2001:db8:1::/48\n",
    );
    folder.write(
        "feeds/b.netset",
        "198.51.100.64/26\n198.51.100.100/24\n203.0.113.11\n203.0.113.21\n2001:db8::/48\n",
    );
    let compiled = folder
        .compile(
            r#"{"indicators": {"cidrs": ["192.0.2.0/25", "203.0.113.20"],
                "feeds": ["feeds/a.netset", "feeds/b.netset"]},
                "outbound_allowed": ["192.0.2.0/24", "192.0.2.0/25", "198.51.100.0/24",
                    "198.51.100.255", "2001:db8::/33", "2001:db8:8000::/33"]}"#,
        )
        .unwrap();
    let lists: Vec<(&str, usize, usize)> = compiled
        .report
        .lists
        .iter()
        .map(|l| (l.name, l.before, l.after))
        .collect();
    assert_eq!(
        lists,
        [
            ("indicators_v4", 11, 4),
            ("indicators_v6", 2, 1),
            ("allowed_v4", 4, 2),
            ("allowed_v6", 2, 1),
        ]
    );
    assert_eq!(compiled.report.normalized, 1);
    let description = describe(&compiled.blob).unwrap();
    let texts: Vec<String> = description
        .indicators_v4
        .iter()
        .map(|(range, source)| format!("{range} {source}"))
        .collect();
    assert_eq!(
        texts,
        [
            "192.0.2.0/24 0",
            "198.51.100.0/24 1",
            "203.0.113.10-203.0.113.12 1",
            "203.0.113.20/31 0",
        ]
    );
    assert_eq!(description.indicators_v6[0].0.to_string(), "2001:db8::/47");
    assert_eq!(description.indicators_v6[0].1, 1);
    let allowed = description.allowed.unwrap();
    assert_eq!(allowed.v4.len(), 2);
    assert_eq!(allowed.v6[0].to_string(), "2001:db8::/32");
}

#[test]
fn merge_at_the_ends_of_the_address_space() {
    let r = |first, last| Range { first, last };
    let merged = merge(vec![
        (r(u32::MAX, u32::MAX), 3),
        (r(0, 0), 2),
        (r(u32::MAX - 1, u32::MAX), 5),
        (r(1, 1), 4),
    ]);
    assert_eq!(merged, [(r(0, 1), 2), (r(u32::MAX - 1, u32::MAX), 3)]);
    let r6 = |first, last| Range::<u128> { first, last };
    let merged = merge(vec![(r6(0, u128::MAX), 1), (r6(u128::MAX, u128::MAX), 0)]);
    assert_eq!(merged, [(r6(0, u128::MAX), 0)]);
    assert_eq!(r(0, u32::MAX).to_string(), "0.0.0.0/0");
    assert_eq!(r6(0, u128::MAX).to_string(), "::/0");
}

#[test]
fn addresses_bare_cidr_and_ipv4_mapped() {
    let entry = parse_cidr("198.51.100.7").unwrap();
    assert_eq!(
        entry.net,
        Net::V4(Range {
            first: v4("198.51.100.7"),
            last: v4("198.51.100.7")
        })
    );
    assert!(!entry.normalized);
    let mapped = parse_cidr("::ffff:192.0.2.1/128").unwrap();
    assert!(matches!(mapped.net, Net::V6(_)));
    assert!(parse_cidr("192.0.2.0/+8").is_err());
    assert!(parse_cidr("192.0.2.0/").is_err());
    assert!(parse_cidr("192.0.2.0/33").is_err());
    assert!(parse_cidr("2001:db8::/129").is_err());
    assert!(parse_cidr("example.com").is_err());
    assert!(parse_cidr("192.0.2.1/32").is_ok());
}

/// 40 IPv4 indicator ranges and 40 allow ranges, none adjacent: both lists get an index,
/// and every lookup agrees with a scan of the ranges.
#[test]
fn more_than_32_ipv4_ranges_get_an_index_that_agrees_with_a_scan() {
    let folder = Folder::new("index");
    let mut feed = String::new();
    let mut expected: Vec<(u32, u32, u32)> = Vec::new();
    for k in 0..20u32 {
        let first = v4("192.0.2.0") + 8 * k;
        feed.push_str(&format!("{}/31\n", Ipv4Addr::from(first)));
        expected.push((first, first + 1, 1));
        let first = v4("203.0.113.0") + 4 * k + 1;
        feed.push_str(&format!("{}\n", Ipv4Addr::from(first)));
        expected.push((first, first, 1));
    }
    expected.sort_unstable();
    folder.write("feeds/many.netset", &feed);
    let allowed: Vec<String> = (0..40u32)
        .map(|k| format!("\"{}\"", Ipv4Addr::from(v4("198.51.100.0") + 3 * k)))
        .collect();
    let compiled = folder
        .compile(&format!(
            r#"{{"indicators": {{"feeds": ["feeds/many.netset"]}},
                "outbound_allowed": [{}]}}"#,
            allowed.join(", ")
        ))
        .unwrap();
    let layout = layout(&compiled.blob);
    let policy = Policy::new(&compiled.blob[..], &layout);
    assert_ne!(policy.flags() & flag::INDICATORS_V4_INDEX, 0);
    assert_ne!(policy.flags() & flag::ALLOWED_V4_INDEX, 0);
    assert!(compiled.report.lists[0].indexed && compiled.report.lists[2].indexed);
    assert_eq!(policy.counts()[0], 40);
    assert_eq!(policy.counts()[2], 40);

    let mut addresses: Vec<u32> = Vec::new();
    for net in ["192.0.2.0", "198.51.100.0", "203.0.113.0"] {
        let base = v4(net);
        addresses.extend((0..256).map(|i| base + i));
        addresses.extend([base - 1, base + 256]);
    }
    addresses.extend([0, 1, u32::MAX, u32::MAX - 1, v4("10.0.0.1")]);
    for address in addresses {
        let scan = expected
            .iter()
            .find(|&&(first, last, _)| first <= address && address <= last)
            .map(|&(_, _, source)| source);
        assert_eq!(
            policy.indicator_v4(address),
            scan,
            "{}",
            Ipv4Addr::from(address)
        );
        let allowed_scan = (0..40u32).any(|k| v4("198.51.100.0") + 3 * k == address);
        assert_eq!(policy.outbound_allowed_v4(address), allowed_scan);
    }
}

#[test]
fn thirty_two_ranges_get_no_index() {
    let folder = Folder::new("no-index");
    let cidrs: Vec<String> = (0..32u32)
        .map(|k| format!("\"{}\"", Ipv4Addr::from(v4("192.0.2.0") + 2 * k)))
        .collect();
    let compiled = folder
        .compile(&format!(
            r#"{{"indicators": {{"cidrs": [{}]}}}}"#,
            cidrs.join(",")
        ))
        .unwrap();
    assert_eq!(compiled.report.flags & flag::INDICATORS_V4_INDEX, 0);
    assert!(!compiled.report.lists[0].indexed);
}

fn error(folder: &Folder, policy: &str) -> String {
    match folder.compile(policy) {
        Ok(_) => panic!("{policy} compiled"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn every_error_names_what_is_wrong() {
    let folder = Folder::new("errors");
    folder.write(
        "feeds/bad.netset",
        "# fine so far\n192.0.2.0/24\n192.0.2.300/24 # oops\n",
    );
    folder.write(
        "feeds/bad.json",
        "{\"cidr\": \"192.0.2.0/24\"}\n{\"cidr\": 7}\n",
    );
    folder.write("feeds/torn.json", "{\"cidr\": \"192.0.2.0/24\"\n");
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{"colour": 1}"#,
            &["policy.json: ", "unknown key `colour`"],
        ),
        (
            r#"{"indicators": {"url": "x"}}"#,
            &["unknown key `indicators.url`"],
        ),
        (
            r#"{"inbound_ports_allowed": {"sctp": [1]}}"#,
            &["unknown key `inbound_ports_allowed.sctp`"],
        ),
        (
            r#"{"connections": {"average": 1}}"#,
            &["unknown key `connections.average`"],
        ),
        (
            r#"{"indicators": {"feeds": ["feeds/bad.netset"]}}"#,
            &[
                "bad.netset:3: ",
                "`192.0.2.300/24 # oops`",
                "not an IP address",
            ],
        ),
        (
            r#"{"indicators": {"feeds": ["feeds/bad.json"]}}"#,
            &["bad.json:2: ", "`cidr` is not a string"],
        ),
        (
            r#"{"indicators": {"feeds": ["feeds/torn.json"]}}"#,
            &["torn.json:1: ", "not a DROP JSON line"],
        ),
        (
            r#"{"indicators": {"feeds": ["feeds/missing.netset"]}}"#,
            &["missing.netset"],
        ),
        (
            r#"{"indicators": {"cidrs": ["192.0.2.0/33"]}}"#,
            &["indicators.cidrs[0]: `192.0.2.0/33`", "prefix length"],
        ),
        (
            r#"{"outbound_allowed": ["10.0.0.0/8", "fd00::/8", "nowhere"]}"#,
            &["outbound_allowed[2]: `nowhere`"],
        ),
        (
            r#"{"block": ["indicators"]}"#,
            &[
                "unknown rule `indicators`",
                "indicator, outbound_not_allowed",
            ],
        ),
        (
            r#"{"block": ["outbound_not_allowed"]}"#,
            &["`outbound_not_allowed` needs `outbound_allowed`"],
        ),
        (
            r#"{"block": ["inbound_port_not_allowed"], "connections": {}}"#,
            &["`inbound_port_not_allowed` needs `inbound_ports_allowed.tcp`"],
        ),
        (
            r#"{"inbound_ports_allowed": {"tcp": [80, 0]}}"#,
            &["inbound_ports_allowed.tcp: `0` is not a port"],
        ),
        (
            r#"{"inbound_ports_allowed": {"udp": [65536]}}"#,
            &["inbound_ports_allowed.udp: `65536` is not a port"],
        ),
        (
            r#"{"connections": {"min": 21, "max": 20}}"#,
            &["connections.min (21) is above connections.max (20)"],
        ),
        (
            r#"{"connections": {"min": -1}}"#,
            &["connections.min must be"],
        ),
        (r#"{"outbound_allowed": "10.0.0.0/8"}"#, &["must be a list"]),
        (r#"[1, 2]"#, &["must be a JSON object"]),
        (r#"{"block": "#, &["not JSON"]),
    ];
    for (policy, wanted) in cases {
        let message = error(&folder, policy);
        for part in *wanted {
            assert!(
                message.contains(part),
                "{policy}: `{message}` lacks `{part}`"
            );
        }
    }
    // The block rules compile once their rule is there.
    folder
        .compile(
            r#"{"outbound_allowed": [], "inbound_ports_allowed": {"udp": [53]},
            "block": ["outbound_not_allowed", "inbound_port_not_allowed", "indicator"]}"#,
        )
        .unwrap();
}

#[test]
fn the_writer_hands_nothing_out_that_check_refuses() {
    let r = |first, last| Range { first, last };
    let unsorted = Blob {
        sources: 1,
        indicators_v4: vec![(r(10, 20), 0), (r(5, 6), 0)],
        ..Blob::default()
    };
    assert_eq!(unsorted.write(), Err(PolicyError::Ranges));
    let bad_source = Blob {
        sources: 1,
        indicators_v4: vec![(r(10, 20), 1)],
        ..Blob::default()
    };
    assert_eq!(bad_source.write(), Err(PolicyError::Source));
    let error = Error::Internal(PolicyError::Ranges).to_string();
    assert!(error.contains("internal error") && error.contains("NXSM_ERR_POLICY_RANGES (20)"));
}

#[test]
fn check_prints_what_a_compiled_blob_holds() {
    let folder = Folder::new("describe");
    folder.write("feeds/level1.netset", LEVEL1);
    let compiled = folder.compile(EXAMPLE).unwrap();
    let text = describe(&compiled.blob).unwrap().to_string();
    let expected = format!(
        "\
policy blob, format version 1
length: {} bytes
crc32: 0x{:08X}
flags: 0x0F1 BLOCK_INDICATOR OUTBOUND_ALLOWED INBOUND_TCP INBOUND_UDP CONNECTIONS
sources: 2
connections: min 0, max 20
indicators v4: 3 ranges
  192.0.2.128/25  source 1
  198.51.100.7/32  source 0
  203.0.113.0/24  source 1
indicators v6: 2 ranges
  2001:db8:bad::/48  source 0
  2001:db8:beef::/48  source 1
outbound allowed v4: 1 ranges
  10.0.0.0/8
outbound allowed v6: 1 ranges
  fd00::/8
inbound tcp ports: 8080
inbound udp ports: 5353
",
        compiled.blob.len(),
        compiled.report.crc32
    );
    assert_eq!(text, expected);

    let mut broken = compiled.blob.clone();
    broken[60] ^= 1;
    assert_eq!(describe(&broken), Err(PolicyError::Checksum));
    assert_eq!(
        error_name(PolicyError::Checksum),
        "NXSM_ERR_POLICY_CHECKSUM"
    );
    assert_eq!(describe(&compiled.blob[..40]), Err(PolicyError::Truncated));
}

#[test]
fn the_report_as_json() {
    let folder = Folder::new("report");
    folder.write("feeds/level1.netset", LEVEL1);
    let compiled = folder.compile(EXAMPLE).unwrap();
    let json = compiled.report.to_json();
    assert_eq!(json["bytes"], compiled.blob.len());
    assert_eq!(json["sources"][1]["name"], "feeds/level1.netset");
    assert_eq!(json["sources"][1]["entries"], 3);
    assert_eq!(json["lists"][0]["list"], "indicators_v4");
    assert_eq!(json["lists"][0]["after"], 3);
    assert_eq!(
        json["crc32"],
        format!("0x{:08X}", compiled.report.crc32).as_str()
    );
}

/// The baseline event of `nxsm-decode` (wire format 3.5) as `--replay` prints it.
const BASELINE_LINE: &str = r#"{"t":1700003600,"event":"baseline","started":1700000000,"duration_s":3600,"end":1700003600,"applied":true,"policy":"0x1234abcd","overflow":3,"outbound":["203.0.113.0/24","203.0.114.0/24","2001:db8:0:1::/64"],"inbound":{"tcp":[8080],"udp":[53,5353]},"seq":5}"#;

fn baseline_event() -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(BASELINE_LINE).unwrap();
    let object = event.as_object_mut().unwrap();
    object.remove("t");
    object.remove("seq");
    event
}

fn learned_lists() -> BaselineLists {
    BaselineLists {
        outbound: vec![
            "203.0.113.0/24".into(),
            "203.0.114.0/24".into(),
            "2001:db8:0:1::/64".into(),
        ],
        tcp: vec![8080],
        udp: vec![53, 5353],
    }
}

#[test]
fn a_baseline_is_read_in_each_shape_nxsm_decode_prints() {
    let event = baseline_event();
    let message = serde_json::json!({
        "format": 2, "module": "nxsm", "module_version": "0.2.0", "sequence": 5,
        "time": 1_700_003_600u32, "events": [event],
    });
    let pretty = serde_json::to_string_pretty(&message).unwrap();
    let lines = format!(
        "{}\n\n{}\n",
        r#"{"t":1700000000,"event":"heartbeat","uptime_s":5,"seq":4}"#, BASELINE_LINE
    );
    for text in [
        event.to_string(),
        BASELINE_LINE.to_string(),
        message.to_string(),
        pretty,
        lines,
    ] {
        assert_eq!(read_baseline(&text), Ok(learned_lists()), "{text}");
    }
}

#[test]
fn a_baseline_file_must_hold_exactly_one_good_event() {
    let error = read_baseline(r#"{"event": "heartbeat"}"#).unwrap_err();
    assert!(error.starts_with("no baseline event"), "{error}");
    let two = format!("{BASELINE_LINE}\n{BASELINE_LINE}\n");
    assert_eq!(
        read_baseline(&two),
        Err("2 baseline events: give a file with one".into())
    );
    let error = read_baseline(&format!("{BASELINE_LINE}\nnot json\n")).unwrap_err();
    assert!(error.starts_with("line 2: not JSON"), "{error}");
    let bad_port = BASELINE_LINE.replace("[8080]", "[0]");
    assert_eq!(
        read_baseline(&bad_port),
        Err("baseline inbound.tcp must be a list of ports (1 to 65535)".into())
    );
    let bad_cidr = BASELINE_LINE.replace("203.0.114.0/24", "203.0.114/24");
    assert!(read_baseline(&bad_cidr)
        .unwrap_err()
        .starts_with("baseline outbound: `203.0.114/24`"));
    let no_inbound = BASELINE_LINE.replace(r#""inbound""#, r#""inbound_""#);
    assert!(read_baseline(&no_inbound).is_err());
}

/// Checks that `blob` allows what [`learned_lists`] holds and nothing near it.
fn assert_learned_lists(blob: &[u8]) {
    let layout = layout(blob);
    let policy = Policy::new(blob, &layout);
    let flags = policy.flags();
    for bit in [flag::OUTBOUND_ALLOWED, flag::INBOUND_TCP, flag::INBOUND_UDP] {
        assert_ne!(flags & bit, 0, "flags {flags:#x} lack {bit:#x}");
    }
    assert!(policy.outbound_allowed_v4(v4("203.0.113.0")));
    assert!(policy.outbound_allowed_v4(v4("203.0.114.255")));
    assert!(!policy.outbound_allowed_v4(v4("203.0.112.255")));
    assert!(!policy.outbound_allowed_v4(v4("203.0.115.0")));
    assert!(policy.outbound_allowed_v6(v6("2001:db8:0:1::7")));
    assert!(policy.outbound_allowed_v6(v6("2001:db8:0:1:ffff:ffff:ffff:ffff")));
    assert!(!policy.outbound_allowed_v6(v6("2001:db8:0:2::")));
    assert!(policy.inbound_allowed(true, 8080));
    assert!(!policy.inbound_allowed(true, 80));
    assert!(!policy.inbound_allowed(true, 53));
    assert!(policy.inbound_allowed(false, 53) && policy.inbound_allowed(false, 5353));
    assert!(!policy.inbound_allowed(false, 8080));
}

#[test]
fn from_a_baseline_alone_the_policy_is_its_allow_lists() {
    let folder = Folder::new("baseline-alone");
    let baseline = folder.write("baseline.json", BASELINE_LINE);
    let output = folder.0.join("learned.json");
    let made = from_baseline(&baseline, None, &output).unwrap();
    let value: serde_json::Value = serde_json::from_str(&made.text).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "outbound_allowed": ["203.0.113.0/24", "203.0.114.0/24", "2001:db8:0:1::/64"],
            "inbound_ports_allowed": {"tcp": [8080], "udp": [53, 5353]},
        })
    );
    assert!(!output.exists(), "the library writes nothing");
    assert_learned_lists(&made.compiled.blob);
    // The text compiles the same once written.
    fs::write(&output, &made.text).unwrap();
    assert_eq!(compile(&output).unwrap().blob, made.compiled.blob);
    let layout = layout(&made.compiled.blob);
    let policy = Policy::new(&made.compiled.blob[..], &layout);
    assert_eq!(policy.connections(), None);
    assert_eq!(policy.indicator_v4(v4("198.51.100.7")), None);
}

#[test]
fn an_empty_baseline_allows_nothing() {
    let folder = Folder::new("baseline-empty");
    let line = r#"{"event":"baseline","started":1,"duration_s":60,"end":61,"applied":false,"policy":"0x00000000","overflow":0,"outbound":[],"inbound":{"tcp":[],"udp":[]}}"#;
    let baseline = folder.write("baseline.json", line);
    let made = from_baseline(&baseline, None, &folder.0.join("p.json")).unwrap();
    let blob = &made.compiled.blob[..];
    let layout = layout(blob);
    let policy = Policy::new(blob, &layout);
    assert!(!policy.outbound_allowed_v4(v4("192.0.2.1")));
    assert!(!policy.outbound_allowed_v6(v6("2001:db8::1")));
    assert!(!policy.inbound_allowed(true, 22) && !policy.inbound_allowed(false, 53));
}

#[test]
fn a_base_policy_keeps_its_other_keys_and_its_feeds_are_rebased() {
    let folder = Folder::new("baseline-base");
    fs::create_dir_all(folder.0.join("base/feeds")).unwrap();
    fs::create_dir_all(folder.0.join("out")).unwrap();
    folder.write("base/feeds/level1.netset", LEVEL1);
    let base = folder.write("base/policy.json", EXAMPLE);
    let baseline = folder.write("baseline.json", BASELINE_LINE);

    // Another folder: the feed path is rewritten relative to it.
    let output = folder.0.join("out/learned.json");
    let made = from_baseline(&baseline, Some(&base), &output).unwrap();
    let value: serde_json::Value = serde_json::from_str(&made.text).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "indicators": {"cidrs": ["198.51.100.7/32", "2001:db8:bad::/48"],
                           "feeds": ["../base/feeds/level1.netset"]},
            "outbound_allowed": ["203.0.113.0/24", "203.0.114.0/24", "2001:db8:0:1::/64"],
            "inbound_ports_allowed": {"tcp": [8080], "udp": [53, 5353]},
            "connections": {"min": 0, "max": 20},
            "block": ["indicator"],
        })
    );
    let blob = &made.compiled.blob[..];
    assert_learned_lists(blob);
    let layout = layout(blob);
    let policy = Policy::new(blob, &layout);
    assert_eq!(policy.indicator_v4(v4("198.51.100.7")), Some(0));
    assert_eq!(policy.indicator_v4(v4("203.0.113.9")), Some(1));
    assert_eq!(policy.connections(), Some((0, 20)));
    assert_ne!(policy.flags() & flag::BLOCK_INDICATOR, 0);
    // The base's own allow lists are gone: 10.0.0.0/8 was allowed there.
    assert!(!policy.outbound_allowed_v4(v4("10.1.2.3")));
    fs::write(&output, &made.text).unwrap();
    assert_eq!(compile(&output).unwrap().blob, made.compiled.blob);

    // The base's own folder: the path stays as written.
    let beside = folder.0.join("base/learned.json");
    let made = from_baseline(&baseline, Some(&base), &beside).unwrap();
    let value: serde_json::Value = serde_json::from_str(&made.text).unwrap();
    assert_eq!(
        value["indicators"]["feeds"],
        serde_json::json!(["feeds/level1.netset"])
    );

    // A folder below the base's: `..` would not do, the path goes down and up.
    fs::create_dir_all(folder.0.join("base/feeds/sub")).unwrap();
    let below = folder.0.join("base/feeds/sub/learned.json");
    let made = from_baseline(&baseline, Some(&base), &below).unwrap();
    let value: serde_json::Value = serde_json::from_str(&made.text).unwrap();
    assert_eq!(
        value["indicators"]["feeds"],
        serde_json::json!(["../level1.netset"])
    );
}

#[test]
fn a_bad_base_or_a_missing_folder_is_an_error() {
    let folder = Folder::new("baseline-bad-base");
    let baseline = folder.write("baseline.json", BASELINE_LINE);
    let base = folder.write("base.json", r#"{"outbound": []}"#);
    let output = folder.0.join("p.json");
    match from_baseline(&baseline, Some(&base), &output) {
        Err(Error::Policy { path, message }) => {
            assert_eq!(path, base);
            assert!(message.starts_with("unknown key `outbound`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A base whose feed is missing does not make a policy that compiles.
    let base = folder.write("base.json", r#"{"indicators": {"feeds": ["feeds/none"]}}"#);
    assert!(matches!(
        from_baseline(&baseline, Some(&base), &output),
        Err(Error::Read { .. })
    ));
    let nowhere = folder.0.join("no/such/folder/p.json");
    assert!(matches!(
        from_baseline(&baseline, None, &nowhere),
        Err(Error::Read { .. })
    ));
}
