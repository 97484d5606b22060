//! The monitor: the capture intake, the security module and the consumer's wake-up, and
//! the order every operation follows.
//!
//! Hooks capture through [`Monitor::capture`](crate::monitor::Monitor::capture) from any context at once (ISRs included);
//! everything else runs on the consumer's side, one caller at a time: a second caller is
//! turned away with [`Error::Busy`](crate::monitor::Error::Busy), never made to wait. The rules that tie the intake to
//! the module live here and only here: start opens the intake when network activity is
//! collected; stop and switching that collector off close it and drain what it holds
//! before anything else; every poll drains first, with or without a clock.
//!
//! The C API (`ffi`) is a one-to-one wrapper of this type; tests, fuzz targets and tools
//! drive it directly with a [`core::cell::RefCell`] for the module.

use crate::capture::{Captured, FlowRecord};
use crate::config::{capacity, Priority, Settings, DETECTION};
use crate::detect::Alert;
use crate::hygiene::audit::AuditKind;
use crate::hygiene::findings::Service;
use crate::hygiene::inventory::{Scan, Socket};
use crate::intake::{Intake, IntakeCounters, Offer, Packet};
use crate::module::{result_code, LifecycleError, Module, Platform, SetError, State, UnixSeconds};
use crate::policy::store::{LoadError, Policies, PolicyStore};
use crate::policy::{Layout, PolicyError};
use crate::raw::{self, Seen};
use crate::scheduler::Collector;
use crate::wire::Parsed;

/// Exclusive access to a value that never waits: `None` at once while another context
/// holds it.
pub trait Exclusive<T> {
    /// Runs `f` with the value, or returns `None` when another caller holds it.
    fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R>;
}

/// For single-threaded use (tests, fuzz targets, tools).
impl<T> Exclusive<T> for core::cell::RefCell<T> {
    fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.try_borrow_mut().ok().map(|mut value| f(&mut value))
    }
}

/// What the monitor tells the firmware as it happens.
pub trait Notify {
    /// The capture ring reached its watermark: wake the consumer. Called in the capturing
    /// context, possibly an ISR: it must only signal (e.g. set an event flag).
    fn wake(&self);

    /// An alert went into the outbox. Called on the consumer's side, inside the monitor:
    /// a local response (log it, light a LED) that must not call the monitor back.
    fn alert(&self, alert: &Alert) {
        let _ = alert;
    }

    /// Reads the platform's socket tables into `sockets` (see
    /// [`Inventory::read`](crate::hygiene::inventory::Inventory::read)); `None` when the
    /// platform has no reader. Called on the consumer's side, inside the monitor, when an
    /// inventory read is due.
    fn read_sockets(&self, sockets: &mut [Socket]) -> Option<Scan> {
        let _ = sockets;
        None
    }
}

/// No wake-up and no alert callback: the consumer polls.
impl Notify for () {
    #[inline(always)]
    fn wake(&self) {}
}

/// Why a consumer-side operation did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Another context is inside the monitor right now; try again.
    Busy,
    /// Start while running, or a change that needs the monitor stopped.
    AlreadyStarted,
    /// An operation that needs a running monitor.
    NotStarted,
    /// A value outside its documented range.
    InvalidArgument,
    /// The poll had no clock: the ring was drained, nothing else moved.
    ClockUnavailable,
    /// No message to hand out now.
    NoMessage,
    /// A policy blob breaks a rule of its format; the active policy stays.
    Policy(PolicyError),
    /// The library was built without the feature (detection: `NXSM_DETECTION`).
    NotBuilt,
}

impl Error {
    /// Its C result code (`nxsm_result`), as the C API returns it and audit records carry
    /// it.
    pub const fn code(self) -> u32 {
        match self {
            Self::Busy => result_code::BUSY,
            Self::AlreadyStarted => result_code::ALREADY_STARTED,
            Self::NotStarted => result_code::NOT_STARTED,
            Self::InvalidArgument => result_code::INVALID_ARGUMENT,
            Self::ClockUnavailable => result_code::CLOCK_UNAVAILABLE,
            Self::NoMessage => result_code::NO_MESSAGE,
            Self::Policy(error) => error as u32,
            Self::NotBuilt => result_code::NOT_BUILT,
        }
    }
}

impl From<LoadError> for Error {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Policy(error) => Self::Policy(error),
            LoadError::Busy => Self::Busy,
        }
    }
}

impl From<LifecycleError> for Error {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::AlreadyStarted => Self::AlreadyStarted,
            LifecycleError::NotStarted => Self::NotStarted,
        }
    }
}

