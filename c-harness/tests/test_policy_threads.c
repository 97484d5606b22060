/*
 * The detection policy under real threads (run under ThreadSanitizer by the host_tsan
 * suite): one thread loads policy A and policy B alternately while others read what is
 * active with nxsm_policy_info; every snapshot must be A's or B's, whole, never a mix of
 * the two, and never "no policy" (one is always active). A second test swaps them while
 * producers capture packets that A or B block and a consumer drains and polls (evaluating
 * every new flow against the policy in force): each verdict must be one A or B gives.
 *
 * The blobs are c-harness/data/policy/a.bin and b.bin (compiled from the JSON beside them;
 * `cargo test -p nxsm-policy` checks they are current), read at run time from
 * NXSM_POLICY_DATA_DIR.
 *
 * Shared test state is touched only with __atomic builtins, so every report a sanitizer
 * makes is about the library.
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

#include "nx_security_module.h"
#include "test_packets.h"

#ifndef NXSM_POLICY_DATA_DIR
#error "NXSM_POLICY_DATA_DIR (c-harness/data/policy) is set by c-harness/CMakeLists.txt"
#endif

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v)   __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)

#define READERS     2
#define RUN_SECONDS 1.0
#define MAX_BLOB    1024u /* the default NXSM_POLICY_BYTES; the test blobs are far smaller */
#define LEAST_LOADS 50ul

/* ---- the two policies --------------------------------------------------------------------- */

struct policy
{
    uint8_t blob[MAX_BLOB];
    size_t length;
    nxsm_policy_summary expected;
};

static struct policy policy_a;
static struct policy policy_b;

