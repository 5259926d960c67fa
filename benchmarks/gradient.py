"""Benchmark: one evaluation of the log density and its gradient, as nutpie's sampler calls it.

Run: ./dev python benchmarks/gradient.py [--spec migration_2022] [--level municipality]
     [--calls 3000] [--baseline REF]  (also times git REF's model code with this script,
     REF's checkout first on the import path, and prints the ratio)

Builds the spec's model on the default synthetic panel, compiles it with nutpie (numba
backend, this project's wrappers) and calls the compiled C function directly, on one core,
at jittered points around the initial point, after a second of calls: a process's first
few hundred calls carry a one-off cost of about 0.3 s, which otherwise lands in the timed
calls or not depending on unrelated imports (0.31 against 0.22 ms a call). Prints the
compile time and the time per call: sampling costs about 14 such calls a draw
(benchmarks/RESULTS.md, issue 17).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from attrbayes.config import load_spec
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.registry import model_class
from attrbayes.synthetic import synthesize_panel

WARM_UP_S = 1.0  # seconds of calls before the timed ones


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", default="migration_2022")
    parser.add_argument("--level", default="municipality")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--baseline", help="git ref whose model code to time beside")
    args = parser.parse_args()

    import nutpie

    try:
        from attrbayes.models import nutpie_wrappers
    except ImportError:  # a baseline before the project's own wrappers: nutpie's
        nutpie_wrappers = None

    spec = load_spec(args.spec)
    design = build_design(compute_features(synthesize_panel().panel, args.level), spec)
    model = model_class(spec.kind)(design, spec).build()
    if nutpie_wrappers is not None:
        nutpie_wrappers.install()
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    print(f"spec {spec.name}, {design.n} rows, {compiled.n_dim} parameters; "
          f"compile {time.perf_counter() - start:.1f} s")  # fmt: skip
    func = compiled.compiled_logp_func.ctypes
    user_data = ctypes.c_void_p(compiled.user_data.ctypes.data)
    grad, logp = np.zeros(compiled.n_dim), np.zeros(())
    double = ctypes.POINTER(ctypes.c_double)
    rng = np.random.default_rng(0)
    points = [rng.normal(size=compiled.n_dim) * 0.1 for _ in range(16)]

    def call(x: np.ndarray) -> int:
        return func(len(x), x.ctypes.data_as(double), grad.ctypes.data_as(double),
                    logp.ctypes.data_as(double), user_data)  # fmt: skip

    with threadpool_limits(limits=1, user_api="blas"):
        start, k = time.perf_counter(), 0
        while time.perf_counter() - start < WARM_UP_S:
            call(points[k % len(points)])
            k += 1
        start = time.perf_counter()
        for k in range(args.calls):
            call(points[k % len(points)])
        per_call = (time.perf_counter() - start) / args.calls
    print(f"log density and gradient: {per_call * 1e3:.3f} ms a call "
          f"({per_call / design.n * 1e9:.0f} ns a row)")  # fmt: skip
    if args.baseline:
        from _baseline import worktree

        tree = worktree(args.baseline)
        same = ["--spec", args.spec, "--level", args.level, "--calls", str(args.calls)]
        done = subprocess.run([sys.executable, __file__, *same], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(tree)}, check=True)  # fmt: skip
        old = float(re.search(r"gradient: ([0-9.]+) ms", done.stdout).group(1))
        print(f"baseline {args.baseline}: {old:.3f} ms a call; now "
              f"{per_call * 1e3 / old:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
