/*
 * Drop-in API (nx_azure_iot_security_module.h) against the ThreadX / NetX Duo / Azure IoT
 * simulator: the original's enable/disable rules, the automatic enable/disable inside
 * nx_azure_iot_create()/_delete() of NetX Duo before v6.4.0 (as simulated), clean-up
 * after every failure, enable/disable cycles,
 * the cloud-thread tick driving the state machine from the hub connection state (also
 * without a clock), the ThreadX critical-section port, and enable/disable racing the
 * cloud thread.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nxsm_test_support.h"

#include "nx_azure_iot_security_module.h"
#include "nx_security_module.h"
#include "sim_control.h"

/* The shim's port provides these to the core; tested here directly. */
void _critical_section_1_0_acquire(void);
void _critical_section_1_0_release(void);

#define ISM_NAME "Azure IoT Security Module"
#define SDK_NAME "Azure SDK Module"

static NX_AZURE_IOT iot_a;
static NX_AZURE_IOT iot_b;
static NX_IP ip;
static NX_PACKET_POOL pool;
static NX_DNS dns;
static ULONG cloud_stack_a[256];
static ULONG cloud_stack_b[256];
static NX_AZURE_IOT_HUB_CLIENT hub_1;
static NX_AZURE_IOT_HUB_CLIENT hub_2;

/* ---- helpers ---------------------------------------------------------------------------- */

static ULONG ism_registered(void)
{
    return sim_cloud_registered_named(ISM_NAME);
}

/* The security module's entry in a cloud's module list, or NULL. */
static NX_CLOUD_MODULE *ism_module_in(NX_CLOUD *cloud)
{
    NX_CLOUD_MODULE *module;

    for (module = cloud->nx_cloud_modules_list_header; module != NX_NULL; module = module->nx_cloud_module_next)
    {
        if (module->nx_cloud_module_name != NX_NULL && strcmp(module->nx_cloud_module_name, ISM_NAME) == 0)
        {
            return module;
        }
    }
    return NX_NULL;
}

/* Nothing of the module is left: not registered anywhere, core stopped. */
static void assert_nothing_running(void)
{
    assert_int_equal(ism_registered(), 0);
    assert_int_equal(state_now(), NXSM_STATE_NOT_INITIALIZED);
}

static void init_iot(NX_AZURE_IOT *iot)
{
    assert_int_equal(sim_azure_iot_init(iot, sim_unix_time_get), NX_AZURE_IOT_SUCCESS);
}

static UINT create_iot(NX_AZURE_IOT *iot, ULONG *stack, UINT stack_size)
{
    return nx_azure_iot_create(iot, (const UCHAR *)"iot", &ip, &pool, &dns, stack, stack_size, 3, sim_unix_time_get);
}

static int fresh(void **state)
{
    (void)state;
    (void)nx_azure_iot_security_module_disable(NX_NULL);
    (void)nxsm_stop();
    sim_reset();
    memset(&iot_a, 0, sizeof(iot_a));
    memset(&iot_b, 0, sizeof(iot_b));
    memset(&ip, 0, sizeof(ip));
    assert_int_equal(sim_ip_create(&ip, (CHAR *)"ip0"), NX_SUCCESS);
    return 0;
}

static int cleanup(void **state)
{
    (void)state;
    assert_int_equal(nx_azure_iot_security_module_disable(NX_NULL), NX_AZURE_IOT_SUCCESS);
    assert_nothing_running();
    sim_reset();
    return 0;
}

/* ---- enable ------------------------------------------------------------------------------- */

static void test_enable_null_is_invalid_parameter(void **state)
{
    (void)state;
    assert_int_equal(nx_azure_iot_security_module_enable(NX_NULL), NX_AZURE_IOT_INVALID_PARAMETER);
    assert_int_equal(sim_unix_time_calls(), 0);
    assert_nothing_running();
}

