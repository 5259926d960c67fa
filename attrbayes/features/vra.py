"""Relative job growth (RA) and commuting-weighted relative job growth (VRA), MODEL.md 2.1.

Array-level cores (also used by the synthetic-data simulator):

* :func:`relative_growth` -- growth of each place minus national growth;
* :func:`commuting_weights` -- row-normalised commuting matrix (dense or sparse);
* :func:`weighted_growth` -- ``VRA[i,t] = sum_j w[i,j] RA[j,t]``.

Table-level wrappers: :func:`relative_job_growth`, :func:`commuting_weight_matrices` and
:func:`vra_lags`. A year's weights are kept sparse (:class:`CommutingWeights`): a place's
residents work in a few dozen places, so memory grows with the commuting pairs, not with
the square of the number of places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from attrbayes.exceptions import DataError
from attrbayes.features._common import (
    check_consecutive,
    fmt,
    long_frame,
    nearest_year,
    require_columns,
    require_finite,
    require_nonnegative,
    require_unique,
    wide_years,
)

_ROW_SUM_TOL = 1e-8

# -- array level ------------------------------------------------------------------------


def relative_growth(levels: np.ndarray) -> np.ndarray:
    """Growth of each place relative to national growth (MODEL.md 2.1, ``RA``).

    ``out[p, t] = (x[p,t] - x[p,t-1]) / x[p,t-1] - G[t]`` with national growth
    ``G[t] = sum_p x[p,t] / sum_p x[p,t-1] - 1`` over the places given.

    Parameters
    ----------
    levels
        Shape (P, T): places x consecutive years (e.g. jobs at the workplace).

    Returns
    -------
    np.ndarray
        Shape (P, T). Column 0 is NaN; a cell whose base ``x[p,t-1]`` is 0 is NaN
        (this function does not raise on it).
    """
    x = np.asarray(levels, dtype=float)
    if x.ndim != 2:
        raise DataError(f"levels must have shape (places, years), got shape {x.shape}")
    out = np.full(x.shape, np.nan)
    if x.shape[1] < 2:
        return out
    prev, cur = x[:, :-1], x[:, 1:]
    nat_prev, nat_cur = prev.sum(axis=0), cur.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.where(prev != 0, (cur - prev) / prev, np.nan)
        national = np.where(nat_prev != 0, (nat_cur - nat_prev) / nat_prev, np.nan)
    out[:, 1:] = local - national
    return out


def commuting_weights(counts: np.ndarray | sparse.sparray) -> np.ndarray | sparse.csr_array:
    """Row-normalise a commuting matrix: ``w[i,j] = n[i,j] / sum_j n[i,j]`` (MODEL.md 2.1).

    Parameters
    ----------
    counts
        Shape (P, P) (or (..., P, P) when dense): employed residents of place i (rows,
        residence) working in place j (columns, workplace). Finite and non-negative. A
        scipy sparse matrix gives a sparse CSR result.

    Returns
    -------
    np.ndarray or scipy.sparse.csr_array
        Same shape; every row sums to 1.

    Raises
    ------
    DataError
        If a row sums to 0 (a place with no employed residents), naming its row index,
        or if counts are negative or not finite.
    """
    if sparse.issparse(counts):
        n = sparse.csr_array(counts, dtype=float)
        n.sum_duplicates()
        values = n.data
    else:
        n = np.asarray(counts, dtype=float)
        values = n
    if n.ndim < 2 or n.shape[-1] != n.shape[-2]:
        raise DataError(f"commuting counts must have shape (P, P), got shape {n.shape}")
    for bad, what in ((~np.isfinite(values), "not finite"), (values < 0, "negative")):
        if bad.any():
            at = _indices(n, bad)
            raise DataError(f"commuting counts are {what} at indices {fmt(at)}")
    rows = np.asarray(n.sum(axis=-1)).reshape(n.shape[:-1])
    zero = rows == 0
    if zero.any():
        idx = [tuple(int(v) for v in i) if len(i) > 1 else int(i[0]) for i in np.argwhere(zero)]
        raise DataError(
            f"commuting counts: row index {fmt(idx)} sums to 0 (no employed residents), "
            "so commuting weights are undefined"
        )
    if sparse.issparse(n):
        w = n.copy()
        w.data = n.data / np.repeat(rows, np.diff(n.indptr))  # the dense form's divisions
        w.eliminate_zeros()  # also shares that underflow, as in the dense form
        return w
    return n / rows[..., None]


def _indices(n: np.ndarray | sparse.csr_array, bad: np.ndarray) -> list[tuple[int, ...]]:
    """(row, column) of the flagged cells of a dense matrix, or of a sparse one's data."""
    if not sparse.issparse(n):
        return [tuple(int(v) for v in i) for i in np.argwhere(bad)]
    coo = n.tocoo()  # same order as the CSR data after sum_duplicates
    return [(int(r), int(c)) for r, c in zip(coo.row[bad], coo.col[bad], strict=True)]


