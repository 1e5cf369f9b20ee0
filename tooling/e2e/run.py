#!/usr/bin/env python3
"""fixedBar end to end: a running Linux guest uses assigned devices at
their host physical addresses.

For each configuration (x86_64 q35 with SeaBIOS and with OVMF, aarch64
virt with AAVMF, and x86_64 with SeaBIOS and nested switches) and each
guest kernel (the patched one of tree-linux/ and Debian's stock 6.12
image):

 1. the built libvirt's QEMU driver (virsh on qemu:///embed, the fake
    sysfs of tests/libvirpcimock.so as the host) probes the patched QEMU,
    defines the configuration's domain (x86_64.xml, aarch64.xml,
    x86_64-nested.xml, with the
    kernel, the console and the firmware added), dumps it and prints its
    QEMU command line (domxml-to-native);
 2. that command line runs with vfio-pci replaced by pci-standin (same id,
    bus, addr, x-ea* properties, the fake host device's BAR layout, and a
    file-backed memory at offset 0 of one BAR) and libvirt's monitor and
    master-key secret replaced by the harness's QMP socket, the conversion
    of tooling/qemuargs/run.py; nothing else changes;
 3. the guest's /init (guest/init) prints what the kernel made of each
    device, enables each stand-in and reads and writes each of its BARs
    (guest/fbmmap.c); the harness checks, per device: the EA capability
    entries are what libvirt computed ("EA cap"), the BAR registers read 0
    ("BAR regs"), the kernel's resources are the host addresses
    ("addresses"), /proc/iomem nests each BAR in its port's window and
    that in its expander bus's _CRS window ("windows"), the device can be
    enabled ("enable"), and the data path works ("data path"): what the
    harness wrote into the backing file is what the guest reads at the host
    address, what the guest wrote there is in the file afterwards, and every
    other BAR answers with pci-standin's signature.  For every two devices
    of one host root complex, NCCL's path type derived from their guest
    sysfs paths is the one derived from their host paths ("topology").

The patched kernel must pass every cell.  The stock kernel must fail where
the seed thread predicts: the root port's window does not forward the
BARs, so nothing reaches the device, and the device cannot be enabled (on
x86 its resources stay unassigned; on aarch64 the GPU's non-prefetchable
BAR finds no window).  A stock run that passes is a failure, since the
test would then not show that the kernel change is what makes it work.

Prints the table, one "ok e2e/CONFIG/KERNEL" or "FAIL ..." line per run,
and "e2e: N passed, M failed"; exits non-zero on any unexpected cell.
"""