static void test_enable_starts_core_and_registers_cloud_module(void **state)
{
    nxsm_stats before = stats_now();
    nxsm_stats after;
    NX_CLOUD_MODULE *module;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);

    assert_int_equal(ism_registered(), 1);
    module = ism_module_in(&iot_a.nx_azure_iot_cloud);
    assert_non_null(module);
    assert_int_equal(module->nx_cloud_module_registered_events,
                     NX_CLOUD_MODULE_AZURE_ISM_EVENT | NX_CLOUD_COMMON_PERIODIC_EVENT);
    assert_ptr_equal(module->nx_cloud_module_context, &iot_a);
    assert_non_null(module->nx_cloud_module_process);

    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    after = stats_now();
    assert_int_equal(after.starts, before.starts + 1u);
    assert_int_equal(after.state_since_s, SIM_DEFAULT_UNIX_TIME);
}

static void test_enable_same_instance_is_idempotent(void **state)
{
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    before = stats_now();
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    after = stats_now();
    assert_int_equal(after.starts, before.starts);
    assert_int_equal(after.stops, before.stops);
    assert_int_equal(ism_registered(), 1);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
}

static void test_other_instance_is_refused_and_running_one_untouched(void **state)
{
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    init_iot(&iot_a);
    init_iot(&iot_b);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    before = stats_now();

    assert_int_equal(nx_azure_iot_security_module_enable(&iot_b), NX_AZURE_IOT_INVALID_PARAMETER);
    assert_int_equal(nx_azure_iot_security_module_enable(NX_NULL), NX_AZURE_IOT_INVALID_PARAMETER);
    assert_int_equal(nx_azure_iot_security_module_disable(&iot_b), NX_AZURE_IOT_INVALID_PARAMETER);

    after = stats_now();
    assert_int_equal(after.starts, before.starts);
    assert_int_equal(after.stops, before.stops);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    assert_non_null(ism_module_in(&iot_a.nx_azure_iot_cloud));
    assert_null(ism_module_in(&iot_b.nx_azure_iot_cloud));
    assert_int_equal(ism_registered(), 1);

    /* The running instance still works: its tick still polls the core. */
    sim_cloud_run_seconds(1);
    assert_int_equal(stats_now().polls, after.polls + 1u);

    assert_int_equal(nx_azure_iot_security_module_disable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_nothing_running();
}

static void test_failing_time_callback_leaves_nothing(void **state)
{
    nxsm_stats before = stats_now();
    nxsm_stats after;

    (void)state;
    init_iot(&iot_a);
    sim_set_unix_time(0, SIM_DEFAULT_UNIX_TIME);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_FAILURE);
    assert_int_equal(sim_unix_time_calls(), 1);
    assert_nothing_running();
    after = stats_now();
    assert_int_equal(after.starts, before.starts);

    /* Once the clock works, enable works. */
    sim_set_unix_time(1, SIM_DEFAULT_UNIX_TIME);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(ism_registered(), 1);
}

static void test_all_ones_time_is_failure(void **state)
{
    (void)state;
    init_iot(&iot_a);
    sim_set_unix_time(1, (ULONG)-1);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_FAILURE);
    assert_nothing_running();
}

static void test_missing_time_callback_is_failure(void **state)
{
    (void)state;
    init_iot(&iot_a);
    iot_a.nx_azure_iot_unix_time_get = NX_NULL;
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_FAILURE);
    assert_nothing_running();
}

static void test_register_failure_returns_raw_status(void **state)
{
    static const UINT statuses[] = {NX_CLOUD_MODULE_ALREADY_REGISTERED, NX_CLOUD_MODULE_EVENT_INVALID, NX_PTR_ERROR};
    nxsm_stats before = stats_now();
    nxsm_stats after;
    size_t i;

    (void)state;
    init_iot(&iot_a);
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
    {
        sim_cloud_fail_next_register(ISM_NAME, statuses[i]);
        assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), statuses[i]);
        assert_nothing_running();
    }
    after = stats_now();
    /* The core was started and stopped again each time. */
    assert_int_equal(after.starts - before.starts, after.stops - before.stops);

    /* A real NetX refusal (cloud not created) is surfaced the same way. */
    assert_int_equal(sim_azure_iot_deinit(&iot_a), NX_SUCCESS);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_PTR_ERROR);
    assert_nothing_running();
}

