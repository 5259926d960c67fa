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

Optional: ``national_population = { 2024 = 5550203, 2050 = 6114899 }``, the nation's
persons on 1 January (linear between the years given): where given, the engine sets each
year's national net immigration per draw so that the nation reaches it (neutral and
historical scenarios; ``net_immigration_rate`` still serves the years outside the path
and the centrality coefficient's immigration link). The job growth keys also take the
rule ``"employment_rates"`` instead of numbers: national job growth from the panel's
employment rates by sex and age held constant, applied to the (projected) population
(MODEL.md 5).

Optional, shared by the alternatives: an ``[industry]`` table with the national growth by
industry of the shift-share industry effect (MODEL.md 5; see
:mod:`attrbayes.projection.industry`)::

    [industry]
    source = "MODEL.md 5: the book's judgemental corrections"
    cap = 0.02             # starting growth of a national industry within +/-2 % a year
    average_years = 10     # the last decade's average annual growth
    [industry.rate]        # starting growth set by judgement (a year), replacing the average
    oil_gas = -0.02
    [industry.shift]       # or added to the average before the cap
    construction = 0.005

Each industry converges linearly to the common rate over the alternative's
``industry_convergence_years``. Without an ``[industry]`` table the last observed years'
industry effect fades instead.

Unknown keys and unknown rules are errors naming the file and key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attrbayes.config import resolve_toml
from attrbayes.constants import INDUSTRIES
from attrbayes.exceptions import SpecError
from attrbayes.io_utils import read_text
from attrbayes.resources import shipped_dir

PATHS: dict[str, str] = {
    "net_immigration_rate": "national net immigration / national population 1 January",
    "tfr": "total fertility rate (the base year's age pattern is scaled to it)",
    "mortality_decline": "yearly relative fall of every death probability q(x)",
    "private_job_growth": "national private job growth rate",
    "public_job_growth": "public job growth rate (every place)",
}
OPTIONAL_PATHS: dict[str, str] = {
    "national_population": "the nation's persons on 1 January: national net immigration is "
    "set to reach it (neutral and historical scenarios)",
}
# rules a key may name instead of numbers (key -> rule -> meaning)
RULES: dict[str, dict[str, str]] = {
    key: {
        "employment_rates": "national growth of employed persons: the panel's employment "
        "rates by sex and age held constant x the (projected) population (MODEL.md 5)"
    }
    for key in ("private_job_growth", "public_job_growth")
}
SCALARS: dict[str, str] = {
    "industry_convergence_years": "years until national industries grow alike, so the "
    "industry effect fades linearly to 0 (MODEL.md 5)",
}
# the optional [industry] table (key -> meaning); source, cap and average_years required
INDUSTRY_KEYS: dict[str, str] = {
    "source": "where the corrections come from",
    "notes": "free text",
    "cap": "largest absolute starting growth rate of a national industry, a year (0.02 = 2 %)",
    "average_years": "years of observed national growth averaged (the last decade: 10)",
    "rate": "table industry -> starting growth rate a year, set by judgement",
    "shift": "table industry -> added to the observed average before the cap",
}


@dataclass(frozen=True)
class IndustryAssumptions:
    """National growth by industry (MODEL.md 5): the observed average of the last
    ``average_years`` corrected by ``rate`` (set) or ``shift`` (added), within +/-``cap``."""

    source: str
    cap: float
    average_years: int
    rate: dict[str, float] = field(default_factory=dict)
    shift: dict[str, float] = field(default_factory=dict)

    def start_rates(self, average: Mapping[str, float]) -> dict[str, float]:
        """Starting growth a year per industry from the observed ``average`` (a rate
        of ``+inf`` for an industry that grew from nothing is capped like any other)."""
        out = {}
        for name, value in average.items():
            raw = self.rate.get(name, float(value) + self.shift.get(name, 0.0))
            out[name] = float(np.clip(raw, -self.cap, self.cap))
        return out


@dataclass(frozen=True)
class Alternative:
    """One national alternative: yearly paths and scalars."""

    name: str
    paths: dict[str, dict[int, float]]
    scalars: dict[str, float]
    rules: dict[str, str] = field(default_factory=dict)  # key -> rule (see RULES)
    industry: IndustryAssumptions | None = None  # the set's [industry] table, if any

    def rule(self, key: str) -> str | None:
        """The rule ``key`` names (e.g. ``"employment_rates"``), or None for a path."""
        return self.rules.get(key)

    def span(self, key: str) -> tuple[int, int] | None:
        """First and last year of an optional path, or None when it is not given."""
        points = self.paths.get(key)
        return (min(points), max(points)) if points else None

    def path(self, key: str, years: np.ndarray) -> np.ndarray:
        """The path of ``key`` at ``years``: linear between given years, flat outside."""
        if key in self.rules:
            raise SpecError(f"alternative {self.name!r}: {key} is the rule "
                            f"{self.rules[key]!r}, not a path")  # fmt: skip
        if key not in self.paths:
            raise SpecError(f"alternative {self.name!r} has no {key} path")
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
    industry: IndustryAssumptions | None = None

    def __getitem__(self, alternative: str) -> Alternative:
        if alternative not in self.alternatives:
            raise SpecError(
                f"assumption set {self.name!r} has no alternative {alternative!r}; "
                f"available: {sorted(self.alternatives)}"
            )
        return self.alternatives[alternative]


def assumptions_dir() -> Path:
    """Where assumption sets are looked up: $ATTRBAYES_ASSUMPTIONS, else the shipped
    ``assumptions/``."""
    return shipped_dir("assumptions")


