//! IPv4 and IPv6 packets for tests and benchmarks, built one way.
//!
//! ```
//! use nxsm_test_packets::{ipv4, TCP_SYN};
//! let syn = ipv4([192, 168, 1, 10], [20, 1, 2, 3]).tcp(50000, 8883, TCP_SYN).build();
//! assert_eq!(syn.len(), 40);
//! ```
//!
//! A packet is an IP header (IPv4 with optional options, or IPv6 behind optional hop-by-hop
//! headers), a transport header (TCP without options, UDP, or an ICMP / ICMPv6 echo
//! request), then payload bytes (zeros), every length field counting them. IPv4 headers
//! have identification 1, TTL 64 and no fragment flags unless asked; IPv6 hop limit 64;
//! TCP window 0. No checksums: nothing here checks them.

/// TCP flag bit SYN.
pub const TCP_SYN: u8 = 0x02;
/// TCP flag bit ACK.
pub const TCP_ACK: u8 = 0x10;

/// IP protocol numbers.
pub mod protocol {
    /// IPv6 hop-by-hop options.
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// A packet being built; see the crate documentation.
#[derive(Clone, Debug)]
pub struct Packet {
    v6: bool,
    src: Vec<u8>,
    dst: Vec<u8>,
    protocol: u8,
    transport: Vec<u8>,
    payload: usize,
    options: Vec<u8>,
    hop_by_hop: usize,
    dont_fragment: bool,
}

/// An IPv4 packet from `src` to `dst`, protocol 0 and no transport header until one is set.
pub fn ipv4(src: [u8; 4], dst: [u8; 4]) -> Packet {
    Packet::new(false, &src, &dst)
}

/// An IPv6 packet from `src` to `dst`.
pub fn ipv6(src: [u8; 16], dst: [u8; 16]) -> Packet {
    Packet::new(true, &src, &dst)
}

/// 2001:db8::`last`, a documentation address.
pub fn v6_doc(last: u8) -> [u8; 16] {
    let mut address = [0u8; 16];
    address[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    address[15] = last;
    address
}

impl Packet {
    fn new(v6: bool, src: &[u8], dst: &[u8]) -> Self {
        Self {
            v6,
            src: src.to_vec(),
            dst: dst.to_vec(),
            protocol: 0,
            transport: Vec::new(),
            payload: 0,
            options: Vec::new(),
            hop_by_hop: 0,
            dont_fragment: false,
        }
    }

    /// A TCP header (20 bytes, no options) with `flags`.
    pub fn tcp(mut self, src_port: u16, dst_port: u16, flags: u8) -> Self {
        let mut header = vec![0u8; 20];
        header[..2].copy_from_slice(&src_port.to_be_bytes());
        header[2..4].copy_from_slice(&dst_port.to_be_bytes());
        header[12] = 0x50; // data offset: 5 words
        header[13] = flags;
        self.protocol = protocol::TCP;
        self.transport = header;
        self
    }

    /// A UDP header (its length field is set when the packet is built).
    pub fn udp(mut self, src_port: u16, dst_port: u16) -> Self {
        let mut header = vec![0u8; 8];
        header[..2].copy_from_slice(&src_port.to_be_bytes());
        header[2..4].copy_from_slice(&dst_port.to_be_bytes());
        self.protocol = protocol::UDP;
        self.transport = header;
        self
    }

    /// An ICMP echo request (ICMPv6 over IPv6): type, code, checksum, identifier, sequence.
    pub fn echo(mut self) -> Self {
        self.protocol = if self.v6 {
            protocol::ICMPV6
        } else {
            protocol::ICMP
        };
        self.transport = vec![if self.v6 { 128 } else { 8 }, 0, 0, 0, 0, 0, 0, 0];
        self
    }

    /// `bytes` of payload after the transport header (zeros).
    pub fn payload(mut self, bytes: usize) -> Self {
        self.payload = bytes;
        self
    }

    /// IPv4 options (a multiple of 4 bytes).
    pub fn options(mut self, options: &[u8]) -> Self {
        assert!(!self.v6 && options.len().is_multiple_of(4) && options.len() <= 40);
        self.options = options.to_vec();
        self
    }

    /// Sets the IPv4 don't-fragment flag (0x40 in byte 6), as TCP stacks send segments.
    pub fn dont_fragment(mut self) -> Self {
        assert!(!self.v6);
        self.dont_fragment = true;
        self
    }

    /// `count` IPv6 hop-by-hop headers of 8 bytes each before the transport header.
    pub fn hop_by_hop(mut self, count: usize) -> Self {
        assert!(self.v6);
        self.hop_by_hop = count;
        self
    }

    /// The whole packet.
    pub fn build(&self) -> Vec<u8> {
        let mut transport = self.transport.clone();
        let l4 = transport.len() + self.payload;
        if self.protocol == protocol::UDP {
            transport[4..6].copy_from_slice(&(l4 as u16).to_be_bytes());
        }
        let mut p = Vec::new();
        if self.v6 {
            let after = 8 * self.hop_by_hop + l4;
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&(after as u16).to_be_bytes());
            let first = if self.hop_by_hop > 0 {
                protocol::HOP_BY_HOP
            } else {
                self.protocol
            };
            p.extend_from_slice(&[first, 64]);
            p.extend_from_slice(&self.src);
            p.extend_from_slice(&self.dst);
            for i in 0..self.hop_by_hop {
                let next = if i + 1 == self.hop_by_hop {
                    self.protocol
                } else {
                    protocol::HOP_BY_HOP
                };
                p.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]); // PadN over the rest
            }
        } else {
            let header = 20 + self.options.len();
            p.push(0x40 | (header / 4) as u8);
            p.push(0);
            p.extend_from_slice(&((header + l4) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 1]); // identification
            let flags = if self.dont_fragment { 0x40 } else { 0 };
            p.extend_from_slice(&[flags, 0]); // flags, fragment offset
            p.extend_from_slice(&[64, self.protocol, 0, 0]);
            p.extend_from_slice(&self.src);
            p.extend_from_slice(&self.dst);
            p.extend_from_slice(&self.options);
        }
        p.extend_from_slice(&transport);
        p.resize(p.len() + self.payload, 0);
        p
    }
}

