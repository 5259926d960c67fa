"""Growth decompositions: per-draw accounting identities, hand computations, ranks,
intervals, public-sector rows, the chart and the ``decompose`` command.

Draws come from the prior (``SamplerConfig(sampler="prior")``): the identities must hold
for any draw, so wide prior draws are a harder test than a posterior.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.config import SamplerConfig, load_spec
from attrbayes.decomposition import (
    TABLE_COLUMNS,
    Decomposer,
    DriverDraws,
    all_median_ranks,
    decompose,
    driver_draws,
    group_draws,
    median_rank,
    national_rates,
    public_sector_rows,
    relative_draws,
    signed,
    table_text,
)
from attrbayes.exceptions import DataError
from attrbayes.features.design import Design, build_design, compute_features
from attrbayes.models.registry import model_class
from attrbayes.plots.decomposition import decomposition_plot_data, plot_decomposition
from attrbayes.results import MigrationFit

PRIOR = SamplerConfig(sampler="prior", chains=2, draws=50)
PLACE = "0301"


def _fit(features, name: str):
    spec = load_spec(name)
    return model_class(spec.kind)(build_design(features, spec), spec).fit(PRIOR)


@pytest.fixture(scope="module")
def features(small_synthetic):
    return compute_features(small_synthetic.panel, "municipality")


@pytest.fixture(scope="module")
def mig(features):
    return _fit(features, "migration_2022")


@pytest.fixture(scope="module")
def jobs_fit(features):
    return _fit(features, "jobs_2022")


@pytest.fixture(scope="module")
def jobs_table(small_synthetic):
    return small_synthetic.panel.tables["jobs"]


def _with_frame(fit, frame: pd.DataFrame):
    """The same fit over a changed design frame (e.g. without some columns)."""
    d = fit.design
    design = Design(frame, d.terms, d.level, d.spec_name, d.years, d.label, d.kind)
    return dataclasses.replace(fit, design=design)


def _period(frame: pd.DataFrame, years) -> pd.DataFrame:
    return frame[frame["year"].between(*years)]


# -- accounting identities ---------------------------------------------------------------
def test_population_drivers_add_up_to_the_actual_change_in_every_draw(mig):
    years = (2004, 2009)
    dd = driver_draws(mig, years)
    assert dd.drivers[:5] == ["expected births", "excess fertility", "expected deaths",
                              "excess mortality", "national immigration"]  # fmt: skip
    assert {"own job growth", "commuting-area job growth", "centrality",
            "demographic supply (DS)", "residential attractiveness",
            "common level and year shock", "noise"} <= set(dd.drivers)  # fmt: skip
    # the actual change from the data, computed independently of the module
    rows = _period(mig.design.frame, years)
    change = (rows["births"] - rows["deaths"] + rows["net_migration"]).groupby(rows["place"])
    expected = change.mean().reindex(dd.places).to_numpy()
    np.testing.assert_allclose(dd.actual.to_numpy(), expected, rtol=1e-9)
    sums = dd.amounts.sum("driver").transpose("draw", "place").to_numpy()
    assert sums.shape == (100, 40)
    np.testing.assert_allclose(sums, np.broadcast_to(expected, sums.shape), rtol=1e-9, atol=1e-6)
    # and the model drivers really vary between draws (the identity is not trivial)
    assert float(dd.amounts.sel(driver="noise").std("draw").min()) > 0


def test_net_migration_drivers_add_up_to_net_migration(mig):
    dd = driver_draws(mig, (2003, 2010))
    flow = [d for d in dd.drivers if dd.groups[d] == "net migration"]
    assert flow[0] == "national immigration"
    assert flow[-1] == "noise"
    sums = dd.amounts.sel(driver=flow).sum("driver").transpose("draw", "place").to_numpy()
    net = mig.design.frame.groupby("place")["net_migration"].mean().reindex(dd.places)
    np.testing.assert_allclose(sums, np.broadcast_to(net, sums.shape), rtol=1e-9, atol=1e-6)


def test_job_drivers_add_up_to_the_private_job_change_in_every_draw(jobs_fit, jobs_table):
    years = (2005, 2010)
    dd = driver_draws(jobs_fit, years)
    assert dd.drivers == [
        "national contribution", "industry effect", "population effect",
        "business attractiveness", "common level and year shock", "noise",
    ]  # fmt: skip
    # the private job change straight from the panel's jobs table
    private = jobs_table[jobs_table["sector"] == "private"].pivot_table(
        index="place", columns="year", values="jobs"
    )
    change = private.diff(axis=1)[list(range(years[0], years[1] + 1))].mean(axis=1)
    np.testing.assert_allclose(dd.actual, change.reindex(dd.places), rtol=1e-9)
    sums = dd.amounts.sum("driver").transpose("draw", "place").to_numpy()
    np.testing.assert_allclose(sums, np.broadcast_to(dd.actual, sums.shape), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize(
    ("spec", "level"),
    [("migration_2022_pooled", "municipality"), ("migration_2022_students", "region"),
     ("jobs_centrality", "municipality"), ("migration_2022_within", "municipality")],
)  # fmt: skip
def test_identity_holds_for_other_model_shapes(small_synthetic, spec, level):
    """No effects (attractiveness = residual), a place-constant slope at region level,
    a constant centrality coefficient in the job model, contextual place means."""
    fit = _fit(compute_features(small_synthetic.panel, level), spec)
    dd = driver_draws(fit)
    sums = dd.amounts.sum("driver").transpose("draw", "place").to_numpy()
    np.testing.assert_allclose(sums, np.broadcast_to(dd.actual, sums.shape), rtol=1e-9, atol=1e-6)
    if spec == "migration_2022_pooled":
        assert "noise" not in dd.drivers
        assert any("posterior residual" in n for n in dd.notes)
    if spec == "migration_2022_students":
        assert "students share" in dd.drivers
    if spec == "jobs_centrality":
        assert "centrality" in dd.drivers
    if spec == "migration_2022_within":  # the place means join their drivers
        assert "lasting job growth (place mean)" in dd.drivers
        assert not [d for d in dd.drivers if d.endswith("_mean")]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_place_and_period_adds_up(mig, data):
    frame = mig.design.frame
    place = data.draw(st.sampled_from(sorted(frame["place"].unique())))
    first = data.draw(st.integers(2003, 2010))
    last = data.draw(st.integers(first, 2010))
    dec = decompose(mig, place, (first, last))
    sums = dec.draws.sum("driver").to_numpy()
    np.testing.assert_allclose(sums, dec.actual, rtol=1e-9, atol=1e-6)
    total = dec.table.set_index("driver").loc["population change", "median"]
    assert total == pytest.approx(dec.actual)
    rows = _period(frame[frame["place"] == place], (first, last))
    actual = (rows["births"] - rows["deaths"] + rows["net_migration"]).mean()
    assert dec.actual == pytest.approx(actual, rel=1e-9)


def test_a_part_the_module_does_not_know_is_an_error(mig, monkeypatch):
    original = MigrationFit.deterministic_draws

    def shifted(self, *args, **kwargs):
        for index, arrays in original(self, *args, **kwargs):
            yield index, [a + 1e-4 for a in arrays]

    monkeypatch.setattr(MigrationFit, "deterministic_draws", shifted)
    with pytest.raises(DataError, match="do not rebuild the linear predictor"):
        driver_draws(mig)


def test_blocks_of_draws_give_the_same_drivers(mig, monkeypatch):
    import attrbayes.decomposition as dec

    whole = driver_draws(mig)
    monkeypatch.setattr(dec, "DRAW_BLOCK", 7)  # uneven blocks, the last one short
    blocked = driver_draws(mig)
    assert whole.amounts.sizes["draw"] > 7
    xr.testing.assert_allclose(blocked.amounts, whole.amounts, rtol=1e-12)
    xr.testing.assert_allclose(blocked.rates, whole.rates, rtol=1e-12)
    assert blocked.notes == whole.notes


# -- hand computations --------------------------------------------------------------------
def test_drivers_match_a_manual_computation_from_draws_and_frame(mig):
    years = (2005, 2007)
    dec = decompose(mig, PLACE, years)
    rows = _period(mig.design.frame, years)
    rows = rows[rows["place"] == PLACE].sort_values("year")
    b = {t: mig.draws(t).to_numpy() for t in ("vra_t", "vra_t1", "vra_t2", "ds", "intercept")}
    state = mig.attractiveness_state  # integrated out of the likelihood, so not in mu
    path = mig.draws("centrality_path")
    year_effect = mig.draws("year_effect")
    latent = mig.latent_attractiveness
    mu = mig.mu_draws(max_draws=None)
    n = len(b["ds"])
    own, area, cent, ds, common, att, noise = (np.zeros(n) for _ in range(7))
    for row in rows.itertuples():
        pop = row.population
        for lag, suffix in (("vra_t", "t"), ("vra_t1", "t1"), ("vra_t2", "t2")):
            own_part = getattr(row, f"vra_own_{suffix}")
            own += b[lag] * own_part * pop
            area += b[lag] * (getattr(row, lag) - own_part) * pop
        cent += path.sel(year=row.year).to_numpy() * row.centrality * pop
        ds += b["ds"] * row.ds * pop
        common += (b["intercept"] + year_effect.sel(year=row.year).to_numpy()) * pop
        att += latent.sel(place=PLACE, year=row.year).to_numpy().astype(float) * pop
        integrated = (state["place_effect"].sel(place=PLACE)
                      + state["ar"].sel(place=PLACE, year=row.year)).to_numpy()  # fmt: skip
        noise += (row.y - mu.isel(obs=row.Index).to_numpy() - integrated) * pop
    manual = {
        "own job growth": own, "commuting-area job growth": area, "centrality": cent,
        "demographic supply (DS)": ds, "common level and year shock": common,
        "residential attractiveness": att, "noise": noise,
    }  # fmt: skip
    table = dec.table.set_index("driver")
    # attractiveness draws are float32: the noise (y - mu - the integrated part, which is
    # attractiveness minus the sampled effects) carries their rounding, at most half an
    # ulp of the largest attractiveness times the population, a year
    rounding = float(np.abs(latent).max()) * np.finfo(np.float32).eps * rows["population"].max()
    for driver, total in manual.items():
        per_year = total / len(rows)
        atol = rounding if driver == "noise" else 1e-9
        np.testing.assert_allclose(dec.draws.sel(driver=driver), per_year, rtol=1e-9, atol=atol)
        assert table.loc[driver, "median"] == pytest.approx(np.median(per_year))
        assert table.loc[driver, "lower_80"] == pytest.approx(np.quantile(per_year, 0.1))
        assert table.loc[driver, "upper_95"] == pytest.approx(np.quantile(per_year, 0.975))
    # data drivers: a plain mean of the frame's columns, no interval
    eb = rows["expected_births"].mean()
    assert table.loc["expected births", "median"] == pytest.approx(eb)
    assert table.loc["excess fertility", "median"] == pytest.approx(rows["births"].mean() - eb)
    assert table.loc["expected deaths", "median"] == pytest.approx(-rows["expected_deaths"].mean())
    national = (rows["national_rate"] * rows["population"]).mean()
    assert table.loc["national immigration", "upper_95"] == pytest.approx(national)
    assert table.loc["national immigration", "lower_95"] == pytest.approx(national)


def test_job_drivers_match_a_manual_computation(jobs_fit):
    dec = decompose(jobs_fit, PLACE, (2004, 2006))
    rows = _period(jobs_fit.design.frame, (2004, 2006))
    rows = rows[rows["place"] == PLACE]
    base = rows["private_jobs_lag"].to_numpy()
    b_ind = jobs_fit.draws("industry_effect").to_numpy()[:, None]
    manual = (b_ind * rows["industry_effect"].to_numpy() * base).mean(axis=1)
    np.testing.assert_allclose(dec.draws.sel(driver="industry effect"), manual, rtol=1e-9)
    national = (rows["national_private_growth"] * base).mean()
    assert dec.table.set_index("driver").loc["national contribution", "median"] == (
        pytest.approx(national)
    )


# -- table, ranks and intervals -----------------------------------------------------------
def test_table_columns_intervals_and_ranks(mig):
    dec = decompose(mig, PLACE, (2004, 2008))
    t = dec.table
    assert tuple(t.columns) == TABLE_COLUMNS
    assert (t["n_places"] == 40).all()
    ranked = t["national_rank"].dropna()
    assert ranked.between(1, 40).all()
    assert (t["lower_95"] <= t["lower_80"] + 1e-9).all()
    assert (t["lower_80"] <= t["median"] + 1e-9).all()
    assert (t["median"] <= t["upper_80"] + 1e-9).all()
    assert (t["upper_80"] <= t["upper_95"] + 1e-9).all()
    model_rows = t[t["driver"].isin(["centrality", "noise", "residential attractiveness"])]
    assert (model_rows["upper_80"] > model_rows["lower_80"]).all()
    # drivers at the same rate everywhere have no rank
    common = t.set_index("driver").loc[["national immigration", "common level and year shock"]]
    assert common["national_rank"].isna().all()


def _growth_ranks(fit, years: tuple[int, int], by: str) -> pd.Series:
    """Ranks of population growth over the period by ``by`` (1 = fastest), from the data."""
    rows = _period(fit.design.frame, years)
    change = rows["births"] - rows["deaths"] + rows["net_migration"]
    sums = pd.DataFrame({"c": change, "p": rows["population"], by: rows[by]}).groupby(by).sum()
    return (sums["c"] / sums["p"]).rank(ascending=False)


def test_rank_of_a_data_driver_matches_pandas(mig):
    years = (2003, 2010)
    ranks = _growth_ranks(mig, years, "place")
    for place in (ranks.idxmin(), ranks.idxmax(), PLACE):
        dec = decompose(mig, place, years)
        row = dec.table.set_index("driver").loc["population change"]
        assert row["national_rank"] == ranks[place]
    assert (
        decompose(mig, ranks.idxmin(), years)
        .table.set_index("driver")
        .loc["population change", "national_rank"]
        == 1
    )


def test_rank_of_a_model_driver_is_the_median_of_per_draw_ranks(mig):
    dd = driver_draws(mig, (2005, 2009))
    rates = dd.rates.sel(driver="residential attractiveness").transpose("draw", "place")
    per_draw = (-rates.to_pandas()).rank(axis=1)
    idx = dd.places.index(PLACE)
    rank, n = median_rank(rates.to_numpy(), idx)
    assert n == 40
    assert rank == float(per_draw[PLACE].median())
    # rates, not amounts: a place twice the size with the same rate ranks the same
    assert median_rank(np.array([[0.01, 0.02, 0.03]]), 2) == (1.0, 3)
    assert median_rank(np.array([0.01, np.nan, 0.03]), 0) == (2.0, 2)
    assert np.isnan(median_rank(np.array([0.01, np.nan, 0.03]), 1)[0])
    # every place at once: ties share the average rank, invalid places get NaN
    ranks, n = all_median_ranks(np.array([[0.03, 0.01, np.nan, 0.01], [0.02, 0.05, 0.0, 0.01]]))
    np.testing.assert_array_equal(ranks, [1.5, 1.75, np.nan, 2.75])
    assert n == 3


# -- missing inputs -----------------------------------------------------------------------
def test_without_expected_births_and_deaths_actual_ones_are_shown(mig):
    frame = mig.design.frame.drop(columns=["expected_births", "expected_deaths"])
    dec = decompose(_with_frame(mig, frame), PLACE, (2004, 2006))
    drivers = list(dec.table["driver"])
    assert drivers[:2] == ["births", "deaths"]
    assert "expected births" not in drivers
    assert any("expected births and deaths are missing" in n for n in dec.notes)
    np.testing.assert_allclose(dec.draws.sum("driver"), dec.actual, rtol=1e-9)


def test_without_births_and_deaths_the_decomposition_is_net_migration(mig):
    frame = mig.design.frame.drop(columns=["births", "deaths", "expected_births",
                                           "expected_deaths"])  # fmt: skip
    dec = decompose(_with_frame(mig, frame), PLACE, (2004, 2006))
    assert not {"births", "deaths", "population change"} & set(dec.table["driver"])
    assert dec.table["driver"].iloc[-1] == "net migration"
    assert any("births and deaths are missing" in n for n in dec.notes)
    rows = _period(frame[frame["place"] == PLACE], (2004, 2006))
    assert dec.actual == pytest.approx(rows["net_migration"].mean())
    np.testing.assert_allclose(dec.draws.sum("driver"), dec.actual, rtol=1e-9)


def test_without_the_own_place_vra_part_job_growth_is_one_driver(mig):
    frame = mig.design.frame.drop(columns=["vra_own_t", "vra_own_t1", "vra_own_t2"])
    dec = decompose(_with_frame(mig, frame), PLACE)
    assert "job growth (own and commuting area)" in set(dec.table["driver"])
    assert "own job growth" not in set(dec.table["driver"])
    assert any("vra_own" in n for n in dec.notes)
    np.testing.assert_allclose(dec.draws.sum("driver"), dec.actual, rtol=1e-9)


# -- public sector ------------------------------------------------------------------------
def _public_change(jobs_table, sector, years):
    own = jobs_table[(jobs_table["place"] == PLACE) & (jobs_table["sector"] == sector)]
    level = own.set_index("year")["jobs"]
    return float(level.diff().loc[years[0] : years[1]].mean())


def test_public_sector_rows_from_the_full_split(jobs_fit, jobs_table):
    years = (2005, 2008)
    dec = decompose(jobs_fit, PLACE, years, jobs=jobs_table)
    t = dec.table.set_index("driver")
    for sector in ("municipal", "county", "state"):
        row = t.loc[f"{sector} sector"]
        assert row["group"] == "public sector"
        assert row["median"] == pytest.approx(_public_change(jobs_table, sector, years))
        assert row["lower_95"] == row["upper_95"] == row["median"]  # data: no interval
        assert 1 <= row["national_rank"] <= row["n_places"] == 40
    public = sum(t.loc[f"{s} sector", "median"] for s in ("municipal", "county", "state"))
    total = t.loc["private job change", "median"] + public
    assert t.loc["total job change", "median"] == pytest.approx(total)
    assert not any("differs" in n for n in dec.notes)


def test_public_sector_undivided_totals_only_and_breaks(jobs_table):
    years = (2005, 2008)
    split = jobs_table[jobs_table["sector"] != "private"]
    public = split.groupby(["place", "year"], as_index=False)["jobs"].sum().assign(sector="public")
    undivided = pd.concat([jobs_table[jobs_table["sector"] == "private"], public])
    rows, notes = public_sector_rows(undivided, PLACE, years)
    assert list(rows["driver"]) == ["public sector"]
    expected = sum(_public_change(jobs_table, s, years) for s in ("municipal", "county", "state"))
    assert rows["median"].iloc[0] == pytest.approx(expected)
    totals = jobs_table.groupby(["place", "year"], as_index=False)["jobs"].sum()
    rows, notes = public_sector_rows(totals.assign(sector="total"), PLACE, years)
    assert rows.empty
    assert any("totals only" in n for n in notes)
    rows, notes = public_sector_rows(jobs_table, PLACE, years, breaks=[2006])
    kept = [2005, 2007, 2008]
    own = jobs_table[(jobs_table["place"] == PLACE) & (jobs_table["sector"] == "state")]
    change = own.set_index("year")["jobs"].diff().loc[kept].mean()
    assert rows.set_index("driver").loc["state sector", "median"] == pytest.approx(change)
    assert any("2006" in n and "series break" in n for n in notes)
    rows, notes = public_sector_rows(jobs_table, "9999", years)
    assert rows.empty
    assert any("no rows for place 9999" in n for n in notes)


def test_a_jobs_table_that_is_not_the_fits_data_is_flagged(jobs_fit, jobs_table):
    other = jobs_table.assign(jobs=jobs_table["jobs"] * 1.5)
    dec = decompose(jobs_fit, PLACE, (2005, 2008), jobs=other)
    assert any("differs from the fit's" in n for n in dec.notes)


# -- errors -------------------------------------------------------------------------------
def test_errors_for_unknown_place_period_and_kind(mig):
    with pytest.raises(DataError, match=r"place '9999' is not in the fit.*0301 \(Storby\)"):
        decompose(mig, "9999")
    with pytest.raises(DataError, match="outside the fit's years 2003-2010"):
        decompose(mig, PLACE, (1999, 2005))
    with pytest.raises(DataError, match="no growth decomposition for a fit of kind 'base'"):
        decompose(SimpleNamespace(kind="base", design=mig.design), PLACE)
    assert decompose(mig, "storby").place == PLACE  # a unique name works too


def test_signed_formatting():
    assert signed(1234.4) == "+1,234"
    assert signed(-56.6) == "-57"
    assert signed(3.24) == "+3.2"
    assert signed(-0.01) == "0"
    assert signed(float("nan")) == "-"


def test_table_text_names_the_place_period_and_units(mig):
    text = table_text(decompose(mig, PLACE, (2005, 2008)))
    assert text.startswith("Population growth decomposition: Storby (0301), 2005-2008")
    for part in ("persons / yr", "80 % interval", "/ 40"):
        assert part in text


# -- the chart ----------------------------------------------------------------------------
def test_chart_data_and_figure(mig, tmp_path):
    dec = decompose(mig, PLACE, (2005, 2008))
    data = decomposition_plot_data(dec)
    assert len(data) == len(dec.table)
    assert list(data["label"][-2:]) == ["= net migration", "= population change"]
    assert (data[["err_low", "err_high"]] >= 0).all().all()
    noise = data.set_index("label").loc["noise"]
    assert noise["err_low"] > 0
    assert noise["err_high"] > 0
    fig = plot_decomposition(data, title=dec.title, unit=dec.unit)
    try:
        ax = fig.axes[0]
        assert ax.get_title() == dec.title
        assert [t.get_text() for t in ax.get_yticklabels()] == list(data["label"])
        assert "among 40 places" in fig.axes[1].get_ylabel()
        colours = {p.get_facecolor() for p in ax.patches}
        assert len(colours) > 3  # bars are coloured by rank
        path = tmp_path / "dec.png"
        fig.savefig(path)
        assert path.read_bytes()[:4] == b"\x89PNG"
    finally:
        plt.close(fig)


# -- the command --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory, mig, jobs_fit):
    root = tmp_path_factory.mktemp("decompose")
    mig.save(root / "mig" / "fit.nc")
    jobs_fit.save(root / "jobs" / "fit.nc")
    return root


def test_decompose_command_writes_table_and_chart(saved_runs, tmp_path):
    runner = CliRunner()
    csv, png = tmp_path / "dec.csv", tmp_path / "dec.png"
    result = runner.invoke(
        app, ["decompose", str(saved_runs / "mig"), "--place", PLACE, "--years", "2005:2008",
              "--csv", str(csv), "--plot", str(png)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Population growth decomposition: Storby (0301), 2005-2008" in result.output
    assert "residential attractiveness" in result.output
    table = pd.read_csv(csv)
    assert tuple(table.columns) == TABLE_COLUMNS
    assert table["driver"].iloc[-1] == "population change"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_decompose_command_jobs_with_public_sector(saved_runs, small_panel_dir):
    runner = CliRunner()
    result = runner.invoke(
        app, ["decompose", str(saved_runs / "jobs" / "fit.nc"), "--place", PLACE,
              "--data", str(small_panel_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Job growth decomposition: Storby (0301), 2003-2010" in result.output
    for text in ("business attractiveness", "state sector", "total job change", "jobs / yr"):
        assert text in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--place", "9999"], "valid codes include 0301"),
     (["--place", PLACE, "--years", "1990:2005"], "outside the fit's years"),
     (["--place", PLACE, "--years", "2008:2005"], "2008:2005")],
)  # fmt: skip
def test_decompose_command_errors(saved_runs, args, message):
    result = CliRunner().invoke(app, ["decompose", str(saved_runs / "mig"), *args])
    assert result.exit_code == 1
    assert message in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    # one error line, after at most the line saying which step started
    assert lines[-1].startswith("error:")
    assert all(line.endswith(" ...") for line in lines[:-1]), lines


# -- groups ---------------------------------------------------------------------------------
GROUP_CASES = [("county", "46"), ("region", "R1801"), ("centrality_class", 5),
               ("places", "0301,1103,4601")]  # fmt: skip


def _members(frame: pd.DataFrame, by: str, code) -> list[str]:
    if by == "places":
        return code.split(",")
    return sorted(frame.loc[frame[by].astype(str) == str(code), "place"].unique())


@pytest.mark.parametrize(("by", "code"), GROUP_CASES)
def test_group_drivers_are_their_places_drivers_summed_per_draw(mig, by, code):
    years = (2004, 2008)
    frame = mig.design.frame
    members = _members(frame, by, code)
    dec = decompose(mig, code, years, by=by)
    assert dec.group == by
    assert list(dec.members) == members
    assert tuple(dec.table.columns) == TABLE_COLUMNS
    decomposer = Decomposer(mig, years)
    parts = [decomposer.decompose(p) for p in members]
    summed = sum(p.draws for p in parts)  # persons per year, draw by draw
    np.testing.assert_allclose(dec.draws, summed, rtol=1e-12, atol=1e-9)
    # the drivers still add up to the group's actual change, in every draw
    rows = _period(frame[frame["place"].isin(members)], years)
    change = (rows["births"] - rows["deaths"] + rows["net_migration"]).groupby(rows["place"])
    actual = float(change.mean().sum())
    assert dec.actual == pytest.approx(actual, rel=1e-9)
    np.testing.assert_allclose(dec.draws.sum("driver"), actual, rtol=1e-9, atol=1e-6)
    table = dec.table.set_index("driver")
    assert table.loc["population change", "median"] == pytest.approx(actual)
    # intervals of the summed draws, never sums of the places' intervals
    noise = summed.sel(driver="noise").to_numpy()
    assert table.loc["noise", "lower_80"] == pytest.approx(np.quantile(noise, 0.1))
    assert table.loc["noise", "median"] == pytest.approx(np.median(noise))
    # rates over the group's summed population
    population = rows.groupby("place")["population"].mean().sum()
    assert table.loc["population change", "median_pct"] == pytest.approx(100 * actual / population)


def test_groups_rank_among_groups_of_their_kind_and_lists_not_at_all(mig):
    years = (2003, 2010)
    ranks = _growth_ranks(mig, years, "county")
    decomposer = Decomposer(mig, years)
    for county in ("03", "46", ranks.idxmin()):
        dec = decomposer.decompose(county, by="county")
        row = dec.table.set_index("driver").loc["population change"]
        assert row["national_rank"] == ranks[county]
        assert row["n_places"] == len(ranks) == dec.n_places == 11
        assert dec.rank_label.startswith("rank among 11 counties")
    listed = decomposer.decompose("0301,1103", by="places")
    assert listed.table["national_rank"].isna().all()
    assert listed.rank_label is None
    assert "no ranks" in table_text(listed)
    assert "ranks are among the 11 counties" in table_text(decomposer.decompose("46", by="county"))


def test_a_group_of_one_is_the_place_itself(mig):
    """County 03 holds Storby alone: the same draws, medians and rates."""
    decomposer = Decomposer(mig, (2005, 2008))
    place, county = decomposer.decompose(PLACE), decomposer.decompose("03", by="county")
    np.testing.assert_allclose(county.draws, place.draws, rtol=1e-12)
    columns = ["driver", "median", "lower_95", "upper_95", "median_pct"]
    pd.testing.assert_frame_equal(county.table[columns], place.table[columns], rtol=1e-12)
    assert county.actual == pytest.approx(place.actual, rel=1e-12)
    assert county.title == "Population growth decomposition: county 03 (1 place), 2005-2008"


def test_membership_from_the_panel_when_the_fit_lacks_it(mig, small_synthetic):
    fit = _with_frame(mig, mig.design.frame.drop(columns=["county", "centrality_class"]))
    with pytest.raises(DataError, match=r"--county: the fit's design has no 'county'.*--data"):
        decompose(fit, "46", by="county")
    attributes = small_synthetic.panel.places
    dec = decompose(fit, "46", (2004, 2008), by="county", attributes=attributes)
    expected = decompose(mig, "46", (2004, 2008), by="county")
    np.testing.assert_allclose(dec.draws, expected.draws, rtol=1e-12)
    with pytest.raises(DataError, match=r"--class: neither the fit's design nor the panel"):
        decompose(fit, 5, by="centrality_class", attributes=attributes[["place", "county"]])


def test_unknown_group_codes_name_the_option_and_what_exists(mig):
    with pytest.raises(DataError, match=r"--county 99: no such county.*03 \(1 place\), 11"):
        decompose(mig, "99", by="county")
    with pytest.raises(DataError, match=r"--class 7: .*centrality classes are 1 \(1 place\)"):
        decompose(mig, 7, by="centrality_class")
    with pytest.raises(DataError, match=r"--region R9: .*regions are R0301"):
        decompose(mig, "R9", by="region")
    with pytest.raises(DataError, match=r"--places: place '9999' is not in the fit"):
        decompose(mig, "0301,9999", by="places")
    with pytest.raises(DataError, match="--places: give at least one place"):
        decompose(mig, " , ", by="places")


def test_job_group_with_public_sector_rows(jobs_fit, jobs_table):
    years = (2005, 2008)
    dec = decompose(jobs_fit, "46", years, by="county", jobs=jobs_table)
    members = _members(jobs_fit.design.frame, "county", "46")
    table = dec.table.set_index("driver")
    own = jobs_table[jobs_table["place"].isin(members) & (jobs_table["sector"] == "state")]
    level = own.groupby("year")["jobs"].sum()
    assert table.loc["state sector", "median"] == pytest.approx(
        level.diff().loc[years[0] : years[1]].mean()
    )
    assert table.loc["state sector", "n_places"] == 11  # ranked among the counties
    np.testing.assert_allclose(dec.draws.sum("driver"), dec.actual, rtol=1e-9, atol=1e-6)
    assert not any("differs" in n for n in dec.notes)


# -- the relative view ----------------------------------------------------------------------
def _hand_draws() -> DriverDraws:
    """Two places (bases 100 and 300), two draws; driver y is missing for place B."""
    amounts = np.array([[[2.0, 3.0], [4.0, -1.0]], [[1.0, np.nan], [1.0, np.nan]]])
    base = np.array([100.0, 300.0])
    coords = {"driver": ["x", "y"], "draw": [0, 1], "place": ["A", "B"]}
    totals = xr.DataArray([[3.0, 2.0]], coords={"total": ["change"], "place": ["A", "B"]},
                          dims=("total", "place"))  # fmt: skip
    base_da = xr.DataArray(base, coords={"place": ["A", "B"]}, dims="place")
    amounts_da = xr.DataArray(amounts, coords=coords, dims=("driver", "draw", "place"))
    return DriverDraws(
        kind="migration", years=(2001, 2001), amounts=amounts_da, rates=amounts_da / base_da,
        actual=totals.isel(total=-1, drop=True), totals=totals, total_rates=totals / base_da,
        base=base_da, groups={"x": "net migration", "y": "births"}, common=frozenset(),
    )  # fmt: skip


def test_relative_formula_by_hand():
    dd = _hand_draws()
    national = national_rates(dd)
    # Norway's rate of x per draw: (2 + 3) / 400 and (4 - 1) / 400; y counts A alone
    np.testing.assert_allclose(national.rates.sel(driver="x"), [0.0125, 0.0075])
    np.testing.assert_allclose(national.rates.sel(driver="y"), [0.01, 0.01])
    assert national.total_rates.sel(total="change") == pytest.approx(5 / 400)
    assert national.notes == ("Norway's rate of y counts 1 of 2 places (the others lack the data)",)
    rel = relative_draws(dd, national)
    # A: rate x = 0.02 and 0.04; minus Norway's, times A's base of 100
    np.testing.assert_allclose(rel.rates.sel(driver="x", place="A"), [0.0075, 0.0325])
    np.testing.assert_allclose(rel.amounts.sel(driver="x", place="A"), [0.75, 3.25])
    np.testing.assert_allclose(rel.amounts.sel(driver="x", place="B"), [-0.75, -3.25])
    np.testing.assert_allclose(rel.amounts.sel(driver="y", place="A"), [0.0, 0.0])
    assert np.isnan(rel.amounts.sel(driver="y", place="B")).all()
    assert float(rel.totals.sel(total="change", place="A")) == pytest.approx(3 - 5 / 400 * 100)
    assert float(rel.actual.sel(place="B")) == pytest.approx(2 - 5 / 400 * 300)
    assert rel.notes == national.notes
    # groups: summed per draw; a member's NaN makes the group's NaN
    group = group_draws(dd, {"G": ["A", "B"], "A only": ["A"]})
    np.testing.assert_allclose(group.amounts.sel(driver="x", place="G"), [5.0, 3.0])
    np.testing.assert_allclose(group.rates.sel(driver="x", place="G"), [0.0125, 0.0075])
    assert np.isnan(group.amounts.sel(driver="y", place="G")).all()
    np.testing.assert_allclose(group.amounts.sel(driver="y", place="A only"), [1.0, 1.0])
    assert float(group.base.sel(place="G")) == 400
    assert float(group.actual.sel(place="G")) == 5
    with pytest.raises(DataError, match=r"places \['C'\] have no rows"):
        group_draws(dd, {"G": ["A", "C"]})


def test_the_nation_compared_with_itself_is_zero(mig):
    everyone = sorted(mig.design.frame["place"].unique())
    dec = decompose(mig, everyone, (2004, 2008), by="places", relative=True)
    numbers = ["median", "lower_80", "upper_80", "lower_95", "upper_95", "median_pct"]
    scale = float(np.abs(decompose(mig, everyone, (2004, 2008), by="places").draws).max())
    np.testing.assert_allclose(dec.table[numbers].to_numpy(float), 0.0, atol=1e-9 * scale)
    np.testing.assert_allclose(dec.draws, 0.0, atol=1e-9 * scale)
    assert dec.actual == pytest.approx(0.0, abs=1e-9 * scale)
    assert dec.title.endswith("2004-2008, compared with Norway")


def test_relative_place_matches_a_manual_computation(mig):
    years = (2005, 2009)
    dd = driver_draws(mig, years)
    national = dd.amounts.sum("place") / dd.base.sum()  # every place has every driver
    rate = dd.rates.sel(place=PLACE)
    expected = ((rate - national) * dd.base.sel(place=PLACE)).transpose("draw", "driver")
    decomposer = Decomposer(mig, years)
    dec = decomposer.decompose(PLACE, relative=True)
    absolute = decomposer.decompose(PLACE)
    np.testing.assert_allclose(dec.draws, expected, rtol=1e-9, atol=1e-9)
    # the relative drivers add up to the change beyond Norway's rate of growth, per draw
    change = dd.totals.sel(total="population change")
    beyond = float(dd.actual.sel(place=PLACE) - change.sum() / dd.base.sum() * dd.base.sel(
        place=PLACE))  # fmt: skip
    assert dec.actual == pytest.approx(beyond)
    np.testing.assert_allclose(dec.draws.sum("driver"), beyond, rtol=1e-9, atol=1e-6)
    table = dec.table.set_index("driver")
    assert table.loc["population change", "median"] == pytest.approx(beyond)
    points = (rate - national).sel(driver="noise").median() * 100
    assert table.loc["noise", "median_pct"] == pytest.approx(float(points))
    # ranks are unchanged by subtracting the same national rate from every place
    np.testing.assert_array_equal(dec.table["national_rank"], absolute.table["national_rank"])
    text = table_text(dec)
    assert "compared with Norway: per draw, the place's rate of each driver minus" in text
    assert "points of base / yr" in text


def test_relative_public_sector_rows(jobs_fit, jobs_table):
    years = (2005, 2008)
    dec = decompose(jobs_fit, "46", years, by="county", jobs=jobs_table, relative=True)
    members = _members(jobs_fit.design.frame, "county", "46")
    state = jobs_table[jobs_table["sector"] == "state"]
    fitted = jobs_fit.design.frame["place"].unique()

    def change_and_base(table):
        level = table.groupby("year")["jobs"].sum().loc[years[0] - 1 : years[1]]
        return level.diff().iloc[1:], level.shift(1).iloc[1:]

    own_change, own_lag = change_and_base(state[state["place"].isin(members)])
    nat_change, nat_lag = change_and_base(state[state["place"].isin(fitted)])
    nat_rate = nat_change.sum() / nat_lag.sum()
    row = dec.table.set_index("driver").loc["state sector"]
    assert row["median"] == pytest.approx(own_change.mean() - nat_rate * own_lag.mean())
    assert row["median_pct"] == pytest.approx(100 * (own_change.sum() / own_lag.sum() - nat_rate))
    public = dec.table[dec.table["group"] == "public sector"]["median"].sum()
    table = dec.table.set_index("driver")
    assert table.loc["total job change", "median"] == pytest.approx(
        table.loc["private job change", "median"] + public
    )


# -- the command: groups and the relative view ----------------------------------------------
def test_decompose_command_county_relative_with_table_and_chart(saved_runs, tmp_path):
    csv, png = tmp_path / "county.csv", tmp_path / "county.png"
    result = CliRunner().invoke(
        app, ["decompose", str(saved_runs / "mig"), "--county", "46", "--relative",
              "--years", "2005:2008", "--csv", str(csv), "--plot", str(png)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Population growth decomposition: county 46 (5 places), 2005-2008, compared with " in (
        result.output
    )
    assert "ranks are among the 11 counties" in result.output
    table = pd.read_csv(csv)
    assert tuple(table.columns) == TABLE_COLUMNS
    assert table["driver"].iloc[-1] == "population change"
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "title"),
    [(["--places", "0301, 1103,4601"], "3 places (0301, 1103, 4601), 2003-2010"),
     (["--class", "6"], "centrality class 6 (10 places), 2003-2010"),
     (["--region", "R1801", "--relative"], "region R1801 (4 places), 2003-2010, compared with")],
)  # fmt: skip
def test_decompose_command_groups(saved_runs, tmp_path, args, title):
    png = tmp_path / "group.png"
    result = CliRunner().invoke(
        app, ["decompose", str(saved_runs / "mig"), *args, "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert f"Population growth decomposition: {title}" in result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_decompose_command_jobs_group_with_public_sector(saved_runs, small_panel_dir):
    result = CliRunner().invoke(
        app, ["decompose", str(saved_runs / "jobs"), "--county", "46", "--relative",
              "--data", str(small_panel_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in ("Job growth decomposition: county 46 (5 places)", "state sector",
                 "total job change", "points of base / yr"):  # fmt: skip
        assert text in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--county", "99"], "--county 99: no such county in the fit; its counties are 03"),
     (["--class", "9"], "--class 9: no such centrality class"),
     (["--places", "0301,9999"], "--places: place '9999' is not in the fit"),
     ([], "choose exactly one of --place, --region, --county, --class, --places"),
     (["--place", PLACE, "--county", "46"], "choose exactly one of")],
)  # fmt: skip
def test_decompose_command_group_errors(saved_runs, args, message):
    result = CliRunner().invoke(app, ["decompose", str(saved_runs / "mig"), *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
