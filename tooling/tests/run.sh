#!/usr/bin/env bash
# Tests of the project tooling (tooling/*.sh, Makefile), run by 'make check'.
#
# Each test_* function works in a scratch project of its own: a git
# repository holding a copy of this repository's tooling/, Makefile and
# .gitignore, whose "libvirt tarball" is a tiny fake accepted through the
# test-only FIXEDBAR_TEST_LIBVIRT_SHA256.  The fetch tests serve it from a
# file: Debian archive.  No network and no libvirt build: the suite takes
# seconds.
#
# Usage: tooling/tests/run.sh [TEST...]   (default: every test);
# KEEP=1 keeps the scratch directory (its path is printed) for inspection.
# Prints "ok NAME" or "FAIL NAME" per test (with the test's output after a
# failure) and a summary line; exits non-zero if a test failed.
set -euo pipefail
shopt -s inherit_errexit

SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
[ -z "${KEEP:-}" ] || echo "scratch directory: $WORK"

# The tests must not depend on the caller's git or apt setup either.
export HOME=$WORK/home
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@localhost
export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=tester@localhost
mkdir -p "$HOME"
# Nothing here may reach the network: a fetch that is not expected to
# download fails on this archive.
export FIXEDBAR_DEBIAN_ARCHIVE="[trusted=yes] file:$WORK/no-archive"
unset FIXEDBAR_CACHE_DIR FIXEDBAR_TREE MAKEFLAGS MAKELEVEL

TARBALL_NAME=libvirt_11.3.0.orig.tar.xz
FAKE_TARBALL=$WORK/$TARBALL_NAME

# A tiny stand-in for the libvirt release: a few numbered-line files.
make_fake_tarball() {
    local d=$WORK/fake/libvirt-11.3.0
    mkdir -p "$d/src/util" "$d/docs"
    seq 1 40 | sed 's/^/a line /' >"$d/src/util/a.c"
    seq 1 40 | sed 's/^/b line /' >"$d/src/util/b.c"
    seq 1 5 | sed 's/^/doc line /' >"$d/docs/index.rst"
    echo "project('libvirt')" >"$d/meson.build"
    tar -C "$WORK/fake" --owner=0 --group=0 -cJf "$FAKE_TARBALL" libvirt-11.3.0
    FIXEDBAR_TEST_LIBVIRT_SHA256=$(sha256sum "$FAKE_TARBALL" | cut -d' ' -f1)
    export FIXEDBAR_TEST_LIBVIRT_SHA256
}

# Last command's output, for the expect_* helpers.
OUT=$WORK/out

# A new scratch project in $P (with the fake tarball in its cache unless
# $1 is "no-tarball"), committed, without a tree.
new_project() {
    P=$WORK/project.$RANDOM$RANDOM
    mkdir -p "$P"
    cp -a "$SRC/tooling" "$SRC/Makefile" "$SRC/.gitignore" "$P/"
    # A libvirt-only project: the other upstreams' tarballs are not here.
    find "$P/tooling/upstreams" -name '*.conf' ! -name libvirt.conf -delete
    if [ "${1:-}" != no-tarball ]; then
        mkdir -p "$P/.cache"
        cp "$FAKE_TARBALL" "$P/.cache/"
    fi
    git -C "$P" init -q -b main
    git -C "$P" add -A
    git -C "$P" commit -q -m "scratch project"
}

# A scratch project with one patched upstream file (src/util/a.c) and one
# new file (src/util/new.c), exported and committed, and its assembled tree.
project_with_changes() {
    new_project
    expect_ok make -C "$P" tree
    sed -i 's/^a line 10$/a line ten/' "$P/tree/src/util/a.c"
    echo "new file" >"$P/tree/src/util/new.c"
    expect_ok make -C "$P" export
    git -C "$P" add -A
    git -C "$P" commit -q -m "first changes"
}

expect_ok() {
    if ! "$@" >"$OUT" 2>&1; then
        cat "$OUT"
        echo "FAILED: $*"
        return 1
    fi
}

expect_fail() {
    if "$@" >"$OUT" 2>&1; then
        cat "$OUT"
        echo "SUCCEEDED, but should have failed: $*"
        return 1
    fi
}

