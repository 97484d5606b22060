/*
 * nx-security-module: MQTT transport on NetX Duo's own MQTT client (addons/mqtt).
 *
 * Needs nothing of Azure: the application creates and connects an NXD_MQTT_CLIENT, attaches
 * it here with the device id, and calls nxsm_netx_mqtt_poll() about once a second. Each
 * poll runs nxsm_poll() (connected = the client is CONNECTED) and publishes up to
 * NXSM_MAX_SENDS_PER_POLL queued messages, oldest first, to nxsm/<device id>/v1 with QoS 1.
 * A publish that fails is acknowledged as failed: the core keeps the message and hands it
 * out again after its retry delay, so order is kept. Publishing never waits longer than
 * NXSM_MQTT_WAIT_OPTION ticks per NetX call, so the polling thread is never held long.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "nx_api.h"
#include "nxd_mqtt_client.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"

/* Messages published per poll at most (a backlog goes out over several polls). */
#ifndef NXSM_MAX_SENDS_PER_POLL
#define NXSM_MAX_SENDS_PER_POLL 4
#endif

/* Wait option of each publish: the MQTT client applies it to packet allocation and to the
   TCP send. A few ticks let a send wait for a window update without stalling the poll. */
#ifndef NXSM_MQTT_WAIT_OPTION
#define NXSM_MQTT_WAIT_OPTION 2u
#endif

#define NXSM_MQTT_TOPIC_PREFIX  "nxsm/"
#define NXSM_MQTT_TOPIC_SUFFIX  "/v1"
#define NXSM_MQTT_LITERAL(text) (sizeof(text) - 1u)
#define NXSM_MQTT_TOPIC_MAX                                                       \
    (NXSM_MQTT_LITERAL(NXSM_MQTT_TOPIC_PREFIX) + (NXSM_NETX_MQTT_DEVICE_ID_MAX) + \
     NXSM_MQTT_LITERAL(NXSM_MQTT_TOPIC_SUFFIX))

/* Phases of the singleton. ATTACHING/DETACHING mark an attach/detach in progress in some
   thread; other callers are refused instead of racing it. */
#define NXSM_MQTT_IDLE      0u
#define NXSM_MQTT_ATTACHING 1u
#define NXSM_MQTT_ATTACHED  2u
#define NXSM_MQTT_DETACHING 3u

/* The one transport. Everything is read and written with interrupts disabled (TX_DISABLE)
   except the topic, which only attach writes, while no poll can run (phase not ATTACHED). */
static struct
{
    UINT phase;
    NXD_MQTT_CLIENT *client;
    UINT polls_in_progress; /* polls inside the core or the client right now */
    CHAR topic[NXSM_MQTT_TOPIC_MAX + 1u];
    UINT topic_length;
    nxsm_netx_mqtt_status status;
} nxsm_mqtt;

/* Length of a device id that can be a topic level the gateway accepts: 1 to
   NXSM_NETX_MQTT_DEVICE_ID_MAX printable ASCII bytes, none of them '/', '+' or '#'
   (MQTT level separator and wildcards). Returns 0 for anything else. Reads at most one byte
   past the longest allowed id, so an unterminated buffer is not overrun far. */
static UINT nxsm_mqtt_device_id_length(const CHAR *device_id)
{
    UINT length;

    for (length = 0; length <= (UINT)(NXSM_NETX_MQTT_DEVICE_ID_MAX); length++)
    {
        unsigned char c = (unsigned char)device_id[length];

        if (c == 0u)
        {
            return length;
        }
        if (c < 0x20u || c > 0x7Eu || c == (unsigned char)'/' || c == (unsigned char)'+' || c == (unsigned char)'#')
        {
            return 0;
        }
    }
    return 0;
}

