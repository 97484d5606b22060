//! `nxsm-policy`: compiles a JSON detection policy into a policy blob, or prints a blob.

use std::path::PathBuf;
use std::process::ExitCode;

use nxsm_policy::{compile, describe, error_name, from_baseline, Error};

const HELP: &str = "\
usage: nxsm-policy POLICY.json -o BLOB [--json]
       nxsm-policy --check BLOB
       nxsm-policy --from-baseline BASELINE.json -o POLICY.json [--base POLICY.json]

Compiles a JSON detection policy into the policy blob nx-security-module loads
(docs/policy-format.md), checks a blob and prints what it holds, or writes a policy file
from a baseline that learn mode recorded.

  POLICY.json    the policy file (below)
  -o, --output B write the blob to B (it has passed the core's check first)
  --json         print the compile report as JSON on stdout (default: text on stderr)
  --check BLOB   check BLOB with the core's reader and print its flags, sources,
                 connection rule, ranges (CIDR, or first-last) and ports; a bad blob
                 prints its error name and number (NXSM_ERR_POLICY_..., 13-23)
  --from-baseline BASELINE.json
                 write the policy file -o POLICY.json whose outbound_allowed is the
                 baseline's \"outbound\" networks and whose inbound_ports_allowed is its
                 \"inbound\" ports. BASELINE.json is the baseline event as nxsm-decode
                 prints it: the event object, a --replay JSON line, or a decoded message
                 holding one (one JSON value or JSON lines, exactly one baseline event)
  --base P       with --from-baseline: keep every other key of policy P (indicators,
                 connections, block); its feed paths are rewritten relative to the
                 output's folder. The file is written only once it compiles
  -h, --help     this text

The policy file is one JSON object; every key is optional, any other key is an error:
  indicators.cidrs        [\"198.51.100.7/32\", \"2001:db8:bad::/48\"]: indicators, source 0
  indicators.feeds        [\"feeds/level1.netset\"]: feed files, relative to the policy's
                          folder; feed i (from 0) is source i+1
  outbound_allowed        [\"10.0.0.0/8\", \"fd00::/8\"]: where the device may connect; the
                          key present (even []) adds the rule
  inbound_ports_allowed   {\"tcp\": [8080], \"udp\": [5353]}: local ports the network may
                          reach, 1-65535; each protocol's key present adds its rule
  connections             {\"min\": 0, \"max\": 20}: flows a window may hold; min defaults
                          to 0, max to 4294967295; min must not be above max
  block                   [\"indicator\", \"outbound_not_allowed\",
                          \"inbound_port_not_allowed\"]: which rule breaks drop the packet;
                          outbound_not_allowed needs outbound_allowed,
                          inbound_port_not_allowed an inbound port list

Addresses: a bare address (a /32 or /128) or a CIDR; host bits below the prefix are
masked and counted as normalized. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv6.
Per IP version the ranges are sorted and overlapping or adjacent ones merged (a merged
indicator range keeps the lowest source). An IPv4 list of more than 32 ranges gets an
index (at most 65,535 ranges).

Feed formats, detected line by line:
  FireHOL .netset/.ipset   one address or CIDR per line; blank lines and lines starting
                           with '#' or ';' are comments; text after the address,
                           separated by whitespace or ';', is a comment
  Spamhaus DROP JSON lines {\"cidr\": \"192.0.2.0/24\", \"sblid\": \"SBL1\", ...} one per line;
                           lines without \"cidr\" (the metadata line) are skipped, counted
Any other line is an error naming file:line.

Exit status: 0 done, 1 bad policy, feed or blob, 2 bad command line, 3 internal error
(a blob this tool wrote was refused by the core's check).";

enum Command {
    Help,
    Compile {
        policy: PathBuf,
        output: PathBuf,
        json: bool,
    },
    Check(PathBuf),
    FromBaseline {
        baseline: PathBuf,
        output: PathBuf,
        base: Option<PathBuf>,
    },
}

fn parse(args: Vec<String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let (mut policy, mut output, mut check, mut json) = (None, None, None, false);
    let (mut baseline, mut base) = (None, None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{name} needs a file"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-o" | "--output" => output = Some(value(&arg)?),
            "--check" => check = Some(value(&arg)?),
            "--from-baseline" => baseline = Some(value(&arg)?),
            "--base" => base = Some(value(&arg)?),
            "--json" => json = true,
            _ if arg.starts_with('-') => return Err(format!("unknown option `{arg}`")),
            _ if policy.is_some() => return Err(format!("one policy file only (`{arg}`)")),
            _ => policy = Some(PathBuf::from(arg)),
        }
    }
    if let Some(baseline) = baseline {
        return match (policy, output, check, json) {
            (None, Some(output), None, false) => Ok(Command::FromBaseline {
                baseline,
                output,
                base,
            }),
            (None, None, None, false) => Err("-o POLICY.json is missing".into()),
            _ => Err("--from-baseline takes -o POLICY.json and --base POLICY.json only".into()),
        };
    }
    if base.is_some() {
        return Err("--base goes with --from-baseline".into());
    }
    match (policy, output, check) {
        (None, None, Some(blob)) if !json => Ok(Command::Check(blob)),
        (Some(policy), Some(output), None) => Ok(Command::Compile {
            policy,
            output,
            json,
        }),
        (_, _, Some(_)) => Err("--check takes a blob and nothing else".into()),
        (Some(_), None, None) => Err("-o BLOB is missing".into()),
        _ => Err("a policy file (or --check BLOB) is missing".into()),
    }
}

fn run_compile(policy: PathBuf, output: PathBuf, json: bool) -> ExitCode {
    let compiled = match compile(&policy) {
        Ok(compiled) => compiled,
        Err(error) => {
            eprintln!("nxsm-policy: {error}");
            return ExitCode::from(if matches!(error, Error::Internal(_)) {
                3
            } else {
                1
            });
        }
    };
    if let Err(error) = std::fs::write(&output, &compiled.blob) {
        eprintln!("nxsm-policy: {}: {error}", output.display());
        return ExitCode::from(1);
    }
    if json {
        println!("{}", compiled.report.to_json());
    } else {
        eprint!("{}", compiled.report);
        eprintln!("wrote {}", output.display());
    }
    ExitCode::SUCCESS
}

fn run_check(blob: PathBuf) -> ExitCode {
    let bytes = match std::fs::read(&blob) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("nxsm-policy: {}: {error}", blob.display());
            return ExitCode::from(1);
        }
    };
    match describe(&bytes) {
        Ok(description) => {
            print!("{description}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "nxsm-policy: {}: bad policy blob: {} ({})",
                blob.display(),
                error_name(error),
                error as u32
            );
            ExitCode::from(1)
        }
    }
}

fn run_from_baseline(baseline: PathBuf, output: PathBuf, base: Option<PathBuf>) -> ExitCode {
    let made = match from_baseline(&baseline, base.as_deref(), &output) {
        Ok(made) => made,
        Err(error) => {
            eprintln!("nxsm-policy: {error}");
            return ExitCode::from(if matches!(error, Error::Internal(_)) {
                3
            } else {
                1
            });
        }
    };
    if let Err(error) = std::fs::write(&output, &made.text) {
        eprintln!("nxsm-policy: {}: {error}", output.display());
        return ExitCode::from(1);
    }
    let report = &made.compiled.report;
    eprintln!(
        "{} outbound networks, {} TCP and {} UDP ports from {}",
        made.learned.outbound.len(),
        made.learned.tcp.len(),
        made.learned.udp.len(),
        baseline.display()
    );
    eprintln!(
        "wrote {} (compiles: {} bytes, crc32 {:#010x})",
        output.display(),
        report.bytes,
        report.crc32
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok(Command::Help) => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Command::Compile {
            policy,
            output,
            json,
        }) => run_compile(policy, output, json),
        Ok(Command::Check(blob)) => run_check(blob),
        Ok(Command::FromBaseline {
            baseline,
            output,
            base,
        }) => run_from_baseline(baseline, output, base),
        Err(message) => {
            eprintln!(
                "nxsm-policy: {message}\n{}",
                HELP.lines().take(3).collect::<Vec<_>>().join("\n")
            );
            ExitCode::from(2)
        }
    }
}
