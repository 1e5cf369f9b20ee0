#!/usr/bin/python3
# Benchmark (not a test): what <fixedBar> costs in define and
# domxml-to-native, through the public API, against the same domain with
# plain hostdevs.
#
# For N = 1, 8, 32, the largest N that fits the guest's PCI bus budget
# and the largest N libvirt can place as plain hostdevs (if smaller),
# a domain with N assigned NICs is defined and converted to a QEMU command
# line (virDomainDefineXML, then virConnectDomainXMLToNative on the placed
# XML, as 'virsh domxml-to-native --domain' does), once with <fixedBar> on
# every device and once without.  It reports per operation:
#   - wall time: median of REPEAT runs in this process (Python bindings);
#   - instructions: valgrind's callgrind, counting only inside the API
#     function, for its second call in a virsh process (the count of a
#     virsh run doing the operations twice minus one doing them once), so
#     that first-use costs such as loading QEMU's capabilities stay out;
# the ratio fixedBar/plain and the growth per doubling of N.
#
# Run by tooling/bench.sh, which sets up the embedded driver, the fake
# sysfs (its benchmark host: 8 root complexes with 32 NICs each, one IOMMU
# group per root complex) and the simulated EA capabilities.
#
# usage: bench.py URI VIRSH-URI VIRSH WORKDIR
# (two embedded driver roots: a driver locks its root while it runs)

import math
import os
import re
import statistics
import subprocess
import sys
import time

import libvirt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from domainxml import FIXEDBAR, domain_xml, hostdev  # noqa: E402

REPEAT = 15
# the mock's benchmark host: 0002:0R:SS.0, R = 0..7, SS = 0..31
ROOT_COMPLEXES = 8
PER_ROOT_COMPLEX = 32
HOST_DEVICES = ROOT_COMPLEXES * PER_ROOT_COMPLEX


def host_device(i):
    return (0x0002, i // PER_ROOT_COMPLEX, i % PER_ROOT_COMPLEX, 0)


# The QEMU binary the domains name (the command line's fifth argument).
EMULATOR = None


def bench_xml(kind, n):
    """The benchmark domain: N host devices, with or without <fixedBar>,
    without the USB controller and memory balloon libvirt adds by default."""
    devs = []
    for i in range(n):
        d, b, s, f = host_device(i)
        devs.append(hostdev(b, fixedbar=FIXEDBAR if kind == "fixedBar" else "",
                            domain=d, slot=s, function=f))
    return domain_xml(f"bench-{kind}-{n}", "".join(devs),
                      extra="\n    <controller type='usb' model='none'/>"
                            "\n    <memballoon model='none'/>",
                      emulator=EMULATOR)


def once(conn, xml):
    t0 = time.perf_counter()
    dom = conn.defineXML(xml)
    t1 = time.perf_counter()
    placed = dom.XMLDesc(0)
    t2 = time.perf_counter()
    conn.domainXMLToNative("qemu-argv", placed, 0)
    t3 = time.perf_counter()
    dom.undefine()
    return t1 - t0, t3 - t2


def wall(conn, xml):
    once(conn, xml)
    runs = [once(conn, xml) for _ in range(REPEAT)]
    return (statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs))


def fits(conn, kind, n):
    """Whether libvirt accepts the domain, and its message if not."""
    try:
        dom = conn.defineXML(bench_xml(kind, n))
    except libvirt.libvirtError as e:
        return False, str(e)
    try:
        conn.domainXMLToNative("qemu-argv", dom.XMLDesc(0), 0)
    except libvirt.libvirtError as e:
        return False, str(e)
    finally:
        dom.undefine()
    return True, None


def largest_n(conn, kind):
    """The largest N of KIND libvirt accepts, and why N+1 fails."""
    lo, hi = 1, HOST_DEVICES
    ok, why = fits(conn, kind, lo)
    if not ok:
        sys.exit(f"error: libvirt refuses the {kind} domain with one device: {why}")
    ok, why = fits(conn, kind, hi)
    if ok:
        return hi, "the benchmark host has no more devices"
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok, reason = fits(conn, kind, mid)
        if ok:
            lo = mid
        else:
            hi, why = mid, reason
    return lo, why


def callgrind_ir(uri, virsh, workdir, tag, function, commands):
    """Instructions callgrind counts inside FUNCTION while virsh runs COMMANDS."""
    out = os.path.join(workdir, f"callgrind.{tag}")
    sysfs = os.path.join(workdir, f"sysfs.{tag}")
    os.makedirs(sysfs)
    env = dict(os.environ, LIBVIRT_FAKE_ROOT_DIR=sysfs)
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
           f"--toggle-collect={function}", f"--callgrind-out-file={out}",
           virsh, "-q", "-c", uri, commands]
    res = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        sys.exit(f"error: callgrind run {tag} failed:\n{res.stderr[-2000:]}")
    with open(out) as f:
        m = re.search(r"^totals: (\d+)", f.read(), re.M)
    if not m:
        sys.exit(f"error: no totals in {out}")
    return int(m.group(1))


