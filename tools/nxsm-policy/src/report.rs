//! What a compilation did: per source the entries read, per list the ranges before and
//! after merging, the blob's size and CRC-32. Text for people, JSON for scripts.

use std::fmt;

use serde_json::{json, Value};

use crate::describe::flag_names;

/// One indicator source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReport {
    /// Its number in the blob.
    pub number: u16,
    /// `indicators.cidrs` or the feed path as the policy names it.
    pub name: String,
    /// Entries read.
    pub entries: usize,
    /// JSON lines without a `cidr`, skipped.
    pub skipped: usize,
    /// Blank and comment lines.
    pub comments: usize,
    /// Entries with host bits set below their prefix, masked.
    pub normalized: usize,
}

/// One range list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListReport {
    /// `indicators_v4`, `indicators_v6`, `allowed_v4` or `allowed_v6`.
    pub name: &'static str,
    /// Ranges before merging (one per entry).
    pub before: usize,
    /// Ranges after merging (what the blob holds).
    pub after: usize,
    /// Whether the blob holds an index for it.
    pub indexed: bool,
}

/// What a compilation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The indicator sources, by number.
    pub sources: Vec<SourceReport>,
    /// The four range lists.
    pub lists: Vec<ListReport>,
    /// Entries normalized, every source and `outbound_allowed` together.
    pub normalized: usize,
    /// JSON lines skipped, every feed together.
    pub skipped: usize,
    /// The blob's flags.
    pub flags: u32,
    /// The blob's length in bytes.
    pub bytes: usize,
    /// The blob's CRC-32.
    pub crc32: u32,
}

impl Report {
    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "bytes": self.bytes,
            "crc32": format!("0x{:08X}", self.crc32),
            "flags": flag_names(self.flags),
            "normalized": self.normalized,
            "skipped": self.skipped,
            "sources": self.sources.iter().map(|s| json!({
                "source": s.number,
                "name": s.name,
                "entries": s.entries,
                "skipped": s.skipped,
                "comments": s.comments,
                "normalized": s.normalized,
            })).collect::<Vec<_>>(),
            "lists": self.lists.iter().map(|l| json!({
                "list": l.name,
                "before": l.before,
                "after": l.after,
                "indexed": l.indexed,
            })).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.sources {
            writeln!(
                f,
                "source {}: {}: {} entries, {} skipped, {} comment lines, {} normalized",
                s.number, s.name, s.entries, s.skipped, s.comments, s.normalized
            )?;
        }
        for l in &self.lists {
            writeln!(
                f,
                "{}: {} ranges -> {} after merging{}",
                l.name,
                l.before,
                l.after,
                if l.indexed { " (indexed)" } else { "" }
            )?;
        }
        let names = flag_names(self.flags);
        writeln!(
            f,
            "skipped lines: {}, normalized entries: {}",
            self.skipped, self.normalized
        )?;
        writeln!(
            f,
            "flags: {}",
            if names.is_empty() {
                "(none)".into()
            } else {
                names.join(" ")
            }
        )?;
        writeln!(f, "blob: {} bytes, crc32 0x{:08X}", self.bytes, self.crc32)
    }
}
