"""Posterior vs OLS attractiveness per place (``attrbayes compare``): the statistics are
what they say they are, and the command prints them and writes the scatters."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.equation import fixed_attractiveness
from attrbayes.models.ols import fit_ols
from attrbayes.plots import figure_bytes
from attrbayes.plots.attractiveness import plot_attractiveness_scatter
from attrbayes.reporting.comparison import (
    PEARSON_ROW,
    SD_ROW,
    SPEARMAN_ROW,
    attractiveness_comparison,
    correlation_row,
    realised_attractiveness,
)
from attrbayes.runs import load_fit

runner = CliRunner()


@pytest.fixture(scope="module")
def fits(small_run_dir):
    return {kind: load_fit(small_run_dir / name) for kind, name in
            (("migration", "migration_2022"), ("jobs", "jobs_2022"))}  # fmt: skip


@pytest.fixture(scope="module")
def comparisons(fits):
    return {kind: attractiveness_comparison(fit) for kind, fit in fits.items()}


def _r(a: pd.Series, b: pd.Series) -> float:
    return float(np.corrcoef(a.to_numpy(float), b.to_numpy(float))[0, 1])


@pytest.mark.parametrize("kind", ["migration", "jobs"])
def test_the_table_is_the_two_attractiveness_tables_of_the_same_places(fits, comparisons, kind):
    fit, comparison = fits[kind], comparisons[kind]
    table = comparison.table.set_index("place")
    ols = fit_ols(fit.design).attractiveness().set_index("place")["pct_per_year"]
    post = fit.attractiveness().set_index("place")
    assert set(table.index) == set(ols.index) == set(post.index)
    assert len(table) == fit.design.frame["place"].nunique()
    np.testing.assert_allclose(table["ols_pct"], ols.reindex(table.index))
    np.testing.assert_allclose(table["posterior_median"], post["pct_median"].reindex(table.index))
    np.testing.assert_allclose(table["posterior_upper_80"],
                               post["pct_upper_80"].reindex(table.index))  # fmt: skip
    assert (table["posterior_lower_80"] <= table["posterior_median"]).all()
    assert comparison.kind == {"migration": "residential", "jobs": "business"}[kind]
    assert comparison.window == fit.design.years_text()


def test_structure_is_the_place_mean_of_the_terms(fits, comparisons):
    frame = fits["migration"].design.frame
    table = comparisons["migration"].table.set_index("place")
    assert comparisons["migration"].structure_columns == [
        "vra_t", "vra_t1", "vra_t2", "ds", "vra_sum", "centrality"
    ]  # fmt: skip
    means = frame.groupby("place")[["vra_t", "vra_t1", "vra_t2", "ds", "centrality"]].mean()
    np.testing.assert_allclose(table["ds"], means["ds"].reindex(table.index))
    vra = (frame["vra_t"] + frame["vra_t1"] + frame["vra_t2"]).groupby(frame["place"]).mean()
    np.testing.assert_allclose(table["vra_sum"], vra.reindex(table.index))
    np.testing.assert_allclose(table["centrality"], means["centrality"].reindex(table.index))
    assert comparisons["jobs"].structure_columns == ["industry_effect", "pop_growth_lag"]


@pytest.mark.parametrize("kind", ["migration", "jobs"])
def test_statistics_are_numpy_correlations_and_sds_of_the_table(comparisons, kind):
    comparison = comparisons[kind]
    table, stats = comparison.table, comparison.statistics
    post, ols = table["posterior_median"], table["ols_pct"]
    realised = table["realised_median"]
    assert stats.loc[PEARSON_ROW, "posterior"] == pytest.approx(_r(post, ols))
    assert stats.loc[PEARSON_ROW, "realised"] == pytest.approx(_r(realised, ols))
    assert stats.loc[PEARSON_ROW, "ols"] == pytest.approx(1.0)
    ranks = _r(post.rank(), ols.rank())
    assert stats.loc[SPEARMAN_ROW, "posterior"] == pytest.approx(ranks)
    assert stats.loc[SPEARMAN_ROW, "realised"] == pytest.approx(_r(realised.rank(), ols.rank()))
    assert comparison.pearson == pytest.approx(_r(post, ols))
    assert comparison.spearman == pytest.approx(ranks)
    assert stats.loc[SD_ROW, "posterior"] == pytest.approx(np.std(post, ddof=1))
    assert stats.loc[SD_ROW, "realised"] == pytest.approx(np.std(realised, ddof=1))
    assert stats.loc[SD_ROW, "ols"] == pytest.approx(np.std(ols, ddof=1))
    correlates = ["vra_sum", "centrality"] if kind == "migration" else [
        "industry_effect", "pop_growth_lag"
    ]  # fmt: skip
    for column in correlates:
        row = correlation_row(column)
        assert stats.loc[row, "posterior"] == pytest.approx(_r(post, table[column]))
        assert stats.loc[row, "ols"] == pytest.approx(_r(ols, table[column]), abs=1e-12)
    assert list(stats.index) == [PEARSON_ROW, SPEARMAN_ROW, SD_ROW,
                                 *[correlation_row(c) for c in correlates]]  # fmt: skip
    assert "r with mean VRA" in stats.index or kind == "jobs"


@pytest.mark.parametrize("kind", ["migration", "jobs"])
def test_realised_attractiveness_is_the_mean_residual_of_the_graphs_structure(fits, kind):
    """Per draw: the place's mean of y minus the model graph's mu, plus the sampled
    place-level attractiveness that mu holds (what is left of mu is structure)."""
    fit = fits[kind]
    frame = fit.design.frame
    mu = fit.mu_draws(max_draws=None).to_numpy()
    places = np.sort(frame["place"].unique())
    fixed = fixed_attractiveness(fit, np.arange(mu.shape[0]), places).to_numpy()
    resid = pd.DataFrame((fit.design.y[None, :] - mu).T, index=frame["place"].to_numpy())
    per_draw = 100 * (resid.groupby(level=0).mean().loc[places].to_numpy().T + fixed)
    got = realised_attractiveness(fit).set_index("place").loc[places]
    for column, q in (("realised_median", 0.5), ("realised_lower_80", 0.1),
                      ("realised_upper_80", 0.9)):  # fmt: skip
        np.testing.assert_allclose(got[column], np.quantile(per_draw, q, axis=0), rtol=1e-9,
                                   atol=1e-12)  # fmt: skip


def test_realised_attractiveness_with_the_ols_coefficients_is_the_ols_point_value(small_run_dir):
    from attrbayes.data.panel import read_panel
    from attrbayes.diagnostics.backtest import ols_point_fit
    from attrbayes.features.design import compute_features

    features = compute_features(read_panel(small_run_dir / "panel"), "municipality")
    for spec in ("migration_2022", "jobs_2022"):
        point = ols_point_fit(features, spec)
        ols = fit_ols(point.design).attractiveness().set_index("place")["pct_per_year"]
        got = realised_attractiveness(point).set_index("place")
        np.testing.assert_allclose(got["realised_median"], ols.reindex(got.index), atol=1e-12)


def test_ols_residuals_do_not_correlate_with_a_regressor_constant_per_place(comparisons):
    """OLS residuals are orthogonal to centrality; on a balanced panel so are their place
    means. The posterior has no such constraint."""
    stats = comparisons["migration"].statistics
    assert abs(stats.loc["r with centrality", "ols"]) < 1e-8


def test_the_scatter_renders(comparisons):
    png = figure_bytes(plot_attractiveness_scatter(comparisons["jobs"], title="jobs"))
    assert png.startswith(b"\x89PNG")


def test_compare_prints_the_statistics_and_writes_both_scatters(small_run_dir, tmp_path):
    # copies: the command writes beside the runs, and small_run_dir is shared
    migration, jobs = tmp_path / "migration_2022", tmp_path / "jobs_2022"
    for run in (migration, jobs):
        shutil.copytree(small_run_dir / run.name, run)
    csv = tmp_path / "attractiveness.csv"
    result = runner.invoke(app, ["compare", str(migration), "--jobs", str(jobs),
                                 "--table", str(csv)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ols_estimate" in result.output  # the coefficient table is still there
    assert (migration / "centrality_path.png").is_file()
    assert "Residential attractiveness, posterior median vs OLS point" in result.output
    assert "Business attractiveness, posterior median vs OLS point" in result.output
    assert "12 places, 2003-2010" in result.output
    assert PEARSON_ROW in result.output
    assert "r with mean VRA" in result.output
    assert "r with industry_effect" in result.output
    assert (migration / "attractiveness_scatter.png").read_bytes().startswith(b"\x89PNG")
    assert (jobs / "business_scatter.png").read_bytes().startswith(b"\x89PNG")
    table = pd.read_csv(csv, dtype={"place": str})
    assert table["kind"].value_counts().to_dict() == {"residential": 12, "business": 12}
    assert {"ols_pct", "posterior_median", "vra_sum", "industry_effect"} <= set(table.columns)

    elsewhere = tmp_path / "elsewhere"
    result = runner.invoke(app, ["compare", str(migration / "fit.nc"), "--jobs", str(jobs),
                                 "--scatter", str(elsewhere / "r.png"), "--jobs-scatter",
                                 str(elsewhere / "b.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in elsewhere.iterdir()) == ["b.png", "r.png"]
    assert "Scatter written to" in result.output


def test_compare_jobs_wants_a_jobs_fit(small_run_dir, tmp_path):
    migration = small_run_dir / "migration_2022"
    scatter = tmp_path / "s.png"
    wrong = runner.invoke(app, ["compare", str(migration), "--jobs", str(migration),
                                "--scatter", str(scatter)])  # fmt: skip
    assert wrong.exit_code == 1
    assert "expected a jobs fit" in wrong.output
    assert str(migration / "fit.nc") in wrong.output.replace("\n", "")
    assert "is a migration fit (migration_2022)" in wrong.output
    assert not scatter.exists()  # refused before anything is written
    jobs = small_run_dir / "jobs_2022"
    twice = runner.invoke(app, ["compare", str(jobs), "--jobs", str(jobs), "--scatter",
                                str(scatter)])  # fmt: skip
    assert twice.exit_code == 1
    assert "already a jobs fit" in twice.output
