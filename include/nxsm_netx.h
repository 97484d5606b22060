/*
 * nx-security-module: NetX Duo side of the C shim, beyond the drop-in API.
 *
 * The shim (the C files in shim/) is compiled in the application's build against its own nx_api.h;
 * these functions come with it. They let an application choose the configuration the
 * drop-in nx_azure_iot_security_module_enable() starts the core with, and see what the
 * packet hooks could and could not do.
 *
 * How the hooks behave (shim/nxsm_netx_hooks.c):
 *  - enable hooks every created NX_IP (up to NXSM_MAX_IP_INSTANCES, default 4; a build
 *    may define a larger value for the shim): nx_ip_packet_filter_extended always, and in
 *    unicast-only capture mode the TCP, UDP, ICMP and ICMPv6 receive routines that are
 *    enabled on that IP at that moment. Whatever was installed before is saved per IP and
 *    called after the module has looked at the packet; the application filter's verdict is
 *    returned unchanged (the module itself never drops a packet).
 *  - disable puts back exactly what was there, on every IP where the module's function is
 *    still installed. Where the application replaced the module's function meanwhile, its
 *    replacement is left in place (it may chain to the module's function, which keeps
 *    forwarding to what it saved and records nothing while the module is stopped), and
 *    later enables do not stack the module's function on top of it again.
 *  - protocols enabled on an IP after enable are not hooked until the next enable.
 */
#ifndef NXSM_NETX_H
#define NXSM_NETX_H

#include "nx_api.h"
#include "nx_security_module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the hooks did; read with nxsm_netx_hook_status_get(). */
typedef struct
{
    ULONG ip_hooked;           /* NX_IP instances hooked by the running enable (0 when disabled) */
    ULONG ip_not_hooked;       /* created NX_IP instances the last enable had to leave alone
                                  because the table (NXSM_MAX_IP_INSTANCES) was full */
    ULONG hooks_left_replaced; /* hooks found replaced by the application at a disable and left
                                  in place, since boot */
    ULONG capture_mode;        /* nxsm_capture_mode of the last enable */
} nxsm_netx_hook_status;

/* Copies the hook status to status (nothing happens for NULL). Any context. */
VOID nxsm_netx_hook_status_get(nxsm_netx_hook_status *status);

/*
 * How the shim hands the core's messages to the IoT Hub clients. On every cloud tick, after
 * nxsm_poll(), up to NXSM_MAX_SENDS_PER_POLL (default 4) queued messages go out, oldest
 * first. Each goes, as one telemetry message with the properties nxsm=1 and
 * $.ct=application/x-nxsm (docs/wire-format.md section 5), to every CONNECTED IoT Hub
 * client of the NX_AZURE_IOT, except a client whose hub host name and device id equal
 * those of an earlier client that already took this message (a device identity and its
 * module identities get one copy). The message counts as sent when at least one client
 * took it; otherwise it stays queued, the core retries it after retry_interval_s, and the
 * tick's hand-off stops. These counters count since boot.
 */
typedef struct
{
    ULONG messages_delivered; /* messages at least one client took (acknowledged as sent) */
    ULONG messages_failed;    /* messages that no connected client took (acknowledged as
                                 failed: kept and retried) */
    ULONG copies_sent;        /* telemetry messages a client accepted */
    ULONG copies_failed;      /* copies that failed (create, property or send: the packet
                                 was deleted) */
    ULONG copies_skipped;     /* connected clients skipped for an identity that already
                                 took the message */
    UINT last_failure_status; /* NetX / Azure status of the last failed copy (0: none) */
} nxsm_netx_send_status;

/* Copies the hand-off counters to status (nothing happens for NULL). Any context. */
VOID nxsm_netx_send_status_get(nxsm_netx_send_status *status);

/*
 * Sets the configuration the next nx_azure_iot_security_module_enable() starts the core
 * with (a running module keeps its configuration until it is disabled). NULL goes back to
 * the defaults plus the compile-time NXSM_* overrides. Returns NXSM_OK, or the error of
 * nxsm_config_validate() (nothing is changed then). Threads only.
 */
nxsm_result nxsm_netx_config_set(const nxsm_config *config);

#ifdef __cplusplus
}
#endif

#endif /* NXSM_NETX_H */
