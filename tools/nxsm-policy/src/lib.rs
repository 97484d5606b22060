//! `nxsm-policy`: compiles a JSON detection policy into the policy blob nx-security-module
//! loads (`docs/policy-format.md`), describes what a blob holds, and turns a learned
//! baseline (the baseline event as `nxsm-decode` prints it, `docs/wire-format.md` 3.5) into
//! a policy file ([`from_baseline`]: its outbound networks and inbound ports become the allow
//! lists, the rest of an optional base policy is kept).
//!
//! Modules: `input` (the JSON policy file), `feeds` (indicator feed files), `ranges`
//! (CIDRs as numeric ranges, merging), `writer` (the blob), `describe` (reading a blob back
//! through the core), `report` (what a compilation did) and `baseline` (a policy file from a
//! baseline event, checked by compiling it before it is returned). The format's constants and its
//! checker are the core's (`nx_security_module::testing::policy`); every blob written here
//! passes its `check` first.

mod baseline;
mod describe;
mod feeds;
mod input;
mod ranges;
mod report;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};

use nx_security_module::testing::policy::{field, flag, PolicyError, Words};

pub use baseline::{from_baseline, policy_value, read_baseline, BaselineLists, FromBaseline};
pub use describe::{describe, error_name, flag_names, Allowed, Description};
pub use feeds::{parse as parse_feed, Feed, LineError};
pub use input::BLOCK_NAMES;
pub use ranges::{merge, parse as parse_cidr, Address, Entry, Net, Range};
pub use report::{ListReport, Report, SourceReport};
pub use writer::{Blob, INDEX_AFTER};

use writer::MAX_SIXTEEN_BIT;

/// A compiled policy: the blob, checked by the core, and what was done to make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// The policy blob.
    pub blob: Vec<u8>,
    /// What compiling did.
    pub report: Report,
}

