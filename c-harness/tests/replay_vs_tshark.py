#!/usr/bin/env python3
"""Replay vs an independent dissector.

Runs `nxsm_replay` (the real library + shim on the NetX Duo simulator), reads the
messages its simulated hub client received back with the reference decoder
(`nxsm-decode --replay`), runs `tshark -T fields` (Wireshark's dissectors, IP/IPv6 reassembly off so non-first fragments
carry no ports) on the same captures, rebuilds from tshark's per-packet fields what the
module must have recorded, and compares exactly, per window and per flow: packets and
bytes in each direction and the TCP flags seen, plus the summary counters (IP packets,
packets seen / counted / malformed / ignored, table-full drops).

The expected values follow the contracts the replay documents:
  * direction: a packet whose source is a device address was sent (the filter sees it
    OUT); every other one is offered to NetX input;
  * ip-input mode: every inbound packet is recorded at IP input; unicast-only mode: only
    what the simulated NetX accepts (addressed to the device, 0.0.0.0, broadcast, 127/8,
    multicast; length checks; no non-first fragment; IPv6 header order rules) and hands to
    TCP/UDP/ICMP/ICMPv6, with NetX's IPv4 option removal (the total length is kept, so
    the options count as payload);
  * what the core records: bytes = IP payload (transport header + data,
    after IPv6 extension headers); non-first fragments and other protocols are ignored;
    truncated or inconsistent headers are malformed; ICMPv6 is reported as ICMP;
  * windows of --window-s seconds from the first IP packet, timestamps never going back,
    flow tables of the capacity the summary reports (new flows beyond it are dropped);
  * TCP flags as the wire format carries them: SYN, FIN and RST per direction.

Standard library only. Exit status 0 all equal, 1 a difference (printed), 77 tshark or the
replay tool missing (ctest reports the test as skipped).

  replay_vs_tshark.py --replay build/host/c-harness/nxsm_replay \
      --decode build/host/cargo-tools/release/nxsm-decode --data c-harness/data/pcap
  replay_vs_tshark.py --replay ... --decode ... FILE.pcap [--local ADDR]...   (one capture, both modes)

Beyond the flows, every run must show that nothing was lost between the module and the
hub: all messages built were sent, and the decoded flows carry exactly the packets the
module counted.
"""

import argparse
import collections
import concurrent.futures
import ipaddress
import os
import shutil
import struct
import subprocess
import sys

from replay_runner import replay_records

# The replay hands NetX one first buffer of this many bytes (nxsm_replay.c).
FIRST_BUFFER = 1536
MAX_EXTENSION_HEADERS = 8

# (capture under --data, device addresses or None for "source of the first IP packet").
# Together they cover: Ethernet, 802.1Q, Linux cooked, BSD loopback (DLT_NULL), raw IP and
# LINKTYPE_IPV4/IPV6; IPv4 and IPv6; TCP, UDP, ICMP, ICMPv6; IPv4 and IPv6 fragments;
# IPv4 options; hop-by-hop, routing, destination-options and AH extension headers;
# broadcast, multicast, tunnels (VXLAN, Geneve, GRE) and other hosts' traffic.
# `--all` adds every other capture under DATA/tcpdump (they all compare equal as well).
CASES = [
    ("demo/device.pcap", ["192.0.2.1/24", "2001:db8::1", "fe80::ff:fe00:1"]),
    ("detect/device.pcap", ["192.0.2.1/24", "2001:db8::1", "fe80::ff:fe00:1"]),
    ("tcpdump/dns_tcp.pcap", None),
    ("tcpdump/dns_udp.pcap", None),
    ("tcpdump/ipv4_tcp_http_xml.pcap", None),
    ("tcpdump/tcp-handshake-nano.pcap", None),
    ("tcpdump/tfo-5c1fa7f9ae91.pcap", None),
    ("tcpdump/mptcp-v1.pcap", None),
    ("tcpdump/resp_3_malicious.pcap", None),
    ("tcpdump/ldp-common-session.pcap", None),
    ("tcpdump/icmp-rfc8335.pcap", None),
    ("tcpdump/dhcp-rfc4388.pcap", None),
    ("tcpdump/eapon1.pcap", None),
    ("tcpdump/IGMP_V2.pcap", None),
    ("tcpdump/vrrp-vrrp_print-oobr-2.pcap", None),
    ("tcpdump/olsr-oobr-1.pcap", None),
    ("tcpdump/icmpv6-ns-nonce.pcap", None),
    ("tcpdump/icmpv6-ni-flags.pcap", None),
    ("tcpdump/icmpv6-RFC2894-RR.pcap", None),
    ("tcpdump/ipv6-routing-header.pcap", None),
    ("tcpdump/erspan-type-iii-pb-1.pcap", None),
    ("tcpdump/OSPFv3_with_AH.pcap", None),
    ("tcpdump/babel.pcap", None),
    ("tcpdump/dhcpv6-ia-na.pcap", None),
    ("tcpdump/ntp.pcap", None),
    ("tcpdump/tftp.pcap", None),
    ("tcpdump/vxlan.pcap", None),
    ("tcpdump/geneve.pcap", None),
    ("tcpdump/various_gre.pcap", None),
    ("tcpdump/LINKTYPE_IPV4.pcap", None),
    ("tcpdump/LINKTYPE_IPV6.pcap", None),
    ("tcpdump/LINKTYPE_RAW_ipv4.pcap", None),
    ("tcpdump/quic_handshake.pcap", None),
    ("tcpdump/ikev2four.pcap", None),
    ("tcpdump/isakmp4500.pcap", None),
] + [("fragments/%s.pcap" % name, ["192.0.2.1/24", "2001:db8::1"]) for name in ("device", "device-reversed")]

