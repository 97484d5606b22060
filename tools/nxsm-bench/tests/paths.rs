//! Every path does what its name claims, checked through the library's own counters, its
//! flows (`nxsm_read_flows`) and, for collections, the decoded messages.

use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use nxsm_bench::abi::{self, Flow, Stats};
use nxsm_bench::packets::{DEVICE_V4, DEVICE_V6, FIRST_DEVICE_PORT, PEER_PORT, PEER_V4, PEER_V6};
use nxsm_bench::{Kind, Outcome, Path, Unmetered};
use nxsm_decode::Event;

/// The module is one per process: one path at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn delta(outcome: &Outcome, field: fn(&Stats) -> u32) -> u32 {
    field(&outcome.after).wrapping_sub(field(&outcome.before))
}

/// The same for a 64-bit packet counter.
fn total(outcome: &Outcome, field: fn(&Stats) -> u64) -> u64 {
    field(&outcome.after) - field(&outcome.before)
}

/// Flows of the window in `family` (4 or 6) and the other one.
fn flows_of(stats: &Stats, ip_version: u8) -> (u32, u32) {
    if ip_version == 4 {
        (stats.flows_v4, stats.flows_v6)
    } else {
        (stats.flows_v6, stats.flows_v4)
    }
}

/// Every flow is one of the benchmark's: device and peer in the right places (so header
/// order and direction were understood), and traffic only in `direction`.
fn check_flows(path: Path, flows: &[Flow], ip_version: u8, inbound: bool) {
    let (device, peer): (&[u8], &[u8]) = if ip_version == 4 {
        (&DEVICE_V4, &PEER_V4)
    } else {
        (&DEVICE_V6, &PEER_V6)
    };
    let len = device.len();
    for flow in flows {
        let name = path.name();
        assert_eq!(flow.ip_version, ip_version, "{name}: {flow:?}");
        assert_eq!(flow.protocol, 0, "{name}: TCP expected, {flow:?}");
        assert_eq!(&flow.local_address[..len], device, "{name}: {flow:?}");
        assert_eq!(&flow.remote_address[..len], peer, "{name}: {flow:?}");
        assert!(flow.local_port >= FIRST_DEVICE_PORT, "{name}: {flow:?}");
        assert_eq!(flow.remote_port, PEER_PORT, "{name}: {flow:?}");
        let (packets_in, packets_out) = (flow.packets_in, flow.packets_out);
        if inbound {
            assert!(packets_in > 0 && packets_out == 0, "{name}: {flow:?}");
            assert_eq!(flow.tcp_flags_in, 0x10, "{name}: ACK in, {flow:?}");
        } else {
            assert!(packets_out > 0 && packets_in == 0, "{name}: {flow:?}");
            assert_eq!(flow.tcp_flags_out, 0x10, "{name}: ACK out, {flow:?}");
        }
    }
}

/// Hook and drain paths: `iterations` packets over `flows` flows end up in the table (64
/// slots: with 5,000 flows the table fills and the rest is `table_full_dropped`).
fn check_capture_path(path: Path, iterations: u64) {
    let (ip_version, inbound, flows) = match path.kind() {
        Kind::Hook {
            family,
            direction,
            flows,
            ..
        } => (
            family_version(family),
            direction == abi::NXSM_DIRECTION_IN,
            flows,
        ),
        Kind::Drain { family, flows } => (family_version(family), false, flows),
        other => panic!("{other:?}"),
    };
    let outcome = path.prepare().run(iterations, &mut Unmetered);
    outcome.check().unwrap();
    let name = path.name();
    assert_eq!(total(&outcome, |s| s.packets_seen), iterations, "{name}");
    let distinct = (iterations as usize).min(flows);
    let kept = distinct.min(64) as u32;
    assert_eq!(flows_of(&outcome.after, ip_version), (kept, 0), "{name}");
    let full = total(&outcome, |s| s.table_full_dropped);
    if flows > 64 {
        assert_eq!(full, iterations - 64, "{name}: table overflow");
    } else {
        assert_eq!(full, 0, "{name}");
        assert_eq!(total(&outcome, |s| s.packets_counted), iterations, "{name}");
    }
    let read = abi::read_flows();
    assert_eq!(read.len(), kept as usize, "{name}");
    check_flows(path, &read, ip_version, inbound);
}

fn family_version(family: nxsm_bench::packets::Family) -> u8 {
    match family {
        nxsm_bench::packets::Family::V4 => 4,
        nxsm_bench::packets::Family::V6 => 6,
    }
}

#[test]
fn hook_paths_capture_every_packet_of_their_flows() {
    let _serial = serial();
    for path in Path::ALL {
        if matches!(path.kind(), Kind::Hook { .. }) {
            check_capture_path(path, 200);
        }
    }
}

#[test]
fn drain_paths_move_every_record_into_the_table() {
    let _serial = serial();
    for path in Path::ALL {
        if matches!(path.kind(), Kind::Drain { .. }) {
            check_capture_path(path, 200);
        }
    }
}

