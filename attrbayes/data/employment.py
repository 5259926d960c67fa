"""A national employment schedule by year, sex and single age from SSB's published rates.

DS (MODEL.md 2.3) needs national employment rates e[s, a] by sex and single age; the raw
files (``shared/data/raw/ssb_pages_employment``, SOURCES.md section 12) only have broad
groups. :func:`employment_schedule` builds one schedule per year in two steps:

1. **Shape** (one for all years, :func:`employment_shape`). AKU labour-force
   participation by sex and seven age groups (15-19 ... 67-74; mean over 2009-2011,
   2016, 2017) is turned into employment with the AKU ratio employed / labour force of
   the smallest published broad group containing the age group (15-24, 25-66, else
   15-74; mean over the years both tables have). Inside 55-66 the AKU 2004 single ages
   60-66 (and 55-59) give the profile, scaled to the group's level. The group rates
   become single ages by piecewise-linear interpolation between anchor points (group
   mid-points, the single ages), linear extrapolation at the ends, a jump allowed at the
   pension age 67 (67-74 is flat: no source splits it), 0 outside 15-74, clipped to
   [0, 1]; the anchors are rescaled until every group's population-weighted mean
   equals its rate (mean-preserving, :func:`schedule_from_groups`).
2. **Levels** (per year, :func:`calibrate`). The shape is multiplied by a factor that is
   piecewise linear in age (knots at ages :data:`KNOTS`, flat beyond), per sex. In each
   year the factors are the smallest change from 1 that makes the schedule reproduce,
   weighted with that year's national population, the published rates of the year:
   15-74, 15-24 and 25-66 by sex (AKU 2011-2017, 15-74 also 2019-2020; 2009-2010
   derived from AKU participation x the ratio above; 2003-2006 the register-based rates,
   published for both sexes only, split by sex with the male/female ratios of the
   nearest AKU year) and 55-64 for both sexes (Eurostat lfsa_ergan, 2005-2024). Each
   series is interpolated linearly between its years and carried flat beyond its ends.

Every step and how well each published rate is reproduced go into the build report.
The functions below the readers are pure (frames and arrays in, frames and arrays out).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from attrbayes.constants import MAX_AGE, SEXES
from attrbayes.exceptions import DataError

if TYPE_CHECKING:  # real.py imports this module
    from attrbayes.data.real import BuildReport, RawData

N_AGES: Final = MAX_AGE + 1
WORK_MIN, WORK_MAX = 15, 74  # the schedule is 0 outside these ages
# Ages of the level factors (piecewise linear): 5 years apart from 50, where the rates
# changed most over 2003-2024 (older workers), 10 below. Of the sets tried, e.g. (20, 40,
# 60, 70), this one comes closest to the rates that are not calibrated (the register's
# age groups 2003-2006, AKU 2004's ages 50-66; see the build report's checks).
KNOTS: Final = (20.0, 30.0, 40.0, 50.0, 55.0, 60.0, 65.0, 70.0)
SHAPE_YEAR: Final = 2013  # population weights of the shape: the middle of 2009-2017
# The old-age pension age: employment drops at 67, so the schedule may jump there (no
# source resolves ages within 67-74: that group's rate is flat)
PENSION_AGE: Final = 67
REGISTER_SPLIT: Final = "register (both sexes) split by sex"  # a source label
TOLERANCE_PP: Final = 0.1  # a published rate counts as reproduced within this many pp

# key in real.RAW_FILES -> the columns each file must have
SOURCE_FILES: Final = {
    "employment_register": {"year", "sex", "age_group", "employed_pct_of_population"},
    "employment_aku": {"year", "sex", "age_group", "employed_pct_of_population"},
    "employment_aku_older": {
        "year",
        "age_group",
        "employed_pct_both",
        "employed_pct_male",
        "employed_pct_female",
    },
    "participation_aku": {"year", "sex", "age_group", "labour_force_pct_of_population"},
    "employment_eurostat": {"year", "sex", "age_group", "employment_rate_pct"},
}

Group = tuple[int, int]  # (first age, last age), inclusive


@dataclass(frozen=True)
class EmploymentSources:
    """The published rates, each long: year, sex (male/female/both), lo, hi, rate (0-1)."""

    register: pd.DataFrame  # register-based, 4th quarter, both sexes, 2003-2006
    aku: pd.DataFrame  # AKU employed / population by sex, 15-74, 15-24, 25-66
    older: pd.DataFrame  # AKU 2004 by sex: 50-54, 55-59, ..., single ages 60-66
    participation: pd.DataFrame  # AKU labour force / population by sex and 7 groups
    eurostat: pd.DataFrame  # Eurostat 55-64, both sexes


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
_GROUP = re.compile(r"^\s*(\d{1,3})\s*(?:-\s*(\d{1,3}))?\s*$")


def parse_group(text: object) -> Group | None:
    """``"15-74"`` -> (15, 74), ``"60"`` -> (60, 60); None if it is not an age group."""
    match = _GROUP.match(str(text))
    if not match:
        return None
    lo = int(match.group(1))
    hi = int(match.group(2)) if match.group(2) else lo
    return (lo, hi) if lo <= hi else None


def _long(frame: pd.DataFrame, where: str, value: str, sex: str | None = None) -> pd.DataFrame:
    groups = [parse_group(g) for g in frame["age_group"]]
    bad = [g for g, p in zip(frame["age_group"], groups, strict=True) if p is None]
    if bad:
        raise DataError(f"{where}, column 'age_group': not an age group like '15-74': {bad[:3]}")
    rate = pd.to_numeric(frame[value], errors="coerce") / 100
    text = frame[value].notna() & rate.isna()
    if text.any():
        shown = frame.loc[text, value].head(3).tolist()
        raise DataError(f"{where}, column '{value}': not a number: {shown}")
    out = pd.DataFrame(
        {
            "year": pd.to_numeric(frame["year"], errors="coerce"),
            "sex": frame["sex"].astype(str).str.strip() if sex is None else sex,
            "lo": [g[0] for g in groups],  # type: ignore[index]
            "hi": [g[1] for g in groups],  # type: ignore[index]
            "rate": rate,
        }
    )
    if out["year"].isna().any():
        raise DataError(f"{where}, column 'year': years must be whole numbers")
    unknown = sorted(set(out["sex"]) - {*SEXES, "both"})
    if unknown:
        raise DataError(
            f"{where}, column 'sex': unknown values {unknown}; expected {SEXES} or both"
        )
    if ((out["rate"] < 0) | (out["rate"] > 1)).any():
        raise DataError(f"{where}, column '{value}': percentages must lie within 0-100")
    out["year"] = out["year"].astype(int)
    return out.dropna(subset=["rate"]).reset_index(drop=True)


def read_sources(raw: RawData) -> EmploymentSources:
    """Read the five files of ``ssb_pages_employment`` (errors name file and column)."""
    frames = {key: raw.csv(key, cols, strings=("age_group",)) for key, cols in SOURCE_FILES.items()}

    def where(key: str) -> str:
        return str(raw.path(key))

    older_wide = frames["employment_aku_older"]
    older = pd.concat(
        [
            _long(older_wide, where("employment_aku_older"), f"employed_pct_{sex}", sex=sex)
            for sex in SEXES
        ],
        ignore_index=True,
    )
    return EmploymentSources(
        register=_long(
            frames["employment_register"],
            where("employment_register"),
            "employed_pct_of_population",
        ),
        aku=_long(frames["employment_aku"], where("employment_aku"), "employed_pct_of_population"),
        older=older,
        participation=_long(
            frames["participation_aku"],
            where("participation_aku"),
            "labour_force_pct_of_population",
        ),
        eurostat=_long(
            frames["employment_eurostat"], where("employment_eurostat"), "employment_rate_pct"
        ),
    )


# ---------------------------------------------------------------------------------------
# population weights
# ---------------------------------------------------------------------------------------
def population_weights(population: pd.DataFrame) -> Callable[[int], np.ndarray]:
    """National population (S, A) of a year, from a (place,) year, sex, age, population
    frame; a year without population uses the nearest year (ties: the earlier)."""
    missing = {"year", "sex", "age", "population"} - set(population.columns)
    if missing:
        raise DataError(f"population for the employment schedule lacks columns {sorted(missing)}")
    nat = population.groupby(["year", "sex", "age"])["population"].sum()
    years = sorted(int(y) for y in nat.index.get_level_values("year").unique())
    if not years:
        raise DataError("population for the employment schedule is empty")
    cache: dict[int, np.ndarray] = {}

    def weights(year: int) -> np.ndarray:
        near = min(years, key=lambda y: (abs(y - int(year)), y))
        if near not in cache:
            arr = np.zeros((len(SEXES), N_AGES))
            rows = nat.xs(near, level="year")
            for s, sex in enumerate(SEXES):
                if sex in rows.index.get_level_values("sex"):
                    part = rows.xs(sex, level="sex")
                    ages = np.minimum(part.index.to_numpy(dtype=int), MAX_AGE)
                    np.add.at(arr[s], ages, part.to_numpy(dtype=float))
            cache[near] = arr
        return cache[near]

    return weights


def group_rate(
    rates: np.ndarray, weights: np.ndarray, group: Group, sexes: Sequence[int] = (0, 1)
) -> float:
    """Population-weighted mean of ``rates`` (S, A) over ages ``group`` and ``sexes``."""
    lo, hi = group
    w = weights[list(sexes), lo : hi + 1]
    total = w.sum()
    if total <= 0:  # no population: an unweighted mean
        return float(rates[list(sexes), lo : hi + 1].mean())
    return float((rates[list(sexes), lo : hi + 1] * w).sum() / total)


# ---------------------------------------------------------------------------------------
# single ages from groups
# ---------------------------------------------------------------------------------------
def _interpolate(
    anchor_ages: np.ndarray, anchor_values: np.ndarray, span: Group, breaks: Sequence[int] = ()
) -> np.ndarray:
    """Piecewise linear through the anchors, linear beyond them (end slopes; flat with one
    anchor), 0 outside ``span``, clipped to [0, 1]; shape (A,). The schedule may jump at
    each age of ``breaks``: the ages on either side are interpolated separately."""
    ages = np.arange(N_AGES, dtype=float)
    out = np.zeros(N_AGES)
    edges = [span[0], *[b for b in sorted(breaks) if span[0] < b <= span[1]], span[1] + 1]
    for lo, hi in itertools.pairwise(edges):
        inside = (anchor_ages >= lo) & (anchor_ages < hi)
        xs, ys = anchor_ages[inside], anchor_values[inside]
        if not len(xs):
            raise DataError(f"employment schedule: no anchor between ages {lo} and {hi - 1}")
        seg = (ages >= lo) & (ages < hi)
        part = np.interp(ages[seg], xs, ys)
        if len(xs) > 1:
            low = ages[seg] < xs[0]
            part[low] = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (ages[seg][low] - xs[0])
            high = ages[seg] > xs[-1]
            slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
            part[high] = ys[-1] + slope * (ages[seg][high] - xs[-1])
        out[seg] = part
    return np.clip(out, 0.0, 1.0)


def schedule_from_groups(
    groups: Sequence[tuple[Group, float]],
    weights: np.ndarray | None = None,
    anchors: Iterable[tuple[float, float, int]] = (),
    *,
    breaks: Sequence[int] = (),
    iterations: int = 500,
) -> np.ndarray:
    """Single-age rates (A,) whose weighted group means equal the groups' rates.

    ``groups`` are disjoint (group, rate) pairs; each group's rate is anchored at its
    mid-point unless ``anchors`` give the group's own anchor points (age, relative value,
    index of the group), e.g. published single ages inside a group. The schedule is
    :func:`_interpolate` through the anchors (a jump allowed at each age of ``breaks``
    where a group starts), 0 outside the groups' span; anchors of a group are scaled
    together until its ``weights``-weighted mean (equal weights if None) matches its
    rate. Raises if the groups overlap or the means do not converge.
    """
    if not groups:
        raise DataError("schedule_from_groups: no age groups")
    spans = sorted(g for g, _ in groups)
    for (_, hi), (lo, _) in itertools.pairwise(spans):
        if lo <= hi:
            raise DataError(f"schedule_from_groups: age groups overlap: {spans}")
    w = np.ones(N_AGES) if weights is None else np.asarray(weights, dtype=float)
    breaks = [b for b in breaks if b in {lo for lo, _ in spans}]
    own = list(anchors)
    points: list[tuple[float, float, int]] = []
    for i, (group, rate) in enumerate(groups):
        mine = [(a, v) for a, v, g in own if g == i]
        if not mine:
            mine = [((group[0] + group[1]) / 2, 1.0)]
        top = max(v for _, v in mine)
        points += [(a, rate * v / top if top > 0 else rate, i) for a, v in mine]
    points.sort()
    ages = np.array([p[0] for p in points])
    values = np.array([p[1] for p in points])
    owner = np.array([p[2] for p in points], dtype=int)
    span = (spans[0][0], spans[-1][1])
    worst = np.inf
    for _ in range(iterations):
        schedule = _interpolate(ages, values, span, breaks)
        worst = 0.0
        for i, ((lo, hi), rate) in enumerate(groups):
            ww = w[lo : hi + 1] if w[lo : hi + 1].sum() > 0 else np.ones(hi - lo + 1)
            mean = float((schedule[lo : hi + 1] * ww).sum() / ww.sum())
            if rate == 0 or mean <= 0:
                values[owner == i] = rate
                worst = max(worst, 0.0 if rate == 0 else 1.0)
                continue
            worst = max(worst, abs(mean / rate - 1))
            values[owner == i] *= rate / mean
        if worst < 1e-10:
            return _interpolate(ages, values, span, breaks)
    raise DataError(f"schedule_from_groups: group means did not converge ({worst:.2g})")


def finest(groups: Iterable[Group]) -> list[Group]:
    """The groups that contain no other group of the list (drops totals like 15-74)."""
    unique = sorted(set(groups))
    return [g for g in unique if not any(o != g and g[0] <= o[0] and o[1] <= g[1] for o in unique)]


def _combine(rows: pd.DataFrame, group: Group, weights: np.ndarray, sexes: Sequence[int]) -> float:
    """Rate of ``group`` from the rows' own row for it, else from its finest sub-groups
    weighted by population; NaN if they do not cover it."""
    exact = rows[(rows["lo"] == group[0]) & (rows["hi"] == group[1])]
    if len(exact):
        return float(exact["rate"].iloc[0])
    inside = rows[(rows["lo"] >= group[0]) & (rows["hi"] <= group[1])]
    parts = finest(zip(inside["lo"], inside["hi"], strict=True))
    if sum(hi - lo + 1 for lo, hi in parts) != group[1] - group[0] + 1:
        return float("nan")
    num = den = 0.0
    for lo, hi in parts:
        rate = float(inside[(inside["lo"] == lo) & (inside["hi"] == hi)]["rate"].iloc[0])
        pop = float(weights[list(sexes), lo : hi + 1].sum())
        num, den = num + rate * pop, den + pop
    return num / den if den > 0 else float("nan")


# ---------------------------------------------------------------------------------------
# step 1: the shape
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """The age-sex shape and what it was built from."""

    rates: np.ndarray  # (S, A), 0 outside 15-74
    group_rates: pd.DataFrame  # sex, lo, hi, participation, ratio, employment
    ratios: pd.DataFrame  # sex, lo, hi (broad group), ratio, years


def employment_shape(sources: EmploymentSources, weights: Callable[[int], np.ndarray]) -> Shape:
    """Step 1 of the module docstring: the age-sex shape of employment (S, A)."""
    part = sources.participation[sources.participation["sex"].isin(SEXES)]
    aku = sources.aku[sources.aku["sex"].isin(SEXES)]
    if part.empty or aku.empty:
        raise DataError("employment shape: needs AKU participation and employment by sex")
    broad = sorted(set(zip(aku["lo"], aku["hi"], strict=True)))
    common = sorted(set(part["year"]) & set(aku["year"]))
    if not common:
        raise DataError("employment shape: no year with both AKU participation and employment")
    ratio_rows = []
    for s, sex in enumerate(SEXES):
        for group in broad:
            values = []
            for year in common:
                rows_p = part[(part["sex"] == sex) & (part["year"] == year)]
                rows_e = aku[
                    (aku["sex"] == sex)
                    & (aku["year"] == year)
                    & (aku["lo"] == group[0])
                    & (aku["hi"] == group[1])
                ]
                p = _combine(rows_p, group, weights(year), [s])
                if len(rows_e) and np.isfinite(p) and p > 0:
                    values.append(float(rows_e["rate"].iloc[0]) / p)
            if values:
                ratio_rows.append(
                    {
                        "sex": sex,
                        "lo": group[0],
                        "hi": group[1],
                        "ratio": float(np.mean(values)),
                        "years": len(values),
                    }
                )
    ratios = pd.DataFrame(ratio_rows)
    w = weights(SHAPE_YEAR)
    rates = np.zeros((len(SEXES), N_AGES))
    group_rows = []
    for s, sex in enumerate(SEXES):
        mine = part[part["sex"] == sex]
        fine = finest(zip(mine["lo"], mine["hi"], strict=True))
        groups: list[tuple[Group, float]] = []
        for group in fine:
            level = mine[(mine["lo"] == group[0]) & (mine["hi"] == group[1])]["rate"].mean()
            # the smallest broad group with a ratio that contains this group
            owners = ratios[
                (ratios["sex"] == sex) & (ratios["lo"] <= group[0]) & (ratios["hi"] >= group[1])
            ]
            if owners.empty:
                raise DataError(f"employment shape: no AKU broad group contains {group} ({sex})")
            owner = owners.assign(width=owners["hi"] - owners["lo"]).sort_values("width").iloc[0]
            groups.append((group, float(level * owner["ratio"])))
            group_rows.append(
                {
                    "sex": sex,
                    "lo": group[0],
                    "hi": group[1],
                    "participation": float(level),
                    "ratio": float(owner["ratio"]),
                    "ratio_group": f"{owner['lo']}-{owner['hi']}",
                    "employment": float(level * owner["ratio"]),
                }
            )
        anchors = _older_anchors(sources.older, sex, groups)
        rates[s] = schedule_from_groups(groups, w[s], anchors, breaks=(PENSION_AGE,))
    return Shape(rates, pd.DataFrame(group_rows), ratios)


def _older_anchors(
    older: pd.DataFrame, sex: str, groups: list[tuple[Group, float]]
) -> list[tuple[float, float, int]]:
    """Anchor points (age, relative value, group index) from the AKU 2004 table: its
    finest groups and single ages lying inside one participation group (55-66)."""
    rows = older[older["sex"] == sex]
    anchors = []
    for lo, hi in finest(zip(rows["lo"], rows["hi"], strict=True)):
        for i, ((glo, ghi), _) in enumerate(groups):
            if glo <= lo and hi <= ghi and (glo, ghi) != (lo, hi):
                rate = float(rows[(rows["lo"] == lo) & (rows["hi"] == hi)]["rate"].iloc[0])
                anchors.append(((lo + hi) / 2, rate, i))
    # a group needs anchors covering it; one anchor alone would make it flat: keep >= 2
    counts = pd.Series([g for _, _, g in anchors]).value_counts()
    return [a for a in anchors if counts[a[2]] >= 2]


# ---------------------------------------------------------------------------------------
# step 2: levels by year
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A rate the schedule must reproduce in a year: sexes (indices), ages, rate, source."""

    sexes: tuple[int, ...]
    group: Group
    rate: float
    source: str
    published: bool  # True: the year has the published value; False: interpolated/derived


