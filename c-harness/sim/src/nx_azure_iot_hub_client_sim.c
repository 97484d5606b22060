/*
 * Simulated device-to-cloud telemetry of the NetX Duo Azure IoT Hub client
 * (nx-security-module C harness).
 *
 * The four documented telemetry calls work on packets from a small static publish pool.
 * Instead of publishing over MQTT, a send records the client, the topic as the middleware
 * builds it (devices/<device_id>/messages/events/ followed by the URL-style properties) and
 * the payload in a bounded log the tests read through sim_control.h. Tests can also make
 * the next creates, property adds or sends of one client fail, and check that every packet
 * handed out came back (sent or deleted). Static storage only, so the simulator still
 * builds for bare-metal Arm.
 */
#include <string.h>

#include "sim_control.h"
#include "sim_internal.h"

/* The publish pool the telemetry packets belong to. */
static NX_PACKET_POOL sim_hub_pool = {0x50554220UL, (CHAR *)"sim hub publish pool", SIM_HUB_TOPIC_BYTES};

/* One pool packet and who it is out to. */
typedef struct
{
    NX_PACKET packet;
    UCHAR data[SIM_HUB_TOPIC_BYTES];
    UINT out;                         /* created, not yet sent or deleted */
    NX_AZURE_IOT_HUB_CLIENT *creator; /* the client whose topic it carries */
} sim_hub_slot;

static sim_hub_slot sim_hub_slots[SIM_HUB_PACKETS];

/* Failures injected for one client. */
typedef struct
{
    NX_AZURE_IOT_HUB_CLIENT *hub;
    ULONG fail_creates;
    ULONG fail_property_adds;
    ULONG fail_sends;
} sim_hub_injection;

static sim_hub_injection sim_hub_injections[SIM_HUB_MAX_CLIENTS];

/* The log: entry headers plus one byte arena for topics (NUL-terminated) and payloads. */
typedef struct
{
    NX_AZURE_IOT_HUB_CLIENT *hub;
    ULONG topic_offset;
    UINT topic_length;
    ULONG payload_offset;
    UINT payload_length;
} sim_hub_log_entry;

static sim_hub_log_entry sim_hub_log[SIM_HUB_LOG_ENTRIES];
static UCHAR sim_hub_log_bytes[SIM_HUB_LOG_BYTES];
static ULONG sim_hub_log_count;
static ULONG sim_hub_log_used;

static sim_hub_counters sim_hub_stats;

VOID sim_hub_reset(VOID)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    memset(sim_hub_slots, 0, sizeof(sim_hub_slots));
    memset(sim_hub_injections, 0, sizeof(sim_hub_injections));
    memset(&sim_hub_stats, 0, sizeof(sim_hub_stats));
    sim_hub_log_count = 0;
    sim_hub_log_used = 0;
    TX_RESTORE
}

/* ---- helpers (callers hold TX_DISABLE where noted) -------------------------------------- */

/* The pool slot of packet_ptr, or NULL when it is not one of the pool's packets. */
static sim_hub_slot *sim_hub_slot_of(const NX_PACKET *packet_ptr)
{
    UINT i;

    for (i = 0; i < SIM_HUB_PACKETS; i++)
    {
        if (&sim_hub_slots[i].packet == packet_ptr)
        {
            return &sim_hub_slots[i];
        }
    }
    return NX_NULL;
}

/* The injection entry of hub_ptr; with create, a free entry is taken for it. TX_DISABLE. */
static sim_hub_injection *sim_hub_injection_of(const NX_AZURE_IOT_HUB_CLIENT *hub_ptr, UINT create)
{
    UINT i;

    for (i = 0; i < SIM_HUB_MAX_CLIENTS; i++)
    {
        if (sim_hub_injections[i].hub == hub_ptr)
        {
            return &sim_hub_injections[i];
        }
    }
    if (!create)
    {
        return NX_NULL;
    }
    for (i = 0; i < SIM_HUB_MAX_CLIENTS; i++)
    {
        if (sim_hub_injections[i].hub == NX_NULL)
        {
            memset(&sim_hub_injections[i], 0, sizeof(sim_hub_injections[i]));
            sim_hub_injections[i].hub = (NX_AZURE_IOT_HUB_CLIENT *)(ALIGN_TYPE)hub_ptr;
            return &sim_hub_injections[i];
        }
    }
    return NX_NULL;
}

/* Uses up one injected failure from *counter; TX_DISABLE. */
static UINT sim_hub_take(ULONG *counter)
{
    if (*counter == 0)
    {
        return NX_FALSE;
    }
    (*counter)--;
    return NX_TRUE;
}