# The last command's output contains $1 (fixed string).
expect_output() {
    if ! grep -qF -- "$1" "$OUT"; then
        cat "$OUT"
        echo "output lacks: $1"
        return 1
    fi
}

expect_no_output() {
    if grep -qF -- "$1" "$OUT"; then
        cat "$OUT"
        echo "output has: $1"
        return 1
    fi
}

expect_file() {
    [ -e "$1" ] || { echo "missing: $1"; return 1; }
}

expect_no_file() {
    [ ! -e "$1" ] || { echo "should not exist: $1"; return 1; }
}

# A file: Debian archive in $1 whose suites (the remaining arguments) carry
# libvirt source version $2 with the fake tarball as its orig tarball.
make_archive() {
    local dir=$1 version=$2 pool suite src sources
    shift 2
    pool=$dir/pool/main/l/libvirt
    mkdir -p "$pool"
    cp "$FAKE_TARBALL" "$pool/"
    printf 'Format: 3.0 (quilt)\nSource: libvirt\nVersion: %s\n' "$version" >"$pool/libvirt_$version.dsc"
    for suite in "$@"; do
        src=$dir/dists/$suite/main/source
        mkdir -p "$src"
        sources=$src/Sources
        {
            printf 'Package: libvirt\nBinary: libvirt0\nVersion: %s\n' "$version"
            printf 'Maintainer: Tester <tester@localhost>\nArchitecture: any\n'
            printf 'Format: 3.0 (quilt)\nDirectory: pool/main/l/libvirt\n'
            printf 'Files:\n'
            archive_entry md5sum "$pool/libvirt_$version.dsc"
            archive_entry md5sum "$pool/$TARBALL_NAME"
            printf 'Checksums-Sha256:\n'
            archive_entry sha256sum "$pool/libvirt_$version.dsc"
            archive_entry sha256sum "$pool/$TARBALL_NAME"
            printf '\n'
        } >"$sources"
        {
            printf 'Origin: Test\nSuite: %s\nCodename: %s\nComponents: main\n' "$suite" "$suite"
            printf 'Date: %s\nSHA256:\n' "$(LC_ALL=C date -u -R)"
            printf ' %s %s main/source/Sources\n' \
                "$(sha256sum <"$sources" | cut -d' ' -f1)" "$(stat -c %s "$sources")"
        } >"$dir/dists/$suite/Release"
    done
}

# " <checksum> <size> <name>" of file $2 with checksum command $1.
archive_entry() {
    printf ' %s %s %s\n' "$("$1" <"$2" | cut -d' ' -f1)" "$(stat -c %s "$2")" "$(basename "$2")"
}

# make export must not revert what changed in the repository since the
# tree was assembled (here: a commit as a git pull would bring).
test_export_refuses_stale_tree() {
    project_with_changes
    echo "changed in the repository" >"$P/src/util/new.c"
    git -C "$P" commit -q -am "upstream work"
    sed -i 's/^b line 3$/b line three/' "$P/tree/src/util/b.c"
    expect_fail make -C "$P" export
    expect_output "make tree"
    grep -qx "changed in the repository" "$P/src/util/new.c"
    expect_no_file "$P/patches/src/util/b.c.patch"
    expect_ok make -C "$P" export FORCE=1
    grep -qx "new file" "$P/src/util/new.c"
}

# A patch that does not apply stops 'make tree' with that reason, even
# when the tree otherwise looks up to date.
test_broken_patch_stops_tree() {
    project_with_changes
    mkdir -p "$P/patches/src/util"
    printf '%s\n' 'diff --git a/src/util/b.c b/src/util/b.c' '--- a/src/util/b.c' \
        '+++ b/src/util/b.c' '@@ -1,2 +1,2 @@' '-no such line' '+b line one' ' b line 2' \
        >"$P/patches/src/util/b.c.patch"
    git -C "$P" add patches
    expect_fail make -C "$P" tree
    expect_output "patches/src/util/b.c.patch does not apply"
}

