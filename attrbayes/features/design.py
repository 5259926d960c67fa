"""The design: one long frame of dependent variable and regressors per unit and year.

OLS and Bayesian fits read the same :class:`Design`, so their estimates line up term by
term. Features are computed at the chosen level; for regions and counties the counts
(population, components, jobs, commuting) are aggregated first and the rates computed
from the sums (MODEL.md 2.1-2.2), centrality and students share are population-weighted
means. At every level the unit code sits in the ``place`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from attrbayes.config import ModelSpec, check_level
from attrbayes.constants import AGE_GROUPS, MAX_AGE
from attrbayes.data.panel import Panel
from attrbayes.exceptions import DataError, MissingTableError
from attrbayes.features.aggregate import aggregate_commuting, aggregate_places, aggregate_rate
from attrbayes.features.centrality import group_centrality, scaled_centrality
from attrbayes.features.demographic_supply import demographic_supply
from attrbayes.features.job_growth import private_base, relative_private_growth
from attrbayes.features.rates import lagged_population_growth, net_migration_rate
from attrbayes.features.shift_share import industry_effect
from attrbayes.features.vital import expected_births_deaths
from attrbayes.features.vra import commuting_weight_matrices, relative_job_growth, vra_lags
from attrbayes.terms import CONTEXTUAL_SUFFIX

VRA_TERMS = ("vra_t", "vra_t1", "vra_t2")
# Per model kind: the base of the dependent rate, and the columns a design carries with it.
SIZE_COLUMN = {"migration": "population", "jobs": "private_jobs_lag"}
OUTCOME_COLUMNS = {
    "migration": ("population", "net_migration", "national_rate"),
    "jobs": ("private_jobs_lag", "private_growth", "national_private_growth", "population"),
}
# Carried along when the panel has them, so that a saved fit can be decomposed alone.
DECOMPOSITION_COLUMNS = {
    "migration": ("vra_own_t", "vra_own_t1", "vra_own_t2", "births", "deaths",
                  "expected_births", "expected_deaths"),
    "jobs": (),
}  # fmt: skip
_COUNT_COLUMNS = {
    "population": ["population"],
    "components": ["births", "deaths", "net_migration", "net_migration_domestic",
                   "net_migration_international"],
    "jobs": ["jobs"],
    "jobs_industry": ["jobs"],
    "migration_groups": ["net_migration"],
}  # fmt: skip


@dataclass(frozen=True)
class LevelData:
    """Panel tables at one level: counts summed to units, unit attributes recomputed."""

    level: str
    units: pd.DataFrame  # place, name, region, county, centrality[, centrality_jobs, ...]
    tables: dict[str, pd.DataFrame]
    panel: Panel

    def population_totals(self) -> pd.DataFrame:
        pop = self.tables["population"]
        return pop.pivot_table(index="place", columns="year", values="population", aggfunc="sum")


def level_data(panel: Panel, level: str) -> LevelData:
    """Aggregate a panel's count tables to ``level`` (municipality returns them as is)."""
    check_level(level)
    places = panel.places
    if level == "municipality":
        return LevelData(level, places.copy(), dict(panel.tables), panel)
    group_col = "region" if level == "region" else "county"
    mapping = places.set_index("place")[group_col]
    tables: dict[str, pd.DataFrame] = {}
    for name, df in panel.tables.items():
        if name in _COUNT_COLUMNS:
            values = [c for c in _COUNT_COLUMNS[name] if c in df.columns]
            tables[name] = aggregate_places(df, mapping, value_columns=values)
        elif name == "commuting":
            tables[name] = aggregate_commuting(df, mapping)
        elif name == "industry_effect":
            weights = private_base(panel.tables["jobs"]) if panel.has("jobs") else None
            if weights is None:
                raise MissingTableError(
                    "aggregating the industry effect to groups weights places by private "
                    "jobs; the panel has no 'jobs' table"
                )
            tables[name] = aggregate_rate(df, weights, mapping, value="industry_effect")
        elif name != "places":
            tables[name] = df
    weight = panel.population_totals().mean(axis=1)
    index = places.set_index("place")
    units = pd.DataFrame(index=pd.Index(sorted(mapping.unique()), name="place"))
    largest = index.assign(w=weight).sort_values("w", ascending=False).groupby(group_col)
    units["name"] = largest["name"].first()
    units["region"] = units.index
    units["county"] = largest["county"].first() if level == "region" else units.index
    for col in ("centrality", "centrality_jobs", "students_share"):
        if col in index.columns:
            units[col] = group_centrality(index[col], weight, mapping)
    return LevelData(level, units.reset_index(), tables, panel)


