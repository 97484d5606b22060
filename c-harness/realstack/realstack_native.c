/* The native API on the real ThreadX (Linux port) and NetX Duo: nxsm_start() and
   nxsm_netx_hooks_install() on two NX_IP joined by NetX Duo's RAM driver, the consumer
   draining from the ring callback, and the shared suite (realstack_common.c). In its
   inventory step it polls with a hub "connected" and takes every message; run with
   NXSM_RS_MESSAGES=<file> to get them as hex lines for `nxsm-decode --replay`:
     NXSM_RS_MESSAGES=m.hex realstack_native && nxsm-decode --replay < m.hex */
#include <stdio.h>
#include <stdlib.h>

#include "realstack_common.h"

static volatile unsigned long wakes, wakes_total;

static void wake(void *context)
{
    (void)context;
    wakes++;
    wakes_total++;
}

/* What the application's consumer does when the callback woke it. */
static void drain_if_woken(void)
{
    if (wakes)
    {
        wakes = 0;
        nxsm_drain(RS_NOW);
    }
}

static void drain(void)
{
    nxsm_drain(RS_NOW);
}

static int native_enable(UINT capture_mode)
{
    nxsm_config config;
    nxsm_netx_hook_status status;

    nxsm_config_default(&config);
    config.capture_mode = capture_mode;
    if (nxsm_start(&config, RS_NOW, 0) != NXSM_OK)
        return 0;
    if (nxsm_netx_hooks_install(config.capture_mode) != RS_IPS)
        return 0;
    nxsm_netx_hook_status_get(&status);
    return status.ip_hooked == RS_IPS && status.ip_not_hooked == 0 && status.capture_mode == capture_mode;
}

static int native_disable(void)
{
    nxsm_netx_hook_status status;

    nxsm_netx_hooks_remove();
    nxsm_netx_hook_status_get(&status);
    return nxsm_stop() == NXSM_OK && status.ip_hooked == 0 && status.hooks_left_replaced == 0;
}

static void native_checks(void)
{
    uint32_t state = 99;

    rs_check(wakes_total > 0, "the ring callback woke the consumer (%lu times)", wakes_total);
    rs_check(nxsm_get_state(&state) == NXSM_OK && state == NXSM_STATE_PENDING, "state PENDING (no hub)");
}

/* Seconds of module time the native program polls through to take its messages: a whole
   hour, so that every collection and check the default configuration schedules falls due. */
#define RS_MESSAGE_SECONDS 3600u

/* The consumer with a hub "connected": polls (the module goes ACTIVE) through
   RS_MESSAGE_SECONDS and takes every message, oldest first, acknowledging each as sent. */
static void native_take_messages(void)
{
    const uint8_t *bytes;
    size_t length;
    uint32_t sequence;
    unsigned long taken = 0, dumped = 0, poll_failures = 0;

    for (uint32_t s = 1; s <= RS_MESSAGE_SECONDS; s++)
    {
        nxsm_result result;

        while ((result = nxsm_poll(RS_NOW + s, true)) == NXSM_ERR_BUSY)
            tx_thread_sleep(1);
        poll_failures += result != NXSM_OK;
        while (nxsm_message_peek(&bytes, &length, &sequence) == NXSM_OK)
        {
            taken++;
            dumped += rs_message_record(bytes, length) != 0;
            if (nxsm_message_ack(sequence, true) != NXSM_OK)
                poll_failures++;
        }
    }
    rs_check(taken > 0 && poll_failures == 0, "%u s of polls with a hub: %lu messages taken, every poll and ack OK",
             RS_MESSAGE_SECONDS, taken);
    if (rs_message_dump_enabled())
        rs_check(dumped == taken, "every message taken written to NXSM_RS_MESSAGES (%lu of %lu)", dumped, taken);
}

void rs_program(ULONG input)
{
    static const rs_module native = {
        .name = "native API",
        .enable = native_enable,
        .disable = native_disable,
        .after_exchange = drain_if_woken,
        .drain = drain,
        .checks_running = native_checks,
        .take_messages = native_take_messages,
    };
    (void)input;

    rs_network_ready();
    rs_check(nxsm_set_ring_callback(wake, NX_NULL, 8) == NXSM_OK, "ring callback set");
    rs_suite(&native);
    rs_check(nxsm_set_ring_callback(NX_NULL, NX_NULL, 0) == NXSM_OK, "ring callback removed");
    exit(rs_finish());
}
