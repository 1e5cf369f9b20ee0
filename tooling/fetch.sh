#!/usr/bin/env bash
# Download the pinned libvirt release tarball from Debian's libvirt source
# package and verify its checksum.
#
# The deb-src entry is derived at run time from the machine's own Debian apt
# configuration (the archive URI it already uses for binary packages) and is
# kept in a private apt state directory below the cache, so the system's apt
# configuration is left untouched.
source "$(dirname "$0")/common.sh"

verify() {
    echo "$LIBVIRT_SHA256  $1" | sha256sum --check --status
}

# What to do when the download cannot work: the tarball is accepted from
# anywhere, since its checksum is what counts.
DROP_IN="to work without the archive, put $LIBVIRT_TARBALL_NAME (from any Debian libvirt $LIBVIRT_VERSION-* source package, e.g. another machine's .cache/) at $TARBALL by hand: it is used if its sha256 is $LIBVIRT_SHA256"

if [ -f "$TARBALL" ]; then
    if verify "$TARBALL"; then
        msg "$LIBVIRT_TARBALL_NAME present and verified"
        exit 0
    fi
    mv "$TARBALL" "$TARBALL.bad"
    msg "$TARBALL does not have sha256 $LIBVIRT_SHA256 (kept as $LIBVIRT_TARBALL_NAME.bad); downloading it"
fi

# The archive to use: "[apt options] URI" for its deb-src entries.
# FIXEDBAR_DEBIAN_ARCHIVE sets it (a local mirror; the tooling tests use a
# file: archive); by default it is the Debian archive the machine's apt
# configuration uses for binary packages.
debian_archive() {
    if [ -n "${FIXEDBAR_DEBIAN_ARCHIVE:-}" ]; then
        printf '%s\n' "$FIXEDBAR_DEBIAN_ARCHIVE"
        return
    fi
    local found uri keyring
    found=$(/usr/bin/python3 - <<'PY'
import glob, re

def entries():
    # one-line format
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.split("#", 1)[0].strip()
            m = re.match(r"deb\s+(\[([^\]]*)\]\s+)?(\S+)\s+(\S+)", line)
            if not m:
                continue
            opts = dict(o.split("=", 1) for o in (m.group(2) or "").split() if "=" in o)
            yield m.group(3), [m.group(4)], opts.get("signed-by", "")
    # deb822 format
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            text = open(path).read()
        except OSError:
            continue
        for para in re.split(r"\n\s*\n", text):
            fields = {}
            for line in para.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, val = line.split(":", 1)
                fields[key.strip().lower()] = val.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("suites", "").split(), fields.get("signed-by", "")

# The main Debian archive: an entry carrying a plain release suite
# (no -security/-updates/-backports suffix) and signed by Debian's keyring.
for uri, suites, key in entries():
    if not any(re.fullmatch(r"[a-z]+", s) for s in suites):
        continue
    if key and "debian-archive-keyring" not in key:
        continue
    print(uri.rstrip("/"), key or "/usr/share/keyrings/debian-archive-keyring.gpg")
    break
PY
)
    [ -n "$found" ] || die "no Debian archive found in the apt configuration (set FIXEDBAR_DEBIAN_ARCHIVE='[signed-by=KEYRING] URI'); $DROP_IN"
    read -r uri keyring <<<"$found"
    printf '[signed-by=%s] %s\n' "$keyring" "$uri"
}

archive=$(debian_archive)
aptdir=$CACHE_DIR/apt
rm -rf "$aptdir"
mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/parts"
for suite in $LIBVIRT_DEBIAN_SUITES; do
    echo "deb-src $archive $suite main"
done >"$aptdir/sources.list"

apt_opts=(
    -o "Dir::Etc::SourceList=$aptdir/sources.list"
    -o "Dir::Etc::SourceParts=$aptdir/parts"
    -o "Dir::State::Lists=$aptdir/lists"
    -o "Dir::Cache=$aptdir/cache"
    -o "APT::Sandbox::User=root"
)

# apt-get update fails as a whole when any one suite fails; what counts is
# which suites' source lists arrived.
msg "updating source package lists ($LIBVIRT_DEBIAN_SUITES)"
apt-get "${apt_opts[@]}" -q update >"$aptdir/update.log" 2>&1 || true
reached=()
missed=()
for suite in $LIBVIRT_DEBIAN_SUITES; do
    if compgen -G "$aptdir/lists/*_dists_${suite}_main_source_Sources*" >/dev/null; then
        reached+=("$suite")
    else
        missed+=("$suite")
    fi
done
if [ ${#reached[@]} -eq 0 ]; then
    grep -E '^(E|W|Err):' "$aptdir/update.log" | head -n 10 >&2 || true
    die "could not download the source package lists of $LIBVIRT_DEBIAN_SUITES from $archive (offline, or the archive is unreachable); $DROP_IN"
fi
if [ ${#missed[@]} -ne 0 ]; then
    msg "warning: no source package list for ${missed[*]} (log: $aptdir/update.log); using ${reached[*]}"
fi

# Prefer the pinned Debian version; if the archive no longer carries it, any
# Debian revision of the same upstream release has the same orig tarball,
# which the checksum below proves.
showsrc=$(apt-cache "${apt_opts[@]}" showsrc libvirt 2>/dev/null) || showsrc=
available=$(sed -n 's/^Version: //p' <<<"$showsrc")
version=$LIBVIRT_DEBIAN_VERSION
if ! grep -Fqx "$version" <<<"$available"; then
    version=$(grep "^${LIBVIRT_VERSION//./\\.}-" <<<"$available" | head -n 1 || true)
    found=${available//$'\n'/ }
    [ -n "$version" ] ||
        die "no libvirt $LIBVIRT_VERSION source package left in ${reached[*]} (found: ${found:-none}); $DROP_IN"
    msg "pinned $LIBVIRT_DEBIAN_VERSION unavailable, using $version"
fi

mkdir -p "$CACHE_DIR"
msg "downloading libvirt=$version orig tarball"
(cd "$CACHE_DIR" && apt-get "${apt_opts[@]}" -q source --tar-only --download-only "libvirt=$version") \
    >"$aptdir/source.log" 2>&1 ||
    { tail -n 10 "$aptdir/source.log" >&2; die "downloading libvirt=$version failed; $DROP_IN"; }

[ -f "$TARBALL" ] || die "apt-get source did not produce $LIBVIRT_TARBALL_NAME; $DROP_IN"
if ! verify "$TARBALL"; then
    mv "$TARBALL" "$TARBALL.bad"
    die "checksum mismatch for the downloaded $LIBVIRT_TARBALL_NAME (kept as $TARBALL.bad); $DROP_IN"
fi
msg "$LIBVIRT_TARBALL_NAME verified (sha256 $LIBVIRT_SHA256)"
