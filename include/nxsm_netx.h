/*
 * nx-security-module: NetX Duo side of the C shim, beyond the drop-in API.
 *
 * The shim (the C files in shim/) is compiled in the application's build against its own
 * nx_api.h; these functions come with it. This header needs only nx_api.h (and ThreadX's
 * tx_api.h through it), never the Azure IoT addon.
 *
 * Packet hooks (nxsm_netx_hooks_install/_remove, always built): a firmware that uses the
 * native API (nx_security_module.h) installs them itself after nxsm_start(); the drop-in
 * nx_azure_iot_security_module_enable()/_disable() install and remove them for you.
 *
 * Drop-in configuration and hand-off (nxsm_netx_config_set, nxsm_netx_send_status_get):
 * only built when the shim is built with NetX Duo's Azure IoT addon (CMake option
 * NXSM_AZURE_IOT); without it they are not defined.
 *
 * How the hooks behave (shim/nxsm_netx_hooks.c):
 *  - install hooks every created NX_IP (up to NXSM_MAX_IP_INSTANCES, default 4; a build
 *    may define a larger value for the shim): nx_ip_packet_filter_extended always, and in
 *    unicast-only capture mode the TCP, UDP, ICMP and ICMPv6 receive routines that are
 *    enabled on that IP at that moment. Whatever was installed before is saved per IP and
 *    called after the module has looked at the packet; the application filter's verdict is
 *    returned unchanged, unless a block rule of the detection policy matches the packet:
 *    the filter then returns NX_NOT_SUCCESSFUL (NetX Duo drops it) and a receive wrapper
 *    releases it instead of delivering it. The application's filter sees every packet.
 *  - remove puts back exactly what was there, on every IP where the module's function is
 *    still installed. Where the application replaced the module's function meanwhile, its
 *    replacement is left in place (it may chain to the module's function, which keeps
 *    forwarding to what it saved and records nothing while the module is stopped), and
 *    later installs do not stack the module's function on top of it again.
 *  - protocols enabled on an IP after install, and IPs created after it, are not hooked
 *    until the next install.
 */
#ifndef NXSM_NETX_H
#define NXSM_NETX_H

#include "nx_api.h"
#include "nx_security_module.h"

#ifdef __cplusplus
extern "C"
{
#endif

    /*
 * Hooks every created NX_IP (see above) so that its packets reach nxsm_capture_out(),
 * nxsm_capture_in() or nxsm_capture_in_host_order(). capture_mode is an nxsm_capture_mode:
 * NXSM_CAPTURE_UNICAST_ONLY hooks the filter (outbound) and the transport receive
 * routines (inbound packets for this host); NXSM_CAPTURE_IP_INPUT hooks the filter only
 * (every inbound and outbound packet). Use the capture_mode the core was started with.
 * Call after nxsm_start() (packets seen before it are not recorded), once per start:
 * remove before installing again.
 *
 * Returns how many NX_IP instances are hooked (0: none created); there is no error code,
 * it cannot fail as a whole. IPs beyond the table are left alone and counted in
 * ip_not_hooked (nxsm_netx_hook_status_get). Threads only: it takes each IP's protection
 * mutex, so never from an ISR, a timer or with interrupts disabled.
 *
 * It also sets the inventory source (nxsm_set_inventory_source): the core's polls then read
 * the listening TCP ports, bound UDP ports and established connections of the hooked IPs
 * from NetX Duo's own tables, each IP's protection mutex taken for at most 5 ticks, and
 * count IPs left unhooked and hooks the application replaced.
 */
    ULONG nxsm_netx_hooks_install(UINT capture_mode);

    /*
 * Puts back, on every IP install hooked that still exists, the packet filter and receive
 * routines install saved, where the module's function is still in place (see above). Safe
 * when nothing is hooked. Call before nxsm_stop(): a hook left installed keeps calling a
 * stopped core (harmless, but every packet pays for it). Clears the inventory source first.
 * Threads only, as install.
 */
    VOID nxsm_netx_hooks_remove(VOID);

    /* What the hooks did; read with nxsm_netx_hook_status_get(). */
    typedef struct
    {
        ULONG ip_hooked;           /* NX_IP instances hooked by the last install (0 after remove) */
        ULONG ip_not_hooked;       /* created NX_IP instances the last install had to leave alone
                                  because the table (NXSM_MAX_IP_INSTANCES) was full */
        ULONG hooks_left_replaced; /* hooks found replaced by the application at a remove and left
                                  in place, since boot */
        ULONG capture_mode;        /* nxsm_capture_mode of the last install */
    } nxsm_netx_hook_status;

    /* Copies the hook status to status (nothing happens for NULL). Any context. */
    VOID nxsm_netx_hook_status_get(nxsm_netx_hook_status *status);

    /*
 * Azure IoT addon builds only. How the shim hands the core's messages to the IoT Hub
 * clients. On every cloud tick, after
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
 * Azure IoT addon builds only. Sets the configuration the next
 * nx_azure_iot_security_module_enable() starts the core
 * with (a running module keeps its configuration until it is disabled). NULL goes back to
 * the defaults plus the compile-time NXSM_* overrides. Returns NXSM_OK, or the error of
 * nxsm_config_validate() (nothing is changed then). Threads only.
 */
    nxsm_result nxsm_netx_config_set(const nxsm_config *config);

    /*
 * Loads the detection policy built into flash with the CMake option NXSM_POLICY_FILE (a
 * JSON policy compiled by nxsm-policy at build time; the build fails if it has an error or
 * exceeds NXSM_POLICY_BYTES). Only defined in such a build. The drop-in
 * nx_azure_iot_security_module_enable() calls it after starting the core; a firmware on the
 * native API calls it itself, after nxsm_start() or before. Returns what nxsm_policy_load()
 * returns.
 */
    nxsm_result nxsm_policy_load_builtin(void);

#ifdef __cplusplus
}
#endif

#endif /* NXSM_NETX_H */
