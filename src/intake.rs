//! The producer side: what every hook shares with the consumer.
//!
//! Hooks call [`Intake::offer`] from ISRs and threads at once. Packets of the common shapes
//! are copied into the ring as raw header words and parsed by the consumer (see
//! [`crate::raw`]); others are parsed here and pushed as flow records. Every outcome is
//! counted once, where it happens: entries stored by the ring's write position, ring drops
//! by the ring, malformed and ignored packets here, whether the hook or the consumer found
//! them so. `seen` is what the producers saw (`stored + ring drops + malformed + ignored` at
//! the hook), so it holds by construction and a stored packet costs no atomic beyond the
//! ring's one compare-and-swap.

use crate::capture::{self, Captured, Direction, IpVersion};
use crate::config::{capacity, Protocols};
use crate::raw::{self, Seen};
use crate::ring::{Entry, Push, Ring};
use crate::sync::{fetch_add, AtomicU32, Ordering};
use crate::wire::{self, HeaderOrder, Malformed, Parsed};

/// What happened to one offered packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Stored in the ring: a flow record, or raw header words that the consumer classifies
    /// (see [`crate::raw`]).
    Stored {
        /// The ring fill after this record is the watermark (see [`Intake::set_watermark`]):
        /// time to wake the consumer. A flag rather than the fill keeps an `Offer` in one
        /// register when it comes back from the out-of-line IPv6 path.
        at_watermark: bool,
    },
    /// Well-formed but not recorded (fragment tail, untracked or disabled protocol).
    Ignored,
    /// Could not be parsed.
    Malformed(Malformed),
    /// The ring was full.
    Dropped,
    /// Capture is off (module stopped, or its network-activity collector off; see
    /// [`Intake::is_started`]): nothing counted.
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
    /// While capturing, the head-word bits every raw entry shares ([`raw::open_head`]: the
    /// protocols to record); 0 while closed.
    open_head: AtomicU32,
    /// Ring fill reported as [`Offer::Stored`] `at_watermark`; 0 (a fill no record makes)
    /// for never. Zero at rest like every other field, so the intake is all `.bss` and
    /// takes no flash for an initial image.
    watermark: AtomicU32,
    /// 1 while the module runs, whether or not it captures: tells a closed offer's cause.
    started: AtomicU32,
    malformed: AtomicU32,
    ignored: AtomicU32,
    /// Raw entries the consumer found malformed (written by the consumer only).
    later_malformed: AtomicU32,
    /// Raw entries the consumer found with nothing to record (consumer only).
    later_ignored: AtomicU32,
}

