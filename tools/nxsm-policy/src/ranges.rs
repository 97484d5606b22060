//! Addresses and CIDRs as inclusive numeric ranges, and merging sorted lists of them.
//!
//! An IPv4 address is a `u32` (`198.51.100.7` is `0xC6336407`), an IPv6 address a `u128`,
//! as the blob stores them. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is an IPv6
//! address: it is kept in the IPv6 lists, as the text says, never folded into IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address as a number: `u32` (IPv4) or `u128` (IPv6).
pub trait Address: Copy + Ord + std::fmt::Debug {
    /// Bits in the address.
    const BITS: u32;
    /// The next address, `None` after the last one.
    fn next(self) -> Option<Self>;
    /// The host bits of a prefix of `prefix` bits.
    fn host_mask(prefix: u32) -> Self;
    /// `self & !mask`, `self | mask`, `self & mask != 0`.
    fn split(self, mask: Self) -> (Self, Self, bool);
    /// The range as one CIDR (`a/p`) when it is one, `first-last` otherwise.
    fn range_text(first: Self, last: Self) -> String;
}

macro_rules! address {
    ($type:ty, $addr:ty) => {
        impl Address for $type {
            const BITS: u32 = <$type>::BITS;
            fn next(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn host_mask(prefix: u32) -> Self {
                <$type>::MAX.checked_shr(prefix).unwrap_or(0)
            }
            fn split(self, mask: Self) -> (Self, Self, bool) {
                (self & !mask, self | mask, self & mask != 0)
            }
            fn range_text(first: Self, last: Self) -> String {
                let host = last.wrapping_sub(first);
                if host & host.wrapping_add(1) == 0 && first & host == 0 {
                    format!(
                        "{}/{}",
                        <$addr>::from(first),
                        Self::BITS - host.count_ones()
                    )
                } else {
                    format!("{}-{}", <$addr>::from(first), <$addr>::from(last))
                }
            }
        }
    };
}

address!(u32, Ipv4Addr);
address!(u128, Ipv6Addr);

/// An inclusive range of addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range<A> {
    /// First address.
    pub first: A,
    /// Last address (at least `first`).
    pub last: A,
}

impl<A: Address> std::fmt::Display for Range<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&A::range_text(self.first, self.last))
    }
}

/// A parsed address or CIDR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// An IPv4 range.
    V4(Range<u32>),
    /// An IPv6 range (IPv4-mapped addresses included).
    V6(Range<u128>),
}

/// A parsed entry and whether host bits below its prefix had to be cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The range it covers.
    pub net: Net,
    /// Host bits were set below the prefix (`192.0.2.7/24`) and were masked.
    pub normalized: bool,
}

fn cidr<A: Address>(address: A, prefix: u32) -> (Range<A>, bool) {
    let (first, last, normalized) = address.split(A::host_mask(prefix));
    (Range { first, last }, normalized)
}

/// Parses a bare address (a /32 or /128) or a CIDR, masking host bits below the prefix.
pub fn parse(text: &str) -> Result<Entry, String> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("`{address}` is not an IP address"))?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => bits,
        Some(prefix) => prefix
            .parse::<u32>()
            .ok()
            .filter(|&p| p <= bits && prefix.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("`/{prefix}` is not a prefix length (0 to {bits})"))?,
    };
    let (net, normalized) = match address {
        IpAddr::V4(address) => {
            let (range, normalized) = cidr(u32::from(address), prefix);
            (Net::V4(range), normalized)
        }
        IpAddr::V6(address) => {
            let (range, normalized) = cidr(u128::from(address), prefix);
            (Net::V6(range), normalized)
        }
    };
    Ok(Entry { net, normalized })
}

/// Sorts `ranges` and merges those that overlap or touch (one ends right before the next
/// starts); a merged range keeps the lowest source of those merged into it.
pub fn merge<A: Address>(mut ranges: Vec<(Range<A>, u16)>) -> Vec<(Range<A>, u16)> {
    ranges.sort_unstable();
    let mut merged: Vec<(Range<A>, u16)> = Vec::with_capacity(ranges.len());
    for (range, source) in ranges {
        if let Some((last, kept)) = merged.last_mut() {
            if last.last.next().is_none_or(|after| range.first <= after) {
                last.last = last.last.max(range.last);
                *kept = (*kept).min(source);
                continue;
            }
        }
        merged.push((range, source));
    }
    merged
}
