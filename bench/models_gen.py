#!/usr/bin/python3
"""Deterministic logistic-regression benchmark data: N rows x P features.

Writes OUT as raw little-endian float64, column-major: P feature columns then
the 0/1 label column, N values each (the layout `sr_models_tool --bin OUT --p P`
reads). Features have mixed scales and offsets; labels are drawn from the
logistic model with fixed true coefficients. Seeded: same bytes every run.

usage: models_gen.py OUT [N] [P] [SEED]"""
import sys

import numpy as np


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000_000
    p = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 20261124
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, p) / np.sqrt(p)
    scale = np.exp(rng.uniform(-1, 1, p))
    shift = rng.uniform(-2, 2, p)
    eta = np.full(n, -0.5)
    with open(out, "wb") as f:
        for j in range(p):
            col = rng.normal(0, 1, n)
            eta += w[j] * col
            (col * scale[j] + shift[j]).astype("<f8").tofile(f)
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype("<f8")
        y.tofile(f)


if __name__ == "__main__":
    main()
