/*
 * nx-security-module: drop-in nx_azure_iot_security_module_enable()/_disable().
 *
 * Compiled in the application's build against its own NetX Duo, ThreadX and Azure IoT
 * middleware headers. It binds the one security module of the device to one NX_AZURE_IOT
 * instance, starts/stops the core (nx_security_module.h), and registers a module on the
 * middleware's cloud helper thread whose once-a-second event drives nxsm_poll() with the
 * current unix time and whether any IoT Hub client is connected, then hands the messages
 * the core has queued to every connected IoT Hub client as device-to-cloud telemetry, and
 * installs the NetX Duo packet hooks (nxsm_netx_hooks.c). The core's ring watermark
 * callback sets the module's own cloud event, on which the helper thread drains the
 * capture ring early.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "nx_azure_iot_hub_client.h"
#include "nx_azure_iot_security_module.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"
#include "nxsm_netx_hooks.h"

/* Random source for the first-collection jitter; NetX projects usually define NX_RAND. */
#ifndef NX_RAND
#include <stdlib.h>
#define NX_RAND rand
#endif

/* Messages handed to the hub clients per cloud tick at most (a backlog after a long
   disconnection goes out over several ticks instead of monopolising the helper thread). */
#ifndef NXSM_MAX_SENDS_PER_POLL
#define NXSM_MAX_SENDS_PER_POLL 4
#endif

/* Hub clients one send round remembers as having taken the message, to skip later clients
   with the same device identity. A client past this many successes is never skipped (it
   may get a second copy; nothing is lost). */
#ifndef NXSM_MAX_HUB_DEVICES
#define NXSM_MAX_HUB_DEVICES 8
#endif

/* Telemetry properties of every message (docs/wire-format.md section 5), URL-encoded as
   the middleware expects them. */
#define NXSM_SHIM_PROPERTY_FORMAT_NAME        "nxsm"
#define NXSM_SHIM_PROPERTY_FORMAT_VALUE       "1"
#define NXSM_SHIM_PROPERTY_CONTENT_TYPE_NAME  "%24.ct"
#define NXSM_SHIM_PROPERTY_CONTENT_TYPE_VALUE "application%2Fx-nxsm"
#define NXSM_SHIM_LITERAL_LENGTH(text)        ((USHORT)(sizeof(text) - 1u))

/* Name under which the module appears in the cloud helper's module list. */
#define NXSM_SHIM_CLOUD_MODULE_NAME "Azure IoT Security Module"

/* Cloud events the module runs on: the 1-s tick, and its own event so the core can be
   woken early (e.g. when captured flows pile up). */
#define NXSM_SHIM_CLOUD_EVENTS (NX_CLOUD_MODULE_AZURE_ISM_EVENT | NX_CLOUD_COMMON_PERIODIC_EVENT)

/* Life cycle of the singleton. STARTING/STOPPING mark an enable/disable in progress in some
   thread; other callers are refused instead of racing it. */
#define NXSM_SHIM_IDLE     0u
#define NXSM_SHIM_STARTING 1u
#define NXSM_SHIM_RUNNING  2u
#define NXSM_SHIM_STOPPING 3u

/* The one instance. phase, owner, the two counts in progress, wake_enabled and the
   configuration are only read or written with interrupts disabled (TX_DISABLE), so
   enable/disable, the cloud thread, the ring callback (any context, ISR included) and
   nxsm_netx_config_set() agree on them. */
static struct
{
    UINT phase;
    NX_AZURE_IOT *owner;    /* the NX_AZURE_IOT it runs for (STARTING..STOPPING) */
    UINT polls_in_progress; /* cloud-thread passes currently inside the core */
    NX_CLOUD_MODULE cloud_module;
    UINT wake_enabled;          /* cloud_module is registered: its event may be set */
    UINT wakes_in_progress;     /* ring callbacks that saw wake_enabled and set the event */
    UINT config_set;            /* config below replaces the defaults */
    nxsm_config config;         /* from nxsm_netx_config_set() */
    nxsm_netx_send_status send; /* hand-off counters (cloud thread writes, TX_DISABLE) */
} nxsm_shim;

