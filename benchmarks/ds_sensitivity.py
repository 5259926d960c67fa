"""Benchmark: how DS on the real panel depends on the employment schedule (issue 14).

Run: ./dev python benchmarks/ds_sensitivity.py [--data runs/real2020_emp]
     [--raw ../shared/data/raw] [--years 2006:2016]

Reads the real panel in ``--data`` (built from ``--raw`` first if the folder is absent) and
replaces its ``employment_rates`` table by four variants:

* ``yearly``: the built schedule, one per year and sex (attrbayes.data.employment);
* ``fixed``: the 2014 schedule for every year (one fixed schedule, the old table form);
* ``yearly_both``: each year's schedule averaged over the sexes with that year's national
  population as weights, the same rate for men and women;
* ``fixed_both``: the 2014 both-sexes schedule for every year.

For each it computes DS at municipality and region level, prints the correlation and the
mean absolute difference of DS between the variants (DS is per job, relative to the
nation), and fits the 2022 model (VRA lags 0-2, centrality, DS) by OLS at region level in
the ``--years`` window. The job-only centrality index of the published 2022 model is not
public: the fits use SSB's full 2020 index (as ``migration_2019`` does). The published
DS coefficient is -0.4036 (SE 0.053), region level 2003-2021 (MODEL.md 2.4).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from attrbayes.config import load_spec, parse_years
from attrbayes.constants import SEXES
from attrbayes.data.panel import Panel, read_panel
from attrbayes.data.real import build_real_panel, report_files
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.ols import fit_ols
from attrbayes.reference import PUBLISHED, PUBLISHED_2022_SE

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"
FIXED_YEAR = 2014
TERMS = ("vra_t", "vra_t1", "vra_t2", "centrality", "ds")
# Gjesdal and Hvaler: MODEL.md 2.3's extremes (+1.9 % and -0.9 % of jobs per year)
EXTREMES = {"1122": "Gjesdal", "3011": "Hvaler"}


def both_sexes(rates: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Each year's schedule averaged over the sexes (national population of the nearest
    year as weights), given to both sexes."""
    nat = population.groupby(["year", "sex", "age"])["population"].sum()
    pop_years = sorted(set(nat.index.get_level_values("year")))
    out = []
    for year, group in rates.groupby("year"):
        near = min(pop_years, key=lambda y: (abs(y - year), y))
        w = nat.xs(near, level="year")
        e = group.set_index(["sex", "age"])["employment_rate"]
        weights = w.reindex(e.index).fillna(0.0)
        total = weights.groupby(level="age").sum()
        avg = (e * weights).groupby(level="age").sum() / total.where(total > 0)
        avg = avg.fillna(e.groupby(level="age").mean())
        for sex in SEXES:
            out.append(pd.DataFrame({"year": year, "sex": sex, "age": avg.index,
                                     "employment_rate": avg.to_numpy()}))  # fmt: skip
    return pd.concat(out, ignore_index=True)


def variants(panel: Panel) -> dict[str, pd.DataFrame]:
    rates = panel.tables["employment_rates"]
    if "year" not in rates.columns:
        raise SystemExit("the panel's employment_rates has no year column: rebuild it")
    pop = panel.tables["population"]
    both = both_sexes(rates, pop)
    fixed_year = FIXED_YEAR if FIXED_YEAR in set(rates["year"]) else int(rates["year"].max())
    return {
        "yearly": rates,
        "fixed": rates[rates["year"] == fixed_year].drop(columns="year"),
        "yearly_both": both,
        "fixed_both": both[both["year"] == fixed_year].drop(columns="year"),
    }


