#!/usr/bin/env bash
# Micro-benchmark of the crypto core: ECDH/s, sign/s, recover/s (one thread,
# including the per-call secp256k1 context creation and randomization),
# Keccak-256 MB/s (1 MiB messages), AES-256-GCM GB/s (1 MiB and 64 KiB
# segments through one sr_gcm). Rates are per second of CPU time of the
# (single-threaded) process, so a busy machine does not skew them much.
# Usage: bench/crypto.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
secs=${2:-1}
tool=$build/tests/sr_crypto_tool
if [[ ! -x $tool ]]; then
  echo "bench/crypto.sh: $tool not found; build it with: cmake --build $build --target sr_crypto_tool" >&2
  exit 1
fi
echo "# sealroom crypto micro-benchmark ($(uname -m), $(nproc) cores, ${secs} CPU-s per figure)"
"$tool" bench "$secs"
