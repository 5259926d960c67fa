"""Benchmark: one evaluation of the log density and its gradient, as nutpie's sampler calls it.

Run: ./dev python benchmarks/gradient.py [--spec migration_2022] [--level municipality]
     [--calls 3000]

Builds the spec's model on the default synthetic panel, compiles it with nutpie (numba
backend, this project's wrappers) and calls the compiled C function directly, on one core,
at jittered points around the initial point. Prints the compile time and the time per call:
sampling costs about 14 such calls a draw (benchmarks/RESULTS.md, issue 17).
"""

from __future__ import annotations

import argparse
import ctypes
import time

import numpy as np
from threadpoolctl import threadpool_limits

from attrbayes.config import load_spec
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.registry import model_class
from attrbayes.synthetic import synthesize_panel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", default="migration_2022")
    parser.add_argument("--level", default="municipality")
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()

    import nutpie

    from attrbayes.models import nutpie_wrappers

    spec = load_spec(args.spec)
    design = build_design(compute_features(synthesize_panel().panel, args.level), spec)
    model = model_class(spec.kind)(design, spec).build()
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
        for x in points:
            call(x)
        start = time.perf_counter()
        for k in range(args.calls):
            call(points[k % len(points)])
        per_call = (time.perf_counter() - start) / args.calls
    print(f"log density and gradient: {per_call * 1e3:.3f} ms a call "
          f"({per_call / design.n * 1e9:.0f} ns a row)")  # fmt: skip


if __name__ == "__main__":
    main()
