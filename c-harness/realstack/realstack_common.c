/* Shared part of the real-stack programs: see realstack_common.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realstack_common.h"
#include "nxsm_netx_hooks.h" /* the shim's socket scan, called directly */

/* ThreadX's created-object counters (tx_*.h internals, not in tx_api.h). */
extern ULONG _tx_thread_created_count;
extern ULONG _tx_timer_created_count;
extern ULONG _tx_mutex_created_count;
extern ULONG _tx_semaphore_created_count;
extern ULONG _tx_event_flags_created_count;
extern ULONG _tx_queue_created_count;
extern ULONG _tx_byte_pool_created_count;
extern ULONG _tx_block_pool_created_count;

VOID _nx_ram_network_driver(NX_IP_DRIVER *driver_req_ptr);

/* Traffic of one batch, per IP version. */
#define RS_DATAGRAMS  10u
#define RS_UDP_DATA   10u
#define RS_UDP_REPLY  20u
#define RS_TCP_SENDS  5u
#define RS_TCP_DATA   100u
#define RS_TCP_REPLY  50u
#define RS_PINGS      3u
#define RS_PING_DATA  4u
#define RS_UDP_CLIENT 5000u
#define RS_UDP_SERVER 53u
#define RS_TCP_SERVER 80u
#define RS_TCP_CLIENT 6000u /* + IP version */
#define RS_WAIT       200u

#define RS_PROTO_TCP   0u
#define RS_PROTO_UDP   1u
#define RS_PROTO_ICMP  2u
#define RS_PROTO_OTHER 0xFFu

NX_PACKET_POOL rs_pool;
NX_IP rs_ip[RS_IPS];

static UCHAR pool_area[160 * (1536 + sizeof(NX_PACKET))];
static UCHAR ip_stack[RS_IPS][8192];
static UCHAR arp_area[RS_IPS][1024];
static TX_THREAD peer_thread;
static UCHAR peer_stack[16384];
static TX_SEMAPHORE peer_go, peer_done;
static volatile UINT peer_failures;
static NX_UDP_SOCKET udp_client, udp_server;
static NX_TCP_SOCKET tcp_client, tcp_server;
#define RS_BIG 3000u /* a UDP datagram larger than the RAM driver's 1500-byte MTU */
static UCHAR payload[RS_BIG];

static int passed, failed;
static unsigned long rs_last_neighbour; /* neighbour discovery packets of the last checked window */
static int rs_silent;                   /* a trial comparison: rs_sub neither prints nor counts */

int rs_check(int ok, const char *format, ...)
{
    va_list args;

    printf("%s - ", ok ? "ok" : "not ok");
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
    if (ok)
        passed++;
    else
        failed++;
    return ok;
}

void rs_note(const char *format, ...)
{
    va_list args;

    printf("# ");
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
}

int rs_finish(void)
{
    /* A run that checked nothing proves nothing. */
    if (passed == 0)
        failed++;
    printf("%d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------
   The counting filter: the application's own NX_IP filters, installed before the module.
   The extended one logs every packet; the legacy one only counts, to show it is called as
   often (the module never touches it). */

typedef struct
{
    UCHAR ip;
    UCHAR direction;
    UCHAR version;
    UCHAR proto; /* RS_PROTO_*: the module's protocol numbering */
    UCHAR ip_protocol;
    UCHAR icmp_type;
    UCHAR tcp_flags;
    UCHAR src[16];
    UCHAR dst[16];
    USHORT sport, dport;
    unsigned long payload; /* IP payload bytes: transport header and data */
    unsigned long data;    /* TCP/UDP data bytes */
} rs_packet;

#define RS_LOG_MAX 4096u
static rs_packet rs_log[RS_LOG_MAX];
static unsigned long rs_log_count;
static unsigned long rs_log_overflow;
static unsigned long rs_legacy_count[RS_IPS][2];
static unsigned long rs_extended_count[RS_IPS][2];

static int rs_ip_index(const NX_IP *ip)
{
    for (int i = 0; i < RS_IPS; i++)
        if (ip == &rs_ip[i])
            return i;
    return -1;
}

static USHORT be16(const UCHAR *p)
{
    return (USHORT)((p[0] << 8) | p[1]);
}

/* Parses the header as the filter sees it (network order). */
static void rs_parse(const UCHAR *h, ULONG available, rs_packet *out)
{
    const UCHAR *t;
    ULONG header;

    memset(out, 0, sizeof(*out));
    out->proto = RS_PROTO_OTHER;
    if (available < 20)
        return;
    out->version = (UCHAR)(h[0] >> 4);
    if (out->version == 4)
    {
        header = (ULONG)(h[0] & 15u) * 4u;
        out->payload = be16(h + 2) - header;
        out->ip_protocol = h[9];
        memcpy(out->src, h + 12, 4);
        memcpy(out->dst, h + 16, 4);
    }
    else if (out->version == 6 && available >= 40)
    {
        header = 40;
        out->payload = be16(h + 4);
        out->ip_protocol = h[6];
        memcpy(out->src, h + 8, 16);
        memcpy(out->dst, h + 24, 16);
    }
    else
        return;
    if (available < header + 8)
        return;
    t = h + header;
    switch (out->ip_protocol)
    {
    case 6:
        if (available < header + 20)
            return;
        out->proto = RS_PROTO_TCP;
        out->sport = be16(t);
        out->dport = be16(t + 2);
        out->tcp_flags = t[13];
        out->data = out->payload - (ULONG)(t[12] >> 4) * 4u;
        break;
    case 17:
        out->proto = RS_PROTO_UDP;
        out->sport = be16(t);
        out->dport = be16(t + 2);
        out->data = out->payload - 8u;
        break;
    case 1:
    case 58:
        out->proto = RS_PROTO_ICMP;
        out->icmp_type = t[0];
        break;
    default:
        break;
    }
}

static UINT rs_counting_filter(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction)
{
    TX_INTERRUPT_SAVE_AREA
    rs_packet packet;
    int index = rs_ip_index(ip_ptr);
    UINT dir = (direction == NX_IP_PACKET_OUT) ? 1u : 0u;

    if (index < 0 || packet_ptr == NX_NULL)
        return NX_SUCCESS;
    rs_parse(packet_ptr->nx_packet_prepend_ptr,
             (ULONG)(packet_ptr->nx_packet_append_ptr - packet_ptr->nx_packet_prepend_ptr), &packet);
    packet.ip = (UCHAR)index;
    packet.direction = (UCHAR)dir;
    TX_DISABLE
    rs_extended_count[index][dir]++;
    if (rs_log_count < RS_LOG_MAX)
        rs_log[rs_log_count++] = packet;
    else
        rs_log_overflow++;
    TX_RESTORE
    return NX_SUCCESS;
}

static UINT rs_legacy_filter(int index, UINT direction)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    rs_legacy_count[index][direction == NX_IP_PACKET_OUT ? 1 : 0]++;
    TX_RESTORE
    return NX_SUCCESS;
}

static UINT rs_legacy_filter_ip0(VOID *ip_header, UINT direction)
{
    (void)ip_header;
    return rs_legacy_filter(0, direction);
}

static UINT rs_legacy_filter_ip1(VOID *ip_header, UINT direction)
{
    (void)ip_header;
    return rs_legacy_filter(1, direction);
}

void rs_window_begin(void)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    rs_log_count = 0;
    rs_log_overflow = 0;
    memset(rs_legacy_count, 0, sizeof(rs_legacy_count));
    memset(rs_extended_count, 0, sizeof(rs_extended_count));
    TX_RESTORE
}

unsigned long rs_window_size(void)
{
    TX_INTERRUPT_SAVE_AREA
    unsigned long count;

    TX_DISABLE
    count = rs_log_count + rs_log_overflow;
    TX_RESTORE
    return count;
}

/* ---------------------------------------------------------------------------------------
   Network */

static void rs_address(UINT ip, UINT version, NXD_ADDRESS *address)
{
    memset(address, 0, sizeof(*address));
    if (version == 6)
    {
        address->nxd_ip_version = NX_IP_VERSION_V6;
        address->nxd_ip_address.v6[0] = 0x20010DB8UL; /* 2001:db8::1 and ::2 */
        address->nxd_ip_address.v6[3] = 1UL + ip;
    }
    else
    {
        address->nxd_ip_version = NX_IP_VERSION_V4;
        address->nxd_ip_address.v4 = IP_ADDRESS(10, 0, 0, 1 + ip);
    }
}

/* The same address in wire order, as the filter and the module report it. */
static void rs_address_bytes(UINT ip, UINT version, UCHAR out[16])
{
    memset(out, 0, 16);
    if (version == 6)
    {
        out[0] = 0x20;
        out[1] = 0x01;
        out[2] = 0x0D;
        out[3] = 0xB8;
        out[15] = (UCHAR)(1 + ip);
    }
    else
    {
        out[0] = 10;
        out[3] = (UCHAR)(1 + ip);
    }
}

static void rs_peer_entry(ULONG input);

void rs_network_create(void)
{
    UINT status;

    for (UINT i = 0; i < sizeof(payload); i++)
        payload[i] = (UCHAR)('a' + i % 26u);
    nx_system_initialize();
    status = nx_packet_pool_create(&rs_pool, "pool", 1536, pool_area, sizeof(pool_area));
    for (UINT i = 0; i < RS_IPS; i++)
    {
        status |= nx_ip_create(&rs_ip[i], i ? "ip1" : "ip0", IP_ADDRESS(10, 0, 0, 1 + i), 0xFFFFFF00UL, &rs_pool,
                               _nx_ram_network_driver, ip_stack[i], sizeof(ip_stack[i]), 1);
        status |= nx_arp_enable(&rs_ip[i], arp_area[i], sizeof(arp_area[i]));
        status |= nx_udp_enable(&rs_ip[i]);
        status |= nx_tcp_enable(&rs_ip[i]);
        status |= nxd_ipv6_enable(&rs_ip[i]);
        status |= nxd_icmp_enable(&rs_ip[i]);
        status |= nx_ip_fragment_enable(&rs_ip[i]);
    }
    status |= tx_semaphore_create(&peer_go, "peer go", 0);
    status |= tx_semaphore_create(&peer_done, "peer done", 0);
    status |= tx_thread_create(&peer_thread, "tcp peer", rs_peer_entry, 0, peer_stack, sizeof(peer_stack), 3, 3,
                               TX_NO_TIME_SLICE, TX_AUTO_START);
    rs_check(status == NX_SUCCESS,
             "packet pool, two NX_IP on the RAM driver, ARP, UDP, TCP, IPv6, ICMP and IP fragmentation enabled");
}

