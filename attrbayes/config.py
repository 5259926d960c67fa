"""Model specifications: validated TOML data, not code.

A spec in ``models/NAME.toml`` says what is estimated::

    schema_version = 1
    kind = "migration"            # registered model family
    description = "..."
    terms = ["vra_t", "vra_t1", "vra_t2", "centrality", "ds"]
    centrality = "jobs"           # "full" SSB index or "jobs" (job-reachability only)
    level = "region"              # default level: municipality | region | county

Unknown keys are errors, and every error names the file, the key and the allowed values.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from attrbayes.constants import LEVELS, TERMS
from attrbayes.exceptions import SpecError

SPEC_SCHEMA_VERSION = 1
MIGRATION_TERMS = tuple(t for t in TERMS if t != "intercept")


class ModelSpec(BaseModel):
    """A validated model specification."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    schema_version: int = SPEC_SCHEMA_VERSION
    kind: Literal["migration"] = "migration"
    description: str = ""
    terms: tuple[str, ...]
    centrality: Literal["full", "jobs"] = "full"
    level: Literal["municipality", "region", "county"] = "region"
    source_text: str = ""

    @field_validator("schema_version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != SPEC_SCHEMA_VERSION:
            raise ValueError(f"schema_version {v} is not supported; expected {SPEC_SCHEMA_VERSION}")
        return v

    @field_validator("terms")
    @classmethod
    def _terms(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in v if t not in MIGRATION_TERMS]
        if unknown:
            raise ValueError(f"unknown term(s) {unknown}; allowed: {list(MIGRATION_TERMS)}")
        if len(set(v)) != len(v):
            raise ValueError(f"terms repeat: {list(v)}")
        if not v:
            raise ValueError("at least one term is needed")
        return v


def models_dir() -> Path:
    """Where specs are looked up: $ATTRBAYES_MODELS, else the project's ``models/``."""
    env = os.environ.get("ATTRBAYES_MODELS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"


def available_specs() -> list[str]:
    return sorted(p.stem for p in models_dir().glob("*.toml"))


def load_spec(name_or_path: str | Path) -> ModelSpec:
    """Load a spec by name (``models/NAME.toml``) or by path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = models_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            raise SpecError(
                f"no model spec named {str(name_or_path)!r} in {models_dir()}; "
                f"available: {available_specs()}"
            )
    if not path.is_file():
        raise SpecError(f"{path}: spec file not found")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from exc
    if "name" in raw or "source_text" in raw:
        raise SpecError(f"{path}: key 'name' is taken from the file name; remove it")
    try:
        return ModelSpec(name=path.stem, source_text=text, **raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"key '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in exc.errors()
        )
        allowed = sorted(set(ModelSpec.model_fields) - {"name", "source_text"})
        raise SpecError(f"{path}: {problems} (allowed keys: {allowed})") from exc


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
