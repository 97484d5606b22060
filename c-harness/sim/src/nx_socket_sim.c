/*
 * NetX Duo simulator: UDP and TCP sockets as far as NetX Duo's own tables go (creation,
 * binding into the port tables, listen requests, connection state), for the shim's socket
 * scan. No data moves through these sockets. Every service holds the IP's protection mutex,
 * and links or unlinks list entries with interrupts disabled, as NetX Duo does; the hash of
 * a port is NetX Duo's ((port + (port >> 8)) & mask).
 */
#include <string.h>

#include "nx_api.h"
#include "nx_ip.h"
#include "sim_control.h"

/* Values of the id fields while a socket is created (NetX Duo's nx_udp.h / nx_tcp.h). */
#define SIM_UDP_ID ((ULONG)0x55445020)
#define SIM_TCP_ID ((ULONG)0x54435020)

static UINT sim_port_index(UINT port, UINT mask)
{
    return (port + (port >> 8)) & mask;
}

static UINT sim_ip_lock(NX_IP *ip_ptr)
{
    return (ip_ptr != NX_NULL && ip_ptr->nx_ip_id == NX_IP_ID &&
            tx_mutex_get(&ip_ptr->nx_ip_protection, TX_WAIT_FOREVER) == TX_SUCCESS)
               ? NX_TRUE
               : NX_FALSE;
}

static VOID sim_ip_unlock(NX_IP *ip_ptr)
{
    (void)tx_mutex_put(&ip_ptr->nx_ip_protection);
}

/* ---- UDP ------------------------------------------------------------------------------ */

UINT nx_udp_socket_create(NX_IP *ip_ptr, NX_UDP_SOCKET *socket_ptr, CHAR *name, ULONG type_of_service, ULONG fragment,
                          UINT time_to_live, ULONG queue_maximum)
{
    TX_INTERRUPT_SAVE_AREA
    NX_UDP_SOCKET *head;

    (void)type_of_service;
    (void)fragment;
    (void)time_to_live;
    (void)queue_maximum;
    if (socket_ptr == NX_NULL || socket_ptr->nx_udp_socket_id == SIM_UDP_ID || !sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    memset(socket_ptr, 0, sizeof(*socket_ptr));
    socket_ptr->nx_udp_socket_name = name;
    socket_ptr->nx_udp_socket_ip_ptr = ip_ptr;
    TX_DISABLE
    head = ip_ptr->nx_ip_udp_created_sockets_ptr;
    if (head == NX_NULL)
    {
        socket_ptr->nx_udp_socket_created_next = socket_ptr;
        socket_ptr->nx_udp_socket_created_previous = socket_ptr;
        ip_ptr->nx_ip_udp_created_sockets_ptr = socket_ptr;
    }
    else
    {
        socket_ptr->nx_udp_socket_created_next = head;
        socket_ptr->nx_udp_socket_created_previous = head->nx_udp_socket_created_previous;
        head->nx_udp_socket_created_previous->nx_udp_socket_created_next = socket_ptr;
        head->nx_udp_socket_created_previous = socket_ptr;
    }
    ip_ptr->nx_ip_udp_created_sockets_count++;
    socket_ptr->nx_udp_socket_id = SIM_UDP_ID;
    TX_RESTORE
    sim_ip_unlock(ip_ptr);
    return NX_SUCCESS;
}

/* The bound socket on port in ip_ptr's UDP table, or NX_NULL. Mutex held by the caller. */
static NX_UDP_SOCKET *sim_udp_find(const NX_IP *ip_ptr, UINT port)
{
    NX_UDP_SOCKET *head = ip_ptr->nx_ip_udp_port_table[sim_port_index(port, NX_UDP_PORT_TABLE_MASK)];
    NX_UDP_SOCKET *socket_ptr = head;

    while (socket_ptr != NX_NULL)
    {
        if (socket_ptr->nx_udp_socket_port == port)
        {
            return socket_ptr;
        }
        socket_ptr = socket_ptr->nx_udp_socket_bound_next;
        if (socket_ptr == head)
        {
            break;
        }
    }
    return NX_NULL;
}

UINT nx_udp_socket_bind(NX_UDP_SOCKET *socket_ptr, UINT port, ULONG wait_option)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip_ptr;
    NX_UDP_SOCKET **slot;
    UINT status = NX_SUCCESS;

    (void)wait_option; /* a busy port fails at once: the simulator does not suspend */
    if (socket_ptr == NX_NULL || socket_ptr->nx_udp_socket_id != SIM_UDP_ID)
    {
        return NX_PTR_ERROR;
    }
    if (port == NX_ANY_PORT || port > NX_MAX_PORT)
    {
        return NX_INVALID_PORT; /* the simulator does not pick free ports */
    }
    ip_ptr = socket_ptr->nx_udp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_udp_socket_bound_next != NX_NULL)
    {
        status = NX_ALREADY_BOUND;
    }
    else if (sim_udp_find(ip_ptr, port) != NX_NULL)
    {
        status = NX_PORT_UNAVAILABLE;
    }
    else
    {
        slot = &ip_ptr->nx_ip_udp_port_table[sim_port_index(port, NX_UDP_PORT_TABLE_MASK)];
        TX_DISABLE
        socket_ptr->nx_udp_socket_port = port;
        if (*slot == NX_NULL)
        {
            socket_ptr->nx_udp_socket_bound_next = socket_ptr;
            socket_ptr->nx_udp_socket_bound_previous = socket_ptr;
            *slot = socket_ptr;
        }
        else
        {
            socket_ptr->nx_udp_socket_bound_next = *slot;
            socket_ptr->nx_udp_socket_bound_previous = (*slot)->nx_udp_socket_bound_previous;
            (*slot)->nx_udp_socket_bound_previous->nx_udp_socket_bound_next = socket_ptr;
            (*slot)->nx_udp_socket_bound_previous = socket_ptr;
        }
        TX_RESTORE
    }
    sim_ip_unlock(ip_ptr);
    return status;
}

