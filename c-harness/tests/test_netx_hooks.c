/*
 * NetX Duo packet hooks of the shim (shim/nxsm_netx_hooks.c), driven through the drop-in
 * enable/disable and the simulator's NetX receive/send paths (sim_ip_receive/sim_ip_send):
 * chaining to application filters and receive routines per IP, exact restore on disable,
 * replaced hooks left in place, enable/disable under traffic, the two capture modes,
 * packet chains whose transport header lies beyond the first buffer, the IP table limit,
 * and the ring watermark waking the cloud thread.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nxsm_test_support.h"

#include "nx_azure_iot_security_module.h"
#include "nx_ip.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"
#include "test_packets.h"
#include "sim_control.h"

#define ISM_NAME "Azure IoT Security Module"
#define MAX_IPS  6

/* Device addresses (host order for NetX) and peers. */
#define DEV_V4   0xC0000201UL /* 192.0.2.1/24 */
#define PEER_V4  0xC6336407UL /* 198.51.100.7 */
#define OTHER_V4 0xC0000263UL /* 192.0.2.99: same subnet, not us */
#define BCAST_V4 0xC00002FFUL /* 192.0.2.255 */
static const UCHAR dev_v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const UCHAR peer_v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static NX_AZURE_IOT iot;
static NX_IP ips[MAX_IPS];

/* ---- packets ------------------------------------------------------------------------------ */

/* TCP segments here are SYN+ACK; the layout is test_packets.h's. */
#define SYN_ACK 0x12u

/* IPv4 datagram; frag is the flags+offset field. Returns the total length. */
static ULONG ipv4(UCHAR *out, ULONG src, ULONG dst, UCHAR proto, ULONG sport, ULONG dport, ULONG payload, ULONG frag)
{
    return tp_ipv4(out, (uint32_t)src, (uint32_t)dst, proto, (uint32_t)sport, (uint32_t)dport, (uint32_t)payload,
                   (uint32_t)frag, SYN_ACK);
}

/* IPv6 datagram, optionally behind a hop-by-hop header of hbh_len bytes (8, 16, ...). */
static ULONG ipv6(UCHAR *out, const UCHAR *src, const UCHAR *dst, UCHAR proto, ULONG sport, ULONG dport, ULONG payload,
                  ULONG hbh_len)
{
    return tp_ipv6(out, src, dst, proto, (uint32_t)sport, (uint32_t)dport, (uint32_t)payload, (uint32_t)hbh_len,
                   SYN_ACK);
}

/* ---- application functions the hooks must chain to ---------------------------------------- */

static ULONG user_filter_calls;
static ULONG user_filter_out_calls;
static UINT user_filter_verdict;

static UINT user_filter(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction)
{
    (void)ip_ptr;
    (void)packet_ptr;
    user_filter_calls++;
    if (direction == NX_IP_PACKET_OUT)
    {
        user_filter_out_calls++;
    }
    return user_filter_verdict;
}

static UINT legacy_filter(VOID *ip_header, UINT direction)
{
    (void)ip_header;
    (void)direction;
    return NX_SUCCESS;
}

/* Per-IP TCP and UDP routines: which IP they were called for. */
static ULONG user_receive_calls[MAX_IPS][2];

static void user_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT protocol)
{
    ULONG i;

    for (i = 0; i < MAX_IPS; i++)
    {
        if (ip_ptr == &ips[i])
        {
            user_receive_calls[i][protocol]++;
        }
    }
    (void)nx_packet_release(packet_ptr);
}

static void user_tcp_0(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    assert_ptr_equal(ip_ptr, &ips[0]);
    user_receive(ip_ptr, packet_ptr, 0);
}

static void user_tcp_1(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    assert_ptr_equal(ip_ptr, &ips[1]);
    user_receive(ip_ptr, packet_ptr, 0);
}

static void user_udp_1(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    assert_ptr_equal(ip_ptr, &ips[1]);
    user_receive(ip_ptr, packet_ptr, 1);
}

/* An application filter installed after the module, chaining to whatever it replaced. */
static UINT (*wrapping_saved)(NX_IP *, NX_PACKET *, UINT);
static ULONG wrapping_calls;

