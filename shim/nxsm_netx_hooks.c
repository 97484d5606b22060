/*
 * nx-security-module shim: NetX Duo packet hooks.
 *
 * Outbound packets (and, in ip-input mode, every inbound one) are seen by the module's
 * nx_ip_packet_filter_extended; in unicast-only mode inbound packets are seen where NetX
 * hands them to TCP, UDP, ICMPv4 (nx_ip_icmp_packet_receive) and ICMPv6
 * (nx_ip_icmpv6_packet_process: NetX Duo dispatches ICMPv6 there, not through the ICMP
 * receive routine). Each hook gives the header bytes of the first packet buffer to
 * nxsm_capture_out(), nxsm_capture_in() or nxsm_capture_in_host_order() (nxsm_capture()
 * with the direction and header order of that hook) and then calls whatever was installed
 * before it on that IP.
 *
 * Unlike the original module, which overwrote a user's extended packet filter, wiped a
 * user's packet filter on stop and left its extended filter installed after it, nothing is
 * overwritten or left behind: the previous filter and receive routines are saved per
 * NX_IP and chained to, and disable restores them where ours is still installed.
 *
 * Concurrency: hooks run in ISRs and several threads at once; they read the table with
 * interrupts disabled for a few instructions and never wait. Install/remove change a
 * table entry and the NX_IP pointers together with interrupts disabled (and the IP's
 * protection mutex held, as nx_tcp_enable() and friends do), so a hook sees either the
 * old or the new state. A hook that entered just before a disable still finds the saved
 * pointers: entries are kept after disable (marked inactive) and only reused for an IP
 * that no longer exists.
 */
#include <stddef.h>
#include <stdint.h>

#include "nx_api.h"
#include "nx_ip.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"
#include "nxsm_netx_hooks.h"

/* The filter fields exist only in a NetX Duo built with this option (nx_user.h). */
#ifndef NX_ENABLE_IP_PACKET_FILTER
#error "nx-security-module needs NetX Duo built with NX_ENABLE_IP_PACKET_FILTER: define it in nx_user.h."
#endif

typedef VOID (*nxsm_receive_fn)(NX_IP *ip_ptr, NX_PACKET *packet_ptr);
typedef UINT (*nxsm_filter_fn)(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction);

/* The receive routines hooked in unicast-only mode. */
#define NXSM_HOOK_TCP       0u
#define NXSM_HOOK_UDP       1u
#define NXSM_HOOK_ICMP      2u
#define NXSM_HOOK_ICMPV6    3u
#define NXSM_HOOK_RECEIVERS 4u
/* Bit of the filter in the installed/lost masks (receivers use bits 0-3). */
#define NXSM_HOOK_FILTER_BIT (1u << NXSM_HOOK_RECEIVERS)

/* One hooked NX_IP: what was there before us, and what happened to our functions. */
typedef struct
{
    NX_IP *ip;      /* key; NX_NULL: never used */
    UINT active;    /* hooked by the running enable */
    UINT installed; /* bits: our function sits in the NX_IP field (directly) */
    UINT lost;      /* bits: the application replaced ours; we left its function there */
    nxsm_filter_fn filter_previous;
    nxsm_filter_fn filter_replacement;
    nxsm_receive_fn receive_previous[NXSM_HOOK_RECEIVERS];
    nxsm_receive_fn receive_replacement[NXSM_HOOK_RECEIVERS];
} nxsm_hook_slot;

/* Everything below is read and written only with interrupts disabled. */
static nxsm_hook_slot nxsm_hook_slots[NXSM_MAX_IP_INSTANCES];
static UINT nxsm_hook_mode = (UINT)NXSM_CAPTURE_UNICAST_ONLY;
static ULONG nxsm_hook_ip_hooked;
static ULONG nxsm_hook_ip_not_hooked;
static ULONG nxsm_hook_left_replaced;

static UINT nxsm_filter(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction);
static VOID nxsm_tcp_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr);
static VOID nxsm_udp_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr);
static VOID nxsm_icmp_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr);
#ifdef FEATURE_NX_IPV6
static VOID nxsm_icmpv6_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr);
#endif

