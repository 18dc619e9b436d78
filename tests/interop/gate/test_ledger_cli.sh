#!/usr/bin/env bash
# The gate CLI on the ledger backend: help and usage exit codes, create's
# output, recipe/app binding, JSON shapes, and concurrent CLI writers.
set -euo pipefail
SEALROOM=${SEALROOM:?}
PY=/usr/bin/python3
work=$(mktemp -d "$PWD/cli.XXXXXX")
cd "$work"
trap 'rc=$?; if [[ $rc -eq 0 ]]; then rm -rf "$work"; fi; exit $rc' EXIT

fails=0
checks=0
check() { # check WHAT CONDITION-COMMAND...
    local what=$1
    shift
    checks=$((checks + 1))
    if ! "$@"; then fails=$((fails + 1)); echo "FAIL: $what" >&2; fi
}
rc_of() { local rc=0; "$@" >out.txt 2>err.txt || rc=$?; echo $rc; }
jfield() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ---- help and usage ---------------------------------------------------------
for c in "consortium create" "consortium list" "consortium info" "consortium change-owners" approve revoke freeze status; do
    # shellcheck disable=SC2086
    check "$c --help exits 0" [ "$(rc_of "$SEALROOM" $c --help)" = 0 ]
    check "$c --help prints usage" grep -q "Usage: sealroom" out.txt
done
check "consortium without a sub-command: 2" [ "$(rc_of "$SEALROOM" consortium)" = 2 ]
check "unknown sub-command: 2" [ "$(rc_of "$SEALROOM" consortium frobnicate)" = 2 ]
check "approve without --gate: 2" [ "$(rc_of "$SEALROOM" approve --compose-hash 00 --key x)" = 2 ]
check "approve with both --key and --signature: 2" \
    [ "$(rc_of "$SEALROOM" approve --gate ledger:x --compose-hash 00 --key k --signature 0x00 --signer 0x00)" = 2 ]
check "status with no target: 2" [ "$(rc_of "$SEALROOM" status --gate ledger:x)" = 2 ]
check "create with threshold > n: 2" [ "$(rc_of "$SEALROOM" consortium create --name n --owner \
    a=0x1111111111111111111111111111111111111111 --threshold 2 --kms-pubkey 02 --gate ledger:x.db --key k)" = 2 ]
check "create with a bad owner: 2" [ "$(rc_of "$SEALROOM" consortium create --name n --owner a=0x11 \
    --threshold 1 --kms-pubkey 02 --gate ledger:x.db --key k)" = 2 ]
check "a missing ledger: 1" [ "$(rc_of "$SEALROOM" status --gate ledger:missing.db --compose-hash \
    "$(printf '00%.0s' $(seq 1 32))")" = 1 ]
check "bad spec: 1" [ "$(rc_of "$SEALROOM" status --gate nope:x --compose-hash "$(printf '00%.0s' $(seq 1 32))")" = 1 ]

# ---- create -------------------------------------------------------------------
for k in a b c; do "$SEALROOM" keygen --out $k.key --json >$k.json; done
A=$(jfield a.json 'j["address"]')
B=$(jfield b.json 'j["address"]')
C=$(jfield c.json 'j["address"]')
"$SEALROOM" keygen --out kms.key --json >kms.json
KMS=$(jfield kms.json 'j["public_key"]')
echo "$KMS" >kms.pub
check "create: --kms-pubkey not a point: 2" [ "$(rc_of "$SEALROOM" consortium create --name x --owner "a=$A" \
    --threshold 1 --kms-pubkey "02$(printf 'ff%.0s' $(seq 1 32))" --gate "ledger:$PWD/bad.db" --key a.key)" = 2 ]
check "create: --kms-pubkey wrong length: 2" [ "$(rc_of "$SEALROOM" consortium create --name x --owner "a=$A" \
    --threshold 1 --kms-pubkey 02abcd --gate "ledger:$PWD/bad.db" --key a.key)" = 2 ]
check "no ledger left behind" [ ! -e bad.db ]
"$SEALROOM" consortium create --name "from file" --owner "a=$A" --threshold 1 --kms-pubkey kms.pub \
    --gate "ledger:$PWD/f.db" --key a.key >/dev/null
"$SEALROOM" consortium info --gate "ledger:$PWD/f.db" --json >finfo.json
check "--kms-pubkey FILE" [ "$(jfield finfo.json 'j["kms_pubkey"]')" = "0x$KMS" ]
"$SEALROOM" consortium create --name "cli test" --owner "a=$A:US:hipaa" --owner "b=$B:EU:GDPR" --owner "c=$C" \
    --threshold 2 --kms-pubkey "$KMS" --gate "ledger:$PWD/g.db" --key a.key --chain-id 4242 >app.txt
check "create prints 0x+40 hex" grep -Eqx '0x[0-9a-fA-F]{40}' app.txt
APP=$(cat app.txt)
check "create refuses an existing ledger" [ "$(rc_of "$SEALROOM" consortium create --name x --owner "a=$A" \
    --threshold 1 --kms-pubkey "$KMS" --gate "ledger:$PWD/g.db" --key a.key)" = 1 ]
check "existing ledger untouched" [ "$(rc_of "$SEALROOM" consortium info --gate "ledger:$PWD/g.db")" = 0 ]
"$SEALROOM" consortium info --gate "ledger:$PWD/g.db" --json >info.json
check "info app" [ "$(jfield info.json 'j["app"]')" = "$APP" ]
check "info chain id" [ "$(jfield info.json 'j["chain_id"]')" = 4242 ]
check "grades canonical" [ "$(jfield info.json 'j["owners"][0]["grades"]')" = HIPAA ]
check "kms key" [ "$(jfield info.json 'j["kms_pubkey"]')" = "0x$KMS" ]
check "ledger file has no secrets" bash -c "! grep -aq \"$(head -c 64 a.key)\" g.db"

