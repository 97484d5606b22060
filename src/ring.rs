//! Bounded lock-free multi-producer, single-consumer ring of flow records.
//!
//! Producers are NetX Duo hooks running in ISRs and in several threads at once. They never
//! wait and never take a lock: a producer claims a slot by advancing the shared write
//! position with one compare-and-swap, fills the slot, then publishes it through the
//! slot's sequence number (the bounded-queue scheme of D. Vyukov). When the ring is full
//! the record is dropped and counted, so `pushed + dropped` always equals what was offered.
//!
//! Records are stored as words in atomics rather than behind `UnsafeCell`, so the ring needs
//! no `unsafe` and is data-race free by construction; on Cortex-M each relaxed atomic store
//! is a plain `str`.

use crate::capture::{Direction, FlowKey, FlowRecord, IpVersion};
use crate::sync::{compare_exchange, fetch_add, AtomicU32, Ordering};
use crate::wire::{TcpFlags, TransportKind};

/// Words per record: flags/len, ports, two 16-byte addresses.
const WORDS: usize = 10;

struct Slot {
    /// Vyukov's sequence number minus the slot's index: a slot is free for the producer of
    /// `position` when `sequence + index == position`, and published when it is
    /// `position + 1`. Storing it relative to the index makes a new ring all zero bytes, so
    /// a `static` ring lands in `.bss` and costs no flash.
    sequence: AtomicU32,
    words: [AtomicU32; WORDS],
}

impl Slot {
    #[cfg(not(loom))]
    const fn new() -> Self {
        Self {
            sequence: AtomicU32::new(0),
            words: [const { AtomicU32::new(0) }; WORDS],
        }
    }

    #[cfg(loom)]
    fn new() -> Self {
        Self {
            sequence: AtomicU32::new(0),
            words: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    fn write(&self, record: &FlowRecord) {
        let key = &record.key;
        let head = key.version as u32
            | (record.direction as u32) << 1
            | (key.protocol as u32) << 2
            | u32::from(record.flags.0) << 8
            | u32::from(record.len) << 16;
        self.words[0].store(head, Ordering::Relaxed);
        let ports = u32::from(key.local_port) << 16 | u32::from(key.remote_port);
        self.words[1].store(ports, Ordering::Relaxed);
        let (local, remote) = (words_of(&key.local), words_of(&key.remote));
        self.words[2].store(local[0], Ordering::Relaxed);
        self.words[6].store(remote[0], Ordering::Relaxed);
        // IPv4 addresses use one word each; the rest of the slot is not read for them.
        if key.version == IpVersion::V6 {
            for (slot, value) in self.words[3..6].iter().zip(&local[1..]) {
                slot.store(*value, Ordering::Relaxed);
            }
            for (slot, value) in self.words[7..10].iter().zip(&remote[1..]) {
                slot.store(*value, Ordering::Relaxed);
            }
        }
    }

    fn read(&self) -> FlowRecord {
        let head = self.words[0].load(Ordering::Relaxed);
        let ports = self.words[1].load(Ordering::Relaxed);
        let version = if head & 1 == 0 {
            IpVersion::V4
        } else {
            IpVersion::V6
        };
        let used = if version == IpVersion::V4 { 1 } else { 4 };
        let load = |slots: &[AtomicU32]| {
            let mut words = [0u32; 4];
            for (out, slot) in words.iter_mut().zip(slots).take(used) {
                *out = slot.load(Ordering::Relaxed);
            }
            bytes_of(words)
        };
        let (local, remote) = (load(&self.words[2..6]), load(&self.words[6..10]));
        FlowRecord {
            key: FlowKey {
                version,
                protocol: match (head >> 2) & 3 {
                    0 => TransportKind::Tcp,
                    1 => TransportKind::Udp,
                    _ => TransportKind::Icmp,
                },
                local,
                remote,
                local_port: (ports >> 16) as u16,
                remote_port: ports as u16,
            },
            direction: if head & 2 == 0 {
                Direction::In
            } else {
                Direction::Out
            },
            len: (head >> 16) as u16,
            flags: TcpFlags((head >> 8) as u8),
        }
    }
}

/// An address as four words in memory order (the slot stores them as they are).
fn words_of(a: &[u8; 16]) -> [u32; 4] {
    [
        u32::from_ne_bytes([a[0], a[1], a[2], a[3]]),
        u32::from_ne_bytes([a[4], a[5], a[6], a[7]]),
        u32::from_ne_bytes([a[8], a[9], a[10], a[11]]),
        u32::from_ne_bytes([a[12], a[13], a[14], a[15]]),
    ]
}

/// The inverse of [`words_of`].
fn bytes_of(words: [u32; 4]) -> [u8; 16] {
    let [a, b, c, d] = words.map(u32::to_ne_bytes);
    [
        a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1], d[2],
        d[3],
    ]
}

/// What happened to an offered record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    /// Stored; `fill` records are now waiting (this one included).
    Stored {
        /// Records waiting after this push, as seen by this producer.
        fill: u32,
    },
    /// The ring was full: the record was dropped and counted.
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

