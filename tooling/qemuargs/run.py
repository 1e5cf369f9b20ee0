#!/usr/bin/python3
"""Run libvirt's <fixedBar> QEMU command lines in the patched QEMU under TCG.

For every positive fixedBar test output of libvirt
(tests/qemuxmlconfdata/hostdev-pci-fixedbar-*.{x86_64,aarch64}-latest.args
that use "x-ea"), this harness

1. converts the command line for a run without host devices: the
   environment prefix and libvirt's monitor and master-key secret go, the
   harness's own QMP and qtest sockets come in, each vfio-pci device becomes
   a pci-standin with the same id, bus, addr and x-ea properties and the
   BAR layout of the fake host device (the sysfs 'resource' file that
   libvirt's tests/libvirpcimock.so builds), and whatever this QEMU build or
   this host lacks is substituted minimally.  Every change is printed;
   everything not listed is passed on unchanged;
2. starts QEMU under TCG with firmware (SeaBIOS, and OVMF for the main
   cases, on x86_64; AAVMF, given by the .args, on aarch64), without a guest
   kernel, and waits (bounded) until firmware has enumerated PCI;
3. stops the guest and reads what firmware left, through qtest (ECAM config
   reads, fw_cfg) and QMP (query-pci, info mtree), and checks per EA device:
   the EA capability, the BAR registers, the bus numbers against libvirt's
   plan, the BAR mappings in the memory tree, the reservation of the
   x-fixed-mmio ranges (E820 and etc/reserved-memory-end on x86, the
   PCI MMIO aliases on virt), that no firmware-assigned resource
   overlaps them, and that the ACPI tables QEMU built (fw_cfg
   etc/acpi/tables) give each EA BAR to the _CRS of its expander bus only;
4. prints one row per (args file, firmware) and exits non-zero if a check
   fails or QEMU refuses to start;
5. runs three command lines that QEMU must refuse (--negative, on by
   default) and checks the error message.

With --argv FILE it does steps 1-4 for one command line ('virsh
domxml-to-native qemu-argv' output, the host devices from the same fake
sysfs) with the firmware --firmware names, and prints every detail.

Usage:  /usr/bin/python3 tooling/qemuargs/run.py [--only NAME] [-v]
        /usr/bin/python3 tooling/qemuargs/run.py --argv FILE
                         [--firmware seabios,ovmf] [--xml DOMAIN-XML]
See --help for the options (QEMU binaries, firmware, timeouts).
"""

import argparse
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DATA_DIR = os.path.join(TOP, "tree", "tests", "qemuxmlconfdata")
PCIMOCK = os.path.join(TOP, "tree", "build", "tests", "libvirpcimock.so")
QEMU_BUILD = os.path.join(TOP, "tree-qemu", "build")

# x86 firmware blobs QEMU loads by itself, and where Debian installs them
X86_BLOBS = ("bios-256k.bin", "kvmvapic.bin")
X86_BLOB_DIRS = ("/usr/share/seabios", "/usr/lib/ipxe/qemu", "/usr/share/qemu")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
AAVMF_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"
VARS_TEMPLATES = {"x86_64": OVMF_VARS, "aarch64": AAVMF_VARS}

# The firmware --argv runs a command line with, by default all of them
ARGV_FIRMWARES = {"x86_64": ("seabios", "ovmf"), "aarch64": ("aavmf",)}

# The cases also run with OVMF (all x86 cases run with SeaBIOS)
OVMF_CASES = ("intel-guest", "place-iommu-group", "place-root-complexes",
              "q35", "switch-nested", "switch-multifunction", "switch")

# Serial console lines that firmware prints once PCI enumeration is over
FIRMWARE_DONE = {
    "seabios": ("No bootable device", "Booting from"),
    "ovmf": ("BdsDxe:", "Shell>"),
    "aavmf": ("BdsDxe:", "Shell>"),
}

# sysfs 'resource' flags (include/linux/ioport.h)
IORESOURCE_IO = 0x100
IORESOURCE_MEM = 0x200
IORESOURCE_PREFETCH = 0x2000
IORESOURCE_MEM_64 = 0x100000

# PCI config space (include/uapi/linux/pci_regs.h)
PCI_COMMAND = 0x04
PCI_COMMAND_MEMORY = 0x2
PCI_BASE_ADDRESS_0 = 0x10
PCI_ROM_ADDRESS = 0x30
PCI_CAPABILITY_LIST = 0x34
PCI_STATUS = 0x06
PCI_STATUS_CAP_LIST = 0x10
PCI_CAP_ID_EA = 0x14
PCI_EA_ES = 0x7
PCI_EA_BEI = 0xf0
PCI_EA_PP = 0xff00
PCI_EA_SP = 0xff0000
PCI_EA_WRITABLE = 0x40000000
PCI_EA_ENABLE = 0x80000000
PCI_EA_IS_64 = 0x2
PCI_EA_FIELD_MASK = 0xfffffffc
PCI_EA_P_MEM = 0x00
PCI_EA_P_MEM_PREFETCH = 0x01

# Seconds a QMP or qtest reply may take before the run is given up
IO_TIMEOUT = 60
# qtest commands sent before their replies are read
QTEST_CHUNK = 1024

FW_CFG_PORT_SEL = 0x510
FW_CFG_PORT_DATA = 0x511
FW_CFG_FILE_DIR = 0x19
E820_RESERVED = 2
E820_TYPES = {1: "RAM", 2: "reserved", 3: "ACPI", 4: "NVS", 5: "unusable"}
GiB = 1 << 30
FOUR_GIB = 4 * GiB

COLUMNS = ("EA cap", "BAR regs", "bus nrs", "mtree", "reserved", "overlap",
           "windows", "_CRS")

# ACPI resource descriptors (ACPI 6.5, 6.4): large items by tag byte
ACPI_LARGE_ITEMS = {0x81: "Memory24", 0x85: "Memory32",
                    0x86: "Memory32Fixed", 0x87: "DWord", 0x88: "Word",
                    0x89: "ExtendedIRQ", 0x8a: "QWord", 0x8b: "Extended"}
# small items by item name (bits 6-3 of the tag byte)
ACPI_SMALL_ITEMS = {0x4: "IRQ", 0x5: "DMA", 0x8: "IO", 0x9: "FixedIO"}
ACPI_END_TAG = 0xf
# address space descriptors: where min and max are, and their size
ACPI_ADDRESS_FIELDS = {"Word": (8, 2), "DWord": (10, 4), "QWord": (14, 8)}
ACPI_SPACES = {0: "Memory", 1: "IO", 2: "BusNumber"}
# memory type-specific flags, bits 2-1 (_MEM)
ACPI_MEM_TYPES = ("non-cacheable", "cacheable", "write-combining",
                  "prefetchable")
AML_NAME_OP = 0x08
AML_BUFFER_OP = 0x11
AML_SCOPE_OP = 0x10
AML_DEVICE_OP = b"\x5b\x82"
ACPI_HEADER_SIZE = 36

# BAR layouts for pci-standin replacing a PCI device this QEMU build lacks,
# after QEMU's own device (hw/usb/hcd-xhci-pci.c, hw/virtio/virtio-pci.c
# with modern BAR 4 and MSI-X BAR 1, hw/display/virtio-vga.c,
# hw/audio/intel-hda.c); the stand-in keeps the device's place in the
# topology and its demand for MMIO space.
STANDIN_LAYOUTS = {
    "qemu-xhci": {0: (16 << 10, "mem64")},
    "virtio-pci": {1: (4 << 10, "mem32"), 4: (16 << 10, "mem64-pref")},
    "virtio-vga": {0: (16 << 20, "mem32-pref"), 2: (16 << 10, "mem64-pref"),
                   4: (4 << 10, "mem32")},
    "ich9-intel-hda": {0: (16 << 10, "mem32")},
}
# Devices that provide a PCI bus
PCI_BUS_DRIVERS = ("pxb-pcie", "pcie-root-port", "x3130-upstream",
                   "xio3130-downstream", "pcie-pci-bridge", "pci-bridge")
# -device properties a stand-in keeps
STANDIN_KEEP = ("id", "bus", "addr", "multifunction")


def hexs(value):
    """Format an address or size as hexadecimal."""
    return "0x%x" % value


class Change:
    """Collects the changes made to one command line, for printing."""

    def __init__(self):
        self.lines = []

    def add(self, what, old=None, new=None, why=None):
        """Record one change: what was changed, from what to what, and why."""
        text = "  * " + what
        if why:
            text += " (%s)" % why
        if old is not None:
            text += "\n      - " + old
        if new is not None:
            text += "\n      + " + new
        self.lines.append(text)


# ---------------------------------------------------------------- fixtures

def build_fake_sysfs(workdir):
    """Let libvirt's PCI mock build its fake sysfs below workdir; return
    the path of its /sys/bus/pci/devices."""
    root = os.path.join(workdir, "fakeroot")
    os.makedirs(root)
    env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": PCIMOCK,
           "LIBVIRT_FAKE_ROOT_DIR": root}
    # The mock builds its tree on the first call it intercepts (access()).
    subprocess.run([sys.executable, "-c",
                    "import os; os.access('/sys/bus/pci/devices', os.F_OK)"],
                   env=env, check=True)
    devices = os.path.join(root, "sys", "bus", "pci", "devices")
    if not os.path.isdir(devices):
        raise SystemExit("%s built no fake sysfs in %s" % (PCIMOCK, root))
    return devices


def parse_resource(text):
    """Parse a sysfs 'resource' file into {BAR: (start, size, type)} for
    BARs 0-5, type being a pci-standin barN-type."""
    bars = {}
    for index, line in enumerate(text.splitlines()[:6]):
        start, end, flags = (int(field, 16) for field in line.split())
        if not flags & (IORESOURCE_IO | IORESOURCE_MEM):
            continue
        size = end - start + 1
        if flags & IORESOURCE_IO:
            kind = "io"
        else:
            kind = "mem64" if flags & IORESOURCE_MEM_64 else "mem32"
            if flags & IORESOURCE_PREFETCH:
                kind += "-pref"
        bars[index] = (start, size, kind)
    return bars