static UINT wrapping_filter(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction)
{
    wrapping_calls++;
    return (wrapping_saved != NX_NULL) ? wrapping_saved(ip_ptr, packet_ptr, direction) : NX_SUCCESS;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static nxsm_netx_hook_status hook_status(void)
{
    nxsm_netx_hook_status status;

    memset(&status, 0xA5, sizeof(status));
    nxsm_netx_hook_status_get(&status);
    return status;
}

static void set_mode(uint32_t mode)
{
    nxsm_config config;

    assert_int_equal(nxsm_config_default(&config), NXSM_OK);
    config.capture_mode = mode;
    assert_int_equal(nxsm_netx_config_set(&config), NXSM_OK);
}

/* Creates ips[index] with the device addresses and the given transports. */
static void make_ip(ULONG index, UINT tcp, UINT udp, UINT icmp)
{
    NXD_ADDRESS v6;

    memset(&ips[index], 0, sizeof(ips[index]));
    assert_int_equal(sim_ip_create(&ips[index], (CHAR *)"ip"), NX_SUCCESS);
    assert_int_equal(nx_ip_interface_address_set(&ips[index], 0, DEV_V4, 0xFFFFFF00UL), NX_SUCCESS);
    memset(&v6, 0, sizeof(v6));
    v6.nxd_ip_version = NX_IP_VERSION_V6;
    v6.nxd_ip_address.v6[0] = 0x20010db8UL;
    v6.nxd_ip_address.v6[3] = 1;
    assert_int_equal(nxd_ipv6_address_set(&ips[index], 0, &v6, 64, NX_NULL), NX_SUCCESS);
    if (tcp)
    {
        assert_int_equal(nx_tcp_enable(&ips[index]), NX_SUCCESS);
    }
    if (udp)
    {
        assert_int_equal(nx_udp_enable(&ips[index]), NX_SUCCESS);
    }
    if (icmp)
    {
        assert_int_equal(nxd_icmp_enable(&ips[index]), NX_SUCCESS);
    }
}

/* Every hookable pointer of an IP. */
typedef struct
{
    UINT (*extended)(NX_IP *, NX_PACKET *, UINT);
    UINT (*legacy)(VOID *, UINT);
    void (*tcp)(NX_IP *, NX_PACKET *);
    void (*udp)(NX_IP *, NX_PACKET *);
    void (*icmp)(NX_IP *, NX_PACKET *);
    void (*icmpv6)(NX_IP *, NX_PACKET *);
} ip_pointers;

static ip_pointers pointers_of(const NX_IP *ip_ptr)
{
    ip_pointers p;

    p.extended = ip_ptr->nx_ip_packet_filter_extended;
    p.legacy = ip_ptr->nx_ip_packet_filter;
    p.tcp = ip_ptr->nx_ip_tcp_packet_receive;
    p.udp = ip_ptr->nx_ip_udp_packet_receive;
    p.icmp = ip_ptr->nx_ip_icmp_packet_receive;
    p.icmpv6 = ip_ptr->nx_ip_icmpv6_packet_process;
    return p;
}

static void assert_pointers_equal(ip_pointers a, ip_pointers b)
{
    assert_true(a.extended == b.extended);
    assert_true(a.legacy == b.legacy);
    assert_true(a.tcp == b.tcp);
    assert_true(a.udp == b.udp);
    assert_true(a.icmp == b.icmp);
    assert_true(a.icmpv6 == b.icmpv6);
}

static void enable(void)
{
    assert_int_equal(nx_azure_iot_security_module_enable(&iot), NX_AZURE_IOT_SUCCESS);
}

static void disable(void)
{
    assert_int_equal(nx_azure_iot_security_module_disable(&iot), NX_AZURE_IOT_SUCCESS);
}

/* Drains the ring through the cloud tick. */
static void drain(void)
{
    sim_cloud_tick();
}

/* The flow of the current window with these ports and protocol (0 TCP, 1 UDP, 2 ICMP)
   and, if local is not NULL, this local address (first bytes). */
static UINT find_flow_at(UCHAR version, UCHAR protocol, uint16_t local_port, uint16_t remote_port, const UCHAR *local,
                         nxsm_flow *out)
{
    nxsm_flow flows[32];
    size_t written = 0;
    size_t i;

    assert_int_equal(nxsm_read_flows(0, flows, 32, &written), NXSM_OK);
    for (i = 0; i < written; i++)
    {
        if (flows[i].ip_version == version && flows[i].protocol == protocol && flows[i].local_port == local_port &&
            flows[i].remote_port == remote_port &&
            (local == NX_NULL || memcmp(flows[i].local_address, local, version == 4 ? 4 : 16) == 0))
        {
            *out = flows[i];
            return NX_TRUE;
        }
    }
    return NX_FALSE;
}

static UINT find_flow(UCHAR version, UCHAR protocol, uint16_t local_port, uint16_t remote_port, nxsm_flow *out)
{
    return find_flow_at(version, protocol, local_port, remote_port, NX_NULL, out);
}

static size_t flow_count(void)
{
    nxsm_flow flows[64];
    size_t written = 0;

    assert_int_equal(nxsm_read_flows(0, flows, 64, &written), NXSM_OK);
    return written;
}

static int fresh(void **state)
{
    (void)state;
    (void)nx_azure_iot_security_module_disable(NX_NULL);
    (void)nxsm_stop();
    sim_reset();
    assert_int_equal(nxsm_netx_config_set(NX_NULL), NXSM_OK);
    memset(&iot, 0, sizeof(iot));
    memset(user_receive_calls, 0, sizeof(user_receive_calls));
    user_filter_calls = 0;
    user_filter_out_calls = 0;
    user_filter_verdict = NX_SUCCESS;
    wrapping_saved = NX_NULL;
    wrapping_calls = 0;
    assert_int_equal(sim_azure_iot_init(&iot, sim_unix_time_get), NX_AZURE_IOT_SUCCESS);
    return 0;
}

static int cleanup(void **state)
{
    ULONG i;

    (void)state;
    assert_int_equal(nx_azure_iot_security_module_disable(NX_NULL), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(hook_status().ip_hooked, 0);
    for (i = 0; i < MAX_IPS; i++)
    {
        if (ips[i].nx_ip_id == NX_IP_ID)
        {
            /* Nothing of the module may stay in any IP. */
            assert_true(ips[i].nx_ip_packet_filter_extended != NX_NULL
                            ? ips[i].nx_ip_packet_filter_extended == user_filter ||
                                  ips[i].nx_ip_packet_filter_extended == wrapping_filter
                            : 1);
        }
    }
    (void)sim_azure_iot_deinit(&iot);
    sim_reset();
    assert_int_equal(nxsm_netx_config_set(NX_NULL), NXSM_OK);
    return 0;
}

/* ---- chaining ------------------------------------------------------------------------------ */

/* The application's filter keeps being called, its verdict is what NetX sees, and it can
   still drop; the module records what the stack offered either way. */
static void test_filter_chains_to_user_filter(void **state)
{
    UCHAR packet[128];
    ULONG length;
    nxsm_stats before;
    ip_pointers original;

    (void)state;
    make_ip(0, 1, 1, 1);
    ips[0].nx_ip_packet_filter_extended = user_filter;
    ips[0].nx_ip_packet_filter = legacy_filter;
    original = pointers_of(&ips[0]);
    enable();
    assert_true(ips[0].nx_ip_packet_filter_extended != user_filter);
    assert_true(ips[0].nx_ip_packet_filter == legacy_filter); /* the legacy filter is not ours */

    before = stats_now();
    length = ipv4(packet, DEV_V4, PEER_V4, NX_PROTOCOL_TCP, 50000, 8883, 10, 0);
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
    assert_int_equal(user_filter_out_calls, 1);

    user_filter_verdict = NX_NOT_SUCCESSFUL;
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_FILTER_DROPPED);
    assert_int_equal(user_filter_out_calls, 2);
    /* Inbound in unicast-only mode: a packet the application filter drops never reaches
       a transport, so it is not recorded. */
    length = ipv4(packet, PEER_V4, DEV_V4, NX_PROTOCOL_TCP, 8883, 50000, 10, 0);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 0), SIM_IP_FILTER_DROPPED);
    assert_int_equal(user_filter_calls, 3);
    user_filter_verdict = NX_SUCCESS;
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 0), SIM_IP_DELIVERED);
    assert_int_equal(user_filter_calls, 4);

    drain();
    assert_int_equal(stats_now().packets_seen - before.packets_seen, 3);
    assert_int_equal(stats_now().packets_counted - before.packets_counted, 3);
    disable();
    assert_pointers_equal(pointers_of(&ips[0]), original);
}

