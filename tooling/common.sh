# Shared settings and helpers for the project tooling; sourced by every script in tooling/.
# shellcheck shell=bash

set -euo pipefail
# Without this, bash switches errexit off inside $( … ): a 'die' in a
# function whose output is captured would not stop the script.
shopt -s inherit_errexit

# Deterministic identity for the commits of the assembled tree, so that the
# same repository always produces the same commits.
export GIT_AUTHOR_NAME="libvirt fixedBar tooling"
export GIT_AUTHOR_EMAIL="fixedbar@localhost"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME"
export GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2025-05-02T00:00:00Z"
export GIT_COMMITTER_DATE="$GIT_AUTHOR_DATE"

# The generated patches and the tree's commits must not depend on who runs
# the tooling: ignore the user's and the system's git configuration
# (diff.noprefix, color.ui, diff.external, commit.gpgSign, hooks, ...).
# Commands whose output is kept also pass explicit options (see
# export_patch), in case a repository's own configuration sets them.
export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=/dev/null

# Prefer the distribution's tools (meson, python3 with docutils) over any
# per-user toolchain that may come first in PATH.
export PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin:$PATH

msg() {
    printf '==> %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${FIXEDBAR_CACHE_DIR:-$TOP/.cache}

# apt_install WHY PACKAGE...: install Debian packages from the machine's
# sources, with one line on the screen saying what and why; apt's output
# goes to $CACHE_DIR/apt-<first package>.log, whose end is shown if
# anything fails.  The package lists are updated first: a fresh machine
# may have none.
apt_install() {
    local why=$1 log
    shift
    log=$CACHE_DIR/apt-$1.log
    mkdir -p "$CACHE_DIR"
    msg "installing $* ($why; log: $log)"
    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } >"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "installing $* failed (log: $log)"; }
}

# The pinned upstream releases the product patches: one description each in
# tooling/upstreams/NAME.conf (source package, versions, checksum, folder,
# tree, build recipe).  The scripts work on the one FIXEDBAR_UPSTREAM names
# (the Makefile runs them for each in turn); libvirt when it is unset.
UPSTREAMS=()
for conf in "$TOP"/tooling/upstreams/*.conf; do
    [ -f "$conf" ] || continue
    conf=${conf##*/}
    UPSTREAMS+=("${conf%.conf}")
done
UPSTREAM=${FIXEDBAR_UPSTREAM:-libvirt}
[ -f "$TOP/tooling/upstreams/$UPSTREAM.conf" ] ||
    die "no upstream '$UPSTREAM' (tooling/upstreams/ has: ${UPSTREAMS[*]})"
# shellcheck source=upstreams/libvirt.conf
source "$TOP/tooling/upstreams/$UPSTREAM.conf"
# Test-only: tooling/tests/run.sh builds scratch projects around tiny fake
# tarballs and announces their checksums as FIXEDBAR_TEST_<NAME>_SHA256.
# Never set them otherwise.
test_sha256=FIXEDBAR_TEST_${UP_NAME^^}_SHA256
UP_SHA256=${!test_sha256:-$UP_SHA256}
unset conf test_sha256

TREE=${FIXEDBAR_TREE:-$TOP/$UP_TREE}
BUILD=$TREE/$UP_BUILD_DIR
SANITIZER_BUILD=$CACHE_DIR/build-asan
TARBALL=$CACHE_DIR/$UP_TARBALL_NAME
# Where the upstream's new files and its patches/ live in the repository.
UP_ROOT=$TOP${UP_DIR:+/$UP_DIR}
PATCHES=$UP_ROOT/patches

# assemble_and_build NAME...: assemble each upstream's tree and build it
# (incrementally when it was), its build's output in .cache/build.log
# (libvirt) or .cache/build-NAME.log.
assemble_and_build() {
    local upstream log
    for upstream in "$@"; do
        log=$CACHE_DIR/build.log
        [ "$upstream" = libvirt ] || log=$CACHE_DIR/build-$upstream.log
        FIXEDBAR_UPSTREAM=$upstream "$TOP/tooling/assemble.sh"
        msg "building $upstream (log: $log)"
        FIXEDBAR_UPSTREAM=$upstream "$TOP/tooling/build.sh" >"$log" 2>&1 ||
            { tail -n 40 "$log" >&2; die "building $upstream failed (log: $log)"; }
    done
}

