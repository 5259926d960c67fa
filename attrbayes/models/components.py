"""Reusable pieces of PyMC graphs, all non-centred.

Each helper adds named variables to the current model context; the migration model (and the
job-growth model after it) compose them. Effects are written as ``scale * z`` with standard
normal ``z`` so that the sampler sees unit-scale variables whatever the data say.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from attrbayes.config import Likelihood
from attrbayes.models.kalman import cell_grid, kalman_predict
from attrbayes.models.student_t import student_t_logp
from attrbayes.priors import PriorSet

# The noise variance per row that ``ar1_attractiveness`` adds for the filter (with ``mu``,
# the filter's input); recomputed on demand, never stored.
FILTER_NOISE = "ar_noise_var"
# Population at which the noise scale ``noise_scale`` is stated (10,000 inhabitants).
NOISE_REFERENCE_POPULATION = 10_000.0


def hierarchical_effect(
    name: str,
    priors: PriorSet,
    prior_key: str,
    dim: str,
    *,
    centred: bool = False,
    observed: np.ndarray | None = None,
) -> pt.TensorVariable:
    """Zero-sum effects ``name`` over ``dim`` with a prior scale ``prior_key``.

    The zero-sum constraint keeps the intercept identified. Non-centred (``sigma * z``)
    suits effects the data say little about; centred suits effects each backed by many
    observations (a year seen in hundreds of places), where the non-centred form would
    correlate ``z`` with ``sigma``. ``observed`` marks the coordinates with data (the
    fitted years of a window with gaps): the zero sum runs over those, and the others,
    which only the prior informs, are always non-centred (``{name}_gap_z``).
    """
    sigma = priors[prior_key].create(prior_key)
    if observed is None or np.all(observed):
        if centred:
            return pm.ZeroSumNormal(name, sigma=sigma, dims=dim)
        raw = pm.ZeroSumNormal(f"{name}_raw", sigma=1.0, dims=dim)
        return pm.Deterministic(name, sigma * raw, dims=dim)
    model = pm.modelcontext(None)
    labels = np.asarray(model.coords[dim])
    seen, gap = np.flatnonzero(observed), np.flatnonzero(~np.asarray(observed))
    model.add_coord(f"{dim}_fitted", labels[seen])
    model.add_coord(f"{dim}_gap", labels[gap])
    if centred:
        fitted = pm.ZeroSumNormal(f"{name}_fitted", sigma=sigma, dims=f"{dim}_fitted")
    else:
        fitted = sigma * pm.ZeroSumNormal(f"{name}_raw", sigma=1.0, dims=f"{dim}_fitted")
    effect = pt.zeros(len(labels))
    effect = pt.set_subtensor(effect[seen], fitted)
    effect = pt.set_subtensor(effect[gap], sigma * pm.Normal(f"{name}_gap_z", 0.0, 1.0,
                                                             dims=f"{dim}_gap"))  # fmt: skip
    return pm.Deterministic(name, effect, dims=dim)


def nested_place_effects(
    priors: PriorSet,
    expected: pt.TensorVariable,
    *,
    place_group: np.ndarray | None,
    centred: np.ndarray,
) -> pt.TensorVariable:
    """Group effects and place effects nested in them; returns each place's level.

    Place ``i`` in group ``g`` has level ``u[i] = expected[i] + group[g] + place[i]`` with
    ``place[i] ~ Normal(0, sigma_place)``. Places flagged in ``centred`` sample ``u[i]``
    directly, the others ``place[i] / sigma_place``: the centred form suits places whose
    own data pin their level down, the non-centred form places with little data. Group
    effects are zero-sum and non-centred. Adds ``group_effect`` (when there are groups)
    and ``place_effect`` deterministics.
    """
    n_places = len(centred)
    group = pt.zeros(n_places)
    if place_group is not None:
        sigma_g = priors["sigma_group"].create("sigma_group")
        raw = pm.ZeroSumNormal("group_effect_raw", sigma=1.0, dims="group")
        group = pm.Deterministic("group_effect", sigma_g * raw, dims="group")[place_group]
    sigma = priors["sigma_place"].create("sigma_place")
    mean = expected + group
    total = pt.zeros(n_places)
    if centred.any():
        idx = np.flatnonzero(centred)
        level = pm.Normal("place_level", mu=mean[idx], sigma=sigma, shape=len(idx))
        total = pt.set_subtensor(total[idx], level)
    if not centred.all():
        idx = np.flatnonzero(~centred)
        z = pm.Normal("place_effect_z", 0.0, 1.0, shape=len(idx))
        total = pt.set_subtensor(total[idx], mean[idx] + sigma * z)
    pm.Deterministic("place_effect", total - mean, dims="place")
    return total


def informative_places(
    y: np.ndarray, X: np.ndarray, place_idx: np.ndarray, population: np.ndarray
) -> np.ndarray:
    """Which places' own data pin their level down better than the spread between places.

    From pooled OLS residuals: a place is informative when the sampling variance of its
    mean residual is below the between-place variance of the mean residuals (method of
    moments). The within-place variance follows the likelihood's noise model,
    ``a + b / population`` fitted across places, so places seen in few years do not look
    precise by chance. Informative places get the centred parameterisation.
    """
    n_places = len(population)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    counts = np.bincount(place_idx, minlength=n_places)
    means = np.bincount(place_idx, weights=resid, minlength=n_places) / counts
    squares = np.bincount(place_idx, weights=(resid - means[place_idx]) ** 2, minlength=n_places)
    dof = np.maximum(counts - 1, 0)
    design = np.column_stack([np.ones(n_places), 1 / population]) * np.sqrt(dof)[:, None]
    target = np.where(dof > 0, squares / np.maximum(dof, 1), 0.0) * np.sqrt(dof)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    variance = np.maximum(coef[0] + coef[1] / population, 1e-12)
    noise = variance / counts
    between = max(np.var(means) - np.mean(noise), 1e-12)
    return noise < between


def informative_years(y: np.ndarray, X: np.ndarray, year_idx: np.ndarray) -> bool:
    """Whether year effects are pinned down by the data better than their spread.

    From pooled OLS residuals: the sampling variance of a year's mean residual (the
    residual variance over the year's count) against the between-year variance of the
    means (method of moments). Centred year effects suit the first case; where the years
    barely differ (e.g. job growth already relative to the nation), the centred form
    would put a funnel between the effects and their small scale.
    """
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    counts = np.bincount(year_idx)
    seen = counts > 0  # gap years of the window have no rows
    means = np.bincount(year_idx, weights=resid)[seen] / counts[seen]
    noise = np.var(resid) / counts[seen]
    between = np.var(means) - np.mean(noise)
    return bool(between > 4 * np.mean(noise))


def informative_path(
    y: np.ndarray,
    X: np.ndarray,
    year_idx: np.ndarray,
    place_idx: np.ndarray,
    centrality: np.ndarray,
    covariate: np.ndarray | None = None,
) -> bool:
    """Whether the yearly centrality coefficients are pinned down by the data better than
    their spread around the level (after the immigration link's share, with one).

    From pooled OLS residuals net of each place's mean (the model's place effects take
    those), one slope on centrality per year and its sampling variance; the between-year
    variance of the slopes (net of a linear fit on ``covariate``) against the mean sampling
    variance, by the method of moments as in :func:`informative_years`. Centred AR(1)
    values suit the first case (standardised innovations then diverge on real data);
    where the link explains nearly all the variation, the centred values make a funnel
    with the process's small scale. The threshold, 2.5, lies between the two kinds of
    panel measured (``benchmarks/RESULTS.md``).
    """
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    counts = np.bincount(place_idx)
    resid = resid - (np.bincount(place_idx, weights=resid) / counts)[place_idx]
    years = np.unique(year_idx)
    slopes, variances = np.empty(len(years)), np.empty(len(years))
    for k, t in enumerate(years):
        rows = year_idx == t
        c = centrality[rows] - centrality[rows].mean()
        slopes[k] = c @ resid[rows] / (c @ c)
        variances[k] = resid[rows].var() / (c @ c)
    basis = np.ones((len(years), 1))
    if covariate is not None:
        basis = np.column_stack([basis, np.asarray(covariate, dtype=float)[years]])
    fitted = basis @ np.linalg.lstsq(basis, slopes, rcond=None)[0]
    between = np.sum((slopes - fitted) ** 2) / max(len(years) - basis.shape[1], 1)
    return bool(between - variances.mean() > 2.5 * variances.mean())


def _ar1_around(level, phi, sigma, shift, size):
    """``level + shift + e`` with ``e`` a stationary AR(1) of persistence ``phi`` and
    stationary sd ``sigma`` (PyMC derives the density)."""
    deviation = pm.AR.dist(
        rho=pt.stack([phi]), sigma=sigma * pt.sqrt(1 - phi**2),
        init_dist=pm.Normal.dist(0.0, sigma), ar_order=1, steps=shift.shape[-1] - 1, size=size,
    )  # fmt: skip
    return level + shift + deviation


def _ar1_support(rv, size, level, phi, sigma, shift):
    return pt.broadcast_to(level + shift, rv.shape)


def time_varying_coefficient(
    name: str,
    priors: PriorSet,
    *,
    kind: str,
    dim: str,
    centred: bool = False,
    covariate: np.ndarray | None = None,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """A coefficient path ``{name}_path`` over ``dim`` and the part of it that is constant
    over the fitted years (on which place levels are centred): the path's mean (for the
    random walk and the constant, their level ``name``).

    ``kind`` "random_walk": a Gaussian random walk, ``name`` its mean over the years;
    "ar1": a stationary AR(1) around the long-run level ``name`` with persistence
    ``{name}_phi`` and stationary sd ``{name}_sigma`` (innovations of sd
    ``sigma sqrt(1 - phi^2)``): it reverts to the level, and its spread bounds any outlook;
    "hierarchical": independent yearly deviations of sd ``{name}_sigma`` around a common
    mean ``name`` (the AR(1) with persistence 0); "constant": no variation. Stating the
    AR(1) by its stationary sd keeps the level identified when the persistence nears 1
    (the path then flattens instead of wandering off). Centred random walks sample the yearly
    steps, centred AR(1)s the yearly values, non-centred ones standardised innovations;
    all keep the level as a separate coordinate.
    ``covariate`` (national net immigration) shifts the path linearly; it is centred, so
    the level keeps its meaning. The AR(1) is then a regression with AR(1) errors; for the
    other kinds the process's own variation is made orthogonal to the covariate, so that
    the slope is identified. Projections carry the process on and add the slope times the
    projected covariate.
    """
    n = len(pm.modelcontext(None).coords[dim])
    if kind == "constant":
        level = priors[name].create(name)
        path = level + pt.zeros(n)
    elif kind == "ar1":
        # a regression with AR(1) errors: the process is stationary, so it cannot mimic
        # the covariate for ever and the slope is identified without an orthogonal split
        level = priors[name].create(name)
        sigma = priors[f"{name}_sigma"].create(f"{name}_sigma")
        phi = priors[f"{name}_phi"].create(f"{name}_phi")
        shift = pt.zeros(n)
        if covariate is not None:
            slope = priors[f"{name}_immigration"].create(f"{name}_immigration")
            shift = slope * (np.asarray(covariate, dtype=float) - np.mean(covariate))
        if centred:
            # the yearly values themselves: the data pin them down, and the level then
            # only meets them through the AR(1) density (no level-deviation trade-off)
            path = pm.CustomDist(
                f"{name}_year", level, phi, sigma, shift, dist=_ar1_around,
                support_point=_ar1_support, signature="(),(),(),(t)->(t)", dims=dim,
            )  # fmt: skip
        else:
            z = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dim)
            innovations = sigma * pt.sqrt(1 - phi**2)
            path = level + shift + innovations * pt.dot(ar1_matrix(phi, n), z)
    elif kind == "hierarchical":
        level = priors[name].create(name)
        sigma = priors[f"{name}_sigma"].create(f"{name}_sigma")
        if centred:
            path = pm.Normal(f"{name}_year", level, sigma, dims=dim)
        else:
            path = level + sigma * pm.Normal(f"{name}_z", 0.0, 1.0, dims=dim)
    elif centred:
        # Centred yearly steps (the data inform every year); the walk starts at 0 and is
        # centred, so the level stays a coordinate of its own and nothing is unidentified.
        level = priors[name].create(name)
        sigma = priors[f"{name}_sigma"].create(f"{name}_sigma")
        model = pm.modelcontext(None)
        model.add_coord(f"{dim}_step", model.coords[dim][1:])
        steps = pm.Normal(f"{name}_step", 0.0, sigma, dims=f"{dim}_step")
        walk = pt.concatenate([pt.zeros(1), pt.cumsum(steps)])
        path = level + walk - walk.mean()
    else:
        level = priors[name].create(name)
        sigma = priors[f"{name}_sigma"].create(f"{name}_sigma")
        steps = pt.cumsum(pm.Normal(f"{name}_z", 0.0, 1.0, dims=dim))
        path = level + sigma * (steps - steps.mean())
    if covariate is not None and kind != "ar1":
        # the variation is split into the covariate's share and a remainder orthogonal to
        # it: a walk can otherwise mimic a smooth covariate, and slope and walk trade off
        c = np.asarray(covariate, dtype=float) - np.mean(covariate)
        if kind != "constant" and c @ c > 0:
            path = path - pt.dot(path - level, c) / (c @ c) * c
        slope = priors[f"{name}_immigration"].create(f"{name}_immigration")
        path = path + slope * c
    path = pm.Deterministic(f"{name}_path", path, dims=dim)
    # a process with a level of its own (AR(1), deviations) anchors the place levels on the
    # path's mean, which the data pin down: the level then meets the data only through the
    # process (no level-path trade-off for the sampler); a walk's level is its mean already
    return (path.mean() if kind in ("ar1", "hierarchical") else level), path


def ar1_matrix(phi: pt.TensorVariable, n: int) -> pt.TensorVariable:
    """Lower-triangular ``L`` with ``z = L @ e`` a stationary AR(1) for iid standard ``e``.

    ``L[t, s] = phi^(t-s)`` for ``s <= t``, with the first column scaled by
    ``1 / sqrt(1 - phi^2)`` so that the process starts in its stationary distribution.
    """
    lags = np.subtract.outer(np.arange(n), np.arange(n))
    powers = pt.switch(lags >= 0, phi ** np.maximum(lags, 0), 0.0)
    return pt.set_subtensor(powers[:, 0], powers[:, 0] / pt.sqrt(1 - phi**2))


def ar1_attractiveness(
    priors: PriorSet,
    sigma: pt.TensorVariable,
    place_sd: pt.TensorVariable | None,
    mu: pt.TensorVariable,
    noise_var: pt.TensorVariable,
    observed: np.ndarray,
    place_idx: np.ndarray,
    year_idx: np.ndarray,
    n_places: int,
    n_years: int,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Attractiveness that changes over time, integrated out of the likelihood exactly.

    ``y[i,t] = mu[i,t] + u[i] + a[i,t] + e[i,t]``: a constant place effect ``u ~ N(0,
    place_sd^2)`` (none when ``place_sd`` is None), a stationary AR(1) ``a[i,t] = phi
    a[i,t-1] + eta`` with persistence ``ar_phi`` and stationary sd ``sigma`` (innovations
    of sd ``sigma sqrt(1 - phi^2)``), and independent noise ``e`` of variance
    ``noise_var`` per row. A Kalman filter over the window's years (years without a row
    only predict) gives each row's one-step-ahead mean ``mu + E[u + a | earlier years]``
    and sd ``sqrt(Var[u + a | earlier years] + noise_var)``: the likelihood at those is the
    exact marginal likelihood for a normal ``e`` (the Student-t keeps heavy tails on the
    prediction errors). No place effect or state is sampled: over a decade a lasting
    shift and a persistent AR(1) are hard to tell apart, and sampled they made a ridge
    between ``sigma_place`` and ``ar_phi`` through hundreds of variables; integrated out,
    only those two scales and the persistence remain, and the data inform them directly.

    The filter and its gradient are compiled loops (:mod:`attrbayes.models.kalman`).
    Adds the noise variance per row (``ar_noise_var``, not stored), from which with
    ``mu`` :func:`attrbayes.attractiveness.state_draws` reruns the filter and samples
    place effects and states afterwards.
    """
    phi = priors["ar_phi"].create("ar_phi")
    noise_var = pm.Deterministic(FILTER_NOISE, noise_var * pt.ones(len(observed)), dims="obs")
    mean, var_pred = kalman_predict(
        observed - mu,
        noise_var,
        cell_grid(place_idx, year_idx, n_places, n_years),
        phi,
        sigma**2 * (1 - phi**2),  # the innovations' variance
        pt.zeros(()) if place_sd is None else place_sd**2,
        sigma**2,
    )
    return mu + mean, pt.sqrt(var_pred + noise_var)


