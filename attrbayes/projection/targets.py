"""What must happen: the residential attractiveness, or the extra private jobs, a place
needs to reach a population target, per posterior draw (the book's most used planning
question, MODEL.md 1 and 5).

For each draw the level is solved for exactly: the place gets a constant residential
attractiveness ``a`` (a share of its population a year, 0.002 = 0.2 %) in every year from
the base year, or ``J`` extra private jobs in every year from the first projected job
year, up to the year before the target year, on top of the neutral scenario (after the
target year the place is neutral again). The rest of the country stays as in the
neutral run (its national quantities are replayed, :class:`~attrbayes.projection.engine.
Intervention`), so the place moves the others only through commuting. The population of
the target year rises with either lever; a secant iteration per draw (started from a
first-order guess) finds the level within half a person or 0.01 % of the target.

The needed attractiveness is placed among all places' historical attractiveness: the
share of places whose last ten fitted years were less attractive (posterior medians), and
whether it is above the highest ten-year mean any place has had (any ten consecutive
fitted years). The needed jobs are set beside business attractiveness the same way, as a
share of the place's private jobs a year.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attrbayes import __version__
from attrbayes.exceptions import SpecError
from attrbayes.io_utils import atomic_write_bytes, atomic_write_text, mark_owned
from attrbayes.projection.engine import Intervention, Projector, Run, _result
from attrbayes.projection.result import AGE_GROUPS_PROJECTION, ProjectionResult
from attrbayes.projection.scenarios import HISTORY_YEARS, SCENARIOS
from attrbayes.results import FitResult

LEVERS = ("attractiveness", "jobs")
LEVER_LABELS = {"attractiveness": "needed attractiveness", "jobs": "needed jobs"}
MAX_RATE = 0.1  # attractiveness beyond 10 % of the population a year counts as unreachable
MAX_ITERATIONS = 8
SUMMARY_DRAWS = 500  # posterior draws used to place levels among all places


@dataclass(frozen=True)
class Target:
    """Reach ``value`` persons (None: keep the base year's number) in ``year`` in
    ``place``, counting everyone or only ``age_group`` (e.g. ``"0-15"``)."""

    place: str
    year: int
    value: float | None = None
    age_group: str | None = None

    def __post_init__(self) -> None:
        if self.age_group is not None and self.age_group not in AGE_GROUPS_PROJECTION:
            raise SpecError(f"--age-group {self.age_group!r}: choose from "
                            f"{', '.join(AGE_GROUPS_PROJECTION)}")  # fmt: skip
        if self.value is not None and not (np.isfinite(self.value) and self.value >= 0):
            raise SpecError(f"--population {self.value}: give a number of persons >= 0")

    @property
    def what(self) -> str:
        return "population" if self.age_group is None else f"number aged {self.age_group}"


def _quantity(out: dict[str, np.ndarray], target: Target, p: int, t: int) -> np.ndarray:
    """The target's quantity (D,) in a run's outputs: place ``p``, year index ``t``."""
    if target.age_group is None:
        return out["population"][:, p, t].astype(np.float64)
    g = list(AGE_GROUPS_PROJECTION).index(target.age_group)
    return out["age_groups"][:, p, t, g].astype(np.float64)


@dataclass(frozen=True)
class Solution:
    """One lever's per-draw level (+-inf where no level within the bounds reaches the
    target: it needs more, or less, than they allow) and the run at those levels."""

    lever: str
    level: np.ndarray  # (D,) rate a year (attractiveness) or jobs a year
    run: Run
    iterations: int


class TargetSolver:
    """Solves a target for both levers against one neutral baseline run."""

    def __init__(
        self,
        projector: Projector,
        target: Target,
        *,
        baseline: Run | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if target.place not in projector.places:
            raise SpecError(f"--place {target.place!r} is not in the fits (4-character codes, "
                            "e.g. 0301)")  # fmt: skip
        years = projector.years
        if not years[0] < target.year <= years[-1]:
            raise SpecError(f"--year {target.year}: give a year after the base year {years[0]}, "
                            f"up to {years[-1]}")  # fmt: skip
        self.projector, self.target = projector, target
        self.say = progress or (lambda _msg: None)
        self.p = projector.places.index(target.place)
        self.t = int(target.year - years[0])
        self.baseline = baseline or projector.run("neutral")
        self.base_value = float(_quantity(self.baseline.out, target, self.p, 0)[0])
        self.value = self.base_value if target.value is None else float(target.value)
        self.tolerance = max(0.5, 1e-4 * self.value)
        self.first_job_year = max(projector.last_jobs + 1, int(years[0]))

    def _intervention(self, lever: str, level: np.ndarray) -> Intervention:
        values = np.zeros((self.projector.n, len(self.projector.places)))
        values[:, self.p] = level
        if lever == "attractiveness":
            years = range(int(self.projector.years[0]), self.target.year)
            return Intervention(residential=dict.fromkeys(years, values))
        return Intervention(
            jobs=dict.fromkeys(range(self.first_job_year, self.target.year), values)
        )

    def evaluate(self, lever: str, level: np.ndarray) -> tuple[np.ndarray, Run]:
        """The target's quantity minus the target value (D,) at ``level``, and the run."""
        run = self.projector.run("neutral", intervention=self._intervention(lever, level),
                                 replay=self.baseline.controls)  # fmt: skip
        return _quantity(run.out, self.target, self.p, self.t) - self.value, run

    def _first_guess(self, lever: str, gap: np.ndarray) -> np.ndarray:
        """A first-order level closing ``gap`` (D,) persons: the gap over the person-years
        exposed (attractiveness), or the gap spread over the years (jobs)."""
        if lever == "attractiveness":
            exposed = self.baseline.out["population"][:, self.p, : self.t].sum(axis=1)
            return np.clip(gap / np.maximum(exposed, 1.0), -MAX_RATE, MAX_RATE)
        return gap / (self.target.year - self.first_job_year)

    def _bounds(self, lever: str) -> tuple[np.ndarray, np.ndarray]:
        n = self.projector.n
        if lever == "attractiveness":
            return np.full(n, -MAX_RATE), np.full(n, MAX_RATE)
        years = self.target.year - self.first_job_year
        jobs = self.baseline.out["jobs_private"][:, self.p, 0].astype(np.float64)
        return -jobs / years, np.full(n, np.inf)  # no more closures than jobs

    def solve(self, lever: str) -> Solution:
        """Per draw, the constant level of ``lever`` that reaches the target."""
        if lever not in LEVERS:
            raise SpecError(f"unknown lever {lever!r}; choose from {', '.join(LEVERS)}")
        if lever == "jobs" and self.first_job_year >= self.target.year:
            raise SpecError(f"--year {self.target.year}: extra jobs start in "
                            f"{self.first_job_year}; give a later target year")  # fmt: skip
        lower, upper = self._bounds(lever)
        f0 = _quantity(self.baseline.out, self.target, self.p, self.t) - self.value
        x0 = np.zeros_like(f0)
        if np.all(np.abs(f0) <= self.tolerance):
            return Solution(lever, x0, self.baseline, 0)
        x1 = np.clip(self._first_guess(lever, -f0), lower, upper)
        f1, run = self.evaluate(lever, x1)
        iterations = 1
        rising = np.ones(len(f1), dtype=bool)  # whether the target's quantity rises with x
        while iterations < MAX_ITERATIONS:
            done = np.abs(f1) <= self.tolerance
            self.say(f"{LEVER_LABELS[lever]}: step {iterations}, {int(done.sum())} of "
                     f"{len(done)} draws on target")  # fmt: skip
            if done.all():
                break
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = (f1 - f0) / (x1 - x0)
            moving = ~done & np.isfinite(slope) & (slope != 0)
            if not moving.any():
                break
            rising = np.where(moving, slope > 0, rising)
            x2 = np.where(moving, np.clip(x1 - f1 / np.where(moving, slope, 1.0), lower, upper),
                          x1)  # fmt: skip
            x0, f0 = np.where(moving, x1, x0), np.where(moving, f1, f0)
            x1 = x2
            f1, run = self.evaluate(lever, x1)
            iterations += 1
        # a draw no level within the bounds brings to the target needs more (+inf) or
        # less (-inf) than they allow: kept as such so that quantiles stay honest
        more = (f1 < 0) == rising
        level = np.where(np.abs(f1) <= self.tolerance, x1, np.where(more, np.inf, -np.inf))
        return Solution(lever, level, run, iterations)


