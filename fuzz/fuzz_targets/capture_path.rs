//! The whole capture path on arbitrary packets: intake (parse or raw copy, ring), drain
//! into the flow tables, read-out. Every offered packet is accounted for exactly once, the
//! tables never count more packets than were stored, and the outcome of each packet is the
//! one a direct parse gives, whether the hook parsed it or copied it for the consumer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nx_security_module::capture::{self, Captured, Direction};
use nx_security_module::config::Settings;
use nx_security_module::intake::{Intake, Offer};
use nx_security_module::module::Module;
use nx_security_module::wire::HeaderOrder;

fuzz_target!(|data: &[u8]| {
    let intake = Intake::new();
    let mut module = Module::new();
    module.start(&Settings::DEFAULT, 1_700_000_000, 0).unwrap();
    intake.open(Settings::DEFAULT.protocols);
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
        match intake.offer(packet, direction, order) {
            Offer::Stored { .. } => stored += 1,
            Offer::Closed => unreachable!("intake is open"),
            _ => other += 1,
        }
        if control & 4 != 0 {
            now += 1;
            module.drain(&intake, now);
        }
        rest = next;
    }
    module.drain(&intake, now + 1);
    let counters = module.intake_counters(&intake);
    assert_eq!(counters.seen, u64::from(stored + other));
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
});
