//! Device hygiene: the inventory source and the risky-service list the findings use.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

use super::types::*;
use super::{checked, input_slice, MONITOR};
use crate::hygiene::audit::AuditKind;
use crate::hygiene::findings::{Reason, Service, ServiceProtocol, MAX_SERVICES};
use crate::hygiene::inventory::{Scan, Socket};
use crate::module::result_code;

/// The inventory source and its context. Called and changed only inside the monitor (a
/// poll, or `nxsm_set_inventory_source`), one caller at a time; atomics only because it
/// lives in a shared `static`.
pub(super) struct InventorySource {
    function: AtomicPtr<c_void>,
    context: AtomicPtr<c_void>,
}

impl InventorySource {
    pub(super) const fn new() -> Self {
        Self {
            function: AtomicPtr::new(core::ptr::null_mut()),
            context: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Lets the source write into `sockets`; `None` without a source.
    pub(super) fn read(&self, sockets: &mut [Socket]) -> Option<Scan> {
        let function = self.function.load(Ordering::Relaxed);
        if function.is_null() {
            return None;
        }
        // The C contract: the room is all zero on entry, so nothing of the last read shows
        // through what the source leaves unwritten.
        sockets.fill(Socket::EMPTY);
        let mut scan = nxsm_inventory_scan {
            // `nxsm_socket` and `Socket` are the same bytes (checked in `types`).
            sockets: sockets.as_mut_ptr().cast::<nxsm_socket>(),
            capacity: sockets.len() as u32,
            found: 0,
            ips_skipped: 0,
            ips_unhooked: 0,
            hooks_replaced: 0,
        };
        // SAFETY: only `nxsm_set_inventory_source` stores here: NULL or an
        // `unsafe extern "C" fn(*mut nxsm_inventory_scan, *mut c_void)`, with the caller's
        // context. The source may write `capacity` plain-byte entries at `sockets`, which
        // this call borrows mutably; whatever it writes is checked before use.
        let function: unsafe extern "C" fn(*mut nxsm_inventory_scan, *mut c_void) =
            unsafe { core::mem::transmute(function) };
        unsafe { function(&mut scan, self.context.load(Ordering::Relaxed)) };
        Some(Scan {
            found: scan.found,
            ips_skipped: scan.ips_skipped,
            ips_unhooked: scan.ips_unhooked,
            hooks_replaced: scan.hooks_replaced,
        })
    }

    fn replace(&self, function: *mut c_void, context: *mut c_void) {
        self.function.store(function, Ordering::Relaxed);
        self.context.store(context, Ordering::Relaxed);
    }
}

/// Sets the function that reads the stack's socket tables for the inventory (NULL: none,
/// and no inventory is sent). The NetX Duo hooks set theirs when installed and remove it
/// when removed. Any state; `NXSM_ERR_BUSY` while a poll runs.
#[no_mangle]
pub extern "C" fn nxsm_set_inventory_source(
    source: nxsm_inventory_source,
    context: *mut c_void,
) -> nxsm_result {
    let function = source.map_or(core::ptr::null_mut(), |function| function as *mut c_void);
    checked!({
        Ok(MONITOR.with_notify(|callbacks| callbacks.inventory.replace(function, context))?)
    })
}

/// Replaces the list of risky services that findings check listening TCP and bound UDP
/// ports against: `count` entries at `services` (at most 16; NULL with 0 restores the
/// defaults: TCP 21, 23, 80, 502, 1883 and UDP 69, 161, 5683). The findings of the old
/// list end. Any state; refused (`NXSM_ERR_INVALID_ARGUMENT`, and recorded in the audit
/// trail) when an entry has an unknown protocol or reason, or port 0.
#[no_mangle]
pub extern "C" fn nxsm_set_risky_services(
    services: *const nxsm_service,
    count: usize,
) -> nxsm_result {
    checked!({
        if services.is_null() {
            if count != 0 {
                return Err(nxsm_result::NXSM_ERR_NULL_ARGUMENT);
            }
            MONITOR.set_services(None)?;
            return Ok(());
        }
        let refuse = || {
            let asked = u32::try_from(count).unwrap_or(u32::MAX);
            MONITOR.audit_refused(
                AuditKind::ServicesChanged,
                result_code::INVALID_ARGUMENT,
                [0, 0, asked],
            );
            nxsm_result::NXSM_ERR_INVALID_ARGUMENT
        };
        if count > MAX_SERVICES {
            return Err(refuse());
        }
        let given = input_slice(services, count)?;
        let mut list = [Service::new(ServiceProtocol::Tcp, 1, Reason::Listed); MAX_SERVICES];
        for (slot, entry) in list.iter_mut().zip(given) {
            let protocol = ServiceProtocol::from_raw(entry.protocol);
            let reason = Reason::from_raw(entry.reason);
            let (Some(protocol), Some(reason), true) = (protocol, reason, entry.port != 0) else {
                return Err(refuse());
            };
            *slot = Service::new(protocol, entry.port, reason);
        }
        MONITOR.set_services(Some(list.get(..count).unwrap_or_default()))?;
        Ok(())
    })
}
