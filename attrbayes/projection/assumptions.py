"""National assumptions of a projection (MODEL.md 5): validated TOML data with provenance.

An assumption set ``assumptions/NAME.toml`` has a ``[provenance]`` table and one table per
alternative (SSB style: ``low``, ``main``, ``high``); each gives yearly paths as a number
(constant) or a table ``{ 2025 = x, 2050 = y }`` (linear between the years given, flat
outside)::

    [main]
    net_immigration_rate = { 2024 = 0.004, 2030 = 0.002 }   # share of national population
    tfr = 1.45                                               # total fertility rate
    mortality_decline = 0.012                                # yearly relative fall of q(x)
    private_job_growth = 0.008                               # national private jobs
    public_job_growth = 0.005
    industry_convergence_years = 15                          # MODEL.md 5

Unknown keys are errors naming the file and key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attrbayes.config import resolve_toml
from attrbayes.exceptions import SpecError

PATHS: dict[str, str] = {
    "net_immigration_rate": "national net immigration / national population 1 January",
    "tfr": "total fertility rate (the base year's age pattern is scaled to it)",
    "mortality_decline": "yearly relative fall of every death probability q(x)",
    "private_job_growth": "national private job growth rate",
    "public_job_growth": "public job growth rate (every place)",
}
SCALARS: dict[str, str] = {
    "industry_convergence_years": "years until national industries grow alike, so the "
    "industry effect fades linearly to 0 (MODEL.md 5)",
}


@dataclass(frozen=True)
class Alternative:
    """One national alternative: yearly paths and scalars."""

    name: str
    paths: dict[str, dict[int, float]]
    scalars: dict[str, float]

    def path(self, key: str, years: np.ndarray) -> np.ndarray:
        """The path of ``key`` at ``years``: linear between given years, flat outside."""
        points = self.paths[key]
        known = np.array(sorted(points), dtype=float)
        values = np.array([points[int(y)] for y in known])
        return np.interp(np.asarray(years, dtype=float), known, values)


@dataclass(frozen=True)
class AssumptionSet:
    name: str
    provenance: dict[str, str]
    alternatives: dict[str, Alternative]
    source_text: str

    def __getitem__(self, alternative: str) -> Alternative:
        if alternative not in self.alternatives:
            raise SpecError(
                f"assumption set {self.name!r} has no alternative {alternative!r}; "
                f"available: {sorted(self.alternatives)}"
            )
        return self.alternatives[alternative]


def assumptions_dir() -> Path:
    env = os.environ.get("ATTRBAYES_ASSUMPTIONS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assumptions"


def load_assumptions(name_or_path: str | Path = "synthetic") -> AssumptionSet:
    """Load and validate an assumption set by name (``assumptions/NAME.toml``) or path."""
    path = resolve_toml(name_or_path, assumptions_dir(), "assumption set", SpecError)
    text = path.read_text(encoding="utf-8")
    return parse_assumptions(text, name=path.stem, where=str(path))


def parse_assumptions(text: str, *, name: str, where: str) -> AssumptionSet:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML ({exc})") from exc
    provenance = raw.pop("provenance", None)
    if not isinstance(provenance, dict) or not provenance.get("source"):
        raise SpecError(f"{where}: a [provenance] table with a 'source' is required")
    if not raw:
        raise SpecError(f"{where}: no alternatives (tables such as [main])")
    alternatives = {
        alt: _alternative(alt, table, f"{where}, [{alt}]") for alt, table in raw.items()
    }
    return AssumptionSet(name, provenance, alternatives, text)


def _alternative(name: str, table: Any, where: str) -> Alternative:
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table of paths, got {table!r}")
    allowed = {**PATHS, **SCALARS}
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = sorted(set(allowed) - set(table))
    if missing:
        raise SpecError(f"{where}: missing {missing}")
    paths = {key: _path(table[key], f"{where}, key '{key}'") for key in PATHS}
    scalars = {}
    for key in SCALARS:
        value = table[key]
        if not isinstance(value, int | float) or value <= 0:
            raise SpecError(f"{where}, key '{key}': expected a positive number, got {value!r}")
        scalars[key] = float(value)
    for key in ("tfr",):
        if min(paths[key].values()) <= 0:
            raise SpecError(f"{where}, key '{key}': must be positive")
    return Alternative(name, paths, scalars)


def _path(value: Any, where: str) -> dict[int, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {0: float(value)}
    if isinstance(value, Mapping) and value:
        try:
            points = {int(k): float(v) for k, v in value.items()}
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{where}: expected {{ year = number }}, got {value!r}") from exc
        return points
    raise SpecError(f"{where}: expected a number or a table {{ year = number }}, got {value!r}")
