//! Bounded lock-free multi-producer, single-consumer ring of entries: a head word and
//! [`WORDS`](crate::entry::WORDS) words each. What the words mean is [`crate::entry`]'s business; the ring only
//! moves them.
//!
//! Producers are NetX Duo hooks running in ISRs and in several threads at once. They never
//! wait and never take a lock: a producer checks that the ring has room against the
//! consumer's read position, claims a slot by advancing the shared write position with one
//! compare-and-swap, fills the slot, then publishes it through the slot's sequence number
//! (after the bounded-queue scheme of D. Vyukov). When the ring is full the entry is
//! dropped and counted, so `pushed + dropped` always equals what was offered.
//!
//! The consumer releases its read position only after it has read a slot, and producers
//! acquire it before claiming, so a slot is never refilled while it is being read. Taking
//! room from the read position rather than from each slot's sequence number lets the
//! producer reuse it for the watermark: one load serves both.
//!
//! Progress: producers are lock-free (a failed compare-and-swap means another producer
//! claimed a slot) and never wait for the consumer: a full ring drops. The consumer never
//! waits either, but it takes entries in order, so a producer preempted between its claim
//! and its publish holds back the entries claimed after it until it runs again; the drain
//! stops there and finds them at its next call. Nothing is lost meanwhile, only delayed.
//!
//! Entries are stored as words in atomics rather than behind `UnsafeCell`, so the ring needs
//! no `unsafe` and is data-race free by construction; on Cortex-M each relaxed atomic store
//! is a plain `str`.

// `#[inline(always)]` here: without it the IPv4 drain takes 2 more instructions per record
// (scripts/bench).

use crate::entry::WORDS;
use crate::sync::{compare_exchange, fetch_add, AtomicU32, Ordering};

/// One entry: a head word and [`WORDS`] words. An entry that needs fewer words (a record of
/// IPv4) leaves the others neither written nor read.
struct Slot {
    /// The sequence number minus the slot's index: the entry of `position` is published
    /// when `sequence + index == position + 1`. Storing it relative to the index makes a new
    /// ring all zero bytes, so a `static` ring lands in `.bss` and costs no flash.
    sequence: AtomicU32,
    head: AtomicU32,
    words: [AtomicU32; WORDS],
}

impl Slot {
    #[cfg(not(loom))]
    const fn new() -> Self {
        Self {
            sequence: AtomicU32::new(0),
            head: AtomicU32::new(0),
            words: [const { AtomicU32::new(0) }; WORDS],
        }
    }

    #[cfg(loom)]
    fn new() -> Self {
        Self {
            sequence: AtomicU32::new(0),
            head: AtomicU32::new(0),
            words: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

/// The words of a claimed slot, for its producer to fill before the slot is published.
#[derive(Clone, Copy)]
pub struct Entry<'a>(&'a [AtomicU32; WORDS]);

impl Entry<'_> {
    /// Sets word `index`. Callers pass constant indices below [`WORDS`], so the check
    /// folds away; an index beyond is ignored, never a panic.
    #[inline(always)]
    pub fn set(self, index: usize, word: u32) {
        if let Some(slot) = self.0.get(index) {
            slot.store(word, Ordering::Relaxed);
        }
    }
}

/// What happened to an offered entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    /// Stored; `fill` entries are now waiting (this one included).
    Stored {
        /// Entries waiting after this push, as seen by this producer.
        fill: u32,
    },
    /// The ring was full: the entry was dropped and counted.
    Dropped,
}

/// The ring: `N` slots, a power of two.
pub struct Ring<const N: usize> {
    slots: [Slot; N],
    write: AtomicU32,
    read: AtomicU32,
    dropped: AtomicU32,
}

impl<const N: usize> Ring<N> {
    const MASK: u32 = {
        assert!(N.is_power_of_two() && N >= 2 && N <= 1 << 16);
        N as u32 - 1
    };

