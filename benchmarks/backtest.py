"""Benchmark: rolling-origin backtests on the synthetic panel (MODEL.md 6.5).

Run: ./dev python benchmarks/backtest.py [--origin 2013] [--horizon 1 --horizon 3 ...]
     [--chains 4] [--mcmc-draws 500] [--tune 500] [--draws 500] [--out runs/backtest]
     [--migration-spec migration_2022_immigration] [--processes]
     [--long] [--first-year 1980] [--truth-process random_walk|ar1] [--scenario historical]

Default: 356 places, 2000-2023; the migration_2022 and jobs_2022 models are refitted on the
panel as known on 1 January of each origin (4 chains x 500 draws), projected to the
origin + 10 with the observed national paths, and scored against the observed population
at horizons 1, 3, 5 and 10, beside the OLS point method.

``--long`` simulates a long history (1980-2023) so that backtests reach 20 years ahead:
origins 1998 and 2003, horizons 1, 5, 10, 15 and 20. ``--truth-process ar1`` draws the
true centrality coefficient as a mean-reverting AR(1) instead of a random walk.
``--processes`` backtests every forecast process of the coefficient (random walk, AR(1),
yearly deviations; each with and without the immigration link), written as variants of
the (first) migration spec. With a job-only centrality spec the projected coefficient is
scored against the synthetic truth too.

Prints the population summary by method, spec, horizon and size class, the coefficient
summary by spec and horizon, and the wall time. (The real panel is for the lead to run:
``attrbayes backtest --data PANEL ...``.)
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import pandas as pd

PROCESSES = ("random_walk", "ar1", "hierarchical")


def spec_variants(base: str, directory: Path) -> list[str]:
    """The spec ``base`` once per coefficient process, with and without the immigration
    link, written to ``directory`` as ``BASE__PROCESS[_immigration].toml``."""
    from attrbayes.config import load_spec

    spec = load_spec(base)
    text = re.sub(r"\n\[time_varying\]\n[^\[]*", "\n", spec.source_text).rstrip()
    paths = []
    for process in PROCESSES:
        for link in (False, True):
            name = f"{spec.name}__{process}{'_immigration' if link else ''}"
            path = directory / f"{name}.toml"
            path.write_text(f'{text}\n\n[time_varying]\ncentrality = "{process}"\n'
                            f"immigration = {str(link).lower()}\n", encoding="utf-8")  # fmt: skip
            paths.append(str(path))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origin", type=int, action="append")
    parser.add_argument("--horizon", type=int, action="append")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--mcmc-draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500, help="projection draws")
    parser.add_argument("--migration-spec", action="append")
    parser.add_argument("--processes", action="store_true")
    parser.add_argument("--long", action="store_true")
    parser.add_argument("--first-year", type=int)
    parser.add_argument("--truth-process", default="random_walk")
    parser.add_argument("--scenario", action="append")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from attrbayes.config import SamplerConfig, load_spec
    from attrbayes.diagnostics.backtest import backtest
    from attrbayes.synthetic import synthesize_panel

    start = time.perf_counter()
    first = args.first_year or (1980 if args.long else 2000)
    synthetic = synthesize_panel(first_year=first, centrality_process=args.truth_process)
    origins = args.origin or ([1998, 2003] if args.long else [2013])
    horizons = args.horizon or ([1, 5, 10, 15, 20] if args.long else [1, 3, 5, 10])
    sampler = SamplerConfig(chains=args.chains, draws=args.mcmc_draws, tune=args.tune)
    specs = args.migration_spec or ["migration_2022"]

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f}s] {msg}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        if args.processes:
            specs = spec_variants(specs[0], Path(tmp))
        truth = None
        if all(load_spec(s).centrality == "jobs" for s in specs):
            truth = synthetic.truth["years"].set_index("year")["centrality"]
        say(f"panel {first}-2023, true coefficient process {args.truth_process}; specs "
            f"{[Path(s).stem for s in specs]}")  # fmt: skip
        result = backtest(
            synthetic.panel, origins, horizons, sampler=sampler, draws=args.draws,
            migration_spec=specs, scenarios=args.scenario or ["historical", "neutral"],
            coefficient_truth=truth, progress=say,
        )  # fmt: skip
    wall = time.perf_counter() - start
    with pd.option_context("display.width", 250, "display.max_columns", 20,
                           "display.max_rows", 500):  # fmt: skip
        print(result.summary().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if not result.coefficient.empty:
            print("\ncentrality coefficient against the truth (horizon: years after the fit)")
            summary = result.coefficient_summary()
            print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for note in result.notes:
        print(note)
    if args.out is not None:
        result.save(args.out)
        print(f"written to {args.out}")
    print(f"wall time {wall:.0f} s")


if __name__ == "__main__":
    main()
