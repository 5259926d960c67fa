"""Benchmark: county totals of a real projection (2024 structure) beside SSB's 2024 vintage.

Run: ./dev python benchmarks/ssb_counties.py PROJ [--ssb FILE] [--years 2030 2040 2050]

PROJ is a projection of the real panel in the 2024 municipal structure (15 counties), e.g.
``attrbayes data build-real --structure 2024``, ``attrbayes fit`` of ``migration_2022``
(2006-2022 without 2017-2019) and ``jobs_2022``, then ``attrbayes project ...
--assumptions norway_2024_ssb`` (national totals tied to SSB's).
FILE is SSB 14288's county totals (``ssb_national_misc/ssb_projection2024_county_totals_
MMMM_HHMH_LLML_2024_2050.csv``; default: ``../shared/data/raw``). Prints, per county and
year, our median and 80 % interval (neutral and historical scenarios, summed per draw)
beside SSB's main alternative (MMMM), whether MMMM lies inside our 80 % interval, and the
mean absolute difference of the county medians from MMMM per year.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

SSB = Path("../shared/data/raw/ssb_national_misc/ssb_projection2024_county_totals_MMMM_HHMH_"
           "LLML_2024_2050.csv")  # fmt: skip
# SSB's county names (before the alternative) -> 2024 county codes
COUNTIES = {
    "Oslo": "03", "Rogaland": "11", "Møre og Romsdal": "15", "Nordland - Nordlánnda": "18",
    "Østfold": "31", "Akershus": "32", "Buskerud": "33", "Innlandet": "34", "Vestfold": "39",
    "Telemark": "40", "Agder": "42", "Vestland": "46", "Trøndelag - Trööndelage": "50",
    "Troms - Romsa - Tromssa": "55", "Finnmark - Finnmárku - Finmarkku": "56",
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("projection", type=Path)
    parser.add_argument("--ssb", type=Path, default=SSB)
    parser.add_argument("--years", type=int, nargs="+", default=[2030, 2040, 2050])
    args = parser.parse_args()

    from attrbayes.projection.result import ProjectionResult, projection_path

    result = ProjectionResult.load(projection_path(args.projection))
    ours = result.quantiles("population", by="county")
    ssb = pd.read_csv(args.ssb).set_index("Tid")
    main_alt = {COUNTIES[c.split("_")[0]]: ssb[c] for c in ssb.columns if "(MMMM)" in c}
    rows = []
    for county, series in main_alt.items():
        for year in args.years:
            row = {"county": county, "year": year, "ssb_mmmm": series[year]}
            for scenario in ("neutral", "historical"):
                q = ours[(ours["place"] == county) & (ours["year"] == year)
                         & (ours["scenario"] == scenario)].iloc[0]  # fmt: skip
                row[f"{scenario}_median"] = q["median"]
                row[f"{scenario}_80"] = f"{q['lower_80']:,.0f}-{q['upper_80']:,.0f}"
                row[f"{scenario}_vs_ssb_pct"] = 100 * (q["median"] / series[year] - 1)
                row[f"{scenario}_covers_ssb"] = q["lower_80"] <= series[year] <= q["upper_80"]
            rows.append(row)
    table = pd.DataFrame(rows)
    nation = table.groupby("year")[["ssb_mmmm", "neutral_median", "historical_median"]].sum()
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print(table.round(1).to_string(index=False))
        print("\nsum of county medians (not the national median) against SSB's sum:")
        print(nation.round(0).to_string())
        for scenario in ("neutral", "historical"):
            share = table.groupby("year")[f"{scenario}_covers_ssb"].mean()
            cells = ", ".join(f"{y}: {v:.0%}" for y, v in share.items())
            print(f"{scenario}: SSB MMMM inside our 80 % interval in {cells} of counties")
            mad = table.groupby("year")[f"{scenario}_vs_ssb_pct"].apply(lambda v: v.abs().mean())
            cells = ", ".join(f"{y}: {v:.1f} %" for y, v in mad.items())
            print(f"{scenario}: mean absolute difference of the county medians from MMMM {cells}")


if __name__ == "__main__":
    main()
