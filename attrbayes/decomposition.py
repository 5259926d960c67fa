"""Growth decompositions of one place and period with posterior intervals (MODEL.md 3-4).

**Population** (from a migration fit), persons per year::

    population change = expected births + excess fertility
                        - expected deaths - excess mortality
                        + net migration
    net migration     = national immigration (national rate x population)
                        + centrality (c[t] C) + own job growth (sum_l b_l w_ii RA_i)
                        + commuting-area job growth (sum_l b_l (VRA_l - w_ii RA_i))
                        + DS (d DS) (+ other slope terms, e.g. students)
                        + residential attractiveness (group + place (+ ar))
                        + common level and year shock (intercept + year effect)
                        + noise (y - mu)

each rate term multiplied by the population on 1 January. **Private jobs** (from a jobs
fit), jobs per year: national contribution (national private growth x last year's
private jobs) + industry effect + population effect (+ centrality) + business
attractiveness + common level and year shock + noise. Public-sector changes (municipal,
county, state, or undivided public) are data and come from the panel's jobs table.

Because ``y = mu + (y - mu)`` and ``mu`` is exactly the sum of the model's parts, the
drivers add up, **per draw**, to the actual change of the period (births - deaths + net
migration, with net migration = (y + national rate) x population; private job change =
private growth x last year's private jobs). :func:`driver_draws` checks the rebuilt
linear predictor against the model graph's, so a model part this module does not know
is an error, never silently booked as noise.

Amounts are per-year means over the period's years. Aggregates, rates and ranks are taken
per draw before any quantile (project rule). A driver's rate is the period sum of its
amounts over the period sum of the base (population; last year's private jobs), and the
place's **national rank** is the median over draws of its rank among all places on that
rate (1 = the largest contribution relative to its size). Drivers at the same rate for
every place (national immigration, national private growth, common level and year shock)
have no rank.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import rankdata

from attrbayes.constants import CONTEXTUAL_SUFFIX, PUBLIC_SECTORS
from attrbayes.exceptions import DataError
from attrbayes.results import interval_frame

DECOMPOSITION_MASSES = (0.8, 0.95)
VRA_LAGS = {"vra_t": "vra_own_t", "vra_t1": "vra_own_t1", "vra_t2": "vra_own_t2"}
VITAL_COLUMNS = ("births", "deaths", "expected_births", "expected_deaths")
TERM_LABELS = {
    "centrality": "centrality",
    "ds": "demographic supply (DS)",
    "students": "students share",
    "industry_effect": "industry effect",
    "pop_growth_lag": "population effect",
}
LASTING_JOB_GROWTH = "lasting job growth (place mean)"
COMMON_LEVEL = "common level and year shock"
NOISE = "noise"
KIND_TITLE = {"migration": "Population growth", "jobs": "Job growth"}
UNITS = {"migration": "persons", "jobs": "jobs"}
# The table's groups, in the order they are shown.
GROUPS = ("births", "deaths", "net migration", "private jobs", "public sector", "total")
TABLE_COLUMNS = (
    "driver", "group", "median", "lower_80", "upper_80", "lower_95", "upper_95",
    "median_pct", "national_rank", "n_places",
)  # fmt: skip


@dataclass(frozen=True)
class DriverDraws:
    """Per-draw period means of every driver for every place of a fit.

    ``amounts`` (driver, draw, place): mean amount per year over the period's years, in
    persons (jobs); ``rates`` (driver, draw, place): period sum of amounts over period sum
    of the base; ``actual`` (place): the actual change per year, which the drivers add up
    to per draw; ``totals`` (total, place) and ``total_rates``: the data totals (net
    migration and population change; private job change).
    """

    kind: str
    years: tuple[int, int]
    amounts: xr.DataArray
    rates: xr.DataArray
    actual: xr.DataArray
    totals: xr.DataArray
    total_rates: xr.DataArray
    groups: dict[str, str]
    common: frozenset[str]
    notes: tuple[str, ...] = ()

    @property
    def drivers(self) -> list[str]:
        return [str(d) for d in self.amounts["driver"].to_numpy()]

    @property
    def places(self) -> list[str]:
        return [str(p) for p in self.amounts["place"].to_numpy()]


@dataclass(frozen=True)
class Decomposition:
    """The growth decomposition of one place and period: a tidy table plus its draws."""

    kind: str  # "migration" (population growth) or "jobs" (job growth)
    place: str
    name: str | None
    years: tuple[int, int]
    level: str
    spec_name: str
    table: pd.DataFrame  # see TABLE_COLUMNS
    draws: xr.DataArray  # draw, driver: the place's per-year amounts (all drivers)
    actual: float  # the actual change per year the drivers add up to
    notes: tuple[str, ...] = field(default=())

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    @property
    def title(self) -> str:
        who = f"{self.name} ({self.place})" if self.name else self.place
        first, last = self.years
        period = str(first) if first == last else f"{first}-{last}"
        return f"{KIND_TITLE[self.kind]} decomposition: {who}, {period}"

    @property
    def n_places(self) -> int:
        return int(self.table["n_places"].max())


# -- inputs -------------------------------------------------------------------------------
def check_period(fit, years: tuple[int, int] | None) -> tuple[int, int]:
    """The period (default: the fit's years), refused if it leaves the fit's years."""
    first, last = (int(y) for y in fit.design.years)
    if years is None:
        return first, last
    a, b = (int(y) for y in years)
    if a > b:
        raise DataError(f"the period {a}-{b} ends before it starts")
    if a < first or b > last:
        raise DataError(f"years {a}-{b} are outside the fit's years {first}-{last}")
    return a, b


def resolve_place(fit, place: str) -> str:
    """A place code of the fit (a unique name is accepted too), or a DataError naming a
    few valid codes."""
    frame = fit.design.frame
    codes = sorted(str(p) for p in frame["place"].unique())
    key = str(place).strip()
    if key in codes:
        return key
    if "name" in frame.columns:
        names = frame.groupby("place")["name"].first()
        hits = [str(p) for p, n in names.items() if str(n).casefold() == key.casefold()]
        if len(hits) == 1:
            return hits[0]
        labels = {str(p): str(n) for p, n in names.items()}
    else:
        labels = {}
    examples = ", ".join(f"{c} ({labels[c]})" if c in labels else c for c in codes[:5])
    raise DataError(
        f"place {key!r} is not in the fit ({len(codes)} {fit.design.level} units); "
        f"valid codes include {examples}"
    )


def _check_kind(fit) -> str:
    kind = getattr(fit, "kind", None)
    if kind not in UNITS:
        raise DataError(f"no growth decomposition for a fit of kind {kind!r} (have {list(UNITS)})")
    if fit.design.label != "all":
        raise DataError(
            f"the fit is of the sub-population {fit.design.label!r}; a growth decomposition "
            "needs a fit of the whole population"
        )
    return kind


# -- per-draw drivers ---------------------------------------------------------------------
@dataclass
class _Part:
    name: str
    group: str
    values: np.ndarray  # (obs,) data in persons (jobs) per row; empty for model parts
    common: bool = False


def _obs_select(da: xr.DataArray, rows: pd.DataFrame, dims: Sequence[str]) -> np.ndarray:
    """Pointwise selection of (draw, *dims) draws at the rows' coordinates: (draw, obs)."""
    index = {d: xr.DataArray(rows[d].to_numpy(), dims="obs") for d in dims}
    return da.sel(index).transpose("draw", "obs").to_numpy()


def _scalar(fit, name: str) -> np.ndarray:
    return fit.draws(name).to_numpy().reshape(-1, 1)


def _model_parts(
    fit, rows: pd.DataFrame, notes: list[str]
) -> Iterator[tuple[str, np.ndarray, bool]]:
    """Yield the linear predictor's named parts and the noise ``y - mu`` as (name, rate
    per row (draw, obs), common). One part is alive at a time; at the end the sum of the
    parts is checked against the model graph's own ``mu`` for the same rows."""
    spec, post = fit.spec, fit.posterior
    kind = fit.kind
    mu_graph = fit.mu_draws(max_draws=None).isel(obs=rows["obs"].to_numpy()).to_numpy()
    rebuilt = np.zeros_like(mu_graph)

    def column(name: str) -> np.ndarray:
        return rows[name].to_numpy(float)

    def part(name: str, rate: np.ndarray, common: bool = False):
        rate = np.broadcast_to(rate, mu_graph.shape)
        rebuilt[...] += rate
        return name, rate, common

    slope_terms = list(spec.slope_terms)
    vra = [t for t in slope_terms if t in VRA_LAGS] if kind == "migration" else []
    if vra:
        own_cols = [VRA_LAGS[t] for t in vra]
        if all(c in rows.columns for c in own_cols) and rows[own_cols].notna().all().all():
            yield part("own job growth", sum(_scalar(fit, t) * column(VRA_LAGS[t]) for t in vra))
            area = sum(_scalar(fit, t) * (column(t) - column(VRA_LAGS[t])) for t in vra)
            yield part("commuting-area job growth", area)
        else:
            notes.append(
                "the fit's design lacks the own-place VRA part (vra_own_*): job growth is "
                "not split into own and commuting-area parts; refit with a current version"
            )
            both = sum(_scalar(fit, t) * column(t) for t in vra)
            yield part("job growth (own and commuting area)", both)
    if spec.has_centrality:
        if "centrality_path" in post:
            coef = _obs_select(fit.draws("centrality_path"), rows, ["year"])
        else:
            coef = _scalar(fit, "centrality")
        yield part("centrality", coef * column("centrality"))
    # contextual (place-mean) terms: a term's lasting part joins its driver; the lasting
    # part of job growth (all lags) is a driver of its own
    drivers: dict[str, np.ndarray] = {}
    for term in slope_terms:
        if term in vra:
            continue
        base = term.removesuffix(CONTEXTUAL_SUFFIX)
        label = LASTING_JOB_GROWTH if base in VRA_LAGS else TERM_LABELS.get(base, base)
        drivers[label] = drivers.get(label, 0.0) + _scalar(fit, term) * column(term)
    for label, rate in drivers.items():
        yield part(label, rate)
    attr_label = "residential attractiveness" if kind == "migration" else "business attractiveness"
    residual = column("y")[None, :] - mu_graph
    state = fit.attractiveness_state
    latent = "place_effect" in post or "group_effect" in post or state is not None
    if latent:
        attractiveness = _obs_select(fit.latent_attractiveness, rows, ["place", "year"])
        integrated = np.zeros_like(mu_graph)
        if state is not None:  # integrated out of the likelihood, so not part of mu
            integrated = (_obs_select(state["ar"], rows, ["place", "year"])
                          + _obs_select(state["place_effect"], rows, ["place"]))  # fmt: skip
        yield part(attr_label, attractiveness)
        rebuilt -= integrated
        residual = residual - integrated
    common = _scalar(fit, "intercept") + np.zeros((1, len(rows)))
    if "year_effect" in post:
        common = common + _obs_select(fit.draws("year_effect"), rows, ["year"])
    yield part(COMMON_LEVEL, common, True)
    _check_rebuilt(fit, rebuilt, mu_graph)
    if latent:
        yield NOISE, residual, False
    else:
        # no place or group effects: attractiveness is the residual, noise included
        notes.append(
            f"spec {spec.name} has no place or group effects: attractiveness is the "
            "posterior residual y - mu and includes the observation noise"
        )
        yield attr_label, residual, False


def _check_rebuilt(fit, rebuilt: np.ndarray, mu_graph: np.ndarray) -> None:
    if rebuilt.shape != mu_graph.shape:
        raise DataError(
            f"draw counts differ between the posterior ({rebuilt.shape[0]}) and the model's "
            f"linear predictor ({mu_graph.shape[0]})"
        )
    gap = float(np.max(np.abs(rebuilt - mu_graph))) if rebuilt.size else 0.0
    scale = float(np.max(np.abs(mu_graph))) if mu_graph.size else 0.0
    if gap > 1e-9 + 1e-7 * scale:
        raise DataError(
            f"the decomposition's parts do not rebuild the linear predictor of spec "
            f"{fit.spec.name} (largest gap {gap:.3g}): the model has a part "
            "attrbayes/decomposition.py does not know"
        )


def _vital_mode(rows: pd.DataFrame) -> str:
    """'split' (expected + excess), 'actual' (births and deaths only) or 'none'."""

    def have(cols: Iterable[str]) -> bool:
        return all(c in rows.columns for c in cols) and rows[list(cols)].notna().all().all()

    if have(VITAL_COLUMNS):
        return "split"
    if have(("births", "deaths")):
        return "actual"
    return "none"


def _period_rows(fit, years: tuple[int, int]) -> pd.DataFrame:
    frame = fit.design.frame.reset_index(drop=True)
    rows = frame.assign(obs=np.arange(len(frame)))
    rows = rows[rows["year"].between(*years)]
    return rows.sort_values(["place", "year"], kind="stable").reset_index(drop=True)


def driver_draws(fit, years: tuple[int, int] | None = None, *, vital: str | None = None):
    """Every driver's per-draw period mean for every place (see :class:`DriverDraws`).

    ``vital`` chooses the births and deaths rows: "split" (expected births, excess
    fertility, expected deaths, excess mortality), "actual" (births and deaths), "none";
    by default the richest the design supports for all places. Places without the vital
    columns then get NaN there (and in ``actual``)."""
    kind = _check_kind(fit)
    years = check_period(fit, years)
    rows = _period_rows(fit, years)
    notes: list[str] = []
    if vital is None:
        vital = _vital_mode(rows) if kind == "migration" else "none"
    if vital not in ("split", "actual", "none"):
        raise ValueError(f"vital must be 'split', 'actual' or 'none', got {vital!r}")
    base = fit.design.size_column
    size = rows[base].to_numpy(float)
    parts: list[_Part] = []
    if kind == "migration":
        if vital == "split":
            b, d = rows["births"].to_numpy(float), rows["deaths"].to_numpy(float)
            eb, ed = (
                rows["expected_births"].to_numpy(float),
                rows["expected_deaths"].to_numpy(float),
            )
            parts += [
                _Part("expected births", "births", eb),
                _Part("excess fertility", "births", b - eb),
                _Part("expected deaths", "deaths", -ed),
                _Part("excess mortality", "deaths", -(d - ed)),
            ]
        elif vital == "actual":
            parts += [
                _Part("births", "births", rows["births"].to_numpy(float)),
                _Part("deaths", "deaths", -rows["deaths"].to_numpy(float)),
            ]
        flow_group = "net migration"
        national = rows["national_rate"].to_numpy(float)
        parts.append(_Part("national immigration", flow_group, national * size, common=True))
    else:
        flow_group = "private jobs"
        national = rows["national_private_growth"].to_numpy(float)
        parts.append(_Part("national contribution", flow_group, national * size, common=True))
    places, starts = np.unique(rows["place"].to_numpy(), return_index=True)
    counts = np.diff(np.append(starts, len(rows)))
    base_sum = np.add.reduceat(size, starts)
    balanced = bool((counts == counts[0]).all())
    indicator = np.zeros((len(rows), len(places)))
    indicator[np.arange(len(rows)), np.repeat(np.arange(len(places)), counts)] = 1.0
    n_draws = fit.draws("intercept").sizes["draw"]

    def period_sum(values: np.ndarray) -> np.ndarray:
        """Per place sums over the period's rows: (place,) for data, (draw, place) for
        draws (a data column's NaN stays with its own place)."""
        if values.ndim == 1:
            return np.add.reduceat(values, starts)
        if balanced:  # rows are sorted by place, then year
            return values.reshape(len(values), len(places), -1).sum(axis=2)
        return values @ indicator

    sums = [period_sum(p.values) for p in parts]
    for name, rate, common in _model_parts(fit, rows, notes):
        parts.append(_Part(name, flow_group, np.empty(0), common=common))
        sums.append(period_sum(rate * size[None, :]))

    flow = (rows["y"].to_numpy(float) + national) * size
    if kind == "migration":
        totals = {"net migration": flow}
        if vital != "none":
            totals["population change"] = (
                flow + rows["births"].to_numpy(float) - rows["deaths"].to_numpy(float)
            )
    else:
        totals = {"private job change": flow}
    actual_name = list(totals)[-1]

    shape = (n_draws, len(places))
    amounts = np.stack([np.broadcast_to(v / counts, shape) for v in sums])
    rates = np.stack([np.broadcast_to(v / base_sum, shape) for v in sums])
    total_sums = np.stack([np.add.reduceat(v, starts) for v in totals.values()])
    coords = {"driver": [p.name for p in parts], "draw": np.arange(n_draws), "place": places}
    dims = ("driver", "draw", "place")
    tcoords = {"total": list(totals), "place": places}
    totals_da = xr.DataArray(total_sums / counts, coords=tcoords, dims=("total", "place"))
    return DriverDraws(
        kind=kind,
        years=years,
        amounts=xr.DataArray(amounts, coords=coords, dims=dims),
        rates=xr.DataArray(rates, coords=coords, dims=dims),
        actual=totals_da.sel(total=actual_name, drop=True),
        totals=totals_da,
        total_rates=xr.DataArray(total_sums / base_sum, coords=tcoords, dims=("total", "place")),
        groups={p.name: p.group for p in parts},
        common=frozenset(p.name for p in parts if p.common),
        notes=tuple(notes),
    )


# -- ranks --------------------------------------------------------------------------------
def median_rank(rates: np.ndarray, place_index: int) -> tuple[float, int]:
    """Median over draws of the place's rank (1 = largest) among places with finite rates
    in every draw; ``rates`` is (draw, place) or (place,). Returns (rank, n_places)."""
    ranks, n = all_median_ranks(rates)
    return float(ranks[place_index]), n


# -- public sector ------------------------------------------------------------------------
def public_sector_rows(
    jobs: pd.DataFrame,
    place: str,
    years: tuple[int, int],
    *,
    breaks: Iterable[int] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """The change per year of each public sector for ``place`` over ``years`` (data).

    ``jobs`` is the panel's jobs table at the fit's level (place, year, sector, jobs).
    With the full split the rows are the municipal, county and state sectors, otherwise
    the undivided public sector; a table of totals alone has no public rows. The change
    into year t is jobs[t] - jobs[t-1]; years whose change is undefined (a series break,
    a missing year) are left out of the mean and named in the notes. Ranks compare the
    period's change over the period's sum of last year's jobs across all places."""
    first, last = years
    notes: list[str] = []
    need = {"place", "year", "sector", "jobs"}
    if not need <= set(jobs.columns):
        raise DataError(f"the jobs table needs columns {sorted(need)}, has {list(jobs.columns)}")
    table = jobs.assign(place=jobs["place"].astype(str))
    wide = table.pivot_table(
        index=["place", "year"], columns="sector", values="jobs", aggfunc="sum"
    )
    full = all(s in wide.columns for s in PUBLIC_SECTORS)
    if full:
        split = wide[list(PUBLIC_SECTORS)]
        undivided = split.sum(axis=1, min_count=len(PUBLIC_SECTORS))
        undivided[split.isna().any(axis=1)] = np.nan
    else:
        undivided = pd.Series(np.nan, index=wide.index)
    if "public" in wide.columns:
        undivided = undivided.fillna(wide["public"])
    series: dict[str, pd.Series] = {}
    if full:
        series = {f"{s} sector": wide[s] for s in PUBLIC_SECTORS}
    if place in wide.index.get_level_values("place"):
        own = wide.loc[place]
        span = range(first - 1, last + 1)
        if full and not own.reindex(span)[list(PUBLIC_SECTORS)].notna().all().all():
            series = {}
    else:
        notes.append(f"the jobs table has no rows for place {place}: no public-sector rows")
        return _empty_table(), notes
    if not series:
        if undivided.notna().any():
            series = {"public sector": undivided}
        else:
            notes.append(
                "the jobs table has no public-sector split (totals only): no public-sector rows"
            )
            return _empty_table(), notes
    breaks = {int(b) for b in breaks}
    wanted = [y for y in range(first, last + 1) if y not in breaks]
    skipped = sorted(set(range(first, last + 1)) - set(wanted))
    rows = []
    for label, values in series.items():
        level = values.unstack("year").reindex(columns=range(first - 1, last + 1))
        change = level.diff(axis=1)[wanted]
        lag = level.shift(1, axis=1)[wanted]
        if place not in change.index or change.loc[place].isna().all():
            notes.append(f"{label}: no year of {first}-{last} has a change for place {place}")
            continue
        own = change.loc[place]
        gaps = sorted(int(y) for y in own.index[own.isna()])
        if gaps:
            notes.append(f"{label}: no change in {gaps} (missing years); mean of the others")
        value = float(own.mean())
        # rates over the years each place has; places lacking a year are left out
        complete = change.notna().all(axis=1) & lag.notna().all(axis=1) & (lag.sum(axis=1) > 0)
        rate = (change.sum(axis=1) / lag.sum(axis=1)).where(complete)
        if not complete.get(place, False):
            rank, n = float("nan"), int(complete.sum())
        else:
            idx = list(rate.index).index(place)
            rank, n = median_rank(rate.to_numpy(), idx)
        own_rate = float(own.sum() / lag.loc[place][own.notna()].sum()) * 100
        rows.append(
            {
                "driver": label, "group": "public sector", "median": value,
                "lower_80": value, "upper_80": value, "lower_95": value, "upper_95": value,
                "median_pct": own_rate, "national_rank": rank, "n_places": n,
            }
        )  # fmt: skip
    if skipped:
        notes.append(
            f"public-sector changes leave out {skipped} (a series break in the jobs table)"
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS)), notes


def _private_mismatch(
    jobs: pd.DataFrame, place: str, years: tuple[int, int], breaks: Iterable[int], fitted: float
) -> list[str]:
    """A note when the jobs table's private change differs from the fit's data (the
    table would then not be the one the fit was built from)."""
    private = jobs[(jobs["place"].astype(str) == place) & (jobs["sector"] == "private")]
    level = private.groupby("year")["jobs"].sum().reindex(range(years[0] - 1, years[1] + 1))
    wanted = [y for y in range(years[0], years[1] + 1) if y not in set(breaks)]
    change = level.diff().reindex(wanted).dropna()
    if change.empty:
        return []
    table = float(change.mean())
    if abs(table - fitted) > max(1.0, 0.005 * abs(fitted)):
        return [
            f"the jobs table's private change ({signed(table)} a year) differs from the "
            f"fit's ({signed(fitted)}): is it the panel the fit was built from?"
        ]
    return []


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=list(TABLE_COLUMNS))


