"""Published reference results (MODEL.md section 2.4), with their provenance.

Source: K. Vareide, *Hvorfor vokser steder?* (2018) and its 2023 successor, regression
printouts in the appendix; pooled OLS at region level, years 2003-2021, n about 1,380.
"""

from __future__ import annotations

import pandas as pd

SOURCE = "Vareide (2018, 2023), appendix printouts; region level, 2003-2021 (MODEL.md 2.4)"

# spec name -> coefficient estimates and adjusted R2
PUBLISHED: dict[str, dict[str, float]] = {
    "migration_jobs": {
        "intercept": -0.00137, "vra_t": 0.1888, "vra_t1": 0.1299, "vra_t2": 0.0878,
        "r2_adj": 0.3165,
    },
    "migration_2019": {
        "intercept": -0.00195, "vra_t": 0.1283, "vra_t1": 0.0883, "vra_t2": 0.0418,
        "centrality": 0.02233, "r2_adj": 0.5064,
    },
    "migration_2019_jobcent": {
        "intercept": -0.00199, "vra_t": 0.1246, "vra_t1": 0.0853, "vra_t2": 0.0390,
        "centrality": 0.02576, "r2_adj": 0.5234,
    },
    "migration_2022": {
        "intercept": -0.00240, "vra_t": 0.1361, "vra_t1": 0.0963, "vra_t2": 0.0531,
        "centrality": 0.02722, "ds": -0.4036, "r2_adj": 0.5422,
    },
}  # fmt: skip

# Standard errors of the 2022 model; residual standard error 0.00385 on 1,381 df.
PUBLISHED_2022_SE: dict[str, float] = {
    "vra_t": 0.0090, "vra_t1": 0.0091, "vra_t2": 0.0092, "centrality": 0.0010, "ds": 0.053,
}  # fmt: skip
PUBLISHED_2022_RESID_SE = 0.00385
PUBLISHED_2022_DF = 1381


# The book's job growth equation (MODEL.md 4) is not estimated: expected growth is national
# growth plus the industry effect with coefficient 1; the population effect's coefficient is
# not printed. These are the values the comparison table sets beside a jobs fit.
BOOK_JOBS: dict[str, float] = {"industry_effect": 1.0}


def reference_values(spec_name: str, kind: str) -> dict[str, float]:
    """Published (migration) or fixed (the book's jobs equation) values for a fit's terms."""
    if kind == "jobs":
        return BOOK_JOBS
    return PUBLISHED.get(spec_name, {})


def published_table() -> pd.DataFrame:
    """Published estimates as a term x spec frame (NaN where a term is not in a model)."""
    return pd.DataFrame(PUBLISHED)