/* Our wrapper for each receive routine (NX_NULL: that routine does not exist here). */
static const nxsm_receive_fn nxsm_wrappers[NXSM_HOOK_RECEIVERS] = {
    nxsm_tcp_receive,
    nxsm_udp_receive,
    nxsm_icmp_receive,
#ifdef FEATURE_NX_IPV6
    nxsm_icmpv6_receive,
#else
    NX_NULL,
#endif
};

/* The NX_IP field of receive routine `which` (NX_NULL if this NetX has none). */
static nxsm_receive_fn *nxsm_receive_field(NX_IP *ip_ptr, UINT which)
{
    switch (which)
    {
    case NXSM_HOOK_TCP:
        return &ip_ptr->nx_ip_tcp_packet_receive;
    case NXSM_HOOK_UDP:
        return &ip_ptr->nx_ip_udp_packet_receive;
    case NXSM_HOOK_ICMP:
        return &ip_ptr->nx_ip_icmp_packet_receive;
#ifdef FEATURE_NX_IPV6
    case NXSM_HOOK_ICMPV6:
        return &ip_ptr->nx_ip_icmpv6_packet_process;
#endif
    default:
        return NX_NULL;
    }
}

/* The table entry of ip_ptr, or NX_NULL. Interrupts disabled by the caller. */
static nxsm_hook_slot *nxsm_slot_find(const NX_IP *ip_ptr)
{
    UINT i;

    if (ip_ptr == NX_NULL)
    {
        return NX_NULL;
    }
    for (i = 0; i < NXSM_MAX_IP_INSTANCES; i++)
    {
        if (nxsm_hook_slots[i].ip == ip_ptr)
        {
            return &nxsm_hook_slots[i];
        }
    }
    return NX_NULL;
}

/* One of the core's fixed-form capture calls (nxsm_capture_out, ...). */
typedef nxsm_result (*nxsm_capture_fn)(const uint8_t *ip_header, size_t length);

/* Gives the header bytes of the first buffer to the core; NX_TRUE when a block rule of the
   detection policy matches the packet (the hook then drops it). A header pointer that is
   not inside the buffer cannot be read: the core gets zero bytes and counts the packet as
   malformed rather than losing it silently. */
static UINT nxsm_packet_capture(const NX_PACKET *packet_ptr, nxsm_capture_fn capture)
{
    static const uint8_t nothing = 0u;
    const UCHAR *header = packet_ptr->nx_packet_ip_header;
    const UCHAR *end = packet_ptr->nx_packet_append_ptr;
    nxsm_result outcome;

    if (header == NX_NULL || end == NX_NULL || end < header)
    {
        outcome = capture(&nothing, 0u);
    }
    else
    {
        outcome = capture((const uint8_t *)header, (size_t)(end - header));
    }
    return (outcome == NXSM_ERR_BLOCKED) ? NX_TRUE : NX_FALSE;
}

/* nx_ip_packet_filter_extended: records, then returns the saved filter's verdict, or drops
   the packet (a verdict other than NX_SUCCESS: NetX Duo releases it) when a block rule
   matches. The application's filter sees every packet either way. */
static UINT nxsm_filter(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT direction)
{
    TX_INTERRUPT_SAVE_AREA
    const nxsm_hook_slot *slot;
    nxsm_filter_fn previous = NX_NULL;
    UINT mode;
    UINT blocked = NX_FALSE;
    UINT verdict = NX_SUCCESS;

    TX_DISABLE
    slot = nxsm_slot_find(ip_ptr);
    if (slot != NX_NULL)
    {
        previous = slot->filter_previous;
    }
    mode = nxsm_hook_mode;
    TX_RESTORE

    if (packet_ptr != NX_NULL)
    {
        if (direction == (UINT)NX_IP_PACKET_OUT)
        {
            blocked = nxsm_packet_capture(packet_ptr, nxsm_capture_out);
        }
        else if (direction == (UINT)NX_IP_PACKET_IN && mode == (UINT)NXSM_CAPTURE_IP_INPUT)
        {
            blocked = nxsm_packet_capture(packet_ptr, nxsm_capture_in);
        }
    }
    /* The application's filter decides; without one, the packet passes. */
    if (previous != NX_NULL && previous != nxsm_filter)
    {
        verdict = previous(ip_ptr, packet_ptr, direction);
    }
    return (blocked == NX_TRUE) ? (UINT)NX_NOT_SUCCESSFUL : verdict;
}

