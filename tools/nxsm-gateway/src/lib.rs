//! # nxsm-gateway
//!
//! The fleet side of nx-security-module: reads the security messages devices publish to an
//! MQTT broker (topic `nxsm/<device id>/v1`, QoS 1), decodes each with the reference decoder
//! ([`nxsm_decode`]) and hands what they say on:
//!
//! - JSON lines: the lines `nxsm-decode --replay` prints (flows, alerts, heartbeats, system
//!   information, baselines), each with the device id first, plus the gateway's own events
//!   (`gap`, `restart`, `decode_error`) and its fleet-side indicator alerts;
//! - IPFIX over UDP ([`ipfix`]): one record per flow direction, or RFC 5103 biflows;
//! - fleet-side indicator matching ([`indicators`]) with feeds too large for a device,
//!   raising alerts in the device's own alert shape.
//!
//! Per device it tracks sequence numbers ([`devices`]): gaps are counted as device-side
//! drops, copies delivered again after a reconnect are dropped. [`Gateway`] does all of this
//! for one message at a time and never touches the network except through its IPFIX
//! exporter; [`mqtt`] connects it to a broker. Every input (topic, payload, feed, command
//! line) is treated as hostile: bounded, counted, never a panic.

use std::io::Write;
use std::time::Instant;

use serde_json::{Map, Value};

use nxsm_decode::replay::{alert_line, message_lines};
use nxsm_decode::{Alert, AlertFlow, AlertHead, Event, Flow, Message};

pub mod devices;
pub mod indicators;
pub mod ipfix;
pub mod latency;
pub mod load;
pub mod mqtt;

use devices::{Devices, Verdict};
use indicators::Indicators;
use ipfix::{flow_records, Exporter, FlowAddress, FlowRecord};

/// Largest payload decoded: the wire format's largest message (`NXSM_MAX_MESSAGE_BYTES` is at
/// most 16384); anything longer is a decode error without being read.
pub const MAX_MESSAGE_BYTES: usize = 16384;

/// The gateway's own counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages received from the broker.
    pub messages: u64,
    /// Messages decoded and processed (duplicates and errors excluded).
    pub processed: u64,
    /// Flow records in processed messages (one per device flow).
    pub records: u64,
    /// Sequence numbers skipped, over every device.
    pub gaps: u64,
    /// Copies dropped.
    pub duplicates: u64,
    /// Restarts seen (a device numbering from 0 again).
    pub restarts: u64,
    /// Payloads that are not a valid message (too long included).
    pub decode_errors: u64,
    /// Topics that are not `nxsm/<id>/v1`.
    pub bad_topics: u64,
    /// Alerts the devices raised.
    pub device_alerts: u64,
    /// Alerts raised here from the feeds.
    pub fleet_alerts: u64,
    /// JSON lines that could not be written.
    pub write_errors: u64,
}

/// Options of a [`Gateway`].
#[derive(Default)]
pub struct Options {
    /// Where the JSON lines go.
    pub json: Option<Box<dyn Write + Send>>,
    /// The IPFIX exporter.
    pub ipfix: Option<Exporter>,
    /// One biflow record per flow instead of one per direction.
    pub biflow: bool,
    /// Feeds to match remote addresses against.
    pub indicators: Indicators,
    /// Most devices tracked.
    pub max_devices: usize,
}

/// Decodes messages and hands them to the outputs.
pub struct Gateway {
    options: Options,
    devices: Devices,
    counters: Counters,
    started: Instant,
    /// When the last interval line was made, and the counters then.
    interval: (Instant, Counters),
}

/// Unix seconds now (0 before 1970, the end of u32 after 2106).
pub fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

fn with_device(device: &str, line: Value) -> Value {
    let mut object = Map::new();
    object.insert("device".into(), device.into());
    if let Value::Object(fields) = line {
        object.extend(fields);
    }
    Value::Object(object)
}

fn indicator_alert<A: FlowAddress + Copy>(
    message: &Message,
    rule: u16,
    local: A,
    flow: &Flow<A>,
    make: fn(A, u16, A, u16, u8, u8) -> AlertFlow,
) -> Alert {
    Alert::Indicator(
        AlertHead {
            time: message.time,
            // No policy blob raised it: 0, as a device without a policy would say.
            policy: 0,
            rule: u32::from(rule),
        },
        make(
            local,
            flow.local_port,
            flow.remote,
            flow.remote_port,
            flow.kind & 3,
            flow.initiator,
        ),
    )
}

