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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits

from attrbayes import __version__
from attrbayes.constants import MAX_AGE
from attrbayes.data.panel import Panel
from attrbayes.equation import (
    EquationDraws,
    equation_draws,
    equation_mean,
    equation_parts,
    noise_sd,
)
from attrbayes.exceptions import DataError, SpecError
from attrbayes.features.demographic_supply import ds_absolute
from attrbayes.features.design import Features, compute_features
from attrbayes.projection.assumptions import Alternative, load_assumptions
from attrbayes.projection.industry import industry_effect_path
from attrbayes.projection.inputs import ProjectionInputs, build_inputs
from attrbayes.projection.kernels import cohort_step, weighted_sums
from attrbayes.projection.memory import DrawSpill, give_back_freed_memory, hand_back_large_arrays
from attrbayes.projection.result import (
    AGE_GROUPS_PROJECTION,
    FLOWS,
    GROUP_LEVELS,
    PYRAMID_BIN,
    STOCKS,
    ProjectionResult,
    add_flows,
    add_pyramids,
    age_bands,
    summary_units,
    unit_quantiles,
)
from attrbayes.projection.scenarios import (
    SCENARIOS,
    WHAT_IFS,
    CustomScenario,
    attractiveness_path,
    check_scenarios,
)
from attrbayes.quantiles import band_probabilities
from attrbayes.results import FitResult, stacked_size

BOY_SHARE = 105 / 205
INFANT_EXPOSURE = 0.5  # births are exposed to infant mortality for half a year on average
VRA_LAGS = ("vra_t", "vra_t1", "vra_t2")
PROCESSES = ("random_walk", "ar1", "hierarchical", "constant")
JOB_KEYS = ("private_job_growth", "public_job_growth")


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
        sd = noise_sd(eq, idx, np.maximum(size, 1.0))
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
    if not fit.spec.has_centrality:
        raise SpecError(f"spec {fit.spec.name} has no centrality term")
    if fit.spec.time_varying.immigration and immigration is None:
        raise SpecError(f"spec {fit.spec.name} links the coefficient to immigration: give the "
                        "immigration rate of each year")  # fmt: skip
    total = stacked_size(fit.posterior)
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
    # per-draw flows and pyramids of every place, on disk until summarised (read as
    # quantiles only, unless asked for)
    spilled: dict[str, DrawSpill] = field(default_factory=dict)
    summarised: bool = False  # flows and pyramids reduced to what is stored

    def values(self, key: str) -> np.ndarray:
        """Per-draw values of ``key`` (draw, place, ...), read back where spilled."""
        return self.out[key] if key in self.out else self.spilled[key].array()


@dataclass(frozen=True)
class _Year:
    """A projected year's inputs that no draw changes (:meth:`Projector._year`)."""

    q_local: np.ndarray  # (P, S, A) death probabilities of each place
    q_local32: np.ndarray
    survival: np.ndarray  # (P, S, A) float32: 1 - q + the usual net migration rate
    names: tuple[str, ...]  # of the summaries, in the order of the weights
    common: np.ndarray  # (K, S, A) float32 weights shared by every place
    by_place: np.ndarray  # (P, M, S, A) float32 weights of each place


# what a run keeps in memory per draw, place and year (the age groups by group too); the
# flows and pyramids go to a DrawSpill
RUN_OUTPUTS = (*STOCKS, "age_groups")


