"""SSB tables into panels: converters, CSV import, harmonisation, places and the CLI.

The fixtures (``fixtures/ssb``, written by ``make_fixtures.py``) describe a tiny Norway whose
values are set by simple formulas, so the expected numbers below are computed by hand.
"""

from __future__ import annotations

import dataclasses
import tomllib

import httpx
import numpy as np
import pandas as pd
import pytest
from ssb_mock import FIXTURES, FakeSsb, fixture_doc
from typer.testing import CliRunner

from attrbayes.cli import app
from attrbayes.data import read_panel, ssb_panel
from attrbayes.data.geography import read_csdata_crosswalk
from attrbayes.data.ssb import RateLimiter, SsbClient, TableMetadata
from attrbayes.data.ssb_csv import read_statbank_csv
from attrbayes.data.ssb_tables import (
    SSB_TABLES,
    ConversionReport,
    Dim,
    SsbTable,
    Variable,
    build_selection,
    convert,
    convert_fertility,
    normalise_api,
    normalise_csv,
    region_kind,
    table_for_export,
)
from attrbayes.exceptions import DataError

runner = CliRunner()
DEFAULT = [t.id for t in SSB_TABLES.values() if t.default]
# per place: the population total of 2022 (106 ages x (10k + 10k + 1) + 2 newborns)
TOTAL_2022 = {"0301": 106 * 21 + 2, "3001": 106 * 41 + 2, "5001": 106 * 61 + 2}


def offline_client(cache=None, fake: FakeSsb | None = None) -> SsbClient:
    return SsbClient(
        cache_dir=cache,
        transport=(fake or FakeSsb()).transport,
        rate_limiter=RateLimiter(clock=lambda: 0.0, sleep=lambda s: None),
        sleep=lambda s: None,
    )


@pytest.fixture(scope="module")
def fetched() -> ssb_panel.SsbBuild:
    return ssb_panel.fetch_tables(offline_client(), DEFAULT, (2022, 2023))


def _convert_api(table_id: str, years=(2022, 2023)):
    client = offline_client()
    table = SSB_TABLES[table_id]
    meta = client.metadata(table_id)
    result = client.fetch(table_id, build_selection(table, meta, years))
    report = ConversionReport()
    return convert(table, normalise_api(table, result.frame, meta), report), report


# ---------------------------------------------------------------------------------------
# the registry and the selection
# ---------------------------------------------------------------------------------------
def test_registry_entries_are_complete():
    for table_id, table in SSB_TABLES.items():
        assert table.id == table_id
        assert len(table_id) == 5
        assert table_id.isdigit()
        assert table.verified, f"{table_id} must say what was verified"
        assert {d.role for d in table.dims} >= {"year", "contents"}
        assert table.variables


def test_selection_from_metadata_takes_municipalities_years_sexes_and_single_ages():
    client = offline_client()
    meta = client.metadata("07459")
    selection = build_selection(SSB_TABLES["07459"], meta, (2022, 2023))
    assert selection["Region"] == ("0101", "0301", "2111", "3001", "5001")  # 4-digit codes
    assert selection["Tid"] == ("2022", "2023")
    assert selection["Kjonn"] == ("1", "2")
    assert len(selection["Alder"]) == 106
    components = build_selection(SSB_TABLES["06913"], client.metadata("06913"), None)
    assert "0" in components["Region"]  # the whole country, for net immigration
    assert len(components["ContentsCode"]) == 4  # only the statistics used
    jobs = build_selection(SSB_TABLES["11618"], client.metadata("11618"), None)
    assert jobs["Kjonn"] == ("0",)
    assert jobs["Alder"] == ("15-74",)
    assert jobs["ContentsCode"] == ("SysselArbsted",)
    with pytest.raises(DataError, match=r"nothing to select for Tid \(year\) in 1990-1999"):
        build_selection(SSB_TABLES["07459"], meta, (1990, 1999))


def _variant(**dims: Dim) -> SsbTable:
    base = {d.role: d for d in SSB_TABLES["07459"].dims}
    return dataclasses.replace(SSB_TABLES["07459"], dims=tuple({**base, **dims}.values()))