/* Puts a packet back into the pool; TX_DISABLE. */
static VOID sim_hub_slot_free(sim_hub_slot *slot)
{
    slot->out = NX_FALSE;
    slot->creator = NX_NULL;
    sim_hub_stats.outstanding--;
}

/* Appends length bytes of text to the packet's topic; NX_FALSE when they do not fit. */
static UINT sim_hub_topic_append(NX_PACKET *packet_ptr, const UCHAR *text, ULONG length)
{
    if (length > (ULONG)(packet_ptr->nx_packet_data_end - packet_ptr->nx_packet_append_ptr))
    {
        return NX_FALSE;
    }
    if (length != 0)
    {
        memcpy(packet_ptr->nx_packet_append_ptr, text, length);
    }
    packet_ptr->nx_packet_append_ptr += length;
    packet_ptr->nx_packet_length += length;
    return NX_TRUE;
}

static UINT sim_hub_topic_append_span(NX_PACKET *packet_ptr, az_span span)
{
    if (az_span_size(span) < 0)
    {
        return NX_FALSE;
    }
    return sim_hub_topic_append(packet_ptr, az_span_ptr(span), (ULONG)az_span_size(span));
}

static UINT sim_hub_topic_append_text(NX_PACKET *packet_ptr, const CHAR *text)
{
    return sim_hub_topic_append(packet_ptr, (const UCHAR *)text, (ULONG)strlen(text));
}

/* Records one accepted message, or counts it as overflow when the log is full; TX_DISABLE. */
static VOID sim_hub_log_add(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, const NX_PACKET *packet_ptr, const UCHAR *payload,
                            UINT payload_length)
{
    ULONG topic_length = packet_ptr->nx_packet_length;
    sim_hub_log_entry *entry;

    if (sim_hub_log_count >= SIM_HUB_LOG_ENTRIES || SIM_HUB_LOG_BYTES - sim_hub_log_used < topic_length + 1u ||
        SIM_HUB_LOG_BYTES - sim_hub_log_used - topic_length - 1u < payload_length)
    {
        sim_hub_stats.log_overflow++;
        return;
    }
    entry = &sim_hub_log[sim_hub_log_count++];
    entry->hub = hub_ptr;
    entry->topic_offset = sim_hub_log_used;
    entry->topic_length = (UINT)topic_length;
    memcpy(&sim_hub_log_bytes[sim_hub_log_used], packet_ptr->nx_packet_prepend_ptr, topic_length);
    sim_hub_log_used += topic_length;
    sim_hub_log_bytes[sim_hub_log_used++] = 0;
    entry->payload_offset = sim_hub_log_used;
    entry->payload_length = payload_length;
    if (payload_length != 0)
    {
        memcpy(&sim_hub_log_bytes[sim_hub_log_used], payload, payload_length);
    }
    sim_hub_log_used += payload_length;
}

/* ---- the middleware calls ------------------------------------------------------------- */

UINT nx_azure_iot_hub_client_telemetry_message_create(NX_AZURE_IOT_HUB_CLIENT *hub_client_ptr, NX_PACKET **packet_pptr,
                                                      UINT wait_option)
{
    TX_INTERRUPT_SAVE_AREA
    sim_hub_injection *injection;
    sim_hub_slot *slot = NX_NULL;
    NX_PACKET *packet_ptr;
    az_iot_hub_client *core;
    UINT fits;
    UINT i;

    (void)wait_option; /* the simulator never waits: an empty pool fails at once */
    if (hub_client_ptr == NX_NULL || packet_pptr == NX_NULL || hub_client_ptr->nx_azure_iot_ptr == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }

    TX_DISABLE
    injection = sim_hub_injection_of(hub_client_ptr, NX_FALSE);
    if (injection == NX_NULL || !sim_hub_take(&injection->fail_creates))
    {
        for (i = 0; i < SIM_HUB_PACKETS; i++)
        {
            if (!sim_hub_slots[i].out)
            {
                slot = &sim_hub_slots[i];
                slot->out = NX_TRUE;
                slot->creator = hub_client_ptr;
                sim_hub_stats.outstanding++;
                if (sim_hub_stats.outstanding > sim_hub_stats.peak_outstanding)
                {
                    sim_hub_stats.peak_outstanding = sim_hub_stats.outstanding;
                }
                break;
            }
        }
    }
    if (slot == NX_NULL)
    {
        sim_hub_stats.create_failures++;
        TX_RESTORE
        return NX_NO_PACKET;
    }
    TX_RESTORE

    /* The slot is ours now: fill it outside the critical section. */
    packet_ptr = &slot->packet;
    memset(packet_ptr, 0, sizeof(*packet_ptr));
    packet_ptr->nx_packet_pool_owner = &sim_hub_pool;
    packet_ptr->nx_packet_data_start = slot->data;
    packet_ptr->nx_packet_data_end = slot->data + sizeof(slot->data);
    packet_ptr->nx_packet_prepend_ptr = slot->data;
    packet_ptr->nx_packet_append_ptr = slot->data;
    packet_ptr->nx_packet_length = 0;

    core = &hub_client_ptr->iot_hub_client_core;
    fits = sim_hub_topic_append_text(packet_ptr, "devices/") &&
           sim_hub_topic_append_span(packet_ptr, core->_internal.device_id);
    if (fits && az_span_size(core->_internal.options.module_id) > 0)
    {
        fits = sim_hub_topic_append_text(packet_ptr, "/modules/") &&
               sim_hub_topic_append_span(packet_ptr, core->_internal.options.module_id);
    }
    fits = fits && sim_hub_topic_append_text(packet_ptr, "/messages/events/");

    TX_DISABLE
    if (!fits)
    {
        sim_hub_slot_free(slot);
        sim_hub_stats.create_failures++;
        TX_RESTORE
        return NX_AZURE_IOT_SDK_CORE_ERROR;
    }
    sim_hub_stats.creates++;
    TX_RESTORE
    *packet_pptr = packet_ptr;
    return NX_AZURE_IOT_SUCCESS;
}

