//! The policy blob's fields and rules (`docs/policy-format.md`): header words, flags and the
//! errors a blob can have, numbered as the C API numbers them.

/// Word positions in the header.
pub mod field {
    /// `0x5053584E`, the bytes `N X S P`.
    pub const MAGIC: usize = 0;
    /// Format version.
    pub const VERSION: usize = 1;
    /// [`super::flag`] bits.
    pub const FLAGS: usize = 2;
    /// The blob's length in bytes.
    pub const LENGTH: usize = 3;
    /// CRC-32 of the blob with this word taken as 0.
    pub const CRC32: usize = 4;
    /// Number of indicator sources.
    pub const SOURCES: usize = 5;
    /// Fewest flows a window may hold.
    pub const CONNECTIONS_MIN: usize = 6;
    /// Most flows a window may hold.
    pub const CONNECTIONS_MAX: usize = 7;
    /// IPv4 indicator ranges.
    pub const INDICATORS_V4: usize = 8;
    /// IPv6 indicator ranges.
    pub const INDICATORS_V6: usize = 9;
    /// IPv4 outbound allow ranges.
    pub const ALLOWED_V4: usize = 10;
    /// IPv6 outbound allow ranges.
    pub const ALLOWED_V6: usize = 11;
    /// Inbound TCP ports.
    pub const TCP_PORTS: usize = 12;
    /// Inbound UDP ports.
    pub const UDP_PORTS: usize = 13;
    /// Words in the header.
    pub const HEADER_WORDS: usize = 14;
}

/// Bits of the `flags` word.
pub mod flag {
    /// Packets to or from an indicator are dropped.
    pub const BLOCK_INDICATOR: u32 = 1 << 0;
    /// Packets of device-initiated flows to a remote outside the allow list are dropped.
    pub const BLOCK_OUTBOUND: u32 = 1 << 1;
    /// Packets of remote-initiated flows to a local port outside the allow list are dropped.
    pub const BLOCK_INBOUND_PORT: u32 = 1 << 2;
    /// The outbound allow list is present.
    pub const OUTBOUND_ALLOWED: u32 = 1 << 4;
    /// The inbound TCP port list is present.
    pub const INBOUND_TCP: u32 = 1 << 5;
    /// The inbound UDP port list is present.
    pub const INBOUND_UDP: u32 = 1 << 6;
    /// The connection-count rule is present.
    pub const CONNECTIONS: u32 = 1 << 7;
    /// The IPv4 indicator ranges are followed by their index.
    pub const INDICATORS_V4_INDEX: u32 = 1 << 8;
    /// The IPv4 allow ranges are followed by their index.
    pub const ALLOWED_V4_INDEX: u32 = 1 << 9;
    /// The three block bits.
    pub const BLOCK: u32 = BLOCK_INDICATOR | BLOCK_OUTBOUND | BLOCK_INBOUND_PORT;
    /// Every bit this version defines.
    pub const KNOWN: u32 = BLOCK
        | OUTBOUND_ALLOWED
        | INBOUND_TCP
        | INBOUND_UDP
        | CONNECTIONS
        | INDICATORS_V4_INDEX
        | ALLOWED_V4_INDEX;
}

/// Word 0 of every blob.
pub const MAGIC: u32 = u32::from_le_bytes(*b"NXSP");
/// The version this library reads.
pub const VERSION: u32 = 1;
/// Bytes of the header.
pub const HEADER_BYTES: usize = field::HEADER_WORDS * 4;
/// Entries of an IPv4 index: one per top octet, and the count.
pub const INDEX_ENTRIES: usize = 257;
/// Words of an IPv4 index (16-bit entries, two per word).
pub const INDEX_WORDS: usize = INDEX_ENTRIES.div_ceil(2);
/// Most sources, and most ranges in an indexed list (16-bit numbers).
pub const MAX_SIXTEEN_BIT: u32 = u16::MAX as u32;
/// Words of one IPv4 range (first, last).
pub const RANGE_V4_WORDS: usize = 2;
/// Words of one IPv6 range (first, last: four words each).
pub const RANGE_V6_WORDS: usize = 8;

/// What is wrong with a blob, in the order the checks find it. The numbers are the C API's
/// (`nxsm_result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PolicyError {
    /// Longer than the load budget.
    TooLarge = 13,
    /// Shorter than the header, or its length word is not the length given or not a
    /// multiple of 4.
    Truncated = 14,
    /// Word 0 is not the magic.
    Magic = 15,
    /// A version this library does not read.
    Version = 16,
    /// The CRC-32 does not match.
    Checksum = 17,
    /// Unknown flags, a block bit without its rule, a count for an absent rule, a minimum
    /// above the maximum, too many sources or too many ranges for an index.
    Rules = 18,
    /// The counts do not add up to the length.
    Counts = 19,
    /// A range ending before it starts, or ranges not sorted and disjoint.
    Ranges = 20,
    /// A source number out of range, or a non-zero unused half.
    Source = 21,
    /// An index entry differs from the ranges.
    Index = 22,
    /// Ports not strictly increasing, or a non-zero unused half.
    Ports = 23,
}
