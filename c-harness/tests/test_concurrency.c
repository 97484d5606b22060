/*
 * The native API under real threads (run under ThreadSanitizer by the host_tsan suite):
 * swapping the ring callback while producers capture, and the bytes of a peeked message
 * while another thread changes settings.
 *
 * Shared test state is touched only with __atomic builtins, so every report a sanitizer
 * makes is about the library.
 *
 * Run with one argument to run one group: "callbacks" or "peeked".
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nxsm_test_support.h"

#include "nx_security_module.h"
#include "test_packets.h"

#define T0 1704067200u /* 2024-01-01T00:00:00Z */

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v)   __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)

/* ---- helpers ------------------------------------------------------------------------------ */

static double seconds_now(void)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Repeats a call while another context is inside the module (NXSM_ERR_BUSY). */
#define UNTIL_NOT_BUSY(result, call)   \
    do                                 \
    {                                  \
        (result) = (call);             \
        if ((result) == NXSM_ERR_BUSY) \
        {                              \
            sched_yield();             \
        }                              \
    } while ((result) == NXSM_ERR_BUSY)

/* An IPv4 UDP packet 10.0.0.1:port -> 198.51.<remote>:53 with 20 payload bytes: long
   enough for the hook's raw copy. Returns its length. */
static size_t udp4(uint8_t *p, uint32_t remote, uint32_t port)
{
    return tp_ipv4(p, 0x0A000001u, 0xC6330000u | (remote & 0xFFFFu), TP_UDP, port, 53, 20, 0, 0);
}

/* An IPv6 UDP packet 2001:db8::1:port -> 2001:db8:1::<remote>:53 with 20 payload bytes. */
static size_t udp6(uint8_t *p, uint32_t remote, uint32_t port)
{
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};

    tp_put16(dst + 14, remote);
    return tp_ipv6(p, src, dst, TP_UDP, port, 53, 20, 0, 0);
}

/* Captures `count` IPv4 and (unless the library keeps no IPv6 flows) `count` IPv6 flows,
   remotes first..first+count-1, each its own flow, and drains them into the flow table as
   it goes (the ring is smaller). */
static void add_flows(uint32_t first, uint32_t count, uint32_t now_s, int with_v6)
{
    uint8_t packet[68];
    uint32_t i;
    nxsm_result result;

    for (i = 0; i < count; i++)
    {
        assert_int_equal(nxsm_capture_out(packet, udp4(packet, first + i, 40000u)), NXSM_OK);
        if (with_v6)
        {
            assert_int_equal(nxsm_capture_out(packet, udp6(packet, first + i, 40000u)), NXSM_OK);
        }
        if ((i % 16u) == 15u || i + 1u == count)
        {
            UNTIL_NOT_BUSY(result, nxsm_drain(now_s));
            assert_int_equal(result, NXSM_OK);
        }
    }
}

static nxsm_capacities capacities(void)
{
    nxsm_capacities caps;

    memset(&caps, 0, sizeof(caps));
    caps.struct_size = (uint32_t)sizeof(caps);
    assert_int_equal(nxsm_get_capacities(&caps), NXSM_OK);
    return caps;
}

/* Every test starts and ends with the singleton stopped and without a ring callback. */
static int stopped(void **state)
{
    nxsm_result result;

    (void)state;
    UNTIL_NOT_BUSY(result, nxsm_stop());
    UNTIL_NOT_BUSY(result, nxsm_set_ring_callback(NULL, NULL, 0u));
    return result == NXSM_OK ? 0 : -1;
}

/* ---- the ring callback swapped under traffic ---------------------------------------------- */

#define CALLBACKS    4
#define SWAP_CYCLES  200000u
#define SWAP_SECONDS 3.0

/* One (function, context) pair handed to nxsm_set_ring_callback. `owner` is the function
   it was given with; `retired` is set once a later nxsm_set_ring_callback has returned. */
typedef struct
{
    unsigned owner;
    unsigned retired;
} wake_context;

static wake_context contexts[SWAP_CYCLES];
static unsigned swap_done;
static unsigned long wake_calls;
static unsigned long wake_mismatches;
static unsigned long wake_late;

static void on_wake(unsigned function, void *context)
{
    wake_context *ctx = context;

    if (ctx == NULL || LOAD(&ctx->owner) != function)
    {
        ADD(&wake_mismatches, 1ul);
    }
    /* Now and then a slow wake-up, which gives the controller time to swap meanwhile. */
    if ((ADD(&wake_calls, 1ul) % 8u) == 0u)
    {
        sched_yield();
    }
    if (ctx != NULL && LOAD(&ctx->retired) != 0u)
    {
        ADD(&wake_late, 1ul);
    }
}

static void wake_0(void *context)
{
    on_wake(0u, context);
}
static void wake_1(void *context)
{
    on_wake(1u, context);
}
static void wake_2(void *context)
{
    on_wake(2u, context);
}
static void wake_3(void *context)
{
    on_wake(3u, context);
}