void rs_network_ready(void)
{
    UINT index[RS_IPS];
    UINT status = NX_SUCCESS;
    UINT valid = 0;

    for (UINT i = 0; i < RS_IPS; i++)
    {
        NXD_ADDRESS address;

        rs_address(i, 6, &address);
        status |= nxd_ipv6_address_set(&rs_ip[i], 0, &address, 64, &index[i]);
    }
    /* Duplicate address detection first: its probes belong to no test window. */
    for (UINT tick = 0; tick < 1000 && !valid; tick += 10)
    {
        valid = 1;
        for (UINT i = 0; i < RS_IPS; i++)
            valid &= rs_ip[i].nx_ipv6_address[index[i]].nxd_ipv6_address_state == NX_IPV6_ADDR_STATE_VALID;
        if (!valid)
            tx_thread_sleep(10);
    }
    rs_check(status == NX_SUCCESS && valid, "IPv6 addresses 2001:db8::1 and ::2 set and valid (DAD done)");

    /* The application's filters, before any module. */
    rs_ip[0].nx_ip_packet_filter = rs_legacy_filter_ip0;
    rs_ip[1].nx_ip_packet_filter = rs_legacy_filter_ip1;
    for (UINT i = 0; i < RS_IPS; i++)
        rs_ip[i].nx_ip_packet_filter_extended = rs_counting_filter;

    status = nx_udp_socket_create(&rs_ip[0], &udp_client, "udp client", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8);
    status |= nx_udp_socket_create(&rs_ip[1], &udp_server, "udp server", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8);
    status |= nx_udp_socket_bind(&udp_client, RS_UDP_CLIENT, NX_WAIT_FOREVER);
    status |= nx_udp_socket_bind(&udp_server, RS_UDP_SERVER, NX_WAIT_FOREVER);
    status |= nx_tcp_socket_create(&rs_ip[0], &tcp_client, "tcp client", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8192,
                                   NX_NULL, NX_NULL);
    status |= nx_tcp_socket_create(&rs_ip[1], &tcp_server, "tcp server", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8192,
                                   NX_NULL, NX_NULL);
    rs_check(status == NX_SUCCESS, "UDP and TCP sockets created");

    /* Resolves ARP and the neighbour caches in both directions. */
    rs_window_begin();
    rs_check(rs_traffic(RS_ALL, NX_NULL) == 0, "warm-up traffic: every NetX call succeeded");
    rs_check(rs_check_traffic(RS_ALL, 0, "warm-up") == 0, "warm-up traffic seen by the counting filter");
}

/* ---------------------------------------------------------------------------------------
   Traffic */

static UINT rs_send_udp(NX_UDP_SOCKET *socket, UINT to_ip, UINT version, UINT port, ULONG length)
{
    NX_PACKET *packet;
    NXD_ADDRESS address;

    if (nx_packet_allocate(&rs_pool, &packet, version == 6 ? NX_IPv6_UDP_PACKET : NX_UDP_PACKET, RS_WAIT))
        return 1;
    nx_packet_data_append(packet, (VOID *)payload, length, &rs_pool, RS_WAIT);
    rs_address(to_ip, version, &address);
    if (nxd_udp_socket_send(socket, packet, &address, port) != NX_SUCCESS)
    {
        nx_packet_release(packet);
        return 1;
    }
    return 0;
}

static UINT rs_receive_udp(NX_UDP_SOCKET *socket, ULONG length)
{
    NX_PACKET *packet;
    UINT wrong;

    if (nx_udp_socket_receive(socket, &packet, RS_WAIT) != NX_SUCCESS)
        return 1;
    wrong = packet->nx_packet_length != length;
    nx_packet_release(packet);
    return wrong;
}

static UINT rs_udp_exchange(UINT version)
{
    UINT failures = 0;

    failures += rs_send_udp(&udp_client, 1, version, RS_UDP_SERVER, RS_UDP_DATA);
    failures += rs_receive_udp(&udp_server, RS_UDP_DATA);
    failures += rs_send_udp(&udp_server, 0, version, RS_UDP_CLIENT, RS_UDP_REPLY);
    failures += rs_receive_udp(&udp_client, RS_UDP_REPLY);
    return failures;
}

static UINT rs_send_tcp(NX_TCP_SOCKET *socket, UINT version, ULONG length)
{
    NX_PACKET *packet;

    if (nx_packet_allocate(&rs_pool, &packet, version == 6 ? NX_IPv6_TCP_PACKET : NX_TCP_PACKET, RS_WAIT))
        return 1;
    nx_packet_data_append(packet, (VOID *)payload, length, &rs_pool, RS_WAIT);
    if (nx_tcp_socket_send(socket, packet, RS_WAIT) != NX_SUCCESS)
    {
        nx_packet_release(packet);
        return 1;
    }
    return 0;
}

static volatile UINT peer_version;

/* The server side of a TCP exchange, in its own thread: a graceful close needs both ends
   waiting at once. */
static void rs_peer_entry(ULONG input)
{
    (void)input;
    for (;;)
    {
        UINT failures = 0;
        ULONG received = 0;
        NX_PACKET *packet;

        tx_semaphore_get(&peer_go, TX_WAIT_FOREVER);
        failures += nx_tcp_server_socket_accept(&tcp_server, RS_WAIT) != NX_SUCCESS;
        while (received < RS_TCP_SENDS * RS_TCP_DATA && failures == 0)
        {
            if (nx_tcp_socket_receive(&tcp_server, &packet, RS_WAIT) != NX_SUCCESS)
            {
                failures++;
                break;
            }
            received += packet->nx_packet_length;
            nx_packet_release(packet);
        }
        failures += received != RS_TCP_SENDS * RS_TCP_DATA;
        failures += rs_send_tcp(&tcp_server, peer_version, RS_TCP_REPLY);
        failures += nx_tcp_socket_state_wait(&tcp_server, NX_TCP_CLOSE_WAIT, RS_WAIT) != NX_SUCCESS;
        failures += nx_tcp_socket_disconnect(&tcp_server, RS_WAIT) != NX_SUCCESS;
        failures += nx_tcp_server_socket_unaccept(&tcp_server) != NX_SUCCESS;
        peer_failures = failures;
        tx_semaphore_put(&peer_done);
    }
}

static UINT rs_tcp_exchange(UINT version)
{
    UINT failures = 0;
    NXD_ADDRESS server;
    NX_PACKET *packet;

    peer_version = version;
    if (nx_tcp_server_socket_listen(&rs_ip[1], RS_TCP_SERVER, &tcp_server, 5, NX_NULL) != NX_SUCCESS)
        return 1;
    tx_semaphore_put(&peer_go);
    failures += nx_tcp_client_socket_bind(&tcp_client, RS_TCP_CLIENT + version, RS_WAIT) != NX_SUCCESS;
    rs_address(1, version, &server);
    failures += nxd_tcp_client_socket_connect(&tcp_client, &server, RS_TCP_SERVER, RS_WAIT) != NX_SUCCESS;
    for (UINT i = 0; i < RS_TCP_SENDS && failures == 0; i++)
        failures += rs_send_tcp(&tcp_client, version, RS_TCP_DATA);
    if (nx_tcp_socket_receive(&tcp_client, &packet, RS_WAIT) == NX_SUCCESS)
    {
        failures += packet->nx_packet_length != RS_TCP_REPLY;
        nx_packet_release(packet);
    }
    else
        failures++;
    failures += nx_tcp_socket_disconnect(&tcp_client, RS_WAIT) != NX_SUCCESS;
    if (tx_semaphore_get(&peer_done, 5 * RS_WAIT) != TX_SUCCESS)
        failures++;
    else
        failures += peer_failures;
    failures += nx_tcp_client_socket_unbind(&tcp_client) != NX_SUCCESS;
    failures += nx_tcp_server_socket_unlisten(&rs_ip[1], RS_TCP_SERVER) != NX_SUCCESS;
    return failures;
}

static UINT rs_ping(UINT version)
{
    NXD_ADDRESS address;
    NX_PACKET *reply;

    rs_address(1, version, &address);
    if (nxd_icmp_ping(&rs_ip[0], &address, (CHAR *)payload, RS_PING_DATA, &reply, RS_WAIT) != NX_SUCCESS)
        return 1;
    nx_packet_release(reply);
    return 0;
}

UINT rs_traffic(UINT kinds, rs_exchange_fn after_exchange)
{
    UINT failures = 0;

    for (UINT version = 4; version <= 6; version += 2)
    {
        UINT v6 = version == 6;

        if (kinds & (v6 ? RS_UDP6 : RS_UDP4))
            for (UINT i = 0; i < RS_DATAGRAMS; i++)
            {
                failures += rs_udp_exchange(version);
                if (after_exchange)
                    after_exchange();
            }
        if (kinds & (v6 ? RS_TCP6 : RS_TCP4))
        {
            failures += rs_tcp_exchange(version);
            if (after_exchange)
                after_exchange();
        }
        if (kinds & (v6 ? RS_PING6 : RS_PING4))
            for (UINT i = 0; i < RS_PINGS; i++)
            {
                failures += rs_ping(version);
                if (after_exchange)
                    after_exchange();
            }
    }
    return failures;
}

/* ---------------------------------------------------------------------------------------
   Checks: the filter's window against the traffic */

/* One check of a window: printed when verbose or failed, unless this is a trial. */
static int rs_sub(int ok, int verbose, const char *label, const char *format, ...) RS_PRINTF(4, 5);
static int rs_sub(int ok, int verbose, const char *label, const char *format, ...)
{
    char what[256];
    va_list args;

    if (rs_silent)
        return ok ? 0 : 1;
    va_start(args, format);
    vsnprintf(what, sizeof(what), format, args);
    va_end(args);
    if (verbose || !ok)
        rs_check(ok, "%s: %s", label, what);
    return ok ? 0 : 1;
}

/* Counts of one kind of packet in a window, per IP (0: client, 1: server) and direction
   (0: in, 1: out). */
typedef unsigned long rs_counts[RS_IPS][2];

/* A kind of packet the sender (ip `from`) sent `want` times: seen leaving it and arriving
   at the other IP exactly that often, and nowhere else. */
static int rs_sub_one_way(const rs_counts counts, UINT from, unsigned long want, int verbose, const char *label,
                          const char *what)
{
    UINT to = 1u - from;

    return rs_sub(counts[from][1] == want && counts[to][0] == want && counts[from][0] == 0 && counts[to][1] == 0,
                  verbose, label, "%s: out of ip%u %lu, into ip%u %lu, expected %lu (elsewhere %lu)", what, from,
                  counts[from][1], to, counts[to][0], want, counts[from][0] + counts[to][1]);
}

/* What a window held, per kind of packet. Per IP version (0: v4, 1: v6); TCP counts are kept
   per sender (0: client, 1: server). */
typedef struct
{
    rs_counts udp_request[2], udp_reply[2], echo_request[2], echo_reply[2];
    rs_counts tcp[2], tcp_syn[2], tcp_fin[2], tcp_rst[2], tcp_data[2], tcp_data_segments[2];
    unsigned long neighbour, unexpected;
} rs_tally;

