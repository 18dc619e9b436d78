#!/bin/bash
# Engine benchmark: on the transactions data (bench/gen_transactions.c), sealed,
# `sealroom analyze` computes a grouped count/mean/sum (by channel) and a median
# of amount by merchant category (privacy none: exact, so both tools must
# agree), decryption included; DuckDB runs the same queries on the same data
# as Parquet, in the same run. Reports wall time, CPU and peak RSS of each.
#
#   bench/engine.sh                  12M rows (about 640 MB of CSV)
#   ROWS=2000000 bench/engine.sh     a smaller run
#
# Environment: ROWS (default 12000000), THREADS (DuckDB threads, default 2),
# BUILD (build folder holding `sealroom`, default build), WORK (scratch folder,
# default a new one under /tmp, removed unless KEEP=1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${ROWS:-12000000}
THREADS=${THREADS:-2}
BUILD=$(cd "$ROOT" && cd "${BUILD:-build}" 2>/dev/null && pwd) || { echo "no build folder ${BUILD:-build}" >&2; exit 1; }
S=$BUILD/sealroom
[ -x "$S" ] || { echo "no $S: build first" >&2; exit 1; }
WORK=${WORK:-$(mktemp -d /tmp/sealroom-bench-engine.XXXXXX)}
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"

echo "== generating $ROWS rows"
cc -O2 -o gen "$ROOT/bench/gen_transactions.c"
./gen --rows "$ROWS" --out tx.csv
ADDR=$("$S" keygen --out owner.key --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
"$S" kms init --dir kms >/dev/null
CH='["atm", "mobile", "phone", "pos", "web"]'
CAT='["airline", "apparel", "auto", "books", "cash", "charity", "education", "electronics", "fuel", "furniture", "gaming", "grocery", "hotel", "insurance", "other", "pharmacy", "restaurant", "telecom", "travel", "utilities"]'
cat >recipe.json <<JSON
{"version": 1,
 "consortium": {"name": "bench", "app_id": "0x0000000000000000000000000000000000000b0b",
                "owners": [{"id": "bank", "address": "$ADDR"}]},
 "datasets": {"bank": {"schema": [
   {"name": "tx_id", "type": "int"}, {"name": "account", "type": "string"},
   {"name": "merchant_category", "type": "string"}, {"name": "amount", "type": "float"},
   {"name": "ts_date", "type": "date"}, {"name": "country", "type": "string"},
   {"name": "is_fraud", "type": "bool"}, {"name": "channel", "type": "string"}]}},
 "analysis": {"sources": {"union": ["bank"]}},
 "outputs": [
   {"name": "n", "type": "count", "group_by": [{"column": "channel", "domain": $CH}], "privacy": "none"},
   {"name": "mean", "type": "mean", "column": "amount", "group_by": [{"column": "channel", "domain": $CH}], "privacy": "none"},
   {"name": "total", "type": "sum", "column": "amount", "group_by": [{"column": "channel", "domain": $CH}], "privacy": "none"},
   {"name": "median", "type": "quantiles", "column": "amount", "quantiles": [0.5],
    "group_by": [{"column": "merchant_category", "domain": $CAT}], "privacy": "none"}],
 "privacy": {"epsilon": 0}}
JSON
echo "== sealing"
"$S" seal --owner bank --key owner.key --recipe recipe.json --kms-pubkey kms/root.pub \
    --in tx.csv --out tx.tar --keystore '' --threads 2 >/dev/null
echo "== CSV -> Parquet for DuckDB"
NODE_PATH="$ROOT/tests/node/node_modules" node "$ROOT/bench/seal_duckdb.cjs" tx.csv tx.parquet "$THREADS" >/dev/null
rm -f tx.csv
cat tx.tar tx.parquet >/dev/null # page cache

. "$ROOT/bench/lib.sh"
: >results
echo "== sealroom analyze (sealed, decryption included)"
time_run sealroom "$S" analyze --recipe recipe.json --data bank=tx.tar --kms-dir kms --json
echo "== DuckDB on Parquet ($THREADS threads)"
time_run duckdb env NODE_PATH="$ROOT/tests/node/node_modules" node "$ROOT/bench/engine_duckdb.cjs" tx.parquet "$THREADS"

# the two must agree
/usr/bin/python3 - out.sealroom out.duckdb <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["outputs"]; d = json.load(open(sys.argv[2]))
chans = [c["key"]["channel"] for c in s["n"]["groups"]]
for row in d["groups"]:
    i = chans.index(row["channel"])
    assert s["n"]["groups"][i]["value"] == float(row["n"]), row
    assert abs(s["mean"]["groups"][i]["value"] - float(row["mean"])) <= 1e-9 * abs(float(row["mean"])), row
    assert abs(s["total"]["groups"][i]["value"] - float(row["total"])) <= 1e-9 * abs(float(row["total"])), row
cats = [c["key"]["merchant_category"] for c in s["median"]["groups"]]
for row in d["medians"]:
    v = s["median"]["groups"][cats.index(row["merchant_category"])]["quantiles"][0]["value"]
    assert abs(v - float(row["median"])) <= 1e-9 * max(1, abs(v)), row
print("results agree (counts exact, sums/means/medians to 1e-9)")
PY
echo
echo "rows=$ROWS threads=$THREADS cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "duckdb in-process query time: $(/usr/bin/python3 -c 'import json,sys; print(round(json.load(open("out.duckdb"))["seconds"], 3))') s"
printf '%-9s %9s %9s %10s\n' tool wall_s cpu_s peak_MB
while read -r name wall cpu rss; do
    printf '%-9s %9.2f %9.2f %10.1f\n' "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)"
done <results
