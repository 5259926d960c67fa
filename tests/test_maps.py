"""Maps: GeoJSON reading and validation, matching values to polygons (both ways), colour
scales, the choropleth's colours, the tile fallback's layout and the value helpers."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from attrbayes.config import SamplerConfig, load_spec
from attrbayes.exceptions import DataError
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.registry import model_class
from attrbayes.plots import figure_bytes
from attrbayes.plots.maps import (
    NO_VALUE_COLOUR,
    Boundaries,
    attractiveness_values,
    choropleth_data,
    colour_scale,
    growth_probability,
    growth_values,
    normalise_code,
    place_info,
    plot_choropleth,
    plot_map,
    plot_tiles,
    read_boundaries,
    tile_data,
)
from attrbayes.projection.result import example_projection

REAL_FILE = "kartverket_robhop/Kommuner-S_2024.geojson"
N_MUNICIPALITIES_2024 = 357  # features in Kartverket's 2024 file (counted, one per code)


def _square(x: float, y: float, side: float = 1.0) -> list[list[float]]:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def _feature(props: dict, geometry: dict) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Three municipalities near 60 degrees north: 0301 (code written as the number 301, a
    square with a square hole), 1101 (a square) and 1103 (a MultiPolygon of two squares)."""
    outer = _square(10.0, 60.0, 3.0)[::-1]  # clockwise: against RFC 7946, as files often are
    hole = _square(11.0, 61.0, 1.0)  # turning the same way as the exterior
    features = [
        _feature(
            {"kommunenummer": 301, "kommunenavn": "Oslo"},
            {"type": "Polygon", "coordinates": [outer, hole]},
        ),
        _feature(
            {"kommunenummer": "1101", "kommunenavn": "Eigersund"},
            {"type": "Polygon", "coordinates": [_square(14.0, 60.0, 2.0)]},
        ),
        _feature(
            {"kommunenummer": "1103", "kommunenavn": "Stavanger"},
            {"type": "MultiPolygon", "coordinates": [[_square(10.0, 64.0)], [_square(12.0, 64.0)]]},
        ),
    ]
    return _write(tmp_path / "tiny.geojson", {"type": "FeatureCollection", "features": features})


VALUES = pd.Series({"0301": 2.0, 1101: -1.0, "9999": 5.0}, name="growth, %")


# -- codes and reading ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (301, "0301"),
        ("301", "0301"),
        (301.0, "0301"),
        ("0301", "0301"),
        (5401, "5401"),
        (" 42 ", "0042"),
    ],
)
def test_codes_are_zero_padded_to_four_characters(raw, code):
    assert normalise_code(raw) == code


@pytest.mark.parametrize("raw", ["abc", 12345, 3.5, None, "", True, "03-01"])
def test_malformed_codes_are_errors(raw):
    with pytest.raises(DataError, match="municipality code"):
        normalise_code(raw)


def test_reads_polygons_and_multipolygons_with_padded_codes(tiny):
    bounds = read_boundaries(tiny)
    assert bounds.codes == ("0301", "1101", "1103")
    assert bounds.code_property == "kommunenummer"
    assert bounds.names["0301"] == "Oslo"
    # each ring becomes MOVETO ... CLOSEPOLY: 0301 has two rings, 1103 two polygons
    assert (bounds.paths["0301"].codes == 1).sum() == 2
    assert (bounds.paths["1103"].codes == 1).sum() == 2
    assert (bounds.paths["1101"].codes == 1).sum() == 1


def _ring_areas(path) -> list[float]:
    """Signed areas (shoelace) of a compound path's rings: > 0 anticlockwise."""
    starts = [*np.flatnonzero(path.codes == 1), len(path.codes)]
    areas = []
    for a, b in itertools.pairwise(starts):
        x, y = path.vertices[a:b, 0], path.vertices[a:b, 1]
        areas.append(0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))
    return areas


