/*
 * Simulated NetX Duo IP instances: the created-IP list, transport enables, addresses, and
 * the receive/send paths as far as the security-module hooks see them
 * (nx-security-module C harness). Written from NetX Duo's documented behaviour.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_control.h"
#include "sim_internal.h"

NX_IP *_nx_ip_created_ptr;
ULONG _nx_ip_created_count;

/* Packets that reached each simulated transport receive routine. */
static ULONG sim_received_tcp;
static ULONG sim_received_udp;
static ULONG sim_received_icmp;
static ULONG sim_received_icmpv6;

/* What sim_ip_receive()/sim_ip_send() did, and nx_packet_release() calls. */
static sim_ip_counters sim_counters;

VOID sim_ip_reset(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip_ptr;
    ULONG i;

    TX_DISABLE
    /* Forgotten instances become "not created", so tests can create them again. */
    ip_ptr = _nx_ip_created_ptr;
    for (i = 0; i < _nx_ip_created_count && ip_ptr != NX_NULL; i++)
    {
        NX_IP *next = ip_ptr->nx_ip_created_next;

        ip_ptr->nx_ip_id = 0;
        ip_ptr->nx_ip_protection.tx_mutex_id = 0;
        ip_ptr = next;
    }
    _nx_ip_created_ptr = NX_NULL;
    _nx_ip_created_count = 0;
    sim_received_tcp = 0;
    sim_received_udp = 0;
    sim_received_icmp = 0;
    sim_received_icmpv6 = 0;
    memset(&sim_counters, 0, sizeof(sim_counters));
    TX_RESTORE
}

UINT nx_packet_release(NX_PACKET *packet_ptr)
{
    TX_INTERRUPT_SAVE_AREA

    if (packet_ptr == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    if (sim_hub_is_pool_packet(packet_ptr))
    {
        return sim_hub_packet_release(packet_ptr); /* a telemetry packet */
    }
    TX_DISABLE
    sim_counters.released++;
    TX_RESTORE
    return NX_SUCCESS;
}

/* The simulated transports count what they were handed and consume it, as a real
   transport does (release). */
static void sim_transport_consume(ULONG *counter, NX_PACKET *packet_ptr)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    *counter += 1u;
    TX_RESTORE
    nx_packet_release(packet_ptr);
}

static void sim_tcp_packet_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    (void)ip_ptr;
    sim_transport_consume(&sim_received_tcp, packet_ptr);
}

static void sim_udp_packet_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    (void)ip_ptr;
    sim_transport_consume(&sim_received_udp, packet_ptr);
}

static void sim_icmp_packet_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    (void)ip_ptr;
    sim_transport_consume(&sim_received_icmp, packet_ptr);
}

#ifdef FEATURE_NX_IPV6
static void sim_icmpv6_packet_process(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    (void)ip_ptr;
    sim_transport_consume(&sim_received_icmpv6, packet_ptr);
}
#endif

ULONG sim_ip_transport_received(UINT protocol)
{
    TX_INTERRUPT_SAVE_AREA
    ULONG count = 0;

    TX_DISABLE
    if (protocol == NX_PROTOCOL_TCP)
    {
        count = sim_received_tcp;
    }
    else if (protocol == NX_PROTOCOL_UDP)
    {
        count = sim_received_udp;
    }
    else if (protocol == NX_PROTOCOL_ICMP)
    {
        count = sim_received_icmp;
    }
    else if (protocol == NX_PROTOCOL_ICMPV6)
    {
        count = sim_received_icmpv6;
    }
    TX_RESTORE
    return count;
}

