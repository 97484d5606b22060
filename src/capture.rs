//! From the header bytes a hook sees to a compact flow record.
//!
//! Direction decides which side is local, as in the original module: a received packet's
//! destination is local, a sent packet's source is. The record keeps the packet's own
//! source and destination and applies that rule when it is read ([`FlowRecord::local`](crate::capture::FlowRecord::local)),
//! so the hook does no shuffling and the consumer does it once per record.

// `#[inline(always)]` here: without it the IPv4 drain takes 4 more instructions per record
// and the library 64 B more code (scripts/bench).

use crate::config::Protocols;
use crate::entry::{self, head, record};
use crate::ring::{Entry, Oldest, Push, Ring};
use crate::wire::{
    self, AddressWords, Datagram, HeaderOrder, Malformed, Parsed, TcpFlags, Transport,
    TransportKind,
};

pub use crate::wire::IpVersion;

/// Whether the device received or sent the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received (NetX Duo `NX_IP_PACKET_IN`).
    In = 0,
    /// Sent (NetX Duo `NX_IP_PACKET_OUT`).
    Out = 1,
}

/// One packet, reduced to what aggregation needs and packed into the words the ring
/// stores, so that pushing it is a copy of four words (IPv4) or ten (IPv6). Its bits and
/// words are laid out in [`crate::entry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowRecord {
    /// The entry's head word ([`entry::head`]): version, direction, protocol, TCP flags and
    /// IP payload length.
    pub(crate) head: u32,
    /// Source port << 16 | destination port, as in the packet.
    pub(crate) ports: u32,
    /// Source address as in the packet (IPv4: word 0, the rest 0).
    pub(crate) src: AddressWords,
    /// Destination address as in the packet.
    pub(crate) dst: AddressWords,
}

/// Protocol of a head word's bits 2-3, by table: a `match` costs a chain of conditional moves.
const KINDS: [TransportKind; 4] = [
    TransportKind::Tcp,
    TransportKind::Udp,
    TransportKind::Icmp,
    TransportKind::Icmp,
];

impl FlowRecord {
    /// The record of `packet`, received or sent.
    #[inline(always)]
    pub fn new(direction: Direction, packet: &Datagram) -> Self {
        let transport = &packet.transport;
        Self {
            head: (packet.version as u32 * head::V6)
                | (direction as u32 * head::OUT)
                | (transport.kind as u32) << head::KIND_SHIFT
                | u32::from(transport.flags.0) << head::FLAGS_SHIFT
                | u32::from(packet.len) << head::PAYLOAD_SHIFT,
            ports: transport.ports,
            src: packet.src,
            dst: packet.dst,
        }
    }

    /// IP version.
    #[inline(always)]
    pub fn version(&self) -> IpVersion {
        entry::version(self.head)
    }

    /// Received or sent.
    #[inline(always)]
    pub fn direction(&self) -> Direction {
        if self.head & head::OUT == 0 {
            Direction::In
        } else {
            Direction::Out
        }
    }

    /// Transport protocol.
    #[inline(always)]
    pub fn protocol(&self) -> TransportKind {
        KINDS[self.protocol_bits() as usize]
    }

    /// The protocol as its bits (`TransportKind as u32`), for lookups that only compare it.
    #[inline(always)]
    pub fn protocol_bits(&self) -> u32 {
        (self.head >> head::KIND_SHIFT) & head::KIND_MASK
    }

    /// TCP flags (0 for UDP and ICMP).
    #[inline(always)]
    pub fn flags(&self) -> TcpFlags {
        TcpFlags((self.head >> head::FLAGS_SHIFT) as u8)
    }

    /// IP payload bytes (transport header and data).
    #[inline(always)]
    pub fn payload_len(&self) -> u16 {
        (self.head >> head::PAYLOAD_SHIFT) as u16
    }

    /// The device-side address.
    #[inline(always)]
    pub fn local(&self) -> &AddressWords {
        match self.direction() {
            Direction::In => &self.dst,
            Direction::Out => &self.src,
        }
    }

    /// The peer address.
    #[inline(always)]
    pub fn remote(&self) -> &AddressWords {
        match self.direction() {
            Direction::In => &self.src,
            Direction::Out => &self.dst,
        }
    }

    /// Device-side port << 16 | peer port (0 for ICMP).
    #[inline(always)]
    pub fn ports(&self) -> u32 {
        match self.direction() {
            Direction::In => self.ports.rotate_left(16),
            Direction::Out => self.ports,
        }
    }

    /// Who opened the flow as far as this packet tells ([`crate::flows::opened_by`]).
    pub fn initiator(&self) -> Direction {
        let ports = self.ports();
        crate::flows::opened_by(
            (ports >> 16) as u16,
            ports as u16,
            self.direction(),
            self.flags(),
        )
    }