@dataclass(frozen=True)
class Features:
    """Every feature the panel supports at one level, plus why the others are missing."""

    level: str
    frame: pd.DataFrame  # place, year, nm, population, net_migration, vra_*, ds, ...
    data: LevelData
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def units(self) -> pd.DataFrame:
        return self.data.units

    def require(self, terms: Sequence[str]) -> None:
        absent = {t: self.missing[t] for t in terms if t in self.missing}
        if absent:
            reasons = "; ".join(f"'{t}': {why}" for t, why in absent.items())
            raise MissingTableError(f"the panel cannot provide term(s) {list(absent)}: {reasons}")


def compute_features(panel: Panel, level: str = "municipality") -> Features:
    """Compute the dependent variable and every regressor the panel's tables allow.

    Parameters
    ----------
    panel
        A validated panel.
    level
        "municipality", "region" or "county": counts are summed to the level first.

    Returns
    -------
    Features
        One row per unit and year (relative net migration, VRA and its lags,
        centrality, DS, job growth, ...) and a note of each regressor the panel lacks.
    """
    data = level_data(panel, level)
    units = data.units
    codes = units["place"].tolist()
    totals = data.population_totals().reindex(codes)
    missing: dict[str, str] = {}

    if not (panel.has("components") and panel.has("immigration")):
        raise MissingTableError(
            "relative net migration (the dependent variable) needs the 'components' and "
            "'immigration' tables (components.parquet, immigration.parquet)"
        )
    frame = net_migration_rate(data.tables["components"], totals, data.tables["immigration"])
    frame = frame[frame["year"].isin(totals.columns)]

    jobs_total = None
    if panel.has("jobs"):
        jobs_total = data.tables["jobs"].groupby(["place", "year"], as_index=False)["jobs"].sum()
    if jobs_total is not None and panel.has("commuting"):
        ra = relative_job_growth(data.tables["jobs"]).reindex(codes)
        # growth into a break year compares two different sources: leave it undefined
        breaks = [y for y in panel.manifest.series_breaks.get("jobs", ()) if y in ra.columns]
        ra[breaks] = np.nan
        weights = commuting_weight_matrices(data.tables["commuting"], codes, list(ra.columns))
        frame = frame.merge(vra_lags(ra, weights), on=["place", "year"], how="left")
        # the own-place part w[i,i] RA[i,t] of each lag, for the growth decomposition
        own = vra_lags(ra, weights, own_only=True)
        frame = frame.merge(own, on=["place", "year"], how="left")
    else:
        for term in VRA_TERMS:
            missing[term] = "needs the 'jobs' and 'commuting' tables"

    ds_tables = ("employment_rates", "mortality", "jobs")
    if jobs_total is not None and all(panel.has(t) for t in ds_tables):
        ds = demographic_supply(
            data.tables["population"],
            data.tables["employment_rates"],
            data.tables["mortality"],
            jobs_total,
        )
        frame = frame.merge(ds[["place", "year", "ds"]], on=["place", "year"], how="left")
    else:
        lacking = [t for t in ds_tables if not panel.has(t)]
        missing["ds"] = f"needs the {lacking} table(s)"

    frame = _add_job_growth(frame, data, panel, totals, missing)
    comp = data.tables["components"][["place", "year", "births", "deaths"]]
    frame = frame.merge(comp, on=["place", "year"], how="left")
    if panel.has("fertility") and panel.has("mortality"):
        expected = expected_births_deaths(
            data.tables["population"], data.tables["fertility"], data.tables["mortality"]
        )
        frame = frame.merge(expected, on=["place", "year"], how="left")

    attrs = units.set_index("place")
    frame["centrality"] = frame["place"].map(scaled_centrality(attrs["centrality"]))
    if "centrality_jobs" in attrs.columns:
        frame["centrality_jobs"] = frame["place"].map(scaled_centrality(attrs["centrality_jobs"]))
    else:
        missing["centrality_jobs"] = "places.parquet has no 'centrality_jobs' column"
    if "students_share" in attrs.columns:
        frame["students"] = frame["place"].map(attrs["students_share"])
    else:
        missing["students"] = "places.parquet has no 'students_share' column"
    for col in ("name", "region", "county", "centrality_class"):
        if col in attrs.columns:
            frame[col] = frame["place"].map(attrs[col])
    return Features(level=level, frame=frame.reset_index(drop=True), data=data, missing=missing)


