//! The security-module life cycle: states, collections, the outbox and its counters.
//!
//! The state machine follows the original module's (NOT_INITIALIZED, PENDING, ACTIVE,
//! SUSPENDED) with its timings, but it is driven by [`Module::poll`](crate::module::Module::poll) with the time and the
//! hub connectivity passed in, so it runs the same on a device, in the host simulator and
//! in tests. Unlike the original, collections go on in every running state: their messages
//! wait in the outbox until a hub takes them, and whatever cannot wait is counted.

use crate::capture::{Captured, FlowRecord};
use crate::config::{capacity, Priority, RawSettings, Settings, DETECTION};
use crate::detect::baseline::{LearnMode, MAX_LEARN_S};
use crate::detect::{Alert, DetectCounters, Detector};
use crate::entry;
use crate::flows::{Flows, Update};
use crate::hygiene::audit::{AuditCounters, AuditKind, AuditLog};
use crate::hygiene::findings::{BlindSpot, Findings, Service, CLOCK_SET_AFTER};
use crate::hygiene::inventory::{Inventory, InventoryCounters, Read, Scan, Socket};
use crate::intake::{Intake, IntakeCounters, IntakeTotals};
use crate::message::{
    AlertPlan, AuditPlan, BaselineMessage, Collection, Composer, Cursor, FindingsMessage,
    Heartbeat, InventoryPlan, SystemInformation, Window,
};
use crate::outbox::Outbox;
use crate::policy::store::Policies;
use crate::scheduler::{Collector, Due, Scheduler};

pub use crate::time::UnixSeconds;
use crate::time::{elapsed, is_before};

/// Life-cycle state; the values are those of the original `security_module_state_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not started, or stopped.
    NotInitialized = 0,
    /// Collecting; no hub connected yet.
    Pending = 1,
    /// Collecting and handing messages to a connected hub.
    Active = 2,
    /// No hub for longer than the pending timeout; still collecting, waiting for one.
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

/// Why an acknowledgement was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckError {
    /// The sequence number is not the oldest waiting message's (it may have been dropped).
    NotOldest,
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
    /// Records added to a flow (64-bit: never wraps in the life of a device).
    pub packets_counted: u64,
    /// Records of new flows that found the table full (64-bit).
    pub table_full_dropped: u64,
    /// Collections made (times at which at least one collector was due).
    pub collections: u32,
    /// Send attempts the hub client reported as failed.
    pub messages_failed: u32,
    /// Messages that could not be stored at all (never expected; counted as dropped).
    pub messages_unstored: u32,
    /// Polls made without a clock.
    pub clock_unavailable: u32,
    /// Polls whose time was earlier than the one before (the clock was set back).
    pub clock_steps_back: u32,
    /// Collections part of whose messages had to wait in the flow table for outbox room
    /// (the hub takes messages more slowly than the device makes them).
    pub collections_waited: u32,
    /// Packets hooks dropped because a block rule of the policy matched (64-bit).
    pub packets_blocked: u64,
    /// The policy store's wrapping count of them at the last fold.
    blocked_folded: u32,
}

/// Versions of the platform the shim was compiled against (major, minor, patch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Platform {
    /// ThreadX.
    pub threadx: [u8; 3],
    /// NetX Duo.
    pub netx: [u8; 3],
}

/// Message counters and outbox use, as the heartbeat and the statistics report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounters {
    /// Messages made (stored in the outbox, or dropped at once when nothing could make room).
    pub built: u32,
    /// Messages the hub client took.
    pub sent: u32,
    /// Failed send attempts.
    pub failed: u32,
    /// Messages lost unsent.
    pub dropped: u32,
    /// Messages waiting.
    pub waiting: u32,
    /// Bytes they occupy.
    pub used_bytes: u32,
    /// Most bytes ever waiting.
    pub peak_bytes: u32,
}

/// The outbox with the build-time budget.
pub type ModuleOutbox = Outbox<{ capacity::OUTBOX_BYTES }>;

/// A collection whose messages are not all in the outbox yet: while a hub takes messages,
/// a collection only adds what fits without dropping any, and the rest of its window waits,
/// frozen, in the flow tables (see [`crate::flows::FlowTable::close`]) for room to free.
/// All zero when nothing waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Closing {
    /// The collectors of the collection (`Collector::bit` each); 0: nothing waits.
    collectors: u8,
    /// Its time, which every one of its messages carries.
    time: UnixSeconds,
    /// Length of its network-activity window.
    duration_s: u32,
    /// Where its messages go on.
    at: Cursor,
}

impl Closing {
    const NONE: Self = Self {
        collectors: 0,
        time: 0,
        duration_s: 0,
        at: Cursor::NONE,
    };

    fn has(&self, collector: Collector) -> bool {
        self.collectors & collector.bit() != 0
    }
}

