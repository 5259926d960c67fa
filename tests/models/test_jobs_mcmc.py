"""The job growth model with real (tiny) sampling: recovery of the industry and population
coefficients and of business attractiveness, the OLS twin, save/load, and the centrality
check by LOO."""

from __future__ import annotations

import numpy as np
import pytest

from attrbayes.config import SamplerConfig, load_spec
from attrbayes.diagnostics.checks import compare_fits
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.jobs import JobsModel
from attrbayes.reporting.comparison import ols_posterior_table
from attrbayes.results import FitResult, JobsFit
from attrbayes.synthetic import synthesize_panel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic():
    return synthesize_panel(n_places=60, first_year=2000, last_year=2014, seed=5)


@pytest.fixture(scope="module")
def features(synthetic):
    return compute_features(synthetic.panel, "municipality")


def _fit(features, spec_name: str, seed: int) -> JobsFit:
    spec = load_spec(spec_name)
    config = SamplerConfig(chains=2, draws=300, tune=400, seed=seed)
    return JobsModel(build_design(features, spec), spec).fit(config)


@pytest.fixture(scope="module")
def jobs(features) -> JobsFit:
    return _fit(features, "jobs_2022", 21)


@pytest.fixture(scope="module")
def with_centrality(features) -> JobsFit:
    return _fit(features, "jobs_centrality", 22)


def test_recovers_the_true_coefficients(jobs, synthetic):
    table = jobs.summary().set_index("term")
    params = synthetic.parameters
    for term, true in (("industry_effect", params["industry_coef"]),
                       ("pop_growth_lag", params["population_coef"])):  # fmt: skip
        lower, upper = table.loc[term, ["lower", "upper"]]
        width = upper - lower
        assert lower - width / 2 <= true <= upper + width / 2, term
    assert table.loc["industry_effect", "rhat"] < 1.05


def test_recovers_business_attractiveness(jobs, synthetic):
    truth = synthetic.truth["attractiveness"]
    first, last = jobs.design.years
    window = truth[truth["year"].between(first, last)]
    true_period = window.groupby("place")["business"].mean() * 100
    table = jobs.attractiveness().set_index("place")
    true_period = true_period.reindex(table.index)
    inside = (table["pct_lower_95"] <= true_period) & (true_period <= table["pct_upper_95"])
    assert inside.mean() >= 0.8
    assert np.corrcoef(table["pct_median"], true_period)[0, 1] > 0.6
    assert jobs.business.sizes["place"] == 60
    with pytest.raises(AttributeError, match="business"):
        _ = jobs.residential


def test_ols_twin_and_the_book_value(jobs):
    table = ols_posterior_table(jobs).set_index("term")
    assert {"industry_effect", "pop_growth_lag"} <= set(table.index)
    assert table.loc["industry_effect", "published"] == 1.0  # the book fixes it at 1
    assert table.loc["pop_growth_lag", "ols_lower"] < table.loc["pop_growth_lag", "ols_upper"]


def test_save_and_load_keep_the_kind(jobs, tmp_path):
    back = FitResult.load(jobs.save(tmp_path / "jobs.nc"))
    assert isinstance(back, JobsFit)
    assert back.design.kind == "jobs"
    assert back.priors.name == "jobs_weakly_informative"
    np.testing.assert_allclose(back.draws("industry_effect"), jobs.draws("industry_effect"))


def test_centrality_adds_nothing_to_synthetic_job_growth(jobs, with_centrality):
    # the synthetic panel has no centrality effect on jobs: its coefficient covers 0 and
    # LOO does not prefer the larger model by more than two standard errors
    row = with_centrality.summary().set_index("term").loc["centrality"]
    assert row["lower"] < 0 < row["upper"]
    result = compare_fits({"jobs_2022": jobs, "jobs_centrality": with_centrality})
    best = result.table.index[0]
    if best == "jobs_centrality":
        diff = result.table.loc["jobs_2022", "elpd_diff"]
        assert abs(diff) < 2 * result.table.loc["jobs_2022", "dse"]
