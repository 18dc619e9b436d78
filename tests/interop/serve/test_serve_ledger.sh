#!/usr/bin/env bash
# The analysis service end to end on the embedded ledger gate (scenarios.sh).
set -euo pipefail
rm -rf ./* 2>/dev/null || true
DEPLOY_ARGS=(); SEND_ARGS=()
. "$SR_SOURCE_DIR/tests/interop/serve/lib.sh"
GATE_SPEC_NEW=ledger:$PWD/gate.db
APP_SPEC_KIND=ledger
. "$SR_SOURCE_DIR/tests/interop/serve/scenarios.sh"
