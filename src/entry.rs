//! A ring entry, defined once: a head word and [`WORDS`](crate::entry::WORDS) words, and what each bit and word
//! holds.
//!
//! Two kinds of entry share the ring. A flow record is a packet a hook parsed
//! ([`FlowRecord`](crate::capture::FlowRecord)), or a fragment of a datagram
//! ([`Fragment`](crate::capture::Fragment): a record with
//! [`head::FRAGMENT`](crate::entry::head::FRAGMENT) and an identification word); a raw
//! entry holds header words a hook copied for the consumer to parse ([`crate::raw`]). The head word tells them apart ([`head::RAW`](crate::entry::head::RAW)), and [`classify`](crate::entry::classify) turns
//! either into what its packet was. The ring itself only moves words.

use crate::capture::{Captured, FlowRecord, Fragment};
use crate::raw::{self, Resolve};
use crate::ring::Oldest;
use crate::wire::{IpVersion, Malformed};

/// Words of an entry after its head word: enough for a flow record of IPv6 (ports and two
/// four-word addresses) and for the eleven header words of a raw IPv6 entry.
pub const WORDS: usize = 11;

/// Bits of the head word.
pub mod head {
    /// Bit 0, both kinds: IPv6 (clear: IPv4).
    pub const V6: u32 = 1 << 0;
    /// Bit 1, both kinds: sent by the device (clear: received).
    pub const OUT: u32 = 1 << 1;
    /// Bits 2-3 of a flow record: its `TransportKind` (0 to 2).
    pub const KIND_SHIFT: u32 = 2;
    /// The transport-kind bits after the shift.
    pub const KIND_MASK: u32 = 3;
    /// Bits 2-3 both set: a raw entry, which no transport kind is.
    pub const RAW: u32 = KIND_MASK << KIND_SHIFT;
    /// Bit 4 of a raw entry: the header's fixed words are in host order.
    pub const HOST_ORDER: u32 = 1 << 4;
    /// Bit 4 of a flow record: a fragment of a datagram, whose identification is word
    /// [`record::ID`](super::record::ID) (a raw entry's bit 4 is [`HOST_ORDER`]).
    pub const FRAGMENT: u32 = 1 << 4;
    /// Bit 5 of a fragment's record: a fragment other than the first. Its ports word and
    /// TCP flags are 0, its protocol is the datagram's.
    pub const TAIL: u32 = 1 << 5;
    /// Bits 8-15 of a flow record: the TCP flags (0 for UDP and ICMP).
    pub const FLAGS_SHIFT: u32 = 8;
    /// Bits 8-15 of a raw entry: the protocols recorded when it was offered
    /// (`config::Protocols` bits).
    pub const PROTOCOLS_SHIFT: u32 = 8;
    /// Bits 16-31 of a flow record: the IP payload length.
    pub const PAYLOAD_SHIFT: u32 = 16;
}

/// Words of a flow record.
pub mod record {
    /// Source port << 16 | destination port, as in the packet.
    pub const PORTS: usize = 0;
    /// Source address as in the packet: one word for IPv4, four for IPv6.
    pub const SRC: usize = 1;
    /// Destination address, likewise.
    pub const DST: usize = 5;
    /// A fragment's datagram identification (only with
    /// [`head::FRAGMENT`](super::head::FRAGMENT)): IPv4's 16 bits, or the IPv6 fragment
    /// header's 32, as values.
    pub const ID: usize = 9;
}

/// Words of a raw IPv4 entry: header words as they lay in memory, the packet's word
/// number in brackets. Only words the parser reads are kept.
pub mod raw_v4 {
    /// Version, header length, type of service, total length (0).
    pub const TOTAL_LENGTH: usize = 0;
    /// Identification, flags, fragment offset (1).
    pub const FRAGMENT: usize = 1;
    /// Time to live, protocol, checksum (2).
    pub const PROTOCOL: usize = 2;
    /// Source address (3).
    pub const SRC: usize = 3;
    /// Destination address (4).
    pub const DST: usize = 4;
    /// The transport header's first word: both ports (5).
    pub const PORTS: usize = 5;
    /// TCP data offset and flags (8).
    pub const TCP_OFFSET_FLAGS: usize = 6;
}

