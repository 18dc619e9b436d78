#!/usr/bin/env bash
# The web console in headless Chromium against a real service on loopback:
# two consortia (one matching every criterion, one missing some), a done run,
# a refused (revoked) run and a run waiting for approvals. The assertions on
# what is rendered are in test_console.mjs; screenshots go to
# $SR_BUILD_DIR/artifacts/console/.
set -euo pipefail
rm -rf ./* 2>/dev/null || true
DEPLOY_ARGS=(); SEND_ARGS=()
. "$SR_SOURCE_DIR/tests/interop/serve/lib.sh"
[ -x /usr/bin/chromium ] || fail "Debian's chromium is not installed (/usr/bin/chromium)"

setup_consortium "ledger:$PWD/gate.db"
X=$(addr_of x.key); Y=$(addr_of y.key)
"$S" consortium create --name "Insurance claim adjudication" --owner insurer-x=$X:US:PCI \
  --owner insurer-y=$Y:US:PCI --threshold 2 --kms-pubkey "$PUB" --gate "ledger:$PWD/gate2.db" \
  --key deployer.key >/dev/null || fail "second consortium"

write_recipe recipe.json 1.5 v1
write_recipe recipe2.json 0.5 v2
write_recipe recipe3.json 0.5 v3
# hospital-a's newest dataset (the pending run's) has 700 rows: records = 700 + 400
make_csv a.csv A 600; make_csv a3.csv A 700; make_csv b.csv B 400; cp a.csv a2.csv
for r in "" 2 3; do
  seal hospital-a a.key "a$r.csv" a$r.tar recipe$r.json 5
  seal hospital-b b.key b.csv b$r.tar recipe$r.json 5
done
"$S" quote sim-init sim >/dev/null

start_bg kms "$S" kms serve --dir kms --gate "$GATE" --listen 127.0.0.1:0 --any-runtime \
  --allow-simulated-tee --sim-root sim
KMS=$URL
start_bg svc "$S" serve --kms "$KMS" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir data \
  --gate "$GATE" --consortium "ledger:$PWD/gate2.db" --web "$SR_SOURCE_DIR/web"
API=$URL

field_of() { curl -sf "$API/v1/runs/$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
wait_status() { # ID STATUS
  for _ in $(seq 1 300); do [ "$(field_of "$1" status)" = "$2" ] && return 0; sleep 0.1; done
  curl -s "$API/v1/runs/$1" >&2; fail "run $1 never reached $2"
}
approve() { "$S" approve --gate "$GATE" --recipe "$2" --key "$1" >/dev/null || fail "approve $1 $2"; }
submit() { "$S" run --api "$API" --recipe "recipe$1.json" --input "hospital-a=file://$PWD/a$1.tar" \
             --input "hospital-b=file://$PWD/b$1.tar" 2>/dev/null; }

# 1. done: approved by hospital-a and hospital-b.
approve a.key recipe.json; approve b.key recipe.json
DONE=$(submit ""); wait_status "$DONE" done
# 2. refused: approved by hospital-a only, revoked by bank-c while waiting.
approve a.key recipe2.json
REFUSED=$(submit 2); wait_status "$REFUSED" awaiting_approval
"$S" revoke --gate "$GATE" --recipe recipe2.json --key c.key >/dev/null || fail "revoke"
wait_status "$REFUSED" refused
# 3. pending: approved by hospital-a only; stays awaiting approval.
approve a.key recipe3.json
PENDING=$(submit 3); wait_status "$PENDING" awaiting_approval

ART="$SR_BUILD_DIR/artifacts/console"
mkdir -p "$ART"
SR_CONSOLE_URL=$API SR_DONE_RUN=$DONE SR_REFUSED_RUN=$REFUSED SR_PENDING_RUN=$PENDING \
  SR_DONE_HASH=$(field_of "$DONE" compose_hash) SR_REVOKED_HASH=$(field_of "$REFUSED" compose_hash) \
  SR_PENDING_HASH=$(field_of "$PENDING" compose_hash) SR_GATE_SPEC=$GATE SR_ARTIFACTS=$ART \
  node "$SR_SOURCE_DIR/tests/interop/console/test_console.mjs" || fail "console assertions"
# docs/openapi.json against the live service (every path, every answer's schema)
/usr/bin/python3 "$SR_SOURCE_DIR/tests/interop/console/check_openapi.py" "$API" "$DONE" "$REFUSED" "$PENDING" \
  recipe3.json "{\"hospital-a\": \"file://$PWD/a3.tar\", \"hospital-b\": \"file://$PWD/b3.tar\"}" \
  "$SR_SOURCE_DIR/docs/openapi.json" || fail "OpenAPI document vs the service"
echo "console: ok"