UINT nx_udp_socket_unbind(NX_UDP_SOCKET *socket_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip_ptr;
    NX_UDP_SOCKET **slot;

    if (socket_ptr == NX_NULL || socket_ptr->nx_udp_socket_id != SIM_UDP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr = socket_ptr->nx_udp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_udp_socket_bound_next == NX_NULL)
    {
        sim_ip_unlock(ip_ptr);
        return NX_NOT_BOUND;
    }
    slot = &ip_ptr->nx_ip_udp_port_table[sim_port_index(socket_ptr->nx_udp_socket_port, NX_UDP_PORT_TABLE_MASK)];
    TX_DISABLE
    if (socket_ptr->nx_udp_socket_bound_next == socket_ptr)
    {
        *slot = NX_NULL;
    }
    else
    {
        socket_ptr->nx_udp_socket_bound_next->nx_udp_socket_bound_previous = socket_ptr->nx_udp_socket_bound_previous;
        socket_ptr->nx_udp_socket_bound_previous->nx_udp_socket_bound_next = socket_ptr->nx_udp_socket_bound_next;
        if (*slot == socket_ptr)
        {
            *slot = socket_ptr->nx_udp_socket_bound_next;
        }
    }
    socket_ptr->nx_udp_socket_bound_next = NX_NULL;
    socket_ptr->nx_udp_socket_bound_previous = NX_NULL;
    socket_ptr->nx_udp_socket_port = 0;
    TX_RESTORE
    sim_ip_unlock(ip_ptr);
    return NX_SUCCESS;
}

UINT nx_udp_socket_delete(NX_UDP_SOCKET *socket_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip_ptr;

    if (socket_ptr == NX_NULL || socket_ptr->nx_udp_socket_id != SIM_UDP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr = socket_ptr->nx_udp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_udp_socket_bound_next != NX_NULL)
    {
        sim_ip_unlock(ip_ptr);
        return NX_STILL_BOUND;
    }
    TX_DISABLE
    socket_ptr->nx_udp_socket_id = 0;
    if (socket_ptr->nx_udp_socket_created_next == socket_ptr)
    {
        ip_ptr->nx_ip_udp_created_sockets_ptr = NX_NULL;
    }
    else
    {
        socket_ptr->nx_udp_socket_created_next->nx_udp_socket_created_previous =
            socket_ptr->nx_udp_socket_created_previous;
        socket_ptr->nx_udp_socket_created_previous->nx_udp_socket_created_next = socket_ptr->nx_udp_socket_created_next;
        if (ip_ptr->nx_ip_udp_created_sockets_ptr == socket_ptr)
        {
            ip_ptr->nx_ip_udp_created_sockets_ptr = socket_ptr->nx_udp_socket_created_next;
        }
    }
    ip_ptr->nx_ip_udp_created_sockets_count--;
    TX_RESTORE
    sim_ip_unlock(ip_ptr);
    return NX_SUCCESS;
}

