"""Logistic regression vs scikit-learn on the breast-cancer data that
python3-sklearn ships, split across three owners: coefficients within 1e-4
relative at the same L2 (sklearn C = 1 / l2), with and without intercept and
standardization. The union of the three owners' files must fit exactly like
the whole file. Unpenalised: parameters and standard errors vs statsmodels
Logit."""
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_common import Checker, run_tool  # noqa: E402

SRC = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"

with open(SRC) as f:
    n, p = (int(v) for v in f.readline().split(",")[:2])
data = np.loadtxt(SRC, delimiter=",", skiprows=1)
assert data.shape == (n, p + 1), data.shape
X, y = data[:, :p], data[:, p]
names = ["f%d" % i for i in range(p)] + ["diagnosis"]
header = ",".join(names)
np.savetxt("whole.csv", data, delimiter=",", header=header, comments="", fmt="%.17g")
owners = []
# three owners of unequal size, rows interleaved differently from the whole
rng = np.random.default_rng(7)
perm = rng.permutation(n)
for i, idx in enumerate(np.split(perm, [150, 380])):
    fn = "owner%d.csv" % i
    np.savetxt(fn, data[np.sort(idx)], delimiter=",", header=header, comments="", fmt="%.17g")
    owners.append(fn)

c = Checker()
RTOL = 1e-4


def sk_fit(l2, intercept, standardize):
    C = 1.0 / l2
    if standardize:
        # without an intercept, standardization scales only (docs/MODELS.md)
        sc = StandardScaler(with_mean=intercept).fit(X)
        Z = sc.transform(X)
        m = LogisticRegression(C=C, fit_intercept=intercept, solver="newton-cholesky",
                               tol=1e-12, max_iter=1000).fit(Z, y)
        coef = m.coef_[0] / sc.scale_
        icpt = (m.intercept_[0] - np.sum(m.coef_[0] * sc.mean_ / sc.scale_)) if intercept else 0.0
        return coef, icpt
    m = LogisticRegression(C=C, fit_intercept=intercept, solver="newton-cholesky", tol=1e-12,
                           max_iter=1000).fit(X, y)
    return m.coef_[0], (m.intercept_[0] if intercept else 0.0)


cases = [(1.0, True, False), (0.1, True, False), (10.0, True, False), (1.0, False, False),
         (1.0, True, True), (0.05, True, True), (0.5, False, True)]
for l2, intercept, standardize in cases:
    args = ["logreg", "--label", "diagnosis", "--l2", l2]
    if not intercept:
        args.append("--no-intercept")
    if standardize:
        args.append("--standardize")
    want_coef, want_icpt = sk_fit(l2, intercept, standardize)
    tag = "l2=%g intercept=%s std=%s" % (l2, intercept, standardize)
    for files, bs in ((owners, 64), (["whole.csv"], 8192)):
        got = run_tool(*args, "--block-rows", bs, *files)
        c.check(got["n"] == n, tag + ": row count")
        floor = 1e-3 * np.max(np.abs(want_coef))
        worst = c.close(got["coef"], want_coef, RTOL, tag + " coef", floor)
        if intercept:
            c.close(got["intercept"], want_icpt, RTOL, tag + " intercept")
        print("%s files=%d: worst rel coef diff %.2e, iterations %d" % (tag, len(files), worst,
                                                                           got["iterations"]))
    # the union of the owners equals the whole up to summation order
    a = run_tool(*args, *owners)
    b = run_tool(*args, "whole.csv")
    c.close(a["coef"], b["coef"], 1e-7, tag + " owners vs whole", 1e-3 * np.max(np.abs(b["coef"])))

# a second solver as oracle: newton-cg on standardized data
sc = StandardScaler().fit(X)
Z = sc.transform(X)
m = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-10, max_iter=10000).fit(Z, y)
got = run_tool("logreg", "--label", "diagnosis", "--l2", 1.0, "--standardize", *owners)
c.close(got["coef"], m.coef_[0] / sc.scale_, RTOL, "newton-cg standardized coef",
        1e-3 * np.max(np.abs(m.coef_[0] / sc.scale_)))
# sklearn's default lbfgs stops early; our optimum must be at least as good
lb = LogisticRegression(C=1.0, solver="lbfgs", tol=1e-12, max_iter=100000).fit(Z, y)


def sk_objective(w, b):
    e = Z @ w + b
    return np.sum(np.logaddexp(0, e) - y * e) + 0.5 * np.sum(w * w)


ours = sk_objective(np.array(got["coef"]) * sc.scale_,
                    got["intercept"] + np.sum(np.array(got["coef"]) * sc.mean_))
c.check(ours <= sk_objective(lb.coef_[0], lb.intercept_[0]) + 1e-9,
        "objective %r not <= lbfgs's" % ours)

# the objective reported is sklearn's: sum logloss + ||w||^2 / (2C)
eta = X @ np.array(got["coef"]) + got["intercept"]
obj = np.sum(np.logaddexp(0, eta) - y * eta) + 0.5 * np.sum((np.array(got["coef"]) * sc.scale_) ** 2)
c.close(got["objective"], obj, 1e-10, "objective")

# unpenalised fit on a non-separable subset of features vs statsmodels Logit
# (maximum likelihood): parameters and standard errors
import statsmodels.api as sm  # noqa: E402

sub = [0, 1, 4]
lg = sm.Logit(y, sm.add_constant(X[:, sub])).fit(method="newton", tol=1e-12, maxiter=100,
                                                   disp=0)
got = run_tool("logreg", "--label", "diagnosis", "--l2", 0, "--features",
               ",".join("f%d" % j for j in sub), *owners)
c.close(got["coef"], lg.params[1:], 1e-8, "Logit params")
c.close(got["intercept"], lg.params[0], 1e-8, "Logit const")
c.close(got["se"], lg.bse[1:], 1e-6, "Logit bse")
c.close(got["se_intercept"], lg.bse[0], 1e-6, "Logit const bse")

# perturbing the data must change the answer (the comparison can fail)
d2 = data.copy()
d2[:50, p] = 1 - d2[:50, p]
np.savetxt("flipped.csv", d2, delimiter=",", header=header, comments="", fmt="%.17g")
bad = run_tool("logreg", "--label", "diagnosis", "--l2", 1.0, "flipped.csv")
want_coef, _ = sk_fit(1.0, True, False)
diff = np.max(np.abs(np.array(bad["coef"]) - want_coef) / np.maximum(np.abs(want_coef), 1e-3))
c.check(diff > 1e-2, "flipped labels must change the coefficients")
c.finish()
