"""The panel data contract: round trips, atomic writes and every refusal of read_panel."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrbayes.data import panel as panel_module
from attrbayes.data.panel import (
    MANIFEST,
    Manifest,
    Panel,
    balance_residuals,
    read_panel,
    write_panel,
)
from attrbayes.data.schema import TABLES
from attrbayes.exceptions import DataError, MissingTableError
from attrbayes.io_utils import OWNER_FILE
from attrbayes.synthetic import SyntheticPanel, synthesize_panel

# Synthetic panels carry every table but the supplied industry effect (they have jobs by
# industry to compute it from).
SYNTHETIC_TABLES = sorted(set(TABLES) - {"industry_effect"})

# A small place and a year in the middle of the panel, used by the balance tests.
PLACE = "1501"
YEAR = 2003


@pytest.fixture(scope="module")
def synth() -> SyntheticPanel:
    return synthesize_panel(n_places=16, first_year=2000, last_year=2006, seed=3)


@pytest.fixture(scope="module")
def valid(synth: SyntheticPanel) -> Panel:
    return synth.panel


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory, valid: Panel) -> Path:
    """The valid panel written once; tests copy it before breaking it."""
    return write_panel(valid, tmp_path_factory.mktemp("base") / "panel")


@pytest.fixture
def panel_dir(tmp_path: Path, base_dir: Path) -> Path:
    return Path(shutil.copytree(base_dir, tmp_path / "panel"))


def edit(root: Path, table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Rewrite one table file of the panel at ``root`` through ``change``."""
    file = root / f"{table}.parquet"
    change(pd.read_parquet(file)).to_parquet(file, index=False)


def set_value(df: pd.DataFrame, where: pd.Series, column: str, value: object) -> pd.DataFrame:
    df = df.copy()
    df.loc[where, column] = value
    return df


def edit_manifest(root: Path, old: str, new: str) -> None:
    path = root / MANIFEST
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in the manifest"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def msg(*parts: str) -> str:
    """A regex requiring the literal ``parts`` in order."""
    return ".*".join(re.escape(p) for p in parts)


def first_row(df: pd.DataFrame, **conditions: object) -> pd.Series:
    mask = np.ones(len(df), dtype=bool)
    for col, value in conditions.items():
        mask &= (df[col] == value).to_numpy()
    assert mask.any()
    return pd.Series(mask & (np.cumsum(mask) == 1), index=df.index)


# ---------------------------------------------------------------------------------------
# writing and the round trip
# ---------------------------------------------------------------------------------------
def test_round_trip_gives_equal_tables(valid: Panel, base_dir: Path):
    back = read_panel(base_dir)
    assert sorted(back.tables) == sorted(valid.tables) == sorted(SYNTHETIC_TABLES)
    for name, df in valid.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], df, obj=name)


def test_round_trip_gives_equal_manifest(valid: Panel, base_dir: Path):
    m, back = valid.manifest, read_panel(base_dir).manifest
    for f in ("name", "first_year", "last_year", "structure", "description", "schema_version"):
        assert getattr(back, f) == getattr(m, f), f
    assert (
        dict(back.balance_tolerance)
        == dict(m.balance_tolerance)
        == {
            "persons": 0.0,
            "relative": 0.0,
        }
    )
    # provenance keeps what the panel had and records the writer
    assert {k: back.provenance[k] for k in m.provenance} == dict(m.provenance)
    assert {"attrbayes_version", "written"} <= set(back.provenance)
    assert back.years == range(2000, 2007)


def test_manifest_text_round_trips_special_characters(tmp_path: Path, valid: Panel):
    m = dataclasses.replace(
        valid.manifest, name='quote " and \\ slash', description="two\nlines, Ørnestrand"
    )
    panel = Panel.from_tables(m, valid.tables)
    back = read_panel(write_panel(panel, tmp_path / "p")).manifest
    assert back.name == m.name
    assert back.description == m.description


