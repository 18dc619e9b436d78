#!/usr/bin/env bash
# Load on the analysis service (`sealroom serve`, simulated TEE, ledger gate), on loopback:
#  1. setup: a consortium of three owners (k = 2), two sealed datasets (600 + 400 rows) whose
#     budget admits RUNS_OK more runs of the recipe after the first, both approvals, the KMS
#     and the service; one run to the end (done, with a receipt: GET /v1/runs/{id} reads it);
#  2. POST load: POSTS POST /v1/runs of that recipe from CLIENTS concurrent curl clients, then
#     waits until every run has ended: submit p50/p99, runs/s (first POST to last run ended),
#     how many done, refused for the budget, refused otherwise, failed;
#  3. warm-up: wrk -d WARMUP on every GET endpoint (the stored runs no longer change);
#  4. GET load, twice: wrk -t THREADS -c CONNS -d DURATION on GET /v1/runs (the newest 100),
#     /v1/runs/{id} (receipt included), /v1/consortia, /v1/health and / (the console index):
#     requests/s, latency p50/p99/max, non-2xx/3xx responses and socket errors per endpoint;
#     the second round repeats the first on a warm service (the leak check);
#  5. wrk on the KMS's GET /v1/health and /v1/nonce (each nonce is a SQLite row);
#  the service's RSS (VmRSS of /proc/PID/status) at start, before, during (peak, sampled every
#  0.2 s) and after each phase, the KMS's RSS around the POST load and its own GET load, and a
#  verdict: memory is flat when the service's RSS after the GET load is within FLAT_PCT % of
#  its RSS after the warm-up; last, both servers must exit 0 on SIGTERM.
# Prints a readable report; with SUMMARY=FILE also writes one key=value line per figure
# (tests/interop/serve/test_serve_load.sh reads it). Every process started is stopped by PID.
# Usage: bench/serve.sh [BUILD_DIR]
#   DURATION=10s THREADS=2 CONNS=32 POSTS=200 CLIENTS=16 RUNS_OK=50 FLAT_PCT=20 WARMUP=2s
#   KEEP=1 keeps the work folder (WORK=DIR picks it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
S=${SEALROOM:-$build/sealroom}
DURATION=${DURATION:-10s} THREADS=${THREADS:-2} CONNS=${CONNS:-32} WARMUP=${WARMUP:-2s}
POSTS=${POSTS:-200} CLIENTS=${CLIENTS:-16} RUNS_OK=${RUNS_OK:-50} FLAT_PCT=${FLAT_PCT:-20}
SUMMARY=${SUMMARY:-}
[[ -x $S ]] || { echo "build first: cmake --build $build --target sealroom-cli" >&2; exit 1; }
for t in wrk curl jq; do command -v $t >/dev/null || { echo "bench/serve.sh needs $t" >&2; exit 1; }; done
(( RUNS_OK < POSTS )) || { echo "RUNS_OK must be below POSTS (some runs must be refused)" >&2; exit 1; }
[ -n "$SUMMARY" ] && : > "$SUMMARY"
if [ -n "${WORK:-}" ]; then mkdir -p "$WORK"; work=$(cd "$WORK" && pwd); else work=$(mktemp -d); fi
pids=()
svc_pid='' kms_pid=''
sampler=
cleanup() {
  if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() { echo "bench/serve.sh: $*" >&2; exit 1; }
put() { [ -n "$SUMMARY" ] && echo "$1=$2" >> "$SUMMARY"; return 0; }

# start_bg NAME CMD...: starts CMD, waits for its "listening on URL" line; sets URL and NAME_pid.
start_bg() {
  local name=$1; shift
  "$@" > "$name.out" 2> "$name.err" &
  local pid=$!
  pids+=("$pid")
  printf -v "${name}_pid" %s "$pid"
  for _ in $(seq 1 200); do grep -q listening "$name.out" 2>/dev/null && break; sleep 0.05; done
  URL=$(grep -o 'http://[0-9.:]*' "$name.out") || { cat "$name.err" >&2; fail "$name did not start"; }
}

# ---- 1. setup ---------------------------------------------------------------
addr() { "$S" keygen --out "$1" --force --json | sed -E 's/.*"address": *"(0x[0-9a-fA-F]+)".*/\1/'; }
pub=$("$S" kms init --dir kms)
A=$(addr a.key); B=$(addr b.key); C=$(addr c.key); addr deployer.key >/dev/null
gate=ledger:$work/gate.db
app=$("$S" consortium create --name "Load cohort" --owner hospital-a=$A:EU-DE:HIPAA,GDPR \
      --owner hospital-b=$B:EU-SE:GDPR --owner bank-c=$C:US:PCI --threshold 2 --kms-pubkey "$pub" \
      --gate "$gate" --key deployer.key) || fail "consortium create"
eps=0.1
cat > recipe.json <<JSON
{
  "version": 1,
  "consortium": {"name": "Load cohort", "app_id": "$app",
    "owners": [{"id": "hospital-a", "address": "$A"}, {"id": "hospital-b", "address": "$B"},
               {"id": "bank-c", "address": "$C"}]},
  "datasets": {
    "hospital-a": {"schema": [{"name": "patient_id", "type": "string"}, {"name": "age", "type": "int"},
                              {"name": "egfr", "type": "float"}, {"name": "ckd", "type": "bool"}]},
    "hospital-b": {"schema": [{"name": "patient_id", "type": "string"}, {"name": "age", "type": "int"},
                              {"name": "egfr", "type": "float"}, {"name": "ckd", "type": "bool"}]}
  },
  "analysis": {"sources": {"union": ["hospital-a", "hospital-b"]}},
  "outputs": [
    {"name": "patients", "type": "count", "privacy": {"mechanism": "laplace", "epsilon": 0.05}},
    {"name": "mean_egfr", "type": "mean", "column": "egfr",
     "privacy": {"mechanism": "laplace", "epsilon": 0.05, "clamp": [0, 150]}}
  ],
  "privacy": {"epsilon": $eps, "person_id": "patient_id"}
}
JSON
make_csv() { # FILE PREFIX ROWS
  awk -v p="$2" -v n="$3" 'BEGIN{srand(7); print "patient_id,age,egfr,ckd";
    for(i=1;i<=n;i++) printf "%s-%05d,%d,%.1f,%s\n", p, i, 30+int(rand()*50), 20+rand()*100, (rand()<0.3?"true":"false")}' > "$1"
}
make_csv a.csv A 600; make_csv b.csv B 400
# The budget admits the first run plus RUNS_OK of the POST load (half an epsilon of slack
# so that rounding never decides).
budget=$(awk -v e=$eps -v n=$RUNS_OK 'BEGIN{printf "%.4f", e * (n + 1) + e / 2}')
for o in a b; do
  "$S" seal --owner hospital-$o --key $o.key --recipe recipe.json --kms-pubkey "$pub" --in $o.csv \
    --out $o.tar --epsilon-budget "$budget" --keystore "$work/keystore" >/dev/null || fail "seal $o"
