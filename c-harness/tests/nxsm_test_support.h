/*
 * Helpers shared by the cmocka tests: read the module's state and counters through the
 * native API, failing the current test if the call itself fails, and the stop flag of the
 * race tests.
 */
#ifndef NXSM_TEST_SUPPORT_H
#define NXSM_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nx_security_module.h"
#include "tx_api.h"

/* The library's defaults, over a buffer filled with junk so a field left unset shows. */
static inline nxsm_config default_config(void)
{
    nxsm_config config;

    memset(&config, 0xA5, sizeof(config));
    assert_int_equal(nxsm_config_default(&config), NXSM_OK);
    return config;
}

/* Counters and state right now. */
static inline nxsm_stats stats_now(void)
{
    nxsm_stats stats;

    memset(&stats, 0, sizeof(stats));
    stats.struct_size = (uint32_t)sizeof(stats);
    assert_int_equal(nxsm_get_stats(&stats), NXSM_OK);
    return stats;
}

/* The nxsm_state value right now. */
static inline uint32_t state_now(void)
{
    uint32_t state = 0xDEADBEEFu;

    assert_int_equal(nxsm_get_state(&state), NXSM_OK);
    return state;
}

/* The stop flag of the multi-threaded race tests, read and written under the simulated
   interrupt lock (the threads are real; the lock is what ThreadX code would use). */
static inline int *race_flag(void)
{
    static int done;

    return &done;
}

static inline void race_set_done(int done)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    *race_flag() = done;
    TX_RESTORE
}

static inline int race_is_done(void)
{
    TX_INTERRUPT_SAVE_AREA
    int done;

    TX_DISABLE
    done = *race_flag();
    TX_RESTORE
    return done;
}

#endif /* NXSM_TEST_SUPPORT_H */
