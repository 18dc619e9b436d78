#!/usr/bin/env bash
# The gate semantics suite: the same checks on every backend, through the CLI.
#
#   GATE_SPEC          where to create consortia: "ledger" (default: ledger files
#                      in the current folder) or "evm:RPC_URL" (each consortium
#                      is a freshly deployed ConsortiumApp)
#   GATE_DEPLOYER_KEY  key file that creates consortia (default: a new key;
#                      evm: must be funded)
#   GATE_SENDER_KEY    if set, passed as --sender-key to every write (evm: a
#                      funded key that carries the owners' signatures)
#
# evm helper: run it against anvil as
#   GATE_SPEC=evm:http://127.0.0.1:PORT GATE_DEPLOYER_KEY=funded.key \
#   GATE_SENDER_KEY=funded.key bash tests/interop/gate/test_semantics.sh
# (positions are "block N" there instead of "seq N"; the ledger-only part,
# file tampering, is skipped).
set -euo pipefail

SEALROOM=${SEALROOM:?SEALROOM must point at the sealroom CLI}
PY=/usr/bin/python3
GATE_SPEC=${GATE_SPEC:-ledger}
BACKEND=${GATE_SPEC%%:*}
NODE_PATH=${NODE_PATH:-${SR_SOURCE_DIR:-.}/tests/node/node_modules}
export NODE_PATH

fails=0
checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }

# expect_fail PATTERN CMD...: the command must exit 1 and say PATTERN on stderr.
expect_fail() {
    local pat=$1
    shift
    local rc=0
    "$@" >out.txt 2>err.txt || rc=$?
    if [[ $rc -ne 1 ]]; then
        bad "expected exit 1 from: $* (got $rc): $(cat err.txt)"
    elif ! grep -Eq -- "$pat" err.txt; then
        bad "expected /$pat/ from: $*: got: $(cat err.txt)"
    else
        ok
    fi
}

# jfield FILE PYEXPR: evaluates a Python expression over the JSON in FILE (j).
jfield() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# expect_eq WHAT GOT WANT
expect_eq() {
    if [[ "$2" == "$3" ]]; then ok; else bad "$1: got '$2', want '$3'"; fi
}
# expect_re WHAT GOT REGEX
expect_re() {
    if [[ "$2" =~ $3 ]]; then ok; else bad "$1: '$2' does not match /$3/"; fi
}

# a fresh folder for every run (the scratch folder is kept between runs)
work=$(mktemp -d "$PWD/semantics.XXXXXX")
cd "$work"
trap 'rc=$?; if [[ $rc -eq 0 ]]; then rm -rf "$work"; fi; exit $rc' EXIT

sender=()
if [[ -n "${GATE_SENDER_KEY:-}" ]]; then sender=(--sender-key "$GATE_SENDER_KEY"); fi

# ---- keys --------------------------------------------------------------
for k in A B C D E; do
    "$SEALROOM" keygen --out "$k.key" --json >"$k.addr.json"
    declare "ADDR_$k=$(jfield "$k.addr.json" 'j["address"]')"
done
DEPLOYER=${GATE_DEPLOYER_KEY:-}
if [[ -z "$DEPLOYER" ]]; then
    "$SEALROOM" keygen --out deployer.key >/dev/null
    DEPLOYER=deployer.key
fi
"$SEALROOM" keygen --out kms.key --json >kms.json
KMS=$(jfield kms.json 'j["public_key"]')

# create NAME K OWNERSPEC... -> prints the gate spec to open it with (runs in
# a subshell: the ledger file is named after the consortium)
create() {
    local name=$1 k=$2
    shift 2
    local spec
    if [[ $BACKEND == ledger ]]; then spec="ledger:$PWD/${name// /-}.db"; else spec=$GATE_SPEC; fi
    local args=()
    for o in "$@"; do args+=(--owner "$o"); done
    "$SEALROOM" consortium create --name "$name" "${args[@]}" --threshold "$k" --kms-pubkey "$KMS" \
        --gate "$spec" --key "$DEPLOYER" --json >create.json
    jfield create.json 'j["gate"]'
}

OWNERS=("hospital-A=$ADDR_A:US:HIPAA" "hospital-B=$ADDR_B:US:HIPAA" "bank-C=$ADDR_C:EU:GDPR,PCI" "lab-D=$ADDR_D:EU:GDPR")
G1=$(create "consortium one" 3 "${OWNERS[@]}")
APP1=$(jfield create.json 'j["app"]')
expect_re "app id" "$APP1" '^0x[0-9a-fA-F]{40}$'

status() { "$SEALROOM" status --gate "$1" "${@:2}" --json >st.json; }