impl From<SetError> for Error {
    fn from(error: SetError) -> Self {
        match error {
            SetError::OutOfRange => Self::InvalidArgument,
            SetError::NotStarted => Self::NotStarted,
            SetError::NotBuilt => Self::NotBuilt,
        }
    }
}

/// What became of one captured packet. Numbered as the C API numbers the same results, so
/// that its wrapper's conversion costs the hooks no instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Capture {
    /// Stored for the consumer.
    Stored = 0,
    /// The monitor is stopped; not counted.
    NotStarted = 4,
    /// Could not be parsed; counted as malformed.
    Malformed = 8,
    /// The ring was full; counted as a ring drop.
    RingFull = 9,
    /// Well-formed, nothing to record; counted as ignored.
    NotRecorded = 10,
    /// The monitor runs with its network-activity collector off; not counted.
    CaptureOff = 12,
    /// A block rule of the policy matches the packet: the hook drops it (counted in
    /// `packets_blocked`; its record was kept or counted as the other outcomes say).
    Blocked = 24,
}

/// The active policy's name and size, as [`Monitor::policy_info`] reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyInfo {
    /// Its CRC-32 (the policy's name in reports).
    pub crc32: u32,
    /// Its flags (`docs/policy-format.md`, 1.2).
    pub flags: u32,
    /// Ranges and ports per list: IPv4 and IPv6 indicators, IPv4 and IPv6 allow ranges,
    /// TCP and UDP ports.
    pub counts: [usize; 6],
}

/// The intake, the module behind `M` (one consumer at a time), what `W` tells the firmware and the
/// detection policy. `repr(C)`, intake first: the hooks reach its fields with short offsets
/// from the monitor's address, which a large field placed before it would push out of reach
/// (6 more instructions per IPv4 packet, scripts/bench).
#[repr(C)]
pub struct Monitor<M, W> {
    intake: Intake,
    module: M,
    notify: W,
    policy: Policies,
}

impl<M: Exclusive<Module>, W: Notify> Monitor<M, W> {
    /// A stopped monitor (usable in a `static`).
    pub const fn new(module: M, notify: W) -> Self {
        Self {
            intake: Intake::new(),
            module,
            notify,
            policy: PolicyStore::new(),
        }
    }

    /// The wake-up.
    #[cfg(test)]
    fn waker(&self) -> &W {
        &self.notify
    }

    // ---- capture: any context, never waits ------------------------------------------------

    /// Records one packet seen as `seen` tells. Never waits; safe from ISRs and any number
    /// of contexts at once. Wakes the consumer when the ring reaches its watermark.
    ///
    /// Two steps: [`capture_fast`](Self::capture_fast), then for every packet it leaves
    /// [`capture_rest`](Self::capture_rest). A caller on a hot path keeps the second out of
    /// line, so the first keeps its registers (the C API does).
    #[inline(always)]
    pub fn capture<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Capture {
        match self.capture_fast(packet, seen) {
            Some(capture) => capture,
            None => self.capture_rest(packet, seen),
        }
    }

    /// The IPv4 fast path: `None` when the packet does not have its shape.
    #[inline(always)]
    pub fn capture_fast<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Option<Capture> {
        Some(self.outcome(self.intake.offer_fast_v4(packet, seen)?))
    }

    /// Every packet the IPv4 fast path leaves: the IPv6 fast path, then the parse; then the
    /// block rules (while one is active the fast path leaves every packet, see
    /// [`crate::raw::BLOCKING`]).
    #[inline(always)]
    pub fn capture_rest<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Capture {
        if DETECTION && self.blocking() {
            return self.capture_blocking(packet, seen);
        }
        self.outcome(self.intake.offer_other_shapes(packet, seen))
    }

    /// A capture while a block rule is active: stored as without one, then decided on.
    /// Cold, so that the paths without a block rule keep their registers and frame.
    #[cold]
    #[inline(never)]
    fn capture_blocking<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Capture {
        let outcome = self.outcome(self.intake.offer_while_blocking(packet, seen));
        if self.blocks(packet, seen) {
            return Capture::Blocked;
        }
        outcome
    }

    #[inline(always)]
    fn outcome(&self, offer: Offer) -> Capture {
        match offer {
            Offer::Stored { at_watermark } => {
                if at_watermark {
                    self.notify.wake();
                }
                Capture::Stored
            }
            Offer::Ignored => Capture::NotRecorded,
            Offer::Malformed(_) => Capture::Malformed,
            Offer::Dropped => Capture::RingFull,
            Offer::Closed => self.closed(),
        }
    }

