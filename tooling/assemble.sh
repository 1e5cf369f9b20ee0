#!/usr/bin/env bash
# Assemble the patched tree of an upstream (FIXEDBAR_UPSTREAM, see
# tooling/upstreams/; libvirt's is tree/) from the pinned tarball and the
# repository: a pristine import commit (tagged "upstream"), then one commit
# with every patch from the upstream's patches/ applied and every new file
# of its folder copied in.
#
# An existing tree is updated in place, writing only the files whose content
# changes: the build directory survives and the rebuild after a repository
# change stays incremental.  Edits made in the tree that were not exported
# are never thrown away silently: the script stops unless --force.
source "$(dirname "$0")/common.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

"$TOP/tooling/fetch.sh"

import_tarball() {
    local dest=$1 tmp
    tmp=$dest.import
    rm -rf "$tmp"
    mkdir -p "$tmp"
    msg "importing $UP_TARBALL_NAME into $dest"
    tar -C "$tmp" --strip-components=1 -xJf "$TARBALL"
    (
        cd "$tmp"
        git init -q -b master
        git config core.autocrlf false
        # Everything the tarball has, whatever TREE_EXCLUDES says.
        git add -A --force
        git commit -q --no-verify -m "Import $UP_TITLE release tarball" \
            -m "sha256 $UP_SHA256 ($UP_TARBALL_NAME)"
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
write_tree_excludes
want=$(expected_tree_id "$TREE")
have=$(worktree_tree_id "$TREE")

if [ "$want" = "$have" ]; then
    commit_project_changes
    msg "tree is up to date with the repository"
    exit 0
fi

refuse_unexported_edits "re-assembling it" $force

# Going straight from the current project commit to the wanted one rewrites
# only the files that differ; a reset to the import and re-applying every
# patch would give every patched file a new mtime and rebuild most of
# libvirt.
old=$(git rev-parse 'HEAD^{tree}')
commit=$(project_commit "$want")
git reset -q --hard "$commit"
git clean -q -fd
commit_project_changes
changed=$(git diff --name-only "$old" "$want" | wc -l)
msg "tree assembled at $(git rev-parse --short HEAD) ($changed files changed)"
