/*
 * Simulator of NetX Duo's MQTT client (addons/mqtt/nxd_mqtt_client.h), reduced to what the
 * security module's MQTT transport touches: the client structure's state, the state and
 * status constants (same values as NetX Duo) and nxd_mqtt_client_publish. A publish is
 * recorded, not sent (sim_mqtt.h reads the record and injects failures). Written from the
 * public documentation.
 */
#ifndef NXD_MQTT_CLIENT_H
#define NXD_MQTT_CLIENT_H

#include "nx_api.h"

#ifdef __cplusplus
extern "C"
{
#endif

#define NXD_MQTT_CLIENT_STATE_INITIALIZE 0
#define NXD_MQTT_CLIENT_STATE_IDLE       1
#define NXD_MQTT_CLIENT_STATE_CONNECTING 2
#define NXD_MQTT_CLIENT_STATE_CONNECTED  3

#define NXD_MQTT_SUCCESS               0x0
#define NXD_MQTT_NOT_CONNECTED         0x10002
#define NXD_MQTT_INTERNAL_ERROR        0x10004
#define NXD_MQTT_PACKET_POOL_FAILURE   0x10006
#define NXD_MQTT_COMMUNICATION_FAILURE 0x10007
#define NXD_MQTT_INVALID_PARAMETER     0x10009
#define NXD_MQTT_QOS2_NOT_SUPPORTED    0x1000C

    typedef struct NXD_MQTT_CLIENT_STRUCT
    {
        CHAR *nxd_mqtt_client_name;
        UINT nxd_mqtt_client_state;
    } NXD_MQTT_CLIENT;

    /* Checks the arguments as the real client's error-checking layer does, then (connected
       clients only) records the message; see sim_mqtt.h. */
    UINT nxd_mqtt_client_publish(NXD_MQTT_CLIENT *client_ptr, CHAR *topic_name, UINT topic_name_length, CHAR *message,
                                 UINT message_length, UINT retain, UINT QoS, ULONG wait_option);

#ifdef __cplusplus
}
#endif

#endif /* NXD_MQTT_CLIENT_H */
