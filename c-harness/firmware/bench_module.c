/*
 * Cortex-M4 figures of the whole module under QEMU with -icount shift=0: the hook and the
 * flow-table aggregation for small and large traffic mixes, collections into the outbox,
 * and the worst stack depth of the hook and of a poll.
 *
 * Instruction counts come from the MPS2 SysTick as in bench_capture.c: with -icount
 * shift=0 QEMU retires one instruction per virtual nanosecond and SysTick (25 MHz) ticks
 * once per 40 instructions, identically on every run. Every figure is averaged over many
 * operations and has the cost of the measuring harness itself (counter reads, loop, call
 * through a pointer) subtracted, measured the same way around a function that does nothing.
 *
 * Stack depths are measured by painting: a small assembly routine fills the 32 KB below its
 * own stack pointer with a pattern, calls the function, and finds the deepest word that no
 * longer holds the pattern. The figure is the distance from the stack pointer at the call
 * (what the caller's frame ends at) to that word; it is exact for the inputs tried.
 *
 * Output, one figure per line, for scripts/bench:
 *   # capacities v4 <n> v6 <n> ring <n> outbox <n> message <n>
 *   bench <key>: <N> instructions      ("bench <key>: n/a" for IPv6 in a build without it)
 *   stack <key>: <N> bytes
 *   bench: done                         (or "bench: failed ..." lines and a non-zero exit)
 * Lines starting with '#' are notes for people.
 *
 * Keys: hook_ipv{4,6}_{out,in}_{50,5000} = the hooks' capture call per packet (out:
 * nxsm_capture_out, as the IP packet filter calls it, network order; in:
 * nxsm_capture_in_host_order, as the transport receive wrapper calls it), with traffic
 * cycling over 50 or 5,000 distinct flows; drain_ipv{4,6}_{50,5000} = nxsm_drain per
 * record (aggregation into the flow table; in the 5,000-flow mix most records find the
 * table full and are counted as table_full_dropped); parsed_{hook,drain}_ipv4_options_50
 * = the same for IPv4 with options, which the hook parses itself, so that drain is the
 * flow-table update alone; collect_full = one nxsm_poll at a due time collecting a full
 * window (every flow slot used) plus system information and heartbeat; serialize_record = (network-activity collection with 64 IPv4 flows - one with
 * 1 flow) / 63; stack hook / stack poll = deepest stack of the cases in stack_hook() and
 * stack_poll(), each also printed as a '#' line.
 *
 * Resolution: hook and drain figures are means over 5,120 packets; a drain runs every 32
 * records, so the drain figure includes 1/32 of the call's fixed cost. Collection figures
 * are means of 16 polls of 40-instruction ticks, good to a few instructions: the same
 * binary prints the same numbers on every run, a rebuilt harness may move them by a few.
 * Collections are driven through the public API only: system information and heartbeat
 * are moved into the high group (nxsm_set_collector) so that every 10-s collection holds
 * all three, the window is filled just before stats.next_collection_s, and the poll at
 * that time is measured with a hub connected; the outbox is then read back with
 * nxsm_message_peek / _ack and decoded to check what was collected.
 */
#include "bench_common.h"

#define T0              1700000000u
#define BATCH           32u               /* records between two drains: half the default ring */
#define BATCHES         160u              /* batches per hook case */
#define CALLS           (BATCH * BATCHES) /* 5,120 packets per hook case: every one of 5,000 flows */
#define MAX_FLOWS_MIX   5000u             /* the large traffic mix */
#define COLLECT_REPS    16u               /* measured polls averaged per collection figure */
#define SERIALIZE_FLOWS 64u               /* flows of the larger network-activity collection */
#define BASELINE_REPS   256u

/* Stack painting (see stack_probe below); plain numbers, they also go into assembly. */
#define STACK_PAINT_BYTES 32768
#define STACK_PATTERN     0xA5C3F00F
#define STR2(x)           #x
#define STR(x)            STR2(x)

static uint8_t packets[MAX_FLOWS_MIX][PACKET_BYTES];
static size_t packet_length; /* readable bytes of every packet in `packets` */
static nxsm_capacities capacities;
static uint32_t now_s; /* the time passed to the module last */

/* Fills `packets` with one TCP ACK of each of `flows` flows. */
static void make_packets(unsigned flows, bool ipv6, uint32_t direction, uint32_t order)
{
    for (unsigned f = 0; f < flows; f++)
    {
        packet_length = build_tcp(packets[f], f, ipv6, direction, order == NXSM_HEADER_HOST_ORDER, 0, TCP_ACK);
    }
}

/* ---------------------------------------------------------------------------------------
 * Messages: a reader of just enough of the wire format (docs/wire-format.md) to check what
 * a collection put in the outbox.
 * ------------------------------------------------------------------------------------- */

typedef struct
{
    uint32_t messages;
    uint32_t bytes;
    uint32_t network;   /* network-activity events (one per message of a split window) */
    uint32_t system;    /* system-information events */
    uint32_t heartbeat; /* heartbeat events */
    uint32_t v4_flows;
    uint32_t v6_flows;
    uint32_t records; /* messages of inventory, findings or audit records (events 5-7) */
    uint32_t bad;     /* messages that could not be read */
} outbox_summary;

typedef struct
{
    const uint8_t *p;
    size_t left;
    bool bad;
} reader;

static uint8_t read_u8(reader *r)
{
    if (r->left == 0)
    {
        r->bad = true;
        return 0;
    }
    r->left--;
    return *r->p++;
}

