#!/usr/bin/env bash
# `sealroom verify --gate evm:...`: a receipt from the service on the EVM gate (ConsortiumApp on a
# fresh anvil, stopped by PID) re-reads the approvals at the snapshot block; a revocation in a
# later block keeps it valid; a gate of another consortium fails.
set -euo pipefail
rm -rf ./* 2>/dev/null || true
. "$SR_SOURCE_DIR/tests/interop/serve/lib_evm.sh"
addr_of() {
  [ "$1" = deployer.key ] && return 0
  "$S" keygen --out "$1" --force --json | sed -E 's/.*"address": *"(0x[0-9a-fA-F]+)".*/\1/'
}

setup_consortium "evm:$ANVIL_URL"
GATE="evm:$ANVIL_URL@$APP"
write_recipe recipe.json 1.0 v1
make_csv a.csv A 200; make_csv b.csv B 100
seal hospital-a a.key a.csv a.tar recipe.json 5
seal hospital-b b.key b.csv b.tar recipe.json 5
"$S" quote sim-init sim >/dev/null
"$S" approve --gate "$GATE" --recipe recipe.json --key a.key "${SEND_ARGS[@]}" >/dev/null || fail "approve a"
"$S" approve --gate "$GATE" --recipe recipe.json --key b.key "${SEND_ARGS[@]}" >/dev/null || fail "approve b"
start_bg kms "$S" kms serve --dir kms --gate "$GATE" --listen 127.0.0.1:0 --any-runtime \
  --allow-simulated-tee --sim-root sim
KMS=$URL
start_bg svc "$S" serve --kms "$KMS" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir data --gate "$GATE"
API=$URL
"$S" run --api "$API" --recipe recipe.json --input hospital-a=file://$PWD/a.tar \
  --input hospital-b=file://$PWD/b.tar --wait --out receipt.json >/dev/null 2>&1 || fail "run"
stop_pid "$svc_PID"; stop_pid "$kms_PID"

out=$("$S" verify receipt.json --allow-simulated --root sim --gate "$GATE") || fail "evm --gate: $out"
grep -q "✓ gate-approvals .*re-read from the gate: 2 approvals at block" <<<"$out" || fail "evm detail: $out"
grep -q "✓ kms-certificate .*from the gate" <<<"$out" || fail "KMS root from the gate: $out"

"$S" revoke --gate "$GATE" --recipe recipe.json --key c.key "${SEND_ARGS[@]}" >/dev/null || fail "revoke"
out=$("$S" verify receipt.json --allow-simulated --root sim --gate "$GATE") \
  || fail "receipt made before the revocation: $out"

# a ledger gate of another consortium (other app): the snapshot names another gate
"$S" consortium create --name other --owner x=$A --threshold 1 --kms-pubkey "$PUB" \
  --gate "ledger:$PWD/other.db" --key deployer.key >/dev/null || fail "other consortium"
set +e; out=$("$S" verify receipt.json --allow-simulated --root sim --gate "ledger:$PWD/other.db"); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "✗ gate-approvals .*another gate" <<<"$out" || fail "other gate: rc $rc $out"
echo "verify --gate evm: ok"