# Untracked files in the repository (notes, patch leftovers) never get
# into the tree, and 'make export' does not delete them.
test_untracked_repo_files_ignored() {
    project_with_changes
    echo notes >"$P/notes.txt"
    echo leftover >"$P/src/util/new.c.orig"
    expect_ok make -C "$P" tree
    expect_no_file "$P/tree/notes.txt"
    expect_no_file "$P/tree/src/util/new.c.orig"
    sed -i 's/^b line 3$/b line three/' "$P/tree/src/util/b.c"
    expect_ok make -C "$P" export
    expect_file "$P/notes.txt"
    expect_file "$P/src/util/new.c.orig"
    expect_file "$P/patches/src/util/b.c.patch"
}

# Editor backups, patch(1) leftovers and Python caches in the tree are not
# new libvirt files.
test_tree_artefacts_not_exported() {
    project_with_changes
    local f
    for f in src/util/a.c.orig src/util/a.c.rej src/util/a.c~ src/util/.#a.c \
        'src/util/#a.c#' src/util/.a.c.swp scripts/__pycache__/x.pyc tags; do
        mkdir -p "$(dirname "$P/tree/$f")"
        echo artefact >"$P/tree/$f"
    done
    expect_ok make -C "$P" export
    for f in src/util/a.c.orig src/util/a.c.rej src/util/a.c~ src/util/.#a.c \
        'src/util/#a.c#' src/util/.a.c.swp scripts/__pycache__/x.pyc tags; do
        expect_no_file "$P/$f"
    done
    [ -z "$(git -C "$P" status --porcelain)" ] || { git -C "$P" status; return 1; }
    expect_ok make -C "$P" tree
}

# Patches and tree commits come out the same whatever the user's git
# configuration says.
test_git_config_ignored() {
    project_with_changes
    sed -i 's/^b line 20$/b line twenty/' "$P/tree/src/util/b.c"
    expect_ok make -C "$P" export
    git -C "$P" add -A
    git -C "$P" commit -q -m "second change"
    local hostile=$WORK/hostile
    mkdir -p "$hostile/hooks"
    printf '#!/bin/sh\nexit 1\n' >"$hostile/hooks/pre-commit"
    cp "$hostile/hooks/pre-commit" "$hostile/hooks/post-commit"
    chmod +x "$hostile/hooks/"*
    printf '#!/bin/sh\necho external diff\n' >"$hostile/extdiff"
    chmod +x "$hostile/extdiff"
    cat >"$hostile/.gitconfig" <<EOF
[diff]
    noprefix = true
    mnemonicPrefix = true
    external = $hostile/extdiff
    context = 1
    algorithm = histogram
[color]
    ui = always
    diff = always
[commit]
    gpgSign = true
[core]
    hooksPath = $hostile/hooks
    quotePath = true
EOF
    rm -rf "$P/tree"
    HOME=$hostile expect_ok make -C "$P" tree
    HOME=$hostile expect_ok make -C "$P" export
    [ -z "$(git -C "$P" status --porcelain)" ] || { git -C "$P" diff; return 1; }
    grep -q '^diff --git a/src/util/b.c b/src/util/b.c$' "$P/patches/src/util/b.c.patch"
}

# fetch: one suite that cannot be reached does not stop the download from
# the other.
test_fetch_survives_missing_suite() {
    new_project no-tarball
    make_archive "$P.archive" 11.3.0-3+deb13u3 trixie
    FIXEDBAR_DEBIAN_ARCHIVE="[trusted=yes] file:$P.archive" expect_ok make -C "$P" fetch
    expect_output "bookworm-backports"
    cmp "$FAKE_TARBALL" "$P/.cache/$TARBALL_NAME"
}

# fetch offline: a clear error that names the manual drop-in, not apt's
# "You must put some 'deb-src' URIs in your sources.list".
test_fetch_offline_clear_error() {
    new_project no-tarball
    FIXEDBAR_DEBIAN_ARCHIVE="[trusted=yes] http://127.0.0.1:9/debian" expect_fail make -C "$P" fetch
    expect_no_output "deb-src' URIs"
    expect_output "could not download the source package lists"
    expect_output "$P/.cache/$TARBALL_NAME by hand"
}

