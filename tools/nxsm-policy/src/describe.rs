//! What a blob holds, read through the core: `check` for its layout, `Policy` for its
//! rules and counts, the layout's offsets for the lists.

use std::fmt;

use nx_security_module::testing::policy::{
    at, check, field, flag, Fields, Layout, Policy, PolicyError, Words, VERSION,
};

use crate::ranges::{Address, Range};

/// The flags and their names, in bit order.
pub const FLAG_NAMES: [(u32, &str); 9] = [
    (flag::BLOCK_INDICATOR, "BLOCK_INDICATOR"),
    (flag::BLOCK_OUTBOUND, "BLOCK_OUTBOUND"),
    (flag::BLOCK_INBOUND_PORT, "BLOCK_INBOUND_PORT"),
    (flag::OUTBOUND_ALLOWED, "OUTBOUND_ALLOWED"),
    (flag::INBOUND_TCP, "INBOUND_TCP"),
    (flag::INBOUND_UDP, "INBOUND_UDP"),
    (flag::CONNECTIONS, "CONNECTIONS"),
    (flag::INDICATORS_V4_INDEX, "INDICATORS_V4_INDEX"),
    (flag::ALLOWED_V4_INDEX, "ALLOWED_V4_INDEX"),
];

/// The names of the set bits of `flags`, in bit order.
pub fn flag_names(flags: u32) -> Vec<&'static str> {
    FLAG_NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|&(_, name)| name)
        .collect()
}

/// The name of a blob error, as the C API names it (`NXSM_ERR_POLICY_...`).
pub fn error_name(error: PolicyError) -> &'static str {
    match error {
        PolicyError::TooLarge => "NXSM_ERR_POLICY_TOO_LARGE",
        PolicyError::Truncated => "NXSM_ERR_POLICY_TRUNCATED",
        PolicyError::Magic => "NXSM_ERR_POLICY_MAGIC",
        PolicyError::Version => "NXSM_ERR_POLICY_VERSION",
        PolicyError::Checksum => "NXSM_ERR_POLICY_CHECKSUM",
        PolicyError::Rules => "NXSM_ERR_POLICY_RULES",
        PolicyError::Counts => "NXSM_ERR_POLICY_COUNTS",
        PolicyError::Ranges => "NXSM_ERR_POLICY_RANGES",
        PolicyError::Source => "NXSM_ERR_POLICY_SOURCE",
        PolicyError::Index => "NXSM_ERR_POLICY_INDEX",
        PolicyError::Ports => "NXSM_ERR_POLICY_PORTS",
    }
}

/// The outbound allow ranges of a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    /// IPv4 ranges.
    pub v4: Vec<Range<u32>>,
    /// IPv6 ranges.
    pub v6: Vec<Range<u128>>,
}

/// What a checked blob holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description {
    /// Length in bytes.
    pub length: usize,
    /// Its CRC-32.
    pub crc32: u32,
    /// Its flags.
    pub flags: u32,
    /// Number of indicator sources.
    pub sources: u32,
    /// The connection-count rule, when present.
    pub connections: Option<(u32, u32)>,
    /// IPv4 indicator ranges and their sources.
    pub indicators_v4: Vec<(Range<u32>, u32)>,
    /// IPv6 indicator ranges and their sources.
    pub indicators_v6: Vec<(Range<u128>, u32)>,
    /// The outbound allow ranges (IPv4, IPv6), when the rule is present.
    pub allowed: Option<Allowed>,
    /// Inbound TCP ports, when the rule is present.
    pub tcp: Option<Vec<u16>>,
    /// Inbound UDP ports, when the rule is present.
    pub udp: Option<Vec<u16>>,
}

fn half(blob: &[u8], start: usize, index: usize) -> u32 {
    (blob.word(start + index / 2) >> (16 * (index % 2))) & 0xFFFF
}

fn v6(blob: &[u8], at: usize) -> u128 {
    (0..4).fold(0, |address, i| {
        (address << 32) | u128::from(blob.word(at + i))
    })
}

