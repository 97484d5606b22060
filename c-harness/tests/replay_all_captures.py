#!/usr/bin/env python3
"""Replays every capture of a directory through nxsm_replay, one file at a time, in both
capture modes, and checks that each run ends normally (no crash, no sanitizer report: the
tree is built with -DNXSM_SANITIZE=ON for this test) and that in ip-input mode the module
saw every IP packet the replay found (packets_seen == ip_packets: malformed ones are
counted, none is lost).

  replay_all_captures.py --replay build/asan/c-harness/nxsm_replay c-harness/data/pcap/tcpdump

Standard library only. Prints one line per capture with an IP packet and the totals.
Exit status 0 all good, 1 a failure (printed), 77 the replay tool is missing.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

COUNTERS = ("ip_packets", "packets_seen", "packets_counted", "malformed", "ignored")


def replay(tool, path, mode):
    """Runs one replay; returns (summary or None, problem text or None)."""
    command = [tool, "--capture", mode, path]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        return None, "exit %d: %s" % (result.returncode, result.stderr.strip()[-2000:])
    lines = result.stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1])["summary"]
    except (IndexError, ValueError, KeyError):
        return None, "no summary line"
    # Sanitizer reports go to stderr even when the run survives (recoverable checks).
    if "runtime error" in result.stderr or "AddressSanitizer" in result.stderr:
        return summary, "sanitizer report: %s" % result.stderr.strip()[-2000:]
    return summary, None


def check(tool, path):
    problems = []
    summaries = {}
    for mode in ("ip-input", "unicast-only"):
        summary, problem = replay(tool, path, mode)
        if problem:
            problems.append("%s: %s" % (mode, problem))
        if summary is not None:
            summaries[mode] = summary
    full = summaries.get("ip-input")
    if full is not None and full["packets_seen"] != full["ip_packets"]:
        problems.append("ip-input: packets_seen %d != ip_packets %d" % (full["packets_seen"], full["ip_packets"]))
    for mode, summary in summaries.items():
        if summary["ring_dropped"] != 0:
            problems.append("%s: ring_dropped %d" % (mode, summary["ring_dropped"]))
    return path, summaries, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replay", required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("directory")
    args = parser.parse_args()
    if not os.access(args.replay, os.X_OK):
        print("replay_all_captures: %s is not an executable; skipped" % args.replay)
        return 77
    files = sorted(os.path.join(args.directory, name) for name in os.listdir(args.directory)
                   if name.endswith((".pcap", ".pcapng", ".cap")))
    totals = {mode: dict.fromkeys(COUNTERS, 0) for mode in ("ip-input", "unicast-only")}
    failures = 0
    with_ip = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, summaries, problems in pool.map(lambda p: check(args.replay, p), files):
            for mode, summary in summaries.items():
                for name in COUNTERS:
                    totals[mode][name] += summary[name]
            full = summaries.get("ip-input")
            if full and full["ip_packets"]:
                with_ip += 1
                unicast = summaries.get("unicast-only", dict.fromkeys(COUNTERS, 0))
                print("%-4s %-52s ip %5d | ip-input seen %5d counted %5d malformed %4d ignored %4d"
                      " | unicast-only seen %5d counted %5d" % (
                          "FAIL" if problems else "ok", os.path.basename(path), full["ip_packets"],
                          full["packets_seen"], full["packets_counted"], full["malformed"], full["ignored"],
                          unicast["packets_seen"], unicast["packets_counted"]))
            elif problems:
                print("FAIL %s" % os.path.basename(path))
            for problem in problems:
                print("       " + problem)
            failures += bool(problems)
    for mode, total in totals.items():
        print("total %-12s: %s" % (mode, ", ".join("%s %d" % item for item in total.items())))
    print("replay_all_captures: %d files, %d with IP packets, %d failed" % (len(files), with_ip, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
