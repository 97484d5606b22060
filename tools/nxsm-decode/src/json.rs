//! The readable JSON view of a message.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{json, Map, Value};

use crate::{
    version_text, Alert, AuditRecord, Baseline, Connection, Event, Finding, Flow, Heartbeat,
    Inventory, Message, NetworkActivity, Socket, SystemInformation,
};

/// A message as JSON: addresses as text, protocols and flags by name, the window's start and
/// end, local addresses resolved, the library versions as `"major.minor.patch"`.
///
/// Works on any [`Message`], validated or not: a local index past the end shows as `null`,
/// protocol value 3 as `"invalid"`, an unknown reason, category or audit kind as
/// `"invalid"`.
pub fn to_json(message: &Message) -> Value {
    json!({
        "format": message.format,
        "module": message.module,
        "module_version": version_text(message.module_version),
        "sequence": message.sequence,
        "time": message.time,
        "events": message
            .events
            .iter()
            .map(|event| event_json(message.time, event))
            .collect::<Vec<_>>(),
    })
}

/// One event as JSON, with `"event"` naming its kind first; `time` is the message's time.
pub fn event_json(time: u32, event: &Event) -> Value {
    let mut object = Map::new();
    object.insert("event".into(), json!(event.kind().name()));
    let body = match event {
        Event::NetworkActivity(window) => network_json(time, window),
        Event::SystemInformation(si) => system_json(si),
        Event::Heartbeat(hb) => heartbeat_json(hb),
        Event::Alerts(alerts) => json!({
            "alerts": alerts.iter().map(alert_json).collect::<Vec<_>>(),
        }),
        Event::Baseline(baseline) => baseline_json(baseline),
        Event::Inventory(inventory) => inventory_json(inventory),
        Event::Findings(findings) => json!({
            "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
        }),
        Event::Audit(records) => json!({
            "records": records.iter().map(audit_json).collect::<Vec<_>>(),
        }),
    };
    if let Value::Object(fields) = body {
        object.extend(fields);
    }
    Value::Object(object)
}

fn network_json(time: u32, window: &NetworkActivity) -> Value {
    let v4 = window
        .v4_flows
        .iter()
        .map(|f| flow_json(4, window.v4_locals.get(usize::from(f.local)), f));
    let v6 = window
        .v6_flows
        .iter()
        .map(|f| flow_json(6, window.v6_locals.get(usize::from(f.local)), f));
    json!({
        "window": {
            "start": i64::from(time) - i64::from(window.duration_s),
            "end": time,
            "duration_s": window.duration_s,
        },
        "part": window.part,
        "more": window.more,
        "flows": v4.chain(v6).collect::<Vec<_>>(),
    })
}

/// An address as text.
pub trait AddressText {
    /// `192.168.1.10`, `2001:db8::2`.
    fn text(&self) -> String;
}

impl AddressText for [u8; 4] {
    fn text(&self) -> String {
        Ipv4Addr::from(*self).to_string()
    }
}

impl AddressText for [u8; 16] {
    fn text(&self) -> String {
        Ipv6Addr::from(*self).to_string()
    }
}

/// One flow as JSON: `ip` (4 or 6), `proto`, `local` (the resolved address, `null` when the
/// index is out of range), `local_port`, `remote`, `remote_port`, the four counters and
/// `tcp_flags_in` / `tcp_flags_out` as lists of names.
pub fn flow_json<A: AddressText>(ip: u8, local: Option<&A>, flow: &Flow<A>) -> Value {
    json!({
        "ip": ip,
        "proto": flow.protocol().map_or("invalid", |p| p.name()),
        "local": local.map(AddressText::text),
        "local_port": flow.local_port,
        "remote": flow.remote.text(),
        "remote_port": flow.remote_port,
        "bytes_in": flow.bytes_in,
        "bytes_out": flow.bytes_out,
        "packets_in": flow.packets_in,
        "packets_out": flow.packets_out,
        "tcp_flags_in": flow.flags_in().names(),
        "tcp_flags_out": flow.flags_out().names(),
        "initiator": flow.initiator_name(),
    })
}