/* Shared body of the receive wrappers: records (unicast-only mode), then hands the packet
   to the routine saved for this IP, or releases it when a block rule matches. */
static VOID nxsm_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr, UINT which)
{
    TX_INTERRUPT_SAVE_AREA
    const nxsm_hook_slot *slot;
    nxsm_receive_fn next = NX_NULL;
    UINT mode;

    TX_DISABLE
    slot = nxsm_slot_find(ip_ptr);
    if (slot != NX_NULL)
    {
        next = slot->receive_previous[which];
    }
    /* No saved routine (an entry reused for another IP under a very late caller): the IP's
       current routine, if it is not this wrapper, is where NetX would deliver now. */
    if ((next == NX_NULL || next == nxsm_wrappers[which]) && ip_ptr != NX_NULL)
    {
        nxsm_receive_fn *field = nxsm_receive_field(ip_ptr, which);

        next = (field != NX_NULL && *field != nxsm_wrappers[which]) ? *field : NX_NULL;
    }
    mode = nxsm_hook_mode;
    TX_RESTORE

    if (packet_ptr != NX_NULL && mode == (UINT)NXSM_CAPTURE_UNICAST_ONLY &&
        nxsm_packet_capture(packet_ptr, nxsm_capture_in_host_order) == NX_TRUE)
    {
        next = NX_NULL; /* blocked: released below, never delivered */
    }
    if (next != NX_NULL)
    {
        next(ip_ptr, packet_ptr);
    }
    else if (packet_ptr != NX_NULL)
    {
        /* Nowhere to deliver (or blocked): the packet must still go back to its pool. */
        NX_PACKET *orphan = packet_ptr;

        (void)nx_packet_release(orphan);
    }
}

static VOID nxsm_tcp_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    nxsm_receive(ip_ptr, packet_ptr, NXSM_HOOK_TCP);
}

static VOID nxsm_udp_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    nxsm_receive(ip_ptr, packet_ptr, NXSM_HOOK_UDP);
}

static VOID nxsm_icmp_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    nxsm_receive(ip_ptr, packet_ptr, NXSM_HOOK_ICMP);
}

#ifdef FEATURE_NX_IPV6
static VOID nxsm_icmpv6_receive(NX_IP *ip_ptr, NX_PACKET *packet_ptr)
{
    nxsm_receive(ip_ptr, packet_ptr, NXSM_HOOK_ICMPV6);
}
#endif

/* Whether ip_ptr is one of the first `count` entries of `ips`. */
static UINT nxsm_ip_listed(const NX_IP *ip_ptr, NX_IP *const *ips, ULONG count)
{
    ULONG i;

    for (i = 0; i < count; i++)
    {
        if (ips[i] == ip_ptr)
        {
            return NX_TRUE;
        }
    }
    return NX_FALSE;
}

/* Whether ip_ptr is on NetX's created-IP list right now. */
static UINT nxsm_ip_created(const NX_IP *ip_ptr)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *current;
    ULONG i;
    UINT found = NX_FALSE;

    TX_DISABLE
    current = _nx_ip_created_ptr;
    for (i = 0; i < _nx_ip_created_count && current != NX_NULL; i++)
    {
        if (current == ip_ptr)
        {
            found = NX_TRUE;
            break;
        }
        current = current->nx_ip_created_next;
    }
    TX_RESTORE
    return found;
}

/* The entry for ip_ptr: its own, a never-used one, or one whose IP is gone (not among the
   `count` IPs being hooked). Interrupts disabled by the caller. */
