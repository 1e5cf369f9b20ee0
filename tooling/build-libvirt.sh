#!/usr/bin/env bash
# libvirt's build recipe (tooling/upstreams/libvirt.conf): configure (once)
# and build the assembled tree with meson/ninja.  Only the
# QEMU driver, the daemons it needs, virsh, the docs and the tests are built;
# the other hypervisor drivers are switched off.  meson uses ccache on its
# own when it is installed, so a rebuild after re-assembling is cheap.
#
# With --sanitizers, the second build of 'make check' instead: the same
# configuration without docs, with AddressSanitizer and
# UndefinedBehaviorSanitizer, in $SANITIZER_BUILD, and only the targets
# the SANITIZER_TESTS need (their binaries and the mock libraries).
source "$(dirname "$0")/common.sh"

sanitizers=0
[ "${1:-}" = "--sanitizers" ] && sanitizers=1

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"

MESON_OPTIONS=(
    -Ddriver_qemu=enabled
    -Ddriver_remote=enabled
    -Ddriver_libvirtd=enabled
    -Ddriver_test=enabled
    -Dtests=enabled
    -Dno_git=true
    -Ddriver_bhyve=disabled
    -Ddriver_ch=disabled
    -Ddriver_esx=disabled
    -Ddriver_hyperv=disabled
    -Ddriver_libxl=disabled
    -Ddriver_lxc=disabled
    -Ddriver_openvz=disabled
    -Ddriver_vbox=disabled
    -Ddriver_vmware=disabled
    -Ddriver_vz=disabled
    -Dnss=disabled
)

builddir=$BUILD
log=$CACHE_DIR/meson-setup.log
if [ $sanitizers -eq 1 ]; then
    builddir=$SANITIZER_BUILD
    log=$CACHE_DIR/meson-setup-sanitizers.log
    # -Db_lundef=false: the sanitizer runtimes define symbols the shared
    # libraries only find at run time (meson's advice for b_sanitize).
    MESON_OPTIONS+=(-Ddocs=disabled '-Db_sanitize=address,undefined' -Db_lundef=false)
else
    MESON_OPTIONS+=(-Ddocs=enabled)
fi

if [ ! -f "$builddir/build.ninja" ]; then
    mkdir -p "$CACHE_DIR"
    msg "configuring $builddir"
    meson setup "$builddir" "$TREE" "${MESON_OPTIONS[@]}" >"$log" 2>&1 ||
        { tail -n 30 "$log" >&2; die "meson setup failed (log: $log)"; }
fi

targets=()
if [ $sanitizers -eq 1 ]; then
    alltargets=$(ninja -C "$builddir" -t targets all)
    names=$(IFS='|'; echo "${SANITIZER_TESTS[*]}")
    list=$(sed -n -E "s#^(tests/(${names}|lib[a-z0-9_]*mock)(\.so)?): .*#\1#p" <<<"$alltargets")
    mapfile -t targets <<<"$list"
fi

msg "building $builddir"
ninja -C "$builddir" "${targets[@]}"
