//! The broker side: MQTT 5 connection options (TLS, credentials), the subscriber that feeds
//! a [`crate::Gateway`], and the publisher behind `nxsm-gateway publish`.
//!
//! The client is rumqttc's MQTT 5 client. Its connection runs on a thread of its own
//! (it reconnects by itself when polled again after an error); received messages reach
//! the caller through a bounded channel, so a slow gateway slows the reading instead of
//! growing memory.

use std::io::BufReader;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::v5::{Packet, SubscribeReasonCode};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Connection, Event, MqttOptions};
use rumqttc::{TlsConfiguration, Transport};

/// Largest MQTT packet the broker may send us (told to it in CONNECT; it drops larger
/// ones for this client). Above [`crate::MAX_MESSAGE_BYTES`], so a message too long for
/// the wire format still arrives and is counted as a decode error.
pub const MAX_PACKET: u32 = 64 * 1024;
/// Received messages waiting for the gateway.
pub const QUEUE: usize = 1024;

/// Where and how to connect.
#[derive(Clone, Debug, Default)]
pub struct Broker {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (`mqtts://` or `--tls`).
    pub tls: bool,
    /// PEM file of the CA certificates to trust (else the system's).
    pub ca: Option<String>,
    /// PEM files of a client certificate chain and its key.
    pub client_cert: Option<(String, String)>,
    /// User name and password.
    pub credentials: Option<(String, String)>,
}

/// Parses `mqtt://HOST[:PORT]` (default 1883) or `mqtts://HOST[:PORT]` (TLS, default
/// 8883); an IPv6 host is bracketed.
pub fn parse_url(url: &str) -> Result<Broker, String> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else {
        return Err(format!(
            "{url:?}: give mqtt://HOST:PORT or mqtts://HOST:PORT"
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{url:?}: unclosed ["))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("{url:?}: bad port"))?,
            ),
        };
        (host, port)
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("{url:?}: {p:?} is not a port"))?,
    };
    if host.is_empty() || host.len() > 253 || host.contains(['/', '@', ' ']) {
        return Err(format!("{url:?}: bad host"));
    }
    Ok(Broker {
        host: host.to_string(),
        port,
        tls,
        ..Broker::default()
    })
}