static nxsm_hook_slot *nxsm_slot_assign(NX_IP *ip_ptr, NX_IP *const *ips, ULONG count)
{
    nxsm_hook_slot *slot = nxsm_slot_find(ip_ptr);
    UINT i;

    if (slot != NX_NULL)
    {
        return slot;
    }
    for (i = 0; i < NXSM_MAX_IP_INSTANCES && slot == NX_NULL; i++)
    {
        if (nxsm_hook_slots[i].ip == NX_NULL)
        {
            slot = &nxsm_hook_slots[i];
        }
    }
    for (i = 0; i < NXSM_MAX_IP_INSTANCES && slot == NX_NULL; i++)
    {
        if (!nxsm_hook_slots[i].active && !nxsm_ip_listed(nxsm_hook_slots[i].ip, ips, count))
        {
            slot = &nxsm_hook_slots[i];
        }
    }
    if (slot != NX_NULL)
    {
        nxsm_hook_slot fresh = {0};

        *slot = fresh;
        slot->ip = ip_ptr;
    }
    return slot;
}

/* Puts our filter in front of the IP's current one. Interrupts disabled by the caller. */
static VOID nxsm_hook_filter(nxsm_hook_slot *slot, NX_IP *ip_ptr)
{
    nxsm_filter_fn current = ip_ptr->nx_ip_packet_filter_extended;

    if (current == nxsm_filter)
    {
        /* Ours is back (the application restored it): the saved filter still applies. */
        slot->lost &= ~NXSM_HOOK_FILTER_BIT;
        slot->installed |= NXSM_HOOK_FILTER_BIT;
        return;
    }
    if ((slot->lost & NXSM_HOOK_FILTER_BIT) != 0u)
    {
        if (current == slot->filter_replacement)
        {
            /* The application's filter that replaced ours is still there and may call ours:
               stacking ours on top could loop, and ours is reached through it anyway. */
            return;
        }
        slot->lost &= ~NXSM_HOOK_FILTER_BIT;
    }
    slot->filter_previous = current;
    ip_ptr->nx_ip_packet_filter_extended = nxsm_filter;
    slot->installed |= NXSM_HOOK_FILTER_BIT;
}

/* Puts our wrapper in front of an enabled receive routine (same rules as the filter).
   Interrupts disabled by the caller. */
static VOID nxsm_hook_receive(nxsm_hook_slot *slot, NX_IP *ip_ptr, UINT which)
{
    nxsm_receive_fn *field = nxsm_receive_field(ip_ptr, which);
    nxsm_receive_fn wrapper = nxsm_wrappers[which];
    UINT bit = 1u << which;
    nxsm_receive_fn current;

    if (field == NX_NULL || wrapper == NX_NULL)
    {
        return;
    }
    current = *field;
    if (current == wrapper)
    {
        slot->lost &= ~bit;
        slot->installed |= bit;
        return;
    }
    if (current == NX_NULL)
    {
        return; /* protocol not enabled on this IP: stays off */
    }
    if ((slot->lost & bit) != 0u)
    {
        if (current == slot->receive_replacement[which])
        {
            return;
        }
        slot->lost &= ~bit;
    }
    slot->receive_previous[which] = current;
    *field = wrapper;
    slot->installed |= bit;
}

/* Hooks one IP. Returns NX_FALSE if it could not be (table full, IP mutex unusable). */
static UINT nxsm_hook_ip(NX_IP *ip_ptr, NX_IP *const *ips, ULONG count, UINT mode)
{
    TX_INTERRUPT_SAVE_AREA
    nxsm_hook_slot *slot;
    UINT which;

    if (tx_mutex_get(&ip_ptr->nx_ip_protection, TX_WAIT_FOREVER) != TX_SUCCESS)
    {
        return NX_FALSE;
    }
    TX_DISABLE
    slot = nxsm_slot_assign(ip_ptr, ips, count);
    if (slot != NX_NULL)
    {
        slot->active = NX_TRUE;
        nxsm_hook_filter(slot, ip_ptr);
        if (mode == (UINT)NXSM_CAPTURE_UNICAST_ONLY)
        {
            for (which = 0; which < NXSM_HOOK_RECEIVERS; which++)
            {
                nxsm_hook_receive(slot, ip_ptr, which);
            }
        }
    }
    TX_RESTORE
    if (tx_mutex_put(&ip_ptr->nx_ip_protection) != TX_SUCCESS)
    {
        /* Ours, taken above: cannot fail. */
    }
    return (slot != NX_NULL) ? NX_TRUE : NX_FALSE;
}

