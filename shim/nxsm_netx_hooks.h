/*
 * nx-security-module shim, internal: build settings of the NetX Duo packet hooks
 * (nxsm_netx_hooks.c). nxsm_netx_hooks_install()/_remove() are public: nxsm_netx.h.
 */
#ifndef NXSM_NETX_HOOKS_H
#define NXSM_NETX_HOOKS_H

#include "nxsm_netx.h"

/* NX_IP instances whose hooks can be chained at once (table of saved pointers). */
#ifndef NXSM_MAX_IP_INSTANCES
#define NXSM_MAX_IP_INSTANCES 4
#endif

#endif /* NXSM_NETX_HOOKS_H */
