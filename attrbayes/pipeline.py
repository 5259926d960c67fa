"""Stages run end to end: what the CLI and notebooks call.

Each function validates its inputs first (panel, spec, years) and then runs; none prints,
so that fronts decide how to show results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from attrbayes import __version__
from attrbayes.config import ModelSpec, SamplerConfig, check_level, load_spec
from attrbayes.data.panel import Panel, panel_names, read_panel
from attrbayes.data.real import BuildReport, build_real_panel, report_files
from attrbayes.features.design import Features, build_design, compute_features
from attrbayes.io_utils import atomic_write_text, claim_dir, csv_text, mark_owned
from attrbayes.models.ols import (
    CovType,
    OLSResult,
    OLSSeries,
    fit_by_year,
    fit_ols,
    fit_periods,
    fit_subpopulations,
)
from attrbayes.projection.engine import project
from attrbayes.projection.result import ProjectionResult
from attrbayes.projection.tables import quantile_table, shock_effect_table
from attrbayes.reference import PUBLISHED
from attrbayes.reporting.replication import Replication, replication_table
from attrbayes.results import FitResult
from attrbayes.runs import (
    DEMO_NAMES,
    PROJECTION_NAMES,
    SOURCE_ATTRS,
    ProjectionRuns,
    RunLayout,
    prepare_fit,
    run_fit,
)
from attrbayes.synthetic import SynthConfig, SyntheticPanel, synthesize_panel
from attrbayes.terms import COEFFICIENTS

DEMO_SPECS = tuple(PUBLISHED)  # the book's four model versions


@dataclass(frozen=True)
class OLSRun:
    """The result of ``attrbayes ols``: a pooled fit and, when asked, the yearly fits."""

    spec: ModelSpec
    pooled: OLSResult
    by_year: OLSSeries | None = None
    periods: OLSSeries | None = None
    groups: OLSSeries | None = None

    @property
    def series(self) -> list[OLSSeries]:
        return [s for s in (self.by_year, self.periods, self.groups) if s is not None]

    def csv_table(self) -> pd.DataFrame:
        """The pooled table, or the first series asked for (by year, period, group)."""
        return self.series[0].table() if self.series else self.pooled.coefficient_table()


def run_ols(
    panel: Panel | Features,
    spec_name: str,
    *,
    level: str | None = None,
    years: tuple[int, int] | None = None,
    by_year: bool = False,
    periods: list[tuple[int, int]] | None = None,
    subpopulations: bool = False,
    cov_type: CovType = "nonrobust",
) -> OLSRun:
    """Fit the OLS version of a spec at a level: pooled, and optionally year by year, by
    sub-period and by sub-population (men, women, the book's age groups)."""
    spec = load_spec(spec_name)
    level = check_level(level or spec.level)
    features = panel if isinstance(panel, Features) else compute_features(panel, level)
    if features.level != level:
        raise ValueError(f"features were computed at level {features.level}, not {level}")
    design = build_design(features, spec, years=years)
    pooled = fit_ols(design, cov_type=cov_type)
    return OLSRun(
        spec,
        pooled,
        by_year=fit_by_year(design, cov_type=cov_type) if by_year else None,
        periods=fit_periods(design, periods, cov_type=cov_type) if periods else None,
        groups=(
            fit_subpopulations(features, spec, years=design.years, cov_type=cov_type)
            if subpopulations
            else None
        ),
    )


def comparison_table(
    fits: dict[str, OLSResult], truth: dict[str, float] | None = None
) -> pd.DataFrame:
    """Side-by-side estimates of several fits, with the published values and truth."""
    columns: dict[str, pd.Series] = {}
    for name, fit in fits.items():
        est = fit.params.copy()
        est["r2_adj"] = fit.r2_adj
        est["n"] = fit.n
        columns[name] = est
    if "migration_2022" in fits:
        columns["published_2022"] = pd.Series(PUBLISHED["migration_2022"])
    if truth is not None:
        columns["truth"] = pd.Series(truth)
    table = pd.DataFrame(columns)
    order = [*COEFFICIENTS, "r2_adj", "n"]
    return table.reindex([t for t in order if t in table.index])


@dataclass(frozen=True)
class DemoResult:
    """What ``attrbayes demo`` produced."""

    panel_dir: Path
    synthetic: SyntheticPanel
    region_fits: dict[str, OLSResult]
    municipality_fit: OLSResult
    truth: dict[str, float]
    bayes: FitResult | None = None
    jobs: FitResult | None = None
    projection: ProjectionResult | None = None
    panel: Panel | None = None  # as read back from panel_dir, what the fits were made on
    features: Features | None = None  # its municipality features


def synthesize_to(out: Path, config: SynthConfig, *, overwrite: bool) -> SyntheticPanel:
    claim_dir(out, force=overwrite, known=panel_names())
    synthetic = synthesize_panel(config)
    synthetic.write(out, overwrite=overwrite)
    return synthetic


DEMO_PROJECTION_DRAWS = 200  # fans and the report need no more; `project` has 1000


def run_demo(
    out: Path,
    *,
    seed: int = SynthConfig.seed,
    sampler: SamplerConfig | None = None,
    projection_draws: int = DEMO_PROJECTION_DRAWS,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Synthesise the default panel into ``out/panel``, fit the four OLS versions, the
    Bayesian 2022 migration model and the job growth model at municipality level (saved in
    ``out/migration_2022`` and ``out/jobs_2022``) and project both to 2050 in every
    scenario (``out/projection``)."""
    say = progress or (lambda _msg: None)
    claim_dir(out, force=True, known=DEMO_NAMES)  # the demo replaces its own results
    out.mkdir(parents=True, exist_ok=True)
    mark_owned(out, "demo", __version__)
    panel_dir = RunLayout(out).panel
    say("synthesising the default panel")
    synthetic = synthesize_to(panel_dir, SynthConfig(seed=seed), overwrite=True)
    panel = read_panel(panel_dir)  # read back: the demo exercises the on-disk contract
    say("OLS: four model versions at region level, the 2022 model at municipality level")
    region = compute_features(panel, "region")
    region_fits = {name: run_ols(region, name, level="region").pooled for name in DEMO_SPECS}
    municipal = compute_features(panel, "municipality")
    municipality_fit = run_ols(municipal, "migration_2022", level="municipality").pooled
    params = synthetic.parameters
    truth = {k: float(params[k]) for k in ("vra_t", "vra_t1", "vra_t2", "centrality", "ds")}
    truth["intercept"] = float(params["intercept_pooled"])
    say("Bayesian migration_2022 (compiling and sampling)")
    prepared = prepare_fit(municipal, "migration_2022", level="municipality")
    bayes = run_fit(prepared, sampler or SamplerConfig(), out / "migration_2022", overwrite=True)
    say("Bayesian jobs_2022 (compiling and sampling)")
    jobs = run_fit(prepare_fit(municipal, "jobs_2022"), sampler or SamplerConfig(),
                   out / "jobs_2022", overwrite=True)  # fmt: skip
    runs = ProjectionRuns(bayes, jobs, panel, features=municipal)  # in memory, not read again
    layout = RunLayout(out)
    run_projection(runs, layout.projection_dir.root, overwrite=True, draws=projection_draws,
                   progress=say)  # fmt: skip
    # read back lazily, as `fan` and `report` do: the fans and the report read the places
    # they show, and the run's draws leave memory
    projection = ProjectionResult.load(layout.projection_dir.projection)
    return DemoResult(panel_dir, synthetic, region_fits, municipality_fit, truth, bayes, jobs,
                      projection, panel, municipal)  # fmt: skip


def build_real_to(
    raw: Path, out: Path, structure: str = "2020", *, overwrite: bool = False, progress=None
) -> tuple[Panel, BuildReport]:
    """Build the real panel from the raw folder and write it, with its build report."""
    claim_dir(out, force=overwrite, known=panel_names())
    panel, report = build_real_panel(raw, structure, progress=progress)
    panel.write(out, overwrite=overwrite, extra_files=report_files(report))
    return panel, report


@dataclass(frozen=True)
class RealDemoResult:
    """What ``attrbayes demo --real`` produced."""

    panel_dir: Path
    report: BuildReport
    replication: Replication
    bayes: FitResult


# The book's 2022 model (DS from the assembled employment schedule; the full centrality
# index stands in for the job-only one), fitted on every year the data allow.
REAL_SPEC = "migration_2022"
# Draws per chain for the real demo: with 1000, sigma_group's R-hat was 1.010 (bulk ESS
# 521); with 2000 the gate passes (benchmarks/RESULTS.md).
REAL_DRAWS = 2000


def run_real_demo(
    raw: Path,
    out: Path,
    *,
    structure: str = "2020",
    sampler: SamplerConfig | None = None,
    progress=None,
) -> RealDemoResult:
    """Build the real panel into ``out/panel``, refit the published OLS versions at region
    and municipality level, and fit the Bayesian model at municipality level."""
    claim_dir(out, force=True, known=DEMO_NAMES)  # the demo replaces its own results
    panel_dir = RunLayout(out).panel
    _, report = build_real_to(raw, panel_dir, structure, overwrite=True, progress=progress)
    panel = read_panel(panel_dir)
    municipal = compute_features(panel, "municipality")
    replication = replication_table([compute_features(panel, "region"), municipal])
    prepared = prepare_fit(municipal, REAL_SPEC, level="municipality")
    bayes = run_fit(prepared, sampler or SamplerConfig(), out / REAL_SPEC, overwrite=True)
    return RealDemoResult(panel_dir, report, replication, bayes)


def run_projection(
    runs: ProjectionRuns, out: Path, *, overwrite: bool = False, **options
) -> ProjectionResult:
    """Project and write ``out/projection.nc`` plus ``out/population.csv`` (quantiles of
    population per place, year and scenario) and, with job shocks, ``out/shock_effect.csv``
    (their effect on the places and their commuting neighbours)."""
    layout = RunLayout(out)
    claim_dir(out, force=overwrite, known=PROJECTION_NAMES)
    result = project(runs.migration, runs.jobs, runs.panel, features=runs.features, **options)
    out.mkdir(parents=True, exist_ok=True)
    mark_owned(out, "projection", __version__)
    result.ds.attrs.update({SOURCE_ATTRS[k]: v for k, v in runs.sources.items()})
    result.save(layout.projection, overwrite=overwrite, threads=options.get("workers"))
    table = quantile_table(result, variables=["population"])
    atomic_write_text(layout.population, csv_text(table))
    if "shock_population_effect" in result.ds:
        effect = shock_effect_table(result)
        atomic_write_text(layout.shock_effect, csv_text(effect))
    return result
