#!/usr/bin/env bash
# The end-to-end test (README: 'make e2e', part of 'make check'): libvirt,
# the patched QEMU and a Linux guest, with GPA == HPA checked inside the
# running guest (tooling/e2e/run.py says how).  This script sets up what
# the run needs and then runs it, passing its arguments on:
#   - the builds of libvirt, QEMU and the guest kernel (incremental);
#   - QEMU's runtime dependencies and firmware (tooling/runtime-deps.sh);
#   - the guest's userspace, per guest architecture: Debian's
#     busybox-static, tooling/e2e/guest/fbmmap.c built statically, and
#     tooling/e2e/guest/init, in an initramfs (tooling/e2e/initramfs.py);
#   - Debian's stock kernel of the same 6.12 version for the control run.
# Packages of other architectures come as .deb files through a private apt
# state below the cache; nothing is installed from them.
source "$(dirname "$0")/common.sh"

E2E=$TOP/tooling/e2e
GUEST=$CACHE_DIR/e2e-guest
WORK=$CACHE_DIR/e2e

"$TOP/tooling/deps.sh"
assemble_and_build libvirt qemu linux
"$TOP/tooling/runtime-deps.sh"

stock_abi=$(upstream_var linux LINUX_STOCK_ABI)
linux_version=$(upstream_var linux UP_DEBIAN_VERSION)
mapfile -t guests < <(upstream_var linux 'LINUX_GUESTS[@]')

# Download what is missing into $GUEST/debs.
fetch_debs() {
    local codename archive aptdir want=() guest debarch
    mkdir -p "$GUEST/debs"
    for guest in "${guests[@]}"; do
        read -r debarch _ <<<"$guest"
        compgen -G "$GUEST/debs/busybox-static_*_$debarch.deb" >/dev/null ||
            want+=("busybox-static:$debarch")
        compgen -G "$GUEST/debs/linux-image-${stock_abi}-${debarch}-unsigned_*_$debarch.deb" >/dev/null ||
            want+=("linux-image-${stock_abi}-${debarch}-unsigned:$debarch=$linux_version")
    done
    [ ${#want[@]} -ne 0 ] || return 0
    codename=$(debian_codename)
    archive=$(debian_archive)
    aptdir=$CACHE_DIR/apt-e2e
    private_apt_state "$aptdir" < <(
        echo "deb $archive $codename main"
        echo "deb $archive $codename-backports main"
    )
    for guest in "${guests[@]}"; do
        read -r debarch _ <<<"$guest"
        APT_OPTS+=(-o "APT::Architectures::=$debarch")
    done
    msg "downloading ${want[*]}"
    private_apt_update "$aptdir" "$codename and $codename-backports from $archive"
    (cd "$GUEST/debs" && apt-get "${APT_OPTS[@]}" -q download "${want[@]}") >"$aptdir/download.log" 2>&1 ||
        { tail -n 10 "$aptdir/download.log" >&2; die "downloading ${want[*]} failed"; }
}

fetch_debs
for guest in "${guests[@]}"; do
    read -r debarch _ _ arch cross _ <<<"$guest"
    [ "$cross" = - ] && cross=
    dir=$GUEST/$arch
    rm -rf "$dir"
    mkdir -p "$dir" "$GUEST/stock"

    deb=$(compgen -G "$GUEST/debs/linux-image-${stock_abi}-${debarch}-unsigned_*_$debarch.deb" | head -n 1)
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./boot/vmlinuz-$stock_abi-$debarch" >"$GUEST/stock/vmlinuz-$arch" ||
        die "$deb has no /boot/vmlinuz-$stock_abi-$debarch"
    deb=$(compgen -G "$GUEST/debs/busybox-static_*_$debarch.deb" | head -n 1)
    dpkg-deb --fsys-tarfile "$deb" | tar -xO ./bin/busybox >"$dir/busybox" ||
        die "$deb has no /bin/busybox"
    "${cross}gcc" -static -O2 -Wall -Wextra -Werror -o "$dir/fbmmap" "$E2E/guest/fbmmap.c"
    /usr/bin/python3 "$E2E/initramfs.py" --busybox "$dir/busybox" \
        --fbmmap "$dir/fbmmap" --init "$E2E/guest/init" "$dir/initramfs.cpio.gz"
    msg "$arch guest: $(basename "$deb" .deb), stock kernel linux-image-$stock_abi-$debarch-unsigned $linux_version"
done

[ "$(id -u)" -eq 0 ] || die "the embedded QEMU driver runs as root here: run 'make e2e' as root"
/usr/bin/python3 "$E2E/run.py" --guest-dir "$GUEST" --workdir "$WORK" "$@"
