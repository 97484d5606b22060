//! `nxsm-gateway`: reads nx-security-module messages from an MQTT broker and writes JSON
//! lines and IPFIX; `nxsm-gateway publish` puts messages on the broker.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nxsm_gateway::indicators::Indicators;
use nxsm_gateway::ipfix::Exporter;
use nxsm_gateway::latency::{now_ns, Latency};
use nxsm_gateway::mqtt::{self, Broker, Incoming, Subscriber};
use nxsm_gateway::{Gateway, Options};

const USAGE: &str = "\
usage: nxsm-gateway --mqtt URL [--share GROUP] [--json FILE|-] [--ipfix HOST:PORT] [--biflow]
                    [--feed FILE]... [--exit-idle SECONDS] [--stats SECONDS]
                    [--template-interval SECONDS] [--observation-domain N]
                    [--max-devices N] [--latency] [broker options]
       nxsm-gateway publish --mqtt URL --device-id ID [broker options] [FILE|-]
       nxsm-gateway load --mqtt URL [--connections N] [--rate MSG/S] [--duration S]
                    [broker options] DIR

Subscribes to nx-security-module messages (topic nxsm/<device id>/v1, QoS 1, MQTT 5),
decodes each (docs/wire-format.md) and writes what they say; docs/fleet.md has the details.

  --mqtt URL              mqtt://HOST[:PORT] (1883) or mqtts://HOST[:PORT] (TLS, 8883)
  --share GROUP           MQTT 5 shared subscription $share/GROUP/nxsm/+/v1: the gateways
                          of one group split the messages between them
  --json FILE|-           JSON lines: every flow, alert, heartbeat, system information and
                          baseline with its device id, plus gap/restart/decode_error events
                          and fleet indicator alerts (\"origin\": \"gateway\")
  --ipfix HOST:PORT       IPFIX (RFC 7011) over UDP to a collector, a record per direction
  --biflow                one RFC 5103 biflow record per flow instead
  --template-interval S   re-send the IPFIX templates every S seconds (default 60)
  --observation-domain N  IPFIX observation domain id (default 1)
  --feed FILE             indicator feed (FireHOL netset / CIDR lines, Spamhaus DROP JSON
                          lines); a flow to a listed remote raises an indicator alert whose
                          rule is the feed's number (1 the first --feed); repeatable
  --exit-idle SECONDS     exit after that long without a message
  --stats SECONDS         counters to stderr every SECONDS (default 10, 0 only at exit)
  --max-devices N         devices tracked (default 1000000); the rest are processed untracked
  --latency               end-to-end latency in the final line: from the publish time a
                          publisher stamped in the user property nxsm-sent-ns (unix ns;
                          `load` does) to the end of the message's handling here (IPFIX sent)

Broker options:
  --tls                   TLS even with mqtt://
  --ca FILE               PEM CA certificates to trust (default: the system's)
  --cert FILE --key FILE  PEM client certificate chain and key
  --username USER         user name; the password is read from $NXSM_MQTT_PASSWORD or
  --password-file FILE    the first line of FILE

publish: reads messages as hex lines (FILE or stdin, as nxsm_replay prints them; '{' lines
and '#' comments are skipped) and publishes each to nxsm/ID/v1 with QoS 1, waiting for the
broker's acknowledgements.

load: publishes the messages of every DIR/<device id>.hex (hex lines) at once, for load
tests: the devices spread over --connections (default 8) MQTT connections, each publishing
its devices' messages round by round (first messages first) with QoS 1 and the publish time
in nxsm-sent-ns; --rate caps messages/s over all (default 0: as fast as the broker takes
them), --duration stops publishing after S seconds. Prints one line: devices, published,
acked, errors, elapsed_s, messages_per_s.

Exit status: 0 done, 1 an error while running, 2 bad command line.";

/// Most messages `publish` reads (they are held in memory until acknowledged).
const MAX_PUBLISH: usize = 1 << 20;
/// Longest line of a hex input read by `publish` (a 16384-byte message is 32768 digits).
const MAX_HEX_LINE: usize = 64 * 1024;

#[derive(Default)]
struct Common {
    broker: Option<Broker>,
    tls: bool,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    username: Option<String>,
    password_file: Option<String>,
}

impl Common {
    fn broker(&self) -> Result<Broker, String> {
        let mut broker = self.broker.clone().ok_or("--mqtt is required")?;
        broker.tls |= self.tls;
        broker.ca = self.ca.clone();
        broker.client_cert = match (self.cert.clone(), self.key.clone()) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err("give both --cert and --key".into()),
        };
        if let Some(user) = self.username.clone() {
            let password = match &self.password_file {
                Some(path) => {
                    let mut text = String::new();
                    File::open(path)
                        .and_then(|f| f.take(4096).read_to_string(&mut text))
                        .map_err(|e| format!("{path}: {e}"))?;
                    text.lines().next().unwrap_or("").to_string()
                }
                None => std::env::var("NXSM_MQTT_PASSWORD").unwrap_or_default(),
            };
            broker.credentials = Some((user, password));
        } else if self.password_file.is_some() {
            return Err("--password-file needs --username".into());
        }
        if !broker.tls && (broker.ca.is_some() || broker.client_cert.is_some()) {
            return Err("--ca, --cert and --key need TLS (mqtts:// or --tls)".into());
        }
        Ok(broker)
    }
}

struct Run {
    common: Common,
    share: Option<String>,
    json: Option<String>,
    ipfix: Option<SocketAddr>,
    biflow: bool,
    feeds: Vec<String>,
    exit_idle: Option<Duration>,
    stats: Duration,
    template_interval: Duration,
    domain: u32,
    max_devices: usize,
    latency: bool,
}

struct Load {
    common: Common,
    dir: Option<String>,
    connections: usize,
    rate: f64,
    duration: Option<Duration>,
}

struct Publish {
    common: Common,
    device: String,
    input: Option<String>,
}

enum Command {
    Help,
    Run(Box<Run>),
    Publish(Box<Publish>),
    Load(Box<Load>),
}

fn seconds(name: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 1e7)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{name}: {value:?} is not a number of seconds"))
}