/* Sets (or, NX_NULL, clears) the core's inventory source. The core refuses while a poll
   runs (NXSM_ERR_BUSY): a poll is short, so try again every tick, NXSM_INVENTORY_SET_TICKS
   at most. Failing that (a poll that never ends), the previous source stays. */
static VOID nxsm_inventory_source_set(nxsm_inventory_source source)
{
    ULONG tries;

    for (tries = 0; tries <= (ULONG)NXSM_INVENTORY_SET_TICKS; tries++)
    {
        if (nxsm_set_inventory_source(source, NX_NULL) != NXSM_ERR_BUSY)
        {
            return;
        }
        (void)tx_thread_sleep(1);
    }
}

ULONG nxsm_netx_hooks_install(UINT capture_mode)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ips[NXSM_MAX_IP_INSTANCES];
    NX_IP *current;
    ULONG created;
    ULONG count = 0;
    ULONG hooked = 0;
    ULONG not_hooked = 0;
    ULONG i;

    /* A snapshot of the created list (NetX links and unlinks with interrupts disabled). */
    TX_DISABLE
    created = _nx_ip_created_count;
    current = _nx_ip_created_ptr;
    for (i = 0; i < created && current != NX_NULL; i++)
    {
        if (count < NXSM_MAX_IP_INSTANCES)
        {
            ips[count++] = current;
        }
        else
        {
            not_hooked++;
        }
        current = current->nx_ip_created_next;
    }
    nxsm_hook_mode = capture_mode;
    TX_RESTORE

    for (i = 0; i < count; i++)
    {
        if (nxsm_hook_ip(ips[i], ips, count, capture_mode))
        {
            hooked++;
        }
        else
        {
            not_hooked++;
        }
    }

    TX_DISABLE
    nxsm_hook_ip_hooked = hooked;
    nxsm_hook_ip_not_hooked = not_hooked;
    TX_RESTORE
    /* Last, so that no poll reads the tables before the IPs are in the table: the socket
       scan reads the IPs this install hooked; the core calls it from its polls. */
    nxsm_inventory_source_set(nxsm_netx_inventory_scan);
    return hooked;
}

/* Restores one field if ours is still in it; otherwise leaves the application's function
   and remembers it. Returns 1 when left replaced. */
static ULONG nxsm_unhook_filter(nxsm_hook_slot *slot, NX_IP *ip_ptr)
{
    nxsm_filter_fn current = ip_ptr->nx_ip_packet_filter_extended;

    if ((slot->installed & NXSM_HOOK_FILTER_BIT) == 0u)
    {
        return 0;
    }
    if (current == nxsm_filter)
    {
        ip_ptr->nx_ip_packet_filter_extended = slot->filter_previous;
        return 0;
    }
    if (current == NX_NULL)
    {
        return 0; /* cleared by someone (e.g. the IP was re-created): nothing of ours left */
    }
    slot->lost |= NXSM_HOOK_FILTER_BIT;
    slot->filter_replacement = current;
    return 1;
}

static ULONG nxsm_unhook_receive(nxsm_hook_slot *slot, NX_IP *ip_ptr, UINT which)
{
    nxsm_receive_fn *field = nxsm_receive_field(ip_ptr, which);
    UINT bit = 1u << which;

    if ((slot->installed & bit) == 0u || field == NX_NULL)
    {
        return 0;
    }
    if (*field == nxsm_wrappers[which])
    {
        *field = slot->receive_previous[which];
        return 0;
    }
    if (*field == NX_NULL)
    {
        return 0;
    }
    slot->lost |= bit;
    slot->receive_replacement[which] = *field;
    return 1;
}

