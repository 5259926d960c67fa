"""Shift-share industry effect of the private job growth equation, MODEL.md 4."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrbayes.exceptions import DataError
from attrbayes.features._common import (
    check_consecutive,
    fmt,
    long_frame,
    require_columns,
    require_finite,
    require_nonnegative,
    require_unique,
)


def industry_effect_array(jobs: np.ndarray, national: np.ndarray | None = None) -> np.ndarray:
    """Shift-share industry effect (MODEL.md 4).

    ``effect[p,t] = sum_k s[p,k,t-1] (g_k[t] - G[t])`` with local industry shares
    ``s[p,k,t-1] = jobs[p,k,t-1] / sum_k jobs[p,k,t-1]``, national industry growth
    ``g_k[t] = sum_p jobs[p,k,t] / sum_p jobs[p,k,t-1] - 1`` and national total private
    growth ``G[t]``.

    Parameters
    ----------
    jobs
        Shape (P, K, T): private jobs by place, industry and consecutive year.
    national
        Shape (K, T): the nation's jobs by industry, when it has more places than
        ``jobs`` (default: ``jobs`` summed over places).

    Returns
    -------
    np.ndarray
        Shape (P, T). Column 0 is NaN; a place with 0 private jobs at t-1 is NaN at t.
        An industry with 0 national jobs at t-1 has no jobs anywhere, so its growth is
        undefined but its share is 0 everywhere: it contributes 0.
    """
    x = np.asarray(jobs, dtype=float)
    if x.ndim != 3:
        raise DataError(f"jobs must have shape (places, industries, years), got {x.shape}")
    p, _, t = x.shape
    out = np.full((p, t), np.nan)
    if t < 2:
        return out
    nat = x.sum(axis=0) if national is None else np.asarray(national, dtype=float)  # (K, T)
    prev = x[:, :, :-1]
    local_prev = prev.sum(axis=1)  # (P, T-1)
    nat_k_prev, nat_k_cur = nat[:, :-1], nat[:, 1:]  # (K, T-1)
    nat_prev, nat_cur = nat_k_prev.sum(axis=0), nat_k_cur.sum(axis=0)  # (T-1,)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(local_prev[:, None, :] != 0, prev / local_prev[:, None, :], np.nan)
        g_k = np.where(nat_k_prev != 0, (nat_k_cur - nat_k_prev) / nat_k_prev, np.nan)
        g = np.where(nat_prev != 0, (nat_cur - nat_prev) / nat_prev, np.nan)
    diff = np.where(nat_k_prev != 0, g_k - g, 0.0)  # (K, T-1)
    out[:, 1:] = (share * diff[None, :, :]).sum(axis=1)
    return out


def industry_effect(jobs_industry: pd.DataFrame) -> pd.DataFrame:
    """Industry effect of every place and year from the jobs_industry table (MODEL.md 4).

    See :func:`industry_effect_array` for the formula; national values are computed over
    all places in the table. Industry rows absent for a place-year count as 0 jobs.

    Parameters
    ----------
    jobs_industry
        Columns place, year, industry, jobs (private jobs at the workplace).

    Returns
    -------
    pd.DataFrame
        Long frame place, year, industry_effect, sorted; the first year is NaN.

    Raises
    ------
    DataError
        If years are not consecutive, a place has no rows in some year, values are
        missing or negative, or a place has 0 private jobs in a base year (naming the
        place-years).
    """
    key = ("place", "year", "industry")
    require_columns(jobs_industry, "jobs_industry", (*key, "jobs"))
    require_unique(jobs_industry, "jobs_industry", key)
    require_finite(jobs_industry, "jobs_industry", "jobs", key)
    require_nonnegative(jobs_industry, "jobs_industry", "jobs", key)
    years = check_consecutive(jobs_industry["year"], "jobs_industry")
    place_s = jobs_industry["place"].astype(str)
    ind_s = jobs_industry["industry"].astype(str)
    places = sorted(place_s.unique())
    industries = sorted(ind_s.unique())
    pi = pd.Index(places).get_indexer(place_s)
    ki = pd.Index(industries).get_indexer(ind_s)
    ti = jobs_industry["year"].to_numpy(dtype=np.int64) - years[0]

    seen = np.zeros((len(places), len(years)), dtype=bool)
    seen[pi, ti] = True
    if not seen.all():
        cells = [(places[i], years[t]) for i, t in np.argwhere(~seen)]
        raise DataError(
            f"jobs_industry table has no rows for (place, year) = {fmt(cells)}; every place "
            "needs every year"
        )
    x = np.zeros((len(places), len(industries), len(years)))
    x[pi, ki, ti] = jobs_industry["jobs"].to_numpy(dtype=float)
    zero = x.sum(axis=1)[:, :-1] == 0
    if zero.any():
        cells = [(places[i], years[t + 1]) for i, t in np.argwhere(zero)]
        raise DataError(
            f"jobs_industry table: the industry effect is undefined because the previous "
            f"year has 0 private jobs for (place, year) = {fmt(cells)}"
        )
    return long_frame(places, years, industry_effect=industry_effect_array(x))
