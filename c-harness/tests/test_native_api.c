/*
 * Native API (nx_security_module.h) driven from C the way an application calls it:
 * every entry point's documented result for NULL pointers, out-of-range values, wrong
 * struct sizes, a missing clock and the wrong life-cycle state; result texts; versions.
 *
 * The core is a process-wide singleton: every test starts and ends with it stopped, and
 * counters are compared as differences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nxsm_test_support.h"

#include "nx_security_module.h"

#define T0 1704067200u /* 2024-01-01T00:00:00Z */

/* ---- helpers ---------------------------------------------------------------------------- */

static void start_default(void)
{
    nxsm_config config = default_config();

    assert_int_equal(nxsm_start(&config, T0, 12345u), NXSM_OK);
}

/* Every test starts and ends with the singleton stopped. */
static int stopped(void **state)
{
    (void)state;
    (void)nxsm_stop();
    return 0;
}

/* ---- versions and texts ----------------------------------------------------------------- */

static void test_version_number_matches_string(void **state)
{
    const char *text = nxsm_version_string();
    unsigned int major = 0, minor = 0, patch = 0;
    char tail = 0;
    uint32_t number = nxsm_version();

    (void)state;
    assert_non_null(text);
    assert_int_equal(sscanf(text, "%u.%u.%u%c", &major, &minor, &patch, &tail), 3);
    assert_true(major < 256u && minor < 256u && patch < 65536u);
    assert_int_equal(number, (major << 24) | (minor << 16) | patch);
    /* Static text: the same pointer every time. */
    assert_ptr_equal(nxsm_version_string(), text);
}

static void test_result_text_for_every_code(void **state)
{
    /* One past the last code in nx_security_module.h. */
    enum
    {
        RESULT_END = NXSM_RESULT_COUNT
    };
    const char *texts[RESULT_END];
    uint32_t code;
    uint32_t other;
    const char *unknown = nxsm_result_text((uint32_t)RESULT_END);

    (void)state;
    assert_non_null(unknown);
    assert_string_equal(unknown, "unknown result");
    assert_string_equal(nxsm_result_text(0xFFFFFFFFu), "unknown result");
    assert_string_equal(nxsm_result_text(1000u), "unknown result");

    for (code = 0; code < (uint32_t)RESULT_END; code++)
    {
        texts[code] = nxsm_result_text(code);
        assert_non_null(texts[code]);
        assert_true(strlen(texts[code]) > 0u);
        assert_string_not_equal(texts[code], "unknown result");
        for (other = 0; other < code; other++)
        {
            assert_string_not_equal(texts[code], texts[other]);
        }
    }
}

/* ---- configuration ---------------------------------------------------------------------- */

static void test_config_default(void **state)
{
    nxsm_config config = default_config();

    (void)state;
    assert_int_equal(nxsm_config_default(NULL), NXSM_ERR_NULL_ARGUMENT);
    assert_int_equal(config.struct_size, sizeof(nxsm_config));
    assert_int_equal(config.high_interval_s, 10);
    assert_int_equal(config.medium_interval_s, 30);
    assert_int_equal(config.low_interval_s, 60);
    assert_int_equal(config.first_collection_base_s, 30);
    assert_int_equal(config.retry_interval_s, 3);
    assert_int_equal(config.pending_timeout_s, 300);
    assert_int_equal(config.capture_mode, NXSM_CAPTURE_UNICAST_ONLY);
    assert_int_equal(config.protocols, NXSM_PROTOCOL_TCP | NXSM_PROTOCOL_UDP | NXSM_PROTOCOL_ICMP);
    assert_int_equal(nxsm_config_validate(&config), NXSM_OK);
}

static void test_config_validate_null_and_size(void **state)
{
    nxsm_config config = default_config();

    (void)state;
    assert_int_equal(nxsm_config_validate(NULL), NXSM_ERR_NULL_ARGUMENT);
    config.struct_size = 0;
    assert_int_equal(nxsm_config_validate(&config), NXSM_ERR_ABI_MISMATCH);
    config.struct_size = (uint32_t)sizeof(config) - 4u;
    assert_int_equal(nxsm_config_validate(&config), NXSM_ERR_ABI_MISMATCH);
    config.struct_size = (uint32_t)sizeof(config) + 4u;
    assert_int_equal(nxsm_config_validate(&config), NXSM_ERR_ABI_MISMATCH);
}

