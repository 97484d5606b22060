/*
 * NetX Duo port layer of the nx-security-module simulator: byte order of the simulated
 * target and the user-options include, with the macro names a real nx_port.h uses.
 */
#ifndef NX_PORT_H
#define NX_PORT_H

#ifdef NX_INCLUDE_USER_DEFINE_FILE
#include "nx_user.h"
#endif

#include "tx_api.h"

/* Every target the simulator runs on (x86-64 host, Cortex-M) is little-endian. */
#ifndef NX_LITTLE_ENDIAN
#define NX_LITTLE_ENDIAN 1
#endif

/* Swap a 32-bit / 16-bit value in place between host and network order. */
#define NX_CHANGE_ULONG_ENDIAN(arg)                                                            \
    (arg) = (ULONG)((((ULONG)(arg)&0x000000FFUL) << 24) | (((ULONG)(arg)&0x0000FF00UL) << 8) | \
                    (((ULONG)(arg)&0x00FF0000UL) >> 8) | (((ULONG)(arg)&0xFF000000UL) >> 24))
#define NX_CHANGE_USHORT_ENDIAN(arg) (arg) = (USHORT)((((USHORT)(arg)&0x00FFu) << 8) | (((USHORT)(arg)&0xFF00u) >> 8))

#endif /* NX_PORT_H */
