//! Checked, zero-copy views of the headers NetX Duo hands to the hooks.
//!
//! Every read is bounds-checked against the bytes actually given; anything that cannot be
//! parsed is a [`Malformed`](crate::wire::Malformed) with its reason, never a guess. A transport header is read only
//! from a first fragment and only where the buffer holds it.
//!
//! NetX Duo shows the IP header in two byte orders (see [`HeaderOrder`](crate::wire::HeaderOrder)): the views read the
//! fixed-header words through one accessor that knows which, and everything else (options,
//! extension headers, transport headers) is always in network order.
//!
//! The hook runs this for every packet, so the fast path is written for the Cortex-M code it
//! becomes: fixed headers are taken as fixed-size arrays (one length check, then constant
//! indices), fields are read as whole words, and addresses stay words all the way to the
//! ring and the flow table (see [`AddressWords`](crate::wire::AddressWords)).

// `#[inline(always)]` here: without it the IPv6 hooks take 2 more instructions per packet and
// the deepest hook stack grows from 164 to 244 B (scripts/bench).

mod ipv4;
pub(crate) mod ipv6;
mod transport;

pub use ipv4::Ipv4Header;
pub use ipv6::Ipv6Header;
pub use transport::{TcpFlags, Transport, TransportKind};

/// IP protocol numbers the parsers know.
pub mod protocol {
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 Hop-by-Hop options.
    pub const HOP_BY_HOP: u8 = 0;
    /// IPv6 routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// IPsec Encapsulating Security Payload.
    #[cfg(test)]
    pub const ESP: u8 = 50;
    /// IPsec Authentication Header.
    pub const AUTHENTICATION: u8 = 51;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    #[cfg(test)]
    pub const NO_NEXT_HEADER: u8 = 59;
    /// IPv6 destination options.
    pub const DESTINATION_OPTIONS: u8 = 60;
}

/// How the fixed IP header words are laid out in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderOrder {
    /// As on the wire: what the IP packet filter sees (inbound at IP input, and outbound).
    Network,
    /// After NetX Duo's receive path converted the fixed header to host order: each 32-bit
    /// word of the IPv4 header (words 0-4) or of the IPv6 fixed header (words 0-9,
    /// addresses included) was loaded as a big-endian word and stored in CPU order. This is
    /// what the TCP/UDP/ICMP receive functions see. Options, extension headers and the
    /// transport header are untouched, except the 16-bit offset-and-flags field of an IPv6
    /// fragment header, which NetX Duo's fragment processing turns to CPU order in place
    /// (it is there, behind the first fragment's header, in a reassembled datagram).
    Host,
}

/// IP version of a packet or flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpVersion {
    /// IPv4: only the first word of each address is used.
    V4 = 0,
    /// IPv6.
    V6 = 1,
}

/// Why a packet could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// The buffer is shorter than the fixed IP header.
    TruncatedIpHeader,
    /// The version nibble is neither 4 nor 6, or not the one expected.
    BadVersion,
    /// IPv4 header length below 20 bytes or beyond the buffer.
    BadHeaderLength,
    /// IPv4 total length shorter than its header.
    BadTotalLength,
    /// An IPv6 extension header the walk follows runs past the buffer or past the payload
    /// length.
    BadExtensionHeader,
    /// IPv6 payload length 0 (jumbogram) is not supported.
    Jumbogram,
    /// The transport header is not (wholly) in the buffer.
    TruncatedTransport,
    /// The transport header claims less than its minimum size or more than the IP payload.
    BadTransportLength,
}

/// The four bytes at `at`, or zeros if `bytes` ends first. Callers pass constant offsets
/// inside the array, so the check folds away; either way there is no panic path.
#[inline(always)]
pub(crate) fn quad<const N: usize>(bytes: &[u8; N], at: usize) -> [u8; 4] {
    bytes
        .get(at..at + 4)
        .and_then(|quad| quad.try_into().ok())
        .unwrap_or_default()
}