static uint32_t read_varint(reader *r)
{
    uint32_t value = 0;
    for (unsigned shift = 0; shift < 35u; shift += 7u)
    {
        const uint8_t byte = read_u8(r);
        value |= (uint32_t)(byte & 0x7Fu) << shift;
        if ((byte & 0x80u) == 0)
        {
            return value;
        }
    }
    r->bad = true;
    return 0;
}

static void skip(reader *r, size_t n)
{
    if (n > r->left)
    {
        r->bad = true;
        n = r->left;
    }
    r->p += n;
    r->left -= n;
}

/* Flows of one address family in a network-activity event: locals, then the flows. */
static uint32_t read_flows(reader *r, size_t address_bytes)
{
    skip(r, (size_t)read_varint(r) * address_bytes); /* local addresses */
    const uint32_t flows = read_varint(r);
    for (uint32_t i = 0; i < flows && !r->bad; i++)
    {
        skip(r, 1u + address_bytes + 2u + 2u + 1u + 1u); /* local, remote, ports, kind, initiator */
        for (unsigned c = 0; c < 4u; c++)
        {
            (void)read_varint(r); /* bytes in/out, packets in/out */
        }
    }
    return flows;
}

static void summarize(const uint8_t *bytes, size_t length, outbox_summary *s)
{
    reader r = {bytes, length, false};
    s->messages++;
    s->bytes += (uint32_t)length;
    if (read_u8(&r) != 3u) /* wire format 3 */
    {
        s->bad++;
        return;
    }
    skip(&r, read_varint(&r)); /* module id */
    (void)read_varint(&r);     /* module version */
    (void)read_varint(&r);     /* sequence */
    (void)read_varint(&r);     /* time */
    const uint32_t events = read_varint(&r);
    for (uint32_t e = 0; e < events && !r.bad; e++)
    {
        switch (read_varint(&r))
        {
        case 0: /* network activity */
            s->network++;
            (void)read_varint(&r); /* duration */
            (void)read_varint(&r); /* part */
            (void)read_u8(&r);     /* more */
            s->v4_flows += read_flows(&r, 4);
            s->v6_flows += read_flows(&r, 16);
            break;
        case 1: /* system information */
            s->system++;
            skip(&r, 6); /* ThreadX and NetX versions */
            for (unsigned i = 0; i < 9u; i++)
            {
                (void)read_varint(&r); /* version, capacities, intervals */
            }
            skip(&r, 2); /* collectors, capture mode */
            break;
        case 2: /* heartbeat: the last event, all varints to the end (counters may be added) */
            s->heartbeat++;
            while (!r.bad && r.left != 0)
            {
                (void)read_varint(&r);
            }
            break;
        case 5: /* inventory, findings, audit: alone in their message, not read further */
        case 6:
        case 7:
            s->records++;
            skip(&r, r.left);
            break;
        default:
            r.bad = true;
            break;
        }
    }
    if (r.bad || r.left != 0)
    {
        s->bad++;
    }
}

/* Hands every waiting message to a "hub" that takes it, summarizing them. The module must
   be ACTIVE (last poll with hub_connected true). */
static outbox_summary empty_outbox(void)
{
    outbox_summary summary;
    memset(&summary, 0, sizeof summary);
    const uint8_t *bytes = NULL;
    size_t length = 0;
    uint32_t sequence = 0;
    while (nxsm_message_peek(&bytes, &length, &sequence) == NXSM_OK)
    {
        summarize(bytes, length, &summary);
        if (nxsm_message_ack(sequence, true) != NXSM_OK)
        {
            fail("nxsm_message_ack");
            break;
        }
    }
    if (read_stats().outbox_messages != 0u)
    {
        fail("outbox not emptied (module not ACTIVE?)");
    }
    return summary;
}

/* Ends the open window (network activity off collects it, on starts a new one) and empties
   the outbox: the next case starts with empty flow tables. */
static void reset_window(void)
{
    if (nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH) != NXSM_OK ||
        nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, true, NXSM_PRIORITY_HIGH) != NXSM_OK)
    {
        fail("nxsm_set_collector");
    }
    (void)empty_outbox();
    const nxsm_stats stats = read_stats();
    if (stats.flows_v4 != 0u || stats.flows_v6 != 0u)
    {
        fail("window not reset");
    }
}

/* ---------------------------------------------------------------------------------------
 * Hook and drain: nxsm_capture per packet, nxsm_drain per record
 * ------------------------------------------------------------------------------------- */

/* The entry points the hooks call: direction and header order fixed by the hook. */
typedef nxsm_result (*capture_fn)(const uint8_t *, size_t);
typedef nxsm_result (*drain_fn)(uint32_t);
typedef nxsm_result (*poll_fn)(uint32_t, bool);

/* Same shapes as the measured calls, doing nothing: the harness's own cost. */
__attribute__((noinline)) static nxsm_result empty_capture(const uint8_t *p, size_t n)
{
    __asm__ volatile("" ::"r"(p), "r"(n) : "memory");
    return NXSM_OK;
}

__attribute__((noinline)) static nxsm_result empty_drain(uint32_t now)
{
    __asm__ volatile("" ::"r"(now) : "memory");
    return NXSM_OK;
}

__attribute__((noinline)) static nxsm_result empty_poll(uint32_t now, bool hub)
{
    __asm__ volatile("" ::"r"(now), "r"(hub) : "memory");
    return NXSM_OK;
}

typedef struct
{
    uint32_t hook_ticks;
    uint32_t drain_ticks;
    uint32_t stored; /* captures that returned NXSM_OK */
} run_result;