    /// Whether a rule of the active policy blocks packets: what a hook asks before
    /// [`blocks`](Self::blocks) on the out-of-line path (the IPv4 fast path declines every
    /// packet while one does, see [`crate::raw::BLOCKING`]).
    #[inline(always)]
    pub fn blocking(&self) -> bool {
        self.intake.blocking()
    }

    /// Whether the active policy drops this packet; counted when it does. Out of line: only
    /// hooks of a device with a block rule come here. An IPv4 packet of the fast path's
    /// shape is read in place by the drain's own parser; others are parsed in full.
    #[inline(never)]
    pub fn blocks<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> bool {
        let parsed = match packet.v4_header() {
            Some(header) if raw::is_fast_v4_header(header, seen.order()) => {
                raw::parse_v4(raw::HeaderV4::new(header, seen)).ok()
            }
            _ => match crate::wire::parse(packet.bytes(), seen.order()) {
                Ok(Parsed::Flow(datagram) | Parsed::FirstFragment(datagram, _)) => Some(
                    Captured::Record(FlowRecord::new(seen.direction(), &datagram)),
                ),
                _ => None,
            },
        };
        // A first fragment is judged by its ports; later ones have none.
        let record = match parsed {
            Some(Captured::Record(record)) => record,
            Some(Captured::Fragment(fragment)) if fragment.is_first() => *fragment.record(),
            _ => return false,
        };
        let blocked = self
            .policy
            .read(|policy| policy.is_some_and(|policy| crate::detect::blocks(&policy, &record)));
        if blocked {
            self.policy.count_blocked();
        }
        blocked
    }

    /// Why capture is off. Decided only here, so a stored packet pays nothing for it. (Not
    /// `#[cold]`: that moves the branch here out of a short `cbz`'s reach in the hooks.)
    #[inline(never)]
    fn closed(&self) -> Capture {
        if self.intake.is_started() {
            Capture::CaptureOff
        } else {
            Capture::NotStarted
        }
    }

    // ---- consumer side: one caller at a time ----------------------------------------------
    //
    // Each operation is inlined into its one caller in a firmware, its C entry point: as
    // calls of their own they cost 224 B of code and 24 B of stack at the deepest poll
    // (scripts/bench).

    /// Runs `f` with the module, or `Busy`. (Inline into each operation: a frame of its own
    /// adds to the stack of every call.)
    #[inline(always)]
    fn with_module<R>(&self, f: impl FnOnce(&mut Module) -> Result<R, Error>) -> Result<R, Error> {
        self.module.try_with(f).unwrap_or(Err(Error::Busy))
    }

    /// Runs `f` with the module if it is running.
    #[inline(always)]
    fn with_running<R>(&self, f: impl FnOnce(&mut Module) -> Result<R, Error>) -> Result<R, Error> {
        self.with_module(|module| {
            if !module.is_running() {
                return Err(Error::NotStarted);
            }
            f(module)
        })
    }

    /// Starts: NOT_INITIALIZED -> PENDING, capturing if network activity is collected.
    /// `random` spreads the first collection.
    #[inline(always)]
    pub fn start(&self, settings: &Settings, now: UnixSeconds, random: u32) -> Result<(), Error> {
        self.with_module(|module| {
            module.start(settings, now, random)?;
            if settings.collectors & Collector::NetworkActivity.bit() != 0 {
                self.intake
                    .open(settings.protocols, self.policy.block() != 0);
            }
            self.intake.set_started(true);
            Ok(())
        })
    }

    /// Stops: any state -> NOT_INITIALIZED. What the ring holds is drained and the open
    /// window collected into the outbox first; messages and counters stay for the next
    /// start.
    #[inline(always)]
    pub fn stop(&self) -> Result<(), Error> {
        self.with_running(|module| {
            self.intake.set_started(false);
            self.close_intake(module);
            let intake = module.intake_counters(&self.intake);
            module.stop(&intake, &self.policy)?;
            Ok(())
        })
    }

    /// Drains the ring, then runs the state machine at `now` and makes the collections
    /// that are due. Without a clock (`now` is `None`) the ring is still drained, stamped
    /// with the last known time, and the result is `ClockUnavailable`.
    #[inline(always)]
    pub fn poll(&self, now: Option<UnixSeconds>, hub_connected: bool) -> Result<(), Error> {
        self.with_running(|module| {
            module.drain(&self.intake, now.unwrap_or(module.now()), &self.policy);
            let Some(now) = now else {
                module.poll_without_clock()?;
                return Err(Error::ClockUnavailable);
            };
            let intake = module.intake_counters(&self.intake);
            module.poll_reading(
                now,
                hub_connected,
                &intake,
                &self.policy,
                |alert| self.notify.alert(alert),
                |sockets| self.notify.read_sockets(sockets),
            )?;
            // Learn mode may have made a new policy.
            self.intake.set_blocking(self.policy.block() != 0);
            Ok(())
        })
    }

