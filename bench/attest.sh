#!/usr/bin/env bash
# Quote verification throughput: with and without the PCK chain cache, and
# the raw P-256 verify rate of this machine's OpenSSL in the same run.
# Rates are per CPU second (openssl speed also divides by user CPU time), so
# they stay comparable on a busy shared machine; wall-clock rates are printed
# too.
# usage: bench/attest.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
secs=${2:-3}
tool=$build/tests/sr_attest_tool
data=${SR_TESTDATA:-$here/../shared/testdata}/tdx
quote=$data/v4_dcapqvl.quote
[ -x "$tool" ] || { echo "build $tool first (cmake --build $build --target sr_attest_tool)"; exit 1; }
echo "# quote: $(basename "$quote"), $secs s per run, $(nproc) cores, $(openssl version)"
"$tool" bench "$quote" "$secs" --now 2026-02-01T00:00:00Z
"$tool" bench "$quote" "$secs" --now 2026-02-01T00:00:00Z --cache
echo "# raw P-256 (openssl speed -seconds $secs ecdsap256):"
openssl speed -seconds "$secs" ecdsap256 2>/dev/null | grep -E "^ *256 bits ecdsa|sign/s"