# fetch when the archive has moved on from 11.3.0: the error says that a
# tarball placed by hand is accepted, and such a tarball is used.
test_fetch_no_revision_names_drop_in() {
    new_project no-tarball
    make_archive "$P.archive" 11.4.0-1 trixie bookworm-backports
    FIXEDBAR_DEBIAN_ARCHIVE="[trusted=yes] file:$P.archive" expect_fail make -C "$P" fetch
    expect_output "no libvirt 11.3.0 source package"
    expect_output "$P/.cache/$TARBALL_NAME by hand"
    mkdir -p "$P/.cache"
    cp "$FAKE_TARBALL" "$P/.cache/"
    expect_ok make -C "$P" fetch
    expect_output "present and verified"
}

# FORCE=0 does not force.
test_force_0_keeps_edits() {
    project_with_changes
    echo "edit" >>"$P/tree/src/util/b.c"
    expect_fail make -C "$P" tree FORCE=0
    expect_output "make export"
    grep -qx edit "$P/tree/src/util/b.c" || { echo "edit lost"; return 1; }
    expect_ok make -C "$P" tree FORCE=1
    if grep -qx edit "$P/tree/src/util/b.c"; then
        echo "FORCE=1 kept the edit"
        return 1
    fi
}

# make clean protects unexported edits the way make tree does.
test_clean_keeps_edits() {
    project_with_changes
    echo "edit" >>"$P/tree/src/util/b.c"
    expect_fail make -C "$P" clean
    expect_output "make export"
    expect_file "$P/tree/src/util/b.c"
    expect_fail make -C "$P" clean FORCE=0
    expect_file "$P/tree/src/util/b.c"
    expect_ok make -C "$P" clean FORCE=1
    expect_no_file "$P/tree"
    expect_no_file "$P/.cache"
}

# verify-tree passes on a tree assembled from HEAD, and fails, saying why,
# when the tree only matches uncommitted repository changes.
test_verify_tree_blames_uncommitted() {
    project_with_changes
    expect_ok bash "$P/tooling/verify-tree.sh"
    echo "not committed" >"$P/src/util/new.c"
    expect_ok make -C "$P" tree
    expect_fail bash "$P/tooling/verify-tree.sh"
    expect_output "src/util/new.c"
    expect_output "uncommitted"
}

# verify-tree names unexported tree edits as the cause.
test_verify_tree_blames_tree_edits() {
    project_with_changes
    echo "edit" >>"$P/tree/src/util/b.c"
    expect_fail bash "$P/tooling/verify-tree.sh"
    expect_output "src/util/b.c"
    expect_output "not exported"
}

# Re-assembly after a repository change rewrites only the files whose
# content changes: an unchanged patched file keeps its mtime.
test_reassembly_keeps_mtimes() {
    project_with_changes
    local before after
    before=$(stat -c %y "$P/tree/src/util/a.c")
    echo "changed in the repository" >"$P/src/util/new.c"
    git -C "$P" commit -q -am "repository change"
    expect_ok make -C "$P" tree
    grep -qx "changed in the repository" "$P/tree/src/util/new.c"
    after=$(stat -c %y "$P/tree/src/util/a.c")
    [ "$before" = "$after" ] || { echo "a.c rewritten: $before -> $after"; return 1; }
}