/* ---- TCP ------------------------------------------------------------------------------ */

UINT nx_tcp_socket_create(NX_IP *ip_ptr, NX_TCP_SOCKET *socket_ptr, CHAR *name, ULONG type_of_service, ULONG fragment,
                          UINT time_to_live, ULONG window_size,
                          VOID (*tcp_urgent_data_callback)(NX_TCP_SOCKET *socket_ptr),
                          VOID (*tcp_disconnect_callback)(NX_TCP_SOCKET *socket_ptr))
{
    TX_INTERRUPT_SAVE_AREA
    NX_TCP_SOCKET *head;

    (void)type_of_service;
    (void)fragment;
    (void)time_to_live;
    (void)window_size;
    (void)tcp_urgent_data_callback;
    (void)tcp_disconnect_callback;
    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id == SIM_TCP_ID || !sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    memset(socket_ptr, 0, sizeof(*socket_ptr));
    socket_ptr->nx_tcp_socket_name = name;
    socket_ptr->nx_tcp_socket_ip_ptr = ip_ptr;
    socket_ptr->nx_tcp_socket_state = NX_TCP_CLOSED;
    TX_DISABLE
    head = ip_ptr->nx_ip_tcp_created_sockets_ptr;
    if (head == NX_NULL)
    {
        socket_ptr->nx_tcp_socket_created_next = socket_ptr;
        socket_ptr->nx_tcp_socket_created_previous = socket_ptr;
        ip_ptr->nx_ip_tcp_created_sockets_ptr = socket_ptr;
    }
    else
    {
        socket_ptr->nx_tcp_socket_created_next = head;
        socket_ptr->nx_tcp_socket_created_previous = head->nx_tcp_socket_created_previous;
        head->nx_tcp_socket_created_previous->nx_tcp_socket_created_next = socket_ptr;
        head->nx_tcp_socket_created_previous = socket_ptr;
    }
    ip_ptr->nx_ip_tcp_created_sockets_count++;
    socket_ptr->nx_tcp_socket_id = SIM_TCP_ID;
    TX_RESTORE
    sim_ip_unlock(ip_ptr);
    return NX_SUCCESS;
}

UINT nx_tcp_socket_delete(NX_TCP_SOCKET *socket_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip_ptr;
    UINT status = NX_SUCCESS;

    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id != SIM_TCP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr = socket_ptr->nx_tcp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_tcp_socket_state != NX_TCP_CLOSED)
    {
        status = NX_NOT_CLOSED;
    }
    else if (socket_ptr->nx_tcp_socket_bound_next != NX_NULL)
    {
        status = NX_STILL_BOUND;
    }
    else
    {
        TX_DISABLE
        socket_ptr->nx_tcp_socket_id = 0;
        if (socket_ptr->nx_tcp_socket_created_next == socket_ptr)
        {
            ip_ptr->nx_ip_tcp_created_sockets_ptr = NX_NULL;
        }
        else
        {
            socket_ptr->nx_tcp_socket_created_next->nx_tcp_socket_created_previous =
                socket_ptr->nx_tcp_socket_created_previous;
            socket_ptr->nx_tcp_socket_created_previous->nx_tcp_socket_created_next =
                socket_ptr->nx_tcp_socket_created_next;
            if (ip_ptr->nx_ip_tcp_created_sockets_ptr == socket_ptr)
            {
                ip_ptr->nx_ip_tcp_created_sockets_ptr = socket_ptr->nx_tcp_socket_created_next;
            }
        }
        ip_ptr->nx_ip_tcp_created_sockets_count--;
        TX_RESTORE
    }
    sim_ip_unlock(ip_ptr);
    return status;
}

