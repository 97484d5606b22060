/*
 * Simulated NetX Duo cloud helper (nx-security-module C harness).
 *
 * Keeps the registered module list of each created NX_CLOUD exactly as the API describes
 * (newest module first, duplicate detection, counts) and replaces the helper thread by
 * sim_cloud_tick(): the test decides when "a second has passed".
 */
#include <string.h>

#include "sim_control.h"
#include "sim_internal.h"

/* Created cloud instances the simulator delivers events to. */
#define SIM_MAX_CLOUDS 8
/* Modules one delivery pass can call; more than any test registers on one cloud. */
#define SIM_MAX_MODULES_PER_PASS 16

static NX_CLOUD *sim_clouds[SIM_MAX_CLOUDS];

/* One pending injected failure. */
typedef struct
{
    UINT armed;
    UINT status;
    const CHAR *module_name; /* NULL: any module */
} sim_injection;

static sim_injection sim_register_failure;
static sim_injection sim_deregister_failure;
static ULONG sim_process_calls;

VOID sim_cloud_reset(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    UINT i;

    TX_DISABLE
    for (i = 0; i < SIM_MAX_CLOUDS; i++)
    {
        /* Forgotten clouds become "not created", so tests can create them again. */
        if (sim_clouds[i] != NX_NULL)
        {
            sim_clouds[i]->nx_cloud_id = 0;
            sim_clouds[i]->nx_cloud_mutex.tx_mutex_id = 0;
            sim_clouds[i] = NX_NULL;
        }
    }
    sim_register_failure.armed = 0;
    sim_deregister_failure.armed = 0;
    sim_process_calls = 0;
    TX_RESTORE
}

static VOID sim_injection_arm(sim_injection *injection, const CHAR *module_name, UINT status)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    injection->armed = (status != NX_SUCCESS) ? 1u : 0u;
    injection->status = status;
    injection->module_name = module_name;
    TX_RESTORE
}

/* Returns the injected status (and disarms) if it applies to a module with this name. */
static UINT sim_injection_take(sim_injection *injection, const CHAR *module_name)
{
    TX_INTERRUPT_SAVE_AREA
    UINT status = NX_SUCCESS;

    TX_DISABLE
    if (injection->armed && (injection->module_name == NX_NULL ||
                             (module_name != NX_NULL && strcmp(injection->module_name, module_name) == 0)))
    {
        injection->armed = 0;
        status = injection->status;
    }
    TX_RESTORE
    return status;
}

VOID sim_cloud_fail_next_register(const CHAR *module_name, UINT status)
{
    sim_injection_arm(&sim_register_failure, module_name, status);
}

VOID sim_cloud_fail_next_deregister(const CHAR *module_name, UINT status)
{
    sim_injection_arm(&sim_deregister_failure, module_name, status);
}

/* Finds cloud_ptr's slot (or a free one when cloud_ptr is NULL); caller holds TX_DISABLE. */
static INT sim_cloud_slot(const NX_CLOUD *cloud_ptr)
{
    INT i;

    for (i = 0; i < SIM_MAX_CLOUDS; i++)
    {
        if (sim_clouds[i] == cloud_ptr)
        {
            return i;
        }
    }
    return -1;
}

