#!/bin/bash
# Engine model benchmark: `sealroom analyze` fitting a logistic regression
# (16 features, l2 = 1, standardized) on the data of bench/models.sh
# (bench/models_gen.py, 4M rows by default) as a sealed archive, decryption
# included. Reports wall time, CPU and peak RSS. With BEFORE=<another
# sealroom binary> (e.g. a build of an older commit) it runs that one too on
# the same archive and checks that both give the same coefficients.
#
#   bench/models_engine.sh                         4M x 16, build/sealroom
#   ROWS=500000 bench/models_engine.sh             a smaller run
#   BEFORE=/tmp/sealroom-old bench/models_engine.sh
#
# Environment: ROWS (4000000), P (16), BUILD (build folder holding
# `sealroom`, default build), BEFORE (optional binary), WORK (scratch
# folder, default a new one under /tmp, removed unless KEEP=1).
# Features are written to the CSV with 9 significant digits.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${ROWS:-4000000}
P=${P:-16}
BUILD=$(cd "$ROOT" && cd "${BUILD:-build}" 2>/dev/null && pwd) || { echo "no build folder ${BUILD:-build}" >&2; exit 1; }
S=$BUILD/sealroom
[ -x "$S" ] || { echo "no $S: build first" >&2; exit 1; }
BEFORE=${BEFORE:-}
[ -z "$BEFORE" ] || BEFORE=$(readlink -f "$BEFORE")
WORK=${WORK:-$(mktemp -d /tmp/sealroom-bench-models.XXXXXX)}
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"

echo "== generating $ROWS x $P"
/usr/bin/python3 "$ROOT/bench/models_gen.py" data.bin "$ROWS" "$P"
cat >tocsv.c <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    size_t n = strtoull(argv[2], NULL, 10), p = strtoull(argv[3], NULL, 10);
    FILE *f = fopen(argv[1], "rb");
    double *v = malloc(n * (p + 1) * sizeof *v);
    if (!f || !v || fread(v, sizeof *v, n * (p + 1), f) != n * (p + 1))
        return 1;
    for (size_t j = 0; j < p; j++)
        printf("x%zu,", j);
    printf("y\n");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p; j++)
            printf("%.9g,", v[j * n + i]);
        printf("%d\n", (int)v[p * n + i]);
    }
    return 0;
}
C
cc -O2 -o tocsv tocsv.c
./tocsv data.bin "$ROWS" "$P" >data.csv
rm -f data.bin
ADDR=$("$S" keygen --out owner.key --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
"$S" kms init --dir kms >/dev/null
/usr/bin/python3 - "$ADDR" "$P" <<'PY'
import json, sys
names = [f"x{j}" for j in range(int(sys.argv[2]))]
json.dump({"version": 1,
           "consortium": {"name": "bench-models", "app_id": "0x0000000000000000000000000000000000000b0b",
                          "owners": [{"id": "lab", "address": sys.argv[1]}]},
           "datasets": {"lab": {"schema": [{"name": n, "type": "float"} for n in names] + [{"name": "y", "type": "int"}]}},
           "analysis": {"sources": {"union": ["lab"]}},
           "outputs": [{"name": "lr", "type": "logistic_regression", "features": names, "label": "y",
                        "l2": 1, "intercept": True, "standardize": True, "privacy": "none"}],
           "privacy": {"epsilon": 0}}, open("recipe.json", "w"))
PY
echo "== sealing"
"$S" seal --owner lab --key owner.key --recipe recipe.json --kms-pubkey kms/root.pub \
    --in data.csv --out data.tar --keystore '' --threads 2 >/dev/null
rm -f data.csv
cat data.tar >/dev/null # page cache

. "$ROOT/bench/lib.sh"
: >results
if [ -n "$BEFORE" ]; then
    echo "== before: $BEFORE"
    time_run before "$BEFORE" analyze --recipe recipe.json --data lab=data.tar --kms-dir kms --json
fi
echo "== sealroom analyze (sealed, decryption included)"
time_run sealroom "$S" analyze --recipe recipe.json --data lab=data.tar --kms-dir kms --json
if [ -n "$BEFORE" ]; then
    cmp -s out.before out.sealroom && echo "before and after give the same result document" \
        || { diff out.before out.sealroom | head; echo "results differ" >&2; exit 1; }
fi
echo
echo "rows=$ROWS features=$P cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %9s %9s %10s\n' run wall_s cpu_s peak_MB
while read -r name wall cpu rss; do
    printf '%-9s %9.2f %9.2f %10.1f\n' "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)"
done <results
