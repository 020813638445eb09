#!/usr/bin/env bash
# TAXII 2.1 side by side: OpenTAXII 0.9.3 (from PyPI, SQLite, gunicorn, one
# worker) and a Liaison node (release build) hold the same N indicators; one
# stock client (taxii2-client, scripts/peers/taxii_bench.py) measures on each a
# full paginated pull (1000 objects a request; objects/s) and lookups by id
# (GET objects/{id}; p50/p99 ms over a fixed random sample).
#
#   scripts/peers/opentaxii.sh [N ...]      (default: 10000 100000)
#
# OpenTAXII takes ~16 ms to store one object (10k: 2.5 min) and seconds per
# lookup, so sizes above PEER_MAX_N (default 10000) measure Liaison only;
# PEER_MAX_N=100000 runs all (hours).
# LOOKUPS (default 20: one OpenTAXII lookup takes seconds at 10k) sets the lookup sample.
#
# The indicators are Liaison's own STIX objects (N fictional domains under
# example.org, imported into the node, pulled over TAXII) POSTed to OpenTAXII,
# so both serve the same objects. OpenTAXII needs one fix to accept them: its
# TAXII 2 responses json.dumps() UUID ids and fail (500) on every upload and on
# the collections list; `default=str` fixes it (upstream issue #243). The client
# authenticates to OpenTAXII with its JWT, not basic auth, so the password hash
# is not what gets measured. Everything lives in a temp dir removed on exit;
# the OpenTAXII venv is kept in target/peers/ (PEER_VENV to move it; not
# OPENTAXII_*: OpenTAXII reads those as its own settings).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(10000 100000)
lookups=${LOOKUPS:-20}
max_n=${PEER_MAX_N:-10000}
(cd "$root" && cargo build --release -q -p liaison --bin liaison)
bin=${CARGO_TARGET_DIR:-$root/target}/release/liaison
venv=${PEER_VENV:-$root/target/peers/opentaxii-venv}
if [[ ! -x $venv/bin/gunicorn ]]; then
    python3 -m venv "$venv"
    # SQLAlchemy 1.4: what OpenTAXII 0.9.3 was released against.
    "$venv/bin/pip" install -q "opentaxii==0.9.3" "sqlalchemy<2" gunicorn "taxii2-client==2.3.0"
fi
http_py=$("$venv/bin/python" -c 'import opentaxii.taxii2.http as m; print(m.__file__)')
sed -i 's/^        data = json.dumps(data)$/        data = json.dumps(data, default=str)/' "$http_py"
grep -q 'default=str' "$http_py" || { echo "the OpenTAXII fix did not apply to $http_py" >&2; exit 1; }

work=$(mktemp -d /tmp/liaison-opentaxii.XXXXXX)
node_pid= ot_pid=
stop() {
    [[ -n $node_pid ]] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
    [[ -n $ot_pid ]] && kill "$ot_pid" 2>/dev/null && wait "$ot_pid" 2>/dev/null || true
    node_pid= ot_pid=
}
trap 'stop; rm -rf "$work"' EXIT INT TERM
drive() { "$venv/bin/python" "$root/scripts/peers/taxii_bench.py" "$@"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

printf '%-8s %-10s %12s %10s %10s %10s\n' N server "pull obj/s" "pull s" "p50 ms" "p99 ms"
for n in "${sizes[@]}"; do
    dir=$work/$n && mkdir -p "$dir"
    # --- Liaison: N indicators imported, an analyst certificate, no rate limit in the way.
    "$bin" init --dir "$dir/node" --name "Bench TAXII (example)" --listen 127.0.0.1:0 --country GB >/dev/null
    sed -i -e 's/^client_calls_per_second = .*/client_calls_per_second = 1000000/' \
        -e 's/^client_burst = .*/client_burst = 1000000/' "$dir/node/config.toml"
    "$bin" run --dir "$dir/node" 2>"$dir/node.log" &
    node_pid=$!
    for _ in $(seq 200); do [[ -f $dir/node/node.addr ]] && break; sleep 0.05; done
    python3 - "$n" "$dir/rows.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    out.write("kind,value,labels,tlp,evaluation,description\n")
    for i in range(rows):
        out.write(f"domain,taxii-bench-{i}.example.org,scam-centre,green,B2,fictional domain {i}\n")
PY
    "$bin" --dir "$dir/node" import "$dir/rows.csv" --json >/dev/null
    "$bin" --dir "$dir/node" client issue --name "Bench Analyst" --role analyst --out "$dir/analyst" >/dev/null
    address=$(cat "$dir/node/node.addr")
    drive pull liaison "$address" "$dir/analyst" 1000 "$dir/indicators.json" >/dev/null

    servers=(liaison)
    if (( n <= max_n )); then
        servers=(opentaxii liaison)
        # --- OpenTAXII: fresh SQLite databases, one account, one collection, the same indicators.
        cat >"$dir/opentaxii.yml" <<YML
domain: "127.0.0.1:9300"
support_basic_auth: yes
auth_api:
  class: opentaxii.auth.sqldb.SQLDatabaseAPI
  parameters: {db_connection: "sqlite:///$dir/auth.db", create_tables: yes, secret: bench-only-secret-0123456789abcdef0123, token_ttl_secs: 86400}
taxii1: false
taxii2:
  title: "OpenTAXII bench"
  description: "benchmark"
  contact: "bench@example.org"
  public_discovery: yes
  max_content_length: 104857600
  allow_custom_properties: yes
  persistence_api:
    class: opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI
    parameters: {db_connection: "sqlite:///$dir/data.db", create_tables: yes}
logging: {opentaxii: warning, root: warning}
YML
        export OPENTAXII_CONFIG=$dir/opentaxii.yml
        "$venv/bin/opentaxii-create-account" -u bench -p bench-password -a >/dev/null
        drive setup >/dev/null
        "$venv/bin/gunicorn" -w 1 -t 3600 -b 127.0.0.1:9300 opentaxii.http:app 2>"$dir/opentaxii.log" &
        ot_pid=$!
        for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:9300/taxii2/ && break; sleep 0.1; done
        ot=(opentaxii http://127.0.0.1:9300/taxii2/ bench bench-password)
        loaded=$(drive load http://127.0.0.1:9300/taxii2/ bench bench-password "$dir/indicators.json")
        echo "# N=$n OpenTAXII load: $loaded" >&2
    fi

    for server in "${servers[@]}"; do
        if [[ $server == opentaxii ]]; then target=("${ot[@]}"); else target=(liaison "$address" "$dir/analyst"); fi
        pulled=$(drive pull "${target[@]}" 1000 -)
        echo "# N=$n $server pull: $pulled" >&2
        looked=$(drive lookup "${target[@]}" "$dir/indicators.json" "$lookups")
        echo "# N=$n $server lookup: $looked" >&2
        printf '%-8s %-10s %12s %10s %10s %10s\n' "$n" "$server" "$(field "$pulled" objects_per_second)" \
            "$(field "$pulled" seconds)" "$(field "$looked" p50_ms)" "$(field "$looked" p99_ms)"
    done
    stop
done
