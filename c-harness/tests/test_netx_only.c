/*
 * The shim built without NetX Duo's Azure IoT addon (nxsm_shim_netx_only: the NetX-only
 * sources compiled against nx_api.h / tx_api.h alone), used as a native firmware would:
 * ring callback, nxsm_start, nxsm_netx_hooks_install on a simulated NX_IP, packets through
 * the simulated send path, drain/poll, hooks removed, stop. Also the burst rule of the
 * README: 100 packets fit when the ring callback triggers drains, and overflow the ring
 * (counted in ring_dropped) when nothing drains.
 * Prints one line per check, then "<N> passed, <M> failed".
 */
#include <stdio.h>
#include <string.h>

#include "nx_api.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"
/* Simulator control only (sim_ip_create, sim_ip_send); the module's own headers above
   need no Azure IoT header. */
#include "sim_control.h"

#define NOW_S 1717171717u
#define BURST 100u

static unsigned passed;
static unsigned failed;

static void expect(const char *what, unsigned long long got, unsigned long long want)
{
    if (got == want)
    {
        passed++;
        printf("ok - %s\n", what);
    }
    else
    {
        failed++;
        printf("not ok - %s (got %llu, expected %llu)\n", what, got, want);
    }
}

static nxsm_stats stats(void)
{
    nxsm_stats out;

    memset(&out, 0, sizeof(out));
    out.struct_size = (uint32_t)sizeof(out);
    (void)nxsm_get_stats(&out);
    return out;
}

/* Set by the ring callback (capturing context); the "consumer" below drains on it. */
static volatile unsigned ring_wakes_pending;
static unsigned ring_wakes;

static void ring_wake(void *context)
{
    (void)context;
    ring_wakes_pending = 1u;
    ring_wakes++;
}

/* One UDP/IPv4 packet 10.0.0.1:port -> 10.0.0.2:53 (network order, no checksum). */
static ULONG udp_packet(UCHAR *out, ULONG port)
{
    static const UCHAR header[28] = {0x45, 0, 0,  28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0,
                                     0,    1, 10, 0,  0, 2, 0, 0, 0,  53, 0, 8, 0,  0};

    memcpy(out, header, sizeof(header));
    out[20] = (UCHAR)(port >> 8);
    out[21] = (UCHAR)port;
    return (ULONG)sizeof(header);
}

/* Sends BURST packets; drains whenever the ring callback asked for it, if drain_on_wake. */
static void burst(NX_IP *ip, unsigned drain_on_wake)
{
    UCHAR packet[28];
    ULONG i;

    for (i = 0; i < BURST; i++)
    {
        (void)sim_ip_send(ip, packet, udp_packet(packet, 40000u + i), 0);
        if (drain_on_wake && ring_wakes_pending)
        {
            ring_wakes_pending = 0u;
            (void)nxsm_drain(NOW_S);
        }
    }
}

static NX_IP ip;

int main(void)
{
    nxsm_capacities capacities;
    nxsm_config config;
    nxsm_netx_hook_status hooks;
    nxsm_stats before;
    UCHAR packet[28];
    ULONG length;

    printf("# nx-security-module %s: shim without the Azure IoT addon\n", nxsm_version_string());
    memset(&capacities, 0, sizeof(capacities));
    capacities.struct_size = (uint32_t)sizeof(capacities);
    expect("capacities", nxsm_get_capacities(&capacities), NXSM_OK);
    expect("IP created", sim_ip_create(&ip, (CHAR *)"ip"), NX_SUCCESS);
    expect("address set", nx_ip_interface_address_set(&ip, 0, 0x0A000001UL, 0xFFFFFF00UL), NX_SUCCESS);
    expect("UDP enabled", nx_udp_enable(&ip), NX_SUCCESS);

    expect("config default", nxsm_config_default(&config), NXSM_OK);
    expect("ring callback set", nxsm_set_ring_callback(ring_wake, NX_NULL, capacities.ring_slots / 2u), NXSM_OK);
    expect("nxsm_start", nxsm_start(&config, NOW_S, 1u), NXSM_OK);
    expect("hooks installed on the one IP", nxsm_netx_hooks_install((UINT)config.capture_mode), 1u);
    nxsm_netx_hook_status_get(&hooks);
    expect("hook status: hooked", hooks.ip_hooked, 1u);
    expect("filter is the module's", ip.nx_ip_packet_filter_extended != NX_NULL, 1u);

    length = udp_packet(packet, 1234u);
    expect("packet sent", sim_ip_send(&ip, packet, length, 0), SIM_IP_SENT);
    expect("packet seen", stats().packets_seen, 1u);
    expect("poll", nxsm_poll(NOW_S, false), NXSM_OK);
    expect("packet counted", stats().packets_counted, 1u);

    /* A burst drained on the ring callback: nothing lost. */
    before = stats();
    burst(&ip, 1u);
    expect("ring callback called", ring_wakes > 0u, 1u);
    expect("burst with callback drains: seen", stats().packets_seen - before.packets_seen, BURST);
    expect("burst with callback drains: ring_dropped", stats().ring_dropped - before.ring_dropped, 0u);
    expect("poll", nxsm_poll(NOW_S + 1u, false), NXSM_OK);

    /* The same burst with nothing draining until the next poll: the ring overflows. */
    before = stats();
    burst(&ip, 0u);
    expect("burst without drains: ring_dropped", stats().ring_dropped - before.ring_dropped,
           (capacities.ring_slots < BURST) ? BURST - capacities.ring_slots : 0u);
    expect("poll", nxsm_poll(NOW_S + 2u, false), NXSM_OK);

    /* Remove puts back what was there (no filter) and nothing is captured any more. */
    nxsm_netx_hooks_remove();
    nxsm_netx_hook_status_get(&hooks);
    expect("hook status after remove", hooks.ip_hooked, 0u);
    expect("filter restored", ip.nx_ip_packet_filter_extended == NX_NULL, 1u);
    before = stats();
    expect("packet sent after remove", sim_ip_send(&ip, packet, length, 0), SIM_IP_SENT);
    expect("not seen after remove", stats().packets_seen - before.packets_seen, 0u);

    expect("nxsm_stop", nxsm_stop(), NXSM_OK);
    expect("ring callback cleared", nxsm_set_ring_callback(NX_NULL, NX_NULL, 0u), NXSM_OK);

    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0u ? 0 : 1;
}
