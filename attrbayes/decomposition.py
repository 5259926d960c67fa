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
private growth x last year's private jobs). The model's parts are those of
:func:`attrbayes.equation.equation_parts`, the mean the projection evaluates too, and
:func:`driver_draws` checks their sum against the model graph's at the first draws, so a
model part the shared evaluation lacks is an error, never silently booked as noise.

Amounts are per-year means over the period's years. Aggregates, rates and ranks are taken
per draw before any quantile (project rule). A driver's rate is the period sum of its
amounts over the period sum of the base (population; last year's private jobs), and the
place's **national rank** is the median over draws of its rank among all places on that
rate (1 = the largest contribution relative to its size). Drivers at the same rate for
every place (national immigration, national private growth, common level and year shock)
have no rank.

**Groups** (a region, a county, a centrality class or a list of places) sum their places'
drivers **per draw** in persons (jobs) per year; a group's rate is that sum over the sum of
its places' mean base, so a group of one is the place itself. Groups of one kind rank
among each other (counties among counties); a list of places has no rank. The **relative
view** (the book's "compared with Norway") subtracts, per draw, Norway's rate of each
driver (all places summed per draw, over Norway's base) from the unit's rate and shows the
difference times the unit's base: persons (jobs) a year more or fewer than at Norway's rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import rankdata

from attrbayes.constants import PUBLIC_SECTORS
from attrbayes.equation import (
    ATTRACTIVENESS,
    CENTRALITY,
    INTERCEPT,
    YEAR_EFFECT,
    row_parts,
)
from attrbayes.exceptions import DataError
from attrbayes.quantiles import interval_frame
from attrbayes.terms import CONTEXTUAL_SUFFIX, TERM_LABELS

DECOMPOSITION_MASSES = (0.8, 0.95)
VRA_LAGS = {"vra_t": "vra_own_t", "vra_t1": "vra_own_t1", "vra_t2": "vra_own_t2"}
VITAL_COLUMNS = ("births", "deaths", "expected_births", "expected_deaths")
LASTING_JOB_GROWTH = "lasting job growth (place mean)"
COMMON_LEVEL = "common level and year shock"
NOISE = "noise"
KIND_TITLE = {"migration": "Population growth", "jobs": "Job growth"}
UNITS = {"migration": "persons", "jobs": "jobs"}
# How a unit of a decomposition is chosen: the option naming it on the command line.
GROUP_OPTIONS = {"place": "--place", "region": "--region", "county": "--county",
                 "centrality_class": "--class", "places": "--places"}  # fmt: skip
GROUP_KINDS = ("region", "county", "centrality_class")  # groups read from place attributes
GROUP_LABELS = {"region": "region", "county": "county", "centrality_class": "centrality class"}
GROUP_PLURALS = {"region": "regions", "county": "counties",
                 "centrality_class": "centrality classes"}  # fmt: skip
NATION = "Norway"
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
    migration and population change; private job change); ``base`` (place): the mean base
    per year (population; last year's private jobs), so ``rates = amounts / base``. The
    ``place`` dimension may hold groups (see :func:`group_draws`).
    """

    kind: str
    years: tuple[int, int]
    amounts: xr.DataArray
    rates: xr.DataArray
    actual: xr.DataArray
    totals: xr.DataArray
    total_rates: xr.DataArray
    base: xr.DataArray
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
class Unit:
    """What is decomposed: a place, a group of one kind (region, county, centrality class;
    ``code`` is the group's code) or a list of places (``code`` joins the members)."""

    by: str  # a key of GROUP_OPTIONS
    code: str
    members: tuple[str, ...]
    name: str | None = None  # a single place's name

    @property
    def label(self) -> str:
        if self.by == "place":
            return f"{self.name} ({self.code})" if self.name else self.code
        n = len(self.members)
        count = f"{n} place" if n == 1 else f"{n} places"
        if self.by == "places":
            shown = ", ".join(self.members[:5]) + (", ..." if n > 5 else "")
            return f"{count} ({shown})"
        return f"{GROUP_LABELS[self.by]} {self.code} ({count})"


@dataclass(frozen=True)
class Decomposition:
    """The growth decomposition of one place or group and period: a tidy table plus its
    draws; ``relative``: compared with Norway (see the module docstring)."""

    kind: str  # "migration" (population growth) or "jobs" (job growth)
    place: str  # the place's code, or the group's (see Unit)
    name: str | None
    years: tuple[int, int]
    level: str
    spec_name: str
    table: pd.DataFrame  # see TABLE_COLUMNS
    draws: xr.DataArray  # draw, driver: the place's per-year amounts (all drivers)
    actual: float  # the actual change per year the drivers add up to
    notes: tuple[str, ...] = field(default=())
    group: str = "place"  # how the unit was chosen: a key of GROUP_OPTIONS
    members: tuple[str, ...] = ()  # the places summed (the place itself for a place)
    relative: bool = False  # compared with Norway

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    @property
    def title(self) -> str:
        who = Unit(self.group, self.place, self.members or (self.place,), self.name).label
        first, last = self.years
        period = str(first) if first == last else f"{first}-{last}"
        versus = ", compared with Norway" if self.relative else ""
        return f"{KIND_TITLE[self.kind]} decomposition: {who}, {period}{versus}"

    @property
    def rank_label(self) -> str | None:
        """What the rank column ranks among (None: no ranks, a list of places)."""
        if self.group == "places":
            return None
        n = self.n_places
        if self.group == "place":
            return f"national rank among {n} places (1 = largest relative to size)"
        return f"rank among {n} {GROUP_PLURALS[self.group]} (1 = largest relative to size)"

    @property
    def value_label(self) -> str:
        """The amounts' axis label."""
        versus = " compared with Norway's rates" if self.relative else ""
        return f"{self.unit} per year{versus} (posterior median; error bars: 80 % interval)"

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


def _group_code(value: object) -> str | None:
    """A group code as a string (centrality class 3.0 -> "3"); None when missing."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, (int, np.integer)) or (
        isinstance(value, (float, np.floating)) and float(value).is_integer()
    ):
        return str(int(value))
    text = str(value).strip()
    return None if text in ("", "nan", "None", "<NA>") else text


def membership(fit, by: str, attributes: pd.DataFrame | None = None) -> pd.Series:
    """Each place's group code for ``by`` (region, county, centrality_class), indexed by
    place: from the fit's design frame, else from ``attributes`` (the panel's places at
    the fit's level, e.g. ``level_data(panel, level).units``). Places without a code are
    in no group."""
    if by not in GROUP_KINDS:
        raise ValueError(f"by must be one of {GROUP_KINDS}, got {by!r}")
    frame = fit.design.frame
    codes = sorted(str(p) for p in frame["place"].unique())
    if by in frame.columns and frame[by].notna().any():
        series = frame.assign(place=frame["place"].astype(str)).groupby("place")[by].first()
    elif attributes is not None and by in attributes.columns:
        series = attributes.assign(place=attributes["place"].astype(str)).set_index("place")[by]
        series = series[~series.index.duplicated()]
    else:
        option, level = GROUP_OPTIONS[by], fit.design.level
        if attributes is not None:
            raise DataError(
                f"{option}: neither the fit's design nor the panel's places table (--data) "
                f"has a {by!r} column for the fit's {level} units"
            )
        raise DataError(
            f"{option}: the fit's design has no {by!r} column for its {level} units; give "
            "--data PANEL (the panel the fit was built from) to read it from its places table"
        )
    series = series.reindex(codes).map(_group_code).dropna()
    if series.empty:
        raise DataError(f"{GROUP_OPTIONS[by]}: no place of the fit has a {by!r} code")
    return series.astype(str)


def _listing(counts: pd.Series, limit: int = 30) -> str:
    """'03 (1 place), 11 (3 places), ...' for the codes that exist."""
    items = [f"{c} ({n} place{'' if n == 1 else 's'})" for c, n in counts.items()]
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def resolve_group(
    fit, code: str | int | Sequence[str], by: str = "place", *,
    attributes: pd.DataFrame | None = None,
) -> Unit:  # fmt: skip
    """The unit to decompose: a place (code or unique name), a group of kind ``by`` by its
    code, or for ``by="places"`` a list of places (a sequence or a comma-separated
    string). Unknown codes raise a DataError naming the option and the codes that exist."""
    if by == "place":
        key = resolve_place(fit, str(code))
        frame = fit.design.frame
        name = None
        if "name" in frame.columns:
            name = str(frame.loc[frame["place"].astype(str) == key, "name"].iloc[0])
        return Unit("place", key, (key,), name)
    if by == "places":
        items = str(code).split(",") if isinstance(code, str) else [str(c) for c in code]
        items = [i.strip() for i in items if i.strip()]
        if not items:
            raise DataError("--places: give at least one place code (comma-separated)")
        members = []
        for item in items:
            try:
                members.append(resolve_place(fit, item))
            except DataError as exc:
                raise DataError(f"--places: {exc}") from None
        members = list(dict.fromkeys(members))  # a place counts once
        return Unit("places", ",".join(members), tuple(members))
    if by not in GROUP_KINDS:
        raise ValueError(f"by must be one of {list(GROUP_OPTIONS)}, got {by!r}")
    groups = membership(fit, by, attributes)
    key = _group_code(code.strip() if isinstance(code, str) else code)
    members = tuple(sorted(groups.index[groups == key]))
    if not members:
        counts = groups.value_counts().sort_index()
        raise DataError(
            f"{GROUP_OPTIONS[by]} {code}: no such {GROUP_LABELS[by]} in the fit; its "
            f"{GROUP_PLURALS[by]} are {_listing(counts)}"
        )
    return Unit(by, str(key), members)


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


def _obs_select(
    da: xr.DataArray, rows: pd.DataFrame, dims: Sequence[str], index: np.ndarray
) -> np.ndarray:
    """Pointwise selection of the draws ``index`` of (draw, *dims) at the rows'
    coordinates: (draw, obs)."""
    at = {d: xr.DataArray(rows[d].to_numpy(), dims="obs") for d in dims}
    return da.isel(draw=index).sel(at).transpose("draw", "obs").to_numpy()


# draws decomposed at a time: every part is a (draws, rows) array, and the demo's 4,000
# draws x 7,476 rows took 240 MB a part, several alive at once
DRAW_BLOCK = 500
# draws at which the parts' sum is checked against the model graph's own mu (a part
# equation.py lacked would show at any draw; the graph for all 4,000 took 2 s a fit)
GRAPH_CHECK_DRAWS = 8


def _model_parts(
    fit, rows: pd.DataFrame, notes: list[str], index: np.ndarray, mu_graph: np.ndarray | None
) -> Iterator[tuple[str, np.ndarray, bool]]:
    """Yield the linear predictor's named parts and the noise ``y - mu`` at the stacked
    draws ``index`` as (name, rate per row (draw, obs), common).

    The parts are :func:`attrbayes.equation.equation_parts` on the rows, the projection's
    own evaluation of the mean, grouped into drivers: the job growth terms split into
    own and commuting-area job growth, contextual terms joined to their driver, the
    intercept and year effect into the common level; ``mu`` is their sum. Where given,
    ``mu_graph``, the model graph's own ``mu`` at the first draws of ``index`` and the
    same rows, is checked against it."""
    spec, kind = fit.spec, fit.kind
    eq, parts = row_parts(fit, rows, index)

    vra = [t for t in spec.slope_terms if t in VRA_LAGS] if kind == "migration" else []
    own_cols = [VRA_LAGS[t] for t in vra]
    split = (
        bool(vra)
        and all(c in rows.columns for c in own_cols)
        and bool(rows[own_cols].notna().all().all())
    )
    if vra and not split:
        notes.append(
            "the fit's design lacks the own-place VRA part (vra_own_*): job growth is "
            "not split into own and commuting-area parts; refit with a current version"
        )
    attr_label = "residential attractiveness" if kind == "migration" else "business attractiveness"
    own, area = "own job growth", "commuting-area job growth"

    def label_of(name: str) -> str:
        if name in vra:  # split below into own and commuting-area parts where it can be
            return "job growth (own and commuting area)"
        if name in (INTERCEPT, YEAR_EFFECT):
            return COMMON_LEVEL
        if name == ATTRACTIVENESS:
            return attr_label
        base = name.removesuffix(CONTEXTUAL_SUFFIX)
        return LASTING_JOB_GROWTH if base in VRA_LAGS else TERM_LABELS.get(base, base)

    # the drivers in the order shown, each the sum of its parts
    joined = [] if split else vra  # split: own and commuting-area parts stand first
    terms = [*joined, *([CENTRALITY] if spec.has_centrality else []),
             *(t for t in spec.slope_terms if t not in vra or not split)]  # fmt: skip
    drivers: dict[str, np.ndarray | float] = dict.fromkeys(
        [*([own, area] if split else []), *map(label_of, terms)], 0.0
    )
    for name, values in parts:
        if name == CENTRALITY and not spec.has_centrality:
            continue
        if name in vra and split:
            part = eq.slopes[name][:, None] * rows[VRA_LAGS[name]].to_numpy(float)
            drivers[own] = drivers[own] + part
            drivers[area] = drivers[area] + values - part
            continue
        label = label_of(name)
        drivers[label] = drivers.get(label, 0.0) + values
    rebuilt = np.zeros((len(index), len(rows)))
    for rate in drivers.values():
        rebuilt += rate
    if mu_graph is not None:
        _check_rebuilt(fit, rebuilt[: len(mu_graph)], mu_graph)
    residual = rows["y"].to_numpy(float)[None, :] - rebuilt
    latent = fit.has_latent_attractiveness
    if latent and spec.attractiveness.ar1:
        # the AR state is not part of mu: attractiveness gains it, the noise loses it
        integrated = _obs_select(fit.latent_attractiveness, rows, ["place", "year"], index)
        integrated = integrated - drivers[attr_label]
        drivers[attr_label] = drivers[attr_label] + integrated
        residual = residual - integrated
    own_order = [label for label in drivers if label not in (attr_label, COMMON_LEVEL)]
    for label in (*own_order, attr_label):
        if label == attr_label and not latent:
            continue
        yield label, np.broadcast_to(drivers[label], rebuilt.shape), False
    yield COMMON_LEVEL, np.broadcast_to(drivers[COMMON_LEVEL], rebuilt.shape), True
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
    gap = float(np.max(np.abs(rebuilt - mu_graph))) if rebuilt.size else 0.0
    scale = float(np.max(np.abs(mu_graph))) if mu_graph.size else 0.0
    if gap > 1e-9 + 1e-7 * scale:
        raise DataError(
            f"the decomposition's parts do not rebuild the linear predictor of spec "
            f"{fit.spec.name} (largest gap {gap:.3g}): the model has a part "
            "attrbayes/equation.py does not know"
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
    model_sums: dict[str, np.ndarray] = {}
    obs = rows["obs"].to_numpy()
    for start in range(0, n_draws, DRAW_BLOCK):
        index = np.arange(start, min(start + DRAW_BLOCK, n_draws))
        mu_graph = None
        if start == 0:
            ((_, (mu,)),) = fit.deterministic_draws(("mu",), index[:GRAPH_CHECK_DRAWS])
            mu_graph = mu[:, obs]
        for name, rate, common in _model_parts(fit, rows, notes, index, mu_graph):
            if name not in model_sums:
                parts.append(_Part(name, flow_group, np.empty(0), common=common))
                model_sums[name] = np.empty((n_draws, len(places)))
            model_sums[name][index] = period_sum(rate * size[None, :])
    sums.extend(model_sums.values())
    notes = list(dict.fromkeys(notes))  # each block repeats them

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
        base=xr.DataArray(base_sum / counts, coords={"place": places}, dims="place"),
        groups={p.name: p.group for p in parts},
        common=frozenset(p.name for p in parts if p.common),
        notes=tuple(notes),
    )


# -- groups and the relative view ---------------------------------------------------------
def _with_units(dd: DriverDraws, amounts: xr.DataArray, totals: xr.DataArray,
                base: xr.DataArray, rates: xr.DataArray, total_rates: xr.DataArray,
                notes: Iterable[str] = ()) -> DriverDraws:  # fmt: skip
    return DriverDraws(
        kind=dd.kind, years=dd.years, amounts=amounts, rates=rates,
        actual=totals.isel(total=-1, drop=True), totals=totals, total_rates=total_rates,
        base=base, groups=dict(dd.groups), common=dd.common, notes=(*dd.notes, *notes),
    )  # fmt: skip


def group_draws(dd: DriverDraws, groups: Mapping[str, Sequence[str]]) -> DriverDraws:
    """The drivers of groups of places (the ``place`` dimension then holds the groups'
    codes): amounts, totals and bases summed over each group's places **per draw**, rates
    over the summed base. A member's NaN (no births and deaths data) makes the group's
    NaN; every member must be a place of ``dd``."""
    places = dd.places
    where = {p: i for i, p in enumerate(places)}
    codes = [str(c) for c in groups]
    matrix = np.zeros((len(places), len(codes)))
    for j, members in enumerate(groups.values()):
        unknown = [m for m in members if m not in where]
        if unknown:
            first, last = dd.years
            raise DataError(f"places {unknown} have no rows in {first}-{last}")
        matrix[[where[m] for m in members], j] = 1.0

    def summed(values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        out = np.where(missing, 0.0, values) @ matrix
        out[(missing @ matrix) > 0] = np.nan
        return out

    # one driver at a time: (draw, place) @ (place, group) keeps the peak memory small
    amounts = np.stack([
        summed(dd.amounts.isel(driver=i).transpose("draw", "place").to_numpy())
        for i in range(len(dd.drivers))
    ])  # fmt: skip
    totals = summed(dd.totals.transpose("total", "place").to_numpy())
    base = summed(dd.base.to_numpy())
    coords = {"driver": dd.drivers, "draw": dd.amounts["draw"].to_numpy(), "place": codes}
    tcoords = {"total": dd.totals["total"].to_numpy(), "place": codes}
    amounts_da = xr.DataArray(amounts, coords=coords, dims=("driver", "draw", "place"))
    totals_da = xr.DataArray(totals, coords=tcoords, dims=("total", "place"))
    base_da = xr.DataArray(base, coords={"place": codes}, dims="place")
    return _with_units(dd, amounts_da, totals_da, base_da, amounts_da / base_da,
                       totals_da / base_da)  # fmt: skip


@dataclass(frozen=True)
class NationalRates:
    """Norway's rate of every driver per draw (``rates``: driver, draw) and of every total
    (``total_rates``: total), with notes on places left out for want of data."""

    rates: xr.DataArray
    total_rates: xr.DataArray
    notes: tuple[str, ...] = ()


def national_rates(dd: DriverDraws) -> NationalRates:
    """Norway's rates: every place of ``dd`` summed per draw, over their summed base. A
    place lacking a driver (NaN) is left out of that driver's sum and base, with a note."""
    base = dd.base
    finite = np.isfinite(dd.amounts).all("draw") & np.isfinite(base)  # driver, place
    rates = dd.amounts.where(finite, 0.0).sum("place") / base.where(finite, 0.0).sum("place")
    tfinite = np.isfinite(dd.totals) & np.isfinite(base)
    total_base = base.where(tfinite, 0.0).sum("place")
    total_rates = dd.totals.where(tfinite, 0.0).sum("place") / total_base
    notes = []
    n = len(dd.places)
    counted = finite.sum("place").to_series()
    for k, drivers in counted[counted < n].groupby(counted[counted < n]):
        notes.append(
            f"Norway's rate of {', '.join(drivers.index)} counts {k} of {n} places (the "
            "others lack the data)"
        )
    return NationalRates(rates, total_rates, tuple(notes))


def relative_draws(units: DriverDraws, national: NationalRates) -> DriverDraws:
    """The relative view of ``units`` (places or groups): per draw, each driver's rate
    minus Norway's rate of that driver, and that difference times the unit's base as the
    amount (persons or jobs a year more than at Norway's rate). The relative drivers add
    up to the relative actual change: actual - Norway's total rate x base."""
    base = units.base
    rates = units.rates - national.rates.reindex(driver=units.drivers)
    total_rates = units.total_rates - national.total_rates.reindex(
        total=units.totals["total"].to_numpy()
    )
    amounts = (rates * base).transpose("driver", "draw", "place")
    totals = (total_rates * base).transpose("total", "place")
    return _with_units(units, amounts, totals, base, rates.transpose(*amounts.dims),
                       total_rates.transpose(*totals.dims), national.notes)  # fmt: skip


def _all_ranks(dd: DriverDraws) -> dict[str, tuple[np.ndarray, int]]:
    """Median ranks of every unit of ``dd`` for each driver with a rank and each total
    (keyed "= total")."""
    ranks = {d: all_median_ranks(dd.rates.sel(driver=d).transpose("draw", "place").to_numpy())
             for d in dd.drivers if d not in dd.common}  # fmt: skip
    for total in dd.totals["total"].to_numpy():
        ranks[f"= {total}"] = all_median_ranks(dd.total_rates.sel(total=total).to_numpy())
    return ranks


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
    rows, notes = _public_rows(jobs, place, years, breaks)
    table = [{c: r[c] for c in TABLE_COLUMNS} for r in rows]
    return pd.DataFrame(table, columns=list(TABLE_COLUMNS)), notes


def _public_rows(
    jobs: pd.DataFrame, place: str, years: tuple[int, int], breaks: Iterable[int]
) -> tuple[list[dict], list[str]]:
    """:func:`public_sector_rows` as dicts, each with its ``base`` too: the mean of last
    year's jobs over the years with a change (``median / base`` is the rate)."""
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
        return [], notes
    if not series:
        if undivided.notna().any():
            series = {"public sector": undivided}
        else:
            notes.append(
                "the jobs table has no public-sector split (totals only): no public-sector rows"
            )
            return [], notes
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
        own_lag = lag.loc[place][own.notna()]
        own_rate = float(own.sum() / own_lag.sum()) * 100
        rows.append(
            {
                "driver": label, "group": "public sector", "median": value,
                "lower_80": value, "upper_80": value, "lower_95": value, "upper_95": value,
                "median_pct": own_rate, "national_rank": rank, "n_places": n,
                "base": float(own_lag.mean()),
            }
        )  # fmt: skip
    if skipped:
        notes.append(
            f"public-sector changes leave out {skipped} (a series break in the jobs table)"
        )
    return rows, notes


def _relative_public(rows: list[dict], national: list[dict], notes: list[str]) -> list[dict]:
    """Public-sector rows compared with Norway: the change minus Norway's rate of that
    sector times the unit's base; the percentage becomes the difference in points."""
    rates = {r["driver"]: r["median_pct"] for r in national}
    out = []
    for row in rows:
        pct = rates.get(row["driver"], np.nan)
        if not np.isfinite(pct):
            notes.append(f"{row['driver']}: Norway's rate is unknown; no comparison")
        value = row["median"] - pct / 100 * row["base"]
        out.append({**row, **dict.fromkeys(TABLE_COLUMNS[2:7], value),
                    "median_pct": row["median_pct"] - pct})  # fmt: skip
    return out


def _units_jobs(jobs: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """The jobs table summed to units (place -> unit code in ``mapping``; other places
    are left out). A unit's year and sector is NaN unless every member has it."""
    table = jobs.assign(place=jobs["place"].astype(str).map(mapping)).dropna(subset=["place"])
    size = pd.Series(list(mapping.values())).value_counts()
    grouped = table.groupby(["place", "year", "sector"])["jobs"]
    summed = grouped.sum()
    complete = grouped.count() == summed.index.get_level_values("place").map(size).to_numpy()
    return summed.where(complete).reset_index()


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


# -- the decomposition --------------------------------------------------------------------
def decompose(
    fit,
    place: str | int | Sequence[str],
    years: tuple[int, int] | None = None,
    *,
    jobs: pd.DataFrame | None = None,
    breaks: Iterable[int] = (),
    by: str = "place",
    relative: bool = False,
    attributes: pd.DataFrame | None = None,
) -> Decomposition:
    """The growth decomposition of a place or a group over a period.

    Parameters
    ----------
    fit
        A migration fit (population growth by driver) or a jobs fit (private job growth).
    place
        A place code, or with ``by`` a region, county or centrality class code, or a list
        of places (``by="places"``).
    years
        The period (first, last); the fit's years when None.
    jobs
        The panel's jobs table at the fit's level: adds public-sector rows to a jobs
        decomposition.
    breaks
        The jobs table's series breaks.
    by
        "place", "region", "county", "centrality_class" or "places": drivers are summed
        per draw over the group's members (from the fit's design, else ``attributes``).
    relative
        Compare every driver with Norway's rate of it.
    attributes
        The panel's places at the fit's level, for group membership.

    Returns
    -------
    Decomposition
        ``table`` (driver, median, 80/95 % intervals, national rank) and ``draws``
        (draw, driver), adding up to the actual change. For many places of one fit use one
        :class:`Decomposer` (drivers computed once).
    """
    _check_kind(fit)
    unit = resolve_group(fit, place, by, attributes=attributes)
    decomposer = Decomposer(fit, check_period(fit, years), jobs=jobs, breaks=breaks,
                            attributes=attributes)  # fmt: skip
    return decomposer.decompose(unit, relative=relative)


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


def _select(dd: DriverDraws, index: int) -> DriverDraws:
    """One unit of ``dd`` (the place dimension kept, of length one)."""
    pick = {"place": slice(index, index + 1)}
    return _with_units(dd, dd.amounts.isel(pick), dd.totals.isel(pick), dd.base.isel(pick),
                       dd.rates.isel(pick), dd.total_rates.isel(pick))  # fmt: skip


Ranks = dict[str, tuple[np.ndarray, int]]


class Decomposer:
    """Growth decompositions of every place (or group) of one fit and period, sharing the
    per-draw drivers, the group sums, Norway's rates and the ranks (each computed once per
    vital mode); :meth:`decompose` gives the table of one unit (what :func:`decompose`
    returns). ``attributes`` (the panel's places at the fit's level) give group
    membership when the fit's design lacks it."""

    def __init__(
        self, fit, years: tuple[int, int], *, jobs: pd.DataFrame | None = None,
        breaks: Iterable[int] = (), attributes: pd.DataFrame | None = None,
    ) -> None:  # fmt: skip
        self.fit = fit
        self.years = check_period(fit, years)
        self.jobs = jobs
        self.breaks = tuple(breaks)
        self.attributes = attributes
        self._draws: dict[str, DriverDraws] = {}
        self._ranks: dict[str, Ranks] = {}
        self._groups: dict[tuple[str, str], tuple[DriverDraws, Ranks]] = {}
        self._national: dict[str, NationalRates] = {}
        self._membership: dict[str, pd.Series] = {}
        self._jobs: dict[str, pd.DataFrame] = {}

    def prepare(self) -> None:
        """Compute the drivers of the vital mode most places have (all, usually)."""
        frame = self.fit.design.frame
        rows = frame[frame["year"].between(*self.years)]
        self.driver_draws(_vital_mode(rows) if self.fit.kind == "migration" else "none")

    def driver_draws(self, vital: str) -> DriverDraws:
        if vital not in self._draws:
            dd = driver_draws(self.fit, self.years, vital=vital)
            self._draws[vital] = dd
            self._ranks[vital] = _all_ranks(dd)
        return self._draws[vital]

    def membership(self, by: str) -> pd.Series:
        """Each place's group code of kind ``by`` (see :func:`membership`)."""
        if by not in self._membership:
            self._membership[by] = membership(self.fit, by, self.attributes)
        return self._membership[by]

    def national(self, vital: str) -> NationalRates:
        """Norway's rates of every driver (all places summed per draw)."""
        if vital not in self._national:
            self._national[vital] = national_rates(self.driver_draws(vital))
        return self._national[vital]

    def units(self, vital: str, unit: Unit) -> tuple[DriverDraws, Ranks | None]:
        """The drivers of ``unit`` and its peers (places; the groups of its kind; the list
        alone) with their ranks (None: a list of places has none)."""
        dd = self.driver_draws(vital)
        if unit.by == "place":
            return dd, self._ranks[vital]
        present = set(dd.places)
        if unit.by == "places":
            members = [m for m in unit.members if m in present]
            return group_draws(dd, {unit.code: members}), None
        key = (vital, unit.by)
        if key not in self._groups:
            codes = self.membership(unit.by)
            codes = codes[codes.index.isin(present)]
            groups = {str(g): list(ps) for g, ps in codes.groupby(codes).groups.items()}
            grouped = group_draws(dd, groups)
            self._groups[key] = grouped, _all_ranks(grouped)
        return self._groups[key]

    def _units_jobs(self, unit: Unit) -> pd.DataFrame:
        """The jobs table summed to ``unit`` and its peers (as :meth:`units`)."""
        assert self.jobs is not None
        if unit.by == "place":
            return self.jobs
        if unit.by == "places":
            return _units_jobs(self.jobs, dict.fromkeys(unit.members, unit.code))
        if unit.by not in self._jobs:
            self._jobs[unit.by] = _units_jobs(self.jobs, self.membership(unit.by).to_dict())
        return self._jobs[unit.by]

    def _national_jobs(self) -> pd.DataFrame:
        if NATION not in self._jobs:
            places = self.fit.design.frame["place"].astype(str).unique()
            self._jobs[NATION] = _units_jobs(self.jobs, dict.fromkeys(places, NATION))
        return self._jobs[NATION]

    def decompose(
        self, code: str | int | Sequence[str] | Unit, *, by: str = "place",
        relative: bool = False,
    ) -> Decomposition:  # fmt: skip
        """The table of one unit: a place (the default), a group of kind ``by`` by its code,
        a list of places (``by="places"``) or a resolved :class:`Unit`; ``relative``:
        every driver compared with Norway's rate of it (see the module docstring)."""
        fit, years = self.fit, self.years
        kind = fit.kind
        unit = code if isinstance(code, Unit) else resolve_group(
            fit, code, by, attributes=self.attributes
        )  # fmt: skip
        frame = fit.design.frame
        places = frame["place"].astype(str)
        own_rows = frame[places.isin(unit.members) & frame["year"].between(*years)]
        who = f"place {unit.code}" if unit.by == "place" else unit.label
        notes: list[str] = []
        if own_rows.empty:
            raise DataError(f"{who} has no rows in {years[0]}-{years[1]}")
        have = own_rows.groupby(own_rows["place"].astype(str))["year"].agg(set)
        absent = [m for m in unit.members if m not in have.index]
        if absent:
            notes.append(f"places {absent} have no rows in {years[0]}-{years[1]}: left out")
        span = set(range(years[0], years[1] + 1))
        gaps = {p: sorted(span - {int(y) for y in ys}) for p, ys in have.items()}
        gaps = {p: g for p, g in gaps.items() if g}
        if unit.by == "place" and gaps:
            notes.append(f"{who} has no data in {gaps[unit.code]}; means are over the others")
        elif gaps:
            by_gap: dict[tuple[int, ...], list[str]] = {}
            for p, g in gaps.items():
                by_gap.setdefault(tuple(g), []).append(p)
            for g, ps in by_gap.items():
                who = f"all {len(ps)} places" if len(ps) == len(have) else (
                    f"{len(ps)} of {len(have)} places ({', '.join(ps[:10])}"
                    f"{', ...' if len(ps) > 10 else ''})"
                )  # fmt: skip
                notes.append(f"{who} have no data in {list(g)}; their means are over the others")
        vital = _vital_mode(own_rows) if kind == "migration" else "none"
        if kind == "migration" and vital != "split":
            absent_cols = [c for c in VITAL_COLUMNS
                           if c not in frame.columns or own_rows[c].isna().any()]  # fmt: skip
            notes.append(
                f"expected births and deaths are missing ({absent_cols}): births and deaths "
                "are shown without the split into expected and excess"
                if vital == "actual"
                else f"births and deaths are missing ({absent_cols}): the decomposition covers "
                "net migration only"
            )
        units, ranks = self.units(vital, unit)
        idx = units.places.index(unit.code)
        one = _select(units, idx)
        if relative:
            one = relative_draws(one, self.national(vital))
        notes.extend(one.notes)
        n_units = len(units.places) if ranks is not None else 0

        def rank_of(key: str) -> tuple[float, int]:
            if ranks is None:
                return float("nan"), 0
            values, n = ranks[key]
            return float(values[idx]), n

        unit_draws = one.amounts.isel(place=0, drop=True).transpose("draw", "driver")
        medians = one.rates.isel(place=0, drop=True).median("draw")
        stats = interval_frame(unit_draws, masses=DECOMPOSITION_MASSES)
        stats = stats.set_index("driver").reindex(one.drivers).reset_index()
        rows = []
        for i, driver in enumerate(one.drivers):
            rank, n = (float("nan"), n_units) if driver in one.common else rank_of(driver)
            rows.append({
                "driver": driver, "group": one.groups[driver],
                **{c: float(stats.loc[i, c]) for c in TABLE_COLUMNS[2:7]},
                "median_pct": float(medians.sel(driver=driver)) * 100,
                "national_rank": rank, "n_places": n,
            })  # fmt: skip
        table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
        public: list[dict] = []
        if kind == "jobs" and self.jobs is not None:
            jobs = self._units_jobs(unit)
            public, public_notes = _public_rows(jobs, unit.code, years, self.breaks)
            notes.extend(public_notes)
            if ranks is None:
                public = [{**r, "national_rank": float("nan"), "n_places": 0} for r in public]
            if relative and public:
                national, _ = _public_rows(self._national_jobs(), NATION, years, self.breaks)
                public = _relative_public(public, national, notes)
            fitted = float(units.totals.isel(total=-1, place=idx))
            notes.extend(_private_mismatch(jobs, unit.code, years, self.breaks, fitted))
        totals = []
        for name in one.totals["total"].to_numpy():
            value = float(one.totals.sel(total=name).isel(place=0))
            pct = float(one.total_rates.sel(total=name).isel(place=0)) * 100
            totals.append(_data_row(str(name), "total", value, pct, *rank_of(f"= {name}")))
        if public:
            value = totals[-1]["median"] + sum(r["median"] for r in public)
            totals.append(_data_row("total job change", "total", value, float("nan"), np.nan, 0))
            notes.append("total job change = private job change + the public-sector rows")
        public_table = pd.DataFrame([{c: r[c] for c in TABLE_COLUMNS} for r in public],
                                    columns=list(TABLE_COLUMNS))  # fmt: skip
        parts = [table, public_table, pd.DataFrame(totals, columns=list(TABLE_COLUMNS))]
        table = pd.concat([p for p in parts if not p.empty], ignore_index=True)
        table["n_places"] = table["n_places"].astype(int)
        return Decomposition(
            kind=kind, place=unit.code, name=unit.name, years=years, level=fit.design.level,
            spec_name=fit.spec.name, table=table, draws=unit_draws,
            actual=float(one.actual.isel(place=0)), notes=tuple(notes), group=unit.by,
            members=unit.members, relative=relative,
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
            ("points of base / yr" if dec.relative else "% of base / yr"): t["median_pct"].map(
                _percent
            ),
            ("national rank" if dec.group == "place" else "rank"): rank,
        }
    )
    base = "population" if dec.kind == "migration" else "last year's private jobs"
    whose = "the place's" if dec.group == "place" else "the group's"
    if dec.group == "place":
        ranked = f"rank 1 = largest relative to {base} among all places"
    elif dec.group == "places":
        ranked = "no ranks: a list of places is not ranked against single places"
    else:
        plural = GROUP_PLURALS[dec.group]
        ranked = (
            f"ranks are among the {dec.n_places} {plural} (not among single places), "
            f"1 = largest relative to {base}"
        )
    head = [
        f"{dec.title} ({dec.spec_name}, {dec.level} level)",
        f"{dec.unit} per year (mean over the period's years): posterior median with 80 % and "
        f"95 % equal-tailed intervals; {ranked}",
    ]
    if dec.group != "place":
        head.append(
            f"group: {len(dec.members)} {dec.level} unit{'' if len(dec.members) == 1 else 's'} "
            "summed per draw "
            f"({', '.join(dec.members[:20])}{', ...' if len(dec.members) > 20 else ''}); "
            f"% of the group's summed {base}"
        )
    if dec.relative:
        head.append(
            f"compared with Norway: per draw, {whose} rate of each driver minus Norway's rate "
            f"of that driver (all places summed per draw, over Norway's {base}), times "
            f"{whose} {base}: {dec.unit} a year more (+) or fewer (-) than at Norway's "
            "rates; the points column is that difference in percentage points a year"
        )
    lines = [*head, shown.to_string(index=False)]
    lines += [f"note: {n}" for n in dec.notes]
    return "\n".join(lines)
