/*
 * Simulator of the NetX Duo Azure IoT middleware core (nx-security-module C harness).
 *
 * Same header name, type names, field names, function signatures and return values as the
 * documented middleware, reduced to what the security module uses. Like the middleware
 * before NetX Duo v6.4.0, nx_azure_iot_create() enables the security module and
 * nx_azure_iot_delete() disables it, unless NX_AZURE_DISABLE_IOT_SECURITY_MODULE is
 * defined when the simulator is compiled (v6.4.0 and later never call them: define it to
 * simulate those).
 */
#ifndef NX_AZURE_IOT_H
#define NX_AZURE_IOT_H

#include "nx_api.h"
#include "nx_cloud.h"
#include "nxd_dns.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* API return values. */
#define NX_AZURE_IOT_SUCCESS                   0x0
#define NX_AZURE_IOT_FAILURE                   0x20000
#define NX_AZURE_IOT_SDK_CORE_ERROR            0x20001
#define NX_AZURE_IOT_INVALID_PARAMETER         0x20002
#define NX_AZURE_IOT_INSUFFICIENT_BUFFER_SPACE 0x20003
#define NX_AZURE_IOT_INVALID_PACKET            0x20004
#define NX_AZURE_IOT_NO_PACKET                 0x20005
#define NX_AZURE_IOT_NOT_FOUND                 0x20006
#define NX_AZURE_IOT_NOT_ENABLED               0x20007
#define NX_AZURE_IOT_NOT_INITIALIZED           0x20008
#define NX_AZURE_IOT_NOT_SUPPORTED             0x20009
#define NX_AZURE_IOT_ALREADY_CONNECTED         0x2000A
#define NX_AZURE_IOT_CONNECTING                0x2000B
#define NX_AZURE_IOT_DISCONNECTED              0x2000C
#define NX_AZURE_IOT_PENDING                   0x2000D
#define NX_AZURE_IOT_SERVER_RESPONSE_ERROR     0x2000E
#define NX_AZURE_IOT_TOPIC_TOO_LONG            0x2000F
#define NX_AZURE_IOT_MESSAGE_TOO_LONG          0x20010
#define NX_AZURE_IOT_NO_AVAILABLE_CIPHER       0x20011
#define NX_AZURE_IOT_WRONG_STATE               0x20012
#define NX_AZURE_IOT_DELETE_ERROR              0x20013

/* Resource types in the resource list. */
#define NX_AZURE_IOT_RESOURCE_IOT_HUB          0x1
#define NX_AZURE_IOT_RESOURCE_IOT_PROVISIONING 0x2

#define NX_AZURE_IOT_MQTT_QOS_0 0
#define NX_AZURE_IOT_MQTT_QOS_1 1

    /* One client (hub or provisioning) registered with an NX_AZURE_IOT. */
    typedef struct NX_AZURE_IOT_RESOURCE_STRUCT
    {
        UINT resource_type;      /* NX_AZURE_IOT_RESOURCE_* */
        VOID *resource_data_ptr; /* the owning client (e.g. NX_AZURE_IOT_HUB_CLIENT *) */
        const UCHAR *resource_hostname;
        UINT resource_hostname_length;
        struct NX_AZURE_IOT_RESOURCE_STRUCT *resource_next;
    } NX_AZURE_IOT_RESOURCE;

    /* The middleware instance: one per application. */
    typedef struct NX_AZURE_IOT_STRUCT
    {
        const UCHAR *nx_azure_iot_name;
        NX_IP *nx_azure_iot_ip_ptr;
        NX_PACKET_POOL *nx_azure_iot_pool_ptr;
        NX_DNS *nx_azure_iot_dns_ptr;
        NX_CLOUD nx_azure_iot_cloud;
        NX_CLOUD_MODULE nx_azure_iot_cloud_module;
        TX_MUTEX *nx_azure_iot_mutex_ptr; /* protects the resource list */
        VOID (*nx_azure_iot_provisioning_client_event_process)(struct NX_AZURE_IOT_STRUCT *, ULONG, ULONG);
        struct NX_AZURE_IOT_RESOURCE_STRUCT *nx_azure_iot_resource_list_header;
        UINT (*nx_azure_iot_unix_time_get)(ULONG *unix_time);
    } NX_AZURE_IOT;

    /* Creates the cloud helper, registers the middleware's own cloud module, then (unless
   NX_AZURE_DISABLE_IOT_SECURITY_MODULE) enables the security module; if that fails, undoes
   everything and returns the enable status. */
    UINT nx_azure_iot_create(NX_AZURE_IOT *nx_azure_iot_ptr, const UCHAR *name_ptr, NX_IP *ip_ptr,
                             NX_PACKET_POOL *pool_ptr, NX_DNS *dns_ptr, VOID *stack_memory_ptr, UINT stack_memory_size,
                             UINT priority, UINT (*unix_time_callback)(ULONG *unix_time));

    /* NX_AZURE_IOT_DELETE_ERROR while resources remain; otherwise disables the security module
   (unless opted out; its failure is returned) and releases the cloud helper. */
    UINT nx_azure_iot_delete(NX_AZURE_IOT *nx_azure_iot_ptr);

    /* Reads the application's unix time callback. */
    UINT nx_azure_iot_unix_time_get(NX_AZURE_IOT *nx_azure_iot_ptr, ULONG *unix_time);

    /* Internal middleware services: add/remove a client resource (under the middleware mutex). */
    UINT nx_azure_iot_resource_add(NX_AZURE_IOT *nx_azure_iot_ptr, NX_AZURE_IOT_RESOURCE *resource);
    UINT nx_azure_iot_resource_remove(NX_AZURE_IOT *nx_azure_iot_ptr, NX_AZURE_IOT_RESOURCE *resource);

#ifdef __cplusplus
}
#endif

#endif /* NX_AZURE_IOT_H */
