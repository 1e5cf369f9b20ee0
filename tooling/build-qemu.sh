#!/usr/bin/env bash
# QEMU's build recipe (tooling/upstreams/qemu.conf): configure (once) and
# build the assembled QEMU tree, only what the project needs:
#   - the x86_64 and aarch64 system emulators, KVM and TCG, with the devices
#     of configs/devices/*/fixedbar.mak (q35, virt, pxb-pcie, root and
#     switch ports, vfio-pci, the emulated stand-ins), no docs, tools, user
#     mode or GUI, warnings as errors;
#   - the qtests 'make check' runs (QEMU_QTESTS in qemu.conf).
# QEMU 10.0 needs meson >= 1.5 and pycotap; Debian 12 has meson 1.0.1,
# which libvirt's build keeps using.  The newer ones are taken from
# <codename>-backports as .deb files through a private apt state and
# unpacked into a Python venv below the cache (QEMU's configure runs its
# own venv on top of it), so the system is left alone.  The built QEMU is
# used by the project only; nothing is installed.
source "$(dirname "$0")/common.sh"

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"

TOOLS=$CACHE_DIR/qemu-tools
VENV_PYTHON=$TOOLS/venv/bin/python3

# The venv with the backports' meson and pycotap, made once.
setup_tools() {
    local codename archive aptdir site
    [ -x "$VENV_PYTHON" ] && "$VENV_PYTHON" - <<'PY' && return 0
import importlib.metadata as m
v = tuple(int(x) for x in m.version("meson").split(".")[:2])
m.version("pycotap")
raise SystemExit(0 if v >= (1, 5) else 1)
PY
    codename=$(debian_codename)
    archive=$(debian_archive)
    aptdir=$CACHE_DIR/apt-qemu-tools
    private_apt_state "$aptdir" < <(echo "deb $archive $codename-backports main")
    msg "fetching meson and pycotap for QEMU's build from $codename-backports"
    private_apt_update "$aptdir" "$codename-backports from $archive"
    rm -rf "$TOOLS"
    mkdir -p "$TOOLS/debs"
    (cd "$TOOLS/debs" && apt-get "${APT_OPTS[@]}" -q download \
        "meson/$codename-backports" "python3-pycotap/$codename-backports") >"$aptdir/download.log" 2>&1 ||
        { tail -n 10 "$aptdir/download.log" >&2; die "downloading meson and python3-pycotap from $codename-backports failed"; }
    for deb in "$TOOLS"/debs/*.deb; do
        dpkg-deb -x "$deb" "$TOOLS/root"
    done
    # The system's Python without its site packages: Debian 12's meson
    # there would shadow the newer one.
    /usr/bin/python3 -m venv "$TOOLS/venv"
    site=$("$VENV_PYTHON" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    cp -a "$TOOLS"/root/usr/lib/python3/dist-packages/. "$site/"
    "$VENV_PYTHON" -c 'import mesonbuild.mesonmain, pycotap' ||
        die "the meson and pycotap unpacked into $TOOLS/venv do not import"
}

setup_tools

# Debian's seabios and ipxe-qemu (and qemu-system-data, when installed)
# provide the firmware and option ROMs the +ds tarball lacks.
FIRMWARE_PATH=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu

CONFIGURE_OPTIONS=(
    --target-list=x86_64-softmmu,aarch64-softmmu
    --without-default-features
    --without-default-devices
    --with-devices-x86_64=fixedbar
    --with-devices-aarch64=fixedbar
    --enable-tcg
    # vfio-pci is for KVM hosts; TCG runs the tests here.
    --enable-kvm
    --enable-fdt=system
    --disable-docs
    --disable-user
    --disable-tools
    --disable-guest-agent
    --disable-download
    --disable-install-blobs
    --firmwarepath="$FIRMWARE_PATH"
    --enable-werror
    --python="$VENV_PYTHON"
)
if command -v ccache >/dev/null; then
    CONFIGURE_OPTIONS+=(--cc="ccache gcc")
fi

# Configure again when the options changed (a new recipe), else once.
stamp=$BUILD/fixedbar-configure-options
if [ -f "$BUILD/build.ninja" ] && ! printf '%s\n' "${CONFIGURE_OPTIONS[@]}" | cmp -s - "$stamp"; then
    msg "the configure options changed: configuring $BUILD again"
    rm -rf "$BUILD"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
    log=$CACHE_DIR/qemu-configure.log
    mkdir -p "$BUILD"
    msg "configuring $BUILD"
    (cd "$BUILD" && "$TREE/configure" "${CONFIGURE_OPTIONS[@]}") >"$log" 2>&1 ||
        { tail -n 30 "$log" >&2; die "QEMU's configure failed (log: $log)"; }
    printf '%s\n' "${CONFIGURE_OPTIONS[@]}" >"$stamp"
fi

# QEMU run from its build directory finds every data and firmware
# directory below build/qemu-bundle/ (get_relocated_path() in
# util/cutils.c), which its build fills with links to the source tree:
# link the firmware directories there too.
IFS=: read -r -a firmware_dirs <<<"$FIRMWARE_PATH"
for dir in "${firmware_dirs[@]}"; do
    mkdir -p "$(dirname "$BUILD/qemu-bundle$dir")"
    ln -sfn "$dir" "$BUILD/qemu-bundle$dir"
done

targets=(qemu-system-x86_64 qemu-system-aarch64)
for t in "${QEMU_QTESTS[@]}"; do
    targets+=("tests/qtest/$t")
done
msg "building $BUILD"
ninja -C "$BUILD" "${targets[@]}"