    /// Moves the records waiting in the ring into the flow table, stamped `now` (the
    /// module's clock moves with polls alone). Returns how many entries were taken.
    #[inline(always)]
    pub fn drain(&self, now: UnixSeconds) -> Result<u32, Error> {
        self.with_running(|module| Ok(module.drain(&self.intake, now, &self.policy)))
    }

    /// Lends the oldest waiting message to `f` as (sequence, bytes). The bytes stay where
    /// they are, unchanged, until [`ack`](Self::ack), whatever runs meanwhile.
    #[inline(always)]
    pub fn peek<R>(&self, f: impl FnOnce(u32, &[u8]) -> R) -> Result<R, Error> {
        self.with_module(|module| {
            let (sequence, bytes) = module.peek().ok_or(Error::NoMessage)?;
            Ok(f(sequence, bytes))
        })
    }

    /// Reports what became of message `sequence`: sent (removed) or not (kept, retried).
    #[inline(always)]
    pub fn ack(&self, sequence: u32, sent: bool) -> Result<(), Error> {
        self.with_module(|module| {
            module
                .ack(sequence, sent)
                .map_err(|_| Error::InvalidArgument)
        })
    }

    /// Sets the platform versions reported in system information (any state).
    #[inline(always)]
    pub fn set_platform(&self, platform: Platform) -> Result<(), Error> {
        self.with_module(|module| {
            module.set_platform(platform);
            Ok(())
        })
    }

    /// Enables or disables a collector and puts it in a priority group, on a running
    /// monitor. Network activity off: the ring is drained and the open window collected at
    /// once, and capture stops; on: capture starts a new window.
    #[inline(always)]
    pub fn set_collector(
        &self,
        collector: Collector,
        enabled: bool,
        group: Priority,
    ) -> Result<(), Error> {
        self.with_running(|module| {
            if collector == Collector::NetworkActivity {
                if enabled {
                    self.intake
                        .open(module.settings().protocols, self.policy.block() != 0);
                } else {
                    self.close_intake(module);
                }
            }
            let intake = module.intake_counters(&self.intake);
            module.set_collector(collector, enabled, group, &intake, &self.policy)?;
            Ok(())
        })
    }

    /// Whether a collector is enabled, and its priority group.
    #[inline(always)]
    pub fn collector(&self, collector: Collector) -> Result<(bool, Priority), Error> {
        self.with_module(|module| Ok(module.collector(collector)))
    }

    /// Changes a priority group's interval on a running monitor.
    #[inline(always)]
    pub fn set_interval(&self, group: Priority, seconds: u32) -> Result<(), Error> {
        self.with_module(|module| Ok(module.set_interval(group, seconds)?))
    }

    /// A priority group's interval.
    #[inline(always)]
    pub fn interval(&self, group: Priority) -> Result<u32, Error> {
        self.with_module(|module| Ok(module.interval(group)))
    }

    /// Checks a policy blob and makes it the active policy (any state, any context but a
    /// hook). On any error the active policy stays.
    pub fn load_policy(&self, blob: &[u8]) -> Result<Layout, Error> {
        if !DETECTION {
            return Err(Error::NotBuilt);
        }
        // Under the module's lock: the intake's blocking bit changes with its switches.
        self.with_module(|module| {
            let before = self.policy_crc();
            let loaded = self.policy.load(blob);
            self.intake.set_blocking(self.policy.block() != 0);
            let result = loaded.err().map_or(0, |error| Error::from(error).code());
            // The policy's own CRC of what was offered: the name of a policy it accepts.
            let offered = crate::policy::crc32(blob, blob.len().div_ceil(4));
            let values = [offered, before, self.policy_crc()];
            module.audit(AuditKind::PolicyLoaded, result, values);
            Ok(loaded?)
        })
    }

    /// The active policy's CRC-32, 0 without one.
    fn policy_crc(&self) -> u32 {
        self.policy
            .read(|policy| policy.map_or(0, |policy| policy.crc32()))
    }

    /// Replaces the risky-service list that findings check listening and bound ports
    /// against (`None`: the defaults). Any state.
    pub fn set_services(&self, services: Option<&[Service]>) -> Result<(), Error> {
        self.with_module(|module| {
            module.set_services(services);
            Ok(())
        })
    }

