/*
 * nxsm_replay: replays pcap/pcapng captures through the real nx-security-module library
 * and C shim running on the NetX Duo / ThreadX / Azure IoT host simulator, and prints the
 * flows the module recorded per window (run it with scripts/replay).
 *
 *   nxsm_replay [--local ADDR[/PREFIX]]... [--capture unicast-only|ip-input]
 *               [--window-s N] [--hub-outage FROM:SECONDS] [--repeat N]
 *               [--policy-blob FILE] [--learn SECONDS] FILE.pcap...
 *
 * What happens:
 *  - nx_azure_iot_create() on a simulated NX_IP (TCP, UDP, ICMPv4/v6 enabled, one
 *    interface per IPv4 --local address, every IPv6 --local address) enables the module
 *    (the simulator does, as NetX Duo before v6.4.0; newer ones leave it to the application),
 *    which hooks the IP; a hub client is attached and reported CONNECTED (except during
 *    the --hub-outage, FROM seconds after the first IP packet, for SECONDS seconds).
 *  - every IPv4/IPv6 packet of the files (Ethernet with 802.1Q/QinQ tags, Linux cooked v1
 *    and v2, raw IP, LINKTYPE_IPV4/IPV6, BSD loopback) goes through sim_ip_send() when its
 *    source is a --local address (the device sent it: the filter sees it OUT), otherwise
 *    through sim_ip_receive() (NetX input: in ip-input mode the filter sees every one; in
 *    unicast-only mode only what NetX accepts and dispatches reaches the receive hooks).
 *    Without --local, the source of the first IP packet is the device (/32 or /128); the
 *    simulated device starts at the first IP packet and has no address until a packet
 *    with a sound header names it. --repeat N plays the files N times in a row, each pass
 *    shifted to start one second after the previous one ended.
 *    Direction and device go by the header's version nibble (as NetX dispatches), and
 *    only a sound fixed header (version, IPv4 header and total length) names a source: a
 *    packet without one is offered as received.
 *  - pcap timestamps drive the simulated unix clock (whole seconds, never going back: an
 *    earlier timestamp counts as the latest one seen). Only IP packets move the clock.
 *    The cloud helper's periodic tick runs on every simulated second that follows captured
 *    traffic and at every time a collection is due (idle seconds in between are skipped);
 *    the ring watermark event is handled right after the packet that raised it, as the
 *    cloud thread would.
 *  - the module runs with its defaults except: network activity every --window-s seconds
 *    (default 10), its first window ending --window-s after the first IP packet. Its
 *    messages reach the simulated hub client through the shim exactly as on a device.
 *  - --policy-blob FILE: a detection policy blob (tools/nxsm-policy makes one from JSON;
 *    at most REPLAY_MAX_POLICY_BYTES) is read before the replay and loaded with
 *    nxsm_policy_load() as soon as the module is enabled, before the first packet reaches
 *    it; a blob the module refuses stops the run (exit status 1, nxsm_result_text on
 *    stderr). Its alerts travel in messages of their own, as on a device.
 *  - --learn SECONDS: learn mode (nxsm_baseline_learn) from the first packet for SECONDS
 *    of capture time; its baseline event, and the alerts of the policy it makes, follow.
 *  - output, on stdout: every message the hub client accepted, as one line of hex, in the
 *    order sent; then one line {"summary": {...}} with the nxsm_stats counters (alerts_sent
 *    and alerts_suppressed included) and what the simulator did. scripts/replay pipes this
 *    through `nxsm-decode --replay`, which prints what the messages say (flows per window,
 *    heartbeats, system information, alerts).
 *  - at the end the clock runs on to the end of the last window and until the outbox is
 *    empty (at most 10 minutes more), then the module is disabled.
 *  - each packet is handed to NetX in one 1536-byte first buffer (a usual Ethernet pool
 *    payload) plus chained buffers for the rest.
 *
 * Exit status: 0 done (files with an unsupported link type or a damaged tail are reported
 * on stderr and in the summary), 1 a file or the policy blob cannot be read, the module
 * refuses the policy or the simulator cannot start, 2 bad command line.
 */
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nx_api.h"
#include "nx_azure_iot.h"
#include "nx_azure_iot_hub_client.h"
#include "nx_azure_iot_security_module.h"
#include "nx_security_module.h"
#include "nxsm_netx.h"
#include "sim_control.h"

#define REPLAY_FIRST_BUFFER_BYTES 1536u
#define REPLAY_MAX_FILES          4096
#define REPLAY_MAX_V4             NX_MAX_PHYSICAL_INTERFACES
#define REPLAY_MAX_V6             NX_MAX_IPV6_ADDRESSES
#define REPLAY_FLOW_PAGE          64u
#define REPLAY_MAX_TIME           0xFFFFFFFEu /* the latest unix time the shim accepts */
/* Larger than any NXSM_POLICY_BYTES a build may choose: a longer blob is refused by the
   module itself (NXSM_ERR_POLICY_TOO_LARGE), a much longer file is not a blob. */
#define REPLAY_MAX_POLICY_BYTES (1024u * 1024u)

