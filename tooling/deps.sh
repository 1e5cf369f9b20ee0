#!/usr/bin/env bash
# Install the Debian packages needed to fetch, assemble, build and test the
# patched upstreams (tooling/upstreams/): only what their build recipes and
# test suites need; nothing is installed when everything is already present.
source "$(dirname "$0")/common.sh"

PACKAGES=(
    # fetching and assembling
    ca-certificates dpkg-dev git xz-utils
)
# What each upstream's build recipe needs (UP_BUILD_DEPS of its description).
for upstream in "${UPSTREAMS[@]}"; do
    mapfile -t deps < <(
        # shellcheck disable=SC1090
        source "$TOP/tooling/upstreams/$upstream.conf"
        printf '%s\n' "${UP_BUILD_DEPS[@]}"
    )
    PACKAGES+=("${deps[@]}")
done
mapfile -t PACKAGES < <(printf '%s\n' "${PACKAGES[@]}" | sort -u)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    msg "build dependencies already installed"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root"

apt_install "to fetch, build and test the upstreams" "${missing[@]}"