def sustained_levels(fit: FitResult, *, draws: int = SUMMARY_DRAWS) -> pd.DataFrame:
    """Per place (posterior medians): attractiveness over the last ten fitted years
    (``recent``) and the highest mean over any ten consecutive fitted years
    (``best_sustained``), as rates a year."""
    latent = fit.latent_attractiveness
    keep = np.linspace(0, latent.sizes["draw"] - 1, min(draws, latent.sizes["draw"]))
    latent = latent.isel(draw=keep.round().astype(int))
    window = min(HISTORY_YEARS, latent.sizes["year"])
    recent = latent.isel(year=slice(-window, None)).mean("year").median("draw")
    rolling = latent.rolling(year=window).mean().median("draw").max("year")
    return pd.DataFrame({"recent": recent.to_series(), "best_sustained": rolling.to_series()})


def placing(draws: np.ndarray, levels: pd.DataFrame) -> dict[str, float | bool]:
    """Where the median of ``draws`` (a needed level per draw, +-inf where unsolved) sits
    among all places' levels: percentile of the places' recent ten years below it, and
    whether it exceeds every place's best ten-year mean."""
    level = _quantiles(draws)[1]
    best = float(levels["best_sustained"].max())
    if not np.isfinite(level):
        return {"percentile": float("nan"), "beyond_any": level > 0, "best_sustained": best}
    return {
        "percentile": float((levels["recent"] < level).mean() * 100),
        "beyond_any": bool(level > best),
        "best_sustained": best,
    }


