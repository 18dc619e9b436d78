#!/usr/bin/python3
"""sklearn side of bench/models.sh: fit LogisticRegression(solver="lbfgs") on
the column-major binary file written by models_gen.py, print JSON with the
fit time and coefficients, plus a tightly converged reference fit
(solver="newton-cholesky", tol=1e-10) for the coefficient comparison. usage: models_sklearn.py FILE P L2 [MAX_ITER]"""
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

path, p, l2 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
max_iter = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
raw = np.fromfile(path, dtype="<f8")
n = raw.size // (p + 1)
cols = raw.reshape(p + 1, n)
X = np.ascontiguousarray(cols[:p].T)
y = cols[p].copy()
del raw, cols
t0, c0 = time.perf_counter(), time.process_time()
m = LogisticRegression(C=1.0 / l2, solver="lbfgs", max_iter=max_iter).fit(X, y)
fit, cpu = time.perf_counter() - t0, time.process_time() - c0
res = {"n": n, "fit_seconds": fit, "fit_cpu_seconds": cpu, "n_iter": int(m.n_iter_[0]),
       "coef": m.coef_[0].tolist(), "intercept": float(m.intercept_[0])}
# a tightly converged reference (not the timed comparison): newton-cholesky
t0 = time.perf_counter()
r = LogisticRegression(C=1.0 / l2, solver="newton-cholesky", tol=1e-10, max_iter=100).fit(X, y)
res["ref_seconds"] = time.perf_counter() - t0
res["ref_coef"] = r.coef_[0].tolist()
res["ref_intercept"] = float(r.intercept_[0])
print(json.dumps(res))
