//! # nxsm-bench
//!
//! x86-64 figures for the hot paths of nx-security-module, measured through the exported C
//! ABI exactly as firmware calls it (hand-written `extern "C"` declarations, see [`abi`]).
//! The paths are those of the Cortex-M4 figures (`c-harness/firmware/bench_capture.c`):
//!
//! | path | one iteration (= one operation) |
//! |---|---|
//! | `hook_ipv{4,6}_{out,in}_{50,5000}` | one `nxsm_capture`, traffic cycling over 50 or 5,000 flows; `out` = `NXSM_DIRECTION_OUT` in network order (IP packet filter), `in` = `NXSM_DIRECTION_IN` in host order (receive functions: fixed header words, IPv4 0-4 / IPv6 0-9, in CPU order) |
//! | `drain_ipv{4,6}_{50,5000}` | one record moved from the ring into the flow table by `nxsm_drain` (one call per 32 records, its fixed cost shared by them) |
//! | `collect_64` | one `nxsm_poll` at a due time collecting a 64-flow IPv4 window (network activity only) |
//! | `collect_1` | the same with a 1-flow window: per serialized flow record ("serialize_record") = (`collect_64` - `collect_1`) / 63 |
//! | `collect_full` | one `nxsm_poll` at a due time collecting 64 IPv4 + 64 IPv6 flows, system information and heartbeat into the outbox |
//!
//! With 5,000 flows the 64-slot tables fill at the 64th flow and the records of the others
//! are counted in `table_full_dropped`: that is the path being measured, not a fault.
//!
//! ## What is measured, what is not
//! Each path runs a loop of operations whose surroundings are kept out of the figure by a
//! [`Meter`]: only the closure given to [`Meter::measure`] counts.
//! - Hook paths measure batches of 32 `nxsm_capture` calls; the ring is drained after each
//!   batch, unmeasured, so it never overflows (64 slots).
//! - Drain paths capture 32 packets unmeasured, then measure the `nxsm_drain` that moves
//!   them into the flow table.
//! - Collection paths capture and drain the window's packets (one packet each way per
//!   flow) unmeasured, measure the `nxsm_poll` (its own drain finds the ring empty), then
//!   empty the outbox unmeasured: the hub is connected and every message is handed out with
//!   `nxsm_message_peek` and acknowledged as sent with `nxsm_message_ack`. So every
//!   collection starts with an empty outbox and never takes the drop-oldest path. The clock
//!   steps 60 s per iteration from the first collection, so every poll is due (with the
//!   default 10/30/60 s intervals, all groups are due for `collect_full`). Iterations are
//!   identical but for the heartbeat's counters, which grow (a varint may gain a byte).
//!
//! The setup (module reset, packet building, one unmeasured warm-up collection for the
//! collection paths) is the same for every iteration count.
//!
//! ## Callgrind (the main figure)
//! `nxsm-bench-paths <path> <iterations>` uses the [`callgrind::Callgrind`] meter: it
//! switches callgrind's collection off at once and on only around measured work (Valgrind
//! client requests; they do nothing without Valgrind). Run it twice under plain
//! `valgrind --tool=callgrind` (no `--collect-atstart`, no `--toggle-collect`), with `N`
//! and `2N` iterations, and take the `summary:` (or `totals:`) line of each output file:
//!
//! ```text
//! per operation = (Ir(2N) - Ir(N)) / N
//! ```
//!
//! The constant part (start-up before the meter, the toggles outside the loop) cancels.
//! What remains per operation is the call (arguments, `call`, return) plus the loop's own
//! few instructions and 2 toggles per batch; path `baseline_call` (not in `--list`) runs
//! the hook loop around an empty function of the same signature, the baseline the
//! Cortex-M4 firmware subtracts. Use multiples of 32 for `N` so that every batch is full.
//! The library is built with the workspace's release profile (opt-level `s`, LTO), and the
//! measured functions are called through opaque pointers so nothing is inlined into the
//! loop. It is linked with its `std` feature: without it the library brings the firmware's
//! panic handler, which a std program cannot link (duplicate `panic_impl`). The feature
//! changes no code path of the core; it only selects the `critical-section` implementation,
//! here std's (a mutex and a thread-local flag), which the guarded calls (`nxsm_drain`,
//! `nxsm_poll`) take twice per call; `nxsm_capture` takes none on x86-64.
//!
//! ## Criterion (orientation only)
//! `cargo bench -p nxsm-bench` runs the same paths with the [`Stopwatch`] meter
//! (wall-clock time of the measured closures only), one criterion benchmark per path,
//! reporting time per operation. A hook batch of 32 calls is timed as a whole, so about
//! 1 ns of timer overhead is spread over each hook operation.

