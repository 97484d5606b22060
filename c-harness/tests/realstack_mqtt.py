#!/usr/bin/env python3
"""The MQTT transport end to end on the real stacks.

Two network namespaces joined by a veth pair: in one, realstack_mqtt (real ThreadX + NetX
Duo, NetX Duo's libpcap driver on its veth end, which carries no kernel address); in the
other, 10.77.0.1/24, mosquitto and nxsm-gateway (MQTT 5 subscriber). The program's module
publishes its messages with NetX Duo's MQTT client (MQTT 3.1.1) to nxsm/<id>/v1; the check
is the gateway's JSON: messages from that device, no decode error, no gap, as many as the
program published, and the flows of the UDP traffic the program sent.

Needs root (ip netns). Exits 77 (ctest: skipped) with a message when it cannot make a
network namespace. Removes namespaces, veth and processes on every exit.

realstack_mqtt.py --program PATH --gateway PATH [--seconds N]
"""
import argparse
import array
import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
BROKER_IP = "10.77.0.1"
DEVICE_IP = "10.77.0.2"
PORT = 1883
TRAFFIC_PORT = 9999


def tx_checksum_off(ifname):
    """ethtool -K IFNAME tx off, without ethtool: frames the kernel sends over the veth must
    carry full checksums, or NetX Duo (which checks them) drops what pcap hands it."""
    siocethtool, ethtool_stxcsum = 0x8946, 0x17
    value = array.array("I", [ethtool_stxcsum, 0])
    request = struct.pack("16sP", ifname.encode(), value.buffer_info()[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), siocethtool, request)