/* Applies the optional compile-time overrides (-DNXSM_HIGH_INTERVAL_S=... etc.) on top of
   the core's defaults; the core validates the result in nxsm_start(). */
static void nxsm_shim_config_overrides(nxsm_config *config)
{
#ifdef NXSM_HIGH_INTERVAL_S
    config->high_interval_s = (uint32_t)(NXSM_HIGH_INTERVAL_S);
#endif
#ifdef NXSM_MEDIUM_INTERVAL_S
    config->medium_interval_s = (uint32_t)(NXSM_MEDIUM_INTERVAL_S);
#endif
#ifdef NXSM_LOW_INTERVAL_S
    config->low_interval_s = (uint32_t)(NXSM_LOW_INTERVAL_S);
#endif
#ifdef NXSM_FIRST_COLLECTION_BASE_S
    config->first_collection_base_s = (uint32_t)(NXSM_FIRST_COLLECTION_BASE_S);
#endif
#ifdef NXSM_RETRY_INTERVAL_S
    config->retry_interval_s = (uint32_t)(NXSM_RETRY_INTERVAL_S);
#endif
#ifdef NXSM_PENDING_TIMEOUT_S
    config->pending_timeout_s = (uint32_t)(NXSM_PENDING_TIMEOUT_S);
#endif
#ifdef NXSM_CAPTURE_MODE
    config->capture_mode = (uint32_t)(NXSM_CAPTURE_MODE);
#endif
#ifdef NXSM_PROTOCOLS
    config->protocols = (uint32_t)(NXSM_PROTOCOLS);
#endif
#ifdef NXSM_COLLECTORS
    config->collectors = (uint32_t)(NXSM_COLLECTORS);
#endif
    (void)config;
}

nxsm_result nxsm_netx_config_set(const nxsm_config *config)
{
    TX_INTERRUPT_SAVE_AREA
    nxsm_result result;

    if (config == NX_NULL)
    {
        TX_DISABLE
        nxsm_shim.config_set = NX_FALSE;
        TX_RESTORE
        return NXSM_OK;
    }
    result = nxsm_config_validate(config);
    if (result != NXSM_OK)
    {
        return result;
    }
    TX_DISABLE
    nxsm_shim.config = *config;
    nxsm_shim.config_set = NX_TRUE;
    TX_RESTORE
    return NXSM_OK;
}

/* The configuration enable starts the core with. */
static UINT nxsm_shim_config(nxsm_config *config)
{
    TX_INTERRUPT_SAVE_AREA
    UINT use_set;

    TX_DISABLE
    use_set = nxsm_shim.config_set;
    if (use_set)
    {
        *config = nxsm_shim.config;
    }
    TX_RESTORE
    if (use_set)
    {
        return NX_AZURE_IOT_SUCCESS;
    }
    if (nxsm_config_default(config) != NXSM_OK)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    nxsm_shim_config_overrides(config);
    return NX_AZURE_IOT_SUCCESS;
}

/* Ring watermark callback: runs in the capturing context (ISR, IP thread, application
   thread), so it only wakes the cloud helper. nx_cloud_module_event_set() disables
   interrupts and sets an event flag, both allowed from ISRs; it is only called while the
   module is registered (its cloud pointer is valid then): disable clears wake_enabled,
   then waits for the wakes in progress before it deregisters. */
static VOID nxsm_shim_ring_wake(VOID *context)
{
    TX_INTERRUPT_SAVE_AREA
    UINT enabled;

    (void)context;
    TX_DISABLE
    enabled = nxsm_shim.wake_enabled;
    if (enabled)
    {
        nxsm_shim.wakes_in_progress++;
    }
    TX_RESTORE
    if (enabled)
    {
        /* Outside the lock: ThreadX services are not called with interrupts disabled. */
        (void)nx_cloud_module_event_set(&nxsm_shim.cloud_module, NX_CLOUD_MODULE_AZURE_ISM_EVENT);
        TX_DISABLE
        nxsm_shim.wakes_in_progress--;
        TX_RESTORE
    }
}