/* Two IPs with different routines: each wrapper hands a packet to the routine saved for
   the IP it arrived on. */
static void test_receive_chained_per_ip(void **state)
{
    UCHAR packet[128];
    ULONG length;
    nxsm_flow flow;

    (void)state;
    make_ip(0, 0, 0, 0);
    make_ip(1, 0, 0, 0);
    ips[0].nx_ip_tcp_packet_receive = user_tcp_0;
    ips[1].nx_ip_tcp_packet_receive = user_tcp_1;
    ips[1].nx_ip_udp_packet_receive = user_udp_1;
    enable();
    assert_int_equal(hook_status().ip_hooked, 2);
    assert_true(ips[0].nx_ip_tcp_packet_receive != user_tcp_0);
    assert_true(ips[0].nx_ip_tcp_packet_receive == ips[1].nx_ip_tcp_packet_receive);

    length = ipv4(packet, PEER_V4, DEV_V4, NX_PROTOCOL_TCP, 8883, 50000, 0, 0);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 0), SIM_IP_DELIVERED);
    assert_int_equal(sim_ip_receive(&ips[1], packet, length, 0), SIM_IP_DELIVERED);
    assert_int_equal(sim_ip_receive(&ips[1], packet, length, 0), SIM_IP_DELIVERED);
    length = ipv4(packet, PEER_V4, DEV_V4, NX_PROTOCOL_UDP, 53, 40000, 4, 0);
    assert_int_equal(sim_ip_receive(&ips[1], packet, length, 0), SIM_IP_DELIVERED);
    /* UDP is not enabled on ips[0]: NetX drops it, no wrapper was installed there. */
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 0), SIM_IP_NO_TRANSPORT);
    assert_null(ips[0].nx_ip_udp_packet_receive);

    assert_int_equal(user_receive_calls[0][0], 1);
    assert_int_equal(user_receive_calls[1][0], 2);
    assert_int_equal(user_receive_calls[1][1], 1);
    assert_int_equal(user_receive_calls[0][1], 0);

    /* Received at transport dispatch (host-order header): local = destination. */
    drain();
    assert_true(find_flow(4, 0, 50000, 8883, &flow));
    assert_int_equal(flow.packets_in, 3);
    assert_int_equal(flow.bytes_in, 3u * 20u);
    assert_memory_equal(flow.local_address, ((const UCHAR[]){192, 0, 2, 1}), 4);
    assert_memory_equal(flow.remote_address, ((const UCHAR[]){198, 51, 100, 7}), 4);
    assert_true(find_flow(4, 1, 40000, 53, &flow));
    assert_int_equal(flow.bytes_in, 12);
    disable();
    assert_true(ips[0].nx_ip_tcp_packet_receive == user_tcp_0);
    assert_true(ips[1].nx_ip_tcp_packet_receive == user_tcp_1);
    assert_true(ips[1].nx_ip_udp_packet_receive == user_udp_1);
}