def test_numpy_scalars_in_the_manifest_are_written_as_toml(tmp_path: Path, valid: Panel):
    m = dataclasses.replace(
        valid.manifest,
        balance_tolerance={"persons": np.float64(1.5), "relative": np.float32(0.25)},
        provenance={"seed": np.int64(3), "flag": np.bool_(True), "ratio": np.float64(0.1)},
    )
    back = read_panel(write_panel(Panel.from_tables(m, valid.tables), tmp_path / "p")).manifest
    assert back.balance_tolerance == {"persons": 1.5, "relative": 0.25}
    assert back.provenance["seed"] == 3
    assert isinstance(back.provenance["seed"], int)
    assert back.provenance["flag"] is True
    assert back.provenance["ratio"] == 0.1


def test_place_codes_stay_four_character_strings(base_dir: Path, valid: Panel):
    raw = pd.read_parquet(base_dir / "places.parquet")
    assert pd.api.types.is_string_dtype(raw["place"])
    back = read_panel(base_dir)
    assert "0301" in back.place_codes
    assert back.place_codes == valid.place_codes
    assert all(isinstance(c, str) and len(c) == 4 for c in back.place_codes)
    for name in ("population", "jobs", "components"):
        assert "0301" in set(back.tables[name]["place"])
    assert {"0301"} <= set(back.tables["commuting"]["residence"])


