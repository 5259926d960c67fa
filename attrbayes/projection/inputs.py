"""What a projection needs besides the posterior: the base population, job and population
history, commuting weights, local fertility and mortality ratios, the places' net
migration age profiles and the national base rates, all as arrays over one place order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attrbayes.constants import MAX_AGE, SEXES
from attrbayes.data.panel import Panel
from attrbayes.exceptions import DataError
from attrbayes.features._common import nearest_year, sex_codes
from attrbayes.features.vra import CommutingWeights, commuting_weight_matrices
from attrbayes.projection.industry import NO_JOBS_INDUSTRY_NOTE, IndustryHistory, industry_history

N_AGES = MAX_AGE + 1
RATIO_YEARS = 10  # local fertility / mortality ratios: the last ten years (MODEL.md 3)
PROFILE_YEARS = 10  # net migration age profiles: the last ten years of cohort change
RATIO_PRIOR = 20.0  # pseudo-events pulling a small place's ratio towards 1
PROFILE_PRIOR = 2_000.0  # person-years pulling a place's age profile towards the nation's
INDUSTRY_YEARS = 5  # without jobs by industry: the mean effect of the last five years fades


@dataclass(frozen=True)
class ProjectionInputs:
    """Deterministic inputs over ``places`` (sorted codes); see the module docstring."""

    places: list[str]
    attributes: pd.DataFrame  # index place: name, region, county, centrality_class
    base_year: int
    population: np.ndarray  # (P, S, A) on 1 January of base_year
    history_population: pd.DataFrame  # place x year totals, observed
    history_private: pd.DataFrame  # place x year private jobs (observed or share-based)
    history_public: pd.DataFrame  # place x year public jobs
    weights: CommutingWeights  # over places (sparse), residence rows
    fertility_ratio: np.ndarray  # (P,) posterior mean of the local ratio
    mortality_ratio: np.ndarray  # (P,)
    # (P, 2) Gamma posterior (shape, rate) of each ratio: events + prior, expected + prior
    fertility_posterior: np.ndarray
    mortality_posterior: np.ndarray
    migration_profile: np.ndarray  # (P, S, A) historical net migration rate by sex-age
    mobility: np.ndarray  # (S, A) relative size of net migration by sex-age (mean 1)
    asfr: np.ndarray  # (A,) national fertility of the last year with rates
    death_prob: np.ndarray  # (S, A) national q(x) of the last year with rates
    death_prob_year: int  # that year: mortality declines from it
    employment: np.ndarray | None  # (S, A) national employment rates, when the panel has
    # (P,) mean of the last INDUSTRY_YEARS observed: what fades out where national growth
    # by industry cannot be projected (see attrbayes.projection.industry)
    industry_effect: np.ndarray
    notes: tuple[str, ...] = ()
    # year -> sum over places, sex, age of employment x observed population on 1 January
    # (None without employment rates): national job growth by the "employment_rates" rule
    national_employed: dict[int, float] | None = None
    # observed private jobs by industry (None without a jobs_industry table): national
    # growth by industry is projected from it by industry.industry_effect_path
    industry: IndustryHistory | None = None

    def ratio_draws(self, kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws (n, P) of the local fertility or mortality ratio from its Gamma
        posterior (Poisson events with a Gamma(RATIO_PRIOR, RATIO_PRIOR) prior)."""
        post = self.fertility_posterior if kind == "births" else self.mortality_posterior
        return rng.gamma(post[:, 0], 1.0 / post[:, 1], size=(n, len(self.places)))


