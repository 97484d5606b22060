//! IPv4 header view (RFC 791).

use super::{address_word, fixed_word, HeaderOrder, Malformed};

/// Length of the fixed header (no options).
const FIXED_LEN: usize = 20;

/// A checked IPv4 header: the fixed header and options lie inside the buffer and the
/// lengths agree with each other.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Header<'a> {
    /// Words 0-2 as wire values: version to total length, fragment field, protocol.
    words: [u32; 3],
    /// Source and destination as address words (see [`super::AddressWords`]).
    addresses: [u32; 2],
    /// Header length in bytes, computed once (the compiler would compute it again).
    header_len: u8,
    /// The bytes after the header and its options that are present in the buffer.
    payload: &'a [u8],
}

impl<'a> Ipv4Header<'a> {
    /// Smallest header.
    pub const MIN_LEN: usize = FIXED_LEN;

    /// Checks `buf` (header, then whatever follows in the same buffer).
    #[cfg(test)]
    pub fn new_checked(buf: &'a [u8], order: HeaderOrder) -> Result<Self, Malformed> {
        let Some(fixed) = buf.first_chunk::<FIXED_LEN>() else {
            return Err(Malformed::TruncatedIpHeader);
        };
        if fixed_word(fixed, 0, order) >> 28 != 4 {
            return Err(Malformed::BadVersion);
        }
        Self::of_version_4(buf, order)
    }

    /// `new_checked` (a test helper) for a buffer whose version nibble the caller has
    /// already seen to be 4 (the compiler cannot tell that the two tests agree).
    #[inline(always)]
    pub(super) fn of_version_4(buf: &'a [u8], order: HeaderOrder) -> Result<Self, Malformed> {
        let Some(fixed) = buf.first_chunk::<FIXED_LEN>() else {
            return Err(Malformed::TruncatedIpHeader);
        };
        let word = |i| fixed_word(fixed, i, order);
        let words = [word(0), word(1), word(2)];
        let header_len = Self::header_len_of(words[0]);
        if header_len < Self::MIN_LEN {
            return Err(Malformed::BadHeaderLength);
        }
        let Some(payload) = buf.get(header_len..) else {
            return Err(Malformed::BadHeaderLength);
        };
        let header = Self {
            words,
            addresses: [address_word(fixed, 3, order), address_word(fixed, 4, order)],
            header_len: header_len as u8,
            payload,
        };
        if usize::from(header.total_len()) < header_len {
            return Err(Malformed::BadTotalLength);
        }
        Ok(header)
    }

    fn header_len_of(word0: u32) -> usize {
        ((word0 >> 24) & 0x0F) as usize * 4
    }

    /// Header length in bytes, options included.
    #[cfg(test)]
    pub fn header_len(&self) -> usize {
        usize::from(self.header_len)
    }

    /// Total length of the datagram (header and payload) as the header states it.
    pub fn total_len(&self) -> u16 {
        self.words[0] as u16
    }

    /// Bytes after the IP header: transport header and data (the flow byte count).
    pub fn payload_len(&self) -> u16 {
        // `new_checked` guarantees total_len >= header_len.
        self.total_len().wrapping_sub(u16::from(self.header_len))
    }

    /// Fragment offset in 8-byte units; non-zero means no transport header here.
    pub fn fragment_offset(&self) -> u16 {
        (self.words[1] & 0x1FFF) as u16
    }

    /// The "more fragments" flag.
    pub fn more_fragments(&self) -> bool {
        self.words[1] & 0x2000 != 0
    }

