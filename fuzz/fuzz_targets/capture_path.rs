//! The whole capture path on arbitrary packets, through the monitor the C API wraps:
//! capture (parse or raw copy, ring), drain into the flow tables, read-out. Every offered
//! packet is accounted for exactly once, the tables never count more packets than were
//! stored, and the outcome of each packet is the one a direct parse gives, whether the hook
//! parsed it or copied it for the consumer. With a block rule active (half the address
//! space listed, blocking), a hook's verdict is the one the direct parse's record gives,
//! whether the hook read the header in place or parsed it in full.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use nx_security_module::testing::capture::Seen;
use nx_security_module::testing::capture::{self, Captured, Direction};
use nx_security_module::testing::config::Settings;
use nx_security_module::testing::module::Module;
use nx_security_module::testing::monitor::{Capture, Monitor};
use nx_security_module::testing::policy::{flag, Spec};
use nx_security_module::testing::wire::HeaderOrder;

/// A policy listing the upper half of each address space (128.0.0.0/1, 8000::/1) with
/// "block": ["indicator"].
fn blocking_policy() -> Vec<u8> {
    Spec {
        flags: flag::BLOCK_INDICATOR,
        sources: 1,
        indicators_v4: vec![(0x8000_0000, u32::MAX, 0)],
        indicators_v6: vec![(1 << 127, u128::MAX, 0)],
        ..Spec::default()
    }
    .blob()
}

/// The verdict the blocking policy gives a record: its remote address is in the upper half.
fn listed(record: &nx_security_module::testing::capture::FlowRecord) -> bool {
    // The address words are in wire order: the first octet is the first word's first byte.
    record.remote()[0].to_ne_bytes()[0] & 0x80 != 0
}

fuzz_target!(|data: &[u8]| {
    let monitor = Monitor::new(RefCell::new(Module::new()), ());
    monitor.start(&Settings::DEFAULT, 1_700_000_000, 0).unwrap();
    // The first byte's top bit turns the blocking policy on.
    let blocking = data.first().is_some_and(|byte| byte & 0x80 != 0);
    if blocking {
        monitor.load_policy(&blocking_policy()).unwrap();
    }
    let (mut stored, mut other) = (0u32, 0u32);
    // What a direct parse says of each packet: flow records, ignored, malformed, and
    // later fragments (counted with their first fragment's flow if the drain remembers
    // it, else ignored).
    let (mut records, mut ignored, mut malformed, mut tails) = (0u32, 0u32, 0u32, 0u32);
    // Records: [control byte][length byte][packet...]; the control byte picks direction,
    // order and whether to drain afterwards.
    let mut rest = data;
    let mut now = 1_700_000_000;
    while let [control, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (packet, next) = tail.split_at(len);
        let direction = if control & 1 == 0 {
            Direction::In
        } else {
            Direction::Out
        };
        let order = if control & 2 == 0 {
            HeaderOrder::Network
        } else {
            HeaderOrder::Host
        };
        let parsed = capture::capture(packet, direction, order, Settings::DEFAULT.protocols);
        let verdict = match &parsed {
            Ok(Captured::Record(record)) => blocking && listed(record),
            // A first fragment is judged by its ports, later ones never.
            Ok(Captured::Fragment(fragment)) if fragment.is_first() => {
                blocking && listed(fragment.record())
            }
            _ => false,
        };
        match parsed {
            Ok(Captured::Fragment(fragment)) if !fragment.is_first() => tails += 1,
            Ok(Captured::Record(_) | Captured::Fragment(_)) => records += 1,
            Ok(Captured::Ignored) => ignored += 1,
            Err(_) => malformed += 1,
        }
        let outcome = monitor.capture(packet, Seen::new(direction, order));
        assert_eq!(
            outcome == Capture::Blocked,
            verdict,
            "block verdict of {packet:02x?}"
        );
        match outcome {
            Capture::Stored => stored += 1,
            Capture::NotStarted | Capture::CaptureOff => unreachable!("capture is on"),
            _ => other += 1,
        }
        if control & 4 != 0 {
            now += 1;
            monitor.drain(now).unwrap();
        }
        rest = next;
    }
    monitor.drain(now + 1).unwrap();
    monitor
        .snapshot(|module, counters| {
            check(
                module,
                counters,
                stored + other,
                (records, ignored, malformed, tails),
            )
        })
        .unwrap();
});

/// Every packet accounted for once; without ring drops, each outcome is a direct parse's.
fn check(
    module: &Module,
    counters: &nx_security_module::testing::capture::IntakeCounters,
    offered: u32,
    (records, ignored, malformed, tails): (u32, u32, u32, u32),
) {
    assert_eq!(counters.seen, u64::from(offered));
    assert_eq!(counters.ring_waiting, 0);
    let lifecycle = module.counters();
    assert_eq!(
        lifecycle.packets_counted
            + lifecycle.table_full_dropped
            + counters.ring_dropped
            + counters.malformed
            + counters.ignored,
        counters.seen
    );
    if counters.ring_dropped == 0 {
        assert_eq!(counters.malformed, u64::from(malformed));
        // Each later fragment is either counted or ignored.
        let unmatched = counters
            .ignored
            .checked_sub(u64::from(ignored))
            .expect("no fewer ignored than a direct parse finds");
        assert!(unmatched <= u64::from(tails));
        assert_eq!(
            lifecycle.packets_counted + lifecycle.table_full_dropped,
            u64::from(records) + u64::from(tails) - unmatched
        );
    }
    let flows = module.flows();
    let packets: u64 = flows
        .v4
        .flows()
        .iter()
        .map(|f| u64::from(f.inbound.packets) + u64::from(f.outbound.packets))
        .chain(
            flows
                .v6
                .flows()
                .iter()
                .map(|f| u64::from(f.inbound.packets) + u64::from(f.outbound.packets)),
        )
        .sum();
    assert_eq!(packets, lifecycle.packets_counted);
}
