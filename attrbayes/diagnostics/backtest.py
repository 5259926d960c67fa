"""Rolling-origin calibration backtests (MODEL.md 6.5): fit up to year T, project
T+1..T+H, and score the projection against what happened.

For each origin ``T`` the panel is cut to what was known on 1 January ``T``
(:func:`truncate_panel`), both equations are refitted on the cut panel at municipality
level, and the cohort-component projection runs from ``T`` to ``T + max(horizons)``.
The projected 1 January population at ``T + h`` is compared per place, scenario, origin
and horizon with the observed population of the full panel:

* **coverage** of the 50/80/95 % equal-tailed intervals of the projection draws
  (1 if ``lower <= observed <= upper``; its mean over places is the empirical coverage);
* **CRPS** from the draws in the energy form ``E|X - y| - 0.5 E|X - X'|`` (Gneiting and
  Raftery 2007), with ``E|X - X'|`` from the sorted draws in ``O(m log m)``:
  ``E|X - X'| = 2 / m^2 * sum_i (2 i - m - 1) x_(i)`` (i = 1..m). It is the empirical
  distribution's CRPS (no ``m / (m - 1)`` correction), equal to the absolute error for
  one draw; reported in persons and in % of the observed value;
* **APE**: absolute error of the median in % of the observed value (its mean is MAPE);
* **PE**: signed error of the median in % of the observed value (its mean is the bias;
  positive: the projection was too high).

**National assumptions.** A backtest judges the local model, not the national guess, so
the projection's national paths are the observed ones where the full panel has them
(:func:`observed_assumptions`): net immigration as the panel's own net migration total
over its population (the quantity the engine controls the places' sum to; the
``immigration`` table when there are no components), TFR as the sum of each year's
national fertility rates, the mortality decline as the yearly fall of national death
probabilities standardised on the national population (the engine lowers every age by
one factor), private and public job growth from the national job totals (not across a
``jobs`` series break). The industry convergence years (and any path the panel does not
observe) come from the named fallback set (``synthetic`` by default). The set is written
as TOML text (validated by :func:`~attrbayes.projection.assumptions.parse_assumptions`,
stored in the result) and handed to :func:`~attrbayes.projection.engine.project` as a
temporary file.

**Baseline.** The book's deterministic method on the same cut panel: pooled OLS of the
same specs, then the same engine with one "draw" holding the OLS point estimates, no
year effects and no process noise; attractiveness is the OLS residual, so ``historical``
holds the mean residual of the last 10 fitted years constant and ``neutral`` sets it to 0.
It has no intervals: only its APE and PE (and CRPS, which is then the absolute error)
are scored, beside the Bayesian ones (``method`` = ``ols`` / ``bayes``).

**Several migration specs** (e.g. the centrality coefficient's forecast processes) share
one jobs fit per origin; the ``spec`` column tells them apart (the OLS baseline is run
once, for the first spec).

**The centrality coefficient.** Where the true coefficient path is known (a synthetic
panel's truth), the projected coefficient of each year after the last fitted one is
scored too (:meth:`BacktestResult.coefficient_summary`): coverage of its 50/80/95 %
intervals, CRPS and the error of its median, by ``horizon`` = years after the last
fitted year (horizon 1 is the origin's own year, whose migration moves the population
to horizon 1).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes import __version__
from attrbayes.config import SamplerConfig, load_spec
from attrbayes.data.panel import Panel
from attrbayes.exceptions import DataError, SpecError
from attrbayes.features.design import build_design, compute_features
from attrbayes.io_utils import atomic_write_text, atomic_write_with, csv_text, mark_owned
from attrbayes.models.ols import fit_ols
from attrbayes.projection.assumptions import PATHS, SCALARS, load_assumptions, parse_assumptions
from attrbayes.projection.engine import project
from attrbayes.projection.inputs import job_history
from attrbayes.results import design_hash, stack_draws
from attrbayes.runs import prepare_fit, run_fit

LEVELS = (50, 80, 95)
SIZE_CLASSES: tuple[tuple[float, float, str], ...] = (
    (0, 2_000, "<2,000"),
    (2_000, 5_000, "2,000-5,000"),
    (5_000, 20_000, "5,000-20,000"),
    (20_000, np.inf, "20,000+"),
)
# what BacktestResult.save writes into its folder (docs/safety.md)
BACKTEST_NAMES = frozenset({"scores.csv", "scores.parquet", "summary.csv",
                            "coefficient_scores.csv", "coefficient_summary.csv",
                            "coefficient_scores.parquet", "assumptions_*.toml",
                            "notes.txt", "tasks", "sweep.json"})  # fmt: skip


# ---------------------------------------------------------------------------------------
# the information set at an origin
# ---------------------------------------------------------------------------------------
def truncate_panel(panel: Panel, origin: int) -> tuple[Panel, list[str]]:
    """The panel as known on 1 January ``origin``, validated, and notes on what was done.

    Population is kept to 1 January ``origin``; every flow or yearly table (components,
    jobs, industry, national rates, immigration, commuting) to years ``<= origin - 1``:
    the components of year ``origin`` *are* the horizon-1 outcome, and jobs of ``origin``
    are counted in its fourth quarter. (Keeping them would leak the answer into the
    fit.) When no commuting year is that early, the earliest matrix is relabelled to
    ``origin - 1`` (commuting shares change slowly) and a note says so. The manifest's
    last year becomes ``origin``; series breaks after it are dropped.
    """
    m = panel.manifest
    if not m.first_year + 3 <= origin <= m.last_year:
        raise DataError(
            f"origin {origin} must lie in {m.first_year + 3}-{m.last_year} (the panel's years, "
            "with at least three years of history)"
        )
    notes: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    for name, df in panel.tables.items():
        if "year" not in df.columns:
            tables[name] = df
        elif name == "population":
            tables[name] = df[df["year"] <= origin]
        elif name == "commuting":
            kept = df[df["year"] <= origin - 1]
            if kept.empty:
                first = int(df["year"].min())
                kept = df[df["year"] == first].assign(year=origin - 1)
                notes.append(f"commuting: no year <= {origin - 1}; the {first} matrix is used "
                             f"as {origin - 1}")  # fmt: skip
            tables[name] = kept
        else:
            kept = df[df["year"] <= origin - 1]
            if kept.empty:
                notes.append(f"{name}: no year <= {origin - 1}; table dropped")
                continue
            tables[name] = kept
    breaks = {t: tuple(y for y in ys if y <= origin) for t, ys in m.series_breaks.items()}
    manifest = dataclasses.replace(
        m,
        last_year=origin,
        series_breaks={t: ys for t, ys in breaks.items() if ys},
        description=f"{m.description} (truncated to 1 January {origin})".strip(),
    )
    return Panel.from_tables(manifest, tables), notes


# ---------------------------------------------------------------------------------------
# scores
# ---------------------------------------------------------------------------------------
def crps_from_draws(draws: np.ndarray, observed: np.ndarray | float) -> np.ndarray:
    """CRPS of the empirical distribution of ``draws`` (last axis) at ``observed``:
    ``E|X - y| - 0.5 E|X - X'|``, the second term from the sorted draws."""
    x = np.sort(np.asarray(draws, dtype=float), axis=-1)
    y = np.asarray(observed, dtype=float)
    m = x.shape[-1]
    if m == 0:
        raise DataError("CRPS needs at least one draw")
    absolute = np.abs(x - y[..., None]).mean(axis=-1)
    weights = 2 * np.arange(1, m + 1) - m - 1
    spread = 2.0 / m**2 * (x * weights).sum(axis=-1)
    return absolute - 0.5 * spread


