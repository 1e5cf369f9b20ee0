#!/usr/bin/env bash
# Linux's build recipe (tooling/upstreams/linux.conf): the guest kernels of
# the end-to-end test, one per guest architecture (LINUX_GUESTS), each out
# of tree in build/ARCH of the assembled tree.  The configuration is
# tinyconfig plus the fragments kept in the repository at their kernel
# paths: kernel/configs/fixedbar-guest.config and
# arch/*/configs/fixedbar-guest-ARCH.config.  It is made again whenever a
# fragment changes, and every option a fragment sets must survive
# olddefconfig.  Builds are incremental (and go through ccache), with a
# fixed build timestamp, user and host so that they do not depend on who
# builds when.
source "$(dirname "$0")/common.sh"

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"

export KBUILD_BUILD_TIMESTAMP="$GIT_AUTHOR_DATE"
export KBUILD_BUILD_USER=fixedbar
export KBUILD_BUILD_HOST=fixedbar
JOBS=$(nproc)

# The fragments of kernel ARCH $1 (srcarch $2), relative to the tree.
fragments() {
    printf '%s\n' kernel/configs/fixedbar-guest.config \
        "arch/$2/configs/fixedbar-guest-$1.config"
}

# Every CONFIG_X=y / "# CONFIG_X is not set" of the fragments in $@ must be
# what .config ($BUILD_ARCH/.config) has.
check_config() {
    local frag line name want have
    for frag in "$@"; do
        while IFS= read -r line; do
            if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
                name=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
            elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
                name=${BASH_REMATCH[1]} want=n
            else
                continue
            fi
            have=$(sed -n "s/^$name=//p" "$BUILD_ARCH/.config")
            [ -n "$have" ] || have=n
            [ "$have" = "$want" ] ||
                die "$frag: $name=$want did not survive the configuration ($name=$have in $BUILD_ARCH/.config): an option it depends on is missing"
        done <"$TREE/$frag"
    done
}

for guest in "${LINUX_GUESTS[@]}"; do
    read -r _ karch srcarch _ cross image <<<"$guest"
    [ "$cross" = - ] && cross=
    BUILD_ARCH=$BUILD/$karch
    mkdir -p "$BUILD_ARCH"
    mapfile -t frags < <(fragments "$karch" "$srcarch")
    make_args=(-C "$TREE" O="$BUILD_ARCH" ARCH="$karch" CROSS_COMPILE="$cross"
        CC="ccache ${cross}gcc" -j"$JOBS")

    stamp=$BUILD_ARCH/fixedbar-fragments
    want=$(cd "$TREE" && sha256sum "${frags[@]}")
    if [ ! -f "$BUILD_ARCH/.config" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        msg "configuring the $karch guest kernel (tinyconfig ${frags[*]##*/})"
        rm -f "$stamp"
        make -s "${make_args[@]}" tinyconfig
        make -s "${make_args[@]}" "${frags[@]##*/}"
        (cd "$TREE" && check_config "${frags[@]}")
        printf '%s\n' "$want" >"$stamp"
    fi

    msg "building the $karch guest kernel (${image##*/})"
    make -s "${make_args[@]}" "${image##*/}"
    [ -f "$BUILD_ARCH/$image" ] || die "the $karch build produced no $image"
    msg "$karch guest kernel: $BUILD_ARCH/$image"
done