VOID nxsm_netx_hooks_remove(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    UINT i;
    UINT which;

    /* First, so that no poll reads an empty inventory from the IPs being unhooked. */
    nxsm_inventory_source_set(NX_NULL);
    for (i = 0; i < NXSM_MAX_IP_INSTANCES; i++)
    {
        nxsm_hook_slot *slot = &nxsm_hook_slots[i];
        NX_IP *ip_ptr;
        UINT active;
        UINT locked;
        ULONG replaced = 0;

        TX_DISABLE
        ip_ptr = slot->ip;
        active = slot->active;
        TX_RESTORE
        if (!active || ip_ptr == NX_NULL)
        {
            continue;
        }
        if (!nxsm_ip_created(ip_ptr))
        {
            /* Deleted while hooked: its memory is not ours to touch any more. */
            TX_DISABLE
            slot->active = NX_FALSE;
            slot->installed = 0;
            slot->lost = 0;
            TX_RESTORE
            continue;
        }
        locked = (tx_mutex_get(&ip_ptr->nx_ip_protection, TX_WAIT_FOREVER) == TX_SUCCESS);
        TX_DISABLE
        replaced += nxsm_unhook_filter(slot, ip_ptr);
        for (which = 0; which < NXSM_HOOK_RECEIVERS; which++)
        {
            replaced += nxsm_unhook_receive(slot, ip_ptr, which);
        }
        slot->installed = 0;
        slot->active = NX_FALSE;
        nxsm_hook_left_replaced += replaced;
        TX_RESTORE
        if (locked)
        {
            (void)tx_mutex_put(&ip_ptr->nx_ip_protection);
        }
    }
    TX_DISABLE
    nxsm_hook_ip_hooked = 0;
    TX_RESTORE
}

VOID nxsm_netx_hook_status_get(nxsm_netx_hook_status *status)
{
    TX_INTERRUPT_SAVE_AREA

    if (status == NX_NULL)
    {
        return;
    }
    TX_DISABLE
    status->ip_hooked = nxsm_hook_ip_hooked;
    status->ip_not_hooked = nxsm_hook_ip_not_hooked;
    status->hooks_left_replaced = nxsm_hook_left_replaced;
    status->capture_mode = (ULONG)nxsm_hook_mode;
    TX_RESTORE
}

/* How many hooks installed on slot's IP are no longer ours. Interrupts disabled by the
   caller. */
static ULONG nxsm_hooks_replaced_count(const nxsm_hook_slot *slot, NX_IP *ip_ptr)
{
    ULONG replaced = 0;
    UINT which;

    if ((slot->installed & NXSM_HOOK_FILTER_BIT) != 0u && ip_ptr->nx_ip_packet_filter_extended != nxsm_filter)
    {
        replaced++;
    }
    for (which = 0; which < NXSM_HOOK_RECEIVERS; which++)
    {
        nxsm_receive_fn *field = nxsm_receive_field(ip_ptr, which);

        if ((slot->installed & (1u << which)) != 0u && field != NX_NULL && *field != nxsm_wrappers[which])
        {
            replaced++;
        }
    }
    return replaced;
}

UINT nxsm_netx_hooked_ip(UINT index, NX_IP **ip_ptr, ULONG *hooks_replaced)
{
    TX_INTERRUPT_SAVE_AREA
    NX_IP *ip = NX_NULL;
    ULONG replaced = 0;

    if (index >= NXSM_MAX_IP_INSTANCES || ip_ptr == NX_NULL || hooks_replaced == NX_NULL)
    {
        return NX_FALSE;
    }
    /* nxsm_ip_created() disables interrupts itself: a nested disable, as in the hooks. */
    TX_DISABLE
    if (nxsm_hook_slots[index].active && nxsm_hook_slots[index].ip != NX_NULL &&
        nxsm_ip_created(nxsm_hook_slots[index].ip))
    {
        ip = nxsm_hook_slots[index].ip;
        replaced = nxsm_hooks_replaced_count(&nxsm_hook_slots[index], ip);
    }
    TX_RESTORE
    *ip_ptr = ip;
    *hooks_replaced = replaced;
    return (ip != NX_NULL) ? NX_TRUE : NX_FALSE;
}

ULONG nxsm_netx_ips_unhooked(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    ULONG count;

    TX_DISABLE
    count = nxsm_hook_ip_not_hooked;
    TX_RESTORE
    return count;
}