/* CALLS captures cycling over `flows` packets of `packets`, in batches of BATCH, each batch
   followed by one drain; the captures and the drains are timed separately. */
__attribute__((noinline)) static run_result run_batches(capture_fn capture, drain_fn drain, unsigned flows)
{
    run_result result = {0, 0, 0};
    unsigned f = 0;
    for (unsigned b = 0; b < BATCHES; b++)
    {
        uint32_t start = SYST_CVR;
        for (unsigned i = 0; i < BATCH; i++)
        {
            if (capture(packets[f], packet_length) == NXSM_OK)
            {
                result.stored++;
            }
            f = (f + 1u == flows) ? 0u : f + 1u;
        }
        result.hook_ticks += ticks_between(start, SYST_CVR);
        start = SYST_CVR;
        (void)drain(now_s);
        result.drain_ticks += ticks_between(start, SYST_CVR);
    }
    return result;
}

/* Records of a run that find the table full: the table starts empty and keeps the first
   `slots` flows, so every record of a later flow is dropped. */
static uint32_t expected_overflow(unsigned flows, uint32_t slots)
{
    uint32_t overflow = 0;
    for (uint32_t i = 0; i < CALLS; i++)
    {
        if (i % flows >= slots)
        {
            overflow++;
        }
    }
    return overflow;
}

static void bench_hooks(void)
{
    static const unsigned mixes[] = {50u, MAX_FLOWS_MIX};
    static const struct
    {
        const char *key;
        bool ipv6;
        uint32_t direction;
        uint32_t order;
        capture_fn capture;
    } cases[] = {
        {"ipv4_out", false, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER, nxsm_capture_out},
        {"ipv4_in", false, NXSM_DIRECTION_IN, NXSM_HEADER_HOST_ORDER, nxsm_capture_in_host_order},
        {"ipv6_out", true, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER, nxsm_capture_out},
        {"ipv6_in", true, NXSM_DIRECTION_IN, NXSM_HEADER_HOST_ORDER, nxsm_capture_in_host_order},
    };
    const run_result base = run_batches(empty_capture, empty_drain, 50u);

    for (unsigned m = 0; m < sizeof mixes / sizeof mixes[0]; m++)
    {
        const unsigned flows = mixes[m];
        uint32_t drain_ticks[2] = {0, 0}; /* per IP version, both directions */
        uint32_t drain_once[2][2] = {{0, 0}, {0, 0}};
        for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++)
        {
            const bool ipv6 = cases[c].ipv6;
            const uint32_t slots = ipv6 ? capacities.max_flows_v6 : capacities.max_flows_v4;
            if (ipv6 && slots == 0u)
            {
                printf("bench hook_%s_%u: n/a\n", cases[c].key, flows);
                continue;
            }
            reset_window();
            make_packets(flows, ipv6, cases[c].direction, cases[c].order);
            const nxsm_stats before = read_stats();
            const run_result r = run_batches(cases[c].capture, nxsm_drain, flows);
            const nxsm_stats after = read_stats();
            printf("bench hook_%s_%u: %lu instructions\n", cases[c].key, flows,
                   (unsigned long)per_operation(r.hook_ticks, base.hook_ticks, CALLS));
            drain_ticks[ipv6] += r.drain_ticks;
            drain_once[ipv6][cases[c].direction == NXSM_DIRECTION_IN] =
                per_operation(r.drain_ticks, base.drain_ticks, CALLS);

            const uint32_t overflow = expected_overflow(flows, slots);
            const uint64_t counted = after.packets_counted - before.packets_counted;
            const uint64_t dropped = after.table_full_dropped - before.table_full_dropped;
            const uint32_t in_table = flows < slots ? flows : slots;
            const uint32_t flows_now = ipv6 ? after.flows_v6 : after.flows_v4;
            if (r.stored != CALLS || after.packets_seen - before.packets_seen != CALLS)
            {
                fail("hook_%s_%u: %lu of %u packets recorded", cases[c].key, flows, (unsigned long)r.stored, CALLS);
            }
            if (counted + dropped != CALLS || dropped != overflow || flows_now != in_table ||
                after.ring_dropped != before.ring_dropped || after.ring_waiting != 0u)
            {
                fail("drain_%s_%u: %lu counted, %lu table-full (expected %lu), %lu flows (expected %lu)", cases[c].key,
                     flows, (unsigned long)counted, (unsigned long)dropped, (unsigned long)overflow,
                     (unsigned long)flows_now, (unsigned long)in_table);
            }
        }
        for (unsigned v = 0; v < 2u; v++)
        {
            if (v == 1u && capacities.max_flows_v6 == 0u)
            {
                printf("bench drain_ipv6_%u: n/a\n", flows);
                continue;
            }
            printf("# drain_ipv%u_%u: %lu out, %lu in; %lu%% of the records found the table full\n", v ? 6u : 4u, flows,
                   (unsigned long)drain_once[v][0], (unsigned long)drain_once[v][1],
                   (unsigned long)(expected_overflow(flows, v ? capacities.max_flows_v6 : capacities.max_flows_v4) *
                                   100u / CALLS));
            printf("bench drain_ipv%u_%u: %lu instructions\n", v ? 6u : 4u, flows,
                   (unsigned long)per_operation(drain_ticks[v], 2u * base.drain_ticks, 2u * CALLS));
        }
    }
}

/* A shape the fast path leaves to the hook's parser, IPv4 with four NOP option bytes: its
   hook cost, and the drain of records already parsed, i.e. the flow-table update alone. */
