/*
 * Example application: the firmware starts the security module with
 * nx_azure_iot_security_module_enable() after nx_azure_iot_create() and stops it with
 * _disable() before nx_azure_iot_delete() (NetX Duo v6.4.0 and later do not call them
 * from create/delete), and the native API reads its state. Results go over semihosting; the last line is
 * "<N> passed, <M> failed".
 */
#include <stdio.h>

#include "nx_api.h"
#include "nx_azure_iot.h"
#include "nx_azure_iot_security_module.h"
#include "nx_security_module.h"
#include "sim_control.h" /* simulator only: stands in for nx_ip_create() and friends */

static unsigned passed;
static unsigned failed;

static void expect(const char *what, unsigned long got, unsigned long want)
{
    if (got == want)
    {
        passed++;
        printf("ok - %s\n", what);
    }
    else
    {
        failed++;
        printf("not ok - %s (got 0x%lx, expected 0x%lx)\n", what, got, want);
    }
}

static unsigned long module_state(void)
{
    uint32_t state = 0xFFFFFFFFu;
    if (nxsm_get_state(&state) != NXSM_OK)
    {
        return 0xFFFFFFFFul;
    }
    return state;
}

/* The application's wall clock (an RTC or SNTP in a real firmware). */
static UINT unix_time_get(ULONG *unix_time)
{
    *unix_time = 1717171717ul;
    return NX_AZURE_IOT_SUCCESS;
}

static NX_IP ip;
static NX_PACKET_POOL pool;
static NX_DNS dns;
static NX_AZURE_IOT iot;
static ULONG iot_stack[256];

int main(void)
{
    printf("# nx-security-module %s: CMake consumer example\n", nxsm_version_string());

    /* Network bring-up of the firmware (nx_ip_create, nx_packet_pool_create, nxd_dns_create). */
    expect("IP instance created", sim_ip_create(&ip, "app ip"), NX_SUCCESS);

    expect("nx_azure_iot_create",
           nx_azure_iot_create(&iot, (const UCHAR *)"app", &ip, &pool, &dns, iot_stack, sizeof iot_stack, 3,
                               unix_time_get),
           NX_AZURE_IOT_SUCCESS);
    /* The application starts the module itself once the middleware exists. */
    expect("nx_azure_iot_security_module_enable", nx_azure_iot_security_module_enable(&iot), NX_AZURE_IOT_SUCCESS);
    expect("the module runs after enable (PENDING)", module_state(), NXSM_STATE_PENDING);

    expect("enable again for the same instance", nx_azure_iot_security_module_enable(&iot), NX_AZURE_IOT_SUCCESS);
    expect("nx_azure_iot_security_module_disable", nx_azure_iot_security_module_disable(&iot), NX_AZURE_IOT_SUCCESS);
    expect("stopped after disable", module_state(), NXSM_STATE_NOT_INITIALIZED);
    expect("enable again", nx_azure_iot_security_module_enable(&iot), NX_AZURE_IOT_SUCCESS);
    expect("running again after enable (PENDING)", module_state(), NXSM_STATE_PENDING);

    /* ... and stops it before deleting the middleware. */
    expect("disable before nx_azure_iot_delete", nx_azure_iot_security_module_disable(&iot), NX_AZURE_IOT_SUCCESS);
    expect("nx_azure_iot_delete", nx_azure_iot_delete(&iot), NX_AZURE_IOT_SUCCESS);
    expect("stopped after nx_azure_iot_delete", module_state(), NXSM_STATE_NOT_INITIALIZED);

    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
