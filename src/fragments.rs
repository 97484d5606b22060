//! Later fragments of a datagram, given to the flow of its first fragment.
//!
//! Only a datagram's first fragment carries its transport header, so only it names a flow.
//! In ip-input mode the IP packet filter sees every fragment, and the rest of a large UDP
//! datagram or ping would be lost to the flow's packets and bytes. So the consumer
//! remembers, for each first fragment it drains, what identifies its datagram (IP version,
//! direction, protocol, source, destination and identification) and the flow's ports, in a
//! table of `NXSM_FRAGMENT_ENTRIES` (default 8). A later fragment that matches an entry is
//! counted in that flow as one more packet of its own length, without TCP flags (fragments
//! of TCP are rare; flags are only in the first). One that matches none stays `ignored`: its
//! first fragment was not seen, came after it, was forgotten, or was of a protocol not
//! recorded.
//!
//! Bounded and simple on purpose: entries are written in turn, so when the table is full
//! the one written longest ago makes room; a first fragment of a datagram already in the
//! table (its identification reused) replaces that entry in place. An entry matches for
//! 15 s (IPv4, [`MAX_AGE_V4_S`](crate::fragments::MAX_AGE_V4_S)) or 60 s (IPv6,
//! [`MAX_AGE_V6_S`](crate::fragments::MAX_AGE_V6_S)) of drain time after the drain that
//! took its first fragment (NetX Duo's default reassembly times: a fragment later than that
//! would not be reassembled either), and never when the clock went back.

use crate::capture::{Captured, FlowRecord, Fragment};
use crate::config::capacity;
use crate::entry::head;
use crate::raw::Resolve;
use crate::time::UnixSeconds;
use crate::wire::{AddressWords, IpVersion};

/// Seconds of drain time an IPv4 first fragment is matched (`NX_IPV4_MAX_REASSEMBLY_TIME`).
pub const MAX_AGE_V4_S: u32 = 15;
/// Seconds of drain time an IPv6 first fragment is matched (`NX_IPV6_MAX_REASSEMBLY_TIME`).
pub const MAX_AGE_V6_S: u32 = 60;

/// Entries of the table.
const ENTRIES: usize = capacity::FRAGMENT_ENTRIES;

/// The head bits a datagram is known by: IP version, direction and protocol.
const KEY_BITS: u32 = head::V6 | head::OUT | head::KIND_MASK << head::KIND_SHIFT;
/// Set in the key of an entry in use (outside [`KEY_BITS`]).
const USED: u32 = 1 << 31;

/// A first fragment remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    /// [`KEY_BITS`] of its head, and [`USED`]; 0 for an empty entry.
    key: u32,
    /// The datagram's identification.
    id: u32,
    /// Source address as in the packet.
    src: AddressWords,
    /// Destination address as in the packet.
    dst: AddressWords,
    /// Its record's ports word.
    ports: u32,
    /// Drain time it was taken at.
    at: UnixSeconds,
}

impl Entry {
    const EMPTY: Self = Self {
        key: 0,
        id: 0,
        src: [0; 4],
        dst: [0; 4],
        ports: 0,
        at: 0,
    };

    /// Whether it is the datagram `fragment` (whose key is `key`) belongs to.
    fn is_of(&self, key: u32, fragment: &Fragment) -> bool {
        self.key == key
            && self.id == fragment.id
            && self.src == fragment.record.src
            && self.dst == fragment.record.dst
    }
}

/// The first fragments remembered (see the module's documentation).
#[derive(Debug)]
pub struct Fragments {
    entries: [Entry; ENTRIES],
    /// The entry the next new datagram takes: the one written longest ago.
    next: usize,
    /// The drain's time (see [`Fragments::set_clock`]).
    now: UnixSeconds,
}

impl Resolve for Fragments {
    #[inline(always)]
    fn resolve(&mut self, fragment: &Fragment) -> Captured {
        self.resolve_now(fragment)
    }
}

impl Default for Fragments {
    fn default() -> Self {
        Self::new()
    }
}

