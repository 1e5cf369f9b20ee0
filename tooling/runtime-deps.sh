#!/usr/bin/env bash
# Install what running the built libvirt's QEMU driver needs, for
# 'make demo', the API-user tests of 'make check' and 'make bench':
#   - QEMU 10.0 or newer for x86_64 (qemu-system-x86 with its firmware);
#     Debian 12 has 7.2, so it comes from bookworm-backports, through a
#     private apt state below the cache whose entries are derived from the
#     machine's Debian archive (the system's apt configuration is left
#     alone);
#   - Debian's Python bindings (python3-libvirt) and virt-manager's
#     library (virtinst), which load the built library through
#     LD_LIBRARY_PATH, for the API-user tests and the benchmark;
#   - the UEFI firmware (ovmf, qemu-efi-aarch64) libvirt's command lines
#     are started with in the patched QEMU (tooling/qemuargs/);
#   - the QEMU user the build was configured with (libvirt-qemu on Debian):
#     the QEMU driver looks it up when it starts, also in embedded mode.
# Nothing is installed when everything is already present.  With
# --installed-qemu ('make demo HOST=real') QEMU is left as it is.
source "$(dirname "$0")/common.sh"

installed_qemu=0
[ "${1:-}" = "--installed-qemu" ] && installed_qemu=1

QEMU_MIN=10.0
QEMU_BINARY=/usr/bin/qemu-system-x86_64

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root"
}

qemu_version() {
    "$QEMU_BINARY" --version 2>/dev/null | sed -n '1s/^QEMU emulator version \([0-9.]*\).*/\1/p'
}

qemu_recent() {
    local v
    v=$(qemu_version)
    [ -n "$v" ] && dpkg --compare-versions "$v" ge "$QEMU_MIN"
}

install_qemu() {
    local codename archive aptdir
    need_root "installing QEMU $QEMU_MIN"
    codename=$(debian_codename)
    archive=$(debian_archive)
    aptdir=$CACHE_DIR/apt-qemu
    private_apt_state "$aptdir" < <(
        echo "deb $archive $codename main"
        echo "deb $archive $codename-updates main"
        echo "deb $archive $codename-backports main"
    )
    msg "installing qemu-system-x86 >= $QEMU_MIN from $codename-backports"
    export DEBIAN_FRONTEND=noninteractive
    private_apt_update "$aptdir" "$codename-backports from $archive"
    apt-get "${APT_OPTS[@]}" -q install -y --no-install-recommends \
        -t "$codename-backports" qemu-system-x86 >"$aptdir/install.log" 2>&1 ||
        { tail -n 20 "$aptdir/install.log" >&2; die "installing qemu-system-x86 from $codename-backports failed (log: $aptdir/install.log)"; }
    qemu_recent || die "$QEMU_BINARY is $(qemu_version), not >= $QEMU_MIN, after installing from $codename-backports"
}

if [ $installed_qemu -eq 0 ]; then
    qemu_recent || install_qemu
    msg "QEMU $(qemu_version) at $QEMU_BINARY"
fi

missing=()
for pkg in python3-libvirt virtinst ovmf qemu-efi-aarch64; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -ne 0 ]; then
    need_root "installing ${missing[*]}"
    apt_install "for the API-user tests and the guest firmware" "${missing[@]}"
fi

# The QEMU user and group the build was configured with (meson picks
# libvirt-qemu:libvirt-qemu on Debian); Debian's libvirt-daemon-system
# creates the same system account.
qemu_user=$(sed -n 's/^#define QEMU_USER "\(.*\)"$/\1/p' "$BUILD/meson-config.h" 2>/dev/null || true)
qemu_group=$(sed -n 's/^#define QEMU_GROUP "\(.*\)"$/\1/p' "$BUILD/meson-config.h" 2>/dev/null || true)
[ -n "$qemu_user" ] && [ -n "$qemu_group" ] || die "no QEMU_USER/QEMU_GROUP in $BUILD/meson-config.h: run 'make build' first"
if ! getent group "$qemu_group" >/dev/null; then
    need_root "creating group $qemu_group"
    msg "creating system group $qemu_group (the build's QEMU group)"
    groupadd --system "$qemu_group"
fi
if ! getent passwd "$qemu_user" >/dev/null; then
    need_root "creating user $qemu_user"
    msg "creating system user $qemu_user (the build's QEMU user)"
    useradd --system --gid "$qemu_group" --no-create-home \
        --home-dir /var/lib/libvirt --shell /usr/sbin/nologin "$qemu_user"
fi
