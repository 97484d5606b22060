/*
 * The inventory's socket scan of the shim (shim/nxsm_netx_inventory.c), called directly as
 * the core would call it from nxsm_poll(), on the simulator's NetX Duo socket tables:
 * listening TCP ports, bound UDP ports and established TCP connections (IPv4 and IPv6) with
 * the right NX_IP index, addresses and ports; more sockets than room (all counted, only the
 * room written); NX_IPs left unhooked and hooks the application replaced; an IP whose
 * protection mutex another thread holds (skipped, the others read); the core's polls
 * reading through the source the install registered (and no more after the remove);
 * corrupt circular lists (the walk ends); and sockets created, bound, connected and deleted
 * by another thread while the scan runs over and over (no crash, no entry out of bounds;
 * ThreadSanitizer runs this program too).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nxsm_test_support.h"

#include "nx_ip.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"
#include "nxsm_netx_hooks.h"
#include "sim_control.h"

#define NOW_S   1704067200u
#define MAX_IPS (NXSM_MAX_IP_INSTANCES + 2)

/* Addresses (host order, as NetX keeps them) and the same in wire octets. */
#define DEV0_V4 0xC0000201UL /* 192.0.2.1 on ips[0] */
#define DEV1_V4 0xC0000202UL /* 192.0.2.2 on ips[1] */
#define PEER_V4 0xC6336407UL /* 198.51.100.7 */
static const UCHAR dev0_v4_wire[4] = {192, 0, 2, 1};
static const UCHAR peer_v4_wire[4] = {198, 51, 100, 7};
static const ULONG dev1_v6[4] = {0x20010DB8UL, 0, 0, 0x2UL}; /* 2001:db8::2 on ips[1] */
static const ULONG peer_v6[4] = {0x20010DB8UL, 0, 0, 0x99UL};
static const UCHAR dev1_v6_wire[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
static const UCHAR peer_v6_wire[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99};

static NX_IP ips[MAX_IPS];

/* ---- helpers ---------------------------------------------------------------------------- */

static void ip_make(UINT index, ULONG v4)
{
    assert_int_equal(sim_ip_create(&ips[index], (CHAR *)"ip"), NX_SUCCESS);
    assert_int_equal(nx_ip_interface_address_set(&ips[index], 0, v4, 0xFFFFFF00UL), NX_SUCCESS);
    assert_int_equal(nx_tcp_enable(&ips[index]), NX_SUCCESS);
    assert_int_equal(nx_udp_enable(&ips[index]), NX_SUCCESS);
}

static void module_start(void)
{
    nxsm_config config = default_config();

    assert_int_equal(nxsm_start(&config, NOW_S, 0u), NXSM_OK);
}

static int fresh(void **state)
{
    (void)state;
    sim_reset();
    memset(ips, 0, sizeof(ips));
    return 0;
}

static int cleanup(void **state)
{
    (void)state;
    nxsm_netx_hooks_remove();
    (void)nxsm_stop();
    sim_reset();
    return 0;
}

/* Two hooked IPs: ips[0] (192.0.2.1) and ips[1] (192.0.2.2, 2001:db8::2 at IPv6 entry 0). */
static void two_ips_hooked(void)
{
    NXD_ADDRESS v6;

    ip_make(0, DEV0_V4);
    ip_make(1, DEV1_V4);
    memset(&v6, 0, sizeof(v6));
    v6.nxd_ip_version = NX_IP_VERSION_V6;
    memcpy(v6.nxd_ip_address.v6, dev1_v6, sizeof(dev1_v6));
    assert_int_equal(nxd_ipv6_address_set(&ips[1], 0, &v6, 64, NX_NULL), NX_SUCCESS);
    module_start();
    assert_int_equal(nxsm_netx_hooks_install(NXSM_CAPTURE_UNICAST_ONLY), 2u);
}

/* One scan into `sockets` (room for capacity); the entry after them must stay untouched. */
static nxsm_inventory_scan scan_into(nxsm_socket *sockets, uint32_t capacity)
{
    nxsm_inventory_scan scan;

    memset(&scan, 0, sizeof(scan));
    scan.sockets = sockets;
    scan.capacity = capacity;
    nxsm_netx_inventory_scan(&scan, NX_NULL);
    return scan;
}

/* The entry of kind/ip_index/local_port among the first n, or NULL. */
static const nxsm_socket *find(const nxsm_socket *s, uint32_t n, uint8_t kind, uint8_t ip_index, uint16_t port)
{
    uint32_t i;

    for (i = 0; i < n; i++)
    {
        if (s[i].kind == kind && s[i].ip_index == ip_index && s[i].local_port == port)
        {
            return &s[i];
        }
    }
    return NULL;
}

static int all_zero(const uint8_t *bytes, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
    {
        if (bytes[i] != 0u)
        {
            return 0;
        }
    }
    return 1;
}

/* A listener or bound UDP socket: no version, peer or addresses. */
static void expect_unconnected(const nxsm_socket *s)
{
    assert_non_null(s);
    assert_int_equal(s->ip_version, 0);
    assert_int_equal(s->reserved, 0);
    assert_int_equal(s->remote_port, 0);
    assert_true(all_zero(s->local_address, sizeof(s->local_address)));
    assert_true(all_zero(s->remote_address, sizeof(s->remote_address)));
}

/* ---- what is reported ------------------------------------------------------------------- */

static void test_reports_listeners_udp_and_connections(void **state)
{
    static NX_TCP_SOCKET telnet, web, client, server6, idle;
    static NX_UDP_SOCKET coap;
    nxsm_socket sockets[16];
    nxsm_inventory_scan scan;
    NXD_ADDRESS peer;
    const nxsm_socket *s;

    (void)state;
    two_ips_hooked();
    /* ips[0]: Telnet and 8080 listening; a client connected to 198.51.100.7:443; a bound
       client that never connected (not reported). ips[1]: CoAP bound; 80 listening, whose
       socket took an IPv6 connection from [2001:db8::99]:50000. */
    assert_int_equal(
        nx_tcp_socket_create(&ips[0], &telnet, "telnet", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024, NX_NULL, NX_NULL),
        NX_SUCCESS);
    assert_int_equal(nx_tcp_server_socket_listen(&ips[0], 23, &telnet, 5, NX_NULL), NX_SUCCESS);
    assert_int_equal(
        nx_tcp_socket_create(&ips[0], &web, "web", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024, NX_NULL, NX_NULL),
        NX_SUCCESS);
    assert_int_equal(nx_tcp_server_socket_listen(&ips[0], 8080, &web, 5, NX_NULL), NX_SUCCESS);
    assert_int_equal(
        nx_tcp_socket_create(&ips[0], &client, "client", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024, NX_NULL, NX_NULL),
        NX_SUCCESS);
    assert_int_equal(nx_tcp_client_socket_bind(&client, 40000, NX_NO_WAIT), NX_SUCCESS);
    memset(&peer, 0, sizeof(peer));
    peer.nxd_ip_version = NX_IP_VERSION_V4;
    peer.nxd_ip_address.v4 = PEER_V4;
    assert_int_equal(sim_tcp_socket_establish(&client, &peer, 443, 0), NX_SUCCESS);
    assert_int_equal(
        nx_tcp_socket_create(&ips[0], &idle, "idle", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024, NX_NULL, NX_NULL),
        NX_SUCCESS);
    assert_int_equal(nx_tcp_client_socket_bind(&idle, 40001, NX_NO_WAIT), NX_SUCCESS);

    assert_int_equal(nx_udp_socket_create(&ips[1], &coap, "coap", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4), NX_SUCCESS);
    assert_int_equal(nx_udp_socket_bind(&coap, 5683, NX_NO_WAIT), NX_SUCCESS);
    assert_int_equal(nx_tcp_socket_create(&ips[1], &server6, "server6", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024,
                                          NX_NULL, NX_NULL),
                     NX_SUCCESS);
    assert_int_equal(nx_tcp_server_socket_listen(&ips[1], 80, &server6, 5, NX_NULL), NX_SUCCESS);
    memset(&peer, 0, sizeof(peer));
    peer.nxd_ip_version = NX_IP_VERSION_V6;
    memcpy(peer.nxd_ip_address.v6, peer_v6, sizeof(peer_v6));
    assert_int_equal(sim_tcp_socket_establish(&server6, &peer, 50000, 0), NX_SUCCESS);

    memset(sockets, 0xEE, sizeof(sockets));
    scan = scan_into(sockets, 16);
    assert_int_equal(scan.found, 6);
    assert_int_equal(scan.ips_skipped, 0);
    assert_int_equal(scan.ips_unhooked, 0);
    assert_int_equal(scan.hooks_replaced, 0);

    expect_unconnected(find(sockets, 6, NXSM_SOCKET_TCP_LISTEN, 0, 23));
    expect_unconnected(find(sockets, 6, NXSM_SOCKET_TCP_LISTEN, 0, 8080));
    expect_unconnected(find(sockets, 6, NXSM_SOCKET_UDP_BOUND, 1, 5683));
    /* The listen request stays after its socket took a connection: port 80 still listens. */
    expect_unconnected(find(sockets, 6, NXSM_SOCKET_TCP_LISTEN, 1, 80));

    s = find(sockets, 6, NXSM_SOCKET_TCP_ESTABLISHED, 0, 40000);
    assert_non_null(s);
    assert_int_equal(s->ip_version, 4);
    assert_int_equal(s->remote_port, 443);
    assert_memory_equal(s->local_address, dev0_v4_wire, 4);
    assert_memory_equal(s->remote_address, peer_v4_wire, 4);
    assert_true(all_zero(&s->local_address[4], 12));
    assert_true(all_zero(&s->remote_address[4], 12));

    s = find(sockets, 6, NXSM_SOCKET_TCP_ESTABLISHED, 1, 80);
    assert_non_null(s);
    assert_int_equal(s->ip_version, 6);
    assert_int_equal(s->reserved, 0);
    assert_int_equal(s->remote_port, 50000);
    assert_memory_equal(s->local_address, dev1_v6_wire, 16);
    assert_memory_equal(s->remote_address, peer_v6_wire, 16);

    /* Entries past those found are not touched. */
    assert_int_equal(sockets[6].kind, 0xEE);

    /* Closing and unbinding takes them out of the next scan. */
    assert_int_equal(nx_tcp_socket_disconnect(&client, NX_NO_WAIT), NX_SUCCESS);
    assert_int_equal(nx_tcp_client_socket_unbind(&client), NX_SUCCESS);
    assert_int_equal(nx_tcp_server_socket_unlisten(&ips[0], 23), NX_SUCCESS);
    assert_int_equal(nx_udp_socket_unbind(&coap), NX_SUCCESS);
    scan = scan_into(sockets, 16);
    assert_int_equal(scan.found, 3);
    assert_null(find(sockets, 3, NXSM_SOCKET_TCP_LISTEN, 0, 23));
    assert_null(find(sockets, 3, NXSM_SOCKET_UDP_BOUND, 1, 5683));
    assert_null(find(sockets, 3, NXSM_SOCKET_TCP_ESTABLISHED, 0, 40000));

    /* Nothing once the hooks are removed: the scan reads only hooked IPs. */
    nxsm_netx_hooks_remove();
    scan = scan_into(sockets, 16);
    assert_int_equal(scan.found, 0);
}

static void test_more_sockets_than_room(void **state)
{
    static NX_UDP_SOCKET udp[40];
    static NX_TCP_SOCKET listeners[NX_MAX_LISTEN_REQUESTS];
    nxsm_socket sockets[9];
    nxsm_inventory_scan scan;
    uint32_t i;
    uint32_t udp_seen = 0;

    (void)state;
    ip_make(0, DEV0_V4);
    module_start();
    assert_int_equal(nxsm_netx_hooks_install(NXSM_CAPTURE_UNICAST_ONLY), 1u);
    /* Ports that share hash buckets (32 apart) and fill several. */
    for (i = 0; i < 40u; i++)
    {
        assert_int_equal(nx_udp_socket_create(&ips[0], &udp[i], "u", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4),
                         NX_SUCCESS);
        assert_int_equal(nx_udp_socket_bind(&udp[i], 1000u + i * 32u, NX_NO_WAIT), NX_SUCCESS);
    }
    for (i = 0; i < NX_MAX_LISTEN_REQUESTS; i++)
    {
        assert_int_equal(nx_tcp_socket_create(&ips[0], &listeners[i], "l", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024,
                                              NX_NULL, NX_NULL),
                         NX_SUCCESS);
        assert_int_equal(nx_tcp_server_socket_listen(&ips[0], 2000u + i, &listeners[i], 1, NX_NULL), NX_SUCCESS);
    }

    /* Room for 8: every socket counted, 8 written, the guard after them untouched. */
    memset(sockets, 0xEE, sizeof(sockets));
    scan = scan_into(sockets, 8);
    assert_int_equal(scan.found, 40u + NX_MAX_LISTEN_REQUESTS);
    for (i = 0; i < 8u; i++)
    {
        assert_true(sockets[i].kind == NXSM_SOCKET_TCP_LISTEN || sockets[i].kind == NXSM_SOCKET_UDP_BOUND);
        assert_int_equal(sockets[i].ip_index, 0);
    }
    assert_int_equal(sockets[8].kind, 0xEE);
    assert_int_equal(sockets[8].local_port, 0xEEEE);

    /* No room at all: counted only. */
    scan = scan_into(NULL, 0);
    assert_int_equal(scan.found, 40u + NX_MAX_LISTEN_REQUESTS);

    /* Enough room: every UDP port exactly once. */
    {
        static nxsm_socket all[64];

        scan = scan_into(all, 64);
        assert_int_equal(scan.found, 40u + NX_MAX_LISTEN_REQUESTS);
        for (i = 0; i < 40u; i++)
        {
            udp_seen += (find(all, scan.found, NXSM_SOCKET_UDP_BOUND, 0, (uint16_t)(1000u + i * 32u)) != NULL);
        }
        assert_int_equal(udp_seen, 40);
    }
    /* A NULL scan is ignored. */
    nxsm_netx_inventory_scan(NULL, NX_NULL);
}

/* ---- blind spots ------------------------------------------------------------------------ */

static UINT app_filter(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction)
{
    (void)ip_ptr;
    (void)packet_ptr;
    (void)direction;
    return NX_SUCCESS;
}

static VOID app_udp_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    (void)ip_ptr;
    (void)nx_packet_release(packet_ptr);
}

