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

    /*
 * MQTT transport on NetX Duo's own MQTT client (addons/mqtt, nxd_mqtt_client.h). Built when
 * the shim is built with CMake option NXSM_MQTT (shim/nxsm_netx_mqtt.c); needs nothing of
 * Azure. For a firmware on the native API (nx_security_module.h):
 *
 *   nxsm_start(...); nxsm_netx_hooks_install(...);
 *   (create and connect an NXD_MQTT_CLIENT: the application owns it and its connection)
 *   nxsm_netx_mqtt_attach(&client, "dev-1");
 *   every second, on one thread:  nxsm_netx_mqtt_poll(unix_time);
 *   ...
 *   nxsm_netx_mqtt_detach(); nxsm_netx_hooks_remove(); nxsm_stop();
 *
 * nxsm_netx_mqtt_poll replaces the application's own nxsm_poll(): it polls the core (hub
 * connected = the client is NXD_MQTT_CLIENT_STATE_CONNECTED), then publishes up to
 * NXSM_MAX_SENDS_PER_POLL (default 4) queued messages, oldest first, each as one PUBLISH
 * (QoS 1, not retained) of its bytes unchanged to "nxsm/<device id>/v1". A publish waits
 * at most NXSM_MQTT_WAIT_OPTION ticks (default 2) per NetX call. A message the client
 * took is acknowledged as sent (the client retransmits it until the broker's PUBACK); one
 * it refused is acknowledged as failed: the core keeps it, the poll stops publishing, and
 * the message goes out again first after retry_interval_s. While the client is not
 * connected nothing is published or acknowledged. Delivery is at least once: a message
 * whose TCP send failed after the client queued it for retransmission may arrive twice
 * (the gateway reports duplicates).
 */

/* Longest device id (bytes): what the gateway accepts as a topic level. */
#define NXSM_NETX_MQTT_DEVICE_ID_MAX 128u

/* Results of the nxsm_netx_mqtt_* functions. */
#define NXSM_NETX_MQTT_SUCCESS           0u
#define NXSM_NETX_MQTT_NULL_ARGUMENT     1u /* client or device id NULL */
#define NXSM_NETX_MQTT_INVALID_DEVICE_ID 2u /* empty, too long, or a byte outside 0x20..0x7E, or '/', '+', '#' */
#define NXSM_NETX_MQTT_ALREADY_ATTACHED  3u /* detach first */
#define NXSM_NETX_MQTT_NOT_ATTACHED      4u
#define NXSM_NETX_MQTT_BUSY              5u /* an attach, detach or poll runs in another thread */
#define NXSM_NETX_MQTT_POLL_FAILED       6u /* nxsm_poll did not return NXSM_OK (last_poll_result) */

    struct NXD_MQTT_CLIENT_STRUCT; /* NXD_MQTT_CLIENT of nxd_mqtt_client.h */

    /*
 * Publishes the module's messages with `client` (created by the application; it may
 * connect before or after) to "nxsm/<device_id>/v1". device_id is copied: 1 to
 * NXSM_NETX_MQTT_DEVICE_ID_MAX printable ASCII characters (0x20..0x7E) other than '/', '+'
 * and '#'. Returns NXSM_NETX_MQTT_SUCCESS, NULL_ARGUMENT, INVALID_DEVICE_ID,
 * ALREADY_ATTACHED (nothing changes) or BUSY. Threads only.
 */
    UINT nxsm_netx_mqtt_attach(struct NXD_MQTT_CLIENT_STRUCT *client, const CHAR *device_id);

    /*
 * Stops publishing: waits (a tick at a time) for a poll running in another thread to
 * finish, after which the module never touches the client again (the application may
 * disconnect and delete it). Messages not published stay queued in the core. Returns
 * SUCCESS, NOT_ATTACHED or BUSY. Threads only; not from inside a poll.
 */
    UINT nxsm_netx_mqtt_detach(VOID);

    /*
 * One poll of the module and the publishing that follows (see above): call about once a
 * second from one thread, with the unix time in seconds (NXSM_TIME_UNAVAILABLE when there
 * is no clock). Returns SUCCESS, NOT_ATTACHED (nothing done), BUSY (another poll or a
 * detach runs: nothing done) or POLL_FAILED (nxsm_poll's result is in last_poll_result;
 * queued messages were still published).
 */
    UINT nxsm_netx_mqtt_poll(ULONG now_s);

    /* What the MQTT transport did, since boot. */
    typedef struct
    {
        ULONG messages_published; /* publishes the client took (acknowledged as sent) */
        ULONG messages_failed;    /* publishes it refused (acknowledged as failed: kept, retried) */
        ULONG polls;              /* nxsm_netx_mqtt_poll calls that polled the core */
        UINT last_failure_status; /* NXD_MQTT_* / NetX status of the last failed publish (0: none) */
        UINT last_poll_result;    /* nxsm_result of the last nxsm_poll */
        UINT attached;            /* NX_TRUE while a client is attached */
    } nxsm_netx_mqtt_status;

    /* Copies the MQTT transport's counters to status (nothing happens for NULL). Any context. */
    VOID nxsm_netx_mqtt_status_get(nxsm_netx_mqtt_status *status);

#ifdef __cplusplus
}
#endif

#endif /* NXSM_NETX_H */