def floor_and_ar_scale(priors: PriorSet) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """The noise floor (independent from year to year) and the stationary sd of the
    time-varying attractiveness (persistent): both are size-independent, so the data pin
    down ``floor^2 + sigma_ar^2`` well and the split less well, a curved ridge for the
    sampler. With the usual priors, two half-normals of one scale ``s``, they are sampled
    in polar form: the radius ``noise_ar_scale`` ~ Rayleigh(s) and the angle
    ``noise_ar_angle`` ~ Uniform(0, pi/2), the same joint prior; otherwise as stated."""
    floor, ar = priors["noise_floor"], priors["sigma_ar"]
    if floor.dist == ar.dist == "HalfNormal" and floor.kwargs == ar.kwargs:
        radius = pm.Weibull("noise_ar_scale", alpha=2.0, beta=floor.kwargs["sigma"] * np.sqrt(2))
        angle = pm.Uniform("noise_ar_angle", 0.0, np.pi / 2)
        return (pm.Deterministic("noise_floor", radius * pt.cos(angle)),
                pm.Deterministic("sigma_ar", radius * pt.sin(angle)))  # fmt: skip
    return floor.create("noise_floor"), ar.create("sigma_ar")


def noise_sd(
    priors: PriorSet,
    population: np.ndarray,
    spec: Likelihood,
    floor: pt.TensorVariable | None = None,
) -> pt.TensorVariable:
    """Observation noise sd: ``sqrt(floor^2 + (s * (pop / 10,000)^-k)^2)``.

    ``k`` is 0.5 (sampling noise of a rate) unless ``noise = "size_exponent"`` estimates
    it; ``noise = "constant"`` gives one sd for all places. ``floor`` is created from its
    prior unless given.
    """
    if floor is None:
        floor = priors["noise_floor"].create("noise_floor")
    if spec.noise == "constant":
        return floor
    scale = priors["noise_scale"].create("noise_scale")
    relative = np.asarray(population, dtype=float) / NOISE_REFERENCE_POPULATION
    if spec.noise == "size_exponent":
        exponent = priors["noise_exponent"].create("noise_exponent")
        size_part = scale * relative ** (-exponent)
    else:
        size_part = scale / np.sqrt(relative)
    return pt.sqrt(floor**2 + size_part**2)


def likelihood(
    name: str,
    priors: PriorSet,
    spec: Likelihood,
    mu: pt.TensorVariable,
    sigma: pt.TensorVariable,
    observed: np.ndarray,
    dim: str,
) -> pt.TensorVariable:
    """Student-t (heavy tails for refugee-settlement years) or normal likelihood. The
    Student-t is PyMC's for drawing and :func:`~attrbayes.models.student_t.student_t_logp`
    (the same density in one vectorised loop) for its log density."""
    if spec.family == "student_t":
        nu = priors["nu"].create("nu")
        return pm.CustomDist(name, mu, sigma, nu, dist=_student_t, logp=student_t_logp,
                             observed=observed, dims=dim)  # fmt: skip
    return pm.Normal(name, mu=mu, sigma=sigma, observed=observed, dims=dim)


def _student_t(mu, sigma, nu, size) -> pt.TensorVariable:
    return pm.StudentT.dist(nu=nu, mu=mu, sigma=sigma, size=size)
