//! Fleet-side indicator matching: feeds too large for a device (the formats
//! `tools/nxsm-policy` reads, parsed by its [`nxsm_policy::parse_feed`]) merged into sorted
//! ranges and searched per flow.

use std::path::Path;

use nxsm_policy::{merge, Net, Range};

/// Largest feed file read (bytes): far above the biggest public lists, below what would
/// exhaust a gateway's memory.
pub const MAX_FEED_BYTES: u64 = 256 << 20;

/// Each feed's ranges, sorted and merged within the feed (not across feeds, so a match
/// names the first feed that lists the address, not one it was merged with).
#[derive(Clone, Debug, Default)]
pub struct Indicators {
    feeds: Vec<FeedRanges>,
}

#[derive(Clone, Debug, Default)]
struct FeedRanges {
    number: u16,
    v4: Vec<(Range<u32>, u16)>,
    v6: Vec<(Range<u128>, u16)>,
}

/// What loading one feed found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedReport {
    /// Its number (1 the first `--feed`), the alert's `rule`.
    pub number: u16,
    /// Entries read.
    pub entries: usize,
}

fn find<A: Ord + Copy>(ranges: &[(Range<A>, u16)], address: A) -> Option<u16> {
    // The last range starting at or before the address is the only one that can hold it.
    let after = ranges.partition_point(|(range, _)| range.first <= address);
    let (range, source) = ranges.get(after.checked_sub(1)?)?;
    (address <= range.last).then_some(*source)
}

impl Indicators {
    /// Loads the feed files in order; feed *i* (from 1) is the alert's `rule`.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<(Self, Vec<FeedReport>), String> {
        let mut texts = Vec::with_capacity(paths.len());
        for path in paths {
            let path = path.as_ref();
            let size = std::fs::metadata(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .len();
            if size > MAX_FEED_BYTES {
                return Err(format!(
                    "{}: {size} bytes, more than the {MAX_FEED_BYTES} a feed may have",
                    path.display()
                ));
            }
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            texts.push(text);
        }
        Self::from_texts(&texts.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The indicators of feed texts (feed *i* of the slice is number *i* + 1).
    pub fn from_texts(texts: &[&str]) -> Result<(Self, Vec<FeedReport>), String> {
        if texts.len() >= usize::from(u16::MAX) {
            return Err(format!("{} feeds: at most {}", texts.len(), u16::MAX - 1));
        }
        let mut feeds = Vec::with_capacity(texts.len());
        let mut reports = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            // Bounded by the check above.
            let number = (i + 1) as u16;
            let feed = nxsm_policy::parse_feed(text).map_err(|e| {
                format!(
                    "feed {number}, line {}: {} ({:?})",
                    e.line, e.message, e.text
                )
            })?;
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for entry in &feed.entries {
                match entry.net {
                    Net::V4(range) => v4.push((range, number)),
                    Net::V6(range) => v6.push((range, number)),
                }
            }
            reports.push(FeedReport {
                number,
                entries: feed.entries.len(),
            });
            feeds.push(FeedRanges {
                number,
                v4: merge(v4),
                v6: merge(v6),
            });
        }
        Ok((Indicators { feeds }, reports))
    }

    /// No range at all.
    pub fn is_empty(&self) -> bool {
        self.feeds
            .iter()
            .all(|f| f.v4.is_empty() && f.v6.is_empty())
    }

    /// The number of the first feed listing an IPv4 address.
    pub fn v4(&self, address: [u8; 4]) -> Option<u16> {
        let address = u32::from_be_bytes(address);
        self.feeds
            .iter()
            .find(|f| find(&f.v4, address).is_some())
            .map(|f| f.number)
    }

    /// The number of the first feed listing an IPv6 address.
    pub fn v6(&self, address: [u8; 16]) -> Option<u16> {
        let address = u128::from_be_bytes(address);
        self.feeds
            .iter()
            .find(|f| find(&f.v6, address).is_some())
            .map(|f| f.number)
    }

    /// Merged ranges held over every feed (IPv4, IPv6).
    pub fn ranges(&self) -> (usize, usize) {
        self.feeds
            .iter()
            .fold((0, 0), |(a, b), f| (a + f.v4.len(), b + f.v6.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netset_and_drop_json() {
        let netset = "# FireHOL\n198.51.100.0/24\n203.0.113.7 ; x\n2001:db8:bad::/48\n";
        let drop = "{\"cidr\":\"192.0.2.128/25\",\"sblid\":\"SBL1\"}\n{\"type\":\"metadata\"}\n";
        let (ind, reports) = Indicators::from_texts(&[netset, drop]).unwrap();
        assert_eq!(
            reports.iter().map(|r| r.entries).collect::<Vec<_>>(),
            [3, 1]
        );
        assert_eq!(ind.v4([198, 51, 100, 255]), Some(1));
        assert_eq!(ind.v4([198, 51, 101, 0]), None);
        assert_eq!(ind.v4([203, 0, 113, 7]), Some(1));
        assert_eq!(ind.v4([203, 0, 113, 8]), None);
        assert_eq!(ind.v4([192, 0, 2, 128]), Some(2));
        assert_eq!(ind.v4([192, 0, 2, 127]), None);
        assert_eq!(ind.v4([0, 0, 0, 0]), None);
        assert_eq!(ind.v4([255; 4]), None);
        let mut bad = [0u8; 16];
        bad[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x0b, 0xad]);
        assert_eq!(ind.v6(bad), Some(1));
        bad[5] = 0xae;
        assert_eq!(ind.v6(bad), None);
    }

    #[test]
    fn overlaps_keep_lowest_feed_and_bad_lines_fail() {
        let (ind, _) = Indicators::from_texts(&["10.0.0.0/8", "10.1.0.0/16\n0.0.0.0/0"]).unwrap();
        assert_eq!(ind.v4([10, 1, 2, 3]), Some(1));
        assert_eq!(ind.v4([11, 0, 0, 0]), Some(2));
        assert!(Indicators::from_texts(&["not an address"]).is_err());
        assert!(Indicators::from_texts(&["{\"cidr\": 5}"]).is_err());
        assert!(Indicators::from_texts(&["10.0.0.0/33"]).is_err());
        let (empty, _) = Indicators::from_texts(&[""]).unwrap();
        assert!(empty.is_empty());
    }
}
