#!/usr/bin/env bash
# Write the edits made in an assembled tree (FIXEDBAR_UPSTREAM's; libvirt's
# is tree/) back into the repository: one patch per modified upstream file
# under the upstream's patches/<path>.patch, new files copied to <path> in
# its folder.  Patches and new files that no longer correspond to a change are
# removed, so the repository always mirrors the tree exactly.  Afterwards
# the tree's project commit is redone to hold the exported state.
#
# The tree must have been assembled from the repository as it is now:
# otherwise whatever changed in the repository since (a git pull, an edit)
# would be reverted.  --force exports anyway.
source "$(dirname "$0")/common.sh"

force=0
[ "${1:-}" = "--force" ] && force=1

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"
cd "$TREE"
write_tree_excludes

synced=$(synced_tree_id)
repo=$(expected_tree_id "$TREE")
if [ "$repo" != "$synced" ]; then
    git diff --stat "$synced" "$repo" | tail -n 20 >&2
    # Trees exported by older tooling may hold files that are untracked in
    # the repository; they only count once git knows them.
    others=$([ ! -d "$UP_ROOT" ] || git -C "$UP_ROOT" ls-files --others --exclude-standard -- .)
    untracked=$(grep -Ev "$INFRA_PATHS_REGEX" <<<"$others" || true)
    if [ -n "$untracked" ]; then
        sed -n '1,20s/^/untracked, so not part of the repository: /p' <<<"$untracked" >&2
        msg "'git add' those of the files above that belong to the project"
    fi
    if [ $force -eq 0 ]; then
        die "the repository changed since $UP_TREE/ was assembled (files above; a git pull or an edit in the repository) and exporting would revert that: run 'make tree' first; if $UP_TREE/ has edits, keep them across with 'git -C $UP_TREE stash -u', 'make tree', 'git -C $UP_TREE stash pop'; or 'make export FORCE=1' to overwrite the repository with $UP_TREE/"
    fi
    msg "overwriting the repository's changes above with $UP_TREE/ (FORCE=1)"
fi

# One patch in the format 'git apply' takes, whatever the user's or the
# tree's git configuration says about prefixes, colour, external diff
# drivers, context or algorithm: regenerating must give the same bytes.
export_patch() {
    git -c core.quotePath=false -c diff.noprefix=false -c diff.mnemonicPrefix=false \
        -c diff.suppressBlankEmpty=false \
        diff --cached --no-color --no-ext-diff --no-textconv --no-relative \
        --src-prefix=a/ --dst-prefix=b/ --diff-algorithm=myers --indent-heuristic \
        -U3 --inter-hunk-context=0 --no-renames --full-index --binary upstream -- "$1"
}

newpatches=$(mktemp -d)
index=$(mktemp)
trap 'rm -f "$index"; rm -rf "$newpatches"' EXIT
export GIT_INDEX_FILE=$index
git read-tree HEAD
git add -A

changes=$(git -c core.quotePath=false diff --cached --no-renames --name-status upstream)
patches=()
added=()
while IFS=$'\t' read -r status path; do
    case $status in
    '')
        ;;
    A)
        [[ ! $path =~ $INFRA_PATHS_REGEX ]] ||
            die "new file $path collides with the project's own files"
        added+=("$path")
        ;;
    M|D|T)
        mkdir -p "$newpatches/$(dirname "$path")"
        export_patch "$path" >"$newpatches/$path.patch"
        patches+=("$path.patch")
        ;;
    *)
        die "unexpected change '$status' for $path"
        ;;
    esac
done <<<"$changes"
unset GIT_INDEX_FILE

# Whether $1 is one of the remaining arguments.
listed() {
    local want=$1 x
    shift
    for x in "$@"; do
        [ "$x" = "$want" ] && return 0
    done
    return 1
}

# Remove the repository file at path $1 (one git knows, so nothing is lost)
# and the directories it leaves empty.
remove_from_repo() {
    rm -f "$1"
    rmdir -p --ignore-fail-on-non-empty "$(dirname "$1")" 2>/dev/null || true
}

# Drop the patches and new files that no longer correspond to a change.
# Only files git knows are considered: untracked files are never touched.
old_patches=$(patch_files)
while IFS= read -r p; do
    [ -n "$p" ] || continue
    listed "$p" "${patches[@]}" || remove_from_repo "$PATCHES/$p"
done <<<"$old_patches"
old_files=$(new_files)
while IFS= read -r f; do
    [ -n "$f" ] || continue
    listed "$f" "${added[@]}" || remove_from_repo "$UP_ROOT/$f"
done <<<"$old_files"

# Write the current ones and let git know the new ones (intent to add), so
# that 'git status' and 'git diff' show them and the next 'make tree' uses
# them even before they are committed.
written=()
for p in "${patches[@]}"; do
    mkdir -p "$(dirname "$PATCHES/$p")"
    cp "$newpatches/$p" "$PATCHES/$p"
    written+=("$PATCHES/$p")
done
for a in "${added[@]}"; do
    mkdir -p "$(dirname "$UP_ROOT/$a")"
    cp -p "$a" "$UP_ROOT/$a"
    written+=("$UP_ROOT/$a")
done
if [ ${#written[@]} -ne 0 ]; then
    git -C "$TOP" add --intent-to-add -- "${written[@]}"
fi

# Redo the project commit of the tree so that tree and repository agree.
commit_project_changes
have=$(git rev-parse 'HEAD^{tree}')
repo=$(expected_tree_id "$TREE")
[ "$repo" = "$have" ] || die "the exported repository does not reproduce $UP_TREE/"

msg "exported ${#patches[@]} patches and ${#added[@]} new files; review with 'git status' and commit"
