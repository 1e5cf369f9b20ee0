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

if [ -f "$TARBALL" ] && verify "$TARBALL"; then
    msg "$LIBVIRT_TARBALL_NAME present and verified"
    exit 0
fi

archive=$(/usr/bin/python3 - <<'PY'
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
[ -n "$archive" ] || die "no Debian archive found in the apt configuration"
read -r uri keyring <<<"$archive"

aptdir=$CACHE_DIR/apt
rm -rf "$aptdir"
mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/parts"
for suite in $LIBVIRT_DEBIAN_SUITES; do
    echo "deb-src [signed-by=$keyring] $uri $suite main"
done >"$aptdir/sources.list"

apt_opts=(
    -o "Dir::Etc::SourceList=$aptdir/sources.list"
    -o "Dir::Etc::SourceParts=$aptdir/parts"
    -o "Dir::State::Lists=$aptdir/lists"
    -o "Dir::Cache=$aptdir/cache"
    -o "APT::Sandbox::User=root"
)

msg "updating source package lists ($LIBVIRT_DEBIAN_SUITES)"
apt-get "${apt_opts[@]}" -q update >/dev/null

# Prefer the pinned Debian version; if the archive no longer carries it, any
# Debian revision of the same upstream release has the same orig tarball,
# which the checksum below proves.
available=$(apt-cache "${apt_opts[@]}" showsrc libvirt | sed -n 's/^Version: //p')
version=$LIBVIRT_DEBIAN_VERSION
if ! grep -Fqx "$version" <<<"$available"; then
    version=$(grep "^${LIBVIRT_VERSION//./\\.}-" <<<"$available" | head -n 1 || true)
    [ -n "$version" ] || die "no libvirt $LIBVIRT_VERSION source package in $LIBVIRT_DEBIAN_SUITES"
    msg "pinned $LIBVIRT_DEBIAN_VERSION unavailable, using $version"
fi

mkdir -p "$CACHE_DIR"
rm -f "$TARBALL"
msg "downloading libvirt=$version orig tarball"
(cd "$CACHE_DIR" && apt-get "${apt_opts[@]}" -q source --tar-only --download-only "libvirt=$version" >/dev/null)

[ -f "$TARBALL" ] || die "apt-get source did not produce $LIBVIRT_TARBALL_NAME"
if ! verify "$TARBALL"; then
    mv "$TARBALL" "$TARBALL.bad"
    die "checksum mismatch for $LIBVIRT_TARBALL_NAME (kept as $TARBALL.bad)"
fi
msg "$LIBVIRT_TARBALL_NAME verified (sha256 $LIBVIRT_SHA256)"