UINT nx_cloud_create(NX_CLOUD *cloud_ptr, const CHAR *cloud_name, VOID *memory_ptr, ULONG memory_size, UINT priority)
{
    TX_INTERRUPT_SAVE_AREA
    INT slot;
    UINT status;

    (void)priority;
    if (cloud_ptr == NX_NULL || cloud_ptr->nx_cloud_id == NX_CLOUD_ID || memory_ptr == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    if (memory_size == 0)
    {
        return NX_SIZE_ERROR;
    }

    TX_DISABLE
    slot = sim_cloud_slot(NX_NULL);
    if (slot >= 0)
    {
        sim_clouds[slot] = cloud_ptr; /* reserve before the id makes it visible */
    }
    TX_RESTORE
    if (slot < 0)
    {
        return NX_NOT_SUCCESSFUL; /* simulator capacity */
    }

    memset(cloud_ptr, 0, sizeof(*cloud_ptr));
    cloud_ptr->nx_cloud_name = cloud_name;
    status = tx_mutex_create(&cloud_ptr->nx_cloud_mutex, (CHAR *)"Cloud Helper Mutex", TX_NO_INHERIT);
    if (status != TX_SUCCESS)
    {
        TX_DISABLE
        sim_clouds[slot] = NX_NULL;
        TX_RESTORE
        return status;
    }
    cloud_ptr->nx_cloud_id = NX_CLOUD_ID;
    return NX_SUCCESS;
}

UINT nx_cloud_delete(NX_CLOUD *cloud_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    INT slot;

    if (cloud_ptr == NX_NULL || cloud_ptr->nx_cloud_id != NX_CLOUD_ID)
    {
        return NX_PTR_ERROR;
    }
    (void)tx_mutex_get(&cloud_ptr->nx_cloud_mutex, TX_WAIT_FOREVER);
    if (cloud_ptr->nx_cloud_modules_count != 0)
    {
        (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);
        return NX_CLOUD_MODULE_BOUND;
    }
    cloud_ptr->nx_cloud_id = 0;
    (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);
    (void)tx_mutex_delete(&cloud_ptr->nx_cloud_mutex);

    TX_DISABLE
    slot = sim_cloud_slot(cloud_ptr);
    if (slot >= 0)
    {
        sim_clouds[slot] = NX_NULL;
    }
    TX_RESTORE
    return NX_SUCCESS;
}

UINT nx_cloud_module_register(
    NX_CLOUD *cloud_ptr, NX_CLOUD_MODULE *module_ptr, const CHAR *module_name, ULONG module_event,
    VOID (*module_process)(VOID *module_context, ULONG common_events, ULONG module_own_events), VOID *module_context)
{
    NX_CLOUD_MODULE *current;
    UINT injected;

    if (cloud_ptr == NX_NULL || cloud_ptr->nx_cloud_id != NX_CLOUD_ID || module_ptr == NX_NULL ||
        module_process == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    if (module_event == 0)
    {
        return NX_CLOUD_MODULE_EVENT_INVALID;
    }
    injected = sim_injection_take(&sim_register_failure, module_name);
    if (injected != NX_SUCCESS)
    {
        return injected;
    }

    (void)tx_mutex_get(&cloud_ptr->nx_cloud_mutex, TX_WAIT_FOREVER);
    for (current = cloud_ptr->nx_cloud_modules_list_header; current != NX_NULL; current = current->nx_cloud_module_next)
    {
        if (current == module_ptr)
        {
            (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);
            return NX_CLOUD_MODULE_ALREADY_REGISTERED;
        }
    }
    module_ptr->nx_cloud_module_name = module_name;
    module_ptr->nx_cloud_module_registered_events = module_event;
    module_ptr->nx_cloud_module_own_events = 0;
    module_ptr->nx_cloud_module_process = module_process;
    module_ptr->nx_cloud_module_context = module_context;
    module_ptr->nx_cloud_ptr = cloud_ptr;
    module_ptr->nx_cloud_module_next = cloud_ptr->nx_cloud_modules_list_header;
    cloud_ptr->nx_cloud_modules_list_header = module_ptr;
    cloud_ptr->nx_cloud_modules_count++;
    (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);
    return NX_SUCCESS;
}

UINT nx_cloud_module_deregister(NX_CLOUD *cloud_ptr, NX_CLOUD_MODULE *module_ptr)
{
    NX_CLOUD_MODULE **link;
    UINT injected;

    if (cloud_ptr == NX_NULL || cloud_ptr->nx_cloud_id != NX_CLOUD_ID || module_ptr == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    injected = sim_injection_take(&sim_deregister_failure, module_ptr->nx_cloud_module_name);
    if (injected != NX_SUCCESS)
    {
        return injected;
    }

    (void)tx_mutex_get(&cloud_ptr->nx_cloud_mutex, TX_WAIT_FOREVER);
    for (link = &cloud_ptr->nx_cloud_modules_list_header; *link != NX_NULL; link = &(*link)->nx_cloud_module_next)
    {
        if (*link == module_ptr)
        {
            *link = module_ptr->nx_cloud_module_next;
            module_ptr->nx_cloud_module_next = NX_NULL;
            module_ptr->nx_cloud_ptr = NX_NULL;
            cloud_ptr->nx_cloud_modules_count--;
            (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);
            return NX_SUCCESS;
        }
    }
    (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);
    return NX_CLOUD_MODULE_NOT_REGISTERED;
}

/* Shared body of event set/clear: changes a registered module's pending own events. As in
   NetX Duo this only disables interrupts (no mutex), so event set is callable from ISRs
   and from code running under TX_DISABLE, such as the security module's ring callback. */
static UINT sim_module_event_change(NX_CLOUD_MODULE *cloud_module, ULONG events, UINT set)
{
    TX_INTERRUPT_SAVE_AREA

    if (cloud_module == NX_NULL || cloud_module->nx_cloud_ptr == NX_NULL ||
        cloud_module->nx_cloud_ptr->nx_cloud_id != NX_CLOUD_ID)
    {
        return NX_PTR_ERROR;
    }
    if (events == 0)
    {
        return NX_CLOUD_MODULE_EVENT_INVALID;
    }
    TX_DISABLE
    if (set)
    {
        cloud_module->nx_cloud_module_own_events |= events;
    }
    else
    {
        cloud_module->nx_cloud_module_own_events &= ~events;
    }
    TX_RESTORE
    return NX_SUCCESS;
}

UINT nx_cloud_module_event_set(NX_CLOUD_MODULE *cloud_module, ULONG module_own_event)
{
    return sim_module_event_change(cloud_module, module_own_event, 1u);
}

UINT nx_cloud_module_event_clear(NX_CLOUD_MODULE *cloud_module, ULONG module_own_event)
{
    return sim_module_event_change(cloud_module, module_own_event, 0u);
}

/* A process routine call collected under the cloud mutex and made after releasing it. */
typedef struct
{
    VOID (*process)(VOID *module_context, ULONG common_events, ULONG module_own_events);
    VOID *context;
    ULONG common;
    ULONG own;
} sim_delivery;

/* One helper-thread pass over one cloud: like the real helper, routines run with the cloud
   mutex released, so they may register, deregister or set events themselves. */
static VOID sim_cloud_deliver(NX_CLOUD *cloud_ptr, ULONG common_events)
{
    TX_INTERRUPT_SAVE_AREA
    sim_delivery pass[SIM_MAX_MODULES_PER_PASS];
    UINT count = 0;
    UINT i;
    NX_CLOUD_MODULE *module;

    if (tx_mutex_get(&cloud_ptr->nx_cloud_mutex, TX_WAIT_FOREVER) != TX_SUCCESS)
    {
        return;
    }
    if (cloud_ptr->nx_cloud_id != NX_CLOUD_ID)
    {
        (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);
        return;
    }
    for (module = cloud_ptr->nx_cloud_modules_list_header; module != NX_NULL && count < SIM_MAX_MODULES_PER_PASS;
         module = module->nx_cloud_module_next)
    {
        ULONG common = common_events & module->nx_cloud_module_registered_events;
        ULONG own;

        /* Own events may be set from an ISR at any time: take them atomically. */
        TX_DISABLE
        own = module->nx_cloud_module_own_events;
        if (common != 0 || own != 0)
        {
            module->nx_cloud_module_own_events = 0;
        }
        TX_RESTORE
        if (common == 0 && own == 0)
        {
            continue;
        }
        pass[count].process = module->nx_cloud_module_process;
        pass[count].context = module->nx_cloud_module_context;
        pass[count].common = common;
        pass[count].own = own;
        count++;
    }
    (void)tx_mutex_put(&cloud_ptr->nx_cloud_mutex);

    for (i = 0; i < count; i++)
    {
        TX_DISABLE
        sim_process_calls++;
        TX_RESTORE
        pass[i].process(pass[i].context, pass[i].common, pass[i].own);
    }
}

/* Delivers common_events to every created cloud. */
static VOID sim_cloud_deliver_all(ULONG common_events)
{
    TX_INTERRUPT_SAVE_AREA
    NX_CLOUD *clouds[SIM_MAX_CLOUDS];
    UINT i;

    TX_DISABLE
    for (i = 0; i < SIM_MAX_CLOUDS; i++)
    {
        clouds[i] = sim_clouds[i];
    }
    TX_RESTORE
    for (i = 0; i < SIM_MAX_CLOUDS; i++)
    {
        if (clouds[i] != NX_NULL)
        {
            sim_cloud_deliver(clouds[i], common_events);
        }
    }
}

VOID sim_cloud_tick(VOID)
{
    sim_cloud_deliver_all(NX_CLOUD_COMMON_PERIODIC_EVENT);
}

VOID sim_cloud_process_events(VOID)
{
    sim_cloud_deliver_all(0);
}

VOID sim_cloud_run_seconds(ULONG n)
{
    ULONG i;

    for (i = 0; i < n; i++)
    {
        sim_advance_time(1);
        sim_cloud_tick();
    }
}

/* Counts registered modules over all clouds, optionally only those named name. */
static ULONG sim_cloud_count(const CHAR *name)
{
    TX_INTERRUPT_SAVE_AREA
    NX_CLOUD *clouds[SIM_MAX_CLOUDS];
    ULONG total = 0;
    UINT i;

    TX_DISABLE
    for (i = 0; i < SIM_MAX_CLOUDS; i++)
    {
        clouds[i] = sim_clouds[i];
    }
    TX_RESTORE
    for (i = 0; i < SIM_MAX_CLOUDS; i++)
    {
        NX_CLOUD_MODULE *module;

        if (clouds[i] == NX_NULL || tx_mutex_get(&clouds[i]->nx_cloud_mutex, TX_WAIT_FOREVER) != TX_SUCCESS)
        {
            continue;
        }
        for (module = clouds[i]->nx_cloud_modules_list_header; module != NX_NULL; module = module->nx_cloud_module_next)
        {
            if (name == NX_NULL ||
                (module->nx_cloud_module_name != NX_NULL && strcmp(module->nx_cloud_module_name, name) == 0))
            {
                total++;
            }
        }
        (void)tx_mutex_put(&clouds[i]->nx_cloud_mutex);
    }
    return total;
}

ULONG sim_cloud_registered_count(VOID)
{
    return sim_cloud_count(NX_NULL);
}

ULONG sim_cloud_registered_named(const CHAR *name)
{
    if (name == NX_NULL)
    {
        return 0;
    }
    return sim_cloud_count(name);
}

ULONG sim_cloud_process_calls(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    ULONG calls;

    TX_DISABLE
    calls = sim_process_calls;
    TX_RESTORE
    return calls;
}
