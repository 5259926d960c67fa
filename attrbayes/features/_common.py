"""Private helpers shared by the feature modules: input checks and error formatting."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from attrbayes.constants import SEXES
from attrbayes.exceptions import DataError

MAX_SHOWN = 5


def fmt(items: Iterable[object], max_shown: int = MAX_SHOWN) -> str:
    """Format offending items for an error message: ``['a', 'b'] (and 3 more)``."""
    items = list(items)
    shown = [_plain(x) for x in items[:max_shown]]
    more = f" (and {len(items) - max_shown} more)" if len(items) > max_shown else ""
    return f"{shown}{more}"


def _plain(x: object) -> object:
    """Turn numpy scalars (and tuples of them) into plain Python values for messages."""
    if isinstance(x, tuple):
        return tuple(_plain(v) for v in x)
    if isinstance(x, np.generic):
        return x.item()
    return x


def require_columns(df: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    """Raise :class:`DataError` if ``df`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{table} table has no column(s) {missing}; expected {list(columns)}, "
            f"got {list(map(str, df.columns))}"
        )


def require_unique(df: pd.DataFrame, table: str, key: Sequence[str]) -> None:
    """Raise :class:`DataError` naming duplicated key rows of ``df``."""
    dup = df.duplicated(subset=list(key), keep=False)
    if dup.any():
        rows = df.loc[dup, list(key)].drop_duplicates()
        raise DataError(
            f"{table} table has duplicated key {tuple(key)} rows: "
            f"{fmt(rows.itertuples(index=False, name=None))}"
        )


def require_finite(df: pd.DataFrame, table: str, column: str, key: Sequence[str]) -> None:
    """Raise :class:`DataError` naming the rows where ``column`` is missing or not finite."""
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = df.loc[bad, list(key)]
        raise DataError(
            f"{table} table column '{column}' is missing or not finite for {tuple(key)} = "
            f"{fmt(rows.itertuples(index=False, name=None))}"
        )


def require_nonnegative(df: pd.DataFrame, table: str, column: str, key: Sequence[str]) -> None:
    """Raise :class:`DataError` naming the rows where ``column`` is negative."""
    bad = df[column].to_numpy(dtype=float) < 0
    if bad.any():
        rows = df.loc[bad, list(key)]
        raise DataError(
            f"{table} table column '{column}' is negative for {tuple(key)} = "
            f"{fmt(rows.itertuples(index=False, name=None))}"
        )


def check_consecutive(years: Iterable[int], table: str) -> list[int]:
    """Return the sorted unique years, raising :class:`DataError` if any are skipped."""
    ys = sorted({int(y) for y in years})
    if not ys:
        raise DataError(f"{table} table has no years")
    missing = sorted(set(range(ys[0], ys[-1] + 1)) - set(ys))
    if missing:
        raise DataError(
            f"{table} table years are not consecutive: {ys[0]}-{ys[-1]} lacks years {fmt(missing)}"
        )
    return ys


def wide_years(df: pd.DataFrame, table: str) -> list[int]:
    """Check a wide place x year frame and return its years, sorted.

    The index (places) must be unique and the columns integer, consecutive years.
    """
    cols = list(df.columns)
    if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in cols):
        raise DataError(f"{table} frame must have integer year columns, got {fmt(cols)}")
    years = [int(c) for c in cols]
    if len(set(years)) != len(years):
        raise DataError(f"{table} frame has duplicated year columns")
    years = check_consecutive(years, table)
    dup = df.index[df.index.duplicated()]
    if len(dup):
        raise DataError(f"{table} frame has duplicated places {fmt(sorted(set(dup)))}")
    return years


def nearest_year(available: Sequence[int], target: int) -> int:
    """Nearest year of ``available`` to ``target``; ties go to the earlier year."""
    return min(available, key=lambda y: (abs(int(y) - int(target)), int(y)))


def as_mapping_series(mapping: pd.Series | Mapping[str, str], what: str) -> pd.Series:
    """Turn a code -> group mapping into a Series with string index and string values."""
    s = mapping if isinstance(mapping, pd.Series) else pd.Series(dict(mapping), dtype=object)
    if s.index.has_duplicates:
        dup = sorted(set(s.index[s.index.duplicated()]))
        raise DataError(f"{what} mapping has duplicated codes {fmt(dup)}")
    if s.isna().any():
        raise DataError(f"{what} mapping has no group for codes {fmt(sorted(s.index[s.isna()]))}")
    return pd.Series(
        s.astype(str).to_numpy(dtype=object),
        index=pd.Index(s.index.astype(str), dtype=object),
        dtype=object,
    )


def long_frame(places: Sequence[str], years: Sequence[int], **columns: np.ndarray) -> pd.DataFrame:
    """Long frame (place, year, columns...) from (P, T) arrays, sorted by place then year."""
    p, t = len(places), len(years)
    data: dict[str, object] = {
        "place": pd.array(np.repeat(np.asarray(places, dtype=object), t), dtype="str"),
        "year": np.tile(np.asarray(years, dtype=np.int64), p),
    }
    for name, arr in columns.items():
        data[name] = np.asarray(arr, dtype=float).reshape(p * t)
    return pd.DataFrame(data)


def sex_codes(sex: pd.Series) -> np.ndarray:
    """Each row's index in :data:`SEXES` (-1 for any other value), by one vectorised
    comparison per sex: a hash lookup takes four times as long on 1.8 million rows."""
    codes = np.full(len(sex), -1, dtype=np.intp)
    for k, name in enumerate(SEXES):
        codes[(sex == name).to_numpy(dtype=bool, na_value=False)] = k
    return codes
