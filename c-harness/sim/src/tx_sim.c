/*
 * ThreadX simulator: interrupt posture, mutexes, sleep (nx-security-module C harness).
 */
#if !defined(__arm__) || defined(__linux__)
#define _GNU_SOURCE /* nanosleep, sched_yield under -std=c99 */
#endif

#include "tx_api.h"

#if !TX_SIM_BARE_METAL
#include <errno.h>
#include <sched.h>
#include <time.h>
#endif

#if TX_SIM_BARE_METAL

UINT _tx_thread_interrupt_control(UINT new_posture)
{
    UINT previous = _tx_sim_primask_disable();
    _tx_sim_primask_restore(new_posture == TX_INT_DISABLE ? 1u : 0u);
    return previous;
}

/* Without threads a mutex only has to count nesting so get/put pairs stay checked. */
UINT tx_mutex_create(TX_MUTEX *mutex_ptr, CHAR *name_ptr, UINT inherit)
{
    if (mutex_ptr == TX_NULL)
    {
        return TX_PTR_ERROR;
    }
    if (inherit != TX_INHERIT && inherit != TX_NO_INHERIT)
    {
        return TX_INHERIT_ERROR;
    }
    mutex_ptr->tx_mutex_id = TX_MUTEX_ID;
    mutex_ptr->tx_mutex_name = name_ptr;
    mutex_ptr->tx_mutex_ownership_count = 0;
    mutex_ptr->tx_mutex_inherit = inherit;
    return TX_SUCCESS;
}

UINT tx_mutex_delete(TX_MUTEX *mutex_ptr)
{
    if (mutex_ptr == TX_NULL || mutex_ptr->tx_mutex_id != TX_MUTEX_ID)
    {
        return TX_MUTEX_ERROR;
    }
    mutex_ptr->tx_mutex_id = 0;
    return TX_SUCCESS;
}

UINT tx_mutex_get(TX_MUTEX *mutex_ptr, ULONG wait_option)
{
    (void)wait_option;
    if (mutex_ptr == TX_NULL || mutex_ptr->tx_mutex_id != TX_MUTEX_ID)
    {
        return TX_MUTEX_ERROR;
    }
    mutex_ptr->tx_mutex_ownership_count++;
    return TX_SUCCESS;
}

UINT tx_mutex_put(TX_MUTEX *mutex_ptr)
{
    if (mutex_ptr == TX_NULL || mutex_ptr->tx_mutex_id != TX_MUTEX_ID)
    {
        return TX_MUTEX_ERROR;
    }
    if (mutex_ptr->tx_mutex_ownership_count == 0)
    {
        return TX_NOT_OWNED;
    }
    mutex_ptr->tx_mutex_ownership_count--;
    return TX_SUCCESS;
}

UINT tx_thread_sleep(ULONG timer_ticks)
{
    (void)timer_ticks;
    return TX_SUCCESS;
}

VOID tx_thread_relinquish(VOID)
{
}

#else /* host */

/* The simulated CPU's interrupt mask: owned by at most one thread at a time. */
static pthread_mutex_t tx_sim_interrupt_lock = PTHREAD_MUTEX_INITIALIZER;
/* This thread's view of the mask; only the transition enabled<->disabled touches the lock,
   so nested disable/restore pairs inside one thread cost nothing and cannot deadlock. */
static __thread UINT tx_sim_posture = TX_INT_ENABLE;

/* Sets this thread's posture and returns the previous one (the tx_interrupt_control
   contract). */
static UINT tx_sim_posture_set(UINT new_posture)
{
    UINT previous = tx_sim_posture;
    UINT wanted = (new_posture == TX_INT_DISABLE) ? TX_INT_DISABLE : TX_INT_ENABLE;

    if (previous == TX_INT_ENABLE && wanted == TX_INT_DISABLE)
    {
        (void)pthread_mutex_lock(&tx_sim_interrupt_lock);
        tx_sim_posture = TX_INT_DISABLE;
    }
    else if (previous == TX_INT_DISABLE && wanted == TX_INT_ENABLE)
    {
        tx_sim_posture = TX_INT_ENABLE;
        (void)pthread_mutex_unlock(&tx_sim_interrupt_lock);
    }
    return previous;
}

UINT _tx_sim_interrupt_disable(VOID)
{
    return tx_sim_posture_set(TX_INT_DISABLE);
}

VOID _tx_sim_interrupt_restore(UINT previous_posture)
{
    (void)tx_sim_posture_set(previous_posture);
}

UINT _tx_thread_interrupt_control(UINT new_posture)
{
    return tx_sim_posture_set(new_posture);
}

/* One guard and one condition for every simulated mutex: all owner/count state is read and
   written under the guard, so there is no data race even when a non-owner calls put. */
static pthread_mutex_t tx_sim_mutex_guard = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tx_sim_mutex_released = PTHREAD_COND_INITIALIZER;