def weighted_growth(weights: np.ndarray, ra: np.ndarray) -> np.ndarray:
    """Commuting-weighted relative growth ``VRA[i,t] = sum_j w[i,j] RA[j,t]`` (MODEL.md 2.1).

    Parameters
    ----------
    weights
        Shape (P, P) (one matrix for all years, dense or scipy sparse) or (T, P, P)
        (one per year, dense); rows are residence places, columns workplace places.
    ra
        Shape (P, T): relative growth of each workplace place.

    Returns
    -------
    np.ndarray
        Shape (P, T). ``VRA[i,t]`` is NaN when some ``RA[j,t]`` with ``w[i,j] != 0`` is
        missing; a missing RA with zero weight does not matter.
    """
    w = weights if sparse.issparse(weights) else np.asarray(weights, dtype=float)
    r = np.asarray(ra, dtype=float)
    if r.ndim != 2:
        raise DataError(f"ra must have shape (places, years), got shape {r.shape}")
    p, t = r.shape
    if w.shape not in ((p, p), (t, p, p)):
        raise DataError(
            f"weights must have shape ({p}, {p}) or ({t}, {p}, {p}) to match ra of shape "
            f"{r.shape}, got shape {w.shape}"
        )
    missing = ~np.isfinite(r)
    filled = np.where(missing, 0.0, r)
    needed = (abs(w) > 0).astype(float)
    if w.ndim == 2:
        out = np.asarray(w @ filled)
        hit = needed @ missing.astype(float)
    else:
        out = np.einsum("tij,jt->it", w, filled)
        hit = np.einsum("tij,jt->it", needed, missing.astype(float))
    out[hit > 0] = np.nan
    return out


# -- table level ------------------------------------------------------------------------


def relative_job_growth(
    jobs: pd.DataFrame, *, sectors: Sequence[str] | None = None
) -> pd.DataFrame:
    """Relative job growth RA of each workplace place and year (MODEL.md 2.1).

    Jobs of the chosen ``sectors`` (default: all sectors in the table) are summed per
    place-year, then ``RA[j,t] = (jobs[j,t] - jobs[j,t-1]) / jobs[j,t-1] - G[t]`` with
    national growth ``G`` computed over all places in the table.

    Parameters
    ----------
    jobs
        Long table with columns place, year, sector, jobs (jobs at the WORKPLACE).
    sectors
        Sectors to include. A place-year present in the table but without rows for
        these sectors counts as 0 jobs.

    Returns
    -------
    pd.DataFrame
        Wide place x year frame of RA (index ``place``, integer ``year`` columns);
        the first year is NaN.

    Raises
    ------
    DataError
        If columns are missing, years are not consecutive, a place lacks a year, a
        requested sector is absent, values are missing or negative, or a place has 0
        jobs in a base year (growth undefined), naming the place-years.
    """
    require_columns(jobs, "jobs", ("place", "year", "sector", "jobs"))
    require_unique(jobs, "jobs", ("place", "year", "sector"))
    require_finite(jobs, "jobs", "jobs", ("place", "year", "sector"))
    require_nonnegative(jobs, "jobs", "jobs", ("place", "year", "sector"))
    years = check_consecutive(jobs["year"], "jobs")
    places = sorted(jobs["place"].astype(str).unique())

    present = jobs.groupby(["place", "year"]).size().unstack("year")
    present = present.reindex(index=places, columns=years)
    if present.isna().to_numpy().any():
        miss = present.isna().stack()
        miss = miss[miss].index.tolist()
        raise DataError(
            f"jobs table has no rows for (place, year) = {fmt(miss)}; every place needs "
            "every year to compute relative job growth"
        )

    if sectors is not None:
        sectors = list(sectors)
        unknown = sorted(set(sectors) - set(jobs["sector"].astype(str).unique()))
        if unknown:
            raise DataError(f"jobs table has no rows for sector(s) {unknown}")
        sel = jobs[jobs["sector"].isin(sectors)]
    else:
        sel = jobs
    totals = sel.groupby(["place", "year"])["jobs"].sum().unstack("year")
    totals = totals.reindex(index=places, columns=years).fillna(0.0)
    levels = totals.to_numpy(dtype=float)

    zero_base = levels[:, :-1] == 0
    if zero_base.any():
        bad = [(places[i], years[t + 1]) for i, t in np.argwhere(zero_base)]
        raise DataError(
            f"jobs table: growth is undefined because the previous year has 0 jobs "
            f"(sectors {sectors if sectors is not None else 'all'}) for (place, year) = "
            f"{fmt(bad)}"
        )
    ra = relative_growth(levels)
    return pd.DataFrame(
        ra,
        index=pd.Index(places, name="place", dtype="str"),
        columns=pd.Index(years, name="year", dtype=np.int64),
    )