/// Why a policy did not compile.
#[derive(Debug)]
pub enum Error {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The policy file is not JSON.
    Json {
        /// The policy file.
        path: PathBuf,
        /// The parser's message.
        error: serde_json::Error,
    },
    /// The policy file breaks a rule (unknown key, bad type, bad CIDR, bad block...).
    Policy {
        /// The policy file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A feed line is neither an address, a CIDR nor a DROP JSON line.
    Feed {
        /// The feed file.
        path: PathBuf,
        /// The line number, the line and what is wrong with it.
        error: LineError,
    },
    /// The blob written was refused by the core's `check`: a bug of this tool.
    Internal(PolicyError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { path, error } => write!(f, "{}: {error}", path.display()),
            Error::Json { path, error } => write!(f, "{}: not JSON: {error}", path.display()),
            Error::Policy { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Feed { path, error } => write!(
                f,
                "{}:{}: {}: `{}`",
                path.display(),
                error.line,
                error.message,
                error.text
            ),
            Error::Internal(error) => write!(
                f,
                "internal error: the blob written was refused by the core's check: {} ({})",
                error_name(*error),
                *error as u32
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Reads and compiles the policy file at `path` (feeds relative to its folder).
pub fn compile(path: &Path) -> Result<Compiled, Error> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Read {
        path: path.into(),
        error,
    })?;
    compile_text(&text, path, path.parent().unwrap_or(Path::new(".")))
}

/// Ranges collected for one IP version, with their sources.
struct Lists {
    v4: Vec<(Range<u32>, u16)>,
    v6: Vec<(Range<u128>, u16)>,
    normalized: usize,
}

impl Lists {
    fn new() -> Self {
        Self {
            v4: Vec::new(),
            v6: Vec::new(),
            normalized: 0,
        }
    }

    fn add(&mut self, entry: Entry, source: u16) {
        self.normalized += usize::from(entry.normalized);
        match entry.net {
            Net::V4(range) => self.v4.push((range, source)),
            Net::V6(range) => self.v6.push((range, source)),
        }
    }
}

/// Compiles policy `text`; `path` names it in errors, feed paths are relative to `base`.
pub fn compile_text(text: &str, path: &Path, base: &Path) -> Result<Compiled, Error> {
    let policy_error = |message: String| Error::Policy {
        path: path.into(),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| Error::Json {
        path: path.into(),
        error,
    })?;
    let input = input::parse(&value).map_err(policy_error)?;
    if input.feeds.len() >= MAX_SIXTEEN_BIT {
        return Err(policy_error(format!(
            "indicators.feeds: {} feeds, at most {} (sources are 16-bit numbers)",
            input.feeds.len(),
            MAX_SIXTEEN_BIT - 1
        )));
    }

    let mut indicators = Lists::new();
    let mut sources = Vec::new();
    for (i, text) in input.cidrs.iter().enumerate() {
        let entry = ranges::parse(text)
            .map_err(|m| policy_error(format!("indicators.cidrs[{i}]: `{text}`: {m}")))?;
        indicators.add(entry, 0);
    }
    sources.push(SourceReport {
        number: 0,
        name: "indicators.cidrs".into(),
        entries: input.cidrs.len(),
        skipped: 0,
        comments: 0,
        normalized: indicators.normalized,
    });
    for (i, name) in input.feeds.iter().enumerate() {
        let number = u16::try_from(i + 1).expect("feeds counted above");
        let file = base.join(name);
        let text = std::fs::read_to_string(&file).map_err(|error| Error::Read {
            path: file.clone(),
            error,
        })?;
        let feed = feeds::parse(&text).map_err(|error| Error::Feed {
            path: file.clone(),
            error,
        })?;
        let before = indicators.normalized;
        for &entry in &feed.entries {
            indicators.add(entry, number);
        }
        sources.push(SourceReport {
            number,
            name: name.clone(),
            entries: feed.entries.len(),
            skipped: feed.skipped,
            comments: feed.comments,
            normalized: indicators.normalized - before,
        });
    }

    let mut allowed = Lists::new();
    for (i, text) in input.outbound_allowed.iter().flatten().enumerate() {
        let entry = ranges::parse(text)
            .map_err(|m| policy_error(format!("outbound_allowed[{i}]: `{text}`: {m}")))?;
        allowed.add(entry, 0);
    }

    let mut flags = input.block;
    for (present, bit) in [
        (input.outbound_allowed.is_some(), flag::OUTBOUND_ALLOWED),
        (input.tcp.is_some(), flag::INBOUND_TCP),
        (input.udp.is_some(), flag::INBOUND_UDP),
        (input.connections.is_some(), flag::CONNECTIONS),
    ] {
        if present {
            flags |= bit;
        }
    }
    let blob = Blob {
        flags,
        sources: u32::try_from(sources.len()).expect("feeds counted above"),
        connections: input.connections.unwrap_or((0, 0)),
        indicators_v4: merge(indicators.v4.clone()),
        indicators_v6: merge(indicators.v6.clone()),
        allowed_v4: merge(allowed.v4.clone()).into_iter().map(|r| r.0).collect(),
        allowed_v6: merge(allowed.v6.clone()).into_iter().map(|r| r.0).collect(),
        tcp: input.tcp.unwrap_or_default(),
        udp: input.udp.unwrap_or_default(),
    };
    for (name, len) in [
        ("IPv4 indicator", blob.indicators_v4.len()),
        ("IPv4 outbound allow", blob.allowed_v4.len()),
    ] {
        if len > MAX_SIXTEEN_BIT {
            return Err(policy_error(format!(
                "{len} {name} ranges after merging: a list of more than {INDEX_AFTER} is \
                 indexed, and an indexed list holds at most {MAX_SIXTEEN_BIT}"
            )));
        }
    }

    let bytes = blob.write().map_err(Error::Internal)?;
    let written = blob.flags();
    let lists = vec![
        ListReport {
            name: "indicators_v4",
            before: indicators.v4.len(),
            after: blob.indicators_v4.len(),
            indexed: written & flag::INDICATORS_V4_INDEX != 0,
        },
        ListReport {
            name: "indicators_v6",
            before: indicators.v6.len(),
            after: blob.indicators_v6.len(),
            indexed: false,
        },
        ListReport {
            name: "allowed_v4",
            before: allowed.v4.len(),
            after: blob.allowed_v4.len(),
            indexed: written & flag::ALLOWED_V4_INDEX != 0,
        },
        ListReport {
            name: "allowed_v6",
            before: allowed.v6.len(),
            after: blob.allowed_v6.len(),
            indexed: false,
        },
    ];
    let report = Report {
        skipped: sources.iter().map(|s| s.skipped).sum(),
        normalized: indicators.normalized + allowed.normalized,
        sources,
        lists,
        flags: written,
        bytes: bytes.len(),
        crc32: bytes[..].word(field::CRC32),
    };
    Ok(Compiled {
        blob: bytes,
        report,
    })
}

#[cfg(test)]
mod tests;
