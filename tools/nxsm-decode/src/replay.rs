//! `nxsm-decode --replay`: the output side of `scripts/replay`.
//!
//! Input is lines. A line starting with `{` is already JSON: passed through unchanged
//! (`json`) or shown as a block of `key value` lines (`table`). Any other non-empty line is
//! one message in hex (`#` comments allowed). For a message, `json` prints one object per
//! flow (keys `t`, `ip`, `proto`, `local`, `local_port`, `remote`, `remote_port`, `bytes_in`,
//! `bytes_out`, `packets_in`, `packets_out`, `tcp_flags_in`, `tcp_flags_out`, `initiator`, `seq`,
//! `part`)
//! and one per system information, heartbeat, baseline or inventory event (`t`, `event`, its
//! fields, `seq`; for a baseline `started`, `duration_s`, `end`, `applied`, `policy`,
//! `overflow`, `outbound`, `inbound`, as [`crate::baseline_json`] gives them; for an
//! inventory `found`, `part`, `more`, `sockets`, as [`crate::inventory_json`] gives them),
//! and one per alert: `t` (the alert's time), `event` (`"alert"`), `kind`, then for a flow
//! `ip`, `proto`, `local`, `local_port`, `remote`, `remote_port`, `initiator`, and for a
//! connection count `active`, `min`, `max`; then `rule` and `seq`, in that order.
//!
//! A finding is a line of its own: `t` (the message's time), `event` (`"finding"`), then
//! the fields of [`crate::finding_json`] (`finding`, `active`, `time`, and `protocol`,
//! `port`, `reason` or `count`), then `seq`. So is an audit record: `t`, `event`
//! (`"audit"`), the fields of [`crate::audit_json`] (`sequence`, `time`, `category`, `kind`,
//! `result`, `subject`, `old`, `new`), then `seq`.
//!
//! `table` prints a header line per window and one aligned row per flow, a block of
//! `key value` lines per system information or heartbeat event, and one line per alert as
//! soon as its message is read (ahead of a split window still waiting for its last part):
//!
//! ```text
//! ALERT indicator                 tcp   192.0.2.10:50000 -> 198.51.100.7:443    opened by local   rule 1  (seq 12, t 1700000005)
//! ALERT inbound_port_not_allowed  udp   [2001:db8::1]:53 -> [2001:db8::9]:5353  opened by remote  rule 0  (seq 12, t 1700000006)
//! ALERT connections_out_of_range  active 70 (allowed 0..20)                                               (seq 12, t 1700000010)
//!
//! ALERT outbound_not_allowed      icmp  192.0.2.10 -> 203.0.113.1  opened by local   rule 0  (seq 13, t 1700000070)
//! ```
//!
//! Columns: `ALERT`, the kind (padded to the longest kind name), the protocol (padded to
//! four), the local and remote endpoints (an ICMP endpoint is the address alone, an IPv6
//! one is bracketed), who opened the flow (`local` or `remote`) and the rule; a connection
//! count shows instead the flows the window held and the range the rule allows. Then the
//! message's sequence number and the alert's own time. Endpoints, and so the columns after
//! them, are aligned among the alerts of one message; a blank line follows each message's
//! alerts. Values a reader would reject show as `invalid`.
//!
//! A baseline event is a block of three lines, also printed as soon as its message is read,
//! then a blank line:
//!
//! ```text
//! BASELINE learned 3600 s from 2023-11-14 22:13:20 UTC (t 1700000000): applied, policy 0x1234abcd, overflow 0  (seq 14, t 1700003600)
//!   outbound 203.0.113.0/24, 2001:db8:0:1::/64
//!   inbound  tcp 8080; udp 5353
//! ```
//!
//! `not applied` when the lists did not become the policy's; an empty list shows as `-`.
//!
//! Inventories, findings and audit records are also printed as soon as their message is
//! read, each event as a titled block of aligned rows and a blank line:
//!
//! ```text
//! INVENTORY found 3, part 0, complete  (seq 20, t 1700000000)
//!   kind             ip  local              remote
//!   tcp_listening     0  *:23               -
//!   udp_bound         1  *:5683             -
//!   tcp_established   1  [2001:db8::1]:443  [2001:db8::9]:50001
//!
//! FINDINGS  (seq 21, t 1700000000)
//!   time                                    state    finding
//!   2023-11-14 22:13:20 UTC (t 1700000000)  started  risky_service tcp 23 (cleartext_remote_login)
//!   2023-11-14 22:13:40 UTC (t 1700000020)  ended    hook_replaced count 1
//!   1970-01-01 00:00:00 UTC (t 0)           started  no_clock
//!
//! AUDIT  (seq 22, t 1700000100)
//!   seq        time  category       kind              result  subject  old -> new
//!     4  1700000060  configuration  interval_changed       0        0  3600 -> 60
//!    15  1700000100  request_error  interval_changed       5        1  60 -> 0
//! ```
//!
//! An inventory that goes on in the next message says `more follows` instead of
//! `complete`; a listening or bound socket's local endpoint is `*:port` (every address of
//! its IP instance). A finding's state is `started` or `ended`; an audit record shows its
//! own sequence number and time, then `old -> new`. Values a reader would reject show as
//! `invalid`.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::json::AddressText;
use crate::{
    alert_json, audit_json, decode_hex_line, event_json, finding_json, flow_json, Alert,
    AuditRecord, Baseline, Event, Finding, Flow, InputError, Inventory, Message, Protocol, Socket,
};