def test_exteriors_turn_anticlockwise_and_holes_clockwise(tiny):
    # the file has them the other way round; the non-zero fill rule (SVG, PDF) needs this
    bounds = read_boundaries(tiny)
    assert _ring_areas(bounds.paths["0301"]) == pytest.approx([9.0, -1.0])
    assert _ring_areas(bounds.paths["1103"]) == pytest.approx([1.0, 1.0])


def test_code_property_argument_and_id_fallback(tmp_path):
    square = {"type": "Polygon", "coordinates": [_square(5.0, 60.0)]}
    by_id = _write(
        tmp_path / "by_id.geojson",
        {"type": "FeatureCollection", "features": [_feature({"id": 301}, square)]},
    )
    assert read_boundaries(by_id).codes == ("0301",)
    assert read_boundaries(by_id).code_property == "id"
    custom = _write(
        tmp_path / "custom.geojson",
        {"type": "FeatureCollection", "features": [_feature({"knr": "1101", "id": "x"}, square)]},
    )
    assert read_boundaries(custom, code_property="knr").codes == ("1101",)


def test_features_sharing_a_code_are_merged(tmp_path):
    parts = [
        _feature({"kommunenummer": "0301"}, {"type": "Polygon", "coordinates": [_square(0, 60)]}),
        _feature({"kommunenummer": "301"}, {"type": "Polygon", "coordinates": [_square(2, 60)]}),
    ]
    bounds = read_boundaries(
        _write(tmp_path / "dup.geojson", {"type": "FeatureCollection", "features": parts})
    )
    assert bounds.codes == ("0301",)
    assert (bounds.paths["0301"].codes == 1).sum() == 2


def _one(props: dict, geometry: dict) -> str:
    """A FeatureCollection of one feature, as JSON text."""
    return json.dumps({"type": "FeatureCollection", "features": [_feature(props, geometry)]})


SQUARE = {"type": "Polygon", "coordinates": [_square(0, 60)]}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "cannot be read as GeoJSON"),
        (json.dumps([1, 2]), "expected a GeoJSON FeatureCollection"),
        (json.dumps({"type": "Feature", "properties": {}}), "expected a GeoJSON FeatureCollection"),
        (json.dumps({"type": "FeatureCollection", "features": []}), "no features"),
        (_one({"navn": "x"}, SQUARE), "no code property kommunenummer or id"),
        (
            _one({"kommunenummer": "0301"}, {"type": "Point", "coordinates": [10, 60]}),
            "expected Polygon or MultiPolygon",
        ),
        (
            _one({"kommunenummer": "0301"}, {"type": "Polygon", "coordinates": [[[0, 1]]]}),
            "at least 3 finite",
        ),
        (_one({"kommunenummer": "ABCD"}, SQUARE), "not a municipality code"),
    ],
)
def test_bad_files_are_data_errors_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "bad_boundaries.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=expected) as info:
        read_boundaries(path)
    assert "bad_boundaries.geojson" in str(info.value)


def test_missing_file_and_missing_named_property(tmp_path, tiny):
    with pytest.raises(DataError, match=r"nowhere\.geojson"):
        read_boundaries(tmp_path / "nowhere.geojson")
    with pytest.raises(DataError, match=r"tiny\.geojson.*no code property 'knr'"):
        read_boundaries(tiny, code_property="knr")


# -- colour scales ---------------------------------------------------------------------------
def test_diverging_scale_is_symmetric_around_zero():
    scale = colour_scale(pd.Series([-1.0, 3.0, np.nan]), "diverging", label="x")
    assert (scale.vmin, scale.vmax) == (-3.0, 3.0)
    assert scale.norm(0.0) == pytest.approx(0.5)
    limited = colour_scale(pd.Series([-1.0, 3.0]), "diverging", limits=(-2.0, 1.0))
    assert (limited.vmin, limited.vmax, limited.extend) == (-2.0, 2.0, "max")


