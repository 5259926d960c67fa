"""The place report: one self-contained HTML file per place for municipal planners.

A report holds key figures in plain language (residential and business attractiveness
with intervals and ranks, projected population and the probability of growth per
scenario), the attractiveness over time and among all places, the population and job
growth decompositions, fan charts to the projection's horizon, what must happen for the
place to avoid decline and to keep its 0-15 year olds (the needed residential
attractiveness or extra private jobs, solved per draw), a "how to read this" box and a
data and method footnote with the diagnostics gate (a banner on top when it failed).
Charts are inline base64 PNG, CSS is inline, fonts are the system's: the file
works offline and makes no network request. Texts are data (``texts/nb.toml``,
``texts/en.toml``), rendered with the jinja2 templates in ``templates/`` (autoescaped).

:class:`ReportBuilder` computes what all places share once (attractiveness tables and
ranks, decomposition draws and national ranks, projection summaries, the gates, a
projector with the projection's settings and its neutral run), so that
:meth:`ReportBuilder.build` for one more place only selects, solves, draws and renders.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import difflib
import io
import math
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from importlib import resources
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from attrbayes import __version__
from attrbayes.attractiveness import ranked_attractiveness
from attrbayes.constants import INTERVALS
from attrbayes.data.panel import Panel
from attrbayes.decomposition import Decomposer, Decomposition, check_period
from attrbayes.exceptions import AttrbayesError, DataError
from attrbayes.features.design import Features
from attrbayes.io_utils import atomic_write_bytes, atomic_write_text, neutralise_formulas
from attrbayes.plots import agg_canvas, figure_png
from attrbayes.plots.attractiveness import (
    ChartLabels,
    RankChart,
    attractiveness_path_data,
    plot_attractiveness_paths,
    refill_attractiveness_paths,
)
from attrbayes.projection.result import ProjectionResult
from attrbayes.projection.tables import (
    EXCEL_FORMAT,
    add_excel_sheets,
    norwegian_number_format,
)
from attrbayes.quantiles import band_columns, band_probabilities, quantiles
from attrbayes.reporting import numbers as nf
from attrbayes.results import FitResult

TEXTS_PACKAGE = "attrbayes.reporting"
SCENARIO_ORDER = ("neutral", "historical", "high", "low", "historical_constant")
HEADLINE_SCENARIO = "historical"
GROWTH_YEARS = (2040, 2050)
PERIOD_YEARS = 10  # the default report period: the last ten fitted years
DPI = 100
KINDS = ("residential", "business")
COMPARISON_YEAR = 2040  # the year of "what must happen" and of the scenario spread
TARGET_DRAWS = 100  # posterior draws for "what must happen" (a solve takes 3-8 runs)
TARGETS = {"no_decline": None, "children": "0-15"}  # target -> age group (None: everyone)
BAND_COLUMNS = tuple(band_columns(INTERVALS))  # median, lower_50, upper_50, ... upper_95
LEVEL_MEASURES = ("attractiveness", "persons_per_year", "jobs_per_year", "jobs_rate")
PCT_MEASURES = ("attractiveness", "jobs_rate")  # rates, shown in % a year


# -- texts ----------------------------------------------------------------------------------
@cache
def load_texts(lang: str) -> dict[str, Any]:
    """The report's texts in ``lang`` (``nb`` or ``en``), from ``texts/<lang>.toml``."""
    nf.check_language(lang)
    source = resources.files(TEXTS_PACKAGE) / "texts" / f"{lang}.toml"
    return tomllib.loads(source.read_text(encoding="utf-8"))


def text_keys(texts: dict[str, Any], prefix: str = "") -> set[str]:
    """Every dotted key of a texts table (for checking that languages match)."""
    keys: set[str] = set()
    for key, value in texts.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            keys |= text_keys(value, path + ".")
        else:
            keys.add(path)
    return keys


@dataclass(frozen=True)
class Texts:
    """Look up ``section.key`` in a language's texts and fill its placeholders."""

    lang: str
    table: dict[str, Any]

    def __call__(self, key: str, **values: object) -> str:
        node: Any = self.table
        for part in key.split("."):
            node = node[part]
        return str(node).format(**values) if values else str(node)

    def driver(self, name: str) -> str:
        return str(self.table["drivers"].get(name, name))

    def scenario(self, name: str) -> str:
        entry = self.table["scenarios"].get(name)
        return str(entry["name"]) if entry else name

    def scenario_description(self, name: str) -> str:
        entry = self.table["scenarios"].get(name)
        return str(entry["description"]) if entry else ""

    def period(self, years: tuple[int, int]) -> str:
        first, last = years
        return str(first) if first == last else self("meta.period", first=first, last=last)

    # numbers in this language
    def pct(self, value: float, decimals: int = 1) -> str:
        return nf.format_percent(value, self.lang, decimals=decimals)

    def count(self, value: float, signed: bool = False) -> str:
        return nf.format_count(value, self.lang, signed=signed)

    def number(self, value: float, decimals: int = 0) -> str:
        return nf.format_number(value, self.lang, decimals=decimals)

    def rank(self, value: float) -> str:
        return nf.format_rank(value, self.lang)

    def prob(self, value: float) -> str:
        return nf.format_probability(value, self.lang)


def texts_for(lang: str) -> Texts:
    return Texts(lang, load_texts(lang))


# -- places ---------------------------------------------------------------------------------
def resolve_report_place(key: str, names: dict[str, str]) -> str:
    """The place code for ``key`` (a code, or a unique name, case-insensitive); otherwise
    a DataError suggesting near matches by code and by name."""
    wanted = str(key).strip()
    if wanted in names:
        return wanted
    if wanted.isdigit() and len(wanted) < 4 and wanted.zfill(4) in names:
        return wanted.zfill(4)
    folded = {code: name.casefold() for code, name in names.items()}
    hits = [code for code, name in folded.items() if name == wanted.casefold()]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        listed = ", ".join(f"{c} ({names[c]})" for c in sorted(hits))
        raise DataError(f"the name {wanted!r} fits {len(hits)} places: {listed}; give the code")
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.5)
    by_name = difflib.get_close_matches(wanted.casefold(), list(folded.values()), n=3, cutoff=0.6)
    close += [c for c, n in folded.items() if n in by_name and c not in close]
    close += [c for c, n in folded.items()
              if wanted.casefold() and wanted.casefold() in n and c not in close]  # fmt: skip
    hint = (
        "; did you mean " + ", ".join(f"{c} ({names[c]})" for c in close[:5]) + "?"
        if close
        else f"; codes run from {min(names)} to {max(names)}"
    )
    raise DataError(f"unknown place {wanted!r} ({len(names)} places in the run){hint}")


# -- sources --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportSources:
    """What a report reads: both fits, the panel (if found), the projection (optional)
    and per-place reference lines (optional)."""

    run: Path
    migration: FitResult
    jobs: FitResult
    panel: Panel | None = None
    projection: ProjectionResult | None = None
    projection_path: Path | None = None
    reference: pd.DataFrame | None = None  # year, value, label, place (place may be "")
    features: Features | None = None  # the panel's municipality features, where computed


def read_place_reference(path: str | Path) -> pd.DataFrame:
    """A reference-line CSV (``year, value``, optionally ``label`` and ``place``; see
    :func:`attrbayes.plots.fan.read_reference`). Without a ``place`` column the lines are
    for whichever single place the report is about (``place`` is then empty)."""
    from attrbayes.plots.fan import read_reference

    source = Path(path)
    base = read_reference(source)
    raw = pd.read_csv(source, sep=None, engine="python", encoding="utf-8-sig", dtype=str)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if "place" not in raw.columns:
        return base.assign(place="")
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(raw["year"], errors="coerce"),
            "value": pd.to_numeric(raw["value"], errors="coerce"),
            "label": raw["label"].fillna(source.stem) if "label" in raw else source.stem,
            "place": raw["place"].fillna("").str.strip().str.zfill(4),
        }
    )
    frame["year"] = frame["year"].astype(np.int64)  # read_reference checked the numbers
    return frame.sort_values(["place", "label", "year"]).reset_index(drop=True)


def load_sources(
    run: Path, *, projection: Path | None = None, jobs: Path | None = None,
    data: Path | None = None, reference: Path | None = None,
) -> ReportSources:  # fmt: skip
    """Resolve a run directory (see :func:`attrbayes.runs.resolve_projection_runs`);
    the projection is ``projection`` (a directory or a ``.nc`` file) or, when not given,
    ``RUN/projection`` if present."""
    from attrbayes.projection.result import projection_path
    from attrbayes.runs import RunLayout, resolve_projection_runs

    runs = resolve_projection_runs(run, jobs, data)
    proj_path = None
    if projection is not None:
        proj_path = projection_path(projection)
        if not proj_path.is_file():
            raise DataError(f"{proj_path}: no projection here")
    elif run.is_dir() and (beside := RunLayout(run).projection_dir.projection).is_file():
        proj_path = beside
    if proj_path is not None:
        ProjectionResult.verify(proj_path)  # the report reads all of it anyway
    proj = ProjectionResult.load(proj_path) if proj_path is not None else None
    for kind, fit in (("migration", runs.migration), ("jobs", runs.jobs)):
        made_from = None if proj is None else proj.ds.attrs.get(f"{kind}_data_hash")
        if made_from is not None and made_from != fit.tree.attrs["data_hash"]:
            raise DataError(f"{proj_path} was projected from another {kind} fit than "
                            f"{runs.sources[kind]} (their data hashes differ)")  # fmt: skip
    ref = read_place_reference(reference) if reference is not None else None
    return ReportSources(run, runs.migration, runs.jobs, runs.panel, proj, proj_path, ref,
                         runs.features)  # fmt: skip


# -- shared computations --------------------------------------------------------------------
def report_period(fit, years: tuple[int, int] | None = None) -> tuple[int, int]:
    """``years`` checked against the fit, or the last ten fitted years by default."""
    if years is not None:
        return check_period(fit, years)
    first, last = (int(y) for y in fit.design.years)
    return max(first, last - PERIOD_YEARS + 1), last


def attractiveness_by_year(fit) -> pd.DataFrame:
    """Rows ``place, year, pct_median, pct_lower_50 ... pct_upper_95`` for every place
    and fitted year (the same numbers as ``attractiveness_table(fit, by="year")``)."""
    da = fit.latent_attractiveness.transpose("draw", "place", "year")
    q = quantiles(da.to_numpy() * 100, band_probabilities(), axis=0)  # (prob, place, year)
    places = [str(p) for p in da["place"].to_numpy()]
    years = [int(y) for y in da["year"].to_numpy()]
    index = pd.MultiIndex.from_product([places, years], names=["place", "year"])
    columns = [f"pct_{c}" for c in band_columns()]
    frame = pd.DataFrame({c: q[i].reshape(-1) for i, c in enumerate(columns)}, index=index)
    return frame.reset_index()