static void bench_parsed(void)
{
    const unsigned flows = 50u;
    const run_result base = run_batches(empty_capture, empty_drain, flows);

    reset_window();
    for (unsigned f = 0; f < flows; f++)
    {
        uint8_t *p = packets[f];
        (void)build_tcp(p, f, false, NXSM_DIRECTION_OUT, false, 0, TCP_ACK);
        memmove(p + 24, p + 20, 20);
        memset(p + 20, 1, 4);
        p[0] = 0x46;
        p[3] = 44;
    }
    packet_length = 44;
    const nxsm_stats before = read_stats();
    const run_result r = run_batches(nxsm_capture_out, nxsm_drain, flows);
    const nxsm_stats after = read_stats();
    if (r.stored != CALLS || after.packets_counted - before.packets_counted != CALLS || after.flows_v4 != flows)
    {
        fail("parsed_ipv4_options: %lu stored, %lu counted, %lu flows", (unsigned long)r.stored,
             (unsigned long)(after.packets_counted - before.packets_counted), (unsigned long)after.flows_v4);
    }
    printf("bench parsed_hook_ipv4_options_%u: %lu instructions\n", flows,
           (unsigned long)per_operation(r.hook_ticks, base.hook_ticks, CALLS));
    printf("bench parsed_drain_ipv4_options_%u: %lu instructions\n", flows,
           (unsigned long)per_operation(r.drain_ticks, base.drain_ticks, CALLS));
}

/* ---------------------------------------------------------------------------------------
 * Stack painting
 * ------------------------------------------------------------------------------------- */

/* A call for stack_probe: the function, its first four word arguments, and its result. */
typedef struct
{
    uintptr_t function;
    uint32_t args[4];
    uint32_t result;
} probe_call;

/* uint32_t stack_probe(probe_call *call): paints STACK_PAINT_BYTES below its stack pointer,
   calls call->function(args[0..3]) from that stack pointer, stores the result, and returns
   how many bytes below that stack pointer the deepest word differing from the pattern is.
   Written in assembly so that nothing but the measured call touches the painted region
   between painting and scanning; Armv6-M instructions only (it builds for every core).
   Pushes six registers so the call is made with an 8-byte aligned stack. */
uint32_t stack_probe(probe_call *call);
__asm__(
    ".syntax unified\n"
    ".pushsection .text.stack_probe,\"ax\",%progbits\n"
    ".thumb\n"
    ".balign 4\n"
    ".global stack_probe\n"
    ".type stack_probe, %function\n"
    ".thumb_func\n"
    "stack_probe:\n"
    "    push {r3, r4, r5, r6, r7, lr}\n"
    "    mov r4, r0\n" /* r4: the call block */
    "    mov r5, sp\n" /* r5: stack pointer at the call */
    "    ldr r6, =" STR(
        STACK_PATTERN) "\n"
                       "    ldr r7, =" STR(
                           STACK_PAINT_BYTES) "\n"
                                              "    subs r2, r5, r7\n" /* r2: lowest painted word */
                                              "    mov r1, r5\n"
                                              "1:  subs r1, r1, #4\n"
                                              "    str r6, [r1]\n"
                                              "    cmp r1, r2\n"
                                              "    bne 1b\n"
                                              "    ldr r0, [r4, #4]\n"
                                              "    ldr r1, [r4, #8]\n"
                                              "    ldr r2, [r4, #12]\n"
                                              "    ldr r3, [r4, #16]\n"
                                              "    ldr r7, [r4, #0]\n"
                                              "    blx r7\n"
                                              "    str r0, [r4, #20]\n"
                                              "    ldr r7, =" STR(
                                                  STACK_PAINT_BYTES) "\n"
                                                                     "    subs r1, r5, r7\n" /* scan up from the lowest painted word */
                                                                     "2:  ldr r2, [r1]\n"
                                                                     "    cmp r2, r6\n"
                                                                     "    bne 3f\n"
                                                                     "    adds r1, r1, #4\n"
                                                                     "    cmp r1, r5\n"
                                                                     "    bne 2b\n"
                                                                     "3:  subs r0, r5, r1\n" /* bytes used below the stack pointer at the call */
                                                                     "    pop {r3, r4, r5, r6, r7, pc}\n"
                                                                     ".ltorg\n"
                                                                     ".size stack_probe, .-stack_probe\n"
                                                                     ".popsection\n");

typedef struct
{
    const char *key;
    uint32_t deepest;
    const char *deepest_case;
    unsigned cases;
} stack_record;

static void stack_note(stack_record *record, const char *name, uint32_t bytes)
{
    printf("# stack %s, %s: %lu bytes\n", record->key, name, (unsigned long)bytes);
    if (bytes >= (uint32_t)STACK_PAINT_BYTES)
    {
        fail("stack probe %s: deeper than the %u painted bytes", name, (unsigned)STACK_PAINT_BYTES);
    }
    record->cases++;
    if (bytes > record->deepest)
    {
        record->deepest = bytes;
        record->deepest_case = name;
    }
}

/* Writes `words` words of its own stack: a known depth for checking the probe. */
__attribute__((noinline)) static uint32_t use_stack(uint32_t words)
{
    volatile uint32_t local[64];
    for (uint32_t i = 0; i < words && i < 64u; i++)
    {
        local[i] = i;
    }
    return local[0];
}

/* The probe sees nothing for a call that uses no stack, and a 256-byte local array (plus the
   callee's saved registers) for one that fills it. */