UINT sim_ip_create(NX_IP *ip_ptr, CHAR *name)
{
    TX_INTERRUPT_SAVE_AREA
    UINT status;
    UINT i;

    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id == NX_IP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr->nx_ip_name = name;
    ip_ptr->nx_ip_default_packet_pool = NX_NULL;
    memset(ip_ptr->nx_ip_interface, 0, sizeof(ip_ptr->nx_ip_interface));
#ifdef FEATURE_NX_IPV6
    memset(ip_ptr->nx_ipv6_address, 0, sizeof(ip_ptr->nx_ipv6_address));
    ip_ptr->nx_ip_icmpv6_packet_process = NX_NULL;
#endif
    ip_ptr->nx_ip_icmp_packet_receive = NX_NULL;
    ip_ptr->nx_ip_udp_packet_receive = NX_NULL;
    ip_ptr->nx_ip_tcp_packet_receive = NX_NULL;
    /* Empty socket tables; every listen request on the free list (NetX Duo links them in
       nx_tcp_enable; the simulator does it once here). */
    memset(ip_ptr->nx_ip_udp_port_table, 0, sizeof(ip_ptr->nx_ip_udp_port_table));
    ip_ptr->nx_ip_udp_created_sockets_ptr = NX_NULL;
    ip_ptr->nx_ip_udp_created_sockets_count = 0;
    memset(ip_ptr->nx_ip_tcp_port_table, 0, sizeof(ip_ptr->nx_ip_tcp_port_table));
    ip_ptr->nx_ip_tcp_created_sockets_ptr = NX_NULL;
    ip_ptr->nx_ip_tcp_created_sockets_count = 0;
    memset(ip_ptr->nx_ip_tcp_server_listen_reqs, 0, sizeof(ip_ptr->nx_ip_tcp_server_listen_reqs));
    for (i = 0; i + 1u < NX_MAX_LISTEN_REQUESTS; i++)
    {
        ip_ptr->nx_ip_tcp_server_listen_reqs[i].nx_tcp_listen_next = &ip_ptr->nx_ip_tcp_server_listen_reqs[i + 1u];
    }
    ip_ptr->nx_ip_tcp_available_listen_requests = &ip_ptr->nx_ip_tcp_server_listen_reqs[0];
    ip_ptr->nx_ip_tcp_active_listen_requests = NX_NULL;
#ifdef NX_ENABLE_IP_PACKET_FILTER
    ip_ptr->nx_ip_packet_filter = NX_NULL;
    ip_ptr->nx_ip_packet_filter_extended = NX_NULL;
#endif
    status = tx_mutex_create(&ip_ptr->nx_ip_protection, name, TX_NO_INHERIT);
    if (status != TX_SUCCESS)
    {
        return status;
    }

    /* Append to the circular list, as NetX does, with interrupts off so a concurrent
       walker sees either the old or the new list. */
    TX_DISABLE
    if (_nx_ip_created_ptr == NX_NULL)
    {
        ip_ptr->nx_ip_created_next = ip_ptr;
        ip_ptr->nx_ip_created_previous = ip_ptr;
        _nx_ip_created_ptr = ip_ptr;
    }
    else
    {
        ip_ptr->nx_ip_created_next = _nx_ip_created_ptr;
        ip_ptr->nx_ip_created_previous = _nx_ip_created_ptr->nx_ip_created_previous;
        _nx_ip_created_ptr->nx_ip_created_previous->nx_ip_created_next = ip_ptr;
        _nx_ip_created_ptr->nx_ip_created_previous = ip_ptr;
    }
    _nx_ip_created_count++;
    ip_ptr->nx_ip_id = NX_IP_ID;
    TX_RESTORE
    return NX_SUCCESS;
}

UINT sim_ip_delete(NX_IP *ip_ptr)
{
    TX_INTERRUPT_SAVE_AREA

    if (ip_ptr == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    TX_DISABLE
    if (ip_ptr->nx_ip_id != NX_IP_ID)
    {
        TX_RESTORE
        return NX_PTR_ERROR;
    }
    if (_nx_ip_created_count == 1)
    {
        _nx_ip_created_ptr = NX_NULL;
    }
    else
    {
        ip_ptr->nx_ip_created_previous->nx_ip_created_next = ip_ptr->nx_ip_created_next;
        ip_ptr->nx_ip_created_next->nx_ip_created_previous = ip_ptr->nx_ip_created_previous;
        if (_nx_ip_created_ptr == ip_ptr)
        {
            _nx_ip_created_ptr = ip_ptr->nx_ip_created_next;
        }
    }
    _nx_ip_created_count--;
    ip_ptr->nx_ip_id = 0;
    ip_ptr->nx_ip_created_next = NX_NULL;
    ip_ptr->nx_ip_created_previous = NX_NULL;
    TX_RESTORE
    return tx_mutex_delete(&ip_ptr->nx_ip_protection) == TX_SUCCESS ? NX_SUCCESS : NX_NOT_SUCCESSFUL;
}

/* Shared body of the three nx_*_enable services. */
static UINT sim_transport_enable(void (**slot)(NX_IP *, NX_PACKET *), void (*receive)(NX_IP *, NX_PACKET *))
{
    TX_INTERRUPT_SAVE_AREA
    UINT status = NX_SUCCESS;

    TX_DISABLE
    if (*slot != NX_NULL)
    {
        status = NX_ALREADY_ENABLED;
    }
    else
    {
        *slot = receive;
    }
    TX_RESTORE
    return status;
}

UINT nx_tcp_enable(NX_IP *ip_ptr)
{
    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id != NX_IP_ID)
    {
        return NX_PTR_ERROR;
    }
    return sim_transport_enable(&ip_ptr->nx_ip_tcp_packet_receive, sim_tcp_packet_receive);
}

