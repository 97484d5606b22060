#!/usr/bin/env python3
"""Runs the real-stack native program with its message dump on, decodes every message with
the reference decoder and checks what the real NetX Duo's socket tables gave: an inventory
listing ip1's TCP servers (Telnet on 23, and 8080) and ip0's UDP socket on 5683, with the
established connections to them, and a finding for the Telnet listener (and one for the
CoAP socket), each started once.

    realstack_messages.py --program realstack_native --decode nxsm-decode
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--program", required=True)
    parser.add_argument("--decode", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        dump = os.path.join(folder, "messages.hex")
        env = dict(os.environ, NXSM_RS_MESSAGES=dump)
        run = subprocess.run([args.program], env=env, capture_output=True, text=True, timeout=280)
        if run.returncode != 0:
            sys.stdout.write(run.stdout[-3000:])
            sys.exit("the real-stack program failed")
        with open(dump) as handle:
            decoded = subprocess.run([args.decode, "--replay", "--format", "json"], stdin=handle,
                                     capture_output=True, text=True, check=True).stdout
    lines = [json.loads(line) for line in decoded.splitlines() if line.startswith("{")]
    inventories = [line for line in lines if line.get("event") == "inventory"]
    findings = [line for line in lines if line.get("event") == "finding"]
    failures = []

    def check(condition, what):
        print(("ok    " if condition else "FAIL  ") + what)
        if not condition:
            failures.append(what)

    check(len(inventories) > 0, "inventories decoded from the real stack's messages: %d" % len(inventories))
    full = [inv for inv in inventories if not inv["more"] and inv["part"] == 0]
    sockets = max((inv["sockets"] for inv in full), key=len, default=[])
    kinds = {(s["kind"], s.get("ip"), s.get("port")) for s in sockets}
    check(("tcp_listening", 1, 23) in kinds, "ip1 listens on TCP 23 (Telnet)")
    check(("tcp_listening", 1, 8080) in kinds, "ip1 listens on TCP 8080")
    check(("udp_bound", 0, 5683) in kinds, "ip0 has a UDP socket on 5683")
    established = [s for s in sockets if s["kind"] == "tcp_established"]
    check(any(s["remote_port"] == 23 for s in established), "a connection to the Telnet server")
    check(any(s["local_port"] == 23 for s in established), "the Telnet server's side of it")
    check(any(":" in s["remote"] and s["remote_port"] == 8080 for s in established),
          "an IPv6 connection to 8080")
    risky = [(f["protocol"], f["port"], f["active"]) for f in findings if f["finding"] == "risky_service"]
    check(risky.count(("tcp", 23, True)) == 1, "a Telnet finding started once: %s" % risky)
    check(risky.count(("udp", 5683, True)) == 1, "a CoAP finding started once")
    audit = [line for line in lines if line.get("event") == "audit"]
    check(any(a["kind"] == "started" for a in audit), "the start's audit record")
    print("%d passed, %d failed" % (10 - len(failures), len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
