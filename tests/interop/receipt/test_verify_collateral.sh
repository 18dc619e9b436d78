#!/usr/bin/env bash
# `sealroom verify --collateral FILE [--now TIME]` on the real dcap-qvl TDX quote wrapped in a
# receipt (sr_receipt_tool wrap-quote): the quote-chain line reports the TCB status and applies
# the KMS's TCB policy. Such a receipt is never valid (its quote binds another key, so
# report-data fails); what is checked here is the quote-chain link, the reported status, the
# warning and the exit codes.
set -uo pipefail
S="$SEALROOM"
T="$SR_BUILD_DIR/tests/sr_receipt_tool"
D="$SR_TESTDATA/tdx"
COL="$D/v4_dcapqvl.collateral.json"
IN=2025-07-01T00:00:00Z    # inside the collateral's window (2025-06-19 .. 2025-07-19)
LATE=2025-08-01T00:00:00Z  # after the TCB info's nextUpdate
PY=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qF -- "$2" <<<"$1" || fail "$3: no '$2' in: $1"; }

"$T" wrap-quote "$D/v4_dcapqvl.quote" receipt.json || fail "wrap-quote"

# --help documents the options
help=$("$S" verify --help) || fail "--help exit"
has "$help" "--collateral FILE" "help"
has "$help" "--now TIME" "help"
has "$help" "ConfigurationAndSWHardeningNeeded pass with a WARNING" "help"

# without --collateral: as before, NotEvaluated
out=$("$S" verify receipt.json --now $IN); rc=$?
[ $rc -eq 1 ] || fail "a wrapped quote's receipt is invalid (rc $rc)"
has "$out" '✓ quote-chain        TDX quote v4 rooted at "Intel SGX Root CA", TCB NotEvaluated (no --collateral)' "no collateral"
has "$out" "INVALID: report-data failed" "no collateral"

# with Intel's collateral inside its window: UpToDate, quote-chain passes
out=$("$S" verify receipt.json --collateral "$COL" --now $IN); rc=$?
[ $rc -eq 1 ] || fail "rc $rc"
has "$out" '✓ quote-chain        TDX quote v4 rooted at "Intel SGX Root CA", TCB UpToDate' "uptodate"
has "$out" "INVALID: report-data failed" "uptodate"
grep -q WARNING <<<"$out" && fail "UpToDate gives no warning: $out"
# --now as Unix seconds (2025-07-01T00:00:00Z)
out=$("$S" verify receipt.json --collateral "$COL" --now 1751328000)
has "$out" "TCB UpToDate" "unix --now"
"$S" verify receipt.json --collateral "$COL" --now $IN --json > up.json; [ $? -eq 1 ] || fail "--json rc"
$PY - <<'PY' || fail "json uptodate"
import json
r = json.load(open("up.json"))
assert r["valid"] is False and r["tee"] == "tdx", r
assert r["tcb_status"] == "UpToDate" and r["warnings"] == [] and r["advisory_ids"] == [], r
q = [c for c in r["checks"] if c["name"] == "quote-chain"][0]
assert q["ok"] is True and "TCB UpToDate" in q["detail"], q
PY

# after nextUpdate: the expired collateral fails quote-chain, named
out=$("$S" verify receipt.json --collateral "$COL" --now $LATE); rc=$?
[ $rc -eq 1 ] || fail "expired rc $rc"
has "$out" "✗ quote-chain        collateral expired: TCB info nextUpdate 2025-07-19T10:16:03Z is before now 2025-08-01T00:00:00Z" "expired"
has "$out" "INVALID: quote-chain failed" "expired"
out=$("$S" verify receipt.json --now $LATE)
has "$out" "✓ quote-chain" "the same time without collateral"
"$S" verify receipt.json --collateral "$COL" --now $LATE --json > late.json
$PY - <<'PY' || fail "json expired"
import json
r = json.load(open("late.json"))
assert r["tcb_status"] is None and r["tee"] == "unknown", r
q = [c for c in r["checks"] if c["name"] == "quote-chain"][0]
assert q["ok"] is False and q["detail"].startswith("collateral expired"), q
PY

# badly signed: one character of the signed TCB info changed
$PY - "$COL" <<'PY' || fail "edit collateral"
import json, sys
c = json.load(open(sys.argv[1]))
c["tcb_info"] = c["tcb_info"].replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18', 1)
json.dump(c, open("edited.json", "w"))
PY
out=$("$S" verify receipt.json --collateral edited.json --now $IN)
has "$out" "✗ quote-chain        TCB info signature does not verify" "edited"

# statuses from TCB info re-signed by a TEST signer pinned next to the Intel root
ROOTS=(--root "$D/intel_sgx_root_ca.pem" --root signer.pem)
"$T" resign-tcb "$COL" '"tcbStatus":"SWHardeningNeeded","advisoryIDs":["INTEL-SA-00615"]' sw.json signer.pem \
  || fail "resign"
out=$("$S" verify receipt.json --collateral sw.json --now $IN "${ROOTS[@]}")
has "$out" "✓ quote-chain" "swhardening"
has "$out" "TCB SWHardeningNeeded (accepted with a WARNING: INTEL-SA-00615)" "swhardening"
has "$out" "WARNING: TCB status SWHardeningNeeded: " "swhardening"
"$S" verify receipt.json --collateral sw.json --now $IN "${ROOTS[@]}" --json > sw-report.json
$PY - <<'PY' || fail "json swhardening"
import json
r = json.load(open("sw-report.json"))
assert r["tcb_status"] == "SWHardeningNeeded" and r["advisory_ids"] == ["INTEL-SA-00615"], r
assert len(r["warnings"]) == 1 and "SWHardeningNeeded" in r["warnings"][0], r
PY
# the test signer not pinned: its TCB info is refused
out=$("$S" verify receipt.json --collateral sw.json --now $IN)
has "$out" "✗ quote-chain        TCB info issuer chain: chain does not verify to a pinned root" "unpinned"

for st in OutOfDate OutOfDateConfigurationNeeded Revoked; do
  "$T" resign-tcb "$COL" "\"tcbStatus\":\"$st\"" bad.json signer.pem || fail "resign $st"
  out=$("$S" verify receipt.json --collateral bad.json --now $IN "${ROOTS[@]}"); rc=$?
  [ $rc -eq 1 ] || fail "$st rc $rc"
  has "$out" "✗ quote-chain        TCB status is $st" "$st"
  has "$out" "INVALID: quote-chain failed" "$st"
done

# usage and input errors
"$S" verify receipt.json --now yesterday >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --now: exit 2"
"$S" verify receipt.json --collateral >/dev/null 2>&1; [ $? -eq 2 ] || fail "--collateral without a value: exit 2"
err=$("$S" verify receipt.json --collateral missing.json 2>&1); [ $? -eq 1 ] || fail "missing collateral: exit 1"
has "$err" "--collateral" "missing collateral"
echo "ok"
