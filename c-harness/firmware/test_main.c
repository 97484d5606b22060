/*
 * QEMU test firmware: every native nx-security-module entry point, on the target CPU.
 *
 * Links only the Rust core (nxsm_core); the platform is startup.c + critical_section.c.
 * Each check prints "ok - <name>" or "not ok - <name> (<detail>)"; the last line is
 * "<N> passed, <M> failed" and main returns non-zero when anything failed (semihosting
 * passes that on as QEMU's exit status).
 *
 * The module is a singleton, so the groups below run in order and compare counters as
 * differences from a snapshot rather than as absolute values.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "critical_section.h"
#include "nx_security_module.h"
#include "../tests/test_packets.h"

#ifndef NXSM_FW_EXPECT_MAX_FLOWS_V4
#error "NXSM_FW_EXPECT_MAX_FLOWS_V4 must come from the CMake cache (NXSM_MAX_FLOWS_V4)"
#endif
#ifndef NXSM_FW_EXPECT_MAX_FLOWS_V6
#error "NXSM_FW_EXPECT_MAX_FLOWS_V6 must come from the CMake cache (NXSM_MAX_FLOWS_V6)"
#endif
#ifndef NXSM_FW_EXPECT_RING_SLOTS
#error "NXSM_FW_EXPECT_RING_SLOTS must come from the CMake cache (NXSM_RING_SLOTS)"
#endif
#ifndef NXSM_FW_EXPECT_VERSION
#error "NXSM_FW_EXPECT_VERSION must be the CMake project version"
#endif

/* An arbitrary wall-clock start (2023-11-14). */
#define T0 1700000000u

/* ---------------------------------------------------------------------------------------
 * Reporting
 * ------------------------------------------------------------------------------------- */

static unsigned passed;
static unsigned failed;

/* One result line; `detail` is printed only for a failure. */
static void report(bool ok, const char *name, const char *detail)
{
    if (ok)
    {
        passed++;
        printf("ok - %s\n", name);
    }
    else
    {
        failed++;
        printf("not ok - %s (%s)\n", name, detail);
    }
}

/* Formats a check name into `buffer`. */
static const char *name_of(char *buffer, size_t size, const char *format, va_list args)
{
    (void)vsnprintf(buffer, size, format, args);
    return buffer;
}

__attribute__((format(printf, 3, 4))) static void check_u32(uint32_t got, uint32_t want, const char *format, ...)
{
    char name[128];
    char detail[64];
    va_list args;
    va_start(args, format);
    name_of(name, sizeof name, format, args);
    va_end(args);
    (void)snprintf(detail, sizeof detail, "got %" PRIu32 ", expected %" PRIu32, got, want);
    report(got == want, name, detail);
}

/* Decimal text of a 64-bit value into `buffer` (this C library's printf has no 64-bit
 * conversions). */