/// Output format of the replay mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// Aligned, human-readable tables.
    Table,
}

/// The JSON lines of one message: one per flow (IPv4 first), then one per system information,
/// heartbeat, baseline or inventory event, and one per alert, finding and audit record.
pub fn message_lines(message: &Message) -> Vec<Value> {
    let mut lines = Vec::new();
    for event in &message.events {
        match event {
            Event::NetworkActivity(window) => {
                for flow in &window.v4_flows {
                    let local = window.v4_locals.get(usize::from(flow.local));
                    lines.push(flow_line(message, window.part, flow_json(4, local, flow)));
                }
                for flow in &window.v6_flows {
                    let local = window.v6_locals.get(usize::from(flow.local));
                    lines.push(flow_line(message, window.part, flow_json(6, local, flow)));
                }
            }
            Event::Alerts(alerts) => {
                lines.extend(alerts.iter().map(|alert| alert_line(message, alert)));
            }
            Event::Findings(findings) => {
                lines.extend(
                    findings
                        .iter()
                        .map(|f| record_line(message, "finding", finding_json(f))),
                );
            }
            Event::Audit(records) => {
                lines.extend(
                    records
                        .iter()
                        .map(|r| record_line(message, "audit", audit_json(r))),
                );
            }
            other => {
                let mut line = Map::new();
                line.insert("t".into(), message.time.into());
                if let Value::Object(fields) = event_json(message.time, other) {
                    line.extend(fields);
                }
                line.insert("seq".into(), message.sequence.into());
                lines.push(Value::Object(line));
            }
        }
    }
    lines
}

/// One alert's line: `t`, `event`, `kind`, the flow or count fields, `rule`, `seq`.
pub fn alert_line(message: &Message, alert: &Alert) -> Value {
    let mut fields = match alert_json(alert) {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    let mut line = Map::new();
    line.insert("t".into(), alert.head().time.into());
    line.insert("event".into(), "alert".into());
    let keys: &[&str] = match alert {
        Alert::ConnectionsOutOfRange(..) => &["kind", "active", "min", "max", "rule"],
        _ => &[
            "kind",
            "ip",
            "proto",
            "local",
            "local_port",
            "remote",
            "remote_port",
            "initiator",
            "rule",
        ],
    };
    for &key in keys {
        if let Some(value) = fields.shift_remove(key) {
            line.insert(key.into(), value);
        }
    }
    line.insert("seq".into(), message.sequence.into());
    Value::Object(line)
}

/// A finding's or audit record's line: `t` (the message's time), `event`, its fields, `seq`.
fn record_line(message: &Message, event: &str, fields: Value) -> Value {
    let mut line = Map::new();
    line.insert("t".into(), message.time.into());
    line.insert("event".into(), event.into());
    if let Value::Object(fields) = fields {
        line.extend(fields);
    }
    line.insert("seq".into(), message.sequence.into());
    Value::Object(line)
}

fn flow_line(message: &Message, part: u16, flow: Value) -> Value {
    let mut line = Map::new();
    line.insert("t".into(), message.time.into());
    if let Value::Object(fields) = flow {
        line.extend(fields);
    }
    line.insert("seq".into(), message.sequence.into());
    line.insert("part".into(), part.into());
    Value::Object(line)
}

/// Replays lines to `out`.
pub struct Replay<W: Write> {
    out: W,
    format: Format,
    /// `(time, duration_s)` of the window whose rows are pending (table format).
    window: Option<(u32, u32)>,
    rows: Vec<Vec<Cell>>,
    /// System information and heartbeat blocks waiting for the window's rows.
    blocks: Vec<String>,
}

/// One table cell: text and whether it is aligned right.
struct Cell {
    text: String,
    right: bool,
}

fn left(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        right: false,
    }
}

