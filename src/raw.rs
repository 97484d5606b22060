//! Raw header entries: the hook's fast path.
//!
//! Nearly every packet has one of two shapes: IPv4 without options, or IPv6 whose next
//! header is TCP, UDP or ICMPv6. For those, when the buffer holds at least [`V4_LEN`](crate::raw::V4_LEN) or
//! [`V6_LEN`](crate::raw::V6_LEN) bytes, the hook does not parse: it copies the header words the parser reads
//! into a ring entry, and the consumer makes the same checks on those words when it drains
//! the ring ([`parse_v4`](crate::raw::parse_v4), [`parse_v6`](crate::raw::parse_v6)). The outcome (record, ignored or malformed) is the
//! one the hook's parser would have found, only counted later; the tests compare the two
//! on every single-byte change of real-shaped packets, and the fuzz target on arbitrary
//! ones. Packets of any other shape are parsed in the hook as before.
//!
//! Only words the parser reads are copied: not the TCP sequence numbers, checksums or
//! (IPv6) the traffic class and flow label.

// `#[inline(always)]` here: without it the drain takes 5 (IPv4) and 11 (IPv6) more
// instructions per record (scripts/bench).

use crate::capture::{Captured, Direction, FlowRecord, Fragment, IpVersion};
use crate::config::Protocols;
use crate::entry::{head, raw_v4, raw_v6};
use crate::ring::{Entry, Oldest};
use crate::wire::{
    self, protocol, Datagram, HeaderOrder, Malformed, TcpFlags, Transport, TransportKind,
};

/// Bytes an IPv4 packet must have for the fast path: the 20-byte header and the 20 bytes
/// of a TCP header the parser checks.
pub const V4_LEN: usize = 40;

/// Bytes an IPv6 packet must have for the fast path: the 40-byte fixed header and 20 bytes
/// of TCP header.
pub const V6_LEN: usize = 60;

/// How a hook saw a packet, as the head-word bits of its raw entry ([`head::OUT`],
/// [`head::HOST_ORDER`]). A constant for each of the C API's fixed-form capture calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen(u32);

impl Seen {
    /// A packet seen in `direction` with its header in `order`.
    #[inline(always)]
    pub const fn new(direction: Direction, order: HeaderOrder) -> Self {
        Self((direction as u32 * head::OUT) | (order as u32 * head::HOST_ORDER))
    }

    /// Received or sent.
    #[inline(always)]
    pub fn direction(self) -> Direction {
        if self.0 & head::OUT == 0 {
            Direction::In
        } else {
            Direction::Out
        }
    }

    /// Byte order of the fixed header.
    #[inline(always)]
    pub fn order(self) -> HeaderOrder {
        if self.0 & head::HOST_ORDER == 0 {
            HeaderOrder::Network
        } else {
            HeaderOrder::Host
        }
    }

    /// The head word of a raw entry of `version` for an intake whose open head is
    /// `open` (see [`open_head`]).
    #[inline(always)]
    pub fn head(self, open: u32, version: IpVersion) -> u32 {
        open | self.0 | version as u32
    }
}

/// A bit of the intake's open head (never of an entry's: a raw entry's head keeps it, and
/// nothing reads bit 31 of one): a block rule is active, so the IPv4 fast path declines
/// every packet and the out-of-line path, which decides on blocking, takes it. Kept there
/// because the fast path loads that word anyway: with no block rule it costs one test.
pub const BLOCKING: u32 = 1 << 31;

/// The head-word bits shared by every raw entry while capturing `protocols`: the tag and
/// the protocol bits. Never 0, so the intake keeps it as its "open" switch as well.
pub fn open_head(protocols: Protocols) -> u32 {
    head::RAW | protocols.bits() << head::PROTOCOLS_SHIFT
}

/// The protocols of an open head word (see [`open_head`]); `None` for 0 (closed).
#[inline(always)]
pub fn protocols_of(open: u32) -> Option<Protocols> {
    Protocols::from_checked_bits(open >> head::PROTOCOLS_SHIFT & 0xFF)
}

/// Whether an IPv4 header (version and header-length byte `first`) takes the fast path.
#[inline(always)]
pub fn is_fast_v4(first: u8) -> bool {
    first == 0x45
}

/// Whether an IPv6 header whose next header is `next` takes the fast path.
#[inline(always)]
pub fn is_fast_v6(next: u8) -> bool {
    matches!(next, protocol::TCP | protocol::UDP | protocol::ICMPV6)
}

