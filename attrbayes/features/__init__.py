"""Features of the attractiveness model: pure, vectorised functions of panel tables.

Each module has a numpy array-level core (also used by the synthetic-data simulator)
and table-level wrappers that check their input and raise
:class:`~attrbayes.exceptions.DataError` naming the offending table, column, places or
years. See MODEL.md sections 2-4.
"""

from attrbayes.features.aggregate import aggregate_commuting, aggregate_places
from attrbayes.features.centrality import group_centrality, scaled_centrality
from attrbayes.features.demographic_supply import demographic_supply, ds_absolute
from attrbayes.features.rates import (
    lagged_population_growth,
    net_migration_rate,
    relative_population_growth,
    students_share,
)
from attrbayes.features.shift_share import industry_effect, industry_effect_array
from attrbayes.features.vra import (
    CommutingWeights,
    commuting_weight_matrices,
    commuting_weights,
    relative_growth,
    relative_job_growth,
    vra_lags,
    weighted_growth,
)

__all__ = [
    "CommutingWeights",
    "aggregate_commuting",
    "aggregate_places",
    "commuting_weight_matrices",
    "commuting_weights",
    "demographic_supply",
    "ds_absolute",
    "group_centrality",
    "industry_effect",
    "industry_effect_array",
    "lagged_population_growth",
    "net_migration_rate",
    "relative_growth",
    "relative_job_growth",
    "relative_population_growth",
    "scaled_centrality",
    "students_share",
    "vra_lags",
    "weighted_growth",
]
