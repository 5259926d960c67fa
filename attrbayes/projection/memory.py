"""How a projection keeps its memory small: per-draw values that are read only as
quantiles wait in a temporary file (:class:`DrawSpill`), and freed work arrays go back to
the system (glibc's allocator would keep them).

A run's flows and pyramids are read only as quantiles of every place and group, and a
quantile needs every draw of its cell at once, while the draws are made chunk by chunk.
Held in memory they cost draws x places x cells floats: 420 MB for 1,000 draws of 356
places, about 6 GB at 5,000 places. A :class:`DrawSpill` takes each chunk's values when
the chunk is done and hands back blocks of cells with every draw and place, so that
memory holds one block; the numbers are the same float32 values as in memory. The file
is unlinked from the start (:func:`tempfile.TemporaryFile`): nothing is left behind, even
when the process is killed.
"""

from __future__ import annotations

import ctypes
import math
import os
import tempfile
import weakref
from collections.abc import Sequence
from functools import cache

import numpy as np

_ITEM = np.dtype(np.float32).itemsize


class DrawSpill:
    """float32 values of shape (draws, places, *cells), stored cell-major on disk (each
    cell's draws x places contiguous), so that a block of cells reads in one go."""

    def __init__(self, draws: int, places: int, cells: Sequence[int]) -> None:
        self.shape = (draws, places, *cells)
        self.n_cells = math.prod(cells)
        file = tempfile.TemporaryFile(prefix="attrbayes-draws-")  # noqa: SIM115 - see close
        self._fd = file.fileno()
        # closed by close() or, for runs never summarised (what-if runs), when collected
        self.close = weakref.finalize(self, file.close)

    def write(self, start: int, values: np.ndarray) -> None:
        """Store the draws ``start:start + len(values)`` (values: (d, places, *cells));
        chunks write side by side from threads, each to its own draws."""
        draws, places = self.shape[:2]
        d = values.shape[0]
        if values.shape[1:] != self.shape[1:] or not 0 <= start <= draws - d:
            raise ValueError(f"draws {start}:{start + d} of shape {values.shape[1:]} do not "
                             f"fit a spill of shape {self.shape}")  # fmt: skip
        by_cell = np.ascontiguousarray(
            values.reshape(d, places, self.n_cells).transpose(2, 0, 1), dtype=np.float32
        )
        for cell in range(self.n_cells):
            self._pwrite(by_cell[cell], (cell * draws + start) * places * _ITEM)

    def cells(self, lo: int, hi: int) -> np.ndarray:
        """Cells ``lo:hi`` (of the flattened cell axes) of every draw and place, as
        (cells, draws, places)."""
        draws, places = self.shape[:2]
        out = np.empty((hi - lo, draws, places), dtype=np.float32)
        view, offset = memoryview(out.reshape(-1)).cast("B"), lo * draws * places * _ITEM
        while len(view):
            got = os.preadv(self._fd, [view], offset)
            if got == 0:
                raise OSError(f"the temporary file of projection draws ended early "
                              f"(cells {lo}:{hi} of {self.n_cells})")  # fmt: skip
            view, offset = view[got:], offset + got
        return out

    def array(self, places: Sequence[int] | None = None, block: int = 64) -> np.ndarray:
        """Every draw of ``places`` (indices; all when None) as (draws, places, *cells),
        read ``block`` cells at a time."""
        chosen = slice(None) if places is None else list(places)
        width = self.shape[1] if places is None else len(chosen)
        out = np.empty((self.n_cells, self.shape[0], width), dtype=np.float32)
        for lo in range(0, self.n_cells, block):
            hi = min(lo + block, self.n_cells)
            out[lo:hi] = self.cells(lo, hi)[:, :, chosen]
        return out.transpose(1, 2, 0).reshape(self.shape[0], width, *self.shape[2:])

    def _pwrite(self, values: np.ndarray, offset: int) -> None:
        view = memoryview(values.reshape(-1)).cast("B")
        try:
            while len(view):
                done = os.pwrite(self._fd, view, offset)
                view, offset = view[done:], offset + done
        except OSError as err:
            raise OSError(f"could not store projection draws in the temporary folder "
                          f"{tempfile.gettempdir()} (set TMPDIR to a folder with room): "
                          f"{err}") from err  # fmt: skip


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library if it is glibc, else None (then memory is left to the allocator)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc's, absent elsewhere
    except (OSError, AttributeError):
        return None
    return libc


def hand_back_large_arrays() -> None:
    """Have glibc return arrays of 4 MB and more to the system as soon as they are freed:
    by default it raises that threshold to the largest array freed so far (up to 32 MB),
    after which freed work arrays of that size stay with the process."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-3, 4 << 20)  # M_MMAP_THRESHOLD (malloc.h)


def give_back_freed_memory() -> None:
    """Return the free pages of glibc's heaps to the system: a finished chunk's work
    arrays (each chunk thread has a heap of its own) would otherwise stay with the
    process. With :func:`hand_back_large_arrays`, 1,000 draws of 356 places peak about
    240 MB lower (benchmarks/RESULTS.md)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
