//! Detection: loading, clearing and reading the active policy (`docs/policy-format.md`),
//! learn mode and the alert callback.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

use super::types::*;
use super::{check_size, checked, code, output, FfiResult, MONITOR};
use crate::capture::{Direction, IpVersion};
use crate::detect::{Alert, Subject};
use crate::policy::PolicyError;

// Each policy error is the result of the same number: the core numbers them for the C API.
const _: () = {
    let errors = [
        PolicyError::TooLarge,
        PolicyError::Truncated,
        PolicyError::Magic,
        PolicyError::Version,
        PolicyError::Checksum,
        PolicyError::Rules,
        PolicyError::Counts,
        PolicyError::Ranges,
        PolicyError::Source,
        PolicyError::Index,
        PolicyError::Ports,
    ];
    let mut i = 0;
    while i < errors.len() {
        let code = errors[i] as u32;
        assert!((code as usize) < nxsm_result::ALL.len());
        assert!(nxsm_result::ALL[code as usize] as u32 == code);
        assert!(code >= nxsm_result::NXSM_ERR_POLICY_TOO_LARGE as u32);
        i += 1;
    }
};

/// Borrows `length` C input bytes, refusing NULL (an empty blob may be NULL: it is then
/// refused as truncated).
fn input_bytes<'a>(blob: *const u8, length: usize) -> FfiResult<&'a [u8]> {
    if length == 0 {
        return Ok(&[]);
    }
    if blob.is_null() {
        return Err(nxsm_result::NXSM_ERR_NULL_ARGUMENT);
    }
    if length > isize::MAX as usize {
        return Err(nxsm_result::NXSM_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: the caller provides `length` readable bytes at `blob` for the duration of the
    // call; they are copied before anything reads them twice.
    Ok(unsafe { core::slice::from_raw_parts(blob, length) })
}

/// Checks the policy blob `blob` (`length` bytes, at most `NXSM_POLICY_BYTES`) completely
/// and makes it the active policy. The bytes are copied: the caller may reuse them when the
/// call returns. On any error the active policy stays and the code says what is wrong
/// (`NXSM_ERR_POLICY_*`); `NXSM_ERR_BUSY` when another load runs or a hook still reads
/// the policy before last. Any state; any context but an ISR.
#[no_mangle]
pub extern "C" fn nxsm_policy_load(blob: *const u8, length: usize) -> nxsm_result {
    checked!({
        let bytes = input_bytes(blob, length)?;
        MONITOR.load_policy(bytes)?;
        Ok(())
    })
}

/// Forgets the active policy: nothing is detected or blocked until the next load.
/// `NXSM_ERR_BUSY` while a load runs.
#[no_mangle]
pub extern "C" fn nxsm_policy_clear() -> nxsm_result {
    checked!({ Ok(MONITOR.clear_policy()?) })
}

/// The alert callback and its context. Called and changed only inside the monitor (a poll,
/// or `nxsm_set_alert_callback`), one caller at a time; atomics only because it lives in a
/// shared `static`.
pub(super) struct AlertCallback {
    function: AtomicPtr<c_void>,
    context: AtomicPtr<c_void>,
}

impl AlertCallback {
    pub(super) const fn new() -> Self {
        Self {
            function: AtomicPtr::new(core::ptr::null_mut()),
            context: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    pub(super) fn call(&self, alert: &Alert) {
        let function = self.function.load(Ordering::Relaxed);
        if function.is_null() {
            return;
        }
        let context = self.context.load(Ordering::Relaxed);
        let out = alert_out(alert);
        // SAFETY: only `nxsm_set_alert_callback` stores here: NULL or an
        // `unsafe extern "C" fn(*const nxsm_alert, *mut c_void)`, with the caller's context.
        let function: unsafe extern "C" fn(*const nxsm_alert, *mut c_void) =
            unsafe { core::mem::transmute(function) };
        unsafe { function(&out, context) };
    }

    fn replace(&self, function: *mut c_void, context: *mut c_void) {
        self.function.store(function, Ordering::Relaxed);
        self.context.store(context, Ordering::Relaxed);
    }
}

/// The C view of an alert.
fn alert_out(alert: &Alert) -> nxsm_alert {
    let mut out = nxsm_alert {
        kind: alert.kind as u32,
        time_s: alert.time,
        policy_crc32: alert.policy,
        rule: alert.rule,
        ..nxsm_alert::default()
    };
    match &alert.subject {
        Subject::Flow(flow) => {
            out.ip_version = match flow.version {
                IpVersion::V4 => 4,
                IpVersion::V6 => 6,
            };
            out.protocol = flow.protocol as u8;
            out.initiator = u8::from(flow.initiator == Direction::In);
            out.local_port = flow.local_port;
            out.remote_port = flow.remote_port;
            out.local_address = flow.local;
            out.remote_address = flow.remote;
        }
        Subject::Connections { active, min, max } => {
            out.active = *active;
            out.min = *min;
            out.max = *max;
        }
    }
    out
}

/// Sets the function called on the consumer's side (inside `nxsm_poll`) for each alert as
/// it goes into the outbox, or removes it when `callback` is NULL. Any state. Once this
/// returns `NXSM_OK` the previous pair is never called again; `NXSM_ERR_BUSY` while a poll
/// runs (never from inside the callback).
#[no_mangle]
pub extern "C" fn nxsm_set_alert_callback(
    callback: nxsm_alert_callback,
    context: *mut c_void,
) -> nxsm_result {
    let function = callback.map_or(core::ptr::null_mut(), |function| function as *mut c_void);
    checked!({ Ok(MONITOR.with_notify(|callbacks| callbacks.alert.replace(function, context))?) })
}

/// Starts learn mode for `seconds` (1 ..= 604800, a week) on a running module: the remote
/// /24 (IPv4) and /64 (IPv6) networks of the flows the device opens and the local TCP and
/// UDP ports of the flows peers open are recorded; when the time is up they replace the
/// active policy's outbound and inbound allow lists (indicators, the connection rule and
/// block rules stay), and a baseline event reports them. A period under way starts again.
#[no_mangle]
pub extern "C" fn nxsm_baseline_learn(seconds: u32) -> nxsm_result {
    checked!({ Ok(MONITOR.learn_baseline(seconds)?) })
}

/// Copies what the active policy is to `out` (whose `struct_size` the caller sets):
/// `loaded`, its CRC-32, flags and how many ranges and ports each list holds; all 0 and
/// `loaded` false without a policy. Every field comes from one policy, never a mix, also
/// while another thread loads one. Any state; any context but an ISR. `NXSM_ERR_BUSY` when
/// loads kept finishing while it read (it never waits).
#[no_mangle]
pub extern "C" fn nxsm_policy_info(out: *mut nxsm_policy_summary) -> nxsm_result {
    code(output(out).and_then(|out| {
        check_size::<nxsm_policy_summary>(out.struct_size)?;
        let info = MONITOR.policy_info()?;
        let [indicators_v4, indicators_v6, allowed_v4, allowed_v6, tcp_ports, udp_ports] = info
            .map_or([0; 6], |info| info.counts)
            .map(|count| count as u32);
        *out = nxsm_policy_summary {
            struct_size: out.struct_size,
            loaded: info.is_some(),
            crc32: info.map_or(0, |info| info.crc32),
            flags: info.map_or(0, |info| info.flags),
            indicators_v4,
            indicators_v6,
            allowed_v4,
            allowed_v6,
            tcp_ports,
            udp_ports,
        };
        Ok(())
    }))
}
