"""Aggregate place-level counts to groups of places (regions, counties), MODEL.md 1 and 2.1.

The model is estimated at region level: jobs, population, migration and commuting are
summed over the member municipalities before features are computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from attrbayes.exceptions import DataError
from attrbayes.features._common import as_mapping_series, fmt, require_columns


def aggregate_places(
    df: pd.DataFrame,
    mapping: pd.Series | Mapping[str, str],
    *,
    value_columns: Sequence[str],
    column: str = "place",
) -> pd.DataFrame:
    """Sum counts over the places of each group: ``X[g, ...] = sum_{p in g} X[p, ...]``.

    Codes in ``column`` are replaced by their group codes from ``mapping`` and the
    ``value_columns`` are summed over every combination of the remaining (non-value)
    columns. A group sum with a missing member value is missing (NaN).

    Parameters
    ----------
    df
        Long table, e.g. jobs (place, year, sector, jobs).
    mapping
        Code -> group code (e.g. place -> region ``"R1101"``), a Series or a mapping.
    value_columns
        Additive count columns to sum.
    column
        Column holding the codes to map; it keeps its name and now holds group codes.

    Returns
    -------
    pd.DataFrame
        Same columns in the same order, one row per group and key combination, sorted by
        the key columns.

    Raises
    ------
    DataError
        If ``column`` or a value column is absent, or codes have no group (naming them).
    """
    value_columns = list(value_columns)
    if column in value_columns:
        raise DataError(f"column {column!r} cannot be both the code column and a value column")
    require_columns(df, "input", (column, *value_columns))
    groups = as_mapping_series(mapping, f"'{column}'")
    codes = df[column].astype(str)
    mapped = codes.map(groups)
    unmapped = sorted({str(c) for c in codes[mapped.isna()]})
    if unmapped:
        raise DataError(
            f"column '{column}' has codes with no group in the mapping: {fmt(unmapped)}"
        )
    keys = [c for c in df.columns if c not in value_columns]
    work = df.assign(**{column: mapped.astype("str")})
    out = work.groupby(keys, sort=True, dropna=False)[value_columns].sum(skipna=False).reset_index()
    return out[list(df.columns)]


def aggregate_commuting(
    commuting: pd.DataFrame, mapping: pd.Series | Mapping[str, str]
) -> pd.DataFrame:
    """Aggregate a commuting table to groups: ``n[g,h] = sum_{i in g, j in h} n[i,j]``.

    Both ``residence`` and ``workplace`` are mapped; ``employed`` is summed (MODEL.md 2.1:
    for a region, VRA uses commuting aggregated to regions, so flows between members of
    one region become its own-region share).

    Parameters
    ----------
    commuting
        Table with columns year, residence, workplace, employed.
    mapping
        Place code -> group code.

    Returns
    -------
    pd.DataFrame
        Columns year, residence, workplace, employed with group codes.
    """
    require_columns(commuting, "commuting", ("year", "residence", "workplace", "employed"))
    step = aggregate_places(commuting, mapping, value_columns=["employed"], column="residence")
    return aggregate_places(step, mapping, value_columns=["employed"], column="workplace")


def aggregate_rate(
    rates: pd.DataFrame,
    weights: pd.DataFrame,
    mapping: pd.Series | Mapping[str, str],
    *,
    value: str,
) -> pd.DataFrame:
    """Weighted mean of a rate over the places of each group.

    ``r[g,t] = sum_{p in g} w[p,t] r[p,t] / sum_{p in g} w[p,t]``: a group's growth rate is
    its members' rates weighted by their base (e.g. the industry effect by private jobs).

    Parameters
    ----------
    rates
        Columns place, year and ``value``.
    weights
        Columns place, year, weight (non-negative), covering every row of ``rates``.
    mapping
        Place code -> group code.
    """
    require_columns(rates, "rates", ("place", "year", value))
    require_columns(weights, "weights", ("place", "year", "weight"))
    both = rates.merge(weights, on=["place", "year"], how="left")
    if both["weight"].isna().any():
        cells = both.loc[both["weight"].isna(), ["place", "year"]].itertuples(index=False)
        raise DataError(f"aggregate_rate: no weight for (place, year) = {fmt(list(cells))}")
    both["weighted"] = both[value] * both["weight"]
    sums = aggregate_places(
        both[["place", "year", "weighted", "weight"]], mapping, value_columns=["weighted", "weight"]
    )
    sums[value] = sums["weighted"] / sums["weight"]
    return sums[["place", "year", value]]
