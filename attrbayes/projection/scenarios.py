"""Attractiveness scenarios (MODEL.md 5), each still a distribution over posterior draws.

* ``neutral``: attractiveness 0 (structure only);
* ``historical``: the place's attractiveness of the last 10 fitted years, per draw; with
  an AR(1) fit the persistent part (region + place effects) stays and the last year's AR
  deviation decays by the estimated ``ar_phi`` each year; without AR the place effects are
  the estimate of persistent attractiveness and stay;
* ``historical_constant``: the book's rule, the 10-year mean held constant (no decay);
* ``high`` / ``low``: the 80th / 20th percentile of all places' 10-year attractiveness,
  per draw, for every place (both dimensions: residential and business). These are
  what-ifs for each place, as in the book: the engine keeps the uniform shift out of the
  national controls (which would cancel it), so their aggregates sum per-place what-ifs
  and are not a nationally consistent scenario. Where the assumptions give a national
  population path, high and low keep the assumed ``net_immigration_rate`` (the path holds
  for the other scenarios), so their national totals are not held to it.
* ``custom``: a level of one's own for every place, residential and business separately
  (:class:`CustomScenario`): a rate (0.002 = 0.2 % of the population, or of private jobs,
  a year) or a percentile of all places' 10-year attractiveness per draw. A what-if for
  each place like high and low; a dimension without a level is 0 (neutral).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attrbayes.exceptions import SpecError

SCENARIOS = ("neutral", "historical", "historical_constant", "high", "low")
CUSTOM = "custom"
HISTORY_YEARS = 10
PERCENTILES = {"high": 80.0, "low": 20.0}
WHAT_IFS = (*PERCENTILES, CUSTOM)  # per-place what-ifs, kept out of the national controls


@dataclass(frozen=True)
class Level:
    """One dimension's attractiveness in the custom scenario: a rate a year (0.002 =
    0.2 %) or a percentile (0-100) of all places' 10-year attractiveness, per draw."""

    rate: float | None = None
    percentile: float | None = None

    def __post_init__(self) -> None:
        if self.rate is not None and self.percentile is not None:
            raise SpecError("give an attractiveness level as a rate or a percentile, not both")
        if self.rate is not None and not (np.isfinite(self.rate) and abs(self.rate) < 0.2):
            raise SpecError(f"attractiveness {self.rate * 100:g} % a year is not plausible; "
                            "give a rate in % a year between -20 and 20")  # fmt: skip
        if self.percentile is not None and not 0 <= self.percentile <= 100:
            raise SpecError(f"attractiveness percentile {self.percentile} is outside 0-100")

    def describe(self) -> str:
        if self.percentile is not None:
            return f"percentile {self.percentile:g} of all places"
        return f"{(self.rate or 0.0) * 100:+.2f} % a year"

    def values(self, recent: np.ndarray) -> np.ndarray:
        """The level (D,) per draw given all places' 10-year attractiveness (D, P)."""
        if self.percentile is not None:
            return np.percentile(recent, self.percentile, axis=1)
        return np.full(recent.shape[0], self.rate or 0.0)


@dataclass(frozen=True)
class CustomScenario:
    """The custom scenario's levels: residential (migration) and business (jobs)."""

    residential: Level = Level()
    business: Level = Level()

    def describe(self) -> str:
        return (f"residential {self.residential.describe()}, "
                f"business {self.business.describe()}")  # fmt: skip


def custom_scenario(
    rate: float | None = None, percentile: float | None = None,
    business_rate: float | None = None, business_percentile: float | None = None,
) -> CustomScenario | None:  # fmt: skip
    """The custom scenario of the command line's levels (rates in % a year), or None when
    no level is given."""
    if all(v is None for v in (rate, percentile, business_rate, business_percentile)):
        return None
    return CustomScenario(
        residential=Level(None if rate is None else rate / 100, percentile),
        business=Level(None if business_rate is None else business_rate / 100,
                       business_percentile),
    )  # fmt: skip


def check_scenarios(
    names: tuple[str, ...] | list[str], custom: CustomScenario | None = None
) -> tuple[str, ...]:
    known = (*SCENARIOS, CUSTOM)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise SpecError(f"unknown scenario(s) {unknown}; choose from {list(known)}")
    if len(set(names)) < len(names):
        raise SpecError(f"scenarios repeated: {list(names)}")
    if (CUSTOM in names) != (custom is not None):
        raise SpecError("the custom scenario needs a level (--attractiveness, "
                        "--attractiveness-percentile or their business forms), and a level "
                        "needs --scenario custom")  # fmt: skip
    return tuple(names)


def attractiveness_path(
    scenario: str,
    latent: np.ndarray,
    steps: np.ndarray,
    *,
    ar: np.ndarray | None = None,
    phi: np.ndarray | None = None,
    level: Level | None = None,
) -> np.ndarray:
    """Attractiveness (D, P, H) for ``steps`` years after the last fitted year.

    ``latent`` is (D, P, T) over the fitted years; ``ar`` (D, P, T) the AR(1) deviation
    part of it and ``phi`` (D,) its persistence, when the fit has one; ``level`` the
    custom scenario's level of this dimension.
    """
    d, p, _ = latent.shape
    horizon = len(steps)
    recent = latent[:, :, -HISTORY_YEARS:].mean(axis=2)
    if scenario == "neutral":
        return np.zeros((d, p, horizon))
    if scenario == "historical_constant":
        return np.repeat(recent[:, :, None], horizon, axis=2)
    if scenario == "historical":
        if ar is None or phi is None:
            return np.repeat(recent[:, :, None], horizon, axis=2)
        persistent = (latent - ar)[:, :, -HISTORY_YEARS:].mean(axis=2)
        decay = phi[:, None, None] ** np.asarray(steps)[None, None, :]
        return persistent[:, :, None] + ar[:, :, -1][:, :, None] * decay
    if scenario in PERCENTILES:
        level = Level(percentile=PERCENTILES[scenario])
    if scenario in WHAT_IFS:
        if level is None:
            raise SpecError("the custom scenario needs a level")
        values = level.values(recent)
        return np.broadcast_to(values[:, None, None], (d, p, horizon)).copy()
    raise SpecError(f"unknown scenario {scenario!r}; choose from {list(SCENARIOS)}")
