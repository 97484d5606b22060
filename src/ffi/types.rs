//! `#[repr(C)]` types of the C API; cbindgen turns them into `include/nx_security_module.h`.

use core::ffi::CStr;

/// A `now_s` value that means "the clock is not available".
pub const NXSM_TIME_UNAVAILABLE: u32 = u32::MAX;

/// Major version of this library (the header's and the archive's; Cargo.toml is the source).
pub const NXSM_VERSION_MAJOR: u32 = 0;
/// Minor version of this library.
pub const NXSM_VERSION_MINOR: u32 = 1;
/// Patch version of this library.
pub const NXSM_VERSION_PATCH: u32 = 0;

// The header's version macros come from the constants above; the build stops if Cargo.toml's
// version moved without them.
const _: () = assert!(
    crate::VERSION == (NXSM_VERSION_MAJOR << 24) | (NXSM_VERSION_MINOR << 16) | NXSM_VERSION_PATCH,
    "NXSM_VERSION_MAJOR/MINOR/PATCH differ from the version in Cargo.toml"
);

/// `nxsm_config.protocols` bit: record TCP.
pub const NXSM_PROTOCOL_TCP: u32 = 1;
/// `nxsm_config.protocols` bit: record UDP.
pub const NXSM_PROTOCOL_UDP: u32 = 2;
/// `nxsm_config.protocols` bit: record ICMP and ICMPv6.
pub const NXSM_PROTOCOL_ICMP: u32 = 4;

/// Result of every fallible `nxsm_*` call. The numbers are stable; new codes are appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_result {
    /// Success.
    NXSM_OK = 0,
    /// A required pointer argument was NULL.
    NXSM_ERR_NULL_ARGUMENT = 1,
    /// A value (configuration field, priority, interval) is outside its documented range.
    NXSM_ERR_INVALID_ARGUMENT = 2,
    /// `nxsm_start` while the module runs.
    NXSM_ERR_ALREADY_STARTED = 3,
    /// A call that needs a running module while it is stopped.
    NXSM_ERR_NOT_STARTED = 4,
    /// Another context is inside the module right now; nothing was done, try again.
    NXSM_ERR_BUSY = 5,
    /// `struct_size` does not match this library's struct: header and library differ.
    NXSM_ERR_ABI_MISMATCH = 6,
    /// `now_s` was `NXSM_TIME_UNAVAILABLE`.
    NXSM_ERR_CLOCK_UNAVAILABLE = 7,
    /// The packet could not be parsed; it was counted in `malformed`. (Packets stored as
    /// raw headers are counted when drained instead; see `nxsm_capture`.)
    NXSM_ERR_MALFORMED = 8,
    /// The capture ring was full; the record was dropped and counted in `ring_dropped`.
    NXSM_ERR_RING_FULL = 9,
    /// Well-formed but nothing to record (fragment tail, untracked or disabled protocol);
    /// counted in `ignored`.
    NXSM_ERR_NOT_RECORDED = 10,
    /// No message to hand out now: the outbox is empty, the module is not ACTIVE, or the
    /// retry delay after a failed send has not passed.
    NXSM_ERR_NO_MESSAGE = 11,
    /// A packet handed to `nxsm_capture` while the module runs with its network-activity
    /// collector off; not counted. (While it is stopped: `NXSM_ERR_NOT_STARTED`.)
    NXSM_ERR_CAPTURE_OFF = 12,
    /// A policy blob longer than `NXSM_POLICY_BYTES`.
    NXSM_ERR_POLICY_TOO_LARGE = 13,
    /// A policy blob shorter than its header, or whose length word is not the length given
    /// or not a multiple of 4.
    NXSM_ERR_POLICY_TRUNCATED = 14,
    /// Not a policy blob (wrong magic).
    NXSM_ERR_POLICY_MAGIC = 15,
    /// A policy format version this library does not read.
    NXSM_ERR_POLICY_VERSION = 16,
    /// The policy blob's CRC-32 does not match its bytes.
    NXSM_ERR_POLICY_CHECKSUM = 17,
    /// The policy's flags and counts contradict one another.
    NXSM_ERR_POLICY_RULES = 18,
    /// The policy's counts do not add up to its length.
    NXSM_ERR_POLICY_COUNTS = 19,
    /// Policy ranges inverted, unsorted or overlapping.
    NXSM_ERR_POLICY_RANGES = 20,
    /// A policy range names an indicator source that does not exist.
    NXSM_ERR_POLICY_SOURCE = 21,
    /// A policy index differs from its ranges.
    NXSM_ERR_POLICY_INDEX = 22,
    /// Policy ports not strictly increasing.
    NXSM_ERR_POLICY_PORTS = 23,
    /// From a capture call: the detection policy blocks this packet, so the hook drops it
    /// (counted in `packets_blocked`; its record was kept as the other codes would say).
    NXSM_ERR_BLOCKED = 24,
    /// The library was built without the feature this call belongs to (detection:
    /// CMake `NXSM_DETECTION=OFF`).
    NXSM_ERR_NOT_BUILT = 25,
}