/* BUSY means another context is inside the core for a moment (transient by contract): the
   shim's one answer is to yield a tick and ask again. Sleeps and returns 1 for BUSY. */
static int nxsm_shim_busy(nxsm_result result)
{
    if (result != NXSM_ERR_BUSY)
    {
        return 0;
    }
    (void)tx_thread_sleep(1);
    return 1;
}

/* Stores in `result` the first answer of `call` that is not BUSY. */
#define NXSM_SHIM_RETRY_WHILE_BUSY(result, call) \
    do                                           \
    {                                            \
        (result) = (call);                       \
    } while (nxsm_shim_busy(result))

/* Sets or clears the ring callback; BUSY (another context inside the core) is transient. */
static nxsm_result nxsm_shim_ring_callback(nxsm_ring_callback callback, uint32_t watermark)
{
    nxsm_result result;

    NXSM_SHIM_RETRY_WHILE_BUSY(result, nxsm_set_ring_callback(callback, NX_NULL, watermark));
    return result;
}

/* Reads the application's unix time callback. Fails when there is no callback, it fails,
   or its value cannot be a time (the original treated (ULONG)-1 as "no time"; on targets
   with a 64-bit ULONG anything that does not fit the core's 32-bit seconds is refused). */
static UINT nxsm_shim_unix_time(NX_AZURE_IOT *nx_azure_iot_ptr, uint32_t *now_s)
{
    ULONG unix_time = 0;

    if (nx_azure_iot_ptr->nx_azure_iot_unix_time_get == NX_NULL)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    if (nx_azure_iot_ptr->nx_azure_iot_unix_time_get(&unix_time) != NX_AZURE_IOT_SUCCESS)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    if (unix_time >= (ULONG)NXSM_TIME_UNAVAILABLE)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    *now_s = (uint32_t)unix_time;
    return NX_AZURE_IOT_SUCCESS;
}

/* Whether any IoT Hub client of the instance is connected (provisioning clients do not
   count). The resource list is walked under the middleware's own mutex, which the cloud
   helper does not hold while it runs module routines. Fails only if that mutex cannot be
   taken, in which case the caller skips this tick rather than guess. */
static UINT nxsm_shim_hub_connected(NX_AZURE_IOT *nx_azure_iot_ptr, bool *connected)
{
    TX_MUTEX *mutex_ptr = nx_azure_iot_ptr->nx_azure_iot_mutex_ptr;
    NX_AZURE_IOT_RESOURCE *resource;

    *connected = false;
    if (mutex_ptr != NX_NULL && tx_mutex_get(mutex_ptr, TX_WAIT_FOREVER) != TX_SUCCESS)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    for (resource = nx_azure_iot_ptr->nx_azure_iot_resource_list_header; resource != NX_NULL;
         resource = resource->resource_next)
    {
        const NX_AZURE_IOT_HUB_CLIENT *hub;

        if (resource->resource_type != NX_AZURE_IOT_RESOURCE_IOT_HUB || resource->resource_data_ptr == NX_NULL)
        {
            continue;
        }
        hub = (const NX_AZURE_IOT_HUB_CLIENT *)resource->resource_data_ptr;
        if (hub->nx_azure_iot_hub_client_state == NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED)
        {
            *connected = true;
            break;
        }
    }
    if (mutex_ptr != NX_NULL)
    {
        (void)tx_mutex_put(mutex_ptr);
    }
    return NX_AZURE_IOT_SUCCESS;
}

VOID nxsm_netx_send_status_get(nxsm_netx_send_status *status)
{
    TX_INTERRUPT_SAVE_AREA

    if (status == NX_NULL)
    {
        return;
    }
    TX_DISABLE
    *status = nxsm_shim.send;
    TX_RESTORE
}

/* Whether two hub clients are the same device identity: same hub host name and device id
   (a module identity of the device counts as the device, as in the original). */