UINT nx_udp_enable(NX_IP *ip_ptr)
{
    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id != NX_IP_ID)
    {
        return NX_PTR_ERROR;
    }
    return sim_transport_enable(&ip_ptr->nx_ip_udp_packet_receive, sim_udp_packet_receive);
}

UINT nx_icmp_enable(NX_IP *ip_ptr)
{
    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id != NX_IP_ID)
    {
        return NX_PTR_ERROR;
    }
    return sim_transport_enable(&ip_ptr->nx_ip_icmp_packet_receive, sim_icmp_packet_receive);
}

UINT nxd_icmp_enable(NX_IP *ip_ptr)
{
    UINT status;

    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id != NX_IP_ID)
    {
        return NX_PTR_ERROR;
    }
    /* Each half is enabled if it is not yet; ALREADY_ENABLED only if both were. */
    status = sim_transport_enable(&ip_ptr->nx_ip_icmp_packet_receive, sim_icmp_packet_receive);
#ifdef FEATURE_NX_IPV6
    if (sim_transport_enable(&ip_ptr->nx_ip_icmpv6_packet_process, sim_icmpv6_packet_process) == NX_SUCCESS)
    {
        status = NX_SUCCESS;
    }
#endif
    return status;
}

/* ---- addresses ------------------------------------------------------------------------ */

UINT nx_ip_interface_address_set(NX_IP *ip_ptr, UINT interface_index, ULONG ip_address, ULONG network_mask)
{
    TX_INTERRUPT_SAVE_AREA
    NX_INTERFACE *if_ptr;

    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id != NX_IP_ID)
    {
        return NX_PTR_ERROR;
    }
    if (interface_index >= NX_MAX_PHYSICAL_INTERFACES)
    {
        return NX_INVALID_INTERFACE;
    }
    if_ptr = &ip_ptr->nx_ip_interface[interface_index];
    TX_DISABLE
    if_ptr->nx_interface_valid = NX_TRUE;
    if_ptr->nx_interface_ip_address = ip_address;
    if_ptr->nx_interface_ip_network_mask = network_mask;
    if_ptr->nx_interface_ip_network = ip_address & network_mask;
    TX_RESTORE
    return NX_SUCCESS;
}

#ifdef FEATURE_NX_IPV6
UINT nxd_ipv6_address_set(NX_IP *ip_ptr, UINT if_index, NXD_ADDRESS *ip_address, ULONG prefix_length,
                          UINT *address_index)
{
    TX_INTERRUPT_SAVE_AREA
    UINT i;

    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id != NX_IP_ID || ip_address == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    if (ip_address->nxd_ip_version != NX_IP_VERSION_V6 || prefix_length > 128)
    {
        return NX_IP_ADDRESS_ERROR;
    }
    if (if_index >= NX_MAX_PHYSICAL_INTERFACES)
    {
        return NX_INVALID_INTERFACE;
    }
    TX_DISABLE
    for (i = 0; i < NX_MAX_IPV6_ADDRESSES; i++)
    {
        NXD_IPV6_ADDRESS *entry = &ip_ptr->nx_ipv6_address[i];

        if (entry->nxd_ipv6_address_valid)
        {
            continue;
        }
        entry->nxd_ipv6_address_valid = NX_TRUE;
        entry->nxd_ipv6_address_state = NX_IPV6_ADDR_STATE_VALID;
        entry->nxd_ipv6_address_prefix_length = (UCHAR)prefix_length;
        entry->nxd_ipv6_address_index = (UCHAR)i;
        memcpy(entry->nxd_ipv6_address, ip_address->nxd_ip_address.v6, sizeof(entry->nxd_ipv6_address));
        entry->nxd_ipv6_address_attached = &ip_ptr->nx_ip_interface[if_index];
        TX_RESTORE
        if (address_index != NX_NULL)
        {
            *address_index = i;
        }
        return NX_SUCCESS;
    }
    TX_RESTORE
    return NX_NO_MORE_ENTRIES;
}
#endif

