/* Shared by the real-stack programs (realstack_native.c, realstack_dropin.c): two NX_IP on
   NetX Duo's RAM driver, a counting application packet filter installed before the module,
   known UDP/TCP/ICMP traffic over IPv4 and IPv6, and the checks that compare what the
   module reports with what the filter saw, exactly. */
#ifndef REALSTACK_COMMON_H
#define REALSTACK_COMMON_H

#include "tx_api.h"
#include "nx_api.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"

/* The fixed unix time both programs give the module: time never moves, so no collection
   ever empties the flow table under the checks. */
#define RS_NOW 1800000000u

#define RS_IPS 2

/* Traffic kinds of one batch (rs_traffic). */
#define RS_UDP4  0x01u
#define RS_UDP6  0x02u
#define RS_TCP4  0x04u
#define RS_TCP6  0x08u
#define RS_PING4 0x10u
#define RS_PING6 0x20u
#define RS_ALL   0x3Fu

extern NX_PACKET_POOL rs_pool;
extern NX_IP rs_ip[RS_IPS];

/* TAP output: one "ok - ..." / "not ok - ..." line per check; rs_finish prints the total
   line and returns the exit code. */
#define RS_PRINTF(f, a) __attribute__((format(printf, f, a)))
int rs_check(int ok, const char *format, ...) RS_PRINTF(2, 3);
void rs_note(const char *format, ...) RS_PRINTF(1, 2);
int rs_finish(void);

/* From tx_application_define: packet pool, both NX_IP, ARP, UDP, TCP, ICMP, IPv6, IP
   fragmentation, and the helper thread that plays the TCP server. */
void rs_network_create(void);

/* The program's body, run on its own ThreadX thread once the network is created (each
   program defines it; realstack_common.c has main and tx_application_define). */
void rs_program(ULONG input);
/* From the application thread, before any module: IPv6 addresses (waits for DAD), the
   counting filters on both NX_IP, the sockets, and one warm-up batch so that ARP and
   neighbour caches are resolved. */
void rs_network_ready(void);

/* Runs the traffic of `kinds` between ip0 (client) and ip1 (server); after_exchange (may be
   NULL) runs after each exchange, e.g. to drain the ring. Returns the number of NetX calls
   that failed (0 expected). */
typedef void (*rs_exchange_fn)(void);
UINT rs_traffic(UINT kinds, rs_exchange_fn after_exchange);

/* The counting filter's log: rs_window_begin() empties it; rs_window_size() is how many
   packets it holds. */
void rs_window_begin(void);
unsigned long rs_window_size(void);
/* Checks the window against the traffic of `kinds` (per IP, direction and kind, exactly;
   whatever else is there must be IPv6 neighbour discovery). Prints one line per check when
   verbose, returns the number of failed checks. */
int rs_check_traffic(UINT kinds, int verbose, const char *label);

/* Waits until no packet arrives any more and, with module_running, the module has taken in
   every packet of the window (drain: the native consumer drains itself; NULL: the drop-in's
   cloud thread is expected to). Returns 0 on success. */
int rs_settle(rs_exchange_fn drain, int module_running);
/* Compares the module's flows and statistics with the flows the filter's window implies for
   capture mode `mode`: every flow, its counters, TCP flags, and nothing more. stats_before
   is the module's statistics at rs_window_begin(); drain as for rs_settle. Returns the
   number of failed checks. */
int rs_check_flows(UINT mode, const nxsm_stats *stats_before, rs_exchange_fn drain, int verbose, const char *label);
int rs_stats_get(nxsm_stats *stats);

/* Everything the module's hooks may touch on both NX_IP. */
typedef struct
{
    UINT (*filter)(VOID *, UINT);
    UINT (*filter_extended)(NX_IP *, NX_PACKET *, UINT);
    VOID (*tcp)(NX_IP *, NX_PACKET *);
    VOID (*udp)(NX_IP *, NX_PACKET *);
    VOID (*icmp)(NX_IP *, NX_PACKET *);
    VOID (*icmpv6)(NX_IP *, NX_PACKET *);
} rs_hooks;
void rs_hooks_get(rs_hooks hooks[RS_IPS]);
int rs_hooks_equal(const rs_hooks a[RS_IPS], const rs_hooks b[RS_IPS]);
/* Whether the module sits in front of the application's functions on both IPs: the
   extended filter replaced (and the receive routines in unicast-only mode), the legacy
   filter untouched. */
