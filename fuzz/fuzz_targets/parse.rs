//! Any bytes, either header order: the parsers return a result and never read out of
//! bounds; what they accept is internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nx_security_module::testing::wire::{parse, HeaderOrder, Parsed};

fuzz_target!(|data: &[u8]| {
    for order in [HeaderOrder::Network, HeaderOrder::Host] {
        if let Ok(Parsed::Flow(datagram)) = parse(data, order) {
            // The byte count never exceeds what an IP header can announce.
            assert!(usize::from(datagram.len) < 65_536);
            if datagram.transport.kind != nx_security_module::testing::wire::TransportKind::Tcp {
                assert_eq!(datagram.transport.flags.0, 0);
            }
        }
    }
});
