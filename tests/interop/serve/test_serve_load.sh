#!/usr/bin/env bash
# A short run of bench/serve.sh (wrk -d2s on five GET endpoints twice, 20 concurrent POSTs with a
# budget for 5 of them, wrk -d2s on the KMS's health and nonce) and what must hold under load: no
# non-2xx answer and no socket error on the GET endpoints, every request served (requests > 0), every POSTed run accepted and ended done
# or refused for the budget (exactly 5 done: the budget is never over- or under-spent under
# concurrency), nothing failed, the RSS after each GET round and at the end at most twice the
# RSS after the warm-up (a leak detector, not a timing assertion), and both servers exit 0 on
# SIGTERM afterwards (under ASan: LeakSanitizer finds nothing).
set -euo pipefail
: "${SEALROOM:?}" "${SR_SOURCE_DIR:?}" "${SR_BUILD_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf work summary.txt
KEEP=1 DURATION=2s WARMUP=1s THREADS=2 CONNS=32 POSTS=20 CLIENTS=8 RUNS_OK=5 FLAT_PCT=20 \
  SUMMARY=$PWD/summary.txt WORK=$PWD/work bash "$SR_SOURCE_DIR/bench/serve.sh" "$SR_BUILD_DIR" \
  || fail "bench/serve.sh failed"
get() { local v; v=$(sed -n "s/^$1=//p" summary.txt | tail -1); [ -n "$v" ] || fail "no $1 in the summary"; echo "$v"; }
for round in get1 get2; do
  for ep in runs run consortia health index; do
    [ "$(get ${round}_${ep}_non2xx)" = 0 ] || fail "$round GET $ep: $(get ${round}_${ep}_non2xx) non-2xx answers"
    [ "$(get ${round}_${ep}_sockerr)" = 0 ] || fail "$round GET $ep: $(get ${round}_${ep}_sockerr) socket errors"
    [ "$(get ${round}_${ep}_requests)" -gt 0 ] || fail "$round GET $ep: no request served"
  done
done
for ep in health nonce; do
  [ "$(get kms_${ep}_non2xx)" = 0 ] || fail "KMS GET $ep: $(get kms_${ep}_non2xx) non-2xx answers"
  [ "$(get kms_${ep}_sockerr)" = 0 ] || fail "KMS GET $ep: $(get kms_${ep}_sockerr) socket errors"
done
[ "$(get post_accepted)" = 20 ] || fail "POST: $(get post_accepted) of 20 accepted"
[ "$(get post_done)" = 5 ] || fail "POST: $(get post_done) runs done, expected 5 (the budget)"
[ "$(get post_refused_budget)" = 15 ] || fail "POST: $(get post_refused_budget) refused for the budget, expected 15"
[ "$(get post_refused_other)" = 0 ] || fail "POST: $(get post_refused_other) refused for another reason"
[ "$(get post_failed)" = 0 ] || fail "POST: $(get post_failed) runs failed"
warm=$(get rss_warm_kb)
[ "$warm" -gt 0 ] || fail "no RSS sample after the warm-up"
for k in rss_get1_after_kb rss_post_after_kb rss_get2_after_kb rss_end_kb; do
  [ "$(get $k)" -le $((2 * warm)) ] || fail "$k = $(get $k) kB, more than twice the $warm kB after the warm-up"
done
[ "$(get svc_exit)" = 0 ] || fail "the service exited with status $(get svc_exit) after the load"
[ "$(get kms_exit)" = 0 ] || fail "the KMS exited with status $(get kms_exit) after the load"
echo "serve load: ok"
