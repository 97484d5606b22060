/*
 * Simulated NetX Duo IP instances: the created-IP list and transport enables
 * (nx-security-module C harness).
 */
#include "sim_control.h"
#include "sim_internal.h"

NX_IP *_nx_ip_created_ptr;
ULONG _nx_ip_created_count;

/* Packets that reached each simulated transport receive routine. */
static ULONG sim_received_tcp;
static ULONG sim_received_udp;
static ULONG sim_received_icmp;

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
    TX_RESTORE
}

/* The simulated transports only count what they were handed; a real stack would consume
   the packet. */
static void sim_tcp_packet_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    TX_INTERRUPT_SAVE_AREA

    (void)ip_ptr;
    (void)packet_ptr;
    TX_DISABLE
    sim_received_tcp++;
    TX_RESTORE
}

static void sim_udp_packet_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    TX_INTERRUPT_SAVE_AREA

    (void)ip_ptr;
    (void)packet_ptr;
    TX_DISABLE
    sim_received_udp++;
    TX_RESTORE
}

static void sim_icmp_packet_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    TX_INTERRUPT_SAVE_AREA

    (void)ip_ptr;
    (void)packet_ptr;
    TX_DISABLE
    sim_received_icmp++;
    TX_RESTORE
}

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
    TX_RESTORE
    return count;
}

UINT sim_ip_create(NX_IP *ip_ptr, CHAR *name)
{
    TX_INTERRUPT_SAVE_AREA
    UINT status;

    if (ip_ptr == NX_NULL || ip_ptr->nx_ip_id == NX_IP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr->nx_ip_name = name;
    ip_ptr->nx_ip_default_packet_pool = NX_NULL;
    ip_ptr->nx_ip_icmp_packet_receive = NX_NULL;
    ip_ptr->nx_ip_udp_packet_receive = NX_NULL;
    ip_ptr->nx_ip_tcp_packet_receive = NX_NULL;
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
    (void)tx_mutex_delete(&ip_ptr->nx_ip_protection);
    return NX_SUCCESS;
}

/* Shared body of the three nx_*_enable services. */
static UINT sim_transport_enable(void (**slot)(NX_IP *, NX_PACKET *),
                                 void (*receive)(NX_IP *, NX_PACKET *))
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