def test_probability_and_sequential_scales():
    prob = colour_scale(pd.Series([0.2, 0.3]), "probability")
    assert (prob.vmin, prob.vmax) == (0.0, 1.0)
    with pytest.raises(DataError, match=r"0\.\.1"):
        colour_scale(pd.Series([0.2, 1.3]), "probability")
    seq = colour_scale(pd.Series([2.0, 5.0]), "sequential")
    assert (seq.vmin, seq.vmax) == (2.0, 5.0)
    with pytest.raises(DataError, match="kind must be one of"):
        colour_scale(pd.Series([1.0]), "rainbow")  # type: ignore[arg-type]


# -- choropleth -----------------------------------------------------------------------------
def test_unmatched_codes_are_reported_both_ways(tiny):
    data = choropleth_data(VALUES, tiny)
    assert data.values_without_polygon == ("9999",)
    assert data.polygons_without_value == ("1103",)
    assert list(data.table["place"]) == ["0301", "1101", "1103"]
    np.testing.assert_array_equal(data.table["value"], [2.0, -1.0, np.nan])
    # the scale is set by the values that are drawn, not by 9999's 5.0
    assert (data.scale.vmin, data.scale.vmax) == (-2.0, 2.0)


def _collection(fig) -> PolyCollection:
    (ax,) = [a for a in fig.axes if a.collections and isinstance(a.collections[0], PolyCollection)]
    (collection,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    return collection


def test_choropleth_colours_match_the_colormap_and_norm(tiny):
    data = choropleth_data(VALUES, tiny, kind="diverging", label="growth, %")
    fig = plot_choropleth(data, title="test map")
    try:
        faces = _collection(fig).get_facecolors()
        assert faces.shape == (3, 4)
        cmap, norm = plt.get_cmap("RdBu"), data.scale.norm
        np.testing.assert_allclose(faces[0], cmap(norm(2.0)))  # 0301: top of the scale
        np.testing.assert_allclose(faces[0], cmap(1.0))
        np.testing.assert_allclose(faces[1], cmap(norm(-1.0)))  # 1101: a quarter up
        np.testing.assert_allclose(faces[1], cmap(0.25))
        np.testing.assert_allclose(faces[2], to_rgba(NO_VALUE_COLOUR))  # 1103: no value
        ax = _collection(fig).axes
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == ["no value (1 of 3)"]
        notes = " ".join(t.get_text() for t in fig.texts)
        assert "9999" in notes
        assert "tiny.geojson" in notes
        mid_latitude = 62.5  # the squares span 60-65 degrees north
        assert ax.get_aspect() == pytest.approx(1 / np.cos(np.radians(mid_latitude)))
        assert ax.get_title() == "test map"
        colour_bars = [a for a in fig.axes if a is not ax]
        assert colour_bars[0].get_ylabel() == "growth, %"
    finally:
        plt.close(fig)


def _pixel(fig, ax, lon: float, lat: float) -> np.ndarray:
    x, y = ax.transData.transform((lon, lat))
    image = np.asarray(fig.canvas.buffer_rgba())
    return image[image.shape[0] - round(y), round(x), :3] / 255.0


def test_holes_stay_empty_and_multipolygon_parts_are_both_filled(tiny):
    fig = plot_choropleth(choropleth_data(pd.Series({"0301": 2.0, "1103": -2.0}), tiny))
    try:
        fig.canvas.draw()
        ax = _collection(fig).axes
        blue, red = plt.get_cmap("RdBu")(1.0)[:3], plt.get_cmap("RdBu")(0.0)[:3]
        np.testing.assert_allclose(_pixel(fig, ax, 10.5, 60.5), blue, atol=0.02)  # ring
        np.testing.assert_allclose(_pixel(fig, ax, 11.5, 61.5), (1, 1, 1), atol=0.02)  # hole
        np.testing.assert_allclose(_pixel(fig, ax, 10.5, 64.5), red, atol=0.02)
        np.testing.assert_allclose(_pixel(fig, ax, 12.5, 64.5), red, atol=0.02)
        np.testing.assert_allclose(_pixel(fig, ax, 11.5, 64.5), (1, 1, 1), atol=0.02)  # gap
    finally:
        plt.close(fig)


def test_probability_choropleth_uses_a_fixed_zero_to_one_scale(tiny):
    data = choropleth_data(
        pd.Series({"0301": 0.5, "1101": 0.9, "1103": 0.0}), tiny, kind="probability"
    )
    fig = plot_choropleth(data)
    try:
        faces = _collection(fig).get_facecolors()
        cmap = plt.get_cmap("YlGnBu")
        for face, value in zip(faces, [0.5, 0.9, 0.0], strict=True):
            np.testing.assert_allclose(face, cmap(value))
        assert _collection(fig).axes.get_legend() is None  # every polygon has a value
    finally:
        plt.close(fig)


# -- tile fallback --------------------------------------------------------------------------
def _many_values(n_per_county: dict[str, int], seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    codes = [f"{c}{i:02d}" for c, n in n_per_county.items() for i in range(1, n + 1)]
    return pd.Series(rng.normal(0, 1, len(codes)), index=codes, name="attr, %")


def test_tiles_lay_out_every_place_once_in_county_blocks():
    values = _many_values({"03": 1, "11": 23, "46": 45, "54": 39})
    data = tile_data(values, max_columns=20)
    t = data.table
    assert sorted(t["place"]) == sorted(values.index)
    assert not t[["row", "col"]].duplicated().any()
    assert t["col"].max() == 19
    blocks = data.counties.set_index("county")
    assert list(blocks.index) == ["03", "11", "46", "54"]
    assert list(blocks["n_rows"]) == [1, 2, 3, 2]
    assert list(blocks["first_row"]) == [0, 1, 3, 6]
    assert list(blocks["n_places"]) == [1, 23, 45, 39]
    for county, rows in t.groupby("county"):
        first, n_rows = blocks.loc[county, ["first_row", "n_rows"]]
        assert rows["row"].between(first, first + n_rows - 1).all()
        assert (rows["place"].str[:2] == county).all()
    np.testing.assert_array_equal(t.set_index("place")["value"].reindex(values.index), values)


def test_tiles_use_given_counties_and_names_and_report_missing_values():
    values = pd.Series({301: 1.0, "1101": np.nan, "1102": -0.5})
    data = tile_data(
        values, counties={"0301": "03", "1101": "03", "1102": "11"}, names={"1101": "Eigersund"}
    )
    assert list(data.counties["n_places"]) == [2, 1]
    assert data.places_without_value == ("1101",)
    assert data.table.set_index("place").loc["1101", "name"] == "Eigersund"


def test_tile_figure_draws_one_square_per_place_in_its_colour():
    values = _many_values({"11": 23, "15": 7})
    values.iloc[4] = np.nan
    data = tile_data(values, kind="diverging")
    fig = plot_tiles(data, title="tiles")
    try:
        ax = fig.axes[0]
        squares = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(squares) == len(values)
        for square, colour in zip(squares, data.colours, strict=True):
            np.testing.assert_allclose(square.get_facecolor(), colour)
        np.testing.assert_allclose(squares[4].get_facecolor(), to_rgba(NO_VALUE_COLOUR))
        labels = {t.get_text() for t in ax.texts}
        assert set(values.index) <= labels
        assert ax.get_legend().get_texts()[0].get_text() == "no value (1 of 30)"
    finally:
        plt.close(fig)
    assert figure_bytes(plot_tiles(data)).startswith(b"\x89PNG")


def test_plot_map_chooses_tiles_without_boundaries(tiny):
    tiles = plot_map(VALUES)
    choropleth = plot_map(VALUES, tiny, title="map")
    try:
        assert not any(isinstance(c, PolyCollection) for c in tiles.axes[0].collections)
        assert _collection(choropleth).get_facecolors().shape == (3, 4)
    finally:
        plt.close(tiles)
        plt.close(choropleth)


# -- values from results ---------------------------------------------------------------------
def test_growth_values_are_medians_of_per_draw_growth():
    proj = example_projection(n_draws=5, n_places=4, seed=3)
    pop = proj.ds["population"].sel(scenario="historical")
    growth = growth_values(proj, "historical", 2030)
    assert list(growth.index) == proj.places
    # one place and draw by hand: with a single draw the median is that draw's growth
    single = example_projection(n_draws=1, n_places=4, seed=3)
    p0 = single.ds["population"].sel(scenario="neutral", place="1102", draw=0)
    by_hand = (float(p0.sel(year=2028)) / float(p0.sel(year=2025)) - 1) * 100
    got = growth_values(single, "neutral", 2028, base_year=2025)["1102"]
    assert got == pytest.approx(by_hand)
    # five draws: the middle one of the per-draw growths
    per_draw = (pop.sel(year=2030) / pop.sel(year=2024) - 1).values * 100  # draw, place
    np.testing.assert_allclose(growth.to_numpy(), np.sort(per_draw, axis=0)[2])
    assert "2024-2030" in str(growth.name)


def test_growth_probability_is_the_share_of_draws_above_the_base_year():
    proj = example_projection(n_draws=40, n_places=6, seed=5)
    prob = growth_probability(proj, "neutral", 2030)
    pop = proj.ds["population"].sel(scenario="neutral").values  # draw, place, year
    direct = (pop[:, :, -1] > pop[:, :, 0]).mean(axis=0)
    np.testing.assert_allclose(prob.to_numpy(), direct)
    assert 0 < prob.min() < prob.max() < 1  # a test that the example varies across places
    fig = plot_map(prob, kind="probability", names=place_info(proj)["name"])
    plt.close(fig)


def test_value_helpers_reject_unknown_scenarios_and_years():
    proj = example_projection()
    with pytest.raises(DataError, match="no scenario 'high'"):
        growth_values(proj, "high", 2030)
    with pytest.raises(DataError, match="year 2040 is not projected"):
        growth_probability(proj, "neutral", 2040)
    with pytest.raises(DataError, match="must come after the base year"):
        growth_values(proj, "neutral", 2026, base_year=2028)


def test_place_info_from_a_projection():
    info = place_info(example_projection(n_places=4))
    assert list(info.index) == ["1101", "1102", "1103", "1104"]
    assert info.loc["1101", "name"] == "Place 1101"
    assert list(info["county"]) == ["11", "11", "15", "15"]


@pytest.fixture(scope="module")
def prior_fit(small_synthetic):
    spec = load_spec("migration_2022")
    features = compute_features(small_synthetic.panel, "municipality")
    config = SamplerConfig(sampler="prior", chains=2, draws=30)
    return model_class(spec.kind)(build_design(features, spec), spec).fit(config)


def test_attractiveness_values_are_medians_of_the_period_mean_in_percent(prior_fit):
    values = attractiveness_values(prior_fit, years=(2004, 2008))
    latent = prior_fit.latent_attractiveness.sel(year=slice(2004, 2008))
    direct = latent.mean("year").median("draw").to_series().astype(float) * 100  # float32 draws
    direct.index = [normalise_code(p) for p in direct.index]
    pd.testing.assert_series_equal(
        values, direct.reindex(values.index), check_names=False, check_index_type=False
    )
    assert (values.index.str.len() == 4).all()
    assert values.name.startswith("residential attractiveness 2004-2008")
    info = place_info(prior_fit)
    assert set(info.index) == set(values.index)
    fig = plot_map(values, names=info["name"], counties=info["county"])
    plt.close(fig)


# -- the real boundary file -------------------------------------------------------------------
def test_real_2024_municipalities(shared_file):
    bounds = read_boundaries(shared_file(REAL_FILE))
    assert isinstance(bounds, Boundaries)
    assert len(bounds) == N_MUNICIPALITIES_2024
    assert all(len(c) == 4 and c.isdigit() for c in bounds.codes)
    assert bounds.names["0301"] == "Oslo"
    values = pd.Series(np.linspace(-2, 2, len(bounds)), index=list(bounds.codes)).drop("0301")
    data = choropleth_data(values, bounds)
    assert data.polygons_without_value == ("0301",)
    assert data.values_without_polygon == ()
    png = figure_bytes(plot_choropleth(data, title="2024 municipalities"))
    assert png.startswith(b"\x89PNG")
    assert len(png) > 50_000
