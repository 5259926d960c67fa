"""The panel data contract: which tables exist, their columns, keys and value ranges.

A panel is a directory holding one Parquet file per table plus ``manifest.toml``.
Only ``places`` and ``population`` are required; every other table is optional and the
stages that need one say so (:class:`~attrbayes.exceptions.MissingTableError`).
The contract is documented for users in ``docs/panel_format.md``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from attrbayes.constants import AGE_GROUPS, INDUSTRIES, MAX_AGE, SECTORS, SEXES

Kind = Literal["code", "str", "int", "float"]

SCHEMA_VERSION: Final = 1


@dataclass(frozen=True)
class Column:
    """One column: its kind, whether it must be present, and its allowed values."""

    name: str
    kind: Kind
    required: bool = True
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Table:
    """One table of the panel: file stem, columns and the key that must be unique."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    description: str = ""
    needed_by: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # optional columns that join the key when present (e.g. year for employment_rates)
    optional_key: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"

    def key_for(self, columns: Iterable[str]) -> tuple[str, ...]:
        """The key of a frame with ``columns``: optional key columns it has, then ``key``."""
        present = set(columns)
        return (*(c for c in self.optional_key if c in present), *self.key)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_place = Column("place", "code", description="municipality (or unit) code, 4 characters")
_year = Column("year", "int", min=1900, max=2200)
_sex = Column("sex", "str", allowed=SEXES)
_age = Column("age", "int", min=0, max=MAX_AGE, description=f"single age, {MAX_AGE} = open group")

PLACES = Table(
    "places",
    (
        _place,
        Column("name", "str"),
        Column("region", "str", description="region code (labour-market region)"),
        Column("county", "str", description="county code"),
        Column("centrality", "float", min=0, max=1000, description="SSB centrality index"),
        Column("centrality_class", "int", min=1, max=6, description="SSB class, 1 = most central"),
        Column(
            "centrality_jobs",
            "float",
            required=False,
            min=0,
            max=1000,
            description="job-reachability-only centrality index",
        ),
        Column(
            "students_share",
            "float",
            required=False,
            min=0,
            max=1,
            description="registered students / population",
        ),
    ),
    key=("place",),
    required=True,
    description="one row per place with its geography and centrality",
)

POPULATION = Table(
    "population",
    (_place, _year, _sex, _age, Column("population", "float", min=0)),
    key=("place", "year", "sex", "age"),
    required=True,
    description="population on 1 January",
)

COMPONENTS = Table(
    "components",
    (
        _place,
        _year,
        Column("births", "float", min=0),
        Column("deaths", "float", min=0),
        Column("net_migration", "float", description="domestic + international, persons"),
        Column("net_migration_domestic", "float", required=False),
        Column("net_migration_international", "float", required=False),
    ),
    key=("place", "year"),
    description="components of change during calendar year `year`",
    needed_by="net migration rates and the population balance",
)

JOBS = Table(
    "jobs",
    (_place, _year, Column("sector", "str", allowed=SECTORS), Column("jobs", "float", min=0)),
    key=("place", "year", "sector"),
    description="jobs by WORKPLACE place and sector",
    needed_by="relative job growth (RA, VRA) and DS",
)

JOBS_INDUSTRY = Table(
    "jobs_industry",
    (
        _place,
        _year,
        Column("industry", "str", allowed=tuple(INDUSTRIES)),
        Column("jobs", "float", min=0),
    ),
    key=("place", "year", "industry"),
    description="private jobs by workplace place and industry",
    needed_by="the shift-share industry effect",
)

INDUSTRY_EFFECT = Table(
    "industry_effect",
    (
        _place,
        _year,
        Column("industry_effect", "float", min=-1, max=1, description="rate, 0.01 = 1 %"),
    ),
    key=("place", "year"),
    description="shift-share industry effect on private job growth from year-1 to year, "
    "supplied when jobs by industry are not available (e.g. Telemarksforsking's column)",
    needed_by="the industry effect when there is no jobs_industry table",
)

COMMUTING = Table(
    "commuting",
    (
        _year,
        Column("residence", "code"),
        Column("workplace", "code"),
        Column("employed", "float", min=0),
    ),
    key=("year", "residence", "workplace"),
    description="employed residents by residence x workplace place",
    needed_by="commuting weights for VRA",
)

MORTALITY = Table(
    "mortality",
    (_year, _sex, _age, Column("death_probability", "float", min=0, max=1)),
    key=("year", "sex", "age"),
    description="national death probabilities q(x)",
    needed_by="DS and expected deaths",
)

FERTILITY = Table(
    "fertility",
    (
        _year,
        Column("age", "int", min=10, max=55),
        Column("fertility_rate", "float", min=0, max=1),
    ),
    key=("year", "age"),
    description="national age-specific fertility rates (births per woman-year)",
    needed_by="expected births",
)

EMPLOYMENT_RATES = Table(
    "employment_rates",
    (
        Column(
            "year",
            "int",
            required=False,
            min=1900,
            max=2200,
            description="optional: one schedule per year (DS uses the nearest year)",
        ),
        _sex,
        _age,
        Column("employment_rate", "float", min=0, max=1),
    ),
    key=("sex", "age"),
    optional_key=("year",),
    description="national employment rates by sex and single age; one fixed schedule, or "
    "one per year with the optional year column (key year, sex, age)",
    needed_by="DS",
)

IMMIGRATION = Table(
    "immigration",
    (
        _year,
        Column("net_immigration_rate", "float", min=-0.1, max=0.1),
        Column("net_immigration", "float", required=False),
    ),
    key=("year",),
    description="national net immigration (rate = persons / national population 1 Jan)",
    needed_by="relative net migration",
)

MIGRATION_GROUPS = Table(
    "migration_groups",
    (
        _place,
        _year,
        Column("sex", "str", allowed=(*SEXES, "total")),
        Column("age_group", "str", allowed=(*AGE_GROUPS, "all")),
        Column("net_migration", "float"),
    ),
    key=("place", "year", "sex", "age_group"),
    description="net migration by sex and age group (age at 1 January)",
    needed_by="sub-population fits",
)

TABLES: Final[dict[str, Table]] = {
    t.name: t
    for t in (
        PLACES,
        POPULATION,
        COMPONENTS,
        JOBS,
        JOBS_INDUSTRY,
        INDUSTRY_EFFECT,
        COMMUTING,
        MORTALITY,
        FERTILITY,
        EMPLOYMENT_RATES,
        IMMIGRATION,
        MIGRATION_GROUPS,
    )
}

# Default tolerance of the population balance pop[t+1] = pop[t] + births - deaths + net
# migration: |residual| <= persons + relative * pop[t]. Synthetic panels balance exactly;
# harmonised real data carry rounding from apportioned splits.
DEFAULT_BALANCE_TOLERANCE: Final = {"persons": 1.0, "relative": 0.001}
