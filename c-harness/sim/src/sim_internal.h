/*
 * Private glue between the simulator's translation units: each part resets its own state.
 */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include "nx_api.h"
#include "nx_azure_iot_hub_client.h"
#include "tx_api.h"

VOID sim_clock_reset(VOID);
VOID sim_ip_reset(VOID);
VOID sim_cloud_reset(VOID);
VOID sim_hub_reset(VOID);

/* Telemetry packets (nx_azure_iot_hub_client_sim.c): whether a packet belongs to the
   simulated publish pool, and giving one back (NX_PTR_ERROR, counted as misuse, when it is
   not out). nx_packet_release() routes the pool's packets here. */
UINT sim_hub_is_pool_packet(const NX_PACKET *packet_ptr);
UINT sim_hub_packet_release(NX_PACKET *packet_ptr);
/* Drops the failures injected for a client (it is being attached afresh). */
VOID sim_hub_forget_client(const NX_AZURE_IOT_HUB_CLIENT *hub_ptr);

#endif /* SIM_INTERNAL_H */
