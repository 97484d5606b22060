/*
 * nx-security-module: drop-in nx_azure_iot_security_module_enable()/_disable().
 *
 * Compiled in the application's build against its own NetX Duo, ThreadX and Azure IoT
 * middleware headers. It binds the one security module of the device to one NX_AZURE_IOT
 * instance, starts/stops the core (nx_security_module.h), and registers a module on the
 * middleware's cloud helper thread whose once-a-second event drives nxsm_poll() with the
 * current unix time and whether any IoT Hub client is connected.
 */
#include <stdbool.h>
#include <stdint.h>

#include "nx_azure_iot_hub_client.h"
#include "nx_azure_iot_security_module.h"
#include "nx_security_module.h"

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

/* The one instance. phase, owner and polls_in_progress are only read or written with
   interrupts disabled (TX_DISABLE), so enable/disable and the cloud thread agree on them. */
static struct
{
    UINT phase;
    NX_AZURE_IOT *owner;        /* the NX_AZURE_IOT it runs for (STARTING..STOPPING) */
    UINT polls_in_progress;     /* cloud-thread passes currently inside the core */
    NX_CLOUD_MODULE cloud_module;
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

/* Cloud helper thread routine: one state-machine pass per second. A tick without a usable
   clock is skipped (the core never guesses time). */
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

    if (nxsm_shim_unix_time(nx_azure_iot_ptr, &now_s) == NX_AZURE_IOT_SUCCESS &&
        nxsm_shim_hub_connected(nx_azure_iot_ptr, &connected) == NX_AZURE_IOT_SUCCESS)
    {
        /* BUSY (another context inside the core) just means this tick is skipped. */
        (void)nxsm_poll(now_s, connected);
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

/* Everything enable does after the singleton is claimed. On failure, undoes its own steps
   so nothing stays registered or running. */
static UINT nxsm_shim_start(NX_AZURE_IOT *nx_azure_iot_ptr)
{
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

    if (nxsm_config_default(&config) != NXSM_OK)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    nxsm_shim_config_overrides(&config);
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
        /* Includes ALREADY_STARTED: the core is in use through the native API, which this
           call must not take over (nor stop). */
        return NX_AZURE_IOT_FAILURE;
    }

    status = nx_cloud_module_register(&nx_azure_iot_ptr->nx_azure_iot_cloud,
                                      &nxsm_shim.cloud_module, NXSM_SHIM_CLOUD_MODULE_NAME,
                                      NXSM_SHIM_CLOUD_EVENTS, nxsm_shim_cloud_process,
                                      nx_azure_iot_ptr);
    if (status != NX_SUCCESS)
    {
        nxsm_shim_core_stop();
        return status; /* the raw NetX status, as the original surfaced it */
    }

    /*
     * NetX packet capture is installed here (later issue). Rules for that code: chain to
     * whatever filter / receive routine the application installed, never overwrite it
     * (defect D2 of the original), and on failure undo in reverse order: remove hooks,
     * nx_cloud_module_deregister(), nxsm_shim_core_stop().
     */

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

    /*
     * NetX packet capture is removed here first (later issue): restore exactly what was
     * chained, leaving any filter the application installed after us in place.
     */

    /* As in the original, a failing deregistration does not fail disable: the routine is
       inert once the phase is not RUNNING, and the instance is stopped either way. */
    (void)nx_cloud_module_deregister(&owner->nx_azure_iot_cloud, &nxsm_shim.cloud_module);
    nxsm_shim_wait_for_polls();
    nxsm_shim_core_stop();

    TX_DISABLE
    nxsm_shim.owner = NX_NULL;
    nxsm_shim.phase = NXSM_SHIM_IDLE;
    TX_RESTORE
    return NX_AZURE_IOT_SUCCESS;
}
