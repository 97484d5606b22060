/*
 * Test-control interface of the nx-security-module simulator. Everything here is
 * simulator-only (prefix sim_): tests use it to reset state, drive time, deliver cloud
 * events, inject failures and set up IP instances and hub clients. Shim code must never
 * include it.
 */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include "nx_api.h"
#include "nx_azure_iot.h"
#include "nx_azure_iot_hub_client.h"
#include "nx_cloud.h"
#include "nx_ip.h"

#ifdef __cplusplus
extern "C"
{
#endif

    /* Forgets every created cloud and IP instance, injected failure, counter, outstanding
   telemetry packet and sent message, and resets the simulated clock to working at
   SIM_DEFAULT_UNIX_TIME. Call between tests (after the module under test has been
   disabled). */
    VOID sim_reset(VOID);

/* ---- clock ---------------------------------------------------------------------------- */

/* Default simulated unix time after sim_reset(): 2024-01-01T00:00:00Z. */
#define SIM_DEFAULT_UNIX_TIME ((ULONG)1704067200UL)

    /* What sim_unix_time_get() reports: ok != 0 -> NX_AZURE_IOT_SUCCESS with value (which may
   be (ULONG)-1 to simulate the "no time" value); ok == 0 -> NX_AZURE_IOT_FAILURE. */
    VOID sim_set_unix_time(UINT ok, ULONG value);
    /* Moves the simulated clock forward (keeps the ok flag). */
    VOID sim_advance_time(ULONG seconds);
    /* The current simulated value, whatever the ok flag. */
    ULONG sim_unix_time_value(VOID);
    /* A unix time callback for nx_azure_iot_create() that reads the simulated clock. */
    UINT sim_unix_time_get(ULONG *unix_time);
    /* How many times sim_unix_time_get() was called since sim_reset(). */
    ULONG sim_unix_time_calls(VOID);

    /* ---- cloud helper --------------------------------------------------------------------- */

    /* Delivers NX_CLOUD_COMMON_PERIODIC_EVENT (plus pending module events) to every module of
   every created cloud, as the helper thread does once a second. Does not move the clock. */
    VOID sim_cloud_tick(VOID);
    /* sim_advance_time(1) then sim_cloud_tick(), n times. */
    VOID sim_cloud_run_seconds(ULONG n);
    /* Delivers only pending module events (set with nx_cloud_module_event_set). */
    VOID sim_cloud_process_events(VOID);
    /* Number of modules registered over all created clouds. */
    ULONG sim_cloud_registered_count(VOID);
    /* Number of registered modules (over all created clouds) whose name equals name. */
    ULONG sim_cloud_registered_named(const CHAR *name);
    /* The next nx_cloud_module_register() / _deregister() call for a module named module_name
   (NULL: any module) returns status without doing anything, after the real argument
   checks. status NX_SUCCESS cancels the injection. */
    VOID sim_cloud_fail_next_register(const CHAR *module_name, UINT status);
    VOID sim_cloud_fail_next_deregister(const CHAR *module_name, UINT status);
    /* Calls of a cloud module process routine delivered by the simulator since sim_reset(). */
    ULONG sim_cloud_process_calls(VOID);

    /* ---- IP instances --------------------------------------------------------------------- */

    /* Light nx_ip_create(): marks ip created, links it into _nx_ip_created_ptr/_count, creates
   its protection mutex. Transports are enabled separately (nx_tcp_enable etc.).
   NX_PTR_ERROR for NULL or an already created ip. */
    UINT sim_ip_create(NX_IP *ip_ptr, CHAR *name);
    /* Unlinks a created ip. NX_PTR_ERROR for NULL or an ip that is not created. */
    UINT sim_ip_delete(NX_IP *ip_ptr);
    /* What NetX Duo does to a TCP socket when a handshake completes: a socket listening
   (nx_tcp_server_socket_listen) takes the connection, leaves its listen request and enters
   the port table; a bound client socket (nx_tcp_client_socket_bind) just connects. Either
   way it becomes NX_TCP_ESTABLISHED with peer/peer_port as its connect address and port and
   its local address the IPv4 address of interface local_index or, for an IPv6 peer, the
   IPv6 address entry local_index. NX_NOT_CLOSED (or NX_NOT_BOUND) for a socket in neither
   situation, NX_PTR_ERROR / NX_INVALID_PARAMETERS for bad arguments. */
    UINT sim_tcp_socket_establish(NX_TCP_SOCKET *socket_ptr, const NXD_ADDRESS *peer, UINT peer_port, UINT local_index);

    /* Packets that reached the simulated transport receive routines, per protocol, since
   sim_reset(). protocol is NX_PROTOCOL_TCP, _UDP, _ICMP or _ICMPV6; 0 for anything else. */
    ULONG sim_ip_transport_received(UINT protocol);

    /* What sim_ip_receive() / sim_ip_send() did with one packet. */
    typedef enum
    {
        SIM_IP_DELIVERED = 0,  /* receive: handed to the TCP/UDP/ICMP/ICMPv6 routine */
        SIM_IP_SENT,           /* send: passed the filters (would go to the driver) */
        SIM_IP_FILTER_DROPPED, /* a packet filter (legacy or extended) refused it */
        SIM_IP_NOT_FOR_US,     /* receive: destination is none of ours, not broadcast or
                                  multicast (what a promiscuous driver hands up) */
        SIM_IP_INVALID,        /* receive: bad version, lengths, header not in the first
                                  buffer, or an extension header NetX would refuse */
        SIM_IP_FRAGMENT_HELD,  /* receive: non-first fragment; the simulator has no
                                  reassembly, so it never reaches a transport */
        SIM_IP_NO_TRANSPORT,   /* receive: protocol not enabled / not handled (IGMP,
                                  IPsec, unknown) */
        SIM_IP_NO_MEMORY,      /* the simulator could not allocate the packet */
        SIM_IP_OUTCOMES
    } sim_ip_outcome;

    /* Per-outcome counts of sim_ip_receive()/sim_ip_send() since sim_reset(), plus the
   nx_packet_release() calls (packets consumed by transports or dropped by the stack). */
    typedef struct
    {
        ULONG received; /* sim_ip_receive() calls */
        ULONG sent;     /* sim_ip_send() calls */
        ULONG outcome[SIM_IP_OUTCOMES];
        ULONG released;
    } sim_ip_counters;
    VOID sim_ip_counters_get(sim_ip_counters *counters);

    /* What a link driver + NetX Duo do with one received IP packet (ip_packet: the IP header
   onwards, network order, length bytes). The packet is built as NetX would hold it: an
   NX_PACKET chain whose first buffer has first_buffer_bytes (0 or >= length: one buffer)
   and whose other buffers have at most as many, nx_packet_ip_header at the IP header.
   Then, like _nx_ip_packet_receive and _nx_ipv4/_nx_ipv6_packet_receive:
    1. legacy filter, then nx_ip_packet_filter_extended (NX_IP_PACKET_IN, network order);
       a refusal drops the packet;
    2. length checks (shorter than the IP header says: dropped; longer: trimmed);
    3. the fixed header is converted to host order exactly as NetX does (IPv4 words 0-4,
       options removed with the header length set to 5 and the total length kept; IPv6
       words 0-1 and both addresses);
    4. only packets for one of the instance's addresses, 0.0.0.0, IPv4 limited or subnet
       broadcast, 127/8, or multicast (every group is "joined") go further;
    5. non-first fragments stop here (no reassembly); a first fragment is delivered as it
       is, standing in for the reassembled datagram;
    6. IPv6 extension headers are walked as _nx_ip_dispatch_process does (hop-by-hop only
       first, at most one routing and one fragment header, each inside the first buffer);
    7. dispatch: TCP, UDP, ICMPv4 to nx_ip_tcp/udp/icmp_packet_receive, ICMPv6 to
       nx_ip_icmpv6_packet_process (NULL routine: dropped).
   Not simulated: header checksums (the interface offloads them), IPv4 option and IPv6
   option contents, IPsec, forwarding. Host only (allocates each buffer separately so
   AddressSanitizer sees any read past a buffer). */
    sim_ip_outcome sim_ip_receive(NX_IP *ip_ptr, const UCHAR *ip_packet, ULONG length, ULONG first_buffer_bytes);
    /* What _nx_ip_packet_send / _nx_ipv6_packet_send do after building the IP header: the
   legacy filter, then nx_ip_packet_filter_extended (NX_IP_PACKET_OUT, network order). The
   packet is built as for sim_ip_receive(). SIM_IP_SENT or SIM_IP_FILTER_DROPPED. */
    sim_ip_outcome sim_ip_send(NX_IP *ip_ptr, const UCHAR *ip_packet, ULONG length, ULONG first_buffer_bytes);

    /* ---- Azure IoT middleware ------------------------------------------------------------- */

    /* Prepares an NX_AZURE_IOT as nx_azure_iot_create() would, but without registering the
   middleware's own cloud module and without enabling the security module: for tests that
   call enable/disable directly. Undo with sim_azure_iot_deinit(). */
    UINT sim_azure_iot_init(NX_AZURE_IOT *nx_azure_iot_ptr, UINT (*unix_time_callback)(ULONG *));
    UINT sim_azure_iot_deinit(NX_AZURE_IOT *nx_azure_iot_ptr);

    /* Initialises hub_ptr as an IoT Hub client of nx_azure_iot_ptr with the given host name,
   device id and optional module id (NULL for none; the strings must outlive the client),
   state NOT_CONNECTED, and adds its resource to the middleware's resource list. */
    UINT sim_hub_client_attach(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, NX_AZURE_IOT *nx_azure_iot_ptr, const CHAR *host_name,
                               const CHAR *device_id, const CHAR *module_id);
    /* Removes the hub's resource from its middleware's list. */
    UINT sim_hub_client_detach(NX_AZURE_IOT_HUB_CLIENT *hub_ptr);
    /* Sets nx_azure_iot_hub_client_state (NX_AZURE_IOT_HUB_CLIENT_STATUS_*). */
    VOID sim_hub_client_set_state(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, UINT state);

/* ---- telemetry sent through the hub clients ------------------------------------------- */

/* Capacities of the simulated publish pool and of the log of sent messages. */
#define SIM_HUB_PACKETS     8u   /* telemetry packets that can be out at once */
#define SIM_HUB_TOPIC_BYTES 256u /* topic + properties one packet holds */
#define SIM_HUB_MAX_CLIENTS 8u   /* hub clients with injected failures at once */
#if TX_SIM_BARE_METAL
#define SIM_HUB_LOG_ENTRIES 32u
#define SIM_HUB_LOG_BYTES   (16u * 1024u)
#else
#define SIM_HUB_LOG_ENTRIES 2048u
#define SIM_HUB_LOG_BYTES   (1024u * 1024u)
#endif

    /* One message a hub client accepted (nx_azure_iot_hub_client_telemetry_send returned
   NX_AZURE_IOT_SUCCESS). topic is NUL-terminated; topic and payload stay valid until
   sim_hub_clear_log() or sim_reset(). */
    typedef struct
    {
        NX_AZURE_IOT_HUB_CLIENT *hub;
        const CHAR *topic; /* e.g. devices/dev-1/messages/events/nxsm=1&%24.ct=application%2Fx-nxsm */
        UINT topic_length;
        const UCHAR *payload;
        UINT payload_length;
    } sim_hub_message;

    /* Messages in the log, oldest first. The log keeps the first SIM_HUB_LOG_ENTRIES messages
   (or SIM_HUB_LOG_BYTES of topics and payloads) since the last clear; later ones are
   still accepted and counted in sim_hub_counters.log_overflow. */
    ULONG sim_hub_sent_count(VOID);
    /* Copies entry index of the log to message. NX_SUCCESS, NX_PTR_ERROR for NULL,
   NX_NOT_SUCCESSFUL for an index past the end. */
    UINT sim_hub_sent_get(ULONG index, sim_hub_message *message);
    /* Empties the log (and its overflow count); the other counters keep counting. */
    VOID sim_hub_clear_log(VOID);

    /* The next n calls of create / property_add / send for hub_ptr fail (NX_NO_PACKET /
   NX_AZURE_IOT_INSUFFICIENT_BUFFER_SPACE / NX_AZURE_IOT_FAILURE) after the argument
   checks; for send, only calls that would otherwise succeed are failed (a disconnected
   client already fails without using one up). n = 0 cancels. Reset by sim_reset() and by
   sim_hub_client_attach() of that client. */
    VOID sim_hub_fail_creates(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, ULONG n);
    VOID sim_hub_fail_property_adds(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, ULONG n);
    VOID sim_hub_fail_sends(NX_AZURE_IOT_HUB_CLIENT *hub_ptr, ULONG n);

    /* What the telemetry calls did since sim_reset(). */
    typedef struct
    {
        ULONG creates;         /* packets handed out by telemetry_message_create */
        ULONG create_failures; /* create calls that returned an error */
        ULONG property_adds;   /* successful property_add calls */
        ULONG property_add_failures;
        ULONG sends;             /* messages accepted (what the log records) */
        ULONG send_failures;     /* send calls that returned an error */
        ULONG send_disconnected; /* ... of which NX_AZURE_IOT_DISCONNECTED */
        ULONG deletes;           /* packets given back by message_delete / nx_packet_release */
        ULONG misuse;            /* calls with a packet that is not out (never created,
                                    already sent or deleted) or was created for another
                                    client: always a bug in the caller */
        ULONG outstanding;       /* packets created and neither sent nor deleted yet */
        ULONG peak_outstanding;  /* most packets out at once */
        ULONG log_overflow;      /* messages accepted but not kept by the full log */
    } sim_hub_counters;
    VOID sim_hub_counters_get(sim_hub_counters *counters);
    /* Packets created and neither sent nor deleted: must be 0 whenever the caller is idle. */
    ULONG sim_hub_packets_outstanding(VOID);

#ifdef __cplusplus
}
#endif

#endif /* SIM_CONTROL_H */
