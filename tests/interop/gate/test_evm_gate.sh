#!/usr/bin/env bash
# The gate's semantics on the EVM backend: starts anvil (npm @foundry-rs/anvil)
# on a free loopback port, runs $SR_BUILD_DIR/tests/sr_evm_suite against it
# (deploy from C, quorum at exactly k, non-owner / replayed / duplicate
# approvals refused, revoke final, owner change needs quorum, freeze, dstack
# isAppAllowed, reads pinned to a block), and stops anvil by its PID.
set -euo pipefail
. "$SR_SOURCE_DIR/tests/interop/gate/evm_anvil.sh"
anvil_start
"$SR_BUILD_DIR/tests/sr_evm_suite" "$ANVIL_URL"
echo "ok: evm gate suite on anvil"
