//! IPv4 header view (RFC 791).

use super::{fixed_word, HeaderOrder, Malformed};

/// A checked IPv4 header: the fixed header and options lie inside the buffer and the
/// lengths agree with each other.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Header<'a> {
    buf: &'a [u8],
    order: HeaderOrder,
    words: [u32; 3],
}

impl<'a> Ipv4Header<'a> {
    /// Smallest header.
    pub const MIN_LEN: usize = 20;

    /// Checks `buf` (header, then whatever follows in the same buffer).
    pub fn new_checked(buf: &'a [u8], order: HeaderOrder) -> Result<Self, Malformed> {
        let word = |i| fixed_word(buf, i, order).ok_or(Malformed::TruncatedIpHeader);
        let words = [word(0)?, word(1)?, word(2)?];
        // The fixed header must be wholly present even though only words 0-2 are kept.
        word(4)?;
        let header = Self { buf, order, words };
        if words[0] >> 28 != 4 {
            return Err(Malformed::BadVersion);
        }
        let header_len = header.header_len();
        if header_len < Self::MIN_LEN || header_len > buf.len() {
            return Err(Malformed::BadHeaderLength);
        }
        if usize::from(header.total_len()) < header_len {
            return Err(Malformed::BadTotalLength);
        }
        Ok(header)
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        ((self.words[0] >> 24) & 0x0F) as usize * 4
    }

    /// Total length of the datagram (header and payload) as the header states it.
    pub fn total_len(&self) -> u16 {
        self.words[0] as u16
    }

    /// Bytes after the IP header: transport header and data (the flow byte count).
    pub fn payload_len(&self) -> u16 {
        // `new_checked` guarantees total_len >= header_len.
        self.total_len().saturating_sub(self.header_len() as u16)
    }

    /// Fragment offset in 8-byte units; non-zero means no transport header here.
    pub fn fragment_offset(&self) -> u16 {
        (self.words[1] & 0x1FFF) as u16
    }

    /// The "more fragments" flag.
    pub fn more_fragments(&self) -> bool {
        self.words[1] & 0x2000 != 0
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> u8 {
        (self.words[2] >> 16) as u8
    }

    /// Source address, in wire octet order.
    pub fn src(&self) -> [u8; 4] {
        self.address(3)
    }

    /// Destination address, in wire octet order.
    pub fn dst(&self) -> [u8; 4] {
        self.address(4)
    }

    /// The bytes after the header that are present in the buffer.
    pub fn payload(&self) -> &'a [u8] {
        self.buf.get(self.header_len()..).unwrap_or(&[])
    }

    fn address(&self, word: usize) -> [u8; 4] {
        // `new_checked` proved words 0-4 are present.
        fixed_word(self.buf, word, self.order)
            .unwrap_or(0)
            .to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::transport::tests::to_host_order;

    /// 192.168.1.10 -> 20.1.2.3, TCP, 40 bytes total, DF set.
    pub(crate) const TCP_SYN_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 192, 168, 1, 10,
        20, 1, 2, 3,
    ];

    #[test]
    fn reads_every_field_in_both_orders() {
        for order in [HeaderOrder::Network, HeaderOrder::Host] {
            let mut bytes = TCP_SYN_HEADER;
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
        let mut bytes = [0u8; 28];
        bytes[..20].copy_from_slice(&TCP_SYN_HEADER);
        bytes[0] = 0x47; // 28-byte header
        bytes[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]); // router alert
        let ip = Ipv4Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
        assert_eq!(ip.header_len(), 28);
        assert_eq!(ip.payload_len(), 12);
        assert!(ip.payload().is_empty());
    }

    #[test]
    fn fragments_are_visible() {
        let mut bytes = TCP_SYN_HEADER;
        bytes[6] = 0x20; // MF, offset 0
        let ip = Ipv4Header::new_checked(&bytes, HeaderOrder::Network).unwrap();
        assert_eq!((ip.fragment_offset(), ip.more_fragments()), (0, true));
        bytes[6..8].copy_from_slice(&[0x00, 0xB9]); // last fragment at 185 * 8
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
        check(&[], Malformed::TruncatedIpHeader);
        check(&TCP_SYN_HEADER[..19], Malformed::TruncatedIpHeader);
        let mut v6 = TCP_SYN_HEADER;
        v6[0] = 0x65;
        check(&v6, Malformed::BadVersion);
        let mut short = TCP_SYN_HEADER;
        short[0] = 0x44; // 16-byte header
        check(&short, Malformed::BadHeaderLength);
        let mut long = TCP_SYN_HEADER;
        long[0] = 0x46; // 24-byte header in a 20-byte buffer
        check(&long, Malformed::BadHeaderLength);
        let mut total = TCP_SYN_HEADER;
        total[2..4].copy_from_slice(&[0, 19]);
        check(&total, Malformed::BadTotalLength);
    }
}