done
"$S" approve --gate "$gate" --recipe recipe.json --key a.key >/dev/null || fail "approve a"
"$S" approve --gate "$gate" --recipe recipe.json --key b.key >/dev/null || fail "approve b"
"$S" quote sim-init sim >/dev/null
start_bg kms "$S" kms serve --dir kms --gate "$gate" --listen 127.0.0.1:0 --any-runtime \
  --allow-simulated-tee --sim-root sim
KMS=$URL
start_bg svc "$S" serve --kms "$KMS" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir data --gate "$gate"
API=$URL
jq -n --rawfile c recipe.json --arg a "file://$work/a.tar" --arg b "file://$work/b.tar" \
  '{compose: $c, inputs: {"hospital-a": $a, "hospital-b": $b}}' > body.json

rss_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# sample_start PID: samples VmRSS every 0.2 s into rss.samples; sample_stop sets peak (kB).
sample_start() {
  : > rss.samples
  sampled=$1
  ( while :; do rss_of "$1" >> rss.samples; sleep 0.2; done ) &
  sampler=$!
}
sample_stop() {
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=
  rss_of "$sampled" >> rss.samples
  peak=$(sort -n rss.samples | tail -1)
}
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }

rss_start=$(rss_of "$svc_pid")
# one run to the end: the done run (with its receipt) that GET /v1/runs/{id} reads
first=$(curl -sf -H 'Content-Type: application/json' --data-binary @body.json "$API/v1/runs" | jq -r .id) \
  || fail "first POST /v1/runs"
for _ in $(seq 1 600); do
  st=$(curl -sf "$API/v1/runs/$first" | jq -r .status)
  case $st in done) break ;; refused|failed) curl -s "$API/v1/runs/$first" >&2; fail "first run $st" ;; esac
  sleep 0.1
done
[ "$st" = "done" ] || fail "first run did not end (status $st)"
curl -sf "$API/v1/runs/$first" | jq -e '.receipt.format == "sealroom-receipt"' >/dev/null || fail "first run has no receipt"

endpoints=(/v1/runs "/v1/runs/$first" /v1/consortia /v1/health /)
for ep in "${endpoints[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$API$ep")
  [ "$code" = 200 ] || fail "GET $ep answered $code"
done

cat > report.lua <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d sockerr=%d " ..
    "connect=%d read=%d write=%d timeout=%d\n", summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, e.status,
    e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout))
end
LUA

