"""Relative job growth, commuting weights, VRA and aggregation (MODEL.md 2.1)."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from attrbayes.exceptions import DataError
from attrbayes.features import (
    CommutingWeights,
    aggregate_commuting,
    aggregate_places,
    commuting_weight_matrices,
    commuting_weights,
    relative_growth,
    relative_job_growth,
    vra_lags,
    weighted_growth,
)

PLACES = ["0101", "0202", "0303"]
YEARS = [2000, 2001, 2002]

# Total jobs (private + municipal) at the workplace:
#            2000  2001  2002
#   0101      100   110   121
#   0202      200   200   220
#   0303      100    90    90
#   national  400   400   431
# National growth: 2001: 0; 2002: 431/400 - 1 = 0.0775.
# RA 2001: 0101 +0.10, 0202 0, 0303 -0.10
# RA 2002: 0101 0.10 - 0.0775 = 0.0225, 0202 0.0225, 0303 0 - 0.0775 = -0.0775
TOTALS = {"0101": [100, 110, 121], "0202": [200, 200, 220], "0303": [100, 90, 90]}
RA_2001 = [0.10, 0.0, -0.10]
RA_2002 = [0.0225, 0.0225, -0.0775]

# Commuting (employed residents; rows = residence, columns = workplace):
#            0101 0202 0303   -> weights
#   0101       60   30   10      0.60 0.30 0.10
#   0202        0   80   20      0.00 0.80 0.20
#   0303       25   25   50      0.25 0.25 0.50
COUNTS = np.array([[60.0, 30.0, 10.0], [0.0, 80.0, 20.0], [25.0, 25.0, 50.0]])
W = np.array([[0.6, 0.3, 0.1], [0.0, 0.8, 0.2], [0.25, 0.25, 0.5]])
# VRA 2001: 0101 = .6*.1 + .3*0 + .1*(-.1)            =  0.05
#           0202 = 0 + .8*0 + .2*(-.1)                = -0.02
#           0303 = .25*.1 + .25*0 + .5*(-.1)          = -0.025
# VRA 2002: 0101 = .6*.0225 + .3*.0225 + .1*(-.0775)  =  0.02025 - 0.00775 = 0.0125
#           0202 = .8*.0225 + .2*(-.0775)             =  0.018 - 0.0155   = 0.0025
#           0303 = .25*.0225 + .25*.0225 + .5*(-.0775) = 0.01125 - 0.03875 = -0.0275
VRA_2001 = [0.05, -0.02, -0.025]
VRA_2002 = [0.0125, 0.0025, -0.0275]


def _jobs_table() -> pd.DataFrame:
    rows = []
    for place, totals in TOTALS.items():
        for year, total in zip(YEARS, totals, strict=True):
            rows.append((place, year, "private", total - 10.0))
            rows.append((place, year, "municipal", 10.0))
    return pd.DataFrame(rows, columns=["place", "year", "sector", "jobs"])


def _commuting_table(years=(2000, 2001, 2002), counts=COUNTS) -> pd.DataFrame:
    rows = [
        (year, PLACES[i], PLACES[j], counts[i, j])
        for year in years
        for i in range(3)
        for j in range(3)
        if counts[i, j] > 0
    ]
    return pd.DataFrame(rows, columns=["year", "residence", "workplace", "employed"])


# -- array level --------------------------------------------------------------------------


def test_relative_growth_hand_computed():
    levels = np.array([TOTALS[p] for p in PLACES], dtype=float)
    ra = relative_growth(levels)
    assert ra.shape == (3, 3)
    assert np.isnan(ra[:, 0]).all()
    np.testing.assert_allclose(ra[:, 1], RA_2001, atol=1e-12)
    np.testing.assert_allclose(ra[:, 2], RA_2002, atol=1e-12)


def test_relative_growth_zero_base_is_nan_at_array_level():
    levels = np.array([[0.0, 10.0], [100.0, 100.0]])
    ra = relative_growth(levels)
    assert np.isnan(ra[0, 1])
    # national growth 110/100 - 1 = 0.1, so place 2 has 0 - 0.1
    assert ra[1, 1] == pytest.approx(-0.1)


def test_commuting_weights_rows_normalised():
    np.testing.assert_allclose(commuting_weights(COUNTS), W)


def test_commuting_weights_zero_row_names_row_index():
    counts = COUNTS.copy()
    counts[1] = 0.0
    with pytest.raises(DataError, match=r"row index \[1\]"):
        commuting_weights(counts)


def test_weighted_growth_hand_computed_static_and_per_year():
    ra = np.column_stack([np.full(3, np.nan), RA_2001, RA_2002])
    vra = weighted_growth(W, ra)
    assert np.isnan(vra[:, 0]).all()
    np.testing.assert_allclose(vra[:, 1], VRA_2001, atol=1e-12)
    np.testing.assert_allclose(vra[:, 2], VRA_2002, atol=1e-12)
    # Per-year weights: identity in 2002 gives VRA = RA there.
    per_year = np.stack([W, W, np.eye(3)])
    vra = weighted_growth(per_year, ra)
    np.testing.assert_allclose(vra[:, 1], VRA_2001, atol=1e-12)
    np.testing.assert_allclose(vra[:, 2], RA_2002, atol=1e-12)


def test_weighted_growth_nan_only_where_needed():
    ra = np.array([[0.1], [np.nan], [-0.1]])
    vra = weighted_growth(W, ra)
    # 0101 and 0202 (row 0, 1) commute to 0202 whose RA is missing; 0303 row does too.
    assert np.isnan(vra).all()
    w = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    vra = weighted_growth(w, ra)
    assert vra[0, 0] == pytest.approx(0.0)  # .5*.1 + .5*(-.1); zero weight on the NaN
    assert np.isnan(vra[1, 0])
    assert vra[2, 0] == pytest.approx(-0.1)


def test_weighted_growth_shape_mismatch():
    with pytest.raises(DataError, match="weights must have shape"):
        weighted_growth(np.eye(2), np.zeros((3, 2)))


# -- table level --------------------------------------------------------------------------


def test_relative_job_growth_all_sectors():
    ra = relative_job_growth(_jobs_table())
    assert list(ra.index) == PLACES
    assert list(ra.columns) == YEARS
    assert ra.index.name == "place"
    assert ra[2000].isna().all()
    np.testing.assert_allclose(ra[2001], RA_2001, atol=1e-12)
    np.testing.assert_allclose(ra[2002], RA_2002, atol=1e-12)


def test_relative_job_growth_selected_sectors():
    # Municipal jobs are 10 everywhere every year, so municipal RA is 0.
    ra = relative_job_growth(_jobs_table(), sectors=["municipal"])
    np.testing.assert_allclose(ra[[2001, 2002]].to_numpy(), 0.0, atol=1e-12)
    # Private 2000 -> 2001: 90 -> 100, 190 -> 190, 90 -> 80; national 370 -> 370.
    ra = relative_job_growth(_jobs_table(), sectors=["private"])
    np.testing.assert_allclose(ra[2001], [10 / 90, 0.0, -10 / 90], atol=1e-12)


def test_relative_job_growth_zero_base_names_place_year():
    jobs = _jobs_table()
    jobs.loc[(jobs["place"] == "0303") & (jobs["year"] == 2001), "jobs"] = 0.0
    with pytest.raises(DataError, match=r"0 jobs.*\('0303', 2002\)"):
        relative_job_growth(jobs)


def test_relative_job_growth_unknown_sector():
    with pytest.raises(DataError, match="state"):
        relative_job_growth(_jobs_table(), sectors=["state"])


def test_relative_job_growth_non_consecutive_years():
    jobs = _jobs_table()
    jobs = jobs[jobs["year"] != 2001]
    with pytest.raises(DataError, match=r"not consecutive.*2001"):
        relative_job_growth(jobs)


def test_relative_job_growth_missing_place_year():
    jobs = _jobs_table()
    jobs = jobs[~((jobs["place"] == "0202") & (jobs["year"] == 2002))]
    with pytest.raises(DataError, match=r"\('0202', 2002\)"):
        relative_job_growth(jobs)


def test_relative_job_growth_missing_column():
    with pytest.raises(DataError, match=r"jobs table has no column\(s\) \['sector'\]"):
        relative_job_growth(_jobs_table().drop(columns="sector"))


def test_commuting_weight_matrices_hand_computed():
    weights = commuting_weight_matrices(_commuting_table(), PLACES, YEARS)
    assert sorted(weights) == YEARS
    w = weights[2001]
    assert w.places == tuple(PLACES)
    assert w.year == 2001
    assert w.matrix.nnz == 8  # the one pair without commuters is not stored
    frame = w.to_frame()
    assert list(frame.index) == PLACES
    assert list(frame.columns) == PLACES
    assert frame.index.name == "residence"
    assert frame.columns.name == "workplace"
    np.testing.assert_allclose(frame.to_numpy(), W)
    np.testing.assert_allclose(w.column("0202"), W[:, 1])
    # Places given in another order reorder rows and columns.
    order = ["0303", "0101", "0202"]
    w = commuting_weight_matrices(_commuting_table(), order, [2001])[2001]
    assert w.share("0101", "0202") == pytest.approx(0.3)
    assert w.share("0303", "0303") == pytest.approx(0.5)
    np.testing.assert_allclose(w.aligned(PLACES).toarray(), W)


def test_commuting_weight_matrices_nearest_year_rule():
    # Available 2000, 2002, 2005, each with a different own-place matrix signature.
    tables = []
    for year, own in ((2000, 1.0), (2002, 2.0), (2005, 3.0)):
        counts = np.eye(3) * own + 1.0
        tables.append(_commuting_table(years=(year,), counts=counts))
    commuting = pd.concat(tables, ignore_index=True)
    # own share = (own + 1) / (own + 3): 2000 -> 2/4, 2002 -> 3/5, 2005 -> 4/6
    share = {2000: 0.5, 2002: 0.6, 2005: 4 / 6}
    expected_source = {
        1990: 2000,  # before the first year
        2000: 2000,  # exact
        2001: 2000,  # tie between 2000 and 2002 -> earlier
        2003: 2002,  # 2002 is 1 away, 2005 is 2 away
        2004: 2005,  # 2005 is 1 away
        2010: 2005,  # after the last year
    }
    weights = commuting_weight_matrices(commuting, PLACES, list(expected_source))
    for year, source in expected_source.items():
        assert weights[year].share("0101", "0101") == pytest.approx(share[source]), year
        assert weights[year].year == source


def test_commuting_weight_matrices_no_residents_names_place():
    counts = COUNTS.copy()
    counts[2] = 0.0
    with pytest.raises(DataError, match=r"no employed residents for places \['0303'\]"):
        commuting_weight_matrices(_commuting_table(counts=counts), PLACES, [2001])


def test_commuting_weight_matrices_unknown_code():
    commuting = _commuting_table()
    commuting.loc[0, "workplace"] = "9999"
    with pytest.raises(DataError, match="9999"):
        commuting_weight_matrices(commuting, PLACES, [2000])


def test_vra_lags_hand_computed():
    ra = relative_job_growth(_jobs_table())
    weights = commuting_weight_matrices(_commuting_table(), PLACES, YEARS)
    out = vra_lags(ra, weights)
    assert list(out.columns) == ["place", "year", "vra_t", "vra_t1", "vra_t2"]
    assert len(out) == 9
    out = out.set_index(["place", "year"])
    for i, place in enumerate(PLACES):
        assert np.isnan(out.loc[(place, 2000), "vra_t"])
        assert out.loc[(place, 2001), "vra_t"] == pytest.approx(VRA_2001[i])
        assert out.loc[(place, 2002), "vra_t"] == pytest.approx(VRA_2002[i])
        assert out.loc[(place, 2002), "vra_t1"] == pytest.approx(VRA_2001[i])
        assert np.isnan(out.loc[(place, 2002), "vra_t2"])  # VRA 2000 is undefined
        assert np.isnan(out.loc[(place, 2001), "vra_t1"])


def test_vra_lags_uses_weights_of_year_t():
    ra = relative_job_growth(_jobs_table())
    weights = commuting_weight_matrices(_commuting_table(), PLACES, YEARS)
    eye = pd.DataFrame(np.eye(3), index=PLACES, columns=PLACES)
    weights[2002] = CommutingWeights.from_frame(eye, 2002)
    out = vra_lags(ra, weights, lags=(0, 1)).set_index(["place", "year"])
    assert list(out.columns) == ["vra_t", "vra_t1"]
    for i, place in enumerate(PLACES):
        assert out.loc[(place, 2002), "vra_t"] == pytest.approx(RA_2002[i])
        assert out.loc[(place, 2002), "vra_t1"] == pytest.approx(VRA_2001[i])


def test_vra_lags_missing_weights_year():
    ra = relative_job_growth(_jobs_table())
    weights = commuting_weight_matrices(_commuting_table(), PLACES, [2000, 2001])
    with pytest.raises(DataError, match=r"no commuting weights for years \[2002\]"):
        vra_lags(ra, weights)


def test_vra_lags_weights_place_mismatch():
    ra = relative_job_growth(_jobs_table())
    weights = commuting_weight_matrices(_commuting_table(), PLACES, YEARS)
    fewer = weights[2001].to_frame().drop(index="0202", columns="0202")
    weights[2001] = CommutingWeights.from_frame(fewer.div(fewer.sum(axis=1), axis=0), 2001)
    with pytest.raises(DataError, match=r"year 2001.*missing \['0202'\]"):
        vra_lags(ra, weights)


def test_commuting_weights_refuse_rows_that_do_not_sum_to_one():
    frame = pd.DataFrame(W, index=PLACES, columns=PLACES)
    frame.iloc[1, 1] = 0.5
    with pytest.raises(DataError, match=r"year 2001: rows do not sum to 1 for places \['0202'\]"):
        CommutingWeights.from_frame(frame, 2001)
    with pytest.raises(DataError, match="same places in the same order"):
        CommutingWeights.from_frame(frame.iloc[:, ::-1], 2001)


def test_sparse_and_dense_weights_give_the_same_vra():
    rng = np.random.default_rng(3)
    counts = rng.poisson(2.0, (40, 40)) * (rng.random((40, 40)) < 0.2)
    counts[np.arange(40), np.arange(40)] += 5
    ra = rng.normal(0, 0.02, (40, 4))
    ra[7, 2] = np.nan  # missing where some residents work: NaN exactly there
    dense = weighted_growth(commuting_weights(counts), ra)
    sparse_w = commuting_weights(sparse.csr_array(counts))
    assert sparse.issparse(sparse_w)
    assert sparse_w.nnz == np.count_nonzero(counts)
    np.testing.assert_allclose(weighted_growth(sparse_w, ra), dense, rtol=1e-13)
    np.testing.assert_array_equal(np.isnan(weighted_growth(sparse_w, ra)), np.isnan(dense))
    assert np.isnan(dense).sum() == np.count_nonzero(counts[:, 7])


def test_sparse_commuting_counts_name_bad_cells():
    counts = sparse.csr_array(np.array([[1.0, -2.0], [0.0, 3.0]]))
    with pytest.raises(DataError, match=r"negative at indices \[\(0, 1\)\]"):
        commuting_weights(counts)
    with pytest.raises(DataError, match=r"row index \[1\] sums to 0"):
        commuting_weights(sparse.csr_array(np.array([[1.0, 0.0], [0.0, 0.0]])))


# -- aggregation --------------------------------------------------------------------------

REGIONS = {"0101": "R1", "0202": "R1", "0303": "R2"}


def test_aggregate_places_sums_over_members():
    agg = aggregate_places(_jobs_table(), REGIONS, value_columns=["jobs"])
    assert list(agg.columns) == ["place", "year", "sector", "jobs"]
    agg = agg.set_index(["place", "year", "sector"])["jobs"]
    # R1 private 2000 = (100 - 10) + (200 - 10) = 280; municipal = 10 + 10 = 20
    assert agg[("R1", 2000, "private")] == pytest.approx(280.0)
    assert agg[("R1", 2000, "municipal")] == pytest.approx(20.0)
    # R2 private 2002 = 90 - 10 = 80
    assert agg[("R2", 2002, "private")] == pytest.approx(80.0)
    assert len(agg) == 2 * 3 * 2


def test_aggregate_places_accepts_series_mapping_and_other_column():
    df = pd.DataFrame({"code": ["0101", "0303", "0202"], "n": [1.0, 2.0, 4.0]})
    agg = aggregate_places(df, pd.Series(REGIONS), value_columns=["n"], column="code")
    assert agg.set_index("code")["n"].to_dict() == {"R1": 5.0, "R2": 2.0}


def test_aggregate_places_unmapped_codes_named():
    jobs = _jobs_table()
    with pytest.raises(DataError, match=r"'place' has codes with no group.*\['0303'\]"):
        aggregate_places(jobs, {"0101": "R1", "0202": "R1"}, value_columns=["jobs"])


def test_aggregate_commuting_hand_computed():
    agg = aggregate_commuting(_commuting_table(years=(2001,)), REGIONS)
    flows = agg.set_index(["residence", "workplace"])["employed"]
    # R1 -> R1: 60 + 30 + 0 + 80 = 170; R1 -> R2: 10 + 20 = 30
    # R2 -> R1: 25 + 25 = 50;            R2 -> R2: 50
    assert flows.to_dict() == {
        ("R1", "R1"): 170.0,
        ("R1", "R2"): 30.0,
        ("R2", "R1"): 50.0,
        ("R2", "R2"): 50.0,
    }
    assert (agg["year"] == 2001).all()
    # Region VRA weights: R1 = [170, 30] / 200
    w = commuting_weight_matrices(agg, ["R1", "R2"], [2001])[2001]
    np.testing.assert_allclose(w.matrix.toarray(), [[0.85, 0.15], [0.5, 0.5]])