def _basis() -> np.ndarray:
    """Hat functions (K, A) on :data:`KNOTS`, flat beyond the first and last knot."""
    ages = np.arange(N_AGES, dtype=float)
    eye = np.eye(len(KNOTS))
    return np.stack([np.interp(ages, KNOTS, eye[k]) for k in range(len(KNOTS))])


def calibrate(
    shape: np.ndarray, weights: np.ndarray, targets: Sequence[Target]
) -> tuple[np.ndarray, np.ndarray]:
    """Step 2 for one year: rates (S, A) = shape x factor, the factor piecewise linear in
    age per sex; its knot values c are the least change from 1 (min ||c - 1||) that
    reproduces every target's population-weighted rate. Returns (rates, c (S, K))."""
    basis = _basis()
    n_s, n_k = shape.shape[0], len(KNOTS)
    rows, goal = [], []
    for t in targets:
        lo, hi = t.group
        row = np.zeros(n_s * n_k)
        den = weights[list(t.sexes), lo : hi + 1].sum()
        if den <= 0:
            raise DataError(f"employment schedule: no population aged {lo}-{hi} for a target")
        for s in t.sexes:
            contrib = weights[s, lo : hi + 1] * shape[s, lo : hi + 1]
            row[s * n_k : (s + 1) * n_k] = basis[:, lo : hi + 1] @ contrib / den
        rows.append(row)
        goal.append(t.rate)
    c = np.ones(n_s * n_k)
    if rows:
        a, b = np.array(rows), np.array(goal)
        c = c + np.linalg.pinv(a) @ (b - a @ c)  # the least-norm change that meets them
    factors = c.reshape(n_s, n_k)
    rates = np.clip(shape * (factors @ basis), 0.0, 1.0)
    return rates, factors