static void stack_probe_check(void)
{
    probe_call none = {(uintptr_t)empty_drain, {0, 0, 0, 0}, 0};
    probe_call array = {(uintptr_t)use_stack, {64, 0, 0, 0}, 0};
    const uint32_t none_bytes = stack_probe(&none);
    const uint32_t array_bytes = stack_probe(&array);
    printf("# stack probe check: empty function %lu bytes, 256-byte local array %lu bytes\n", (unsigned long)none_bytes,
           (unsigned long)array_bytes);
    if (none_bytes != 0u || array_bytes < 256u || array_bytes > 256u + 64u)
    {
        fail("stack probe check");
    }
}

static nxsm_result probe_capture(stack_record *record, const char *name, const uint8_t *p, size_t n, uint32_t direction,
                                 uint32_t order)
{
    probe_call call = {(uintptr_t)nxsm_capture, {(uint32_t)(uintptr_t)p, (uint32_t)n, direction, order}, 0};
    stack_note(record, name, stack_probe(&call));
    return (nxsm_result)call.result;
}

static nxsm_result probe_poll(stack_record *record, const char *name, uint32_t now, bool hub)
{
    probe_call call = {(uintptr_t)nxsm_poll, {now, hub ? 1u : 0u, 0, 0}, 0};
    stack_note(record, name, stack_probe(&call));
    return (nxsm_result)call.result;
}

/* Checks that a probed capture had the outcome the case is about. */
static void expect_result(const char *name, nxsm_result got, nxsm_result want)
{
    if (got != want)
    {
        fail("stack case %s: %s, expected %s", name, nxsm_result_text(got), nxsm_result_text(want));
    }
}

/* Stack cases: TCP over both IP versions, every direction and header order of the hooks. */
static void stack_hook_tcp(stack_record *record, uint8_t *p, nxsm_result v6_ok)
{
    static const struct
    {
        const char *name;
        bool ipv6;
        uint32_t direction;
        uint32_t order;
    } tcp_cases[] = {
        {"ipv4 tcp out (filter)", false, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER},
        {"ipv4 tcp in (receive wrapper)", false, NXSM_DIRECTION_IN, NXSM_HEADER_HOST_ORDER},
        {"ipv4 tcp in (filter, ip-input)", false, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER},
        {"ipv6 tcp out (filter)", true, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER},
        {"ipv6 tcp in (receive wrapper)", true, NXSM_DIRECTION_IN, NXSM_HEADER_HOST_ORDER},
        {"ipv6 tcp in (filter, ip-input)", true, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER},
    };
    for (unsigned c = 0; c < sizeof tcp_cases / sizeof tcp_cases[0]; c++)
    {
        size_t n = build_tcp(p, 7, tcp_cases[c].ipv6, tcp_cases[c].direction,
                             tcp_cases[c].order == NXSM_HEADER_HOST_ORDER, 100, TCP_SYN | TCP_ACK);
        expect_result(tcp_cases[c].name,
                      probe_capture(record, tcp_cases[c].name, p, n, tcp_cases[c].direction, tcp_cases[c].order),
                      tcp_cases[c].ipv6 ? v6_ok : NXSM_OK);
    }
}

/* Stack cases: UDP and ICMP over IPv4 (network order), ICMPv6. */
static void stack_hook_udp_icmp(stack_record *record, uint8_t *p, nxsm_result v6_ok)
{
    (void)build_tcp(p, 8, false, NXSM_DIRECTION_IN, false, 0, 0);
    p[9] = PROTO_UDP;
    p[24] = 0;
    p[25] = 20; /* UDP length: 8 + 12 data bytes, as the IP total length says */
    expect_result("ipv4 udp in",
                  probe_capture(record, "ipv4 udp in", p, 28, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER), NXSM_OK);
    (void)build_tcp(p, 9, false, NXSM_DIRECTION_OUT, false, 0, 0);
    p[9] = PROTO_ICMP;
    p[20] = 8;
    p[21] = 0; /* echo request */
    expect_result("ipv4 icmp out",
                  probe_capture(record, "ipv4 icmp out", p, 28, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER),
                  NXSM_OK);
    (void)build_tcp(p, 10, true, NXSM_DIRECTION_IN, false, 0, 0);
    p[6] = PROTO_ICMPV6;
    p[40] = 128; /* echo request */
    expect_result("ipv6 icmpv6 in",
                  probe_capture(record, "ipv6 icmpv6 in", p, 48, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER), v6_ok);
}

/* Stack cases: IPv6 with a hop-by-hop header and a first-fragment header before TCP (the
   extension walk), then the same cut off by the buffer. */
static void stack_hook_extensions(stack_record *record, uint8_t *p, nxsm_result v6_ok)
{
    uint8_t tcp_header[20];
    (void)build_tcp(p, 11, true, NXSM_DIRECTION_IN, false, 0, TCP_ACK);
    memcpy(tcp_header, p + 40, sizeof tcp_header);
    p[4] = 0;
    p[5] = 8 + 8 + 20 + 100; /* payload length */
    p[6] = PROTO_HOP_BY_HOP;
    memset(p + 40, 0, 16);
    p[40] = PROTO_FRAGMENT;
    p[41] = 0; /* hop-by-hop, 8 bytes */
    p[42] = 1;
    p[43] = 4; /* PadN */
    p[48] = PROTO_TCP;
    p[51] = 1; /* fragment offset 0, more fragments */
    memcpy(p + 56, tcp_header, sizeof tcp_header);
    expect_result(
        "ipv6 hop-by-hop + fragment + tcp",
        probe_capture(record, "ipv6 hop-by-hop + fragment + tcp", p, 76, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER),
        v6_ok);
    /* The same with the extension header cut off by the buffer: malformed. */
    expect_result("ipv6 extension header past the buffer",
                  probe_capture(record, "ipv6 extension header past the buffer", p, 52, NXSM_DIRECTION_IN,
                                NXSM_HEADER_NETWORK_ORDER),
                  NXSM_ERR_MALFORMED);
}

