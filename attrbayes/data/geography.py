"""Municipal code harmonisation across the 2018, 2020 and 2024 reforms.

A :class:`Crosswalk` maps (original code, year) to codes of one target structure with a
weight: merges have weight 1 (counts are summed), splits carry the share of the original
that goes to each successor (counts are apportioned). :func:`harmonise` applies one to a
table and reports every split it used, so nothing is collapsed or divided silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from attrbayes.exceptions import DataError

_PREFIX = "municip_nor"


@dataclass(frozen=True)
class Crosswalk:
    """Rows ``original, year, target, weight``; the weights of an original sum to 1."""

    table: pd.DataFrame
    structure: str

    def __post_init__(self) -> None:
        sums = self.table.groupby(["original", "year"])["weight"].sum()
        bad = sums[(sums - 1).abs() > 1e-6]
        if len(bad):
            raise DataError(
                f"crosswalk to {self.structure}: weights of an original code must sum to 1; "
                f"they do not for {bad.head(5).to_dict()}"
            )

    @property
    def targets(self) -> list[str]:
        return sorted(self.table["target"].unique())


def read_csdata_crosswalk(path: str | Path) -> Crosswalk:
    """Read FHI csdata's ``municip_redistricting_to_b2024`` file (codes ``municip_nor0301``)."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: file not found")
    raw = pd.read_csv(source, dtype={"location_code_original": str, "location_code_current": str})
    expected = {"location_code_original", "location_code_current", "calyear", "weighting"}
    if not expected <= set(raw.columns):
        raise DataError(f"{source}: expected columns {sorted(expected)}, got {list(raw.columns)}")
    table = pd.DataFrame(
        {
            "original": raw["location_code_original"].str.removeprefix(_PREFIX),
            "year": raw["calyear"].astype(int),
            "target": raw["location_code_current"].str.removeprefix(_PREFIX),
            "weight": raw["weighting"].astype(float),
        }
    )
    bad = ~(table["original"].str.fullmatch(r"\d{4}") & table["target"].str.fullmatch(r"\d{4}"))
    if bad.any():
        raise DataError(
            f"{source}: codes that are not 4 digits: {table[bad].head(3).to_dict('records')}"
        )
    return Crosswalk(table, "2024")


def codes_2024_to_2020(crosswalk: Crosswalk) -> pd.Series:
    """Each 2024 code's 2020 code (index: 2024 code).

    The 2024 reform split counties (new codes) and Ålesund (1507 -> 1508 + 1580); read
    backwards every 2024 code comes from exactly one 2020 code, so going back only merges.
    """
    if crosswalk.structure != "2024":
        raise DataError(f"expected a crosswalk to the 2024 structure, got {crosswalk.structure}")
    leg = crosswalk.table[crosswalk.table["year"] == 2020][["original", "target"]]
    back = leg.drop_duplicates()
    twice = back[back["target"].duplicated(keep=False)]
    if len(twice):
        raise DataError(f"2024 codes with more than one 2020 origin: {sorted(twice['target'])[:5]}")
    return back.set_index("target")["original"].rename("code2020").rename_axis("code2024")


def to_2020_structure(crosswalk: Crosswalk) -> Crosswalk:
    """Compose a crosswalk to the 2024 structure with the way back to 2020's codes."""
    back = codes_2024_to_2020(crosswalk)
    table = crosswalk.table.assign(target=crosswalk.table["target"].map(back))
    lost = crosswalk.table["target"][table["target"].isna()]
    if len(lost):
        raise DataError(f"2024 codes without a 2020 origin: {sorted(lost.unique())[:5]}")
    table = table.groupby(["original", "year", "target"], as_index=False)["weight"].sum()
    return Crosswalk(table[["original", "year", "target", "weight"]], "2020")


@dataclass(frozen=True)
class Harmonised:
    """A harmonised table and the splits that apportioned counts."""

    frame: pd.DataFrame
    splits: pd.DataFrame  # original, year, target, weight for every weight < 1 used


def harmonise(
    df: pd.DataFrame,
    crosswalk: Crosswalk,
    *,
    values: Sequence[str],
    code: str = "place",
    year: str = "year",
) -> Harmonised:
    """Recode ``df[code]`` to the crosswalk's structure: merges sum, splits apportion.

    Rows whose (code, year) the crosswalk does not know are an error naming them; the
    splits applied are returned for reporting.
    """
    missing_cols = [c for c in (code, year, *values) if c not in df.columns]
    if missing_cols:
        raise DataError(f"harmonise: columns {missing_cols} not in {list(df.columns)}")
    merged = df.merge(
        crosswalk.table, left_on=[code, year], right_on=["original", "year"], how="left",
        suffixes=("", "_cw"),
    )  # fmt: skip
    unknown = merged[merged["target"].isna()][[code, year]].drop_duplicates()
    if len(unknown):
        raise DataError(
            f"harmonise to the {crosswalk.structure} structure: {len(unknown)} code-year "
            f"pair(s) unknown to the crosswalk, e.g. {unknown.head(5).to_dict('records')}"
        )
    for column in values:
        merged[column] = merged[column].to_numpy(dtype=float) * merged["weight"].to_numpy()
    keys = [c for c in df.columns if c not in values and c != code]
    out = (
        merged.drop(columns=[code]).rename(columns={"target": code})
        .groupby([code, *keys], as_index=False, sort=True)[list(values)].sum()
    )  # fmt: skip
    used = merged[merged["weight"] < 1][["original", "year", "target", "weight"]]
    return Harmonised(out[list(df.columns)], used.drop_duplicates().reset_index(drop=True))
