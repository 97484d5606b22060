//! Learn mode: what the device does in a stretch of normal operation becomes its allow
//! lists. For the time asked, the remote /24 (IPv4) and /64 (IPv6) prefixes of the flows
//! the device opens and the local TCP and UDP ports of the flows the peer opens are kept,
//! sorted, up to `NXSM_BASELINE_ENTRIES` per list (the rest are counted). When the time is
//! up they replace the policy's outbound and inbound allow lists; its indicators, its
//! connection-count rule and its block rules stay.

use heapless::Vec;

use crate::capture::{Direction, FlowRecord, IpVersion};
use crate::config::capacity;
use crate::policy::{at, field, flag, BlobWriter, Fields, Policy, PolicyError, Words};
use crate::sync::AtomicU32;
use crate::wire::{ipv4_octets, ipv6_octets, TransportKind};

/// Entries per list.
const ENTRIES: usize = capacity::BASELINE_ENTRIES;

/// What a learning period recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    /// Unix seconds when learning started.
    pub started: u32,
    /// How long it learned.
    pub duration_s: u32,
    /// IPv4 /24 prefixes the device connected to (the address >> 8), ascending.
    pub v4: Vec<u32, ENTRIES>,
    /// IPv6 /64 prefixes the device connected to (the top 64 bits), ascending.
    pub v6: Vec<u64, ENTRIES>,
    /// Local TCP ports peers connected to, ascending.
    pub tcp: Vec<u16, ENTRIES>,
    /// Local UDP ports peers sent to first, ascending.
    pub udp: Vec<u16, ENTRIES>,
    /// Entries not kept because their list was full.
    pub overflow: u32,
}

/// Adds `value` to the sorted list `list` once; counts it in `overflow` when full.
fn add<T: Ord + Copy, const N: usize>(list: &mut Vec<T, N>, value: T, overflow: &mut u32) {
    if let Err(at) = list.binary_search(&value) {
        if list.insert(at, value).is_err() {
            *overflow = overflow.saturating_add(1);
        }
    }
}

impl Learned {
    /// Nothing learned yet, starting at `now` for `seconds`.
    pub fn new(now: u32, seconds: u32) -> Self {
        Self {
            started: now,
            duration_s: seconds,
            ..Self::default()
        }
    }

    /// Records a flow entering the table, opened by `initiator`.
    pub fn record(&mut self, record: &FlowRecord, initiator: Direction) {
        let overflow = &mut self.overflow;
        match (initiator, record.version()) {
            (Direction::Out, IpVersion::V4) => {
                let remote = u32::from_be_bytes(ipv4_octets(record.remote()));
                add(&mut self.v4, remote >> 8, overflow);
            }
            (Direction::Out, IpVersion::V6) => {
                let remote = u128::from_be_bytes(ipv6_octets(record.remote()));
                add(&mut self.v6, (remote >> 64) as u64, overflow);
            }
            (Direction::In, _) => {
                let local_port = (record.ports() >> 16) as u16;
                match record.protocol() {
                    TransportKind::Tcp => add(&mut self.tcp, local_port, overflow),
                    TransportKind::Udp => add(&mut self.udp, local_port, overflow),
                    TransportKind::Icmp => {}
                }
            }
        }
    }

    /// Writes the policy it makes into `words`: `current`'s indicators, connection rule
    /// and block rules, with the learned allow lists. Returns its length in bytes.
    pub fn write_policy<W, F>(
        &self,
        words: &[AtomicU32],
        current: Option<&Policy<'_, W, F>>,
    ) -> Result<usize, PolicyError>
    where
        W: Words + ?Sized,
        F: Fields + ?Sized,
    {
        let mut header = [0u32; field::HEADER_WORDS];
        let mut out = BlobWriter::new(words);
        let kept = flag::BLOCK | flag::CONNECTIONS | flag::INDICATORS_V4_INDEX;
        header[field::FLAGS] = flag::OUTBOUND_ALLOWED | flag::INBOUND_TCP | flag::INBOUND_UDP;
        if let Some(policy) = current {
            header[field::FLAGS] |= policy.flags() & kept;
            header[field::SOURCES] = policy.sources();
            if let Some((min, max)) = policy.connections() {
                header[field::CONNECTIONS_MIN] = min;
                header[field::CONNECTIONS_MAX] = max;
            }
            let [v4, v6, ..] = policy.counts();
            header[field::INDICATORS_V4] = v4 as u32;
            header[field::INDICATORS_V6] = v6 as u32;
            // The indicator sections (ranges, sources, index) come first in every blob, up
            // to the allow ranges: copied word for word.
            for word in field::HEADER_WORDS..policy.field(at::ALLOWED_V4) as usize {
                out.push(policy.word(word))?;
            }
        }
        for prefix in &self.v4 {
            out.push(prefix << 8)?;
            out.push(prefix << 8 | 0xFF)?;
        }
        for prefix in &self.v6 {
            for last in [false, true] {
                out.push((prefix >> 32) as u32)?;
                out.push(*prefix as u32)?;
                let host = if last { u32::MAX } else { 0 };
                out.push(host)?;
                out.push(host)?;
            }
        }
        out.push_halves(self.tcp.iter().copied())?;
        out.push_halves(self.udp.iter().copied())?;
        header[field::ALLOWED_V4] = self.v4.len() as u32;
        header[field::ALLOWED_V6] = self.v6.len() as u32;
        header[field::TCP_PORTS] = self.tcp.len() as u32;
        header[field::UDP_PORTS] = self.udp.len() as u32;
        out.finish(header)
    }
}

#[cfg(test)]
mod tests;
