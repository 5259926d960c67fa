"""Fit windows with gaps (a jobs series break leaves VRA undefined for three years): OLS
and the Bayesian models fit the years that exist, while year effects and the centrality
process run through the gap years, and the projection steps on from the last fitted year.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from attrbayes.config import SamplerConfig, load_spec
from attrbayes.data.panel import Panel
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.migration import MigrationModel
from attrbayes.models.ols import fit_ols
from attrbayes.projection.engine import project
from attrbayes.results import FitResult
from attrbayes.runs import prepare_fit, run_fit
from attrbayes.synthetic import synthesize_panel

pytestmark = pytest.mark.slow

GAP = (2006, 2007, 2008)


@pytest.fixture(scope="module")
def broken():
    """30 places 2000-2012 with a jobs series break at 2006: VRA lags undefined 2006-2008."""
    synthetic = synthesize_panel(n_places=30, first_year=2000, last_year=2012, seed=9)
    panel = synthetic.panel
    manifest = dataclasses.replace(panel.manifest, series_breaks={"jobs": (2006,)})
    return Panel.from_tables(manifest, panel.tables)


@pytest.fixture(scope="module")
def features(broken):
    return compute_features(broken, "municipality")


def test_ols_pools_the_fitted_years_only(features):
    design = build_design(features, load_spec("migration_2022"))
    assert design.gaps == GAP
    assert design.years == (2003, 2012)
    fit = fit_ols(design)
    assert fit.n == 30 * (10 - len(GAP))
    assert "years=2003-2012 without 2006-2008" in fit.to_text()
    # the same rows by hand: pooled OLS with numpy (the book's terms, no place means)
    X = design.without_contextual().matrix().to_numpy(dtype=float)
    beta = np.linalg.lstsq(X, design.y, rcond=None)[0]
    np.testing.assert_allclose(fit.params.to_numpy(), beta, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("spec_name", ["migration_2022", "migration_2022_immigration"])
def test_the_graph_spans_the_window(features, spec_name):
    spec = load_spec(spec_name)
    model = MigrationModel(build_design(features, spec), spec)
    assert model.coords()["year"].tolist() == list(range(2003, 2013))
    prior = model.fit(SamplerConfig(sampler="prior", chains=1, draws=20))
    path = prior.posterior["centrality_path"]
    assert path.sizes["year"] == 10
    assert not np.isnan(path.values).any()
    assert prior.posterior["year_effect"].sizes["year"] == 10
    # attractiveness is reported for the fitted years only
    assert prior.latent_attractiveness["year"].values.tolist() == [
        y for y in range(2003, 2013) if y not in GAP
    ]


@pytest.fixture(scope="module")
def fits(broken):
    config = SamplerConfig.tiny(seed=3)
    mig = run_fit(prepare_fit(broken, "migration_2022", level="municipality"), config)
    jobs = run_fit(prepare_fit(broken, "jobs_2022"), config)
    return mig, jobs


def test_a_gapped_fit_saves_loads_and_projects(fits, broken, tmp_path):
    mig, jobs = fits
    assert mig.design.gaps == GAP
    loaded = FitResult.load(mig.save(tmp_path / "fit.nc"))
    assert loaded.design.gaps == GAP
    assert loaded.design.left_out == mig.design.left_out
    np.testing.assert_allclose(loaded.design.national_rates(), mig.design.national_rates())
    # gap years' coefficients come from the process alone, neither pinned nor missing. 30
    # places inform a year's coefficient little, so they are about as wide as the fitted
    # years' (sd ratio 1.03-1.05 over three seeds; "wider" was within Monte Carlo error)
    sd = mig.posterior["centrality_path"].std(("chain", "draw")).to_series()
    assert np.isfinite(sd).all()
    assert sd.loc[list(GAP)].min() > 0.8 * sd.drop(list(GAP)).mean()
    result = project(mig, jobs, broken, draws=20, to=2020, chunk=10,
                     scenarios=["neutral", "historical"])  # fmt: skip
    years = result.ds["coefficient_year"].values.tolist()
    assert years == list(range(2003, 2021))
    assert result.ds.attrs["centrality_last_fitted_year"] == 2012
    assert np.isfinite(result.ds["population"].values).all()
