#!/bin/bash
# sealroom analyze over sealed archives: two owners seal their CSVs to a
# KMS root; the dry run unlocks them with --kms-dir (and with the owner's
# keystore) and must give exactly the result of the plaintext run, model
# outputs included, also when they re-read the archives on every pass
# (--model-memory 0: decrypting only their own columns; over 8192 rows:
# several blocks). A wrong
# KMS folder and an archive of another recipe are refused.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
S="$SEALROOM"
"$S" keygen --out a.key --json > a.json || fail keygen
"$S" keygen --out b.key --json > b.json || fail keygen
A=$(/usr/bin/python3 -c 'import json; print(json.load(open("a.json"))["address"])')
B=$(/usr/bin/python3 -c 'import json; print(json.load(open("b.json"))["address"])')
"$S" kms init --dir kms >/dev/null || fail "kms init"
"$S" kms init --dir kms2 >/dev/null || fail "kms init 2"
/usr/bin/python3 - "$A" "$B" <<'PY'
import json, random, sys
random.seed(5)
schema = [{"name": "pid", "type": "int"}, {"name": "site", "type": "string"}, {"name": "age", "type": "int"},
          {"name": "score", "type": "float"}, {"name": "seen", "type": "date"}, {"name": "flag", "type": "bool"}]
for k, o in enumerate(["a", "b"]):
    with open(f"{o}.csv", "w") as f:
        f.write("pid,site,age,score,seen,flag\n")
        for i in range(6000 + 4000 * k):
            score = "" if random.random() < 0.03 else f"{random.uniform(-5, 95):.3f}"
            f.write(f"{k * 100000 + i},{random.choice(['x', 'y', 'z'])},{random.randint(18, 90)},{score},"
                    f"2024-0{random.randint(1, 9)}-1{random.randint(0, 9)},{random.choice(['true', 'false'])}\n")
def recipe(name):
    return {"version": 1,
            "consortium": {"name": name, "app_id": "0x00112233445566778899aabbccddeeff00112233",
                           "owners": [{"id": "a", "address": sys.argv[1]}, {"id": "b", "address": sys.argv[2]}]},
            "datasets": {"a": {"schema": schema}, "b": {"schema": schema}},
            "analysis": {"sources": {"union": ["a", "b"]},
                         "filter": {"op": ">=", "args": [{"col": "seen"}, "2024-03-01"]}},
            "outputs": [
                {"name": "n", "type": "count", "group_by": [{"column": "site", "domain": ["x", "y", "z"]}], "privacy": "none"},
                {"name": "m", "type": "mean", "column": "score", "group_by": [{"column": "flag", "domain": [True, False]}], "privacy": "none"},
                {"name": "q", "type": "quantiles", "column": "age", "quantiles": [0.1, 0.5, 0.9], "privacy": "none"},
                {"name": "dp", "type": "sum", "column": "score", "privacy": {"mechanism": "laplace", "epsilon": 0.5, "clamp": [0, 100]}},
                {"name": "lr", "type": "logistic_regression", "features": ["age", "score"], "label": "flag",
                 "l2": 1, "intercept": True, "standardize": True, "privacy": "none"},
                {"name": "ols", "type": "linear_regression", "features": ["age"], "label": "score", "privacy": "none"},
                {"name": "cox", "type": "cox_regression", "features": ["score"], "time": "age", "event": "flag",
                 "ties": "breslow", "privacy": "none"}],
            "privacy": {"epsilon": 1, "person_id": "pid"}}
json.dump(recipe("sealed"), open("recipe.json", "w"))
json.dump(recipe("another"), open("other.json", "w"))
PY
for o in a b; do
  "$S" seal --owner $o --key $o.key --recipe recipe.json --kms-pubkey kms/root.pub --in $o.csv --out $o.tar \
      --keystore ks --chunk-rows 1000 >/dev/null || fail "seal $o"
done
"$S" analyze --recipe recipe.json --data a=a.csv --data b=b.csv --json --seed 9 > plain.json || fail "plain run"
"$S" analyze --recipe recipe.json --data a=a.tar --data b=b.tar --kms-dir kms --json --seed 9 > sealed.json || fail "sealed run"
cmp -s plain.json sealed.json || { diff plain.json sealed.json | head; fail "sealed and plaintext runs differ"; }
# models re-reading the archives on every pass (no rows held): the same result
"$S" analyze --recipe recipe.json --data a=a.tar --data b=b.tar --kms-dir kms --json --seed 9 \
    --model-memory 0 > streamed.json || fail "streamed run"
cmp -s plain.json streamed.json || { diff plain.json streamed.json | head; fail "streamed models differ"; }
/usr/bin/python3 - <<'PY' || fail "model outputs missing"
import json, math
o = json.load(open("sealed.json"))["outputs"]
for k in ("lr", "ols", "cox"):
    assert all(math.isfinite(v) for v in o[k]["coefficients"].values()), o[k]
PY
"$S" analyze --recipe recipe.json --data a=a.tar --data b=b.csv --keystore ks --json --seed 9 > mixed.json || fail "keystore run"
cmp -s plain.json mixed.json || fail "keystore run differs"
out=$("$S" analyze --recipe recipe.json --data a=a.tar --data b=b.tar --kms-dir kms2 2>&1); [ $? -eq 1 ] || fail "wrong KMS accepted"
echo "$out" | grep -q "a.tar" || fail "wrong KMS message: $out"
out=$("$S" analyze --recipe other.json --data a=a.tar --data b=b.csv --kms-dir kms 2>&1); [ $? -eq 1 ] || fail "other recipe accepted"
echo "$out" | grep -qi "compose\|recipe" || fail "other recipe message: $out"
echo ok
