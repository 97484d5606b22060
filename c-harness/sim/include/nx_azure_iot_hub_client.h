/*
 * Simulator of the NetX Duo Azure IoT Hub client header (nx-security-module C harness):
 * the client structure fields the security module reads (connection state, the resource
 * that links the client into NX_AZURE_IOT, and the Azure SDK client core with the hub host
 * name and device id). Tests drive them with the sim_hub_client_* helpers (sim_control.h).
 */
#ifndef NX_AZURE_IOT_HUB_CLIENT_H
#define NX_AZURE_IOT_HUB_CLIENT_H

#include "azure/iot/az_iot_hub_client.h"
#include "nx_api.h"
#include "nx_azure_iot.h"
#include "nx_cloud.h"

#ifdef __cplusplus
extern "C" {
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

#ifdef __cplusplus
}
#endif

#endif /* NX_AZURE_IOT_HUB_CLIENT_H */