static const char *u64_text(char buffer[21], uint64_t value)
{
    char *end = buffer + 20;

    *end = '\0';
    do
    {
        *--end = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    return end;
}

/* The same as check_u32, for the 64-bit packet counters of nxsm_stats. */
__attribute__((format(printf, 3, 4))) static void check_u64(uint64_t got, uint64_t want, const char *format, ...)
{
    char name[128];
    char detail[64];
    char got_text[21];
    char want_text[21];
    va_list args;
    va_start(args, format);
    name_of(name, sizeof name, format, args);
    va_end(args);
    (void)snprintf(detail, sizeof detail, "got %s, expected %s", u64_text(got_text, got), u64_text(want_text, want));
    report(got == want, name, detail);
}

/* Whether a snapshot adds up: every packet seen is counted, dropped, malformed, ignored or
 * still waiting in the ring. */
static void check_identity(const nxsm_stats *s, const char *when)
{
    check_u64(s->packets_seen,
              s->packets_counted + s->table_full_dropped + s->ring_dropped + s->malformed + s->ignored +
                  s->ring_waiting,
              "packets_seen adds up %s", when);
}

__attribute__((format(printf, 3, 4))) static void check_result(nxsm_result got, nxsm_result want, const char *format,
                                                               ...)
{
    char name[128];
    char detail[160];
    va_list args;
    va_start(args, format);
    name_of(name, sizeof name, format, args);
    va_end(args);
    (void)snprintf(detail, sizeof detail, "got %" PRIu32 " \"%s\", expected %" PRIu32, (uint32_t)got,
                   nxsm_result_text(got), (uint32_t)want);
    report(got == want, name, detail);
}

__attribute__((format(printf, 3, 4))) static void check_true(bool condition, const char *detail, const char *format,
                                                             ...)
{
    char name[128];
    va_list args;
    va_start(args, format);
    name_of(name, sizeof name, format, args);
    va_end(args);
    report(condition, name, detail);
}

static nxsm_config default_config(void)
{
    nxsm_config config;
    memset(&config, 0xA5, sizeof config);
    (void)nxsm_config_default(&config);
    return config;
}

static nxsm_stats read_stats(void)
{
    nxsm_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    (void)nxsm_get_stats(&stats);
    return stats;
}

static uint32_t read_state(void)
{
    uint32_t state = 0xDEADBEEFu;
    (void)nxsm_get_state(&state);
    return state;
}

/* ---------------------------------------------------------------------------------------
 * Constants, texts, defaults
 * ------------------------------------------------------------------------------------- */

static void test_version(void)
{
    const uint32_t version = nxsm_version();
    char packed[32];
    (void)snprintf(packed, sizeof packed, "%" PRIu32 ".%" PRIu32 ".%" PRIu32, version >> 24, (version >> 16) & 0xFFu,
                   version & 0xFFFFu);
    const char *text = nxsm_version_string();
    check_true(text != NULL && strcmp(text, packed) == 0, packed, "nxsm_version_string agrees with nxsm_version");
    check_true(strcmp(packed, NXSM_FW_EXPECT_VERSION) == 0, packed,
               "nxsm_version is the CMake project version " NXSM_FW_EXPECT_VERSION);
}

static void test_result_text(void)
{
    /* Codes are numbered from 0 without gaps and new ones are appended: walk up to the first
       unknown code, which must lie past every code this firmware was written against. */
    static const char unknown[] = "unknown result";
    enum
    {
        MAX_CODES = 64
    };
    const char *texts[MAX_CODES];
    uint32_t count = 0;
    while (count < MAX_CODES)
    {
        const char *text = nxsm_result_text(count);
        if (text == NULL || strcmp(text, unknown) == 0)
        {
            break;
        }
        texts[count++] = text;
    }
    check_true(count > NXSM_ERR_NOT_RECORDED && count < MAX_CODES, "a known code has no text",
               "nxsm_result_text knows codes 0..%" PRIu32, count == 0 ? 0 : count - 1);
    bool distinct = true;
    for (uint32_t a = 0; a < count; a++)
    {
        distinct = distinct && texts[a][0] != '\0';
        for (uint32_t b = a + 1; b < count; b++)
        {
            distinct = distinct && strcmp(texts[a], texts[b]) != 0;
        }
    }
    check_true(distinct, "two codes share a text, or a text is empty", "nxsm_result_text gives each code its own text");
    const uint32_t out_of_range[] = {count, 0x7FFFFFFFu, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++)
    {
        const char *text = nxsm_result_text(out_of_range[i]);
        check_true(text != NULL && strcmp(text, unknown) == 0, text == NULL ? "NULL" : text,
                   "nxsm_result_text(%" PRIu32 ") is \"unknown result\"", out_of_range[i]);
    }
}

static void test_config_default(void)
{
    check_result(nxsm_config_default(NULL), NXSM_ERR_NULL_ARGUMENT, "nxsm_config_default(NULL)");
    nxsm_config config;
    memset(&config, 0xA5, sizeof config);
    check_result(nxsm_config_default(&config), NXSM_OK, "nxsm_config_default");
    check_u32(config.struct_size, sizeof(nxsm_config), "default struct_size is sizeof(nxsm_config)");
    check_u32(config.high_interval_s, 10, "default high_interval_s");
    check_u32(config.medium_interval_s, 30, "default medium_interval_s");
    check_u32(config.low_interval_s, 60, "default low_interval_s");
    check_u32(config.first_collection_base_s, 30, "default first_collection_base_s");
    check_u32(config.retry_interval_s, 3, "default retry_interval_s");
    check_u32(config.pending_timeout_s, 300, "default pending_timeout_s");
    check_u32(config.capture_mode, NXSM_CAPTURE_UNICAST_ONLY, "default capture_mode");
    check_u32(config.protocols, NXSM_PROTOCOL_TCP | NXSM_PROTOCOL_UDP | NXSM_PROTOCOL_ICMP, "default protocols");
}

/* ---------------------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------------------- */

struct field_range
{
    const char *name;
    size_t offset;
    uint32_t min;
    uint32_t max;
};

static const struct field_range field_ranges[] = {
    {"high_interval_s", offsetof(nxsm_config, high_interval_s), 1, 86400},
    {"medium_interval_s", offsetof(nxsm_config, medium_interval_s), 1, 86400},
    {"low_interval_s", offsetof(nxsm_config, low_interval_s), 1, 86400},
    {"first_collection_base_s", offsetof(nxsm_config, first_collection_base_s), 1, 3600},
    {"retry_interval_s", offsetof(nxsm_config, retry_interval_s), 1, 3600},
    {"pending_timeout_s", offsetof(nxsm_config, pending_timeout_s), 1, 86400},
    {"capture_mode", offsetof(nxsm_config, capture_mode), NXSM_CAPTURE_UNICAST_ONLY, NXSM_CAPTURE_IP_INPUT},
    {"protocols", offsetof(nxsm_config, protocols), 1, NXSM_PROTOCOL_TCP | NXSM_PROTOCOL_UDP | NXSM_PROTOCOL_ICMP},
};

static nxsm_config with_field(const struct field_range *field, uint32_t value)
{
    nxsm_config config = default_config();
    memcpy((unsigned char *)&config + field->offset, &value, sizeof value);
    return config;
}

static void test_validate(void)
{
    nxsm_config config = default_config();
    check_result(nxsm_config_validate(&config), NXSM_OK, "validate accepts the defaults");
    check_result(nxsm_config_validate(NULL), NXSM_ERR_NULL_ARGUMENT, "validate(NULL)");

    const uint32_t bad_sizes[] = {0, sizeof(nxsm_config) - 4, sizeof(nxsm_config) + 4, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++)
    {
        config = default_config();
        config.struct_size = bad_sizes[i];
        check_result(nxsm_config_validate(&config), NXSM_ERR_ABI_MISMATCH,
                     "validate struct_size %" PRIu32 " -> ABI_MISMATCH", bad_sizes[i]);
    }

    for (size_t i = 0; i < sizeof field_ranges / sizeof field_ranges[0]; i++)
    {
        const struct field_range *field = &field_ranges[i];
        config = with_field(field, field->min);
        check_result(nxsm_config_validate(&config), NXSM_OK, "validate %s = %" PRIu32 " (min)", field->name,
                     field->min);
        config = with_field(field, field->max);
        check_result(nxsm_config_validate(&config), NXSM_OK, "validate %s = %" PRIu32 " (max)", field->name,
                     field->max);
        if (field->min > 0)
        {
            config = with_field(field, field->min - 1);
            check_result(nxsm_config_validate(&config), NXSM_ERR_INVALID_ARGUMENT,
                         "validate %s = %" PRIu32 " -> INVALID_ARGUMENT", field->name, field->min - 1);
        }
        config = with_field(field, field->max + 1);
        check_result(nxsm_config_validate(&config), NXSM_ERR_INVALID_ARGUMENT,
                     "validate %s = %" PRIu32 " -> INVALID_ARGUMENT", field->name, field->max + 1);
        config = with_field(field, 0xFFFFFFFFu);
        check_result(nxsm_config_validate(&config), NXSM_ERR_INVALID_ARGUMENT,
                     "validate %s = 0xFFFFFFFF -> INVALID_ARGUMENT", field->name);
    }
    for (uint32_t protocols = 1; protocols <= 7; protocols++)
    {
        config = default_config();
        config.protocols = protocols;
        check_result(nxsm_config_validate(&config), NXSM_OK, "validate protocols = %" PRIu32, protocols);
    }
}

/* ---------------------------------------------------------------------------------------
 * Capacities
 * ------------------------------------------------------------------------------------- */

static void test_capacities(void)
{
    check_result(nxsm_get_capacities(NULL), NXSM_ERR_NULL_ARGUMENT, "nxsm_get_capacities(NULL)");
    nxsm_capacities capacities;
    memset(&capacities, 0, sizeof capacities);
    capacities.struct_size = sizeof capacities + 4;
    check_result(nxsm_get_capacities(&capacities), NXSM_ERR_ABI_MISMATCH,
                 "nxsm_get_capacities with a wrong struct_size -> ABI_MISMATCH");
    capacities.struct_size = sizeof capacities;
    check_result(nxsm_get_capacities(&capacities), NXSM_OK, "nxsm_get_capacities");
    check_u32(capacities.max_flows_v4, NXSM_FW_EXPECT_MAX_FLOWS_V4, "max_flows_v4 is NXSM_MAX_FLOWS_V4");
    check_u32(capacities.max_flows_v6, NXSM_FW_EXPECT_MAX_FLOWS_V6, "max_flows_v6 is NXSM_MAX_FLOWS_V6");
    check_u32(capacities.ring_slots, NXSM_FW_EXPECT_RING_SLOTS, "ring_slots is NXSM_RING_SLOTS");
}

/* ---------------------------------------------------------------------------------------
 * A stopped module; NULL and out-of-range arguments
 * ------------------------------------------------------------------------------------- */

static void test_stopped(void)
{
    uint32_t value = 0xDEADBEEFu;
    check_result(nxsm_get_state(&value), NXSM_OK, "nxsm_get_state when never started");
    check_u32(value, NXSM_STATE_NOT_INITIALIZED, "a fresh module is NOT_INITIALIZED");
    check_result(nxsm_get_state(NULL), NXSM_ERR_NULL_ARGUMENT, "nxsm_get_state(NULL)");
    check_result(nxsm_stop(), NXSM_ERR_NOT_STARTED, "nxsm_stop when stopped -> NOT_STARTED");
    check_result(nxsm_poll(T0, true), NXSM_ERR_NOT_STARTED, "nxsm_poll when stopped -> NOT_STARTED");
    check_result(nxsm_set_interval(NXSM_PRIORITY_HIGH, 20), NXSM_ERR_NOT_STARTED,
                 "nxsm_set_interval when stopped -> NOT_STARTED");

    const uint32_t defaults[] = {10, 30, 60};
    for (uint32_t group = NXSM_PRIORITY_HIGH; group <= NXSM_PRIORITY_LOW; group++)
    {
        value = 0xDEADBEEFu;
        check_result(nxsm_get_interval(group, &value), NXSM_OK, "nxsm_get_interval(%" PRIu32 ") when stopped", group);
        check_u32(value, defaults[group], "interval of group %" PRIu32 " before any start is the default", group);
    }
    check_result(nxsm_get_interval(NXSM_PRIORITY_HIGH, NULL), NXSM_ERR_NULL_ARGUMENT, "nxsm_get_interval(HIGH, NULL)");

    const uint32_t bad_groups[] = {NXSM_PRIORITY_LOW + 1u, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad_groups / sizeof bad_groups[0]; i++)
    {
        value = 0xDEADBEEFu;
        check_result(nxsm_get_interval(bad_groups[i], &value), NXSM_ERR_INVALID_ARGUMENT,
                     "nxsm_get_interval(%" PRIu32 ") -> INVALID_ARGUMENT", bad_groups[i]);
        check_u32(value, 0xDEADBEEFu, "nxsm_get_interval(%" PRIu32 ") leaves the output alone", bad_groups[i]);
        check_result(nxsm_set_interval(bad_groups[i], 20), NXSM_ERR_INVALID_ARGUMENT,
                     "nxsm_set_interval(%" PRIu32 ", 20) -> INVALID_ARGUMENT", bad_groups[i]);
    }

    check_result(nxsm_get_stats(NULL), NXSM_ERR_NULL_ARGUMENT, "nxsm_get_stats(NULL)");
    nxsm_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats - 4;
    check_result(nxsm_get_stats(&stats), NXSM_ERR_ABI_MISMATCH,
                 "nxsm_get_stats with a wrong struct_size -> ABI_MISMATCH");
    stats.struct_size = sizeof stats;
    check_result(nxsm_get_stats(&stats), NXSM_OK, "nxsm_get_stats when stopped");
    check_u32(stats.state, NXSM_STATE_NOT_INITIALIZED, "stats.state when stopped");
    check_u32(stats.struct_size, sizeof stats, "nxsm_get_stats keeps struct_size");
}

static void test_start_refusals(void)
{
    const nxsm_stats before = read_stats();
    nxsm_config config = default_config();

    check_result(nxsm_start(NULL, T0, 0), NXSM_ERR_NULL_ARGUMENT, "nxsm_start(NULL config)");
    check_result(nxsm_start(&config, NXSM_TIME_UNAVAILABLE, 0), NXSM_ERR_CLOCK_UNAVAILABLE,
                 "nxsm_start without a clock -> CLOCK_UNAVAILABLE");
    config.struct_size = sizeof config + 4;
    check_result(nxsm_start(&config, T0, 0), NXSM_ERR_ABI_MISMATCH,
                 "nxsm_start with a wrong struct_size -> ABI_MISMATCH");
    config = default_config();
    config.pending_timeout_s = 0;
    check_result(nxsm_start(&config, T0, 0), NXSM_ERR_INVALID_ARGUMENT,
                 "nxsm_start with pending_timeout_s 0 -> INVALID_ARGUMENT");
    config = default_config();
    config.protocols = 8;
    check_result(nxsm_start(&config, T0, 0), NXSM_ERR_INVALID_ARGUMENT,
                 "nxsm_start with protocols 8 -> INVALID_ARGUMENT");

    const nxsm_stats after = read_stats();
    check_u32(after.state, NXSM_STATE_NOT_INITIALIZED, "refused starts leave the module stopped");
    check_u32(after.starts - before.starts, 0, "refused starts are not counted");
    check_u32(after.state_changes - before.state_changes, 0, "refused starts change no state");
}

/* ---------------------------------------------------------------------------------------
 * Life cycle: PENDING -> ACTIVE -> PENDING -> SUSPENDED (>300 s) -> ACTIVE
 * ------------------------------------------------------------------------------------- */

/* Polls at T0 + offset and checks the state reached and when it was entered. */
static void poll_expect(uint32_t offset, bool hub, uint32_t state, uint32_t since_offset)
{
    check_result(nxsm_poll(T0 + offset, hub), NXSM_OK, "poll(T0+%" PRIu32 ", hub %s)", offset, hub ? "up" : "down");
    const nxsm_stats stats = read_stats();
    check_u32(stats.state, state, "state after poll(T0+%" PRIu32 ", hub %s)", offset, hub ? "up" : "down");
    check_u32(stats.state_since_s, T0 + since_offset, "state_since after poll(T0+%" PRIu32 ")", offset);
}

static void test_timeline(void)
{
    const nxsm_stats before = read_stats();
    nxsm_config config = default_config();

    check_result(nxsm_start(&config, T0, 0), NXSM_OK, "nxsm_start(defaults, T0, random 0)");
    nxsm_stats stats = read_stats();
    check_u32(stats.state, NXSM_STATE_PENDING, "start enters PENDING");
    check_u32(read_state(), NXSM_STATE_PENDING, "nxsm_get_state agrees: PENDING");
    check_u32(stats.state_since_s, T0, "PENDING since T0");
    check_u32(stats.first_collection_s, T0 + 30, "first collection at T0 + base (random 0)");
    check_result(nxsm_start(&config, T0, 0), NXSM_ERR_ALREADY_STARTED, "second nxsm_start -> ALREADY_STARTED");

    poll_expect(1, false, NXSM_STATE_PENDING, 0);
    poll_expect(2, true, NXSM_STATE_ACTIVE, 2);
    check_u32(read_state(), NXSM_STATE_ACTIVE, "nxsm_get_state agrees: ACTIVE");
    poll_expect(10, true, NXSM_STATE_ACTIVE, 2);
    poll_expect(20, false, NXSM_STATE_PENDING, 20);
    poll_expect(320, false, NXSM_STATE_PENDING, 20); /* exactly 300 s: not yet */
    poll_expect(321, false, NXSM_STATE_SUSPENDED, 321);
    check_u32(read_state(), NXSM_STATE_SUSPENDED, "nxsm_get_state agrees: SUSPENDED");
    poll_expect(5000, false, NXSM_STATE_SUSPENDED, 321);
    check_result(nxsm_poll(NXSM_TIME_UNAVAILABLE, true), NXSM_ERR_CLOCK_UNAVAILABLE,
                 "poll without a clock -> CLOCK_UNAVAILABLE");
    check_u32(read_state(), NXSM_STATE_SUSPENDED, "a poll without a clock changes nothing");
    poll_expect(5001, true, NXSM_STATE_ACTIVE, 5001);
    /* The clock is set back by 1001 s: the time ACTIVE was entered moves back with it. */
    const uint32_t steps_back = read_stats().clock_steps_back;
    poll_expect(4000, true, NXSM_STATE_ACTIVE, 4000);
    check_u32(read_stats().clock_steps_back - steps_back, 1, "the step back is counted");

    /* Intervals of a running module. */
    uint32_t seconds = 0;
    check_result(nxsm_set_interval(NXSM_PRIORITY_HIGH, 5), NXSM_OK, "set_interval(HIGH, 5)");
    check_result(nxsm_get_interval(NXSM_PRIORITY_HIGH, &seconds), NXSM_OK, "get_interval(HIGH)");
    check_u32(seconds, 5, "HIGH interval is now 5");
    check_result(nxsm_set_interval(NXSM_PRIORITY_LOW, 86400), NXSM_OK, "set_interval(LOW, 86400)");
    check_result(nxsm_set_interval(NXSM_PRIORITY_LOW, 1), NXSM_OK, "set_interval(LOW, 1)");
    check_result(nxsm_set_interval(NXSM_PRIORITY_MEDIUM, 0), NXSM_ERR_INVALID_ARGUMENT,
                 "set_interval(MEDIUM, 0) -> INVALID_ARGUMENT");
    check_result(nxsm_set_interval(NXSM_PRIORITY_MEDIUM, 86401), NXSM_ERR_INVALID_ARGUMENT,
                 "set_interval(MEDIUM, 86401) -> INVALID_ARGUMENT");
    check_result(nxsm_get_interval(NXSM_PRIORITY_MEDIUM, &seconds), NXSM_OK, "get_interval(MEDIUM)");
    check_u32(seconds, 30, "refused set_interval leaves MEDIUM at 30");
    check_result(nxsm_set_interval(NXSM_PRIORITY_HIGH, 10), NXSM_OK, "set_interval(HIGH, 10)");

    stats = read_stats();
    check_u32(stats.starts - before.starts, 1, "one start counted");
    check_u32(stats.polls - before.polls, 9, "nine polls counted (not the one without a clock)");
    check_u32(stats.state_changes - before.state_changes, 5,
              "five state changes: start, ACTIVE, PENDING, SUSPENDED, ACTIVE");

    check_result(nxsm_stop(), NXSM_OK, "nxsm_stop");
    check_u32(read_state(), NXSM_STATE_NOT_INITIALIZED, "stop returns to NOT_INITIALIZED");
    check_result(nxsm_stop(), NXSM_ERR_NOT_STARTED, "second nxsm_stop -> NOT_STARTED");
    check_result(nxsm_poll(T0 + 6000, true), NXSM_ERR_NOT_STARTED, "poll after stop -> NOT_STARTED");
    check_result(nxsm_set_interval(NXSM_PRIORITY_HIGH, 20), NXSM_ERR_NOT_STARTED,
                 "set_interval after stop -> NOT_STARTED");
    stats = read_stats();
    check_u32(stats.stops - before.stops, 1, "one stop counted");
    check_u32(stats.polls - before.polls, 9, "polls of a stopped module are not counted");
    check_u32(stats.state_changes - before.state_changes, 6, "stop is a state change");
}

static void test_custom_config(void)
{
    nxsm_config config = default_config();
    const uint32_t jitter[][2] = {{59, 89}, {60, 30}, {0xFFFFFFFFu, 30 + 0xFFFFFFFFu % 60}};
    for (size_t i = 0; i < sizeof jitter / sizeof jitter[0]; i++)
    {
        check_result(nxsm_start(&config, T0, jitter[i][0]), NXSM_OK, "start with random %" PRIu32, jitter[i][0]);
        check_u32(read_stats().first_collection_s - T0, jitter[i][1],
                  "random %" PRIu32 " puts the first collection at T0 + %" PRIu32, jitter[i][0], jitter[i][1]);
        check_result(nxsm_stop(), NXSM_OK, "stop after random %" PRIu32, jitter[i][0]);
    }

    config.pending_timeout_s = 1;
    config.first_collection_base_s = 1;
    config.capture_mode = NXSM_CAPTURE_IP_INPUT;
    config.protocols = NXSM_PROTOCOL_UDP;
    check_result(nxsm_start(&config, T0, 1), NXSM_OK, "start with pending_timeout_s 1, base 1, IP_INPUT, UDP");
    check_u32(read_stats().first_collection_s, T0 + 2, "base 1, random 1: first collection at T0 + 2");
    poll_expect(1, false, NXSM_STATE_PENDING, 0);
    poll_expect(2, false, NXSM_STATE_SUSPENDED, 2);
    poll_expect(3, true, NXSM_STATE_ACTIVE, 3);
    check_result(nxsm_stop(), NXSM_OK, "stop the custom configuration");
}

static void test_cycles(void)
{
    enum
    {
        CYCLES = 1000
    };
    const nxsm_stats before = read_stats();
    const nxsm_config config = default_config();
    uint32_t bad = 0;
    uint32_t first_bad = 0;
    for (uint32_t i = 0; i < CYCLES; i++)
    {
        const bool ok = nxsm_start(&config, T0 + i, i) == NXSM_OK && read_state() == NXSM_STATE_PENDING &&
                        nxsm_poll(T0 + i, (i & 1u) != 0) == NXSM_OK &&
                        read_state() == ((i & 1u) ? NXSM_STATE_ACTIVE : NXSM_STATE_PENDING) && nxsm_stop() == NXSM_OK &&
                        read_state() == NXSM_STATE_NOT_INITIALIZED;
        if (!ok && bad++ == 0)
        {
            first_bad = i;
        }
    }
    char detail[64];
    (void)snprintf(detail, sizeof detail, "%" PRIu32 " bad cycles, first %" PRIu32, bad, first_bad);
    check_true(bad == 0, detail, "%d start/poll/stop cycles", CYCLES);
    const nxsm_stats after = read_stats();
    check_u32(after.starts - before.starts, CYCLES, "%d starts counted", CYCLES);
    check_u32(after.stops - before.stops, CYCLES, "%d stops counted", CYCLES);
    check_u32(after.polls - before.polls, CYCLES, "%d polls counted", CYCLES);
    check_u32(after.state_changes - before.state_changes, 2 * CYCLES + CYCLES / 2,
              "state changes of %d cycles (half of them went ACTIVE)", CYCLES);
}

/* ---------------------------------------------------------------------------------------
 * Platform: nestable PRIMASK critical section, and a call from an interrupt
 * ------------------------------------------------------------------------------------- */

static void test_critical_section(void)
{
    check_u32(nxsm_fw_primask(), 0, "interrupts are enabled after the module calls");
    check_u32(nxsm_fw_critical_section_depth(), 0, "the module's critical sections are balanced");

    _critical_section_1_0_acquire();
    _critical_section_1_0_acquire();
    check_u32(nxsm_fw_primask(), 1, "acquire masks interrupts");
    _critical_section_1_0_release();
    check_u32(nxsm_fw_primask(), 1, "an inner release keeps them masked");
    _critical_section_1_0_release();
    check_u32(nxsm_fw_primask(), 0, "the outermost release unmasks");

    _critical_section_1_0_acquire();
    uint32_t state = 0xDEADBEEFu;
    check_result(nxsm_get_state(&state), NXSM_OK, "a module call inside the firmware's own critical section");
    check_u32(nxsm_fw_primask(), 1, "the module's nested section keeps the caller's mask");
    _critical_section_1_0_release();
    check_u32(nxsm_fw_primask(), 0, "unmasked after the caller's release");

    __asm volatile("cpsid i" ::: "memory");
    _critical_section_1_0_acquire();
    _critical_section_1_0_release();
    check_u32(nxsm_fw_primask(), 1, "a section entered with interrupts masked leaves them masked");
    __asm volatile("cpsie i" ::: "memory");
}

#define SCB_ICSR           (*(volatile uint32_t *)0xE000ED04u)
#define SCB_ICSR_PENDSVSET (1u << 28)

static volatile uint32_t isr_runs;
static volatile nxsm_result isr_result;
static nxsm_result (*volatile isr_action)(void);

/* The "interrupt" that calls into the module. */
void PendSV_Handler(void)
{
    isr_result = isr_action != NULL ? isr_action() : NXSM_ERR_NULL_ARGUMENT;
    isr_runs = isr_runs + 1;
}

static nxsm_result isr_get_state(void)
{
    uint32_t state;
    return nxsm_get_state(&state);
}

static void pend_interrupt(void)
{
    SCB_ICSR = SCB_ICSR_PENDSVSET;
    __asm volatile("dsb\n"
                   "isb" ::
                       : "memory");
}

static void test_interrupt_caller(void)
{
    const nxsm_config config = default_config();
    check_result(nxsm_start(&config, T0, 0), NXSM_OK, "start for the interrupt test");

    isr_action = isr_get_state;
    isr_runs = 0;
    isr_result = NXSM_OK;
    pend_interrupt();
    check_u32(isr_runs, 1, "an interrupt handler ran");
    check_result(isr_result, NXSM_OK, "a module call from an interrupt handler");

    /* The module's first outermost release comes right after it has taken the instance:
       the interrupt pended there fires in the middle of the module call. */
    isr_runs = 0;
    isr_result = NXSM_OK;
    nxsm_fw_outermost_release_hook = pend_interrupt;
    check_result(nxsm_poll(T0 + 1, true), NXSM_OK, "poll interrupted by a handler that calls the module");
    check_u32(isr_runs, 1, "the handler ran during the poll");
    check_result(isr_result, NXSM_ERR_BUSY, "a call from an interrupt during a module call -> BUSY");
    check_u32(read_state(), NXSM_STATE_ACTIVE, "the interrupted poll completed");
    check_u32(nxsm_fw_critical_section_depth(), 0, "critical sections balanced after the interrupt");

    check_result(nxsm_stop(), NXSM_OK, "stop after the interrupt test");
}

/* ---------------------------------------------------------------------------------------
 * Capture: packets in, flows out
 * ------------------------------------------------------------------------------------- */

/* The device and its peers (documentation address ranges). */
static const uint8_t device_ip[4] = {192, 0, 2, 10};
static const uint8_t server_ip[4] = {198, 51, 100, 7};
static const uint8_t resolver_ip[4] = {203, 0, 113, 5};

/* Writes an IPv4 header (20 bytes, checksum filled in) for total_length bytes. */
static void ipv4_header(uint8_t *p, uint16_t total_length, uint8_t protocol, const uint8_t src[4], const uint8_t dst[4])
{
    memset(p, 0, 20);
    p[0] = 0x45;
    p[2] = (uint8_t)(total_length >> 8);
    p[3] = (uint8_t)total_length;
    p[4] = 0x12;
    p[5] = 0x34;
    p[6] = 0x40; /* don't fragment */
    p[8] = 64;
    p[9] = protocol;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
    {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    while (sum >> 16)
    {
        sum = (sum & 0xFFFFu) + (sum >> 16);
    }
    p[10] = (uint8_t)(~sum >> 8);
    p[11] = (uint8_t)~sum;
}

/* A 40-byte TCP segment without data. */
static size_t tcp_packet(uint8_t *p, const uint8_t src[4], uint16_t sport, const uint8_t dst[4], uint16_t dport,
                         uint8_t flags)
{
    ipv4_header(p, 40, 6, src, dst);
    uint8_t *tcp = p + 20;
    memset(tcp, 0, 20);
    tp_put16(tcp, sport);
    tp_put16(tcp + 2, dport);
    tcp[7] = 1;     /* sequence number */
    tcp[12] = 0x50; /* data offset: 5 words */
    tcp[13] = flags;
    tp_put16(tcp + 14, 0xFFFF);
    return 40;
}

/* A UDP datagram with 4 bytes of data (32 bytes in all). */
static size_t udp_packet(uint8_t *p, const uint8_t src[4], uint16_t sport, const uint8_t dst[4], uint16_t dport)
{
    ipv4_header(p, 32, 17, src, dst);
    uint8_t *udp = p + 20;
    tp_put16(udp, sport);
    tp_put16(udp + 2, dport);
    tp_put16(udp + 4, 12);
    tp_put16(udp + 6, 0);
    memcpy(udp + 8, "ping", 4);
    return 32;
}

#define TCP_SYN 0x02u
#define TCP_ACK 0x10u

static volatile uint32_t ring_callback_calls;
static volatile uintptr_t ring_callback_context;

static void ring_callback(void *context)
{
    ring_callback_calls = ring_callback_calls + 1;
    ring_callback_context = (uintptr_t)context;
}

static nxsm_result capture_dns_reply(void)
{
    uint8_t packet[32];
    const size_t length = udp_packet(packet, resolver_ip, 53, device_ip, 5353);
    return nxsm_capture(packet, length, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER);
}

static const nxsm_flow *find_flow(const nxsm_flow *flows, size_t count, uint8_t protocol)
{
    for (size_t i = 0; i < count; i++)
    {
        if (flows[i].protocol == protocol)
        {
            return &flows[i];
        }
    }
    return NULL;
}

static int ring_context_marker;

/* Argument checks, and a stopped module records nothing; sets the ring callback (watermark 2). */
static void capture_when_stopped(void)
{
    uint8_t packet[64];
    const size_t length = tcp_packet(packet, device_ip, 49152, server_ip, 443, TCP_SYN);

    check_result(nxsm_capture(packet, length, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER), NXSM_ERR_NOT_STARTED,
                 "nxsm_capture when stopped -> NOT_STARTED");
    check_result(nxsm_capture(NULL, 40, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER), NXSM_ERR_NULL_ARGUMENT,
                 "nxsm_capture(NULL packet)");
    check_result(nxsm_capture(packet, length, 2, NXSM_HEADER_NETWORK_ORDER), NXSM_ERR_INVALID_ARGUMENT,
                 "nxsm_capture with direction 2 -> INVALID_ARGUMENT");
    check_result(nxsm_capture(packet, length, NXSM_DIRECTION_OUT, 2), NXSM_ERR_INVALID_ARGUMENT,
                 "nxsm_capture with header order 2 -> INVALID_ARGUMENT");
    check_result(nxsm_drain(T0), NXSM_ERR_NOT_STARTED, "nxsm_drain when stopped -> NOT_STARTED");

    check_result(nxsm_set_ring_callback(ring_callback, &ring_context_marker, 0), NXSM_ERR_INVALID_ARGUMENT,
                 "nxsm_set_ring_callback with watermark 0 -> INVALID_ARGUMENT");
    check_result(nxsm_set_ring_callback(ring_callback, &ring_context_marker, NXSM_FW_EXPECT_RING_SLOTS + 1),
                 NXSM_ERR_INVALID_ARGUMENT, "nxsm_set_ring_callback with watermark ring slots + 1 -> INVALID_ARGUMENT");
    check_result(nxsm_set_ring_callback(ring_callback, &ring_context_marker, 2), NXSM_OK,
                 "nxsm_set_ring_callback(watermark 2)");
}

/* One TCP connection (both directions), one UDP exchange, two packets not recorded; then a
   drain. The counters move by exactly those packets. */
static void capture_outcomes(const nxsm_stats *before)
{
    uint8_t packet[64];
    size_t length = tcp_packet(packet, device_ip, 49152, server_ip, 443, TCP_SYN);

    ring_callback_calls = 0;
    check_result(nxsm_capture(packet, length, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER), NXSM_OK,
                 "capture a TCP SYN sent");
    check_u32(ring_callback_calls, 0, "no ring callback below the watermark");
    length = tcp_packet(packet, server_ip, 443, device_ip, 49152, TCP_SYN | TCP_ACK);
    check_result(nxsm_capture(packet, length, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER), NXSM_OK,
                 "capture a TCP SYN-ACK received");
    check_u32(ring_callback_calls, 1, "the ring callback runs at the watermark");
    check_true(ring_callback_context == (uintptr_t)&ring_context_marker, "another pointer",
               "the ring callback gets its context");
    check_result(capture_dns_reply(), NXSM_OK, "capture a UDP datagram received");
    check_u32(ring_callback_calls, 1, "the ring callback runs once per crossing");
    ipv4_header(packet, 24, 47, server_ip, device_ip); /* GRE: well-formed, not tracked */
    check_result(nxsm_capture(packet, 24, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER), NXSM_ERR_NOT_RECORDED,
                 "capture an untracked protocol -> NOT_RECORDED");
    check_result(nxsm_capture(packet, 12, NXSM_DIRECTION_IN, NXSM_HEADER_NETWORK_ORDER), NXSM_ERR_MALFORMED,
                 "capture a truncated IPv4 header -> MALFORMED");

    nxsm_stats stats = read_stats();
    check_u64(stats.packets_seen - before->packets_seen, 5, "five packets seen");
    check_u64(stats.malformed - before->malformed, 1, "one malformed packet");
    check_u64(stats.ignored - before->ignored, 1, "one packet ignored");
    check_u32(stats.ring_waiting, 3, "three records wait in the ring");
    check_identity(&stats, "with records waiting");

    check_result(nxsm_drain(NXSM_TIME_UNAVAILABLE), NXSM_ERR_CLOCK_UNAVAILABLE,
                 "nxsm_drain without a clock -> CLOCK_UNAVAILABLE");
    check_result(nxsm_drain(T0 + 1), NXSM_OK, "nxsm_drain(T0+1)");
    stats = read_stats();
    check_u32(stats.ring_waiting, 0, "the ring is empty after the drain");
    check_u64(stats.packets_counted - before->packets_counted, 3, "three packets counted in flows");
    check_identity(&stats, "after the drain");
    check_u32(stats.flows_v4, 2, "two IPv4 flows");
    check_u32(stats.flows_v6, 0, "no IPv6 flow");
}

/* The window as nxsm_read_flows reports it, then ended by switching network activity off. */
static void capture_read_window(void)
{
    size_t written = 99;
    nxsm_flow flows[4];

    check_result(nxsm_read_flows(0, flows, 4, NULL), NXSM_ERR_NULL_ARGUMENT, "nxsm_read_flows(written NULL)");
    check_result(nxsm_read_flows(0, NULL, 4, &written), NXSM_ERR_NULL_ARGUMENT, "nxsm_read_flows(out NULL)");
    check_result(nxsm_read_flows(0, NULL, 0, &written), NXSM_OK, "nxsm_read_flows with capacity 0");
    check_u32((uint32_t)written, 0, "capacity 0 reads nothing");
    memset(flows, 0xEE, sizeof flows);
    check_result(nxsm_read_flows(0, flows, 4, &written), NXSM_OK, "nxsm_read_flows");
    check_u32((uint32_t)written, 2, "two flows read");
    const nxsm_flow *tcp = find_flow(flows, written, 0);
    const nxsm_flow *udp = find_flow(flows, written, 1);
    check_true(tcp != NULL, "missing", "the TCP flow is reported");
    check_true(udp != NULL, "missing", "the UDP flow is reported");
    if (tcp != NULL)
    {
        check_u32(tcp->ip_version, 4, "TCP flow: IPv4");
        check_true(memcmp(tcp->local_address, device_ip, 4) == 0, "wrong address", "TCP flow: local is the device");
        check_true(memcmp(tcp->remote_address, server_ip, 4) == 0, "wrong address", "TCP flow: remote is the server");
        check_u32(tcp->local_port, 49152, "TCP flow: local port");
        check_u32(tcp->remote_port, 443, "TCP flow: remote port");
        check_u32(tcp->packets_out, 1, "TCP flow: one packet out");
        check_u32(tcp->packets_in, 1, "TCP flow: one packet in");
        check_u32(tcp->bytes_out, 20, "TCP flow: 20 IP payload bytes out");
        check_u32(tcp->bytes_in, 20, "TCP flow: 20 IP payload bytes in");
        check_u32(tcp->tcp_flags_out, TCP_SYN, "TCP flow: SYN sent");
        check_u32(tcp->tcp_flags_in, TCP_SYN | TCP_ACK, "TCP flow: SYN-ACK received");
        check_u32(tcp->first_seen_s, T0 + 1, "TCP flow: first seen at the drain");
    }
    if (udp != NULL)
    {
        check_true(memcmp(udp->local_address, device_ip, 4) == 0, "wrong address", "UDP flow: local is the device");
        check_true(memcmp(udp->remote_address, resolver_ip, 4) == 0, "wrong address",
                   "UDP flow: remote is the resolver");
        check_u32(udp->local_port, 5353, "UDP flow: local port");
        check_u32(udp->remote_port, 53, "UDP flow: remote port");
        check_u32(udp->packets_in, 1, "UDP flow: one packet in");
        check_u32(udp->bytes_in, 12, "UDP flow: 12 IP payload bytes in");
        check_u32(udp->packets_out, 0, "UDP flow: nothing out");
    }
    check_result(nxsm_read_flows(1, flows, 4, &written), NXSM_OK, "nxsm_read_flows from the second flow");
    check_u32((uint32_t)written, 1, "one flow from the second on");
    check_result(nxsm_read_flows(2, flows, 4, &written), NXSM_OK, "nxsm_read_flows past the end");
    check_u32((uint32_t)written, 0, "nothing past the end");
    const uint32_t built = read_stats().messages_built;
    check_result(nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH), NXSM_OK,
                 "network activity off collects the open window");
    check_u32(read_stats().messages_built - built, 1, "one message holds the window");
    check_result(nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, true, NXSM_PRIORITY_HIGH), NXSM_OK,
                 "network activity back on");
    check_result(nxsm_read_flows(0, flows, 4, &written), NXSM_OK, "nxsm_read_flows after the window ended");
    check_u32((uint32_t)written, 0, "a new window starts empty");
    check_u32(read_stats().flows_v4, 0, "no IPv4 flow after the window ended");
}

