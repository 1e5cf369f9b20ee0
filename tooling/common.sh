# Shared settings and helpers for the project tooling; sourced by every script in tooling/.
# shellcheck shell=bash

set -euo pipefail

# The pinned upstream release.  The tarball is taken from Debian's libvirt
# source package; any Debian revision of 11.3.0 ships the same orig tarball,
# which is why it is verified by checksum rather than by Debian version.
LIBVIRT_VERSION=11.3.0
LIBVIRT_DEBIAN_VERSION=11.3.0-3+deb13u3
LIBVIRT_DEBIAN_SUITES="trixie bookworm-backports"
LIBVIRT_SHA256=6bcb0c42c4580436fea262ced56f68a6afe20f7390b1bea2116718cc034a0283
LIBVIRT_TARBALL_NAME=libvirt_${LIBVIRT_VERSION}.orig.tar.xz

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${FIXEDBAR_CACHE_DIR:-$TOP/.cache}
TREE=${FIXEDBAR_TREE:-$TOP/tree}
BUILD=$TREE/build
TARBALL=$CACHE_DIR/$LIBVIRT_TARBALL_NAME

# Files of the repository that are project infrastructure rather than new
# libvirt files.  Everything else tracked in the repository is copied into
# the assembled tree at the same path.
INFRA_PATHS_REGEX='^(\.ci/|\.gitignore$|Makefile$|README\.md$|tooling/|patches/|tree/|\.cache/)'

# Deterministic identity for the commits of the assembled tree, so that the
# same repository always produces the same commits.
export GIT_AUTHOR_NAME="libvirt fixedBar tooling"
export GIT_AUTHOR_EMAIL="fixedbar@localhost"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME"
export GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2025-05-02T00:00:00Z"
export GIT_COMMITTER_DATE="$GIT_AUTHOR_DATE"

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

# The new libvirt files kept in the repository, one path per line, relative
# to the repository (and tree) root.  Untracked files count too, so that an
# export can be checked before it is committed.
new_files() {
    git -C "$TOP" ls-files --cached --others --exclude-standard |
        grep -Ev "$INFRA_PATHS_REGEX" | LC_ALL=C sort -u |
        while read -r f; do [ -f "$TOP/$f" ] && printf '%s\n' "$f"; done
}

# The per-file patches, relative to patches/, sorted.
patch_files() {
    [ -d "$TOP/patches" ] || return 0
    (cd "$TOP/patches" && find . -type f -name '*.patch' -printf '%P\n' | LC_ALL=C sort)
}

# git tree id of what the repository says the assembled tree must contain:
# the pristine import (tag "upstream" of the tree at $1) plus every patch and
# every new file.  Uses a throw-away index; the tree's own state is untouched.
expected_tree_id() {
    local tree=$1 index f mode blob
    index=$(mktemp)
    (
        export GIT_INDEX_FILE=$index
        cd "$tree"
        git read-tree upstream
        patch_files | while read -r f; do
            git apply --cached --whitespace=nowarn "$TOP/patches/$f" ||
                die "patches/$f does not apply"
        done
        new_files | while read -r f; do
            mode=100644
            [ -x "$TOP/$f" ] && mode=100755
            blob=$(git hash-object -w "$TOP/$f")
            git update-index --add --cacheinfo "$mode,$blob,$f"
        done
        git write-tree
    )
    rm -f "$index"
}

# git tree id of the working state of the tree at $1 (committed or not,
# ignoring the build directory).
worktree_tree_id() {
    local tree=$1 index
    index=$(mktemp)
    (
        export GIT_INDEX_FILE=$index
        cd "$tree"
        git read-tree HEAD
        git add -A
        git write-tree
    )
    rm -f "$index"
}

# Commit the tree's working state as the single project commit on top of
# the pristine import (run inside the tree).
commit_project_changes() {
    git reset -q --soft upstream
    git add -A
    if ! git diff --cached --quiet; then
        git commit -q --no-verify -m "fixedBar: project changes" \
            -m "Assembled from the patches and new files of the repository."
    fi
    # Remember what the repository and the tree last agreed on, so that
    # later edits in the tree (committed there or not) are recognised.
    git rev-parse 'HEAD^{tree}' >"$(git rev-parse --git-dir)/fixedbar-synced"
}