/* Whether some socket is bound to port in ip_ptr's TCP table. Mutex held by the caller. */
static UINT sim_tcp_port_bound(const NX_IP *ip_ptr, UINT port)
{
    NX_TCP_SOCKET *head = ip_ptr->nx_ip_tcp_port_table[sim_port_index(port, NX_TCP_PORT_TABLE_MASK)];
    NX_TCP_SOCKET *socket_ptr = head;

    while (socket_ptr != NX_NULL)
    {
        if (socket_ptr->nx_tcp_socket_port == port)
        {
            return NX_TRUE;
        }
        socket_ptr = socket_ptr->nx_tcp_socket_bound_next;
        if (socket_ptr == head)
        {
            break;
        }
    }
    return NX_FALSE;
}

/* Links socket_ptr into the TCP port table at its port. Mutex held by the caller. */
static VOID sim_tcp_port_link(NX_IP *ip_ptr, NX_TCP_SOCKET *socket_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_TCP_SOCKET **slot =
        &ip_ptr->nx_ip_tcp_port_table[sim_port_index(socket_ptr->nx_tcp_socket_port, NX_TCP_PORT_TABLE_MASK)];

    TX_DISABLE
    if (*slot == NX_NULL)
    {
        socket_ptr->nx_tcp_socket_bound_next = socket_ptr;
        socket_ptr->nx_tcp_socket_bound_previous = socket_ptr;
        *slot = socket_ptr;
    }
    else
    {
        socket_ptr->nx_tcp_socket_bound_next = *slot;
        socket_ptr->nx_tcp_socket_bound_previous = (*slot)->nx_tcp_socket_bound_previous;
        (*slot)->nx_tcp_socket_bound_previous->nx_tcp_socket_bound_next = socket_ptr;
        (*slot)->nx_tcp_socket_bound_previous = socket_ptr;
    }
    TX_RESTORE
}

/* Unlinks socket_ptr from the TCP port table. Mutex held by the caller. */
static VOID sim_tcp_port_unlink(NX_IP *ip_ptr, NX_TCP_SOCKET *socket_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_TCP_SOCKET **slot =
        &ip_ptr->nx_ip_tcp_port_table[sim_port_index(socket_ptr->nx_tcp_socket_port, NX_TCP_PORT_TABLE_MASK)];

    TX_DISABLE
    if (socket_ptr->nx_tcp_socket_bound_next == socket_ptr)
    {
        *slot = NX_NULL;
    }
    else
    {
        socket_ptr->nx_tcp_socket_bound_next->nx_tcp_socket_bound_previous = socket_ptr->nx_tcp_socket_bound_previous;
        socket_ptr->nx_tcp_socket_bound_previous->nx_tcp_socket_bound_next = socket_ptr->nx_tcp_socket_bound_next;
        if (*slot == socket_ptr)
        {
            *slot = socket_ptr->nx_tcp_socket_bound_next;
        }
    }
    socket_ptr->nx_tcp_socket_bound_next = NX_NULL;
    socket_ptr->nx_tcp_socket_bound_previous = NX_NULL;
    TX_RESTORE
}

UINT nx_tcp_client_socket_bind(NX_TCP_SOCKET *socket_ptr, UINT port, ULONG wait_option)
{
    NX_IP *ip_ptr;
    UINT status = NX_SUCCESS;

    (void)wait_option;
    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id != SIM_TCP_ID)
    {
        return NX_PTR_ERROR;
    }
    if (port == NX_ANY_PORT || port > NX_MAX_PORT)
    {
        return NX_INVALID_PORT;
    }
    ip_ptr = socket_ptr->nx_tcp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_tcp_socket_bound_next != NX_NULL)
    {
        status = NX_ALREADY_BOUND;
    }
    else if (socket_ptr->nx_tcp_socket_state != NX_TCP_CLOSED)
    {
        status = NX_NOT_CLOSED;
    }
    else if (sim_tcp_port_bound(ip_ptr, port))
    {
        status = NX_PORT_UNAVAILABLE;
    }
    else
    {
        socket_ptr->nx_tcp_socket_port = port;
        socket_ptr->nx_tcp_socket_client_type = NX_TRUE;
        sim_tcp_port_link(ip_ptr, socket_ptr);
    }
    sim_ip_unlock(ip_ptr);
    return status;
}

