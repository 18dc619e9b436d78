#!/usr/bin/env bash
# sealroom quote: exit codes, hex input, collateral window, simulated TEE policy.
set -u
S="$SEALROOM"
T="$SR_TESTDATA/tdx"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
expect() { # expect CODE DESCRIPTION -- command...
    local want=$1 what=$2
    shift 3
    "$@" >out.txt 2>err.txt
    local got=$?
    if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else bad "$what: exit $got, want $want"; cat out.txt err.txt; fi
}

expect 0 "quote --help" -- "$S" quote --help
grep -q "allow-simulated" out.txt || bad "help lacks --allow-simulated"
expect 0 "quote verify --help" -- "$S" quote verify --help
expect 2 "no sub-command" -- "$S" quote
expect 2 "unknown option" -- "$S" quote verify "$T/v4_dstack.quote" --bogus
expect 2 "bad --now" -- "$S" quote verify "$T/v4_dstack.quote" --now yesterday
expect 1 "missing file" -- "$S" quote verify nonexistent.quote

expect 0 "v4 quote" -- "$S" quote verify "$T/v4_dstack.quote" --now 2026-02-01T00:00:00Z
grep -q "^verdict  *valid" out.txt || bad "text verdict line"
grep -q "^rtmr3 " out.txt || bad "text output lacks rtmr3"
# hex input, with and without 0x
od -An -v -tx1 "$T/v4_dstack.quote" | tr -d ' \n' > q.hex
expect 0 "hex quote" -- "$S" quote verify q.hex --now 2026-02-01T00:00:00Z
{ printf '0x'; cat q.hex; echo; } > q0x.hex
expect 0 "0x hex quote" -- "$S" quote verify q0x.hex --now 2026-02-01T00:00:00Z
expect 0 "quote show" -- "$S" quote show "$T/v5_tdx15.quote" --json
grep -q '"body_type": 3' out.txt || bad "show --json body_type"

# collateral: inside and outside its window
expect 0 "collateral in window" -- "$S" quote verify "$T/v4_dcapqvl.quote" --collateral "$T/v4_dcapqvl.collateral.json" --now 2025-07-01T00:00:00Z --json
grep -q '"tcb_status": "UpToDate"' out.txt || bad "tcb status UpToDate"
expect 1 "collateral expired" -- "$S" quote verify "$T/v4_dcapqvl.quote" --collateral "$T/v4_dcapqvl.collateral.json" --now 2025-08-01T00:00:00Z
grep -q "collateral expired" err.txt || bad "no 'collateral expired' message"

# synthetic: only with its test root
expect 1 "synthetic vs Intel root" -- "$S" quote verify "$T/synthetic_intel_test.quote"
expect 0 "synthetic vs test root" -- "$S" quote verify "$T/synthetic_intel_test.quote" --root "$T/synthetic_intel_test_root.pem"

# simulated TEE
rm -rf sim
expect 0 "sim-init" -- "$S" quote sim-init sim
expect 1 "sim-init twice" -- "$S" quote sim-init sim
H=$(printf 'recipe' | sha256sum | cut -d' ' -f1)
expect 0 "sim-extend" -- "$S" quote sim-extend sim --event compose-hash --payload "$H"
expect 0 "sim-quote" -- "$S" quote sim-quote sim --report-data 00112233 -o sim.quote
"$S" quote sim-root sim > simroot.pem
"$S" quote sim-log sim > sim.jsonl
expect 0 "sim quote with its root + --allow-simulated" -- "$S" quote verify sim.quote --root simroot.pem --allow-simulated --event-log sim.jsonl
grep -q "^verdict  *simulated" out.txt || bad "verdict says simulated"
grep -q "^compose_hash  *$H" out.txt || bad "compose hash from the event log"
expect 1 "sim quote without --allow-simulated" -- "$S" quote verify sim.quote --root simroot.pem
grep -q "simulated" err.txt || bad "refusal names the simulated TEE"
expect 1 "sim quote with the Intel root" -- "$S" quote verify sim.quote --allow-simulated
echo '{"imr":3,"event":"compose-hash","payload":"00","digest":"00"}' > wrong.jsonl
expect 1 "wrong event log" -- "$S" quote verify sim.quote --root simroot.pem --allow-simulated --event-log wrong.jsonl
expect 0 "sim-quote --hex" -- "$S" quote sim-quote sim --report-data 0x01 --hex -o simq.hex
expect 0 "hex sim quote" -- "$S" quote verify simq.hex --root simroot.pem --allow-simulated

# TDX backend: no configfs-tsm here
expect 1 "tdx-quote off a TDX guest" -- "$S" quote tdx-quote --report-data 00 --configfs ./no-configfs
grep -q "not a TDX guest" err.txt || bad "tdx-quote says why"
expect 2 "tdx-quote without --report-data" -- "$S" quote tdx-quote
expect 2 "tdx-extend without --event" -- "$S" quote tdx-extend --payload 00

if [ "$fails" -ne 0 ]; then echo "$fails failures"; exit 1; fi
echo "all CLI checks passed"