#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_LOOP
#define DLT_LOOP 108
#endif

/* A --local address: IPv4 (host order + mask) or IPv6 (wire bytes + prefix). */
typedef struct
{
    int version;
    uint32_t v4;
    uint32_t v4_mask;
    uint8_t v6[16];
    unsigned prefix;
} local_address;

static struct
{
    local_address locals[REPLAY_MAX_V4 + REPLAY_MAX_V6];
    unsigned local_count;
    unsigned v4_count;
    unsigned v6_count;
    uint32_t capture_mode;
    uint64_t window_s;
    uint64_t outage_from;    /* seconds after the first IP packet */
    uint64_t outage_seconds; /* 0: no outage */
    unsigned long repeat;
    const char *files[REPLAY_MAX_FILES];
    unsigned file_count;
    const char *policy_path; /* NULL: no policy */
    unsigned long learn_s;   /* 0: no learn mode */
} options;

/* The --policy-blob file's bytes, read before the replay starts. */
static struct
{
    uint8_t *bytes;
    size_t length;
} policy;

/* Simulated device and run state. */
static NX_IP replay_ip;
static NX_PACKET_POOL replay_pool;
static NX_DNS replay_dns;
static NX_AZURE_IOT replay_iot;
static NX_AZURE_IOT_HUB_CLIENT replay_hub;
static ULONG replay_cloud_stack[1024];

static struct
{
    int started;
    uint64_t clock;       /* simulated unix seconds */
    uint64_t start;       /* the first IP packet's second */
    uint64_t offset;      /* added to the timestamps of the current --repeat pass */
    uint64_t last_seen;   /* latest timestamp seen, before the offset */
    uint64_t pass_length; /* seconds one --repeat pass spans */
    int dirty;            /* packets fed since the last tick */
    int hub_connected;
    uint64_t ip_packets;
    int auto_device; /* no --local: the device is the first sound packet's source */
    UINT interfaces; /* IPv4 interfaces given an address */
    uint64_t non_ip_frames;
    uint64_t messages_printed;
    unsigned unsupported_files;
    unsigned damaged_files;
    ULONG ip_hooked; /* IPs the module hooked, read before the device is deleted */
} run;

static void usage(FILE *out)
{
    fprintf(out, "usage: nxsm_replay [--local ADDR[/PREFIX]]... [--capture unicast-only|ip-input]\n"
                 "                   [--window-s N] [--hub-outage FROM:SECONDS] [--repeat N]\n"
                 "                   [--policy-blob FILE] [--learn SECONDS] FILE.pcap...\n"
                 "  --local ADDR     an address of the device (IPv4 or IPv6, repeatable; a prefix\n"
                 "                   makes its subnet broadcast count as received); default: the\n"
                 "                   source of the first IP packet\n"
                 "  --capture MODE   unicast-only (default): inbound at TCP/UDP/ICMP dispatch;\n"
                 "                   ip-input: every inbound packet at IP input\n"
                 "  --window-s N     flow window length in seconds (default 10)\n"
                 "  --hub-outage F:S the hub client is disconnected from F seconds after the first\n"
                 "                   IP packet, for S seconds\n"
                 "  --repeat N       play the files N times in a row (default 1)\n"
                 "  --policy-blob F  load the detection policy blob F (nxsm-policy makes one)\n"
                 "                   before the first packet\n"
                 "  --learn S        learn mode for S seconds from the first packet (1..604800)\n"
                 "Output: each message the hub accepted as a hex line, then a JSON summary line;\n"
                 "scripts/replay decodes it (nxsm-decode --replay).\n");
}

static int fail_usage(const char *message, const char *argument)
{
    fprintf(stderr, "nxsm_replay: %s%s%s\n", message, argument ? ": " : "", argument ? argument : "");
    usage(stderr);
    return 2;
}

/* ADDR or ADDR/PREFIX into a local_address. */
static int parse_local(const char *text, local_address *out)
{
    char buffer[INET6_ADDRSTRLEN + 8];
    char *slash;
    unsigned long prefix = ULONG_MAX;
    struct in_addr v4;

    if (strlen(text) >= sizeof(buffer))
    {
        return -1;
    }
    strcpy(buffer, text);
    slash = strchr(buffer, '/');
    if (slash != NULL)
    {
        char *end = NULL;

        *slash = '\0';
        errno = 0;
        prefix = strtoul(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end != '\0')
        {
            return -1;
        }
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buffer, &v4) == 1)
    {
        if (prefix == ULONG_MAX)
        {
            prefix = 32;
        }
        if (prefix > 32)
        {
            return -1;
        }
        out->version = 4;
        out->v4 = ntohl(v4.s_addr);
        out->v4_mask = (prefix == 0) ? 0u : (uint32_t)(0xFFFFFFFFu << (32u - prefix));
        out->prefix = (unsigned)prefix;
        return 0;
    }
    if (inet_pton(AF_INET6, buffer, out->v6) == 1)
    {
        if (prefix == ULONG_MAX)
        {
            prefix = 128;
        }
        if (prefix > 128)
        {
            return -1;
        }
        out->version = 6;
        out->prefix = (unsigned)prefix;
        return 0;
    }
    return -1;
}