echo "# sealroom analysis service load: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "wrk -t$THREADS -c$CONNS -d$DURATION, $POSTS POSTs from $CLIENTS clients (budget for $RUNS_OK)"
echo "RSS: start $(mb "$rss_start") MB, after the first run $(mb "$(rss_of "$svc_pid")") MB"
put rss_start_kb "$rss_start"

# ---- 2. POST load -----------------------------------------------------------
rss_before=$(rss_of "$svc_pid"); kms_before=$(rss_of "$kms_pid")
mkdir -p post
sample_start "$svc_pid"
t0=$(date +%s.%N)
seq 1 "$POSTS" | xargs -P "$CLIENTS" -I{} curl -s -o post/{}.json -w '%{http_code} %{time_total}\n' \
  -H 'Content-Type: application/json' --data-binary @body.json "$API/v1/runs" > post.codes || true
t1=$(date +%s.%N)
accepted=$(awk '$1 == 202' post.codes | wc -l)
rejected=$(( POSTS - accepted ))
pct() { # P FILE-of-numbers: the P-th percentile (nearest rank)
  sort -n "$2" | awk -v p="$1" '{a[NR] = $1} END {i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.1f", a[i]}'
}
awk '{print $2 * 1000}' post.codes > post.ms
sub_p50=$(pct 50 post.ms); sub_p99=$(pct 99 post.ms)
cat post/*.json 2>/dev/null | jq -r 'select(.id != null) | .id' > post.ids
# wait until every accepted run has ended (done, refused or failed); one curl per round
pending=$(wc -l < post.ids)
deadline=$(( $(date +%s) + 60 + POSTS * 3 ))
while :; do
  mapfile -t ids < post.ids
  ((${#ids[@]})) || break
  urls=(); for id in "${ids[@]}"; do urls+=("$API/v1/runs/$id"); done
  curl -s "${urls[@]}" | jq -c '{id, status, reason}' > post.status
  pending=$(jq -r 'select(.status != "done" and .status != "refused" and .status != "failed") | .id' post.status | wc -l)
  [ "$pending" -eq 0 ] && [ "$(wc -l < post.status)" -eq "${#ids[@]}" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || fail "$pending run(s) still not ended"
  kill -0 "$svc_pid" 2>/dev/null || fail "the service died during the POST load"
  sleep 0.3
done
t2=$(date +%s.%N)
sample_stop
rss_after=$(rss_of "$svc_pid"); kms_after=$(rss_of "$kms_pid")
touch post.status
done_n=$(jq -r 'select(.status == "done") | .id' post.status | wc -l)
ref_budget=$(jq -r 'select(.status == "refused" and (.reason // "" | test("budget"))) | .id' post.status | wc -l)
ref_other=$(jq -r 'select(.status == "refused" and ((.reason // "" | test("budget")) | not)) | .id' post.status | wc -l)
failed_n=$(jq -r 'select(.status == "failed") | .id' post.status | wc -l)
submit_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
total_s=$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.2f", b - a}')
runs_s=$(awk -v n="$accepted" -v a="$t0" -v b="$t2" 'BEGIN{printf "%.1f", n / (b - a)}')
echo "POST /v1/runs: $POSTS from $CLIENTS clients: $accepted accepted (202), $rejected not;" \
     "submitted in $submit_s s (p50 $sub_p50 ms, p99 $sub_p99 ms); all ended after $total_s s: $runs_s runs/s"
echo "  runs: $done_n done, $ref_budget refused (budget), $ref_other refused (other), $failed_n failed" \
     "(expected $RUNS_OK done)"
[ "$ref_other" -eq 0 ] && [ "$failed_n" -eq 0 ] || jq -c 'select(.status == "failed" or (.status == "refused" and ((.reason // "" | test("budget")) | not)))' post.status | head -3 >&2
echo "RSS (post): before $(mb "$rss_before") MB, peak $(mb "$peak") MB, after $(mb "$rss_after") MB;" \
     "KMS before $(mb "$kms_before") MB, after $(mb "$kms_after") MB"
put post_sent "$POSTS"; put post_accepted "$accepted"; put post_done "$done_n"; put post_refused_budget "$ref_budget"
put post_refused_other "$ref_other"; put post_failed "$failed_n"; put post_expected_done "$RUNS_OK"
put post_runs_per_s "$runs_s"; put post_submit_p50_ms "$sub_p50"; put post_submit_p99_ms "$sub_p99"
put rss_post_before_kb "$rss_before"; put rss_post_peak_kb "$peak"; put rss_post_after_kb "$rss_after"
put kms_rss_before_kb "$kms_before"; put kms_rss_after_kb "$kms_after"

# ---- 3. warm-up (the stored runs no longer change) -----------------------------------
for ep in "${endpoints[@]}"; do
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$API$ep" > /dev/null
done
rss_warm=$(rss_of "$svc_pid")

echo "RSS: after the POST load and the warm-up $(mb "$rss_warm") MB"
put rss_warm_kb "$rss_warm"

# ---- 4. GET load, twice (the second round is the leak check) -----------------------
# get_round TAG PID BASE_URL WHO EP=NAME...: wrk on each endpoint in turn, RSS of PID around it.
get_round() {
  local tag=$1 pid=$2 base=$3 who=$4 before after spec
  shift 4
  before=$(rss_of "$pid")
  sample_start "$pid"
  printf '%-8s %-24s %10s %9s %9s %9s %8s %8s\n' "$tag" endpoint "req/s" "p50 ms" "p99 ms" "max ms" non2xx sockerr
  for spec in "$@"; do
    local ep=${spec%=*} name=${spec##*=} out line rps p50 p99 mx non sock shown
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s report.lua "$base$ep")
    line=$(grep '^RESULT ' <<<"$out") || { echo "$out" >&2; fail "wrk on $ep printed no result"; }
    rps=$(sed -E 's/.* rps=([^ ]+).*/\1/' <<<"$line"); p50=$(sed -E 's/.* p50_ms=([^ ]+).*/\1/' <<<"$line")
    p99=$(sed -E 's/.* p99_ms=([^ ]+).*/\1/' <<<"$line"); mx=$(sed -E 's/.* max_ms=([^ ]+).*/\1/' <<<"$line")
    non=$(sed -E 's/.* non2xx=([^ ]+).*/\1/' <<<"$line"); sock=$(sed -E 's/.* sockerr=([^ ]+).*/\1/' <<<"$line")
    shown=$ep
    [ "$name" = run ] && shown="/v1/runs/{id}"
    printf '%-8s %-24s %10s %9s %9s %9s %8s %8s\n' "" "GET $shown" "$rps" "$p50" "$p99" "$mx" "$non" "$sock"
    put "${tag}_${name}_rps" "$rps"; put "${tag}_${name}_p50_ms" "$p50"; put "${tag}_${name}_p99_ms" "$p99"
    put "${tag}_${name}_non2xx" "$non"; put "${tag}_${name}_sockerr" "$sock"
    put "${tag}_${name}_requests" "$(sed -E 's/.*RESULT requests=([^ ]+).*/\1/' <<<"$line")"
  done
  sample_stop; after=$(rss_of "$pid")
  echo "RSS ($tag, $who): before $(mb "$before") MB, peak $(mb "$peak") MB, after $(mb "$after") MB"
  put "rss_${tag}_before_kb" "$before"; put "rss_${tag}_peak_kb" "$peak"; put "rss_${tag}_after_kb" "$after"
  kill -0 "$pid" 2>/dev/null || fail "the $who died during the $tag load"
}
svc_endpoints=(/v1/runs=runs "/v1/runs/$first=run" /v1/consortia=consortia /v1/health=health /=index)
get_round get1 "$svc_pid" "$API" service "${svc_endpoints[@]}"
get_round get2 "$svc_pid" "$API" service "${svc_endpoints[@]}"

