#!/usr/bin/env bash
# Soak: three release-build nodes under continuous publishing and searching,
# with partner B restarted every minute, sampled every minute.
#
#   scripts/soak.sh MINUTES [OUTDIR]
#
# OUTDIR (default ./soak-<UTC time>) receives soak.csv, soak.md (table),
# soak.svg (plot) and, after a failure, the node logs. Needs only the Rust
# toolchain and python3 (standard library). Node directories live in a temp dir
# that is removed on exit (SOAK_KEEP=1 keeps it); every node process is stopped
# on exit, Ctrl-C or SIGTERM. Tuning (seconds): SOAK_SAMPLE_SECONDS=60,
# SOAK_FLAP_SECONDS=60, SOAK_DOWN_SECONDS=10, SOAK_PROBE_SECONDS=10,
# SOAK_PUBLISH_PAUSE=0.2, SOAK_SEARCH_PAUSE=0.5. See scripts/soak.py.
set -euo pipefail

usage() { echo "usage: $0 MINUTES [OUTDIR]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 && $1 =~ ^[0-9]+$ && $1 -ge 1 ]] || usage
minutes=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${2:-$PWD/soak-$(date -u +%Y%m%dT%H%M%SZ)}

command -v python3 >/dev/null || { echo "soak: python3 is required" >&2; exit 1; }
echo "== building liaison (release)"
(cd "$root" && cargo build --release -p liaison --bin liaison) ||
    { echo "soak: release build failed" >&2; exit 1; }
bin=${CARGO_TARGET_DIR:-$root/target}/release/liaison

# exec: signals (Ctrl-C, SIGTERM) reach the driver, which stops every node.
exec python3 "$root/scripts/soak.py" --bin "$bin" --minutes "$minutes" --out "$out"
