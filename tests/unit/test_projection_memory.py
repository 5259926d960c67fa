"""Per-draw values spilled to a temporary file come back exactly, whole or by block, and
give the same quantiles as the values held in memory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrbayes.projection.memory import DrawSpill
from attrbayes.projection.result import summary_units, unit_quantiles


def _spilled(values: np.ndarray, chunk: int) -> DrawSpill:
    spill = DrawSpill(values.shape[0], values.shape[1], values.shape[2:])
    starts = list(range(0, values.shape[0], chunk))[::-1]  # out of order, side by side
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda s: spill.write(s, values[s : s + chunk]), starts))
    return spill


@settings(max_examples=30, deadline=None)
@given(
    draws=st.integers(1, 9),
    places=st.integers(1, 5),
    cells=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    chunk=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_spilled_draws_come_back_exactly(draws, places, cells, chunk, seed):
    values = np.random.default_rng(seed).normal(size=(draws, places, *cells)).astype(np.float32)
    spill = _spilled(values, chunk)
    np.testing.assert_array_equal(spill.array(block=3), values)
    chosen = [places - 1, 0]
    np.testing.assert_array_equal(spill.array(chosen), values[:, chosen])
    n = int(np.prod(cells))
    if n:
        flat = values.reshape(draws, places, n)
        np.testing.assert_array_equal(spill.cells(0, n), flat.transpose(2, 0, 1))
        np.testing.assert_array_equal(spill.cells(n - 1, n)[0], flat[:, :, -1])
    spill.close()
    assert not spill.close.alive


def test_quantiles_from_the_spill_equal_those_in_memory():
    """Places, then groups summed per draw: the same numbers from disk as from memory,
    whatever the block size."""
    rng = np.random.default_rng(7)
    values = rng.gamma(2.0, 50.0, size=(40, 6, 3, 2, 5)).astype(np.float32)
    groups = pd.DataFrame(
        {"region": list("aabbcc"), "county": list("xxxyyy"), "centrality_class": [1, 2] * 3},
        index=[f"{i:04d}" for i in range(6)],
    )
    _, membership = summary_units(groups)
    expected = unit_quantiles(values, membership)
    spill = _spilled(values, 7)
    for block in (8192, 20, 1):
        np.testing.assert_array_equal(unit_quantiles(spill, membership, block=block), expected)
    # the nation (last unit) is the per-draw sum of all places before the quantile
    nation = np.quantile(values.sum(axis=1, dtype=np.float64), 0.5, axis=0)
    np.testing.assert_allclose(expected[0, -1], nation, rtol=1e-6)


def test_a_chunk_that_does_not_fit_is_refused():
    spill = DrawSpill(10, 3, (4,))
    with pytest.raises(ValueError, match="do not fit"):
        spill.write(8, np.zeros((3, 3, 4), dtype=np.float32))  # draws 8-10 of 0-9
    with pytest.raises(ValueError, match="do not fit"):
        spill.write(0, np.zeros((2, 3, 5), dtype=np.float32))
    spill.close()


def test_reading_what_was_never_written_is_an_error():
    spill = DrawSpill(4, 2, (3,))
    with pytest.raises(OSError, match="ended early"):
        spill.cells(0, 3)
    spill.close()


def test_a_full_temporary_folder_is_named_in_the_error(monkeypatch):
    """No room left for the draws: the error says where they went and how to move them."""
    import errno
    import os

    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    spill = DrawSpill(2, 2, (3,))
    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(OSError, match=r"temporary folder .* \(set TMPDIR to a folder with room\)"):
        spill.write(0, np.zeros((2, 2, 3), dtype=np.float32))
    spill.close()
