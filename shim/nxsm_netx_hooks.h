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

/* Hooked NX_IP number `index` of the table (0-based, below NXSM_MAX_IP_INSTANCES): NX_TRUE
   and the IP when that entry is hooked by the running install and the IP still exists, with
   how many of the hooks installed on it the application has replaced since (the filter or a
   receive routine no longer ours). NX_FALSE otherwise. Interrupts are disabled inside for a
   few instructions; any thread. */
UINT nxsm_netx_hooked_ip(UINT index, NX_IP **ip_ptr, ULONG *hooks_replaced);

/* Created NX_IP instances the last install had to leave unhooked (table full). */
ULONG nxsm_netx_ips_unhooked(VOID);

/* The inventory source (nxsm_netx_inventory.c) the install registers with the core: reads
   the listening TCP ports, bound UDP ports and established TCP connections of every hooked
   NX_IP from NetX Duo's own tables, under each IP's protection mutex (waited for at most
   NXSM_INVENTORY_LOCK_TICKS). context is unused. Threads only (the core calls it from
   nxsm_poll). */
void nxsm_netx_inventory_scan(nxsm_inventory_scan *scan, void *context);

/* Ticks install/remove wait in all for nxsm_set_inventory_source() while a poll runs
   (NXSM_ERR_BUSY), trying again every tick. */
#ifndef NXSM_INVENTORY_SET_TICKS
#define NXSM_INVENTORY_SET_TICKS 100u
#endif

/* Ticks the scan waits for an IP's protection mutex before skipping that IP. */
#ifndef NXSM_INVENTORY_LOCK_TICKS
#define NXSM_INVENTORY_LOCK_TICKS 5u
#endif

/* Most list entries the scan visits per NX_IP, over all its tables: a corrupt list (a cycle
   that misses its head) ends the walk there instead of looping. */
#ifndef NXSM_INVENTORY_WALK_MAX
#define NXSM_INVENTORY_WALK_MAX 4096u
#endif

#endif /* NXSM_NETX_HOOKS_H */
