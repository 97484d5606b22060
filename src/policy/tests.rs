//! The policy reader against blobs made here, word by word, from the format's own field
//! names: every rule of `docs/policy-format.md` is broken once and must give its error.

use super::spec::{bytes, seal, Spec};
use super::store::{LoadError, PolicyStore};
use super::*;

fn checked(blob: &[u8]) -> Result<Layout, PolicyError> {
    check(blob, blob.len())
}

const fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

const DOC_NET: u128 = 0x2001_0db8 << 96;

fn full() -> Spec {
    Spec {
        flags: flag::OUTBOUND_ALLOWED
            | flag::INBOUND_TCP
            | flag::INBOUND_UDP
            | flag::CONNECTIONS
            | flag::BLOCK_INDICATOR,
        sources: 2,
        connections: (1, 20),
        indicators_v4: vec![
            (ip(192, 0, 2, 0), ip(192, 0, 2, 255), 1),
            (ip(198, 51, 100, 7), ip(198, 51, 100, 7), 0),
        ],
        indicators_v6: vec![(
            DOC_NET | 0xbad << 80,
            DOC_NET | (0xbad << 80) | ((1 << 80) - 1),
            1,
        )],
        allowed_v4: vec![(ip(10, 0, 0, 0), ip(10, 255, 255, 255))],
        allowed_v6: vec![(0xfd << 120, (0xfe << 120) - 1)],
        tcp: vec![22, 8080],
        udp: vec![5353],
    }
}

#[test]
fn the_crc_is_zlibs() {
    // Values from Python's zlib.crc32, on blobs too short to have the CRC word.
    assert_eq!(crc32(&b"NXSP"[..], 1), 0xC2DD_D079);
    assert_eq!(crc32(&b"12345678"[..], 2), 0x9AE0_DAAF);
}

#[test]
fn a_full_policy_answers_every_lookup() {
    let blob = full().blob();
    let layout = checked(&blob).unwrap();
    let policy = Policy::new(&blob[..], &layout);
    assert_eq!(policy.indicator_v4(ip(198, 51, 100, 7)), Some(0));
    assert_eq!(policy.indicator_v4(ip(198, 51, 100, 8)), None);
    assert_eq!(policy.indicator_v4(ip(192, 0, 2, 128)), Some(1));
    assert_eq!(policy.indicator_v4(ip(192, 0, 1, 255)), None);
    assert_eq!(policy.indicator_v6(DOC_NET | 0xbad << 80 | 5), Some(1));
    assert_eq!(policy.indicator_v6(DOC_NET | 0xbae << 80), None);
    assert!(policy.outbound_allowed_v4(ip(10, 1, 2, 3)));
    assert!(!policy.outbound_allowed_v4(ip(11, 0, 0, 0)));
    assert!(policy.outbound_allowed_v6(0xfd12 << 112));
    assert!(!policy.outbound_allowed_v6(DOC_NET));
    assert!(policy.inbound_allowed(true, 8080));
    assert!(!policy.inbound_allowed(true, 8081));
    assert!(policy.inbound_allowed(false, 5353));
    assert!(!policy.inbound_allowed(false, 53));
    assert_eq!(policy.connections(), Some((1, 20)));
    assert_eq!(policy.counts(), [2, 1, 1, 1, 2, 1]);
    assert_eq!(
        policy.crc32(),
        u32::from_le_bytes(blob[16..20].try_into().unwrap())
    );
}

#[test]
fn absent_rules_allow_everything_and_an_empty_allow_list_nothing() {
    let blob = Spec::default().blob();
    let layout = checked(&blob).unwrap();
    let policy = Policy::new(&blob[..], &layout);
    assert!(policy.outbound_allowed_v4(ip(8, 8, 8, 8)));
    assert!(policy.outbound_allowed_v6(DOC_NET));
    assert!(policy.inbound_allowed(true, 23) && policy.inbound_allowed(false, 69));
    assert_eq!(policy.indicator_v4(0), None);
    assert_eq!(policy.connections(), None);

    let spec = Spec {
        flags: flag::OUTBOUND_ALLOWED | flag::INBOUND_TCP,
        ..Spec::default()
    };
    let blob = spec.blob();
    let layout = checked(&blob).unwrap();
    let policy = Policy::new(&blob[..], &layout);
    assert!(!policy.outbound_allowed_v4(ip(8, 8, 8, 8)));
    assert!(!policy.outbound_allowed_v6(DOC_NET));
    assert!(!policy.inbound_allowed(true, 23));
    assert!(policy.inbound_allowed(false, 69));
}

