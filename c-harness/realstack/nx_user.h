/* NetX Duo's own 64-bit host configuration (ThreadX Linux port), plus what the module's
   hooks need (the IP packet filter) and what NetX Duo's Azure IoT addon needs (TLS, MQTT on
   the cloud helper, extended notify callbacks), so one build serves both programs. */
#include "netxduo64_nx_user.h"
#ifndef NX_ENABLE_IP_PACKET_FILTER
#define NX_ENABLE_IP_PACKET_FILTER
#endif
#ifndef NX_SECURE_ENABLE
#define NX_SECURE_ENABLE
#endif
#ifndef NXD_MQTT_CLOUD_ENABLE
#define NXD_MQTT_CLOUD_ENABLE
#endif
#ifndef NX_ENABLE_EXTENDED_NOTIFY_SUPPORT
#define NX_ENABLE_EXTENDED_NOTIFY_SUPPORT
#endif
