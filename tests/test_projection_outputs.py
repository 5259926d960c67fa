"""Projection outputs on the example projection: per-draw aggregation before quantiles,
fan / age-group / pyramid data and charts, quantile tables (CSV, Parquet, xlsx),
trajectories and the ``fan`` command."""

from __future__ import annotations

import io

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.exceptions import DataError
from attrbayes.plots import fan, figure_bytes
from attrbayes.projection import tables as pt
from attrbayes.projection.result import FLOWS, example_projection

runner = CliRunner()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PNG_BYTES = 15_000
STATS = ["lower_95", "lower_80", "lower_50", "median", "upper_50", "upper_80", "upper_95"]


@pytest.fixture(scope="module")
def proj():
    return example_projection(n_draws=60, n_places=6, first_year=2024, last_year=2032, seed=3)


@pytest.fixture(scope="module")
def reference_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ssb_mmm.csv"
    path.write_text("year;value;label\n2024;50000;SSB MMM\n2030;51000;SSB MMM\n", "utf-8")
    return path


def _png_shape(data: bytes) -> tuple[int, ...]:
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > MIN_PNG_BYTES
    return mpimg.imread(io.BytesIO(data), format="png").shape


# -- aggregation and quantiles ------------------------------------------------------------------
def test_group_draws_are_per_draw_sums_of_members(proj):
    county = proj.ds["county"].values.astype(str)
    by_county = pt.level_draws(proj, "population", "county")
    for code in np.unique(county):
        members = proj.ds["population"].sel(place=proj.ds["place"].values[county == code])
        np.testing.assert_allclose(
            by_county.sel(place=code).values, members.sum("place").values, rtol=1e-12
        )
    # the same as ProjectionResult.aggregate, for every variable we tabulate
    agg = proj.aggregate("county")
    np.testing.assert_allclose(
        pt.level_draws(proj, "jobs", "county").values,
        (agg["jobs_private"] + agg["jobs_public"]).transpose(*by_county.dims).values,
    )
    np.testing.assert_allclose(
        pt.level_draws(proj, "80+", "county").values,
        agg["age_group_population"].sel(age_group="80+").transpose(*by_county.dims).values,
    )
    nation = pt.unit_draws(proj, "population", pt.resolve_unit(proj, "nation"))
    np.testing.assert_allclose(nation.values, proj.ds["population"].sum("place").values)
    summed = proj.aggregate("nation", ["population"])
    assert list(summed.data_vars) == ["population"]
    assert list(summed["place"].values) == ["nation"]
    np.testing.assert_allclose(summed["population"].sel(place="nation").values,
                               proj.ds["population"].sum("place").values)  # fmt: skip


def test_group_quantiles_are_taken_after_the_per_draw_sum(proj):
    table = pt.quantile_table(proj, level="county", variables=["population"])
    places = pt.quantile_table(proj, level="place", variables=["population"])
    draws = pt.level_draws(proj, "population", "county")
    first = int(proj.ds["year"].values[0])
    later = table[table["year"] > first]
    for row in later.itertuples():
        per_draw = draws.sel(scenario=row.scenario, place=row.place, year=row.year).values
        assert row.median == pytest.approx(np.median(per_draw), rel=1e-12)
        assert row.lower_80 == pytest.approx(np.quantile(per_draw, 0.1), rel=1e-12)
        assert row.upper_95 == pytest.approx(np.quantile(per_draw, 0.975), rel=1e-12)
    # ... which is not the sum of the members' medians (nor of their bounds)
    county_of = dict(zip(proj.places, proj.ds["county"].values.astype(str), strict=True))
    places["county"] = places["place"].map(county_of)
    summed = places.groupby(["scenario", "county", "year"], as_index=False)[
        ["median", "upper_95"]
    ].sum()
    merged = later.merge(
        summed.rename(columns={"county": "place"}), on=["scenario", "place", "year"],
        suffixes=("", "_of_members"), validate="1:1",
    )  # fmt: skip
    assert len(merged) == len(later)
    rel_gap = (merged["median"] - merged["median_of_members"]).abs() / merged["median"]
    assert rel_gap.max() > 1e-4
    assert (merged["upper_95"] < merged["upper_95_of_members"]).mean() > 0.8  # diversification