/// Header word `index` as it lies in memory.
#[inline(always)]
fn word<const N: usize>(header: &[u8; N], index: usize) -> u32 {
    u32::from_ne_bytes(wire::quad(header, index * 4))
}

/// Copies an IPv4 header's words into an entry ([`raw_v4`]: the packet's word numbers are
/// in the calls).
#[inline(always)]
pub fn copy_v4(entry: Entry<'_>, header: &[u8; V4_LEN]) {
    // Written out: a loop stays a loop at `opt-level = "s"`.
    entry.set(raw_v4::TOTAL_LENGTH, word(header, 0));
    entry.set(raw_v4::FRAGMENT, word(header, 1));
    entry.set(raw_v4::PROTOCOL, word(header, 2));
    entry.set(raw_v4::SRC, word(header, 3));
    entry.set(raw_v4::DST, word(header, 4));
    entry.set(raw_v4::PORTS, word(header, 5));
    entry.set(raw_v4::TCP_OFFSET_FLAGS, word(header, 8));
}

/// Copies an IPv6 header's words into an entry ([`raw_v6`]).
#[inline(always)]
pub fn copy_v6(entry: Entry<'_>, header: &[u8; V6_LEN]) {
    entry.set(raw_v6::PAYLOAD_NEXT, word(header, 1));
    entry.set(raw_v6::SRC, word(header, 2));
    entry.set(raw_v6::SRC + 1, word(header, 3));
    entry.set(raw_v6::SRC + 2, word(header, 4));
    entry.set(raw_v6::SRC + 3, word(header, 5));
    entry.set(raw_v6::DST, word(header, 6));
    entry.set(raw_v6::DST + 1, word(header, 7));
    entry.set(raw_v6::DST + 2, word(header, 8));
    entry.set(raw_v6::DST + 3, word(header, 9));
    entry.set(raw_v6::PORTS, word(header, 10));
    entry.set(raw_v6::TCP_OFFSET_FLAGS, word(header, 13));
}

/// Whether `header` (as a hook sees it, in `order`) has the IPv4 fast path's shape.
#[inline(always)]
pub fn is_fast_v4_header(header: &[u8; V4_LEN], order: HeaderOrder) -> bool {
    // The version and header-length byte: the first, or the fourth when NetX Duo has turned
    // the header's words to (little-endian) host order.
    let first = match order {
        HeaderOrder::Network => header[0],
        HeaderOrder::Host => u32::from_ne_bytes(wire::quad(header, 0)).to_be_bytes()[0],
    };
    is_fast_v4(first)
}

/// The words of a raw entry, wherever they are: in the ring, or still in the packet (a
/// hook that must decide on a packet now parses it with the same code).
pub trait RawWords {
    /// The entry's head word.
    fn head(&self) -> u32;
    /// Entry word `index` ([`raw_v4`] / [`raw_v6`] numbering).
    fn word(&self, index: usize) -> u32;
}

impl<const N: usize> RawWords for Oldest<'_, N> {
    #[inline(always)]
    fn head(&self) -> u32 {
        Oldest::head(self)
    }

    #[inline(always)]
    fn word(&self, index: usize) -> u32 {
        Oldest::word(self, index)
    }
}

/// An IPv4 header of the fast path's shape read in place, as [`copy_v4`] would have laid
/// it out in an entry.
pub struct HeaderV4<'a> {
    head: u32,
    header: &'a [u8; V4_LEN],
}

impl<'a> HeaderV4<'a> {
    /// The header a hook sees as `seen`, every protocol recorded.
    #[inline(always)]
    pub fn new(header: &'a [u8; V4_LEN], seen: Seen) -> Self {
        Self {
            head: seen.head(open_head(Protocols::ALL), IpVersion::V4),
            header,
        }
    }
}

impl RawWords for HeaderV4<'_> {
    #[inline(always)]
    fn head(&self) -> u32 {
        self.head
    }

    /// The inverse of [`copy_v4`]: constant indices fold to one load each.
    #[inline(always)]
    fn word(&self, index: usize) -> u32 {
        let packet_word = match index {
            raw_v4::TOTAL_LENGTH => 0,
            raw_v4::FRAGMENT => 1,
            raw_v4::PROTOCOL => 2,
            raw_v4::SRC => 3,
            raw_v4::DST => 4,
            raw_v4::PORTS => 5,
            raw_v4::TCP_OFFSET_FLAGS => 8,
            _ => return 0,
        };
        word(self.header, packet_word)
    }
}