static const nxsm_ring_callback wakes[CALLBACKS] = {wake_0, wake_1, wake_2, wake_3};

static void *capture_thread(void *arg)
{
    uint8_t packet[68];
    size_t length = udp4(packet, 7u, 40000u + (uint32_t)(uintptr_t)arg);

    while (LOAD(&swap_done) == 0u)
    {
        (void)nxsm_capture_out(packet, length);
    }
    return NULL;
}

static void test_ring_callback_swap_under_traffic(void **state)
{
    pthread_t producers[2];
    nxsm_config config = default_config();
    wake_context *previous = NULL;
    double deadline = seconds_now() + SWAP_SECONDS;
    nxsm_result result;
    unsigned long calls;
    unsigned cycle;
    unsigned i;

    (void)state;
    STORE(&swap_done, 0u);
    STORE(&wake_calls, 0ul);
    STORE(&wake_mismatches, 0ul);
    STORE(&wake_late, 0ul);
    for (i = 0; i < 2u; i++)
    {
        assert_int_equal(pthread_create(&producers[i], NULL, capture_thread, (void *)(uintptr_t)i), 0);
    }
    for (cycle = 0; cycle < SWAP_CYCLES && seconds_now() < deadline; cycle++)
    {
        /* Every eighth cycle removes the callback: its old one must not run after that. */
        int remove = (cycle % 8u) == 7u;
        wake_context *next = remove ? NULL : &contexts[cycle];

        UNTIL_NOT_BUSY(result, nxsm_stop());
        if (next != NULL)
        {
            STORE(&next->owner, cycle % CALLBACKS);
        }
        UNTIL_NOT_BUSY(result, nxsm_set_ring_callback(remove ? NULL : wakes[cycle % CALLBACKS], next, 1u));
        assert_int_equal(result, NXSM_OK);
        if (previous != NULL)
        {
            STORE(&previous->retired, 1u);
        }
        previous = next;
        calls = LOAD(&wake_calls);
        UNTIL_NOT_BUSY(result, nxsm_start(&config, T0, 0u));
        assert_int_equal(result, NXSM_OK);
        /* Let the new pair be called at least once (bounded: producers may be slow). */
        if (next != NULL)
        {
            double until = seconds_now() + 0.005;

            while (LOAD(&wake_calls) == calls && seconds_now() < until)
            {
                sched_yield();
            }
        }
        /* Empty the ring a few times so that the watermark is reached again. */
        for (i = 0; i < 4u; i++)
        {
            UNTIL_NOT_BUSY(result, nxsm_drain(T0));
        }
    }
    STORE(&swap_done, 1u);
    for (i = 0; i < 2u; i++)
    {
        assert_int_equal(pthread_join(producers[i], NULL), 0);
    }
    printf("ring callback swap: %u cycles, %lu calls, %lu mismatched, %lu after removal\n", cycle, LOAD(&wake_calls),
           LOAD(&wake_mismatches), LOAD(&wake_late));
    assert_true(cycle >= 50u);
    assert_true(LOAD(&wake_calls) >= 50ul);
    assert_int_equal(LOAD(&wake_mismatches), 0ul);
    assert_int_equal(LOAD(&wake_late), 0ul);
}

/* ---- a peeked message while settings change ------------------------------------------------
 * Defect 1 of issue 10: switching network activity off collects the window into the outbox,
 * which may drop the oldest message although it was handed out and not yet acknowledged.
 * The fix is in the core, on another branch: until it is merged these tests FAIL here. */

#define FIRST_COLLECTION (T0 + 30u) /* random 0: the first collection is at start + 30 s */

/* Started, with a full window collected and another one open, and ACTIVE (hub connected). */
static void active_with_two_windows(void)
{
    nxsm_config config = default_config();
    nxsm_capacities caps = capacities();
    nxsm_stats stats;
    int with_v6 = caps.max_flows_v6 > 0u;

    assert_int_equal(nxsm_start(&config, T0, 0u), NXSM_OK);
    add_flows(1u, caps.max_flows_v4, T0 + 1u, with_v6);
    stats = stats_now();
    assert_int_equal(stats.flows_v4, caps.max_flows_v4);
    assert_int_equal(stats.flows_v6, caps.max_flows_v6);
    /* No hub: the first collection's messages wait in the outbox. */
    assert_int_equal(nxsm_poll(FIRST_COLLECTION + 1u, false), NXSM_OK);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    assert_true(stats_now().outbox_messages > 0u);
    add_flows(1001u, caps.max_flows_v4, FIRST_COLLECTION + 1u, with_v6);
    assert_int_equal(nxsm_poll(FIRST_COLLECTION + 2u, true), NXSM_OK);
    assert_int_equal(state_now(), NXSM_STATE_ACTIVE);
}