/* Protocols that are not enabled stay NULL through enable and disable. */
static void test_disabled_protocols_stay_null(void **state)
{
    (void)state;
    make_ip(0, 1, 0, 0);
    enable();
    assert_non_null(ips[0].nx_ip_tcp_packet_receive);
    assert_null(ips[0].nx_ip_udp_packet_receive);
    assert_null(ips[0].nx_ip_icmp_packet_receive);
    assert_null(ips[0].nx_ip_icmpv6_packet_process);
    assert_non_null(ips[0].nx_ip_packet_filter_extended);
    disable();
    assert_null(ips[0].nx_ip_udp_packet_receive);
    assert_null(ips[0].nx_ip_icmp_packet_receive);
    assert_null(ips[0].nx_ip_icmpv6_packet_process);
    assert_null(ips[0].nx_ip_packet_filter_extended);
}

/* Disable puts back exactly the pointers that were there, on every IP, with and without
   application functions, and repeatedly. */
static void test_disable_restores_exact_pointers(void **state)
{
    ip_pointers before[3];
    ULONG i;
    ULONG round;

    (void)state;
    make_ip(0, 1, 1, 1);
    make_ip(1, 1, 0, 1);
    make_ip(2, 0, 0, 0);
    ips[1].nx_ip_packet_filter_extended = user_filter;
    ips[2].nx_ip_tcp_packet_receive = user_tcp_0;
    for (i = 0; i < 3; i++)
    {
        before[i] = pointers_of(&ips[i]);
    }
    for (round = 0; round < 3; round++)
    {
        enable();
        for (i = 0; i < 3; i++)
        {
            assert_true(ips[i].nx_ip_packet_filter_extended != before[i].extended);
        }
        disable();
        for (i = 0; i < 3; i++)
        {
            assert_pointers_equal(pointers_of(&ips[i]), before[i]);
        }
    }
    assert_int_equal(hook_status().hooks_left_replaced, 0);
}

/* The application replaced the module's filter (chaining to it): disable leaves the
   application's filter in place, the chain keeps working, and a new enable neither loops
   nor counts twice. */