def job_history(jobs: pd.DataFrame, places: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Private and public jobs per place and year. Years with totals only are split by
    each place's private share in the last year that had a split."""
    wide = jobs.pivot_table(index="place", columns=["sector", "year"], values="jobs",
                            aggfunc="sum")  # fmt: skip
    years = sorted(set(jobs["year"]))
    total = jobs.groupby(["place", "year"])["jobs"].sum().unstack("year").reindex(places)
    private = pd.DataFrame(np.nan, index=total.index, columns=years)
    if "private" in wide.columns.get_level_values(0):
        private.update(wide["private"].reindex(places))
    split_years = [y for y in years if private[y].notna().all()]
    if not split_years:
        raise DataError("jobs table has no year with private jobs split out")
    share = private[split_years[-1]] / total[split_years[-1]]
    for year in years:
        if private[year].isna().any():
            private[year] = private[year].fillna(total[year] * share)
    return private, total - private


def _cohort_residuals(
    population: pd.DataFrame, mortality: pd.DataFrame, places: list[str], years: list[int]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per year, (net migrants, population) by place, sex and age from cohort change:
    ``m[a] = pop[a+1, t+1] - pop[a, t] (1 - q[a, t])``, less the open group's own
    survivors for the age below it (0 for the open group, whose migration is not
    separable from its deaths)."""
    pop = population.set_index(["place", "year", "sex", "age"])["population"]
    arr = pop.to_xarray().reindex(place=places, sex=list(SEXES)).transpose(
        "place", "year", "sex", "age"
    )  # fmt: skip
    q = mortality.set_index(["year", "sex", "age"])["death_probability"].to_xarray()
    for year in years:
        now = arr.sel(year=year).to_numpy()
        nxt = arr.sel(year=year + 1).to_numpy()
        q_t = q.sel(year=nearest_year(list(q["year"].values), year)).reindex(sex=list(SEXES))
        survive = now * (1 - q_t.to_numpy()[None])
        m = np.zeros_like(now)
        m[..., :-1] = nxt[..., 1:] - survive[..., :-1]
        m[..., -2] -= survive[..., -1]
        yield m, now


def migration_profile(
    population: pd.DataFrame, mortality: pd.DataFrame, places: list[str], years: list[int]
) -> np.ndarray:
    """Net migration rate by sex and age per place from cohort change (residual method,
    :func:`_cohort_residuals`), pooled over ``years`` and shrunk towards the national
    rates for places with few person-years."""
    migrants = np.zeros((len(places), 2, N_AGES))
    exposure = np.zeros((len(places), 2, N_AGES))
    for m, now in _cohort_residuals(population, mortality, places, years):
        migrants += m
        exposure += now
    national = migrants.sum(axis=0) / np.maximum(exposure.sum(axis=0), 1.0)
    own = migrants / np.maximum(exposure, 1.0)
    weight = exposure / (exposure + PROFILE_PRIOR)
    return weight * own + (1 - weight) * national[None]


def mobility_schedule(
    population: pd.DataFrame, mortality: pd.DataFrame, places: list[str], years: list[int]
) -> np.ndarray:
    """How a place's net migration beyond its usual spreads over sex and age (S, A).

    Per sex and age, the slope of the place-year net migration rate on the place's total
    net migration rate, both as deviations from the place's mean over ``years`` (weighted
    by the cell's population; negative slopes set to 0), scaled to a population-weighted
    mean of 1 over the nation: a year with more leavers than usual takes them from the
    ages that move (young adults), not evenly from every age. Deaths and sampling noise
    at a given age do not move with the total, so they do not enter the slope.
    """
    rates, totals, cells = [], [], []
    for m, now in _cohort_residuals(population, mortality, places, years):
        rates.append(m / np.maximum(now, 1.0))
        totals.append(m.sum(axis=(1, 2)) / np.maximum(now.sum(axis=(1, 2)), 1.0))
        cells.append(now)
    if not rates:
        return np.ones((2, N_AGES))
    rate, weight = np.stack(rates), np.stack(cells)  # (T, P, S, A)
    total = np.stack(totals)
    total = (total - total.mean(axis=0))[:, :, None, None]
    rate = rate - rate.mean(axis=0)
    denominator = (weight * total**2).sum(axis=(0, 1))
    slope = np.where(denominator > 0, (weight * total * rate).sum(axis=(0, 1))
                     / np.where(denominator > 0, denominator, 1.0), 0.0)  # fmt: skip
    slope = np.maximum(slope, 0.0)
    national = weight.sum(axis=(0, 1))
    mean = (slope * national).sum() / national.sum()
    return slope / mean if mean > 0 else np.ones_like(slope)


def _ratio_posterior(actual: pd.Series, expected: pd.Series) -> pd.DataFrame:
    """Gamma posterior (shape, rate) of the ratio of actual to expected events."""
    return pd.DataFrame({"shape": actual + RATIO_PRIOR, "rate": expected + RATIO_PRIOR})


def build_inputs(panel: Panel, features_frame: pd.DataFrame, places: list[str]) -> ProjectionInputs:
    """Collect the deterministic inputs for ``places`` from a panel and its features."""
    notes: list[str] = []
    pop = panel.table("population", needed_for="the projection's base population")
    pop = pop[pop["place"].isin(places)]
    base = int(pop["year"].max())
    base_pop = (
        pop[pop["year"] == base].set_index(["place", "sex", "age"])["population"].to_xarray()
        .reindex(place=places, sex=list(SEXES), age=np.arange(N_AGES)).fillna(0.0).to_numpy()
    )  # fmt: skip
    totals = pop.groupby(["place", "year"])["population"].sum().unstack("year").reindex(places)
    private, public = job_history(panel.table("jobs", needed_for="projected jobs"), places)
    commuting = panel.table("commuting", needed_for="projected VRA")
    last = int(commuting["year"].max())
    weights = commuting_weight_matrices(commuting, places, [last])[last]

    frame = features_frame.set_index(["place", "year"])
    ratios = {}
    for kind in ("births", "deaths"):
        expected = f"expected_{kind}"
        if expected not in frame.columns or kind not in frame.columns:
            ratios[kind] = np.full((len(places), 2), 1e9)  # the ratio is 1, exactly
            notes.append(f"no {expected}: the local {kind} ratio is 1 (national rates)")
            continue
        rows = frame[[kind, expected]].dropna()
        recent = sorted(set(rows.index.get_level_values("year")))[-RATIO_YEARS:]
        rows = rows[rows.index.get_level_values("year").isin(recent)].groupby(level="place").sum()
        post = _ratio_posterior(rows[kind], rows[expected]).reindex(places)
        ratios[kind] = post.fillna(RATIO_PRIOR).to_numpy(dtype=float)
    mortality = panel.table("mortality", needed_for="projected deaths")
    fertility = panel.table("fertility", needed_for="projected births")
    pop_years = sorted(set(pop["year"]))
    profile_years = [y for y in pop_years if y + 1 in pop_years][-PROFILE_YEARS:]
    profile = migration_profile(pop, mortality, places, profile_years)
    mobility = mobility_schedule(pop, mortality, places, profile_years)
    q_year = int(mortality["year"].max())
    q = (
        mortality[mortality["year"] == q_year].set_index(["sex", "age"])["death_probability"]
        .to_xarray().reindex(sex=list(SEXES), age=np.arange(N_AGES)).fillna(1.0).to_numpy()
    )  # fmt: skip
    f_year = int(fertility["year"].max())
    asfr = np.zeros(N_AGES)
    f_rows = fertility[fertility["year"] == f_year]
    asfr[f_rows["age"].to_numpy(dtype=int)] = f_rows["fertility_rate"].to_numpy(dtype=float)
    employment = None
    if panel.has("employment_rates"):
        rates = panel.tables["employment_rates"]
        if "year" in rates.columns:  # constant rates in the projection: the last year's
            rates = rates[rates["year"] == rates["year"].max()]
        rates = rates.set_index(["sex", "age"])["employment_rate"]
        employment = (
            rates.to_xarray().reindex(sex=list(SEXES), age=np.arange(N_AGES)).fillna(0.0)
            .to_numpy()
        )  # fmt: skip
    if "industry_effect" in frame.columns:
        ie = frame["industry_effect"].dropna()
        recent = sorted(set(ie.index.get_level_values("year")))[-INDUSTRY_YEARS:]
        ie = ie[ie.index.get_level_values("year").isin(recent)].groupby(level="place").mean()
        industry = ie.reindex(places).fillna(0.0).to_numpy()
        if not panel.has("jobs_industry"):
            notes.append(NO_JOBS_INDUSTRY_NOTE)
    else:
        industry = np.zeros(len(places))
        notes.append("no industry effect in the panel: it is 0 in the projection")
    attributes = panel.places.set_index("place").reindex(places)[
        ["name", "region", "county", "centrality_class"]
    ]
    national_employed = None
    if employment is not None:  # employment rates (held constant) x observed population
        sex = sex_codes(pop["sex"])
        known = sex >= 0
        ages = np.minimum(pop["age"].to_numpy(dtype=int), N_AGES - 1)[known]
        employed = employment[sex[known], ages] * pop["population"].to_numpy(dtype=float)[known]
        by_year = pd.Series(employed).groupby(pop["year"].to_numpy(dtype=int)[known]).sum()
        national_employed = {int(y): float(v) for y, v in by_year.items()}
    return ProjectionInputs(
        places=places,
        attributes=attributes,
        base_year=base,
        population=base_pop,
        history_population=totals,
        history_private=private,
        history_public=public,
        weights=weights,
        fertility_ratio=ratios["births"][:, 0] / ratios["births"][:, 1],
        mortality_ratio=ratios["deaths"][:, 0] / ratios["deaths"][:, 1],
        fertility_posterior=ratios["births"],
        mortality_posterior=ratios["deaths"],
        migration_profile=profile,
        mobility=mobility,
        asfr=asfr,
        death_prob=q,
        death_prob_year=q_year,
        employment=employment,
        industry_effect=industry,
        notes=tuple(notes),
        national_employed=national_employed,
        industry=(industry_history(panel.tables["jobs_industry"], places)
                  if panel.has("jobs_industry") else None),
    )  # fmt: skip
