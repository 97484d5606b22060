//! Exclusive access to the module instance without ever waiting.
//!
//! Entry points may be called from several threads (the cloud thread polls while an
//! application thread reads counters or stops the module). A spin lock could stall an
//! interrupt-priority caller forever, so the flag is taken in a few-instruction critical
//! section and a second caller gets `NXSM_ERR_BUSY` immediately. `critical-section` works on
//! every Cortex-M (including M0+, which has no compare-and-swap).

use core::cell::{Cell, UnsafeCell};
use critical_section::Mutex;

/// A value that one caller at a time may use; others are turned away, never made to wait.
pub struct TryShared<T> {
    busy: Mutex<Cell<bool>>,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached through `try_with`, which hands out the `&mut` to one
// caller at a time: the `busy` flag is tested and set inside one critical section and
// cleared only when that caller is done.
unsafe impl<T: Send> Sync for TryShared<T> {}

/// Another caller holds the value.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

impl<T> TryShared<T> {
    /// Wraps `value` (usable in a `static`).
    pub const fn new(value: T) -> Self {
        Self {
            busy: Mutex::new(Cell::new(false)),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with exclusive access, or returns `Busy` at once. Inline into each entry
    /// point, as the monitor's operations are: a frame of its own would add to the stack
    /// of every call (the flag's critical sections stay out of line).
    #[inline(always)]
    pub fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Busy> {
        if !take(&self.busy) {
            return Err(Busy);
        }
        let _release = Release(&self.busy);
        // SAFETY: the flag was false and is now ours; nobody else reaches `value` until
        // `_release` clears it.
        let value = unsafe { &mut *self.value.get() };
        Ok(f(value))
    }
}

/// Clears the busy flag when dropped, also if `f` unwinds in a host test.
struct Release<'a>(&'a Mutex<Cell<bool>>);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        release(self.0);
    }
}

/// Takes the flag if it is free. Out of line: every entry point uses it, and inlined it
/// would be a critical section copied into each of them.
#[inline(never)]
fn take(busy: &Mutex<Cell<bool>>) -> bool {
    critical_section::with(|cs| !busy.borrow(cs).replace(true))
}

/// Gives the flag back (out of line, as `take`).
#[inline(never)]
fn release(busy: &Mutex<Cell<bool>>) {
    critical_section::with(|cs| busy.borrow(cs).set(false));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_caller_is_turned_away() {
        let shared = TryShared::new(5u32);
        let inner = shared.try_with(|outer| {
            *outer += 1;
            shared.try_with(|v| *v += 100)
        });
        assert_eq!(inner, Ok(Err(Busy)));
        assert_eq!(shared.try_with(|v| *v), Ok(6));
    }

    #[test]
    fn threads_never_overlap() {
        use std::sync::atomic::{AtomicU32, Ordering};
        static SHARED: TryShared<u64> = TryShared::new(0);
        static BUSY: AtomicU32 = AtomicU32::new(0);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let mut done = 0;
                    while done < 10_000 {
                        match SHARED.try_with(|v| {
                            let before = *v;
                            std::hint::spin_loop();
                            *v = before + 1;
                        }) {
                            Ok(()) => done += 1,
                            Err(Busy) => {
                                BUSY.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(SHARED.try_with(|v| *v), Ok(40_000));
    }
}