impl Gateway {
    /// A gateway with these outputs.
    pub fn new(options: Options) -> Self {
        let max_devices = if options.max_devices == 0 {
            usize::MAX
        } else {
            options.max_devices
        };
        Gateway {
            options,
            devices: Devices::new(max_devices),
            counters: Counters::default(),
            started: Instant::now(),
            interval: (Instant::now(), Counters::default()),
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The devices seen.
    pub fn devices(&self) -> &Devices {
        &self.devices
    }

    /// The IPFIX exporter's counters, when exporting.
    pub fn ipfix_counters(&self) -> Option<ipfix::ExportCounters> {
        self.options.ipfix.as_ref().map(Exporter::counters)
    }

    fn write(&mut self, line: &Value) {
        if let Some(out) = self.options.json.as_mut() {
            if writeln!(out, "{line}").is_err() {
                self.counters.write_errors += 1;
            }
        }
    }

    /// Flushes the JSON output.
    pub fn flush(&mut self) {
        if let Some(out) = self.options.json.as_mut() {
            if out.flush().is_err() {
                self.counters.write_errors += 1;
            }
        }
    }

    /// Processes one message received on `topic`.
    pub fn handle(&mut self, topic: &str, payload: &[u8]) {
        self.counters.messages += 1;
        let Some(device) = devices::device_id(topic) else {
            self.counters.bad_topics += 1;
            return;
        };
        let device = device.to_string();
        let decoded = if payload.len() > MAX_MESSAGE_BYTES {
            Err(format!(
                "{} bytes, more than {MAX_MESSAGE_BYTES}",
                payload.len()
            ))
        } else {
            nxsm_decode::decode(payload).map_err(|e| e.to_string())
        };
        let message = match decoded {
            Ok(message) => message,
            Err(error) => {
                self.counters.decode_errors += 1;
                let line = serde_json::json!({
                    "device": device, "t": unix_now(), "event": "decode_error",
                    "error": error, "bytes": payload.len(),
                });
                self.write(&line);
                return;
            }
        };
        let verdict = self.devices.get(&device).map(|d| {
            let verdict = d.track(message.sequence, message.time, payload);
            if let (false, Some(hb)) = (verdict == Verdict::Duplicate, message.heartbeat()) {
                d.heartbeat = Some((message.time, hb.clone()));
            }
            verdict
        });
        match verdict {
            Some(Verdict::Duplicate) => {
                self.counters.duplicates += 1;
                return;
            }
            Some(Verdict::Gap(missing)) => {
                self.counters.gaps += u64::from(missing);
                let line = serde_json::json!({
                    "device": device, "t": message.time, "event": "gap",
                    "missing": missing, "seq": message.sequence,
                });
                self.write(&line);
            }
            Some(Verdict::Late) => self.counters.gaps = self.counters.gaps.saturating_sub(1),
            Some(Verdict::Restart) => {
                self.counters.restarts += 1;
                let line = serde_json::json!({
                    "device": device, "t": message.time, "event": "restart",
                    "seq": message.sequence,
                });
                self.write(&line);
            }
            Some(Verdict::InOrder) | None => {}
        }
        self.counters.processed += 1;
        if let Some(alerts) = message.alerts() {
            self.counters.device_alerts += alerts.len() as u64;
        }
        if self.options.json.is_some() {
            for line in message_lines(&message) {
                self.write(&with_device(&device, line));
            }
        }
        let mut records: Vec<FlowRecord> = Vec::new();
        let mut fleet_alerts: Vec<Alert> = Vec::new();
        let biflow = self.options.biflow;
        let exporting = self.options.ipfix.is_some();
        for event in &message.events {
            let Event::NetworkActivity(window) = event else {
                continue;
            };
            let count = window.v4_flows.len() + window.v6_flows.len();
            self.counters.records += count as u64;
            for flow in &window.v4_flows {
                // A validated message's local index is always in range.
                let Some(&local) = window.v4_locals.get(usize::from(flow.local)) else {
                    continue;
                };
                if exporting {
                    records.extend(flow_records(
                        local,
                        flow,
                        message.time,
                        window.duration_s,
                        biflow,
                    ));
                }
                if let Some(rule) = self.options.indicators.v4(flow.remote) {
                    fleet_alerts.push(indicator_alert(
                        &message,
                        rule,
                        local,
                        flow,
                        |l, lp, r, rp, p, i| AlertFlow::V4 {
                            local: l,
                            local_port: lp,
                            remote: r,
                            remote_port: rp,
                            protocol: p,
                            initiator: i,
                        },
                    ));
                }
            }
            for flow in &window.v6_flows {
                let Some(&local) = window.v6_locals.get(usize::from(flow.local)) else {
                    continue;
                };
                if exporting {
                    records.extend(flow_records(
                        local,
                        flow,
                        message.time,
                        window.duration_s,
                        biflow,
                    ));
                }
                if let Some(rule) = self.options.indicators.v6(flow.remote) {
                    fleet_alerts.push(indicator_alert(
                        &message,
                        rule,
                        local,
                        flow,
                        |l, lp, r, rp, p, i| AlertFlow::V6 {
                            local: l,
                            local_port: lp,
                            remote: r,
                            remote_port: rp,
                            protocol: p,
                            initiator: i,
                        },
                    ));
                }
            }
        }
        self.counters.fleet_alerts += fleet_alerts.len() as u64;
        for alert in &fleet_alerts {
            let mut line = with_device(&device, alert_line(&message, alert));
            if let Value::Object(fields) = &mut line {
                fields.insert("origin".into(), "gateway".into());
            }
            self.write(&line);
        }
        if let Some(exporter) = self.options.ipfix.as_mut() {
            exporter.export(&records, unix_now());
        }
    }

    /// Writes one `device` line per device (sorted by id): its counters and the time of
    /// its last heartbeat with that heartbeat's drop counters, then flushes. For the end of
    /// a run.
    pub fn finish(&mut self) {
        if self.options.json.is_none() {
            return;
        }
        let mut devices: Vec<_> = self.devices.iter().collect();
        devices.sort_unstable_by_key(|(id, _)| id.as_str());
        let lines: Vec<Value> = devices
            .into_iter()
            .map(|(id, d)| {
                let heartbeat = d.heartbeat.as_ref().map(|(t, hb)| {
                    serde_json::json!({
                        "t": t, "uptime_s": hb.uptime_s,
                        "messages_dropped": hb.messages_dropped,
                        "ring_dropped": hb.ring_dropped,
                        "table_full_dropped": hb.table_full_dropped,
                    })
                });
                serde_json::json!({
                    "device": id, "t": unix_now(), "event": "device",
                    "messages": d.messages, "gaps": d.gaps, "duplicates": d.duplicates,
                    "late": d.late, "restarts": d.restarts, "last_heartbeat": heartbeat,
                })
            })
            .collect();
        for line in &lines {
            self.write(line);
        }
        self.flush();
    }

    /// Sends the IPFIX templates again if their interval has passed (call it when idle).
    pub fn tick(&mut self) {
        if let Some(exporter) = self.options.ipfix.as_mut() {
            exporter.refresh_templates(unix_now());
        }
    }

    /// One line of counters: `key=value` pairs (totals since the start). The rates are per
    /// second over the interval since the previous interval line when `interval` is true
    /// (the periodic lines), over the whole run otherwise (the final line).
    pub fn stats_line(&mut self, interval: bool) -> String {
        let now = Instant::now();
        let (since, base) = if interval {
            std::mem::replace(&mut self.interval, (now, self.counters))
        } else {
            (self.started, Counters::default())
        };
        let c = &self.counters;
        let span = now.duration_since(since).as_secs_f64().max(1e-3);
        let mut line = format!(
            "elapsed_s={:.1} messages={} messages_per_s={:.1} processed={} records={} records_per_s={:.1} devices={} gaps={} duplicates={} restarts={} decode_errors={} bad_topics={} device_alerts={} fleet_alerts={} untracked={} write_errors={}",
            now.duration_since(self.started).as_secs_f64(),
            c.messages,
            (c.messages - base.messages) as f64 / span,
            c.processed,
            c.records,
            (c.records - base.records) as f64 / span,
            self.devices.len(),
            c.gaps,
            c.duplicates,
            c.restarts,
            c.decode_errors,
            c.bad_topics,
            c.device_alerts,
            c.fleet_alerts,
            self.devices.untracked,
            c.write_errors,
        );
        if let Some(x) = self.ipfix_counters() {
            line.push_str(&format!(
                " ipfix_messages={} ipfix_records={} ipfix_templates={} ipfix_send_errors={}",
                x.messages, x.records, x.template_messages, x.send_errors
            ));
        }
        line
    }
}

#[cfg(test)]
mod tests;
