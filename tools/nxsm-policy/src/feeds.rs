//! Indicator feed files, the format detected line by line:
//! - FireHOL `.netset` / `.ipset` style: one address or CIDR per line; blank lines and lines
//!   starting with `#` or `;` are comments; text after the address, separated by whitespace
//!   or `;`, is a comment (`192.0.2.0/24 ; SBL123`).
//! - Spamhaus DROP JSON lines: one object per line; its `cidr` is the entry, a line without
//!   one (the `{"type": "metadata", ...}` line) is skipped and counted.

use serde_json::Value;

use crate::ranges::{self, Entry};

/// What a feed file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feed {
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
    /// JSON lines without a `cidr`.
    pub skipped: usize,
    /// Blank and comment lines.
    pub comments: usize,
}

/// A line that is neither an address, a CIDR nor a DROP JSON line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// Its number, from 1.
    pub line: usize,
    /// Its text (trailing whitespace removed).
    pub text: String,
    /// What is wrong with it.
    pub message: String,
}

/// Reads a feed file's text.
pub fn parse(text: &str) -> Result<Feed, LineError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut feed = Feed::default();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let error = |message: String| LineError {
            line: number + 1,
            text: raw.trim_end().to_string(),
            message,
        };
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            feed.comments += 1;
            continue;
        }
        let json;
        let cidr = if line.starts_with('{') {
            json = serde_json::from_str::<Value>(line)
                .map_err(|e| error(format!("not a DROP JSON line ({e})")))?;
            let Some(object) = json.as_object() else {
                return Err(error("not a DROP JSON line".into()));
            };
            match object.get("cidr") {
                None => {
                    feed.skipped += 1;
                    continue;
                }
                Some(Value::String(cidr)) => cidr.as_str(),
                Some(_) => return Err(error("`cidr` is not a string".into())),
            }
        } else {
            line.split(|c: char| c.is_whitespace() || c == ';')
                .next()
                .unwrap_or(line)
        };
        let entry = ranges::parse(cidr)
            .map_err(|m| error(format!("not an address, CIDR or DROP JSON line: {m}")))?;
        feed.entries.push(entry);
    }
    Ok(feed)
}