impl nxsm_result {
    /// Every result in code order: `ALL[code]` is the result numbered `code`.
    pub const ALL: [nxsm_result; 26] = [
        Self::NXSM_OK,
        Self::NXSM_ERR_NULL_ARGUMENT,
        Self::NXSM_ERR_INVALID_ARGUMENT,
        Self::NXSM_ERR_ALREADY_STARTED,
        Self::NXSM_ERR_NOT_STARTED,
        Self::NXSM_ERR_BUSY,
        Self::NXSM_ERR_ABI_MISMATCH,
        Self::NXSM_ERR_CLOCK_UNAVAILABLE,
        Self::NXSM_ERR_MALFORMED,
        Self::NXSM_ERR_RING_FULL,
        Self::NXSM_ERR_NOT_RECORDED,
        Self::NXSM_ERR_NO_MESSAGE,
        Self::NXSM_ERR_CAPTURE_OFF,
        Self::NXSM_ERR_POLICY_TOO_LARGE,
        Self::NXSM_ERR_POLICY_TRUNCATED,
        Self::NXSM_ERR_POLICY_MAGIC,
        Self::NXSM_ERR_POLICY_VERSION,
        Self::NXSM_ERR_POLICY_CHECKSUM,
        Self::NXSM_ERR_POLICY_RULES,
        Self::NXSM_ERR_POLICY_COUNTS,
        Self::NXSM_ERR_POLICY_RANGES,
        Self::NXSM_ERR_POLICY_SOURCE,
        Self::NXSM_ERR_POLICY_INDEX,
        Self::NXSM_ERR_POLICY_PORTS,
        Self::NXSM_ERR_BLOCKED,
        Self::NXSM_ERR_NOT_BUILT,
    ];

    /// The result numbered `code`, if there is one.
    pub const fn from_code(code: u32) -> Option<Self> {
        if (code as usize) < Self::ALL.len() {
            Some(Self::ALL[code as usize])
        } else {
            None
        }
    }

    /// What the result means, for logs (`nxsm_result_text`).
    pub const fn text(self) -> &'static CStr {
        match self {
            Self::NXSM_OK => c"success",
            Self::NXSM_ERR_NULL_ARGUMENT => c"a required pointer argument was NULL",
            Self::NXSM_ERR_INVALID_ARGUMENT => c"a value is outside its documented range",
            Self::NXSM_ERR_ALREADY_STARTED => c"the module is already started",
            Self::NXSM_ERR_NOT_STARTED => c"the module is not started",
            Self::NXSM_ERR_BUSY => c"another context is inside the module; try again",
            Self::NXSM_ERR_ABI_MISMATCH => {
                c"struct_size does not match this library (header and library differ)"
            }
            Self::NXSM_ERR_CLOCK_UNAVAILABLE => c"the clock is not available",
            Self::NXSM_ERR_MALFORMED => c"the packet could not be parsed (counted as malformed)",
            Self::NXSM_ERR_RING_FULL => c"the capture ring was full (counted as ring_dropped)",
            Self::NXSM_ERR_NOT_RECORDED => c"nothing to record in this packet (counted as ignored)",
            Self::NXSM_ERR_NO_MESSAGE => {
                c"no message to hand out now (outbox empty, not ACTIVE, or retry delay)"
            }
            Self::NXSM_ERR_CAPTURE_OFF => {
                c"capture is off: the network-activity collector is disabled"
            }
            Self::NXSM_ERR_POLICY_TOO_LARGE => c"the policy is longer than NXSM_POLICY_BYTES",
            Self::NXSM_ERR_POLICY_TRUNCATED => {
                c"the policy is truncated or its length word is wrong"
            }
            Self::NXSM_ERR_POLICY_MAGIC => c"not a policy blob (wrong magic)",
            Self::NXSM_ERR_POLICY_VERSION => c"a policy format version this library does not read",
            Self::NXSM_ERR_POLICY_CHECKSUM => c"the policy's CRC-32 does not match",
            Self::NXSM_ERR_POLICY_RULES => c"the policy's flags and counts contradict one another",
            Self::NXSM_ERR_POLICY_COUNTS => c"the policy's counts do not add up to its length",
            Self::NXSM_ERR_POLICY_RANGES => c"policy ranges are inverted, unsorted or overlapping",
            Self::NXSM_ERR_POLICY_SOURCE => c"a policy range names a source that does not exist",
            Self::NXSM_ERR_POLICY_INDEX => c"a policy index differs from its ranges",
            Self::NXSM_ERR_POLICY_PORTS => c"policy ports are not strictly increasing",
            Self::NXSM_ERR_BLOCKED => c"the detection policy blocks this packet: drop it",
            Self::NXSM_ERR_NOT_BUILT => c"the library was built without this feature",
        }
    }
}

