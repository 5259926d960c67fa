"""The private job growth equation's dependent variable and base (MODEL.md 4).

``jg[i,t] = (J[i,t] - J[i,t-1]) / J[i,t-1] - (sum_i J[i,t] / sum_i J[i,t-1] - 1)`` with
``J`` the private jobs at the workplace: private job growth relative to the nation. The
industry effect (shift-share) is relative to national private growth too, so the equation
``jg = b_ind * industry_effect + b_pop * pop_growth_lag + ... + business attractiveness``
is the book's "expected growth = national + industry + population effect" with estimated
coefficients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrbayes.features._common import long_frame, require_columns


def private_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Wide place x year frame of private jobs; years without a private split are NaN."""
    require_columns(jobs, "jobs", ("place", "year", "sector", "jobs"))
    years = range(int(jobs["year"].min()), int(jobs["year"].max()) + 1)
    private = jobs[jobs["sector"] == "private"]
    wide = private.pivot_table(index="place", columns="year", values="jobs", aggfunc="sum")
    places = sorted(jobs["place"].astype(str).unique())
    return wide.reindex(index=places, columns=list(years))


def relative_private_growth(jobs: pd.DataFrame) -> pd.DataFrame:
    """Long frame place, year, jg, private_growth, national_private_growth, private_jobs_lag.

    NaN where the private sector is not split out in year t or t-1, or the base is 0.
    """
    wide = private_jobs(jobs)
    values = wide.to_numpy(dtype=float)
    prev, cur = values[:, :-1], values[:, 1:]
    growth = np.full(values.shape, np.nan)
    base = np.full(values.shape, np.nan)
    national = np.full(values.shape[1], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth[:, 1:] = np.where(prev > 0, cur / prev - 1, np.nan)
        complete = np.isfinite(prev).all(axis=0) & np.isfinite(cur).all(axis=0)
        national[1:] = np.where(complete, cur.sum(axis=0) / prev.sum(axis=0) - 1, np.nan)
    base[:, 1:] = prev
    return long_frame(
        list(wide.index),
        [int(y) for y in wide.columns],
        jg=growth - national[None, :],
        private_growth=growth,
        national_private_growth=np.broadcast_to(national, values.shape),
        private_jobs_lag=base,
    )


def private_base(jobs: pd.DataFrame) -> pd.DataFrame:
    """Weights for averaging job-growth rates over places: private jobs in year t-1, or in
    year t where t-1 is not in the table. Columns place, year, weight."""
    wide = private_jobs(jobs)
    lagged = wide.shift(1, axis=1).fillna(wide)
    long = lagged.stack().rename("weight").reset_index()
    return long.astype({"year": int})