# A second upstream, described like QEMU's (a folder of its own), next to
# libvirt: make tree assembles both, export writes each one's patches and
# new files into its own folder, and each tree is verified on its own.
test_second_upstream() {
    new_project
    local d=$WORK/fake2/second-1.0
    mkdir -p "$d/hw"
    seq 1 30 | sed 's/^/c line /' >"$d/hw/c.c"
    tar -C "$WORK/fake2" --owner=0 --group=0 -cJf "$P/.cache/second_1.0.orig.tar.xz" second-1.0
    FIXEDBAR_TEST_SECOND_SHA256=$(sha256sum "$P/.cache/second_1.0.orig.tar.xz" | cut -d' ' -f1)
    export FIXEDBAR_TEST_SECOND_SHA256
    cat >"$P/tooling/upstreams/second.conf" <<'CONF'
UP_NAME=second
UP_TITLE="second 1.0"
UP_SOURCE_PACKAGE=second
UP_UPSTREAM_VERSION=1.0
UP_DEBIAN_VERSION=1.0-1
UP_DEBIAN_SUITES=bookworm
UP_SHA256=0000000000000000000000000000000000000000000000000000000000000000
UP_TARBALL_NAME=second_1.0.orig.tar.xz
UP_DIR=second
UP_TREE=tree-second
UP_BUILD_DIR=build
UP_BUILD_SCRIPT=build-second.sh
UP_BUILD_DEPS=()
CONF
    echo /tree-second/ >>"$P/.gitignore"
    git -C "$P" add -A
    git -C "$P" commit -q -m "second upstream"
    expect_ok make -C "$P" tree
    expect_output "importing second_1.0.orig.tar.xz"
    expect_file "$P/tree/src/util/a.c"
    expect_file "$P/tree-second/hw/c.c"

    sed -i 's/^c line 7$/c line seven/' "$P/tree-second/hw/c.c"
    echo "new second file" >"$P/tree-second/hw/new.c"
    sed -i 's/^a line 3$/a line three/' "$P/tree/src/util/a.c"
    expect_ok make -C "$P" export
    expect_file "$P/second/patches/hw/c.c.patch"
    expect_file "$P/second/hw/new.c"
    expect_file "$P/patches/src/util/a.c.patch"
    expect_no_file "$P/patches/hw/c.c.patch"
    expect_no_file "$P/hw/new.c"
    git -C "$P" add -A
    git -C "$P" commit -q -m "changes to both"

    # Neither tree takes the other's files, and each reproduces from HEAD.
    expect_ok make -C "$P" tree
    expect_no_file "$P/tree/second"
    expect_no_file "$P/tree/hw/new.c"
    expect_ok bash "$P/tooling/verify-tree.sh"
    FIXEDBAR_UPSTREAM=second expect_ok bash "$P/tooling/verify-tree.sh"
    expect_output "tree-second/ is reproduced exactly"

    # UPSTREAM= narrows the commands to one tree; an unknown one is named.
    echo "edit" >>"$P/tree/src/util/b.c"
    expect_ok make -C "$P" export UPSTREAM=second
    expect_no_file "$P/patches/src/util/b.c.patch"
    expect_fail make -C "$P" tree UPSTREAM=third
    expect_output "no upstream 'third'"
}

# A package install shows one line on the screen, apt's output goes to a
# log whose end is shown when it fails; the package lists are updated
# first.  apt-get is a stand-in that prints as much as the real one; a
# subshell, as die() exits.
apt_install_with_fake_apt() (
    # shellcheck disable=SC1091
    FIXEDBAR_CACHE_DIR=$WORK/apt-cache source "$P/tooling/common.sh"
    apt-get() {
        echo "apt-get $*" >>"$WORK/apt-calls"
        seq 1 300 | sed "s/^/apt says $1 /"
        [ "$1" != install ] || [ -z "${APT_FAILS:-}" ]
    }
    apt_install "for a test" pkg-a pkg-b
)

test_apt_install_one_line() {
    new_project
    expect_ok apt_install_with_fake_apt
    [ "$(wc -l <"$OUT")" -eq 1 ] || { cat "$OUT"; echo "more than one line"; return 1; }
    expect_output "installing pkg-a pkg-b (for a test; log: $WORK/apt-cache/apt-pkg-a.log)"
    [ "$(head -n 1 "$WORK/apt-calls")" = "apt-get update -q" ] ||
        { cat "$WORK/apt-calls"; echo "no apt-get update first"; return 1; }
    grep -q "apt says install 300" "$WORK/apt-cache/apt-pkg-a.log"

    APT_FAILS=1 expect_fail apt_install_with_fake_apt
    expect_output "apt says install 300"
    expect_output "error: installing pkg-a pkg-b failed (log: $WORK/apt-cache/apt-pkg-a.log)"
    expect_no_output "apt says install 200"
}

run_test() {
    local name=$1 rc
    set +e
    (
        set -e
        cd "$WORK"
        "$name"
    ) >"$WORK/$name.log" 2>&1
    rc=$?
    set -e
    if [ $rc -eq 0 ]; then
        echo "ok $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        sed 's/^/    /' "$WORK/$name.log"
        failed=$((failed + 1))
    fi
}

make_fake_tarball
passed=0
failed=0
if [ $# -eq 0 ]; then
    mapfile -t tests < <(compgen -A function test_)
else
    tests=("$@")
fi
for t in "${tests[@]}"; do
    run_test "$t"
done
echo "tooling tests: $passed passed, $failed failed"
[ $failed -eq 0 ]