/// Turns the first `words` 32-bit words of `bytes` to CPU order, as NetX Duo's receive path
/// does with the fixed IP header (IPv4: 5 words, IPv6: 10).
pub fn to_host_order(bytes: &mut [u8], words: usize) {
    for chunk in bytes.chunks_exact_mut(4).take(words) {
        let word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_syn_is_the_usual_forty_bytes() {
        let p = ipv4([192, 168, 1, 10], [20, 1, 2, 3])
            .tcp(50000, 8883, TCP_SYN)
            .build();
        assert_eq!(&p[..4], &[0x45, 0, 0, 40]);
        assert_eq!(p[9], protocol::TCP);
        assert_eq!(&p[12..20], &[192, 168, 1, 10, 20, 1, 2, 3]);
        assert_eq!(&p[20..24], &[0xc3, 0x50, 0x22, 0xb3]);
        assert_eq!((p[32], p[33]), (0x50, TCP_SYN));
        let df = ipv4([192, 168, 1, 10], [20, 1, 2, 3])
            .dont_fragment()
            .build();
        assert_eq!((p[6], df[6], df[7]), (0, 0x40, 0));
    }

    #[test]
    fn lengths_count_the_payload_and_the_extension_headers() {
        let packet = ipv6(v6_doc(1), v6_doc(2))
            .hop_by_hop(2)
            .udp(5000, 53)
            .payload(100);
        let whole = packet.build();
        assert_eq!(whole.len(), 40 + 16 + 8 + 100);
        assert_eq!(u16::from_be_bytes([whole[4], whole[5]]), 16 + 8 + 100);
        assert_eq!((whole[6], whole[40], whole[48]), (0, 0, protocol::UDP));
        assert_eq!(u16::from_be_bytes([whole[60], whole[61]]), 108);
        let with_options = ipv4([10, 0, 0, 1], [10, 0, 0, 2])
            .options(&[0x94, 4, 0, 0])
            .echo()
            .build();
        assert_eq!(
            (with_options[0], with_options[3], with_options[24]),
            (0x46, 32, 8)
        );
    }
}