def host_memory():
    """This host's memory in bytes (MemTotal)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no MemTotal in /proc/meminfo")


def xml_bar_attribute(path, attribute):
    """The <bar index ATTRIBUTE> of every host device in a domain XML:
    {host BDF: {BAR: value}}."""
    tree = ET.parse(path)
    values = {}
    for dev in tree.iter():
        if dev.tag not in ("hostdev", "interface"):
            continue
        addr = dev.find("source/address")
        if addr is None or addr.get("domain") is None:
            continue
        bdf = "%04x:%02x:%02x.%x" % tuple(
            int(addr.get(k), 16)
            for k in ("domain", "bus", "slot", "function"))
        values[bdf] = {int(bar.get("index")): int(bar.get(attribute), 16)
                       for bar in dev.findall("fixedBar/bar")
                       if bar.get(attribute)}
    return values


def xml_bar_overrides(path):
    """<bar index address> of every host device in a domain XML:
    {host BDF: {BAR: address}}."""
    return xml_bar_attribute(path, "address")


def xml_bar_sizes(path):
    """<bar index size> of every host device in a domain XML: {host BDF:
    {BAR: size}}, the BARs a VFIO variant driver emulates."""
    return xml_bar_attribute(path, "size")


# ------------------------------------------------------------ command line

def read_args_file(path):
    """Split a .args file into (environment assignments, argv)."""
    with open(path) as f:
        words = shlex.split(f.read().replace("\\\n", " "))
    env = []
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        env.append(words.pop(0))
    return env, words


def option_pairs(argv):
    """Group argv[1:] into (option, value or None) pairs."""
    pairs = []
    i = 1
    while i < len(argv):
        if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            pairs.append((argv[i], argv[i + 1]))
            i += 2
        else:
            pairs.append((argv[i], None))
            i += 1
    return pairs


def show(opt, val):
    """An option as it would be written on a shell command line."""
    return opt if val is None else "%s %s" % (opt, shlex.quote(val))


class QemuFeatures:
    """What a QEMU binary supports, probed once."""

    def __init__(self, binary):
        if not os.access(binary, os.X_OK):
            raise SystemExit("QEMU binary %s is missing (build it first, or "
                             "give --qemu-x86_64/--qemu-aarch64)" % binary)
        self.binary = binary
        out = subprocess.run([binary, "-device", "help"], capture_output=True,
                             text=True, check=False).stdout
        self.devices = set(re.findall(r'^name "([^"]+)"', out, re.M))
        self.sandbox = self.accepts(["-sandbox", "on"])
        self.numa_binding = self.accepts(
            ["-object", "memory-backend-ram,id=m,size=1M,host-nodes=0,"
             "policy=bind"])
        out = subprocess.run([binary, "-L", "help"], capture_output=True,
                             text=True, check=False).stdout
        self.data_dirs = out.split()

    def accepts(self, extra):
        """Whether QEMU starts with the options extra (machine none)."""
        proc = subprocess.run(
            [self.binary, "-M", "none", "-display", "none", "-nodefaults",
             "-qmp", "stdio"] + extra,
            input='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
            capture_output=True, text=True, timeout=30, check=False)
        return proc.returncode == 0

    def missing_blobs(self, names):
        """Those of names that QEMU finds in none of its data directories."""
        return [n for n in names
                if not any(os.path.exists(os.path.join(d, n))
                           for d in self.data_dirs)]


def x86_blob_dirs(features):
    """The -L directories QEMU needs for its x86 blobs (none if it finds
    them by itself)."""
    return X86_BLOB_DIRS if features.missing_blobs(X86_BLOBS) else ()


class Case:
    """One .args file, converted for a run of the patched QEMU."""

    def __init__(self, path, arch, features, sysfs, host_phys_bits, workdir,
                 overrides, sizes=None):
        self.path = path
        self.name = os.path.basename(path).split(".")[0]
        self.short = self.name.replace("hostdev-pci-fixedbar-", "")
        self.arch = arch
        self.features = features
        self.sysfs = sysfs
        self.host_phys_bits = host_phys_bits
        self.workdir = workdir
        self.overrides = overrides  # {host BDF: {BAR: <bar> address}}
        self.sizes = sizes or {}    # {host BDF: {BAR: <bar> size}}
        self.changes = Change()
        self.standins = []      # dicts: id, host, bus, addr, bars
        self.pxbs = {}          # id -> bus_nr
        self.bridges = []       # (id, parent bus id, addr) of PCI bridges
        self.fixed_mmio = []    # (base, size)
        self.pci_buses = {"pcie.0", "pci.0"}
        self.mismatches = []
        self.addresses = []     # x-ea-barN-addr that match, for -v
        self.env, argv = read_args_file(path)
        self.argv = self.convert(argv)

    # -- conversion ------------------------------------------------------

    def convert(self, argv):
        """Convert libvirt's argv; record every change."""
        if self.env:
            self.changes.add("dropped the environment prefix",
                             old=" ".join(self.env))
        if argv[0] != self.features.binary:
            self.changes.add("emulator", old=argv[0],
                             new=self.features.binary)
        replaced = self.replaced_device_ids(argv)
        out = [self.features.binary]
        pairs = option_pairs(argv)
        skip_mon = False
        for opt, val in pairs:
            new = self.convert_option(opt, val, replaced)
            if new is None and opt == "-chardev" and "id=charmonitor" in val:
                skip_mon = True
            if opt == "-mon" and skip_mon and "chardev=charmonitor" in val:
                self.changes.add("dropped libvirt's monitor",
                                 old=show(opt, val),
                                 why="replaced by the harness's QMP socket")
                continue
            if new is None:
                continue
            for nopt, nval in new:
                out.append(nopt)
                if nval is not None:
                    out.append(nval)
        return out

    def replaced_device_ids(self, argv):
        """Ids of the devices this QEMU build lacks; also collects the ids
        of the PCI buses (root buses, expander buses, bridges)."""
        ids = set()
        for opt, val in option_pairs(argv):
            if opt == "-device" and val.startswith("{"):
                dev = json.loads(val)
                if dev["driver"] in PCI_BUS_DRIVERS:
                    self.pci_buses.add(dev["id"])
                if (dev["driver"] not in self.features.devices
                        and dev["driver"] != "vfio-pci"):
                    ids.add(dev.get("id"))
        return ids

    def convert_option(self, opt, val, replaced):
        """Convert one option: None to drop it, else [(opt, val), ...]."""
        keep = [(opt, val)]
        if opt == "-object" and val.startswith("{"):
            return self.convert_object(opt, val)
        if opt == "-chardev" and val and "id=charmonitor" in val:
            self.changes.add("dropped libvirt's monitor chardev",
                             old=show(opt, val),
                             why="libvirt's own monitor connection; "
                                 "replaced by the harness's QMP socket")
            return None
        if opt == "-accel" and val == "kvm":
            self.changes.add("accelerator", old=show(opt, val),
                             new=show(opt, "tcg"), why="no KVM in this test")
            return [(opt, "tcg")]
        if opt == "-cpu":
            return self.convert_cpu(opt, val)
        if opt == "-sandbox" and not self.features.sandbox:
            self.changes.add("dropped -sandbox", old=show(opt, val),
                             why="this QEMU build has no seccomp support")
            return None
        if opt == "-machine":
            self.parse_machine(val)
        if opt == "-netdev":
            return self.convert_netdev(opt, val, replaced)
        if opt == "-blockdev":
            return self.convert_blockdev(opt, val)
        if opt == "-device" and val.startswith("{"):
            return self.convert_device(opt, val, replaced)
        return keep

    def parse_machine(self, val):
        """Collect the x-fixed-mmio ranges of -machine."""
        ranges = {}
        for item in val.split(","):
            m = re.match(r"x-fixed-mmio\.(\d+)\.(base|size)=(\S+)", item)
            if m:
                ranges.setdefault(int(m.group(1)), {})[m.group(2)] = \
                    int(m.group(3), 0)
        self.fixed_mmio = [(r["base"], r["size"])
                           for _, r in sorted(ranges.items())]

    def convert_object(self, opt, val):
        """Drop the master-key secret; drop NUMA binding if unsupported;
        guest RAM larger than this host's is not reserved."""
        obj = json.loads(val)
        if obj["qom-type"] == "secret" and obj["id"] == "masterKey0":
            self.changes.add("dropped libvirt's master-key secret",
                             old=show(opt, val),
                             why="%s does not exist" % obj["file"])
            return None
        if (obj["qom-type"].startswith("memory-backend-")
                and obj.get("size", 0) > host_memory()):
            obj["reserve"] = False
            new = json.dumps(obj, separators=(",", ":"))
            self.changes.add("guest RAM %s not reserved" % obj["id"],
                             old=show(opt, val), new=show(opt, new),
                             why="more than this host's %s of memory: the "
                                 "test is about where RAM lies, and "
                                 "firmware touches only its start"
                                 % hexs(host_memory()))
            val = new
        binding = [k for k in ("host-nodes", "policy") if k in obj]
        if binding and not self.features.numa_binding:
            for k in binding:
                del obj[k]
            new = json.dumps(obj, separators=(",", ":"))
            self.changes.add("dropped %s of %s" % ("/".join(binding),
                                                   obj["id"]),
                             old=show(opt, val), new=show(opt, new),
                             why="this QEMU build has no NUMA binding "
                                 "support")
            return [(opt, new)]
        return [(opt, val)]

    def convert_cpu(self, opt, val):
        """-cpu host needs KVM: use max, with the phys-bits host-phys-bits
        would give."""
        items = val.split(",")
        if items[0] != "host":
            return [(opt, val)]
        items[0] = "max"
        if self.arch == "x86_64":
            items = ["phys-bits=%d" % self.host_phys_bits
                     if i == "host-phys-bits=on" else i for i in items]
        new = ",".join(items)
        self.changes.add("CPU model", old=show(opt, val), new=show(opt, new),
                         why="'host' needs KVM; host-phys-bits=on becomes "
                             "this host's phys-bits (%d)" % self.host_phys_bits
                         if "host-phys-bits=on" in val else "'host' needs KVM")
        return [(opt, new)]

    def convert_netdev(self, opt, val, replaced):
        """A netdev of a replaced NIC has no user; its tap fd does not
        exist here."""
        netdev = json.loads(val)
        users = [i for i in replaced if i and i.startswith("net")
                 and netdev["id"] == "host" + i]
        if users:
            self.changes.add("dropped netdev %s" % netdev["id"],
                             old=show(opt, val),
                             why="tap fd %s passed by libvirt does not exist, "
                                 "and its NIC %s is replaced"
                                 % (netdev.get("fd"), users[0]))
            return None
        return [(opt, val)]

    def convert_blockdev(self, opt, val):
        """A file the test suite names but this host lacks: a copy of the
        firmware variable template for *_VARS.fd, else an empty file."""
        node = json.loads(val)
        if node.get("driver") != "file" or os.path.exists(node["filename"]):
            return [(opt, val)]
        old_file = node["filename"]
        subst = os.path.join(self.workdir, os.path.basename(old_file))
        if old_file.endswith("_VARS.fd"):
            shutil.copyfile(VARS_TEMPLATES[self.arch], subst)
            what = "a copy of " + VARS_TEMPLATES[self.arch]
        else:
            with open(subst, "wb") as f:
                f.truncate(1 << 20)
            what = "an empty 1 MiB file"
        node["filename"] = subst
        new = json.dumps(node, separators=(",", ":"))
        self.changes.add("file %s does not exist: %s" % (old_file, what),
                         old=show(opt, val), new=show(opt, new))
        return [(opt, new)]

    def convert_device(self, opt, val, replaced):
        """vfio-pci -> pci-standin with the fake host device's BARs; PCI
        devices this build lacks -> pci-standin; their child devices go."""
        dev = json.loads(val)
        driver = dev["driver"]
        if driver == "pxb-pcie":
            self.pxbs[dev["id"]] = dev["bus_nr"]
        if driver in PCI_BUS_DRIVERS and driver != "pxb-pcie":
            self.bridges.append((dev["id"], dev["bus"], dev.get("addr", "")))
        if driver == "vfio-pci":
            new = self.standin_for_vfio(dev)
        elif driver in self.features.devices:
            return [(opt, val)]
        elif dev.get("bus") not in self.pci_buses:
            owner = dev.get("bus", "").rsplit(".", 1)[0]
            self.changes.add("dropped %s" % dev.get("id", driver),
                             old=show(opt, val),
                             why="%s is not in this QEMU build; not a PCI "
                                 "device (bus %s%s)"
                                 % (driver, dev.get("bus"),
                                    ", of replaced device " + owner
                                    if owner in replaced else ""))
            return None
        else:
            new = self.standin_for_missing(dev)
        new_val = json.dumps(new, separators=(",", ":"))
        return [(opt, new_val)]

    def standin_for_vfio(self, dev):
        """The pci-standin replacing one vfio-pci device."""
        host = dev["host"]
        with open(os.path.join(self.sysfs, host, "resource")) as f:
            bars = parse_resource(f.read())
        overrides = self.overrides.get(host, {})
        # a BAR of the size the XML gives, as the VFIO variant driver
        # emulates it: 64-bit prefetchable where the host has none
        for index, size in self.sizes.get(host, {}).items():
            kind = bars[index][2] if index in bars else "mem64-pref"
            bars[index] = (0, size, kind)
        new = {"driver": "pci-standin"}
        layout = []
        for key in ("id", "bus", "addr", "multifunction"):
            if key in dev:
                new[key] = dev[key]
        for index, (start, size, kind) in sorted(bars.items()):
            new["bar%d-size" % index] = size
            new["bar%d-type" % index] = kind
            layout.append("BAR%d %s %s" % (index, kind, hexs(size)))
        ea_addrs = {}
        for key, value in dev.items():
            m = re.match(r"x-ea-bar(\d)-addr$", key)
            if key == "x-ea" or m or re.match(r"x-ea-bar\d-size$", key):
                new[key] = value
            if m:
                ea_addrs[int(m.group(1))] = value
        for key in dev:
            if key not in new and key not in ("driver", "host", "rombar",
                                              "x-nv-gpudirect-clique"):
                raise SystemExit("%s: unexpected vfio-pci property %s"
                                 % (self.name, key))
        self.check_addresses(host, bars, ea_addrs, overrides)
        self.standins.append({"id": dev["id"], "host": host,
                              "bus": dev["bus"], "addr": dev["addr"],
                              "bars": {i: (ea_addrs[i], bars[i][1],
                                           bars[i][2])
                                       for i in ea_addrs}})
        self.changes.add(
            "vfio-pci %s -> pci-standin" % dev["id"],
            old=show("-device", json.dumps(dev, separators=(",", ":"))),
            new=show("-device", json.dumps(new, separators=(",", ":"))),
            why="BARs of host %s from the fake sysfs: %s; rombar dropped: "
                "pci-standin has no ROM (checked at run time)%s"
                % (host, ", ".join(layout),
                   "; x-nv-gpudirect-clique dropped: it is vfio-pci's, for "
                   "NVIDIA GPUs" if "x-nv-gpudirect-clique" in dev else ""))
        return new

    def check_addresses(self, host, bars, ea_addrs, overrides):
        """Cross-check x-ea-barN-addr against the sysfs start (or the XML
        <bar> override)."""
        for index, (start, _, kind) in sorted(bars.items()):
            if kind == "io":
                if index in ea_addrs:
                    self.mismatches.append("%s BAR%d is I/O but has an EA "
                                           "address" % (host, index))
                continue
            if index not in ea_addrs:
                self.mismatches.append("%s BAR%d has no x-ea-bar%d-addr"
                                       % (host, index, index))
                continue
            want = overrides.get(index, start)
            source = "<bar> in the XML" if index in overrides else "sysfs"
            note = "%s BAR%d: x-ea-bar%d-addr %s, %s %s" % (
                host, index, index, hexs(ea_addrs[index]), source, hexs(want))
            if ea_addrs[index] != want:
                self.mismatches.append("MISMATCH " + note)
            elif index in overrides and start != want:
                self.mismatches.append("override (sysfs %s) %s"
                                       % (hexs(start), note))
            else:
                self.addresses.append(note)

    def standin_for_missing(self, dev):
        """A pci-standin for a PCI device this QEMU build lacks."""
        driver = dev["driver"]
        family = "virtio-pci" if (driver.startswith("virtio-")
                                  and driver.endswith("-pci")) else driver
        if family not in STANDIN_LAYOUTS:
            raise SystemExit("%s: device %s is not in this QEMU build and "
                             "has no stand-in layout" % (self.name, driver))
        new = {"driver": "pci-standin"}
        new.update((k, dev[k]) for k in STANDIN_KEEP if k in dev)
        for index, (size, kind) in sorted(STANDIN_LAYOUTS[family].items()):
            new["bar%d-size" % index] = size
            new["bar%d-type" % index] = kind
        dropped = sorted(k for k in dev if k not in STANDIN_KEEP
                         and k != "driver")
        self.changes.add(
            "%s %s -> pci-standin" % (driver, dev.get("id")),
            old=show("-device", json.dumps(dev, separators=(",", ":"))),
            new=show("-device", json.dumps(new, separators=(",", ":"))),
            why="%s is not in this QEMU build; BARs like QEMU's %s%s"
                % (driver, driver,
                   "; dropped " + ", ".join(dropped) if dropped else ""))
        return new

    # -- firmware --------------------------------------------------------

    def firmware_args(self, firmware, run_dir):
        """Options added for firmware and its serial console."""
        serial = os.path.join(run_dir, "serial.log")
        add = [("-serial", "file:" + serial)]
        why = {"-serial": "firmware console, to see its progress"}
        if self.arch == "x86_64":
            add += [("-L", d) for d in x86_blob_dirs(self.features)]
            why["-L"] = ("Debian's firmware directories: QEMU finds %s in "
                         "none of its own (%s)"
                         % (", ".join(self.features.missing_blobs(X86_BLOBS)),
                            " ".join(self.features.data_dirs)))
        if firmware == "seabios":
            port = os.path.join(run_dir, "sercon-port")
            with open(port, "wb") as f:
                f.write((0x3f8).to_bytes(2, "little"))
            add.append(("-fw_cfg", "name=etc/sercon-port,file=" + port))
            why["-fw_cfg"] = "SeaBIOS console on the serial port"
        elif firmware == "ovmf":
            vars_copy = os.path.join(run_dir, "OVMF_VARS.fd")
            shutil.copyfile(OVMF_VARS, vars_copy)
            add.append(("-drive", "if=pflash,format=raw,unit=0,readonly=on,"
                        "file=" + OVMF_CODE))
            add.append(("-drive", "if=pflash,format=raw,unit=1,file="
                        + vars_copy))
            why["-drive"] = "OVMF as pflash, with a copy of its variables"
        return add, why, serial

    # -- libvirt's bus number plan ---------------------------------------

    def bus_plan(self):
        """The secondary bus number firmware should give every bridge below
        an expander bus: counting from its busNr, depth first, in slot
        order.  {bridge id: bus number}."""
        def addr_key(addr):
            """Sort key of a -device addr "0xS[.0xF]"."""
            slot, _, func = addr.partition(".")
            return (int(slot, 16) if slot else 0, int(func, 16) if func else 0)

        plan = {}

        def number(bus_id, next_nr):
            """Number the bridges below bus_id from next_nr; return the
            next free number."""
            children = sorted((b for b in self.bridges if b[1] == bus_id),
                              key=lambda b: addr_key(b[2]))
            for child_id, _, _ in children:
                plan[child_id] = next_nr
                next_nr = number(child_id, next_nr + 1)
            return next_nr

        for pxb_id, bus_nr in self.pxbs.items():
            number(pxb_id, bus_nr + 1)
        return plan

    def pxb_above(self, bus_id):
        """The id of the expander bus above bus_id, through bridges, or
        None if it is not below one."""
        parents = {bridge_id: parent for bridge_id, parent, _ in self.bridges}
        while bus_id in parents:
            bus_id = parents[bus_id]
        return bus_id if bus_id in self.pxbs else None


