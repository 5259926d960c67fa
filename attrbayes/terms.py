"""The terms of the two equations' means, declared once.

Each term is a data column of the design (the same name) whose coefficient the models
estimate. Its declaration says which model kinds may use it, what its coefficient means
(prior tables, the fits' summaries), how a growth decomposition names its driver, and
whether it varies over the years within a place: time-varying terms get contextual
place-mean terms (``{name}_mean``, Mundlak) and need values projected year by year,
place-constant ones are carried forward as they are. The spec validation, the prior
sets' parameter lists, the summaries and the decomposition labels are derived from here;
the PyMC graph and the numpy mean that the projection and the decomposition share
(``equation.equation_parts``) iterate over a spec's terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CONTEXTUAL_SUFFIX: Final = "_mean"


@dataclass(frozen=True)
class Term:
    """One term of an equation's mean (see the module docstring)."""

    name: str
    kinds: tuple[str, ...]
    meaning: str  # what its coefficient is
    noun: str  # what the term is, in a sentence ("the place's mean {noun}")
    label: str  # its driver in a growth decomposition
    time_varying: bool
    # its coefficient's prior where a prior set gives none: the terms' regressors are
    # rates or scaled indices, so a unit-scale normal allows anything plausible
    prior: tuple[str, tuple[tuple[str, float], ...]] = ("Normal", (("mu", 0.0), ("sigma", 1.0)))

    @property
    def contextual(self) -> str:
        """The name of its contextual (place-mean) term."""
        return f"{self.name}{CONTEXTUAL_SUFFIX}"


# Centrality is constant within a place but enters through a coefficient path over the
# years (models.components.time_varying_coefficient): its coefficient here is that path's
# level, and the path's other parameters are listed with the priors.
TERMS: Final[tuple[Term, ...]] = (
    Term("vra_t", ("migration",),
         "coefficient of commuting-weighted relative job growth, same year", "VRA",
         "job growth", time_varying=True),
    Term("vra_t1", ("migration",), "coefficient of VRA lagged one year",
         "VRA lagged one year", "job growth", time_varying=True),
    Term("vra_t2", ("migration",), "coefficient of VRA lagged two years",
         "VRA lagged two years", "job growth", time_varying=True),
    Term("industry_effect", ("jobs",),
         "coefficient of the shift-share industry effect (the book fixes 1)",
         "industry effect", "industry effect", time_varying=True),
    Term("pop_growth_lag", ("jobs",), "coefficient of the lagged relative population growth",
         "lagged population growth", "population effect", time_varying=True),
    Term("centrality", ("migration", "jobs"),
         "level of the centrality coefficient (a random walk's mean over the years, an "
         "AR(1)'s long-run level; for jobs the book finds none)", "centrality",
         "centrality", time_varying=False),
    Term("ds", ("migration",), "coefficient of demographic employment supply", "DS",
         "demographic supply (DS)", time_varying=True),
    Term("students", ("migration",), "coefficient of the students share", "students share",
         "students share", time_varying=False),
)  # fmt: skip
BY_NAME: Final[dict[str, Term]] = {t.name: t for t in TERMS}
# Coefficient names in the order of every table (OLS printouts, replication, summaries).
COEFFICIENTS: Final = ("intercept", *(t.name for t in TERMS))

# Terms each model kind may use (MODEL.md 2.4 for migration, 4 for private jobs).
KIND_TERMS: Final[dict[str, tuple[str, ...]]] = {
    kind: tuple(t.name for t in TERMS if kind in t.kinds) for kind in ("migration", "jobs")
}
# Terms that vary over years within a place: with ``[hierarchy] contextual`` their place
# means enter as contextual (Mundlak) terms named ``{term}_mean``.
TIME_VARYING_TERMS: Final = tuple(t.name for t in TERMS if t.time_varying)
# A decomposition's name for each term's driver.
TERM_LABELS: Final[dict[str, str]] = {t.name: t.label for t in TERMS}


def slope_parameters(kind: str) -> dict[str, str]:
    """The coefficients of ``kind``'s terms, then of their contextual terms, with what
    each is: the prior sets' and the summaries' list of them, in order."""
    terms = [t for t in TERMS if kind in t.kinds]
    out = {t.name: t.meaning for t in terms}
    out |= {t.contextual: f"contextual effect of the place's mean {t.noun} (between minus "
                          "within effect)" for t in terms if t.time_varying}  # fmt: skip
    return out


CONTEXTUAL_TERMS: Final = frozenset(t.contextual for t in TERMS if t.time_varying)


def default_prior(parameter: str) -> tuple[str, dict[str, float]] | None:
    """The declared prior (distribution, arguments) of a term's coefficient, None for any
    other parameter (a contextual term's prior must come from the prior set: its scale is
    a between-minus-within effect's, which the set states)."""
    term = BY_NAME.get(parameter)
    if term is None:
        return None
    dist, kwargs = term.prior
    return dist, dict(kwargs)