    /// An empty ring (usable in a `static`).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            slots: [const { Slot::new() }; N],
            write: AtomicU32::new(0),
            read: AtomicU32::new(0),
            dropped: AtomicU32::new(0),
        }
    }

    /// An empty ring.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            slots: core::array::from_fn(|_| Slot::new()),
            write: AtomicU32::new(0),
            read: AtomicU32::new(0),
            dropped: AtomicU32::new(0),
        }
    }

    /// Offers an entry with head word `head` whose other words `fill` sets; never waits.
    /// Safe from any number of producers at once.
    #[inline(always)]
    pub fn push(&self, head: u32, fill: impl FnOnce(Entry<'_>)) -> Push {
        loop {
            // Read first, then write: the write position is never behind a read position
            // loaded before it, so `waiting` is 0..=N. Acquire pairs with the consumer's
            // release of `read`: the slot a lap behind has been read before it is reused.
            let read = self.read.load(Ordering::Acquire);
            let position = self.write.load(Ordering::Relaxed);
            let waiting = position.wrapping_sub(read);
            if waiting >= N as u32 {
                fetch_add(&self.dropped, 1, Ordering::Relaxed);
                return Push::Dropped;
            }
            if compare_exchange(
                &self.write,
                position,
                position.wrapping_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
            {
                let index = position & Self::MASK;
                let slot = &self.slots[index as usize];
                slot.head.store(head, Ordering::Relaxed);
                fill(Entry(&slot.words));
                slot.sequence.store(
                    position.wrapping_add(1).wrapping_sub(index),
                    Ordering::Release,
                );
                return Push::Stored {
                    fill: waiting.wrapping_add(1),
                };
            }
            // Another producer took this position; look again.
        }
    }

    /// The oldest published entry, left in its slot until the returned handle is dropped.
    /// Only one consumer may call this at a time (the module's own context guarantees it).
    #[inline(always)]
    pub fn oldest(&self) -> Option<Oldest<'_, N>> {
        let position = self.read.load(Ordering::Relaxed);
        let index = position & Self::MASK;
        let slot = &self.slots[index as usize];
        let sequence = slot.sequence.load(Ordering::Acquire).wrapping_add(index);
        if sequence != position.wrapping_add(1) {
            // Empty, or the next producer has claimed but not yet published its slot.
            return None;
        }
        Some(Oldest {
            ring: self,
            slot,
            position,
            head: slot.head.load(Ordering::Relaxed),
        })
    }

    /// Entries stored since the ring was made (wrapping): every successful push advances
    /// the write position by one, so this needs no counter of its own.
    pub fn pushed(&self) -> u32 {
        self.write.load(Ordering::Relaxed)
    }

    /// Entries taken since the ring was made (wrapping): the read position. Only the
    /// consumer changes it.
    pub fn popped(&self) -> u32 {
        self.read.load(Ordering::Relaxed)
    }

    /// Entries dropped because the ring was full, since it was made.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Entries waiting (an estimate while producers run).
    pub fn len(&self) -> u32 {
        self.write
            .load(Ordering::Relaxed)
            .wrapping_sub(self.read.load(Ordering::Relaxed))
            .min(N as u32)
    }

    /// Whether no entry is waiting (an estimate while producers run).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(all(test, not(loom)))]
impl<const N: usize> Ring<N> {
    /// A ring whose positions start at `start`, as if `start` entries had been pushed and
    /// taken, and `dropped` dropped.
    pub(crate) fn starting_at(start: u32, dropped: u32) -> Self {
        let ring = Self::new();
        for i in 0..N as u32 {
            let position = start.wrapping_add(i);
            let index = (position & Self::MASK) as usize;
            ring.slots[index]
                .sequence
                .store(position.wrapping_sub(index as u32), Ordering::Relaxed);
        }
        ring.write.store(start, Ordering::Relaxed);
        ring.read.store(start, Ordering::Relaxed);
        ring.dropped.store(dropped, Ordering::Relaxed);
        ring
    }
}

/// The oldest published entry of a ring, in its slot; dropping this frees the slot.
pub struct Oldest<'a, const N: usize> {
    ring: &'a Ring<N>,
    slot: &'a Slot,
    position: u32,
    /// The entry's head word, read once.
    head: u32,
}

impl<const N: usize> Oldest<'_, N> {
    /// The entry's head word.
    #[inline(always)]
    pub fn head(&self) -> u32 {
        self.head
    }

    /// Word `index` of the entry (0 beyond [`WORDS`]).
    #[inline(always)]
    pub fn word(&self, index: usize) -> u32 {
        self.slot
            .words
            .get(index)
            .map_or(0, |word| word.load(Ordering::Relaxed))
    }
}

impl<const N: usize> Drop for Oldest<'_, N> {
    #[inline(always)]
    fn drop(&mut self) {
        // Release: producers acquire `read` before they claim this slot again. The slot's
        // sequence number needs no reset: a lap later it is published as `position + N + 1`.
        self.ring
            .read
            .store(self.position.wrapping_add(1), Ordering::Release);
    }
}

