//! Where a checked blob's sections are: what [`check()`](super::check()) finds and every lookup reads.
//!
//! A layout is a handful of words ([`at`]) so that a policy store can keep it in atomics
//! beside the blob and a hook can read just the two or three it needs.

/// Positions of the layout's words.
pub mod at {
    /// The blob's flags.
    pub const FLAGS: usize = 0;
    /// Its CRC-32 (the policy's name in reports).
    pub const CRC32: usize = 1;
    /// Fewest flows a window may hold.
    pub const CONNECTIONS_MIN: usize = 2;
    /// Most flows a window may hold.
    pub const CONNECTIONS_MAX: usize = 3;
    /// Word offset of the IPv4 indicator ranges, then their count, sources and index.
    pub const INDICATORS_V4: usize = 4;
    /// Word offset of the IPv6 indicator ranges, then their count and sources.
    pub const INDICATORS_V6: usize = 8;
    /// Word offset of the IPv4 allow ranges, then their count and index.
    pub const ALLOWED_V4: usize = 11;
    /// Word offset of the IPv6 allow ranges, then their count.
    pub const ALLOWED_V6: usize = 14;
    /// Word offset of the TCP ports, then their count.
    pub const TCP_PORTS: usize = 16;
    /// Word offset of the UDP ports, then their count.
    pub const UDP_PORTS: usize = 18;
    /// Words in a layout.
    pub const WORDS: usize = 20;

    /// After a list's offset: its count.
    pub const COUNT: usize = 1;
    /// After an indicator list's offset: the offset of its sources.
    pub const SOURCES: usize = 2;
    /// After an IPv4 indicator list's offset: the offset of its index (0: none).
    pub const INDICATOR_INDEX: usize = 3;
    /// After an IPv4 allow list's offset: the offset of its index (0: none).
    pub const ALLOWED_INDEX: usize = 2;
}

/// The layout of a checked blob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout(pub [u32; at::WORDS]);

/// Reads a layout's words, wherever they are kept.
pub trait Fields {
    /// Word `at` (0 past the end).
    fn field(&self, at: usize) -> u32;
}

impl Fields for Layout {
    #[inline(always)]
    fn field(&self, at: usize) -> u32 {
        self.0.get(at).copied().unwrap_or(0)
    }
}

/// Reads a blob's words, wherever it is kept.
pub trait Words {
    /// Word `at` (0 past the end).
    fn word(&self, at: usize) -> u32;
}

/// A blob as bytes, read as little-endian words (flash, tests, tools).
impl Words for [u8] {
    #[inline(always)]
    fn word(&self, at: usize) -> u32 {
        match self.get(at * 4..at * 4 + 4) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => 0,
        }
    }
}

/// A blob copied into atomic words (a policy store's buffers).
impl Words for [crate::sync::AtomicU32] {
    #[inline(always)]
    fn word(&self, at: usize) -> u32 {
        self.get(at)
            .map_or(0, |word| word.load(crate::sync::Ordering::Relaxed))
    }
}

/// The 16-bit half `index` of the halves packed from word `start` on, low half first.
#[inline(always)]
pub fn half<W: Words + ?Sized>(words: &W, start: usize, index: usize) -> u32 {
    (words.word(start + index / 2) >> (16 * (index % 2))) & 0xFFFF
}

/// A layout kept in atomic words (a policy store's slots).
impl Fields for [crate::sync::AtomicU32] {
    #[inline(always)]
    fn field(&self, at: usize) -> u32 {
        self.word(at)
    }
}
