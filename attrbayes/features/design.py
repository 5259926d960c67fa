"""The design: one long frame of dependent variable and regressors per unit and year.

OLS and Bayesian fits read the same :class:`Design`, so their estimates line up term by
term. Features are computed at the chosen level; for regions and counties the counts
(population, components, jobs, commuting) are aggregated first and the rates computed
from the sums (MODEL.md 2.1-2.2), centrality and students share are population-weighted
means. At every level the unit code sits in the ``place`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
    """Compute the dependent variable and every regressor the panel's tables allow."""
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
    """

    frame: pd.DataFrame
    terms: tuple[str, ...]
    level: str
    spec_name: str
    years: tuple[int, int]
    label: str = "all"
    kind: str = "migration"

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

    def matrix(self, *, intercept: bool = True) -> pd.DataFrame:
        """The regressor matrix with named columns (``intercept`` first when asked)."""
        X = self.frame[list(self.terms)].astype(float)
        if intercept:
            X.insert(0, "intercept", 1.0)
        return X

    @property
    def n(self) -> int:
        return len(self.frame)

    def subset_years(self, first: int, last: int) -> Design:
        keep = self.frame["year"].between(first, last)
        if not keep.any():
            raise DataError(f"design {self.spec_name}: no rows in years {first}-{last}")
        return Design(
            self.frame[keep].reset_index(drop=True),
            self.terms,
            self.level,
            self.spec_name,
            (first, last),
            self.label,
            self.kind,
        )


def build_design(
    features: Features,
    spec: ModelSpec,
    *,
    years: tuple[int, int] | None = None,
    subpopulation: tuple[str, str] | None = None,
) -> Design:
    """Select the spec's terms for a year window; every row must be complete.

    Without ``years`` the window is the longest run of years in which the dependent
    variable and every term are available for all units (the two-year VRA lag makes it
    start three years after the first year with jobs). Asking for years outside that
    window is an error naming the years and terms that are missing, never a silent drop.
    """
    features.require(spec.terms)
    frame = features.frame.copy()
    if spec.centrality == "jobs" and "centrality" in spec.terms:
        features.require(["centrality_jobs"])
        frame["centrality"] = frame["centrality_jobs"]
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
    if years is None:
        years = _longest_run([int(y) for y, ok in complete.items() if ok])
        if years is None:
            raise DataError(
                f"spec {spec.name}: no year has the dependent variable and all of "
                f"{list(spec.terms)}"
            )
    first, last = years
    wanted = range(first, last + 1)
    absent = [y for y in wanted if y not in complete.index]
    incomplete = [y for y in wanted if y in complete.index and not complete[y]]
    if absent or incomplete:
        window = frame[frame["year"].isin(incomplete)]
        lacking = [c for c in needed if window[c].isna().any()]
        raise DataError(
            f"spec {spec.name}: years {first}-{last} are not all available at level "
            f"{features.level}: years without data {absent}, years with missing "
            f"{lacking} {incomplete}. Available: {_ranges(complete)}"
        )
    rows = frame[frame["year"].between(first, last)]
    columns = ["place", "year", "y", *spec.terms, *OUTCOME_COLUMNS[spec.kind]]
    columns += [c for c in DECOMPOSITION_COLUMNS[spec.kind] if c in rows.columns]
    columns += [c for c in ("name", "region", "county", "centrality_class") if c in rows.columns]
    return Design(
        rows[columns].reset_index(drop=True),
        tuple(spec.terms),
        features.level,
        spec.name,
        (first, last),
        label,
        spec.kind,
    )


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


def _longest_run(years: list[int]) -> tuple[int, int] | None:
    runs: list[tuple[int, int]] = []
    for y in sorted(years):
        if runs and y == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], y)
        else:
            runs.append((y, y))
    return max(runs, key=lambda r: (r[1] - r[0], r[1])) if runs else None


def _ranges(complete: pd.Series) -> str:
    ok = [int(y) for y, v in complete.items() if v]
    run = _longest_run(ok)
    return f"{run[0]}-{run[1]}" if run else "none"
