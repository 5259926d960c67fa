"""LOO comparison of the net-migration model versions on the default synthetic panel.

Run: ./dev python benchmarks/loo_versions.py [--level region] [--draws 1000] [--tune 1000]

Fits the jobs-only, 2019, 2019 job-centrality, 2022, 2022 + students and the pooled
(OLS-like) 2022 specs on the same observations and prints the PSIS-LOO table, each fit's
gate verdict and wall time.
"""

from __future__ import annotations

import argparse
import time

from attrbayes.config import SamplerConfig
from attrbayes.diagnostics.checks import compare_fits
from attrbayes.features.design import compute_features
from attrbayes.runs import prepare_fit, run_fit
from attrbayes.synthetic import synthesize_panel

VERSIONS = (
    "migration_jobs",
    "migration_2019",
    "migration_2019_jobcent",
    "migration_2022",
    "migration_2022_students",
    "migration_2022_pooled",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--level", default="region")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    args = parser.parse_args()
    features = compute_features(synthesize_panel().panel, args.level)
    config = SamplerConfig(draws=args.draws, tune=args.tune)
    fits = {}
    for name in VERSIONS:
        start = time.perf_counter()
        fit = run_fit(prepare_fit(features, name, level=args.level), config)
        gate = fit.convergence()
        print(f"{name:<26} {time.perf_counter() - start:6.1f} s  {gate.summary_line()}")
        fits[name] = fit
    result = compare_fits(fits)
    print(result.table.to_string(float_format=lambda v: f"{v:.1f}"))
    print("observations with high Pareto k:", result.pareto_k_bad)


if __name__ == "__main__":
    main()