# ---- recipe-bound checks -------------------------------------------------
cat >recipe.json <<EOF
{
  "version": 1,
  "consortium": {
    "name": "consortium one",
    "app_id": "$APP1",
    "owners": [
      {"id": "hospital-A", "address": "$ADDR_A"},
      {"id": "hospital-B", "address": "$ADDR_B"},
      {"id": "bank-C", "address": "$ADDR_C"},
      {"id": "lab-D", "address": "$ADDR_D"}
    ]
  },
  "datasets": {
    "hospital-A": {"schema": [{"name": "age", "type": "int"}]},
    "lab-D": {"schema": [{"name": "marker", "type": "float"}]}
  }
}
EOF
status "$G1" --recipe recipe.json
expect_eq "fresh: allowed" "$(jfield st.json 'j["allowed"]')" False
expect_eq "fresh: reason" "$(jfield st.json 'j["reason"]')" "not approved: 0/4 (k=3), missing hospital-A,lab-D"
for k in A B C; do
    "$SEALROOM" approve --gate "$G1" --recipe recipe.json --key "$k.key" "${sender[@]}" >/dev/null
done
status "$G1" --recipe recipe.json
expect_eq "3/4 but dataset owner missing" "$(jfield st.json 'j["reason"]')" "not approved: 3/4 (k=3), missing lab-D"
expect_eq "3/4 allowed" "$(jfield st.json 'j["allowed"]')" False
# evm: the first CLI approval declared the recipe's dataset owners on chain,
# so the hash alone (no --require) is judged with them; the ledger has none
status "$G1" --compose-hash "$(jfield st.json 'j["compose_hash"]')"
if [[ $BACKEND == evm ]]; then
    expect_eq "declared on chain" "$(jfield st.json 'j["required_on_chain"]')" "['hospital-A', 'lab-D']"
    expect_eq "declared: reason" "$(jfield st.json 'j["reason"]')" "not approved: 3/4 (k=3), missing lab-D"
else
    expect_eq "ledger: nothing declared" "$(jfield st.json 'j["required_on_chain"]')" None
    expect_eq "ledger: hash alone" "$(jfield st.json 'j["reason"]')" "allowed: 3/4 approvals (k=3)"
fi
"$SEALROOM" approve --gate "$G1" --recipe recipe.json --key D.key "${sender[@]}" >/dev/null
status "$G1" --recipe recipe.json
expect_eq "all approved" "$(jfield st.json 'j["allowed"]')" True
expect_eq "all approved: reason" "$(jfield st.json 'j["reason"]')" "allowed: 4/4 approvals (k=3)"
expect_eq "approvals" "$(jfield st.json 'j["approvals"]')" 4

# ---- quorum exactly at k ----------------------------------------------------
H2=$(printf 'b2%.0s' $(seq 1 32))
"$SEALROOM" approve --gate "$G1" --compose-hash "$H2" --key A.key "${sender[@]}" >/dev/null
"$SEALROOM" approve --gate "$G1" --compose-hash "$H2" --key B.key "${sender[@]}" >/dev/null
status "$G1" --compose-hash "$H2"
expect_eq "k-1 approvals" "$(jfield st.json 'j["allowed"]')" False
expect_eq "k-1 reason" "$(jfield st.json 'j["reason"]')" "not approved: 2/4 (k=3)"
"$SEALROOM" approve --gate "$G1" --compose-hash "$H2" --key C.key "${sender[@]}" >/dev/null
status "$G1" --compose-hash "$H2"
expect_eq "k approvals" "$(jfield st.json 'j["allowed"]')" True
expect_eq "k reason" "$(jfield st.json 'j["reason"]')" "allowed: 3/4 approvals (k=3)"

# ---- rejections --------------------------------------------------------------
H3=$(printf 'c3%.0s' $(seq 1 32))
H4=$(printf 'd4%.0s' $(seq 1 32))
expect_fail "not an owner" "$SEALROOM" approve --gate "$G1" --compose-hash "$H3" --key E.key "${sender[@]}"
expect_fail "already approved" "$SEALROOM" approve --gate "$G1" --compose-hash "$H2" --key A.key "${sender[@]}"
status "$G1" --compose-hash "$H2"
expect_eq "double approval counted once" "$(jfield st.json 'j["approvals"]')" 3
# a signature for H3 replayed for H4
"$SEALROOM" approve --gate "$G1" --compose-hash "$H3" --key A.key --sign-only >sig.json
SIG=$(jfield sig.json 'j["signature"]')
expect_fail "signature|verify|signer" "$SEALROOM" approve --gate "$G1" --compose-hash "$H4" --signature "$SIG" \
    --signer "$ADDR_A" "${sender[@]}"