static bool nxsm_shim_same_identity(const NX_AZURE_IOT_HUB_CLIENT *a, const NX_AZURE_IOT_HUB_CLIENT *b)
{
    az_span host_a = a->iot_hub_client_core._internal.iot_hub_hostname;
    az_span host_b = b->iot_hub_client_core._internal.iot_hub_hostname;
    az_span device_a = a->iot_hub_client_core._internal.device_id;
    az_span device_b = b->iot_hub_client_core._internal.device_id;

    if (az_span_size(host_a) != az_span_size(host_b) || az_span_size(device_a) != az_span_size(device_b) ||
        az_span_size(host_a) < 0 || az_span_size(device_a) < 0)
    {
        return false;
    }
    return (az_span_size(host_a) == 0 ||
            memcmp(az_span_ptr(host_a), az_span_ptr(host_b), (size_t)az_span_size(host_a)) == 0) &&
           (az_span_size(device_a) == 0 ||
            memcmp(az_span_ptr(device_a), az_span_ptr(device_b), (size_t)az_span_size(device_a)) == 0);
}

/* One copy of a message to one hub client: create (no wait), the two properties, send (no
   wait). The packet is deleted on any failure after it was created; on success the
   middleware owns it. Returns the first failing status. */
static UINT nxsm_shim_send_copy(NX_AZURE_IOT_HUB_CLIENT *hub, const uint8_t *bytes, size_t length)
{
    NX_PACKET *packet = NX_NULL;
    UINT status;

    status = nx_azure_iot_hub_client_telemetry_message_create(hub, &packet, NX_NO_WAIT);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        return status;
    }
    status = nx_azure_iot_hub_client_telemetry_property_add(
        packet, (const UCHAR *)NXSM_SHIM_PROPERTY_FORMAT_NAME, NXSM_SHIM_LITERAL_LENGTH(NXSM_SHIM_PROPERTY_FORMAT_NAME),
        (const UCHAR *)NXSM_SHIM_PROPERTY_FORMAT_VALUE, NXSM_SHIM_LITERAL_LENGTH(NXSM_SHIM_PROPERTY_FORMAT_VALUE),
        NX_NO_WAIT);
    if (status == NX_AZURE_IOT_SUCCESS)
    {
        status = nx_azure_iot_hub_client_telemetry_property_add(
            packet, (const UCHAR *)NXSM_SHIM_PROPERTY_CONTENT_TYPE_NAME,
            NXSM_SHIM_LITERAL_LENGTH(NXSM_SHIM_PROPERTY_CONTENT_TYPE_NAME),
            (const UCHAR *)NXSM_SHIM_PROPERTY_CONTENT_TYPE_VALUE,
            NXSM_SHIM_LITERAL_LENGTH(NXSM_SHIM_PROPERTY_CONTENT_TYPE_VALUE), NX_NO_WAIT);
    }
    if (status == NX_AZURE_IOT_SUCCESS)
    {
        status = nx_azure_iot_hub_client_telemetry_send(hub, packet, (const UCHAR *)bytes, (UINT)length, NX_NO_WAIT);
    }
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        (void)nx_azure_iot_hub_client_telemetry_message_delete(packet);
    }
    return status;
}

/* Result of one send round. */
#define NXSM_SHIM_ROUND_DELIVERED 0u /* at least one client took the message */
#define NXSM_SHIM_ROUND_FAILED    1u /* connected clients exist, none took it */
#define NXSM_SHIM_ROUND_NO_HUB    2u /* no connected client (or the list could not be read) */

/* Sends one message to every connected IoT Hub client of the instance, in resource-list
   order, one copy per device identity. The list is walked under the middleware's mutex
   (recursive for this thread, so the telemetry calls may take it too), which keeps
   clients from being removed mid-round. */
