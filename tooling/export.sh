#!/usr/bin/env bash
# Write the edits made in tree/ back into the repository: one patch per
# modified upstream file under patches/<path>.patch, new files copied to
# <path>.  Patches and new files that no longer correspond to a change are
# removed, so the repository always mirrors the tree exactly.  Afterwards
# the tree's project commit is redone to hold the exported state.
source "$(dirname "$0")/common.sh"

[ -d "$TREE/.git" ] || die "no assembled tree: run 'make tree' first"
cd "$TREE"

index=$(mktemp)
trap 'rm -f "$index"' EXIT
export GIT_INDEX_FILE=$index
git read-tree HEAD
git add -A

newpatches=$(mktemp -d)
trap 'rm -f "$index"; rm -rf "$newpatches"' EXIT
added=()
while IFS=$'\t' read -r status path; do
    case $status in
    A)
        added+=("$path")
        ;;
    M|D|T)
        mkdir -p "$newpatches/$(dirname "$path")"
        git diff --cached --no-renames --full-index --binary upstream -- "$path" \
            >"$newpatches/$path.patch"
        ;;
    *)
        die "unexpected change '$status' for $path"
        ;;
    esac
done < <(git diff --cached --no-renames --name-status upstream)

# Patches: replace the whole directory with the freshly generated set.
rm -rf "$TOP/patches"
if [ -n "$(ls -A "$newpatches")" ]; then
    cp -a "$newpatches" "$TOP/patches"
    chmod 755 "$TOP/patches"
fi

# New files: drop the ones the tree no longer has, copy the others.
while read -r f; do
    keep=0
    for a in "${added[@]}"; do
        [ "$a" = "$f" ] && { keep=1; break; }
    done
    if [ $keep -eq 0 ]; then
        rm -f "$TOP/$f"
        rmdir -p --ignore-fail-on-non-empty "$(dirname "$TOP/$f")" 2>/dev/null || true
    fi
done < <(new_files)
for a in "${added[@]}"; do
    if [[ $a =~ $INFRA_PATHS_REGEX ]]; then
        die "new file $a collides with the project's own files"
    fi
    mkdir -p "$TOP/$(dirname "$a")"
    cp -p "$a" "$TOP/$a"
done

# Redo the project commit of the tree so that tree and repository agree.
unset GIT_INDEX_FILE
commit_project_changes

npatches=$(patch_files | wc -l)
msg "exported $npatches patches and ${#added[@]} new files; review with 'git status' and commit"
