/*
 * Simulator of the NetX Duo Azure IoT Hub client header (nx-security-module C harness):
 * the client structure fields the security module reads (connection state, the resource
 * that links the client into NX_AZURE_IOT, and the Azure SDK client core with the hub host
 * name and device id) and the device-to-cloud telemetry calls it sends messages with. Tests
 * drive clients with the sim_hub_client_* helpers and read what was sent with the sim_hub_*
 * helpers (sim_control.h).
 */
#ifndef NX_AZURE_IOT_HUB_CLIENT_H
#define NX_AZURE_IOT_HUB_CLIENT_H

#include "azure/iot/az_iot_hub_client.h"
#include "nx_api.h"
#include "nx_azure_iot.h"
#include "nx_cloud.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* Connection states in nx_azure_iot_hub_client_state. */
#define NX_AZURE_IOT_HUB_CLIENT_STATUS_NOT_CONNECTED 0
#define NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTING    1
#define NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED     2

/* QoS of device-to-cloud telemetry. */
#ifndef NX_AZURE_IOT_HUB_CLIENT_TELEMETRY_QOS
#define NX_AZURE_IOT_HUB_CLIENT_TELEMETRY_QOS NX_AZURE_IOT_MQTT_QOS_1
#endif

    typedef struct NX_AZURE_IOT_HUB_CLIENT_STRUCT
    {
        NX_AZURE_IOT *nx_azure_iot_ptr;
        UINT nx_azure_iot_hub_client_state;
        NX_AZURE_IOT_RESOURCE nx_azure_iot_hub_client_resource; /* resource_data_ptr = this client */
        az_iot_hub_client iot_hub_client_core;
    } NX_AZURE_IOT_HUB_CLIENT;

    /* ---- device-to-cloud telemetry ----------------------------------------------------------
   Same names, signatures and results as the documented middleware. The simulator's packets
   come from a small static publish pool; a sent message is recorded (hub client, MQTT
   topic with its properties, payload) for the tests to read (sim_control.h) instead of
   going to a broker. */

    /* Takes a packet from the publish pool and writes the telemetry topic into it:
   devices/<device_id>/messages/events/ (devices/<device_id>/modules/<module_id>/messages/events/
   for a module identity). NX_AZURE_IOT_INVALID_PARAMETER for a NULL argument, NX_NO_PACKET
   when the pool is empty (the simulator never waits), NX_AZURE_IOT_SDK_CORE_ERROR when the
   topic does not fit a packet. On success the caller owns *packet_pptr until it is sent or
   deleted. */
    UINT nx_azure_iot_hub_client_telemetry_message_create(NX_AZURE_IOT_HUB_CLIENT *hub_client_ptr,
                                                          NX_PACKET **packet_pptr, UINT wait_option);

    /* Gives a telemetry packet back to its pool (nx_packet_release). */
    UINT nx_azure_iot_hub_client_telemetry_message_delete(NX_PACKET *packet_ptr);

    /* Appends name=value to the topic, '&' between properties (both already URL-encoded by the
   caller, as the middleware expects). NX_AZURE_IOT_INVALID_PARAMETER for NULL pointers or
   a packet that is not a live telemetry packet, NX_AZURE_IOT_INSUFFICIENT_BUFFER_SPACE
   when the topic would not fit the packet. */
    UINT nx_azure_iot_hub_client_telemetry_property_add(NX_PACKET *packet_ptr, const UCHAR *property_name,
                                                        USHORT property_name_length, const UCHAR *property_value,
                                                        USHORT property_value_length, UINT wait_option);

    /* Publishes the message (QoS NX_AZURE_IOT_HUB_CLIENT_TELEMETRY_QOS). On success the packet
   goes back to the pool; on failure the caller still owns it and must delete it.
   NX_AZURE_IOT_INVALID_PARAMETER for NULL arguments or a packet created for another
   client, NX_AZURE_IOT_INVALID_PACKET for a packet that is not a live telemetry packet,
   NX_AZURE_IOT_DISCONNECTED unless the client is CONNECTED, NX_AZURE_IOT_FAILURE when a
   test injected a send failure (sim_hub_fail_sends). */
    UINT nx_azure_iot_hub_client_telemetry_send(NX_AZURE_IOT_HUB_CLIENT *hub_client_ptr, NX_PACKET *packet_ptr,
                                                const UCHAR *telemetry_data, UINT data_size, UINT wait_option);

#ifdef __cplusplus
}
#endif

#endif /* NX_AZURE_IOT_HUB_CLIENT_H */
