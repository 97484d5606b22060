//! Packets built before any measurement: TCP segments (ACK, no data) of a number of flows,
//! laid out one after the other in one buffer, as NetX Duo hands them to the hooks.
//!
//! The traffic is the Cortex-M4 benchmark's (`c-harness/firmware/bench_capture.c`): the
//! device is 192.0.2.10 / 2001:db8::10, the peer 198.51.100.7 / 2001:db8::7 port 443, and
//! flow `f` uses device port `0xc300 + f`. Each segment is built by `nxsm-test-packets`.

use nxsm_test_packets::{ipv4, ipv6, to_host_order, TCP_ACK};

use crate::abi::{NXSM_DIRECTION_OUT, NXSM_HEADER_HOST_ORDER};

/// IP version of a packet set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4: 20-byte header, then TCP.
    V4,
    /// IPv6: 40-byte fixed header, then TCP.
    V6,
}

/// Device address, wire octets (IPv4 in the first 4).
pub const DEVICE_V4: [u8; 4] = [192, 0, 2, 10];
/// Peer address.
pub const PEER_V4: [u8; 4] = [198, 51, 100, 7];
/// Device address.
pub const DEVICE_V6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];
/// Peer address.
pub const PEER_V6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
];
/// Device port of flow 0.
pub const FIRST_DEVICE_PORT: u16 = 0xc300;
/// Peer port of every flow.
pub const PEER_PORT: u16 = 443;
/// Most flows a set can have (device ports stay below 65536).
pub const MAX_FLOWS: usize = (u16::MAX - FIRST_DEVICE_PORT) as usize + 1;

/// One packet per flow, `flows` flows, all in one direction and header byte order.
#[derive(Clone, Debug)]
pub struct Packets {
    bytes: Vec<u8>,
    stride: usize,
    family: Family,
    direction: u32,
    order: u32,
}

/// The TCP ACK of flow `flow` in `direction`, IP header in network order.
fn segment(family: Family, out: bool, flow: usize) -> Vec<u8> {
    let device_port = FIRST_DEVICE_PORT + flow as u16;
    let (src_port, dst_port) = if out {
        (device_port, PEER_PORT)
    } else {
        (PEER_PORT, device_port)
    };
    let ip = match (family, out) {
        (Family::V4, true) => ipv4(DEVICE_V4, PEER_V4).dont_fragment(),
        (Family::V4, false) => ipv4(PEER_V4, DEVICE_V4).dont_fragment(),
        (Family::V6, true) => ipv6(DEVICE_V6, PEER_V6),
        (Family::V6, false) => ipv6(PEER_V6, DEVICE_V6),
    };
    ip.tcp(src_port, dst_port, TCP_ACK).build()
}

impl Packets {
    /// TCP segments of flows `0..flows` as the hook sees them: `direction` is an
    /// `nxsm_direction` (in: from the peer to the device), `order` an `nxsm_header_order`
    /// (host order: NetX Duo's receive path converted the fixed header words, IPv4 words
    /// 0-4 or IPv6 words 0-9, to CPU order).
    pub fn tcp(family: Family, direction: u32, order: u32, flows: usize) -> Self {
        assert!(
            (1..=MAX_FLOWS).contains(&flows),
            "1..={MAX_FLOWS} flows, not {flows}"
        );
        let fixed_words = match family {
            Family::V4 => 5,
            Family::V6 => 10,
        };
        let out = direction == NXSM_DIRECTION_OUT;
        let mut bytes = Vec::new();
        for flow in 0..flows {
            let mut packet = segment(family, out, flow);
            if order == NXSM_HEADER_HOST_ORDER {
                to_host_order(&mut packet, fixed_words);
            }
            bytes.extend_from_slice(&packet);
        }
        Self {
            stride: bytes.len() / flows,
            bytes,
            family,
            direction,
            order,
        }
    }

    /// How many packets (= flows).
    pub fn len(&self) -> usize {
        self.bytes.len() / self.stride
    }

    /// Never: a set has at least one packet.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bytes of every packet (IP header and TCP header).
    pub fn packet_len(&self) -> usize {
        self.stride
    }

    /// Packet `index`.
    pub fn get(&self, index: usize) -> &[u8] {
        &self.bytes[index * self.stride..][..self.stride]
    }

    /// All packets, back to back (`packet_len` bytes each).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// IP version.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The `nxsm_direction` to pass with them.
    pub fn direction(&self) -> u32 {
        self.direction
    }

    /// The `nxsm_header_order` to pass with them.
    pub fn order(&self) -> u32 {
        self.order
    }
}

