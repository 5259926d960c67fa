"""Thinning a posterior and the stacked draw numbers it keeps agree."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from attrbayes.results import stack_draws, thin, thinned_index


@pytest.mark.parametrize("max_draws", [None, 1000, 300, 7])
def test_thinned_index_names_the_draws_thin_keeps(max_draws):
    posterior = xr.Dataset({"a": (("chain", "draw"), np.arange(4 * 250).reshape(4, 250))})
    kept = stack_draws(thin(posterior, max_draws)["a"]).to_numpy()
    full = stack_draws(posterior["a"]).to_numpy()
    np.testing.assert_array_equal(full[thinned_index(posterior, max_draws)], kept)
    assert max_draws is None or len(kept) <= max_draws + 4  # at most one more per chain
