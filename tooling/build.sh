#!/usr/bin/env bash
# Configure (once) and build the assembled tree with meson/ninja.  Only the
# QEMU driver, the daemons it needs, virsh, the docs and the tests are built;
# the other hypervisor drivers are switched off.  meson uses ccache on its
# own when it is installed, so a rebuild after re-assembling is cheap.
source "$(dirname "$0")/common.sh"

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"

MESON_OPTIONS=(
    -Ddriver_qemu=enabled
    -Ddriver_remote=enabled
    -Ddriver_libvirtd=enabled
    -Ddriver_test=enabled
    -Ddocs=enabled
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

if [ ! -f "$BUILD/build.ninja" ]; then
    mkdir -p "$CACHE_DIR"
    msg "configuring $BUILD"
    meson setup "$BUILD" "$TREE" "${MESON_OPTIONS[@]}" >"$CACHE_DIR/meson-setup.log" 2>&1 ||
        { tail -n 30 "$CACHE_DIR/meson-setup.log" >&2; die "meson setup failed (log: $CACHE_DIR/meson-setup.log)"; }
fi

msg "building"
ninja -C "$BUILD"
