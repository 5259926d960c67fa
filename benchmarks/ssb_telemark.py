"""Benchmark: our backtest beside SSB's municipal projections for Telemark (issue 6).

Run: ./dev python benchmarks/ssb_telemark.py [--raw ../shared/data/raw] [--vintage 2016]

Builds the real panel (2020 structure), backtests the Bayesian projection from the
vintage's base year (fits on what was known on 1 January of that year; migration_2019 and
jobs_2022; historical scenario) and compares, for Telemark's 17 municipalities and the
same horizons, the absolute percentage errors of our median and of SSB's main
alternative of that vintage (`vtfk_telemark_projections`), and how often SSB's figure and
the outcome fall inside our 80 % interval. Our national paths are the observed ones (a
backtest judges the local model); SSB's are its own assumptions of the time, so the
comparison favours us on national paths and is noted as such.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from attrbayes.config import SamplerConfig
from attrbayes.data.real import build_real_panel
from attrbayes.diagnostics.backtest import backtest

DEFAULT_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
SSB_FILE = "vtfk_telemark_projections/befolkning_sammenlikning_historisk_og_framskrivinger.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--vintage", type=int, default=2016)
    parser.add_argument("--draws", type=int, default=300)
    args = parser.parse_args()
    start = time.perf_counter()
    panel, _ = build_real_panel(args.raw, "2020")
    ssb = pd.read_csv(args.raw / SSB_FILE)
    totals = ssb.groupby(["Kilde", "Kommune", "År"])["Personer"].sum()
    vintage = totals.loc[f"Framskriving {args.vintage}"].rename("ssb").reset_index()
    last_pop = int(panel.tables["population"]["year"].max())
    years = sorted(set(vintage["År"]))
    horizons = [y - args.vintage for y in years if args.vintage < y <= last_pop]
    result = backtest(panel, [args.vintage], horizons, migration_spec="migration_2019",
                      scenarios=("historical",), draws=args.draws, baseline=False,
                      sampler=SamplerConfig(), assumptions="norway_2024")  # fmt: skip
    ours = result.scores.rename(columns={"year": "År", "name": "Kommune"})
    both = ours.merge(vintage, on=["Kommune", "År"], how="inner")
    if both["Kommune"].nunique() < 17:
        print(f"warning: matched {both['Kommune'].nunique()} of 17 Telemark names")
    both["ssb_ape"] = 100 * (both["ssb"] - both["observed"]).abs() / both["observed"]
    both["ssb_in_our_80"] = both["ssb"].between(both["lower_80"], both["upper_80"])
    summary = both.groupby("horizon").agg(
        places=("Kommune", "nunique"),
        our_mape=("ape", "mean"),
        ssb_mape=("ssb_ape", "mean"),
        our_cover_80=("covered_80", "mean"),
        our_cover_95=("covered_95", "mean"),
        ssb_inside_our_80=("ssb_in_our_80", "mean"),
    )
    print(f"vintage {args.vintage}, Telemark, {time.perf_counter() - start:.0f} s")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
