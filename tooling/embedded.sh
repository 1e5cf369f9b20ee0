# Helpers for running the built libvirt's QEMU driver embedded in the
# calling process (qemu:///embed, no daemon), for 'make demo' and the
# API-user tests; sourced after common.sh.
#
# The caller sets EMBED_ROOT (the driver's root directory) and, to simulate
# the host's PCI devices with the fake sysfs of tests/libvirpcimock.so,
# EMBED_SYSFS (the directory the mock builds it in); with EMBED_SYSFS empty
# the host's real devices are used.
# shellcheck shell=bash

PCIMOCK=$BUILD/tests/libvirpcimock.so

embedded_uri() {
    printf 'qemu:///embed?root=%s\n' "$EMBED_ROOT"
}

# Run a command in a clean environment, with the fake sysfs preloaded when
# EMBED_SYSFS is set.  The mock builds its tree when first used and
# refuses an existing one, so every command gets a fresh one; the last one
# stays to show what libvirt read.
embedded_run() {
    local env=(PATH=/usr/bin:/bin LC_ALL=C HOME="$EMBED_ROOT" PYTHONDONTWRITEBYTECODE=1)
    if [ -n "${EMBED_SYSFS:-}" ]; then
        rm -rf "$EMBED_SYSFS"
        mkdir -p "$EMBED_SYSFS"
        env+=(LD_PRELOAD="$PCIMOCK" LIBVIRT_FAKE_ROOT_DIR="$EMBED_SYSFS")
    fi
    env -i "${env[@]}" "$@"
}

embedded_virsh() {
    embedded_run "$BUILD/tools/virsh" -q -c "$(embedded_uri)" "$@"
}

# Simulate the EA capabilities no released QEMU has: add them to the
# capability cache libvirt wrote when it probed the real QEMU (run a
# command that probes it first).  Prints the cache file.
simulate_ea_caps() {
    local cache
    cache=$(find "$EMBED_ROOT/cache/qemu/capabilities" -name '*.xml' -print -quit 2>/dev/null || true)
    [ -n "$cache" ] || die "libvirt wrote no capability cache below $EMBED_ROOT"
    grep -q "<flag name='vfio-pci'/>" "$cache" || die "QEMU has no vfio-pci according to libvirt ($cache)"
    sed -i "s|<flag name='vfio-pci'/>|&\n  <flag name='vfio-pci.ea'/>\n  <flag name='vfio-pci.ea-bar-addr'/>\n  <flag name='machine.fixed-mmio'/>|" "$cache"
    printf '%s\n' "$cache"
}
