"""Benchmark: how much of the 2050 fans the centrality coefficient's outlook makes.

Run: ./dev python benchmarks/centrality_outlook.py --data PANEL --migration RUN --jobs RUN
     [--assumptions norway_2024] [--draws 500] [--scenario neutral --scenario historical]
     [--to 2050] [--place 0301] [--class 6]

Projects the two fits twice with the same random numbers: once in full, once with the
innovations of the centrality coefficient's process switched off past the fit (it then
follows its expected path). For the least central class (summed per draw) and one place
it prints the 80 % interval's width over the median in the last year for both runs, and
the share of the full width that the coefficient's outlook makes, ``1 - off / full``.
Then the coefficient itself: its median, 90 % interval and P(coefficient < 0) in 2030,
2040 and the last year, with the process that carries it (the fit's spec).

Real panel: ``attrbayes data build-real --raw ../shared/data/raw --out PANEL``, fits
``attrbayes fit --data PANEL --spec migration_2019 --level municipality --years 2006:2016``
and ``attrbayes fit --data PANEL --spec jobs_2022 --level municipality``. Synthetic demo:
``attrbayes demo --out DEMO`` and its ``DEMO/panel``, ``DEMO/migration_2022``,
``DEMO/jobs_2022``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--migration", type=Path, required=True)
    parser.add_argument("--jobs", type=Path, required=True)
    parser.add_argument("--assumptions", default="norway_2024")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--scenario", action="append")
    parser.add_argument("--to", type=int, default=2050)
    parser.add_argument("--place", default="0301")
    parser.add_argument("--class", dest="centrality_class", default="6")
    args = parser.parse_args()

    from attrbayes.data.panel import read_panel
    from attrbayes.projection.engine import project
    from attrbayes.runs import load_fit

    panel = read_panel(args.data)
    migration, jobs = load_fit(args.migration), load_fit(args.jobs)
    scenarios = args.scenario or ["neutral", "historical"]
    runs = {}
    for label, on in (("full", True), ("off", False)):
        start = time.perf_counter()
        runs[label] = project(migration, jobs, panel, assumptions=args.assumptions,
                              draws=args.draws, scenarios=scenarios, to=args.to,
                              centrality_noise=on)  # fmt: skip
        print(f"projection ({label}): {time.perf_counter() - start:.0f} s", flush=True)

    def width(result, scenario: str, unit: str) -> tuple[float, float]:
        if unit == args.place:
            da = result.ds["population"].sel(place=unit)
        else:
            da = result.aggregate("centrality_class")["population"].sel(place=unit)
        values = da.sel(scenario=scenario, year=args.to).to_numpy().astype(float)
        low, mid, high = np.quantile(values, [0.1, 0.5, 0.9])
        return (high - low) / mid, mid

    attrs = runs["full"].ds.attrs
    print(f"\nspec {migration.spec.name}: centrality process {attrs['centrality_process']}"
          f"{' + immigration link' if attrs['centrality_immigration_link'] else ''}, fitted to "
          f"{attrs['centrality_last_fitted_year']}, base year {attrs['base_year']}")  # fmt: skip
    print(f"{'scenario':<12}{'unit':<10}{'median ' + str(args.to):>16}{'80 % / median':>15}"
          f"{'steps off':>11}{'share':>8}")  # fmt: skip
    for scenario in scenarios:
        for unit in (f"{args.centrality_class}", args.place):
            full, median = width(runs["full"], scenario, unit)
            off, _ = width(runs["off"], scenario, unit)
            label = f"class {unit}" if unit == args.centrality_class else unit
            print(f"{scenario:<12}{label:<10}{median:>16,.0f}{100 * full:>14.1f}%"
                  f"{100 * off:>10.1f}%{100 * (1 - off / full):>7.0f}%")  # fmt: skip
    coefficient = runs["full"].ds["centrality_coefficient"].isel(scenario=0)
    print("\ncentrality coefficient (full run): median [90 % interval], P(< 0)")
    for year in (2030, 2040, args.to):
        values = coefficient.sel(coefficient_year=year).to_numpy().astype(float)
        low, mid, high = np.quantile(values, [0.05, 0.5, 0.95])
        print(f"  {year}: {mid:.4f} [{low:.4f}, {high:.4f}], P(< 0) = {np.mean(values < 0):.3f}")


if __name__ == "__main__":
    main()
