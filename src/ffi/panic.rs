//! Panic handler of the firmware build.
//!
//! It calls a symbol that nothing defines. A release build has no path to a panic, so the
//! handler is discarded by `--gc-sections` and the reference with it; if a panic ever
//! becomes reachable, the firmware link fails with an undefined `nxsm_panic_is_unreachable`
//! instead of shipping a hidden crash path (`scripts/check-no-panic` relies on this).

#[cfg(not(any(feature = "std", test)))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn nxsm_panic_is_unreachable() -> !;
    }
    // SAFETY: never linked; see the module documentation.
    unsafe { nxsm_panic_is_unreachable() }
}

/// A deliberate panic path, built only by `scripts/check-no-panic` to prove that the link
/// check does fail when a panic is reachable.
#[cfg(feature = "panic-probe")]
#[no_mangle]
pub extern "C" fn nxsm_panic_probe(index: u32) -> u32 {
    let table = [1u32, 2, 3];
    table[index as usize]
}
