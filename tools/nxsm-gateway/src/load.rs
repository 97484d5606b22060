//! `nxsm-gateway load`: many devices publishing at once, for load tests of a broker and
//! the gateways behind it.
//!
//! Each device is a file of hex lines (one message per line, as `nxsm_replay` prints them)
//! named `<device id>.hex`. The devices are spread over a few MQTT connections (device `i`
//! on connection `i % connections`, so one device's messages keep their order); each
//! connection publishes its devices' messages round by round (the first message of each,
//! then the second, ...), with QoS 1, every message stamped with its publish time in the
//! MQTT 5 user property [`crate::latency::SENT_PROPERTY`]. Stopping early (a duration)
//! therefore leaves every device with a prefix of its messages, never a hole.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Event, MqttOptions};

use crate::latency::{now_ns, SENT_PROPERTY};

/// Most device files read.
pub const MAX_DEVICES: usize = 1 << 20;
/// Largest device file read.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Most messages over all devices (they are held in memory).
pub const MAX_MESSAGES: usize = 1 << 24;
/// Most connections.
pub const MAX_CONNECTIONS: usize = 1024;

/// One simulated device.
#[derive(Clone, Debug)]
pub struct Device {
    /// Its id (the topic is `nxsm/<id>/v1`).
    pub id: String,
    /// Its messages, in the order it sent them.
    pub messages: Vec<Vec<u8>>,
}

/// Parses hex lines (`{` lines and `#` comments skipped) into messages.
pub fn parse_hex(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut messages = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with('{') {
            continue;
        }
        let bytes = nxsm_decode::hex::parse_line(line.as_bytes())
            .map_err(|e| format!("line {}: {e}", number + 1))?;
        if !bytes.is_empty() {
            messages.push(bytes);
        }
    }
    Ok(messages)
}

/// Reads every `<id>.hex` of `dir`, sorted by id.
pub fn read_devices(dir: &Path) -> Result<Vec<Device>, String> {
    let show = dir.display();
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| format!("{show}: {e}"))? {
        let entry = entry.map_err(|e| format!("{show}: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".hex") {
            if names.len() == MAX_DEVICES {
                return Err(format!("{show}: more than {MAX_DEVICES} devices"));
            }
            names.push(id.to_string());
        }
    }
    names.sort_unstable();
    let mut devices = Vec::with_capacity(names.len());
    let mut total = 0usize;
    for id in names {
        if crate::devices::device_id(&format!("nxsm/{id}/v1")).is_none() {
            return Err(format!("{show}/{id}.hex: {id:?} is not a device id"));
        }
        let path = dir.join(format!("{id}.hex"));
        let size = fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if size.len() > MAX_FILE_BYTES {
            return Err(format!("{}: over {MAX_FILE_BYTES} bytes", path.display()));
        }
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let messages = parse_hex(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        total += messages.len();
        if total > MAX_MESSAGES {
            return Err(format!("more than {MAX_MESSAGES} messages"));
        }
        devices.push(Device { id, messages });
    }
    Ok(devices)
}

/// How to publish.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// MQTT connections (each with its share of the devices).
    pub connections: usize,
    /// Messages per second over all connections; 0 as fast as the broker takes them.
    pub rate: f64,
    /// Stop publishing after this long.
    pub duration: Option<Duration>,
    /// How long to wait for the last acknowledgements.
    pub ack_timeout: Duration,
}

/// What a load run did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    /// Messages handed to the client.
    pub published: u64,
    /// Messages the broker acknowledged.
    pub acked: u64,
    /// Connection errors.
    pub errors: u64,
    /// From the first publish to the last acknowledgement.
    pub elapsed: Duration,
}

impl Report {
    /// The line `nxsm-gateway load` prints.
    pub fn line(&self, devices: usize) -> String {
        let s = self.elapsed.as_secs_f64().max(1e-3);
        format!(
            "devices={devices} published={} acked={} errors={} elapsed_s={:.2} messages_per_s={:.1}",
            self.published,
            self.acked,
            self.errors,
            s,
            self.acked as f64 / s
        )
    }
}

