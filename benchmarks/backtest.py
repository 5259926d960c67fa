"""Benchmark: a rolling-origin backtest on the default synthetic panel (MODEL.md 6.5).

Run: ./dev python benchmarks/backtest.py [--origin 2013] [--horizon 1 --horizon 3 ...]
     [--chains 4] [--mcmc-draws 500] [--tune 500] [--draws 500] [--out runs/backtest]
     [--migration-spec migration_2022_immigration]

356 places, 2000-2023: the migration_2022 and jobs_2022 models are refitted on the panel
as known on 1 January of each origin (4 chains x 500 draws by default), projected to the
origin + 10 with the observed national paths, and scored against the observed population
at horizons 1, 3, 5 and 10, beside the OLS point method. Prints the summary by method,
scenario, horizon and size class, and the wall time. (The real panel is for the lead to
run: ``attrbayes backtest --data PANEL ...``.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origin", type=int, action="append")
    parser.add_argument("--horizon", type=int, action="append")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--mcmc-draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500, help="projection draws")
    parser.add_argument("--migration-spec", default="migration_2022")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from attrbayes.config import SamplerConfig
    from attrbayes.data.synthetic import synthesize_panel
    from attrbayes.diagnostics.backtest import backtest

    start = time.perf_counter()
    panel = synthesize_panel().panel
    sampler = SamplerConfig(chains=args.chains, draws=args.mcmc_draws, tune=args.tune)

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f}s] {msg}", flush=True)

    result = backtest(
        panel, args.origin or [2013], args.horizon or [1, 3, 5, 10], sampler=sampler,
        draws=args.draws, migration_spec=args.migration_spec, progress=say,
    )  # fmt: skip
    wall = time.perf_counter() - start
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.summary().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for note in result.notes:
        print(note)
    if args.out is not None:
        result.save(args.out)
        print(f"written to {args.out}")
    print(f"wall time {wall:.0f} s")


if __name__ == "__main__":
    main()
