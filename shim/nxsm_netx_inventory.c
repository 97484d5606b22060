/*
 * nx-security-module shim: the inventory's socket scan.
 *
 * The core calls nxsm_netx_inventory_scan() from nxsm_poll(), on the polling thread, when an
 * inventory check is due (the install registers it, the remove withdraws it). For every
 * NX_IP the hooks hold it reads NetX Duo's own tables, under the IP's protection mutex (the
 * lock every NetX service that changes them holds), waited for a few ticks at most:
 *  - the active listen requests (nx_ip_tcp_active_listen_requests, a ring of NX_TCP_LISTEN):
 *    one TCP_LISTEN entry per listening port;
 *  - the UDP port table (nx_ip_udp_port_table, circular lists of bound NX_UDP_SOCKET): one
 *    UDP_BOUND entry per bound socket;
 *  - the TCP port table (nx_ip_tcp_port_table, circular lists of bound NX_TCP_SOCKET): one
 *    TCP_ESTABLISHED entry per socket in NX_TCP_ESTABLISHED, with the peer from its connect
 *    fields and the local address from its interface (IPv4) or IPv6 address entry.
 * Every walk is bounded (a per-IP budget of NXSM_INVENTORY_WALK_MAX entries, and a list ends
 * where it comes back to its head or meets NX_NULL), so a corrupt list ends the scan of that
 * IP rather than looping; entries beyond the core's capacity are counted, never written.
 */
#include <stddef.h>
#include <stdint.h>

#include "nx_api.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"
#include "nxsm_netx_hooks.h"

/* The walk of one IP: where its entries go and how many list entries it may still visit. */
typedef struct
{
    nxsm_inventory_scan *scan;
    uint8_t ip_index;
    ULONG budget;
} nxsm_inventory_walk;

/* Writes a host-order ULONG as four wire-order octets. */
static void nxsm_inventory_put_ulong(uint8_t *out, ULONG value)
{
    out[0] = (uint8_t)((value >> 24) & 0xFFu);
    out[1] = (uint8_t)((value >> 16) & 0xFFu);
    out[2] = (uint8_t)((value >> 8) & 0xFFu);
    out[3] = (uint8_t)(value & 0xFFu);
}

/* Counts one socket and returns its entry to fill, or NX_NULL past the capacity (counted
   only). The entry comes back zeroed. */
static nxsm_socket *nxsm_inventory_add(nxsm_inventory_walk *walk, uint8_t kind, UINT local_port)
{
    nxsm_inventory_scan *scan = walk->scan;
    uint32_t index = scan->found;
    nxsm_socket *entry;
    size_t i;

    if (scan->found != UINT32_MAX)
    {
        scan->found++;
    }
    if (scan->sockets == NX_NULL || index >= scan->capacity)
    {
        return NX_NULL;
    }
    entry = &scan->sockets[index];
    entry->kind = kind;
    entry->ip_version = 0u;
    entry->ip_index = walk->ip_index;
    entry->reserved = 0u;
    entry->local_port = (uint16_t)local_port;
    entry->remote_port = 0u;
    for (i = 0; i < sizeof(entry->local_address); i++)
    {
        entry->local_address[i] = 0u;
        entry->remote_address[i] = 0u;
    }
    return entry;
}

/* Takes one step of the IP's budget; NX_FALSE once it is spent. */
static UINT nxsm_inventory_step(nxsm_inventory_walk *walk)
{
    if (walk->budget == 0u)
    {
        return NX_FALSE;
    }
    walk->budget--;
    return NX_TRUE;
}

/* The listen requests: a ring taken from the IP's own array of NX_MAX_LISTEN_REQUESTS. */
static void nxsm_inventory_listeners(nxsm_inventory_walk *walk, const NX_IP *ip_ptr)
{
    const NX_TCP_LISTEN *head = ip_ptr->nx_ip_tcp_active_listen_requests;
    const NX_TCP_LISTEN *listen_ptr = head;
    UINT seen = 0;

    while (listen_ptr != NX_NULL && seen < (UINT)NX_MAX_LISTEN_REQUESTS && nxsm_inventory_step(walk))
    {
        (void)nxsm_inventory_add(walk, (uint8_t)NXSM_SOCKET_TCP_LISTEN, listen_ptr->nx_tcp_listen_port);
        seen++;
        listen_ptr = listen_ptr->nx_tcp_listen_next;
        if (listen_ptr == head)
        {
            break;
        }
    }
}

/* The UDP port table: every bound socket. */
static void nxsm_inventory_udp(nxsm_inventory_walk *walk, const NX_IP *ip_ptr)
{
    UINT index;

    for (index = 0; index < (UINT)NX_UDP_PORT_TABLE_SIZE; index++)
    {
        const NX_UDP_SOCKET *head = ip_ptr->nx_ip_udp_port_table[index];
        const NX_UDP_SOCKET *socket_ptr = head;

        while (socket_ptr != NX_NULL && nxsm_inventory_step(walk))
        {
            (void)nxsm_inventory_add(walk, (uint8_t)NXSM_SOCKET_UDP_BOUND, socket_ptr->nx_udp_socket_port);
            socket_ptr = socket_ptr->nx_udp_socket_bound_next;
            if (socket_ptr == head)
            {
                break;
            }
        }
    }
}