class Projector:
    """Everything a projection needs, prepared once (inputs, assumptions, posterior
    draws); :meth:`run` projects one scenario over all draws, chunk by chunk.

    ``noise`` switches the yearly process noise (observation noise, local ratios,
    Poisson events); ``centrality_noise`` the innovations of the centrality coefficient's
    process past the fit (off: the coefficient follows its expected path), which measures
    how much of the fans the coefficient's outlook makes. ``custom`` gives the levels of
    the ``custom`` scenario. ``features``: the panel's municipality features where the
    caller has computed them already (they are not computed again).
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
        chunk: int = 64,
        workers: int | None = None,
        seed: int = 20261128,
        noise: bool = True,
        centrality_noise: bool = True,
        pyramid_years: Sequence[int] | None = None,
        pyramid_places: Sequence[str] = (),
        custom: CustomScenario | None = None,
        progress: Callable[[str], None] | None = None,
        features: Features | None = None,
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
        hand_back_large_arrays()
        sizes = [stacked_size(f.posterior) for f in (migration, jobs)]
        self.n = n = min(draws, *sizes)
        self.notes: list[str] = []
        if n < draws:
            self.notes.append(f"{draws} draws were asked for, but the fits hold {min(sizes)}: "
                              f"projected with {n}")  # fmt: skip
        self.threads = workers or min(2, os.cpu_count() or 1)
        self.say("inputs and posterior draws")
        # the fits' draws (their AR states: filters and sums that release the GIL) in
        # threads beside the inputs (pandas, which mostly holds it)
        with ThreadPoolExecutor(self.threads) as pool:
            draws_of = [pool.submit(equation_draws, fit, places,
                                    np.linspace(0, size - 1, n).round().astype(int))
                        for fit, size in zip((migration, jobs), sizes, strict=True)]  # fmt: skip
            self._prepare_inputs(migration, panel, places, assumptions, alternative, to,
                                 features)  # fmt: skip
            self.mig, self.job = (future.result() for future in draws_of)
        inputs = self.inputs
        self.years = np.arange(inputs.base_year, to + 1)
        self.pyramid_years = np.array(
            sorted(set((inputs.base_year, to) if pyramid_years is None else pyramid_years)),
            dtype=int,
        )  # fmt: skip
        bad = [int(y) for y in self.pyramid_years if y not in self.years]
        if bad:
            raise SpecError(f"pyramid years {bad} are outside {self.years[0]}-{self.years[-1]}")
        self.projected_pyramid_years = self.pyramid_years[self.pyramid_years > inputs.base_year]
        unknown = [c for c in pyramid_places if c not in inputs.places]
        if unknown:
            raise SpecError(f"--pyramids: {', '.join(map(repr, unknown))} not among the fits' "
                            f"places (4-character codes such as {inputs.places[0]!r})")  # fmt: skip
        self.pyramid_places = list(dict.fromkeys(pyramid_places))
        self.last_jobs = int(max(inputs.history_private.columns))
        self.migration, self.jobs = migration, jobs
        self.assumptions, self.alternative = assumptions, alternative
        self.chunk, self.seed = chunk, seed
        self._years: dict[int, _Year] = {}
        self.noise, self.centrality_noise, self.custom = noise, centrality_noise, custom

    def _prepare_inputs(
        self,
        migration: FitResult,
        panel: Panel,
        places: list[str],
        assumptions: str,
        alternative: str,
        to: int,
        features: Features | None,
    ) -> None:
        """The base year's population, jobs, commuting and rates, the assumptions and the
        national immigration path; checks that the spec's terms can be projected."""
        if features is None or features.level != "municipality":
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

    @property
    def places(self) -> list[str]:
        return self.inputs.places

    @cached_property
    def _fixed_weights(self) -> dict[str, np.ndarray]:
        """Weights (S, A) of the population summaries that do not change with the year:
        persons, the age groups, persons x mobility, births at national fertility (women)
        and, where job growth follows employment, employed persons."""
        inputs = self.inputs
        ones = np.ones_like(inputs.mobility)
        weights = {"size": ones, "mobile": inputs.mobility}
        for name, (lo, hi) in AGE_GROUPS_PROJECTION.items():
            weights[name] = np.zeros_like(ones)
            weights[name][:, lo : hi + 1] = 1
        weights["births"] = np.zeros_like(ones)
        weights["births"][0] = inputs.asfr  # sexes: female, male
        if inputs.employment is not None and any(self.alt.rule(k) for k in JOB_KEYS):
            weights["employed"] = inputs.employment
        return weights

    def _year(self, year: int) -> _Year:
        """The draw-independent inputs of ``year``'s summaries and cohort step, computed
        once: every chunk of every run (and every what-if solve) shares them."""
        if year not in self._years:
            inputs = self.inputs
            q_t = death_probabilities(inputs, self.alt, year)
            q_local = np.clip(q_t[None] * inputs.mortality_ratio[:, None, None], 0, 1)
            weights = dict(self._fixed_weights)
            if self.uses_ds:  # DS is linear in the population: its weights are DS of each cell
                cells = np.eye(q_t.size).reshape(q_t.size, *q_t.shape)
                weights["ds"] = ds_absolute(cells, inputs.employment, q_t).reshape(q_t.shape)
            self._years[year] = _Year(
                q_local=q_local,
                q_local32=q_local.astype(np.float32),
                survival=(1 - q_local + inputs.migration_profile).astype(np.float32),
                names=(*weights, "usual", "deaths"),
                common=np.stack(list(weights.values())).astype(np.float32),
                by_place=np.stack([inputs.migration_profile, q_local], axis=1).astype(np.float32),
            )  # fmt: skip
        return self._years[year]

    def _summaries(self, pop: np.ndarray, year: _Year) -> dict[str, np.ndarray]:
        """Every linear summary of ``pop`` (D, P, S, A) a year needs, (D, P) each, in one
        pass: the fixed ones, absolute DS (its weights depend on the year's q), the net
        migrants at the places' usual rates and the deaths at their q."""
        sums = weighted_sums(pop, year.common, year.by_place)
        return {name: sums[..., k] for k, name in enumerate(year.names)}

    @cached_property
    def units(self) -> tuple[list[str], np.ndarray]:
        """The units of the stored quantiles (places, then groups) and the groups'
        membership (places x groups)."""
        return summary_units(self.inputs.attributes[list(GROUP_LEVELS)])

    def stacked_outputs(
        self, scenarios: int | None = None, keys: Sequence[str] = RUN_OUTPUTS
    ) -> dict[str, np.ndarray]:
        """NaN-filled arrays of a run's per-place outputs ``keys`` (draw, place, year[, age
        group]), with a leading scenario axis of ``scenarios`` unless None, for runs to
        write into (``into`` of :meth:`run`): the scenarios' results are then not copied."""
        lead = () if scenarios is None else (scenarios,)
        shape = (*lead, self.n, len(self.places), len(self.years))
        groups = (len(AGE_GROUPS_PROJECTION),)
        return {k: np.full((*shape, *(groups if k == "age_groups" else ())), np.nan,
                           dtype=np.float32) for k in keys}  # fmt: skip

    def run(
        self,
        scenario: str,
        *,
        intervention: Intervention | None = None,
        replay: dict[int, dict] | None = None,
        into: Mapping[str, np.ndarray] | None = None,
    ) -> Run:
        """Project ``scenario`` over all draws; with ``replay`` (a baseline run's
        ``controls``) the national quantities are the baseline's and ``intervention``
        applies. ``into``: NaN-filled arrays to write some of the run's per-place outputs
        into (:meth:`stacked_outputs`), instead of arrays of its own."""
        if intervention is not None and replay is None:
            raise SpecError("an intervention runs against a baseline: give its controls")
        into = dict(into or {})
        out = {**self.stacked_outputs(keys=[k for k in RUN_OUTPUTS if k not in into]), **into}
        n, p, n_years = self.n, len(self.places), len(self.years)
        # the base year's pyramid is the observed one, the same in every draw
        pyramid = (len(self.projected_pyramid_years), 2)
        cells = {**dict.fromkeys(FLOWS, (n_years,)), "pyramid": (*pyramid, MAX_AGE + 1),
                 "pyramid_5": (*pyramid, len(range(0, MAX_AGE + 1, PYRAMID_BIN)))}  # fmt: skip
        spilled = {key: DrawSpill(n, p, shape) for key, shape in cells.items()}
        fitted = self.mig.fitted_years.astype(int)
        out["centrality_coefficient"] = np.full(
            (n, len(fitted) + int(self.years[-1]) - int(fitted[-1])), np.nan
        )  # fmt: skip
        out["national_net_immigration_rate"] = np.full((n, n_years), np.nan)
        controls: dict[int, dict] = {}
        # chunks of equal size, at most ``chunk`` draws and at least two of them (side by
        # side on two cores); the split does not depend on the machine, so neither do the
        # numbers
        chunk = -(-n // max(-(-n // self.chunk), 2))

        def task(start: int) -> None:
            idx = slice(start, min(start + chunk, n))
            rng = np.random.default_rng([self.seed, start])  # the same numbers in every run
            chunk_controls = _Controls(None if replay is None else replay[start])
            own = {key: np.full((idx.stop - start, p, *cells[key]), np.nan, dtype=np.float32)
                   for key in (*FLOWS, "pyramid")}  # fmt: skip
            chunk_out = {key: value[idx] for key, value in out.items()}  # views
            self._run_chunk(scenario, idx, rng, intervention, chunk_controls, chunk_out | own)
            own["pyramid_5"] = age_bands(own["pyramid"])
            for key, values in own.items():
                spilled[key].write(start, values)
            controls[start] = chunk_controls.values
            give_back_freed_memory()
            self.say(f"{scenario}: draws {idx.start + 1}-{idx.stop} of {n}")

        # numpy releases the GIL in large array operations: chunks run side by side, each
        # with a single-threaded BLAS (BLAS's own threads on top of the chunks' would
        # contend for the cores: the commuting-weighted job growth is a matrix product)
        with (
            threadpool_limits(1 if self.threads > 1 else None, user_api="blas"),
            ThreadPoolExecutor(max_workers=self.threads) as pool,
        ):
            list(pool.map(task, range(0, n, chunk)))
        return Run(out, controls, spilled)

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
        out: dict[str, np.ndarray],
    ) -> None:
        """Project draws ``idx`` of ``scenario`` into ``out`` (views of the run's arrays)."""
        inputs, alt, mig, job = self.inputs, self.alt, self.mig, self.job
        years, pyramid_years, noise = self.years, list(self.projected_pyramid_years), self.noise
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
        weights_t = inputs.weights.matrix.T  # sparse: memory grows with the commuting pairs
        vra_cache: dict[int, np.ndarray] = {}

        def vra(y: int) -> np.ndarray:
            """Commuting-weighted relative job growth of ``y`` (each year computed once)."""
            if y not in vra_cache:
                vra_cache[y] = np.asarray(ra[y] @ weights_t)
            return vra_cache[y]

        pop = np.broadcast_to(inputs.population.astype(np.float32),
                              (d, *inputs.population.shape)).copy()  # fmt: skip
        spare: np.ndarray | None = None
        mobility = inputs.mobility.astype(np.float32)
        groups, pyramid = out["age_groups"], out["pyramid"]
        national_rate = out["national_net_immigration_rate"]

        def pop_growth(y: int) -> np.ndarray:
            """Population growth of each place in ``y`` relative to the nation's."""
            aggregate = national("population", y, _aggregate_growth(totals[y], totals[y - 1]))
            return _relative(totals[y], totals[y - 1], aggregate)

        for year in all_years:
            year = int(year)
            if year >= base:  # every linear summary of the population, in one pass
                this = self._year(year)
                q_local = this.q_local
                sums = self._summaries(pop, this)
                national_jobs.observe(year, sums.get("employed"))
            # 1. jobs of `year`
            if year > last_jobs:
                pg = np.mean([pop_growth(y) for y in (year - 1, year - 2, year - 3)], axis=0)
                coef, year_effect = job_paths.step(year)
                covariates = {"industry_effect": self.industry.at(year)[None, :],
                              "pop_growth_lag": pg}  # fmt: skip
                rel = equation_mean(equation_parts(job, idx, covariates, coef[:, None],
                                                   year_effect[:, None],
                                                   controlled * bus_att[year]))  # fmt: skip
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
            size, mobile = sums["size"], sums["mobile"]
            totals[year] = size
            out["population"][:, :, t] = size
            groups[:, :, t] = np.stack([sums[g] for g in AGE_GROUPS_PROJECTION], axis=-1)
            out["jobs_private"][:, :, t] = private[year]
            out["jobs_public"][:, :, t] = public[year]
            if year in pyramid_years:
                pyramid[:, :, pyramid_years.index(year)] = pop
            if year == years[-1]:
                break
            # 2. the places' net migration rates during `year`, before the national level
            coef, year_effect = mig_paths.step(year)
            covariates = {term: vra(year - lag) for lag, term in enumerate(VRA_LAGS)
                          if term in mig.slopes}  # fmt: skip
            if self.uses_ds:
                ds_abs = sums["ds"]
                jobs_now = private[year] + public[year]
                ratio = ds_abs.sum(axis=1, keepdims=True) / jobs_now.sum(axis=1, keepdims=True)
                covariates["ds"] = ds_abs / jobs_now - national("ds", year, ratio)
            rate = equation_mean(equation_parts(mig, idx, covariates, coef[:, None],
                                                year_effect[:, None],
                                                controlled * res_att[year]))  # fmt: skip
            if noise:
                rate = rate + mig_noise.draw(size, year)
            # 3. births and deaths of `year` (full-size arrays are touched as few times as
            # possible); they do not depend on the migrants
            scale = alt.path("tfr", np.array([year]))[0] / inputs.asfr.sum()
            births = sums["births"] * scale * fertility
            usual, deaths = sums["usual"], sums["deaths"]  # net migrants at the usual rates
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
            # 5. cohort step (one compiled pass): survivors plus net migrants by age,
            # the migrants beyond the usual ones falling on the mobile ages, the deaths
            # beyond the point ratio's taken in proportion to q; no negative cohorts: the
            # excess leavers stay ...
            shift = (migrants - usual) / np.maximum(mobile, 1e-9)
            excess = -extra_deaths / np.maximum(deaths, 1e-9)
            nxt = spare if spare is not None else np.empty_like(pop)
            shortfall = cohort_step(pop, this.survival, mobility, this.q_local32, shift,
                                    excess, (newborn - infant_deaths).astype(pop.dtype),
                                    nxt)  # fmt: skip
            # ... but leave from the nation's mobile ages: the total holds (a what-if run
            # keeps its own shortfall: the rest of the country is the baseline's)
            if steered and not national.replaying and shortfall.any():
                shortfall = shortfall + _take_mobile(nxt, mobility, -shortfall.sum(axis=1))
            national_rate[:, t] = (migrants - shortfall).sum(axis=1) / size.sum(axis=1)
            out["births"][:, :, t] = births
            out["deaths"][:, :, t] = deaths + extra_deaths + infant_deaths.sum(axis=2)
            out["net_migration"][:, :, t] = migrants - shortfall
            pop, spare = nxt, pop  # two buffers in turn: no fresh 20 MB array a year
        mig_paths.coefficient(int(years[-1]))  # the outlook reaches the last year too
        out["centrality_coefficient"][:] = np.concatenate(
            [mig.path[idx],
             np.stack([mig_paths.history[y] for y in sorted(mig_paths.history)], 1)],
            axis=1,
        )  # fmt: skip


