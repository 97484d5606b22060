//! A learned baseline turned into a policy, read back with the policy reader.

use super::*;
use crate::detect::tests::record;
use crate::policy::spec::Spec;
use crate::policy::{check, Layout};

fn buffer() -> std::vec::Vec<AtomicU32> {
    (0..256).map(|_| AtomicU32::new(0)).collect()
}

fn read(words: &[AtomicU32], length: usize) -> (std::vec::Vec<u8>, Layout) {
    let bytes: std::vec::Vec<u8> = words[..length / 4]
        .iter()
        .flat_map(|w| w.load(crate::sync::Ordering::Relaxed).to_le_bytes())
        .collect();
    let layout = check(&bytes[..], bytes.len()).expect("a learned policy passes the checks");
    (bytes, layout)
}

#[test]
fn what_the_device_did_becomes_its_allow_lists() {
    let mut learned = Learned::new(100, 60);
    for (out, peer, local, remote, kind) in [
        (true, [203, 0, 113, 5], 50_000, 443, TransportKind::Tcp),
        (true, [203, 0, 113, 77], 50_001, 443, TransportKind::Tcp), // the same /24
        (true, [198, 51, 100, 1], 50_002, 53, TransportKind::Udp),
        (false, [192, 0, 2, 2], 8080, 51_000, TransportKind::Tcp),
        (false, [192, 0, 2, 2], 5353, 5353, TransportKind::Udp),
        (false, [192, 0, 2, 3], 0, 0, TransportKind::Icmp), // no port to learn
    ] {
        let record = record(out, peer, local, remote, kind);
        let initiator = if out { Direction::Out } else { Direction::In };
        learned.record(&record, initiator);
    }
    assert_eq!(learned.v4, [0xC6_3364, 0xCB_0071]);
    assert_eq!(
        (&learned.tcp[..], &learned.udp[..]),
        (&[8080][..], &[5353][..])
    );
    let words = buffer();
    let length = learned.write_policy::<[u8], Layout>(&words, None).unwrap();
    let (bytes, layout) = read(&words, length);
    let policy = Policy::new(&bytes[..], &layout);
    assert!(policy.outbound_allowed_v4(u32::from_be_bytes([203, 0, 113, 200])));
    assert!(!policy.outbound_allowed_v4(u32::from_be_bytes([203, 0, 114, 1])));
    assert!(
        !policy.outbound_allowed_v6(1),
        "nothing learned over IPv6: nothing allowed"
    );
    assert!(policy.inbound_allowed(true, 8080) && !policy.inbound_allowed(true, 22));
    assert!(policy.inbound_allowed(false, 5353) && !policy.inbound_allowed(false, 69));
    assert_eq!(policy.counts(), [0, 0, 2, 0, 1, 1]);
}

#[test]
fn the_current_indicators_connection_and_block_rules_stay() {
    let current = Spec {
        flags: flag::BLOCK_INDICATOR | flag::CONNECTIONS | flag::INBOUND_TCP,
        sources: 2,
        connections: (0, 20),
        indicators_v4: std::vec![(0xC633_6407, 0xC633_6407, 1)],
        indicators_v6: std::vec![(7 << 100, 8 << 100, 0)],
        tcp: std::vec![22],
        ..Spec::default()
    }
    .blob();
    let current_layout = check(&current[..], current.len()).unwrap();
    let current = Policy::new(&current[..], &current_layout);
    let mut learned = Learned::new(0, 10);
    learned.record(
        &record(false, [192, 0, 2, 2], 443, 50_000, TransportKind::Tcp),
        Direction::In,
    );
    let words = buffer();
    let length = learned.write_policy(&words, Some(&current)).unwrap();
    let (bytes, layout) = read(&words, length);
    let policy = Policy::new(&bytes[..], &layout);
    assert_eq!(policy.indicator_v4(0xC633_6407), Some(1));
    assert_eq!(policy.indicator_v6(7 << 100), Some(0));
    assert_eq!(policy.connections(), Some((0, 20)));
    assert_eq!(policy.flags() & flag::BLOCK, flag::BLOCK_INDICATOR);
    // The learned port replaces the current list.
    assert!(policy.inbound_allowed(true, 443) && !policy.inbound_allowed(true, 22));
}

#[test]
fn full_lists_count_what_they_drop_and_a_small_buffer_refuses() {
    let mut learned = Learned::new(0, 10);
    for n in 0..ENTRIES as u32 + 5 {
        let peer = (0x0A00_0000 + (n << 8)).to_be_bytes();
        learned.record(
            &record(true, peer, 50_000, 443, TransportKind::Tcp),
            Direction::Out,
        );
    }
    assert_eq!(learned.v4.len(), ENTRIES);
    assert_eq!(learned.overflow, 5);
    let tiny: std::vec::Vec<AtomicU32> = (0..16).map(|_| AtomicU32::new(0)).collect();
    assert_eq!(
        learned.write_policy::<[u8], Layout>(&tiny, None),
        Err(PolicyError::TooLarge)
    );
}
