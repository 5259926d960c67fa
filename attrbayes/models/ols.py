"""OLS baseline of the net-migration equation (MODEL.md section 2.4), via statsmodels.

Pooled fits at any level, year-by-year fits, sub-period fits and sub-population fits all
read the same :class:`~attrbayes.features.design.Design` as the Bayesian models, and
their ``summary()`` has the shared layout ``term, estimate, sd, lower, upper`` (plus the
OLS-only ``t`` and ``p``), so published, OLS and posterior estimates concatenate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from attrbayes.config import ModelSpec
from attrbayes.constants import AGE_GROUPS, SEXES
from attrbayes.exceptions import DataError
from attrbayes.features.design import Design, Features, build_design
from attrbayes.models.lm_text import SIGNIF_LEGEND, format_lm, stars

CovType = Literal["nonrobust", "HC1", "cluster"]


@dataclass(frozen=True)
class OLSResult:
    """An immutable pooled OLS fit with R-style reporting and point attractiveness."""

    design: Design
    params: pd.Series
    bse: pd.Series
    tvalues: pd.Series
    pvalues: pd.Series
    conf_int: pd.DataFrame  # columns lower, upper
    residuals: np.ndarray
    fitted: np.ndarray
    r2: float
    r2_adj: float
    fvalue: float
    f_pvalue: float
    df_model: int
    df_resid: int
    cov_type: str
    alpha: float = 0.05

    @property
    def n(self) -> int:
        return self.design.n

    @property
    def resid_se(self) -> float:
        return float(np.sqrt(np.sum(self.residuals**2) / self.df_resid))

    def summary(self) -> pd.DataFrame:
        """Coefficient table: term, estimate, sd (standard error), lower, upper, t, p."""
        return pd.DataFrame(
            {
                "term": self.params.index,
                "estimate": self.params.to_numpy(),
                "sd": self.bse.to_numpy(),
                "lower": self.conf_int["lower"].to_numpy(),
                "upper": self.conf_int["upper"].to_numpy(),
                "t": self.tvalues.to_numpy(),
                "p": self.pvalues.to_numpy(),
            }
        )

    def coefficient_table(self) -> pd.DataFrame:
        """The CSV layout: term, estimate, std_error, t, p, r2_adj, n."""
        table = self.summary().rename(columns={"sd": "std_error"})
        table = table[["term", "estimate", "std_error", "t", "p"]]
        return table.assign(r2_adj=self.r2_adj, n=self.n)

    def to_text(self) -> str:
        """An R ``summary(lm())``-style printout."""
        d = self.design
        call = (
            f"attrbayes ols  spec={d.spec_name}  level={d.level}  "
            f"years={d.years_text()}"
            + (f"  group={d.label}" if d.label != "all" else "")
            + (f"  se={self.cov_type}" if self.cov_type != "nonrobust" else "")
        )
        return format_lm(
            call=call,
            residuals=self.residuals,
            table=self.summary(),
            resid_se=self.resid_se,
            df_resid=self.df_resid,
            r2=self.r2,
            r2_adj=self.r2_adj,
            fvalue=self.fvalue,
            df_model=self.df_model,
            f_pvalue=self.f_pvalue,
        )

    def __str__(self) -> str:
        return self.to_text()

    def attractiveness(self, years: tuple[int, int] | None = None) -> pd.DataFrame:
        """Point residential attractiveness: residuals per unit over a period.

        ``pct_per_year`` is the mean residual in % of population per year and
        ``persons_per_year`` the mean of residual x population (MODEL.md 2.4; for the jobs
        model: % of last year's private jobs, and jobs); ranked
        from most to least attractive.
        """
        size = self.design.size_column
        frame = self.design.frame[["place", "year", size]].assign(residual=self.residuals)
        if years is not None:
            frame = frame[frame["year"].between(*years)]
            if frame.empty:
                raise DataError(f"no fitted years in {years[0]}-{years[1]}")
        frame = frame.assign(persons=frame["residual"] * frame[size])
        out = frame.groupby("place").agg(
            pct_per_year=("residual", "mean"),
            persons_per_year=("persons", "mean"),
            years=("year", "nunique"),
        )
        out["pct_per_year"] *= 100
        out = out.sort_values("pct_per_year", ascending=False)
        out["rank"] = np.arange(1, len(out) + 1)
        return out.reset_index()


def fit_ols(
    design: Design,
    *,
    cov_type: CovType = "nonrobust",
    alpha: float = 0.05,
    contextual: bool = False,
) -> OLSResult:
    """Pooled OLS of ``y`` on the design's terms with an intercept.

    Contextual (place-mean) terms, which specs add for the Bayesian model, are left out:
    the OLS is the book's pooled equation. ``contextual=True`` keeps them (the Mundlak
    OLS, whose term coefficients are the fixed-effects within estimates).

    Parameters
    ----------
    design
        The design (:func:`attrbayes.features.design.build_design`), shared with the
        Bayesian fits so that the two compare term by term.
    cov_type
        "nonrobust" reproduces the published printouts; "HC1" is
        heteroskedasticity-robust and "cluster" clusters by unit (residential
        attractiveness makes a unit's errors correlate over years).
    alpha
        One minus the coverage of the intervals.
    contextual
        Keep the contextual (place-mean) terms.

    Returns
    -------
    OLSResult
        Prints R-style; ``summary()`` has the Bayesian fits' layout.
    """
    if not contextual:
        design = design.without_contextual()
    X = design.matrix()
    if design.n <= X.shape[1]:
        raise DataError(
            f"spec {design.spec_name}: {design.n} observations cannot identify "
            f"{X.shape[1]} coefficients"
        )
    from statsmodels.regression.linear_model import OLS  # 0.7 s: only where a fit is made

    model = OLS(design.y, X)
    if cov_type == "cluster":
        groups = pd.factorize(design.frame["place"])[0]
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    elif cov_type in ("nonrobust", "HC1"):
        res = model.fit(cov_type=cov_type)
    else:
        raise DataError(f"cov_type must be nonrobust, HC1 or cluster, got {cov_type!r}")
    ci = res.conf_int(alpha=alpha)
    ci.columns = ["lower", "upper"]
    return OLSResult(
        design=design,
        params=res.params,
        bse=res.bse,
        tvalues=res.tvalues,
        pvalues=res.pvalues,
        conf_int=ci,
        residuals=np.asarray(res.resid),
        fitted=np.asarray(res.fittedvalues),
        r2=float(res.rsquared),
        r2_adj=float(res.rsquared_adj),
        fvalue=float(np.squeeze(res.fvalue)),
        f_pvalue=float(np.squeeze(res.f_pvalue)),
        df_model=int(res.df_model),
        df_resid=int(res.df_resid),
        cov_type=cov_type,
        alpha=alpha,
    )


@dataclass(frozen=True)
class OLSSeries:
    """Several OLS fits keyed by a label (years, periods or sub-populations)."""

    key: str
    fits: dict[str, OLSResult]

    def table(self) -> pd.DataFrame:
        """Long coefficient table with the key column first (the CSV layout)."""
        frames = [
            fit.coefficient_table().assign(**{self.key: label}) for label, fit in self.fits.items()
        ]
        table = pd.concat(frames, ignore_index=True)
        return table[[self.key, *[c for c in table.columns if c != self.key]]]

    def wide(self, *, digits: int = 4) -> pd.DataFrame:
        """One row per fit, one column per term: estimate with significance stars."""
        table = self.table()
        table["cell"] = [
            f"{est:.{digits}f}{stars(p).strip()}"
            for est, p in zip(table["estimate"], table["p"], strict=True)
        ]
        wide = table.pivot(index=self.key, columns="term", values="cell")
        terms = list(next(iter(self.fits.values())).params.index)
        wide = wide[terms]
        stats = table.groupby(self.key)[["r2_adj", "n"]].first()
        wide["r2_adj"] = stats["r2_adj"].map(lambda v: f"{v:.3f}")
        wide["n"] = stats["n"]
        return wide.reindex(list(self.fits))

    def to_text(self) -> str:
        return f"{self.wide().to_string()}\n---\n{SIGNIF_LEGEND}"


def fit_by_year(design: Design, *, cov_type: CovType = "nonrobust") -> OLSSeries:
    """One OLS per year (the book's check of drifting job and centrality effects)."""
    years = sorted(design.frame["year"].unique())
    fits = {str(y): fit_ols(design.subset_years(y, y), cov_type=cov_type) for y in years}
    return OLSSeries("year", fits)


def fit_periods(
    design: Design, periods: Iterable[tuple[int, int]], *, cov_type: CovType = "nonrobust"
) -> OLSSeries:
    """One OLS per sub-period, e.g. ``[(2003, 2011), (2012, 2021)]``."""
    fits = {f"{a}-{b}": fit_ols(design.subset_years(a, b), cov_type=cov_type) for a, b in periods}
    return OLSSeries("period", fits)


def fit_subpopulations(
    features: Features,
    spec: ModelSpec,
    *,
    years: tuple[int, int] | None = None,
    groups: Sequence[tuple[str, str]] | None = None,
    cov_type: CovType = "nonrobust",
) -> OLSSeries:
    """One OLS per sub-population (men, women; the book's age groups), same regressors.

    Needs the panel's ``migration_groups`` table."""
    if groups is None:
        groups = [(s, "all") for s in SEXES] + [("total", g) for g in AGE_GROUPS]
    fits = {}
    for sex, age in groups:
        design = build_design(features, spec, years=years, subpopulation=(sex, age))
        fits[f"{sex} {age}"] = fit_ols(design, cov_type=cov_type)
    return OLSSeries("group", fits)
