//! Fixed-capacity flow tables: one per IP version, filled by the consumer from the ring.
//!
//! Flows live in a dense array (cheap to walk when a window is reported); a separate index
//! of at least twice as many slots finds them by hash with linear probing, so a lookup
//! costs a few probes even when the flow array is full. An index slot is one byte while a
//! table holds at most 255 flows (the default 64), two bytes above. When it is full, flows
//! already present keep counting and packets of new flows are counted as overflow: the
//! original stopped counting everything in that case.

// `#[inline(always)]` here: without it the drain takes 4 (IPv4) and 13 (IPv6) more
// instructions per record and the library 64 B more code (scripts/bench).

use crate::capture::{Direction, FlowRecord, IpVersion};
use crate::wire::{ipv4_octets, ipv6_octets, AddressWords, TcpFlags, TransportKind};
use heapless::Vec;

/// An address type a table is keyed by: 4 bytes for IPv4, 16 for IPv6. Byte arrays keep a
/// flow's key 2-byte aligned, which is what fits a flow in 40 (IPv4) or 64 (IPv6) bytes.
/// Lookups work on the address as words ([`Address::Words`]), which Cortex-M3 and up load
/// from the byte arrays with unaligned word loads.
pub trait Address: Copy + Eq + core::fmt::Debug {
    /// The address as [`AddressWords`]-style words: what lookups hash and compare, so a
    /// record's address is never taken apart into bytes on the way.
    type Words: Copy;
    /// This version's words of a record's address.
    fn words_of(record: &AddressWords) -> Self::Words;
    /// This address as words.
    fn words(&self) -> Self::Words;
    /// The address with these words.
    fn from_words(words: &Self::Words) -> Self;
    /// Zero when this address has these words, something else when not: comparisons are
    /// or-ed together and tested once, which costs fewer instructions than a branch each.
    fn difference(&self, words: &Self::Words) -> u32;
    /// Folds the words into one for hashing.
    fn fold(words: &Self::Words) -> u32;
    /// The address octets in wire order.
    fn octets(&self) -> &[u8];
}

impl Address for [u8; 4] {
    type Words = u32;
    #[inline(always)]
    fn words_of(record: &AddressWords) -> u32 {
        record[0]
    }
    #[inline(always)]
    fn words(&self) -> u32 {
        u32::from_ne_bytes(*self)
    }
    fn from_words(words: &u32) -> Self {
        ipv4_octets(&[*words, 0, 0, 0])
    }
    #[inline(always)]
    fn difference(&self, words: &u32) -> u32 {
        self.words() ^ *words
    }
    #[inline(always)]
    fn fold(words: &u32) -> u32 {
        *words
    }
    fn octets(&self) -> &[u8] {
        self
    }
}

impl Address for [u8; 16] {
    type Words = AddressWords;
    #[inline(always)]
    fn words_of(record: &AddressWords) -> AddressWords {
        *record
    }
    #[inline(always)]
    fn words(&self) -> AddressWords {
        let word = |at| u32::from_ne_bytes(crate::wire::quad(self, at));
        [word(0), word(4), word(8), word(12)]
    }
    fn from_words(words: &AddressWords) -> Self {
        ipv6_octets(words)
    }
    #[inline(always)]
    fn difference(&self, words: &AddressWords) -> u32 {
        // Word by word: an array `==` becomes a call to `bcmp`.
        let ([a, b, c, d], [e, f, g, h]) = (self.words(), *words);
        (a ^ e) | (b ^ f) | (c ^ g) | (d ^ h)
    }
    #[inline(always)]
    fn fold(words: &AddressWords) -> u32 {
        let [a, b, c, d] = *words;
        a ^ b.rotate_left(5) ^ c.rotate_left(10) ^ d.rotate_left(15)
    }
    fn octets(&self) -> &[u8] {
        self
    }
}

/// A flow key within one IP version. `repr(C)` keeps the two ports next to each other, so
/// that lookups compare them as one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Key<A> {
    /// Device-side address.
    pub local: A,
    /// Peer address.
    pub remote: A,
    /// Device-side port.
    pub local_port: u16,
    /// Peer port.
    pub remote_port: u16,
    /// Transport protocol.
    pub protocol: TransportKind,
}