static int add_local(const local_address *address)
{
    if ((address->version == 4 && options.v4_count >= REPLAY_MAX_V4) ||
        (address->version == 6 && options.v6_count >= REPLAY_MAX_V6))
    {
        return -1;
    }
    options.locals[options.local_count++] = *address;
    if (address->version == 4)
    {
        options.v4_count++;
    }
    else
    {
        options.v6_count++;
    }
    return 0;
}

/* A whole number 1..max, nothing before or after it, into *out; 0 on success. */
static int parse_count(const char *value, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long count;

    if (value[0] == '-')
    {
        return -1;
    }
    errno = 0;
    count = strtoul(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || count == 0 || count > max)
    {
        return -1;
    }
    *out = count;
    return 0;
}

static int add_file(const char *path)
{
    if (options.file_count >= REPLAY_MAX_FILES)
    {
        return fail_usage("too many files", NULL);
    }
    options.files[options.file_count++] = path;
    return 0;
}

/* The options that take a value (each is handled by parse_option). */
static const char *const valued_options[] = {"--local",  "--capture",     "--window-s", "--hub-outage",
                                             "--repeat", "--policy-blob", "--learn"};

static int is_valued_option(const char *arg)
{
    size_t i;

    for (i = 0; i < sizeof valued_options / sizeof valued_options[0]; i++)
    {
        if (strcmp(arg, valued_options[i]) == 0)
        {
            return 1;
        }
    }
    return 0;
}

/* One option of valued_options with its value; 0 on success, else fail_usage's status. */
static int parse_option(const char *arg, const char *value)
{
    unsigned long count;

    if (strcmp(arg, "--local") == 0)
    {
        local_address address;

        if (parse_local(value, &address) != 0)
        {
            return fail_usage("not an IPv4/IPv6 address[/prefix]", value);
        }
        if (add_local(&address) != 0)
        {
            return fail_usage("too many --local addresses of this IP version", value);
        }
    }
    else if (strcmp(arg, "--capture") == 0)
    {
        if (strcmp(value, "unicast-only") == 0)
        {
            options.capture_mode = NXSM_CAPTURE_UNICAST_ONLY;
        }
        else if (strcmp(value, "ip-input") == 0)
        {
            options.capture_mode = NXSM_CAPTURE_IP_INPUT;
        }
        else
        {
            return fail_usage("--capture takes unicast-only or ip-input, not", value);
        }
    }
    else if (strcmp(arg, "--window-s") == 0)
    {
        if (parse_count(value, 86400ul, &count) != 0)
        {
            return fail_usage("--window-s takes 1..86400 seconds, not", value);
        }
        options.window_s = count;
    }
    else if (strcmp(arg, "--hub-outage") == 0)
    {
        unsigned long long from;
        unsigned long long seconds;
        int used = 0;

        if (value[0] == '-' || sscanf(value, "%llu:%llu%n", &from, &seconds, &used) != 2 || value[used] != '\0' ||
            seconds == 0 || from > 0xFFFFFFFFull || seconds > 0xFFFFFFFFull)
        {
            return fail_usage("--hub-outage takes FROM:SECONDS (whole seconds, SECONDS > 0), not", value);
        }
        options.outage_from = from;
        options.outage_seconds = seconds;
    }
    else if (strcmp(arg, "--policy-blob") == 0)
    {
        options.policy_path = value;
    }
    else if (strcmp(arg, "--learn") == 0)
    {
        if (parse_count(value, 604800ul, &count) != 0)
        {
            return fail_usage("--learn takes 1..604800 seconds, not", value);
        }
        options.learn_s = count;
    }
    else
    {
        if (parse_count(value, 10000ul, &count) != 0)
        {
            return fail_usage("--repeat takes 1..10000, not", value);
        }
        options.repeat = count;
    }
    return 0;
}

static int parse_arguments(int argc, char **argv)
{
    int i;
    int status;

    options.capture_mode = NXSM_CAPTURE_UNICAST_ONLY;
    options.window_s = 10;
    options.repeat = 1;
    for (i = 1; i < argc; i++)
    {
        const char *arg = argv[i];

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        {
            usage(stdout);
            exit(0);
        }
        if (strcmp(arg, "--") == 0)
        {
            for (i++; i < argc; i++)
            {
                if ((status = add_file(argv[i])) != 0)
                {
                    return status;
                }
            }
            break;
        }
        if (strncmp(arg, "--", 2) != 0)
        {
            status = add_file(arg);
        }
        else if (!is_valued_option(arg))
        {
            status = fail_usage("unknown option", arg);
        }
        else if (i + 1 >= argc)
        {
            status = fail_usage("missing value for", arg);
        }
        else
        {
            status = parse_option(arg, argv[++i]);
        }
        if (status != 0)
        {
            return status;
        }
    }
    if (options.file_count == 0)
    {
        return fail_usage("no capture file given", NULL);
    }
    return 0;
}

/* ---- link layers -------------------------------------------------------------------------- */