# Fragmented traffic (scripts/make-fragment-capture: big pings and UDP answers in IPv4 and
# IPv6, in order and with every first fragment moved after its tails), also checked in
# ip-input mode against tshark's own grouping of fragments into datagrams, without the
# model above: every fragment of a datagram counts in the flow of its first fragment,
# except tails that arrive before it, which are ignored (and nothing else is).
FRAGMENT_CASES = ["fragments/device.pcap", "fragments/device-reversed.pcap"]

FIELDS = [
    "frame.number", "frame.time_epoch", "frame.cap_len", "frame.protocols",
    "eth.type", "vlan.etype", "sll.etype", "null.family",
    "ip.version", "ip.hdr_len", "ip.len", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.proto", "ip.src",
    "ip.dst",
    "ipv6.version", "ipv6.plen", "ipv6.nxt", "ipv6.src", "ipv6.dst",
    "ipv6.hopopts.nxt", "ipv6.hopopts.len_oct",
    "ipv6.dstopts.nxt", "ipv6.dstopts.len_oct",
    "ipv6.routing.nxt", "ipv6.routing.len_oct",
    "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
    "ah.next_header", "ah.length",
    "tcp.srcport", "tcp.dstport", "tcp.hdr_len", "tcp.flags",
    "udp.srcport", "udp.dstport",
]

# frame.protocols tokens of the link layers the replay supports, before the IP layer.
LINK_TOKENS = {"eth", "ethertype", "vlan", "ieee8021ad", "sll", "null", "raw"}
# Link types (pcap LINKTYPE_*) the replay supports: their header length (None: Ethernet
# with tags, counted from the frame).
LINK_HEADER = {1: None, 12: 0, 14: 0, 101: 0, 228: 0, 229: 0, 113: 16, 276: 20, 0: 4, 108: 4}


def capture_header(path):
    """(link type, snapshot length) of a pcap or pcapng file (its first interface)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    magic = head[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return struct.unpack("<I", head[20:24])[0] & 0xFFFF, struct.unpack("<I", head[16:20])[0]
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        return struct.unpack(">I", head[20:24])[0] & 0xFFFF, struct.unpack(">I", head[16:20])[0]
    if magic == b"\x0a\x0d\x0d\x0a":
        order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        position = struct.unpack(order + "I", head[4:8])[0]
        while position + 16 <= len(head):
            kind, length = struct.unpack(order + "II", head[position:position + 8])
            if kind == 1:
                link, _, snaplen = struct.unpack(order + "HHI", head[position + 8:position + 16])
                return link, snaplen
            if length < 12:
                break
            position += length
    return None, 0


class Malformed(Exception):
    """The core cannot parse the packet (counted as malformed)."""


class Ignored(Exception):
    """Well-formed, nothing to record (other protocol)."""


class Tail(Exception):
    """A fragment other than the first, of a recorded protocol: counted in the flow of its
    datagram's first fragment if the module remembers it (src/fragments.rs), else ignored."""

    def __init__(self, datagram, length):
        Exception.__init__(self)
        self.datagram = datagram  # (version, src, dst, protocol kind, identification)
        self.length = length


# src/fragments.rs: first fragments remembered (NXSM_FRAGMENT_ENTRIES, default 8), and
# for how many seconds of drain time each IP version's match.
FRAGMENT_ENTRIES = 8
FRAGMENT_MAX_AGE = {4: 15, 6: 60}
# The transport kind of a protocol number, as the core names it.
KINDS = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}


