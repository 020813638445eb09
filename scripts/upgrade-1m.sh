#!/bin/bash
# Times the upgrade of a node holding 1M records from the previous release to this
# build, and its rollback (docs/BENCHMARKS.md, "Upgrade of a 1M-record node"). By hand,
# not in CI: about 15 minutes and 3 GB of disk, deleted at the end.
#   OLD=<0.1.0 release binary> NEW=<this build's release binary> scripts/upgrade-1m.sh [WORKDIR]
# Fictional data only: +44 7700 900xxx phones and hN.example.org domains.
set -euo pipefail
OLD=${OLD:?set OLD to the previous release binary (cargo build --release at tag v0.1.0)}
NEW=${NEW:?set NEW to this build release binary (cargo build --release -p liaison)}
B=${1:-$(mktemp -d)}
N=${N:-1000000}
export LIAISON_BACKUP_PASSPHRASE="upgrade bench passphrase (example)"
t() { date +%s.%N; }
since() { echo "$(t) - $1" | bc; }
wait_addr() { while [ ! -s "$1/node.addr" ]; do sleep 0.05; done; }
first_search() { until "$1" --dir "$2" search h999.example.org --json >/dev/null 2>&1; do sleep 0.05; done; }
stop() { kill -TERM "$1"; wait "$1" || true; }
records() { "$1" --dir "$2" identity show --json | grep -o '"records":"[0-9]*"'; }

python3 - "$B/rows.csv" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("kind,value,tlp\n")
    for i in range(1000):
        f.write("phone,+44 7700 900%03d,green\n" % i)
    for i in range(n - 1000):
        f.write("domain,h%d.example.org,green\n" % i)
PY

# The previous release: bulk import, then the pre-upgrade backup.
$OLD init --dir "$B/a" --name "Agency A (example)" --listen 127.0.0.1:0 --country GB >/dev/null
$OLD run --dir "$B/a" 2> "$B/old.log" & PID=$!
wait_addr "$B/a"
s=$(t); $OLD --dir "$B/a" import "$B/rows.csv" 2>&1 | tail -1; echo "import_s $(since "$s")"
records "$OLD" "$B/a"; du -sh "$B/a/db"
s=$(t); $OLD --dir "$B/a" backup --out "$B/pre.lbk" --include-keys | head -1; echo "backup_s $(since "$s")"

# Upgrade: stop -> this build starts (the store migrates at open) -> first search answered.
s=$(t); stop $PID; e1=$(t); rm -f "$B/a/node.addr"
$NEW run --dir "$B/a" 2> "$B/new.log" & PID=$!
wait_addr "$B/a"; e2=$(t)
first_search "$NEW" "$B/a"; e3=$(t)
echo "upgrade: stop_s $(echo "$e1 - $s" | bc) start_with_migration_s $(echo "$e2 - $e1" | bc) first_search_s $(echo "$e3 - $e2" | bc) total_s $(echo "$e3 - $s" | bc)"
grep "layout migrated\|node serving" "$B/new.log" | cut -c1-120
records "$NEW" "$B/a"
stop $PID
s=$(t); $NEW --dir "$B/a" migrate; echo "open_when_current_s $(since "$s")"

# Rollback: the previous release refuses the migrated database; restore the backup with it.
$OLD run --dir "$B/a" 2>&1 | tail -1 || true
s=$(t); $OLD --dir "$B/rolled" restore --from "$B/pre.lbk" | head -1; e1=$(t)
$OLD run --dir "$B/rolled" 2> "$B/rolled.log" & PID=$!
wait_addr "$B/rolled"; e2=$(t)
first_search "$OLD" "$B/rolled"; e3=$(t)
echo "rollback: restore_s $(echo "$e1 - $s" | bc) start_s $(echo "$e2 - $e1" | bc) first_search_s $(echo "$e3 - $e2" | bc) total_s $(echo "$e3 - $s" | bc)"
records "$OLD" "$B/rolled"
stop $PID

# A kill -9 midway through the migration of the rolled-back copy, then the resumed run.
$NEW --dir "$B/rolled" migrate 2> "$B/kill.log" & PID=$!
sleep "${KILL_AFTER:-10}"; kill -9 $PID; wait $PID || true
tail -1 "$B/kill.log"
s=$(t); $NEW --dir "$B/rolled" migrate 2> "$B/resumed.log"; echo "resumed_s $(since "$s")"
head -1 "$B/resumed.log"
df -h "$B" | tail -1
rm -rf "$B/a" "$B/rolled" "$B/pre.lbk" "$B/rows.csv"
