//! Any bytes as a policy blob, and any bytes xored into a valid blob whose CRC is then
//! sealed again (so that changes reach the checks past the checksum): a load into a
//! `PolicyStore` returns a result and never panics; what it refuses leaves the policy before
//! it active, with the error `check` gives; what it accepts answers every lookup as a plain
//! scan of its ranges and ports (read back through the layout) does.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nx_security_module::testing::policy::{
    at, check, crc32, field, flag, Fields, Layout, LoadError, Policy, PolicyError, PolicyStore,
    Spec, Words, INDEX_ENTRIES,
};

/// Room for 2 KiB blobs: the seeds and the base blob fit, and longer inputs reach TooLarge.
const WORDS: usize = 512;

type Store = PolicyStore<WORDS>;

fuzz_target!(|data: &[u8]| {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    let base = BASE.get_or_init(base_blob);
    let store = Store::new();
    let base_crc = load_valid(&store, base);

    // The bytes as they are.
    load_and_compare(&store, data, base_crc);

    // The bytes xored into the valid blob from its flags word on (magic and version stay),
    // the CRC sealed again.
    let mut mutated = base.clone();
    for (to, from) in mutated[field::FLAGS * 4..].iter_mut().zip(data) {
        *to ^= *from;
    }
    seal(&mut mutated);
    let store = Store::new();
    let base_crc = load_valid(&store, base);
    load_and_compare(&store, &mutated, base_crc);
});

/// Loads a blob known to be valid and returns its CRC-32.
fn load_valid(store: &Store, blob: &[u8]) -> u32 {
    let layout = store.load(blob).expect("the base blob is valid");
    layout.0[at::CRC32]
}

/// Loads `blob` into a store whose active policy has CRC `before` and checks the outcome.
fn load_and_compare(store: &Store, blob: &[u8], before: u32) {
    let direct = check(blob, blob.len());
    match store.load(blob) {
        Ok(layout) => {
            assert!(blob.len() <= Store::BYTES);
            assert_eq!(direct, Ok(layout), "the store checks as `check` does");
            // The store's copy and the caller's bytes answer alike.
            let from_store = store.read(|policy| {
                let policy = policy.expect("an accepted policy is active");
                assert_eq!(policy.crc32(), layout.0[at::CRC32]);
                lookups(&policy, blob, &layout)
            });
            let from_bytes = lookups(&Policy::new(blob, &layout), blob, &layout);
            assert_eq!(from_store, from_bytes);
        }
        Err(LoadError::Policy(error)) => {
            if blob.len() > Store::BYTES {
                assert_eq!(error, PolicyError::TooLarge);
            } else {
                assert_eq!(direct, Err(error), "the store checks as `check` does");
            }
            let active = store.read(|policy| policy.map(|policy| policy.crc32()));
            assert_eq!(
                active,
                Some(before),
                "a refused load leaves the policy before"
            );
        }
        Err(LoadError::Busy) => panic!("Busy with no reader and no other load"),
    }
}

