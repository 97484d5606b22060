/*
 * Simulator of the NetX Duo application interface (nx-security-module C harness).
 *
 * Same header name, type names, field names and constant values as documented NetX Duo,
 * reduced to the surface the security-module shim touches: the NX_IP packet filter and
 * transport receive hooks, the created-IP list, packets, and return codes. Structures keep
 * only the fields that surface needs (their layout is the simulator's own; code must use
 * field names, never offsets). Written from the public documentation.
 */
#ifndef NX_API_H
#define NX_API_H

#include <stdlib.h> /* rand/srand behind NX_RAND/NX_SRAND */

#include "nx_port.h"
#include "tx_api.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* Release this simulator stands in for. */
#define AZURE_RTOS_NETXDUO
#define NETXDUO_MAJOR_VERSION 6
#define NETXDUO_MINOR_VERSION 4
#define NETXDUO_PATCH_VERSION 1
#define EL_PRODUCT_NETXDUO
#define __PRODUCT_NETXDUO__

/* Random source NetX and its add-ons use; a project may override it in nx_user.h. */
#ifndef NX_RAND
#define NX_RAND rand
#endif
#ifndef NX_SRAND
#define NX_SRAND srand
#endif

/* IPv6 is part of NetX Duo unless the build opts out, as in the real nx_api.h. */
#ifndef NX_DISABLE_IPV6
#ifndef FEATURE_NX_IPV6
#define FEATURE_NX_IPV6
#endif
#endif
#ifdef NX_DISABLE_IPV6
#undef FEATURE_NX_IPV6
#endif

/* Interface and address table sizes (real defaults are smaller; the replay tool gives one
   interface per --local IPv4 address). */
#ifndef NX_MAX_PHYSICAL_INTERFACES
#define NX_MAX_PHYSICAL_INTERFACES 8
#endif
#ifndef NX_MAX_IPV6_ADDRESSES
#define NX_MAX_IPV6_ADDRESSES (NX_MAX_PHYSICAL_INTERFACES * 3)
#endif

/* Socket tables (same defaults as NetX Duo; a project may override the listen count). */
#define NX_UDP_PORT_TABLE_SIZE 32
#define NX_UDP_PORT_TABLE_MASK (NX_UDP_PORT_TABLE_SIZE - 1)
#define NX_TCP_PORT_TABLE_SIZE 32
#define NX_TCP_PORT_TABLE_MASK (NX_TCP_PORT_TABLE_SIZE - 1)
#ifndef NX_MAX_LISTEN_REQUESTS
#define NX_MAX_LISTEN_REQUESTS 10
#endif

/* General constants. */
#define NX_NULL             0
#define NX_FALSE            0
#define NX_TRUE             1
#define NX_NO_WAIT          0
#define NX_WAIT_FOREVER     ((ULONG)0xFFFFFFFF)
#define NX_IP_PERIODIC_RATE TX_TIMER_TICKS_PER_SECOND
#define NX_ANY_PORT         0
#define NX_MAX_PORT         0xFFFF
#define NX_IP_NORMAL        ((ULONG)0x00000000)
#define NX_FRAGMENT_OKAY    ((ULONG)0x00000000)

/* TCP socket states (nx_tcp_socket_state). */
#define NX_TCP_CLOSED       1
#define NX_TCP_LISTEN_STATE 2
#define NX_TCP_SYN_SENT     3
#define NX_TCP_SYN_RECEIVED 4
#define NX_TCP_ESTABLISHED  5
#define NX_TCP_CLOSE_WAIT   6

/* Direction argument of the IP packet filters. */
#define NX_IP_PACKET_IN  0
#define NX_IP_PACKET_OUT 1

/* IP versions as stored in the header's version nibble and in nx_packet_ip_version. */
#define NX_IP_VERSION_V4 0x4
#define NX_IP_VERSION_V6 0x6

