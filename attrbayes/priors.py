"""Prior sets: validated TOML data with stated provenance.

A prior set ``priors/NAME.toml`` opens with a ``[provenance]`` table (where the numbers come
from and how they were scaled) and has one table per parameter in the pymc-extras ``Prior``
dict shape::

    [provenance]
    source = "..."
    scaling = "..."

    [vra_t]
    dist = "Normal"
    kwargs = { mu = 0.0, sigma = 0.5 }

A set is for one model kind (``kind = "jobs"`` at the top; migration when absent) and must
give every parameter of that kind (:data:`KIND_PARAMETERS`) except the terms'
coefficients, which fall back to the prior each term declares (:mod:`attrbayes.terms`), so
that a new term needs no edit of every set; unknown keys, unknown distributions and
invalid arguments are errors naming the file and key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymc as pm

from attrbayes.config import resolve_toml
from attrbayes.exceptions import PriorError
from attrbayes.io_utils import read_text
from attrbayes.resources import shipped_dir
from attrbayes.terms import CONTEXTUAL_TERMS, default_prior, slope_parameters

# Parameter -> what it is (units: rates, i.e. share of population per year), in the order
# of the fits' summaries (results.FitResult.summary_vars is this order): the intercept, the
# terms' coefficients and their contextual ones (declared in attrbayes.terms), then the
# hierarchy's, the centrality process's and the noise's parameters.
_PROCESS = {
    "centrality_sigma": "scale of the centrality coefficient's yearly steps (random walk) or "
    "of its spread around the level (AR(1), yearly deviations)",
    "centrality_phi": "persistence of the centrality coefficient's AR(1) around its level",
}
PARAMETERS: dict[str, str] = {
    "intercept": "national level of relative net migration",
    **slope_parameters("migration"),
    **_PROCESS,
    "centrality_immigration": "change of the centrality coefficient per unit national net "
    "immigration rate",
    "sigma_year": "scale of year effects",
    "sigma_group": "scale of region (county at region level) effects",
    "sigma_place": "scale of place effects within groups",
    "ar_phi": "persistence (AR(1) coefficient) of residential attractiveness's time-varying part",
    "sigma_ar": "stationary sd of residential attractiveness's time-varying part",
    "noise_scale": "noise sd of a place of 10,000 inhabitants",
    "noise_floor": "noise sd floor of the largest places",
    "noise_exponent": "exponent of population in the noise scale (when estimated)",
    "nu": "degrees of freedom of the Student-t likelihood",
}

# The job growth model's own parameters (rates: share of last year's private jobs).
JOBS_PARAMETERS: dict[str, str] = {
    "intercept": "national level of relative private job growth",
    **slope_parameters("jobs"),
    **_PROCESS,
    "sigma_year": "scale of year effects",
    "sigma_group": "scale of region (county at region level) effects",
    "sigma_place": "scale of place effects within groups",
    "ar_phi": "persistence (AR(1) coefficient) of business attractiveness's time-varying part",
    "sigma_ar": "stationary sd of business attractiveness's time-varying part",
    "noise_scale": "noise sd of a place with 10,000 private jobs",
    "noise_floor": "noise sd floor of the largest places",
    "noise_exponent": "exponent of private jobs in the noise scale (when estimated)",
    "nu": "degrees of freedom of the Student-t likelihood",
}
KIND_PARAMETERS: dict[str, dict[str, str]] = {"migration": PARAMETERS, "jobs": JOBS_PARAMETERS}
# Parameters a prior set may leave out (added after fits were saved with older sets); a
# spec that needs one fails with a clear error when the set lacks it.
# (a term's coefficient a set leaves out takes the term's declared prior, attrbayes.terms)
OPTIONAL_PARAMETERS = frozenset({"centrality_phi", *CONTEXTUAL_TERMS})
# The prior set a model kind uses unless told otherwise.
DEFAULT_PRIORS: dict[str, str] = {"migration": "weakly_informative",
                                  "jobs": "jobs_weakly_informative"}  # fmt: skip

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "Normal": ("mu", "sigma"),
    "HalfNormal": ("sigma",),
    "StudentT": ("nu", "mu", "sigma"),
    "HalfStudentT": ("nu", "sigma"),
    "Gamma": ("alpha", "beta"),
    "Beta": ("alpha", "beta"),
    "Exponential": ("lam",),
    "LogNormal": ("mu", "sigma"),
    "TruncatedNormal": ("mu", "sigma", "lower", "upper"),
    "Uniform": ("lower", "upper"),
}


# Arguments PyMC lets default.
_DEFAULTS: dict[str, tuple[str, ...]] = {
    "Normal": ("mu",),
    "StudentT": ("mu",),
    "LogNormal": ("mu",),
    "TruncatedNormal": ("mu", "lower", "upper"),
}


@dataclass(frozen=True)
class Prior:
    """One prior: a PyMC distribution name and its keyword arguments."""

    dist: str
    kwargs: dict[str, float]

    def create(self, name: str, **kwargs: Any) -> Any:
        """Add this prior as a random variable to the current PyMC model."""
        return getattr(pm, self.dist)(name, **self.kwargs, **kwargs)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.kwargs.items())
        return f"{self.dist}({args})"


@dataclass(frozen=True)
class PriorSet:
    """A validated prior set with its provenance and source text."""

    name: str
    provenance: dict[str, str]
    priors: dict[str, Prior]
    source_text: str
    kind: str = "migration"

    def __getitem__(self, key: str) -> Prior:
        if key in self.priors:
            return self.priors[key]
        declared = default_prior(key)  # a term's coefficient: its declared prior
        if declared is not None:
            return Prior(*declared)
        raise PriorError(f"prior set {self.name!r} has no prior for {key!r}, which this spec "
                         f"needs; add a [{key}] table")  # fmt: skip

    def table(self) -> list[tuple[str, str, str]]:
        meaning = KIND_PARAMETERS[self.kind]
        return [(k, p.describe(), meaning[k]) for k, p in self.priors.items()]


def priors_dir() -> Path:
    """Where prior sets are looked up: $ATTRBAYES_PRIORS, else the shipped ``priors/``."""
    return shipped_dir("priors")


def available_prior_sets() -> list[str]:
    return sorted(p.stem for p in priors_dir().glob("*.toml"))


def load_prior_set(name_or_path: str | Path | None = None, *, kind: str = "migration") -> PriorSet:
    """Load and validate a prior set.

    Parameters
    ----------
    name_or_path
        A shipped set's name (``priors/NAME.toml``) or a path to a TOML file; None gives
        the default set of ``kind``.
    kind
        "migration" or "jobs": the model the set is for.

    Returns
    -------
    PriorSet
        The priors by parameter, with the provenance the file states.
    """
    path = resolve_toml(name_or_path or DEFAULT_PRIORS[kind], priors_dir(), "prior set",
                        PriorError)  # fmt: skip
    text = read_text(path, "prior set")
    return parse_prior_set(text, name=path.stem, where=str(path))


def parse_prior_set(text: str, *, name: str, where: str) -> PriorSet:
    """Validate prior-set TOML text (also used to re-check sets stored in results)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriorError(f"{where}: not valid TOML ({exc})") from exc
    provenance = raw.pop("provenance", None)
    if not isinstance(provenance, dict) or not provenance.get("source"):
        raise PriorError(
            f"{where}: a [provenance] table with a 'source' (where the numbers come from) "
            "is required"
        )
    kind = raw.pop("kind", "migration")
    if kind not in KIND_PARAMETERS:
        raise PriorError(f"{where}: kind must be one of {list(KIND_PARAMETERS)}, got {kind!r}")
    parameters = KIND_PARAMETERS[kind]
    unknown = sorted(set(raw) - set(parameters))
    if unknown:
        raise PriorError(f"{where}: unknown key(s) {unknown}; allowed: {list(parameters)}")
    missing = [k for k in parameters if k not in raw and k not in OPTIONAL_PARAMETERS
               and default_prior(k) is None]  # fmt: skip
    if missing:
        raise PriorError(f"{where}: missing prior(s) for {missing}")
    priors = {key: _parse_prior(raw[key], f"{where}, key '{key}'")
              for key in parameters if key in raw}  # fmt: skip
    return PriorSet(name=name, provenance=provenance, priors=priors, source_text=text, kind=kind)


