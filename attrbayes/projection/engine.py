"""The cohort-component projection over posterior draws (MODEL.md 5-6).

Each year ``t`` and every draw, places x sexes x single ages 0..105+ at once:

1. **Jobs** (year t, by workplace): private growth relative to the nation from the job
   model (industry effect of the places' industry mix under national growth by industry
   converging over the convergence years, :mod:`attrbayes.projection.industry`, or,
   without jobs by industry, the last years' effect fading to 0; population effect of
   the projected population, centrality when in the spec, year effect, business
   attractiveness, noise), re-centred so that private jobs grow at the national
   assumption; public jobs at the scenario rate. Years between the last observed jobs
   and the base year are bridged the same way on observed population. With the rule
   ``"employment_rates"`` the national rate of year y is E(y) / E(y-1) - 1, E the
   employed persons of the panel's employment rates (held constant) x the population on
   1 January (observed up to the base year, projected per draw after it).
2. **Net migration** (during t) from the migration model: VRA of the projected job growth
   through the commuting matrix (lags 0-2), DS of the projected age structure,
   centrality with its coefficient carried forward by its own process (stepped through
   every year after the fit, the gap to the base year included), year effect,
   residential attractiveness and noise (with time-varying attractiveness, its future
   innovations too), plus the place's share of national net
   immigration. Domestic migration is kept consistent: the places' net migration is
   shifted in proportion to population so that it sums to national net immigration.
   National net immigration is the assumed rate, or, where the alternative gives a
   ``national_population`` path, per draw what brings the nation to that path on 1
   January of the next year: ``(target(t+1) - (N_t + births - deaths)) / N_t``, births
   and deaths of the year being computed first (they do not depend on the migrants).
   Leavers a cohort cannot lose (no negative cohorts) are then taken from the nation's
   mobile ages, so the total stays on target. The control holds for the neutral and
   historical scenarios; high and low are per-place what-ifs (their uniform shift is kept
   out of every national control) and keep the assumed ``net_immigration_rate``.
3. **Cohort step**: deaths from national q(x) (falling by the mortality assumption) x the
   place's mortality ratio; births from national fertility scaled to the TFR path x the
   place's fertility ratio (105 boys per 100 girls); net migrants by sex and age from the
   place's historical net migration rates by age, the migrants beyond those falling on
   the ages by the national mobility schedule (young adults move most). With
   process noise, each draw has its own local ratios (drawn once from their Gamma
   posteriors) and births and deaths vary as Poisson counts (normal approximation, so
   every scenario consumes the same random numbers); deaths beyond those of the
   posterior-mean ratio are removed in proportion to q(x).

What-if runs (job shocks, the levels a target needs) replay a baseline run's national
quantities (:class:`Intervention`), so that a change in one place reaches the others only
through commuting, and a change of 0 changes nothing.

Coefficients, paths, attractiveness and noise all come from the same posterior draw, so
uncertainty propagates through the years instead of being added afterwards. Draws are
processed in chunks to bound memory; every scenario uses the same random numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from attrbayes import __version__
from attrbayes.constants import MAX_AGE
from attrbayes.data.panel import Panel
from attrbayes.exceptions import DataError, SpecError
from attrbayes.features.demographic_supply import ds_absolute
from attrbayes.features.design import compute_features
from attrbayes.models.components import NOISE_REFERENCE_POPULATION
from attrbayes.projection.assumptions import Alternative, load_assumptions
from attrbayes.projection.industry import industry_effect_path
from attrbayes.projection.inputs import ProjectionInputs, build_inputs
from attrbayes.projection.result import AGE_GROUPS_PROJECTION, PER_PLACE, ProjectionResult
from attrbayes.projection.scenarios import (
    SCENARIOS,
    WHAT_IFS,
    CustomScenario,
    attractiveness_path,
    check_scenarios,
)
from attrbayes.results import FitResult, stack_draws

BOY_SHARE = 105 / 205
INFANT_EXPOSURE = 0.5  # births are exposed to infant mortality for half a year on average
VRA_LAGS = ("vra_t", "vra_t1", "vra_t2")
PROCESSES = ("random_walk", "ar1", "hierarchical", "constant")
JOB_KEYS = ("private_job_growth", "public_job_growth")


@dataclass(frozen=True)
class EquationDraws:
    """Per-draw parameters of one fitted equation, subsampled to the projection's draws."""

    kind: str
    intercept: np.ndarray  # (D,)
    slopes: dict[str, np.ndarray]  # term -> (D,)
    constants: np.ndarray  # (D, P): place-constant terms (e.g. students share) x coef
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
    noise_scale: np.ndarray
    noise_floor: np.ndarray
    noise_exponent: np.ndarray
    nu: np.ndarray | None  # None: normal likelihood
    noise_kind: str
    latent: np.ndarray  # (D, P, T) attractiveness over the fitted years
    ar: np.ndarray | None  # (D, P, T) its time-varying AR(1) part
    phi: np.ndarray | None  # (D,) the AR part's persistence
    ar_sigma: np.ndarray | None  # (D,) the AR part's stationary sd
    centrality: np.ndarray  # (P,) scaled centrality used by the fit (0 if none)


def _draws(fit: FitResult, name: str, index: np.ndarray) -> np.ndarray:
    return stack_draws(fit.posterior[name]).isel(draw=index).to_numpy()