/// How many result codes there are: every code is below this.
pub const NXSM_RESULT_COUNT: u32 = 26;

const _: () = assert!(nxsm_result::ALL.len() == NXSM_RESULT_COUNT as usize);

// `ALL` is in code order (checked here at build time); that it lists every variant is checked
// against the generated header by a test.
const _: () = {
    let mut code = 0;
    while code < nxsm_result::ALL.len() {
        assert!(
            nxsm_result::ALL[code] as usize == code,
            "nxsm_result::ALL out of code order"
        );
        code += 1;
    }
};

/// Whether the device received or sent a packet (NetX Duo `NX_IP_PACKET_IN` / `_OUT`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_direction {
    /// Received.
    NXSM_DIRECTION_IN = 0,
    /// Sent.
    NXSM_DIRECTION_OUT = 1,
}

/// Byte order of the fixed IP header handed to `nxsm_capture`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_header_order {
    /// As on the wire: what NetX Duo's IP packet filter sees.
    NXSM_HEADER_NETWORK_ORDER = 0,
    /// After NetX Duo converted the fixed header words (IPv4 words 0-4, IPv6 words 0-9) to
    /// CPU order: what the TCP/UDP/ICMP receive functions see. The offset-and-flags field of
    /// an IPv6 fragment header is in CPU order there too (NetX Duo swaps it in place; a
    /// reassembled datagram keeps its first fragment's header).
    NXSM_HEADER_HOST_ORDER = 1,
}

/// Called from the capturing context (possibly an ISR) when the ring fill reaches the
/// watermark, with the context it was set with: it must only wake the consumer (e.g. set a
/// ThreadX event flag). While it runs, `nxsm_set_ring_callback` returns `NXSM_ERR_BUSY`.
pub type nxsm_ring_callback = Option<unsafe extern "C" fn(context: *mut core::ffi::c_void)>;

/// Which rule of the detection policy an alert reports (the wire format's numbers).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_alert_kind {
    /// The remote address is in an indicator range; `rule` is the range's source.
    NXSM_ALERT_INDICATOR = 0,
    /// A flow the device opened, to a remote outside the outbound allow list.
    NXSM_ALERT_OUTBOUND_NOT_ALLOWED = 1,
    /// A flow the peer opened, to a local port outside the inbound allow list.
    NXSM_ALERT_INBOUND_PORT_NOT_ALLOWED = 2,
    /// A network-activity window held more or fewer flows than the rule allows.
    NXSM_ALERT_CONNECTIONS_OUT_OF_RANGE = 3,
}

