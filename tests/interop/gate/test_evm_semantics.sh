#!/usr/bin/env bash
# The shared gate semantics suite (tests/interop/gate/test_semantics.sh, run
# through the CLI) on the EVM backend: every consortium is a ConsortiumApp
# deployed on a fresh anvil; anvil's funded account 0 deploys and carries
# the owners' signatures. anvil is stopped by its PID on exit.
set -euo pipefail
. "$SR_SOURCE_DIR/tests/interop/gate/evm_anvil.sh"
anvil_start
umask 077
echo "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" >funded.key
GATE_SPEC="evm:$ANVIL_URL" GATE_DEPLOYER_KEY="$PWD/funded.key" GATE_SENDER_KEY="$PWD/funded.key" \
    bash "$SR_SOURCE_DIR/tests/interop/gate/test_semantics.sh"