# ------------------------------------------------------------------- QEMU

class Qmp:
    """A minimal QMP client on an accepted socket."""

    def __init__(self, sock):
        self.file = sock.makefile("rw")
        self.read_reply()       # greeting
        self.cmd("qmp_capabilities")

    def read_reply(self):
        """The next non-event message."""
        while True:
            line = self.file.readline()
            if not line:
                raise RuntimeError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        """Run a QMP command; return its result or raise on error."""
        self.file.write(json.dumps({"execute": name, "arguments": args})
                        + "\n")
        self.file.flush()
        reply = self.read_reply()
        if "error" in reply:
            raise RuntimeError("QMP %s: %s" % (name, reply["error"]["desc"]))
        return reply["return"]

    def hmp(self, line):
        """Run an HMP command through QMP."""
        return self.cmd("human-monitor-command", **{"command-line": line})


class Qtest:
    """A qtest protocol client; commands are pipelined in batches."""

    def __init__(self, sock):
        self.file = sock.makefile("rw")
        # (selector, data) MMIO addresses of fw_cfg; None: x86 I/O ports
        self.fw_cfg_mmio = None

    def batch(self, commands):
        """Send commands, return the value of each reply (None for OK).
        They go in chunks, whose replies are read before the next chunk:
        QEMU stops reading commands while its replies fill the socket."""
        values = []
        for first in range(0, len(commands), QTEST_CHUNK):
            chunk = commands[first:first + QTEST_CHUNK]
            self.file.write("".join(c + "\n" for c in chunk))
            self.file.flush()
            for command in chunk:
                reply = self.file.readline().split()
                if not reply or reply[0] != "OK":
                    raise RuntimeError("qtest %s: %s" % (command, reply))
                values.append(int(reply[1], 16) if len(reply) > 1 else None)
        return values

    def read_config(self, ecam, bus, devfn, length=256):
        """length bytes of a function's config space through ECAM."""
        base = ecam + (bus << 20) + (devfn << 12)
        dwords = self.batch(["readl %s" % hexs(base + off)
                             for off in range(0, length, 4)])
        return b"".join(d.to_bytes(4, "little") for d in dwords)

    def fw_cfg_read(self, key, length):
        """length bytes of fw_cfg item key, through the x86 I/O ports or,
        once fw_cfg_mmio is set, virt's MMIO registers (the selector is
        big-endian there, qtest writes little-endian)."""
        if self.fw_cfg_mmio:
            selector, data = self.fw_cfg_mmio
            swapped = int.from_bytes(key.to_bytes(2, "big"), "little")
            select = "writew %s %s" % (hexs(selector), hexs(swapped))
            read = "readb %s" % hexs(data)
        else:
            select = "outw %s %s" % (hexs(FW_CFG_PORT_SEL), hexs(key))
            read = "inb %s" % hexs(FW_CFG_PORT_DATA)
        values = self.batch([select] + [read] * length)
        return bytes(values[1:])

    def fw_cfg_file(self, name):
        """The contents of a fw_cfg file, or None."""
        count = int.from_bytes(self.fw_cfg_read(FW_CFG_FILE_DIR, 4), "big")
        directory = self.fw_cfg_read(FW_CFG_FILE_DIR, 4 + 64 * count)[4:]
        for i in range(count):
            entry = directory[64 * i:64 * (i + 1)]
            size = int.from_bytes(entry[0:4], "big")
            select = int.from_bytes(entry[4:6], "big")
            if entry[8:].split(b"\0", 1)[0].decode() == name:
                return self.fw_cfg_read(select, size)
        return None


