"""The report's fast chart paths draw what the plain ones draw: a figure kept from one
place and refilled for the next (and the blitted rank chart) gives the same pixels as a
figure made afresh for that place, and the Agg renderer with cached text draws the same
pixels as Agg's own."""

from __future__ import annotations

import base64
import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from attrbayes.plots import agg_canvas
from attrbayes.reporting import report as rp

IMAGE = re.compile(r'src="data:image/png;base64,([^"]+)"')


def _images(page: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB"), dtype=int)
            for b in IMAGE.findall(page)]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_figures_left_open():
    """pyplot warns (an error here) past 20 open figures; other tests in the same worker
    may have left some, so each test here starts and ends with none."""
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def places(small_run_dir) -> tuple[rp.ReportBuilder, list[str]]:
    b = rp.ReportBuilder(rp.load_sources(small_run_dir), dpi=60, target_draws=0)
    b.prepare(targets=False)
    return b, list(b.places)


def _far_apart(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels of ``a`` that no pixel of ``b`` within one pixel matches to within
    a sixth of the scale (a kept figure is laid out at the report's dpi, a new one at its
    own first, so edges and glyphs may sit a sub-pixel apart)."""
    h, w = a.shape[:2]
    pad = np.pad(b, ((1, 1), (1, 1), (0, 0)), mode="edge")
    best = np.full((h, w), 255)
    for dy in range(3):
        for dx in range(3):
            diff = np.abs(a - pad[dy : dy + h, dx : dx + w]).max(axis=-1)
            best = np.minimum(best, diff)
    return float((best > 42).mean())


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_charts_kept_from_place_to_place_equal_fresh_ones(small_run_dir, places, lang):
    kept, codes = places
    first, second = codes[0], codes[-1]
    kept.build(first, lang=lang)  # its figures are kept and refilled for the second place
    refilled = _images(kept.build(second, lang=lang).html)
    new = rp.ReportBuilder(rp.load_sources(small_run_dir), dpi=60, target_draws=0)
    new.prepare(targets=False)
    fresh = _images(new.build(second, lang=lang).html)
    other = _images(new.build(first, lang=lang).html)
    assert len(refilled) == len(fresh) == len(other) >= 4
    for i, (a, b) in enumerate(zip(refilled, fresh, strict=True)):
        assert a.shape == b.shape, f"chart {i}"
        assert _far_apart(a, b) < 0.01, f"chart {i}: {_far_apart(a, b):.2%} of pixels differ"
    # the comparison sees other data: most charts of the first place differ from the second's
    moved = [_far_apart(a, b) > 0.02 for a, b in zip(other, fresh, strict=True)]
    assert sum(moved) >= len(moved) // 2


def test_cached_text_draws_the_pixels_of_agg():
    def draw(canvas_of) -> np.ndarray:
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1, 2], [3, 1, 2], label="Bodø – Tromsø ±")
        ax.set_title("Befolkning 2050, 80 % intervall")
        ax.set_xlabel("år", rotation=10)
        ax.text(0.5, 1.5, "vertical", rotation=90)
        ax.legend()
        canvas = canvas_of(fig)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba()).copy()
        plt.close(fig)
        return pixels

    from attrbayes import plots

    # with matplotlib's private text layout missing the cache falls back to plain Agg,
    # and this comparison would test nothing
    assert plots._CANVAS is plots.CachedTextCanvas
    plain = draw(FigureCanvasAgg)
    assert np.array_equal(draw(agg_canvas), plain)
    assert np.array_equal(draw(agg_canvas), plain)  # again, from the caches