def test_quantile_table_layout_and_nan_flows(proj):
    table = pt.quantile_table(proj)
    assert list(table.columns) == ["scenario", "level", "place", "name", "year", "variable",
                                   "median", "lower_50", "upper_50", "lower_80", "upper_80",
                                   "lower_95", "upper_95"]  # fmt: skip
    n = len(proj.scenarios) * len(proj.places) * proj.ds.sizes["year"] * len(pt.MAIN_VARIABLES)
    assert len(table) == n
    assert table["name"].str.startswith("Place ").all()
    last = int(proj.ds["year"].values[-1])
    births = table[table["variable"] == "births"]
    assert births.loc[births["year"] == last, "median"].isna().all()
    assert births.loc[births["year"] < last, "median"].notna().all()
    pop = table[table["variable"] == "population"]
    assert pop["median"].notna().all()


def test_selection_errors_name_valid_codes(proj):
    with pytest.raises(DataError, match=r"unknown place '9999'; valid codes include 1101, 1102"):
        pt.resolve_unit(proj, "place", "9999")
    with pytest.raises(DataError, match=r"unknown county '99'; valid codes include 11, 15"):
        pt.resolve_unit(proj, "county", "99")
    with pytest.raises(DataError, match="unknown centrality class '9'"):
        pt.resolve_unit(proj, "centrality_class", 9)
    with pytest.raises(DataError, match="unknown scenario 'high'; have neutral, historical"):
        pt.check_scenarios(proj, ["high"])
    with pytest.raises(DataError, match="unknown variable 'jobz'"):
        pt.check_variable("jobz")
    by_name = pt.resolve_unit(proj, "place", "place 1103")
    assert (by_name.code, by_name.members) == ("1103", ("1103",))
    cls = pt.resolve_unit(proj, "centrality_class", 2)
    assert cls.members == ("1102",)
    assert cls.label == "Centrality class 2 (1 places)"


# -- fan, age-group and pyramid data ------------------------------------------------------------
def test_fan_data_bands_are_nested_with_history_and_reference(proj, reference_csv):
    unit = pt.resolve_unit(proj, "county", "15")
    ref = fan.read_reference(reference_csv)
    data = fan.fan_chart_data(proj, "population", unit, reference=ref)
    assert set(data["series"]) == {"projection", "history", "reference"}
    p = data[data["series"] == "projection"]
    assert len(p) == 2 * proj.ds.sizes["year"]
    values = p[STATS].to_numpy()
    assert np.all(np.diff(values, axis=1) >= -1e-9), "bands must nest: 95 ⊇ 80 ⊇ 50 ∋ median"
    assert (p["upper_95"] - p["lower_95"]).iloc[1:].gt(p["upper_50"] - p["lower_50"]).any()
    h = data[data["series"] == "history"]
    members = list(unit.members)
    expected = proj.ds["history_population"].sel(place=members).sum("place").values
    np.testing.assert_allclose(h["median"].to_numpy(), expected)
    assert h["year"].max() < p["year"].min()
    r = data[data["series"] == "reference"]
    assert r["label"].tolist() == ["SSB MMM", "SSB MMM"]
    assert r["median"].tolist() == [50000, 51000]
    # the fan's medians are the quantile table's
    table = pt.unit_quantile_table(proj, unit, variables=["population"])
    np.testing.assert_allclose(
        p.sort_values(["scenario", "year"])["median"].to_numpy(),
        table.sort_values(["scenario", "year"])["median"].to_numpy(),
    )


def test_fan_data_for_flows_jobs_and_age_groups(proj):
    unit = pt.resolve_unit(proj, "place", "1101")
    births = fan.fan_chart_data(proj, "births", unit, scenarios=["historical"])
    years = proj.ds["year"].values
    assert births["year"].tolist() == list(years[:-1])  # NaN last year left out
    assert set(births["series"]) == {"projection"}  # no births history
    jobs = fan.fan_chart_data(proj, "jobs", unit)
    j = jobs[jobs["series"] == "projection"].set_index(["scenario", "year"])["median"]
    per_draw = proj.ds["jobs_private"] + proj.ds["jobs_public"]
    expected = per_draw.sel(place="1101").median("draw")
    assert j[("neutral", int(years[3]))] == pytest.approx(
        float(expected.sel(scenario="neutral", year=years[3]))
    )
    assert (jobs["series"] == "history").sum() == proj.ds.sizes["history_year"]
    ages = fan.age_group_fan_data(proj, unit, "neutral")
    assert sorted(ages["age_group"].unique()) == sorted(pt.AGE_GROUP_VARIABLES)
    old = ages[ages["age_group"] == "67+"].set_index("year")["median"]
    oldest = ages[ages["age_group"] == "80+"].set_index("year")["median"]
    assert (oldest < old).all()
    direct = proj.ds["age_group_population"].sel(place="1101", scenario="neutral", age_group="67+")
    np.testing.assert_allclose(old.to_numpy(), direct.median("draw").values)