/// A flow key in the form lookups use: addresses as words, both ports in one word and the
/// protocol as its number (`TransportKind as u32`).
#[derive(Clone, Copy)]
struct Probe<A: Address> {
    local: A::Words,
    remote: A::Words,
    /// Peer port << 16 | device-side port: on a little-endian core this is the word a
    /// `Key`'s two port fields make in memory, so comparing them is one load.
    ports: u32,
    protocol: u32,
}

impl<A: Address> Probe<A> {
    /// The key of a record (whose version must match `A`).
    #[inline(always)]
    fn of_record(record: &FlowRecord) -> Self {
        Self {
            local: A::words_of(record.local()),
            remote: A::words_of(record.remote()),
            ports: record.ports().rotate_left(16),
            protocol: record.protocol_bits(),
        }
    }

    fn of_key(key: &Key<A>) -> Self {
        Self {
            local: key.local.words(),
            remote: key.remote.words(),
            ports: ports_word(key.local_port, key.remote_port),
            protocol: key.protocol as u32,
        }
    }

    fn key(&self) -> Key<A> {
        Key {
            local: A::from_words(&self.local),
            remote: A::from_words(&self.remote),
            local_port: self.ports as u16,
            remote_port: (self.ports >> 16) as u16,
            protocol: match self.protocol {
                0 => TransportKind::Tcp,
                1 => TransportKind::Udp,
                _ => TransportKind::Icmp,
            },
        }
    }

    #[inline(always)]
    fn hash(&self) -> u32 {
        (A::fold(&self.local) ^ A::fold(&self.remote).rotate_left(16) ^ self.ports ^ self.protocol)
            .wrapping_mul(0x9E37_79B1)
    }

    #[inline(always)]
    fn matches(&self, flow: &Flow<A>) -> bool {
        flow.local.difference(&self.local)
            | flow.remote.difference(&self.remote)
            | (ports_word(flow.local_port, flow.remote_port) ^ self.ports)
            | (flow.protocol as u32 ^ self.protocol)
            == 0
    }
}

/// Who opened a flow as far as one packet tells (sent `direction`, carrying `flags`): the
/// sender of a TCP SYN without ACK; else the side with the higher port; with equal ports
/// or none, the sender (see [`Flow::new`]).
pub fn opened_by(
    local_port: u16,
    remote_port: u16,
    direction: Direction,
    flags: TcpFlags,
) -> Direction {
    if flags.0 & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN {
        return direction;
    }
    match local_port.cmp(&remote_port) {
        core::cmp::Ordering::Greater => Direction::Out,
        core::cmp::Ordering::Less => Direction::In,
        core::cmp::Ordering::Equal => direction,
    }
}

/// Two ports as [`Probe::ports`] holds them.
#[inline(always)]
fn ports_word(local_port: u16, remote_port: u16) -> u32 {
    u32::from(remote_port) << 16 | u32::from(local_port)
}

/// Counters of one direction of a flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionCounters {
    /// IP payload bytes (saturating).
    pub bytes: u32,
    /// Packets (saturating).
    pub packets: u32,
}

/// One flow of the current window. Its key's fields are its first five: laid out in this
/// order (`repr(C)`) the four one-byte fields fill what would be a key's padding, and a
/// flow stays 40 (IPv4) or 64 (IPv6) bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Flow<A> {
    /// Device-side address.
    pub local: A,
    /// Peer address.
    pub remote: A,
    /// Device-side port.
    pub local_port: u16,
    /// Peer port.
    pub remote_port: u16,
    /// Transport protocol.
    pub protocol: TransportKind,
    /// Union of the TCP flags received.
    pub flags_in: TcpFlags,
    /// Union of the TCP flags sent.
    pub flags_out: TcpFlags,
    /// Who opened it (`Out`: the device, `In`: the peer): see [`Flow::new`].
    pub initiator: Direction,
    /// Received traffic.
    pub inbound: DirectionCounters,
    /// Sent traffic.
    pub outbound: DirectionCounters,
    /// Time of its first packet in the window, seconds.
    pub first_seen: u32,
    /// Time of its last packet in the window, seconds.
    pub last_seen: u32,
}

