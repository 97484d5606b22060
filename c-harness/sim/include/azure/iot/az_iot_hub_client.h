/*
 * Simulator of the Azure SDK for C IoT Hub client type (nx-security-module C harness):
 * the identity fields (hub host name, device id, module id) the security module compares
 * to avoid sending one message twice to the same device identity.
 */
#ifndef _az_IOT_HUB_CLIENT_H
#define _az_IOT_HUB_CLIENT_H

#include "azure/core/az_span.h"

#ifdef __cplusplus
extern "C"
{
#endif

    typedef struct
    {
        az_span module_id; /* empty for a device identity */
        az_span user_agent;
        az_span model_id;
    } az_iot_hub_client_options;

    typedef struct
    {
        struct
        {
            az_span iot_hub_hostname;
            az_span device_id;
            az_iot_hub_client_options options;
        } _internal;
    } az_iot_hub_client;

#ifdef __cplusplus
}
#endif

#endif /* _az_IOT_HUB_CLIENT_H */
