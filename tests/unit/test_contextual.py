"""Contextual (Mundlak) terms: the place means of the time-varying terms, computed on the
fitted years only, and the Mundlak identity that OLS with them gives the within estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from attrbayes.config import load_spec, parse_spec
from attrbayes.features.design import build_design, compute_features, with_place_means
from attrbayes.models.ols import fit_ols


@pytest.fixture(scope="module")
def design(small_synthetic):
    spec = load_spec("migration_2022_within")
    assert spec.contextual_terms == ("vra_t_mean", "vra_t1_mean", "vra_t2_mean", "ds_mean")
    return build_design(compute_features(small_synthetic.panel, "municipality"), spec)


def test_place_means_are_hand_computed_means_over_the_rows():
    frame = pd.DataFrame({"place": ["a", "a", "b", "b", "b"], "x": [1.0, 3.0, 2.0, 4.0, 9.0]})
    out = with_place_means(frame, ["x", "x_mean"])
    assert out["x_mean"].tolist() == [2.0, 2.0, 5.0, 5.0, 5.0]
    assert with_place_means(frame, ["x"]) is frame  # nothing contextual: unchanged


def test_design_carries_the_contextual_terms_and_subsets_recompute_them(design):
    assert design.terms[-4:] == ("vra_t_mean", "vra_t1_mean", "vra_t2_mean", "ds_mean")
    means = design.frame.groupby("place")["vra_t"].transform("mean")
    np.testing.assert_allclose(design.frame["vra_t_mean"], means)
    first = int(design.fitted_years[0])
    early = design.subset_years(first, first + 2)  # no later year may leak into the means
    np.testing.assert_allclose(early.frame["ds_mean"],
                               early.frame.groupby("place")["ds"].transform("mean"))  # fmt: skip
    assert design.without_contextual().terms == ("vra_t", "vra_t1", "vra_t2", "centrality", "ds")


def test_mundlak_ols_gives_the_fixed_effects_within_estimate(design):
    """OLS with the place means has the within (fixed-effects) slopes: Mundlak (1978)."""
    mundlak = fit_ols(design, contextual=True).params
    assert "vra_t_mean" not in fit_ols(design).params  # the book's pooled OLS by default
    frame = design.frame
    cols = ["vra_t", "vra_t1", "vra_t2", "ds"]
    demeaned = frame[["y", *cols]] - frame.groupby("place")[["y", *cols]].transform("mean")
    within = sm.OLS(demeaned["y"], demeaned[cols]).fit().params
    np.testing.assert_allclose(mundlak[cols], within[cols], rtol=1e-6)


def test_specs_without_the_option_have_no_contextual_terms():
    spec = parse_spec('kind = "jobs"\nterms = ["industry_effect", "pop_growth_lag", "centrality"]\n'
                      '[hierarchy]\ncontextual = true\n', name="x", where="x")  # fmt: skip
    assert spec.contextual_terms == ("industry_effect_mean", "pop_growth_lag_mean")
    assert load_spec("migration_2022").contextual_terms == ()
