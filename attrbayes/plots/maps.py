"""Maps of a per-place value: a choropleth of municipalities from a GeoJSON boundary file
(parsed with ``json``, drawn as a matplotlib ``PolyCollection``), or, without a boundary
file, a tile chart of places grouped by county.

Values are a pandas Series indexed by the 4-character place code (``"0301"``); helpers
compute them from results: period attractiveness from a fit, projected growth and the
probability of growth from a projection (per draw first, the median or share last).
Nothing is dropped silently: places with a value but no polygon and polygons without a
value are returned in the data objects and shown in the figure (grey "no value" polygons,
a note listing the places without a polygon).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.collections import PolyCollection
from matplotlib.colors import Colormap, Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.path import Path as MplPath

from attrbayes.exceptions import DataError
from attrbayes.projection.result import ProjectionResult

ScaleKind = Literal["diverging", "probability", "sequential"]
SCALE_KINDS: tuple[str, ...] = ("diverging", "probability", "sequential")
DEFAULT_CMAPS = {"diverging": "RdBu", "probability": "YlGnBu", "sequential": "viridis"}
CODE_PROPERTIES = ("kommunenummer", "id")
NAME_PROPERTIES = ("kommunenavn", "name", "navn")
NO_VALUE_COLOUR = "0.85"
EDGE_COLOUR = "0.35"


# -- codes -------------------------------------------------------------------------------------
def normalise_code(code: Any, *, where: str = "place code") -> str:
    """A municipality code as a 4-character string: ``301``, ``"301"`` and ``301.0``
    become ``"0301"``; anything that is not 1-4 digits is a :class:`DataError`."""
    if isinstance(code, bool) or code is None:
        raise DataError(f"{where}: {code!r} is not a municipality code (1-4 digits)")
    if isinstance(code, float | np.floating):
        if not np.isfinite(code) or code != int(code):
            raise DataError(f"{where}: {code!r} is not a municipality code (1-4 digits)")
        code = int(code)
    text = str(code).strip()
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 4):
        raise DataError(f"{where}: {code!r} is not a municipality code (1-4 digits)")
    return text.zfill(4)


def _values_series(values: pd.Series | Mapping[Any, float], what: str = "values") -> pd.Series:
    """Values indexed by normalised codes, as floats; duplicates after padding and
    infinite or non-numeric values are errors. NaN means "no value"."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    codes = [normalise_code(c, where=f"{what} index") for c in series.index]
    try:
        numbers = pd.to_numeric(series, errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what}: values must be numbers ({exc})") from exc
    out = pd.Series(numbers, index=pd.Index(codes, name="place"), name=series.name)
    dup = out.index[out.index.duplicated()].unique()
    if len(dup):
        raise DataError(f"{what}: place code(s) {', '.join(dup)} occur more than once")
    if np.isinf(numbers).any():
        bad = out.index[np.isinf(numbers)]
        raise DataError(f"{what}: infinite value for place(s) {', '.join(bad)}")
    return out