def compare(ds: dict[str, pd.DataFrame], pairs, years: tuple[int, int], level: str) -> None:
    print(f"\nDS at {level} level, {years[0]}-{years[1]} (DS per job, relative to the nation)")
    keyed = {k: v.set_index(["place", "year"])["ds"] for k, v in ds.items()}
    first = next(iter(keyed.values()))
    inside = first.index.get_level_values("year").isin(range(years[0], years[1] + 1))
    print(f"  sd of DS (yearly): {first[inside].std():.5f}; rows {int(inside.sum())}")
    for a, b in pairs:
        x, y = keyed[a][inside], keyed[b].reindex(keyed[a].index)[inside]
        ok = x.notna() & y.notna()
        corr = np.corrcoef(x[ok], y[ok])[0, 1]
        mad = (x[ok] - y[ok]).abs().mean()
        print(f"  {a:>11} vs {b:<11}: correlation {corr:.4f}, mean abs difference {mad:.6f} "
              f"({mad / x[ok].std():.3f} sd)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "runs" / "real2020_emp")
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--years", default="2006:2016")
    args = parser.parse_args()
    years = parse_years(args.years)
    assert years is not None
    print(f"python {platform.python_version()} on {platform.machine()}")
    start = time.perf_counter()
    if not (args.data / "manifest.toml").is_file():
        panel, report = build_real_panel(args.raw, "2020")
        panel.write(args.data, extra_files=report_files(report))
        print(f"built the real panel into {args.data}: {time.perf_counter() - start:.1f} s")
    panel = read_panel(args.data)
    print(f"read {args.data}: {len(panel.place_codes)} places, {panel.manifest.first_year}-"
          f"{panel.manifest.last_year}")  # fmt: skip

    spec = load_spec("migration_2022").model_copy(
        update={"centrality": "full", "name": "migration_2022 (full centrality)"}
    )
    schedules = variants(panel)
    ds: dict[str, dict[str, pd.DataFrame]] = {"municipality": {}, "region": {}}
    fits = {}
    start = time.perf_counter()
    for name, table in schedules.items():
        variant = Panel.from_tables(panel.manifest, {**panel.tables, "employment_rates": table})
        for level in ds:
            features = compute_features(variant, level)
            ds[level][name] = features.frame[["place", "year", "ds"]]
            if level == "region":
                fits[name] = fit_ols(build_design(features, spec, years=years))
    took = time.perf_counter() - start
    print(f"features at two levels and one OLS fit per variant: {took:.1f} s")

    pairs = [("yearly", "fixed"), ("yearly", "yearly_both"), ("fixed", "fixed_both"),
             ("yearly", "fixed_both")]  # fmt: skip
    for level in ds:
        compare(ds[level], pairs, years, level)

    muni = ds["municipality"]["yearly"]
    window = muni[muni["year"].between(*years)]
    print("\nDS (yearly schedule), mean over the window, extremes named in MODEL.md 2.3:")
    for code, name in EXTREMES.items():
        value = window.loc[window["place"] == code, "ds"].mean()
        print(f"  {name} ({code}): {100 * value:+.2f} % of jobs per year")
    ranks = window.groupby("place")["ds"].mean().sort_values()
    print(f"  lowest {ranks.index[0]} {100 * ranks.iloc[0]:+.2f} %, highest {ranks.index[-1]} "
          f"{100 * ranks.iloc[-1]:+.2f} %")  # fmt: skip

    published = PUBLISHED["migration_2022"]
    print(f"\nOLS, 2022 model with the full centrality index, region level, {years[0]}-"
          f"{years[1]} (published: region level 2003-2021, job-only centrality)")  # fmt: skip
    rows = []
    for name, fit in fits.items():
        row = {"variant": name, "n": fit.n, "r2_adj": fit.r2_adj}
        for term in TERMS:
            row[term] = fit.params[term]
            row[f"{term}_se"] = fit.bse[term]
        rows.append(row)
    rows.append({"variant": "published", "n": 1387, "r2_adj": published["r2_adj"],
                 **{t: published[t] for t in TERMS},
                 **{f"{t}_se": PUBLISHED_2022_SE[t] for t in TERMS}})  # fmt: skip
    table = pd.DataFrame(rows)
    shown = table[["variant", "n", "r2_adj"]].copy()
    for term in TERMS:
        shown[term] = [f"{v:.4f} ({s:.4f})" for v, s in zip(table[term], table[f"{term}_se"],
                                                            strict=True)]  # fmt: skip
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