/// What the consumer needs from a raw entry's head word.
struct Head {
    direction: Direction,
    /// The header's fixed words are in host order.
    host: bool,
    protocols: Option<Protocols>,
}

impl Head {
    #[inline(always)]
    fn of(word: u32) -> Self {
        Self {
            direction: if word & head::OUT == 0 {
                Direction::In
            } else {
                Direction::Out
            },
            host: word & head::HOST_ORDER != 0,
            protocols: protocols_of(word),
        }
    }

    /// A fixed-header word's value on the wire (as `wire`'s views read it).
    #[inline(always)]
    fn value(&self, word: u32) -> u32 {
        if self.host {
            word
        } else {
            u32::from_be(word)
        }
    }

    /// An address word (see [`wire::AddressWords`]) of a fixed-header word.
    #[inline(always)]
    fn address(&self, word: u32) -> u32 {
        if self.host {
            word.to_be()
        } else {
            word
        }
    }
}

/// Parses a raw IPv4 entry as the hook would have parsed its packet. It works on the words
/// as they are (rebuilding the header for the byte parser costs twice as much); the tests
/// check that both agree on every packet they try.
#[inline(always)]
pub fn parse_v4<R: RawWords>(entry: R) -> Result<Captured, Malformed> {
    parse_v4_with(entry, &mut Unresolved)
}

/// [`parse_v4`], with what becomes of a fragment decided by `resolve` (the drain gives it
/// to [`crate::fragments`] there, so no fragment reaches the drain's loop).
#[inline(always)]
pub fn parse_v4_with<R: RawWords, S: Resolve>(
    entry: R,
    resolve: &mut S,
) -> Result<Captured, Malformed> {
    let head = Head::of(entry.head());
    if head.value(entry.word(raw_v4::FRAGMENT)) & (MORE_FRAGMENTS | FRAGMENT_OFFSET) != 0 {
        return parse_v4_fragment(entry, resolve);
    }
    parse_v4_as::<R, S, false>(&entry, resolve)
}

/// [`parse_v4`] of a fragment, out of line: a packet that is none pays one test for
/// fragments (the one it paid for fragment tails before). It takes the entry itself, so
/// that the drain's loop keeps it in registers.
#[inline(never)]
fn parse_v4_fragment<R: RawWords, S: Resolve>(
    entry: R,
    resolve: &mut S,
) -> Result<Captured, Malformed> {
    parse_v4_as::<R, S, true>(&entry, resolve)
}

/// [`parse_v4_with`], for a packet known to be a fragment (`FRAGMENT`) or none.
#[inline(always)]
fn parse_v4_as<R: RawWords, S: Resolve, const FRAGMENT: bool>(
    entry: &R,
    resolve: &mut S,
) -> Result<Captured, Malformed> {
    let head = Head::of(entry.head());
    // The hook checked version 4 and a 20-byte header.
    let total_len = head.value(entry.word(raw_v4::TOTAL_LENGTH)) as u16;
    let Some(len) = total_len.checked_sub(20) else {
        return Err(Malformed::BadTotalLength);
    };
    let fragment = head.value(entry.word(raw_v4::FRAGMENT));
    let ip_protocol = (head.value(entry.word(raw_v4::PROTOCOL)) >> 16) as u8;
    let src = [head.address(entry.word(raw_v4::SRC)), 0, 0, 0];
    let dst = [head.address(entry.word(raw_v4::DST)), 0, 0, 0];
    if FRAGMENT && fragment & FRAGMENT_OFFSET != 0 {
        let tail = wire::Tail {
            version: IpVersion::V4,
            src,
            dst,
            protocol: ip_protocol,
            len,
            id: fragment >> 16,
        };
        return Ok(match head.protocols {
            Some(protocols) => match Fragment::tail(head.direction, &tail, protocols) {
                Captured::Fragment(fragment) => resolve.resolve(&fragment),
                other => other,
            },
            None => Captured::Ignored,
        });
    }
    if ip_protocol == protocol::ICMPV6 {
        return Ok(Captured::Ignored);
    }
    let datagram = |transport| Datagram {
        version: IpVersion::V4,
        src,
        dst,
        transport,
        len,
    };
    // Here a fragment is a first fragment (offset 0, more fragments): the consumer is told
    // its datagram's identification.
    let first_of = FRAGMENT.then_some(fragment >> 16);
    let parsed = finish(
        &head,
        ip_protocol,
        len,
        entry.word(raw_v4::PORTS),
        entry.word(raw_v4::TCP_OFFSET_FLAGS),
        datagram,
        first_of,
    );
    if FRAGMENT {
        if let Ok(Captured::Fragment(fragment)) = parsed {
            return Ok(resolve.resolve(&fragment));
        }
    }
    parsed
}