/* A full ring drops and counts, and a poll empties it. */
static void capture_full_ring(void)
{
    nxsm_stats stats;

    bool all_stored = true;
    for (uint32_t i = 0; i < NXSM_FW_EXPECT_RING_SLOTS; i++)
    {
        all_stored = all_stored && capture_dns_reply() == NXSM_OK;
    }
    check_true(all_stored, "a capture failed", "%d records fill the ring", NXSM_FW_EXPECT_RING_SLOTS);
    stats = read_stats();
    check_result(capture_dns_reply(), NXSM_ERR_RING_FULL, "capture into a full ring -> RING_FULL");
    const nxsm_stats full = read_stats();
    check_u64(full.ring_dropped - stats.ring_dropped, 1, "the dropped record is counted");
    check_identity(&full, "with the ring full");
    check_u32(full.ring_waiting, NXSM_FW_EXPECT_RING_SLOTS, "the ring holds its capacity");
    check_result(nxsm_poll(T0 + 2, false), NXSM_OK, "a poll drains the ring");
    stats = read_stats();
    check_u32(stats.ring_waiting, 0, "the ring is empty after the poll");
    check_u64(stats.packets_counted - full.packets_counted, NXSM_FW_EXPECT_RING_SLOTS,
              "every stored record was counted");
}