    /// The identification field: what a datagram's fragments share.
    pub fn identification(&self) -> u16 {
        (self.words[1] >> 16) as u16
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> u8 {
        (self.words[2] >> 16) as u8
    }

    /// Source address, in wire octet order.
    #[cfg(test)]
    pub fn src(&self) -> [u8; 4] {
        self.src_word().to_ne_bytes()
    }

    /// Destination address, in wire octet order.
    #[cfg(test)]
    pub fn dst(&self) -> [u8; 4] {
        self.dst_word().to_ne_bytes()
    }

    /// Source address as an address word.
    pub fn src_word(&self) -> u32 {
        self.addresses[0]
    }

    /// Destination address as an address word.
    pub fn dst_word(&self) -> u32 {
        self.addresses[1]
    }

    /// The bytes after the header that are present in the buffer.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use nxsm_test_packets::{ipv4, to_host_order, TCP_SYN};

    /// The IPv4 header of a TCP SYN, 192.168.1.10 -> 20.1.2.3, 40 bytes total, DF set (the
    /// TCP header not in the buffer).
    fn tcp_syn_header() -> Vec<u8> {
        let mut p = ipv4([192, 168, 1, 10], [20, 1, 2, 3])
            .dont_fragment()
            .tcp(50000, 8883, TCP_SYN)
            .build();
        p.truncate(20);
        p
    }

    #[test]
    fn reads_every_field_in_both_orders() {
        for order in [HeaderOrder::Network, HeaderOrder::Host] {
            let mut bytes = tcp_syn_header();
            if order == HeaderOrder::Host {
                to_host_order(&mut bytes, 5);
            }
            let ip = Ipv4Header::new_checked(&bytes, order).unwrap();
            assert_eq!(ip.header_len(), 20);
            assert_eq!(ip.total_len(), 40);
            assert_eq!(ip.payload_len(), 20);
            assert_eq!(ip.protocol(), 6);
            assert_eq!(ip.src(), [192, 168, 1, 10]);
            assert_eq!(ip.dst(), [20, 1, 2, 3]);
            assert_eq!((ip.fragment_offset(), ip.more_fragments()), (0, false));
        }
    }

    #[test]
    fn honours_options() {
        // A 28-byte header (router alert, then end-of-options padding) and an echo request
        // with 4 bytes of data: 40 bytes, of which only the header is in the buffer.
        let mut bytes = ipv4([192, 168, 1, 10], [20, 1, 2, 3])
            .options(&[0x94, 0x04, 0x00, 0x00, 0, 0, 0, 0])
            .echo()
            .payload(4)
            .build();
        bytes.truncate(28);
        let ip = Ipv4Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
        assert_eq!(ip.header_len(), 28);
        assert_eq!(ip.payload_len(), 12);
        assert!(ip.payload().is_empty());
    }

    #[test]
    fn fragments_are_visible() {
        let mut bytes = tcp_syn_header();
        bytes[6] = 0x20; // flags: MF, offset 0
        let ip = Ipv4Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
        assert_eq!((ip.fragment_offset(), ip.more_fragments()), (0, true));
        bytes[6..8].copy_from_slice(&[0x00, 0xB9]); // flags, offset: last fragment at 185 * 8
        let ip = Ipv4Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
        assert_eq!((ip.fragment_offset(), ip.more_fragments()), (185, false));
    }

    #[test]
    fn every_malformed_shape_is_refused() {
        let check = |bytes: &[u8], expected| {
            assert_eq!(
                Ipv4Header::new_checked(bytes, HeaderOrder::Network).err(),
                Some(expected),
                "{bytes:02x?}"
            )
        };
        let good = tcp_syn_header();
        check(&[], Malformed::TruncatedIpHeader);
        check(&good[..19], Malformed::TruncatedIpHeader);
        let mut v6 = good.clone();
        v6[0] = 0x65; // version 6
        check(&v6, Malformed::BadVersion);
        let mut short = good.clone();
        short[0] = 0x44; // IHL: 16-byte header
        check(&short, Malformed::BadHeaderLength);
        let mut long = good.clone();
        long[0] = 0x46; // IHL: 24-byte header in a 20-byte buffer
        check(&long, Malformed::BadHeaderLength);
        let mut total = good;
        total[2..4].copy_from_slice(&[0, 19]); // total length shorter than the header
        check(&total, Malformed::BadTotalLength);
    }
}