def yearly(points: dict[int, float], years: Iterable[int]) -> dict[int, float]:
    """Values for ``years``: linear between the points' years, flat beyond their ends."""
    known = sorted(points)
    xs = np.array(known, dtype=float)
    ys = np.array([points[y] for y in known])
    return {int(y): float(np.interp(float(y), xs, ys)) for y in years}


def _nearest(years: Iterable[int], year: int) -> int:
    return min(years, key=lambda y: (abs(y - year), y))


def target_series(
    sources: EmploymentSources,
    shape: Shape,
    weights: Callable[[int], np.ndarray],
) -> dict[tuple[str, Group], dict[int, tuple[float, int, str]]]:
    """The published series by (sex, nominal group): year -> (rate, first age, source).

    By sex: AKU's broad groups; in AKU participation years without AKU employment the
    participation of the group x the shape's ratio; in the register's years its
    both-sexes rate of the group (its finest groups combined) x the male/female ratio
    to both sexes of the nearest AKU year. Both sexes: Eurostat 55-64.
    """
    series: dict[tuple[str, Group], dict[int, tuple[float, int, str]]] = {}
    aku = sources.aku[sources.aku["sex"].isin(SEXES)]
    for row in aku.itertuples(index=False):
        series.setdefault((row.sex, (row.lo, row.hi)), {})[row.year] = (row.rate, row.lo, "AKU")
    ratios = shape.ratios.set_index(["sex", "lo", "hi"])["ratio"]
    part = sources.participation[sources.participation["sex"].isin(SEXES)]
    for (sex, group), values in list(series.items()):
        s = SEXES.index(sex)
        for year in sorted(set(part["year"]) - set(aku["year"])):
            rows = part[(part["sex"] == sex) & (part["year"] == year)]
            p = _combine(rows, group, weights(year), [s])
            if np.isfinite(p) and (sex, *group) in ratios.index:
                values[year] = (p * ratios[(sex, *group)], group[0], "AKU participation x ratio")
    register = sources.register[sources.register["sex"] == "both"]
    for year in sorted(set(register["year"])):
        rows = register[register["year"] == year]
        youngest = int(rows["lo"].min())
        for (_sex, group), values in list(series.items()):
            if year in values:
                continue
            # 2003-2004 start at 16 (16-74, 16-19): the series from 15 take that first age
            actual = (youngest if group[0] < youngest <= group[0] + 1 else group[0], group[1])
            both = _combine(rows, actual, weights(year), (0, 1))
            if not np.isfinite(both):
                continue
            ref = _nearest([y for y, v in values.items() if v[2] != REGISTER_SPLIT], year)
            m = series[("male", group)][ref][0]
            f = series[("female", group)][ref][0]
            # the AKU year's sex ratio, weighted so that the two sexes average to the
            # register's rate with the register year's population
            w = weights(year)
            pm, pf = (
                w[SEXES.index(x), actual[0] : actual[1] + 1].sum() for x in ("male", "female")
            )
            ref_both = (m * pm + f * pf) / (pm + pf)
            own = values[ref][0]
            values[year] = (both * own / ref_both, actual[0], REGISTER_SPLIT)
    euro = sources.eurostat
    for row in euro.itertuples(index=False):
        series.setdefault((row.sex, (row.lo, row.hi)), {})[row.year] = (
            row.rate,
            row.lo,
            "Eurostat",
        )
    return series