/// Words of a raw IPv6 entry, as [`raw_v4`]. The first header word (version, traffic class,
/// flow label) holds nothing the parser reads once the version is known.
pub mod raw_v6 {
    /// Payload length, next header, hop limit (1).
    pub const PAYLOAD_NEXT: usize = 0;
    /// Source address (2-5).
    pub const SRC: usize = 1;
    /// Destination address (6-9).
    pub const DST: usize = 5;
    /// The transport header's first word: both ports (10).
    pub const PORTS: usize = 9;
    /// TCP data offset and flags (13).
    pub const TCP_OFFSET_FLAGS: usize = 10;
}

// The fields never overlap and every word named above is inside an entry: checked when
// the library is built.
const _: () = {
    let record_bits = head::V6 | head::OUT | head::KIND_MASK << head::KIND_SHIFT;
    assert!(record_bits & (0xFF << head::FLAGS_SHIFT) == 0);
    assert!((0xFF << head::FLAGS_SHIFT) & (0xFFFF << head::PAYLOAD_SHIFT) == 0);
    assert!(record_bits & (0xFFFF << head::PAYLOAD_SHIFT) == 0);
    assert!(head::HOST_ORDER & (record_bits | 0xFF << head::PROTOCOLS_SHIFT) == 0);
    // The intake's blocking bit rides in raw entries' heads, outside every field they use.
    assert!(raw::BLOCKING & (record_bits | head::HOST_ORDER | 0xFF << head::PROTOCOLS_SHIFT) == 0);
    let fragment_bits = head::FRAGMENT | head::TAIL;
    assert!(fragment_bits & (record_bits | 0xFF << head::FLAGS_SHIFT) == 0);
    assert!(fragment_bits & (0xFFFF << head::PAYLOAD_SHIFT) == 0);
    assert!(record::DST + 4 <= record::ID && record::ID < WORDS);
    assert!(raw_v4::TCP_OFFSET_FLAGS < WORDS && raw_v6::TCP_OFFSET_FLAGS < WORDS);
};

/// The IP version of a head word.
#[inline]
pub fn version(head: u32) -> IpVersion {
    if head & head::V6 == 0 {
        IpVersion::V4
    } else {
        IpVersion::V6
    }
}

/// Whether a head word is a raw entry's (not a flow record's).
#[inline]
pub fn is_raw(head: u32) -> bool {
    head & head::RAW == head::RAW
}

/// What the oldest entry's packet was: its flow record, or the verdict of parsing its raw
/// header words (the one the hook's parser would have reached), a fragment being what
/// `resolve` makes of it. Frees the entry's slot.
// `#[inline]`, not `(always)`: left to the compiler, the drain takes 7 (IPv4) and 10
// (IPv6) instructions less per record and the library 64 B less code (scripts/bench).
#[inline]
pub fn classify<const N: usize, S: Resolve>(
    oldest: Oldest<'_, N>,
    resolve: &mut S,
) -> Result<Captured, Malformed> {
    // One arm per kind and version, each reading only its own words.
    let head = oldest.head();
    match (is_raw(head), version(head)) {
        (false, IpVersion::V4) => Ok(record(oldest, IpVersion::V4, resolve)),
        (false, IpVersion::V6) => Ok(record(oldest, IpVersion::V6, resolve)),
        (true, IpVersion::V4) => raw::parse_v4_with(oldest, resolve),
        (true, IpVersion::V6) => raw::parse_v6(&oldest),
    }
}

/// A flow record's entry: a whole datagram's record, or what `resolve` makes of a
/// fragment's.
#[inline(always)]
fn record<const N: usize, S: Resolve>(
    oldest: Oldest<'_, N>,
    version: IpVersion,
    resolve: &mut S,
) -> Captured {
    if oldest.head() & head::FRAGMENT != 0 {
        return fragment(oldest, version, resolve);
    }
    Captured::Record(FlowRecord::load(&oldest, version))
}

/// [`record()`] of a fragment, out of line: fragments are rare. It takes the entry itself,
/// so that the drain's loop keeps it in registers.
#[inline(never)]
fn fragment<const N: usize, S: Resolve>(
    oldest: Oldest<'_, N>,
    version: IpVersion,
    resolve: &mut S,
) -> Captured {
    let record = FlowRecord::load(&oldest, version);
    resolve.resolve(&Fragment {
        record,
        id: oldest.word(record::ID),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_tag_is_no_transport_kind() {
        use crate::wire::TransportKind;
        for kind in [TransportKind::Tcp, TransportKind::Udp, TransportKind::Icmp] {
            assert!(!is_raw((kind as u32) << head::KIND_SHIFT));
        }
        assert!(is_raw(head::RAW));
    }
}