def equation_draws(fit: FitResult, places: list[str], index: np.ndarray) -> EquationDraws:
    """The parameters of ``fit`` at posterior draws ``index``, over ``places``."""
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
    constants = np.zeros((n, len(places)))
    for term in constant_terms:
        constants += get(term)[:, None] * first[term].to_numpy(dtype=float)[None, :]
    years = fit.design.window  # the coefficient's years, gap years included
    immigration = np.zeros(len(years))
    if "centrality_immigration" in post:  # the covariate the fit centred
        immigration = fit.model().national_immigration()
    if "centrality_path" in post:
        path = _draws(fit, "centrality_path", index).reshape(n, len(years))
        centrality = first["centrality"].to_numpy(dtype=float)
    else:
        path = np.zeros((n, len(years)))
        centrality = np.zeros(len(places))
    latent = fit.latent_attractiveness.isel(draw=index).sel(place=places)
    ar = None
    if fit.attractiveness_state is not None:
        ar = fit.attractiveness_state["ar"].isel(draw=index).sel(place=places, year=latent.year)
        ar = ar.transpose("draw", "place", "year").to_numpy()
    return EquationDraws(
        kind=fit.kind,
        intercept=get("intercept"),
        slopes=slopes,
        constants=constants,
        path=path,
        path_level=get("centrality"),
        path_sigma=get("centrality_sigma"),
        path_phi=get("centrality_phi"),
        path_kind=spec.time_varying.centrality if "centrality_path" in post else "none",
        path_immigration=get("centrality_immigration"),
        immigration_mean=float(immigration.mean()),
        immigration_last=float(immigration[-1]),
        fitted_years=years,
        sigma_year=get("sigma_year"),
        noise_scale=get("noise_scale"),
        noise_floor=get("noise_floor"),
        noise_exponent=get("noise_exponent", 0.5),
        nu=get("nu") if spec.likelihood.family == "student_t" else None,
        noise_kind=spec.likelihood.noise,
        latent=latent.transpose("draw", "place", "year").to_numpy(),
        ar=ar,
        phi=get("ar_phi") if ar is not None else None,
        ar_sigma=get("sigma_ar") if ar is not None else None,
        centrality=centrality,
    )