/* Fills the addresses of an established connection from the socket's connect fields. */
static void nxsm_inventory_connection(nxsm_socket *entry, const NX_TCP_SOCKET *socket_ptr)
{
#ifdef FEATURE_NX_IPV6
    UINT word;
#endif

    entry->remote_port = (uint16_t)socket_ptr->nx_tcp_socket_connect_port;
#ifndef NX_DISABLE_IPV4
    if (socket_ptr->nx_tcp_socket_connect_ip.nxd_ip_version == (ULONG)NX_IP_VERSION_V4)
    {
        entry->ip_version = 4u;
        nxsm_inventory_put_ulong(entry->remote_address, socket_ptr->nx_tcp_socket_connect_ip.nxd_ip_address.v4);
        if (socket_ptr->nx_tcp_socket_connect_interface != NX_NULL)
        {
            nxsm_inventory_put_ulong(entry->local_address,
                                     socket_ptr->nx_tcp_socket_connect_interface->nx_interface_ip_address);
        }
    }
#endif
#ifdef FEATURE_NX_IPV6
    if (socket_ptr->nx_tcp_socket_connect_ip.nxd_ip_version == (ULONG)NX_IP_VERSION_V6)
    {
        const NXD_IPV6_ADDRESS *local = socket_ptr->nx_tcp_socket_ipv6_addr;

        entry->ip_version = 6u;
        for (word = 0; word < 4u; word++)
        {
            nxsm_inventory_put_ulong(&entry->remote_address[word * 4u],
                                     socket_ptr->nx_tcp_socket_connect_ip.nxd_ip_address.v6[word]);
            if (local != NX_NULL)
            {
                nxsm_inventory_put_ulong(&entry->local_address[word * 4u], local->nxd_ipv6_address[word]);
            }
        }
    }
#endif
}

/* The TCP port table: the bound sockets in the established state. */
static void nxsm_inventory_tcp(nxsm_inventory_walk *walk, const NX_IP *ip_ptr)
{
    UINT index;

    for (index = 0; index < (UINT)NX_TCP_PORT_TABLE_SIZE; index++)
    {
        const NX_TCP_SOCKET *head = ip_ptr->nx_ip_tcp_port_table[index];
        const NX_TCP_SOCKET *socket_ptr = head;

        while (socket_ptr != NX_NULL && nxsm_inventory_step(walk))
        {
            if (socket_ptr->nx_tcp_socket_state == (UINT)NX_TCP_ESTABLISHED)
            {
                nxsm_socket *entry =
                    nxsm_inventory_add(walk, (uint8_t)NXSM_SOCKET_TCP_ESTABLISHED, socket_ptr->nx_tcp_socket_port);

                if (entry != NX_NULL)
                {
                    nxsm_inventory_connection(entry, socket_ptr);
                }
            }
            socket_ptr = socket_ptr->nx_tcp_socket_bound_next;
            if (socket_ptr == head)
            {
                break;
            }
        }
    }
}

void nxsm_netx_inventory_scan(nxsm_inventory_scan *scan, void *context)
{
    UINT index;

    (void)context;
    if (scan == NX_NULL)
    {
        return;
    }
    scan->ips_unhooked = (uint32_t)nxsm_netx_ips_unhooked();
    for (index = 0; index < (UINT)NXSM_MAX_IP_INSTANCES; index++)
    {
        NX_IP *ip_ptr = NX_NULL;
        ULONG replaced = 0;
        nxsm_inventory_walk walk;

        if (!nxsm_netx_hooked_ip(index, &ip_ptr, &replaced))
        {
            continue;
        }
        scan->hooks_replaced += (uint32_t)replaced;
        /* Never wait long: the poll that called us has other work, and an IP held this long
           is read at the next check (the core keeps the previous inventory meanwhile). */
        if (tx_mutex_get(&ip_ptr->nx_ip_protection, (ULONG)NXSM_INVENTORY_LOCK_TICKS) != TX_SUCCESS)
        {
            scan->ips_skipped++;
            continue;
        }
        walk.scan = scan;
        walk.ip_index = (uint8_t)index;
        walk.budget = (ULONG)NXSM_INVENTORY_WALK_MAX;
        nxsm_inventory_listeners(&walk, ip_ptr);
        nxsm_inventory_udp(&walk, ip_ptr);
        nxsm_inventory_tcp(&walk, ip_ptr);
        if (tx_mutex_put(&ip_ptr->nx_ip_protection) != TX_SUCCESS)
        {
            /* Ours, taken above: cannot fail. */
        }
    }
}
