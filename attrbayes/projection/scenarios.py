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
"""

from __future__ import annotations

import numpy as np

from attrbayes.exceptions import SpecError

SCENARIOS = ("neutral", "historical", "historical_constant", "high", "low")
HISTORY_YEARS = 10
PERCENTILES = {"high": 80.0, "low": 20.0}


def check_scenarios(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise SpecError(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    return tuple(names)


def attractiveness_path(
    scenario: str,
    latent: np.ndarray,
    steps: np.ndarray,
    *,
    ar: np.ndarray | None = None,
    phi: np.ndarray | None = None,
) -> np.ndarray:
    """Attractiveness (D, P, H) for ``steps`` years after the last fitted year.

    ``latent`` is (D, P, T) over the fitted years; ``ar`` (D, P, T) the AR(1) deviation
    part of it and ``phi`` (D,) its persistence, when the fit has one.
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
        level = np.percentile(recent, PERCENTILES[scenario], axis=1)
        return np.broadcast_to(level[:, None, None], (d, p, horizon)).copy()
    raise SpecError(f"unknown scenario {scenario!r}; choose from {list(SCENARIOS)}")