/// Ranges spread over the whole space, some in the same /8, some crossing /8 borders.
fn many_ranges(count: u32) -> Vec<(u32, u32, u16)> {
    let mut state = 0x1234_5678u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut ranges: Vec<(u32, u32, u16)> = Vec::new();
    let mut at = next() % 0x0100_0000;
    for i in 0..count {
        let length = if i % 7 == 0 {
            0x0020_0000
        } else {
            next() % 4096
        };
        let first = at;
        let Some(last) = first.checked_add(length) else {
            break;
        };
        ranges.push((first, last, (i % 3) as u16));
        let gap = 1 + next() % (0xF000_0000 / count);
        let Some(after) = last.checked_add(gap) else {
            break;
        };
        at = after;
    }
    ranges
}

#[test]
fn indexed_and_plain_lookups_agree_with_a_scan() {
    let ranges = many_ranges(1000);
    assert!(ranges.len() > 900);
    for flags in [0, flag::INDICATORS_V4_INDEX] {
        let spec = Spec {
            flags,
            sources: 3,
            indicators_v4: ranges.clone(),
            ..Spec::default()
        };
        let blob = spec.blob();
        let layout = checked(&blob).unwrap();
        let policy = Policy::new(&blob[..], &layout);
        let mut probes: Vec<u32> = ranges
            .iter()
            .flat_map(|r| {
                [
                    r.0,
                    r.1,
                    r.0.wrapping_sub(1),
                    r.1.wrapping_add(1),
                    r.0 / 2 + r.1 / 2,
                ]
            })
            .collect();
        probes.extend([0, u32::MAX, 0x0100_0000, 0xFF00_0000]);
        for address in probes {
            let expected = ranges
                .iter()
                .find(|r| (r.0..=r.1).contains(&address))
                .map(|r| u32::from(r.2));
            assert_eq!(
                policy.indicator_v4(address),
                expected,
                "{address:#010x} flags {flags}"
            );
        }
    }
}

#[test]
fn the_allow_list_index_is_used_and_checked() {
    let ranges: Vec<(u32, u32)> = many_ranges(200).iter().map(|r| (r.0, r.1)).collect();
    let spec = Spec {
        flags: flag::OUTBOUND_ALLOWED | flag::ALLOWED_V4_INDEX,
        allowed_v4: ranges.clone(),
        ..Spec::default()
    };
    let blob = spec.blob();
    let layout = checked(&blob).unwrap();
    let policy = Policy::new(&blob[..], &layout);
    for r in &ranges {
        assert!(policy.outbound_allowed_v4(r.0) && policy.outbound_allowed_v4(r.1));
        assert!(!policy.outbound_allowed_v4(r.1.wrapping_add(1)) || r.1 == u32::MAX);
    }
    // One index entry off by one.
    let mut words = spec.words();
    let index_at = layout.0[at::ALLOWED_V4 + at::ALLOWED_INDEX] as usize;
    words[index_at + 100] = words[index_at + 100].wrapping_add(1);
    seal(&mut words);
    assert_eq!(checked(&bytes(&words)), Err(PolicyError::Index));
}

/// The spec's words with `change` applied and the CRC recomputed.
fn broken(spec: &Spec, change: impl FnOnce(&mut Vec<u32>)) -> Result<Layout, PolicyError> {
    let mut words = spec.words();
    change(&mut words);
    seal(&mut words);
    checked(&bytes(&words))
}

