//! The whole capture path on arbitrary packets, through the monitor the C API wraps:
//! capture (parse or raw copy, ring), drain into the flow tables, read-out. Every offered packet is accounted for exactly once, the
//! tables never count more packets than were stored, and the outcome of each packet is the
//! one a direct parse gives, whether the hook parsed it or copied it for the consumer.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use nx_security_module::testing::capture::Seen;
use nx_security_module::testing::capture::{self, Captured, Direction};
use nx_security_module::testing::config::Settings;
use nx_security_module::testing::module::Module;
use nx_security_module::testing::monitor::{Capture, Monitor};
use nx_security_module::testing::wire::HeaderOrder;

fuzz_target!(|data: &[u8]| {
    let monitor = Monitor::new(RefCell::new(Module::new()), ());
    monitor.start(&Settings::DEFAULT, 1_700_000_000, 0).unwrap();
    let (mut stored, mut other) = (0u32, 0u32);
    // What a direct parse says of each packet: flow records, ignored, malformed.
    let (mut records, mut ignored, mut malformed) = (0u32, 0u32, 0u32);
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
        match capture::capture(packet, direction, order, Settings::DEFAULT.protocols) {
            Ok(Captured::Record(_)) => records += 1,
            Ok(Captured::Ignored) => ignored += 1,
            Err(_) => malformed += 1,
        }
        match monitor.capture(packet, Seen::new(direction, order)) {
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
                (records, ignored, malformed),
            )
        })
        .unwrap();
});

/// Every packet accounted for once; without ring drops, each outcome is a direct parse's.
fn check(
    module: &Module,
    counters: &nx_security_module::testing::capture::IntakeCounters,
    offered: u32,
    (records, ignored, malformed): (u32, u32, u32),
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
        assert_eq!(
            (counters.malformed, counters.ignored),
            (u64::from(malformed), u64::from(ignored))
        );
        assert_eq!(
            lifecycle.packets_counted + lifecycle.table_full_dropped,
            u64::from(records)
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
