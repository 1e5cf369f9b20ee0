#!/usr/bin/python3
# Start the PCI topology of a QEMU command line that libvirt emitted for a
# <fixedBar> domain in the real QEMU, under TCG, and show how the guest
# firmware numbered its buses and where the devices appear.
#
# No released QEMU has vfio-pci's x-ea* properties or the machine's
# x-fixed-mmio list, and the demo has no real device to assign, so the
# command line is converted first, and the conversion is printed:
#   - x-fixed-mmio.* is dropped from -machine;
#   - every vfio-pci device becomes an emulated PCIe endpoint (e1000e) with
#     the same id, bus and addr (its x-ea* and host properties go with it);
#   - the monitor and secret libvirt would create are replaced by an HMP
#     socket of our own.
# QEMU starts paused (-S, as libvirt starts it): the bridges are read once
# before the firmware runs, to show that the bus numbers printed afterwards
# are the firmware's.
# Everything else (machine, pxb-pcie bus_nr, root ports and their reserves)
# is passed to QEMU as libvirt wrote it.
#
# usage: launch-topology.py ARGV-FILE WORKDIR
# ARGV-FILE holds the output of 'virsh domxml-to-native qemu-argv'.

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time

ENDPOINT = "e1000e"
TIMEOUT = 120


def convert(words):
    """The argv to run and the list of changes made to libvirt's argv."""
    changes = []
    env = []
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        env.append(words[0].split("=", 1)[0])
        words = words[1:]
    if not words:
        sys.exit("error: no QEMU binary in the command line")
    if env:
        changes.append("dropped the environment (%s); QEMU runs with PATH only"
                       % " ".join(env))
    argv = [words[0]]
    i = 1
    while i < len(words):
        opt = words[i]
        val = words[i + 1] if i + 1 < len(words) else None
        if opt == "-machine":
            parts = val.split(",")
            kept = [p for p in parts if not p.startswith("x-fixed-mmio.")]
            dropped = [p for p in parts if p.startswith("x-fixed-mmio.")]
            if dropped:
                changes.append("-machine: dropped " + ",".join(dropped))
            argv += [opt, ",".join(kept)]
            i += 2
            continue
        if opt == "-object" and val.startswith("{"):
            obj = json.loads(val)
            if obj.get("qom-type") == "secret":
                changes.append("dropped -object secret %s (libvirt's master key)" % obj["id"])
                i += 2
                continue
        if opt == "-chardev" and "id=charmonitor" in val.split(","):
            changes.append("dropped libvirt's QMP monitor chardev")
            i += 2
            continue
        if opt == "-mon" and "chardev=charmonitor" in val.split(","):
            i += 2
            continue
        if opt == "-device" and val.startswith("{"):
            dev = json.loads(val)
            if dev.get("driver") == "vfio-pci":
                new = {"driver": ENDPOINT}
                for key in ("id", "bus", "addr"):
                    if key in dev:
                        new[key] = dev[key]
                gone = sorted(k for k in dev if k not in new)
                changes.append("%s: vfio-pci %s -> %s (dropped %s)" %
                               (dev.get("id"), dev.get("host"), ENDPOINT,
                                ", ".join(gone)))
                argv += [opt, json.dumps(new, separators=(",", ":"))]
                i += 2
                continue
        argv.append(opt)
        if val is not None and not val.startswith("-"):
            argv.append(val)
            i += 2
        else:
            i += 1
    return argv, changes