#[test]
fn iteration_counts_that_are_not_a_whole_batch_still_drain_everything() {
    let _serial = serial();
    for iterations in [0, 1, 31, 33, 65] {
        let outcome = Path::HookIpv6In50.prepare().run(iterations, &mut Unmetered);
        outcome.check().unwrap();
        assert_eq!(total(&outcome, |s| s.packets_seen), iterations);
    }
}

#[test]
fn collection_paths_collect_their_windows_once_per_iteration() {
    let _serial = serial();
    for (path, v4, v6, with_platform_events) in [
        (Path::Collect64, 64, 0, false),
        (Path::Collect1, 1, 0, false),
        (Path::CollectFull, 64, 64, true),
    ] {
        let name = path.name();
        let iterations = 3u64;
        let mut seen = vec![(0usize, 0usize, 0usize, 0usize); iterations as usize];
        let mut largest = 0;
        let outcome =
            path.prepare()
                .run_observed(iterations, &mut Unmetered, |iteration, bytes| {
                    largest = largest.max(bytes.len());
                    let message = nxsm_decode::decode(bytes).expect("a valid message");
                    let counts = &mut seen[iteration as usize];
                    for event in &message.events {
                        match event {
                            Event::NetworkActivity(window) => {
                                counts.0 += window.v4_flows.len();
                                counts.1 += window.v6_flows.len();
                                for flow in &window.v4_flows {
                                    assert_eq!(
                                        (flow.packets_in, flow.packets_out),
                                        (1, 1),
                                        "{name}"
                                    );
                                }
                                for flow in &window.v6_flows {
                                    assert_eq!(
                                        (flow.packets_in, flow.packets_out),
                                        (1, 1),
                                        "{name}"
                                    );
                                }
                            }
                            Event::SystemInformation(_) => counts.2 += 1,
                            Event::Heartbeat(_) => counts.3 += 1,
                            Event::Alerts(_) | Event::Baseline(_) => {
                                panic!("{name}: no policy, no learn mode: {event:?}")
                            }
                            // The start's record and the like: not what a path measures.
                            Event::Audit(_) => {}
                            Event::Inventory(_) | Event::Findings(_) => {
                                panic!("{name}: no inventory source: {event:?}")
                            }
                        }
                    }
                });
        outcome.check().unwrap();
        let platform = usize::from(with_platform_events);
        for counts in &seen {
            assert_eq!(*counts, (v4, v6, platform, platform), "{name}: {seen:?}");
        }
        assert_eq!(
            delta(&outcome, |s| s.collections),
            iterations as u32,
            "{name}"
        );
        assert_eq!(
            u64::from(delta(&outcome, |s| s.messages_built)),
            outcome.messages,
            "{name}"
        );
        assert_eq!(
            u64::from(delta(&outcome, |s| s.messages_sent)),
            outcome.messages,
            "{name}"
        );
        assert!(outcome.messages >= iterations, "{name}");
        assert!(largest <= 1024, "{name}: {largest}-byte message");
        assert_eq!(outcome.after.outbox_messages, 0, "{name}: outbox emptied");
        assert_eq!(
            (outcome.after.flows_v4, outcome.after.flows_v6),
            (0, 0),
            "{name}: the last collection closed the window"
        );
        let per_window = (2 * (v4 + v6)) as u64;
        assert_eq!(
            total(&outcome, |s| s.packets_counted),
            iterations * per_window,
            "{name}"
        );
    }
}

#[test]
fn the_baseline_calls_nothing_in_the_library() {
    let _serial = serial();
    let outcome = Path::BaselineCall.prepare().run(100, &mut Unmetered);
    outcome.check().unwrap();
    assert_eq!(total(&outcome, |s| s.packets_seen), 0);
}

#[test]
fn check_reports_what_went_wrong() {
    let _serial = serial();
    let mut outcome = Path::HookIpv4Out50.prepare().run(32, &mut Unmetered);
    outcome.check().unwrap();
    outcome.after.ring_dropped += 2;
    outcome.captured += 1;
    let problem = outcome.check().unwrap_err();
    assert!(problem.contains("ring_dropped +2"), "{problem}");
    assert!(
        problem.contains("32 packets seen, 33 captured"),
        "{problem}"
    );
}

fn binary(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nxsm-bench-paths"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_binary_lists_runs_and_refuses() {
    let list = binary(&["--list"]);
    assert!(list.status.success());
    let names: Vec<&str> = Path::ALL.iter().map(|path| path.name()).collect();
    assert_eq!(
        String::from_utf8(list.stdout).unwrap(),
        names.join("\n") + "\n"
    );
    assert_eq!(names.len(), 15);

    let help = binary(&["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("(Ir(cg.2) - Ir(cg.1)) / N"), "{help}");

    for path in names.iter().copied().chain(["baseline_call"]) {
        let run = binary(&[path, "40"]);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{path}: {stdout} {:?}", run.stderr);
        assert!(stdout.starts_with(&format!("{path} x 40: ok")), "{stdout}");
    }
    for bad in [
        &["nope", "10"][..],
        &["hook_ipv4_out_50", "ten"],
        &["hook_ipv4_out_50"],
        &[],
    ] {
        assert_eq!(binary(bad).status.code(), Some(2), "{bad:?}");
    }
}
