/*
 * Simulator of NetX Duo's IP component header (nx-security-module C harness): the
 * created-IP list globals. As in NetX Duo they live in nx_ip.h, not nx_api.h, so shim code
 * that walks the list must include this header in both builds.
 */
#ifndef NX_IP_H
#define NX_IP_H

#include "nx_api.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* Value of nx_ip_id while an NX_IP is created. */
#define NX_IP_ID ((ULONG)0x49502020)

    /* Head of the circular list of created IP instances, and its length. Walk it with
   nx_ip_created_next exactly _nx_ip_created_count times. */
    extern NX_IP *_nx_ip_created_ptr;
    extern ULONG _nx_ip_created_count;

#ifdef __cplusplus
}
#endif

#endif /* NX_IP_H */