def test_pyramid_medians_match_the_pyramid_variable(proj):
    unit = pt.resolve_unit(proj, "county", "11")
    last = int(proj.ds["pyramid_year"].values[-1])
    base_year = int(proj.ds["pyramid_year"].values[0])
    pyr = proj.ds["pyramid"].sel(scenario="neutral", pyramid_place=list(unit.members))
    pyr = pyr.sum("pyramid_place")
    single = fan.pyramid_data(proj, unit, "neutral", last)
    assert len(single) == 2 * proj.ds.sizes["age"]
    men = single[single["sex"] == "male"].set_index("age")
    np.testing.assert_allclose(
        men["median"].to_numpy(), pyr.sel(pyramid_year=last, sex="male").median("draw").values
    )
    np.testing.assert_allclose(
        men["base"].to_numpy(), pyr.sel(pyramid_year=base_year, sex="male").median("draw").values
    )
    assert (single["lower_80"] <= single["median"]).all()
    assert (single["median"] <= single["upper_80"]).all()
    five = fan.pyramid_data(proj, unit, "neutral", last, bin_width=5)
    women = five[five["sex"] == "female"].set_index("age")
    assert women.loc[0, "label"] == "0-4"
    assert women.index.max() == 105
    assert women.loc[105, "label"] == "105+"
    grouped = pyr.sel(pyramid_year=last, sex="female", age=slice(20, 24)).sum("age")
    assert women.loc[20, "median"] == pytest.approx(float(grouped.median("draw")))
    assert women.loc[20, "upper_80"] == pytest.approx(float(grouped.quantile(0.9, "draw")))
    # every age counted once: per-draw bins add up to the population in the pyramid year
    total = pyr.sel(pyramid_year=last).sum(["sex", "age"])
    pop = pt.unit_draws(proj, "population", unit).sel(scenario="neutral", year=last)
    np.testing.assert_allclose(total.values, pop.values, rtol=1e-9)
    at_base = fan.pyramid_data(proj, unit, "neutral", base_year)
    assert at_base["base"].isna().all()
    with pytest.raises(DataError, match="no pyramid for 2027; pyramid years are"):
        fan.pyramid_data(proj, unit, "neutral", 2027)


def test_pyramids_from_stored_quantiles_match_those_from_draws(proj):
    """Without per-draw pyramids (the default) the stored quantiles of a place or group
    give the same pyramid rows as the draws did; other widths ask for --pyramids."""
    stored = example_projection(n_draws=60, n_places=6, first_year=2024, last_year=2032,
                                seed=3, pyramid_places=())  # fmt: skip
    assert "pyramid" not in stored.ds
    last = int(proj.ds["pyramid_year"].values[-1])
    for level, code in (("place", "1102"), ("county", "11"), ("centrality_class", "3"),
                        ("nation", None)):  # fmt: skip
        for width in (1, 5):
            expected = fan.pyramid_data(proj, pt.resolve_unit(proj, level, code), "neutral",
                                        last, bin_width=width)  # fmt: skip
            got = fan.pyramid_data(stored, pt.resolve_unit(stored, level, code), "neutral",
                                   last, bin_width=width)  # fmt: skip
            pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-5)
    with pytest.raises(DataError, match="--pyramids 1101"):
        fan.pyramid_data(stored, pt.resolve_unit(stored, "place", "1101"), "neutral", last,
                         bin_width=3)  # fmt: skip


def test_read_reference_checks_columns_and_numbers(tmp_path, reference_csv):
    ref = fan.read_reference(reference_csv)
    assert list(ref.columns) == ["year", "value", "label"]
    plain = tmp_path / "ssb.csv"
    plain.write_text("year,value\n2024,1\n2025,2\n", "utf-8")
    assert fan.read_reference(plain)["label"].unique().tolist() == ["ssb"]
    bad = tmp_path / "bad.csv"
    bad.write_text("year,value\n2024,1\n2025,x\n", "utf-8")
    with pytest.raises(DataError, match="line 3: year and value must be numbers"):
        fan.read_reference(bad)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("aar,verdi\n2024,1\n", "utf-8")
    with pytest.raises(DataError, match="missing column"):
        fan.read_reference(wrong)