/* Counts one packet of the filter's log in `t`. */
static void rs_tally_packet(rs_tally *t, const rs_packet *p, const char *label)
{
    UINT v = p->version == 6;
    UINT ip = p->ip, d = p->direction;
    UCHAR client[16], server[16];
    UINT from_client, from_server, sender;

    rs_address_bytes(0, p->version, client);
    rs_address_bytes(1, p->version, server);
    from_client = !memcmp(p->src, client, 16) && !memcmp(p->dst, server, 16);
    from_server = !memcmp(p->src, server, 16) && !memcmp(p->dst, client, 16);
    sender = from_client ? 0u : 1u;
    if (p->proto == RS_PROTO_UDP && from_client && p->sport == RS_UDP_CLIENT && p->dport == RS_UDP_SERVER &&
        p->data == RS_UDP_DATA)
        t->udp_request[v][ip][d]++;
    else if (p->proto == RS_PROTO_UDP && from_server && p->sport == RS_UDP_SERVER && p->dport == RS_UDP_CLIENT &&
             p->data == RS_UDP_REPLY)
        t->udp_reply[v][ip][d]++;
    else if (p->proto == RS_PROTO_TCP &&
             ((from_client && p->sport == RS_TCP_CLIENT + p->version && p->dport == RS_TCP_SERVER) ||
              (from_server && p->sport == RS_TCP_SERVER && p->dport == RS_TCP_CLIENT + p->version)) &&
             ip == (d ? sender : 1u - sender))
    {
        t->tcp[v][sender][d]++;
        t->tcp_syn[v][sender][d] += (p->tcp_flags & 0x02) != 0;
        t->tcp_fin[v][sender][d] += (p->tcp_flags & 0x01) != 0;
        t->tcp_rst[v][sender][d] += (p->tcp_flags & 0x04) != 0;
        t->tcp_data[v][sender][d] += p->data;
        t->tcp_data_segments[v][sender][d] += p->data != 0;
    }
    else if (p->proto == RS_PROTO_ICMP && from_client && p->icmp_type == (v ? 128 : 8) &&
             p->payload == 8 + RS_PING_DATA)
        t->echo_request[v][ip][d]++;
    else if (p->proto == RS_PROTO_ICMP && from_server && p->icmp_type == (v ? 129 : 0) &&
             p->payload == 8 + RS_PING_DATA)
        t->echo_reply[v][ip][d]++;
    else if (p->version == 6 && p->ip_protocol == 58 && p->icmp_type >= 133 && p->icmp_type <= 137)
        t->neighbour++;
    else
    {
        t->unexpected++;
        if (!rs_silent)
            rs_note("%s: unexpected packet ip%u %s v%u protocol %u", label, ip, d ? "out" : "in", p->version,
                    p->ip_protocol);
    }
}

/* TCP over IP version index `v`, the segments side `s` sent: every one arrives once; one SYN
   and one FIN each way, no RST; the data exactly, in one segment per send. The other segments
   (ACKs) are whatever NetX Duo sent: the flows are checked against them. */
static int rs_check_tcp_side(const rs_tally *t, UINT v, UINT s, UINT has_tcp, int verbose, const char *label)
{
    UINT version = v ? 6 : 4;
    const char *side = s ? "server" : "client";
    unsigned long data = has_tcp ? (s ? RS_TCP_REPLY : RS_TCP_SENDS * RS_TCP_DATA) : 0;
    unsigned long segments = has_tcp ? (s ? 1 : RS_TCP_SENDS) : 0;
    unsigned long one = has_tcp ? 1 : 0;
    const unsigned long *tcp = t->tcp[v][s], *syn = t->tcp_syn[v][s], *fin = t->tcp_fin[v][s];
    const unsigned long *rst = t->tcp_rst[v][s], *bytes = t->tcp_data[v][s], *with_data = t->tcp_data_segments[v][s];
    int failures = 0;

    failures += rs_sub(tcp[1] == tcp[0] && (tcp[1] != 0) == has_tcp, verbose, label,
                       "TCPv%u segments the %s sent: %lu, the other side received: %lu", version, side, tcp[1], tcp[0]);
    failures += rs_sub(syn[1] == one && fin[1] == one && rst[1] == 0 && syn[0] == one && fin[0] == one && rst[0] == 0,
                       verbose, label, "TCPv%u %s: SYN %lu, FIN %lu, RST %lu (expected %lu, %lu, 0)", version, side,
                       syn[1], fin[1], rst[1], one, one);
    failures += rs_sub(bytes[1] == data && bytes[0] == data && with_data[1] == segments, verbose, label,
                       "TCPv%u %s data: %lu bytes in %lu segments sent, %lu bytes received "
                       "(expected %lu in %lu)",
                       version, side, bytes[1], with_data[1], bytes[0], data, segments);
    return failures;
}

/* The UDP, ICMP and TCP traffic of IP version index `v` in the window, against `kinds`. */
static int rs_check_version(const rs_tally *t, UINT kinds, UINT v, int verbose, const char *label)
{
    UINT version = v ? 6 : 4;
    unsigned long udp = (kinds & (v ? RS_UDP6 : RS_UDP4)) ? RS_DATAGRAMS : 0;
    unsigned long pings = (kinds & (v ? RS_PING6 : RS_PING4)) ? RS_PINGS : 0;
    UINT has_tcp = (kinds & (v ? RS_TCP6 : RS_TCP4)) != 0;
    int failures = 0;
    char what[96];

    snprintf(what, sizeof(what), "UDPv%u requests (%u data bytes)", version, RS_UDP_DATA);
    failures += rs_sub_one_way(t->udp_request[v], 0, udp, verbose, label, what);
    snprintf(what, sizeof(what), "UDPv%u replies (%u data bytes)", version, RS_UDP_REPLY);
    failures += rs_sub_one_way(t->udp_reply[v], 1, udp, verbose, label, what);
    snprintf(what, sizeof(what), "ICMPv%u echo requests", version == 6 ? 6 : 4);
    failures += rs_sub_one_way(t->echo_request[v], 0, pings, verbose, label, what);
    snprintf(what, sizeof(what), "ICMPv%u echo replies", version == 6 ? 6 : 4);
    failures += rs_sub_one_way(t->echo_reply[v], 1, pings, verbose, label, what);
    for (UINT s = 0; s < 2; s++)
        failures += rs_check_tcp_side(t, v, s, has_tcp, verbose, label);
    return failures;
}

int rs_check_traffic(UINT kinds, int verbose, const char *label)
{
    TX_INTERRUPT_SAVE_AREA
    rs_tally tally;
    unsigned long count, overflow;
    rs_counts legacy, extended;
    int failures = 0;

    memset(&tally, 0, sizeof(tally));
    TX_DISABLE
    count = rs_log_count;
    overflow = rs_log_overflow;
    memcpy(legacy, rs_legacy_count, sizeof(legacy));
    memcpy(extended, rs_extended_count, sizeof(extended));
    TX_RESTORE

    for (unsigned long n = 0; n < count; n++)
        rs_tally_packet(&tally, &rs_log[n], label);

    failures += rs_sub(overflow == 0, verbose, label, "the filter's log held every packet (%lu lost)", overflow);
    for (UINT v = 0; v < 2; v++)
        failures += rs_check_version(&tally, kinds, v, verbose, label);
    failures += rs_sub(tally.unexpected == 0, verbose, label, "nothing else but IPv6 neighbour discovery (%lu other)",
                       tally.unexpected);
    rs_last_neighbour = tally.neighbour;
    if (verbose && !rs_silent)
        rs_note("%s: %lu packets in the window, %lu of them neighbour discovery", label, count, tally.neighbour);
    for (UINT i = 0; i < RS_IPS; i++)
        failures += rs_sub(legacy[i][0] == extended[i][0] && legacy[i][1] == extended[i][1], verbose, label,
                           "ip%u: legacy filter in %lu out %lu, extended filter in %lu out %lu", i, legacy[i][0],
                           legacy[i][1], extended[i][0], extended[i][1]);
    return failures;
}

/* ---------------------------------------------------------------------------------------
   Checks: the module's flows against the filter's window */