#[test]
fn short_misnamed_or_corrupt_blobs_are_refused() {
    let blob = full().blob();
    for length in 0..blob.len() {
        assert_eq!(
            check(&blob[..length], length),
            Err(PolicyError::Truncated),
            "{length}"
        );
    }
    assert_eq!(
        check(&blob[..], blob.len() - 4),
        Err(PolicyError::Truncated)
    );
    let spec = full();
    assert_eq!(
        broken(&spec, |w| w[field::MAGIC] ^= 1),
        Err(PolicyError::Magic)
    );
    assert_eq!(
        broken(&spec, |w| w[field::VERSION] = 2),
        Err(PolicyError::Version)
    );
    let mut corrupt = blob.clone();
    corrupt[field::HEADER_WORDS * 4] ^= 0x40;
    assert_eq!(checked(&corrupt), Err(PolicyError::Checksum));
}

#[test]
fn flags_and_counts_that_disagree_are_refused() {
    let spec = full();
    let rules = |change: fn(&mut Vec<u32>)| broken(&spec, change);
    assert_eq!(
        rules(|w| w[field::FLAGS] |= 1 << 3),
        Err(PolicyError::Rules)
    );
    assert_eq!(
        rules(|w| w[field::FLAGS] |= 1 << 31),
        Err(PolicyError::Rules)
    );
    assert_eq!(
        rules(|w| w[field::FLAGS] &= !flag::OUTBOUND_ALLOWED),
        Err(PolicyError::Rules)
    );
    assert_eq!(
        rules(|w| w[field::FLAGS] &= !flag::INBOUND_TCP),
        Err(PolicyError::Rules)
    );
    assert_eq!(
        rules(|w| w[field::CONNECTIONS_MIN] = 21),
        Err(PolicyError::Rules)
    );
    assert_eq!(
        rules(|w| w[field::FLAGS] &= !flag::CONNECTIONS),
        Err(PolicyError::Rules)
    );
    assert_eq!(
        rules(|w| w[field::SOURCES] = 65_536),
        Err(PolicyError::Rules)
    );
    let blocks_without_rules = Spec {
        flags: flag::BLOCK_OUTBOUND,
        ..Spec::default()
    };
    assert_eq!(
        checked(&blocks_without_rules.blob()),
        Err(PolicyError::Rules)
    );
    let blocks_without_ports = Spec {
        flags: flag::BLOCK_INBOUND_PORT,
        ..Spec::default()
    };
    assert_eq!(
        checked(&blocks_without_ports.blob()),
        Err(PolicyError::Rules)
    );
    let huge_indexed = Spec {
        flags: flag::INDICATORS_V4_INDEX,
        ..Spec::default()
    };
    assert_eq!(
        broken(&huge_indexed, |w| w[field::INDICATORS_V4] = 70_000),
        Err(PolicyError::Rules)
    );
}

#[test]
fn counts_past_the_end_or_short_of_it_are_refused() {
    let spec = full();
    for count in [
        field::INDICATORS_V4,
        field::INDICATORS_V6,
        field::ALLOWED_V4,
        field::ALLOWED_V6,
        field::TCP_PORTS,
        field::UDP_PORTS,
    ] {
        for value in [u32::MAX, 0x4000_0000, 1_000_000] {
            assert_eq!(
                broken(&spec, |w| w[count] = value),
                Err(PolicyError::Counts),
                "{count}"
            );
        }
    }
    assert_eq!(
        broken(&spec, |w| {
            w.push(0);
            w[field::LENGTH] += 4;
        }),
        Err(PolicyError::Counts)
    );
    assert_eq!(
        broken(&spec, |w| w[field::FLAGS] |= flag::INDICATORS_V4_INDEX),
        Err(PolicyError::Counts)
    );
}

