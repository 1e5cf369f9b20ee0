#!/usr/bin/env bash
# Project test: assembling the repository from scratch (pristine tarball,
# patches, new files) must reproduce tree/ exactly.  Catches edits in the
# tree that were never exported and patches that no longer describe it.
source "$(dirname "$0")/common.sh"

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

FIXEDBAR_TREE=$scratch/tree "$TOP/tooling/assemble.sh" >/dev/null 2>&1 ||
    die "assembling a fresh tree from the repository failed"

fresh=$(git -C "$scratch/tree" rev-parse 'HEAD^{tree}')
have=$(worktree_tree_id "$TREE")

if [ "$fresh" != "$have" ]; then
    printf 'tree/ differs from a fresh assembly of the repository:\n' >&2
    diff -rq -x .git -x build "$scratch/tree" "$TREE" >&2 || true
    die "run 'make export' to write tree/ back, or 'make tree FORCE=1' to reset it"
fi
msg "tree/ is reproduced exactly by the repository (tree $fresh)"
