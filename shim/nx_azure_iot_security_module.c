/*
 * nx-security-module: drop-in nx_azure_iot_security_module_enable()/_disable().
 *
 * Compiled in the application's build against its own NetX Duo, ThreadX and Azure IoT
 * middleware headers. It binds the one security module of the device to one NX_AZURE_IOT
 * instance, starts/stops the core (nx_security_module.h), and registers a module on the
 * middleware's cloud helper thread whose once-a-second event drives nxsm_poll() with the
 * current unix time and whether any IoT Hub client is connected, and installs the NetX Duo
 * packet hooks (nxsm_netx_hooks.c). The core's ring watermark callback sets the module's
 * own cloud event, on which the helper thread drains the capture ring early.
 */
#include <stdbool.h>
#include <stdint.h>

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

/* The one instance. phase, owner, polls_in_progress and the configuration are only read
   or written with interrupts disabled (TX_DISABLE), so enable/disable, the cloud thread and
   nxsm_netx_config_set() agree on them. wake_enabled is one word the ring callback reads
   from any context (ISR included). */
static struct
{
    UINT phase;
    NX_AZURE_IOT *owner;        /* the NX_AZURE_IOT it runs for (STARTING..STOPPING) */
    UINT polls_in_progress;     /* cloud-thread passes currently inside the core */
    NX_CLOUD_MODULE cloud_module;
    volatile UINT wake_enabled; /* cloud_module is registered: its event may be set */
    UINT config_set;            /* config below replaces the defaults */
    nxsm_config config;         /* from nxsm_netx_config_set() */
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
   module is registered (its cloud pointer is valid then). */
static VOID nxsm_shim_ring_wake(VOID *context)
{
    (void)context;
    if (nxsm_shim.wake_enabled)
    {
        (void)nx_cloud_module_event_set(&nxsm_shim.cloud_module, NX_CLOUD_MODULE_AZURE_ISM_EVENT);
    }
}

/* Sets or clears the ring callback; BUSY (another context inside the core) is transient. */
static nxsm_result nxsm_shim_ring_callback(nxsm_ring_callback callback, uint32_t watermark)
{
    nxsm_result result;

    while ((result = nxsm_set_ring_callback(callback, NX_NULL, watermark)) == NXSM_ERR_BUSY)
    {
        (void)tx_thread_sleep(1);
    }
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

        if (resource->resource_type != NX_AZURE_IOT_RESOURCE_IOT_HUB ||
            resource->resource_data_ptr == NX_NULL)
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

/* Cloud helper thread routine: one state-machine pass (which also drains the ring) per
   second; on the module's own event (ring watermark) a drain only. A pass without a usable
   clock is skipped (the core never guesses time). A drain refused as BUSY is not retried
   here (re-setting the event could spin this thread against a lower-priority one inside
   the core); the next tick drains. */
static VOID nxsm_shim_cloud_process(VOID *module_context, ULONG common_events,
                                    ULONG module_own_events)
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
    if (nxsm_shim.phase != NXSM_SHIM_RUNNING || nxsm_shim.owner != nx_azure_iot_ptr ||
        nx_azure_iot_ptr == NX_NULL)
    {
        TX_RESTORE
        return;
    }
    nxsm_shim.polls_in_progress++;
    TX_RESTORE

    if (nxsm_shim_unix_time(nx_azure_iot_ptr, &now_s) == NX_AZURE_IOT_SUCCESS)
    {
        if ((common_events & NX_CLOUD_COMMON_PERIODIC_EVENT) == 0u)
        {
            (void)nxsm_drain(now_s);
        }
        else if (nxsm_shim_hub_connected(nx_azure_iot_ptr, &connected) == NX_AZURE_IOT_SUCCESS)
        {
            /* BUSY (another context inside the core) just means this tick is skipped. */
            (void)nxsm_poll(now_s, connected);
        }
    }

    TX_DISABLE
    nxsm_shim.polls_in_progress--;
    TX_RESTORE
}

/* Stops the core, waiting out a context that is momentarily inside it (BUSY is transient
   by contract). NOT_STARTED counts as stopped. */
static void nxsm_shim_core_stop(void)
{
    while (nxsm_stop() == NXSM_ERR_BUSY)
    {
        (void)tx_thread_sleep(1);
    }
}

/* Waits until no cloud-thread pass is inside the core. New passes are already refused
   (phase is not RUNNING), so this ends after at most one poll. */
static void nxsm_shim_wait_for_polls(void)
{
    TX_INTERRUPT_SAVE_AREA
    UINT busy;

    for (;;)
    {
        TX_DISABLE
        busy = nxsm_shim.polls_in_progress;
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
    /* Refused (ALREADY_STARTED) when the core runs through the native API, which this call
       must not take over: nothing was changed then. */
    if (nxsm_shim_ring_callback(nxsm_shim_ring_wake, nxsm_shim_watermark()) != NXSM_OK)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    do
    {
        result = nxsm_start(&config, now_s, (uint32_t)NX_RAND());
        if (result == NXSM_ERR_BUSY)
        {
            (void)tx_thread_sleep(1);
        }
    } while (result == NXSM_ERR_BUSY);
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

    status = nx_cloud_module_register(&nx_azure_iot_ptr->nx_azure_iot_cloud,
                                      &nxsm_shim.cloud_module, NXSM_SHIM_CLOUD_MODULE_NAME,
                                      NXSM_SHIM_CLOUD_EVENTS, nxsm_shim_cloud_process,
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
    (void)nxsm_netx_hooks_install((UINT)config.capture_mode);

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
        status = (nxsm_shim.owner == nx_azure_iot_ptr) ? (UINT)NX_AZURE_IOT_SUCCESS
                                                        : (UINT)NX_AZURE_IOT_INVALID_PARAMETER;
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

    /* As in the original, a failing deregistration does not fail disable: the routine is
       inert once the phase is not RUNNING, and the instance is stopped either way. */
    (void)nx_cloud_module_deregister(&owner->nx_azure_iot_cloud, &nxsm_shim.cloud_module);
    nxsm_shim_wait_for_polls();
    nxsm_shim_core_stop();
    (void)nxsm_shim_ring_callback(NX_NULL, 0u);

    TX_DISABLE
    nxsm_shim.owner = NX_NULL;
    nxsm_shim.phase = NXSM_SHIM_IDLE;
    TX_RESTORE
    return NX_AZURE_IOT_SUCCESS;
}