static void test_replaced_hook_is_left_in_place(void **state)
{
    UCHAR packet[128];
    ULONG length;
    nxsm_stats before;
    nxsm_netx_hook_status status;

    (void)state;
    make_ip(0, 1, 1, 1);
    ips[0].nx_ip_packet_filter_extended = user_filter;
    enable();
    wrapping_saved = ips[0].nx_ip_packet_filter_extended;
    ips[0].nx_ip_packet_filter_extended = wrapping_filter;
    status = hook_status();
    disable();
    assert_true(ips[0].nx_ip_packet_filter_extended == wrapping_filter);
    assert_int_equal(hook_status().hooks_left_replaced, status.hooks_left_replaced + 1u);

    /* Stopped: the chain still reaches the application's first filter, nothing recorded. */
    before = stats_now();
    length = ipv4(packet, DEV_V4, PEER_V4, NX_PROTOCOL_UDP, 40000, 53, 4, 0);
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
    assert_int_equal(wrapping_calls, 1);
    assert_int_equal(user_filter_out_calls, 1);
    assert_int_equal(stats_now().packets_seen, before.packets_seen);

    /* Enabled again: not stacked on the application's filter; recorded once per packet. */
    enable();
    assert_true(ips[0].nx_ip_packet_filter_extended == wrapping_filter);
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
    assert_int_equal(wrapping_calls, 2);
    assert_int_equal(user_filter_out_calls, 2);
    drain();
    assert_int_equal(stats_now().packets_seen - before.packets_seen, 1);
    assert_int_equal(stats_now().packets_counted - before.packets_counted, 1);

    /* The application puts its original filter back: the module's is gone from the chain. */
    disable();
    ips[0].nx_ip_packet_filter_extended = user_filter;
    enable();
    assert_true(ips[0].nx_ip_packet_filter_extended != user_filter);
    disable();
    assert_true(ips[0].nx_ip_packet_filter_extended == user_filter);
}

/* ---- enable/disable under traffic ---------------------------------------------------------- */

/* Shared with the traffic thread: atomics, so a race report under TSan is about the code
   under test. */
static int traffic_stop;
static unsigned long traffic_rounds;