# -- the decomposition --------------------------------------------------------------------
def decompose(
    fit,
    place: str,
    years: tuple[int, int] | None = None,
    *,
    jobs: pd.DataFrame | None = None,
    breaks: Iterable[int] = (),
) -> Decomposition:
    """The growth decomposition of ``place`` over ``years`` (default: the fit's years).

    A migration fit gives the population growth decomposition, a jobs fit the private
    job growth decomposition, plus public-sector rows when ``jobs`` (the panel's jobs
    table at the fit's level) is given; ``breaks`` are the jobs table's series breaks.
    For many places of one fit, use one :class:`Decomposer` (drivers computed once)."""
    _check_kind(fit)
    code = resolve_place(fit, place)
    return Decomposer(fit, check_period(fit, years), jobs=jobs, breaks=breaks).decompose(code)


def all_median_ranks(rates: np.ndarray) -> tuple[np.ndarray, int]:
    """Every place's median rank over draws (1 = largest) among the places with finite
    rates in every draw: the vectorised :func:`median_rank`.
    ``rates`` is (draw, place) or (place,); returns (ranks with NaN where invalid, n)."""
    values = np.atleast_2d(np.asarray(rates, dtype=float))
    valid = np.isfinite(values).all(axis=0)
    out = np.full(values.shape[1], np.nan)
    kept = values[:, valid]
    if kept.size == 0:
        return out, 0
    if kept.shape[0] > 1 and (kept == kept[0]).all():  # data: the same in every draw
        kept = kept[:1]
    out[valid] = np.median(rankdata(-kept, axis=1, method="average"), axis=0)
    return out, int(valid.sum())