/// What becomes of a fragment the consumer parses: [`crate::fragments::Fragments`] counts
/// it in its flow or ignores it; [`Unresolved`] leaves it as it is.
pub trait Resolve {
    /// `fragment` as the drain is to count it.
    fn resolve(&mut self, fragment: &Fragment) -> Captured;
}

/// Leaves a fragment as parsed (the hook's own verdict, and the tests').
pub struct Unresolved;

impl Resolve for Unresolved {
    #[inline(always)]
    fn resolve(&mut self, fragment: &Fragment) -> Captured {
        Captured::Fragment(*fragment)
    }
}

/// The fragment-offset bits of IPv4 header word 1.
const FRAGMENT_OFFSET: u32 = 0x1FFF;
/// The "more fragments" flag of IPv4 header word 1.
const MORE_FRAGMENTS: u32 = 0x2000;

/// Parses a raw IPv6 entry as the hook would have parsed its packet (see [`parse_v4`]).
#[inline(always)]
pub fn parse_v6<R: RawWords>(entry: &R) -> Result<Captured, Malformed> {
    let head = Head::of(entry.head());
    let word1 = head.value(entry.word(raw_v6::PAYLOAD_NEXT));
    let len = (word1 >> 16) as u16;
    if len == 0 {
        return Err(Malformed::Jumbogram);
    }
    // The hook checked that no extension header follows.
    let ip_protocol = (word1 >> 8) as u8;
    if ip_protocol == protocol::ICMP {
        return Ok(Captured::Ignored);
    }
    let address = |at| {
        [
            head.address(entry.word(at)),
            head.address(entry.word(at + 1)),
            head.address(entry.word(at + 2)),
            head.address(entry.word(at + 3)),
        ]
    };
    let (src, dst) = (address(raw_v6::SRC), address(raw_v6::DST));
    let datagram = |transport| Datagram {
        version: IpVersion::V6,
        src,
        dst,
        transport,
        len,
    };
    finish(
        &head,
        ip_protocol,
        len,
        entry.word(raw_v6::PORTS),
        entry.word(raw_v6::TCP_OFFSET_FLAGS),
        datagram,
        None,
    )
}