/// Fixed-header word `index` as the value it has on the wire, whatever `order` the buffer
/// is in.
#[inline(always)]
pub(crate) fn fixed_word<const N: usize>(
    header: &[u8; N],
    index: usize,
    order: HeaderOrder,
) -> u32 {
    let bytes = quad(header, index * 4);
    match order {
        HeaderOrder::Network => u32::from_be_bytes(bytes),
        HeaderOrder::Host => u32::from_ne_bytes(bytes),
    }
}

/// Fixed-header word `index`, which holds address octets, as an address word (see
/// [`AddressWords`]). The byte swap is the other way round from [`fixed_word`]'s: a
/// network-order buffer already holds the octets in order, a host-order one swapped them.
#[inline(always)]
fn address_word<const N: usize>(header: &[u8; N], index: usize, order: HeaderOrder) -> u32 {
    let bytes = quad(header, index * 4);
    match order {
        HeaderOrder::Network => u32::from_ne_bytes(bytes),
        HeaderOrder::Host => u32::from_ne_bytes(bytes).to_be(),
    }
}

/// Reads a big-endian `u16` at `offset`, if the buffer holds it.
fn be16(buf: &[u8], offset: usize) -> Option<u16> {
    let bytes = buf.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// Reads a big-endian `u32` at `offset`, if the buffer holds it.
fn be32(buf: &[u8], offset: usize) -> Option<u32> {
    let bytes = buf.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Reads a `u16` stored in CPU order at `offset`, if the buffer holds it.
fn ne16(buf: &[u8], offset: usize) -> Option<u16> {
    let bytes = buf.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// An address as words of four octets each in memory order (`u32::from_ne_bytes`): the
/// form a network-order header holds them in, so the usual case is a plain load, and the
/// flow table gets its octets back without a byte swap. IPv4 uses word 0, the rest are 0.
pub type AddressWords = [u32; 4];

/// The octets of an IPv4 address word.
pub fn ipv4_octets(words: &AddressWords) -> [u8; 4] {
    words[0].to_ne_bytes()
}

/// The octets of an IPv6 address.
pub fn ipv6_octets(words: &AddressWords) -> [u8; 16] {
    let [a, b, c, d] = words.map(u32::to_ne_bytes);
    [
        a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1], d[2],
        d[3],
    ]
}

/// What a flow record needs from one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// IP version: how many words of the addresses are used.
    pub version: IpVersion,
    /// Source address.
    pub src: AddressWords,
    /// Destination address.
    pub dst: AddressWords,
    /// Protocol, ports and TCP flags.
    pub transport: Transport,
    /// IP payload length: transport header and data, the byte count the original reported.
    pub len: u16,
}

/// A fragment other than the first of a datagram: no transport header, so no ports. What
/// finds the flow of its first fragment ([`crate::fragments`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail {
    /// IP version.
    pub version: IpVersion,
    /// Source address.
    pub src: AddressWords,
    /// Destination address.
    pub dst: AddressWords,
    /// The datagram's protocol (IPv6: the fragment header's next header).
    pub protocol: u8,
    /// The fragment's IP payload bytes (after the IPv6 fragment header).
    pub len: u16,
    /// The datagram's identification: IPv4's 16 bits, or the IPv6 fragment header's 32.
    pub id: u32,
}

/// The outcome of parsing a well-formed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A TCP, UDP or ICMP datagram with its transport header.
    Flow(Datagram),
    /// The first fragment of a datagram (offset 0, more fragments): its transport header,
    /// and the datagram's identification (as in [`Tail::id`]).
    FirstFragment(Datagram, u32),
    /// A fragment other than the first.
    NonFirstFragment(Tail),
    /// A protocol the module does not record (IGMP, ESP, OSPF, ...).
    Untracked,
}

/// Parses the IP packet at the start of `buf` down to its transport header.
pub fn parse(buf: &[u8], order: HeaderOrder) -> Result<Parsed, Malformed> {
    match version(buf, order)? {
        IpVersion::V4 => parse_v4(buf, order),
        IpVersion::V6 => parse_v6(buf, order),
    }
}

