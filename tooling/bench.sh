#!/usr/bin/env bash
# 'make bench': a benchmark, not a test (tooling/bench/bench.py says what
# it measures).  It reuses the 'make check' build and what 'make demo'
# installs, and drives the built QEMU driver embedded in the benchmark
# process and in virsh, with the project's patched QEMU (as libvirt
# probes it) and the benchmark host of tests/libvirpcimock.so
# (VIR_PCI_MOCK_BENCH_HOST).
source "$(dirname "$0")/common.sh"
source "$TOP/tooling/embedded.sh"

[ "$(id -u)" -eq 0 ] || die "the embedded QEMU driver runs as root here: run 'make bench' as root"

"$TOP/tooling/deps.sh"
"$TOP/tooling/assemble.sh"
msg "building (log: $CACHE_DIR/build.log)"
"$TOP/tooling/build.sh" >"$CACHE_DIR/build.log" 2>&1 ||
    { tail -n 40 "$CACHE_DIR/build.log" >&2; die "build failed (log: $CACHE_DIR/build.log)"; }
"$TOP/tooling/runtime-deps.sh"
command -v valgrind >/dev/null || apt_install "to count instructions" valgrind

WORK=$CACHE_DIR/bench
EMBED_ROOT=$WORK/root
EMBED_SYSFS=$WORK/sysfs
rm -rf "$WORK"
mkdir -p "$WORK"

qemu=$(patched_qemu x86_64)
[ -x "$qemu" ] || die "no patched QEMU at $qemu: run 'make build'"

# let libvirt probe the QEMU once; the driver locks its root, so the virsh
# processes under valgrind get a copy
embedded_virsh domcapabilities --emulatorbin "$qemu" --virttype qemu --machine q35 >/dev/null
cp -a "$EMBED_ROOT" "$WORK/root-virsh"

msg "benchmarking (a few minutes: the instruction counts run under valgrind)"
embedded_run env VIR_PCI_MOCK_BENCH_HOST=1 LIBVIRT_DIR_OVERRIDE=1 LD_LIBRARY_PATH="$BUILD/src" \
    /usr/bin/python3 "$TOP/tooling/bench/bench.py" "$(embedded_uri)" \
    "qemu:///embed?root=$WORK/root-virsh" "$BUILD/tools/virsh" "$WORK" "$qemu"
