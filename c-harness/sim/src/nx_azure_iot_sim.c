/*
 * Simulated NetX Duo Azure IoT middleware core and hub client set-up
 * (nx-security-module C harness).
 *
 * nx_azure_iot_create()/nx_azure_iot_delete() follow the middleware sequence of NetX Duo
 * before v6.4.0, including the automatic security-module enable/disable and the opt-out
 * macro (v6.4.0 and later behave as with the opt-out: the application calls them).
 */
#include <string.h>

#include "sim_control.h"
#include "sim_internal.h"

#ifndef NX_AZURE_DISABLE_IOT_SECURITY_MODULE
/* Provided by the library under test (nx_azure_iot_security_module.h), as the real
   middleware gets them from the security module it is built with. */
UINT nx_azure_iot_security_module_enable(NX_AZURE_IOT *nx_azure_iot_ptr);
UINT nx_azure_iot_security_module_disable(NX_AZURE_IOT *nx_azure_iot_ptr);
#endif

/* Name of the middleware's own cloud module. */
#define SIM_AZURE_SDK_MODULE_NAME "Azure SDK Module"

/* Stack handed to nx_cloud_create() by sim_azure_iot_init() (the simulator never runs it). */
static ULONG sim_azure_iot_stack[64];

/* The middleware's own cloud module: the simulator has no SDK work to do on the helper. */
static VOID sim_azure_sdk_process(VOID *module_context, ULONG common_events, ULONG module_own_events)
{
    (void)module_context;
    (void)common_events;
    (void)module_own_events;
}

/* Fills the instance and creates its cloud helper; shared by create and sim init. */
static UINT sim_azure_iot_setup(NX_AZURE_IOT *nx_azure_iot_ptr, const UCHAR *name_ptr, NX_IP *ip_ptr,
                                NX_PACKET_POOL *pool_ptr, NX_DNS *dns_ptr, VOID *stack_memory_ptr,
                                UINT stack_memory_size, UINT priority, UINT (*unix_time_callback)(ULONG *unix_time))
{
    UINT status;

    memset(nx_azure_iot_ptr, 0, sizeof(*nx_azure_iot_ptr));
    nx_azure_iot_ptr->nx_azure_iot_name = name_ptr;
    nx_azure_iot_ptr->nx_azure_iot_ip_ptr = ip_ptr;
    nx_azure_iot_ptr->nx_azure_iot_pool_ptr = pool_ptr;
    nx_azure_iot_ptr->nx_azure_iot_dns_ptr = dns_ptr;
    status = nx_cloud_create(&nx_azure_iot_ptr->nx_azure_iot_cloud, (const CHAR *)name_ptr, stack_memory_ptr,
                             stack_memory_size, priority);
    if (status != NX_SUCCESS)
    {
        return status;
    }
    /* The middleware protects its resource list with the cloud helper's mutex. */
    nx_azure_iot_ptr->nx_azure_iot_mutex_ptr = &nx_azure_iot_ptr->nx_azure_iot_cloud.nx_cloud_mutex;
    nx_azure_iot_ptr->nx_azure_iot_unix_time_get = unix_time_callback;
    return NX_AZURE_IOT_SUCCESS;
}

UINT nx_azure_iot_create(NX_AZURE_IOT *nx_azure_iot_ptr, const UCHAR *name_ptr, NX_IP *ip_ptr, NX_PACKET_POOL *pool_ptr,
                         NX_DNS *dns_ptr, VOID *stack_memory_ptr, UINT stack_memory_size, UINT priority,
                         UINT (*unix_time_callback)(ULONG *unix_time))
{
    UINT status;

    if (nx_azure_iot_ptr == NX_NULL || ip_ptr == NX_NULL || pool_ptr == NX_NULL || dns_ptr == NX_NULL ||
        stack_memory_ptr == NX_NULL || stack_memory_size == 0)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    status = sim_azure_iot_setup(nx_azure_iot_ptr, name_ptr, ip_ptr, pool_ptr, dns_ptr, stack_memory_ptr,
                                 stack_memory_size, priority, unix_time_callback);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        return status;
    }
    status = nx_cloud_module_register(
        &nx_azure_iot_ptr->nx_azure_iot_cloud, &nx_azure_iot_ptr->nx_azure_iot_cloud_module, SIM_AZURE_SDK_MODULE_NAME,
        NX_CLOUD_MODULE_AZURE_SDK_EVENT | NX_CLOUD_COMMON_PERIODIC_EVENT, sim_azure_sdk_process, nx_azure_iot_ptr);
    if (status != NX_SUCCESS)
    {
        (void)nx_cloud_delete(&nx_azure_iot_ptr->nx_azure_iot_cloud);
        return status;
    }

