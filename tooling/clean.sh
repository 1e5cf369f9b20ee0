#!/usr/bin/env bash
# Remove the assembled trees of every upstream (with their builds) and the
# cache (tarballs, logs, apt state, tools).  Like 'make tree', it stops
# rather than delete edits made in a tree that were not exported, unless
# --force; it checks every tree before it removes anything.
source "$(dirname "$0")/common.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

trees=()
for upstream in "${UPSTREAMS[@]}"; do
    tree=$TOP/$(upstream_var "$upstream" UP_TREE)
    [ -e "$tree" ] || continue
    if [ -d "$tree/.git" ] && git -C "$tree" rev-parse -q --verify upstream >/dev/null; then
        (cd "$tree" && refuse_unexported_edits "'make clean'" $force)
    elif [ $force -eq 0 ]; then
        die "$tree is not an assembled tree; remove it by hand, or run 'make clean FORCE=1'"
    fi
    trees+=("$tree")
done
rm -rf "${trees[@]}" "$CACHE_DIR"
