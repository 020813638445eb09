#!/usr/bin/env bash
# Builds the `liaison` binary of the release named in compat/previous-release,
# once, and prints its path:
#
#   scripts/previous-release.sh            -> .../target/previous/<commit>/liaison
#   scripts/previous-release.sh --commit   -> the release's full commit hash
#   scripts/previous-release.sh --tag      -> its tag (e.g. v0.1.0)
#
# The source comes from `git archive` of the release's full commit (a clone
# without tags works; a shallow one must fetch that commit). It is built in the
# same CARGO_TARGET_DIR and dev profile as the current workspace (the current
# Cargo.toml's [profile.dev...] settings are passed to it), so registry
# crates compiled for one are reused by the other (only crates whose version or
# features differ are compiled again), and the binary is kept in
# <target>/previous/<commit>/: when it is there, nothing is rebuilt.
# CI (.ci/run) exports its path as LIAISON_PREVIOUS_BIN for the mixed-version
# test (tests/tests/mixed_version.rs). Progress goes to stderr, the path alone to
# stdout.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
release_file="$root/compat/previous-release"

# The one line "TAG COMMIT" of compat/previous-release (comments skipped).
read -r tag commit < <(grep -Ev '^[[:space:]]*(#|$)' "$release_file" | head -n 1) || {
    echo "previous-release: $release_file has no \"TAG COMMIT\" line" >&2
    exit 1
}
if [[ ! "$commit" =~ ^[0-9a-f]{40}$ ]]; then
    echo "previous-release: $release_file must name the release by its full 40-hex commit (got \"$commit\")" >&2
    exit 1
fi
case "${1:-}" in
    "") ;;
    --commit) echo "$commit"; exit 0 ;;
    --tag) echo "$tag"; exit 0 ;;
    *) echo "usage: scripts/previous-release.sh [--commit | --tag]" >&2; exit 2 ;;
esac

target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="$target/previous/$commit"
bin="$out/liaison"
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi

if ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "previous-release: commit $commit ($tag) is not in this clone; fetch it (git fetch origin $commit, or an unshallow clone)" >&2
    exit 1
fi

# Run from a test (cargo test sets these for the test process), the build
# would see a parent cargo's per-package variables; ring's build script
# fingerprint includes CARGO_MANIFEST_DIR, so the TLS crates were compiled
# again on every switch between a test and a shell. The build must not
# depend on who asked for it. (`env -u`: CARGO_BIN_EXE_<name> may hold a '-'.)
parent_vars=()
while read -r name; do
    parent_vars+=(-u "$name")
done < <(env | sed -n -E 's/^(CARGO_(MANIFEST|PKG|CRATE|BIN|PRIMARY|TARGET_TMPDIR|RUSTC_CURRENT)[A-Za-z0-9_-]*)=.*/\1/p')

echo "previous-release: building liaison $tag ($commit) into $out" >&2
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
git -C "$root" archive --format=tar "$commit" | tar -x -C "$src"

# Both workspaces have a `liaison` binary, and cargo copies the one it builds to
# <target>/debug/liaison: keep the current build's copy and put it back, so that
# building the old release never swaps the binary a developer runs from target/.
debug="$target/debug"
saved="$out/saved-current"
restore() {
    for name in liaison liaison.d; do
        rm -f "$debug/$name"
        if [ -e "$saved/$name" ]; then
            mv "$saved/$name" "$debug/$name"
        fi
    done
    rmdir "$saved" 2>/dev/null || true
}
# A run killed before its trap ran left the current build's copy aside: put it
# back before setting it aside again.
if [ -d "$saved" ]; then
    restore
fi
mkdir -p "$saved"
for name in liaison liaison.d; do
    if [ -e "$debug/$name" ]; then
        mv "$debug/$name" "$saved/$name"
    fi
done
trap restore EXIT

# The dev profile of the CURRENT workspace (its [profile.dev...] tables, e.g.
# registry crates at opt-level 2), given to the old build as --config: a
# release's Cargo.toml carries the profile of its day, and a crate compiled with
# another opt-level is a different artifact, so without this every registry
# crate would be compiled twice (once per profile). Cargo.toml stays the one
# place the profile is decided; this only copies it.
profile=()
while IFS= read -r setting; do
    profile+=(--config "$setting")
done < <(awk '
    /^[[:space:]]*\[/ {
        section = ""
        if (match($0, /^[[:space:]]*\[profile\.dev[^]]*\]/)) {
            section = substr($0, RSTART, RLENGTH)
            sub(/^[[:space:]]*\[/, "", section)
            sub(/\]$/, "", section)
        }
        next
    }
    section != "" && /^[[:space:]]*[A-Za-z0-9_-]+[[:space:]]*=/ {
        line = $0
        sub(/[[:space:]]+#.*$/, "", line)
        key = line; sub(/[[:space:]]*=.*/, "", key); sub(/^[[:space:]]*/, "", key)
        value = line; sub(/^[^=]*=[[:space:]]*/, "", value)
        print section "." key "=" value
    }' "$root/Cargo.toml")

# --locked: the release's own Cargo.lock, exactly. No incremental cache: this
# source never changes, so the cache would only take disk space.
(cd "$src" && env ${parent_vars[@]+"${parent_vars[@]}"} CARGO_TARGET_DIR="$target" \
    CARGO_INCREMENTAL=0 cargo build --locked ${profile[@]+"${profile[@]}"} \
    -p liaison --bin liaison >&2)
cp "$debug/liaison" "$bin.tmp"
mv "$bin.tmp" "$bin"
# The binary is all that is kept; the source tree is rebuilt from git if needed.
rm -rf "$src"
echo "$bin"