static void *traffic_thread(void *arg)
{
    UCHAR out[128];
    UCHAR in[128];
    UCHAR in6[160];
    ULONG out_length = ipv4(out, DEV_V4, PEER_V4, NX_PROTOCOL_TCP, 50000, 8883, 32, 0);
    ULONG in_length = ipv4(in, PEER_V4, DEV_V4, NX_PROTOCOL_UDP, 53, 40000, 16, 0);
    ULONG in6_length = ipv6(in6, peer_v6, dev_v6, NX_PROTOCOL_ICMPV6, 0, 0, 8, 0);

    (void)arg;
    while (!__atomic_load_n(&traffic_stop, __ATOMIC_ACQUIRE))
    {
        (void)sim_ip_send(&ips[0], out, out_length, 24);
        (void)sim_ip_receive(&ips[0], in, in_length, 0);
        (void)sim_ip_receive(&ips[0], in6, in6_length, 0);
        (void)__atomic_fetch_add(&traffic_rounds, 1ul, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void test_thousand_cycles_under_traffic(void **state)
{
    pthread_t thread;
    ip_pointers original;
    nxsm_stats before;
    nxsm_stats after;
    sim_ip_counters sim_before;
    sim_ip_counters sim_after;
    UCHAR packet[128];
    ULONG length;
    ULONG i;

    (void)state;
    make_ip(0, 1, 1, 1);
    ips[0].nx_ip_packet_filter_extended = user_filter;
    original = pointers_of(&ips[0]);
    __atomic_store_n(&traffic_stop, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&traffic_rounds, 0ul, __ATOMIC_RELEASE);
    assert_int_equal(pthread_create(&thread, NULL, traffic_thread, NULL), 0);
    for (i = 0; i < 1000u; i++)
    {
        unsigned long rounds = __atomic_load_n(&traffic_rounds, __ATOMIC_ACQUIRE);

        enable();
        /* Let traffic run while hooked (each cycle waits for the next round of it). */
        while (__atomic_load_n(&traffic_rounds, __ATOMIC_ACQUIRE) == rounds)
        {
            sched_yield();
        }
        if ((i % 100u) == 0u)
        {
            drain();
        }
        disable();
        assert_pointers_equal(pointers_of(&ips[0]), original);
    }
    __atomic_store_n(&traffic_stop, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(__atomic_load_n(&traffic_rounds, __ATOMIC_ACQUIRE) > 0u);
    assert_pointers_equal(pointers_of(&ips[0]), original);
    /* A capture already past the open check when the last disable stopped the core stores
       its packet after that stop's drain: it waits in the ring (counted in ring_waiting)
       for the next start, whose drain counts it. */
    assert_true(stats_now().ring_waiting <= 1u);
    enable();
    drain();
    disable();
    assert_int_equal(stats_now().ring_waiting, 0);

    /* Every packet the stack handled was given back exactly once. */
    sim_ip_counters_get(&sim_before);
    assert_int_equal(sim_before.released, sim_before.received + sim_before.sent);

    /* Afterwards capture works as on the first day (the original's pool leak, D1, made it
       record nothing after a stop). */
    enable();
    before = stats_now();
    length = ipv4(packet, DEV_V4, PEER_V4, NX_PROTOCOL_TCP, 50001, 443, 0, 0);
    for (i = 0; i < 100u; i++)
    {
        assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
        drain();
    }
    after = stats_now();
    assert_int_equal(after.packets_counted - before.packets_counted, 100);
    assert_int_equal(after.ring_dropped, before.ring_dropped);
    disable();
    sim_ip_counters_get(&sim_after);
    assert_int_equal(sim_after.released, sim_after.received + sim_after.sent);
    assert_pointers_equal(pointers_of(&ips[0]), original);
}

/* ---- capture modes ------------------------------------------------------------------------- */

/* Sends the same mix through both modes; returns packets recorded. */
static ULONG mixed_inbound(void)
{
    UCHAR packet[256];
    ULONG length;
    nxsm_stats before = stats_now();

    /* For us (TCP), broadcast UDP, another host's packet, a non-first fragment,
       and ICMPv6 for us. */
    length = ipv4(packet, PEER_V4, DEV_V4, NX_PROTOCOL_TCP, 8883, 50000, 0, 0);
    (void)sim_ip_receive(&ips[0], packet, length, 0);
    length = ipv4(packet, PEER_V4, BCAST_V4, NX_PROTOCOL_UDP, 67, 68, 10, 0);
    (void)sim_ip_receive(&ips[0], packet, length, 0);
    length = ipv4(packet, PEER_V4, OTHER_V4, NX_PROTOCOL_TCP, 8883, 50000, 0, 0);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 0), SIM_IP_NOT_FOR_US);
    length = ipv4(packet, PEER_V4, DEV_V4, NX_PROTOCOL_UDP, 53, 40000, 10, 0x0010);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 0), SIM_IP_FRAGMENT_HELD);
    length = ipv6(packet, peer_v6, dev_v6, NX_PROTOCOL_ICMPV6, 0, 0, 8, 0);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 0), SIM_IP_DELIVERED);
    drain();
    return stats_now().packets_counted - before.packets_counted;
}

static void test_unicast_only_records_what_netx_accepts(void **state)
{
    nxsm_flow flow;
    nxsm_stats before;

    (void)state;
    make_ip(0, 1, 1, 1);
    enable();
    assert_int_equal(hook_status().capture_mode, NXSM_CAPTURE_UNICAST_ONLY);
    before = stats_now();
    /* TCP for us, broadcast UDP, ICMPv6 for us: recorded once each. */
    assert_int_equal(mixed_inbound(), 3);
    assert_int_equal(stats_now().packets_seen - before.packets_seen, 3);
    assert_true(find_flow(6, 2, 0, 0, &flow));
    assert_int_equal(flow.packets_in, 1);
    assert_int_equal(flow.bytes_in, 16);
    assert_memory_equal(flow.local_address, dev_v6, 16);
    assert_true(find_flow(4, 1, 68, 67, &flow));
    assert_memory_equal(flow.local_address, ((const UCHAR[]){192, 0, 2, 255}), 4);
}

static void test_ip_input_records_every_inbound_packet(void **state)
{
    ip_pointers original;
    nxsm_stats before;
    nxsm_flow flow;

    (void)state;
    make_ip(0, 1, 1, 1);
    original = pointers_of(&ips[0]);
    set_mode(NXSM_CAPTURE_IP_INPUT);
    enable();
    assert_int_equal(hook_status().capture_mode, NXSM_CAPTURE_IP_INPUT);
    /* Only the filter: receive routines are not wrapped in this mode. */
    assert_true(ips[0].nx_ip_tcp_packet_receive == original.tcp);
    assert_true(ips[0].nx_ip_udp_packet_receive == original.udp);
    assert_true(ips[0].nx_ip_icmp_packet_receive == original.icmp);
    assert_true(ips[0].nx_ip_icmpv6_packet_process == original.icmpv6);
    before = stats_now();
    /* All five seen; the fragment tail is well-formed but has nothing to record. */
    assert_int_equal(mixed_inbound(), 4);
    assert_int_equal(stats_now().packets_seen - before.packets_seen, 5);
    assert_int_equal(stats_now().ignored - before.ignored, 1);
    /* Another host's packet, seen at IP input: recorded with that host as "local". */
    assert_true(find_flow_at(4, 0, 50000, 8883, (const UCHAR[]){192, 0, 2, 99}, &flow));
    assert_int_equal(flow.packets_in, 1);
    disable();
    assert_pointers_equal(pointers_of(&ips[0]), original);
}

