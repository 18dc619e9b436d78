#!/usr/bin/env bash
# `sealroom verify` on a real receipt from the analysis service (ledger gate, KMS with the
# simulated TEE): check lines, --json, exit codes, --help, tampering, and --gate re-reading
# the approvals after a revocation.
set -euo pipefail
rm -rf ./* 2>/dev/null || true
DEPLOY_ARGS=(); SEND_ARGS=()
. "$SR_SOURCE_DIR/tests/interop/serve/lib.sh"
PY=/usr/bin/python3

setup_consortium "ledger:$PWD/gate.db"
write_recipe recipe.json 1.0 v1
make_csv a.csv A 300; make_csv b.csv B 200
seal hospital-a a.key a.csv a.tar recipe.json 5
seal hospital-b b.key b.csv b.tar recipe.json 5
"$S" quote sim-init sim >/dev/null
"$S" approve --gate "$GATE" --recipe recipe.json --key a.key >/dev/null || fail "approve a"
"$S" approve --gate "$GATE" --recipe recipe.json --key b.key >/dev/null || fail "approve b"
start_bg kms "$S" kms serve --dir kms --gate "$GATE" --listen 127.0.0.1:0 --any-runtime \
  --allow-simulated-tee --sim-root sim
KMS=$URL
start_bg svc "$S" serve --kms "$KMS" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir data --gate "$GATE"
API=$URL
"$S" run --api "$API" --recipe recipe.json --input hospital-a=file://$PWD/a.tar \
  --input hospital-b=file://$PWD/b.tar --wait --out receipt.json >/dev/null 2>&1 || fail "run"
stop_pid "$svc_PID"; stop_pid "$kms_PID"

# --help and usage errors
"$S" verify --help | grep -q -- "--allow-simulated" || fail "--help"
set +e
"$S" verify >/dev/null 2>&1; [ $? -eq 2 ] || fail "no receipt: exit 2"
"$S" verify receipt.json --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: exit 2"
"$S" verify receipt.json --kms-root zz >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --kms-root: exit 2"
"$S" verify missing.json --kms-root "$PUB" >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing file: exit 1"
set -e

# valid: nine check marks, a verdict naming the simulated TEE
out=$("$S" verify receipt.json --allow-simulated --root sim --kms-root "$PUB") || fail "valid receipt: $out"
for c in format payload-hash payload-signature quote-chain report-data rtmr3-replay kms-certificate \
         gate-approvals output-contract; do
  grep -q "✓ $c " <<<"$out" || fail "no ✓ line for $c: $out"
done
[ "$(grep -c '✓' <<<"$out")" -eq 9 ] || fail "nine ✓: $out"
grep -q "^VALID (SIMULATED TEE" <<<"$out" || fail "verdict: $out"
grep -q "NOT re-read (no --gate)" <<<"$out" || fail "snapshot not re-read is said: $out"

# an independent Python implementation of the hash, signature, REPORTDATA, RTMR3 and certificate
# checks agrees, and refuses the tampered copies below
$PY "$SR_SOURCE_DIR/tests/interop/receipt/independent_check.py" receipt.json "$PUB" >/dev/null \
  || fail "independent check of the valid receipt"

# --kms-root as a file
"$S" verify receipt.json --allow-simulated --root sim --kms-root kms/root.pub >/dev/null || fail "--kms-root FILE"

# --json
"$S" verify receipt.json --allow-simulated --root sim/root.pem --kms-root "$PUB" --json > report.json \
  || fail "--json exit"
$PY - <<'PY' || fail "json report"
import json
r = json.load(open("report.json"))
assert r["valid"] is True and r["tee"] == "simulated", r
assert [c["name"] for c in r["checks"]] == ["format", "payload-hash", "payload-signature", "quote-chain",
    "report-data", "rtmr3-replay", "kms-certificate", "gate-approvals", "output-contract"], r
assert all(c["ok"] is True for c in r["checks"]), r
PY

# no --allow-simulated / only the Intel root: quote-chain fails, exit 1
set +e
out=$("$S" verify receipt.json --root sim --kms-root "$PUB"); rc=$?
[ $rc -eq 1 ] && grep -q "✗ quote-chain" <<<"$out" && grep -q "^INVALID: quote-chain failed (the receipt claims a SIMULATED TEE" <<<"$out" \
  || fail "without --allow-simulated: rc $rc $out"
out=$("$S" verify receipt.json --allow-simulated --kms-root "$PUB"); rc=$?
[ $rc -eq 1 ] && grep -q "✗ quote-chain" <<<"$out" || fail "Intel root only: rc $rc $out"
# a wrong KMS root
OTHER=$("$S" kms init --dir kms-other)
out=$("$S" verify receipt.json --allow-simulated --root sim --kms-root "$OTHER"); rc=$?
[ $rc -eq 1 ] && grep -q "✗ kms-certificate" <<<"$out" || fail "wrong KMS root: rc $rc $out"
set -e

# tampering with the payload, the nonce, the event log
$PY - <<'PY'
import json
r = json.load(open("receipt.json"))
p = json.loads(r["payload"]); p["outputs"]["patients"]["value"] += 1
t = dict(r); t["payload"] = json.dumps(p, sort_keys=True, separators=(",", ":")); json.dump(t, open("t_payload.json", "w"))
t = dict(r); n = r["kms_nonce"]; t["kms_nonce"] = ("1" if n[0] != "1" else "2") + n[1:]; json.dump(t, open("t_nonce.json", "w"))
t = dict(r)
lines = r["event_log"].splitlines(); lines[0] = lines[0].replace("compose-hash", "compose-hasH"); t["event_log"] = "\n".join(lines) + "\n"
json.dump(t, open("t_log.json", "w"))
PY
for t in payload:payload-hash nonce:report-data log:rtmr3-replay; do
  f=t_${t%%:*}.json; c=${t#*:}
  set +e; out=$("$S" verify "$f" --allow-simulated --root sim --kms-root "$PUB"); rc=$?; set -e
  [ $rc -eq 1 ] && grep -q "✗ $c" <<<"$out" && grep -q "^INVALID: $c failed" <<<"$out" || fail "tampered $f: rc $rc $out"
  if $PY "$SR_SOURCE_DIR/tests/interop/receipt/independent_check.py" "$f" "$PUB" >/dev/null 2>&1; then
    fail "the independent check accepted $f"
  fi
done

# --gate: approvals and the KMS root re-read from the ledger; a later revocation does not
# invalidate a receipt whose snapshot predates it
out=$("$S" verify receipt.json --allow-simulated --root sim --gate "$GATE") || fail "--gate: $out"
grep -q "re-read from the ledger: 2 approvals" <<<"$out" || fail "--gate detail: $out"
"$S" revoke --gate "$GATE" --recipe recipe.json --key c.key >/dev/null || fail "revoke"
out=$("$S" verify receipt.json --allow-simulated --root sim --gate "$GATE" --kms-root "$PUB") \
  || fail "receipt made before the revocation: $out"
echo "verify CLI: ok"
