//! IPv6 header view (RFC 8200) with the extension-header walk.

use super::{
    address_word, be16, be32, fixed_word, ne16, protocol, AddressWords, HeaderOrder, Malformed,
};

/// Most extension headers the walk follows; real traffic carries two or three. A packet
/// with more is not malformed for it: its upper layer is just not looked for (see
/// [`UpperLayer::protocol`]).
const MAX_EXTENSION_HEADERS: usize = 8;

/// Length of the fixed header.
const FIXED_LEN: usize = 40;

/// Whether `next` is an extension header that the walk follows.
fn is_extension(next: u8) -> bool {
    matches!(
        next,
        protocol::HOP_BY_HOP
            | protocol::ROUTING
            | protocol::DESTINATION_OPTIONS
            | protocol::FRAGMENT
            | protocol::AUTHENTICATION
    )
}

/// A checked IPv6 fixed header.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Header<'a> {
    buf: &'a [u8],
    fixed: &'a [u8; FIXED_LEN],
    order: HeaderOrder,
    word1: u32,
}

/// Where the walk over extension headers ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpperLayer {
    /// Protocol of the header found at `offset` (TCP, UDP, ICMPv6, or one that ends the
    /// walk without ports such as ESP or "no next header"). An extension header when the
    /// walk stopped at its limit: like those, a protocol without ports, so no flow.
    pub protocol: u8,
    /// Offset of that header from the start of the IPv6 header.
    pub offset: usize,
    /// Bytes from `offset` to the end of the datagram (the flow byte count).
    pub len: u16,
    /// Fragment offset (8-byte units) if a fragment header was crossed; a non-zero value
    /// means the upper-layer header is not in this packet.
    pub fragment_offset: Option<u16>,
    /// The fragment header's M flag: more fragments follow.
    pub more_fragments: bool,
    /// The fragment header's identification (0 without one).
    pub fragment_id: u32,
}

impl<'a> Ipv6Header<'a> {
    /// Fixed header length.
    pub const LEN: usize = FIXED_LEN;

    /// Checks `buf` (fixed header, then whatever follows in the same buffer).
    #[cfg(test)]
    pub fn new_checked(buf: &'a [u8], order: HeaderOrder) -> Result<Self, Malformed> {
        let Some(fixed) = buf.first_chunk::<FIXED_LEN>() else {
            return Err(Malformed::TruncatedIpHeader);
        };
        if fixed_word(fixed, 0, order) >> 28 != 6 {
            return Err(Malformed::BadVersion);
        }
        Self::of_version_6(buf, order)
    }

    /// `new_checked` (a test helper) for a buffer whose version nibble the caller has
    /// already seen to be 6.
    #[inline]
    pub(super) fn of_version_6(buf: &'a [u8], order: HeaderOrder) -> Result<Self, Malformed> {
        let Some(fixed) = buf.first_chunk::<FIXED_LEN>() else {
            return Err(Malformed::TruncatedIpHeader);
        };
        let header = Self {
            buf,
            fixed,
            order,
            word1: fixed_word(fixed, 1, order),
        };
        if header.payload_len() == 0 {
            return Err(Malformed::Jumbogram);
        }
        Ok(header)
    }

    /// Payload length (extension headers, transport header and data).
    pub fn payload_len(&self) -> u16 {
        (self.word1 >> 16) as u16
    }

    /// The first next-header value.
    pub fn next_header(&self) -> u8 {
        (self.word1 >> 8) as u8
    }

    /// Source address, in wire octet order.
    #[cfg(test)]
    pub fn src(&self) -> [u8; 16] {
        super::ipv6_octets(&self.src_words())
    }

    /// Destination address, in wire octet order.
    #[cfg(test)]
    pub fn dst(&self) -> [u8; 16] {
        super::ipv6_octets(&self.dst_words())
    }

    /// Source address as address words.
    #[inline]
    pub fn src_words(&self) -> AddressWords {
        self.address(2)
    }

    /// Destination address as address words.
    #[inline]
    pub fn dst_words(&self) -> AddressWords {
        self.address(6)
    }

