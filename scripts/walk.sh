#!/usr/bin/env bash
# The operator's walk (issue 23): README.md and docs/OPERATIONS.md followed as
# written, on two loopback nodes ("Agency A (example)" and "Agency B (example)"
# in a temporary directory, ephemeral ports). Every `liaison` command below is
# one the docs show (the section is named at each step); only paths, the
# address and ids read from earlier output are filled in. Where a documented
# step breaks, this script fails naming the step.
#
# Usage: scripts/walk.sh [LIAISON_BINARY]   (or LIAISON_BIN; default target/debug/liaison)
# The analyst step runs examples/python/liaison_client.py with LIAISON_PYTHON
# (default python3), which needs examples/python/requirements.txt installed.
# Run by the black-box suite: tests/tests/walk.rs.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${1:-${LIAISON_BIN:-$ROOT/target/debug/liaison}}"
PYTHON="${LIAISON_PYTHON:-python3}"
[ -x "$BIN" ] || { echo "walk: no liaison binary at $BIN (build it, or pass its path)" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/liaison-walk.XXXXXX")"
# `liaison` in the commands below is this binary, as after OPERATIONS §1's install.
mkdir "$WORK/bin"
ln -s "$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" "$WORK/bin/liaison"
export PATH="$WORK/bin:$PATH"
A="$WORK/agency-a"
B="$WORK/agency-b"
PIDS=()
STEP="setup"

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "walk: FAILED at step: $STEP (exit $status)" >&2
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "--- $log (last 30 lines)" >&2; tail -n 30 "$log" >&2; }
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
  STEP="$*"
  echo "== [${SECONDS}s] $STEP"
}

fail() {
  echo "walk: $STEP: $*" >&2
  exit 1
}

# Waits up to 30 s for a command to succeed (polling; the event is the command's answer).
wait_for() {
  local what="$1"
  shift
  local deadline=$((SECONDS + 30))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 0.2
  done
}

# The value of a string field in one-line JSON (the CLI's --json).
field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }

# One partner's `connection` in `partner list --json` of node directory $1.
connection_is() { liaison --dir "$1" partner list --json | grep -q "\"connection\":\"$2\""; }

# --- README "Using a node", OPERATIONS §2-§3 ----------------------------------
step "init both nodes (OPERATIONS §2, listening on an ephemeral loopback port)"
liaison init --dir "$A" --name "Agency A (example)" --listen 127.0.0.1:0 --country GB
liaison init --dir "$B" --name "Agency B (example)" --listen 127.0.0.1:0 --country GB
[ "$(stat -c %a "$A")" = 700 ] || fail "init left $A readable by others"
[ -d "$A/db" ] || fail "init did not create the database (OPERATIONS §2 says it does)"

step "run both nodes (OPERATIONS §3; wait for DIR/node.addr)"
liaison run --dir "$A" 2>"$WORK/agency-a.log" &
PIDS+=($!)
liaison run --dir "$B" 2>"$WORK/agency-b.log" &
PIDS+=($!)
wait_for "A's node.addr" test -s "$A/node.addr"
wait_for "B's node.addr" test -s "$B/node.addr"
ADDR_A="$(cat "$A/node.addr")"
echo "   A at $ADDR_A, B at $(cat "$B/node.addr")"

# --- OPERATIONS §4: enrollment, both ways -----------------------------------
step "export identities (OPERATIONS §4 step 1)"
FP_A="$(liaison --dir "$A" identity export --out "$WORK/agency-a.bundle" --json | field fingerprint)"
FP_B="$(liaison --dir "$B" identity export --out "$WORK/agency-b.bundle" --json | field fingerprint)"
[ -n "$FP_A" ] && [ -n "$FP_B" ] || fail "identity export printed no fingerprint"
echo "   fingerprints read on the phone: A $FP_A, B $FP_B"

step "partner add both ways, fingerprint checked with --expect-fingerprint (OPERATIONS §4 step 4)"
liaison --dir "$A" partner add "$WORK/agency-b.bundle" --max-tlp amber --expect-fingerprint "$FP_B"
liaison --dir "$B" partner add "$WORK/agency-a.bundle" --max-tlp amber --expect-fingerprint "$FP_A"

