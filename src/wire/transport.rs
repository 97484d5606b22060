//! TCP, UDP and ICMP/ICMPv6 header views: only what a flow record needs.

// `#[inline(always)]` here: without it a packet the hook parses takes 19 more instructions
// (scripts/bench).

use super::{protocol, Malformed};

/// Transport protocols a flow can have (ICMPv6 is reported as ICMP, as the original did).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// TCP.
    Tcp = 0,
    /// UDP.
    Udp = 1,
    /// ICMP or ICMPv6.
    Icmp = 2,
}

impl TransportKind {
    /// The kind of IP protocol number `ip_protocol`, or `None` for protocols the module
    /// does not record. The one place protocol numbers become kinds.
    #[inline(always)]
    pub fn of(ip_protocol: u8) -> Option<Self> {
        match ip_protocol {
            protocol::TCP => Some(Self::Tcp),
            protocol::UDP => Some(Self::Udp),
            protocol::ICMP | protocol::ICMPV6 => Some(Self::Icmp),
            _ => None,
        }
    }

    /// Fewest bytes a header of this kind has (TCP without options, ICMP's type, code
    /// and checksum with the first word after them).
    #[inline(always)]
    pub const fn min_len(self) -> usize {
        match self {
            Self::Tcp => TCP_MIN_LEN,
            Self::Udp => UDP_LEN,
            Self::Icmp => ICMP_MIN_LEN,
        }
    }
}

/// TCP flags as in the header's flag byte (FIN 0x01 ... CWR 0x80).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// Synchronize: opens a connection (alone) or answers an opening (with ACK).
    pub const SYN: u8 = 0x02;
    /// Acknowledgement.
    pub const ACK: u8 = 0x10;
}

/// The transport part of a flow record.
///
/// `repr(C)` in this order gives each field a word of its own: in Rust's own layout the
/// ports and flags share eight bytes, and the compiler then merges the per-protocol results
/// as one 40-bit value that it splits and spills through the stack on the hook path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Transport {
    /// Protocol.
    pub kind: TransportKind,
    /// Source port << 16 | destination port (0 for ICMP): the first word of a TCP or UDP
    /// header, read with one load.
    pub ports: u32,
    /// TCP flags (0 for UDP and ICMP).
    pub flags: TcpFlags,
}

const TCP_MIN_LEN: usize = 20;
const UDP_LEN: usize = 8;
const ICMP_MIN_LEN: usize = 4;

impl Transport {
    /// Parses the header of `ip_protocol` at the start of `buf`; `payload_len` is what the
    /// IP header says follows it. `Ok(None)` for protocols the module does not record.
    #[inline(always)]
    pub fn parse(ip_protocol: u8, buf: &[u8], payload_len: u16) -> Result<Option<Self>, Malformed> {
        let payload_len = usize::from(payload_len);
        let Some(kind) = TransportKind::of(ip_protocol) else {
            return Ok(None);
        };
        let transport = match kind {
            TransportKind::Tcp => Self::tcp(buf, payload_len)?,
            TransportKind::Udp => Self::udp(buf, payload_len)?,
            TransportKind::Icmp => Self::icmp(buf, payload_len)?,
        };
        Ok(Some(transport))
    }

    /// Source port (0 for ICMP).
    pub fn src_port(&self) -> u16 {
        (self.ports >> 16) as u16
    }

    /// Destination port (0 for ICMP).
    pub fn dst_port(&self) -> u16 {
        self.ports as u16
    }

    #[inline(always)]
    fn tcp(buf: &[u8], payload_len: usize) -> Result<Self, Malformed> {
        let header = header::<TCP_MIN_LEN>(buf, payload_len)?;
        let data_offset = usize::from(header[12] >> 4) * 4;
        if data_offset < TCP_MIN_LEN || data_offset > payload_len {
            return Err(Malformed::BadTransportLength);
        }
        Ok(Self {
            kind: TransportKind::Tcp,
            ports: ports(header),
            flags: TcpFlags(header[13]),
        })
    }

    #[inline(always)]
    fn udp(buf: &[u8], payload_len: usize) -> Result<Self, Malformed> {
        let header = header::<UDP_LEN>(buf, payload_len)?;
        Ok(Self {
            kind: TransportKind::Udp,
            ports: ports(header),
            flags: TcpFlags(0),
        })
    }

