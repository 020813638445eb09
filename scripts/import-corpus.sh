#!/usr/bin/env bash
# Import fidelity on the mixed corpus (crates/core/src/formats/testdata/corpus:
# real format shapes, fictional values): a fresh node imports every file in turn
# with `liaison import --json`; prints per file the exit status and the counts
# imported / already present / rejected / skipped / not carried (kinds and total).
#
#   scripts/import-corpus.sh [BIN]     (default: the debug build of this checkout)
#
# Give another build's binary (e.g. main's) as BIN to compare before and after.
# Needs python3. Everything lives in a temp dir that is removed on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$root/target}/debug/liaison}
corpus=$root/crates/core/src/formats/testdata/corpus
work=$(mktemp -d /tmp/liaison-import-corpus.XXXXXX)
node_pid=
cleanup() { [[ -n $node_pid ]] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

"$bin" init --dir "$work/node" --name "Corpus (example)" --listen 127.0.0.1:0 --country GB >/dev/null
"$bin" run --dir "$work/node" 2>"$work/node.log" &
node_pid=$!
for _ in $(seq 200); do [[ -f $work/node/node.addr ]] && break; sleep 0.05; done
[[ -f $work/node/node.addr ]] || { echo "node did not start:" >&2; cat "$work/node.log" >&2; exit 1; }

printf '%-28s %4s %8s %7s %8s %7s %s\n' file exit imported present rejected skipped "not carried"
for file in excel.crlf.csv vendor_event.misp.json misp_objects.misp.json oasis_indicators.stix.json misp_made.stix.json; do
    set +e
    "$bin" --dir "$work/node" import "$corpus/$file" --json >"$work/out.json" 2>"$work/err.txt"
    status=$?
    set -e
    python3 - "$file" "$status" "$work/out.json" "$work/err.txt" <<'PY'
import json, sys
name, status, out, err = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
try:
    s = json.load(open(out))
except ValueError:
    print(f"{name:<28} {status:>4}  no summary: {open(err).read().strip()[:100]}")
    sys.exit(0)
n = lambda k: int(s.get(k, 0))
lost = s.get("notCarried")
lost_text = "n/a (not reported)" if lost is None else (f"{sum(int(l['count']) for l in lost)} (" + ", ".join(f"{l['field']} {l['count']}" for l in lost) + ")" if lost else "0")
print(f"{name:<28} {status:>4} {n('imported'):>8} {n('alreadyPresent'):>7} {n('rejected'):>8} {n('skipped'):>7} {lost_text}")
PY
done
