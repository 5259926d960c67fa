"""Code harmonisation: merges sum, splits apportion and are reported, unknowns fail."""

from __future__ import annotations

import pandas as pd
import pytest

from attrbayes.data.geography import (
    Crosswalk,
    codes_2024_to_2020,
    harmonise,
    read_csdata_crosswalk,
    to_2020_structure,
)
from attrbayes.exceptions import DataError
from attrbayes.features.aggregate import aggregate_places


def _toy() -> Crosswalk:
    # 2019: 0101 and 0102 merge into 3001; 0103 splits 70/30 into 3002 and 3003
    rows = [
        ("0101", 2019, "3001", 1.0),
        ("0102", 2019, "3001", 1.0),
        ("0103", 2019, "3002", 0.7),
        ("0103", 2019, "3003", 0.3),
        ("3001", 2020, "3001", 1.0),
    ]
    return Crosswalk(pd.DataFrame(rows, columns=["original", "year", "target", "weight"]), "toy")


def test_merges_sum_and_splits_apportion():
    df = pd.DataFrame(
        {"place": ["0101", "0102", "0103", "3001"], "year": [2019, 2019, 2019, 2020],
         "sex": ["female"] * 4, "population": [100.0, 50.0, 1000.0, 160.0]}
    )  # fmt: skip
    result = harmonise(df, _toy(), values=["population"])
    got = result.frame.set_index(["place", "year"])["population"]
    assert got[("3001", 2019)] == 150
    assert got[("3002", 2019)] == pytest.approx(700)
    assert got[("3003", 2019)] == pytest.approx(300)
    assert got[("3001", 2020)] == 160
    assert result.frame["population"].sum() == pytest.approx(df["population"].sum())
    assert list(result.frame.columns) == list(df.columns)
    assert sorted(result.splits["target"]) == ["3002", "3003"]


def test_unknown_codes_and_bad_weights_fail():
    df = pd.DataFrame({"place": ["9999"], "year": [2019], "population": [1.0]})
    with pytest.raises(DataError, match="unknown to the crosswalk"):
        harmonise(df, _toy(), values=["population"])
    rows = pd.DataFrame(
        [("0103", 2019, "3002", 0.7)], columns=["original", "year", "target", "weight"]
    )
    with pytest.raises(DataError, match="must sum to 1"):
        Crosswalk(rows, "bad")


def test_real_codes_go_back_to_the_356_municipalities_of_2020(shared_file):
    crosswalk = read_csdata_crosswalk(
        shared_file("csdata_fhi/municip_redistricting_to_b2024_1940_2034.csv")
    )
    back = codes_2024_to_2020(crosswalk)
    pop = pd.read_csv(
        shared_file("csdata_fhi/population_municip_b2024_age_sex_2005_2026.csv.gz"),
        dtype={"municip": str},
    )
    year = pop[pop["year"] == 2022].groupby(["municip", "year"], as_index=False)["pop_jan1"].sum()
    year = year.rename(columns={"municip": "place", "pop_jan1": "population"})
    result = aggregate_places(year, back, value_columns=["population"])
    assert result["place"].nunique() == 356
    assert result["population"].sum() == year["population"].sum()
    ålesund = result.set_index("place").loc["1507", "population"]  # 1508 + 1580 merged back
    parts = year.set_index("place").loc[["1508", "1580"], "population"].sum()
    assert ålesund == parts
    # the composed crosswalk sends 2017 codes to 2020 codes, each original's weights sum to 1
    to2020 = to_2020_structure(crosswalk)
    assert to2020.table.loc[to2020.table["year"] == 2017, "target"].nunique() == 356