/* Protocol / IPv6 next-header numbers. */
#define NX_PROTOCOL_NEXT_HEADER_HOP_BY_HOP     0
#define NX_PROTOCOL_ICMP                       1
#define NX_PROTOCOL_IGMP                       2
#define NX_PROTOCOL_TCP                        6
#define NX_PROTOCOL_UDP                        17
#define NX_PROTOCOL_NEXT_HEADER_ROUTING        43
#define NX_PROTOCOL_NEXT_HEADER_FRAGMENT       44
#define NX_PROTOCOL_NEXT_HEADER_AUTHENTICATION 51
#define NX_PROTOCOL_ICMPV6                     58
#define NX_PROTOCOL_NO_NEXT_HEADER             59
#define NX_PROTOCOL_NEXT_HEADER_DESTINATION    60

/* API return values. */
#define NX_SUCCESS            0x00
#define NX_NO_PACKET          0x01
#define NX_UNDERFLOW          0x02
#define NX_OVERFLOW           0x03
#define NX_NO_MAPPING         0x04
#define NX_DELETED            0x05
#define NX_POOL_ERROR         0x06
#define NX_PTR_ERROR          0x07
#define NX_WAIT_ERROR         0x08
#define NX_SIZE_ERROR         0x09
#define NX_OPTION_ERROR       0x0a
#define NX_DELETE_ERROR       0x10
#define NX_CALLER_ERROR       0x11
#define NX_INVALID_PACKET     0x12
#define NX_INVALID_SOCKET     0x13
#define NX_NOT_ENABLED        0x14
#define NX_ALREADY_ENABLED    0x15
#define NX_NOT_SUCCESSFUL     0x43
#define NX_INVALID_PARAMETERS 0x4D
#define NX_NO_MORE_ENTRIES    0x17
#define NX_INVALID_INTERFACE  0x4C
#define NX_IP_ADDRESS_ERROR   0x21
#define NX_ENTRY_NOT_FOUND    0x16
#define NX_ALREADY_BOUND      0x22
#define NX_PORT_UNAVAILABLE   0x23
#define NX_NOT_BOUND          0x24
#define NX_MAX_LISTEN         0x33
#define NX_DUPLICATE_LISTEN   0x34
#define NX_NOT_CLOSED         0x35
#define NX_NOT_LISTEN_STATE   0x36
#define NX_NOT_CONNECTED      0x38
#define NX_STILL_BOUND        0x42
#define NX_INVALID_PORT       0x46

/* Special IPv4 addresses (host byte order, as NetX keeps addresses). */
#define NX_IP_LIMITED_BROADCAST ((ULONG)0xFFFFFFFF)
#define NX_IP_LOOPBACK_FIRST    ((ULONG)0x7F000000)
#define NX_IP_LOOPBACK_LAST     ((ULONG)0x7FFFFFFF)
#define NX_IP_CLASS_D_MASK      ((ULONG)0xF0000000)
#define NX_IP_CLASS_D_TYPE      ((ULONG)0xE0000000)

/* States of an IPv6 address entry (the simulator skips DAD: set addresses are VALID). */
#define NX_IPV6_ADDR_STATE_UNKNOWN 0x00
#define NX_IPV6_ADDR_STATE_VALID   0x05