class FirstFragments:
    """The module's table of first fragments (src/fragments.rs): entries written in turn,
    a datagram seen again overwrites its own entry."""

    def __init__(self):
        self.entries = [None] * FRAGMENT_ENTRIES
        self.next = 0

    def remember(self, datagram, flow, now):
        for index, entry in enumerate(self.entries):
            if entry is not None and entry[0] == datagram:
                self.entries[index] = (datagram, flow, now)
                return
        if self.entries:
            self.entries[self.next] = (datagram, flow, now)
            self.next = (self.next + 1) % len(self.entries)

    def find(self, datagram, now):
        for entry in self.entries:
            if entry is not None and entry[0] == datagram and 0 <= now - entry[2] <= FRAGMENT_MAX_AGE[datagram[0]]:
                return entry[1]
        return None


def tshark_packets(path):
    """Yields one dict of field lists per frame."""
    command = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
               "-o", "ip.check_checksum:FALSE",
               "-o", "ip.tso_support:FALSE", "-T", "fields", "-E", "occurrence=a",
               "-E", "aggregator=;", "-E", "separator=/t"]
    for field in FIELDS:
        command += ["-e", field]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0 and not result.stdout:
        raise RuntimeError("tshark failed on %s: %s" % (path, result.stderr.strip()))
    for line in result.stdout.splitlines():
        values = line.split("\t")
        values += [""] * (len(FIELDS) - len(values))
        yield {name: (value.split(";") if value else []) for name, value in zip(FIELDS, values)}


def first_int(packet, name, base=0):
    values = packet[name]
    if not values or values[0] == "":
        return None
    return int(values[0], base)


