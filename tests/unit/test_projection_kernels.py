"""The compiled cohort step and population summaries against hand-computed cases and
numpy, and the sorted quantiles against numpy's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attrbayes.projection.kernels import cohort_step, weighted_sums
from attrbayes.projection.result import age_bands, summary_units, unit_quantiles
from attrbayes.quantiles import band_probabilities, quantiles


def _numpy_step(pop, survival, mobility, q, shift, excess, newborn):
    factor = survival[None] + shift[..., None, None] * mobility + excess[..., None, None] * q
    out = np.zeros_like(pop, dtype=float)
    out[..., 1:] = pop[..., :-1] * factor[..., :-1]
    out[..., -1] += pop[..., -1] * factor[..., -1]
    out[..., 0] = newborn
    shortfall = np.minimum(out, 0).sum(axis=(2, 3))
    return np.maximum(out, 0), shortfall


def test_cohort_step_by_hand():
    """One draw, one place, one sex, three ages: 10, 20, 30 persons."""
    pop = np.array([[[[10.0, 20.0, 30.0]]]], dtype=np.float32)
    survival = np.array([[[0.9, 0.8, 0.5]]], dtype=np.float32)
    mobility = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    q = np.array([[[0.1, 0.2, 0.5]]], dtype=np.float32)
    out = np.empty_like(pop)
    shortfall = cohort_step(pop, survival, mobility, q, np.array([[0.5]]), np.array([[0.0]]),
                            np.array([[[4.0]]], dtype=np.float32), out)  # fmt: skip
    # age 0: the newborn; age 1: 10 x (0.9 + 0.5 x 1); age 2 (open): 20 x 0.8 + 30 x 0.5
    np.testing.assert_allclose(out[0, 0, 0], [4.0, 14.0, 31.0])
    assert shortfall[0, 0] == 0.0
    # leavers beyond what a cohort holds: the cohort is emptied, the rest is the shortfall
    cohort_step(pop, survival, mobility, q, np.array([[-2.0]]), np.array([[0.0]]),
                np.array([[[4.0]]], dtype=np.float32), out)  # fmt: skip
    np.testing.assert_allclose(out[0, 0, 0], [4.0, 0.0, 31.0])
    assert cohort_step(pop, survival, mobility, q, np.array([[-2.0]]), np.array([[0.0]]),
                       np.array([[[4.0]]], dtype=np.float32), out)[0, 0] == pytest.approx(
        10 * (0.9 - 2.0))  # fmt: skip


def test_cohort_step_and_summaries_agree_with_numpy():
    rng = np.random.default_rng(4)
    d, p = 7, 5
    pop = rng.uniform(0, 50, (d, p, 2, 106)).astype(np.float32)
    survival = rng.uniform(0.9, 1.0, (p, 2, 106)).astype(np.float32)
    mobility = rng.uniform(0, 0.2, (2, 106)).astype(np.float32)
    q = rng.uniform(0, 0.05, (p, 2, 106)).astype(np.float32)
    shift = rng.normal(-3.0, 3.0, (d, p))  # strong enough to empty some cohorts
    excess = rng.normal(0, 0.2, (d, p))
    newborn = rng.uniform(0, 5, (d, p, 2)).astype(np.float32)
    out = np.empty_like(pop)
    shortfall = cohort_step(pop, survival, mobility, q, shift, excess, newborn, out)
    expected, lack = _numpy_step(pop, survival, mobility, q, shift, excess, newborn)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(shortfall, lack, rtol=1e-4, atol=1e-3)
    assert (lack < 0).any()
    common = rng.uniform(0, 1, (3, 2, 106)).astype(np.float32)
    by_place = rng.uniform(0, 1, (p, 2, 2, 106)).astype(np.float32)
    sums = weighted_sums(pop, common, by_place)
    np.testing.assert_allclose(sums[..., :3], np.einsum("dpsa,ksa->dpk", pop, common), rtol=1e-5)
    np.testing.assert_allclose(sums[..., 3:], np.einsum("dpsa,pmsa->dpm", pop, by_place),
                               rtol=1e-5)  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 6)),
              elements=st.floats(-1e6, 1e6)))  # fmt: skip
def test_sorted_quantiles_are_numpys(values):
    probs = band_probabilities()
    expected = np.quantile(values, probs, axis=0)
    np.testing.assert_allclose(quantiles(values, probs, axis=0), expected, rtol=1e-9, atol=1e-6)


def test_a_missing_draw_makes_its_quantiles_missing():
    values = np.arange(20.0).reshape(10, 2)
    values[3, 1] = np.nan
    out = quantiles(values, [0.1, 0.5], axis=0)
    assert np.isfinite(out[:, 0]).all()
    assert np.isnan(out[:, 1]).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_age_bands_and_units_keep_every_person(width, seed):
    """Bands of any width hold every age once; a group's unit is the sum of its places."""
    rng = np.random.default_rng(seed)
    pyramid = rng.uniform(0, 10, (5, 4, 106))
    assert np.allclose(age_bands(pyramid, width).sum(-1), pyramid.sum(-1))
    import pandas as pd

    groups = pd.DataFrame({"region": ["a", "a", "b", "c"], "county": ["1", "1", "1", "2"],
                           "centrality_class": [1, 2, 2, 6]},
                          index=["0101", "0102", "0103", "0104"])  # fmt: skip
    keys, membership = summary_units(groups)
    assert keys[:4] == ["place:0101", "place:0102", "place:0103", "place:0104"]
    assert keys[-1] == "nation"
    assert {"county:1", "region:c", "centrality_class:6"} <= set(keys)
    draws = rng.uniform(0, 10, (9, 4, 3)).astype(np.float32)  # draw, place, year
    stats = unit_quantiles(draws, membership)
    median = stats[0]
    np.testing.assert_allclose(median[keys.index("county:1")],
                               np.median(draws[:, :3].sum(axis=1), axis=0), rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(median[keys.index("place:0102")], np.median(draws[:, 1], axis=0))
