/*
 * Cortex-M4 figures of detection under QEMU with -icount shift=0 (timing as in
 * bench_module.c, bench_common.h): what evaluating a new flow against the policy costs the
 * drain, and what a policy costs the hooks.
 *
 * The policies are blobs built into flash from JSON and a feed that bench_policy.py writes
 * (CMakeLists.txt): N IPv4 indicator /24 ranges spread over the address space, for N = 10,
 * 1,000 and 10,000, and the 1,000 ranges again with "block": ["indicator"]. Each is loaded
 * with nxsm_policy_load, as a run-time load would be (the build needs NXSM_POLICY_BYTES of
 * at least the 10,000-range blob, 100,572 bytes).
 *
 * Output, for scripts/bench:
 *   bench <key>: <N> instructions
 *   bench: done                         (or "bench: failed ..." lines and a non-zero exit)
 * Lines starting with '#' are notes for people.
 *
 * Keys:
 *   detect_flow_v4_<N>_{unlisted,listed}: instructions per new flow to evaluate it against
 *     the policy of N ranges when the drain enters it in the flow table: (drain of the
 *     records of new flows with the policy loaded - the same drain without a policy) / flows.
 *     Flows come FLOWS_PER_WINDOW (the default NXSM_MAX_ALERTS_PER_WINDOW, 8) per window, so
 *     a listed flow's figure includes raising its alert (never one counted as suppressed);
 *     the window is closed and its alerts sent between two drains, untimed.
 *   detect_hook_ipv4_{out,in}_{none,noblock,block_pass,block_drop}: nxsm_capture_out and
 *     nxsm_capture_in_host_order per packet, as bench_module.c's hook_ipv4_*_50 (50 flows,
 *     batches of 32, harness subtracted), with no policy, with the 1,000-range policy
 *     without block rules, and with the 1,000 ranges blocking: packets of unlisted
 *     remotes (they pass) and of listed ones (they are dropped: NXSM_ERR_BLOCKED).
 */
#include "bench_common.h"

#define T0               1700000000u
#define FLOWS_PER_WINDOW 8u   /* NXSM_MAX_ALERTS_PER_WINDOW's default: every listed flow alerts */
#define WINDOWS          256u /* windows per flow-evaluation case */
#define HOOK_FLOWS       50u
#define BATCH            32u
#define BATCHES          160u
#define CALLS            (BATCH * BATCHES)

extern const uint8_t bench_policy_v4_10[], bench_policy_v4_1000[], bench_policy_v4_10000[],
    bench_policy_v4_1000_block[];
extern const size_t bench_policy_v4_10_bytes, bench_policy_v4_1000_bytes, bench_policy_v4_10000_bytes,
    bench_policy_v4_1000_block_bytes;

static uint32_t now_s;
static uint8_t packets[FLOWS_PER_WINDOW > HOOK_FLOWS ? FLOWS_PER_WINDOW : HOOK_FLOWS][PACKET_BYTES];
static size_t packet_length;

/* The first address of IPv4 range i of n, as bench_policy.py lays them out: a /24 in the
   middle of each of n equal strides. */
static uint32_t range_first(uint32_t i, uint32_t n)
{
    const uint32_t stride = (uint32_t)((1ull << 32) / n) & ~0xFFu;
    return i * stride + ((stride / 2u) & ~0xFFu);
}

/* The remote of flow f against n ranges: inside a range (listed) or just past its end, in
   the gap before the next one (unlisted). Ranges are visited in a scattered order. */
static uint32_t remote_of(uint32_t f, uint32_t n, bool listed)
{
    const uint32_t first = range_first((f * 7919u) % n, n);
    return first + (listed ? 0u : 0x100u) + 1u + f % 200u;
}

static void load(const uint8_t *blob, size_t bytes, const char *name)
{
    const nxsm_result result = blob == NULL ? nxsm_policy_clear() : nxsm_policy_load(blob, bytes);
    if (result != NXSM_OK)
    {
        fail("loading %s: %s", name, nxsm_result_text(result));
    }
}

/* Closes the window (network activity off and on), sends its alerts (a poll with the hub)
   and drops every message. */
