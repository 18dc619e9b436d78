#!/usr/bin/env bash
# `make demo`: the product page's five silos end to end, with a short narrative.
#
#   scripts/demo.sh                      full scale (Hospital A 820k EHR rows, ..., Bank C 12M)
#   DEMO_SCALE=0.01 scripts/demo.sh      1% of the rows, for a quick run
#   DEMO_GATE=evm scripts/demo.sh        the consortium gate on a local anvil chain (loopback)
#   SEALROOM=PATH                        the CLI (default build/sealroom)
#   DEMO_OUT=DIR                         where everything goes (default demo/out; wiped first)
#
# Five owners each generate (synthetic, seeded) and seal their dataset; a 5-of-5
# consortium is created on the gate; every owner approves the cohort risk-model
# recipe; a KMS and an analysis service with a simulated TDX VM start on loopback;
# the recipe runs (epsilon 1.5) and its signed aggregate and receipt come back;
# the receipt is verified as an auditor would; one owner revokes and the next run
# is refused. Tool output goes to DEMO_OUT/logs/. Every process started here is
# stopped by PID on exit, error or interrupt. See demo/README.md.
set -euo pipefail

case ${1:-} in
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  "") ;;
  *) echo "usage: [DEMO_SCALE=F] [DEMO_GATE=ledger|evm] [SEALROOM=CLI] [DEMO_OUT=DIR] $0 [--help]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HERE=$PWD
