"""Rolling-origin backtests: truncation, scores, and one small end-to-end run."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from attrbayes.config import SamplerConfig
from attrbayes.diagnostics.backtest import (
    LEVELS,
    BacktestResult,
    backtest,
    crps_from_draws,
    interval_coverage,
    observed_assumptions,
    size_class,
    truncate_panel,
)
from attrbayes.exceptions import DataError
from attrbayes.projection.assumptions import parse_assumptions
from attrbayes.synthetic import synthesize_panel

ORIGIN = 2011


@pytest.fixture(scope="module")
def synthetic():
    return synthesize_panel(n_places=25, first_year=2000, last_year=2014, seed=11)


@pytest.fixture(scope="module")
def panel(synthetic):
    return synthetic.panel


def test_truncate_panel_cuts_years_and_validates(panel):
    cut, notes = truncate_panel(panel, ORIGIN)
    assert cut.manifest.last_year == ORIGIN
    assert cut.manifest.first_year == panel.manifest.first_year
    assert int(cut.tables["population"]["year"].max()) == ORIGIN
    for name, df in cut.tables.items():
        if "year" in df.columns and name != "population":
            assert int(df["year"].max()) <= ORIGIN - 1, name
    # what was kept is unchanged
    full = panel.tables["population"]
    assert cut.tables["population"].equals(full[full["year"] <= ORIGIN].reset_index(drop=True))
    assert cut.place_codes == panel.place_codes
    assert isinstance(notes, list)


def test_truncate_panel_relabels_late_commuting(panel):
    late = panel.tables["commuting"]
    first = int(late["year"].min())
    cut, notes = truncate_panel(panel, first)  # no commuting year <= first - 1
    assert set(cut.tables["commuting"]["year"]) == {first - 1}
    assert any("commuting" in n for n in notes)


def test_truncate_panel_rejects_origin_outside(panel):
    with pytest.raises(DataError, match="origin"):
        truncate_panel(panel, panel.manifest.last_year + 1)


def test_crps_hand_cases():
    assert crps_from_draws(np.array([0.0, 1.0]), 0.5) == pytest.approx(0.25)
    assert crps_from_draws(np.array([3.0]), 1.0) == pytest.approx(2.0)
    # y outside the draws: E|X - y| = 1.5, E|X - X'| = 0.5 -> 1.25
    assert crps_from_draws(np.array([1.0, 0.0]), -1.0) == pytest.approx(1.25)


def test_crps_properties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 40))
    y = rng.normal(size=50) * 2
    crps = crps_from_draws(x, y)
    assert crps.shape == (50,)
    assert np.all(crps >= -1e-12)
    # pairwise form agrees with the sorted form
    pair = np.abs(x[:, :, None] - x[:, None, :]).mean(axis=(1, 2))
    direct = np.abs(x - y[:, None]).mean(axis=1) - 0.5 * pair
    np.testing.assert_allclose(crps, direct, atol=1e-12)
    # one draw: the absolute error
    np.testing.assert_allclose(crps_from_draws(x[:, :1], y), np.abs(x[:, 0] - y))
    # a point mass at the truth scores 0
    assert crps_from_draws(np.full(7, 2.0), 2.0) == pytest.approx(0.0)


def test_interval_coverage_constructed():
    draws = np.tile(np.arange(101.0), (4, 1))  # quantiles are exact: q(p) = 100 p
    y = np.array([50.0, 20.0, 5.0, 101.0])
    np.testing.assert_array_equal(interval_coverage(draws, y, 50), [1, 0, 0, 0])
    np.testing.assert_array_equal(interval_coverage(draws, y, 80), [1, 1, 0, 0])
    np.testing.assert_array_equal(interval_coverage(draws, y, 95), [1, 1, 1, 0])
    # calibrated draws: coverage close to nominal
    rng = np.random.default_rng(1)
    sims = rng.normal(size=(4000, 200))
    truth = rng.normal(size=4000)
    for level in LEVELS:
        assert interval_coverage(sims, truth, level).mean() == pytest.approx(level / 100, abs=0.03)


def test_size_class():
    assert list(size_class([500, 2000, 4999, 5000, 25000])) == [
        "<2,000", "2,000-5,000", "2,000-5,000", "5,000-20,000", "20,000+",
    ]  # fmt: skip


def test_observed_assumptions_use_the_panel(panel):
    text, used = observed_assumptions(panel, 2010, 2016)
    alt = parse_assumptions(text, name="t", where="t")["main"]
    assert used["net_immigration_rate"] == list(range(2010, 2015))  # components to 2014
    assert used["private_job_growth"][-1] == 2014
    comp = panel.tables["components"]
    totals = panel.population_totals().sum(axis=0)
    expected = comp[comp["year"] == 2012]["net_migration"].sum() / totals[2012]
    assert alt.path("net_immigration_rate", np.array([2012]))[0] == pytest.approx(expected)
    tfr = panel.tables["fertility"]
    assert alt.path("tfr", np.array([2011]))[0] == pytest.approx(
        tfr[tfr["year"] == 2011]["fertility_rate"].sum()
    )
    # the synthetic generator lowers every death probability by 1.5 % a year, except the
    # open age group's (held at 0.5) and any capped at 0.9: a population-standardised
    # decline a little below 1.5 %
    assert used["mortality_decline"] == list(range(2010, 2015))
    decline = alt.path("mortality_decline", np.arange(2010, 2015))
    assert ((decline > 0.013) & (decline <= 0.015)).all()


def test_observed_mortality_decline_hand_case():
    """Two ages, weights = population of the later year: 1 - (10*0.09 + 30*0.2) / (10*0.1
    + 30*0.2) = 1 - 6.9 / 7.0."""
    from attrbayes.diagnostics.backtest import _observed_mortality_decline

    mortality = pd.DataFrame(
        {
            "year": [2000, 2000, 2001, 2001],
            "sex": "female",
            "age": [0, 1, 0, 1],
            "death_probability": [0.1, 0.2, 0.09, 0.2],
        }
    )
    population = pd.DataFrame({"place": "0301", "year": [2001, 2001], "sex": "female",
                               "age": [0, 1], "population": [10.0, 30.0]})  # fmt: skip
    panel = SimpleNamespace(tables={"mortality": mortality, "population": population})
    assert _observed_mortality_decline(panel) == {2001: pytest.approx(1 - 6.9 / 7.0)}


@pytest.mark.slow
def test_backtest_end_to_end(synthetic, panel, tmp_path):
    truth = synthetic.truth["years"].set_index("year")["centrality"]
    result = backtest(
        panel, [ORIGIN], [1, 3], migration_spec=["migration_2022", "migration_2022_yeardev"],
        sampler=SamplerConfig(chains=2, draws=100, tune=150), draws=100,
        coefficient_truth=truth,
    )  # fmt: skip
    assert isinstance(result, BacktestResult)
    s = result.scores
    assert set(s["method"]) == {"bayes", "ols"}
    assert set(s.loc[s["method"] == "bayes", "spec"]) == {"migration_2022",
                                                          "migration_2022_yeardev"}  # fmt: skip
    assert set(s.loc[s["method"] == "ols", "spec"]) == {"migration_2022"}
    assert set(s["horizon"]) == {1, 3}
    assert set(s["scenario"]) == {"historical", "neutral"}
    assert len(s) == 3 * 2 * 2 * 25
    # the coefficient of 2011-2014 (one to four years after the last fitted, 2010)
    coef = result.coefficient
    assert sorted(coef["year"].unique()) == [2011, 2012, 2013, 2014]
    assert (coef["horizon"] == coef["year"] - 2010).all()
    np.testing.assert_allclose(coef["truth"], truth.reindex(coef["year"]))
    assert coef[[f"covered_{level}" for level in LEVELS]].isin([0.0, 1.0]).all().all()
    assert (coef["crps"] >= 0).all()
    assert set(result.coefficient_summary()["spec"]) == {"migration_2022",
                                                         "migration_2022_yeardev"}  # fmt: skip
    bayes = s[s["method"] == "bayes"]
    for col in ("observed", "median", "crps", "crps_pct", "ape", "pe"):
        assert np.isfinite(s[col]).all(), col
    for level in LEVELS:
        assert bayes[f"covered_{level}"].between(0, 1).all()
        assert (bayes[f"lower_{level}"] <= bayes[f"upper_{level}"]).all()
    assert s.loc[s["method"] == "ols", "covered_95"].isna().all()
    # observed values are the full panel's population on 1 January T + h
    totals = panel.population_totals()
    row = bayes.iloc[0]
    assert row["observed"] == pytest.approx(totals.loc[row["place"], row["year"]])
    summary = result.summary()
    assert {"coverage_50", "coverage_80", "coverage_95", "crps_pct", "mape", "bias"} <= set(
        summary.columns
    )
    overall = summary[(summary["method"] == "bayes") & (summary["size_class"] == "all")]
    h1 = overall[overall["horizon"] == 1]
    assert (h1["coverage_95"] >= 0.6).all()
    assert (overall["coverage_50"] <= overall["coverage_80"] + 1e-9).all()
    assert (overall["mape"] < 20).all()
    paths = result.save(tmp_path)
    assert all(p.is_file() for p in paths)
    assert (tmp_path / f"assumptions_{ORIGIN}.toml").is_file()
    assert (tmp_path / "coefficient_summary.csv").is_file()


def test_coefficient_summary_needs_a_truth():
    with pytest.raises(DataError, match="no coefficient scores"):
        BacktestResult(pd.DataFrame()).coefficient_summary()


def test_cli_backtest_reports_unusable_origin(small_panel_dir):
    from typer.testing import CliRunner

    from attrbayes.cli import app

    runner = CliRunner()
    assert "rolling-origin" in runner.invoke(app, ["backtest", "--help"]).output.lower()
    result = runner.invoke(
        app, ["backtest", "--data", str(small_panel_dir), "--origin", "2010", "--horizon", "5"]
    )
    assert result.exit_code == 1
    assert "no origin has an observed horizon" in result.output
