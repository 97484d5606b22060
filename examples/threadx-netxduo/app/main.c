/*
 * Two NetX Duo IP instances joined by NetX Duo's RAM network driver exchange known traffic:
 * over IPv4 UDP requests and replies, ICMP echo and one TCP connection, over IPv6 UDP. The
 * security module watches both, and the flows it counted are read back through the native
 * API and compared exactly: packets and IP payload bytes in each direction, addresses,
 * ports, protocol. UDP and ICMP against the numbers the application sent; every flow, TCP
 * included, against the application's own packet filter, which sees each IP packet as
 * NetX Duo sends and receives it (the module chains in front of it and must hand every
 * packet on). The native build then runs a second round in the ip-input capture mode.
 *
 *   EXAMPLE_DROP_IN   the module runs through the drop-in Azure IoT API (NetX Duo's Azure
 *                     IoT addon: nx_azure_iot_create, nx_azure_iot_security_module_enable);
 *                     otherwise through the native API (nxsm_start, nxsm_netx_hooks_install)
 *   EXAMPLE_BASELINE  the same application without the module (size reference)
 *
 * Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed"; the exit status
 * (semihosting) is 0 only when every check passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx_api.h"
#include "tx_api.h"
#ifndef EXAMPLE_BASELINE
#include "nx_security_module.h"
#include "nxsm_netx.h"
#endif
#ifdef EXAMPLE_DROP_IN
#include "nx_azure_iot.h"
#ifndef EXAMPLE_BASELINE
#include "nx_azure_iot_security_module.h"
#endif
#endif

#define START_TIME_S    1800000000u /* the example's wall clock at boot */
#define EXCHANGES       20u         /* UDP request + reply pairs over IPv4 */
#define EXCHANGES_V6    10u         /* and over IPv6 */
#define REQUEST         "0123456789"
#define REPLY           "abcdef"
#define PINGS           3u
#define PING_DATA       "ping"
#define CLIENT_PORT     5000u
#define SERVER_PORT     53u
#define UDP_HEADER      8u
#define ICMP_HEADER     8u
#define TCP_CLIENT_PORT 6000u
#define TCP_SERVER_PORT 80u
#define TCP_SEGMENTS    5u
#define TCP_SEGMENT     100u         /* bytes per segment the client sends */
#define TCP_REPLY       50u          /* bytes the server answers */
#define STACK_FILL      0xEFEFEFEFUL /* ThreadX fills every thread stack with it at creation */
#define CLIENT_ADDRESS  IP_ADDRESS(10, 0, 0, 1)
#define SERVER_ADDRESS  IP_ADDRESS(10, 0, 0, 2)
/* 2001:db8::1 and 2001:db8::2, as NetX Duo holds them (host-order words). */
#define CLIENT_V6             \
    {                         \
        0x20010DB8UL, 0, 0, 1 \
    } /* 2001:db8::1 */
#define SERVER_V6             \
    {                         \
        0x20010DB8UL, 0, 0, 2 \
    } /* 2001:db8::2 */
static const ULONG client_v6[4] = CLIENT_V6, server_v6[4] = SERVER_V6;

/* Waits of a working exchange end at once; the margin is for a slow or loaded host. */
#define WAIT (5u * NX_IP_PERIODIC_RATE)

#define LENGTH(text) ((ULONG)(sizeof(text) - 1u))

VOID _nx_ram_network_driver(NX_IP_DRIVER *driver_req_ptr);

static TX_THREAD app_thread, tcp_server_thread;
static TX_SEMAPHORE tcp_server_done;
static NX_PACKET_POOL pool;
static NX_IP client_ip, server_ip;
static NX_UDP_SOCKET client, server;
static NX_TCP_SOCKET tcp_client, tcp_server;
static ULONG pool_area[(32u * (1536u + sizeof(NX_PACKET))) / sizeof(ULONG)];
static ULONG client_ip_stack[2048 / sizeof(ULONG)], server_ip_stack[2048 / sizeof(ULONG)];
static ULONG client_arp[512 / sizeof(ULONG)], server_arp[512 / sizeof(ULONG)];
static ULONG app_stack[4096 / sizeof(ULONG)], tcp_server_stack[2048 / sizeof(ULONG)];
static unsigned passed, failed;
static volatile int tcp_server_ok;

/* The application's own count of the IP traffic of each (IP instance, protocol): a packet
   filter that reads the IPv4 header as NetX Duo sends and receives it. */
typedef struct
{
    ULONG packets_in, bytes_in, packets_out, bytes_out;
    UCHAR tcp_flags_in, tcp_flags_out;
    USHORT local_port, remote_port;
    ULONG local, remote;
} tally;
enum
{
    TALLY_TCP,
    TALLY_UDP,
    TALLY_ICMP,
    TALLY_UDP6,
    TALLY_PROTOCOLS
};
static tally tallies[2][TALLY_PROTOCOLS]; /* [client_ip, server_ip][protocol] */
static ULONG tally_other;                 /* packets of any other kind */