static void test_unhooked_ips_and_replaced_hooks(void **state)
{
    static NX_UDP_SOCKET udp;
    nxsm_socket sockets[4];
    nxsm_inventory_scan scan;
    UINT i;

    (void)state;
    for (i = 0; i < MAX_IPS; i++)
    {
        ip_make(i, DEV0_V4 + i);
    }
    module_start();
    assert_int_equal(nxsm_netx_hooks_install(NXSM_CAPTURE_UNICAST_ONLY), NXSM_MAX_IP_INSTANCES);
    scan = scan_into(sockets, 4);
    assert_int_equal(scan.ips_unhooked, MAX_IPS - NXSM_MAX_IP_INSTANCES);
    assert_int_equal(scan.hooks_replaced, 0);

    /* The application puts its own filter on ips[0] and UDP receive on ips[1]. */
    ips[0].nx_ip_packet_filter_extended = app_filter;
    ips[1].nx_ip_udp_packet_receive = app_udp_receive;
    scan = scan_into(sockets, 4);
    assert_int_equal(scan.hooks_replaced, 2);

    /* A socket on an unhooked IP is not read (the blind spot is counted instead). */
    assert_int_equal(nx_udp_socket_create(&ips[MAX_IPS - 1], &udp, "u", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4),
                     NX_SUCCESS);
    assert_int_equal(nx_udp_socket_bind(&udp, 7, NX_NO_WAIT), NX_SUCCESS);
    scan = scan_into(sockets, 4);
    assert_int_equal(scan.found, 0);
    assert_int_equal(scan.ips_unhooked, MAX_IPS - NXSM_MAX_IP_INSTANCES);
}