def read_to_prompt(sock):
    buf = b""
    while not buf.endswith(b"(qemu) "):
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def hmp(path, command):
    """Run one HMP command on the monitor socket and return its output."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        read_to_prompt(sock)
        sock.sendall(command.encode() + b"\n")
        buf = read_to_prompt(sock)
    text = buf.decode(errors="replace").replace("\r", "")
    lines = text.split("\n")
    # the echo of the command comes first, the next prompt last
    return "\n".join(line for line in lines[1:-1])


def parse_info_pci(text):
    """The functions HMP 'info pci' lists, as dicts."""
    devices = []
    cur = None
    for line in text.splitlines():
        m = re.match(r"\s*Bus\s+(\d+), device\s+(\d+), function (\d+):", line)
        if m:
            cur = {"bus": int(m.group(1)), "dev": int(m.group(2)),
                   "fn": int(m.group(3)), "class": None, "id": ""}
            devices.append(cur)
            continue
        if cur is None:
            continue
        s = line.strip()
        if cur["class"] is None:
            cur["class"] = s.split(":")[0]
            m = re.search(r"PCI device ([0-9a-f]{4}:[0-9a-f]{4})", s)
            cur["vendev"] = m.group(1) if m else ""
            continue
        m = re.match(r"(secondary|subordinate) bus (\d+)\.", s)
        if m:
            cur[m.group(1)] = int(m.group(2))
        m = re.match(r'id "(.*)"', s)
        if m:
            cur["id"] = m.group(1)
    return devices


def numbered(devices):
    bridges = [d for d in devices if d["class"] == "PCI bridge"]
    return bridges and all(d.get("secondary", 0) != 0 for d in bridges)


def run(argv, monitor, errlog):
    """Start QEMU paused, read its PCI topology, let the firmware run and
    read it again once every bridge has a bus number; then quit QEMU."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errlog,
                            stderr=errlog, env={"PATH": "/usr/bin:/bin"})

    def alive():
        if proc.poll() is not None:
            errlog.seek(0)
            sys.stderr.write(errlog.read())
            sys.exit("error: QEMU exited with status %d" % proc.returncode)

    try:
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(monitor):
            alive()
            if time.monotonic() > deadline:
                sys.exit("error: QEMU did not open its monitor within %d s" % TIMEOUT)
            time.sleep(0.1)
        before = parse_info_pci(hmp(monitor, "info pci"))
        hmp(monitor, "cont")
        started = time.monotonic()
        while True:
            alive()
            text = hmp(monitor, "info pci")
            devices = parse_info_pci(text)
            if numbered(devices):
                break
            if time.monotonic() > deadline:
                print(text)
                sys.exit("error: the firmware did not number the PCI bridges within %d s" % TIMEOUT)
            time.sleep(0.2)
        waited = time.monotonic() - started
        hmp(monitor, "quit")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return before, devices, waited


def report(before, devices, waited, warnings):
    if warnings:
        print("QEMU said:")
        for line in warnings.splitlines():
            print("  " + line)
        print()

    bridges = [d for d in before if d["class"] == "PCI bridge"]
    print("Before the firmware ran (-S): %d PCI bridges, secondary bus %s."
          % (len(bridges), ", ".join(sorted({str(d.get("secondary")) for d in bridges}))))
    print("QEMU accepted the topology; %.1f s after 'cont' the firmware had numbered every bridge."
          % waited)
    print("HMP 'info pci' then (bus numbers in hex):")
    print()
    fmt = "  %-10s %-20s %-9s %-11s %s"
    print(fmt % ("id", "function", "at", "vendor:dev", "buses behind it"))
    for d in sorted(devices, key=lambda d: (d["bus"], d["dev"], d["fn"])):
        if not d["id"] and d["class"] != "PCI bridge":
            continue
        behind = ""
        if "secondary" in d:
            behind = "%02x..%02x" % (d["secondary"], d["subordinate"])
        print(fmt % (d["id"] or "-", d["class"],
                     "%02x:%02x.%x" % (d["bus"], d["dev"], d["fn"]),
                     d.get("vendev", ""), behind))


def main():
    argv_file, workdir = sys.argv[1], sys.argv[2]
    with open(argv_file) as f:
        words = shlex.split(f.read())
    argv, changes = convert(words)
    monitor = os.path.join(workdir, "hmp.sock")
    if os.path.exists(monitor):
        os.unlink(monitor)
    argv += ["-monitor", "unix:%s,server=on,wait=off" % monitor]

    print("Conversion of libvirt's command line:")
    for c in changes:
        print("  - " + c)
    print()
    print("Running:")
    print("  " + " ".join(shlex.quote(a) for a in argv))
    print()

    with open(os.path.join(workdir, "qemu.stderr"), "w+") as errlog:
        before, devices, waited = run(argv, monitor, errlog)
        errlog.seek(0)
        warnings = errlog.read().strip()
    report(before, devices, waited, warnings)


if __name__ == "__main__":
    main()