def listen(path):
    """A listening unix socket QEMU connects to."""
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.listen(1)
    return sock


def accept(sock, proc, timeout):
    """Accept QEMU's connection, unless QEMU exits first."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn, _ = sock.accept()
            conn.settimeout(IO_TIMEOUT)
            return conn
        except socket.timeout:
            if proc.poll() is not None:
                return None
    return None


def u32(data, off):
    """Little-endian 32-bit value at off."""
    return int.from_bytes(data[off:off + 4], "little")


def parse_ea(config):
    """The EA capability of a type 0 config space: (offset, [entry dicts],
    end offset), or (None, [], None) if there is none."""
    if not config[PCI_STATUS] & PCI_STATUS_CAP_LIST:
        return None, [], None
    pos = config[PCI_CAPABILITY_LIST] & ~3
    seen = set()
    while pos and pos not in seen:
        seen.add(pos)
        if config[pos] == PCI_CAP_ID_EA:
            break
        pos = config[pos + 1] & ~3
    else:
        return None, [], None
    entries = []
    off = pos + 4
    for _ in range(config[pos + 2] & 0x3f):
        dw0 = u32(config, off)
        base_lo, max_lo = u32(config, off + 4), u32(config, off + 8)
        nxt = off + 12
        base, max_off = base_lo & PCI_EA_FIELD_MASK, max_lo | 3
        if base_lo & PCI_EA_IS_64:
            base |= u32(config, nxt) << 32
            nxt += 4
        if max_lo & PCI_EA_IS_64:
            max_off = (max_off & 0xffffffff) | (u32(config, nxt) << 32)
            nxt += 4
        entries.append({
            "bei": (dw0 & PCI_EA_BEI) >> 4, "pp": (dw0 & PCI_EA_PP) >> 8,
            "sp": (dw0 & PCI_EA_SP) >> 16,
            "enabled": bool(dw0 & PCI_EA_ENABLE),
            "writable": bool(dw0 & PCI_EA_WRITABLE),
            "base": base, "size": max_off + 1,
            "base64": bool(base_lo & PCI_EA_IS_64),
            "max64": bool(max_lo & PCI_EA_IS_64),
            "es_ok": (dw0 & PCI_EA_ES) == (nxt - off) // 4 - 1,
        })
        off = nxt
    return pos, entries, off


MTREE_LINE = re.compile(r"^\s*([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, [^)]+\)"
                        r"(?: \[disabled\])?: (?:alias )?(\S+)")


def mtree_regions(text):
    """(start, end, name) of every region line of 'info mtree' output."""
    regions = []
    for line in text.splitlines():
        m = MTREE_LINE.match(line)
        if m:
            regions.append((int(m.group(1), 16), int(m.group(2), 16),
                            m.group(3)))
    return regions


def system_section(text):
    """The part of 'info mtree' (-f) output for the system address space."""
    sections = re.split(r"\n(?=\S)", text)
    for sec in sections:
        first = sec.splitlines()[0] if sec else ""
        if first.startswith("address-space: memory") or \
                first.startswith("FlatView") and "AS \"memory\"" in sec:
            return sec
    return ""


def pci_devices(buses):
    """Flatten query-pci into the list of its device dicts, bridges'
    children included."""
    out = []

    def walk(devices):
        """Add devices and, recursively, those behind them."""
        for dev in devices:
            out.append(dev)
            bridge = dev.get("pci_bridge")
            if bridge and "devices" in bridge:
                walk(bridge["devices"])
    for bus in buses:
        walk(bus["devices"])
    return out


def window(bridge, key):
    """A bridge window from query-pci as unsigned (base, limit), or None
    if it is closed (base above limit)."""
    mask = (1 << 64) - 1
    base = bridge["bus"][key]["base"] & mask
    limit = bridge["bus"][key]["limit"] & mask
    return (base, limit) if base <= limit else None


def overlaps(a_start, a_end, b_start, b_end):
    """Whether two inclusive ranges overlap."""
    return a_start <= b_end and b_start <= a_end


# -------------------------------------------------------------------- ACPI

def acpi_tables(blob, signature):
    """(offset, length) of every ACPI table with this signature in a blob
    of tables (fw_cfg etc/acpi/tables)."""
    found = []
    pos = blob.find(signature)
    while pos >= 0:
        length = u32(blob, pos + 4)
        if ACPI_HEADER_SIZE <= length <= len(blob) - pos:
            found.append((pos, length))
        pos = blob.find(signature, pos + 1)
    return found


def aml_pkg_length(aml, pos):
    """(PkgLength at pos, the number of bytes it takes)."""
    lead = aml[pos]
    count = lead >> 6
    if not count:
        return lead & 0x3f, 1
    length = lead & 0x0f
    for i in range(count):
        length |= aml[pos + 1 + i] << (4 + 8 * i)
    return length, 1 + count


def aml_name_string(aml, pos):
    """The NameString at pos, trailing '_' padding of its segments
    removed, or None if there is none."""
    prefix = ""
    while aml[pos:pos + 1] in (b"\\", b"^"):
        prefix += chr(aml[pos])
        pos += 1
    lead = aml[pos:pos + 1]
    if lead == b"\x2e":                 # DualNamePrefix
        count, pos = 2, pos + 1
    elif lead == b"\x2f":               # MultiNamePrefix
        count, pos = aml[pos + 1], pos + 2
    else:
        count = 1
    segments = []
    for _ in range(count):
        segment = aml[pos:pos + 4]
        if not re.fullmatch(rb"[A-Z_][A-Z0-9_]{3}", segment):
            return None
        segments.append(segment.decode().rstrip("_") or "_")
        pos += 4
    return prefix + ".".join(segments)


def aml_containers(aml, start, end):
    """The Device objects, and the Scope objects with an absolute name (as
    QEMU writes them), of the AML in aml[start:end], found by their
    opcodes: [(start, end, name)]."""
    found = []
    for opcode, absolute in ((AML_DEVICE_OP, False),
                             (bytes([AML_SCOPE_OP]), True)):
        pos = aml.find(opcode, start, end)
        while pos >= 0:
            pkg = pos + len(opcode)
            length, used = aml_pkg_length(aml, pkg)
            name = aml_name_string(aml, pkg + used)
            if name and pkg + length <= end and \
                    (not absolute or name.startswith("\\")):
                found.append((pos, pkg + length, name))
            pos = aml.find(opcode, pos + 1, end)
    return found


def aml_path(containers, offset):
    """The absolute name of the innermost container holding offset."""
    path = ""
    for start, end, name in sorted(containers):
        if start < offset < end:
            path = name if name.startswith("\\") else \
                (path + "." if path else "\\") + name
    return path or "\\"


def acpi_descriptor(blob, off):
    """The resource descriptor at off, as a dict: offset, length, kind
    and, for address ranges, min and max, for memory its type (ACPI
    _MEM: prefetchable, non-cacheable...)."""
    tag = blob[off]
    if tag & 0x80:
        kind = ACPI_LARGE_ITEMS.get(tag, "large item 0x%02x" % tag)
        length = 3 + int.from_bytes(blob[off + 1:off + 3], "little")
    else:
        item = (tag >> 3) & 0xf
        kind = "EndTag" if item == ACPI_END_TAG else \
            ACPI_SMALL_ITEMS.get(item, "small item 0x%x" % item)
        length = 1 + (tag & 7)
    desc = {"offset": off, "length": length, "kind": kind}
    if kind in ACPI_ADDRESS_FIELDS:
        at, size = ACPI_ADDRESS_FIELDS[kind]
        space = blob[off + 3]
        desc["kind"] = kind + ACPI_SPACES.get(space, "Space%d" % space)
        desc["min"] = int.from_bytes(blob[off + at:off + at + size], "little")
        desc["max"] = int.from_bytes(blob[off + at + size:off + at + 2 * size],
                                     "little")
        if space == 0:
            desc["type"] = ACPI_MEM_TYPES[(blob[off + 5] >> 1) & 3]
    elif kind == "Memory32Fixed":
        base = u32(blob, off + 4)
        desc.update(min=base, max=base + u32(blob, off + 8) - 1,
                    type="fixed")
    elif kind == "IO":
        desc.update(min=int.from_bytes(blob[off + 2:off + 4], "little"),
                    max=int.from_bytes(blob[off + 4:off + 6], "little")
                    + blob[off + 7] - 1)
    return desc


def describe_descriptor(desc):
    """A descriptor in one line, as iasl would name it."""
    text = desc["kind"]
    if "min" in desc:
        text += " %s-%s" % (hexs(desc["min"]), hexs(desc["max"]))
    if "type" in desc:
        text += " " + desc["type"]
    return text


def acpi_crs(blob):
    """Every Name(_CRS, ResourceTemplate) of the DSDT and SSDTs in blob:
    [(absolute name of the object holding it, [descriptors])]."""
    pattern = bytes([AML_NAME_OP]) + b"_CRS" + bytes([AML_BUFFER_OP])
    found = []
    for start, length in acpi_tables(blob, b"DSDT") + \
            acpi_tables(blob, b"SSDT"):
        end = start + length
        containers = aml_containers(blob, start + ACPI_HEADER_SIZE, end)
        pos = blob.find(pattern, start, end)
        while pos >= 0:
            pkg = pos + len(pattern)
            pkg_length, used = aml_pkg_length(blob, pkg)
            # the BufferSize: BytePrefix, WordPrefix, DWordPrefix + value
            size_len = {0x0a: 2, 0x0b: 3, 0x0c: 5}.get(blob[pkg + used])
            buf_end = pkg + pkg_length
            descs = []
            off = pkg + used + (size_len or 0)
            while size_len and off < buf_end:
                desc = acpi_descriptor(blob, off)
                if desc["kind"] == "EndTag" or off + desc["length"] > buf_end:
                    break
                descs.append(desc)
                off += desc["length"]
            found.append((aml_path(containers, pos), descs))
            pos = blob.find(pattern, pos + 1, end)
    return found


# The template of QEMU's memory hotplug method MCRS (hw/acpi/
# memory_hotplug.c), whose fields the method fills in for each DIMM: it
# describes no memory of its own.
MEMORY_HOTPLUG_TEMPLATE = (0, 0xFFFFFFFFFFFFFFFE)


def acpi_memory_descriptors(blob):
    """Every memory descriptor anywhere in the tables, by its byte pattern
    (tag, length and, for address spaces, resource type Memory), whether
    a _CRS buffer, a method or another table holds it; but the memory
    hotplug template."""
    pattern = re.compile(rb"(?=\x87\x17\x00\x00"    # DWord, length 23
                         rb"|\x8a\x2b\x00\x00"         # QWord, length 43
                         rb"|\x86\x09\x00)")            # Memory32Fixed
    descs = [acpi_descriptor(blob, m.start()) for m in pattern.finditer(blob)]
    return [d for d in descs
            if (d["min"], d["max"]) != MEMORY_HOTPLUG_TEMPLATE]


class Run:
    """One QEMU run of a case with one firmware, and its checks."""

    def __init__(self, case, firmware, opts):
        self.case = case
        self.firmware = firmware
        self.opts = opts
        self.cells = {c: "n.a." for c in COLUMNS}
        self.details = []
        self.refused = None
        self.wall = 0.0

    def note(self, text, always=False):
        """Add a line to the run's report; always: print it even without
        --verbose."""
        self.details.append((text, always))

    def set(self, column, ok, why=None):
        """Set a cell; a FAIL cell keeps its FAIL, a KNOWN one its KNOWN
        unless it fails."""
        if not ok:
            self.cells[column] = "FAIL"
            if why:
                self.note("FAIL %s: %s" % (column, why), always=True)
        elif self.cells[column] not in ("FAIL", "KNOWN"):
            self.cells[column] = "OK"

    def known(self, column, why):
        """Mark a cell KNOWN (a known firmware limit) unless it failed."""
        if self.cells[column] != "FAIL":
            self.cells[column] = "KNOWN"
        self.note("KNOWN %s: %s" % (column, why), always=True)

    def execute(self):
        """Start QEMU, wait for firmware, check, and stop QEMU."""
        start = time.monotonic()
        run_dir = tempfile.mkdtemp(prefix="%s-%s-" % (self.case.short,
                                                      self.firmware),
                                   dir=self.case.workdir)
        add, why, serial = self.case.firmware_args(self.firmware, run_dir)
        qmp_path = os.path.join(run_dir, "qmp.sock")
        qtest_path = os.path.join(run_dir, "qtest.sock")
        harness = [("-chardev", "socket,id=harness-qmp,path=" + qmp_path),
                   ("-mon", "chardev=harness-qmp,mode=control"),
                   ("-qtest", "unix:" + qtest_path),
                   ("-qtest-log", "/dev/null")]
        self.note("options added:", always=True)
        for opt, val in harness:
            self.note("  + %s  (the harness's QMP and qtest sockets)"
                      % show(opt, val), always=True)
        for opt, val in add:
            self.note("  + %s  (%s)" % (show(opt, val), why.pop(opt, "same")),
                      always=True)
        argv = list(self.case.argv)
        for opt, val in harness + add:
            argv += [opt, val]
        qmp_listen, qtest_listen = listen(qmp_path), listen(qtest_path)
        log_path = os.path.join(run_dir, "qemu.log")
        try:
            with open(log_path, "w") as log:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT)
        except OSError as e:
            self.refused = "cannot start QEMU: %s" % e
            qmp_listen.close()
            qtest_listen.close()
            self.wall = time.monotonic() - start
            return
        try:
            self.drive(proc, qmp_listen, qtest_listen, serial)
        except (RuntimeError, OSError) as e:
            self.refused = self.refused or "harness error: %s" % e
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            qmp_listen.close()
            qtest_listen.close()
            self.wall = time.monotonic() - start
        with open(log_path) as f:
            log_text = f.read().strip()
        if self.refused and log_text:
            self.refused += ": " + log_text.replace("\n", " | ")
        elif log_text:
            self.note("QEMU said: " + log_text.replace("\n", " | "),
                      always=True)

    def drive(self, proc, qmp_listen, qtest_listen, serial):
        """Connect, run firmware, check."""
        qtest_conn = accept(qtest_listen, proc, 30)
        qmp_conn = accept(qmp_listen, proc, 30) if qtest_conn else None
        if not qmp_conn:
            proc.wait(10)
            self.refused = "QEMU exited with status %s" % proc.returncode
            return
        qmp, qtest = Qmp(qmp_conn), Qtest(qtest_conn)
        qmp.cmd("cont")
        self.wait_firmware(proc, qmp, serial)
        if proc.poll() is not None:
            self.refused = "QEMU exited with status %s" % proc.returncode
            return
        qmp.cmd("stop")
        self.check(qmp, qtest)
        qmp.cmd("quit")

    def wait_firmware(self, proc, qmp, serial):
        """Poll the firmware console and the bridges' bus numbers until
        firmware is through PCI enumeration, or the timeout."""
        timeout = self.opts.timeout[self.firmware]
        markers = FIRMWARE_DONE[self.firmware]
        start = time.monotonic()
        numbered_at = done_at = None
        while time.monotonic() - start < timeout and proc.poll() is None:
            bridges = [d for d in pci_devices(qmp.cmd("query-pci"))
                       if "pci_bridge" in d]
            if numbered_at is None and bridges and all(
                    d["pci_bridge"]["bus"]["secondary"] for d in bridges):
                numbered_at = time.monotonic() - start
            with open(serial, errors="replace") as f:
                console = f.read()
            hit = [m for m in markers if m in console]
            if hit and numbered_at is not None:
                done_at = time.monotonic() - start
                self.note("firmware: all bridges numbered after %.1fs, "
                          "console %r after %.1fs"
                          % (numbered_at, hit[0], done_at), always=True)
                return
            time.sleep(0.5)
        self.note("firmware: not through PCI enumeration after %ds "
                  "(bridges numbered: %s; console tail: %r)"
                  % (timeout, "after %.1fs" % numbered_at
                     if numbered_at is not None else "no",
                     console[-200:] if "console" in locals() else ""),
                  always=True)
        for column in COLUMNS:
            self.set(column, False, "firmware did not finish in time")

    # -- checks ------------------------------------------------------------

    def check(self, qmp, qtest):
        """All checks on the stopped guest."""
        for line in self.case.mismatches:
            self.set("EA cap", not line.startswith("MISMATCH"), line)
        buses = qmp.cmd("query-pci")
        devices = pci_devices(buses)
        by_id = {d.get("qdev_id"): d for d in devices}
        mtree = qmp.hmp("info mtree")
        ecam = self.ecam_base(mtree)
        if self.case.arch == "aarch64":
            qtest.fw_cfg_mmio = self.virt_fw_cfg(mtree)
        self.check_accepted(qmp)
        self.check_bus_numbers(buses, by_id)
        for standin in self.case.standins:
            dev = by_id.get(standin["id"])
            if dev is None or ecam is None:
                for column in ("EA cap", "BAR regs", "mtree"):
                    self.set(column, False, "%s not found (query-pci), or no "
                             "ECAM" % standin["id"])
                continue
            devfn = (dev["slot"] << 3) | dev["function"]
            config = qtest.read_config(ecam, dev["bus"], devfn)
            self.note("%s (host %s) at %02x:%02x.%x, config space read "
                      "through ECAM:" % (standin["id"], standin["host"],
                                         dev["bus"], dev["slot"],
                                         dev["function"]))
            self.check_ea(standin, config)
            self.check_bar_registers(standin, config, dev)
            self.check_mtree(qmp, qtest, ecam, standin, dev, config)
        if self.case.arch == "x86_64":
            self.check_e820(qtest)
        else:
            self.check_virt_aliases(mtree)
        self.check_overlap(devices)
        self.check_windows(buses)
        self.check_crs(qtest)

    def ecam_base(self, mtree):
        """Where firmware (x86: PCIEXBAR) or the board (virt) put ECAM."""
        name = "pcie-mmcfg-mmio" if self.case.arch == "x86_64" else "pcie-ecam"
        for start, _, region in mtree_regions(system_section(mtree)):
            if region == name:
                self.note("ECAM (%s) at %s" % (name, hexs(start)))
                return start
        self.note("no %s region in the system address space" % name)
        return None

    def virt_fw_cfg(self, mtree):
        """(selector, data) addresses of virt's fw_cfg, from the memory
        tree, or None."""
        regions = {name: start
                   for start, _, name in mtree_regions(system_section(mtree))}
        if "fwcfg.ctl" not in regions or "fwcfg.data" not in regions:
            self.note("no fwcfg.ctl/fwcfg.data region in the system address "
                      "space")
            return None
        return regions["fwcfg.ctl"], regions["fwcfg.data"]

    def check_accepted(self, qmp):
        """QEMU kept the x-fixed-mmio ranges and each stand-in's x-ea*
        properties as given (qom-get)."""
        got = [(r["base"], r["size"])
               for r in qmp.cmd("qom-get", path="/machine",
                                property="x-fixed-mmio")]
        self.note("QEMU accepted machine x-fixed-mmio (qom-get /machine "
                  "x-fixed-mmio): %s" % ", ".join(
                      "%s+%s" % (hexs(b), hexs(s)) for b, s in got))
        self.set("reserved", got == self.case.fixed_mmio,
                 "x-fixed-mmio is %s, the command line says %s"
                 % (got, self.case.fixed_mmio))
        for standin in self.case.standins:
            path = "/machine/peripheral/" + standin["id"]
            ea = qmp.cmd("qom-get", path=path, property="x-ea")
            addrs = {i: qmp.cmd("qom-get", path=path,
                                property="x-ea-bar%d-addr" % i)
                     for i in standin["bars"]}
            self.note("QEMU accepted %s (qom-get %s): x-ea %s, %s" % (
                standin["id"], path, json.dumps(ea), ", ".join(
                    "x-ea-bar%d-addr %s" % (i, hexs(a))
                    for i, a in sorted(addrs.items()))))
            self.set("EA cap", ea is True and addrs == {
                i: a for i, (a, _, _) in standin["bars"].items()},
                     "%s: QEMU has x-ea %s, x-ea-barN-addr %s"
                     % (standin["id"], ea, addrs))

    def check_ea(self, standin, config):
        """One enabled EA entry per memory BAR, as libvirt and the fixture
        say."""
        pos, entries, end = parse_ea(config)
        if pos is None:
            self.set("EA cap", False, "%s: no EA capability in the "
                     "capability list" % standin["id"])
            return
        self.note("  EA capability at %s, %d entries, %d bytes:"
                  % (hexs(pos), len(entries), end - pos))
        for row in range(pos, end, 16):
            self.note("    %03x: %s" % (row, " ".join(
                "%02x" % b for b in config[row:min(row + 16, end)])))
        by_bei = {}
        for e in entries:
            self.note("    BEI %d base %s size %s %s%s%s%s" % (
                e["bei"], hexs(e["base"]), hexs(e["size"]),
                "prefetchable" if e["pp"] == PCI_EA_P_MEM_PREFETCH
                else "non-prefetchable" if e["pp"] == PCI_EA_P_MEM
                else "properties %s" % hexs(e["pp"]),
                ", 64-bit base" if e["base64"] else ", 32-bit base",
                ", 64-bit max offset" if e["max64"] else "",
                "" if e["enabled"] else ", DISABLED"))
            by_bei.setdefault(e["bei"], []).append(e)
        want = standin["bars"]
        self.set("EA cap", sorted(by_bei) == sorted(want)
                 and all(len(v) == 1 for v in by_bei.values()),
                 "%s: EA entries for BARs %s, memory BARs %s"
                 % (standin["id"], sorted(by_bei), sorted(want)))
        for index, (addr, size, kind) in sorted(want.items()):
            got = by_bei.get(index, [None])[0]
            if got is None:
                continue
            pref = kind.endswith("-pref")
            problems = [what for what, bad in (
                ("base %s != %s" % (hexs(got["base"]), hexs(addr)),
                 got["base"] != addr),
                ("size %s != %s" % (hexs(got["size"]), hexs(size)),
                 got["size"] != size),
                ("primary property %s" % got["pp"],
                 got["pp"] != (PCI_EA_P_MEM_PREFETCH if pref
                               else PCI_EA_P_MEM)),
                ("not enabled", not got["enabled"]),
                ("writable", got["writable"]),
                ("64-bit base flag", got["base64"] != (addr > 0xffffffff)),
                ("64-bit max offset flag",
                 got["max64"] != (size - 1 > 0xffffffff)),
                ("entry size", not got["es_ok"])) if bad]
            self.set("EA cap", not problems, "%s BAR%d (%s): %s" % (
                standin["id"], index, kind, "; ".join(problems)))

    def check_bar_registers(self, standin, config, dev):
        """BAR registers and the ROM BAR read 0; QEMU reports no ROM."""
        regs = [u32(config, PCI_BASE_ADDRESS_0 + 4 * i) for i in range(6)]
        rom = u32(config, PCI_ROM_ADDRESS)
        self.note("  BAR registers %s, ROM %s, command %s" % (
            " ".join(hexs(r) for r in regs), hexs(rom),
            hexs(int.from_bytes(config[PCI_COMMAND:PCI_COMMAND + 2],
                                "little"))))
        rom_region = [r for r in dev["regions"] if r["bar"] == 6]
        self.set("BAR regs", not any(regs) and not rom and not rom_region,
                 "%s: BAR registers %s, ROM register %s, ROM region %s"
                 % (standin["id"], [hexs(r) for r in regs], hexs(rom),
                    rom_region))

    def check_mtree(self, qmp, qtest, ecam, standin, dev, config):
        """Each BAR is in the memory tree at its fixed address iff
        COMMAND.MEM is set; if firmware left MEM off, set it and look
        again."""
        cmd_off = ecam + (dev["bus"] << 20) + \
            (((dev["slot"] << 3) | dev["function"]) << 12) + PCI_COMMAND
        command = int.from_bytes(config[PCI_COMMAND:PCI_COMMAND + 2], "little")

        def mapped():
            """{BAR: the distinct lines of 'info mtree' that show it at its
            fixed address}."""
            lines = qmp.hmp("info mtree").splitlines()
            return {i: sorted({line.strip() for line in lines
                               if mtree_regions(line) == [
                                   (a, a + s - 1, "pci-standin-bar%d" % i)]})
                    for i, (a, s, _) in standin["bars"].items()}

        shown = mapped()
        state = {i: bool(lines) for i, lines in shown.items()}
        if command & PCI_COMMAND_MEMORY:
            self.note("  COMMAND.MEM set by firmware; BARs in the memory "
                      "tree at their fixed address: %s" % state)
            self.set("mtree", all(state.values()),
                     "%s: not mapped with MEM set: %s"
                     % (standin["id"], state))
        else:
            self.set("mtree", not any(state.values()),
                     "%s: mapped although MEM is off: %s"
                     % (standin["id"], state))
            enabled = command | PCI_COMMAND_MEMORY
            qtest.batch(["writew %s %s" % (hexs(cmd_off), hexs(enabled))])
            shown = mapped()
            state = {i: bool(lines) for i, lines in shown.items()}
            self.note("  COMMAND.MEM left off by firmware (BARs absent from "
                      "the memory tree); set by the harness: mapped %s"
                      % state)
            self.set("mtree", all(state.values()),
                     "%s: not mapped after setting MEM: %s"
                     % (standin["id"], state))
        self.note("  info mtree:")
        for index, lines in sorted(shown.items()):
            for line in lines:
                self.note("    BAR%d: %s" % (index, line))
        flat = mtree_regions(system_section(qmp.hmp("info mtree -f")))
        visible = {i: any(overlaps(s, e, a, a + size - 1)
                          and n.startswith("pci-standin-bar%d" % i)
                          for s, e, n in flat)
                   for i, (a, size, _) in standin["bars"].items()}
        self.note("  reachable from the CPU (system flat view, through the "
                  "bridge windows): %s" % visible)

    def check_bus_numbers(self, buses, by_id):
        """Expander buses at their bus_nr; bridges below them numbered as
        libvirt planned; pcie.0's buses below the lowest bus_nr."""
        roots = {b["bus"] for b in buses}
        for pxb_id, bus_nr in sorted(self.case.pxbs.items()):
            self.set("bus nrs", bus_nr in roots,
                     "%s: no root bus %d" % (pxb_id, bus_nr))
        plan = self.case.bus_plan()
        got = {}
        for bridge_id, want in sorted(plan.items()):
            dev = by_id.get(bridge_id)
            secondary = dev["pci_bridge"]["bus"]["secondary"] if dev else None
            got[bridge_id] = secondary
            self.set("bus nrs", secondary == want,
                     "%s: secondary bus %s, libvirt planned %d"
                     % (bridge_id, secondary, want))
        self.note("bus numbers, firmware's (query-pci) and libvirt's plan:")
        for pxb_id, bus_nr in sorted(self.case.pxbs.items()):
            self.note("  expander bus %s: bus_nr %d, root bus %d %s"
                      % (pxb_id, bus_nr, bus_nr,
                         "present" if bus_nr in roots else "MISSING"))
        for bridge_id in sorted(plan):
            self.note("  %s: secondary bus %s, planned %d"
                      % (bridge_id, got[bridge_id], plan[bridge_id]))
        if self.case.pxbs:
            lowest = min(self.case.pxbs.values())
            root0 = [b for b in buses if b["bus"] == 0]
            sub = max([d["pci_bridge"]["bus"]["subordinate"]
                       for d in pci_devices(root0) if "pci_bridge" in d],
                      default=0)
            self.note("  pcie.0: buses 0-%d, below the lowest bus_nr %d"
                      % (sub, lowest))
            self.set("bus nrs", sub < lowest,
                     "pcie.0's buses reach %d, the lowest busNr is %d"
                     % (sub, lowest))

    def check_e820(self, qtest):
        """A reserved E820 entry covers each x-fixed-mmio range, and
        etc/reserved-memory-end lies above those above 4 GiB."""
        e820 = qtest.fw_cfg_file("etc/e820") or b""
        entries = [(int.from_bytes(e820[i:i + 8], "little"),
                    int.from_bytes(e820[i + 8:i + 16], "little"),
                    int.from_bytes(e820[i + 16:i + 20], "little"))
                   for i in range(0, len(e820) - 19, 20)]
        self.note("E820 (fw_cfg etc/e820), %d entries:" % len(entries))
        for start, size, kind in sorted(entries):
            covers = ["x-fixed-mmio.%d" % i
                      for i, (base, length) in enumerate(self.case.fixed_mmio)
                      if kind == E820_RESERVED and start <= base
                      and base + length <= start + size]
            self.note("  %s-%s %s%s" % (
                hexs(start), hexs(start + size - 1),
                E820_TYPES.get(kind, "type %d" % kind),
                "  <- covers " + ", ".join(covers) if covers else ""))
        for base, size in self.case.fixed_mmio:
            covered = any(t == E820_RESERVED and a <= base
                          and base + size <= a + s for a, s, t in entries)
            self.set("reserved", covered, "x-fixed-mmio %s+%s not covered by "
                     "a reserved E820 entry" % (hexs(base), hexs(size)))
        high_end = max((b + s for b, s in self.case.fixed_mmio
                        if b + s > 4 * GiB), default=None)
        raw = qtest.fw_cfg_file("etc/reserved-memory-end")
        end = int.from_bytes(raw, "little") if raw else None
        self.note("etc/reserved-memory-end %s; end of the x-fixed-mmio ranges "
                  "above 4 GiB %s"
                  % (hexs(end) if end is not None else "absent",
                     hexs(high_end) if high_end else "-"))
        if high_end:
            self.set("reserved", end is not None and end >= high_end,
                     "etc/reserved-memory-end %s below %s"
                     % (end, hexs(high_end)))

    def check_virt_aliases(self, mtree):
        """virt: each x-fixed-mmio range is a PCI MMIO alias in the system
        address space."""
        regions = mtree_regions(system_section(mtree))
        for i, (base, size) in enumerate(self.case.fixed_mmio):
            alias = (base, base + size - 1, "pcie-fixed-mmio-%d" % i)
            found = alias in regions
            self.set("reserved", found, "no alias pcie-fixed-mmio-%d at %s+%s"
                     % (i, hexs(base), hexs(size)))
        self.note("x-fixed-mmio aliases into PCI MMIO: %s" % (
            "checked %d" % len(self.case.fixed_mmio)))

    def check_overlap(self, devices):
        """No firmware-assigned BAR or bridge window overlaps an x-fixed-mmio
        range (the EA BARs themselves excepted)."""
        ea = {(s["id"], i): a for s in self.case.standins
              for i, (a, _, _) in s["bars"].items()}
        conflicts = []
        for dev in devices:
            name = dev.get("qdev_id") or "%02x:%02x.%x" % (
                dev["bus"], dev["slot"], dev["function"])
            ranges = []
            for r in dev["regions"]:
                if r["type"] == "memory" and r["address"] not in (0, -1) and \
                        ea.get((dev.get("qdev_id"), r["bar"])) != r["address"]:
                    ranges.append(("BAR%d" % r["bar"], r["address"],
                                   r["address"] + r["size"] - 1))
            bridge = dev.get("pci_bridge")
            for key in ("memory_range", "prefetchable_range"):
                win = window(bridge, key) if bridge else None
                if win:
                    ranges.append((key, win[0], win[1]))
            for what, start, end in ranges:
                for base, size in self.case.fixed_mmio:
                    if overlaps(start, end, base, base + size - 1):
                        conflicts.append((base + size <= FOUR_GIB,
                                          "%s %s %s-%s overlaps x-fixed-mmio "
                                          "%s+%s" % (name, what, hexs(start),
                                                     hexs(end), hexs(base),
                                                     hexs(size))))
        # OVMF places the 32-bit BARs and windows of the other devices from
        # the bottom of its 32-bit aperture and reads neither E820 nor any
        # other QEMU hint for it: a range below 4 GiB there is a known
        # limit of the contract (docs/formatdomain-ea.rst, QEMU contract),
        # reported as KNOWN.  Anything else is a failure.
        if conflicts and self.firmware == "ovmf" and \
                all(below for below, _ in conflicts):
            self.cells["overlap"] = "KNOWN"
            self.note("KNOWN overlap (OVMF's 32-bit allocations ignore "
                      "reserved ranges): " +
                      "; ".join(what for _, what in conflicts), always=True)
            return
        self.set("overlap", not conflicts,
                 "; ".join(what for _, what in conflicts))

    def check_windows(self, buses):
        """The windows firmware gave every bridge above an EA device (root
        ports and the ports of switches): OVMF and AAVMF leave them closed,
        as hotplug is off and nothing is reserved; SeaBIOS opens windows on
        every root and downstream port whatever QEMU says, from its own
        apertures, a known firmware limit (docs: QEMU contract) that the
        guest kernel's EA support undoes."""
        standins = {s["id"] for s in self.case.standins}
        bridges = []

        def walk(devices, above):
            """Collect the bridges in @above of every stand-in."""
            for dev in devices:
                if dev.get("qdev_id") in standins:
                    bridges.extend(b for b in above if b not in bridges)
                bridge = dev.get("pci_bridge")
                if bridge and "devices" in bridge:
                    walk(bridge["devices"], above + [dev])
        for bus in buses:
            walk(bus["devices"], [])

        opened = []
        for dev in bridges:
            wins = {k: window(dev["pci_bridge"], k)
                    for k in ("memory_range", "prefetchable_range")}
            state = ["%s %s" % (k.split("_")[0], "%s-%s" % (
                hexs(w[0]), hexs(w[1])) if w else "closed")
                     for k, w in wins.items()]
            self.note("window of EA bridge %s: %s"
                      % (dev["qdev_id"], ", ".join(state)), always=True)
            if any(wins.values()):
                opened.append(dev["qdev_id"])
        if not bridges:
            self.set("windows", False, "no bridge above the EA devices")
        elif opened and self.firmware == "seabios":
            self.known("windows", "SeaBIOS opened windows on %s"
                       % ", ".join(opened))
        else:
            self.set("windows", not opened, "firmware opened windows on %s"
                     % ", ".join(opened))

    def check_crs(self, qtest):
        """For every x-fixed-mmio range, each EA BAR in it lies in exactly
        one memory descriptor of the _CRS of the expander bus above its
        device (ACPI device PCxx, xx its bus_nr), prefetchable exactly when
        the bridge window the guest forwards it through is (see
        forwarded_as_prefetchable()), and no other memory descriptor of the
        ACPI tables overlaps it (PCI0 does not claim it)."""
        tables = qtest.fw_cfg_file("etc/acpi/tables")
        if not tables:
            self.set("_CRS", False, "no fw_cfg file etc/acpi/tables")
            return
        crs = acpi_crs(tables)
        owner = {d["offset"]: path for path, descs in crs for d in descs}
        memory = acpi_memory_descriptors(tables)
        self.note("ACPI tables (fw_cfg etc/acpi/tables, %d bytes): %d "
                  "Name(_CRS) objects, %d memory descriptors"
                  % (len(tables), len(crs), len(memory)))
        for pxb_id, bus_nr in sorted(self.case.pxbs.items()):
            device = "PC%02X" % bus_nr
            for path, descs in crs:
                if path.rsplit(".", 1)[-1] == device:
                    self.note("  _CRS of %s (expander bus %s, bus_nr %d):"
                              % (path, pxb_id, bus_nr))
                    for desc in descs:
                        self.note("    " + describe_descriptor(desc))
        bars = [(standin, index, addr, addr + size - 1, kind)
                for standin in self.case.standins
                for index, (addr, size, kind) in sorted(
                    standin["bars"].items())]
        for i, (base, size) in enumerate(self.case.fixed_mmio):
            self.note("  x-fixed-mmio.%d %s-%s:" % (i, hexs(base),
                                                    hexs(base + size - 1)))
            for standin, index, start, end, kind in bars:
                if base <= start and end < base + size:
                    self.check_crs_bar(standin, index, start, end, kind,
                                       memory, owner)
        for standin, index, start, end, kind in bars:
            self.set("_CRS", any(base <= start and end < base + size
                                 for base, size in self.case.fixed_mmio),
                     "%s BAR%d %s-%s lies in no x-fixed-mmio range"
                     % (standin["id"], index, hexs(start), hexs(end)))

    def check_crs_bar(self, standin, index, start, end, kind, memory, owner):
        """The _CRS check of one EA BAR (see check_crs)."""
        pxb_id = self.case.pxb_above(standin["bus"])
        device = "PC%02X" % self.case.pxbs[pxb_id] if pxb_id else None
        what = "%s BAR%d %s-%s %s" % (standin["id"], index, hexs(start),
                                      hexs(end), kind)
        hits = [d for d in memory
                if overlaps(d["min"], d["max"], start, end)]
        mine = [d for d in hits if start >= d["min"] and end <= d["max"]
                and owner.get(d["offset"], "").rsplit(".", 1)[-1] == device]
        problems = [] if device else ["not below an expander bus"]
        if device and len(mine) != 1:
            problems.append("in %d memory descriptors of %s's _CRS"
                            % (len(mine), device))
        behind_bridge = standin["bus"] not in self.case.pxbs
        for desc in mine:
            if (desc["type"] == "prefetchable") != \
                    forwarded_as_prefetchable(kind, end, behind_bridge):
                problems.append("%s's descriptor is %s" % (device,
                                                           desc["type"]))
        others = [d for d in hits if d not in mine]
        claims = ["also claimed by %s in %s" % (
            describe_descriptor(desc),
            owner.get(desc["offset"], "no Name(_CRS) (table offset %s)"
                      % hexs(desc["offset"]))) for desc in others]
        # QEMU describes the resources firmware assigned: those OVMF put
        # into a range below 4 GiB (the KNOWN overlap) are claimed by the
        # _CRS of the bus they are on.
        if claims and not problems and self.cells["overlap"] == "KNOWN" \
                and all(d["max"] < FOUR_GIB for d in others):
            self.known("_CRS", "%s: %s (the firmware allocations of the "
                       "KNOWN overlap)" % (what, "; ".join(claims)))
            return
        problems += claims
        self.set("_CRS", not problems, what + ": " + "; ".join(problems))
        if not problems:
            self.note("    %s: in %s's %s, claimed by no other descriptor"
                      % (what, owner[mine[0]["offset"]],
                         describe_descriptor(mine[0])))


