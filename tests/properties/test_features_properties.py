"""Property tests of the feature functions (MODEL.md 2.1, 4)."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import sparse

from attrbayes.features import (
    aggregate_commuting,
    aggregate_places,
    commuting_weight_matrices,
    commuting_weights,
    industry_effect,
    industry_effect_array,
    relative_growth,
    relative_job_growth,
    vra_lags,
    weighted_growth,
)

SETTINGS = settings(max_examples=50, deadline=None)

counts_elem = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
rate_elem = st.floats(min_value=-0.5, max_value=0.5, allow_nan=False, allow_infinity=False)


@st.composite
def commuting_counts(draw, places: int | None = None, max_places: int = 6) -> np.ndarray:
    """Non-negative (P, P) counts whose rows all have a positive sum."""
    p = places if places is not None else draw(st.integers(1, max_places))
    counts = draw(arrays(np.float64, (p, p), elements=counts_elem))
    # guarantee a positive entry in every row, at a drawn column
    cols = draw(st.lists(st.integers(0, p - 1), min_size=p, max_size=p))
    counts[np.arange(p), cols] += draw(st.floats(0.5, 1e3))
    return counts


@SETTINGS
@given(commuting_counts())
def test_commuting_weight_rows_sum_to_one(counts):
    w = commuting_weights(counts)
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    # the sparse form is the same matrix, keeping only the pairs with commuters
    w_sparse = commuting_weights(sparse.csr_array(counts))
    assert w_sparse.nnz == np.count_nonzero(w)
    np.testing.assert_allclose(w_sparse.toarray(), w, rtol=1e-14)  # row sums in another order


@SETTINGS
@given(commuting_counts(), st.data())
def test_vra_between_min_and_max_ra_of_workplaces(counts, data):
    p = counts.shape[0]
    ra = data.draw(arrays(np.float64, (p, 3), elements=rate_elem))
    w = commuting_weights(counts)
    vra = weighted_growth(w, ra)
    for i in range(p):
        used = w[i] > 0
        lo, hi = ra[used].min(axis=0), ra[used].max(axis=0)
        assert (vra[i] >= lo - 1e-12).all()
        assert (vra[i] <= hi + 1e-12).all()


@st.composite
def common_growth_panel(draw):
    """Jobs of P places over T years all growing at the same year-specific rate."""
    p = draw(st.integers(1, 5))
    t = draw(st.integers(2, 5))
    base = draw(arrays(np.float64, p, elements=st.floats(1.0, 1e5)))
    rates = draw(arrays(np.float64, t - 1, elements=st.floats(-0.3, 0.3)))
    factor = np.concatenate([[1.0], np.cumprod(1.0 + rates)])
    return base[:, None] * factor[None, :]


@SETTINGS
@given(common_growth_panel(), st.data())
def test_common_growth_gives_zero_ra_and_vra(levels, data):
    p, t = levels.shape
    ra = relative_growth(levels)
    assert np.isnan(ra[:, 0]).all()
    np.testing.assert_allclose(ra[:, 1:], 0.0, atol=1e-9)
    counts = data.draw(commuting_counts(places=p))
    vra = weighted_growth(commuting_weights(counts), ra)
    np.testing.assert_allclose(vra[:, 1:], 0.0, atol=1e-9)

    # Same through the table-level functions.
    places = [f"{i:04d}" for i in range(p)]
    years = list(range(2000, 2000 + t))
    jobs = pd.DataFrame(
        {
            "place": np.repeat(places, t),
            "year": np.tile(years, p),
            "sector": "private",
            "jobs": levels.reshape(-1),
        }
    )
    ra_table = relative_job_growth(jobs)
    np.testing.assert_allclose(ra_table.to_numpy()[:, 1:], 0.0, atol=1e-9)
    commuting = pd.DataFrame(
        {
            "year": 2000,
            "residence": np.repeat(places, p),
            "workplace": np.tile(places, p),
            "employed": counts.reshape(-1),
        }
    )
    weights = commuting_weight_matrices(commuting, places, years)
    out = vra_lags(ra_table, weights)
    np.testing.assert_allclose(out.loc[out["year"] > 2000, "vra_t"], 0.0, atol=1e-9)


@st.composite
def grouped_counts(draw):
    """A long count table plus place -> region and region -> county mappings."""
    n_places = draw(st.integers(1, 8))
    places = [f"{i:04d}" for i in range(n_places)]
    n_regions = draw(st.integers(1, n_places))
    region_of = draw(st.lists(st.integers(0, n_regions - 1), min_size=n_places, max_size=n_places))
    n_counties = draw(st.integers(1, n_regions))
    county_of = draw(
        st.lists(st.integers(0, n_counties - 1), min_size=n_regions, max_size=n_regions)
    )
    to_region = {pl: f"R{r:03d}" for pl, r in zip(places, region_of, strict=True)}
    to_county = {f"R{r:03d}": f"C{c:02d}" for r, c in enumerate(county_of)}
    years = [2000, 2001]
    sectors = ["private", "state"]
    n = n_places * len(years) * len(sectors)
    values = draw(arrays(np.float64, n, elements=st.integers(0, 10_000).map(float)))
    idx = pd.MultiIndex.from_product([places, years, sectors], names=["place", "year", "sector"])
    df = idx.to_frame(index=False).assign(jobs=values)
    return df, to_region, to_county


@SETTINGS
@given(grouped_counts())
def test_aggregation_is_additive(case):
    df, to_region, to_county = case
    regions = aggregate_places(df, to_region, value_columns=["jobs"])
    # totals per year and sector are preserved
    before = df.groupby(["year", "sector"])["jobs"].sum()
    after = regions.groupby(["year", "sector"])["jobs"].sum()
    pd.testing.assert_series_equal(before, after)
    assert regions["jobs"].sum() == df["jobs"].sum()
    # place -> region -> county equals place -> county in one step
    two_step = aggregate_places(regions, to_county, value_columns=["jobs"])
    one_step = aggregate_places(
        df, {p: to_county[r] for p, r in to_region.items()}, value_columns=["jobs"]
    )
    pd.testing.assert_frame_equal(two_step, one_step)


@SETTINGS
@given(grouped_counts())
def test_commuting_aggregation_is_additive(case):
    df, to_region, to_county = case
    places = sorted(df["place"].unique())
    n = len(places)
    rng = np.random.default_rng(len(df))
    commuting = pd.DataFrame(
        {
            "year": 2000,
            "residence": np.repeat(places, n),
            "workplace": np.tile(places, n),
            "employed": rng.integers(0, 100, n * n).astype(float),
        }
    )
    regions = aggregate_commuting(commuting, to_region)
    assert regions["employed"].sum() == commuting["employed"].sum()
    two_step = aggregate_commuting(regions, to_county)
    one_step = aggregate_commuting(commuting, {p: to_county[r] for p, r in to_region.items()})
    pd.testing.assert_frame_equal(two_step, one_step)


@st.composite
def national_rate_industries(draw):
    """(P, K, T) jobs where every industry's national total grows at the same rate."""
    p = draw(st.integers(1, 5))
    k = draw(st.integers(1, 4))
    t = draw(st.integers(2, 4))
    totals = draw(arrays(np.float64, k, elements=st.floats(10.0, 1e5)))
    rates = draw(arrays(np.float64, t - 1, elements=st.floats(-0.3, 0.3)))
    factor = np.concatenate([[1.0], np.cumprod(1.0 + rates)])
    # local split of each industry in each year: positive weights, normalised over places
    split = draw(arrays(np.float64, (p, k, t), elements=st.floats(0.01, 1.0)))
    split /= split.sum(axis=0, keepdims=True)
    return split * totals[None, :, None] * factor[None, None, :]


@SETTINGS
@given(national_rate_industries())
def test_industry_effect_zero_when_industries_grow_at_national_rate(jobs):
    effect = industry_effect_array(jobs)
    assert np.isnan(effect[:, 0]).all()
    np.testing.assert_allclose(effect[:, 1:], 0.0, atol=1e-9)
    p, k, t = jobs.shape
    table = pd.DataFrame(
        [
            (f"{i:04d}", 2000 + y, f"ind{j}", jobs[i, j, y])
            for i in range(p)
            for j in range(k)
            for y in range(t)
        ],
        columns=["place", "year", "industry", "jobs"],
    )
    out = industry_effect(table)
    np.testing.assert_allclose(out.loc[out["year"] > 2000, "industry_effect"], 0.0, atol=1e-9)