@dataclass(frozen=True)
class ProjectionSummary:
    """Per place and scenario: base population, quantiles at the milestone years and the
    probability of growth from the base year (all places at once, per draw)."""

    base_year: int
    last_year: int
    years: tuple[int, ...]  # milestone years (growth years and the last year)
    scenarios: tuple[str, ...]
    places: tuple[str, ...]
    base: np.ndarray  # (scenario, place): median population in the base year
    median: np.ndarray  # (scenario, place, year)
    lower_80: np.ndarray
    upper_80: np.ndarray
    p_growth: np.ndarray  # (scenario, place, year): P(population[year] > population[base])

    @classmethod
    def compute(cls, projection: ProjectionResult, scenarios: Sequence[str]) -> ProjectionSummary:
        pop = projection.ds["population"].sel(scenario=list(scenarios))
        years = [int(y) for y in pop["year"].values]
        base_year, last = years[0], years[-1]
        wanted = sorted({*[y for y in GROWTH_YEARS if y in years and y != base_year], last})
        arr = pop.transpose("scenario", "place", "year", "draw")
        base_draws = arr.sel(year=base_year).to_numpy()  # (scenario, place, draw)
        values = arr.sel(year=wanted).to_numpy()  # (scenario, place, year, draw)
        q = np.quantile(values, [0.5, 0.1, 0.9], axis=-1)
        growth = (values > base_draws[:, :, None, :]).mean(axis=-1)
        return cls(
            base_year=base_year, last_year=last, years=tuple(wanted),
            scenarios=tuple(scenarios), places=tuple(projection.places),
            base=np.median(base_draws, axis=-1), median=q[0], lower_80=q[1], upper_80=q[2],
            p_growth=growth,
        )  # fmt: skip

    def frame(self, place: str) -> pd.DataFrame:
        """Rows ``scenario, year, base, median, lower_80, upper_80, p_growth``."""
        i = self.places.index(place)
        rows = [
            {"scenario": s, "year": y, "base": self.base[k, i], "median": self.median[k, i, j],
             "lower_80": self.lower_80[k, i, j], "upper_80": self.upper_80[k, i, j],
             "p_growth": self.p_growth[k, i, j]}
            for k, s in enumerate(self.scenarios) for j, y in enumerate(self.years)
        ]  # fmt: skip
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class ProjectionTables:
    """What the reports show of the projection for a set of places, computed for all of them
    at once: the quantiles over draws of every main variable (the numbers of
    :func:`unit_quantile_table`, :func:`attrbayes.plots.fan.fan_chart_data` and
    :func:`attrbayes.plots.fan.age_group_fan_data`, which select one place at a time from
    the per-draw dataset), the observed population, the draws in the comparison year (for
    "what must happen"), the centrality table and the projection's attributes. Small and
    picklable: worker processes get it instead of the per-draw dataset."""

    places: tuple[str, ...]
    names: tuple[str, ...]
    scenarios: tuple[str, ...]
    variables: tuple[str, ...]
    years: np.ndarray  # (year,) int64
    bands: np.ndarray  # (variable, scenario, place, year, band) float64, BAND_COLUMNS order
    history_years: np.ndarray  # (history_year,) int64
    history: np.ndarray | None  # (place, history_year) observed population
    draws_in_year: dict[str, np.ndarray]  # TARGETS key -> (scenario, place, draw) float64
    attrs: dict[str, Any]
    n_draws: int
    centrality: pd.DataFrame | None

    @classmethod
    def compute(cls, projection: ProjectionResult, scenarios: Sequence[str],
                places: Sequence[str] | None = None,
                year: int | None = None) -> ProjectionTables:  # fmt: skip
        """The tables of ``places`` (all when None) and ``scenarios``; ``year``: the
        comparison year whose draws "what must happen" compares with its targets."""
        from attrbayes.projection.result import unit_key
        from attrbayes.projection.tables import (
            MAIN_VARIABLES,
            draw_quantiles,
            has_draws,
            has_variable,
            variable_draws,
        )

        ds = projection.ds
        chosen = list(scenarios)
        codes = list(projection.places) if places is None else list(places)
        sub = ds.sel(scenario=chosen, place=codes) if places is not None else \
            ds.sel(scenario=chosen)  # fmt: skip
        variables = [v for v in MAIN_VARIABLES if has_variable(projection, v)]
        order = ("scenario", "place", "year", "draw")
        bands = []
        for variable in variables:
            if not has_draws(projection, variable):  # a flow kept as quantiles
                stored = ds[f"{variable}_quantiles"].sel(
                    scenario=chosen, unit=[unit_key("place", c) for c in codes],
                    band=list(BAND_COLUMNS))  # fmt: skip
                bands.append(stored.transpose("scenario", "unit", "year", "band")
                             .to_numpy().astype(np.float64))  # fmt: skip
                continue
            da = variable_draws(projection, variable, places).sel(scenario=chosen)
            stats = draw_quantiles(da.transpose(*order).to_numpy())
            bands.append(np.stack([np.asarray(stats[c], dtype=np.float64)
                                   for c in BAND_COLUMNS], axis=-1))  # fmt: skip
        names = (sub["name"].to_numpy().astype(str) if "name" in sub.coords
                 else np.asarray(codes, dtype=str))  # fmt: skip
        history = None
        history_years = np.zeros(0, dtype=np.int64)
        if "history_population" in sub:
            hist = sub["history_population"].transpose("place", "history_year")
            history = hist.to_numpy().astype(np.float64)
            history_years = hist["history_year"].to_numpy().astype(np.int64)
        in_year: dict[str, np.ndarray] = {}
        years = ds["year"].to_numpy().astype(np.int64)
        if year is not None and int(year) in set(years.tolist()):
            for key, group in TARGETS.items():
                if group is None:
                    da = sub["population"]
                elif "age_group_population" in sub:
                    da = sub["age_group_population"].sel(age_group=group, drop=True)
                else:
                    continue
                in_year[key] = (da.sel(year=int(year)).transpose("scenario", "place", "draw")
                                .to_numpy().astype(np.float64))  # fmt: skip
        centrality = projection.centrality_table() if "centrality_coefficient" in ds else None
        return cls(
            places=tuple(str(c) for c in codes), names=tuple(str(n) for n in names),
            scenarios=tuple(chosen), variables=tuple(variables), years=years,
            bands=np.stack(bands) if bands else np.zeros((0, len(chosen), len(codes),
                                                          len(years), len(BAND_COLUMNS))),
            history_years=history_years, history=history, draws_in_year=in_year,
            attrs=dict(ds.attrs), n_draws=int(ds.sizes["draw"]), centrality=centrality,
        )  # fmt: skip

    @cached_property
    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.places)}

    def _bands(self, variable: str, place: str) -> np.ndarray:
        """(scenario, year, band) of one variable and place."""
        return self.bands[self.variables.index(variable), :, self.index[place]]

    def quantile_table(self, place: str) -> pd.DataFrame:
        """What :func:`unit_quantile_table` gives for the place and these scenarios."""
        n_s, n_v, n_y = len(self.scenarios), len(self.variables), len(self.years)
        values = self.bands[:, :, self.index[place]]  # (variable, scenario, year, band)
        values = values.transpose(1, 0, 2, 3).reshape(n_s * n_v * n_y, len(BAND_COLUMNS))
        frame = pd.DataFrame({
            "scenario": np.repeat(np.asarray(self.scenarios, dtype=object), n_v * n_y),
            "level": "place", "place": place, "name": self.names[self.index[place]],
            "year": np.tile(self.years, n_s * n_v),
            "variable": np.tile(np.repeat(np.asarray(self.variables, dtype=object), n_y), n_s),
        })  # fmt: skip
        for j, column in enumerate(BAND_COLUMNS):
            frame[column] = values[:, j]
        for column in ("scenario", "level", "place", "name", "variable"):
            frame[column] = frame[column].astype(str)
        return frame

    def history_frame(self, place: str) -> pd.DataFrame:
        """Observed population ``year, value`` (what :func:`unit_history` gives)."""
        if self.history is None:
            return pd.DataFrame({"year": pd.Series(dtype=int), "value": pd.Series(dtype=float)})
        frame = pd.DataFrame({"year": self.history_years.astype(int),
                              "value": self.history[self.index[place]]})  # fmt: skip
        return frame.dropna().reset_index(drop=True)

    def fan_data(self, place: str, scenarios: Sequence[str],
                 reference: pd.DataFrame | None = None) -> pd.DataFrame:  # fmt: skip
        """What :func:`attrbayes.plots.fan.fan_chart_data` gives for the population."""
        rows = [self.scenarios.index(s) for s in scenarios]
        values = self._bands("population", place)[rows]  # (scenario, year, band)
        n_y = len(self.years)
        proj = pd.DataFrame({"scenario": np.repeat(np.asarray(list(scenarios), dtype=object),
                                                   n_y),
                             "year": np.tile(self.years, len(rows))})  # fmt: skip
        flat = values.reshape(len(rows) * n_y, len(BAND_COLUMNS))
        for j, column in enumerate(BAND_COLUMNS):
            proj[column] = flat[:, j]
        proj = proj.dropna(subset=["median"])
        proj["scenario"] = proj["scenario"].astype(str)
        proj["series"] = "projection"
        proj["label"] = proj["scenario"]
        frames = [proj]
        history = self.history_frame(place)
        if not history.empty:
            frames.append(history.rename(columns={"value": "median"}).assign(
                series="history", scenario="", label="observed"))  # fmt: skip
        if reference is not None and not reference.empty:
            frames.append(reference.rename(columns={"value": "median"}).assign(
                series="reference", scenario=""))  # fmt: skip
        out = pd.concat(frames, ignore_index=True)
        out["year"] = out["year"].astype(np.int64)
        return out[["series", "scenario", "label", "year", *BAND_COLUMNS]]

    def age_data(self, place: str, scenario: str) -> pd.DataFrame:
        """What :func:`attrbayes.plots.fan.age_group_fan_data` gives."""
        from attrbayes.projection.tables import AGE_GROUP_VARIABLES

        k = self.scenarios.index(scenario)
        frames = []
        for group in AGE_GROUP_VARIABLES:
            values = self._bands(group, place)[k]  # (year, band)
            frame = pd.DataFrame({"year": self.years})
            for j, column in enumerate(BAND_COLUMNS):
                frame[column] = values[:, j]
            frames.append(frame.assign(age_group=group))
        out = pd.concat(frames, ignore_index=True)
        out["year"] = out["year"].astype(np.int64)
        return out[["age_group", "year", *BAND_COLUMNS]]


@dataclass(frozen=True)
class TargetSetup:
    """What "what must happen" shares across places: a projector with the projection's
    settings up to the target year, its neutral run (the baseline every solve replays)
    and all places' sustained residential and business attractiveness."""

    projector: Any  # attrbayes.projection.engine.Projector
    baseline: Any  # its neutral Run
    sustained: tuple[pd.DataFrame, pd.DataFrame]
    year: int


@dataclass(frozen=True)
class TargetsUnavailable:
    """Why a report has no "what must happen" section (a ``targets.missing_*`` text)."""

    reason: str
    error: str = ""


@dataclass(frozen=True)
class PlaceReport:
    """One place's report: the HTML and the tables behind it (for the workbook)."""

    place: str
    name: str
    html: str
    tables: dict[str, pd.DataFrame]
    projection_table: pd.DataFrame | None
    lang: str
    summary: dict[str, float] = field(default_factory=dict)  # for the index page

    def xlsx_bytes(self) -> bytes:
        """The report's tables as an xlsx workbook (see :func:`workbook_bytes`)."""
        return workbook_bytes(self)


