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
const ENTRIES: usize = crate::config::detection::BASELINE_ENTRIES;

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

impl Learned {
    /// Nothing learned (usable in a `static`).
    pub const EMPTY: Self = Self {
        started: 0,
        duration_s: 0,
        v4: Vec::new(),
        v6: Vec::new(),
        tcp: Vec::new(),
        udp: Vec::new(),
        overflow: 0,
    };
}

/// Longest a baseline message can be: the header and the event's fixed fields at their
/// widest, and every list full (3 + 8 + 2 + 2 bytes an entry, one-byte counts).
pub const WORST_MESSAGE_BYTES: usize = 22 + 1 + 21 + 4 + ENTRIES * 15;

const _: () = assert!(
    WORST_MESSAGE_BYTES <= capacity::MAX_MESSAGE_BYTES,
    "NXSM_BASELINE_ENTRIES is too large for NXSM_MAX_MESSAGE_BYTES: a baseline message would not fit"
);

/// Longest learning time accepted: a week.
pub const MAX_LEARN_S: u32 = 7 * 86_400;

/// Learn mode's state: learning until a time, then a report waiting to be sent.
#[derive(Debug)]
pub struct LearnMode {
    learning: bool,
    until: u32,
    /// A finished period's report waiting for the outbox: [`NO_REPORT`], [`NOT_APPLIED`] or
    /// [`APPLIED`]. Numbers rather than an `Option` of a bool, whose `None` is not all zero
    /// bytes: that would move the whole monitor out of `.bss`, and its image into flash.
    report: u32,
    /// CRC-32 of the policy active when the period ended (0: none).
    report_policy: u32,
    learned: Learned,
}

/// No report waits.
const NO_REPORT: u32 = 0;
/// A report waits: the baseline did not become the policy.
const NOT_APPLIED: u32 = 1;
/// A report waits: the baseline became the policy.
const APPLIED: u32 = 2;

/// A finished learning period, as the baseline event reports it.
#[derive(Clone, Copy, Debug)]
pub struct BaselineReport<'a> {
    /// What was learned.
    pub learned: &'a Learned,
    /// Whether it became the active policy.
    pub applied: bool,
    /// CRC-32 of the policy active now (0: none).
    pub policy: u32,
}

impl Default for LearnMode {
    fn default() -> Self {
        Self::new()
    }
}

impl LearnMode {
    /// Not learning (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            learning: false,
            until: 0,
            report: NO_REPORT,
            report_policy: 0,
            learned: Learned::EMPTY,
        }
    }

    /// Starts learning at `now` for `seconds`, forgetting a period under way.
    pub fn start(&mut self, now: u32, seconds: u32) {
        self.learned = Learned::new(now, seconds);
        self.until = now.wrapping_add(seconds);
        self.learning = true;
        self.report = NO_REPORT;
    }

    /// Whether it is learning.
    pub fn is_learning(&self) -> bool {
        self.learning
    }

    /// Records a flow entering the table while learning.
    pub fn record(&mut self, record: &FlowRecord, initiator: Direction) {
        if self.learning {
            self.learned.record(record, initiator);
        }
    }

    /// Whether learning ends at `now`.
    pub fn due(&self, now: u32) -> bool {
        self.learning && !crate::time::is_before(now, self.until)
    }

    /// What was learned.
    pub fn learned(&self) -> &Learned {
        &self.learned
    }

    /// Ends learning; the report says whether it was `applied` and the `policy` now active.
    pub fn finish(&mut self, applied: bool, policy: u32) {
        self.learning = false;
        self.report = if applied { APPLIED } else { NOT_APPLIED };
        self.report_policy = policy;
    }

    /// The report of a finished period, until [`reported`](Self::reported).
    pub fn report(&self) -> Option<BaselineReport<'_>> {
        (self.report != NO_REPORT).then_some(BaselineReport {
            learned: &self.learned,
            applied: self.report == APPLIED,
            policy: self.report_policy,
        })
    }

    /// The report went into the outbox.
    pub fn reported(&mut self) {
        self.report = NO_REPORT;
        self.learned = Learned::EMPTY;
    }

    /// Moves the end back by `seconds` (the clock was set back).
    pub fn step_back(&mut self, seconds: u32) {
        self.until = self.until.wrapping_sub(seconds);
    }
}

/// Adds `value` to the sorted list `list` once; counts it in `overflow` when full. Moved
/// into place by hand: `Vec::insert` keeps a panic path for an index it cannot prove.
fn add<T: Ord + Copy, const N: usize>(list: &mut Vec<T, N>, value: T, overflow: &mut u32) {
    let Err(at) = list.binary_search(&value) else {
        return;
    };
    if list.push(value).is_err() {
        *overflow = overflow.saturating_add(1);
        return;
    }
    for i in (at + 1..list.len()).rev() {
        if let (Some(before), Some(_)) = (list.get(i - 1).copied(), list.get(i)) {
            if let Some(slot) = list.get_mut(i) {
                *slot = before;
            }
        }
    }
    if let Some(slot) = list.get_mut(at) {
        *slot = value;
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

#[cfg(all(test, feature = "detection"))]
mod tests;
