#!/usr/bin/env bash
# Gate benchmark. Ledger part: approval latency (sign -> committed, in
# process, synchronous=FULL so each commit is an fsync), status reads/s on an
# open handle, full verification time of a fresh open, and the same through
# the CLI (process start + open + verify + sign + commit).
# EVM part (anvil): added by the evm backend.
#
# usage: bench/gate.sh [BUILD_DIR (build)] [APPROVALS (1000)] [READS (100000)]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
n=${2:-1000}
reads=${3:-100000}
tool=$build/tests/sr_gate_tool
cli=$build/sealroom
for f in "$tool" "$cli"; do
  if [[ ! -x $f ]]; then
    echo "bench/gate.sh: $f not found; build: cmake --build $build --target sr_gate_tool sealroom-cli" >&2
    exit 1
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# sealroom gate benchmark ($(uname -m), $(nproc) cores, filesystem of $work: $(df -T "$work" | awk 'NR==2{print $2}'))"
echo "## ledger, library: $n approvals, $reads status reads"
"$tool" bench-ledger "$work/lib.db" "$n" "$reads"

echo "## ledger, CLI: 20 approvals (each a process: open + verify the chain + sign + commit)"
for k in a b c; do "$cli" keygen --out "$work/$k.key" --json >"$work/$k.json"; done
addr() { sed -E 's/.*"address": "([^"]+)".*/\1/' "$work/$1.json"; }
"$cli" consortium create --name bench --owner "a=$(addr a)" --owner "b=$(addr b)" --owner "c=$(addr c)" \
  --threshold 2 --kms-pubkey "$(sed -E 's/.*"public_key": "([^"]+)".*/\1/' "$work/c.json")" --gate "ledger:$work/cli.db" --key "$work/a.key" >/dev/null
start=$(date +%s.%N)
for i in $(seq 1 20); do
  h=$(printf '%064x' "$i")
  "$cli" approve --gate "ledger:$work/cli.db" --compose-hash "$h" --key "$work/b.key" >/dev/null
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "cli_approve_ms_mean: %.1f\n", (e - s) * 1000 / 20 }'
start=$(date +%s.%N)
for i in $(seq 1 20); do
  "$cli" status --gate "ledger:$work/cli.db" --compose-hash "$(printf '%064x' 1)" --json >/dev/null
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "cli_status_ms_mean (21 entries): %.1f\n", (e - s) * 1000 / 20 }'
