//! The security-module life cycle: states, timings and counters.
//!
//! The state machine follows the original module's (NOT_INITIALIZED, PENDING, ACTIVE,
//! SUSPENDED) with its timings, but it is driven by [`Module::poll`] with the time and the
//! hub connectivity passed in, so it runs the same on a device, in the host simulator and
//! in tests.

use crate::capture::IpVersion;
use crate::config::{capacity, Priority, RawSettings, Settings};
use crate::flows::{Flows, Update};
use crate::ring::Ring;

/// Seconds since the Unix epoch, as the device's clock gives them.
pub type UnixSeconds = u32;

/// Life-cycle state; the values are those of the original `security_module_state_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not started, or stopped.
    NotInitialized = 0,
    /// Collecting; no hub connected yet.
    Pending = 1,
    /// Collecting and handing messages to a connected hub.
    Active = 2,
    /// No hub for longer than the pending timeout; waiting for one.
    Suspended = 3,
}

/// Why a life-cycle call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleError {
    /// `start` while running.
    AlreadyStarted,
    /// A call that needs a running module while it is stopped.
    NotStarted,
}

/// Counters of the life cycle; they survive `stop` so a firmware can read them afterwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LifecycleCounters {
    /// Successful starts.
    pub starts: u32,
    /// Successful stops.
    pub stops: u32,
    /// Polls of a running module.
    pub polls: u32,
    /// State transitions, start and stop included.
    pub state_changes: u32,
    /// Records added to a flow.
    pub packets_counted: u32,
    /// Records of new flows that found the table full.
    pub table_full_dropped: u32,
}

/// One security module: settings, state and counters, all in fixed-size storage.
#[derive(Debug)]
pub struct Module {
    /// Settings of the last start, kept raw so that a stopped module is all zero bytes and
    /// its `static` costs no flash for initial values (it lands in `.bss`).
    settings: RawSettings,
    state: State,
    state_since: UnixSeconds,
    first_collection_at: UnixSeconds,
    counters: LifecycleCounters,
    flows: Flows,
    /// Latest time the caller passed in.
    now: UnixSeconds,
}

impl Default for Module {
    fn default() -> Self {
        Self::new()
    }
}

impl Module {
    /// A stopped module (usable in a `static`; all zero bytes).
    pub const fn new() -> Self {
        Self {
            settings: RawSettings::ZERO,
            state: State::NotInitialized,
            state_since: 0,
            first_collection_at: 0,
            counters: LifecycleCounters {
                starts: 0,
                stops: 0,
                polls: 0,
                state_changes: 0,
                packets_counted: 0,
                table_full_dropped: 0,
            },
            flows: Flows::new(),
            now: 0,
        }
    }

    /// Starts collecting: NOT_INITIALIZED -> PENDING.
    ///
    /// `random` spreads the first collection over `base .. 3 * base` seconds so that a
    /// fleet booting together does not report together.
    pub fn start(
        &mut self,
        settings: Settings,
        now: UnixSeconds,
        random: u32,
    ) -> Result<(), LifecycleError> {
        if self.is_running() {
            return Err(LifecycleError::AlreadyStarted);
        }
        let base = settings.first_collection_base_s;
        // `base` is at most MAX_FIRST_COLLECTION_BASE_S, so `2 * base` cannot overflow or be 0.
        let jitter = random % base.saturating_mul(2).max(1);
        self.settings = settings.to_raw();
        self.first_collection_at = now.saturating_add(base).saturating_add(jitter);
        self.counters.starts = self.counters.starts.wrapping_add(1);
        self.flows.clear();
        self.now = now;
        self.enter(State::Pending, now);
        Ok(())
    }

    /// Stops collecting: any state -> NOT_INITIALIZED.
    pub fn stop(&mut self) -> Result<(), LifecycleError> {
        if !self.is_running() {
            return Err(LifecycleError::NotStarted);
        }
        self.counters.stops = self.counters.stops.wrapping_add(1);
        let since = self.state_since;
        self.enter(State::NotInitialized, since);
        Ok(())
    }

    /// Advances the state machine to `now` given whether any hub is connected.
    ///
    /// A clock that steps backwards is treated as no time passing, never as a huge gap.
    pub fn poll(&mut self, now: UnixSeconds, hub_connected: bool) -> Result<State, LifecycleError> {
        if !self.is_running() {
            return Err(LifecycleError::NotStarted);
        }
        self.counters.polls = self.counters.polls.wrapping_add(1);
        self.now = self.now.max(now);
        let next = match (self.state, hub_connected) {
            (State::Pending | State::Suspended, true) => State::Active,
            (State::Active, false) => State::Pending,
            (State::Pending, false)
                if now.saturating_sub(self.state_since) > self.settings.pending_timeout_s =>
            {
                State::Suspended
            }
            (state, _) => state,
        };
        if next != self.state {
            self.enter(next, now);
        }
        Ok(self.state)
    }

