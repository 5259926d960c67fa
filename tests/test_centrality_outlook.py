"""The centrality coefficient past the fit: stored per draw in projections, summarised with
P(coefficient < 0), drawn fitted-plus-projected by ``fan --centrality`` and ``compare``."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.data.panel import read_panel
from attrbayes.exceptions import DataError, SpecError
from attrbayes.plots.centrality import coefficient_outlook_data, plot_coefficient_outlook
from attrbayes.projection.engine import coefficient_outlook, project
from attrbayes.projection.result import ProjectionResult, example_projection
from attrbayes.runs import load_fit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(small_run_dir):
    return small_run_dir


@pytest.fixture(scope="module")
def projection(run) -> ProjectionResult:
    return ProjectionResult.load(run / "projection" / "projection.nc")


@pytest.fixture(scope="module")
def migration(run):
    return load_fit(run / "migration_2022")


def test_projection_stores_the_fitted_and_projected_coefficient(projection, migration):
    da = projection.ds["centrality_coefficient"]
    assert da.dims == ("scenario", "draw", "coefficient_year")
    fitted = migration.design.years
    assert int(da["coefficient_year"][0]) == fitted[0]
    assert int(da["coefficient_year"][-1]) == 2030
    assert projection.ds.attrs["centrality_last_fitted_year"] == fitted[1]
    assert projection.ds.attrs["centrality_process"] == migration.spec.time_varying.centrality
    # the fitted years are the posterior path at the projected draws (evenly spaced)
    path = migration.draws("centrality_path")
    index = np.linspace(0, path.sizes["draw"] - 1, da.sizes["draw"]).round().astype(int)
    np.testing.assert_allclose(
        da.isel(scenario=0).sel(coefficient_year=slice(*fitted)),
        path.isel(draw=index).transpose("draw", "year"), rtol=1e-12,
    )  # fmt: skip
    # every scenario shares the coefficient's random numbers
    np.testing.assert_array_equal(da.isel(scenario=0), da.isel(scenario=-1))


def test_centrality_table_flags_fitted_years_and_counts_negative_draws(projection):
    table = projection.centrality_table()
    da = projection.ds["centrality_coefficient"].isel(scenario=0)
    last = projection.ds.attrs["centrality_last_fitted_year"]
    assert table.loc[table["fitted"], "year"].max() == last
    assert not table.loc[~table["fitted"], "year"].le(last).any()
    np.testing.assert_allclose(table["p_negative"], (da < 0).mean("draw"))
    assert (table["lower_80"] <= table["median"]).all()
    assert (table["median"] <= table["upper_80"]).all()
    with pytest.raises(DataError, match="no scenario 'rosy'"):
        projection.centrality_table("rosy")
    with pytest.raises(DataError, match="holds no centrality coefficient"):
        example_projection().centrality_table()


def test_without_innovations_the_coefficient_follows_its_expected_path(run, migration):
    """AR(1) (the default spec here): back towards each draw's level by its persistence
    every year, level + phi^k (last - level) k years after the fit."""
    jobs = load_fit(run / "jobs_2022")
    quiet = project(migration, jobs, read_panel(run / "panel"), draws=10, to=2016,
                    scenarios=["neutral"], centrality_noise=False)  # fmt: skip
    assert quiet.ds.attrs["centrality_noise"] == 0
    assert quiet.ds.attrs["centrality_process"] == "ar1"
    da = quiet.ds["centrality_coefficient"].isel(scenario=0).transpose("draw", ...)
    last = quiet.ds.attrs["centrality_last_fitted_year"]
    index = np.linspace(0, migration.draws("centrality").sizes["draw"] - 1, 10).round()
    level, phi = (migration.draws(name).isel(draw=index.astype(int)).to_numpy()[:, None]
                  for name in ("centrality", "centrality_phi"))  # fmt: skip
    later = da.sel(coefficient_year=slice(last + 1, None))
    steps = later["coefficient_year"].to_numpy()[None, :] - last
    start = da.sel(coefficient_year=last).to_numpy()[:, None]
    np.testing.assert_allclose(later, level + phi**steps * (start - level), rtol=1e-10)


def test_outlook_data_and_chart(projection, migration):
    data = coefficient_outlook_data(projection, fit=migration)
    assert {"median", "lower_95", "upper_95", "p_negative", "fitted", "ols_estimate"} <= set(data)
    fitted = data[data["fitted"]]
    assert fitted["ols_estimate"].notna().all()
    assert data.loc[~data["fitted"], "ols_estimate"].isna().all()
    assert data.attrs["process"] == "ar1"
    figure = plot_coefficient_outlook(data)
    assert len(figure.axes) == 1
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert any(label.startswith("P(coefficient < 0) in 2030") for label in labels)


def test_outlook_refuses_a_fit_the_projection_did_not_come_from(projection, migration):
    other = ProjectionResult(projection.ds.copy())
    other.ds.attrs["migration_data_hash"] = "0" * 64
    with pytest.raises(DataError, match="not made from this fit"):
        coefficient_outlook_data(other, fit=migration)


def test_fan_and_compare_commands_draw_the_outlook(run, tmp_path):
    runner = CliRunner()
    out = tmp_path / "coefficient.png"
    result = runner.invoke(app, ["fan", str(run / "projection"), "--centrality",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "carried forward as an AR(1) reverting to its level" in result.output
    assert "P(< 0)" in result.output
    assert "2030:" in result.output
    plot = tmp_path / "compare.png"
    result = runner.invoke(app, ["compare", str(run / "migration_2022"), "--projection",
                                 str(run / "projection"), "--plot", str(plot)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert plot.read_bytes().startswith(b"\x89PNG")
    both = runner.invoke(app, ["fan", str(run / "projection"), "--centrality", "--nation"])
    assert both.exit_code == 1
    assert "exactly one of" in both.output


def test_coefficient_outlook_without_a_projection(run, migration, projection):
    """The same stepping as project(): with the same seed and draws, the same path."""
    n = projection.ds.sizes["draw"]
    years = [2008, 2012, 2020, 2030]
    outlook = coefficient_outlook(migration, years, draws=n, seed=projection.ds.attrs["seed"],
                                  innovations=False)  # fmt: skip
    assert outlook.dims == ("draw", "year")
    stored = projection.ds["centrality_coefficient"].isel(scenario=0)
    np.testing.assert_allclose(outlook.sel(year=2008),
                               stored.sel(coefficient_year=2008))  # fitted: as fitted  # fmt: skip
    quiet = project(migration, load_fit(run / "jobs_2022"), read_panel(run / "panel"), draws=n,
                    to=2030, scenarios=["neutral"], centrality_noise=False)  # fmt: skip
    np.testing.assert_allclose(
        outlook.sel(year=2030),
        quiet.ds["centrality_coefficient"].isel(scenario=0).sel(coefficient_year=2030), rtol=1e-10,
    )  # fmt: skip
    jobs = load_fit(run / "jobs_2022")
    with pytest.raises(SpecError, match="no centrality term"):
        coefficient_outlook(jobs, [2020])
