#!/usr/bin/env bash
# Cuts a release: scripts/release.sh VERSION (e.g. 0.3.0).
#
# Checks that the working tree is clean and that CHANGELOG.md has a
# "## [VERSION] - YYYY-MM-DD" section (move the Unreleased entries there first,
# leaving an empty "## [Unreleased]" on top), sets the workspace version in
# Cargo.toml, runs `cargo check` (which also updates Cargo.lock), commits
# "Release VERSION" (unless the version was already set) and tags it vVERSION. It pushes nothing: push the commit
# and the tag yourself (git push && git push origin vVERSION).
set -euo pipefail

version="${1:-}"
if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "usage: scripts/release.sh VERSION   (semantic version, e.g. 0.3.0)" >&2
    exit 2
fi
cd "$(git rev-parse --show-toplevel)"

if [ -n "$(git status --porcelain)" ]; then
    echo "release: the working tree has uncommitted changes; commit or stash them first" >&2
    exit 1
fi
if ! grep -Eq "^## \[${version//./\\.}\] - [0-9]{4}-[0-9]{2}-[0-9]{2}$" CHANGELOG.md; then
    echo "release: CHANGELOG.md has no \"## [$version] - YYYY-MM-DD\" section; write it first" >&2
    exit 1
fi
if git rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
    echo "release: tag v$version already exists" >&2
    exit 1
fi

# The one version line of [workspace.package] (every crate says version.workspace = true).
sed -i -E '/^\[workspace\.package\]/,/^\[/ s/^version = "[^"]*"/version = "'"$version"'"/' Cargo.toml
grep -q "^version = \"$version\"" Cargo.toml || {
    echo "release: could not set the version in Cargo.toml" >&2
    exit 1
}
cargo check --workspace --all-targets
git add Cargo.toml Cargo.lock
# The version may already be set (bumped with the changes it releases).
if ! git diff --cached --quiet; then
    git commit -m "Release $version"
fi
git tag -a "v$version" -m "Liaison $version"
echo "Released $version: commit $(git rev-parse --short=12 HEAD), tag v$version. Push with: git push && git push origin v$version"
