"""Expected births and deaths at national rates (MODEL.md 3), for the growth decomposition.

``expected_births[i,t] = sum_a women[i,a,t] * ASFR[a,t]`` and
``expected_deaths[i,t] = sum_{s,a} pop[i,s,a,t] * q[s,a,t]``; local excess fertility and
excess mortality are the actual counts minus these.
"""

from __future__ import annotations

import pandas as pd

from attrbayes.features._common import require_columns


def expected_births_deaths(
    population: pd.DataFrame, fertility: pd.DataFrame, mortality: pd.DataFrame
) -> pd.DataFrame:
    """Long frame place, year, expected_births, expected_deaths for the years that have
    population and both national rate tables."""
    require_columns(population, "population", ("place", "year", "sex", "age", "population"))
    require_columns(fertility, "fertility", ("year", "age", "fertility_rate"))
    require_columns(mortality, "mortality", ("year", "sex", "age", "death_probability"))
    years = set(fertility["year"]) & set(mortality["year"])
    pop = population[population["year"].isin(years)]
    women = pop[pop["sex"] == "female"].merge(fertility, on=["year", "age"])
    births = (
        (women["population"] * women["fertility_rate"])
        .groupby([women["place"], women["year"]])
        .sum()
    )
    dying = pop.merge(mortality, on=["year", "sex", "age"])
    deaths = (
        (dying["population"] * dying["death_probability"])
        .groupby([dying["place"], dying["year"]])
        .sum()
    )
    out = pd.DataFrame({"expected_births": births, "expected_deaths": deaths})
    return out.reset_index()