/* Swaps the four words of an IPv6 address held as ULONG[4] between host and network order. */
#define NX_IPV6_ADDRESS_CHANGE_ENDIAN(addr) \
    {                                       \
        NX_CHANGE_ULONG_ENDIAN((addr)[0]);  \
        NX_CHANGE_ULONG_ENDIAN((addr)[1]);  \
        NX_CHANGE_ULONG_ENDIAN((addr)[2]);  \
        NX_CHANGE_ULONG_ENDIAN((addr)[3]);  \
    }

    struct NX_IP_STRUCT;
    struct NX_PACKET_STRUCT;

    /* Packet pool: the simulator only needs it as a type (nx_azure_iot_create takes one). */
    typedef struct NX_PACKET_POOL_STRUCT
    {
        ULONG nx_packet_pool_id;
        CHAR *nx_packet_pool_name;
        ULONG nx_packet_pool_payload_size;
    } NX_PACKET_POOL;

    /* One packet buffer; a packet is a chain of these linked by nx_packet_next. */
    typedef struct NX_PACKET_STRUCT
    {
        NX_PACKET_POOL *nx_packet_pool_owner;
        struct NX_PACKET_STRUCT *nx_packet_queue_next;
        struct NX_PACKET_STRUCT *nx_packet_next; /* next buffer of this packet */
        struct NX_PACKET_STRUCT *nx_packet_last; /* last buffer of this packet */
        UCHAR *nx_packet_data_start;
        UCHAR *nx_packet_data_end;
        UCHAR *nx_packet_prepend_ptr; /* first valid byte */
        UCHAR *nx_packet_append_ptr;  /* one past the last valid byte of this buffer */
        ULONG nx_packet_length;       /* total valid bytes over the whole chain */
        UCHAR nx_packet_ip_version;
        UCHAR nx_packet_identical_copy;
        UCHAR nx_packet_ip_header_length;
        UCHAR nx_packet_reserved;
        UCHAR *nx_packet_ip_header; /* start of the IP header in this buffer */
    } NX_PACKET;

    /* An IP address of either version (NetX Duo "nxd" services take this). Addresses are in
   host byte order. */
    typedef struct NXD_ADDRESS_STRUCT
    {
        ULONG nxd_ip_version; /* NX_IP_VERSION_V4 or NX_IP_VERSION_V6 */
        union
        {
            ULONG v4;
            ULONG v6[4];
        } nxd_ip_address;
    } NXD_ADDRESS;

    /* One network interface of an IP instance: its IPv4 address (host byte order). */
    typedef struct NX_INTERFACE_STRUCT
    {
        CHAR *nx_interface_name;
        UCHAR nx_interface_valid;
        ULONG nx_interface_ip_address;
        ULONG nx_interface_ip_network_mask;
        ULONG nx_interface_ip_network;
    } NX_INTERFACE;

#ifdef FEATURE_NX_IPV6
    /* One IPv6 address of an IP instance (host byte order words). */
    typedef struct NXD_IPV6_ADDRESS_STRUCT
    {
        UCHAR nxd_ipv6_address_valid;
        UCHAR nxd_ipv6_address_state; /* NX_IPV6_ADDR_STATE_* */
        UCHAR nxd_ipv6_address_prefix_length;
        UCHAR nxd_ipv6_address_index;
        ULONG nxd_ipv6_address[4];
        NX_INTERFACE *nxd_ipv6_address_attached;
    } NXD_IPV6_ADDRESS;
