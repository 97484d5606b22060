/*
 * Size probe: the smallest firmware that uses the security module the way a NetX Duo
 * application does, built three times from this one source to measure what the library
 * adds to an image (CMakeLists.txt: nxsm_size_with, nxsm_size_without, nxsm_size_native).
 *
 *   with     the drop-in API: the simulator's nx_azure_iot_create() enables the module, as
 *            NetX Duo did before v6.4.0 (shim + Rust core),
 *            which hooks the IP instance's packet filter and receive routines; one cloud
 *            tick makes it poll once; nx_azure_iot_delete() disables it.
 *   without  the same application and simulator built with NX_AZURE_DISABLE_IOT_SECURITY_MODULE,
 *            as a NetX Duo project without the module: nothing of the library is linked.
 *   native   NXSM_SIZE_PROBE_NATIVE: no shim; the application calls the native API itself
 *            (start, one capture, one poll, hand-out, stop) on top of "without", with the
 *            bare-metal PRIMASK critical section. with - native is roughly the shim.
 *
 * The ThreadX / NetX Duo / Azure IoT stand-ins of the simulator are in every image, so
 * differences are the library alone: the application sends telemetry of its own through an
 * IoT Hub client, as every Azure IoT firmware does, so the middleware's telemetry functions
 * the shim uses are part of all three images rather than counted as the module's. No
 * printf: the result goes out as one semihosting string and the exit status
 * ("size probe: ok" / "not ok - ..."), identical in all images.
 */
#include <stdint.h>

#include "nx_api.h"
#include "nx_azure_iot.h"
#include "nx_azure_iot_hub_client.h"
#include "semihost.h"
#include "sim_control.h" /* simulator only: stands in for nx_ip_create() and friends */

#if defined(NXSM_SIZE_PROBE_NATIVE)
#include "nx_security_module.h"
#define EXPECT_CLOUD_MODULES 1u /* the middleware's own */
#define EXPECT_HOOKED        0
#elif defined(NX_AZURE_DISABLE_IOT_SECURITY_MODULE)
#define EXPECT_CLOUD_MODULES 1u
#define EXPECT_HOOKED        0
#else
#define EXPECT_CLOUD_MODULES 2u /* the middleware's and the security module's */
#define EXPECT_HOOKED        1
#endif

#define PROBE_UNIX_TIME 1717171717ul

static UINT unix_time_get(ULONG *unix_time)
{
    *unix_time = PROBE_UNIX_TIME;
    return NX_AZURE_IOT_SUCCESS;
}

static NX_IP ip;
static NX_PACKET_POOL pool;
static NX_DNS dns;
static NX_AZURE_IOT iot;
static NX_AZURE_IOT_HUB_CLIENT hub;
static ULONG iot_stack[256];

/* The application's own device-to-cloud message. */
static int send_telemetry(void)
{
    static const UCHAR payload[] = "{\"temperature\":21.5}";
    NX_PACKET *packet = NX_NULL;
    if (nx_azure_iot_hub_client_telemetry_message_create(&hub, &packet, NX_WAIT_FOREVER) != NX_AZURE_IOT_SUCCESS)
    {
        return 0;
    }
    if (nx_azure_iot_hub_client_telemetry_property_add(packet, (const UCHAR *)"unit", 4, (const UCHAR *)"C", 1,
                                                       NX_WAIT_FOREVER) != NX_AZURE_IOT_SUCCESS ||
        nx_azure_iot_hub_client_telemetry_send(&hub, packet, payload, sizeof payload - 1u, NX_WAIT_FOREVER) !=
            NX_AZURE_IOT_SUCCESS)
    {
        (void)nx_azure_iot_hub_client_telemetry_message_delete(packet);
        return 0;
    }
    return 1;
}

#if defined(NXSM_SIZE_PROBE_NATIVE)
/* What the application does itself without the shim: start the core, hand it a packet as a
   hook would, poll, pass messages on, stop. */
static int native_module(void)
{
    static const uint8_t syn[40] = {0x45, 0, 0,  40,  0,  1,   0x40, 0,    64,   6,    0,    0,           192,
                                    0,    2, 10, 198, 51, 100, 7,    0xc0, 0x00, 0x01, 0xbb, [32] = 0x50, [33] = 0x02};
    nxsm_config config;
    const uint8_t *bytes;
    size_t length;
    uint32_t sequence;
    int ok = nxsm_config_default(&config) == NXSM_OK && nxsm_start(&config, PROBE_UNIX_TIME, 0) == NXSM_OK;
    ok = ok && nxsm_capture(syn, sizeof syn, NXSM_DIRECTION_OUT, NXSM_HEADER_NETWORK_ORDER) == NXSM_OK;
    ok = ok && nxsm_poll(PROBE_UNIX_TIME + 1u, true) == NXSM_OK;
    while (ok && nxsm_message_peek(&bytes, &length, &sequence) == NXSM_OK)
    {
        ok = nxsm_message_ack(sequence, true) == NXSM_OK;
    }
    return ok && nxsm_stop() == NXSM_OK;
}
#endif

int main(void)
{
    int ok = sim_ip_create(&ip, "probe ip") == NX_SUCCESS;
    ok = ok && nx_tcp_enable(&ip) == NX_SUCCESS && nx_udp_enable(&ip) == NX_SUCCESS &&
         nxd_icmp_enable(&ip) == NX_SUCCESS;

    /* Creating the middleware enables the security module (unless it is compiled out). */
    ok = ok && nx_azure_iot_create(&iot, (const UCHAR *)"probe", &ip, &pool, &dns, iot_stack, sizeof iot_stack, 3,
                                   unix_time_get) == NX_AZURE_IOT_SUCCESS;
    ok = ok && sim_cloud_registered_count() == EXPECT_CLOUD_MODULES;
    ok = ok && (ip.nx_ip_packet_filter_extended != NX_NULL) == EXPECT_HOOKED;

    /* The application's IoT Hub client, connected, sends its telemetry. */
    ok = ok &&
         sim_hub_client_attach(&hub, &iot, "probe.azure-devices.net", "probe-device", NX_NULL) == NX_AZURE_IOT_SUCCESS;
    sim_hub_client_set_state(&hub, NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED);
    ok = ok && send_telemetry() && sim_hub_sent_count() == 1u;

    /* One second of the cloud helper thread: the module polls once (nothing is due yet). */
    const ULONG calls = sim_cloud_process_calls();
    sim_cloud_tick();
    ok = ok && sim_cloud_process_calls() - calls == EXPECT_CLOUD_MODULES;

#if defined(NXSM_SIZE_PROBE_NATIVE)
    ok = ok && native_module();
#endif

    /* Deleting the middleware disables the module and removes its hooks. */
    ok = ok && sim_hub_client_detach(&hub) == NX_AZURE_IOT_SUCCESS;
    ok = ok && nx_azure_iot_delete(&iot) == NX_AZURE_IOT_SUCCESS;
    ok = ok && ip.nx_ip_packet_filter_extended == NX_NULL;

    nxsm_semihost_write0(ok ? "size probe: ok\n" : "not ok - size probe\n");
    return ok ? 0 : 1;
}