/// One security module: settings, state, flows, outbox and counters, all in fixed-size
/// storage and all zero bytes when stopped, so its `static` lands in `.bss`.
// `repr(C)`: the field order below is the layout `scripts/bench` measured; Rust's own order
// changed with every field added and moved the drain's by a few instructions per record.
#[derive(Debug)]
#[repr(C)]
pub struct Module {
    /// Settings of the last start, kept raw (all zero before the first start).
    settings: RawSettings,
    state: State,
    state_since: UnixSeconds,
    first_collection_at: UnixSeconds,
    started_at: UnixSeconds,
    window_start: UnixSeconds,
    /// No send before this time (set by a failed send).
    retry_at: UnixSeconds,
    next_sequence: u32,
    counters: LifecycleCounters,
    /// 64-bit totals of the capture counters, folded at every drain.
    intake: IntakeTotals,
    platform: Platform,
    scheduler: Scheduler,
    flows: Flows,
    /// First fragments remembered for their datagrams' later fragments.
    fragments: crate::fragments::Fragments,
    closing: Closing,
    detect: Detector,
    learn: LearnMode,
    inventory: Inventory,
    /// No inventory read before this time, unless its collector is due.
    inventory_check_at: UnixSeconds,
    findings: Findings,
    audit: AuditLog,
    /// Messages dropped as of the last `MessagesDropped` record, and when it was made.
    dropped_audited: u32,
    dropped_audited_at: UnixSeconds,
    outbox: ModuleOutbox,
    /// Time of the latest start or poll: the module's clock (a drain does not move it).
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
            started_at: 0,
            window_start: 0,
            retry_at: 0,
            next_sequence: 0,
            counters: LifecycleCounters {
                starts: 0,
                stops: 0,
                polls: 0,
                state_changes: 0,
                packets_counted: 0,
                table_full_dropped: 0,
                collections: 0,
                messages_failed: 0,
                messages_unstored: 0,
                clock_unavailable: 0,
                clock_steps_back: 0,
                collections_waited: 0,
                packets_blocked: 0,
                blocked_folded: 0,
            },
            intake: IntakeTotals::new(),
            platform: Platform {
                threadx: [0; 3],
                netx: [0; 3],
            },
            scheduler: Scheduler::new(),
            flows: Flows::new(),
            fragments: crate::fragments::Fragments::new(),
            closing: Closing::NONE,
            detect: Detector::new(),
            learn: LearnMode::new(),
            inventory: Inventory::new(),
            inventory_check_at: 0,
            findings: Findings::new(),
            audit: AuditLog::new(),
            dropped_audited: 0,
            dropped_audited_at: 0,
            outbox: Outbox::new(),
            now: 0,
        }
    }

    /// Starts collecting: NOT_INITIALIZED -> PENDING.
    ///
    /// `random` spreads the first collection over `base .. 3 * base` seconds so that a
    /// fleet booting together does not report together; every enabled collector first
    /// runs then. Flows and messages left from before a stop are kept.
    pub fn start(
        &mut self,
        settings: &Settings,
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
        self.first_collection_at = now.wrapping_add(base).wrapping_add(jitter);
        self.scheduler
            .start(settings.collectors, self.first_collection_at);
        self.counters.starts = self.counters.starts.wrapping_add(1);
        self.now = now;
        self.started_at = now;
        self.window_start = now;
        self.retry_at = now;
        self.inventory_check_at = now;
        self.enter(State::Pending, now);
        self.audit(
            AuditKind::Started,
            0,
            [
                u32::from(settings.collectors),
                0,
                settings.capture_mode as u32,
            ],
        );
        Ok(())
    }

    /// Stops collecting: any state -> NOT_INITIALIZED. The open window is collected into
    /// the outbox first; waiting messages stay there for the next start.
    /// Alerts the closing window raises, findings and audit records wait for the first poll
    /// after the next start.
    pub fn stop(
        &mut self,
        intake: &IntakeCounters,
        policy: &Policies,
    ) -> Result<(), LifecycleError> {
        if !self.is_running() {
            return Err(LifecycleError::NotStarted);
        }
        self.flush_window(intake, policy);
        // Stopped, nothing takes messages: what still waits goes in now.
        self.compose(intake, true);
        // Its record waits, with any other, for the first poll after the next start: a
        // stopped module hands out nothing anyway.
        self.audit(AuditKind::Stopped, 0, [0; 3]);
        self.counters.stops = self.counters.stops.wrapping_add(1);
        let since = self.state_since;
        self.enter(State::NotInitialized, since);
        Ok(())
    }

    /// Advances the state machine to `now` given whether any hub is connected, puts waiting
    /// alerts in the outbox (telling `notify` of each), then makes the collections that are
    /// due. `intake` is the producers' counters, for the heartbeat; `policy` the detection
    /// policy, for the connection-count rule of a closing window.
    ///
    /// A clock that steps backwards (a correction by NTP, say) moves every deadline back by
    /// the same step, so collections, retries and timeouts keep their spacing in the new
    /// time base instead of waiting for the old one to come back.
    pub fn poll(
        &mut self,
        now: UnixSeconds,
        hub_connected: bool,
        intake: &IntakeCounters,
        policy: &Policies,
        notify: impl Fn(&Alert),
    ) -> Result<State, LifecycleError> {
        self.poll_reading(now, hub_connected, intake, policy, notify, |_| None)
    }

    /// [`poll`](Self::poll) on a platform that reads its socket tables: `read_sockets`
    /// writes the sockets into the room it is given and says what it found (see
    /// [`Inventory::read`]); it is called only when an inventory read is due.
    pub fn poll_reading(
        &mut self,
        now: UnixSeconds,
        hub_connected: bool,
        intake: &IntakeCounters,
        policy: &Policies,
        notify: impl Fn(&Alert),
        read_sockets: impl FnOnce(&mut [Socket]) -> Option<Scan>,
    ) -> Result<State, LifecycleError> {
        if !self.is_running() {
            return Err(LifecycleError::NotStarted);
        }
        self.counters.polls = self.counters.polls.wrapping_add(1);
        if is_before(now, self.now) {
            self.audit(AuditKind::ClockSetBack, 0, [0, self.now, now]);
            self.step_back(self.now.wrapping_sub(now));
        }
        self.now = now;
        let clock_set = now >= CLOCK_SET_AFTER;
        if clock_set && self.findings.holds(BlindSpot::NoClock) {
            // A start seen by polls without a time is reported before its end.
            self.send_findings();
        }
        self.findings.set(BlindSpot::NoClock, !clock_set, now);
        let next = match (self.state, hub_connected) {
            (State::Pending | State::Suspended, true) => State::Active,
            (State::Active, false) => State::Pending,
            (State::Pending, false)
                if elapsed(self.state_since, now) > self.settings.pending_timeout_s =>
            {
                State::Suspended
            }
            (state, _) => state,
        };
        if next != self.state {
            self.enter(next, now);
        }
        if DETECTION {
            if self.learn.due(now) {
                self.finish_learning(policy);
            }
            self.send_alerts(&notify);
        }
        let due = self.scheduler.due(now);
        self.check_inventory(due, read_sockets);
        let (network, _) = self.scheduler.collector(Collector::NetworkActivity);
        self.findings
            .set(BlindSpot::NetworkActivityOff, !network, now);
        self.send_records();
        // A collection waiting for room: as much as fits while a hub takes messages, all
        // of it (dropping the oldest if it must) once none does.
        self.compose(intake, self.state != State::Active);
        if due.collectors != 0 {
            // The inventory went out above; the others make one collection.
            let collection = Due {
                collectors: due.collectors & !Collector::Inventory.bit(),
                ..due
            };
            if collection.collectors != 0 {
                self.collect(collection, intake, policy);
            }
            self.scheduler
                .collected(due, now, &self.settings.intervals_s);
            // The closed window's connection count may have raised one.
            if DETECTION {
                self.send_alerts(&notify);
            }
        }
        Ok(self.state)
    }

    /// Counts a poll made while the device had no time: nothing advances.
    pub fn poll_without_clock(&mut self) -> Result<(), LifecycleError> {
        if !self.is_running() {
            return Err(LifecycleError::NotStarted);
        }
        self.counters.clock_unavailable = self.counters.clock_unavailable.saturating_add(1);
        self.findings.set(BlindSpot::NoClock, true, self.now);
        Ok(())
    }

    /// Moves every published entry of the intake's ring into the flow tables, stamping them
    /// `now`; raw entries are parsed here (see [`crate::raw`]) and those with nothing to
    /// record are counted with the intake's totals. Returns how many entries were taken. Works in
    /// every state, so packets captured before a stop are still counted.
    ///
    /// `now` only stamps the flows: the module's clock moves with polls alone, so a drain
    /// from another context with another idea of the time changes no schedule.
    ///
    /// A flow entering the table, or refused by a full one, is evaluated against `policy`.
    pub fn drain(&mut self, intake: &Intake, now: UnixSeconds, policy: &Policies) -> u32 {
        let ring = intake.ring();
        // Entries taken are told by the ring's read position, and only the rarer outcomes
        // are counted in the loop; every counter is then updated once.
        let first = ring.popped();
        let mut overflow = 0u32;
        let mut malformed = 0u32;
        let mut ignored = 0u32;
        // A fragment is resolved in the table of first fragments: counted as a record, or
        // ignored.
        self.fragments.set_clock(now);
        while let Some(oldest) = ring.oldest() {
            let update = match entry::classify(oldest, &mut self.fragments) {
                Ok(Captured::Record(record)) => {
                    let update = self.flows.apply(&record, now);
                    // Only a new flow with a policy or learn mode to tell: a full table
                    // refuses one per packet, and without either that costs nothing here. A
                    // later fragment only adds to its first fragment's flow: detection
                    // heard of that one.
                    if DETECTION
                        && update != Update::Counted
                        && (policy.has_policy() || self.learn.is_learning())
                    {
                        self.entered(&record, update, policy, now);
                    }
                    update
                }
                Ok(Captured::Fragment(_) | Captured::Ignored) => {
                    ignored = ignored.wrapping_add(1);
                    continue;
                }
                Err(_) => {
                    malformed = malformed.wrapping_add(1);
                    continue;
                }
            };
            if update == Update::Overflow {
                overflow = overflow.wrapping_add(1);
            }
        }
        let taken = ring.popped().wrapping_sub(first);
        self.intake.count_later(malformed, ignored);
        // Folded at every drain like the capture counters, so it never laps between folds.
        let blocked = policy.blocked();
        let counters = &mut self.counters;
        counters.packets_blocked = counters
            .packets_blocked
            .saturating_add(u64::from(blocked.wrapping_sub(counters.blocked_folded)));
        counters.blocked_folded = blocked;
        // Folded at every drain, so no 32-bit producer counter laps between two folds.
        self.intake.fold(intake);
        let counters = &mut self.counters;
        let counted = taken
            .wrapping_sub(overflow)
            .wrapping_sub(malformed)
            .wrapping_sub(ignored);
        counters.packets_counted = counters.packets_counted.saturating_add(u64::from(counted));
        counters.table_full_dropped = counters
            .table_full_dropped
            .saturating_add(u64::from(overflow));
        taken
    }

    /// Evaluates a flow entering the table (`Opened`) or refused (`Overflow`). Out of line:
    /// the drain's loop stays small, and with no policy this is one call per new flow.
    #[inline(never)]
    fn entered(
        &mut self,
        record: &FlowRecord,
        update: Update,
        policy: &Policies,
        now: UnixSeconds,
    ) {
        // A later fragment only adds to its first fragment's flow, which was told.
        if record.head & entry::head::TAIL != 0 {
            return;
        }
        if self.learn.is_learning() {
            self.learn.record(record, record.initiator());
        }
        policy.read(|policy| {
            if let Some(policy) = policy {
                self.detect
                    .flow_entered(&policy, record, update == Update::Overflow, now);
            }
        });
    }

    /// The capture counters as 64-bit totals, folded now (see [`IntakeTotals`]): what
    /// `poll`, `stop` and `set_collector` take for the heartbeat, and what the statistics
    /// report.
    pub fn intake_counters(&mut self, intake: &Intake) -> IntakeCounters {
        self.intake.fold(intake)
    }

    /// The oldest waiting message (sequence number and bytes) when one may be sent now:
    /// in ACTIVE, and not before the retry time after a failed send. It is lent: nothing
    /// moves, changes or drops it until [`ack`](Self::ack).
    pub fn peek(&mut self) -> Option<(u32, &[u8])> {
        if self.state != State::Active || is_before(self.now, self.retry_at) {
            return None;
        }
        self.outbox.lend_front()
    }

    /// The hub client's verdict on message `sequence`: sent, it leaves the outbox; not
    /// sent, it stays and is retried after the retry interval.
    pub fn ack(&mut self, sequence: u32, sent: bool) -> Result<(), AckError> {
        if self.outbox.front().map(|(oldest, _)| oldest) != Some(sequence) {
            return Err(AckError::NotOldest);
        }
        if sent {
            self.outbox.pop_sent();
            self.retry_at = self.now;
        } else {
            self.outbox.returned();
            self.counters.messages_failed = self.counters.messages_failed.saturating_add(1);
            // Stored settings were validated by `start`.
            let retry = self.settings.retry_interval_s;
            self.retry_at = self.now.wrapping_add(retry);
        }
        Ok(())
    }

    /// Enables or disables a collector and moves it to a group, on a running module.
    /// Disabling network activity collects the open window first, so nothing is lost.
    pub fn set_collector(
        &mut self,
        collector: Collector,
        enabled: bool,
        priority: Priority,
        intake: &IntakeCounters,
        policy: &Policies,
    ) -> Result<(), LifecycleError> {
        if !self.is_running() {
            return Err(LifecycleError::NotStarted);
        }
        let (was_enabled, was_group) = self.scheduler.collector(collector);
        let packed = |enabled: bool, group: Priority| u32::from(enabled) << 8 | group as u32;
        let (old, new) = (packed(was_enabled, was_group), packed(enabled, priority));
        if old != new {
            self.audit(AuditKind::CollectorChanged, 0, [collector as u32, old, new]);
        }
        if collector == Collector::NetworkActivity && was_enabled != enabled {
            if enabled {
                self.window_start = self.now;
            } else {
                self.flush_window(intake, policy);
            }
        }
        self.scheduler.set_collector(collector, enabled, priority);
        Ok(())
    }

    /// Whether a collector is enabled, and its group.
    pub fn collector(&self, collector: Collector) -> (bool, Priority) {
        self.scheduler.collector(collector)
    }

    /// Records the platform versions reported in system information.
    pub fn set_platform(&mut self, platform: Platform) {
        self.platform = platform;
    }

    /// When the next collection is due, on a running module with a collector enabled.
    pub fn next_collection(&self) -> Option<UnixSeconds> {
        self.scheduler.next_due().filter(|_| self.is_running())
    }

    /// The latest time passed in (start, poll or drain), never going back.
    pub fn now(&self) -> UnixSeconds {
        self.now
    }

    /// The flows of the current window.
    pub fn flows(&self) -> &Flows {
        &self.flows
    }

    /// Message counters and outbox use.
    pub fn messages(&self) -> MessageCounters {
        let outbox = self.outbox.counters();
        MessageCounters {
            // A message that found no room at all was built, and dropped at once.
            built: outbox.built.saturating_add(self.counters.messages_unstored),
            sent: outbox.sent,
            failed: self.counters.messages_failed,
            dropped: outbox
                .dropped
                .saturating_add(self.counters.messages_unstored),
            waiting: self.outbox.len() as u32,
            used_bytes: self.outbox.used_bytes() as u32,
            peak_bytes: self.outbox.peak_bytes() as u32,
        }
    }

    /// Changes one group's interval on a running module.
    pub fn set_interval(&mut self, priority: Priority, seconds: u32) -> Result<(), SetError> {
        let old = self.interval(priority);
        let checked = Settings::check_interval(seconds)
            .map_err(|_| SetError::OutOfRange)
            .and_then(|seconds| match self.is_running() {
                true => Ok(seconds),
                false => Err(SetError::NotStarted),
            });
        let result = checked.err().map_or(0, SetError::code);
        // A refusal is recorded, and a change; setting the value in force changes nothing.
        if result != 0 || old != seconds {
            self.audit(
                AuditKind::IntervalChanged,
                result,
                [priority as u32, old, seconds],
            );
        }
        let seconds = checked?;
        if let Some(slot) = self.settings.intervals_s.get_mut(priority as usize) {
            *slot = seconds;
        }
        self.scheduler.interval_changed(priority, seconds, self.now);
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

    /// The heartbeat as of now.
    pub fn heartbeat(&self, intake: &IntakeCounters) -> Heartbeat {
        let messages = self.messages();
        Heartbeat {
            uptime_s: elapsed(self.started_at, self.now),
            packets_seen: intake.seen,
            packets_counted: self.counters.packets_counted,
            malformed: intake.malformed,
            ignored: intake.ignored,
            ring_dropped: intake.ring_dropped,
            table_full_dropped: self.counters.table_full_dropped,
            messages_sent: messages.sent,
            messages_failed: messages.failed,
            messages_dropped: messages.dropped,
            outbox_messages: u16::try_from(messages.waiting).unwrap_or(u16::MAX),
            outbox_used_bytes: messages.used_bytes,
            outbox_peak_bytes: messages.peak_bytes,
            clock_unavailable: self.counters.clock_unavailable,
            clock_steps_back: self.counters.clock_steps_back,
            collections_waited: self.counters.collections_waited,
            alerts_sent: self.detect.counters().alerts_sent,
            alerts_suppressed: self.detect.counters().alerts_suppressed,
            packets_blocked: self.counters.packets_blocked,
        }
    }

    /// System information as of now, on a running module (whose stored settings `start`
    /// validated, so they are read as stored).
    pub fn system_information(&self) -> SystemInformation {
        let settings = &self.settings;
        let narrow = |value: usize| u16::try_from(value).unwrap_or(u16::MAX);
        SystemInformation {
            threadx: self.platform.threadx,
            netx: self.platform.netx,
            module_version: crate::VERSION,
            max_flows_v4: narrow(capacity::MAX_FLOWS_V4),
            max_flows_v6: narrow(capacity::MAX_FLOWS_V6),
            ring_slots: narrow(capacity::RING_SLOTS),
            outbox_bytes: capacity::OUTBOX_BYTES as u32,
            max_message_bytes: capacity::MAX_MESSAGE_BYTES as u32,
            intervals_s: settings.intervals_s,
            collectors: self.scheduler.enabled(),
            capture_mode: settings.capture_mode as u8,
        }
    }

    /// Turns what is due into messages in the outbox; a network-activity collection ends
    /// the window. While a hub takes messages (ACTIVE) only what fits without dropping
    /// goes in now, and the rest follows at the next polls as room frees; otherwise the
    /// oldest messages make room. A collection still waiting from before goes first, whole.
    fn collect(&mut self, due: Due, intake: &IntakeCounters, policy: &Policies) {
        self.compose(intake, true);
        let now = self.now;
        let network = due.has(Collector::NetworkActivity);
        if network {
            if DETECTION {
                let flows = self.flows.v4.len() + self.flows.v6.len();
                let detect = &mut self.detect;
                policy.read(|policy| detect.window_closed(policy.as_ref(), flows, now));
            }
            self.flows.close();
        }
        self.closing = Closing {
            collectors: due.collectors,
            time: now,
            duration_s: elapsed(self.window_start, now),
            at: Cursor::start(self.next_sequence),
        };
        if network {
            self.window_start = now;
        }
        self.counters.collections = self.counters.collections.saturating_add(1);
        self.compose(intake, self.state != State::Active);
        if self.closing.collectors != 0 {
            self.counters.collections_waited = self.counters.collections_waited.saturating_add(1);
        }
    }

    /// Writes the messages of the waiting collection into the outbox: all of them when
    /// `make_room`, dropping the oldest messages if it must; otherwise those that fit.
    fn compose(&mut self, intake: &IntakeCounters, make_room: bool) {
        let closing = self.closing;
        if closing.collectors == 0 {
            return;
        }
        let system = closing
            .has(Collector::SystemInformation)
            .then(|| self.system_information());
        let heartbeat = closing
            .has(Collector::Heartbeat)
            .then(|| self.heartbeat(intake));
        let network = closing.has(Collector::NetworkActivity).then(|| Window {
            duration_s: closing.duration_s,
            v4: self.flows.v4.closed(),
            v6: self.flows.v6.closed(),
        });
        let collection = Collection {
            time: closing.time,
            network,
            system: system.as_ref(),
            heartbeat: heartbeat.as_ref(),
        };
        let mut composer = Composer::resume(&collection, capacity::MAX_MESSAGE_BYTES, closing.at);
        let outbox = &mut self.outbox;
        let mut unstored = 0u32;
        let waiting = loop {
            let before = composer.cursor();
            // Borrowed where it was returned rather than moved out (a copy of the plan).
            let next = composer.next_message();
            let Some(plan) = next.as_ref() else {
                break None;
            };
            if !make_room && !outbox.has_room(plan.len()) {
                break Some(before);
            }
            if !outbox.push(plan.sequence(), plan.len(), |room| plan.write(room).ok()) {
                unstored = unstored.saturating_add(1);
            }
        };
        self.counters.messages_unstored = self.counters.messages_unstored.saturating_add(unstored);
        match waiting {
            Some(mut at) => {
                // The flows already in the outbox leave the table now: room for new ones.
                let (v4, v6) = at.take_planned();
                self.flows.release_front(v4, v6);
                self.closing.at = at;
                self.next_sequence = at.sequence;
            }
            None => {
                self.next_sequence = composer.next_sequence();
                self.closing = Closing::NONE;
                self.flows.release_closed();
            }
        }
    }

    /// Collects the open window now (on stop, or when network activity is disabled); a
    /// collection still waiting goes first (see [`collect`](Self::collect)).
    fn flush_window(&mut self, intake: &IntakeCounters, policy: &Policies) {
        if self.flows.v4.is_empty() && self.flows.v6.is_empty() {
            self.window_start = self.now;
            return;
        }
        let due = Due {
            collectors: Collector::NetworkActivity.bit(),
            groups: 0,
        };
        self.collect(due, intake, policy);
    }

    /// Starts learn mode for `seconds` (1 ..= a week) on a running module; a period under
    /// way starts again.
    pub fn learn(&mut self, seconds: u32) -> Result<(), SetError> {
        let checked = if !DETECTION {
            Err(SetError::NotBuilt)
        } else if !(1..=MAX_LEARN_S).contains(&seconds) {
            Err(SetError::OutOfRange)
        } else if !self.is_running() {
            Err(SetError::NotStarted)
        } else {
            Ok(())
        };
        let result = checked.err().map_or(0, SetError::code);
        self.audit(AuditKind::LearnStarted, result, [0, 0, seconds]);
        checked?;
        self.learn.start(self.now, seconds);
        Ok(())
    }

    /// Whether learn mode is recording.
    pub fn is_learning(&self) -> bool {
        self.learn.is_learning()
    }

    /// Ends learn mode: the baseline becomes the active policy's allow lists if the policy
    /// it makes passes every check, and its report waits for the outbox either way.
    fn finish_learning(&mut self, policy: &Policies) {
        let learned = self.learn.learned();
        let before = policy.read(|current| current.map_or(0, |current| current.crc32()));
        let applied = policy
            .install(|words| policy.read(|current| learned.write_policy(words, current.as_ref())))
            .is_ok();
        let crc = policy.read(|current| current.map_or(0, |current| current.crc32()));
        self.learn.finish(applied, crc);
        self.audit(AuditKind::LearnEnded, 0, [u32::from(applied), before, crc]);
    }

    /// Puts the waiting alerts in the outbox, in messages of their own, and tells `notify`
    /// of each. An alert message may drop older messages of any kind to make room; nothing
    /// but another alert drops it (see [`Outbox`]).
    fn send_alerts(&mut self, notify: &impl Fn(&Alert)) {
        if let Some(report) = self.learn.report() {
            let message = BaselineMessage::new(report, self.next_sequence, self.now);
            let stored = self
                .outbox
                .push_alert(self.next_sequence, message.len(), |room| {
                    message.write(room).ok()
                });
            self.count_unstored(stored);
            self.take_sequence();
            self.learn.reported();
        }
        while let Some(plan) = AlertPlan::new(
            self.detect.pending(),
            capacity::MAX_MESSAGE_BYTES,
            self.next_sequence,
            self.now,
        ) {
            let stored = self
                .outbox
                .push_alert(plan.sequence(), plan.len(), |room| plan.write(room).ok());
            let count = plan.count();
            self.count_unstored(stored);
            for alert in self.detect.pending().iter().take(count) {
                notify(alert);
            }
            self.take_sequence();
            self.detect.sent(count);
        }
    }

    /// Records an audit record at the module's time (see [`AuditLog::record`]).
    pub fn audit(&mut self, kind: AuditKind, result: u32, values: [u32; 3]) {
        self.audit.record(self.now, kind, result, values);
    }

    /// Audit counters.
    pub fn audit_counters(&self) -> AuditCounters {
        self.audit.counters()
    }

    /// Inventory counters, and the sockets the latest read found.
    pub fn inventory_counters(&self) -> (InventoryCounters, u32) {
        (self.inventory.counters(), self.inventory.found())
    }

    /// Findings holding now (see [`Findings::active`]).
    pub fn findings_active(&self) -> u32 {
        self.findings.active()
    }

    /// Replaces the risky-service list (`None`: the defaults); the ends of the old list's
    /// findings go out first. Any state.
    pub fn set_services(&mut self, services: Option<&[Service]>) {
        let old = self.findings.service_count();
        self.findings.end_services(self.now);
        self.send_findings();
        self.findings.set_services(services);
        let new = self.findings.service_count();
        self.audit(AuditKind::ServicesChanged, 0, [0, old, new]);
    }

    /// Reads the inventory when its collector is due, or at the high group's interval, and
    /// puts it in the outbox when its collector is due or it changed. The read also tells
    /// the findings.
    fn check_inventory(
        &mut self,
        due: Due,
        read_sockets: impl FnOnce(&mut [Socket]) -> Option<Scan>,
    ) {
        let (enabled, _) = self.scheduler.collector(Collector::Inventory);
        let scheduled = due.has(Collector::Inventory);
        if !enabled || (!scheduled && is_before(self.now, self.inventory_check_at)) {
            return;
        }
        let now = self.now;
        let high = self.settings.intervals_s[Priority::High as usize];
        self.inventory_check_at = now.wrapping_add(high);
        let Some((read, scan)) = self.inventory.read(read_sockets) else {
            return;
        };
        let (unhooked, replaced) = self.findings.hook_counts();
        for (subject, old, new) in [
            (1, unhooked, scan.ips_unhooked),
            (2, replaced, scan.hooks_replaced),
        ] {
            if new > old {
                self.audit(AuditKind::HooksLost, 0, [subject, old, new]);
            }
        }
        self.findings
            .hooks(scan.ips_unhooked, scan.hooks_replaced, now);
        let Read::Complete { changed } = read else {
            return;
        };
        if let Some(sockets) = self.inventory.sockets() {
            self.findings.inventory_read(sockets, now);
        }
        if changed || scheduled {
            self.send_inventory();
        }
    }

    /// Puts the held inventory in the outbox, in as many parts as it takes.
    fn send_inventory(&mut self) {
        let Some(sockets) = self.inventory.sockets() else {
            return;
        };
        let found = self.inventory.found();
        let mut first = 0usize;
        let mut part = 0u16;
        let mut unstored = 0u32;
        loop {
            let rest = sockets.get(first..).unwrap_or_default();
            let plan = InventoryPlan::new(
                rest,
                found,
                part,
                capacity::MAX_MESSAGE_BYTES,
                self.next_sequence,
                self.now,
            );
            if !self
                .outbox
                .push(plan.sequence(), plan.len(), |room| plan.write(room).ok())
            {
                unstored = unstored.saturating_add(1);
            }
            // The sockets are borrowed from the inventory: number by the fields alone.
            advance_sequence(&mut self.next_sequence, &mut self.closing);
            if !plan.more() {
                break;
            }
            first += plan.count();
            part = part.wrapping_add(1);
        }
        self.counters.messages_unstored = self.counters.messages_unstored.saturating_add(unstored);
        self.inventory.reported();
    }

    /// Puts the waiting findings and audit records in the outbox, in messages the outbox
    /// drops last. Messages dropped are recorded first, at most once per low-group
    /// interval: a record each time would itself fill the outbox of a device that is offline
    /// for long, pushing out the collections it reports on.
    fn send_records(&mut self) {
        let dropped = self.messages().dropped;
        let low = self.settings.intervals_s[Priority::Low as usize];
        if dropped != self.dropped_audited
            && (self.dropped_audited == 0 || elapsed(self.dropped_audited_at, self.now) >= low)
        {
            let since = dropped.wrapping_sub(self.dropped_audited);
            self.audit(AuditKind::MessagesDropped, 0, [dropped, 0, since]);
            self.dropped_audited = dropped;
            self.dropped_audited_at = self.now;
        }
        self.send_findings();
        let now = self.now;
        while let Some(plan) = AuditPlan::new(
            self.audit.waiting(now),
            capacity::MAX_MESSAGE_BYTES,
            self.next_sequence,
            now,
        ) {
            let stored = self
                .outbox
                .push_alert(plan.sequence(), plan.len(), |room| plan.write(room).ok());
            let count = plan.count();
            self.count_unstored(stored);
            self.take_sequence();
            self.audit.sent(count);
        }
    }

    /// Puts the waiting findings in the outbox in one message the outbox drops last.
    fn send_findings(&mut self) {
        if !self.findings.pending() {
            return;
        }
        let message = FindingsMessage::new(&self.findings, self.next_sequence, self.now);
        let stored = self
            .outbox
            .push_alert(self.next_sequence, message.len(), |room| {
                message.write(room).ok()
            });
        self.count_unstored(stored);
        self.take_sequence();
        self.findings.reported();
    }

    /// Counts a message the outbox could not store at all.
    fn count_unstored(&mut self, stored: bool) {
        if !stored {
            self.counters.messages_unstored = self.counters.messages_unstored.saturating_add(1);
        }
    }

    /// Numbers a message made outside a collection: a collection waiting for room goes on
    /// after it.
    fn take_sequence(&mut self) {
        advance_sequence(&mut self.next_sequence, &mut self.closing);
    }

    /// Detection counters.
    pub fn detect_counters(&self) -> DetectCounters {
        self.detect.counters()
    }

    /// Moves every stored time back by `seconds` (the clock was set back).
    fn step_back(&mut self, seconds: u32) {
        // Field by field: an array of references would be walked by an out-of-line iterator.
        self.state_since = self.state_since.wrapping_sub(seconds);
        self.first_collection_at = self.first_collection_at.wrapping_sub(seconds);
        self.started_at = self.started_at.wrapping_sub(seconds);
        self.window_start = self.window_start.wrapping_sub(seconds);
        self.retry_at = self.retry_at.wrapping_sub(seconds);
        self.scheduler.step_back(seconds);
        self.learn.step_back(seconds);
        self.counters.clock_steps_back = self.counters.clock_steps_back.saturating_add(1);
    }

    fn enter(&mut self, state: State, now: UnixSeconds) {
        self.state = state;
        self.state_since = now;
        self.counters.state_changes = self.counters.state_changes.wrapping_add(1);
    }
}

