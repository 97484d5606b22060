//! Checked, zero-copy views of the headers NetX Duo hands to the hooks.
//!
//! Every read is bounds-checked against the bytes actually given; anything that cannot be
//! parsed is a [`Malformed`] with its reason, never a guess. A transport header is read only
//! from a first fragment and only where the buffer holds it.
//!
//! NetX Duo shows the IP header in two byte orders (see [`HeaderOrder`]): the views read the
//! fixed-header words through one accessor that knows which, and everything else (options,
//! extension headers, transport headers) is always in network order.

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
    pub const ESP: u8 = 50;
    /// IPsec Authentication Header.
    pub const AUTHENTICATION: u8 = 51;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
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
    /// transport header are untouched.
    Host,
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
    /// An IPv6 extension header runs past the buffer or past the payload length.
    BadExtensionHeader,
    /// More IPv6 extension headers than any sane packet carries.
    TooManyExtensionHeaders,
    /// IPv6 payload length 0 (jumbogram) is not supported.
    Jumbogram,
    /// The transport header is not (wholly) in the buffer.
    TruncatedTransport,
    /// The transport header claims less than its minimum size or more than the IP payload.
    BadTransportLength,
}

/// Reads a big-endian `u16` at `offset`, if the buffer holds it.
fn be16(buf: &[u8], offset: usize) -> Option<u16> {
    let bytes = buf.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Reads fixed-header word `index` (4-byte aligned from the start of `buf`) as the value
/// it has on the wire, whatever `order` the buffer is in.
fn fixed_word(buf: &[u8], index: usize, order: HeaderOrder) -> Option<u32> {
    let start = index.checked_mul(4)?;
    let bytes: [u8; 4] = buf.get(start..start.checked_add(4)?)?.try_into().ok()?;
    Some(match order {
        HeaderOrder::Network => u32::from_be_bytes(bytes),
        HeaderOrder::Host => u32::from_ne_bytes(bytes),
    })
}

/// Source and destination addresses of a datagram, in wire octet order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addresses {
    /// IPv4.
    V4 {
        /// Source.
        src: [u8; 4],
        /// Destination.
        dst: [u8; 4],
    },
    /// IPv6.
    V6 {
        /// Source.
        src: [u8; 16],
        /// Destination.
        dst: [u8; 16],
    },
}

/// What a flow record needs from one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Addresses.
    pub addresses: Addresses,
    /// Protocol, ports and TCP flags.
    pub transport: Transport,
    /// IP payload length: transport header and data, the byte count the original reported.
    pub len: u16,
}

/// The outcome of parsing a well-formed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A TCP, UDP or ICMP datagram with its transport header.
    Flow(Datagram),
    /// A fragment other than the first: it has no transport header, so no flow.
    NonFirstFragment,
    /// A protocol the module does not record (IGMP, ESP, OSPF, ...).
    Untracked,
}

/// Parses the IP packet at the start of `buf` down to its transport header.
pub fn parse(buf: &[u8], order: HeaderOrder) -> Result<Parsed, Malformed> {
    match fixed_word(buf, 0, order).map(|w| w >> 28) {
        Some(4) => parse_v4(buf, order),
        Some(6) => parse_v6(buf, order),
        Some(_) => Err(Malformed::BadVersion),
        None => Err(Malformed::TruncatedIpHeader),
    }
}

fn parse_v4(buf: &[u8], order: HeaderOrder) -> Result<Parsed, Malformed> {
    let ip = Ipv4Header::new_checked(buf, order)?;
    if ip.fragment_offset() != 0 {
        return Ok(Parsed::NonFirstFragment);
    }
    let ip_protocol = match ip.protocol() {
        protocol::ICMPV6 => return Ok(Parsed::Untracked),
        p => p,
    };
    let len = ip.payload_len();
    Ok(match Transport::parse(ip_protocol, ip.payload(), len)? {
        Some(transport) => Parsed::Flow(Datagram {
            addresses: Addresses::V4 {
                src: ip.src(),
                dst: ip.dst(),
            },
            transport,
            len,
        }),
        None => Parsed::Untracked,
    })
}