def test_a_registry_entry_that_does_not_match_ssbs_metadata_says_where_to_fix_it():
    meta = offline_client().metadata("07459")
    wrong = _variant(sex=Dim("sex", "Kjoenn", ("kjønn",)))  # no id match, no label pattern
    with pytest.raises(DataError, match=r"no dimension 'Kjoenn'.*correct SSB_TABLES\['07459'\]"):
        build_selection(wrong, meta, None)
    # a wrong region id is found by SSB's geo role, a wrong sex id by the label pattern
    found = _variant(
        region=Dim("region", "Kommune", ("region",)),
        sex=Dim("sex", "Kjoenn", ("kjønn",), label=r"kjønn"),
    )
    assert build_selection(found, meta, None)["Kjonn"] == ("1", "2")
    # a dimension that must be selected but has no role is an error too
    lacking = dataclasses.replace(
        SSB_TABLES["07459"], dims=tuple(d for d in SSB_TABLES["07459"].dims if d.role != "age")
    )
    doc = fixture_doc("07459_metadata.json")
    doc["dimension"]["Alder"]["extension"]["elimination"] = False
    with pytest.raises(DataError, match=r"\['Alder'\] must be selected"):
        build_selection(lacking, TableMetadata.from_jsonstat("07459", doc), None)


def test_region_kinds():
    assert region_kind("0301") == "municipality"
    assert region_kind("0") == "national"
    assert region_kind("21") == "county"
    assert region_kind("2111") == "Svalbard"
    assert region_kind("2311") == "continental shelf"
    assert region_kind("9999") == "unknown/abroad"


# ---------------------------------------------------------------------------------------
# converters, with hand-checked values
# ---------------------------------------------------------------------------------------
def test_population_from_the_api(fetched):
    pop = fetched.tables["population"]
    assert set(pop["place"]) == {"0301", "3001", "5001"}  # Svalbard and 0101 set aside
    assert len(pop) == 3 * 2 * 106 * 2
    row = pop[(pop["place"] == "3001") & (pop["sex"] == "female") & (pop["age"] == 0)]
    assert row.set_index("year")["population"].to_dict() == {2022: 22.0, 2023: 23.0}
    assert pop.loc[(pop["place"] == "5001") & (pop["age"] == 105), "population"].unique()[0] == 30
    totals = pop.groupby(["place", "year"])["population"].sum()
    assert totals[("0301", 2022)] == TOTAL_2022["0301"]
    text = fetched.report.text()
    assert "07459: region: 1 Svalbard code(s) ['2111'] excluded" in text
    assert "07459: 424 row(s) without a value excluded: 424 '.' (cannot occur)" in text


def test_components_and_national_immigration(fetched):
    comp = fetched.tables["components"].set_index(["place", "year"])
    assert len(comp) == 6
    assert comp.loc[("3001", 2023)].to_dict() == {
        "births": 5.0,
        "deaths": 4.0,
        "net_migration": 1.0,
    }
    imm = fetched.tables["immigration"].set_index("year")
    national = sum(TOTAL_2022.values()) + 2 * 106 * 2  # three places plus Svalbard
    assert imm.loc[2022, "net_immigration"] == 3
    assert imm.loc[2022, "net_immigration_rate"] == pytest.approx(3 / national)
    assert "06913: region: 1 national code(s) ['0'] excluded from municipal tables" in (
        fetched.report.text()
    )


def test_jobs_from_11618_are_totals_by_workplace(fetched):
    jobs = fetched.tables["jobs"].set_index(["place", "year"])
    assert set(jobs["sector"]) == {"total"}
    assert jobs.loc[("5001", 2023), "jobs"] == 570 * 3


def test_jobs_by_sector_fall_back_to_the_total_where_a_sector_is_confidential():
    tables, report = _convert_api("13470")
    jobs = tables["jobs"]
    oslo = jobs[(jobs["place"] == "0301") & (jobs["year"] == 2022)].set_index("sector")["jobs"]
    assert oslo.to_dict() == {"state": 50, "county": 20, "municipal": 100, "private": 400}
    trondheim = jobs[(jobs["place"] == "5001") & (jobs["year"] == 2022)]
    assert trondheim[["sector", "jobs"]].values.tolist() == [["total", 570 * 3]]
    text = report.text()
    assert "13470: 1 row(s) without a value excluded: 1 ':' (confidential)" in text
    assert "1 place-year(s) without every sector" in text