    /// Moves every published record from `ring` into the flow tables, stamping them `now`.
    /// Returns how many records were taken. Works in every state, so records pushed
    /// before a stop are still counted.
    pub fn drain(&mut self, ring: &Ring<{ capacity::RING_SLOTS }>, now: UnixSeconds) -> u32 {
        self.now = self.now.max(now);
        // Records taken are told by the ring's read position, and only the rare overflow is
        // counted in the loop; both counters are then updated once.
        let first = ring.popped();
        let mut overflow = 0u32;
        while let Some(oldest) = ring.oldest() {
            let flows = &mut self.flows;
            // One arm per version, each reading only its own words (see `Ring::oldest`).
            let update = match oldest.version() {
                IpVersion::V4 => flows.v4.update_record(&oldest.take(IpVersion::V4), now),
                IpVersion::V6 => flows.v6.update_record(&oldest.take(IpVersion::V6), now),
            };
            if update == Update::Overflow {
                overflow = overflow.wrapping_add(1);
            }
        }
        let taken = ring.popped().wrapping_sub(first);
        let counters = &mut self.counters;
        let counted = taken.wrapping_sub(overflow);
        counters.packets_counted = counters.packets_counted.saturating_add(counted);
        counters.table_full_dropped = counters.table_full_dropped.saturating_add(overflow);
        taken
    }

    /// The latest time passed in (start, poll or drain), never going back.
    pub fn now(&self) -> UnixSeconds {
        self.now
    }

    /// The flows of the current window.
    pub fn flows(&self) -> &Flows {
        &self.flows
    }

    /// Ends the current window: its flows are gone, the tables are empty.
    pub fn end_window(&mut self) {
        self.flows.clear();
    }

    /// Changes one group's interval on a running module.
    pub fn set_interval(&mut self, priority: Priority, seconds: u32) -> Result<(), SetError> {
        let seconds = Settings::check_interval(seconds).map_err(|_| SetError::OutOfRange)?;
        if !self.is_running() {
            return Err(SetError::NotStarted);
        }
        if let Some(slot) = self.settings.intervals_s.get_mut(priority as usize) {
            *slot = seconds;
        }
        Ok(())
    }

