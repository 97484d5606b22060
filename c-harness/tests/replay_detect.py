#!/usr/bin/env python3
"""Detection, end to end: replays the detect capture (c-harness/data/pcap/detect/device.pcap,
recorded by scripts/make-detect-capture) through nxsm_replay with each policy of
c-harness/data/policy/detect/ (compiled with nxsm-policy, loaded with --policy-blob), reads
the alerts back with the reference decoder (`nxsm-decode --replay`: one JSON line per alert,
"event": "alert") and compares them, in order, with the exact list the traffic and the
rules give (EXPECTED below, derived from the capture script, not from a run).

Also: without a policy the same capture raises no alert; the summary's alerts_sent equals
the alert lines and alerts_suppressed the alerts the per-window limit held back; a blob
the module refuses stops the replay with the module's own error text; with "block":
["indicator"] every packet to or from a listed address is dropped and counted (the flows
are still reported); and learn mode (--learn 30) reports the baseline of the first three
windows, which then becomes the allow lists the fourth window is checked against.

  replay_detect.py --replay build/host/c-harness/nxsm_replay \\
      --decode build/host/cargo-tools/release/nxsm-decode \\
      --policy-tool build/host/cargo-tools/release/nxsm-policy --data c-harness/data

Standard library only. Exit status 0 all as expected, 1 a difference (printed), 77 a tool
missing (ctest reports a skip).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from replay_runner import replay_records

DEVICE = ["--local", "192.0.2.1/24", "--local", "2001:db8::1", "--local", "fe80::ff:fe00:1"]
CAPTURE = "pcap/detect/device.pcap"
POLICIES = "policy/detect"
# Alerts a network-activity window may raise (NXSM_MAX_ALERTS_PER_WINDOW, default 8).
WINDOW_LIMIT = 8

# The capture, window by window (10-s windows from its first packet; the script's phases
# start 0, 12, 22 and 32 s after it):
#   window 0  (a) 192.0.2.2 source ports 41001.. scans SCAN_PORTS of 192.0.2.1 in order:
#                 40 TCP flows opened by the peer (SYN), all closed except 8080;
#   window 1  (b) 192.0.2.1:40443 -> 198.51.100.7:443, [2001:db8::1]:40444 ->
#                 [2001:db8:bad::7]:443; (c) 192.0.2.1:40080 -> 203.0.113.5:80, all opened
#                 by the device;
#   window 2  (d) 192.0.2.2:42080 -> 192.0.2.1:8080, 192.0.2.2:42323 -> 192.0.2.1:2323
#                 (TCP, peer's SYN); (e) UDP 192.0.2.2:45353 -> 192.0.2.1:5353 and
#                 192.0.2.2:40069 -> 192.0.2.1:69 (the peer's port is the higher: the peer
#                 opened them), and the device's ICMP port unreachable for 69 (first sent
#                 by the device, to 192.0.2.2);
#   window 3  (f) HTTP 192.0.2.1:40081 -> 192.0.2.2:80, [2001:db8::1]:40082 ->
#                 [2001:db8::2]:80.
SCAN_PORTS = [21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 502, 993, 995, 1433, 1723, 1883, 2404,
              3306, 3389, 5432, 5683, 5900, 6379, 8000, 8080, 8443, 8883, 8888, 9000, 9090, 9200, 11211, 20000,
              27017, 44818, 47808, 49152]
FLOW_FIELDS = ("kind", "ip", "proto", "local", "local_port", "remote", "remote_port", "initiator", "rule")


def flow(kind, ip, proto, local, local_port, remote, remote_port, initiator, rule=0):
    return (kind, ip, proto, local, local_port, remote, remote_port, initiator, rule)


def scan_alerts():
    """Window 0 under an inbound TCP port list without them: the first WINDOW_LIMIT closed
    ports in scan order (8080 is allowed); the other 31 are suppressed."""
    closed = [(port, 41001 + i) for i, port in enumerate(SCAN_PORTS) if port != 8080]
    return [flow("inbound_port_not_allowed", 4, "tcp", "192.0.2.1", port, "192.0.2.2", source, "remote")
            for port, source in closed[:WINDOW_LIMIT]], len(closed) - WINDOW_LIMIT


LISTED_V4 = ("tcp", "192.0.2.1", 40443, "198.51.100.7", 443, "local")
LISTED_V6 = ("tcp", "2001:db8::1", 40444, "2001:db8:bad::7", 443, "local")
FEED_V4 = ("tcp", "192.0.2.1", 40080, "203.0.113.5", 80, "local")


def on(kind, ip, fields, rule=0):
    proto, local, local_port, remote, remote_port, initiator = fields
    return flow(kind, ip, proto, local, local_port, remote, remote_port, initiator, rule)


def expected():
    """{policy file: (alerts in order, alerts_suppressed)}."""
    scan, scan_suppressed = scan_alerts()
    # Indicators: 198.51.100.7/32 and 2001:db8:bad::/48 are source 0 (the policy's cidrs),
    # 203.0.113.0/24 source 1 (feeds/level1.netset). Whoever opened the flow.
    indicators = [on("indicator", 4, LISTED_V4, 0), on("indicator", 6, LISTED_V6, 0), on("indicator", 4, FEED_V4, 1)]
    # Outbound allow list 192.0.2.0/24 + 2001:db8::/64: the device's flows of window 1 (its
    # ICMP to and HTTP flows with 192.0.2.2 / 2001:db8::2 are allowed).
    outbound = [on("outbound_not_allowed", 4, LISTED_V4), on("outbound_not_allowed", 6, LISTED_V6),
                on("outbound_not_allowed", 4, FEED_V4)]
    # Inbound ports tcp [8080], udp [5353]: window 2's 2323 (TCP) and 69 (UDP).
    inbound = [flow("inbound_port_not_allowed", 4, "tcp", "192.0.2.1", 2323, "192.0.2.2", 42323, "remote"),
               flow("inbound_port_not_allowed", 4, "udp", "192.0.2.1", 69, "192.0.2.2", 40069, "remote")]
    # Both rule sets: per flow, the indicator alert first, then the outbound one.
    both_window1 = [alert for pair in zip(indicators, outbound) for alert in pair]
    return {
        "indicators.json": (indicators, 0),
        "allowlist.json": (scan + outbound + inbound, scan_suppressed),
        # Window 0 held 40 flows (the scan), more than 10; windows 1-3 held 3, 5 and 2.
        "connections.json": ([("connections_out_of_range", 40, 0, 10, 0)], 0),
        "indicators_allowlist.json": (scan + both_window1 + inbound, scan_suppressed),
    }


def project(alert):
    """The compared fields of one alert line."""
    if alert.get("kind") == "connections_out_of_range":
        return tuple(alert.get(key) for key in ("kind", "active", "min", "max", "rule"))
    return tuple(alert.get(key) for key in FLOW_FIELDS)


def compile_policy(tool, policy, blob):
    result = subprocess.run([tool, policy, "-o", blob], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (tool, result.returncode, result.stderr.strip()))


def run_records(args, extra):
    records = replay_records(args.replay, args.decode, DEVICE + extra + [os.path.join(args.data, CAPTURE)])
    summaries = [record["summary"] for record in records if "summary" in record]
    if len(summaries) != 1:
        raise RuntimeError("expected one summary line, got %d" % len(summaries))
    return records, summaries[0]


def run(args, extra):
    records, summary = run_records(args, extra)
    return [record for record in records if record.get("event") == "alert"], summary


def check_run(name, alerts, summary, want, want_suppressed):
    problems = []
    got = [project(alert) for alert in alerts]
    if got != want:
        problems.append("%s: alerts differ\n  expected:\n%s\n  got:\n%s" % (
            name, "\n".join("    %s" % (a,) for a in want), "\n".join("    %s" % (a,) for a in got)))
    if summary.get("alerts_sent") != len(alerts):
        problems.append("%s: summary alerts_sent %s, %d alert lines" % (name, summary.get("alerts_sent"), len(alerts)))
    if summary.get("alerts_suppressed") != want_suppressed:
        problems.append("%s: alerts_suppressed %s, expected %d" % (name, summary.get("alerts_suppressed"),
                                                                   want_suppressed))
    if summary.get("packets_blocked") != 0:
        problems.append("%s: packets_blocked %s without a block rule" % (name, summary.get("packets_blocked")))
    if summary.get("messages_sent") != summary.get("messages_built") or summary.get("outbox_messages") != 0:
        problems.append("%s: not every message reached the hub: %s" % (name, summary))
    print("%-4s %-28s %2d alerts, %2d suppressed" % ("ok" if not problems else "FAIL", name, len(alerts),
                                                    summary.get("alerts_suppressed", -1)))
    return problems


def check_refused_blob(args, work):
    """A blob the module refuses: exit status 1 and the module's error text."""
    blob = os.path.join(work, "truncated.blob")
    with open(os.path.join(work, "allowlist.json.blob"), "rb") as whole, open(blob, "wb") as cut:
        cut.write(whole.read()[:-4])
    result = subprocess.run([args.replay] + DEVICE + ["--policy-blob", blob, os.path.join(args.data, CAPTURE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 1 or "refused" not in result.stderr or "(14)" not in result.stderr:
        return ["truncated blob: expected exit 1 and NXSM_ERR_POLICY_TRUNCATED (14), got exit %d: %s" % (
            result.returncode, result.stderr.strip())]
    print("ok   truncated blob refused: %s" % result.stderr.strip().splitlines()[0])
    return []


LISTED_REMOTES = ("198.51.100.7", "2001:db8:bad::7", "203.0.113.5")


def check_blocking(args, work):
    """"block": ["indicator"]: the indicator alerts as without blocking, and every packet of
    the flows with a listed remote dropped and counted (the flows are still reported: the
    hook records a packet before it drops it)."""
    policy = os.path.join(work, "block.json")
    with open(os.path.join(args.data, POLICIES, "indicators.json")) as source:
        text = json.load(source)
    text["block"] = ["indicator"]
    # The feed path is relative to the policy's folder.
    text["indicators"]["feeds"] = [os.path.abspath(os.path.join(args.data, POLICIES, feed))
                                   for feed in text["indicators"]["feeds"]]
    with open(policy, "w") as out:
        json.dump(text, out)
    blob = policy + ".blob"
    compile_policy(args.policy_tool, policy, blob)
    records, summary = run_records(args, ["--policy-blob", blob])
    alerts = [record for record in records if record.get("event") == "alert"]
    listed = sum(record["packets_in"] + record["packets_out"] for record in records
                 if "remote" in record and record.get("event") is None and record["remote"] in LISTED_REMOTES)
    problems = []
    want, _ = expected()["indicators.json"]
    if [project(alert) for alert in alerts] != want:
        problems.append("block: alerts differ from the indicators run: %s" % [project(a) for a in alerts])
    if listed == 0 or summary.get("packets_blocked") != listed:
        problems.append("block: packets_blocked %s, the listed flows carry %d packets" % (
            summary.get("packets_blocked"), listed))
    print("%-4s %-28s %2d packets blocked" % ("ok" if not problems else "FAIL", "block indicator",
                                              summary.get("packets_blocked", -1)))
    return problems


# Learn mode for the first 30 s: windows 0-2. The device opened flows to 198.51.100.7,
# 203.0.113.5 and 2001:db8:bad::7 (window 1) and sent the first packet of its ICMP port
# unreachable to 192.0.2.2 (window 2); peers opened TCP flows to the 40 scanned ports, then
# 8080 and 2323, and UDP flows to 5353 and 69. The TCP list keeps the first 16 ports in the
# order they came (the scan's), sorted; the other 24 scanned ports, 8080 and 2323 again are
# overflow. Window 3's HTTP to 192.0.2.2 is then allowed, to [2001:db8::2] not.
LEARNED = {
    "outbound": ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8:bad::/64"],
    "inbound": {"tcp": sorted(SCAN_PORTS[:16]), "udp": [69, 5353]},
    "overflow": 26,
    "applied": True,
}
AFTER_LEARNING = [flow("outbound_not_allowed", 6, "tcp", "2001:db8::1", 40082, "2001:db8::2", 80, "local")]


def check_learning(args):
    records, summary = run_records(args, ["--learn", "30"])
    baselines = [record for record in records if record.get("event") == "baseline"]
    alerts = [record for record in records if record.get("event") == "alert"]
    problems = []
    if len(baselines) != 1:
        problems.append("learn: %d baseline events, expected 1" % len(baselines))
    else:
        baseline = baselines[0]
        got = {key: baseline.get(key) for key in LEARNED}
        if got != LEARNED or baseline.get("duration_s") != 30:
            problems.append("learn: baseline %s, expected %s over 30 s" % (baseline, LEARNED))
    if [project(alert) for alert in alerts] != AFTER_LEARNING:
        problems.append("learn: alerts after learning %s, expected %s" % ([project(a) for a in alerts],
                                                                        AFTER_LEARNING))
    print("%-4s %-28s %s" % ("ok" if not problems else "FAIL", "learn 30 s",
                             baselines[0].get("outbound") if baselines else "no baseline"))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replay", required=True, help="path of the nxsm_replay executable")
    parser.add_argument("--decode", required=True, help="path of the nxsm-decode executable")
    parser.add_argument("--policy-tool", required=True, help="path of the nxsm-policy executable")
    parser.add_argument("--data", required=True, help="c-harness/data")
    args = parser.parse_args()
    for tool in (args.replay, args.decode, args.policy_tool):
        if not os.access(tool, os.X_OK):
            print("replay_detect: %s missing: skipped" % tool)
            return 77
    problems = []
    try:
        with tempfile.TemporaryDirectory(prefix="nxsm-detect-") as work:
            alerts, summary = run(args, [])
            problems += check_run("(no policy)", alerts, summary, [], 0)
            for name, (want, want_suppressed) in expected().items():
                blob = os.path.join(work, name + ".blob")
                compile_policy(args.policy_tool, os.path.join(args.data, POLICIES, name), blob)
                alerts, summary = run(args, ["--policy-blob", blob])
                problems += check_run(name, alerts, summary, want, want_suppressed)
            problems += check_refused_blob(args, work)
            problems += check_blocking(args, work)
            problems += check_learning(args)
    except RuntimeError as error:
        problems.append(str(error))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