/// One alert as JSON: `kind` (`indicator`, `outbound_not_allowed`,
/// `inbound_port_not_allowed`, `connections_out_of_range`), `time`, `policy` (`"0x%08x"`),
/// `rule`, then for a flow `ip` (4 or 6), `proto`, `local`, `local_port`, `remote`,
/// `remote_port`, `initiator` (`"local"` or `"remote"`), and for a connection count `active`,
/// `min`, `max`.
///
/// Works on any [`Alert`], validated or not: a protocol of 3 or more shows as `"invalid"`, an
/// initiator other than 0 and 1 as `null`.
pub fn alert_json(alert: &Alert) -> Value {
    let head = alert.head();
    let mut object = Map::new();
    object.insert("kind".into(), json!(alert.kind().name()));
    object.insert("time".into(), json!(head.time));
    object.insert("policy".into(), json!(format!("{:#010x}", head.policy)));
    object.insert("rule".into(), json!(head.rule));
    match alert {
        Alert::Indicator(_, flow)
        | Alert::OutboundNotAllowed(_, flow)
        | Alert::InboundPortNotAllowed(_, flow) => {
            object.insert("ip".into(), json!(flow.ip()));
            object.insert(
                "proto".into(),
                json!(flow.protocol().map_or("invalid", |p| p.name())),
            );
            object.insert("local".into(), json!(flow.local_text()));
            object.insert("local_port".into(), json!(flow.local_port()));
            object.insert("remote".into(), json!(flow.remote_text()));
            object.insert("remote_port".into(), json!(flow.remote_port()));
            object.insert("initiator".into(), json!(flow.initiator_name()));
        }
        Alert::ConnectionsOutOfRange(_, count) => {
            object.insert("active".into(), json!(count.active));
            object.insert("min".into(), json!(count.min));
            object.insert("max".into(), json!(count.max));
        }
    }
    Value::Object(object)
}

/// A baseline's fields as JSON (without `"event"`): `started`, `duration_s`, `end`
/// (`started + duration_s`), `applied`, `policy` (`"0x%08x"`), `overflow`, `outbound` (the
/// networks as CIDR text, IPv4 /24 first, then IPv6 /64) and `inbound` (`{"tcp": [...],
/// "udp": [...]}`): the allow lists `nxsm-policy --from-baseline` writes.
pub fn baseline_json(baseline: &Baseline) -> Value {
    json!({
        "started": baseline.started,
        "duration_s": baseline.duration_s,
        "end": baseline.end(),
        "applied": baseline.applied,
        "policy": format!("{:#010x}", baseline.policy),
        "overflow": baseline.overflow,
        "outbound": baseline.outbound_cidrs(),
        "inbound": {
            "tcp": baseline.tcp_ports,
            "udp": baseline.udp_ports,
        },
    })
}

/// An inventory's fields as JSON (without `"event"`): `found`, `part`, `more`, `sockets`
/// (each as [`socket_json`] gives it).
pub fn inventory_json(inventory: &Inventory) -> Value {
    json!({
        "found": inventory.found,
        "part": inventory.part,
        "more": inventory.more,
        "sockets": inventory.sockets.iter().map(socket_json).collect::<Vec<_>>(),
    })
}

/// One socket as JSON: `kind` (`tcp_listening`, `udp_bound`, `tcp_established`), `ip` (the
/// IP instance's index), then `port`, or for a connection `local`, `local_port`, `remote`,
/// `remote_port` (addresses as text).
pub fn socket_json(socket: &Socket) -> Value {
    match socket {
        Socket::TcpListening { ip, port } | Socket::UdpBound { ip, port } => json!({
            "kind": socket.kind().name(),
            "ip": ip,
            "port": port,
        }),
        Socket::TcpEstablished { ip, connection } => json!({
            "kind": socket.kind().name(),
            "ip": ip,
            "local": connection.local_text(),
            "local_port": connection.local_port(),
            "remote": connection.remote_text(),
            "remote_port": connection.remote_port(),
        }),
    }
}