/* ---- an IP's mutex held elsewhere ------------------------------------------------------- */

typedef struct
{
    NX_IP *ip;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int held;
    int release;
} holder_state;

static void *holder(void *argument)
{
    holder_state *h = argument;

    assert_int_equal(tx_mutex_get(&h->ip->nx_ip_protection, TX_WAIT_FOREVER), TX_SUCCESS);
    pthread_mutex_lock(&h->lock);
    h->held = 1;
    pthread_cond_broadcast(&h->cond);
    while (!h->release)
    {
        pthread_cond_wait(&h->cond, &h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    assert_int_equal(tx_mutex_put(&h->ip->nx_ip_protection), TX_SUCCESS);
    return NULL;
}

static void test_held_mutex_skips_that_ip(void **state)
{
    static NX_UDP_SOCKET u0, u1;
    holder_state h;
    pthread_t thread;
    nxsm_socket sockets[4];
    nxsm_inventory_scan scan;

    (void)state;
    two_ips_hooked();
    assert_int_equal(nx_udp_socket_create(&ips[0], &u0, "u0", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4), NX_SUCCESS);
    assert_int_equal(nx_udp_socket_bind(&u0, 100, NX_NO_WAIT), NX_SUCCESS);
    assert_int_equal(nx_udp_socket_create(&ips[1], &u1, "u1", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4), NX_SUCCESS);
    assert_int_equal(nx_udp_socket_bind(&u1, 101, NX_NO_WAIT), NX_SUCCESS);

    memset(&h, 0, sizeof(h));
    h.ip = &ips[1];
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.cond, NULL);
    assert_int_equal(pthread_create(&thread, NULL, holder, &h), 0);
    pthread_mutex_lock(&h.lock);
    while (!h.held)
    {
        pthread_cond_wait(&h.cond, &h.lock);
    }
    pthread_mutex_unlock(&h.lock);

    scan = scan_into(sockets, 4);
    assert_int_equal(scan.ips_skipped, 1);
    assert_int_equal(scan.found, 1);
    assert_non_null(find(sockets, 1, NXSM_SOCKET_UDP_BOUND, 0, 100));

    pthread_mutex_lock(&h.lock);
    h.release = 1;
    pthread_cond_broadcast(&h.cond);
    pthread_mutex_unlock(&h.lock);
    assert_int_equal(pthread_join(thread, NULL), 0);
    pthread_mutex_destroy(&h.lock);
    pthread_cond_destroy(&h.cond);

    /* Free again: both read. */
    scan = scan_into(sockets, 4);
    assert_int_equal(scan.ips_skipped, 0);
    assert_int_equal(scan.found, 2);
}

/* ---- through the core ------------------------------------------------------------------ */

/* Polls second by second from `from` until the core has made another inventory read (at
   most `seconds`); returns the next second to poll. */
static uint32_t poll_until_read(uint32_t from, uint32_t seconds, uint32_t reads_before)
{
    uint32_t t = from;

    while (t < from + seconds && stats_now().inventory_reads == reads_before)
    {
        assert_int_equal(nxsm_poll(t, true), NXSM_OK);
        t++;
    }
    return t;
}

static void test_core_reads_through_the_installed_source(void **state)
{
    static NX_UDP_SOCKET coap;
    static NX_TCP_SOCKET telnet;
    nxsm_stats before, after;
    holder_state h;
    pthread_t thread;
    uint32_t t;

    (void)state;
    two_ips_hooked();
    assert_int_equal(nx_udp_socket_create(&ips[0], &coap, "coap", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4), NX_SUCCESS);
    assert_int_equal(nx_udp_socket_bind(&coap, 5683, NX_NO_WAIT), NX_SUCCESS);
    assert_int_equal(
        nx_tcp_socket_create(&ips[1], &telnet, "telnet", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024, NX_NULL, NX_NULL),
        NX_SUCCESS);
    assert_int_equal(nx_tcp_server_socket_listen(&ips[1], 23, &telnet, 5, NX_NULL), NX_SUCCESS);

    /* The install registered the scan: the core's polls read both sockets. */
    before = stats_now();
    t = poll_until_read(NOW_S, 300, before.inventory_reads);
    after = stats_now();
    assert_true(after.inventory_reads > before.inventory_reads);
    assert_int_equal(after.inventory_sockets, 2);
    assert_int_equal(after.inventory_rejected, before.inventory_rejected);

    /* ip1's mutex held elsewhere: that read is not reported (the core counts it). */
    memset(&h, 0, sizeof(h));
    h.ip = &ips[1];
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.cond, NULL);
    assert_int_equal(pthread_create(&thread, NULL, holder, &h), 0);
    pthread_mutex_lock(&h.lock);
    while (!h.held)
    {
        pthread_cond_wait(&h.cond, &h.lock);
    }
    pthread_mutex_unlock(&h.lock);
    before = stats_now();
    t = poll_until_read(t, 300, before.inventory_reads);
    after = stats_now();
    pthread_mutex_lock(&h.lock);
    h.release = 1;
    pthread_cond_broadcast(&h.cond);
    pthread_mutex_unlock(&h.lock);
    assert_int_equal(pthread_join(thread, NULL), 0);
    pthread_mutex_destroy(&h.lock);
    pthread_cond_destroy(&h.cond);
    assert_true(after.inventory_reads > before.inventory_reads);
    assert_true(after.inventory_rejected > before.inventory_rejected);

    /* The remove withdrew the scan: no read any more. */
    nxsm_netx_hooks_remove();
    before = stats_now();
    (void)poll_until_read(t, 300, before.inventory_reads);
    assert_int_equal(stats_now().inventory_reads, before.inventory_reads);
}