    /// One group's interval (as last configured, or the default before the first start).
    pub fn interval(&self, priority: Priority) -> u32 {
        let intervals = if self.settings == RawSettings::ZERO {
            Settings::DEFAULT.intervals_s
        } else {
            self.settings.intervals_s
        };
        intervals
            .get(priority as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// When the current state was entered.
    pub fn state_since(&self) -> UnixSeconds {
        self.state_since
    }

    /// When the first collection is due.
    pub fn first_collection_at(&self) -> UnixSeconds {
        self.first_collection_at
    }

    /// Settings in force.
    pub fn settings(&self) -> Settings {
        Settings::from_raw(&self.settings).unwrap_or(Settings::DEFAULT)
    }

    /// Life-cycle counters.
    pub fn counters(&self) -> LifecycleCounters {
        self.counters
    }

    /// Whether the module is in any state but NOT_INITIALIZED.
    pub fn is_running(&self) -> bool {
        self.state != State::NotInitialized
    }

    fn enter(&mut self, state: State, now: UnixSeconds) {
        self.state = state;
        self.state_since = now;
        self.counters.state_changes = self.counters.state_changes.wrapping_add(1);
    }
}

/// Why a run-time setting change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    /// The value is outside its documented range.
    OutOfRange,
    /// The module is not running.
    NotStarted,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixSeconds = 1_700_000_000;

    fn started() -> Module {
        let mut module = Module::new();
        module.start(Settings::DEFAULT, T0, 0).unwrap();
        module
    }

    #[test]
    fn start_enters_pending_once() {
        let mut module = started();
        assert_eq!(module.state(), State::Pending);
        assert_eq!(module.state_since(), T0);
        assert_eq!(
            module.start(Settings::DEFAULT, T0, 0),
            Err(LifecycleError::AlreadyStarted)
        );
        assert_eq!(module.counters().starts, 1);
    }

    #[test]
    fn first_collection_is_spread_over_30_to_89_seconds() {
        for (random, offset) in [(0, 30), (59, 89), (60, 30), (u32::MAX, 30 + u32::MAX % 60)] {
            let mut module = Module::new();
            module.start(Settings::DEFAULT, T0, random).unwrap();
            assert_eq!(module.first_collection_at() - T0, offset);
        }
    }

    #[test]
    fn pending_suspends_only_after_the_timeout() {
        let mut module = started();
        assert_eq!(module.poll(T0 + 300, false), Ok(State::Pending));
        assert_eq!(module.poll(T0 + 301, false), Ok(State::Suspended));
        assert_eq!(module.state_since(), T0 + 301);
        assert_eq!(module.poll(T0 + 5_000, false), Ok(State::Suspended));
        assert_eq!(module.poll(T0 + 5_001, true), Ok(State::Active));
    }

    #[test]
    fn active_falls_back_to_pending_and_the_timeout_restarts() {
        let mut module = started();
        assert_eq!(module.poll(T0 + 1, true), Ok(State::Active));
        assert_eq!(module.poll(T0 + 1_000, false), Ok(State::Pending));
        assert_eq!(module.poll(T0 + 1_300, false), Ok(State::Pending));
        assert_eq!(module.poll(T0 + 1_301, false), Ok(State::Suspended));
        assert_eq!(module.counters().state_changes, 4);
        assert_eq!(module.counters().polls, 4);
    }

    #[test]
    fn a_clock_stepping_back_never_suspends() {
        let mut module = started();
        assert_eq!(module.poll(0, false), Ok(State::Pending));
        assert_eq!(module.poll(T0 - 1, false), Ok(State::Pending));
    }

    #[test]
    fn stop_returns_to_not_initialized_and_refuses_twice() {
        let mut module = started();
        assert_eq!(module.stop(), Ok(()));
        assert_eq!(module.state(), State::NotInitialized);
        assert_eq!(module.stop(), Err(LifecycleError::NotStarted));
        assert_eq!(module.poll(T0, true), Err(LifecycleError::NotStarted));
        let counters = module.counters();
        assert_eq!((counters.starts, counters.stops), (1, 1));
    }

    #[test]
    fn drain_moves_ring_records_into_flows() {
        use crate::capture::{Direction, FlowRecord};
        use crate::wire::{Datagram, TcpFlags, Transport, TransportKind};
        let ring: Ring<{ capacity::RING_SLOTS }> = Ring::new();
        let packet = Datagram {
            version: IpVersion::V6,
            src: [0x0101_0101; 4],
            dst: [0x0202_0202; 4],
            transport: Transport {
                kind: TransportKind::Icmp,
                ports: 0,
                flags: TcpFlags(0),
            },
            len: 64,
        };
        let record = FlowRecord::new(Direction::Out, &packet);
        ring.push(&record);
        ring.push(&record);
        let mut module = started();
        assert_eq!(module.drain(&ring, T0 + 5), 2);
        if capacity::MAX_FLOWS_V6 == 0 {
            // A build without IPv6 flows has no room for them: counted, not lost.
            assert_eq!(module.counters().table_full_dropped, 2);
            return;
        }
        let [flow] = module.flows().v6.flows() else {
            panic!()
        };
        assert_eq!((flow.key.local, flow.key.remote), ([1; 16], [2; 16]));
        assert_eq!(flow.key.protocol, TransportKind::Icmp);
        assert_eq!((flow.outbound.bytes, flow.outbound.packets), (128, 2));
        assert_eq!(flow.first_seen, T0 + 5);
        assert_eq!(module.counters().packets_counted, 2);
        module.end_window();
        assert!(module.flows().v6.is_empty());
    }

    #[test]
    fn intervals_change_only_on_a_running_module_and_in_range() {
        let mut module = Module::new();
        assert_eq!(
            module.set_interval(Priority::High, 5),
            Err(SetError::NotStarted)
        );
        assert_eq!(
            module.set_interval(Priority::High, 0),
            Err(SetError::OutOfRange)
        );
        module.start(Settings::DEFAULT, T0, 0).unwrap();
        assert_eq!(module.set_interval(Priority::Low, 120), Ok(()));
        assert_eq!(module.interval(Priority::Low), 120);
        assert_eq!(
            module.set_interval(Priority::Low, 86_401),
            Err(SetError::OutOfRange)
        );
        assert_eq!(module.interval(Priority::Low), 120);
    }
}
