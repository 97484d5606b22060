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

use crate::config::{capacity, Priority, Settings};
use crate::intake::{Intake, IntakeCounters, Offer, Packet};
use crate::module::{LifecycleError, Module, Platform, SetError, State, UnixSeconds};
use crate::policy::store::{LoadError, PolicyStore};
use crate::policy::{Layout, PolicyError};
use crate::raw::Seen;
use crate::scheduler::Collector;

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

/// Wakes the consumer when the capture ring reaches its watermark. Called in the capturing
/// context, possibly an ISR: it must only signal (e.g. set an event flag).
pub trait Wake {
    /// Signals the consumer.
    fn wake(&self);
}

/// No wake-up: the consumer polls.
impl Wake for () {
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

/// The policy store with the build-time budget.
pub type Policies = PolicyStore<{ capacity::POLICY_BYTES / 4 }>;

/// The intake, the module behind `M` (one consumer at a time), the wake-up `W` and the
/// detection policy.
pub struct Monitor<M, W> {
    intake: Intake,
    module: M,
    wake: W,
    policy: Policies,
}

impl<M: Exclusive<Module>, W: Wake> Monitor<M, W> {
    /// A stopped monitor (usable in a `static`).
    pub const fn new(module: M, wake: W) -> Self {
        Self {
            intake: Intake::new(),
            module,
            wake,
            policy: PolicyStore::new(),
        }
    }

    /// The wake-up.
    #[cfg(test)]
    fn waker(&self) -> &W {
        &self.wake
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

    /// Every packet the IPv4 fast path leaves: the IPv6 fast path, then the parse.
    #[inline(always)]
    pub fn capture_rest<'a, P: Packet<'a>>(&self, packet: P, seen: Seen) -> Capture {
        self.outcome(self.intake.offer_other_shapes(packet, seen))
    }

    #[inline(always)]
    fn outcome(&self, offer: Offer) -> Capture {
        match offer {
            Offer::Stored { at_watermark } => {
                if at_watermark {
                    self.wake.wake();
                }
                Capture::Stored
            }
            Offer::Ignored => Capture::NotRecorded,
            Offer::Malformed(_) => Capture::Malformed,
            Offer::Dropped => Capture::RingFull,
            Offer::Closed => self.closed(),
        }
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
                self.intake.open(settings.protocols);
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
            module.stop(&intake)?;
            Ok(())
        })
    }

    /// Drains the ring, then runs the state machine at `now` and makes the collections
    /// that are due. Without a clock (`now` is `None`) the ring is still drained, stamped
    /// with the last known time, and the result is `ClockUnavailable`.
    #[inline(always)]
    pub fn poll(&self, now: Option<UnixSeconds>, hub_connected: bool) -> Result<(), Error> {
        self.with_running(|module| {
            module.drain(&self.intake, now.unwrap_or(module.now()));
            let Some(now) = now else {
                module.poll_without_clock()?;
                return Err(Error::ClockUnavailable);
            };
            let intake = module.intake_counters(&self.intake);
            module.poll(now, hub_connected, &intake)?;
            Ok(())
        })
    }

    /// Moves the records waiting in the ring into the flow table, stamped `now` (the
    /// module's clock moves with polls alone). Returns how many entries were taken.
    #[inline(always)]
    pub fn drain(&self, now: UnixSeconds) -> Result<u32, Error> {
        self.with_running(|module| Ok(module.drain(&self.intake, now)))
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
                    self.intake.open(module.settings().protocols);
                } else {
                    self.close_intake(module);
                }
            }
            let intake = module.intake_counters(&self.intake);
            module.set_collector(collector, enabled, group, &intake)?;
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
        Ok(self.policy.load(blob)?)
    }

    /// Forgets the active policy.
    pub fn clear_policy(&self) -> Result<(), Error> {
        Ok(self.policy.clear()?)
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
            change(&self.wake)?;
            // 0 is a fill no capture reports.
            self.intake.set_watermark(fill.unwrap_or(0));
            Ok(())
        })
    }

    /// Stops capture; what the ring already holds still counts.
    fn close_intake(&self, module: &mut Module) {
        self.intake.close();
        module.drain(&self.intake, module.now());
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
    struct Count(Cell<u32>);

    impl Wake for Count {
        fn wake(&self) {
            self.0.set(self.0.get() + 1);
        }
    }

    fn monitor() -> Monitor<RefCell<Module>, Count> {
        Monitor::new(RefCell::new(Module::new()), Count::default())
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
}
