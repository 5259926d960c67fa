"""Posterior predictive checks and LOO model comparison.

Both rebuild the model from a result's stored design, so they work on loaded fits too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from attrbayes.constants import INTERVALS
from attrbayes.exceptions import DataError
from attrbayes.inference import compare, high_pareto_k, loo
from attrbayes.results import FitResult, stack_draws, thin


def replicate(fit: FitResult, *, max_draws: int = 500, seed: int | None = None) -> xr.DataArray:
    """Posterior predictive replicates of the dependent variable (draw, obs)."""
    model = fit.model().build()
    tree = xr.DataTree.from_dict({"posterior": thin(fit.posterior, max_draws)})
    with model:
        pp = pm.sample_posterior_predictive(
            tree, var_names=["y"], random_seed=seed or fit.sampler.seed, progressbar=False
        )
    return stack_draws(pp["posterior_predictive"]["y"])


@dataclass(frozen=True)
class PPCReport:
    """Observed data against posterior predictive replicates."""

    coverage: pd.DataFrame  # interval mass -> share of observations inside
    statistics: pd.DataFrame  # statistic -> observed, replicated median, p-value
    replicates: xr.DataArray
    observed: np.ndarray

    def passed(self, tolerance: float = 0.1) -> bool:
        """Coverage within ``tolerance`` of nominal at every mass."""
        return bool((self.coverage["coverage"] - self.coverage["nominal"]).abs().max() <= tolerance)


def _statistics(values: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "mean": values.mean(axis=-1),
        "sd": values.std(axis=-1),
        "q05": np.quantile(values, 0.05, axis=-1),
        "q95": np.quantile(values, 0.95, axis=-1),
        "min": values.min(axis=-1),
        "max": values.max(axis=-1),
    }


def posterior_predictive_check(fit: FitResult, *, max_draws: int = 500) -> PPCReport:
    """Interval coverage of the observations and Bayesian p-values of summary statistics."""
    reps = replicate(fit, max_draws=max_draws)
    y = fit.design.y
    values = reps.transpose("draw", "obs").to_numpy()
    rows = []
    for mass in INTERVALS:
        lo, hi = np.quantile(values, [(1 - mass) / 2, 1 - (1 - mass) / 2], axis=0)
        rows.append({"nominal": mass, "coverage": float(np.mean((y >= lo) & (y <= hi)))})
    observed = _statistics(y[None, :])
    replicated = _statistics(values)
    stats = pd.DataFrame(
        {
            "observed": {k: float(v[0]) for k, v in observed.items()},
            "replicated_median": {k: float(np.median(v)) for k, v in replicated.items()},
            "p_value": {k: float(np.mean(replicated[k] >= observed[k][0])) for k in observed},
        }
    )
    return PPCReport(pd.DataFrame(rows), stats, reps, y)


def log_likelihood(fit: FitResult) -> xr.DataTree:
    """The fit's tree with a ``log_likelihood`` group (computed from the rebuilt model)."""
    model = fit.model().build()
    observed = xr.Dataset({"y": ("obs", fit.design.y)}, coords={"obs": np.arange(fit.design.n)})
    tree = xr.DataTree.from_dict({"posterior": fit.posterior, "observed_data": observed})
    return pm.compute_log_likelihood(tree, model=model, progressbar=False)


@dataclass(frozen=True)
class LOOComparison:
    """LOO comparison of fits to the same observations."""

    table: pd.DataFrame
    pareto_k_bad: dict[str, int]  # observations above the Pareto k threshold, per model


def compare_fits(fits: Mapping[str, FitResult]) -> LOOComparison:
    """PSIS-LOO comparison; the fits must share the same observations (place, year, y)."""
    if len(fits) < 2:
        raise DataError("LOO comparison needs at least two fits")
    keys = {}
    for name, fit in fits.items():
        frame = fit.design.frame[["place", "year", "y"]]
        keys[name] = pd.util.hash_pandas_object(frame, index=False).sum()
    if len(set(keys.values())) != 1:
        raise DataError(
            "LOO needs the same observations in every fit; these differ in places, years or "
            f"dependent variable: {sorted(keys)}. Fit them on the same panel, level and years."
        )
    trees = {name: log_likelihood(fit) for name, fit in fits.items()}
    bad = {
        name: high_pareto_k(loo(tree), fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"])
        for (name, tree), fit in zip(trees.items(), fits.values(), strict=True)
    }
    return LOOComparison(compare(trees), bad)
