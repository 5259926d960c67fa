"""The private job growth equation's data side: relative growth, weights, the supplied
industry effect, the jobs design and kind-aware specs and priors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrbayes.config import load_spec, parse_spec
from attrbayes.data.panel import Panel
from attrbayes.exceptions import MissingTableError, PriorError, SpecError
from attrbayes.features.aggregate import aggregate_rate
from attrbayes.features.design import build_design, compute_features
from attrbayes.features.job_growth import private_base, relative_private_growth
from attrbayes.features.vital import expected_births_deaths
from attrbayes.models.jobs import JobsModel
from attrbayes.priors import load_prior_set, parse_prior_set


def _jobs(rows: list[tuple[str, int, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["place", "year", "sector", "jobs"])


def test_relative_private_growth_by_hand():
    jobs = _jobs(
        [
            ("a", 2000, "private", 100), ("a", 2000, "public", 50),
            ("b", 2000, "private", 300), ("b", 2000, "public", 10),
            ("a", 2001, "private", 110), ("a", 2001, "public", 60),
            ("b", 2001, "private", 300), ("b", 2001, "public", 10),
            ("a", 2002, "total", 200), ("b", 2002, "total", 320),
        ]
    )  # fmt: skip
    out = relative_private_growth(jobs).set_index(["place", "year"])
    # national private growth 2001: 410 / 400 - 1 = 2.5 %
    assert out.loc[("a", 2001), "private_growth"] == pytest.approx(0.10)
    assert out.loc[("a", 2001), "national_private_growth"] == pytest.approx(0.025)
    assert out.loc[("a", 2001), "jg"] == pytest.approx(0.075)
    assert out.loc[("b", 2001), "jg"] == pytest.approx(-0.025)
    assert out.loc[("a", 2001), "private_jobs_lag"] == 100
    # no private split in 2002, no year before 2000: undefined, not zero
    assert out.loc[[("a", 2000), ("a", 2002)], "jg"].isna().all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1, 1e5), min_size=3, max_size=8), st.floats(-0.5, 0.5))
def test_base_weighted_relative_growth_sums_to_zero(levels, change):
    # sum_i J[i,t-1] jg[i,t] = 0: relative growth is relative to the national aggregate
    places = [f"p{i}" for i in range(len(levels))]
    rng = np.random.default_rng(len(levels))
    later = np.array(levels) * (1 + change + rng.uniform(-0.2, 0.2, len(levels)))
    jobs = _jobs(
        [(p, 2000, "private", v) for p, v in zip(places, levels, strict=True)]
        + [(p, 2001, "private", v) for p, v in zip(places, later, strict=True)]
    )
    out = relative_private_growth(jobs)
    year = out[out["year"] == 2001]
    assert (year["jg"] * year["private_jobs_lag"]).sum() == pytest.approx(0, abs=1e-9 * sum(levels))


def test_private_base_falls_back_to_the_same_year_first():
    jobs = _jobs([("a", 2000, "private", 10), ("a", 2001, "private", 20)])
    base = private_base(jobs).set_index("year")["weight"]
    assert base.to_dict() == {2000: 10, 2001: 10}


def test_aggregate_rate_is_a_weighted_mean():
    rates = pd.DataFrame({"place": ["a", "b", "c"], "year": 2001, "r": [0.1, -0.1, 0.3]})
    weights = pd.DataFrame({"place": ["a", "b", "c"], "year": 2001, "weight": [3.0, 1.0, 5.0]})
    out = aggregate_rate(rates, weights, {"a": "G", "b": "G", "c": "H"}, value="r")
    assert out.set_index("place")["r"].to_dict() == pytest.approx({"G": 0.05, "H": 0.3})


def test_expected_births_and_deaths_by_hand():
    pop = pd.DataFrame(
        {"place": "a", "year": 2001, "sex": ["female", "female", "male"], "age": [30, 80, 80],
         "population": [100.0, 50.0, 40.0]}
    )  # fmt: skip
    fert = pd.DataFrame({"year": 2001, "age": [30], "fertility_rate": [0.1]})
    mort = pd.DataFrame(
        {"year": 2001, "sex": ["female", "female", "male"], "age": [30, 80, 80],
         "death_probability": [0.001, 0.05, 0.07]}
    )  # fmt: skip
    row = expected_births_deaths(pop, fert, mort).iloc[0]
    assert row["expected_births"] == pytest.approx(10.0)
    assert row["expected_deaths"] == pytest.approx(0.1 + 2.5 + 2.8)


@pytest.fixture(scope="module")
def features(small_synthetic):
    return compute_features(small_synthetic.panel, "municipality")


def test_jobs_design_uses_private_jobs_as_its_base(features):
    design = build_design(features, load_spec("jobs_2022"))
    assert design.kind == "jobs"
    assert design.size_column == "private_jobs_lag"
    assert design.terms == ("industry_effect", "pop_growth_lag")
    assert design.years == (2003, 2010)  # three years of population growth before
    np.testing.assert_allclose(design.y, design.frame["private_growth"]
                               - design.frame["national_private_growth"])  # fmt: skip


def test_supplied_industry_effect_replaces_jobs_by_industry(small_synthetic, features):
    panel = small_synthetic.panel
    computed = features.frame.set_index(["place", "year"])["industry_effect"].dropna()
    supplied = computed.rename("industry_effect").reset_index()
    tables = {k: v for k, v in panel.tables.items() if k != "jobs_industry"}
    tables["industry_effect"] = supplied
    alt = Panel.from_tables(panel.manifest, tables)
    got = compute_features(alt, "municipality").frame.set_index(["place", "year"])
    pd.testing.assert_series_equal(got["industry_effect"].dropna(), computed, check_names=False)
    # at region level the supplied rates are averaged with private-job weights
    region = compute_features(alt, "region").frame.dropna(subset=["industry_effect"])
    shift_share = compute_features(panel, "region").frame.set_index(["place", "year"])
    both = region.set_index(["place", "year"])["industry_effect"]
    np.testing.assert_allclose(both, shift_share.loc[both.index, "industry_effect"], atol=2e-3)


def test_jobs_terms_need_their_tables(small_synthetic):
    panel = small_synthetic.panel
    tables = {k: v for k, v in panel.tables.items() if k != "jobs_industry"}
    features = compute_features(Panel.from_tables(panel.manifest, tables), "municipality")
    with pytest.raises(MissingTableError, match="'jobs_industry' or 'industry_effect'"):
        build_design(features, load_spec("jobs_2022"))


def test_specs_check_terms_against_their_kind():
    with pytest.raises(SpecError, match=r"unknown term\(s\) \['vra_t'\] for kind 'jobs'"):
        parse_spec('kind = "jobs"\nterms = ["vra_t"]', name="x", where="x.toml")
    with pytest.raises(SpecError, match=r"key 'terms'.*for kind 'migration'"):
        parse_spec('terms = ["industry_effect"]', name="x", where="x.toml")


def test_prior_sets_are_for_one_kind(features):
    jobs = load_prior_set(kind="jobs")
    assert jobs.name == "jobs_weakly_informative"
    assert jobs.kind == "jobs"
    assert "industry_effect" in jobs.priors
    assert "vra_t" not in jobs.priors
    assert jobs.provenance["source"]
    with pytest.raises(SpecError, match="is for the migration model"):
        JobsModel(build_design(features, load_spec("jobs_2022")), load_spec("jobs_2022"),
                  load_prior_set("weakly_informative"))  # fmt: skip
    text = jobs.source_text.replace('kind = "jobs"', 'kind = "rent"')
    with pytest.raises(PriorError, match="kind must be one of"):
        parse_prior_set(text, name="x", where="x.toml")


def test_jobs_model_refuses_immigration_and_migration_designs(features):
    spec = load_spec("jobs_2022")
    design = build_design(features, spec)
    bad = spec.model_copy(
        update={"time_varying": spec.time_varying.model_copy(update={"immigration": True})}
    )
    with pytest.raises(SpecError, match="immigration belongs to the migration model"):
        JobsModel(design, bad)
    migration = build_design(features, load_spec("migration_2019"))
    with pytest.raises(SpecError, match="migration design"):
        JobsModel(migration, spec)