#![warn(missing_docs)]

pub mod abi;
pub mod callgrind;
pub mod figures;
pub mod packets;

use std::time::{Duration, Instant};

use abi::{Calls, Stats, NXSM_OK};
use packets::{Family, Packets};

/// Decides which work counts: everything outside [`measure`](Meter::measure) is left out.
pub trait Meter {
    /// Runs `work` as measured work.
    fn measure<R>(&mut self, work: impl FnOnce() -> R) -> R;
}

/// Measures nothing (tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct Unmetered;

impl Meter for Unmetered {
    #[inline(always)]
    fn measure<R>(&mut self, work: impl FnOnce() -> R) -> R {
        work()
    }
}

/// Adds up the wall-clock time of the measured work (criterion).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stopwatch {
    elapsed: Duration,
}

impl Stopwatch {
    /// Total measured time so far.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl Meter for Stopwatch {
    #[inline(always)]
    fn measure<R>(&mut self, work: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let result = work();
        self.elapsed += start.elapsed();
        result
    }
}

/// Unix time at which every run starts the module.
pub const T0: u32 = 1_700_000_000;
/// Captures between two drains (half the default 64-slot ring).
pub const BATCH: u64 = 32;
/// Clock step between two measured collections.
pub const COLLECTION_STEP_S: u32 = 60;
/// Flows of the IPv4 window of `collect_64` (and of each version in `collect_full`).
pub const WINDOW_FLOWS: usize = 64;

/// One benchmarked path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Path {
    HookIpv4Out50,
    HookIpv4In50,
    HookIpv6Out50,
    HookIpv6In50,
    HookIpv4Out5000,
    HookIpv4In5000,
    HookIpv6Out5000,
    HookIpv6In5000,
    DrainIpv4_50,
    DrainIpv6_50,
    DrainIpv4_5000,
    DrainIpv6_5000,
    Collect64,
    Collect1,
    CollectFull,
    /// The hook loop around an empty function: the loop's own cost (not listed).
    BaselineCall,
}

/// What a path does, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `nxsm_capture` per operation.
    Hook {
        /// IP version.
        family: Family,
        /// `nxsm_direction`.
        direction: u32,
        /// `nxsm_header_order`.
        order: u32,
        /// Distinct flows cycled through.
        flows: usize,
    },
    /// One drained record per operation.
    Drain {
        /// IP version.
        family: Family,
        /// Distinct flows cycled through.
        flows: usize,
    },
    /// One collection (`nxsm_poll` at a due time) per operation.
    Collect {
        /// IPv4 flows in each window.
        v4_flows: usize,
        /// IPv6 flows in each window.
        v6_flows: usize,
        /// `nxsm_config.collectors`.
        collectors: u32,
    },
    /// An empty call per operation, in the hook loop.
    Baseline,
}

