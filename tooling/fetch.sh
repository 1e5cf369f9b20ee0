#!/usr/bin/env bash
# Download the pinned release tarball of an upstream (FIXEDBAR_UPSTREAM,
# see tooling/upstreams/) from its Debian source package, or from the
# binary package that ships it (UP_BINARY_PACKAGE, e.g. linux-source-6.12),
# and verify its checksum.
#
# The deb-src entry is derived at run time from the machine's own Debian apt
# configuration (the archive URI it already uses for binary packages) and is
# kept in a private apt state directory below the cache, so the system's apt
# configuration is left untouched.
source "$(dirname "$0")/common.sh"

verify() {
    echo "$UP_SHA256  $1" | sha256sum --check --status
}

# What to do when the download cannot work: the tarball is accepted from
# anywhere, since its checksum is what counts.
if [ -n "${UP_BINARY_PACKAGE:-}" ]; then
    DROP_IN="to work without the archive, put $UP_TARBALL_NAME (/$UP_PACKAGE_FILE of Debian's $UP_BINARY_PACKAGE $UP_DEBIAN_VERSION, e.g. from another machine's .cache/) at $TARBALL by hand: it is used if its sha256 is $UP_SHA256"
else
    DROP_IN="to work without the archive, put $UP_TARBALL_NAME (from any Debian $UP_SOURCE_PACKAGE $UP_UPSTREAM_VERSION-* source package, e.g. another machine's .cache/) at $TARBALL by hand: it is used if its sha256 is $UP_SHA256"
fi

if [ -f "$TARBALL" ]; then
    if verify "$TARBALL"; then
        msg "$UP_TARBALL_NAME present and verified"
        exit 0
    fi
    mv "$TARBALL" "$TARBALL.bad"
    msg "$TARBALL does not have sha256 $UP_SHA256 (kept as $UP_TARBALL_NAME.bad); downloading it"
fi

archive=$(debian_archive)

# The tarball inside a binary package: that exact version, since every
# Debian version of such a package ships a different tarball.
fetch_from_binary_package() {
    local aptdir=$CACHE_DIR/apt-deb-$UP_NAME suite debs deb
    private_apt_state "$aptdir" < <(
        for suite in $UP_DEBIAN_SUITES; do
            echo "deb $archive $suite main"
        done
    )
    msg "updating package lists ($UP_DEBIAN_SUITES)"
    apt-get "${APT_OPTS[@]}" -q update >"$aptdir/update.log" 2>&1 ||
        { grep -E '^(E|W|Err):' "$aptdir/update.log" | head -n 10 >&2 || true
          die "could not download the package lists of $UP_DEBIAN_SUITES from $archive; $DROP_IN"; }
    debs=$aptdir/debs
    mkdir -p "$debs"
    msg "downloading $UP_BINARY_PACKAGE=$UP_DEBIAN_VERSION"
    (cd "$debs" && apt-get "${APT_OPTS[@]}" -q download "$UP_BINARY_PACKAGE=$UP_DEBIAN_VERSION") \
        >"$aptdir/download.log" 2>&1 ||
        { tail -n 5 "$aptdir/download.log" >&2; die "downloading $UP_BINARY_PACKAGE=$UP_DEBIAN_VERSION failed; $DROP_IN"; }
    deb=$(compgen -G "$debs/${UP_BINARY_PACKAGE}_*.deb" | head -n 1) ||
        die "apt-get download did not produce a $UP_BINARY_PACKAGE .deb; $DROP_IN"
    mkdir -p "$CACHE_DIR"
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./$UP_PACKAGE_FILE" >"$TARBALL.part" ||
        { rm -f "$TARBALL.part"; die "$deb has no /$UP_PACKAGE_FILE; $DROP_IN"; }
    mv "$TARBALL.part" "$TARBALL"
    rm -rf "$debs"
}

if [ -n "${UP_BINARY_PACKAGE:-}" ]; then
    fetch_from_binary_package
    if ! verify "$TARBALL"; then
        mv "$TARBALL" "$TARBALL.bad"
        die "checksum mismatch for $UP_TARBALL_NAME from $UP_BINARY_PACKAGE $UP_DEBIAN_VERSION (kept as $TARBALL.bad); $DROP_IN"
    fi
    msg "$UP_TARBALL_NAME verified (sha256 $UP_SHA256)"
    exit 0
fi

aptdir=$CACHE_DIR/apt-src-$UP_NAME
private_apt_state "$aptdir" < <(
    for suite in $UP_DEBIAN_SUITES; do
        echo "deb-src $archive $suite main"
    done
)

# apt-get update fails as a whole when any one suite fails; what counts is
# which suites' source lists arrived.
msg "updating source package lists ($UP_DEBIAN_SUITES)"
apt-get "${APT_OPTS[@]}" -q update >"$aptdir/update.log" 2>&1 || true
reached=()
missed=()
for suite in $UP_DEBIAN_SUITES; do
    if compgen -G "$aptdir/lists/*_dists_${suite}_main_source_Sources*" >/dev/null; then
        reached+=("$suite")
    else
        missed+=("$suite")
    fi
done
if [ ${#reached[@]} -eq 0 ]; then
    grep -E '^(E|W|Err):' "$aptdir/update.log" | head -n 10 >&2 || true
    die "could not download the source package lists of $UP_DEBIAN_SUITES from $archive (offline, or the archive is unreachable); $DROP_IN"
fi
if [ ${#missed[@]} -ne 0 ]; then
    msg "warning: no source package list for ${missed[*]} (log: $aptdir/update.log); using ${reached[*]}"
fi

# Prefer the pinned Debian version; if the archive no longer carries it, any
# Debian revision of the same upstream release has the same orig tarball,
# which the checksum below proves.
showsrc=$(apt-cache "${APT_OPTS[@]}" showsrc "$UP_SOURCE_PACKAGE" 2>/dev/null) || showsrc=
available=$(sed -n 's/^Version: //p' <<<"$showsrc")
version=$UP_DEBIAN_VERSION
if ! grep -Fqx "$version" <<<"$available"; then
    version=$(awk -v want="$UP_UPSTREAM_VERSION-" 'index($0, want) == 1 { print; exit }' <<<"$available")
    found=${available//$'\n'/ }
    [ -n "$version" ] ||
        die "no $UP_SOURCE_PACKAGE $UP_UPSTREAM_VERSION source package left in ${reached[*]} (found: ${found:-none}); $DROP_IN"
    msg "pinned $UP_DEBIAN_VERSION unavailable, using $version"
fi

mkdir -p "$CACHE_DIR"
msg "downloading $UP_SOURCE_PACKAGE=$version orig tarball"
(cd "$CACHE_DIR" && apt-get "${APT_OPTS[@]}" -q source --tar-only --download-only "$UP_SOURCE_PACKAGE=$version") \
    >"$aptdir/source.log" 2>&1 ||
    { tail -n 10 "$aptdir/source.log" >&2; die "downloading $UP_SOURCE_PACKAGE=$version failed; $DROP_IN"; }

[ -f "$TARBALL" ] || die "apt-get source did not produce $UP_TARBALL_NAME; $DROP_IN"
if ! verify "$TARBALL"; then
    mv "$TARBALL" "$TARBALL.bad"
    die "checksum mismatch for the downloaded $UP_TARBALL_NAME (kept as $TARBALL.bad); $DROP_IN"
fi
msg "$UP_TARBALL_NAME verified (sha256 $UP_SHA256)"
