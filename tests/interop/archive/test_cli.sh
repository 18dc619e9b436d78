#!/bin/bash
# CLI round trip and error handling for recipe / kms init / seal / inspect /
# unseal / rewrap. Runs in a scratch folder; $SEALROOM is the CLI.
set -u
S=${SEALROOM:?SEALROOM not set}
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { # check NAME CMD...: CMD must succeed
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
expect_rc() { # expect_rc NAME RC CMD...: CMD exits with RC; stderr in err.txt
    local name=$1 want=$2; shift 2
    "$@" >out.txt 2>err.txt
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else bad "$name (exit $rc, want $want)"; cat err.txt; fi
}
rm -rf sr-cli-test && mkdir sr-cli-test && cd sr-cli-test || exit 1
export SEALROOM_KEYSTORE=$PWD/keystore

# --- keys and recipe ---------------------------------------------------------
OWNER_ADDR=$("$S" keygen --out owner.key --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
OTHER_ADDR=$("$S" keygen --out other2.key --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
KMS_PUB=$("$S" kms init --dir kms)
check "kms init prints 33-byte key" test "${#KMS_PUB}" = 66
check "kms root.key is 0600" test "$(stat -c %a kms/root.key)" = 600

mkrecipe() { # mkrecipe FILE NAME
cat >"$1" <<EOF
{
  "version": 1,
  "consortium": {
    "name": "$2",
    "app_id": "0x1111111111111111111111111111111111111111",
    "owners": [
      {"id": "clinic-a", "address": "$OWNER_ADDR"},
      {"id": "clinic-b", "address": "$OTHER_ADDR"}
    ]
  },
  "datasets": {
    "clinic-a": {"schema": [
      {"name": "id", "type": "int"}, {"name": "site", "type": "string"},
      {"name": "score", "type": "float"}, {"name": "smoker", "type": "bool"},
      {"name": "visit", "type": "date"}]}
  }
}
EOF
}
mkrecipe recipe.json "cli test"
mkrecipe recipe2.json "cli test v2"
cat >data.csv <<'EOF'
id,site,score,smoker,visit
1,north,1.5,true,2024-01-31
2,"south, east",,false,2023-12-01
3,,0.1,,
,"say ""hi""",-7,true,1999-01-01
EOF
for i in $(seq 4 300); do echo "$i,site$((i % 7)),$i.5,$([ $((i % 2)) = 0 ] && echo true || echo false),2020-0$((i % 9 + 1))-1$((i % 10))"; done >>data.csv

# --- recipe hash / check ----------------------------------------------------------
expect_rc "recipe hash" 0 "$S" recipe hash recipe.json
check "recipe hash = sha256sum" test "$(cat out.txt)" = "$(sha256sum recipe.json | cut -d' ' -f1)"
expect_rc "recipe hash --json" 0 "$S" recipe hash recipe.json --json
check "recipe hash json" grep -q '"compose_hash":"' out.txt
expect_rc "recipe check" 0 "$S" recipe check recipe.json
check "recipe check lists the owner" grep -q "clinic-a" out.txt
sed 's/"version": 1/"version": 7/' recipe.json >badv.json
expect_rc "recipe check bad version" 1 "$S" recipe check badv.json
check "bad version message" grep -q "version 7 is not supported" err.txt
sed 's/"type": "float"/"type": "decimal"/' recipe.json >badt.json
expect_rc "recipe check bad type" 1 "$S" recipe check badt.json
check "bad type message names the field" grep -q 'datasets.clinic-a.schema\[2\]: unknown column type' err.txt
expect_rc "recipe check missing file" 1 "$S" recipe check nosuch.json
check "missing file message" grep -q "nosuch.json" err.txt
expect_rc "recipe no subcommand" 2 "$S" recipe
expect_rc "recipe unknown subcommand" 2 "$S" recipe frob x

# --- help on every command ----------------------------------------------------------
for c in seal inspect unseal rewrap recipe "recipe hash" "recipe check" "kms init"; do
    expect_rc "$c --help" 0 "$S" $c --help
    check "$c --help prints usage" grep -qi "usage" out.txt
done

# --- seal ------------------------------------------------------------------------------
expect_rc "seal" 0 "$S" seal --owner clinic-a --key owner.key --recipe recipe.json --kms-pubkey "$KMS_PUB" \
    --in data.csv --out data.tar --epsilon-budget 3 --segment-size 256 --chunk-rows 50
check "seal is silent on stderr when not a TTY" test ! -s err.txt
check "seal reports rows" grep -q "sealed 301 rows" out.txt
check "archive written" test -s data.tar
check "keystore entry 0600" test "$(stat -c %a keystore/*.json)" = 600
check "tar tvf lists the members" bash -c "tar tvf data.tar | grep -q MANIFEST.json && tar tvf data.tar | grep -q MANIFEST.sig && tar tvf data.tar | grep -q col/0004.bin"
expect_rc "seal --json with kms pubkey file" 0 "$S" seal --owner clinic-a --key owner.key --recipe recipe.json \
    --kms-pubkey kms/root.pub --in data.csv --out data2.tar --json --keystore ''
check "seal --json" /usr/bin/python3 -c 'import json; d=json.load(open("out.txt")); assert d["rows"] == 301 and len(d["archive_id"]) == 32'

# on a terminal, seal draws a progress line (bytes, rows/s, ETA) on stderr
if command -v script >/dev/null; then
    for i in $(seq 1 30); do cat data.csv; done | grep -v '^id,' | sed '1i id,site,score,smoker,visit' >big.csv
    script -qec "'$S' seal --owner clinic-a --key owner.key --recipe recipe.json --kms-pubkey '$KMS_PUB' --in big.csv --out big.tar --keystore '' --chunk-rows 64 --threads 1" /dev/null >tty.txt 2>&1
    check "progress line on a TTY" grep -q "rows/s" tty.txt
fi

# --- inspect ---------------------------------------------------------------------------
expect_rc "inspect" 0 "$S" inspect data.tar
check "inspect shows owner and ok" bash -c "grep -q clinic-a out.txt && grep -q 'digests          ok' out.txt"
check "inspect shows epsilon" grep -q "epsilon total    3" out.txt
expect_rc "inspect --recipe" 0 "$S" inspect data.tar --recipe recipe.json
expect_rc "inspect --recipe other recipe" 1 "$S" inspect data.tar --recipe recipe2.json
check "inspect names the compose hash" grep -q "compose hash" err.txt
expect_rc "inspect --json" 0 "$S" inspect data.tar --json
check "inspect --json valid" /usr/bin/python3 -c 'import json; d=json.load(open("out.txt")); assert d["valid"] and d["manifest"]["epsilon_total"] == 3 and d["manifest"]["data"]["rows"] == 301'

# --- unseal ------------------------------------------------------------------------------
expect_rc "unseal" 0 "$S" unseal --kms-dir kms --in data.tar --out back.csv --verify
check "unseal round trip is byte-identical" cmp -s data.csv back.csv
check "unsealed CSV is 0600" test "$(stat -c %a back.csv)" = 600
expect_rc "unseal to stdout" 0 "$S" unseal --kms-dir kms --in data.tar --out -
check "stdout round trip" cmp -s data.csv out.txt

# --- rewrap -------------------------------------------------------------------------------
expect_rc "rewrap" 0 "$S" rewrap --key owner.key --recipe recipe2.json --in data.tar --out data-v2.tar
expect_rc "inspect rewrapped --recipe v2" 0 "$S" inspect data-v2.tar --recipe recipe2.json
expect_rc "unseal rewrapped" 0 "$S" unseal --kms-dir kms --in data-v2.tar --out back2.csv
check "rewrapped round trip" cmp -s data.csv back2.csv
check "rewrap copied the column members" bash -c "mkdir -p x1 x2 && tar xf data.tar -C x1 && tar xf data-v2.tar -C x2 && cmp -s x1/col/0001.bin x2/col/0001.bin"
expect_rc "rewrap with another key" 1 "$S" rewrap --key other2.key --recipe recipe2.json --in data.tar --out bad.tar
expect_rc "rewrap without keystore entry" 1 "$S" rewrap --key owner.key --recipe recipe2.json --in data2.tar --out bad.tar
check "rewrap names the keystore" grep -q "keystore" err.txt

# --- errors ------------------------------------------------------------------------------------
expect_rc "seal missing input" 1 "$S" seal --owner clinic-a --key owner.key --recipe recipe.json --kms-pubkey "$KMS_PUB" --in nosuch.csv --out x.tar
check "missing input named" grep -q "nosuch.csv" err.txt
expect_rc "seal bad recipe" 1 "$S" seal --owner clinic-a --key owner.key --recipe badt.json --kms-pubkey "$KMS_PUB" --in data.csv --out x.tar
check "bad recipe named" grep -q "badt.json" err.txt
expect_rc "seal wrong owner key" 1 "$S" seal --owner clinic-a --key other2.key --recipe recipe.json --kms-pubkey "$KMS_PUB" --in data.csv --out x.tar
check "wrong key message" grep -q "address" err.txt
expect_rc "seal owner without dataset" 1 "$S" seal --owner clinic-b --key other2.key --recipe recipe.json --kms-pubkey "$KMS_PUB" --in data.csv --out x.tar
printf 'id,site,score,smoker,visit\n1,a,1.0x,true,2024-01-01\n' >badval.csv
expect_rc "seal bad value" 1 "$S" seal --owner clinic-a --key owner.key --recipe recipe.json --kms-pubkey "$KMS_PUB" --in badval.csv --out x.tar
check "bad value names line 2" grep -q "line 2" err.txt
check "no archive left behind" test ! -e x.tar
expect_rc "seal bad kms key" 1 "$S" seal --owner clinic-a --key owner.key --recipe recipe.json --kms-pubkey 02abcd --in data.csv --out x.tar
expect_rc "seal missing options" 2 "$S" seal --owner clinic-a
expect_rc "seal unknown option" 2 "$S" seal --frobnicate
expect_rc "seal bad epsilon" 2 "$S" seal --owner clinic-a --key owner.key --recipe recipe.json --kms-pubkey "$KMS_PUB" --in data.csv --out x.tar --epsilon-budget -1
expect_rc "inspect missing file" 1 "$S" inspect nosuch.tar
expect_rc "inspect no args" 2 "$S" inspect
expect_rc "unseal missing options" 2 "$S" unseal --in data.tar
expect_rc "kms init twice" 1 "$S" kms init --dir kms

# tampered archive: one byte in the middle of a column member
cp data.tar t.tar
size=$(stat -c %s t.tar)
off=$((size - 2048 - 100))
printf '\x55' | dd of=t.tar bs=1 seek=$off conv=notrunc status=none
expect_rc "inspect tampered" 1 "$S" inspect t.tar
expect_rc "unseal tampered" 1 "$S" unseal --kms-dir kms --in t.tar --out t.csv
check "no plaintext left after failed unseal" bash -c "! ls t.csv* 2>/dev/null | grep -q ."
# truncated archive
head -c $((size - 1024)) data.tar >cut.tar
expect_rc "inspect truncated" 1 "$S" inspect cut.tar
# another KMS
"$S" kms init --dir kms2 >/dev/null
expect_rc "unseal with another KMS" 1 "$S" unseal --kms-dir kms2 --in data.tar --out y.csv
check "another KMS message" grep -q "sealed to KMS key" err.txt

echo "$fails failed"
[ "$fails" = 0 ]
