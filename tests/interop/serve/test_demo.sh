#!/usr/bin/env bash
# `make demo` at a small scale (scripts/demo.sh, DEMO_SCALE=0.002) in the scratch folder,
# with this build's CLI: the nine steps run in order, the generators are deterministic,
# the receipt is kept in a file named *receipt*, the verify command the demo prints passes
# when an auditor runs it (and fails on a tampered copy), the run after the revocation is
# refused naming the revoking owner, the KMS released keys once, no sanitizer report, and
# the demo's KMS and service no longer answer afterwards.
set -euo pipefail
rm -rf ./* 2>/dev/null || true
fail() { echo "FAIL: $*" >&2; exit 1; }

set +e
SEALROOM=$SEALROOM DEMO_OUT=$PWD/out DEMO_SCALE=0.002 DEMO_GATE=ledger \
  "$SR_SOURCE_DIR/scripts/demo.sh" >demo.log 2>demo.err
rc=$?
set -e
[ $rc -eq 0 ] || { cat demo.log demo.err >&2; fail "demo exited $rc"; }
grep -q $'\033' demo.log && fail "escape sequences written to a non-terminal"

# the nine steps, in order
steps=$(grep -oE '^[0-9]/9 ' demo.log | tr -d ' ' | tr '\n' ' ')
[ "$steps" = "1/9 2/9 3/9 4/9 5/9 6/9 7/9 8/9 9/9 " ] || fail "steps: $steps"
grep -q "5 of 5 owners approved (k = 5)" demo.log || fail "5/5 approvals not shown"
grep -q "epsilon spent 1.5 of 1.5" demo.log || fail "epsilon 1.5 not shown"
grep -q "got 5 dataset keys" demo.log || fail "the five datasets were not keyed"
for f in hospital-a hospital-b bank-c research-d lab-e; do
  [ -s "out/owners/$f/sealed.tar" ] || fail "no sealed archive for $f"
done
# Bank C at scale 0.002: 24000 transactions (+ header)
[ "$(wc -l <out/owners/bank-c/data.csv)" -eq 24001 ] || fail "bank-c rows: $(wc -l <out/owners/bank-c/data.csv)"
# Hospital B's patients are a subset of Hospital A's (the join key)
/usr/bin/python3 - out/owners/hospital-a/data.csv out/owners/hospital-b/data.csv <<'PY' || fail "silos"
import csv, sys
a = {r["patient_key"] for r in csv.DictReader(open(sys.argv[1]))}
b = [r["patient_key"] for r in csv.DictReader(open(sys.argv[2]))]
assert len(a) == 1640 and len(b) == 820 and len(set(b)) == 820, (len(a), len(b))
assert set(b) <= a
PY

# the generators are deterministic: the same arguments give the same bytes
out/gen_silos ehr 1640 20261124 again.csv && cmp -s again.csv out/owners/hospital-a/data.csv \
  || fail "gen_silos is not deterministic"
out/gen_silos ehr 1640 20261125 other.csv && ! cmp -s other.csv again.csv || fail "the seed changes nothing"

# the receipt file and the printed auditor command
receipt=$(sed -n 's/^Receipt: //p' demo.log)
[ -n "$receipt" ] || fail "no receipt path printed"
case $(basename "$receipt") in *receipt*) ;; *) fail "receipt file name: $receipt" ;; esac
[ -s "$receipt" ] || fail "receipt file $receipt missing"
/usr/bin/python3 - "$receipt" <<'PY' || fail "receipt content"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["format"] == "sealroom-receipt" and r["tee"] == "simulated"
p = json.loads(r["payload"])
assert set(p["outputs"]) == {"cohort_by_sex_and_age", "mean_egfr_by_diabetes", "cardio_risk_model",
                             "event_free_survival"}, p["outputs"].keys()
assert abs(p["privacy"]["epsilon_spent"] - 1.5) < 1e-9, p["privacy"]
st = json.loads(r["statement"])
assert sorted(i["owner_id"] for i in st["inputs"]) == ["bank-c", "hospital-a", "hospital-b", "lab-e", "research-d"]
assert len(st["gate"]["approvers"]) == 5
PY
cmd=$(grep -A1 '^An auditor checks it with:' demo.log | tail -n1 | sed 's/^  //')
case $cmd in "$SEALROOM verify $receipt "*--gate\ ledger:*--allow-simulated*) ;; *) fail "verify command: $cmd" ;; esac
read -r -a argv <<<"$cmd"
"${argv[@]}" >verify.out 2>&1 || { cat verify.out >&2; fail "the printed verify command failed"; }
grep -q "^VALID" verify.out || fail "verify output: $(cat verify.out)"
[ "$(grep -c '✓' verify.out)" -eq 9 ] || fail "nine checks expected: $(cat verify.out)"
# the same command on a tampered copy (one output value changed) fails
/usr/bin/python3 - "$receipt" tampered_receipt.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = json.loads(r["payload"])
p["privacy"]["epsilon_spent"] = 0.5
r["payload"] = json.dumps(p, separators=(",", ":"), sort_keys=True)
json.dump(r, open(sys.argv[2], "w"))
PY
argv[2]=tampered_receipt.json
set +e; "${argv[@]}" >verify_bad.out 2>&1; vrc=$?; set -e
[ $vrc -eq 1 ] && grep -q "✗ payload-hash" verify_bad.out || fail "tampered receipt: rc $vrc $(cat verify_bad.out)"

# revocation: the next run refused with the revoking owner's name; no second key release
grep -q "^    run refused: revoked by research-d" demo.log || fail "refusal line: $(grep -i refused demo.log)"
grep -q "revoked by research-d" out/logs/run2.log || fail "run 2 log"
[ ! -e out/receipt2.json ] || fail "a receipt was written for the refused run"
"$SEALROOM" kms audit --dir out/kms --json >audit.json
/usr/bin/python3 - audit.json <<'PY' || fail "KMS audit: $(cat audit.json)"
import json, sys
a = json.load(open(sys.argv[1]))
recs = a if isinstance(a, list) else a.get("records", a.get("entries"))
assert len(recs) == 1, recs
PY

# no sanitizer report from any tool or server (under the ASan build)
if grep -l -E "Sanitizer|runtime error:" out/logs/* demo.err 2>/dev/null; then fail "sanitizer report in the demo's logs"; fi

# every process the demo started is gone: its KMS and service no longer answer
for u in $(grep -oE 'http://127\.0\.0\.1:[0-9]+' demo.log | sort -u); do
  if curl -s -m 2 -o /dev/null "$u/"; then fail "$u still answers after the demo"; fi
done
echo "demo: ok"