static void end_window(void)
{
    if (nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH) != NXSM_OK ||
        nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, true, NXSM_PRIORITY_HIGH) != NXSM_OK ||
        nxsm_poll(now_s, true) != NXSM_OK)
    {
        fail("closing the window");
    }
    const uint8_t *bytes = NULL;
    size_t length = 0;
    uint32_t sequence = 0;
    while (nxsm_message_peek(&bytes, &length, &sequence) == NXSM_OK)
    {
        if (nxsm_message_ack(sequence, true) != NXSM_OK)
        {
            fail("nxsm_message_ack");
            break;
        }
    }
    const nxsm_stats stats = read_stats();
    if (stats.flows_v4 != 0u || stats.outbox_messages != 0u)
    {
        fail("window not closed");
    }
}

/* Ticks of WINDOWS drains of FLOWS_PER_WINDOW records of new flows each, remotes against n
   ranges; the captures and the window's end are not timed. */
static uint32_t drain_new_flows(uint32_t n, bool listed)
{
    uint32_t ticks = 0;
    for (uint32_t w = 0; w < WINDOWS; w++)
    {
        for (uint32_t k = 0; k < FLOWS_PER_WINDOW; k++)
        {
            const uint32_t f = w * FLOWS_PER_WINDOW + k;
            const size_t length =
                build_tcp_to(packets[k], f, false, remote_of(f, n, listed), NXSM_DIRECTION_OUT, false, 0, TCP_ACK);
            if (nxsm_capture_out(packets[k], length) != NXSM_OK)
            {
                fail("capture of flow %lu", (unsigned long)f);
            }
        }
        const uint32_t start = SYST_CVR;
        (void)nxsm_drain(now_s);
        ticks += ticks_between(start, SYST_CVR);
        if (read_stats().flows_v4 != FLOWS_PER_WINDOW)
        {
            fail("drain: %lu flows in the table", (unsigned long)read_stats().flows_v4);
        }
        end_window();
    }
    return ticks;
}

static void bench_flows(void)
{
    static const struct
    {
        uint32_t n;
        const uint8_t *blob;
        const size_t *bytes;
    } policies[] = {
        {10u, bench_policy_v4_10, &bench_policy_v4_10_bytes},
        {1000u, bench_policy_v4_1000, &bench_policy_v4_1000_bytes},
        {10000u, bench_policy_v4_10000, &bench_policy_v4_10000_bytes},
    };
    const uint32_t flows = WINDOWS * FLOWS_PER_WINDOW;
    for (unsigned p = 0; p < sizeof policies / sizeof policies[0]; p++)
    {
        for (unsigned listed = 0; listed < 2u; listed++)
        {
            load(NULL, 0, "no policy");
            const uint32_t without = drain_new_flows(policies[p].n, listed != 0u);
            load(policies[p].blob, *policies[p].bytes, "the indicator policy");
            const nxsm_stats before = read_stats();
            const uint32_t with = drain_new_flows(policies[p].n, listed != 0u);
            const nxsm_stats after = read_stats();
            const uint32_t alerts = after.alerts_sent - before.alerts_sent;
            if (alerts != (listed ? flows : 0u) || after.alerts_suppressed != before.alerts_suppressed)
            {
                fail("detect_flow_v4_%lu: %lu alerts sent, %lu suppressed, for %lu %s flows",
                     (unsigned long)policies[p].n, (unsigned long)alerts,
                     (unsigned long)(after.alerts_suppressed - before.alerts_suppressed), (unsigned long)flows,
                     listed ? "listed" : "unlisted");
            }
            printf("# detect_flow_v4_%lu_%s: drain per record %lu with the policy (%lu bytes), %lu without\n",
                   (unsigned long)policies[p].n, listed ? "listed" : "unlisted",
                   (unsigned long)per_operation(with, 0, flows), (unsigned long)*policies[p].bytes,
                   (unsigned long)per_operation(without, 0, flows));
            printf("bench detect_flow_v4_%lu_%s: %lu instructions\n", (unsigned long)policies[p].n,
                   listed ? "listed" : "unlisted", (unsigned long)per_operation(with, without, flows));
        }
    }
    load(NULL, 0, "no policy");
}

/* ---------------------------------------------------------------------------------------
 * Hooks
 * ------------------------------------------------------------------------------------- */

typedef nxsm_result (*capture_fn)(const uint8_t *, size_t);

__attribute__((noinline)) static nxsm_result empty_capture(const uint8_t *p, size_t n)
{
    __asm__ volatile("" ::"r"(p), "r"(n) : "memory");
    return NXSM_OK;
}

/* Hook ticks of CALLS captures cycling over HOOK_FLOWS packets, a drain (untimed) after
   every BATCH; counts the captures that returned `expected`. */
