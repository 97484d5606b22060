/* The native API on the real ThreadX (Linux port) and NetX Duo: two NX_IP joined by NetX
   Duo's RAM driver, the module's hooks installed on both, known UDP and ICMP traffic, the
   flows checked exactly, the capture identity, the ring callback, and a clean removal. */
#include <stdio.h>
#include <stdlib.h>
#include "tx_api.h"
#include "nx_api.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"

#define NOW         1800000000u
#define DATAGRAMS   100u
#define PAYLOAD     10u
#define PINGS       3u
#define PING_DATA   4u

VOID _nx_ram_network_driver(NX_IP_DRIVER *driver_req_ptr);

static TX_THREAD thread;
static NX_PACKET_POOL pool;
static NX_IP ip0, ip1;
static NX_UDP_SOCKET client, server;
static UCHAR pool_area[64 * 1600];
static UCHAR ip0_stack[4096], ip1_stack[4096], arp0[1024], arp1[1024], thread_stack[16384];
static volatile ULONG wakes;
static int failures;

static void check(int ok, const char *what)
{
    printf("%s - %s\n", ok ? "ok" : "not ok", what);
    failures += !ok;
}

static void wake(void *context)
{
    (void)context;
    wakes++;
}

static void send_datagram(void)
{
    NX_PACKET *packet;
    if (nx_packet_allocate(&pool, &packet, NX_UDP_PACKET, NX_WAIT_FOREVER) != NX_SUCCESS)
    {
        failures++;
        return;
    }
    nx_packet_data_append(packet, "0123456789", PAYLOAD, &pool, NX_WAIT_FOREVER);
    if (nx_udp_socket_send(&client, packet, IP_ADDRESS(10, 0, 0, 2), 53) != NX_SUCCESS)
    {
        nx_packet_release(packet);
        failures++;
    }
    if (nx_udp_socket_receive(&server, &packet, 100) == NX_SUCCESS)
        nx_packet_release(packet);
    else
        failures++;
}

static const nxsm_flow *find(const nxsm_flow *flows, size_t count, UINT protocol, UCHAR local_last_octet,
                             USHORT local_port)
{
    for (size_t i = 0; i < count; i++)
        if (flows[i].ip_version == 4 && flows[i].protocol == protocol &&
            flows[i].local_address[3] == local_last_octet && flows[i].local_port == local_port)
            return &flows[i];
    return NULL;
}

