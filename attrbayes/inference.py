"""The only module that calls ArviZ: convergence statistics, LOO and model comparison.

ArviZ 1.x changed many APIs; keeping every call here means a future change touches one
file. Functions take and return plain xarray / pandas objects. ArviZ is imported on first
use, so that commands which need no diagnostics (projections, fans) do not load it:
with JAX installed, its import also loads JAX (lazy_loader's missing-module path inspects
the stack, which loads every lazily registered module), about 250 MB and a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:
    import arviz as az


def _arviz() -> ModuleType:
    import arviz

    return arviz


def flatten(ds: xr.Dataset, var_names: Sequence[str] | None = None) -> pd.Series:
    """Scalars of a dataset as a Series labelled ``name`` or ``name[coord, ...]``."""
    out: dict[str, float] = {}
    for name in var_names or list(ds.data_vars):
        da = ds[name]
        if da.ndim == 0:
            out[name] = float(da)
            continue
        stacked = da.stack(_cell=da.dims)
        for label, value in zip(stacked["_cell"].to_index(), stacked.values, strict=True):
            key = label if isinstance(label, tuple) else (label,)
            out[f"{name}[{', '.join(str(k) for k in key)}]"] = float(value)
    return pd.Series(out, dtype=float)


def convergence_table(tree: xr.DataTree, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """R-hat and bulk / tail ESS of every scalar in the posterior."""
    with warnings.catch_warnings():
        # constant draws (e.g. fixed deterministics) give NaN diagnostics and a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = _arviz().rhat(tree, var_names=var_names).dataset
        bulk = _arviz().ess(tree, method="bulk", var_names=var_names).dataset
        tail = _arviz().ess(tree, method="tail", var_names=var_names).dataset
    return pd.DataFrame(
        {"rhat": flatten(rhat), "ess_bulk": flatten(bulk), "ess_tail": flatten(tail)}
    )


def bfmi(tree: xr.DataTree) -> np.ndarray:
    """E-BFMI per chain (needs the sampler's energy)."""
    return np.asarray(_arviz().bfmi(tree)["energy"].values, dtype=float)


def loo(tree: xr.DataTree, var_name: str = "y") -> az.ELPDData:
    """PSIS-LOO from the tree's log_likelihood group."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        return _arviz().loo(tree, pointwise=True, var_name=var_name)


def compare(trees: Mapping[str, xr.DataTree], var_name: str = "y") -> pd.DataFrame:
    """LOO comparison (rank, elpd_loo, p_loo, elpd_diff, weight, se, dse, ...)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")
        return _arviz().compare(dict(trees), var_name=var_name, round_to="none")


def pareto_k_threshold(n_samples: int) -> float:
    """Above this k, PSIS-LOO is unreliable for an observation (Vehtari et al. 2024)."""
    return min(1 - 1 / np.log10(n_samples), 0.7) if n_samples > 1 else 0.7


def high_pareto_k(elpd: az.ELPDData, n_samples: int) -> int:
    """How many observations have a Pareto k above the reliability threshold."""
    k = np.asarray(elpd.pareto_k).ravel()
    return int(np.sum(k > pareto_k_threshold(n_samples)))
