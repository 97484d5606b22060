//! The JSON policy file: every key optional, unknown keys refused by name.

use serde_json::{Map, Value};

use nx_security_module::testing::policy::flag;

/// A policy file's content, checked for types and for rules that need one another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// `indicators.cidrs`: source 0.
    pub cidrs: Vec<String>,
    /// `indicators.feeds`: feed *i* is source *i* + 1, paths relative to the policy file.
    pub feeds: Vec<String>,
    /// `outbound_allowed`, when present.
    pub outbound_allowed: Option<Vec<String>>,
    /// `inbound_ports_allowed.tcp`, sorted and deduplicated, when present.
    pub tcp: Option<Vec<u16>>,
    /// `inbound_ports_allowed.udp`, sorted and deduplicated, when present.
    pub udp: Option<Vec<u16>>,
    /// `connections` as `(min, max)`, when present.
    pub connections: Option<(u32, u32)>,
    /// The block bits (`flag::BLOCK_*`) of `block`.
    pub block: u32,
}

/// The names `block` accepts and their flags.
pub const BLOCK_NAMES: [(&str, u32); 3] = [
    ("indicator", flag::BLOCK_INDICATOR),
    ("outbound_not_allowed", flag::BLOCK_OUTBOUND),
    ("inbound_port_not_allowed", flag::BLOCK_INBOUND_PORT),
];

fn object<'a>(
    value: &'a Value,
    name: &str,
    keys: &[&str],
) -> Result<&'a Map<String, Value>, String> {
    let map = value.as_object().ok_or_else(|| {
        if name.is_empty() {
            "the policy must be a JSON object".to_string()
        } else {
            format!("{name} must be an object")
        }
    })?;
    if let Some(key) = map.keys().find(|key| !keys.contains(&key.as_str())) {
        let known = keys.join(", ");
        return Err(if name.is_empty() {
            format!("unknown key `{key}` (known: {known})")
        } else {
            format!("unknown key `{name}.{key}` (known in {name}: {known})")
        });
    }
    Ok(map)
}

fn strings(value: &Value, name: &str) -> Result<Vec<String>, String> {
    let error = || format!("{name} must be a list of strings");
    value
        .as_array()
        .ok_or_else(error)?
        .iter()
        .map(|item| item.as_str().map(str::to_string).ok_or_else(error))
        .collect()
}

fn ports(value: &Value, name: &str) -> Result<Vec<u16>, String> {
    let list = value
        .as_array()
        .ok_or_else(|| format!("{name} must be a list of ports"))?;
    let mut ports = list
        .iter()
        .map(|item| {
            item.as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .filter(|&port| port != 0)
                .ok_or_else(|| format!("{name}: `{item}` is not a port (1 to 65535)"))
        })
        .collect::<Result<Vec<u16>, String>>()?;
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

fn count(value: Option<&Value>, name: &str, default: u32) -> Result<u32, String> {
    value.map_or(Ok(default), |value| {
        value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{name} must be a whole number from 0 to {}", u32::MAX))
    })
}

/// Reads a parsed policy file.
pub fn parse(value: &Value) -> Result<Input, String> {
    let top = object(
        value,
        "",
        &[
            "indicators",
            "outbound_allowed",
            "inbound_ports_allowed",
            "connections",
            "block",
        ],
    )?;
    let mut input = Input::default();
    if let Some(indicators) = top.get("indicators") {
        let indicators = object(indicators, "indicators", &["cidrs", "feeds"])?;
        if let Some(cidrs) = indicators.get("cidrs") {
            input.cidrs = strings(cidrs, "indicators.cidrs")?;
        }
        if let Some(feeds) = indicators.get("feeds") {
            input.feeds = strings(feeds, "indicators.feeds")?;
        }
    }
    if let Some(allowed) = top.get("outbound_allowed") {
        input.outbound_allowed = Some(strings(allowed, "outbound_allowed")?);
    }
    if let Some(inbound) = top.get("inbound_ports_allowed") {
        let inbound = object(inbound, "inbound_ports_allowed", &["tcp", "udp"])?;
        if let Some(tcp) = inbound.get("tcp") {
            input.tcp = Some(ports(tcp, "inbound_ports_allowed.tcp")?);
        }
        if let Some(udp) = inbound.get("udp") {
            input.udp = Some(ports(udp, "inbound_ports_allowed.udp")?);
        }
    }
    if let Some(connections) = top.get("connections") {
        let connections = object(connections, "connections", &["min", "max"])?;
        let min = count(connections.get("min"), "connections.min", 0)?;
        let max = count(connections.get("max"), "connections.max", u32::MAX)?;
        if min > max {
            return Err(format!(
                "connections.min ({min}) is above connections.max ({max})"
            ));
        }
        input.connections = Some((min, max));
    }
    if let Some(block) = top.get("block") {
        for name in strings(block, "block")? {
            let Some(&(_, bit)) = BLOCK_NAMES.iter().find(|(known, _)| *known == name) else {
                let known: Vec<&str> = BLOCK_NAMES.iter().map(|(name, _)| *name).collect();
                return Err(format!(
                    "block: unknown rule `{name}` (known: {})",
                    known.join(", ")
                ));
            };
            input.block |= bit;
        }
    }
    if input.block & flag::BLOCK_OUTBOUND != 0 && input.outbound_allowed.is_none() {
        return Err(
            "block: `outbound_not_allowed` needs `outbound_allowed`: without an \
                    outbound allow list every remote is allowed, so nothing would be blocked"
                .into(),
        );
    }
    if input.block & flag::BLOCK_INBOUND_PORT != 0 && input.tcp.is_none() && input.udp.is_none() {
        return Err(
            "block: `inbound_port_not_allowed` needs `inbound_ports_allowed.tcp` or \
                    `.udp`: without a port list every port is allowed, so nothing would be \
                    blocked"
                .into(),
        );
    }
    Ok(input)
}
