"""The real panel: hand-computed demography helpers, and the builder on ../shared/data/raw
(known SSB values, accounting identities, the replication of the published model)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrbayes.data.real import (
    JOBS_SPLICE,
    RAW_FILES,
    build_real_panel,
    death_probabilities,
    estimate_births_deaths,
    rake_to_natural_increase,
    residual_method_error,
)
from attrbayes.exceptions import DataError
from attrbayes.features.design import compute_features
from attrbayes.reporting.replication import replication_table


# ---------------------------------------------------------------------------------------
# hand-computed small cases
# ---------------------------------------------------------------------------------------
def test_death_probabilities_from_central_rates():
    hmd = pd.DataFrame(
        {
            "Year": [2010] * 5,
            "Age": [0, 1, 105, 110, 0],
            "Sex": ["Female", "Female", "Female", "Female", "Total"],
            "Deaths": [3.0, 1.0, 5.0, 3.0, 9.0],
            "Population": [1000.0, 2000.0, 10.0, 6.0, 9.0],
        }
    )
    q = death_probabilities(hmd).set_index(["sex", "age"])["death_probability"]
    assert q[("female", 0)] == pytest.approx(0.003 / (1 + 0.9 * 0.003))  # a0 = 0.1
    assert q[("female", 1)] == pytest.approx(0.0005 / (1 + 0.5 * 0.0005))
    assert q[("female", 105)] == 1.0  # ages 105-110 pooled into the open group
    assert "total" not in q.index.get_level_values("sex")


def _population(rows: list[tuple[str, int, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["place", "year", "sex", "age", "population"])


def test_births_and_deaths_are_scaled_to_the_national_totals():
    pop = _population(
        [
            ("0001", 2010, "female", 0, 10), ("0001", 2010, "male", 50, 100),
            ("0002", 2010, "female", 0, 30), ("0002", 2010, "male", 50, 300),
            ("0001", 2011, "female", 0, 12), ("0001", 2011, "male", 50, 90),
            ("0002", 2011, "female", 0, 36), ("0002", 2011, "male", 50, 280),
        ]
    )  # fmt: skip
    q = pd.DataFrame(
        {"year": 2010, "sex": ["female", "male"], "age": [0, 50], "death_probability": [0.0, 0.1]}
    )
    national = pd.DataFrame({"year": [2010], "births": [50.0], "deaths": [20.0]})
    est = estimate_births_deaths(pop, q, national).set_index("place")
    # infants on 1 Jan 2011 are 12 and 36: births 50 split 1:3
    assert est.loc["0001", "births"] == pytest.approx(12.5)
    assert est.loc["0002", "births"] == pytest.approx(37.5)
    # expected deaths 10 and 30 at q = 0.1, scaled to 20
    assert est.loc["0001", "deaths"] == pytest.approx(5.0)
    assert est.loc["0002", "deaths"] == pytest.approx(15.0)
    assert est["year"].tolist() == [2010, 2010]  # 2011 has no next year


def test_raking_meets_the_observed_natural_increase():
    est = pd.DataFrame(
        {"place": ["a", "b"], "year": 2010, "births": [30.0, 1.0], "deaths": [10.0, 1.0]}
    )
    ni = pd.Series([30.0, -3.0], index=pd.MultiIndex.from_tuples([("a", 2010), ("b", 2010)]))
    out = rake_to_natural_increase(est, ni).set_index("place")
    # a: gap 10 shared 30:10 -> births 37.5, deaths 7.5
    assert out.loc["a", ["births", "deaths"]].tolist() == pytest.approx([37.5, 7.5])
    # b: proportional sharing would give births -0.5; fallback births 0, deaths 3
    assert out.loc["b", ["births", "deaths"]].tolist() == pytest.approx([0.0, 3.0])


@settings(max_examples=200, deadline=None)
@given(
    births=st.floats(0, 1e4),
    deaths=st.floats(0, 1e4),
    ni=st.floats(-1e4, 1e4),
)
def test_raking_keeps_the_identity_and_non_negative_counts(births, deaths, ni):
    est = pd.DataFrame({"place": ["x"], "year": [2010], "births": [births], "deaths": [deaths]})
    observed = pd.Series([ni], index=pd.MultiIndex.from_tuples([("x", 2010)]))
    out = rake_to_natural_increase(est, observed).iloc[0]
    assert out["births"] - out["deaths"] == pytest.approx(ni, abs=1e-6)
    assert out["births"] >= -1e-9
    assert out["deaths"] >= -1e-9


def test_residual_method_error_by_hand():
    est = pd.DataFrame(
        {"place": ["a", "b"], "year": 2010, "births": [10.0, 5.0], "deaths": [4.0, 5.0]}
    )
    obs = pd.DataFrame(
        {"place": ["a", "b"], "year": 2010, "natural_increase": [8.0, -2.0],
         "net_migration": [10.0, -10.0]}
    )  # fmt: skip
    pop = pd.Series([1000.0, 500.0], index=pd.MultiIndex.from_tuples([("a", 2010), ("b", 2010)]))
    row = residual_method_error(est, obs, pop).set_index("year").loc["all"]
    # errors: a 8 - 6 = 2 persons (0.2 pp), b -2 - 0 = -2 persons (-0.4 pp)
    assert row["mean_abs_error_persons"] == pytest.approx(2.0)
    assert row["mean_abs_error_pp"] == pytest.approx(0.3)
    assert row["bias_pp"] == pytest.approx(-0.1)


def test_missing_raw_file_names_the_file_and_its_purpose(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(DataError, match=r"municip_redistricting.*not found.*code changes"):
        build_real_panel(tmp_path / "raw")
    with pytest.raises(DataError, match=r"structure must be one of"):
        build_real_panel(tmp_path / "raw", "2019")


# ---------------------------------------------------------------------------------------
# the builder on the real raw files
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real2020(shared_raw):
    return build_real_panel(shared_raw, "2020")


@pytest.fixture(scope="module")
def real2017(shared_raw):
    return build_real_panel(shared_raw, "2017")


@pytest.mark.parametrize("fixture", ["real2020", "real2017"])
def test_known_ssb_values(request, fixture):
    panel, _ = request.getfixturevalue(fixture)
    totals = panel.population_totals()
    assert totals.loc["0301", 2016] == pytest.approx(658_390)  # Oslo, 1 January 2016
    assert totals[2016].sum() == pytest.approx(5_213_985)
    jobs = panel.tables["jobs"]
    assert jobs.loc[jobs["year"] == 2016, "jobs"].sum() == pytest.approx(2_575_644)


def test_the_2020_structure(real2020, shared_raw):
    panel, report = real2020
    assert len(panel.place_codes) == 356
    assert panel.places["region"].nunique() == 85
    # SSB's 1 January 2020 figure; csdata's (revised) municipal series sum 22 more
    assert panel.population_totals()[2020].sum() == pytest.approx(5_367_580, abs=50)
    assert panel.manifest.series_breaks == {"jobs": (JOBS_SPLICE,)}
    assert panel.places.set_index("place").loc["0301", "centrality"] == 1000
    ssb = pd.read_csv(shared_raw / RAW_FILES["jobs_ssb"][0])
    jobs = panel.tables["jobs"]
    for year in (2017, 2022):
        expected = ssb.loc[ssb["year"] == year, "employed_15_74_by_workplace"].sum()
        assert jobs.loc[jobs["year"] == year, "jobs"].sum() == pytest.approx(expected)
    assert "jobs_industry" in report.missing
    assert "employment_rates" not in report.missing


def test_the_employment_schedule_gives_ds(real2020):
    panel, report = real2020
    rates = panel.tables["employment_rates"]
    assert sorted(set(rates["year"])) == list(panel.manifest.years)
    assert rates["employment_rate"].between(0, 1).all()
    assert any("employment schedule: 15-74 male 2014 reproduces AKU 70.9 %" in n
               for n in report.notes)  # fmt: skip
    frame = compute_features(panel, "region").frame
    ds = frame.loc[frame["year"].between(2006, 2016), "ds"]
    assert ds.notna().all()
    assert 0.001 < ds.std() < 0.01  # per job, relative to the nation


def test_sectors_private_and_public_then_total(real2020):
    jobs = real2020[0].tables["jobs"]
    sectors = jobs.groupby("year")["sector"].agg(lambda s: tuple(sorted(set(s))))
    assert sectors[2016] == ("private", "public")
    assert sectors[2017] == ("total",)
    assert (jobs["jobs"] >= 0).all()


def test_commuting_totals_survive_harmonisation(real2020, shared_raw):
    com = real2020[0].tables["commuting"]
    raw = pd.read_csv(shared_raw / RAW_FILES["commuting"][0])
    for year in (2017, 2022):
        expected = raw.loc[raw["year"] == year, "employed"].sum()
        assert com.loc[com["year"] == year, "employed"].sum() == pytest.approx(expected)


def test_net_migration_adds_up_to_the_nation(real2020, shared_raw):
    comp = real2020[0].tables["components"].groupby("year").sum(numeric_only=True)
    nat = pd.read_csv(shared_raw / RAW_FILES["national"][0]).set_index("year")
    pop = real2020[0].population_totals().sum()
    # residual years: births and deaths are scaled to HMD, so the nation's residual returns
    # (up to csdata's municipal series summing up to ~50 persons off its national series)
    for year in range(2017, 2023):
        assert comp.loc[year, "births"] == pytest.approx(nat.loc[year, "live_births_hmd"])
        assert comp.loc[year, "deaths"] == pytest.approx(nat.loc[year, "deaths_hmd"])
        change = pop[year + 1] - pop[year]
        assert comp.loc[year, "net_migration"] == pytest.approx(
            change - comp.loc[year, "births"] + comp.loc[year, "deaths"]
        )
        assert comp.loc[year, "net_migration"] == pytest.approx(
            nat.loc[year, "net_migration_residual"], abs=100
        )
    # Telemarksforsking's years: growth - natural increase, from rounded %; SSB's
    # published national figures include register corrections (SOURCES.md 13)
    for year in range(2005, 2017):
        assert comp.loc[year, "net_migration"] == pytest.approx(
            nat.loc[year, "net_migration_residual"], abs=500
        )


def test_population_balance_is_exact_where_net_migration_is_a_residual(real2020):
    from attrbayes.data.panel import balance_residuals

    res = balance_residuals(real2020[0])
    assert res.loc[res["year"] >= 2017, "residual"].abs().max() < 1e-6
    early = res.loc[res["year"] < 2017, "residual"].abs()
    assert early.max() <= real2020[0].manifest.balance_tolerance["persons"]


def test_residual_method_error_is_small_next_to_the_signal(real2020):
    overall = real2020[1].residual_method.set_index("year").loc["all"]
    assert overall["places"] == 356 * 12
    assert overall["mean_abs_error_pp"] < 0.3
    assert overall["mean_abs_error_pp"] < overall["sd_observed_nm_pp"] / 4
    assert overall["corr_nm"] > 0.95


def test_vra_is_undefined_across_the_jobs_splice(real2020):
    frame = compute_features(real2020[0], "municipality").frame
    vra = frame[["vra_t", "vra_t1", "vra_t2"]]
    for year in (2017, 2018, 2019):
        assert vra[frame["year"] == year].isna().any(axis=1).all()
    assert vra[frame["year"].between(2006, 2016)].notna().all().all()
    assert vra[frame["year"] == 2022].notna().all().all()


def test_the_2017_structure_keeps_telemarksforsking_units(real2017):
    panel, report = real2017
    assert len(panel.place_codes) == 426
    assert panel.places["region"].nunique() == 85
    assert sorted(set(panel.tables["population"]["year"])) == list(range(2005, 2018))
    assert any("age-sex shares" in note for note in report.notes)


def test_the_2024_structure_splits_only_alesund(shared_raw, real2020):
    panel24, report = build_real_panel(shared_raw, "2024")
    panel20 = real2020[0]
    assert len(panel24.place_codes) == 357
    pop24, pop20 = panel24.population_totals(), panel20.population_totals()
    pair = pop24.loc[["1508", "1580"], 2010].sum()
    assert pair == pytest.approx(pop20.loc["1507", 2010])
    assert pop24.loc["1508", 2010] / pair == pytest.approx(58_509 / (58_509 + 9_357))
    assert pop24.loc["1580", 2024] == 9_357  # SSB's own from 2024
    assert pop24[2016].sum() == pytest.approx(pop20[2016].sum())
    assert any("1508 Ålesund and 1580 Haram" in note for note in report.notes)


def test_replication_of_the_published_model_at_region_level(real2017):
    result = replication_table([compute_features(real2017[0], "region")])
    assert result.windows == {"region": "2006-2016"}
    table = result.table.set_index(["spec", "term"])
    row = table.loc["migration_2019"]
    assert row.loc["n", "region_estimate"] == 85 * 11
    # same signs and magnitudes as the book's 2003-2021 estimates
    for term in ("vra_t", "vra_t1", "vra_t2"):
        assert abs(row.loc[term, "region_diff"]) < 0.03
    assert 0.012 < row.loc["centrality", "region_estimate"] < 0.03
    assert row.loc["r2_adj", "region_estimate"] > 0.35
    # the job-only centrality index is not public: the 2019 variant that insists on it
    # cannot run, the 2022 model runs with the full index standing in and DS
    assert set(result.unavailable) == {"migration_2019_jobcent"}
    ds = table.loc[("migration_2022", "ds")]
    assert ds["region_estimate"] + 2 * ds["region_se"] < 0


def test_industry_effect_is_relative_to_the_nation(real2020):
    panel = real2020[0]
    ie = panel.tables["industry_effect"]
    assert sorted(set(ie["year"])) == list(range(2003, 2017))
    assert ie.groupby("year")["place"].nunique().eq(356).all()
    features = compute_features(panel, "municipality").frame
    rows = features.dropna(subset=["industry_effect", "private_jobs_lag"])
    weighted = (rows["industry_effect"] * rows["private_jobs_lag"]).groupby(rows["year"]).sum()
    share = weighted / rows.groupby("year")["private_jobs_lag"].sum()
    # a shift-share effect weighted by private jobs is about zero every year
    assert share.abs().max() < 0.002
    # the job equation's window: three years of population growth from 2005 -> 2008-2016
    design_years = rows.dropna(subset=["jg", "pop_growth_lag"])["year"]
    assert (design_years.min(), design_years.max()) == (2008, 2016)