/* ---- receive and send paths ------------------------------------------------------------ */

/* A packet as the simulator built it: the NX_PACKET headers and each buffer's memory. */
typedef struct
{
    NX_PACKET *packets; /* count headers; packets[0] is the head of the chain */
    UCHAR **data;       /* count separately allocated buffers */
    ULONG count;
} sim_chain;

static ULONG sim_be32(const UCHAR *p)
{
    return ((ULONG)p[0] << 24) | ((ULONG)p[1] << 16) | ((ULONG)p[2] << 8) | (ULONG)p[3];
}

static ULONG sim_be16(const UCHAR *p)
{
    return ((ULONG)p[0] << 8) | (ULONG)p[1];
}

/* A header word as NetX reads it after its in-place swap (CPU order). */
static ULONG sim_host32(const UCHAR *p)
{
    ULONG value;

    memcpy(&value, p, sizeof(value));
    return value;
}

static VOID sim_put_host32(UCHAR *p, ULONG value)
{
    memcpy(p, &value, sizeof(value));
}

/* NX_CHANGE_ULONG_ENDIAN on the words [first, first + count) of a header, in place: the
   network-order word becomes a CPU-order ULONG (a no-op on a big-endian CPU, as in NetX). */
static VOID sim_words_to_host(UCHAR *header, UINT first, UINT count)
{
    UINT i;

    for (i = first; i < first + count; i++)
    {
        sim_put_host32(header + 4u * i, sim_be32(header + 4u * i));
    }
}

static VOID sim_chain_free(sim_chain *chain)
{
    ULONG i;

    if (chain->data != NX_NULL)
    {
        for (i = 0; i < chain->count; i++)
        {
            free(chain->data[i]);
        }
    }
    free(chain->data);
    free(chain->packets);
    chain->data = NX_NULL;
    chain->packets = NX_NULL;
    chain->count = 0;
}

/* Copies bytes into a chain whose first buffer holds first_bytes and the others at most as
   many. Each buffer is its own allocation with the data ending exactly at its end, so a
   read past nx_packet_append_ptr is an AddressSanitizer error, not a silent success. */
static UINT sim_chain_build(sim_chain *chain, const UCHAR *bytes, ULONG length, ULONG first_bytes)
{
    ULONG count;
    ULONG offset = 0;
    ULONG i;

    memset(chain, 0, sizeof(*chain));
    if (first_bytes == 0 || first_bytes > length)
    {
        first_bytes = length;
    }
    count = 1 + (length - first_bytes + first_bytes - 1) / first_bytes;
    chain->packets = (NX_PACKET *)calloc(count, sizeof(NX_PACKET));
    chain->data = (UCHAR **)calloc(count, sizeof(UCHAR *));
    if (chain->packets == NX_NULL || chain->data == NX_NULL)
    {
        sim_chain_free(chain);
        return NX_NO_PACKET;
    }
    chain->count = count;
    for (i = 0; i < count; i++)
    {
        ULONG size = length - offset;
        NX_PACKET *packet = &chain->packets[i];

        if (size > first_bytes)
        {
            size = first_bytes;
        }
        chain->data[i] = (UCHAR *)malloc(size);
        if (chain->data[i] == NX_NULL)
        {
            sim_chain_free(chain);
            return NX_NO_PACKET;
        }
        memcpy(chain->data[i], bytes + offset, size);
        offset += size;
        packet->nx_packet_data_start = chain->data[i];
        packet->nx_packet_data_end = chain->data[i] + size;
        packet->nx_packet_prepend_ptr = chain->data[i];
        packet->nx_packet_append_ptr = chain->data[i] + size;
        packet->nx_packet_next = (i + 1 < count) ? &chain->packets[i + 1] : NX_NULL;
    }
    chain->packets[0].nx_packet_length = length;
    chain->packets[0].nx_packet_last = (count > 1) ? &chain->packets[count - 1] : NX_NULL;
    chain->packets[0].nx_packet_ip_header = chain->packets[0].nx_packet_prepend_ptr;
    chain->packets[0].nx_packet_ip_version = (UCHAR)(bytes[0] >> 4);
    return NX_SUCCESS;
}

