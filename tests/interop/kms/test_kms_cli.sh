#!/usr/bin/env bash
# kms init / serve / audit through the CLI: a real server on loopback, a
# refused request audited, the audit chain verified, an edited row detected.
set -euo pipefail
S=${SEALROOM:?}
fail() { echo "FAIL: $*"; exit 1; }
rm -rf kms owner*.key deployer.key gate.db* serve.out
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

pub=$("$S" kms init --dir kms)
[[ $pub =~ ^0[23][0-9a-f]{64}$ ]] || fail "kms init printed '$pub'"
[ "$(stat -c %a kms/root.key)" = 600 ] || fail "root.key is not 0600"
if "$S" kms init --dir kms 2>/dev/null; then fail "kms init overwrote an existing root"; fi

for k in owner1 owner2 deployer; do "$S" keygen --out $k.key >/dev/null; done
a1=$("$S" keygen --out owner1.key --force --json | sed -E 's/.*"address": *"(0x[0-9a-fA-F]+)".*/\1/')
a2=$("$S" keygen --out owner2.key --force --json | sed -E 's/.*"address": *"(0x[0-9a-fA-F]+)".*/\1/')
app=$("$S" consortium create --name "Test" --owner o1=$a1:EU:GDPR --owner o2=$a2:US:HIPAA --threshold 2 \
      --kms-pubkey "$pub" --gate ledger:gate.db --key deployer.key)
[[ $app =~ ^0x[0-9a-fA-F]{40}$ ]] || fail "consortium create printed '$app'"

# --help everywhere, usage errors exit 2
"$S" kms --help | grep -q "kms serve" || fail "kms --help"
"$S" kms serve --help >/dev/null || fail "kms serve --help"
set +e; "$S" kms serve --dir kms 2>/dev/null; rc=$?; set -e
[ $rc -eq 2 ] || fail "missing options should exit 2, got $rc"
set +e; err=$("$S" kms serve --dir kms --gate ledger:gate.db --listen 127.0.0.1:0 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && grep -q "runtimes" <<<"$err" || fail "serve without runtime policy must refuse: $err"

"$S" kms serve --dir kms --gate ledger:gate.db --listen 127.0.0.1:0 --any-runtime > serve.out 2>serve.err &
pid=$!
for _ in $(seq 1 100); do grep -q listening serve.out 2>/dev/null && break; sleep 0.05; done
url=$(grep -o 'http://[0-9.:]*' serve.out) || fail "no listening line"
grep -q "WARNING: accepting any runtime" serve.err || fail "no warning for --any-runtime"

curl -sf "$url/v1/health" | grep -q "\"kms_pubkey\":\"$pub\"" || fail "health"
n1=$(curl -sf "$url/v1/nonce"); n2=$(curl -sf "$url/v1/nonce")
[[ $n1 =~ \"nonce\":\"[0-9a-f]{64}\" ]] || fail "nonce: $n1"
[ "$n1" != "$n2" ] || fail "two identical nonces"
code=$(curl -s -o bad.json -w '%{http_code}' -X POST --data '{"version":1}' "$url/v1/keys")
[ "$code" = 400 ] || fail "malformed request got HTTP $code"
grep -q 'missing field' bad.json || fail "malformed request message: $(cat bad.json)"
code=$(curl -s -o big.json -w '%{http_code}' -X POST --data-binary @<(head -c 9000000 /dev/zero) "$url/v1/keys")
[ "$code" = 413 ] || fail "oversized request got HTTP $code"

kill -TERM $pid; wait $pid || fail "kms serve did not stop cleanly on SIGTERM"
pid=

"$S" kms audit --dir kms --json > audit.json
grep -q '"allowed": false' audit.json || fail "refusal not in the audit log"
"$S" kms audit --dir kms --verify | grep -q "audit log valid: 1 records" || fail "audit verify"
sqlite3 kms/kms.db "UPDATE audit SET record = replace(record, 'missing', 'absent') WHERE seq = 1"
set +e; out=$("$S" kms audit --dir kms --verify 2>&1); rc=$?; set -e
[ $rc -ne 0 ] || fail "edited audit row not detected"
grep -q "record 1 was edited" <<<"$out" || fail "message: $out"
echo "kms cli: ok"
