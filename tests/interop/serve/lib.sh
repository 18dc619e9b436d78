# Shared setup for the service tests: a consortium of three owners on a gate,
# a KMS root, two sealed datasets, a recipe, helpers to start/stop the KMS and
# the analysis service on loopback ports. Sourced by test_*.sh; every process
# it starts is recorded and stopped by PID on exit.
S=${SEALROOM:?}
PIDS=()
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

addr_of() { "$S" keygen --out "$1" --force --json | sed -E 's/.*"address": *"(0x[0-9a-fA-F]+)".*/\1/'; }

# start_bg NAME CMD... : starts CMD with stdout to NAME.out; waits for its "listening on URL" line; sets URL.
start_bg() {
  local name=$1; shift
  "$@" > "$name.out" 2> "$name.err" &
  local pid=$!
  PIDS+=("$pid")
  eval "${name}_PID=$pid"
  for _ in $(seq 1 200); do grep -q listening "$name.out" 2>/dev/null && break; sleep 0.05; done
  URL=$(grep -o 'http://[0-9.:]*' "$name.out") || { cat "$name.err" >&2; fail "$name did not start"; }
}

stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; }

# setup_consortium GATE_SPEC: owners hospital-a, hospital-b (datasets), bank-c; k = 2.
setup_consortium() {
  local gate=$1
  PUB=$("$S" kms init --dir kms)
  A=$(addr_of a.key); B=$(addr_of b.key); C=$(addr_of c.key)
  [ -f deployer.key ] || addr_of deployer.key >/dev/null  # the EVM test brings a funded one
  APP=$("$S" consortium create --name "Cardio-renal cohort study" \
        --owner hospital-a=$A:EU-DE:HIPAA,GDPR --owner hospital-b=$B:EU-SE:GDPR --owner bank-c=$C:US:PCI \
        --threshold 2 --kms-pubkey "$PUB" --gate "$gate" --key deployer.key "${DEPLOY_ARGS[@]}") \
    || fail "consortium create"
  GATE=$gate
}

# write_recipe FILE [EPSILON] [TAG]
write_recipe() {
  local f=$1 eps=${2:-1.0} tag=${3:-v1}
  cat > "$f" <<JSON
{
  "version": 1,
  "consortium": {"name": "Cardio-renal cohort study", "app_id": "$APP",
    "owners": [{"id": "hospital-a", "address": "$A"}, {"id": "hospital-b", "address": "$B"},
               {"id": "bank-c", "address": "$C"}]},
  "datasets": {
    "hospital-a": {"schema": [{"name": "patient_id", "type": "string"}, {"name": "age", "type": "int"},
                              {"name": "egfr", "type": "float"}, {"name": "ckd", "type": "bool"}]},
    "hospital-b": {"schema": [{"name": "patient_id", "type": "string"}, {"name": "age", "type": "int"},
                              {"name": "egfr", "type": "float"}, {"name": "ckd", "type": "bool"}]}
  },
  "analysis": {"sources": {"union": ["hospital-a", "hospital-b"]}},
  "outputs": [
    {"name": "patients", "type": "count", "privacy": {"mechanism": "laplace", "epsilon": $(awk "BEGIN{print $eps/2}")}},
    {"name": "mean_egfr", "type": "mean", "column": "egfr",
     "privacy": {"mechanism": "laplace", "epsilon": $(awk "BEGIN{print $eps/2}"), "clamp": [0, 150]}}
  ],
  "privacy": {"epsilon": $eps, "person_id": "patient_id"},
  "note": "$tag"
}
JSON
}

make_csv() { # FILE PREFIX ROWS
  awk -v p="$2" -v n="$3" 'BEGIN{srand(7); print "patient_id,age,egfr,ckd";
    for(i=1;i<=n;i++) printf "%s-%05d,%d,%.1f,%s\n", p, i, 30+int(rand()*50), 20+rand()*100, (rand()<0.3?"true":"false")}' > "$1"
}

seal() { # OWNER KEY CSV OUT RECIPE BUDGET
  "$S" seal --owner "$1" --key "$2" --recipe "$5" --kms-pubkey "$PUB" --in "$3" --out "$4" \
    --epsilon-budget "$6" --keystore "$PWD/keystore" >/dev/null || fail "seal $1"
}