/// One alert, as `nxsm_alert_callback` receives it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_alert {
    /// An `nxsm_alert_kind`.
    pub kind: u32,
    /// Unix seconds when it was raised.
    pub time_s: u32,
    /// CRC-32 of the policy that raised it.
    pub policy_crc32: u32,
    /// The indicator's source for `NXSM_ALERT_INDICATOR`, 0 otherwise.
    pub rule: u32,
    /// 4 or 6 for a flow's alert; 0 for `NXSM_ALERT_CONNECTIONS_OUT_OF_RANGE`.
    pub ip_version: u8,
    /// 0 TCP, 1 UDP, 2 ICMP (a flow's alert).
    pub protocol: u8,
    /// Who opened the flow: 0 the device, 1 the peer (a flow's alert).
    pub initiator: u8,
    /// Always 0.
    pub reserved: u8,
    /// Device-side port (0 for ICMP).
    pub local_port: u16,
    /// Peer port (0 for ICMP).
    pub remote_port: u16,
    /// Device-side address, wire octet order (IPv4 in the first 4 bytes).
    pub local_address: [u8; 16],
    /// Peer address, wire octet order.
    pub remote_address: [u8; 16],
    /// Flows the window held (`NXSM_ALERT_CONNECTIONS_OUT_OF_RANGE`).
    pub active: u32,
    /// Fewest flows the rule allows (`NXSM_ALERT_CONNECTIONS_OUT_OF_RANGE`).
    pub min: u32,
    /// Most flows the rule allows (`NXSM_ALERT_CONNECTIONS_OUT_OF_RANGE`).
    pub max: u32,
}

/// Called on the consumer's side (inside `nxsm_poll`) for each alert as it goes into the
/// outbox, with the context it was set with: a local response (log, LED, close a socket
/// from another thread). It must not call `nxsm_*` functions: they would return
/// `NXSM_ERR_BUSY`.
pub type nxsm_alert_callback =
    Option<unsafe extern "C" fn(alert: *const nxsm_alert, context: *mut core::ffi::c_void)>;

/// One flow of the current window, as `nxsm_read_flows` reports it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_flow {
    /// 4 or 6.
    pub ip_version: u8,
    /// 0 TCP, 1 UDP, 2 ICMP/ICMPv6 (the original's protocol values).
    pub protocol: u8,
    /// Union of TCP flags received.
    pub tcp_flags_in: u8,
    /// Union of TCP flags sent.
    pub tcp_flags_out: u8,
    /// Device-side address, wire octet order (IPv4 in the first 4 bytes).
    pub local_address: [u8; 16],
    /// Peer address, wire octet order (IPv4 in the first 4 bytes).
    pub remote_address: [u8; 16],
    /// Device-side port (0 for ICMP).
    pub local_port: u16,
    /// Peer port (0 for ICMP).
    pub remote_port: u16,
    /// IP payload bytes received (saturating).
    pub bytes_in: u32,
    /// IP payload bytes sent (saturating).
    pub bytes_out: u32,
    /// Packets received (saturating).
    pub packets_in: u32,
    /// Packets sent (saturating).
    pub packets_out: u32,
    /// Unix time of the first packet in the window.
    pub first_seen_s: u32,
    /// Unix time of the last packet in the window.
    pub last_seen_s: u32,
}

/// Life-cycle state; the values of the original `security_module_state_t`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_state {
    /// Not started, or stopped.
    NXSM_STATE_NOT_INITIALIZED = 0,
    /// Collecting; no hub connected yet.
    NXSM_STATE_PENDING = 1,
    /// Collecting and handing messages to a connected hub.
    NXSM_STATE_ACTIVE = 2,
    /// No hub for longer than `pending_timeout_s`; waiting for one.
    NXSM_STATE_SUSPENDED = 3,
}

/// Collector priority groups, each with its own interval.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_priority {
    /// Network activity; default 10 s.
    NXSM_PRIORITY_HIGH = 0,
    /// No built-in collector; default 30 s.
    NXSM_PRIORITY_MEDIUM = 1,
    /// System information and heartbeat; default 60 s.
    NXSM_PRIORITY_LOW = 2,
}

/// The built-in collectors; `nxsm_config.collectors` has bit `1 << collector` for each
/// enabled one.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_collector {
    /// Flows of each window (default group: high).
    NXSM_COLLECTOR_NETWORK_ACTIVITY = 0,
    /// Platform versions, capacities and settings (default group: low).
    NXSM_COLLECTOR_SYSTEM_INFORMATION = 1,
    /// Health counters (default group: low).
    NXSM_COLLECTOR_HEARTBEAT = 2,
    /// Listening ports, bound ports and connections, read through the inventory source
    /// (`nxsm_set_inventory_source`); sent at its group's interval and whenever it changes
    /// (default group: medium).
    NXSM_COLLECTOR_INVENTORY = 3,
}

/// `nxsm_config.collectors` with every collector enabled.
pub const NXSM_COLLECTORS_ALL: u32 = 15;

