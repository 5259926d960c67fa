"""Readers for SSB statbank (Statistikkbanken) CSV exports.

SSB's "semicolon-separated with headings" export looks like::

    "07459: Befolkning, etter region, kjønn, alder, år og statistikkvariabel"

    "region";"kjønn";"alder";"år";"Personer"
    "0301 Oslo";"Menn";"0 år";"2016";4567

in UTF-8 or Latin-1, sometimes with the years as columns ("Personer 2016"). Region labels
carry the code ("0301 Oslo"; "K-3001 Halden" for a series SSB merged to today's
municipality). SSB writes symbols for missing values: "." (cannot occur), ".." (not
available), "..." (not yet published), ":" (confidential) and "-" (nil, i.e. zero).
These readers keep the codes as 4-character strings and never drop rows silently.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attrbayes.exceptions import DataError

MISSING = {".": "cannot occur", "..": "not available", "...": "not yet published",
           ":": "confidential"}  # fmt: skip
NIL = "-"
_REGION = re.compile(r"^(?P<merged>K-)?(?P<code>\d{2}|\d{4})\s+(?P<name>.+)$")
_YEAR_COLUMN = re.compile(r"^(?P<variable>.*?)\s*(?P<year>(?:18|19|20|21)\d{2})$")
_AGE = re.compile(r"^(?P<age>\d{1,3}) år(?P<open> eller eldre)?$")
_TIME_DIMENSIONS = {"år", "year", "tid", "kvartal", "måned"}
_SEX = {"menn": "male", "kvinner": "female", "begge kjønn": "total", "males": "male",
        "females": "female", "both sexes": "total"}  # fmt: skip


@dataclass(frozen=True)
class StatbankTable:
    """A statbank export: its title (with the table number) and a long data frame."""

    title: str
    frame: pd.DataFrame

    @property
    def table_id(self) -> str | None:
        match = re.match(r"^(\d{5})\b", self.title)
        return match.group(1) if match else None


def _decode(raw: bytes, where: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataError(f"{where}: broken UTF-16 text ({exc.reason})") from None
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "latin-1" and "Ã" in text:
            raise DataError(f"{where}: mixed or unknown text encoding (expected UTF-8 or Latin-1)")
        return text
    raise DataError(f"{where}: not UTF-8 or Latin-1 text")  # pragma: no cover - latin-1 decodes all


def _value(cell: str, where: str) -> float:
    cell = cell.strip()
    if cell == NIL:
        return 0.0
    if cell in MISSING:
        return np.nan
    try:
        return float(cell.replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except ValueError as exc:
        raise DataError(f"{where}: {cell!r} is neither a number nor an SSB symbol") from exc


def read_statbank_csv(path: str | Path) -> StatbankTable:
    """Read a statbank CSV export into a long frame.

    Returns one row per cell with the dimension columns as strings, ``variable`` and
    ``value`` (float; SSB's missing-value symbols become NaN, "-" becomes 0). When years
    are columns ("Personer 2016") they become a ``år`` dimension.
    """
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: file not found")
    text = _decode(source.read_bytes(), str(source))
    lines = text.splitlines()
    title = ""
    start = 0
    while start < len(lines) and ";" not in lines[start]:
        title = title or lines[start].strip().strip('"')
        start += 1
    if start == len(lines):
        raise DataError(f"{source}: no ';'-separated header found; is this an SSB CSV export?")
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=";", quotechar='"'))
    header, body = rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]
    bad = [i + start + 2 for i, r in enumerate(body) if len(r) != len(header)]
    if bad:
        raise DataError(
            f"{source}: line(s) {bad[:5]} have a different number of fields than the header "
            f"({len(header)})"
        )
    frame = pd.DataFrame(body, columns=header, dtype=str)
    # Values are the trailing numeric columns; dimensions (a year too) come first.
    value_columns: list[str] = []
    for column in reversed(header):
        if column.strip().lower() in _TIME_DIMENSIONS or not _numeric_column(frame[column]):
            break
        value_columns.insert(0, column)
    dims = [c for c in header if c not in value_columns]
    if not value_columns:
        raise DataError(f"{source}: no numeric value column found in {header}")
    long = frame.melt(id_vars=dims, value_vars=value_columns, var_name="variable",
                      value_name="raw")  # fmt: skip
    years = long["variable"].str.extract(_YEAR_COLUMN)
    if "år" not in dims and years["year"].notna().all():
        long["år"] = years["year"]
        long["variable"] = years["variable"]
    long["value"] = [
        _value(cell, f"{source}, column {var!r}")
        for cell, var in zip(long["raw"], long["variable"], strict=True)
    ]
    return StatbankTable(title=title, frame=long.drop(columns="raw"))


def _numeric_column(cells: pd.Series) -> bool:
    stripped = cells.str.strip()
    symbols = stripped.isin([*MISSING, NIL])
    numbers = pd.to_numeric(stripped.str.replace(",", ".", regex=False), errors="coerce").notna()
    return bool((symbols | numbers).all() and numbers.any())


def parse_region(label: str) -> tuple[str, str, bool]:
    """``"0301 Oslo"`` -> ("0301", "Oslo", False); ``"K-3001 Halden"`` -> ("3001", "Halden",
    True): the K- prefix marks a series SSB merged to today's municipality."""
    match = _REGION.match(label.strip())
    if not match:
        raise DataError(f"region label {label!r} does not start with a 2- or 4-digit code")
    return match["code"], match["name"].strip(), match["merged"] is not None


def split_regions(frame: pd.DataFrame, column: str = "region") -> pd.DataFrame:
    """Replace a region label column by ``code``, ``name`` and ``merged_series``."""
    if column not in frame.columns:
        raise DataError(f"no column {column!r}; columns are {list(frame.columns)}")
    parsed = [parse_region(label) for label in frame[column]]
    out = frame.drop(columns=column)
    out.insert(0, "merged_series", [p[2] for p in parsed])
    out.insert(0, "name", [p[1] for p in parsed])
    out.insert(0, "code", pd.array([p[0] for p in parsed], dtype="str"))
    return out


def parse_age(label: str) -> int:
    """``"0 år"`` -> 0; ``"105 år eller eldre"`` -> 105 (the open group)."""
    match = _AGE.match(label.strip())
    if not match:
        raise DataError(f"age label {label!r} is not a single year of age like '17 år'")
    return int(match["age"])


def parse_sex(label: str) -> str:
    """``"Menn"``/``"Kvinner"``/``"Begge kjønn"`` -> male/female/total."""
    try:
        return _SEX[label.strip().lower()]
    except KeyError:
        raise DataError(f"sex label {label!r} is not one of {sorted(_SEX)}") from None
