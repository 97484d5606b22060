#!/usr/bin/env python3
"""A hub outage under traffic: nothing is lost, or every loss is counted.

Plays the demo capture (c-harness/data/pcap/demo/device.pcap) back to back --repeat times
through nxsm_replay with the hub client disconnected for --outage seconds, reads the
messages the hub received with the reference decoder, and checks the accounting:

  * every message built was sent, dropped (the outbox was full) or is still waiting:
    built = sent + dropped + waiting, and the replay ends with nothing waiting;
  * the sequence numbers received are distinct, and the numbers missing from 0..built are
    exactly as many as messages_dropped;
  * the last heartbeat received reports the final messages_dropped (losses are reported);
  * the packets the received windows carry never exceed what the module counted, and a
    run without outage delivers exactly what it counted.

Prints one line per run with the figures. Standard library only. Exit 0 ok, 1 a failed
check, 77 a tool is missing.

  replay_hub_outage.py --replay build/host/c-harness/nxsm_replay \\
      --decode build/host/cargo-tools/release/nxsm-decode --data c-harness/data/pcap
"""

import argparse
import os
import sys

from replay_runner import replay_records

LOCALS = ["192.0.2.1/24", "2001:db8::1", "fe80::ff:fe00:1"]


def run(replay, decode, capture, repeat, outage):
    arguments = ["--repeat", str(repeat)]
    for local in LOCALS:
        arguments += ["--local", local]
    if outage:
        arguments += ["--hub-outage", "%d:%d" % outage]
    arguments.append(capture)
    summary = None
    sequences = set()
    heartbeats = []
    packets = 0
    for record in replay_records(replay, decode, arguments):
        if "summary" in record:
            summary = record["summary"]
            continue
        sequences.add(record["seq"])
        if record.get("event") == "heartbeat":
            heartbeats.append(record)
        elif "ip" in record:
            packets += record["packets_in"] + record["packets_out"]
    if summary is None:
        raise RuntimeError("no summary line")
    return summary, sequences, heartbeats, packets


def check(summary, sequences, heartbeats, packets, outage):
    problems = []
    built, sent, dropped = summary["messages_built"], summary["messages_sent"], summary["messages_dropped"]
    waiting = summary["outbox_messages"]
    if built != sent + dropped + waiting:
        problems.append("built %d != sent %d + dropped %d + waiting %d" % (built, sent, dropped, waiting))
    if waiting:
        problems.append("%d messages still waiting at the end" % waiting)
    if len(sequences) != sent or summary["hub_accepted"] != sent:
        problems.append("hub received %d distinct sequences, %d messages; module sent %d"
                        % (len(sequences), summary["hub_accepted"], sent))
    missing = set(range(built)) - sequences
    if len(missing) != dropped or sequences - set(range(built)):
        problems.append("%d sequence numbers missing, %d dropped" % (len(missing), dropped))
    if not heartbeats:
        problems.append("no heartbeat received")
    elif max(h["messages_dropped"] for h in heartbeats) != dropped:
        problems.append("heartbeats report at most %d dropped, the module dropped %d"
                        % (max(h["messages_dropped"] for h in heartbeats), dropped))
    counted = summary["packets_counted"]
    if packets > counted or (dropped == 0 and packets != counted):
        problems.append("windows received carry %d packets, the module counted %d" % (packets, counted))
    if outage is None and dropped:
        problems.append("%d messages dropped without an outage" % dropped)
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replay", required=True)
    parser.add_argument("--decode", required=True)
    parser.add_argument("--data", required=True, help="c-harness/data/pcap")
    parser.add_argument("--repeat", type=int, default=45, help="passes of the 22-s demo capture (45: 16.5 min)")
    parser.add_argument("--outage", default="120:600", help="FROM:SECONDS after the first packet")
    args = parser.parse_args()
    for tool in (args.replay, args.decode):
        if not os.access(tool, os.X_OK):
            print("replay_hub_outage: %s is not an executable; skipped" % tool)
            return 77
    capture = os.path.join(args.data, "demo", "device.pcap")
    start, seconds = (int(part) for part in args.outage.split(":"))
    failures = 0
    for outage in (None, (start, seconds)):
        summary, sequences, heartbeats, packets = run(args.replay, args.decode, capture, args.repeat, outage)
        problems = check(summary, sequences, heartbeats, packets, outage)
        label = "no outage" if outage is None else "hub away %d s from +%d s" % (outage[1], outage[0])
        print("%-4s %-28s %5d IP packets, %5d counted, %4d delivered in windows; messages built %d, sent %d, "
              "dropped %d (missing sequences %d), failed %d, outbox peak %d of %d bytes" % (
                  "ok" if not problems else "FAIL", label, summary["ip_packets"], summary["packets_counted"],
                  packets, summary["messages_built"], summary["messages_sent"], summary["messages_dropped"],
                  summary["messages_built"] - len(sequences), summary["messages_failed"],
                  summary["outbox_peak_bytes"], summary["outbox_bytes"]))
        for problem in problems:
            print("        " + problem)
        failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