fn right(value: impl ToString) -> Cell {
    Cell {
        text: value.to_string(),
        right: true,
    }
}

const COLUMNS: [(&str, bool); 13] = [
    ("ip", true),
    ("proto", false),
    ("local", false),
    ("remote", false),
    ("bytes_in", true),
    ("bytes_out", true),
    ("pkts_in", true),
    ("pkts_out", true),
    ("flags_in", false),
    ("flags_out", false),
    ("opened_by", false),
    ("seq", true),
    ("part", true),
];

impl<W: Write> Replay<W> {
    /// A replay writing to `out`.
    pub fn new(out: W, format: Format) -> Self {
        Replay {
            out,
            format,
            window: None,
            rows: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// Handles one input line (without its line end). An input error is returned for the
    /// caller to report; output errors are `Err`.
    pub fn line(&mut self, line: &[u8]) -> io::Result<Option<InputError>> {
        let trimmed = line.trim_ascii_start();
        if trimmed.first() == Some(&b'{') {
            match self.format {
                Format::Json => {
                    self.out.write_all(line)?;
                    self.out.write_all(b"\n")?;
                }
                Format::Table => {
                    self.flush()?;
                    let text = String::from_utf8_lossy(line);
                    match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Object(object)) => {
                            let block = json_block(&object);
                            self.out.write_all(block.as_bytes())?;
                        }
                        _ => writeln!(self.out, "{text}")?,
                    }
                }
            }
            return Ok(None);
        }
        match decode_hex_line(line) {
            Ok(None) => Ok(None),
            Ok(Some(message)) => {
                self.message(&message)?;
                Ok(None)
            }
            Err(error) => Ok(Some(error)),
        }
    }

    /// Prints one decoded message.
    pub fn message(&mut self, message: &Message) -> io::Result<()> {
        match self.format {
            Format::Json => {
                for line in message_lines(message) {
                    writeln!(self.out, "{line}")?;
                }
                Ok(())
            }
            Format::Table => self.table_message(message),
        }
    }

    fn table_message(&mut self, message: &Message) -> io::Result<()> {
        let mut window_done = true;
        for event in &message.events {
            match event {
                Event::NetworkActivity(window) => {
                    let key = (message.time, window.duration_s);
                    if self.window != Some(key) || window.part == 0 {
                        self.flush()?;
                    }
                    self.window = Some(key);
                    for flow in &window.v4_flows {
                        let local = window.v4_locals.get(usize::from(flow.local));
                        self.rows.push(row(4, local, flow, message, window.part));
                    }
                    for flow in &window.v6_flows {
                        let local = window.v6_locals.get(usize::from(flow.local));
                        self.rows.push(row(6, local, flow, message, window.part));
                    }
                    window_done = !window.more;
                }
                Event::Alerts(alerts) => {
                    for line in alert_lines(message, alerts) {
                        writeln!(self.out, "{line}")?;
                    }
                    writeln!(self.out)?;
                }
                Event::Baseline(baseline) => {
                    self.out
                        .write_all(baseline_block(message, baseline).as_bytes())?;
                }
                Event::Inventory(inventory) => {
                    self.out
                        .write_all(inventory_block(message, inventory).as_bytes())?;
                }
                Event::Findings(findings) => {
                    self.out
                        .write_all(findings_block(message, findings).as_bytes())?;
                }
                Event::Audit(records) => {
                    self.out
                        .write_all(audit_block(message, records).as_bytes())?;
                }
                other => {
                    let title = format!(
                        "{}  t={} seq={}",
                        other.kind().name(),
                        message.time,
                        message.sequence
                    );
                    let mut fields = match event_json(message.time, other) {
                        Value::Object(fields) => fields,
                        _ => Map::new(),
                    };
                    fields.shift_remove("event");
                    self.blocks.push(block(&title, &fields));
                }
            }
        }
        // A message of alerts (or another event that travels alone) leaves a split window
        // waiting for its next part.
        let alerts_only = message.events.iter().all(|event| event.kind().alone());
        if window_done && !alerts_only {
            self.flush()?;
        }
        Ok(())
    }