import argparse
import importlib.util
import json
import os
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import time
import tty
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def load_qemuargs():
    """tooling/qemuargs/run.py, whose command-line conversion and
    config-space parsing this harness shares."""
    spec = importlib.util.spec_from_file_location(
        "qemuargs", os.path.join(TOP, "tooling", "qemuargs", "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


qa = load_qemuargs()

VIRSH = os.path.join(TOP, "tree", "build", "tools", "virsh")
LINUX_BUILD = os.path.join(TOP, "tree-linux", "build")

COLUMNS = ("EA cap", "BAR regs", "addresses", "windows", "enable",
           "data path", "topology")


class Config:
    """One guest configuration: architecture, firmware, domain."""

    def __init__(self, name, arch, firmware, loader=None, vars_template=None,
                 domain=None):
        self.name = name
        self.arch = arch
        self.firmware = firmware
        self.loader = loader
        self.vars_template = vars_template
        self.domain = os.path.join(HERE, domain or arch + ".xml")
        self.console = "ttyS0" if arch == "x86_64" else "ttyAMA0"
        self.qemu = os.path.join(qa.QEMU_BUILD, "qemu-system-" + arch)


CONFIGS = [
    Config("x86_64-seabios", "x86_64", "SeaBIOS"),
    Config("x86_64-ovmf", "x86_64", "OVMF", "/usr/share/OVMF/OVMF_CODE.fd",
           "/usr/share/OVMF/OVMF_VARS.fd"),
    Config("aarch64-aavmf", "aarch64", "AAVMF",
           "/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"),
    # nested switches, with the windows SeaBIOS opens on every port
    Config("x86_64-nested", "x86_64", "SeaBIOS", domain="x86_64-nested.xml"),
]
# The patched kernel's image per guest architecture (tooling/build-linux.sh).
PATCHED_IMAGES = {"x86_64": "x86_64/arch/x86/boot/bzImage",
                  "aarch64": "arm64/arch/arm64/boot/Image"}
# The stock kernel's expected failures: the cells that must FAIL.
STOCK_FAILS = {"x86_64": ("windows", "enable", "data path"),
               "aarch64": ("windows", "enable", "data path")}

# The deepest level /proc/iomem indents (MAX_IORES_LEVEL, kernel/resource.c)
IORES_MAX_DEPTH = 5

# What pci-standin answers for a BAR without backing memory (its docs).
STANDIN_SIGNATURE = 0x5354000000000000
DATA_WORDS = 4
BACKING_SIZE = 1 << 20
BOOT_TIMEOUT = 300

IORESOURCE_MEM = 0x200


class Failure(Exception):
    """A step of a run that could not be done."""


# --------------------------------------------------------------- libvirt

class Libvirt:
    """virsh on the built libvirt's embedded QEMU driver, with the fake
    sysfs of libvirpcimock.so as the host's PCI devices."""

    def __init__(self, workdir):
        self.root = os.path.join(workdir, "libvirt")
        self.sysfs = os.path.join(workdir, "sysfs")
        os.makedirs(os.path.join(self.root, "etc"), exist_ok=True)
        # QEMU runs as root like the driver (tooling/embedded.sh).
        with open(os.path.join(self.root, "etc", "qemu.conf"), "w") as f:
            f.write('user = "root"\ngroup = "root"\n')

    def virsh(self, *args):
        """Run virsh; its output, or Failure with its error."""
        # The mock builds its tree on first use and refuses an existing one.
        shutil.rmtree(self.sysfs, ignore_errors=True)
        os.makedirs(self.sysfs)
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": self.root,
               "LD_PRELOAD": qa.PCIMOCK, "LIBVIRT_FAKE_ROOT_DIR": self.sysfs}
        uri = "qemu:///embed?root=" + self.root
        proc = subprocess.run([VIRSH, "-q", "-c", uri] + list(args), env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise Failure("virsh %s: %s" % (args[0], proc.stderr.strip()))
        return proc.stdout


def guest_domain(config, name, kernel, initrd, nvram, out):
    """Write config's domain as name, booting kernel and initrd with its
    console on a pty, its firmware and the patched QEMU, to out."""
    tree = ET.parse(config.domain)
    dom = tree.getroot()
    dom.find("name").text = name
    os_el = dom.find("os")
    if config.loader:
        loader = ET.SubElement(os_el, "loader", readonly="yes", type="pflash")
        loader.text = config.loader
        ET.SubElement(os_el, "nvram", template=config.vars_template).text = \
            nvram
    ET.SubElement(os_el, "kernel").text = kernel
    ET.SubElement(os_el, "initrd").text = initrd
    ET.SubElement(os_el, "cmdline").text = "console=%s panic=-1" \
        % config.console
    devices = dom.find("devices")
    emulator = devices.find("emulator")
    if emulator is None:
        emulator = ET.Element("emulator")
        devices.insert(0, emulator)
    emulator.text = config.qemu
    # A panicking guest (panic=-1) ends the run instead of rebooting
    ET.SubElement(dom, "on_reboot").text = "destroy"
    ET.SubElement(devices, "controller", type="usb", model="none")
    ET.SubElement(devices, "serial", type="pty")
    ET.SubElement(devices, "memballoon", model="none")
    tree.write(out)


# ------------------------------------------------------------------ guest

class Guest:
    """What the guest printed (its "FB " lines)."""

    def __init__(self, console):
        self.console = console
        self.devices = {}   # bdf -> {"id": (vendor, device), "config", "res"}
        self.paths = {}     # bdf -> canonical sysfs path
        self.enabled = {}   # bdf -> bool
        self.command = {}   # bdf -> Command register after enabling
        self.mmap = {}      # (bdf, bar) -> dict or error text
        self.iomem = []     # (depth, start, end, name)
        self.began = self.ended = False
        self.garbled = []   # "FB " lines kernel messages broke up
        for line in console.splitlines():
            if line.startswith("FB "):
                try:
                    self.parse(line[3:])
                except (ValueError, KeyError, IndexError, AttributeError):
                    self.garbled.append(line)

    def parse(self, line):
        words = line.split()
        kind = words[0]
        if kind == "begin":
            self.began = True
        elif kind == "end":
            self.ended = True
        elif kind == "device":
            self.devices[words[1]] = {"id": (int(words[2], 16),
                                             int(words[3], 16)),
                                      "config": b"", "res": {}}
        elif kind == "path":
            self.paths[words[1]] = words[2]
        elif kind == "config":
            self.devices[words[1]]["config"] = bytes.fromhex(words[2])
        elif kind == "resource":
            start, end, flags = (int(w, 16) for w in words[3:6])
            self.devices[words[1]]["res"][int(words[2])] = (start, end,
                                                            flags)
        elif kind == "iomem":
            m = re.match(r"iomem( *)([0-9a-f]+)-([0-9a-f]+) : (.*)$", line)
            self.iomem.append(((len(m.group(1)) - 1) // 2,
                               int(m.group(2), 16), int(m.group(3), 16),
                               m.group(4)))
        elif kind == "enable":
            self.enabled[words[1]] = words[2] == "ok"
        elif kind == "command":
            self.command[words[1]] = int.from_bytes(
                bytes.fromhex(words[2]), "little")
        elif kind == "mmap":
            self.mmap[(words[1], int(words[2]))] = parse_mmap(words[3:])

    def iomem_chain(self, start, end, name):
        """The /proc/iomem entries enclosing the entry (start, end, name),
        innermost first; None if there is none.  /proc/iomem indents at
        most IORES_MAX_DEPTH levels (kernel/resource.c), so below that an
        entry's parent is the nearest one before it at that depth that
        contains it."""
        for i, (depth, s, e, n) in enumerate(self.iomem):
            if (s, e, n) != (start, end, name):
                continue
            chain = []
            for pdepth, ps, pe, pn in reversed(self.iomem[:i]):
                if depth == 0:
                    break
                if pdepth == depth - 1 or \
                        (depth == IORES_MAX_DEPTH and pdepth == depth and
                         ps <= s and e <= pe):
                    chain.append((ps, pe, pn))
                    depth, s, e = pdepth, ps, pe
            return chain
        return None


def parse_mmap(words):
    """fbmmap's output: {"read": [..], "wrote": [..], "readback": [..]},
    or its error text."""
    if len(words) != 6 or words[0::2] != ["read", "wrote", "readback"]:
        return " ".join(words)
    result = {}
    for key, value in zip(words[0::2], words[1::2]):
        result[key] = [int(value[i:i + 16], 16)
                       for i in range(0, len(value), 16)]
    return result


def words_of(data):
    """Little-endian 64-bit words of data."""
    return list(struct.unpack("<%dQ" % (len(data) // 8), data))


def text_of(words):
    """The bytes of little-endian 64-bit words as text, or as hexadecimal
    words if they are not printable text."""
    data = struct.pack("<%dQ" % len(words), *words).rstrip(b"\0")
    if data and all(32 <= b < 127 for b in data):
        return data.decode("ascii")
    return " ".join("0x%016x" % w for w in words)


# --------------------------------------------------------------- topology

BDF = re.compile(r"^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")


def host_bridge(path):
    """The host bridge directory (pciDDDD:BB) a sysfs device path is below."""
    comps = path.split("/sys/devices/", 1)[1].split("/")
    return next((c for c in comps if c.startswith("pci")), None)


def nccl_ancestors(path):
    """The nodes of NCCL's topology above a PCI device, nearest first, as
    NCCL builds them from the device's canonical sysfs path (src/graph/
    xml.cc): it goes up two path components at a time, so that a PCIe
    switch is one node, named by its upstream port, and stops at a CPU
    where one of the two is no PCI device (a host bridge).  The host bridge
    is added to the "CPU" node to tell root complexes apart."""
    comps = path.split("/sys/devices/", 1)[1].split("/")
    nodes = []
    i = len(comps) - 1
    while i >= 2 and BDF.match(comps[i - 1]) and BDF.match(comps[i - 2]):
        nodes.append(comps[i - 2])
        i -= 2
    nodes.append("CPU " + (host_bridge(path) or "?"))
    return nodes


def nccl_path_type(path_a, path_b):
    """NCCL's path type between two PCI devices (src/graph/paths.cc): PIX
    through one PCIe switch, PXB through more than one, PHB through a host
    bridge (the CPU)."""
    a = nccl_ancestors(path_a)
    b = nccl_ancestors(path_b)
    common = next((n for n in a if n in b), None)
    if common is None or common.startswith("CPU"):
        return "PHB"
    hops = a[:a.index(common) + 1] + b[:b.index(common)]
    return "PIX" if len(hops) == 1 else "PXB"


# -------------------------------------------------------------------- run

class Run:
    """One configuration booted with one kernel, and its checks."""

    def __init__(self, config, kernel_name, kernel, initrd, libvirt, sysfs,
                 workdir):
        self.config = config
        self.kernel_name = kernel_name
        self.kernel = kernel
        self.initrd = initrd
        self.libvirt = libvirt
        self.sysfs = sysfs
        self.dir = os.path.join(workdir, "%s-%s" % (config.name, kernel_name))
        self.name = "e2e-%s-%s" % (config.name, kernel_name)
        self.cells = {c: "OK" for c in COLUMNS}
        self.notes = []
        self.error = None
        self.case = None
        self.guest = None
        self.topology = []  # the path types the topology check compared
        self.backing = {}   # standin id -> (BAR, path, host pattern words)
        self.after = {}     # standin id -> words in the backing file after

    def fail(self, column, why):
        self.cells[column] = "FAIL"
        self.notes.append("%s: %s" % (column, why))

    def expected(self, column):
        """The cell this run must have."""
        if self.kernel_name == "stock" and \
                column in STOCK_FAILS[self.config.arch]:
            return "FAIL"
        return "OK"

    def unexpected(self):
        """The columns whose cell is not the expected one."""
        if self.error:
            return list(COLUMNS)
        return [c for c in COLUMNS if self.cells[c] != self.expected(c)]

    # -- libvirt ----------------------------------------------------------

    def libvirt_steps(self):
        """define, dumpxml, domxml-to-native; the command line's path."""
        os.makedirs(self.dir)
        xml = os.path.join(self.dir, "domain.xml")
        nvram = os.path.join(self.dir, "VARS.fd")
        guest_domain(self.config, self.name, self.kernel, self.initrd, nvram,
                     xml)
        if self.config.vars_template:
            shutil.copyfile(self.config.vars_template, nvram)
        self.libvirt.virsh("define", xml)
        try:
            with open(os.path.join(self.dir, "dumpxml.xml"), "w") as f:
                f.write(self.libvirt.virsh("dumpxml", self.name))
            argv = self.libvirt.virsh("domxml-to-native", "qemu-argv",
                                      "--domain", self.name)
        finally:
            self.libvirt.virsh("undefine", "--keep-nvram", self.name)
        args = os.path.join(self.dir, "qemu.args")
        with open(args, "w") as f:
            f.write(argv)
        return args, xml

    # -- QEMU -------------------------------------------------------------

    def command_line(self, args, xml):
        """libvirt's command line converted for the patched QEMU, with a
        backing file for one BAR of each stand-in."""
        features = qa.QemuFeatures(self.config.qemu)
        self.case = qa.Case(args, self.config.arch, features, self.sysfs,
                            qa.host_phys_bits(), self.dir,
                            qa.xml_bar_overrides(xml), qa.xml_bar_sizes(xml))
        argv = list(self.case.argv)
        for standin in self.case.standins:
            self.add_backing(argv, standin)
        with open(os.path.join(self.dir, "changes.txt"), "w") as f:
            f.write("\n".join(self.case.changes.lines) + "\n")
        return argv

    def add_backing(self, argv, standin):
        """Back the BAR at the highest address of a stand-in with a file
        holding the host's pattern."""
        bar, (addr, size, _) = max(standin["bars"].items(),
                                   key=lambda item: item[1][0])
        path = os.path.join(self.dir, "%s-bar%d.mem" % (standin["id"], bar))
        pattern = ("FB host @ 0x%016x" % addr).encode().ljust(
            8 * DATA_WORDS, b"\0")
        with open(path, "wb") as f:
            f.write(pattern)
            f.truncate(min(size, BACKING_SIZE))
        self.backing[standin["id"]] = (bar, path, words_of(pattern))
        memdev = "fbmem-" + standin["id"]
        obj = {"qom-type": "memory-backend-file", "id": memdev,
               "mem-path": path, "size": min(size, BACKING_SIZE),
               "share": True}
        for i, word in enumerate(argv):
            if word.startswith("{") and argv[i - 1] == "-device":
                dev = json.loads(word)
                if dev.get("id") == standin["id"]:
                    dev["memdev"] = memdev
                    dev["memdev-bar"] = bar
                    argv[i] = json.dumps(dev, separators=(",", ":"))
                    argv[i - 1:i - 1] = ["-object", json.dumps(
                        obj, separators=(",", ":"))]
                    break
        self.case.changes.add(
            "%s: BAR%d backed by %s" % (standin["id"], bar, path),
            why="the host side of the data-path check")

    def boot(self, argv):
        """Start QEMU, connect to the guest's console, let it run to its
        end; the console's text."""
        qmp_path = os.path.join(self.dir, "qmp.sock")
        argv = argv + ["-chardev", "socket,id=harness-qmp,path=" + qmp_path,
                       "-mon", "chardev=harness-qmp,mode=control"]
        with open(os.path.join(self.dir, "qemu.argv"), "w") as f:
            f.write(" ".join(shlex.quote(a) for a in argv) + "\n")
        listener = qa.listen(qmp_path)
        log = open(os.path.join(self.dir, "qemu.log"), "w")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        console = b""
        self.exit_status = None
        try:
            sock = qa.accept(listener, proc, 60)
            if sock is None:
                raise Failure("QEMU did not start: %s" % self.qemu_log())
            qmp = qa.Qmp(sock)
            ptys = [c["filename"][4:] for c in qmp.cmd("query-chardev")
                    if c["label"] == "charserial0"
                    and c["filename"].startswith("pty:")]
            if not ptys:
                raise Failure("no pty for the guest's serial console")
            fd = os.open(ptys[0], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                tty.setraw(fd)
                qmp.cmd("cont")
                deadline = time.monotonic() + BOOT_TIMEOUT
                while b"FB end" not in console and \
                        time.monotonic() < deadline:
                    if proc.poll() is not None:
                        self.exit_status = proc.returncode
                        break
                    ready, _, _ = select.select([fd], [], [], 0.5)
                    if ready:
                        try:
                            console += os.read(fd, 65536)
                        except OSError:
                            time.sleep(0.1)
            finally:
                os.close(fd)
            try:
                qmp.cmd("quit")
            except (RuntimeError, OSError):
                pass
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            listener.close()
            text = console.decode("utf-8", "replace").replace("\r", "")
            with open(os.path.join(self.dir, "console.log"), "w") as f:
                f.write(text)
        return text

    def qemu_log(self):
        with open(os.path.join(self.dir, "qemu.log")) as f:
            return f.read().strip()[-2000:]

    # -- checks -----------------------------------------------------------

    def execute(self):
        try:
            args, xml = self.libvirt_steps()
            argv = self.command_line(args, xml)
            self.guest = Guest(self.boot(argv))
            for standin_id, (_, path, _) in self.backing.items():
                with open(path, "rb") as f:
                    self.after[standin_id] = words_of(f.read(8 * DATA_WORDS))
            if self.exit_status is not None and not self.guest.ended:
                raise Failure("QEMU exited with status %d before the guest "
                              "finished (console: %s, log: %s)"
                              % (self.exit_status,
                                 os.path.join(self.dir, "console.log"),
                                 os.path.join(self.dir, "qemu.log")))
            if not self.guest.began:
                raise Failure("the guest's /init never ran (console: %s)"
                              % os.path.join(self.dir, "console.log"))
            if not self.guest.ended:
                raise Failure("the guest did not finish in %d s (console: %s)"
                              % (BOOT_TIMEOUT,
                                 os.path.join(self.dir, "console.log")))
            for line in self.guest.garbled:
                self.notes.append("a guest line kernel messages broke up: "
                                  + line)
            # libvirt's x-ea-barN-addr against the host's sysfs (or the
            # domain's <bar>, which qemuargs lists as "override")
            for mismatch in self.case.mismatches:
                if not mismatch.startswith("override "):
                    self.fail("addresses", "libvirt's address is not the "
                              "host's: " + mismatch)
            for standin in self.case.standins:
                self.check_standin(standin)
            self.check_topology()
        except (Failure, OSError, RuntimeError, subprocess.SubprocessError,
                SystemExit) as e:
            self.error = str(e)
            for c in COLUMNS:
                self.cells[c] = "ERROR"

    def guest_device(self, standin):
        """The guest's device whose EA entries are the stand-in's BARs."""
        want = {addr for addr, _, _ in standin["bars"].values()}
        for bdf, dev in sorted(self.guest.devices.items()):
            if not dev["config"]:
                continue
            _, entries, _ = qa.parse_ea(dev["config"])
            if {e["base"] for e in entries} == want:
                return bdf, dev, entries
        return None, None, None

    def check_standin(self, standin):
        sid = standin["id"]
        bdf, dev, entries = self.guest_device(standin)
        if bdf is None:
            for c in COLUMNS:
                self.fail(c, "%s: no guest device has EA entries at %s"
                          % (sid, ", ".join(qa.hexs(a) for a, _, _ in
                                            standin["bars"].values())))
            return
        who = "%s (%s, guest %s)" % (sid, standin["host"], bdf)
        self.check_ea(who, standin, entries)
        if any(dev["config"][0x10:0x28]):
            self.fail("BAR regs", "%s: BAR registers %s" % (
                who, dev["config"][0x10:0x28].hex()))
        for bar, (addr, size, _) in sorted(standin["bars"].items()):
            res = dev["res"].get(bar)
            if not res or res[:2] != (addr, addr + size - 1) or \
                    not res[2] & IORESOURCE_MEM:
                self.fail("addresses", "%s BAR%d: guest resource %s, host "
                          "address %s" % (who, bar, res and "%s-%s flags %s"
                                          % tuple(map(qa.hexs, res)),
                                          qa.hexs(addr)))
            self.check_window(who, bdf, bar, addr, size, standin["bus"])
        if not self.guest.enabled.get(bdf):
            self.fail("enable", "%s: writing 1 to enable failed" % who)
        elif not self.guest.command.get(bdf, 0) & qa.PCI_COMMAND_MEMORY:
            self.fail("enable", "%s: enabled, but Memory Space Enable is "
                      "clear" % who)
        for bar, (addr, _, _) in sorted(standin["bars"].items()):
            self.check_data(who, sid, bdf, bar, addr)

    def check_topology(self):
        """NCCL's path type between every two EA devices of one host root
        complex, derived from the guest's sysfs paths, is the one the
        host's give."""
        found = {}
        for standin in self.case.standins:
            bdf, _, _ = self.guest_device(standin)
            host = os.path.realpath(os.path.join(self.sysfs, standin["host"]))
            if bdf is not None and bdf in self.guest.paths:
                found[standin["id"]] = (standin["host"], host, bdf,
                                        self.guest.paths[bdf])
        for i, (sid, (host, hpath, bdf, gpath)) in enumerate(sorted(found.items())):
            for osid, (ohost, ohpath, obdf, ogpath) in sorted(found.items())[i + 1:]:
                if host_bridge(hpath) != host_bridge(ohpath):
                    continue
                want = nccl_path_type(hpath, ohpath)
                got = nccl_path_type(gpath, ogpath)
                what = ("%s (%s, guest %s) and %s (%s, guest %s): host %s, "
                        "guest %s" % (sid, host, bdf, osid, ohost, obdf,
                                      want, got))
                if got != want:
                    self.fail("topology", what)
                else:
                    self.topology.append(what)

    def check_ea(self, who, standin, entries):
        got = {e["bei"]: e for e in entries}
        for bar, (addr, size, kind) in sorted(standin["bars"].items()):
            e = got.pop(bar, None)
            pref = int(kind.endswith("-pref"))
            if e is None or (e["base"], e["size"], e["pp"]) != \
                    (addr, size, pref) or not e["enabled"] or e["writable"]:
                self.fail("EA cap", "%s BAR%d: entry %s, libvirt computed "
                          "base %s size %s %s" % (
                              who, bar, e, qa.hexs(addr), qa.hexs(size),
                              "prefetchable" if pref else
                              "non-prefetchable"))
        for bei in got:
            self.fail("EA cap", "%s: unexpected entry for BEI %d" % (who, bei))

    def pxb_bus(self, bus_id):
        """The bus number of the expander bus above bus bus_id."""
        parents = {bid: parent for bid, parent, _ in self.case.bridges}
        while bus_id in parents:
            bus_id = parents[bus_id]
        return self.case.pxbs.get(bus_id)

    def check_window(self, who, bdf, bar, addr, size, bus_id):
        """BAR at its address, in its bus's window, in the pxb's window."""
        domain, bus = bdf.split(":")[:2]
        chain = self.guest.iomem_chain(addr, addr + size - 1, bdf)
        if chain is None:
            self.fail("windows", "%s BAR%d: not in /proc/iomem at %s"
                      % (who, bar, qa.hexs(addr)))
            return
        own = "PCI Bus %s:%s" % (domain, bus)
        pxb = "PCI Bus %s:%02x" % (domain, self.pxb_bus(bus_id))
        names = [name for _, _, name in chain]
        if not names or names[0] != own:
            self.fail("windows", "%s BAR%d: in %s, not in the window of its "
                      "root port (%s)" % (who, bar,
                                          names[0] if names else "no window",
                                          own))
        elif pxb not in names[1:]:
            self.fail("windows", "%s BAR%d: %s is not inside the expander "
                      "bus's window (%s)" % (who, bar, own, pxb))
        else:
            # the window the guest set is one libvirt reserved
            start, end, _ = chain[0]
            if not any(base <= start and end < base + size
                       for base, size in self.case.fixed_mmio):
                self.fail("windows", "%s BAR%d: the window %s-%s of %s lies "
                          "in no x-fixed-mmio range" % (
                              who, bar, qa.hexs(start), qa.hexs(end), own))

    def check_data(self, who, sid, bdf, bar, addr):
        got = self.guest.mmap.get((bdf, bar))
        if not isinstance(got, dict):
            self.fail("data path", "%s BAR%d: fbmmap: %s" % (who, bar, got))
            return
        guest_pattern = "FB guest @ 0x%016x" % addr
        if text_of(got["wrote"]) != guest_pattern:
            self.fail("data path", "%s BAR%d: the guest's address is %r, the "
                      "host's %s" % (who, bar, text_of(got["wrote"]),
                                     qa.hexs(addr)))
        backed_bar, _, host_words = self.backing[sid]
        if bar == backed_bar:
            if got["read"] != host_words:
                self.fail("data path", "%s BAR%d: the guest read %r, the "
                          "host wrote %r" % (who, bar, text_of(got["read"]),
                                             text_of(host_words)))
            if self.after[sid] != got["wrote"]:
                self.fail("data path", "%s BAR%d: the host reads %r after "
                          "the guest wrote %r" % (who, bar,
                                                  text_of(self.after[sid]),
                                                  guest_pattern))
            return
        signature = [STANDIN_SIGNATURE | bar << 40 | 8 * i
                     for i in range(DATA_WORDS)]
        if got["read"] != signature or got["readback"] != signature:
            self.fail("data path", "%s BAR%d: read %s, readback %s, the "
                      "device answers %s" % (
                          who, bar, " ".join(map(qa.hexs, got["read"])),
                          " ".join(map(qa.hexs, got["readback"])),
                          " ".join(map(qa.hexs, signature))))

    # -- report -----------------------------------------------------------

    def show_device(self, out):
        """The guest's view of one stand-in: its /proc/iomem lines and the
        data-path check (make demo)."""
        if not self.guest or not self.case.standins:
            return
        standin = self.case.standins[0]
        bdf, _, _ = self.guest_device(standin)
        if bdf is None:
            return
        print("%s/%s: the changes made to libvirt's command line (besides "
              "the harness's QMP socket):" % (self.config.name,
                                             self.kernel_name), file=out)
        for line in self.case.changes.lines:
            print(line, file=out)
        print("%s (host %s) is %s in the guest. Its BARs in the guest's "
              "/proc/iomem, with the windows around them:" % (
                  standin["id"], standin["host"], bdf), file=out)
        show = set()
        for addr, size, _ in standin["bars"].values():
            chain = self.guest.iomem_chain(addr, addr + size - 1, bdf) or []
            show.add((addr, addr + size - 1, bdf))
            show.update(chain)
        for depth, start, end, name in self.guest.iomem:
            if (start, end, name) in show:
                print("    %s%x-%x : %s" % ("  " * depth, start, end, name),
                      file=out)
        print("Data path (guest: mmap of sysfs resourceN; host: the BAR's "
              "backing file):", file=out)
        backed_bar, path, host_words = self.backing[standin["id"]]
        for bar, (addr, _, _) in sorted(standin["bars"].items()):
            got = self.guest.mmap.get((bdf, bar))
            if not isinstance(got, dict):
                print("    BAR%d: %s" % (bar, got), file=out)
            elif bar == backed_bar:
                print("    BAR%d at %s: the host wrote %r, the guest read %r;"
                      % (bar, qa.hexs(addr), text_of(host_words),
                         text_of(got["read"])), file=out)
                print("    %s the guest wrote %r, the host read %r in %s"
                      % (" " * len("BAR%d at %s:" % (bar, qa.hexs(addr))),
                         text_of(got["wrote"]),
                         text_of(self.after[standin["id"]]), path), file=out)
            else:
                print("    BAR%d at %s: the guest read %s (pci-standin's "
                      "signature of BAR%d, offset 0)" % (
                          bar, qa.hexs(addr), qa.hexs(got["read"][0]), bar),
                      file=out)


def print_table(runs, out):
    widths = [max(len("configuration"), *(len(r.config.name) for r in runs)),
              len("firmware"), len("patched")]
    head = ["configuration", "firmware", "kernel"] + list(COLUMNS)
    widths += [max(len(c), 6) for c in COLUMNS]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)), file=out)
    for r in runs:
        cells = []
        for c in COLUMNS:
            cell = r.cells[c]
            if c in r.unexpected():
                cell += "!"
            cells.append(cell)
        row = [r.config.name, r.config.firmware, r.kernel_name] + cells
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)), file=out)
    print("(cells marked ! are unexpected; the stock kernel must fail %s on "
          "x86_64 and %s on aarch64)" % (
              ", ".join(STOCK_FAILS["x86_64"]),
              ", ".join(STOCK_FAILS["aarch64"])), file=out)


