/*
 * Simulator of NetX Duo's DNS client header (nx-security-module C harness): only the
 * NX_DNS type, which nx_azure_iot_create() takes.
 */
#ifndef NXD_DNS_H
#define NXD_DNS_H

#include "nx_api.h"

#ifdef __cplusplus
extern "C"
{
#endif

#define NX_DNS_ID ((ULONG)0x444E5343)

    typedef struct NX_DNS_STRUCT
    {
        ULONG nx_dns_id;
        CHAR *nx_dns_name;
        NX_IP *nx_dns_ip_ptr;
    } NX_DNS;

#ifdef __cplusplus
}
#endif

#endif /* NXD_DNS_H */