step "partner list says connected on both sides (OPERATIONS §4 step 5)"
wait_for "A connected to B" connection_is "$A" connected
wait_for "B connected to A" connection_is "$B" connected
liaison --dir "$A" partner list

# --- OPERATIONS §6-§7 and the README: publish, search, federated search -------
step "publish on A (OPERATIONS §6)"
RECORD="$(liaison --dir "$A" publish --kind phone --value "07700 900123" --tlp green \
  --label scam-centre --evaluation B2 --case "A-2026-117" --json | field recordId)"
[ -n "$RECORD" ] || fail "publish printed no record id"
echo "   record $RECORD"

step "the record reaches B (README: search)"
wait_for "the record on B" sh -c "liaison --dir '$B' search '+44 7700 900123' | grep -q '$RECORD'"

step "federated search from B with a justification (OPERATIONS §7)"
FED="$(liaison --dir "$B" search "07700 900123" --federated \
  --justification "victim statement, romance scam reported today" --case "A-2026-117")"
echo "$FED"
grep -q "partner Agency A (example): answered" <<<"$FED" || fail "A did not answer the federated search"

step "a federated search without a justification is refused (OPERATIONS §6)"
if liaison --dir "$B" search "07700 900123" --federated 2>"$WORK/refused.txt"; then
  fail "a federated search without --justification was accepted"
fi
grep -q "justification" "$WORK/refused.txt" || fail "the refusal does not name the justification"

# --- OPERATIONS §5, docs/CLIENTS.md: an analyst certificate -------------------
step "issue an analyst certificate (OPERATIONS §5)"
liaison --dir "$A" client issue --name "Analyst Example" --role analyst --out "$WORK/analyst-example"

step "search through it with the Python example (docs/CLIENTS.md)"
(cd "$ROOT" && "$PYTHON" examples/python/liaison_client.py --address "$ADDR_A" \
  --cert "$WORK/analyst-example/client.crt" --key "$WORK/analyst-example/client.key" \
  --node-cert "$WORK/analyst-example/node.crt" \
  search "07700 900123") >"$WORK/analyst-search.json"
grep -q "$RECORD" "$WORK/analyst-search.json" || fail "the analyst's search did not find $RECORD"

# --- OPERATIONS §9: backup while running, restore into a new directory --------
step "backup the running node (OPERATIONS §9)"
BACKUP_OUT="$(liaison --dir "$A" backup --out "$WORK/liaison-$(date +%F).lbk")"
echo "$BACKUP_OUT"
NODE_A="$(sed -n 's/.*Signed by node \([0-9a-f]\{64\}\).*/\1/p' <<<"$BACKUP_OUT")"
[ -n "$NODE_A" ] || fail "backup printed no node id for restore --expect-node"

step "restore into a new directory and copy the keys in (OPERATIONS §9, Restore)"
R="$WORK/liaison-restored"
liaison --dir "$R" restore --from "$WORK/liaison-$(date +%F).lbk" --expect-node "$NODE_A"
for key in keys/signing.key tls/node.key ca/ca.key admin/client.key; do
  [ "$(stat -c %a "$R/$(dirname "$key")")" = 700 ] || fail "restore did not create $(dirname "$key")/ with mode 0700"
  cp "$A/$key" "$R/$key"
  chmod 600 "$R/$key"
done
liaison --dir "$R" audit verify

# --- OPERATIONS §8: live TLS rotation -----------------------------------------
step "rotate A's TLS certificate live (OPERATIONS §8)"
liaison --dir "$A" identity rotate-tls
NEW_FP_A="$(liaison --dir "$A" identity show --json | field fingerprint)"
[ -n "$NEW_FP_A" ] && [ "$NEW_FP_A" != "$FP_A" ] || fail "the fingerprint did not change"