#[cfg(not(loom))]
impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Flow records through a ring, as the intake stores them and the drain takes them.
#[cfg(test)]
pub(crate) trait Records {
    fn push_record(&self, record: &crate::capture::FlowRecord) -> Push;
    fn pop_record(&self) -> Option<crate::capture::FlowRecord>;
}

#[cfg(test)]
impl<const N: usize> Records for Ring<N> {
    fn push_record(&self, record: &crate::capture::FlowRecord) -> Push {
        record.push_to(self)
    }

    fn pop_record(&self) -> Option<crate::capture::FlowRecord> {
        let oldest = self.oldest()?;
        let version = crate::entry::version(oldest.head());
        Some(crate::capture::FlowRecord::load(&oldest, version))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    use crate::capture::{Direction, FlowRecord};
    use crate::wire::{Datagram, IpVersion, TcpFlags, Transport, TransportKind};

    /// A record whose addresses, protocol, flags and direction depend on `n`, with the
    /// ports and length given, so that a torn or misplaced record shows.
    pub(crate) fn record_with(n: u32, version: IpVersion, ports: u32, len: u16) -> FlowRecord {
        let used = if version == IpVersion::V4 { 1 } else { 4 };
        let word = |i: u32, salt: u32| {
            if i < used {
                n.rotate_left(i * 8) ^ salt
            } else {
                0
            }
        };
        let direction = if n % 2 == 0 {
            Direction::In
        } else {
            Direction::Out
        };
        let packet = Datagram {
            version,
            src: [0, 1, 2, 3].map(|i| word(i, 0x1234_5678)),
            dst: [0, 1, 2, 3].map(|i| word(i, 0x8765_4321)),
            transport: Transport {
                kind: [TransportKind::Tcp, TransportKind::Udp, TransportKind::Icmp][n as usize % 3],
                ports,
                flags: TcpFlags(n as u8),
            },
            len,
        };
        FlowRecord::new(direction, &packet)
    }

    pub(crate) fn record(n: u32, version: IpVersion) -> FlowRecord {
        let ports = n << 16 | ((n >> 16) ^ 0xBEEF);
        record_with(n, version, ports, (n as u16).wrapping_mul(7))
    }

    /// RAM per ring slot, as documented.
    #[test]
    fn slot_size_is_the_documented_one() {
        assert_eq!(core::mem::size_of::<Slot>(), 52);
    }

    #[test]
    fn records_round_trip_in_order() {
        let ring: Ring<8> = Ring::new();
        for n in 0..5 {
            let version = if n % 2 == 0 {
                IpVersion::V4
            } else {
                IpVersion::V6
            };
            assert_eq!(
                ring.push_record(&record(n, version)),
                Push::Stored { fill: n + 1 }
            );
        }
        for n in 0..5 {
            let version = if n % 2 == 0 {
                IpVersion::V4
            } else {
                IpVersion::V6
            };
            assert_eq!(ring.pop_record(), Some(record(n, version)));
        }
        assert_eq!(ring.pop_record(), None);
    }

    #[test]
    fn a_full_ring_drops_and_counts() {
        let ring: Ring<4> = Ring::new();
        for n in 0..4 {
            assert!(matches!(
                ring.push_record(&record(n, IpVersion::V4)),
                Push::Stored { .. }
            ));
        }
        assert_eq!(ring.push_record(&record(9, IpVersion::V4)), Push::Dropped);
        assert_eq!(ring.push_record(&record(9, IpVersion::V4)), Push::Dropped);
        assert_eq!(ring.dropped(), 2);
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.pop_record(), Some(record(0, IpVersion::V4)));
        assert!(matches!(
            ring.push_record(&record(4, IpVersion::V4)),
            Push::Stored { fill: 4 }
        ));
        for n in 1..=4 {
            assert_eq!(ring.pop_record(), Some(record(n, IpVersion::V4)));
        }
        assert!(ring.is_empty());
    }

    fn ring_at<const N: usize>(start: u32) -> Ring<N> {
        Ring::starting_at(start, 0)
    }

    #[test]
    fn positions_wrap_past_u32() {
        let ring: Ring<4> = ring_at(u32::MAX - 2);
        for n in 0..4 {
            assert!(matches!(
                ring.push_record(&record(n, IpVersion::V4)),
                Push::Stored { .. }
            ));
        }
        assert_eq!(ring.push_record(&record(99, IpVersion::V4)), Push::Dropped);
        assert_eq!(ring.len(), 4);
        for n in 0..4 {
            assert_eq!(ring.pop_record(), Some(record(n, IpVersion::V4)));
        }
        assert_eq!(ring.pop_record(), None);
        assert!(matches!(
            ring.push_record(&record(4, IpVersion::V4)),
            Push::Stored { fill: 1 }
        ));
        assert_eq!(ring.pop_record(), Some(record(4, IpVersion::V4)));
    }