class ReportBuilder:
    """Shared computations for reports on any number of places of one run."""

    def __init__(self, sources: ReportSources, *, years: tuple[int, int] | None = None,
                 age_scenarios: Sequence[str] | None = None, dpi: int = DPI,
                 target_draws: int = TARGET_DRAWS) -> None:  # fmt: skip
        """``years``: the report period (default: each fit's last ten years);
        ``age_scenarios``: the scenarios with age-group fan charts (default: the headline
        scenario, historical; ``["all"]`` for all; each chart costs about a second);
        ``target_draws``: posterior draws for "what must happen" (0: leave it out)."""
        if target_draws < 0:
            raise DataError(f"--target-draws {target_draws}: give 0 (no section) or more")
        self.sources = sources
        self.target_draws = target_draws
        self.fits = {"residential": sources.migration, "business": sources.jobs}
        self.periods = {k: report_period(f, years) for k, f in self.fits.items()}
        self.dpi = dpi
        frame = sources.migration.design.frame
        first = frame.groupby("place").first()
        self.names = {str(p): str(first.loc[p, "name"]) if "name" in first else str(p)
                      for p in first.index}  # fmt: skip
        self.regions = {str(p): str(first.loc[p, "region"]) if "region" in first else ""
                        for p in first.index}  # fmt: skip
        self.counties = {str(p): str(first.loc[p, "county"]) if "county" in first else ""
                         for p in first.index}  # fmt: skip
        self.places = sorted(self.names)
        proj = sources.projection
        self.has_projection = proj is not None
        self.kept_figures: dict[tuple, KeptFigure] = {}  # charts kept for the next place
        self._tables: dict[str, ProjectionTables] = {}  # "all", or one place's code
        have = proj.scenarios if proj is not None else []
        self.scenarios: tuple[str, ...] = tuple(
            [s for s in SCENARIO_ORDER if s in have] + [s for s in have if s not in SCENARIO_ORDER]
        )
        self.headline = (HEADLINE_SCENARIO if HEADLINE_SCENARIO in self.scenarios
                         else self.scenarios[0] if self.scenarios else "")  # fmt: skip
        self.age_scenarios: tuple[str, ...] = ()
        if not self.scenarios:
            pass
        elif age_scenarios is None:
            self.age_scenarios = (self.headline,)
        elif list(age_scenarios) == ["all"]:
            self.age_scenarios = self.scenarios
        else:
            unknown = [s for s in age_scenarios if s not in self.scenarios]
            if unknown:
                raise DataError(f"unknown scenario(s) {unknown} for age-group charts; the "
                                f"projection has {', '.join(self.scenarios)}")  # fmt: skip
            self.age_scenarios = tuple(age_scenarios)

    @property
    def top(self) -> int:
        """N of "among the N most (least) attractive": 10, fewer for small runs."""
        return min(10, max(1, len(self.places) // 5))

    def resolve(self, key: str) -> str:
        return resolve_report_place(key, self.names)

    # -- shared tables, computed on first use -----------------------------------------------
    @cached_property
    def attractiveness(self) -> dict[str, pd.DataFrame]:
        """Period attractiveness with rank distributions, per kind, all places."""

        def ranked(kind: str) -> pd.DataFrame:
            table = ranked_attractiveness(self.fits[kind], years=self.periods[kind], top=self.top)
            return table.assign(place=table["place"].astype(str)).set_index("place", drop=False)

        # the fits side by side: drawing their AR states (filters, sums) releases the GIL
        with ThreadPoolExecutor(len(self.fits)) as pool:
            return dict(zip(self.fits, pool.map(ranked, self.fits), strict=True))

    @cached_property
    def attractiveness_by_year(self) -> dict[str, pd.DataFrame]:
        """Attractiveness per place and fitted year (% per year) with 50/80/95 %
        intervals, per kind: the ``pct_*`` columns of :func:`attractiveness_table` with
        ``by="year"``, all quantiles in one pass (that function also computes persons)."""
        return {kind: attractiveness_by_year(fit) for kind, fit in self.fits.items()}

    @cached_property
    def gates(self) -> dict[str, Any]:
        return {kind: fit.convergence() for kind, fit in self.fits.items()}

    @property
    def gate_failed(self) -> bool:
        return any(not g.passed for g in self.gates.values())

    @cached_property
    def decomposers(self) -> dict[str, Decomposer]:
        jobs_table, breaks = None, ()
        panel, fit = self.sources.panel, self.sources.jobs
        if panel is not None and panel.has("jobs"):
            from attrbayes.features.design import level_data

            jobs_table = level_data(panel, fit.design.level).tables["jobs"]
            breaks = panel.manifest.series_breaks.get("jobs", ())
        return {
            "residential": Decomposer(self.sources.migration, self.periods["residential"]),
            "business": Decomposer(fit, self.periods["business"], jobs=jobs_table,
                                   breaks=breaks),
        }  # fmt: skip

    @cached_property
    def projection_summary(self) -> ProjectionSummary | None:
        proj = self.sources.projection
        return ProjectionSummary.compute(proj, self.scenarios) if proj is not None else None

    @cached_property
    def projection_attrs(self) -> dict[str, Any]:
        """The projection's attributes (its settings and sources); empty without one."""
        proj = self.sources.projection
        return dict(proj.ds.attrs) if proj is not None else {}

    def projection_tables(self, place: str | None = None) -> ProjectionTables:
        """The projection's tables of every place (as :meth:`prepare` computes them), or of
        ``place`` alone when they are not there (a single report reads one place)."""
        if "all" in self._tables or place is None:
            if "all" not in self._tables:
                self._tables["all"] = self._compute_tables(None)
            return self._tables["all"]
        if place not in self._tables:
            self._tables[place] = self._compute_tables([place])
        return self._tables[place]

    def _compute_tables(self, places: list[str] | None) -> ProjectionTables:
        proj = self.sources.projection
        if proj is None:
            raise DataError("the projection's tables are not here (prepare before sending "
                            "the builder to worker processes)")  # fmt: skip
        if places is not None:
            places = [p for p in places if p in set(proj.places)]
        return ProjectionTables.compute(proj, self.scenarios, places,
                                        year=self.comparison_year)  # fmt: skip

    @cached_property
    def projection_mismatch(self) -> list[str]:
        """Which fits the projection was not made from (by data hash and spec)."""
        if not self.has_projection:
            return []
        attrs = self.projection_attrs
        out = []
        for key, fit in (("migration", self.sources.migration), ("jobs", self.sources.jobs)):
            stored = attrs.get(f"{key}_data_hash")
            if stored is not None and str(stored) != str(fit.tree.attrs.get("data_hash")):
                out.append(key)
        return out

    @property
    def comparison_year(self) -> int | None:
        """The year of "what must happen" and of the scenario spread: 2040, or the
        projection's last year when it ends before."""
        summary = self.projection_summary
        if summary is None:
            return None
        return COMPARISON_YEAR if COMPARISON_YEAR in summary.years else summary.last_year

    @cached_property
    def target_setup(self) -> TargetSetup | TargetsUnavailable:
        """A projector with the projection's settings (assumptions, alternative, seed,
        process noise) to the target year over ``target_draws`` draws, its neutral run and
        the sustained levels, shared by every place's solves."""
        panel = self.sources.panel
        if not self.has_projection:
            return TargetsUnavailable("no_projection")
        if self.target_draws == 0:
            return TargetsUnavailable("off")
        if panel is None:
            return TargetsUnavailable("no_panel")
        from attrbayes.projection.engine import Projector
        from attrbayes.projection.targets import sustained_levels

        attrs = self.projection_attrs
        year = int(self.comparison_year or 0)
        try:
            projector = Projector(
                self.sources.migration, self.sources.jobs, panel,
                assumptions=str(attrs["assumptions"]), alternative=str(attrs["alternative"]),
                seed=int(attrs["seed"]), to=year, draws=self.target_draws, pyramid_years=(),
                features=self.sources.features,
                noise=bool(int(attrs.get("process_noise", 1))),
                centrality_noise=bool(int(attrs.get("centrality_noise", 1))),
            )  # fmt: skip
            baseline = projector.run("neutral")
        except (AttrbayesError, KeyError) as exc:
            return TargetsUnavailable("failed", str(exc))
        sustained = (sustained_levels(self.sources.migration), sustained_levels(self.sources.jobs))
        return TargetSetup(projector, baseline, sustained, year)

    def prepare(self, *, places: Sequence[str] | None = None, targets: bool = True) -> None:
        """Compute every shared table now (before a loop over places): the projection's
        tables of ``places`` (default: all); ``targets=False`` leaves the setup of "what
        must happen" for later (worker processes make their own)."""
        _ = self.attractiveness, self.attractiveness_by_year, self.gates
        _ = self.projection_summary, self.projection_mismatch, self.projection_attrs
        if targets:
            _ = self.target_setup
        for decomposer in self.decomposers.values():
            decomposer.prepare()
        if self.has_projection:
            if places is None:
                self.projection_tables()
            else:
                for place in places:
                    self.projection_tables(self.resolve(place))

    def __getstate__(self) -> dict[str, Any]:
        """What a worker process gets (pickled once per worker): the shared tables without
        the per-draw projection (its tables stand in for it) and without the projector of
        "what must happen" (each worker makes its own)."""
        state = dict(self.__dict__)
        if self.has_projection and "all" not in self._tables:
            raise DataError("prepare() the builder before sending it to worker processes")
        state["sources"] = dataclasses.replace(self.sources, projection=None)
        state.pop("target_setup", None)
        state.pop("_charts", None)
        state["kept_figures"] = {}
        return state

    def chart(self, key: tuple, make: Callable[[], Any]) -> Any:
        """A chart kept for the next places (made by ``make`` on first use)."""
        charts = self.__dict__.setdefault("_charts", {})
        if key not in charts:
            charts[key] = make()
        return charts[key]

    def reference_for(self, place: str) -> pd.DataFrame | None:
        ref = self.sources.reference
        if ref is None:
            return None
        rows = ref[(ref["place"] == place) | (ref["place"] == "")]
        return rows.drop(columns="place") if not rows.empty else None

    # -- one place ----------------------------------------------------------------------------
    def build(self, place: str, *, lang: str = "nb", index_href: str | None = None,
              generated: dt.date | None = None) -> PlaceReport:  # fmt: skip
        """The report of ``place`` (a code or a unique name) in ``lang``."""
        code = self.resolve(place)
        t = texts_for(lang)
        return _PlaceBuild(self, code, t, index_href, generated or dt.date.today()).run()


# -- figures --------------------------------------------------------------------------------
def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


# -- figures kept from place to place ---------------------------------------------------------
# A report draws the same charts for every place. Making a figure (axes, ticks, legend,
# layout) costs about as much as drawing it, so each chart's figure is kept (per worker
# and language) and the next place's numbers go into the same artists; the axes are
# rescaled (relim, autoscale) and laid out again as the plot function does. A chart whose
# parts do not match (other reference lines, scenarios, drivers) is made afresh. The tests
# check that a kept figure draws the same pixels as a new one.
@dataclass
class KeptFigure:
    """A figure, what its parts are (``key``) and how to put another place's data in."""

    fig: Figure
    key: tuple
    update: Callable[..., None]


def kept_png(
    b: ReportBuilder, name: tuple, key: tuple, make: Callable[[], Figure],
    parts: Callable[[Figure], Callable[..., None] | None], *args: Any,
) -> bytes:  # fmt: skip
    """The chart ``name`` as PNG: the kept figure with ``args`` put in by its update when its
    ``key`` matches, else a figure from ``make`` (kept when ``parts`` finds its artists)."""
    kept = b.kept_figures.get(name)
    if kept is not None and kept.key == key:
        kept.update(*args)
        return figure_png(kept.fig, dpi=b.dpi, close=False)
    if kept is not None:
        del b.kept_figures[name]
    fig = make()
    update = parts(fig)
    if update is None:  # not a figure this module knows how to refill
        return figure_png(fig, dpi=b.dpi)
    plt.close(fig)  # out of pyplot's registry; the figure itself stays drawable
    b.kept_figures[name] = KeptFigure(fig, key, update)
    return figure_png(fig, dpi=b.dpi, close=False)


def _bands_and_median(ax) -> tuple[dict[int, Any], Any] | None:
    """The 95/80/50 % bands and the median line of a fan panel (plots.fan._draw_bands)."""
    from matplotlib.collections import FillBetweenPolyCollection

    wanted = {f"{round(m * 100)} % interval": round(m * 100) for m in INTERVALS}
    bands = {wanted[c.get_label()]: c for c in ax.collections
             if isinstance(c, FillBetweenPolyCollection) and c.get_label() in wanted}  # fmt: skip
    medians = [line for line in ax.lines if line.get_label() == "median"]
    if len(bands) != len(wanted) or len(medians) != 1:
        return None
    return bands, medians[0]


def _set_fan(parts: tuple[dict[int, Any], Any], rows: pd.DataFrame) -> None:
    bands, median = parts
    rows = rows.sort_values("year")
    for pct, band in bands.items():
        band.set_data(rows["year"], rows[f"lower_{pct}"], rows[f"upper_{pct}"])
    median.set_data(rows["year"], rows["median"])


def _history_and_references(ax, data: pd.DataFrame) -> Callable[[pd.DataFrame], None] | None:
    """Puts the observed and reference lines of another place's ``fan_chart_data`` into
    the lines :func:`attrbayes.plots.fan.plot_fan_chart` drew for this one."""
    lines = {line.get_label(): line for line in ax.lines}
    refs = list(dict.fromkeys(data.loc[data["series"] == "reference", "label"]))
    if any(str(label) not in lines for label in refs):
        return None
    if (data["series"] == "history").any() and "observed" not in lines:
        return None

    def put(new: pd.DataFrame) -> None:
        history = new[new["series"] == "history"]
        if not history.empty:
            lines["observed"].set_data(history["year"], history["median"])
        reference = new[new["series"] == "reference"]
        for label, rows in reference.groupby("label", sort=False):
            lines[str(label)].set_data(rows["year"], rows["median"])

    return put


def _fan_key(data: pd.DataFrame, *extra: object) -> tuple:
    """What a fan chart's artists depend on: scenarios, history, reference labels."""
    proj = data[data["series"] == "projection"]
    refs = data.loc[data["series"] == "reference", "label"]
    return (tuple(dict.fromkeys(proj["scenario"])), bool((data["series"] == "history").any()),
            tuple(dict.fromkeys(refs)), *extra)  # fmt: skip


def _overview_parts(fig: Figure, data: pd.DataFrame) -> Callable[..., None] | None:
    """The update of a kept overview fan (all scenarios' 80 % bands and medians)."""
    from matplotlib.collections import FillBetweenPolyCollection

    ax = fig.axes[0]
    scenarios = list(dict.fromkeys(data.loc[data["series"] == "projection", "scenario"]))
    bands = [c for c in ax.collections if isinstance(c, FillBetweenPolyCollection)]
    lines = {line.get_label(): line for line in ax.lines}
    labels = [f"{s}: median, 80 % interval" for s in scenarios]
    put = _history_and_references(ax, data)
    if len(bands) != len(scenarios) or any(k not in lines for k in labels) or put is None:
        return None

    def update(new: pd.DataFrame, title: str) -> None:
        proj = new[new["series"] == "projection"]
        for band, label, scenario in zip(bands, labels, scenarios, strict=True):
            rows = proj[proj["scenario"] == scenario].sort_values("year")
            band.set_data(rows["year"], rows["lower_80"], rows["upper_80"])
            lines[label].set_data(rows["year"], rows["median"])
        put(new)
        ax.relim()
        ax.autoscale_view()
        fig.suptitle(title)
        fig.tight_layout()

    return update


def _scenario_fan_parts(fig: Figure, data: pd.DataFrame) -> Callable[..., None] | None:
    """The update of a kept one-scenario fan: another scenario's fan (and title), and for
    a new place its history, reference lines, y limits, title and layout too."""
    ax = fig.axes[0]
    fan = _bands_and_median(ax)
    put = _history_and_references(ax, data)
    if fan is None or put is None:
        return None

    def update(rows: pd.DataFrame, name: str, new_place: bool, ylim: tuple[float, float],
               title: str) -> None:  # fmt: skip
        _set_fan(fan, rows[rows["series"] == "projection"])
        ax.set_title(name)
        if new_place:
            put(rows)
            ax.set_ylim(*ylim)
            ax.relim()
            ax.autoscale_view()
            fig.suptitle(title, fontsize=10)
            fig.tight_layout()

    return update


def _age_fan_parts(fig: Figure) -> Callable[..., None] | None:
    """The update of kept age-group fans (one panel per age group)."""
    from attrbayes.projection.tables import AGE_GROUP_VARIABLES

    fans = [_bands_and_median(ax) for ax in fig.axes]
    if len(fans) != len(AGE_GROUP_VARIABLES) or any(f is None for f in fans):
        return None

    def update(frame: pd.DataFrame, title: str) -> None:
        for ax, group, fan in zip(fig.axes, AGE_GROUP_VARIABLES, fans, strict=True):
            _set_fan(fan, frame[frame["age_group"] == group])
            ax.relim()
            ax.autoscale_view()
        fig.suptitle(title)
        fig.tight_layout()

    return update


def _number_formatter(t: Texts, *, signed: bool = False) -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: nf.format_tick(v, t.lang, signed=signed and v != 0))


def _relabel_legend(ax, mapping: dict[str, str]) -> None:
    legend = ax.get_legend()
    if legend is not None:
        for text in legend.get_texts():
            text.set_text(mapping.get(text.get_text(), text.get_text()))


def _chart_mapping(t: Texts) -> dict[str, str]:
    mapping = {f"{round(m * 100)} % interval": t("charts.band", pct=round(m * 100))
               for m in INTERVALS}  # fmt: skip
    mapping.update({"median": t("charts.median"), "observed": t("charts.observed"),
                    "same rate everywhere: no rank": t("charts.no_rank")})  # fmt: skip
    return mapping


def pct_decimals(*values: float) -> int:
    """Decimals for an attractiveness and its interval: one, or two when all of them are
    below 0.1 % in size (so that a small value does not show as 0.0 %)."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    return 2 if finite and max(finite) < 0.1 else 1


class _PlaceBuild:
    """Everything about one place's report (a short-lived helper of ReportBuilder)."""

    def __init__(self, builder: ReportBuilder, code: str, t: Texts, index_href: str | None,
                 generated: dt.date) -> None:  # fmt: skip
        self.b = builder
        self.code = code
        self.t = t
        self.name = builder.names[code]
        self.label = f"{self.name} ({code})"
        self.index_href = index_href
        self.generated = generated
        self.tables: dict[str, pd.DataFrame] = {}
        self.summary: dict[str, float] = {}
        self.target_notice: str | None = None

    def run(self) -> PlaceReport:
        t, b = self.t, self.b
        projected = b.projection_summary is not None and self.code in b.projection_summary.places
        targets = self.targets_section() if projected else None
        context: dict[str, Any] = {
            "lang": t("meta.html_lang"),
            "title": t("meta.title", place=self.label),
            "subtitle": t("meta.subtitle"),
            "place_line": t("meta.place_line", code=self.code, region=b.regions[self.code],
                            county=b.counties[self.code]),
            "generated": t("meta.generated", date=self.generated.isoformat(),
                           version=__version__),
            "index_href": self.index_href,
            "index_label": t("meta.back_to_index"),
            "contents": t("meta.contents"),
            "banner": self.banner(),
            "notices": self.notices(projected),
            "sections": t.table["sections"],
        }  # fmt: skip
        context["key"] = self.key_figures(projected)
        context["how"] = [t(f"how.{k}") for k in t.table["how"]]
        spread = self.scenario_spread() if projected else None
        if spread is not None:
            context["how"][list(t.table["how"]).index("scenarios")] += " " + spread
        context["how_title"] = t("sections.how_to_read")
        context["attractiveness"] = self.attractiveness_section()
        context["decompositions"] = self.decomposition_section()
        context["projection"] = self.projection_section() if projected else None
        if context["projection"] is not None:
            context["projection"]["spread"] = spread
        context["targets"] = targets
        context["method"] = self.method_section()
        context["toc"] = self.toc(context)
        html = _environment().get_template("report.html.j2").render(**context)
        proj_table = None
        if projected:
            proj_table = b.projection_tables(self.code).quantile_table(self.code)
        return PlaceReport(self.code, self.name, html, self.tables, proj_table, t.lang,
                           self.summary)  # fmt: skip

    # -- header ---------------------------------------------------------------------------------
    def banner(self) -> dict[str, str] | None:
        t, b = self.t, self.b
        failed = [t(f"warning.fit_{'migration' if k == 'residential' else 'jobs'}",
                    spec=b.fits[k].spec.name)
                  for k, g in b.gates.items() if not g.passed]  # fmt: skip
        if not failed:
            return None
        fits = f" {t('warning.and')} ".join(failed)
        return {"title": t("warning.gate_failed_title"), "text": t("warning.gate_failed",
                                                                     fits=fits)}  # fmt: skip

    def notices(self, projected: bool) -> list[dict[str, str]]:
        t, b = self.t, self.b
        out = []
        if not b.has_projection:
            out.append({"title": t("warning.no_projection_title"),
                        "text": t("warning.no_projection")})  # fmt: skip
        elif not projected:
            out.append({"title": t("warning.no_projection_title"),
                        "text": t("warning.place_not_projected")})  # fmt: skip
        if not b.has_projection:
            self.target_notice = t("targets.missing_no_projection")
        if self.target_notice is not None:
            out.append({"title": t("targets.title"), "text": self.target_notice})
        if b.projection_mismatch:
            out.append({"title": t("method.projection"),
                        "text": t("warning.projection_mismatch",
                                  which=", ".join(b.projection_mismatch))})  # fmt: skip
        return out

    def toc(self, context: dict[str, Any]) -> list[tuple[str, str]]:
        s = self.t.table["sections"]
        items = [("key-figures", s["key_figures"]), ("how-to-read", s["how_to_read"]),
                 ("attractiveness", s["attractiveness"]), ("ranking", s["ranking"]),
                 ("decomposition", s["decomposition"])]  # fmt: skip
        if context["projection"] is not None:
            items.append(("projection", context["projection"]["title"]))
        if context["targets"] is not None:
            items.append(("targets", context["targets"]["title"]))
        items.append(("method", s["method"]))
        return items

    # -- key figures ----------------------------------------------------------------------------
    def attractiveness_row(self, kind: str) -> pd.Series:
        return self.b.attractiveness[kind].loc[self.code]

    def key_figures(self, projected: bool) -> dict[str, Any]:
        t, b = self.t, self.b
        cards, sentences = [], []
        rows = []
        for kind in KINDS:
            row = self.attractiveness_row(kind)
            period = t.period(b.periods[kind])
            n = len(b.attractiveness[kind])
            digits = pct_decimals(row["pct_median"], row["pct_lower_80"], row["pct_upper_80"])
            values = {
                "period": period, "value": t.pct(row["pct_median"], digits),
                "lower": t.pct(row["pct_lower_80"], digits),
                "upper": t.pct(row["pct_upper_80"], digits),
                "rank": t.rank(row["rank_median"]), "n": t.number(n),
                "rank_lower": t.rank(row["rank_lower_80"]),
                "rank_upper": t.rank(row["rank_upper_80"]),
            }  # fmt: skip
            verdict = ("positive" if row["pct_lower_80"] > 0 else
                       "negative" if row["pct_upper_80"] < 0 else "unclear")  # fmt: skip
            unit = "persons" if kind == "residential" else "jobs"
            persons = t(f"sentences.{unit}", persons=t.count(row["persons_median"], True),
                        lower=t.count(row["persons_lower_80"], True),
                        upper=t.count(row["persons_upper_80"], True))  # fmt: skip
            sentences.append(" ".join([t(f"sentences.{kind}", **values), persons,
                                       t(f"sentences.{kind}_{verdict}")]))  # fmt: skip
            per_year = "cards.per_year_pct" if kind == "residential" else "cards.per_year_pct_jobs"
            cards.append({
                "title": t(f"cards.{kind}"), "value": values["value"],
                "unit": t(per_year, period=period), "tone": verdict,
                "lines": [t("cards.interval", lower=values["lower"], upper=values["upper"]),
                          t("cards.rank", rank=values["rank"], n=values["n"]),
                          t("cards.rank_interval", lower=values["rank_lower"],
                            upper=values["rank_upper"])],
            })  # fmt: skip
            rows.append({
                "kind": kind, "period": f"{b.periods[kind][0]}-{b.periods[kind][1]}",
                **{c: float(row[c]) for c in ("pct_median", "pct_lower_80", "pct_upper_80",
                                              "persons_median", "persons_lower_80",
                                              "persons_upper_80", "rank_median",
                                              "rank_lower_80", "rank_upper_80")},
                "n_places": n,
            })  # fmt: skip
            self.summary[f"{kind}_pct_median"] = float(row["pct_median"])
        self.tables["attractiveness"] = pd.DataFrame(rows)
        scenario_table = None
        if projected:
            scenario_table = self.projection_key_figures(cards, sentences)
        return {"cards": cards, "sentences": sentences, "scenarios": scenario_table}

    def projection_key_figures(self, cards: list, sentences: list) -> dict[str, Any]:
        t, b = self.t, self.b
        summary = b.projection_summary
        frame = summary.frame(self.code)
        self.tables["scenarios"] = frame
        last, base_year = summary.last_year, summary.base_year
        base = float(frame["base"].iloc[0])
        headline = b.headline
        growth_years = [y for y in summary.years if y in GROWTH_YEARS] or [last]

        def cell(scenario: str, year: int, column: str) -> float:
            hit = frame[(frame["scenario"] == scenario) & (frame["year"] == year)]
            return float(hit[column].iloc[0])

        med = cell(headline, last, "median")
        cards.append({
            "title": t("cards.population", year=base_year), "value": t.number(base),
            "unit": t("cards.population_base", year=base_year), "tone": "plain",
            "lines": [
                t("cards.projected_line", year=last, scenario=t.scenario(headline).lower(),
                  value=t.number(nf.round_to(med))),
                t("cards.interval", lower=t.number(nf.round_to(cell(headline, last, "lower_80"))),
                  upper=t.number(nf.round_to(cell(headline, last, "upper_80")))),
            ],
        })  # fmt: skip
        year = growth_years[-1]
        cards.append({
            "title": t("cards.growth"), "value": t.prob(cell(headline, year, "p_growth")),
            "unit": t("cards.growth_detail", base_year=base_year, year=year,
                      scenario=t.scenario(headline).lower()),
            "tone": "plain",
            "lines": [t("sentences.growth_item", p=t.prob(cell(headline, y, "p_growth")),
                        year=y) for y in growth_years[:-1]],
        })  # fmt: skip
        self.summary["population_last"] = med
        self.summary["population_last_year"] = float(last)
        rows = []
        for s in b.scenarios:
            m, lo, hi = (nf.round_to(cell(s, last, c)) for c in ("median", "lower_80",
                                                                  "upper_80"))  # fmt: skip
            items = [t("sentences.growth_item", p=t.prob(cell(s, y, "p_growth")), year=y)
                     for y in growth_years]  # fmt: skip
            sentences.append(
                t("sentences.projection", scenario=t.scenario(s), median=t.number(m),
                  year=last, lower=t.number(lo), upper=t.number(hi), base=t.number(base),
                  base_year=base_year)
                + " " + t("sentences.growth", base_year=base_year,
                          probabilities=", ".join(items))
            )  # fmt: skip
            rows.append([t.scenario(s), t.number(m), f"{t.number(lo)} – {t.number(hi)}",
                         *[t.prob(cell(s, y, "p_growth")) for y in growth_years]])  # fmt: skip
        headers = [t("tables.scenario"), f"{t('tables.median')} {last}",
                   f"{t('tables.interval_80')} {last}",
                   *[t("tables.growth_to", year=y) for y in growth_years]]  # fmt: skip
        return {"headers": headers, "rows": rows}

    # -- attractiveness -----------------------------------------------------------------------
    def labels(self) -> ChartLabels:
        t = self.t
        return ChartLabels(
            xlabel_year=t("charts.year"), ylabel=t("charts.attractiveness_ylabel"),
            median=t("charts.median"), band=t("charts.band", pct="{pct}"),
            period=t("charts.period"), zero=t("charts.zero"),
            rank_xlabel=t("charts.rank_xlabel"), rank_others=t("charts.rank_others"),
        )  # fmt: skip

    def attractiveness_section(self) -> dict[str, Any]:
        t, b = self.t, self.b
        number = lambda v: nf.format_tick(v, t.lang, signed=v != 0)  # noqa: E731
        panels = [(t(f"charts.{k}_panel"),
                   attractiveness_path_data(b.attractiveness_by_year[k], self.code))
                  for k in KINDS]  # fmt: skip
        for kind, (_, data) in zip(KINDS, panels, strict=True):
            self.tables[f"attractiveness_{kind}_years"] = data
        title = t("charts.attractiveness_title", place=self.label)

        def make() -> Figure:
            fig = plot_attractiveness_paths(panels, labels=self.labels(), number=number,
                                            period=[b.periods[k] for k in KINDS],
                                            title=title)  # fmt: skip
            agg_canvas(fig)
            return fig

        png = kept_png(b, ("attractiveness_paths", t.lang), (), make,
                       refill_attractiveness_paths, panels, title)  # fmt: skip
        paths = {"chart": _png_uri(png), "alt": title}
        rank_panels, lines = [], []
        for kind in KINDS:
            n = len(b.attractiveness[kind])
            title = t("charts.rank_title", place=t(f"cards.{kind}"), n=t.number(n),
                      period=t.period(b.periods[kind]))  # fmt: skip
            rank_panels.append((title, b.attractiveness[kind]))
            row = self.attractiveness_row(kind)
            top = b.top
            lines.append(t("sentences.rank_odds", kind=t(f"cards.{kind}"),
                           rank=t.rank(row["rank_median"]), n=t.number(n),
                           lower=t.rank(row["rank_lower_80"]), upper=t.rank(row["rank_upper_80"]),
                           top=top, p_top=t.prob(row[f"p_top_{top}"]),
                           p_bottom=t.prob(row[f"p_bottom_{top}"])))  # fmt: skip
        chart = b.chart(("rank", t.lang), lambda: RankChart(rank_panels, dpi=b.dpi,
                                                            labels=self.labels(),
                                                            number=number))  # fmt: skip
        ranking = {"chart": _png_uri(chart.png(self.code, self.label)),
                   "alt": t("sections.ranking"), "lines": lines}  # fmt: skip
        return {"paths": paths, "ranking": ranking}

    # -- decompositions -----------------------------------------------------------------------
    def decomposition_section(self) -> list[dict[str, Any]]:
        from attrbayes.plots.decomposition import (
            decomposition_chart_key,
            decomposition_plot_data,
            plot_decomposition,
            refill_decomposition,
        )

        t, b = self.t, self.b
        out = []
        for kind, key in (("residential", "population"), ("business", "jobs")):
            dec = b.decomposers[kind].decompose(self.code)
            period = t.period(dec.years)
            unit = t("charts.persons") if dec.kind == "migration" else t("charts.jobs")
            data = decomposition_plot_data(dec)
            data["label"] = [("= " if total else "") + t.driver(d) for d, total in
                             zip(dec_labels(data), data["is_total"], strict=True)]  # fmt: skip
            title = t(f"charts.decomposition_{key}", place=self.label, period=period)

            def make(data: pd.DataFrame = data, title: str = title, unit: str = unit,
                     n: int = dec.n_places) -> Figure:  # fmt: skip
                fig = plot_decomposition(data, title=title, unit=unit)
                agg_canvas(fig)
                ax = fig.axes[0]
                ax.set_xlabel(t("charts.decomposition_xlabel", unit=unit))
                ax.xaxis.set_major_formatter(_number_formatter(t, signed=True))
                _relabel_legend(ax, _chart_mapping(t))
                if len(fig.axes) > 1:
                    fig.axes[1].set_ylabel(t("charts.decomposition_colourbar", n=t.number(n)))
                return fig

            png = kept_png(b, ("decomposition", kind, t.lang),
                           (decomposition_chart_key(data), dec.n_places, unit), make,
                           refill_decomposition, data, title)  # fmt: skip
            self.tables[f"{key}_decomposition"] = dec.table
            out.append({
                "id": f"decomposition-{key}",
                "title": t(f"sections.{key}_decomposition", period=period),
                "chart": _png_uri(png), "alt": title,
                "table": self.decomposition_table(dec, unit),
                "notes": [self.note(n) for n in dec.notes],
            })  # fmt: skip
        return out

    def note(self, note: str) -> str:
        """A decomposition note in the report's language where the texts have it (the
        module's notes are English; those with variable content stay so)."""
        known = {"total job change = private job change + the public-sector rows":
                 "notes.total_job_change"}  # fmt: skip
        return self.t(known[note]) if note in known else note

    def decomposition_table(self, dec: Decomposition, unit: str) -> dict[str, Any]:
        t = self.t
        rows = []
        for r in dec.table.itertuples():
            interval = ("" if r.lower_80 == r.upper_80 else
                        f"{t.count(r.lower_80, True)} – {t.count(r.upper_80, True)}")  # fmt: skip
            rank = ("" if not math.isfinite(r.national_rank) else
                    f"{t.rank(r.national_rank)} / {t.number(r.n_places)}")  # fmt: skip
            label = ("= " if r.group == "total" else "") + t.driver(r.driver)
            rows.append({"cells": [label, t.count(r.median, True), interval,
                                   nf.format_percent(r.median_pct, t.lang, decimals=2),
                                   rank],
                         "total": r.group == "total"})  # fmt: skip
        headers = [t("tables.driver"), t("tables.per_year", unit=unit),
                   t("tables.interval_80"), t("tables.pct"), t("tables.rank")]  # fmt: skip
        return {"headers": headers, "rows": rows}

    # -- projection ---------------------------------------------------------------------------
    def projection_section(self) -> dict[str, Any]:
        from attrbayes.plots.fan import plot_age_group_fans, plot_fan_chart

        t, b = self.t, self.b
        tables = b.projection_tables(self.code)
        data = tables.fan_data(self.code, b.scenarios, reference=b.reference_for(self.code))
        mapping = _chart_mapping(t)
        for s in b.scenarios:
            mapping[f"{s}: median, 80 % interval"] = t("charts.fan_scenario_legend",
                                                       scenario=t.scenario(s))  # fmt: skip
        persons = t("charts.persons")
        overview_title = t("charts.fan_overview", place=self.label)

        def make_overview() -> Figure:
            fig = plot_fan_chart(data, title=overview_title, ylabel=persons, overlay=True)
            agg_canvas(fig)
            self._localise_fan(fig, mapping)
            fig.tight_layout()  # laid out for the labels shown
            return fig

        png = kept_png(b, ("fan_overview", t.lang), _fan_key(data), make_overview,
                       lambda fig: _overview_parts(fig, data), data, overview_title)  # fmt: skip
        overview = {"chart": _png_uri(png), "alt": overview_title}
        value_cols = ["lower_95", "upper_95", "median"]
        limits = data[value_cols].to_numpy(float)
        low, high = float(np.nanmin(limits)), float(np.nanmax(limits))
        pad = 0.04 * (high - low or abs(high) or 1.0)
        ylim = (low - pad, high + pad)
        fan_title = t("charts.fan_title", place=self.label)

        def make_fan(rows: pd.DataFrame, scenario: str) -> Figure:
            fig = plot_fan_chart(rows, title=fan_title, ylabel=persons)
            agg_canvas(fig)
            fig.set_size_inches(6.4, 4.2)
            fig.axes[0].set_title(t.scenario(scenario))
            fig.axes[0].set_ylim(*ylim)
            self._localise_fan(fig, mapping)
            fig.suptitle(fan_title, fontsize=10)
            fig.tight_layout()
            return fig

        fans = []
        for i, s in enumerate(b.scenarios):
            rows = data[(data["series"] != "projection") | (data["scenario"] == s)]
            png = kept_png(b, ("fan", t.lang), _fan_key(data), partial(make_fan, rows, s),
                           lambda fig: _scenario_fan_parts(fig, data), rows,
                           t.scenario(s), i == 0, ylim, fan_title)  # fmt: skip
            fans.append({"name": t.scenario(s), "description": t.scenario_description(s),
                         "chart": _png_uri(png),
                         "alt": f"{fan_title}: {t.scenario(s)}"})  # fmt: skip
        ages = []
        for s in b.age_scenarios:
            frame = tables.age_data(self.code, s)
            title = t("charts.age_title", place=self.label, scenario=t.scenario(s).lower())

            def make_ages(frame: pd.DataFrame = frame, title: str = title) -> Figure:
                fig = plot_age_group_fans(frame, title=title)
                agg_canvas(fig)
                for ax in fig.axes:
                    group = ax.get_title().removeprefix("aged ")
                    ax.set_title(t("charts.age_panel", group=group))
                self._localise_fan(fig, mapping)
                fig.tight_layout()  # laid out for the labels shown
                return fig

            png = kept_png(b, ("age_fans", t.lang), (), make_ages, _age_fan_parts, frame, title)
            ages.append({"name": t.scenario(s), "chart": _png_uri(png), "alt": title})
        ref = b.reference_for(self.code)
        method = t("method.reference", labels=", ".join(sorted(set(ref["label"])))) \
            if ref is not None else None  # fmt: skip
        return {
            "title": t("sections.projection", year=b.projection_summary.last_year),
            "overview": overview, "fans": fans, "ages": ages, "reference": method,
            "scenario_notes": [(t.scenario(s), t.scenario_description(s))
                               for s in b.scenarios],
        }  # fmt: skip

    def _localise_fan(self, fig: Figure, mapping: dict[str, str]) -> None:
        t = self.t
        for ax in fig.axes:
            ax.set_xlabel(t("charts.year"))
            ax.yaxis.set_major_formatter(_number_formatter(t))
            _relabel_legend(ax, mapping)

    # -- scenario spread ----------------------------------------------------------------------
    def scenario_spread(self) -> str | None:
        """What the fans show in the comparison year: how far apart the high and low
        scenarios' medians are, against the width of the neutral scenario's 80 % interval
        (what-ifs for attractiveness versus the model's uncertainty within a scenario)."""
        t, b = self.t, self.b
        summary, year = b.projection_summary, b.comparison_year
        if summary is None or year is None or not {"high", "low", "neutral"} <= set(b.scenarios):
            return None
        frame = summary.frame(self.code).set_index(["scenario", "year"])
        high, low = (float(frame.loc[(s, year), "median"]) for s in ("high", "low"))
        lower, upper = (float(frame.loc[("neutral", year), c]) for c in ("lower_80", "upper_80"))
        spread, width = abs(high - low), upper - lower
        values = {name: t.number(nf.round_to(v)) for name, v in
                  {"spread": spread, "high": high, "low": low, "width": width,
                   "lower": lower, "upper": upper}.items()}  # fmt: skip
        compare = "wider" if width > spread else "narrower"
        return " ".join([t("spread.sentence", place=self.name, year=year, **values),
                         t(f"spread.band_{compare}")])  # fmt: skip

    # -- what must happen ---------------------------------------------------------------------
    def targets_section(self) -> dict[str, Any] | None:
        """The residential attractiveness, or the extra private jobs a year, that the place
        needs to avoid decline and to keep its 0-15 year olds by the comparison year (per
        draw, on top of the neutral scenario), where that stands among all places, and the
        probability of reaching each target in every scenario of the projection."""
        from attrbayes.projection.targets import Target, reach_target

        t, b = self.t, self.b
        setup = b.target_setup
        if isinstance(setup, TargetsUnavailable):
            self.target_notice = t(f"targets.missing_{setup.reason}", error=setup.error) \
                if setup.reason == "failed" else t(f"targets.missing_{setup.reason}")  # fmt: skip
            return None
        year = setup.year
        results = {}
        try:
            for key, group in TARGETS.items():
                results[key] = reach_target(setup.projector, Target(self.code, year, None, group),
                                            scenarios=("neutral",),
                                            runs={"neutral": setup.baseline},
                                            sustained=setup.sustained)  # fmt: skip
        except AttrbayesError as exc:
            self.target_notice = t("targets.missing_failed", error=str(exc))
            return None
        probabilities = self.target_probabilities({k: r.value for k, r in results.items()})
        first = int(setup.projector.years[0])
        first_jobs = next(iter(results.values())).provenance["first_job_year"]
        items, rows = [], []
        for key, result in results.items():
            summary = dict(zip(LEVEL_MEASURES, result.summary().to_dict("records"), strict=True))
            goal = t(f"targets.goal_{key}", year=year, value=t.number(result.value),
                     base_year=first)  # fmt: skip
            sentences = [
                self._residential_need(goal, summary, result.residential_place),
                self._jobs_need(summary, result.business_place, first_jobs, year - 1),
            ]
            unsolved = 1 - min(summary[m]["share_solved"] for m in ("attractiveness",
                                                                    "jobs_per_year"))  # fmt: skip
            if unsolved > 0:
                sentences.append(t("targets.unsolved", share=t.prob(unsolved)))
            chances = probabilities[probabilities["target"] == key]
            sentences.append(t("targets.probabilities", items=", ".join(
                t("targets.probability_item", p=t.prob(r.probability),
                  scenario=t.scenario(r.scenario).lower())
                for r in chances.itertuples())))  # fmt: skip
            items.append({"id": f"target-{key.replace('_', '-')}",
                          "title": t(f"targets.title_{key}", year=year),
                          "sentences": sentences})  # fmt: skip
            for measure in LEVEL_MEASURES:  # rates in % a year, as shown
                row, scale = summary[measure], 100 if measure in PCT_MEASURES else 1
                rows.append({"target": key, "year": year, "value": result.value,
                             "measure": measure,
                             **{c: float(row[c]) * scale for c in ("median", "lower_80",
                                                                   "upper_80")},
                             "share_solved": float(row["share_solved"])})  # fmt: skip
        self.tables["targets"] = pd.DataFrame(rows)
        self.tables["target_probabilities"] = probabilities
        notes = []
        if b.projection_attrs.get("job_shocks"):
            notes.append(t("targets.job_shocks"))
        return {
            "title": t("targets.title"),
            "intro": t("targets.intro", place=self.name, year=year, first=first,
                       first_jobs=first_jobs, last=year - 1,
                       draws=t.number(setup.projector.n)),
            "goals": items, "table": self.target_table(probabilities, year),
            "levels": self.target_levels_table(), "notes": notes,
        }  # fmt: skip

    def target_probabilities(self, values: dict[str, float]) -> pd.DataFrame:
        """Per scenario of the projection (its own draws, as in the fans) and target: the
        probability of at least the target value in the comparison year (the year whose
        draws the tables keep), and the median there."""
        tables = self.b.projection_tables(self.code)
        i = tables.index[self.code]
        rows = []
        for key, value in values.items():
            for s in self.b.scenarios:
                draws = tables.draws_in_year[key][tables.scenarios.index(s), i]
                rows.append({"target": key, "year": self.b.comparison_year, "value": value,
                             "scenario": s,
                             "probability": float((draws >= value - 1e-6).mean()),
                             "median": float(np.median(draws))})  # fmt: skip
        return pd.DataFrame(rows)

    def _level(self, value: float, scale: float, kind: str, digits: int = 1) -> str:
        """A needed level: a signed percentage (``pct``, ``digits`` decimals) or count
        (``count``); the bounds' words where no level within them reaches the target."""
        t = self.t
        if math.isinf(value):
            return t("targets.beyond_high" if value > 0 else "targets.beyond_low")
        return t.pct(value * scale, digits) if kind == "pct" \
            else t.count(value * scale, signed=True)  # fmt: skip

    @staticmethod
    def _digits(row: dict, scale: float) -> int:
        """Decimals for a rate's median and interval (see :func:`pct_decimals`)."""
        return pct_decimals(*(float(row[c]) * scale for c in ("median", "lower_80", "upper_80")))

    def _placing(self, place: dict, kind: str) -> str:
        t = self.t
        best = t.pct(place["best_sustained"] * 100)
        if place["beyond_any"]:
            return t(f"targets.placing_{kind}_beyond", best=best)
        if place["percentile"] < 0.5:  # would read "higher than 0 %"
            return t(f"targets.placing_{kind}_lowest")
        if place["percentile"] >= 99.5:  # above every recent level, not above the best
            return t(f"targets.placing_{kind}_top", best=best)
        return t(
            f"targets.placing_{kind}",
            pct=nf.format_percent(place["percentile"], t.lang, decimals=0, signed=False),
        )

    def _residential_need(self, goal: str, summary: dict, place: dict) -> str:
        t = self.t
        rate, persons = summary["attractiveness"], summary["persons_per_year"]
        median = float(rate["median"])
        if math.isinf(median):
            return t("targets.residential_" + ("unreachable" if median > 0 else "always"),
                     goal=goal, place=self.name)  # fmt: skip
        digits = self._digits(rate, 100)
        return t("targets.residential_" + ("needs" if median > 0 else "margin"), goal=goal,
                 place=self.name, rate=self._level(median, 100, "pct", digits),
                 lower=self._level(rate["lower_80"], 100, "pct", digits),
                 upper=self._level(rate["upper_80"], 100, "pct", digits),
                 persons=t.count(abs(float(persons["median"]))),
                 p_lower=self._level(persons["lower_80"], 1, "count"),
                 p_upper=self._level(persons["upper_80"], 1, "count"),
                 placing=self._placing(place, "residential"))  # fmt: skip

    def _jobs_need(self, summary: dict, place: dict, first: int, last: int) -> str:
        t = self.t
        jobs, share = summary["jobs_per_year"], summary["jobs_rate"]
        median = float(jobs["median"])
        if math.isinf(median):
            return t("targets.jobs_" + ("unreachable" if median > 0 else "always"))
        return t("targets.jobs_" + ("needs" if median > 0 else "margin"),
                 jobs=t.count(abs(median)), first=first, last=last,
                 lower=self._level(jobs["lower_80"], 1, "count"),
                 upper=self._level(jobs["upper_80"], 1, "count"),
                 share=self._level(share["median"], 100, "pct", self._digits(share, 100)),
                 placing=self._placing(place, "business"))  # fmt: skip

    def target_table(self, probabilities: pd.DataFrame, year: int) -> dict[str, Any]:
        t = self.t
        headers = [t("tables.scenario"), *[t(f"targets.p_{key}", year=year) for key in TARGETS]]
        rows = []
        for s in self.b.scenarios:
            hits = probabilities[probabilities["scenario"] == s].set_index("target")
            rows.append([t.scenario(s), *[t.prob(hits.loc[key, "probability"])
                                          for key in TARGETS]])  # fmt: skip
        return {"headers": headers, "rows": rows}

    def target_levels_table(self) -> dict[str, Any]:
        """Medians and 80 % intervals of the needed levels (the section's details)."""
        t = self.t
        rows = []
        for r in self.tables["targets"].itertuples():
            kind = "pct" if r.measure in PCT_MEASURES else "count"
            digits = self._digits(r._asdict(), 1)
            rows.append([t(f"targets.title_{r.target}", year=r.year),
                         t(f"targets.measure_{r.measure}"),
                         self._level(r.median, 1, kind, digits),
                         f"{self._level(r.lower_80, 1, kind, digits)} – "
                         f"{self._level(r.upper_80, 1, kind, digits)}",
                         t.prob(r.share_solved)])  # fmt: skip
        headers = [t("targets.target"), t("targets.measure"), t("tables.median"),
                   t("tables.interval_80"), t("targets.share_solved")]  # fmt: skip
        return {"headers": headers, "rows": rows}

    # -- method -------------------------------------------------------------------------------
    def _centrality_outlook(self, tables: ProjectionTables) -> str:
        """Which process carries the centrality coefficient past the fit, and where it is
        in the last projected year."""
        t, attrs = self.t, tables.attrs
        fit = self.b.fits["residential"]
        table = tables.centrality.set_index("year")
        year = int(table.index.max())
        row = table.loc[year]
        phi = float(fit.draws("centrality_phi").median()) if "centrality_phi" in fit.posterior \
            else float("nan")  # fmt: skip
        process = t(f"method.process_{attrs['centrality_process']}",
                    level=t.number(float(fit.draws("centrality").median()), 3),
                    phi=t.number(phi, 2))  # fmt: skip
        link = t("method.process_link") if int(attrs.get("centrality_immigration_link", 0)) else ""
        return t("method.centrality_outlook", last=attrs["centrality_last_fitted_year"],
                 process=process, link=link, year=year, median=t.number(row["median"], 3),
                 lower=t.number(row["lower_80"], 3),
                 upper=t.number(row["upper_80"], 3))  # fmt: skip

    def method_section(self) -> dict[str, Any]:
        t, b = self.t, self.b
        groups = []
        panel = b.sources.panel
        if panel is not None:
            m = panel.manifest
            written = m.provenance.get("written", "")
            lines = [t("method.data_line", name=m.name, structure=m.structure,
                       first=m.first_year, last=m.last_year,
                       written=str(written)[:10] or "?")]  # fmt: skip
            if m.description:
                lines.append(t("method.description", text=m.description))
            groups.append({"title": t("method.data"), "lines": lines})
        lines = []
        for kind, key in (("residential", "migration_line"), ("business", "jobs_line")):
            fit = b.fits[kind]
            first, last = fit.design.years
            lines.append(t(f"method.{key}", spec=fit.spec.name, priors=fit.priors.name,
                           level=fit.design.level, first=first, last=last,
                           sampler=fit.sampler.describe()))  # fmt: skip
        fit_attrs = b.sources.migration.tree.attrs
        lines.append(t("method.fitted_with", version=fit_attrs.get("attrbayes_version", "?"),
                       date=str(fit_attrs.get("created", "?"))[:10]))  # fmt: skip
        lines.append(t("method.method_text"))
        if any(b.fits[kind].spec.contextual_terms for kind in ("residential", "business")):
            lines.append(t("method.contextual"))
        for kind in ("residential", "business"):
            fit = b.fits[kind]
            if "ar_phi" in fit.posterior:
                phi = float(fit.draws("ar_phi").median())
                lines.append(t("method.persistence", kind=t(f"cards.{kind}"),
                               phi=t.number(phi, 2),
                               half_life=t.number(np.log(0.5) / np.log(phi), 1)))  # fmt: skip
        groups.append({"title": t("method.models"), "lines": lines})
        if b.has_projection:
            tables = b.projection_tables(self.code)
            attrs = tables.attrs
            noise = t("method.noise_on") if int(attrs.get("process_noise", 1)) else \
                t("method.noise_off")  # fmt: skip
            lines = [t("method.projection_line", draws=t.number(tables.n_draws),
                       assumptions=attrs.get("assumptions", "?"),
                       alternative=attrs.get("alternative", "?"),
                       base_year=attrs.get("base_year", b.projection_summary.base_year),
                       noise=noise)]  # fmt: skip
            if tables.centrality is not None:
                lines.append(self._centrality_outlook(tables))
            if attrs.get("notes"):
                lines.append(str(attrs["notes"]))
            groups.append({"title": t("method.projection"), "lines": lines})
        gate_lines = []
        for kind, gate in b.gates.items():
            label = t(f"warning.fit_{'migration' if kind == 'residential' else 'jobs'}",
                      spec=b.fits[kind].spec.name)  # fmt: skip
            line = gate.summary_line().split(": ", 1)[-1]
            status = "gate_passed" if gate.passed else "gate_failed"
            gate_lines.append({"text": t(f"method.{status}", fit=label[:1].upper() + label[1:],
                                         line=line), "failed": not gate.passed})  # fmt: skip
        gate_lines.append({"text": t("method.gate_explained"), "failed": False})
        groups.append({"title": t("method.diagnostics"), "lines": gate_lines})
        groups.append({"title": "attrbayes", "lines": [t("method.software",
                                                          version=__version__)]})  # fmt: skip
        for group in groups:
            group["lines"] = [line if isinstance(line, dict) else {"text": line, "failed": False}
                              for line in group["lines"]]  # fmt: skip
        return {"title": t("sections.method"), "groups": groups}


def dec_labels(data: pd.DataFrame) -> list[str]:
    """Driver names of :func:`decomposition_plot_data` rows (totals without ``= ``)."""
    return [str(label).removeprefix("= ") for label in data["label"]]


# -- templates ------------------------------------------------------------------------------
@cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader(TEXTS_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def index_html(builder: ReportBuilder, reports: Sequence[PlaceReport], *, lang: str,
               files: dict[str, str], generated: dt.date | None = None) -> str:  # fmt: skip
    """The index page: every place with a link to its report and its headline numbers."""
    t = texts_for(lang)
    has_pop = any("population_last" in r.summary for r in reports)
    last = next((int(r.summary["population_last_year"]) for r in reports
                 if "population_last_year" in r.summary), None)  # fmt: skip
    headline = builder.headline
    headers = [
        t("meta.index_code"),
        t("meta.index_place"),
        t("meta.index_residential", period=t.period(builder.periods["residential"])),
        t("meta.index_business", period=t.period(builder.periods["business"])),
    ]
    if has_pop:
        headers.append(t("meta.index_population", year=last,
                         scenario=t.scenario(headline).lower()))  # fmt: skip
    rows = []
    for r in sorted(reports, key=lambda r: r.place):
        cells = [t.pct(r.summary.get("residential_pct_median", float("nan")), 2),
                 t.pct(r.summary.get("business_pct_median", float("nan")), 2)]  # fmt: skip
        if has_pop:
            cells.append(t.number(nf.round_to(r.summary.get("population_last", float("nan")))))
        rows.append({"code": r.place, "name": r.name, "href": files[r.place], "cells": cells})
    return _environment().get_template("index.html.j2").render(
        lang=t("meta.html_lang"), title=t("meta.index_title"), intro=t("meta.index_intro"),
        headers=headers, rows=rows,
        generated=t("meta.generated", date=(generated or dt.date.today()).isoformat(),
                    version=__version__),
        banner=(t("warning.gate_failed_title") if builder.gate_failed else None),
    )  # fmt: skip


# -- workbook -------------------------------------------------------------------------------
def _sheet(workbook, title: str, frame: pd.DataFrame, *, lang: str,
           decimals: dict[str, int] | None = None) -> None:  # fmt: skip
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title[:31])
    sheet.append([str(c) for c in frame.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    decimals = decimals or {}
    for record in frame.itertuples(index=False):
        values = []
        for v in record:
            if isinstance(v, (float, np.floating)):
                values.append(None if not math.isfinite(float(v)) else float(v))
            elif isinstance(v, (np.integer,)):
                values.append(int(v))
            else:
                values.append(v)
        sheet.append(values)
    for j, column in enumerate(frame.columns, start=1):
        places = decimals.get(str(column), 0)
        for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            if isinstance(cell.value, float):
                if lang == "nb":
                    cell.number_format = norwegian_number_format(cell.value, places)
                else:
                    cell.number_format = EXCEL_FORMAT + ("." + "0" * places if places else "")
        width = max(10, min(40, len(str(column)) + 2))
        sheet.column_dimensions[get_column_letter(j)].width = width
    sheet.freeze_panes = "A2"


def _excel_decimals(column: str) -> int:
    """Decimals shown for a workbook column (by its table name, before translation)."""
    if column.startswith("pct"):
        return 3
    if column.startswith("rank") or column in ("p_growth", "probability", "share_solved"):
        return 1 if column.startswith("rank") else 2
    if column in ("median", "lower_80", "upper_80", "lower_95", "upper_95"):
        return 1
    return 0


def workbook_bytes(report: PlaceReport) -> bytes:
    """The report's tables as xlsx: attractiveness (period and by year), both growth
    decompositions, the scenarios' key figures and the projection's quantile table (one
    sheet per scenario, from :func:`attrbayes.projection.tables.excel_bytes`).
    Norwegian number formats (``1 234``, decimal comma) when the report is in ``nb``."""
    from openpyxl import Workbook

    t = texts_for(report.lang)
    h = t.table["tables"]
    workbook = Workbook()
    workbook.remove(workbook.active)
    if report.projection_table is not None:  # the sheets of excel_bytes, renamed
        add_excel_sheets(workbook, report.projection_table, norwegian=report.lang == "nb")
        for sheet in workbook.worksheets:
            sheet.title = t("tables.sheet_projection", scenario=t.scenario(sheet.title))[:31]
    h = {**h, "base": t("tables.base"), "p_growth": t("tables.p_growth"),
         **{f"population_{c}": h[c] for c in ("median", "lower_80", "upper_80")}}  # fmt: skip
    sheets: list[tuple[str, pd.DataFrame]] = []
    att = report.tables["attractiveness"].copy()
    att["kind"] = [t(f"cards.{k}") for k in att["kind"]]
    sheets.append((h["sheet_attractiveness"], att))
    years = []
    for kind in KINDS:
        frame = report.tables[f"attractiveness_{kind}_years"].copy()
        frame.insert(0, "kind", t(f"cards.{kind}"))
        years.append(frame)
    sheets.append((h["sheet_attractiveness_years"], pd.concat(years, ignore_index=True)))
    for key in ("population", "jobs"):
        dec = report.tables[f"{key}_decomposition"].drop(columns="group")
        dec = dec.assign(driver=[t.driver(d) for d in dec["driver"]])
        sheets.append(
            (
                h[f"sheet_{key}_decomposition"],
                dec.rename(columns={"median_pct": "pct", "national_rank": "rank"}),
            )
        )
    if "scenarios" in report.tables:
        sc = report.tables["scenarios"].copy()
        sc["scenario"] = [t.scenario(s) for s in sc["scenario"]]
        sc = sc.rename(columns={c: f"population_{c}" for c in ("median", "lower_80",
                                                               "upper_80")})  # fmt: skip
        sheets.append((h["sheet_scenarios"], sc))
    if "targets" in report.tables:
        levels = report.tables["targets"].copy()
        levels["target"] = [
            t(f"targets.title_{k}", year=y)
            for k, y in zip(levels["target"], levels["year"], strict=True)
        ]
        levels["measure"] = [t(f"targets.measure_{m}") for m in levels["measure"]]
        sheets.append((h["sheet_targets"], levels.drop(columns="year")))
        chances = report.tables["target_probabilities"].copy()
        chances["target"] = [
            t(f"targets.title_{k}", year=y)
            for k, y in zip(chances["target"], chances["year"], strict=True)
        ]
        chances["scenario"] = [t.scenario(s) for s in chances["scenario"]]
        sheets.append((h["sheet_target_probabilities"], chances.drop(columns="year")))
    for position, (title, frame) in enumerate(sheets):
        decimals = {h.get(str(c), str(c)): _excel_decimals(str(c)) for c in frame.columns}
        _sheet(workbook, title, frame.rename(columns=lambda c: h.get(str(c), str(c))),
               lang=report.lang, decimals=decimals)  # fmt: skip
        workbook.move_sheet(workbook[title[:31]], offset=-(len(workbook.sheetnames) - 1)
                            + position)  # fmt: skip
    neutralise_formulas(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- writing --------------------------------------------------------------------------------
def check_targets(paths: Iterable[Path], *, force: bool) -> None:
    """Refuse to overwrite existing files unless ``force``."""
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        shown = ", ".join(str(p) for p in existing[:3])
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise DataError(f"{shown}{more} already exist(s); pass --force to replace")


def write_report(report: PlaceReport, out: Path, *, xlsx: Path | None = None) -> list[Path]:
    """Write the HTML (and the workbook) atomically; returns the paths written."""
    written = [atomic_write_text(out, report.html)]
    if xlsx is not None:
        written.append(atomic_write_bytes(xlsx, report.xlsx_bytes()))
    return written


def write_all(
    builder: ReportBuilder, out_dir: Path, *, lang: str = "nb", xlsx: bool = True,
    progress: Callable[[str], None] | None = None, workers: int = 1,
) -> tuple[list[Path], list[PlaceReport]]:  # fmt: skip
    """One report per place into ``out_dir`` (``CODE.html``, ``CODE.xlsx``) and an
    ``index.html`` linking them; ``progress`` is called with each place's code when done.
    Reports keep only their summaries in memory (their HTML is written and dropped).

    The shared tables (attractiveness and ranks, decompositions, the projection's tables of
    every place, gates) are computed once, here. With ``workers > 1`` places are shared
    out to that many processes; each gets the prepared builder once, pickled, when it
    starts (no reading of the run and no per-draw projection in the workers; the setup of
    "what must happen", when asked for, is made by each worker)."""
    written: list[Path] = []
    done: list[PlaceReport] = []
    workers = max(1, min(workers, len(builder.places)))
    builder.prepare(targets=workers == 1)
    if workers > 1:
        import multiprocessing
        import pickle
        from concurrent.futures import ProcessPoolExecutor, as_completed

        payload = pickle.dumps(builder, protocol=pickle.HIGHEST_PROTOCOL)
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=_worker_init, initargs=(payload,))  # fmt: skip
        with pool:
            futures = [pool.submit(_worker_place, code, out_dir, lang, xlsx)
                       for code in builder.places]  # fmt: skip
            try:
                for future in as_completed(futures):
                    paths, report = future.result()
                    written += paths
                    done.append(report)
                    if progress is not None:
                        progress(report.place)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    else:
        for code in builder.places:
            paths, report = write_place(builder, code, out_dir, lang, xlsx)
            written += paths
            done.append(report)
            if progress is not None:
                progress(code)
    written.append(write_index(builder, out_dir, done, lang=lang))
    return written, done


def write_index(builder: ReportBuilder, out_dir: Path, reports: Sequence[PlaceReport], *,
                lang: str) -> Path:  # fmt: skip
    """``index.html`` linking the ``reports`` written into ``out_dir``."""
    files = {r.place: f"{r.place}.html" for r in reports}
    return atomic_write_text(out_dir / "index.html",
                             index_html(builder, reports, lang=lang, files=files))  # fmt: skip


def write_place(builder: ReportBuilder, code: str, out_dir: Path, lang: str,
                xlsx: bool) -> tuple[list[Path], PlaceReport]:  # fmt: skip
    """One place's report (``CODE.html``, ``CODE.xlsx``) into ``out_dir``."""
    report = builder.build(code, lang=lang, index_href="index.html")
    paths = write_report(report, out_dir / f"{code}.html",
                         xlsx=out_dir / f"{code}.xlsx" if xlsx else None)  # fmt: skip
    return paths, PlaceReport(report.place, report.name, "", {}, None, lang, report.summary)


@dataclass(frozen=True)
class BuilderSpec:
    """How to build a :class:`ReportBuilder` from the files a command names."""

    run: Path
    projection: Path | None = None
    jobs: Path | None = None
    data: Path | None = None
    reference: Path | None = None
    years: tuple[int, int] | None = None
    age_scenarios: tuple[str, ...] | None = None
    dpi: int = DPI
    target_draws: int = TARGET_DRAWS

    def build(self) -> ReportBuilder:
        sources = load_sources(self.run, projection=self.projection, jobs=self.jobs,
                               data=self.data, reference=self.reference)  # fmt: skip
        return ReportBuilder(sources, years=self.years, age_scenarios=self.age_scenarios,
                             dpi=self.dpi, target_draws=self.target_draws)  # fmt: skip


_WORKER: dict[str, ReportBuilder] = {}


def _worker_init(payload: bytes) -> None:  # pragma: no cover - runs in workers
    """A worker's set-up: the parent's prepared builder (pickled once per worker)."""
    import pickle
    import warnings

    warnings.simplefilter("ignore")  # a worker's warnings would interleave on the terminal
    builder = pickle.loads(payload)
    builder.prepare()  # only what the parent left out ("what must happen", if asked for)
    _WORKER["builder"] = builder


def _worker_place(code: str, out_dir: Path, lang: str,
                  xlsx: bool) -> tuple[list[Path], PlaceReport]:  # pragma: no cover  # fmt: skip
    return write_place(_WORKER["builder"], code, out_dir, lang, xlsx)


# -- PDF ------------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")  # fmt: skip


def chromium_path() -> str:
    import os

    return os.environ.get("ATTRBAYES_CHROMIUM", CHROMIUM)


def write_pdfs(pairs: Sequence[tuple[Path, Path]]) -> list[Path]:
    """Print each HTML file to PDF (A4) with headless Chromium through playwright; the
    page may load nothing but ``file:`` and ``data:`` URLs. Atomic writes."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
        raise DataError("--pdf needs the playwright package (pip install playwright)") from exc
    executable = chromium_path()
    if not Path(executable).is_file():
        raise DataError(f"--pdf needs Chromium at {executable} (or set ATTRBAYES_CHROMIUM)")
    written = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page()
                page.route("**/*", lambda route: route.continue_()
                           if route.request.url.startswith(("file:", "data:"))
                           else route.abort())  # fmt: skip
                for html, pdf in pairs:
                    page.goto(html.resolve().as_uri(), wait_until="load")
                    page.emulate_media(media="print")
                    data = page.pdf(format="A4", print_background=True,
                                    margin={"top": "12mm", "bottom": "12mm", "left": "10mm",
                                            "right": "10mm"})  # fmt: skip
                    written.append(atomic_write_bytes(pdf, data))
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise DataError(f"PDF output failed in Chromium: {exc}") from exc
    return written


__all__ = [
    "BuilderSpec",
    "PlaceReport",
    "ProjectionSummary",
    "ReportBuilder",
    "ReportSources",
    "TargetSetup",
    "TargetsUnavailable",
    "check_targets",
    "index_html",
    "load_sources",
    "load_texts",
    "read_place_reference",
    "report_period",
    "resolve_report_place",
    "text_keys",
    "texts_for",
    "workbook_bytes",
    "write_all",
    "write_pdfs",
    "write_report",
]
