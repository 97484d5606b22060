//! `--from-baseline`: a policy file made of what learn mode recorded.
//!
//! The input is a baseline event as `nxsm-decode` prints it (`docs/wire-format.md` 3.5), in
//! any of three shapes: the event object (`{"event": "baseline", ..., "outbound": [...],
//! "inbound": {"tcp": [...], "udp": [...]}}`), a `--replay` JSON line (the same with `t` and
//! `seq`), or a whole decoded message whose `events` hold one. The file may be one JSON value
//! or JSON lines; it must hold exactly one baseline event.
//!
//! The policy written has `outbound_allowed` = the event's `outbound` networks and
//! `inbound_ports_allowed` = its `inbound` ports. With a base policy every other key of the
//! base is kept (indicators, connections, block); its feed paths, relative to the base's
//! folder, are rewritten relative to the output's folder when the two differ.

use std::path::{Component, Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::{compile_text, input, ranges, Compiled, Error};

/// The allow lists a baseline event gives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaselineLists {
    /// `outbound`: IPv4 /24 and IPv6 /64 networks as CIDR text, as the event lists them.
    pub outbound: Vec<String>,
    /// `inbound.tcp`: local TCP ports.
    pub tcp: Vec<u16>,
    /// `inbound.udp`: local UDP ports.
    pub udp: Vec<u16>,
}

/// A policy made from a baseline: its JSON text (what `--from-baseline` writes) and the
/// compilation of that text, which has passed the core's check.
#[derive(Clone, Debug)]
pub struct FromBaseline {
    /// The policy file's text, ending with a line end.
    pub text: String,
    /// What the text compiles to (feeds read relative to the output's folder).
    pub compiled: Compiled,
    /// The lists taken from the baseline.
    pub learned: BaselineLists,
}

/// The baseline events of one parsed JSON value: the value itself, or those in its `events`.
fn baseline_events(value: &Value, found: &mut Vec<Map<String, Value>>) {
    let Some(object) = value.as_object() else {
        return;
    };
    if let Some(events) = object.get("events").and_then(Value::as_array) {
        for event in events {
            baseline_events(event, found);
        }
    } else if object.get("event").and_then(Value::as_str) == Some("baseline") {
        found.push(object.clone());
    }
}

fn ports(value: Option<&Value>, name: &str) -> Result<Vec<u16>, String> {
    let error = || format!("{name} must be a list of ports (1 to 65535)");
    value
        .and_then(Value::as_array)
        .ok_or_else(error)?
        .iter()
        .map(|port| {
            port.as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .filter(|&port| port != 0)
                .ok_or_else(error)
        })
        .collect()
}

/// Reads the one baseline event of `text` (an event object, a replay line or a decoded
/// message; one JSON value or JSON lines).
pub fn read_baseline(text: &str) -> Result<BaselineLists, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut found = Vec::new();
    match serde_json::from_str::<Value>(text) {
        Ok(value) => baseline_events(&value, &mut found),
        Err(whole) => {
            for (number, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value = serde_json::from_str::<Value>(line).map_err(|error| {
                    if number == 0 {
                        format!("not JSON: {whole}")
                    } else {
                        format!("line {}: not JSON: {error}", number + 1)
                    }
                })?;
                baseline_events(&value, &mut found);
            }
        }
    }
    let event = match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(
                "no baseline event (an object with \"event\": \"baseline\", as \
                        nxsm-decode prints it)"
                    .into(),
            )
        }
        n => return Err(format!("{n} baseline events: give a file with one")),
    };
    let outbound_error = || "baseline outbound must be a list of CIDRs".to_string();
    let outbound = event
        .get("outbound")
        .and_then(Value::as_array)
        .ok_or_else(outbound_error)?
        .iter()
        .map(|cidr| cidr.as_str().map(str::to_string).ok_or_else(outbound_error))
        .collect::<Result<Vec<String>, String>>()?;
    for cidr in &outbound {
        ranges::parse(cidr).map_err(|m| format!("baseline outbound: `{cidr}`: {m}"))?;
    }
    let inbound = event
        .get("inbound")
        .and_then(Value::as_object)
        .ok_or("baseline inbound must be an object {\"tcp\": [...], \"udp\": [...]}")?;
    Ok(BaselineLists {
        outbound,
        tcp: ports(inbound.get("tcp"), "baseline inbound.tcp")?,
        udp: ports(inbound.get("udp"), "baseline inbound.udp")?,
    })
}