class Frame:
    """The outer IP packet of one frame, as the replay finds it."""

    def __init__(self, packet, link, snaplen):
        self.packet = packet
        tokens = packet["frame.protocols"][0].split(":") if packet["frame.protocols"] else []
        self.version = 0
        self.after_ip = []
        if link not in LINK_HEADER:
            return
        # Is there an IPv4/IPv6 packet by the link layer's own type field?
        link_version = 0
        if link in (228, 229):
            link_version = 4 if link == 228 else 6
        elif link in (1, 113, 276):
            # The type field after the outer header and its 802.1Q/802.1ad tags.
            tags = [t for t in tokens[1:] if t != "ethertype"]
            count = 0
            while count < len(tags) and tags[count] in ("vlan", "ieee8021ad"):
                count += 1
            ethertype = 0
            if count == 0:
                types = packet["eth.type"] if link == 1 else packet["sll.etype"]
                ethertype = int(types[0], 16) if types else 0
            elif tags[count - 1] == "vlan":
                vlans = sum(1 for t in tags[:count] if t == "vlan")
                if len(packet["vlan.etype"]) >= vlans:
                    ethertype = int(packet["vlan.etype"][vlans - 1], 16)
            link_version = {0x0800: 4, 0x86DD: 6}.get(ethertype, 0)
        elif link in (0, 108):
            family = int(packet["null.family"][0]) if packet["null.family"] else 0
            link_version = 4 if family == 2 else 6 if family in (10, 24, 28, 30) else 0
        index = 0
        while index < len(tokens) and tokens[index] in LINK_TOKENS:
            index += 1
        if index < len(tokens) and tokens[index] in ("ip", "ipv6"):
            link_version = link_version or (4 if tokens[index] == "ip" else 6)
            self.after_ip = tokens[index + 1:]
            if self.after_ip[:1] == ["ipv6"]:  # an "ip" layer handing over to IPv6 (nibble 6)
                self.after_ip = self.after_ip[1:]
        if not link_version:
            return
        header = LINK_HEADER[link]
        if header is None:
            header = 14 + 4 * sum(1 for token in tokens[:index] if token in ("vlan", "ieee8021ad"))
        seconds = packet["frame.time_epoch"][0].split(".")[0]
        self.second = max(0, int(seconds))
        captured = int(packet["frame.cap_len"][0])
        if 0 < snaplen < captured:
            captured = snaplen  # libpcap cuts records longer than the file's snapshot length
        self.ip_length = captured - header
        # NetX and the core go by the version nibble, which tshark reports as ip.version
        # (or ipv6.version on an IPv6 link).
        nibble = first_int(packet, "ip.version")
        if nibble is None:
            nibble = first_int(packet, "ipv6.version")
        self.version = link_version
        self.nibble = nibble if nibble in (4, 6) else 0
        self.src = self.dst = None
        if self.nibble == 4:
            self.src = packet["ip.src"][0] if packet["ip.src"] else None
            self.dst = packet["ip.dst"][0] if packet["ip.dst"] else None
        elif self.nibble == 6:
            self.src = packet["ipv6.src"][0] if packet["ipv6.src"] else None
            self.dst = packet["ipv6.dst"][0] if packet["ipv6.dst"] else None
        # Only a sound fixed header names a source (nxsm_replay.c header_sound).
        self.has_source = (self.nibble != 0 and self.src is not None and
                           self.ip_length >= (20 if self.nibble == 4 else 40))
        if self.has_source and self.nibble == 4:
            header = first_int(packet, "ip.hdr_len")
            total = first_int(packet, "ip.len")
            self.has_source = (header is not None and total is not None and
                               20 <= header <= self.ip_length and total >= header)

    # ---- the core (src/wire, src/capture.rs) --------------------------------------------

    def transport(self, protocol, payload_length, available):
        """Transport::parse: (kind, src port, dst port, flags)."""
        minimum = {6: 20, 17: 8, 1: 4, 58: 4}.get(protocol)
        if minimum is None:
            raise Ignored()
        if payload_length < minimum:
            raise Malformed()
        if available < minimum:
            raise Malformed()
        p = self.packet
        if protocol == 6:
            offset = first_int(p, "tcp.hdr_len")
            if offset is None or offset < 20 or offset > payload_length:
                raise Malformed()
            flags = first_int(p, "tcp.flags", 16) & 0xFF
            return "tcp", first_int(p, "tcp.srcport"), first_int(p, "tcp.dstport"), flags
        if protocol == 17:
            return "udp", first_int(p, "udp.srcport"), first_int(p, "udp.dstport"), 0
        return "icmp", 0, 0, 0

    def ipv4(self, buffer, delivered):
        """parse_v4 over `buffer` bytes of the first buffer. delivered: NetX removed the
        options (header length 5, total length kept)."""
        p = self.packet
        if buffer < 20:
            raise Malformed()
        if first_int(p, "ip.version") != 4:
            raise Malformed()
        header = first_int(p, "ip.hdr_len")
        total = first_int(p, "ip.len")
        if header < 20 or header > buffer:
            raise Malformed()
        if total < header:
            raise Malformed()
        protocol = first_int(p, "ip.proto")
        if first_int(p, "ip.frag_offset") != 0:
            if protocol not in (1, 6, 17):
                raise Ignored()
            raise Tail((4, self.src, self.dst, KINDS[protocol], first_int(p, "ip.id", 16)), total - header)
        if protocol not in (1, 6, 17):
            raise Ignored()
        payload = total - (20 if delivered else header)
        kind, sport, dport, flags = self.transport(protocol, payload, buffer - header)
        first = None
        if first_int(p, "ip.flags.mf"):
            first = (4, self.src, self.dst, kind, first_int(p, "ip.id", 16))
        return kind, sport, dport, flags, payload, first

    def extension_chain(self):
        """The outer header's extension headers in order: (type, length or None, next,
        fragment offset, (more fragments, identification) of a fragment header)."""
        p = self.packet
        used = collections.Counter()
        chain = []
        for token in self.after_ip:
            name = {"ipv6.hopopts": ("ipv6.hopopts", 0), "ipv6.dstopts": ("ipv6.dstopts", 60),
                    "ipv6.routing": ("ipv6.routing", 43), "ipv6.fraghdr": ("ipv6.fraghdr", 44),
                    "ah": ("ah", 51)}.get(token)
            if name is None:
                break
            prefix, number = name
            index = used[prefix]
            used[prefix] += 1

            def nth(field, base=0):
                values = p[field]
                return int(values[index], base) if index < len(values) and values[index] != "" else None

            if number == 44:
                chain.append((44, 8, nth("ipv6.fraghdr.nxt"), nth("ipv6.fraghdr.offset"),
                              (nth("ipv6.fraghdr.more"), nth("ipv6.fraghdr.ident", 16))))
            elif number == 51:
                length = nth("ah.length")
                chain.append((51, None if length is None else (length + 2) * 4, nth("ah.next_header"), None, None))
            else:
                chain.append((number, nth(prefix + ".len_oct"), nth(prefix + ".nxt"), None, None))
        return chain

    def ipv6(self, buffer):
        """parse_v6 over `buffer` bytes of the first buffer."""
        p = self.packet
        if buffer < 40:
            raise Malformed()
        if first_int(p, "ipv6.version") != 6:
            raise Malformed()
        payload = first_int(p, "ipv6.plen")
        if payload == 0:
            raise Malformed()
        nxt = first_int(p, "ipv6.nxt")
        offset = 40
        chain = self.extension_chain()
        fragment = None
        more, ident = 0, 0
        for step in range(MAX_EXTENSION_HEADERS + 1):
            if nxt not in (0, 43, 60, 44, 51):
                break
            if step >= len(chain) or chain[step][0] != nxt or chain[step][1] is None:
                raise Malformed()  # tshark could not read it: the core cannot either
            _, length, following, frag_offset, header = chain[step]
            if nxt == 44:
                fragment = frag_offset
                more, ident = header
            if offset + length > buffer or length > payload:
                raise Malformed()
            nxt = following
            payload -= length
            offset += length
            if fragment:
                break
        else:
            raise Malformed()  # too many extension headers
        if fragment:
            if nxt not in (6, 17, 58):
                raise Ignored()
            raise Tail((6, self.src, self.dst, KINDS[nxt], ident), payload)
        if nxt == 1:
            raise Ignored()
        kind, sport, dport, flags = self.transport(nxt, payload, buffer - offset)
        first = (6, self.src, self.dst, kind, ident) if fragment == 0 and more else None
        return kind, sport, dport, flags, payload, first

    def record(self, buffer, delivered=False):
        if buffer < (20 if self.nibble != 6 else 40):
            raise Malformed()
        if self.nibble == 4:
            return self.ipv4(buffer, delivered)
        if self.nibble == 6:
            return self.ipv6(buffer)
        raise Malformed()  # bad version

    # ---- the simulated NetX input (c-harness/sim/src/nx_ip_sim.c) ----------------------

    def netx_delivers(self, device):
        """Whether sim_ip_receive hands the packet to a transport; returns the trimmed
        length or None."""
        p = self.packet
        if self.nibble == 0 or self.dst is None:
            return None
        if self.nibble == 4:
            if min(self.ip_length, FIRST_BUFFER) < 20:
                return None
            total = first_int(p, "ip.len")
            header = first_int(p, "ip.hdr_len")
            if total is None or header is None or self.ip_length < total:
                return None
            if total <= header or header < 20 or header > min(total, FIRST_BUFFER):
                return None
            if not device.accepts_v4(self.dst):
                return None
            if first_int(p, "ip.frag_offset") != 0:
                return None
            return total if first_int(p, "ip.proto") in (1, 6, 17) else None
        if min(self.ip_length, FIRST_BUFFER) < 40:
            return None
        payload = first_int(p, "ipv6.plen")
        if payload is None or self.ip_length < payload + 40:
            return None
        trimmed = payload + 40
        if not device.accepts_v6(self.dst):
            return None
        end = min(trimmed, FIRST_BUFFER)
        position, remaining = 40, payload
        nxt = first_int(p, "ipv6.nxt")
        chain = self.extension_chain()
        seen_any = seen_routing = seen_fragment = False
        for step in range(16):
            if nxt in (6, 17, 58):
                return trimmed
            if nxt not in (0, 60, 43, 44):
                return None
            if (nxt == 0 and seen_any) or (nxt == 43 and seen_routing) or (nxt == 44 and seen_fragment):
                return None
            if end - position < 4 or step >= len(chain) or chain[step][1] is None:
                return None
            _, length, following, frag_offset, _ = chain[step]
            if nxt == 44:
                seen_fragment = True
                if frag_offset:
                    return None
            seen_routing = seen_routing or nxt == 43
            seen_any = True
            if end - position <= length or remaining < length:
                return None
            nxt = following
            position += length
            remaining -= length
        return None