impl<A: Copy> Flow<A> {
    /// A flow of `key` with nothing counted yet, whose first packet went `first`.
    ///
    /// Its initiator is the sender of a TCP SYN without ACK once one is seen (see
    /// [`FlowTable::update`]). Until then it is the side with the higher port, the client's
    /// ephemeral port in practice (so a connection older than the window is not taken for
    /// one the peer opened when the peer speaks first in it), and the sender of the first
    /// packet when both ports are equal or there are none (ICMP).
    pub fn new(key: Key<A>, now: u32, first: Direction) -> Self {
        let initiator = opened_by(key.local_port, key.remote_port, first, TcpFlags(0));
        Self {
            local: key.local,
            remote: key.remote,
            local_port: key.local_port,
            remote_port: key.remote_port,
            protocol: key.protocol,
            flags_in: TcpFlags(0),
            flags_out: TcpFlags(0),
            initiator,
            inbound: DirectionCounters::default(),
            outbound: DirectionCounters::default(),
            first_seen: now,
            last_seen: now,
        }
    }

    /// What identifies it.
    pub fn key(&self) -> Key<A> {
        Key {
            local: self.local,
            remote: self.remote,
            local_port: self.local_port,
            remote_port: self.remote_port,
            protocol: self.protocol,
        }
    }
}

/// What a table did with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// Added to an existing flow.
    Counted,
    /// Added to a new flow: the first packet of this key in the window.
    Opened,
    /// A new flow, but the table is full: counted as overflow.
    Overflow,
}

/// A table of at most `N` flows with an index of `S` slots (a power of two, `S >= 2N`).
/// `H` is [`index_high_bytes`]`(N, S)`: 0 when an index entry fits one byte (`N <= 255`),
/// otherwise `S` (a second byte per slot).
#[derive(Debug)]
pub struct FlowTable<A, const N: usize, const S: usize, const H: usize = 0> {
    /// The closed window's flows waiting to be reported (`..closed`), then the open
    /// window's (`closed..`).
    flows: Vec<Flow<A>, N>,
    /// How many flows at the front belong to the closed window (see [`Self::close`]).
    closed: usize,
    /// Index entries, low byte: 0 = empty, otherwise position in `flows` + 1.
    index: [u8; S],
    /// Their high bytes, when `N > 255`; empty otherwise (every read of it is then `None`,
    /// which the compiler folds away).
    index_high: [u8; H],
}

/// Moves every index entry (low bytes, and high bytes when there are) `count` positions
/// down; empty entries stay empty. One copy for every table, whatever its types.
fn shift_entries(low: &mut [u8], high: &mut [u8], count: usize) {
    for (slot, low) in low.iter_mut().enumerate() {
        let high = high.get_mut(slot);
        let entry = high.as_deref().map_or(0, |h| usize::from(*h) << 8) | usize::from(*low);
        if entry == 0 {
            continue;
        }
        let entry = entry.saturating_sub(count);
        *low = entry as u8;
        if let Some(high) = high {
            *high = (entry >> 8) as u8;
        }
    }
}

/// Bytes of a table's second index array: none while every entry (at most `flows`) fits
/// one byte, one per index slot above.
pub const fn index_high_bytes(flows: usize, slots: usize) -> usize {
    if flows > u8::MAX as usize {
        slots
    } else {
        0
    }
}

impl<A: Address, const N: usize, const S: usize, const H: usize> Default for FlowTable<A, N, S, H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Address, const N: usize, const S: usize, const H: usize> FlowTable<A, N, S, H> {
    const SHIFT: u32 = {
        assert!(S.is_power_of_two() && S >= 2 * N && N < u16::MAX as usize);
        assert!(H == index_high_bytes(N, S));
        32 - S.trailing_zeros()
    };

