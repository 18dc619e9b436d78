#!/usr/bin/env bash
# `sealroom keygen`: help, usage errors, key file mode/format, refusal to
# overwrite, --force, --json, and that the printed address belongs to the key.
set -u
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tool="$SR_BUILD_DIR/tests/sr_crypto_tool"
# the scratch folder survives between runs: work in a fresh one inside it
work=$(mktemp -d "$PWD/keygen.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

"$SEALROOM" keygen --help | grep -q -- '--out FILE' || fail "--help does not describe --out"
"$SEALROOM" keygen >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "missing --out is not a usage error (2)"
"$SEALROOM" keygen --out a.key --bogus >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "unknown option is not a usage error"
[[ ! -e a.key ]] || fail "a key was written despite the usage error"

umask 022
out=$("$SEALROOM" keygen --out a.key) || fail "keygen failed"
[[ $(stat -c %a a.key) == 600 ]] || fail "key file mode is $(stat -c %a a.key), not 600"
[[ $(stat -c %s a.key) == 65 ]] || fail "key file is not 65 bytes"
grep -Eq '^[0-9a-f]{64}$' a.key || fail "key file is not 64 lowercase hex digits"
addr=$(sed -n 's/^address: *//p' <<<"$out")
pub=$(sed -n 's/^public_key: *//p' <<<"$out")
[[ $addr == $("$tool" address "$(cat a.key)") ]] || fail "printed address '$addr' is not the key's"
[[ $pub == $("$tool" pubkey "$(cat a.key)") ]] || fail "printed public key is not the key's"

before=$(cat a.key)
"$SEALROOM" keygen --out a.key >/dev/null 2>err.txt; rc=$?
[[ $rc -eq 1 ]] || fail "overwrite without --force: exit $rc, not 1"
grep -q -- '--force' err.txt || fail "refusal does not mention --force"
[[ $(cat a.key) == "$before" ]] || fail "key replaced without --force"
ln -s nowhere dangling.key
"$SEALROOM" keygen --out dangling.key >/dev/null 2>&1 && fail "wrote through a dangling symlink without --force"

json=$("$SEALROOM" keygen --out a.key --force --json) || fail "--force failed"
[[ $(cat a.key) != "$before" ]] || fail "--force did not replace the key"
[[ $(stat -c %a a.key) == 600 ]] || fail "replaced key file mode is not 600"
/usr/bin/python3 - "$json" "$("$tool" address "$(cat a.key)")" "$("$tool" pubkey "$(cat a.key)")" <<'PY' || fail "--json output wrong: $json"
import json, sys
d = json.loads(sys.argv[1])
assert set(d) == {"address", "public_key"}, d
assert d["address"] == sys.argv[2], (d, sys.argv[2])
assert d["public_key"] == sys.argv[3], (d, sys.argv[3])
PY

"$SEALROOM" keygen --out no/such/dir/k.key >/dev/null 2>&1; [[ $? -eq 1 ]] || fail "unwritable path is not exit 1"

[[ $fails -eq 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo "ok: sealroom keygen"
