"""Cox proportional hazards vs R survival::coxph on `lung` and `pbc`
(r-cran-survival), Efron and Breslow ties: coefficients, standard errors and
the log partial likelihood agree to 1e-6 relative (coxph run to eps 1e-12)."""
import csv
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_common import Checker, run_tool  # noqa: E402

R = r'''
suppressMessages(library(survival))
l <- na.omit(data.frame(time = lung$time, event = as.integer(lung$status == 2),
                        age = lung$age, sex = lung$sex, ecog = lung$ph.ecog,
                        wtloss = lung$wt.loss))
p <- na.omit(data.frame(time = pbc$time, event = as.integer(pbc$status == 2), age = pbc$age,
                        edema = pbc$edema, lbili = log(pbc$bili), lalb = log(pbc$albumin),
                        lprot = log(pbc$protime)))
write.csv(l, "lung.csv", row.names = FALSE)
write.csv(p, "pbc.csv", row.names = FALSE)
ctl <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-15)
fits <- list(
  lung_efron = coxph(Surv(time, event) ~ age + sex + ecog + wtloss, data = l, ties = "efron", control = ctl),
  lung_breslow = coxph(Surv(time, event) ~ age + sex + ecog + wtloss, data = l, ties = "breslow", control = ctl),
  pbc_efron = coxph(Surv(time, event) ~ age + edema + lbili + lalb + lprot, data = p, ties = "efron", control = ctl),
  pbc_breslow = coxph(Surv(time, event) ~ age + edema + lbili + lalb + lprot, data = p, ties = "breslow", control = ctl))
for (nm in names(fits)) {
  f <- fits[[nm]]
  out <- data.frame(name = names(coef(f)), coef = sprintf("%.17g", coef(f)),
                    se = sprintf("%.17g", sqrt(diag(vcov(f)))),
                    loglik = sprintf("%.17g", f$loglik[2]))
  write.csv(out, paste0(nm, ".csv"), row.names = FALSE, quote = FALSE)
}
'''
with open("export.R", "w") as f:
    f.write(R)
subprocess.run(["Rscript", "export.R"], check=True)

c = Checker()
FEATS = {"lung": "age,sex,ecog,wtloss", "pbc": "age,edema,lbili,lalb,lprot"}
for data in ("lung", "pbc"):
    for ties in ("efron", "breslow"):
        want = list(csv.DictReader(open("%s_%s.csv" % (data, ties))))
        got = run_tool("cox", "--time", "time", "--event", "event", "--features", FEATS[data],
                       "--ties", ties, "--block-rows", 50, data + ".csv")
        tag = "%s %s" % (data, ties)
        c.close(got["coef"], [float(w["coef"]) for w in want], 1e-6, tag + " coef")
        c.close(got["se"], [float(w["se"]) for w in want], 1e-6, tag + " se")
        c.close(got["loglik"], float(want[0]["loglik"]), 1e-9, tag + " loglik")
        print("%s: coef %s, %d iterations" % (tag, got["coef"], got["iterations"]))
c.finish()