    /// Offers the record to `ring`; never waits.
    #[inline]
    pub fn push_to<const N: usize>(&self, ring: &Ring<N>) -> Push {
        ring.push(self.head, |entry| self.store(entry))
    }

    /// Stores the record's words in a claimed entry (the push stores its head word).
    #[inline(always)]
    fn store(&self, entry: Entry<'_>) {
        entry.set(record::PORTS, self.ports);
        let wide = self.version() == IpVersion::V6;
        store_address(entry, record::SRC, &self.src, wide);
        store_address(entry, record::DST, &self.dst, wide);
    }

    /// The record in the oldest entry. `version` must be its head word's: pass it as a
    /// constant in a `match` on it, so that each arm reads only what its version needs (no
    /// IPv6 words carried through the IPv4 path).
    #[inline(always)]
    pub fn load<const N: usize>(oldest: &Oldest<'_, N>, version: IpVersion) -> Self {
        let wide = version == IpVersion::V6;
        Self {
            head: oldest.head(),
            ports: oldest.word(record::PORTS),
            src: load_address(oldest, record::SRC, wide),
            dst: load_address(oldest, record::DST, wide),
        }
    }

    /// The packet as parsed.
    pub fn packet(&self) -> Datagram {
        Datagram {
            version: self.version(),
            src: self.src,
            dst: self.dst,
            transport: Transport {
                kind: self.protocol(),
                ports: self.ports,
                flags: self.flags(),
            },
            len: self.payload_len(),
        }
    }
}

/// Stores an address at `at`: one word, or all four when `wide` (IPv6).
#[inline(always)]
fn store_address(entry: Entry<'_>, at: usize, words: &AddressWords, wide: bool) {
    let [a, b, c, d] = *words;
    entry.set(at, a);
    if wide {
        entry.set(at + 1, b);
        entry.set(at + 2, c);
        entry.set(at + 3, d);
    }
}

/// The address at `at`; the words an IPv4 address does not use are 0.
#[inline(always)]
fn load_address<const N: usize>(oldest: &Oldest<'_, N>, at: usize, wide: bool) -> AddressWords {
    let first = oldest.word(at);
    if wide {
        [
            first,
            oldest.word(at + 1),
            oldest.word(at + 2),
            oldest.word(at + 3),
        ]
    } else {
        [first, 0, 0, 0]
    }
}

/// A fragment of a datagram of a recorded protocol: the first (with its transport header)
/// or a later one, and the datagram's identification. The consumer remembers a first
/// fragment's ports and gives later ones to its flow ([`crate::fragments`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Fragment {
    /// A first fragment's record, or a later one's (ports 0, [`head::TAIL`]); both with
    /// [`head::FRAGMENT`].
    pub(crate) record: FlowRecord,
    /// IPv4's 16-bit identification, or the IPv6 fragment header's 32 bits.
    pub(crate) id: u32,
}

impl Fragment {
    /// The first fragment of datagram `id`, whose record is `record`.
    #[inline(always)]
    pub fn first(record: FlowRecord, id: u32) -> Self {
        Self {
            record: FlowRecord {
                head: record.head | head::FRAGMENT,
                ..record
            },
            id,
        }
    }

    /// A later fragment seen in `direction`, if `protocols` records its datagram's
    /// protocol (the checks a first fragment's protocol gets, minus the transport header).
    /// Inline: returned from a call, the hook's verdict would live in memory, and the
    /// parsed path's hook would take 16 more instructions and 136 B more stack (scripts/bench).
    #[inline(always)]
    pub fn tail(direction: Direction, tail: &wire::Tail, protocols: Protocols) -> Captured {
        let Some(kind) = TransportKind::of(tail.protocol) else {
            return Captured::Ignored;
        };
        // Each version's ICMP number is no flow of the other's (see `wire::parse`).
        let other_icmp = match tail.version {
            IpVersion::V4 => wire::protocol::ICMPV6,
            IpVersion::V6 => wire::protocol::ICMP,
        };
        if tail.protocol == other_icmp || !protocols.records(kind) {
            return Captured::Ignored;
        }
        Captured::Fragment(Self {
            record: FlowRecord {
                head: (tail.version as u32 * head::V6)
                    | (direction as u32 * head::OUT)
                    | (kind as u32) << head::KIND_SHIFT
                    | head::FRAGMENT
                    | head::TAIL
                    | u32::from(tail.len) << head::PAYLOAD_SHIFT,
                ports: 0,
                src: tail.src,
                dst: tail.dst,
            },
            id: tail.id,
        })
    }