@dataclass(frozen=True, eq=False)
class CommutingWeights:
    """One year's commuting weights, sparse: ``matrix[i, j]`` is the share of place
    ``places[i]``'s employed residents who work in place ``places[j]``; rows sum to 1.

    ``year`` is the commuting table's year the weights come from (for messages).
    """

    places: tuple[str, ...]
    matrix: sparse.csr_array
    year: int

    def __post_init__(self) -> None:
        p = len(self.places)
        if len(set(self.places)) != p:
            raise DataError(f"commuting weights of year {self.year} have duplicated places")
        if self.matrix.shape != (p, p):
            raise DataError(
                f"commuting weights of year {self.year} have shape {self.matrix.shape}, "
                f"expected ({p}, {p}) for {p} places"
            )
        if not np.isfinite(self.matrix.data).all():
            raise DataError(f"commuting weights of year {self.year} have missing values")
        sums = np.asarray(self.matrix.sum(axis=1)).ravel()
        bad = np.abs(sums - 1) > _ROW_SUM_TOL
        if bad.any():
            raise DataError(
                f"commuting weights of year {self.year}: rows do not sum to 1 for places "
                f"{fmt([self.places[i] for i in np.flatnonzero(bad)])}"
            )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, year: int) -> CommutingWeights:
        """Weights from a dense square frame (index residence, columns workplace)."""
        rows = [str(x) for x in frame.index]
        if rows != [str(x) for x in frame.columns]:
            raise DataError(
                f"commuting weights of year {year}: rows and columns must list the same "
                "places in the same order"
            )
        return cls(tuple(rows), sparse.csr_array(frame.to_numpy(dtype=float)), year)

    def to_frame(self) -> pd.DataFrame:
        """The weights as a dense labelled frame (for small panels and display)."""
        return pd.DataFrame(
            self.matrix.toarray(),
            index=pd.Index(self.places, name="residence", dtype="str"),
            columns=pd.Index(self.places, name="workplace", dtype="str"),
        )

    def share(self, residence: str, workplace: str) -> float:
        """The share of ``residence``'s employed residents who work in ``workplace``."""
        i, j = self.places.index(residence), self.places.index(workplace)
        return float(self.matrix[i, j])

    def column(self, workplace: str) -> np.ndarray:
        """Every place's share of employed residents working in ``workplace`` (P,)."""
        return self.matrix[:, [self.places.index(workplace)]].toarray().ravel()

    def aligned(self, places: Sequence[str]) -> sparse.csr_array:
        """The matrix with rows and columns in the order of ``places`` (the same set)."""
        places = [str(p) for p in places]
        if list(self.places) == places:
            return self.matrix
        extra, missing = (
            sorted(set(self.places) - set(places)),
            sorted(set(places) - set(self.places)),
        )
        if extra or missing or len(places) != len(self.places):
            raise DataError(
                f"commuting weights of year {self.year}: places do not match the places of "
                f"ra; missing {fmt(missing)}, extra {fmt(extra)}"
            )
        order = pd.Index(self.places).get_indexer(places)
        return sparse.csr_array(self.matrix[order][:, order])


