#!/usr/bin/env bash
# The KMS anchors an EVM gate at the highest block it has read. A consortium
# on a fresh anvil (loopback, stopped by PID): the KMS releases, bank-c
# revokes and the KMS refuses; the KMS is stopped and the chain is moved back
# before the revocation (anvil evm_revert, as a node restored from an old
# snapshot would be); the restarted KMS reads a gate that again says
# "allowed" but refuses with "gate chain went back", audits it, and releases
# no key.
set -euo pipefail
rm -rf ./* 2>/dev/null || true
. "$SR_SOURCE_DIR/tests/interop/serve/lib_evm.sh"

rpc() { # METHOD PARAMS-JSON -> result (as printed by Python: a string, True/False)
  curl -sf -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$ANVIL_URL" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])'
}
block() { echo $(( $(rpc eth_blockNumber '[]') )); }

setup_consortium "evm:$ANVIL_URL"
GATE="evm:$ANVIL_URL@$APP"
write_recipe recipe.json 1.0 v1
make_csv a.csv A 20; make_csv b.csv B 20
seal hospital-a a.key a.csv a.tar recipe.json 2.5
seal hospital-b b.key b.csv b.tar recipe.json 2.5
"$S" quote sim-init sim >/dev/null
for k in a.key b.key; do
  "$S" approve --gate "$GATE" --recipe recipe.json --key $k "${SEND_ARGS[@]}" >/dev/null || fail "approve $k"
done
snap=$(rpc evm_snapshot '[]')

KMS_ARGS=(kms serve --dir kms --gate "$GATE" --listen 127.0.0.1:0 --any-runtime --allow-simulated-tee --sim-root sim)
request() { # one key request; prints released/refused counts as "R F"
  local out
  out=$("$SR_BUILD_DIR/tests/sr_kms_tool" bench --url "$KMS" --sim sim --recipe recipe.json \
        --archive a.tar --archive b.tar --clients 1 --requests 1 || true)
  /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["released"], j["refused"])' "$out"
}
last_reason() {
  "$S" kms audit --dir kms --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["reason"])'
}

start_bg kms "$S" "${KMS_ARGS[@]}"; KMS=$URL
[ "$(request)" = "1 0" ] || fail "approved recipe not released"
"$S" revoke --gate "$GATE" --recipe recipe.json --key c.key "${SEND_ARGS[@]}" >/dev/null || fail "revoke"
seen=$(block)
[ "$(request)" = "0 1" ] || fail "revoked recipe released"
grep -q "revoked by bank-c at block" <<<"$(last_reason)" || fail "revoke reason: $(last_reason)"
stop_pid "$kms_PID"

# the chain goes back before the revocation: the gate alone says allowed again
[ "$(rpc evm_revert "[\"$snap\"]")" = True ] || fail "evm_revert"
back=$(block)
[ "$back" -lt "$seen" ] || fail "chain did not go back ($back >= $seen)"
"$S" status --gate "$GATE" --recipe recipe.json --json | grep -q '"allowed": true' \
  || fail "after the revert the gate should read allowed"

start_bg kms "$S" "${KMS_ARGS[@]}"; KMS=$URL
[ "$(request)" = "0 1" ] || fail "a key was released from a chain that went back"
reason=$(last_reason)
[ "$reason" = "gate chain went back: block $back, KMS has seen $seen" ] || fail "reason: $reason"
n=$("$S" kms audit --dir kms --json | /usr/bin/python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["allowed"]))')
[ "$n" = 1 ] || fail "$n releases in the audit log, expected 1"
"$S" kms audit --dir kms --verify >/dev/null || fail "audit chain"
echo "ok: kms refuses an EVM gate read behind the block it has seen (block $back < $seen)"