/// The IP version of the packet at the start of `buf`, so that a caller can take a
/// separate path for each (`parse_v4` or `parse_v6`).
#[inline(always)]
pub fn version(buf: &[u8], order: HeaderOrder) -> Result<IpVersion, Malformed> {
    let Some(first) = buf.first_chunk::<4>() else {
        return Err(Malformed::TruncatedIpHeader);
    };
    match fixed_word(first, 0, order) >> 28 {
        4 => Ok(IpVersion::V4),
        6 => Ok(IpVersion::V6),
        _ => Err(Malformed::BadVersion),
    }
}

/// [`parse`] for a packet whose [`version`] is 4 (not checked again).
#[inline(always)]
pub(crate) fn parse_v4(buf: &[u8], order: HeaderOrder) -> Result<Parsed, Malformed> {
    let ip = Ipv4Header::of_version_4(buf, order)?;
    let (src, dst) = ([ip.src_word(), 0, 0, 0], [ip.dst_word(), 0, 0, 0]);
    let len = ip.payload_len();
    if ip.fragment_offset() != 0 {
        return Ok(Parsed::NonFirstFragment(Tail {
            version: IpVersion::V4,
            src,
            dst,
            protocol: ip.protocol(),
            len,
            id: ip.identification().into(),
        }));
    }
    let ip_protocol = match ip.protocol() {
        protocol::ICMPV6 => return Ok(Parsed::Untracked),
        p => p,
    };
    let Some(transport) = Transport::parse(ip_protocol, ip.payload(), len)? else {
        return Ok(Parsed::Untracked);
    };
    let datagram = Datagram {
        version: IpVersion::V4,
        src,
        dst,
        transport,
        len,
    };
    if ip.more_fragments() {
        return Ok(Parsed::FirstFragment(datagram, ip.identification().into()));
    }
    Ok(Parsed::Flow(datagram))
}

