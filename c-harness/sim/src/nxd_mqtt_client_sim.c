/*
 * Simulated nxd_mqtt_client_publish (see nxd_mqtt_client.h and sim_mqtt.h). One publishing
 * thread at a time; the record table is not locked.
 */
#include <stdlib.h>
#include <string.h>

#include "nxd_mqtt_client.h"
#include "sim_mqtt.h"

static sim_mqtt_record sim_mqtt_records[SIM_MQTT_MAX_RECORDS];
static UINT sim_mqtt_count;
static ULONG sim_mqtt_call_count;
static UINT sim_mqtt_fail_count;
static UINT sim_mqtt_fail_status;
static VOID (*sim_mqtt_hook)(VOID *context);
static VOID *sim_mqtt_hook_context;

VOID sim_mqtt_reset(VOID)
{
    UINT i;

    for (i = 0; i < sim_mqtt_count; i++)
    {
        free(sim_mqtt_records[i].payload);
    }
    memset(sim_mqtt_records, 0, sizeof(sim_mqtt_records));
    sim_mqtt_count = 0;
    sim_mqtt_call_count = 0;
    sim_mqtt_fail_count = 0;
    sim_mqtt_fail_status = NXD_MQTT_SUCCESS;
    sim_mqtt_hook = NX_NULL;
    sim_mqtt_hook_context = NX_NULL;
}

VOID sim_mqtt_set_hook(VOID (*hook)(VOID *context), VOID *context)
{
    sim_mqtt_hook = hook;
    sim_mqtt_hook_context = context;
}

VOID sim_mqtt_fail_next(UINT count, UINT status)
{
    sim_mqtt_fail_count = count;
    sim_mqtt_fail_status = status;
}

UINT sim_mqtt_record_count(VOID)
{
    return sim_mqtt_count;
}

ULONG sim_mqtt_calls(VOID)
{
    return sim_mqtt_call_count;
}

const sim_mqtt_record *sim_mqtt_record_get(UINT index)
{
    return (index < sim_mqtt_count) ? &sim_mqtt_records[index] : NX_NULL;
}

UINT nxd_mqtt_client_publish(NXD_MQTT_CLIENT *client_ptr, CHAR *topic_name, UINT topic_name_length, CHAR *message,
                             UINT message_length, UINT retain, UINT QoS, ULONG wait_option)
{
    sim_mqtt_record *record;
    UINT status = NXD_MQTT_SUCCESS;

    sim_mqtt_call_count++;
    /* The real error-checking layer's answers. */
    if (client_ptr == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    if (topic_name == NX_NULL || topic_name_length == 0u || (message != NX_NULL && message_length == 0u) || QoS > 3u)
    {
        return NXD_MQTT_INVALID_PARAMETER;
    }
    if (QoS == 2u)
    {
        return NXD_MQTT_QOS2_NOT_SUPPORTED;
    }
    if (client_ptr->nxd_mqtt_client_state != NXD_MQTT_CLIENT_STATE_CONNECTED)
    {
        return NXD_MQTT_NOT_CONNECTED;
    }
    if (sim_mqtt_hook != NX_NULL)
    {
        sim_mqtt_hook(sim_mqtt_hook_context);
    }
    if (sim_mqtt_fail_count > 0u)
    {
        sim_mqtt_fail_count--;
        status = sim_mqtt_fail_status;
    }
    if (sim_mqtt_count < SIM_MQTT_MAX_RECORDS)
    {
        record = &sim_mqtt_records[sim_mqtt_count++];
        record->client = client_ptr;
        record->topic_length = topic_name_length;
        memcpy(record->topic, topic_name,
               topic_name_length < sizeof(record->topic) - 1u ? topic_name_length : sizeof(record->topic) - 1u);
        record->payload_length = (message != NX_NULL) ? message_length : 0u;
        if (record->payload_length != 0u)
        {
            record->payload = (UCHAR *)malloc(record->payload_length);
            if (record->payload != NX_NULL)
            {
                memcpy(record->payload, message, record->payload_length);
            }
        }
        record->retain = retain;
        record->qos = QoS;
        record->wait_option = wait_option;
        record->status = status;
    }
    return status;
}
