"""Model outputs stream over the data: `sealroom analyze --model-memory 1`
(at most 1 MiB of model rows held, then re-read the data on every pass)
fitting a logistic regression (16 features) on N and on 8N rows must reach
about the same peak RSS (getrusage of the child). Holding the model rows in
memory would add (8N - N) x 17 doubles = 48 MB at N = 50000 (more with
growth slack); the bound allowed is 16 MB, while the streamed run adds only
a 1-bit-per-row bitmap (44 KB). Small integer values keep the CSV files
small (2 bytes a field against 8 in memory)."""
import json
import os
import subprocess
import sys

import numpy as np

SEALROOM = os.environ["SEALROOM"]
P = 16
N = 50000
BOUND_KB = 16 * 1024


def write(path, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, size=(n, P))
    eta = 0.3 * (x[:, 0] - 4.5) - 0.2 * (x[:, 1] - 4.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    with open(path, "w") as f:
        f.write(",".join([f"x{j}" for j in range(P)] + ["y"]) + "\n")
        np.savetxt(f, np.column_stack([x, y]), fmt="%d", delimiter=",")


def recipe():
    names = [f"x{j}" for j in range(P)]
    return {"version": 1,
            "consortium": {"name": "mem", "app_id": "0x00112233445566778899aabbccddeeff00112233",
                           "owners": [{"id": "a", "address": "0x3EeBe73e7136573878c460A56CeEBD2ee93f138E"}]},
            "datasets": {"a": {"schema": [{"name": n, "type": "int"} for n in names + ["y"]]}},
            "analysis": {"sources": {"union": ["a"]}},
            "outputs": [{"name": "lr", "type": "logistic_regression", "features": names, "label": "y",
                         "l2": 1, "intercept": True, "standardize": True, "privacy": "none"}],
            "privacy": {"epsilon": 0}}


# Linux counts the RSS a child had at fork (this process, numpy loaded) in
# its peak; a small helper process without numpy runs the command and
# reports the peak of its waited-for children.
HELPER = r"""
import resource, subprocess, sys
with open("out.json", "wb") as fo, open("err.txt", "wb") as fe:
    rc = subprocess.call(sys.argv[1:], stdout=fo, stderr=fe)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_kb(csv):
    p = subprocess.run([sys.executable, "-c", HELPER, SEALROOM, "analyze", "--recipe", "recipe.json",
                        "--data", f"a={csv}", "--json", "--model-memory", "1"], capture_output=True, text=True, check=True)
    rc, rss = map(int, p.stdout.split())
    assert rc == 0, open("err.txt").read()
    out = open("out.json").read()
    res = json.loads(out)
    coef = res["outputs"]["lr"]["coefficients"]
    assert coef["x0"] > 0.2 and coef["x1"] < -0.1, coef
    return rss


def main():
    with open("recipe.json", "w") as f:
        json.dump(recipe(), f)
    write("small.csv", N, 1)
    write("large.csv", 8 * N, 2)
    small = peak_rss_kb("small.csv")
    large = peak_rss_kb("large.csv")
    print(f"peak RSS: {N} rows {small} KB, {8 * N} rows {large} KB")
    assert large - small < BOUND_KB, f"model memory grows with rows: {small} KB -> {large} KB"
    print("ok: model memory does not grow with rows")


if __name__ == "__main__":
    main()
    sys.exit(0)