impl Path {
    /// Every path of the report, in report order (what `--list` prints).
    pub const ALL: [Path; 15] = [
        Path::HookIpv4Out50,
        Path::HookIpv4In50,
        Path::HookIpv6Out50,
        Path::HookIpv6In50,
        Path::HookIpv4Out5000,
        Path::HookIpv4In5000,
        Path::HookIpv6Out5000,
        Path::HookIpv6In5000,
        Path::DrainIpv4_50,
        Path::DrainIpv6_50,
        Path::DrainIpv4_5000,
        Path::DrainIpv6_5000,
        Path::Collect64,
        Path::Collect1,
        Path::CollectFull,
    ];

    /// Paths accepted but not listed.
    pub const EXTRA: [Path; 1] = [Path::BaselineCall];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Path::HookIpv4Out50 => "hook_ipv4_out_50",
            Path::HookIpv4In50 => "hook_ipv4_in_50",
            Path::HookIpv6Out50 => "hook_ipv6_out_50",
            Path::HookIpv6In50 => "hook_ipv6_in_50",
            Path::HookIpv4Out5000 => "hook_ipv4_out_5000",
            Path::HookIpv4In5000 => "hook_ipv4_in_5000",
            Path::HookIpv6Out5000 => "hook_ipv6_out_5000",
            Path::HookIpv6In5000 => "hook_ipv6_in_5000",
            Path::DrainIpv4_50 => "drain_ipv4_50",
            Path::DrainIpv6_50 => "drain_ipv6_50",
            Path::DrainIpv4_5000 => "drain_ipv4_5000",
            Path::DrainIpv6_5000 => "drain_ipv6_5000",
            Path::Collect64 => "collect_64",
            Path::Collect1 => "collect_1",
            Path::CollectFull => "collect_full",
            Path::BaselineCall => "baseline_call",
        }
    }

    /// The path called `name` (listed or extra).
    pub fn from_name(name: &str) -> Option<Path> {
        Path::ALL
            .into_iter()
            .chain(Path::EXTRA)
            .find(|path| path.name() == name)
    }

    /// What one operation of the path is.
    pub fn kind(self) -> Kind {
        use abi::{
            NXSM_COLLECTORS_ALL as ALL, NXSM_COLLECTOR_BIT_NETWORK_ACTIVITY as NETWORK,
            NXSM_DIRECTION_IN as IN, NXSM_DIRECTION_OUT as OUT, NXSM_HEADER_HOST_ORDER as HOST,
            NXSM_HEADER_NETWORK_ORDER as WIRE,
        };
        let hook = |family, direction, flows| Kind::Hook {
            family,
            direction,
            order: if direction == OUT { WIRE } else { HOST },
            flows,
        };
        match self {
            Path::HookIpv4Out50 => hook(Family::V4, OUT, 50),
            Path::HookIpv4In50 => hook(Family::V4, IN, 50),
            Path::HookIpv6Out50 => hook(Family::V6, OUT, 50),
            Path::HookIpv6In50 => hook(Family::V6, IN, 50),
            Path::HookIpv4Out5000 => hook(Family::V4, OUT, 5000),
            Path::HookIpv4In5000 => hook(Family::V4, IN, 5000),
            Path::HookIpv6Out5000 => hook(Family::V6, OUT, 5000),
            Path::HookIpv6In5000 => hook(Family::V6, IN, 5000),
            Path::DrainIpv4_50 => Kind::Drain {
                family: Family::V4,
                flows: 50,
            },
            Path::DrainIpv6_50 => Kind::Drain {
                family: Family::V6,
                flows: 50,
            },
            Path::DrainIpv4_5000 => Kind::Drain {
                family: Family::V4,
                flows: 5000,
            },
            Path::DrainIpv6_5000 => Kind::Drain {
                family: Family::V6,
                flows: 5000,
            },
            Path::Collect64 => Kind::Collect {
                v4_flows: WINDOW_FLOWS,
                v6_flows: 0,
                collectors: NETWORK,
            },
            Path::Collect1 => Kind::Collect {
                v4_flows: 1,
                v6_flows: 0,
                collectors: NETWORK,
            },
            Path::CollectFull => Kind::Collect {
                v4_flows: WINDOW_FLOWS,
                v6_flows: WINDOW_FLOWS,
                collectors: ALL,
            },
            Path::BaselineCall => Kind::Baseline,
        }
    }

    /// One line on what an operation is.
    pub fn description(self) -> &'static str {
        match self {
            Path::Collect64 => "one nxsm_poll collecting a 64-flow IPv4 window",
            Path::Collect1 => "one nxsm_poll collecting a 1-flow IPv4 window",
            Path::CollectFull => {
                "one nxsm_poll collecting 64+64 flows, system information and heartbeat"
            }
            Path::BaselineCall => "one call of an empty function in the hook loop",
            _ if matches!(self.kind(), Kind::Drain { .. }) => {
                "one record drained into the flow table (nxsm_drain per 32)"
            }
            _ => "one nxsm_capture (hook path)",
        }
    }

    /// Builds the packets of the path (before any measurement).
    pub fn prepare(self) -> Workload {
        use abi::{
            NXSM_DIRECTION_IN as IN, NXSM_DIRECTION_OUT as OUT, NXSM_HEADER_HOST_ORDER as HOST,
            NXSM_HEADER_NETWORK_ORDER as WIRE,
        };
        let sets = match self.kind() {
            Kind::Hook {
                family,
                direction,
                order,
                flows,
            } => vec![Packets::tcp(family, direction, order, flows)],
            Kind::Drain { family, flows } => vec![Packets::tcp(family, OUT, WIRE, flows)],
            Kind::Collect {
                v4_flows, v6_flows, ..
            } => {
                let mut sets = Vec::new();
                for (family, flows) in [(Family::V4, v4_flows), (Family::V6, v6_flows)] {
                    if flows > 0 {
                        sets.push(Packets::tcp(family, OUT, WIRE, flows));
                        sets.push(Packets::tcp(family, IN, HOST, flows));
                    }
                }
                sets
            }
            Kind::Baseline => vec![Packets::tcp(Family::V4, OUT, WIRE, 50)],
        };
        Workload { path: self, sets }
    }
}

