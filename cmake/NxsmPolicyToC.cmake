# cmake -DBLOB=policy.bin -DOUT=policy.c -DLIMIT=<NXSM_POLICY_BYTES> -DSOURCE=policy.json -P
# Writes a policy blob as a const array in flash and nxsm_policy_load_builtin(), which loads
# it; fails when the blob is larger than the load budget.
file(SIZE ${BLOB} _size)
if(_size GREATER LIMIT)
  message(FATAL_ERROR "${SOURCE} compiles to ${_size} bytes, more than NXSM_POLICY_BYTES = ${LIMIT}: "
    "raise NXSM_POLICY_BYTES (a multiple of 4) or shorten the policy")
endif()
file(READ ${BLOB} _hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " _bytes "${_bytes}")
file(WRITE ${OUT} "/* Generated from ${SOURCE} by nxsm-policy (cmake/NxsmPolicy.cmake). */
#include \"nx_security_module.h\"

/* Word-aligned, as the blob is made of little-endian words. */
static const uint8_t nxsm_builtin_policy[${_size}] __attribute__((aligned(4))) = {
    ${_bytes}
};

nxsm_result nxsm_policy_load_builtin(void)
{
    return nxsm_policy_load(nxsm_builtin_policy, sizeof(nxsm_builtin_policy));
}
")