@dataclass(frozen=True)
class TargetResult:
    """A target, what reaches it per draw (both levers), the probability of reaching it in
    each scenario, and a projection holding the scenarios and the solved runs."""

    target: Target
    value: float  # the target in persons
    base_value: float  # the base year's number (observed)
    draws: pd.DataFrame  # per draw: attractiveness, persons_per_year, jobs_per_year, jobs_rate
    probabilities: pd.DataFrame  # scenario, probability, median
    residential_place: dict
    business_place: dict
    projection: ProjectionResult
    provenance: dict

    @property
    def name(self) -> str:
        return str(self.projection.ds["name"].sel(place=self.target.place).item())

    def summary(self) -> pd.DataFrame:
        """``measure, median, lower_80, upper_80, share_solved`` per needed level (+-inf:
        more, or less, than the bounds allow)."""
        rows = []
        for column, label in DRAW_MEASURES.items():
            values = self.draws[column].to_numpy(dtype=float)
            lo, med, hi = _quantiles(values)
            rows.append({"measure": label, "median": med, "lower_80": lo, "upper_80": hi,
                         "share_solved": float(np.isfinite(values).mean())})  # fmt: skip
        return pd.DataFrame(rows)

    def text(self) -> str:
        """The result in plain sentences and a small table of probabilities."""
        t = self.target
        goal = (f"keep the {t.what} at {self.base_value:,.0f} (base year)"
                if t.value is None else f"reach {self.value:,.0f} ({t.what})")  # fmt: skip
        lines = [f"{self.name} ({t.place}): to {goal} in {t.year} needs, on top of the "
                 "neutral scenario,", ""]  # fmt: skip
        summary = self.summary().set_index("measure")
        rate = summary.loc[DRAW_MEASURES["attractiveness"]]
        persons = summary.loc[DRAW_MEASURES["persons_per_year"]]
        jobs = summary.loc[DRAW_MEASURES["jobs_per_year"]]
        lines.append(f"  residential attractiveness {_level(rate, 100, '+.2f')} % a year, "
                     f"about {_signed(persons['median'], 1, '+,.0f')} persons a year")  # fmt: skip
        lines.append(f"    {_placing_text(self.residential_place, 'residential')}")
        lines.append(f"  or {_level(jobs, 1, '+,.0f')} extra private jobs a year from "
                     f"{self.provenance['first_job_year']} to {t.year - 1}")  # fmt: skip
        lines.append(f"    {_placing_text(self.business_place, 'business')}")
        for row in (rate, jobs):
            if row["share_solved"] < 1:
                lines.append(f"  {row.name}: in {1 - row['share_solved']:.0%} of draws no level "
                             "within the bounds reaches the target (attractiveness within "
                             "+-10 % a year, closures of at most all private jobs)")  # fmt: skip
        neutral = self.probabilities.set_index("scenario")["median"].get("neutral")
        if neutral is not None and neutral >= self.value and np.isfinite(rate["median"]):
            lines.append("  The neutral outlook reaches the target already: the levels are the "
                         "margin the place has.")  # fmt: skip
        lines += ["", "Probability of reaching the target without changes, per scenario:"]
        for row in self.probabilities.itertuples():
            lines.append(f"  {row.scenario:<20} {row.probability:6.0%}   median {row.median:,.0f}")
        return "\n".join(lines)

    def fan_reference(self) -> pd.DataFrame:
        """The target as a reference line for fan charts (base year to target year)."""
        years = [int(self.projection.ds.year[0]), self.target.year]
        return pd.DataFrame({"year": years, "value": [self.value] * 2, "label": "target"})

    def save(self, out: str | Path) -> Path:
        """``target.json`` (summary, probabilities, placing, provenance) and
        ``target_draws.parquet`` (per-draw levels) in ``out``."""
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        mark_owned(folder, "target", __version__)
        payload = {
            "target": {"place": self.target.place, "year": self.target.year,
                       "value": self.value, "age_group": self.target.age_group,
                       "base_value": self.base_value},
            "summary": self.summary().to_dict(orient="records"),
            "probabilities": self.probabilities.to_dict(orient="records"),
            "residential_placing": self.residential_place,
            "business_placing": self.business_place,
            "provenance": self.provenance,
        }  # fmt: skip
        atomic_write_text(folder / "target.json", json.dumps(payload, indent=2, default=float))
        atomic_write_bytes(folder / "target_draws.parquet", self.draws.to_parquet(index=False))
        return folder