/* Capture from an interrupt while the module is busy: never turned away. */
static void capture_from_interrupt(void)
{
    const nxsm_stats quiet = read_stats();
    isr_action = capture_dns_reply;
    isr_runs = 0;
    isr_result = NXSM_ERR_NULL_ARGUMENT;
    nxsm_fw_outermost_release_hook = pend_interrupt;
    check_result(nxsm_drain(T0 + 3), NXSM_OK, "a drain interrupted by a capturing handler");
    check_u32(isr_runs, 1, "the capturing handler ran during the drain");
    check_result(isr_result, NXSM_OK, "a capture from an interrupt during a module call is recorded");
    check_result(nxsm_drain(T0 + 3), NXSM_OK, "drain again");
    check_u64(read_stats().packets_counted - quiet.packets_counted, 1, "the interrupt's packet was counted");
}

static void test_capture(void)
{
#if NXSM_FW_EXPECT_MAX_FLOWS_V4 < 2
    printf("# capture checks skipped: they need NXSM_MAX_FLOWS_V4 >= 2\n");
    return;
#endif
    const nxsm_config config = default_config();

    capture_when_stopped();
    const nxsm_stats before = read_stats();
    check_result(nxsm_start(&config, T0, 0), NXSM_OK, "start for the capture test");
    check_result(nxsm_set_ring_callback(NULL, NULL, 0), NXSM_ERR_ALREADY_STARTED,
                 "nxsm_set_ring_callback while running -> ALREADY_STARTED");

    capture_outcomes(&before);
    capture_read_window();
    capture_full_ring();
    capture_from_interrupt();
    check_result(nxsm_stop(), NXSM_OK, "stop after the capture test");
    check_result(capture_dns_reply(), NXSM_ERR_NOT_STARTED, "no capture after stop");
    check_result(nxsm_set_ring_callback(NULL, NULL, 0), NXSM_OK, "remove the ring callback");
}