/* ---- hostile tables --------------------------------------------------------------------- */

static void test_corrupt_lists_end_the_walk(void **state)
{
    static NX_UDP_SOCKET a, b, c;
    nxsm_socket sockets[8];
    nxsm_inventory_scan scan;
    NX_TCP_LISTEN *saved_active;

    (void)state;
    ip_make(0, DEV0_V4);
    module_start();
    assert_int_equal(nxsm_netx_hooks_install(NXSM_CAPTURE_UNICAST_ONLY), 1u);

    /* A bucket whose list loops b -> c -> b without coming back to its head a. */
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    a.nx_udp_socket_port = 1;
    b.nx_udp_socket_port = 2;
    c.nx_udp_socket_port = 3;
    a.nx_udp_socket_bound_next = &b;
    b.nx_udp_socket_bound_next = &c;
    c.nx_udp_socket_bound_next = &b;
    ips[0].nx_ip_udp_port_table[1] = &a;
    /* A listen ring that loops on one request forever. */
    saved_active = ips[0].nx_ip_tcp_active_listen_requests;
    ips[0].nx_ip_tcp_server_listen_reqs[0].nx_tcp_listen_port = 9;
    ips[0].nx_ip_tcp_server_listen_reqs[0].nx_tcp_listen_next = &ips[0].nx_ip_tcp_server_listen_reqs[1];
    ips[0].nx_ip_tcp_server_listen_reqs[1].nx_tcp_listen_port = 10;
    ips[0].nx_ip_tcp_server_listen_reqs[1].nx_tcp_listen_next = &ips[0].nx_ip_tcp_server_listen_reqs[1];
    ips[0].nx_ip_tcp_active_listen_requests = &ips[0].nx_ip_tcp_server_listen_reqs[0];

    memset(sockets, 0xEE, sizeof(sockets));
    scan = scan_into(sockets, 7);
    /* The listen ring stops at NX_MAX_LISTEN_REQUESTS entries, the UDP list at the IP's budget. */
    assert_int_equal(scan.found, NXSM_INVENTORY_WALK_MAX);
    assert_int_equal(sockets[7].kind, 0xEE);

    ips[0].nx_ip_udp_port_table[1] = NX_NULL;
    ips[0].nx_ip_tcp_active_listen_requests = saved_active;
}

