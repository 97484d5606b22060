//! The inventory event (wire format section 3.6): the sockets the device exposes.

use std::fmt;

use serde::de::{Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::json::AddressText;
use crate::{be16, Unknown};

/// The sockets of every hooked `NX_IP`, or one part of them when the list is split over
/// several messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Sockets the read found, listed or not.
    pub found: u32,
    /// 0 for the first message of this inventory, then 1, 2, ...
    pub part: u16,
    /// The inventory goes on in the next message.
    pub more: bool,
    /// The sockets of this part, in the order the tables were read.
    pub sockets: Vec<Socket>,
}

/// One socket; `ip` is the `NX_IP`'s index in the shim's hook table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Socket {
    /// Variant 0: a TCP server port listening on every address of the IP instance.
    TcpListening {
        /// Index of the IP instance.
        ip: u8,
        /// The port.
        #[serde(with = "be16")]
        port: u16,
    },
    /// Variant 1: a UDP socket bound to a port, on every address.
    UdpBound {
        /// Index of the IP instance.
        ip: u8,
        /// The port.
        #[serde(with = "be16")]
        port: u16,
    },
    /// Variant 2: an established TCP connection.
    TcpEstablished {
        /// Index of the IP instance.
        ip: u8,
        /// Its endpoints.
        connection: Connection,
    },
}

/// The kinds of [`Socket`], in their wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SocketKind {
    /// [`Socket::TcpListening`].
    TcpListening,
    /// [`Socket::UdpBound`].
    UdpBound,
    /// [`Socket::TcpEstablished`].
    TcpEstablished,
}

impl SocketKind {
    /// The name used in JSON and replay output.
    pub fn name(self) -> &'static str {
        match self {
            SocketKind::TcpListening => "tcp_listening",
            SocketKind::UdpBound => "udp_bound",
            SocketKind::TcpEstablished => "tcp_established",
        }
    }
}

impl fmt::Display for SocketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Socket {
    /// Which kind of socket this is.
    pub fn kind(&self) -> SocketKind {
        match self {
            Socket::TcpListening { .. } => SocketKind::TcpListening,
            Socket::UdpBound { .. } => SocketKind::UdpBound,
            Socket::TcpEstablished { .. } => SocketKind::TcpEstablished,
        }
    }

    /// Index of the IP instance.
    pub fn ip(&self) -> u8 {
        match *self {
            Socket::TcpListening { ip, .. }
            | Socket::UdpBound { ip, .. }
            | Socket::TcpEstablished { ip, .. } => ip,
        }
    }

    /// The listening or bound port (`None` for a connection).
    pub fn port(&self) -> Option<u16> {
        match *self {
            Socket::TcpListening { port, .. } | Socket::UdpBound { port, .. } => Some(port),
            Socket::TcpEstablished { .. } => None,
        }
    }

    /// The connection, for [`Socket::TcpEstablished`].
    pub fn connection(&self) -> Option<&Connection> {
        match self {
            Socket::TcpEstablished { connection, .. } => Some(connection),
            _ => None,
        }
    }
}

/// The endpoints of an established connection: variant 0 IPv4, variant 1 IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Connection {
    /// Variant 0: IPv4.
    V4 {
        /// Device-side address, wire octet order.
        local: [u8; 4],
        /// Device-side port.
        #[serde(with = "be16")]
        local_port: u16,
        /// Peer address.
        remote: [u8; 4],
        /// Peer port.
        #[serde(with = "be16")]
        remote_port: u16,
    },
    /// Variant 1: IPv6.
    V6 {
        /// Device-side address, wire octet order.
        local: [u8; 16],
        /// Device-side port.
        #[serde(with = "be16")]
        local_port: u16,
        /// Peer address.
        remote: [u8; 16],
        /// Peer port.
        #[serde(with = "be16")]
        remote_port: u16,
    },
}

