#!/usr/bin/env bash
# Import benchmark: a node (release build) imports a CSV of ROWS fictional
# indicators (domains under example.org) through `liaison import`; prints rows/s,
# the importer's and the node's peak RSS (the node's also once its private-lookup
# filters cover the import), the database size, and the rate as a ratio of the
# raw Ed25519 sign rate measured in the same run.
#
#   scripts/bench-import.sh ROWS [BIN]  (e.g. 1000000; BIN: another build's
#                                        binary to compare before and after,
#                                        default: this checkout's release build)
#
# Needs only the Rust toolchain and python3. Everything lives in a temp dir that
# is removed on exit; the node is stopped on exit.
set -euo pipefail
[[ $# -ge 1 && $# -le 2 && $1 =~ ^[0-9]+$ && $1 -ge 1 ]] || { echo "usage: $0 ROWS [BIN]" >&2; exit 2; }
rows=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $# -eq 2 ]]; then
    bin=$2
else
    (cd "$root" && cargo build --release -q -p liaison --bin liaison)
    bin=${CARGO_TARGET_DIR:-$root/target}/release/liaison
fi
work=$(mktemp -d /tmp/liaison-bench-import.XXXXXX)
node_pid=
cleanup() { [[ -n $node_pid ]] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

python3 - "$rows" "$work/rows.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    out.write("kind,value,labels,tlp,evaluation,description\n")
    for i in range(rows):
        out.write(f"domain,recruit-{i}.example.org,scam-centre,amber,B2,fictional advert domain {i}\n")
PY
"$bin" init --dir "$work/node" --name "Bench Import (example)" --listen 127.0.0.1:0 --country GB >/dev/null
"$bin" run --dir "$work/node" 2>"$work/node.log" &
node_pid=$!
for _ in $(seq 200); do [[ -f $work/node/node.addr ]] && break; sleep 0.05; done
[[ -f $work/node/node.addr ]] || { echo "node did not start:" >&2; cat "$work/node.log" >&2; exit 1; }

sign=$("$bin" bench --signatures-only | awk '/^sign /{print $2}')
/usr/bin/time -f "%M" -o "$work/importer.rss" \
    "$bin" --dir "$work/node" import "$work/rows.csv" --json >"$work/summary.json"
node_rss=$(awk '/VmHWM/{print $2}' "/proc/$node_pid/status")
# The node refreshes its private-lookup filters after the import (deferred while
# it runs): its peak RSS once they cover every imported value, within 10 minutes.
imported=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["imported"]))' "$work/summary.json")
filters_s=-1
for i in $(seq 600); do
    if grep -q "lookup filters built.* values=$imported " "$work/node.log"; then filters_s=$i; break; fi
    sleep 1
done
node_rss_filters=$(awk '/VmHWM/{print $2}' "/proc/$node_pid/status")
importer_rss=$(cat "$work/importer.rss")
db_bytes=$(du -sb "$work/node/db" | cut -f1)
python3 - "$work/summary.json" "$sign" "$node_rss" "$importer_rss" "$db_bytes" "$(stat -c %s "$work/rows.csv")" "$node_rss_filters" "$filters_s" <<'PY'
import json, sys
# An ImportSummary in the proto3 JSON mapping: lowerCamelCase, uint64 counts as strings.
summary = json.load(open(sys.argv[1]))
for key in ("rows", "imported", "rejected", "alreadyPresent", "skipped"):
    summary[key] = int(summary[key])
sign, node_rss, importer_rss, db, csv = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rate = summary["rowsPerSecond"]
print(f"rows                {summary['rows']:>12,}  (imported {summary['imported']:,}, rejected {summary['rejected']:,})")
print(f"CSV size            {csv/1e6:>12.1f} MB")
print(f"import time         {summary['seconds']:>12.1f} s")
print(f"import rate         {rate:>12,.0f} rows/s")
print(f"raw sign rate       {sign:>12,.0f} /s  (same run, one core)")
print(f"ratio               {rate/sign:>12.3f}  (import rate / sign rate; goal >= 0.5)")
print(f"importer peak RSS   {importer_rss/1024:>12.1f} MiB")
print(f"node peak RSS       {node_rss/1024:>12.1f} MiB")
filters_rss, filters_s = int(sys.argv[7]), int(sys.argv[8])
ready = f"filters ready {filters_s} s after the import" if filters_s >= 0 else "filters not ready after 600 s"
print(f"node peak RSS, with the lookup filters {filters_rss/1024:>5.1f} MiB  ({ready})")
print(f"database            {db/1e6:>12.1f} MB  ({db/max(summary['imported'],1):,.0f} bytes/record)")
PY
