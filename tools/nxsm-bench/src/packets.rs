//! Packets built before any measurement: TCP segments (ACK, no data) of a number of flows,
//! laid out one after the other in one buffer, as NetX Duo hands them to the hooks.
//!
//! The traffic is the Cortex-M4 benchmark's (`c-harness/firmware/bench_capture.c`): the
//! device is 192.0.2.10 / 2001:db8::10, the peer 198.51.100.7 / 2001:db8::7 port 443, and
//! flow `f` uses device port `0xc300 + f`.

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

const TCP_LEN: usize = 20;
const TCP_ACK: u8 = 0x10;

/// One packet per flow, `flows` flows, all in one direction and header byte order.
#[derive(Clone, Debug)]
pub struct Packets {
    bytes: Vec<u8>,
    stride: usize,
    family: Family,
    direction: u32,
    order: u32,
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
        let ip_len = match family {
            Family::V4 => 20,
            Family::V6 => 40,
        };
        let stride = ip_len + TCP_LEN;
        let mut bytes = vec![0u8; stride * flows];
        for (flow, packet) in bytes.chunks_exact_mut(stride).enumerate() {
            let device_port = FIRST_DEVICE_PORT + flow as u16;
            let out = direction == NXSM_DIRECTION_OUT;
            let (ip, tcp) = packet.split_at_mut(ip_len);
            match family {
                Family::V4 => {
                    let (src, dst) = if out {
                        (DEVICE_V4, PEER_V4)
                    } else {
                        (PEER_V4, DEVICE_V4)
                    };
                    ip[..12].copy_from_slice(&[
                        0x45,
                        0,
                        0,
                        (ip_len + TCP_LEN) as u8,
                        0,
                        1,
                        0x40,
                        0,
                        64,
                        6,
                        0,
                        0,
                    ]);
                    ip[12..16].copy_from_slice(&src);
                    ip[16..20].copy_from_slice(&dst);
                }
                Family::V6 => {
                    let (src, dst) = if out {
                        (DEVICE_V6, PEER_V6)
                    } else {
                        (PEER_V6, DEVICE_V6)
                    };
                    ip[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, TCP_LEN as u8, 6, 64]);
                    ip[8..24].copy_from_slice(&src);
                    ip[24..40].copy_from_slice(&dst);
                }
            }
            let (src_port, dst_port) = if out {
                (device_port, PEER_PORT)
            } else {
                (PEER_PORT, device_port)
            };
            tcp[0..2].copy_from_slice(&src_port.to_be_bytes());
            tcp[2..4].copy_from_slice(&dst_port.to_be_bytes());
            tcp[12] = 0x50;
            tcp[13] = TCP_ACK;
            tcp[14..16].copy_from_slice(&[0xff, 0xff]);
            if order == NXSM_HEADER_HOST_ORDER {
                to_host_order(&mut ip[..]);
            }
        }
        Self {
            bytes,
            stride,
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

/// Each 32-bit word of `fixed` (the fixed IP header) loaded big-endian and stored in CPU
/// order, as NetX Duo's receive path leaves it.
fn to_host_order(fixed: &mut [u8]) {
    for word in fixed.chunks_exact_mut(4) {
        let value = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        word.copy_from_slice(&value.to_ne_bytes());
    }
}
