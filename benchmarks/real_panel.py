"""Benchmark: the real Norwegian panel, the published-model replication and the Bayesian fit.

Run: ./dev python benchmarks/real_panel.py [--raw ../shared/data/raw] [--draws 1000 2000]
     [--jobs]

Prints the build time per municipal structure, the residual-method error, the OLS
replication at region (2017 structure, Telemarksforsking's own units) and municipality
level (2020 structure), and for each ``--draws`` setting the Bayesian ``migration_2019``
fit at municipality level (2020 structure): wall time, ESS, R-hat and the gate's verdict,
then the posterior centrality path and the top and bottom 10 municipalities. ``--jobs``
adds the private job growth model (with and without centrality, LOO, OLS twin, business
attractiveness).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from attrbayes.config import SamplerConfig
from attrbayes.data.real import STRUCTURES, build_real_panel
from attrbayes.diagnostics.checks import compare_fits
from attrbayes.features.design import compute_features
from attrbayes.pipeline import REAL_SPEC
from attrbayes.reporting.comparison import ols_posterior_table
from attrbayes.reporting.replication import replication_table
from attrbayes.runs import prepare_fit

DEFAULT_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--draws", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--jobs", action="store_true", help="also fit the job growth model")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}")

    panels = {}
    for structure in STRUCTURES:
        start = time.perf_counter()
        panels[structure] = build_real_panel(args.raw, structure)
        print(f"build {structure}: {time.perf_counter() - start:.1f} s, "
              f"{len(panels[structure][0].place_codes)} places")  # fmt: skip
    report = panels["2020"][1]
    print(report.residual_method.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    start = time.perf_counter()
    region = compute_features(panels["2017"][0], "region")
    municipal = compute_features(panels["2020"][0], "municipality")
    result = replication_table([region, municipal])
    print(f"replication (features + 8 OLS fits): {time.perf_counter() - start:.1f} s")
    print(result.to_text())

    for draws in args.draws:
        prepared = prepare_fit(municipal, REAL_SPEC, level="municipality")
        start = time.perf_counter()
        fit = prepared.model.fit(SamplerConfig(draws=draws))
        wall = time.perf_counter() - start
        gate = fit.convergence()
        t = fit.timings
        print(f"\n{REAL_SPEC}, {draws} draws x 4 chains: wall {wall:.1f} s (compile "
              f"{t['compile_s']:.1f} s, sampling {t['sampling_s']:.1f} s); "
              f"{gate.summary_line()}")  # fmt: skip
    print(fit.summary().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(fit.centrality_table().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ranked = fit.ranked_attractiveness(top=10)
    columns = ["place", "name", "pct_median", "pct_lower_80", "pct_upper_80", "rank_median",
               "rank_lower_80", "rank_upper_80"]  # fmt: skip
    shown = ranked[columns]
    print(shown.head(10).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(shown.tail(10).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if args.jobs:
        jobs_fits(municipal, max(args.draws))


def jobs_fits(municipal, draws: int) -> None:
    """The private job growth model on the real panel (TF's industry effect), with and
    without centrality, and their LOO comparison."""
    fits = {}
    for spec in ("jobs_2022", "jobs_centrality"):
        prepared = prepare_fit(municipal, spec, level="municipality")
        start = time.perf_counter()
        fits[spec] = prepared.model.fit(SamplerConfig(draws=draws))
        print(f"\n{spec}, {draws} draws x 4 chains: wall {time.perf_counter() - start:.1f} s; "
              f"{fits[spec].convergence().summary_line()}")  # fmt: skip
        print(fits[spec].summary().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(compare_fits(fits).table.to_string())
    print(ols_posterior_table(fits["jobs_2022"]).to_string(index=False))
    ranked = fits["jobs_2022"].ranked_attractiveness(top=10)
    columns = ["place", "name", "pct_median", "pct_lower_80", "pct_upper_80", "persons_median",
               "rank_median", "rank_lower_80", "rank_upper_80"]  # fmt: skip
    print(ranked[columns].head(10).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(ranked[columns].tail(10).to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