fn connection(
    options: MqttOptions,
    devices: Vec<(String, Vec<Vec<u8>>)>,
    rate: f64,
    stop_at: Option<Instant>,
    ack_timeout: Duration,
    errors: Arc<AtomicU64>,
) -> (u64, u64) {
    let (client, mut events) = Client::new(options, 256);
    let acked = Arc::new(AtomicU64::new(0));
    let thread_acked = Arc::clone(&acked);
    let thread_errors = Arc::clone(&errors);
    let done = Arc::new(AtomicBool::new(false));
    let thread_done = Arc::clone(&done);
    let reader = thread::spawn(move || {
        for event in events.iter() {
            match event {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    thread_acked.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(e) => {
                    thread_errors.fetch_add(1, Ordering::Relaxed);
                    // A deliberate disconnect ends here too; after the run, a broker that
                    // went away is not waited for.
                    if matches!(e, rumqttc::v5::ConnectionError::RequestsDone)
                        || thread_done.load(Ordering::Relaxed)
                    {
                        break;
                    }
                    thread::sleep(Duration::from_millis(200));
                }
            }
        }
    });
    let topics: Vec<String> = devices
        .iter()
        .map(|(id, _)| format!("nxsm/{id}/v1"))
        .collect();
    let rounds = devices.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let start = Instant::now();
    let mut published = 0u64;
    'rounds: for round in 0..rounds {
        for ((_, messages), topic) in devices.iter().zip(&topics) {
            let Some(payload) = messages.get(round) else {
                continue;
            };
            if stop_at.is_some_and(|t| Instant::now() >= t) {
                break 'rounds;
            }
            if rate > 0.0 {
                // try_: a rate too small for a Duration simply means no further message.
                let due = Duration::try_from_secs_f64(published as f64 / rate)
                    .ok()
                    .and_then(|offset| start.checked_add(offset));
                let Some(due) = due else {
                    break 'rounds;
                };
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    thread::sleep(wait);
                }
            }
            // Without a blocking call, a broker that is gone cannot hang the run: the
            // client's queue stays full, and after ack_timeout this connection gives up.
            let give_up = Instant::now() + ack_timeout;
            loop {
                let properties = PublishProperties {
                    user_properties: vec![(SENT_PROPERTY.to_string(), now_ns().to_string())],
                    ..PublishProperties::default()
                };
                let queued = client.try_publish_with_properties(
                    topic.as_str(),
                    QoS::AtLeastOnce,
                    false,
                    payload.clone(),
                    properties,
                );
                if queued.is_ok() {
                    break;
                }
                if Instant::now() >= give_up {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break 'rounds;
                }
                thread::sleep(Duration::from_millis(1));
            }
            published += 1;
        }
    }
    let deadline = Instant::now() + ack_timeout;
    while acked.load(Ordering::Relaxed) < published && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    done.store(true, Ordering::Relaxed);
    let _ = client.try_disconnect();
    let _ = reader.join();
    (published, acked.load(Ordering::Relaxed))
}

/// Publishes the devices' messages as `plan` says; `options(i)` gives connection `i`'s
/// MQTT options (each needs its own client id).
pub fn run(
    options: impl Fn(usize) -> Result<MqttOptions, String>,
    devices: &[Device],
    plan: Plan,
) -> Result<Report, String> {
    let connections = plan
        .connections
        .clamp(1, MAX_CONNECTIONS)
        .min(devices.len().max(1));
    let mut shares: Vec<Vec<(String, Vec<Vec<u8>>)>> = vec![Vec::new(); connections];
    for (index, device) in devices.iter().enumerate() {
        shares[index % connections].push((device.id.clone(), device.messages.clone()));
    }
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let stop_at = plan.duration.map(|d| start + d);
    let total: usize = devices.iter().map(|d| d.messages.len()).sum();
    let mut threads = Vec::new();
    for (index, share) in shares.into_iter().enumerate() {
        // Each connection's share of the rate is its share of the messages, so all of them
        // finish together and the total rate holds to the end.
        let own: usize = share.iter().map(|(_, m)| m.len()).sum();
        let rate = plan.rate * own as f64 / total.max(1) as f64;
        let options = options(index)?;
        let errors = Arc::clone(&errors);
        let timeout = plan.ack_timeout;
        threads.push(thread::spawn(move || {
            connection(options, share, rate, stop_at, timeout, errors)
        }));
    }
    let mut report = Report::default();
    for thread in threads {
        let (published, acked) = thread.join().map_err(|_| "a publisher thread failed")?;
        report.published += published;
        report.acked += acked;
    }
    report.elapsed = start.elapsed();
    report.errors = errors.load(Ordering::Relaxed);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_files() {
        let m = parse_hex("# c\n{\"summary\": {}}\n0a0b\n\n  ff\n").unwrap();
        assert_eq!(m, vec![vec![10, 11], vec![255]]);
        assert!(parse_hex("0g\n").is_err());
        let dir = std::env::temp_dir().join(format!("nxsm-load-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("b.hex"), "01\n02\n").unwrap();
        fs::write(dir.join("a.hex"), "03\n").unwrap();
        fs::write(dir.join("notes.txt"), "x").unwrap();
        let devices = read_devices(&dir).unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(
            (devices[0].id.as_str(), devices[1].messages.len()),
            ("a", 2)
        );
        fs::write(dir.join("c+d.hex"), "01\n").unwrap();
        assert!(read_devices(&dir).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