/* Stack cases: malformed and ignored IPv4. */
static void stack_hook_malformed_ipv4(stack_record *record, uint8_t *p)
{
    const size_t n = build_tcp(p, 12, false, NXSM_DIRECTION_IN, false, 0, TCP_ACK);
    expect_result("ipv4 truncated header",
                  probe_capture(record, "ipv4 truncated header", p, 12, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER),
                  NXSM_ERR_MALFORMED);
    expect_result("ipv4 tcp header missing",
                  probe_capture(record, "ipv4 tcp header missing", p, 30, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER),
                  NXSM_ERR_MALFORMED);
    p[0] = 0x4F; /* 60-byte header claimed, 40 bytes there */
    expect_result(
        "ipv4 header length past the buffer",
        probe_capture(record, "ipv4 header length past the buffer", p, n, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER),
        NXSM_ERR_MALFORMED);
    p[0] = 0x45;
    p[9] = PROTO_GRE;
    /* Queued as a raw header (the drain counts it as ignored), and too short for that:
       parsed in the hook. */
    expect_result("ipv4 other protocol",
                  probe_capture(record, "ipv4 other protocol", p, n, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER),
                  NXSM_OK);
    expect_result(
        "ipv4 other protocol, short",
        probe_capture(record, "ipv4 other protocol, short", p, 24, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER),
        NXSM_ERR_NOT_RECORDED);
}

/* Stack cases: a full flow table (the hook does not see it: the drain counts the drop), then
   a full ring. */
static void stack_hook_full(stack_record *record, uint8_t *p, bool v6)
{
    size_t n;
    for (uint32_t f = 0; f < capacities.max_flows_v4; f++)
    {
        n = build_tcp(p, 1000u + f, false, NXSM_DIRECTION_OUT, false, 0, TCP_ACK);
        if (nxsm_capture(p, n, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER) != NXSM_OK)
        {
            fail("stack case full table: capture");
        }
        if ((f + 1u) % BATCH == 0u)
        {
            (void)nxsm_drain(now_s);
        }
    }
    (void)nxsm_drain(now_s);
    if (read_stats().flows_v4 != capacities.max_flows_v4)
    {
        fail("stack case full table: the table is not full");
    }
    n = build_tcp(p, 5000u, false, NXSM_DIRECTION_OUT, false, 0, TCP_ACK);
    expect_result(
        "ipv4 new flow, flow table full",
        probe_capture(record, "ipv4 new flow, flow table full", p, n, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER),
        NXSM_OK);
    for (uint32_t i = read_stats().ring_waiting; i < capacities.ring_slots; i++)
    {
        (void)nxsm_capture(p, n, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER);
    }
    expect_result("ipv4 ring full",
                  probe_capture(record, "ipv4 ring full", p, n, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER),
                  NXSM_ERR_RING_FULL);
    n = build_tcp(p, 13, true, NXSM_DIRECTION_OUT, false, 0, TCP_ACK);
    expect_result("ipv6 ring full",
                  probe_capture(record, "ipv6 ring full", p, n, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER),
                  v6 ? NXSM_ERR_RING_FULL : NXSM_ERR_NOT_RECORDED);
}

/* nxsm_capture on every kind of packet the hooks hand over, plus the error paths. */
static void stack_hook(void)
{
    stack_record record = {"hook", 0, "none", 0};
    uint8_t p[PACKET_BYTES + 16];
    const bool v6 = capacities.max_flows_v6 != 0u;
    const nxsm_result v6_ok = v6 ? NXSM_OK : NXSM_ERR_NOT_RECORDED;

    reset_window();
    stack_hook_tcp(&record, p, v6_ok);
    stack_hook_udp_icmp(&record, p, v6_ok);
    stack_hook_extensions(&record, p, v6_ok);
    stack_hook_malformed_ipv4(&record, p);
    stack_hook_full(&record, p, v6);
    (void)nxsm_drain(now_s);
    reset_window();

    printf("# stack hook: deepest of %u nxsm_capture cases: %s\n", record.cases, record.deepest_case);
    printf("stack hook: %lu bytes\n", (unsigned long)record.deepest);
}

/* ---------------------------------------------------------------------------------------
 * Collections: nxsm_poll at the due time
 * ------------------------------------------------------------------------------------- */

/* Puts n4 IPv4 and n6 IPv6 flows in the window at time t: one segment each way per flow
   (1,000 data bytes in, 100 out), drained as the ring fills. */
static void fill_window(uint32_t n4, uint32_t n6, uint32_t t)
{
    uint8_t p[PACKET_BYTES];
    unsigned in_ring = 0;
    for (unsigned v = 0; v < 2u; v++)
    {
        const uint32_t n = v ? n6 : n4;
        for (uint32_t f = 0; f < n; f++)
        {
            for (unsigned d = 0; d < 2u; d++)
            {
                const uint32_t direction = d ? NXSM_DIRECTION_IN : NXSM_DIRECTION_OUT;
                const size_t length = build_tcp(p, f, v != 0u, direction, false, d ? 1000u : 100u, TCP_ACK);
                if (nxsm_capture(p, length, direction, NXSM_HEADER_NETWORK_ORDER) != NXSM_OK)
                {
                    fail("fill_window: capture");
                }
                if (++in_ring == BATCH)
                {
                    (void)nxsm_drain(t);
                    in_ring = 0;
                }
            }
        }
    }
    (void)nxsm_drain(t);
    now_s = t;
}