/* Drops the bytes past new_length (link padding), as NetX does when the IP header says the
   datagram is shorter than what the driver delivered. */
static VOID sim_chain_trim(NX_PACKET *head, ULONG new_length)
{
    NX_PACKET *buffer = head;
    NX_PACKET *last = head;
    ULONG left = new_length;

    while (buffer != NX_NULL)
    {
        ULONG size = (ULONG)(buffer->nx_packet_append_ptr - buffer->nx_packet_prepend_ptr);

        if (size >= left)
        {
            buffer->nx_packet_append_ptr = buffer->nx_packet_prepend_ptr + left;
            if (left == 0 && buffer != head)
            {
                last->nx_packet_next = NX_NULL; /* the buffer becomes empty: unlinked */
            }
            else
            {
                last = buffer;
                buffer->nx_packet_next = NX_NULL;
            }
            break;
        }
        left -= size;
        last = buffer;
        buffer = buffer->nx_packet_next;
    }
    head->nx_packet_length = new_length;
    head->nx_packet_last = (last != head) ? last : NX_NULL;
}

/* Hook pointers are read under the simulated interrupt lock, under which they are
   written: on the device they are single words, which a reader never sees half-changed
   and NetX reads without a lock; here the lock is what makes that so for the threads. */

/* Legacy filter, then the extended one, as both NetX paths call them. */
static UINT sim_filters_pass(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction)
{
#ifdef NX_ENABLE_IP_PACKET_FILTER
    TX_INTERRUPT_SAVE_AREA
    UINT (*legacy)(VOID *, UINT);
    UINT (*extended)(NX_IP *, NX_PACKET *, UINT);

    TX_DISABLE
    legacy = ip_ptr->nx_ip_packet_filter;
    extended = ip_ptr->nx_ip_packet_filter_extended;
    TX_RESTORE

    if (legacy != NX_NULL && legacy(packet_ptr->nx_packet_prepend_ptr, direction) != NX_SUCCESS)
    {
        return NX_FALSE;
    }
    if (extended != NX_NULL && extended(ip_ptr, packet_ptr, direction) != NX_SUCCESS)
    {
        return NX_FALSE;
    }
#else
    (void)ip_ptr;
    (void)packet_ptr;
    (void)direction;
#endif
    return NX_TRUE;
}

/* Hands a packet whose prepend pointer is at the transport header to the routine in
   `hook`, the one NetX would call; a NULL routine means the protocol is not enabled. */
static sim_ip_outcome sim_dispatch(NX_IP *ip_ptr, NX_PACKET *packet_ptr, void (*const *hook)(NX_IP *, NX_PACKET *))
{
    TX_INTERRUPT_SAVE_AREA
    void (*receive)(NX_IP *, NX_PACKET *);

    TX_DISABLE
    receive = *hook;
    TX_RESTORE
    if (receive == NX_NULL)
    {
        return SIM_IP_NO_TRANSPORT;
    }
    receive(ip_ptr, packet_ptr);
    return SIM_IP_DELIVERED;
}

/* Whether an IPv4 destination (host order) is one NetX accepts on this instance. The
   simulator checks every interface (a driver stamps the one the packet came in on). */