# -- charts ---------------------------------------------------------------------------------------
def test_charts_render_to_valid_pngs(proj, reference_csv):
    open_before = set(plt.get_fignums())  # other tests in this process may leave figures
    unit = pt.resolve_unit(proj, "nation")
    data = fan.fan_chart_data(proj, "population", unit, reference=fan.read_reference(reference_csv))
    title = fan.fan_title("population", unit)
    assert title == "Population (1 January): Nation (6 places)"
    panels = fan.plot_fan_chart(data, title=title)
    assert len(panels.axes) == 2
    assert [ax.get_title() for ax in panels.axes] == ["neutral", "historical"]
    a, b = panels.axes
    assert a.get_ylim() == b.get_ylim()  # shared y axis
    labels = [t.get_text() for t in a.get_yticklabels()]
    assert any("," in t for t in labels), labels  # thousands separators
    assert {"observed", "SSB MMM"} <= set(a.get_legend_handles_labels()[1])
    assert "SSB MMM" in b.get_legend_handles_labels()[1]  # reference on every panel
    panels_shape = _png_shape(figure_bytes(panels))
    overlay = fan.plot_fan_chart(data, title=title, overlay=True)
    assert len(overlay.axes) == 1
    assert panels_shape[1] > _png_shape(figure_bytes(overlay))[1]
    ages = fan.plot_age_group_fans(fan.age_group_fan_data(proj, unit, "neutral"), title="t")
    assert len(ages.axes) == 4
    _png_shape(figure_bytes(ages))
    last = int(proj.ds["pyramid_year"].values[-1])
    for width, band in ((1, "whiskers"), (5, "shade")):
        pyr = fan.pyramid_data(proj, unit, "historical", last, bin_width=width)
        figure = fan.plot_pyramid(pyr, title="p", band=band)
        xmin, xmax = figure.axes[0].get_xlim()
        assert xmin < 0 < xmax  # men left, women right
        _png_shape(figure_bytes(figure))
    assert set(plt.get_fignums()) <= open_before  # figure_bytes closes figures