def test_commuting_sets_aside_the_continental_shelf_and_zero_flows(fetched):
    com = fetched.tables["commuting"].set_index(["year", "residence", "workplace"])
    assert com.loc[(2022, "3001", "0301"), "employed"] == 7  # lives in Halden, works in Oslo
    assert com.loc[(2023, "5001", "5001"), "employed"] == 300
    assert len(com) == 2 * 4  # three diagonal cells and one flow per year
    text = fetched.report.text()
    assert "03321: workplace: 1 continental shelf code(s) ['2311'] excluded" in text
    assert "03321: 10 zero flows omitted" in text


def test_mortality_from_per_mille_and_within_the_panels_ages(fetched):
    mort = fetched.tables["mortality"].set_index(["year", "sex", "age"])["death_probability"]
    assert mort[(2022, "male", 50)] == pytest.approx((1 + 50 / 10) / 1000)
    assert mort[(2023, "female", 105)] == pytest.approx((0.5 + 105 / 10) / 1000)
    assert len(mort) == 2 * 2 * 106  # both-sexes rows and age 106 set aside
    assert "07902: ages outside 0-105 excluded: ['106'] (4 rows)" in fetched.report.text()


def test_fertility_converter_scales_per_thousand_and_keeps_ages_10_to_55():
    table = SsbTable(
        id="00000", name="fertility", title="t", holds="h", converter="fertility",
        produces=("fertility",), dims=(Dim("age", "Alder", ("alder",)),
        Dim("contents", "ContentsCode", ("statistikkvariabel",)), Dim("year", "Tid", ("år",))),
        variables=(Variable("fertility_rate", (), r"levendefødte per 1000", scale=0.001),),
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "age": [9, 30, 49, 56],
            "year": [2022] * 4,
            "variable": ["fertility_rate"] * 4,
            "variable_label": ["Levendefødte per 1000 kvinner"] * 4,
            "value": [0.1, 120.5, np.nan, 0.0],
            "status": ["", "", "..", ""],
        }
    )
    report = ConversionReport()
    out = convert_fertility(frame, table, report)["fertility"]
    assert out.to_dict("records") == [{"year": 2022, "age": 30, "fertility_rate": 0.1205}]
    assert "ages outside 10-55 excluded: ['56', '9'] (2 rows)" in report.text()
    assert "1 '..' (not available)" in report.text()


def test_employment_rates_from_06445_by_age_group_become_single_ages():
    """06445 (fixture: national base by group, men +2, women -2 points, +1 in 2019)."""
    assert not SSB_TABLES["06445"].default
    selection = build_selection(SSB_TABLES["06445"], offline_client().metadata("06445"), None)
    assert selection["Region"] == ("0",)  # the whole country only
    assert selection["Kjonn"] == ("1", "2")
    assert len(selection["Alder"]) == 7  # every group, the total 15-74 among them
    tables, report = _convert_api("06445", years=(2018, 2019))
    rates = tables["employment_rates"]
    assert list(rates.columns) == ["year", "sex", "age", "employment_rate"]
    assert len(rates) == 2 * 2 * 106
    e = rates.set_index(["year", "sex", "age"])["employment_rate"]
    # each group's mean is its rate: 25-39 men 2019 = 80 + 2 + 1 = 83 %
    assert e.loc[2019, "male"].loc[25:39].mean() == pytest.approx(0.83)
    assert e.loc[2018, "female"].loc[55:66].mean() == pytest.approx(0.64)
    # 67-74 has one anchor after the jump allowed at 67: flat at its rate
    np.testing.assert_allclose(e.loc[2018, "male"].loc[67:74], 0.16)
    assert (e.loc[2018, "male"].loc[:14] == 0).all()
    assert (e.loc[2018, "male"].loc[75:] == 0).all()
    assert e.between(0, 1).all()
    text = report.text()
    assert "06445: age groups containing others set aside: ['15-74']" in text
    # the panel contract takes the table as it is (one schedule per year)
    from attrbayes.data.panel import Manifest, Panel

    places = ssb_panel.read_places(FIXTURES / "places.csv")
    cells = [(p, y, s, a) for p in places["place"] for y in (2018, 2019)
             for s in ("female", "male") for a in range(106)]  # fmt: skip
    pop = pd.DataFrame(cells, columns=["place", "year", "sex", "age"]).assign(population=10.0)
    tables = {"places": places, "population": pop, "employment_rates": rates}
    panel = Panel.from_tables(Manifest(name="x", first_year=2018, last_year=2019), tables)
    assert len(panel.tables["employment_rates"]) == len(rates)


