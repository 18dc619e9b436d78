#!/usr/bin/env bash
# KMS key releases per second and p50/p99 latency at 1, 8 and 64 concurrent
# clients, with simulated TDX quotes (each release verifies a quote: two
# P-256 signatures, a cached PCK chain, an event-log replay, a ledger gate
# read, two manifest signature recoveries, two DEK unwraps + re-wraps and one
# SQLite transaction, shared with the requests that reach it at the same time:
# group commit, docs/PROTOCOL.md); then the server's commit counters and, in
# the same run, the raw secp256k1 ECDH and P-256 verify rates of this
# machine, so the ratio to the crypto limit is visible.
# Usage: bench/kms.sh [BUILD_DIR] [REQUESTS_PER_LEVEL]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
n=${2:-400}
S=$build/sealroom
tool=$build/tests/sr_kms_tool
[[ -x $S && -x $tool ]] || { echo "build first: cmake --build $build --target sealroom-cli sr_kms_tool" >&2; exit 1; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

pub=$("$S" kms init --dir kms)
addr() { "$S" keygen --out "$1" --force --json | sed -E 's/.*"address": *"(0x[0-9a-fA-F]+)".*/\1/'; }
a1=$(addr o1.key); a2=$(addr o2.key); addr dep.key >/dev/null
app=$("$S" consortium create --name bench --owner o1=$a1 --owner o2=$a2 --threshold 2 --kms-pubkey "$pub" \
      --gate ledger:gate.db --key dep.key)
cat > recipe.json <<JSON
{"version": 1,
 "consortium": {"name": "bench", "app_id": "$app",
   "owners": [{"id": "o1", "address": "$a1"}, {"id": "o2", "address": "$a2"}]},
 "datasets": {"o1": {"schema": [{"name": "x", "type": "int"}]}, "o2": {"schema": [{"name": "x", "type": "int"}]}},
 "privacy": {"epsilon": 0.000001}}
JSON
printf 'x\n1\n2\n' > d.csv
"$S" seal --owner o1 --key o1.key --recipe recipe.json --kms-pubkey "$pub" --in d.csv --out o1.tar \
  --epsilon-budget 1000 --keystore "$work/ks" >/dev/null
"$S" seal --owner o2 --key o2.key --recipe recipe.json --kms-pubkey "$pub" --in d.csv --out o2.tar \
  --epsilon-budget 1000 --keystore "$work/ks" >/dev/null
"$S" approve --gate ledger:gate.db --recipe recipe.json --key o1.key >/dev/null
"$S" approve --gate ledger:gate.db --recipe recipe.json --key o2.key >/dev/null
"$S" quote sim-init sim >/dev/null

"$S" kms serve --dir kms --gate ledger:gate.db --listen 127.0.0.1:0 --any-runtime \
  --allow-simulated-tee --sim-root sim --threads 8 > serve.out 2>serve.err &
pid=$!
for _ in $(seq 1 100); do grep -q listening serve.out 2>/dev/null && break; sleep 0.05; done
url=$(grep -o 'http://[0-9.:]*' serve.out)

echo "# sealroom KMS release benchmark: $(nproc) cores, $n requests per level, simulated TEE, ledger gate"
for c in 1 8 64; do
  "$tool" bench --url "$url" --sim sim --recipe recipe.json --archive o1.tar --archive o2.tar \
    --clients $c --requests "$n"
done
# the server's group-commit counters over the three levels (printed when it stops)
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
sed -nE 's/.* ([0-9]+) release transactions for ([0-9]+) requests \(largest group ([0-9]+)\).*/{"commits":\1,"requests":\2,"largest_group":\3}/p' serve.err
"$tool" ecdh-rate 2
openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {printf "{\"p256_verify_per_second\":%s,\"p256_sign_per_second\":%s}\n", $(NF), $(NF-1)}'