static uint32_t word_at(const uint8_t *blob, size_t word)
{
    const uint8_t *p = blob + word * 4u;

    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads NXSM_POLICY_DATA_DIR/name and what nxsm_policy_info must report once it is active,
   from its header (docs/policy-format.md: crc32 word 4, flags word 2, counts words 8-13). */
static void read_policy(const char *name, struct policy *policy)
{
    char path[512];
    FILE *file;

    (void)snprintf(path, sizeof(path), "%s/%s", NXSM_POLICY_DATA_DIR, name);
    file = fopen(path, "rb");
    if (file == NULL)
    {
        fail_msg("cannot open %s", path);
    }
    policy->length = fread(policy->blob, 1, sizeof(policy->blob), file);
    assert_int_equal(fclose(file), 0);
    assert_true(policy->length >= 56u && policy->length < sizeof(policy->blob));

    memset(&policy->expected, 0, sizeof(policy->expected));
    policy->expected.struct_size = (uint32_t)sizeof(nxsm_policy_summary);
    policy->expected.loaded = true;
    policy->expected.crc32 = word_at(policy->blob, 4);
    policy->expected.flags = word_at(policy->blob, 2);
    policy->expected.indicators_v4 = word_at(policy->blob, 8);
    policy->expected.indicators_v6 = word_at(policy->blob, 9);
    policy->expected.allowed_v4 = word_at(policy->blob, 10);
    policy->expected.allowed_v6 = word_at(policy->blob, 11);
    policy->expected.tcp_ports = word_at(policy->blob, 12);
    policy->expected.udp_ports = word_at(policy->blob, 13);
}

static int same(const nxsm_policy_summary *a, const nxsm_policy_summary *b)
{
    return a->struct_size == b->struct_size && a->loaded == b->loaded && a->crc32 == b->crc32 && a->flags == b->flags &&
           a->indicators_v4 == b->indicators_v4 && a->indicators_v6 == b->indicators_v6 &&
           a->allowed_v4 == b->allowed_v4 && a->allowed_v6 == b->allowed_v6 && a->tcp_ports == b->tcp_ports &&
           a->udp_ports == b->udp_ports;
}

static nxsm_result info_now(nxsm_policy_summary *info)
{
    memset(info, 0xA5, sizeof(*info));
    info->struct_size = (uint32_t)sizeof(*info);
    return nxsm_policy_info(info);
}

static int setup(void **state)
{
    (void)state;
    read_policy("a.bin", &policy_a);
    read_policy("b.bin", &policy_b);
    return nxsm_policy_clear() == NXSM_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nxsm_policy_clear() == NXSM_OK ? 0 : -1;
}

/* ---- single-threaded: the blobs load and report themselves -------------------------------- */

static void test_each_policy_reports_itself(void **state)
{
    nxsm_policy_summary info;

    (void)state;
    /* The two differ in name and in every count the threaded test compares. */
    assert_int_not_equal(policy_a.expected.crc32, policy_b.expected.crc32);
    assert_false(same(&policy_a.expected, &policy_b.expected));

    assert_int_equal(info_now(&info), NXSM_OK);
    assert_false(info.loaded);
    assert_int_equal(info.crc32, 0u);

    assert_int_equal(nxsm_policy_load(policy_a.blob, policy_a.length), NXSM_OK);
    assert_int_equal(info_now(&info), NXSM_OK);
    assert_true(same(&info, &policy_a.expected));
    assert_int_equal(nxsm_policy_load(policy_b.blob, policy_b.length), NXSM_OK);
    assert_int_equal(info_now(&info), NXSM_OK);
    assert_true(same(&info, &policy_b.expected));

    /* A refused load (one byte short) leaves B active. */
    assert_int_equal(nxsm_policy_load(policy_a.blob, policy_a.length - 1u), NXSM_ERR_POLICY_TRUNCATED);
    assert_int_equal(info_now(&info), NXSM_OK);
    assert_true(same(&info, &policy_b.expected));

    assert_int_equal(nxsm_policy_clear(), NXSM_OK);
    assert_int_equal(info_now(&info), NXSM_OK);
    assert_false(info.loaded);
}

/* ---- threads: a loader swapping A and B, readers taking snapshots ------------------------- */

struct counts
{
    unsigned long loads;
    unsigned long loads_busy;
    unsigned long reads;
    unsigned long reads_busy;
    unsigned long seen_a;
    unsigned long seen_b;
    unsigned long mixed;
    unsigned long errors;
};

static struct counts counts;
static int done;

static void *loader_thread(void *arg)
{
    unsigned long round = 0;

    (void)arg;
    while (!LOAD(&done))
    {
        /* A, B, B, A, A, B, ...: successful loads alternate between the two buffers, so
           a strict A/B alternation would always put A in one and B in the other, and a
           reader could never see one policy's words under the other's layout. */
        const struct policy *next = ((round + 1u) / 2u % 2u == 0u) ? &policy_a : &policy_b;
        nxsm_result result = nxsm_policy_load(next->blob, next->length);

        if (result == NXSM_OK)
        {
            (void)ADD(&counts.loads, 1ul);
            round++;
        }
        else if (result == NXSM_ERR_BUSY)
        {
            /* A reader still reads the buffer this load needs: try again. */
            (void)ADD(&counts.loads_busy, 1ul);
            sched_yield();
        }
        else
        {
            (void)ADD(&counts.errors, 1ul);
            STORE(&done, 1);
        }
    }
    return NULL;
}

static void *reader_thread(void *arg)
{
    nxsm_policy_summary info;

    (void)arg;
    while (!LOAD(&done))
    {
        nxsm_result result = info_now(&info);

        if (result == NXSM_ERR_BUSY)
        {
            (void)ADD(&counts.reads_busy, 1ul);
            continue;
        }
        if (result != NXSM_OK)
        {
            (void)ADD(&counts.errors, 1ul);
            STORE(&done, 1);
            break;
        }
        (void)ADD(&counts.reads, 1ul);
        if (same(&info, &policy_a.expected))
        {
            (void)ADD(&counts.seen_a, 1ul);
        }
        else if (same(&info, &policy_b.expected))
        {
            (void)ADD(&counts.seen_b, 1ul);
        }
        else
        {
            (void)ADD(&counts.mixed, 1ul);
            fprintf(stderr, "mixed snapshot: loaded %d crc32 0x%08X flags 0x%X counts %u %u %u %u %u %u\n",
                    (int)info.loaded, (unsigned)info.crc32, (unsigned)info.flags, (unsigned)info.indicators_v4,
                    (unsigned)info.indicators_v6, (unsigned)info.allowed_v4, (unsigned)info.allowed_v6,
                    (unsigned)info.tcp_ports, (unsigned)info.udp_ports);
        }
    }
    return NULL;
}

static double seconds_now(void)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void test_snapshots_are_whole_while_policies_swap(void **state)
{
    pthread_t loader;
    pthread_t readers[READERS];
    struct timespec pause = {0, 1000000};
    double until;
    int i;

    (void)state;
    memset(&counts, 0, sizeof(counts));
    STORE(&done, 0);
    assert_int_equal(nxsm_policy_load(policy_a.blob, policy_a.length), NXSM_OK);

    for (i = 0; i < READERS; i++)
    {
        assert_int_equal(pthread_create(&readers[i], NULL, reader_thread, NULL), 0);
    }
    assert_int_equal(pthread_create(&loader, NULL, loader_thread, NULL), 0);
    until = seconds_now() + RUN_SECONDS;
    /* Run for the time, and at least until enough loads finished (slow under TSan). */
    while (!LOAD(&done) && (seconds_now() < until || LOAD(&counts.loads) < LEAST_LOADS) && seconds_now() < until + 30.0)
    {
        (void)nanosleep(&pause, NULL);
    }
    STORE(&done, 1);
    assert_int_equal(pthread_join(loader, NULL), 0);
    for (i = 0; i < READERS; i++)
    {
        assert_int_equal(pthread_join(readers[i], NULL), 0);
    }

    printf("policy swaps: %lu loads (%lu busy), %lu snapshots (%lu busy): %lu A, %lu B, %lu mixed\n", counts.loads,
           counts.loads_busy, counts.reads, counts.reads_busy, counts.seen_a, counts.seen_b, counts.mixed);
    assert_int_equal(counts.errors, 0ul);
    assert_int_equal(counts.mixed, 0ul);
    assert_true(counts.loads >= LEAST_LOADS);
    assert_true(counts.reads > 0ul);
    assert_int_equal(counts.seen_a + counts.seen_b, counts.reads);
}

/* ---- swaps while hooks block and the consumer evaluates ----------------------------------- */

#define DEVICE 0xC000020Au /* 192.0.2.10 */
#define T0     1700000000u

/* Sent UDP datagrams from the device's port 40000 (so the device opened them) to port 53 of:
   - 192.0.2.66: listed by A (which blocks indicators), allowed by B: blocked under A only;
   - 8.8.8.8: not listed by A, outside B's outbound list (which blocks): blocked under B only;
   - 198.51.100.200: outside A's 198.51.100.0/25, inside B's 198.51.100.0/24: never blocked. */
static const uint32_t peers[3] = {0xC0000242u, 0x08080808u, 0xC63364C8u};
enum
{
    UNDER_A_ONLY,
    UNDER_B_ONLY,
    NEVER
};

static struct
{
    unsigned long captures;
    unsigned long blocked[3];
    unsigned long wrong;
    unsigned long polls;
} traffic;

static void *producer_thread(void *arg)
{
    uint8_t packets[3][64];
    size_t lengths[3];
    unsigned long i = 0;
    int which;

    (void)arg;
    for (which = 0; which < 3; which++)
    {
        lengths[which] = tp_ipv4(packets[which], DEVICE, peers[which], 17, 40000u, 53u, 8u, 0u, 0u);
    }
    while (!LOAD(&done))
    {
        nxsm_result result;

        which = (int)(i++ % 3u);
        result = nxsm_capture_out(packets[which], lengths[which]);
        (void)ADD(&traffic.captures, 1ul);
        if (result == NXSM_ERR_BLOCKED)
        {
            (void)ADD(&traffic.blocked[which], 1ul);
            if (which == NEVER)
            {
                (void)ADD(&traffic.wrong, 1ul);
            }
        }
        else if (result != NXSM_OK && result != NXSM_ERR_RING_FULL)
        {
            (void)ADD(&traffic.wrong, 1ul);
        }
    }
    return NULL;
}

/* Loads A and B in turn, each kept until the producers made CAPTURES_PER_POLICY captures
   under it (loads may overlap captures made under the previous one: that is the point). */
#define CAPTURES_PER_POLICY 300ul
#define SWAPS               60

static void *swap_loader_thread(void *arg)
{
    int swap;

    (void)arg;
    for (swap = 0; swap < SWAPS && !LOAD(&done); swap++)
    {
        const struct policy *next = (swap % 2 == 0) ? &policy_b : &policy_a;
        unsigned long from;
        nxsm_result result;

        while ((result = nxsm_policy_load(next->blob, next->length)) == NXSM_ERR_BUSY)
        {
            sched_yield();
        }
        if (result != NXSM_OK)
        {
            (void)ADD(&counts.errors, 1ul);
            break;
        }
        (void)ADD(&counts.loads, 1ul);
        from = LOAD(&traffic.captures);
        while (!LOAD(&done) && LOAD(&traffic.captures) - from < CAPTURES_PER_POLICY)
        {
            sched_yield();
        }
    }
    STORE(&done, 1);
    return NULL;
}

static void *consumer_thread(void *arg)
{
    uint32_t now = T0;
    const uint8_t *bytes;
    size_t length;
    uint32_t sequence;

    (void)arg;
    while (!LOAD(&done))
    {
        nxsm_result result = nxsm_poll(++now, true);

        if (result != NXSM_OK && result != NXSM_ERR_BUSY)
        {
            (void)ADD(&traffic.wrong, 1ul);
        }
        while (nxsm_message_peek(&bytes, &length, &sequence) == NXSM_OK)
        {
            (void)nxsm_message_ack(sequence, true);
        }
        (void)ADD(&traffic.polls, 1ul);
    }
    return NULL;
}

static void test_verdicts_are_a_or_b_while_policies_swap(void **state)
{
    nxsm_config config;
    pthread_t loader;
    pthread_t producers[READERS];
    pthread_t consumer;
    int i;

    (void)state;
    memset(&counts, 0, sizeof(counts));
    memset(&traffic, 0, sizeof(traffic));
    STORE(&done, 0);
    nxsm_config_default(&config);
    assert_int_equal(nxsm_start(&config, T0, 0u), NXSM_OK);
    assert_int_equal(nxsm_policy_load(policy_a.blob, policy_a.length), NXSM_OK);
    for (i = 0; i < READERS; i++)
    {
        assert_int_equal(pthread_create(&producers[i], NULL, producer_thread, NULL), 0);
    }
    assert_int_equal(pthread_create(&consumer, NULL, consumer_thread, NULL), 0);
    assert_int_equal(pthread_create(&loader, NULL, swap_loader_thread, NULL), 0);
    assert_int_equal(pthread_join(loader, NULL), 0);
    assert_int_equal(pthread_join(consumer, NULL), 0);
    for (i = 0; i < READERS; i++)
    {
        assert_int_equal(pthread_join(producers[i], NULL), 0);
    }
    assert_int_equal(nxsm_stop(), NXSM_OK);
    printf("swaps under traffic: %lu loads, %lu captures, blocked %lu (A only) %lu (B only) %lu (never), %lu polls\n",
           counts.loads, traffic.captures, traffic.blocked[UNDER_A_ONLY], traffic.blocked[UNDER_B_ONLY],
           traffic.blocked[NEVER], traffic.polls);
    assert_int_equal(counts.errors, 0ul);
    assert_int_equal(counts.loads, (unsigned long)SWAPS);
    assert_int_equal(traffic.wrong, 0ul);
    assert_int_equal(traffic.blocked[NEVER], 0ul);
    assert_true(traffic.blocked[UNDER_A_ONLY] > 0ul && traffic.blocked[UNDER_B_ONLY] > 0ul);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_policy_reports_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshots_are_whole_while_policies_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdicts_are_a_or_b_while_policies_swap, setup, teardown),
    };

    return cmocka_run_group_tests_name("policy_threads", tests, NULL, NULL);
}