int rs_hooks_installed(const rs_hooks before[RS_IPS], UINT mode);

/* ThreadX created-object counts and packet pool availability. */
typedef struct
{
    ULONG threads, timers, mutexes, semaphores, event_flags, queues, byte_pools, block_pools;
    ULONG pool_total, pool_free;
} rs_objects;
void rs_objects_get(rs_objects *objects);
int rs_objects_equal(const rs_objects *a, const rs_objects *b);
void rs_objects_print(const char *label, const rs_objects *objects);

/* NetX Duo's own counters of both IPs (nx_ip_info_get, nx_tcp_info_get, nx_udp_info_get,
   nx_icmp_info_get). */
#define RS_COUNTERS 34
typedef struct
{
    ULONG value[RS_IPS][RS_COUNTERS];
} rs_netx_counters;
void rs_netx_counters_get(rs_netx_counters *counters);
/* delta = after - before */
void rs_netx_counters_delta(const rs_netx_counters *before, const rs_netx_counters *after, rs_netx_counters *delta);
int rs_netx_counters_equal(const rs_netx_counters *a, const rs_netx_counters *b, int verbose);
/* Whether each IP's nx_ip_info_get totals in `delta` (a window, unicast-only capture) equal
   what the module's flows hold for that IP's addresses: bytes are IP payload bytes on both
   sides. NetX Duo hands neighbour solicitations straight to the driver, so a sender's
   totals also hold the solicitations its peer's filter saw arrive. */
int rs_check_netx_totals(const rs_netx_counters *delta);

/* How a program runs the module: the native API or the drop-in API. */
typedef struct
{
    const char *name;
    int (*enable)(UINT capture_mode); /* nonzero: running and hooked */
    int (*disable)(void);             /* nonzero: stopped and unhooked */
    rs_exchange_fn after_exchange;    /* run after each exchange of the traffic (may be NULL) */
    rs_exchange_fn drain;             /* run while settling (NULL: the module drains itself) */
    void (*checks_running)(void);     /* the program's own checks while the module runs */
    /* Takes every message the library hands out (nxsm_message_peek, in order) while the
       module runs, giving each to rs_message_record(); NULL: the program takes none. */
    void (*take_messages)(void);
} rs_module;

/* The message dump: with NXSM_RS_MESSAGES=<file> in the environment, rs_message_record()
   appends each message to that file as one line of lowercase hex, the input of
   `nxsm-decode --replay` (what nxsm_replay prints). Without it, it does nothing. Returns
   nonzero when the message was written. */
int rs_message_record(const uint8_t *bytes, size_t length);
int rs_message_dump_enabled(void);

#define RS_CYCLES 1000u

/* The suite both programs run once their network (and, drop-in, NX_AZURE_IOT) is up: the
   same traffic without and with the module, checked exactly; disable restoring every hook;
   datagrams larger than the MTU; detection (policy/block.json: UDP to and from ip1's listed
   IPv4 address dropped by the hooks, the application's filter still seeing it, NetX Duo's
   counters, the alerts; policy/alert.json: IPv6 passes and alerts; no policy: all passes);
   RS_CYCLES enable/disable cycles, alternating the capture mode, with traffic in some; the
   inventory's socket scan (nxsm_netx_inventory_scan, called directly) on TCP servers on
   ports 23 and 8080 of ip1, a UDP socket and one IPv4 connection from ip0 to ip1's port 23,
   and the program's messages taken (and dumped, see rs_message_record); ThreadX objects and
   packet pool unchanged. */
void rs_suite(const rs_module *module);

#endif /* REALSTACK_COMMON_H */