UINT nx_tcp_client_socket_unbind(NX_TCP_SOCKET *socket_ptr)
{
    NX_IP *ip_ptr;
    UINT status = NX_SUCCESS;

    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id != SIM_TCP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr = socket_ptr->nx_tcp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_tcp_socket_state != NX_TCP_CLOSED)
    {
        status = NX_NOT_CLOSED;
    }
    else if (socket_ptr->nx_tcp_socket_bound_next == NX_NULL)
    {
        status = NX_NOT_BOUND;
    }
    else
    {
        sim_tcp_port_unlink(ip_ptr, socket_ptr);
    }
    sim_ip_unlock(ip_ptr);
    return status;
}

UINT nx_tcp_server_socket_listen(NX_IP *ip_ptr, UINT port, NX_TCP_SOCKET *socket_ptr, UINT listen_queue_size,
                                 VOID (*tcp_listen_callback)(NX_TCP_SOCKET *socket_ptr, UINT port))
{
    TX_INTERRUPT_SAVE_AREA
    NX_TCP_LISTEN *listen_ptr;
    NX_TCP_LISTEN *head;
    UINT status = NX_SUCCESS;

    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id != SIM_TCP_ID)
    {
        return NX_PTR_ERROR;
    }
    if (port == NX_ANY_PORT || port > NX_MAX_PORT)
    {
        return NX_INVALID_PORT;
    }
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    head = ip_ptr->nx_ip_tcp_active_listen_requests;
    listen_ptr = head;
    while (listen_ptr != NX_NULL)
    {
        if (listen_ptr->nx_tcp_listen_port == port)
        {
            status = NX_DUPLICATE_LISTEN;
            break;
        }
        listen_ptr = listen_ptr->nx_tcp_listen_next;
        if (listen_ptr == head)
        {
            break;
        }
    }
    if (status != NX_SUCCESS)
    {
        /* already set */
    }
    else if (socket_ptr->nx_tcp_socket_state != NX_TCP_CLOSED)
    {
        status = NX_NOT_CLOSED;
    }
    else if (socket_ptr->nx_tcp_socket_bound_next != NX_NULL)
    {
        status = NX_ALREADY_BOUND;
    }
    else if (ip_ptr->nx_ip_tcp_available_listen_requests == NX_NULL)
    {
        status = NX_MAX_LISTEN;
    }
    else
    {
        TX_DISABLE
        listen_ptr = ip_ptr->nx_ip_tcp_available_listen_requests;
        ip_ptr->nx_ip_tcp_available_listen_requests = listen_ptr->nx_tcp_listen_next;
        listen_ptr->nx_tcp_listen_port = port;
        listen_ptr->nx_tcp_listen_callback = tcp_listen_callback;
        listen_ptr->nx_tcp_listen_socket_ptr = socket_ptr;
        listen_ptr->nx_tcp_listen_queue_maximum = listen_queue_size;
        socket_ptr->nx_tcp_socket_client_type = NX_FALSE;
        socket_ptr->nx_tcp_socket_state = NX_TCP_LISTEN_STATE;
        socket_ptr->nx_tcp_socket_port = port;
        socket_ptr->nx_tcp_socket_connect_interface = NX_NULL;
        if (head != NX_NULL)
        {
            listen_ptr->nx_tcp_listen_previous = head->nx_tcp_listen_previous;
            listen_ptr->nx_tcp_listen_next = head;
            head->nx_tcp_listen_previous->nx_tcp_listen_next = listen_ptr;
            head->nx_tcp_listen_previous = listen_ptr;
        }
        else
        {
            listen_ptr->nx_tcp_listen_previous = listen_ptr;
            listen_ptr->nx_tcp_listen_next = listen_ptr;
            ip_ptr->nx_ip_tcp_active_listen_requests = listen_ptr;
        }
        TX_RESTORE
    }
    sim_ip_unlock(ip_ptr);
    return status;
}