def _add_job_growth(
    frame: pd.DataFrame,
    data: LevelData,
    panel: Panel,
    totals: pd.DataFrame,
    missing: dict[str, str],
) -> pd.DataFrame:
    """Columns of the private job growth equation (MODEL.md 4) and why any are missing."""
    pop_lag = lagged_population_growth(totals)
    frame = frame.merge(pop_lag, on=["place", "year"], how="left")
    if panel.has("jobs") and (panel.tables["jobs"]["sector"] == "private").any():
        growth = relative_private_growth(data.tables["jobs"])
        frame = frame.merge(growth, on=["place", "year"], how="left")
    else:
        missing["jg"] = "needs private jobs (sector 'private') in the 'jobs' table"
    if panel.has("jobs_industry"):
        effect = industry_effect(data.tables["jobs_industry"])
        frame = frame.merge(effect, on=["place", "year"], how="left")
    elif panel.has("industry_effect"):
        frame = frame.merge(data.tables["industry_effect"], on=["place", "year"], how="left")
    else:
        missing["industry_effect"] = "needs the 'jobs_industry' or 'industry_effect' table"
    return frame


@dataclass(frozen=True)
class Design:
    """Dependent variable ``y`` and regressors ``terms`` per unit and year.

    ``frame`` holds place, year, y, the term columns, population, net_migration, region
    and county. ``label`` names the sub-population when the dependent variable is one.
    ``years`` is the window (first and last fitted year); years inside it without rows
    (``gaps``, e.g. after a series break) are not fitted, but year effects and the
    centrality process run through them. ``left_out`` says, for every year asked for
    and not fitted, why. ``year_rates`` is the national net immigration rate of every
    year of the window (the centrality process's immigration link needs the gap years).
    ``notes`` says where the data made the design differ from the spec's wish (e.g. the
    full centrality index standing in for the job-only one).
    """

    frame: pd.DataFrame
    terms: tuple[str, ...]
    level: str
    spec_name: str
    years: tuple[int, int]
    label: str = "all"
    kind: str = "migration"
    left_out: tuple[tuple[int, str], ...] = ()
    year_rates: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def size_column(self) -> str:
        """The base the rate ``y`` is relative to: population or last year's private jobs."""
        return SIZE_COLUMN[self.kind]

    @property
    def size(self) -> np.ndarray:
        return self.frame[self.size_column].to_numpy(dtype=float)

    @property
    def y(self) -> np.ndarray:
        return self.frame["y"].to_numpy(dtype=float)

    @property
    def window(self) -> np.ndarray:
        """Every year from the first to the last fitted one, gap years included."""
        return np.arange(self.years[0], self.years[1] + 1)

    @property
    def fitted_years(self) -> np.ndarray:
        return np.sort(self.frame["year"].unique()).astype(int)

    @property
    def gaps(self) -> tuple[int, ...]:
        """Years inside the window without rows."""
        return tuple(int(y) for y in np.setdiff1d(self.window, self.fitted_years))

    def national_rates(self) -> np.ndarray:
        """National net immigration rate per window year (NaN where unknown)."""
        if len(self.year_rates) == len(self.window):
            return np.asarray(self.year_rates, dtype=float)
        if "national_rate" not in self.frame.columns:
            return np.full(len(self.window), np.nan)
        rates = self.frame.groupby("year")["national_rate"].first()
        return rates.reindex(self.window).to_numpy(dtype=float)

    def years_text(self) -> str:
        """``2006-2022`` plus the gap years, e.g. ``2006-2022 without 2017-2019``."""
        text = f"{self.years[0]}-{self.years[1]}"
        return f"{text} without {year_ranges(self.gaps)}" if self.gaps else text

    def left_out_text(self) -> str:
        """The notes, then one line per run of left-out years with the same reason."""
        runs: list[tuple[list[int], str]] = []
        for year, why in self.left_out:
            if runs and runs[-1][1] == why and runs[-1][0][-1] == year - 1:
                runs[-1][0].append(year)
            else:
                runs.append(([year], why))
        lines = [f"left out {year_ranges(ys)}: {why}" for ys, why in runs]
        return "\n".join([*self.notes, *lines])

    def matrix(self, *, intercept: bool = True) -> pd.DataFrame:
        """The regressor matrix with named columns (``intercept`` first when asked)."""
        X = self.frame[list(self.terms)].astype(float)
        if intercept:
            X.insert(0, "intercept", 1.0)
        return X

    @property
    def n(self) -> int:
        return len(self.frame)

    def without_contextual(self) -> Design:
        """The design without contextual (place-mean) terms: the book's pooled equation,
        whose OLS residuals are its attractiveness."""
        terms = tuple(t for t in self.terms if not t.endswith(CONTEXTUAL_SUFFIX))
        return replace(self, terms=terms)

    def subset_years(self, first: int, last: int) -> Design:
        """The design on ``first``-``last``; contextual place means recomputed there, so
        that they never see years outside the window."""
        keep = self.frame["year"].between(first, last)
        if not keep.any():
            raise DataError(f"design {self.spec_name}: no rows in years {first}-{last}")
        frame = with_place_means(self.frame[keep].reset_index(drop=True), self.terms)
        lo, hi = int(frame["year"].min()), int(frame["year"].max())
        rates = self.national_rates()[(self.window >= lo) & (self.window <= hi)]
        left = tuple((y, why) for y, why in self.left_out if lo <= y <= hi)
        return replace(self, frame=frame, years=(lo, hi), left_out=left,
                       year_rates=tuple(float(r) for r in rates))  # fmt: skip


