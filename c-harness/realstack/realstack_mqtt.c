/* The MQTT transport end to end on the real ThreadX (Linux port) and NetX Duo: one NX_IP on
   NetX Duo's libpcap driver (a veth end in a network namespace, set up by
   c-harness/tests/realstack_mqtt.py), the module started with the native API and its hooks,
   NetX Duo's MQTT client connected to a broker, nxsm_netx_mqtt_attach() and a poll every
   second while the program sends UDP datagrams and pings to the broker's host. Runs for the
   given seconds, then polls until the outbox is empty, and prints TAP-like lines.

   realstack_mqtt IFNAME LOCAL_IPV4 BROKER_IPV4 BROKER_PORT DEVICE_ID SECONDS */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tx_api.h"
#include "nx_api.h"
#include "nxd_mqtt_client.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"

/* NetX Duo's libpcap driver (test/regression/interoperability_test). */
VOID _nx_pcap_network_driver(NX_IP_DRIVER *driver_req_ptr);
VOID nx_pcap_set_source_name(const CHAR *source_name);

/* The UDP port the traffic goes to on the broker's host (nothing listens: each datagram is
   one more packet of the same flow, and the ICMP errors that come back are captured too). */
#define TRAFFIC_PORT 9999u
#define LOCAL_PORT   40001u

static ULONG arg_local;
static ULONG arg_broker;
static UINT arg_port;
static const char *arg_device;
static ULONG arg_seconds;

static NX_PACKET_POOL pool;
static NX_IP ip;
static NX_UDP_SOCKET udp;
static NXD_MQTT_CLIENT mqtt;
static TX_THREAD app_thread;
static ULONG pool_area[(1536 + 64) * 96 / sizeof(ULONG)];
static ULONG ip_stack[4096 / sizeof(ULONG)];
static ULONG arp_area[1024 / sizeof(ULONG)];
static ULONG app_stack[16384 / sizeof(ULONG)];
static ULONG mqtt_stack[8192 / sizeof(ULONG)];
static ULONG mqtt_memory[1024 / sizeof(ULONG)];

static unsigned checks_failed;

static int check(int ok, const char *format, ...)
{
    va_list args;

    printf("%s - ", ok ? "ok" : "not ok");
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
    if (!ok)
    {
        checks_failed++;
    }
    return ok;
}