    /// Prints the pending window (header and rows), then the pending blocks.
    fn flush(&mut self) -> io::Result<()> {
        if let Some((time, duration)) = self.window.take() {
            let start = i64::from(time) - i64::from(duration);
            writeln!(
                self.out,
                "== window {} .. {} UTC ({duration} s, t {start} .. {time}) ==",
                utc(start),
                utc(i64::from(time)),
            )?;
            let rows = std::mem::take(&mut self.rows);
            if rows.is_empty() {
                writeln!(self.out, "(no flows)")?;
            } else {
                let header: Vec<Cell> = COLUMNS
                    .iter()
                    .map(|&(name, r)| Cell {
                        text: name.to_string(),
                        right: r,
                    })
                    .collect();
                let mut widths = vec![0; COLUMNS.len()];
                for cells in std::iter::once(&header).chain(&rows) {
                    for (w, cell) in widths.iter_mut().zip(cells) {
                        *w = (*w).max(cell.text.chars().count());
                    }
                }
                for cells in std::iter::once(&header).chain(&rows) {
                    let mut text = String::new();
                    for (i, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
                        if i > 0 {
                            text.push_str("  ");
                        }
                        if cell.right {
                            text.push_str(&format!("{:>w$}", cell.text));
                        } else {
                            text.push_str(&format!("{:<w$}", cell.text));
                        }
                    }
                    writeln!(self.out, "{}", text.trim_end())?;
                }
            }
            writeln!(self.out)?;
        }
        self.rows.clear();
        for block in std::mem::take(&mut self.blocks) {
            self.out.write_all(block.as_bytes())?;
        }
        Ok(())
    }

    /// Prints whatever is pending and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush()?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn endpoint(address: Option<String>, port: u16, icmp: bool) -> String {
    let address = address.unwrap_or_else(|| "?".into());
    match (icmp, address.contains(':')) {
        (true, _) => address,
        (false, true) => format!("[{address}]:{port}"),
        (false, false) => format!("{address}:{port}"),
    }
}

/// The table lines of one message's alerts, aligned together.
fn alert_lines(message: &Message, alerts: &[Alert]) -> Vec<String> {
    /// The flow columns of one alert: protocol, local, remote, opened by.
    struct FlowText {
        proto: &'static str,
        local: String,
        remote: String,
        opened: &'static str,
    }
    let flows: Vec<Option<FlowText>> = alerts
        .iter()
        .map(|alert| {
            alert.flow().map(|flow| {
                let protocol = flow.protocol();
                let icmp = protocol == Some(Protocol::Icmp);
                FlowText {
                    proto: protocol.map_or("invalid", |p| p.name()),
                    local: endpoint(Some(flow.local_text()), flow.local_port(), icmp),
                    remote: endpoint(Some(flow.remote_text()), flow.remote_port(), icmp),
                    opened: flow.initiator_name().unwrap_or("invalid"),
                }
            })
        })
        .collect();
    let width =
        |text: &dyn Fn(&FlowText) -> usize| flows.iter().flatten().map(text).max().unwrap_or(0);
    // Kind and protocol have fixed widths (their longest names), so that the lines of
    // consecutive messages line up too; the endpoints are aligned within a message.
    let proto_w = width(&|f| f.proto.len()).max("icmp".len());
    let local_w = width(&|f| f.local.chars().count());
    let remote_w = width(&|f| f.remote.chars().count());
    let opened_w = width(&|f| f.opened.len()).max("remote".len());
    let kind_w = "connections_out_of_range".len();
    // The middle part of each line: the flow with its rule, or the connection count.
    let middles: Vec<String> = alerts
        .iter()
        .zip(&flows)
        .map(|(alert, flow)| match (flow, alert.connections()) {
            (Some(f), _) => format!(
                "{:<proto_w$}  {:<local_w$} -> {:<remote_w$}  opened by {:<opened_w$}  rule {}",
                f.proto,
                f.local,
                f.remote,
                f.opened,
                alert.head().rule
            ),
            (None, Some(count)) => format!(
                "active {} (allowed {}..{})",
                count.active, count.min, count.max
            ),
            (None, None) => String::new(),
        })
        .collect();
    let middle_w = middles.iter().map(|m| m.chars().count()).max().unwrap_or(0);
    alerts
        .iter()
        .zip(&middles)
        .map(|(alert, middle)| {
            format!(
                "ALERT {:<kind_w$}  {middle:<middle_w$}  (seq {}, t {})",
                alert.kind().name(),
                message.sequence,
                alert.head().time
            )
        })
        .collect()
}