def instructions(uri, virsh, workdir, kind, n):
    """Instructions inside virDomainDefineXML and virConnectDomainXMLToNative
    for the second of two rounds in one virsh process: callgrind counts
    only inside the function, so the second round costs the count of a
    two-round run minus that of a one-round run."""
    xml = os.path.join(workdir, f"bench-{kind}-{n}.xml")
    with open(xml, "w") as f:
        f.write(bench_xml(kind, n))
    name = f"bench-{kind}-{n}"
    one = f"define {xml}; domxml-to-native qemu-argv --domain {name}; undefine {name}"
    counts = []
    for function in ("virDomainDefineXML", "virConnectDomainXMLToNative"):
        ir = [callgrind_ir(uri, virsh, workdir, f"{kind}.{n}.{function}.{rounds}",
                           function, "; ".join([one] * rounds))
              for rounds in (1, 2)]
        counts.append(ir[1] - ir[0])
    return counts


def growth(v0, v1, n0, n1):
    """Factor per doubling of N between N=n0 and N=n1."""
    return (v1 / v0) ** (1 / math.log2(n1 / n0))


def main():
    global EMULATOR
    uri, virsh_uri, virsh, workdir, EMULATOR = sys.argv[1:6]
    libvirt.virEventRegisterDefaultImpl()
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = libvirt.open(uri)

    nmax, why = largest_n(conn, "fixedBar")
    pmax, pwhy = largest_n(conn, "plain")
    limits = {"fixedBar": nmax, "plain": pmax}
    ns = sorted({n for n in (1, 8, 32) if n <= max(nmax, pmax)} | {nmax, pmax})
    print(f"largest N with <fixedBar>: {nmax} (N={nmax + 1}: {why})")
    print(f"largest N of plain hostdevs: {pmax} (N={pmax + 1}: {pwhy})")
    print(f"wall time: median of {REPEAT} runs in one process; instructions: callgrind,")
    print("inside the API function only, its second call in a virsh process")
    print()

    results = {}
    for n in ns:
        for kind in ("plain", "fixedBar"):
            if n > limits[kind]:
                continue
            w_def, w_nat = wall(conn, bench_xml(kind, n))
            i_def, i_nat = instructions(virsh_uri, virsh, workdir, kind, n)
            results[kind, n] = (w_def, w_nat, i_def, i_nat)
            sys.stderr.write(f"  measured {kind} N={n}\n")

    def cell(kind, n, idx, scale, form):
        r = results.get((kind, n))
        return form % (r[idx] * scale) if r else "-"

    def ratio(n, idx):
        p, f = results.get(("plain", n)), results.get(("fixedBar", n))
        return "%.2f" % (f[idx] / p[idx]) if p and f else "-"

    head = ("N", "operation", "plain ms", "fixedBar ms", "ratio",
            "plain Minstr", "fixedBar Minstr", "ratio")
    fmt = "%5s  %-16s %9s %12s %6s %13s %16s %6s"
    print(fmt % head)
    for n in ns:
        for op, idx in (("define", 0), ("domxml-to-native", 1)):
            print(fmt % (n, op,
                         cell("plain", n, idx, 1e3, "%.2f"),
                         cell("fixedBar", n, idx, 1e3, "%.2f"), ratio(n, idx),
                         cell("plain", n, idx + 2, 1e-6, "%.1f"),
                         cell("fixedBar", n, idx + 2, 1e-6, "%.1f"), ratio(n, idx + 2)))
    print()
    print("cost growth per doubling of N (x2.00 = linear, x1.00 = constant):")
    for op, idx in (("define", 0), ("domxml-to-native", 1)):
        for kind in ("plain", "fixedBar"):
            steps = []
            # 1, 8, 32 and this kind's largest N: steps of 2 doublings or
            # more (between the two largest N the growth would be noise)
            kns = sorted({n for n in (1, 8, 32) if n < limits[kind]} | {limits[kind]})
            for a, b in zip(kns, kns[1:]):
                t = growth(results[kind, a][idx], results[kind, b][idx], a, b)
                i = growth(results[kind, a][idx + 2], results[kind, b][idx + 2], a, b)
                steps.append(f"N {a}->{b}: time x{t:.2f}, instr x{i:.2f}")
            print(f"  {op:16s} {kind:8s} " + "; ".join(steps))


if __name__ == "__main__":
    main()