#[test]
fn ranges_sources_and_ports_out_of_order_are_refused() {
    let first = field::HEADER_WORDS;
    let spec = full();
    // IPv4 indicators: range 0 is words first..first+2, range 1 the next two.
    assert_eq!(
        broken(&spec, |w| w.swap(first, first + 1)),
        Err(PolicyError::Ranges)
    );
    assert_eq!(
        broken(&spec, |w| w[first + 2] = w[first + 1]),
        Err(PolicyError::Ranges)
    );
    let unsorted = Spec {
        indicators_v4: vec![(ip(198, 51, 100, 7), ip(198, 51, 100, 7), 0), (1, 2, 0)],
        sources: 1,
        ..Spec::default()
    };
    assert_eq!(checked(&unsorted.blob()), Err(PolicyError::Ranges));
    let mut overlapping_v6 = full();
    overlapping_v6
        .indicators_v6
        .push((DOC_NET | 0xbad << 80, DOC_NET | 0xbaf << 80, 0));
    assert_eq!(checked(&overlapping_v6.blob()), Err(PolicyError::Ranges));

    let mut source = full();
    source.indicators_v4[1].2 = 2;
    assert_eq!(checked(&source.blob()), Err(PolicyError::Source));
    // The unused half after the two IPv4 sources' word is in the IPv6 sources' word.
    let layout = checked(&full().blob()).unwrap();
    let v6_sources = layout.0[at::INDICATORS_V6 + at::SOURCES] as usize;
    assert_eq!(
        broken(&spec, |w| w[v6_sources] |= 1 << 16),
        Err(PolicyError::Source)
    );

    let mut ports = full();
    ports.tcp = vec![8080, 22];
    assert_eq!(checked(&ports.blob()), Err(PolicyError::Ports));
    ports.tcp = vec![22, 22];
    assert_eq!(checked(&ports.blob()), Err(PolicyError::Ports));
    let udp_at = layout.0[at::UDP_PORTS] as usize;
    assert_eq!(
        broken(&spec, |w| w[udp_at] |= 7 << 16),
        Err(PolicyError::Ports)
    );
}

#[test]
fn a_failed_load_keeps_the_policy_before_it() {
    let store: PolicyStore<512> = PolicyStore::new();
    assert!(store.read(|policy| policy.is_none()));
    let first = full().blob();
    store.load(&first).unwrap();
    assert_eq!(store.block(), flag::BLOCK_INDICATOR);
    let mut bad = full().blob();
    bad[40] ^= 1;
    assert_eq!(
        store.load(&bad),
        Err(LoadError::Policy(PolicyError::Checksum))
    );
    assert_eq!(
        store.load(&vec![0; 4096]),
        Err(LoadError::Policy(PolicyError::TooLarge))
    );
    assert_eq!(
        store.load(&bad[..30]),
        Err(LoadError::Policy(PolicyError::Truncated))
    );
    store.read(|policy| {
        let policy = policy.expect("the first policy stays");
        assert_eq!(policy.indicator_v4(ip(198, 51, 100, 7)), Some(0));
    });
    assert_eq!(store.block(), flag::BLOCK_INDICATOR);

    let second = Spec {
        sources: 1,
        indicators_v4: vec![(ip(203, 0, 113, 0), ip(203, 0, 113, 255), 0)],
        ..Spec::default()
    };
    store.load(&second.blob()).unwrap();
    assert_eq!(store.block(), 0);
    store.read(|policy| {
        let policy = policy.unwrap();
        assert_eq!(policy.indicator_v4(ip(198, 51, 100, 7)), None);
        assert_eq!(policy.indicator_v4(ip(203, 0, 113, 9)), Some(0));
    });
    store.clear().unwrap();
    assert!(store.read(|policy| policy.is_none()));
}

#[test]
fn a_load_never_overwrites_what_a_reader_reads() {
    let store: PolicyStore<512> = PolicyStore::new();
    let a = full().blob();
    let b = Spec::default().blob();
    store.load(&a).unwrap();
    store.read(|policy| {
        assert!(policy.is_some());
        // The spare buffer is free: the load goes there.
        store.load(&b).unwrap();
        // The next would overwrite the buffer this reader is in.
        assert_eq!(store.load(&a), Err(LoadError::Busy));
        // This reader still sees its policy whole.
        assert_eq!(policy.unwrap().indicator_v4(ip(198, 51, 100, 7)), Some(0));
    });
    store.load(&a).unwrap();
    store.read(|policy| assert_eq!(policy.unwrap().counts()[0], 2));
}
