//! Valgrind client requests, so that callgrind counts only the measured operations.
//!
//! A client request is a sequence of instructions with no effect on a real CPU (four
//! rotations of `rdi` adding up to 128 bits, then `xchg rbx, rbx`) that Valgrind's x86-64
//! front end recognizes: `rax` points at the request code and its five arguments, and the
//! result comes back in `rdx` (which holds the default when no Valgrind is there). This is
//! the protocol of Valgrind's `valgrind.h`; the codes are those of `callgrind.h`. On other
//! architectures every request returns its default and nothing is toggled.

use crate::Meter;

/// `VG_USERREQ__RUNNING_ON_VALGRIND`: how many Valgrind layers run the program.
const RUNNING_ON_VALGRIND: usize = 0x1001;
/// Callgrind's requests start at `'C' << 24 | 'T' << 16`.
const CALLGRIND_BASE: usize = (b'C' as usize) << 24 | (b'T' as usize) << 16;
/// `VG_USERREQ__TOGGLE_COLLECT`: switch event collection off if on, on if off.
const TOGGLE_COLLECT: usize = CALLGRIND_BASE + 2;

/// Sends request `code` with `args`; returns `default` when no Valgrind runs the program.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn request(default: usize, code: usize, args: [usize; 5]) -> usize {
    let block: [usize; 6] = [code, args[0], args[1], args[2], args[3], args[4]];
    let mut result = default;
    // SAFETY: the instructions leave every register as it was except `rdi` (rotated by
    // 128 bits in all, declared clobbered anyway) and `rdx` (the result); Valgrind only
    // reads `block`, which lives until the end of this function.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") block.as_ptr(),
            inout("rdx") result,
            out("rdi") _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn request(default: usize, _code: usize, _args: [usize; 5]) -> usize {
    default
}

/// Whether the program runs under Valgrind (any tool).
pub fn running_on_valgrind() -> bool {
    request(0, RUNNING_ON_VALGRIND, [0; 5]) != 0
}

/// Flips callgrind's event collection (`CALLGRIND_TOGGLE_COLLECT`).
#[inline(always)]
fn toggle_collect() {
    request(0, TOGGLE_COLLECT, [0; 5]);
}

/// A [`Meter`] for `valgrind --tool=callgrind`: collection is switched off when it is made
/// and on only around the measured operations, so the instruction totals are those
/// operations plus a constant (program start-up before the meter, the toggles themselves).
///
/// It assumes callgrind's default of collecting from the start: do not combine it with
/// `--collect-atstart=no` or `--toggle-collect`, which would invert what is counted.
#[derive(Debug)]
pub struct Callgrind {
    _private: (),
}

impl Callgrind {
    /// Switches collection off until the first measured operation.
    pub fn start() -> Self {
        toggle_collect();
        Self { _private: () }
    }
}

impl Meter for Callgrind {
    #[inline(always)]
    fn measure<R>(&mut self, work: impl FnOnce() -> R) -> R {
        toggle_collect();
        let result = work();
        toggle_collect();
        result
    }
}