def _parse_prior(entry: Any, where: str) -> Prior:
    if not isinstance(entry, dict) or set(entry) - {"dist", "kwargs"} or "dist" not in entry:
        raise PriorError(f"{where}: expected a table with 'dist' and 'kwargs', got {entry!r}")
    dist = entry["dist"]
    if dist not in DISTRIBUTIONS:
        raise PriorError(f"{where}: unknown dist {dist!r}; allowed: {sorted(DISTRIBUTIONS)}")
    kwargs = entry.get("kwargs", {})
    allowed = DISTRIBUTIONS[dist]
    bad = sorted(set(kwargs) - set(allowed))
    if bad:
        raise PriorError(f"{where}: {dist} takes {list(allowed)}, not {bad}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in kwargs.values()):
        raise PriorError(f"{where}: kwargs must be numbers, got {kwargs}")
    nonpositive = [k for k in ("sigma", "lam", "alpha", "beta", "nu") if kwargs.get(k, 1) <= 0]
    if nonpositive:
        raise PriorError(f"{where}: {dist} needs positive {nonpositive}, got {kwargs}")
    if kwargs.get("lower", -float("inf")) >= kwargs.get("upper", float("inf")):
        raise PriorError(f"{where}: lower must be below upper, got {kwargs}")
    missing = [k for k in allowed if k not in kwargs and k not in _DEFAULTS.get(dist, ())]
    if missing:
        raise PriorError(f"{where}: {dist} needs {missing}")
    return Prior(dist=dist, kwargs={k: float(v) for k, v in kwargs.items()})
