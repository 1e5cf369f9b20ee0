#!/usr/bin/python3
# <fixedBar> through libvirt's public API, the way its users reach it:
# OpenStack Nova (Python bindings: capability probe, defineXML, XMLDesc,
# undefine) and virt-manager (its virtinst library parses the domain XML,
# the user edits it, virt-manager defines the result), against the built
# libvirt's QEMU driver embedded in this process.
#
# usage: api_test.py stock|patched URI QEMU
#   stock:   Debian's QEMU 10.0 binary QEMU, as libvirt probes it (it has no
#            EA properties);
#   patched: the project's QEMU 10.0.2 (tree-qemu/), as libvirt probes it:
#            it has them, nothing is added to libvirt's capabilities.
# The host's PCI devices are the fake sysfs of tests/libvirpcimock.so (its
# two-root-complex x86 host: GPU 0000:43:00.0 and NIC 0000:44:00.0 in IOMMU
# group 40).  Prints "ok NAME" or "FAIL NAME: why" per test and a summary.

import os
import sys
import traceback
import xml.etree.ElementTree as ET

import libvirt

sys.path.insert(0, "/usr/share/virt-manager")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import virtinst  # noqa: E402  (Debian installs it outside sys.path)
import domainxml  # noqa: E402
from domainxml import hostdev  # noqa: E402

# The version of the built libvirt (11.3.0), not of Debian's libvirt0.
BUILT_VERSION = 11003000

# The QEMU binary of this run (the command line's third argument).
EMULATOR = None


def domain_xml(name, devices, extra=""):
    return domainxml.domain_xml(name, devices, extra, emulator=EMULATOR)


def gpu_nic():
    return domain_xml("gpu-nic", hostdev(0x43) + hostdev(0x44))


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


# connections a test opened; closed after the test
OPENED = []


def open_conn(uri):
    conn = libvirt.open(uri)
    OPENED.append(conn)
    return conn


def domcaps_fixedbar_modes(conn, machine):
    caps = ET.fromstring(conn.getDomainCapabilities(EMULATOR, "x86_64", machine, "qemu", 0))
    hostdev = caps.find("./devices/hostdev")
    check(hostdev is not None and hostdev.get("supported") == "yes",
          "domain capabilities have no supported <hostdev>")
    enum = hostdev.find("./enum[@name='fixedBarMode']")
    if enum is None:
        return None
    return [v.text for v in enum.findall("value")]


def controllers_by_index(dom_xml):
    return {int(c.get("index")): c
            for c in dom_xml.findall("./devices/controller[@type='pci']")}


def bus_of(elem):
    return int(elem.find("./address").get("bus"), 16)


def defined_names(conn):
    return sorted(d.name() for d in conn.listAllDomains())


def expect_refusal(func, code, message):
    try:
        func()
    except libvirt.libvirtError as e:
        check(e.get_error_code() == code,
              f"error code {e.get_error_code()} instead of {code}: {e}")
        check(message in str(e), f"message {str(e)!r} lacks {message!r}")
        return
    raise Failure("accepted, expected a refusal")


# ---- tests on Debian's QEMU (no EA properties) ----

def test_bindings_use_built_libvirt(uri):
    check(libvirt.getVersion() == BUILT_VERSION,
          f"libvirt.getVersion() is {libvirt.getVersion()}, not the built {BUILT_VERSION}")


def test_probe_without_ea_capabilities(uri):
    conn = open_conn(uri)
    check(domcaps_fixedbar_modes(conn, "q35") is None,
          "fixedBarMode listed although QEMU lacks the EA properties")


def test_define_refused_without_ea_capabilities(uri):
    conn = open_conn(uri)
    expect_refusal(lambda: conn.defineXML(gpu_nic()),
                   libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                   "<fixedBar> on host device 0000:43:00.0 is not supported by this "
                   "QEMU binary: vfio-pci lacks the 'x-ea' or 'x-ea-bar0-addr' property")
    check(defined_names(conn) == [], f"domains left defined: {defined_names(conn)}")


# ---- tests on the project's QEMU ----