UINT nx_azure_iot_hub_client_telemetry_message_delete(NX_PACKET *packet_ptr)
{
    return nx_packet_release(packet_ptr);
}

UINT sim_hub_packet_release(NX_PACKET *packet_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    sim_hub_slot *slot = sim_hub_slot_of(packet_ptr);
    UINT status = NX_PTR_ERROR;

    TX_DISABLE
    if (slot != NX_NULL && slot->out)
    {
        sim_hub_slot_free(slot);
        sim_hub_stats.deletes++;
        status = NX_SUCCESS;
    }
    else
    {
        sim_hub_stats.misuse++;
    }
    TX_RESTORE
    return status;
}

UINT sim_hub_is_pool_packet(const NX_PACKET *packet_ptr)
{
    return (sim_hub_slot_of(packet_ptr) != NX_NULL) ? NX_TRUE : NX_FALSE;
}

UINT nx_azure_iot_hub_client_telemetry_property_add(NX_PACKET *packet_ptr, const UCHAR *property_name,
                                                    USHORT property_name_length, const UCHAR *property_value,
                                                    USHORT property_value_length, UINT wait_option)
{
    TX_INTERRUPT_SAVE_AREA
    sim_hub_slot *slot = sim_hub_slot_of(packet_ptr);
    sim_hub_injection *injection;
    ULONG needed;
    UINT status = NX_AZURE_IOT_SUCCESS;

    (void)wait_option;
    if (packet_ptr == NX_NULL || property_name == NX_NULL || property_value == NX_NULL || property_name_length == 0)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }

    TX_DISABLE
    if (slot == NX_NULL || !slot->out)
    {
        sim_hub_stats.misuse++;
        sim_hub_stats.property_add_failures++;
        TX_RESTORE
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    injection = sim_hub_injection_of(slot->creator, NX_FALSE);
    /* '&' before every property but the first (the topic then still ends with '/'). */
    needed = (ULONG)property_name_length + 1u + (ULONG)property_value_length +
             ((packet_ptr->nx_packet_append_ptr[-1] != (UCHAR)'/') ? 1u : 0u);
    if ((injection != NX_NULL && sim_hub_take(&injection->fail_property_adds)) ||
        needed > (ULONG)(packet_ptr->nx_packet_data_end - packet_ptr->nx_packet_append_ptr))
    {
        status = NX_AZURE_IOT_INSUFFICIENT_BUFFER_SPACE;
        sim_hub_stats.property_add_failures++;
    }
    else
    {
        sim_hub_stats.property_adds++;
    }
    TX_RESTORE
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        return status;
    }

    if (packet_ptr->nx_packet_append_ptr[-1] != (UCHAR)'/')
    {
        (void)sim_hub_topic_append(packet_ptr, (const UCHAR *)"&", 1u);
    }
    (void)sim_hub_topic_append(packet_ptr, property_name, property_name_length);
    (void)sim_hub_topic_append(packet_ptr, (const UCHAR *)"=", 1u);
    (void)sim_hub_topic_append(packet_ptr, property_value, property_value_length);
    return NX_AZURE_IOT_SUCCESS;
}