def forwarded_as_prefetchable(kind, end, behind_bridge):
    """Whether a BAR of pci-standin type kind ending at end is forwarded as
    prefetchable memory: a prefetchable BAR, and behind a bridge (PCI
    Express all the way here) a 64-bit non-prefetchable BAR above 4 GiB,
    which the guest routes through the bridge's prefetchable window, the
    non-prefetchable one being 32-bit."""
    if kind.endswith("-pref"):
        return True
    return behind_bridge and kind.startswith("mem64") and end >= FOUR_GIB


# -------------------------------------------------------------- negatives

NEGATIVE_TOPOLOGY = [
    "-device", "pxb-pcie,id=pxb1,bus_nr=254,bus=pcie.0",
    "-device", "pcie-root-port,id=rp1,bus=pxb1,chassis=2,hotplug=off",
]

# (title, extra options, text the error must contain)
NEGATIVE_CASES = [
    ("misaligned x-ea-bar address",
     ["-machine", "q35,x-fixed-mmio.0.base=0xc0000000,"
                  "x-fixed-mmio.0.size=0x2000000"] + NEGATIVE_TOPOLOGY +
     ["-device", "pci-standin,id=ea0,bus=rp1,bar0-size=16M,x-ea=on,"
                 "x-ea-bar0-addr=0xc0100000"],
     "not aligned"),
    ("x-fixed-mmio over guest RAM",
     ["-machine", "q35,x-fixed-mmio.0.base=0x100000000,"
                  "x-fixed-mmio.0.size=0x10000000"],
     "RAM"),
    # 0x100 - 0x40 (header) - 0x3c (PCI Express capability) = 132 bytes of
    # vendor capability fill the rest of the standard config space.
    ("no room for the EA capability",
     ["-machine", "q35,x-fixed-mmio.0.base=0xc0000000,"
                  "x-fixed-mmio.0.size=0x1000000"] + NEGATIVE_TOPOLOGY +
     ["-device", "pci-standin,id=ea0,bus=rp1,bar0-size=16M,x-ea=on,"
                 "x-ea-bar0-addr=0xc0000000,vendor-cap-size=132"],
     "no room for EA capability"),
]