/* ---- packet chains ------------------------------------------------------------------------- */

/* The transport header beyond the first buffer: counted as malformed, never read (the
   simulator's buffers end exactly at nx_packet_append_ptr, so AddressSanitizer would see
   a read past it). */
static void test_transport_beyond_first_buffer_is_malformed(void **state)
{
    UCHAR packet[256];
    ULONG length;
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    make_ip(0, 1, 1, 1);
    set_mode(NXSM_CAPTURE_IP_INPUT);
    enable();
    before = stats_now();
    /* Out: IPv4 header alone in the first buffer; IPv6 header alone; IPv6 with the TCP
       header split across buffers. */
    length = ipv4(packet, DEV_V4, PEER_V4, NX_PROTOCOL_TCP, 50000, 8883, 100, 0);
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 20), SIM_IP_SENT);
    length = ipv6(packet, dev_v6, peer_v6, NX_PROTOCOL_UDP, 40000, 53, 100, 0);
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 40), SIM_IP_SENT);
    length = ipv6(packet, dev_v6, peer_v6, NX_PROTOCOL_TCP, 40000, 443, 100, 0);
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 50), SIM_IP_SENT);
    /* In (ip-input): a hop-by-hop header that ends beyond the first buffer. */
    length = ipv6(packet, peer_v6, dev_v6, NX_PROTOCOL_UDP, 53, 40000, 100, 16);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 48), SIM_IP_INVALID);
    /* The same packets whole are fine. */
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
    drain();
    after = stats_now();
    assert_int_equal(after.packets_seen - before.packets_seen, 5);
    assert_int_equal(after.malformed - before.malformed, 4);
    assert_int_equal(after.packets_counted - before.packets_counted, 1);
    disable();

    /* Unicast-only: NetX delivers an IPv4 packet whose first buffer holds the IP header and
       4 transport bytes; the wrapper sees the host-order header and too few bytes. */
    set_mode(NXSM_CAPTURE_UNICAST_ONLY);
    enable();
    before = stats_now();
    length = ipv4(packet, PEER_V4, DEV_V4, NX_PROTOCOL_TCP, 8883, 50000, 100, 0);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 24), SIM_IP_DELIVERED);
    length = ipv6(packet, peer_v6, dev_v6, NX_PROTOCOL_TCP, 443, 40000, 100, 8);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 60), SIM_IP_DELIVERED);
    /* Chained but with the headers in the first buffer: recorded with the full length. */
    length = ipv4(packet, PEER_V4, DEV_V4, NX_PROTOCOL_UDP, 53, 40000, 100, 0);
    assert_int_equal(sim_ip_receive(&ips[0], packet, length, 28), SIM_IP_DELIVERED);
    drain();
    after = stats_now();
    assert_int_equal(after.malformed - before.malformed, 2);
    assert_int_equal(after.packets_counted - before.packets_counted, 1);
    {
        nxsm_flow flow;

        assert_true(find_flow(4, 1, 40000, 53, &flow));
        assert_int_equal(flow.bytes_in, 108);
    }
}

/* ---- limits and failures ------------------------------------------------------------------- */

/* More IPs than the table holds: the extra ones are left alone and counted. */
static void test_more_ips_than_table(void **state)
{
    ip_pointers before[MAX_IPS];
    nxsm_netx_hook_status status;
    ULONG hooked = 0;
    ULONG i;

    (void)state;
    for (i = 0; i < MAX_IPS; i++)
    {
        make_ip(i, 1, 1, 1);
        before[i] = pointers_of(&ips[i]);
    }
    enable();
    status = hook_status();
    assert_int_equal(status.ip_hooked + status.ip_not_hooked, MAX_IPS);
    assert_int_equal(status.ip_hooked, MAX_IPS < 4 ? MAX_IPS : 4);
    for (i = 0; i < MAX_IPS; i++)
    {
        if (ips[i].nx_ip_packet_filter_extended != before[i].extended)
        {
            hooked++;
        }
        else
        {
            assert_pointers_equal(pointers_of(&ips[i]), before[i]);
        }
    }
    assert_int_equal(hooked, status.ip_hooked);
    disable();
    for (i = 0; i < MAX_IPS; i++)
    {
        assert_pointers_equal(pointers_of(&ips[i]), before[i]);
    }
    assert_int_equal(hook_status().ip_hooked, 0);
}

