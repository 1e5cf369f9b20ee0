#!/usr/bin/env bash
# The main job (README: 'make demo'): <fixedBar> end to end through virsh
# and the real QEMU driver of the built libvirt, embedded in virsh
# (qemu:///embed, no daemon), with the project's patched QEMU 10.0.2
# (tree-qemu/) as the domain's emulator, probed by libvirt like any QEMU.
# The domain then boots, under TCG with OVMF, the project's patched Linux
# 6.12 guest kernel (tree-linux/) and, for contrast, Debian's stock one
# (tooling/e2e/run.py): the guest shows each device's BARs at their host
# addresses in /proc/iomem, nested in the windows the kernel opened, and
# reads and writes them.
#
# Two things are simulated, and the output says so where they are used:
#   - the host's PCI devices: the fake sysfs of tests/libvirpcimock.so
#     (its two-root-complex x86 host; a GPU and a NIC behind one PCIe switch
#     in one IOMMU group), preloaded into virsh;
#   - vfio-pci's host side: with no device to assign, each vfio-pci device
#     runs as pci-standin, an emulated endpoint of the patched QEMU with the
#     same id, bus, addr, x-ea* properties and the host device's BAR layout,
#     one BAR backed by a file the host reads.
# Everything printed comes from virsh, from the fake sysfs (labelled), from
# QEMU or from the guest.
#
# With --real ('make demo HOST=real') nothing is simulated: the same steps
# run against this host's PCI devices (DEVICES=DDDD:BB:SS.F,...) and the
# installed QEMU, and the demo says what the host or QEMU lacks.
source "$(dirname "$0")/common.sh"
# shellcheck source=embedded.sh
source "$TOP/tooling/embedded.sh"

real=0
[ "${1:-}" = "--real" ] && real=1

DEMO=$TOP/tooling/demo
WORK=$CACHE_DIR/demo
EMBED_ROOT=$WORK/root
EMBED_SYSFS=$WORK/sysfs
[ $real -eq 0 ] || EMBED_SYSFS=
URI=$(embedded_uri)
VIRSH=$BUILD/tools/virsh
STOCK_QEMU=/usr/bin/qemu-system-x86_64
if [ $real -eq 0 ]; then
    QEMU=$(patched_qemu x86_64)
else
    QEMU=$STOCK_QEMU
fi

# Set up: the builds 'make check' uses (incremental when they exist):
# libvirt and, in the simulated mode, the patched QEMU with Debian's QEMU
# 10.0 and firmware (--real takes the installed QEMU as it is); the QEMU
# user.
setup() {
    "$TOP/tooling/deps.sh"
    if [ $real -eq 1 ]; then
        assemble_and_build libvirt
        "$TOP/tooling/runtime-deps.sh" --installed-qemu
    else
        assemble_and_build libvirt qemu linux
        "$TOP/tooling/runtime-deps.sh"
    fi
}

section() {
    printf '\n======== %s ========\n\n' "$*"
}

virsh() {
    embedded_virsh "$@"
}

# The <hostdev> element of the domain capabilities on stdin, as virsh
# printed it.
hostdev_caps() {
    sed -n '/^    <hostdev supported/,/^    <\/hostdev>/p'
}

show_xml() {
    sed 's/^/    /' "$1"
}

# The demo's domain NAME (tooling/demo/NAME.xml) with the patched QEMU as
# its <emulator>, written to the work directory; prints the file.
domain_xml() {
    local xml=$WORK/$1.xml
    sed "s|@PATCHED_QEMU@|$QEMU|" "$DEMO/$1.xml" >"$xml"
    printf '%s\n' "$xml"
}

