"""Plots: each module pairs a ``*_data()`` function (a DataFrame, tested) with a
``plot_*()`` function (a matplotlib Figure, smoke-tested with the Agg backend)."""

from __future__ import annotations

import io
import sys
from typing import Any

import matplotlib

# Fronts save files: no screen needed. A notebook's kernel keeps its own (inline) backend.
if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure

PNG_COMPRESS_LEVEL = 1  # zlib level for report charts: 3-4x faster than 6, a few % larger


def figure_bytes(fig: Figure, *, dpi: int = 120) -> bytes:
    """The figure as PNG bytes; the figure is closed (for atomic writes)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buffer.getvalue()


# -- text drawn from a cache ----------------------------------------------------------------
# Matplotlib (3.11) shapes every string and renders every glyph with FreeType on each draw:
# most of the time a chart takes. Reports draw the same strings (ticks, titles, legends)
# again and again, so the renderer below keeps the shaped glyphs of each string and each
# glyph's bitmap per sub-pixel offset (FreeType moves whole pixels exactly), and the
# metrics of each string. Pixels are identical to Agg's own; older matplotlib (no
# ``FT2Font._layout``) gets the plain renderer.
_TEXT_CACHE_LIMIT = 200_000  # entries per cache before it is emptied (memory bound)
_LAYOUTS: dict[tuple, list[tuple]] = {}
_METRICS: dict[tuple, tuple[float, float, float]] = {}
_GLYPHS: dict[tuple, tuple] = {}
_MATRICES: dict[tuple[float, float], Any] = {}


def _text_cache_ok() -> bool:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.ft2font import FT2Font

    return all(hasattr(FT2Font, name) for name in ("_layout", "_render_glyph", "_set_transform")) \
        and hasattr(RendererAgg, "_prepare_font")  # fmt: skip


def _remember(cache: dict, key: tuple, value: Any) -> Any:
    if len(cache) >= _TEXT_CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


class CachedTextRenderer(RendererAgg):
    """Agg with the cached text of the comment above (``draw_text`` is Agg's, step by step,
    with its pure steps remembered; mathtext is left to Agg)."""

    def _font_key(self, prop) -> tuple:
        from matplotlib.font_manager import fontManager

        return (tuple(fontManager._find_fonts_by_props(prop)), prop.get_size_in_points(),
                self.dpi)  # fmt: skip

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        from matplotlib.backends.backend_agg import get_hinting_flag

        key = (s, self._font_key(prop), get_hinting_flag())
        hit = _METRICS.get(key)
        if hit is None:
            hit = _remember(_METRICS, key, super().get_text_width_height_descent(s, prop, False))
        return hit

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        import math

        from matplotlib.backends.backend_agg import get_hinting_flag
        from matplotlib.ft2font import RenderMode

        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        flags = get_hinting_flag()
        key = (s, self._font_key(prop), flags, tuple(features) if features else None, language)
        items = _LAYOUTS.get(key)
        if items is None:
            font = self._prepare_font(prop)
            laid = font._layout(s, flags=flags, features=features, language=language)
            items = _remember(_LAYOUTS, key, [(i.ft_object, i.glyph_index, i.x, i.y)
                                              for i in laid])  # fmt: skip
        size = prop.get_size_in_points()
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        matrix = _MATRICES.get((cos, sin))
        if matrix is None:
            import numpy as np

            rotation = 0x10000 * np.array([[cos, -sin], [sin, cos]])
            matrix = _remember(_MATRICES, (cos, sin), rotation.round().astype(int))
        mode = RenderMode.NORMAL if gc.get_antialiased() else RenderMode.MONO
        height = self.height
        for font, glyph, dx, dy in items:  # dy is upwards
            tx = round(0x40 * (x + dx * cos - dy * sin))
            ty = round(0x40 * (height - y + dx * sin + dy * cos))  # FreeType's y is upwards
            gkey = (id(font), size, self.dpi, glyph, flags, mode, cos, sin, tx & 63, ty & 63)
            hit = _GLYPHS.get(gkey)
            if hit is None:  # rendered at the sub-pixel offset; whole pixels added below
                font.set_size(size, self.dpi)
                font._set_transform(matrix, [tx & 63, ty & 63])
                bitmap = font._render_glyph(glyph, flags, mode)
                buffer = bitmap.buffer
                if mode != RenderMode.NORMAL:
                    buffer = buffer * 0xFF
                hit = _remember(_GLYPHS, gkey, (buffer.copy(), bitmap.left, bitmap.top, font))
            buffer, left, top, _ = hit
            self._renderer.draw_text_image(buffer, left + (tx >> 6),
                                           int(height) - (top + (ty >> 6)) + buffer.shape[0],
                                           0, gc)  # fmt: skip
        return None


class CachedTextCanvas(FigureCanvasAgg):
    """An Agg canvas drawing with :class:`CachedTextRenderer`."""

    def get_renderer(self):
        width, height = self.get_width_height(physical=True)
        key = width, height, self.figure.dpi
        if self._lastKey != key:
            self.renderer = CachedTextRenderer(width, height, self.figure.dpi)
            self._lastKey = key
        return self.renderer


_CANVAS = CachedTextCanvas if _text_cache_ok() else FigureCanvasAgg


def agg_canvas(fig: Figure) -> FigureCanvasAgg:
    """The figure's canvas for drawing many charts: Agg with cached text (the figure gets
    one; pyplot still closes the figure)."""
    canvas = fig.canvas
    return canvas if isinstance(canvas, _CANVAS) else _CANVAS(fig)


def draw_figure(fig: Figure, *, dpi: float) -> FigureCanvasAgg:
    """Draw the figure once on its Agg canvas at ``dpi`` (what ``savefig`` draws, without
    its second pass for layout engines and its temporary settings)."""
    if fig.dpi != dpi:
        fig.set_dpi(dpi)
    canvas = agg_canvas(fig)
    canvas.draw()
    return canvas


def canvas_png(canvas: FigureCanvasAgg, *, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """What the canvas shows now (after a draw, or blitting onto it) as PNG bytes: RGB
    (charts are opaque), fast zlib level."""
    from PIL import Image

    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    dpi = canvas.figure.dpi
    image.convert("RGB").save(buffer, format="png", compress_level=compress_level,
                              dpi=(dpi, dpi))  # fmt: skip
    return buffer.getvalue()


def figure_png(fig: Figure, *, dpi: float, close: bool = True) -> bytes:
    """The figure drawn once at ``dpi`` as PNG bytes (see :func:`canvas_png`); closed
    unless ``close=False`` (a figure kept for the next place)."""
    try:
        return canvas_png(draw_figure(fig, dpi=dpi))
    finally:
        if close:
            plt.close(fig)
