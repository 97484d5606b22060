/*
 * TEMPORARY: the inventory source API of the core (commit "ffi: nxsm_set_inventory_source"),
 * declared here until that commit is on main and include/nx_security_module.h carries it.
 * Delete this file (and its #include in nxsm_netx_hooks.h and the stub in
 * nxsm_netx_inventory.c) at the merge of main. Guarded: once the generated header has the
 * API, this declares nothing.
 */
#ifndef NXSM_INVENTORY_PENDING_H
#define NXSM_INVENTORY_PENDING_H

#include <stdint.h>

#include "nx_security_module.h"

#ifndef NXSM_SOCKET_TCP_LISTEN
#define NXSM_INVENTORY_PENDING 1

/* nxsm_socket_kind */
#define NXSM_SOCKET_TCP_LISTEN      0 /* a TCP server port listening (nx_tcp_server_socket_listen) */
#define NXSM_SOCKET_UDP_BOUND       1 /* a UDP socket bound to a port */
#define NXSM_SOCKET_TCP_ESTABLISHED 2 /* an established TCP connection */
typedef struct
{
    uint8_t kind;       /* an nxsm_socket_kind */
    uint8_t ip_version; /* 4 or 6 for an established connection; 0 for a listener or bound UDP socket */
    uint8_t ip_index;   /* which NX_IP: its index in the hooks' table, 0-based */
    uint8_t reserved;   /* 0 */
    uint16_t local_port;
    uint16_t remote_port;      /* 0 unless established */
    uint8_t local_address[16]; /* wire octet order, IPv4 in the first 4 bytes; all 0 unless established */
    uint8_t remote_address[16];
} nxsm_socket;
typedef struct
{
    nxsm_socket *sockets;    /* set by the library: room for `capacity` entries */
    uint32_t capacity;       /* set by the library */
    uint32_t found;          /* set by the source: every socket found, those beyond capacity included */
    uint32_t ips_skipped;    /* set by the source: hooked NX_IPs not read (protection mutex not free in time) */
    uint32_t ips_unhooked;   /* set by the source: NX_IPs left without hooks because the hooks' table was full */
    uint32_t hooks_replaced; /* set by the source: installed hooks the application has since replaced */
} nxsm_inventory_scan;
typedef void (*nxsm_inventory_source)(nxsm_inventory_scan *scan, void *context);
nxsm_result nxsm_set_inventory_source(nxsm_inventory_source source, void *context);
#endif

#endif /* NXSM_INVENTORY_PENDING_H */