UINT tx_mutex_create(TX_MUTEX *mutex_ptr, CHAR *name_ptr, UINT inherit)
{
    if (mutex_ptr == TX_NULL)
    {
        return TX_PTR_ERROR;
    }
    if (inherit != TX_INHERIT && inherit != TX_NO_INHERIT)
    {
        return TX_INHERIT_ERROR;
    }
    (void)pthread_mutex_lock(&tx_sim_mutex_guard);
    mutex_ptr->tx_mutex_id = TX_MUTEX_ID;
    mutex_ptr->tx_mutex_name = name_ptr;
    mutex_ptr->tx_mutex_ownership_count = 0;
    mutex_ptr->tx_mutex_inherit = inherit;
    (void)pthread_mutex_unlock(&tx_sim_mutex_guard);
    return TX_SUCCESS;
}

UINT tx_mutex_delete(TX_MUTEX *mutex_ptr)
{
    UINT status = TX_SUCCESS;

    if (mutex_ptr == TX_NULL)
    {
        return TX_MUTEX_ERROR;
    }
    (void)pthread_mutex_lock(&tx_sim_mutex_guard);
    if (mutex_ptr->tx_mutex_id != TX_MUTEX_ID)
    {
        status = TX_MUTEX_ERROR;
    }
    else
    {
        /* Like ThreadX, deleting wakes every waiter; they then see TX_MUTEX_ERROR here
           instead of TX_DELETED. */
        mutex_ptr->tx_mutex_id = 0;
        mutex_ptr->tx_mutex_ownership_count = 0;
        (void)pthread_cond_broadcast(&tx_sim_mutex_released);
    }
    (void)pthread_mutex_unlock(&tx_sim_mutex_guard);
    return status;
}

UINT tx_mutex_get(TX_MUTEX *mutex_ptr, ULONG wait_option)
{
    UINT status = TX_SUCCESS;
    pthread_t self = pthread_self();
    struct timespec deadline;

    if (mutex_ptr == TX_NULL)
    {
        return TX_MUTEX_ERROR;
    }
    /* A finite wait ends after about one millisecond per tick, as tx_thread_sleep counts. */
    (void)clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)(wait_option / 1000u);
    deadline.tv_nsec += (long)(wait_option % 1000u) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L)
    {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    (void)pthread_mutex_lock(&tx_sim_mutex_guard);
    for (;;)
    {
        if (mutex_ptr->tx_mutex_id != TX_MUTEX_ID)
        {
            status = TX_MUTEX_ERROR;
            break;
        }
        if (mutex_ptr->tx_mutex_ownership_count == 0 || pthread_equal(mutex_ptr->tx_mutex_sim_owner, self))
        {
            mutex_ptr->tx_mutex_sim_owner = self;
            mutex_ptr->tx_mutex_ownership_count++;
            break;
        }
        if (wait_option == TX_NO_WAIT)
        {
            status = TX_NOT_AVAILABLE;
            break;
        }
        if (wait_option == TX_WAIT_FOREVER)
        {
            (void)pthread_cond_wait(&tx_sim_mutex_released, &tx_sim_mutex_guard);
        }
        else if (pthread_cond_timedwait(&tx_sim_mutex_released, &tx_sim_mutex_guard, &deadline) == ETIMEDOUT)
        {
            status = TX_NOT_AVAILABLE;
            break;
        }
    }
    (void)pthread_mutex_unlock(&tx_sim_mutex_guard);
    return status;
}

UINT tx_mutex_put(TX_MUTEX *mutex_ptr)
{
    UINT status = TX_SUCCESS;

    if (mutex_ptr == TX_NULL)
    {
        return TX_MUTEX_ERROR;
    }
    (void)pthread_mutex_lock(&tx_sim_mutex_guard);
    if (mutex_ptr->tx_mutex_id != TX_MUTEX_ID)
    {
        status = TX_MUTEX_ERROR;
    }
    else if (mutex_ptr->tx_mutex_ownership_count == 0 || !pthread_equal(mutex_ptr->tx_mutex_sim_owner, pthread_self()))
    {
        status = TX_NOT_OWNED;
    }
    else
    {
        mutex_ptr->tx_mutex_ownership_count--;
        if (mutex_ptr->tx_mutex_ownership_count == 0)
        {
            (void)pthread_cond_broadcast(&tx_sim_mutex_released);
        }
    }
    (void)pthread_mutex_unlock(&tx_sim_mutex_guard);
    return status;
}

UINT tx_thread_sleep(ULONG timer_ticks)
{
    struct timespec delay;

    if (timer_ticks == 0)
    {
        return TX_SUCCESS;
    }
    delay.tv_sec = (time_t)(timer_ticks / 1000u);
    delay.tv_nsec = (long)(timer_ticks % 1000u) * 1000000L;
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
    {
    }
    return TX_SUCCESS;
}

VOID tx_thread_relinquish(VOID)
{
    (void)sched_yield();
}

#endif