/// The table block of a baseline event, blank line included.
fn baseline_block(message: &Message, baseline: &Baseline) -> String {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    let ports = |ports: &[u16]| list(ports.iter().map(u16::to_string).collect());
    format!(
        "BASELINE learned {} s from {} UTC (t {}): {}, policy {:#010x}, overflow {}  \
         (seq {}, t {})\n  outbound {}\n  inbound  tcp {}; udp {}\n\n",
        baseline.duration_s,
        utc(i64::from(baseline.started)),
        baseline.started,
        if baseline.applied {
            "applied"
        } else {
            "not applied"
        },
        baseline.policy,
        baseline.overflow,
        message.sequence,
        message.time,
        list(baseline.outbound_cidrs()),
        ports(&baseline.tcp_ports),
        ports(&baseline.udp_ports),
    )
}

/// Rows of cells as text lines indented by two, each column as wide as its widest cell, the
/// first row being the header.
fn aligned(rows: &[Vec<Cell>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for cells in rows {
        for (i, cell) in cells.iter().enumerate() {
            let w = cell.text.chars().count();
            match widths.get_mut(i) {
                Some(width) => *width = (*width).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for cells in rows {
        let mut text = String::from(" ");
        for (cell, &w) in cells.iter().zip(&widths) {
            text.push(' ');
            if cell.right {
                text.push_str(&format!("{:>w$} ", cell.text));
            } else {
                text.push_str(&format!("{:<w$} ", cell.text));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

fn header(names: &[(&str, bool)]) -> Vec<Cell> {
    names
        .iter()
        .map(|&(name, r)| Cell {
            text: name.to_string(),
            right: r,
        })
        .collect()
}

/// The table block of an inventory event, blank line included.
fn inventory_block(message: &Message, inventory: &Inventory) -> String {
    let mut rows = vec![header(&[
        ("kind", false),
        ("ip", true),
        ("local", false),
        ("remote", false),
    ])];
    for socket in &inventory.sockets {
        let (local, remote) = match socket {
            Socket::TcpListening { port, .. } | Socket::UdpBound { port, .. } => {
                (format!("*:{port}"), "-".to_string())
            }
            Socket::TcpEstablished { connection, .. } => {
                (connection.local_endpoint(), connection.remote_endpoint())
            }
        };
        rows.push(vec![
            left(socket.kind().name()),
            right(socket.ip()),
            left(local),
            left(remote),
        ]);
    }
    let mut out = format!(
        "INVENTORY found {}, part {}, {}  (seq {}, t {})\n",
        inventory.found,
        inventory.part,
        if inventory.more {
            "more follows"
        } else {
            "complete"
        },
        message.sequence,
        message.time,
    );
    if inventory.sockets.is_empty() {
        out.push_str("  (no sockets)\n");
    } else {
        out.push_str(&aligned(&rows));
    }
    out.push('\n');
    out
}

/// What a finding is about, as one phrase: `risky_service tcp 23 (cleartext_remote_login)`,
/// `unhooked_ip count 2`, `no_clock`.
fn finding_text(finding: &Finding) -> String {
    let name = finding.kind().name();
    match (finding.service(), finding.count()) {
        (Some(service), _) => format!(
            "{name} {} {} ({})",
            service.protocol().map_or("invalid", |p| p.name()),
            service.port,
            service.reason().map_or("invalid", |r| r.name())
        ),
        (None, Some(count)) => format!("{name} count {count}"),
        (None, None) => name.to_string(),
    }
}

/// The table block of a findings event, blank line included.
fn findings_block(message: &Message, findings: &[Finding]) -> String {
    let mut rows = vec![header(&[
        ("time", false),
        ("state", false),
        ("finding", false),
    ])];
    for finding in findings {
        let head = finding.head();
        rows.push(vec![
            left(format!(
                "{} UTC (t {})",
                utc(i64::from(head.time)),
                head.time
            )),
            left(if head.active { "started" } else { "ended" }),
            left(finding_text(finding)),
        ]);
    }
    format!(
        "FINDINGS  (seq {}, t {})\n{}\n",
        message.sequence,
        message.time,
        aligned(&rows)
    )
}

/// The table block of an audit event, blank line included.
fn audit_block(message: &Message, records: &[AuditRecord]) -> String {
    let mut rows = vec![header(&[
        ("seq", true),
        ("time", true),
        ("category", false),
        ("kind", false),
        ("result", true),
        ("subject", true),
        ("old -> new", false),
    ])];
    for record in records {
        rows.push(vec![
            right(record.sequence),
            right(record.time),
            left(record.category().map_or("invalid", |c| c.name())),
            left(record.kind().map_or("invalid", |k| k.name())),
            right(record.result),
            right(record.subject),
            left(format!("{} -> {}", record.old, record.new)),
        ]);
    }
    format!(
        "AUDIT  (seq {}, t {})\n{}\n",
        message.sequence,
        message.time,
        aligned(&rows)
    )
}

fn flags_text(names: Vec<&str>) -> String {
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
    }
}

fn row<A: AddressText>(
    ip: u8,
    local: Option<&A>,
    flow: &Flow<A>,
    message: &Message,
    part: u16,
) -> Vec<Cell> {
    let protocol = flow.protocol();
    let icmp = protocol == Some(crate::Protocol::Icmp);
    vec![
        right(ip),
        left(protocol.map_or("invalid", |p| p.name())),
        left(endpoint(local.map(|a| a.text()), flow.local_port, icmp)),
        left(endpoint(Some(flow.remote.text()), flow.remote_port, icmp)),
        right(flow.bytes_in),
        right(flow.bytes_out),
        right(flow.packets_in),
        right(flow.packets_out),
        left(flags_text(flow.flags_in().names())),
        left(flags_text(flow.flags_out().names())),
        left(flow.initiator_name().unwrap_or("invalid")),
        right(message.sequence),
        right(part),
    ]
}

/// A scalar or list as plain text.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            if items.is_empty() {
                "-".into()
            } else {
                items.iter().map(plain).collect::<Vec<_>>().join(", ")
            }
        }
        other => other.to_string(),
    }
}

fn block_fields(out: &mut String, fields: &Map<String, Value>, indent: usize) {
    let width = fields.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (key, value) in fields {
        match value {
            Value::Object(inner) => {
                out.push_str(&format!("{:indent$}{key}\n", ""));
                block_fields(out, inner, indent + 2);
            }
            other => {
                out.push_str(&format!("{:indent$}{key:<width$}  {}\n", "", plain(other)));
            }
        }
    }
}

/// A titled block of `key value` lines and a blank line after it.
fn block(title: &str, fields: &Map<String, Value>) -> String {
    let mut out = format!("{title}\n");
    block_fields(&mut out, fields, 2);
    out.push('\n');
    out
}

/// A JSON object line as a block: `{"summary": {...}}` is titled `summary`.
fn json_block(object: &Map<String, Value>) -> String {
    match object.iter().next() {
        Some((key, Value::Object(inner))) if object.len() == 1 => block(key, inner),
        _ => {
            let mut out = String::new();
            block_fields(&mut out, object, 0);
            out.push('\n');
            out
        }
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC, proleptic Gregorian calendar).
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Days since 0000-03-01, in 400-year eras of 146,097 days.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3_600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(4_294_967_295), "2106-02-07 06:28:15");
        assert_eq!(utc(-1), "1969-12-31 23:59:59");
    }

    #[test]
    fn blocks() {
        let value: Value = serde_json::from_str(
            r#"{"summary":{"files":1,"sim":{"in":2},"addresses":["a","b"],"x":[]}}"#,
        )
        .unwrap();
        let Value::Object(object) = value else {
            panic!()
        };
        assert_eq!(
            json_block(&object),
            "summary\n  files      1\n  sim\n    in  2\n  addresses  a, b\n  x          -\n\n"
        );
    }
}
