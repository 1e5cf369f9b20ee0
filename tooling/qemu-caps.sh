#!/usr/bin/env bash
# libvirt's capability test data for the project's patched QEMU: the QMP
# replies libvirt's own tests/qemucapsprobe records from the built
# emulators, kept as the "+fixedbar" variant in
# tests/qemucapabilitiesdata/ (caps_VERSION_ARCH+fixedbar.replies), so that
# qemucapabilitiestest, qemucaps2xmltest and domaincapstest cover the
# detection of the EA properties the way libvirt tests every QEMU release.
#
# usage: qemu-caps.sh check    probe the built QEMU and compare with the
#                              recorded replies (make check)
#        qemu-caps.sh record   probe it and write the replies into tree/,
#                              then regenerate the expected outputs of those
#                              tests there; review, 'make export', commit
source "$(dirname "$0")/common.sh"
source "$TOP/tooling/embedded.sh"

mode=${1:-}
case $mode in
check|record) ;;
*) die "usage: $0 check|record" ;;
esac

PROBE=$BUILD/tests/qemucapsprobe
DATA=$TREE/tests/qemucapabilitiesdata
[ -x "$PROBE" ] || die "no $PROBE: run 'make build'"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

status=0
for arch in x86_64 aarch64; do
    qemu=$(patched_qemu "$arch")
    [ -x "$qemu" ] || die "no patched QEMU at $qemu: run 'make build'"
    version=$("$qemu" --version | sed -n '1s/^QEMU emulator version \([0-9.]*\).*/\1/p')
    [ -n "$version" ] || die "cannot read the version of $qemu"
    name=caps_${version}_$arch+fixedbar.replies
    "$PROBE" "$qemu" >"$scratch/$name" 2>"$scratch/probe.log" ||
        { cat "$scratch/probe.log" >&2; die "qemucapsprobe failed on $qemu"; }
    if [ "$mode" = record ]; then
        cp "$scratch/$name" "$DATA/$name"
        msg "recorded $DATA/$name"
    elif [ ! -f "$DATA/$name" ]; then
        msg "no recorded $name: run 'bash tooling/qemu-caps.sh record'"
        status=1
    elif ! cmp -s "$scratch/$name" "$DATA/$name"; then
        diff -u "$DATA/$name" "$scratch/$name" | head -n 40 >&2 || true
        msg "$name differs from what the built $qemu replies: run 'bash tooling/qemu-caps.sh record', review and commit"
        status=1
    else
        msg "$name matches the built QEMU"
    fi
done

if [ "$mode" = record ]; then
    tests=(qemucapabilitiestest qemucaps2xmltest domaincapstest)
    ninja -C "$BUILD" "${tests[@]/#/tests/}" >/dev/null
    for t in "${tests[@]}"; do
        VIR_TEST_REGENERATE_OUTPUT=1 "$BUILD/tests/$t" >/dev/null 2>&1 || true
        "$BUILD/tests/$t" >/dev/null || die "$t fails after regenerating its output"
    done
    msg "regenerated the expected outputs; review 'git -C $TREE status' and run 'make export'"
fi
exit $status