/// A path with its packets built.
#[derive(Clone, Debug)]
pub struct Workload {
    path: Path,
    sets: Vec<Packets>,
}

/// What a run did, for checks.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// The path.
    pub path: Path,
    /// Measured operations.
    pub iterations: u64,
    /// Counters right before the first measured operation.
    pub before: Stats,
    /// Counters at the end (the ring drained).
    pub after: Stats,
    /// Packets captured during the measured iterations (measured or not).
    pub captured: u64,
    /// Unexpected results of library calls (each should be `NXSM_OK`).
    pub failures: u64,
    /// Messages handed out after the measured collections.
    pub messages: u64,
    /// Their bytes.
    pub message_bytes: u64,
}

impl Outcome {
    /// The checks every run must pass: no failed call, every captured packet recorded and
    /// drained (counted in a flow or as `table_full_dropped`), no ring overflow, nothing
    /// malformed or ignored, no message dropped.
    pub fn check(&self) -> Result<(), String> {
        let (b, a) = (&self.before, &self.after);
        let delta = |f: fn(&Stats) -> u64| f(a).wrapping_sub(f(b));
        let mut problems = Vec::new();
        if self.failures != 0 {
            problems.push(format!("{} library calls failed", self.failures));
        }
        if delta(|s| s.packets_seen) != self.captured {
            problems.push(format!(
                "{} packets seen, {} captured",
                delta(|s| s.packets_seen),
                self.captured
            ));
        }
        let drained = delta(|s| s.packets_counted) + delta(|s| s.table_full_dropped);
        if drained != self.captured || a.ring_waiting != 0 {
            problems.push(format!(
                "{drained} of {} packets drained, {} waiting",
                self.captured, a.ring_waiting
            ));
        }
        for (name, value) in [
            ("ring_dropped", delta(|s| s.ring_dropped)),
            ("malformed", delta(|s| s.malformed)),
            ("ignored", delta(|s| s.ignored)),
            ("messages_dropped", delta(|s| u64::from(s.messages_dropped))),
        ] {
            if value != 0 {
                problems.push(format!("{name} +{value}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {}", self.path.name(), problems.join(", ")))
        }
    }
}

impl Workload {
    /// The path.
    pub fn path(&self) -> Path {
        self.path
    }