impl Intake {
    /// A closed intake with an empty ring (usable in a `static`).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            ring: Ring::new(),
            open_head: AtomicU32::new(0),
            watermark: AtomicU32::new(0),
            started: AtomicU32::new(0),
            malformed: AtomicU32::new(0),
            ignored: AtomicU32::new(0),
            later_malformed: AtomicU32::new(0),
            later_ignored: AtomicU32::new(0),
        }
    }

    /// A closed intake with an empty ring.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            ring: Ring::new(),
            open_head: AtomicU32::new(0),
            watermark: AtomicU32::new(0),
            started: AtomicU32::new(0),
            malformed: AtomicU32::new(0),
            ignored: AtomicU32::new(0),
            later_malformed: AtomicU32::new(0),
            later_ignored: AtomicU32::new(0),
        }
    }

    /// Starts accepting packets of `protocols`.
    pub fn open(&self, protocols: Protocols) {
        self.open_head
            .store(raw::open_head(protocols), Ordering::Release);
    }

    /// Stops accepting packets; records already in the ring stay for the consumer.
    pub fn close(&self) {
        self.open_head.store(0, Ordering::Release);
    }

    /// Records whether the module runs (capture may still be closed, see [`Self::open`]).
    pub fn set_started(&self, started: bool) {
        self.started.store(u32::from(started), Ordering::Relaxed);
    }

    /// Whether the module runs: an [`Offer::Closed`] then means that network activity is
    /// not collected, rather than that the module is stopped.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Relaxed) != 0
    }

    /// Sets the ring fill at which an offer reports `at_watermark` (0: never).
    pub fn set_watermark(&self, fill: u32) {
        self.watermark.store(fill, Ordering::Relaxed);
    }

    /// Handles one packet from a hook. Never waits.
    #[inline]
    pub fn offer(&self, buf: &[u8], direction: Direction, order: HeaderOrder) -> Offer {
        let seen = Seen::new(direction, order);
        if let Some(header) = buf.first_chunk::<{ raw::V4_LEN }>() {
            if let Some(offer) = self.offer_v4_raw(header, seen) {
                return offer;
            }
            if let Some(header) = buf.first_chunk::<{ raw::V6_LEN }>() {
                if let Some(offer) = self.offer_v6_raw(header, seen) {
                    return offer;
                }
            }
        }
        self.offer_other(buf, seen)
    }

    /// The fast path: an IPv4 packet without options whose first [`raw::V4_LEN`] bytes are
    /// `header` is copied into the ring as it is (see [`crate::raw`]). `None` when the
    /// packet has another shape: [`offer_other`](Self::offer_other) takes it then.
    #[inline(always)]
    pub fn offer_v4_raw(&self, header: &[u8; raw::V4_LEN], seen: Seen) -> Option<Offer> {
        // Relaxed: the bits are all the hook needs from `open`; the ring is always valid.
        let open = self.open_head.load(Ordering::Relaxed);
        if open == 0 {
            return Some(Offer::Closed);
        }
        // The version and header-length byte: the first, or the fourth when NetX Duo has
        // turned the header's words to (little-endian) host order.
        let first = match seen.order() {
            HeaderOrder::Network => header[0],
            HeaderOrder::Host => u32::from_ne_bytes(wire::quad(header, 0)).to_be_bytes()[0],
        };
        if !raw::is_fast_v4(first) {
            return None;
        }
        Some(self.push_raw(seen.head(open, IpVersion::V4), |entry| {
            raw::copy_v4(entry, header)
        }))
    }

    /// The fast path for IPv6: a packet whose next header is TCP, UDP or ICMPv6 and whose
    /// first [`raw::V6_LEN`] bytes are `header` is copied into the ring as it is. `None`
    /// when the packet has another shape, or the build keeps no IPv6 flows.
    #[inline(always)]
    pub fn offer_v6_raw(&self, header: &[u8; raw::V6_LEN], seen: Seen) -> Option<Offer> {
        if capacity::MAX_FLOWS_V6 == 0 {
            return None;
        }
        let open = self.open_head.load(Ordering::Relaxed);
        if open == 0 {
            return Some(Offer::Closed);
        }
        let order = seen.order();
        let word0 = wire::fixed_word(header, 0, order);
        let next = (wire::fixed_word(header, 1, order) >> 8) as u8;
        if word0 >> 28 != 6 || !raw::is_fast_v6(next) {
            return None;
        }
        Some(self.push_raw(seen.head(open, IpVersion::V6), |entry| {
            raw::copy_v6(entry, header)
        }))
    }

    /// Pushes a raw entry with head word `head` whose words `copy` sets.
    #[inline(always)]
    fn push_raw(&self, head: u32, copy: impl FnOnce(Entry<'_>)) -> Offer {
        self.stored(self.ring.push_with(head, copy))
    }

    /// Every packet the fast paths leave: parsed here. Out of line, so the fast paths keep
    /// their registers.
    #[inline(never)]
    pub fn offer_other(&self, buf: &[u8], seen: Seen) -> Offer {
        let open = self.open_head.load(Ordering::Relaxed);
        let Some(protocols) = raw::protocols_of(open) else {
            return Offer::Closed;
        };
        let (direction, order) = (seen.direction(), seen.order());
        match wire::version(buf, order) {
            Ok(IpVersion::V4) => {
                self.offer_parsed(wire::parse_v4(buf, order), direction, protocols)
            }
            Ok(IpVersion::V6) => self.offer_v6(buf, direction, order, protocols),
            Err(reason) => self.malformed(reason),
        }
    }

    /// The IPv6 path, out of line: its extension-header walk and four-word addresses would
    /// otherwise take registers from the IPv4 path.
    #[inline(never)]
    fn offer_v6(
        &self,
        buf: &[u8],
        direction: Direction,
        order: HeaderOrder,
        protocols: Protocols,
    ) -> Offer {
        if capacity::MAX_FLOWS_V6 == 0 {
            // Parsed all the same: a malformed packet is still counted as malformed.
            return match wire::parse_v6(buf, order) {
                Ok(_) => self.ignored(),
                Err(reason) => self.malformed(reason),
            };
        }
        self.offer_parsed(wire::parse_v6(buf, order), direction, protocols)
    }

    #[inline(always)]
    fn stored(&self, push: Push) -> Offer {
        match push {
            Push::Stored { fill } => Offer::Stored {
                at_watermark: fill == self.watermark.load(Ordering::Relaxed),
            },
            Push::Dropped => Offer::Dropped,
        }
    }

    #[inline(always)]
    fn offer_parsed(
        &self,
        parsed: Result<Parsed, Malformed>,
        direction: Direction,
        protocols: Protocols,
    ) -> Offer {
        match capture::record(parsed, direction, protocols) {
            Ok(Captured::Record(record)) => self.stored(self.ring.push(&record)),
            Ok(Captured::Ignored) => self.ignored(),
            Err(reason) => self.malformed(reason),
        }
    }

    fn ignored(&self) -> Offer {
        fetch_add(&self.ignored, 1, Ordering::Relaxed);
        Offer::Ignored
    }

    fn malformed(&self, reason: Malformed) -> Offer {
        fetch_add(&self.malformed, 1, Ordering::Relaxed);
        Offer::Malformed(reason)
    }

    /// Counts raw entries that the consumer found malformed or with nothing to record.
    /// Consumer only.
    pub fn count_later(&self, malformed: u32, ignored: u32) {
        if malformed != 0 {
            fetch_add(&self.later_malformed, malformed, Ordering::Relaxed);
        }
        if ignored != 0 {
            fetch_add(&self.later_ignored, ignored, Ordering::Relaxed);
        }
    }

    /// The ring, for the consumer.
    pub fn ring(&self) -> &Ring<{ capacity::RING_SLOTS }> {
        &self.ring
    }

    /// Whether packets are being accepted.
    pub fn is_open(&self) -> bool {
        self.open_head.load(Ordering::Relaxed) != 0
    }

    /// A snapshot of the counters. Malformed and ignored include what the consumer found
    /// in raw entries so far; entries still waiting in the ring are in none of them yet.
    pub fn counters(&self) -> IntakeCounters {
        let malformed = self.malformed.load(Ordering::Relaxed);
        let ignored = self.ignored.load(Ordering::Relaxed);
        let ring_dropped = self.ring.dropped();
        IntakeCounters {
            seen: self
                .ring
                .pushed()
                .wrapping_add(ring_dropped)
                .wrapping_add(malformed)
                .wrapping_add(ignored),
            malformed: malformed.wrapping_add(self.later_malformed.load(Ordering::Relaxed)),
            ignored: ignored.wrapping_add(self.later_ignored.load(Ordering::Relaxed)),
            ring_dropped,
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
        intake.set_watermark(1);
        assert_eq!(
            intake.offer(&UDP_OUT, Direction::Out, HeaderOrder::Network),
            Offer::Stored { at_watermark: true }
        );
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

    #[test]
    fn nine_extension_headers_are_ignored_not_malformed() {
        let intake = Intake::new();
        intake.open(Protocols::ALL);
        // Also in a build without IPv6 flows, which parses IPv6 all the same.
        let packet = crate::wire::ipv6::tests::extension_chain(9);
        assert_eq!(
            intake.offer(&packet, Direction::In, HeaderOrder::Network),
            Offer::Ignored
        );
        let c = intake.counters();
        assert_eq!((c.seen, c.ignored, c.malformed), (1, 1, 0));
    }

    #[test]
    fn a_closed_intake_tells_whether_the_module_runs() {
        let intake = Intake::new();
        assert!(!intake.is_started());
        intake.set_started(true);
        assert!(intake.is_started() && !intake.is_open());
        intake.set_started(false);
        assert!(!intake.is_started());
    }
}
