#!/usr/bin/env bash
# Remove the assembled tree (with its builds) and the cache (tarball, logs,
# apt state).  Like 'make tree', it stops rather than delete edits made in
# the tree that were not exported, unless --force.
source "$(dirname "$0")/common.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

if [ -e "$TREE" ]; then
    if [ -d "$TREE/.git" ] && git -C "$TREE" rev-parse -q --verify upstream >/dev/null; then
        (cd "$TREE" && refuse_unexported_edits "'make clean'" $force)
    elif [ $force -eq 0 ]; then
        die "$TREE is not an assembled tree; remove it by hand, or run 'make clean FORCE=1'"
    fi
    rm -rf "$TREE"
fi
rm -rf "$CACHE_DIR"