/// The folder a file is in (`.` for a bare file name).
fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `path` without `.` and with each `..` taking off the component before it.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `target` relative to the folder `from` (both absolute and normalized), with `/` between
/// components; `None` when they share no root.
fn relative(from: &Path, target: &Path) -> Option<String> {
    let from: Vec<Component> = from.components().collect();
    let target: Vec<Component> = target.components().collect();
    let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        target[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// A base policy's feed `name`, relative to `base_folder`, made relative to `out_folder`.
fn rebase_feed(name: &str, base_folder: &Path, out_folder: &Path) -> String {
    let path = Path::new(name);
    if path.is_absolute() || base_folder == out_folder {
        return name.to_string();
    }
    let target = normalize(&base_folder.join(path));
    relative(out_folder, &target).unwrap_or_else(|| target.to_string_lossy().into_owned())
}

/// The policy value made of `learned` and, when given, the base policy `base` whose feed
/// paths are relative to `base_folder`; the result's feeds are relative to `out_folder`.
/// Both folders are to be given absolute (as [`std::fs::canonicalize`] gives them) for feed
/// paths to be rewritten.
pub fn policy_value(
    learned: &BaselineLists,
    base: Option<&Map<String, Value>>,
    base_folder: &Path,
    out_folder: &Path,
) -> Value {
    let mut policy = base.cloned().unwrap_or_default();
    if let Some(feeds) = policy
        .get_mut("indicators")
        .and_then(|indicators| indicators.get_mut("feeds"))
        .and_then(Value::as_array_mut)
    {
        for feed in feeds {
            if let Some(name) = feed.as_str() {
                *feed = json!(rebase_feed(name, base_folder, out_folder));
            }
        }
    }
    policy.insert("outbound_allowed".into(), json!(learned.outbound));
    policy.insert(
        "inbound_ports_allowed".into(),
        json!({"tcp": learned.tcp, "udp": learned.udp}),
    );
    Value::Object(policy)
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|error| Error::Read {
        path: path.into(),
        error,
    })
}

fn canonical_folder(file: &Path) -> Result<PathBuf, Error> {
    let folder = folder_of(file);
    std::fs::canonicalize(folder).map_err(|error| Error::Read {
        path: folder.into(),
        error,
    })
}

/// Makes the policy `--from-baseline` writes to `output`: reads the baseline event at
/// `baseline` and the policy at `base`, if given, and compiles the result (feeds relative to
/// `output`'s folder, which must exist) so that only a policy that compiles is returned.
/// Nothing is written.
pub fn from_baseline(
    baseline: &Path,
    base: Option<&Path>,
    output: &Path,
) -> Result<FromBaseline, Error> {
    let learned = read_baseline(&read(baseline)?).map_err(|message| Error::Policy {
        path: baseline.into(),
        message,
    })?;
    let out_folder = canonical_folder(output)?;
    let (base_object, base_folder) = match base {
        None => (None, out_folder.clone()),
        Some(path) => {
            let value: Value = serde_json::from_str(&read(path)?).map_err(|error| Error::Json {
                path: path.into(),
                error,
            })?;
            input::parse(&value).map_err(|message| Error::Policy {
                path: path.into(),
                message,
            })?;
            let Value::Object(object) = value else {
                unreachable!("input::parse accepts objects only");
            };
            (Some(object), canonical_folder(path)?)
        }
    };
    let value = policy_value(&learned, base_object.as_ref(), &base_folder, &out_folder);
    // A `Value` always serializes.
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    let compiled = compile_text(&text, output, &out_folder)?;
    Ok(FromBaseline {
        text,
        compiled,
        learned,
    })
}
