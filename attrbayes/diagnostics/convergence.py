"""The diagnostics gate: R-hat, bulk and tail ESS, divergences and E-BFMI.

Thresholds follow current practice (Vehtari et al. 2021): R-hat <= 1.01, ESS >= 400 (bulk
and tail), no divergent transitions, E-BFMI >= 0.3 in every chain. A failed gate warns
with the worst parameters; strict mode raises instead.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes.exceptions import ConvergenceError, ConvergenceWarning
from attrbayes.inference import bfmi, convergence_table

RHAT_MAX = 1.01
ESS_MIN = 400.0
BFMI_MIN = 0.3


@dataclass(frozen=True)
class GateReport:
    """What the gate found; ``passed`` is the verdict."""

    table: pd.DataFrame  # rhat, ess_bulk, ess_tail per scalar parameter
    divergences: int | None
    bfmi: np.ndarray | None
    draws: int
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def mcmc(self) -> bool:
        return self.divergences is not None

    def worst(self, n: int = 8) -> pd.DataFrame:
        """The parameters furthest from the thresholds (highest R-hat, lowest ESS)."""
        t = self.table.dropna()
        score = np.maximum.reduce(
            [t["rhat"] - RHAT_MAX, (ESS_MIN - t["ess_bulk"]) / ESS_MIN * 0.1,
             (ESS_MIN - t["ess_tail"]) / ESS_MIN * 0.1]
        )  # fmt: skip
        return (
            t.assign(_score=score)
            .sort_values("_score", ascending=False)
            .head(n)
            .drop(columns="_score")
        )

    def summary_line(self) -> str:
        t = self.table
        parts = [
            f"max R-hat {t['rhat'].max():.3f}",
            f"min bulk ESS {t['ess_bulk'].min():.0f}",
            f"min tail ESS {t['ess_tail'].min():.0f}",
        ]
        if self.mcmc:
            parts.append(f"{self.divergences} divergences")
            parts.append(f"min E-BFMI {np.min(self.bfmi):.2f}")
        verdict = "passed" if self.passed else "FAILED"
        return f"diagnostics gate {verdict}: " + ", ".join(parts)

    def message(self) -> str:
        if self.passed:
            return self.summary_line()
        lines = [self.summary_line(), *[f"  - {p}" for p in self.problems], "  worst parameters:"]
        lines += ["    " + line for line in self.worst().to_string().splitlines()]
        return "\n".join(lines)

    def enforce(self, *, strict: bool = False) -> None:
        """Warn (or, when ``strict``, raise) if the gate failed."""
        if self.passed:
            return
        if strict:
            raise ConvergenceError(self.message())
        warnings.warn(self.message(), ConvergenceWarning, stacklevel=2)


def nonfinite_variables(ds: xr.Dataset) -> list[str]:
    """The floating-point variables of ``ds`` holding NaN or infinite values (draws of an
    interrupted or failed run)."""
    return [name for name, da in ds.data_vars.items()
            if da.dtype.kind == "f" and not np.isfinite(da.values).all()]  # fmt: skip


def gate(tree: xr.DataTree) -> GateReport:
    """Run the gate on every scalar of the posterior."""
    posterior = tree["posterior"]
    table = convergence_table(tree).dropna(how="all")
    draws = posterior.sizes["chain"] * posterior.sizes["draw"]
    problems = []
    if nonfinite_variables(posterior.to_dataset()):
        problems.append("the draws hold NaN or infinite values (an interrupted or failed run)")
    if table.empty:
        problems.append("no convergence statistics could be computed")
    missing = table[table.isna().any(axis=1)]
    if len(missing):
        problems.append(f"{len(missing)} parameter(s) without R-hat or ESS: "
                        f"{', '.join(map(str, missing.index[:5]))}")  # fmt: skip
    bad_rhat = table[table["rhat"] > RHAT_MAX]
    if len(bad_rhat):
        problems.append(f"{len(bad_rhat)} parameter(s) with R-hat > {RHAT_MAX}")
    for column in ("ess_bulk", "ess_tail"):
        low = table[table[column] < ESS_MIN]
        if len(low):
            problems.append(f"{len(low)} parameter(s) with {column} < {ESS_MIN:.0f}")
    divergences = energy = None
    if "sample_stats" in tree and "diverging" in tree["sample_stats"]:
        divergences = int(tree["sample_stats"]["diverging"].sum())
        if divergences:
            problems.append(f"{divergences} divergent transition(s)")
        energy = bfmi(tree)
        if not np.isfinite(energy).all():
            problems.append("E-BFMI could not be computed in every chain")
        elif np.any(energy < BFMI_MIN):
            problems.append(
                f"E-BFMI below {BFMI_MIN} in chain(s) {np.flatnonzero(energy < BFMI_MIN).tolist()}"
            )
    else:
        problems.append("no sampler statistics: draws did not come from MCMC")
    return GateReport(table, divergences, energy, draws, problems)