static UINT tally_filter(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction)
{
    const UCHAR *ip = packet_ptr->nx_packet_prepend_ptr;
    ULONG header_length, payload;
    const UCHAR *transport;
    tally *count;
    int out = direction == NX_IP_PACKET_OUT;

    if (packet_ptr->nx_packet_length >= 48u && (ip[0] >> 4) == 6u && ip[6] == 17u)
    {
        /* UDP over IPv6 (no extension header in this traffic); addresses are not kept. */
        count = &tallies[ip_ptr == &server_ip][TALLY_UDP6];
        payload = ((ULONG)ip[4] << 8) | ip[5];
        transport = ip + 40;
        if (out)
        {
            count->packets_out++;
            count->bytes_out += payload;
        }
        else
        {
            count->packets_in++;
            count->bytes_in += payload;
        }
        count->local_port = (USHORT)(out ? ((transport[0] << 8) | transport[1]) : ((transport[2] << 8) | transport[3]));
        count->remote_port =
            (USHORT)(out ? ((transport[2] << 8) | transport[3]) : ((transport[0] << 8) | transport[1]));
        return NX_SUCCESS;
    }
    if (packet_ptr->nx_packet_length < 20u || (ip[0] >> 4) != 4u)
    {
        tally_other++; /* any other IPv6 packet, e.g. neighbor discovery, is unexpected */
        return NX_SUCCESS;
    }
    header_length = (ULONG)(ip[0] & 0xFu) * 4u;
    payload = (((ULONG)ip[2] << 8) | ip[3]) - header_length;
    transport = ip + header_length;
    switch (ip[9])
    {
    case 6:
        count = &tallies[ip_ptr == &server_ip][TALLY_TCP];
        break;
    case 17:
        count = &tallies[ip_ptr == &server_ip][TALLY_UDP];
        break;
    case 1:
        count = &tallies[ip_ptr == &server_ip][TALLY_ICMP];
        break;
    default:
        tally_other++;
        return NX_SUCCESS;
    }
    if (out)
    {
        count->packets_out++;
        count->bytes_out += payload;
    }
    else
    {
        count->packets_in++;
        count->bytes_in += payload;
    }
    count->local = ((ULONG)ip[out ? 12 : 16] << 24) | ((ULONG)ip[out ? 13 : 17] << 16) |
                   ((ULONG)ip[out ? 14 : 18] << 8) | ip[out ? 15 : 19];
    count->remote = ((ULONG)ip[out ? 16 : 12] << 24) | ((ULONG)ip[out ? 17 : 13] << 16) |
                    ((ULONG)ip[out ? 18 : 14] << 8) | ip[out ? 19 : 15];
    if (ip[9] != 1)
    {
        USHORT source = (USHORT)((transport[0] << 8) | transport[1]);
        USHORT destination = (USHORT)((transport[2] << 8) | transport[3]);
        count->local_port = out ? source : destination;
        count->remote_port = out ? destination : source;
    }
    if (ip[9] == 6)
    {
        if (out)
            count->tcp_flags_out |= transport[13];
        else
            count->tcp_flags_in |= transport[13];
    }
    return NX_SUCCESS;
}

/* Bytes of a thread stack ever used: ThreadX filled it with STACK_FILL at creation. */
static ULONG stack_used(const ULONG *stack, ULONG size)
{
    ULONG untouched = 0;

    while (untouched < size / sizeof(ULONG) && stack[untouched] == STACK_FILL)
        untouched++;
    return size - untouched * sizeof(ULONG);
}

static void check(int ok, const char *what)
{
    printf("%s - %s\n", ok ? "ok" : "not ok", what);
    if (ok)
        passed++;
    else
        failed++;
}

#if !defined(EXAMPLE_BASELINE) || defined(EXAMPLE_DROP_IN)
static ULONG unix_now(void)
{
    return START_TIME_S + tx_time_get() / TX_TIMER_TICKS_PER_SECOND;
}
#endif

#ifdef EXAMPLE_DROP_IN
/* The Azure IoT middleware instance the drop-in module binds to. No IoT Hub client is
   created: the module keeps its messages in its outbox until one connects. */
static NX_AZURE_IOT iot;
static NX_DNS dns; /* stored by nx_azure_iot_create, only used to reach a hub */
static ULONG iot_stack[4096 / sizeof(ULONG)];

static UINT iot_unix_time(ULONG *unix_time)
{
    *unix_time = unix_now();
    return NX_AZURE_IOT_SUCCESS;
}
#endif

/* ------------------------------------------------------------------------------------- */
/* The module, native or drop-in                                                          */
/* ------------------------------------------------------------------------------------- */
#ifndef EXAMPLE_BASELINE
#ifndef EXAMPLE_DROP_IN
#define RING_WAKE 1u
static TX_EVENT_FLAGS_GROUP nxsm_events;
static ULONG ring_wakes;

/* Runs where the packet was captured (here the IP threads): only wakes the consumer. */
static void ring_wake(void *context)
{
    (void)context;
    tx_event_flags_set(&nxsm_events, RING_WAKE, TX_OR);
}
#endif

static void module_start(void)
{
    nxsm_netx_hook_status hooks;
#ifdef EXAMPLE_DROP_IN
    NX_AZURE_IOT other;

    check(nx_azure_iot_create(&iot, (const UCHAR *)"iot", &client_ip, &pool, &dns, iot_stack, sizeof(iot_stack), 3,
                              iot_unix_time) == NX_AZURE_IOT_SUCCESS,
          "nx_azure_iot_create");
    check(nx_azure_iot_security_module_enable(&iot) == NX_AZURE_IOT_SUCCESS, "nx_azure_iot_security_module_enable");
    check(nx_azure_iot_security_module_enable(&iot) == NX_AZURE_IOT_SUCCESS,
          "a second enable with the same instance succeeds");
    check(nx_azure_iot_security_module_enable(&other) == NX_AZURE_IOT_INVALID_PARAMETER,
          "an enable with another instance is refused");
#else
    nxsm_config config;
    nxsm_capacities capacities = {.struct_size = sizeof(capacities)};

    tx_event_flags_create(&nxsm_events, "nxsm");
    check(nxsm_config_default(&config) == NXSM_OK && nxsm_get_capacities(&capacities) == NXSM_OK,
          "nxsm_config_default, nxsm_get_capacities");
    /* Half the ring: 4 packets per UDP exchange fill it well before the module's poll. */
    check(nxsm_set_ring_callback(ring_wake, NX_NULL, capacities.ring_slots / 2u) == NXSM_OK, "nxsm_set_ring_callback");
    check(nxsm_start(&config, unix_now(), 0x2545F491u) == NXSM_OK, "nxsm_start");
    check(nxsm_netx_hooks_install(config.capture_mode) == 2u, "nxsm_netx_hooks_install hooks both NX_IP");
#endif
    nxsm_netx_hook_status_get(&hooks);
    check(hooks.ip_hooked == 2u && hooks.ip_not_hooked == 0u, "hook status: 2 IP instances hooked");
}