    #[test]
    fn many_laps_reuse_every_slot() {
        let ring: Ring<4> = Ring::new();
        for n in 0..10_000 {
            assert!(matches!(
                ring.push_record(&record(n, IpVersion::V6)),
                Push::Stored { .. }
            ));
            assert_eq!(ring.pop_record(), Some(record(n, IpVersion::V6)));
        }
    }

    #[test]
    fn stress_exact_accounting_across_threads() {
        use std::collections::HashMap;
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        const PRODUCERS: u32 = 4;
        const PER_PRODUCER: u32 = 200_000;
        let ring: Arc<Ring<64>> = Arc::new(Ring::new());
        let done = Arc::new(AtomicBool::new(false));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    let mut stored = 0u32;
                    for i in 0..PER_PRODUCER {
                        // Producer id in the low port, sequence in the high port + len.
                        let r = record_with(i, IpVersion::V4, i << 16 | p, (i >> 16) as u16);
                        if let Push::Stored { .. } = ring.push_record(&r) {
                            stored += 1;
                        }
                    }
                    stored
                })
            })
            .collect();
        let consumer = {
            let ring = Arc::clone(&ring);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut last: HashMap<u16, u32> = HashMap::new();
                let mut popped = 0u32;
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::Acquire);
                    while let Some(r) = ring.pop_record() {
                        let producer = r.ports as u16;
                        let seq = u32::from(r.payload_len()) << 16 | r.ports >> 16;
                        // Each producer's records arrive in the order it pushed them.
                        if let Some(prev) = last.insert(producer, seq) {
                            assert!(seq > prev, "producer {producer} went back");
                        }
                        popped += 1;
                    }
                    if finished {
                        return popped;
                    }
                    std::thread::yield_now();
                }
            })
        };
        let stored: u32 = producers.into_iter().map(|p| p.join().unwrap()).sum();
        done.store(true, std::sync::atomic::Ordering::Release);
        let popped = consumer.join().unwrap();
        assert_eq!(popped, stored);
        assert_eq!(stored + ring.dropped(), PRODUCERS * PER_PRODUCER);
        assert!(ring.pop_record().is_none());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    use loom::sync::Arc;

    use crate::capture::{Direction, FlowRecord};
    use crate::wire::{Datagram, IpVersion, TcpFlags, Transport, TransportKind};

    fn record(n: u16) -> FlowRecord {
        let packet = Datagram {
            version: IpVersion::V4,
            src: [u32::from(n), 0, 0, 0],
            dst: [0; 4],
            transport: Transport {
                kind: TransportKind::Udp,
                ports: u32::from(n),
                flags: TcpFlags(0),
            },
            len: n,
        };
        FlowRecord::new(Direction::In, &packet)
    }

    /// Whether a record is one `record` made, not a mix of two.
    fn whole(r: &FlowRecord) -> bool {
        r.payload_len() == r.ports as u16 && r.src[0] == r.ports
    }

    /// Two producers race for the last free slots of a two-slot ring while the consumer
    /// drains: every interleaving keeps pushed + dropped == offered and no record is torn.
    /// Interleavings with up to three preemptions are explored (loom's advice for bounded
    /// run time; the races here need at most two).
    #[test]
    fn producers_and_consumer_never_lose_or_tear() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let ring: Arc<Ring<2>> = Arc::new(Ring::new());
            let handles: Vec<_> = (1..=2u16)
                .map(|p| {
                    let ring = Arc::clone(&ring);
                    loom::thread::spawn(move || {
                        let mut stored = 0;
                        for i in 0..2u16 {
                            if let Push::Stored { .. } = ring.push_record(&record(p * 10 + i)) {
                                stored += 1;
                            }
                        }
                        stored
                    })
                })
                .collect();
            let mut popped = 0u32;
            for _ in 0..2 {
                if let Some(r) = ring.pop_record() {
                    assert!(whole(&r), "torn record");
                    popped += 1;
                }
            }
            let stored: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
            while let Some(r) = ring.pop_record() {
                assert!(whole(&r), "torn record");
                popped += 1;
            }
            assert_eq!(popped, stored);
            assert_eq!(stored + ring.dropped(), 4);
        });
    }
}