/// One finding as JSON: `finding` (`risky_service`, `unhooked_ip`, `hook_replaced`,
/// `network_activity_off`, `no_clock`), `active`, `time`, then for a risky service
/// `protocol` (`tcp`, `udp`), `port` and `reason` (`cleartext_remote_login`, ...), and for
/// unhooked IPs and replaced hooks `count`.
///
/// Works on any [`Finding`], validated or not: an invalid protocol or unknown reason shows
/// as `"invalid"`.
pub fn finding_json(finding: &Finding) -> Value {
    let head = finding.head();
    let mut object = Map::new();
    object.insert("finding".into(), json!(finding.kind().name()));
    object.insert("active".into(), json!(head.active));
    object.insert("time".into(), json!(head.time));
    if let Some(service) = finding.service() {
        object.insert(
            "protocol".into(),
            json!(service.protocol().map_or("invalid", |p| p.name())),
        );
        object.insert("port".into(), json!(service.port));
        object.insert(
            "reason".into(),
            json!(service.reason().map_or("invalid", |r| r.name())),
        );
    }
    if let Some(count) = finding.count() {
        object.insert("count".into(), json!(count));
    }
    Value::Object(object)
}

/// One audit record as JSON: `sequence`, `time`, `category` (`control_system`,
/// `configuration`, `request_error`, `audit_log`), `kind` (`started`, `policy_loaded`, ...),
/// `result`, `subject`, `old`, `new`.
///
/// Works on any [`AuditRecord`], validated or not: an invalid category or unknown kind shows
/// as `"invalid"`.
pub fn audit_json(record: &AuditRecord) -> Value {
    json!({
        "sequence": record.sequence,
        "time": record.time,
        "category": record.category().map_or("invalid", |c| c.name()),
        "kind": record.kind().map_or("invalid", |k| k.name()),
        "result": record.result,
        "subject": record.subject,
        "old": record.old,
        "new": record.new,
    })
}

impl Connection {
    /// The device-side endpoint as text: `192.0.2.1:502`, `[2001:db8::1]:443`.
    pub fn local_endpoint(&self) -> String {
        endpoint_text(&self.local_text(), self.local_port())
    }

    /// The peer endpoint as text.
    pub fn remote_endpoint(&self) -> String {
        endpoint_text(&self.remote_text(), self.remote_port())
    }
}

fn endpoint_text(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

fn triple(v: [u8; 3]) -> String {
    format!("{}.{}.{}", v[0], v[1], v[2])
}

fn system_json(si: &SystemInformation) -> Value {
    let collectors: Vec<&str> = [
        "network_activity",
        "system_information",
        "heartbeat",
        "inventory",
    ]
    .into_iter()
    .enumerate()
    .filter(|(bit, _)| si.collectors >> bit & 1 != 0)
    .map(|(_, name)| name)
    .collect();
    let capture_mode = match si.capture_mode {
        0 => json!("unicast-only"),
        1 => json!("ip-input"),
        other => json!(other),
    };
    json!({
        "threadx": triple(si.threadx),
        "netx": triple(si.netx),
        "module_version": version_text(si.module_version),
        "max_flows_v4": si.max_flows_v4,
        "max_flows_v6": si.max_flows_v6,
        "ring_slots": si.ring_slots,
        "outbox_bytes": si.outbox_bytes,
        "max_message_bytes": si.max_message_bytes,
        "intervals_s": {
            "high": si.intervals_s[0],
            "medium": si.intervals_s[1],
            "low": si.intervals_s[2],
        },
        "collectors": collectors,
        "capture_mode": capture_mode,
    })
}

fn heartbeat_json(hb: &Heartbeat) -> Value {
    json!({
        "uptime_s": hb.uptime_s,
        "packets_seen": hb.packets_seen,
        "packets_counted": hb.packets_counted,
        "malformed": hb.malformed,
        "ignored": hb.ignored,
        "ring_dropped": hb.ring_dropped,
        "table_full_dropped": hb.table_full_dropped,
        "messages_sent": hb.messages_sent,
        "messages_failed": hb.messages_failed,
        "messages_dropped": hb.messages_dropped,
        "outbox_messages": hb.outbox_messages,
        "outbox_used_bytes": hb.outbox_used_bytes,
        "outbox_peak_bytes": hb.outbox_peak_bytes,
        "clock_unavailable": hb.clock_unavailable,
        "clock_steps_back": hb.clock_steps_back,
        "collections_waited": hb.collections_waited,
        "alerts_sent": hb.alerts_sent,
        "alerts_suppressed": hb.alerts_suppressed,
        "packets_blocked": hb.packets_blocked,
    })
}
