/* The drop-in API on the real ThreadX (Linux port), NetX Duo and its Azure IoT addon: a real
   nx_azure_iot_create() (with a real NX_DNS), then nx_azure_iot_security_module_enable() /
   _disable() on it, which since NetX Duo 6.4.0 the application calls itself, and the
   shared suite (realstack_common.c). The module's cloud-helper routine drains the ring. */
#include <stdio.h>
#include <stdlib.h>

#include "realstack_common.h"
#include "nx_azure_iot.h"
#include "nx_azure_iot_security_module.h"
#include "nxd_dns.h"

static NX_AZURE_IOT iot;
static NX_DNS dns;
static UCHAR iot_stack[16384];
static ULONG cloud_modules; /* the cloud helper's modules without ours */

static UINT unix_time(ULONG *now)
{
    *now = RS_NOW;
    return NX_AZURE_IOT_SUCCESS;
}

static int dropin_enable(UINT capture_mode)
{
    nxsm_config config;
    nxsm_netx_hook_status status;

    nxsm_config_default(&config);
    config.capture_mode = capture_mode;
    if (nxsm_netx_config_set(&config) != NXSM_OK)
        return 0;
    if (nx_azure_iot_security_module_enable(&iot) != NX_AZURE_IOT_SUCCESS)
        return 0;
    nxsm_netx_hook_status_get(&status);
    return status.ip_hooked == RS_IPS && status.ip_not_hooked == 0 && status.capture_mode == capture_mode &&
           iot.nx_azure_iot_cloud.nx_cloud_modules_count == cloud_modules + 1;
}

static int dropin_disable(void)
{
    nxsm_netx_hook_status status;

    if (nx_azure_iot_security_module_disable(&iot) != NX_AZURE_IOT_SUCCESS)
        return 0;
    nxsm_netx_hook_status_get(&status);
    return status.ip_hooked == 0 && status.hooks_left_replaced == 0 &&
           iot.nx_azure_iot_cloud.nx_cloud_modules_count == cloud_modules;
}

static void dropin_checks(void)
{
    nxsm_stats before, now;
    nxsm_netx_send_status send;
    uint32_t state = 99;
    UINT ticks = 0;

    /* The module's routine on the cloud helper thread polls the core once a second. */
    rs_stats_get(&before);
    do
    {
        tx_thread_sleep(10);
        ticks += 10;
        rs_stats_get(&now);
    } while (now.polls == before.polls && ticks < 300);
    rs_check(now.polls > before.polls, "the cloud helper thread polls the core");
    rs_check(nxsm_get_state(&state) == NXSM_OK && state == NXSM_STATE_PENDING, "state PENDING (no hub connected)");
    nxsm_netx_send_status_get(&send);
    rs_check(send.copies_sent == 0 && send.messages_delivered == 0, "nothing handed to a hub (none connected)");
    rs_check(nx_azure_iot_security_module_enable(&iot) == NX_AZURE_IOT_SUCCESS &&
                 iot.nx_azure_iot_cloud.nx_cloud_modules_count == cloud_modules + 1,
             "enable again on the same instance: success, nothing registered twice");
}

void rs_program(ULONG input)
{
    /* The cloud helper thread drains and polls; the messages go to hub clients (none). */
    static const rs_module dropin = {
        .name = "drop-in API",
        .enable = dropin_enable,
        .disable = dropin_disable,
        .checks_running = dropin_checks,
    };
    rs_objects before_create, after_delete;
    (void)input;

    rs_network_ready();
    rs_objects_get(&before_create);
    rs_check(nx_dns_create(&dns, &rs_ip[0], (UCHAR *)"dns") == NX_SUCCESS, "nx_dns_create");
    rs_check(nx_azure_iot_create(&iot, (const UCHAR *)"iot", &rs_ip[0], &rs_pool, &dns, iot_stack, sizeof(iot_stack), 2,
                                 unix_time) == NX_AZURE_IOT_SUCCESS,
             "nx_azure_iot_create (real NetX Duo Azure IoT addon)");
    cloud_modules = iot.nx_azure_iot_cloud.nx_cloud_modules_count;
    rs_suite(&dropin);
    rs_check(nxsm_netx_config_set(NX_NULL) == NXSM_OK, "drop-in configuration back to the defaults");
    rs_check(nx_azure_iot_delete(&iot) == NX_AZURE_IOT_SUCCESS, "nx_azure_iot_delete");
    rs_check(nx_dns_delete(&dns) == NX_SUCCESS, "nx_dns_delete");
    rs_objects_get(&after_delete);
    rs_check(rs_objects_equal(&before_create, &after_delete),
             "ThreadX objects and free packets after nx_azure_iot_delete as before nx_azure_iot_create");
    exit(rs_finish());
}
