/*
 * Simulator of the NetX Duo cloud helper (nx-security-module C harness).
 *
 * Same names, signatures and values as the documented nx_cloud API. The simulator has no
 * helper thread: tests deliver events with sim_cloud_tick() / sim_cloud_process_events()
 * (sim_control.h), which call every registered module's process routine the way the helper
 * thread would, with the cloud mutex released.
 */
#ifndef NX_CLOUD_H
#define NX_CLOUD_H

#include "nx_api.h"
#include "tx_api.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* Value of nx_cloud_id while a cloud instance is created. */
#define NX_CLOUD_ID ((ULONG)0x434C4F44)

/* Return values of the cloud services. */
#define NX_CLOUD_MODULE_ALREADY_REGISTERED 0xF0
#define NX_CLOUD_MODULE_NOT_REGISTERED     0xF1
#define NX_CLOUD_MODULE_BOUND              0xF2
#define NX_CLOUD_MODULE_EVENT_INVALID      0xF3

/* Events. Common events go to every module registered for them; module events are owned
   by one module each. */
#define NX_CLOUD_ALL_EVENTS             0xFFFFFFFF
#define NX_CLOUD_COMMON_PERIODIC_EVENT  0x00000001u /* once per second */
#define NX_CLOUD_MODULE_MQTT_EVENT      0x00010000u
#define NX_CLOUD_MODULE_AZURE_SDK_EVENT 0x00020000u
#define NX_CLOUD_MODULE_AZURE_ADU_EVENT 0x00040000u
#define NX_CLOUD_MODULE_AZURE_ISM_EVENT 0x00080000u
#define NX_CLOUD_COMMON_ALL_EVENT       (NX_CLOUD_COMMON_PERIODIC_EVENT)

    /* A module processed on the cloud helper thread. */
    typedef struct NX_CLOUD_MODULE_STRUCT
    {
        const CHAR *nx_cloud_module_name;
        ULONG nx_cloud_module_registered_events; /* common | own events it wants */
        ULONG nx_cloud_module_own_events;        /* own events pending delivery */
        VOID (*nx_cloud_module_process)(VOID *module_context, ULONG common_events, ULONG module_own_events);
        VOID *nx_cloud_module_context;
        struct NX_CLOUD_MODULE_STRUCT *nx_cloud_module_next;
        struct NX_CLOUD_STRUCT *nx_cloud_ptr;
    } NX_CLOUD_MODULE;

    /* A cloud helper instance. */
    typedef struct NX_CLOUD_STRUCT
    {
        ULONG nx_cloud_id;
        const CHAR *nx_cloud_name;
        TX_THREAD nx_cloud_thread;
        TX_EVENT_FLAGS_GROUP nx_cloud_events;
        TX_MUTEX nx_cloud_mutex;
        TX_TIMER nx_cloud_periodic_timer;
        NX_CLOUD_MODULE *nx_cloud_modules_list_header;
        ULONG nx_cloud_modules_count;
    } NX_CLOUD;

    /* The simulator ignores the stack memory and priority (no helper thread). */
    UINT nx_cloud_create(NX_CLOUD *cloud_ptr, const CHAR *cloud_name, VOID *memory_ptr, ULONG memory_size,
                         UINT priority);
    /* NX_CLOUD_MODULE_BOUND while any module is still registered. */
    UINT nx_cloud_delete(NX_CLOUD *cloud_ptr);

    /* NX_PTR_ERROR for a NULL/uncreated cloud, NULL module or NULL process routine;
   NX_CLOUD_MODULE_EVENT_INVALID for an empty event mask; NX_CLOUD_MODULE_ALREADY_REGISTERED
   if module_ptr is already in this cloud's list. */
    UINT nx_cloud_module_register(NX_CLOUD *cloud_ptr, NX_CLOUD_MODULE *module_ptr, const CHAR *module_name,
                                  ULONG module_event,
                                  VOID (*module_process)(VOID *module_context, ULONG common_events,
                                                         ULONG module_own_events),
                                  VOID *module_context);
    /* NX_CLOUD_MODULE_NOT_REGISTERED if module_ptr is not in this cloud's list. */
    UINT nx_cloud_module_deregister(NX_CLOUD *cloud_ptr, NX_CLOUD_MODULE *module_ptr);
    UINT nx_cloud_module_event_set(NX_CLOUD_MODULE *cloud_module, ULONG module_own_event);
    UINT nx_cloud_module_event_clear(NX_CLOUD_MODULE *cloud_module, ULONG module_own_event);

#ifdef __cplusplus
}
#endif

#endif /* NX_CLOUD_H */