#ifndef NX_AZURE_DISABLE_IOT_SECURITY_MODULE
    /* As documented for the middleware: a failing enable makes creation fail, the instance
       is deleted again and the enable status is what the application sees. */
    status = nx_azure_iot_security_module_enable(nx_azure_iot_ptr);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        (void)nx_azure_iot_delete(nx_azure_iot_ptr);
        return status;
    }
#endif
    return NX_AZURE_IOT_SUCCESS;
}

UINT nx_azure_iot_delete(NX_AZURE_IOT *nx_azure_iot_ptr)
{
    UINT status;

    if (nx_azure_iot_ptr == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    if (nx_azure_iot_ptr->nx_azure_iot_resource_list_header != NX_NULL)
    {
        return NX_AZURE_IOT_DELETE_ERROR;
    }

#ifndef NX_AZURE_DISABLE_IOT_SECURITY_MODULE
    status = nx_azure_iot_security_module_disable(nx_azure_iot_ptr);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        return status;
    }
#endif

    status =
        nx_cloud_module_deregister(&nx_azure_iot_ptr->nx_azure_iot_cloud, &nx_azure_iot_ptr->nx_azure_iot_cloud_module);
    if (status != NX_SUCCESS)
    {
        return status;
    }
    status = nx_cloud_delete(&nx_azure_iot_ptr->nx_azure_iot_cloud);
    if (status != NX_SUCCESS)
    {
        return status;
    }
    nx_azure_iot_ptr->nx_azure_iot_mutex_ptr = NX_NULL;
    return NX_AZURE_IOT_SUCCESS;
}

