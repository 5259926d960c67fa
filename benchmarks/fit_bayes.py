"""Benchmark: a Bayesian model (migration or jobs) on the full default synthetic panel.

Run: ./dev python benchmarks/fit_bayes.py [--sampler nutpie|pymc|both] [--spec NAME]
     [--level municipality] [--draws 1000] [--tune 1000] [--chains 4] [--recovery]
     [--baseline REF]  (also runs git REF's copy of this script, nutpie only, and prints
     its wall, compile and sampling times beside these)
     (``--spec jobs_2022`` for the job growth model)

Prints, per sampler: wall time (compile and sampling), min bulk ESS, bulk ESS per second,
max R-hat, divergences, E-BFMI and the gate's verdict; with ``--recovery`` also the share of
true values inside the 80 % and 95 % intervals (coefficients, centrality path, the
attractiveness of every place). Target (issue 3): the default configuration under 90 s wall
with the gate passed on the 2-core machine.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd

from attrbayes.config import SamplerConfig, load_spec
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.registry import model_class
from attrbayes.results import interval_frame
from attrbayes.synthetic import synthesize_panel


def coverage(fit, synthetic) -> pd.DataFrame:
    """Share of truths inside the 80 % and 95 % intervals, by parameter family."""
    params = synthetic.parameters
    truth_years = synthetic.truth["years"].set_index("year")
    rows = []

    def add(family: str, table: pd.DataFrame, truth: pd.Series) -> None:
        truth = truth.reindex(table.index)
        for mass in (80, 95):
            inside = (table[f"lower_{mass}"] <= truth) & (truth <= table[f"upper_{mass}"])
            rows.append({"family": family, "mass": mass, "n": len(truth),
                         "coverage": float(inside.mean())})  # fmt: skip

    truths = {"vra_t": "vra_t", "vra_t1": "vra_t1", "vra_t2": "vra_t2", "ds": "ds",
              "centrality": "centrality", "industry_effect": "industry_coef",
              "pop_growth_lag": "population_coef"}  # fmt: skip
    if fit.kind == "jobs":
        truths["centrality"] = None  # no centrality effect on jobs in the synthetic panel
    coefs = [t for t in truths if t in fit.posterior]
    table = pd.concat([interval_frame(fit.draws(t)) for t in coefs], ignore_index=True)
    table.index = coefs
    add("coefficients", table, pd.Series({t: params[truths[t]] if truths[t] else 0.0
                                          for t in coefs}))  # fmt: skip
    if "ar_phi" in fit.posterior:  # the persistence of attractiveness's time-varying part
        phi = params["business_ar_phi" if fit.kind == "jobs" else "ar_phi"]
        innovation = params["business_ar_sd" if fit.kind == "jobs" else "ar_sd"]
        table = pd.concat([interval_frame(fit.draws(t)) for t in ("ar_phi", "sigma_ar")],
                          ignore_index=True)  # fmt: skip
        table.index = ["ar_phi", "sigma_ar"]
        add(
            "persistence",
            table,
            pd.Series({"ar_phi": phi, "sigma_ar": innovation / np.sqrt(1 - phi**2)}),
        )
    if "centrality_path" in fit.posterior and fit.kind == "migration":
        path = interval_frame(fit.draws("centrality_path")).set_index("year")
        add("centrality path", path, truth_years["centrality"])
    column = "business" if fit.kind == "jobs" else "residential"
    att = fit.attractiveness(by="year")
    true_att = synthetic.truth["attractiveness"].set_index(["place", "year"])[column] * 100
    att = att.set_index(["place", "year"])
    table = att.rename(columns=lambda c: c.removeprefix("pct_"))
    add("attractiveness (place-years)", table, true_att)
    period = (
        fit.attractiveness().set_index("place").rename(columns=lambda c: c.removeprefix("pct_"))
    )
    truth = synthetic.truth["attractiveness"]
    in_window = truth["year"].between(*fit.design.years)
    true_period = truth[in_window].groupby("place")[column].mean() * 100
    add("attractiveness (period means)", period, true_period)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sampler", default="nutpie", choices=["nutpie", "pymc", "both"])
    parser.add_argument("--spec", default="migration_2022")
    parser.add_argument("--level", default="municipality")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--adaptation", default="diag", choices=["diag", "draw_diag", "low_rank"])
    parser.add_argument("--recovery", action="store_true")
    parser.add_argument("--baseline", help="git ref whose fit to time beside (nutpie)")
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}")
    synthetic = synthesize_panel()
    spec = load_spec(args.spec)
    design = build_design(compute_features(synthetic.panel, args.level), spec)
    print(f"spec {spec.name}, level {args.level}, {design.n} observations, years {design.years}")
    samplers = ["nutpie", "pymc"] if args.sampler == "both" else [args.sampler]
    for name in samplers:
        config = SamplerConfig(
            sampler=name,
            chains=args.chains,
            draws=args.draws,
            tune=args.tune,
            adaptation=args.adaptation,
        )
        start = time.perf_counter()
        fit = model_class(spec.kind)(design, spec).fit(config)
        wall = time.perf_counter() - start
        report = fit.convergence()
        t = fit.timings
        min_ess = report.table["ess_bulk"].min()
        print(f"\n== {config.describe()}")
        print(
            f"wall {wall:.1f} s (compile {t['compile_s']:.1f} s, sampling {t['sampling_s']:.1f} s)"
        )
        print(f"min bulk ESS {min_ess:.0f}, min tail ESS {report.table['ess_tail'].min():.0f}, "
              f"ESS/s {min_ess / t['sampling_s']:.1f}")  # fmt: skip
        print(f"max R-hat {report.table['rhat'].max():.4f}, divergences {report.divergences}, "
              f"min E-BFMI {np.min(report.bfmi):.2f}")  # fmt: skip
        stats = fit.tree["sample_stats"]
        steps = stats["n_steps"] if "n_steps" in stats else stats.get("tree_size")
        if steps is not None:
            print(f"mean gradient evaluations per draw {float(steps.mean()):.1f}")
        print(report.message())
        print(fit.summary().round(5).to_string(index=False))
        if args.recovery:
            print(coverage(fit, synthetic).to_string(index=False))
        if args.baseline and name == "nutpie":
            baseline(args, wall, t)


def baseline(args: argparse.Namespace, wall: float, timings: dict[str, float]) -> None:
    """Run ``args.baseline``'s copy of this benchmark (its own process, so that its
    compile is a new process's, as here) and print its times beside these."""
    from _baseline import number, run_baseline

    same = ["--sampler", "nutpie", "--spec", args.spec, "--level", args.level,
            "--draws", str(args.draws), "--tune", str(args.tune), "--chains", str(args.chains),
            "--adaptation", args.adaptation]  # fmt: skip
    old = run_baseline(args.baseline, "fit_bayes.py", same)
    old_wall = number("wall", old)
    old_compile, old_sampling = number(r"\(compile", old), number("sampling", old)
    print(f"baseline {args.baseline}: wall {old_wall:.1f} s (compile {old_compile:.1f} s, "
          f"sampling {old_sampling:.1f} s); now {wall / old_wall:.2f}x the time, compile "
          f"{timings['compile_s'] / old_compile:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