static uint16_t be16_at(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t le32_at(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

static int link_supported(int dlt)
{
    return dlt == DLT_EN10MB || dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6 || dlt == DLT_LINUX_SLL ||
           dlt == DLT_LINUX_SLL2 || dlt == DLT_NULL || dlt == DLT_LOOP || dlt == 12 || dlt == 14 || dlt == 101;
}

/* Ethertype at offset, through any number of 802.1Q / 802.1ad / QinQ tags: sets *offset to
   the payload and returns the ethertype (0 if the frame ends first). */
static uint16_t ethertype_through_tags(const uint8_t *frame, uint32_t length, uint32_t *offset)
{
    uint16_t type;

    for (;;)
    {
        if (*offset + 2u > length)
        {
            return 0;
        }
        type = be16_at(frame + *offset);
        *offset += 2u;
        if (type != 0x8100u && type != 0x88A8u && type != 0x9100u)
        {
            return type;
        }
        *offset += 2u; /* tag control information; the inner type follows */
    }
}

/* Finds the IP packet of a frame. Returns 4 or 6 (and sets ip and ip_length), or 0 if the frame
   carries no IPv4/IPv6 packet. */
static int ip_of_frame(int dlt, const uint8_t *frame, uint32_t length, const uint8_t **ip, uint32_t *ip_length)
{
    uint32_t offset = 0;
    uint16_t type = 0;
    int version = 0;

    switch (dlt)
    {
    case DLT_EN10MB:
        if (length < 14u)
        {
            return 0;
        }
        offset = 12;
        type = ethertype_through_tags(frame, length, &offset);
        break;
    case DLT_LINUX_SLL:
        if (length < 16u)
        {
            return 0;
        }
        offset = 14;
        type = ethertype_through_tags(frame, length, &offset);
        break;
    case DLT_LINUX_SLL2:
        if (length < 20u)
        {
            return 0;
        }
        type = be16_at(frame);
        offset = 20;
        if (type == 0x8100u || type == 0x88A8u || type == 0x9100u)
        {
            offset = 22; /* the tag follows the header: its type field is the next one */
            type = ethertype_through_tags(frame, length, &offset);
        }
        break;
    case DLT_NULL:
    case DLT_LOOP:
    {
        uint32_t family;

        if (length < 4u)
        {
            return 0;
        }
        offset = 4;
        /* DLT_NULL: the writer's byte order; DLT_LOOP: network order. */
        family = be32_at(frame);
        if (dlt == DLT_NULL && (family & 0xFFFFu) == 0u)
        {
            family = le32_at(frame);
        }
        if (family == 2u)
        {
            version = 4;
        }
        else if (family == 10u || family == 24u || family == 28u || family == 30u)
        {
            version = 6;
        }
        else
        {
            return 0;
        }
        break;
    }
    case DLT_IPV4:
        version = 4;
        break;
    case DLT_IPV6:
        version = 6;
        break;
    default: /* DLT_RAW and its platform numbers: the version nibble decides */
        if (length < 1u)
        {
            return 0;
        }
        version = frame[0] >> 4;
        if (version != 4 && version != 6)
        {
            return 0;
        }
        break;
    }
    if (version == 0)
    {
        if (type == 0x0800u)
        {
            version = 4;
        }
        else if (type == 0x86DDu)
        {
            version = 6;
        }
        else
        {
            return 0;
        }
    }
    if (offset > length)
    {
        return 0;
    }
    *ip = frame + offset;
    *ip_length = length - offset;
    return version;
}

/* ---- the simulated device ----------------------------------------------------------------- */

/* Whether the fixed header is sound enough to name a source: version nibble, IPv4 header
   length (5..15 words, inside the packet) and a total length that covers it. */
static int header_sound(int version, const uint8_t *ip, uint32_t length)
{
    if (version == 4 && length >= 20u && (ip[0] >> 4) == 4)
    {
        uint32_t header = (uint32_t)(ip[0] & 0x0Fu) * 4u;

        return header >= 20u && header <= length && be16_at(ip + 2) >= header;
    }
    return version == 6 && length >= 40u && (ip[0] >> 4) == 6;
}

static int is_local_source(int version, const uint8_t *ip, uint32_t length)
{
    unsigned i;

    if (!header_sound(version, ip, length))
    {
        return 0;
    }
    if (version == 4)
    {
        uint32_t source = be32_at(ip + 12);

        for (i = 0; i < options.local_count; i++)
        {
            if (options.locals[i].version == 4 && options.locals[i].v4 == source)
            {
                return 1;
            }
        }
    }
    else
    {
        for (i = 0; i < options.local_count; i++)
        {
            if (options.locals[i].version == 6 && memcmp(options.locals[i].v6, ip + 8, 16) == 0)
            {
                return 1;
            }
        }
    }
    return 0;
}

/* Without --local: the source of the first IP packet that has one. */
static void detect_device(int version, const uint8_t *ip, uint32_t length)
{
    local_address address;

    memset(&address, 0, sizeof(address));
    if (!header_sound(version, ip, length))
    {
        return;
    }
    if (version == 4)
    {
        address.version = 4;
        address.v4 = be32_at(ip + 12);
        address.v4_mask = 0xFFFFFFFFu;
        address.prefix = 32;
    }
    else
    {
        address.version = 6;
        memcpy(address.v6, ip + 8, 16);
        address.prefix = 128;
    }
    (void)add_local(&address);
}

/* Gives the simulated NX_IP a device address: an IPv4 one on the next interface, an IPv6
   one on interface 0. */
static int give_address(const local_address *local)
{
    UINT status;

    if (local->version == 4)
    {
        status = nx_ip_interface_address_set(&replay_ip, run.interfaces++, local->v4, local->v4_mask);
    }
    else
    {
        NXD_ADDRESS address;
        unsigned w;

        memset(&address, 0, sizeof(address));
        address.nxd_ip_version = NX_IP_VERSION_V6;
        for (w = 0; w < 4u; w++)
        {
            address.nxd_ip_address.v6[w] = be32_at(local->v6 + 4u * w);
        }
        status = nxd_ipv6_address_set(&replay_ip, 0, &address, local->prefix, NX_NULL);
    }
    return (status == NX_SUCCESS) ? 0 : -1;
}

static void set_time(uint64_t seconds)
{
    sim_set_unix_time(1, (ULONG)(seconds > REPLAY_MAX_TIME ? REPLAY_MAX_TIME : seconds));
}

static void tick(void);

/* The shim spreads the first collection with NX_RAND() (rand() here) over base .. 3 base
   seconds; a seed whose first rand() gives no spread makes every collector first run one
   window after the first packet, as on a device that drew 0: runs are repeatable and the
   first message carries every event. */
static void seed_first_collection(uint32_t base)
{
    unsigned seed;

    for (seed = 1u; seed < 1000000u; seed++)
    {
        srand(seed);
        if ((uint32_t)rand() % (2u * base) == 0u)
        {
            srand(seed);
            return;
        }
    }
    srand(1u);
}

/* Reads the --policy-blob file into policy (at most REPLAY_MAX_POLICY_BYTES); 0 on
   success, else says why on stderr and returns -1. */
static int read_policy(const char *path)
{
    FILE *file = fopen(path, "rb");
    size_t length;

    if (file == NULL)
    {
        fprintf(stderr, "nxsm_replay: cannot read policy blob %s: %s\n", path, strerror(errno));
        return -1;
    }
    policy.bytes = malloc(REPLAY_MAX_POLICY_BYTES + 1u);
    length = (policy.bytes != NULL) ? fread(policy.bytes, 1, REPLAY_MAX_POLICY_BYTES + 1u, file) : 0u;
    if (policy.bytes == NULL || ferror(file))
    {
        fprintf(stderr, "nxsm_replay: cannot read policy blob %s: %s\n", path,
                policy.bytes == NULL ? "out of memory" : strerror(errno));
        fclose(file);
        return -1;
    }
    fclose(file);
    if (length > REPLAY_MAX_POLICY_BYTES)
    {
        fprintf(stderr, "nxsm_replay: policy blob %s: larger than %u bytes\n", path, REPLAY_MAX_POLICY_BYTES);
        return -1;
    }
    policy.length = length;
    return 0;
}

/* Loads the --policy-blob into the enabled module and starts --learn; 0 on success (or
   without either). */
static int load_policy(void)
{
    nxsm_result result;

    if (options.learn_s != 0u && (result = nxsm_baseline_learn((uint32_t)options.learn_s)) != NXSM_OK)
    {
        fprintf(stderr, "nxsm_replay: learn mode refused: %s (%u)\n", nxsm_result_text((uint32_t)result),
                (unsigned)result);
        return -1;
    }
    if (options.policy_path == NULL)
    {
        return 0;
    }
    result = nxsm_policy_load(policy.bytes, policy.length);
    if (result != NXSM_OK)
    {
        fprintf(stderr, "nxsm_replay: policy blob %s refused: %s (%u)\n", options.policy_path,
                nxsm_result_text((uint32_t)result), (unsigned)result);
        return -1;
    }
    return 0;
}

static int start_device(uint64_t now)
{
    nxsm_config config;
    unsigned i;
    UINT status;

    sim_reset();
    set_time(now);
    if (nxsm_config_default(&config) != NXSM_OK)
    {
        return -1;
    }
    config.capture_mode = options.capture_mode;
    config.high_interval_s = (uint32_t)options.window_s;
    config.first_collection_base_s = (uint32_t)(options.window_s < 3600u ? options.window_s : 3600u);
    if (nxsm_netx_config_set(&config) != NXSM_OK)
    {
        return -1;
    }
    if (sim_ip_create(&replay_ip, (CHAR *)"replay") != NX_SUCCESS || nx_tcp_enable(&replay_ip) != NX_SUCCESS ||
        nx_udp_enable(&replay_ip) != NX_SUCCESS || nxd_icmp_enable(&replay_ip) != NX_SUCCESS)
    {
        return -1;
    }
    run.interfaces = 0;
    for (i = 0; i < options.local_count; i++)
    {
        if (give_address(&options.locals[i]) != 0)
        {
            return -1;
        }
    }
    seed_first_collection(config.first_collection_base_s);
    status = nx_azure_iot_create(&replay_iot, (const UCHAR *)"replay", &replay_ip, &replay_pool, &replay_dns,
                                 replay_cloud_stack, (UINT)sizeof(replay_cloud_stack), 3, sim_unix_time_get);
    if (status != NX_AZURE_IOT_SUCCESS)
    {
        fprintf(stderr, "nxsm_replay: nx_azure_iot_create failed: 0x%x\n", status);
        return -1;
    }
    if (sim_hub_client_attach(&replay_hub, &replay_iot, "replay.azure-devices.net", "replay-device", NX_NULL) !=
        NX_AZURE_IOT_SUCCESS)
    {
        return -1;
    }
    run.started = 1;
    run.clock = now;
    run.start = now;
    /* The first window ends one window after the first packet (the first collection of
       the other groups keeps its random spread): a shorter interval applies at once. */
    if (nxsm_set_interval(NXSM_PRIORITY_HIGH, (uint32_t)options.window_s) != NXSM_OK || load_policy() != 0)
    {
        return -1;
    }
    tick();
    return 0;
}

/* ---- clock and output ------------------------------------------------------------------ */

static nxsm_stats read_stats(void)
{
    nxsm_stats stats;

    memset(&stats, 0, sizeof(stats));
    stats.struct_size = (uint32_t)sizeof(stats);
    (void)nxsm_get_stats(&stats);
    return stats;
}

/* Prints the messages the hub client accepted since the last call, one hex line each. */
static void print_messages(void)
{
    ULONG count = sim_hub_sent_count();
    ULONG i;

    for (i = 0; i < count; i++)
    {
        sim_hub_message message;
        UINT b;

        if (sim_hub_sent_get(i, &message) != NX_SUCCESS)
        {
            continue;
        }
        for (b = 0; b < message.payload_length; b++)
        {
            printf("%02x", message.payload[b]);
        }
        printf("\n");
        run.messages_printed++;
    }
    sim_hub_clear_log();
}

static int in_outage(uint64_t clock)
{
    uint64_t since = clock - run.start;

    return options.outage_seconds != 0 && since >= options.outage_from &&
           since - options.outage_from < options.outage_seconds;
}

/* The cloud helper's periodic pass at the current clock (polls and drains). */
static void tick(void)
{
    int connected = !in_outage(run.clock);

    set_time(run.clock);
    if (connected != run.hub_connected)
    {
        sim_hub_client_set_state(&replay_hub, connected ? NX_AZURE_IOT_HUB_CLIENT_STATUS_CONNECTED
                                                        : NX_AZURE_IOT_HUB_CLIENT_STATUS_NOT_CONNECTED);
        run.hub_connected = connected;
    }
    sim_cloud_tick();
    run.dirty = 0;
    print_messages();
}

/* Moves the clock to target: a tick on the second after captured traffic, at each due
   collection while flows wait in the window, at the outage's edges and every second while
   messages wait for a connected hub; idle stretches are skipped (the module keeps its
   collection grid across the jump). */
static void advance_to(uint64_t target)
{
    while (run.clock < target)
    {
        uint64_t next = target;

        if (run.dirty)
        {
            next = run.clock + 1u;
        }
        else
        {
            nxsm_stats stats = read_stats();
            uint64_t edges[2] = {run.start + options.outage_from,
                                 run.start + options.outage_from + options.outage_seconds};
            unsigned e;

            if (stats.flows_v4 + stats.flows_v6 != 0 && stats.next_collection_s > run.clock &&
                stats.next_collection_s < next)
            {
                next = stats.next_collection_s;
            }
            for (e = 0; e < 2 && options.outage_seconds != 0; e++)
            {
                if (edges[e] > run.clock && edges[e] < next)
                {
                    next = edges[e];
                }
            }
            /* While messages wait for a connected hub, the shim sends a few per tick. */
            if (stats.outbox_messages != 0 && run.hub_connected)
            {
                next = run.clock + 1u;
            }
        }
        run.clock = next;
        tick();
    }
}

/* One IP packet: link_version is what the link layer says (4 or 6). NetX and the core go by
   the header's version nibble; a packet whose nibble is neither 4 nor 6 is still offered
   to the stack (which refuses it), but it has no source address: it never counts as sent
   by the device and never names the device. */
static void feed(int link_version, const uint8_t *ip, uint32_t length, uint64_t seconds)
{
    int version = (length >= 1u) ? (ip[0] >> 4) : 0;

    (void)link_version;
    if (version != 4 && version != 6)
    {
        version = 0;
    }
    run.ip_packets++;
    if (!run.started)
    {
        run.auto_device = (options.local_count == 0);
        if (start_device(seconds) != 0)
        {
            fprintf(stderr, "nxsm_replay: cannot start the simulated device\n");
            exit(1);
        }
    }
    /* Without --local the device gets its address from the first packet with a sound
       header (until then it has none, and every packet is offered as received). */
    if (run.auto_device && options.local_count == 0)
    {
        detect_device(version, ip, length);
        if (options.local_count != 0 && give_address(&options.locals[0]) != 0)
        {
            fprintf(stderr, "nxsm_replay: cannot give the simulated device its address\n");
            exit(1);
        }
    }
    if (seconds > run.clock)
    {
        advance_to(seconds);
    }
    if (is_local_source(version, ip, length))
    {
        (void)sim_ip_send(&replay_ip, ip, length, REPLAY_FIRST_BUFFER_BYTES);
    }
    else
    {
        (void)sim_ip_receive(&replay_ip, ip, length, REPLAY_FIRST_BUFFER_BYTES);
    }
    run.dirty = 1;
    /* The ring watermark event, handled as the cloud thread would. */
    sim_cloud_process_events();
}

static void replay_file(const char *name, pcap_t *pcap)
{
    int dlt = pcap_datalink(pcap);
    struct pcap_pkthdr *header;
    const u_char *data;
    int status;
    uint64_t frames = 0;

    if (!link_supported(dlt))
    {
        const char *link = pcap_datalink_val_to_name(dlt);

        fprintf(stderr, "nxsm_replay: %s: link type %d (%s) not supported, skipped\n", name, dlt,
                link != NULL ? link : "unknown");
        run.unsupported_files++;
        return;
    }
    while ((status = pcap_next_ex(pcap, &header, &data)) == 1)
    {
        const uint8_t *ip = NULL;
        uint32_t ip_length = 0;
        int version;
        uint64_t seconds;

        frames++;
        version = ip_of_frame(dlt, data, header->caplen, &ip, &ip_length);
        if (version == 0)
        {
            run.non_ip_frames++;
            continue;
        }
        /* pcap stores unsigned 32-bit seconds; libpcap's signed time_t makes those past
           2038 negative: read them back as unsigned. */
        seconds = (header->ts.tv_sec < 0) ? (uint64_t)(uint32_t)header->ts.tv_sec : (uint64_t)header->ts.tv_sec;
        if (seconds > run.last_seen)
        {
            run.last_seen = seconds;
        }
        seconds += run.offset;
        if (run.started && seconds < run.clock)
        {
            seconds = run.clock;
        }
        feed(version, ip, ip_length, seconds);
    }
    if (status == PCAP_ERROR)
    {
        fprintf(stderr, "nxsm_replay: %s: read error after %" PRIu64 " frames: %s\n", name, frames, pcap_geterr(pcap));
        run.damaged_files++;
    }
}

static void print_summary(void)
{
    nxsm_stats stats = read_stats();
    nxsm_capacities capacities;
    sim_ip_counters sim;
    sim_hub_counters hub;
    unsigned i;

    capacities.struct_size = (uint32_t)sizeof(capacities);
    (void)nxsm_get_capacities(&capacities);
    sim_ip_counters_get(&sim);
    sim_hub_counters_get(&hub);

    printf("{\"summary\": {\"files\": %u, \"unsupported_link_files\": %u, \"damaged_files\": %u, "
           "\"ip_packets\": %" PRIu64 ", \"non_ip_frames\": %" PRIu64 ", ",
           options.file_count, run.unsupported_files, run.damaged_files, run.ip_packets, run.non_ip_frames);
    printf("\"packets_seen\": %" PRIu64 ", \"packets_counted\": %" PRIu64 ", \"malformed\": %" PRIu64
           ", \"ignored\": %" PRIu64 ", \"ring_dropped\": %" PRIu64 ", \"table_full_dropped\": %" PRIu64
           ", \"ring_waiting\": %" PRIu32 ", \"state\": %" PRIu32 ", \"polls\": %" PRIu32 ", ",
           stats.packets_seen, stats.packets_counted, stats.malformed, stats.ignored, stats.ring_dropped,
           stats.table_full_dropped, stats.ring_waiting, stats.state, stats.polls);
    printf("\"collections\": %" PRIu32 ", \"messages_built\": %" PRIu32 ", \"messages_sent\": %" PRIu32
           ", \"messages_failed\": %" PRIu32 ", \"messages_dropped\": %" PRIu32 ", \"outbox_messages\": %" PRIu32
           ", \"outbox_peak_bytes\": %" PRIu32 ", \"clock_unavailable\": %" PRIu32 ", \"messages_printed\": %" PRIu64
           ", \"hub_accepted\": %lu, ",
           stats.collections, stats.messages_built, stats.messages_sent, stats.messages_failed, stats.messages_dropped,
           stats.outbox_messages, stats.outbox_peak_bytes, stats.clock_unavailable, run.messages_printed,
           (unsigned long)hub.sends);
    printf("\"alerts_sent\": %" PRIu32 ", \"alerts_suppressed\": %" PRIu32 ", \"packets_blocked\": %" PRIu64 ", ",
           stats.alerts_sent, stats.alerts_suppressed, stats.packets_blocked);
    printf("\"window_s\": %" PRIu64 ", \"hub_outage\": [%" PRIu64 ", %" PRIu64 "], \"repeat\": %lu, "
           "\"capture\": \"%s\", \"device\": [",
           options.window_s, options.outage_from, options.outage_seconds, options.repeat,
           options.capture_mode == NXSM_CAPTURE_IP_INPUT ? "ip-input" : "unicast-only");
    for (i = 0; i < options.local_count; i++)
    {
        char text[INET6_ADDRSTRLEN];
        const local_address *local = &options.locals[i];
        uint32_t v4 = htonl(local->v4);

        (void)inet_ntop(local->version == 4 ? AF_INET : AF_INET6,
                        local->version == 4 ? (const void *)&v4 : (const void *)local->v6, text, sizeof(text));
        printf("%s\"%s/%u\"", i ? ", " : "", text, local->prefix);
    }
    printf("], \"sim\": {\"sent\": %lu, \"received\": %lu, \"delivered\": %lu, \"filter_dropped\": %lu, "
           "\"not_for_us\": %lu, \"invalid\": %lu, \"fragment_held\": %lu, \"no_transport\": %lu}, ",
           (unsigned long)sim.sent, (unsigned long)sim.received, (unsigned long)sim.outcome[SIM_IP_DELIVERED],
           (unsigned long)sim.outcome[SIM_IP_FILTER_DROPPED], (unsigned long)sim.outcome[SIM_IP_NOT_FOR_US],
           (unsigned long)sim.outcome[SIM_IP_INVALID], (unsigned long)sim.outcome[SIM_IP_FRAGMENT_HELD],
           (unsigned long)sim.outcome[SIM_IP_NO_TRANSPORT]);
    printf("\"ip_hooked\": %lu, \"max_flows_v4\": %" PRIu32 ", \"max_flows_v6\": %" PRIu32 ", \"ring_slots\": %" PRIu32
           ", \"outbox_bytes\": %" PRIu32 ", \"max_message_bytes\": %" PRIu32 "}}\n",
           (unsigned long)run.ip_hooked, capacities.max_flows_v4, capacities.max_flows_v6, capacities.ring_slots,
           capacities.outbox_bytes, capacities.max_message_bytes);
}

/* Opens a capture file, or says why it cannot be read. */
static pcap_t *open_capture(const char *name)
{
    char error[PCAP_ERRBUF_SIZE];
    pcap_t *pcap;

    error[0] = '\0';
    pcap = pcap_open_offline(name, error);
    if (pcap == NULL)
    {
        /* libpcap's message often names the file already. */
        if (error[0] != '\0' && strncmp(error, name, strlen(name)) == 0)
        {
            fprintf(stderr, "nxsm_replay: cannot read %s\n", error);
        }
        else
        {
            fprintf(stderr, "nxsm_replay: cannot read %s: %s\n", name, error[0] ? error : "not a capture file");
        }
    }
    return pcap;
}

int main(int argc, char **argv)
{
    unsigned i;
    unsigned long pass;
    int status = parse_arguments(argc, argv);

    if (status != 0)
    {
        return status;
    }
    if (options.policy_path != NULL && read_policy(options.policy_path) != 0)
    {
        return 1;
    }
    /* Check every file first: an unreadable one stops the run before any output. */
    for (i = 0; i < options.file_count; i++)
    {
        pcap_t *pcap = open_capture(options.files[i]);

        if (pcap == NULL)
        {
            return 1;
        }
        pcap_close(pcap);
    }
    for (pass = 0; pass < options.repeat; pass++)
    {
        for (i = 0; i < options.file_count; i++)
        {
            pcap_t *pcap = open_capture(options.files[i]);

            if (pcap == NULL)
            {
                return 1;
            }
            replay_file(options.files[i], pcap);
            pcap_close(pcap);
        }
        /* The next pass starts one second after this one's last packet. */
        if (pass == 0)
        {
            run.pass_length = (run.last_seen >= run.start) ? run.last_seen - run.start + 1u : 1u;
        }
        run.offset += run.pass_length;
    }
    if (run.started)
    {
        /* Close the last window, whose end lies past the last packet, and give the hub
           client what is waiting (within ten minutes). */
        uint64_t window_end = run.start + ((run.clock - run.start) / options.window_s + 1u) * options.window_s;
        uint64_t deadline;

        advance_to(window_end);
        if (window_end > REPLAY_MAX_TIME)
        {
            /* The module's clock stops at the last 32-bit second, so no collection can come
               due after it: switching network activity off collects the open window now. */
            (void)nxsm_set_collector(NXSM_COLLECTOR_NETWORK_ACTIVITY, false, NXSM_PRIORITY_HIGH);
        }
        deadline = run.clock + 600u;
        while (read_stats().outbox_messages != 0 && run.clock < deadline)
        {
            advance_to(run.clock + 1u);
        }
        {
            nxsm_netx_hook_status hooks;

            nxsm_netx_hook_status_get(&hooks);
            run.ip_hooked = hooks.ip_hooked;
        }
        (void)sim_hub_client_detach(&replay_hub);
        (void)nx_azure_iot_delete(&replay_iot);
        print_messages();
    }
    print_summary();
    return 0;
}
