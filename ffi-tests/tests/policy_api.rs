//! The detection policy entry points through their C signatures: a compiled policy loads
//! and `nxsm_policy_info` reports it; NULL, empty and oversized blobs and every kind of
//! hostile blob get their exact `NXSM_ERR_POLICY_*` code, and after each refused load the
//! policy loaded before is still the one in force.

use nx_security_module::testing::config::capacity;
use nx_security_module::testing::policy::{at, check, crc32, field, flag, Layout};
use nxsm_ffi_tests::*;
use std::mem::size_of;
use std::path::Path;
use std::ptr::{null, null_mut};

/// A policy using every list, with an IPv4 indicator index (more than 32 ranges), small
/// enough for the default `NXSM_POLICY_BYTES`.
fn full_json() -> String {
    let cidrs: Vec<String> = (1..=33).map(|i| format!("\"{i}.0.0.1/32\"")).collect();
    format!(
        r#"{{
            "indicators": {{ "cidrs": [{}, "2001:db8:bad::/48"] }},
            "outbound_allowed": ["192.0.2.0/24", "198.51.100.0/24", "2001:db8:1::/48"],
            "inbound_ports_allowed": {{ "tcp": [22, 443, 8883], "udp": [53, 123] }},
            "connections": {{ "min": 1, "max": 40 }},
            "block": ["indicator", "outbound_not_allowed", "inbound_port_not_allowed"]
        }}"#,
        cidrs.join(", ")
    )
}

/// A policy with indicators only: two IPv4 ranges, no block rule.
const SMALL_JSON: &str = r#"{ "indicators": { "cidrs": ["203.0.113.0/24", "198.18.0.1/32"] } }"#;

fn compile(json: &str) -> Vec<u8> {
    nxsm_policy::compile_text(json, Path::new("policy.json"), Path::new("."))
        .unwrap_or_else(|error| panic!("the test policy compiles: {error}"))
        .blob
}

fn full() -> Vec<u8> {
    compile(&full_json())
}

fn small() -> Vec<u8> {
    compile(SMALL_JSON)
}

fn load(blob: &[u8]) -> u32 {
    // SAFETY: `blob` is live and readable for `blob.len()` bytes during the call.
    unsafe { nxsm_policy_load(blob.as_ptr(), blob.len()) }
}

fn clear() {
    // SAFETY: no arguments.
    assert_eq!(unsafe { nxsm_policy_clear() }, NXSM_OK);
}

fn info() -> nxsm_policy_summary {
    let mut info = nxsm_policy_summary {
        struct_size: size_of::<nxsm_policy_summary>() as u32,
        ..nxsm_policy_summary::default()
    };
    // SAFETY: `info` is live and writable.
    assert_eq!(unsafe { nxsm_policy_info(&mut info) }, NXSM_OK);
    info
}

/// What `nxsm_policy_info` must say of `blob`, from its header words.
fn expected(blob: &[u8]) -> nxsm_policy_summary {
    let word = |at: usize| u32::from_le_bytes(blob[at * 4..at * 4 + 4].try_into().unwrap());
    nxsm_policy_summary {
        struct_size: size_of::<nxsm_policy_summary>() as u32,
        loaded: true,
        crc32: word(field::CRC32),
        flags: word(field::FLAGS),
        indicators_v4: word(field::INDICATORS_V4),
        indicators_v6: word(field::INDICATORS_V6),
        allowed_v4: word(field::ALLOWED_V4),
        allowed_v6: word(field::ALLOWED_V6),
        tcp_ports: word(field::TCP_PORTS),
        udp_ports: word(field::UDP_PORTS),
    }
}

/// A blob as words to edit, written back with its CRC sealed again.
struct Edit(Vec<u32>);