step "B pins A's new certificate and is still connected (OPERATIONS §8)"
wait_for "B showing A's new fingerprint" sh -c "liaison --dir '$B' partner list | grep -q '$NEW_FP_A'"
wait_for "B connected to A after the rotation" connection_is "$B" connected
AFTER="$(liaison --dir "$A" publish --kind phone --value "07700 900124" --tlp green --json | field recordId)"
wait_for "a record published after the rotation on B" \
  sh -c "liaison --dir '$B' search '+44 7700 900124' | grep -q '$AFTER'"

# --- OPERATIONS §5: revoke the analyst certificate ----------------------------
step "client revoke, then the node says revoked (OPERATIONS §5, §20)"
liaison --dir "$A" client revoke --cert "$WORK/analyst-example/client.crt"
AGAIN="$(liaison --dir "$A" client revoke --cert "$WORK/analyst-example/client.crt")"
grep -q "was already revoked; nothing changed." <<<"$AGAIN" || fail "revoking again said: $AGAIN"
liaison --dir "$A" doctor | grep "Analyst Example" | grep -q "REVOKED" || fail "doctor does not list the certificate as revoked"
# docs/CLIENTS.md: a new connection with it fails at the handshake (grpcio: UNAVAILABLE).
if (cd "$ROOT" && "$PYTHON" examples/python/liaison_client.py --address "$ADDR_A" \
  --cert "$WORK/analyst-example/client.crt" --key "$WORK/analyst-example/client.key" \
  --node-cert "$A/tls/node.crt" search "07700 900123") >"$WORK/revoked-search.txt" 2>&1; then
  fail "the revoked analyst certificate could still search"
fi

# --- OPERATIONS §4: end the partnership ---------------------------------------
step "partner revoke on A; B says revoked by the partner (OPERATIONS §4)"
NODE_B="$(liaison --dir "$B" identity show --json | field nodeId)"
liaison --dir "$A" partner revoke "${NODE_B:0:16}"
wait_for "B saying revoked by the partner" \
  sh -c "liaison --dir '$B' partner list | grep -q 'revoked by the partner'"
FED="$(liaison --dir "$B" search "07700 900123" --federated --justification "victim statement A-2026-117")"
grep -q "refused.*revoked by the partner" <<<"$FED" || fail "B's federated search says: $FED"

# --- OPERATIONS §11: the audit log --------------------------------------------
step "audit queries (OPERATIONS §11)"
liaison --dir "$A" audit verify
liaison --dir "$A" audit list --since 7days --action disclose --partner "${NODE_B:0:4}" | grep -q "sync.disclose" ||
  fail "no sync.disclose entry for B"
liaison --dir "$A" audit list --action rotate | grep -q "identity.rotate_tls" ||
  fail "audit list --action rotate does not find identity.rotate_tls"
liaison --dir "$A" audit list --actor alice --until 2026-11-20 >/dev/null
liaison --dir "$A" audit report --partner "${NODE_B:0:4}" --since 30days
liaison --dir "$A" audit export --format csv --out "$WORK/audit.csv"
[ -s "$WORK/audit.csv" ] || fail "audit export wrote nothing"
liaison --dir "$A" audit heads >/dev/null
liaison --dir "$B" audit list --action search | grep -q "search.federated" ||
  fail "B's log has no search.federated entry"

# --- OPERATIONS §20: doctor ------------------------------------------------------
step "doctor on both nodes (OPERATIONS §20)"
liaison --dir "$A" doctor
liaison --dir "$B" doctor | tee "$WORK/doctor-b.txt"
grep -q "revoked by the partner" "$WORK/doctor-b.txt" || fail "B's doctor does not say revoked by the partner"

step "stop both nodes (OPERATIONS §3: SIGTERM, database flushed)"
for pid in "${PIDS[@]}"; do kill -TERM "$pid"; done
for pid in "${PIDS[@]}"; do wait "$pid" || fail "a node did not stop cleanly"; done
PIDS=()
grep -q "node stopped; database flushed" "$WORK/agency-a.log" || fail "A did not log a clean stop"

echo "walk: every step passed"