    /// Records a request the C API refused before it reached the module, when the module
    /// is free.
    pub fn audit_refused(&self, kind: AuditKind, code: u32, values: [u32; 3]) {
        let _ = self.with_module(|module| {
            module.audit(kind, code, values);
            Ok(())
        });
    }

    /// Starts learn mode for `seconds` on a running monitor (see
    /// [`crate::detect::baseline`]).
    pub fn learn_baseline(&self, seconds: u32) -> Result<(), Error> {
        self.with_module(|module| Ok(module.learn(seconds)?))
    }

    /// Forgets the active policy.
    pub fn clear_policy(&self) -> Result<(), Error> {
        self.with_module(|module| {
            let before = self.policy_crc();
            self.policy.clear()?;
            self.intake.set_blocking(false);
            module.audit(AuditKind::PolicyCleared, 0, [0, before, 0]);
            Ok(())
        })
    }

    /// What the active policy is (`None` without one): read from the store as a hook reads
    /// it, so any context may ask, also while a load runs. `Busy` when loads kept finishing
    /// while it looked (it never waits).
    pub fn policy_info(&self) -> Result<Option<PolicyInfo>, Error> {
        self.policy
            .try_read(|policy| {
                policy.map(|policy| PolicyInfo {
                    crc32: policy.crc32(),
                    flags: policy.flags(),
                    counts: policy.counts(),
                })
            })
            .ok_or(Error::Busy)
    }

    /// The state.
    #[inline(always)]
    pub fn state(&self) -> Result<State, Error> {
        self.with_module(|module| Ok(module.state()))
    }

    /// Runs `f` with the module and the intake's totals as of now, all read in one
    /// critical section of the module (which hooks never enter), so they agree.
    #[inline(always)]
    pub fn snapshot<R>(&self, f: impl FnOnce(&Module, &IntakeCounters) -> R) -> Result<R, Error> {
        self.with_module(|module| {
            let intake = module.intake_counters(&self.intake);
            Ok(f(module, &intake))
        })
    }

    /// Sets the ring fill at which captures wake the consumer (1..=ring slots; `None`:
    /// never), with `change` making the matching change to the wake-up. Only while
    /// stopped, so no capture is storing meanwhile.
    #[inline(always)]
    pub fn set_watermark(
        &self,
        fill: Option<u32>,
        change: impl FnOnce(&W) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.with_module(|module| {
            if module.is_running() {
                return Err(Error::AlreadyStarted);
            }
            if fill.is_some_and(|fill| fill == 0 || fill as usize > capacity::RING_SLOTS) {
                return Err(Error::InvalidArgument);
            }
            change(&self.notify)?;
            // 0 is a fill no capture reports.
            self.intake.set_watermark(fill.unwrap_or(0));
            Ok(())
        })
    }

    /// Runs `change` with what the monitor calls back, while no poll runs (so never while
    /// an alert is being told). Any state.
    pub fn with_notify(&self, change: impl FnOnce(&W)) -> Result<(), Error> {
        self.with_module(|_| {
            change(&self.notify);
            Ok(())
        })
    }

