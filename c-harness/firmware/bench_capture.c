/*
 * Cortex-M4 instruction counts of the capture path, under QEMU with -icount shift=0.
 *
 * With -icount shift=0 QEMU retires one instruction per virtual nanosecond, and the MPS2
 * SysTick (25 MHz) then ticks once per 40 instructions, identically on every run. Each
 * figure is measured over thousands of calls between two reads of the 24-bit SysTick
 * counter, minus the same loop around an empty call, so it is the cost of the call alone.
 *
 * Hook path = nxsm_capture (parse, record, ring push), what every packet pays in the NetX
 * Duo hook. Drain = moving one record from the ring into the flow table (consumer side).
 * Prints "bench <name>: <instructions> instructions per <unit>" lines, then "bench: done".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nx_security_module.h"

#define SYST_CSR              (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR              (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR              (*(volatile uint32_t *)0xE000E018u)
#define INSTRUCTIONS_PER_TICK 40u

#define T0      1700000000u
#define BATCH   32u /* half the default ring: never fills, never drops */
#define BATCHES 64u /* 2,048 calls per figure */
#define FLOWS   50u /* distinct flows cycled through */

static uint8_t packets[FLOWS][60];
static size_t packet_length;

static void systick_start(void)
{
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u; /* processor clock, enabled, no interrupt */
}

/* Ticks elapsed between two counter reads (it counts down and wraps at 24 bits). */
static uint32_t ticks_between(uint32_t start, uint32_t end)
{
    return (start - end) & 0x00FFFFFFu;
}

/* Swaps each of the first `words` 32-bit words, as NetX Duo's receive path does on a
   little-endian CPU before transport dispatch. */
static void to_host_order(uint8_t *p, unsigned words)
{
    for (unsigned i = 0; i < words * 4u; i += 4u)
    {
        uint8_t a = p[i], b = p[i + 1u];
        p[i] = p[i + 3u];
        p[i + 1u] = p[i + 2u];
        p[i + 2u] = b;
        p[i + 3u] = a;
    }
}

/* TCP segments of FLOWS flows: device 192.0.2.10 / 2001:db8::10, peers differ by port. */
static void make_packets(int ipv6, int host_order)
{
    for (unsigned f = 0; f < FLOWS; f++)
    {
        uint8_t *p = packets[f];
        memset(p, 0, sizeof packets[f]);
        uint8_t *tcp;
        if (!ipv6)
        {
            static const uint8_t ip[20] = {0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 10, 198, 51, 100, 7};
            memcpy(p, ip, sizeof ip);
            tcp = p + 20;
            packet_length = 40;
        }
        else
        {
            p[0] = 0x60;
            p[5] = 20; /* payload length */
            p[6] = 6;  /* TCP */
            p[7] = 64;
            p[8] = 0x20;
            p[9] = 0x01;
            p[10] = 0x0d;
            p[11] = 0xb8;
            p[23] = 0x10;
            p[24] = 0x20;
            p[25] = 0x01;
            p[26] = 0x0d;
            p[27] = 0xb8;
            p[39] = 0x07;
            tcp = p + 40;
            packet_length = 60;
        }
        tcp[0] = 0xc3;
        tcp[1] = (uint8_t)f; /* local port 0xc300 + f */
        tcp[2] = 0x01;
        tcp[3] = 0xbb; /* 443 */
        tcp[12] = 0x50;
        tcp[13] = 0x10; /* ACK */
        if (host_order)
        {
            to_host_order(p, ipv6 ? 10u : 5u);
        }
    }
}

/* Same shape as the measured call, doing nothing: the loop's own cost. */
__attribute__((noinline)) static nxsm_result empty_call(const uint8_t *p, size_t n, uint32_t d, uint32_t o)
{
    __asm__ volatile("" ::"r"(p), "r"(n), "r"(d), "r"(o) : "memory");
    return NXSM_OK;
}

typedef nxsm_result (*capture_fn)(const uint8_t *, size_t, uint32_t, uint32_t);