fn parse_args(args: Vec<String>) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    let publish = args.peek().is_some_and(|a| a == "publish");
    let load = args.peek().is_some_and(|a| a == "load");
    if publish || load {
        args.next();
    }
    let mut loading = Load {
        common: Common::default(),
        dir: None,
        connections: 8,
        rate: 0.0,
        duration: None,
    };
    let mut common = Common::default();
    let mut run = Run {
        common: Common::default(),
        share: None,
        json: None,
        ipfix: None,
        biflow: false,
        feeds: Vec::new(),
        exit_idle: None,
        stats: Duration::from_secs(10),
        template_interval: Duration::from_secs(60),
        domain: 1,
        max_devices: 1_000_000,
        latency: false,
    };
    let mut device = None;
    let mut input = None;
    while let Some(arg) = args.next() {
        if load && !arg.starts_with('-') {
            if loading.dir.replace(arg).is_some() {
                return Err("load reads one directory".into());
            }
            continue;
        }
        if publish && (arg == "-" || !arg.starts_with('-')) {
            if input.replace(arg).is_some() {
                return Err("publish reads one input".into());
            }
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--mqtt" => common.broker = Some(mqtt::parse_url(&value()?)?),
            "--tls" => common.tls = true,
            "--ca" => common.ca = Some(value()?),
            "--cert" => common.cert = Some(value()?),
            "--key" => common.key = Some(value()?),
            "--username" => common.username = Some(value()?),
            "--password-file" => common.password_file = Some(value()?),
            "--device-id" if publish => device = Some(value()?),
            "--connections" if load => {
                let v = value()?;
                loading.connections = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=nxsm_gateway::load::MAX_CONNECTIONS).contains(n))
                    .ok_or_else(|| format!("--connections: {v:?} is not 1 to 1024"))?;
            }
            "--rate" if load => {
                let v = value()?;
                loading.rate = v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| *r == 0.0 || (0.01..=1e9).contains(r))
                    .ok_or_else(|| {
                        format!("--rate: {v:?} is not 0 or 0.01 to 1e9 messages per second")
                    })?;
            }
            "--duration" if load => loading.duration = Some(seconds(&name, &value()?)?),
            "--latency" if !publish && !load => run.latency = true,
            "--share" if !publish && !load => {
                let group = value()?;
                mqtt::filter(Some(&group))?; // refused here: a command-line error
                run.share = Some(group);
            }
            "--json" if !publish && !load => run.json = Some(value()?),
            "--ipfix" if !publish && !load => {
                let v = value()?;
                let address = v
                    .to_socket_addrs()
                    .map_err(|e| format!("--ipfix {v}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("--ipfix {v}: no address"))?;
                run.ipfix = Some(address);
            }
            "--biflow" if !publish && !load => run.biflow = true,
            "--feed" if !publish && !load => run.feeds.push(value()?),
            "--exit-idle" if !publish && !load => run.exit_idle = Some(seconds(&name, &value()?)?),
            "--stats" if !publish && !load => run.stats = seconds(&name, &value()?)?,
            "--template-interval" if !publish && !load => {
                run.template_interval = seconds(&name, &value()?)?;
            }
            "--observation-domain" if !publish && !load => {
                let v = value()?;
                run.domain = v
                    .parse()
                    .map_err(|_| format!("--observation-domain: {v:?} is not a u32"))?;
            }
            "--max-devices" if !publish && !load => {
                let v = value()?;
                run.max_devices = v
                    .parse()
                    .map_err(|_| format!("--max-devices: {v:?} is not a count"))?;
            }
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    if load {
        if loading.dir.is_none() {
            return Err("load needs a directory of <device id>.hex files".into());
        }
        common.broker()?;
        loading.common = common;
        return Ok(Command::Load(Box::new(loading)));
    }
    if publish {
        let device = device.ok_or("publish needs --device-id")?;
        if nxsm_gateway::devices::device_id(&format!("nxsm/{device}/v1")).is_none() {
            return Err(format!(
                "--device-id {device:?}: 1 to 128 bytes, no '/', '+', '#' or control characters"
            ));
        }
        common.broker()?; // checked here so errors are command-line errors
        return Ok(Command::Publish(Box::new(Publish {
            common,
            device,
            input,
        })));
    }
    common.broker()?; // checked here so errors are command-line errors
    run.common = common;
    Ok(Command::Run(Box::new(run)))
}

fn run(run: Run) -> Result<(), String> {
    let broker = run.common.broker()?;
    let filter = mqtt::filter(run.share.as_deref())?;
    let (indicators, reports) = Indicators::load(&run.feeds)?;
    for (report, path) in reports.iter().zip(&run.feeds) {
        eprintln!(
            "nxsm-gateway: feed {} ({path}): {} entries",
            report.number, report.entries
        );
    }
    let json: Option<Box<dyn Write + Send>> = match run.json.as_deref() {
        None => None,
        Some("-") => Some(Box::new(BufWriter::new(io::stdout()))),
        Some(path) => Some(Box::new(BufWriter::new(
            File::create(path).map_err(|e| format!("{path}: {e}"))?,
        ))),
    };
    let ipfix = match run.ipfix {
        None => None,
        Some(collector) => Some(
            Exporter::new(collector, run.domain, run.biflow, run.template_interval)
                .map_err(|e| format!("--ipfix {collector}: {e}"))?,
        ),
    };
    let mut gateway = Gateway::new(Options {
        json,
        ipfix,
        biflow: run.biflow,
        indicators,
        max_devices: run.max_devices,
    });
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    let options = mqtt::options(&broker, "nxsm-gateway")?;
    let subscriber = Subscriber::start(options, filter.clone());
    eprintln!(
        "nxsm-gateway: connecting to {}:{}",
        broker.host, broker.port
    );
    let mut last_message = Instant::now();
    let mut last_stats = Instant::now();
    let mut connection_errors = 0u64;
    let mut last_error = String::new();
    let mut subscribed = false;
    let mut result = Ok(());
    let mut latency = run.latency.then(Latency::default);
    while !stop.load(Ordering::Relaxed) {
        match subscriber.next(Duration::from_millis(200)) {
            Some(Incoming::Message(topic, payload, sent)) => {
                last_message = Instant::now();
                gateway.handle(&topic, &payload);
                gateway.flush();
                if let (Some(latency), Some(sent)) = (latency.as_mut(), sent) {
                    latency.record(sent, now_ns());
                }
            }
            Some(Incoming::Error(e)) => {
                connection_errors += 1;
                last_error.clone_from(&e);
                // One line per error would flood stderr while the broker is down.
                if connection_errors <= 5 || connection_errors % 60 == 0 {
                    eprintln!("nxsm-gateway: connection: {e} ({connection_errors} errors)");
                }
            }
            Some(Incoming::Subscribed) => {
                subscribed = true;
                eprintln!("nxsm-gateway: subscribed to {filter}");
            }
            Some(Incoming::Refused(e)) => {
                result = Err(format!("subscription refused: {e}"));
                break;
            }
            None => gateway.tick(),
        }
        if !run.stats.is_zero() && last_stats.elapsed() >= run.stats {
            eprintln!("nxsm-gateway: stats {}", gateway.stats_line(true));
            last_stats = Instant::now();
        }
        if run
            .exit_idle
            .is_some_and(|idle| last_message.elapsed() >= idle)
        {
            break;
        }
    }
    subscriber.stop();
    gateway.finish();
    // Ending without ever reaching the broker is a failure, not an idle run.
    if result.is_ok() && !subscribed && connection_errors > 0 {
        result = Err(format!(
            "never subscribed; last connection error: {last_error}"
        ));
    }
    gateway.flush();
    eprintln!(
        "nxsm-gateway: final {} connection_errors={connection_errors}{}",
        gateway.stats_line(false),
        latency.map_or(String::new(), |l| format!(" {}", l.stats()))
    );
    result
}

fn read_hex_messages(input: Option<&str>) -> Result<Vec<Vec<u8>>, String> {
    let reader: Box<dyn BufRead> = match input {
        None | Some("-") => Box::new(io::stdin().lock()),
        Some(path) => Box::new(io::BufReader::new(
            File::open(path).map_err(|e| format!("{path}: {e}"))?,
        )),
    };
    let mut messages = Vec::new();
    let mut reader = reader;
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_HEX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.len() > MAX_HEX_LINE {
            return Err(format!("line {number}: longer than {MAX_HEX_LINE} bytes"));
        }
        let text = line.trim_ascii_start();
        if text.first() == Some(&b'{') {
            continue;
        }
        let bytes =
            nxsm_decode::hex::parse_line(text).map_err(|e| format!("line {number}: {e}"))?;
        if !bytes.is_empty() {
            if messages.len() == MAX_PUBLISH {
                return Err(format!("more than {MAX_PUBLISH} messages"));
            }
            messages.push(bytes);
        }
    }
    Ok(messages)
}