/* The consumer's part between exchanges: in the native build the application drains when
   the ring callback woke it; with the drop-in API the shim's cloud thread does. */
static void module_service(void)
{
#ifndef EXAMPLE_DROP_IN
    ULONG events = 0;

    if (tx_event_flags_get(&nxsm_events, RING_WAKE, TX_OR_CLEAR, &events, TX_NO_WAIT) == TX_SUCCESS &&
        (events & RING_WAKE))
    {
        ring_wakes++;
        while (nxsm_drain(unix_now()) == NXSM_ERR_BUSY)
            tx_thread_sleep(1);
    }
#endif
}

static const nxsm_flow *find_flow(const nxsm_flow *flows, size_t count, uint8_t protocol, ULONG local, ULONG remote,
                                  uint16_t local_port, uint16_t remote_port)
{
    for (size_t i = 0; i < count; i++)
    {
        const nxsm_flow *flow = &flows[i];
        ULONG flow_local = ((ULONG)flow->local_address[0] << 24) | ((ULONG)flow->local_address[1] << 16) |
                           ((ULONG)flow->local_address[2] << 8) | flow->local_address[3];
        ULONG flow_remote = ((ULONG)flow->remote_address[0] << 24) | ((ULONG)flow->remote_address[1] << 16) |
                            ((ULONG)flow->remote_address[2] << 8) | flow->remote_address[3];
        if (flow->ip_version == 4 && flow->protocol == protocol && flow_local == local && flow_remote == remote &&
            flow->local_port == local_port && flow->remote_port == remote_port)
            return flow;
    }
    return NX_NULL;
}

static const nxsm_flow *find_flow6(const nxsm_flow *flows, size_t count, const ULONG *local, const ULONG *remote,
                                   uint16_t local_port, uint16_t remote_port)
{
    for (size_t i = 0; i < count; i++)
    {
        const nxsm_flow *flow = &flows[i];
        int same = flow->ip_version == 6 && flow->protocol == 1 && flow->local_port == local_port &&
                   flow->remote_port == remote_port;
        for (unsigned byte = 0; same && byte < 16u; byte++)
            same = flow->local_address[byte] == (UCHAR)(local[byte / 4u] >> (24u - 8u * (byte % 4u))) &&
                   flow->remote_address[byte] == (UCHAR)(remote[byte / 4u] >> (24u - 8u * (byte % 4u)));
        if (same)
            return flow;
    }
    return NX_NULL;
}

static int flow_is(const nxsm_flow *flow, ULONG packets_in, ULONG bytes_in, ULONG packets_out, ULONG bytes_out)
{
    if (flow == NX_NULL)
        return 0;
    printf("# %lu pkts %lu B in, %lu pkts %lu B out (expected %lu/%lu, %lu/%lu)\n", (unsigned long)flow->packets_in,
           (unsigned long)flow->bytes_in, (unsigned long)flow->packets_out, (unsigned long)flow->bytes_out,
           (unsigned long)packets_in, (unsigned long)bytes_in, (unsigned long)packets_out, (unsigned long)bytes_out);
    return flow->packets_in == packets_in && flow->bytes_in == bytes_in && flow->packets_out == packets_out &&
           flow->bytes_out == bytes_out;
}

/* The module's flow is exactly what the application's filter counted on that IP. */
static int flow_matches_tally(const nxsm_flow *flows, size_t count, uint8_t protocol, const tally *expected)
{
    const nxsm_flow *flow = find_flow(flows, count, protocol, expected->local, expected->remote, expected->local_port,
                                      expected->remote_port);

    return flow_is(flow, expected->packets_in, expected->bytes_in, expected->packets_out, expected->bytes_out) &&
           flow->tcp_flags_in == expected->tcp_flags_in && flow->tcp_flags_out == expected->tcp_flags_out;
}