impl Edit {
    fn of(blob: &[u8]) -> Self {
        Edit(
            blob.chunks(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        )
    }

    fn set_half(&mut self, start: usize, index: usize, value: u16) {
        let word = &mut self.0[start + index / 2];
        let shift = 16 * (index % 2);
        *word = (*word & !(0xFFFF << shift)) | u32::from(value) << shift;
    }

    fn half(&self, start: usize, index: usize) -> u16 {
        (self.0[start + index / 2] >> (16 * (index % 2))) as u16
    }

    /// The bytes, `length` word set to their length and the CRC-32 sealed again, so that a
    /// change reaches the checks after the checksum.
    fn sealed(&self) -> Vec<u8> {
        let mut words = self.0.clone();
        words[field::LENGTH] = (words.len() * 4) as u32;
        let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let crc = crc32(&bytes[..], words.len());
        bytes[field::CRC32 * 4..field::CRC32 * 4 + 4].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// The bytes as they are (no new length, no new CRC).
    fn raw(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

fn layout(blob: &[u8]) -> Layout {
    check(blob, blob.len()).expect("a compiled blob passes the core's check")
}

/// Loads `blob`, expects `code`, and checks that `in_force` is still what info reports.
#[track_caller]
fn refused(what: &str, blob: &[u8], code: u32, in_force: &nxsm_policy_summary) {
    assert_eq!(load(blob), code, "{what}");
    assert_eq!(
        &info(),
        in_force,
        "{what}: the policy before must stay in force"
    );
}

#[test]
fn a_compiled_policy_loads_and_info_reports_it() {
    let _serial = serial();
    clear();
    assert_eq!(
        info(),
        nxsm_policy_summary {
            struct_size: info().struct_size,
            ..Default::default()
        }
    );

    let blob = full();
    assert!(
        blob.len() <= capacity::POLICY_BYTES,
        "the test policy fits the default budget"
    );
    assert_eq!(load(&blob), NXSM_OK);
    let loaded = info();
    assert_eq!(loaded, expected(&blob));
    assert_eq!(
        [
            loaded.indicators_v4,
            loaded.indicators_v6,
            loaded.allowed_v4,
            loaded.allowed_v6,
            loaded.tcp_ports,
            loaded.udp_ports
        ],
        [33, 1, 2, 1, 3, 2]
    );
    assert_ne!(loaded.flags & flag::INDICATORS_V4_INDEX, 0);
    assert_eq!(loaded.flags & flag::BLOCK, flag::BLOCK);

    // The bytes are copied: changing the caller's buffer afterwards changes nothing.
    let mut scratch = small();
    assert_eq!(load(&scratch), NXSM_OK);
    let small_info = expected(&scratch);
    scratch.iter_mut().for_each(|b| *b = 0xFF);
    assert_eq!(info(), small_info);

    // Loading again replaces; clearing forgets.
    assert_eq!(load(&blob), NXSM_OK);
    assert_eq!(info(), loaded);
    clear();
    let cleared = info();
    assert!(!cleared.loaded);
    assert_eq!(
        cleared,
        nxsm_policy_summary {
            struct_size: cleared.struct_size,
            ..Default::default()
        }
    );
}

#[test]
fn info_checks_its_pointer_and_struct_size() {
    let _serial = serial();
    // SAFETY: NULL is refused before anything is written.
    assert_eq!(
        unsafe { nxsm_policy_info(null_mut()) },
        NXSM_ERR_NULL_ARGUMENT
    );
    for size in [
        0,
        size_of::<nxsm_policy_summary>() as u32 - 4,
        size_of::<nxsm_policy_summary>() as u32 + 4,
    ] {
        let mut info = nxsm_policy_summary {
            struct_size: size,
            ..Default::default()
        };
        // SAFETY: `info` is live and writable.
        assert_eq!(
            unsafe { nxsm_policy_info(&mut info) },
            NXSM_ERR_ABI_MISMATCH,
            "size {size}"
        );
        assert_eq!(info.struct_size, size, "nothing is written on a mismatch");
        assert!(!info.loaded);
    }
}

#[test]
fn null_empty_and_oversized_blobs() {
    let _serial = serial();
    let base = small();
    assert_eq!(load(&base), NXSM_OK);
    let in_force = expected(&base);

    // SAFETY: NULL is refused (length > 0) or never read (length 0).
    assert_eq!(
        unsafe { nxsm_policy_load(null(), 56) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(info(), in_force);
    assert_eq!(
        unsafe { nxsm_policy_load(null(), 0) },
        NXSM_ERR_POLICY_TRUNCATED
    );
    assert_eq!(info(), in_force);
    refused("empty", &[], NXSM_ERR_POLICY_TRUNCATED, &in_force);

    // One word past the budget is too large, whatever it holds (even a valid policy's
    // header); exactly the budget is read and refused for what it holds.
    let mut too_large = Edit::of(&base);
    too_large.0.resize(capacity::POLICY_BYTES / 4 + 1, 0);
    refused(
        "too large",
        &too_large.sealed(),
        NXSM_ERR_POLICY_TOO_LARGE,
        &in_force,
    );
    let mut at_budget = Edit::of(&base);
    at_budget.0.resize(capacity::POLICY_BYTES / 4, 0);
    refused(
        "at the budget",
        &at_budget.sealed(),
        NXSM_ERR_POLICY_COUNTS,
        &in_force,
    );
}

#[test]
fn every_prefix_of_a_valid_blob_is_truncated() {
    let _serial = serial();
    let base = small();
    assert_eq!(load(&base), NXSM_OK);
    let in_force = expected(&base);
    let blob = full();
    for length in 0..blob.len() {
        refused(
            &format!("prefix of {length} bytes"),
            &blob[..length],
            NXSM_ERR_POLICY_TRUNCATED,
            &in_force,
        );
    }
    // A length word that is not a multiple of 4, or is not the length given.
    let mut odd = Edit::of(&blob);
    odd.0[field::LENGTH] = blob.len() as u32 - 2;
    refused(
        "length word not the length",
        &odd.raw(),
        NXSM_ERR_POLICY_TRUNCATED,
        &in_force,
    );
    let mut odd_bytes = blob.clone();
    odd_bytes.extend([0, 0]);
    let length = odd_bytes.len() as u32;
    odd_bytes[field::LENGTH * 4..field::LENGTH * 4 + 4].copy_from_slice(&length.to_le_bytes());
    refused(
        "length not a multiple of 4",
        &odd_bytes,
        NXSM_ERR_POLICY_TRUNCATED,
        &in_force,
    );
}

/// Each hostile blob made from a valid one by one change (CRC sealed again unless the change
/// is to the CRC), with the code it must get.
fn hostile(base: &[u8]) -> Vec<(String, Vec<u8>, u32)> {
    let l = layout(base).0;
    let list = |at: usize| l[at] as usize;
    let mut cases: Vec<(String, Vec<u8>, u32)> = Vec::new();
    let mut case = |what: &str, code: u32, edit: &dyn Fn(&mut Edit)| {
        let mut words = Edit::of(base);
        edit(&mut words);
        cases.push((what.to_string(), words.sealed(), code));
    };

    case("bad magic", NXSM_ERR_POLICY_MAGIC, &|e| {
        e.0[field::MAGIC] ^= 1
    });
    case("wrong version 0", NXSM_ERR_POLICY_VERSION, &|e| {
        e.0[field::VERSION] = 0
    });
    case("wrong version 2", NXSM_ERR_POLICY_VERSION, &|e| {
        e.0[field::VERSION] = 2
    });
    for bit in [3, 10, 31] {
        case(
            &format!("unknown flag bit {bit}"),
            NXSM_ERR_POLICY_RULES,
            &|e| e.0[field::FLAGS] |= 1 << bit,
        );
    }
    case("a minimum above the maximum", NXSM_ERR_POLICY_RULES, &|e| {
        e.0[field::CONNECTIONS_MIN] = e.0[field::CONNECTIONS_MAX] + 1
    });
    case("more than 65,535 sources", NXSM_ERR_POLICY_RULES, &|e| {
        e.0[field::SOURCES] = 65_536
    });
    case("huge source count", NXSM_ERR_POLICY_RULES, &|e| {
        e.0[field::SOURCES] = u32::MAX
    });
    case(
        "indexed list with a huge count",
        NXSM_ERR_POLICY_RULES,
        &|e| e.0[field::INDICATORS_V4] = u32::MAX,
    );
    for (name, count) in [
        ("indicators_v6", field::INDICATORS_V6),
        ("allowed_v4", field::ALLOWED_V4),
        ("allowed_v6", field::ALLOWED_V6),
        ("tcp_ports", field::TCP_PORTS),
        ("udp_ports", field::UDP_PORTS),
    ] {
        // Two more (one more port can fit the unused half of the last word).
        case(
            &format!("{name} past the end"),
            NXSM_ERR_POLICY_COUNTS,
            &|e| e.0[count] += 2,
        );
        case(&format!("{name} huge"), NXSM_ERR_POLICY_COUNTS, &|e| {
            e.0[count] = u32::MAX
        });
        case(
            &format!("{name} 0x80000000"),
            NXSM_ERR_POLICY_COUNTS,
            &|e| e.0[count] = 0x8000_0000,
        );
    }
    case("leftover word", NXSM_ERR_POLICY_COUNTS, &|e| e.0.push(0));
    case("leftover words", NXSM_ERR_POLICY_COUNTS, &|e| {
        e.0.extend([0; 2])
    });
    case("a word missing at the end", NXSM_ERR_POLICY_COUNTS, &|e| {
        e.0.pop();
    });

    let v4 = list(at::INDICATORS_V4);
    case("unsorted IPv4 ranges", NXSM_ERR_POLICY_RANGES, &|e| {
        e.0.swap(v4, v4 + 2);
        e.0.swap(v4 + 1, v4 + 3);
    });
    case("overlapping IPv4 ranges", NXSM_ERR_POLICY_RANGES, &|e| {
        e.0[v4 + 2] = e.0[v4 + 1]
    });
    case("inverted IPv4 range", NXSM_ERR_POLICY_RANGES, &|e| {
        e.0[v4 + 1] = e.0[v4] - 1
    });
    let allowed = list(at::ALLOWED_V4);
    case("inverted allow range", NXSM_ERR_POLICY_RANGES, &|e| {
        e.0.swap(allowed, allowed + 1)
    });
    case("overlapping allow ranges", NXSM_ERR_POLICY_RANGES, &|e| {
        e.0[allowed + 2] = e.0[allowed + 1]
    });
    let v6 = list(at::INDICATORS_V6);
    case("inverted IPv6 range", NXSM_ERR_POLICY_RANGES, &|e| {
        // The last address the first with its least significant word made smaller.
        for i in 0..3 {
            e.0[v6 + 4 + i] = e.0[v6 + i];
        }
        e.0[v6 + 3] = 1;
        e.0[v6 + 7] = 0;
    });
    let v6_allowed = list(at::ALLOWED_V6);
    case("inverted IPv6 allow range", NXSM_ERR_POLICY_RANGES, &|e| {
        for i in 0..4 {
            e.0.swap(v6_allowed + i, v6_allowed + 4 + i);
        }
    });

    let sources = list(at::INDICATORS_V4 + at::SOURCES);
    case("IPv4 source out of range", NXSM_ERR_POLICY_SOURCE, &|e| {
        e.set_half(sources, 0, 1)
    });
    case("IPv4 source 0xFFFF", NXSM_ERR_POLICY_SOURCE, &|e| {
        e.set_half(sources, 5, 0xFFFF)
    });
    let count = l[at::INDICATORS_V4 + at::COUNT] as usize;
    assert_eq!(count % 2, 1, "the test needs an unused half");
    case("IPv4 sources' unused half", NXSM_ERR_POLICY_SOURCE, &|e| {
        e.set_half(sources, count, 1)
    });
    let sources_v6 = list(at::INDICATORS_V6 + at::SOURCES);
    case("IPv6 source out of range", NXSM_ERR_POLICY_SOURCE, &|e| {
        e.set_half(sources_v6, 0, 7)
    });

    let index = list(at::INDICATORS_V4 + at::INDICATOR_INDEX);
    assert_ne!(index, 0, "the test blob has an index");
    case("index entry off by one", NXSM_ERR_POLICY_INDEX, &|e| {
        let entry = e.half(index, 100);
        e.set_half(index, 100, entry + 1)
    });
    case("index count wrong", NXSM_ERR_POLICY_INDEX, &|e| {
        e.set_half(index, 256, 0)
    });
    case("index unused half", NXSM_ERR_POLICY_INDEX, &|e| {
        e.set_half(index, 257, 1)
    });

    let tcp = list(at::TCP_PORTS);
    case("TCP ports unsorted", NXSM_ERR_POLICY_PORTS, &|e| {
        let (a, b) = (e.half(tcp, 0), e.half(tcp, 1));
        e.set_half(tcp, 0, b);
        e.set_half(tcp, 1, a);
    });
    case("TCP port duplicate", NXSM_ERR_POLICY_PORTS, &|e| {
        let a = e.half(tcp, 1);
        e.set_half(tcp, 2, a)
    });
    case("TCP ports' unused half", NXSM_ERR_POLICY_PORTS, &|e| {
        e.set_half(tcp, 3, 9999)
    });
    let udp = list(at::UDP_PORTS);
    case("UDP port duplicate", NXSM_ERR_POLICY_PORTS, &|e| {
        let a = e.half(udp, 0);
        e.set_half(udp, 1, a)
    });
    cases
}

#[test]
fn hostile_blobs_get_their_code_and_change_nothing() {
    let _serial = serial();
    let base = full();
    let previous = small();
    assert_eq!(load(&previous), NXSM_OK);
    let in_force = expected(&previous);

    let cases = hostile(&base);
    for (what, blob, code) in &cases {
        refused(what, blob, *code, &in_force);
    }
    // Every policy error but TOO_LARGE, TRUNCATED (tested above) and CHECKSUM (below; these
    // cases seal the CRC) is reached.
    for code in (NXSM_ERR_POLICY_MAGIC..=NXSM_ERR_POLICY_PORTS)
        .filter(|&code| code != NXSM_ERR_POLICY_CHECKSUM)
    {
        assert!(cases.iter().any(|c| c.2 == code), "no case for code {code}");
    }

    // The CRC: any change without sealing it again, and a wrong CRC word.
    let mut bad_crc = base.clone();
    bad_crc[field::CRC32 * 4] ^= 1;
    refused(
        "wrong CRC word",
        &bad_crc,
        NXSM_ERR_POLICY_CHECKSUM,
        &in_force,
    );
    for byte in [
        field::FLAGS * 4,
        field::HEADER_WORDS * 4 + 3,
        base.len() - 1,
    ] {
        let mut changed = base.clone();
        changed[byte] ^= 0x10;
        refused(
            &format!("byte {byte} changed"),
            &changed,
            NXSM_ERR_POLICY_CHECKSUM,
            &in_force,
        );
    }

    // Block bits without their rules, on a policy that has none of them.
    let bare = Edit::of(&previous);
    for (what, bit) in [
        ("block outbound without an allow list", flag::BLOCK_OUTBOUND),
        ("block inbound without port lists", flag::BLOCK_INBOUND_PORT),
        (
            "allow-list index without an allow list",
            flag::ALLOWED_V4_INDEX,
        ),
    ] {
        let mut e = Edit(bare.0.clone());
        e.0[field::FLAGS] |= bit;
        refused(what, &e.sealed(), NXSM_ERR_POLICY_RULES, &in_force);
    }
    for (what, count) in [
        ("allow ranges without the rule", field::ALLOWED_V4),
        ("TCP ports without the rule", field::TCP_PORTS),
        ("UDP ports without the rule", field::UDP_PORTS),
        ("connections without the rule", field::CONNECTIONS_MAX),
    ] {
        let mut e = Edit(bare.0.clone());
        e.0[count] = 1;
        refused(what, &e.sealed(), NXSM_ERR_POLICY_RULES, &in_force);
    }

    // The base itself still loads: the refusals were for the changes.
    assert_eq!(load(&base), NXSM_OK);
    assert_eq!(info(), expected(&base));
    clear();
}

#[test]
fn refused_loads_keep_no_policy_when_there_was_none() {
    let _serial = serial();
    clear();
    for (what, blob, code) in hostile(&full()) {
        assert_eq!(load(&blob), code, "{what}");
        assert!(!info().loaded, "{what}");
    }
}

#[test]
fn every_policy_code_has_its_own_text() {
    let _serial = serial();
    let mut texts = Vec::new();
    for code in NXSM_ERR_POLICY_TOO_LARGE..=NXSM_ERR_POLICY_PORTS {
        // SAFETY: the library returns a static string for any code.
        let text = unsafe { text(nxsm_result_text(code)) };
        assert!(!text.is_empty(), "code {code}");
        // SAFETY: as above.
        assert_ne!(
            text,
            unsafe { self::text(nxsm_result_text(9999)) },
            "code {code}"
        );
        texts.push(text);
    }
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), texts.len(), "{texts:?}");
}
