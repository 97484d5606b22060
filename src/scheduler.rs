//! When collectors run: three priority groups, each with its own interval.
//!
//! Every collector belongs to one group; a group is due when its time has come and at
//! least one of its collectors is enabled. All groups first fall due together at the
//! first-collection time (as in the original, whose first message carried every event);
//! afterwards each stays on its own grid of `interval` steps, so neither a late poll nor
//! a clock jump shifts later windows: after a jump the group is due at its next grid point.

use crate::config::Priority;
use crate::time::{earlier, elapsed, is_before};

/// The built-in collectors; the values are the C `nxsm_collector` values and the bit
/// positions of `nxsm_config.collectors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collector {
    /// Flows of the window.
    NetworkActivity = 0,
    /// Platform versions, capacities and settings.
    SystemInformation = 1,
    /// Health counters.
    Heartbeat = 2,
    /// Listening ports, bound ports and connections (sent at its interval, and whenever it
    /// changes).
    Inventory = 3,
}

/// The collectors (bits) of each group (`Priority as usize`) by default: network activity
/// in the high group, the inventory in the medium one, system information and heartbeat in
/// the low one.
const DEFAULT_MEMBERS: [u8; 3] = [
    Collector::NetworkActivity.bit(),
    Collector::Inventory.bit(),
    Collector::SystemInformation.bit() | Collector::Heartbeat.bit(),
];

impl Collector {
    /// Every collector, in event order.
    pub const ALL: [Self; 4] = [
        Self::NetworkActivity,
        Self::SystemInformation,
        Self::Heartbeat,
        Self::Inventory,
    ];
    /// The bit set with every collector.
    pub const ALL_BITS: u8 = 0b1111;

    /// Maps the C value; anything else is `None`.
    pub fn from_raw(raw: u32) -> Option<Self> {
        Self::ALL.get(raw as usize).copied()
    }

    /// This collector's bit.
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The group it belongs to unless moved (the original's assignment).
    pub const fn default_priority(self) -> Priority {
        match self {
            Self::NetworkActivity => Priority::High,
            Self::Inventory => Priority::Medium,
            Self::SystemInformation | Self::Heartbeat => Priority::Low,
        }
    }
}

/// Group membership, enabled collectors and the next due time of each group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheduler {
    /// Next due time per group (`Priority as usize`).
    due: [u32; 3],
    /// The collectors (`Collector::bit` each) of each group (`Priority as usize`), XOR
    /// the default membership, so the default is 0 and a fresh scheduler is all zero
    /// bytes (`.bss`). Every collector is in exactly one group.
    members: [u8; 3],
    /// Enabled collectors, `Collector::bit` each.
    enabled: u8,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    /// Nothing enabled, every collector in its default group.
    pub const fn new() -> Self {
        Self {
            due: [0; 3],
            members: [0; 3],
            enabled: 0,
        }
    }

    /// Starts a schedule: `enabled` collectors (bits), every group first due at `first_at`.
    pub fn start(&mut self, enabled: u8, first_at: u32) {
        self.enabled = enabled & Collector::ALL_BITS;
        self.due = [first_at; 3];
        self.members = [0; 3];
    }

    /// Enables or disables a collector and puts it in `priority`'s group.
    pub fn set_collector(&mut self, collector: Collector, enabled: bool, priority: Priority) {
        if enabled {
            self.enabled |= collector.bit();
        } else {
            self.enabled &= !collector.bit();
        }
        let bit = collector.bit();
        for group in 0..self.members.len() {
            let mut members = self.members(group) & !bit;
            if group == priority as usize {
                members |= bit;
            }
            if let (Some(stored), Some(default)) =
                (self.members.get_mut(group), DEFAULT_MEMBERS.get(group))
            {
                *stored = members ^ default;
            }
        }
    }

