"""Benchmark: the default migration fit's time and memory against the number of places
(issue 20).

Run: ./dev python benchmarks/scaling.py [--places 356,1000,2000] [--chains 4] [--draws 1000]
     [--backend numba|jax|both]

Each size runs in its own process (so that its peak memory is its own): a synthetic panel
of N places, 2000-2023 (seed 20240101), municipality features, then ``migration_2022``
with nutpie (4 chains x 1,000 draws after 1,000 tuning by default). Printed per size:
observations, seconds to synthesise, compile and sample, sampling time per observation,
peak memory, and the diagnostics gate. ``--backend both`` fits each size with nutpie's
numba backend (the default) and its JAX backend, one after the other.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(n: int, chains: int, draws: int, backend: str) -> dict:
    from attrbayes.config import SamplerConfig
    from attrbayes.features.design import compute_features
    from attrbayes.runs import prepare_fit
    from attrbayes.synthetic import synthesize_panel

    start = time.perf_counter()
    panel = synthesize_panel(n_places=n).panel
    synth = time.perf_counter() - start
    prepared = prepare_fit(compute_features(panel, "municipality"), "migration_2022",
                           level="municipality")  # fmt: skip
    fit = prepared.model.fit(SamplerConfig(chains=chains, draws=draws, tune=draws,
                                           backend=backend))  # fmt: skip
    gate = fit.convergence()
    return {"places": n, "observations": int(fit.design.n), "synth_s": synth,
            "compile_s": fit.timings["compile_s"], "sampling_s": fit.timings["sampling_s"],
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "gate": gate.summary_line()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--places", default="356,1000,2000")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--backend", choices=("numba", "jax", "both"), default="numba")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.chains, args.draws, args.backend)))
        return
    print(f"migration_2022, nutpie {args.chains} x {args.draws} (+{args.draws} tuning)")
    backends = ("numba", "jax") if args.backend == "both" else (args.backend,)
    base = None
    for n, backend in ((int(p), b) for p in args.places.split(",") for b in backends):
        done = subprocess.run([sys.executable, __file__, "--one", str(n), "--chains",
                               str(args.chains), "--draws", str(args.draws), "--backend",
                               backend], capture_output=True, text=True, check=True)  # fmt: skip
        r = json.loads(done.stdout.strip().splitlines()[-1])
        per_obs = r["sampling_s"] / r["observations"] * 1e3
        base = base or per_obs
        print(f"{backend:>5} {r['places']:>6} places {r['observations']:>7} obs  "
              f"synth {r['synth_s']:6.1f} s  "
              f"compile {r['compile_s']:5.1f} s  sampling {r['sampling_s']:7.1f} s  "
              f"({per_obs:.2f} ms/obs, x{per_obs / base:.2f})  peak {r['peak_gb']:.2f} GB\n"
              f"       {r['gate']}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