/// [`parse`] for a packet whose [`version`] is 6 (not checked again).
#[inline(always)]
pub(crate) fn parse_v6(buf: &[u8], order: HeaderOrder) -> Result<Parsed, Malformed> {
    let ip = Ipv6Header::of_version_6(buf, order)?;
    let upper = ip.upper_layer()?;
    if upper.fragment_offset.is_some_and(|offset| offset != 0) {
        return Ok(Parsed::NonFirstFragment(Tail {
            version: IpVersion::V6,
            src: ip.src_words(),
            dst: ip.dst_words(),
            protocol: upper.protocol,
            len: upper.len,
            id: upper.fragment_id,
        }));
    }
    let ip_protocol = match upper.protocol {
        protocol::ICMP => return Ok(Parsed::Untracked),
        p => p,
    };
    let header = ip.bytes().get(upper.offset..).unwrap_or(&[]);
    let Some(transport) = Transport::parse(ip_protocol, header, upper.len)? else {
        return Ok(Parsed::Untracked);
    };
    let datagram = Datagram {
        version: IpVersion::V6,
        src: ip.src_words(),
        dst: ip.dst_words(),
        transport,
        len: upper.len,
    };
    if upper.more_fragments {
        return Ok(Parsed::FirstFragment(datagram, upper.fragment_id));
    }
    Ok(Parsed::Flow(datagram))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipv6::tests::v6;
    use nxsm_test_packets::{ipv4, to_host_order, TCP_ACK, TCP_SYN};

    /// 10.0.0.1:5000 -> 10.0.0.2:53, 8 bytes of data.
    fn v4_udp() -> Vec<u8> {
        ipv4([10, 0, 0, 1], [10, 0, 0, 2])
            .udp(5000, 53)
            .payload(8)
            .build()
    }

    #[test]
    fn ipv4_udp_in_both_orders() {
        for order in [HeaderOrder::Network, HeaderOrder::Host] {
            let mut p = v4_udp();
            if order == HeaderOrder::Host {
                to_host_order(&mut p, 5);
            }
            let Ok(Parsed::Flow(d)) = parse(&p, order) else {
                panic!("{order:?}")
            };
            assert_eq!(d.version, IpVersion::V4);
            assert_eq!(ipv4_octets(&d.src), [10, 0, 0, 1]);
            assert_eq!(ipv4_octets(&d.dst), [10, 0, 0, 2]);
            assert_eq!((&d.src[1..], &d.dst[1..]), (&[0; 3][..], &[0; 3][..]));
            assert_eq!((d.transport.src_port(), d.transport.dst_port()), (5000, 53));
            assert_eq!(d.len, 16);
        }
    }

    #[test]
    fn ipv4_non_first_fragment_reads_no_transport() {
        let mut p = v4_udp();
        p[6..8].copy_from_slice(&[0x00, 0x01]); // flags, fragment offset: at 8 bytes
        p.truncate(20); // nothing after the header at all
        assert!(matches!(
            parse(&p, HeaderOrder::Network),
            Ok(Parsed::NonFirstFragment(Tail { len: 16, .. }))
        ));
    }

    #[test]
    fn ipv6_beyond_the_extension_header_limit_is_well_formed_and_untracked() {
        let net = HeaderOrder::Network;
        let Ok(Parsed::Flow(d)) = parse(&ipv6::tests::extension_chain(8), net) else {
            panic!()
        };
        assert_eq!((d.transport.src_port(), d.transport.dst_port()), (5000, 53));
        for count in [9, 30] {
            assert_eq!(
                parse(&ipv6::tests::extension_chain(count), net),
                Ok(Parsed::Untracked),
                "{count}"
            );
        }
    }

    #[test]
    fn protocol_numbers_belong_to_their_ip_version() {
        let mut p = v4_udp();
        p[9] = protocol::ICMPV6; // protocol
        assert_eq!(parse(&p, HeaderOrder::Network), Ok(Parsed::Untracked));
        let mut v6_icmp = v6().echo().build();
        v6_icmp[6] = protocol::ICMP; // next header: IPv4's ICMP
        assert_eq!(parse(&v6_icmp, HeaderOrder::Network), Ok(Parsed::Untracked));
        let echo6 = v6().echo().build();
        let Ok(Parsed::Flow(d)) = parse(&echo6, HeaderOrder::Network) else {
            panic!()
        };
        assert_eq!(d.transport.kind, TransportKind::Icmp);
        assert_eq!(d.len, 8);
    }

    #[test]
    fn ipv6_tcp_in_host_order() {
        let mut p = v6().tcp(8883, 50000, TCP_SYN | TCP_ACK).build();
        to_host_order(&mut p, 10);
        let Ok(Parsed::Flow(d)) = parse(&p, HeaderOrder::Host) else {
            panic!()
        };
        assert_eq!(
            (d.transport.src_port(), d.transport.dst_port()),
            (8883, 50000)
        );
        assert_eq!(d.transport.flags, TcpFlags(0x12));
        assert_eq!(d.version, IpVersion::V6);
        let (src, dst) = (ipv6_octets(&d.src), ipv6_octets(&d.dst));
        assert_eq!((&src[..2], src[15]), (&[0xfe, 0x80][..], 1));
        assert_eq!((&dst[..4], dst[15]), (&[0x20, 0x01, 0x0d, 0xb8][..], 2));
    }

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        assert_eq!(
            parse(&[], HeaderOrder::Network),
            Err(Malformed::TruncatedIpHeader)
        );
        assert_eq!(
            parse(&[0x45, 0, 0], HeaderOrder::Network),
            Err(Malformed::TruncatedIpHeader)
        );
        assert_eq!(
            parse(&[0x15, 0, 0, 0], HeaderOrder::Network),
            Err(Malformed::BadVersion)
        );
        // Every prefix and every single-byte corruption of valid packets parses or is refused.
        let v6_udp = v6().hop_by_hop(1).udp(1, 2).payload(12).build();
        for packet in [v4_udp(), v6_udp] {
            for cut in 0..=packet.len() {
                let _ = parse(&packet[..cut], HeaderOrder::Network);
            }
            for at in 0..packet.len() {
                for value in [0x00, 0x0F, 0x45, 0x60, 0xFF] {
                    let mut p = packet.clone();
                    p[at] = value;
                    let _ = parse(&p, HeaderOrder::Network);
                    let _ = parse(&p, HeaderOrder::Host);
                }
            }
        }
    }
}