impl Fragments {
    /// An empty table (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            entries: [Entry::EMPTY; ENTRIES],
            next: 0,
            now: 0,
        }
    }

    /// What the drain counts for `fragment` at drain time `now`: a first fragment's record
    /// (remembered), or a later one's with the ports of its first fragment; `None` when no
    /// first fragment matches (the fragment is ignored). The flag tells a first fragment.
    pub fn take(&mut self, fragment: &Fragment, now: UnixSeconds) -> Option<(FlowRecord, bool)> {
        let record = fragment.record;
        let key = record.head & KEY_BITS | USED;
        let whole = record.head & !(head::FRAGMENT | head::TAIL);
        if fragment.is_first() {
            self.remember(key, fragment, now);
            return Some((
                FlowRecord {
                    head: whole,
                    ..record
                },
                true,
            ));
        }
        let max_age = match record.version() {
            IpVersion::V4 => MAX_AGE_V4_S,
            IpVersion::V6 => MAX_AGE_V6_S,
        };
        let first = self
            .entries
            .iter()
            .find(|entry| entry.is_of(key, fragment) && now.wrapping_sub(entry.at) <= max_age)?;
        Some((
            FlowRecord {
                head: whole,
                ports: first.ports,
                ..record
            },
            false,
        ))
    }

    /// Sets the drain time fragments are taken at (see [`Resolve`]).
    #[inline(always)]
    pub fn set_clock(&mut self, now: UnixSeconds) {
        self.now = now;
    }

    /// [`take`](Self::take) as the drain sees it, at the time of [`set_clock`](Self::set_clock):
    /// the record to count (a later fragment's keeps [`head::TAIL`], so that the drain tells
    /// detection nothing of it), or `Ignored`.
    #[inline(never)]
    fn resolve_now(&mut self, fragment: &Fragment) -> Captured {
        match self.take(fragment, self.now) {
            Some((record, true)) => Captured::Record(record),
            Some((record, false)) => Captured::Record(FlowRecord {
                head: record.head | head::TAIL,
                ..record
            }),
            None => Captured::Ignored,
        }
    }

    /// Keeps a first fragment: over its datagram's entry, else in the next entry in turn.
    fn remember(&mut self, key: u32, fragment: &Fragment, now: UnixSeconds) {
        let entry = Entry {
            key,
            id: fragment.id,
            src: fragment.record.src,
            dst: fragment.record.dst,
            ports: fragment.record.ports,
            at: now,
        };
        if let Some(same) = self.entries.iter_mut().find(|e| e.is_of(key, fragment)) {
            *same = entry;
            return;
        }
        if let Some(slot) = self.entries.get_mut(self.next) {
            *slot = entry;
        }
        self.next = if self.next + 1 >= ENTRIES {
            0
        } else {
            self.next + 1
        };
    }

    /// Entries in use.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.key != 0).count()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::capture::{capture, Direction};
    use crate::config::Protocols;
    use crate::wire::{HeaderOrder, TransportKind};
    use nxsm_test_packets::{ipv4, ipv6, to_host_order, v6_doc, Packet};

    const T0: u32 = 1_700_000_000;

    fn v4(src: [u8; 4]) -> Packet {
        ipv4(src, [192, 168, 1, 10])
    }

    /// IPv4 fragment bytes: `packet` with identification `id`, MF `more` and `offset`
    /// (8-byte units); a later fragment keeps only its IP header and 8 bytes.
    fn v4_fragment(packet: Packet, id: u16, more: bool, offset: u16) -> Vec<u8> {
        let mut bytes = packet.build();
        bytes[4..6].copy_from_slice(&id.to_be_bytes());
        let field = offset | if more { 0x2000 } else { 0 };
        bytes[6..8].copy_from_slice(&field.to_be_bytes());
        if offset != 0 {
            bytes.truncate(28);
            bytes[2..4].copy_from_slice(&28u16.to_be_bytes());
        }
        bytes
    }

    fn fragment_of(bytes: &[u8], direction: Direction, order: HeaderOrder) -> Fragment {
        match capture(bytes, direction, order, Protocols::ALL) {
            Ok(Captured::Fragment(fragment)) => fragment,
            other => panic!("{other:?}"),
        }
    }

    fn first(id: u16) -> Fragment {
        let udp = v4([20, 1, 2, 3]).udp(53, 40000).payload(1472);
        fragment_of(
            &v4_fragment(udp, id, true, 0),
            Direction::In,
            HeaderOrder::Network,
        )
    }

    fn tail(id: u16) -> Fragment {
        let udp = v4([20, 1, 2, 3]).udp(53, 40000);
        fragment_of(
            &v4_fragment(udp, id, false, 185),
            Direction::In,
            HeaderOrder::Network,
        )
    }

    #[test]
    fn a_tail_joins_its_first_fragments_flow() {
        let mut table = Fragments::new();
        let (head, is_first) = table.take(&first(7), T0).unwrap();
        assert!(is_first);
        assert_eq!(head.ports(), 40000 << 16 | 53);
        assert_eq!(head.payload_len(), 1480);
        assert_eq!(head.head & (head::FRAGMENT | head::TAIL), 0);
        let (rest, is_first) = table.take(&tail(7), T0 + 1).unwrap();
        assert!(!is_first);
        assert_eq!(rest.ports(), head.ports());
        assert_eq!((rest.payload_len(), rest.flags().0), (8, 0));
        assert_eq!(rest.protocol(), TransportKind::Udp);
        assert_eq!(rest.direction(), Direction::In);
        assert_eq!((rest.local(), rest.remote()), (head.local(), head.remote()));
        // Another datagram's tail, or one whose first fragment was not seen.
        assert_eq!(table.take(&tail(8), T0 + 1), None);
    }

    #[test]
    fn a_tail_before_its_first_fragment_is_not_counted() {
        let mut table = Fragments::new();
        assert_eq!(table.take(&tail(7), T0), None);
        assert!(table.take(&first(7), T0).is_some());
        assert!(table.take(&tail(7), T0).is_some());
    }

    #[test]
    fn the_oldest_entry_makes_room_when_full() {
        let mut table = Fragments::new();
        let count = ENTRIES as u16 + 1;
        for id in 0..count {
            table.take(&first(id), T0).unwrap();
        }
        assert_eq!(table.len(), ENTRIES);
        assert_eq!(
            table.take(&tail(0), T0),
            None,
            "the first one written made room"
        );
        for id in 1..count {
            assert!(table.take(&tail(id), T0).is_some(), "{id}");
        }
    }

    #[test]
    fn entries_age_out() {
        let mut table = Fragments::new();
        table.take(&first(1), T0).unwrap();
        assert!(table.take(&tail(1), T0 + MAX_AGE_V4_S).is_some());
        assert_eq!(table.take(&tail(1), T0 + MAX_AGE_V4_S + 1), None);
        // A clock gone back matches nothing either.
        assert_eq!(table.take(&tail(1), T0 - 1), None);
    }

    #[test]
    fn a_reused_identification_takes_the_new_ports_in_place() {
        let mut table = Fragments::new();
        table.take(&first(3), T0).unwrap();
        let other_port = v4([20, 1, 2, 3]).udp(53, 40001).payload(1472);
        let again = fragment_of(
            &v4_fragment(other_port, 3, true, 0),
            Direction::In,
            HeaderOrder::Network,
        );
        table.take(&again, T0 + 20).unwrap();
        assert_eq!(table.len(), 1);
        let (rest, _) = table.take(&tail(3), T0 + 21).unwrap();
        assert_eq!(rest.ports(), 40001 << 16 | 53);
    }

    #[test]
    fn protocol_addresses_and_direction_must_match() {
        let mut table = Fragments::new();
        table.take(&first(9), T0).unwrap();
        let icmp = v4([20, 1, 2, 3]).echo();
        let other_protocol = fragment_of(
            &v4_fragment(icmp, 9, false, 185),
            Direction::In,
            HeaderOrder::Network,
        );
        let udp = || v4([20, 1, 2, 4]).udp(53, 40000);
        let other_source = fragment_of(
            &v4_fragment(udp(), 9, false, 185),
            Direction::In,
            HeaderOrder::Network,
        );
        let to_other = ipv4([20, 1, 2, 3], [192, 168, 1, 11]).udp(53, 40000);
        let other_destination = fragment_of(
            &v4_fragment(to_other, 9, false, 185),
            Direction::In,
            HeaderOrder::Network,
        );
        let sent = v4([20, 1, 2, 3]).udp(53, 40000);
        let other_direction = fragment_of(
            &v4_fragment(sent, 9, false, 185),
            Direction::Out,
            HeaderOrder::Network,
        );
        for stranger in [
            other_protocol,
            other_source,
            other_destination,
            other_direction,
        ] {
            assert_eq!(table.take(&stranger, T0), None, "{stranger:?}");
        }
        assert!(table.take(&tail(9), T0).is_some());
    }

    /// An IPv6 UDP datagram's fragments fe80::1 -> 2001:db8::2 (identification `id`), in
    /// network order and as NetX Duo's receive path leaves them (fixed header words and
    /// the fragment header's offset-and-flags field in CPU order).
    fn v6_fragments(id: u32, order: HeaderOrder) -> [Fragment; 2] {
        let link_local = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let build = |offset: u16, more: bool| {
            let mut p = ipv6(link_local, v6_doc(2))
                .udp(5683, 40000)
                .payload(64)
                .build();
            // A fragment header between the fixed header and UDP.
            let field = offset << 3 | u16::from(more);
            let mut fragment = vec![17, 0, 0, 0];
            fragment[2..4].copy_from_slice(&field.to_be_bytes());
            fragment.extend_from_slice(&id.to_be_bytes());
            if order == HeaderOrder::Host {
                fragment[2..4].copy_from_slice(&field.to_ne_bytes());
            }
            p[6] = 44; // next header: fragment
            let mut bytes = p[..40].to_vec();
            bytes.extend_from_slice(&fragment);
            bytes.extend_from_slice(if offset == 0 { &p[40..] } else { &p[40..56] });
            let len = (bytes.len() - 40) as u16;
            bytes[4..6].copy_from_slice(&len.to_be_bytes());
            if order == HeaderOrder::Host {
                to_host_order(&mut bytes, 10);
            }
            fragment_of(&bytes, Direction::In, order)
        };
        [build(0, true), build(9, false)]
    }

    #[test]
    fn ipv6_fragment_headers_in_both_byte_orders() {
        for order in [HeaderOrder::Network, HeaderOrder::Host] {
            let mut table = Fragments::new();
            let [head, rest] = v6_fragments(0x1234_5678, order);
            assert!(head.is_first() && !rest.is_first(), "{order:?}");
            assert_eq!((head.id(), rest.id()), (0x1234_5678, 0x1234_5678));
            assert_eq!(rest.record().payload_len(), 16);
            let (counted, _) = table.take(&head, T0).unwrap();
            assert_eq!(counted.ports(), 40000 << 16 | 5683);
            let (counted, _) = table.take(&rest, T0 + MAX_AGE_V6_S).unwrap();
            assert_eq!(counted.ports(), 40000 << 16 | 5683);
            let [_, other] = v6_fragments(0x1234_5679, order);
            assert_eq!(table.take(&other, T0), None);
        }
    }
}