class Device:
    """The device's addresses, as the replay sets them on the simulated NX_IP."""

    def __init__(self, locals_):
        self.v4 = []
        self.v6 = []
        for text in locals_:
            network = ipaddress.ip_interface(text)
            (self.v4 if network.version == 4 else self.v6).append(network)

    def is_source(self, frame):
        if not frame.has_source:
            return False
        address = ipaddress.ip_address(frame.src)
        return any(address == local.ip for local in (self.v4 if frame.nibble == 4 else self.v6))

    def accepts_v4(self, text):
        d = int(ipaddress.IPv4Address(text))
        if d == 0 or d == 0xFFFFFFFF or (d >> 24) == 127 or (d & 0xF0000000) == 0xE0000000:
            return True
        for local in self.v4:
            address = int(local.ip)
            mask = int(local.netmask)
            if d == address or ((d & mask) == (address & mask) and (d & ~mask & 0xFFFFFFFF) == (~mask & 0xFFFFFFFF)):
                return True
        return False

    def accepts_v6(self, text):
        address = ipaddress.IPv6Address(text)
        return address.is_multicast or any(address == local.ip for local in self.v6)


def expected(path, locals_, mode, window, capacity):
    """What the replay must print for one capture (given the capacities it reports)."""
    device = Device(locals_ or [])
    auto = not locals_
    flows = collections.OrderedDict()
    counters = collections.Counter()
    tables = collections.defaultdict(set)  # (window end, version) -> keys
    clock = None
    start = None
    first_fragments = FirstFragments()
    link, snaplen = capture_header(path)
    if link not in LINK_HEADER:
        return flows, counters  # a link type the replay does not read: nothing expected
    for packet in tshark_packets(path):
        frame = Frame(packet, link, snaplen)
        if not frame.version:
            continue
        if clock is None:
            start = clock = frame.second
        if auto and frame.has_source:
            device = Device([frame.src])  # the first sound source names the device
            auto = False
        clock = max(clock, frame.second)
        counters["ip_packets"] += 1
        end = start + ((clock - start) // window + 1) * window
        # The module's clock is 32-bit: a window that would end later ends at its last second.
        end = min(end, LAST_SECOND)
        outbound = device.is_source(frame)
        delivered = False
        if outbound or mode == "ip-input":
            buffer = min(frame.ip_length, FIRST_BUFFER)
        else:
            trimmed = frame.netx_delivers(device)
            if trimmed is None:
                continue
            buffer = min(trimmed, FIRST_BUFFER)
            delivered = True
        counters["packets_seen"] += 1
        datagram = None
        try:
            kind, sport, dport, flags, length, datagram = frame.record(buffer, delivered)
        except Malformed:
            counters["malformed"] += 1
            continue
        except Ignored:
            counters["ignored"] += 1
            continue
        except Tail as tail:
            # Its first fragment's ports, if remembered; no TCP flags.
            ports = first_fragments.find(tail.datagram + (outbound,), clock)
            if ports is None:
                counters["ignored"] += 1
                continue
            kind, sport, dport, flags, length = tail.datagram[3], ports[0], ports[1], 0, tail.length
        else:
            if datagram is not None:
                first_fragments.remember(datagram + (outbound,), (sport, dport), clock)
        if outbound:
            local, remote, local_port, remote_port = frame.src, frame.dst, sport, dport
        else:
            local, remote, local_port, remote_port = frame.dst, frame.src, dport, sport
        key = (end, frame.nibble, kind, str(ipaddress.ip_address(local)), local_port,
               str(ipaddress.ip_address(remote)), remote_port)
        table = tables[(end, frame.nibble)]
        if key not in table:
            if len(table) >= capacity[frame.nibble]:
                counters["table_full_dropped"] += 1
                continue
            table.add(key)
            flows[key] = collections.Counter()
            # The higher port is the client's; equal ports or none: the first sender.
            if local_port != remote_port:
                flows[key]["initiator"] = "local" if local_port > remote_port else "remote"
            else:
                flows[key]["initiator"] = "local" if outbound else "remote"
        flow = flows[key]
        side = "out" if outbound else "in"
        # A SYN without ACK names who opened the connection, whatever came first.
        if flags & 0x12 == 0x02:
            flow["initiator"] = "local" if outbound else "remote"
        flow["packets_" + side] += 1
        flow["bytes_" + side] += length
        flow["tcp_flags_" + side] |= flags
        counters["packets_counted"] += 1
    return flows, counters


# The last second the module's 32-bit clock reaches (0xFFFFFFFF means "no clock").
LAST_SECOND = 0xFFFFFFFE

# The TCP flags a flow record carries on the wire (docs/wire-format.md 3.1).
WIRE_FLAGS = ((0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"))


def wire_flags(flags):
    return sorted(name for bit, name in WIRE_FLAGS if flags & bit)


def run_replay(replay, decode, path, locals_, mode, window):
    """The flows and summary the replay's messages say, as the reference decoder reads them."""
    arguments = ["--capture", mode, "--window-s", str(window)]
    for local in locals_ or []:
        arguments += ["--local", local]
    arguments.append(path)
    flows = {}
    summary = None
    packets = 0
    for record in replay_records(replay, decode, arguments):
        if "summary" in record:
            summary = record["summary"]
            continue
        if "event" in record:
            continue  # heartbeat, system information
        # Addresses as Python writes them (an IPv4-mapped IPv6 address has two spellings).
        key = (record["t"], record["ip"], record["proto"], str(ipaddress.ip_address(record["local"])),
               record["local_port"], str(ipaddress.ip_address(record["remote"])), record["remote_port"])
        if key in flows:
            raise RuntimeError("flow printed twice: %r" % (key,))
        flows[key] = {name: record[name] for name in ("packets_in", "packets_out", "bytes_in", "bytes_out")}
        flows[key]["tcp_flags_in"] = sorted(record["tcp_flags_in"])
        flows[key]["tcp_flags_out"] = sorted(record["tcp_flags_out"])
        flows[key]["initiator"] = record["initiator"]
        packets += record["packets_in"] + record["packets_out"]
    if summary is None:
        raise RuntimeError("no summary line from the replay")
    # Every counted packet reached the hub in a message: nothing dropped, nothing waiting.
    if packets != summary["packets_counted"]:
        raise RuntimeError("messages carry %d packets, the module counted %d" % (packets, summary["packets_counted"]))
    for name in ("messages_dropped", "outbox_messages", "messages_failed"):
        if summary[name] != 0:
            raise RuntimeError("summary %s = %d, expected 0" % (name, summary[name]))
    # The replay's one IP is created, and hooked, at the first IP packet.
    hooked = 1 if summary["ip_packets"] else 0
    if summary["ip_hooked"] != hooked:
        raise RuntimeError("the module hooked %d IPs, expected %d" % (summary["ip_hooked"], hooked))
    if summary["messages_sent"] != summary["messages_built"]:
        raise RuntimeError("messages sent %d of %d built" % (summary["messages_sent"], summary["messages_built"]))
    return flows, summary


def compare(replay, decode, path, locals_, mode, window):
    """Returns a list of differences (empty: equal) and a one-line description."""
    got_flows, summary = run_replay(replay, decode, path, locals_, mode, window)
    capacity = {4: summary["max_flows_v4"], 6: summary["max_flows_v6"]}
    want_flows, counters = expected(path, locals_, mode, window, capacity)
    problems = []
    names = ("packets_in", "packets_out", "bytes_in", "bytes_out", "tcp_flags_in", "tcp_flags_out",
             "initiator")
    for key, flow in want_flows.items():
        want = {name: flow[name] for name in names}
        want["tcp_flags_in"] = wire_flags(want["tcp_flags_in"])
        want["tcp_flags_out"] = wire_flags(want["tcp_flags_out"])
        got = got_flows.get(key)
        if got is None:
            problems.append("missing flow %r: want %r" % (key, want))
        elif got != want:
            problems.append("flow %r: replay %r, tshark %r" % (key, got, want))
    for key in got_flows:
        if key not in want_flows:
            problems.append("unexpected flow %r: %r" % (key, got_flows[key]))
    for name in ("ip_packets", "packets_seen", "packets_counted", "malformed", "ignored", "table_full_dropped"):
        if summary[name] != counters[name]:
            problems.append("summary %s: replay %d, tshark %d" % (name, summary[name], counters[name]))
    if summary["ring_dropped"] != 0:
        problems.append("ring_dropped %d (the replay drains like the cloud thread: expected 0)" % summary["ring_dropped"])
    line = "%-40s %-12s %5d IP packets, %4d flows, counted %5d, malformed %3d, ignored %4d" % (
        os.path.relpath(path) if len(path) < 60 else os.path.basename(path), mode, counters["ip_packets"],
        len(want_flows), counters["packets_counted"], counters["malformed"], counters["ignored"])
    return problems, line


def fragment_check(replay, decode, path, locals_):
    """Replay (ip-input) vs tshark's datagrams: (problems, line)."""
    device = Device(locals_)
    want = collections.Counter()
    ports = {}  # datagram -> (src port, dst port) of its first fragment
    early = 0
    packets = list(tshark_packets(path))

    def datagram_of(p):
        if p["ip.version"] and first_int(p, "ip.version") == 4:
            offset, more = first_int(p, "ip.frag_offset"), first_int(p, "ip.flags.mf")
            key = (4, p["ip.src"][0], p["ip.dst"][0], first_int(p, "ip.proto"), first_int(p, "ip.id", 16))
            length = first_int(p, "ip.len") - first_int(p, "ip.hdr_len")
            return (key if offset or more else None), offset, length
        if p["ipv6.fraghdr.ident"]:
            key = (6, p["ipv6.src"][0], p["ipv6.dst"][0], first_int(p, "ipv6.fraghdr.nxt"),
                   first_int(p, "ipv6.fraghdr.ident", 16))
            return key, first_int(p, "ipv6.fraghdr.offset"), first_int(p, "ipv6.plen") - 8
        return None, 0, first_int(p, "ipv6.plen")

    def flow_of(p, key):
        version = 4 if first_int(p, "ip.version") == 4 else 6
        src, dst = (p["ip.src"][0], p["ip.dst"][0]) if version == 4 else (p["ipv6.src"][0], p["ipv6.dst"][0])
        outbound = device.is_source(Frame(p, 1, 0))
        sport = first_int(p, "udp.srcport") or 0
        dport = first_int(p, "udp.dstport") or 0
        if key in ports:
            sport, dport = ports[key]
        proto = "udp" if (p["udp.srcport"] or (key and key[3] == 17)) else "icmp"
        local, remote = (src, dst) if outbound else (dst, src)
        lport, rport = (sport, dport) if outbound else (dport, sport)
        side = "out" if outbound else "in"
        return (version, proto, str(ipaddress.ip_address(local)), lport, str(ipaddress.ip_address(remote)), rport), side

    for p in packets:
        key, offset, _ = datagram_of(p)
        if key is not None and offset == 0:
            ports[key] = (first_int(p, "udp.srcport") or 0, first_int(p, "udp.dstport") or 0)
    seen_first = set()
    for p in packets:
        key, offset, length = datagram_of(p)
        if key is not None and offset == 0:
            seen_first.add(key)
        if key is not None and offset and key not in seen_first:
            early += 1  # a tail before its first fragment
            continue
        flow, side = flow_of(p, key)
        want[flow + ("packets_" + side,)] += 1
        want[flow + ("bytes_" + side,)] += length
    got_flows, summary = run_replay(replay, decode, path, locals_, "ip-input", 10)
    got = collections.Counter()
    for key, flow in got_flows.items():
        for name in ("packets_in", "packets_out", "bytes_in", "bytes_out"):
            if flow[name]:
                got[(key[1], key[2], key[3], key[4], key[5], key[6], name)] += flow[name]
    problems = []
    for key in sorted(set(want) | set(got), key=str):
        if want[key] != got[key]:
            problems.append("%r: replay %d, tshark %d" % (key, got[key], want[key]))
    if summary["ignored"] != early:
        problems.append("ignored: replay %d, tails before their first fragment %d" % (summary["ignored"], early))
    line = "%-40s %-12s %5d IP packets, %4d tails before their first fragment (tshark datagrams)" % (
        os.path.relpath(path), "ip-input", len(packets), early)
    return problems, line


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replay", required=True, help="path of the nxsm_replay executable")
    parser.add_argument("--decode", required=True, help="path of the nxsm-decode executable")
    parser.add_argument("--data", help="c-harness/data/pcap (runs the built-in list of captures)")
    parser.add_argument("--local", action="append", help="device address for FILE arguments")
    parser.add_argument("--window-s", type=int, default=10)
    parser.add_argument("--mode", choices=("unicast-only", "ip-input"), action="append")
    parser.add_argument("--all", action="store_true",
                        help="with --data: every capture under DATA/tcpdump too (device: first source)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()

    if shutil.which("tshark") is None:
        print("replay_vs_tshark: tshark not installed (Debian: tshark); skipped")
        return 77
    for tool in (args.replay, args.decode):
        if not os.access(tool, os.X_OK):
            print("replay_vs_tshark: %s is not an executable; skipped" % tool)
            return 77
    cases = [(path, args.local) for path in args.files]
    if args.data:
        cases += [(os.path.join(args.data, name), locals_) for name, locals_ in CASES]
        if args.all:
            listed = {os.path.normpath(path) for path, _ in cases}
            directory = os.path.join(args.data, "tcpdump")
            cases += [(os.path.join(directory, name), None) for name in sorted(os.listdir(directory))
                      if name.endswith((".pcap", ".pcapng"))
                      and os.path.normpath(os.path.join(directory, name)) not in listed]
    if not cases:
        parser.error("give --data or capture files")
    modes = args.mode or ["unicast-only", "ip-input"]

    def one(job):
        path, locals_, mode = job
        try:
            return compare(args.replay, args.decode, path, locals_, mode, args.window_s)
        except (RuntimeError, ValueError, KeyError, IndexError, TypeError, OSError) as error:
            return ["error: %s" % error], "%s %s" % (path, mode)

    jobs = [(path, locals_, mode) for path, locals_ in cases for mode in modes]
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one, jobs))
    if args.data:
        for name in FRAGMENT_CASES:
            try:
                results.append(fragment_check(args.replay, args.decode, os.path.join(args.data, name),
                                              ["192.0.2.1/24", "2001:db8::1"]))
            except (RuntimeError, ValueError, KeyError, IndexError, TypeError, OSError) as error:
                results.append((["error: %s" % error], "%s fragments" % name))
            jobs.append(name)
    for problems, line in results:
        print(("ok    " if not problems else "DIFF  ") + line)
        for problem in problems[:20]:
            print("        " + problem)
        if len(problems) > 20:
            print("        ... %d more" % (len(problems) - 20))
        failures += bool(problems)
    print("replay_vs_tshark: %d of %d comparisons equal" % (len(jobs) - failures, len(jobs)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