static UINT nxsm_shim_send_round(NX_AZURE_IOT *nx_azure_iot_ptr, const uint8_t *bytes, size_t length)
{
    TX_INTERRUPT_SAVE_AREA
    TX_MUTEX *mutex_ptr = nx_azure_iot_ptr->nx_azure_iot_mutex_ptr;
    const NX_AZURE_IOT_HUB_CLIENT *took[NXSM_MAX_HUB_DEVICES];
    UINT took_count = 0;
    UINT connected = 0;
    bool delivered = false;
    NX_AZURE_IOT_RESOURCE *resource;

    if (mutex_ptr != NX_NULL && tx_mutex_get(mutex_ptr, TX_WAIT_FOREVER) != TX_SUCCESS)
    {
        return NXSM_SHIM_ROUND_NO_HUB;
    }
    for (resource = nx_azure_iot_ptr->nx_azure_iot_resource_list_header; resource != NX_NULL;
         resource = resource->resource_next)
    {
        NX_AZURE_IOT_HUB_CLIENT *hub;
        bool skip = false;
        UINT status;
        UINT i;

        if (resource->resource_type != NX_AZURE_IOT_RESOURCE_IOT_HUB || resource->resource_data_ptr == NX_NULL)
        {
            continue;
        }
        hub = (NX_AZURE_IOT_HUB_CLIENT *)resource->resource_data_ptr;
        if (hub->nx_azure_iot_hub_client_state != NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED)
        {
            continue;
        }
        connected++;
        for (i = 0; i < took_count && !skip; i++)
        {
            skip = nxsm_shim_same_identity(took[i], hub);
        }
        if (skip)
        {
            TX_DISABLE
            nxsm_shim.send.copies_skipped++;
            TX_RESTORE
            continue;
        }
        status = nxsm_shim_send_copy(hub, bytes, length);
        TX_DISABLE
        if (status == NX_AZURE_IOT_SUCCESS)
        {
            nxsm_shim.send.copies_sent++;
        }
        else
        {
            nxsm_shim.send.copies_failed++;
            nxsm_shim.send.last_failure_status = status;
        }
        TX_RESTORE
        if (status == NX_AZURE_IOT_SUCCESS)
        {
            delivered = true;
            if (took_count < (UINT)(NXSM_MAX_HUB_DEVICES))
            {
                took[took_count++] = hub;
            }
        }
    }
    if (mutex_ptr != NX_NULL)
    {
        (void)tx_mutex_put(mutex_ptr);
    }
    if (delivered)
    {
        return NXSM_SHIM_ROUND_DELIVERED;
    }
    return (connected != 0u) ? NXSM_SHIM_ROUND_FAILED : NXSM_SHIM_ROUND_NO_HUB;
}

/* Acknowledges a handed-out message. BUSY (another context momentarily inside the core)
   is waited out: an acknowledgement that got lost would send a delivered message again. */
static void nxsm_shim_ack(uint32_t sequence, bool sent)
{
    nxsm_result result;

    NXSM_SHIM_RETRY_WHILE_BUSY(result, nxsm_message_ack(sequence, sent));
    (void)result;
}

/* Hands queued messages to the hub clients, oldest first, at most NXSM_MAX_SENDS_PER_POLL
   per tick. Runs on the cloud thread right after nxsm_poll(), the context the message bytes
   belong to. Stops at the first message no client took: the core keeps it and hands it out
   again once its retry delay has passed. A round that found no connected client at all is
   not acknowledged (nothing was attempted); the next poll tells the core the hub is gone. */
static void nxsm_shim_hand_off(NX_AZURE_IOT *nx_azure_iot_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    UINT sent;

    for (sent = 0; sent < (UINT)(NXSM_MAX_SENDS_PER_POLL); sent++)
    {
        const uint8_t *bytes = NX_NULL;
        size_t length = 0;
        uint32_t sequence = 0;
        UINT round;

        if (nxsm_message_peek(&bytes, &length, &sequence) != NXSM_OK || bytes == NX_NULL)
        {
            return;
        }
        round = nxsm_shim_send_round(nx_azure_iot_ptr, bytes, length);
        if (round == NXSM_SHIM_ROUND_NO_HUB)
        {
            return;
        }
        nxsm_shim_ack(sequence, round == NXSM_SHIM_ROUND_DELIVERED);
        TX_DISABLE
        if (round == NXSM_SHIM_ROUND_DELIVERED)
        {
            nxsm_shim.send.messages_delivered++;
        }
        else
        {
            nxsm_shim.send.messages_failed++;
        }
        TX_RESTORE
        if (round != NXSM_SHIM_ROUND_DELIVERED)
        {
            return;
        }
    }
}

