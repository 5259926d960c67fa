"""Benchmark: a backtest grid on Dask with 1 and 2 local workers, beside the same grid in
one process (issue 20).

Run: ./dev python benchmarks/sweep.py [--places 60] [--origins 2012,2014] [--specs
     migration_2022,migration_2022_rw] [--chains 2] [--draws 300]

Synthetic panel (seed 20240101) of ``--places`` municipalities, 2000-2016; each task
refits both equations with nutpie on the panel cut at its origin, projects 100 draws two
years ahead and scores them. The grid's scores are compared across the three runs (they
must be identical: every task seeds its own fits and projection).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--places", type=int, default=60)
    parser.add_argument("--origins", default="2012,2014")
    parser.add_argument("--specs", default="migration_2022,migration_2022_rw")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=300)
    args = parser.parse_args()

    import pandas as pd

    from attrbayes.config import SamplerConfig
    from attrbayes.data.panel import read_panel
    from attrbayes.diagnostics.backtest import backtest
    from attrbayes.diagnostics.sweep import Cluster, run_sweep
    from attrbayes.synthetic import synthesize_panel

    origins = [int(o) for o in args.origins.split(",")]
    specs = args.specs.split(",")
    sampler = SamplerConfig(chains=args.chains, draws=args.draws, tune=args.draws)
    options = {"horizons": [1, 2], "draws": 100, "sampler": sampler}
    root = Path(tempfile.mkdtemp(prefix="attrbayes-sweep-"))
    try:
        synthesize_panel(n_places=args.places, first_year=2000, last_year=2016).write(
            root / "panel"
        )
        keys = ["method", "spec", "origin", "horizon", "scenario", "place"]
        times, scores = {}, {}
        start = time.perf_counter()
        direct = backtest(read_panel(root / "panel"), origins, migration_spec=specs, **options)
        times["in one process"] = time.perf_counter() - start
        scores["in one process"] = direct.scores.sort_values(keys).reset_index(drop=True)
        for workers in (1, 2):
            start = time.perf_counter()
            sweep = run_sweep(root / "panel", origins, specs, root / f"grid{workers}",
                              cluster=Cluster(workers=workers), **options)  # fmt: skip
            name = f"Dask, {workers} worker(s)"
            times[name] = time.perf_counter() - start
            assert not sweep.failed, sweep.failed
            scores[name] = sweep.result.scores.sort_values(keys).reset_index(drop=True)
        tasks = len(origins) * len(specs)
        print(f"{tasks} tasks ({len(origins)} origins x {len(specs)} specs), {args.places} "
              f"places, nutpie {args.chains} x {args.draws}")  # fmt: skip
        base = times["in one process"]
        for name, seconds in times.items():
            same = scores[name].equals(scores["in one process"])
            print(f"  {name:<22} {seconds:6.1f} s   x{base / seconds:4.2f}   same scores: {same}")
        pd.testing.assert_frame_equal(scores["Dask, 1 worker(s)"], scores["Dask, 2 worker(s)"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
