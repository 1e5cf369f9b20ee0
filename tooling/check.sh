#!/usr/bin/env bash
# The project's test command (README: 'make check').  On a fresh Debian 12
# machine it installs what it needs, fetches and verifies the pinned
# tarballs, assembles and builds the trees (libvirt, QEMU, Linux), then runs:
#   - the tooling's own tests (tooling/tests/run.sh);
#   - the project's own test, for each upstream: the repository's HEAD
#     reproduces its assembled tree exactly;
#   - libvirt's recorded capabilities of the patched QEMU are what the
#     built binaries reply (tooling/qemu-caps.sh);
#   - libvirt's whole suite on the assembled tree: 'bin' and 'script'
#     (including the tests this project adds) and 'syntax-check', the
#     latter with the vendored subprojects/keycodemapdb/ excluded;
#   - the API-user tests: Python bindings (Nova's calls) and virtinst
#     (virt-manager) against the built QEMU driver and the real QEMU 10.0;
#   - the fixedBar-relevant tests again, in a second build with ASan and
#     UBSan;
#   - QEMU's qtests of the contract (QEMU_QTESTS in tooling/upstreams/qemu.conf)
#     and those of the PCI, q35 and virt code they touch;
#   - libvirt's fixedBar command lines started in the patched QEMU under
#     SeaBIOS, OVMF and AAVMF (tooling/qemuargs/);
#   - the end-to-end test: guests with the patched and with Debian's stock
#     Linux kernel booted from what libvirt emits, checking GPA == HPA in
#     the running guest (tooling/e2e/).
# It ends with one summary line and fails if anything failed.
source "$(dirname "$0")/common.sh"

start=$SECONDS

"$TOP/tooling/deps.sh"

passed=0
failed=0
skipped=0

# Count a project test run's log: "ok NAME" and "FAIL NAME" lines count,
# and each of the $3 summary lines (matching $2) that is missing counts as
# one more failure, since the run died before it.
count_project_tests() {
    local label=$1 summary=$2 expected=$3 log=$4 ok fail summaries
    ok=$(grep -c '^ok ' "$log" || true)
    fail=$(grep -c '^FAIL ' "$log" || true)
    summaries=$(grep -c "$summary" "$log" || true)
    if [ "$summaries" -lt "$expected" ]; then
        fail=$((fail + expected - summaries))
    fi
    passed=$((passed + ok))
    failed=$((failed + fail))
    msg "$label: $ok ok, $fail fail (log: $log)"
    if [ "$fail" -ne 0 ]; then
        sed '/^ok /d' "$log" | tail -n 60 >&2
    fi
}

# The tooling's own tests, on scratch projects (seconds, no libvirt build).
run_tooling_tests() {
    local log=$CACHE_DIR/test-tooling.log
    msg "tooling tests"
    mkdir -p "$CACHE_DIR"
    "$TOP/tooling/tests/run.sh" >"$log" 2>&1 || true
    count_project_tests tooling '^tooling tests: ' 1 "$log"
}

run_tooling_tests

# Every upstream's tree, assembled and built (incrementally when it was).
assemble_and_build "${UPSTREAMS[@]}"
msg "built ($((SECONDS - start)) s so far)"

# Project tests
for upstream in "${UPSTREAMS[@]}"; do
    if FIXEDBAR_UPSTREAM=$upstream "$TOP/tooling/verify-tree.sh"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done

# libvirt's capability data of the patched QEMU (the +fixedbar variant
# that qemucapabilitiestest and domaincapstest read) is what the built
# QEMU replies.
if "$TOP/tooling/qemu-caps.sh" check; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# meson prints "Ok: N", "Expected Fail: N", "Fail: N", "Unexpected Pass: N",
# "Skipped: N" and "Timeout: N" at the end of a run.
count() {
    sed -n "s/^$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

# run_suites LABEL BUILDDIR MESON-TEST-ARGS...: run and count.
run_suites() {
    local label=$1 builddir=$2 log ok xfail fail xpass skip timeout
    shift 2
    log=$CACHE_DIR/test-$label.log
    msg "libvirt suite: $label"
    # QEMU's build dir belongs to the newer meson of its own venv.
    local meson=meson
    [ ! -x "$builddir/pyvenv/bin/meson" ] || meson=$builddir/pyvenv/bin/meson
    "$meson" test -C "$builddir" --no-rebuild --print-errorlogs "$@" >"$log" 2>&1 || true
    ok=$(count 'Ok' "$log")
    xfail=$(count 'Expected Fail' "$log")
    fail=$(count 'Fail' "$log")
    xpass=$(count 'Unexpected Pass' "$log")
    skip=$(count 'Skipped' "$log")
    timeout=$(count 'Timeout' "$log")
    if [ -z "$ok" ]; then
        tail -n 40 "$log" >&2
        failed=$((failed + 1))
        msg "$label: meson test did not run (log: $log)"
        return
    fi
    passed=$((passed + ok + xfail))
    failed=$((failed + fail + xpass + timeout))
    skipped=$((skipped + skip))
    msg "$label: $ok ok, $xfail expected fail, $fail fail, $xpass unexpected pass, $skip skipped, $timeout timeout (log: $log)"
    if [ $((fail + xpass + timeout)) -ne 0 ]; then
        grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|UNEXPECTEDPASS)' "$log" >&2 || true
    fi
}

