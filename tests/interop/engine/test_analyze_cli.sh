#!/bin/bash
# sealroom analyze: help and usage exits, the dry-run marker, seeded
# reproducibility, rejected recipes (budget, unbounded sum, undeclared
# privacy, unknown owner) with clear messages, and declared noise scales.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
S="$SEALROOM"

"$S" analyze --help | grep -q "unsigned local dry run" || fail "--help"
"$S" analyze >/dev/null 2>&1; [ $? -eq 2 ] || fail "no args must exit 2"
"$S" analyze --recipe x.json --data bad >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --data must exit 2"

skel='"version": 1,
 "consortium": {"name": "t", "app_id": "0x00112233445566778899aabbccddeeff00112233",
  "owners": [{"id": "a", "address": "0x3EeBe73e7136573878c460A56CeEBD2ee93f138E"},
             {"id": "b", "address": "0xfb9D126B2FdA74c3d8D2ac136a03d7f79256E823"}]},
 "datasets": {"a": {"schema": [{"name": "pid", "type": "int"}, {"name": "sex", "type": "string"}, {"name": "age", "type": "int"}]},
              "b": {"schema": [{"name": "pid", "type": "int"}, {"name": "sex", "type": "string"}, {"name": "age", "type": "int"}]}},
 "analysis": {"sources": {"union": ["a", "b"]}},'
printf 'pid,sex,age\n1,F,30\n2,M,40\n3,F,50\n1,F,31\n' > a.csv
printf 'pid,sex,age\n4,F,60\n5,M,44\n' > b.csv

cat > dp.json <<EOF
{$skel
 "outputs": [{"name": "n", "type": "count", "group_by": [{"column": "sex", "domain": ["F", "M"]}],
              "privacy": {"mechanism": "laplace", "epsilon": 0.5}},
             {"name": "age", "type": "mean", "column": "age", "privacy": {"mechanism": "laplace", "epsilon": 0.4, "clamp": [0, 100]}}],
 "privacy": {"epsilon": 1, "person_id": "pid", "max_rows_per_person": 1}}
EOF
"$S" analyze --recipe dp.json --data a=a.csv --data b=b.csv --json --seed 7 > r1.json || fail "dp run"
"$S" analyze --recipe dp.json --data a=a.csv --data b=b.csv --json --seed 7 > r2.json || fail "dp run 2"
cmp -s r1.json r2.json || fail "same seed must give the same result"
grep -q '"mode": "unsigned local dry run"' r1.json || fail "dry-run marker"
grep -q '"count_scale": 2' r1.json || fail "noise scale not reported"
"$S" analyze --recipe dp.json --data a=a.csv --data b=b.csv | head -1 | grep -q "unsigned local dry run" || fail "text marker"

reject() { # name, outputs+privacy json, expected message
  printf '{%s\n %s}\n' "$skel" "$2" > "$1.json"
  out=$("$S" analyze --recipe "$1.json" --data a=a.csv --data b=b.csv 2>&1); rc=$?
  [ $rc -eq 1 ] || fail "$1: exit $rc, want 1 ($out)"
  echo "$out" | grep -q "$3" || fail "$1: message '$out' lacks '$3'"
}
reject budget '"outputs": [{"name": "n", "type": "count", "privacy": {"mechanism": "laplace", "epsilon": 2}}],
 "privacy": {"epsilon": 1, "person_id": "pid"}' "privacy budget exceeded"
reject unbounded '"outputs": [{"name": "s", "type": "sum", "column": "age", "privacy": {"mechanism": "laplace", "epsilon": 0.5}}],
 "privacy": {"epsilon": 1, "person_id": "pid"}' "unbounded sum"
reject undeclared '"outputs": [{"name": "s", "type": "count"}], "privacy": {"epsilon": 1}' "declares no privacy treatment"
out=$("$S" analyze --recipe dp.json --data a=a.csv --data c=b.csv 2>&1); [ $? -eq 1 ] || fail "unknown owner"
echo "$out" | grep -q 'owner "c"' || fail "unknown owner message: $out"
echo "ok"