static void run(ULONG input)
{
    nxsm_config config;
    nxsm_flow flows[16];
    size_t count = 0;
    nxsm_stats stats;
    NX_PACKET *reply;
    const nxsm_flow *flow;
    (void)input;

    nxsm_config_default(&config);
    check(nxsm_set_ring_callback(wake, NX_NULL, 8) == NXSM_OK, "ring callback set");
    check(nxsm_start(&config, NOW, 0) == NXSM_OK, "nxsm_start");
    check(nxsm_netx_hooks_install(config.capture_mode) == 2, "both NX_IP hooked");
    nx_udp_socket_create(&ip0, &client, "client", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 5);
    nx_udp_socket_create(&ip1, &server, "server", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 5);
    nx_udp_socket_bind(&client, 5000, NX_WAIT_FOREVER);
    nx_udp_socket_bind(&server, 53, NX_WAIT_FOREVER);
    for (ULONG i = 0; i < DATAGRAMS; i++)
    {
        send_datagram();
        if (wakes)
        {
            /* What the application's consumer does when the callback woke it. */
            wakes = 0;
            nxsm_drain(NOW);
        }
    }
    for (ULONG i = 0; i < PINGS; i++)
    {
        if (nx_icmp_ping(&ip0, IP_ADDRESS(10, 0, 0, 2), "abcd", PING_DATA, &reply, 100) == NX_SUCCESS)
            nx_packet_release(reply);
        else
            failures++;
    }
    check(failures == 0, "traffic went through the real NetX Duo");
    check(nxsm_poll(NOW + 1, false) == NXSM_OK, "nxsm_poll");
    check(nxsm_read_flows(0, flows, 16, &count) == NXSM_OK, "nxsm_read_flows");
    for (size_t i = 0; i < count; i++)
        printf("# flow v%u proto %u %u.%u.%u.%u:%u <-> %u.%u.%u.%u:%u in %u pkts %u B, out %u pkts %u B\n",
               flows[i].ip_version, flows[i].protocol, flows[i].local_address[0], flows[i].local_address[1],
               flows[i].local_address[2], flows[i].local_address[3], flows[i].local_port,
               flows[i].remote_address[0], flows[i].remote_address[1], flows[i].remote_address[2],
               flows[i].remote_address[3], flows[i].remote_port, flows[i].packets_in, flows[i].bytes_in,
               flows[i].packets_out, flows[i].bytes_out);
    /* IP payload bytes: UDP header + data, ICMP header + data. */
    flow = find(flows, count, 1, 1, 5000);
    check(flow && flow->packets_out == DATAGRAMS && flow->bytes_out == DATAGRAMS * (8 + PAYLOAD) &&
              flow->packets_in == 0, "client's UDP flow: every datagram sent, exactly");
    flow = find(flows, count, 1, 2, 53);
    check(flow && flow->packets_in == DATAGRAMS && flow->bytes_in == DATAGRAMS * (8 + PAYLOAD) &&
              flow->packets_out == 0, "server's UDP flow: every datagram received, exactly");
    flow = find(flows, count, 2, 1, 0);
    check(flow && flow->packets_out == PINGS && flow->packets_in == PINGS &&
              flow->bytes_out == PINGS * (8 + PING_DATA), "pinging side's ICMP flow");
    flow = find(flows, count, 2, 2, 0);
    check(flow && flow->packets_out == PINGS && flow->packets_in == PINGS, "pinged side's ICMP flow");
    check(count == 4, "no other flow");
    stats.struct_size = sizeof(stats);
    check(nxsm_get_stats(&stats) == NXSM_OK, "nxsm_get_stats");
    check(stats.ring_dropped == 0 && stats.packets_seen == stats.packets_counted,
          "every packet seen was counted (the callback-driven drain kept up)");
    check(stats.packets_seen == 2u * DATAGRAMS + 4u * PINGS, "packets seen: each one once per IP");
    nxsm_netx_hooks_remove();
    check(nxsm_stop() == NXSM_OK, "nxsm_stop");
    check(nxsm_set_ring_callback(NX_NULL, NX_NULL, 0) == NXSM_OK, "ring callback removed");
    printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
    exit(failures ? 1 : 0);
}

void tx_application_define(void *first_unused_memory)
{
    (void)first_unused_memory;
    nx_system_initialize();
    nx_packet_pool_create(&pool, "pool", 1536, pool_area, sizeof(pool_area));
    nx_ip_create(&ip0, "ip0", IP_ADDRESS(10, 0, 0, 1), 0xFFFFFF00UL, &pool, _nx_ram_network_driver, ip0_stack,
                 sizeof(ip0_stack), 1);
    nx_ip_create(&ip1, "ip1", IP_ADDRESS(10, 0, 0, 2), 0xFFFFFF00UL, &pool, _nx_ram_network_driver, ip1_stack,
                 sizeof(ip1_stack), 1);
    nx_arp_enable(&ip0, arp0, sizeof(arp0));
    nx_arp_enable(&ip1, arp1, sizeof(arp1));
    nx_udp_enable(&ip0);
    nx_udp_enable(&ip1);
    nx_icmp_enable(&ip0);
    nx_icmp_enable(&ip1);
    tx_thread_create(&thread, "app", run, 0, thread_stack, sizeof(thread_stack), 4, 4, TX_NO_TIME_SLICE,
                     TX_AUTO_START);
}

int main(void)
{
    tx_kernel_enter();
    return 0;
}