# A refused configuration: run the command, show the error; fail if it
# was accepted, or refused for another reason than the one the demo
# explains ($2, a part of libvirt's message).
refused() {
    local title=$1 reason=$2 out rc
    shift 2
    printf -- '--- %s\n$ virsh %s\n' "$title" "$*"
    rc=0
    out=$(virsh "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    [ $rc -ne 0 ] || die "virsh $* was expected to fail"
    [[ $out == *"$reason"* ]] || die "virsh $* failed, but not because of '$reason'"
    printf '    (exit status %d)\n\n' "$rc"
}

simulated_host() {
    local dev sysfs=$EMBED_SYSFS/sys/bus/pci/devices
    echo "[SIMULATED] libvirt read these host facts from the fake sysfs of"
    echo "tests/libvirpcimock.so ($EMBED_SYSFS):"
    for dev in 0000:83:00.0 0000:84:00.0; do
        echo
        echo "  $dev -> $(readlink "$sysfs/$dev" | sed 's|^\(\.\./\)*||')"
        echo "    iommu_group $(basename "$(readlink "$sysfs/$dev/iommu_group")")," \
            "numa_node $(cat "$sysfs/$dev/numa_node")"
        echo "    resource (non-empty lines: start end flags):"
        grep -v '^0x0000000000000000 0x0000000000000000' "$sysfs/$dev/resource" | sed 's/^/      /'
    done
}

demo_simulated() {
    local argv=$WORK/gpu-nic.argv dumpxml=$WORK/gpu-nic.dumpxml.xml xml caps

    section "What is real and what is simulated"
    echo "libvirt:  $("$VIRSH" --version) built from this repository ($BUILD), QEMU driver"
    echo "          embedded in virsh: $URI"
    echo "QEMU:     $QEMU"
    echo "          $("$QEMU" --version | head -n 1), with this project's patch set (qemu/),"
    echo "          the domain's <emulator>; it runs under TCG"
    echo "firmware: Debian's SeaBIOS $(dpkg-query -W -f='${Version}' seabios) and OVMF $(dpkg-query -W -f='${Version}' ovmf)"
    echo "[SIMULATED] host PCI devices: fake sysfs of tests/libvirpcimock.so"
    echo "guest:     Linux $(upstream_var linux UP_TITLE | sed 's/^Linux //') with this project's patch (linux/), built"
    echo "          here ($(upstream_var linux UP_TREE)/), and Debian's stock kernel of that version"
    echo "          for contrast, both with a busybox initramfs (tooling/e2e/guest/)"
    echo "[SIMULATED] host PCI devices: fake sysfs of tests/libvirpcimock.so"
    echo "[SIMULATED] vfio-pci's host side: no device is assigned; in QEMU each vfio-pci"
    echo "            device runs as pci-standin, an emulated endpoint with the same id, bus,"
    echo "            addr, x-ea* properties and the host device's BAR layout, one BAR"
    echo "            backed by a file the host reads (section 6)"

    section "1. The domain: a GPU and a NIC of one IOMMU group, each with <fixedBar>"
    xml=$(domain_xml gpu-nic)
    show_xml "$xml"

    section "2. virsh domcapabilities: fixedBarMode"
    echo "\$ virsh domcapabilities --emulatorbin $QEMU --virttype qemu --machine q35   (<hostdev> only)"
    caps=$(virsh domcapabilities --emulatorbin "$QEMU" --virttype qemu --machine q35)
    printf '%s\n' "$caps" | hostdev_caps
    [[ $caps == *"<enum name='fixedBarMode'>"* ]] ||
        die "libvirt reports no fixedBarMode for $QEMU"
    echo
    echo "For contrast, Debian's QEMU, which has no EA properties"
    echo "($("$STOCK_QEMU" --version | head -n 1)):"
    echo "\$ virsh domcapabilities --emulatorbin $STOCK_QEMU --virttype qemu --machine q35"
    virsh domcapabilities --emulatorbin "$STOCK_QEMU" --virttype qemu --machine q35 | hostdev_caps

    section "3. virsh define, then virsh dumpxml: the placement libvirt chose"
    echo "\$ virsh define gpu-nic.xml"
    virsh define "$xml"
    echo
    simulated_host
    echo
    echo "\$ virsh dumpxml gpu-nic"
    virsh dumpxml gpu-nic >"$dumpxml"
    show_xml "$dumpxml"

    section "4. virsh domxml-to-native qemu-argv --domain gpu-nic"
    echo "(LD_PRELOAD of libvirpcimock.so in it is the [SIMULATED] host, passed on by libvirt)"
    echo
    virsh domxml-to-native qemu-argv --domain gpu-nic >"$argv"
    sed 's/ -/ \\\n    -/g' "$argv"
    echo
    /usr/bin/python3 "$DEMO/show-bars.py" "$argv"

    section "5. Two configurations libvirt refuses, and why"
    echo "The GPU hand-placed on an ordinary root port of pcie.0:"
    echo
    xml=$(domain_xml refused-root-port)
    show_xml "$xml"
    echo
    refused "refused at define" "which is not plugged into a pcie-expander-bus" define "$xml"
    echo "The NIC of the GPU's IOMMU group assigned without <fixedBar>. libvirt"
    echo "checks host facts when it prepares the domain to start, which"
    echo "domxml-to-native does too:"
    echo
    xml=$(domain_xml refused-split-group)
    show_xml "$xml"
    echo
    refused "refused by domxml-to-native (and at start)" "shares an IOMMU group with host device" \
        domxml-to-native qemu-argv "$xml"
    echo "Only the demo domain is defined:"
    echo "\$ virsh list --all --name"
    virsh list --all --name | sed 's/^/    /'

    section "6. The domain boots: GPA == HPA inside the running guest"
    echo "tooling/e2e/run.py defines the domain again with a guest kernel, a busybox"
    echo "initramfs and a serial console added, and OVMF as firmware, takes the command"
    echo "line libvirt emits for it, starts it in the patched QEMU under TCG (the"
    echo "changes to the command line: [SIMULATED] vfio-pci runs as pci-standin with"
    echo "the host device's BARs, one of them backed by a file; the harness's QMP socket"
    echo "instead of libvirt's monitor), and checks what the guest printed. Once with"
    echo "the patched kernel, once with Debian's stock kernel, which must fail."
    echo
    echo "\$ tooling/e2e/run.py --domain gpu-nic.xml --only x86_64-ovmf --show"
    "$TOP/tooling/e2e.sh" --workdir "$WORK/e2e" --domain "$DEMO/gpu-nic.xml" \
        --only x86_64-ovmf --show
    echo
    echo "The table is the same check 'make check' runs for SeaBIOS, OVMF and AAVMF"
    echo "(make e2e); the stock kernel's FAIL cells are the expected ones."

    virsh undefine gpu-nic >/dev/null
}

# Devices of the real host to try (DEVICES=DDDD:BB:SS.F,...).
demo_real() {
    local lacking=() groups caps devices dev xml argv=$WORK/real.argv machine arch
    local vfio_props machine_props d b s f

    arch=$(uname -m)
    case $arch in
        x86_64) machine=q35 ;;
        aarch64) machine=virt; QEMU=/usr/bin/qemu-system-aarch64 ;;
        *) die "fixedBar supports x86_64 (q35) and aarch64 (virt) hosts, not $arch" ;;
    esac
    [ -x "$QEMU" ] || die "no QEMU at $QEMU: install it (fixedBar needs a QEMU with vfio-pci x-ea and x-fixed-mmio)"

    section "What this runs against"
    echo "libvirt:  $("$VIRSH" --version) built from this repository, QEMU driver embedded: $URI"
    echo "QEMU:     $("$QEMU" --version | head -n 1)"
    echo "host:     this machine's PCI devices, no simulation"


    section "1. What QEMU offers"
    caps=$(virsh domcapabilities --emulatorbin "$QEMU" --machine "$machine" --virttype qemu) ||
        die "virsh domcapabilities failed for $QEMU"
    printf '%s\n' "$caps" | hostdev_caps
    if [[ $caps != *"<enum name='fixedBarMode'>"* ]]; then
        echo
        echo "libvirt lists no fixedBarMode: $QEMU lacks"
        # whole outputs first: grep -q in a pipe could make QEMU die of SIGPIPE
        vfio_props=$("$QEMU" -device vfio-pci,help 2>/dev/null || true)
        machine_props=$("$QEMU" -machine "$machine,help" 2>/dev/null || true)
        [[ $vfio_props == *"x-ea="* ]] ||
            { echo "  - vfio-pci property x-ea"; lacking+=("QEMU: vfio-pci x-ea"); }
        [[ $vfio_props == *"x-ea-bar0-addr="* ]] ||
            { echo "  - vfio-pci property x-ea-bar0-addr"; lacking+=("QEMU: vfio-pci x-ea-bar0-addr"); }
        [[ $machine_props == *"x-fixed-mmio"* ]] ||
            { echo "  - machine property x-fixed-mmio on $machine"; lacking+=("QEMU: $machine x-fixed-mmio"); }
        [ ${#lacking[@]} -ne 0 ] || lacking+=("QEMU: libvirt does not report fixedBarMode")
    fi

    section "2. What the host offers"
    groups=$(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "IOMMU groups: $groups"
    if [ "$groups" -eq 0 ]; then
        echo "  this host has no IOMMU groups: enable the IOMMU (intel_iommu=on,"
        echo "  amd_iommu=on or the SMMU in firmware) so that VFIO can assign devices"
        lacking+=("host: no IOMMU groups")
    fi
    [ -e /dev/vfio/vfio ] || { echo "no /dev/vfio/vfio: load vfio-pci"; lacking+=("host: no /dev/vfio/vfio"); }
    devices=${DEVICES:-}
    if [ -z "$devices" ]; then
        echo "no devices named: give the PCI devices to assign, e.g."
        echo "  make demo HOST=real DEVICES=0009:01:00.0,0009:02:00.0"
        lacking+=("DEVICES not given")
    fi
    for dev in ${devices//,/ }; do
        if [ -e "/sys/bus/pci/devices/$dev" ]; then
            echo "  $dev: $(readlink -f "/sys/bus/pci/devices/$dev"), IOMMU group" \
                "$(basename "$(readlink "/sys/bus/pci/devices/$dev/iommu_group" 2>/dev/null || echo none)")"
        else
            echo "  $dev: no such PCI device on this host"
            lacking+=("host: no PCI device $dev")
        fi
    done

    if [ ${#lacking[@]} -ne 0 ]; then
        section "Result"
        echo "fixedBar cannot run here; missing:"
        printf '  - %s\n' "${lacking[@]}"
        exit 1
    fi

    section "3. virsh define, dumpxml and domxml-to-native with the host's devices"
    # outside $WORK, which every demo run starts afresh: the user is told
    # to define this file
    mkdir -p "$CACHE_DIR/demo-real"
    xml=$CACHE_DIR/demo-real/fixedbar-real.xml
    {
        echo "<domain type='$( [ -c /dev/kvm ] && echo kvm || echo qemu)'>"
        echo "  <name>fixedbar-real</name>"
        echo "  <memory unit='GiB'>4</memory>"
        echo "  <vcpu>4</vcpu>"
        echo "  <os><type arch='$arch' machine='$machine'>hvm</type></os>"
        echo "  <cpu mode='host-passthrough'><maxphysaddr mode='passthrough'/></cpu>"
        echo "  <devices>"
        echo "    <emulator>$QEMU</emulator>"
        for dev in ${devices//,/ }; do
            IFS=':.' read -r d b s f <<<"$dev"
            echo "    <hostdev mode='subsystem' type='pci' managed='yes'>"
            echo "      <source><address domain='0x$d' bus='0x$b' slot='0x$s' function='0x$f'/></source>"
            echo "      <fixedBar mode='hpa'/>"
            echo "    </hostdev>"
        done
        echo "  </devices>"
        echo "</domain>"
    } >"$xml"
    show_xml "$xml"
    virsh define "$xml"
    virsh dumpxml fixedbar-real | sed 's/^/    /'
    virsh domxml-to-native qemu-argv --domain fixedbar-real >"$argv" ||
        { virsh undefine fixedbar-real >/dev/null; exit 1; }
    sed 's/ -/ \\\n    -/g' "$argv"
    virsh undefine fixedbar-real >/dev/null
    echo
    echo "libvirt accepted the domain and prepared its QEMU command line. The demo"
    echo "does not start it: starting detaches the devices from their host drivers."
    echo "To start it, define it in your libvirt (virsh define $xml)."
}

[ "$(id -u)" -eq 0 ] || die "the embedded QEMU driver runs as root here: run 'make demo' as root"
setup
rm -rf "$WORK"
mkdir -p "$WORK"

if [ $real -eq 0 ]; then
    demo_simulated
else
    demo_real
fi