def _quantiles(values: np.ndarray) -> tuple[float, float, float]:
    """10 %, 50 % and 90 % quantiles of per-draw levels that may be +-inf (no level within
    the bounds): order statistics, so an infinite draw never leaks into a finite one."""
    q = np.quantile(np.asarray(values, dtype=float), [0.1, 0.5, 0.9], method="inverted_cdf")
    return float(q[0]), float(q[1]), float(q[2])


DRAW_MEASURES = {
    "attractiveness": "residential attractiveness (rate a year)",
    "persons_per_year": "residential attractiveness (persons a year)",
    "jobs_per_year": "extra private jobs a year",
    "jobs_rate": "extra private jobs (share of private jobs a year)",
}


def _signed(value: float, scale: float, spec: str) -> str:
    if np.isinf(value):
        return "beyond the bounds" if value > 0 else "below the bounds"
    return format(value * scale, spec)


def _level(row: pd.Series, scale: float, spec: str) -> str:
    """``median (80 %: lower to upper)`` of a summary row."""
    return (f"{_signed(row['median'], scale, spec)} (80 %: {_signed(row['lower_80'], scale, spec)}"
            f" to {_signed(row['upper_80'], scale, spec)})")  # fmt: skip


def _placing_text(place: dict, kind: str) -> str:
    if not np.isfinite(place["percentile"]):
        return "(no level within the bounds in most draws)"
    if place["beyond_any"]:
        return (
            f"higher than any municipality has sustained for ten years "
            f"(best {place['best_sustained'] * 100:+.2f} % a year of {kind} attractiveness)"
        )
    return (f"above {place['percentile']:.0f} % of places' {kind} attractiveness over their "
            "last ten years")  # fmt: skip