def build_schedule(
    sources: EmploymentSources,
    population: pd.DataFrame,
    years: Iterable[int],
    report: BuildReport,
) -> pd.DataFrame:
    """The schedule (year, sex, age 0-105, employment_rate) from parsed sources."""
    years = sorted(int(y) for y in years)
    if not years:
        raise DataError("employment schedule: no years asked for")
    weights = population_weights(population)
    shape = employment_shape(sources, weights)
    series = target_series(sources, shape, weights)
    sex_index = {**{s: (i,) for i, s in enumerate(SEXES)}, "both": (0, 1)}
    schedules: dict[int, np.ndarray] = {}
    errors = []
    for year in years:
        targets = []
        for (sex, group), values in series.items():
            rate = yearly({y: v[0] for y, v in values.items()}, [year])[year]
            lo = values[year if year in values else _nearest(values, year)][1]
            source = values[year][2] if year in values else "interpolated"
            targets.append(Target(sex_index[sex], (lo, group[1]), rate, source, year in values))
        w = weights(year)
        schedules[year], _ = calibrate(shape.rates, w, targets)
        for t, (sex, _group) in zip(targets, series, strict=True):
            got = group_rate(schedules[year], w, t.group, t.sexes)
            errors.append(
                {
                    "year": year,
                    "sex": sex,
                    "group": f"{t.group[0]}-{t.group[1]}",
                    "source": t.source,
                    "target": t.rate,
                    "schedule": got,
                    "error_pp": 100 * (got - t.rate),
                }
            )
    out = pd.concat(
        [
            pd.DataFrame(
                {
                    "year": year,
                    "sex": sex,
                    "age": np.arange(N_AGES),
                    "employment_rate": schedules[year][s],
                }
            )
            for year in years
            for s, sex in enumerate(SEXES)
        ],
        ignore_index=True,
    )
    _report(report, sources, shape, pd.DataFrame(errors), compare(sources, schedules, weights))
    return out