__attribute__((noinline)) static uint32_t timed_poll(poll_fn poll, uint32_t t, nxsm_result *result)
{
    const uint32_t start = SYST_CVR;
    *result = poll(t, true);
    return ticks_between(start, SYST_CVR);
}

/* Ticks of the harness of one timed poll, summed over `reps` polls. */
static uint32_t poll_baseline(uint32_t reps)
{
    uint32_t ticks = 0;
    nxsm_result ignored;
    for (uint32_t i = 0; i < reps; i++)
    {
        ticks += timed_poll(empty_poll, now_s, &ignored);
    }
    return ticks;
}

/* One collection: fills the window with n4 + n6 flows just before the next due time, polls
   at that time (timed, or through the stack probe when `stack` is given), then checks that
   the poll collected exactly that window plus the expected other events, and empties the
   outbox. Returns the poll's ticks (0 for a probed poll). */
static uint32_t collect_once(uint32_t n4, uint32_t n6, bool others, stack_record *stack, const char *name,
                             outbox_summary *summary)
{
    nxsm_stats before = read_stats();
    const uint32_t due = before.next_collection_s;
    if (due <= now_s)
    {
        fail("%s: next collection at %lu, now %lu", name, (unsigned long)due, (unsigned long)now_s);
        return 0;
    }
    fill_window(n4, n6, due - 1u);
    /* The audit records of the window reset (network activity off and on) go out here, so
       the timed poll makes the collection alone. */
    if (nxsm_poll(due - 1u, true) != NXSM_OK)
    {
        fail("%s: poll before the collection", name);
    }
    (void)empty_outbox();
    before = read_stats();
    if (before.flows_v4 != n4 || before.flows_v6 != n6 || before.ring_waiting != 0u || before.outbox_messages != 0u)
    {
        fail("%s: window holds %lu + %lu flows, expected %lu + %lu", name, (unsigned long)before.flows_v4,
             (unsigned long)before.flows_v6, (unsigned long)n4, (unsigned long)n6);
    }
    uint32_t ticks = 0;
    nxsm_result result;
    if (stack != NULL)
    {
        result = probe_poll(stack, name, due, true);
    }
    else
    {
        ticks = timed_poll(nxsm_poll, due, &result);
    }
    now_s = due;
    const nxsm_stats after = read_stats();
    const outbox_summary s = empty_outbox();
    const uint32_t built = after.messages_built - before.messages_built;
    if (result != NXSM_OK || after.collections - before.collections != 1u || built == 0u || after.flows_v4 != 0u ||
        after.flows_v6 != 0u || after.messages_dropped != before.messages_dropped || s.messages != built ||
        s.bad != 0u || s.v4_flows != n4 || s.v6_flows != n6 || s.network != built || s.system != (others ? 1u : 0u) ||
        s.heartbeat != (others ? 1u : 0u))
    {
        fail("%s: poll %s, %lu collections, %lu messages (%lu unreadable, %lu dropped) with %lu + %lu flows, "
             "%lu system information, %lu heartbeat",
             name, nxsm_result_text(result), (unsigned long)(after.collections - before.collections),
             (unsigned long)built, (unsigned long)s.bad,
             (unsigned long)(after.messages_dropped - before.messages_dropped), (unsigned long)s.v4_flows,
             (unsigned long)s.v6_flows, (unsigned long)s.system, (unsigned long)s.heartbeat);
    }
    if (summary != NULL)
    {
        *summary = s;
    }
    return ticks;
}

/* Average instructions of COLLECT_REPS collections of n4 + n6 flows, harness subtracted. */
static uint32_t bench_collection(uint32_t n4, uint32_t n6, bool others, const char *name, outbox_summary *summary)
{
    uint32_t ticks = 0;
    for (unsigned rep = 0; rep < COLLECT_REPS; rep++)
    {
        ticks += collect_once(n4, n6, others, NULL, name, summary);
    }
    return per_operation(ticks, poll_baseline(COLLECT_REPS), COLLECT_REPS);
}

/* System information and heartbeat join network activity in the high group, so every
   collection (every 10 s) carries all three; or they are switched off. */
static void other_collectors(bool enabled)
{
    if (nxsm_set_collector(NXSM_COLLECTOR_SYSTEM_INFORMATION, enabled, NXSM_PRIORITY_HIGH) != NXSM_OK ||
        nxsm_set_collector(NXSM_COLLECTOR_HEARTBEAT, enabled, NXSM_PRIORITY_HIGH) != NXSM_OK)
    {
        fail("nxsm_set_collector");
    }
}