def commuting_weight_matrices(
    commuting: pd.DataFrame, places: Sequence[str], years: Sequence[int]
) -> dict[int, CommutingWeights]:
    """Commuting weights ``w[i,j]`` per requested year (MODEL.md 2.1), sparse.

    For each requested year the commuting matrix of that year is used if the table has
    it, otherwise the matrix of the NEAREST year in the table; when two years are
    equally near, the EARLIER one is used (e.g. with 2000 and 2002 available, 2001 uses
    2000). Residence/workplace pairs absent from the table have 0 commuters.

    Parameters
    ----------
    commuting
        Long table with columns year, residence, workplace, employed.
    places
        Place codes: rows (residence) and columns (workplace) of every matrix, in order.
    years
        Years wanted.

    Returns
    -------
    dict[int, CommutingWeights]
        ``{year: weights}`` over ``places``; each row sums to 1. Years that use the same
        source year share one object.

    Raises
    ------
    DataError
        If the table is empty or malformed, names codes not in ``places``, or if a place
        has no employed residents in the year used (naming the places and years).
    """
    key = ("year", "residence", "workplace")
    require_columns(commuting, "commuting", (*key, "employed"))
    require_unique(commuting, "commuting", key)
    require_finite(commuting, "commuting", "employed", key)
    require_nonnegative(commuting, "commuting", "employed", key)
    places = tuple(str(p) for p in places)
    if len(set(places)) != len(places):
        raise DataError("commuting_weight_matrices: places contain duplicates")
    if commuting.empty:
        raise DataError("commuting table is empty; commuting weights need at least one year")
    pindex = pd.Index(places)
    residence = commuting["residence"].astype(str)
    workplace = commuting["workplace"].astype(str)
    res_all = pindex.get_indexer(residence)
    work_all = pindex.get_indexer(workplace)
    if (res_all < 0).any() or (work_all < 0).any():
        unknown = sorted(set(residence[res_all < 0]) | set(workplace[work_all < 0]))
        raise DataError(
            f"commuting table has residence/workplace codes not among the places: {fmt(unknown)}"
        )
    year_all = commuting["year"].to_numpy(dtype=np.int64)
    employed_all = commuting["employed"].to_numpy(dtype=float)
    available = sorted(set(year_all.tolist()))
    p = len(places)

    by_source: dict[int, CommutingWeights] = {}
    out: dict[int, CommutingWeights] = {}
    for year in years:
        used = nearest_year(available, int(year))
        if used not in by_source:
            rows = year_all == used
            counts = sparse.coo_array(
                (employed_all[rows], (res_all[rows], work_all[rows])), shape=(p, p)
            )
            empty = np.bincount(res_all[rows], weights=employed_all[rows], minlength=p) == 0
            if empty.any():
                nobody = [places[i] for i in np.flatnonzero(empty)]
                raise DataError(
                    f"commuting table year {used} (used for year {int(year)}) has no "
                    f"employed residents for places {fmt(nobody)}"
                )
            by_source[used] = CommutingWeights(places, commuting_weights(counts), used)
        out[int(year)] = by_source[used]
    return out


def vra_lags(
    ra: pd.DataFrame,
    weights: Mapping[int, pd.DataFrame],
    lags: Sequence[int] = (0, 1, 2),
    *,
    own_only: bool = False,
) -> pd.DataFrame:
    """Commuting-weighted relative job growth and its lags (MODEL.md 2.1, 2.4).

    ``VRA[i,t] = sum_j w_t[i,j] RA[j,t]`` uses the weights of year ``t``; the lag-``k``
    column at year ``t`` is ``VRA[i,t-k]``.

    Parameters
    ----------
    ra
        Wide place x year frame of relative job growth (:func:`relative_job_growth`).
    weights
        ``{year: weights}`` (:func:`commuting_weight_matrices`) over exactly the places
        of ``ra`` (in any order). Needed for every year of ``ra`` that has any
        non-missing RA.
    lags
        Non-negative lags; lag 0 gives column ``vra_t``, lag k column ``vra_t{k}``.
    own_only
        Keep only the own-place part ``w[i,i] RA[i,t]`` (columns ``vra_own_t``, ...), the
        "own job growth" bar of the growth decomposition; VRA minus it is the
        commuting area's part.

    Returns
    -------
    pd.DataFrame
        Long frame: place, year, then one column per lag, one row per place and year of
        ``ra`` (sorted). A lag reaching before the first year, or a missing RA, gives
        NaN; the design builder chooses the estimation window.
    """
    lags = [int(k) for k in lags]
    if any(k < 0 for k in lags) or len(set(lags)) != len(lags):
        raise ValueError(f"lags must be distinct non-negative integers, got {lags}")
    years = wide_years(ra, "ra")
    ra = ra[years]
    places = [str(p) for p in ra.index]
    values = ra.to_numpy(dtype=float)
    p, t = values.shape

    vra = np.full((p, t), np.nan)
    active = [k for k in range(t) if np.isfinite(values[:, k]).any()]
    lacking = [years[k] for k in active if years[k] not in weights]
    if lacking:
        raise DataError(f"vra_lags: no commuting weights for years {fmt(lacking)}")
    for k in active:
        w = weights[years[k]].aligned(places)
        if own_only:
            w = sparse.diags_array(w.diagonal()).tocsr()
        vra[:, k] = weighted_growth(w, values[:, [k]])[:, 0]

    cols: dict[str, np.ndarray] = {}
    for k in lags:
        shifted = np.full((p, t), np.nan)
        if k < t:
            shifted[:, k:] = vra[:, : t - k]
        stem = "vra_own_t" if own_only else "vra_t"
        cols[stem if k == 0 else f"{stem}{k}"] = shifted
    return long_frame(places, years, **cols)
