/*
 * nx-security-module shim, internal: NetX Duo packet hooks (nxsm_netx_hooks.c), used by
 * the drop-in enable/disable (nx_azure_iot_security_module.c).
 */
#ifndef NXSM_NETX_HOOKS_H
#define NXSM_NETX_HOOKS_H

#include "nx_api.h"

/* NX_IP instances whose hooks can be chained at once (table of saved pointers). */
#ifndef NXSM_MAX_IP_INSTANCES
#define NXSM_MAX_IP_INSTANCES 4
#endif

/* Hooks every created NX_IP for capture_mode (an nxsm_capture_mode); IPs beyond the table
   are left alone and counted. Call with the core started and the cloud module registered,
   from a thread (takes each IP's protection mutex). Returns how many IPs were hooked. */
ULONG nxsm_netx_hooks_install(UINT capture_mode);

/* Puts back what install replaced, where the module's function is still in place. Call
   from a thread before stopping the core. */
VOID nxsm_netx_hooks_remove(VOID);

#endif /* NXSM_NETX_HOOKS_H */