static void module_check_flows(void)
{
    static nxsm_flow flows[12];
    size_t count = 0;
    nxsm_stats stats = {.struct_size = sizeof(stats)};
    nxsm_result result;
    const ULONG udp_request = UDP_HEADER + LENGTH(REQUEST), udp_reply = UDP_HEADER + LENGTH(REPLY);
    const ULONG icmp = ICMP_HEADER + LENGTH(PING_DATA);

    /* What is still in the ring goes into the flow table first. BUSY: another context
       (the drop-in's cloud thread) is inside the module for a moment. */
    while ((result = nxsm_drain(unix_now())) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    check(result == NXSM_OK, "nxsm_drain");
    while ((result = nxsm_read_flows(0, flows, sizeof(flows) / sizeof(flows[0]), &count)) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    check(result == NXSM_OK, "nxsm_read_flows");
    check(count == 8u, "8 flows: UDP, ICMP, TCP and UDP over IPv6 on each side, no other");

    check(flow_is(find_flow(flows, count, 1, CLIENT_ADDRESS, SERVER_ADDRESS, CLIENT_PORT, SERVER_PORT), EXCHANGES,
                  EXCHANGES * udp_reply, EXCHANGES, EXCHANGES * udp_request),
          "client UDP 10.0.0.1:5000 -> 10.0.0.2:53: every request out, every reply in, exact bytes");
    check(flow_is(find_flow(flows, count, 1, SERVER_ADDRESS, CLIENT_ADDRESS, SERVER_PORT, CLIENT_PORT), EXCHANGES,
                  EXCHANGES * udp_request, EXCHANGES, EXCHANGES * udp_reply),
          "server UDP 10.0.0.2:53 <- 10.0.0.1:5000: every request in, every reply out, exact bytes");
    check(flow_is(find_flow(flows, count, 2, CLIENT_ADDRESS, SERVER_ADDRESS, 0, 0), PINGS, PINGS * icmp, PINGS,
                  PINGS * icmp),
          "pinging side ICMP 10.0.0.1 -> 10.0.0.2: every echo request out, every reply in");
    check(flow_is(find_flow(flows, count, 2, SERVER_ADDRESS, CLIENT_ADDRESS, 0, 0), PINGS, PINGS * icmp, PINGS,
                  PINGS * icmp),
          "pinged side ICMP 10.0.0.2 <- 10.0.0.1: every echo request in, every reply out");
    check(flow_is(find_flow6(flows, count, client_v6, server_v6, CLIENT_PORT, SERVER_PORT), EXCHANGES_V6,
                  EXCHANGES_V6 * udp_reply, EXCHANGES_V6, EXCHANGES_V6 * udp_request) &&
              flow_is(find_flow6(flows, count, server_v6, client_v6, SERVER_PORT, CLIENT_PORT), EXCHANGES_V6,
                      EXCHANGES_V6 * udp_request, EXCHANGES_V6, EXCHANGES_V6 * udp_reply),
          "UDP over IPv6 [2001:db8::1]:5000 <-> [2001:db8::2]:53 on each side, exact packets and bytes");
    check(tallies[0][TALLY_UDP6].packets_out == EXCHANGES_V6 &&
              tallies[0][TALLY_UDP6].bytes_out == EXCHANGES_V6 * udp_request &&
              tallies[1][TALLY_UDP6].packets_out == EXCHANGES_V6 &&
              tallies[1][TALLY_UDP6].bytes_out == EXCHANGES_V6 * udp_reply &&
              tallies[0][TALLY_UDP6].packets_in == EXCHANGES_V6 && tallies[1][TALLY_UDP6].packets_in == EXCHANGES_V6,
          "the application's filter saw the same IPv6 traffic");
    check(flow_matches_tally(flows, count, 0, &tallies[0][TALLY_TCP]) &&
              tallies[0][TALLY_TCP].local_port == TCP_CLIENT_PORT,
          "client TCP 10.0.0.1:6000 -> 10.0.0.2:80 = the application filter's count (packets, bytes, flags)");
    check(flow_matches_tally(flows, count, 0, &tallies[1][TALLY_TCP]) &&
              tallies[1][TALLY_TCP].local_port == TCP_SERVER_PORT,
          "server TCP 10.0.0.2:80 <- 10.0.0.1:6000 = the application filter's count (packets, bytes, flags)");
    check(flow_matches_tally(flows, count, 1, &tallies[0][TALLY_UDP]) &&
              flow_matches_tally(flows, count, 1, &tallies[1][TALLY_UDP]) &&
              flow_matches_tally(flows, count, 2, &tallies[0][TALLY_ICMP]) &&
              flow_matches_tally(flows, count, 2, &tallies[1][TALLY_ICMP]) && tally_other == 0u,
          "UDP and ICMP flows = the application filter's count, and it saw nothing else");

    while ((result = nxsm_get_stats(&stats)) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    check(result == NXSM_OK, "nxsm_get_stats");
    printf("# packets seen %lu, counted %lu, ring dropped %lu\n", (unsigned long)stats.packets_seen,
           (unsigned long)stats.packets_counted, (unsigned long)stats.ring_dropped);
    check(stats.packets_seen == 4u * (EXCHANGES + EXCHANGES_V6 + PINGS) + tallies[0][TALLY_TCP].packets_in +
                                    tallies[0][TALLY_TCP].packets_out + tallies[1][TALLY_TCP].packets_in +
                                    tallies[1][TALLY_TCP].packets_out,
          "every packet seen once on each IP instance");
    check(stats.packets_counted == stats.packets_seen && stats.ring_dropped == 0u,
          "every packet seen was counted, none dropped from the ring");
#ifndef EXAMPLE_DROP_IN
    check(ring_wakes > 0u, "the ring callback woke the application");
#endif
}

static void module_stop(void)
{
    nxsm_netx_hook_status hooks;
#ifdef EXAMPLE_DROP_IN
    check(nx_azure_iot_security_module_disable(&iot) == NX_AZURE_IOT_SUCCESS, "nx_azure_iot_security_module_disable");
#else
    nxsm_result result;

    nxsm_netx_hooks_remove();
    while ((result = nxsm_stop()) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    check(result == NXSM_OK, "nxsm_stop");
    check(nxsm_set_ring_callback(NX_NULL, NX_NULL, 0) == NXSM_OK, "ring callback removed");
#endif
    nxsm_netx_hook_status_get(&hooks);
    check(hooks.ip_hooked == 0u, "hooks removed from both IP instances");
    check(client_ip.nx_ip_packet_filter_extended == tally_filter &&
              server_ip.nx_ip_packet_filter_extended == tally_filter,
          "the application's packet filter is back on both IP instances");
}
#else
static void module_start(void)
{
#ifdef EXAMPLE_DROP_IN
    check(nx_azure_iot_create(&iot, (const UCHAR *)"iot", &client_ip, &pool, &dns, iot_stack, sizeof(iot_stack), 3,
                              iot_unix_time) == NX_AZURE_IOT_SUCCESS,
          "nx_azure_iot_create");
#endif
}
static void module_service(void)
{
}
static void module_check_flows(void)
{
}
static void module_stop(void)
{
}
#endif

/* ------------------------------------------------------------------------------------- */
/* Traffic                                                                                */
/* ------------------------------------------------------------------------------------- */

/* Sends text from a socket to an IPv4 or IPv6 address; NetX Duo releases the packet once
   sent. */
static UINT send_text(NX_UDP_SOCKET *socket, const char *text, ULONG length, NXD_ADDRESS *to, UINT port)
{
    NX_PACKET *packet;
    ULONG type = (to->nxd_ip_version == NX_IP_VERSION_V6) ? NX_IPv6_UDP_PACKET : NX_UDP_PACKET;
    UINT status = nx_packet_allocate(&pool, &packet, type, WAIT);

    if (status != NX_SUCCESS)
        return status;
    status = nx_packet_data_append(packet, (VOID *)text, length, &pool, WAIT);
    if (status == NX_SUCCESS)
        status = nxd_udp_socket_send(socket, packet, to, port);
    if (status != NX_SUCCESS)
        nx_packet_release(packet);
    return status;
}

static int same_address(const NXD_ADDRESS *a, const NXD_ADDRESS *b)
{
    if (a->nxd_ip_version != b->nxd_ip_version)
        return 0;
    if (a->nxd_ip_version == NX_IP_VERSION_V4)
        return a->nxd_ip_address.v4 == b->nxd_ip_address.v4;
    return memcmp(a->nxd_ip_address.v6, b->nxd_ip_address.v6, sizeof(a->nxd_ip_address.v6)) == 0;
}

/* Receives one datagram of the expected length from `expected`, and tells its port. */
static int receive_text(NX_UDP_SOCKET *socket, ULONG length, const NXD_ADDRESS *expected, NXD_ADDRESS *from, UINT *port)
{
    NX_PACKET *packet;
    int ok;

    if (nx_udp_socket_receive(socket, &packet, WAIT) != NX_SUCCESS)
        return 0;
    ok = packet->nx_packet_length == length && nxd_udp_source_extract(packet, from, port) == NX_SUCCESS &&
         same_address(from, expected);
    nx_packet_release(packet);
    return ok;
}

/* One request from the client and the server's reply, over the IP version of the addresses. */
static int udp_exchange(const NXD_ADDRESS *client_address, NXD_ADDRESS *server_address)
{
    NXD_ADDRESS from;
    UINT port;

    if (send_text(&client, REQUEST, LENGTH(REQUEST), server_address, SERVER_PORT) != NX_SUCCESS ||
        !receive_text(&server, LENGTH(REQUEST), client_address, &from, &port) || port != CLIENT_PORT)
        return 0;
    if (send_text(&server, REPLY, LENGTH(REPLY), &from, port) != NX_SUCCESS ||
        !receive_text(&client, LENGTH(REPLY), server_address, &from, &port))
        return 0;
    return port == SERVER_PORT;
}

static NXD_ADDRESS client_v4_address = {.nxd_ip_version = NX_IP_VERSION_V4, .nxd_ip_address.v4 = CLIENT_ADDRESS};
static NXD_ADDRESS server_v4_address = {.nxd_ip_version = NX_IP_VERSION_V4, .nxd_ip_address.v4 = SERVER_ADDRESS};
static NXD_ADDRESS client_v6_address = {.nxd_ip_version = NX_IP_VERSION_V6, .nxd_ip_address.v6 = CLIENT_V6};
static NXD_ADDRESS server_v6_address = {.nxd_ip_version = NX_IP_VERSION_V6, .nxd_ip_address.v6 = SERVER_V6};

/* The TCP server: accepts one connection, reads TCP_SEGMENTS * TCP_SEGMENT bytes, answers
   TCP_REPLY bytes, and closes when the client does. */
static void tcp_server_entry(ULONG input)
{
    static UCHAR reply[TCP_REPLY];
    ULONG received = 0;
    NX_PACKET *packet;
    (void)input;

    if (nx_tcp_server_socket_accept(&tcp_server, WAIT) == NX_SUCCESS)
    {
        while (received < TCP_SEGMENTS * TCP_SEGMENT && nx_tcp_socket_receive(&tcp_server, &packet, WAIT) == NX_SUCCESS)
        {
            received += packet->nx_packet_length;
            nx_packet_release(packet);
        }
        memset(reply, 'r', sizeof(reply));
        if (received == TCP_SEGMENTS * TCP_SEGMENT &&
            nx_packet_allocate(&pool, &packet, NX_TCP_PACKET, WAIT) == NX_SUCCESS)
        {
            if (nx_packet_data_append(packet, reply, sizeof(reply), &pool, WAIT) == NX_SUCCESS &&
                nx_tcp_socket_send(&tcp_server, packet, WAIT) == NX_SUCCESS)
                tcp_server_ok = 1;
            else
                nx_packet_release(packet);
        }
        /* Returns once the client's FIN came and ours is acknowledged. */
        if (nx_tcp_socket_receive(&tcp_server, &packet, WAIT) == NX_SUCCESS)
        {
            nx_packet_release(packet);
            tcp_server_ok = 0; /* nothing more was expected */
        }
        if (nx_tcp_socket_disconnect(&tcp_server, WAIT) != NX_SUCCESS)
            tcp_server_ok = 0;
        nx_tcp_server_socket_unaccept(&tcp_server);
    }
    tx_semaphore_put(&tcp_server_done);
}

/* The client's side: connect, TCP_SEGMENTS sends, the reply, disconnect. */
static int tcp_exchange(void)
{
    static UCHAR segment[TCP_SEGMENT];
    ULONG received = 0;
    NX_PACKET *packet;
    int ok;

    memset(segment, 's', sizeof(segment));
    ok = nx_tcp_client_socket_connect(&tcp_client, SERVER_ADDRESS, TCP_SERVER_PORT, WAIT) == NX_SUCCESS;
    for (unsigned i = 0; ok && i < TCP_SEGMENTS; i++)
    {
        ok = nx_packet_allocate(&pool, &packet, NX_TCP_PACKET, WAIT) == NX_SUCCESS;
        if (ok && (nx_packet_data_append(packet, segment, sizeof(segment), &pool, WAIT) != NX_SUCCESS ||
                   nx_tcp_socket_send(&tcp_client, packet, WAIT) != NX_SUCCESS))
        {
            nx_packet_release(packet);
            ok = 0;
        }
        module_service();
    }
    while (ok && received < TCP_REPLY)
    {
        ok = nx_tcp_socket_receive(&tcp_client, &packet, WAIT) == NX_SUCCESS;
        if (ok)
        {
            received += packet->nx_packet_length;
            nx_packet_release(packet);
        }
    }
    ok = ok && received == TCP_REPLY;
    /* Waits for the server's FIN and its acknowledgement: no packet of this connection is
       still on its way when the flows are compared. */
    if (nx_tcp_socket_disconnect(&tcp_client, WAIT) != NX_SUCCESS)
        ok = 0;
    ok = tx_semaphore_get(&tcp_server_done, 2u * WAIT) == TX_SUCCESS && ok && tcp_server_ok;
    module_service();
    return ok;
}

/* IPv6 with one global address and a static neighbor cache entry for the peer. The RAM
   driver hands out MAC addresses in the order the IP threads bring their links up, so the
   peer's is read from its interface once its link is enabled. */
static int ipv6_setup(NX_IP *ip, const ULONG *address, NX_IP *peer_ip, const ULONG *peer)
{
    NXD_ADDRESS own = {.nxd_ip_version = NX_IP_VERSION_V6};
    ULONG peer_words[4], msw, lsw, status;
    CHAR mac[6];
    UINT index;

    if (nx_ip_status_check(peer_ip, NX_IP_LINK_ENABLED, &status, WAIT) != NX_SUCCESS ||
        nx_ip_interface_physical_address_get(peer_ip, 0, &msw, &lsw) != NX_SUCCESS)
        return 0;
    mac[0] = (CHAR)(msw >> 8);
    mac[1] = (CHAR)msw;
    mac[2] = (CHAR)(lsw >> 24);
    mac[3] = (CHAR)(lsw >> 16);
    mac[4] = (CHAR)(lsw >> 8);
    mac[5] = (CHAR)lsw;
    memcpy(own.nxd_ip_address.v6, address, sizeof(own.nxd_ip_address.v6));
    memcpy(peer_words, peer, sizeof(peer_words));
    return nxd_ipv6_enable(ip) == NX_SUCCESS && nxd_icmp_enable(ip) == NX_SUCCESS &&
           nxd_ipv6_address_set(ip, 0, &own, 64, &index) == NX_SUCCESS &&
           nxd_nd_cache_entry_set(ip, peer_words, index, mac) == NX_SUCCESS;
}

#if !defined(EXAMPLE_BASELINE) && !defined(EXAMPLE_DROP_IN)
/* The other capture mode: every packet taken at the IP packet filter, inbound too (no
   receive routine hooked). Its flows must equal the application filter's count exactly. */
static void ip_input_capture(void)
{
    static nxsm_flow flows[8];
    size_t count = 0;
    nxsm_config config;
    nxsm_stats before = {.struct_size = sizeof(before)}, stats = {.struct_size = sizeof(stats)};
    nxsm_netx_hook_status hooks;
    unsigned ok = 0;
    nxsm_result result;

    memset(tallies, 0, sizeof(tallies));
    tally_other = 0;
    nxsm_config_default(&config);
    config.capture_mode = NXSM_CAPTURE_IP_INPUT;
    check(nxsm_start(&config, unix_now(), 0x9E3779B9u) == NXSM_OK &&
              nxsm_netx_hooks_install(NXSM_CAPTURE_IP_INPUT) == 2u,
          "ip-input capture: nxsm_start, hooks installed on both NX_IP");
    nxsm_netx_hook_status_get(&hooks);
    check(hooks.capture_mode == NXSM_CAPTURE_IP_INPUT, "hook status: ip-input capture mode");
    check(nxsm_get_stats(&before) == NXSM_OK, "nxsm_get_stats (the packet counters are totals since boot)");
    /* 4 records per exchange or ping, 48 in all: the ring (64) holds them until the drain. */
    for (unsigned i = 0; i < 5u; i++)
        ok += (unsigned)udp_exchange(&client_v4_address, &server_v4_address) +
              (unsigned)udp_exchange(&client_v6_address, &server_v6_address);
    for (unsigned i = 0; i < 2u; i++)
    {
        NX_PACKET *response;
        if (nx_icmp_ping(&client_ip, SERVER_ADDRESS, PING_DATA, LENGTH(PING_DATA), &response, WAIT) == NX_SUCCESS)
        {
            ok++;
            nx_packet_release(response);
        }
    }
    check(ok == 12u, "ip-input capture: 5 UDP exchanges over IPv4 and IPv6, 2 pings answered");
    while ((result = nxsm_drain(unix_now())) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    check(result == NXSM_OK && nxsm_read_flows(0, flows, sizeof(flows) / sizeof(flows[0]), &count) == NXSM_OK &&
              count == 6u,
          "ip-input capture: 6 flows (UDP over IPv4 and IPv6, ICMP, on each side)");
    check(flow_matches_tally(flows, count, 1, &tallies[0][TALLY_UDP]) &&
              flow_matches_tally(flows, count, 1, &tallies[1][TALLY_UDP]) &&
              flow_matches_tally(flows, count, 2, &tallies[0][TALLY_ICMP]) &&
              flow_matches_tally(flows, count, 2, &tallies[1][TALLY_ICMP]) &&
              flow_is(find_flow6(flows, count, client_v6, server_v6, CLIENT_PORT, SERVER_PORT),
                      tallies[0][TALLY_UDP6].packets_in, tallies[0][TALLY_UDP6].bytes_in,
                      tallies[0][TALLY_UDP6].packets_out, tallies[0][TALLY_UDP6].bytes_out) &&
              flow_is(find_flow6(flows, count, server_v6, client_v6, SERVER_PORT, CLIENT_PORT),
                      tallies[1][TALLY_UDP6].packets_in, tallies[1][TALLY_UDP6].bytes_in,
                      tallies[1][TALLY_UDP6].packets_out, tallies[1][TALLY_UDP6].bytes_out) &&
              tallies[0][TALLY_UDP].packets_out == 5u && tallies[0][TALLY_UDP6].packets_out == 5u && tally_other == 0u,
          "ip-input capture: every flow = the application filter's count, exactly");
    check(nxsm_get_stats(&stats) == NXSM_OK && stats.packets_seen - before.packets_seen == 48u &&
              stats.packets_counted - before.packets_counted == 48u && stats.ring_dropped == before.ring_dropped,
          "ip-input capture: 48 more packets seen and counted, none dropped");
    nxsm_netx_hooks_remove();
    while ((result = nxsm_stop()) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    check(result == NXSM_OK, "ip-input capture: hooks removed, nxsm_stop");
}
#endif

static void app_entry(ULONG input)
{
    unsigned exchanged = 0, pinged = 0;
    (void)input;

    check(nx_udp_socket_create(&client_ip, &client, "client", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4) == NX_SUCCESS &&
              nx_udp_socket_create(&server_ip, &server, "server", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4) ==
                  NX_SUCCESS &&
              nx_udp_socket_bind(&client, CLIENT_PORT, TX_NO_WAIT) == NX_SUCCESS &&
              nx_udp_socket_bind(&server, SERVER_PORT, TX_NO_WAIT) == NX_SUCCESS,
          "UDP sockets created and bound");
    check(nx_tcp_socket_create(&client_ip, &tcp_client, "tcp client", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4096,
                               NX_NULL, NX_NULL) == NX_SUCCESS &&
              nx_tcp_socket_create(&server_ip, &tcp_server, "tcp server", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 4096,
                                   NX_NULL, NX_NULL) == NX_SUCCESS &&
              nx_tcp_client_socket_bind(&tcp_client, TCP_CLIENT_PORT, TX_NO_WAIT) == NX_SUCCESS &&
              nx_tcp_server_socket_listen(&server_ip, TCP_SERVER_PORT, &tcp_server, 2, NX_NULL) == NX_SUCCESS,
          "TCP sockets created, bound and listening");
    check(ipv6_setup(&client_ip, client_v6, &server_ip, server_v6) &&
              ipv6_setup(&server_ip, server_v6, &client_ip, client_v6),
          "IPv6 on both NX_IP, each with the other in its neighbor cache");
    module_start();

    for (unsigned i = 0; i < EXCHANGES; i++)
    {
        exchanged += (unsigned)udp_exchange(&client_v4_address, &server_v4_address);
        module_service();
    }
    check(exchanged == EXCHANGES, "every UDP request answered");
    exchanged = 0;
    for (unsigned i = 0; i < EXCHANGES_V6; i++)
    {
        exchanged += (unsigned)udp_exchange(&client_v6_address, &server_v6_address);
        module_service();
    }
    check(exchanged == EXCHANGES_V6, "every UDP request over IPv6 answered");
    for (unsigned i = 0; i < PINGS; i++)
    {
        NX_PACKET *response;
        if (nx_icmp_ping(&client_ip, SERVER_ADDRESS, PING_DATA, LENGTH(PING_DATA), &response, WAIT) == NX_SUCCESS)
        {
            pinged += response->nx_packet_length == LENGTH(PING_DATA);
            nx_packet_release(response);
        }
        module_service();
    }
    check(pinged == PINGS, "every ping answered");
    tx_thread_create(&tcp_server_thread, "tcp server", tcp_server_entry, 0, tcp_server_stack, sizeof(tcp_server_stack),
                     3, 3, TX_NO_TIME_SLICE, TX_AUTO_START);
    check(tcp_exchange(), "TCP: connected, 5 x 100 bytes sent, 50 bytes answered, closed on both sides");
    printf("# TCP client %lu pkts %lu B in, %lu pkts %lu B out, flags in 0x%02x out 0x%02x\n",
           (unsigned long)tallies[0][TALLY_TCP].packets_in, (unsigned long)tallies[0][TALLY_TCP].bytes_in,
           (unsigned long)tallies[0][TALLY_TCP].packets_out, (unsigned long)tallies[0][TALLY_TCP].bytes_out,
           tallies[0][TALLY_TCP].tcp_flags_in, tallies[0][TALLY_TCP].tcp_flags_out);
    check(tallies[0][TALLY_TCP].bytes_out >= TCP_SEGMENTS * (20u + TCP_SEGMENT) &&
              tallies[1][TALLY_TCP].bytes_out >= 20u + TCP_REPLY &&
              tallies[0][TALLY_TCP].packets_out == tallies[1][TALLY_TCP].packets_in &&
              tallies[1][TALLY_TCP].packets_out == tallies[0][TALLY_TCP].packets_in,
          "the application's filter saw the TCP connection on both sides");

    module_check_flows();
    module_stop();
#if !defined(EXAMPLE_BASELINE) && !defined(EXAMPLE_DROP_IN)
    ip_input_capture();
#endif
    check(udp_exchange(&client_v4_address, &server_v4_address), "a last UDP exchange, after the module stopped");
    printf("# stack used: app %lu of %lu B, tcp server %lu of %lu B, IP threads %lu and %lu of %lu B\n",
           (unsigned long)stack_used(app_stack, sizeof(app_stack)), (unsigned long)sizeof(app_stack),
           (unsigned long)stack_used(tcp_server_stack, sizeof(tcp_server_stack)),
           (unsigned long)sizeof(tcp_server_stack), (unsigned long)stack_used(client_ip_stack, sizeof(client_ip_stack)),
           (unsigned long)stack_used(server_ip_stack, sizeof(server_ip_stack)), (unsigned long)sizeof(client_ip_stack));
    check(stack_used(app_stack, sizeof(app_stack)) <= sizeof(app_stack) * 3u / 4u &&
              stack_used(client_ip_stack, sizeof(client_ip_stack)) <= sizeof(client_ip_stack) * 3u / 4u &&
              stack_used(server_ip_stack, sizeof(server_ip_stack)) <= sizeof(server_ip_stack) * 3u / 4u,
          "the application and IP thread stacks kept a quarter free");
#ifdef EXAMPLE_DROP_IN
    /* The module's drains and polls run on the middleware's cloud helper thread. */
    printf("# stack used: cloud helper %lu of %lu B\n", (unsigned long)stack_used(iot_stack, sizeof(iot_stack)),
           (unsigned long)sizeof(iot_stack));
    check(stack_used(iot_stack, sizeof(iot_stack)) <= sizeof(iot_stack) * 3u / 4u,
          "the cloud helper thread's stack kept a quarter free");
    check(nx_azure_iot_delete(&iot) == NX_AZURE_IOT_SUCCESS, "nx_azure_iot_delete");
#endif

    printf("%u passed, %u failed\n", passed, failed);
    exit(failed == 0u ? 0 : 1);
}

void tx_application_define(void *first_unused_memory)
{
    (void)first_unused_memory;
    nx_system_initialize();
    check(nx_packet_pool_create(&pool, "pool", 1536, pool_area, sizeof(pool_area)) == NX_SUCCESS &&
              nx_ip_create(&client_ip, "client", CLIENT_ADDRESS, 0xFFFFFF00UL, &pool, _nx_ram_network_driver,
                           client_ip_stack, sizeof(client_ip_stack), 1) == NX_SUCCESS &&
              nx_ip_create(&server_ip, "server", SERVER_ADDRESS, 0xFFFFFF00UL, &pool, _nx_ram_network_driver,
                           server_ip_stack, sizeof(server_ip_stack), 1) == NX_SUCCESS &&
              nx_arp_enable(&client_ip, client_arp, sizeof(client_arp)) == NX_SUCCESS &&
              nx_arp_enable(&server_ip, server_arp, sizeof(server_arp)) == NX_SUCCESS &&
              nx_udp_enable(&client_ip) == NX_SUCCESS && nx_udp_enable(&server_ip) == NX_SUCCESS &&
              nx_icmp_enable(&client_ip) == NX_SUCCESS && nx_icmp_enable(&server_ip) == NX_SUCCESS &&
              nx_tcp_enable(&client_ip) == NX_SUCCESS && nx_tcp_enable(&server_ip) == NX_SUCCESS &&
              tx_semaphore_create(&tcp_server_done, "tcp server done", 0) == TX_SUCCESS,
          "packet pool and two NX_IP on the RAM driver");
    /* The application's own filter, before the module chains in front of it. */
    client_ip.nx_ip_packet_filter_extended = tally_filter;
    server_ip.nx_ip_packet_filter_extended = tally_filter;
    tx_thread_create(&app_thread, "app", app_entry, 0, app_stack, sizeof(app_stack), 4, 4, TX_NO_TIME_SLICE,
                     TX_AUTO_START);
}

int main(void)
{
#if defined(EXAMPLE_BASELINE)
    printf("# ThreadX + NetX Duo example without nx-security-module\n");
#elif defined(EXAMPLE_DROP_IN)
    printf("# ThreadX + NetX Duo example, nx-security-module through the drop-in Azure IoT API\n");
#else
    printf("# ThreadX + NetX Duo example, nx-security-module through the native API\n");
#endif
    tx_kernel_enter(); /* does not return */
    return 1;
}