def project(
    migration: FitResult,
    jobs: FitResult,
    panel: Panel,
    *,
    scenarios: Sequence[str] = SCENARIOS,
    custom: CustomScenario | None = None,
    job_shocks: Sequence[JobShock] = (),
    flow_draws: bool = False,
    **options,
) -> ProjectionResult:
    """Project population and jobs of every place, per posterior draw, to a year.

    Parameters
    ----------
    migration, jobs
        The migration and jobs fits (municipality level, the same places).
    panel
        The panel they were fitted on: the base population, jobs, commuting and rates.
    scenarios
        Attractiveness scenarios: "neutral", "historical", "historical_constant", "high",
        "low" and, with ``custom``, "custom".
    custom
        The levels of the "custom" scenario.
    job_shocks
        Extra private jobs in a place and year: each scenario is run without and with
        them, and the result holds the run with them and, per draw, their effect on the
        shocked places and their commuting neighbours (``shock_population_effect``,
        ``shock_jobs_effect`` over ``effect_place``).
    flow_draws
        Keep births, deaths and net migration per draw too (always kept as quantiles of
        every place and group).
    **options
        Passed to :class:`Projector`: ``assumptions`` (an assumption set's name),
        ``alternative`` ("low", "main", "high"), ``to`` (the last year), ``draws``,
        ``seed``, ``noise``, ``pyramid_years``, ``pyramid_places``, ``progress``, ...

    Returns
    -------
    ProjectionResult
        Population, age groups and jobs per scenario, draw, place and year; quantiles are
        taken at the end (``quantiles(variable, by=...)``), after summing per draw.
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
    stacks = projector.stacked_outputs(len(scenarios), (*STOCKS, "age_groups"))
    for k, scenario in enumerate(scenarios):
        into = {key: values[k] for key, values in stacks.items()}
        run = projector.run(scenario, into=None if intervention is not None else into)
        if intervention is not None:
            shocked = projector.run(scenario, intervention=intervention, replay=run.controls,
                                    into=into)  # fmt: skip
            for key, variables in SHOCK_EFFECTS.items():
                effects[key].append(sum(shocked.out[v][:, cols] - run.out[v][:, cols]
                                        for v in variables))  # fmt: skip
            run = shocked
        _summarise(projector, run, flow_draws)
        runs.append(run)
    result = _result(projector, scenarios, runs, consume=True, stacks=stacks)
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
        shares = inputs.weights.column(place)
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
    January from it (:meth:`observe` is called once a year with the employed persons by
    place, None where no rule asks for them)."""

    def __init__(self, inputs: ProjectionInputs, alt: Alternative, d: int) -> None:
        self.alt, self.d, self.base = alt, d, inputs.base_year
        self.observed = inputs.national_employed or {}
        self.projected: dict[int, np.ndarray] = {}

    def observe(self, year: int, employed: np.ndarray | None) -> None:
        """Record the employed persons (D,) on 1 January ``year`` from those by place."""
        if employed is not None:
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