fn publish(publish: Publish) -> Result<(), String> {
    let messages = read_hex_messages(publish.input.as_deref())?;
    let broker = publish.common.broker()?;
    let topic = format!("nxsm/{}/v1", publish.device);
    let options = mqtt::options(&broker, "nxsm-publish")?;
    let acked = mqtt::publish_all(options, &topic, &messages, Duration::from_secs(30))?;
    eprintln!(
        "nxsm-gateway publish: {acked} of {} messages acknowledged on {topic}",
        messages.len()
    );
    if acked == messages.len() {
        Ok(())
    } else {
        Err("not every message was acknowledged".into())
    }
}

fn load(load: Load) -> Result<(), String> {
    let broker = load.common.broker()?;
    let dir = load.dir.unwrap_or_default();
    let devices = nxsm_gateway::load::read_devices(std::path::Path::new(&dir))?;
    if devices.is_empty() {
        return Err(format!("{dir}: no <device id>.hex file"));
    }
    let messages: usize = devices.iter().map(|d| d.messages.len()).sum();
    eprintln!(
        "nxsm-gateway load: {} devices, {messages} messages, {} connections",
        devices.len(),
        load.connections
    );
    let plan = nxsm_gateway::load::Plan {
        connections: load.connections,
        rate: load.rate,
        duration: load.duration,
        ack_timeout: Duration::from_secs(60),
    };
    let report = nxsm_gateway::load::run(
        |i| mqtt::options(&broker, &format!("nxsm-load{i}")),
        &devices,
        plan,
    )?;
    eprintln!("nxsm-gateway load: {}", report.line(devices.len()));
    if report.acked == report.published {
        Ok(())
    } else {
        Err("not every message was acknowledged".into())
    }
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1).collect()) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("nxsm-gateway: {e} (nxsm-gateway --help lists the options)");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Run(r) => run(*r),
        Command::Publish(p) => publish(*p),
        Command::Load(l) => load(*l),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nxsm-gateway: {e}");
            ExitCode::from(1)
        }
    }
}
