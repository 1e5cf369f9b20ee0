#!/usr/bin/env bash
# The API-user tests of 'make check' (tooling/apitests/api_test.py): the
# Python bindings and virt-manager's virtinst against the built libvirt's
# QEMU driver, embedded in the test process (tooling/runtime-deps.sh
# installs them).  The host's PCI devices are the fake sysfs of
# tests/libvirpcimock.so.  Tests run first against Debian's QEMU 10.0,
# which lacks the EA properties, then against the project's patched QEMU
# 10.0.2 (tree-qemu/), each as libvirt probes it.
#
# Prints "ok NAME"/"FAIL NAME" per test and "api tests: N passed, M failed".
source "$(dirname "$0")/../common.sh"
source "$TOP/tooling/embedded.sh"

WORK=$CACHE_DIR/apitests
EMBED_ROOT=$WORK/root
EMBED_SYSFS=$WORK/sysfs
rm -rf "$WORK"
mkdir -p "$WORK"

[ "$(id -u)" -eq 0 ] || die "the embedded QEMU driver runs as root here: run as root"

api_test() {
    embedded_run env LIBVIRT_DIR_OVERRIDE=1 LD_LIBRARY_PATH="$BUILD/src" \
        /usr/bin/python3 "$TOP/tooling/apitests/api_test.py" "$1" "$(embedded_uri)" "$2"
}

patched=$(patched_qemu x86_64)
[ -x "$patched" ] || die "no patched QEMU at $patched: run 'make build'"

status=0
api_test stock /usr/bin/qemu-system-x86_64 || status=1
api_test patched "$patched" || status=1
exit $status