def interval_bounds(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``level`` % interval of ``draws`` (last axis)."""
    tail = (100 - level) / 200
    lower, upper = np.quantile(np.asarray(draws, dtype=float), [tail, 1 - tail], axis=-1)
    return lower, upper


def interval_coverage(draws: np.ndarray, observed: np.ndarray, level: float) -> np.ndarray:
    """1.0 where the equal-tailed ``level`` % interval of ``draws`` holds ``observed``."""
    lower, upper = interval_bounds(draws, level)
    y = np.asarray(observed, dtype=float)
    return ((lower <= y) & (y <= upper)).astype(float)


def size_class(population: np.ndarray | pd.Series) -> np.ndarray:
    """The place size class (:data:`SIZE_CLASSES`) of populations."""
    pop = np.asarray(population, dtype=float)
    out = np.full(pop.shape, "", dtype=object)
    for lo, hi, label in SIZE_CLASSES:
        out[(pop >= lo) & (pop < hi)] = label
    return out


# ---------------------------------------------------------------------------------------
# observed national assumptions
# ---------------------------------------------------------------------------------------
def _observed_paths(panel: Panel) -> dict[str, dict[int, float]]:
    paths: dict[str, dict[int, float]] = {}
    totals = panel.population_totals().sum(axis=0)
    if "components" in panel.tables:
        net = panel.tables["components"].groupby("year")["net_migration"].sum()
        paths["net_immigration_rate"] = {
            int(y): float(v / totals[y]) for y, v in net.items() if y in totals.index
        }
    elif "immigration" in panel.tables:
        imm = panel.tables["immigration"]
        paths["net_immigration_rate"] = dict(
            zip(imm["year"].astype(int), imm["net_immigration_rate"].astype(float), strict=True)
        )
    if "mortality" in panel.tables:
        paths["mortality_decline"] = _observed_mortality_decline(panel)
    if "fertility" in panel.tables:
        tfr = panel.tables["fertility"].groupby("year")["fertility_rate"].sum()
        paths["tfr"] = {int(y): float(v) for y, v in tfr.items() if v > 0}
    if "jobs" in panel.tables:
        private, public = job_history(panel.tables["jobs"], panel.place_codes)
        for key, wide in (("private_job_growth", private), ("public_job_growth", public)):
            national = wide.sum(axis=0)
            growth = national / national.shift(1) - 1
            breaks = set(panel.manifest.series_breaks.get("jobs", ()))  # no growth across
            paths[key] = {int(y): float(v) for y, v in growth.items()
                          if np.isfinite(v) and int(y) not in breaks}  # fmt: skip
    return paths


def _observed_mortality_decline(panel: Panel) -> dict[int, float]:
    """Yearly decline of national death probabilities, as the engine applies it (one
    factor for every age): ``1 - sum P q[t] / sum P q[t-1]``, standardised on the
    national population P by sex and age on 1 January ``t``."""
    q = panel.tables["mortality"].pivot_table(
        index="year", columns=["sex", "age"], values="death_probability"
    )
    pop = panel.tables["population"].pivot_table(
        index="year", columns=["sex", "age"], values="population", aggfunc="sum"
    )
    pop = pop.reindex(columns=q.columns).fillna(0.0)
    out = {}
    for year in q.index:
        if year - 1 in q.index and year in pop.index:
            weights = pop.loc[year].to_numpy()
            now, before = q.loc[year].to_numpy(), q.loc[year - 1].to_numpy()
            ok = np.isfinite(now) & np.isfinite(before)
            out[int(year)] = float(1 - (weights * now)[ok].sum() / (weights * before)[ok].sum())
    return out


def observed_assumptions(
    panel: Panel,
    first: int,
    last: int,
    *,
    fallback: str = "synthetic",
    alternative: str = "main",
) -> tuple[str, dict[str, list[int]]]:
    """TOML text of an assumption set ``[main]`` with the panel's observed national paths
    for ``first..last`` and the ``fallback`` set's ``alternative`` elsewhere; also which
    years of each path are observed."""
    alt = load_assumptions(fallback)[alternative]
    observed = _observed_paths(panel)
    years = np.arange(first, last + 1)
    lines = [
        "[provenance]",
        'source = "attrbayes backtest: observed national paths of the panel, else the '
        f'{fallback} set ({alternative})"',
        "",
        "[main]",
    ]
    used: dict[str, list[int]] = {}
    for key in PATHS:
        fall = alt.path(key, years)
        seen = observed.get(key, {})
        used[key] = [int(y) for y in years if int(y) in seen]
        values = [seen.get(int(y), float(f)) for y, f in zip(years, fall, strict=True)]
        table = ", ".join(f"{int(y)} = {v!r}" for y, v in zip(years, values, strict=True))
        lines.append(f"{key} = {{ {table} }}")
    for key in SCALARS:
        lines.append(f"{key} = {alt.scalars[key]!r}")
    text = "\n".join(lines) + "\n"
    parse_assumptions(text, name="backtest", where="backtest assumptions")  # validate
    return text, used


# ---------------------------------------------------------------------------------------
# the OLS baseline as a one-draw "fit"
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PointFit:
    """Duck-typed stand-in for a :class:`~attrbayes.results.FitResult` with one draw: the
    pooled OLS point estimates, attractiveness = OLS residual, no year effects or noise.
    Only what :func:`~attrbayes.projection.engine.project` reads is provided."""

    kind: str
    spec: object
    design: object
    posterior: xr.Dataset
    latent_attractiveness: xr.DataArray
    tree: SimpleNamespace
    attractiveness_state: None = None  # no time-varying part: the residual is constant

    def attractiveness_at(self, index: np.ndarray) -> tuple[xr.DataArray, None]:
        return self.latent_attractiveness.isel(draw=index), None

    def draws(self, name: str) -> xr.DataArray:
        return stack_draws(self.posterior[name])


def ols_point_fit(features, spec_name: str) -> PointFit:
    """Pooled OLS of ``spec_name`` on ``features`` as a :class:`PointFit`."""
    spec = load_spec(spec_name)
    design = build_design(features, spec)
    ols = fit_ols(design)  # the book's pooled OLS: contextual terms get no coefficient
    years = design.window
    one = {"dims": ("chain", "draw"), "coords": {"chain": [0], "draw": [0]}}
    data = {"intercept": float(ols.params["intercept"])}
    data.update({t: float(ols.params.get(t, 0.0)) for t in spec.slope_terms})
    post = xr.Dataset({k: (one["dims"], [[v]]) for k, v in data.items()}, coords=one["coords"])
    if "centrality" in spec.terms:
        coef = float(ols.params["centrality"])
        post["centrality"] = (one["dims"], [[coef]])
        post["centrality_path"] = (
            ("chain", "draw", "year"), np.full((1, 1, len(years)), coef)
        )  # fmt: skip
        post = post.assign_coords(year=years)
    resid = design.frame[["place", "year"]].assign(resid=ols.residuals)
    wide = resid.pivot_table(index="place", columns="year", values="resid").reindex(
        columns=years
    )  # fmt: skip
    wide = wide.apply(lambda row: row.fillna(row.mean()), axis=1).fillna(0.0)
    latent = xr.DataArray(
        wide.to_numpy()[None], dims=("draw", "place", "year"),
        coords={"draw": [0], "place": wide.index.to_numpy(), "year": years},
    )  # fmt: skip
    return PointFit(spec.kind, spec, design, post, latent,
                    SimpleNamespace(attrs={"data_hash": design_hash(design)}))  # fmt: skip


# ---------------------------------------------------------------------------------------
# the backtest
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BacktestResult:
    """Scores per method, spec, origin, horizon, scenario and place (and of the centrality
    coefficient where its truth is known); see the module docstring."""

    scores: pd.DataFrame
    assumptions: dict[int, str] = field(default_factory=dict)  # origin -> TOML text
    notes: tuple[str, ...] = ()
    coefficient: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(
        self, by: Sequence[str] = ("method", "spec", "scenario", "horizon", "size_class"),
    ) -> pd.DataFrame:  # fmt: skip
        """Mean scores by ``by``; ``size_class`` rows include ``all`` (every place)."""
        s = self.scores
        frames = [s]
        if "size_class" in by:
            frames.append(s.assign(size_class="all"))
        data = pd.concat(frames, ignore_index=True)
        agg = {"n": ("place", "size")}
        for level in LEVELS:
            agg[f"coverage_{level}"] = (f"covered_{level}", "mean")
        agg.update(crps_pct=("crps_pct", "mean"), mape=("ape", "mean"),
                   median_ape=("ape", "median"), bias=("pe", "mean"))  # fmt: skip
        order = [label for *_, label in SIZE_CLASSES] + ["all"]
        out = data.groupby(list(by), dropna=False).agg(**agg).reset_index()
        if "size_class" in by:
            out["size_class"] = pd.Categorical(out["size_class"], order, ordered=True)
            out = out.sort_values(list(by)).reset_index(drop=True)
            out["size_class"] = out["size_class"].astype(str)
        return out

    def coefficient_summary(self, by: Sequence[str] = ("spec", "horizon")) -> pd.DataFrame:
        """Coverage, CRPS and error of the projected centrality coefficient by ``by``."""
        if self.coefficient.empty:
            raise DataError("no coefficient scores: the backtest had no true coefficient path "
                            "(only synthetic panels carry one)")  # fmt: skip
        agg = {"n": ("year", "size")}
        for level in LEVELS:
            agg[f"coverage_{level}"] = (f"covered_{level}", "mean")
        agg.update(crps=("crps", "mean"), mae=("error", lambda e: e.abs().mean()),
                   bias=("error", "mean"), p_negative=("p_negative", "mean"))  # fmt: skip
        return self.coefficient.groupby(list(by)).agg(**agg).reset_index()

    def save(self, out: str | Path) -> list[Path]:
        """Write ``scores.csv``, ``scores.parquet``, ``summary.csv``, the coefficient's
        scores and summary where there are any, and the assumption sets
        (``assumptions_ORIGIN.toml``) into directory ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        mark_owned(out, "backtest", __version__)
        paths = [out / "scores.csv", out / "scores.parquet", out / "summary.csv"]
        atomic_write_text(paths[0], csv_text(self.scores))
        atomic_write_with(paths[1], lambda tmp: self.scores.to_parquet(tmp, index=False))
        atomic_write_text(paths[2], csv_text(self.summary()))
        if not self.coefficient.empty:
            extra = [out / "coefficient_scores.csv", out / "coefficient_summary.csv",
                     out / "coefficient_scores.parquet"]  # fmt: skip
            atomic_write_text(extra[0], csv_text(self.coefficient))
            atomic_write_text(extra[1], csv_text(self.coefficient_summary()))
            atomic_write_with(extra[2], lambda tmp: self.coefficient.to_parquet(tmp, index=False))
            paths += extra
        for origin, text in self.assumptions.items():
            path = out / f"assumptions_{origin}.toml"
            atomic_write_text(path, text)
            paths.append(path)
        return paths


def _score_coefficient(spec: str, projection, truth: pd.Series, origin: int) -> pd.DataFrame:
    """The projected centrality coefficient of each year after the fit against ``truth``."""
    ds = projection.ds
    last = int(ds.attrs["centrality_last_fitted_year"])
    da = ds["centrality_coefficient"].isel(scenario=0)
    years = [int(y) for y in da["coefficient_year"].values if y > last and int(y) in truth.index]
    x = da.sel(coefficient_year=years).transpose("coefficient_year", "draw").to_numpy()
    x, y = x.astype(float), truth.reindex(years).to_numpy(dtype=float)
    row = {"spec": spec, "origin": origin, "year": years, "horizon": np.array(years) - last,
           "truth": y, "median": np.median(x, axis=1),
           "p_negative": (x < 0).mean(axis=1)}  # fmt: skip
    for level in LEVELS:
        row[f"lower_{level}"], row[f"upper_{level}"] = interval_bounds(x, level)
        row[f"covered_{level}"] = interval_coverage(x, y, level)
    row.update(crps=crps_from_draws(x, y), error=np.median(x, axis=1) - y)
    return pd.DataFrame(row)


def _score(method: str, spec: str, projection, observed: pd.DataFrame, origin: int,
           horizons: Sequence[int], pop_origin: pd.Series) -> pd.DataFrame:  # fmt: skip
    pop = projection.ds["population"]
    names = projection.ds["name"].to_series()
    frames = []
    for h in horizons:
        year = origin + h
        y = observed[year].reindex(projection.places).to_numpy(dtype=float)
        for scenario in projection.scenarios:
            x = pop.sel(scenario=scenario, year=year).transpose("place", "draw").to_numpy()
            x = x.astype(float)
            median = np.median(x, axis=1)
            row = {
                "method": method, "spec": spec, "origin": origin, "horizon": h, "year": year,
                "scenario": scenario, "place": projection.places,
                "name": names.reindex(projection.places).to_numpy(),
                "pop_origin": pop_origin.reindex(projection.places).to_numpy(dtype=float),
                "observed": y, "median": median, "mean": x.mean(axis=1),
            }  # fmt: skip
            for level in LEVELS:
                lower, upper = interval_bounds(x, level)
                row[f"lower_{level}"], row[f"upper_{level}"] = lower, upper
                row[f"covered_{level}"] = (
                    interval_coverage(x, y, level) if x.shape[1] > 1 else np.nan
                )
            crps = crps_from_draws(x, y)
            row.update(crps=crps, crps_pct=100 * crps / y, ape=100 * np.abs(median - y) / y,
                       pe=100 * (median - y) / y)  # fmt: skip
            frames.append(pd.DataFrame(row))
    out = pd.concat(frames, ignore_index=True)
    out.insert(8, "size_class", size_class(out["pop_origin"]))
    return out


def _fit_noted(features, spec: str, sampler: SamplerConfig, notes: list[str], origin: int,
               priors: str | None = None):  # fmt: skip
    """Fit ``spec`` at municipality level; a failed diagnostics gate goes into ``notes``."""
    fit = run_fit(prepare_fit(features, spec, level="municipality", priors=priors), sampler)
    report = fit.convergence()
    if report.mcmc and not report.passed:
        notes.append(f"origin {origin}, {spec_label(fit.spec.name, priors)}: "
                     f"{report.summary_line()}")  # fmt: skip
    return fit


def spec_label(spec: str, priors: str | None) -> str:
    """How scores name a migration spec: its name, and the prior set where one is given."""
    return spec if priors is None else f"{spec} [{Path(priors).stem}]"


def backtest(
    panel: Panel,
    origins: Sequence[int],
    horizons: Sequence[int],
    *,
    migration_spec: str | Sequence[str] = "migration_2022",
    jobs_spec: str = "jobs_2022",
    sampler: SamplerConfig | None = None,
    draws: int = 200,
    scenarios: Sequence[str] = ("historical", "neutral"),
    assumptions: str = "synthetic",
    alternative: str = "main",
    baseline: bool = True,
    priors: str | None = None,
    coefficient_truth: pd.Series | None = None,
    seed: int = 20261128,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of the Bayesian projection (and the OLS baseline) on
    ``panel`` for one or several migration specs (fitted with the prior set ``priors``,
    default weakly_informative, and scored as "SPEC [PRIORS]" when one is given);
    ``assumptions`` / ``alternative`` are the fallback for national paths the panel does
    not observe; ``coefficient_truth``
    (year -> true centrality coefficient) scores the coefficient's outlook too."""
    horizons = sorted({int(h) for h in horizons})
    if not horizons or horizons[0] < 1:
        raise SpecError(f"horizons must be positive years, got {horizons}")
    if not origins:
        raise SpecError("give at least one origin")
    specs = [migration_spec] if isinstance(migration_spec, str) else list(migration_spec)
    if not specs or len(set(specs)) < len(specs):
        raise SpecError(f"give one or more distinct migration specs, got {specs}")
    sampler = sampler or SamplerConfig()
    say = progress or (lambda _msg: None)
    observed = panel.population_totals()
    frames, coefficient, texts, notes = [], [], {}, []
    for origin in sorted({int(o) for o in origins}):
        usable = [h for h in horizons if origin + h <= panel.manifest.last_year]
        if len(usable) < len(horizons):
            notes.append(f"origin {origin}: horizons {sorted(set(horizons) - set(usable))} "
                         f"are past the panel's last year {panel.manifest.last_year}")  # fmt: skip
        if not usable:
            continue
        cut, cut_notes = truncate_panel(panel, origin)
        notes += [f"origin {origin}: {n}" for n in cut_notes]
        to = origin + max(usable)
        text, _ = observed_assumptions(panel, origin - 3, to, fallback=assumptions,
                                       alternative=alternative)  # fmt: skip
        texts[origin] = text
        features = compute_features(cut, "municipality")
        say(f"origin {origin}: fitting {jobs_spec}")
        jobs = _fit_noted(features, jobs_spec, sampler, notes, origin)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"backtest_{origin}.toml"
            path.write_text(text, encoding="utf-8")
            common = {"assumptions": str(path), "alternative": "main",
                      "scenarios": scenarios, "to": to, "seed": seed,
                      "workers": workers}  # fmt: skip
            for spec in specs:
                name = spec_label(load_spec(spec).name, priors)
                say(f"origin {origin}: fitting {name}")
                mig = _fit_noted(features, spec, sampler, notes, origin, priors)
                say(f"origin {origin}: projecting {name}, {draws} draws to {to}")
                bayes = project(mig, jobs, cut, draws=draws, **common)
                frames.append(_score("bayes", name, bayes, observed, origin, usable,
                                     observed[origin]))  # fmt: skip
                if coefficient_truth is not None and "centrality_coefficient" in bayes.ds:
                    coefficient.append(_score_coefficient(name, bayes, coefficient_truth, origin))
            if baseline:
                say(f"origin {origin}: OLS baseline")
                points = [ols_point_fit(features, s) for s in (specs[0], jobs_spec)]
                ols = project(*points, cut, draws=1, noise=False, **common)
                frames.append(_score("ols", points[0].spec.name, ols, observed, origin, usable,
                                     observed[origin]))  # fmt: skip
    if not frames:
        raise SpecError("no origin has an observed horizon in the panel")
    coef = pd.concat(coefficient, ignore_index=True) if coefficient else pd.DataFrame()
    return BacktestResult(pd.concat(frames, ignore_index=True), texts, tuple(notes), coef)
