# cmake -DBLOB=policy.bin -DOUT=policy.c -DLIMIT=<NXSM_POLICY_BYTES> -DSOURCE=policy.json
#       [-DNAME=<array>] -P
# Writes a policy blob as a const array in flash and nxsm_policy_load_builtin(), which loads
# it; fails when the blob is larger than the load budget. With NAME, the array is
# `const uint8_t NAME[]` with its length in `const size_t NAME_bytes`, for the program to
# load itself, and there is no load function.
file(SIZE ${BLOB} _size)
if(_size GREATER LIMIT)
  message(FATAL_ERROR "${SOURCE} compiles to ${_size} bytes, more than NXSM_POLICY_BYTES = ${LIMIT}: "
    "raise NXSM_POLICY_BYTES (a multiple of 4) or shorten the policy")
endif()
file(READ ${BLOB} _hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " _bytes "${_bytes}")
if(NAME)
  set(_array "const uint8_t ${NAME}[${_size}] __attribute__((aligned(4)))")
  set(_tail "const size_t ${NAME}_bytes = sizeof(${NAME});")
else()
  set(_array "static const uint8_t nxsm_builtin_policy[${_size}] __attribute__((aligned(4)))")
  set(_tail "nxsm_result nxsm_policy_load_builtin(void)
{
    return nxsm_policy_load(nxsm_builtin_policy, sizeof(nxsm_builtin_policy));
}")
endif()
file(WRITE ${OUT} "/* Generated from ${SOURCE} by nxsm-policy (cmake/NxsmPolicy.cmake). */
#include <stddef.h>

#include \"nx_security_module.h\"

/* Word-aligned, as the blob is made of little-endian words. */
${_array} = {
    ${_bytes}
};

${_tail}
")