rss_end=$(rss_of "$svc_pid")

# ---- 5. the KMS's own GET endpoints (each /v1/nonce is a SQLite insert) ---------------------
for ep in /v1/health /v1/nonce; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$KMS$ep")
  [ "$code" = 200 ] || fail "KMS GET $ep answered $code"
done
get_round kms "$kms_pid" "$KMS" KMS /v1/health=health /v1/nonce=nonce
verdict=$(awk -v w="$rss_warm" -v e="$rss_end" -v p="$FLAT_PCT" 'BEGIN{print (e <= w * (1 + p / 100)) ? "flat" : "grew"}')
growth=$(awk -v w="$rss_warm" -v e="$rss_end" 'BEGIN{printf "%+.1f", (e - w) * 100 / w}')
echo "RSS: after the warm-up $(mb "$rss_warm") MB, end $(mb "$rss_end") MB ($growth %): $verdict (limit +$FLAT_PCT %)"
put rss_end_kb "$rss_end"; put rss_verdict "$verdict"

# ---- stop: both servers must exit cleanly on SIGTERM after the load (under ASan this is
# also LeakSanitizer's verdict on the whole session) ----------------------------------------
svc_exit=0; kms_exit=0
kill -TERM "$svc_pid" 2>/dev/null; wait "$svc_pid" 2>/dev/null || svc_exit=$?
kill -TERM "$kms_pid" 2>/dev/null; wait "$kms_pid" 2>/dev/null || kms_exit=$?
echo "stop: service exit status $svc_exit, KMS exit status $kms_exit"
[ "$svc_exit" = 0 ] || tail -20 svc.err >&2
[ "$kms_exit" = 0 ] || tail -20 kms.err >&2
put svc_exit "$svc_exit"; put kms_exit "$kms_exit"