static void bench_collections(void)
{
    const uint32_t n4 = capacities.max_flows_v4;
    const uint32_t n6 = capacities.max_flows_v6;
    outbox_summary s;

    other_collectors(true);
    (void)collect_once(1, 0, true, NULL, "first collection", NULL); /* unmeasured */

    const uint32_t full = bench_collection(n4, n6, true, "collect_full", &s);
    printf("# collect_full: %lu IPv4 + %lu IPv6 flows, system information and heartbeat in %lu messages "
           "(%lu bytes)\n",
           (unsigned long)n4, (unsigned long)n6, (unsigned long)s.messages, (unsigned long)s.bytes);
    printf("bench collect_full: %lu instructions\n", (unsigned long)full);

    other_collectors(false);
    const uint32_t many = n4 < SERIALIZE_FLOWS ? n4 : SERIALIZE_FLOWS;
    const uint32_t one = bench_collection(1, 0, false, "network activity, 1 flow", &s);
    const uint32_t one_bytes = s.bytes;
    const uint32_t lots = bench_collection(many, 0, false, "network activity, 64 flows", &s);
    printf("# serialize_record: network-activity collection of %lu IPv4 flows %lu instructions (%lu messages, "
           "%lu bytes), of 1 flow %lu (%lu bytes)\n",
           (unsigned long)many, (unsigned long)lots, (unsigned long)s.messages, (unsigned long)s.bytes,
           (unsigned long)one, (unsigned long)one_bytes);
    if (many < 2u)
    {
        printf("bench serialize_record: n/a\n");
    }
    else
    {
        const uint32_t per = lots > one ? (lots - one + (many - 1u) / 2u) / (many - 1u) : 0u;
        printf("bench serialize_record: %lu instructions\n", (unsigned long)per);
    }
}

/* nxsm_poll: draining a full ring, collections small and full (a split window), and a
   collection that finds the outbox full. */
static void stack_poll(void)
{
    stack_record record = {"poll", 0, "none", 0};
    uint8_t p[PACKET_BYTES];

    /* Nothing due, a full ring to drain (new flows into the table). */
    for (uint32_t i = 0; i < capacities.ring_slots; i++)
    {
        const size_t n = build_tcp(p, 2000u + i, (i & 1u) != 0u && capacities.max_flows_v6 != 0u, NXSM_DIRECTION_OUT,
                                   false, 0, TCP_ACK);
        (void)nxsm_capture(p, n, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER);
    }
    if (read_stats().ring_waiting != capacities.ring_slots)
    {
        fail("stack case poll draining a full ring: the ring is not full");
    }
    if (probe_poll(&record, "draining a full ring", now_s, true) != NXSM_OK || read_stats().ring_waiting != 0u)
    {
        fail("stack case poll draining a full ring");
    }
    reset_window();

    other_collectors(false);
    (void)collect_once(1, 0, false, &record, "network activity, 1 flow", NULL);
    (void)collect_once(capacities.max_flows_v4, 0, false, &record, "network activity, full IPv4 table", NULL);
    other_collectors(true);
    (void)collect_once(capacities.max_flows_v4, capacities.max_flows_v6, true, &record,
                       "full window (split) + system information + heartbeat", NULL);

    /* The outbox full of unsent messages: collecting drops the oldest. Hub disconnected so
       nothing is handed out, then reconnected to empty it. */
    uint32_t dropped = read_stats().messages_dropped;
    for (unsigned round = 0; round < 8u && read_stats().messages_dropped == dropped; round++)
    {
        const uint32_t due = read_stats().next_collection_s;
        fill_window(capacities.max_flows_v4, capacities.max_flows_v6, due - 1u);
        const char *name = round == 0u ? "collection with the hub away (ACTIVE -> PENDING)"
                                       : "collection into a full outbox (drops the oldest)";
        if (probe_poll(&record, name, due, false) != NXSM_OK)
        {
            fail("stack case collection into a full outbox");
        }
        now_s = due;
    }
    if (read_stats().messages_dropped == dropped)
    {
        fail("stack case collection into a full outbox: nothing was dropped");
    }
    if (nxsm_poll(now_s, true) != NXSM_OK)
    {
        fail("poll with the hub back");
    }
    (void)empty_outbox();

    printf("# stack poll: deepest of %u nxsm_poll cases: %s\n", record.cases, record.deepest_case);
    printf("stack poll: %lu bytes\n", (unsigned long)record.deepest);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    systick_start();

    capacities.struct_size = sizeof capacities;
    nxsm_config config;
    if (nxsm_get_capacities(&capacities) != NXSM_OK || nxsm_config_default(&config) != NXSM_OK ||
        nxsm_start(&config, T0, 0) != NXSM_OK)
    {
        printf("bench: failed to start the module\n");
        return 1;
    }
    printf("# nx-security-module %s, Cortex-M instruction counts under QEMU -icount\n", nxsm_version_string());
    printf("# capacities v4 %lu v6 %lu ring %lu outbox %lu message %lu\n", (unsigned long)capacities.max_flows_v4,
           (unsigned long)capacities.max_flows_v6, (unsigned long)capacities.ring_slots,
           (unsigned long)capacities.outbox_bytes, (unsigned long)capacities.max_message_bytes);

    /* A connected hub: ACTIVE, so the outbox can be emptied between cases. */
    now_s = T0 + 1u;
    if (nxsm_poll(now_s, true) != NXSM_OK || read_stats().state != NXSM_STATE_ACTIVE)
    {
        fail("the module is not ACTIVE with a hub");
    }

    bench_hooks();
    bench_parsed();
    stack_probe_check();
    stack_hook();
    bench_collections();
    stack_poll();

    const nxsm_stats stats = read_stats();
    printf("# totals: %lu packets seen, %lu counted, %lu table-full, %lu ring drops, %lu collections, "
           "%lu messages built, %lu dropped\n",
           (unsigned long)stats.packets_seen, (unsigned long)stats.packets_counted,
           (unsigned long)stats.table_full_dropped, (unsigned long)stats.ring_dropped, (unsigned long)stats.collections,
           (unsigned long)stats.messages_built, (unsigned long)stats.messages_dropped);
    return bench_finish();
}
