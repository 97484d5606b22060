/* NetX Duo's own 64-bit host configuration (ThreadX Linux port), plus the IP packet filter
   the module's hooks need. */
#include "netxduo64_nx_user.h"
#ifndef NX_ENABLE_IP_PACKET_FILTER
#define NX_ENABLE_IP_PACKET_FILTER
#endif
