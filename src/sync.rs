//! Atomics for the lock-free parts, with one switch for the model checker and one for
//! cores without compare-and-swap.
//!
//! Under `--cfg loom` the types come from `loom`, which explores every interleaving. On
//! targets without atomic read-modify-write (Cortex-M0+), [`fetch_add`](crate::sync::fetch_add), [`fetch_sub`](crate::sync::fetch_sub) and
//! [`compare_exchange`](crate::sync::compare_exchange) run inside a critical section: a few instructions with interrupts
//! masked, which on a single core is as good as the hardware instruction.

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicU32, Ordering};

#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicU32, Ordering};

/// Adds `value` (wrapping) and returns the previous value.
#[inline]
pub fn fetch_add(atomic: &AtomicU32, value: u32, order: Ordering) -> u32 {
    #[cfg(any(loom, target_has_atomic = "32"))]
    {
        atomic.fetch_add(value, order)
    }
    #[cfg(not(any(loom, target_has_atomic = "32")))]
    {
        let _ = order;
        critical_section::with(|_| {
            let old = atomic.load(Ordering::Relaxed);
            atomic.store(old.wrapping_add(value), Ordering::Relaxed);
            old
        })
    }
}

/// Subtracts `value` (wrapping) and returns the previous value.
#[inline]
#[cfg_attr(loom, allow(dead_code))] // only the C ABI uses it, and it is not built under loom
pub fn fetch_sub(atomic: &AtomicU32, value: u32, order: Ordering) -> u32 {
    fetch_add(atomic, value.wrapping_neg(), order)
}

/// Replaces `current` with `new` if it still holds `current`. May fail spuriously (the
/// weak form: an exclusive load-store pair can be interrupted), so callers loop on it.
#[inline]
pub fn compare_exchange(
    atomic: &AtomicU32,
    current: u32,
    new: u32,
    success: Ordering,
    failure: Ordering,
) -> Result<u32, u32> {
    #[cfg(any(loom, target_has_atomic = "32"))]
    {
        atomic.compare_exchange_weak(current, new, success, failure)
    }
    #[cfg(not(any(loom, target_has_atomic = "32")))]
    {
        let _ = (success, failure);
        critical_section::with(|_| {
            let old = atomic.load(Ordering::Relaxed);
            if old == current {
                atomic.store(new, Ordering::Relaxed);
                Ok(old)
            } else {
                Err(old)
            }
        })
    }
}

/// Under loom only, a `SeqCst` fence; nothing otherwise. Loom models `SeqCst` loads, stores
/// and read-modify-writes as `AcqRel` (its README, "Unsupported features"; loom issue 180),
/// so it reports a store-then-load handshake between two threads as broken even when all four
/// accesses are `SeqCst`, which the C11 model (one total order of `SeqCst` operations) and
/// every target's code keep. A code that relies on such a handshake calls this between its
/// `SeqCst` store and its `SeqCst` load, so the model checks what the target runs: loom does
/// model `fence(SeqCst)`.
#[inline(always)]
pub fn seqcst_handshake() {
    #[cfg(loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}