def test_probe(uri):
    """Nova-style discovery: the enum under <hostdev>, only where usable.
    The binary has x-fixed-mmio on every PC machine type, libvirt offers
    <fixedBar> on q35 only."""
    conn = open_conn(uri)
    check(domcaps_fixedbar_modes(conn, "q35") == ["hpa"], "q35 does not list fixedBarMode hpa")
    check(domcaps_fixedbar_modes(conn, "pc") is None, "i440fx lists fixedBarMode")


def test_nova_define_xmldesc_undefine(uri):
    conn = open_conn(uri)
    dom = conn.defineXML(gpu_nic())
    try:
        check(not dom.isActive(), "domain active after define")
        xml = ET.fromstring(dom.XMLDesc(0))
        ctrls = controllers_by_index(xml)
        pxbs = {i for i, c in ctrls.items() if c.get("model") == "pcie-expander-bus"}
        check(len(pxbs) == 1, f"{len(pxbs)} pcie-expander-bus controllers, expected 1")
        pxb = ctrls[pxbs.pop()]
        check(pxb.find("./target").get("busNr") is not None, "pxb without busNr")
        # the GPU and the NIC are below one host switch, which is mirrored
        for dev in xml.findall("./devices/hostdev"):
            check(dev.find("./fixedBar").get("mode") == "hpa", "fixedBar lost")
            chain = [ctrls[i] for i in ports_above(ctrls, dev)]
            check([c.get("model") for c in chain] ==
                  ["pcie-switch-downstream-port", "pcie-switch-upstream-port",
                   "pcie-root-port", "pcie-expander-bus"],
                  "device not below a guest switch: %s" % [c.get("model") for c in chain])
            for port in (chain[0], chain[2]):
                check(port.find("./target").get("hotplug") == "off", "port hotplug not off")
            check(chain[3] is pxb, "switch not below the pxb")
        check(len({bus_of(d) for d in xml.findall("./devices/hostdev")}) == 2,
              "devices share a downstream port")
    finally:
        dom.undefine()
    try:
        conn.lookupByName("gpu-nic")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN, f"lookup: {e}")
    else:
        raise Failure("domain still defined after undefine")


def test_nova_refused_configuration_not_saved(uri):
    conn = open_conn(uri)
    xml = domain_xml("gpu-on-root-port",
                     hostdev(0x43, address="\n      <address type='pci' domain='0x0000' "
                             "bus='0x01' slot='0x00' function='0x0'/>") + hostdev(0x44),
                     extra="\n    <controller type='pci' index='0' model='pcie-root'/>"
                                 "\n    <controller type='pci' index='1' model='pcie-root-port'/>")
    expect_refusal(lambda: conn.defineXML(xml), libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                   "host device 0000:43:00.0 with <fixedBar> is below pcie-root-port "
                   "with index 1, which is not plugged into a pcie-expander-bus")
    check(defined_names(conn) == [], f"domains left defined: {defined_names(conn)}")


def test_nova_sriov_interface_hostdev(uri):
    """Nova's SR-IOV ports are <interface type='hostdev'>."""
    conn = open_conn(uri)
    iface = """
    <interface type='hostdev' managed='yes'>
      <mac address='52:54:00:6d:90:02'/>
      <source>
        <address type='pci' domain='0x0000' bus='0x44' slot='0x00' function='0x0'/>
      </source>
      <fixedBar mode='hpa'/>
    </interface>"""
    dom = conn.defineXML(domain_xml("gpu-vf", hostdev(0x43) + iface))
    try:
        xml = ET.fromstring(dom.XMLDesc(0))
        nic = xml.find("./devices/interface[@type='hostdev']")
        check(nic.find("./fixedBar").get("mode") == "hpa", "fixedBar lost on the interface")
        gpu = xml.find("./devices/hostdev")
        ctrls = controllers_by_index(xml)
        # one host switch above both: the interface is mirrored too
        nic_chain, gpu_chain = ports_above(ctrls, nic), ports_above(ctrls, gpu)
        for chain in (nic_chain, gpu_chain):
            check([ctrls[i].get("model") for i in chain] ==
                  ["pcie-switch-downstream-port", "pcie-switch-upstream-port",
                   "pcie-root-port", "pcie-expander-bus"],
                  "device not below a guest switch")
            check(ctrls[chain[0]].find("./target").get("hotplug") == "off",
                  "port hotplug not off")
        check(nic_chain[0] != gpu_chain[0], "GPU and NIC share a downstream port")
        check(nic_chain[1:] == gpu_chain[1:],
              "GPU and NIC of one host switch are not below the same guest switch")
        # what the interface gets at start, also in domxml-to-native
        argv = conn.domainXMLToNative("qemu-argv", dom.XMLDesc(0), 0)
        check('"driver":"vfio-pci","host":"0000:44:00.0"' in argv and
              '"x-ea-bar0-addr":' in argv.split('"host":"0000:44:00.0"', 1)[1].split("-device", 1)[0],
              "domxml-to-native lacks the interface's vfio-pci device with its EA BARs")
    finally:
        dom.undefine()


