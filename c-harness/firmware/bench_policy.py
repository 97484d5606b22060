#!/usr/bin/env python3
"""Writes the detection policies of the detection benchmark (bench_detect.c, scripts/bench).

  bench_policy.py FOLDER [--v4 N] [--v6 N] [--block]

FOLDER/policy.json is a policy whose indicators are one feed, FOLDER/indicators.netset
(source 1), of N IPv4 /24 ranges and N IPv6 /64 ranges spread evenly over each address
space; --block adds "block": ["indicator"]. The same N always gives the same files.

IPv4 range i of N (bench_detect.c computes the same addresses):
  stride = (2^32 / N) rounded down to a multiple of 256
  first  = i * stride + ((stride / 2) rounded down to a multiple of 256)
so every range is a /24 in the middle of its stride; i * stride + 256 is in no range.
IPv6 range i of N is the /64 at i * stride6 + stride6 / 2, stride6 = 2^128 / N rounded
down to a multiple of 2^64.
"""

import argparse
import ipaddress
import json
import os


def v4_first(i, n):
    stride = ((1 << 32) // n) & ~0xFF
    return i * stride + ((stride // 2) & ~0xFF)


def v6_first(i, n):
    stride = ((1 << 128) // n) & ~((1 << 64) - 1)
    return i * stride + ((stride // 2) & ~((1 << 64) - 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--v4", type=int, default=0, help="IPv4 indicator ranges")
    parser.add_argument("--v6", type=int, default=0, help="IPv6 indicator ranges")
    parser.add_argument("--block", action="store_true", help="indicators block")
    args = parser.parse_args()
    if args.v4 > 65535 or args.v4 < 0 or args.v6 < 0:
        parser.error("--v4 must be 0-65535 (the index's limit), --v6 at least 0")

    os.makedirs(args.folder, exist_ok=True)
    lines = ["# bench_policy.py --v4 %d --v6 %d" % (args.v4, args.v6)]
    lines += ["%s/24" % ipaddress.IPv4Address(v4_first(i, args.v4)) for i in range(args.v4)]
    lines += ["%s/64" % ipaddress.IPv6Address(v6_first(i, args.v6)) for i in range(args.v6)]
    with open(os.path.join(args.folder, "indicators.netset"), "w") as feed:
        feed.write("\n".join(lines) + "\n")
    policy = {"indicators": {"feeds": ["indicators.netset"]}}
    if args.block:
        policy["block"] = ["indicator"]
    with open(os.path.join(args.folder, "policy.json"), "w") as handle:
        json.dump(policy, handle, indent=1, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    main()