fn parse_v6(buf: &[u8], order: HeaderOrder) -> Result<Parsed, Malformed> {
    let ip = Ipv6Header::new_checked(buf, order)?;
    let upper = ip.upper_layer()?;
    if upper.fragment_offset.is_some_and(|offset| offset != 0) {
        return Ok(Parsed::NonFirstFragment);
    }
    let ip_protocol = match upper.protocol {
        protocol::ICMP => return Ok(Parsed::Untracked),
        p => p,
    };
    let header = ip.bytes().get(upper.offset..).unwrap_or(&[]);
    Ok(match Transport::parse(ip_protocol, header, upper.len)? {
        Some(transport) => Parsed::Flow(Datagram {
            addresses: Addresses::V6 {
                src: ip.src(),
                dst: ip.dst(),
            },
            transport,
            len: upper.len,
        }),
        None => Parsed::Untracked,
    })
}

#[cfg(test)]
mod tests {
    use super::transport::tests::to_host_order;
    use super::*;

    fn v4_udp() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 36, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&[0x13, 0x88, 0x00, 0x35, 0, 16, 0, 0]);
        p.extend_from_slice(&[0xAA; 8]);
        p
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
            assert_eq!(
                d.addresses,
                Addresses::V4 {
                    src: [10, 0, 0, 1],
                    dst: [10, 0, 0, 2]
                }
            );
            assert_eq!((d.transport.src_port, d.transport.dst_port), (5000, 53));
            assert_eq!(d.len, 16);
        }
    }

    #[test]
    fn ipv4_non_first_fragment_reads_no_transport() {
        let mut p = v4_udp();
        p[6..8].copy_from_slice(&[0x00, 0x01]);
        p.truncate(20); // nothing after the header at all
        assert_eq!(
            parse(&p, HeaderOrder::Network),
            Ok(Parsed::NonFirstFragment)
        );
    }

    #[test]
    fn protocol_numbers_belong_to_their_ip_version() {
        let mut p = v4_udp();
        p[9] = protocol::ICMPV6;
        assert_eq!(parse(&p, HeaderOrder::Network), Ok(Parsed::Untracked));
        let mut v6 = ipv6::tests::fixed_header(protocol::ICMP, 8).to_vec();
        v6.extend_from_slice(&[0; 8]);
        assert_eq!(parse(&v6, HeaderOrder::Network), Ok(Parsed::Untracked));
        let mut v6 = ipv6::tests::fixed_header(protocol::ICMPV6, 8).to_vec();
        v6.extend_from_slice(&[128, 0, 0, 0, 0, 0, 0, 0]);
        let Ok(Parsed::Flow(d)) = parse(&v6, HeaderOrder::Network) else {
            panic!()
        };
        assert_eq!(d.transport.kind, TransportKind::Icmp);
        assert_eq!(d.len, 8);
    }

    #[test]
    fn ipv6_tcp_in_host_order() {
        let mut p = ipv6::tests::fixed_header(protocol::TCP, 20).to_vec();
        p.extend_from_slice(&[0x22, 0xb3, 0xc3, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x12]);
        p.extend_from_slice(&[0; 6]);
        to_host_order(&mut p, 10);
        let Ok(Parsed::Flow(d)) = parse(&p, HeaderOrder::Host) else {
            panic!()
        };
        assert_eq!((d.transport.src_port, d.transport.dst_port), (8883, 50000));
        assert_eq!(d.transport.flags, TcpFlags(0x12));
        let Addresses::V6 { src, .. } = d.addresses else {
            panic!()
        };
        assert_eq!(src[..2], [0xfe, 0x80]);
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
        let mut v6 = ipv6::tests::fixed_header(protocol::HOP_BY_HOP, 28).to_vec();
        v6.extend_from_slice(&[protocol::UDP, 0, 0, 0, 0, 0, 0, 0]);
        v6.extend_from_slice(&[0, 1, 0, 2, 0, 20, 0, 0]);
        v6.extend_from_slice(&[0; 12]);
        for packet in [v4_udp(), v6] {
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