    /// The packet sets (hook and drain paths: one; collection paths: out and in per IP
    /// version in the window).
    pub fn sets(&self) -> &[Packets] {
        &self.sets
    }

    /// Resets the module and runs `iterations` operations, `meter` deciding what counts.
    pub fn run(&self, iterations: u64, meter: &mut impl Meter) -> Outcome {
        self.run_observed(iterations, meter, |_, _| {})
    }

    /// [`run`](Self::run), showing `on_message` every message a measured collection made,
    /// with the iteration's number (from 0).
    pub fn run_observed(
        &self,
        iterations: u64,
        meter: &mut impl Meter,
        mut on_message: impl FnMut(u64, &[u8]),
    ) -> Outcome {
        match self.path.kind() {
            Kind::Hook { .. } => self.run_hooks(Calls::library(), iterations, meter),
            Kind::Baseline => {
                self.run_hooks(Calls::with_capture(abi::empty_call), iterations, meter)
            }
            Kind::Drain { .. } => self.run_drains(iterations, meter),
            Kind::Collect { collectors, .. } => {
                self.run_collections(collectors, iterations, meter, &mut on_message)
            }
        }
    }

    fn outcome(&self, iterations: u64, before: Stats, captured: u64, failures: u64) -> Outcome {
        Outcome {
            path: self.path,
            iterations,
            before,
            after: abi::stats(),
            captured,
            failures,
            messages: 0,
            message_bytes: 0,
        }
    }

    fn run_hooks(&self, calls: Calls, iterations: u64, meter: &mut impl Meter) -> Outcome {
        reset(abi::NXSM_COLLECTORS_ALL);
        let set = &self.sets[0];
        let (direction, order, len) = (set.direction(), set.order(), set.packet_len());
        let bytes = set.bytes();
        let first = bytes.as_ptr();
        let mut next = 0usize;
        let before = abi::stats();
        let mut failures = 0;
        let mut left = iterations;
        let mut batches = 0u32;
        while left > 0 {
            let batch = left.min(BATCH);
            meter.measure(|| {
                for _ in 0..batch {
                    // SAFETY: `next` is the offset of a whole packet inside `bytes`, which
                    // is neither freed nor changed while the library reads it.
                    unsafe { calls.capture(first.wrapping_add(next), len, direction, order) };
                    next += len;
                    if next == bytes.len() {
                        next = 0;
                    }
                }
            });
            left -= batch;
            batches = batches.wrapping_add(1);
            failures += u64::from(calls.drain(T0.wrapping_add(batches)) != NXSM_OK);
        }
        let captured = if matches!(self.path.kind(), Kind::Baseline) {
            0
        } else {
            iterations
        };
        self.outcome(iterations, before, captured, failures)
    }

    fn run_drains(&self, iterations: u64, meter: &mut impl Meter) -> Outcome {
        reset(abi::NXSM_COLLECTORS_ALL);
        let calls = Calls::library();
        let set = &self.sets[0];
        let mut next = 0usize;
        let before = abi::stats();
        let mut failures = 0;
        let mut left = iterations;
        let mut batches = 0u32;
        while left > 0 {
            let batch = left.min(BATCH);
            for _ in 0..batch {
                let packet = set.get(next);
                // SAFETY: `packet` is live and unchanged during the call.
                let code = unsafe {
                    calls.capture(packet.as_ptr(), packet.len(), set.direction(), set.order())
                };
                failures += u64::from(code != NXSM_OK);
                next = if next + 1 == set.len() { 0 } else { next + 1 };
            }
            left -= batch;
            batches = batches.wrapping_add(1);
            let now = T0.wrapping_add(batches);
            let code = meter.measure(|| calls.drain(now));
            failures += u64::from(code != NXSM_OK);
        }
        self.outcome(iterations, before, iterations, failures)
    }

