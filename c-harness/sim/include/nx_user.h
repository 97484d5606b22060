/*
 * nx_user.h of the nx-security-module host simulator: the NetX Duo options the simulated
 * stack is "built" with. Included by nx_port.h when NX_INCLUDE_USER_DEFINE_FILE is defined,
 * as in a real NetX Duo build. The simulator's CMake target also passes
 * NX_ENABLE_IP_PACKET_FILTER on the command line, so either route enables it.
 */
#ifndef NX_USER_H
#define NX_USER_H

/* The security module hooks NX_IP packet filters; NetX only has them with this option. */
#ifndef NX_ENABLE_IP_PACKET_FILTER
#define NX_ENABLE_IP_PACKET_FILTER
#endif

#endif /* NX_USER_H */