#endif

    /* UDP socket: what binding and the port table use. */
    typedef struct NX_UDP_SOCKET_STRUCT
    {
        ULONG nx_udp_socket_id;
        CHAR *nx_udp_socket_name;
        UINT nx_udp_socket_port; /* bound port */
        struct NX_IP_STRUCT *nx_udp_socket_ip_ptr;
        /* Circular list of the sockets bound on one hashed port index of the port table. */
        struct NX_UDP_SOCKET_STRUCT *nx_udp_socket_bound_next, *nx_udp_socket_bound_previous;
        struct NX_UDP_SOCKET_STRUCT *nx_udp_socket_created_next, *nx_udp_socket_created_previous;
    } NX_UDP_SOCKET;

    /* TCP socket: binding, state and the connection's peer (addresses in host order). */
    typedef struct NX_TCP_SOCKET_STRUCT
    {
        ULONG nx_tcp_socket_id;
        CHAR *nx_tcp_socket_name;
        UINT nx_tcp_socket_client_type;
        UINT nx_tcp_socket_port; /* bound (or listened) port */
        NXD_ADDRESS nx_tcp_socket_connect_ip;
        UINT nx_tcp_socket_connect_port;
        struct NX_INTERFACE_STRUCT *nx_tcp_socket_connect_interface;
        UINT nx_tcp_socket_state; /* NX_TCP_CLOSED, ... */
        struct NX_IP_STRUCT *nx_tcp_socket_ip_ptr;
        struct NX_TCP_SOCKET_STRUCT *nx_tcp_socket_bound_next, *nx_tcp_socket_bound_previous;
        struct NX_TCP_SOCKET_STRUCT *nx_tcp_socket_created_next, *nx_tcp_socket_created_previous;
#ifdef FEATURE_NX_IPV6
        struct NXD_IPV6_ADDRESS_STRUCT *nx_tcp_socket_ipv6_addr; /* local address of an IPv6 connection */
#endif
    } NX_TCP_SOCKET;

    /* One listen request (nx_tcp_server_socket_listen); active ones form a circular list. */
    typedef struct NX_TCP_LISTEN_STRUCT
    {
        UINT nx_tcp_listen_port;
        VOID (*nx_tcp_listen_callback)(NX_TCP_SOCKET *socket_ptr, UINT port);
        NX_TCP_SOCKET *nx_tcp_listen_socket_ptr; /* NX_NULL once a connection took it */
        ULONG nx_tcp_listen_queue_maximum;
        struct NX_TCP_LISTEN_STRUCT *nx_tcp_listen_next, *nx_tcp_listen_previous;
    } NX_TCP_LISTEN;

    /* IP instance. */
    typedef struct NX_IP_STRUCT
    {
        ULONG nx_ip_id;
        CHAR *nx_ip_name;
        TX_MUTEX nx_ip_protection;
        NX_PACKET_POOL *nx_ip_default_packet_pool;
        NX_INTERFACE nx_ip_interface[NX_MAX_PHYSICAL_INTERFACES];
#ifdef FEATURE_NX_IPV6
        NXD_IPV6_ADDRESS nx_ipv6_address[NX_MAX_IPV6_ADDRESSES];
#endif

        /* Transport dispatch; NULL means the protocol is not enabled on this IP. As in NetX
       Duo, IPv4 ICMP is dispatched to nx_ip_icmp_packet_receive but ICMPv6 goes straight
       to nx_ip_icmpv6_packet_process. */
        void (*nx_ip_icmp_packet_receive)(struct NX_IP_STRUCT *, struct NX_PACKET_STRUCT *);
        void (*nx_ip_udp_packet_receive)(struct NX_IP_STRUCT *, struct NX_PACKET_STRUCT *);
        void (*nx_ip_tcp_packet_receive)(struct NX_IP_STRUCT *, struct NX_PACKET_STRUCT *);
#ifdef FEATURE_NX_IPV6
        void (*nx_ip_icmpv6_packet_process)(struct NX_IP_STRUCT *, NX_PACKET *);
#endif

#ifdef NX_ENABLE_IP_PACKET_FILTER
        /* Called with the IP header on input and output; a non-NX_SUCCESS return drops. */
        UINT (*nx_ip_packet_filter)(VOID *ip_header_ptr, UINT direction);
        UINT (*nx_ip_packet_filter_extended)(struct NX_IP_STRUCT *, struct NX_PACKET_STRUCT *, UINT direction);
#endif

        /* Socket tables, changed under nx_ip_protection (and interrupts disabled) as in NetX. */
        NX_UDP_SOCKET *nx_ip_udp_port_table[NX_UDP_PORT_TABLE_SIZE];
        NX_UDP_SOCKET *nx_ip_udp_created_sockets_ptr;
        ULONG nx_ip_udp_created_sockets_count;
        NX_TCP_SOCKET *nx_ip_tcp_port_table[NX_TCP_PORT_TABLE_SIZE];
        NX_TCP_SOCKET *nx_ip_tcp_created_sockets_ptr;
        ULONG nx_ip_tcp_created_sockets_count;
        NX_TCP_LISTEN nx_ip_tcp_server_listen_reqs[NX_MAX_LISTEN_REQUESTS];
        NX_TCP_LISTEN *nx_ip_tcp_available_listen_requests; /* free list (NX_NULL-terminated) */
        NX_TCP_LISTEN *nx_ip_tcp_active_listen_requests;    /* circular */

        /* Circular list of created IP instances (head: _nx_ip_created_ptr in nx_ip.h). */
        struct NX_IP_STRUCT *nx_ip_created_next;
        struct NX_IP_STRUCT *nx_ip_created_previous;
    } NX_IP;

    /* Enable a transport on an IP instance: installs its receive routine. nx_icmp_enable
   enables ICMPv4 only; nxd_icmp_enable enables ICMPv4 and (with IPv6) ICMPv6. */
    UINT nx_icmp_enable(NX_IP *ip_ptr);
    UINT nxd_icmp_enable(NX_IP *ip_ptr);
    UINT nx_udp_enable(NX_IP *ip_ptr);
    UINT nx_tcp_enable(NX_IP *ip_ptr);

    /* Sets the IPv4 address and network mask (host byte order) of interface interface_index
   and marks the interface valid. */
    UINT nx_ip_interface_address_set(NX_IP *ip_ptr, UINT interface_index, ULONG ip_address, ULONG network_mask);
