/*
 * MQTT transport (shim/nxsm_netx_mqtt.c) on the simulated NetX Duo MQTT client: the topic,
 * QoS 1, payloads byte for byte the outbox's messages, a failed publish kept and retried
 * first (order kept), nothing published or acknowledged while disconnected, detach stopping
 * publication (also while a poll is publishing in another thread), and hostile attach
 * arguments refused.
 *
 * The core is a process-wide singleton: every test starts it and ends with it stopped and
 * the transport detached; counters are compared as differences.
 */
/* nanosleep under -std=c99 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nxsm_test_support.h"
#include "test_packets.h"

#include "nx_security_module.h"
#include "nxd_mqtt_client.h"
#include "nxsm_netx.h"
#include "sim_mqtt.h"

#define T0      1704067200u /* 2024-01-01T00:00:00Z */
#define RETRY_S 3u
#define TOPIC   "nxsm/dev-1/v1"

static NXD_MQTT_CLIENT client;
static uint32_t now_s;

/* Short intervals so that collections (and messages) come every few simulated seconds. */
static int setup(void **state)
{
    nxsm_config config = default_config();

    (void)state;
    sim_mqtt_reset();
    memset(&client, 0, sizeof(client));
    client.nxd_mqtt_client_state = NXD_MQTT_CLIENT_STATE_CONNECTED;
    config.high_interval_s = 1u;
    config.medium_interval_s = 2u;
    config.low_interval_s = 3u;
    config.first_collection_base_s = 1u;
    config.retry_interval_s = RETRY_S;
    now_s = T0;
    assert_int_equal(nxsm_start(&config, now_s, 0u), NXSM_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    (void)nxsm_netx_mqtt_detach();
    (void)nxsm_stop();
    sim_mqtt_reset();
    return 0;
}

/* Some traffic for the network-activity messages. */
static void capture_some(void)
{
    uint8_t packet[128];
    uint32_t length = tp_ipv4(packet, 0x0A000002u, 0x0A000001u, TP_UDP, 40000u, 9999u, 20u, 0u, 0u);

    assert_int_equal(nxsm_capture_out(packet, length), NXSM_OK);
}

/* One second later, one transport poll. */
static UINT tick(void)
{
    now_s++;
    return nxsm_netx_mqtt_poll((ULONG)now_s);
}

/* Polls (capturing a packet each second) until `records` publishes are recorded, at most
   `seconds` seconds. */
static void run_until_records(UINT records, unsigned seconds)
{
    unsigned i;

    for (i = 0; i < seconds && sim_mqtt_record_count() < records; i++)
    {
        capture_some();
        assert_int_equal(tick(), NXSM_NETX_MQTT_SUCCESS);
    }
    assert_true(sim_mqtt_record_count() >= records);
}

static int same_payload(const sim_mqtt_record *a, const sim_mqtt_record *b)
{
    return a->payload_length == b->payload_length && a->payload != NULL && b->payload != NULL &&
           memcmp(a->payload, b->payload, a->payload_length) == 0;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_hostile_attach_arguments(void **state)
{
    char long_id[NXSM_NETX_MQTT_DEVICE_ID_MAX + 2u];
    static const char *const refused[] = {"", "a/b", "a+b", "#", "dev\x01", "dev\x7f", "d\xc3\xa9v", "dev\n"};
    nxsm_netx_mqtt_status status;
    size_t i;

    (void)state;
    assert_int_equal(nxsm_netx_mqtt_attach(NULL, "dev-1"), NXSM_NETX_MQTT_NULL_ARGUMENT);
    assert_int_equal(nxsm_netx_mqtt_attach(&client, NULL), NXSM_NETX_MQTT_NULL_ARGUMENT);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
    {
        assert_int_equal(nxsm_netx_mqtt_attach(&client, refused[i]), NXSM_NETX_MQTT_INVALID_DEVICE_ID);
    }
    memset(long_id, 'x', sizeof(long_id));
    long_id[sizeof(long_id) - 1u] = 0; /* 129 characters */
    assert_int_equal(nxsm_netx_mqtt_attach(&client, long_id), NXSM_NETX_MQTT_INVALID_DEVICE_ID);
    assert_int_equal(nxsm_netx_mqtt_detach(), NXSM_NETX_MQTT_NOT_ATTACHED);
    assert_int_equal(nxsm_netx_mqtt_poll((ULONG)now_s), NXSM_NETX_MQTT_NOT_ATTACHED);
    nxsm_netx_mqtt_status_get(NULL);
    nxsm_netx_mqtt_status_get(&status);
    assert_int_equal(status.attached, NX_FALSE);

    /* The longest id is taken, and a second attach is refused without changing anything. */
    long_id[sizeof(long_id) - 2u] = 0; /* 128 characters */
    assert_int_equal(nxsm_netx_mqtt_attach(&client, long_id), NXSM_NETX_MQTT_SUCCESS);
    assert_int_equal(nxsm_netx_mqtt_attach(&client, "dev-1"), NXSM_NETX_MQTT_ALREADY_ATTACHED);
    nxsm_netx_mqtt_status_get(&status);
    assert_int_equal(status.attached, NX_TRUE);
    run_until_records(1u, 60u);
    assert_int_equal(sim_mqtt_record_get(0)->topic_length, 5u + 128u + 3u);
    assert_memory_equal(sim_mqtt_record_get(0)->topic, "nxsm/xxxx", 9u);
    assert_memory_equal(sim_mqtt_record_get(0)->topic + 5u + 128u, "/v1", 3u);
    assert_int_equal(nxsm_netx_mqtt_detach(), NXSM_NETX_MQTT_SUCCESS);
    assert_int_equal(nxsm_netx_mqtt_detach(), NXSM_NETX_MQTT_NOT_ATTACHED);
}

static void test_publishes_outbox_messages(void **state)
{
    nxsm_stats before = stats_now();
    nxsm_stats after;
    nxsm_netx_mqtt_status status_before;
    nxsm_netx_mqtt_status status;
    UINT i;
    UINT j;

    (void)state;
    nxsm_netx_mqtt_status_get(&status_before);
    assert_int_equal(nxsm_netx_mqtt_attach(&client, "dev-1"), NXSM_NETX_MQTT_SUCCESS);
    run_until_records(6u, 120u);
    after = stats_now();
    nxsm_netx_mqtt_status_get(&status);
    assert_int_equal(after.messages_sent - before.messages_sent, sim_mqtt_record_count());
    assert_int_equal(status.messages_published - status_before.messages_published, sim_mqtt_record_count());
    assert_int_equal(status.messages_failed, status_before.messages_failed);
    assert_int_equal(status.last_poll_result, NXSM_OK);
    assert_int_equal(state_now(), NXSM_STATE_ACTIVE);
    for (i = 0; i < sim_mqtt_record_count(); i++)
    {
        const sim_mqtt_record *record = sim_mqtt_record_get(i);

        assert_ptr_equal(record->client, &client);
        assert_int_equal(record->topic_length, strlen(TOPIC));
        assert_string_equal(record->topic, TOPIC);
        assert_int_equal(record->qos, 1u);
        assert_int_equal(record->retain, 0u);
        assert_true(record->wait_option <= 5u); /* never holds the polling thread long */
        assert_int_equal(record->status, NXD_MQTT_SUCCESS);
        assert_true(record->payload_length > 0u);
        /* Every message once (each carries its own sequence number). */
        for (j = 0; j < i; j++)
        {
            assert_false(same_payload(record, sim_mqtt_record_get(j)));
        }
    }
}

static void test_failed_publish_is_retried_first(void **state)
{
    nxsm_stats before;
    nxsm_netx_mqtt_status status_before;
    nxsm_netx_mqtt_status status;
    const uint8_t *bytes = NULL;
    size_t length = 0;
    uint32_t sequence = 0;
    UINT failed_index;
    UINT i;

    (void)state;
    assert_int_equal(nxsm_netx_mqtt_attach(&client, "dev-1"), NXSM_NETX_MQTT_SUCCESS);
    run_until_records(1u, 60u);
    /* Let a few messages pile up unsent (client not connected: nothing attempted), then
       fail the first publish. */
    client.nxd_mqtt_client_state = NXD_MQTT_CLIENT_STATE_CONNECTING;
    before = stats_now();
    for (i = 0; i < 4u; i++)
    {
        capture_some();
        (void)tick();
    }
    assert_int_equal(stats_now().messages_failed, before.messages_failed);
    failed_index = sim_mqtt_record_count();
    client.nxd_mqtt_client_state = NXD_MQTT_CLIENT_STATE_CONNECTED;
    sim_mqtt_fail_next(1u, NXD_MQTT_COMMUNICATION_FAILURE);
    nxsm_netx_mqtt_status_get(&status_before);
    (void)tick();
    /* One attempt, failed, and the poll stopped there. */
    assert_int_equal(sim_mqtt_record_count(), failed_index + 1u);
    assert_int_equal(sim_mqtt_record_get(failed_index)->status, NXD_MQTT_COMMUNICATION_FAILURE);
    assert_int_equal(stats_now().messages_failed, before.messages_failed + 1u);
    nxsm_netx_mqtt_status_get(&status);
    assert_int_equal(status.messages_failed - status_before.messages_failed, 1u);
    assert_int_equal(status.last_failure_status, NXD_MQTT_COMMUNICATION_FAILURE);

    /* The message is still the outbox's oldest: after the retry delay the core hands out
       exactly the bytes that were published (the core's time moves with its polls). */
    now_s += RETRY_S;
    assert_int_equal(nxsm_poll(now_s, true), NXSM_OK);
    assert_int_equal(nxsm_message_peek(&bytes, &length, &sequence), NXSM_OK);
    assert_int_equal(length, sim_mqtt_record_get(failed_index)->payload_length);
    assert_memory_equal(bytes, sim_mqtt_record_get(failed_index)->payload, length);
    assert_int_equal(nxsm_message_ack(sequence, false), NXSM_OK);

    /* Within the new retry delay nothing goes out; after it, that message first, then the
       ones queued behind it. */
    (void)tick();
    assert_int_equal(sim_mqtt_record_count(), failed_index + 1u);
    now_s += RETRY_S;
    (void)tick();
    assert_true(sim_mqtt_record_count() >= failed_index + 3u);
    assert_int_equal(sim_mqtt_record_get(failed_index + 1u)->status, NXD_MQTT_SUCCESS);
    assert_true(same_payload(sim_mqtt_record_get(failed_index + 1u), sim_mqtt_record_get(failed_index)));
    for (i = failed_index + 2u; i < sim_mqtt_record_count(); i++)
    {
        assert_int_equal(sim_mqtt_record_get(i)->status, NXD_MQTT_SUCCESS);
        assert_false(same_payload(sim_mqtt_record_get(i), sim_mqtt_record_get(failed_index)));
    }
    /* At most NXSM_MAX_SENDS_PER_POLL (4) per poll. */
    assert_true(sim_mqtt_record_count() <= failed_index + 1u + 4u);
}

static void test_detach_stops_publishing(void **state)
{
    nxsm_stats before;
    ULONG calls;
    unsigned i;

    (void)state;
    assert_int_equal(nxsm_netx_mqtt_attach(&client, "dev-1"), NXSM_NETX_MQTT_SUCCESS);
    run_until_records(2u, 60u);
    assert_int_equal(nxsm_netx_mqtt_detach(), NXSM_NETX_MQTT_SUCCESS);
    calls = sim_mqtt_calls();
    before = stats_now();
    for (i = 0; i < 30u; i++)
    {
        capture_some();
        assert_int_equal(tick(), NXSM_NETX_MQTT_NOT_ATTACHED);
        /* The application polls the core itself while detached: messages stay queued. */
        (void)nxsm_poll(now_s, true);
    }
    assert_int_equal(sim_mqtt_calls(), calls);
    assert_int_equal(stats_now().messages_sent, before.messages_sent);
    assert_true(stats_now().outbox_messages > 0u);

    /* Attached again (another id), the queue drains to the new topic. */
    assert_int_equal(nxsm_netx_mqtt_attach(&client, "dev-2"), NXSM_NETX_MQTT_SUCCESS);
    (void)tick();
    assert_true(sim_mqtt_calls() > calls);
    assert_string_equal(sim_mqtt_record_get(sim_mqtt_record_count() - 1u)->topic, "nxsm/dev-2/v1");
}

/* ---- a poll held inside a publish, another thread meanwhile ------------------------------ */

static int hold_entered;
static int hold_release;
static int detach_returned;

static int flag_get(int *flag)
{
    return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

static void flag_set(int *flag, int value)
{
    __atomic_store_n(flag, value, __ATOMIC_SEQ_CST);
}

static void pause_ms(long ms)
{
    struct timespec delay = {0, ms * 1000000L};

    nanosleep(&delay, NULL);
}

/* Inside the simulated publish: holds the polling thread until released. */
static VOID hold_hook(VOID *context)
{
    (void)context;
    flag_set(&hold_entered, 1);
    while (!flag_get(&hold_release))
    {
        pause_ms(1);
    }
}

static void *poll_thread(void *arg)
{
    return (void *)(uintptr_t)nxsm_netx_mqtt_poll((ULONG)(uintptr_t)arg);
}

static void *detach_thread(void *arg)
{
    UINT result = nxsm_netx_mqtt_detach();

    (void)arg;
    flag_set(&detach_returned, 1);
    return (void *)(uintptr_t)result;
}

static void test_detach_waits_for_a_publishing_poll(void **state)
{
    pthread_t poller;
    pthread_t detacher;
    void *poll_result;
    void *detach_result;
    nxsm_stats before;
    UINT records;
    UINT published = 0;
    UINT i;

    (void)state;
    flag_set(&hold_entered, 0);
    flag_set(&hold_release, 0);
    flag_set(&detach_returned, 0);
    assert_int_equal(nxsm_netx_mqtt_attach(&client, "dev-1"), NXSM_NETX_MQTT_SUCCESS);
    run_until_records(1u, 60u);
    /* A backlog, queued while the client was not connected. */
    client.nxd_mqtt_client_state = NXD_MQTT_CLIENT_STATE_CONNECTING;
    for (i = 0; i < 4u; i++)
    {
        capture_some();
        (void)tick();
    }
    assert_true(stats_now().outbox_messages > 0u);
    client.nxd_mqtt_client_state = NXD_MQTT_CLIENT_STATE_CONNECTED;
    records = sim_mqtt_record_count();
    before = stats_now();
    sim_mqtt_set_hook(hold_hook, NULL);
    now_s++;
    assert_int_equal(pthread_create(&poller, NULL, poll_thread, (void *)(uintptr_t)now_s), 0);
    while (!flag_get(&hold_entered))
    {
        pause_ms(1);
    }
    /* One poll at a time; a detach waits for the one under way. */
    assert_int_equal(nxsm_netx_mqtt_poll((ULONG)now_s), NXSM_NETX_MQTT_BUSY);
    assert_int_equal(pthread_create(&detacher, NULL, detach_thread, NULL), 0);
    pause_ms(50);
    assert_false(flag_get(&detach_returned));
    assert_int_equal(nxsm_netx_mqtt_poll((ULONG)now_s), NXSM_NETX_MQTT_BUSY);
    assert_int_equal(nxsm_netx_mqtt_attach(&client, "dev-1"), NXSM_NETX_MQTT_BUSY);
    flag_set(&hold_release, 1);
    assert_int_equal(pthread_join(detacher, &detach_result), 0);
    assert_int_equal(pthread_join(poller, &poll_result), 0);
    sim_mqtt_set_hook(NULL, NULL);
    assert_int_equal((UINT)(uintptr_t)detach_result, NXSM_NETX_MQTT_SUCCESS);
    assert_int_equal((UINT)(uintptr_t)poll_result, NXSM_NETX_MQTT_SUCCESS);

    /* Everything the held poll published was acknowledged before detach returned. */
    for (i = records; i < sim_mqtt_record_count(); i++)
    {
        published += (sim_mqtt_record_get(i)->status == NXD_MQTT_SUCCESS) ? 1u : 0u;
    }
    assert_true(published > 0u);
    assert_int_equal(stats_now().messages_sent - before.messages_sent, published);
    assert_int_equal(nxsm_netx_mqtt_poll((ULONG)now_s), NXSM_NETX_MQTT_NOT_ATTACHED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_attach_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publishes_outbox_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_publish_is_retried_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_stops_publishing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_waits_for_a_publishing_poll, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