/// Every lookup of `policy` on addresses and ports around each range and port of the blob,
/// checked against a scan; returns what it found so two copies can be compared.
fn lookups<W: Words + ?Sized, F: Fields + ?Sized>(
    policy: &Policy<'_, W, F>,
    blob: &[u8],
    layout: &Layout,
) -> Vec<u64> {
    let l = &layout.0;
    let mut found = Vec::new();
    let flags = l[at::FLAGS];
    assert_eq!(policy.flags(), flags);
    let counts = [
        at::INDICATORS_V4,
        at::INDICATORS_V6,
        at::ALLOWED_V4,
        at::ALLOWED_V6,
        at::TCP_PORTS,
        at::UDP_PORTS,
    ]
    .map(|list| l[list + at::COUNT] as usize);
    assert_eq!(policy.counts(), counts);
    if flags & flag::CONNECTIONS != 0 {
        assert_eq!(
            policy.connections(),
            Some((l[at::CONNECTIONS_MIN], l[at::CONNECTIONS_MAX]))
        );
    } else {
        assert_eq!(policy.connections(), None);
    }

    // IPv4 indicators: the source of the range holding the address.
    let v4 = ranges_v4(blob, l[at::INDICATORS_V4] as usize, counts[0]);
    let sources = l[at::INDICATORS_V4 + at::SOURCES] as usize;
    for address in probes_v4(&v4) {
        let expected = v4
            .iter()
            .position(|&(first, last)| first <= address && address <= last)
            .map(|range| half(blob, sources, range));
        let got = policy.indicator_v4(address);
        assert_eq!(got, expected, "indicator_v4({address:#010x})");
        found.push(u64::from(got.unwrap_or(u32::MAX)));
    }

    // IPv6 indicators.
    let v6 = ranges_v6(blob, l[at::INDICATORS_V6] as usize, counts[1]);
    let sources = l[at::INDICATORS_V6 + at::SOURCES] as usize;
    for address in probes_v6(&v6) {
        let expected = v6
            .iter()
            .position(|&(first, last)| first <= address && address <= last)
            .map(|range| half(blob, sources, range));
        let got = policy.indicator_v6(address);
        assert_eq!(got, expected, "indicator_v6({address:#x})");
        found.push(u64::from(got.unwrap_or(u32::MAX)));
    }

    // Outbound allow lists: every address allowed without the rule.
    let rule = flags & flag::OUTBOUND_ALLOWED != 0;
    let allowed = ranges_v4(blob, l[at::ALLOWED_V4] as usize, counts[2]);
    for address in probes_v4(&allowed).into_iter().chain(probes_v4(&v4)) {
        let expected = !rule
            || allowed
                .iter()
                .any(|&(first, last)| first <= address && address <= last);
        let got = policy.outbound_allowed_v4(address);
        assert_eq!(got, expected, "outbound_allowed_v4({address:#010x})");
        found.push(u64::from(got));
    }
    let allowed = ranges_v6(blob, l[at::ALLOWED_V6] as usize, counts[3]);
    for address in probes_v6(&allowed).into_iter().chain(probes_v6(&v6)) {
        let expected = !rule
            || allowed
                .iter()
                .any(|&(first, last)| first <= address && address <= last);
        let got = policy.outbound_allowed_v6(address);
        assert_eq!(got, expected, "outbound_allowed_v6({address:#x})");
        found.push(u64::from(got));
    }

    // Inbound ports: every port allowed without its protocol's rule.
    for (tcp, bit, list, count) in [
        (true, flag::INBOUND_TCP, at::TCP_PORTS, counts[4]),
        (false, flag::INBOUND_UDP, at::UDP_PORTS, counts[5]),
    ] {
        let start = l[list] as usize;
        let ports: Vec<u32> = (0..count).map(|i| half(blob, start, i)).collect();
        let mut probes = vec![0u32, 1, 80, 443, 65_534, 65_535];
        for &port in &ports {
            probes.extend([port.saturating_sub(1), port, (port + 1).min(65_535)]);
        }
        for port in probes {
            let expected = flags & bit == 0 || ports.contains(&port);
            let got = policy.inbound_allowed(tcp, port as u16);
            assert_eq!(got, expected, "inbound_allowed(tcp {tcp}, {port})");
            found.push(u64::from(got));
        }
    }
    found
}

fn half(blob: &[u8], start: usize, index: usize) -> u32 {
    (blob.word(start + index / 2) >> (16 * (index % 2))) & 0xFFFF
}

fn ranges_v4(blob: &[u8], start: usize, count: usize) -> Vec<(u32, u32)> {
    (0..count)
        .map(|i| (blob.word(start + 2 * i), blob.word(start + 2 * i + 1)))
        .collect()
}

fn v6_at(blob: &[u8], at: usize) -> u128 {
    (0..4).fold(0u128, |value, i| {
        value << 32 | u128::from(blob.word(at + i))
    })
}

