#!/usr/bin/env bash
# Installs what sealroom's build, tests and demo need, idempotently.
#   scripts/install-deps.sh build   C toolchain and libraries
#   scripts/install-deps.sh test    + oracles (Python, R), fuzzing, browser, npm tools
#   scripts/install-deps.sh demo    build + npm tools for the EVM gate
set -euo pipefail
what=${1:-test}
here=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(build-essential cmake pkg-config libssl-dev libsecp256k1-dev libsqlite3-dev
  libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libarchive-dev sqlite3 nodejs npm)
test_pkgs=(clang-14 libfuzzer-14-dev libclang-rt-14-dev python3 python3-cryptography python3-ecdsa
  python3-pycryptodome python3-sklearn python3-statsmodels python3-pandas python3-scipy
  r-base-core r-cran-survival age hyperfine wrk chromium curl python3-jsonschema bc util-linux)

pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs may come from elsewhere than Debian: accept any working node/npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$what" != build ]; then
  nm="$here/tests/node/node_modules"
  stamp="$nm/.sealroom-stamp"
  if [ ! -f "$stamp" ] || [ "$here/tests/node/package.json" -nt "$stamp" ]; then
    echo "install-deps: npm packages for tests (anvil, solc, ethers, playwright-core, duckdb)"
    (cd "$here/tests/node" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$stamp"
  fi
fi
