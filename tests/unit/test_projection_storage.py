"""The per-draw counts' chunks, compressed in threads, are the bytes HDF5 itself writes for
the same filters, read back exactly, and carry the checksum that verification recomputes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrbayes.projection.result import COMPRESSION, _checksum, _chunk_offsets, _write_chunks

FILTERS = {"compression": "gzip", "compression_opts": COMPRESSION["complevel"],
           "shuffle": True, "fletcher32": True}  # fmt: skip


def _stored(dset) -> dict[tuple[int, ...], bytes]:
    infos = (dset.id.get_chunk_info(i) for i in range(dset.id.get_num_chunks()))
    return {info.chunk_offset: dset.id.read_direct_chunk(info.chunk_offset)[1]
            for info in infos}  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(*(st.integers(1, n) for n in (3, 40, 4, 6, 3))),
    spread=st.sampled_from([1, 300, 2**30]),
    threads=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_chunks_are_what_hdf5_writes(tmp_path_factory, shape, spread, threads, seed):
    values = np.random.default_rng(seed).integers(-spread, spread, shape, dtype=np.int32)
    chunks = (1, shape[1], 1, shape[3], shape[4])  # by scenario and place, as saved
    path = tmp_path_factory.mktemp("h5") / "c.h5"
    with h5py.File(path, "w") as f:
        ours = f.create_dataset("ours", shape, dtype="i4", chunks=chunks, **FILTERS)
        digest = _write_chunks(ours, (values[k : k + 1] for k in range(shape[0])), threads)
        f.create_dataset("theirs", data=values, chunks=chunks, **FILTERS)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["ours"][()], values)  # Fletcher-32 checked on read
        assert _stored(f["ours"]) == _stored(f["theirs"])
        assert digest == _checksum(f["ours"]) == _checksum(f["theirs"])


def test_blocks_that_do_not_fill_the_dataset_are_refused(tmp_path):
    with h5py.File(tmp_path / "c.h5", "w") as f:
        dset = f.create_dataset("x", (2, 3, 4), dtype="i4", chunks=(1, 3, 1), **FILTERS)
        with pytest.raises(ValueError, match="cover 1 of 2 rows"):
            _write_chunks(dset, [np.zeros((1, 3, 4), np.int32)], threads=2)
        with pytest.raises(ValueError, match=r"not whole chunks \(1, 3, 1\)"):
            _write_chunks(dset, [np.zeros((1, 2, 4), np.int32)], threads=2)
        plain = f.create_dataset("y", (2, 3), dtype="i4", chunks=(1, 3))
        with pytest.raises(ValueError, match="are not the projection's"):
            _write_chunks(plain, [np.zeros((2, 3), np.int32)], threads=2)


class _WithoutChunkIteration:
    """A dataset as h5py shows it where HDF5 is older than 1.14 (no chunk iteration)."""

    def __init__(self, dset) -> None:
        self.id = type("Id", (), {"get_num_chunks": dset.id.get_num_chunks,
                                  "get_chunk_info": dset.id.get_chunk_info})()  # fmt: skip


def test_chunk_offsets_are_the_same_with_and_without_chunk_iteration(tmp_path):
    with h5py.File(tmp_path / "c.h5", "w") as f:
        dset = f.create_dataset("x", (3, 2, 5), dtype="i4", chunks=(1, 2, 2), **FILTERS)
        dset[2, :, 3:] = 7  # chunks written out of order; the others stay unallocated
        dset[0] = 1
        expected = [(0, 0, 0), (0, 0, 2), (0, 0, 4), (2, 0, 2), (2, 0, 4)]
        assert _chunk_offsets(dset) == expected
        assert _chunk_offsets(_WithoutChunkIteration(dset)) == expected