    /// An empty table (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            flows: Vec::new(),
            closed: 0,
            index: [0; S],
            index_high: [0; H],
        }
    }

    /// Adds one packet to its flow.
    pub fn update(
        &mut self,
        key: Key<A>,
        direction: Direction,
        len: u16,
        flags: TcpFlags,
        now: u32,
    ) -> Update {
        self.count(Probe::of_key(&key), direction, len, flags, now)
    }

    /// Adds one record to its flow; the record's IP version must be this table's.
    #[inline]
    pub fn update_record(&mut self, record: &FlowRecord, now: u32) -> Update {
        let (len, flags) = (record.payload_len(), record.flags());
        self.count(
            Probe::of_record(record),
            record.direction(),
            len,
            flags,
            now,
        )
    }

    #[inline(always)]
    fn count(
        &mut self,
        probe: Probe<A>,
        direction: Direction,
        len: u16,
        flags: TcpFlags,
        now: u32,
    ) -> Update {
        let before = self.flows.len();
        let Some(flow) = self.find_or_insert(probe, now, direction) else {
            return Update::Overflow;
        };
        if flags.0 & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN {
            flow.initiator = direction;
        }
        let (side, seen_flags) = match direction {
            Direction::In => (&mut flow.inbound, &mut flow.flags_in),
            Direction::Out => (&mut flow.outbound, &mut flow.flags_out),
        };
        side.bytes = side.bytes.saturating_add(u32::from(len));
        side.packets = side.packets.saturating_add(1);
        seen_flags.0 |= flags.0;
        flow.last_seen = flow.last_seen.max(now);
        if self.flows.len() == before {
            Update::Counted
        } else {
            Update::Opened
        }
    }

    /// The flows of the open window, in order of first appearance.
    pub fn flows(&self) -> &[Flow<A>] {
        self.flows.get(self.closed..).unwrap_or_default()
    }

    /// Flows of the open window.
    pub fn len(&self) -> usize {
        self.flows.len().saturating_sub(self.closed)
    }

    /// Whether the open window has no flow.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The open window's flows, to set counters a test cannot reach by packets.
    #[cfg(test)]
    pub(crate) fn flows_mut(&mut self) -> &mut [Flow<A>] {
        self.flows.get_mut(self.closed..).unwrap_or_default()
    }

    /// The closed window's flows, still to be reported.
    pub fn closed(&self) -> &[Flow<A>] {
        self.flows.get(..self.closed).unwrap_or_default()
    }

    /// Ends the open window without forgetting it: its flows stay, frozen, in
    /// [`closed`](Self::closed) until [`release_closed`](Self::release_closed), and new
    /// packets of the same keys start new flows. They share the table's capacity.
    pub fn close(&mut self) {
        self.closed = self.flows.len();
        self.index = [0; S];
        self.index_high = [0; H];
    }

    /// Forgets the closed window (once it is reported).
    pub fn release_closed(&mut self) {
        self.release_front(self.closed);
    }

    /// Forgets the first `count` flows of the closed window (those already reported): the
    /// rest move to the front and the open window's flows are indexed again.
    pub fn release_front(&mut self, count: usize) {
        let count = count.min(self.closed);
        if count == 0 {
            return;
        }
        let kept = self.flows.len() - count;
        for to in 0..kept {
            if let Some(flow) = self.flows.get(to + count).copied() {
                if let Some(slot) = self.flows.get_mut(to) {
                    *slot = flow;
                }
            }
        }
        self.flows.truncate(kept);
        self.closed -= count;
        // Since `close` the index holds open flows only, each `count` places further on.
        shift_entries(&mut self.index, &mut self.index_high, count);
    }

    /// Starts a new window, forgetting every flow.
    pub fn clear(&mut self) {
        self.flows.clear();
        self.closed = 0;
        self.index = [0; S];
        self.index_high = [0; H];
    }

    /// The flow of `key`, added when there is room.
    #[inline]
    fn find_or_insert(
        &mut self,
        probe: Probe<A>,
        now: u32,
        direction: Direction,
    ) -> Option<&mut Flow<A>> {
        let mask = S - 1;
        let mut slot = (probe.hash() >> Self::SHIFT) as usize;
        // The index is never more than half full, so an empty slot ends every probe run.
        for _ in 0..S {
            let low = *self.index.get(slot)?;
            let high = self.index_high.get(slot).map_or(0, |high| *high);
            let entry = usize::from(high) << 8 | usize::from(low);
            if entry == 0 {
                return self.insert(slot, probe.key(), now, direction);
            }
            let position = entry - 1;
            if self.flows.get(position).is_some_and(|f| probe.matches(f)) {
                return self.flows.get_mut(position);
            }
            slot = (slot + 1) & mask;
        }
        None
    }

    /// Adds a flow for `key` at index slot `slot`, if the array has room. Out of line: new
    /// flows are rare, and the lookup loop stays small.
    #[inline(never)]
    fn insert(
        &mut self,
        slot: usize,
        key: Key<A>,
        now: u32,
        direction: Direction,
    ) -> Option<&mut Flow<A>> {
        let position = self.flows.len();
        let flow = Flow::new(key, now, direction);
        self.flows.push(flow).ok()?;
        let entry = position + 1;
        *self.index.get_mut(slot)? = entry as u8;
        if let Some(high) = self.index_high.get_mut(slot) {
            *high = (entry >> 8) as u8;
        }
        self.flows.last_mut()
    }
}