#ifdef FEATURE_NX_IPV6
    /* Adds an IPv6 address on interface if_index; the simulator has no DAD, so the address is
   VALID at once. address_index (optional) receives its slot. */
    UINT nxd_ipv6_address_set(NX_IP *ip_ptr, UINT if_index, NXD_ADDRESS *ip_address, ULONG prefix_length,
                              UINT *address_index);
#endif

    /* Sockets (nx_socket_sim.c): NetX Duo's services with its checks and return codes, each
   under the IP's protection mutex. A TCP socket gets connected with the simulator's
   sim_tcp_socket_establish() (sim_control.h), standing in for the handshake. */
    UINT nx_udp_socket_create(NX_IP *ip_ptr, NX_UDP_SOCKET *socket_ptr, CHAR *name, ULONG type_of_service,
                              ULONG fragment, UINT time_to_live, ULONG queue_maximum);
    UINT nx_udp_socket_bind(NX_UDP_SOCKET *socket_ptr, UINT port, ULONG wait_option);
    UINT nx_udp_socket_unbind(NX_UDP_SOCKET *socket_ptr);
    UINT nx_udp_socket_delete(NX_UDP_SOCKET *socket_ptr);
    UINT nx_tcp_socket_create(NX_IP *ip_ptr, NX_TCP_SOCKET *socket_ptr, CHAR *name, ULONG type_of_service,
                              ULONG fragment, UINT time_to_live, ULONG window_size,
                              VOID (*tcp_urgent_data_callback)(NX_TCP_SOCKET *socket_ptr),
                              VOID (*tcp_disconnect_callback)(NX_TCP_SOCKET *socket_ptr));
    UINT nx_tcp_socket_delete(NX_TCP_SOCKET *socket_ptr);
    UINT nx_tcp_server_socket_listen(NX_IP *ip_ptr, UINT port, NX_TCP_SOCKET *socket_ptr, UINT listen_queue_size,
                                     VOID (*tcp_listen_callback)(NX_TCP_SOCKET *socket_ptr, UINT port));
    UINT nx_tcp_server_socket_unlisten(NX_IP *ip_ptr, UINT port);
    /* A server socket whose connection ended (or that still waits in a listen request) back
   to CLOSED, out of the port table (or the listen request). */
    UINT nx_tcp_server_socket_unaccept(NX_TCP_SOCKET *socket_ptr);
    UINT nx_tcp_client_socket_bind(NX_TCP_SOCKET *socket_ptr, UINT port, ULONG wait_option);
    UINT nx_tcp_client_socket_unbind(NX_TCP_SOCKET *socket_ptr);
    /* Ends a connection at once (the simulator has no FIN exchange): state CLOSED, still bound
   (NX_NOT_CONNECTED for a closed or listening socket). */
    UINT nx_tcp_socket_disconnect(NX_TCP_SOCKET *socket_ptr, ULONG wait_option);

    /* Gives a packet back to its pool. A telemetry packet (nx_azure_iot_hub_client.h) goes back
   to the simulated publish pool (NX_PTR_ERROR if it is not out). Other packets belong to
   the call that built them (sim_ip_receive / sim_ip_send), so for them this only counts
   the release. */
    UINT nx_packet_release(NX_PACKET *packet_ptr);

#ifdef __cplusplus
}
#endif

#endif /* NX_API_H */