def compare(
    sources: EmploymentSources,
    schedules: dict[int, np.ndarray],
    weights: Callable[[int], np.ndarray],
) -> pd.DataFrame:
    """Published rates next to the schedule's (nearest year): every register group (both
    sexes) and the AKU 2004 rates of ages 50-66 by sex, most of them not calibrated."""
    rows = []
    sex_index = {**{s: (i,) for i, s in enumerate(SEXES)}, "both": (0, 1)}
    for name, frame in (("register", sources.register), ("AKU 2004", sources.older)):
        for r in frame.itertuples(index=False):
            year = _nearest(schedules, r.year)
            got = group_rate(schedules[year], weights(year), (r.lo, r.hi), sex_index[r.sex])
            rows.append(
                {
                    "source": name,
                    "year": r.year,
                    "sex": r.sex,
                    "lo": r.lo,
                    "hi": r.hi,
                    "published": r.rate,
                    "schedule": got,
                    "diff_pp": 100 * (got - r.rate),
                }
            )
    columns = ["source", "year", "sex", "lo", "hi", "published", "schedule", "diff_pp"]
    return pd.DataFrame(rows, columns=columns)


def employment_schedule(
    raw: RawData, population: pd.DataFrame, years: Iterable[int], report: BuildReport
) -> pd.DataFrame:
    """The national employment schedule for ``years`` from the raw files (see the module
    docstring); ``population`` (by year, sex, age; places are summed) gives the weights."""
    return build_schedule(read_sources(raw), population, years, report)