/// The IPv4 and IPv6 tables with the build-time capacities, and the overflow count.
#[derive(Debug, Default)]
pub struct Flows {
    /// IPv4 flows.
    pub v4: FlowTable<
        [u8; 4],
        { crate::config::capacity::MAX_FLOWS_V4 },
        { crate::config::capacity::FLOW_INDEX_V4 },
        {
            index_high_bytes(
                crate::config::capacity::MAX_FLOWS_V4,
                crate::config::capacity::FLOW_INDEX_V4,
            )
        },
    >,
    /// IPv6 flows.
    pub v6: FlowTable<
        [u8; 16],
        { crate::config::capacity::MAX_FLOWS_V6 },
        { crate::config::capacity::FLOW_INDEX_V6 },
        {
            index_high_bytes(
                crate::config::capacity::MAX_FLOWS_V6,
                crate::config::capacity::FLOW_INDEX_V6,
            )
        },
    >,
}

impl Flows {
    /// Empty tables (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            v4: FlowTable::new(),
            v6: FlowTable::new(),
        }
    }

    /// Adds one record to its table.
    #[inline]
    pub fn apply(&mut self, record: &FlowRecord, now: u32) -> Update {
        match record.version() {
            IpVersion::V4 => self.v4.update_record(record, now),
            IpVersion::V6 => self.v6.update_record(record, now),
        }
    }

    /// Starts a new window in both tables.
    pub fn clear(&mut self) {
        self.v4.clear();
        self.v6.clear();
    }

    /// Closes the open window in both tables (see [`FlowTable::close`]).
    pub fn close(&mut self) {
        self.v4.close();
        self.v6.close();
    }

    /// Forgets the closed window in both tables.
    pub fn release_closed(&mut self) {
        self.v4.release_closed();
        self.v6.release_closed();
    }

    /// Forgets the first `v4` and `v6` flows of the closed window in each table.
    pub fn release_front(&mut self, v4: usize, v6: usize) {
        self.v4.release_front(v4);
        self.v6.release_front(v6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> Key<[u8; 4]> {
        Key {
            local: [192, 168, 1, 10],
            remote: n.to_be_bytes(),
            local_port: 40000 + (n % 1000) as u16,
            remote_port: 443,
            protocol: TransportKind::Tcp,
        }
    }

    #[test]
    fn the_initiator_is_the_syn_sender_else_the_higher_port_else_the_first_sender() {
        let mut table: FlowTable<[u8; 4], 8, 16> = FlowTable::new();
        let with = |local_port, remote_port, protocol| Key {
            local_port,
            remote_port,
            protocol,
            ..key(1)
        };
        // The device's connection to port 443, older than the window: the peer speaks
        // first, the device's higher (ephemeral) port still makes it the device's.
        let client = with(40_001, 443, TransportKind::Tcp);
        table.update(client, Direction::In, 40, TcpFlags(0x10), 100);
        // A service on the device's port 8080: the peer's higher port makes it the peer's,
        // whoever speaks first.
        let server = with(8080, 51_000, TransportKind::Udp);
        table.update(server, Direction::Out, 30, TcpFlags(0), 100);
        // Equal ports (NTP, mDNS) and ICMP: the first sender.
        let ntp = with(123, 123, TransportKind::Udp);
        table.update(ntp, Direction::In, 48, TcpFlags(0), 100);
        table.update(ntp, Direction::Out, 48, TcpFlags(0), 101);
        let ping = with(0, 0, TransportKind::Icmp);
        table.update(ping, Direction::Out, 64, TcpFlags(0), 100);
        // A SYN without ACK decides over the ports: here the peer connects from a lower
        // port to the device's higher one.
        let inbound = with(50_000, 1_000, TransportKind::Tcp);
        table.update(inbound, Direction::Out, 40, TcpFlags(0x10), 100);
        table.update(inbound, Direction::In, 40, TcpFlags(0x02), 101);
        // A SYN-ACK or a plain ACK changes nothing.
        table.update(inbound, Direction::Out, 40, TcpFlags(0x12), 102);
        table.update(inbound, Direction::Out, 40, TcpFlags(0x10), 103);
        let initiators: Vec<Direction, 8> = table.flows().iter().map(|f| f.initiator).collect();
        assert_eq!(
            initiators,
            [
                Direction::Out,
                Direction::In,
                Direction::In,
                Direction::Out,
                Direction::In
            ]
        );
    }

    #[test]
    fn counts_per_direction_and_unions_flags() {
        let mut table: FlowTable<[u8; 4], 4, 8> = FlowTable::new();
        let k = key(1);
        assert_eq!(
            table.update(k, Direction::Out, 40, TcpFlags(0x02), 100),
            Update::Opened
        );
        assert_eq!(
            table.update(k, Direction::In, 40, TcpFlags(0x12), 101),
            Update::Counted
        );
        assert_eq!(
            table.update(k, Direction::Out, 1000, TcpFlags(0x10), 105),
            Update::Counted
        );
        let [flow] = table.flows() else { panic!() };
        assert_eq!(
            flow.outbound,
            DirectionCounters {
                bytes: 1040,
                packets: 2
            }
        );
        assert_eq!(
            flow.inbound,
            DirectionCounters {
                bytes: 40,
                packets: 1
            }
        );
        assert_eq!(
            (flow.flags_out, flow.flags_in),
            (TcpFlags(0x12), TcpFlags(0x12))
        );
        assert_eq!((flow.first_seen, flow.last_seen), (100, 105));
    }

    #[test]
    fn a_full_table_keeps_counting_known_flows() {
        let mut table: FlowTable<[u8; 4], 4, 8> = FlowTable::new();
        for n in 0..4 {
            assert_eq!(
                table.update(key(n), Direction::In, 10, TcpFlags(0), 1),
                Update::Opened
            );
        }
        for n in 4..100 {
            assert_eq!(
                table.update(key(n), Direction::In, 10, TcpFlags(0), 1),
                Update::Overflow
            );
        }
        for n in 0..4 {
            assert_eq!(
                table.update(key(n), Direction::Out, 5, TcpFlags(0), 2),
                Update::Counted
            );
        }
        assert_eq!(table.len(), 4);
        assert!(table
            .flows()
            .iter()
            .all(|f| f.inbound.bytes == 10 && f.outbound.bytes == 5));
    }

    #[test]
    fn counters_saturate() {
        let mut table: FlowTable<[u8; 4], 1, 2> = FlowTable::new();
        for _ in 0..70_000 {
            table.update(key(0), Direction::In, u16::MAX, TcpFlags(0), 0);
        }
        assert_eq!(table.flows()[0].inbound.bytes, u32::MAX);
        assert_eq!(table.flows()[0].inbound.packets, 70_000);
    }

    #[test]
    fn clear_starts_a_new_window() {
        let mut table: FlowTable<[u8; 4], 2, 4> = FlowTable::new();
        table.update(key(0), Direction::In, 1, TcpFlags(0), 0);
        table.update(key(1), Direction::In, 1, TcpFlags(0), 0);
        table.clear();
        assert!(table.is_empty());
        assert_eq!(
            table.update(key(2), Direction::In, 1, TcpFlags(0), 0),
            Update::Opened
        );
        assert_eq!(
            table.update(key(1), Direction::In, 1, TcpFlags(0), 0),
            Update::Opened
        );
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn matches_a_reference_map_on_many_keys() {
        use std::collections::HashMap;
        let mut table: FlowTable<[u8; 16], 64, 128> = FlowTable::new();
        let mut reference: HashMap<(u32, u16), (u32, u32)> = HashMap::new();
        let mut overflow = 0;
        let mut seed = 12345u32;
        for step in 0..20_000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let n = (seed >> 8) % 90; // more distinct keys than slots
            let mut local = [0u8; 16];
            local[..4].copy_from_slice(&n.to_be_bytes());
            let k = Key {
                local,
                remote: [7; 16],
                local_port: (n * 3) as u16,
                remote_port: 53,
                protocol: TransportKind::Udp,
            };
            let known = reference.contains_key(&(n, k.local_port));
            let len = (step % 1500) as u16;
            let update = table.update(k, Direction::Out, len, TcpFlags(0), step);
            match update {
                Update::Counted | Update::Opened => {
                    assert_eq!(known, matches!(update, Update::Counted));
                    let e = reference.entry((n, k.local_port)).or_default();
                    e.0 += u32::from(len);
                    e.1 += 1;
                }
                Update::Overflow => {
                    assert!(!known && reference.len() == 64);
                    overflow += 1;
                }
            }
        }
        assert!(overflow > 0);
        assert_eq!(table.len(), reference.len());
        for flow in table.flows() {
            let n = u32::from_be_bytes(flow.local[..4].try_into().unwrap());
            assert_eq!(
                reference[&(n, flow.local_port)],
                (flow.outbound.bytes, flow.outbound.packets)
            );
        }
    }

    /// RAM per flow slot and per index slot, as documented; a change here is a change to
    /// the memory budget.
    #[test]
    fn slot_sizes_are_the_documented_ones() {
        use core::mem::size_of;
        assert_eq!(size_of::<Flow<[u8; 4]>>(), 40);
        assert_eq!(size_of::<Flow<[u8; 16]>>(), 64);
        // One byte per index slot up to 255 flows, two above, and the closed-window count.
        let closed = size_of::<usize>();
        let vec = size_of::<Vec<Flow<[u8; 4]>, 64>>();
        assert_eq!(size_of::<FlowTable<[u8; 4], 64, 128>>(), vec + closed + 128);
        let vec = size_of::<Vec<Flow<[u8; 4]>, 300>>();
        assert_eq!(
            size_of::<FlowTable<[u8; 4], 300, 1024, 1024>>(),
            vec + closed + 2048
        );
        assert_eq!(index_high_bytes(255, 512), 0);
        assert_eq!(index_high_bytes(256, 512), 512);
    }

    #[test]
    fn an_index_of_two_bytes_finds_flows_past_255() {
        let mut table: FlowTable<[u8; 4], 600, 2048, 2048> = FlowTable::new();
        for round in 0..2 {
            for n in 0..700 {
                let expected = if n >= 600 {
                    Update::Overflow
                } else if round == 0 {
                    Update::Opened
                } else {
                    Update::Counted
                };
                let update = table.update(key(n), Direction::In, 10, TcpFlags(0), round);
                assert_eq!(update, expected);
            }
        }
        assert_eq!(table.len(), 600);
        for (n, flow) in table.flows().iter().enumerate() {
            assert_eq!(flow.key(), key(n as u32));
            assert_eq!((flow.inbound.packets, flow.last_seen), (2, 1));
        }
        table.clear();
        assert!(table.is_empty());
        assert_eq!(
            table.update(key(599), Direction::In, 1, TcpFlags(0), 0),
            Update::Opened
        );
        assert_eq!(table.flows()[0].key(), key(599));
    }

    #[test]
    fn ipv6_keys_are_distinct_across_all_words() {
        let mut table: FlowTable<[u8; 16], 16, 32> = FlowTable::new();
        for byte in 0..16 {
            let mut local = [0u8; 16];
            local[byte] = 1;
            let k = Key {
                local,
                remote: [0; 16],
                local_port: 1,
                remote_port: 2,
                protocol: TransportKind::Icmp,
            };
            assert_eq!(
                table.update(k, Direction::In, 8, TcpFlags(0), 0),
                Update::Opened
            );
        }
        assert_eq!(table.len(), 16);
    }

    /// A closed window stays frozen while new packets of the same keys start new flows;
    /// releasing it in steps keeps every open flow findable.
    #[test]
    fn a_closed_window_is_frozen_and_released_in_steps() {
        let mut table: FlowTable<[u8; 4], 8, 16> = FlowTable::new();
        for n in 0..5 {
            table.update(key(n), Direction::Out, 10, TcpFlags(0), 1);
        }
        table.close();
        assert_eq!((table.closed().len(), table.len()), (5, 0));
        for n in 3..6 {
            // Keys of the closed window start new flows in the open one.
            assert_eq!(
                table.update(key(n), Direction::In, 7, TcpFlags(0), 2),
                Update::Opened
            );
        }
        // Capacity is shared: 5 closed + 3 open fill the 8 slots.
        assert_eq!(
            table.update(key(9), Direction::In, 7, TcpFlags(0), 2),
            Update::Overflow
        );
        assert!(table
            .closed()
            .iter()
            .all(|f| f.outbound.bytes == 10 && f.inbound.packets == 0));
        table.release_front(2);
        assert_eq!(table.closed().len(), 3);
        assert_eq!(table.closed()[0].key(), key(2));
        table.release_closed();
        assert!(table.closed().is_empty());
        for n in 3..6 {
            table.update(key(n), Direction::In, 7, TcpFlags(0), 3);
        }
        let open: std::vec::Vec<_> = table
            .flows()
            .iter()
            .map(|f| (f.key(), f.inbound.packets))
            .collect();
        assert_eq!(open, [(key(3), 2), (key(4), 2), (key(5), 2)]);
    }
}