    /// The collectors (bits) of group `group` (`Priority as usize`).
    fn members(&self, group: usize) -> u8 {
        let stored = self.members.get(group).copied().unwrap_or(0);
        stored ^ DEFAULT_MEMBERS.get(group).copied().unwrap_or(0)
    }

    /// Whether `collector` is enabled, and its group.
    pub fn collector(&self, collector: Collector) -> (bool, Priority) {
        let bit = collector.bit();
        let mut priority = collector.default_priority();
        for group in 0..self.members.len() {
            if self.members(group) & bit != 0 {
                priority = Priority::from_raw(group as u32).unwrap_or(priority);
            }
        }
        (self.enabled & bit != 0, priority)
    }

    /// Enabled collectors as bits.
    pub fn enabled(&self) -> u8 {
        self.enabled
    }

    /// A group's interval changed: it falls due no later than one new interval from now.
    pub fn interval_changed(&mut self, priority: Priority, interval_s: u32, now: u32) {
        if let Some(due) = self.due.get_mut(priority as usize) {
            *due = earlier(*due, now.wrapping_add(interval_s));
        }
    }

    /// Moves every due time back by `seconds` (the clock was set back).
    pub fn step_back(&mut self, seconds: u32) {
        for due in &mut self.due {
            *due = due.wrapping_sub(seconds);
        }
    }

    /// Groups (bit per `Priority`) with an enabled collector.
    fn active_groups(&self) -> u8 {
        let mut groups = 0;
        for group in 0..self.members.len() {
            if self.members(group) & self.enabled != 0 {
                groups |= 1 << group;
            }
        }
        groups
    }

    /// The earliest time a group with an enabled collector is due, if any.
    pub fn next_due(&self) -> Option<u32> {
        let active = self.active_groups();
        (0..3)
            .filter(|g| active & 1 << g != 0)
            .filter_map(|g| self.due.get(g).copied())
            .reduce(earlier)
    }

    /// The collectors due at `now` (bits), and the groups they came from.
    pub fn due(&self, now: u32) -> Due {
        // Plain index loops: array iterators can stay out-of-line calls at opt-level "s".
        let mut due = Due::default();
        for group in 0..self.members.len() {
            let members = self.members(group) & self.enabled;
            if members != 0 && self.due.get(group).is_some_and(|at| !is_before(now, *at)) {
                due.collectors |= members;
                due.groups |= 1 << group;
            }
        }
        due
    }

    /// Records that `due.groups` were collected at `now`; each moves on to the first point
    /// of its grid after `now` (one interval on, unless the clock jumped further).
    pub fn collected(&mut self, due: Due, now: u32, intervals_s: &[u32; 3]) {
        for g in 0..self.due.len() {
            let (Some(at), Some(interval)) = (self.due.get_mut(g), intervals_s.get(g)) else {
                continue;
            };
            if due.groups & 1 << g == 0 {
                continue;
            }
            let interval = (*interval).max(1);
            // At most 2^31 s late and 86,400 s a step: the product cannot overflow.
            let steps = elapsed(*at, now) / interval + 1;
            *at = at.wrapping_add(steps.wrapping_mul(interval));
        }
    }
}

/// What is due at one time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// Collectors, `Collector::bit` each.
    pub collectors: u8,
    /// Groups, bit per `Priority`.
    pub groups: u8,
}

