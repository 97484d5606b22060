/*
 * nx-security-module: drop-in replacement for the NetX Duo Azure IoT security module API.
 *
 * Applications keep calling nx_azure_iot_security_module_enable()/_disable() exactly as
 * before. NetX Duo v6.4.0 and later no longer call them from nx_azure_iot_create() /
 * nx_azure_iot_delete(): the application calls enable after nx_azure_iot_create() and
 * disable before nx_azure_iot_delete(). The work is done by
 * the nx-security-module core (native API: nx_security_module.h). Compile this header and
 * the shim against your own NetX Duo / ThreadX / Azure IoT headers and nx_user.h.
 *
 * What goes to the cloud: once a second the middleware's cloud helper thread polls the
 * core and hands the messages it has queued (oldest first, at most NXSM_MAX_SENDS_PER_POLL,
 * default 4, per second) to every CONNECTED IoT Hub client of the instance as
 * device-to-cloud telemetry, one copy per device identity (a client with the hub host name
 * and device id of one that already took the message is skipped). Each copy carries the
 * properties nxsm=1 and $.ct=application/x-nxsm; the body is the binary format of
 * docs/wire-format.md. A message no client took stays queued and is retried after the
 * retry interval; messages collected while no hub is connected wait in the core's bounded
 * outbox (the oldest are dropped, and counted, when it is full). The ThreadX and NetX Duo
 * versions of the headers the shim is compiled with are reported in system information.
 * Compile-time options of the shim besides the run-time settings' NXSM_* macros:
 * NXSM_MAX_SENDS_PER_POLL, NXSM_MAX_HUB_DEVICES (clients one send round remembers for the
 * identity check, default 8) and NXSM_COLLECTORS (nxsm_config.collectors bits, default
 * NXSM_COLLECTORS_ALL).
 */
#ifndef NX_AZURE_IOT_SECURITY_MODULE_H
#define NX_AZURE_IOT_SECURITY_MODULE_H

#include "nx_api.h"
#include "nx_azure_iot.h"

/* Network activity is captured through NX_IP packet filters, which NetX Duo only has when
   built with NX_ENABLE_IP_PACKET_FILTER (the module it replaces required the same). */
#ifndef NX_ENABLE_IP_PACKET_FILTER
#error \
    "nx-security-module needs NetX Duo built with NX_ENABLE_IP_PACKET_FILTER: define it in nx_user.h (or on the compiler command line for every NetX Duo and application file)."
#endif

#ifdef __cplusplus
extern "C"
{
#endif

    /* Where the module stands (same values as the native nxsm_state). */
    typedef enum security_module_state
    {
        SECURITY_MODULE_STATE_NOT_INITIALIZED = 0, /* not enabled, or disabled again */
        SECURITY_MODULE_STATE_PENDING = 1,         /* collecting; no IoT Hub connected yet */
        SECURITY_MODULE_STATE_ACTIVE = 2,          /* collecting and sending to a connected hub */
        SECURITY_MODULE_STATE_SUSPENDED = 3        /* no hub for too long: collection paused */
    } security_module_state_t;

    /*
 * Starts the security module for nx_azure_iot_ptr (there is one module per device). Call
 * it after nx_azure_iot_create() (which, since NetX Duo v6.4.0, does not call it).
 * Threads only.
 *
 * Returns NX_AZURE_IOT_SUCCESS when it is running for this instance, also if it already was;
 * NX_AZURE_IOT_INVALID_PARAMETER for NULL or while it runs for another instance (which keeps
 * running); NX_AZURE_IOT_FAILURE when the unix time callback fails or reports (ULONG)-1, or
 * while another thread is enabling/disabling it; or the NetX status of a failed cloud module
 * registration. On failure nothing is left registered or running.
 */
    UINT nx_azure_iot_security_module_enable(NX_AZURE_IOT *nx_azure_iot_ptr);

    /*
 * Stops the security module. NULL means "whichever instance it runs for". Call it before
 * nx_azure_iot_delete() (which, since NetX Duo v6.4.0, does not call it). Threads only.
 *
 * Returns NX_AZURE_IOT_SUCCESS when it is stopped afterwards (also when it was not running);
 * NX_AZURE_IOT_INVALID_PARAMETER for a non-NULL instance other than the one it runs for
 * (which keeps running); NX_AZURE_IOT_FAILURE while another thread is enabling/disabling it.
 */
    UINT nx_azure_iot_security_module_disable(NX_AZURE_IOT *nx_azure_iot_ptr);

#ifdef __cplusplus
}
#endif

#endif /* NX_AZURE_IOT_SECURITY_MODULE_H */