# -- colour scales -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ColourScale:
    """A colour scale: colormap name, limits and the colour bar label."""

    kind: str
    cmap_name: str
    vmin: float
    vmax: float
    label: str
    extend: str = "neither"  # colour bar arrows when values lie outside the limits

    @property
    def norm(self) -> Normalize:
        return Normalize(vmin=self.vmin, vmax=self.vmax, clip=True)

    @property
    def cmap(self) -> Colormap:
        return plt.get_cmap(self.cmap_name)

    def rgba(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """RGBA rows for ``values`` (NaN: the no-value grey)."""
        arr = np.asarray(values, dtype=float)
        out = np.asarray(self.cmap(self.norm(np.nan_to_num(arr))), dtype=float).reshape(-1, 4)
        out[np.isnan(arr).reshape(-1)] = to_rgba(NO_VALUE_COLOUR)
        return out


def colour_scale(
    values: pd.Series, kind: ScaleKind = "diverging", *, label: str | None = None,
    limits: tuple[float, float] | None = None, cmap: str | None = None,
) -> ColourScale:  # fmt: skip
    """The scale for ``values``: ``"diverging"`` centred on 0 with symmetric limits (the
    largest absolute value, or of ``limits``); ``"probability"`` 0..1 (values outside are
    errors); ``"sequential"`` from the smallest to the largest value (or ``limits``)."""
    if kind not in SCALE_KINDS:
        raise DataError(f"kind must be one of {list(SCALE_KINDS)}, got {kind!r}")
    arr = np.asarray(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    name = cmap or DEFAULT_CMAPS[kind]
    try:
        plt.get_cmap(name)
    except ValueError as exc:
        raise DataError(f"unknown colormap {name!r}") from exc
    text = label if label is not None else str(values.name) if values.name is not None else ""
    if kind == "probability":
        if limits is not None:
            raise DataError("a probability scale is always 0..1; do not pass limits")
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise DataError(
                f"probabilities must lie in 0..1, got {finite.min():.3g}..{finite.max():.3g}"
            )
        return ColourScale(kind, name, 0.0, 1.0, text)
    if limits is not None:
        lo, hi = (float(v) for v in limits)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise DataError(f"limits must be two finite numbers, low < high; got {limits}")
    elif finite.size:
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = -1.0, 1.0
    if kind == "diverging":
        m = max(abs(lo), abs(hi))
        lo, hi = (-m, m) if m > 0 else (-1.0, 1.0)
    elif lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    below = bool(finite.size and finite.min() < lo)
    above = bool(finite.size and finite.max() > hi)
    extend = "both" if below and above else "min" if below else "max" if above else "neither"
    return ColourScale(kind, name, lo, hi, text, extend)


def _colourbar(fig: Figure, ax, scale: ColourScale, **kwargs) -> None:
    mappable = plt.cm.ScalarMappable(norm=scale.norm, cmap=scale.cmap)
    bar = fig.colorbar(mappable, ax=ax, extend=scale.extend, **kwargs)
    bar.set_label(scale.label)


def _text_colour(rgba: np.ndarray) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _short_list(codes: tuple[str, ...], n: int = 12) -> str:
    shown = ", ".join(codes[:n])
    return shown + (f" and {len(codes) - n} more" if len(codes) > n else "")


# -- boundaries --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Boundaries:
    """Municipal boundaries read from a GeoJSON file: per place code its name and one
    compound path (every polygon of the feature, holes included), lon/lat degrees."""

    source: Path
    codes: tuple[str, ...]
    names: dict[str, str]
    paths: dict[str, MplPath]
    code_property: str

    def __len__(self) -> int:
        return len(self.codes)


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _ring(coords: Any, where: str) -> np.ndarray:
    try:
        arr = np.asarray(coords, dtype=float)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: a ring is not a list of [lon, lat] positions") from exc
    if arr.ndim != 2 or arr.shape[1] < 2 or len(arr) < 3 or not np.isfinite(arr[:, :2]).all():
        raise DataError(f"{where}: a ring must have at least 3 finite [lon, lat] positions")
    arr = arr[:, :2]
    if np.array_equal(arr[0], arr[-1]):
        arr = arr[:-1]  # GeoJSON repeats the first position; CLOSEPOLY closes it here
    return arr


def _geometry_path(geometry: Any, where: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Vertices and codes of one feature: exteriors anticlockwise, holes clockwise, so the
    non-zero fill rule leaves holes empty."""
    if not isinstance(geometry, dict):
        raise DataError(f"{where}: no geometry (expected Polygon or MultiPolygon)")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise DataError(f"{where}: geometry type {kind!r}; expected Polygon or MultiPolygon")
    if not isinstance(polygons, list) or not polygons:
        raise DataError(f"{where}: {kind} without coordinates")
    verts, codes = [], []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise DataError(f"{where}: a polygon without rings")
        for i, coords_ring in enumerate(polygon):
            ring = _ring(coords_ring, where)
            if (_signed_area(ring) > 0) != (i == 0):  # exterior anticlockwise, holes clockwise
                ring = ring[::-1]
            code = np.full(len(ring) + 1, MplPath.LINETO, dtype=MplPath.code_type)
            code[0], code[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(np.vstack([ring, ring[:1]]))
            codes.append(code)
    return verts, codes


def _feature_property(feature: dict, name: str) -> Any:
    props = feature.get("properties") or {}
    if name in props and props[name] is not None:
        return props[name]
    if name == "id" and feature.get("id") is not None:
        return feature["id"]  # GeoJSON's feature-level id
    return None


def read_boundaries(
    path: str | Path, *, code_property: str | None = None, name_property: str | None = None
) -> Boundaries:
    """Read a GeoJSON FeatureCollection of Polygon/MultiPolygon municipalities (lon/lat).
    The code comes from ``code_property`` (default: ``kommunenummer``, else ``id``) and is
    zero-padded to 4 characters; the name from ``name_property`` (default: ``kommunenavn``,
    ``name`` or ``navn``; the code when absent). Features sharing a code are merged."""
    source = Path(path)
    try:
        with source.open(encoding="utf-8-sig") as handle:
            doc = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{source}: cannot be read as GeoJSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise DataError(f"{source}: expected a GeoJSON FeatureCollection, got type {got!r}")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise DataError(f"{source}: the FeatureCollection has no features")
    if not all(isinstance(f, dict) for f in features):
        raise DataError(f"{source}: every feature must be a JSON object")
    first = features[0]
    if code_property is None:
        found = [p for p in CODE_PROPERTIES if _feature_property(first, p) is not None]
        if not found:
            have = sorted((first.get("properties") or {}).keys())
            raise DataError(
                f"{source}: features have no code property {' or '.join(CODE_PROPERTIES)} "
                f"(feature 0 has {have}); pass code_property="
            )
        code_property = found[0]
    verts: dict[str, list[np.ndarray]] = {}
    codes: dict[str, list[np.ndarray]] = {}
    names: dict[str, str] = {}
    for i, feature in enumerate(features):
        raw = _feature_property(feature, code_property)
        if raw is None:
            have = sorted((feature.get("properties") or {}).keys())
            raise DataError(
                f"{source}: feature {i} has no code property {code_property!r} (has {have})"
            )
        where = f"{source}: feature {i} ({code_property} {raw!r})"
        code = normalise_code(raw, where=where)
        v, c = _geometry_path(feature.get("geometry"), where)
        verts.setdefault(code, []).extend(v)
        codes.setdefault(code, []).extend(c)
        props = feature.get("properties") or {}
        candidates = (name_property,) if name_property else NAME_PROPERTIES
        name = next((props[p] for p in candidates if props.get(p) is not None), None)
        names.setdefault(code, str(name) if name is not None else code)
    paths = {k: MplPath(np.vstack(verts[k]), np.concatenate(codes[k])) for k in verts}
    return Boundaries(source, tuple(paths), names, paths, code_property)


# -- choropleth --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChoroplethData:
    """What a choropleth draws: ``table`` has one row per boundary polygon (``place, name,
    value``; NaN = no value) in drawing order; the places with a value but no polygon and
    the polygons without a value are listed."""

    table: pd.DataFrame
    paths: tuple[MplPath, ...]
    scale: ColourScale
    values_without_polygon: tuple[str, ...]
    polygons_without_value: tuple[str, ...]
    source: Path

    @property
    def colours(self) -> np.ndarray:
        """RGBA per polygon, as drawn."""
        return self.scale.rgba(self.table["value"])


def choropleth_data(
    values: pd.Series, boundaries: Boundaries | str | Path, *, kind: ScaleKind = "diverging",
    label: str | None = None, limits: tuple[float, float] | None = None,
    cmap: str | None = None, code_property: str | None = None,
) -> ChoroplethData:  # fmt: skip
    """Match ``values`` (indexed by place code) to the boundaries and choose the colour
    scale (see :func:`colour_scale`); the scale uses the values that have a polygon."""
    series = _values_series(values)
    bounds = (
        boundaries if isinstance(boundaries, Boundaries)
        else read_boundaries(boundaries, code_property=code_property)
    )  # fmt: skip
    codes = list(bounds.codes)
    table = pd.DataFrame(
        {
            "place": codes,
            "name": [bounds.names[c] for c in codes],
            "value": series.reindex(codes).to_numpy(dtype=float),
        }
    )
    without_polygon = tuple(sorted(set(series.index) - set(codes)))
    without_value = tuple(sorted(table.loc[table["value"].isna(), "place"]))
    scale = colour_scale(
        pd.Series(table["value"].to_numpy(), name=series.name), kind, label=label,
        limits=limits, cmap=cmap,
    )  # fmt: skip
    return ChoroplethData(
        table, tuple(bounds.paths[c] for c in codes), scale, without_polygon, without_value,
        bounds.source,
    )  # fmt: skip


def plot_choropleth(data: ChoroplethData, *, title: str | None = None) -> Figure:
    """Polygons coloured by value (one ``PolyCollection``, rows of ``data.table`` in
    order), grey = no value (legend), a colour bar with the scale's label, lon/lat axes
    with aspect 1/cos(mean latitude), and a note listing places without a polygon."""
    every = np.vstack([p.vertices for p in data.paths]) if data.paths else np.zeros((1, 2))
    (x0, y0), (x1, y1) = every.min(axis=0), every.max(axis=0)
    aspect = 1 / np.cos(np.radians(float(np.clip((y0 + y1) / 2, -80, 80))))
    ratio = (x1 - x0) / ((y1 - y0) * aspect) if y1 > y0 else 1.0
    fig, ax = plt.subplots(
        figsize=(float(np.clip(8.0 * ratio + 1.8, 5.0, 14.0)), 8.5), layout="constrained"
    )
    collection = PolyCollection(
        [], facecolors=data.colours, edgecolors=EDGE_COLOUR, linewidths=0.25
    )
    collection.set_verts_and_codes([p.vertices for p in data.paths], [p.codes for p in data.paths])
    ax.add_collection(collection)
    pad_x, pad_y = 0.02 * (x1 - x0) or 0.1, 0.02 * (y1 - y0) or 0.1
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    ax.set_aspect(aspect)  # a degree of longitude is cos(latitude) degrees of latitude long
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.tick_params(labelsize=7)
    _colourbar(fig, ax, data.scale, shrink=0.6, pad=0.02)
    if data.polygons_without_value:
        n = len(data.polygons_without_value)
        ax.legend(
            handles=[Patch(facecolor=NO_VALUE_COLOUR, edgecolor=EDGE_COLOUR,
                           label=f"no value ({n} of {len(data.table)})")],
            loc="lower right", fontsize=8,
        )  # fmt: skip
    if data.values_without_polygon:
        missing = data.values_without_polygon
        note = (
            f"{len(missing)} place(s) with a value have no polygon in {data.source.name}: "
            f"{_short_list(missing)}"
        )
        # a super-label, so that the constrained layout makes room for it
        fig.supxlabel(textwrap.fill(note, 110), x=0.01, ha="left", fontsize=7)
    ax.set_title(title or data.scale.label or "Municipalities")
    return fig


# -- tile fallback -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TileData:
    """A tile chart: ``table`` has one row per place (``place, name, county, row, col,
    value``; NaN = no value); ``counties`` one row per county block (``county, label,
    first_row, n_rows, n_places``); ``places_without_value`` lists the NaN places."""

    table: pd.DataFrame
    counties: pd.DataFrame
    scale: ColourScale
    n_columns: int
    places_without_value: tuple[str, ...]

    @property
    def colours(self) -> np.ndarray:
        return self.scale.rgba(self.table["value"])


def _mapping(arg: Mapping[str, Any] | pd.Series | None, what: str) -> dict[str, str]:
    if arg is None:
        return {}
    items = arg.items()
    return {normalise_code(k, where=f"{what} index"): str(v) for k, v in items if pd.notna(v)}


def tile_data(
    values: pd.Series, *, kind: ScaleKind = "diverging", label: str | None = None,
    names: Mapping[str, str] | pd.Series | None = None,
    counties: Mapping[str, str] | pd.Series | None = None,
    county_names: Mapping[str, str] | None = None, max_columns: int = 20,
    limits: tuple[float, float] | None = None, cmap: str | None = None,
) -> TileData:  # fmt: skip
    """Lay out every place once: a block of rows per county (county from ``counties``,
    else the first two digits of the code), places in code order, at most ``max_columns``
    per row. ``names`` label the tiles; ``county_names`` the blocks."""
    if max_columns < 1:
        raise DataError(f"max_columns must be at least 1, got {max_columns}")
    series = _values_series(values)
    name_map, county_map = _mapping(names, "names"), _mapping(counties, "counties")
    places = sorted(series.index)
    county = [county_map.get(p, p[:2]) for p in places]
    frame = pd.DataFrame({"place": places, "county": county})
    frame["name"] = [name_map.get(p, "") for p in places]
    frame["value"] = series.reindex(places).to_numpy(dtype=float)
    frame = frame.sort_values(["county", "place"], kind="stable").reset_index(drop=True)
    rows, cols, blocks = [], [], []
    first_row = 0
    for code, group in frame.groupby("county", sort=True):
        n = len(group)
        position = np.arange(n)
        rows.extend(first_row + position // max_columns)
        cols.extend(position % max_columns)
        n_rows = -(-n // max_columns)
        extra = (county_names or {}).get(str(code))
        blocks.append(
            {"county": str(code), "label": f"{code} {extra}" if extra else str(code),
             "first_row": first_row, "n_rows": n_rows, "n_places": n}
        )  # fmt: skip
        first_row += n_rows
    frame["row"] = np.asarray(rows, dtype=np.int64)
    frame["col"] = np.asarray(cols, dtype=np.int64)
    scale = colour_scale(
        pd.Series(frame["value"].to_numpy(), name=series.name), kind, label=label,
        limits=limits, cmap=cmap,
    )  # fmt: skip
    n_columns = int(frame["col"].max()) + 1 if len(frame) else 1
    missing = tuple(sorted(frame.loc[frame["value"].isna(), "place"]))
    table = frame[["place", "name", "county", "row", "col", "value"]]
    return TileData(table, pd.DataFrame(blocks), scale, n_columns, missing)


BLOCK_GAP = 0.35  # rows of space between county blocks
TILE = 0.92  # side of a tile in cells


def plot_tiles(data: TileData, *, title: str | None = None, names: bool = True) -> Figure:
    """One small square per place, coloured on the scale, labelled with its code (and
    its name, shortened, when ``names``); a block of rows per county, labelled on the
    left; grey = no value (legend); colour bar with the scale's label."""
    table = data.table
    n_rows = int(data.counties["n_rows"].sum()) if len(data.counties) else 1
    n_blocks = max(len(data.counties), 1)
    height_cells = n_rows + BLOCK_GAP * (n_blocks - 1)
    cell = 0.52  # inches per cell
    width = max(6.0, 1.0 + data.n_columns * cell + 1.6)
    height = max(3.0, height_cells * cell + 1.3)
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    offset = {c: i * BLOCK_GAP for i, c in enumerate(data.counties["county"])}
    colours = data.colours
    has_names = names and table["name"].astype(bool).any()
    for i, row in enumerate(table.itertuples(index=False)):
        y = row.row + offset[row.county]
        ax.add_patch(Rectangle((row.col, y), TILE, TILE, facecolor=colours[i],
                               edgecolor=EDGE_COLOUR, linewidth=0.4))  # fmt: skip
        ink = _text_colour(colours[i])
        cx, cy = row.col + TILE / 2, y + TILE / 2
        if has_names and row.name:
            short = row.name if len(row.name) <= 8 else row.name[:7] + "."
            ax.text(cx, cy - 0.14, row.place, ha="center", va="center", fontsize=5.5,
                    color=ink)  # fmt: skip
            ax.text(cx, cy + 0.18, short, ha="center", va="center", fontsize=4.5, color=ink)
        else:
            ax.text(cx, cy, row.place, ha="center", va="center", fontsize=6, color=ink)
    for block in data.counties.itertuples(index=False):
        y = block.first_row + offset[block.county] + (block.n_rows - 1 + TILE) / 2
        ax.text(-0.3, y, f"{block.label}\n({block.n_places})", ha="right", va="center",
                fontsize=8)  # fmt: skip
    ax.set_xlim(-0.1, data.n_columns)
    ax.set_ylim(height_cells, -0.1)  # first county on top
    ax.set_aspect("equal")
    ax.axis("off")
    _colourbar(fig, ax, data.scale, shrink=min(1.0, 6 / max(height, 1)), pad=0.02)
    if data.places_without_value:
        n = len(data.places_without_value)
        ax.legend(
            handles=[Patch(facecolor=NO_VALUE_COLOUR, edgecolor=EDGE_COLOUR,
                           label=f"no value ({n} of {len(table)})")],
            loc="upper right", bbox_to_anchor=(1.0, 1.0 + 0.3 / height), fontsize=8,
            frameon=False,
        )  # fmt: skip
    ax.set_title(title or data.scale.label or "Places by county", loc="left")
    return fig


def plot_map(
    values: pd.Series, boundaries: Boundaries | str | Path | None = None, *,
    kind: ScaleKind = "diverging", label: str | None = None, title: str | None = None,
    names: Mapping[str, str] | pd.Series | None = None,
    counties: Mapping[str, str] | pd.Series | None = None,
    limits: tuple[float, float] | None = None, cmap: str | None = None,
    code_property: str | None = None,
) -> Figure:  # fmt: skip
    """A choropleth when a boundary file is given, else the tile chart by county."""
    if boundaries is None:
        data = tile_data(values, kind=kind, label=label, names=names, counties=counties,
                         limits=limits, cmap=cmap)  # fmt: skip
        return plot_tiles(data, title=title)
    chosen = choropleth_data(values, boundaries, kind=kind, label=label, limits=limits,
                             cmap=cmap, code_property=code_property)  # fmt: skip
    return plot_choropleth(chosen, title=title)


# -- values from results -----------------------------------------------------------------------
def attractiveness_values(fit, years: tuple[int, int] | None = None) -> pd.Series:
    """Per place the posterior median of period-mean attractiveness, % per year (of
    population for a migration fit, of last year's private jobs for a jobs fit)."""
    from attrbayes.attractiveness import attractiveness_table

    table = attractiveness_table(fit, years=years, by="period")
    kind = "business" if getattr(fit, "kind", "") == "jobs" else "residential"
    base = "private jobs" if kind == "business" else "population"
    span = f" {years[0]}-{years[1]}" if years else ""
    series = pd.Series(
        table["pct_median"].to_numpy(dtype=float),
        index=pd.Index([normalise_code(p) for p in table["place"]], name="place"),
        name=f"{kind} attractiveness{span}, % of {base} per year (median)",
    )
    return series.sort_index()


def place_info(source: Any) -> pd.DataFrame:
    """Name and county per place code (index) from a :class:`ProjectionResult` or a fit,
    for tile labels: ``tile_data(v, names=info["name"], counties=info["county"])``."""
    if isinstance(source, ProjectionResult):
        ds = source.ds
        frame = pd.DataFrame({"place": [str(p) for p in ds["place"].values]})
        for col in ("name", "county"):
            if col in ds.coords:
                frame[col] = [str(v) for v in ds[col].values]
    else:
        rows = source.design.frame
        cols = [c for c in ("name", "county") if c in rows.columns]
        frame = rows.groupby("place")[cols].first().reset_index()
    frame["place"] = [normalise_code(p) for p in frame["place"]]
    return frame.set_index("place").sort_index()


def _population(projection: ProjectionResult, scenario: str) -> xr.DataArray:
    if "population" not in projection.ds:
        raise DataError("the projection has no population")
    if scenario not in projection.scenarios:
        raise DataError(f"no scenario {scenario!r}; have {projection.scenarios}")
    return projection.ds["population"].sel(scenario=scenario, drop=True)


def _years(pop: xr.DataArray, year: int, base_year: int | None) -> tuple[int, int]:
    years = [int(y) for y in pop["year"].values]
    base = years[0] if base_year is None else int(base_year)
    for which, y in (("year", int(year)), ("base_year", base)):
        if y not in years:
            raise DataError(f"{which} {y} is not projected; years are {years[0]}-{years[-1]}")
    if int(year) <= base:
        raise DataError(f"year {year} must come after the base year {base}")
    return base, int(year)


def _place_series(da: xr.DataArray, name: str) -> pd.Series:
    codes = [normalise_code(p) for p in da["place"].values]
    return pd.Series(da.to_numpy().astype(float), index=pd.Index(codes, name="place"), name=name)


def growth_values(
    projection: ProjectionResult, scenario: str, year: int, base_year: int | None = None
) -> pd.Series:
    """Per place the median over draws of population growth in % from 1 January
    ``base_year`` (default: the projection's base year) to 1 January ``year``."""
    pop = _population(projection, scenario)
    base, year = _years(pop, year, base_year)
    growth = (pop.sel(year=year) / pop.sel(year=base) - 1) * 100  # per draw
    median = growth.transpose("place", "draw").median("draw", skipna=False)
    return _place_series(median, f"population growth {base}-{year}, % ({scenario}, median)")


def growth_probability(
    projection: ProjectionResult, scenario: str, year: int, base_year: int | None = None
) -> pd.Series:
    """Per place the share of draws whose population in ``year`` is above the base year
    (default: the projection's base year); NaN where no draw has both numbers."""
    pop = _population(projection, scenario)
    base, year = _years(pop, year, base_year)
    end, start = pop.sel(year=year), pop.sel(year=base)
    valid = (end.notnull() & start.notnull()).sum("draw")
    share = (end > start).sum("draw") / valid.where(valid > 0)
    return _place_series(share, f"P(population {year} > {base}) ({scenario})")