HAND_EDITED = """
      <fixedBar mode='hpa'>
        <bar index='3' address='0x200800000000'/>
      </fixedBar>"""


def normalized(elem):
    """An element as (tag, attributes, children), ignoring indentation."""
    return (elem.tag, sorted(elem.attrib.items()), [normalized(c) for c in elem])


def fixedbar_subtree(xml):
    if not isinstance(xml, ET.Element):
        xml = ET.fromstring(xml)
    return [normalized(fb) for fb in xml.iter("fixedBar")]


def test_hand_edited_roundtrip(uri):
    """define -> dumpxml -> define leaves a hand-edited <fixedBar> unchanged."""
    conn = open_conn(uri)
    src = domain_xml("hand-edited", hostdev(0x43, fixedbar=HAND_EDITED) + hostdev(0x44))
    dom = conn.defineXML(src)
    try:
        first = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        check(fixedbar_subtree(first) == fixedbar_subtree(src),
              "dumpxml changed <fixedBar>: %s" % fixedbar_subtree(first))
        second = conn.defineXML(first).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        check(second == first, "define of the dumped XML changed it")
    finally:
        dom.undefine()


def virtinst_conn(uri):
    conn = virtinst.VirtinstConnection(uri)
    conn.open(None, None)
    OPENED.append(conn)
    return conn


def test_virt_manager_xml_editor(uri):
    """virt-manager's XML editor: the user adds <fixedBar> by hand to a
    domain whose devices sit on ordinary root ports; virtinst (which has no
    model of the element) parses the text and virt-manager defines it.
    libvirt refuses it, saying to remove the <address>, and keeps the domain
    as it was; after that edit it places the devices."""
    conn = virtinst_conn(uri)
    dom = conn.defineXML(domain_xml("vmm", hostdev(0x43, fixedbar="") + hostdev(0x44, fixedbar="")))
    try:
        before = dom.XMLDesc(0)
        edited = before.replace("</source>\n", "</source>" + HAND_EDITED + "\n", 1)
        edited = edited.replace("</source>\n      <address",
                                "</source>\n      <fixedBar mode='hpa'/>\n      <address")
        check(len(fixedbar_subtree(edited)) == 2, "the test's edit did not add two <fixedBar>")
        guest = virtinst.Guest(conn, parsexml=edited)
        expect_refusal(lambda: conn.defineXML(guest.get_xml()),
                       libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                       "with <fixedBar> is below pcie-root-port with index 2, which is "
                       "not plugged into a pcie-expander-bus or, through the upstream port of "
                       "a PCIe switch at slot 0, into another such port; remove the device's "
                       "<address> to let libvirt place it")
        check(conn.lookupByName("vmm").XMLDesc(0) == before, "refused edit changed the domain")

        # the edit the message asks for: no guest <address> on the hostdevs
        root = ET.fromstring(guest.get_xml())
        for dev in root.findall("./devices/hostdev"):
            dev.remove(dev.find("./address"))
        guest = virtinst.Guest(conn, parsexml=ET.tostring(root, encoding="unicode"))
        dom = conn.defineXML(guest.get_xml())
        got = ET.fromstring(dom.XMLDesc(0))
        check(fixedbar_subtree(got) == fixedbar_subtree(edited),
              "virt-manager's define lost or changed <fixedBar>: %s" % fixedbar_subtree(got))
        ctrls = controllers_by_index(got)
        for dev in got.findall("./devices/hostdev"):
            pxb = ctrls[ports_above(ctrls, dev)[-1]]
            check(pxb.get("model") == "pcie-expander-bus", "device not placed below a pxb")
    finally:
        dom.undefine()