run_suites bin+script "$BUILD" --suite bin --suite script

# The API users (tooling/apitests/): two phases, each with a summary line.
run_api_tests() {
    local log=$CACHE_DIR/test-api.log
    if ! "$TOP/tooling/runtime-deps.sh"; then
        failed=$((failed + 1))
        msg "api: cannot install what the API-user tests need (see above)"
        return
    fi
    msg "API-user tests"
    "$TOP/tooling/apitests/run.sh" >"$log" 2>&1 || true
    count_project_tests api '^api tests (.*): ' 2 "$log"
}

run_api_tests

# The tarball ships subprojects/keycodemapdb/ as ordinary files (upstream
# has a submodule there, which syntax-check never sees), so it is left out
# the way libvirt-style.md describes.  Make expands a command-line variable
# given through MAKEFLAGS once more than one given as an argument, hence $$$$.
MAKEFLAGS='VC_LIST_ALWAYS_EXCLUDE_REGEX=[.](po|ico|png)$$$$|^subprojects/keycodemapdb/' \
    run_suites syntax-check "$BUILD" --suite syntax-check

# The fixedBar-relevant tests once more, built with AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer.
#
# libvirt's tests re-execute themselves with their mock libraries first in
# LD_PRELOAD (VIR_TEST_PRELOAD), ahead of the ASan runtime, and ASan then
# refuses to start: "ASan runtime does not come first in initial library
# list".  That check protects against a preloaded library that brings its
# own malloc; the mocks replace file, device and process functions and
# pass the rest on to the next definition (ASan's interceptors, then libc),
# so verify_asan_link_order=0 is safe, and with it ASan, LeakSanitizer and
# UBSan work under the mocks: a leak, a heap overflow and a signed overflow
# planted in virpciea.c each fail this run.  valgrind's memcheck, the
# fallback for mocks that defeat ASan, is therefore not needed.  UBSan
# reports and carries on unless told to halt; every finding must fail.
run_sanitizer_tests() {
    msg "building the sanitizer build"
    "$TOP/tooling/build.sh" --sanitizers >"$CACHE_DIR/build-asan.log" 2>&1 ||
        { tail -n 40 "$CACHE_DIR/build-asan.log" >&2; die "sanitizer build failed (log: $CACHE_DIR/build-asan.log)"; }
    ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:halt_on_error=1:print_summary=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1 \
        run_suites asan+ubsan "$SANITIZER_BUILD" --timeout-multiplier 3 "${SANITIZER_TESTS[@]}"
}

run_sanitizer_tests

# QEMU's qtests: the contract's own, and the existing ones of the code the
# patches touch, for each target that registers them.
run_qemu_tests() {
    local qemu_build list names t arch found missing=() qtests=()
    qemu_build=$TOP/$(upstream_var qemu UP_TREE)/$(upstream_var qemu UP_BUILD_DIR)
    list=$("$qemu_build/pyvenv/bin/meson" test -C "$qemu_build" --list 2>/dev/null) || list=
    mapfile -t names < <(
        source "$TOP/tooling/upstreams/qemu.conf"
        printf '%s\n' "${QEMU_QTESTS[@]}"
    )
    for t in "${names[@]}"; do
        found=0
        for arch in x86_64 aarch64; do
            if grep -qxF "qemu:qtest+qtest-$arch / qtest-$arch/$t" <<<"$list"; then
                qtests+=("qtest-$arch/$t")
                found=1
            fi
        done
        [ $found -eq 1 ] || missing+=("$t")
    done
    if [ ${#missing[@]} -ne 0 ]; then
        failed=$((failed + ${#missing[@]}))
        msg "qemu-qtest: not registered for any target: ${missing[*]}"
    fi
    # With no name, meson test would run every test.
    [ ${#qtests[@]} -ne 0 ] || return 0
    run_suites qemu-qtest "$qemu_build" --timeout-multiplier 3 "${qtests[@]}"
}

run_qemu_tests

# Every positive fixedBar command line of libvirt's tests, with vfio-pci
# replaced by the stand-in, in the patched QEMU under SeaBIOS, OVMF and
# AAVMF (tooling/qemuargs/README).
run_qemu_args() {
    local log=$CACHE_DIR/test-qemuargs.log
    msg "libvirt's fixedBar command lines in the patched QEMU"
    /usr/bin/python3 "$TOP/tooling/qemuargs/run.py" >"$log" 2>&1 || true
    count_project_tests qemuargs '^qemuargs: ' 1 "$log"
}

run_qemu_args

run_e2e() {
    local log=$CACHE_DIR/test-e2e.log
    msg "end to end: libvirt, the patched QEMU and the guest kernels"
    "$TOP/tooling/e2e.sh" >"$log" 2>&1 || true
    sed -n '/^configuration /,/^(cells/p' "$log" >&2
    count_project_tests e2e '^e2e: ' 1 "$log"
}

run_e2e

msg "total time $((SECONDS - start)) s"
echo "make check: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
