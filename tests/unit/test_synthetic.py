"""The synthetic panel: deterministic, valid, Norway-like, and faithful to its truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrbayes.constants import AGE_GROUPS, INDUSTRIES, PUBLIC_SECTORS
from attrbayes.data import balance_residuals, read_panel
from attrbayes.exceptions import DataError
from attrbayes.features.design import compute_features
from attrbayes.synthetic import SynthConfig, read_truth, synthesize_panel


def test_same_seed_same_panel_and_other_seed_differs():
    a = synthesize_panel(n_places=15, first_year=2000, last_year=2005, seed=11)
    b = synthesize_panel(n_places=15, first_year=2000, last_year=2005, seed=11)
    c = synthesize_panel(n_places=15, first_year=2000, last_year=2005, seed=12)
    for name, table in a.panel.tables.items():
        pd.testing.assert_frame_equal(table, b.panel.tables[name])
    assert not a.panel.tables["population"].equals(c.panel.tables["population"])
    assert a.parameters == b.parameters


def test_population_balances_exactly(small_synthetic):
    residuals = balance_residuals(small_synthetic.panel)
    assert len(residuals) == 40 * 10  # every place, every year with a next 1 January
    assert np.abs(residuals["residual"]).max() == 0


def test_default_panel_is_norway_like(default_synthetic):
    panel = default_synthetic.panel
    places = panel.places
    assert len(places) == 356
    assert places["county"].nunique() == 11
    assert 65 <= places["region"].nunique() <= 80
    assert places["place"].str.fullmatch(r"\d{4}").all()
    assert panel.years == range(2000, 2024)
    size = panel.population_totals()[2020]
    assert size.min() < 500
    assert 600_000 < size["0301"] < 1_000_000
    assert size.idxmax() == "0301"
    assert 4.5e6 < size.sum() < 7.5e6
    assert 600 <= places["centrality"].mean() <= 680
    assert 110 <= places["centrality"].std() <= 170
    assert set(places["centrality_class"]) == {1, 2, 3, 4, 5, 6}
    commuting = panel.table("commuting")
    last = commuting[commuting["year"] == 2023]
    own = last[last["residence"] == last["workplace"]].set_index("residence")["employed"]
    share = own / last.groupby("residence")["employed"].sum()
    assert share.min() < 0.25
    assert share.max() > 0.85
    assert set(panel.table("jobs")["sector"]) == {"private", *PUBLIC_SECTORS}
    assert set(panel.table("jobs_industry")["industry"]) == set(INDUSTRIES)


def test_age_structure_and_vital_rates_are_plausible(default_synthetic):
    panel = default_synthetic.panel
    pop = panel.table("population")
    year = pop[pop["year"] == 2020]
    total = year["population"].sum()
    children = year.loc[year["age"] <= 15, "population"].sum() / total
    elderly = year.loc[year["age"] >= 67, "population"].sum() / total
    assert 0.14 < children < 0.26
    assert 0.10 < elderly < 0.25
    comp = panel.table("components")
    totals = comp.groupby("year")[["births", "deaths"]].sum()
    national = panel.population_totals().sum()
    assert ((totals["births"] / national).between(0.008, 0.016)).all()
    assert ((totals["deaths"] / national).between(0.006, 0.014)).all()


def test_domestic_migration_nets_to_zero_and_groups_add_up(small_synthetic):
    panel = small_synthetic.panel
    comp = panel.table("components")
    assert comp.groupby("year")["net_migration_domestic"].sum().abs().max() == 0
    groups = panel.table("migration_groups").set_index(["place", "year", "sex", "age_group"])
    nm = groups["net_migration"].unstack(["sex", "age_group"])
    ages = list(AGE_GROUPS)
    np.testing.assert_array_equal(
        nm[[("total", a) for a in ages]].sum(axis=1), nm[("total", "all")]
    )
    np.testing.assert_array_equal(nm[("female", "all")] + nm[("male", "all")], nm[("total", "all")])
    total = comp.set_index(["place", "year"])["net_migration"]
    np.testing.assert_array_equal(nm[("total", "all")].reindex(total.index), total)


def test_truth_is_written_and_matches_the_features(small_synthetic, small_panel_dir):
    truth, params = read_truth(small_panel_dir)
    assert set(truth) == {"attractiveness", "years", "places"}
    assert params["vra_t"] == pytest.approx(0.136)
    assert params["seed"] == 7
    features = compute_features(read_panel(small_panel_dir), "municipality").frame
    merged = features.merge(truth["attractiveness"], on=["place", "year"], suffixes=("", "_true"))
    assert len(merged) == 40 * 11
    # DS is computed from the same tables and formula: identical
    np.testing.assert_allclose(merged["ds"], merged["ds_true"], atol=1e-12)
    # VRA differs only by the integer rounding of the written commuting counts
    window = merged.dropna(subset=["vra_t"])
    assert np.abs(window["vra_t"] - window["vra_t_true"]).max() < 0.005


def test_true_centrality_path_follows_immigration(default_synthetic):
    years = default_synthetic.truth["years"]
    corr = np.corrcoef(years["centrality"], years["immigration_rate_assumed"])[0, 1]
    assert corr < -0.5  # the book's 2009-2016 dip
    assert years["centrality"].between(0.0, 0.06).all()


def test_long_history_with_a_mean_reverting_coefficient():
    """From 1980 with an AR(1) coefficient: the truth's deviation from mean + immigration
    link has the configured persistence (lag-1 autocorrelation) and stationary spread,
    and every year of the long history is written."""
    config = SynthConfig(n_places=20, first_year=1980, last_year=2023, seed=3,
                         centrality_process="ar1", centrality_ar_phi=0.6,
                         centrality_ar_sd=0.005)  # fmt: skip
    sp = synthesize_panel(config)
    years = sp.truth["years"]
    assert years["year"].tolist() == list(range(1980, 2024))
    assert sp.panel.population_totals().columns.tolist() == list(range(1980, 2024))
    imm = years["immigration_rate_assumed"].to_numpy()
    deviation = (years["centrality"] - config.centrality_mean
                 - config.centrality_immigration_slope * (imm - imm.mean())).to_numpy()  # fmt: skip
    assert 0.002 < deviation.std() < 0.008
    lag1 = np.corrcoef(deviation[:-1], deviation[1:])[0, 1]
    assert 0.2 < lag1 < 0.9
    assert sp.parameters["centrality_process"] == "ar1"


def test_a_private_sector_never_dies_out():
    """Multiplicative growth would keep a private sector that rounds to zero at zero for
    ever (and the industry effect undefined): with wild business shocks the generator
    still leaves every place at least one private job, and features compute."""
    from attrbayes.features.design import compute_features

    sp = synthesize_panel(n_places=30, first_year=1990, last_year=2010, seed=5,
                          business_ar_sd=0.5, business_municipality_sd=0.3)  # fmt: skip
    jobs = sp.panel.tables["jobs"]
    private = jobs[jobs["sector"] == "private"]
    assert private["jobs"].min() >= 1
    assert (private["jobs"] == 1).any()  # the floor was needed
    compute_features(sp.panel, "municipality")


def test_ols_exact_mode_switches_off_the_hierarchy():
    sp = synthesize_panel(
        SynthConfig.ols_exact(seed=1, n_places=15, first_year=2000, last_year=2005)
    )
    truth = sp.truth
    assert (truth["attractiveness"]["residential"] == 0).all()
    assert truth["years"]["centrality"].nunique() == 1
    assert (truth["years"]["migration_year_effect"] == 0).all()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_places": 5}, "n_places must be between"),
        ({"first_year": 2000, "last_year": 2002}, "at least 5 years"),
        ({"centrality_process": "spline"}, "centrality_process must be one of"),
        ({"centrality_ar_phi": 1.0}, r"centrality_ar_phi must lie in \[0, 1\)"),
    ],
)
def test_bad_config_is_rejected(overrides, message):
    with pytest.raises(DataError, match=message):
        synthesize_panel(**overrides)


def test_write_refuses_to_overwrite(small_synthetic, tmp_path):
    target = tmp_path / "p"
    small_synthetic.write(target)
    with pytest.raises(DataError, match="already exists"):
        small_synthetic.write(target)
    small_synthetic.write(target, overwrite=True)
    assert (target / "truth" / "parameters.toml").is_file()