def run_negatives(features):
    """Start QEMU with each refused configuration; check its message.
    Returns the number of failures."""
    failures = 0
    print("\nRefused configurations (%s):" % features.binary)
    blobs = [a for d in x86_blob_dirs(features) for a in ("-L", d)]
    for title, extra, expect in NEGATIVE_CASES:
        argv = [features.binary, "-accel", "tcg", "-m", "4G", "-display",
                "none", "-nodefaults", "-S", "-qmp", "stdio"] + blobs + extra
        proc = subprocess.run(
            argv, input='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
            capture_output=True, text=True, timeout=60, check=False)
        message = proc.stderr.strip()
        ok = proc.returncode != 0 and expect in message
        failures += not ok
        print("  %-4s %s\n       $ %s\n       exit %d: %s" % (
            "OK" if ok else "FAIL", title, " ".join(shlex.quote(a)
                                                    for a in argv[1:]),
            proc.returncode, message or "(no message)"))
        if not ok:
            print("       expected a refusal mentioning %r" % expect)
        print("%s qemuargs/refused/%s" % ("ok" if ok else "FAIL",
                                          title.replace(" ", "-")))
    return failures


# -------------------------------------------------------------------- main

def host_phys_bits():
    """This host's physical address bits (what host-phys-bits=on gives)."""
    with open("/proc/cpuinfo") as f:
        m = re.search(r"address sizes\s*:\s*(\d+) bits physical", f.read())
    return int(m.group(1))


