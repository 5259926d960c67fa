"""Plots: each module pairs a ``*_data()`` function (a DataFrame, tested) with a
``plot_*()`` function (a matplotlib Figure, smoke-tested with the Agg backend)."""

from __future__ import annotations

import io
import sys

import matplotlib

# Fronts save files: no screen needed. A notebook's kernel keeps its own (inline) backend.
if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def figure_bytes(fig: Figure, *, dpi: int = 120) -> bytes:
    """The figure as PNG bytes; the figure is closed (for atomic writes)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buffer.getvalue()
