/* IP packets for the C tests and the test firmware, built one way: IPv4 (20-byte header) or
   IPv6 (40-byte header, optionally behind a hop-by-hop header), then a TCP (20 bytes, no
   options), UDP (8) or ICMP/ICMPv6 echo (8) header and zero payload bytes. Multi-byte
   fields in network order; no checksums (NetX Duo's simulator and the module ignore them). */
#ifndef NXSM_TEST_PACKETS_H
#define NXSM_TEST_PACKETS_H

#include <stdint.h>
#include <string.h>

#define TP_TCP        6u
#define TP_UDP        17u
#define TP_ICMP       1u
#define TP_ICMPV6     58u
#define TP_HOP_BY_HOP 0u

static inline void tp_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void tp_put32(uint8_t *p, uint32_t v)
{
    tp_put16(p, v >> 16);
    tp_put16(p + 2, v & 0xFFFFu);
}

/* The transport header of `proto` and `payload` zero bytes at `out`; `tcp_flags` for TCP.
   Returns its length. */
static inline uint32_t tp_transport(uint8_t *out, uint8_t proto, uint32_t sport, uint32_t dport, uint32_t payload,
                                    uint8_t tcp_flags)
{
    uint32_t header = (proto == TP_TCP) ? 20u : 8u;

    memset(out, 0, header + payload);
    if (proto == TP_TCP)
    {
        tp_put16(out, sport);
        tp_put16(out + 2, dport);
        out[12] = 0x50; /* data offset: 5 words */
        out[13] = tcp_flags;
    }
    else if (proto == TP_UDP)
    {
        tp_put16(out, sport);
        tp_put16(out + 2, dport);
        tp_put16(out + 4, header + payload);
    }
    else
    {
        out[0] = (proto == TP_ICMP) ? 8u : 128u; /* echo request */
    }
    return header + payload;
}

/* An IPv4 datagram from `src` to `dst` (host-order values); `frag` is the flags and
   fragment-offset field. Returns its total length. */
static inline uint32_t tp_ipv4(uint8_t *out, uint32_t src, uint32_t dst, uint8_t proto, uint32_t sport, uint32_t dport,
                               uint32_t payload, uint32_t frag, uint8_t tcp_flags)
{
    uint32_t l4 = tp_transport(out + 20, proto, sport, dport, payload, tcp_flags);

    memset(out, 0, 20);
    out[0] = 0x45;
    tp_put16(out + 2, 20u + l4);
    tp_put16(out + 6, frag);
    out[8] = 64;
    out[9] = proto;
    tp_put32(out + 12, src);
    tp_put32(out + 16, dst);
    return 20u + l4;
}

/* An IPv6 datagram, behind a hop-by-hop header of `hbh_len` bytes (8, 16, ...) when it is
   not 0. Returns its total length. */
static inline uint32_t tp_ipv6(uint8_t *out, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                               uint32_t sport, uint32_t dport, uint32_t payload, uint32_t hbh_len, uint8_t tcp_flags)
{
    uint32_t l4 = tp_transport(out + 40 + hbh_len, proto, sport, dport, payload, tcp_flags);

    memset(out, 0, 40 + hbh_len);
    out[0] = 0x60;
    tp_put16(out + 4, hbh_len + l4);
    out[6] = (hbh_len != 0u) ? TP_HOP_BY_HOP : proto;
    out[7] = 64;
    memcpy(out + 8, src, 16);
    memcpy(out + 24, dst, 16);
    if (hbh_len != 0u)
    {
        out[40] = proto;
        out[41] = (uint8_t)(hbh_len / 8u - 1u);
        out[42] = 1; /* PadN over the rest */
        out[43] = (uint8_t)(hbh_len - 4u);
    }
    return 40u + hbh_len + l4;
}

#endif