    /// Offers a record; never waits. Safe from any number of producers at once.
    pub fn push(&self, record: &FlowRecord) -> Push {
        let mut position = self.write.load(Ordering::Relaxed);
        loop {
            let index = position & Self::MASK;
            let slot = &self.slots[index as usize];
            let sequence = slot.sequence.load(Ordering::Acquire).wrapping_add(index);
            let lag = sequence.wrapping_sub(position) as i32;
            if lag == 0 {
                match compare_exchange(
                    &self.write,
                    position,
                    position.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        slot.write(record);
                        slot.sequence.store(
                            position.wrapping_add(1).wrapping_sub(index),
                            Ordering::Release,
                        );
                        let read = self.read.load(Ordering::Relaxed);
                        return Push::Stored {
                            fill: position.wrapping_add(1).wrapping_sub(read),
                        };
                    }
                    Err(now) => position = now,
                }
            } else if lag < 0 {
                // The slot still holds a record from one lap ago: the ring is full.
                fetch_add(&self.dropped, 1, Ordering::Relaxed);
                return Push::Dropped;
            } else {
                // Another producer took this position; try the current one.
                position = self.write.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the oldest published record. Only one consumer may call this at a time (the
    /// module's own context guarantees it).
    pub fn pop(&self) -> Option<FlowRecord> {
        let position = self.read.load(Ordering::Relaxed);
        let index = position & Self::MASK;
        let slot = &self.slots[index as usize];
        let sequence = slot.sequence.load(Ordering::Acquire).wrapping_add(index);
        if sequence != position.wrapping_add(1) {
            // Empty, or the next producer has claimed but not yet published its slot.
            return None;
        }
        let record = slot.read();
        slot.sequence.store(
            position.wrapping_add(N as u32).wrapping_sub(index),
            Ordering::Release,
        );
        self.read.store(position.wrapping_add(1), Ordering::Relaxed);
        Some(record)
    }

    /// Records dropped because the ring was full, since it was made.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting (an estimate while producers run).
    pub fn len(&self) -> u32 {
        self.write
            .load(Ordering::Relaxed)
            .wrapping_sub(self.read.load(Ordering::Relaxed))
            .min(N as u32)
    }

    /// Whether no record is waiting (an estimate while producers run).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(not(loom))]
impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    pub(crate) fn record(n: u32, version: IpVersion) -> FlowRecord {
        let mut local = [0u8; 16];
        let mut remote = [0u8; 16];
        let width = if version == IpVersion::V4 { 4 } else { 16 };
        for i in 0..width {
            local[i] = (n as u8).wrapping_add(i as u8);
            remote[i] = (n >> 8) as u8 ^ i as u8;
        }
        FlowRecord {
            key: FlowKey {
                version,
                protocol: [TransportKind::Tcp, TransportKind::Udp, TransportKind::Icmp]
                    [n as usize % 3],
                local,
                remote,
                local_port: n as u16,
                remote_port: (n >> 16) as u16 ^ 0xBEEF,
            },
            direction: if n % 2 == 0 {
                Direction::In
            } else {
                Direction::Out
            },
            len: (n as u16).wrapping_mul(7),
            flags: TcpFlags(n as u8),
        }
    }

    /// RAM per ring slot, as documented.
    #[test]
    fn slot_size_is_the_documented_one() {
        assert_eq!(core::mem::size_of::<Slot>(), 44);
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
            assert_eq!(ring.push(&record(n, version)), Push::Stored { fill: n + 1 });
        }
        for n in 0..5 {
            let version = if n % 2 == 0 {
                IpVersion::V4
            } else {
                IpVersion::V6
            };
            assert_eq!(ring.pop(), Some(record(n, version)));
        }
        assert_eq!(ring.pop(), None);
    }

    #[test]
    fn a_full_ring_drops_and_counts() {
        let ring: Ring<4> = Ring::new();
        for n in 0..4 {
            assert!(matches!(
                ring.push(&record(n, IpVersion::V4)),
                Push::Stored { .. }
            ));
        }
        assert_eq!(ring.push(&record(9, IpVersion::V4)), Push::Dropped);
        assert_eq!(ring.push(&record(9, IpVersion::V4)), Push::Dropped);
        assert_eq!(ring.dropped(), 2);
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.pop(), Some(record(0, IpVersion::V4)));
        assert!(matches!(
            ring.push(&record(4, IpVersion::V4)),
            Push::Stored { fill: 4 }
        ));
        for n in 1..=4 {
            assert_eq!(ring.pop(), Some(record(n, IpVersion::V4)));
        }
        assert!(ring.is_empty());
    }

    /// A ring whose positions start at `start`, as if `start` records had passed.
    fn ring_at<const N: usize>(start: u32) -> Ring<N> {
        let ring = Ring::<N>::new();
        for i in 0..N as u32 {
            let position = start.wrapping_add(i);
            let index = (position & Ring::<N>::MASK) as usize;
            ring.slots[index]
                .sequence
                .store(position.wrapping_sub(index as u32), Ordering::Relaxed);
        }
        ring.write.store(start, Ordering::Relaxed);
        ring.read.store(start, Ordering::Relaxed);
        ring
    }

    #[test]
    fn positions_wrap_past_u32() {
        let ring: Ring<4> = ring_at(u32::MAX - 2);
        for n in 0..4 {
            assert!(matches!(
                ring.push(&record(n, IpVersion::V4)),
                Push::Stored { .. }
            ));
        }
        assert_eq!(ring.push(&record(99, IpVersion::V4)), Push::Dropped);
        assert_eq!(ring.len(), 4);
        for n in 0..4 {
            assert_eq!(ring.pop(), Some(record(n, IpVersion::V4)));
        }
        assert_eq!(ring.pop(), None);
        assert!(matches!(
            ring.push(&record(4, IpVersion::V4)),
            Push::Stored { fill: 1 }
        ));
        assert_eq!(ring.pop(), Some(record(4, IpVersion::V4)));
    }

    #[test]
    fn many_laps_reuse_every_slot() {
        let ring: Ring<4> = Ring::new();
        for n in 0..10_000 {
            assert!(matches!(
                ring.push(&record(n, IpVersion::V6)),
                Push::Stored { .. }
            ));
            assert_eq!(ring.pop(), Some(record(n, IpVersion::V6)));
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
                        // Producer id in the remote port, sequence in the local port + len.
                        let mut r = record(i, IpVersion::V4);
                        r.key.remote_port = p as u16;
                        r.key.local_port = i as u16;
                        r.len = (i >> 16) as u16;
                        if let Push::Stored { .. } = ring.push(&r) {
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
                    while let Some(r) = ring.pop() {
                        let seq = u32::from(r.len) << 16 | u32::from(r.key.local_port);
                        // Each producer's records arrive in the order it pushed them.
                        if let Some(prev) = last.insert(r.key.remote_port, seq) {
                            assert!(seq > prev, "producer {} went back", r.key.remote_port);
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
        assert!(ring.pop().is_none());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    fn record(n: u16) -> FlowRecord {
        FlowRecord {
            key: FlowKey {
                version: IpVersion::V4,
                protocol: TransportKind::Udp,
                local: [n as u8; 16],
                remote: [0; 16],
                local_port: n,
                remote_port: 0,
            },
            direction: Direction::In,
            len: n,
            flags: TcpFlags(0),
        }
    }

    /// Two producers race for the last free slots of a two-slot ring while the consumer
    /// drains: every interleaving keeps pushed + dropped == offered and no record is torn.
    #[test]
    fn producers_and_consumer_never_lose_or_tear() {
        loom::model(|| {
            let ring: Arc<Ring<2>> = Arc::new(Ring::new());
            let handles: Vec<_> = (1..=2u16)
                .map(|p| {
                    let ring = Arc::clone(&ring);
                    loom::thread::spawn(move || {
                        let mut stored = 0;
                        for i in 0..2u16 {
                            if let Push::Stored { .. } = ring.push(&record(p * 10 + i)) {
                                stored += 1;
                            }
                        }
                        stored
                    })
                })
                .collect();
            let mut popped = 0u32;
            for _ in 0..2 {
                if let Some(r) = ring.pop() {
                    assert_eq!(r.len, r.key.local_port, "torn record");
                    popped += 1;
                }
            }
            let stored: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
            while let Some(r) = ring.pop() {
                assert_eq!(r.len, r.key.local_port, "torn record");
                popped += 1;
            }
            assert_eq!(popped, stored);
            assert_eq!(stored + ring.dropped(), 4);
        });
    }
}
