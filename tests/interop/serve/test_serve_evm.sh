#!/usr/bin/env bash
# The analysis service end to end on the EVM gate: a ConsortiumApp on a fresh
# anvil (loopback, stopped by PID), owners' approvals relayed by a funded key.
set -euo pipefail
rm -rf ./* 2>/dev/null || true
. "$SR_SOURCE_DIR/tests/interop/serve/lib_evm.sh"
GATE_SPEC_NEW=evm:$ANVIL_URL
APP_SPEC_KIND=evm
. "$SR_SOURCE_DIR/tests/interop/serve/scenarios.sh"