/* Messages: collection into the outbox, hand-out only in ACTIVE, ack and retry. */
static void test_messages(void)
{
    const nxsm_config config = default_config();
    const nxsm_platform_info platform = {
        .struct_size = sizeof platform, .threadx_version = {6, 4, 1}, .netx_version = {6, 4, 1}};
    const uint8_t *bytes = NULL;
    size_t length = 0;
    uint32_t sequence = 0;
    bool enabled = false;
    uint32_t group = 99;

    check_result(nxsm_set_platform_info(NULL), NXSM_ERR_NULL_ARGUMENT, "nxsm_set_platform_info(NULL)");
    check_result(nxsm_set_platform_info(&platform), NXSM_OK, "nxsm_set_platform_info");
    check_result(nxsm_message_peek(NULL, &length, &sequence), NXSM_ERR_NULL_ARGUMENT, "nxsm_message_peek(NULL)");
    check_result(nxsm_set_collector(4, true, NXSM_PRIORITY_LOW), NXSM_ERR_INVALID_ARGUMENT,
                 "nxsm_set_collector(4) -> INVALID_ARGUMENT");
    check_result(nxsm_set_collector(NXSM_COLLECTOR_HEARTBEAT, true, 3), NXSM_ERR_INVALID_ARGUMENT,
                 "nxsm_set_collector(priority 3) -> INVALID_ARGUMENT");
    check_result(nxsm_set_collector(NXSM_COLLECTOR_HEARTBEAT, true, NXSM_PRIORITY_LOW), NXSM_ERR_NOT_STARTED,
                 "nxsm_set_collector when stopped -> NOT_STARTED");

    const nxsm_stats before = read_stats();
    const uint32_t t = T0 + 20000;
    check_result(nxsm_start(&config, t, 0), NXSM_OK, "start for the message test");
    /* Messages left from earlier tests go first; drop them from the count by sending them. */
    check_result(nxsm_poll(t + 1, true), NXSM_OK, "poll with a hub: ACTIVE");
    while (nxsm_message_peek(&bytes, &length, &sequence) == NXSM_OK)
    {
        (void)nxsm_message_ack(sequence, true);
    }
    check_result(nxsm_message_peek(&bytes, &length, &sequence), NXSM_ERR_NO_MESSAGE,
                 "nothing to send before the first collection");
    check_result(nxsm_poll(t + 30, true), NXSM_OK, "first collection at start + 30");
    check_result(nxsm_message_peek(&bytes, &length, &sequence), NXSM_OK, "the first collection is handed out");
    check_true(bytes != NULL && length > 6 && length <= 1024, "bad message", "message length within the maximum");
    if (bytes != NULL && length > 6)
    {
        check_u32(bytes[0], 3, "wire format 3");
        check_true(bytes[1] == 4 && memcmp(bytes + 2, "nxsm", 4) == 0, "wrong id", "module id nxsm");
    }
    check_result(nxsm_message_ack(sequence + 1, true), NXSM_ERR_INVALID_ARGUMENT,
                 "ack of a message that is not the oldest -> INVALID_ARGUMENT");
    check_result(nxsm_message_ack(sequence, false), NXSM_OK, "ack: send failed");
    check_result(nxsm_message_peek(&bytes, &length, &sequence), NXSM_ERR_NO_MESSAGE, "retry waits 3 s");
    check_result(nxsm_poll(t + 33, true), NXSM_OK, "poll 3 s later");
    check_result(nxsm_message_peek(&bytes, &length, &sequence), NXSM_OK, "handed out again after 3 s");
    check_result(nxsm_message_ack(sequence, true), NXSM_OK, "ack: sent");
    check_result(nxsm_message_peek(&bytes, &length, &sequence), NXSM_ERR_NO_MESSAGE, "outbox empty");

    check_result(nxsm_get_collector(NXSM_COLLECTOR_SYSTEM_INFORMATION, &enabled, &group), NXSM_OK,
                 "nxsm_get_collector(system information)");
    check_true(enabled && group == NXSM_PRIORITY_LOW, "not enabled/low", "system information: enabled, low group");
    check_result(nxsm_set_collector(NXSM_COLLECTOR_SYSTEM_INFORMATION, false, NXSM_PRIORITY_LOW), NXSM_OK,
                 "system information off");
    check_result(nxsm_get_collector(NXSM_COLLECTOR_SYSTEM_INFORMATION, &enabled, &group), NXSM_OK,
                 "nxsm_get_collector after the change");
    check_true(!enabled, "still enabled", "system information is off");

    nxsm_stats stats = read_stats();
    check_u32(stats.messages_failed - before.messages_failed, 1, "one failed send counted");
    check_u32(stats.outbox_messages, 0, "outbox empty in the statistics");
    check_u32(stats.next_collection_s, t + 40, "next collection 10 s after the first");
    check_u32(stats.messages_built, stats.messages_sent + stats.messages_dropped + stats.outbox_messages,
              "every message built is sent, dropped or waiting");
    check_result(nxsm_stop(), NXSM_OK, "stop after the message test");
    check_result(nxsm_message_peek(&bytes, &length, &sequence), NXSM_ERR_NO_MESSAGE, "no hand-out when stopped");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* every line reaches the host even if a fault follows */
    printf("# nx-security-module %s on the QEMU test firmware\n", nxsm_version_string());

    test_version();
    test_result_text();
    test_config_default();
    test_validate();
    test_capacities();
    test_stopped();
    test_start_refusals();
    test_timeline();
    test_custom_config();
    test_cycles();
    test_critical_section();
    test_interrupt_caller();
    test_capture();
    test_messages();

    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