def test_write_refuses_an_existing_directory(tmp_path: Path, valid: Panel):
    target = write_panel(valid, tmp_path / "exists")
    before = sorted(p.name for p in target.iterdir())
    with pytest.raises(DataError, match=msg(str(target), "already exists", "--force")):
        write_panel(valid, target)
    assert sorted(p.name for p in target.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists"]


def test_a_folder_with_foreign_files_is_never_replaced(tmp_path: Path, valid: Panel):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(DataError, match=msg(str(target), "did not write (keep.txt)")):
            write_panel(valid, target, overwrite=overwrite)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_overwrite_replaces_the_content(tmp_path: Path, valid: Panel):
    target = write_panel(valid, tmp_path / "p")
    small = Panel.from_tables(
        dataclasses.replace(valid.manifest, name="small"),
        {k: valid.tables[k] for k in ("places", "population")},
    )
    assert small.write(target, overwrite=True) == target
    assert sorted(p.name for p in target.iterdir()) == [
        OWNER_FILE,
        MANIFEST,
        "places.parquet",
        "population.parquet",
    ]
    back = read_panel(target)
    assert back.manifest.name == "small"
    assert not back.has("jobs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no .p.old, no temp dir
    (target / "stray.txt").write_text("a user's file")  # no longer only ours: kept
    with pytest.raises(DataError, match="did not write"):
        valid.write(target, overwrite=True)
    assert read_panel(target).manifest.name == "small"


def test_write_leaves_no_temporary_directories(tmp_path: Path, valid: Panel):
    parent = tmp_path / "deep" / "parent"  # created on demand
    target = write_panel(valid, parent / "panel")
    assert [p.name for p in parent.iterdir()] == ["panel"]
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [OWNER_FILE, MANIFEST, *(TABLES[t].file for t in SYNTHETIC_TABLES)]
    )


def test_failed_write_keeps_the_old_panel_and_cleans_up(
    tmp_path: Path, valid: Panel, monkeypatch: pytest.MonkeyPatch
):
    target = write_panel(valid, tmp_path / "p")
    before = (target / MANIFEST).read_text()

    def boom(_m: Manifest) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(panel_module, "_manifest_toml", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_panel(valid, target, overwrite=True)
    assert (target / MANIFEST).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


# ---------------------------------------------------------------------------------------
# read_panel: the manifest
# ---------------------------------------------------------------------------------------
def test_missing_manifest(panel_dir: Path):
    (panel_dir / MANIFEST).unlink()
    with pytest.raises(DataError, match=msg(str(panel_dir / MANIFEST), "no panel manifest")):
        read_panel(panel_dir)


def test_manifest_with_unknown_key(panel_dir: Path):
    edit_manifest(panel_dir, "schema_version = 1", 'colour = "red"\nschema_version = 1')
    with pytest.raises(DataError, match=msg(str(panel_dir / MANIFEST), "unknown key", "'colour'")):
        read_panel(panel_dir)


def test_manifest_missing_name(panel_dir: Path):
    edit_manifest(panel_dir, 'name = "synthetic-3"\n', "")
    with pytest.raises(DataError, match=msg(MANIFEST, "missing required key 'name'")):
        read_panel(panel_dir)


def test_manifest_wrong_schema_version(panel_dir: Path):
    edit_manifest(panel_dir, "schema_version = 1", "schema_version = 2")
    with pytest.raises(DataError, match=msg(MANIFEST, "schema_version 2 is not supported", "1")):
        read_panel(panel_dir)


def test_manifest_invalid_toml(panel_dir: Path):
    edit_manifest(panel_dir, "first_year = 2000", "first_year = = 2000")
    with pytest.raises(DataError, match=msg(MANIFEST, "not valid TOML")):
        read_panel(panel_dir)


def test_manifest_year_order_and_type(panel_dir: Path):
    edit_manifest(panel_dir, "first_year = 2000", "first_year = 2007")
    with pytest.raises(DataError, match=msg(MANIFEST, "first_year 2007 is after last_year 2006")):
        read_panel(panel_dir)
    edit_manifest(panel_dir, "first_year = 2007", 'first_year = "2000"')
    with pytest.raises(DataError, match=msg(MANIFEST, "'first_year' must be an integer", "'2000'")):
        read_panel(panel_dir)


def test_manifest_unknown_tolerance_key(panel_dir: Path):
    edit_manifest(panel_dir, "persons = 0.0", "people = 0.0")
    with pytest.raises(DataError, match=msg("balance_tolerance", "unknown key", "'people'")):
        read_panel(panel_dir)


# ---------------------------------------------------------------------------------------
# read_panel: files
# ---------------------------------------------------------------------------------------
def test_required_table_missing(panel_dir: Path):
    (panel_dir / "population.parquet").unlink()
    with pytest.raises(
        DataError, match=msg(str(panel_dir / "population.parquet"), "required table 'population'")
    ):
        read_panel(panel_dir)


def test_unknown_extra_parquet_file(panel_dir: Path):
    shutil.copy(panel_dir / "jobs.parquet", panel_dir / "jobs_extra.parquet")
    with pytest.raises(
        DataError, match=msg(str(panel_dir), "unknown table file", "'jobs_extra.parquet'")
    ):
        read_panel(panel_dir)


def test_unreadable_parquet(panel_dir: Path):
    (panel_dir / "jobs.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(
        DataError, match=msg(str(panel_dir / "jobs.parquet"), "cannot be read as Parquet")
    ):
        read_panel(panel_dir)


# ---------------------------------------------------------------------------------------
# read_panel: columns and values
# ---------------------------------------------------------------------------------------
def test_integer_place_codes_mention_the_leading_zero(panel_dir: Path):
    edit(panel_dir, "places", lambda df: df.assign(place=df["place"].astype(int)))
    with pytest.raises(
        DataError,
        match=msg("places.parquet, column 'place'", "expected strings", "int", "leading zero"),
    ):
        read_panel(panel_dir)


def test_three_character_code(panel_dir: Path):
    edit(panel_dir, "places", lambda df: set_value(df, df["place"] == "0301", "place", "301"))
    with pytest.raises(
        DataError, match=msg("places.parquet, column 'place'", "4-character", "got ['301']")
    ):
        read_panel(panel_dir)


def test_missing_required_column(panel_dir: Path):
    edit(panel_dir, "components", lambda df: df.drop(columns=["births"]))
    with pytest.raises(
        DataError, match=msg("components.parquet", "missing required column", "['births']")
    ):
        read_panel(panel_dir)


def test_missing_optional_column_is_fine(panel_dir: Path):
    edit(panel_dir, "places", lambda df: df.drop(columns=["students_share"]))
    assert "students_share" not in read_panel(panel_dir).places.columns


def test_unknown_column(panel_dir: Path):
    edit(panel_dir, "jobs", lambda df: df.assign(colour="red"))
    with pytest.raises(DataError, match=msg("jobs.parquet", "unknown column", "['colour']")):
        read_panel(panel_dir)


def test_nan_values(panel_dir: Path):
    edit(panel_dir, "jobs", lambda df: set_value(df, df.index[[3, 7]], "jobs", np.nan))
    with pytest.raises(
        DataError, match=msg("jobs.parquet, column 'jobs'", "missing values", "2 offending row")
    ) as info:
        read_panel(panel_dir)
    assert "'place':" in str(info.value)  # the rows are shown with their key


def test_negative_population(panel_dir: Path, valid: Panel):
    pop = valid.tables["population"]
    row = first_row(pop, place=PLACE, year=YEAR, sex="male", age=40)
    edit(panel_dir, "population", lambda df: set_value(df, row, "population", -3.0))
    with pytest.raises(
        DataError,
        match=msg(
            "population.parquet, column 'population'",
            ">= 0",
            "1 offending row",
            f"'place': '{PLACE}', 'year': {YEAR}, 'sex': 'male', 'age': 40, 'population': -3.0",
        ),
    ):
        read_panel(panel_dir)


def test_age_above_the_open_group(panel_dir: Path, valid: Panel):
    row = first_row(valid.tables["population"], place="0301", year=2000, sex="female", age=105)
    edit(panel_dir, "population", lambda df: set_value(df, row, "age", 106))
    with pytest.raises(
        DataError,
        match=msg("population.parquet, column 'age'", "<= 105", "'place': '0301'", "'age': 106"),
    ):
        read_panel(panel_dir)


def test_fractional_age(panel_dir: Path, valid: Panel):
    row = first_row(valid.tables["population"], place="0301", year=2000, sex="female", age=3)
    edit(panel_dir, "population", lambda df: set_value(df.astype({"age": float}), row, "age", 3.5))
    with pytest.raises(DataError, match=msg("column 'age'", "whole numbers", "3.5")):
        read_panel(panel_dir)


def test_unknown_sex_value(panel_dir: Path, valid: Panel):
    row = first_row(valid.tables["population"], place=PLACE, year=2001, sex="male", age=7)
    edit(panel_dir, "population", lambda df: set_value(df, row, "sex", "m"))
    with pytest.raises(
        DataError,
        match=msg(
            "population.parquet, column 'sex'",
            "['female', 'male']",
            "1 offending row",
            f"'place': '{PLACE}', 'year': 2001, 'sex': 'm', 'age': 7",
        ),
    ):
        read_panel(panel_dir)


def test_duplicate_key_rows(panel_dir: Path):
    edit(panel_dir, "population", lambda df: pd.concat([df, df.iloc[[0]]], ignore_index=True))
    with pytest.raises(
        DataError,
        match=msg(
            "population.parquet",
            "key ['place', 'year', 'sex', 'age'] must be unique",
            "2 offending row",
            "'place': '0301', 'year': 2000, 'sex': 'female', 'age': 0",
        ),
    ):
        read_panel(panel_dir)


def test_year_outside_the_manifest_range(panel_dir: Path):
    edit(panel_dir, "mortality", lambda df: set_value(df, df.index[[0]], "year", 2010))
    with pytest.raises(
        DataError,
        match=msg(
            "mortality.parquet, column 'year'", "2000-2006", "1 offending row", "'year': 2010"
        ),
    ):
        read_panel(panel_dir)


def test_manifest_range_narrower_than_the_data(panel_dir: Path):
    edit_manifest(panel_dir, "last_year = 2006", "last_year = 2005")
    with pytest.raises(DataError, match=msg("column 'year'", "2000-2005", "'year': 2006")):
        read_panel(panel_dir)


def test_place_not_in_places(panel_dir: Path):
    edit(panel_dir, "jobs", lambda df: set_value(df, df.index[[5]], "place", "9999"))
    with pytest.raises(
        DataError,
        match=msg("jobs.parquet, column 'place'", "not in places.parquet", "'place': '9999'"),
    ):
        read_panel(panel_dir)


def test_commuting_code_not_in_places(panel_dir: Path):
    edit(panel_dir, "commuting", lambda df: set_value(df, df.index[[0]], "workplace", "9998"))
    with pytest.raises(
        DataError, match=msg("commuting.parquet, column 'workplace'", "'workplace': '9998'")
    ):
        read_panel(panel_dir)


def test_place_year_missing_from_population(panel_dir: Path):
    edit(panel_dir, "population", lambda df: df[~((df["place"] == "1801") & (df["year"] == 2004))])
    with pytest.raises(
        DataError,
        match=msg(
            "population.parquet",
            "1 place-year combination(s) missing",
            "'place': '1801', 'year': 2004",
        ),
    ):
        read_panel(panel_dir)


def test_single_age_missing_from_population(panel_dir: Path, valid: Panel):
    row = first_row(valid.tables["population"], place="1801", year=2004, sex="male", age=50)
    edit(panel_dir, "population", lambda df: df[~row.to_numpy()])
    with pytest.raises(
        DataError, match=msg("population.parquet", "all 212 sex/age rows", "('1801', 2004): 211")
    ):
        read_panel(panel_dir)


def test_place_year_missing_from_jobs(panel_dir: Path):
    edit(panel_dir, "jobs", lambda df: df[~((df["place"] == "4602") & (df["year"] == 2001))])
    with pytest.raises(DataError, match=msg("jobs.parquet", "'place': '4602', 'year': 2001")):
        read_panel(panel_dir)


# ---------------------------------------------------------------------------------------
# read_panel: identities
# ---------------------------------------------------------------------------------------
def _add_persons(panel_dir: Path, valid: Panel, persons: float) -> None:
    row = first_row(valid.tables["population"], place=PLACE, year=YEAR, sex="female", age=30)
    edit(
        panel_dir,
        "population",
        lambda df: set_value(df, row, "population", df.loc[row, "population"] + persons),
    )


def test_population_balance_broken(panel_dir: Path, valid: Panel):
    _add_persons(panel_dir, valid, 50)
    # 50 more persons on 1 Jan 2003: the 2002 balance is +50, the 2003 balance -50.
    with pytest.raises(
        DataError,
        match=msg(
            str(panel_dir / "components.parquet"),
            "population balance",
            "tolerance",
            "2 offending row",
            f"'place': '{PLACE}', 'year': {YEAR - 1}",
            "'residual': 50.0",
            f"'place': '{PLACE}', 'year': {YEAR}",
            "'residual': -50.0",
        ),
    ):
        read_panel(panel_dir)


def test_custom_balance_tolerance_lets_the_panel_load(panel_dir: Path, valid: Panel):
    _add_persons(panel_dir, valid, 50)
    edit_manifest(panel_dir, "persons = 0.0", "persons = 49.0")
    with pytest.raises(DataError, match=msg("tolerance (49.0 persons")):
        read_panel(panel_dir)
    edit_manifest(panel_dir, "persons = 49.0", "persons = 50.0")
    loaded = read_panel(panel_dir)
    assert loaded.manifest.balance_tolerance == {"persons": 50.0, "relative": 0.0}
    res = balance_residuals(loaded).set_index(["place", "year"])["residual"]
    assert res[(PLACE, YEAR - 1)] == 50.0
    assert res[(PLACE, YEAR)] == -50.0


def test_relative_balance_tolerance(panel_dir: Path, valid: Panel):
    _add_persons(panel_dir, valid, 50)
    totals = valid.population_totals()
    smallest = min(totals.loc[PLACE, YEAR - 1], totals.loc[PLACE, YEAR])
    enough = float(50 / smallest * 1.01)
    edit_manifest(panel_dir, "relative = 0.0", f"relative = {enough!r}")
    assert read_panel(panel_dir).manifest.balance_tolerance["relative"] == enough
    edit_manifest(panel_dir, f"relative = {enough!r}", f"relative = {enough / 1.03!r}")
    with pytest.raises(DataError, match="population balance"):
        read_panel(panel_dir)


def test_domestic_plus_international_must_equal_net(panel_dir: Path, valid: Panel):
    row = first_row(valid.tables["components"], place="3001", year=2005)
    net = valid.tables["components"].loc[row, "net_migration"].item()
    edit(
        panel_dir,
        "components",
        lambda df: set_value(
            df, row, "net_migration_domestic", df.loc[row, "net_migration_domestic"] + 10
        ),
    )
    with pytest.raises(
        DataError,
        match=msg(
            "components.parquet",
            "net_migration_domestic + net_migration_international must equal net_migration",
            "1 offending row",
            f"'place': '3001', 'year': 2005, 'net_migration': {net!r}",
        ),
    ):
        read_panel(panel_dir)


def test_only_one_split_column(panel_dir: Path):
    edit(panel_dir, "components", lambda df: df.drop(columns=["net_migration_international"]))
    with pytest.raises(
        DataError,
        match=msg(
            "components.parquet", "give both", "or neither", "only ['net_migration_domestic']"
        ),
    ):
        read_panel(panel_dir)


def test_no_split_columns_is_fine(panel_dir: Path):
    edit(
        panel_dir,
        "components",
        lambda df: df.drop(columns=["net_migration_domestic", "net_migration_international"]),
    )
    assert list(read_panel(panel_dir).tables["components"].columns) == [
        "place", "year", "births", "deaths", "net_migration"
    ]  # fmt: skip


def test_industry_jobs_must_sum_to_private_jobs(panel_dir: Path, valid: Panel):
    jobs = valid.tables["jobs"]
    private = jobs.loc[first_row(jobs, place="1101", year=2002, sector="private"), "jobs"].item()
    assert 0.5 + 0.001 * private < 100  # the change below is beyond the tolerance
    row = first_row(valid.tables["jobs_industry"], place="1101", year=2002, industry="retail")
    edit(
        panel_dir, "jobs_industry", lambda df: set_value(df, row, "jobs", df.loc[row, "jobs"] + 100)
    )
    with pytest.raises(
        DataError,
        match=msg(
            "jobs_industry.parquet",
            "must sum to the private-sector jobs",
            "1 offending row",
            "'place': '1101', 'year': 2002",
            f"'industry_sum': {private + 100!r}, 'private': {private!r}",
        ),
    ):
        read_panel(panel_dir)


# ---------------------------------------------------------------------------------------
# partial panels and access
# ---------------------------------------------------------------------------------------
def test_partial_panel_loads_and_names_missing_tables(panel_dir: Path):
    for name in SYNTHETIC_TABLES:
        if not TABLES[name].required:
            (panel_dir / TABLES[name].file).unlink()
    panel = read_panel(panel_dir)
    assert sorted(panel.tables) == ["places", "population"]
    assert panel.has("population")
    assert not panel.has("jobs")
    with pytest.raises(
        MissingTableError,
        match=msg("'synthetic-3'", "no table 'jobs'", "jobs.parquet", "relative job growth"),
    ):
        panel.table("jobs")
    with pytest.raises(MissingTableError, match=msg("'components'", "needed for my stage")):
        panel.table("components", needed_for="my stage")
    with pytest.raises(MissingTableError, match="'components'"):
        balance_residuals(panel)
    with pytest.raises(KeyError, match="nonsense"):
        panel.table("nonsense")


def test_missing_table_error_is_a_data_error():
    assert issubclass(MissingTableError, DataError)


def test_population_totals(valid: Panel):
    totals = valid.population_totals()
    assert list(totals.index) == valid.place_codes
    assert list(totals.columns) == list(valid.years)
    pop = valid.tables["population"]
    hand = pop.loc[(pop["place"] == PLACE) & (pop["year"] == YEAR), "population"].sum()
    assert totals.loc[PLACE, YEAR] == hand


# ---------------------------------------------------------------------------------------
# balance_residuals
# ---------------------------------------------------------------------------------------
def test_balance_residuals_are_zero_for_the_synthetic_panel(valid: Panel):
    res = balance_residuals(valid)
    assert list(res.columns) == ["place", "year", "pop_start", "pop_end", "residual"]
    # the last year has no 1 January population after it
    assert len(res) == 16 * 6
    assert set(res["year"]) == set(range(2000, 2006))
    assert (res["residual"] == 0).all()
    # hand check one place-year from the raw tables
    pop, comp = valid.tables["population"], valid.tables["components"]
    p0 = pop.loc[(pop["place"] == PLACE) & (pop["year"] == 2004), "population"].sum()
    p1 = pop.loc[(pop["place"] == PLACE) & (pop["year"] == 2005), "population"].sum()
    c = comp[(comp["place"] == PLACE) & (comp["year"] == 2004)].iloc[0]
    assert p1 - (p0 + c["births"] - c["deaths"] + c["net_migration"]) == 0
    row = res[(res["place"] == PLACE) & (res["year"] == 2004)].iloc[0]
    assert (row["pop_start"], row["pop_end"]) == (p0, p1)


def test_balance_residuals_equal_the_injected_difference(valid: Panel):
    pop = valid.tables["population"]
    row = first_row(pop, place=PLACE, year=YEAR, sex="female", age=30)
    bumped = set_value(pop, row, "population", pop.loc[row, "population"] + 50)
    manifest = dataclasses.replace(
        valid.manifest, balance_tolerance={"persons": 50.0, "relative": 0.0}
    )
    panel = Panel.from_tables(manifest, {**valid.tables, "population": bumped})
    res = balance_residuals(panel).set_index(["place", "year"])
    before = valid.population_totals().loc[PLACE, YEAR]
    assert res.loc[(PLACE, YEAR - 1), "pop_end"] == before + 50
    assert res.loc[(PLACE, YEAR), "pop_start"] == before + 50
    expected = pd.Series(0.0, index=res.index)
    expected[(PLACE, YEAR - 1)] = 50.0
    expected[(PLACE, YEAR)] = -50.0
    pd.testing.assert_series_equal(res["residual"], expected, check_names=False)


def test_balance_residuals_on_a_hand_made_panel():
    # one place, ages 0 and 1, two sexes, 2000-2002
    #   pop 1 Jan:      2000: 100   2001: 107   2002: 110
    #   2000: births 5, deaths 2, net migration 3  -> 100 + 5 - 2 + 3 = 106, residual +1
    #   2001: births 4, deaths 3, net migration 2  -> 107 + 4 - 3 + 2 = 110, residual  0
    places = pd.DataFrame(
        {
            "place": ["0101"],
            "name": ["A"],
            "region": ["R1"],
            "county": ["01"],
            "centrality": [500.0],
            "centrality_class": [3],
        }
    )
    totals = {2000: [40, 10, 30, 20], 2001: [42, 11, 33, 21], 2002: [43, 12, 34, 21]}
    population = pd.DataFrame(
        [
            {"place": "0101", "year": y, "sex": s, "age": a, "population": float(v)}
            for y, values in totals.items()
            for (s, a), v in zip(
                [("female", 0), ("female", 1), ("male", 0), ("male", 1)], values, strict=True
            )
        ]
    )
    components = pd.DataFrame(
        {
            "place": ["0101"] * 3,
            "year": [2000, 2001, 2002],
            "births": [5.0, 4.0, 1.0],
            "deaths": [2.0, 3.0, 1.0],
            "net_migration": [3.0, 2.0, 0.0],
        }
    )
    manifest = Manifest(name="hand", first_year=2000, last_year=2002)
    panel = Panel.from_tables(
        manifest, {"places": places, "population": population, "components": components}
    )
    res = balance_residuals(panel)
    assert res.to_dict("records") == [
        {"place": "0101", "year": 2000, "pop_start": 100.0, "pop_end": 107.0, "residual": 1.0},
        {"place": "0101", "year": 2001, "pop_start": 107.0, "pop_end": 110.0, "residual": 0.0},
    ]
    # default tolerance: 1 person + 0.1% of 100 = 1.1 >= 1; a residual of 2 fails
    worse = components.assign(births=[4.0, 4.0, 1.0])
    with pytest.raises(
        DataError, match=msg("population balance", "'year': 2000", "'residual': 2.0")
    ):
        Panel.from_tables(
            manifest, {"places": places, "population": population, "components": worse}
        )


# ---------------------------------------------------------------------------------------
# Panel.from_tables
# ---------------------------------------------------------------------------------------
def test_from_tables_rejects_unknown_table(valid: Panel):
    with pytest.raises(DataError, match=msg("unknown panel table", "'jobz'")):
        Panel.from_tables(valid.manifest, {**valid.tables, "jobz": valid.tables["jobs"]})


def test_from_tables_requires_places_and_population(valid: Panel):
    with pytest.raises(DataError, match=msg("required panel table", "'places'")):
        Panel.from_tables(valid.manifest, {"population": valid.tables["population"]})
    with pytest.raises(DataError, match=msg("required panel table", "'population'")):
        Panel.from_tables(valid.manifest, {"places": valid.tables["places"], "population": None})


def test_from_tables_copies_and_validates(valid: Panel):
    places = valid.tables["places"].copy()
    panel = Panel.from_tables(
        valid.manifest, {"places": places, "population": valid.tables["population"]}
    )
    places.loc[0, "name"] = "changed"
    assert panel.places.loc[0, "name"] != "changed"
    bad = set_value(places, places.index[[0]], "centrality", 1001.0)
    with pytest.raises(DataError, match=msg("places.parquet, column 'centrality'", "<= 1000")):
        Panel.from_tables(valid.manifest, {"places": bad, "population": valid.tables["population"]})


# ---------------------------------------------------------------------------------------
# real-data shapes: population years of its own, sector breakdowns, series breaks
# ---------------------------------------------------------------------------------------
def test_population_may_cover_fewer_years_than_the_manifest(panel_dir: Path):
    # real panels have jobs years before the first population year (the VRA lags)
    edit(panel_dir, "population", lambda df: df[df["year"] >= 2002])
    edit(panel_dir, "components", lambda df: df[df["year"] >= 2002])
    panel = read_panel(panel_dir)
    assert sorted(set(panel.tables["population"]["year"])) == list(range(2002, 2007))
    assert panel.years == range(2000, 2007)


def test_population_years_must_be_consecutive(panel_dir: Path):
    edit(panel_dir, "population", lambda df: df[df["year"] != 2003])
    with pytest.raises(DataError, match=msg("population.parquet", "consecutive", "[2003]")):
        read_panel(panel_dir)


def _undivided_jobs(df: pd.DataFrame, year: int, *, total: bool) -> pd.DataFrame:
    """Replace the public split (or every sector) of ``year`` by one undivided row."""
    keep = df[df["year"] != year]
    rows = df[df["year"] == year]
    if total:
        merged = rows.groupby(["place", "year"], as_index=False)["jobs"].sum()
        merged["sector"] = "total"
    else:
        public = rows[rows["sector"] != "private"]
        merged = public.groupby(["place", "year"], as_index=False)["jobs"].sum()
        merged["sector"] = "public"
        merged = pd.concat([rows[rows["sector"] == "private"], merged])
    return pd.concat([keep, merged[keep.columns]], ignore_index=True)


def test_undivided_public_and_total_jobs_are_valid_breakdowns(panel_dir: Path, valid: Panel):
    edit(panel_dir, "jobs", lambda df: _undivided_jobs(df, 2005, total=False))
    edit(panel_dir, "jobs", lambda df: _undivided_jobs(df, 2006, total=True))
    jobs = read_panel(panel_dir).tables["jobs"]
    assert set(jobs.loc[jobs["year"] == 2005, "sector"]) == {"private", "public"}
    assert set(jobs.loc[jobs["year"] == 2006, "sector"]) == {"total"}
    sums = jobs.groupby("year")["jobs"].sum()
    assert sums.to_dict() == valid.tables["jobs"].groupby("year")["jobs"].sum().to_dict()


def test_mixed_sector_breakdown_is_refused(panel_dir: Path):
    # a total beside the private sector would count private jobs twice
    def add_total(df: pd.DataFrame) -> pd.DataFrame:
        extra = df[(df["year"] == 2004) & (df["sector"] == "private")].assign(sector="total")
        return pd.concat([df, extra], ignore_index=True)

    edit(panel_dir, "jobs", add_total)
    with pytest.raises(DataError, match=msg("jobs.parquet", "'sector'", "exactly one breakdown")):
        read_panel(panel_dir)


def test_series_breaks_round_trip_and_are_checked(tmp_path: Path, valid: Panel, panel_dir: Path):
    manifest = dataclasses.replace(valid.manifest, series_breaks={"jobs": (2004,)})
    panel = Panel.from_tables(manifest, valid.tables)
    back = read_panel(write_panel(panel, tmp_path / "p", extra_files={"REPORT.md": "# hi\n"}))
    assert back.manifest.series_breaks == {"jobs": (2004,)}
    assert (tmp_path / "p" / "REPORT.md").read_text() == "# hi\n"
    edit_manifest(panel_dir, "[provenance]", "[series_breaks]\njobs = [1990]\n\n[provenance]")
    with pytest.raises(DataError, match=msg("series_breaks.jobs", "[1990]", "outside")):
        read_panel(panel_dir)


def test_extra_files_may_not_replace_tables(tmp_path: Path, valid: Panel):
    with pytest.raises(DataError, match="clash"):
        write_panel(valid, tmp_path / "p", extra_files={"jobs.parquet": ""})
    assert not (tmp_path / "p").exists()
