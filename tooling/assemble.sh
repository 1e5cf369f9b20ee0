#!/usr/bin/env bash
# Assemble the patched libvirt tree in tree/ from the pinned tarball and the
# repository: a pristine import commit (tagged "upstream"), then one commit
# with every patch from patches/ applied and every new file copied in.
#
# An existing tree is updated in place so that its build directory (and with
# it incremental rebuilds) survives.  Edits made in the tree that were not
# exported are never thrown away silently: the script stops unless --force.
source "$(dirname "$0")/common.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

"$TOP/tooling/fetch.sh"

import_tarball() {
    local dest=$1 tmp
    tmp=$dest.import
    rm -rf "$tmp"
    mkdir -p "$tmp"
    msg "importing $LIBVIRT_TARBALL_NAME into $dest"
    tar -C "$tmp" --strip-components=1 -xJf "$TARBALL"
    (
        cd "$tmp"
        git init -q -b master
        git config core.autocrlf false
        # The meson build directory lives inside the tree but never in git.
        printf '/build/\n' >>.git/info/exclude
        git add -A
        git commit -q --no-verify -m "Import libvirt $LIBVIRT_VERSION release tarball" \
            -m "sha256 $LIBVIRT_SHA256 ($LIBVIRT_TARBALL_NAME)"
        git tag upstream
    )
    mv "$tmp" "$dest"
}

if [ ! -d "$TREE/.git" ] || ! git -C "$TREE" rev-parse -q --verify upstream >/dev/null; then
    if [ -e "$TREE" ]; then
        [ $force -eq 1 ] || die "$TREE exists but is not an assembled tree; remove it or use --force"
        rm -rf "$TREE"
    fi
    import_tarball "$TREE"
fi

cd "$TREE"
want=$(expected_tree_id "$TREE")
have=$(worktree_tree_id "$TREE")

if [ "$want" = "$have" ]; then
    commit_project_changes
    msg "tree is up to date with the repository"
    exit 0
fi

synced=$(cat .git/fixedbar-synced 2>/dev/null || git rev-parse 'upstream^{tree}')
if [ "$have" != "$synced" ]; then
    # Edits made in the tree since it was last assembled or exported.
    if [ $force -eq 0 ]; then
        git status --short | head -n 20 >&2
        die "tree/ has edits that are not in the repository: run 'make export' to keep them, or 'make tree FORCE=1' to discard them"
    fi
    msg "discarding edits in tree/ (--force)"
fi

msg "applying the repository's patches and new files"
git reset -q --hard upstream
git clean -q -fdx -e /build
while read -r f; do
    git apply --whitespace=nowarn "$TOP/patches/$f" || die "patches/$f does not apply"
done < <(patch_files)
while read -r f; do
    mkdir -p "$(dirname "$f")"
    cp -p "$TOP/$f" "$f"
done < <(new_files)
commit_project_changes

[ "$(git rev-parse 'HEAD^{tree}')" = "$want" ] || die "assembled tree does not match the repository"
msg "tree assembled at $(git rev-parse --short HEAD)"
