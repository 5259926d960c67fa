"""Centrality regressor and its aggregation to groups of places, MODEL.md 2.2."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from attrbayes.exceptions import DataError
from attrbayes.features._common import as_mapping_series, fmt


def _check_series(s: pd.Series, what: str) -> None:
    if s.index.has_duplicates:
        raise DataError(
            f"{what} has duplicated places {fmt(sorted(set(s.index[s.index.duplicated()])))}"
        )
    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(f"{what} is missing or not finite for places {fmt(list(s.index[bad]))}")


def scaled_centrality(index: pd.Series) -> pd.Series:
    """Centrality as used in the regression: ``C[i] = c[i]/1000 - mean_k(c[k]/1000)``.

    The mean is the unweighted mean over the units given (MODEL.md 2.2), so pass all
    units of the estimation level (e.g. all regions, after :func:`group_centrality`).

    Parameters
    ----------
    index
        SSB centrality index (0-1000) indexed by place.

    Returns
    -------
    pd.Series
        Same index and name; mean 0.
    """
    _check_series(index, "centrality index")
    scaled = index.astype(float) / 1000.0
    return scaled - scaled.mean()


def group_centrality(
    index: pd.Series,
    population: pd.Series,
    mapping: pd.Series | Mapping[str, str],
) -> pd.Series:
    """Population-weighted mean centrality of each group (MODEL.md 2.2).

    ``c[g] = sum_{i in g} pop[i] c[i] / sum_{i in g} pop[i]``.

    Parameters
    ----------
    index
        Centrality index of each member place, indexed by place.
    population
        Population weights of the same places, indexed by place.
    mapping
        Place -> group code.

    Returns
    -------
    pd.Series
        Indexed by group code (index name ``place``: groups are the units of the
        aggregated tables), sorted, with the name of ``index``.

    Raises
    ------
    DataError
        If ``index`` and ``population`` do not cover the same places, values are missing
        or negative, places are unmapped, or a group has zero population.
    """
    _check_series(index, "centrality index")
    _check_series(population, "population")
    idx = index.index.astype(str)
    pop_idx = population.index.astype(str)
    missing, extra = sorted(set(idx) - set(pop_idx)), sorted(set(pop_idx) - set(idx))
    if missing or extra:
        raise DataError(
            f"centrality index and population cover different places: population lacks "
            f"{fmt(missing)}, centrality lacks {fmt(extra)}"
        )
    pop = pd.Series(population.to_numpy(dtype=float), index=pop_idx).reindex(idx)
    if (pop < 0).any():
        raise DataError(f"population is negative for places {fmt(list(pop.index[pop < 0]))}")
    groups = as_mapping_series(mapping, "place -> group")
    member = pd.Series(idx, index=idx).map(groups)
    if member.isna().any():
        raise DataError(f"places have no group in the mapping: {fmt(list(idx[member.isna()]))}")
    frame = pd.DataFrame(
        {
            "group": member.astype(str).to_numpy(),
            "wc": pop.to_numpy() * index.to_numpy(dtype=float),
            "w": pop.to_numpy(),
        }
    )
    sums = frame.groupby("group", sort=True)[["wc", "w"]].sum()
    zero = sums.index[sums["w"] == 0]
    if len(zero):
        raise DataError(f"groups {fmt(list(zero))} have zero population; weighted mean undefined")
    out = sums["wc"] / sums["w"]
    out.index = pd.Index(out.index, name="place", dtype="str")
    out.name = index.name
    return out
