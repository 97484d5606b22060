//! `nxsm-decode`: prints nx-security-module security messages as JSON.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

use nxsm_decode::replay::{Format, Replay};
use nxsm_decode::{decode, decode_hex_text, hex, to_json, InputError, Message};

const USAGE: &str = "\
usage: nxsm-decode [--hex|--raw] [--pretty] [FILE...]
       nxsm-decode --replay [--format json|table]

Decodes nx-security-module security messages (wire format 3 and 2, docs/wire-format.md).

  FILE          a message as raw bytes (one per file) or as hex text (one per line, or
                wrapped over consecutive lines; whitespace ignored, '#' starts a comment);
                '-' or no FILE reads stdin
  --hex         input is hex text
  --raw         input is raw bytes
                (neither: hex when the input is text, raw bytes otherwise; a raw message
                starts with the format byte 0x02 or 0x03, never text)
  --pretty      indented JSON instead of one object per line
  --replay      read stdin lines: '{...}' lines are passed on, other lines are hex messages
                printed one line per flow, alert, finding and audit record, and per
                system information / heartbeat / baseline / inventory event
  --format F    replay output: json (default) or table
  -h, --help    this text

Exit status: 0 every message decoded, 1 a message or file was bad (the others are still
printed, errors go to stderr), 2 bad command line.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Auto,
    Hex,
    Raw,
}

struct Options {
    input: Input,
    pretty: bool,
    replay: Option<Format>,
    files: Vec<String>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut input = Input::Auto;
    let mut pretty = false;
    let mut replay = false;
    let mut format = None;
    let mut files = Vec::new();
    let mut args = args.into_iter();
    let mut only_files = false;
    while let Some(arg) = args.next() {
        if only_files || arg == "-" || !arg.starts_with('-') {
            files.push(arg);
            continue;
        }
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        match name.as_str() {
            "--" => only_files = true,
            "-h" | "--help" => return Ok(None),
            "--hex" | "--raw" if input != Input::Auto => {
                return Err("give at most one of --hex and --raw".into())
            }
            "--hex" => input = Input::Hex,
            "--raw" => input = Input::Raw,
            "--pretty" => pretty = true,
            "--replay" => replay = true,
            "--format" => {
                let value = match inline_value {
                    Some(v) => v.to_string(),
                    None => args.next().ok_or("--format needs a value")?,
                };
                format = Some(match value.as_str() {
                    "json" => Format::Json,
                    "table" => Format::Table,
                    other => return Err(format!("unknown --format {other:?} (json or table)")),
                });
            }
            _ => return Err(format!("unknown option {arg:?}")),
        }
        if inline_value.is_some() && name != "--format" {
            return Err(format!("{name} takes no value"));
        }
    }
    if replay {
        if input != Input::Auto || pretty || !files.is_empty() {
            return Err("--replay reads stdin and takes only --format".into());
        }
    } else if format.is_some() {
        return Err("--format is for --replay".into());
    }
    if files.is_empty() {
        files.push("-".into());
    }
    Ok(Some(Options {
        input,
        pretty,
        replay: replay.then(|| format.unwrap_or(Format::Json)),
        files,
    }))
}

/// Where errors are counted and reported.
struct Report {
    failed: bool,
}

impl Report {
    fn error(&mut self, place: &str, what: impl std::fmt::Display) {
        eprintln!("nxsm-decode: {place}: {what}");
        self.failed = true;
    }
}

fn print_message(out: &mut impl Write, message: &Message, pretty: bool) -> io::Result<()> {
    let value = to_json(message);
    if pretty {
        // Serializing a `Value` into a vector cannot fail.
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        writeln!(out, "{text}")
    } else {
        writeln!(out, "{value}")
    }
}

fn read_input(file: &str) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if file == "-" {
        io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(file)?;
    }
    Ok(bytes)
}

fn decode_files(options: &Options, report: &mut Report) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for file in &options.files {
        let name = if file == "-" {
            "<stdin>"
        } else {
            file.as_str()
        };
        let bytes = match read_input(file) {
            Ok(bytes) => bytes,
            Err(error) => {
                report.error(name, error);
                continue;
            }
        };
        let hex_text = match options.input {
            Input::Hex => true,
            Input::Raw => false,
            Input::Auto => hex::auto_is_hex(&bytes),
        };
        if hex_text {
            for (lines, result) in decode_hex_text(&bytes) {
                match result {
                    Ok(message) => print_message(&mut out, &message, options.pretty)?,
                    Err(error) => {
                        out.flush()?;
                        report.error(&format!("{name}:{lines}"), error);
                    }
                }
            }
        } else {
            match decode(&bytes) {
                Ok(message) => print_message(&mut out, &message, options.pretty)?,
                Err(error) => {
                    out.flush()?;
                    report.error(name, InputError::Decode(error));
                }
            }
        }
    }
    out.flush()
}

fn replay(format: Format, report: &mut Report) -> io::Result<()> {
    let stdout = io::stdout();
    let mut replay = Replay::new(io::BufWriter::new(stdout.lock()), format);
    let mut input = io::stdin().lock();
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        let mut text = line.as_slice();
        if let Some(rest) = text.strip_suffix(b"\n") {
            text = rest;
        }
        if let Some(rest) = text.strip_suffix(b"\r") {
            text = rest;
        }
        if let Some(error) = replay.line(text)? {
            report.error(&format!("<stdin>:{number}"), error);
        }
    }
    replay.finish()?;
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("nxsm-decode: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut report = Report { failed: false };
    let result = match options.replay {
        Some(format) => replay(format, &mut report),
        None => decode_files(&options, &mut report),
    };
    match result {
        Ok(()) => {}
        // A reader that went away (`| head`) is not an error of the input.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        Err(error) => report.error("output", error),
    }
    if report.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