/// Moves the next sequence number on past a message made outside a collection; a
/// collection waiting for room (`closing`) goes on after it.
fn advance_sequence(next: &mut u32, closing: &mut Closing) {
    *next = next.wrapping_add(1);
    if closing.collectors != 0 {
        closing.at.sequence = *next;
    }
}

/// Why a run-time setting change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    /// The value is outside its documented range.
    OutOfRange,
    /// The module is not running.
    NotStarted,
    /// The library was built without the feature the setting belongs to.
    NotBuilt,
}

impl SetError {
    /// Its C result code, as an audit record carries it.
    pub const fn code(self) -> u32 {
        match self {
            Self::OutOfRange => result_code::INVALID_ARGUMENT,
            Self::NotStarted => result_code::NOT_STARTED,
            Self::NotBuilt => result_code::NOT_BUILT,
        }
    }
}

/// The C result codes (`nxsm_result`) of the core's refusals: the one place they are
/// numbered in the core (the C API checks at build time that they are its own).
pub mod result_code {
    /// `NXSM_ERR_INVALID_ARGUMENT`.
    pub const INVALID_ARGUMENT: u32 = 2;
    /// `NXSM_ERR_ALREADY_STARTED`.
    pub const ALREADY_STARTED: u32 = 3;
    /// `NXSM_ERR_NOT_STARTED`.
    pub const NOT_STARTED: u32 = 4;
    /// `NXSM_ERR_BUSY`.
    pub const BUSY: u32 = 5;
    /// `NXSM_ERR_CLOCK_UNAVAILABLE`.
    pub const CLOCK_UNAVAILABLE: u32 = 7;
    /// `NXSM_ERR_NO_MESSAGE`.
    pub const NO_MESSAGE: u32 = 11;
    /// `NXSM_ERR_NOT_BUILT`.
    pub const NOT_BUILT: u32 = 25;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hygiene::inventory::{Scan, Socket};