# ... claimed for another owner
expect_fail "signature|verify|signer" "$SEALROOM" approve --gate "$G1" --compose-hash "$H3" --signature "$SIG" \
    --signer "$ADDR_B" "${sender[@]}"
# the signature itself is good for H3
"$SEALROOM" approve --gate "$G1" --compose-hash "$H3" --signature "$SIG" --signer "$ADDR_A" "${sender[@]}" >/dev/null
ok
# a signature for another app (same owners)
G2=$(create "consortium two" 2 "${OWNERS[@]}")
"$SEALROOM" approve --gate "$G2" --compose-hash "$H4" --key B.key --sign-only >sig2.json
SIG2=$(jfield sig2.json 'j["signature"]')
expect_fail "signature|verify|signer" "$SEALROOM" approve --gate "$G1" --compose-hash "$H4" --signature "$SIG2" \
    --signer "$ADDR_B" "${sender[@]}"
# a signature for another chain id (same app): signed by ethers
CHAIN1=$(jfield sig.json 'j["chain_id"]')
SKB=$(head -c 64 B.key)
node -e '
const { ethers } = require("ethers");
const [sk, chain, app, h] = process.argv.slice(1);
const w = new ethers.Wallet("0x" + sk);
w.signTypedData({ name: "sealroom", version: "1", chainId: BigInt(chain) + 1n, verifyingContract: app },
  { Approve: [{ name: "composeHash", type: "bytes32" }] }, { composeHash: "0x" + h }).then((s) => console.log(s));
' "$SKB" "$CHAIN1" "$APP1" "$H4" >sig3.txt
expect_fail "signature|verify|signer" "$SEALROOM" approve --gate "$G1" --compose-hash "$H4" --signature "$(cat sig3.txt)" \
    --signer "$ADDR_B" "${sender[@]}"
status "$G1" --compose-hash "$H4"
expect_eq "no replay counted" "$(jfield st.json 'j["approvals"]')" 0

# ---- revoke ----------------------------------------------------------------------
"$SEALROOM" revoke --gate "$G1" --compose-hash "$H2" --key D.key "${sender[@]}" >/dev/null
status "$G1" --compose-hash "$H2"
expect_eq "revoked: allowed" "$(jfield st.json 'j["allowed"]')" False
expect_re "revoked: reason" "$(jfield st.json 'j["reason"]')" '^revoked by lab-D at (seq|block) [0-9]+$'
expect_eq "revoked_by" "$(jfield st.json 'j["revoked_by"]')" lab-D
expect_fail "revoked" "$SEALROOM" approve --gate "$G1" --compose-hash "$H2" --key D.key "${sender[@]}"
expect_fail "already revoked" "$SEALROOM" revoke --gate "$G1" --compose-hash "$H2" --key A.key "${sender[@]}"
expect_fail "not an owner" "$SEALROOM" revoke --gate "$G1" --compose-hash "$H3" --key E.key "${sender[@]}"
# the other hash is unaffected
status "$G1" --recipe recipe.json
expect_eq "other hash still allowed" "$(jfield st.json 'j["allowed"]')" True

# ---- owner and threshold changes need quorum --------------------------------------------
NEW=("${OWNERS[@]}" "clinic-E=$ADDR_E:UK:HIPAA")
chg=()
for o in "${NEW[@]}"; do chg+=(--owner "$o"); done
"$SEALROOM" consortium change-owners --gate "$G1" "${chg[@]}" --threshold 4 --key A.key "${sender[@]}" >/dev/null
"$SEALROOM" consortium change-owners --gate "$G1" "${chg[@]}" --threshold 4 --key B.key "${sender[@]}" >/dev/null
"$SEALROOM" consortium info --gate "$G1" --json >info.json
expect_eq "k-1 votes: owners unchanged" "$(jfield info.json 'j["n_owners"]')" 4
expect_eq "k-1 votes: threshold unchanged" "$(jfield info.json 'j["threshold"]')" 3
expect_fail "not an owner" "$SEALROOM" consortium change-owners --gate "$G1" "${chg[@]}" --threshold 4 --key E.key "${sender[@]}"
expect_fail "already voted" "$SEALROOM" consortium change-owners --gate "$G1" "${chg[@]}" --threshold 4 --key A.key "${sender[@]}"
"$SEALROOM" consortium change-owners --gate "$G1" "${chg[@]}" --threshold 4 --key C.key "${sender[@]}" >out.txt
expect_re "k-th vote applies" "$(cat out.txt)" "applied"
"$SEALROOM" consortium info --gate "$G1" --json >info.json
expect_eq "owners changed" "$(jfield info.json 'j["n_owners"]')" 5
expect_eq "threshold changed" "$(jfield info.json 'j["threshold"]')" 4
expect_eq "nonce" "$(jfield info.json 'j["config_nonce"]')" 1
expect_fail "stale|nonce" "$SEALROOM" consortium change-owners --gate "$G1" "${chg[@]}" --threshold 3 --nonce 0 --key A.key "${sender[@]}"
# the recipe had 4 approvals; k is 4 now, still allowed; the new owner may approve
status "$G1" --recipe recipe.json
expect_eq "after change: allowed" "$(jfield st.json 'j["reason"]')" "allowed: 4/5 approvals (k=4)"
"$SEALROOM" approve --gate "$G1" --recipe recipe.json --key E.key "${sender[@]}" >/dev/null
ok

