//! The producer side: what every hook shares with the consumer.
//!
//! Hooks call [`Intake::offer`](crate::intake::Intake::offer) from ISRs and threads at once. Packets of the common shapes
//! are copied into the ring as raw header words and parsed by the consumer (see
//! [`crate::raw`]); others are parsed here and pushed as flow records. Every outcome is
//! counted once, where it happens: entries stored by the ring's write position, ring drops
//! by the ring, malformed and ignored packets here, whether the hook or the consumer found
//! them so. `seen` is what the producers saw (`stored + ring drops + malformed + ignored` at
//! the hook), so it holds by construction and a stored packet costs no atomic beyond the
//! ring's one compare-and-swap.
//!
//! The producers' counters are 32-bit and wrap (a hook pays for no wider atomic); the
//! consumer folds them into the 64-bit totals of [`IntakeTotals`](crate::intake::IntakeTotals) at every drain and
//! whenever it reads them, so the totals never wrap in the life of a device.

// `#[inline(always)]` here: without it the IPv6 hooks take 2 more instructions per packet
// (scripts/bench).

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

/// The producers' counters as they keep them: 32-bit, wrapping. Only their differences
/// from one fold to the next mean something (see [`IntakeTotals`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawCounters {
    /// Entries stored: the ring's write position.
    pub stored: u32,
    /// Records dropped because the ring was full.
    pub ring_dropped: u32,
    /// Packets the hooks could not parse.
    pub malformed: u32,
    /// Well-formed packets the hooks found nothing to record in.
    pub ignored: u32,
}

/// Producer-side totals since the library started, as of one fold of [`IntakeTotals`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntakeCounters {
    /// Packets offered while capture was on.
    pub seen: u64,
    /// Packets that could not be parsed, by the hook or by the consumer.
    pub malformed: u64,
    /// Well-formed packets with nothing to record, found by the hook or by the consumer.
    pub ignored: u64,
    /// Records dropped because the ring was full.
    pub ring_dropped: u64,
    /// Entries stored and not yet taken by the consumer, from the same read of the write
    /// position as `seen`: `seen - ring_dropped - malformed - ignored - ring_waiting` is
    /// exactly what the consumer has added to a flow or found the flow table full for.
    pub ring_waiting: u32,
}

/// The consumer's 64-bit totals of the producers' wrapping counters.
///
/// Each [`fold`](Self::fold) reads every raw counter once and adds its wrapping difference
/// from the previous fold, so the totals are exact as long as no raw counter advances by
/// 2^32 or more between two folds (about 50 days at 1,000 packets a second; the module
/// folds at every drain). Consumer only: it lives in the module, behind its lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntakeTotals {
    /// The raw counters as of the last fold.
    last: RawCounters,
    seen: u64,
    malformed: u64,
    ignored: u64,
    ring_dropped: u64,
}

impl IntakeTotals {
    /// Totals of nothing (all zero bytes, so a `static` holding them stays in `.bss`).
    pub const fn new() -> Self {
        Self {
            last: RawCounters {
                stored: 0,
                ring_dropped: 0,
                malformed: 0,
                ignored: 0,
            },
            seen: 0,
            malformed: 0,
            ignored: 0,
            ring_dropped: 0,
        }
    }

    /// Adds what the producers counted since the last fold and returns the totals.
    pub fn fold(&mut self, intake: &Intake) -> IntakeCounters {
        let raw = intake.raw_counters();
        let last = core::mem::replace(&mut self.last, raw);
        let stored = u64::from(raw.stored.wrapping_sub(last.stored));
        let ring_dropped = u64::from(raw.ring_dropped.wrapping_sub(last.ring_dropped));
        let malformed = u64::from(raw.malformed.wrapping_sub(last.malformed));
        let ignored = u64::from(raw.ignored.wrapping_sub(last.ignored));
        // Plain adds: a 64-bit total takes 584 years to fill at 10^9 packets a second.
        self.seen = self
            .seen
            .wrapping_add(stored + ring_dropped + malformed + ignored);
        self.ring_dropped = self.ring_dropped.wrapping_add(ring_dropped);
        self.malformed = self.malformed.wrapping_add(malformed);
        self.ignored = self.ignored.wrapping_add(ignored);
        IntakeCounters {
            seen: self.seen,
            malformed: self.malformed,
            ignored: self.ignored,
            ring_dropped: self.ring_dropped,
            // The consumer's read position cannot move during this call.
            ring_waiting: raw.stored.wrapping_sub(intake.ring().popped()),
        }
    }

    /// Counts raw entries that the consumer found malformed or with nothing to record.
    pub fn count_later(&mut self, malformed: u32, ignored: u32) {
        self.malformed = self.malformed.wrapping_add(u64::from(malformed));
        self.ignored = self.ignored.wrapping_add(u64::from(ignored));
    }
}

