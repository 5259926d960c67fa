"""National job growth by industry in projections, and the industry effect it gives each
place per projected year (MODEL.md 4-5).

With a ``jobs_industry`` table (private jobs by workplace, place and industry), last
observed year T, and an ``[industry]`` table in the assumption set
(:class:`~attrbayes.projection.assumptions.IndustryAssumptions`):

1. **Start**: each industry's national growth is its average annual growth over the last
   ``average_years`` observed years, compounded, ``(J_k(T) / J_k(T-n))^(1/n) - 1`` (fewer
   years where the table is shorter: the notes say so), corrected by judgement (a
   ``rate`` replaces the average, a ``shift`` is added to it) and capped at +/-``cap``.
2. **Convergence**: in year ``T + j`` industry k grows at ``w r_k + (1 - w) C(T + j)`` with
   ``w = max(0, 1 - j / N)``, N the alternative's ``industry_convergence_years``, so from
   year T + N all industries grow alike (g_k - G = 0). The common rate C is the
   alternative's national private job growth; under the ``"employment_rates"`` rule (known
   only per draw, while the projection runs) it is the observed national private growth
   over the same years. C only moves the shares: the effect below does not contain it.
3. **Places**: each place's industry jobs are carried forward from year T at these national
   rates (so the shares drift), and so are the nation's (all places of the table);
   ``effect[p,t] = sum_k s[p,k,t-1] (g_k[t] - G[t])``, G the share-weighted national rate,
   by :func:`attrbayes.features.shift_share.industry_effect_array`, as for the observed
   years.

Deterministic: one (years, P) array shared by every draw and scenario. Without a
``jobs_industry`` table (the real panel: only Telemarksforsking's precomputed effect) or
without an ``[industry]`` table in the assumption set, the previous rule holds: the mean
effect of the last observed years (``ProjectionInputs.industry_effect``) fades linearly to 0
over the convergence years.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from attrbayes.constants import INDUSTRIES
from attrbayes.exceptions import DataError, ProjectionError
from attrbayes.features._common import check_consecutive
from attrbayes.features.shift_share import industry_effect_array

if TYPE_CHECKING:
    from attrbayes.projection.assumptions import Alternative
    from attrbayes.projection.inputs import ProjectionInputs

NO_JOBS_INDUSTRY_NOTE = (
    "the panel has no jobs by industry (jobs_industry), so national growth by industry "
    "cannot be projected: the industry effect of the last observed years fades linearly to "
    "0 over the convergence years instead"
)


@dataclass(frozen=True)
class IndustryHistory:
    """Observed private jobs by industry: the nation's (all places of the table) and the
    projected places' (in the projection's place order)."""

    industries: tuple[str, ...]
    years: tuple[int, ...]  # consecutive
    national: np.ndarray  # (K, Y)
    local: np.ndarray  # (P, K, Y); places absent from the table have 0 jobs


@dataclass(frozen=True)
class IndustryPath:
    """The industry effect of every place in every year after the last observed jobs year
    up to the horizon, and how it was made."""

    years: np.ndarray  # (Y,)
    effect: np.ndarray  # (Y, P)
    method: str  # "national_industry_growth" or "fade"
    notes: tuple[str, ...] = ()
    # with national growth by industry (None for "fade"):
    national_rates: pd.DataFrame | None = None  # index year (T+1..), columns industries
    common_rate: pd.Series | None = None  # index year (T+1..)
    average: pd.Series | None = None  # index industry: observed average annual growth
    start: pd.Series | None = None  # index industry: corrected and capped
    average_window: tuple[int, int] | None = None  # first and last year averaged over

    def at(self, year: int) -> np.ndarray:
        """The effect (P,) of ``year``."""
        i = int(year) - int(self.years[0]) if len(self.years) else -1
        if not 0 <= i < len(self.years):
            span = f"{self.years[0]}-{self.years[-1]}" if len(self.years) else "no years"
            raise ProjectionError(f"industry effect path covers {span}, not {year}")
        return self.effect[i]


def industry_history(jobs_industry: pd.DataFrame, places: list[str]) -> IndustryHistory:
    """National and local private jobs by industry and year from the ``jobs_industry``
    table (place, year, industry, jobs); industries in :data:`INDUSTRIES` order."""
    years = check_consecutive(jobs_industry["year"], "jobs_industry")
    present = set(jobs_industry["industry"].astype(str))
    unknown = sorted(present - set(INDUSTRIES))
    if unknown:
        raise DataError(f"jobs_industry table has unknown industries {unknown}")
    industries = tuple(k for k in INDUSTRIES if k in present)
    ki = pd.Index(industries).get_indexer(jobs_industry["industry"].astype(str))
    ti = jobs_industry["year"].to_numpy(dtype=np.int64) - years[0]
    jobs = jobs_industry["jobs"].to_numpy(dtype=float)
    national = np.zeros((len(industries), len(years)))
    np.add.at(national, (ki, ti), jobs)
    pi = pd.Index(places).get_indexer(jobs_industry["place"].astype(str))
    mine = pi >= 0
    local = np.zeros((len(places), len(industries), len(years)))
    np.add.at(local, (pi[mine], ki[mine], ti[mine]), jobs[mine])
    return IndustryHistory(industries, tuple(years), national, local)


def carry_forward(history: IndustryHistory, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local (P, K, Y + R) and national (K, Y + R) jobs: the history followed by its last
    year grown at ``rates`` (R, K), the national growth of each industry in the R years
    after it, in every place alike (so local shares drift towards growing industries)."""
    growth = np.cumprod(1 + np.asarray(rates, dtype=float), axis=0).T  # (K, R)
    national = np.concatenate([history.national, history.national[:, -1:] * growth], axis=1)
    local = np.concatenate([history.local, history.local[:, :, -1:] * growth[None]], axis=2)
    return local, national