/// Where inbound packets are captured.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_capture_mode {
    /// At TCP/UDP/ICMP dispatch: packets NetX Duo accepted for this host (default).
    NXSM_CAPTURE_UNICAST_ONLY = 0,
    /// At IP input: every packet the driver hands to NetX Duo.
    NXSM_CAPTURE_IP_INPUT = 1,
}

/// Start-up configuration. Fill it with `nxsm_config_default`, then change fields.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct nxsm_config {
    /// Must be `sizeof(nxsm_config)`.
    pub struct_size: u32,
    /// High-priority interval, seconds (default 10, valid 1..=86400).
    pub high_interval_s: u32,
    /// Medium-priority interval, seconds (default 30, valid 1..=86400).
    pub medium_interval_s: u32,
    /// Low-priority interval, seconds (default 60, valid 1..=86400).
    pub low_interval_s: u32,
    /// First collection at `base + random % (2 * base)` s after start (default 30, valid 1..=3600).
    pub first_collection_base_s: u32,
    /// Retry period while no hub takes messages, seconds (default 3, valid 1..=3600).
    pub retry_interval_s: u32,
    /// Seconds in PENDING without a hub before SUSPENDED (default 300, valid 1..=86400).
    pub pending_timeout_s: u32,
    /// An `nxsm_capture_mode` value (default `NXSM_CAPTURE_UNICAST_ONLY`).
    pub capture_mode: u32,
    /// A non-empty set of `NXSM_PROTOCOL_*` bits (default all three).
    pub protocols: u32,
    /// Enabled collectors, bit `1 << nxsm_collector` each (default `NXSM_COLLECTORS_ALL`).
    pub collectors: u32,
}

/// Versions of the platform, reported in system information. The shim fills it from
/// `tx_api.h` and `nx_api.h`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_platform_info {
    /// Must be `sizeof(nxsm_platform_info)`.
    pub struct_size: u32,
    /// ThreadX major, minor, patch.
    pub threadx_version: [u8; 3],
    /// NetX Duo major, minor, patch.
    pub netx_version: [u8; 3],
}

/// Counters and state, read with `nxsm_get_stats`. Counters survive `nxsm_stop`.
///
/// The packet counters are 64-bit totals since boot: they do not wrap in the life of a
/// device. A snapshot always satisfies, exactly, `packets_seen = packets_counted +
/// table_full_dropped + ring_dropped + malformed + ignored + ring_waiting`, also while
/// hooks capture on other contexts (see `nxsm_get_stats`). The other counters are
/// 32-bit.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_stats {
    /// Set by the caller to `sizeof(nxsm_stats)` before the call.
    pub struct_size: u32,
    /// An `nxsm_state` value.
    pub state: u32,
    /// Unix time at which `state` was entered.
    pub state_since_s: u32,
    /// Unix time of the first collection after the last start.
    pub first_collection_s: u32,
    /// Successful `nxsm_start` calls.
    pub starts: u32,
    /// Successful `nxsm_stop` calls.
    pub stops: u32,
    /// `nxsm_poll` calls on a running module.
    pub polls: u32,
    /// State transitions, start and stop included.
    pub state_changes: u32,
    // The 64-bit fields start at offset 32 and an even number of 32-bit fields follows
    // them, so the struct has no padding on any target, whatever a 64-bit integer's
    // alignment (checked below).
    /// Packets handed to `nxsm_capture` while capturing.
    pub packets_seen: u64,
    /// Packets added to a flow.
    pub packets_counted: u64,
    /// Packets that could not be parsed.
    pub malformed: u64,
    /// Well-formed packets with nothing to record (fragment tails, other protocols).
    pub ignored: u64,
    /// Records dropped because the capture ring was full.
    pub ring_dropped: u64,
    /// Packets of new flows that found the flow table full.
    pub table_full_dropped: u64,
    /// Records stored in the ring and not yet drained (counted in `packets_seen`, not yet
    /// in `packets_counted`, `table_full_dropped`, `malformed` or `ignored`).
    pub ring_waiting: u32,
    /// IPv4 flows in the current window.
    pub flows_v4: u32,
    /// IPv6 flows in the current window.
    pub flows_v6: u32,
    /// Collections made (times at which at least one collector was due).
    pub collections: u32,
    /// Messages stored in the outbox.
    pub messages_built: u32,
    /// Messages the hub client took (`nxsm_message_ack` with `sent`).
    pub messages_sent: u32,
    /// Failed send attempts (`nxsm_message_ack` without `sent`); the message was kept.
    pub messages_failed: u32,
    /// Messages dropped unsent because the outbox needed room for a newer one.
    pub messages_dropped: u32,
    /// Messages waiting in the outbox.
    pub outbox_messages: u32,
    /// Bytes they occupy.
    pub outbox_used_bytes: u32,
    /// Most bytes ever waiting at once.
    pub outbox_peak_bytes: u32,
    /// `nxsm_poll` calls made with `NXSM_TIME_UNAVAILABLE`.
    pub clock_unavailable: u32,
    /// Unix time of the next collection (0 when stopped or no collector is enabled).
    pub next_collection_s: u32,
    /// `nxsm_poll` calls whose time was earlier than the previous one (clock set back;
    /// every deadline moves back with it).
    pub clock_steps_back: u32,
    /// Collections part of whose messages had to wait in the flow table for outbox room:
    /// the hub takes messages more slowly than the device makes them. (A 32-bit count, widened
    /// so that the struct keeps no padding.)
    pub collections_waited: u64,
    /// Alerts put into messages for the hub.
    pub alerts_sent: u32,
    /// Alerts not raised because their network-activity window had already raised
    /// `NXSM_MAX_ALERTS_PER_WINDOW`.
    pub alerts_suppressed: u32,
    /// Packets the hooks dropped because a block rule of the detection policy matched.
    pub packets_blocked: u64,
    /// Sockets the latest inventory read found (listed or not).
    pub inventory_sockets: u32,
    /// Inventory reads made.
    pub inventory_reads: u32,
    /// Inventory reads not reported because an IP instance could not be read, plus entries
    /// the source wrote that broke a rule of their kind (left out).
    pub inventory_rejected: u32,
    /// Findings holding now: bit `i` for entry `i` of the risky-service list, bits 16-19
    /// for an unhooked IP instance, a replaced hook, network activity off, no clock.
    pub findings_active: u32,
    /// Audit records made since boot, lost ones included.
    pub audit_records: u32,
    /// Audit records lost because their queue was full (`NXSM_AUDIT_RECORDS`).
    pub audit_lost: u32,
}