    const T0: UnixSeconds = 1_700_000_000;
    const NO_INTAKE: IntakeCounters = IntakeCounters {
        seen: 0,
        malformed: 0,
        ignored: 0,
        ring_dropped: 0,
        ring_waiting: 0,
    };

    /// No detection policy: what every test here runs with but the detection ones.
    fn no_policy() -> &'static Policies {
        // Leaked rather than a `static`: the model checker's atomics have no const `new`.
        std::boxed::Box::leak(std::boxed::Box::new(Policies::new()))
    }

    fn started() -> Module {
        let mut module = Module::new();
        module.start(&Settings::DEFAULT, T0, 0).unwrap();
        module
    }

    #[test]
    fn start_enters_pending_once() {
        let mut module = started();
        assert_eq!(module.state(), State::Pending);
        assert_eq!(module.state_since(), T0);
        assert_eq!(
            module.start(&Settings::DEFAULT, T0, 0),
            Err(LifecycleError::AlreadyStarted)
        );
        assert_eq!(module.counters().starts, 1);
    }

    #[test]
    fn first_collection_is_spread_over_30_to_89_seconds() {
        for (random, offset) in [(0, 30), (59, 89), (60, 30), (u32::MAX, 30 + u32::MAX % 60)] {
            let mut module = Module::new();
            module.start(&Settings::DEFAULT, T0, random).unwrap();
            assert_eq!(module.first_collection_at() - T0, offset);
        }
    }

    #[test]
    fn pending_suspends_only_after_the_timeout() {
        let mut module = started();
        assert_eq!(
            module.poll(T0 + 300, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Pending)
        );
        assert_eq!(
            module.poll(T0 + 301, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Suspended)
        );
        assert_eq!(module.state_since(), T0 + 301);
        assert_eq!(
            module.poll(T0 + 5_000, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Suspended)
        );
        assert_eq!(
            module.poll(T0 + 5_001, true, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Active)
        );
    }

    #[test]
    fn active_falls_back_to_pending_and_the_timeout_restarts() {
        let mut module = started();
        assert_eq!(
            module.poll(T0 + 1, true, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Active)
        );
        assert_eq!(
            module.poll(T0 + 1_000, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Pending)
        );
        assert_eq!(
            module.poll(T0 + 1_300, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Pending)
        );
        assert_eq!(
            module.poll(T0 + 1_301, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Suspended)
        );
        assert_eq!(module.counters().state_changes, 4);
        assert_eq!(module.counters().polls, 4);
    }

    #[test]
    fn a_clock_set_back_moves_every_deadline_with_it() {
        let intake = Intake::new();
        let mut module = started();
        run(&mut module, &intake, T0..T0 + 101, false, true);
        assert_eq!(module.next_collection(), Some(T0 + 110));
        let built = module.messages().built;
        // Set back by 1,000 s: the next collection is still 10 s away, the pending timeout
        // still counts from the same moment.
        assert_eq!(
            module.poll(T0 - 900, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Pending)
        );
        assert_eq!(module.counters().clock_steps_back, 1);
        assert_eq!(module.next_collection(), Some(T0 - 890));
        run(&mut module, &intake, T0 - 899..T0 - 889, false, true);
        // The step back's audit record, then the collection.
        assert_eq!(module.messages().built, built + 2);
        assert_eq!(
            module.poll(T0 - 700, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Pending)
        );
        assert_eq!(
            module.poll(T0 - 699, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Suspended)
        );
    }

    #[test]
    fn stop_returns_to_not_initialized_and_refuses_twice() {
        let mut module = started();
        assert_eq!(module.stop(&NO_INTAKE, no_policy()), Ok(()));
        assert_eq!(module.state(), State::NotInitialized);
        assert_eq!(
            module.stop(&NO_INTAKE, no_policy()),
            Err(LifecycleError::NotStarted)
        );
        assert_eq!(
            module.poll(T0, true, &NO_INTAKE, no_policy(), |_| {}),
            Err(LifecycleError::NotStarted)
        );
        let counters = module.counters();
        assert_eq!((counters.starts, counters.stops), (1, 1));
    }

    /// Raw entries are classified by the drain: a flow packet is counted, a malformed or
    /// untracked one is counted as such, and the totals still add up to what was seen.
    #[test]
    fn drain_classifies_raw_entries() {
        use crate::capture::Direction;
        use crate::config::Protocols;
        use crate::intake::Offer;
        use crate::wire::HeaderOrder;
        let udp = nxsm_test_packets::ipv4([10, 0, 0, 1], [10, 0, 0, 2])
            .udp(5000, 53)
            .payload(12)
            .build();
        let mut short_total = udp.clone();
        short_total[3] = 12; // total length below the header's
        let mut igmp = udp.clone();
        igmp[9] = 2;
        let intake = Intake::new();
        intake.open(Protocols::ALL, false);
        for packet in [&udp, &short_total, &igmp, &udp] {
            assert!(matches!(
                intake.offer(packet, Direction::Out, HeaderOrder::Network),
                Offer::Stored { .. }
            ));
        }
        let mut module = started();
        assert_eq!(module.drain(&intake, T0 + 1, no_policy()), 4);
        let seen = module.intake_counters(&intake);
        assert_eq!((seen.seen, seen.malformed, seen.ignored), (4, 1, 1));
        assert_eq!(module.counters().packets_counted, 2);
        let [flow] = module.flows().v4.flows() else {
            panic!()
        };
        assert_eq!(flow.outbound.packets, 2);
    }

    #[test]
    fn drain_moves_ring_records_into_flows() {
        use crate::capture::{Direction, FlowRecord};
        use crate::wire::{Datagram, IpVersion, TcpFlags, Transport, TransportKind};
        let intake = Intake::new();
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
        record.push_to(intake.ring());
        record.push_to(intake.ring());
        let mut module = started();
        assert_eq!(module.drain(&intake, T0 + 5, no_policy()), 2);
        if capacity::MAX_FLOWS_V6 == 0 {
            // A build without IPv6 flows has no room for them: counted, not lost.
            assert_eq!(module.counters().table_full_dropped, 2);
            return;
        }
        let [flow] = module.flows().v6.flows() else {
            panic!()
        };
        assert_eq!((flow.local, flow.remote), ([1; 16], [2; 16]));
        assert_eq!(flow.protocol, TransportKind::Icmp);
        assert_eq!((flow.outbound.bytes, flow.outbound.packets), (128, 2));
        assert_eq!(flow.first_seen, T0 + 5);
        assert_eq!(module.counters().packets_counted, 2);
        module.stop(&NO_INTAKE, no_policy()).unwrap();
        assert!(module.flows().v6.is_empty(), "stop collects the window");
        assert_eq!(
            module.messages().built,
            1,
            "the window; the audit records wait"
        );
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
        module.start(&Settings::DEFAULT, T0, 0).unwrap();
        assert_eq!(module.set_interval(Priority::Low, 120), Ok(()));
        assert_eq!(module.interval(Priority::Low), 120);
        assert_eq!(
            module.set_interval(Priority::Low, 86_401),
            Err(SetError::OutOfRange)
        );
        assert_eq!(module.interval(Priority::Low), 120);
    }

    /// A ring holding one outbound TCP packet per `(remote, port)` given.
    fn traffic(intake: &Intake, peers: impl Iterator<Item = (u32, u16)>) {
        use crate::capture::{Direction, FlowRecord};
        use crate::wire::{Datagram, IpVersion, TcpFlags, Transport, TransportKind};
        for (remote, port) in peers {
            let packet = Datagram {
                version: IpVersion::V4,
                src: [u32::from_ne_bytes([192, 168, 1, 10]), 0, 0, 0],
                dst: [remote, 0, 0, 0],
                transport: Transport {
                    kind: TransportKind::Tcp,
                    ports: u32::from(port) << 16 | 443,
                    flags: TcpFlags(0x10),
                },
                len: 100,
            };
            FlowRecord::new(Direction::Out, &packet).push_to(intake.ring());
        }
    }

    /// Polls once a second from `from` to `to` with a few packets every second, sending
    /// every message handed out while `send` says so; returns the sequences sent.
    fn run(
        module: &mut Module,
        intake: &Intake,
        seconds: core::ops::Range<u32>,
        connected: bool,
        send: bool,
    ) -> std::vec::Vec<u32> {
        run_with(module, intake, seconds, connected, send, 50)
    }

    /// As `run`, with peers out of `spread` addresses.
    fn run_with(
        module: &mut Module,
        intake: &Intake,
        seconds: core::ops::Range<u32>,
        connected: bool,
        send: bool,
        spread: u32,
    ) -> std::vec::Vec<u32> {
        let mut sent = std::vec::Vec::new();
        for now in seconds {
            traffic(
                intake,
                (0..4).map(|i| (now % spread + i, 40_000 + (now % 7) as u16)),
            );
            module.drain(intake, now, no_policy());
            module
                .poll(now, connected, &NO_INTAKE, no_policy(), |_| {})
                .unwrap();
            while let Some((sequence, bytes)) = module.peek() {
                assert!(bytes.len() <= capacity::MAX_MESSAGE_BYTES);
                assert_eq!(bytes[0], crate::message::FORMAT);
                module.ack(sequence, send).unwrap();
                if !send {
                    break;
                }
                sent.push(sequence);
            }
        }
        sent
    }

    fn assert_accounted(module: &Module) {
        let m = module.messages();
        assert_eq!(m.built, m.sent + m.dropped + m.waiting, "{m:?}");
    }

    #[test]
    fn messages_wait_while_pending_and_leave_oldest_first() {
        let intake = Intake::new();
        let mut module = started();
        assert!(run_with(&mut module, &intake, T0..T0 + 100, false, true, 2).is_empty());
        assert_eq!(module.state(), State::Pending);
        // Collections at T0+30, +40, ..., +90: seven, the first with every event.
        assert_eq!(module.counters().collections, 7);
        // The start's audit record (at the first poll), then the collections.
        assert_eq!(module.messages().built, 8);
        assert_eq!(module.messages().dropped, 0);
        // The backlog fills the outbox: the new window goes in as the hub takes it, at the
        // next poll.
        let sent = run_with(&mut module, &intake, T0 + 100..T0 + 102, true, true, 2);
        assert_eq!(
            sent,
            (0..9).collect::<std::vec::Vec<_>>(),
            "backlog then the new window"
        );
        assert_eq!(module.state(), State::Active);
        assert_accounted(&module);
        assert_eq!(module.messages().waiting, 0);
    }

    #[test]
    fn suspended_keeps_collecting() {
        let intake = Intake::new();
        let mut module = started();
        run(&mut module, &intake, T0..T0 + 400, false, true);
        assert_eq!(module.state(), State::Suspended);
        assert_eq!(module.counters().collections, 37);
        assert_accounted(&module);
    }

    #[test]
    fn a_ten_minute_outage_loses_nothing_uncounted() {
        let intake = Intake::new();
        let mut module = started();
        let mut delivered = run(&mut module, &intake, T0..T0 + 120, true, true);
        delivered.extend(run(&mut module, &intake, T0 + 120..T0 + 720, false, true));
        assert!(module.messages().sent as usize == delivered.len());
        delivered.extend(run(&mut module, &intake, T0 + 720..T0 + 800, true, true));
        let m = module.messages();
        assert_eq!(m.waiting, 0);
        // Every sequence number built was delivered or dropped, never both.
        assert_eq!(delivered.len() as u32 + m.dropped, m.built);
        assert!(delivered.windows(2).all(|w| w[0] < w[1]), "oldest first");
        assert_eq!(module.next_sequence, m.built);
        assert!(m.peak_bytes as usize <= capacity::OUTBOX_BYTES);
        assert_accounted(&module);
        // The heartbeat reports the drops.
        assert_eq!(module.heartbeat(&NO_INTAKE).messages_dropped, m.dropped);
        assert!(m.dropped > 0, "the outage overflowed the outbox");
    }

    #[test]
    fn failed_sends_are_counted_and_retried_after_the_retry_interval() {
        let intake = Intake::new();
        let mut module = started();
        // The start's audit record goes out; then every send fails.
        assert_eq!(run(&mut module, &intake, T0..T0 + 1, true, true), [0]);
        run(&mut module, &intake, T0 + 1..T0 + 31, true, false);
        assert_eq!(module.counters().messages_failed, 1);
        assert!(module.peek().is_none(), "retry delay");
        module
            .poll(T0 + 32, true, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        assert!(module.peek().is_none());
        module
            .poll(T0 + 33, true, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        let (sequence, _) = module.peek().unwrap();
        assert_eq!(sequence, 1);
        assert_eq!(module.ack(sequence + 1, true), Err(AckError::NotOldest));
        module.ack(sequence, true).unwrap();
        assert_eq!(module.messages().sent, 2);
        assert_accounted(&module);
    }

    #[test]
    fn a_missing_clock_is_counted_and_changes_nothing() {
        let mut module = started();
        module.poll_without_clock().unwrap();
        module.poll_without_clock().unwrap();
        assert_eq!(module.counters().clock_unavailable, 2);
        assert_eq!(module.state(), State::Pending);
        assert_eq!(module.heartbeat(&NO_INTAKE).clock_unavailable, 2);
        module.stop(&NO_INTAKE, no_policy()).unwrap();
        assert_eq!(module.poll_without_clock(), Err(LifecycleError::NotStarted));
    }

    #[test]
    fn disabling_network_activity_collects_the_open_window() {
        let intake = Intake::new();
        let mut module = started();
        traffic(&intake, [(1, 1), (2, 2)].into_iter());
        module.drain(&intake, T0 + 5, no_policy());
        module
            .set_collector(
                Collector::NetworkActivity,
                false,
                Priority::High,
                &NO_INTAKE,
                no_policy(),
            )
            .unwrap();
        assert_eq!(module.messages().built, 1);
        assert!(module.flows().v4.is_empty());
        assert_eq!(
            module.collector(Collector::NetworkActivity),
            (false, Priority::High)
        );
        // Nothing else is due until the first collection; then the finding that network
        // activity is off, the audit records (start, the switch) and the low group.
        module
            .poll(T0 + 30, false, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        assert_eq!(module.messages().built, 4);
        // The inventory's group is next.
        assert_eq!(module.next_collection(), Some(T0 + 60));
    }

    #[test]
    fn stop_and_start_keep_waiting_messages() {
        let intake = Intake::new();
        let mut module = started();
        run(&mut module, &intake, T0..T0 + 45, false, true);
        module.stop(&NO_INTAKE, no_policy()).unwrap();
        // Two collections and the window collected at stop; more when a larger flow table
        // (NXSM_MAX_FLOWS_V4) makes a window split over several messages.
        let built = module.messages().built;
        assert!(built >= 3, "{built}");
        assert!(module.peek().is_none());
        module.start(&Settings::DEFAULT, T0 + 50, 0).unwrap();
        let sent = run(&mut module, &intake, T0 + 50..T0 + 51, true, true);
        // And the new start's audit record.
        assert_eq!(sent, (0..=built).collect::<std::vec::Vec<_>>());
    }

    /// Fills both tables with `flows` flows each (up to their capacity), every flow with
    /// its own device-side address when `distinct_locals`, and counters wide on the wire.
    fn fill_wide_flows(module: &mut Module, first: u32, flows: u32, distinct_locals: bool) {
        use crate::capture::Direction;
        use crate::flows::{DirectionCounters, Key};
        use crate::wire::{TcpFlags, TransportKind};
        for n in first..first + flows {
            let local = if distinct_locals { n } else { 0 };
            let v4 = Key {
                local: [10, 0, (local >> 8) as u8, local as u8],
                remote: [198, 51, (n >> 8) as u8, n as u8],
                local_port: 40_000,
                remote_port: 443,
                protocol: TransportKind::Tcp,
            };
            let mut v6_local = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            v6_local[14..].copy_from_slice(&(local as u16).to_be_bytes());
            let mut v6_remote = v6_local;
            v6_remote[4] = 0xff;
            v6_remote[12..14].copy_from_slice(&(n as u16).to_be_bytes());
            let v6 = Key {
                local: v6_local,
                remote: v6_remote,
                local_port: 5683,
                remote_port: 5683,
                protocol: TransportKind::Udp,
            };
            module
                .flows
                .v4
                .update(v4, Direction::Out, 1, TcpFlags(0x12), T0);
            module
                .flows
                .v6
                .update(v6, Direction::Out, 1, TcpFlags(0), T0);
        }
        // Every counter at its widest on the wire (five-byte varints).
        let wide = DirectionCounters {
            bytes: u32::MAX - 1,
            packets: u32::MAX / 2,
        };
        for flow in module.flows.v4.flows_mut() {
            (flow.inbound, flow.outbound) = (wide, wide);
        }
        for flow in module.flows.v6.flows_mut() {
            (flow.inbound, flow.outbound) = (wide, wide);
        }
    }

    /// Hands out and acknowledges up to `limit` messages, as the shim does once a poll.
    fn send_some(module: &mut Module, limit: usize) -> usize {
        let mut sent = 0;
        while sent < limit {
            let Some((sequence, _)) = module.peek() else {
                break;
            };
            module.ack(sequence, true).unwrap();
            sent += 1;
        }
        sent
    }

    /// A message handed out stays put, byte for byte, until it is acknowledged, whatever
    /// writes the outbox meanwhile (here: switching network activity off, which collects
    /// the open window at once).
    #[test]
    fn a_peeked_message_is_left_alone_until_acknowledged() {
        let intake = Intake::new();
        let mut module = started();
        module
            .poll(T0 + 1, true, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        fill_wide_flows(&mut module, 0, 64, true);
        module
            .poll(T0 + 30, true, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        fill_wide_flows(&mut module, 1_000, 128, true);
        let (sequence, bytes) = module.peek().unwrap();
        let (lent, at) = (bytes.to_vec(), bytes.as_ptr());
        module
            .set_collector(
                Collector::NetworkActivity,
                false,
                Priority::High,
                &NO_INTAKE,
                no_policy(),
            )
            .unwrap();
        module.drain(&intake, T0 + 31, no_policy());
        module
            .poll(T0 + 31, false, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        module.stop(&NO_INTAKE, no_policy()).unwrap();
        let (front, bytes) = module.outbox.front().unwrap();
        assert_eq!((front, bytes.as_ptr()), (sequence, at));
        assert_eq!(bytes, &lent[..]);
        assert_eq!(module.ack(sequence, true), Ok(()));
        assert_accounted(&module);
    }

    /// A full window of wide flows is larger than the default outbox: while the hub takes
    /// messages (four a poll, as the shim sends them), none is dropped, and the flows that
    /// wait in the table do not mix with the next window's.
    #[test]
    fn a_window_larger_than_the_outbox_waits_for_room_while_a_hub_takes_messages() {
        for distinct_locals in [false, true] {
            let intake = Intake::new();
            let mut module = started();
            module
                .poll(T0 + 1, true, &NO_INTAKE, no_policy(), |_| {})
                .unwrap();
            fill_wide_flows(&mut module, 0, 64, distinct_locals);
            let mut sent = 0;
            let mut waited = false;
            for now in T0 + 30..T0 + 60 {
                module.drain(&intake, now, no_policy());
                module
                    .poll(now, true, &NO_INTAKE, no_policy(), |_| {})
                    .unwrap();
                waited |= module.closing.collectors != 0;
                if now == T0 + 30 {
                    // New packets of the same keys while the window waits: a new window.
                    fill_wide_flows(&mut module, 0, 1, distinct_locals);
                    assert_eq!(module.flows().v4.len(), 1);
                }
                sent += send_some(&mut module, 4);
            }
            let m = module.messages();
            assert_eq!(m.dropped, 0, "distinct locals: {distinct_locals}, {m:?}");
            assert_eq!(module.counters().messages_unstored, 0);
            // With the default capacities the window is larger than the outbox (smaller
            // test builds may fit it at once).
            if capacity::MAX_FLOWS_V6 >= 64 && capacity::OUTBOX_BYTES <= 4096 {
                assert!(waited, "the window fitted the outbox at once: {m:?}");
            }
            // Counted once per collection that had to wait, and in the heartbeat.
            assert_eq!(module.counters().collections_waited, u32::from(waited));
            assert_eq!(
                module.heartbeat(&NO_INTAKE).collections_waited,
                u32::from(waited)
            );
            assert_eq!(m.sent as usize, sent);
            assert_eq!(m.built, m.sent + m.waiting);
            // The next window (collected at +40 and +50) held only the new flow.
            assert!(module.flows.v4.closed().is_empty());
            assert_accounted(&module);
        }
    }

    /// A drain carrying another time (from the ring callback's context, say) moves
    /// neither the clock nor the schedule.
    #[test]
    fn a_drain_does_not_move_the_clock() {
        let intake = Intake::new();
        let mut module = started();
        for now in T0..=T0 + 10 {
            module
                .poll(now, false, &NO_INTAKE, no_policy(), |_| {})
                .unwrap();
        }
        let first = module.next_collection();
        module.drain(&intake, T0 + 1_000, no_policy());
        assert_eq!(module.now(), T0 + 10);
        assert_eq!(
            module.poll(T0 + 11, false, &NO_INTAKE, no_policy(), |_| {}),
            Ok(State::Pending)
        );
        assert_eq!(module.counters().clock_steps_back, 0);
        assert_eq!(module.state_since(), T0);
        assert_eq!(module.next_collection(), first);
        assert_eq!(module.messages().built, 1, "the start's audit record alone");
    }

    /// A 32-bit clock that wraps in 2106 is one second later, not 136 years earlier:
    /// collections, the pending timeout and retries go on across the wrap.
    #[test]
    fn monitoring_goes_on_across_the_end_of_the_32_bit_clock() {
        let intake = Intake::new();
        let start = 0xFFFF_FF00u32;
        let mut module = Module::new();
        module.start(&Settings::DEFAULT, start, 0).unwrap();
        let mut collected_at = std::vec::Vec::new();
        for second in 0..400u32 {
            let now = start.wrapping_add(second);
            module.drain(&intake, now, no_policy());
            let built = module.messages().built;
            if now == u32::MAX {
                continue; // NXSM_TIME_UNAVAILABLE: a poll without a clock
            }
            module
                .poll(now, false, &NO_INTAKE, no_policy(), |_| {})
                .unwrap();
            if module.counters().collections as usize > collected_at.len() {
                collected_at.push(second);
            }
            assert!(module.messages().built >= built);
        }
        let expected: std::vec::Vec<u32> = (30..400).step_by(10).collect();
        assert_eq!(collected_at, expected);
        assert_eq!(module.counters().clock_steps_back, 0);
        // PENDING for more than 300 s: suspended, even though the clock wrapped meanwhile.
        assert_eq!(module.state(), State::Suspended);
        assert_eq!(module.state_since(), start.wrapping_add(301));
        assert_eq!(module.heartbeat(&NO_INTAKE).uptime_s, 399);
    }

    /// The event variant of a message (the first event's).
    fn event_of(bytes: &[u8]) -> u8 {
        let mut at = 1 + 5;
        for _ in 0..4 {
            while bytes[at] & 0x80 != 0 {
                at += 1;
            }
            at += 1;
        }
        bytes[at]
    }

    /// Takes every message the module hands out, returning (time of the poll, event).
    fn take_events(module: &mut Module, now: u32, events: &mut std::vec::Vec<(u32, u8)>) {
        while let Some((sequence, bytes)) = module.peek() {
            events.push((now - T0, event_of(bytes)));
            module.ack(sequence, true).unwrap();
        }
    }

    fn listening(port: u16) -> Socket {
        Socket {
            kind: crate::hygiene::inventory::SocketKind::TcpListening as u8,
            local_port: port,
            ..Socket::EMPTY
        }
    }

    /// The inventory is read at every high-group interval and sent when it changed; its
    /// collector's group sends it anyway. A Telnet listener is a finding from the read
    /// that first sees it to the read that no longer does.
    #[test]
    fn the_inventory_goes_out_when_it_changes_and_at_its_interval() {
        let mut module = started();
        let sockets = core::cell::RefCell::new(std::vec![listening(8883)]);
        let reads = core::cell::Cell::new(0u32);
        let mut events = std::vec::Vec::new();
        for now in T0..=T0 + 95 {
            if now == T0 + 45 {
                sockets.borrow_mut().push(listening(23));
            }
            if now == T0 + 75 {
                sockets.borrow_mut().pop();
            }
            let source = |room: &mut [Socket]| {
                reads.set(reads.get() + 1);
                for (slot, socket) in room.iter_mut().zip(sockets.borrow().iter()) {
                    *slot = *socket;
                }
                Some(Scan {
                    found: sockets.borrow().len() as u32,
                    ..Scan::default()
                })
            };
            module
                .poll_reading(now, true, &NO_INTAKE, no_policy(), |_| {}, source)
                .unwrap();
            take_events(&mut module, now, &mut events);
        }
        // Reads at the start, then every 10 s, and at the collector's times (30, 60, 90).
        assert_eq!(reads.get(), 10);
        let inventories: std::vec::Vec<u32> = events
            .iter()
            .filter(|(_, event)| *event == 5)
            .map(|(at, _)| *at)
            .collect();
        // The first read; the first collection; Telnet opened (read at 50); the medium
        // group (60); Telnet closed (read at 80); the medium group (90).
        assert_eq!(inventories, [0, 30, 50, 60, 80, 90]);
        let findings: std::vec::Vec<u32> = events
            .iter()
            .filter(|(_, event)| *event == 6)
            .map(|(at, _)| *at)
            .collect();
        assert_eq!(findings, [50, 80], "Telnet started, then ended");
        assert_eq!(
            events[..2],
            [(0, 5), (0, 7)],
            "the first read, then the start's record"
        );
        assert_eq!(module.inventory_counters().0.sent, 6);
    }

    /// Settings changes, refused ones included, and the clock set back are audited with
    /// their values; a stop's record waits for the next start's first poll.
    #[test]
    fn changes_are_audited_with_old_and_new_values() {
        let mut module = started();
        module.set_interval(Priority::Medium, 45).unwrap();
        assert_eq!(
            module.set_interval(Priority::Low, 0),
            Err(SetError::OutOfRange)
        );
        module
            .poll(T0 + 5, true, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        module
            .poll(T0 + 2, true, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        module.stop(&NO_INTAKE, no_policy()).unwrap();
        module.start(&Settings::DEFAULT, T0 + 3, 0).unwrap();
        module
            .poll(T0 + 4, true, &NO_INTAKE, no_policy(), |_| {})
            .unwrap();
        let mut messages = std::vec::Vec::new();
        while let Some((_, bytes)) = module.outbox.lend_front() {
            assert_eq!(event_of(bytes), 7);
            messages.push(bytes.to_vec());
            module.outbox.pop_sent();
        }
        // The start and both interval changes (at the first poll), the step back, then the
        // stop and the next start (at the next start's first poll).
        assert_eq!(messages.len(), 3);
        let counters = module.audit_counters();
        assert_eq!((counters.records, counters.lost), (6, 0));
        // The refused change, last of the first message: request error, interval changed,
        // NXSM_ERR_INVALID_ARGUMENT, the low group, 60 s before, 0 asked.
        assert!(
            messages[0].ends_with(&[2, 4, 2, 2, 60, 0]),
            "{:?}",
            messages[0]
        );
    }
}
