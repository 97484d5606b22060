//! What host tools, tests and fuzz targets use of the core, in one place. A firmware uses
//! the C API (`ffi`); this surface is for the repository's own tools (the reference
//! decoder's round trips, the benchmarks, the fuzz targets, the long tests) and may change
//! with them. Everything else in the core is private to it, so code nothing uses shows up as
//! dead.

/// Driving the core as the C API does: capture, drain, poll, messages.
pub mod monitor {
    pub use crate::monitor::{Capture, Error, Exclusive, Monitor, Notify, PolicyInfo};
}

/// The capture path's pieces, for tests that look inside it.
pub mod capture {
    pub use crate::capture::{capture, Captured, Direction, FlowRecord};
    pub use crate::intake::{Intake, IntakeCounters, Offer};
    pub use crate::raw::Seen;
}

/// Build-time capacities and run-time settings.
pub mod config {
    pub use crate::config::{capacity, Priority, Settings};
}

/// The security module behind the monitor.
pub mod module {
    pub use crate::module::Module;
}

/// Header parsing.
pub mod wire {
    pub use crate::wire::{parse, HeaderOrder, Parsed, TcpFlags, TransportKind};
}

/// Flows and the message writer, for the reference decoder's round trips and benchmarks.
pub mod message {
    pub use crate::capture::Direction;
    pub use crate::detect::baseline::{BaselineReport, Learned};
    pub use crate::detect::{Alert, AlertFlow, AlertKind, Subject};
    pub use crate::flows::{DirectionCounters, Flow, Key};
    pub use crate::message::{
        AlertPlan, AuditPlan, BaselineMessage, Collection, Composer, FindingsMessage, Heartbeat,
        InventoryPlan, SystemInformation, Window, MIN_MESSAGE_BYTES,
    };
    pub use crate::wire::IpVersion;
}

/// The inventory, findings and audit log, for the decoder's round trips and the tests.
pub mod hygiene {
    pub use crate::hygiene::audit::{AuditKind, AuditLog, AuditRecord, Category};
    pub use crate::hygiene::findings::{
        BlindSpot, Finding, Findings, Reason, Service, ServiceProtocol, Subject, DEFAULT_SERVICES,
    };
    pub use crate::hygiene::inventory::{Inventory, Read, Scan, Socket, SocketKind};
}

/// The detection policy blob: its fields, the reader that checks it and its lookups, for
/// `nxsm-policy` (which writes blobs and prints them) and the tests.
pub mod policy {
    #[cfg(feature = "std")]
    pub use crate::policy::spec::Spec;
    pub use crate::policy::store::{LoadError, Policies, PolicyStore};
    pub use crate::policy::{
        at, check, crc32, field, flag, Fields, Layout, Policy, PolicyError, Words, HEADER_BYTES,
        INDEX_ENTRIES, MAGIC, VERSION,
    };
}