/* Cloud helper thread routine. On the periodic (1-s) event: one nxsm_poll() (which drains
   the ring, runs the state machine and makes due collections), then the hand-off of queued
   messages. Without a usable clock the poll still runs with NXSM_TIME_UNAVAILABLE: the core
   drains and counts it, and time stands still for it. On the module's own event (ring
   watermark) alone: a drain, when there is a clock. A call refused as BUSY is not retried
   here (re-setting the event could spin this thread against a lower-priority one inside
   the core); the next tick does it. */
static VOID nxsm_shim_cloud_process(VOID *module_context, ULONG common_events, ULONG module_own_events)
{
    TX_INTERRUPT_SAVE_AREA
    NX_AZURE_IOT *nx_azure_iot_ptr = (NX_AZURE_IOT *)module_context;
    uint32_t now_s;
    bool connected;

    if ((common_events & NX_CLOUD_COMMON_PERIODIC_EVENT) == 0u &&
        (module_own_events & NX_CLOUD_MODULE_AZURE_ISM_EVENT) == 0u)
    {
        return;
    }

    /* Only run for the instance that is fully enabled; a disable in progress waits for
       passes counted here before it stops the core. */
    TX_DISABLE
    if (nxsm_shim.phase != NXSM_SHIM_RUNNING || nxsm_shim.owner != nx_azure_iot_ptr || nx_azure_iot_ptr == NX_NULL)
    {
        TX_RESTORE
        return;
    }
    nxsm_shim.polls_in_progress++;
    TX_RESTORE

    if (nxsm_shim_unix_time(nx_azure_iot_ptr, &now_s) != NX_AZURE_IOT_SUCCESS)
    {
        now_s = (uint32_t)NXSM_TIME_UNAVAILABLE;
    }
    if ((common_events & NX_CLOUD_COMMON_PERIODIC_EVENT) == 0u)
    {
        if (now_s != (uint32_t)NXSM_TIME_UNAVAILABLE)
        {
            (void)nxsm_drain(now_s);
        }
    }
    else if (nxsm_shim_hub_connected(nx_azure_iot_ptr, &connected) == NX_AZURE_IOT_SUCCESS)
    {
        (void)nxsm_poll(now_s, connected);
        nxsm_shim_hand_off(nx_azure_iot_ptr);
    }

    TX_DISABLE
    nxsm_shim.polls_in_progress--;
    TX_RESTORE
}

/* Stops the core, waiting out a context that is momentarily inside it (BUSY is transient
   by contract). NOT_STARTED counts as stopped. */
static void nxsm_shim_core_stop(void)
{
    nxsm_result result;

    NXSM_SHIM_RETRY_WHILE_BUSY(result, nxsm_stop());
    (void)result;
}

/* Waits until a count in progress (cloud-thread passes inside the core, ring callbacks
   setting the event) is 0. New ones are already refused (phase is not RUNNING, wake_enabled
   is clear), so this ends once those under way are done. */
static void nxsm_shim_wait_for_zero(const UINT *in_progress)
{
    TX_INTERRUPT_SAVE_AREA
    UINT busy;

    for (;;)
    {
        TX_DISABLE
        busy = *in_progress;
        TX_RESTORE
        if (busy == 0u)
        {
            return;
        }
        (void)tx_thread_sleep(1);
    }
}

/* Watermark for the ring callback: half the ring, so the cloud thread drains well before
   the ring is full even if it runs a little late. */
static uint32_t nxsm_shim_watermark(void)
{
    nxsm_capacities capacities;

    capacities.struct_size = (uint32_t)sizeof(capacities);
    if (nxsm_get_capacities(&capacities) != NXSM_OK || capacities.ring_slots < 2u)
    {
        return 1u;
    }
    return capacities.ring_slots / 2u;
}

/* Tells the core which ThreadX and NetX Duo this shim was compiled against, for the
   system-information events (0 for a version part the headers do not define). */
