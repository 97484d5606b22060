/*
 * Test control of the simulated MQTT client (nxd_mqtt_client_sim.c): every publish call
 * that got past the argument checks is recorded with its result, and the next calls can be
 * made to fail. Shim code must never include it.
 */
#ifndef SIM_MQTT_H
#define SIM_MQTT_H

#include "nxd_mqtt_client.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* Publishes recorded at most (later ones are counted, not recorded). */
#define SIM_MQTT_MAX_RECORDS 256u

    /* One recorded nxd_mqtt_client_publish call. */
    typedef struct
    {
        NXD_MQTT_CLIENT *client;
        CHAR topic[256];
        UINT topic_length;
        UCHAR *payload; /* a copy (malloc), freed by sim_mqtt_reset */
        UINT payload_length;
        UINT retain;
        UINT qos;
        ULONG wait_option;
        UINT status; /* what the call returned */
    } sim_mqtt_record;

    /* Forgets every record, injected failure and counter. */
    VOID sim_mqtt_reset(VOID);
    /* The next `count` publishes of a connected client return `status` (recorded as such). */
    VOID sim_mqtt_fail_next(UINT count, UINT status);
    /* Calls recorded since the reset (failed ones included), and calls made at all (argument
       errors included). */
    UINT sim_mqtt_record_count(VOID);
    ULONG sim_mqtt_calls(VOID);
    /* Record `index` (0 the oldest), NULL past the end. */
    const sim_mqtt_record *sim_mqtt_record_get(UINT index);
    /* Called (with context) inside every publish of a connected client, before it is
       recorded: lets a test hold a publish while another thread acts. NULL removes it. */
    VOID sim_mqtt_set_hook(VOID (*hook)(VOID *context), VOID *context);

#ifdef __cplusplus
}
#endif

#endif /* SIM_MQTT_H */
