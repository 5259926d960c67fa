"""Benchmark: the default migration fit's time and memory against the number of places
(issue 20).

Run: ./dev python benchmarks/scaling.py [--places 356,1000,2000] [--chains 4] [--draws 1000]
     [--backend numba|jax|both] [--gradient-only]

Each size runs in its own process (so that its peak memory is its own): a synthetic panel
of N places, 2000-2023 (seed 20240101), municipality features, then ``migration_2022``
with nutpie (4 chains x 1,000 draws after 1,000 tuning by default). Printed per size:
observations, seconds to synthesise, compile and sample, sampling time per observation,
peak memory, the diagnostics gate, and the time of one evaluation of the log density and
its gradient at a point near the prior's (mean of 200 after 20 to warm up; per
observation in microseconds), the cost that sampling repeats. ``--backend both`` fits each
size with nutpie's numba backend (the default) and its JAX backend, one after the other;
``--gradient-only`` times the gradient without sampling.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from threadpoolctl import threadpool_limits


def one(n: int, chains: int, draws: int, backend: str, sampling: bool) -> dict:
    from attrbayes.config import SamplerConfig
    from attrbayes.features.design import compute_features
    from attrbayes.runs import prepare_fit
    from attrbayes.synthetic import synthesize_panel

    start = time.perf_counter()
    panel = synthesize_panel(n_places=n).panel
    synth = time.perf_counter() - start
    prepared = prepare_fit(compute_features(panel, "municipality"), "migration_2022",
                           level="municipality")  # fmt: skip
    out = {"places": n, "observations": int(prepared.model.design.n), "synth_s": synth,
           "gradient_s": gradient_seconds(prepared.model, backend)}  # fmt: skip
    if sampling:
        fit = prepared.model.fit(SamplerConfig(chains=chains, draws=draws, tune=draws,
                                               backend=backend))  # fmt: skip
        out |= {"compile_s": fit.timings["compile_s"], "sampling_s": fit.timings["sampling_s"],
                "gate": fit.convergence().summary_line()}  # fmt: skip
    return out | {"peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def gradient_seconds(model, backend: str, repeat: int = 200) -> float:
    """Seconds per evaluation of the log density and its gradient, as nutpie compiles
    them: numba with PyTensor's gradient, or JAX differentiating its own function."""
    import numpy as np
    import pytensor
    import pytensor.tensor as pt
    from pymc.model.transform.optimization import freeze_dims_and_data

    with threadpool_limits(limits=1, user_api="blas"):  # as fits run
        m = freeze_dims_and_data(model.build())
        inputs, logp = m.value_vars, m.logp()
        rng = np.random.default_rng(0)
        point = [v + rng.normal(0, 0.05, np.shape(v)) for v in m.initial_point().values()]
        if backend == "numba":
            fn = pytensor.function(inputs, [logp, *pt.grad(logp, inputs)], mode="NUMBA")
        else:
            import jax
            from pymc.sampling.jax import get_jaxified_graph

            from attrbayes.models import kalman_jax

            kalman_jax.register()
            jaxified = get_jaxified_graph(inputs=inputs, outputs=[logp])
            grad = jax.jit(jax.value_and_grad(lambda *x: jaxified(*x)[0],
                                              argnums=tuple(range(len(inputs)))))  # fmt: skip

            def fn(*x):
                return jax.block_until_ready(grad(*x))

        for _ in range(20):
            fn(*point)
        start = time.perf_counter()
        for _ in range(repeat):
            fn(*point)
        return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--places", default="356,1000,2000")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--backend", choices=("numba", "jax", "both"), default="numba")
    parser.add_argument("--gradient-only", action="store_true", help="time no sampling")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.chains, args.draws, args.backend,
                             not args.gradient_only)))  # fmt: skip
        return
    what = "gradient only" if args.gradient_only else (
        f"nutpie {args.chains} x {args.draws} (+{args.draws} tuning)")  # fmt: skip
    print(f"migration_2022, {what}")
    backends = ("numba", "jax") if args.backend == "both" else (args.backend,)
    base = None
    for n, backend in ((int(p), b) for p in args.places.split(",") for b in backends):
        command = [sys.executable, __file__, "--one", str(n), "--chains", str(args.chains),
                   "--draws", str(args.draws), "--backend", backend]  # fmt: skip
        command += ["--gradient-only"] if args.gradient_only else []
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        grad = r["gradient_s"] / r["observations"] * 1e6
        line = (f"{backend:>5} {r['places']:>6} places {r['observations']:>7} obs  "
                f"synth {r['synth_s']:6.1f} s  gradient {r['gradient_s'] * 1e3:7.2f} ms "
                f"({grad:.3f} us/obs)")  # fmt: skip
        if "sampling_s" in r:
            per_obs = r["sampling_s"] / r["observations"] * 1e3
            base = base or per_obs
            line += (f"  compile {r['compile_s']:5.1f} s  sampling {r['sampling_s']:7.1f} s  "
                     f"({per_obs:.2f} ms/obs, x{per_obs / base:.2f})")  # fmt: skip
        print(f"{line}  peak {r['peak_gb']:.2f} GB", flush=True)
        if "gate" in r:
            print(f"       {r['gate']}", flush=True)


if __name__ == "__main__":
    main()