impl Connection {
    /// 4 or 6.
    pub fn ip_version(&self) -> u8 {
        match self {
            Connection::V4 { .. } => 4,
            Connection::V6 { .. } => 6,
        }
    }

    /// The device-side address as text.
    pub fn local_text(&self) -> String {
        match self {
            Connection::V4 { local, .. } => local.text(),
            Connection::V6 { local, .. } => local.text(),
        }
    }

    /// The peer address as text.
    pub fn remote_text(&self) -> String {
        match self {
            Connection::V4 { remote, .. } => remote.text(),
            Connection::V6 { remote, .. } => remote.text(),
        }
    }

    /// Device-side port.
    pub fn local_port(&self) -> u16 {
        match *self {
            Connection::V4 { local_port, .. } | Connection::V6 { local_port, .. } => local_port,
        }
    }

    /// Peer port.
    pub fn remote_port(&self) -> u16 {
        match *self {
            Connection::V4 { remote_port, .. } | Connection::V6 { remote_port, .. } => remote_port,
        }
    }
}

/// The fields of a listening or bound socket, in wire order.
#[derive(Deserialize)]
struct PortFields {
    ip: u8,
    #[serde(with = "be16")]
    port: u16,
}

/// The fields of an established connection, in wire order.
#[derive(Deserialize)]
struct EstablishedFields {
    ip: u8,
    connection: Connection,
}

impl<'de> Deserialize<'de> for Socket {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum(
            "Socket",
            &["TcpListening", "UdpBound", "TcpEstablished"],
            SocketVisitor,
        )
    }
}

struct SocketVisitor;

impl<'de> Visitor<'de> for SocketVisitor {
    type Value = Socket;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a socket: variant 0, 1 or 2")
    }

    fn visit_enum<E: EnumAccess<'de>>(self, data: E) -> Result<Socket, E::Error> {
        let (number, payload): (u32, _) = data.variant()?;
        match number {
            0 => payload
                .newtype_variant::<PortFields>()
                .map(|f| Socket::TcpListening {
                    ip: f.ip,
                    port: f.port,
                }),
            1 => payload
                .newtype_variant::<PortFields>()
                .map(|f| Socket::UdpBound {
                    ip: f.ip,
                    port: f.port,
                }),
            2 => payload
                .newtype_variant::<EstablishedFields>()
                .map(|f| Socket::TcpEstablished {
                    ip: f.ip,
                    connection: f.connection,
                }),
            other => Err(Unknown::Socket(other).raise()),
        }
    }
}

/// The fields of a [`Connection`] variant, in wire order.
#[derive(Deserialize)]
struct ConnectionFields<A> {
    local: A,
    #[serde(with = "be16")]
    local_port: u16,
    remote: A,
    #[serde(with = "be16")]
    remote_port: u16,
}

impl<'de> Deserialize<'de> for Connection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("Connection", &["V4", "V6"], ConnectionVisitor)
    }
}

struct ConnectionVisitor;

impl<'de> Visitor<'de> for ConnectionVisitor {
    type Value = Connection;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a connection: variant 0 (IPv4) or 1 (IPv6)")
    }

    fn visit_enum<E: EnumAccess<'de>>(self, data: E) -> Result<Connection, E::Error> {
        let (number, payload): (u32, _) = data.variant()?;
        match number {
            0 => payload
                .newtype_variant::<ConnectionFields<[u8; 4]>>()
                .map(|f| Connection::V4 {
                    local: f.local,
                    local_port: f.local_port,
                    remote: f.remote,
                    remote_port: f.remote_port,
                }),
            1 => payload
                .newtype_variant::<ConnectionFields<[u8; 16]>>()
                .map(|f| Connection::V6 {
                    local: f.local,
                    local_port: f.local_port,
                    remote: f.remote,
                    remote_port: f.remote_port,
                }),
            other => Err(Unknown::Connection(other).raise()),
        }
    }
}