UINT nxsm_netx_mqtt_attach(NXD_MQTT_CLIENT *client, const CHAR *device_id)
{
    TX_INTERRUPT_SAVE_AREA
    UINT id_length;
    UINT at;

    if (client == NX_NULL || device_id == NX_NULL)
    {
        return NXSM_NETX_MQTT_NULL_ARGUMENT;
    }
    id_length = nxsm_mqtt_device_id_length(device_id);
    if (id_length == 0u)
    {
        return NXSM_NETX_MQTT_INVALID_DEVICE_ID;
    }

    TX_DISABLE
    if (nxsm_mqtt.phase != NXSM_MQTT_IDLE)
    {
        UINT phase = nxsm_mqtt.phase;

        TX_RESTORE
        return (phase == NXSM_MQTT_ATTACHED) ? NXSM_NETX_MQTT_ALREADY_ATTACHED : NXSM_NETX_MQTT_BUSY;
    }
    nxsm_mqtt.phase = NXSM_MQTT_ATTACHING;
    TX_RESTORE

    /* The topic is built once here; polls only read it while ATTACHED. */
    at = 0;
    memcpy(&nxsm_mqtt.topic[at], NXSM_MQTT_TOPIC_PREFIX, NXSM_MQTT_LITERAL(NXSM_MQTT_TOPIC_PREFIX));
    at += (UINT)NXSM_MQTT_LITERAL(NXSM_MQTT_TOPIC_PREFIX);
    memcpy(&nxsm_mqtt.topic[at], device_id, id_length);
    at += id_length;
    memcpy(&nxsm_mqtt.topic[at], NXSM_MQTT_TOPIC_SUFFIX, NXSM_MQTT_LITERAL(NXSM_MQTT_TOPIC_SUFFIX));
    at += (UINT)NXSM_MQTT_LITERAL(NXSM_MQTT_TOPIC_SUFFIX);
    nxsm_mqtt.topic[at] = 0;

    TX_DISABLE
    nxsm_mqtt.topic_length = at;
    nxsm_mqtt.client = client;
    nxsm_mqtt.status.attached = NX_TRUE;
    nxsm_mqtt.phase = NXSM_MQTT_ATTACHED;
    TX_RESTORE
    return NXSM_NETX_MQTT_SUCCESS;
}

UINT nxsm_netx_mqtt_detach(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    UINT busy;

    TX_DISABLE
    if (nxsm_mqtt.phase != NXSM_MQTT_ATTACHED)
    {
        UINT phase = nxsm_mqtt.phase;

        TX_RESTORE
        return (phase == NXSM_MQTT_IDLE) ? NXSM_NETX_MQTT_NOT_ATTACHED : NXSM_NETX_MQTT_BUSY;
    }
    nxsm_mqtt.phase = NXSM_MQTT_DETACHING; /* from here new polls are refused */
    TX_RESTORE

    /* A poll under way in another thread finishes its publishes (each bounded by the wait
       option) and acknowledges them; the client must stay valid until then. */
    for (;;)
    {
        TX_DISABLE
        busy = nxsm_mqtt.polls_in_progress;
        TX_RESTORE
        if (busy == 0u)
        {
            break;
        }
        (void)tx_thread_sleep(1);
    }

    TX_DISABLE
    nxsm_mqtt.client = NX_NULL;
    nxsm_mqtt.status.attached = NX_FALSE;
    nxsm_mqtt.phase = NXSM_MQTT_IDLE;
    TX_RESTORE
    return NXSM_NETX_MQTT_SUCCESS;
}

VOID nxsm_netx_mqtt_status_get(nxsm_netx_mqtt_status *status)
{
    TX_INTERRUPT_SAVE_AREA

    if (status == NX_NULL)
    {
        return;
    }
    TX_DISABLE
    *status = nxsm_mqtt.status;
    TX_RESTORE
}

/* BUSY from the core means another context is inside it for a moment: wait a tick. An
   acknowledgement that got lost would publish a delivered message again. */
static void nxsm_mqtt_ack(uint32_t sequence, bool sent)
{
    nxsm_result result;

    for (;;)
    {
        result = nxsm_message_ack(sequence, sent);
        if (result != NXSM_ERR_BUSY)
        {
            return;
        }
        (void)tx_thread_sleep(1);
    }
}