def build_design(
    features: Features,
    spec: ModelSpec,
    *,
    years: tuple[int, int] | None = None,
    subpopulation: tuple[str, str] | None = None,
) -> Design:
    """Select the spec's terms for a year window, fitting every year whose rows are complete.

    A year is fitted when the dependent variable and every term exist for all units.
    Without ``years`` the window runs from the first to the last such year; with
    ``years`` it is narrowed to the fitted years inside it. Years in between that are
    not complete (e.g. the three years of VRA lags after a jobs series break) become
    gaps, and every year asked for and left out is listed in ``Design.left_out`` with
    its reason, never dropped silently. A window with no complete year is an error.
    """
    features.require(spec.terms)
    frame = features.frame.copy()
    notes: tuple[str, ...] = ()
    if spec.centrality != "full" and "centrality" in spec.terms:
        if spec.centrality == "jobs" or "centrality_jobs" not in features.missing:
            features.require(["centrality_jobs"])
            frame["centrality"] = frame["centrality_jobs"]
        else:
            notes = (
                "centrality: the full SSB index stands in for the job-only index, which "
                f"the panel does not have ({features.missing['centrality_jobs']})",
            )
    label = "all"
    if spec.kind == "jobs":
        features.require(["jg"])
        if subpopulation is not None:
            raise DataError("sub-population fits exist for net migration only")
        frame["y"] = frame["jg"]
    elif subpopulation is None:
        frame["y"] = frame["nm"]
    else:
        frame["y"] = (
            _subpopulation_rate(features, subpopulation)
            .reindex(pd.MultiIndex.from_frame(frame[["place", "year"]]))
            .to_numpy()
        )
        label = f"{subpopulation[0]} {subpopulation[1]}"
    needed = ["y", *spec.terms]
    complete = frame[needed].notna().all(axis=1).groupby(frame["year"]).all()
    available = [int(y) for y, ok in complete.items() if ok]
    if not available:
        raise DataError(
            f"spec {spec.name}: no year has the dependent variable and all of "
            f"{list(spec.terms)} at level {features.level}"
        )
    first, last = years if years is not None else (available[0], available[-1])
    if first > last:
        raise DataError(f"years {first}-{last}: the first year is after the last")
    fitted = [y for y in available if first <= y <= last]
    if not fitted:
        raise DataError(
            f"spec {spec.name}: no year in {first}-{last} has the dependent variable and "
            f"all of {list(spec.terms)} at level {features.level}. Available: "
            f"{year_ranges(available)}"
        )
    left_out = tuple(
        (y, _why_left_out(frame, needed, y, features)) for y in range(first, last + 1)
        if y not in fitted
    )  # fmt: skip
    lo, hi = fitted[0], fitted[-1]
    rows = with_place_means(frame[frame["year"].isin(fitted)], spec.design_terms)
    columns = ["place", "year", "y", *spec.design_terms, *OUTCOME_COLUMNS[spec.kind]]
    columns += [c for c in DECOMPOSITION_COLUMNS[spec.kind] if c in rows.columns]
    columns += [c for c in ("name", "region", "county", "centrality_class") if c in rows.columns]
    columns = list(dict.fromkeys(columns))  # a term may be an attribute column too
    rates: tuple[float, ...] = ()
    if "national_rate" in frame.columns:
        by_year = frame.groupby("year")["national_rate"].first().reindex(range(lo, hi + 1))
        rates = tuple(float(r) for r in by_year)
    return Design(
        rows[columns].reset_index(drop=True),
        spec.design_terms,
        features.level,
        spec.name,
        (lo, hi),
        label,
        spec.kind,
        left_out,
        rates,
        notes,
    )