def test_virt_manager_edit_keeps_fixedbar(uri):
    """Editing a known setting in virt-manager keeps <fixedBar> and its <bar>."""
    conn = virtinst_conn(uri)
    src = domain_xml("vmm-edit", hostdev(0x43, fixedbar=HAND_EDITED) + hostdev(0x44))
    dom = conn.defineXML(src)
    try:
        guest = virtinst.Guest(conn, parsexml=dom.XMLDesc(0))
        guest.description = "edited in virt-manager"
        guest.currentMemory = guest.memory = 2 * 1024 * 1024
        dom = conn.defineXML(guest.get_xml())
        got = ET.fromstring(dom.XMLDesc(0))
        check(got.findtext("description") == "edited in virt-manager", "edit lost")
        check(fixedbar_subtree(got) == fixedbar_subtree(src),
              "<fixedBar> changed by the edit")
    finally:
        dom.undefine()


def ports_above(ctrls, elem):
    """The indexes of the PCI controllers above device ELEM, nearest first,
    up to its root bus"""
    chain = [bus_of(elem)]
    while ctrls[chain[-1]].get("model") not in ("pcie-root", "pcie-expander-bus"):
        chain.append(bus_of(ctrls[chain[-1]]))
    return chain


def ea_placement(xml):
    """{host bus: (port index, pxb index, pxb busNr)} of the fixedBar
    devices of domain XML XML, the port being the root port or switch
    downstream port the device is plugged into"""
    ctrls = controllers_by_index(xml)
    placed = {}
    for dev in xml.findall("./devices/hostdev"):
        host = int(dev.find("./source/address").get("bus"), 16)
        chain = ports_above(ctrls, dev)
        pxb = chain[-1]
        check(ctrls[pxb].get("model") == "pcie-expander-bus",
              f"host device {host:02x} not below a pcie-expander-bus")
        placed[host] = (chain[0], pxb, int(ctrls[pxb].find("./target").get("busNr")))
    return placed


def guest_switch(xml, host):
    """The index of the pcie-switch-upstream-port host device HOST (its
    bus) is below in domain XML XML, or None"""
    ctrls = controllers_by_index(xml)
    for dev in xml.findall("./devices/hostdev"):
        if int(dev.find("./source/address").get("bus"), 16) == host:
            return next((i for i in ports_above(ctrls, dev)
                         if ctrls[i].get("model") == "pcie-switch-upstream-port"),
                        None)
    return None