UINT nx_azure_iot_unix_time_get(NX_AZURE_IOT *nx_azure_iot_ptr, ULONG *unix_time)
{
    if (nx_azure_iot_ptr == NX_NULL || unix_time == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    if (nx_azure_iot_ptr->nx_azure_iot_unix_time_get == NX_NULL)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    return nx_azure_iot_ptr->nx_azure_iot_unix_time_get(unix_time);
}

UINT nx_azure_iot_resource_add(NX_AZURE_IOT *nx_azure_iot_ptr, NX_AZURE_IOT_RESOURCE *resource)
{
    if (nx_azure_iot_ptr == NX_NULL || resource == NX_NULL || nx_azure_iot_ptr->nx_azure_iot_mutex_ptr == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    (void)tx_mutex_get(nx_azure_iot_ptr->nx_azure_iot_mutex_ptr, TX_WAIT_FOREVER);
    resource->resource_next = nx_azure_iot_ptr->nx_azure_iot_resource_list_header;
    nx_azure_iot_ptr->nx_azure_iot_resource_list_header = resource;
    (void)tx_mutex_put(nx_azure_iot_ptr->nx_azure_iot_mutex_ptr);
    return NX_AZURE_IOT_SUCCESS;
}

UINT nx_azure_iot_resource_remove(NX_AZURE_IOT *nx_azure_iot_ptr, NX_AZURE_IOT_RESOURCE *resource)
{
    NX_AZURE_IOT_RESOURCE **link;
    UINT status = NX_AZURE_IOT_NOT_FOUND;

    if (nx_azure_iot_ptr == NX_NULL || resource == NX_NULL || nx_azure_iot_ptr->nx_azure_iot_mutex_ptr == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    (void)tx_mutex_get(nx_azure_iot_ptr->nx_azure_iot_mutex_ptr, TX_WAIT_FOREVER);
    for (link = &nx_azure_iot_ptr->nx_azure_iot_resource_list_header; *link != NX_NULL; link = &(*link)->resource_next)
    {
        if (*link == resource)
        {
            *link = resource->resource_next;
            resource->resource_next = NX_NULL;
            status = NX_AZURE_IOT_SUCCESS;
            break;
        }
    }
    (void)tx_mutex_put(nx_azure_iot_ptr->nx_azure_iot_mutex_ptr);
    return status;
}

UINT sim_azure_iot_init(NX_AZURE_IOT *nx_azure_iot_ptr, UINT (*unix_time_callback)(ULONG *))
{
    if (nx_azure_iot_ptr == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    return sim_azure_iot_setup(nx_azure_iot_ptr, (const UCHAR *)"sim azure iot", NX_NULL, NX_NULL, NX_NULL,
                               sim_azure_iot_stack, (UINT)sizeof(sim_azure_iot_stack), 0, unix_time_callback);
}

UINT sim_azure_iot_deinit(NX_AZURE_IOT *nx_azure_iot_ptr)
{
    if (nx_azure_iot_ptr == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    nx_azure_iot_ptr->nx_azure_iot_mutex_ptr = NX_NULL;
    return nx_cloud_delete(&nx_azure_iot_ptr->nx_azure_iot_cloud);
}

/* A span over a NUL-terminated string (empty span for NULL). */
static az_span sim_span_of(const CHAR *text)
{
    if (text == NX_NULL)
    {
        return az_span_create(NX_NULL, 0);
    }
    return az_span_create((uint8_t *)(ALIGN_TYPE)text, (int32_t)strlen(text));
}

UINT sim_hub_client_attach(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, NX_AZURE_IOT *nx_azure_iot_ptr, const CHAR *host_name,
                           const CHAR *device_id, const CHAR *module_id)
{
    UINT status;

    if (hub_ptr == NX_NULL || nx_azure_iot_ptr == NX_NULL || host_name == NX_NULL || device_id == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    memset(hub_ptr, 0, sizeof(*hub_ptr));
    sim_hub_forget_client(hub_ptr);
    hub_ptr->nx_azure_iot_ptr = nx_azure_iot_ptr;
    hub_ptr->nx_azure_iot_hub_client_state = NX_AZURE_IOT_HUB_CLIENT_STATUS_NOT_CONNECTED;
    hub_ptr->nx_azure_iot_hub_client_resource.resource_type = NX_AZURE_IOT_RESOURCE_IOT_HUB;
    hub_ptr->nx_azure_iot_hub_client_resource.resource_data_ptr = hub_ptr;
    hub_ptr->nx_azure_iot_hub_client_resource.resource_hostname = (const UCHAR *)host_name;
    hub_ptr->nx_azure_iot_hub_client_resource.resource_hostname_length = (UINT)strlen(host_name);
    hub_ptr->iot_hub_client_core._internal.iot_hub_hostname = sim_span_of(host_name);
    hub_ptr->iot_hub_client_core._internal.device_id = sim_span_of(device_id);
    hub_ptr->iot_hub_client_core._internal.options.module_id = sim_span_of(module_id);
    status = nx_azure_iot_resource_add(nx_azure_iot_ptr, &hub_ptr->nx_azure_iot_hub_client_resource);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        hub_ptr->nx_azure_iot_ptr = NX_NULL;
    }
    return status;
}

UINT sim_hub_client_detach(NX_AZURE_IOT_HUB_CLIENT *hub_ptr)
{
    UINT status;

    if (hub_ptr == NX_NULL || hub_ptr->nx_azure_iot_ptr == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    status = nx_azure_iot_resource_remove(hub_ptr->nx_azure_iot_ptr, &hub_ptr->nx_azure_iot_hub_client_resource);
    if (status == NX_AZURE_IOT_SUCCESS)
    {
        hub_ptr->nx_azure_iot_ptr = NX_NULL;
    }
    return status;
}

VOID sim_hub_client_set_state(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, UINT state)
{
    TX_MUTEX *mutex_ptr;

    if (hub_ptr == NX_NULL)
    {
        return;
    }
    /* The middleware changes the state under its mutex; do the same. */
    mutex_ptr = (hub_ptr->nx_azure_iot_ptr != NX_NULL) ? hub_ptr->nx_azure_iot_ptr->nx_azure_iot_mutex_ptr : NX_NULL;
    if (mutex_ptr != NX_NULL)
    {
        (void)tx_mutex_get(mutex_ptr, TX_WAIT_FOREVER);
    }
    hub_ptr->nx_azure_iot_hub_client_state = state;
    if (mutex_ptr != NX_NULL)
    {
        (void)tx_mutex_put(mutex_ptr);
    }
}
