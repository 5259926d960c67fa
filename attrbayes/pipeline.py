"""Stages run end to end: what the CLI and notebooks call.

Each function validates its inputs first (panel, spec, years) and then runs; none prints,
so that fronts decide how to show results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from attrbayes.config import ModelSpec, SamplerConfig, check_level, load_spec
from attrbayes.constants import TERMS
from attrbayes.data.panel import Panel, read_panel
from attrbayes.data.real import BuildReport, build_real_panel, report_files
from attrbayes.data.synthetic import SynthConfig, SyntheticPanel, synthesize_panel
from attrbayes.exceptions import DataError, SpecError
from attrbayes.features.design import Features, build_design, compute_features
from attrbayes.io_utils import atomic_write_text, open_saved
from attrbayes.models.ols import (
    CovType,
    OLSResult,
    OLSSeries,
    fit_by_year,
    fit_ols,
    fit_periods,
    fit_subpopulations,
)
from attrbayes.models.registry import model_class
from attrbayes.priors import load_prior_set
from attrbayes.projection.engine import project
from attrbayes.projection.result import PROJECTION_FILE, ProjectionResult
from attrbayes.reference import PUBLISHED
from attrbayes.reporting.projection_tables import quantile_table, shock_effect_table
from attrbayes.reporting.replication import Replication, replication_table
from attrbayes.results import FitResult

FIT_FILE = "fit.nc"

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
    order = [*TERMS, "r2_adj", "n"]
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


def synthesize_to(out: Path, config: SynthConfig, *, overwrite: bool) -> SyntheticPanel:
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
    panel_dir = out / "panel"
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
    bayes = run_fit(prepared, sampler or SamplerConfig(), out / "migration_2022")
    say("Bayesian jobs_2022 (compiling and sampling)")
    jobs = run_fit(prepare_fit(municipal, "jobs_2022"), sampler or SamplerConfig(),
                   out / "jobs_2022")  # fmt: skip
    runs = ProjectionRuns(bayes, jobs, panel)  # the fits in memory, not read again
    run_projection(runs, out / "projection", overwrite=True, draws=projection_draws,
                   progress=say)  # fmt: skip
    # read back lazily, as `fan` and `report` do: the fans and the report read the places
    # they show, and the run's draws leave memory
    projection = ProjectionResult.load(out / "projection" / PROJECTION_FILE)
    return DemoResult(panel_dir, synthetic, region_fits, municipality_fit, truth, bayes, jobs,
                      projection)  # fmt: skip


def build_real_to(
    raw: Path, out: Path, structure: str = "2020", *, overwrite: bool = False, progress=None
) -> tuple[Panel, BuildReport]:
    """Build the real panel from the raw folder and write it, with its build report."""
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
    panel_dir = out / "panel"
    _, report = build_real_to(raw, panel_dir, structure, overwrite=True, progress=progress)
    panel = read_panel(panel_dir)
    municipal = compute_features(panel, "municipality")
    replication = replication_table([compute_features(panel, "region"), municipal])
    prepared = prepare_fit(municipal, REAL_SPEC, level="municipality")
    bayes = run_fit(prepared, sampler or SamplerConfig(), out / REAL_SPEC)
    return RealDemoResult(panel_dir, report, replication, bayes)


@dataclass(frozen=True)
class PreparedFit:
    """A validated model, ready to sample (what ``fit --dry-run`` checks)."""

    model: object
    features: Features

    def describe(self) -> str:
        m = self.model
        built = m.build()
        n_free = sum(int(v.size.eval()) if hasattr(v, "size") else 1 for v in built.free_RVs)
        d = m.design
        return (
            f"spec {m.spec.name} ({m.spec.kind}), level {d.level}, years "
            f"{d.years_text()}: {d.n} observations, {d.frame['place'].nunique()} places, "
            f"{n_free} free parameters; priors {m.priors.name}"
        )


def prepare_fit(
    panel: Panel | Features,
    spec_name: str,
    *,
    level: str | None = None,
    years: tuple[int, int] | None = None,
    priors: str | None = None,
) -> PreparedFit:
    """Validate data, spec and priors and construct the model (no sampling)."""
    spec = load_spec(spec_name)
    level = check_level(level or spec.level)
    features = panel if isinstance(panel, Features) else compute_features(panel, level)
    design = build_design(features, spec, years=years)
    model = model_class(spec.kind)(design, spec, load_prior_set(priors, kind=spec.kind))
    return PreparedFit(model, features)


def run_fit(prepared: PreparedFit, sampler: SamplerConfig, out: Path | None = None) -> FitResult:
    """Sample a prepared model; with ``out``, save ``fit.nc`` and ``summary.csv`` there."""
    fit = prepared.model.fit(sampler)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        fit.save(out / FIT_FILE, overwrite=True)
        atomic_write_text(out / "summary.csv", fit.summary().to_csv(index=False))
    return fit


def fit_path(run: Path) -> Path:
    """``RUN/fit.nc`` for a run directory, else the path itself."""
    return run / FIT_FILE if run.is_dir() else run


def load_fit(run: Path) -> FitResult:
    """Load ``RUN/fit.nc`` (or a path to the file itself)."""
    return FitResult.load(fit_path(run))


# ---------------------------------------------------------------------------------------
# projections
# ---------------------------------------------------------------------------------------
SHOCK_EFFECT_FILE = "shock_effect.csv"


@dataclass(frozen=True)
class ProjectionRuns:
    """The two fits and the panel a projection reads, and where they were read from."""

    migration: FitResult
    jobs: FitResult
    panel: Panel
    sources: dict[str, str] = field(default_factory=dict)  # migration, jobs, panel -> path


SOURCE_ATTRS = {"migration": "migration_run", "jobs": "jobs_run", "panel": "panel_path"}


def resolve_projection_runs(run: Path, jobs: Path | None, data: Path | None) -> ProjectionRuns:
    """``run`` is a migration run (then ``jobs`` and ``data`` are needed), a directory
    holding ``panel/`` and one migration and one jobs run (what ``attrbayes demo`` writes),
    or a projection (its fits and panel are read from where it recorded them, unless
    ``jobs`` / ``data`` say otherwise)."""
    if (run / PROJECTION_FILE).is_file():
        return _projection_sources(run, jobs, data)
    if (run / FIT_FILE).is_file() or run.suffix == ".nc":
        if jobs is None or data is None:
            raise SpecError(
                f"{run} is a single fit: give the jobs run (--jobs) and the panel (--data)"
            )
        return _runs(run, jobs, data)
    found: dict[str, Path] = {}
    for child in sorted(run.glob("*/" + FIT_FILE)):
        found.setdefault(load_fit(child).kind, child.parent)
    missing = [k for k in ("migration", "jobs") if k not in found and not (k == "jobs" and jobs)]
    if missing:
        raise SpecError(f"{run}: no {' or '.join(missing)} run inside; give runs explicitly")
    return _runs(found["migration"], jobs or found["jobs"], data or run / "panel")


def _runs(migration: Path, jobs: Path, panel: Path) -> ProjectionRuns:
    sources = {"migration": migration, "jobs": jobs, "panel": panel}
    return ProjectionRuns(
        load_fit(migration), load_fit(jobs), read_panel(panel),
        {k: str(v.resolve()) for k, v in sources.items()},
    )  # fmt: skip


def _projection_sources(proj: Path, jobs: Path | None, data: Path | None) -> ProjectionRuns:
    """The fits and panel a saved projection recorded, checked against its data hashes."""
    attrs = _projection_header(proj).attrs
    given = {"migration": None, "jobs": jobs, "panel": data}
    lacking = [a for k, a in SOURCE_ATTRS.items() if a not in attrs and given[k] is None]
    if lacking:
        raise SpecError(f"{proj} does not record where its fits are ({', '.join(lacking)}); "
                        "give the migration run instead, with --jobs and --data")  # fmt: skip
    paths = {k: given[k] or Path(attrs[a]) for k, a in SOURCE_ATTRS.items()}
    runs = _runs(paths["migration"], paths["jobs"], paths["panel"])
    for kind, fit in (("migration", runs.migration), ("jobs", runs.jobs)):
        if fit.tree.attrs["data_hash"] != attrs.get(f"{kind}_data_hash"):
            raise DataError(f"{proj}: the {kind} fit at {runs.sources[kind]} is not the one the "
                            "projection was made from (its data hash differs)")  # fmt: skip
    return runs


def _projection_header(proj: Path) -> xr.Dataset:
    """A saved projection's attributes and coordinates, without reading its draws."""

    def header(path: Path) -> xr.Dataset:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.drop_vars(list(ds.data_vars)).load()

    return open_saved(proj / PROJECTION_FILE, "projection", header)


