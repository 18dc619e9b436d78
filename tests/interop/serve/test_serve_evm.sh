#!/usr/bin/env bash
# The analysis service end to end on the EVM gate: a ConsortiumApp on a fresh
# anvil (loopback, stopped by PID), owners' approvals relayed by a funded key.
set -euo pipefail
rm -rf ./* 2>/dev/null || true
. "$SR_SOURCE_DIR/tests/interop/gate/evm_anvil.sh"
anvil_start
umask 077
echo "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" > funded.key
umask 022
DEPLOY_ARGS=(); SEND_ARGS=(--sender-key "$PWD/funded.key")
. "$SR_SOURCE_DIR/tests/interop/serve/lib.sh"
trap 'anvil_stop; cleanup' EXIT
GATE_SPEC_NEW=evm:$ANVIL_URL
APP_SPEC_KIND=evm
# the deployer pays for the deployment
cp funded.key deployer.key
. "$SR_SOURCE_DIR/tests/interop/serve/scenarios.sh"