# ---- recipe binding -------------------------------------------------------------
mk_recipe() { # mk_recipe FILE APP
    cat >"$1" <<EOF
{"version": 1,
 "consortium": {"name": "cli test", "app_id": "$2",
   "owners": [{"id": "a", "address": "$A"}, {"id": "b", "address": "$B"}, {"id": "c", "address": "$C"}]},
 "datasets": {"b": {"schema": [{"name": "x", "type": "int"}]}}}
EOF
}
mk_recipe r.json "$APP"
mk_recipe other.json 0x1234567890123456789012345678901234567890
check "approve refuses a recipe for another app" [ "$(rc_of "$SEALROOM" approve --gate "ledger:$PWD/g.db" \
    --recipe other.json --key a.key)" = 1 ]
check "... saying so" grep -q "names app" err.txt
"$SEALROOM" status --gate "ledger:$PWD/g.db" --recipe other.json --json >st.json
check "status of another app's recipe: not allowed" [ "$(jfield st.json 'j["allowed"]')" = False ]
"$SEALROOM" approve --gate "ledger:$PWD/g.db" --recipe r.json --key a.key --json >st.json
check "approve --json" [ "$(jfield st.json 'j["reason"]')" = "not approved: 1/3 (k=2), missing b" ]
"$SEALROOM" approve --gate "ledger:$PWD/g.db" --recipe r.json --key c.key >out.txt
check "approve text summary" grep -q "not approved: 2/3 (k=2), missing b" out.txt
"$SEALROOM" status --gate "ledger:$PWD/g.db" --recipe r.json >out.txt
check "status text" grep -q "allowed:      no" out.txt
"$SEALROOM" approve --gate "ledger:$PWD/g.db" --recipe r.json --key b.key >/dev/null
"$SEALROOM" status --gate "ledger:$PWD/g.db" --recipe r.json --json >st.json
check "allowed" [ "$(jfield st.json 'j["allowed"]')" = True ]
check "snapshot = seq" [ "$(jfield st.json 'j["snapshot"]')" = 4 ]
check "pos unit" [ "$(jfield st.json 'j["pos_unit"]')" = seq ]
head=$(sqlite3 g.db 'SELECT entry_hash FROM entries WHERE seq = 4')
check "head_hash = the last entry's hash" [ "$(jfield st.json 'j["head_hash"]')" = "0x$head" ]
"$SEALROOM" status --gate "ledger:$PWD/g.db" --recipe r.json >out.txt
check "status text: ledger head" grep -q "^ledger head:  seq 4, entry hash 0x$head\$" out.txt
H=$(sha256sum r.json | cut -c1-64)
check "compose hash = sha256(file)" [ "$(jfield st.json 'j["compose_hash"]')" = "0x$H" ]
"$SEALROOM" status --gate "ledger:$PWD/g.db" --compose-hash "$H" --require b --json >st2.json
check "--compose-hash + --require = --recipe" [ "$(jfield st2.json 'j["reason"]')" = "$(jfield st.json 'j["reason"]')" ]

# ---- log ---------------------------------------------------------------------------
"$SEALROOM" consortium log --gate "ledger:$PWD/g.db" --json >log.json
check "log: 4 entries" [ "$(jfield log.json 'len(j)')" = 4 ]
check "log: kinds" [ "$(jfield log.json '",".join(e["kind"] for e in j)')" = "create,approve,approve,approve" ]
check "log: signer ids" [ "$(jfield log.json '",".join(e["signer_id"] for e in j)')" = ",a,c,b" ]
check "log: compose hash" [ "$(jfield log.json 'j[3]["compose_hash"]')" = "0x$H" ]
"$SEALROOM" consortium log --gate "ledger:$PWD/g.db" >log.txt
check "log text" grep -Eq '^seq 4 +approve +b ' log.txt
check "log --help" [ "$(rc_of "$SEALROOM" consortium log --help)" = 0 ]

# ---- concurrent CLI writers: 8 processes x 5 approvals ------------------------------
pids=()
for p in $(seq 1 8); do
    (
        for i in $(seq 1 5); do
            "$SEALROOM" approve --gate "ledger:$PWD/g.db" --compose-hash "$(printf '%060x%04x' "$p" "$i")" \
                --key "$([ $((p % 2)) = 0 ] && echo a || echo c).key" >/dev/null
        done
    ) &
    pids+=($!)
done
allok=1
for pid in "${pids[@]}"; do wait "$pid" || allok=0; done
check "all concurrent CLI approvals succeeded" [ $allok = 1 ]
"$SEALROOM" status --gate "ledger:$PWD/g.db" --compose-hash "$H" --json >st.json
check "44 entries after 40 concurrent approvals" [ "$(jfield st.json 'j["snapshot"]')" = 44 ]
missing=0
for p in $(seq 1 8); do
    for i in $(seq 1 5); do
        "$SEALROOM" status --gate "ledger:$PWD/g.db" --compose-hash "$(printf '%060x%04x' "$p" "$i")" --json >s.json
        [ "$(jfield s.json 'j["approvals"]')" = 1 ] || missing=$((missing + 1))
    done
done
check "every concurrent approval present" [ $missing = 0 ]

echo "$checks checks, $fails failed"
[[ $fails -eq 0 ]]
