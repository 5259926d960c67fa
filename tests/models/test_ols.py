"""The OLS baseline: correct estimates, honest intervals, the R-style layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrbayes.config import load_spec
from attrbayes.exceptions import DataError
from attrbayes.features.design import Design, build_design, compute_features
from attrbayes.models.ols import fit_by_year, fit_ols, fit_periods, fit_subpopulations
from attrbayes.synthetic import SynthConfig, synthesize_panel

REFERENCE = Path(__file__).parent.parent / "reference"
TRUE_TERMS = ("intercept", "vra_t", "vra_t1", "vra_t2", "centrality", "ds", "students")


def _toy_design() -> Design:
    """Five units, two years, one regressor: small enough to check by hand."""
    frame = pd.DataFrame(
        {
            "place": ["0101", "0102", "0103", "0104", "0105"] * 2,
            "year": [2010] * 5 + [2011] * 5,
            "y": [0.010, 0.004, -0.002, 0.001, -0.006, 0.008, 0.003, -0.004, 0.002, -0.005],
            "vra_t": [0.02, 0.01, -0.01, 0.00, -0.02, 0.015, 0.005, -0.015, 0.01, -0.01],
            "population": [1000, 2000, 500, 800, 1200] * 2,
            "net_migration": [0] * 10,
        }
    )
    return Design(frame, ("vra_t",), "municipality", "toy", (2010, 2011))


def test_hand_computed_simple_regression():
    design = _toy_design()
    fit = fit_ols(design)
    x, y = design.frame["vra_t"].to_numpy(), design.y
    slope = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    intercept = y.mean() - slope * x.mean()
    resid = y - intercept - slope * x
    se = np.sqrt(np.sum(resid**2) / 8 / np.sum((x - x.mean()) ** 2))
    table = fit.summary().set_index("term")
    assert table.loc["vra_t", "estimate"] == pytest.approx(slope)
    assert table.loc["intercept", "estimate"] == pytest.approx(intercept)
    assert table.loc["vra_t", "sd"] == pytest.approx(se)
    assert fit.resid_se == pytest.approx(np.sqrt(np.sum(resid**2) / 8))
    assert fit.df_resid == 8
    assert list(fit.summary().columns) == ["term", "estimate", "sd", "lower", "upper", "t", "p"]


def test_printout_layout_matches_the_reference():
    text = fit_ols(_toy_design()).to_text()
    expected = (REFERENCE / "lm_printout_toy.txt").read_text(encoding="utf-8")
    assert text == expected


def test_point_attractiveness_is_the_mean_residual():
    fit = fit_ols(_toy_design())
    table = fit.attractiveness().set_index("place")
    resid = pd.Series(fit.residuals, index=fit.design.frame.index)
    first = fit.design.frame["place"] == "0101"
    assert table.loc["0101", "pct_per_year"] == pytest.approx(100 * resid[first].mean())
    assert table.loc["0101", "persons_per_year"] == pytest.approx(1000 * resid[first].mean())
    assert sorted(table["rank"]) == [1, 2, 3, 4, 5]
    assert table["pct_per_year"].is_monotonic_decreasing
    one_year = fit.attractiveness(years=(2011, 2011)).set_index("place")
    assert (one_year["years"] == 1).all()
    with pytest.raises(DataError, match="no fitted years"):
        fit.attractiveness(years=(2030, 2031))


def test_intervals_cover_the_truth_when_the_model_is_right():
    """On panels drawn exactly from the pooled model, 95 % intervals cover the truth at
    about the nominal rate (70 intervals; below 85 % would be a 6-sigma event)."""
    spec = load_spec("migration_2022_students")
    inside = []
    for seed in range(10):
        config = SynthConfig.ols_exact(seed=seed, n_places=60, first_year=2005, last_year=2014)
        sp = synthesize_panel(config)
        fit = fit_ols(build_design(compute_features(sp.panel, "municipality"), spec))
        table = fit.summary().set_index("term")
        for term in TRUE_TERMS:
            truth = sp.parameters[term]
            inside.append(table.loc[term, "lower"] <= truth <= table.loc[term, "upper"])
    coverage = np.mean(inside)
    assert 0.85 <= coverage <= 1.0, coverage


def test_year_by_year_and_period_fits(small_synthetic):
    features = compute_features(small_synthetic.panel, "municipality")
    design = build_design(features, load_spec("migration_2019"))
    series = fit_by_year(design)
    assert list(series.fits) == [str(y) for y in range(2003, 2011)]
    table = series.table()
    assert list(table.columns) == ["year", "term", "estimate", "std_error", "t", "p", "r2_adj", "n"]
    assert (table["n"] == 40).all()
    wide = series.wide()
    assert list(wide.columns) == [
        "intercept", "vra_t", "vra_t1", "vra_t2", "centrality", "r2_adj", "n"
    ]  # fmt: skip
    cells = table.set_index(["year", "term"])
    for year in wide.index:
        for term in ("vra_t", "centrality"):
            p = cells.loc[(year, term), "p"]
            expected = "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""
            expected = "." if 0.05 <= p < 0.1 else expected
            assert wide.loc[year, term] == f"{cells.loc[(year, term), 'estimate']:.4f}{expected}"
    periods = fit_periods(design, [(2003, 2006), (2007, 2010)])
    assert {k: f.n for k, f in periods.fits.items()} == {"2003-2006": 160, "2007-2010": 160}


def test_subpopulation_fits(small_synthetic):
    features = compute_features(small_synthetic.panel, "region")
    series = fit_subpopulations(features, load_spec("migration_jobs"))
    assert len(series.fits) == 2 + 7
    assert "female all" in series.fits
    assert "total 18-29" in series.fits
    # young adults move most, so their rates and residuals are the most dispersed
    spread = {k: f.resid_se for k, f in series.fits.items()}
    assert spread["total 18-29"] > spread["total 40-49"]


def test_robust_standard_errors_differ_and_too_few_rows_fail(small_synthetic):
    features = compute_features(small_synthetic.panel, "municipality")
    design = build_design(features, load_spec("migration_2022"))
    plain = fit_ols(design).summary().set_index("term")["sd"]
    cluster = fit_ols(design, cov_type="cluster").summary().set_index("term")["sd"]
    assert not np.allclose(plain, cluster)
    assert "se=cluster" in fit_ols(design, cov_type="cluster").to_text()
    tiny = Design(design.frame.head(5), design.terms, "municipality", "x", (2003, 2003))
    with pytest.raises(DataError, match="cannot identify"):
        fit_ols(tiny)
