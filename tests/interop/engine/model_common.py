"""Shared helpers of the models' interop tests (not a test itself)."""
import json
import os
import subprocess
import sys


def tool():
    t = os.environ.get("SR_MODELS_TOOL")
    if t:
        return t
    return os.path.join(os.environ["SR_BUILD_DIR"], "tests", "sr_models_tool")


def run_tool(*args):
    p = subprocess.run([tool(), *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("sr_models_tool %s failed (%d)" % (" ".join(map(str, args)), p.returncode))
    return json.loads(p.stdout)


class Checker:
    def __init__(self):
        self.failures = 0
        self.checks = 0

    def check(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures += 1
            print("FAIL:", what)

    def close(self, got, want, rtol, what, floor=0.0):
        """|got - want| <= rtol * max(|want|, floor), element-wise."""
        if isinstance(want, (list, tuple)) or hasattr(want, "__len__"):
            self.check(len(got) == len(want), "%s: length %d != %d" % (what, len(got), len(want)))
            worst = 0.0
            for i, (g, w) in enumerate(zip(got, want)):
                err = abs(g - w) / max(abs(w), floor, 1e-300)
                worst = max(worst, err)
                self.check(err <= rtol, "%s[%d]: %r vs %r (rel %.3g)" % (what, i, g, w, err))
            return worst
        err = abs(got - want) / max(abs(want), floor, 1e-300)
        self.check(err <= rtol, "%s: %r vs %r (rel %.3g)" % (what, got, want, err))
        return err

    def finish(self):
        print("%d checks, %d failures" % (self.checks, self.failures))
        sys.exit(1 if self.failures else 0)
