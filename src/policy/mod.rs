//! The detection policy: indicators, allow lists, the connection-count rule and what blocks,
//! read from one checked blob (`docs/policy-format.md`).
//!
//! [`check()`](crate::policy::check()) refuses any blob that breaks a rule of the format and
//! returns its [`Layout`](crate::policy::Layout); a [`Policy`](crate::policy::Policy) then
//! answers lookups from the blob and the layout without checking again.
//! [`PolicyStore`](crate::policy::store::PolicyStore) keeps the active policy where hooks and the consumer read it while
//! a new one is loaded.

mod check;
mod format;
mod layout;
pub mod store;
mod write;

pub use check::{check, crc32};
pub use format::{field, flag, PolicyError, HEADER_BYTES, INDEX_ENTRIES, MAGIC, VERSION};
pub use layout::{at, Fields, Layout, Words};
pub use write::BlobWriter;

use check::address;
use format::{RANGE_V4_WORDS, RANGE_V6_WORDS};
use layout::half;

/// A checked policy: blob words `W` and their layout `F`.
#[derive(Clone, Copy)]
pub struct Policy<'a, W: ?Sized, F: ?Sized> {
    words: &'a W,
    layout: &'a F,
}

/// One IPv4 or IPv6 range list of a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct List {
    start: usize,
    count: usize,
    /// Offset of the IPv4 index, 0 when there is none.
    index: usize,
}

impl<'a, W: Words + ?Sized, F: Fields + ?Sized> Policy<'a, W, F> {
    /// The policy of a blob `check` accepted with this layout.
    pub fn new(words: &'a W, layout: &'a F) -> Self {
        Self { words, layout }
    }

    /// Word `at` of the blob (for copying sections into a new blob).
    pub fn word(&self, at: usize) -> u32 {
        self.words.word(at)
    }

    /// Word `at` of the layout ([`at`]).
    pub fn field(&self, at: usize) -> u32 {
        self.layout.field(at)
    }

    /// The blob's number of indicator sources.
    pub fn sources(&self) -> u32 {
        self.words.word(field::SOURCES)
    }

    /// The blob's flags ([`flag`]).
    #[inline(always)]
    pub fn flags(&self) -> u32 {
        self.layout.field(at::FLAGS)
    }

    /// The blob's CRC-32, which names the policy in reports.
    pub fn crc32(&self) -> u32 {
        self.layout.field(at::CRC32)
    }

    /// The connection-count rule, `(min, max)`, when present.
    pub fn connections(&self) -> Option<(u32, u32)> {
        (self.flags() & flag::CONNECTIONS != 0).then(|| {
            (
                self.layout.field(at::CONNECTIONS_MIN),
                self.layout.field(at::CONNECTIONS_MAX),
            )
        })
    }

    fn list(&self, at: usize, index: Option<usize>) -> List {
        List {
            start: self.layout.field(at) as usize,
            count: self.layout.field(at + at::COUNT) as usize,
            index: index.map_or(0, |index| self.layout.field(at + index) as usize),
        }
    }

    /// The source of the IPv4 indicator range holding `address` (a number: `198.51.100.7`
    /// is `0xC6336407`), if one does.
    #[inline]
    pub fn indicator_v4(&self, address: u32) -> Option<u32> {
        let list = self.list(at::INDICATORS_V4, Some(at::INDICATOR_INDEX));
        let range = find_v4(self.words, &list, address)?;
        let sources = self.layout.field(at::INDICATORS_V4 + at::SOURCES) as usize;
        Some(half(self.words, sources, range))
    }

    /// The source of the IPv6 indicator range holding `address`, if one does.
    pub fn indicator_v6(&self, address: u128) -> Option<u32> {
        let list = self.list(at::INDICATORS_V6, None);
        let range = find(self.words, &list, 0, list.count, address)?;
        let sources = self.layout.field(at::INDICATORS_V6 + at::SOURCES) as usize;
        Some(half(self.words, sources, range))
    }

