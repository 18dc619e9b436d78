"""Linear regression vs statsmodels OLS (params, standard errors, R², adjusted
R²) on the ill-conditioned Longley data (statsmodels' copy; condition number
~1e8 with the intercept) and on synthetic data with large column offsets,
split across owners; ridge vs scikit-learn Ridge (same objective,
alpha = l2), with and without standardization."""
import os
import sys

import numpy as np
import statsmodels.api as sm
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_common import Checker, run_tool  # noqa: E402

c = Checker()


def write(fn, X, y, names):
    np.savetxt(fn, np.column_stack([X, y]), delimiter=",", header=",".join(names + ["y"]),
               comments="", fmt="%.17g")


def compare_ols(tag, X, y, files, intercept=True, rtol=1e-9, se_rtol=1e-8):
    names = ["x%d" % j for j in range(X.shape[1])]
    args = ["linreg", "--label", "y", "--features", ",".join(names)]
    if not intercept:
        args.append("--no-intercept")
    got = run_tool(*args, "--block-rows", 7, *files)
    Xd = sm.add_constant(X, has_constant="add") if intercept else X
    res = sm.OLS(y, Xd).fit()
    params = res.params[1:] if intercept else res.params
    bse = res.bse[1:] if intercept else res.bse
    c.close(got["coef"], params, rtol, tag + " params")
    c.close(got["se"], bse, se_rtol, tag + " bse")
    if intercept:
        c.close(got["intercept"], res.params[0], rtol, tag + " const")
        c.close(got["se_intercept"], res.bse[0], se_rtol, tag + " const bse")
    c.close(got["r2"], res.rsquared, 1e-10, tag + " rsquared")
    c.close(got["r2_adj"], res.rsquared_adj, 1e-10, tag + " rsquared_adj")
    c.close(got["rss"], res.ssr, 1e-8, tag + " ssr")
    c.check(got["df_resid"] == res.df_resid, tag + " df_resid")
    c.check(got["n"] == len(y), tag + " n")
    print("%s: max rel param diff %.2e" % (tag, np.max(np.abs(np.array(got["coef"]) - params)
                                                      / np.abs(params))))
    return got


# Longley: 16 rows, 6 regressors, notoriously ill-conditioned
from statsmodels.datasets import longley  # noqa: E402

ld = longley.load_pandas()
X = ld.exog.to_numpy(dtype=float)
y = ld.endog.to_numpy(dtype=float)
write("longley.csv", X, y, ["x%d" % j for j in range(X.shape[1])])
write("longley_a.csv", X[:5], y[:5], ["x%d" % j for j in range(X.shape[1])])
write("longley_b.csv", X[5:], y[5:], ["x%d" % j for j in range(X.shape[1])])
got = compare_ols("longley", X, y, ["longley_a.csv", "longley_b.csv"], rtol=1e-7, se_rtol=1e-7)
# NIST StRD certified values for Longley (b0 and b1..b6, R²)
nist = [-3482258.63459582, 15.0618722713733, -0.358191792925910e-01, -2.02022980381683,
        -1.03322686717359, -0.511041056535807e-01, 1829.15146461355]
c.close(got["intercept"], nist[0], 1e-7, "longley NIST b0")
c.close(got["coef"], nist[1:], 1e-7, "longley NIST b1..b6")
c.close(got["r2"], 0.995479004577296, 1e-10, "longley NIST R2")

# synthetic: columns with large offsets and mixed scales, three owners
rng = np.random.default_rng(11)
n = 2000
X = np.column_stack([1e6 + rng.normal(0, 1, n), rng.normal(0, 1e-3, n), rng.normal(5, 100, n),
                     rng.integers(0, 2, n).astype(float)])
y = X @ np.array([0.5, 300.0, -0.02, 1.5]) + rng.normal(0, 0.3, n) - 5e5
names = ["x%d" % j for j in range(X.shape[1])]
parts = np.split(np.arange(n), [300, 1200])
files = []
for i, idx in enumerate(parts):
    write("syn%d.csv" % i, X[idx], y[idx], names)
    files.append("syn%d.csv" % i)
compare_ols("synthetic", X, y, files, rtol=1e-8, se_rtol=1e-7)
compare_ols("synthetic no intercept", X, y, files, intercept=False, rtol=1e-8, se_rtol=1e-7)

# ridge: sum (y - b - w.x)^2 + l2 ||w||^2  ==  sklearn Ridge(alpha=l2)
Xr = rng.normal(0, 1, (500, 5)) * np.array([1, 10, 0.1, 3, 50]) + np.array([0, 5, -2, 100, 0])
yr = Xr @ np.array([1, -0.2, 4, 0.3, 0.01]) + rng.normal(0, 1, 500)
namesr = ["x%d" % j for j in range(5)]
write("ridge.csv", Xr, yr, namesr)
for l2 in (0.5, 50.0):
    got = run_tool("linreg", "--label", "y", "--l2", l2, "ridge.csv")
    rd = Ridge(alpha=l2, solver="cholesky").fit(Xr, yr)
    c.close(got["coef"], rd.coef_, 1e-9, "ridge l2=%g coef" % l2)
    c.close(got["intercept"], rd.intercept_, 1e-9, "ridge l2=%g intercept" % l2)
    c.check(got["se"][0] is None, "ridge: no standard errors")
    sc = StandardScaler().fit(Xr)
    got = run_tool("linreg", "--label", "y", "--l2", l2, "--standardize", "ridge.csv")
    rd = Ridge(alpha=l2, solver="cholesky").fit(sc.transform(Xr), yr)
    c.close(got["coef"], rd.coef_ / sc.scale_, 1e-9, "ridge std l2=%g coef" % l2)
    icpt = rd.intercept_ - np.sum(rd.coef_ * sc.mean_ / sc.scale_)
    c.close(got["intercept"], icpt, 1e-9, "ridge std l2=%g intercept" % l2)
    resid = yr - Xr @ np.array(got["coef"]) - got["intercept"]
    c.close(got["rss"], np.sum(resid ** 2), 1e-9, "ridge rss")

# collinear features are refused with a clear message
import subprocess  # noqa: E402
from model_common import tool  # noqa: E402

Xc = np.column_stack([Xr[:, 0], 2 * Xr[:, 0]])
write("collinear.csv", Xc, yr, ["x0", "x1"])
p = subprocess.run([tool(), "linreg", "--label", "y", "collinear.csv"], capture_output=True,
                   text=True)
c.check(p.returncode == 1 and "collinear" in p.stderr, "collinear refused: " + p.stderr)
c.finish()