UINT nx_tcp_server_socket_unlisten(NX_IP *ip_ptr, UINT port)
{
    TX_INTERRUPT_SAVE_AREA
    NX_TCP_LISTEN *head;
    NX_TCP_LISTEN *listen_ptr;
    NX_TCP_SOCKET *socket_ptr;

    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    head = ip_ptr->nx_ip_tcp_active_listen_requests;
    listen_ptr = head;
    while (listen_ptr != NX_NULL && listen_ptr->nx_tcp_listen_port != port)
    {
        listen_ptr = listen_ptr->nx_tcp_listen_next;
        if (listen_ptr == head)
        {
            listen_ptr = NX_NULL;
        }
    }
    if (listen_ptr == NX_NULL)
    {
        sim_ip_unlock(ip_ptr);
        return NX_ENTRY_NOT_FOUND;
    }
    socket_ptr = listen_ptr->nx_tcp_listen_socket_ptr;
    if (socket_ptr != NX_NULL && socket_ptr->nx_tcp_socket_state != NX_TCP_LISTEN_STATE)
    {
        sim_ip_unlock(ip_ptr);
        return NX_NOT_LISTEN_STATE;
    }
    TX_DISABLE
    if (socket_ptr != NX_NULL)
    {
        socket_ptr->nx_tcp_socket_state = NX_TCP_CLOSED;
    }
    listen_ptr->nx_tcp_listen_socket_ptr = NX_NULL;
    if (listen_ptr->nx_tcp_listen_next == listen_ptr)
    {
        ip_ptr->nx_ip_tcp_active_listen_requests = NX_NULL;
    }
    else
    {
        listen_ptr->nx_tcp_listen_next->nx_tcp_listen_previous = listen_ptr->nx_tcp_listen_previous;
        listen_ptr->nx_tcp_listen_previous->nx_tcp_listen_next = listen_ptr->nx_tcp_listen_next;
        if (ip_ptr->nx_ip_tcp_active_listen_requests == listen_ptr)
        {
            ip_ptr->nx_ip_tcp_active_listen_requests = listen_ptr->nx_tcp_listen_next;
        }
    }
    listen_ptr->nx_tcp_listen_next = ip_ptr->nx_ip_tcp_available_listen_requests;
    listen_ptr->nx_tcp_listen_previous = NX_NULL;
    ip_ptr->nx_ip_tcp_available_listen_requests = listen_ptr;
    TX_RESTORE
    sim_ip_unlock(ip_ptr);
    return NX_SUCCESS;
}

UINT nx_tcp_socket_disconnect(NX_TCP_SOCKET *socket_ptr, ULONG wait_option)
{
    NX_IP *ip_ptr;
    UINT status = NX_SUCCESS;

    (void)wait_option;
    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id != SIM_TCP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr = socket_ptr->nx_tcp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_tcp_socket_state == NX_TCP_CLOSED || socket_ptr->nx_tcp_socket_state == NX_TCP_LISTEN_STATE)
    {
        status = NX_NOT_CONNECTED;
    }
    else
    {
        socket_ptr->nx_tcp_socket_state = NX_TCP_CLOSED;
    }
    sim_ip_unlock(ip_ptr);
    return status;
}

UINT nx_tcp_server_socket_unaccept(NX_TCP_SOCKET *socket_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip_ptr;
    NX_TCP_LISTEN *head;
    NX_TCP_LISTEN *listen_ptr;
    UINT status = NX_SUCCESS;

    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id != SIM_TCP_ID)
    {
        return NX_PTR_ERROR;
    }
    ip_ptr = socket_ptr->nx_tcp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    /* As NetX Duo: a connection that ended (or is ending) goes back to the listen state
       first; only a socket in the listen state can be unaccepted. */
    if (socket_ptr->nx_tcp_socket_state >= NX_TCP_CLOSE_WAIT ||
        (socket_ptr->nx_tcp_socket_state == NX_TCP_CLOSED && socket_ptr->nx_tcp_socket_bound_next != NX_NULL))
    {
        socket_ptr->nx_tcp_socket_state = NX_TCP_LISTEN_STATE;
        memset(&socket_ptr->nx_tcp_socket_connect_ip, 0, sizeof(socket_ptr->nx_tcp_socket_connect_ip));
        socket_ptr->nx_tcp_socket_connect_port = 0;
    }
    if (socket_ptr->nx_tcp_socket_state != NX_TCP_LISTEN_STATE)
    {
        status = NX_NOT_LISTEN_STATE;
    }
    else if (socket_ptr->nx_tcp_socket_bound_next != NX_NULL)
    {
        sim_tcp_port_unlink(ip_ptr, socket_ptr);
    }
    else
    {
        /* Still waiting in a listen request: the request keeps listening without it. */
        head = ip_ptr->nx_ip_tcp_active_listen_requests;
        listen_ptr = head;
        while (listen_ptr != NX_NULL)
        {
            if (listen_ptr->nx_tcp_listen_socket_ptr == socket_ptr)
            {
                TX_DISABLE
                listen_ptr->nx_tcp_listen_socket_ptr = NX_NULL;
                TX_RESTORE
                break;
            }
            listen_ptr = listen_ptr->nx_tcp_listen_next;
            if (listen_ptr == head)
            {
                break;
            }
        }
    }
    if (status == NX_SUCCESS)
    {
        socket_ptr->nx_tcp_socket_state = NX_TCP_CLOSED;
    }
    sim_ip_unlock(ip_ptr);
    return status;
}