def average_growth(history: IndustryHistory, years: int) -> tuple[np.ndarray, float, int]:
    """Compound average annual national growth per industry (K,) and of all industries
    together over the last ``min(years, len(history.years) - 1)`` years, and that number.
    An industry growing from 0 jobs gets +inf (the cap bounds it); one with 0 jobs at the
    end gets 0 (its shares are 0 everywhere, so its rate does not matter)."""
    n = min(years, len(history.years) - 1)
    if n < 1:
        raise DataError("jobs_industry table has one year: no growth to average")
    first, last = history.national[:, -1 - n], history.national[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(
            first > 0, (last / first) ** (1.0 / n) - 1, np.where(last > 0, np.inf, 0.0)
        )  # fmt: skip
    avg = np.where(last > 0, avg, 0.0)
    total = float((last.sum() / first.sum()) ** (1.0 / n) - 1)
    return avg, total, n


def _fade(
    effect: np.ndarray, years: np.ndarray, last_jobs: int, convergence: float, notes: list[str]
) -> IndustryPath:
    """The last observed years' effect (P,) fading linearly to 0 (the rule before national
    growth by industry; the same arithmetic as the engine had)."""
    rows = [effect * max(0.0, 1 - (int(y) - last_jobs) / convergence) for y in years]
    stacked = np.stack(rows) if rows else np.zeros((0, len(effect)))
    return IndustryPath(years, stacked, "fade", tuple(notes))


def industry_effect_path(inputs: ProjectionInputs, alt: Alternative, to: int) -> IndustryPath:
    """The industry effect (years, P) for every year after the last observed jobs year
    (``max(inputs.history_private.columns)``) up to ``to``: from projected national growth
    by industry where the panel has jobs by industry and the assumption set an
    ``[industry]`` table, otherwise the last years' effect fading out (module docstring)."""
    last_jobs = int(max(inputs.history_private.columns))
    years = np.arange(last_jobs + 1, int(to) + 1)
    convergence = float(alt.scalars["industry_convergence_years"])
    history, assumed = inputs.industry, alt.industry
    notes: list[str] = []
    if history is None:  # build_inputs has said why in inputs.notes
        return _fade(inputs.industry_effect, years, last_jobs, convergence, notes)
    if assumed is None or len(history.years) < 2:
        why = ("the assumption set has no [industry] table (cap, corrections)"
               if assumed is None else "jobs by industry cover one year")  # fmt: skip
        notes.append(f"{why}, so national growth by industry is not projected: the industry "
                     "effect of the last observed years fades linearly to 0 over the "
                     "convergence years instead")  # fmt: skip
        return _fade(inputs.industry_effect, years, last_jobs, convergence, notes)

    avg, total, n = average_growth(history, assumed.average_years)
    last = history.years[-1]
    window = (last - n, last)
    notes.append(
        f"national growth by industry: compound average of {window[0]}-{window[1]} "
        f"({n} year{'s' if n > 1 else ''}"
        + (f", fewer than the {assumed.average_years} asked: the jobs by industry start in "
           f"{history.years[0]}" if n < assumed.average_years else "")
        + f"), corrected and capped at +/-{assumed.cap:.1%} as the assumption set says, converging "
        f"linearly to a common rate in {convergence:g} years"
    )  # fmt: skip
    start = assumed.start_rates(dict(zip(history.industries, avg, strict=True)))
    start_arr = np.array([start[k] for k in history.industries])
    horizon = max(int(to), last)
    ahead = np.arange(last + 1, horizon + 1)
    if alt.rule("private_job_growth") is None:
        common = alt.path("private_job_growth", ahead)
    else:
        common = np.full(len(ahead), total)
        notes.append(
            f"the common rate industries converge to is the observed national private job "
            f"growth {window[0]}-{window[1]} ({total:.2%} a year): the alternative's national "
            "private job growth is a rule known only while the projection runs"
        )
    if last < last_jobs:
        notes.append(f"jobs by industry end in {last}, before the jobs ({last_jobs}): industry "
                     f"jobs are carried forward from {last}")  # fmt: skip
    w = np.maximum(0.0, 1 - (ahead - last) / convergence)
    rates = w[:, None] * start_arr[None, :] + (1 - w[:, None]) * common[:, None]  # (Y, K)
    local, national = carry_forward(history, rates)
    effect_all = industry_effect_array(local, national)  # (P, first..horizon)
    idx = years - history.years[0]
    effect = np.zeros((len(years), local.shape[0]))
    inside = idx >= 1  # a year at or before the first industry year has no effect: 0
    effect[inside] = effect_all[:, idx[inside]].T
    effect = np.nan_to_num(effect, nan=0.0)  # places with no private jobs
    return IndustryPath(
        years=years,
        effect=effect,
        method="national_industry_growth",
        notes=tuple(notes),
        national_rates=pd.DataFrame(rates, index=pd.Index(ahead, name="year"),
                                    columns=pd.Index(history.industries, name="industry")),
        common_rate=pd.Series(common, index=pd.Index(ahead, name="year"), name="common_rate"),
        average=pd.Series(avg, index=pd.Index(history.industries, name="industry"),
                          name="average"),
        start=pd.Series(start_arr, index=pd.Index(history.industries, name="industry"),
                        name="start"),
        average_window=window,
    )  # fmt: skip