/// The bytes of a packet a hook hands over, from its IP header on: a small `Copy` handle
/// (passed in registers). The fast paths need only a fixed-size prefix, so a caller that
/// holds a pointer and a length can give those without first making a slice of the whole.
pub trait Packet<'a>: Copy {
    /// The first [`raw::V4_LEN`] bytes, if there are that many.
    fn v4_header(self) -> Option<&'a [u8; raw::V4_LEN]>;
    /// The first [`raw::V6_LEN`] bytes, if there are that many.
    fn v6_header(self) -> Option<&'a [u8; raw::V6_LEN]>;
    /// Every byte.
    fn bytes(self) -> &'a [u8];
}

impl<'a> Packet<'a> for &'a [u8] {
    #[inline(always)]
    fn v4_header(self) -> Option<&'a [u8; raw::V4_LEN]> {
        self.first_chunk()
    }

    #[inline(always)]
    fn v6_header(self) -> Option<&'a [u8; raw::V6_LEN]> {
        self.first_chunk()
    }

    #[inline(always)]
    fn bytes(self) -> &'a [u8] {
        self
    }
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
        }
    }

    /// Starts accepting packets of `protocols`.
    /// `blocking`: a block rule of the policy is active (see [`raw::BLOCKING`]).
    pub fn open(&self, protocols: Protocols, blocking: bool) {
        let blocking = if blocking { raw::BLOCKING } else { 0 };
        self.open_head
            .store(raw::open_head(protocols) | blocking, Ordering::Release);
    }

    /// Whether a block rule is active (on an open intake: a closed one blocks nothing).
    #[inline(always)]
    pub fn blocking(&self) -> bool {
        self.open_head.load(Ordering::Relaxed) & raw::BLOCKING != 0
    }

    /// Records whether a block rule is active, on an open intake (a closed one records it
    /// when it opens). The caller serializes this with `open` and `close`.
    pub fn set_blocking(&self, blocking: bool) {
        let open = self.open_head.load(Ordering::Relaxed);
        if open != 0 {
            let bit = if blocking { raw::BLOCKING } else { 0 };
            self.open_head
                .store(open & !raw::BLOCKING | bit, Ordering::Release);
        }
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

    /// Handles one packet from a hook, seen in `direction` with its header in `order`.
    /// Never waits. (The monitor takes the same two steps, with the second out of line.)
    #[inline]
    pub fn offer(&self, buf: &[u8], direction: Direction, order: HeaderOrder) -> Offer {
        let seen = Seen::new(direction, order);
        match self.offer_fast_v4(buf, seen) {
            Some(offer) => offer,
            None => self.offer_other_shapes(buf, seen),
        }
    }

    /// The first step for every packet: the IPv4 fast path, if the packet has its shape.
    #[inline(always)]
    pub fn offer_fast_v4<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Option<Offer> {
        self.offer_v4_raw::<true>(packet.v4_header()?, seen)
    }

    /// The second step, for every packet the IPv4 fast path leaves: the IPv6 fast path,
    /// then the parse in the hook.
    #[inline(always)]
    pub fn offer_other_shapes<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Offer {
        if let Some(header) = packet.v6_header() {
            if let Some(offer) = self.offer_v6_raw(header, seen) {
                return offer;
            }
        }
        self.offer_other(packet.bytes(), seen)
    }

    /// Every step for a packet the IPv4 fast path left only because a block rule is active:
    /// its copy if the packet has its shape, then [`offer_other_shapes`](Self::offer_other_shapes).
    #[inline(always)]
    pub fn offer_while_blocking<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Offer {
        match packet.v4_header() {
            Some(header) => match self.offer_v4_raw::<false>(header, seen) {
                Some(offer) => offer,
                None => self.offer_other_shapes(packet, seen),
            },
            None => self.offer_other_shapes(packet, seen),
        }
    }

    /// The fast path: an IPv4 packet without options whose first [`raw::V4_LEN`] bytes are
    /// `header` is copied into the ring as it is (see [`crate::raw`]). `None` when the
    /// packet has another shape: [`offer_other`](Self::offer_other) takes it then. With
    /// `DECLINE_BLOCKING`, also `None` while a block rule is active (see [`raw::BLOCKING`]).
    #[inline(always)]
    fn offer_v4_raw<const DECLINE_BLOCKING: bool>(
        &self,
        header: &[u8; raw::V4_LEN],
        seen: Seen,
    ) -> Option<Offer> {
        // Relaxed: the bits are all the hook needs from `open`; the ring is always valid.
        let open = self.open_head.load(Ordering::Relaxed);
        if open == 0 {
            return Some(Offer::Closed);
        }
        if (DECLINE_BLOCKING && open & raw::BLOCKING != 0)
            || !raw::is_fast_v4_header(header, seen.order())
        {
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
    fn offer_v6_raw(&self, header: &[u8; raw::V6_LEN], seen: Seen) -> Option<Offer> {
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
        self.stored(self.ring.push(head, copy))
    }

    /// Every packet the fast paths leave: parsed here.
    #[inline(always)]
    fn offer_other(&self, buf: &[u8], seen: Seen) -> Offer {
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
            Ok(Captured::Record(record)) => self.stored(record.push_to(&self.ring)),
            Ok(Captured::Fragment(fragment)) => self.stored(fragment.push_to(&self.ring)),
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

    /// The ring, for the consumer.
    pub fn ring(&self) -> &Ring<{ capacity::RING_SLOTS }> {
        &self.ring
    }

    /// Whether packets are being accepted.
    pub fn is_open(&self) -> bool {
        self.open_head.load(Ordering::Relaxed) != 0
    }

    /// The producers' counters, each read once.
    pub fn raw_counters(&self) -> RawCounters {
        RawCounters {
            stored: self.ring.pushed(),
            ring_dropped: self.ring.dropped(),
            malformed: self.malformed.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
        }
    }

    /// An open intake whose counters start at `raw`, as if that many packets had passed
    /// (and every stored one had been taken).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn starting_at(raw: RawCounters) -> Self {
        let intake = Self {
            ring: Ring::starting_at(raw.stored, raw.ring_dropped),
            ..Self::new()
        };
        intake.malformed.store(raw.malformed, Ordering::Relaxed);
        intake.ignored.store(raw.ignored, Ordering::Relaxed);
        intake.open(Protocols::ALL, false);
        intake
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

    use nxsm_test_packets::ipv4;

    /// A UDP datagram 10.0.0.1:5000 -> 10.0.0.2:53 without payload: 28 bytes, too short for
    /// the raw fast path, so the hook parses it.
    fn udp_out() -> Vec<u8> {
        ipv4([10, 0, 0, 1], [10, 0, 0, 2]).udp(5000, 53).build()
    }

    #[test]
    fn closed_intake_counts_nothing() {
        let intake = Intake::new();
        assert_eq!(
            intake.offer(&udp_out(), Direction::Out, HeaderOrder::Network),
            Offer::Closed
        );
        assert_eq!(intake.raw_counters(), RawCounters::default());
        assert_eq!(IntakeTotals::new().fold(&intake), IntakeCounters::default());
    }

    #[test]
    fn every_outcome_is_counted_once() {
        let intake = Intake::new();
        intake.open(Protocols::ALL, false);
        intake.set_watermark(1);
        assert_eq!(
            intake.offer(&udp_out(), Direction::Out, HeaderOrder::Network),
            Offer::Stored { at_watermark: true }
        );
        let mut igmp = udp_out();
        igmp[9] = 2;
        assert_eq!(
            intake.offer(&igmp, Direction::In, HeaderOrder::Network),
            Offer::Ignored
        );
        assert!(matches!(
            intake.offer(&udp_out()[..10], Direction::In, HeaderOrder::Network),
            Offer::Malformed(Malformed::TruncatedIpHeader)
        ));
        for _ in 0..capacity::RING_SLOTS + 3 {
            intake.offer(&udp_out(), Direction::Out, HeaderOrder::Network);
        }
        let mut totals = IntakeTotals::new();
        let c = totals.fold(&intake);
        assert_eq!(
            (c.seen, c.ignored, c.malformed, c.ring_dropped),
            (capacity::RING_SLOTS as u64 + 6, 1, 1, 4)
        );
        assert_eq!(c.ring_waiting, capacity::RING_SLOTS as u32);
        let mut stored = 0;
        while intake.ring().oldest().is_some() {
            stored += 1;
        }
        assert_eq!(stored + c.ignored + c.malformed + c.ring_dropped, c.seen);
        assert_eq!(totals.fold(&intake).ring_waiting, 0);
        intake.close();
        assert_eq!(
            intake.offer(&udp_out(), Direction::Out, HeaderOrder::Network),
            Offer::Closed
        );
    }

    /// A raw-copied UDP packet (the fast path) sent to `remote`: 40 bytes, length 40.
    fn raw_udp(remote: u32) -> Vec<u8> {
        ipv4([10, 0, 0, 1], remote.to_be_bytes())
            .udp(5000, 53)
            .payload(12)
            .build()
    }

    /// Every producer counter starts a few packets before its 32-bit wrap; packets of every
    /// outcome go through the intake and a module drains them. The totals go on past 2^32
    /// and `seen = counted + table full + ring drops + malformed + ignored + waiting` holds
    /// exactly before and after every drain.
    #[test]
    fn totals_stay_exact_across_the_wrap_of_every_producer_counter() {
        use crate::module::Module;
        const SLOTS: u32 = capacity::RING_SLOTS as u32;
        let start = RawCounters {
            stored: u32::MAX - 2 * SLOTS,
            ring_dropped: u32::MAX - 1,
            malformed: u32::MAX - 2,
            ignored: u32::MAX,
        };
        let intake = Intake::starting_at(start);
        let mut module = Module::new();
        // The entries stored before were taken before this module existed, so it never
        // counted them: they are the identity's one constant term.
        let before = u64::from(start.stored);
        let identity = |module: &mut Module| {
            let c = module.intake_counters(&intake);
            let l = module.counters();
            let right = before
                + l.packets_counted
                + l.table_full_dropped
                + c.ring_dropped
                + c.malformed
                + c.ignored
                + u64::from(c.ring_waiting);
            assert_eq!(c.seen, right, "{c:?} {l:?}");
            c
        };
        let first = identity(&mut module);
        let all_before = u64::from(start.stored)
            + u64::from(start.ring_dropped)
            + u64::from(start.malformed)
            + u64::from(start.ignored);
        assert_eq!(first.seen, all_before);
        // Expected totals: (offered, recorded, dropped, malformed, ignored).
        let mut want = (0u64, 0u64, 0u64, 0u64, 0u64);
        let udp_out = udp_out();
        let mut hook_udp = udp_out.clone();
        let mut hook_igmp = udp_out.clone();
        hook_igmp[9] = 2;
        for round in 0..6u32 {
            for i in 0..2 * SLOTS {
                let n = round * 1000 + i;
                let mut packet = raw_udp(0x0a00_0000 + n);
                // What the consumer will find in a stored entry of this packet.
                let mut later = None;
                let buf: &[u8] = match i % 6 {
                    0 => &packet,
                    1 => {
                        packet[9] = 2; // IGMP: ignored by the drain
                        later = Some(false);
                        &packet
                    }
                    2 => {
                        packet[3] = 12; // total length below the header's: malformed
                        later = Some(true);
                        &packet
                    }
                    3 => {
                        hook_udp[16..20].copy_from_slice(&(0x0b00_0000 + n).to_be_bytes());
                        &hook_udp
                    }
                    4 => &hook_igmp,
                    _ => &udp_out[..10],
                };
                want.0 += 1;
                match intake.offer(buf, Direction::Out, HeaderOrder::Network) {
                    Offer::Stored { .. } => match later {
                        None => want.1 += 1,
                        Some(true) => want.3 += 1,
                        Some(false) => want.4 += 1,
                    },
                    Offer::Dropped => want.2 += 1,
                    Offer::Malformed(_) => want.3 += 1,
                    Offer::Ignored => want.4 += 1,
                    Offer::Closed => panic!("the intake is open"),
                }
            }
            let waiting = identity(&mut module);
            assert!(waiting.ring_waiting > 0);
            module.drain(
                &intake,
                1_700_000_000 + round,
                &crate::policy::store::Policies::new(),
            );
            assert_eq!(identity(&mut module).ring_waiting, 0);
        }
        let raw = intake.raw_counters();
        assert!(
            raw.stored < start.stored
                && raw.ring_dropped < start.ring_dropped
                && raw.malformed < start.malformed
                && raw.ignored < start.ignored,
            "every producer counter wrapped: {raw:?}"
        );
        let c = module.intake_counters(&intake);
        let l = module.counters();
        assert_eq!(c.seen, all_before + want.0);
        assert!(c.seen > u64::from(u32::MAX));
        assert_eq!(l.packets_counted + l.table_full_dropped, want.1);
        assert_eq!(c.ring_dropped, u64::from(start.ring_dropped) + want.2);
        assert_eq!(c.malformed, u64::from(start.malformed) + want.3);
        assert_eq!(c.ignored, u64::from(start.ignored) + want.4);
        assert!(want.1 > 0 && want.2 > 0 && want.3 > 0 && want.4 > 0);
    }

    #[test]
    fn nine_extension_headers_are_ignored_not_malformed() {
        let intake = Intake::new();
        intake.open(Protocols::ALL, false);
        // Also in a build without IPv6 flows, which parses IPv6 all the same.
        let packet = crate::wire::ipv6::tests::extension_chain(9);
        assert_eq!(
            intake.offer(&packet, Direction::In, HeaderOrder::Network),
            Offer::Ignored
        );
        let c = intake.raw_counters();
        assert_eq!((c.stored, c.ignored, c.malformed), (0, 1, 0));
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