/* One field, a value and the result validate (and start) must give for it. */
typedef struct
{
    size_t offset;
    const char *name;
    uint32_t value;
    nxsm_result expected;
} field_case;

#define FIELD(f, v, r)                         \
    {                                          \
        offsetof(nxsm_config, f), #f, (v), (r) \
    }

static const field_case field_cases[] = {
    FIELD(high_interval_s, 0u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(high_interval_s, 1u, NXSM_OK),
    FIELD(high_interval_s, 86400u, NXSM_OK),
    FIELD(high_interval_s, 86401u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(high_interval_s, 0xFFFFFFFFu, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(medium_interval_s, 0u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(medium_interval_s, 1u, NXSM_OK),
    FIELD(medium_interval_s, 86400u, NXSM_OK),
    FIELD(medium_interval_s, 86401u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(low_interval_s, 0u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(low_interval_s, 1u, NXSM_OK),
    FIELD(low_interval_s, 86400u, NXSM_OK),
    FIELD(low_interval_s, 86401u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(first_collection_base_s, 0u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(first_collection_base_s, 1u, NXSM_OK),
    FIELD(first_collection_base_s, 3600u, NXSM_OK),
    FIELD(first_collection_base_s, 3601u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(retry_interval_s, 0u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(retry_interval_s, 1u, NXSM_OK),
    FIELD(retry_interval_s, 3600u, NXSM_OK),
    FIELD(retry_interval_s, 3601u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(pending_timeout_s, 0u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(pending_timeout_s, 1u, NXSM_OK),
    FIELD(pending_timeout_s, 86400u, NXSM_OK),
    FIELD(pending_timeout_s, 86401u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(capture_mode, NXSM_CAPTURE_UNICAST_ONLY, NXSM_OK),
    FIELD(capture_mode, NXSM_CAPTURE_IP_INPUT, NXSM_OK),
    FIELD(capture_mode, 2u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(capture_mode, 0xFFFFFFFFu, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(protocols, 0u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(protocols, NXSM_PROTOCOL_TCP, NXSM_OK),
    FIELD(protocols, NXSM_PROTOCOL_UDP, NXSM_OK),
    FIELD(protocols, NXSM_PROTOCOL_ICMP, NXSM_OK),
    FIELD(protocols, 7u, NXSM_OK),
    FIELD(protocols, 8u, NXSM_ERR_INVALID_ARGUMENT),
    FIELD(protocols, 0xFFu, NXSM_ERR_INVALID_ARGUMENT),
};

static nxsm_config config_with(const field_case *c)
{
    nxsm_config config = default_config();

    memcpy((unsigned char *)&config + c->offset, &c->value, sizeof(c->value));
    return config;
}

static void test_config_validate_each_field(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++)
    {
        nxsm_config config = config_with(&field_cases[i]);
        nxsm_result got = nxsm_config_validate(&config);

        if (got != field_cases[i].expected)
        {
            fail_msg("validate %s=%u: got %u, expected %u", field_cases[i].name, (unsigned)field_cases[i].value,
                     (unsigned)got, (unsigned)field_cases[i].expected);
        }
    }
}

/* ---- start / stop ----------------------------------------------------------------------- */

static void test_start_refuses_bad_arguments_and_starts_nothing(void **state)
{
    nxsm_config config = default_config();
    nxsm_stats before = stats_now();
    nxsm_stats after;
    size_t i;

    (void)state;
    assert_int_equal(nxsm_start(NULL, T0, 1u), NXSM_ERR_NULL_ARGUMENT);

    config.struct_size = (uint32_t)sizeof(config) + 4u;
    assert_int_equal(nxsm_start(&config, T0, 1u), NXSM_ERR_ABI_MISMATCH);
    config.struct_size = 0;
    assert_int_equal(nxsm_start(&config, T0, 1u), NXSM_ERR_ABI_MISMATCH);

    config = default_config();
    assert_int_equal(nxsm_start(&config, NXSM_TIME_UNAVAILABLE, 1u), NXSM_ERR_CLOCK_UNAVAILABLE);

    for (i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++)
    {
        if (field_cases[i].expected != NXSM_OK)
        {
            nxsm_config bad = config_with(&field_cases[i]);
            nxsm_result got = nxsm_start(&bad, T0, 1u);

            if (got != NXSM_ERR_INVALID_ARGUMENT)
            {
                fail_msg("start %s=%u: got %u", field_cases[i].name, (unsigned)field_cases[i].value, (unsigned)got);
            }
        }
    }

    assert_int_equal(state_now(), NXSM_STATE_NOT_INITIALIZED);
    after = stats_now();
    assert_int_equal(after.starts, before.starts);
    assert_int_equal(after.stops, before.stops);
}

static void test_start_stop_life_cycle(void **state)
{
    nxsm_config config = default_config();
    nxsm_stats before = stats_now();
    nxsm_stats after;

    (void)state;
    assert_int_equal(state_now(), NXSM_STATE_NOT_INITIALIZED);
    assert_int_equal(nxsm_stop(), NXSM_ERR_NOT_STARTED);

    assert_int_equal(nxsm_start(&config, T0, 0xFFFFFFFFu), NXSM_OK);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    assert_int_equal(nxsm_start(&config, T0, 1u), NXSM_ERR_ALREADY_STARTED);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);

    after = stats_now();
    assert_int_equal(after.state, NXSM_STATE_PENDING);
    assert_int_equal(after.state_since_s, T0);
    assert_int_equal(after.starts, before.starts + 1u);

    assert_int_equal(nxsm_stop(), NXSM_OK);
    assert_int_equal(nxsm_stop(), NXSM_ERR_NOT_STARTED);
    assert_int_equal(state_now(), NXSM_STATE_NOT_INITIALIZED);
    after = stats_now();
    assert_int_equal(after.state, NXSM_STATE_NOT_INITIALIZED);
    assert_int_equal(after.starts, before.starts + 1u);
    assert_int_equal(after.stops, before.stops + 1u);
}

/* ---- poll --------------------------------------------------------------------------------- */

static void test_poll_results(void **state)
{
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    assert_int_equal(nxsm_poll(T0, false), NXSM_ERR_NOT_STARTED);
    assert_int_equal(nxsm_poll(T0, true), NXSM_ERR_NOT_STARTED);

    start_default();
    before = stats_now();
    assert_int_equal(nxsm_poll(NXSM_TIME_UNAVAILABLE, true), NXSM_ERR_CLOCK_UNAVAILABLE);
    assert_int_equal(state_now(), NXSM_STATE_PENDING); /* no clock: nothing decided */

    assert_int_equal(nxsm_poll(T0 + 1u, false), NXSM_OK);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    assert_int_equal(nxsm_poll(T0 + 2u, true), NXSM_OK);
    assert_int_equal(state_now(), NXSM_STATE_ACTIVE);
    after = stats_now();
    assert_int_equal(after.polls, before.polls + 2u);
    assert_int_equal(after.state_since_s, T0 + 2u);
    assert_int_equal(nxsm_stop(), NXSM_OK);
}

/* ---- getters ------------------------------------------------------------------------------ */

static void test_get_state_and_stats(void **state)
{
    nxsm_stats stats;
    uint32_t value = 7;

    (void)state;
    assert_int_equal(nxsm_get_state(NULL), NXSM_ERR_NULL_ARGUMENT);
    assert_int_equal(nxsm_get_state(&value), NXSM_OK);
    assert_int_equal(value, NXSM_STATE_NOT_INITIALIZED);

    assert_int_equal(nxsm_get_stats(NULL), NXSM_ERR_NULL_ARGUMENT);
    memset(&stats, 0, sizeof(stats));
    stats.struct_size = 0;
    assert_int_equal(nxsm_get_stats(&stats), NXSM_ERR_ABI_MISMATCH);
    stats.struct_size = (uint32_t)sizeof(stats) + 4u;
    assert_int_equal(nxsm_get_stats(&stats), NXSM_ERR_ABI_MISMATCH);
    stats.struct_size = (uint32_t)sizeof(stats);
    assert_int_equal(nxsm_get_stats(&stats), NXSM_OK);
    assert_int_equal(stats.struct_size, sizeof(stats));
    assert_int_equal(stats.state, NXSM_STATE_NOT_INITIALIZED);
}

static void test_capacities(void **state)
{
    nxsm_capacities capacities;

    (void)state;
    assert_int_equal(nxsm_get_capacities(NULL), NXSM_ERR_NULL_ARGUMENT);
    memset(&capacities, 0, sizeof(capacities));
    capacities.struct_size = (uint32_t)sizeof(capacities) + 4u;
    assert_int_equal(nxsm_get_capacities(&capacities), NXSM_ERR_ABI_MISMATCH);
    capacities.struct_size = (uint32_t)sizeof(capacities);
    assert_int_equal(nxsm_get_capacities(&capacities), NXSM_OK);
    assert_true(capacities.max_flows_v4 >= 1u);
    assert_true(capacities.ring_slots >= 1u);
    /* Ring capacity is a power of two. */
    assert_int_equal(capacities.ring_slots & (capacities.ring_slots - 1u), 0);
}

/* ---- intervals ---------------------------------------------------------------------------- */

static void test_set_interval_needs_running_module(void **state)
{
    (void)state;
    assert_int_equal(nxsm_set_interval(NXSM_PRIORITY_HIGH, 20u), NXSM_ERR_NOT_STARTED);
    assert_int_equal(nxsm_set_interval(NXSM_PRIORITY_LOW, 120u), NXSM_ERR_NOT_STARTED);
}

static void test_set_and_get_interval_ranges(void **state)
{
    uint32_t seconds = 0;
    uint32_t priority;
    static const uint32_t defaults[3] = {10u, 30u, 60u};

    (void)state;
    start_default();

    for (priority = NXSM_PRIORITY_HIGH; priority <= NXSM_PRIORITY_LOW; priority++)
    {
        assert_int_equal(nxsm_get_interval(priority, &seconds), NXSM_OK);
        assert_int_equal(seconds, defaults[priority]);
        assert_int_equal(nxsm_get_interval(priority, NULL), NXSM_ERR_NULL_ARGUMENT);

        assert_int_equal(nxsm_set_interval(priority, 0u), NXSM_ERR_INVALID_ARGUMENT);
        assert_int_equal(nxsm_set_interval(priority, 86401u), NXSM_ERR_INVALID_ARGUMENT);
        assert_int_equal(nxsm_set_interval(priority, 0xFFFFFFFFu), NXSM_ERR_INVALID_ARGUMENT);
        assert_int_equal(nxsm_get_interval(priority, &seconds), NXSM_OK);
        assert_int_equal(seconds, defaults[priority]); /* refused values change nothing */

        assert_int_equal(nxsm_set_interval(priority, 1u), NXSM_OK);
        assert_int_equal(nxsm_get_interval(priority, &seconds), NXSM_OK);
        assert_int_equal(seconds, 1u);
        assert_int_equal(nxsm_set_interval(priority, 86400u), NXSM_OK);
        assert_int_equal(nxsm_get_interval(priority, &seconds), NXSM_OK);
        assert_int_equal(seconds, 86400u);
    }

    assert_int_equal(nxsm_set_interval(3u, 10u), NXSM_ERR_INVALID_ARGUMENT);
    assert_int_equal(nxsm_set_interval(0xFFFFFFFFu, 10u), NXSM_ERR_INVALID_ARGUMENT);
    assert_int_equal(nxsm_get_interval(3u, &seconds), NXSM_ERR_INVALID_ARGUMENT);
    assert_int_equal(nxsm_stop(), NXSM_OK);
}

static void test_restart_uses_new_config(void **state)
{
    nxsm_config config = default_config();
    uint32_t seconds = 0;

    (void)state;
    config.high_interval_s = 17u;
    assert_int_equal(nxsm_start(&config, T0, 1u), NXSM_OK);
    assert_int_equal(nxsm_get_interval(NXSM_PRIORITY_HIGH, &seconds), NXSM_OK);
    assert_int_equal(seconds, 17u);
    assert_int_equal(nxsm_stop(), NXSM_OK);

    start_default();
    assert_int_equal(nxsm_get_interval(NXSM_PRIORITY_HIGH, &seconds), NXSM_OK);
    assert_int_equal(seconds, 10u);
    assert_int_equal(nxsm_stop(), NXSM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_number_matches_string, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_result_text_for_every_code, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_config_default, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_config_validate_null_and_size, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_config_validate_each_field, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_start_refuses_bad_arguments_and_starts_nothing, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_start_stop_life_cycle, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_poll_results, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_get_state_and_stats, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_capacities, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_set_interval_needs_running_module, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_set_and_get_interval_ranges, stopped, stopped),
        cmocka_unit_test_setup_teardown(test_restart_uses_new_config, stopped, stopped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
