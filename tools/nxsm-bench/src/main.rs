//! `nxsm-bench-paths`: runs one benchmark path a given number of times, for callgrind.
//! See the crate documentation (`src/lib.rs`) and `--help`.

use std::process::ExitCode;

use nxsm_bench::callgrind::{self, Callgrind};
use nxsm_bench::Path;

const HELP: &str = "\
nxsm-bench-paths: runs one hot path of nx-security-module through its C ABI

usage:
  nxsm-bench-paths <path> <iterations>   run <iterations> operations of <path>
  nxsm-bench-paths --list                the paths of the report, one per line
  nxsm-bench-paths wire                  bytes on the wire per flow record and per message
  nxsm-bench-paths full-table            checks that known flows count when the table is full
  nxsm-bench-paths --help

Measure under callgrind, twice, with N and 2N iterations (multiples of 32):
  valgrind --tool=callgrind --callgrind-out-file=cg.1 nxsm-bench-paths PATH N
  valgrind --tool=callgrind --callgrind-out-file=cg.2 nxsm-bench-paths PATH 2N
  per operation = (Ir(cg.2) - Ir(cg.1)) / N    (Ir: the `summary:` line of each file)

Only the operations are counted: the program switches callgrind's collection off at once
(client requests, no effect without Valgrind) and on only around measured work, so do not
add --collect-atstart or --toggle-collect. Packets are built, the module is reset and the
ring is drained outside what is counted; the remaining constant cancels in the difference.
It includes the call itself and a few loop instructions per operation: path
`baseline_call` (not listed) runs the hook loop around an empty function to show them.

One operation:
  hook_*        one nxsm_capture; out = network order, in = host order (NetX Duo's
                receive path); traffic over 50 or 5000 flows (5000 overflows the 64-slot
                table, counted as table_full_dropped); the ring is drained every 32
                captures, not counted
  drain_*       one record moved into the flow table (nxsm_drain every 32 records)
  collect_64    one nxsm_poll collecting a 64-flow IPv4 window (network activity only)
  collect_1     the same with one flow; per serialized flow record (serialize_record):
                (collect_64 - collect_1) / 63
  collect_full  one nxsm_poll collecting 64 IPv4 + 64 IPv6 flows, system information and
                heartbeat; the hub is connected and the outbox is emptied with
                nxsm_message_peek/ack after every collection (not counted)

Exit status: 0 done and checked, 1 a check failed, 2 usage error.
";

fn usage(message: &str) -> ExitCode {
    eprintln!("nxsm-bench-paths: {message} (try --help)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // First, so that nothing after it is counted but the measured work.
    let mut meter = Callgrind::start();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, iterations) = match args.as_slice() {
        [flag] if flag == "--help" || flag == "-h" => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        [flag] if flag == "wire" => {
            for (name, bytes) in nxsm_bench::figures::wire() {
                println!("wire {name}: {bytes} bytes");
            }
            return ExitCode::SUCCESS;
        }
        [flag] if flag == "full-table" => {
            return match nxsm_bench::figures::full_table() {
                Ok(what) => {
                    println!("check full_table_all: 1 ({what})");
                    ExitCode::SUCCESS
                }
                Err(problem) => {
                    println!("check full_table_all: 0 ({problem})");
                    ExitCode::from(1)
                }
            };
        }
        [flag] if flag == "--list" => {
            for path in Path::ALL {
                println!("{}", path.name());
            }
            return ExitCode::SUCCESS;
        }
        [path, iterations] => {
            let Some(path) = Path::from_name(path) else {
                return usage(&format!("unknown path {path:?}"));
            };
            let Ok(iterations) = iterations.parse::<u64>() else {
                return usage(&format!("iterations must be a number, not {iterations:?}"));
            };
            (path, iterations)
        }
        _ => return usage("expected <path> <iterations>, --list or --help"),
    };
    let workload = path.prepare();
    let outcome = workload.run(iterations, &mut meter);
    match outcome.check() {
        Ok(()) => {
            println!(
                "{} x {iterations}: ok ({}; valgrind: {})",
                path.name(),
                path.description(),
                if callgrind::running_on_valgrind() {
                    "yes"
                } else {
                    "no"
                }
            );
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("nxsm-bench-paths: check failed: {problem}");
            ExitCode::from(1)
        }
    }
}