def reach_target(
    projector: Projector,
    target: Target,
    *,
    scenarios: Sequence[str] = SCENARIOS,
    progress: Callable[[str], None] | None = None,
    runs: Mapping[str, Run] | None = None,
    sustained: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> TargetResult:
    """Solve ``target`` for both levers and the probability of reaching it per scenario
    (the scenarios projected with the same draws; the neutral run is the baseline).

    ``runs``: scenario runs already made with ``projector``, reused (e.g. for several
    targets or places; its ``neutral`` is the baseline); ``sustained``: the residential and
    business :func:`sustained_levels`, when already computed."""
    say = progress or (lambda _msg: None)
    made = dict(runs or {})
    if "neutral" not in made:
        say("neutral baseline")
        made["neutral"] = projector.run("neutral")
    baseline = made["neutral"]
    solver = TargetSolver(projector, target, baseline=baseline, progress=say)
    runs = {"neutral": baseline}
    for scenario in scenarios:
        if scenario not in runs:
            if scenario not in made:
                say(scenario)
                made[scenario] = projector.run(scenario)
            runs[scenario] = made[scenario]
    p, t = solver.p, solver.t
    probabilities = pd.DataFrame(
        [{"scenario": s, "probability": float((_quantity(r.out, target, p, t) >= solver.value
                                               - 1e-6).mean()),
          "median": float(np.median(_quantity(r.out, target, p, t)))}
         for s, r in runs.items() if s in scenarios]
    )  # fmt: skip
    solutions = {lever: solver.solve(lever) for lever in LEVERS}
    rate = solutions["attractiveness"].level
    solved_run = solutions["attractiveness"].run
    exposed = solved_run.out["population"][:, p, :t].astype(np.float64).mean(axis=1)
    jobs = solutions["jobs"].level
    private = baseline.out["jobs_private"][:, p, 0].astype(np.float64)
    draws = pd.DataFrame({
        "draw": np.arange(projector.n), "attractiveness": rate,
        "persons_per_year": rate * exposed, "jobs_per_year": jobs,
        "jobs_rate": jobs / np.maximum(private, 1.0),
    })  # fmt: skip
    residential, business = sustained or (sustained_levels(projector.migration),
                                          sustained_levels(projector.jobs))  # fmt: skip
    labelled = [*runs, *(LEVER_LABELS[lever] for lever in LEVERS)]
    result = _result(projector, labelled, [*runs.values(), *(s.run for s in solutions.values())])
    return TargetResult(
        target=target,
        value=solver.value,
        base_value=solver.base_value,
        draws=draws,
        probabilities=probabilities,
        residential_place=placing(rate, residential),
        business_place=placing(draws["jobs_rate"].to_numpy(), business),
        projection=result,
        provenance={
            "attrbayes_version": __version__,
            "seed": projector.seed,
            "draws": projector.n,
            "assumptions": projector.assumptions,
            "alternative": projector.alternative,
            "migration_spec": projector.migration.spec.name,
            "jobs_spec": projector.jobs.spec.name,
            "migration_data_hash": projector.migration.tree.attrs["data_hash"],
            "first_job_year": solver.first_job_year,
            "iterations": {k: s.iterations for k, s in solutions.items()},
            "tolerance_persons": solver.tolerance,
        },
    )
