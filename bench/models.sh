#!/bin/bash
# Logistic regression benchmark: sealroom's model (sr_models_tool, 2 threads)
# vs scikit-learn LogisticRegression(solver="lbfgs") on the same data and the
# same L2 (C = 1 / l2), in one run. Prints both fit times (data loading
# excluded on both sides) as wall-clock and as process CPU time (the CPU
# figure is the stable one on a shared machine), the ratios, and the largest
# coefficient differences.
#
# usage: bench/models.sh [ROWS (4000000)] [FEATURES (16)] [BUILD_DIR (build)]
# The data (ROWS x (FEATURES+1) float64, ~544 MB at full size) is generated
# deterministically by bench/models_gen.py into a temporary folder and removed.
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the sklearn command only
# (so OpenBLAS picks its kernels for this CPU); say so when reporting figures.
set -euo pipefail
ROWS=${1:-4000000}
P=${2:-16}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${3:-$HERE/../build}
TOOL=${SR_MODELS_TOOL:-$BUILD/tests/sr_models_tool}
L2=${L2:-1}
PY=/usr/bin/python3
[ -x "$TOOL" ] || { echo "no $TOOL (build the sr_models_tool target first)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "generating $ROWS x $P ..." >&2
$PY "$HERE/models_gen.py" "$TMP/data.bin" "$ROWS" "$P"
"$TOOL" logreg --bin "$TMP/data.bin" --p "$P" --l2 "$L2" --threads 2 > "$TMP/ours.json"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $PY "$HERE/models_sklearn.py" "$TMP/data.bin" "$P" "$L2" > "$TMP/sk.json"
$PY - "$TMP/ours.json" "$TMP/sk.json" <<'PYEOF'
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
ca = a["coef"] + [a["intercept"]]
cb = b["coef"] + [b["intercept"]]
dmax = max(abs(x - y) for x, y in zip(ca, cb))
rmax = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(ca, cb))
print("rows %d, features %d" % (a["n"], len(a["coef"])))
print("sealroom  fit %.3f s wall, %.3f s CPU (%d Newton iterations, 2 threads)"
      % (a["fit_seconds"], a["fit_cpu_seconds"], a["iterations"]))
print("sklearn   fit %.3f s wall, %.3f s CPU (lbfgs, %d iterations)"
      % (b["fit_seconds"], b["fit_cpu_seconds"], b["n_iter"]))
print("ratio sealroom/sklearn: wall %.3f, CPU %.3f"
      % (a["fit_seconds"] / b["fit_seconds"], a["fit_cpu_seconds"] / b["fit_cpu_seconds"]))
print("max |coef difference| vs lbfgs %.3g (max relative %.3g; lbfgs stops at its tol=1e-4)" % (dmax, rmax))
cr = b["ref_coef"] + [b["ref_intercept"]]
d2 = max(abs(x - y) for x, y in zip(ca, cr))
r2 = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(ca, cr))
print("max |coef difference| vs sklearn newton-cholesky tol=1e-10 (%.3f s): %.3g (max relative %.3g)"
      % (b["ref_seconds"], d2, r2))
PYEOF
