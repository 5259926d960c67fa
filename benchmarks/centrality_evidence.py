"""Benchmark: which forecast process of the centrality coefficient the real data support.

Run: ./dev python benchmarks/centrality_evidence.py --data PANEL RUN [RUN ...]
     [--years 2005:2023] [--draws 2000]

RUN are migration fits of one spec and one window that differ in the coefficient's process
(``[time_varying]``), e.g. ``migration_2019`` with ``random_walk``, ``ar1`` and
``hierarchical``, with and without the immigration link. Three pieces of evidence:

1. **The yearly series.** One OLS per year of net migration on centrality (and the
   spec's other terms where the panel has them) over ``--years``: the coefficient's
   history as the data show it, with its standard errors, its lag-1 autocorrelation and
   the spread of its k-year changes (a random walk's grows like sqrt(k), a stationary
   process's levels off).
2. **Out of sample.** Each fit's coefficient carried past its last fitted year by its
   process (the engine's own stepping, with the panel's observed national immigration),
   against the yearly OLS estimate of the spec's full design in every later year the
   panel supports: coverage of the 80 % and 95 % predictive intervals of the OLS estimate
   (projected coefficient plus the estimate's sampling error, one normal draw each), the
   log predictive density summed over years (a normal fit to the draws), and P(< 0) in
   2050 (national immigration after the panel's years from ``--assumptions``).
3. **PSIS-LOO** of the fits on the fitted years.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


def yearly_ols(features, spec, years: range) -> pd.DataFrame:
    """Per year: the centrality coefficient and its se, from the spec's design where every
    term is there, else from centrality alone (``design`` says which)."""
    import statsmodels.api as sm

    from attrbayes.exceptions import DataError, SpecError
    from attrbayes.features.design import build_design
    from attrbayes.models.ols import fit_ols

    rows = []
    frame = features.frame
    for year in years:
        try:
            fit = fit_ols(build_design(features, spec, years=(year, year)))
            rows.append({"year": year, "design": "spec", "estimate": fit.params["centrality"],
                         "se": fit.bse["centrality"]})  # fmt: skip
            continue
        except (DataError, SpecError):  # terms missing in this year: centrality alone
            pass
        data = frame[frame["year"] == year].dropna(subset=["nm", "centrality"])
        if len(data) < 30:
            continue
        ols = sm.OLS(data["nm"], sm.add_constant(data[["centrality"]])).fit()
        rows.append({"year": year, "design": "centrality only",
                     "estimate": ols.params["centrality"],
                     "se": ols.bse["centrality"]})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--years", default="2005:2023")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument(
        "--assumptions",
        default="norway_2024",
        help="national immigration after the panel's last year",
    )
    args = parser.parse_args()

    from attrbayes.config import parse_years
    from attrbayes.data.panel import read_panel
    from attrbayes.diagnostics.checks import compare_fits
    from attrbayes.features.design import compute_features
    from attrbayes.projection.assumptions import load_assumptions
    from attrbayes.projection.engine import coefficient_outlook
    from attrbayes.runs import load_fit

    fits = {run.name: load_fit(run) for run in args.runs}
    first = next(iter(fits.values()))
    panel = read_panel(args.data)
    features = compute_features(panel, first.design.level)
    lo, hi = parse_years(args.years)
    series = yearly_ols(features, first.spec, range(lo, hi + 1))
    print("1. One OLS per year: centrality coefficient (se)")
    for row in series.itertuples():
        print(f"   {row.year}: {row.estimate:+.4f} ({row.se:.4f})  {row.design}")
    full = series[series["design"] == "spec"].set_index("year")
    for label, part in (("spec design", full), ("every year", series.set_index("year"))):
        values = part["estimate"]
        pairs = [(values[y - 1], values[y]) for y in values.index if y - 1 in values.index]
        lag1 = np.corrcoef(np.array(pairs).T)[0, 1]
        print(f"   {label}: mean {values.mean():.4f}, sd {values.std():.4f}, lag-1 "
              f"autocorrelation {lag1:.2f} ({len(pairs)} pairs of consecutive years)")  # fmt: skip
    # a random walk's k-year changes have variance k x step^2; a stationary process's
    # level off at 2 x its variance
    values = series.set_index("year")["estimate"]
    print("   sd of k-year changes (every year), k = 1..10:")
    changes = []
    for k in range(1, 11):
        diffs = [values[y] - values[y - k] for y in values.index if y - k in values.index]
        changes.append(f"{k}: {np.std(diffs):.4f}")
    print("   " + ", ".join(changes) + f"; sqrt(2) x sd = {np.sqrt(2) * values.std():.4f}")

    rates = features.frame.groupby("year")["national_rate"].first().dropna()
    assumed = load_assumptions(args.assumptions)["main"]

    def immigration(year: int) -> float:
        if year in rates.index:
            return float(rates[year])
        return float(assumed.path("net_immigration_rate", np.array([year]))[0])

    last = int(first.design.years[1])
    later = [int(y) for y in full.index if y > last]
    print(f"\n2. Out of sample: the OLS estimates of {later} (after the fit's last year {last})")
    print(f"   {'fit':<16}{'process':<26}{'cover 80 %':>11}{'cover 95 %':>11}{'log score':>11}"
          f"{'P(<0) 2050':>12}")  # fmt: skip
    rng = np.random.default_rng(1)
    for name, fit in fits.items():
        spec = fit.spec.time_varying
        outlook = coefficient_outlook(
            fit, [*later, 2050], draws=args.draws, immigration=immigration
        )
        cover = {80: [], 95: []}
        score = 0.0
        for year in later:
            predictive = outlook.sel(year=year).to_numpy() + rng.normal(
                0, full.loc[year, "se"], outlook.sizes["draw"])  # fmt: skip
            for level in cover:
                a, b = np.quantile(predictive, [(1 - level / 100) / 2, (1 + level / 100) / 2])
                cover[level].append(a <= full.loc[year, "estimate"] <= b)
            score += stats.norm(predictive.mean(), predictive.std()).logpdf(
                full.loc[year, "estimate"])  # fmt: skip
        process = spec.centrality + (" + immigration" if spec.immigration else "")
        negative = float((outlook.sel(year=2050) < 0).mean())
        print(f"   {name:<16}{process:<26}{np.mean(cover[80]):>11.2f}{np.mean(cover[95]):>11.2f}"
              f"{score:>11.2f}{negative:>12.3f}")  # fmt: skip

    print("\n3. PSIS-LOO on the fitted years")
    comparison = compare_fits(fits)
    print(comparison.table.to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
