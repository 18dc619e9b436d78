#!/bin/bash
# Sealing benchmark: `sealroom seal` side by side with DuckDB (CSV -> Parquet,
# @duckdb/node-api) and Debian's `age` (encrypting the raw CSV), on the same
# generated transaction CSV (bench/gen_transactions.c), in one run.
#
#   bench/seal.sh                  12M rows (about 640 MB of CSV)
#   ROWS=2000000 bench/seal.sh     a smaller run
#
# Environment: ROWS (default 12000000), THREADS (default 2, for both seal and
# DuckDB), BUILD (build folder holding `sealroom`, default build), WORK (scratch
# folder, default a new one under /tmp, removed at the end unless KEEP=1).
# Prints wall time, user+sys CPU, peak RSS (/usr/bin/time -v) and output size
# per tool, and seal's speed-up over DuckDB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${ROWS:-12000000}
THREADS=${THREADS:-2}
BUILD=$(cd "$ROOT" && cd "${BUILD:-build}" 2>/dev/null && pwd) || { echo "no build folder ${BUILD:-build}" >&2; exit 1; }
S=$BUILD/sealroom
[ -x "$S" ] || { echo "no $S: build first (make build, or BUILD=...)" >&2; exit 1; }
WORK=${WORK:-$(mktemp -d /tmp/sealroom-bench-seal.XXXXXX)}
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"

echo "== generating $ROWS rows"
cc -O2 -o gen "$ROOT/bench/gen_transactions.c"
./gen --rows "$ROWS" --out tx.csv
CSV_BYTES=$(stat -c %s tx.csv)
echo "tx.csv: $CSV_BYTES bytes"

ADDR=$("$S" keygen --out owner.key --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
"$S" kms init --dir kms >/dev/null
cat >recipe.json <<EOF
{"version": 1,
 "consortium": {"name": "bench", "app_id": "0x0000000000000000000000000000000000000b0b",
                "owners": [{"id": "bank", "address": "$ADDR"}]},
 "datasets": {"bank": {"schema": [
   {"name": "tx_id", "type": "int"}, {"name": "account", "type": "string"},
   {"name": "merchant_category", "type": "string"}, {"name": "amount", "type": "float"},
   {"name": "ts_date", "type": "date"}, {"name": "country", "type": "string"},
   {"name": "is_fraud", "type": "bool"}, {"name": "channel", "type": "string"}]}}}
EOF
age-keygen -o age.key 2>/dev/null
AGE_R=$(grep -o 'age1[0-9a-z]*' age.key | head -1)

# warm the page cache so every tool reads the CSV from memory
cat tx.csv >/dev/null

. "$ROOT/bench/lib.sh"
measure() { # measure NAME OUTFILE CMD...  -> appends "name wall cpu rss_kb out_bytes" to results
    local name=$1 out=$2; shift 2
    sync
    time_run "$name" "$@"
    sed -i "\$s/\$/ $(stat -c %s "$out")/" results
}

: >results
echo "== sealroom seal ($THREADS threads)"
measure seal tx.tar "$S" seal --owner bank --key owner.key --recipe recipe.json --kms-pubkey kms/root.pub \
    --in tx.csv --out tx.tar --keystore '' --threads "$THREADS"
"$S" inspect tx.tar >/dev/null
echo "== DuckDB CSV -> Parquet ($THREADS threads)"
measure duckdb tx.parquet env NODE_PATH="$ROOT/tests/node/node_modules" node "$ROOT/bench/seal_duckdb.cjs" \
    tx.csv tx.parquet "$THREADS"
echo "== age -r (raw CSV)"
measure age tx.csv.age age -r "$AGE_R" -o tx.csv.age tx.csv

echo
echo "rows=$ROWS csv_bytes=$CSV_BYTES threads=$THREADS cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %9s %9s %10s %12s %9s\n' tool wall_s cpu_s peak_MB out_MB MB/s
while read -r name wall cpu rss out; do
    printf '%-8s %9.2f %9.2f %10.1f %12.1f %9.1f\n' "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)" \
        "$(echo "$out / 1048576" | bc -l)" "$(echo "$CSV_BYTES / 1048576 / $wall" | bc -l)"
done <results
seal_wall=$(awk '$1=="seal"{print $2}' results)
duck_wall=$(awk '$1=="duckdb"{print $2}' results)
seal_cpu=$(awk '$1=="seal"{print $3}' results)
duck_cpu=$(awk '$1=="duckdb"{print $3}' results)
printf 'seal vs DuckDB: %.2fx faster (wall), %.2fx less CPU\n' "$(echo "$duck_wall / $seal_wall" | bc -l)" \
    "$(echo "$duck_cpu / $seal_cpu" | bc -l)"