def positive_args_files(only):
    """The positive fixedBar .args files that use EA, as (path, arch)."""
    files = []
    for fname in sorted(os.listdir(DATA_DIR)):
        m = re.match(r"hostdev-pci-fixedbar-(.*)\.(x86_64|aarch64)-latest"
                     r"\.args$", fname)
        if not m or (only and m.group(1) not in only):
            continue
        path = os.path.join(DATA_DIR, fname)
        with open(path) as f:
            if "x-ea" in f.read():
                files.append((path, m.group(2)))
    return files


def parse_options():
    """Command line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qemu-x86_64",
                   default=os.path.join(QEMU_BUILD, "qemu-system-x86_64"))
    p.add_argument("--qemu-aarch64",
                   default=os.path.join(QEMU_BUILD, "qemu-system-aarch64"))
    p.add_argument("--argv", metavar="FILE",
                   help="run only this command line ('virsh domxml-to-native "
                   "qemu-argv' output), printing every detail")
    p.add_argument("--firmware", metavar="LIST",
                   help="with --argv: the firmware to run, comma-separated "
                   "(x86_64: seabios,ovmf, the default; aarch64: aavmf)")
    p.add_argument("--xml", metavar="FILE",
                   help="with --argv: the domain XML, whose <fixedBar> <bar> "
                   "addresses stand instead of the host's in the address "
                   "check")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this case (e.g. q35); repeatable")
    p.add_argument("--ovmf", choices=("main", "all", "none"), default="main",
                   help="x86 cases that also run with OVMF (main: %s)"
                   % ", ".join(OVMF_CASES))
    p.add_argument("--no-negative", dest="negative", action="store_false",
                   help="skip the refused configurations")
    p.add_argument("--timeout-seabios", type=int, default=30)
    p.add_argument("--timeout-uefi", type=int, default=120,
                   help="per-run firmware timeout for OVMF/AAVMF (s)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory (logs, serial output)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every check's details, not only failures")
    opts = p.parse_args()
    if opts.argv:
        if opts.only:
            p.error("--only selects matrix cases; not with --argv")
        opts.verbose = True
        opts.negative = False
    elif opts.firmware or opts.xml:
        p.error("--firmware and --xml go with --argv")
    opts.timeout = {"seabios": opts.timeout_seabios,
                    "ovmf": opts.timeout_uefi, "aavmf": opts.timeout_uefi}
    return opts


def matrix_cases(opts, sysfs, phys, workdir):
    """The matrix: [(Case, firmwares)] for every positive .args file, and
    {arch: QemuFeatures}."""
    features = {"x86_64": QemuFeatures(opts.qemu_x86_64),
                "aarch64": QemuFeatures(opts.qemu_aarch64)}
    files = positive_args_files(opts.only)
    if not files:
        raise SystemExit("no positive fixedBar .args file matches %s"
                         % opts.only)
    cases = []
    for path, arch in files:
        name = os.path.basename(path).split(".")[0]
        case = Case(path, arch, features[arch], sysfs, phys,
                    tempfile.mkdtemp(prefix="case-", dir=workdir),
                    xml_bar_overrides(os.path.join(DATA_DIR, name + ".xml")),
                    xml_bar_sizes(os.path.join(DATA_DIR, name + ".xml")))
        if arch == "aarch64":
            firmwares = ["aavmf"]
        else:
            firmwares = ["seabios"]
            if opts.ovmf == "all" or (opts.ovmf == "main"
                                      and case.short in OVMF_CASES):
                firmwares.append("ovmf")
        cases.append((case, firmwares))
    return cases, features


def argv_case(opts, sysfs, phys, workdir):
    """--argv: [(Case, firmwares)] for the one command line given, and
    {arch: QemuFeatures}."""
    argv = read_args_file(opts.argv)[1]
    m = re.search(r"qemu-system-(x86_64|aarch64)$", argv[0] if argv else "")
    if not m:
        raise SystemExit("%s: the emulator is not a qemu-system-x86_64 or "
                         "qemu-system-aarch64" % opts.argv)
    arch = m.group(1)
    allowed = ARGV_FIRMWARES[arch]
    firmwares = opts.firmware.split(",") if opts.firmware else list(allowed)
    unknown = [f for f in firmwares if f not in allowed]
    if unknown:
        raise SystemExit("firmware %s: %s takes %s" % (
            ",".join(unknown), arch, ",".join(allowed)))
    binary = opts.qemu_x86_64 if arch == "x86_64" else opts.qemu_aarch64
    features = QemuFeatures(binary)
    case = Case(opts.argv, arch, features, sysfs, phys,
                tempfile.mkdtemp(prefix="case-", dir=workdir),
                xml_bar_overrides(opts.xml) if opts.xml else {},
                xml_bar_sizes(opts.xml) if opts.xml else {})
    return [(case, firmwares)], {arch: features}


def run_case(case, firmwares, opts):
    """Print the conversion of a case, run it with each firmware, print the
    details; return the runs."""
    print("=" * 78)
    print("%s  (%s)" % (os.path.relpath(case.path, TOP), case.arch))
    print("changes to the command line (everything else unchanged):")
    print("\n".join(case.changes.lines))
    for line in case.mismatches:
        print("  address check: " + line)
    if opts.verbose:
        for line in case.addresses:
            print("  address check: " + line)
    runs = []
    for fw in firmwares:
        run = Run(case, fw, opts)
        run.execute()
        runs.append(run)
        print("--- %s with %s: %.1fs%s" % (
            case.short, fw, run.wall,
            ", REFUSED: " + run.refused if run.refused else ""))
        for line, always in run.details:
            if opts.verbose or always:
                print("  " + line)
    return runs


def main():
    """Convert, run and check every case (or the --argv one); print the
    table."""
    opts = parse_options()
    workdir = tempfile.mkdtemp(prefix="qemuargs-")
    sysfs = build_fake_sysfs(workdir)
    phys = host_phys_bits()
    total = time.monotonic()
    if opts.argv:
        cases, features = argv_case(opts, sysfs, phys, workdir)
    else:
        cases, features = matrix_cases(opts, sysfs, phys, workdir)
    runs = [run for case, firmwares in cases
            for run in run_case(case, firmwares, opts)]
    negative_failures = (run_negatives(features["x86_64"]) if opts.negative
                         else 0)
    negatives = len(NEGATIVE_CASES) if opts.negative else 0
    failures = negative_failures
    print("\n%-22s %-8s %s %7s" % ("case", "firmware",
                                   " ".join("%-9s" % c for c in COLUMNS),
                                   "time"))
    for run in runs:
        cells = ["REFUSED"] + ["-"] * (len(COLUMNS) - 1) if run.refused \
            else [run.cells[c] for c in COLUMNS]
        failures += bool(run.refused) or "FAIL" in cells
        print("%-22s %-8s %s %6.1fs" % (run.case.short, run.firmware,
                                        " ".join("%-9s" % c for c in cells),
                                        run.wall))
    print()
    for run in runs:
        bad = bool(run.refused) or "FAIL" in run.cells.values()
        print("%s qemuargs/%s/%s" % ("FAIL" if bad else "ok", run.case.short,
                                     run.firmware))
    failed_runs = failures - negative_failures
    print("qemuargs: %d passed, %d failed" % (
        len(runs) - failed_runs + negatives - negative_failures, failures))
    known = sum("KNOWN" in run.cells.values() for run in runs)
    print("%d runs, %d negative cases, %s, %d with a known firmware "
          "limit; total %.0fs" % (
              len(runs), negatives,
              "%d failed" % failures if failures else "all passed", known,
              time.monotonic() - total))
    if opts.keep:
        print("work directory: " + workdir)
    else:
        shutil.rmtree(workdir)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
