#!/usr/bin/env bash
# The API-user tests of 'make check' (tooling/apitests/api_test.py): the
# Python bindings and virt-manager's virtinst against the built libvirt's
# QEMU driver, embedded in the test process, with the real QEMU 10.0
# (tooling/runtime-deps.sh installs both).  The host's PCI devices are the
# fake sysfs of tests/libvirpcimock.so.  Tests run first against QEMU as
# libvirt probed it, then with its EA capabilities added to libvirt's
# capability cache, since no released QEMU has them.
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
        /usr/bin/python3 "$TOP/tooling/apitests/api_test.py" "$1" "$(embedded_uri)"
}

status=0
api_test unsimulated || status=1
simulate_ea_caps >/dev/null
api_test simulated || status=1
exit $status