# -- tables --------------------------------------------------------------------------------------
def test_csv_and_parquet_round_trip(proj, tmp_path):
    table = pt.quantile_table(proj, level="region")
    csv = pt.write_table(table, tmp_path / "out" / "q.csv")
    back = pd.read_csv(csv, dtype={"place": str})
    pd.testing.assert_frame_equal(back, table, check_dtype=False, check_exact=False, rtol=1e-12)
    parquet = pt.write_table(table, tmp_path / "out" / "q.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), table, check_dtype=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["q.csv", "q.parquet"]
    with pytest.raises(DataError, match=r"\.csv, \.parquet or \.xlsx"):
        pt.write_table(table, tmp_path / "q.txt")
    with pytest.raises(DataError, match="already exists"):
        pt.write_table(table, csv, overwrite=False)


@pytest.mark.parametrize("norwegian", [False, True])
def test_excel_one_sheet_per_scenario_with_numeric_cells(proj, tmp_path, norwegian):
    table = pt.quantile_table(proj, level="county")
    path = pt.write_table(table, tmp_path / "q.xlsx", norwegian=norwegian)
    book = load_workbook(path)
    assert book.sheetnames == proj.scenarios
    wide = pt.wide_table(table)
    sheet = book["historical"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["place", "name", "year", "population_median"]
    assert "jobs_upper_95" in header
    assert "births_lower_80" in header
    assert sheet.max_row == 1 + 2 * proj.ds.sizes["year"]  # 2 counties x years
    rows = wide[wide["scenario"] == "historical"].reset_index(drop=True)
    col = header.index("population_median") + 1
    for i in range(len(rows)):
        cell = sheet.cell(row=i + 2, column=col)
        assert isinstance(cell.value, float)
        assert cell.value == pytest.approx(rows.loc[i, "population_median"])
        expected = pt.norwegian_number_format(cell.value) if norwegian else "#,##0"
        assert cell.number_format == expected
    assert sheet.cell(row=2, column=1).value == rows.loc[0, "place"]
    assert isinstance(sheet.cell(row=2, column=3).value, int)
    # births are NaN in the last year: empty cells, not text
    last_row = [c.value for c in sheet[sheet.max_row]]
    assert last_row[header.index("births_median")] is None
    formats = {c.number_format for row in sheet.iter_rows(min_row=2, min_col=4) for c in row
               if c.value is not None}  # fmt: skip
    if norwegian:
        assert "# ##0" in formats
        assert "#,##0" not in formats
    else:
        assert formats == {"#,##0"}


def test_norwegian_number_formats():
    f = pt.norwegian_number_format
    assert [f(5), f(999.4), f(999.6), f(1234), f(987_654)] == ["0", "0", "# ##0", "# ##0",
                                                                "# ##0"]  # fmt: skip
    assert f(5_432_109) == "# ### ##0"
    assert f(-12_345) == "# ##0"
    assert f(1234.5, 1) == "# ##0.0"
    assert f(float("nan")) == "0"


def test_trajectories_long_table_and_parquet(proj, tmp_path):
    full = pt.trajectories_table(proj)
    n = len(proj.scenarios) * proj.ds.sizes["draw"] * len(proj.places) * proj.ds.sizes["year"]
    assert len(full) == n
    assert list(full.columns[:4]) == ["scenario", "draw", "place", "year"]
    # the flows are kept as quantiles of every place and group, the rest per draw
    assert list(full.columns[4:]) == [v for v in pt.MAIN_VARIABLES if v not in FLOWS]
    with pytest.raises(DataError, match="keeps births as quantiles"):
        pt.trajectories_table(proj, variables=["births"])
    row = full[(full["scenario"] == "historical") & (full["draw"] == 7) & (full["place"] == "1104")
               & (full["year"] == 2027)].iloc[0]  # fmt: skip
    point = {"scenario": "historical", "draw": 7, "place": "1104", "year": 2027}
    assert row["population"] == float(proj.ds["population"].sel(point))
    assert row["jobs"] == pytest.approx(
        float(proj.ds["jobs_private"].sel(point) + proj.ds["jobs_public"].sel(point))
    )
    path = pt.write_trajectories(
        proj, tmp_path / "t.parquet", codes=["1101", "1103", "1105"],
        variables=["population", "jobs"], scenarios=["neutral"], chunk_places=2,
    )  # fmt: skip
    back = pd.read_parquet(path)
    assert len(back) == proj.ds.sizes["draw"] * 3 * proj.ds.sizes["year"]
    assert list(back.columns) == ["scenario", "draw", "place", "year", "population", "jobs"]
    assert sorted(back["place"].unique()) == ["1101", "1103", "1105"]
    expected = full[(full["scenario"] == "neutral") & full["place"].isin(["1101", "1103", "1105"])]
    merged = back.merge(expected, on=["scenario", "draw", "place", "year"], suffixes=("", "_x"))
    assert len(merged) == len(back)
    np.testing.assert_allclose(merged["population"], merged["population_x"])
    counties = pt.trajectories_table(proj, level="county", variables=["population"])
    agg = proj.aggregate("county")["population"]
    got = counties.set_index(["scenario", "draw", "place", "year"])["population"]
    assert got[("neutral", 3, "15", 2030)] == pytest.approx(
        float(agg.sel(scenario="neutral", draw=3, place="15", year=2030))
    )
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temporary files left


# -- the fan command -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proj_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("proj")
    example_projection(n_draws=40, n_places=6, first_year=2024, last_year=2050, seed=5).save(
        path / "projection.nc"
    )
    return path


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_fan_command_for_a_place_with_table_and_pyramid(proj_dir, tmp_path):
    out, csv = tmp_path / "fan.png", tmp_path / "fan.csv"
    args = ["fan", str(proj_dir), "--place", "1102", "--out", str(out), "--table", str(csv),
            "--pyramid", "2050"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Population (1 January): Place 1102 (1102): median [80 % interval]" in result.output
    proj = example_projection(n_draws=40, n_places=6, first_year=2024, last_year=2050, seed=5)
    lines = {line.split()[0]: line for line in result.output.splitlines() if line[:6].strip()
             .isdigit()}  # fmt: skip
    assert list(lines) == ["2024", "2030", "2040", "2050"]
    median_2040 = float(proj.ds["population"].sel(place="1102", year=2040, scenario="neutral")
                        .median("draw"))  # fmt: skip
    assert f"{median_2040:,.0f} [" in lines["2040"]
    _png_shape(out.read_bytes())
    for scenario in ("neutral", "historical"):
        _png_shape((tmp_path / f"fan_pyramid_2050_{scenario}.png").read_bytes())
    table = pd.read_csv(csv, dtype={"place": str})
    assert set(table["place"]) == {"1102"}
    assert set(table["variable"]) == set(pt.MAIN_VARIABLES)
    assert len(table) == 2 * 27 * len(pt.MAIN_VARIABLES)


def test_counts_are_integers_on_disk_only_when_whole(tmp_path):
    """The engine's stocks are whole persons and are stored as int32; a result with
    fractional counts keeps them (saving never rounds)."""
    import h5py

    from attrbayes.projection.result import ProjectionResult

    result = example_projection(n_draws=4, n_places=3, first_year=2024, last_year=2027, seed=1)
    assert (result.ds["population"] % 1 != 0).any()
    path = result.save(tmp_path / "fractional.nc")
    np.testing.assert_array_equal(ProjectionResult.load(path).ds["population"],
                                  result.ds["population"])  # fmt: skip
    result.ds["population"] = np.round(result.ds["population"])
    path = result.save(tmp_path / "whole.nc")
    with h5py.File(path) as raw:
        assert raw["population"].dtype == np.int32
    np.testing.assert_array_equal(ProjectionResult.load(path).ds["population"],
                                  result.ds["population"])  # fmt: skip


def test_fan_command_for_a_county_to_norwegian_xlsx(proj_dir, tmp_path):
    xlsx = tmp_path / "c.xlsx"
    args = ["fan", str(proj_dir), "--county", "11", "--scenario", "historical", "--variable",
            "67+", "--table", str(xlsx), "--norwegian"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Population aged 67+: County 11 (3 places)" in result.output
    assert "historical" in result.output
    assert "neutral" not in result.output
    book = load_workbook(xlsx)
    assert book.sheetnames == ["historical"]
    cell = book["historical"]["D2"]
    assert isinstance(cell.value, float)
    assert cell.number_format == "# ##0"


def test_fan_command_for_the_nation_from_the_nc_file(proj_dir, tmp_path, reference_csv):
    out, parquet = tmp_path / "n.png", tmp_path / "n.parquet"
    args = ["fan", str(proj_dir / "projection.nc"), "--nation", "--variable", "jobs",
            "--reference", str(reference_csv), "--out", str(out), "--overlay", "--age-groups",
            "--table", str(parquet)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Jobs (by workplace): Nation (6 places)" in result.output
    _png_shape(out.read_bytes())
    _png_shape((tmp_path / "n_age_groups_neutral.png").read_bytes())
    table = pd.read_parquet(parquet)
    assert set(table["place"]) == {"nation"}
    assert set(table["level"]) == {"nation"}
    births = runner.invoke(app, ["fan", str(proj_dir), "--class", "3", "--variable", "births"])
    assert births.exit_code == 0, births.output
    assert "2050" in births.output
    assert " -" in births.output  # no births in the last year


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--place", "9999"], "unknown place '9999'; valid codes include 1101, 1102"),
        (["--county", "99"], "unknown county '99'; valid codes include 11, 15"),
        (["--class", "9"], "unknown centrality class '9'"),
        (["--place", "1101", "--nation"], "choose exactly one of --place"),
        ([], "choose exactly one of --place"),
        (["--nation", "--scenario", "high"], "unknown scenario 'high'; have neutral, historical"),
        (["--nation", "--variable", "jobz"], "unknown variable 'jobz'; choose from population"),
        (["--nation", "--pyramid", "2050"], "--pyramid and --age-groups need --out"),
        (["--nation", "--pyramid", "2031", "--out", "x.png"], "no pyramid for 2031"),
        (["--nation", "--table", "x.txt"], ".csv, .parquet or .xlsx"),
    ],
)
def test_fan_command_errors(proj_dir, tmp_path, extra, message):
    extra = [str(tmp_path / e) if e.startswith("x.") else e for e in extra]
    result = runner.invoke(app, ["fan", str(proj_dir), *extra])
    assert result.exit_code == 1, result.output
    errors = _error_lines(result.output)
    assert len(errors) == 1, result.output
    assert message in errors[0]
    assert not list(tmp_path.iterdir())  # nothing written


def test_fan_command_without_a_projection(tmp_path):
    result = runner.invoke(app, ["fan", str(tmp_path), "--nation"])
    assert result.exit_code == 1
    assert "no saved projection here" in result.output