__attribute__((noinline)) static uint32_t run_hooks(capture_fn capture, nxsm_result expected, uint32_t *matched)
{
    uint32_t ticks = 0;
    unsigned f = 0;
    *matched = 0;
    for (unsigned b = 0; b < BATCHES; b++)
    {
        const uint32_t start = SYST_CVR;
        for (unsigned i = 0; i < BATCH; i++)
        {
            if (capture(packets[f], packet_length) == expected)
            {
                (*matched)++;
            }
            f = (f + 1u == HOOK_FLOWS) ? 0u : f + 1u;
        }
        ticks += ticks_between(start, SYST_CVR);
        (void)nxsm_drain(now_s);
    }
    return ticks;
}

static void bench_hooks(void)
{
    static const struct
    {
        const char *key;
        uint32_t direction;
        capture_fn capture;
    } hooks[] = {
        {"out", NXSM_DIRECTION_OUT, nxsm_capture_out},
        {"in", NXSM_DIRECTION_IN, nxsm_capture_in_host_order},
    };
    static const struct
    {
        const char *key;
        const uint8_t *blob;
        const size_t *bytes;
        bool listed;
    } cases[] = {
        {"none", NULL, NULL, false},
        {"noblock", bench_policy_v4_1000, &bench_policy_v4_1000_bytes, false},
        {"block_pass", bench_policy_v4_1000_block, &bench_policy_v4_1000_block_bytes, false},
        {"block_drop", bench_policy_v4_1000_block, &bench_policy_v4_1000_block_bytes, true},
    };
    uint32_t ignored;
    const uint32_t base = run_hooks(empty_capture, NXSM_OK, &ignored);
    for (unsigned h = 0; h < sizeof hooks / sizeof hooks[0]; h++)
    {
        for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++)
        {
            load(cases[c].blob, cases[c].bytes ? *cases[c].bytes : 0u, cases[c].key);
            for (uint32_t f = 0; f < HOOK_FLOWS; f++)
            {
                packet_length = build_tcp_to(packets[f], f, false, remote_of(f, 1000u, cases[c].listed),
                                             hooks[h].direction, hooks[h].direction == NXSM_DIRECTION_IN, 0, TCP_ACK);
            }
            end_window();
            const nxsm_result expected = cases[c].listed ? NXSM_ERR_BLOCKED : NXSM_OK;
            const nxsm_stats before = read_stats();
            uint32_t matched;
            const uint32_t ticks = run_hooks(hooks[h].capture, expected, &matched);
            const nxsm_stats after = read_stats();
            const uint64_t blocked = after.packets_blocked - before.packets_blocked;
            if (matched != CALLS || blocked != (cases[c].listed ? CALLS : 0u))
            {
                fail("detect_hook_ipv4_%s_%s: %lu of %u captures returned %s, %lu blocked", hooks[h].key, cases[c].key,
                     (unsigned long)matched, CALLS, nxsm_result_text(expected), (unsigned long)blocked);
            }
            printf("bench detect_hook_ipv4_%s_%s: %lu instructions\n", hooks[h].key, cases[c].key,
                   (unsigned long)per_operation(ticks, base, CALLS));
        }
    }
    load(NULL, 0, "no policy");
    end_window();
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    systick_start();

    nxsm_config config;
    if (nxsm_config_default(&config) != NXSM_OK || nxsm_start(&config, T0, 0) != NXSM_OK)
    {
        printf("bench: failed to start the module\n");
        return 1;
    }
    printf("# nx-security-module %s, detection, Cortex-M instruction counts under QEMU -icount\n",
           nxsm_version_string());
    printf("# policy blobs: 10 ranges %lu bytes, 1,000 %lu, 10,000 %lu, 1,000 blocking %lu\n",
           (unsigned long)bench_policy_v4_10_bytes, (unsigned long)bench_policy_v4_1000_bytes,
           (unsigned long)bench_policy_v4_10000_bytes, (unsigned long)bench_policy_v4_1000_block_bytes);

    /* A connected hub: ACTIVE, so alerts and collections can be sent and the outbox emptied. */
    now_s = T0 + 1u;
    if (nxsm_poll(now_s, true) != NXSM_OK || read_stats().state != NXSM_STATE_ACTIVE)
    {
        fail("the module is not ACTIVE with a hub");
    }

    bench_flows();
    bench_hooks();

    return bench_finish();
}
