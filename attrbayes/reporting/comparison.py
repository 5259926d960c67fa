"""Published vs OLS vs posterior, one row per coefficient, from the same design."""

from __future__ import annotations

import pandas as pd

from attrbayes.models.ols import fit_ols
from attrbayes.reference import reference_values


def ols_posterior_table(fit, *, prob: float = 0.95) -> pd.DataFrame:
    """Per coefficient: OLS estimate and CI beside the posterior median and interval.

    The OLS is refitted on the fit's own design, so both use the same observations. For
    the time-varying centrality coefficient the posterior row is its mean over the years
    (the quantity a pooled OLS estimates). Published values are added when the spec is one
    of the book's model versions.
    """
    ols = fit_ols(fit.design, alpha=1 - prob).summary().set_index("term")
    post = fit.summary(prob=prob).set_index("term")
    terms = [t for t in ols.index if t in post.index]
    table = pd.DataFrame(
        {
            "ols_estimate": ols.loc[terms, "estimate"],
            "ols_lower": ols.loc[terms, "lower"],
            "ols_upper": ols.loc[terms, "upper"],
            "posterior_median": post.loc[terms, "estimate"],
            "posterior_lower": post.loc[terms, "lower"],
            "posterior_upper": post.loc[terms, "upper"],
        }
    )
    published = reference_values(fit.spec.name, fit.spec.kind)
    if published:
        table["published"] = pd.Series(published).reindex(terms)
    table.index.name = "term"
    return table.reset_index()