/// The transport part of a raw entry, checked as [`wire::Transport::parse`] checks it:
/// `ports` is the transport header's first word, `tcp` the one with the TCP data offset
/// and flags, both as they lie in memory; `first_of` the identification of a first
/// fragment's datagram.
#[inline(always)]
fn finish(
    head: &Head,
    ip_protocol: u8,
    len: u16,
    ports: u32,
    tcp: u32,
    datagram: impl FnOnce(Transport) -> Datagram,
    first_of: Option<u32>,
) -> Result<Captured, Malformed> {
    let Some(kind) = TransportKind::of(ip_protocol) else {
        return Ok(Captured::Ignored);
    };
    if usize::from(len) < kind.min_len() {
        return Err(Malformed::BadTransportLength);
    }
    let mut transport = Transport {
        kind,
        ports: 0,
        flags: TcpFlags(0),
    };
    if kind != TransportKind::Icmp {
        transport.ports = u32::from_be(ports);
    }
    if kind == TransportKind::Tcp {
        let [offset, flags, ..] = tcp.to_ne_bytes();
        let data_offset = u16::from(offset >> 4) * 4;
        if usize::from(data_offset) < TransportKind::Tcp.min_len() || data_offset > len {
            return Err(Malformed::BadTransportLength);
        }
        transport.flags = TcpFlags(flags);
    }
    match head.protocols {
        Some(protocols) if protocols.records(kind) => {
            let record = FlowRecord::new(head.direction, &datagram(transport));
            Ok(match first_of {
                None => Captured::Record(record),
                Some(id) => Captured::Fragment(Fragment::first(record, id)),
            })
        }
        // The hook only makes raw entries while capture is open, so `None` never happens.
        _ => Ok(Captured::Ignored),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::capture;
    use crate::config::capacity;
    use crate::intake::{Intake, Offer};
    use nxsm_test_packets::{ipv4, ipv6, to_host_order, v6_doc, Packet, TCP_ACK, TCP_SYN};

    fn v4() -> Packet {
        ipv4([192, 168, 1, 10], [20, 1, 2, 3])
    }

    fn v6() -> Packet {
        let link_local = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        ipv6(link_local, v6_doc(2))
    }

    /// The TCP segment of `ipv6_packets`, over `ip`.
    fn ack_psh(ip: Packet) -> Packet {
        ip.tcp(8883, 50000, TCP_ACK | 0x08)
    }

    /// An IPv4 TCP SYN (40 bytes), a UDP datagram and an ICMP echo with 20 bytes of data.
    fn ipv4_packets() -> [Vec<u8>; 3] {
        [
            v4().tcp(50000, 8883, TCP_SYN).build(),
            v4().udp(5000, 53).payload(20).build(),
            v4().echo().payload(20).build(),
        ]
    }

    /// IPv6 TCP, UDP and ICMPv6 packets of 60 bytes and more.
    fn ipv6_packets() -> [Vec<u8>; 3] {
        [
            ack_psh(v6()).build(),
            v6().udp(546, 547).payload(16).build(),
            v6().echo().payload(16).build(),
        ]
    }

    /// A parsed verdict as the intake reaches it: a build that keeps no IPv6 flows ignores
    /// well-formed IPv6 packets.
    fn kept(parsed: Result<Captured, Malformed>) -> Result<Captured, Malformed> {
        match parsed {
            Ok(Captured::Record(record))
                if capacity::MAX_FLOWS_V6 == 0 && record.version() == IpVersion::V6 =>
            {
                Ok(Captured::Ignored)
            }
            Ok(Captured::Fragment(fragment))
                if capacity::MAX_FLOWS_V6 == 0 && fragment.record().version() == IpVersion::V6 =>
            {
                Ok(Captured::Ignored)
            }
            other => other,
        }
    }

    /// What the intake makes of `packet`: the hook's own verdict, or the consumer's for a
    /// raw entry. Also tells whether the raw path was taken.
    fn through_intake(
        packet: &[u8],
        direction: Direction,
        order: HeaderOrder,
        protocols: Protocols,
    ) -> (Result<Captured, Malformed>, bool) {
        let intake = Intake::new();
        intake.open(protocols, false);
        match intake.offer(packet, direction, order) {
            Offer::Stored { .. } => {}
            Offer::Ignored => return (Ok(Captured::Ignored), false),
            Offer::Malformed(reason) => return (Err(reason), false),
            other => panic!("{other:?}"),
        }
        let oldest = intake.ring().oldest().expect("stored");
        let raw = crate::entry::is_raw(oldest.head());
        (crate::entry::classify(oldest, &mut Unresolved), raw)
    }

    /// Every single-byte change of real-shaped packets, in both orders and directions and
    /// with all or only some protocols: the consumer's verdict on a raw entry is the one
    /// the hook would have reached by parsing.
    #[test]
    fn raw_entries_parse_as_the_packet_would() {
        let udp_only = Protocols::from_bits(Protocols::UDP).unwrap();
        let (mut raw_cases, mut records, mut refused) = (0, 0, 0);
        let packets = ipv4_packets()
            .into_iter()
            .map(|p| (p, 5))
            .chain(ipv6_packets().into_iter().map(|p| (p, 10)));
        for (packet, header_words) in packets {
            for at in 0..packet.len() {
                for value in [0x00, 0x01, 0x06, 0x11, 0x3A, 0x45, 0x46, 0x60, 0xFF] {
                    let mut wire = packet.clone();
                    wire[at] = value;
                    let mut host = wire.clone();
                    to_host_order(&mut host, header_words);
                    for (bytes, order) in
                        [(&wire, HeaderOrder::Network), (&host, HeaderOrder::Host)]
                    {
                        for direction in [Direction::In, Direction::Out] {
                            for protocols in [Protocols::ALL, udp_only] {
                                let expected =
                                    kept(capture::capture(bytes, direction, order, protocols));
                                let (got, raw) = through_intake(bytes, direction, order, protocols);
                                assert_eq!(got, expected, "byte {at} = {value:#x}, {order:?}");
                                raw_cases += usize::from(raw);
                                match got {
                                    Ok(Captured::Record(_)) => records += 1,
                                    _ => refused += 1,
                                }
                            }
                        }
                    }
                }
            }
        }
        // The raw path was taken, and both found flows and refused packets.
        assert!(raw_cases > 5_000, "{raw_cases}");
        assert!(records > 1_000 && refused > 1_000, "{records} {refused}");
    }

    /// A UDP datagram's first fragment and a later one (offset 1480, 20 bytes), IPv4 and
    /// IPv6, identification 0x4242 (IPv6: 0x4242_4242).
    fn fragments() -> [(Vec<u8>, bool); 4] {
        let mut v4_first = v4().udp(53, 40000).payload(1472).build();
        v4_first[4..8].copy_from_slice(&[0x42, 0x42, 0x20, 0x00]); // id, MF, offset 0
        let mut v4_tail = v4().udp(53, 40000).payload(12).build();
        v4_tail[4..8].copy_from_slice(&[0x42, 0x42, 0x00, 185]); // id, offset 185 * 8
        let v6_fragment = |offset: u16, more: u16| {
            let mut p = v6().udp(53, 40000).payload(64).build();
            p[6] = protocol::FRAGMENT; // next header
            let field = (offset << 3 | more).to_be_bytes();
            let header = [protocol::UDP, 0, field[0], field[1], 0x42, 0x42, 0x42, 0x42];
            let mut fragment = p[..40].to_vec();
            fragment.extend_from_slice(&header);
            fragment.extend_from_slice(&p[40..]);
            let len = (fragment.len() - 40) as u16;
            fragment[4..6].copy_from_slice(&len.to_be_bytes());
            fragment
        };
        [
            (v4_first, true),
            (v4_tail, false),
            (v6_fragment(0, 1), true),
            (v6_fragment(185, 0), false),
        ]
    }

    /// A fragment's verdict is the hook parser's whichever path takes it (IPv4 fragments
    /// take the fast path), in both orders and directions; an IPv6 fragment header in host
    /// order has its offset-and-flags field in CPU order, as NetX Duo leaves it.
    #[test]
    fn fragments_parse_alike_on_both_paths() {
        for (packet, first) in fragments() {
            let ipv6 = packet[0] >> 4 == 6;
            let mut host = packet.clone();
            to_host_order(&mut host, if ipv6 { 10 } else { 5 });
            if ipv6 {
                let field = u16::from_be_bytes([host[42], host[43]]);
                host[42..44].copy_from_slice(&field.to_ne_bytes());
            }
            for (bytes, order) in [(&packet, HeaderOrder::Network), (&host, HeaderOrder::Host)] {
                for direction in [Direction::In, Direction::Out] {
                    let expected = kept(capture::capture(bytes, direction, order, Protocols::ALL));
                    let (got, raw) = through_intake(bytes, direction, order, Protocols::ALL);
                    assert_eq!(got, expected, "{order:?} {direction:?}");
                    assert_eq!(raw, !ipv6);
                    if ipv6 && capacity::MAX_FLOWS_V6 == 0 {
                        continue;
                    }
                    let Ok(Captured::Fragment(fragment)) = got else {
                        panic!("{got:?}")
                    };
                    assert_eq!(fragment.is_first(), first);
                    assert_eq!(fragment.id(), if ipv6 { 0x4242_4242 } else { 0x4242 });
                    let ports = if first { 53 << 16 | 40000 } else { 0 };
                    assert_eq!(fragment.record().ports, ports);
                }
            }
        }
    }

    #[test]
    fn short_packets_and_other_shapes_are_parsed_in_the_hook() {
        let [tcp, ..] = ipv4_packets();
        // NOP, NOP, NOP, end of options
        let with_options = v4()
            .options(&[1, 1, 1, 0])
            .tcp(50000, 8883, TCP_SYN)
            .build();
        let [tcp6, ..] = ipv6_packets();
        let hop_by_hop = ack_psh(v6().hop_by_hop(1)).build();
        for packet in [&tcp[..39], &with_options[..], &tcp6[..59], &hop_by_hop[..]] {
            let (got, raw) =
                through_intake(packet, Direction::In, HeaderOrder::Network, Protocols::ALL);
            assert!(!raw);
            assert_eq!(
                got,
                kept(capture::capture(
                    packet,
                    Direction::In,
                    HeaderOrder::Network,
                    Protocols::ALL
                ))
            );
        }
        for (packet, ipv6) in [(&tcp[..], false), (&tcp6[..], true)] {
            let (got, raw) =
                through_intake(packet, Direction::Out, HeaderOrder::Network, Protocols::ALL);
            if ipv6 && capacity::MAX_FLOWS_V6 == 0 {
                assert_eq!((got, raw), (Ok(Captured::Ignored), false));
            } else {
                assert!(raw);
                assert!(matches!(got, Ok(Captured::Record(_))));
            }
        }
    }
}