/// The ranges of the list at layout position `list`, `words_each` words an address.
fn ranges<A: Address>(
    blob: &[u8],
    layout: &Layout,
    list: usize,
    read: fn(&[u8], usize) -> A,
    words_each: usize,
) -> Vec<Range<A>> {
    let start = layout.field(list) as usize;
    (0..layout.field(list + at::COUNT) as usize)
        .map(|i| {
            let at = start + i * 2 * words_each;
            Range {
                first: read(blob, at),
                last: read(blob, at + words_each),
            }
        })
        .collect()
}

fn with_sources<A>(blob: &[u8], layout: &Layout, list: usize, ranges: Vec<A>) -> Vec<(A, u32)> {
    let sources = layout.field(list + at::SOURCES) as usize;
    ranges
        .into_iter()
        .enumerate()
        .map(|(i, range)| (range, half(blob, sources, i)))
        .collect()
}

fn ports(blob: &[u8], layout: &Layout, list: usize) -> Vec<u16> {
    let start = layout.field(list) as usize;
    (0..layout.field(list + at::COUNT) as usize)
        .map(|i| half(blob, start, i) as u16)
        .collect()
}

/// Checks `blob` with the core's `check` and reads what it holds.
pub fn describe(blob: &[u8]) -> Result<Description, PolicyError> {
    let layout = check(blob, blob.len())?;
    let policy = Policy::new(blob, &layout);
    let flags = policy.flags();
    let v4 = |blob: &[u8], at: usize| blob.word(at);
    let indicators_v4 = ranges(blob, &layout, at::INDICATORS_V4, v4, 1);
    let indicators_v6 = ranges(blob, &layout, at::INDICATORS_V6, v6, 4);
    let present = |bit: u32| flags & bit != 0;
    Ok(Description {
        length: blob.len(),
        crc32: policy.crc32(),
        flags,
        sources: blob.word(field::SOURCES),
        connections: policy.connections(),
        indicators_v4: with_sources(blob, &layout, at::INDICATORS_V4, indicators_v4),
        indicators_v6: with_sources(blob, &layout, at::INDICATORS_V6, indicators_v6),
        allowed: present(flag::OUTBOUND_ALLOWED).then(|| Allowed {
            v4: ranges(blob, &layout, at::ALLOWED_V4, v4, 1),
            v6: ranges(blob, &layout, at::ALLOWED_V6, v6, 4),
        }),
        tcp: present(flag::INBOUND_TCP).then(|| ports(blob, &layout, at::TCP_PORTS)),
        udp: present(flag::INBOUND_UDP).then(|| ports(blob, &layout, at::UDP_PORTS)),
    })
}

fn port_list(ports: &Option<Vec<u16>>) -> String {
    match ports {
        None => "any (no rule)".into(),
        Some(ports) if ports.is_empty() => "none".into(),
        Some(ports) => ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = flag_names(self.flags);
        writeln!(f, "policy blob, format version {VERSION}")?;
        writeln!(f, "length: {} bytes", self.length)?;
        writeln!(f, "crc32: 0x{:08X}", self.crc32)?;
        writeln!(
            f,
            "flags: 0x{:03X} {}",
            self.flags,
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(" ")
            }
        )?;
        writeln!(f, "sources: {}", self.sources)?;
        match self.connections {
            Some((min, max)) => writeln!(f, "connections: min {min}, max {max}")?,
            None => writeln!(f, "connections: no rule")?,
        }
        writeln!(f, "indicators v4: {} ranges", self.indicators_v4.len())?;
        for (range, source) in &self.indicators_v4 {
            writeln!(f, "  {range}  source {source}")?;
        }
        writeln!(f, "indicators v6: {} ranges", self.indicators_v6.len())?;
        for (range, source) in &self.indicators_v6 {
            writeln!(f, "  {range}  source {source}")?;
        }
        match &self.allowed {
            None => writeln!(f, "outbound allowed: any (no rule)")?,
            Some(allowed) => {
                writeln!(f, "outbound allowed v4: {} ranges", allowed.v4.len())?;
                for range in &allowed.v4 {
                    writeln!(f, "  {range}")?;
                }
                writeln!(f, "outbound allowed v6: {} ranges", allowed.v6.len())?;
                for range in &allowed.v6 {
                    writeln!(f, "  {range}")?;
                }
            }
        }
        writeln!(f, "inbound tcp ports: {}", port_list(&self.tcp))?;
        writeln!(f, "inbound udp ports: {}", port_list(&self.udp))
    }
}