/* Total ticks of BATCHES x BATCH calls of `fn`, draining (unmeasured) after each batch. */
static uint32_t run(capture_fn fn, uint32_t direction, uint32_t order, uint32_t *drain_ticks, unsigned *stored)
{
    uint32_t ticks = 0;
    uint32_t drained = 0;
    unsigned f = 0;
    for (unsigned b = 0; b < BATCHES; b++)
    {
        uint32_t start = SYST_CVR;
        for (unsigned i = 0; i < BATCH; i++)
        {
            if (fn(packets[f], packet_length, direction, order) == NXSM_OK)
            {
                (*stored)++;
            }
            f = (f + 1u == FLOWS) ? 0u : f + 1u;
        }
        ticks += ticks_between(start, SYST_CVR);
        start = SYST_CVR;
        (void)nxsm_drain(T0 + b);
        drained += ticks_between(start, SYST_CVR);
    }
    if (drain_ticks != NULL)
    {
        *drain_ticks = drained;
    }
    return ticks;
}

static void report(const char *name, uint32_t ticks, uint32_t base_ticks, unsigned calls)
{
    uint32_t net = ticks > base_ticks ? ticks - base_ticks : 0u;
    printf("bench %s: %lu instructions per packet\n", name,
           (unsigned long)((net * INSTRUCTIONS_PER_TICK + calls / 2u) / calls));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    systick_start();
    nxsm_config config;
    if (nxsm_config_default(&config) != NXSM_OK || nxsm_start(&config, T0, 0) != NXSM_OK)
    {
        printf("bench: could not start the module\n");
        return 1;
    }
    nxsm_capacities capacities = {.struct_size = sizeof capacities};
    if (nxsm_get_capacities(&capacities) != NXSM_OK)
    {
        printf("bench: could not read the capacities\n");
        return 1;
    }
    const unsigned calls = BATCH * BATCHES;
    unsigned stored = 0, ignored = 0;
    uint32_t base = run(empty_call, 0, 0, NULL, &ignored);

    static const struct
    {
        const char *name;
        int ipv6;
        uint32_t direction;
        uint32_t order;
    } cases[] = {
        {"hook ipv4_out (filter, network order)", 0, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER},
        {"hook ipv4_in (receive wrapper, host order)", 0, NXSM_DIRECTION_IN, NXSM_HEADER_HOST_ORDER},
        {"hook ipv4_in (filter, ip-input mode)", 0, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER},
        {"hook ipv6_out (filter, network order)", 1, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER},
        {"hook ipv6_in (receive wrapper, host order)", 1, NXSM_DIRECTION_IN, NXSM_HEADER_HOST_ORDER},
    };
    int ok = 1;
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++)
    {
        if (cases[c].ipv6 && capacities.max_flows_v6 == 0u)
        {
            printf("# %s: skipped, built without IPv6 (NXSM_MAX_FLOWS_V6=0)\n", cases[c].name);
            continue;
        }
        make_packets(cases[c].ipv6, cases[c].order == NXSM_HEADER_HOST_ORDER);
        stored = 0;
        uint32_t drain_ticks = 0;
        uint32_t ticks = run(nxsm_capture, cases[c].direction, cases[c].order, &drain_ticks, &stored);
        report(cases[c].name, ticks, base, calls);
        printf("bench drain %s: %lu instructions per record\n", cases[c].ipv6 ? "ipv6" : "ipv4",
               (unsigned long)((drain_ticks * INSTRUCTIONS_PER_TICK + calls / 2u) / calls));
        if (stored != calls)
        {
            printf("bench: only %u of %u packets recorded\n", stored, calls);
            ok = 0;
        }
        /* Every case starts with an empty table: switching network activity off and on
           collects the window into the outbox. */
        (void)nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH);
        (void)nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, true, NXSM_PRIORITY_HIGH);
    }
    nxsm_stats stats = {.struct_size = sizeof stats};
    if (nxsm_get_stats(&stats) == NXSM_OK)
    {
        printf("bench totals: %lu counted, %lu ring drops, %lu table-full drops\n",
               (unsigned long)stats.packets_counted, (unsigned long)stats.ring_dropped,
               (unsigned long)stats.table_full_dropped);
        if (stats.ring_dropped != 0u || stats.table_full_dropped != 0u)
        {
            ok = 0;
        }
    }
    (void)nxsm_stop();
    printf(ok ? "bench: done\n" : "bench: failed\n");
    return ok ? 0 : 1;
}
