"""Demographic employment supply (DS, demografisk sysselsettingstilgang), MODEL.md 2.3.

How much the local labour force grows just because residents age one year, net of the
labour force lost to deaths, per job and relative to the national value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrbayes.constants import AGES, DS_AGE_MAX, DS_AGE_MIN, SEXES
from attrbayes.exceptions import DataError
from attrbayes.features._common import (
    fmt,
    nearest_year,
    require_columns,
    require_finite,
    require_nonnegative,
    require_unique,
    sex_codes,
)

N_AGES = len(AGES)


def ds_absolute(pop: np.ndarray, employment: np.ndarray, death_prob: np.ndarray) -> np.ndarray:
    """Absolute demographic employment supply (MODEL.md 2.3).

    ``DS_abs = sum_s sum_{a=14..74} pop[s,a] (e[s,a+1] - e[s,a]) - pop[s,a] q[s,a] e[s,a]``

    with ages from ``DS_AGE_MIN`` to ``DS_AGE_MAX`` inclusive.

    Parameters
    ----------
    pop
        Population, shape (..., S, A) with A = 106 single ages 0..105.
    employment
        National employment rates ``e``, shape (S, A) or broadcastable to ``pop``.
    death_prob
        National death probabilities ``q``, shape (S, A) or broadcastable to ``pop``
        (e.g. (Y, S, A) varying by year).

    Returns
    -------
    np.ndarray
        Shape ``pop.shape[:-2]`` (broadcast with the leading axes of the rates).
    """
    p = np.asarray(pop)
    p = p if p.dtype in (np.float32, np.float64) else p.astype(float)
    e = np.asarray(employment, dtype=float)
    q = np.asarray(death_prob, dtype=float)
    for name, arr in (("pop", p), ("employment", e), ("death_prob", q)):
        if arr.ndim < 2 or arr.shape[-1] != N_AGES:
            raise DataError(
                f"{name} must have shape (..., sexes, {N_AGES} ages), got shape {arr.shape}"
            )
    ages = slice(DS_AGE_MIN, DS_AGE_MAX + 1)
    older = slice(DS_AGE_MIN + 1, DS_AGE_MAX + 2)
    e_a = e[..., ages]
    per_person = (e[..., older] - e_a) - q[..., ages] * e_a
    # one pass without a full-size temporary (the projection calls this on draws x places)
    return np.einsum("...sa,...sa->...", p[..., ages], per_person.astype(p.dtype))


def _sex_age_array(
    df: pd.DataFrame, table: str, column: str, lead: list[str]
) -> tuple[list[tuple], np.ndarray]:
    """Scatter a long (lead..., sex, age, value) table into (N, S, A); absent cells are 0."""
    sex = sex_codes(df["sex"])
    if (sex < 0).any():
        unknown = sorted(map(str, pd.unique(df["sex"].astype(str)[sex < 0])))
        raise DataError(f"{table} table has sex values {unknown}; allowed {list(SEXES)}")
    ages = df["age"].to_numpy()
    bad_age = (ages < 0) | (ages > AGES[-1])
    if bad_age.any():
        raise DataError(
            f"{table} table has ages outside 0-{AGES[-1]}: {fmt(sorted(set(ages[bad_age])))}"
        )
    codes = np.zeros(len(df), dtype=np.intp)
    levels: list[np.ndarray] = []
    for col in lead:
        col_codes, uniques = pd.factorize(df[col], sort=True)
        codes = codes * len(uniques) + col_codes
        levels.append(np.asarray(uniques, dtype=object))
    used, codes = np.unique(codes, return_inverse=True)
    labels: list[tuple] = [()] * len(used)
    if lead and len(used):
        sizes = [len(u) for u in levels]
        parts = np.unravel_index(used, sizes)
        labels = list(zip(*(u[i] for u, i in zip(levels, parts, strict=True)), strict=True))
    out = np.zeros((len(labels), len(SEXES), N_AGES))
    out[codes, sex, ages.astype(np.intp)] = df[column].to_numpy(dtype=float)
    return labels, out


def demographic_supply(
    population: pd.DataFrame,
    employment_rates: pd.DataFrame,
    mortality: pd.DataFrame,
    jobs: pd.DataFrame,
) -> pd.DataFrame:
    """Demographic employment supply per job, relative to the nation (MODEL.md 2.3).

    ``ds_abs`` is :func:`ds_absolute` of the place's 1 January population by sex and age,
    ``ds_share = ds_abs / jobs`` and ``ds = ds_share - sum(ds_abs) / sum(jobs)``, the
    national value summing over all places of that year.

    Parameters
    ----------
    population
        Columns place, year, sex, age, population (absent sex-age cells are 0).
    employment_rates
        National rates: sex, age, employment_rate; ages absent are 0. Both sexes needed.
        With a year column, one schedule per year: a place-year uses the schedule of its
        year, else of the nearest year in the table (ties: the earlier year), like
        mortality; every year needs both sexes.
    mortality
        National death probabilities: year, sex, age, death_probability; must cover ages
        14-74 of both sexes in each year it has. A year without mortality uses the
        nearest year in the table (ties: the earlier year).
    jobs
        Long frame place, year, jobs: total jobs (all sectors) in the place.

    Returns
    -------
    pd.DataFrame
        place, year, ds_abs, ds_share, ds for the place-years present in both
        ``population`` and ``jobs``, sorted by place and year.

    Raises
    ------
    DataError
        On missing columns, duplicated keys, missing or negative values, incomplete
        rates, or a place-year with 0 jobs (naming the place-years).
    """
    require_columns(population, "population", ("place", "year", "sex", "age", "population"))
    require_columns(employment_rates, "employment_rates", ("sex", "age", "employment_rate"))
    require_columns(mortality, "mortality", ("year", "sex", "age", "death_probability"))
    require_columns(jobs, "jobs", ("place", "year", "jobs"))
    pop_key = ("place", "year", "sex", "age")
    require_unique(population, "population", pop_key)
    require_finite(population, "population", "population", pop_key)
    by_year = "year" in employment_rates.columns
    e_key = ("year", "sex", "age") if by_year else ("sex", "age")
    require_unique(employment_rates, "employment_rates", e_key)
    require_finite(employment_rates, "employment_rates", "employment_rate", e_key)
    require_unique(mortality, "mortality", ("year", "sex", "age"))
    require_finite(mortality, "mortality", "death_probability", ("year", "sex", "age"))
    require_unique(jobs, "jobs", ("place", "year"))
    require_finite(jobs, "jobs", "jobs", ("place", "year"))
    require_nonnegative(jobs, "jobs", "jobs", ("place", "year"))
    if mortality.empty:
        raise DataError("mortality table is empty; DS needs death probabilities")

    if employment_rates.empty:
        raise DataError("employment_rates table is empty; DS needs employment rates")
    missing_sex = sorted(set(SEXES) - set(employment_rates["sex"].astype(str)))
    if missing_sex:
        raise DataError(f"employment_rates table has no rows for sex {missing_sex}")
    e_lead = ["year"] if by_year else []
    e_years, e = _sex_age_array(employment_rates, "employment_rates", "employment_rate", e_lead)
    e_years = [int(y[0]) for y in e_years] if by_year else []
    if by_year:
        sexes = employment_rates.groupby("year")["sex"].agg(lambda s: set(s.astype(str)))
        lacking = [(int(y), sorted(set(SEXES) - got)) for y, got in sexes.items()
                   if set(SEXES) - got]  # fmt: skip
        if lacking:
            raise DataError(f"employment_rates table lacks a sex in (year, sexes) = {fmt(lacking)}")

    mort_years, q = _sex_age_array(mortality, "mortality", "death_probability", ["year"])
    mort_years = [int(y[0]) for y in mort_years]
    needed = mortality[(mortality["age"] >= DS_AGE_MIN) & (mortality["age"] <= DS_AGE_MAX)]
    counts = needed.groupby(["year", "sex"]).size()
    full = DS_AGE_MAX - DS_AGE_MIN + 1
    incomplete = [(y, s) for y in mort_years for s in SEXES if counts.get((y, s), 0) != full]
    if incomplete:
        raise DataError(
            f"mortality table lacks some ages {DS_AGE_MIN}-{DS_AGE_MAX} for (year, sex) = "
            f"{fmt(incomplete)}"
        )

    keys, pop = _sex_age_array(population, "population", "population", ["place", "year"])
    pop_keys = pd.MultiIndex.from_tuples(
        [(str(p), int(y)) for p, y in keys], names=["place", "year"]
    )
    job_keys = pd.MultiIndex.from_arrays(
        [jobs["place"].astype(str), jobs["year"].astype(np.int64)], names=["place", "year"]
    )
    job_values = pd.Series(jobs["jobs"].to_numpy(dtype=float), index=job_keys)
    keep = pop_keys.isin(job_keys)
    pop_keys, pop = pop_keys[keep], pop[keep]
    n_jobs = job_values.reindex(pop_keys).to_numpy()
    zero = n_jobs == 0
    if zero.any():
        raise DataError(
            f"jobs table has 0 jobs for (place, year) = {fmt(list(pop_keys[zero]))}; "
            "DS per job is undefined"
        )

    years = pop_keys.get_level_values("year").to_numpy()
    year_to_q = {y: mort_years.index(nearest_year(mort_years, y)) for y in set(years.tolist())}
    q_rows = np.array([year_to_q[y] for y in years.tolist()], dtype=np.intp)
    if by_year:
        year_to_e = {y: e_years.index(nearest_year(e_years, y)) for y in set(years.tolist())}
        e_rows = e[np.array([year_to_e[y] for y in years.tolist()], dtype=np.intp)]
    else:
        e_rows = e[0]
    ds_abs = ds_absolute(pop, e_rows, q[q_rows])

    frame = pd.DataFrame(
        {
            "place": pd.array(pop_keys.get_level_values("place").astype(str), dtype="str"),
            "year": years.astype(np.int64),
            "ds_abs": ds_abs,
            "jobs": n_jobs,
        }
    )
    national = frame.groupby("year")[["ds_abs", "jobs"]].transform("sum")
    frame["ds_share"] = frame["ds_abs"] / frame["jobs"]
    frame["ds"] = frame["ds_share"] - national["ds_abs"] / national["jobs"]
    frame = frame.sort_values(["place", "year"], ignore_index=True)
    return frame[["place", "year", "ds_abs", "ds_share", "ds"]]
