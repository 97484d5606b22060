//! Settings and statistics: collectors, intervals, platform versions, counters.

use super::types::*;
use super::{check_size, checked, code, collector, input, output, priority, MONITOR};
use crate::module::Platform;

/// Sets the platform versions reported in system information (any time, any state).
#[no_mangle]
pub extern "C" fn nxsm_set_platform_info(info: *const nxsm_platform_info) -> nxsm_result {
    code(input(info).and_then(|info| {
        check_size::<nxsm_platform_info>(info.struct_size)?;
        Ok(MONITOR.set_platform(Platform {
            threadx: info.threadx_version,
            netx: info.netx_version,
        })?)
    }))
}

/// Enables or disables one `nxsm_collector` and puts it in an `nxsm_priority` group, on a
/// running module. Disabling network activity collects the open window at once and stops
/// capture; enabling it starts a new window.
#[no_mangle]
pub extern "C" fn nxsm_set_collector(
    collector_id: u32,
    enabled: bool,
    priority_group: u32,
) -> nxsm_result {
    checked!({
        let which = collector(collector_id)?;
        let group = priority(priority_group)?;
        Ok(MONITOR.set_collector(which, enabled, group)?)
    })
}

/// Writes whether one `nxsm_collector` is enabled and its `nxsm_priority` group.
#[no_mangle]
pub extern "C" fn nxsm_get_collector(
    collector_id: u32,
    out_enabled: *mut bool,
    out_priority_group: *mut u32,
) -> nxsm_result {
    checked!({
        let which = collector(collector_id)?;
        let out_enabled = output(out_enabled)?;
        let out_group = output(out_priority_group)?;
        let (enabled, group) = MONITOR.collector(which)?;
        *out_enabled = enabled;
        *out_group = group as u32;
        Ok(())
    })
}

/// Copies state and counters to `out` (whose `struct_size` the caller sets). Callable from
/// any thread, also while hooks capture; `NXSM_ERR_BUSY` while another context is inside
/// the module.
///
/// What a snapshot guarantees:
/// - `packets_seen = packets_counted + table_full_dropped + ring_dropped + malformed +
///   ignored + ring_waiting`, exactly, in every snapshot. Each counter the hooks keep is
///   read once, and `packets_seen` and `ring_waiting` are both derived from the same read
///   of the ring's write position; the consumer's counters cannot move during the call.
/// - A packet whose hook runs during the call is either wholly in the snapshot (in
///   `packets_seen` and in one of the other terms) or wholly absent; no total ever
///   decreases from one snapshot to the next.
/// - The 64-bit totals are exact as long as the module is drained, polled or asked for its
///   statistics at least once per 2^32 packets (about 50 days at 1,000 packets a second).
/// - Every other field is read in the same critical section of the module, which hooks
///   never enter, so those fields agree with each other.
#[no_mangle]
pub extern "C" fn nxsm_get_stats(out: *mut nxsm_stats) -> nxsm_result {
    code(output(out).and_then(|out| {
        check_size::<nxsm_stats>(out.struct_size)?;
        *out = MONITOR.snapshot(|module, intake| {
            let counters = module.counters();
            let messages = module.messages();
            let (inventory, found) = module.inventory_counters();
            let audit = module.audit_counters();
            nxsm_stats {
                struct_size: out.struct_size,
                state: nxsm_state::from(module.state()) as u32,
                state_since_s: module.state_since(),
                first_collection_s: module.first_collection_at(),
                starts: counters.starts,
                stops: counters.stops,
                polls: counters.polls,
                state_changes: counters.state_changes,
                packets_seen: intake.seen,
                packets_counted: counters.packets_counted,
                malformed: intake.malformed,
                ignored: intake.ignored,
                ring_dropped: intake.ring_dropped,
                table_full_dropped: counters.table_full_dropped,
                ring_waiting: intake.ring_waiting,
                flows_v4: module.flows().v4.len() as u32,
                flows_v6: module.flows().v6.len() as u32,
                collections: counters.collections,
                messages_built: messages.built,
                messages_sent: messages.sent,
                messages_failed: messages.failed,
                messages_dropped: messages.dropped,
                outbox_messages: messages.waiting,
                outbox_used_bytes: messages.used_bytes,
                outbox_peak_bytes: messages.peak_bytes,
                clock_unavailable: counters.clock_unavailable,
                next_collection_s: module.next_collection().unwrap_or(0),
                clock_steps_back: counters.clock_steps_back,
                collections_waited: u64::from(counters.collections_waited),
                alerts_sent: module.detect_counters().alerts_sent,
                alerts_suppressed: module.detect_counters().alerts_suppressed,
                packets_blocked: counters.packets_blocked,
                inventory_sockets: found,
                inventory_reads: inventory.reads,
                inventory_rejected: inventory.incomplete.saturating_add(inventory.invalid),
                findings_active: module.findings_active(),
                audit_records: audit.records,
                audit_lost: audit.lost,
            }
        })?;
        Ok(())
    }))
}

/// Changes the interval of one `nxsm_priority` group on a running module (1..=86400 s).
#[no_mangle]
pub extern "C" fn nxsm_set_interval(priority_group: u32, seconds: u32) -> nxsm_result {
    code(priority(priority_group).and_then(|group| Ok(MONITOR.set_interval(group, seconds)?)))
}

/// Writes the interval of one `nxsm_priority` group to `out_seconds`.
#[no_mangle]
pub extern "C" fn nxsm_get_interval(priority_group: u32, out_seconds: *mut u32) -> nxsm_result {
    checked!({
        let group = priority(priority_group)?;
        let out = output(out_seconds)?;
        *out = MONITOR.interval(group)?;
        Ok(())
    })
}