# upstream_var NAME VAR: the value of VAR in upstream NAME's description.
upstream_var() {
    (
        # shellcheck disable=SC1090
        source "$TOP/tooling/upstreams/$1.conf"
        printf '%s\n' "${!2}"
    )
}

# Paths, relative to UP_ROOT, that are not new upstream files: the
# project's own files and, at the repository root, every other upstream's
# folder and tree.  Everything else git knows below UP_ROOT is copied into
# the assembled tree at the same path.
if [ -z "$UP_DIR" ]; then
    others=
    for other in "${UPSTREAMS[@]}"; do
        [ "$other" = "$UPSTREAM" ] && continue
        dir=$(upstream_var "$other" UP_DIR)
        [ -n "$dir" ] || die "tooling/upstreams/$other.conf: only one upstream can live at the repository root"
        others+="|$dir/|$(upstream_var "$other" UP_TREE)/"
    done
    INFRA_PATHS_REGEX="^(\\.ci/|\\.gitignore\$|Makefile\$|README\\.md\$|tooling/|patches/|$UP_TREE/|\\.cache/$others)"
    unset dir other others
else
    INFRA_PATHS_REGEX='^(patches/|README\.md$)'
fi

# Patterns of files that libvirt's own .gitignore keeps out of git (the
# release tarball does not ship it): editor backups, leftovers of patch(1),
# Python caches.  Without them 'make export' would take such files for new
# libvirt files.
TREE_EXCLUDES=(/build/ '*.orig' '*.rej' '*~' '\#*\#' '.#*' '*.swp' '*.swo'
    tags .ccls-cache/ '*.pyc' __pycache__/)

# The upstream's new files kept in the repository, one path per line,
# relative to UP_ROOT (and the tree root).  Only files git knows (committed
# or added) count, as they are in the working copy: notes and other
# untracked files stay out of the tree.
new_files() {
    local files f
    [ -d "$UP_ROOT" ] || return 0
    files=$(git -C "$UP_ROOT" -c core.quotePath=false ls-files --cached -- .)
    while IFS= read -r f; do
        [[ $f =~ $INFRA_PATHS_REGEX ]] && continue
        if [ -f "$UP_ROOT/$f" ]; then
            printf '%s\n' "$f"
        fi
    done <<<"$files"
}