    fn run_collections(
        &self,
        collectors: u32,
        iterations: u64,
        meter: &mut impl Meter,
        on_message: &mut impl FnMut(u64, &[u8]),
    ) -> Outcome {
        reset(collectors);
        let calls = Calls::library();
        let first = abi::stats().first_collection_s;
        let last = u64::from(first) + iterations * u64::from(COLLECTION_STEP_S);
        assert!(
            last <= u64::from(u32::MAX - 1),
            "{iterations} collections 60 s apart do not fit in 32-bit time"
        );
        // Warm-up: the first collection (everything enabled is due), same for every count.
        let mut failures = self.fill_window(calls, first);
        failures += u64::from(calls.poll(first, true) != NXSM_OK);
        abi::take_messages(|_| {});
        let before = abi::stats();
        let (mut messages, mut message_bytes) = (0u64, 0u64);
        let mut now = first;
        for iteration in 0..iterations {
            now += COLLECTION_STEP_S;
            failures += self.fill_window(calls, now);
            let code = meter.measure(|| calls.poll(now, true));
            failures += u64::from(code != NXSM_OK);
            abi::take_messages(|bytes| {
                messages += 1;
                message_bytes += bytes.len() as u64;
                on_message(iteration, bytes);
            });
        }
        let per_window: u64 = self.sets.iter().map(|set| set.len() as u64).sum();
        let mut outcome = self.outcome(iterations, before, iterations * per_window, failures);
        outcome.messages = messages;
        outcome.message_bytes = message_bytes;
        outcome
    }

    /// Captures one packet of every set for every flow and drains them at `now`, draining
    /// every [`BATCH`] captures; returns how many calls failed.
    fn fill_window(&self, calls: Calls, now: u32) -> u64 {
        let mut failures = 0;
        let mut pending = 0;
        for set in &self.sets {
            for index in 0..set.len() {
                let packet = set.get(index);
                // SAFETY: `packet` is live and unchanged during the call.
                let code = unsafe {
                    calls.capture(packet.as_ptr(), packet.len(), set.direction(), set.order())
                };
                failures += u64::from(code != NXSM_OK);
                pending += 1;
                if pending == BATCH {
                    failures += u64::from(calls.drain(now) != NXSM_OK);
                    pending = 0;
                }
            }
        }
        failures + u64::from(calls.drain(now) != NXSM_OK)
    }
}

/// Starts the module afresh at [`T0`] with `collectors`, hub connected (ACTIVE), platform
/// versions set, and the outbox, ring and flow tables empty. Counters are cumulative (the
/// library keeps them across stops), so runs compare counters before and after.
pub fn reset(collectors: u32) {
    // Not running is fine; stopping collects a window left by an earlier run.
    let _ = abi::stop();
    let mut config = abi::default_config();
    config.collectors = collectors;
    assert_eq!(abi::start(&config, T0, 0), NXSM_OK, "nxsm_start");
    assert_eq!(
        abi::set_platform_info([6, 4, 1], [6, 4, 1]),
        NXSM_OK,
        "nxsm_set_platform_info"
    );
    assert_eq!(Calls::library().poll(T0, true), NXSM_OK, "nxsm_poll");
    abi::take_messages(|_| {});
    let stats = abi::stats();
    assert_eq!(stats.state, abi::NXSM_STATE_ACTIVE, "state after reset");
    assert_eq!(
        (
            stats.outbox_messages,
            stats.ring_waiting,
            stats.flows_v4,
            stats.flows_v6
        ),
        (0, 0, 0, 0),
        "outbox, ring and flow tables empty after reset"
    );
}