class Run:
    def __init__(self):
        tag = str(os.getpid())
        self.ns_dev = f"nxsm-dev-{tag}"
        self.ns_net = f"nxsm-net-{tag}"
        self.veth_dev = f"vnd{tag[-8:]}"
        self.veth_net = f"vnn{tag[-8:]}"
        self.device = f"rs-mqtt-{tag}"
        self.dir = tempfile.mkdtemp(prefix="realstack_mqtt.")
        self.processes = []
        self.namespaces = []

    def sh(self, *args, ns=None, check=True):
        command = (["ip", "netns", "exec", ns] if ns else []) + list(args)
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def spawn(self, args, ns, log):
        out = open(os.path.join(self.dir, log), "w")
        process = subprocess.Popen(["ip", "netns", "exec", ns] + args, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def cleanup(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        # Deleting a namespace deletes the veth end in it (and so the pair).
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()
        except OSError:
            return ""

    def network(self):
        for ns in (self.ns_dev, self.ns_net):
            if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
                return False
            self.namespaces.append(ns)
        self.sh("ip", "link", "add", self.veth_dev, "type", "veth", "peer", "name", self.veth_net)
        self.sh("ip", "link", "set", self.veth_dev, "netns", self.ns_dev)
        self.sh("ip", "link", "set", self.veth_net, "netns", self.ns_net)
        for ns, veth in ((self.ns_dev, self.veth_dev), (self.ns_net, self.veth_net)):
            self.sh("ip", "link", "set", "lo", "up", ns=ns)
            # No IPv6 chatter on the link (router and neighbour solicitations).
            self.sh("sysctl", "-q", "-w", f"net.ipv6.conf.{veth}.disable_ipv6=1", ns=ns, check=False)
            self.sh("ip", "link", "set", veth, "up", ns=ns)
        self.sh("ip", "addr", "add", f"{BROKER_IP}/24", "dev", self.veth_net, ns=self.ns_net)
        self.sh(sys.executable, os.path.abspath(__file__), "--tx-checksum-off", self.veth_net, ns=self.ns_net)
        return True


def wait_for(what, predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"FAIL: {what} within {timeout} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--program")
    parser.add_argument("--gateway")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--tx-checksum-off", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tx_checksum_off:
        tx_checksum_off(args.tx_checksum_off)
        return 0
    if not args.program or not args.gateway:
        parser.error("--program and --gateway are required")
    for path in (args.program, args.gateway):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not an executable (build it first)")
            return 1
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("SKIP: needs root and iproute2 (ip netns) to make the network namespaces")
        return SKIP
    for tool in ("mosquitto", "mosquitto_pub"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} is not installed")
            return SKIP

    run = Run()
    # SIGTERM (ctest timeout) and SIGINT end through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started = time.monotonic()
    try:
        if not run.network():
            print("SKIP: cannot create a network namespace (no CAP_SYS_ADMIN here)")
            return SKIP

        conf = os.path.join(run.dir, "mosquitto.conf")
        # Logged to a file (stdout to a file is block-buffered), as root so it may write there.
        with open(conf, "w") as f:
            f.write(f"listener {PORT} {BROKER_IP}\nallow_anonymous true\npersistence false\nuser root\n"
                    f"log_dest file {os.path.join(run.dir, 'mosquitto.log')}\nlog_type all\n"
                    "connection_messages true\n")
        run.spawn(["mosquitto", "-c", conf], run.ns_net, "mosquitto.out")
        wait_for("mosquitto listening", lambda: run.sh(
            "mosquitto_pub", "-h", BROKER_IP, "-p", str(PORT), "-t", "probe", "-m", "x",
            ns=run.ns_net, check=False).returncode == 0, 10)

        json_path = os.path.join(run.dir, "gateway.json")
        gateway = run.spawn([args.gateway, "--mqtt", f"mqtt://{BROKER_IP}:{PORT}", "--json", json_path,
                             "--exit-idle", "15", "--stats", "0"], run.ns_net, "gateway.log")
        wait_for("the gateway's subscription", lambda: "nxsm/+/v1" in run.log("mosquitto.log"), 10)

        program = run.spawn([args.program, run.veth_dev, DEVICE_IP, BROKER_IP, str(PORT), run.device,
                             str(args.seconds)], run.ns_dev, "program.log")
        try:
            program.wait(timeout=args.seconds + 60)
        except subprocess.TimeoutExpired:
            print("FAIL: realstack_mqtt did not finish")
            print(run.log("program.log"))
            return 1
        program_log = run.log("program.log")
        print(program_log, end="")
        try:
            gateway.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print("FAIL: the gateway did not exit (--exit-idle)")
            return 1

        failures = []

        def expect(ok, what):
            print(f"{'ok' if ok else 'not ok'} - {what}")
            if not ok:
                failures.append(what)

        expect(program.returncode == 0, f"realstack_mqtt exit status 0 (got {program.returncode})")
        expect(gateway.returncode == 0, f"gateway exit status 0 (got {gateway.returncode})")
        published = None
        for line in program_log.splitlines():
            if line.startswith("# published "):
                published = int(line.split()[2].rstrip(","))
        expect(published is not None and published > 0, f"the program published messages ({published})")

        # NetX Duo's client speaks MQTT 3.1.1 (mosquitto's "p2"); the gateway MQTT 5 ("p5").
        mosquitto_log = run.log("mosquitto.log")
        expect(any(run.device in l and "(p2," in l for l in mosquitto_log.splitlines() if "New client connected" in l),
               "the device connected with MQTT 3.1.1")

        lines = [json.loads(l) for l in run.log("gateway.json").splitlines() if l.strip()]
        mine = [l for l in lines if l.get("device") == run.device]
        summary = [l for l in mine if l.get("event") == "device"]
        expect(len(summary) == 1, "one device summary for the device id")
        if summary:
            s = summary[0]
            expect(s["messages"] == published, f"gateway received {s['messages']} messages, published {published}")
            expect(s["gaps"] == 0 and s["late"] == 0 and s["restarts"] == 0,
                   f"sequences without gaps (gaps {s['gaps']}, late {s['late']}, restarts {s['restarts']})")
            expect(s["duplicates"] == 0, f"no duplicates ({s['duplicates']})")
        expect(not [l for l in lines if l.get("event") == "decode_error"], "no decode error")
        expect(not [l for l in lines if l.get("event") == "gap"], "no gap event")
        expect(all(l.get("device") == run.device for l in lines), "nothing from any other device")
        flows = [l for l in mine if "proto" in l]
        udp = [f for f in flows if f["proto"] == "udp" and f["remote"] == BROKER_IP and f["remote_port"] == TRAFFIC_PORT
               and f["local"] == DEVICE_IP and f["packets_out"] > 0]
        expect(udp, f"a UDP flow {DEVICE_IP} -> {BROKER_IP}:{TRAFFIC_PORT} ({len(flows)} flows in all)")
        mqtt = [f for f in flows if f["proto"] == "tcp" and f["remote_port"] == PORT]
        expect(mqtt, f"the MQTT connection's own flow to port {PORT}")
        print(f"# {time.monotonic() - started:.1f} s, {len(mine)} JSON lines from {run.device}")
        if failures:
            print("--- gateway.log\n" + run.log("gateway.log"))
            print("--- mosquitto.log (tail)\n" + "\n".join(mosquitto_log.splitlines()[-20:]))
            print(f"{len(failures)} failed")
            return 1
        print("0 failed")
        return 0
    finally:
        run.cleanup()


if __name__ == "__main__":
    sys.exit(main())
