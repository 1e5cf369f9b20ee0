#!/usr/bin/env bash
# Install the Debian packages needed to fetch, assemble, build and test the
# patched libvirt.  Only what the QEMU driver, virsh, the docs and the test
# suites need; nothing is installed when everything is already present.
source "$(dirname "$0")/common.sh"

PACKAGES=(
    # fetching and assembling
    ca-certificates dpkg-dev git xz-utils
    # build system and compiler (meson picks up ccache by itself)
    ccache gcc libc6-dev make meson ninja-build perl pkg-config python3
    # libraries the QEMU driver and virsh build against
    libglib2.0-dev libgnutls28-dev libjson-c-dev libnl-3-dev
    libnl-route-3-dev libtirpc-dev libxml2-dev
    # docs (rst2html5, xsltproc) and schema tools used by the tests
    libxml2-utils python3-docutils xsltproc
)

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

msg "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
