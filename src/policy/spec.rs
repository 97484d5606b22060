//! Test blobs made word by word from the format's own field names (`docs/policy-format.md`),
//! for the unit tests and fuzz targets (hostile variants start from one of these). The
//! blobs a firmware loads come from `tools/nxsm-policy`.

use super::*;

/// What a test blob holds; `write` lays it out as the format says.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// The flags word ([`flag`]); an index follows an IPv4 list when its flag says so.
    pub flags: u32,
    /// Number of indicator sources.
    pub sources: u32,
    /// `(min, max)` of the connection-count rule (with [`flag::CONNECTIONS`]).
    pub connections: (u32, u32),
    /// IPv4 indicator ranges: first, last, source.
    pub indicators_v4: Vec<(u32, u32, u16)>,
    /// IPv6 indicator ranges: first, last, source.
    pub indicators_v6: Vec<(u128, u128, u16)>,
    /// IPv4 outbound allow ranges.
    pub allowed_v4: Vec<(u32, u32)>,
    /// IPv6 outbound allow ranges.
    pub allowed_v6: Vec<(u128, u128)>,
    /// Inbound TCP ports.
    pub tcp: Vec<u16>,
    /// Inbound UDP ports.
    pub udp: Vec<u16>,
}

fn halves(words: &mut Vec<u32>, values: impl IntoIterator<Item = u32>) {
    let values: Vec<u32> = values.into_iter().collect();
    for pair in values.chunks(2) {
        words.push(pair[0] | pair.get(1).map_or(0, |high| high << 16));
    }
}

fn index(words: &mut Vec<u32>, firsts: &[u32]) {
    let entries = (0..INDEX_ENTRIES as u64).map(|entry| {
        firsts
            .iter()
            .filter(|&&first| u64::from(first) < entry << 24)
            .count() as u32
    });
    halves(words, entries);
}

fn v6(words: &mut Vec<u32>, address: u128) {
    for shift in [96, 64, 32, 0] {
        words.push((address >> shift) as u32);
    }
}

impl Spec {
    /// The blob's words, header counts from the lists, CRC filled in.
    pub fn words(&self) -> Vec<u32> {
        let mut w = vec![0u32; field::HEADER_WORDS];
        w[field::MAGIC] = MAGIC;
        w[field::VERSION] = VERSION;
        w[field::FLAGS] = self.flags;
        w[field::SOURCES] = self.sources;
        (w[field::CONNECTIONS_MIN], w[field::CONNECTIONS_MAX]) = self.connections;
        w[field::INDICATORS_V4] = self.indicators_v4.len() as u32;
        w[field::INDICATORS_V6] = self.indicators_v6.len() as u32;
        w[field::ALLOWED_V4] = self.allowed_v4.len() as u32;
        w[field::ALLOWED_V6] = self.allowed_v6.len() as u32;
        w[field::TCP_PORTS] = self.tcp.len() as u32;
        w[field::UDP_PORTS] = self.udp.len() as u32;
        for &(first, last, _) in &self.indicators_v4 {
            w.extend([first, last]);
        }
        halves(&mut w, self.indicators_v4.iter().map(|r| u32::from(r.2)));
        if self.flags & flag::INDICATORS_V4_INDEX != 0 {
            let firsts: Vec<u32> = self.indicators_v4.iter().map(|r| r.0).collect();
            index(&mut w, &firsts);
        }
        for &(first, last, _) in &self.indicators_v6 {
            v6(&mut w, first);
            v6(&mut w, last);
        }
        halves(&mut w, self.indicators_v6.iter().map(|r| u32::from(r.2)));
        for &(first, last) in &self.allowed_v4 {
            w.extend([first, last]);
        }
        if self.flags & flag::ALLOWED_V4_INDEX != 0 {
            let firsts: Vec<u32> = self.allowed_v4.iter().map(|r| r.0).collect();
            index(&mut w, &firsts);
        }
        for &(first, last) in &self.allowed_v6 {
            v6(&mut w, first);
            v6(&mut w, last);
        }
        halves(&mut w, self.tcp.iter().map(|&p| u32::from(p)));
        halves(&mut w, self.udp.iter().map(|&p| u32::from(p)));
        w[field::LENGTH] = (w.len() * 4) as u32;
        seal(&mut w);
        w
    }

    /// The blob's bytes.
    pub fn blob(&self) -> Vec<u8> {
        bytes(&self.words())
    }
}

/// Recomputes the CRC after a test changed a word.
pub(crate) fn seal(words: &mut [u32]) {
    words[field::CRC32] = crc32(&bytes(words)[..], words.len());
}

/// Words as the blob's little-endian bytes.
pub(crate) fn bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
