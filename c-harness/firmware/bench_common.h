/*
 * What the Cortex-M benchmarks under QEMU -icount share (bench_module.c, bench_detect.c):
 * instruction counting with the MPS2 SysTick, failure reporting, and the TCP packets of
 * numbered flows.
 *
 * With -icount shift=0 QEMU retires one instruction per virtual nanosecond and SysTick
 * (25 MHz) ticks once per 40 instructions, identically on every run.
 */
#ifndef NXSM_BENCH_COMMON_H
#define NXSM_BENCH_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nx_security_module.h"

#define SYST_CSR              (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR              (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR              (*(volatile uint32_t *)0xE000E018u)
#define INSTRUCTIONS_PER_TICK 40u

#define PACKET_BYTES 60u /* room for an IPv6 + TCP header */

#define TCP_FIN          0x01u
#define TCP_SYN          0x02u
#define TCP_ACK          0x10u
#define PROTO_HOP_BY_HOP 0u
#define PROTO_ICMP       1u
#define PROTO_TCP        6u
#define PROTO_UDP        17u
#define PROTO_FRAGMENT   44u
#define PROTO_GRE        47u
#define PROTO_ICMPV6     58u

static unsigned failures;

__attribute__((format(printf, 1, 2))) static void fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    printf("bench: failed ");
    vprintf(format, args);
    printf("\n");
    va_end(args);
    failures++;
}

/* Stops the module and prints the run's verdict; the firmware's exit status. */
static inline int bench_finish(void)
{
    if (nxsm_stop() != NXSM_OK)
    {
        fail("nxsm_stop");
    }
    if (failures != 0u)
    {
        printf("bench: failed (%u checks)\n", failures);
        return 1;
    }
    printf("bench: done\n");
    return 0;
}

static inline nxsm_stats read_stats(void)
{
    nxsm_stats stats = {.struct_size = sizeof stats};
    if (nxsm_get_stats(&stats) != NXSM_OK)
    {
        fail("nxsm_get_stats");
    }
    return stats;
}

/* ---------------------------------------------------------------------------------------
 * Timing
 * ------------------------------------------------------------------------------------- */

static inline void systick_start(void)
{
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u; /* processor clock, enabled, no interrupt */
}

/* Ticks elapsed between two counter reads (it counts down and wraps at 24 bits). */
static inline uint32_t ticks_between(uint32_t start, uint32_t end)
{
    return (start - end) & 0x00FFFFFFu;
}

/* Instructions per operation: `ticks` for `operations` operations, minus the harness cost
   `base_ticks` measured over the same number of operations. */
static inline uint32_t per_operation(uint32_t ticks, uint32_t base_ticks, uint32_t operations)
{
    const uint64_t net = ticks > base_ticks ? (uint64_t)(ticks - base_ticks) : 0u;
    return (uint32_t)((net * INSTRUCTIONS_PER_TICK + operations / 2u) / operations);
}

/* ---------------------------------------------------------------------------------------
 * Packets
 * ------------------------------------------------------------------------------------- */

/* Swaps each of the first `words` 32-bit words, as NetX Duo's receive path does on a
   little-endian CPU before transport dispatch. */
static inline void to_host_order(uint8_t *p, unsigned words)
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

/* Device-side port of flow f: an ephemeral port. */
static inline uint16_t local_port(uint32_t f)
{
    return (uint16_t)(49152u + (f & 0x3FFFu));
}

/* One TCP segment of flow f between the device (192.0.2.10 / 2001:db8::10) and peer
   `peer_v4` (IPv4, a number: 198.18.0.1 is 0xC6120001) or 2001:2::x:y (x:y = f) on port 443,
   with `payload` bytes of data counted in the IP header (only the headers are readable, as
   for a capture at the filter). Sent: device -> peer; received: peer -> device. Returns the
   readable length. */
static inline size_t build_tcp_to(uint8_t *p, uint32_t f, bool ipv6, uint32_t peer_v4, uint32_t direction,
                                  bool host_order, uint16_t payload, uint8_t flags)
{
    memset(p, 0, PACKET_BYTES);
    const bool out = direction == NXSM_DIRECTION_OUT;
    uint8_t *src, *dst, *tcp;
    size_t length;
    if (!ipv6)
    {
        const uint16_t total = (uint16_t)(40u + payload);
        const uint8_t device[4] = {192, 0, 2, 10};
        const uint8_t peer[4] = {(uint8_t)(peer_v4 >> 24), (uint8_t)(peer_v4 >> 16), (uint8_t)(peer_v4 >> 8),
                                 (uint8_t)peer_v4};
        p[0] = 0x45;
        p[2] = (uint8_t)(total >> 8);
        p[3] = (uint8_t)total;
        p[5] = 1;
        p[6] = 0x40; /* don't fragment */
        p[8] = 64;
        p[9] = PROTO_TCP;
        src = p + 12;
        dst = p + 16;
        memcpy(out ? src : dst, device, 4);
        memcpy(out ? dst : src, peer, 4);
        tcp = p + 20;
        length = 40;
    }
    else
    {
        const uint16_t plen = (uint16_t)(20u + payload);
        const uint8_t device[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
        const uint8_t peer[16] = {
            0x20, 0x01, 0x00, 0x02, [13] = (uint8_t)(f >> 16), [14] = (uint8_t)(f >> 8), [15] = (uint8_t)f};
        p[0] = 0x60;
        p[4] = (uint8_t)(plen >> 8);
        p[5] = (uint8_t)plen;
        p[6] = PROTO_TCP;
        p[7] = 64;
        src = p + 8;
        dst = p + 24;
        memcpy(out ? src : dst, device, 16);
        memcpy(out ? dst : src, peer, 16);
        tcp = p + 40;
        length = 60;
    }
    const uint16_t local = local_port(f);
    const uint16_t sport = out ? local : 443u, dport = out ? 443u : local;
    tcp[0] = (uint8_t)(sport >> 8);
    tcp[1] = (uint8_t)sport;
    tcp[2] = (uint8_t)(dport >> 8);
    tcp[3] = (uint8_t)dport;
    tcp[12] = 0x50;
    tcp[13] = flags;
    if (host_order)
    {
        to_host_order(p, ipv6 ? 10u : 5u);
    }
    return length;
}

/* One TCP segment of flow f with peer f: 198.18.x.y / 2001:2::x:y (x.y = f), the
   benchmarking ranges. */
static inline size_t build_tcp(uint8_t *p, uint32_t f, bool ipv6, uint32_t direction, bool host_order, uint16_t payload,
                               uint8_t flags)
{
    return build_tcp_to(p, f, ipv6, 0xC6120000u + f, direction, host_order, payload, flags);
}

#endif /* NXSM_BENCH_COMMON_H */
