"""The projection evaluates each equation's mean with one numpy function
(:func:`attrbayes.projection.engine.equation_mean`, from the draws the projection takes
of a fit); at posterior draws and on the design's own rows it must equal the fitted PyMC
graph's ``mu`` (the mean without the time-varying attractiveness the likelihood
integrates out), for every shipped spec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrbayes.attractiveness import fixed_attractiveness
from attrbayes.config import SamplerConfig, available_specs
from attrbayes.projection.engine import equation_draws, equation_mean
from attrbayes.runs import prepare_fit

PRIOR = SamplerConfig(sampler="prior", chains=1, draws=6, seed=3)


@pytest.mark.parametrize("name", available_specs())
def test_the_projection_mean_is_the_graph_mean(name, small_synthetic):
    fit = prepare_fit(small_synthetic.panel, name, level="municipality").model.fit(PRIOR)
    frame = fit.design.frame
    places = np.array(sorted(frame["place"].unique()))
    index = np.arange(PRIOR.chains * PRIOR.draws)
    eq = equation_draws(fit, list(places), index)
    place_idx = pd.Index(places).get_indexer(frame["place"])
    year_idx = pd.Index(eq.fitted_years).get_indexer(frame["year"])
    covariates = {term: frame[term].to_numpy(dtype=float) for term in eq.slopes}
    year_effect = 0.0
    if "year_effect" in fit.posterior:
        draws = fit.draws("year_effect").isel(draw=index).transpose("draw", "year")
        year_effect = draws.to_numpy()[:, year_idx]
    attractiveness = fixed_attractiveness(fit, index, places).to_numpy()[:, place_idx]
    got = equation_mean(eq, index, covariates, eq.path[:, year_idx], year_effect,
                        attractiveness, places=place_idx)  # fmt: skip
    ((_, (mu,)),) = list(fit.deterministic_draws(("mu",), index))
    assert np.abs(mu).max() > 0
    np.testing.assert_allclose(got, mu, rtol=1e-9, atol=1e-12)


def test_a_term_without_projected_values_is_an_error(small_synthetic):
    from attrbayes.exceptions import SpecError

    fit = prepare_fit(small_synthetic.panel, "migration_jobs", level="municipality")
    fit = fit.model.fit(PRIOR)
    eq = equation_draws(fit, sorted(fit.design.frame["place"].unique()), np.arange(2))
    zeros = np.zeros((2, 1))
    with pytest.raises(SpecError, match="'vra_t1' has no values to project"):
        equation_mean(eq, np.arange(2), {"vra_t": 0.0, "vra_t2": 0.0}, zeros, zeros, 0.0)