def _report(
    report: BuildReport,
    sources: EmploymentSources,
    shape: Shape,
    errors: pd.DataFrame,
    comparison: pd.DataFrame,
) -> None:
    g = shape.group_rates
    text = "; ".join(
        f"{r.sex} {r.lo}-{r.hi} {100 * r.participation:.1f} x {r.ratio:.3f} = "
        f"{100 * r.employment:.1f} %"
        for r in g.itertuples(index=False)
    )
    part_years = sorted(set(sources.participation["year"]))
    years = sorted(set(errors["year"]))
    report.note(
        "Employment schedule (employment_rates, by year, sex and single age), step 1, the "
        "shape: AKU labour-force participation by sex and age group (mean of "
        f"{part_years}) x the AKU employed/labour-force ratio of the smallest broad group "
        f"containing it (mean of the years with both tables): {text}. Inside 55-66 the AKU "
        "2004 rates of 55-59 and of single ages 60-66 give the profile. Single ages: "
        "piecewise linear between group mid-points and those single ages, linear beyond "
        f"the outer ones, a jump allowed at {PENSION_AGE} (67-74 flat), 0 outside "
        f"{WORK_MIN}-{WORK_MAX}, rescaled until each group's mean weighted with the "
        f"{SHAPE_YEAR} national population equals its rate."
    )
    report.note(
        "Employment schedule, step 2, the levels: each year the shape x a factor piecewise "
        f"linear in age (knots at ages {[int(k) for k in KNOTS]}, per sex; the least change "
        "from 1) reproduces, weighted with that year's national population, 15-74, 15-24 "
        "and 25-66 by sex (AKU 2011-2017, 15-74 also 2019-2020; 2009-2010 AKU participation "
        "x the ratio; 2003-2006 the register-based rates, published for both sexes (16-74 "
        "and 16-24 in 2003-2004), split by the male/female ratio of the nearest AKU year) "
        "and 55-64 of both sexes (Eurostat 2005-2024). Each series is interpolated linearly "
        f"between its years and carried flat beyond its ends ({years[0]}-{years[-1]}). AKU "
        "rates are annual averages, register rates 4th quarter; population is 1 January."
    )
    published = errors[errors["source"] != "interpolated"]
    for source, rows in published.groupby("source"):
        span = f"{rows['year'].min()}-{rows['year'].max()}"
        report.checks[f"employment schedule: {source} {span} reproduced, max abs error (pp)"] = (
            float(rows["error_pp"].abs().max())
        )
    report.checks["employment schedule: every target incl. interpolated, max abs error (pp)"] = (
        float(errors["error_pp"].abs().max())
    )
    for name, label in (
        ("register", "register 2003-2006 age groups, both sexes"),
        ("AKU 2004", "AKU 2004 ages 50-66 by sex"),
    ):
        rows = comparison[comparison["source"] == name]
        if len(rows):
            report.checks[
                f"employment schedule vs {label} (mostly not calibrated), max abs diff (pp)"
            ] = float(rows["diff_pp"].abs().max())
            report.checks[f"employment schedule vs {label}, RMS diff (pp)"] = float(
                np.sqrt((rows["diff_pp"] ** 2).mean())
            )
    examples = [
        ("AKU", 2014, "male", "15-74"),
        ("Eurostat", 2005, "both", "55-64"),
        ("AKU participation x ratio", 2009, "female", "25-66"),
    ]
    for source, year, sex, group in examples:
        row = published[
            (published["year"] == year) & (published["sex"] == sex) & (published["group"] == group)
        ]
        if len(row):
            r = row.iloc[0]
            ok = "within" if abs(r["error_pp"]) <= TOLERANCE_PP else "NOT within"
            report.note(
                f"employment schedule: {group} {sex} {year} reproduces {source} "
                f"{100 * r['target']:.1f} % {ok} {TOLERANCE_PP} pp ({100 * r['schedule']:.2f} %)"
            )
    reg = comparison[
        (comparison["source"] == "register")
        & (comparison["hi"] == WORK_MAX)
        & (comparison["lo"] <= WORK_MIN + 1)
    ]
    for r in reg.itertuples(index=False):
        if r.year in (2003, 2006):
            report.note(
                f"employment schedule: {r.lo}-{r.hi} both sexes {r.year} gives "
                f"{100 * r.schedule:.2f} % against the register's {100 * r.published:.1f} %"
            )
