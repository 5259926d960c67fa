"""Each equation's mean and noise in numpy, at posterior draws: the one evaluation that
the projection (:mod:`attrbayes.projection.engine`), the growth decomposition
(:mod:`attrbayes.decomposition`), the comparison with OLS and attractiveness's AR states
(:mod:`attrbayes.attractiveness`) share.

A fit's parameters are taken once per set of draws (:func:`equation_draws`);
:func:`equation_parts` then yields the mean's parts term by term for any covariate
values (projected years, or a design's own rows: :func:`row_parts`) and
:func:`equation_mean` adds them up; :func:`noise_sd` is the observation noise.
``tests/models/test_equation_mean.py`` checks the sum against the fitted PyMC graph's
``mu`` (and the noise against its filter's noise) for every shipped spec, so a term the
graph adds and this module lacks is a failing test, and a decomposition that names its
drivers from these parts rebuilds the graph's mean exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes.exceptions import DataError, SpecError
from attrbayes.models.components import NOISE_REFERENCE_POPULATION

if TYPE_CHECKING:
    from attrbayes.results import FitResult

# The names equation_parts gives its parts besides the terms' own.
INTERCEPT = "intercept"
CENTRALITY = "centrality"
YEAR_EFFECT = "year_effect"
ATTRACTIVENESS = "attractiveness"


@dataclass(frozen=True)
class EquationDraws:
    """Per-draw parameters of one fitted equation at chosen posterior draws."""

    kind: str
    intercept: np.ndarray  # (D,)
    slopes: dict[str, np.ndarray]  # time-varying term -> (D,)
    constants: dict[str, np.ndarray]  # place-constant term -> (D, P): coefficient x value
    path: np.ndarray  # (D, T) centrality coefficient over the fitted years (0 if none)
    path_level: np.ndarray  # (D,) its level (long-run level of an AR(1))
    path_sigma: np.ndarray  # (D,) its step (random walk) or deviation (ar1, hierarchical) sd
    path_phi: np.ndarray  # (D,) persistence of an AR(1) process
    path_kind: str
    path_immigration: np.ndarray  # (D,) slope of the coefficient on national immigration
    immigration_mean: float  # mean national net immigration rate over the fitted years
    immigration_last: float  # ... in the last fitted year
    fitted_years: np.ndarray  # the fit's window: the path's years, gap years included
    sigma_year: np.ndarray  # (D,)
    year_effects: np.ndarray  # (D, T) the fitted year effects over the fitted years (0: none)
    noise_scale: np.ndarray
    noise_floor: np.ndarray
    noise_exponent: np.ndarray
    nu: np.ndarray | None  # None: normal likelihood
    noise_kind: str
    latent: np.ndarray | None  # (D, P, T) attractiveness over the fitted years
    ar: np.ndarray | None  # (D, P, T) its time-varying AR(1) part
    phi: np.ndarray | None  # (D,) the AR part's persistence
    ar_sigma: np.ndarray | None  # (D,) the AR part's stationary sd
    centrality: np.ndarray  # (P,) scaled centrality used by the fit (0 if none)


def _draws(fit: FitResult, name: str, index: np.ndarray) -> np.ndarray:
    return fit.draws(name).isel(draw=index).to_numpy()


def equation_draws(
    fit: FitResult, places: list[str], index: np.ndarray, *, attractiveness: bool = True
) -> EquationDraws:
    """The parameters of ``fit`` at the stacked posterior draws ``index``, over ``places``;
    with ``attractiveness=False`` without the latent attractiveness (``latent`` and
    ``ar`` None), for callers that take it elsewhere. A parameter the posterior lacks (an
    effect the spec leaves out, or a point fit lacks) is 0, the noise exponent 0.5."""
    post = fit.posterior
    spec = fit.spec
    frame = fit.design.frame
    first = frame.groupby("place").first().reindex(places)
    n = len(index)

    def get(name: str, default: float = 0.0) -> np.ndarray:
        return _draws(fit, name, index) if name in post else np.full(n, default)

    constant_terms = [t for t in spec.slope_terms if first[t].notna().all()
                      and frame.groupby("place")[t].nunique().max() == 1]  # fmt: skip
    slopes = {t: get(t) for t in spec.slope_terms if t not in constant_terms}
    constants = {t: get(t)[:, None] * first[t].to_numpy(dtype=float)[None, :]
                 for t in constant_terms}  # fmt: skip
    years = fit.design.window  # the coefficient's years, gap years included
    immigration = np.zeros(len(years))
    if "centrality_immigration" in post:  # the covariate the fit centred
        immigration = fit.model().national_immigration()
    if spec.has_centrality:
        path = _draws(fit, "centrality_path", index).reshape(n, len(years))
        centrality = first["centrality"].to_numpy(dtype=float)
    else:
        path = np.zeros((n, len(years)))
        centrality = np.zeros(len(places))
    year_effects = np.zeros((n, len(years)))
    if "year_effect" in post:
        fitted = fit.draws("year_effect").isel(draw=index).transpose("draw", "year")
        year_effects[:, pd.Index(years).get_indexer(fitted["year"].to_numpy())] = fitted
    latent = ar = None
    if attractiveness:
        at, state = fit.attractiveness_at(index)
        at = at.sel(place=places)
        latent = at.transpose("draw", "place", "year").to_numpy()
        if state is not None:
            ar = state["ar"].sel(place=places, year=at.year)
            ar = ar.transpose("draw", "place", "year").to_numpy().astype(np.float32)
    ar1 = bool(spec.attractiveness.ar1)
    return EquationDraws(
        kind=fit.kind,
        intercept=get("intercept"),
        slopes=slopes,
        constants=constants,
        path=path,
        path_level=get("centrality"),
        path_sigma=get("centrality_sigma"),
        path_phi=get("centrality_phi"),
        path_kind=spec.time_varying.centrality if spec.has_centrality else "none",
        path_immigration=get("centrality_immigration"),
        immigration_mean=float(immigration.mean()),
        immigration_last=float(immigration[-1]),
        fitted_years=years,
        sigma_year=get("sigma_year"),
        year_effects=year_effects,
        noise_scale=get("noise_scale"),
        noise_floor=get("noise_floor"),
        noise_exponent=get("noise_exponent", 0.5),
        nu=get("nu") if spec.likelihood.family == "student_t" else None,
        noise_kind=spec.likelihood.noise,
        latent=latent,
        ar=ar,
        phi=get("ar_phi") if ar1 else None,
        ar_sigma=get("sigma_ar") if ar1 else None,
        centrality=centrality,
    )


def equation_parts(
    eq: EquationDraws,
    idx: slice | np.ndarray,
    covariates: Mapping[str, np.ndarray],
    coefficient: np.ndarray,
    year_effect: np.ndarray | float,
    attractiveness: np.ndarray | float,
    places: slice | np.ndarray = slice(None),
) -> Iterator[tuple[str, np.ndarray]]:
    """An equation's mean part by part at draws ``idx``, as (name, values): the
    intercept, each place-constant term, the centrality coefficient times centrality,
    each time-varying term's slope times its covariate, the year effect and
    attractiveness (named by the module's constants, the terms by their own names).

    ``covariates`` holds every time-varying term's values (columns, or draws x columns);
    ``coefficient`` and ``year_effect`` are (draws, 1) or (draws, columns); ``places``
    maps the columns to the equation's places (all, in order, in a projection; a design's
    rows in a decomposition).
    """
    missing = [term for term in eq.slopes if term not in covariates]
    if missing:
        raise SpecError(f"the {eq.kind} equation's term {missing[0]!r} has no values to "
                        f"project with (have {sorted(covariates)})")  # fmt: skip
    yield INTERCEPT, eq.intercept[idx, None]
    for term, values in eq.constants.items():
        yield term, values[idx][:, places]
    yield CENTRALITY, coefficient * eq.centrality[places]
    for term, slope in eq.slopes.items():
        yield term, slope[idx, None] * covariates[term]
    yield YEAR_EFFECT, year_effect
    yield ATTRACTIVENESS, attractiveness


def equation_mean(parts: Iterator[tuple[str, np.ndarray]]) -> np.ndarray:
    """The sum of an equation's parts (:func:`equation_parts`): the fitted graph's ``mu``."""
    mean = np.array(next(parts)[1], dtype=float)  # a copy: the parts may be views
    for _, values in parts:
        if np.broadcast_shapes(mean.shape, np.shape(values)) == mean.shape:
            mean += values  # in place: a design's rows x draws take 60 MB a pass
        else:
            mean = mean + values
    return mean


def row_parts(
    fit: FitResult, rows: pd.DataFrame, index: np.ndarray, *, attractiveness: bool = True
) -> tuple[EquationDraws, Iterator[tuple[str, np.ndarray]]]:
    """The fit's parameters at the stacked draws ``index`` (without the latent
    attractiveness) and its mean's parts (:func:`equation_parts`, each (draw, row)) on
    ``rows`` of its design (place, year and the time-varying terms). The attractiveness
    part is the sampled constant one (:func:`fixed_attractiveness`; with it the parts add
    up to the fitted graph's ``mu``) or, with ``attractiveness=False``, 0."""
    places = np.sort(rows["place"].unique())
    place_idx = pd.Index(places).get_indexer(rows["place"])
    eq = equation_draws(fit, list(places), index, attractiveness=False)
    year_idx = pd.Index(eq.fitted_years).get_indexer(rows["year"])
    fixed = 0.0
    if attractiveness:
        fixed = fixed_attractiveness(fit, index, places).to_numpy()[:, place_idx]
    covariates = {term: rows[term].to_numpy(float) for term in eq.slopes}
    return eq, equation_parts(eq, slice(None), covariates, eq.path[:, year_idx],
                              eq.year_effects[:, year_idx], fixed, place_idx)  # fmt: skip


def fixed_attractiveness(fit: FitResult, index: np.ndarray, places: np.ndarray) -> xr.DataArray:
    """The sampled, constant part of attractiveness (draw, place): region (group) plus
    place effect where the posterior has them (zero without), at the stacked draws
    ``index``; what the likelihood integrated out
    (:func:`attrbayes.attractiveness.state_draws`) comes on top."""
    post = fit.posterior
    out = np.zeros((len(index), len(places)))
    if "group_effect" in post:
        frame = fit.design.frame
        groups = frame.groupby("place")[fit.model().group_column].first().reindex(places)
        effect = fit.draws("group_effect").isel(draw=index).transpose("draw", "group")
        codes = pd.Index(effect["group"].to_numpy()).get_indexer(groups.to_numpy())
        if (codes < 0).any():
            raise DataError(f"fit {fit.spec.name}: places in groups the posterior lacks: "
                            f"{sorted(set(groups[codes < 0]))}")  # fmt: skip
        out += effect.to_numpy()[:, codes]
    if "place_effect" in post:
        effect = fit.draws("place_effect").isel(draw=index).transpose("draw", "place")
        out += effect.sel(place=places).to_numpy()
    return xr.DataArray(out, coords={"draw": index, "place": places}, dims=("draw", "place"))


def noise_sd(eq: EquationDraws, idx: slice | np.ndarray, size: np.ndarray) -> np.ndarray:
    """The observation noise sd at draws ``idx`` for bases ``size`` (rows, or draws x
    places), as the fitted graph has it (:func:`attrbayes.models.components.noise_sd`):
    ``sqrt(floor^2 + (scale * (size / 10,000)^-exponent)^2)``, or the floor alone."""
    floor = eq.noise_floor[idx, None]
    if eq.noise_kind == "constant":
        return np.broadcast_to(floor, np.broadcast_shapes(floor.shape, np.shape(size)))
    relative = size / NOISE_REFERENCE_POPULATION
    part = eq.noise_scale[idx, None] * relative ** (-eq.noise_exponent[idx, None])
    return np.sqrt(floor**2 + part**2)
