"""SSB statbank CSV exports: encodings, symbols, wide years and region labels."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest

from attrbayes.data.ssb_csv import (
    parse_age,
    parse_region,
    parse_sex,
    read_statbank_csv,
    split_regions,
)
from attrbayes.exceptions import DataError

LONG = (
    '"07459: Befolkning, etter region, kjønn, alder, år og statistikkvariabel"\n'
    "\n"
    '"region";"kjønn";"alder";"år";"Personer"\n'
    '"0301 Oslo";"Menn";"0 år";"2016";4567\n'
    '"0301 Oslo";"Kvinner";"105 år eller eldre";"2016";3\n'
    '"K-3001 Halden";"Menn";"0 år";"2016";..\n'
    '"K-3001 Halden";"Kvinner";"0 år";"2016";-\n'
)

WIDE = (
    '"11616: Sysselsatte, etter region, år og statistikkvariabel"\n'
    "\n"
    '"region";"Sysselsatte 2016";"Sysselsatte 2017"\n'
    '"0301 Oslo";471000;480123\n'
    '"1101 Eigersund";6790;:\n'
)


def _write(tmp_path: Path, text: str, encoding: str) -> Path:
    path = tmp_path / f"table_{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_long_export_in_any_encoding(tmp_path, encoding):
    table = read_statbank_csv(_write(tmp_path, LONG, encoding))
    assert table.table_id == "07459"
    frame = table.frame
    assert list(frame.columns) == ["region", "kjønn", "alder", "år", "variable", "value"]
    assert frame["value"].iloc[0] == 4567
    assert np.isnan(frame["value"].iloc[2])  # ".." = not available
    assert frame["value"].iloc[3] == 0  # "-" = nil
    assert frame["kjønn"].iloc[1] == "Kvinner"


def test_wide_years_become_a_dimension(tmp_path):
    frame = read_statbank_csv(_write(tmp_path, WIDE, "utf-8")).frame
    assert sorted(frame["år"].unique()) == ["2016", "2017"]
    assert set(frame["variable"]) == {"Sysselsatte"}
    halden = frame[(frame["region"] == "1101 Eigersund") & (frame["år"] == "2017")]
    assert np.isnan(halden["value"].iloc[0])  # ":" = confidential


def test_region_labels_keep_leading_zeros_and_merge_flags(tmp_path):
    frame = split_regions(read_statbank_csv(_write(tmp_path, LONG, "utf-8")).frame)
    assert frame["code"].tolist() == ["0301", "0301", "3001", "3001"]
    assert frame["merged_series"].tolist() == [False, False, True, True]
    assert parse_region("03 Oslo") == ("03", "Oslo", False)
    with pytest.raises(DataError, match="does not start with a 2- or 4-digit code"):
        parse_region("Hele landet")


def test_labels_for_age_and_sex():
    assert parse_age("0 år") == 0
    assert parse_age("105 år eller eldre") == 105
    assert parse_sex("Begge kjønn") == "total"
    with pytest.raises(DataError, match="single year of age"):
        parse_age("1-5 år")
    with pytest.raises(DataError, match="sex label"):
        parse_sex("Alle")


def test_malformed_exports_are_refused(tmp_path):
    with pytest.raises(DataError, match="no ';'-separated header"):
        read_statbank_csv(_write(tmp_path, "just a title\n\n", "utf-8"))
    ragged = LONG + '"0301 Oslo";"Menn"\n'
    with pytest.raises(DataError, match="different number of fields"):
        read_statbank_csv(_write(tmp_path, ragged, "utf-8"))
    with pytest.raises(DataError, match="file not found"):
        read_statbank_csv(tmp_path / "missing.csv")


def test_reads_a_real_ssb_export(shared_file):
    """A real statbank export from ../shared (table 10211, Latin-1)."""
    source = shared_file(
        "ssb_national_misc/ssb10211_population_national_by_age_bothsexes_1846_2023_latin1.csv.gz"
    )

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "10211.csv"
        plain.write_bytes(gzip.decompress(source.read_bytes()))
        table = read_statbank_csv(plain)
    assert table.table_id == "10211"
    frame = table.frame
    ages = frame["alder"].map(parse_age)
    assert ages.min() == 0
    newborns = frame[(frame["år"] == "1846") & (ages == 0)]
    assert newborns["value"].iloc[0] == 36372