// The layout C sees: no padding anywhere (see the comment on `packets_seen`).
const _: () = assert!(
    core::mem::size_of::<nxsm_stats>() == 30 * 4 + 8 * 8
        && core::mem::offset_of!(nxsm_stats, packets_seen) == 32
        && core::mem::offset_of!(nxsm_stats, ring_waiting) == 80
        && core::mem::offset_of!(nxsm_stats, collections_waited) == 136
        && core::mem::offset_of!(nxsm_stats, alerts_suppressed) == 148
        && core::mem::offset_of!(nxsm_stats, audit_lost) == 180
);

/// The active detection policy, as `nxsm_policy_info` reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_policy_summary {
    /// Set by the caller to `sizeof(nxsm_policy_summary)` before the call.
    pub struct_size: u32,
    /// The policy's CRC-32 (word 4 of its blob, which names it in reports); 0 without one.
    pub crc32: u32,
    /// Its flags (`docs/policy-format.md`, 1.2); 0 without one.
    pub flags: u32,
    /// IPv4 indicator ranges.
    pub indicators_v4: u32,
    /// IPv6 indicator ranges.
    pub indicators_v6: u32,
    /// IPv4 outbound allow ranges.
    pub allowed_v4: u32,
    /// IPv6 outbound allow ranges.
    pub allowed_v6: u32,
    /// Inbound TCP ports allowed.
    pub tcp_ports: u32,
    /// Inbound UDP ports allowed.
    pub udp_ports: u32,
    /// Whether a policy is active (every other field is 0 when not).
    pub loaded: bool,
}

// Nine words and `loaded`: no padding but at the end.
const _: () = assert!(
    core::mem::size_of::<nxsm_policy_summary>() == 10 * 4
        && core::mem::offset_of!(nxsm_policy_summary, loaded) == 36
);

/// Capacities this library was built with (`NXSM_*` build variables).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_capacities {
    /// Set by the caller to `sizeof(nxsm_capacities)` before the call.
    pub struct_size: u32,
    /// IPv4 flow slots (`NXSM_MAX_FLOWS_V4`).
    pub max_flows_v4: u32,
    /// IPv6 flow slots (`NXSM_MAX_FLOWS_V6`, 0 without IPv6).
    pub max_flows_v6: u32,
    /// Capture ring slots (`NXSM_RING_SLOTS`).
    pub ring_slots: u32,
    /// Outbox byte budget (`NXSM_OUTBOX_BYTES`).
    pub outbox_bytes: u32,
    /// Longest message (`NXSM_MAX_MESSAGE_BYTES`).
    pub max_message_bytes: u32,
}

