//! More than 2^32 packets through the real intake and module: every 32-bit producer
//! counter (the ring's write position first) wraps, and the 64-bit totals and the
//! identity `seen = counted + table full + ring drops + malformed + ignored + waiting` stay
//! exact. Minutes in a release build, so ignored by default; `scripts/test long` runs it
//! (`cargo test --release --test wide_counters -- --ignored`).

use nx_security_module::testing::capture::Direction;
use nx_security_module::testing::capture::{Intake, IntakeCounters, Offer};
use nx_security_module::testing::config::{capacity, Settings};
use nx_security_module::testing::module::Module;
use nx_security_module::testing::policy::Policies;
use nx_security_module::testing::wire::HeaderOrder;

const T0: u32 = 1_700_000_000;
/// Entries stored and drained: past the wrap of the ring's 32-bit write position.
const STORED: u64 = (1 << 32) + 100_000;
/// Every this many batches, packets of the rarer outcomes go through too.
const RARE_EVERY: u64 = 1 << 16;

/// A 40-byte UDP packet to `remote`, taken by the hook's raw fast path.
fn udp(remote: u32) -> Vec<u8> {
    nxsm_test_packets::ipv4([10, 0, 0, 1], remote.to_be_bytes())
        .udp(5000, 53)
        .payload(12)
        .build()
}

/// What the test expects the counters to say.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    seen: u64,
    /// Packets the drain adds to a flow or finds the table full for.
    recorded: u64,
    ring_dropped: u64,
    malformed: u64,
    ignored: u64,
}

fn assert_adds_up(module: &mut Module, intake: &Intake) -> IntakeCounters {
    let c = module.intake_counters(intake);
    let l = module.counters();
    assert_eq!(
        c.seen,
        l.packets_counted
            + l.table_full_dropped
            + c.ring_dropped
            + c.malformed
            + c.ignored
            + u64::from(c.ring_waiting),
        "{c:?} {l:?}"
    );
    c
}

#[test]
#[ignore = "minutes in a release build: scripts/test long"]
fn counters_stay_exact_past_2_pow_32_packets() {
    let started = std::time::Instant::now();
    let slots = capacity::RING_SLOTS as u64;
    let intake = Intake::new();
    let mut module = Module::new();
    let policy = Policies::new();
    module.start(&Settings::DEFAULT, T0, 0).unwrap();
    intake.open(Settings::DEFAULT.protocols, false);
    let mut want = Expected::default();
    let offer = |packet: &[u8], want: &mut Expected, later: Option<bool>| {
        want.seen += 1;
        match intake.offer(packet, Direction::Out, HeaderOrder::Network) {
            // `later`: what the drain finds in the raw entry (malformed, or ignored).
            Offer::Stored { .. } => match later {
                None => want.recorded += 1,
                Some(true) => want.malformed += 1,
                Some(false) => want.ignored += 1,
            },
            Offer::Dropped => want.ring_dropped += 1,
            Offer::Malformed(_) => want.malformed += 1,
            Offer::Ignored => want.ignored += 1,
            Offer::Closed => panic!("the intake is open"),
        }
    };
    let common = udp(0x1400_0001);
    let mut igmp = udp(0x1400_0002);
    igmp[9] = 2;
    let mut short_total = udp(0x1400_0003);
    short_total[3] = 12;
    let mut stored = 0u64;
    let mut batch = 0u64;
    let mut now = T0;
    while stored < STORED {
        if batch % RARE_EVERY == 0 {
            // Each rarer outcome once: found by the drain (ignored, malformed), by the hook
            // (parsed there: malformed, ignored), a new flow, then a full ring's drop.
            offer(&igmp, &mut want, Some(false));
            offer(&short_total, &mut want, Some(true));
            offer(&common[..10], &mut want, None);
            offer(&igmp[..28], &mut want, None);
            offer(&udp(0x1500_0000 + batch as u32), &mut want, None);
            stored += 3;
            for _ in 3..slots {
                offer(&common, &mut want, None);
                stored += 1;
            }
            offer(&common, &mut want, None);
        } else {
            for _ in 0..slots {
                offer(&common, &mut want, None);
            }
            stored += slots;
        }
        batch += 1;
        if batch % 4096 == 0 {
            // Once in a while: the identity with the ring full, and a collection.
            assert_eq!(
                assert_adds_up(&mut module, &intake).ring_waiting as u64,
                slots
            );
            now += 1;
            let counters = module.intake_counters(&intake);
            module.poll(now, true, &counters, &policy, |_| {}).unwrap();
            while let Some((sequence, _)) = module.peek() {
                module.ack(sequence, true).unwrap();
            }
        }
        assert_eq!(module.drain(&intake, now, &policy) as u64, slots);
    }
    let raw = intake.raw_counters();
    assert!(
        u64::from(raw.stored) < stored,
        "the ring's write position wrapped: {raw:?}"
    );
    let c = assert_adds_up(&mut module, &intake);
    let l = module.counters();
    let got = Expected {
        seen: c.seen,
        recorded: l.packets_counted + l.table_full_dropped,
        ring_dropped: c.ring_dropped,
        malformed: c.malformed,
        ignored: c.ignored,
    };
    assert_eq!(got, want);
    assert!(want.seen > u64::from(u32::MAX));
    assert!(l.packets_counted > u64::from(u32::MAX));
    assert_eq!(c.ring_waiting, 0);
    // The heartbeat reports the same totals.
    let heartbeat = module.heartbeat(&c);
    assert_eq!(
        (
            heartbeat.packets_seen,
            heartbeat.packets_counted,
            heartbeat.table_full_dropped,
            heartbeat.ring_dropped,
            heartbeat.malformed,
            heartbeat.ignored
        ),
        (
            c.seen,
            l.packets_counted,
            l.table_full_dropped,
            c.ring_dropped,
            c.malformed,
            c.ignored
        )
    );
    eprintln!(
        "wide_counters: {} packets seen, {} counted, in {:.0?}",
        c.seen,
        l.packets_counted,
        started.elapsed()
    );
}