static void nxsm_shim_platform_info(void)
{
    nxsm_platform_info info;
    nxsm_result result;

    memset(&info, 0, sizeof(info));
    info.struct_size = (uint32_t)sizeof(info);
#ifdef THREADX_MAJOR_VERSION
    info.threadx_version[0] = (uint8_t)(THREADX_MAJOR_VERSION);
#endif
#ifdef THREADX_MINOR_VERSION
    info.threadx_version[1] = (uint8_t)(THREADX_MINOR_VERSION);
#endif
#ifdef THREADX_PATCH_VERSION
    info.threadx_version[2] = (uint8_t)(THREADX_PATCH_VERSION);
#endif
#ifdef NETXDUO_MAJOR_VERSION
    info.netx_version[0] = (uint8_t)(NETXDUO_MAJOR_VERSION);
#endif
#ifdef NETXDUO_MINOR_VERSION
    info.netx_version[1] = (uint8_t)(NETXDUO_MINOR_VERSION);
#endif
#ifdef NETXDUO_PATCH_VERSION
    info.netx_version[2] = (uint8_t)(NETXDUO_PATCH_VERSION);
#endif
    NXSM_SHIM_RETRY_WHILE_BUSY(result, nxsm_set_platform_info(&info));
    (void)result;
}

/* Everything enable does after the singleton is claimed, in this order: ring callback,
   core, cloud module, packet hooks (last, so that a failure before them leaves no hook).
   On failure, undoes its own steps so nothing stays registered, hooked or running. */
static UINT nxsm_shim_start(NX_AZURE_IOT *nx_azure_iot_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    nxsm_config config;
    nxsm_result result;
    uint32_t now_s;
    UINT status;

    /* A working wall clock is required, as in the original. */
    status = nxsm_shim_unix_time(nx_azure_iot_ptr, &now_s);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        return status;
    }

    status = nxsm_shim_config(&config);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        return status;
    }
    nxsm_shim_platform_info();
    /* Refused (ALREADY_STARTED) when the core runs through the native API, which this call
       must not take over: nothing was changed then. */
    if (nxsm_shim_ring_callback(nxsm_shim_ring_wake, nxsm_shim_watermark()) != NXSM_OK)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    NXSM_SHIM_RETRY_WHILE_BUSY(result, nxsm_start(&config, now_s, (uint32_t)NX_RAND()));
    if (result != NXSM_OK)
    {
        /* Includes ALREADY_STARTED: the core was started through the native API meanwhile;
           it is not ours to stop, and its ring callback cannot be changed while it runs. */
        if (result != NXSM_ERR_ALREADY_STARTED)
        {
            (void)nxsm_shim_ring_callback(NX_NULL, 0u);
        }
        return NX_AZURE_IOT_FAILURE;
    }
#if defined(NXSM_BUILTIN_POLICY) && NXSM_BUILTIN_POLICY
    /* The policy built into flash (NXSM_POLICY_FILE), checked when it was compiled; a policy
       loaded since (nxsm_policy_load) is replaced, as at every enable. */
    NXSM_SHIM_RETRY_WHILE_BUSY(result, nxsm_policy_load_builtin());
    if (result != NXSM_OK)
    {
        nxsm_shim_core_stop();
        (void)nxsm_shim_ring_callback(NX_NULL, 0u);
        return NX_AZURE_IOT_FAILURE;
    }
#endif

    status = nx_cloud_module_register(&nx_azure_iot_ptr->nx_azure_iot_cloud, &nxsm_shim.cloud_module,
                                      NXSM_SHIM_CLOUD_MODULE_NAME, NXSM_SHIM_CLOUD_EVENTS, nxsm_shim_cloud_process,
                                      nx_azure_iot_ptr);
    if (status != NX_SUCCESS)
    {
        nxsm_shim_core_stop();
        (void)nxsm_shim_ring_callback(NX_NULL, 0u);
        return status; /* the raw NetX status, as the original surfaced it */
    }
    TX_DISABLE
    nxsm_shim.wake_enabled = NX_TRUE;
    TX_RESTORE

        /* Packet capture: chained in front of whatever the application installed on each IP
       (never overwriting it, unlike the original's defect D2). It cannot fail as a whole:
       IPs it cannot hook are counted (nxsm_netx_hook_status_get). */
        (void)
    nxsm_netx_hooks_install((UINT)config.capture_mode);

    return NX_AZURE_IOT_SUCCESS;
}