/// What a socket in an inventory is.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum nxsm_socket_kind {
    /// A TCP server port listening on every address of its IP instance.
    NXSM_SOCKET_TCP_LISTEN = 0,
    /// A UDP socket bound to a port, on every address.
    NXSM_SOCKET_UDP_BOUND = 1,
    /// An established TCP connection.
    NXSM_SOCKET_TCP_ESTABLISHED = 2,
}

/// One socket, as an inventory source writes it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_socket {
    /// An `nxsm_socket_kind`.
    pub kind: u8,
    /// 4 or 6 for an established connection; 0 for a listener or bound UDP socket (every
    /// address).
    pub ip_version: u8,
    /// Which IP instance: its index in the hooks' table, 0-based.
    pub ip_index: u8,
    /// Always 0.
    pub reserved: u8,
    /// Device-side port (never 0).
    pub local_port: u16,
    /// Peer port (0 unless established).
    pub remote_port: u16,
    /// Device-side address, wire octet order, IPv4 in the first 4 bytes (all 0 unless
    /// established).
    pub local_address: [u8; 16],
    /// Peer address, likewise.
    pub remote_address: [u8; 16],
}

// The core keeps the same bytes: the source writes straight into its storage.
const _: () = {
    use crate::hygiene::inventory::Socket;
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<nxsm_socket>() == size_of::<Socket>() && size_of::<Socket>() == 40);
    assert!(align_of::<nxsm_socket>() == align_of::<Socket>());
    assert!(offset_of!(nxsm_socket, kind) == offset_of!(Socket, kind));
    assert!(offset_of!(nxsm_socket, ip_version) == offset_of!(Socket, ip_version));
    assert!(offset_of!(nxsm_socket, ip_index) == offset_of!(Socket, ip_index));
    assert!(offset_of!(nxsm_socket, reserved) == offset_of!(Socket, reserved));
    assert!(offset_of!(nxsm_socket, local_port) == offset_of!(Socket, local_port));
    assert!(offset_of!(nxsm_socket, remote_port) == offset_of!(Socket, remote_port));
    assert!(offset_of!(nxsm_socket, local_address) == offset_of!(Socket, local_address));
    assert!(offset_of!(nxsm_socket, remote_address) == offset_of!(Socket, remote_address));
};

/// One read of the socket tables: the library sets `sockets` and `capacity`, the source
/// the rest (all 0 on entry).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nxsm_inventory_scan {
    /// Set by the library: room for `capacity` entries.
    pub sockets: *mut nxsm_socket,
    /// Set by the library (`NXSM_INVENTORY_SOCKETS`).
    pub capacity: u32,
    /// Every socket found, those beyond `capacity` included (only the first `capacity` are
    /// written).
    pub found: u32,
    /// Hooked IP instances not read because their protection mutex was not free in time:
    /// nothing of this read is reported.
    pub ips_skipped: u32,
    /// IP instances left without hooks because the hooks' table was full.
    pub ips_unhooked: u32,
    /// Installed hooks (filter or receive function) the application has since replaced.
    pub hooks_replaced: u32,
}

/// Reads the socket tables into `scan`. Called by the library inside `nxsm_poll`, on the
/// polling thread, when an inventory read is due (at most once per high-group interval,
/// and when the inventory collector is due); it must not call `nxsm_*` functions (they
/// return `NXSM_ERR_BUSY`).
pub type nxsm_inventory_source =
    Option<unsafe extern "C" fn(scan: *mut nxsm_inventory_scan, context: *mut core::ffi::c_void)>;

/// One entry of the risky-service list (`nxsm_set_risky_services`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct nxsm_service {
    /// 0 TCP (a listening port), 1 UDP (a bound port).
    pub protocol: u8,
    /// Why it is risky: 0 listed by the application, 1 clear-text file transfer, 2
    /// clear-text remote login, 3 clear-text web, 4 unauthenticated industrial protocol, 5
    /// MQTT without TLS, 6 CoAP without DTLS, 7 clear-text management.
    pub reason: u8,
    /// The port (never 0).
    pub port: u16,
}