#[cfg(test)]
mod tests {
    //! The packets are the firmware benchmark's. Outgoing segments are compared with
    //! `make_packets` of `c-harness/firmware/bench_capture.c`: the FNV-1a hashes below are of
    //! its 50-flow buffer, computed by running that function on a host. Incoming ones are
    //! the same segments with addresses and ports swapped, as `build_tcp` of
    //! `c-harness/firmware/bench_module.c` builds them.

    use super::*;
    use crate::abi::{NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER};

    const OUT: u32 = NXSM_DIRECTION_OUT;
    const IN: u32 = NXSM_DIRECTION_IN;
    const WIRE: u32 = NXSM_HEADER_NETWORK_ORDER;
    const HOST: u32 = NXSM_HEADER_HOST_ORDER;

    /// 32-bit FNV-1a.
    fn fnv1a(bytes: &[u8]) -> u32 {
        bytes.iter().fold(0x811c_9dc5, |hash, &byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
    }

    #[test]
    fn an_ipv4_segment_is_byte_for_byte_the_firmware_one() {
        // bench_capture.c's IPv4 header (don't fragment, TTL 64, TCP, no checksum), then
        // ports 0xc307 -> 443, data offset 5, ACK, window 0.
        let expected: [u8; 40] = [
            0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 10, 198, 51, 100, 7, //
            0xc3, 7, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0,
        ];
        let set = Packets::tcp(Family::V4, OUT, WIRE, 8);
        assert_eq!((set.len(), set.packet_len()), (8, 40));
        assert_eq!(set.get(7), &expected[..]);
    }

    #[test]
    fn outgoing_sets_hash_like_the_firmware_buffers() {
        for (family, order, len, hash) in [
            (Family::V4, WIRE, 40, 0xbf90_856a),
            (Family::V4, HOST, 40, 0xe9ae_0f0a),
            (Family::V6, WIRE, 60, 0x2539_4896),
            (Family::V6, HOST, 60, 0x3cb7_fcca),
        ] {
            if order == HOST && cfg!(target_endian = "big") {
                continue; // the firmware's hashes are of a little-endian CPU's words
            }
            let set = Packets::tcp(family, OUT, order, 50);
            assert_eq!(set.packet_len(), len, "{family:?} {order}");
            assert_eq!(fnv1a(set.bytes()), hash, "{family:?} {order}");
        }
    }

    #[test]
    fn an_ipv6_segment_carries_the_documentation_addresses() {
        let p = Packets::tcp(Family::V6, OUT, WIRE, 3);
        let p = p.get(2);
        // version 6, payload length 20, next header TCP, hop limit 64
        assert_eq!(&p[..8], &[0x60, 0, 0, 0, 0, 20, 6, 64]);
        assert_eq!(&p[8..12], &[0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!((p[23], p[39]), (0x10, 0x07)); // 2001:db8::10 -> 2001:db8::7
        assert_eq!(&p[40..44], &[0xc3, 2, 0x01, 0xbb]);
        assert_eq!((p[52], p[53]), (0x50, 0x10));
    }

    #[test]
    fn incoming_segments_swap_addresses_and_ports() {
        for (family, ip_len, addr) in [(Family::V4, 20, 4), (Family::V6, 40, 16)] {
            let out = Packets::tcp(family, OUT, WIRE, 5);
            let inn = Packets::tcp(family, IN, WIRE, 5);
            let (o, i) = (out.get(4), inn.get(4));
            let src = ip_len - 2 * addr;
            assert_eq!(&i[..src], &o[..src], "{family:?}");
            assert_eq!(&i[src..src + addr], &o[src + addr..ip_len], "{family:?}");
            assert_eq!(&i[src + addr..ip_len], &o[src..src + addr], "{family:?}");
            assert_eq!(&i[ip_len..ip_len + 4], &[0x01, 0xbb, 0xc3, 4], "{family:?}");
            assert_eq!(&i[ip_len + 4..], &o[ip_len + 4..], "{family:?}");
        }
    }

    #[test]
    fn host_order_turns_the_fixed_header_words_only() {
        for (family, words) in [(Family::V4, 5), (Family::V6, 10)] {
            let wire = Packets::tcp(family, IN, WIRE, 2);
            let host = Packets::tcp(family, IN, HOST, 2);
            let (w, h) = (wire.get(1), host.get(1));
            for word in 0..words {
                let at = 4 * word;
                let value = u32::from_be_bytes([w[at], w[at + 1], w[at + 2], w[at + 3]]);
                assert_eq!(
                    &h[at..at + 4],
                    &value.to_ne_bytes(),
                    "{family:?} word {word}"
                );
            }
            assert_eq!(&h[4 * words..], &w[4 * words..], "{family:?}");
        }
        if cfg!(target_endian = "little") {
            let h = Packets::tcp(Family::V4, OUT, HOST, 1);
            assert_eq!(&h.get(0)[..4], &[40, 0, 0, 0x45]); // total length, version/IHL
        }
    }
}
