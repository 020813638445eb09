#!/usr/bin/env bash
# Fails when proto/ has a wire-breaking change against any release listed in
# compat/wire-releases (docs/PROTOCOL.md, "Compatibility"):
#
#   scripts/check-proto-compat.sh
#
# Runs `buf breaking` with the WIRE_JSON rules: what breaks a partner or a client
# decoding our bytes (renumbered or retyped fields, removed or renumbered enum
# values, a changed package, …) and what breaks the proto3 JSON mapping the
# CLI's `--json` prints (renamed fields and enum values); plus RPC_NO_DELETE and
# PACKAGE_SERVICE_NO_DELETE, because a removed call is UNIMPLEMENTED for an
# older partner and WIRE_JSON does not look at calls being removed. Moving a
# message or service to another file, or renaming a message, is not reported:
# no byte and no gRPC path changes.
#
# buf comes from PyPI (compat/requirements.txt, installed into .venv-ci by
# .ci/run); the script uses $BUF, else .venv-ci/bin/buf, else `buf` on PATH.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

buf="${BUF:-}"
if [ -z "$buf" ]; then
    if [ -x "$root/.venv-ci/bin/buf" ]; then
        buf="$root/.venv-ci/bin/buf"
    elif command -v buf >/dev/null; then
        buf="$(command -v buf)"
    else
        echo "check-proto-compat: buf not found; install it with" >&2
        echo "    python3 -m pip install -r compat/requirements.txt   (or run .ci/run, which puts it in .venv-ci)" >&2
        exit 1
    fi
fi

config='{"version":"v2","breaking":{"use":["WIRE_JSON","RPC_NO_DELETE","PACKAGE_SERVICE_NO_DELETE"]}}'
checked=0
while read -r tag commit; do
    if ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
        echo "check-proto-compat: commit $commit ($tag, compat/wire-releases) is not in this clone; fetch it (git fetch origin $commit)" >&2
        exit 1
    fi
    previous="$(mktemp -d)"
    git -C "$root" archive --format=tar "$commit" proto | tar -x -C "$previous"
    # The module is the proto/ folder on both sides (imports are "liaison/v1/…");
    # the rules are the ones above (docs/PROTOCOL.md, "Compatibility").
    if ! (cd "$root/proto" && "$buf" breaking . --config "$config" --against "$previous/proto" --against-config '{"version":"v2"}'); then
        rm -rf "$previous"
        echo "check-proto-compat: proto/ has a wire-breaking change against $tag ($commit)." >&2
        echo "    Make it additive (new field numbers, reserved old ones), or, if the break is intended, it is a new protocol major version (docs/PROTOCOL.md, \"Versions\")." >&2
        exit 1
    fi
    rm -rf "$previous"
    echo "check-proto-compat: proto/ has no wire-breaking change against $tag ($commit)"
    checked=$((checked + 1))
done < <(grep -Ev '^[[:space:]]*(#|$)' "$root/compat/wire-releases")
if [ "$checked" -eq 0 ]; then
    echo "check-proto-compat: compat/wire-releases names no release" >&2
    exit 1
fi
echo "check-proto-compat: rules WIRE_JSON, RPC_NO_DELETE, PACKAGE_SERVICE_NO_DELETE; $checked release(s) checked"
