//! The audit event (wire format section 3.8): the monitor's security event log.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One record of the security event log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// +1 for every record since boot, lost ones included.
    pub sequence: u32,
    /// Unix seconds of the module's clock when it happened.
    pub time: u32,
    /// [`AuditCategory`]'s number.
    pub category: u8,
    /// [`AuditKind`]'s number.
    pub kind: u32,
    /// 0 done, otherwise the `nxsm_result` code the request was refused with.
    pub result: u32,
    /// What it applies to (depends on the kind).
    pub subject: u32,
    /// The value before.
    pub old: u32,
    /// The value after.
    pub new: u32,
}

impl AuditRecord {
    /// The category (`None` for a value of 4 or more).
    pub fn category(&self) -> Option<AuditCategory> {
        AuditCategory::from_number(self.category)
    }

    /// What happened (`None` for an unknown number).
    pub fn kind(&self) -> Option<AuditKind> {
        AuditKind::from_number(self.kind)
    }
}

/// The category of an [`AuditRecord`], in wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditCategory {
    /// 0: control-system event.
    ControlSystem,
    /// 1: configuration change.
    Configuration,
    /// 2: request error (a refused request).
    RequestError,
    /// 3: audit-log event.
    AuditLog,
}

impl AuditCategory {
    /// The category of a wire number.
    pub fn from_number(number: u8) -> Option<Self> {
        match number {
            0 => Some(AuditCategory::ControlSystem),
            1 => Some(AuditCategory::Configuration),
            2 => Some(AuditCategory::RequestError),
            3 => Some(AuditCategory::AuditLog),
            _ => None,
        }
    }

    /// The wire number.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name used in JSON and replay output.
    pub fn name(self) -> &'static str {
        match self {
            AuditCategory::ControlSystem => "control_system",
            AuditCategory::Configuration => "configuration",
            AuditCategory::RequestError => "request_error",
            AuditCategory::AuditLog => "audit_log",
        }
    }
}

impl fmt::Display for AuditCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an [`AuditRecord`] says happened; the wire numbers start at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditKind {
    /// 1: the module started.
    Started = 1,
    /// 2: the module stopped.
    Stopped,
    /// 3: a collector was switched or moved to another group.
    CollectorChanged,
    /// 4: a group interval was set.
    IntervalChanged,
    /// 5: a policy was loaded.
    PolicyLoaded,
    /// 6: the policy was cleared.
    PolicyCleared,
    /// 7: learn mode started.
    LearnStarted,
    /// 8: learn mode ended.
    LearnEnded,
    /// 9: the clock was set back.
    ClockSetBack,
    /// 10: the outbox dropped messages.
    MessagesDropped,
    /// 11: hooks were lost (unhooked `NX_IP`s or replaced hooks).
    HooksLost,
    /// 12: audit records were lost (the queue was full).
    AuditLost,
    /// 13: the risky-service list was set.
    ServicesChanged,
}

impl AuditKind {
    const ALL: [AuditKind; 13] = [
        AuditKind::Started,
        AuditKind::Stopped,
        AuditKind::CollectorChanged,
        AuditKind::IntervalChanged,
        AuditKind::PolicyLoaded,
        AuditKind::PolicyCleared,
        AuditKind::LearnStarted,
        AuditKind::LearnEnded,
        AuditKind::ClockSetBack,
        AuditKind::MessagesDropped,
        AuditKind::HooksLost,
        AuditKind::AuditLost,
        AuditKind::ServicesChanged,
    ];

    /// The kind of a wire number (1 to 13).
    pub fn from_number(number: u32) -> Option<Self> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        Self::ALL.get(index).copied()
    }

    /// The wire number.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The name used in JSON and replay output.
    pub fn name(self) -> &'static str {
        match self {
            AuditKind::Started => "started",
            AuditKind::Stopped => "stopped",
            AuditKind::CollectorChanged => "collector_changed",
            AuditKind::IntervalChanged => "interval_changed",
            AuditKind::PolicyLoaded => "policy_loaded",
            AuditKind::PolicyCleared => "policy_cleared",
            AuditKind::LearnStarted => "learn_started",
            AuditKind::LearnEnded => "learn_ended",
            AuditKind::ClockSetBack => "clock_set_back",
            AuditKind::MessagesDropped => "messages_dropped",
            AuditKind::HooksLost => "hooks_lost",
            AuditKind::AuditLost => "audit_lost",
            AuditKind::ServicesChanged => "services_changed",
        }
    }

    /// The category a record of this kind has when its request was done (`result` 0).
    pub fn category(self) -> AuditCategory {
        match self {
            AuditKind::Started
            | AuditKind::Stopped
            | AuditKind::ClockSetBack
            | AuditKind::MessagesDropped
            | AuditKind::HooksLost => AuditCategory::ControlSystem,
            AuditKind::AuditLost => AuditCategory::AuditLog,
            _ => AuditCategory::Configuration,
        }
    }

    /// Whether a refused request of this kind is recorded (as a request error).
    pub fn can_be_refused(self) -> bool {
        matches!(
            self,
            AuditKind::IntervalChanged
                | AuditKind::PolicyLoaded
                | AuditKind::LearnStarted
                | AuditKind::ServicesChanged
        )
    }

    /// Whether the table of section 3.8 allows `category` with `result` for this kind: its
    /// own category, or for a request that can be refused, request error exactly when the
    /// result is not 0.
    pub fn allows(self, category: AuditCategory, result: u32) -> bool {
        if self.can_be_refused() {
            let refused = result != 0;
            category
                == if refused {
                    AuditCategory::RequestError
                } else {
                    self.category()
                }
        } else {
            category == self.category()
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