fn ranges_v6(blob: &[u8], start: usize, count: usize) -> Vec<(u128, u128)> {
    (0..count)
        .map(|i| (v6_at(blob, start + 8 * i), v6_at(blob, start + 8 * i + 4)))
        .collect()
}

/// Both ends of every range and the addresses just outside them, the ends of the space, and
/// one address per top octet (the IPv4 index's buckets and their edges).
fn probes_v4(ranges: &[(u32, u32)]) -> Vec<u32> {
    let mut probes = vec![0, u32::MAX, 0x8000_0000];
    for top in 0..INDEX_ENTRIES as u32 - 1 {
        probes.extend([top << 24, (top << 24) | 0x00FF_FFFF]);
    }
    for &(first, last) in ranges {
        probes.extend([
            first,
            last,
            first.wrapping_sub(1),
            last.wrapping_add(1),
            first + (last - first) / 2,
        ]);
    }
    probes
}

fn probes_v6(ranges: &[(u128, u128)]) -> Vec<u128> {
    let mut probes = vec![0, u128::MAX, 1 << 127];
    for &(first, last) in ranges {
        probes.extend([
            first,
            last,
            first.wrapping_sub(1),
            last.wrapping_add(1),
            first + (last - first) / 2,
        ]);
    }
    probes
}

/// Sets the CRC-32 word to the blob's CRC.
fn seal(blob: &mut [u8]) {
    let crc = crc32(&*blob, blob.len() / 4).to_le_bytes();
    blob[field::CRC32 * 4..field::CRC32 * 4 + 4].copy_from_slice(&crc);
}

/// A small valid blob with every list, both IPv4 indexes and two sources.
fn base_blob() -> Vec<u8> {
    let flags = flag::BLOCK
        | flag::OUTBOUND_ALLOWED
        | flag::INBOUND_TCP
        | flag::INBOUND_UDP
        | flag::CONNECTIONS
        | flag::INDICATORS_V4_INDEX
        | flag::ALLOWED_V4_INDEX;
    // Several ranges under one top octet, and one reaching into the next: the index's
    // buckets hold more than one range and a range can start before its bucket.
    let indicators_v4 = [
        (0x0A00_0000, 0x0A00_00FF, 0),
        (0x0A01_0000, 0x0A01_00FF, 1),
        (0x0A02_0000, 0x0BFF_FFFF, 0),
        (0x6440_0101, 0x6440_0101, 1),
        (0xC633_6400, 0xC633_647F, 1),
    ];
    let indicators_v6: [(u128, u128, u32); 1] = [(
        0x2001_0DB8_0BAD_0000 << 64,
        (0x2001_0DB8_0BAD_FFFF << 64) | u128::from(u64::MAX),
        0,
    )];
    let allowed_v4 = [
        (0xC000_0200, 0xC000_02FF),
        (0xC000_0300, 0xC000_0300),
        (0xFF00_0000, 0xFFFF_FFFF),
    ];
    let allowed_v6: [(u128, u128); 1] = [(1, 0xFFFF)];
    let tcp = [22u32, 443, 8883];
    let udp = [53u32, 5683];

    let blob = Spec {
        flags,
        sources: 2,
        connections: (1, 32),
        indicators_v4: indicators_v4
            .map(|(first, last, source)| (first, last, source as u16))
            .to_vec(),
        indicators_v6: indicators_v6
            .map(|(first, last, source)| (first, last, source as u16))
            .to_vec(),
        allowed_v4: allowed_v4.to_vec(),
        allowed_v6: allowed_v6.to_vec(),
        tcp: tcp.map(|port| port as u16).to_vec(),
        udp: udp.map(|port| port as u16).to_vec(),
    }
    .blob();
    assert!(
        check(&blob[..], blob.len()).is_ok(),
        "the base blob is valid"
    );
    blob
}