static UINT sim_ipv4_for_us(const NX_IP *ip_ptr, ULONG destination)
{
    UINT i;

    if (destination == 0 || destination == NX_IP_LIMITED_BROADCAST ||
        (destination >= NX_IP_LOOPBACK_FIRST && destination <= NX_IP_LOOPBACK_LAST) ||
        (destination & NX_IP_CLASS_D_MASK) == NX_IP_CLASS_D_TYPE)
    {
        return NX_TRUE;
    }
    for (i = 0; i < NX_MAX_PHYSICAL_INTERFACES; i++)
    {
        const NX_INTERFACE *if_ptr = &ip_ptr->nx_ip_interface[i];

        if (!if_ptr->nx_interface_valid)
        {
            continue;
        }
        if (destination == if_ptr->nx_interface_ip_address ||
            ((destination & if_ptr->nx_interface_ip_network_mask) == if_ptr->nx_interface_ip_network &&
             (destination & ~if_ptr->nx_interface_ip_network_mask) == ~if_ptr->nx_interface_ip_network_mask))
        {
            return NX_TRUE;
        }
    }
    return NX_FALSE;
}

/* _nx_ipv4_packet_receive as far as the transport dispatch. */
static sim_ip_outcome sim_ipv4_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    UCHAR *header = packet_ptr->nx_packet_prepend_ptr;
    ULONG word_0;
    ULONG total_length;
    ULONG header_length;
    ULONG protocol;

    /* NetX reads the header from the first buffer; a driver must put it there. */
    if ((ULONG)(packet_ptr->nx_packet_append_ptr - header) < 20u)
    {
        return SIM_IP_INVALID;
    }
    word_0 = sim_be32(header);
    total_length = word_0 & 0xFFFFu;
    header_length = (word_0 >> 24) & 0x0Fu;
    if (packet_ptr->nx_packet_length < total_length)
    {
        return SIM_IP_INVALID;
    }
    if (packet_ptr->nx_packet_length > total_length)
    {
        sim_chain_trim(packet_ptr, total_length);
    }
    if (packet_ptr->nx_packet_length <= header_length * 4u || header_length < 5u ||
        header_length * 4u > (ULONG)(packet_ptr->nx_packet_append_ptr - header))
    {
        return SIM_IP_INVALID;
    }

    /* Words 0-4 to CPU order, in place, exactly as NetX does. */
    sim_words_to_host(header, 0, 5);

    /* Options: NetX moves the fixed header up over them and sets the header length to 5;
       the total length field is left as it was. */
    if (header_length > 5u)
    {
        ULONG options = (header_length - 5u) * 4u;

        memmove(header + options, header, 20);
        header += options;
        sim_put_host32(header, (sim_host32(header) & ~(ULONG)0x0F000000) | (ULONG)0x45000000);
        packet_ptr->nx_packet_prepend_ptr = header;
        packet_ptr->nx_packet_ip_header = header;
        packet_ptr->nx_packet_length -= options;
    }

    if (!sim_ipv4_for_us(ip_ptr, sim_host32(header + 16)))
    {
        return SIM_IP_NOT_FOR_US;
    }
    /* Fragments go to reassembly, which the simulator does not have: only the first
       fragment goes on (standing in for the reassembled datagram). */
    if ((sim_host32(header + 4) & 0x1FFFu) != 0)
    {
        return SIM_IP_FRAGMENT_HELD;
    }

    protocol = (sim_host32(header + 8) >> 16) & 0xFFu;
    packet_ptr->nx_packet_prepend_ptr += 20;
    packet_ptr->nx_packet_length -= 20u;
    switch (protocol)
    {
    case NX_PROTOCOL_TCP:
        return sim_dispatch(ip_ptr, packet_ptr, &ip_ptr->nx_ip_tcp_packet_receive);
    case NX_PROTOCOL_UDP:
        return sim_dispatch(ip_ptr, packet_ptr, &ip_ptr->nx_ip_udp_packet_receive);
    case NX_PROTOCOL_ICMP:
        return sim_dispatch(ip_ptr, packet_ptr, &ip_ptr->nx_ip_icmp_packet_receive);
    default:
        return SIM_IP_NO_TRANSPORT; /* IGMP and others: not simulated */
    }
}