abs() { case $1 in /*) echo "$1" ;; *) echo "$HERE/$1" ;; esac; }
# a path as the user would type it where the demo was started (relative when under that folder)
show() { case $1 in "$HERE"/*) echo "${1#"$HERE"/}" ;; *) echo "$1" ;; esac; }

if [ -n "${SEALROOM:-}" ]; then S=$(abs "$SEALROOM"); else S=$ROOT/build/sealroom; fi
OUT=$(abs "${DEMO_OUT:-$ROOT/demo/out}")
SCALE=${DEMO_SCALE:-1}
GATE_KIND=${DEMO_GATE:-ledger}
PY=/usr/bin/python3
CC=${CC:-cc}

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$S" ] || die "no CLI at $S (run 'make build' or set SEALROOM=)"
[[ $SCALE =~ ^[0-9]*\.?[0-9]+$ ]] && awk "BEGIN{exit !($SCALE > 0 && $SCALE <= 1)}" \
  || die "DEMO_SCALE must be a number in (0, 1], got '$SCALE'"
case $GATE_KIND in ledger | evm) ;; *) die "DEMO_GATE must be ledger or evm, got '$GATE_KIND'" ;; esac
[ -x "$PY" ] || die "$PY is needed (scripts/install-deps.sh test)"

# ---- processes: every one recorded and stopped by PID -------------------------------
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM

# start_bg NAME CMD...: starts CMD (stdout/stderr in logs/NAME.*), waits for "listening on URL"; sets URL
start_bg() {
  local name=$1 i
  shift
  "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
  PIDS+=("$!")
  for i in $(seq 1 300); do
    grep -q listening "$LOGS/$name.out" 2>/dev/null && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  URL=$(grep -o 'http://[0-9.:]*' "$LOGS/$name.out") || { cat "$LOGS/$name.err" >&2; die "$name did not start"; }
}

# ---- narrative helpers ----------------------------------------------------------------
T0=$EPOCHREALTIME
NSTEPS=9
STEP=0
if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
step() { STEP=$((STEP + 1)); TS=$EPOCHREALTIME; printf '\n%s%d/%d %s%s\n' "$BOLD" "$STEP" "$NSTEPS" "$1" "$PLAIN"; }
say() { printf '    %s\n' "$*"; }
secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f s", b - a}'; }
count() { awk -v n="$1" 'BEGIN{if (n >= 1e6) printf "%.3gM", n / 1e6; else if (n >= 1e4) printf "%.3gk", n / 1e3; else print n}'; }
human() { numfmt --to=iec --suffix=B --format='%.1f' "$1"; }
rows_of() { awk -v s="$SCALE" -v n="$1" 'BEGIN{r = int(n * s + 0.5); if (r < 40) r = 40; print r}'; }
# log NAME CMD...: runs CMD with its output in logs/NAME.log; on failure shows the log and stops
log() {
  local name=$1
  shift
  "$@" >"$LOGS/$name.log" 2>&1 || { tail -n 20 "$LOGS/$name.log" >&2; die "$name failed (log: $(show "$LOGS/$name.log"))"; }
}

# start from a clean folder, but never wipe one the demo did not make
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ] && [ ! -e "$OUT/.sealroom-demo" ]; then
  die "$OUT exists, is not empty and was not made by the demo: choose another DEMO_OUT"
fi
rm -rf "$OUT"
mkdir -p "$OUT"
: >"$OUT/.sealroom-demo"
LOGS=$OUT/logs
mkdir -p "$LOGS"
cd "$OUT"

declare -A ADDR
OWNERS=(hospital-a hospital-b bank-c research-d lab-e)
declare -A LABEL=([hospital-a]="Hospital A" [hospital-b]="Hospital B" [bank-c]="Bank C"
  [research-d]="Research D" [lab-e]="Lab E")
declare -A WHAT=([hospital-a]="EHR records" [hospital-b]="imaging studies" [bank-c]="transactions"
  [research-d]="research samples" [lab-e]="assays")
declare -A REGION=([hospital-a]="EU-West:EU-DE:HIPAA,GDPR" [hospital-b]="EU-North:EU-SE:GDPR"
  [bank-c]="US-East:US:PCI" [research-d]="APAC:SG:PDPA" [lab-e]="CH:CH:GDPR")
N_A=$(rows_of 820000)
N_B=$((N_A / 2)) # a subset of Hospital A's patients
declare -A ROWS=([hospital-a]=$N_A [hospital-b]=$N_B [bank-c]=$(rows_of 12000000)
  [research-d]=$(rows_of 56000) [lab-e]=$(rows_of 230000))
SEED=20261124

printf '%ssealroom demo%s: five silos, one approved recipe, one signed aggregate (scale %s, gate %s)\n' \
  "$BOLD" "$PLAIN" "$SCALE" "$GATE_KIND"
say "working folder $(show "$OUT"), tool output in $(show "$LOGS")/"

# ---------------------------------------------------------------------------------------
step "The consortium forms: five owners, one key service, a 5-of-5 gate"
mkdir -p kms owners
for o in "${OWNERS[@]}"; do
  mkdir -p "owners/$o"
  ADDR[$o]=$("$S" keygen --out "owners/$o/owner.key" --json | sed -E 's/.*"address": *"(0x[0-9a-fA-F]+)".*/\1/')
done
PUB=$("$S" kms init --dir kms)
SEND_ARGS=()
if [ "$GATE_KIND" = evm ]; then
  SR_SOURCE_DIR=$ROOT
  . "$ROOT/tests/interop/gate/evm_anvil.sh"
  [ -x "$(anvil_bin)" ] || die "anvil is missing: run scripts/install-deps.sh test (npm tools)"
  cd "$LOGS"
  anvil_start || die "anvil did not start (log: $(show "$LOGS/anvil.log"))"
  cd "$OUT"
  trap 'anvil_stop; cleanup' EXIT # anvil_start installed its own EXIT trap: keep both, anvil last started, first stopped
  # anvil's first default account (a public test key) pays for the deployment and relays the owners' signatures
  umask 077
  echo "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" >funded.key
  umask 022
  SEND_ARGS=(--sender-key "$OUT/funded.key")
fi
DEPLOYER=$OUT/deployer.key
owner_args=()
for o in "${OWNERS[@]}"; do
  IFS=: read -r _ juris grades <<<"${REGION[$o]}"
  owner_args+=(--owner "$o=${ADDR[$o]}:$juris:$grades")
done
if [ "$GATE_KIND" = ledger ]; then
  "$S" keygen --out "$DEPLOYER" --json >/dev/null
  APP=$("$S" consortium create --name "Cross-silo cardiovascular risk cohort" "${owner_args[@]}" --threshold 5 \
    --kms-pubkey kms/root.pub --gate "ledger:$OUT/gate.db" --key "$DEPLOYER" 2>"$LOGS/consortium.err") \
    || { cat "$LOGS/consortium.err" >&2; die "consortium create failed"; }
  GATE=ledger:$OUT/gate.db
  say "embedded ledger $(show "$OUT/gate.db"): app $APP"
else
  APP=$("$S" consortium create --name "Cross-silo cardiovascular risk cohort" "${owner_args[@]}" --threshold 5 \
    --kms-pubkey kms/root.pub --gate "evm:$ANVIL_URL" --key "$OUT/funded.key" 2>"$LOGS/consortium.err") \
    || { cat "$LOGS/consortium.err" >&2; die "consortium create failed"; }
  GATE=evm:$ANVIL_URL@$APP
  say "ConsortiumApp contract deployed on anvil ($ANVIL_URL, loopback) at $APP"
fi
say "owners: $(for o in "${OWNERS[@]}"; do printf '%s (%s) ' "$o" "$(cut -d: -f1 <<<"${REGION[$o]}")"; done)"
say "threshold 5 of 5; KMS root public key ${PUB:0:18}… ($(secs "$TS"))"

# ---------------------------------------------------------------------------------------
step "They agree on one recipe: the cohort risk model"
# the ridge penalty of the DP model (its noise scales as clip/l2): 5000 at full scale, less for fewer rows
L2=$(awk -v s="$SCALE" 'BEGIN{v = int(5000 * sqrt(s) + 0.5); if (v < 20) v = 20; print v}')
sed_args=(-e "s/@APP@/$APP/" -e "s/@L2@/$L2/")
for o in "${OWNERS[@]}"; do sed_args+=(-e "s/@ADDR_$o@/${ADDR[$o]}/"); done
sed "${sed_args[@]}" "$ROOT/demo/recipe.template.json" >recipe.json
log recipe-check "$S" recipe check recipe.json
HASH=$("$S" recipe hash recipe.json)
say "$(show "$OUT/recipe.json"): Hospital A's EHR joined with Hospital B's imaging on a hashed patient key;"
say "outputs: cohort counts by sex and age band, mean eGFR by diabetes, a logistic risk model of"
say "cardiovascular events (age, eGFR, blood pressure, diabetes, LVEF, calcium score), event-free survival"
say "privacy: epsilon = 1.5 in total (Laplace, pure DP), one row per patient, groups under 10 suppressed"
say "compose hash $HASH (SHA-256 of the file's bytes: what the owners approve)"

# ---------------------------------------------------------------------------------------
step "Five silos hold their data (synthetic, seeded)"
$CC -O2 -o gen_silos "$ROOT/demo/gen_silos.c" -lm
$CC -O2 -o gen_transactions "$ROOT/bench/gen_transactions.c"
./gen_silos ehr "${ROWS[hospital-a]}" "$SEED" owners/hospital-a/data.csv &
g1=$!
./gen_silos imaging "${ROWS[hospital-b]}" "$SEED" owners/hospital-b/data.csv &
g2=$!
./gen_silos samples "${ROWS[research-d]}" "$SEED" owners/research-d/data.csv
./gen_silos assays "${ROWS[lab-e]}" "$SEED" owners/lab-e/data.csv
./gen_transactions --rows "${ROWS[bank-c]}" --seed "$SEED" --out owners/bank-c/data.csv
wait "$g1" || die "generating hospital-a failed"
wait "$g2" || die "generating hospital-b failed"
for o in "${OWNERS[@]}"; do
  printf '    %-11s %-10s %10s %-17s %9s  %s\n' "${LABEL[$o]}" "$(cut -d: -f1 <<<"${REGION[$o]}")" \
    "$(count "${ROWS[$o]}")" "${WHAT[$o]}" "$(human "$(stat -c %s "owners/$o/data.csv")")" \
    "$(head -n1 "owners/$o/data.csv" | cut -c1-60)…"
done
say "generated in $(secs "$TS")"

# ---------------------------------------------------------------------------------------
step "Owners seal their data where it lives"
BUDGET=3
for o in "${OWNERS[@]}"; do
  t=$EPOCHREALTIME
  log "seal-$o" "$S" seal --owner "$o" --key "owners/$o/owner.key" --recipe recipe.json --kms-pubkey kms/root.pub \
    --in "owners/$o/data.csv" --out "owners/$o/sealed.tar" --epsilon-budget "$BUDGET" \
    --keystore "$OUT/owners/$o/keystore"
  printf '    %-11s %9s CSV -> %9s sealed archive in %s\n' "${LABEL[$o]}" \
    "$(human "$(stat -c %s "owners/$o/data.csv")")" "$(human "$(stat -c %s "owners/$o/sealed.tar")")" "$(secs "$t")"
done
say "each column AES-256-GCM encrypted; each data key wrapped for this recipe only (KMS root + compose hash);"
say "each owner grants epsilon $BUDGET to this recipe and signs the manifest; plaintext never leaves its silo"

# ---------------------------------------------------------------------------------------
step "Owners approve the recipe on the gate"
for o in "${OWNERS[@]}"; do
  log "approve-$o" "$S" approve --gate "$GATE" --recipe recipe.json --key "owners/$o/owner.key" "${SEND_ARGS[@]+"${SEND_ARGS[@]}"}"
done
"$S" status --gate "$GATE" --recipe recipe.json --json >status.json 2>"$LOGS/status.err" || die "gate status failed"
$PY - status.json <<'PY' | sed 's/^/    /'
import json, sys
s = json.load(open(sys.argv[1]))
who = [o["id"] for o in s["owners"] if o.get("approved")]
print("%s: each signed an EIP-712 approval of the compose hash" % ", ".join(who))
print("gate: %d of %d owners approved (k = %d): %s" % (s["approvals"], s["n_owners"], s["threshold"], s["reason"]))
PY
$PY -c 'import json,sys; sys.exit(0 if json.load(open("status.json"))["allowed"] else 1)' || die "the gate does not allow the recipe"

# ---------------------------------------------------------------------------------------
step "The key service and the analysis CVM start (simulated TDX)"
log quote-sim-init "$S" quote sim-init sim
start_bg kms "$S" kms serve --dir kms --gate "$GATE" --listen 127.0.0.1:0 --any-runtime \
  --allow-simulated-tee --sim-root sim
KMS=$URL
start_bg cvm "$S" serve --kms "$KMS" --tee sim --sim-dir sim --listen 127.0.0.1:0 --data-dir cvm --gate "$GATE"
API=$URL
say "KMS on $KMS: releases a dataset key only to a VM whose quote measures this compose hash"
say "analysis service on $API (console at $API/), TEE simulated: receipts say so"

# ---------------------------------------------------------------------------------------
step "The cohort risk model runs (epsilon = 1.5)"
inputs=()
for o in "${OWNERS[@]}"; do inputs+=(--input "$o=file://$OUT/owners/$o/sealed.tar"); done
"$S" run --api "$API" --recipe recipe.json "${inputs[@]}" --wait --timeout 600 --out receipt.json \
  >"$LOGS/run1.log" 2>&1 || { cat "$LOGS/run1.log" >&2; die "the run failed"; }
[ -s receipt.json ] || die "no receipt written"
RUNSECS=$(secs "$TS")
$PY - receipt.json <<'PY' | sed 's/^/    /'
import json, sys
rc = json.load(open(sys.argv[1]))
p = json.loads(rc["payload"]); st = json.loads(rc["statement"])
o = p["outputs"]
print("the VM proved itself to the KMS and got %d dataset keys (epsilon charged to each); it decrypted"
      % len(st["inputs"]))
print("only the columns of A and B it uses: C, D and E stayed encrypted")
print("then signed the declared outputs (tee: %s); epsilon spent %g of %g"
      % (rc["tee"], p["privacy"]["epsilon_spent"], p["privacy"]["epsilon_budget"]))
cells = o["cohort_by_sex_and_age"]["groups"]
tot = sum(c.get("value", 0) for c in cells)
band = ["18-44", "45-64", "65-79", "80+"]
print("cohort (A joined with B): about %d patients; " % round(tot) + ", ".join(
      "%s %s: %s" % (c["key"]["sex"], band[c["key"]["age_band"]],
                     "suppressed" if c.get("suppressed") else "%d" % round(c["value"])) for c in cells[:4]) + ", ...")
m = o["mean_egfr_by_diabetes"]["groups"]
print("mean eGFR: diabetic %s, non-diabetic %s mL/min/1.73m2" % tuple(
      "suppressed" if g.get("suppressed") else "%.1f" % g["value"] for g in m))
lr = o["cardio_risk_model"]
feats = next(x for x in json.load(open("recipe.json"))["outputs"] if x["name"] == "cardio_risk_model")["features"]
print("risk model, log-odds (Laplace noise scale %.3f): " % lr["noise"]["coefficient_scale"] +
      ", ".join("%s %+.2f" % (f, lr["coefficients"][f]) for f in feats))
km = o["event_free_survival"]["groups"]
def s(g, t):
    if g.get("suppressed"): return "suppressed"
    for pt in g["curve"]:
        if pt["time"] == t: return "%.0f%%" % (100 * pt["surv"])
print("event-free at 1 year: diabetic %s, non-diabetic %s" % (s(km[0], 365), s(km[1], 365)))
PY
awk "BEGIN{exit !($SCALE < 0.1)}" && say "(a quick run: with so few patients the DP model's coefficients are mostly noise)"
say "receipt: $(show "$OUT/receipt.json") ($RUNSECS)"

# ---------------------------------------------------------------------------------------
step "An auditor verifies the receipt"
AUDIT_S=$(show "$S")
AUDIT_R=$(show "$OUT/receipt.json")
AUDIT_ARGS=(--gate "$GATE" --kms-root "$(show "$OUT/kms/root.pub")" --root "$(show "$OUT/sim")" --allow-simulated)
if [ "$GATE_KIND" = ledger ]; then AUDIT_ARGS[1]="ledger:$(show "$OUT/gate.db")"; fi
VERIFY_CMD="$AUDIT_S verify $AUDIT_R ${AUDIT_ARGS[*]}"
say "\$ $VERIFY_CMD"
"$S" verify receipt.json --gate "$GATE" --kms-root kms/root.pub --root sim --allow-simulated | sed 's/^/    /' \
  || die "the receipt did not verify"

# ---------------------------------------------------------------------------------------
REVOKER=research-d
step "${LABEL[$REVOKER]} revokes; the next run is refused"
log "revoke-$REVOKER" "$S" revoke --gate "$GATE" --recipe recipe.json --key "owners/$REVOKER/owner.key" \
  "${SEND_ARGS[@]+"${SEND_ARGS[@]}"}"
say "$REVOKER signed a revocation of the compose hash: final, for everyone, at once"
set +e
"$S" run --api "$API" --recipe recipe.json "${inputs[@]}" --wait --timeout 120 --out receipt2.json \
  >"$LOGS/run2.log" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || die "the run after the revocation was not refused"
grep -q "revoked by $REVOKER" "$LOGS/run2.log" || { cat "$LOGS/run2.log" >&2; die "unexpected refusal"; }
say "run refused: $(grep -o "[^:]*revoked by $REVOKER[^\"]*" "$LOGS/run2.log" | head -n1 | sed 's/^ *//')"
say "the service stopped at the gate: no key was asked for, none released; the KMS audit log:"
"$S" kms audit --dir kms --verify 2>&1 | tail -n1 | sed 's/^/      /'

cleanup
printf '\n%sDone%s in %s.\n' "$BOLD" "$PLAIN" "$(secs "$T0")"
echo "Receipt: $AUDIT_R"
echo "An auditor checks it with:"
echo "  $VERIFY_CMD"
if [ "$GATE_KIND" = evm ]; then
  echo "(the anvil chain stopped with the demo; without re-reading the gate, an auditor runs:"
  echo "  $AUDIT_S verify $AUDIT_R ${AUDIT_ARGS[*]:2} )"
fi