static int parse_ipv4(const char *text, ULONG *out)
{
    unsigned a, b, c, d;
    char tail;

    if (sscanf(text, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255u || b > 255u || c > 255u || d > 255u)
    {
        return 0;
    }
    *out = IP_ADDRESS(a, b, c, d);
    return 1;
}

static ULONG unix_now(void)
{
    return (ULONG)time(NULL);
}

/* One datagram to the broker's host and one ping. */
static void traffic(unsigned second)
{
    NX_PACKET *packet;
    NX_PACKET *reply;
    char text[64];
    int length = snprintf(text, sizeof(text), "realstack_mqtt second %u", second);

    if (nx_packet_allocate(&pool, &packet, NX_UDP_PACKET, NX_IP_PERIODIC_RATE) == NX_SUCCESS)
    {
        if (nx_packet_data_append(packet, text, (ULONG)length, &pool, NX_IP_PERIODIC_RATE) != NX_SUCCESS ||
            nx_udp_socket_send(&udp, packet, arg_broker, TRAFFIC_PORT) != NX_SUCCESS)
        {
            nx_packet_release(packet);
        }
    }
    if (nx_icmp_ping(&ip, arg_broker, "nxsm", 4, &reply, NX_IP_PERIODIC_RATE / 2) == NX_SUCCESS)
    {
        nx_packet_release(reply);
    }
}

static nxsm_stats stats_now(void)
{
    nxsm_stats stats;

    memset(&stats, 0, sizeof(stats));
    stats.struct_size = (uint32_t)sizeof(stats);
    (void)nxsm_get_stats(&stats);
    return stats;
}

static void app_entry(ULONG input)
{
    nxsm_config config;
    nxsm_netx_mqtt_status status;
    nxsm_stats stats;
    NXD_ADDRESS broker;
    ULONG seconds;
    UINT result;
    UINT connected = 0;

    (void)input;
    /* Short intervals: several collections, and so several messages, in a short run. */
    nxsm_config_default(&config);
    config.high_interval_s = 2u;
    config.medium_interval_s = 4u;
    config.low_interval_s = 6u;
    config.first_collection_base_s = 1u;
    config.retry_interval_s = 1u;
    check(nxsm_start(&config, (uint32_t)unix_now(), (uint32_t)NX_RAND()) == NXSM_OK, "module started");
    check(nxsm_netx_hooks_install(config.capture_mode) == 1u, "hooks installed on the NX_IP");

    check(nx_udp_socket_create(&ip, &udp, "traffic", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 16) == NX_SUCCESS &&
              nx_udp_socket_bind(&udp, LOCAL_PORT, NX_WAIT_FOREVER) == NX_SUCCESS,
          "UDP socket bound");

    result = nxd_mqtt_client_create(&mqtt, "nxsm mqtt", (CHAR *)(uintptr_t)arg_device, (UINT)strlen(arg_device), &ip,
                                    &pool, mqtt_stack, sizeof(mqtt_stack), 2, mqtt_memory, sizeof(mqtt_memory));
    check(result == NXD_MQTT_SUCCESS, "MQTT client created (0x%x)", result);
    broker.nxd_ip_version = NX_IP_VERSION_V4;
    broker.nxd_ip_address.v4 = arg_broker;
    /* The broker's host may still be resolving ARP or starting: a few tries. */
    for (seconds = 0; seconds < 10u && !connected; seconds++)
    {
        result = nxd_mqtt_client_connect(&mqtt, &broker, arg_port, 60, NX_TRUE, 3 * NX_IP_PERIODIC_RATE);
        connected = (result == NXD_MQTT_SUCCESS);
        if (!connected)
        {
            tx_thread_sleep(NX_IP_PERIODIC_RATE);
        }
    }
    if (!check(connected, "MQTT client connected to the broker (0x%x)", result))
    {
        exit(1);
    }
    check(nxsm_netx_mqtt_attach(&mqtt, arg_device) == NXSM_NETX_MQTT_SUCCESS, "transport attached as %s", arg_device);

    for (seconds = 0; seconds < arg_seconds; seconds++)
    {
        traffic((unsigned)seconds);
        (void)nxsm_netx_mqtt_poll(unix_now());
        tx_thread_sleep(NX_IP_PERIODIC_RATE);
    }
    /* No traffic any more: poll until a collection has taken the last flows and everything
       queued went out (at most 20 s). */
    for (seconds = 0; seconds < 20u; seconds++)
    {
        (void)nxsm_netx_mqtt_poll(unix_now());
        stats = stats_now();
        if (seconds >= config.high_interval_s + 1u && stats.outbox_messages == 0u)
        {
            break;
        }
        tx_thread_sleep(NX_IP_PERIODIC_RATE);
    }
    /* Give the broker's PUBACKs a moment before disconnecting. */
    tx_thread_sleep(NX_IP_PERIODIC_RATE);

    nxsm_netx_mqtt_status_get(&status);
    stats = stats_now();
    printf("# published %lu, failed %lu (last status 0x%x), polls %lu, outbox %u, sent %u, dropped %u\n",
           (unsigned long)status.messages_published, (unsigned long)status.messages_failed, status.last_failure_status,
           (unsigned long)status.polls, stats.outbox_messages, stats.messages_sent, stats.messages_dropped);
    check(status.messages_published > 0u, "messages published (%lu)", (unsigned long)status.messages_published);
    check(stats.messages_sent == status.messages_published, "every publish acknowledged to the core as sent");
    check(stats.outbox_messages == 0u, "outbox empty at the end");
    check(stats.messages_dropped == 0u, "no message dropped");
    check(nxsm_netx_mqtt_detach() == NXSM_NETX_MQTT_SUCCESS, "transport detached");
    check(nxsm_netx_mqtt_poll(unix_now()) == NXSM_NETX_MQTT_NOT_ATTACHED, "no poll after detach");
    (void)nxd_mqtt_client_disconnect(&mqtt);
    nxsm_netx_hooks_remove();
    check(nxsm_stop() == NXSM_OK, "module stopped");
    printf("# %u checks failed\n", checks_failed);
    fflush(stdout);
    exit(checks_failed ? 1 : 0);
}

void tx_application_define(void *first_unused_memory)
{
    UINT status;

    (void)first_unused_memory;
    nx_system_initialize();
    status = nx_packet_pool_create(&pool, "pool", 1536, pool_area, sizeof(pool_area));
    status |=
        nx_ip_create(&ip, "ip", arg_local, 0xFFFFFF00UL, &pool, _nx_pcap_network_driver, ip_stack, sizeof(ip_stack), 1);
    status |= nx_arp_enable(&ip, arp_area, sizeof(arp_area));
    status |= nx_udp_enable(&ip);
    status |= nx_tcp_enable(&ip);
    status |= nx_icmp_enable(&ip);
    status |= tx_thread_create(&app_thread, "app", app_entry, 0, app_stack, sizeof(app_stack), 4, 4, TX_NO_TIME_SLICE,
                               TX_AUTO_START);
    if (!check(status == NX_SUCCESS, "packet pool, NX_IP on the pcap driver, ARP, UDP, TCP, ICMP"))
    {
        exit(1);
    }
}

int main(int argc, char **argv)
{
    char *end = NULL;
    unsigned long port;
    unsigned long seconds;

    if (argc != 7 || !parse_ipv4(argv[2], &arg_local) || !parse_ipv4(argv[3], &arg_broker))
    {
        fprintf(stderr, "usage: realstack_mqtt IFNAME LOCAL_IPV4 BROKER_IPV4 BROKER_PORT DEVICE_ID SECONDS\n");
        return 2;
    }
    port = strtoul(argv[4], &end, 10);
    if (*argv[4] == 0 || *end != 0 || port == 0u || port > 65535u)
    {
        fprintf(stderr, "realstack_mqtt: bad port %s\n", argv[4]);
        return 2;
    }
    seconds = strtoul(argv[6], &end, 10);
    if (*argv[6] == 0 || *end != 0 || seconds == 0u || seconds > 3600u)
    {
        fprintf(stderr, "realstack_mqtt: bad seconds %s\n", argv[6]);
        return 2;
    }
    arg_port = (UINT)port;
    arg_seconds = seconds;
    arg_device = argv[5];
    /* The driver keeps the pointer: argv lives as long as the program. */
    nx_pcap_set_source_name(argv[1]);
    tx_kernel_enter();
    return 0;
}