    /// Follows Hop-by-Hop, Routing, Destination Options, Fragment and Authentication
    /// headers to the upper layer, at most `MAX_EXTENSION_HEADERS` (8) of them. Every header
    /// followed must lie inside both the buffer and the payload length.
    #[inline]
    pub fn upper_layer(&self) -> Result<UpperLayer, Malformed> {
        let next = self.next_header();
        if is_extension(next) {
            return self.walk_extensions();
        }
        // The common case, kept inline: the upper layer follows the fixed header.
        Ok(UpperLayer {
            protocol: next,
            offset: Self::LEN,
            len: self.payload_len(),
            fragment_offset: None,
            more_fragments: false,
            fragment_id: 0,
        })
    }

    /// [`upper_layer`](Self::upper_layer) when extension headers follow the fixed header.
    #[inline(never)]
    fn walk_extensions(&self) -> Result<UpperLayer, Malformed> {
        let mut next = self.next_header();
        let mut offset = Self::LEN;
        let mut remaining = self.payload_len();
        let mut fragment_offset = None;
        let (mut more_fragments, mut fragment_id) = (false, 0);
        for _ in 0..MAX_EXTENSION_HEADERS {
            let len = match next {
                protocol::HOP_BY_HOP | protocol::ROUTING | protocol::DESTINATION_OPTIONS => {
                    (usize::from(self.byte(offset + 1)?) + 1) * 8
                }
                protocol::FRAGMENT => {
                    // NetX Duo's receive path swaps this field in place (see HeaderOrder::Host).
                    let field = match self.order {
                        HeaderOrder::Network => be16(self.buf, offset + 2),
                        HeaderOrder::Host => ne16(self.buf, offset + 2),
                    }
                    .ok_or(Malformed::BadExtensionHeader)?;
                    fragment_offset = Some(field >> 3);
                    more_fragments = field & 1 != 0;
                    // NetX Duo leaves the identification in network order.
                    fragment_id =
                        be32(self.buf, offset + 4).ok_or(Malformed::BadExtensionHeader)?;
                    8
                }
                protocol::AUTHENTICATION => (usize::from(self.byte(offset + 1)?) + 2) * 4,
                _ => {
                    return Ok(UpperLayer {
                        protocol: next,
                        offset,
                        len: remaining,
                        fragment_offset,
                        more_fragments,
                        fragment_id,
                    })
                }
            };
            // The header must be wholly inside the buffer and inside the payload.
            if offset + len > self.buf.len() || len > usize::from(remaining) {
                return Err(Malformed::BadExtensionHeader);
            }
            next = self.byte(offset)?;
            remaining -= len as u16;
            offset += len;
            if fragment_offset.is_some_and(|f| f != 0) {
                // Later headers of a non-first fragment are not in this packet.
                return Ok(UpperLayer {
                    protocol: next,
                    offset,
                    len: remaining,
                    fragment_offset,
                    more_fragments,
                    fragment_id,
                });
            }
        }
        // The limit: what follows is the upper layer, or an extension header not followed.
        Ok(UpperLayer {
            protocol: next,
            offset,
            len: remaining,
            fragment_offset,
            more_fragments,
            fragment_id,
        })
    }