UINT nx_azure_iot_hub_client_telemetry_send(NX_AZURE_IOT_HUB_CLIENT *hub_client_ptr, NX_PACKET *packet_ptr,
                                            const UCHAR *telemetry_data, UINT data_size, UINT wait_option)
{
    TX_INTERRUPT_SAVE_AREA
    sim_hub_slot *slot = sim_hub_slot_of(packet_ptr);
    sim_hub_injection *injection;
    UINT status = NX_AZURE_IOT_SUCCESS;

    (void)wait_option;
    if (hub_client_ptr == NX_NULL || packet_ptr == NX_NULL || (telemetry_data == NX_NULL && data_size != 0))
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }

    TX_DISABLE
    if (slot == NX_NULL || !slot->out)
    {
        sim_hub_stats.misuse++;
        status = NX_AZURE_IOT_INVALID_PACKET;
    }
    else if (slot->creator != hub_client_ptr)
    {
        /* The topic names another client's identity. */
        sim_hub_stats.misuse++;
        status = NX_AZURE_IOT_INVALID_PARAMETER;
    }
    else if (hub_client_ptr->nx_azure_iot_hub_client_state != NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED)
    {
        sim_hub_stats.send_disconnected++;
        status = NX_AZURE_IOT_DISCONNECTED;
    }
    else
    {
        injection = sim_hub_injection_of(hub_client_ptr, NX_FALSE);
        if (injection != NX_NULL && sim_hub_take(&injection->fail_sends))
        {
            status = NX_AZURE_IOT_FAILURE;
        }
    }
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        sim_hub_stats.send_failures++;
        TX_RESTORE
        return status; /* the caller still owns the packet */
    }
    sim_hub_log_add(hub_client_ptr, packet_ptr, telemetry_data, data_size);
    sim_hub_stats.sends++;
    sim_hub_slot_free(slot); /* published: the middleware releases it */
    TX_RESTORE
    return NX_AZURE_IOT_SUCCESS;
}

/* ---- test control --------------------------------------------------------------------- */

ULONG sim_hub_sent_count(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    ULONG count;

    TX_DISABLE
    count = sim_hub_log_count;
    TX_RESTORE
    return count;
}

UINT sim_hub_sent_get(ULONG index, sim_hub_message *message)
{
    TX_INTERRUPT_SAVE_AREA
    UINT status = NX_SUCCESS;

    if (message == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    TX_DISABLE
    if (index >= sim_hub_log_count)
    {
        status = NX_NOT_SUCCESSFUL;
    }
    else
    {
        const sim_hub_log_entry *entry = &sim_hub_log[index];

        message->hub = entry->hub;
        message->topic = (const CHAR *)&sim_hub_log_bytes[entry->topic_offset];
        message->topic_length = entry->topic_length;
        message->payload = &sim_hub_log_bytes[entry->payload_offset];
        message->payload_length = entry->payload_length;
    }
    TX_RESTORE
    return status;
}

VOID sim_hub_clear_log(VOID)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    sim_hub_log_count = 0;
    sim_hub_log_used = 0;
    sim_hub_stats.log_overflow = 0;
    TX_RESTORE
}

/* Sets one injection counter of hub_ptr (0 cancels). */
static VOID sim_hub_inject(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, UINT which, ULONG n)
{
    TX_INTERRUPT_SAVE_AREA
    sim_hub_injection *injection;

    if (hub_ptr == NX_NULL)
    {
        return;
    }
    TX_DISABLE
    injection = sim_hub_injection_of(hub_ptr, (n != 0) ? NX_TRUE : NX_FALSE);
    if (injection != NX_NULL)
    {
        if (which == 0)
        {
            injection->fail_creates = n;
        }
        else if (which == 1)
        {
            injection->fail_property_adds = n;
        }
        else
        {
            injection->fail_sends = n;
        }
    }
    TX_RESTORE
}

VOID sim_hub_fail_creates(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, ULONG n)
{
    sim_hub_inject(hub_ptr, 0, n);
}

VOID sim_hub_fail_property_adds(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, ULONG n)
{
    sim_hub_inject(hub_ptr, 1, n);
}

VOID sim_hub_fail_sends(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, ULONG n)
{
    sim_hub_inject(hub_ptr, 2, n);
}

VOID sim_hub_forget_client(const NX_AZURE_IOT_HUB_CLIENT *hub_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    sim_hub_injection *injection;

    TX_DISABLE
    injection = sim_hub_injection_of(hub_ptr, NX_FALSE);
    if (injection != NX_NULL)
    {
        memset(injection, 0, sizeof(*injection));
    }
    TX_RESTORE
}

VOID sim_hub_counters_get(sim_hub_counters *counters)
{
    TX_INTERRUPT_SAVE_AREA

    if (counters == NX_NULL)
    {
        return;
    }
    TX_DISABLE
    *counters = sim_hub_stats;
    TX_RESTORE
}

ULONG sim_hub_packets_outstanding(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    ULONG outstanding;

    TX_DISABLE
    outstanding = sim_hub_stats.outstanding;
    TX_RESTORE
    return outstanding;
}