/* A deleted IP is forgotten; its table entry serves a new IP. */
static void test_deleted_ip_frees_its_entry(void **state)
{
    ULONG i;

    (void)state;
    for (i = 0; i < 4; i++)
    {
        make_ip(i, 1, 0, 0);
    }
    enable();
    disable();
    assert_int_equal(sim_ip_delete(&ips[0]), NX_SUCCESS);
    make_ip(4, 1, 0, 0);
    enable();
    assert_int_equal(hook_status().ip_hooked, 4);
    assert_int_equal(hook_status().ip_not_hooked, 0);
    assert_true(ips[4].nx_ip_packet_filter_extended != NX_NULL);
    disable();
    assert_null(ips[4].nx_ip_packet_filter_extended);
}

/* A failed enable leaves no hook (and no running core). */
static void test_failed_enable_leaves_no_hook(void **state)
{
    ip_pointers original;
    uint32_t core_state = 99;

    (void)state;
    make_ip(0, 1, 1, 1);
    ips[0].nx_ip_packet_filter_extended = user_filter;
    original = pointers_of(&ips[0]);
    sim_cloud_fail_next_register(ISM_NAME, NX_NOT_SUCCESSFUL);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot), NX_NOT_SUCCESSFUL);
    assert_pointers_equal(pointers_of(&ips[0]), original);
    assert_int_equal(nxsm_get_state(&core_state), NXSM_OK);
    assert_int_equal(core_state, NXSM_STATE_NOT_INITIALIZED);
    /* The core is stopped again, so the native API can set its own ring callback. */
    assert_int_equal(nxsm_set_ring_callback(NX_NULL, NX_NULL, 0), NXSM_OK);
    sim_set_unix_time(0, 0);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot), NX_AZURE_IOT_FAILURE);
    assert_pointers_equal(pointers_of(&ips[0]), original);
    sim_set_unix_time(1, SIM_DEFAULT_UNIX_TIME);
}

/* ---- ring watermark ------------------------------------------------------------------------ */

/* Half a ring of records sets the module's own cloud event; the cloud thread drains on it
   before the ring fills. */
static void test_ring_watermark_wakes_cloud_thread(void **state)
{
    nxsm_capacities capacities;
    UCHAR packet[128];
    ULONG length;
    ULONG calls;
    ULONG i;
    nxsm_stats stats;

    (void)state;
    make_ip(0, 1, 1, 1);
    enable();
    capacities.struct_size = (uint32_t)sizeof(capacities);
    assert_int_equal(nxsm_get_capacities(&capacities), NXSM_OK);
    length = ipv4(packet, DEV_V4, PEER_V4, NX_PROTOCOL_UDP, 40000, 53, 4, 0);
    calls = sim_cloud_process_calls();
    for (i = 0; i + 1u < capacities.ring_slots / 2u; i++)
    {
        assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
    }
    sim_cloud_process_events();
    assert_int_equal(sim_cloud_process_calls(), calls); /* below the watermark: no event */
    assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
    sim_cloud_process_events();
    assert_int_equal(sim_cloud_process_calls(), calls + 1u);
    stats = stats_now();
    assert_int_equal(stats.ring_waiting, 0);
    assert_int_equal(flow_count(), 1);

    /* Ten full rings' worth, handled as the cloud thread would: nothing dropped. */
    for (i = 0; i < 10u * capacities.ring_slots; i++)
    {
        assert_int_equal(sim_ip_send(&ips[0], packet, length, 0), SIM_IP_SENT);
        sim_cloud_process_events();
    }
    assert_int_equal(stats_now().ring_dropped, stats.ring_dropped);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filter_chains_to_user_filter, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_receive_chained_per_ip, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_disabled_protocols_stay_null, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_disable_restores_exact_pointers, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_replaced_hook_is_left_in_place, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_thousand_cycles_under_traffic, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_unicast_only_records_what_netx_accepts, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_ip_input_records_every_inbound_packet, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_transport_beyond_first_buffer_is_malformed, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_more_ips_than_table, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_deleted_ip_frees_its_entry, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_failed_enable_leaves_no_hook, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_ring_watermark_wakes_cloud_thread, fresh, cleanup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