def parse_options():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--guest-dir", required=True,
                        help="the guest's initramfs and the stock kernels "
                             "(tooling/e2e.sh)")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--only", action="append", default=[],
                        help="CONFIG or CONFIG/KERNEL (repeatable)")
    parser.add_argument("--domain",
                        help="boot this domain XML instead of the "
                             "configuration's (with --only)")
    parser.add_argument("--show", action="store_true",
                        help="print the guest's view of one device")
    return parser.parse_args()


def selected(opts, config, kernel):
    if not opts.only:
        return True
    return config.name in opts.only or \
        "%s/%s" % (config.name, kernel) in opts.only


def main():
    opts = parse_options()
    shutil.rmtree(opts.workdir, ignore_errors=True)
    os.makedirs(opts.workdir)
    libvirt = Libvirt(opts.workdir)
    sysfs = qa.build_fake_sysfs(opts.workdir)
    runs = []
    for config in CONFIGS:
        if opts.domain:
            config.domain = opts.domain
        for kernel in ("patched", "stock"):
            if not selected(opts, config, kernel):
                continue
            if kernel == "patched":
                image = os.path.join(LINUX_BUILD, PATCHED_IMAGES[config.arch])
            else:
                image = os.path.join(opts.guest_dir, "stock",
                                     "vmlinuz-" + config.arch)
            initrd = os.path.join(opts.guest_dir, config.arch,
                                  "initramfs.cpio.gz")
            run = Run(config, kernel, image, initrd, libvirt, sysfs,
                      opts.workdir)
            start = time.monotonic()
            run.execute()
            runs.append(run)
            status = "FAIL" if run.unexpected() else "ok"
            print("%s e2e/%s/%s (%.0f s)" % (status, config.name, kernel,
                                             time.monotonic() - start))
            if run.error:
                print("    error: %s" % run.error)
            for note in run.notes:
                print("    %s%s" % (note, "" if status == "FAIL" or
                                    kernel == "patched" else
                                    " (expected)"))
            for what in run.topology:
                print("    topology: NCCL path type of %s" % what)
            sys.stdout.flush()
    print()
    print_table(runs, sys.stdout)
    if opts.show:
        for run in runs:
            print()
            run.show_device(sys.stdout)
    failed = sum(1 for r in runs if r.unexpected())
    print("e2e: %d passed, %d failed" % (len(runs) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
