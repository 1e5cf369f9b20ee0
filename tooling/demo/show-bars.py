#!/usr/bin/python3
# Summarise, from a QEMU command line libvirt emitted, the guest address of
# every EA BAR (x-ea-barN-addr, in hex so that it can be compared with the
# host's sysfs 'resource') and the ranges the machine keeps free.
#
# usage: show-bars.py ARGV-FILE

import json
import re
import shlex
import sys


def main():
    with open(sys.argv[1]) as f:
        words = shlex.split(f.read())
    print("In it, the guest address of each BAR (x-ea-barN-addr) and the ranges")
    print("kept free (x-fixed-mmio), in hex:")
    for opt, val in zip(words, words[1:]):
        if opt == "-device" and val.startswith("{"):
            dev = json.loads(val)
            bars = sorted((int(m.group(1)), v) for k, v in dev.items()
                          for m in [re.fullmatch(r"x-ea-bar(\d)-addr", k)] if m)
            if dev.get("driver") == "vfio-pci" and dev.get("x-ea"):
                print("  %s (host %s): %s" % (dev["id"], dev["host"],
                      ", ".join("BAR%d 0x%x" % b for b in bars)))
        if opt == "-machine":
            ranges = {}
            for part in val.split(","):
                m = re.fullmatch(r"x-fixed-mmio\.(\d+)\.(base|size)=(\S+)", part)
                if m:
                    ranges.setdefault(int(m.group(1)), {})[m.group(2)] = int(m.group(3), 0)
            for k in sorted(ranges):
                r = ranges[k]
                print("  x-fixed-mmio.%d: 0x%x..0x%x" % (k, r["base"], r["base"] + r["size"] - 1))


if __name__ == "__main__":
    main()
