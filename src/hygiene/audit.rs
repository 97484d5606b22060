//! The security event log: what happened to the monitor and who changed what, each record
//! numbered, timed, categorised and with its result (the fields IEC 62443-4-2 CR 2.8 asks
//! of an audit record). Records wait in a fixed queue until a poll puts them in the outbox;
//! when it is full a record is lost, its number still taken (so the gap shows), and an
//! [`AuditKind::AuditLost`] record tells how many as soon as there is room.

use crate::config::capacity;

/// Records that may wait (`NXSM_AUDIT_RECORDS`); the last place is kept for the record that
/// reports losses.
pub const RECORDS: usize = capacity::AUDIT_RECORDS;

/// Category of a record (the wire's `category`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// The monitor started, stopped or met a condition.
    ControlSystem = 0,
    /// A setting, the policy or a list changed.
    Configuration = 1,
    /// A request was refused.
    RequestError = 2,
    /// The log itself lost records.
    AuditLog = 3,
}

/// What happened (the wire's `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    /// The module started (subject: enabled collectors; new: capture mode).
    Started = 1,
    /// The module stopped.
    Stopped = 2,
    /// A collector was switched or moved (subject: collector; old, new: enabled << 8 | group).
    CollectorChanged = 3,
    /// A group's interval changed (subject: group; old, new: seconds).
    IntervalChanged = 4,
    /// A policy load (subject: CRC-32 of the bytes offered; old, new: active policy CRC).
    PolicyLoaded = 5,
    /// The policy was cleared (old: its CRC).
    PolicyCleared = 6,
    /// Learn mode started (new: seconds).
    LearnStarted = 7,
    /// Learn mode ended (subject: 1 applied; old, new: active policy CRC).
    LearnEnded = 8,
    /// The clock was set back (old: module time before; new: the poll's time).
    ClockSetBack = 9,
    /// Messages were dropped unsent (subject: total since boot; new: since the last record).
    MessagesDropped = 10,
    /// Hooks were lost (subject: 1 unhooked IPs, 2 replaced hooks; old, new: counts).
    HooksLost = 11,
    /// Records were lost (new: since the last such record).
    AuditLost = 12,
    /// The risky-service list changed (old: entries before; new: entries asked).
    ServicesChanged = 13,
}

impl AuditKind {
    /// Its category when done; a refused request is a [`Category::RequestError`].
    pub fn category(self, result: u32) -> Category {
        if result != 0 {
            return Category::RequestError;
        }
        match self {
            Self::CollectorChanged
            | Self::IntervalChanged
            | Self::PolicyLoaded
            | Self::PolicyCleared
            | Self::LearnStarted
            | Self::LearnEnded
            | Self::ServicesChanged => Category::Configuration,
            Self::AuditLost => Category::AuditLog,
            _ => Category::ControlSystem,
        }
    }
}

/// One record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditRecord {
    /// Number since boot, lost records included.
    pub sequence: u32,
    /// The module's time when it happened.
    pub time: u32,
    /// [`Category`] as a number.
    pub category: u8,
    /// [`AuditKind`] as a number.
    pub kind: u8,
    /// 0 done, or the C result code it was refused with.
    pub result: u8,
    /// What it applies to.
    pub subject: u32,
    /// Value before.
    pub old: u32,
    /// Value after.
    pub new: u32,
}

/// Counters of the log since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditCounters {
    /// Records made, lost ones included.
    pub records: u32,
    /// Records lost because the queue was full.
    pub lost: u32,
}

/// The queue of records waiting for the outbox.
#[derive(Debug)]
pub struct AuditLog {
    waiting: [AuditRecord; RECORDS],
    len: usize,
    next_sequence: u32,
    /// Lost since the last `AuditLost` record.
    unreported_lost: u32,
    counters: AuditCounters,
}

impl Default for AuditLog {
    fn default() -> Self {
        Self::new()
    }
}

impl AuditLog {
    /// Empty (all zero bytes).
    pub const fn new() -> Self {
        const ZERO: AuditRecord = AuditRecord {
            sequence: 0,
            time: 0,
            category: 0,
            kind: 0,
            result: 0,
            subject: 0,
            old: 0,
            new: 0,
        };
        Self {
            waiting: [ZERO; RECORDS],
            len: 0,
            next_sequence: 0,
            unreported_lost: 0,
            counters: AuditCounters {
                records: 0,
                lost: 0,
            },
        }
    }

    /// Records `kind` at `time` with `result` (0 done) and its values.
    pub fn record(&mut self, time: u32, kind: AuditKind, result: u32, values: [u32; 3]) {
        let sequence = self.next_sequence;
        self.next_sequence = sequence.wrapping_add(1);
        self.counters.records = self.counters.records.saturating_add(1);
        // The last place waits for the record that reports losses.
        if self.len + 1 >= RECORDS {
            self.unreported_lost = self.unreported_lost.saturating_add(1);
            self.counters.lost = self.counters.lost.saturating_add(1);
            return;
        }
        self.push(sequence, time, kind, result, values);
    }

    fn push(&mut self, sequence: u32, time: u32, kind: AuditKind, result: u32, values: [u32; 3]) {
        let [subject, old, new] = values;
        if let Some(slot) = self.waiting.get_mut(self.len) {
            *slot = AuditRecord {
                sequence,
                time,
                category: kind.category(result) as u8,
                kind: kind as u8,
                result: u8::try_from(result).unwrap_or(u8::MAX),
                subject,
                old,
                new,
            };
            self.len += 1;
        }
    }

    /// The waiting records, with the loss report appended at `time` when records were lost.
    pub fn waiting(&mut self, time: u32) -> &[AuditRecord] {
        if self.unreported_lost != 0 && self.len < RECORDS {
            let lost = self.unreported_lost;
            let sequence = self.next_sequence;
            self.next_sequence = sequence.wrapping_add(1);
            self.counters.records = self.counters.records.saturating_add(1);
            self.push(sequence, time, AuditKind::AuditLost, 0, [0, 0, lost]);
            self.unreported_lost = 0;
        }
        self.waiting.get(..self.len).unwrap_or_default()
    }

    /// The first `count` waiting records went out.
    pub fn sent(&mut self, count: usize) {
        let count = count.min(self.len);
        for to in 0..self.len - count {
            if let Some(record) = self.waiting.get(to + count).copied() {
                if let Some(slot) = self.waiting.get_mut(to) {
                    *slot = record;
                }
            }
        }
        self.len -= count;
    }

    /// Counters since boot.
    pub fn counters(&self) -> AuditCounters {
        self.counters
    }
}