static void test_core_started_natively_is_not_taken_over(void **state)
{
    nxsm_config config;
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nxsm_config_default(&config), NXSM_OK);
    assert_int_equal(nxsm_start(&config, SIM_DEFAULT_UNIX_TIME, 1u), NXSM_OK);
    before = stats_now();

    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_FAILURE);
    assert_int_equal(ism_registered(), 0);
    /* The native user's core keeps running: enable neither restarted nor stopped it. */
    after = stats_now();
    assert_int_equal(after.starts, before.starts);
    assert_int_equal(after.stops, before.stops);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    assert_int_equal(nxsm_stop(), NXSM_OK);
}

/* ---- disable ------------------------------------------------------------------------------ */

static void test_disable_when_not_running_is_success(void **state)
{
    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nx_azure_iot_security_module_disable(NX_NULL), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(nx_azure_iot_security_module_disable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_nothing_running();
}

static void test_disable_null_stops_running_instance(void **state)
{
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    before = stats_now();
    assert_int_equal(nx_azure_iot_security_module_disable(NX_NULL), NX_AZURE_IOT_SUCCESS);
    after = stats_now();
    assert_int_equal(after.stops, before.stops + 1u);
    assert_nothing_running();
    assert_null(ism_module_in(&iot_a.nx_azure_iot_cloud));

    /* A later enable, even for another instance, starts afresh. */
    init_iot(&iot_b);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_b), NX_AZURE_IOT_SUCCESS);
    assert_non_null(ism_module_in(&iot_b.nx_azure_iot_cloud));
}

