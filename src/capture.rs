//! From the header bytes a hook sees to a compact flow record.
//!
//! Direction decides which side is local, as in the original module: a received packet's
//! destination is local, a sent packet's source is.

use crate::wire::{self, Addresses, HeaderOrder, Malformed, Parsed, TcpFlags, TransportKind};

/// Whether the device received or sent the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received (NetX Duo `NX_IP_PACKET_IN`).
    In = 0,
    /// Sent (NetX Duo `NX_IP_PACKET_OUT`).
    Out = 1,
}

/// IP version of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpVersion {
    /// IPv4: only the first 4 bytes of each address are used.
    V4 = 0,
    /// IPv6.
    V6 = 1,
}

/// What identifies a flow (architecture 4.3): version, addresses, ports and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// IP version.
    pub version: IpVersion,
    /// Transport protocol.
    pub protocol: TransportKind,
    /// Device-side address (IPv4 in bytes 0-3, the rest zero).
    pub local: [u8; 16],
    /// Peer address (IPv4 in bytes 0-3, the rest zero).
    pub remote: [u8; 16],
    /// Device-side port (0 for ICMP).
    pub local_port: u16,
    /// Peer port (0 for ICMP).
    pub remote_port: u16,
}

/// One packet, reduced to what aggregation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowRecord {
    /// The flow it belongs to.
    pub key: FlowKey,
    /// Received or sent.
    pub direction: Direction,
    /// IP payload bytes (transport header and data).
    pub len: u16,
    /// TCP flags of the packet (0 for UDP and ICMP).
    pub flags: TcpFlags,
}

/// What a hook's packet turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Captured {
    /// A packet of a recorded protocol.
    Record(FlowRecord),
    /// Well-formed, but nothing to record (fragment tail, other protocol, protocol off).
    Ignored,
}

/// Parses `buf` and maps it onto a flow as seen from the device.
pub fn capture(
    buf: &[u8],
    direction: Direction,
    order: HeaderOrder,
    protocols: crate::config::Protocols,
) -> Result<Captured, Malformed> {
    let datagram = match wire::parse(buf, order)? {
        Parsed::Flow(datagram) => datagram,
        Parsed::NonFirstFragment | Parsed::Untracked => return Ok(Captured::Ignored),
    };
    if !protocols.contains(protocol_bit(datagram.transport.kind)) {
        return Ok(Captured::Ignored);
    }
    let (version, src, dst) = match datagram.addresses {
        Addresses::V4 { src, dst } => (IpVersion::V4, widen(src), widen(dst)),
        Addresses::V6 { src, dst } => (IpVersion::V6, src, dst),
    };
    let t = datagram.transport;
    let key = match direction {
        Direction::In => FlowKey {
            version,
            protocol: t.kind,
            local: dst,
            remote: src,
            local_port: t.dst_port,
            remote_port: t.src_port,
        },
        Direction::Out => FlowKey {
            version,
            protocol: t.kind,
            local: src,
            remote: dst,
            local_port: t.src_port,
            remote_port: t.dst_port,
        },
    };
    Ok(Captured::Record(FlowRecord {
        key,
        direction,
        len: datagram.len,
        flags: t.flags,
    }))
}

fn protocol_bit(kind: TransportKind) -> u32 {
    use crate::config::Protocols;
    match kind {
        TransportKind::Tcp => Protocols::TCP,
        TransportKind::Udp => Protocols::UDP,
        TransportKind::Icmp => Protocols::ICMP,
    }
}

fn widen([a, b, c, d]: [u8; 4]) -> [u8; 16] {
    [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Protocols;

    const SYN_OUT: [u8; 40] = [
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 168, 1, 10, 20, 1, 2, 3, // IPv4
        0xc3, 0x50, 0x22, 0xb3, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ];

    #[test]
    fn direction_decides_local_and_remote() {
        let Ok(Captured::Record(out)) = capture(
            &SYN_OUT,
            Direction::Out,
            HeaderOrder::Network,
            Protocols::ALL,
        ) else {
            panic!()
        };
        assert_eq!(out.key.local[..4], [192, 168, 1, 10]);
        assert_eq!(out.key.remote[..4], [20, 1, 2, 3]);
        assert_eq!((out.key.local_port, out.key.remote_port), (50000, 8883));
        assert_eq!(out.len, 20);
        let Ok(Captured::Record(inbound)) = capture(
            &SYN_OUT,
            Direction::In,
            HeaderOrder::Network,
            Protocols::ALL,
        ) else {
            panic!()
        };
        assert_eq!(inbound.key.local[..4], [20, 1, 2, 3]);
        assert_eq!(
            (inbound.key.local_port, inbound.key.remote_port),
            (8883, 50000)
        );
        assert_eq!(inbound.key.version, IpVersion::V4);
        assert_eq!(inbound.key.local[4..], [0; 12]);
    }

    #[test]
    fn disabled_protocols_are_ignored() {
        let udp_only = Protocols::from_bits(Protocols::UDP).unwrap();
        assert_eq!(
            capture(&SYN_OUT, Direction::Out, HeaderOrder::Network, udp_only),
            Ok(Captured::Ignored)
        );
    }

    #[test]
    fn malformed_is_reported() {
        assert_eq!(
            capture(
                &SYN_OUT[..30],
                Direction::Out,
                HeaderOrder::Network,
                Protocols::ALL
            ),
            Err(Malformed::TruncatedTransport)
        );
    }
}