    /// Stops capture; what the ring already holds still counts.
    fn close_intake(&self, module: &mut Module) {
        self.intake.close();
        module.drain(&self.intake, module.now(), &self.policy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Direction;
    use crate::wire::HeaderOrder;
    use core::cell::{Cell, RefCell};

    const T0: u32 = 1_700_000_000;
    const OUT: Seen = Seen::new(Direction::Out, HeaderOrder::Network);

    /// A UDP datagram from 10.0.0.1:5000 to 10.0.0.2:53, 40 bytes (the IPv4 fast path).
    const UDP: [u8; 40] = {
        let mut p = [0u8; 40];
        let head = [
            0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x13, 0x88, 0, 53,
            0, 20, 0, 0,
        ];
        let mut i = 0;
        while i < head.len() {
            p[i] = head[i];
            i += 1;
        }
        p
    };

    #[derive(Default)]
    struct Count(Cell<u32>, RefCell<std::vec::Vec<Alert>>);

    impl Notify for Count {
        fn wake(&self) {
            self.0.set(self.0.get() + 1);
        }

        fn alert(&self, alert: &Alert) {
            self.1.borrow_mut().push(*alert);
        }
    }

    fn monitor() -> Monitor<RefCell<Module>, Count> {
        Monitor::new(RefCell::new(Module::new()), Count::default())
    }

    #[test]
    #[cfg(not(feature = "detection"))]
    fn without_detection_policies_and_learning_are_not_built() {
        let monitor = monitor();
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        let blob = crate::policy::spec::Spec::default().blob();
        assert_eq!(monitor.load_policy(&blob), Err(Error::NotBuilt));
        assert_eq!(monitor.learn_baseline(10), Err(Error::NotBuilt));
        assert!(!monitor.blocking());
        assert_eq!(monitor.capture(&UDP[..], OUT), Capture::Stored);
    }

    #[test]
    fn capture_follows_the_life_cycle() {
        let monitor = monitor();
        assert_eq!(monitor.capture(&UDP[..], OUT), Capture::NotStarted);
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        assert_eq!(
            monitor.start(&Settings::DEFAULT, T0, 0),
            Err(Error::AlreadyStarted)
        );
        assert_eq!(monitor.capture(&UDP[..], OUT), Capture::Stored);
        assert_eq!(monitor.capture(&UDP[..10], OUT), Capture::Malformed);
        monitor
            .set_collector(Collector::NetworkActivity, false, Priority::High)
            .unwrap();
        assert_eq!(monitor.capture(&UDP[..], OUT), Capture::CaptureOff);
        // Switching capture off drained the ring first: the stored packet counts.
        let (counted, seen) = monitor
            .snapshot(|module, intake| (module.counters().packets_counted, intake.seen))
            .unwrap();
        assert_eq!((counted, seen), (1, 2));
        monitor.stop().unwrap();
        assert_eq!(monitor.stop(), Err(Error::NotStarted));
        assert_eq!(monitor.capture(&UDP[..], OUT), Capture::NotStarted);
    }

    #[test]
    fn stop_drains_what_the_ring_holds() {
        let monitor = monitor();
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        for _ in 0..3 {
            assert_eq!(monitor.capture(&UDP[..], OUT), Capture::Stored);
        }
        monitor.stop().unwrap();
        let (counted, waiting) = monitor
            .snapshot(|module, intake| (module.counters().packets_counted, intake.ring_waiting))
            .unwrap();
        assert_eq!((counted, waiting), (3, 0));
    }

    #[test]
    fn a_poll_without_clock_still_drains() {
        let monitor = monitor();
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        monitor.capture(&UDP[..], OUT);
        assert_eq!(monitor.poll(None, true), Err(Error::ClockUnavailable));
        let (flows, unavailable) = monitor
            .snapshot(|module, _| (module.flows().v4.len(), module.counters().clock_unavailable))
            .unwrap();
        assert_eq!((flows, unavailable), (1, 1));
    }

    #[test]
    fn the_watermark_wakes_once_and_changes_only_while_stopped() {
        let monitor = monitor();
        monitor.set_watermark(Some(2), |_| Ok(())).unwrap();
        for wrong in [0, capacity::RING_SLOTS as u32 + 1] {
            assert_eq!(
                monitor.set_watermark(Some(wrong), |_| Ok(())),
                Err(Error::InvalidArgument)
            );
        }
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        assert_eq!(
            monitor.set_watermark(Some(1), |_| Ok(())),
            Err(Error::AlreadyStarted)
        );
        for _ in 0..3 {
            monitor.capture(&UDP[..], OUT);
        }
        assert_eq!(monitor.waker().0.get(), 1);
    }

    #[test]
    fn a_second_caller_is_turned_away() {
        let monitor = monitor();
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        let inner = monitor
            .snapshot(|_, _| monitor.poll(Some(T0 + 1), true))
            .unwrap();
        assert_eq!(inner, Err(Error::Busy));
        // Capture never needs the module: it works while the consumer is inside.
        let stored = monitor
            .snapshot(|_, _| monitor.capture(&UDP[..], OUT))
            .unwrap();
        assert_eq!(stored, Capture::Stored);
    }

    #[test]
    fn messages_are_lent_until_acknowledged() {
        let monitor = monitor();
        assert_eq!(monitor.peek(|_, _| ()), Err(Error::NoMessage));
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        monitor.capture(&UDP[..], OUT);
        // Active at once with a hub; the first collection within 30-89 s.
        let mut now = T0;
        while monitor.peek(|_, _| ()).is_err() && now < T0 + 200 {
            now += 1;
            let _ = monitor.poll(Some(now), true);
        }
        let (sequence, length) = monitor
            .peek(|sequence, bytes| (sequence, bytes.len()))
            .unwrap();
        assert!(length > 0);
        assert_eq!(
            monitor.ack(sequence.wrapping_add(1000), true),
            Err(Error::InvalidArgument)
        );
        monitor.ack(sequence, true).unwrap();
    }

    /// A policy listing 10.0.0.2 (the UDP datagram's destination) and allowing at most one
    /// flow per window.
    #[cfg(feature = "detection")]
    fn listing_policy() -> std::vec::Vec<u8> {
        crate::policy::spec::Spec {
            flags: crate::policy::flag::CONNECTIONS,
            sources: 1,
            connections: (0, 1),
            indicators_v4: std::vec![(0x0A00_0002, 0x0A00_0002, 0)],
            ..Default::default()
        }
        .blob()
    }

    #[test]
    #[cfg(feature = "detection")]
    fn an_alert_goes_out_at_the_next_poll_ahead_of_the_window() {
        let monitor = monitor();
        let policy = listing_policy();
        let mut broken = policy.clone();
        broken[20] ^= 1;
        assert_eq!(
            monitor.load_policy(&broken),
            Err(Error::Policy(PolicyError::Checksum))
        );
        let layout = monitor.load_policy(&policy).unwrap();
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        monitor.capture(&UDP[..], OUT);
        monitor.poll(Some(T0 + 1), true).unwrap();
        // Long before the first collection (30 s in), the alert waits to be sent.
        let (sequence, bytes) = monitor.peek(|s, b| (s, b.to_vec())).unwrap();
        // Format, "nxsm", version, sequence 0, time, event count.
        let varint = crate::message::varint_len;
        let header = 1 + 5 + varint(crate::VERSION) + varint(0) + varint(T0 + 1) + 1;
        assert_eq!(bytes[header], 3, "an alerts event");
        assert_eq!(
            (bytes[header + 1], bytes[header + 2]),
            (1, 0),
            "one indicator alert"
        );
        monitor.ack(sequence, true).unwrap();
        let told = monitor.notify.1.borrow().clone();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].kind, crate::detect::AlertKind::Indicator);
        assert_eq!(told[0].policy, layout.0[crate::policy::at::CRC32]);
        let crate::detect::Subject::Flow(flow) = told[0].subject else {
            panic!("a flow alert")
        };
        assert_eq!((flow.local_port, flow.remote_port), (5000, 53));
        // The device's port 5000 is above the peer's 53: the device opened it.
        assert_eq!(flow.initiator, Direction::Out);
    }