static void test_disable_survives_deregister_failure(void **state)
{
    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    sim_cloud_fail_next_deregister(ISM_NAME, NX_PTR_ERROR);
    /* As in the original, a failed deregistration does not fail disable... */
    assert_int_equal(nx_azure_iot_security_module_disable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(state_now(), NXSM_STATE_NOT_INITIALIZED);
    /* ...and the stale registration is inert: its ticks no longer reach the core. */
    {
        nxsm_stats before = stats_now();

        sim_cloud_run_seconds(3);
        assert_int_equal(stats_now().polls, before.polls);
    }
    assert_int_equal(nx_cloud_module_deregister(&iot_a.nx_azure_iot_cloud, ism_module_in(&iot_a.nx_azure_iot_cloud)),
                     NX_SUCCESS);
}

/* ---- through nx_azure_iot_create / nx_azure_iot_delete ------------------------------------ */

static void test_create_enables_and_delete_disables(void **state)
{
    (void)state;
    assert_int_equal(create_iot(&iot_a, cloud_stack_a, sizeof(cloud_stack_a)), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(ism_registered(), 1);
    assert_int_equal(sim_cloud_registered_named(SDK_NAME), 1);
    assert_non_null(ism_module_in(&iot_a.nx_azure_iot_cloud));
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    /* Creating the same instance's module again from the application is harmless. */
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);

    assert_int_equal(nx_azure_iot_delete(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(sim_cloud_registered_count(), 0);
    assert_nothing_running();
}

static void test_create_fails_with_enable_status_without_clock(void **state)
{
    (void)state;
    sim_set_unix_time(0, 0);
    assert_int_equal(create_iot(&iot_a, cloud_stack_a, sizeof(cloud_stack_a)), NX_AZURE_IOT_FAILURE);
    /* Creation was undone: no module of either kind, cloud helper deleted. */
    assert_int_equal(sim_cloud_registered_count(), 0);
    assert_int_not_equal(iot_a.nx_azure_iot_cloud.nx_cloud_id, NX_CLOUD_ID);
    assert_nothing_running();
}

static void test_create_surfaces_register_status(void **state)
{
    (void)state;
    sim_cloud_fail_next_register(ISM_NAME, NX_CLOUD_MODULE_EVENT_INVALID);
    assert_int_equal(create_iot(&iot_a, cloud_stack_a, sizeof(cloud_stack_a)), NX_CLOUD_MODULE_EVENT_INVALID);
    assert_int_equal(sim_cloud_registered_count(), 0);
    assert_nothing_running();
}

static void test_create_second_instance_refused_first_keeps_running(void **state)
{
    (void)state;
    assert_int_equal(create_iot(&iot_a, cloud_stack_a, sizeof(cloud_stack_a)), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(create_iot(&iot_b, cloud_stack_b, sizeof(cloud_stack_b)), NX_AZURE_IOT_INVALID_PARAMETER);
    assert_int_equal(ism_registered(), 1);
    assert_non_null(ism_module_in(&iot_a.nx_azure_iot_cloud));
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    assert_int_equal(nx_azure_iot_delete(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_nothing_running();
}

static void test_delete_refuses_while_resources_remain(void **state)
{
    (void)state;
    assert_int_equal(create_iot(&iot_a, cloud_stack_a, sizeof(cloud_stack_a)), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(sim_hub_client_attach(&hub_1, &iot_a, "hub.example", "dev-1", NX_NULL), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(nx_azure_iot_delete(&iot_a), NX_AZURE_IOT_DELETE_ERROR);
    assert_int_equal(ism_registered(), 1); /* still enabled */
    assert_int_equal(sim_hub_client_detach(&hub_1), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(nx_azure_iot_delete(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_nothing_running();
}

/* ---- cycles ------------------------------------------------------------------------------- */

static void test_thousand_enable_disable_cycles(void **state)
{
    nxsm_stats before = stats_now();
    nxsm_stats after;
    UINT i;

    (void)state;
    init_iot(&iot_a);
    for (i = 0; i < 1000u; i++)
    {
        assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
        sim_cloud_run_seconds(1);
        assert_int_equal(nx_azure_iot_security_module_disable((i & 1u) ? NX_NULL : &iot_a), NX_AZURE_IOT_SUCCESS);
    }
    after = stats_now();
    assert_int_equal(after.starts - before.starts, 1000);
    assert_int_equal(after.stops - before.stops, 1000);
    assert_int_equal(after.polls - before.polls, 1000);
    assert_int_equal(after.state, NXSM_STATE_NOT_INITIALIZED);
    assert_int_equal(sim_cloud_registered_count(), 0);
    assert_nothing_running();
}

static void test_hundred_create_delete_cycles(void **state)
{
    nxsm_stats before = stats_now();
    nxsm_stats after;
    UINT i;

    (void)state;
    for (i = 0; i < 100u; i++)
    {
        assert_int_equal(create_iot(&iot_a, cloud_stack_a, sizeof(cloud_stack_a)), NX_AZURE_IOT_SUCCESS);
        assert_int_equal(nx_azure_iot_delete(&iot_a), NX_AZURE_IOT_SUCCESS);
    }
    after = stats_now();
    assert_int_equal(after.starts - before.starts, 100);
    assert_int_equal(after.stops - before.stops, 100);
    assert_int_equal(sim_cloud_registered_count(), 0);
    assert_nothing_running();
}

/* ---- the cloud tick drives the state machine ---------------------------------------------- */

static void test_ticks_follow_hub_connection(void **state)
{
    nxsm_stats stats;
    ULONG pending_since;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(sim_hub_client_attach(&hub_1, &iot_a, "hub.example", "dev-1", NX_NULL), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);

    sim_cloud_run_seconds(5);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);

    sim_hub_client_set_state(&hub_1, NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTING);
    sim_cloud_run_seconds(1);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);

    sim_hub_client_set_state(&hub_1, NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED);
    sim_cloud_run_seconds(1);
    assert_int_equal(state_now(), NXSM_STATE_ACTIVE);
    stats = stats_now();
    assert_int_equal(stats.state_since_s, sim_unix_time_value());

    /* Hub gone: back to PENDING, then SUSPENDED once more than 300 s passed without one. */
    sim_hub_client_set_state(&hub_1, NX_AZURE_IOT_HUB_CLIENT_STATUS_NOT_CONNECTED);
    sim_cloud_run_seconds(1);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);
    pending_since = stats_now().state_since_s;
    assert_int_equal(pending_since, sim_unix_time_value());

    sim_cloud_run_seconds(300 - 1);
    assert_int_equal(state_now(), NXSM_STATE_PENDING); /* 299 s */
    sim_cloud_run_seconds(1);
    assert_int_equal(sim_unix_time_value() - pending_since, 300);
    assert_int_equal(state_now(), NXSM_STATE_PENDING); /* exactly 300 s: not more than */
    sim_cloud_run_seconds(1);
    assert_int_equal(state_now(), NXSM_STATE_SUSPENDED);
    sim_cloud_run_seconds(60);
    assert_int_equal(state_now(), NXSM_STATE_SUSPENDED);

    /* A hub connecting wakes it up. */
    sim_hub_client_set_state(&hub_1, NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED);
    sim_cloud_run_seconds(1);
    assert_int_equal(state_now(), NXSM_STATE_ACTIVE);

    assert_int_equal(nx_azure_iot_security_module_disable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(sim_hub_client_detach(&hub_1), NX_AZURE_IOT_SUCCESS);
}

static void test_any_connected_hub_counts_provisioning_does_not(void **state)
{
    static NX_AZURE_IOT_HUB_CLIENT fake_hub;
    static NX_AZURE_IOT_RESOURCE provisioning;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(sim_hub_client_attach(&hub_1, &iot_a, "hub.example", "dev-1", NX_NULL), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(sim_hub_client_attach(&hub_2, &iot_a, "hub.example", "dev-1", "mod-1"), NX_AZURE_IOT_SUCCESS);
    /* A provisioning resource whose data happens to look like a connected hub. */
    memset(&fake_hub, 0, sizeof(fake_hub));
    fake_hub.nx_azure_iot_hub_client_state = NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED;
    memset(&provisioning, 0, sizeof(provisioning));
    provisioning.resource_type = NX_AZURE_IOT_RESOURCE_IOT_PROVISIONING;
    provisioning.resource_data_ptr = &fake_hub;
    assert_int_equal(nx_azure_iot_resource_add(&iot_a, &provisioning), NX_AZURE_IOT_SUCCESS);

    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    sim_cloud_run_seconds(2);
    assert_int_equal(state_now(), NXSM_STATE_PENDING);

    /* The second of two hubs (not the list head) connecting is enough. */
    sim_hub_client_set_state(&hub_1, NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED);
    sim_cloud_run_seconds(1);
    assert_int_equal(state_now(), NXSM_STATE_ACTIVE);

    assert_int_equal(nx_azure_iot_security_module_disable(NX_NULL), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(nx_azure_iot_resource_remove(&iot_a, &provisioning), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(sim_hub_client_detach(&hub_2), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(sim_hub_client_detach(&hub_1), NX_AZURE_IOT_SUCCESS);
}

/* A tick without a usable clock (failing callback, or the all-ones "no time" value) still
   reaches the core with NXSM_TIME_UNAVAILABLE: the ring is drained and the tick counted in
   clock_unavailable, but no state-machine pass is made and time stands still. */
static void test_tick_without_clock_drains_and_counts(void **state)
{
    static const uint8_t syn[40] = {
        0x45, 0,    0,    40,   0, 1, 0x40, 0, 64, 6, 0, 0, 192,  0,    2,    10,   198, 51, 100, 7,
        0xc3, 0x50, 0x22, 0xb3, 0, 0, 0,    1, 0,  0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0,   0,  0,   0,
    };
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    assert_int_equal(nxsm_capture(syn, sizeof(syn), NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER), NXSM_OK);
    before = stats_now();
    assert_int_equal(before.ring_waiting, 1);

    sim_set_unix_time(0, sim_unix_time_value());
    sim_cloud_run_seconds(3);
    sim_set_unix_time(1, (ULONG)-1);
    sim_cloud_tick();
    after = stats_now();
    assert_int_equal(sim_unix_time_calls() - 1u, 4); /* enable read it once */
    assert_int_equal(after.clock_unavailable - before.clock_unavailable, 4);
    assert_int_equal(after.polls, before.polls);
    assert_int_equal(after.ring_waiting, 0);
    assert_int_equal(after.packets_counted, before.packets_counted + 1u);
    assert_int_equal(after.state, NXSM_STATE_PENDING);
    assert_int_equal(after.state_since_s, before.state_since_s);
    assert_int_equal(after.messages_built, before.messages_built);

    sim_set_unix_time(1, SIM_DEFAULT_UNIX_TIME + 10u);
    sim_cloud_tick();
    after = stats_now();
    assert_int_equal(after.polls, before.polls + 1u);
    assert_int_equal(after.clock_unavailable - before.clock_unavailable, 4);
}

/* The module's own event (set by the ring watermark callback) drains the capture ring
   without a state-machine pass; the periodic tick still polls. */
static void test_own_event_drains_ring(void **state)
{
    static const uint8_t syn[40] = {
        0x45, 0,    0,    40,   0, 1, 0x40, 0, 64, 6, 0, 0, 192,  0,    2,    10,   198, 51, 100, 7,
        0xc3, 0x50, 0x22, 0xb3, 0, 0, 0,    1, 0,  0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0,   0,  0,   0,
    };
    NX_CLOUD_MODULE *module;
    nxsm_stats before;
    nxsm_stats after;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(nx_azure_iot_security_module_enable(&iot_a), NX_AZURE_IOT_SUCCESS);
    module = ism_module_in(&iot_a.nx_azure_iot_cloud);
    assert_non_null(module);
    assert_int_equal(nxsm_capture(syn, sizeof(syn), NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER), NXSM_OK);
    before = stats_now();
    assert_int_equal(before.ring_waiting, 1);
    assert_int_equal(nx_cloud_module_event_set(module, NX_CLOUD_MODULE_AZURE_ISM_EVENT), NX_SUCCESS);
    sim_cloud_process_events();
    after = stats_now();
    assert_int_equal(after.polls, before.polls);
    assert_int_equal(after.ring_waiting, 0);
    assert_int_equal(after.packets_counted, before.packets_counted + 1u);
    /* Nothing pending: no call. */
    sim_cloud_process_events();
    assert_int_equal(stats_now().polls, before.polls);
    sim_cloud_tick();
    assert_int_equal(stats_now().polls, before.polls + 1u);
}

/* ---- ThreadX critical-section port -------------------------------------------------------- */

/* Reads this thread's interrupt posture without changing it. */
static UINT posture_now(void)
{
    UINT posture = tx_interrupt_control(TX_INT_DISABLE);

    (void)tx_interrupt_control(posture);
    return posture;
}

static void test_critical_section_nests_and_restores(void **state)
{
    TX_INTERRUPT_SAVE_AREA

        (void)
    state;
    assert_int_equal(posture_now(), TX_INT_ENABLE);
    _critical_section_1_0_acquire();
    assert_int_equal(posture_now(), TX_INT_DISABLE);
    _critical_section_1_0_acquire();
    _critical_section_1_0_release();
    assert_int_equal(posture_now(), TX_INT_DISABLE); /* inner release keeps them off */
    _critical_section_1_0_release();
    assert_int_equal(posture_now(), TX_INT_ENABLE);

    /* An unbalanced release changes nothing. */
    _critical_section_1_0_release();
    assert_int_equal(posture_now(), TX_INT_ENABLE);

    /* Inside an application's own TX_DISABLE section, release leaves interrupts off. */
    TX_DISABLE
    _critical_section_1_0_acquire();
    _critical_section_1_0_release();
    assert_int_equal(posture_now(), TX_INT_DISABLE);
    TX_RESTORE
    assert_int_equal(posture_now(), TX_INT_ENABLE);
}

#define CS_THREADS    4
#define CS_INCREMENTS 20000

static volatile unsigned long cs_counter;

static void *cs_worker(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < CS_INCREMENTS; i++)
    {
        _critical_section_1_0_acquire();
        _critical_section_1_0_acquire();
        cs_counter = cs_counter + 1u;
        _critical_section_1_0_release();
        _critical_section_1_0_release();
    }
    return NULL;
}

static void test_critical_section_excludes_threads(void **state)
{
    pthread_t threads[CS_THREADS];
    int i;

    (void)state;
    cs_counter = 0;
    for (i = 0; i < CS_THREADS; i++)
    {
        assert_int_equal(pthread_create(&threads[i], NULL, cs_worker, NULL), 0);
    }
    for (i = 0; i < CS_THREADS; i++)
    {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    assert_int_equal(cs_counter, (unsigned long)CS_THREADS * CS_INCREMENTS);
}

/* ---- enable/disable racing the cloud thread ----------------------------------------------- */

/* The cloud helper: ticks as fast as it can until told to stop. */
static void *race_cloud_thread(void *arg)
{
    (void)arg;
    while (!race_is_done())
    {
        sim_cloud_run_seconds(1);
    }
    return NULL;
}

/* An application thread toggling the module; counts its successful transitions. */
typedef struct
{
    UINT enables;
    UINT disables;
    UINT unexpected;
} race_result;

static void *race_app_thread(void *arg)
{
    race_result *result = (race_result *)arg;
    int i;

    for (i = 0; i < 500; i++)
    {
        UINT status = nx_azure_iot_security_module_enable(&iot_a);

        if (status == NX_AZURE_IOT_SUCCESS)
        {
            result->enables++;
        }
        else if (status != NX_AZURE_IOT_FAILURE) /* FAILURE = the other thread is mid-way */
        {
            result->unexpected++;
        }
        status = nx_azure_iot_security_module_disable(&iot_a);
        if (status == NX_AZURE_IOT_SUCCESS)
        {
            result->disables++;
        }
        else if (status != NX_AZURE_IOT_FAILURE)
        {
            result->unexpected++;
        }
    }
    return NULL;
}

static void test_enable_disable_race_with_cloud_thread(void **state)
{
    pthread_t cloud;
    pthread_t apps[2];
    race_result results[2];
    nxsm_stats before = stats_now();
    nxsm_stats after;
    int i;

    (void)state;
    init_iot(&iot_a);
    assert_int_equal(sim_hub_client_attach(&hub_1, &iot_a, "hub.example", "dev-1", NX_NULL), NX_AZURE_IOT_SUCCESS);
    sim_hub_client_set_state(&hub_1, NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED);
    memset(results, 0, sizeof(results));
    race_set_done(0);

    assert_int_equal(pthread_create(&cloud, NULL, race_cloud_thread, NULL), 0);
    for (i = 0; i < 2; i++)
    {
        assert_int_equal(pthread_create(&apps[i], NULL, race_app_thread, &results[i]), 0);
    }
    for (i = 0; i < 2; i++)
    {
        assert_int_equal(pthread_join(apps[i], NULL), 0);
    }
    race_set_done(1);
    assert_int_equal(pthread_join(cloud, NULL), 0);

    /* Whatever interleaving happened: the last disable left nothing behind, and every start
       of the core was matched by a stop. */
    assert_int_equal(nx_azure_iot_security_module_disable(NX_NULL), NX_AZURE_IOT_SUCCESS);
    after = stats_now();
    assert_int_equal(results[0].unexpected + results[1].unexpected, 0);
    assert_true(results[0].enables + results[1].enables > 0u);
    assert_int_equal(after.starts - before.starts, after.stops - before.stops);
    assert_nothing_running();
    assert_int_equal(sim_hub_client_detach(&hub_1), NX_AZURE_IOT_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enable_null_is_invalid_parameter, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_enable_starts_core_and_registers_cloud_module, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_enable_same_instance_is_idempotent, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_other_instance_is_refused_and_running_one_untouched, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_failing_time_callback_leaves_nothing, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_all_ones_time_is_failure, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_missing_time_callback_is_failure, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_register_failure_returns_raw_status, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_core_started_natively_is_not_taken_over, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_disable_when_not_running_is_success, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_disable_null_stops_running_instance, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_disable_survives_deregister_failure, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_create_enables_and_delete_disables, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_create_fails_with_enable_status_without_clock, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_create_surfaces_register_status, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_create_second_instance_refused_first_keeps_running, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_delete_refuses_while_resources_remain, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_thousand_enable_disable_cycles, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_hundred_create_delete_cycles, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_ticks_follow_hub_connection, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_any_connected_hub_counts_provisioning_does_not, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_tick_without_clock_drains_and_counts, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_own_event_drains_ring, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_critical_section_nests_and_restores, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_critical_section_excludes_threads, fresh, cleanup),
        cmocka_unit_test_setup_teardown(test_enable_disable_race_with_cloud_thread, fresh, cleanup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
