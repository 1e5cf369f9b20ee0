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

# The embedded driver's qemu.conf ($EMBED_ROOT/etc/qemu.conf): QEMU runs
# as root like the driver, not as the build's QEMU user (libvirt-qemu),
# which may not be able to enter the checkout (a clone in root's home, a
# mktemp -d directory) to run the patched QEMU or load the mock.
embedded_config() {
    mkdir -p "$EMBED_ROOT/etc"
    printf 'user = "root"\ngroup = "root"\n' >"$EMBED_ROOT/etc/qemu.conf"
}

# Run a command in a clean environment, with the fake sysfs preloaded when
# EMBED_SYSFS is set.  The mock builds its tree when first used and
# refuses an existing one, so every command gets a fresh one; the last one
# stays to show what libvirt read.
embedded_run() {
    local env=(PATH=/usr/bin:/bin LC_ALL=C HOME="$EMBED_ROOT" PYTHONDONTWRITEBYTECODE=1)
    embedded_config
    if [ -n "${EMBED_SYSFS:-}" ]; then
        rm -rf "$EMBED_SYSFS"
        mkdir -p "$EMBED_SYSFS"
        env+=(LD_PRELOAD="$PCIMOCK" LIBVIRT_FAKE_ROOT_DIR="$EMBED_SYSFS")
    fi
    env -i "${env[@]}" "$@"
}

# The project's patched QEMU for architecture $1 (x86_64, aarch64).
patched_qemu() {
    printf '%s/%s/%s/qemu-system-%s\n' "$TOP" "$(upstream_var qemu UP_TREE)" \
        "$(upstream_var qemu UP_BUILD_DIR)" "$1"
}

embedded_virsh() {
    embedded_run "$BUILD/tools/virsh" -q -c "$(embedded_uri)" "$@"
}