    /// Whether a device-initiated flow may go to IPv4 `address` (always, without the rule).
    #[inline]
    pub fn outbound_allowed_v4(&self, address: u32) -> bool {
        if self.flags() & flag::OUTBOUND_ALLOWED == 0 {
            return true;
        }
        let list = self.list(at::ALLOWED_V4, Some(at::ALLOWED_INDEX));
        find_v4(self.words, &list, address).is_some()
    }

    /// Whether a device-initiated flow may go to IPv6 `address`.
    pub fn outbound_allowed_v6(&self, address: u128) -> bool {
        if self.flags() & flag::OUTBOUND_ALLOWED == 0 {
            return true;
        }
        let list = self.list(at::ALLOWED_V6, None);
        find(self.words, &list, 0, list.count, address).is_some()
    }

    /// Whether a remote-initiated flow may reach local `port` over TCP (`tcp`) or UDP
    /// (always, without that protocol's rule).
    pub fn inbound_allowed(&self, tcp: bool, port: u16) -> bool {
        let (bit, at) = if tcp {
            (flag::INBOUND_TCP, at::TCP_PORTS)
        } else {
            (flag::INBOUND_UDP, at::UDP_PORTS)
        };
        if self.flags() & bit == 0 {
            return true;
        }
        let list = self.list(at, None);
        let (mut low, mut high) = (0, list.count);
        while low < high {
            let middle = low + (high - low) / 2;
            let value = half(self.words, list.start, middle);
            if value == u32::from(port) {
                return true;
            }
            if value < u32::from(port) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        false
    }

    /// How many ranges and ports each list holds: IPv4 and IPv6 indicators, IPv4 and IPv6
    /// allow ranges, TCP and UDP ports.
    pub fn counts(&self) -> [usize; 6] {
        [
            at::INDICATORS_V4,
            at::INDICATORS_V6,
            at::ALLOWED_V4,
            at::ALLOWED_V6,
            at::TCP_PORTS,
            at::UDP_PORTS,
        ]
        .map(|at| self.layout.field(at + at::COUNT) as usize)
    }
}

/// The IPv4 range holding `address`, narrowed by the list's index when it has one.
#[inline(always)]
fn find_v4<W: Words + ?Sized>(words: &W, list: &List, address: u32) -> Option<usize> {
    let (low, high) = if list.index != 0 {
        let top = (address >> 24) as usize;
        (
            half(words, list.index, top) as usize,
            half(words, list.index, top + 1) as usize,
        )
    } else {
        (0, list.count)
    };
    find(words, list, low, high, address)
}

/// An address as a number: one word (IPv4) or four (IPv6), most significant first.
pub trait Number: Copy + Ord {
    /// Words it takes in a blob.
    const WORDS: usize;
    /// The address at word `at`.
    fn read<W: Words + ?Sized>(words: &W, at: usize) -> Self;
}

impl Number for u32 {
    const WORDS: usize = 1;
    #[inline(always)]
    fn read<W: Words + ?Sized>(words: &W, at: usize) -> Self {
        words.word(at)
    }
}

impl Number for u128 {
    const WORDS: usize = 4;
    #[inline(always)]
    fn read<W: Words + ?Sized>(words: &W, at: usize) -> Self {
        address::<W, 4>(words, at)
    }
}

/// The range holding `address`: the last range that starts at or before it, searched for
/// in `low..high` (ranges before `low` start before `address`, those from `high` on after
/// it).
#[inline(always)]
fn find<W: Words + ?Sized, A: Number>(
    words: &W,
    list: &List,
    mut low: usize,
    mut high: usize,
    address: A,
) -> Option<usize> {
    let stride = 2 * A::WORDS;
    high = high.min(list.count);
    while low < high {
        let middle = low + (high - low) / 2;
        if A::read(words, list.start + middle * stride) <= address {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    let range = low.checked_sub(1)?;
    (A::read(words, list.start + range * stride + A::WORDS) >= address).then_some(range)
}

const _: () = assert!(RANGE_V4_WORDS == 2 && RANGE_V6_WORDS == 8);

#[cfg(any(test, feature = "std"))]
pub(crate) mod spec;
#[cfg(test)]
mod tests;