def with_place_means(frame: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    """``frame`` with each contextual term ``{term}_mean`` of ``terms`` set to the place's
    mean of ``term`` over the frame's rows (the fitted years)."""
    contextual = [t for t in terms if t.endswith(CONTEXTUAL_SUFFIX)]
    if not contextual:
        return frame
    means = {t: frame.groupby("place")[t.removesuffix(CONTEXTUAL_SUFFIX)].transform("mean")
             for t in contextual}  # fmt: skip
    return frame.assign(**means)


def _why_left_out(frame: pd.DataFrame, needed: list[str], year: int, features: Features) -> str:
    """Why ``year`` is not fitted: no rows, or which columns are missing (and a jobs
    series break when one explains the missing VRA lags)."""
    rows = frame[frame["year"] == year]
    if rows.empty:
        return "no data for this year in the panel"
    units = rows["place"].nunique()
    lacking = [c for c in needed if rows[c].isna().any()]
    text = "; ".join(f"{'the dependent variable' if c == 'y' else c} missing for "
                     f"{int(rows[c].isna().sum())} of {units} units" for c in lacking)  # fmt: skip
    breaks = features.data.panel.manifest.series_breaks.get("jobs", ())
    hit = [b for b in breaks if 0 <= year - b <= 2]
    if hit and any(c in VRA_TERMS for c in lacking):
        text += f" (the jobs series breaks at {hit[0]}: growth across it is undefined)"
    return text


def _subpopulation_rate(features: Features, group: tuple[str, str]) -> pd.Series:
    """Relative net migration of one sex / age group, indexed by (place, year).

    rate = net migration of the group / group population on 1 January, minus the
    national rate of the same group (all units summed)."""
    sex, age_group = group
    data = features.data
    if "migration_groups" not in data.tables:
        raise MissingTableError(
            "sub-population fits need the 'migration_groups' table (migration_groups.parquet)"
        )
    groups = data.tables["migration_groups"]
    sel = groups[(groups["sex"] == sex) & (groups["age_group"] == age_group)]
    if sel.empty:
        raise DataError(
            f"migration_groups.parquet has no rows for sex={sex!r}, age_group={age_group!r}"
        )
    lo, hi = AGE_GROUPS.get(age_group, (0, MAX_AGE))
    pop = data.tables["population"]
    pop = pop[pop["age"].between(lo, hi) & ((pop["sex"] == sex) | (sex == "total"))]
    denom = pop.groupby(["place", "year"])["population"].sum()
    num = sel.set_index(["place", "year"])["net_migration"]
    both = pd.concat({"nm": num, "pop": denom}, axis=1, join="inner")
    national = both.groupby(level="year").sum()
    rate = both["nm"] / both["pop"]
    national_rate = (national["nm"] / national["pop"]).reindex(both.index.get_level_values("year"))
    return rate - national_rate.to_numpy()


def year_ranges(years: Sequence[int]) -> str:
    """Years as compact ranges: ``2006-2016, 2020-2022``."""
    runs: list[list[int]] = []
    for y in sorted(int(y) for y in years):
        if runs and y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in runs) or "none"