# ---- freeze -----------------------------------------------------------------------------
"$SEALROOM" approve --gate "$G2" --compose-hash "$H4" --key A.key "${sender[@]}" >/dev/null
"$SEALROOM" approve --gate "$G2" --compose-hash "$H4" --key B.key "${sender[@]}" >/dev/null
status "$G2" --compose-hash "$H4"
expect_eq "G2 allowed before freeze" "$(jfield st.json 'j["allowed"]')" True
expect_fail "not an owner" "$SEALROOM" freeze --gate "$G2" --key E.key "${sender[@]}"
"$SEALROOM" freeze --gate "$G2" --key C.key --reason "incident 42" "${sender[@]}" >/dev/null
status "$G2" --compose-hash "$H4"
expect_eq "frozen: allowed" "$(jfield st.json 'j["allowed"]')" False
expect_re "frozen: reason" "$(jfield st.json 'j["reason"]')" '^frozen by bank-C at (seq|block) [0-9]+$'
expect_fail "frozen" "$SEALROOM" approve --gate "$G2" --compose-hash "$H3" --key A.key "${sender[@]}"
expect_fail "frozen" "$SEALROOM" freeze --gate "$G2" --key A.key "${sender[@]}"
# G1 is not affected by G2's freeze
status "$G1" --recipe recipe.json
expect_eq "other app not frozen" "$(jfield st.json 'j["allowed"]')" True

# ---- consortium list ----------------------------------------------------------------------
"$SEALROOM" consortium list --gate "$G1" --gate "$G2" --criteria "owners>=5,multi-jurisdiction,hipaa|gdpr,PCI" --json >list.json
expect_eq "list rows" "$(jfield list.json 'len(j)')" 2
expect_eq "G1 owners>=5" "$(jfield list.json 'j[0]["criteria"][0]["result"]')" match
expect_eq "G2 owners>=5" "$(jfield list.json 'j[1]["criteria"][0]["result"]')" partial
expect_eq "multi-jurisdiction" "$(jfield list.json 'j[1]["criteria"][1]["result"]')" match
expect_eq "hipaa|gdpr" "$(jfield list.json 'j[1]["criteria"][2]["result"]')" match
expect_eq "PCI" "$(jfield list.json 'j[1]["criteria"][3]["result"]')" partial
"$SEALROOM" consortium list --gate "$G1" --criteria "owners>=3" >list.txt
expect_re "list text" "$(cat list.txt)" "consortium one"

# ---- ledger only: a tampered file is detected --------------------------------------------------
if [[ $BACKEND == ledger ]]; then
    DB=${G1#ledger:}
    cp "$DB" tampered.db
    "$PY" - tampered.db "$H2" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# hide the revocation of H2 by turning it into a revocation of another hash
n = db.execute("UPDATE entries SET payload = replace(payload, ?, ?) WHERE kind = 'revoke'",
               (sys.argv[2], "ee" * 32)).rowcount
assert n == 1, n
db.commit()
EOF
    expect_fail "edited|verify|mismatch" "$SEALROOM" status --gate "ledger:$PWD/tampered.db" --compose-hash "$H2"
    cp "$DB" tampered2.db
    "$PY" - tampered2.db <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("DELETE FROM entries WHERE kind = 'revoke'").rowcount
assert n == 1, n
db.commit()
EOF
    expect_fail "gap|verify" "$SEALROOM" status --gate "ledger:$PWD/tampered2.db" --compose-hash "$H2"
    # the original still verifies
    "$SEALROOM" status --gate "$G1" --compose-hash "$H2" >/dev/null && ok || bad "original ledger no longer verifies"
fi

echo "$checks checks, $fails failed ($BACKEND)"
[[ $fails -eq 0 ]]