impl Due {
    /// Whether `collector` is due.
    pub fn has(&self, collector: Collector) -> bool {
        self.collectors & collector.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u32 = 1_000_000;
    const INTERVALS: [u32; 3] = [10, 30, 60];

    fn run(scheduler: &mut Scheduler, from: u32, to: u32) -> std::vec::Vec<(u32, u8)> {
        let mut collections = std::vec::Vec::new();
        for now in from..=to {
            let due = scheduler.due(now);
            if due.collectors != 0 {
                collections.push((now - T0, due.collectors));
                scheduler.collected(due, now, &INTERVALS);
            }
        }
        collections
    }

    #[test]
    fn everything_first_then_each_group_on_its_grid() {
        let mut scheduler = Scheduler::new();
        scheduler.start(Collector::ALL_BITS, T0 + 45);
        assert_eq!(scheduler.next_due(), Some(T0 + 45));
        let got = run(&mut scheduler, T0, T0 + 165);
        assert_eq!(
            got,
            [
                (45, 0b1111),
                (55, 0b0001),
                (65, 0b0001),
                (75, 0b1001),
                (85, 0b0001),
                (95, 0b0001),
                (105, 0b1111),
                (115, 0b0001),
                (125, 0b0001),
                (135, 0b1001),
                (145, 0b0001),
                (155, 0b0001),
                (165, 0b1111),
            ]
        );
    }

    #[test]
    fn late_polls_and_jumps_keep_the_grid() {
        let mut scheduler = Scheduler::new();
        scheduler.start(Collector::NetworkActivity.bit(), T0);
        let due = scheduler.due(T0 + 3);
        scheduler.collected(due, T0 + 3, &INTERVALS);
        assert_eq!(scheduler.next_due(), Some(T0 + 10));
        let due = scheduler.due(T0 + 503);
        scheduler.collected(due, T0 + 503, &INTERVALS);
        assert_eq!(scheduler.next_due(), Some(T0 + 510));
        let due = scheduler.due(T0 + 510);
        scheduler.collected(due, T0 + 510, &INTERVALS);
        assert_eq!(scheduler.next_due(), Some(T0 + 520));
    }

    #[test]
    fn disabled_or_moved_collectors_change_what_is_due() {
        let mut scheduler = Scheduler::new();
        scheduler.start(Collector::ALL_BITS, T0);
        scheduler.set_collector(Collector::Heartbeat, false, Priority::Low);
        scheduler.set_collector(Collector::Inventory, false, Priority::Medium);
        scheduler.set_collector(Collector::SystemInformation, true, Priority::Medium);
        assert_eq!(
            scheduler.collector(Collector::SystemInformation),
            (true, Priority::Medium)
        );
        let got = run(&mut scheduler, T0, T0 + 30);
        assert_eq!(got, [(0, 0b011), (10, 0b001), (20, 0b001), (30, 0b011)]);
        scheduler.set_collector(Collector::NetworkActivity, false, Priority::High);
        scheduler.set_collector(Collector::SystemInformation, false, Priority::Medium);
        assert_eq!(scheduler.next_due(), None);
    }

    #[test]
    fn each_collector_is_in_exactly_one_group() {
        const GROUPS: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];
        let mut scheduler = Scheduler::new();
        scheduler.start(Collector::ALL_BITS, T0);
        for collector in Collector::ALL {
            for priority in GROUPS {
                scheduler.set_collector(collector, true, priority);
                assert_eq!(scheduler.collector(collector), (true, priority));
                let due = scheduler.due(T0);
                assert_eq!(due.collectors, Collector::ALL_BITS);
                assert_ne!(due.groups & 1 << priority as u8, 0);
                let memberships = (0..3)
                    .map(|g| scheduler.members(g))
                    .fold(0, |a, m| a + m.count_ones());
                assert_eq!(memberships, 4, "{scheduler:?}");
            }
            scheduler.set_collector(collector, true, collector.default_priority());
        }
        assert_eq!(
            scheduler.members, [0; 3],
            "back to the defaults: all zero again"
        );
    }

    #[test]
    fn a_shorter_interval_takes_effect_at_once() {
        let mut scheduler = Scheduler::new();
        scheduler.start(Collector::Heartbeat.bit(), T0 + 3_000);
        scheduler.interval_changed(Priority::Low, 5, T0);
        assert_eq!(scheduler.next_due(), Some(T0 + 5));
        scheduler.interval_changed(Priority::Low, 600, T0);
        assert_eq!(scheduler.next_due(), Some(T0 + 5));
    }
}
