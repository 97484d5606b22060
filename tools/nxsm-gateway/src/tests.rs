//! The gateway on messages built with the reference encoder.

use std::sync::{Arc, Mutex};

use nxsm_decode::{encode, kind_byte, FlagSet, FlowV4, Heartbeat, NetworkActivity, Protocol};

use super::*;

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn message(sequence: u32, remote: [u8; 4]) -> Vec<u8> {
    let flow = FlowV4 {
        local: 0,
        remote,
        local_port: 50000,
        remote_port: 443,
        kind: kind_byte(Protocol::Tcp, FlagSet::SYN, FlagSet::SYN),
        initiator: 0,
        bytes_in: 100,
        bytes_out: 200,
        packets_in: 1,
        packets_out: 2,
    };
    encode(&Message {
        format: nxsm_decode::FORMAT,
        module: nxsm_decode::MODULE.into(),
        module_version: 1 << 16,
        sequence,
        time: 1_700_000_000 + sequence,
        events: vec![
            Event::NetworkActivity(NetworkActivity {
                duration_s: 10,
                v4_locals: vec![[192, 0, 2, 1]],
                v4_flows: vec![flow],
                ..NetworkActivity::default()
            }),
            Event::Heartbeat(Heartbeat {
                uptime_s: sequence,
                ..Heartbeat::default()
            }),
        ],
    })
}

fn gateway(feeds: &[&str]) -> (Gateway, Shared) {
    let out = Shared::default();
    let (indicators, _) = Indicators::from_texts(feeds).unwrap();
    let gateway = Gateway::new(Options {
        json: Some(Box::new(out.clone())),
        indicators,
        ..Options::default()
    });
    (gateway, out)
}

#[test]
fn gaps_duplicates_errors_and_topics_are_counted() {
    let (mut g, out) = gateway(&[]);
    g.handle("nxsm/dev-1/v1", &message(0, [20, 1, 2, 3]));
    g.handle("nxsm/dev-1/v1", &message(1, [20, 1, 2, 3]));
    g.handle("nxsm/dev-1/v1", &message(1, [20, 1, 2, 3])); // redelivered
    g.handle("nxsm/dev-1/v1", &message(4, [20, 1, 2, 3])); // 2 and 3 missing
    g.handle("nxsm/dev-2/v1", &message(0, [20, 1, 2, 3]));
    g.handle("nxsm/dev-1/v1", &[0xde, 0xad, 0xbe, 0xef]);
    g.handle("nxsm/dev-1/v1", &vec![2u8; MAX_MESSAGE_BYTES + 1]);
    g.handle("nxsm/dev-1/v1", &[]);
    g.handle("elsewhere", &message(5, [20, 1, 2, 3]));
    let c = g.counters();
    assert_eq!(c.messages, 9);
    assert_eq!(c.processed, 4);
    assert_eq!(c.records, 4);
    assert_eq!(c.duplicates, 1);
    assert_eq!(c.gaps, 2);
    assert_eq!(c.decode_errors, 3);
    assert_eq!(c.bad_topics, 1);
    assert_eq!(g.devices().len(), 2);
    let lines = out.lines();
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(events.iter().filter(|e| **e == "gap").count(), 1);
    assert_eq!(events.iter().filter(|e| **e == "decode_error").count(), 3);
    assert_eq!(events.iter().filter(|e| **e == "heartbeat").count(), 4);
    let flows: Vec<&Value> = lines.iter().filter(|l| l.get("proto").is_some()).collect();
    assert_eq!(flows.len(), 4);
    // The decoder's own flow line, with the device first.
    let first = flows[0].as_object().unwrap();
    assert_eq!(first.keys().next().unwrap(), "device");
    assert_eq!(first["device"], "dev-1");
    let mut plain = first.clone();
    plain.shift_remove("device");
    let decoded = nxsm_decode::decode(&message(0, [20, 1, 2, 3])).unwrap();
    assert_eq!(
        Value::Object(plain),
        nxsm_decode::replay::message_lines(&decoded)[0]
    );
    g.finish();
    let summary: Vec<Value> = out
        .lines()
        .into_iter()
        .filter(|l| l["event"] == "device")
        .collect();
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0]["device"], "dev-1");
    assert_eq!(
        (
            &summary[0]["messages"],
            &summary[0]["gaps"],
            &summary[0]["duplicates"]
        ),
        (&Value::from(3), &Value::from(2), &Value::from(1))
    );
    assert_eq!(summary[0]["last_heartbeat"]["uptime_s"], 4);
    assert_eq!(summary[1]["device"], "dev-2");
    let stats = g.stats_line(false);
    assert!(stats.contains("gaps=2 duplicates=1"), "{stats}");
    assert!(stats.contains("decode_errors=3 bad_topics=1"), "{stats}");
}

#[test]
fn fleet_indicator_alert_has_the_device_alert_shape() {
    let (mut g, out) = gateway(&["# feed\n10.0.0.0/8", "20.1.2.0/24\n"]);
    g.handle("nxsm/dev-1/v1", &message(0, [20, 1, 2, 3]));
    g.handle("nxsm/dev-1/v1", &message(1, [21, 1, 2, 3]));
    assert_eq!(g.counters().fleet_alerts, 1);
    let lines = out.lines();
    let alert = lines.iter().find(|l| l["event"] == "alert").unwrap();
    let decoded = nxsm_decode::decode(&message(0, [20, 1, 2, 3])).unwrap();
    let device_shape = nxsm_decode::replay::alert_line(
        &decoded,
        &Alert::Indicator(
            AlertHead {
                time: decoded.time,
                policy: 0,
                rule: 2,
            },
            AlertFlow::V4 {
                local: [192, 0, 2, 1],
                local_port: 50000,
                remote: [20, 1, 2, 3],
                remote_port: 443,
                protocol: 0,
                initiator: 0,
            },
        ),
    );
    let mut fields = alert.as_object().unwrap().clone();
    assert_eq!(fields.shift_remove("device").unwrap(), "dev-1");
    assert_eq!(fields.shift_remove("origin").unwrap(), "gateway");
    assert_eq!(Value::Object(fields), device_shape);
    assert_eq!(alert["rule"], 2);
    assert_eq!(alert["kind"], "indicator");
}

#[test]
fn hostile_payloads_never_panic() {
    let (mut g, _) = gateway(&[]);
    let good = message(3, [1, 2, 3, 4]);
    // Every truncation and every single-byte change of a valid message.
    for end in 0..good.len() {
        g.handle("nxsm/x/v1", &good[..end]);
    }
    for at in 0..good.len() {
        for value in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut bytes = good.clone();
            bytes[at] = value;
            g.handle("nxsm/x/v1", &bytes);
        }
    }
    let c = g.counters();
    assert_eq!(c.messages, c.processed + c.duplicates + c.decode_errors);
    assert!(c.decode_errors >= good.len() as u64);
}

#[test]
fn device_limit_still_processes() {
    let out = Shared::default();
    let mut g = Gateway::new(Options {
        json: Some(Box::new(out.clone())),
        max_devices: 1,
        ..Options::default()
    });
    g.handle("nxsm/a/v1", &message(0, [1, 2, 3, 4]));
    g.handle("nxsm/b/v1", &message(0, [1, 2, 3, 4]));
    g.handle("nxsm/b/v1", &message(0, [1, 2, 3, 4]));
    assert_eq!(g.devices().len(), 1);
    assert_eq!(g.counters().processed, 3);
    assert_eq!(g.devices().untracked, 2);
}