def load_assumptions(name_or_path: str | Path = "synthetic") -> AssumptionSet:
    """Load and validate a national assumption set.

    Parameters
    ----------
    name_or_path
        A shipped set's name (``assumptions/NAME.toml``: "synthetic", "norway_2024",
        "norway_2024_ssb") or a path to a TOML file.

    Returns
    -------
    AssumptionSet
        Its low, main and high alternatives: paths of fertility, mortality, net
        immigration and job growth (docs/projection_assumptions.md).
    """
    path = resolve_toml(name_or_path, assumptions_dir(), "assumption set", SpecError)
    text = read_text(path, "assumption set")
    return parse_assumptions(text, name=path.stem, where=str(path))


def parse_assumptions(text: str, *, name: str, where: str) -> AssumptionSet:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML ({exc})") from exc
    provenance = raw.pop("provenance", None)
    if not isinstance(provenance, dict) or not provenance.get("source"):
        raise SpecError(f"{where}: a [provenance] table with a 'source' is required")
    industry = raw.pop("industry", None)
    if industry is not None:
        industry = _industry(industry, f"{where}, [industry]")
    if not raw:
        raise SpecError(f"{where}: no alternatives (tables such as [main])")
    alternatives = {
        alt: _alternative(alt, table, f"{where}, [{alt}]", industry) for alt, table in raw.items()
    }
    return AssumptionSet(name, provenance, alternatives, text, industry)


def _industry(table: Any, where: str) -> IndustryAssumptions:
    """Validate the ``[industry]`` table (see :data:`INDUSTRY_KEYS`)."""
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table, got {table!r}")
    unknown = sorted(set(table) - set(INDUSTRY_KEYS))
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(INDUSTRY_KEYS)}")
    missing = sorted({"source", "cap", "average_years"} - set(table))
    if missing:
        raise SpecError(f"{where}: missing {missing}")
    if not isinstance(table["source"], str) or not table["source"].strip():
        raise SpecError(f"{where}, key 'source': expected a non-empty text")
    cap = table["cap"]
    if not _number(cap) or not 0 < cap < 1:
        raise SpecError(f"{where}, key 'cap': expected a number in (0, 1), got {cap!r}")
    years = table["average_years"]
    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        raise SpecError(f"{where}, key 'average_years': expected a positive whole number of "
                        f"years, got {years!r}")  # fmt: skip
    corrections: dict[str, dict[str, float]] = {}
    for kind in ("rate", "shift"):
        values = table.get(kind, {})
        if not isinstance(values, dict):
            raise SpecError(f"{where}, key '{kind}': expected a table {{ industry = number }}, "
                            f"got {values!r}")  # fmt: skip
        for industry, value in values.items():
            key = f"{where}, key '{kind}.{industry}'"
            if industry not in INDUSTRIES:
                raise SpecError(f"{key}: unknown industry; allowed: {sorted(INDUSTRIES)}")
            if not _number(value):
                raise SpecError(f"{key}: expected a finite number, got {value!r}")
            if kind == "rate" and abs(value) > cap:
                raise SpecError(f"{key}: {value} is beyond the cap +/-{cap}")
        corrections[kind] = {k: float(v) for k, v in values.items()}
    both = sorted(set(corrections["rate"]) & set(corrections["shift"]))
    if both:
        raise SpecError(f"{where}: industries {both} are in both 'rate' and 'shift'; "
                        "give each one correction")  # fmt: skip
    return IndustryAssumptions(table["source"], float(cap), years, **corrections)


def _number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and bool(np.isfinite(value)))  # fmt: skip


def _alternative(
    name: str, table: Any, where: str, industry: IndustryAssumptions | None = None
) -> Alternative:
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table of paths, got {table!r}")
    required = {**PATHS, **SCALARS}
    allowed = {**required, **OPTIONAL_PATHS}
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = sorted(set(required) - set(table))
    if missing:
        raise SpecError(f"{where}: missing {missing}")
    rules = {}
    for key, value in table.items():
        if isinstance(value, str):
            known = RULES.get(key, {})
            if value not in known:
                hint = f"one of {sorted(known)} or " if known else ""
                raise SpecError(f"{where}, key '{key}': unknown rule {value!r}; expected "
                                f"{hint}a number or a table {{ year = number }}")  # fmt: skip
            rules[key] = value
    keys = [k for k in (*PATHS, *OPTIONAL_PATHS) if k in table and k not in rules]
    paths = {key: _path(table[key], f"{where}, key '{key}'") for key in keys}
    scalars = {}
    for key in SCALARS:
        value = table[key]
        if not isinstance(value, int | float) or value <= 0:
            raise SpecError(f"{where}, key '{key}': expected a positive number, got {value!r}")
        scalars[key] = float(value)
    for key in ("tfr", "national_population"):
        if key in paths and min(paths[key].values()) <= 0:
            raise SpecError(f"{where}, key '{key}': must be positive")
    if "national_population" in paths and 0 in paths["national_population"]:
        raise SpecError(f"{where}, key 'national_population': give persons by year, "
                        "{ 2024 = ..., 2050 = ... }, not one number")  # fmt: skip
    return Alternative(name, paths, scalars, rules, industry)


def _path(value: Any, where: str) -> dict[int, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {0: float(value)}
    if isinstance(value, Mapping) and value:
        try:
            points = {int(k): float(v) for k, v in value.items()}
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{where}: expected {{ year = number }}, got {value!r}") from exc
        if not np.isfinite(list(points.values())).all():
            raise SpecError(f"{where}: every value must be finite, got {value!r}")
        return points
    raise SpecError(f"{where}: expected a number or a table {{ year = number }}, got {value!r}")