class Decomposer:
    """Growth decompositions of every place of one fit and period, sharing the per-draw
    drivers and national ranks (computed once per vital mode); :meth:`decompose` gives
    the table of one place (what :func:`decompose` returns)."""

    def __init__(self, fit, years: tuple[int, int], *, jobs: pd.DataFrame | None = None,
                 breaks: Iterable[int] = ()) -> None:  # fmt: skip
        self.fit = fit
        self.years = check_period(fit, years)
        self.jobs = jobs
        self.breaks = tuple(breaks)
        self._draws: dict[str, DriverDraws] = {}
        self._ranks: dict[str, dict[str, tuple[np.ndarray, int]]] = {}

    def prepare(self) -> None:
        """Compute the drivers of the vital mode most places have (all, usually)."""
        frame = self.fit.design.frame
        rows = frame[frame["year"].between(*self.years)]
        self.driver_draws(_vital_mode(rows) if self.fit.kind == "migration" else "none")

    def driver_draws(self, vital: str) -> DriverDraws:
        if vital not in self._draws:
            dd = driver_draws(self.fit, self.years, vital=vital)
            self._draws[vital] = dd
            ranks = {d: all_median_ranks(dd.rates.sel(driver=d).to_numpy()) for d in dd.drivers
                     if d not in dd.common}  # fmt: skip
            for total in dd.totals["total"].to_numpy():
                ranks[f"= {total}"] = all_median_ranks(dd.total_rates.sel(total=total).to_numpy())
            self._ranks[vital] = ranks
        return self._draws[vital]

    def decompose(self, code: str) -> Decomposition:
        fit, years = self.fit, self.years
        kind = fit.kind
        frame = fit.design.frame
        own_rows = frame[(frame["place"].astype(str) == code) & frame["year"].between(*years)]
        notes: list[str] = []
        if own_rows.empty:
            raise DataError(f"place {code} has no rows in {years[0]}-{years[1]}")
        missing = sorted(set(range(years[0], years[1] + 1)) - set(own_rows["year"].astype(int)))
        if missing:
            notes.append(f"place {code} has no data in {missing}; means are over the others")
        vital = _vital_mode(own_rows) if kind == "migration" else "none"
        if kind == "migration" and vital != "split":
            absent = [c for c in VITAL_COLUMNS
                      if c not in frame.columns or own_rows[c].isna().any()]  # fmt: skip
            notes.append(
                f"expected births and deaths are missing ({absent}): births and deaths are "
                "shown without the split into expected and excess"
                if vital == "actual"
                else f"births and deaths are missing ({absent}): the decomposition covers "
                "net migration only"
            )
        dd = self.driver_draws(vital)
        ranks = self._ranks[vital]
        notes.extend(dd.notes)
        idx = dd.places.index(code)
        place_draws = dd.amounts.isel(place=idx, drop=True).transpose("draw", "driver")
        place_rates = dd.rates.isel(place=idx, drop=True)
        stats = interval_frame(place_draws, masses=DECOMPOSITION_MASSES)
        stats = stats.set_index("driver").reindex(dd.drivers).reset_index()
        medians = place_rates.median("draw")
        rows = []
        for i, driver in enumerate(dd.drivers):
            if driver in dd.common:
                rank, n = float("nan"), len(dd.places)
            else:
                values, n = ranks[driver]
                rank = float(values[idx])
            rows.append({
                "driver": driver, "group": dd.groups[driver],
                **{c: float(stats.loc[i, c]) for c in TABLE_COLUMNS[2:7]},
                "median_pct": float(medians.sel(driver=driver)) * 100,
                "national_rank": rank, "n_places": n,
            })  # fmt: skip
        table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
        public = pd.DataFrame(columns=list(TABLE_COLUMNS))
        if kind == "jobs" and self.jobs is not None:
            public, public_notes = public_sector_rows(self.jobs, code, years, breaks=self.breaks)
            notes.extend(public_notes)
        totals = []
        for name in dd.totals["total"].to_numpy():
            value = float(dd.totals.sel(total=name).isel(place=idx))
            values, n = ranks[f"= {name}"]
            pct = float(dd.total_rates.sel(total=name).isel(place=idx)) * 100
            totals.append(_data_row(str(name), "total", value, pct, float(values[idx]), n))
        if kind == "jobs" and self.jobs is not None:
            notes.extend(_private_mismatch(self.jobs, code, years, self.breaks,
                                           totals[-1]["median"]))  # fmt: skip
        if not public.empty and kind == "jobs":
            value = totals[-1]["median"] + float(public["median"].sum())
            totals.append(_data_row("total job change", "total", value, float("nan"), np.nan, 0))
            notes.append("total job change = private job change + the public-sector rows")
        parts = [table, public, pd.DataFrame(totals, columns=list(TABLE_COLUMNS))]
        table = pd.concat([p for p in parts if not p.empty], ignore_index=True)
        table["n_places"] = table["n_places"].astype(int)
        name = str(own_rows["name"].iloc[0]) if "name" in frame.columns else None
        return Decomposition(
            kind=kind, place=code, name=name, years=years, level=fit.design.level,
            spec_name=fit.spec.name, table=table, draws=place_draws,
            actual=float(dd.actual.isel(place=idx)), notes=tuple(notes),
        )  # fmt: skip


