"""Kaplan–Meier vs R survival::survfit on the `lung` and `pbc` data sets
(r-cran-survival), overall and by sex: at every distinct time the number at
risk, events, censorings, survival and the Greenwood standard error
(survfit's std.err, on the log scale) agree to 1e-9; survival and its
standard error at declared time points agree with summary(fit, times=)."""
import csv
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_common import Checker, run_tool  # noqa: E402

R = r'''
suppressMessages(library(survival))
d1 <- data.frame(time = lung$time, event = as.integer(lung$status == 2), sex = lung$sex)
d2 <- data.frame(time = pbc$time, event = as.integer(pbc$status == 2),
                 sex = as.integer(pbc$sex == "f"))
write.csv(d1, "lung.csv", row.names = FALSE)
write.csv(d2, "pbc.csv", row.names = FALSE)
at <- c(0, 100, 180.5, 365, 730, 1000, 2000, 3000)
dump <- function(d, name) {
  for (g in c("all", "sex")) {
    f <- if (g == "all") survfit(Surv(time, event) ~ 1, data = d)
         else survfit(Surv(time, event) ~ sex, data = d)
    grp <- if (g == "all") rep(0, length(f$time))
           else rep(as.integer(sub("sex=", "", names(f$strata))), f$strata)
    out <- data.frame(group = grp, time = f$time, n_risk = f$n.risk, n_event = f$n.event,
                      n_censor = f$n.censor, surv = sprintf("%.17g", f$surv),
                      std_err = sprintf("%.17g", f$std.err))
    write.csv(out, sprintf("%s_%s_curve.csv", name, g), row.names = FALSE, quote = FALSE)
    s <- summary(f, times = at, extend = TRUE)
    sg <- if (g == "all") rep(0, length(s$time))
          else as.integer(sub("sex=", "", as.character(s$strata)))
    out <- data.frame(group = sg, time = s$time, surv = sprintf("%.17g", s$surv),
                      std_err = sprintf("%.17g", s$std.err))
    write.csv(out, sprintf("%s_%s_at.csv", name, g), row.names = FALSE, quote = FALSE)
  }
}
dump(d1, "lung")
dump(d2, "pbc")
'''
with open("export.R", "w") as f:
    f.write(R)
subprocess.run(["Rscript", "export.R"], check=True)

AT = "0,100,180.5,365,730,1000,2000,3000"


def rnum(s):
    if s in ("NA", "NaN", "Inf", "-Inf"):
        return float("inf")
    return float(s)


def same(a, b, tol):
    if a is None:
        a = float("inf")
    if b == float("inf") or a == float("inf"):
        return a == b or (a != a and b != b)
    return abs(a - b) <= tol * max(1.0, abs(b))


c = Checker()
for name in ("lung", "pbc"):
    # split the rows across two "owners" to exercise the merge
    with open(name + ".csv") as f:
        rows = f.read().splitlines()
    half = len(rows) // 2
    with open(name + "_a.csv", "w") as f:
        f.write("\n".join(rows[:half]) + "\n")
    with open(name + "_b.csv", "w") as f:
        f.write("\n".join([rows[0]] + rows[half:]) + "\n")
    for g in ("all", "sex"):
        args = ["km", "--time", "time", "--event", "event", "--at", AT, "--block-rows", 37]
        if g == "sex":
            args += ["--group", "sex"]
        got = run_tool(*args, name + "_a.csv", name + "_b.csv")
        want = list(csv.DictReader(open("%s_%s_curve.csv" % (name, g))))
        groups = {int(x["group"]) for x in want}
        c.check(len(got["groups"]) == len(groups), "%s %s: group count" % (name, g))
        npts = 0
        for gr in got["groups"]:
            gv = int(gr["group"]) if g == "sex" else 0
            w = [x for x in want if int(x["group"]) == gv]
            tag = "%s %s group %d" % (name, g, gv)
            c.check(len(w) == len(gr["time"]), tag + ": %d points vs %d" % (len(gr["time"]), len(w)))
            for i, x in enumerate(w[:len(gr["time"])]):
                c.check(gr["time"][i] == float(x["time"]), tag + " time[%d]" % i)
                c.check(gr["n_risk"][i] == float(x["n_risk"]), tag + " n_risk[%d]" % i)
                c.check(gr["n_event"][i] == float(x["n_event"]), tag + " n_event[%d]" % i)
                c.check(gr["n_censor"][i] == float(x["n_censor"]), tag + " n_censor[%d]" % i)
                c.check(same(gr["surv"][i], rnum(x["surv"]), 1e-9),
                        tag + " surv[%d] %r vs %s" % (i, gr["surv"][i], x["surv"]))
                c.check(same(gr["se_log"][i], rnum(x["std_err"]), 1e-9),
                        tag + " std.err[%d] %r vs %s" % (i, gr["se_log"][i], x["std_err"]))
                npts += 1
            wa = [x for x in csv.DictReader(open("%s_%s_at.csv" % (name, g)))
                  if int(x["group"]) == gv]
            for x in wa:
                k = gr["at"].index(float(x["time"]))
                c.check(same(gr["at_surv"][k], rnum(x["surv"]), 1e-9),
                        tag + " at %s surv %r vs %s" % (x["time"], gr["at_surv"][k], x["surv"]))
                c.check(same(gr["at_se"][k], rnum(x["std_err"]), 1e-9),
                        tag + " at %s se %r vs %s" % (x["time"], gr["at_se"][k], x["std_err"]))
        print("%s %s: %d curve points compared" % (name, g, npts))
        c.check(npts > 50, "%s %s: enough points" % (name, g))
c.finish()