    #[test]
    #[cfg(feature = "detection")]
    fn too_many_flows_in_a_window_alert_at_its_collection() {
        let monitor = monitor();
        monitor.load_policy(&listing_policy()).unwrap();
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        let mut second = UDP;
        second[21] = 0x89; // source port 5001: a second flow
        monitor.capture(&UDP[..], OUT);
        monitor.capture(&second[..], OUT);
        for now in T0 + 1..T0 + 40 {
            monitor.poll(Some(now), false).unwrap();
        }
        let kinds: std::vec::Vec<_> = monitor.notify.1.borrow().iter().map(|a| a.kind).collect();
        use crate::detect::AlertKind::*;
        // The two flows to the listed address, then the count of the first window.
        assert_eq!(kinds, [Indicator, Indicator, ConnectionsOutOfRange]);
        let counters = monitor
            .snapshot(|module, _| module.detect_counters())
            .unwrap();
        assert_eq!((counters.alerts_sent, counters.alerts_suppressed), (3, 0));
        monitor.clear_policy().unwrap();
        monitor.capture(&UDP[..], OUT);
        monitor.poll(Some(T0 + 41), false).unwrap();
        assert_eq!(monitor.notify.1.borrow().len(), 3, "no policy, no alert");
    }

    #[test]
    #[cfg(feature = "detection")]
    fn learn_mode_turns_what_the_device_did_into_its_allow_list() {
        let monitor = monitor();
        assert_eq!(monitor.learn_baseline(20), Err(Error::NotStarted));
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        assert_eq!(monitor.learn_baseline(0), Err(Error::InvalidArgument));
        monitor.learn_baseline(20).unwrap();
        // The device asks 10.0.0.2 (its port 5000 above the peer's 53: it opened the flow).
        monitor.capture(&UDP[..], OUT);
        monitor.poll(Some(T0 + 10), true).unwrap();
        let (sequence, bytes) = monitor.peek(|s, b| (s, b.to_vec())).unwrap();
        let varint = crate::message::varint_len;
        let at = 1 + 5 + varint(crate::VERSION) + varint(sequence) + varint(T0 + 10) + 1;
        assert_eq!(bytes[at], 7, "only the audit records so far");
        monitor.ack(sequence, true).unwrap();
        assert!(
            monitor.peek(|_, _| ()).is_err(),
            "nothing else to report yet"
        );
        monitor.poll(Some(T0 + 20), true).unwrap();
        let (sequence, bytes) = monitor.peek(|s, b| (s, b.to_vec())).unwrap();
        let varint = crate::message::varint_len;
        let event = 1 + 5 + varint(crate::VERSION) + varint(0) + varint(T0 + 20) + 1;
        assert_eq!(bytes[event], 4, "a baseline event");
        monitor.ack(sequence, true).unwrap();
        // Learned: 10.0.0.0/24 outbound, no inbound port. A flow to 10.0.1.2 now alerts.
        let mut elsewhere = UDP;
        elsewhere[18] = 1; // destination 10.0.1.2
        monitor.capture(&elsewhere[..], OUT);
        monitor.capture(&UDP[..], OUT);
        monitor.poll(Some(T0 + 21), true).unwrap();
        let told = monitor.notify.1.borrow().clone();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].kind, crate::detect::AlertKind::OutboundNotAllowed);
        let crate::detect::Subject::Flow(flow) = told[0].subject else {
            panic!("a flow alert")
        };
        assert_eq!(&flow.remote[..4], &[10, 0, 1, 2]);
    }

    #[test]
    #[cfg(feature = "detection")]
    fn block_rules_drop_what_they_name_and_count_it() {
        use crate::policy::flag;
        let monitor = monitor();
        monitor.start(&Settings::DEFAULT, T0, 0).unwrap();
        assert!(!monitor.blocking(), "no policy, no block rule");
        // 10.0.0.2 is listed (the UDP datagram's destination) and blocks; the device may
        // only go to 10.0.0.0/24 and blocks the rest; no inbound TCP port is allowed.
        let blob = crate::policy::spec::Spec {
            flags: flag::BLOCK_INDICATOR
                | flag::BLOCK_OUTBOUND
                | flag::OUTBOUND_ALLOWED
                | flag::INBOUND_TCP
                | flag::BLOCK_INBOUND_PORT,
            sources: 1,
            indicators_v4: std::vec![(0x0A00_0002, 0x0A00_0002, 0)],
            allowed_v4: std::vec![(0x0A00_0000, 0x0A00_00FF)],
            ..Default::default()
        }
        .blob();
        monitor.load_policy(&blob).unwrap();
        assert!(monitor.blocking());
        let listed = UDP;
        let mut allowed = UDP;
        allowed[19] = 3; // 10.0.0.3
        let mut elsewhere = UDP;
        elsewhere[18] = 9; // 10.0.9.2: outside the allow list
        assert_eq!(monitor.capture(&listed[..], OUT), Capture::Blocked);
        assert_eq!(monitor.capture(&allowed[..], OUT), Capture::Stored);
        assert!(monitor.blocks(&listed[..], OUT));
        assert!(!monitor.blocks(&allowed[..], OUT));
        assert!(monitor.blocks(&elsewhere[..], OUT));
        // The same packet as NetX Duo's receive path hands it (fixed words in host order),
        // from 10.0.0.2: still the listed address, now as the remote source.
        let mut inbound = UDP;
        inbound[12..16].copy_from_slice(&[10, 0, 0, 2]);
        inbound[16..20].copy_from_slice(&[10, 0, 0, 1]);
        let mut host = inbound;
        for word in host[..20].chunks_mut(4) {
            word.reverse();
        }
        let seen = |order| Seen::new(Direction::In, order);
        assert!(monitor.blocks(&inbound[..], seen(HeaderOrder::Network)));
        assert!(monitor.blocks(&host[..], seen(HeaderOrder::Host)));
        // With IP options the packet takes the full parse: the same verdict.
        let mut options = std::vec::Vec::from(&listed[..20]);
        options[0] = 0x46;
        options[3] = 44;
        options.extend_from_slice(&[1, 1, 1, 0]);
        options.extend_from_slice(&listed[20..]);
        assert!(monitor.blocks(&options[..], OUT));
        // A peer opening TCP to the device's port 8080 (a SYN): no inbound port is allowed.
        let mut syn = [0u8; 40];
        syn[..20].copy_from_slice(&[
            0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 3, 10, 0, 0, 1,
        ]);
        syn[20..24].copy_from_slice(&[0xC3, 0x50, 0x1F, 0x90]); // 50000 -> 8080
        syn[32] = 0x50;
        syn[33] = 0x02;
        assert!(monitor.blocks(&syn[..], seen(HeaderOrder::Network)));
        monitor.poll(Some(T0 + 1), false).unwrap();
        let blocked = monitor
            .snapshot(|module, _| module.counters().packets_blocked)
            .unwrap();
        // Six verdicts asked and one capture blocked.
        assert_eq!(blocked, 7);
        monitor.clear_policy().unwrap();
        assert!(!monitor.blocking());
        assert_eq!(monitor.capture(&listed[..], OUT), Capture::Stored);
    }
}
