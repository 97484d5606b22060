//! The detection policy: loading, clearing and reading what is active
//! (`docs/policy-format.md`).

use super::types::*;
use super::{check_size, checked, code, output, FfiResult, MONITOR};
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