/* Publishes queued messages, oldest first, at most NXSM_MAX_SENDS_PER_POLL. Stops at the
   first failure (the core keeps the message and retries it after its delay) and, without
   acknowledging anything, when the client is not connected (nothing was attempted). */
static void nxsm_mqtt_hand_off(NXD_MQTT_CLIENT *client)
{
    TX_INTERRUPT_SAVE_AREA
    UINT sent;

    for (sent = 0; sent < (UINT)(NXSM_MAX_SENDS_PER_POLL); sent++)
    {
        const uint8_t *bytes = NX_NULL;
        size_t length = 0;
        uint32_t sequence = 0;
        UINT status;

        if (client->nxd_mqtt_client_state != NXD_MQTT_CLIENT_STATE_CONNECTED)
        {
            return;
        }
        if (nxsm_message_peek(&bytes, &length, &sequence) != NXSM_OK || bytes == NX_NULL)
        {
            return;
        }
        if (length == 0u || length > (size_t)0xFFFFFFFu)
        {
            /* Not a message MQTT can carry (a PUBLISH holds at most 256 MB): dropping it is
               not ours to decide, so it counts as a failed send and stays queued. */
            status = NXD_MQTT_INVALID_PARAMETER;
        }
        else
        {
            /* The client copies topic and payload into its packets and writes neither (its
               prototype just lacks const). Not retained: a message is an event, not state. */
            status = nxd_mqtt_client_publish(client, nxsm_mqtt.topic, nxsm_mqtt.topic_length, (CHAR *)(uintptr_t)bytes,
                                             (UINT)length, NX_FALSE, 1u, (ULONG)(NXSM_MQTT_WAIT_OPTION));
        }
        nxsm_mqtt_ack(sequence, status == NXD_MQTT_SUCCESS);
        TX_DISABLE
        if (status == NXD_MQTT_SUCCESS)
        {
            nxsm_mqtt.status.messages_published++;
        }
        else
        {
            nxsm_mqtt.status.messages_failed++;
            nxsm_mqtt.status.last_failure_status = status;
        }
        TX_RESTORE
        if (status != NXD_MQTT_SUCCESS)
        {
            return;
        }
    }
}

UINT nxsm_netx_mqtt_poll(ULONG now_s)
{
    TX_INTERRUPT_SAVE_AREA
    NXD_MQTT_CLIENT *client;
    nxsm_result result;
    uint32_t now;

    TX_DISABLE
    if (nxsm_mqtt.phase != NXSM_MQTT_ATTACHED || nxsm_mqtt.polls_in_progress != 0u)
    {
        UINT phase = nxsm_mqtt.phase;

        TX_RESTORE
        return (phase == NXSM_MQTT_IDLE) ? NXSM_NETX_MQTT_NOT_ATTACHED : NXSM_NETX_MQTT_BUSY;
    }
    /* One poll at a time: two would peek the same message and publish it twice. */
    nxsm_mqtt.polls_in_progress++;
    client = nxsm_mqtt.client;
    TX_RESTORE

    /* A time the core's 32-bit seconds cannot hold is no time (64-bit ULONG targets). */
    now = (now_s >= (ULONG)NXSM_TIME_UNAVAILABLE) ? (uint32_t)NXSM_TIME_UNAVAILABLE : (uint32_t)now_s;
    result = nxsm_poll(now, client->nxd_mqtt_client_state == NXD_MQTT_CLIENT_STATE_CONNECTED);
    /* Even after a failed poll (no clock, BUSY) what is queued may go out. */
    nxsm_mqtt_hand_off(client);

    TX_DISABLE
    nxsm_mqtt.status.polls++;
    nxsm_mqtt.status.last_poll_result = (UINT)result;
    nxsm_mqtt.polls_in_progress--;
    TX_RESTORE
    return (result == NXSM_OK) ? NXSM_NETX_MQTT_SUCCESS : NXSM_NETX_MQTT_POLL_FAILED;
}