UINT nx_azure_iot_security_module_enable(NX_AZURE_IOT *nx_azure_iot_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    UINT status;

    /* Claim the singleton atomically: exactly one caller proceeds from IDLE. */
    TX_DISABLE
    switch (nxsm_shim.phase)
    {
    case NXSM_SHIM_RUNNING:
        /* Same instance: already enabled (idempotent). Another one (or NULL): refused, and
           the running instance is left alone. */
        status =
            (nxsm_shim.owner == nx_azure_iot_ptr) ? (UINT)NX_AZURE_IOT_SUCCESS : (UINT)NX_AZURE_IOT_INVALID_PARAMETER;
        TX_RESTORE
        return status;
    case NXSM_SHIM_IDLE:
        if (nx_azure_iot_ptr == NX_NULL)
        {
            TX_RESTORE
            return NX_AZURE_IOT_INVALID_PARAMETER;
        }
        nxsm_shim.phase = NXSM_SHIM_STARTING;
        nxsm_shim.owner = nx_azure_iot_ptr;
        break;
    default:
        /* Another thread is enabling or disabling right now. */
        TX_RESTORE
        return NX_AZURE_IOT_FAILURE;
    }
    TX_RESTORE

    /* Outside the critical section: this calls the application's clock and takes mutexes. */
    status = nxsm_shim_start(nx_azure_iot_ptr);

    TX_DISABLE
    if (status == NX_AZURE_IOT_SUCCESS)
    {
        nxsm_shim.phase = NXSM_SHIM_RUNNING;
    }
    else
    {
        nxsm_shim.phase = NXSM_SHIM_IDLE;
        nxsm_shim.owner = NX_NULL;
    }
    TX_RESTORE
    return status;
}

UINT nx_azure_iot_security_module_disable(NX_AZURE_IOT *nx_azure_iot_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_AZURE_IOT *owner;

    TX_DISABLE
    switch (nxsm_shim.phase)
    {
    case NXSM_SHIM_IDLE:
        /* Nothing running: nothing to do. */
        TX_RESTORE
        return NX_AZURE_IOT_SUCCESS;
    case NXSM_SHIM_RUNNING:
        /* NULL means "the running instance". Another instance is refused. */
        if (nx_azure_iot_ptr != NX_NULL && nx_azure_iot_ptr != nxsm_shim.owner)
        {
            TX_RESTORE
            return NX_AZURE_IOT_INVALID_PARAMETER;
        }
        nxsm_shim.phase = NXSM_SHIM_STOPPING; /* from here the cloud routine stays out */
        owner = nxsm_shim.owner;
        break;
    default:
        TX_RESTORE
        return NX_AZURE_IOT_FAILURE;
    }
    TX_RESTORE

    /* Packet capture goes first: exactly what was chained is restored, and nothing is left
       that would keep feeding the core (the original left its filter installed: D1). */
    nxsm_netx_hooks_remove();
    TX_DISABLE
    nxsm_shim.wake_enabled = NX_FALSE;
    TX_RESTORE
    nxsm_shim_wait_for_zero(&nxsm_shim.wakes_in_progress);

    /* As in the original, a failing deregistration does not fail disable: the routine is
       inert once the phase is not RUNNING, and the instance is stopped either way. */
    (void)nx_cloud_module_deregister(&owner->nx_azure_iot_cloud, &nxsm_shim.cloud_module);
    nxsm_shim_wait_for_zero(&nxsm_shim.polls_in_progress);
    nxsm_shim_core_stop();
    (void)nxsm_shim_ring_callback(NX_NULL, 0u);

    TX_DISABLE
    nxsm_shim.owner = NX_NULL;
    nxsm_shim.phase = NXSM_SHIM_IDLE;
    TX_RESTORE
    return NX_AZURE_IOT_SUCCESS;
}