class _Noise:
    """One equation's observation noise in projected years.

    Independent draws; with time-varying attractiveness its future innovations too: the
    AR(1) part's known past is the scenario's (the historical scenario carries the last
    fitted value, decaying), so here it starts at 0 in the last fitted year and is stepped
    once per year from there (the years between the fit and the projection included),
    its spread growing towards the stationary sd.
    """

    def __init__(self, eq: EquationDraws, idx: slice, rng: np.random.Generator) -> None:
        self.eq, self.idx, self.rng = eq, idx, rng
        self.state = None if eq.ar_sigma is None else np.zeros((idx.stop - idx.start, 1))
        self.year = int(eq.fitted_years[-1])

    def _innovation(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.eq.nu is None:
            return self.rng.standard_normal(shape)
        return self.rng.standard_t(self.eq.nu[self.idx, None], size=shape)

    def draw(self, size: np.ndarray, year: int) -> np.ndarray:
        """The noise (D, P) of ``year`` for bases ``size`` (D, P)."""
        eq, idx = self.eq, self.idx
        floor = eq.noise_floor[idx, None]
        if eq.noise_kind == "constant":
            sd = np.broadcast_to(floor, size.shape)
        else:
            relative = np.maximum(size, 1.0) / NOISE_REFERENCE_POPULATION
            part = eq.noise_scale[idx, None] * relative ** (-eq.noise_exponent[idx, None])
            sd = np.sqrt(floor**2 + part**2)
        noise = sd * self._innovation(size.shape)
        if self.state is None:
            return noise
        phi = eq.phi[idx, None]
        step_sd = eq.ar_sigma[idx, None] * np.sqrt(1 - phi**2)
        for _ in range(max(year - self.year, 1)):
            self.state = phi * self.state + step_sd * self.rng.standard_normal(size.shape)
        self.year = year
        return noise + self.state


class _Paths:
    """Centrality coefficient and year effects of one equation, carried past the fit.

    The coefficient's own process continues from its value in the last fitted year and is
    stepped once for every later year, the years between the fit and the base year
    included (so a projection from 2026 of a fit to 2016 starts ten steps out):

    * ``random_walk``: plus a step of sd ``sigma``;
    * ``ar1``: back towards the long-run level by the persistence ``phi``, plus an
      innovation of sd ``sigma sqrt(1 - phi^2)`` (``sigma`` is the stationary sd);
    * ``hierarchical``: a new deviation of sd ``sigma`` around the level;
    * ``constant``: the level.

    Where the fit links the coefficient to national net immigration, the link's share is
    taken out of the last fitted value and added back with each year's rate
    (``immigration(year)``). With ``innovations=False`` the process follows its expected
    path (the same random numbers are drawn, so everything else stays as it was).
    Every coefficient past the fit is kept in ``history`` (year -> (D,)).
    """

    def __init__(
        self, eq: EquationDraws, idx: slice, rng: np.random.Generator,
        immigration: Callable[[int], float], *, innovations: bool = True,
    ) -> None:  # fmt: skip
        self.eq, self.idx, self.rng, self.immigration = eq, idx, rng, immigration
        self.slope = eq.path_immigration[idx]
        shift = self.slope * (eq.immigration_last - eq.immigration_mean)
        self.process = eq.path[idx, -1] - shift
        self.year = int(eq.fitted_years[-1])
        self.scale = 1.0 if innovations else 0.0
        self.history: dict[int, np.ndarray] = {}

    def _advance(self) -> None:
        eq, idx = self.eq, self.idx
        if eq.path_kind not in PROCESSES:
            return
        shock = self.scale * self.rng.standard_normal(len(self.process))
        level, sigma = eq.path_level[idx], eq.path_sigma[idx]
        if eq.path_kind == "random_walk":
            self.process = self.process + sigma * shock
        elif eq.path_kind == "ar1":
            phi = eq.path_phi[idx]
            innovation = sigma * np.sqrt(1 - phi**2) * shock
            self.process = level + phi * (self.process - level) + innovation
        elif eq.path_kind == "hierarchical":
            self.process = level + sigma * shock
        else:
            self.process = level

    def coefficient(self, year: int) -> np.ndarray:
        """The coefficient (D,) in ``year``: as fitted in fitted years, else the process
        stepped through every year up to ``year``."""
        eq = self.eq
        if year <= eq.fitted_years[-1]:
            return eq.path[self.idx, int(np.searchsorted(eq.fitted_years, year))]
        while self.year < year:
            self.year += 1
            self._advance()
            link = self.slope * (self.immigration(self.year) - eq.immigration_mean)
            self.history[self.year] = self.process + link
        return self.history[year]

    def step(self, year: int) -> tuple[np.ndarray, np.ndarray]:
        """(centrality coefficient, year effect) for ``year``, both (D,)."""
        coef = self.coefficient(year)
        return coef, self.eq.sigma_year[self.idx] * self.rng.standard_normal(len(coef))


def coefficient_outlook(
    fit: FitResult,
    years: Sequence[int],
    *,
    draws: int = 1000,
    seed: int = 20261128,
    immigration: Callable[[int], float] | None = None,
    innovations: bool = True,
) -> xr.DataArray:
    """The fit's centrality coefficient (draw, year) in ``years``, carried past the fit by
    its process exactly as :func:`project` carries it, without projecting anything else;
    ``immigration(year)`` is the national net immigration rate where the spec links the
    coefficient to it."""
    if "centrality_path" not in fit.posterior:
        raise SpecError(f"spec {fit.spec.name} has no centrality term")
    if fit.spec.time_varying.immigration and immigration is None:
        raise SpecError(f"spec {fit.spec.name} links the coefficient to immigration: give the "
                        "immigration rate of each year")  # fmt: skip
    total = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
    n = min(draws, total)
    index = np.linspace(0, total - 1, n).round().astype(int)
    places = sorted(fit.design.frame["place"].unique())
    paths = _Paths(equation_draws(fit, places, index), slice(0, n), np.random.default_rng(seed),
                   immigration or (lambda _year: 0.0), innovations=innovations)  # fmt: skip
    values = np.stack([paths.coefficient(int(y)) for y in years], axis=1)
    return xr.DataArray(values, dims=("draw", "year"), coords={"year": list(years)},
                        name="centrality_coefficient")  # fmt: skip


def death_probabilities(inputs: ProjectionInputs, alt: Alternative, year: int) -> np.ndarray:
    """National q(x) (S, A) in ``year``: the last observed rates lowered by each year's
    assumed decline since then."""
    decline = alt.path("mortality_decline", np.arange(inputs.death_prob_year + 1, year + 1))
    return np.clip(inputs.death_prob * np.prod(1 - decline), 0, 1)


def _relative(values: np.ndarray, base: np.ndarray, national: np.ndarray | None = None):
    """Growth of each place minus the aggregate's growth (``national``, (D, 1), where
    given), per draw (rows)."""
    growth = values / np.maximum(base, 1e-9) - 1
    if national is None:
        national = _aggregate_growth(values, base)
    return growth - national


def _aggregate_growth(values: np.ndarray, base: np.ndarray) -> np.ndarray:
    return values.sum(axis=1, keepdims=True) / base.sum(axis=1, keepdims=True) - 1


@dataclass(frozen=True)
class JobShock:
    """``jobs`` private jobs added to ``place`` in ``year`` (negative for a closure); they
    stay, later growth building on them."""

    place: str
    year: int
    jobs: float

    @classmethod
    def parse(cls, text: str) -> JobShock:
        """``CODE:YEAR:+N``, e.g. ``5614:2027:+500`` or ``0301:2030:-1200``."""
        try:
            place, year, jobs = text.split(":")
            shock = cls(place.strip(), int(year), float(jobs))
        except ValueError:
            raise SpecError(f"--jobs-shock {text!r}: expected CODE:YEAR:+N, e.g. "
                            "5614:2027:+500 (N negative for a closure)") from None  # fmt: skip
        if not np.isfinite(shock.jobs):
            raise SpecError(f"--jobs-shock {text!r}: the number of jobs must be finite")
        return shock

    def describe(self) -> str:
        return f"{self.place}:{self.year}:{self.jobs:+g}"


@dataclass(frozen=True)
class Intervention:
    """What-if changes to a run, per draw and place: ``residential`` (year -> (D, P)) added
    to the residential attractiveness rate of a year, ``jobs`` (year -> (D, P)) private
    jobs added in a year. Applied in a run that replays a baseline's national quantities, so
    the rest of the country is as in the baseline except through commuting."""

    residential: dict[int, np.ndarray] = field(default_factory=dict)
    jobs: dict[int, np.ndarray] = field(default_factory=dict)


class _Controls:
    """The national quantities of one chunk's run (aggregate growth, re-centring shifts,
    national job growth and net immigration): a baseline records them, a what-if run
    replays them, so that a change in one place moves the others only through commuting
    and a change of 0 changes nothing."""

    def __init__(self, recorded: dict | None = None) -> None:
        self.replaying = recorded is not None
        self.values: dict = {} if recorded is None else recorded

    def __call__(self, key: str, year: int, value: np.ndarray) -> np.ndarray:
        """``value`` computed by this run, or the baseline's when replaying."""
        if self.replaying:
            return self.values[key, year]
        self.values[key, year] = value
        return value


@dataclass
class Run:
    """One scenario's per-draw outputs (D, P, years ...) and the national quantities each
    chunk recorded (chunk start -> values), for what-if runs to replay."""

    out: dict[str, np.ndarray]
    controls: dict[int, dict]


class Projector:
    """Everything a projection needs, prepared once (inputs, assumptions, posterior
    draws); :meth:`run` projects one scenario over all draws, chunk by chunk.

    ``noise`` switches the yearly process noise (observation noise, local ratios,
    Poisson events); ``centrality_noise`` the innovations of the centrality coefficient's
    process past the fit (off: the coefficient follows its expected path), which measures
    how much of the fans the coefficient's outlook makes. ``custom`` gives the levels of
    the ``custom`` scenario.
    """

    def __init__(
        self,
        migration: FitResult,
        jobs: FitResult,
        panel: Panel,
        *,
        assumptions: str = "synthetic",
        alternative: str = "main",
        to: int = 2050,
        draws: int = 1000,
        chunk: int = 125,
        workers: int | None = None,
        seed: int = 20261128,
        noise: bool = True,
        centrality_noise: bool = True,
        pyramid_years: Sequence[int] | None = None,
        custom: CustomScenario | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if migration.kind != "migration" or jobs.kind != "jobs":
            raise SpecError("project needs a migration fit and a jobs fit (in that order)")
        for fit in (migration, jobs):
            if fit.design.level != "municipality":
                raise SpecError(f"fit of {fit.spec.name} is at {fit.design.level} level; "
                                "projections run on municipality fits")  # fmt: skip
        places = sorted(migration.design.frame["place"].unique())
        if places != sorted(jobs.design.frame["place"].unique()):
            raise DataError("the migration and jobs fits cover different places")
        if draws < 1:
            raise SpecError(f"draws must be at least 1, got {draws}")
        self.say = progress or (lambda _msg: None)
        self.say("inputs")
        features = compute_features(panel, "municipality")
        self.inputs = inputs = build_inputs(panel, features.frame, places)
        if to <= inputs.base_year:
            raise SpecError(f"--to {to} must be after the base year {inputs.base_year}")
        self.alt = alt = load_assumptions(assumptions)[alternative]
        self.industry = industry_effect_path(inputs, alt, to)
        observed_rate = features.frame.groupby("year")["national_rate"].first().dropna()

        def immigration_rate(year: int) -> float:
            """National net immigration: observed before the base year, else assumed."""
            if year < inputs.base_year and year in observed_rate.index:
                return float(observed_rate[year])
            return float(alt.path("net_immigration_rate", np.array([year]))[0])

        self.immigration_rate = immigration_rate
        self.uses_ds = "ds" in migration.spec.terms
        if self.uses_ds and inputs.employment is None:
            raise DataError("the migration spec has DS but the panel has no employment_rates")
        _check_job_rules(inputs, alt, assumptions, alternative)
        self.say("posterior draws")
        sizes = [f.posterior.sizes["chain"] * f.posterior.sizes["draw"] for f in (migration, jobs)]
        self.n = n = min(draws, *sizes)
        self.mig, self.job = (
            equation_draws(fit, places, np.linspace(0, size - 1, n).round().astype(int))
            for fit, size in zip((migration, jobs), sizes, strict=True)
        )  # fmt: skip
        self.years = np.arange(inputs.base_year, to + 1)
        self.pyramid_years = np.array(
            sorted(set((inputs.base_year, to) if pyramid_years is None else pyramid_years)),
            dtype=int,
        )  # fmt: skip
        bad = [int(y) for y in self.pyramid_years if y not in self.years]
        if bad:
            raise SpecError(f"pyramid years {bad} are outside {self.years[0]}-{self.years[-1]}")
        self.last_jobs = int(max(inputs.history_private.columns))
        self.migration, self.jobs = migration, jobs
        self.assumptions, self.alternative = assumptions, alternative
        self.chunk, self.workers, self.seed = chunk, workers, seed
        self.noise, self.centrality_noise, self.custom = noise, centrality_noise, custom

    @property
    def places(self) -> list[str]:
        return self.inputs.places

    def run(
        self,
        scenario: str,
        *,
        intervention: Intervention | None = None,
        replay: dict[int, dict] | None = None,
    ) -> Run:
        """Project ``scenario`` over all draws; with ``replay`` (a baseline run's
        ``controls``) the national quantities are the baseline's and ``intervention``
        applies."""
        if intervention is not None and replay is None:
            raise SpecError("an intervention runs against a baseline: give its controls")
        n, p, n_years = self.n, len(self.places), len(self.years)
        shape = (n, p, n_years)
        out = {k: np.full(shape, np.nan, dtype=np.float32) for k in PER_PLACE}
        out["age_groups"] = np.full((*shape, len(AGE_GROUPS_PROJECTION)), np.nan,
                                    dtype=np.float32)  # fmt: skip
        out["pyramid"] = np.zeros((n, p, len(self.pyramid_years), 2, MAX_AGE + 1),
                                  dtype=np.float32)  # fmt: skip
        fitted = self.mig.fitted_years.astype(int)
        out["centrality_coefficient"] = np.full(
            (n, len(fitted) + int(self.years[-1]) - int(fitted[-1])), np.nan
        )  # fmt: skip
        out["national_net_immigration_rate"] = np.full((n, n_years), np.nan)
        controls: dict[int, dict] = {}

        def task(start: int) -> None:
            idx = slice(start, min(start + self.chunk, n))
            rng = np.random.default_rng([self.seed, start])  # the same numbers in every run
            chunk_controls = _Controls(None if replay is None else replay[start])
            result = self._run_chunk(scenario, idx, rng, intervention, chunk_controls)
            for key, value in result.items():
                out[key][idx] = value
            controls[start] = chunk_controls.values
            self.say(f"{scenario}: draws {idx.start + 1}-{idx.stop} of {n}")

        # numpy releases the GIL in large array operations: chunks run side by side
        with ThreadPoolExecutor(max_workers=self.workers or min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(task, range(0, n, self.chunk)))
        return Run(out, controls)

    def _scenario_paths(
        self, scenario: str, idx: slice, all_years: np.ndarray
    ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Residential and business attractiveness (year -> (D, P)) of ``scenario``."""
        custom = self.custom or CustomScenario()
        paths = []
        for eq, level in ((self.mig, custom.residential), (self.job, custom.business)):
            steps = np.maximum(all_years - int(eq.fitted_years[-1]), 0)
            path = attractiveness_path(
                scenario, eq.latent[idx], steps, ar=None if eq.ar is None else eq.ar[idx],
                phi=None if eq.phi is None else eq.phi[idx], level=level,
            )  # fmt: skip
            paths.append({int(y): path[:, :, k] for k, y in enumerate(all_years)})
        return paths[0], paths[1]

    def _run_chunk(
        self,
        scenario: str,
        idx: slice,
        rng: np.random.Generator,
        intervention: Intervention | None,
        national: _Controls,
    ) -> dict[str, np.ndarray]:
        inputs, alt, mig, job = self.inputs, self.alt, self.mig, self.job
        years, pyramid_years, noise = self.years, self.pyramid_years, self.noise
        d = idx.stop - idx.start
        p = len(inputs.places)
        base = inputs.base_year
        hist_pop = inputs.history_population
        priv, pub = inputs.history_private, inputs.history_public
        last_jobs = self.last_jobs
        all_years = np.arange(min(last_jobs + 1, base), years[-1] + 1)
        res_att, bus_att = self._scenario_paths(scenario, idx, all_years)
        extra_jobs: dict[int, np.ndarray] = {}
        if intervention is not None:
            for y, extra in intervention.residential.items():
                res_att[y] = res_att[y] + extra[idx]
            extra_jobs = {y: v[idx] for y, v in intervention.jobs.items()}
        # high, low and custom are what-ifs for each place ("this place at the 80th
        # percentile"): the uniform shift is kept out of the national controls, which
        # would otherwise cancel it
        controlled = 0.0 if scenario in WHAT_IFS else 1.0
        # the national population path, for the scenarios the national controls hold in
        target_span = alt.span("national_population") if controlled else None
        national_jobs = _NationalJobs(inputs, alt, d)
        mig_paths = _Paths(mig, idx, rng, self.immigration_rate, innovations=self.centrality_noise)
        job_paths = _Paths(job, idx, rng, self.immigration_rate, innovations=self.centrality_noise)
        mig_noise, job_noise = _Noise(mig, idx, rng), _Noise(job, idx, rng)
        if noise:  # local fertility and mortality ratios are estimates too: one draw each
            fertility = inputs.ratio_draws("births", d, rng)
            excess_mortality = inputs.ratio_draws("deaths", d, rng) / inputs.mortality_ratio - 1
        else:
            fertility = np.broadcast_to(inputs.fertility_ratio, (d, p))
            excess_mortality = np.zeros((d, p))

        # state: jobs by year (observed history broadcast over draws), population totals
        private = {
            int(y): np.broadcast_to(priv[y].to_numpy(float), (d, p)).copy() for y in priv.columns
        }
        public = {
            int(y): np.broadcast_to(pub[y].to_numpy(float), (d, p)).copy() for y in pub.columns
        }
        totals = {int(y): np.broadcast_to(hist_pop[y].to_numpy(float), (d, p)).copy()
                  for y in hist_pop.columns if y <= base}  # fmt: skip
        ra: dict[int, np.ndarray] = {}
        for y in sorted(private):
            if y - 1 in private:
                ra[y] = _relative(private[y] + public[y], private[y - 1] + public[y - 1])
        weights_t = inputs.weights.T
        pop = np.broadcast_to(inputs.population.astype(np.float32),
                              (d, *inputs.population.shape)).copy()  # fmt: skip
        # the cohort step's factor, place-major: one small matrix product per place
        factor_rows = np.empty((p, d, pop[0, 0].size), dtype=pop.dtype)
        factor = factor_rows.transpose(1, 0, 2).reshape(pop.shape)  # a (d, p, S, A) view
        # columns: all ages, the reported age groups, persons weighted by mobility
        n_groups = len(AGE_GROUPS_PROJECTION)
        by_age = np.zeros((MAX_AGE + 1, 1 + n_groups), dtype=np.float32)
        by_age[:, 0] = 1
        for g, (lo, hi) in enumerate(AGE_GROUPS_PROJECTION.values(), start=1):
            by_age[lo : hi + 1, g] = 1
        mobility = inputs.mobility.astype(np.float32)
        # (S * A, columns): one matmul instead of several einsums
        indicator = np.hstack([np.vstack([by_age, by_age]), mobility.reshape(-1, 1)])
        out = {k: np.full((d, p, len(years)), np.nan) for k in PER_PLACE}
        national_rate = np.full((d, len(years)), np.nan)
        groups = np.full((d, p, len(years), n_groups), np.nan)
        pyramid = np.zeros((d, p, len(pyramid_years), 2, MAX_AGE + 1))

        def pop_growth(y: int) -> np.ndarray:
            """Population growth of each place in ``y`` relative to the nation's."""
            aggregate = national("population", y, _aggregate_growth(totals[y], totals[y - 1]))
            return _relative(totals[y], totals[y - 1], aggregate)

        for year in all_years:
            year = int(year)
            if year >= base:
                national_jobs.observe(year, pop)
            # 1. jobs of `year`
            if year > last_jobs:
                pg = np.mean([pop_growth(y) for y in (year - 1, year - 2, year - 3)], axis=0)
                coef, year_effect = job_paths.step(year)
                rel = (job.intercept[idx, None] + job.constants[idx]
                       + job.slopes.get("industry_effect", np.zeros(d))[idx, None]
                       * self.industry.at(year)[None, :]
                       + job.slopes.get("pop_growth_lag", np.zeros(d))[idx, None] * pg
                       + coef[:, None] * job.centrality[None, :]
                       + year_effect[:, None] + controlled * bus_att[year])  # fmt: skip
                if noise:
                    rel = rel + job_noise.draw(private[year - 1], year)
                prev = private[year - 1]
                weight = prev.sum(axis=1, keepdims=True)  # 0 only where every job is gone
                mean = np.divide((rel * prev).sum(axis=1, keepdims=True), weight,
                                 out=np.zeros_like(weight), where=weight > 0)  # fmt: skip
                rel = rel - national("jobs_shift", year, mean)
                rel = rel + (1 - controlled) * bus_att[year]
                growth = national(
                    "private_job_growth", year, national_jobs.growth("private_job_growth", year)
                )
                private[year] = np.maximum(prev * (1 + growth + rel), 0.0)
                if year in extra_jobs:
                    private[year] = np.maximum(private[year] + extra_jobs[year], 0.0)
                public_growth = national(
                    "public_job_growth", year, national_jobs.growth("public_job_growth", year)
                )
                public[year] = public[year - 1] * (1 + public_growth)  # fmt: skip
                now, before = private[year] + public[year], private[year - 1] + public[year - 1]
                aggregate = national("jobs", year, _aggregate_growth(now, before))
                ra[year] = _relative(now, before, aggregate)
            if year < base:
                continue
            t = int(year - base)
            summed = (pop.reshape(d, p, -1) @ indicator).astype(np.float64)
            size, mobile = summed[..., 0], summed[..., -1]
            totals[year] = size
            out["population"][:, :, t] = size
            groups[:, :, t] = summed[..., 1 : 1 + n_groups]
            out["jobs_private"][:, :, t] = private[year]
            out["jobs_public"][:, :, t] = public[year]
            if year in pyramid_years:
                pyramid[:, :, int(np.flatnonzero(pyramid_years == year)[0])] = pop
            if year == years[-1]:
                break
            # 2. the places' net migration rates during `year`, before the national level
            coef, year_effect = mig_paths.step(year)
            rate = (mig.intercept[idx, None] + mig.constants[idx] + coef[:, None] * mig.centrality
                    + year_effect[:, None] + controlled * res_att[year])  # fmt: skip
            for lag, term in enumerate(VRA_LAGS):
                if term in mig.slopes:
                    rate = rate + mig.slopes[term][idx, None] * (ra[year - lag] @ weights_t)
            q_t = death_probabilities(inputs, alt, year)
            if self.uses_ds:
                ds_abs = ds_absolute(pop, inputs.employment, q_t)
                jobs_now = private[year] + public[year]
                ratio = ds_abs.sum(axis=1, keepdims=True) / jobs_now.sum(axis=1, keepdims=True)
                ds_national = national("ds", year, ratio)
                rate = rate + mig.slopes["ds"][idx, None] * (ds_abs / jobs_now - ds_national)
            if noise:
                rate = rate + mig_noise.draw(size, year)
            # 3. births and deaths of `year` (full-size arrays are touched as few times as
            # possible); they do not depend on the migrants
            q_local = np.clip(q_t[None] * inputs.mortality_ratio[:, None, None], 0, 1)  # (P,S,A)
            scale = alt.path("tfr", np.array([year]))[0] / inputs.asfr.sum()
            births = (pop[:, :, 0, :] @ (inputs.asfr * scale).astype(pop.dtype)).astype(
                np.float64
            )  # fmt: skip
            births *= fertility
            # net migrants at the usual rates, and deaths, in one float32 pass
            rates = np.stack([inputs.migration_profile, q_local], axis=1).astype(pop.dtype)
            usual, deaths = np.einsum("dpsa,pksa->kdp", pop, rates, optimize=True).astype(
                np.float64
            )  # fmt: skip
            extra_deaths = np.zeros((d, p))
            if noise:  # Poisson variation of the events (normal approximation; module doc)
                births = np.maximum(births + np.sqrt(births) * rng.standard_normal((d, p)), 0.0)
                expected = deaths * (1 + excess_mortality)
                extra_deaths = np.maximum(
                    expected + np.sqrt(expected) * rng.standard_normal((d, p)), 0.0
                ) - deaths  # fmt: skip
            newborn = births[:, :, None] * np.array([1 - BOY_SHARE, BOY_SHARE])[None, None, :]
            infant_deaths = newborn * q_local[None, :, :, 0] * INFANT_EXPOSURE
            # 4. national net immigration (assumed, or what reaches the national target)
            # and the places' net migrants, shifted in proportion to population to sum to it
            steered = target_span is not None and target_span[0] <= year + 1 <= target_span[1]

            nation = size.sum(axis=1, keepdims=True)
            immigration = np.full((d, 1), alt.path("net_immigration_rate", np.array([year]))[0])
            if steered:
                natural = births - deaths - extra_deaths - infant_deaths.sum(axis=2)
                target = alt.path("national_population", np.array([year + 1]))[0]
                immigration = (target - nation - natural.sum(axis=1, keepdims=True)) / nation
            immigration = national("immigration", year, immigration)
            migrants = (rate + immigration) * size
            excess = migrants.sum(axis=1, keepdims=True) / nation - immigration
            excess = national("migration_shift", year, excess)
            migrants = migrants - excess * size + (1 - controlled) * res_att[year] * size
            # 5. cohort step
            # survivors plus net migrants by age: pop x (1 - q + profile + shift x mobility),
            # the migrants beyond the usual ones falling on the mobile ages; deaths beyond
            # the point ratio's are taken in proportion to q. Per place, factor =
            # [1, shift, -extra / deaths] x [1 - q + profile, mobility, q]
            shift = (migrants - usual) / np.maximum(mobile, 1e-9)
            weights = np.stack([np.ones((d, p)), shift,
                                -extra_deaths / np.maximum(deaths, 1e-9)])  # fmt: skip
            basis = np.stack([1 - q_local + inputs.migration_profile,
                              np.broadcast_to(mobility, q_local.shape), q_local],
                             axis=1)  # fmt: skip
            np.matmul(weights.transpose(2, 1, 0).astype(pop.dtype),
                      basis.reshape(p, 3, -1).astype(pop.dtype), out=factor_rows)  # fmt: skip
            nxt = np.empty_like(pop)
            np.multiply(pop[..., :-1], factor[..., :-1], out=nxt[..., 1:])
            nxt[..., -1] += pop[..., -1] * factor[..., -1]
            nxt[..., 0] = newborn - infant_deaths
            shortfall = np.zeros((d, p))  # no negative cohorts: the excess leavers stay
            if nxt.min() < 0:
                shortfall = np.minimum(nxt, 0.0).sum(axis=(2, 3), dtype=np.float64)
                np.maximum(nxt, 0.0, out=nxt)
                # ... but leave from the nation's mobile ages: the total holds (a what-if
                # run keeps its own shortfall: the rest of the country is the baseline's)
                if steered and not national.replaying:
                    shortfall = shortfall + _take_mobile(nxt, mobility, -shortfall.sum(axis=1))
            national_rate[:, t] = (migrants - shortfall).sum(axis=1) / size.sum(axis=1)
            out["births"][:, :, t] = births
            out["deaths"][:, :, t] = deaths + extra_deaths + infant_deaths.sum(axis=2)
            out["net_migration"][:, :, t] = migrants - shortfall
            pop = nxt
        mig_paths.coefficient(int(years[-1]))  # the outlook reaches the last year too
        coefficient = np.concatenate(
            [mig.path[idx],
             np.stack([mig_paths.history[y] for y in sorted(mig_paths.history)], 1)],
            axis=1,
        )  # fmt: skip
        return {**out, "age_groups": groups, "pyramid": pyramid,
                "centrality_coefficient": coefficient,
                "national_net_immigration_rate": national_rate}  # fmt: skip


def project(
    migration: FitResult,
    jobs: FitResult,
    panel: Panel,
    *,
    scenarios: Sequence[str] = SCENARIOS,
    custom: CustomScenario | None = None,
    job_shocks: Sequence[JobShock] = (),
    **options,
) -> ProjectionResult:
    """Project population and jobs for every scenario over posterior draws (options:
    :class:`Projector`). ``custom`` gives the levels of the ``custom`` scenario.

    With ``job_shocks`` each scenario is run without and with them; the result holds the
    run with them and, per draw, their effect on the population and jobs of the shocked
    places and their commuting neighbours (``shock_population_effect``,
    ``shock_jobs_effect`` over ``effect_place``).
    """
    scenarios = check_scenarios(list(scenarios), custom)
    projector = Projector(migration, jobs, panel, custom=custom, **options)
    intervention, effect_places = None, []
    if job_shocks:
        intervention = job_shock_intervention(projector, job_shocks)
        effect_places = shock_neighbours(projector.inputs, [s.place for s in job_shocks])
    cols = [projector.places.index(c) for c in effect_places]
    runs: list[Run] = []
    effects: dict[str, list[np.ndarray]] = {"population": [], "jobs": []}
    for scenario in scenarios:
        run = projector.run(scenario)
        if intervention is not None:
            shocked = projector.run(scenario, intervention=intervention, replay=run.controls)
            for key, variables in SHOCK_EFFECTS.items():
                effects[key].append(sum(shocked.out[v][:, cols] - run.out[v][:, cols]
                                        for v in variables))  # fmt: skip
            run = shocked
        runs.append(run)
    result = _result(projector, scenarios, runs)
    if job_shocks:
        result.ds.coords["effect_place"] = effect_places
        for key, values in effects.items():
            result.ds[f"shock_{key}_effect"] = (("scenario", "draw", "effect_place", "year"),
                                                np.stack(values))  # fmt: skip
        result.ds.attrs["job_shocks"] = "; ".join(s.describe() for s in job_shocks)
    if custom is not None:
        result.ds.attrs["custom_scenario"] = custom.describe()
    return result


SHOCK_EFFECTS = {"population": ("population",), "jobs": ("jobs_private", "jobs_public")}
NEIGHBOUR_WEIGHT = 0.01  # a place is a commuting neighbour from 1 % of its commuters
MAX_NEIGHBOURS = 10


def job_shock_intervention(projector: Projector, shocks: Sequence[JobShock]) -> Intervention:
    """The shocks as an intervention, after checking their places and years."""
    first, last = projector.last_jobs + 1, int(projector.years[-1]) - 1
    jobs: dict[int, np.ndarray] = {}
    for shock in shocks:
        if shock.place not in projector.places:
            raise SpecError(f"--jobs-shock {shock.describe()}: place {shock.place!r} is not "
                            "in the fits (4-character codes, e.g. 0301)")  # fmt: skip
        if not first <= shock.year <= last:
            raise SpecError(f"--jobs-shock {shock.describe()}: the year must be a projected "
                            f"year that still moves people, {first}-{last}")  # fmt: skip
        values = jobs.setdefault(shock.year, np.zeros((projector.n, len(projector.places))))
        values[:, projector.places.index(shock.place)] += shock.jobs
    return Intervention(jobs=jobs)


def shock_neighbours(inputs: ProjectionInputs, places: Sequence[str]) -> list[str]:
    """The shocked places and, for each, up to ten places with at least 1 % of their
    employed residents working there (largest shares first)."""
    chosen = list(dict.fromkeys(places))
    for place in places:
        shares = inputs.weights[:, inputs.places.index(place)]
        order = [i for i in np.argsort(-shares, kind="stable") if shares[i] >= NEIGHBOUR_WEIGHT]
        neighbours = [inputs.places[i] for i in order if inputs.places[i] not in chosen]
        chosen += neighbours[:MAX_NEIGHBOURS]
    return chosen


def _take_mobile(pop: np.ndarray, mobility: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """Remove ``persons`` (D,) from each draw's population ``pop`` (D, P, S, A), in place,
    in proportion to population x the mobility schedule (S, A) over all places, or, in a
    draw whose mobile ages cannot give that many, in proportion to population; returns
    the persons taken per place (D, P)."""
    d, p = pop.shape[:2]
    flat = pop.reshape(d, p, -1)
    mobile = (flat @ mobility.reshape(-1)).astype(np.float64)
    share = persons / np.maximum(mobile.sum(axis=1), 1e-9)
    size = flat.sum(axis=2, dtype=np.float64)
    even = persons / np.maximum(size.sum(axis=1), 1e-9)
    fits = share * mobility.max() <= 1
    rate = np.where(fits[:, None, None], share[:, None, None] * mobility[None], even[:, None, None])
    pop *= np.clip(1 - rate, 0.0, 1.0)[:, None].astype(pop.dtype)
    return np.where(fits[:, None], share[:, None] * mobile, even[:, None] * size)


def _check_job_rules(inputs: ProjectionInputs, alt: Alternative, name: str, alternative: str):
    """A clear error where the assumptions ask for job growth the panel cannot give."""
    asks = [k for k in JOB_KEYS if alt.rule(k)]
    if not asks:
        return
    if inputs.employment is None or not inputs.national_employed:
        raise SpecError(f"assumption set {name!r} ({alternative}) takes {' and '.join(asks)} "
                        "from employment rates, but the panel has no employment_rates table; "
                        "use a set with numeric job growth paths")  # fmt: skip
    last_jobs = int(max(inputs.history_private.columns))
    lacking = [y for y in range(last_jobs, inputs.base_year) if y not in inputs.national_employed]
    if lacking:
        raise DataError(f"job growth from employment rates needs the observed population of "
                        f"{lacking} (before the base year {inputs.base_year})")  # fmt: skip


class _NationalJobs:
    """National job growth per year: the alternative's path, or with the rule
    ``"employment_rates"`` the growth of employed persons (rates held constant): from the
    observed population before the base year, from each draw's projected population on 1
    January from it (:meth:`observe` is called once a year with the population)."""

    def __init__(self, inputs: ProjectionInputs, alt: Alternative, d: int) -> None:
        self.alt, self.d, self.base = alt, d, inputs.base_year
        self.observed = inputs.national_employed or {}
        self.rates = None
        if inputs.employment is not None and any(alt.rule(k) for k in JOB_KEYS):
            self.rates = inputs.employment.astype(np.float32).reshape(-1)
        self.projected: dict[int, np.ndarray] = {}

    def observe(self, year: int, pop: np.ndarray) -> None:
        """Record the employed persons (D,) of the population on 1 January ``year``."""
        if self.rates is not None:
            d, p = pop.shape[:2]
            employed = (pop.reshape(d, p, -1) @ self.rates).astype(np.float64)
            self.projected[year] = employed.sum(axis=1)

    def _employed(self, year: int) -> np.ndarray:
        if year >= self.base:
            return self.projected[year][:, None]
        return np.full((self.d, 1), self.observed[year])

    def growth(self, key: str, year: int) -> float | np.ndarray:
        """The national growth rate of ``key`` in ``year``: a number, or (D, 1)."""
        if self.alt.rule(key) == "employment_rates":
            return self._employed(year) / self._employed(year - 1) - 1
        return self.alt.path(key, np.array([year]))[0]


def _result(projector: Projector, scenarios: Sequence[str], runs: list[Run]) -> ProjectionResult:
    """The scenarios' runs as one labelled Dataset with the inputs' history and provenance."""
    inputs, migration, jobs = projector.inputs, projector.migration, projector.jobs
    dims = ("scenario", "draw", "place", "year")

    def stacked(key: str) -> np.ndarray:
        return np.stack([run.out[key] for run in runs])

    hist = inputs.history_population
    hist_years = [int(y) for y in hist.columns if y < inputs.base_year]
    jobs_hist = (inputs.history_private + inputs.history_public).reindex(columns=hist_years)
    attrs = inputs.attributes
    ds = xr.Dataset(
        {
            **{k: (dims, stacked(k)) for k in PER_PLACE},
            "age_group_population": ((*dims, "age_group"), stacked("age_groups")),
            "pyramid": (
                ("scenario", "draw", "place", "pyramid_year", "sex", "age"),
                stacked("pyramid"),
            ),
            "history_population": (
                ("place", "history_year"),
                hist[hist_years].to_numpy(dtype=float),
            ),
            "history_jobs": (("place", "history_year"), jobs_hist.to_numpy(dtype=float)),
            "national_net_immigration_rate": (
                ("scenario", "draw", "year"),
                stacked("national_net_immigration_rate"),
            ),
        },
        coords={
            "scenario": list(scenarios),
            "draw": np.arange(projector.n),
            "place": inputs.places,
            "year": projector.years,
            "age_group": list(AGE_GROUPS_PROJECTION),
            "pyramid_year": projector.pyramid_years,
            "sex": ["female", "male"],
            "age": np.arange(MAX_AGE + 1),
            "history_year": hist_years,
            "name": ("place", attrs["name"].astype(str).to_numpy()),
            "region": ("place", attrs["region"].astype(str).to_numpy()),
            "county": ("place", attrs["county"].astype(str).to_numpy()),
            "centrality_class": ("place", attrs["centrality_class"].to_numpy(dtype=int)),
        },
        attrs={
            "assumptions": projector.assumptions,
            "alternative": projector.alternative,
            "base_year": inputs.base_year,
            "seed": projector.seed,
            "process_noise": int(projector.noise),
            "migration_spec": migration.spec.name,
            "migration_data_hash": migration.tree.attrs["data_hash"],
            "jobs_spec": jobs.spec.name,
            "jobs_data_hash": jobs.tree.attrs["data_hash"],
            "attrbayes_version": __version__,
            "notes": "; ".join((*inputs.notes, *projector.industry.notes)),
            "industry_growth": projector.industry.method,
            "national_control": int(projector.alt.span("national_population") is not None),
            "private_job_growth": projector.alt.rule("private_job_growth") or "assumed path",
            "public_job_growth": projector.alt.rule("public_job_growth") or "assumed path",
        },
    )
    mig = projector.mig
    if mig.path_kind != "none":
        fitted = mig.fitted_years.astype(int)
        ds["centrality_coefficient"] = (("scenario", "draw", "coefficient_year"),
                                        stacked("centrality_coefficient"))  # fmt: skip
        ds.coords["coefficient_year"] = np.concatenate(
            [fitted, np.arange(fitted[-1] + 1, projector.years[-1] + 1)]
        )  # fmt: skip
        ds.attrs.update(
            centrality_process=mig.path_kind,
            centrality_immigration_link=int(migration.spec.time_varying.immigration),
            centrality_last_fitted_year=int(fitted[-1]),
            centrality_noise=int(projector.centrality_noise),
        )
    return ProjectionResult(ds)