def projection_settings(proj: Path) -> dict:
    """The options a saved projection was made with (assumptions, alternative, seed, last
    year, draws, scenarios), for what-if work that should match it."""
    ds = _projection_header(proj)
    return {
        "assumptions": str(ds.attrs["assumptions"]),
        "alternative": str(ds.attrs["alternative"]),
        "seed": int(ds.attrs["seed"]),
        "to": int(ds["year"].values[-1]),
        "draws": int(ds.sizes["draw"]),
        "scenarios": [str(s) for s in ds["scenario"].values],
    }


def run_projection(
    runs: ProjectionRuns, out: Path, *, overwrite: bool = False, **options
) -> ProjectionResult:
    """Project and write ``out/projection.nc`` plus ``out/population.csv`` (quantiles of
    population per place, year and scenario) and, with job shocks, ``out/shock_effect.csv``
    (their effect on the places and their commuting neighbours)."""
    target = out / PROJECTION_FILE
    if target.exists() and not overwrite:
        raise DataError(f"{target} already exists; pass --force to replace it")
    result = project(runs.migration, runs.jobs, runs.panel, **options)
    result.ds.attrs.update({SOURCE_ATTRS[k]: v for k, v in runs.sources.items()})
    result.save(target, overwrite=overwrite)
    table = quantile_table(result, variables=["population"])
    atomic_write_text(out / "population.csv", table.to_csv(index=False))
    if "shock_population_effect" in result.ds:
        effect = shock_effect_table(result)
        atomic_write_text(out / SHOCK_EFFECT_FILE, effect.to_csv(index=False))
    return result
