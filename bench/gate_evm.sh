#!/usr/bin/env bash
# EVM gate figures on a local anvil (auto-mining): approval latency
# (EIP-712 signature -> transaction mined, through sr_gate_approve with a
# relaying sender), status reads per second (block-pinned eth_call pair), and
# gas used by approveBySig / approve / revokeBySig / revoke / requireOwners
# (receipts; requireOwners lists 2 owners) and isAppAllowed (eth_estimateGas:
# a hash with 2 of k=3 approvals, and an allowed hash with 2 declared
# required owners).
# Usage: bench/gate_evm.sh [BUILD_DIR] [N_APPROVALS]   (defaults: build, 200)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$here/build}" && pwd)"
n="${2:-200}"
tool="$build/tests/sr_evm_tool"
[ -x "$tool" ] || { echo "bench/gate_evm.sh: $tool not built" >&2; exit 1; }
work=$(mktemp -d)
cd "$work"
export SR_SOURCE_DIR="$here"
. "$here/tests/interop/gate/evm_anvil.sh"
trap 'anvil_stop; rm -rf "$work"' EXIT
anvil_start
trap 'anvil_stop; rm -rf "$work"' EXIT
"$tool" bench "$ANVIL_URL" "$n"
