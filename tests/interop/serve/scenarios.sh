# End-to-end scenarios of the analysis service on loopback, run by
# test_serve_ledger.sh and test_serve_evm.sh with GATE_SPEC_NEW set (ledger:PATH or evm:URL)
# and optional DEPLOY_ARGS / SEND_ARGS arrays. Sourced after lib.sh.
set -euo pipefail

setup_consortium "$GATE_SPEC_NEW"
case $APP_SPEC_KIND in
  ledger) GATE=$GATE_SPEC_NEW ;;
  evm) GATE="$GATE_SPEC_NEW@$APP" ;;
esac
write_recipe recipe.json 1.0 v1
make_csv a.csv A 600; make_csv b.csv B 400
seal hospital-a a.key a.csv a.tar recipe.json 2.5
seal hospital-b b.key b.csv b.tar recipe.json 2.5
"$S" quote sim-init sim >/dev/null
"$S" quote sim-root sim > sim-root.pem

start_bg kms "$S" kms serve --dir kms --gate "$GATE" --listen 127.0.0.1:0 --any-runtime \
  --allow-simulated-tee --sim-root sim
KMS=$URL
SVC_ARGS=(serve --kms "$KMS" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir data --gate "$GATE")
start_bg svc "$S" "${SVC_ARGS[@]}"
API=$URL
inputs=(--input hospital-a=file://$PWD/a.tar --input hospital-b=file://$PWD/b.tar)

status_of() { curl -sf "$API/v1/runs/$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
wait_status() { # ID STATUS
  for _ in $(seq 1 300); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.1; done
  curl -s "$API/v1/runs/$1" >&2; fail "run $1 never reached $2"
}
approve() { "$S" approve --gate "$GATE" --recipe "$2" --key "$1" "${SEND_ARGS[@]}" >/dev/null || fail "approve $1"; }

# 1. Submitted before any approval: waits with k/n; the service is killed (-9) and restarted
#    while it waits; the run resumes and completes once two owners approve.
id1=$("$S" run --api "$API" --recipe recipe.json "${inputs[@]}" 2>/dev/null)
wait_status "$id1" awaiting_approval
curl -sf "$API/v1/runs/$id1" | grep -q '"approvals":0,"threshold":2' || fail "awaiting approval shows k/n"
kill -9 "$svc_PID"; wait "$svc_PID" 2>/dev/null || true
# A run cut after its key request (status running) must not run again nor be half reported.
sqlite3 data/runs.db "INSERT INTO runs(id, seq, created, updated, status, compose_hash, recipe, inputs)
  SELECT 'run-cut', MAX(seq) + 1, 0, 0, 'running', compose_hash, recipe, inputs FROM runs"
start_bg svc "$S" "${SVC_ARGS[@]}"
[ "$URL" != "" ] && API=$URL
grep -q "1 run(s) resumed, 1 marked failed" svc.err || fail "restart did not resume/fail runs: $(cat svc.err)"
[ "$(status_of run-cut)" = failed ] || fail "a run cut after its key request was not marked failed"
curl -sf "$API/v1/runs/run-cut" | grep -q "not run again" || fail "reason of the cut run"
curl -sf "$API/v1/runs/run-cut" | grep -q '"receipt"' && fail "a cut run has a receipt"
approve a.key recipe.json
approve b.key recipe.json
wait_status "$id1" done
curl -sf "$API/v1/runs/$id1" > run1.json
/usr/bin/python3 - <<'PY' || fail "run 1 result"
import json
r = json.load(open("run1.json"))
assert r["status"] == "done"
rc = r["receipt"]
assert rc["tee"] == "simulated" and rc["format"] == "sealroom-receipt"
p = json.loads(rc["payload"])
assert set(p["outputs"]) == {"patients", "mean_egfr"}, p["outputs"].keys()
assert abs(p["outputs"]["patients"]["value"] - 1000) < 60, p["outputs"]["patients"]
st = json.loads(rc["statement"])
assert st["dp"]["epsilon_spent"] == 1.0 and len(st["inputs"]) == 2
assert len(st["gate"]["approvers"]) == 2
PY

# 2. A second run through the CLI with --wait writes the receipt.
"$S" run --api "$API" --recipe recipe.json "${inputs[@]}" --wait --out receipt.json >/dev/null 2>&1 \
  || fail "second run"
grep -q '"tee": "simulated"' receipt.json || fail "receipt file"

# 3. Budget exhaustion: 2.5 granted, 1.0 per run, two runs done.
set +e; out=$("$S" run --api "$API" --recipe recipe.json "${inputs[@]}" --wait 2>&1); rc=$?; set -e
[ $rc -eq 1 ] || fail "third run should be refused (rc $rc)"
grep -q "budget exhausted for dataset hospital-a/" <<<"$out" || fail "budget message: $out"

# 4. Revocation between submit and key release: a new recipe approved by one owner; the run
#    waits; bank-c revokes; the run is refused with who revoked.
write_recipe recipe2.json 0.5 v2
seal hospital-a a.key a.csv a2.tar recipe2.json 5
seal hospital-b b.key b.csv b2.tar recipe2.json 5
approve a.key recipe2.json
id2=$("$S" run --api "$API" --recipe recipe2.json --input hospital-a=file://$PWD/a2.tar \
      --input hospital-b=file://$PWD/b2.tar 2>/dev/null)
wait_status "$id2" awaiting_approval
"$S" revoke --gate "$GATE" --recipe recipe2.json --key c.key "${SEND_ARGS[@]}" >/dev/null || fail "revoke"
wait_status "$id2" refused
curl -sf "$API/v1/runs/$id2" | grep -q "revoked by bank-c" || fail "revocation reason"

# 5. A tampered archive (one ciphertext byte) fails before anything is requested.
cp a.tar bad.tar
size=$(stat -c %s bad.tar)
printf '\x42' | dd of=bad.tar bs=1 seek=$((size / 2)) conv=notrunc status=none
set +e; out=$("$S" run --api "$API" --recipe recipe.json --input hospital-a=file://$PWD/bad.tar \
              --input hospital-b=file://$PWD/b.tar --wait 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -qi "failed" <<<"$out" || fail "tampered archive accepted: $out"

# 6. An unapproved recipe: a service without --gate goes straight to the KMS, which refuses.
write_recipe recipe3.json 0.5 v3
seal hospital-a a.key a.csv a3.tar recipe3.json 5
seal hospital-b b.key b.csv b3.tar recipe3.json 5
start_bg svc2 "$S" serve --kms "$KMS" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir data2
API2=$URL
set +e; out=$("$S" run --api "$API2" --recipe recipe3.json --input hospital-a=file://$PWD/a3.tar \
              --input hospital-b=file://$PWD/b3.tar --wait 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "not approved: 0/3 (k=2), missing hospital-a,hospital-b" <<<"$out" \
  || fail "unapproved recipe: $out"

# 7. A wrong TEE root: a KMS that does not accept the simulated root refuses the quote.
approve a.key recipe3.json; approve b.key recipe3.json
start_bg kms2 "$S" kms serve --dir kms --gate "$GATE" --listen 127.0.0.1:0 --any-runtime
KMS2=$URL
start_bg svc3 "$S" serve --kms "$KMS2" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir data3
set +e; out=$("$S" run --api "$URL" --recipe recipe3.json --input hospital-a=file://$PWD/a3.tar \
              --input hospital-b=file://$PWD/b3.tar --wait 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "refused: quote: " <<<"$out" || fail "wrong TEE root: $out"

# 8. The KMS audit log has every decision and its chain holds.
"$S" kms audit --dir kms --verify >/dev/null || fail "audit chain"
echo "serve scenarios ($APP_SPEC_KIND): ok"
