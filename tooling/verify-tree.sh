#!/usr/bin/env bash
# Project test: the repository as committed (HEAD) reproduces tree/ exactly.
# A scratch clone of HEAD is assembled from the pristine tarball by its own
# committed tooling and compared with tree/'s working state, so the test
# fails on edits in tree/ that were never exported, on repository changes
# that were not committed (or files git does not know), and on patches that
# no longer describe the tree.  It says which files differ and why.
source "$(dirname "$0")/common.sh"

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

head=$(git -C "$TOP" rev-parse HEAD)
git clone -q --shared --no-checkout "$TOP" "$scratch/repo"
git -C "$scratch/repo" checkout -q --detach "$head"
FIXEDBAR_CACHE_DIR=$CACHE_DIR FIXEDBAR_TREE=$scratch/tree \
    "$scratch/repo/tooling/assemble.sh" >"$scratch/assemble.log" 2>&1 ||
    { cat "$scratch/assemble.log" >&2; die "assembling a fresh tree from HEAD failed"; }

fresh=$(git -C "$scratch/tree" rev-parse 'HEAD^{tree}')
have=$(worktree_tree_id "$TREE")
if [ "$fresh" = "$have" ]; then
    msg "$UP_TREE/ is reproduced exactly by HEAD $(git -C "$TOP" rev-parse --short HEAD) (tree $fresh)"
    exit 0
fi

printf '%s/ differs from a fresh assembly of HEAD (- HEAD, + %s/):\n' "$UP_TREE" "$UP_TREE" >&2
GIT_ALTERNATE_OBJECT_DIRECTORIES=$scratch/tree/.git/objects \
    git -C "$TREE" diff --stat "$fresh" "$have" >&2

# Why: compare with what the repository's working copy and the last
# assembly or export say.
cd "$TREE"
working=$(expected_tree_id "$TREE")
synced=$(synced_tree_id)
if [ "$have" = "$working" ]; then
    git -C "$TOP" status --short >&2
    die "$UP_TREE/ matches the repository's uncommitted state: commit the changes above (or revert them and run 'make tree')"
elif [ "$have" = "$synced" ]; then
    die "the repository changed since $UP_TREE/ was assembled: run 'make tree'"
else
    die "$UP_TREE/ has edits that were not exported: run 'make export' to keep them, or 'make tree FORCE=1' to discard them"
fi