static void test_peeked_message_survives_settings(void **state)
{
    static uint8_t copy[16384];
    const uint8_t *bytes = NULL;
    size_t length = 0;
    uint32_t sequence = 0;

    (void)state;
    active_with_two_windows();
    assert_int_equal(nxsm_message_peek(&bytes, &length, &sequence), NXSM_OK);
    assert_true(length > 0u && length <= sizeof(copy));
    memcpy(copy, bytes, length);
    assert_int_equal(nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH), NXSM_OK);
    assert_memory_equal(bytes, copy, length);
    assert_int_equal(nxsm_message_ack(sequence, true), NXSM_OK);
    assert_int_equal(nxsm_stop(), NXSM_OK);
}

#define PEEK_SECONDS 1.0

static unsigned peek_done;

typedef struct
{
    unsigned long sent;
    unsigned long changed; /* peeked bytes that differed from their first reading */
    unsigned long refused; /* acknowledgements of a peeked message that were refused */
} peek_counts;

/* The transport: takes the oldest message, reads its bytes a few times as a slow send
   would, then acknowledges it as sent. */
static void *consumer_thread(void *arg)
{
    static uint8_t copy[16384];
    peek_counts *counts = arg;

    while (LOAD(&peek_done) == 0u)
    {
        const uint8_t *bytes = NULL;
        size_t length = 0;
        uint32_t sequence = 0;
        nxsm_result result;
        int reading;

        UNTIL_NOT_BUSY(result, nxsm_message_peek(&bytes, &length, &sequence));
        if (result != NXSM_OK || length > sizeof(copy))
        {
            sched_yield();
            continue;
        }
        memcpy(copy, bytes, length);
        for (reading = 0; reading < 20; reading++)
        {
            sched_yield();
            if (memcmp(copy, bytes, length) != 0)
            {
                counts->changed++;
                break;
            }
        }
        UNTIL_NOT_BUSY(result, nxsm_message_ack(sequence, true));
        if (result == NXSM_OK)
        {
            counts->sent++;
        }
        else
        {
            counts->refused++;
        }
    }
    return NULL;
}

static void test_peeked_message_survives_settings_threaded(void **state)
{
    pthread_t consumer;
    peek_counts counts = {0, 0, 0};
    nxsm_capacities caps = capacities();
    double deadline;
    uint32_t round = 0;
    nxsm_result result;

    (void)state;
    active_with_two_windows();
    STORE(&peek_done, 0u);
    assert_int_equal(pthread_create(&consumer, NULL, consumer_thread, &counts), 0);
    deadline = seconds_now() + PEEK_SECONDS;
    while (seconds_now() < deadline)
    {
        /* A full window of new flows, then network activity off (collects it) and on. */
        uint32_t first = 2001u + (round % 64u) * caps.max_flows_v4;
        uint8_t packet[68];
        uint32_t i;

        for (i = 0; i < caps.max_flows_v4; i++)
        {
            (void)nxsm_capture_out(packet, udp4(packet, first + i, 40000u));
            (void)nxsm_capture_out(packet, udp6(packet, first + i, 40000u));
            if ((i % 16u) == 15u)
            {
                UNTIL_NOT_BUSY(result, nxsm_drain(FIRST_COLLECTION + 2u));
            }
        }
        UNTIL_NOT_BUSY(result, nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH));
        assert_int_equal(result, NXSM_OK);
        UNTIL_NOT_BUSY(result, nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, true, NXSM_PRIORITY_HIGH));
        assert_int_equal(result, NXSM_OK);
        round++;
    }
    STORE(&peek_done, 1u);
    assert_int_equal(pthread_join(consumer, NULL), 0);
    printf("peeked message: %u rounds, %lu sent, %lu changed while peeked, %lu refused\n", round, counts.sent,
           counts.changed, counts.refused);
    assert_true(counts.sent > 0u);
    assert_int_equal(counts.changed, 0ul);
    assert_int_equal(counts.refused, 0ul);
    assert_int_equal(nxsm_stop(), NXSM_OK);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest callbacks[] = {
        cmocka_unit_test_setup_teardown(test_ring_callback_swap_under_traffic, stopped, stopped),
    };
    const struct CMUnitTest peeked[] = {
        cmocka_unit_test_setup_teardown(test_peeked_message_survives_settings, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_peeked_message_survives_settings_threaded, stopped, stopped),
    };
    const char *group = argc > 1 ? argv[1] : "";
    int failed = 0;

    if (strcmp(group, "peeked") != 0)
    {
        failed += cmocka_run_group_tests_name("callbacks", callbacks, NULL, NULL);
    }
    if (strcmp(group, "callbacks") != 0)
    {
        failed += cmocka_run_group_tests_name("peeked", peeked, NULL, NULL);
    }
    return failed;
}
