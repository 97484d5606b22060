/*
 * Simulator of the ThreadX application interface (nx-security-module C harness).
 *
 * Same header name, type names, field names, function names and constant values as the
 * documented ThreadX API, reduced to what the shim and the NetX/Azure simulator use:
 * interrupt control, mutexes, thread sleep and the types embedded in NetX structures.
 * Written from the public API documentation; no ThreadX source is reproduced.
 */
#ifndef TX_API_H
#define TX_API_H

#include "tx_port.h"

#if !TX_SIM_BARE_METAL
#include <pthread.h>
#endif

#ifdef __cplusplus
extern "C"
{
#endif

/* Release this simulator stands in for. */
#define AZURE_RTOS_THREADX
#define THREADX_MAJOR_VERSION 6
#define THREADX_MINOR_VERSION 4
#define THREADX_PATCH_VERSION 1
#define EL_PRODUCT_THREADX

/* Wait options and general constants. */
#define TX_NO_WAIT      ((ULONG)0)
#define TX_WAIT_FOREVER ((ULONG)0xFFFFFFFFUL)
#define TX_NULL         ((void *)0)
#define TX_TRUE         1
#define TX_FALSE        0
#define TX_NO_INHERIT   0
#define TX_INHERIT      1

/* Service return values used by the simulated services. */
#define TX_SUCCESS       ((UINT)0x00)
#define TX_DELETED       ((UINT)0x01)
#define TX_PTR_ERROR     ((UINT)0x03)
#define TX_WAIT_ERROR    ((UINT)0x04)
#define TX_CALLER_ERROR  ((UINT)0x13)
#define TX_MUTEX_ERROR   ((UINT)0x1C)
#define TX_NOT_AVAILABLE ((UINT)0x1D)
#define TX_NOT_OWNED     ((UINT)0x1E)
#define TX_INHERIT_ERROR ((UINT)0x1F)

/* Object identifiers stored in a created object's id field. */
#define TX_MUTEX_ID ((ULONG)0x4D555445)

    /* Thread control block: only what other structures embed. */
    typedef struct TX_THREAD_STRUCT
    {
        ULONG tx_thread_id;
        CHAR *tx_thread_name;
    } TX_THREAD;

    /* Timer control block: only what other structures embed. */
    typedef struct TX_TIMER_STRUCT
    {
        ULONG tx_timer_id;
        CHAR *tx_timer_name;
    } TX_TIMER;

    /* Event flags group: only what other structures embed. */
    typedef struct TX_EVENT_FLAGS_GROUP_STRUCT
    {
        ULONG tx_event_flags_group_id;
        CHAR *tx_event_flags_group_name;
        ULONG tx_event_flags_group_current;
    } TX_EVENT_FLAGS_GROUP;

    /* Mutex: recursive for its owner, like a ThreadX mutex. On the host the simulator tracks
   the owning pthread so multi-thread harness tests exercise real exclusion. */
    typedef struct TX_MUTEX_STRUCT
    {
        ULONG tx_mutex_id;
        CHAR *tx_mutex_name;
        UINT tx_mutex_ownership_count;
        UINT tx_mutex_inherit;
#if !TX_SIM_BARE_METAL
        pthread_t tx_mutex_sim_owner; /* simulator only: valid while ownership_count > 0 */
#endif
    } TX_MUTEX;

/* Interrupt control: the real API maps this name onto the port's implementation. */
#define tx_interrupt_control _tx_thread_interrupt_control
    UINT tx_interrupt_control(UINT new_posture);

    UINT tx_mutex_create(TX_MUTEX *mutex_ptr, CHAR *name_ptr, UINT inherit);
    UINT tx_mutex_delete(TX_MUTEX *mutex_ptr);
    /* Host: TX_WAIT_FOREVER waits until the mutex is free; another wait option waits about one
   millisecond per tick (as tx_thread_sleep), then returns TX_NOT_AVAILABLE. */
    UINT tx_mutex_get(TX_MUTEX *mutex_ptr, ULONG wait_option);
    UINT tx_mutex_put(TX_MUTEX *mutex_ptr);

    /* Host: sleeps about one millisecond per tick (simulated time is driven by the tests,
   not by this). Bare metal: returns at once (there is no other thread to run). */
    UINT tx_thread_sleep(ULONG timer_ticks);
    VOID tx_thread_relinquish(VOID);

#ifdef __cplusplus
}
#endif

#endif /* TX_API_H */
