#!/usr/bin/env bash
# make test: the release build's suite, the same suite under ASan+UBSan, and a
# short run of every libFuzzer target. Prints one closing line with the totals.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=${JOBS:-2}
log=$(mktemp -d)
passed=0; failed=0
status=0

run_suite() { # name build-dir ctest-args...
  local name=$1 dir=$2; shift 2
  echo "== $name"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") | tee "$log/$name.txt"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log/$name.txt" | tail -1)
  if [ -n "$line" ]; then
    local total nfail
    nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
    total=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
    passed=$((passed + total - nfail)); failed=$((failed + nfail))
  elif [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
  fi
  [ "$rc" -eq 0 ] || status=1
}

build() { # dir cmake-args...
  local dir=$1; shift
  if ! { cmake -S . -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$jobs" >"$log/build-$dir.txt" 2>&1; }; then
    cat "$log/build-$dir.txt"
    echo "build of $dir failed"
    failed=$((failed + 1)); status=1
    return 1
  fi
}

if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  run_suite release build
fi
if build build-asan -DCMAKE_BUILD_TYPE=Debug -DSR_SANITIZE=ON; then
  run_suite asan build-asan -LE slow
fi
if CC=clang-14 build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSR_FUZZ=ON -DSR_FUZZ_SECONDS="${FUZZ_SECONDS:-8}" -DSR_FUZZ_SEED="${FUZZ_SEED:-1}"; then
  run_suite fuzz build-fuzz -L fuzz
fi

echo
echo "suites: release, asan (ASan+UBSan), fuzz (libFuzzer, short)"
echo "$passed passed, $failed failed"
exit $status