    /// Whether this is the first fragment (it has the ports).
    #[inline(always)]
    pub fn is_first(&self) -> bool {
        self.record.head & head::TAIL == 0
    }

    /// Its record (a later fragment's has ports 0).
    pub fn record(&self) -> &FlowRecord {
        &self.record
    }

    /// The datagram's identification.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Offers the fragment to `ring`; never waits.
    #[inline]
    pub fn push_to<const N: usize>(&self, ring: &Ring<N>) -> Push {
        ring.push(self.record.head, |entry| {
            self.record.store(entry);
            entry.set(record::ID, self.id);
        })
    }
}

/// What a hook's packet turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Captured {
    /// A packet of a recorded protocol.
    Record(FlowRecord),
    /// A fragment of a datagram of a recorded protocol.
    Fragment(Fragment),
    /// Well-formed, but nothing to record (other protocol, protocol off).
    Ignored,
}

/// Parses `buf` and keeps it if `protocols` records its transport.
pub fn capture(
    buf: &[u8],
    direction: Direction,
    order: HeaderOrder,
    protocols: Protocols,
) -> Result<Captured, Malformed> {
    record(wire::parse(buf, order), direction, protocols)
}

/// [`capture`] from the parser's result, for callers that parse each IP version on its
/// own path.
#[inline(always)]
pub fn record(
    parsed: Result<Parsed, Malformed>,
    direction: Direction,
    protocols: Protocols,
) -> Result<Captured, Malformed> {
    let (packet, first_of) = match parsed? {
        Parsed::Flow(packet) => (packet, None),
        Parsed::FirstFragment(packet, id) => (packet, Some(id)),
        Parsed::NonFirstFragment(tail) => return Ok(Fragment::tail(direction, &tail, protocols)),
        Parsed::Untracked => return Ok(Captured::Ignored),
    };
    if !protocols.records(packet.transport.kind) {
        return Ok(Captured::Ignored);
    }
    let record = FlowRecord::new(direction, &packet);
    Ok(match first_of {
        None => Captured::Record(record),
        Some(id) => Captured::Fragment(Fragment::first(record, id)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Protocols;

    /// 192.168.1.10:50000 -> 20.1.2.3:8883, TCP SYN.
    fn syn_out() -> Vec<u8> {
        nxsm_test_packets::ipv4([192, 168, 1, 10], [20, 1, 2, 3])
            .tcp(50000, 8883, nxsm_test_packets::TCP_SYN)
            .build()
    }

    #[test]
    fn direction_decides_local_and_remote() {
        let Ok(Captured::Record(out)) = capture(
            &syn_out(),
            Direction::Out,
            HeaderOrder::Network,
            Protocols::ALL,
        ) else {
            panic!()
        };
        assert_eq!(wire::ipv4_octets(out.local()), [192, 168, 1, 10]);
        assert_eq!(wire::ipv4_octets(out.remote()), [20, 1, 2, 3]);
        assert_eq!(out.ports(), 50000 << 16 | 8883);
        assert_eq!(out.payload_len(), 20);
        assert_eq!(out.protocol(), TransportKind::Tcp);
        assert_eq!(out.flags(), TcpFlags(0x02));
        let Ok(Captured::Record(inbound)) = capture(
            &syn_out(),
            Direction::In,
            HeaderOrder::Network,
            Protocols::ALL,
        ) else {
            panic!()
        };
        assert_eq!(wire::ipv4_octets(inbound.local()), [20, 1, 2, 3]);
        assert_eq!(inbound.ports(), 8883 << 16 | 50000);
        assert_eq!(inbound.version(), IpVersion::V4);
        assert_eq!(inbound.direction(), Direction::In);
        assert_eq!(inbound.local()[1..], [0; 3]);
    }

    #[test]
    fn the_record_keeps_the_packet() {
        let Ok(Parsed::Flow(packet)) = wire::parse(&syn_out(), HeaderOrder::Network) else {
            panic!()
        };
        for direction in [Direction::In, Direction::Out] {
            let record = FlowRecord::new(direction, &packet);
            assert_eq!(record.packet(), packet);
            assert_eq!(record.direction(), direction);
        }
    }

    #[test]
    fn disabled_protocols_are_ignored() {
        let udp_only = Protocols::from_bits(Protocols::UDP).unwrap();
        assert_eq!(
            capture(&syn_out(), Direction::Out, HeaderOrder::Network, udp_only),
            Ok(Captured::Ignored)
        );
    }

    #[test]
    fn malformed_is_reported() {
        assert_eq!(
            capture(
                &syn_out()[..30],
                Direction::Out,
                HeaderOrder::Network,
                Protocols::ALL
            ),
            Err(Malformed::TruncatedTransport)
        );
    }
}
