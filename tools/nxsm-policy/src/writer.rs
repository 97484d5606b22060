//! Lays a policy out as the blob `docs/policy-format.md` describes, every header word and
//! flag from the core's constants, and has the core's `check` accept it.

use nx_security_module::testing::policy::{
    check, crc32, field, flag, PolicyError, INDEX_ENTRIES, MAGIC, VERSION,
};

use crate::ranges::Range;

/// An IPv4 list of more than this many ranges gets an index.
pub const INDEX_AFTER: usize = 32;
/// Most ranges in an indexed list, and most sources (16-bit numbers).
pub const MAX_SIXTEEN_BIT: usize = u16::MAX as usize;

/// What a blob holds: merged, sorted, disjoint lists and the rule flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob {
    /// Rule and block flags; the writer adds the index flags.
    pub flags: u32,
    /// Number of indicator sources.
    pub sources: u32,
    /// `(min, max)` with `flag::CONNECTIONS`, `(0, 0)` otherwise.
    pub connections: (u32, u32),
    /// IPv4 indicator ranges and their sources.
    pub indicators_v4: Vec<(Range<u32>, u16)>,
    /// IPv6 indicator ranges and their sources.
    pub indicators_v6: Vec<(Range<u128>, u16)>,
    /// IPv4 outbound allow ranges.
    pub allowed_v4: Vec<Range<u32>>,
    /// IPv6 outbound allow ranges.
    pub allowed_v6: Vec<Range<u128>>,
    /// Inbound TCP ports, strictly increasing.
    pub tcp: Vec<u16>,
    /// Inbound UDP ports, strictly increasing.
    pub udp: Vec<u16>,
}

/// Packs 16-bit values two to a word, low half first; a last unused half is 0.
fn halves(words: &mut Vec<u32>, values: impl IntoIterator<Item = u16>) {
    let values: Vec<u16> = values.into_iter().collect();
    for pair in values.chunks(2) {
        words.push(u32::from(pair[0]) | pair.get(1).map_or(0, |&high| u32::from(high) << 16));
    }
}

/// The IPv4 index of ranges starting at `firsts` (sorted): entry *b* counts the ranges that
/// start below `b << 24`.
fn index(words: &mut Vec<u32>, firsts: &[u32]) {
    let entries = (0..INDEX_ENTRIES as u64).map(|entry| {
        // More than 65,535 ranges cannot be indexed: the count wraps and `check` refuses it.
        firsts.partition_point(|&first| u64::from(first) < entry << 24) as u16
    });
    halves(words, entries);
}

fn v4(words: &mut Vec<u32>, range: &Range<u32>) {
    words.extend([range.first, range.last]);
}

fn v6(words: &mut Vec<u32>, range: &Range<u128>) {
    for address in [range.first, range.last] {
        words.extend([96, 64, 32, 0].map(|shift| (address >> shift) as u32));
    }
}

fn count(len: usize) -> u32 {
    u32::try_from(len).expect("a list of fewer than 2^32 entries")
}

impl Blob {
    /// The flags the blob carries: the rules' and an index flag per IPv4 list of more than
    /// [`INDEX_AFTER`] ranges.
    pub fn flags(&self) -> u32 {
        let mut flags = self.flags;
        if self.indicators_v4.len() > INDEX_AFTER {
            flags |= flag::INDICATORS_V4_INDEX;
        }
        if self.allowed_v4.len() > INDEX_AFTER {
            flags |= flag::ALLOWED_V4_INDEX;
        }
        flags
    }

    /// The blob's words, CRC-32 filled in.
    pub fn words(&self) -> Vec<u32> {
        let flags = self.flags();
        let mut w = vec![0u32; field::HEADER_WORDS];
        w[field::MAGIC] = MAGIC;
        w[field::VERSION] = VERSION;
        w[field::FLAGS] = flags;
        w[field::SOURCES] = self.sources;
        (w[field::CONNECTIONS_MIN], w[field::CONNECTIONS_MAX]) = self.connections;
        w[field::INDICATORS_V4] = count(self.indicators_v4.len());
        w[field::INDICATORS_V6] = count(self.indicators_v6.len());
        w[field::ALLOWED_V4] = count(self.allowed_v4.len());
        w[field::ALLOWED_V6] = count(self.allowed_v6.len());
        w[field::TCP_PORTS] = count(self.tcp.len());
        w[field::UDP_PORTS] = count(self.udp.len());

        for (range, _) in &self.indicators_v4 {
            v4(&mut w, range);
        }
        halves(&mut w, self.indicators_v4.iter().map(|&(_, source)| source));
        if flags & flag::INDICATORS_V4_INDEX != 0 {
            let firsts: Vec<u32> = self.indicators_v4.iter().map(|(r, _)| r.first).collect();
            index(&mut w, &firsts);
        }
        for (range, _) in &self.indicators_v6 {
            v6(&mut w, range);
        }
        halves(&mut w, self.indicators_v6.iter().map(|&(_, source)| source));
        for range in &self.allowed_v4 {
            v4(&mut w, range);
        }
        if flags & flag::ALLOWED_V4_INDEX != 0 {
            let firsts: Vec<u32> = self.allowed_v4.iter().map(|r| r.first).collect();
            index(&mut w, &firsts);
        }
        for range in &self.allowed_v6 {
            v6(&mut w, range);
        }
        halves(&mut w, self.tcp.iter().copied());
        halves(&mut w, self.udp.iter().copied());

        w[field::LENGTH] = count(w.len() * 4);
        let bytes = to_bytes(&w);
        w[field::CRC32] = crc32(&bytes[..], w.len());
        w
    }

    /// The blob's bytes, accepted by the core's `check` (an error is a bug of this writer).
    pub fn write(&self) -> Result<Vec<u8>, PolicyError> {
        let bytes = to_bytes(&self.words());
        check(&bytes[..], bytes.len())?;
        Ok(bytes)
    }
}

fn to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|word| word.to_le_bytes()).collect()
}