UINT sim_tcp_socket_establish(NX_TCP_SOCKET *socket_ptr, const NXD_ADDRESS *peer, UINT peer_port, UINT local_index)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip_ptr;
    NX_TCP_LISTEN *head;
    NX_TCP_LISTEN *listen_ptr = NX_NULL;
    UINT status = NX_SUCCESS;

    if (socket_ptr == NX_NULL || socket_ptr->nx_tcp_socket_id != SIM_TCP_ID || peer == NX_NULL)
    {
        return NX_PTR_ERROR;
    }
    if ((peer->nxd_ip_version == NX_IP_VERSION_V4 && local_index >= NX_MAX_PHYSICAL_INTERFACES) ||
#ifdef FEATURE_NX_IPV6
        (peer->nxd_ip_version == NX_IP_VERSION_V6 && local_index >= NX_MAX_IPV6_ADDRESSES) ||
#else
        peer->nxd_ip_version == NX_IP_VERSION_V6 ||
#endif
        (peer->nxd_ip_version != NX_IP_VERSION_V4 && peer->nxd_ip_version != NX_IP_VERSION_V6))
    {
        return NX_INVALID_PARAMETERS;
    }
    ip_ptr = socket_ptr->nx_tcp_socket_ip_ptr;
    if (!sim_ip_lock(ip_ptr))
    {
        return NX_PTR_ERROR;
    }
    if (socket_ptr->nx_tcp_socket_state == NX_TCP_LISTEN_STATE)
    {
        /* The listen request that holds this socket. */
        head = ip_ptr->nx_ip_tcp_active_listen_requests;
        listen_ptr = head;
        while (listen_ptr != NX_NULL && listen_ptr->nx_tcp_listen_socket_ptr != socket_ptr)
        {
            listen_ptr = listen_ptr->nx_tcp_listen_next;
            if (listen_ptr == head)
            {
                listen_ptr = NX_NULL;
            }
        }
        if (listen_ptr == NX_NULL)
        {
            status = NX_NOT_CLOSED;
        }
    }
    else if (socket_ptr->nx_tcp_socket_state != NX_TCP_CLOSED)
    {
        status = NX_NOT_CLOSED;
    }
    else if (socket_ptr->nx_tcp_socket_bound_next == NX_NULL)
    {
        status = NX_NOT_BOUND;
    }
    if (status == NX_SUCCESS)
    {
        if (listen_ptr != NX_NULL)
        {
            /* As _nx_tcp_packet_process on a SYN for a listen request: the request stays,
               without a socket, and the socket enters the port table. */
            listen_ptr->nx_tcp_listen_socket_ptr = NX_NULL;
            sim_tcp_port_link(ip_ptr, socket_ptr);
        }
        TX_DISABLE
        socket_ptr->nx_tcp_socket_connect_ip = *peer;
        socket_ptr->nx_tcp_socket_connect_port = peer_port;
#ifdef FEATURE_NX_IPV6
        if (peer->nxd_ip_version == NX_IP_VERSION_V6)
        {
            socket_ptr->nx_tcp_socket_ipv6_addr = &ip_ptr->nx_ipv6_address[local_index];
            socket_ptr->nx_tcp_socket_connect_interface =
                ip_ptr->nx_ipv6_address[local_index].nxd_ipv6_address_attached;
        }
        else
#endif
        {
            socket_ptr->nx_tcp_socket_connect_interface = &ip_ptr->nx_ip_interface[local_index];
        }
        socket_ptr->nx_tcp_socket_state = NX_TCP_ESTABLISHED;
        TX_RESTORE
    }
    sim_ip_unlock(ip_ptr);
    return status;
}