int rs_stats_get(nxsm_stats *stats)
{
    nxsm_result result;

    memset(stats, 0, sizeof(*stats));
    stats->struct_size = sizeof(*stats);
    while ((result = nxsm_get_stats(stats)) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    return result == NXSM_OK ? 0 : 1;
}

int rs_settle(rs_exchange_fn drain, int module_running)
{
    for (UINT tries = 0; tries < 400; tries++)
    {
        unsigned long before = rs_window_size();
        nxsm_stats stats;

        tx_thread_sleep(2);
        if (drain)
            drain();
        if (rs_window_size() != before)
            continue;
        if (!module_running || (rs_stats_get(&stats) == 0 && stats.ring_waiting == 0))
            return 0;
    }
    return 1;
}

/* Whether the unicast-only hooks see an inbound packet: NetX hands it to TCP, UDP, ICMP or
   ICMPv6 only when it is addressed to the IP (IPv6: also the solicited-node group of its
   address). */
/* Whether `address` (wire order) is one ip delivers to itself: its own address or, IPv6,
   the solicited-node group of it. */
static int rs_address_for(UINT ip, UINT version, const UCHAR address[16])
{
    static const UCHAR solicited[13] = {0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF};
    UCHAR own[16];

    rs_address_bytes(ip, version, own);
    if (!memcmp(address, own, 16))
        return 1;
    return version == 6 && !memcmp(address, solicited, 13) && !memcmp(address + 13, own + 13, 3);
}

static int rs_accepted(const rs_packet *p)
{
    return p->proto != RS_PROTO_OTHER && rs_address_for(p->ip, p->version, p->dst);
}

#define RS_FLOWS_MAX 128

static int rs_flow_same_key(const nxsm_flow *a, const nxsm_flow *b)
{
    return a->ip_version == b->ip_version && a->protocol == b->protocol &&
           !memcmp(a->local_address, b->local_address, 16) && !memcmp(a->remote_address, b->remote_address, 16) &&
           a->local_port == b->local_port && a->remote_port == b->remote_port;
}

static int rs_flow_same_counts(const nxsm_flow *a, const nxsm_flow *b)
{
    return a->packets_in == b->packets_in && a->packets_out == b->packets_out && a->bytes_in == b->bytes_in &&
           a->bytes_out == b->bytes_out && a->tcp_flags_in == b->tcp_flags_in && a->tcp_flags_out == b->tcp_flags_out;
}

static void rs_flow_print(const char *who, const nxsm_flow *f)
{
    char local[48], remote[48];
    const UCHAR *addresses[2] = {f->local_address, f->remote_address};
    char *texts[2] = {local, remote};

    if (rs_silent)
        return;
    for (int k = 0; k < 2; k++)
    {
        const UCHAR *a = addresses[k];
        if (f->ip_version == 4)
            snprintf(texts[k], 48, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        else
            snprintf(texts[k], 48, "%x:%x:%x:%x:%x:%x:%x:%x", be16(a), be16(a + 2), be16(a + 4), be16(a + 6),
                     be16(a + 8), be16(a + 10), be16(a + 12), be16(a + 14));
    }
    rs_note("%s v%u proto %u %s:%u <-> %s:%u in %u pkts %u B flags %02x, out %u pkts %u B flags %02x", who,
            f->ip_version, f->protocol, local, f->local_port, remote, f->remote_port, f->packets_in, f->bytes_in,
            f->tcp_flags_in, f->packets_out, f->bytes_out, f->tcp_flags_out);
}

/* Every flow of the module's current window. */
static nxsm_result rs_read_flows(nxsm_flow flows[RS_FLOWS_MAX], size_t *count)
{
    *count = 0;
    for (;;)
    {
        size_t written = 0;
        nxsm_result result = nxsm_read_flows(*count, flows + *count, RS_FLOWS_MAX - *count, &written);

        if (result == NXSM_ERR_BUSY)
        {
            tx_thread_sleep(1);
            continue;
        }
        if (result != NXSM_OK)
            return result;
        *count += written;
        if (written == 0 || *count == RS_FLOWS_MAX)
            return NXSM_OK;
    }
}

static int rs_compare_flows(UINT mode, const nxsm_stats *stats_before, int verbose, const char *label)
{
    TX_INTERRUPT_SAVE_AREA
    static nxsm_flow model[RS_FLOWS_MAX], module[RS_FLOWS_MAX];
    size_t model_count = 0, module_count = 0;
    nxsm_result result;
    unsigned long count, seen = 0, counted = 0, ignored = 0, matched = 0;
    int failures = 0;
    nxsm_stats stats;

    TX_DISABLE
    count = rs_log_count;
    TX_RESTORE

    /* What the module must have recorded: every packet sent (its filter runs first), and the
       packets received where its hooks sit. NetX Duo hands neighbour solicitations straight
       to the driver, past both filters: neither the application nor the module sees them
       leave, only arrive. */
    for (unsigned long n = 0; n < count; n++)
    {
        const rs_packet *p = &rs_log[n];
        nxsm_flow key;
        size_t i;
        int out = p->direction == 1;

        if (!out && mode == NXSM_CAPTURE_UNICAST_ONLY && !rs_accepted(p))
            continue;
        seen++;
        if (p->proto == RS_PROTO_OTHER)
        {
            ignored++;
            continue;
        }
        counted++;
        memset(&key, 0, sizeof(key));
        key.ip_version = p->version;
        key.protocol = p->proto;
        memcpy(key.local_address, out ? p->src : p->dst, 16);
        memcpy(key.remote_address, out ? p->dst : p->src, 16);
        key.local_port = out ? p->sport : p->dport;
        key.remote_port = out ? p->dport : p->sport;
        for (i = 0; i < model_count && !rs_flow_same_key(&model[i], &key); i++)
            ;
        if (i == model_count)
        {
            if (model_count == RS_FLOWS_MAX)
                return rs_sub(0, verbose, label, "more than %u flows in the window", RS_FLOWS_MAX);
            model[model_count++] = key;
        }
        if (out)
        {
            model[i].packets_out++;
            model[i].bytes_out += p->payload;
            model[i].tcp_flags_out |= p->tcp_flags;
        }
        else
        {
            model[i].packets_in++;
            model[i].bytes_in += p->payload;
            model[i].tcp_flags_in |= p->tcp_flags;
        }
    }

    result = rs_read_flows(module, &module_count);
    if (result != NXSM_OK)
        failures += rs_sub(0, verbose, label, "nxsm_read_flows returned %u", result);

    for (size_t i = 0; i < model_count; i++)
    {
        size_t j;

        for (j = 0; j < module_count && !rs_flow_same_key(&module[j], &model[i]); j++)
            ;
        if (j < module_count && rs_flow_same_counts(&module[j], &model[i]))
            matched++;
        else
        {
            rs_flow_print("expected", &model[i]);
            if (j < module_count)
                rs_flow_print("module  ", &module[j]);
            else if (!rs_silent)
                rs_note("module has no such flow");
        }
    }
    if (verbose)
        for (size_t i = 0; i < module_count; i++)
            rs_flow_print(label, &module[i]);
    failures += rs_sub(matched == model_count && model_count > 0, verbose, label,
                       "every flow the filter's packets make, with exact packets, bytes and TCP flags each way "
                       "(%lu of %lu)",
                       matched, (unsigned long)model_count);
    failures += rs_sub(module_count == model_count, verbose, label, "no other flow (module %lu, expected %lu)",
                       (unsigned long)module_count, (unsigned long)model_count);
    failures += rs_sub(rs_stats_get(&stats) == 0, verbose, label, "nxsm_get_stats");
    failures += rs_sub(stats.packets_seen - stats_before->packets_seen == seen, verbose, label,
                       "packets seen by the module: %lu, expected %lu",
                       (unsigned long)(stats.packets_seen - stats_before->packets_seen), seen);
    failures += rs_sub(stats.packets_counted - stats_before->packets_counted == counted, verbose, label,
                       "packets counted in flows: %lu, expected %lu",
                       (unsigned long)(stats.packets_counted - stats_before->packets_counted), counted);
    failures += rs_sub(stats.ignored - stats_before->ignored == ignored, verbose, label,
                       "packets ignored (not TCP, UDP or ICMP): %lu, expected %lu",
                       (unsigned long)(stats.ignored - stats_before->ignored), ignored);
    failures += rs_sub(stats.ring_dropped == stats_before->ring_dropped && stats.malformed == stats_before->malformed &&
                           stats.table_full_dropped == stats_before->table_full_dropped && stats.ring_waiting == 0,
                       verbose, label, "ring drops %lu, malformed %lu, table full %lu, waiting %lu: all 0",
                       (unsigned long)(stats.ring_dropped - stats_before->ring_dropped),
                       (unsigned long)(stats.malformed - stats_before->malformed),
                       (unsigned long)(stats.table_full_dropped - stats_before->table_full_dropped),
                       (unsigned long)stats.ring_waiting);
    return failures;
}

int rs_check_flows(UINT mode, const nxsm_stats *stats_before, rs_exchange_fn drain, int verbose, const char *label)
{
    /* A packet NetX Duo sends on its own (a neighbour unreachability probe) may arrive while
       the window is compared: compare again once it has settled. */
    for (UINT attempt = 0; attempt < 3; attempt++)
    {
        unsigned long size = rs_window_size();
        int failures;

        rs_silent = 1;
        failures = rs_compare_flows(mode, stats_before, 0, label);
        rs_silent = 0;
        if (failures == 0 || rs_window_size() == size)
            break;
        rs_settle(drain, 1);
    }
    return rs_compare_flows(mode, stats_before, verbose, label);
}

int rs_check_netx_totals(const rs_netx_counters *delta)
{
    TX_INTERRUPT_SAVE_AREA
    static nxsm_flow flows[RS_FLOWS_MAX];
    size_t count = 0;
    unsigned long logged;
    int ok = rs_read_flows(flows, &count) == NXSM_OK;

    TX_DISABLE
    logged = rs_log_count;
    TX_RESTORE
    for (UINT ip = 0; ip < RS_IPS; ip++)
    {
        unsigned long in = 0, in_bytes = 0, out = 0, out_bytes = 0, solicitations = 0, solicitation_bytes = 0;

        for (size_t i = 0; i < count; i++)
            if (rs_address_for(ip, flows[i].ip_version, flows[i].local_address))
            {
                in += flows[i].packets_in;
                in_bytes += flows[i].bytes_in;
                out += flows[i].packets_out;
                out_bytes += flows[i].bytes_out;
            }
        /* What ip sent past the filters, seen arriving at the other IP. */
        for (unsigned long n = 0; n < logged; n++)
        {
            const rs_packet *p = &rs_log[n];

            if (p->ip != 1u - ip || p->direction != 0 || p->version != 6 || p->ip_protocol != 58 || p->icmp_type != 135)
                continue;
            solicitations++;
            solicitation_bytes += p->payload;
        }
        rs_note("ip%u: NetX Duo sent %lu packets, %lu bytes, received %lu, %lu; the module's flows: out %lu, %lu, "
                "in %lu, %lu; neighbour solicitations sent past the filters: %lu, %lu bytes",
                ip, (unsigned long)delta->value[ip][0], (unsigned long)delta->value[ip][1],
                (unsigned long)delta->value[ip][2], (unsigned long)delta->value[ip][3], out, out_bytes, in, in_bytes,
                solicitations, solicitation_bytes);
        ok &= delta->value[ip][0] == out + solicitations && delta->value[ip][1] == out_bytes + solicitation_bytes &&
              delta->value[ip][2] == in && delta->value[ip][3] == in_bytes;
    }
    return ok;
}

/* ---------------------------------------------------------------------------------------
   Hooks, objects, counters */

void rs_hooks_get(rs_hooks hooks[RS_IPS])
{
    for (UINT i = 0; i < RS_IPS; i++)
    {
        hooks[i].filter = rs_ip[i].nx_ip_packet_filter;
        hooks[i].filter_extended = rs_ip[i].nx_ip_packet_filter_extended;
        hooks[i].tcp = rs_ip[i].nx_ip_tcp_packet_receive;
        hooks[i].udp = rs_ip[i].nx_ip_udp_packet_receive;
        hooks[i].icmp = rs_ip[i].nx_ip_icmp_packet_receive;
        hooks[i].icmpv6 = rs_ip[i].nx_ip_icmpv6_packet_process;
    }
}

int rs_hooks_equal(const rs_hooks a[RS_IPS], const rs_hooks b[RS_IPS])
{
    for (UINT i = 0; i < RS_IPS; i++)
        if (a[i].filter != b[i].filter || a[i].filter_extended != b[i].filter_extended || a[i].tcp != b[i].tcp ||
            a[i].udp != b[i].udp || a[i].icmp != b[i].icmp || a[i].icmpv6 != b[i].icmpv6)
            return 0;
    return 1;
}

int rs_hooks_installed(const rs_hooks before[RS_IPS], UINT mode)
{
    rs_hooks now[RS_IPS];
    int receivers = mode == NXSM_CAPTURE_UNICAST_ONLY;

    rs_hooks_get(now);
    for (UINT i = 0; i < RS_IPS; i++)
    {
        if (now[i].filter != before[i].filter || now[i].filter_extended == before[i].filter_extended ||
            now[i].filter_extended == NX_NULL)
            return 0;
        if (receivers != (now[i].tcp != before[i].tcp) || receivers != (now[i].udp != before[i].udp) ||
            receivers != (now[i].icmp != before[i].icmp) || receivers != (now[i].icmpv6 != before[i].icmpv6))
            return 0;
    }
    return 1;
}

void rs_objects_get(rs_objects *o)
{
    ULONG empty_requests, empty_suspensions, invalid_releases;

    memset(o, 0, sizeof(*o));
    o->threads = _tx_thread_created_count;
    o->timers = _tx_timer_created_count;
    o->mutexes = _tx_mutex_created_count;
    o->semaphores = _tx_semaphore_created_count;
    o->event_flags = _tx_event_flags_created_count;
    o->queues = _tx_queue_created_count;
    o->byte_pools = _tx_byte_pool_created_count;
    o->block_pools = _tx_block_pool_created_count;
    nx_packet_pool_info_get(&rs_pool, &o->pool_total, &o->pool_free, &empty_requests, &empty_suspensions,
                            &invalid_releases);
}

int rs_objects_equal(const rs_objects *a, const rs_objects *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

void rs_objects_print(const char *label, const rs_objects *o)
{
    rs_note("%s: threads %lu timers %lu mutexes %lu semaphores %lu event flags %lu queues %lu byte pools %lu "
            "block pools %lu; packets %lu free of %lu",
            label, (unsigned long)o->threads, (unsigned long)o->timers, (unsigned long)o->mutexes,
            (unsigned long)o->semaphores, (unsigned long)o->event_flags, (unsigned long)o->queues,
            (unsigned long)o->byte_pools, (unsigned long)o->block_pools, (unsigned long)o->pool_free,
            (unsigned long)o->pool_total);
}

void rs_netx_counters_get(rs_netx_counters *c)
{
    memset(c, 0, sizeof(*c));
    for (UINT i = 0; i < RS_IPS; i++)
    {
        ULONG *v = c->value[i];

        nx_ip_info_get(&rs_ip[i], &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
        nx_tcp_info_get(&rs_ip[i], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15], &v[16], &v[17], &v[18], &v[19],
                        &v[20]);
        nx_udp_info_get(&rs_ip[i], &v[21], &v[22], &v[23], &v[24], &v[25], &v[26], &v[27]);
        nx_icmp_info_get(&rs_ip[i], &v[28], &v[29], &v[30], &v[31], &v[32], &v[33]);
    }
}

void rs_netx_counters_delta(const rs_netx_counters *before, const rs_netx_counters *after, rs_netx_counters *delta)
{
    for (UINT i = 0; i < RS_IPS; i++)
        for (UINT k = 0; k < RS_COUNTERS; k++)
            delta->value[i][k] = after->value[i][k] - before->value[i][k];
}

int rs_netx_counters_equal(const rs_netx_counters *a, const rs_netx_counters *b, int verbose)
{
    int same = 1;

    for (UINT i = 0; i < RS_IPS; i++)
        for (UINT k = 0; k < RS_COUNTERS; k++)
            if (a->value[i][k] != b->value[i][k])
            {
                same = 0;
                rs_note("ip%u counter %u: %lu vs %lu", i, k, (unsigned long)a->value[i][k],
                        (unsigned long)b->value[i][k]);
            }
            else if (verbose && a->value[i][k] != 0)
                rs_note("ip%u counter %u: %lu", i, k, (unsigned long)a->value[i][k]);
    return same;
}

/* ---------------------------------------------------------------------------------------
   Detection: two policies of c-harness/realstack/policy/, compiled by nxsm-policy at build
   time (cmake/NxsmPolicy.cmake). block.json lists ip1's IPv4 address as an indicator and
   blocks it: built into each program by nxsm_builtin_policy(), what NXSM_POLICY_FILE uses,
   and loaded by nxsm_policy_load_builtin(). alert.json lists ip1's IPv6 address and only
   alerts: the array rs_policy_alert (nxsm_policy_array()). */

extern const uint8_t rs_policy_alert[];
extern const size_t rs_policy_alert_bytes;

static nxsm_result rs_policy_load_alert(void)
{
    return nxsm_policy_load(rs_policy_alert, rs_policy_alert_bytes);
}

#define RS_BLOCK_INDICATOR 1u    /* policy flag BLOCK_INDICATOR (docs/policy-format.md 1.2) */
#define RS_UDP_PROBE       7000u /* ip1's probe port: above ip0's 5000, so the peer opens that flow */
#define RS_ALERTS_MAX      16u

/* NetX Duo counters (rs_netx_counters_get's order). */
#define RS_N_IP_SENT           0u
#define RS_N_IP_BYTES_SENT     1u
#define RS_N_IP_RECEIVED       2u
#define RS_N_IP_BYTES_RECEIVED 3u
#define RS_N_UDP_SENT          21u
#define RS_N_UDP_BYTES_SENT    22u

static nxsm_alert rs_alerts[RS_ALERTS_MAX];
static volatile unsigned long rs_alert_count;
static NX_UDP_SOCKET udp_probe;

/* The alert callback: on the consumer's side (the drop-in's cloud helper thread). */
static void rs_alert_record(const nxsm_alert *alert, void *context)
{
    TX_INTERRUPT_SAVE_AREA
    unsigned long index;

    (void)context;
    TX_DISABLE
    index = rs_alert_count;
    if (index < RS_ALERTS_MAX)
        rs_alerts[index] = *alert;
    rs_alert_count = index + 1u;
    TX_RESTORE
}

/* One whole poll after the ring was drained: the native program drains and polls itself,
   the drop-in waits for a poll of the cloud helper thread that began after this call
   (polls counts a poll as it begins: two more means one whole). Returns 0 on success. */
static int rs_poll_whole(const rs_module *m)
{
    nxsm_stats first, now;
    nxsm_result result;

    if (m->drain)
    {
        m->drain();
        while ((result = nxsm_poll(RS_NOW, false)) == NXSM_ERR_BUSY)
            tx_thread_sleep(1);
        return result == NXSM_OK ? 0 : 1;
    }
    if (rs_stats_get(&first))
        return 1;
    for (UINT ticks = 0; ticks < 500; ticks += 10)
    {
        tx_thread_sleep(10);
        if (rs_stats_get(&now) == 0 && now.polls - first.polls >= 2)
            return 0;
    }
    return 1;
}

/* Recorded alerts from index `first` on that are the indicator alert of the UDP flow between
   ip0 (local) and ip1 over `version`, with these ports, initiator and policy. */
static unsigned long rs_alerts_matching(unsigned long first, UINT version, UINT local_port, UINT remote_port,
                                        UINT initiator, uint32_t crc)
{
    UCHAR local[16], remote[16];
    unsigned long found = 0;

    rs_address_bytes(0, version, local);
    rs_address_bytes(1, version, remote);
    for (unsigned long i = first; i < rs_alert_count && i < RS_ALERTS_MAX; i++)
    {
        const nxsm_alert *a = &rs_alerts[i];

        found += a->kind == NXSM_ALERT_INDICATOR && a->policy_crc32 == crc && a->rule == 0 && a->time_s == RS_NOW &&
                 a->ip_version == version && a->protocol == RS_PROTO_UDP && a->initiator == initiator &&
                 a->local_port == local_port && a->remote_port == remote_port && !memcmp(a->local_address, local, 16) &&
                 !memcmp(a->remote_address, remote, 16);
    }
    return found;
}

/* UDP packets of RS_UDP_DATA bytes in the filter's window at ip (direction 1: out) with
   these ports. */
static unsigned long rs_window_udp(UINT ip, UINT direction, UINT version, UINT sport, UINT dport)
{
    TX_INTERRUPT_SAVE_AREA
    unsigned long found = 0, count;

    TX_DISABLE
    count = rs_log_count;
    TX_RESTORE
    for (unsigned long n = 0; n < count; n++)
    {
        const rs_packet *p = &rs_log[n];

        found += p->ip == ip && p->direction == direction && p->version == version && p->proto == RS_PROTO_UDP &&
                 p->sport == sport && p->dport == dport && p->data == RS_UDP_DATA;
    }
    return found;
}

/* IPv6 neighbour discovery packets in the filter's window (NetX Duo probes a stale
   neighbour entry when it sees fit), and into `expected` (may be NULL) what NetX Duo's IP
   totals count for those that arrived: the receiver's in, the sender's out (a solicitation
   leaves past the filters: only its arrival is seen). */
static unsigned long rs_window_neighbour(rs_netx_counters *expected)
{
    TX_INTERRUPT_SAVE_AREA
    unsigned long found = 0, count;

    TX_DISABLE
    count = rs_log_count;
    TX_RESTORE
    for (unsigned long n = 0; n < count; n++)
    {
        const rs_packet *p = &rs_log[n];

        if (p->version != 6 || p->ip_protocol != 58 || p->icmp_type < 133 || p->icmp_type > 137)
            continue;
        found++;
        if (expected == NX_NULL || p->direction != 0)
            continue;
        expected->value[p->ip][RS_N_IP_RECEIVED]++;
        expected->value[p->ip][RS_N_IP_BYTES_RECEIVED] += p->payload;
        expected->value[1u - p->ip][RS_N_IP_SENT]++;
        expected->value[1u - p->ip][RS_N_IP_BYTES_SENT] += p->payload;
    }
    return found;
}

/* Packets of the filter's window other than neighbour discovery. */
static unsigned long rs_window_other(void)
{
    return rs_window_size() - rs_window_neighbour(NX_NULL);
}

/* What a detection check compares against. */
typedef struct
{
    nxsm_stats stats;
    rs_objects objects;
    rs_netx_counters counters;
} rs_snapshot;

static void rs_snapshot_take(rs_snapshot *s)
{
    rs_stats_get(&s->stats);
    rs_objects_get(&s->objects);
    rs_netx_counters_get(&s->counters);
    rs_window_begin();
}

/* Whether NetX Duo's counters moved from `s` by exactly `expected` (every other one 0) plus
   what the window's neighbour discovery moved. */
static int rs_counters_moved(const rs_snapshot *s, const rs_netx_counters *expected)
{
    rs_netx_counters now, delta, with_neighbour = *expected;

    rs_window_neighbour(&with_neighbour);
    rs_netx_counters_get(&now);
    rs_netx_counters_delta(&s->counters, &now, &delta);
    return rs_netx_counters_equal(&delta, &with_neighbour, 0);
}

/* Loads a policy with `load` and checks what nxsm_policy_info reports; its CRC to `crc`. */
static void rs_policy_check(const char *name, nxsm_result (*load)(void), uint32_t flags, uint32_t v4, uint32_t v6,
                            uint32_t *crc)
{
    nxsm_policy_summary info;
    nxsm_result loaded = load(), read;

    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    read = nxsm_policy_info(&info);
    rs_check(loaded == NXSM_OK && read == NXSM_OK && info.loaded && info.crc32 != 0 && info.flags == flags &&
                 info.indicators_v4 == v4 && info.indicators_v6 == v6,
             "%s loaded (%u): nxsm_policy_info: CRC-32 %08lx, flags %lx, %lu IPv4 and %lu IPv6 indicator ranges", name,
             (UINT)loaded, (unsigned long)info.crc32, (unsigned long)info.flags, (unsigned long)info.indicators_v4,
             (unsigned long)info.indicators_v6);
    *crc = info.crc32;
}

/* Prints the alerts recorded from index `first` on. */
static void rs_alerts_print(unsigned long first)
{
    for (unsigned long i = first; i < rs_alert_count && i < RS_ALERTS_MAX; i++)
    {
        const nxsm_alert *a = &rs_alerts[i];

        rs_note(
            "alert: kind %lu rule %lu policy %08lx time %lu v%u protocol %u initiator %u ports %u/%u local %02x%02x.."
            "%02x remote %02x%02x..%02x",
            (unsigned long)a->kind, (unsigned long)a->rule, (unsigned long)a->policy_crc32, (unsigned long)a->time_s,
            a->ip_version, a->protocol, a->initiator, a->local_port, a->remote_port, a->local_address[0],
            a->local_address[1], a->local_address[a->ip_version == 6 ? 15 : 3], a->remote_address[0],
            a->remote_address[1], a->remote_address[a->ip_version == 6 ? 15 : 3]);
    }
}

/* Checks the packet pool, the module's packets_blocked and ip0's socket `socket` after one
   datagram a block rule dropped. */
static void rs_blocked_common(const rs_module *m, const rs_snapshot *s, NX_UDP_SOCKET *socket, const char *what)
{
    NX_PACKET *packet = NX_NULL;
    UINT received = nx_udp_socket_receive(socket, &packet, RS_WAIT);
    nxsm_stats stats;
    rs_objects after;

    if (received == NX_SUCCESS)
        nx_packet_release(packet);
    rs_check(received == NX_NO_PACKET, "%s: (a) it never arrives (nx_udp_socket_receive returns %u, NX_NO_PACKET %u)",
             what, received, (UINT)NX_NO_PACKET);
    rs_check(rs_settle(m->drain, 1) == 0 && rs_stats_get(&stats) == 0, "%s: settled", what);
    rs_check(stats.packets_blocked - s->stats.packets_blocked == 1,
             "%s: (b) nxsm_stats.packets_blocked grew by exactly 1 (%lu)", what,
             (unsigned long)(stats.packets_blocked - s->stats.packets_blocked));
    rs_objects_get(&after);
    rs_check(after.pool_free == s->objects.pool_free,
             "%s: the dropped packet went back to the pool (%lu free, %lu before)", what,
             (unsigned long)after.pool_free, (unsigned long)s->objects.pool_free);
}

/* ip0 sends a datagram to ip1's listed IPv4 address: the module's filter on ip0 drops it. */
static void rs_detect_outbound(const rs_module *m)
{
    const char *what = "blocked outbound 10.0.0.1:5000 -> 10.0.0.2:53";
    rs_snapshot s;
    rs_netx_counters expected;

    rs_snapshot_take(&s);
    /* NetX Duo's IPv4 send path has no result for a filter drop: the send succeeds. */
    rs_check(rs_send_udp(&udp_client, 1, 4, RS_UDP_SERVER, RS_UDP_DATA) == 0, "%s: nxd_udp_socket_send succeeds", what);
    rs_blocked_common(m, &s, &udp_server, what);
    rs_check(rs_window_other() == 1 && rs_window_udp(0, 1, 4, RS_UDP_CLIENT, RS_UDP_SERVER) == 1 &&
                 rs_legacy_count[0][1] == rs_extended_count[0][1],
             "%s: (c) the application's extended and legacy filters on ip0 still saw it leave; nothing else but "
             "neighbour discovery (%lu packets)",
             what, rs_window_other());
    memset(&expected, 0, sizeof(expected));
    expected.value[0][RS_N_UDP_SENT] = 1;
    expected.value[0][RS_N_UDP_BYTES_SENT] = RS_UDP_DATA;
    rs_check(rs_counters_moved(&s, &expected),
             "%s: NetX Duo: ip0's UDP packets and bytes sent +1 and +%u (counted before the IP filter); its IP "
             "totals and send drops unchanged (NetX Duo counts no filter drop); ip1 counts nothing",
             what, RS_UDP_DATA);
}

/* ip1 sends a datagram from its listed IPv4 address to ip0: ip0's UDP receive wrapper
   (unicast-only capture) releases it. */
static void rs_detect_inbound(const rs_module *m)
{
    const char *what = "blocked inbound 10.0.0.2:7000 -> 10.0.0.1:5000";
    rs_snapshot s;
    rs_netx_counters expected;

    rs_snapshot_take(&s);
    rs_check(rs_send_udp(&udp_probe, 0, 4, RS_UDP_CLIENT, RS_UDP_DATA) == 0, "%s: ip1 sends it", what);
    rs_blocked_common(m, &s, &udp_client, what);
    rs_check(rs_window_other() == 2 && rs_window_udp(1, 1, 4, RS_UDP_PROBE, RS_UDP_CLIENT) == 1 &&
                 rs_window_udp(0, 0, 4, RS_UDP_PROBE, RS_UDP_CLIENT) == 1 &&
                 rs_legacy_count[0][0] == rs_extended_count[0][0],
             "%s: (c) the application's extended and legacy filters on ip0 still saw it arrive (and on ip1 "
             "leave); nothing else but neighbour discovery (%lu packets)",
             what, rs_window_other());
    memset(&expected, 0, sizeof(expected));
    expected.value[1][RS_N_IP_SENT] = 1;
    expected.value[1][RS_N_IP_BYTES_SENT] = 8 + RS_UDP_DATA;
    expected.value[1][RS_N_UDP_SENT] = 1;
    expected.value[1][RS_N_UDP_BYTES_SENT] = RS_UDP_DATA;
    expected.value[0][RS_N_IP_RECEIVED] = 1;
    expected.value[0][RS_N_IP_BYTES_RECEIVED] = 8 + RS_UDP_DATA;
    rs_check(rs_counters_moved(&s, &expected),
             "%s: NetX Duo: ip1 sent it (IP and UDP +1); ip0's IP received +1 packet of %u bytes, its UDP "
             "received and every drop counter unchanged (the wrapper stands where UDP would take it)",
             what, 8 + RS_UDP_DATA);
}

/* The two IPv4 flows' alerts, handed over by the next whole poll. */
static void rs_detect_alerts_v4(const rs_module *m, unsigned long first, uint32_t crc, const nxsm_stats *before)
{
    nxsm_stats stats;
    unsigned long count;

    rs_check(rs_poll_whole(m) == 0 && rs_stats_get(&stats) == 0, "block policy: a whole poll ran");
    count = rs_alert_count - first;
    rs_alerts_print(first);
    rs_check(count == 2 && rs_alerts_matching(first, 4, RS_UDP_CLIENT, RS_UDP_SERVER, 0, crc) == 1 &&
                 rs_alerts_matching(first, 4, RS_UDP_CLIENT, RS_UDP_PROBE, 1, crc) == 1,
             "block policy: (d) the alert callback got %lu alerts, expected 2: indicator (source 0), IPv4 UDP, "
             "10.0.0.1:5000 with 10.0.0.2:53 opened by the device and with 10.0.0.2:7000 opened by the peer, "
             "block.json's CRC-32",
             count);
    rs_check(stats.alerts_sent - before->alerts_sent == 2 && stats.outbox_messages > before->outbox_messages,
             "block policy: (e) both alerts went into the outbox in messages for the hub (alerts_sent +%lu, "
             "outbox messages %lu -> %lu)",
             (unsigned long)(stats.alerts_sent - before->alerts_sent), (unsigned long)before->outbox_messages,
             (unsigned long)stats.outbox_messages);
}

/* The alert-only policy: a UDPv6 exchange with ip1's listed IPv6 address passes, and alerts. */
static void rs_detect_alert_only(const rs_module *m)
{
    uint32_t crc = 0;
    unsigned long first, count, icmp = 0;
    rs_snapshot s;
    nxsm_stats stats;

    rs_policy_check("policy/alert.json (nxsm_policy_load of rs_policy_alert)", rs_policy_load_alert, 0, 0, 1, &crc);
    first = rs_alert_count;
    rs_snapshot_take(&s);
    rs_check(rs_udp_exchange(6) == 0, "alert only: a UDPv6 request to 2001:db8::2 and its reply both arrive");
    rs_check(rs_settle(m->drain, 1) == 0 && rs_poll_whole(m) == 0 && rs_stats_get(&stats) == 0,
             "alert only: settled, a whole poll ran");
    rs_check(stats.packets_blocked == s.stats.packets_blocked &&
                 rs_window_udp(0, 1, 6, RS_UDP_CLIENT, RS_UDP_SERVER) == 1 &&
                 rs_window_udp(1, 0, 6, RS_UDP_CLIENT, RS_UDP_SERVER) == 1,
             "alert only: nothing blocked (packets_blocked +%lu), the request seen leaving ip0 and arriving at ip1",
             (unsigned long)(stats.packets_blocked - s.stats.packets_blocked));
    count = rs_alert_count - first;
    rs_alerts_print(first);
    for (unsigned long i = first; i < rs_alert_count && i < RS_ALERTS_MAX; i++)
        icmp += rs_alerts[i].protocol == RS_PROTO_ICMP && rs_alerts[i].ip_version == 6;
    /* Neighbour discovery with the listed peer, when NetX Duo probes a stale entry, is an
       ICMPv6 flow with it: alerted as well. */
    rs_check(rs_alerts_matching(first, 6, RS_UDP_CLIENT, RS_UDP_SERVER, 0, crc) == 1 && count == 1 + icmp,
             "alert only: (d) the alert callback got the indicator alert of IPv6 UDP [2001:db8::1]:5000 with "
             "[2001:db8::2]:53, opened by the device, alert.json's CRC-32 (%lu alerts, %lu of them ICMPv6)",
             count, icmp);
}

/* No policy: the blocked datagrams pass both ways again, without an alert. */
static void rs_detect_cleared(const rs_module *m)
{
    nxsm_policy_summary info;
    rs_snapshot s;
    nxsm_stats stats;
    unsigned long first;
    UINT failures;

    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    rs_check(nxsm_policy_clear() == NXSM_OK && nxsm_policy_info(&info) == NXSM_OK && !info.loaded && info.crc32 == 0,
             "nxsm_policy_clear: no policy active");
    first = rs_alert_count;
    rs_snapshot_take(&s);
    failures = rs_send_udp(&udp_client, 1, 4, RS_UDP_SERVER, RS_UDP_DATA);
    failures += rs_receive_udp(&udp_server, RS_UDP_DATA);
    failures += rs_send_udp(&udp_probe, 0, 4, RS_UDP_CLIENT, RS_UDP_DATA);
    failures += rs_receive_udp(&udp_client, RS_UDP_DATA);
    rs_check(failures == 0, "no policy: 10.0.0.1:5000 -> 10.0.0.2:53 and 10.0.0.2:7000 -> 10.0.0.1:5000 arrive");
    rs_check(rs_settle(m->drain, 1) == 0 && rs_poll_whole(m) == 0 && rs_stats_get(&stats) == 0,
             "no policy: settled, a whole poll ran");
    rs_check(stats.packets_blocked == s.stats.packets_blocked && rs_alert_count == first &&
                 stats.alerts_sent == s.stats.alerts_sent && rs_window_other() == 4,
             "no policy: nothing blocked, no alert, the filters saw the 2 datagrams leave and arrive, and nothing "
             "else but neighbour discovery (%lu packets)",
             rs_window_other());
}

/* The detection step: the block policy (outbound and inbound drops, their alerts), the
   alert-only policy, then none; unicast-only capture. */
static void rs_detection(const rs_module *m)
{
    nxsm_stats before;
    uint32_t crc = 0;
    unsigned long first;
    nxsm_result result;

    rs_check(nx_udp_socket_create(&rs_ip[1], &udp_probe, "udp probe", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8) ==
                     NX_SUCCESS &&
                 nx_udp_socket_bind(&udp_probe, RS_UDP_PROBE, NX_WAIT_FOREVER) == NX_SUCCESS,
             "detection: ip1's probe socket on port %u", RS_UDP_PROBE);
    rs_check(m->enable(NXSM_CAPTURE_UNICAST_ONLY), "detection: %s enabled (unicast-only capture)", m->name);
    while ((result = nxsm_set_alert_callback(rs_alert_record, NX_NULL)) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    rs_check(result == NXSM_OK, "detection: alert callback set");
    rs_policy_check("policy/block.json (nxsm_policy_load_builtin)", nxsm_policy_load_builtin, RS_BLOCK_INDICATOR, 1, 0,
                    &crc);
    first = rs_alert_count;
    rs_stats_get(&before);
    rs_detect_outbound(m);
    rs_detect_inbound(m);
    rs_detect_alerts_v4(m, first, crc, &before);
    rs_detect_alert_only(m);
    rs_detect_cleared(m);
    while ((result = nxsm_set_alert_callback(NX_NULL, NX_NULL)) == NXSM_ERR_BUSY)
        tx_thread_sleep(1);
    rs_check(result == NXSM_OK, "detection: alert callback removed");
    rs_check(m->disable(), "detection: %s disabled", m->name);
    rs_check(nx_udp_socket_unbind(&udp_probe) == NX_SUCCESS && nx_udp_socket_delete(&udp_probe) == NX_SUCCESS,
             "detection: probe socket deleted");
}

/* ---------------------------------------------------------------------------------------
   The suite */

static void rs_caches_invalidate(void)
{
    for (UINT i = 0; i < RS_IPS; i++)
    {
        nx_arp_dynamic_entries_invalidate(&rs_ip[i]);
        nxd_nd_cache_invalidate(&rs_ip[i]);
    }
}

/* The module's flow for a pair of the two IPs' addresses, or NULL. */
static const nxsm_flow *rs_find_flow(const nxsm_flow *flows, size_t count, UINT version, UINT protocol, UINT local,
                                     UINT local_port, UINT remote_port)
{
    UCHAR local_address[16], remote_address[16];

    rs_address_bytes(local, version, local_address);
    rs_address_bytes(1u - local, version, remote_address);
    for (size_t i = 0; i < count; i++)
        if (flows[i].ip_version == version && flows[i].protocol == protocol &&
            !memcmp(flows[i].local_address, local_address, 16) &&
            !memcmp(flows[i].remote_address, remote_address, 16) && flows[i].local_port == local_port &&
            flows[i].remote_port == remote_port)
            return &flows[i];
    return NX_NULL;
}

/* Datagrams larger than the MTU, unicast-only capture. NetX Duo's filter sees a datagram
   once, before fragmenting it: the sender's flow counts all of it. The receive routines
   see the datagram NetX Duo reassembled behind the first fragment's header (left in host
   order, the IPv6 fragment header included): the receiver's flow counts that first
   fragment with its own length, as the module counts a first fragment. */
static void rs_fragments(const rs_module *m)
{
    static nxsm_flow flows[RS_FLOWS_MAX];
    size_t count = 0;
    nxsm_stats before, after;
    UINT failures = 0;
    ULONG mtu = rs_ip[1].nx_ip_interface[0].nx_interface_ip_mtu_size;

    rs_check(m->enable(NXSM_CAPTURE_UNICAST_ONLY), "%s: enabled again (unicast-only capture)", m->name);
    rs_stats_get(&before);
    for (UINT version = 4; version <= 6; version += 2)
    {
        failures += rs_send_udp(&udp_client, 1, version, RS_UDP_SERVER, RS_BIG);
        failures += rs_receive_udp(&udp_server, RS_BIG);
    }
    rs_check(failures == 0,
             "%u-byte UDP datagrams over IPv4 and IPv6 through a %lu-byte MTU: fragmented, reassembled "
             "and received",
             RS_BIG, (unsigned long)mtu);
    rs_check(rs_settle(m->drain, 1) == 0 && rs_read_flows(flows, &count) == NXSM_OK && rs_stats_get(&after) == 0,
             "fragmented datagrams settled, flows and statistics read");
    for (UINT version = 4; version <= 6; version += 2)
    {
        /* Data of a fragment other than the last: what fits behind the headers, in whole
           8-byte units. */
        unsigned long first = version == 4 ? ((mtu - 20u) & ~7ul) : ((mtu - 40u - 8u) & ~7ul);
        const nxsm_flow *sent = rs_find_flow(flows, count, version, RS_PROTO_UDP, 0, RS_UDP_CLIENT, RS_UDP_SERVER);
        const nxsm_flow *received = rs_find_flow(flows, count, version, RS_PROTO_UDP, 1, RS_UDP_SERVER, RS_UDP_CLIENT);

        rs_check(sent && sent->packets_out == 1 && sent->bytes_out == 8 + RS_BIG && sent->packets_in == 0,
                 "IPv%u sender: 1 packet of %u bytes out (%u, %u)", version, 8 + RS_BIG, sent ? sent->packets_out : 0,
                 sent ? sent->bytes_out : 0);
        rs_check(received && received->packets_in == 1 && received->bytes_in == first && received->packets_out == 0,
                 "IPv%u receiver: 1 packet in, the first fragment's %lu bytes (%u, %u)", version, first,
                 received ? received->packets_in : 0, received ? received->bytes_in : 0);
    }
    rs_check(count == 4 && after.packets_seen - before.packets_seen == 4 &&
                 after.packets_counted - before.packets_counted == 4 && after.ignored == before.ignored,
             "4 flows, 4 packets seen and counted, none ignored (%lu flows, %lu seen, %lu counted, %lu ignored)",
             (unsigned long)count, (unsigned long)(after.packets_seen - before.packets_seen),
             (unsigned long)(after.packets_counted - before.packets_counted),
             (unsigned long)(after.ignored - before.ignored));
    rs_check(m->disable(), "%s: disabled", m->name);
}

/* ---------------------------------------------------------------------------------------
   Inventory: the shim's socket scan on the real NetX Duo tables, and the messages */

#define RS_TELNET_PORT 23u
#define RS_WEB_PORT    8080u
#define RS_COAP_PORT   5683u
#define RS_INV_MAX     32u

static NX_TCP_SOCKET tcp_telnet, tcp_web, tcp_client6;
static NX_UDP_SOCKET udp_coap;
static FILE *rs_message_file;
static int rs_message_file_failed;

int rs_message_dump_enabled(void)
{
    const char *path = getenv("NXSM_RS_MESSAGES");

    return path != NULL && path[0] != '\0';
}

int rs_message_record(const uint8_t *bytes, size_t length)
{
    const char *path = getenv("NXSM_RS_MESSAGES");

    if (path == NULL || path[0] == '\0' || rs_message_file_failed)
        return 0;
    if (rs_message_file == NULL)
    {
        /* Truncated at the first message of a run, then appended to, one line each. */
        rs_message_file = fopen(path, "w");
        if (rs_message_file == NULL)
        {
            rs_message_file_failed = 1;
            rs_note("cannot write the message dump %s", path);
            return 0;
        }
    }
    for (size_t i = 0; i < length; i++)
        fprintf(rs_message_file, "%02x", bytes[i]);
    fputc('\n', rs_message_file);
    return fflush(rs_message_file) == 0;
}

/* The hooks' table index of rs_ip[ip] (what the scan reports as ip_index), or -1. */
static int rs_hook_index(UINT ip)
{
    for (UINT i = 0; i < NXSM_MAX_IP_INSTANCES; i++)
    {
        NX_IP *hooked = NX_NULL;
        ULONG replaced = 0;

        if (nxsm_netx_hooked_ip(i, &hooked, &replaced) && hooked == &rs_ip[ip])
            return (int)i;
    }
    return -1;
}

/* How many of the first `count` entries are exactly `want`. */
static unsigned rs_socket_count(const nxsm_socket *sockets, uint32_t count, const nxsm_socket *want)
{
    unsigned n = 0;

    for (uint32_t i = 0; i < count; i++)
        n += memcmp(&sockets[i], want, sizeof(*want)) == 0;
    return n;
}

static nxsm_socket rs_socket(uint8_t kind, int ip_index, UINT local_port)
{
    nxsm_socket s;

    memset(&s, 0, sizeof(s));
    s.kind = kind;
    s.ip_index = (uint8_t)ip_index;
    s.local_port = (uint16_t)local_port;
    return s;
}

/* The established connection of rs_ip[local] (local_port) with rs_ip[remote] (remote_port). */
static nxsm_socket rs_connection(UINT version, UINT local, int ip_index, UINT local_port, UINT remote, UINT remote_port)
{
    nxsm_socket s = rs_socket(NXSM_SOCKET_TCP_ESTABLISHED, ip_index, local_port);

    s.ip_version = (uint8_t)version;
    s.remote_port = (uint16_t)remote_port;
    rs_address_bytes(local, version, s.local_address);
    rs_address_bytes(remote, version, s.remote_address);
    return s;
}

static nxsm_inventory_scan rs_scan(nxsm_socket sockets[RS_INV_MAX])
{
    nxsm_inventory_scan scan;

    memset(&scan, 0, sizeof(scan));
    memset(sockets, 0, RS_INV_MAX * sizeof(nxsm_socket));
    scan.sockets = sockets;
    scan.capacity = RS_INV_MAX;
    nxsm_netx_inventory_scan(&scan, NX_NULL);
    return scan;
}

static void rs_scan_print(const char *label, const nxsm_socket *sockets, uint32_t count)
{
    static const char *kinds[] = {"listen", "udp", "established"};

    for (uint32_t i = 0; i < count && i < RS_INV_MAX; i++)
    {
        const nxsm_socket *s = &sockets[i];

        rs_note("%s: %s ip%u port %u, v%u remote port %u", label, s->kind < 3u ? kinds[s->kind] : "?",
                (unsigned)s->ip_index, (unsigned)s->local_port, (unsigned)s->ip_version, (unsigned)s->remote_port);
    }
}

/* A connection from client (on ip0, bound to client_port) to server listening on ip1. */
static UINT rs_inventory_connect(NX_TCP_SOCKET *client, NX_TCP_SOCKET *server, UINT version, UINT client_port,
                                 UINT server_port)
{
    NXD_ADDRESS address;
    UINT failures = 0;
    UINT status;

    rs_address(1, version, &address);
    failures += nx_tcp_client_socket_bind(client, client_port, RS_WAIT) != NX_SUCCESS;
    /* NetX Duo answers the SYN from accept(): connect without waiting, then accept. */
    status = nxd_tcp_client_socket_connect(client, &address, server_port, NX_NO_WAIT);
    failures += status != NX_SUCCESS && status != NX_IN_PROGRESS;
    failures += nx_tcp_server_socket_accept(server, RS_WAIT) != NX_SUCCESS;
    failures += nx_tcp_socket_state_wait(client, NX_TCP_ESTABLISHED, RS_WAIT) != NX_SUCCESS;
    return failures;
}

/* The server resets the connection (NetX Duo's disconnect without waiting sends a RST), so
   the client ends CLOSED at once, with no close handshake to run on two threads; then the
   server socket leaves the port table and its listen request. */
static UINT rs_inventory_disconnect(NX_TCP_SOCKET *client, NX_TCP_SOCKET *server, UINT server_port)
{
    UINT status[5];
    UINT failures = 0;

    status[0] = nx_tcp_socket_disconnect(server, NX_NO_WAIT);
    status[1] = nx_tcp_socket_state_wait(client, NX_TCP_CLOSED, RS_WAIT);
    status[2] = nx_tcp_server_socket_unaccept(server);
    status[3] = nx_tcp_server_socket_unlisten(&rs_ip[1], server_port);
    status[4] = nx_tcp_client_socket_unbind(client);
    if (status[0] == NX_IN_PROGRESS)
        status[0] = NX_SUCCESS;
    for (UINT i = 0; i < 5u; i++)
        failures += status[i] != NX_SUCCESS;
    if (failures)
        rs_note("closing port %u: statuses 0x%x 0x%x 0x%x 0x%x 0x%x", server_port, status[0], status[1], status[2],
                status[3], status[4]);
    return failures;
}

static void rs_inventory(const rs_module *m)
{
    static nxsm_socket sockets[RS_INV_MAX];
    nxsm_inventory_scan scan;
    nxsm_socket want[9];
    uint32_t found_before;
    unsigned exact = 0;
    UINT failures = 0;
    int i0, i1;

    rs_check(m->enable(NXSM_CAPTURE_UNICAST_ONLY), "%s: enabled for the inventory", m->name);
    i0 = rs_hook_index(0);
    i1 = rs_hook_index(1);
    rs_check(i0 >= 0 && i1 >= 0 && i0 != i1, "inventory: both NX_IP in the hooks' table (ip0 at %d, ip1 at %d)", i0,
             i1);

    /* What is open before: the traffic's UDP sockets (and whatever the program's own
       services hold), no TCP. */
    scan = rs_scan(sockets);
    found_before = scan.found;
    rs_scan_print("inventory before", sockets, scan.found);
    want[0] = rs_socket(NXSM_SOCKET_UDP_BOUND, i0, RS_UDP_CLIENT);
    want[1] = rs_socket(NXSM_SOCKET_UDP_BOUND, i1, RS_UDP_SERVER);
    rs_check(scan.found <= RS_INV_MAX && rs_socket_count(sockets, scan.found, &want[0]) == 1 &&
                 rs_socket_count(sockets, scan.found, &want[1]) == 1 && scan.ips_skipped == 0 &&
                 scan.ips_unhooked == 0 && scan.hooks_replaced == 0,
             "inventory before: UDP %u on ip0 and %u on ip1 bound, every IP read, no blind spot (%lu sockets)",
             RS_UDP_CLIENT, RS_UDP_SERVER, (unsigned long)scan.found);

    /* TCP servers on ip1 (Telnet and 8080), a UDP socket on ip0, and a connection from ip0
       to each server: IPv4 to Telnet, IPv6 to 8080. */
    failures += nx_tcp_socket_create(&rs_ip[1], &tcp_telnet, "telnet", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8192,
                                     NX_NULL, NX_NULL) != NX_SUCCESS;
    failures += nx_tcp_socket_create(&rs_ip[1], &tcp_web, "web", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8192, NX_NULL,
                                     NX_NULL) != NX_SUCCESS;
    failures += nx_tcp_socket_create(&rs_ip[0], &tcp_client6, "tcp client6", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8192,
                                     NX_NULL, NX_NULL) != NX_SUCCESS;
    failures +=
        nx_udp_socket_create(&rs_ip[0], &udp_coap, "coap", NX_IP_NORMAL, NX_FRAGMENT_OKAY, 0x80, 8) != NX_SUCCESS;
    failures += nx_udp_socket_bind(&udp_coap, RS_COAP_PORT, NX_WAIT_FOREVER) != NX_SUCCESS;
    failures += nx_tcp_server_socket_listen(&rs_ip[1], RS_TELNET_PORT, &tcp_telnet, 5, NX_NULL) != NX_SUCCESS;
    failures += nx_tcp_server_socket_listen(&rs_ip[1], RS_WEB_PORT, &tcp_web, 5, NX_NULL) != NX_SUCCESS;
    rs_check(failures == 0, "inventory: TCP servers on ports %u and %u of ip1, UDP %u bound on ip0", RS_TELNET_PORT,
             RS_WEB_PORT, RS_COAP_PORT);
    failures = rs_inventory_connect(&tcp_client, &tcp_telnet, 4, RS_TCP_CLIENT + 4u, RS_TELNET_PORT);
    failures += rs_inventory_connect(&tcp_client6, &tcp_web, 6, RS_TCP_CLIENT + 6u, RS_WEB_PORT);
    rs_check(failures == 0, "inventory: ip0 connected to ip1 port %u over IPv4 and port %u over IPv6", RS_TELNET_PORT,
             RS_WEB_PORT);

    scan = rs_scan(sockets);
    rs_scan_print("inventory", sockets, scan.found);
    want[2] = rs_socket(NXSM_SOCKET_TCP_LISTEN, i1, RS_TELNET_PORT);
    want[3] = rs_socket(NXSM_SOCKET_TCP_LISTEN, i1, RS_WEB_PORT);
    want[4] = rs_socket(NXSM_SOCKET_UDP_BOUND, i0, RS_COAP_PORT);
    want[5] = rs_connection(4, 0, i0, RS_TCP_CLIENT + 4u, 1, RS_TELNET_PORT);
    want[6] = rs_connection(4, 1, i1, RS_TELNET_PORT, 0, RS_TCP_CLIENT + 4u);
    want[7] = rs_connection(6, 0, i0, RS_TCP_CLIENT + 6u, 1, RS_WEB_PORT);
    want[8] = rs_connection(6, 1, i1, RS_WEB_PORT, 0, RS_TCP_CLIENT + 6u);
    for (UINT k = 0; k < 9u; k++)
        exact += rs_socket_count(sockets, scan.found <= RS_INV_MAX ? scan.found : RS_INV_MAX, &want[k]) == 1;
    rs_check(scan.found == found_before + 7u && scan.ips_skipped == 0 && scan.ips_unhooked == 0 &&
                 scan.hooks_replaced == 0,
             "inventory: 7 more sockets (%lu before, %lu now), every IP read, no blind spot",
             (unsigned long)found_before, (unsigned long)scan.found);
    rs_check(exact == 9u,
             "inventory: listeners 23 and 8080 on ip1, UDP 5000 and 5683 on ip0 and 53 on ip1, and both ends of "
             "both connections with their exact addresses and ports, each once (%u of 9)",
             exact);

    /* The program takes the messages this makes (dumped with NXSM_RS_MESSAGES); its polls
       run through module time, so the core reads the tables through the installed scan. */
    if (m->take_messages)
    {
        nxsm_stats before, after;
        int stats_failed = rs_stats_get(&before);

        m->take_messages();
        stats_failed += rs_stats_get(&after);
        rs_check(stats_failed == 0 && after.inventory_reads > before.inventory_reads &&
                     after.inventory_sockets == scan.found && after.inventory_rejected == before.inventory_rejected,
                 "inventory: the core's polls read the tables through the scan the install registered (%lu reads, "
                 "%lu sockets)",
                 (unsigned long)(after.inventory_reads - before.inventory_reads),
                 (unsigned long)after.inventory_sockets);
    }

    failures = rs_inventory_disconnect(&tcp_client, &tcp_telnet, RS_TELNET_PORT);
    failures += rs_inventory_disconnect(&tcp_client6, &tcp_web, RS_WEB_PORT);
    failures += nx_tcp_socket_delete(&tcp_telnet) != NX_SUCCESS;
    failures += nx_tcp_socket_delete(&tcp_web) != NX_SUCCESS;
    failures += nx_tcp_socket_delete(&tcp_client6) != NX_SUCCESS;
    failures += nx_udp_socket_unbind(&udp_coap) != NX_SUCCESS;
    failures += nx_udp_socket_delete(&udp_coap) != NX_SUCCESS;
    rs_check(failures == 0, "inventory: connections closed, servers and sockets deleted");
    scan = rs_scan(sockets);
    rs_check(scan.found == found_before, "inventory: back to %lu sockets (%lu)", (unsigned long)found_before,
             (unsigned long)scan.found);
    rs_check(m->disable(), "%s: disabled after the inventory", m->name);
    rs_settle(NX_NULL, 0);
}

void rs_suite(const rs_module *m)
{
    rs_hooks app[RS_IPS], now[RS_IPS];
    rs_objects before, after;
    rs_netx_counters c0, c1, without, with;
    nxsm_stats stats_before;
    const UINT mode = NXSM_CAPTURE_UNICAST_ONLY;
    unsigned long enable_failed = 0, hooks_missing = 0, disable_failed = 0, not_restored = 0;
    unsigned long traffic_cycles = 0, traffic_failed = 0, modes_with_traffic = 0, neighbour_without;

    rs_hooks_get(app);
    rs_objects_get(&before);
    rs_objects_print("before", &before);

    /* The traffic without the module: what NetX Duo counts for it. Both windows start with
       empty ARP and neighbour caches, so that address resolution is part of them. */
    rs_caches_invalidate();
    rs_window_begin();
    rs_netx_counters_get(&c0);
    rs_check(rs_traffic(RS_ALL, NX_NULL) == 0, "without the module: every NetX call of the traffic succeeded");
    rs_check(rs_settle(NX_NULL, 0) == 0, "without the module: traffic settled");
    rs_netx_counters_get(&c1);
    rs_netx_counters_delta(&c0, &c1, &without);
    rs_check_traffic(RS_ALL, 1, "without the module");
    neighbour_without = rs_last_neighbour;

    /* The same traffic with the module. */
    rs_check(m->enable(mode), "%s: enabled (unicast-only capture)", m->name);
    rs_check(rs_hooks_installed(app, mode),
             "the module sits in front of the application's extended filter and the TCP, UDP, ICMP and ICMPv6 "
             "receive routines of both NX_IP; the legacy filter is untouched");
    rs_check(rs_stats_get(&stats_before) == 0, "nxsm_get_stats while running");
    rs_caches_invalidate();
    rs_window_begin();
    rs_netx_counters_get(&c0);
    rs_check(rs_traffic(RS_ALL, m->after_exchange) == 0, "with the module: every NetX call of the traffic succeeded");
    rs_check(rs_settle(m->drain, 1) == 0, "with the module: traffic settled and the ring drained");
    rs_netx_counters_get(&c1);
    rs_netx_counters_delta(&c0, &c1, &with);
    /* Chaining: the application's filter behind the module still sees every packet. */
    rs_check_traffic(RS_ALL, 1, "with the module");
    rs_check(neighbour_without > 0 && rs_last_neighbour == neighbour_without,
             "neighbour discovery in both windows, as many packets each (%lu, %lu)", neighbour_without,
             rs_last_neighbour);
    rs_check_flows(mode, &stats_before, m->drain, 1, "with the module");
    rs_check(rs_netx_counters_equal(&without, &with, 0),
             "NetX Duo's own IP, TCP, UDP and ICMP counters moved exactly as much with the module as without");
    rs_check(rs_check_netx_totals(&with),
             "NetX Duo's IP totals of both NX_IP (packets and bytes sent and received) equal the module's flows, "
             "plus the neighbour solicitations NetX Duo sends past every filter");
    if (m->checks_running)
        m->checks_running();
    rs_check(m->disable(), "%s: disabled", m->name);
    rs_hooks_get(now);
    rs_check(rs_hooks_equal(now, app),
             "after disable: packet filters and receive routines of both NX_IP exactly as before enable");
    rs_fragments(m);
    rs_detection(m);

    /* Enable/disable cycles, both capture modes, traffic in a few (checked as above). */
    for (UINT i = 0; i < RS_CYCLES; i++)
    {
        UINT cycle_mode = (i & 1u) ? NXSM_CAPTURE_IP_INPUT : NXSM_CAPTURE_UNICAST_ONLY;

        if (!m->enable(cycle_mode))
        {
            enable_failed++;
            continue;
        }
        hooks_missing += !rs_hooks_installed(app, cycle_mode);
        if (i % 100u < 2u)
        {
            char label[48];
            int failures;

            snprintf(label, sizeof(label), "cycle %u (%s)", i, (i & 1u) ? "ip-input" : "unicast-only");
            traffic_cycles++;
            modes_with_traffic |= 1u << (i & 1u);
            failures = rs_stats_get(&stats_before);
            rs_window_begin();
            failures += (int)rs_traffic(RS_ALL, m->after_exchange);
            failures += rs_settle(m->drain, 1);
            failures += rs_check_traffic(RS_ALL, 0, label);
            failures += rs_check_flows(cycle_mode, &stats_before, m->drain, 0, label);
            traffic_failed += failures != 0;
        }
        disable_failed += !m->disable();
        rs_hooks_get(now);
        not_restored += !rs_hooks_equal(now, app);
    }
    rs_check(enable_failed == 0, "%u cycles: every enable succeeded (%lu failed)", RS_CYCLES, enable_failed);
    rs_check(hooks_missing == 0, "%u cycles: hooks in place after every enable (%lu missing)", RS_CYCLES,
             hooks_missing);
    rs_check(disable_failed == 0, "%u cycles: every disable succeeded (%lu failed)", RS_CYCLES, disable_failed);
    rs_check(not_restored == 0, "%u cycles: every disable restored both NX_IP exactly (%lu did not)", RS_CYCLES,
             not_restored);
    rs_check(traffic_cycles == 2u * (RS_CYCLES / 100u) && modes_with_traffic == 3u && traffic_failed == 0,
             "%lu cycles with traffic, both capture modes: filter and flows exact in every one (%lu failed)",
             traffic_cycles, traffic_failed);

    rs_inventory(m);

    rs_check(rs_settle(NX_NULL, 0) == 0, "settled after the cycles");
    rs_objects_get(&after);
    rs_objects_print("after", &after);
    rs_check(rs_objects_equal(&before, &after),
             "ThreadX created threads, timers, mutexes, semaphores, event flags, queues, byte and block pools, and "
             "the packet pool's free packets: unchanged");
}

/* ---- the program's thread ------------------------------------------------------------ */

static TX_THREAD rs_program_thread;
static UCHAR rs_program_stack[32768];

void tx_application_define(void *first_unused_memory)
{
    (void)first_unused_memory;
    rs_network_create();
    tx_thread_create(&rs_program_thread, "app", rs_program, 0, rs_program_stack, sizeof(rs_program_stack), 4, 4,
                     TX_NO_TIME_SLICE, TX_AUTO_START);
}

int main(void)
{
    tx_kernel_enter();
    return 0;
}
