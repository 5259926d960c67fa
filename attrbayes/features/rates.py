"""Migration and population-growth rates: the dependent variable NM (MODEL.md 2) and the
population effect of the job equation (MODEL.md 4), plus the students share (MODEL.md 2.4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrbayes.exceptions import DataError, MissingTableError
from attrbayes.features._common import (
    fmt,
    long_frame,
    require_columns,
    require_finite,
    require_unique,
    wide_years,
)
from attrbayes.features.vra import relative_growth


def _population_levels(population_totals: pd.DataFrame) -> tuple[list[str], list[int], np.ndarray]:
    years = wide_years(population_totals, "population_totals")
    values = population_totals[years].to_numpy(dtype=float, na_value=np.nan)
    places = [str(p) for p in population_totals.index]
    bad = ~np.isfinite(values)
    if bad.any():
        cells = [(places[i], years[t]) for i, t in np.argwhere(bad)]
        raise DataError(f"population_totals is missing for (place, year) = {fmt(cells)}")
    neg = values < 0
    if neg.any():
        cells = [(places[i], years[t]) for i, t in np.argwhere(neg)]
        raise DataError(f"population_totals is negative for (place, year) = {fmt(cells)}")
    return places, years, values


def net_migration_rate(
    components: pd.DataFrame,
    population_totals: pd.DataFrame,
    immigration: pd.DataFrame,
) -> pd.DataFrame:
    """Relative net migration, the dependent variable of MODEL.md 2.

    ``nm_raw[i,t] = net_migration[i,t] / population[i, 1 Jan t]`` and
    ``nm = nm_raw - national_rate[t]``, the national net immigration rate of year t.

    Parameters
    ----------
    components
        Columns place, year, net_migration (domestic + international, during year t).
    population_totals
        Wide place x year frame of total population on 1 January.
    immigration
        Columns year, net_immigration_rate.

    Returns
    -------
    pd.DataFrame
        place, year, net_migration, population, nm_raw, national_rate, nm; one row per
        row of ``components``, sorted by place and year.

    Raises
    ------
    DataError
        If a place-year lacks population (or has 0), the immigration table lacks a year,
        or values are missing (naming the place-years / years).
    """
    require_columns(components, "components", ("place", "year", "net_migration"))
    require_columns(immigration, "immigration", ("year", "net_immigration_rate"))
    require_unique(components, "components", ("place", "year"))
    require_finite(components, "components", "net_migration", ("place", "year"))
    require_unique(immigration, "immigration", ("year",))
    require_finite(immigration, "immigration", "net_immigration_rate", ("year",))
    wide_years(population_totals, "population_totals")

    comp = components.sort_values(["place", "year"], ignore_index=True)
    places = comp["place"].astype(str).to_numpy(dtype=object)
    years = comp["year"].to_numpy(dtype=np.int64)

    pop_wide = population_totals.copy()
    pop_wide.index = pd.Index(pop_wide.index.astype(str), name="place")
    pop_wide.columns = pd.Index([int(c) for c in pop_wide.columns], name="year")
    row = pop_wide.index.get_indexer(places)
    col = pop_wide.columns.get_indexer(years)
    pop = np.full(len(comp), np.nan)
    found = (row >= 0) & (col >= 0)
    pop[found] = pop_wide.to_numpy(dtype=float, na_value=np.nan)[row[found], col[found]]
    bad = ~np.isfinite(pop) | (pop <= 0)
    if bad.any():
        cells = list(zip(places[bad], years[bad].tolist(), strict=True))
        raise DataError(
            f"population_totals has no positive 1 January population for (place, year) = "
            f"{fmt(cells)} needed by the components table"
        )

    rates = pd.Series(
        immigration["net_immigration_rate"].to_numpy(dtype=float),
        index=immigration["year"].astype(np.int64).to_numpy(),
    )
    lacking = sorted(set(years.tolist()) - set(rates.index.tolist()))
    if lacking:
        raise DataError(f"immigration table has no net_immigration_rate for years {fmt(lacking)}")
    national = rates.reindex(years).to_numpy()

    net = comp["net_migration"].to_numpy(dtype=float)
    nm_raw = net / pop
    return pd.DataFrame(
        {
            "place": pd.array(places, dtype="str"),
            "year": years,
            "net_migration": net,
            "population": pop,
            "nm_raw": nm_raw,
            "national_rate": national,
            "nm": nm_raw - national,
        }
    )


def relative_population_growth(population_totals: pd.DataFrame) -> pd.DataFrame:
    """Population growth relative to the nation (MODEL.md 4, population effect).

    ``r[i,t] = (P[i,t] - P[i,t-1]) / P[i,t-1] - (sum_i P[i,t] / sum_i P[i,t-1] - 1)``,
    with ``P`` the 1 January population, so ``r[i,t]`` is growth during year t-1.

    Parameters
    ----------
    population_totals
        Wide place x year frame (consecutive integer years) of 1 January population.

    Returns
    -------
    pd.DataFrame
        Wide place x year frame; the first year is NaN.

    Raises
    ------
    DataError
        If values are missing or negative or a base population is 0 (naming the cells).
    """
    places, years, values = _population_levels(population_totals)
    zero = values[:, :-1] == 0
    if zero.any():
        cells = [(places[i], years[t + 1]) for i, t in np.argwhere(zero)]
        raise DataError(
            f"population_totals: growth is undefined because the previous year's population "
            f"is 0 for (place, year) = {fmt(cells)}"
        )
    return pd.DataFrame(
        relative_growth(values),
        index=pd.Index(places, name="place", dtype="str"),
        columns=pd.Index(years, name="year", dtype=np.int64),
    )


def lagged_population_growth(population_totals: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """Mean relative population growth over the previous ``window`` years (MODEL.md 4).

    ``pop_growth_lag[i,t] = mean(r[i,t], r[i,t-1], ..., r[i,t-window+1])`` with ``r`` from
    :func:`relative_population_growth`; since ``r[i,t]`` is growth from 1 January t-1 to
    1 January t, this is the mean over the ``window`` calendar years before year t.

    Parameters
    ----------
    population_totals
        Wide place x year frame of 1 January population.
    window
        Number of years averaged (>= 1).

    Returns
    -------
    pd.DataFrame
        Long frame place, year, pop_growth_lag for every place and year; NaN where the
        window reaches before the first growth year.
    """
    if int(window) < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    window = int(window)
    rel = relative_population_growth(population_totals)
    values = rel.to_numpy(dtype=float)
    out = np.full(values.shape, np.nan)
    if values.shape[1] >= window:
        windows = np.lib.stride_tricks.sliding_window_view(values, window, axis=1)
        out[:, window - 1 :] = windows.mean(axis=-1)
    return long_frame(list(rel.index), [int(y) for y in rel.columns], pop_growth_lag=out)


def students_share(places: pd.DataFrame) -> pd.Series:
    """Registered students / population of each place (the ``students`` term, MODEL.md 2.4).

    Parameters
    ----------
    places
        The places table (place, ..., students_share).

    Returns
    -------
    pd.Series
        ``students_share`` indexed by place.

    Raises
    ------
    MissingTableError
        If the places table has no ``students_share`` column.
    DataError
        If values are missing or places are duplicated.
    """
    require_columns(places, "places", ("place",))
    if "students_share" not in places.columns:
        raise MissingTableError(
            "the places table has no 'students_share' column, which is needed for the "
            "'students' term; add it to places.parquet or drop the term from the model"
        )
    require_unique(places, "places", ("place",))
    require_finite(places, "places", "students_share", ("place",))
    return pd.Series(
        places["students_share"].to_numpy(dtype=float),
        index=pd.Index(places["place"].astype(str), name="place", dtype="str"),
        name="students_share",
    )