fn read_pem(path: &str) -> Result<Vec<u8>, String> {
    // Certificates and keys are small; a bound keeps a wrong path (a disk image...) cheap.
    const MAX: u64 = 1 << 20;
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{path}: {e}"))?
        .len();
    if size > MAX {
        return Err(format!("{path}: larger than {MAX} bytes"));
    }
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

fn tls_config(broker: &Broker) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &broker.ca {
        Some(path) => {
            let pem = read_pem(path)?;
            for cert in rustls_pemfile::certs(&mut BufReader::new(&pem[..])) {
                let cert = cert.map_err(|e| format!("{path}: {e}"))?;
                roots.add(cert).map_err(|e| format!("{path}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("{path}: no certificate"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A system store may hold certificates rustls cannot use: skip them.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("no system CA certificates: give --ca FILE".into());
            }
        }
    }
    // ring, not aws-lc-rs: no cmake/C build of aws-lc. rustls 0.23.48 marks it deprecated
    // because it has no post-quantum key exchange; classic ECDHE is what MQTT brokers offer.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    match &broker.client_cert {
        None => Ok(builder.with_no_client_auth()),
        Some((cert_path, key_path)) => {
            let pem = read_pem(cert_path)?;
            let chain = rustls_pemfile::certs(&mut BufReader::new(&pem[..]))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{cert_path}: {e}"))?;
            let pem = read_pem(key_path)?;
            let key = rustls_pemfile::private_key(&mut BufReader::new(&pem[..]))
                .map_err(|e| format!("{key_path}: {e}"))?
                .ok_or_else(|| format!("{key_path}: no private key"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("{cert_path}: {e}"))
        }
    }
}

/// MQTT 5 options for `broker` with a client id starting with `prefix` (made unique with
/// the process id and the time, as brokers close an older session with the same id).
pub fn options(broker: &Broker, prefix: &str) -> Result<MqttOptions, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let id = format!("{prefix}-{}-{nanos:x}", std::process::id());
    let mut options = MqttOptions::new(id, broker.host.clone(), broker.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_start(true);
    options.set_max_packet_size(Some(MAX_PACKET));
    if let Some((user, password)) = &broker.credentials {
        options.set_credentials(user.clone(), password.clone());
    }
    if broker.tls {
        let config = tls_config(broker)?;
        options.set_transport(Transport::Tls(TlsConfiguration::Rustls(Arc::new(config))));
    }
    Ok(options)
}

/// The topic filter a gateway subscribes to: `nxsm/+/v1`, or `$share/GROUP/nxsm/+/v1`.
pub fn filter(share: Option<&str>) -> Result<String, String> {
    match share {
        None => Ok("nxsm/+/v1".into()),
        Some(group)
            if !group.is_empty()
                && group.len() <= 64
                && !group.contains(['/', '+', '#'])
                && !group.chars().any(char::is_control) =>
        {
            Ok(format!("$share/{group}/nxsm/+/v1"))
        }
        Some(group) => Err(format!(
            "share group {group:?}: 1 to 64 characters, no '/', '+', '#'"
        )),
    }
}

/// What the subscriber thread hands over.
#[derive(Debug)]
pub enum Incoming {
    /// A message: topic, payload and the publish time its publisher stamped in it
    /// ([`crate::latency::SENT_PROPERTY`], unix ns), if any.
    Message(String, Vec<u8>, Option<u64>),
    /// A connection error (it reconnects by itself).
    Error(String),
    /// The broker accepted the subscription (on every connection).
    Subscribed,
    /// The broker refused the subscription.
    Refused(String),
}

/// A running subscription.
pub struct Subscriber {
    client: Client,
    receiver: Receiver<Incoming>,
    thread: Option<JoinHandle<()>>,
}

fn drive(mut connection: Connection, client: Client, filter: String, tx: SyncSender<Incoming>) {
    for event in connection.iter() {
        let sent = match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                // A clean session has no subscription: subscribe on every connection.
                if client
                    .try_subscribe(filter.clone(), QoS::AtLeastOnce)
                    .is_err()
                {
                    tx.send(Incoming::Error("cannot queue the subscription".into()))
                } else {
                    Ok(())
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let refused = ack
                    .return_codes
                    .iter()
                    .any(|c| !matches!(c, SubscribeReasonCode::Success(_)));
                if refused {
                    tx.send(Incoming::Refused(format!(
                        "{filter}: {:?}",
                        ack.return_codes
                    )))
                } else {
                    tx.send(Incoming::Subscribed)
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let topic = String::from_utf8_lossy(&p.topic).into_owned();
                let sent = p.properties.as_ref().and_then(|props| {
                    props
                        .user_properties
                        .iter()
                        .find(|(k, _)| k == crate::latency::SENT_PROPERTY)
                        .and_then(|(_, v)| crate::latency::parse_sent(v))
                });
                tx.send(Incoming::Message(topic, p.payload.to_vec(), sent))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                let sent = tx.send(Incoming::Error(e.to_string()));
                // Polling again reconnects: wait a little so a down broker is not hammered.
                thread::sleep(Duration::from_secs(1));
                sent
            }
        };
        if sent.is_err() {
            break; // the gateway is gone
        }
    }
}

impl Subscriber {
    /// Connects and subscribes to `filter` with QoS 1.
    pub fn start(options: MqttOptions, filter: String) -> Self {
        let (client, connection) = Client::new(options, 64);
        let (tx, receiver) = mpsc::sync_channel(QUEUE);
        let thread_client = client.clone();
        let thread = thread::spawn(move || drive(connection, thread_client, filter, tx));
        Subscriber {
            client,
            receiver,
            thread: Some(thread),
        }
    }

    /// The next message or error, `None` after `timeout` without one.
    pub fn next(&self, timeout: Duration) -> Option<Incoming> {
        match self.receiver.recv_timeout(timeout) {
            Ok(incoming) => Some(incoming),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                Some(Incoming::Error("connection thread ended".into()))
            }
        }
    }

    /// Disconnects.
    pub fn stop(mut self) {
        let _ = self.client.try_disconnect();
        drop(self.receiver);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Publishes `payloads` to `topic` with QoS 1 and waits until the broker acknowledged each
/// (at most `timeout`). Returns how many were acknowledged.
pub fn publish_all(
    options: MqttOptions,
    topic: &str,
    payloads: &[Vec<u8>],
    timeout: Duration,
) -> Result<usize, String> {
    let (client, mut connection) = Client::new(options, 64);
    let (tx, rx) = mpsc::channel::<Result<(), String>>();
    let thread = thread::spawn(move || {
        for event in connection.iter() {
            let report = match event {
                Ok(Event::Incoming(Packet::PubAck(_))) => Some(Ok(())),
                Ok(_) => None,
                Err(e) => Some(Err(e.to_string())),
            };
            if let Some(report) = report {
                let failed = report.is_err();
                if tx.send(report).is_err() || failed {
                    break;
                }
            }
        }
    });
    for payload in payloads {
        client
            .publish(topic, QoS::AtLeastOnce, false, payload.clone())
            .map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + timeout;
    let mut acked = 0;
    let mut error = None;
    while acked < payloads.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(())) => acked += 1,
            Ok(Err(e)) => {
                error = Some(e);
                break;
            }
            Err(_) => break,
        }
    }
    let _ = client.disconnect();
    let _ = thread.join();
    match error {
        Some(e) if acked < payloads.len() => Err(format!("{e} ({acked} acknowledged)")),
        _ => Ok(acked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let b = parse_url("mqtt://127.0.0.1:1884").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.tls), ("127.0.0.1", 1884, false));
        let b = parse_url("mqtts://broker.example").unwrap();
        assert_eq!(
            (b.host.as_str(), b.port, b.tls),
            ("broker.example", 8883, true)
        );
        let b = parse_url("mqtt://[::1]:99/").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("::1", 99));
        for bad in [
            "http://x",
            "mqtt://",
            "mqtt://h:0",
            "mqtt://h:70000",
            "mqtt://h:x",
            "mqtt://[::1",
            "mqtt://u@h:1",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        assert_eq!(filter(None).unwrap(), "nxsm/+/v1");
        assert_eq!(filter(Some("g1")).unwrap(), "$share/g1/nxsm/+/v1");
        assert!(filter(Some("a/b")).is_err());
        assert!(filter(Some("")).is_err());
        assert!(filter(Some("#")).is_err());
    }
}
