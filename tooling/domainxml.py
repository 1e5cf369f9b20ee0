# Domain XML for the tests and the benchmark that drive the built QEMU
# driver (tooling/apitests/, tooling/bench/): a TCG q35 guest whose CPU has
# 48 physical address bits, enough for the BARs of the fake hosts.

FIXEDBAR = "\n      <fixedBar mode='hpa'/>"


def hostdev(bus, fixedbar=FIXEDBAR, address="", domain=0, slot=0, function=0):
    """A PCI <hostdev> of host device DOMAIN:BUS:SLOT.FUNCTION; FIXEDBAR and
    ADDRESS are inserted after its <source>."""
    return f"""
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x{domain:04x}' bus='0x{bus:02x}' slot='0x{slot:02x}' function='0x{function:x}'/>
      </source>{fixedbar}{address}
    </hostdev>"""


STOCK_QEMU = "/usr/bin/qemu-system-x86_64"


def domain_xml(name, devices, extra="", emulator=STOCK_QEMU):
    """A domain NAME with DEVICES, after EXTRA devices (controllers...),
    run by the QEMU binary EMULATOR."""
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='GiB'>4</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <features>
    <acpi/>
  </features>
  <cpu mode='maximum'>
    <maxphysaddr mode='emulate' bits='48'/>
  </cpu>
  <devices>
    <emulator>{emulator}</emulator>{extra}{devices}
  </devices>
</domain>
"""
