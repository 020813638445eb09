#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for MINUTES each, one after the other,
# in one process per target (the machine is shared: no -jobs/-workers > 1).
#
#   scripts/fuzz.sh MINUTES [TARGET...]
#
# Installs what it needs if missing (rustup nightly toolchain, cargo-fuzz).
# Each target fuzzes from its committed seed corpus fuzz/corpus/<target>/, which
# it grows; afterwards the corpus is minimised with `cargo fuzz cmin`
# (FUZZ_CMIN=0 skips that). Crashes land in fuzz/artifacts/<target>/.
# Prints executions per target; exits non-zero if any target crashed.
#
# Environment: FUZZ_RSS_MB (default 2048), FUZZ_CMIN (default 1).
set -euo pipefail

usage() { echo "usage: $0 MINUTES [TARGET...]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -ge 1 ]] || usage
minutes=$1
shift
rss_mb=${FUZZ_RSS_MB:-2048}
cmin=${FUZZ_CMIN:-1}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "== installing the nightly toolchain (cargo-fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Inputs long enough to cross every size limit they guard (4 KiB values,
# 16 KiB bundles, 64 KiB payloads) without slowing every mutation down.
max_len() {
    case $1 in
        normalize | canonical | config | pattern) echo 4200 ;;
        bundle) echo 17000 ;;
        *) echo 20000 ;;
    esac
}

echo "== building the fuzz targets (sanitizer build; slow the first time)"
cargo +nightly fuzz build --features libfuzzer

logdir=$(mktemp -d "${TMPDIR:-/tmp}/liaison-fuzz.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$logdir/$target.log"
    echo "== $target: ${minutes} min"
    status=0
    cargo +nightly fuzz run --features libfuzzer "$target" "corpus/$target" -- \
        -max_total_time=$((minutes * 60)) -rss_limit_mb="$rss_mb" \
        -max_len="$(max_len "$target")" -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        echo "!! $target FAILED (exit $status); last lines of its log:"
        tail -40 "$log"
        ls -1 "artifacts/$target" 2>/dev/null | sed 's/^/   artifact: /' || true
    elif [[ $cmin == 1 ]]; then
        cargo +nightly fuzz cmin --features libfuzzer "$target" "corpus/$target" >"$log.cmin" 2>&1 ||
            echo "!! cmin of $target failed (corpus left unminimised): see the log above" >&2
    fi
    units=$(find "corpus/$target" -type f | wc -l)
    line="$target: ${execs:-?} executions in ${minutes} min (${rate:-?} exec/s), corpus ${units} inputs"
    [[ $status -ne 0 ]] && line="$line, CRASHED"
    summary+=("$line")
    echo "   $line"
done

echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%MZ), $(cargo +nightly --version))"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "FAILED: ${failed[*]} (reproduce: cd fuzz && cargo +nightly fuzz run --features libfuzzer TARGET artifacts/TARGET/FILE)" >&2
    exit 1
fi