# The per-file patches git knows, relative to PATCHES, sorted.
patch_files() {
    local files f
    [ -d "$UP_ROOT" ] || return 0
    files=$(git -C "$UP_ROOT" -c core.quotePath=false ls-files --cached -- patches)
    while IFS= read -r f; do
        if [[ $f == patches/*.patch ]] && [ -f "$UP_ROOT/$f" ]; then
            printf '%s\n' "${f#patches/}"
        fi
    done <<<"$files"
}

# git tree id of what the repository says the assembled tree must contain:
# the pristine import (tag "upstream" of the tree at $1) plus every patch and
# every new file.  Uses a throw-away index; the tree's own state is untouched.
expected_tree_id() {
    local tree=$1 patches news
    patches=$(patch_files)
    news=$(new_files)
    (
        local index f mode blob
        index=$(mktemp)
        trap 'rm -f "$index"' EXIT
        export GIT_INDEX_FILE=$index
        cd "$tree"
        git read-tree upstream
        while IFS= read -r f; do
            [ -n "$f" ] || continue
            git apply --cached --whitespace=nowarn "$PATCHES/$f" ||
                die "${UP_DIR:+$UP_DIR/}patches/$f does not apply to $UP_TITLE"
        done <<<"$patches"
        while IFS= read -r f; do
            [ -n "$f" ] || continue
            mode=100644
            [ -x "$UP_ROOT/$f" ] && mode=100755
            blob=$(git hash-object -w --path="$f" "$UP_ROOT/$f")
            git update-index --add --cacheinfo "$mode,$blob,$f"
        done <<<"$news"
        git write-tree
    )
}

# git tree id of the working state of the tree at $1 (committed or not,
# ignoring the build directory and the TREE_EXCLUDES artefacts).
worktree_tree_id() {
    (
        local index
        index=$(mktemp)
        trap 'rm -f "$index"' EXIT
        export GIT_INDEX_FILE=$index
        cd "$1"
        git read-tree HEAD
        git add -A
        git write-tree
    )
}

# Run inside the tree: keep its .git/info/exclude in line with
# TREE_EXCLUDES (also in trees assembled by older tooling).
write_tree_excludes() {
    printf '%s\n' "${TREE_EXCLUDES[@]}" >"$(git rev-parse --git-dir)/info/exclude"
}

# Run inside the tree: the tree id the repository and the tree last agreed
# on (written by commit_project_changes).
synced_tree_id() {
    local synced
    synced=$(git rev-parse --git-dir)/fixedbar-synced
    if [ -f "$synced" ]; then
        cat "$synced"
    else
        git rev-parse 'upstream^{tree}'
    fi
}

# Run inside the tree: stop, showing them, if the tree has edits that were
# not exported ($1 says what would lose them), unless $2 is 1.
refuse_unexported_edits() {
    local what=$1 force=$2 have synced
    have=$(worktree_tree_id .)
    synced=$(synced_tree_id)
    [ "$have" != "$synced" ] || return 0
    if [ "$force" -eq 1 ]; then
        msg "discarding edits in ${PWD##*/}/ that were not exported (FORCE=1)"
        return 0
    fi
    git status --short | head -n 20 >&2
    die "${PWD##*/}/ has edits that are not in the repository and $what would lose them: run 'make export' to keep them, or repeat with FORCE=1 to discard them"
}

# Run inside the tree: the commit holding tree $1 on top of the pristine
# import (the import itself when $1 has no changes).  Fixed identity and
# dates make it the same commit for everyone.
project_commit() {
    local pristine
    pristine=$(git rev-parse 'upstream^{tree}')
    if [ "$1" = "$pristine" ]; then
        git rev-parse upstream
    else
        git commit-tree --no-gpg-sign -p upstream -m "fixedBar: project changes" \
            -m "Assembled from the patches and new files of the repository." "$1"
    fi
}

# Commit the tree's working state as the single project commit on top of
# the pristine import (run inside the tree).
commit_project_changes() {
    local tree commit
    git add -A
    tree=$(git write-tree)
    commit=$(project_commit "$tree")
    git reset -q --soft "$commit"
    # Remember what the repository and the tree last agreed on, so that
    # later edits in the tree (committed there or not) are recognised.
    printf '%s\n' "$tree" >"$(git rev-parse --git-dir)/fixedbar-synced"
}

# The fixedBar-relevant tests that 'make check' runs once more in a build
# with AddressSanitizer and UndefinedBehaviorSanitizer.  In libvirt 11.3.0
# the status XML tests (qemustatusxml2xmldata/) are run by
# qemuxmlactivetest; there is no qemustatusxml2xmltest any more.
# qemueatest checks the guest address map, the ABI check and re-placement.
SANITIZER_TESTS=(qemuxmlconftest virpcieatest virschematest qemuhotplugtest
    domaincapstest qemuxmlactivetest qemueatest)

# The Debian release of this machine (bookworm), from /etc/os-release.
debian_codename() {
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "cannot tell the Debian release from /etc/os-release"
    printf '%s\n' "$codename"
}

# The Debian archive to use, as "[apt options] URI" for apt source entries.
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
    [ -n "$found" ] || die "no Debian archive found in the apt configuration (set FIXEDBAR_DEBIAN_ARCHIVE='[signed-by=KEYRING] URI')${DROP_IN:+; $DROP_IN}"
    read -r uri keyring <<<"$found"
    printf '[signed-by=%s] %s\n' "$keyring" "$uri"
}

# A private apt state in directory $1 (emptied), whose sources.list is
# read from stdin: the system's apt configuration is left alone.  Sets
# APT_OPTS to the apt-get/apt-cache options that use it.
private_apt_state() {
    local aptdir=$1
    rm -rf "$aptdir"
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/parts"
    cat >"$aptdir/sources.list"
    APT_OPTS=(
        -o "Dir::Etc::SourceList=$aptdir/sources.list"
        -o "Dir::Etc::SourceParts=$aptdir/parts"
        -o "Dir::State::Lists=$aptdir/lists"
        -o "Dir::Cache=$aptdir/cache"
        -o "APT::Sandbox::User=root"
    )
}

# apt-get update in the private apt state of directory $1 (see
# private_apt_state), its output in $1/update.log, whose end is shown if
# it fails; $2 says whose package lists they are, for the error.
private_apt_update() {
    apt-get "${APT_OPTS[@]}" -q update >"$1/update.log" 2>&1 ||
        { tail -n 10 "$1/update.log" >&2; die "could not read the package lists of $2"; }
}
