"""Model specifications: validated TOML data, not code.

A spec in ``models/NAME.toml`` says what is estimated::

    schema_version = 1
    kind = "migration"            # registered model family
    description = "..."
    terms = ["vra_t", "vra_t1", "vra_t2", "centrality", "ds"]
    centrality = "jobs"           # "full" SSB index, "jobs" (job-reachability only) or
                                  # "prefer_jobs" (the job-only index where the panel has it)
    level = "region"              # default level: municipality | region | county

    [hierarchy]                   # Bayesian models only; OLS ignores these sections
    year = true                   # year effects (national shocks, immigration waves)
    group = true                  # region effects (county effects at region level)
    place = true                  # unit effects, partially pooled within groups
    parameterisation = "auto"     # "auto" | "centred" | "non_centred" (sampler geometry only)
    contextual = false            # the place means of the time-varying terms as contextual
                                  # (Mundlak) terms, so that place effects are uncorrelated
                                  # with them: within and between effects apart (OLS too)

    [time_varying]
    centrality = "ar1"            # "random_walk" (the schema's default, so that specs
                                  # saved before keep their meaning) | "ar1" (the shipped
                                  # specs' choice) | "hierarchical" | "constant"
    immigration = false           # national net immigration predicts the level

    [attractiveness]
    ar1 = false                   # attractiveness changes over time: a per-place AR(1)
                                  # (persistence ar_phi, estimated) integrated out exactly

    [likelihood]
    family = "student_t"          # "student_t" | "normal"
    noise = "size"                # "size": sigma^2 = floor^2 + (s*(pop/1e4)^-0.5)^2;
                                  # "size_exponent": the exponent is estimated; "constant"

Unknown keys are errors, and every error names the file, the key and the allowed values.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from attrbayes.constants import LEVELS
from attrbayes.exceptions import SpecError
from attrbayes.io_utils import read_text
from attrbayes.resources import shipped_dir
from attrbayes.terms import CONTEXTUAL_SUFFIX, KIND_TERMS, TIME_VARYING_TERMS

SPEC_SCHEMA_VERSION = 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hierarchy(_Section):
    """Which effects enter the linear predictor of a Bayesian model."""

    year: bool = True
    group: bool = True
    place: bool = True
    # "auto": place effects centred where the place's own data are informative, year
    # effects and centrality steps centred from 50 places; or force one form for all.
    parameterisation: Literal["auto", "centred", "non_centred"] = "auto"
    # the place means of the time-varying terms as contextual (Mundlak) terms
    contextual: bool = False


class TimeVarying(_Section):
    """How the centrality coefficient varies over years (and so how projections carry it
    past the fit; docs/centrality_outlook.md). The default stays the random walk so that
    specs stored in fits saved before the AR(1) keep their meaning; the shipped specs
    state ``ar1``."""

    centrality: Literal["random_walk", "ar1", "hierarchical", "constant"] = "random_walk"
    immigration: bool = False


class AttractivenessSpec(_Section):
    """``ar1``: attractiveness = place (and group) effects + a stationary AR(1) per place,
    so it changes over time with an estimated persistence (``ar_phi``)."""

    ar1: bool = False


class Likelihood(_Section):
    family: Literal["student_t", "normal"] = "student_t"
    noise: Literal["size", "size_exponent", "constant"] = "size"
    persistence: Literal["none"] = "none"

    @field_validator("persistence", mode="before")
    @classmethod
    def _persistence(cls, v: object) -> object:
        if v == "ar1":
            raise ValueError(
                "persistence = 'ar1' was replaced by [attractiveness] ar1 = true (the "
                "persistent part is time-varying attractiveness, integrated out exactly); "
                "change the spec, and refit fits saved with it"
            )
        return v


class ModelSpec(BaseModel):
    """A validated model specification."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    schema_version: int = SPEC_SCHEMA_VERSION
    kind: Literal["migration", "jobs"] = "migration"
    description: str = ""
    terms: tuple[str, ...]
    centrality: Literal["full", "jobs", "prefer_jobs"] = "full"
    level: Literal["municipality", "region", "county"] = "region"
    hierarchy: Hierarchy = Hierarchy()
    time_varying: TimeVarying = TimeVarying()
    attractiveness: AttractivenessSpec = AttractivenessSpec()
    likelihood: Likelihood = Likelihood()
    source_text: str = ""

    @property
    def has_centrality(self) -> bool:
        return "centrality" in self.terms

    @property
    def contextual_terms(self) -> tuple[str, ...]:
        """The place-mean columns ``{term}_mean`` of the time-varying terms, with
        ``[hierarchy] contextual``; their coefficients are between minus within effects."""
        if not self.hierarchy.contextual:
            return ()
        return tuple(f"{t}{CONTEXTUAL_SUFFIX}" for t in self.terms if t in TIME_VARYING_TERMS)

    @property
    def design_terms(self) -> tuple[str, ...]:
        """The design's regressors: the terms, then the contextual terms."""
        return (*self.terms, *self.contextual_terms)

    @property
    def slope_terms(self) -> tuple[str, ...]:
        """Regressors with one constant coefficient (centrality has its own, time-varying)."""
        return tuple(t for t in self.design_terms if t != "centrality")

    @field_validator("schema_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != SPEC_SCHEMA_VERSION:
            raise ValueError(f"schema_version {v} is not supported; expected {SPEC_SCHEMA_VERSION}")
        return v

    @model_validator(mode="after")
    def _terms(self) -> ModelSpec:
        allowed = KIND_TERMS[self.kind]
        unknown = [t for t in self.terms if t not in allowed]
        if unknown:
            raise ValueError(
                f"unknown term(s) {unknown} for kind {self.kind!r}; allowed: {list(allowed)}"
            )
        if len(set(self.terms)) != len(self.terms):
            raise ValueError(f"terms repeat: {list(self.terms)}")
        if not self.terms:
            raise ValueError("at least one term is needed")
        return self


def models_dir() -> Path:
    """Where specs are looked up: $ATTRBAYES_MODELS, else the shipped ``models/``."""
    return shipped_dir("models")


def available_specs() -> list[str]:
    return sorted(p.stem for p in models_dir().glob("*.toml"))


def resolve_toml(
    name_or_path: str | Path, directory: Path, what: str, error: type[Exception]
) -> Path:
    """A TOML file given by path, or by name in ``directory``; clear errors otherwise."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = directory / f"{name_or_path}.toml"
        if not path.is_file():
            available = sorted(p.stem for p in directory.glob("*.toml"))
            raise error(
                f"no {what} named {str(name_or_path)!r} in {directory}; available: {available}"
            )
    if not path.is_file():
        raise error(f"{path}: {what} file not found")
    return path


def load_spec(name_or_path: str | Path) -> ModelSpec:
    """Load a model specification.

    Parameters
    ----------
    name_or_path
        A shipped spec's name (``models/NAME.toml``, e.g. "migration_2022") or a path to
        a TOML file.

    Returns
    -------
    ModelSpec
        The validated spec: its terms and the Bayesian model's options.

    Raises
    ------
    SpecError
        For an unknown name, invalid TOML or an unknown key (naming the file and key).
    """
    path = resolve_toml(name_or_path, models_dir(), "model spec", SpecError)
    return parse_spec(read_text(path, "model specification"), name=path.stem, where=str(path))


def parse_spec(text: str, *, name: str, where: str) -> ModelSpec:
    """Validate spec TOML text (also used to re-check specs stored in results)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: not valid TOML ({exc})") from exc
    if "name" in raw or "source_text" in raw:
        raise SpecError(f"{where}: key 'name' is taken from the file name; remove it")
    try:
        return ModelSpec(name=name, source_text=text, **raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"key '{'.'.join(str(p) for p in e['loc']) or 'terms'}': {e['msg']}"
            for e in exc.errors()
        )
        allowed = sorted(set(ModelSpec.model_fields) - {"name", "source_text"})
        raise SpecError(f"{where}: {problems} (allowed keys: {allowed})") from exc


def parse_years(text: str | None) -> tuple[int, int] | None:
    """Parse ``A:B`` (inclusive) into a pair of years; None stays None."""
    if text is None:
        return None
    try:
        first, last = (int(part) for part in text.split(":"))
    except ValueError as exc:
        raise SpecError(f"years must look like 2003:2021, got {text!r}") from exc
    if first > last:
        raise SpecError(f"years {text!r}: the first year is after the last")
    return first, last


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise SpecError(f"level must be one of {list(LEVELS)}, got {level!r}")
    return level


class SamplerConfig(BaseModel):
    """How to sample: which sampler, how long, with which seed.

    ``sampler`` is "nutpie" (default), "pymc" (PyMC's own NUTS) or "prior" (prior draws
    stand in for the posterior: for testing the result machinery without MCMC).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sampler: Literal["nutpie", "pymc", "prior"] = "nutpie"
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    seed: int = 20261128
    target_accept: float = 0.8
    adaptation: Literal["diag", "draw_diag", "low_rank"] = "diag"  # nutpie's mass matrix
    backend: Literal["numba", "jax"] = "numba"  # nutpie's; "jax" needs attrbayes[jax]
    cores: int | None = None
    progress: bool = False

    @field_validator("chains", "draws")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @classmethod
    def tiny(cls, **kwargs: object) -> SamplerConfig:
        """Small settings for tests and smoke runs (not for inference)."""
        return cls(**{"chains": 2, "draws": 150, "tune": 150, **kwargs})

    @model_validator(mode="after")
    def _backend_is_nutpies(self) -> SamplerConfig:
        if self.backend != "numba" and self.sampler != "nutpie":
            raise ValueError(f"backend {self.backend!r} is nutpie's; sampler "
                             f"{self.sampler!r} has none")  # fmt: skip
        return self

    def describe(self) -> str:
        backend = " (JAX)" if self.backend == "jax" else ""
        return (
            f"{self.sampler}{backend}: {self.chains} chains x {self.draws} draws after "
            f"{self.tune} tuning, seed {self.seed}"
        )