/* ---- churn ------------------------------------------------------------------------------ */

#define CHURN_UDP    24u
#define CHURN_TCP    8u
#define CHURN_ROUNDS 300u

/* Rounds the churn thread has finished (under the simulated interrupt lock). */
static UINT churn_rounds;

static UINT churn_rounds_get(void)
{
    TX_INTERRUPT_SAVE_AREA
    UINT rounds;

    TX_DISABLE
    rounds = churn_rounds;
    TX_RESTORE
    return rounds;
}

static void *churn(void *argument)
{
    static NX_UDP_SOCKET udp[CHURN_UDP];
    static NX_TCP_SOCKET server[CHURN_TCP], client[CHURN_TCP];
    NXD_ADDRESS peer4, peer6;
    UINT round = 0;
    UINT i;

    (void)argument;
    memset(&peer4, 0, sizeof(peer4));
    peer4.nxd_ip_version = NX_IP_VERSION_V4;
    peer4.nxd_ip_address.v4 = PEER_V4;
    memset(&peer6, 0, sizeof(peer6));
    peer6.nxd_ip_version = NX_IP_VERSION_V6;
    memcpy(peer6.nxd_ip_address.v6, peer_v6, sizeof(peer_v6));
    while (!race_is_done())
    {
        NX_IP *ip = &ips[round % 2u];

        for (i = 0; i < CHURN_UDP; i++)
        {
            (void)nx_udp_socket_create(ip, &udp[i], "u", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4);
            (void)nx_udp_socket_bind(&udp[i], 3000u + i * 32u, NX_NO_WAIT);
        }
        for (i = 0; i < CHURN_TCP; i++)
        {
            (void)nx_tcp_socket_create(ip, &server[i], "s", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024, NX_NULL,
                                       NX_NULL);
            (void)nx_tcp_server_socket_listen(ip, 4000u + i, &server[i], 1, NX_NULL);
            (void)nx_tcp_socket_create(ip, &client[i], "c", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 1024, NX_NULL,
                                       NX_NULL);
            (void)nx_tcp_client_socket_bind(&client[i], 5000u + i * 32u, NX_NO_WAIT);
            (void)sim_tcp_socket_establish(&client[i], &peer4, 443, 0);
            if (round % 2u == 1u)
            {
                (void)sim_tcp_socket_establish(&server[i], &peer6, 6000u + i, 0);
            }
        }
        /* Take them apart in another order. */
        for (i = 0; i < CHURN_UDP; i += 2u)
        {
            (void)nx_udp_socket_unbind(&udp[i]);
            (void)nx_udp_socket_delete(&udp[i]);
        }
        for (i = 0; i < CHURN_TCP; i++)
        {
            (void)nx_tcp_socket_disconnect(&client[i], NX_NO_WAIT);
            (void)nx_tcp_client_socket_unbind(&client[i]);
            (void)nx_tcp_socket_delete(&client[i]);
            (void)nx_tcp_socket_disconnect(&server[i], NX_NO_WAIT);
            (void)nx_tcp_server_socket_unlisten(ip, 4000u + i);
            (void)nx_tcp_server_socket_unaccept(&server[i]);
            (void)nx_tcp_socket_delete(&server[i]);
        }
        for (i = 1; i < CHURN_UDP; i += 2u)
        {
            (void)nx_udp_socket_unbind(&udp[i]);
            (void)nx_udp_socket_delete(&udp[i]);
        }
        round++;
        {
            TX_INTERRUPT_SAVE_AREA

            TX_DISABLE
            churn_rounds = round;
            TX_RESTORE
        }
    }
    return NULL;
}