    #[inline(always)]
    fn icmp(buf: &[u8], payload_len: usize) -> Result<Self, Malformed> {
        header::<ICMP_MIN_LEN>(buf, payload_len)?;
        Ok(Self {
            kind: TransportKind::Icmp,
            ports: 0,
            flags: TcpFlags(0),
        })
    }
}

/// The first `N` bytes of a transport header that the IP header says is at least `N`
/// bytes long.
#[inline(always)]
fn header<const N: usize>(buf: &[u8], payload_len: usize) -> Result<&[u8; N], Malformed> {
    if payload_len < N {
        return Err(Malformed::BadTransportLength);
    }
    buf.first_chunk::<N>().ok_or(Malformed::TruncatedTransport)
}

/// Both ports of a TCP or UDP header as one word.
#[inline(always)]
fn ports<const N: usize>(header: &[u8; N]) -> u32 {
    u32::from_be_bytes(super::quad(header, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nxsm_test_packets::{ipv4, ipv6, v6_doc, Packet, TCP_SYN};

    /// What follows the 20-byte IPv4 header of `packet`.
    fn after_ipv4(packet: Packet) -> Vec<u8> {
        packet.build().split_off(20)
    }

    fn v4() -> Packet {
        ipv4([192, 168, 1, 10], [20, 1, 2, 3])
    }

    /// A TCP SYN header, 50000 -> 8883.
    fn tcp_syn() -> Vec<u8> {
        after_ipv4(v4().tcp(50000, 8883, TCP_SYN))
    }

    #[test]
    fn tcp_ports_and_flags() {
        let t = Transport::parse(protocol::TCP, &tcp_syn(), 20)
            .unwrap()
            .unwrap();
        assert_eq!(t.kind, TransportKind::Tcp);
        assert_eq!((t.src_port(), t.dst_port()), (50000, 8883));
        assert_eq!(t.flags, TcpFlags(0x02));
    }

    #[test]
    fn udp_and_icmp() {
        let udp = after_ipv4(v4().udp(53, 54321));
        let t = Transport::parse(protocol::UDP, &udp, 8).unwrap().unwrap();
        assert_eq!(
            (t.kind, t.src_port(), t.dst_port()),
            (TransportKind::Udp, 53, 54321)
        );
        let echo = after_ipv4(v4().echo());
        let echo6 = ipv6(v6_doc(1), v6_doc(2)).echo().build().split_off(40);
        for (p, header) in [(protocol::ICMP, echo), (protocol::ICMPV6, echo6)] {
            // Type, code and checksum are all an ICMP header needs in the buffer.
            let t = Transport::parse(p, &header[..4], 64).unwrap().unwrap();
            assert_eq!(
                (t.kind, t.src_port(), t.dst_port()),
                (TransportKind::Icmp, 0, 0)
            );
        }
    }

    #[test]
    fn other_protocols_are_not_recorded() {
        assert_eq!(Transport::parse(2, &[0; 8], 8), Ok(None)); // IGMP
        assert_eq!(Transport::parse(protocol::ESP, &[], 0), Ok(None));
    }

    #[test]
    fn every_malformed_shape_is_refused() {
        let tcp = tcp_syn();
        assert_eq!(
            Transport::parse(protocol::TCP, &tcp[..19], 20),
            Err(Malformed::TruncatedTransport)
        );
        assert_eq!(
            Transport::parse(protocol::TCP, &tcp, 19),
            Err(Malformed::BadTransportLength)
        );
        let mut short_offset = tcp.clone();
        short_offset[12] = 0x40; // data offset: 4 words, shorter than a TCP header
        assert_eq!(
            Transport::parse(protocol::TCP, &short_offset, 20),
            Err(Malformed::BadTransportLength)
        );
        let mut long_offset = tcp;
        long_offset[12] = 0x60; // data offset: 6 words, past the 20 bytes the IP header counts
        assert_eq!(
            Transport::parse(protocol::TCP, &long_offset, 20),
            Err(Malformed::BadTransportLength)
        );
        let udp = after_ipv4(v4().udp(53, 54321));
        assert_eq!(
            Transport::parse(protocol::UDP, &udp[..7], 8),
            Err(Malformed::TruncatedTransport)
        );
        let echo = after_ipv4(v4().echo());
        assert_eq!(
            Transport::parse(protocol::ICMP, &echo[..2], 2),
            Err(Malformed::BadTransportLength)
        );
    }
}