def _summarise(projector: Projector, run: Run, flow_draws: bool = False) -> None:
    """Keep of a finished run what is read: the flows as quantiles of every place and
    group (their fans and tables; per draw too with ``flow_draws``), the pyramids as
    :func:`_summarise_pyramids` keeps them; the stocks stay per draw (aggregates and
    probabilities)."""
    if run.summarised:
        return
    run.summarised = True
    _, membership = projector.units
    for flow in FLOWS:
        spill = run.spilled.pop(flow)
        run.out[f"{flow}_quantiles"] = unit_quantiles(spill, membership,
                                                      threads=projector.threads)  # fmt: skip
        if flow_draws:
            run.out[flow] = spill.array()
        spill.close()
    _summarise_pyramids(projector, run)


def _summarise_pyramids(projector: Projector, run: Run) -> None:
    """Replace the run's per-draw pyramids of every place (memory- and disk-hungry) by
    quantiles of every place and group, keeping per-draw pyramids of the chosen places
    only; the base year's pyramid (first, when asked for) is the observed one in every
    draw."""
    projected, projected_5 = run.spilled.pop("pyramid"), run.spilled.pop("pyramid_5")
    if not len(projector.pyramid_years):
        projected.close()
        projected_5.close()
        return
    n = projector.n
    base = projector.inputs.population.astype(np.float32)  # (P, S, A)
    with_base = projector.pyramid_years[0] == projector.inputs.base_year
    _, membership = projector.units
    # (band, unit, projected pyramid year, S, A or age band)
    single, banded = (unit_quantiles(draws, membership, threads=projector.threads)
                      for draws in (projected, projected_5))  # fmt: skip
    chosen = [projector.places.index(c) for c in projector.pyramid_places]
    per_draw = projected.array(chosen)
    projected.close()
    projected_5.close()
    if with_base:
        observed = np.concatenate([base, np.einsum("psa,pg->gsa", base, membership)])
        q = len(band_probabilities())
        fixed = observed[:, None]  # (units, the base year, S, A): no spread
        single = np.concatenate([np.broadcast_to(fixed, (q, *fixed.shape)), single], axis=2)
        fixed = age_bands(observed)[:, None]
        banded = np.concatenate([np.broadcast_to(fixed, (q, *fixed.shape)), banded], axis=2)
        per_draw = np.concatenate(
            [np.broadcast_to(base[chosen][None, :, None], (n, len(chosen), 1, *base.shape[1:])),
             per_draw], axis=2,
        )  # fmt: skip
    run.out["pyramid_quantiles"], run.out["pyramid_quantiles_5"] = single, banded
    if chosen:
        run.out["pyramid"] = per_draw


