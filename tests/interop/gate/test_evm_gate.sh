#!/usr/bin/env bash
# The gate's semantics on the EVM backend: starts anvil (npm @foundry-rs/anvil)
# on a free loopback port, runs $SR_BUILD_DIR/tests/sr_evm_suite against it
# (deploy from C, quorum at exactly k, non-owner / replayed / duplicate
# approvals refused, revoke final, owner change needs quorum, freeze, dstack
# isAppAllowed, reads pinned to a block), then 8 processes relaying approvals
# with the same sender key at once (nonce clashes are retried: nothing is
# lost), and stops anvil by its PID.
set -euo pipefail
. "$SR_SOURCE_DIR/tests/interop/gate/evm_anvil.sh"
anvil_start
"$SR_BUILD_DIR/tests/sr_evm_suite" "$ANVIL_URL"

tool="$SR_BUILD_DIR/tests/sr_evm_tool"
SENDER=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
OWNER=4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318
OWNER_ADDR=0x2c7536E3605D9C16a7a3D7b1898e529396a65c23
app=$("$tool" gate-create "$ANVIL_URL" "$SENDER" concurrent 1 0x02aa o1="$OWNER_ADDR" o2=0x0000000000000000000000000000000000000002)
spec="evm:$ANVIL_URL@$app"
pids=()
for i in 1 2 3 4 5 6 7 8; do
    h=0x$(printf 'concurrent %d' "$i" | sha256sum | cut -c1-64)
    read -r who sig < <("$tool" gate-sign "$spec" "$OWNER" approve "$h")
    [ "${who,,}" = "${OWNER_ADDR,,}" ] || { echo "FAIL: signer $who" >&2; exit 1; }
    "$tool" gate-submit "$spec" "$SENDER" approve "$h" "$who" "$sig" >"submit.$i.txt" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || { echo "FAIL: a concurrent submission failed:" >&2; cat submit.*.txt >&2; exit 1; }
done
for i in 1 2 3 4 5 6 7 8; do
    h=0x$(printf 'concurrent %d' "$i" | sha256sum | cut -c1-64)
    "$tool" gate-status "$spec" "$h" >st.json
    /usr/bin/python3 -c 'import json,sys; j=json.load(open("st.json")); sys.exit(0 if j["allowed"] and j["approvals"]==1 else 1)' \
        || { echo "FAIL: approval $i lost: $(cat st.json)" >&2; exit 1; }
done
echo "ok: evm gate suite on anvil, 8 concurrent relayed approvals all recorded"
