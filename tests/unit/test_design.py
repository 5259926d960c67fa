"""The design builder: levels, year windows, term selection and clear refusals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from attrbayes.config import load_spec
from attrbayes.data.panel import Panel
from attrbayes.exceptions import DataError, MissingTableError
from attrbayes.features.design import build_design, compute_features, level_data


@pytest.fixture(scope="module")
def municipal(small_synthetic):
    return compute_features(small_synthetic.panel, "municipality")


@pytest.fixture(scope="module")
def regional(small_synthetic):
    return compute_features(small_synthetic.panel, "region")


def test_default_window_starts_when_all_lags_exist(municipal):
    design = build_design(municipal, load_spec("migration_2022"))
    # jobs from 2000: RA from 2001, VRA lag 2 from 2003; components through 2010
    assert design.years == (2003, 2010)
    assert design.n == 40 * 8
    assert list(design.matrix().columns) == [
        "intercept", "vra_t", "vra_t1", "vra_t2", "centrality", "ds"
    ]  # fmt: skip
    assert design.frame[["y", *design.terms]].notna().all().all()


def test_years_without_terms_are_left_out_with_reasons(municipal):
    design = build_design(municipal, load_spec("migration_2022"), years=(2001, 2005))
    # the window shrinks to the fitted years; the years asked for say why they are not
    assert design.years == (2003, 2005)
    assert design.gaps == ()
    reasons = dict(design.left_out)
    assert sorted(reasons) == [2001, 2002]
    assert "vra_t1 missing for 40 of 40 units" in reasons[2001]
    # a term ending in "y" keeps its name (the dependent variable is named in words)
    features = municipal.frame.assign(
        centrality=np.where(municipal.frame["year"] == 2004, np.nan, municipal.frame["centrality"])
    )
    gapped = build_design(dataclasses.replace(municipal, frame=features),
                          load_spec("migration_2019"), years=(2003, 2005))  # fmt: skip
    assert dict(gapped.left_out)[2004] == "centrality missing for 40 of 40 units"
    assert "vra_t2 missing" in reasons[2002]
    assert "vra_t1" not in reasons[2002]
    tail = build_design(municipal, load_spec("migration_jobs"), years=(2008, 2012))
    assert tail.years == (2008, 2010)
    assert dict(tail.left_out) == {2011: "no data for this year in the panel",
                                   2012: "no data for this year in the panel"}  # fmt: skip
    assert "left out 2011-2012: no data" in tail.left_out_text()
    with pytest.raises(DataError, match=r"no year in 1990-2000 .* Available: 2003-2010"):
        build_design(municipal, load_spec("migration_jobs"), years=(1990, 2000))


def test_subset_of_years(municipal):
    design = build_design(municipal, load_spec("migration_jobs"), years=(2004, 2006))
    assert sorted(design.frame["year"].unique()) == [2004, 2005, 2006]


def test_job_only_centrality_variant(municipal):
    full = build_design(municipal, load_spec("migration_2019"))
    jobs = build_design(municipal, load_spec("migration_2019_jobcent"))
    np.testing.assert_allclose(jobs.frame["centrality"], municipal.frame.loc[
        municipal.frame["year"].between(2003, 2010), "centrality_jobs"
    ])  # fmt: skip
    assert not np.allclose(full.frame["centrality"], jobs.frame["centrality"])


def test_region_level_counts_are_sums_of_members(small_synthetic, regional):
    panel = small_synthetic.panel
    data = level_data(panel, "region")
    by_region = panel.population_totals().groupby(panel.places.set_index("place")["region"]).sum()
    pd.testing.assert_frame_equal(
        data.population_totals().sort_index(), by_region.sort_index(), check_names=False
    )
    comp = data.tables["components"].groupby("year")["net_migration"].sum()
    np.testing.assert_allclose(
        comp, panel.table("components").groupby("year")["net_migration"].sum()
    )
    assert set(regional.frame["place"]) == set(panel.places["region"])


def test_region_centrality_is_population_weighted(small_synthetic):
    panel = small_synthetic.panel
    units = level_data(panel, "region").units.set_index("place")
    places = panel.places.set_index("place")
    weight = panel.population_totals().mean(axis=1)
    region = places["region"].iloc[0]
    members = places.index[places["region"] == region]
    expected = (places.loc[members, "centrality"] * weight[members]).sum() / weight[members].sum()
    assert units.loc[region, "centrality"] == pytest.approx(expected)


def test_missing_tables_are_named(small_synthetic):
    tables = {k: v for k, v in small_synthetic.panel.tables.items() if k != "commuting"}
    panel = Panel.from_tables(small_synthetic.panel.manifest, tables)
    features = compute_features(panel, "municipality")
    with pytest.raises(MissingTableError, match="'commuting'"):
        build_design(features, load_spec("migration_jobs"))
    assert "ds" not in features.missing  # DS needs no commuting
    no_places_cols = small_synthetic.panel.places.drop(columns=["centrality_jobs"])
    full = dict(small_synthetic.panel.tables)
    panel = Panel.from_tables(small_synthetic.panel.manifest, {**full, "places": no_places_cols})
    with pytest.raises(MissingTableError, match="centrality_jobs"):
        build_design(compute_features(panel, "county"), load_spec("migration_2019_jobcent"))
    bare = Panel.from_tables(
        small_synthetic.panel.manifest,
        {k: small_synthetic.panel.tables[k] for k in ("places", "population")},
    )
    with pytest.raises(MissingTableError, match="components"):
        compute_features(bare, "municipality")


def test_subpopulation_total_equals_the_whole(municipal):
    spec = load_spec("migration_jobs")
    whole = build_design(municipal, spec)
    total = build_design(municipal, spec, subpopulation=("total", "all"))
    # the group 'total/all' is everyone, and its national rate is the immigration rate
    np.testing.assert_allclose(total.y, whole.y, atol=1e-12)
    young = build_design(municipal, spec, subpopulation=("female", "18-29"))
    assert young.label == "female 18-29"
    assert np.std(young.y) > np.std(whole.y)  # small groups are noisier


def test_a_jobs_series_break_leaves_vra_undefined_for_three_years(small_synthetic):
    import dataclasses

    panel = small_synthetic.panel
    manifest = dataclasses.replace(panel.manifest, series_breaks={"jobs": (2006,)})
    broken = compute_features(Panel.from_tables(manifest, panel.tables), "municipality").frame
    whole = compute_features(panel, "municipality").frame
    by_year = broken.groupby("year")[["vra_t", "vra_t1", "vra_t2"]].apply(lambda f: f.isna().all())
    assert by_year.loc[2006].tolist() == [True, False, False]
    assert by_year.loc[2007].tolist() == [False, True, False]
    assert by_year.loc[2008].tolist() == [False, False, True]
    assert not by_year.loc[2009].any()
    # other years are untouched by the break
    keep = ~broken["year"].between(2006, 2008)
    pd.testing.assert_frame_equal(broken[keep], whole[keep])
    # the default window fits every year with all terms: the break's years are a gap
    design = build_design(compute_features(Panel.from_tables(manifest, panel.tables)),
                          load_spec("migration_2019"))  # fmt: skip
    assert design.years == (2003, 2010)
    assert design.gaps == (2006, 2007, 2008)
    assert design.fitted_years.tolist() == [2003, 2004, 2005, 2009, 2010]
    assert design.years_text() == "2003-2010 without 2006-2008"
    assert "the jobs series breaks at 2006" in dict(design.left_out)[2007]
    # the national rate is known in the gap years too (the immigration link needs it)
    assert not np.isnan(design.national_rates()).any()
    assert len(design.national_rates()) == 8
    part = design.subset_years(2004, 2009)
    assert part.years == (2004, 2009)
    assert part.gaps == (2006, 2007, 2008)
    np.testing.assert_allclose(part.national_rates(), design.national_rates()[1:7])


def test_prefer_jobs_falls_back_to_the_full_index_with_a_note(small_synthetic, municipal):
    spec = load_spec("migration_2022")
    assert spec.centrality == "prefer_jobs"
    with_jobs = build_design(municipal, spec)
    assert with_jobs.notes == ()
    np.testing.assert_allclose(with_jobs.frame["centrality"], municipal.frame.loc[
        municipal.frame["year"].between(2003, 2010), "centrality_jobs"
    ])  # fmt: skip
    panel = small_synthetic.panel
    places = panel.tables["places"].drop(columns="centrality_jobs")
    bare = compute_features(Panel.from_tables(panel.manifest, {**panel.tables,
                                                               "places": places}))  # fmt: skip
    full = build_design(bare, spec)
    np.testing.assert_allclose(full.frame["centrality"], bare.frame.loc[
        bare.frame["year"].between(2003, 2010), "centrality"
    ])  # fmt: skip
    assert "full SSB index stands in" in full.left_out_text()
    strict = load_spec("migration_2019_jobcent")
    with pytest.raises(MissingTableError, match="centrality_jobs"):
        build_design(bare, strict)