# ---------------------------------------------------------------------------------------
# statbank CSV exports: same converters, same result
# ---------------------------------------------------------------------------------------
def test_csv_and_api_give_the_same_population(fetched):
    export = read_statbank_csv(FIXTURES / "07459.csv")  # Latin-1
    table = table_for_export(export, "07459.csv")
    report = ConversionReport()
    pop = convert(table, normalise_csv(table, export), report)["population"]
    key = ["place", "year", "sex", "age"]
    api = fetched.tables["population"].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(pop.sort_values(key).reset_index(drop=True), api)
    assert "424 with one of SSB's symbols" in report.text()


def test_csv_components_with_years_as_columns_and_the_whole_country():
    build = ssb_panel.import_exports([FIXTURES / "06913.csv"])
    comp = build.tables["components"].set_index(["place", "year"])
    assert comp.loc[("5001", 2022), "net_migration"] == 1
    assert build.tables["immigration"].set_index("year").loc[2023, "net_immigration"] == 3
    text = build.report.text()
    assert "06913: region: 1 county code(s) ['21'] excluded" in text
    assert "06913: statistics not used: ['Folketilvekst']" in text


def test_unknown_or_untitled_exports_are_refused(tmp_path):
    with pytest.raises(DataError, match="SSB table 99999 is not one attrbayes can import"):
        ssb_panel.import_exports([FIXTURES / "99999.csv"])
    untitled = tmp_path / "untitled.csv"
    untitled.write_text('"region";"år";"Personer"\n"0301 Oslo";"2022";5\n', "utf-8")
    with pytest.raises(DataError, match="does not start with a table number"):
        ssb_panel.import_exports([untitled])


def test_two_tables_filling_one_panel_table_are_refused():
    client = offline_client()
    with pytest.raises(DataError, match=r"more than one SSB table.*'jobs': \['11618', '13470'\]"):
        ssb_panel.fetch_tables(client, ["07459", "11618", "13470"], (2022, 2023))