/* Whether an entry is one the churn can have made. */
static int churn_entry_sound(const nxsm_socket *s)
{
    if (s->ip_index > 1u || s->reserved != 0u)
    {
        return 0;
    }
    switch (s->kind)
    {
    case NXSM_SOCKET_UDP_BOUND:
        return s->ip_version == 0u && s->local_port >= 3000u && s->local_port < 3000u + CHURN_UDP * 32u &&
               (s->local_port - 3000u) % 32u == 0u;
    case NXSM_SOCKET_TCP_LISTEN:
        return s->ip_version == 0u && s->local_port >= 4000u && s->local_port < 4000u + CHURN_TCP;
    case NXSM_SOCKET_TCP_ESTABLISHED:
        if (s->ip_version == 4u)
        {
            return s->remote_port == 443u && memcmp(s->remote_address, peer_v4_wire, 4) == 0;
        }
        return s->ip_version == 6u && s->local_port >= 4000u && s->local_port < 4000u + CHURN_TCP &&
               memcmp(s->remote_address, peer_v6_wire, 16) == 0;
    default:
        return 0;
    }
}

static void test_sockets_churn_while_scanning(void **state)
{
    nxsm_socket sockets[17];
    nxsm_inventory_scan scan;
    pthread_t thread;
    uint32_t i;
    uint32_t round;
    uint32_t most = 0;

    (void)state;
    two_ips_hooked();
    race_set_done(0);
    churn_rounds = 0;
    assert_int_equal(pthread_create(&thread, NULL, churn, NULL), 0);
    /* At least 3000 scans, and on until the churn has gone round CHURN_ROUNDS times. */
    for (round = 0; round < 3000u || churn_rounds_get() < CHURN_ROUNDS; round++)
    {
        memset(sockets, 0xEE, sizeof(sockets));
        scan = scan_into(sockets, 16);
        assert_true(scan.found <= CHURN_UDP + 3u * CHURN_TCP);
        assert_int_equal(scan.ips_unhooked, 0);
        for (i = 0; i < scan.found && i < 16u; i++)
        {
            assert_true(churn_entry_sound(&sockets[i]));
        }
        assert_int_equal(sockets[16].kind, 0xEE);
        most = (scan.found > most) ? scan.found : most;
        if (round % 64u == 0u)
        {
            tx_thread_relinquish();
        }
    }
    race_set_done(1);
    assert_int_equal(pthread_join(thread, NULL), 0);
    print_message("%u scans, %u churn rounds, most sockets in one scan: %u\n", (unsigned)round,
                  (unsigned)churn_rounds_get(), (unsigned)most);
    assert_true(most > 0u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reports_listeners_udp_and_connections, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_more_sockets_than_room, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_unhooked_ips_and_replaced_hooks, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_held_mutex_skips_that_ip, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_core_reads_through_the_installed_source, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_corrupt_lists_end_the_walk, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_sockets_churn_while_scanning, fresh, cleanup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
