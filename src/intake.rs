//! The producer side: what every hook shares with the consumer.
//!
//! Hooks call [`Intake::offer`] from ISRs and threads at once. It parses, maps the packet
//! to a flow record and pushes it into the ring, counting every outcome with one atomic
//! add, so `seen = stored + ring drops + malformed + ignored` holds at every instant the
//! consumer looks.

use crate::capture::{capture, Captured, Direction};
use crate::config::{capacity, Protocols};
use crate::ring::{Push, Ring};
use crate::sync::{fetch_add, AtomicU32, Ordering};
use crate::wire::{HeaderOrder, Malformed};

/// What happened to one offered packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Recorded; `fill` records are waiting in the ring.
    Stored {
        /// Ring fill after this record.
        fill: u32,
    },
    /// Well-formed but not recorded (fragment tail, untracked or disabled protocol).
    Ignored,
    /// Could not be parsed.
    Malformed(Malformed),
    /// The ring was full.
    Dropped,
    /// Capture is off (module stopped): nothing counted.
    Closed,
}

/// Producer-side counters since the library started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntakeCounters {
    /// Packets offered while capture was on.
    pub seen: u32,
    /// Packets that could not be parsed.
    pub malformed: u32,
    /// Well-formed packets with nothing to record.
    pub ignored: u32,
    /// Records dropped because the ring was full.
    pub ring_dropped: u32,
}

/// Ring, switch, protocol filter and counters, shared by all producers and the consumer.
pub struct Intake {
    ring: Ring<{ capacity::RING_SLOTS }>,
    /// Protocol bits while capturing, 0 while closed.
    protocols: AtomicU32,
    seen: AtomicU32,
    malformed: AtomicU32,
    ignored: AtomicU32,
}

impl Intake {
    /// A closed intake with an empty ring (usable in a `static`).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            ring: Ring::new(),
            protocols: AtomicU32::new(0),
            seen: AtomicU32::new(0),
            malformed: AtomicU32::new(0),
            ignored: AtomicU32::new(0),
        }
    }

    /// Starts accepting packets of `protocols`.
    pub fn open(&self, protocols: Protocols) {
        self.protocols.store(protocols.bits(), Ordering::Release);
    }

    /// Stops accepting packets; records already in the ring stay for the consumer.
    pub fn close(&self) {
        self.protocols.store(0, Ordering::Release);
    }

    /// Handles one packet from a hook. Never waits.
    pub fn offer(&self, buf: &[u8], direction: Direction, order: HeaderOrder) -> Offer {
        let Some(protocols) = Protocols::from_bits(self.protocols.load(Ordering::Acquire)) else {
            return Offer::Closed;
        };
        fetch_add(&self.seen, 1, Ordering::Relaxed);
        match capture(buf, direction, order, protocols) {
            Ok(Captured::Record(record)) => {
                if record.key.version == crate::capture::IpVersion::V6
                    && capacity::MAX_FLOWS_V6 == 0
                {
                    fetch_add(&self.ignored, 1, Ordering::Relaxed);
                    return Offer::Ignored;
                }
                match self.ring.push(&record) {
                    Push::Stored { fill } => Offer::Stored { fill },
                    Push::Dropped => Offer::Dropped,
                }
            }
            Ok(Captured::Ignored) => {
                fetch_add(&self.ignored, 1, Ordering::Relaxed);
                Offer::Ignored
            }
            Err(reason) => {
                fetch_add(&self.malformed, 1, Ordering::Relaxed);
                Offer::Malformed(reason)
            }
        }
    }

    /// The ring, for the consumer.
    pub fn ring(&self) -> &Ring<{ capacity::RING_SLOTS }> {
        &self.ring
    }

    /// Whether packets are being accepted.
    pub fn is_open(&self) -> bool {
        self.protocols.load(Ordering::Relaxed) != 0
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> IntakeCounters {
        IntakeCounters {
            seen: self.seen.load(Ordering::Relaxed),
            malformed: self.malformed.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
            ring_dropped: self.ring.dropped(),
        }
    }
}

#[cfg(not(loom))]
impl Default for Intake {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const UDP_OUT: [u8; 28] = [
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x13, 0x88, 0, 53, 0,
        8, 0, 0,
    ];

    #[test]
    fn closed_intake_counts_nothing() {
        let intake = Intake::new();
        assert_eq!(
            intake.offer(&UDP_OUT, Direction::Out, HeaderOrder::Network),
            Offer::Closed
        );
        assert_eq!(intake.counters(), IntakeCounters::default());
    }

    #[test]
    fn every_outcome_is_counted_once() {
        let intake = Intake::new();
        intake.open(Protocols::ALL);
        assert!(matches!(
            intake.offer(&UDP_OUT, Direction::Out, HeaderOrder::Network),
            Offer::Stored { fill: 1 }
        ));
        let mut igmp = UDP_OUT;
        igmp[9] = 2;
        assert_eq!(
            intake.offer(&igmp, Direction::In, HeaderOrder::Network),
            Offer::Ignored
        );
        assert!(matches!(
            intake.offer(&UDP_OUT[..10], Direction::In, HeaderOrder::Network),
            Offer::Malformed(Malformed::TruncatedIpHeader)
        ));
        for _ in 0..capacity::RING_SLOTS + 3 {
            intake.offer(&UDP_OUT, Direction::Out, HeaderOrder::Network);
        }
        let c = intake.counters();
        assert_eq!(
            (c.seen, c.ignored, c.malformed, c.ring_dropped),
            (capacity::RING_SLOTS as u32 + 6, 1, 1, 4)
        );
        let mut stored = 0;
        while intake.ring().pop().is_some() {
            stored += 1;
        }
        assert_eq!(stored + c.ignored + c.malformed + c.ring_dropped, c.seen);
        intake.close();
        assert_eq!(
            intake.offer(&UDP_OUT, Direction::Out, HeaderOrder::Network),
            Offer::Closed
        );
    }
}