# ---------------------------------------------------------------------------------------
# places, harmonisation, assembly
# ---------------------------------------------------------------------------------------
def test_places_file_is_checked_and_missing_columns_are_named(tmp_path):
    places = ssb_panel.read_places(FIXTURES / "places.csv")
    assert places["place"].tolist() == ["0301", "3001", "5001"]
    assert places["centrality"].tolist() == [1000, 712.5, 904]
    bad = tmp_path / "bad.csv"
    bad.write_text("place,name,region\n0301,Oslo,R1\n", "utf-8")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['county', 'centrality', "):
        ssb_panel.read_places(bad)
    short = tmp_path / "short.parquet"
    places.assign(place=["301", "3001", "5001"]).to_parquet(short)
    with pytest.raises(DataError, match=r"4-digit codes like '0301'; got \['301'\]"):
        ssb_panel.read_places(short)


def test_assembly_without_places_says_what_is_needed(fetched):
    build = ssb_panel.SsbBuild(dict(fetched.tables), ConversionReport(), [])
    with pytest.raises(DataError, match=r"no panel written.*--places FILE.*centrality_class"):
        ssb_panel.assemble_panel(build, places=None)


def test_codes_with_data_missing_from_the_places_are_an_error(fetched):
    build = ssb_panel.SsbBuild(dict(fetched.tables), ConversionReport(), [])
    places = ssb_panel.read_places(FIXTURES / "places.csv").iloc[:2]
    with pytest.raises(DataError, match=r"population: 1 place code\(s\) with data.*\['5001'\]"):
        ssb_panel.assemble_panel(build, places=places)


def _crosswalk(tmp_path):
    rows = ["location_code_original,location_code_current,calyear,weighting"]
    for year in (2022, 2023):
        rows += [f"municip_nor0301,municip_nor0301,{year},1.0",
                 f"municip_nor3001,municip_nor3101,{year},1.0",
                 f"municip_nor5001,municip_nor5001,{year},0.75",
                 f"municip_nor5001,municip_nor5099,{year},0.25"]  # fmt: skip
    path = tmp_path / "crosswalk.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


def test_harmonised_panel_apportions_splits_and_reports_them(fetched, tmp_path):
    build = ssb_panel.SsbBuild(
        {k: v.copy() for k, v in fetched.tables.items()}, ConversionReport(), []
    )
    crosswalk = read_csdata_crosswalk(_crosswalk(tmp_path))
    places = pd.DataFrame(
        {
            "place": ["0301", "3101", "5001", "5099"],
            "name": ["Oslo", "Halden", "Trondheim", "Nyby"],
            "region": ["R1", "R2", "R3", "R3"],
            "county": ["03", "31", "50", "50"],
            "centrality": [1000.0, 712.5, 904.0, 500.0],
            "centrality_class": [1, 3, 2, 5],
        }
    )
    panel = ssb_panel.assemble_panel(build, places=places, crosswalk=crosswalk)
    assert panel.manifest.structure == "2024"
    totals = panel.population_totals()
    assert totals.loc["5099", 2022] == pytest.approx(0.25 * TOTAL_2022["5001"])
    assert totals.loc["3101", 2022] == TOTAL_2022["3001"]
    jobs = panel.table("jobs").set_index(["place", "year"])["jobs"]
    assert jobs[("5099", 2023)] == pytest.approx(0.25 * 570 * 3)
    com = panel.table("commuting").set_index(["year", "residence", "workplace"])["employed"]
    assert com[(2022, "3101", "0301")] == 7
    assert com[(2022, "5099", "5099")] == pytest.approx(300 * 0.25 * 0.25)
    assert set(build.splits["original"]) == {"5001"}
    assert "split 5001 (2022) -> 5001 0.750, 5099 0.250" in build.report.text()


def test_years_beyond_the_population_are_cut_and_reported(fetched):
    build = ssb_panel.SsbBuild(dict(fetched.tables), ConversionReport(), [])
    assert ssb_panel.window(build, (2020, 2030)) == (2022, 2023)
    assert "population: covers 2022-2023 only" in build.report.text()
    assert ssb_panel.window(build, (2023, 2023)) == (2023, 2023)
    assert set(build.tables["components"]["year"]) == {2023}
    assert "years [2022] outside 2023-2023 cut" in build.report.text()
    with pytest.raises(DataError, match="no population in 1990-1995"):
        ssb_panel.window(build, (1990, 1995))
    with pytest.raises(DataError, match=r"no population \(SSB table 07459\) among the inputs"):
        ssb_panel.window(ssb_panel.import_exports([FIXTURES / "06913.csv"]), None)


def test_fetch_with_a_progress_bar_gives_the_same_tables(fetched):
    build = ssb_panel.fetch_tables(offline_client(), ["07459"], (2022, 2023), progress=True)
    pd.testing.assert_frame_equal(build.tables["population"], fetched.tables["population"])


def test_structure_needs_a_crosswalk():
    with pytest.raises(DataError, match="--structure 2020 needs --crosswalk FILE"):
        ssb_panel.load_crosswalk(None, "2020")
    with pytest.raises(DataError, match="must be one of"):
        ssb_panel.load_crosswalk(None, "2017")


def test_codes_not_in_use_holding_zeros_are_dropped_before_harmonising(tmp_path):
    crosswalk = read_csdata_crosswalk(_crosswalk(tmp_path))
    pop = pd.DataFrame(
        {
            "place": ["0301", "0101", "0101"],
            "year": [2022, 2022, 2023],
            "sex": ["male"] * 3,
            "age": [0] * 3,
            "population": [5.0, 0.0, 0.0],
        }
    )
    build = ssb_panel.SsbBuild({"population": pop}, ConversionReport(), [])
    ssb_panel.harmonise_build(build, crosswalk)
    assert build.tables["population"]["place"].tolist() == ["0301"]
    assert "2 place-year(s) of codes not in use that year" in build.report.text()
    pop.loc[2, "population"] = 1.0  # data for a code the crosswalk does not know
    build = ssb_panel.SsbBuild({"population": pop}, ConversionReport(), [])
    with pytest.raises(DataError, match="unknown to the crosswalk"):
        ssb_panel.harmonise_build(build, crosswalk)


# ---------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------
def test_cli_import_builds_a_panel_that_validates(tmp_path):
    out = tmp_path / "panel"
    args = ["data", "import", "--from", str(FIXTURES / "07459.csv"), str(FIXTURES / "06913.csv"),
            "--from", str(FIXTURES / "03321.csv"), "--out", str(out),
            "--places", str(FIXTURES / "places.csv")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "03321: 10 zero flows omitted" in result.output
    checked = runner.invoke(app, ["data", "validate", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "valid panel 'ssb-2022-2023'" in checked.output
    panel = read_panel(out)
    assert set(panel.tables) == {"places", "population", "components", "immigration",
                                 "commuting"}  # fmt: skip
    assert (out / "ssb_report.txt").read_text("utf-8").startswith("SSB tables:")
    manifest = tomllib.loads((out / "manifest.toml").read_text("utf-8"))
    assert "07459 (population) from 07459.csv" in manifest["provenance"]["ssb_tables"]
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_cli_import_without_places_writes_nothing_and_says_why(tmp_path):
    out = tmp_path / "panel"
    result = runner.invoke(
        app, ["data", "import", "--from", str(FIXTURES / "07459.csv"), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "error:" in result.output
    assert "--places FILE" in result.output
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no temporary directory left either


def test_cli_import_of_an_unknown_table_fails_with_one_line(tmp_path):
    result = runner.invoke(
        app, ["data", "import", "--from", str(FIXTURES / "99999.csv"), "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 1
    assert "SSB table 99999 is not one attrbayes can import" in result.output


@pytest.fixture
def fake_ssb(monkeypatch):
    fake = FakeSsb()

    def open_client(cache_dir, *, refresh=False):
        return SsbClient(
            cache_dir=cache_dir,
            refresh=refresh,
            transport=fake.transport,
            rate_limiter=RateLimiter(clock=lambda: 0.0, sleep=lambda s: None),
            sleep=lambda s: None,
        )

    monkeypatch.setattr(ssb_panel, "open_client", open_client)
    return fake


def test_cli_fetch_builds_a_panel_and_a_rerun_is_offline(tmp_path, fake_ssb):
    out, cache = tmp_path / "panel", tmp_path / "cache"
    args = ["data", "fetch-ssb", "--out", str(out), "--years", "2022:2023", "--cache", str(cache),
            "--places", str(FIXTURES / "places.csv")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(fake_ssb.calls) == 2 * len(DEFAULT)  # metadata and one data chunk per table
    panel = read_panel(out)
    assert set(panel.tables) == {"places", "population", "components", "immigration", "jobs",
                                 "commuting", "mortality"}  # fmt: skip
    assert panel.manifest.first_year == 2022
    assert runner.invoke(app, ["data", "validate", str(out)]).exit_code == 0
    fake_ssb.script = [httpx.ConnectError("offline")] * 100
    rerun = runner.invoke(app, [*args, "--force"])
    assert rerun.exit_code == 0, rerun.output
    assert len(fake_ssb.calls) == 2 * len(DEFAULT)  # nothing new was asked


def test_cli_fetch_without_places_caches_then_explains(tmp_path, fake_ssb):
    out, cache = tmp_path / "panel", tmp_path / "cache"
    result = runner.invoke(
        app, ["data", "fetch-ssb", "--out", str(out), "--cache", str(cache), "--tables", "07459"]
    )
    assert result.exit_code == 1
    assert "--places FILE" in result.output
    assert not out.exists()
    assert len(list(cache.rglob("*.meta.json"))) == 2  # metadata and data are cached


def test_cli_fetch_reports_ssb_errors_in_one_line(tmp_path, fake_ssb):
    fake_ssb.script = [
        httpx.Response(400, json={"title": "Bad Request", "detail": "Unknown table"})
    ]
    result = runner.invoke(
        app, ["data", "fetch-ssb", "--out", str(tmp_path / "p"), "--cache", str(tmp_path / "c"),
              "--tables", "07459"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "SSB table 07459 (metadata): HTTP 400: Bad Request - Unknown table" in result.output
    assert not (tmp_path / "p").exists()