def edit_flows(conn, dom, device, joined, detached=None):
    """Add DEVICE to the inactive definition of DOM the ways the tools do:
    attach-device --config (Nova, virsh), detach-device --config and attach
    again, and detach, edit the XML and define it (virt-manager).  After
    each, JOINED(how, want_port) checks the definition and returns the
    device's port, which the later flows must give it again; DETACHED(dom),
    if given, checks the definition after a detach.  Returns the domain."""
    dom.attachDeviceFlags(device, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    port = joined("attach-device --config", None)

    dom.detachDeviceFlags(device, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    if detached:
        detached(dom)
    dom.attachDeviceFlags(device, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    joined("detach + attach-device --config", port)

    dom.detachDeviceFlags(device, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    edited = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    edited.find("./devices").append(ET.fromstring(device))
    dom = conn.defineXML(ET.tostring(edited, encoding="unicode"))
    joined("edit + define", port)
    return dom


def test_group_grows_by_edit_flows(uri):
    """The NIC joins the GPU of its host root complex after the domain was
    defined with the GPU alone: by attach-device --config (Nova, virsh), by
    editing the XML and defining it again (virt-manager), and after
    detach-device --config; each time below the GPU's pcie-expander-bus,
    without a change of its busNr, and the result converts to a command
    line."""
    conn = open_conn(uri)
    nic = hostdev(0x44)
    dom = conn.defineXML(domain_xml("grow", hostdev(0x43)))
    try:
        gpu = ea_placement(ET.fromstring(dom.XMLDesc(0)))[0x43]

        def joined(how, want_port):
            placed = ea_placement(ET.fromstring(conn.lookupByName("grow").XMLDesc(0)))
            check(placed.get(0x43) == gpu, f"{how}: the GPU moved: {placed.get(0x43)} != {gpu}")
            check(0x44 in placed, f"{how}: the NIC is not in the definition")
            port, pxb, busnr = placed[0x44]
            check((pxb, busnr) == gpu[1:],
                  f"{how}: the NIC is below pxb {pxb} busNr {busnr}, not {gpu[1:]}")
            check(port != gpu[0], f"{how}: the NIC shares the GPU's root port")
            if want_port is not None:
                check(port == want_port, f"{how}: the NIC got root port {port}, not {want_port}")
            return port

        def detached(dom):
            check(list(ea_placement(ET.fromstring(dom.XMLDesc(0)))) == [0x43],
                  "detach-device --config left the NIC")

        dom = edit_flows(conn, dom, nic, joined, detached)

        argv = conn.domainXMLToNative("qemu-argv", dom.XMLDesc(0), 0)
        for want in ('"driver":"vfio-pci","host":"0000:43:00.0"',
                     '"driver":"vfio-pci","host":"0000:44:00.0"',
                     f'"driver":"pxb-pcie","bus_nr":{gpu[2]}'):
            check(want in argv, f"domxml-to-native lacks {want}")
    finally:
        dom.undefine()


def test_switch_peer_joins_by_edit_flows(uri):
    """Two GPUs below one host switch are placed below one guest switch;
    the NIC below the same host switch joins that guest switch by
    attach-device --config, after detach-device --config in the same
    downstream port, and by edit + define, and the result converts to a
    command line with the switch."""
    conn = open_conn(uri)
    nic = hostdev(0xc5)
    dom = conn.defineXML(domain_xml("switch", hostdev(0xc3) + hostdev(0xc4)))
    try:
        xml = ET.fromstring(dom.XMLDesc(0))
        upstream = guest_switch(xml, 0xc3)
        check(upstream is not None, "the GPUs are not below a guest switch")
        check(guest_switch(xml, 0xc4) == upstream,
              "the GPUs are below different guest switches")

        def joined(how, want_port):
            xml = ET.fromstring(conn.lookupByName("switch").XMLDesc(0))
            check(guest_switch(xml, 0xc5) == upstream,
                  f"{how}: the NIC is below guest switch {guest_switch(xml, 0xc5)}, "
                  f"not {upstream}")
            port = ea_placement(xml)[0xc5][0]
            if want_port is not None:
                check(port == want_port,
                      f"{how}: the NIC got downstream port {port}, not {want_port}")
            return port

        dom = edit_flows(conn, dom, nic, joined)

        argv = conn.domainXMLToNative("qemu-argv", dom.XMLDesc(0), 0)
        for want in ('"driver":"x3130-upstream"',
                     '"driver":"xio3130-downstream"',
                     '"driver":"vfio-pci","host":"0000:c5:00.0"'):
            check(want in argv, f"domxml-to-native lacks {want}")
    finally:
        dom.undefine()


PHASES = {
    "stock": [test_bindings_use_built_libvirt,
              test_probe_without_ea_capabilities,
              test_define_refused_without_ea_capabilities],
    "patched": [test_probe,
                  test_nova_define_xmldesc_undefine,
                  test_nova_refused_configuration_not_saved,
                  test_nova_sriov_interface_hostdev,
                  test_hand_edited_roundtrip,
                  test_virt_manager_xml_editor,
                  test_virt_manager_edit_keeps_fixedbar,
                  test_group_grows_by_edit_flows,
                  test_switch_peer_joins_by_edit_flows],
}


def main():
    global EMULATOR
    phase, uri, EMULATOR = sys.argv[1], sys.argv[2], sys.argv[3]
    # the embedded driver needs an event loop, as in Nova and virt-manager
    libvirt.virEventRegisterDefaultImpl()
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    passed = failed = 0
    for test in PHASES[phase]:
        try:
            test(uri)
        except Failure as e:
            print(f"FAIL {test.__name__}: {e}")
            failed += 1
        except Exception:
            print(f"FAIL {test.__name__}:")
            traceback.print_exc(file=sys.stdout)
            failed += 1
        else:
            print(f"ok {test.__name__}")
            passed += 1
        while OPENED:
            OPENED.pop().close()
    print(f"api tests ({phase}): {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