#ifdef FEATURE_NX_IPV6
/* Whether an IPv6 destination (host-order words) is one of ours or multicast. */
static UINT sim_ipv6_for_us(const NX_IP *ip_ptr, const UCHAR *destination)
{
    ULONG words[4];
    UINT i;

    for (i = 0; i < 4u; i++)
    {
        words[i] = sim_host32(destination + 4u * i);
    }
    if ((words[0] & 0xFF000000u) == 0xFF000000u)
    {
        return NX_TRUE;
    }
    for (i = 0; i < NX_MAX_IPV6_ADDRESSES; i++)
    {
        const NXD_IPV6_ADDRESS *entry = &ip_ptr->nx_ipv6_address[i];

        if (entry->nxd_ipv6_address_valid && entry->nxd_ipv6_address_state != NX_IPV6_ADDR_STATE_UNKNOWN &&
            memcmp(entry->nxd_ipv6_address, words, sizeof(words)) == 0)
        {
            return NX_TRUE;
        }
    }
    return NX_FALSE;
}

/* _nx_ipv6_packet_receive and the header walk of _nx_ip_dispatch_process. */
static sim_ip_outcome sim_ipv6_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    UCHAR *header = packet_ptr->nx_packet_prepend_ptr;
    ULONG datagram_length;
    UINT next_header;
    UINT seen_extension = NX_FALSE;
    UINT seen_routing = NX_FALSE;
    UINT seen_fragment = NX_FALSE;
    UINT hops;

    if ((ULONG)(packet_ptr->nx_packet_append_ptr - header) < 40u)
    {
        return SIM_IP_INVALID;
    }
    datagram_length = (sim_be32(header + 4) >> 16) + 40u;
    if (packet_ptr->nx_packet_length < datagram_length)
    {
        return SIM_IP_INVALID;
    }
    if (packet_ptr->nx_packet_length > datagram_length)
    {
        sim_chain_trim(packet_ptr, datagram_length);
    }

    /* Words 0 and 1 and both addresses (words 2-9) to CPU order, as NetX does. */
    sim_words_to_host(header, 0, 10);
    if (!sim_ipv6_for_us(ip_ptr, header + 24))
    {
        return SIM_IP_NOT_FOR_US;
    }

    next_header = (UINT)((sim_host32(header + 4) >> 8) & 0xFFu);
    packet_ptr->nx_packet_prepend_ptr += 40;
    packet_ptr->nx_packet_length -= 40u;
    for (hops = 0; hops < 16u; hops++)
    {
        UCHAR *option = packet_ptr->nx_packet_prepend_ptr;
        ULONG option_length;

        switch (next_header)
        {
        case NX_PROTOCOL_TCP:
            return sim_dispatch(ip_ptr, packet_ptr, &ip_ptr->nx_ip_tcp_packet_receive);
        case NX_PROTOCOL_UDP:
            return sim_dispatch(ip_ptr, packet_ptr, &ip_ptr->nx_ip_udp_packet_receive);
        case NX_PROTOCOL_ICMPV6:
            return sim_dispatch(ip_ptr, packet_ptr, &ip_ptr->nx_ip_icmpv6_packet_process);
        case NX_PROTOCOL_NEXT_HEADER_HOP_BY_HOP:
        case NX_PROTOCOL_NEXT_HEADER_DESTINATION:
        case NX_PROTOCOL_NEXT_HEADER_ROUTING:
        case NX_PROTOCOL_NEXT_HEADER_FRAGMENT:
            break;
        default:
            return SIM_IP_NO_TRANSPORT; /* IPsec (not enabled), no next header, unknown */
        }

        /* Header order rules NetX enforces (simplified): hop-by-hop only first, at most one
           routing and one fragment header. */
        if ((next_header == NX_PROTOCOL_NEXT_HEADER_HOP_BY_HOP && seen_extension) ||
            (next_header == NX_PROTOCOL_NEXT_HEADER_ROUTING && seen_routing) ||
            (next_header == NX_PROTOCOL_NEXT_HEADER_FRAGMENT && seen_fragment))
        {
            return SIM_IP_INVALID;
        }
        if ((ULONG)(packet_ptr->nx_packet_append_ptr - option) < 4u)
        {
            return SIM_IP_INVALID;
        }
        if (next_header == NX_PROTOCOL_NEXT_HEADER_FRAGMENT)
        {
            /* NetX turns the offset-and-flags field to CPU order in place (and leaves it so
               in the datagram it hands on). */
            USHORT offset_flags = (USHORT)sim_be16(option + 2);

            memcpy(option + 2, &offset_flags, sizeof(offset_flags));
            seen_fragment = NX_TRUE;
            if ((offset_flags >> 3) != 0)
            {
                return SIM_IP_FRAGMENT_HELD; /* no reassembly: see sim_ipv4_receive */
            }
            option_length = 8;
        }
        else
        {
            seen_routing = seen_routing || next_header == NX_PROTOCOL_NEXT_HEADER_ROUTING;
            option_length = ((ULONG)option[1] + 1u) * 8u;
        }
        seen_extension = NX_TRUE;
        /* NetX moves on only while the next header starts inside the first buffer. */
        if ((ULONG)(packet_ptr->nx_packet_append_ptr - option) <= option_length ||
            packet_ptr->nx_packet_length < option_length)
        {
            return SIM_IP_INVALID;
        }
        next_header = option[0];
        packet_ptr->nx_packet_prepend_ptr += option_length;
        packet_ptr->nx_packet_length -= option_length;
    }
    return SIM_IP_INVALID;
}
#endif /* FEATURE_NX_IPV6 */

