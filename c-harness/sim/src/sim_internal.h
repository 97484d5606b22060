/*
 * Private glue between the simulator's translation units: each part resets its own state.
 */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include "tx_api.h"

VOID sim_clock_reset(VOID);
VOID sim_ip_reset(VOID);
VOID sim_cloud_reset(VOID);

#endif /* SIM_INTERNAL_H */