    /// The buffer from the start of the IPv6 header.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    fn byte(&self, offset: usize) -> Result<u8, Malformed> {
        self.buf
            .get(offset)
            .copied()
            .ok_or(Malformed::BadExtensionHeader)
    }

    #[inline]
    fn address(&self, first_word: usize) -> AddressWords {
        let word = |i| address_word(self.fixed, first_word + i, self.order);
        [word(0), word(1), word(2), word(3)]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nxsm_test_packets::{ipv6, to_host_order, v6_doc, Packet};

    /// An IPv6 packet fe80::1 -> 2001:db8::2.
    pub(crate) fn v6() -> Packet {
        let link_local = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        ipv6(link_local, v6_doc(2))
    }

    /// The fixed header of `v6()` with next header `next` and payload length `len`, then
    /// `rest`: for extension headers the builder does not make, and malformed ones.
    fn packet(next: u8, len: u16, rest: &[u8]) -> Vec<u8> {
        let mut p = v6().build();
        p[4..6].copy_from_slice(&len.to_be_bytes()); // payload length
        p[6] = next; // next header
        p.extend_from_slice(rest);
        p
    }

    #[test]
    fn reads_fixed_fields_in_both_orders() {
        for order in [HeaderOrder::Network, HeaderOrder::Host] {
            let mut bytes = v6().udp(5000, 53).build();
            if order == HeaderOrder::Host {
                to_host_order(&mut bytes, 10);
            }
            let ip = Ipv6Header::new_checked(&bytes, order).unwrap();
            assert_eq!(ip.payload_len(), 8);
            assert_eq!(ip.next_header(), protocol::UDP);
            assert_eq!(ip.src()[..2], [0xfe, 0x80]);
            assert_eq!(ip.src()[15], 1);
            assert_eq!(ip.dst()[..4], [0x20, 0x01, 0x0d, 0xb8]);
            assert_eq!(ip.dst()[15], 2);
            let upper = ip.upper_layer().unwrap();
            assert_eq!((upper.protocol, upper.offset, upper.len), (17, 40, 8));
        }
    }

    #[test]
    fn walks_every_extension_kind() {
        let mut rest = Vec::new();
        rest.extend_from_slice(&[protocol::ROUTING, 0, 0, 0, 0, 0, 0, 0]); // hop-by-hop, 8
        rest.extend_from_slice(&[protocol::DESTINATION_OPTIONS, 1]); // routing, 16
        rest.extend_from_slice(&[0; 14]);
        rest.extend_from_slice(&[protocol::AUTHENTICATION, 0, 0, 0, 0, 0, 0, 0]); // dest opts, 8
        rest.extend_from_slice(&[protocol::FRAGMENT, 1, 0, 0]); // AH, (1+2)*4 = 12
        rest.extend_from_slice(&[0; 8]);
        rest.extend_from_slice(&[protocol::TCP, 0, 0x00, 0x01, 0, 0, 0, 1]); // fragment 0, M
        let ext = rest.len() as u16;
        rest.extend_from_slice(&[0; 20]); // TCP
        let bytes = packet(protocol::HOP_BY_HOP, ext + 20, &rest);
        let ip = Ipv6Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
        let upper = ip.upper_layer().unwrap();
        assert_eq!(upper.protocol, protocol::TCP);
        assert_eq!(upper.offset, 40 + usize::from(ext));
        assert_eq!(upper.len, 20);
        assert_eq!(upper.fragment_offset, Some(0));
    }

    #[test]
    fn extension_headers_keep_network_order_on_the_host_path() {
        let mut bytes = v6().hop_by_hop(1).udp(5000, 53).build();
        to_host_order(&mut bytes, 10);
        let ip = Ipv6Header::new_checked(&bytes, HeaderOrder::Host).unwrap();
        let upper = ip.upper_layer().unwrap();
        assert_eq!(
            (upper.protocol, upper.offset, upper.len),
            (protocol::UDP, 48, 8)
        );
    }

    /// A reassembled datagram as NetX Duo's receive functions see it: the fixed header in
    /// host order, and the first fragment's header (offset 0, more fragments) with its
    /// offset field swapped in place, the transport header behind it.
    #[test]
    fn a_first_fragment_header_in_host_order_is_a_first_fragment() {
        let mut rest = vec![protocol::UDP, 0, 0x00, 0x01, 0, 0, 0, 9];
        rest.extend_from_slice(&[0; 8]);
        let mut bytes = packet(protocol::FRAGMENT, 8 + 1448, &rest);
        to_host_order(&mut bytes, 10);
        let field = u16::from_be_bytes([bytes[42], bytes[43]]);
        bytes[42..44].copy_from_slice(&field.to_ne_bytes());
        let ip = Ipv6Header::new_checked(&bytes, HeaderOrder::Host).unwrap();
        let upper = ip.upper_layer().unwrap();
        assert_eq!(upper.fragment_offset, Some(0));
        assert_eq!(
            (upper.protocol, upper.offset, upper.len),
            (protocol::UDP, 48, 1448)
        );
        // The same field of a later fragment still reads as its own offset.
        let field: u16 = 185 << 3;
        bytes[42..44].copy_from_slice(&field.to_ne_bytes());
        let ip = Ipv6Header::new_checked(&bytes, HeaderOrder::Host).unwrap();
        assert_eq!(ip.upper_layer().unwrap().fragment_offset, Some(185));
    }

    #[test]
    fn a_non_first_fragment_stops_before_the_transport_header() {
        let rest = [protocol::UDP, 0, 0x05, 0x00, 0, 0, 0, 9]; // offset 160, last
        let bytes = packet(protocol::FRAGMENT, 8 + 100, &rest);
        let ip = Ipv6Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
        let upper = ip.upper_layer().unwrap();
        assert_eq!(upper.fragment_offset, Some(160));
        assert_eq!(upper.protocol, protocol::UDP);
        assert_eq!(upper.len, 100);
    }

    #[test]
    fn esp_and_no_next_header_end_the_walk() {
        for next in [protocol::ESP, protocol::NO_NEXT_HEADER] {
            let bytes = packet(next, 16, &[0; 16]);
            let ip = Ipv6Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
            assert_eq!(ip.upper_layer().unwrap().protocol, next);
        }
    }

    #[test]
    fn every_malformed_shape_is_refused() {
        let net = HeaderOrder::Network;
        let udp = v6().udp(5000, 53).build();
        assert_eq!(
            Ipv6Header::new_checked(&udp[..39], net).err(),
            Some(Malformed::TruncatedIpHeader)
        );
        let mut v4 = udp.clone();
        v4[0] = 0x45; // version 4
        assert_eq!(
            Ipv6Header::new_checked(&v4, net).err(),
            Some(Malformed::BadVersion)
        );
        let mut jumbo = udp;
        jumbo[4..6].copy_from_slice(&[0, 0]); // payload length 0: a jumbogram
        assert_eq!(
            Ipv6Header::new_checked(&jumbo, net).err(),
            Some(Malformed::Jumbogram)
        );
        let walk = |bytes: &[u8]| Ipv6Header::new_checked(bytes, net).unwrap().upper_layer();
        // Extension header cut by the end of the buffer.
        assert_eq!(
            walk(&packet(protocol::HOP_BY_HOP, 16, &[17, 0, 0])),
            Err(Malformed::BadExtensionHeader)
        );
        // Length byte missing.
        assert_eq!(
            walk(&packet(protocol::ROUTING, 16, &[17])),
            Err(Malformed::BadExtensionHeader)
        );
        // Extension longer than the payload length.
        assert_eq!(
            walk(&packet(
                protocol::DESTINATION_OPTIONS,
                4,
                &[17, 0, 0, 0, 0, 0, 0, 0]
            )),
            Err(Malformed::BadExtensionHeader)
        );
    }

    /// `count` hop-by-hop headers of 8 bytes, then a UDP header.
    pub(crate) fn extension_chain(count: usize) -> Vec<u8> {
        v6().hop_by_hop(count).udp(5000, 53).build()
    }

    #[test]
    fn more_extension_headers_than_followed_are_not_malformed() {
        let net = HeaderOrder::Network;
        let upper = |count| {
            Ipv6Header::new_checked(&extension_chain(count), net)
                .unwrap()
                .upper_layer()
        };
        // Up to the limit, the walk reaches UDP.
        let at_limit = upper(MAX_EXTENSION_HEADERS).unwrap();
        assert_eq!(at_limit.protocol, protocol::UDP);
        assert_eq!(at_limit.offset, 40 + 8 * MAX_EXTENSION_HEADERS);
        assert_eq!(at_limit.len, 8);
        // Beyond it, the walk stops at the first header it does not follow.
        for count in [MAX_EXTENSION_HEADERS + 1, 12, 200] {
            let stopped = upper(count).unwrap();
            assert_eq!(stopped.protocol, protocol::HOP_BY_HOP, "{count}");
            assert_eq!(stopped.offset, 40 + 8 * MAX_EXTENSION_HEADERS);
            assert_eq!(
                usize::from(stopped.len),
                8 * (count - MAX_EXTENSION_HEADERS) + 8
            );
        }
        // A chain cut by the buffer inside the headers followed is still malformed.
        let mut cut = extension_chain(12);
        cut.truncate(40 + 8 * 3 + 4);
        assert_eq!(
            Ipv6Header::new_checked(&cut, net).unwrap().upper_layer(),
            Err(Malformed::BadExtensionHeader)
        );
    }
}