static VOID sim_count(ULONG *calls, sim_ip_outcome outcome)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    *calls += 1u;
    sim_counters.outcome[outcome]++;
    TX_RESTORE
}

VOID sim_ip_counters_get(sim_ip_counters *counters)
{
    TX_INTERRUPT_SAVE_AREA

    if (counters == NX_NULL)
    {
        return;
    }
    TX_DISABLE
    *counters = sim_counters;
    TX_RESTORE
}

sim_ip_outcome sim_ip_receive(NX_IP *ip_ptr, const UCHAR *ip_packet, ULONG length, ULONG first_buffer_bytes)
{
    sim_chain chain;
    NX_PACKET *packet_ptr;
    sim_ip_outcome outcome;

    if (ip_ptr == NX_NULL || ip_packet == NX_NULL || length == 0)
    {
        sim_count(&sim_counters.received, SIM_IP_INVALID);
        return SIM_IP_INVALID;
    }
    if (sim_chain_build(&chain, ip_packet, length, first_buffer_bytes) != NX_SUCCESS)
    {
        sim_count(&sim_counters.received, SIM_IP_NO_MEMORY);
        return SIM_IP_NO_MEMORY;
    }
    packet_ptr = &chain.packets[0];

    if (!sim_filters_pass(ip_ptr, packet_ptr, NX_IP_PACKET_IN))
    {
        outcome = SIM_IP_FILTER_DROPPED;
    }
    else if (packet_ptr->nx_packet_ip_version == NX_IP_VERSION_V4)
    {
        outcome = sim_ipv4_receive(ip_ptr, packet_ptr);
    }
#ifdef FEATURE_NX_IPV6
    else if (packet_ptr->nx_packet_ip_version == NX_IP_VERSION_V6)
    {
        outcome = sim_ipv6_receive(ip_ptr, packet_ptr);
    }
#endif
    else
    {
        outcome = SIM_IP_INVALID;
    }
    if (outcome != SIM_IP_DELIVERED)
    {
        (void)nx_packet_release(packet_ptr); /* the stack drops it */
    }
    sim_count(&sim_counters.received, outcome);
    sim_chain_free(&chain);
    return outcome;
}

sim_ip_outcome sim_ip_send(NX_IP *ip_ptr, const UCHAR *ip_packet, ULONG length, ULONG first_buffer_bytes)
{
    sim_chain chain;
    sim_ip_outcome outcome;

    if (ip_ptr == NX_NULL || ip_packet == NX_NULL || length == 0)
    {
        sim_count(&sim_counters.sent, SIM_IP_INVALID);
        return SIM_IP_INVALID;
    }
    if (sim_chain_build(&chain, ip_packet, length, first_buffer_bytes) != NX_SUCCESS)
    {
        sim_count(&sim_counters.sent, SIM_IP_NO_MEMORY);
        return SIM_IP_NO_MEMORY;
    }
    /* A filter refusal makes NetX release the packet; a sent one goes to the driver, which
       releases it after transmission: either way it is given back once. */
    outcome = sim_filters_pass(ip_ptr, &chain.packets[0], NX_IP_PACKET_OUT) ? SIM_IP_SENT : SIM_IP_FILTER_DROPPED;
    (void)nx_packet_release(&chain.packets[0]);
    sim_count(&sim_counters.sent, outcome);
    sim_chain_free(&chain);
    return outcome;
}
