"""Published vs OLS vs posterior from the same design: one row per coefficient
(:func:`ols_posterior_table`) and one row per place for attractiveness
(:func:`attractiveness_comparison`, with the realised attractiveness of
:func:`realised_attractiveness`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from attrbayes.equation import equation_mean, row_parts
from attrbayes.features.design import VRA_TERMS
from attrbayes.models.ols import fit_ols
from attrbayes.reference import reference_values
from attrbayes.results import stacked_size
from attrbayes.terms import CONTEXTUAL_SUFFIX


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


def within_between_table(fit, *, prob: float = 0.95) -> pd.DataFrame:
    """Within- and between-place effects of a fit with contextual terms, beside OLS.

    Per time-varying term: the book's pooled OLS (one coefficient mixing both), the OLS
    with the place means (Mundlak: its ``term`` coefficient is the fixed-effects within
    estimate, ``term + term_mean`` the between estimate) and the posterior's within
    (``term``) and between (``term + term_mean``, summed per draw) effects with their
    medians and equal-tailed ``prob`` intervals. Empty without contextual terms.
    """
    contextual = fit.spec.contextual_terms
    if not contextual:
        return pd.DataFrame()
    pooled = fit_ols(fit.design).params
    mundlak = fit_ols(fit.design, contextual=True).params
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    rows = []
    for mean_term in contextual:
        term = mean_term.removesuffix(CONTEXTUAL_SUFFIX)
        within = fit.draws(term).to_numpy()
        between = within + fit.draws(mean_term).to_numpy()
        rows.append({
            "term": term,
            "ols_pooled": pooled[term],
            "ols_within": mundlak[term],
            "ols_between": mundlak[term] + mundlak[mean_term],
            "posterior_within": np.median(within),
            "within_lower": np.quantile(within, lo),
            "within_upper": np.quantile(within, hi),
            "posterior_between": np.median(between),
            "between_lower": np.quantile(between, lo),
            "between_upper": np.quantile(between, hi),
        })  # fmt: skip
    return pd.DataFrame(rows)


# What each fit kind's attractiveness is called, and the base of its rate.
ATTRACTIVENESS_KIND = {"migration": "residential", "jobs": "business"}
ATTRACTIVENESS_UNIT = {"residential": "% of population per year",
                       "business": "% of private jobs per year"}  # fmt: skip

# Rows of AttractivenessComparison.statistics (the correlations with structure follow).
PEARSON_ROW = "Pearson r with OLS"
SPEARMAN_ROW = "Spearman rho with OLS"
SD_ROW = "SD across places (% per year)"


def correlation_row(column: str) -> str:
    """The statistics row of the Pearson correlation with a structure column."""
    return f"r with {'mean VRA' if column == 'vra_sum' else column}"


@dataclass(frozen=True)
class AttractivenessComparison:
    """Posterior beside OLS point attractiveness per place, on one fit's design.

    ``table``: one row per place (sorted by posterior median, most attractive first):
    ``place`` (``name``), ``ols_pct`` (OLS point attractiveness: the place's mean OLS
    residual over the fitted years), ``posterior_median``, ``posterior_lower_80``,
    ``posterior_upper_80`` (period attractiveness of the fit, 80 % equal-tailed),
    ``realised_median``, ``realised_lower_80``, ``realised_upper_80``
    (:func:`realised_attractiveness`), all in % of the base per year; ``difference``
    (posterior median minus OLS); ``posterior_rank``
    and ``ols_rank`` (1 = most attractive; ties share the mean rank); then the structure
    of the place: the mean over the fitted years of each time-varying term (the design's
    units), ``vra_sum`` (migration fits with all three VRA lags: the mean of
    vra_t + vra_t1 + vra_t2, "mean VRA") and ``centrality`` when the design has it.

    ``statistics``: rows of measures, columns ``posterior``, ``realised`` and ``ols``, see
    :func:`attractiveness_comparison`.
    """

    table: pd.DataFrame
    statistics: pd.DataFrame
    kind: str  # "residential" (migration fit) or "business" (jobs fit)
    window: str  # the fitted years, e.g. "2003-2021" or "2006-2022 without 2017-2019"
    spec_name: str
    level: str

    @property
    def unit(self) -> str:
        """What the attractiveness columns are in, e.g. "% of population per year"."""
        return ATTRACTIVENESS_UNIT[self.kind]

    @property
    def structure_columns(self) -> list[str]:
        """The table's structure columns (place means of the design's terms)."""
        return list(self.table.columns[self.table.columns.get_loc("ols_rank") + 1 :])

    @property
    def pearson(self) -> float:
        return float(self.statistics.loc[PEARSON_ROW, "posterior"])

    @property
    def spearman(self) -> float:
        return float(self.statistics.loc[SPEARMAN_ROW, "posterior"])


def _pearson(a: pd.Series, b: pd.Series) -> float:
    """Pearson r over the places where both are known; NaN when either is constant."""
    both = pd.concat([a, b], axis=1).dropna().to_numpy(dtype=float)
    if len(both) < 3 or np.ptp(both[:, 0]) == 0 or np.ptp(both[:, 1]) == 0:
        return float("nan")
    return float(np.corrcoef(both[:, 0], both[:, 1])[0, 1])


def place_structure(design) -> pd.DataFrame:
    """Per place (index): the mean over the fitted years of each time-varying term of the
    design, ``vra_sum`` (mean of vra_t + vra_t1 + vra_t2) when all three lags are terms,
    and ``centrality`` when the design has it. Contextual terms (place means) are left
    out: they are the same means."""
    frame = design.frame
    terms = design.without_contextual().terms
    varying = [t for t in terms if t != "centrality"]
    grouped = frame.groupby("place")
    out = grouped[varying].mean() if varying else pd.DataFrame(index=grouped.size().index)
    if design.kind == "migration" and all(t in varying for t in VRA_TERMS):
        out["vra_sum"] = out[list(VRA_TERMS)].sum(axis=1)
    if "centrality" in frame.columns:
        out["centrality"] = grouped["centrality"].mean()
    return out


# draws at a time: a block is a (draws, rows) array of the structure's mean
REALISED_BLOCK = 500


def realised_attractiveness(fit) -> pd.DataFrame:
    """The book's own attractiveness, taken with the posterior's coefficients: per place
    and draw, the mean over its fitted years of the dependent variable minus structure
    (intercept, terms, centrality coefficient x centrality, year effect; the noise stays
    in, as in an OLS residual). With the OLS coefficients it is the OLS point
    attractiveness. Columns ``place``, ``realised_median``, ``realised_lower_80``,
    ``realised_upper_80``, in % of the base per year."""
    frame = fit.design.frame
    places = np.sort(frame["place"].unique())
    place_idx = pd.Index(places).get_indexer(frame["place"])
    rows = len(frame)
    means = sparse.csr_array((1.0 / np.bincount(place_idx)[place_idx],
                              (np.arange(rows), place_idx)), shape=(rows, len(places)))  # fmt: skip
    y = fit.design.y
    n = stacked_size(fit.posterior)
    realised = np.empty((n, len(places)))
    for start in range(0, n, REALISED_BLOCK):
        index = np.arange(start, min(start + REALISED_BLOCK, n))
        _, parts = row_parts(fit, frame, index, attractiveness=False)
        structure = equation_mean(parts)
        realised[index] = (y[None, :] - structure) @ means
    pct = 100 * realised
    low, mid, high = np.quantile(pct, [0.1, 0.5, 0.9], axis=0)
    return pd.DataFrame({"place": places, "realised_median": mid, "realised_lower_80": low,
                         "realised_upper_80": high})  # fmt: skip


def attractiveness_comparison(fit) -> AttractivenessComparison:
    """Posterior period attractiveness beside the OLS point attractiveness, per place.

    Both come from the fit's own design, so from the same places and fitted years: the
    book's pooled OLS is refitted on it (:func:`attrbayes.models.ols.fit_ols`, without
    contextual terms) and its point attractiveness is the place's mean residual; the
    posterior is ``fit.attractiveness()`` (by period, its median and 80 % interval).
    Residential attractiveness for a migration fit, business attractiveness for a jobs
    fit; % of the base per year.

    ``statistics`` (index: measure; columns ``posterior`` for the posterior medians of
    period attractiveness, ``realised`` for the medians of :func:`realised_attractiveness`,
    ``ols`` for the OLS point values):

    * ``Pearson r with OLS`` and ``Spearman rho with OLS``: how far each agrees with the
      OLS point attractiveness on the values and on the ranking of places (Spearman: the
      Pearson r of the ranks; 1 in the ``ols`` column).
    * ``SD across places (% per year)``: how widely attractiveness differs between places.
      The posterior's is smaller where the model shrinks noisy places towards their group.
    * ``r with mean VRA`` (migration; mean VRA is the place mean of vra_t + vra_t1 +
      vra_t2), ``r with <term>`` (jobs: each structure column), ``r with centrality`` (when
      the design has centrality): Pearson r across places between the attractiveness and
      that structure. Attractiveness is meant to be what structure does not explain, so
      these should be near zero; a clear correlation says structure leaks into it.
    """
    kind = ATTRACTIVENESS_KIND[fit.kind]
    design = fit.design
    ols = fit_ols(design).attractiveness()
    ols = ols.set_index("place")["pct_per_year"]
    post = fit.attractiveness().set_index("place")
    table = pd.DataFrame(index=post.index)
    if "name" in post.columns:
        table["name"] = post["name"]
    table["ols_pct"] = ols.reindex(table.index)
    table["posterior_median"] = post["pct_median"]
    table["posterior_lower_80"] = post["pct_lower_80"]
    table["posterior_upper_80"] = post["pct_upper_80"]
    table = table.join(realised_attractiveness(fit).set_index("place"))
    table["difference"] = table["posterior_median"] - table["ols_pct"]
    table["posterior_rank"] = table["posterior_median"].rank(ascending=False)
    table["ols_rank"] = table["ols_pct"].rank(ascending=False)
    structure = place_structure(design)
    table = table.join(structure)
    table.index.name = "place"
    table = table.sort_values(["posterior_median"], ascending=False, kind="stable")

    values = {"posterior": table["posterior_median"], "realised": table["realised_median"],
              "ols": table["ols_pct"]}  # fmt: skip
    rows: dict[str, dict[str, float]] = {
        PEARSON_ROW: {k: _pearson(v, values["ols"]) for k, v in values.items()},
        SPEARMAN_ROW: {k: _pearson(v.rank(), values["ols"].rank()) for k, v in values.items()},
        SD_ROW: {k: float(v.std(ddof=1)) for k, v in values.items()},
    }
    correlates = ["vra_sum"] if "vra_sum" in structure.columns else [
        c for c in structure.columns if c != "centrality"
    ]  # fmt: skip
    if "centrality" in structure.columns:
        correlates.append("centrality")
    for column in correlates:
        rows[correlation_row(column)] = {k: _pearson(v, table[column]) for k, v in values.items()}
    statistics = pd.DataFrame.from_dict(rows, orient="index", columns=list(values))
    statistics.index.name = "measure"
    return AttractivenessComparison(
        table=table.reset_index(),
        statistics=statistics,
        kind=kind,
        window=design.years_text(),
        spec_name=fit.spec.name,
        level=design.level,
    )
