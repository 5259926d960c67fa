"""Run folders: preparing, running, saving and finding fits, and what a projection reads.

A fit's run folder holds ``fit.nc`` (the posterior with its design and provenance) and
``summary.csv``; ``attrbayes demo`` writes a folder holding ``panel/``, a migration and a
jobs run and ``projection/``. The names are here, and the stages that read runs (the
CLI, the pipeline, backtests, reports) find fits and projections through these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes import __version__
from attrbayes.config import SamplerConfig, check_level, load_spec
from attrbayes.data.panel import Panel, read_panel
from attrbayes.exceptions import DataError, SpecError
from attrbayes.features.design import Features, build_design, compute_features
from attrbayes.io_utils import atomic_write_text, claim_dir, csv_text, mark_owned, open_saved
from attrbayes.models.base import BayesModel
from attrbayes.models.registry import model_class
from attrbayes.priors import load_prior_set
from attrbayes.projection.result import PROJECTION_FILE
from attrbayes.results import FitResult

FIT_FILE = "fit.nc"
SUMMARY_FILE = "summary.csv"
POPULATION_FILE = "population.csv"  # beside a projection: population quantiles
SHOCK_EFFECT_FILE = "shock_effect.csv"  # beside a projection made with job shocks
PANEL_DIR, PROJECTION_DIR, REPORT_DIR = "panel", "projection", "report"  # in a demo's folder
# What attrbayes writes into each kind of folder (beside its marker and its own
# subfolders): --force replaces a folder holding these and nothing else.
RUN_NAMES = frozenset({FIT_FILE, SUMMARY_FILE, "centrality_path.png",
                       "attractiveness_scatter.png", "business_scatter.png"})  # fmt: skip
PROJECTION_NAMES = frozenset({PROJECTION_FILE, POPULATION_FILE, SHOCK_EFFECT_FILE,
                              "fan_nation.png", "fan_class6.png", "fan_0301.png",
                              "centrality_outlook.png"})  # fmt: skip
TARGET_NAMES = frozenset({"target.json", "target_draws.parquet", "target_fan.png"})
DEMO_NAMES = frozenset({PANEL_DIR, PROJECTION_DIR, REPORT_DIR, "ols_coefficients.csv",
                        "replication.csv", "migration_2022", "jobs_2022"})  # fmt: skip


@dataclass(frozen=True)
class RunLayout:
    """The file names inside attrbayes's folders, in one place: a fit's run folder
    (``fit``, ``summary``), a projection folder (``projection``, ``population``,
    ``shock_effect``) and the folder ``attrbayes demo`` writes (``panel``,
    ``projection_dir``, ``report_dir``, and a run folder named by each spec)."""

    root: Path

    @property
    def fit(self) -> Path:
        return self.root / FIT_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    @property
    def projection(self) -> Path:
        return self.root / PROJECTION_FILE

    @property
    def population(self) -> Path:
        return self.root / POPULATION_FILE

    @property
    def shock_effect(self) -> Path:
        return self.root / SHOCK_EFFECT_FILE

    @property
    def panel(self) -> Path:
        return self.root / PANEL_DIR

    @property
    def projection_dir(self) -> RunLayout:
        return RunLayout(self.root / PROJECTION_DIR)

    @property
    def report_dir(self) -> Path:
        return self.root / REPORT_DIR


@dataclass(frozen=True)
class PreparedFit:
    """A validated model, ready to sample (what ``fit --dry-run`` checks)."""

    model: BayesModel
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
    """Validate data, spec and priors and construct the model, without sampling (what
    ``attrbayes fit --dry-run`` checks).

    Parameters
    ----------
    panel
        A validated panel, or features already computed from one.
    spec_name
        A model specification's name or TOML path.
    level, years, priors
        As for :func:`fit`.

    Returns
    -------
    PreparedFit
        The model (``.model``, ready for ``fit``) and the features it was built from.
    """
    spec = load_spec(spec_name)
    level = check_level(level or spec.level)
    features = panel if isinstance(panel, Features) else compute_features(panel, level)
    design = build_design(features, spec, years=years)
    model = model_class(spec.kind)(design, spec, load_prior_set(priors, kind=spec.kind))
    return PreparedFit(model, features)


def run_fit(
    prepared: PreparedFit,
    sampler: SamplerConfig,
    out: Path | None = None,
    *,
    overwrite: bool = False,
) -> FitResult:
    """Sample a prepared model.

    Parameters
    ----------
    prepared
        From :func:`prepare_fit`.
    sampler
        How to sample (chains, draws, tuning, seed, nutpie or PyMC).
    out
        A run folder to save ``fit.nc`` and ``summary.csv`` in, or None. It is checked
        before sampling: new or empty, or (with ``overwrite``) a run folder of ours.
    overwrite
        Replace the fit in an existing run folder.

    Returns
    -------
    FitResult
        The posterior with its design and provenance.
    """
    if out is not None:
        claim_dir(out, force=overwrite, known=RUN_NAMES)
    fit = prepared.model.fit(sampler)
    if out is not None:
        layout = RunLayout(out)
        out.mkdir(parents=True, exist_ok=True)
        mark_owned(out, "run", __version__)
        fit.save(layout.fit, overwrite=True)
        atomic_write_text(layout.summary, csv_text(fit.summary()))
    return fit


def fit(
    panel: Panel | Features,
    spec: str,
    *,
    level: str | None = None,
    years: tuple[int, int] | None = None,
    priors: str | None = None,
    sampler: SamplerConfig | None = None,
    out: Path | None = None,
    overwrite: bool = False,
) -> FitResult:
    """Validate and fit a Bayesian model in one call.

    Parameters
    ----------
    panel
        A validated panel, or features already computed from one.
    spec
        A model specification's name (``models/NAME.toml``) or a TOML path.
    level
        "municipality", "region" or "county"; the spec's own level when None.
    years
        The estimation window (first, last); the panel's years when None.
    priors
        A prior set's name or TOML path; the kind's default set when None.
    sampler
        How to sample; 4 chains x 1,000 draws with nutpie when None.
    out
        A run folder to save ``fit.nc`` and ``summary.csv`` in, or None.
    overwrite
        Replace the fit in an existing run folder of ours.

    Returns
    -------
    FitResult
        The posterior with its design and provenance (``MigrationFit`` or ``JobsFit``).
    """
    prepared = prepare_fit(panel, spec, level=level, years=years, priors=priors)
    return run_fit(prepared, sampler or SamplerConfig(), out, overwrite=overwrite)


def fit_path(run: str | Path) -> Path:
    """``RUN/fit.nc`` for a run directory, else the path itself."""
    run = Path(run)
    return RunLayout(run).fit if run.is_dir() else run


def load_fit(run: str | Path) -> FitResult:
    """Load a saved fit.

    Parameters
    ----------
    run
        A run folder holding ``fit.nc``, or the file itself.

    Returns
    -------
    FitResult
        ``MigrationFit`` or ``JobsFit``, re-checked against its stored spec, priors and
        data hash.
    """
    return FitResult.load(fit_path(run))


# -- the projection's sources -------------------------------------------------------------
@dataclass(frozen=True)
class ProjectionRuns:
    """The two fits and the panel a projection reads, and where they were read from."""

    migration: FitResult
    jobs: FitResult
    panel: Panel
    sources: dict[str, str] = field(default_factory=dict)  # migration, jobs, panel -> path
    # the panel's municipality features where already computed (the projection reuses them)
    features: Features | None = None


SOURCE_ATTRS = {"migration": "migration_run", "jobs": "jobs_run", "panel": "panel_path"}


def resolve_projection_runs(run: Path, jobs: Path | None, data: Path | None) -> ProjectionRuns:
    """``run`` is a migration run (then ``jobs`` and ``data`` are needed), a directory
    holding ``panel/`` and one migration and one jobs run (what ``attrbayes demo`` writes),
    or a projection (its fits and panel are read from where it recorded them, unless
    ``jobs`` / ``data`` say otherwise)."""
    layout = RunLayout(run)
    if layout.projection.is_file():
        return _projection_sources(run, jobs, data)
    if layout.fit.is_file() or run.suffix == ".nc":
        if jobs is None or data is None:
            raise SpecError(
                f"{run} is a single fit: give the jobs run (--jobs) and the panel (--data)"
            )
        return _runs(run, jobs, data)
    found: dict[str, Path] = {}
    loaded: dict[Path, FitResult] = {}
    for child in sorted(run.glob("*/" + FIT_FILE)):
        fit = load_fit(child)
        if fit.kind not in found:
            found[fit.kind], loaded[child.parent] = child.parent, fit
    missing = [k for k in ("migration", "jobs") if k not in found and not (k == "jobs" and jobs)]
    if missing:
        raise SpecError(f"{run}: no {' or '.join(missing)} run inside; give runs explicitly")
    return _runs(found["migration"], jobs or found["jobs"], data or layout.panel, loaded)


def _runs(
    migration: Path, jobs: Path, panel: Path, loaded: Mapping[Path, FitResult] | None = None
) -> ProjectionRuns:
    """The fits and panel at these paths (``loaded``: fits already read, by run folder)."""
    sources = {"migration": migration, "jobs": jobs, "panel": panel}
    loaded = loaded or {}
    fits = {kind: loaded.get(path) or load_fit(path)
            for kind, path in (("migration", migration), ("jobs", jobs))}  # fmt: skip
    for kind, fit in fits.items():
        if fit.kind != kind:
            raise SpecError(f"{sources[kind]} is a {fit.kind} fit where the {kind} fit belongs "
                            "(the migration run first, the jobs run with --jobs)")  # fmt: skip
    data = read_panel(panel)
    features = check_fits_match_panel(fits.values(), data, panel)
    return ProjectionRuns(fits["migration"], fits["jobs"], data,
                          {k: str(v.resolve()) for k, v in sources.items()},
                          features.get("municipality"))  # fmt: skip


def check_fits_match_panel(
    fits: Iterable[FitResult], panel: Panel, where: Path | str
) -> dict[str, Features]:
    """Each fit's design, rebuilt from ``panel`` over the fit's years, must be the design
    the fit was made from (the design the fit stores, to rounding): a projection or
    report then starts from the data the fit saw. A panel extended by later years
    passes; one with other values in the fitted years does not. Returns the features it
    computed, by level."""
    features: dict[str, Features] = {}
    for fit in fits:
        level = fit.design.level
        if level not in features:
            features[level] = compute_features(panel, level)
        try:
            design = build_design(features[level], fit.spec, years=fit.design.years)
        except (DataError, SpecError) as exc:
            raise DataError(f"the {fit.kind} fit of {fit.spec.name} cannot be used with the "
                            f"panel {where}: {exc}") from exc  # fmt: skip
        if not _same_design(design.frame, fit.design.frame):
            raise DataError(
                f"the {fit.kind} fit of {fit.spec.name} was made on other data than the panel "
                f"{where} (its design over {fit.design.years_text()}, rebuilt from this panel, "
                "differs from the fit's): give the panel the fit was made from, or refit"
            )
    return features


def _same_design(rebuilt: pd.DataFrame, stored: pd.DataFrame) -> bool:
    """The same rows and columns, the same labels, and numbers equal to rounding (features
    computed by another version may differ in the last bits: the order of a sum)."""
    if list(rebuilt.columns) != list(stored.columns) or len(rebuilt) != len(stored):
        return False
    for column in rebuilt.columns:
        a, b = rebuilt[column].to_numpy(), stored[column].to_numpy()
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            if not np.allclose(a.astype(float), b.astype(float), rtol=1e-9, atol=1e-12,
                               equal_nan=True):  # fmt: skip
                return False
        elif not np.array_equal(a.astype(str), b.astype(str)):
            return False
    return True


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

    return open_saved(RunLayout(proj).projection, "projection", header)


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