def _data_row(driver: str, group: str, value: float, pct: float, rank: float, n: int) -> dict:
    return {
        "driver": driver, "group": group, "median": value, "lower_80": value,
        "upper_80": value, "lower_95": value, "upper_95": value, "median_pct": pct,
        "national_rank": rank, "n_places": n,
    }  # fmt: skip


# -- text ---------------------------------------------------------------------------------
def signed(value: float) -> str:
    """A per-year amount for people: sign, thousands separators, one decimal below 10."""
    if not np.isfinite(value):
        return "-"
    if abs(value) < 10:
        text = f"{value:+.1f}"
        return "0" if text in ("+0.0", "-0.0") else text
    return f"{value:+,.0f}"


def _percent(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    text = f"{value:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text


def table_text(decomposition: Decomposition) -> str:
    """The decomposition as a plain-text table with a header line and the notes."""
    dec = decomposition
    t = dec.table
    rank = [
        "-" if not np.isfinite(r) else f"{r:.0f} / {n}" if float(r).is_integer() else f"{r} / {n}"
        for r, n in zip(t["national_rank"], t["n_places"], strict=True)
    ]
    shown = pd.DataFrame(
        {
            "driver": t["driver"],
            f"{dec.unit} / yr": t["median"].map(signed),
            "80 % interval": [
                "" if lo == hi else f"{signed(lo)} to {signed(hi)}"
                for lo, hi in zip(t["lower_80"], t["upper_80"], strict=True)
            ],
            "95 % interval": [
                "" if lo == hi else f"{signed(lo)} to {signed(hi)}"
                for lo, hi in zip(t["lower_95"], t["upper_95"], strict=True)
            ],
            "% of base / yr": t["median_pct"].map(_percent),
            "national rank": rank,
        }
    )
    base = "population" if dec.kind == "migration" else "last year's private jobs"
    head = [
        f"{dec.title} ({dec.spec_name}, {dec.level} level)",
        f"{dec.unit} per year (mean over the period's years): posterior median with 80 % and "
        f"95 % equal-tailed intervals; rank 1 = largest relative to {base}",
    ]
    lines = [*head, shown.to_string(index=False)]
    lines += [f"note: {n}" for n in dec.notes]
    return "\n".join(lines)