def _result(
    projector: Projector, scenarios: Sequence[str], runs: list[Run], *, consume: bool = False,
    stacks: Mapping[str, np.ndarray] | None = None,
) -> ProjectionResult:  # fmt: skip
    """The scenarios' runs as one labelled Dataset with the inputs' history and provenance.
    With ``consume`` each run's arrays are released as they are stacked (the caller does
    not read the runs again), so that the runs and their stack are not held twice;
    ``stacks``: outputs the runs wrote into (:meth:`Projector.stacked_outputs`), taken as
    they are (and rounded in place)."""
    stacks = stacks or {}
    inputs, migration, jobs = projector.inputs, projector.migration, projector.jobs
    dims = ("scenario", "draw", "place", "year")
    for run in runs:
        _summarise(projector, run)

    def stacked(key: str) -> np.ndarray:
        if key in stacks:
            return stacks[key]
        first = runs[0].out[key]
        out = np.empty((len(runs), *first.shape), dtype=first.dtype)
        for k, run in enumerate(runs):  # one run's copy alive beside the stack, not all
            out[k] = run.out.pop(key) if consume else run.out[key]
        return out

    def whole(key: str) -> np.ndarray:
        """Whole persons and jobs: what SSB publishes, and it compresses."""
        values = stacked(key)
        return np.round(values, out=values)

    stocks = {k: whole(k) for k in STOCKS}
    # age groups in whole persons that still add up to the population: 16-66 is what 0-15
    # and 67+ leave
    groups = whole("age_groups")
    names = list(AGE_GROUPS_PROJECTION)
    groups[..., names.index("16-66")] = (stocks["population"] - groups[..., names.index("0-15")]
                                         - groups[..., names.index("67+")])  # fmt: skip

    hist = inputs.history_population
    # observed through the base year, so that the observed line meets the fans' start
    hist_years = [int(y) for y in hist.columns if y <= inputs.base_year]
    jobs_hist = (inputs.history_private + inputs.history_public).reindex(columns=hist_years)
    attrs = inputs.attributes
    ds = xr.Dataset(
        {
            **{k: (dims, values) for k, values in stocks.items()},
            **{k: (dims, stacked(k)) for k in FLOWS if k in runs[0].out},
            "age_group_population": ((*dims, "age_group"), groups),
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
            "notes": "; ".join((*projector.notes, *inputs.notes, *projector.industry.notes)),
            "industry_growth": projector.industry.method,
            "national_control": int(projector.alt.span("national_population") is not None),
            "private_job_growth": projector.alt.rule("private_job_growth") or "assumed path",
            "public_job_growth": projector.alt.rule("public_job_growth") or "assumed path",
        },
    )
    add_flows(ds, {f: stacked(f"{f}_quantiles") for f in FLOWS}, projector.units[0])
    if len(projector.pyramid_years):
        per_draw = stacked("pyramid") if projector.pyramid_places else None
        add_pyramids(ds, stacked("pyramid_quantiles"), stacked("pyramid_quantiles_5"),
                     projector.units[0], per_draw, projector.pyramid_places)  # fmt: skip
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
