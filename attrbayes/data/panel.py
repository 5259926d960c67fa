"""Read, validate and write panels (a directory of Parquet tables plus ``manifest.toml``).

Every later stage reads a :class:`Panel`. Loading checks types, codes, keys, value ranges,
year coverage and the population balance, and fails with a message naming the file, the
column and the offending rows; nothing is silently dropped or coerced.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attrbayes import __version__
from attrbayes.constants import SECTOR_BREAKDOWNS
from attrbayes.data.schema import (
    DEFAULT_BALANCE_TOLERANCE,
    SCHEMA_VERSION,
    TABLES,
    Column,
    Table,
)
from attrbayes.exceptions import DataError, MissingTableError
from attrbayes.io_utils import claim_dir, mark_owned, read_text, replace_dir, toml_value

MANIFEST = "manifest.toml"
_MAX_SHOWN = 5


@dataclass(frozen=True)
class Manifest:
    """The panel's description: name, years, tolerance and provenance."""

    name: str
    first_year: int
    last_year: int
    structure: str = "unspecified"
    description: str = ""
    balance_tolerance: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_BALANCE_TOLERANCE)
    )
    provenance: Mapping[str, Any] = field(default_factory=dict)
    # table -> years whose level is not comparable with the year before (a source change):
    # growth into such a year is left undefined rather than read across the break
    series_breaks: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    # how place ids look: "norway" (4-digit municipality codes such as "0301", checked) or
    # "any" (any non-empty text without surrounding spaces: other countries' ids)
    code_scheme: str = "norway"
    schema_version: int = SCHEMA_VERSION

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)


@dataclass(frozen=True)
class Panel:
    """A validated panel. Tables are pandas DataFrames; absent optional tables are None.

    Construct with :func:`read_panel` or :meth:`Panel.from_tables` (both validate).
    """

    manifest: Manifest
    tables: Mapping[str, pd.DataFrame]

    @classmethod
    def from_tables(cls, manifest: Manifest, tables: Mapping[str, pd.DataFrame]) -> Panel:
        """Validate tables against the contract and return a panel (copies the frames)."""
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise DataError(f"unknown panel table(s) {unknown}; allowed: {sorted(TABLES)}")
        absent = [n for n, t in TABLES.items() if t.required and tables.get(n) is None]
        if absent:
            raise DataError(f"required panel table(s) {absent} missing")
        if manifest.code_scheme not in CODE_SCHEMES:
            raise DataError(f"manifest code_scheme {manifest.code_scheme!r} is not one of "
                            f"{list(CODE_SCHEMES)}")  # fmt: skip
        clean = {
            name: _coerce(TABLES[name], df.copy(), TABLES[name].file, manifest.code_scheme)
            for name, df in tables.items()
            if df is not None
        }
        panel = cls(manifest=manifest, tables=clean)
        _validate(panel)
        return panel

    # -- access -------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.tables

    def table(self, name: str, *, needed_for: str | None = None) -> pd.DataFrame:
        """Return a table, or raise :class:`MissingTableError` saying which stage needs it."""
        if name not in TABLES:
            raise KeyError(f"unknown panel table {name!r}; allowed: {sorted(TABLES)}")
        if name not in self.tables:
            purpose = needed_for or TABLES[name].needed_by or "this stage"
            raise MissingTableError(
                f"panel {self.manifest.name!r} has no table '{name}' ({TABLES[name].file}), "
                f"which is needed for {purpose}. Add it to the panel directory."
            )
        return self.tables[name]

    @property
    def places(self) -> pd.DataFrame:
        return self.tables["places"]

    @property
    def place_codes(self) -> list[str]:
        return self.places["place"].tolist()

    @property
    def years(self) -> range:
        return self.manifest.years

    def population_totals(self) -> pd.DataFrame:
        """Total population on 1 January as a place x year frame."""
        pop = self.tables["population"]
        return pop.pivot_table(
            index="place", columns="year", values="population", aggfunc="sum"
        ).reindex(self.place_codes)

    def write(
        self,
        path: str | Path,
        *,
        overwrite: bool = False,
        extra_files: Mapping[str, str] | None = None,
    ) -> Path:
        """Write the panel atomically (temporary directory, then rename)."""
        return write_panel(self, path, overwrite=overwrite, extra_files=extra_files)


# ---------------------------------------------------------------------------------------
# reading and writing
# ---------------------------------------------------------------------------------------
def read_panel(path: str | Path) -> Panel:
    """Read and validate the panel in directory ``path``.

    Parameters
    ----------
    path
        A panel directory: ``manifest.toml`` and one Parquet file per table
        (docs/panel_format.md).

    Returns
    -------
    Panel
        The validated tables (column types coerced, keys unique, population balances
        within the manifest's tolerance).

    Raises
    ------
    DataError
        Naming the file, table or column that is missing or wrong and what was expected.
    """
    root = Path(path)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{manifest_path}: no panel manifest here; is {root} a panel directory?")
    manifest = _read_manifest(manifest_path)
    tables: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        file = root / table.file
        if not file.is_file():
            if table.required:
                raise DataError(f"{file}: required table '{name}' is missing")
            continue
        try:
            tables[name] = pd.read_parquet(file)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            raise DataError(f"{file}: cannot be read as Parquet ({exc})") from exc
    extra = sorted(p.name for p in root.glob("*.parquet") if p.stem not in TABLES)
    if extra:
        raise DataError(
            f"{root}: unknown table file(s) {extra}; allowed: {[t.file for t in TABLES.values()]}"
        )
    clean = {
        name: _coerce(TABLES[name], df, str(root / TABLES[name].file), manifest.code_scheme)
        for name, df in tables.items()
    }
    panel = Panel(manifest=manifest, tables=clean)
    _validate(panel, root=root)
    # Arrow keeps the buffers that reading and converting freed for reuse; hand them back
    # (about 70 MB for the synthetic panel, which later stages would otherwise stack on)
    pa.default_memory_pool().release_unused()
    return panel


# what panel writers add beside the tables: the real and SSB builds' reports, the
# synthetic panel's truth
PANEL_EXTRAS = ("BUILD_REPORT.md", "build_report.json", "ssb_report.txt", "truth")


def panel_names(extra: Iterable[str] = ()) -> set[str]:
    """The names attrbayes writes into a panel folder."""
    return {t.file for t in TABLES.values()} | {MANIFEST, *PANEL_EXTRAS, *extra}


def write_panel(
    panel: Panel,
    path: str | Path,
    *,
    overwrite: bool = False,
    extra_files: Mapping[str, str] | None = None,
) -> Path:
    """Write ``panel`` to directory ``path`` atomically.

    Parameters
    ----------
    panel
        A validated panel.
    path
        The panel directory to write (written beside it, then renamed into place).
    overwrite
        Replace an existing panel directory; otherwise refuse.
    extra_files
        Name -> text, written in the same step (e.g. a build report); not Parquet files
        or the manifest.

    Returns
    -------
    Path
        The directory written.
    """
    extra = dict(extra_files or {})
    clash = [n for n in extra if n.endswith(".parquet") or n == MANIFEST or "/" in n]
    if clash:
        raise DataError(f"extra panel files {clash} would clash with the panel's own files")
    target = claim_dir(path, force=overwrite, known=panel_names(extra))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        mark_owned(tmp, "panel", __version__)
        for name, df in panel.tables.items():
            df.to_parquet(tmp / TABLES[name].file, index=False)
        (tmp / MANIFEST).write_text(_manifest_toml(panel.manifest), encoding="utf-8")
        for name, text in extra.items():
            (tmp / name).write_text(text, encoding="utf-8")
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _read_manifest(path: Path) -> Manifest:
    try:
        raw = tomllib.loads(read_text(path, "panel manifest"))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from exc
    allowed = {
        "schema_version",
        "name",
        "description",
        "structure",
        "first_year",
        "last_year",
        "balance_tolerance",
        "provenance",
        "series_breaks",
        "code_scheme",
    }
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise DataError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    for key in ("name", "first_year", "last_year"):
        if key not in raw:
            raise DataError(f"{path}: missing required key '{key}'")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise DataError(
            f"{path}: schema_version {version} is not supported (this attrbayes reads "
            f"version {SCHEMA_VERSION})"
        )
    for key in ("first_year", "last_year"):
        if not isinstance(raw[key], int):
            raise DataError(f"{path}: '{key}' must be an integer year, got {raw[key]!r}")
    if raw["first_year"] > raw["last_year"]:
        raise DataError(
            f"{path}: first_year {raw['first_year']} is after last_year {raw['last_year']}"
        )
    tol = dict(DEFAULT_BALANCE_TOLERANCE)
    given = raw.get("balance_tolerance", {})
    bad = sorted(set(given) - set(tol))
    if bad:
        raise DataError(
            f"{path}: balance_tolerance has unknown key(s) {bad}; allowed: {sorted(tol)}"
        )
    tol.update({k: float(v) for k, v in given.items()})
    breaks = raw.get("series_breaks", {})
    for table, years in breaks.items():
        if table not in TABLES:
            raise DataError(f"{path}: series_breaks names unknown table '{table}'")
        if not (isinstance(years, list) and all(isinstance(y, int) for y in years)):
            raise DataError(f"{path}: series_breaks.{table} must be a list of years")
    return Manifest(
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        structure=str(raw.get("structure", "unspecified")),
        first_year=raw["first_year"],
        last_year=raw["last_year"],
        balance_tolerance=tol,
        provenance=raw.get("provenance", {}),
        series_breaks={t: tuple(y) for t, y in breaks.items()},
        code_scheme=_code_scheme(raw.get("code_scheme", "norway"), path),
        schema_version=version,
    )


def _code_scheme(value: object, path: Path) -> str:
    if value not in CODE_SCHEMES:
        raise DataError(f"{path}: code_scheme {value!r} is not one of {list(CODE_SCHEMES)} "
                        "(norway: 4-digit municipality codes; any: other ids)")  # fmt: skip
    return str(value)


def _manifest_toml(m: Manifest) -> str:
    lines = [
        f"schema_version = {m.schema_version}",
        f"name = {toml_value(m.name)}",
        f"description = {toml_value(m.description)}",
        f"structure = {toml_value(m.structure)}",
        f"first_year = {m.first_year}",
        f"last_year = {m.last_year}",
        f"code_scheme = {toml_value(m.code_scheme)}",
        "",
        "[balance_tolerance]",
        *(f"{k} = {toml_value(v)}" for k, v in m.balance_tolerance.items()),
        "",
    ]
    if m.series_breaks:
        lines += ["[series_breaks]"]
        lines += [f"{t} = {toml_value(list(y))}" for t, y in m.series_breaks.items()]
        lines += [""]
    lines += ["[provenance]"]
    stamp = {"attrbayes_version": __version__, "written": dt.datetime.now(dt.UTC).isoformat()}
    prov = {**m.provenance, **stamp}  # the latest write stamps the file
    lines += [f"{k} = {toml_value(v)}" for k, v in prov.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------
def _rows(df: pd.DataFrame, mask: pd.Series | np.ndarray, columns: list[str]) -> str:
    bad = df.loc[np.asarray(mask), columns]
    shown = bad.head(_MAX_SHOWN).to_dict("records")
    more = f" (and {len(bad) - _MAX_SHOWN} more)" if len(bad) > _MAX_SHOWN else ""
    return f"{len(bad)} offending row(s), e.g. {shown}{more}"


def _coerce(table: Table, df: pd.DataFrame, where: str, scheme: str = "norway") -> pd.DataFrame:
    """Check columns and kinds; return the frame with canonical dtypes and column order."""
    names = [c.name for c in table.columns]
    missing = [c.name for c in table.columns if c.required and c.name not in df.columns]
    if missing:
        raise DataError(f"{where}: missing required column(s) {missing}; expected {names}")
    unknown = [c for c in df.columns if c not in names]
    if unknown:
        raise DataError(f"{where}: unknown column(s) {unknown}; allowed: {names}")
    present = [c.name for c in table.columns if c.name in df.columns]
    holes = df[present].isna()
    if holes.any().any():
        column = holes.any().idxmax()
        key = [k for k in table.key_for(df.columns) if k != column]
        raise DataError(
            f"{where}, column '{column}': missing values are not allowed; "
            + _rows(df, holes[column], [*key, column])
        )
    out = {}
    for col in table.columns:
        if col.name not in df.columns:
            continue
        out[col.name] = _coerce_column(col, df[col.name], where, scheme)
    result = pd.DataFrame(out)
    _check_values(table, result, where)
    return result.reset_index(drop=True)


# place id schemes: what a valid id is, and how to say so
CODE_SCHEMES: dict[str, tuple[str, str]] = {
    "norway": (r"\d{4}", "4-character digit strings like '0301'"),
    "any": (r"\S(?:.*\S)?", "non-empty text without leading or trailing spaces"),
}


def _coerce_column(col: Column, s: pd.Series, where: str, scheme: str = "norway") -> pd.Series:
    label = f"{where}, column '{col.name}'"
    if s.isna().any():
        raise DataError(f"{label}: {int(s.isna().sum())} missing value(s); none are allowed")
    if col.kind in ("code", "str"):
        if not (pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)):
            hint = (
                " (integer codes drop the leading zero: 301 instead of '0301')"
                if col.kind == "code"
                else ""
            )
            raise DataError(f"{label}: expected strings, got dtype {s.dtype}{hint}")
        s = s.astype(str)
        if col.kind == "code":
            pattern, what = CODE_SCHEMES[scheme]
            bad = ~s.str.fullmatch(pattern)
            if bad.any():
                hint = ' (a panel of other ids declares code_scheme = "any" in its manifest)'
                raise DataError(
                    f"{label}: codes must be {what}; got {s[bad].unique()[:_MAX_SHOWN].tolist()}"
                    + (hint if scheme == "norway" else "")
                )
        return s
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise DataError(f"{label}: expected numbers, got dtype {s.dtype}")
    if col.kind == "int":
        if not np.all(np.mod(s.to_numpy(dtype=float), 1) == 0):
            raise DataError(
                f"{label}: expected whole numbers, got e.g. {s[s % 1 != 0].head(3).tolist()}"
            )
        return s.astype(np.int64)
    values = s.astype(np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"{label}: {int((~np.isfinite(values)).sum())} non-finite value(s)")
    return values


def _check_values(table: Table, df: pd.DataFrame, where: str) -> None:
    for col in table.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        label = f"{where}, column '{col.name}'"
        if col.allowed is not None:
            bad = ~s.isin(col.allowed)
            if bad.any():
                raise DataError(
                    f"{label}: values must be one of {list(col.allowed)}; "
                    + _rows(df, bad, _show_cols(table, col, df.columns))
                )
        if col.min is not None and (s < col.min).any():
            raise DataError(
                f"{label}: values must be >= {col.min}; "
                + _rows(df, s < col.min, _show_cols(table, col, df.columns))
            )
        if col.max is not None and (s > col.max).any():
            raise DataError(
                f"{label}: values must be <= {col.max}; "
                + _rows(df, s > col.max, _show_cols(table, col, df.columns))
            )
    key = list(table.key_for(df.columns))
    dup = df.duplicated(key, keep=False)
    if dup.any():
        raise DataError(f"{where}: key {key} must be unique; " + _rows(df, dup, key))


def _show_cols(table: Table, col: Column, columns: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*table.key_for(columns), col.name]))


def _validate(panel: Panel, root: Path | None = None) -> None:
    """Cross-table checks: codes, year coverage, completeness, identities."""
    m = panel.manifest

    def where(name: str) -> str:
        file = TABLES[name].file
        return str(root / file) if root else file

    places = panel.tables["places"]
    codes = set(places["place"])
    years = set(m.years)

    for name, df in panel.tables.items():
        for code_col in ("place", "residence", "workplace"):
            if name != "places" and code_col in df.columns:
                unknown = ~df[code_col].isin(codes)
                if unknown.any():
                    raise DataError(
                        f"{where(name)}, column '{code_col}': codes not in places.parquet; "
                        + _rows(df, unknown, [code_col])
                    )
        if "year" in df.columns:
            out = ~df["year"].isin(years)
            if out.any():
                raise DataError(
                    f"{where(name)}, column 'year': years outside the manifest's "
                    f"{m.first_year}-{m.last_year}; " + _rows(df, out, ["year"])
                )

    pop = panel.tables["population"]
    pop_years = sorted(set(pop["year"]))
    gaps = sorted(set(range(pop_years[0], pop_years[-1] + 1)) - set(pop_years)) if pop_years else []
    if gaps:
        raise DataError(f"{where('population')}: years must be consecutive; missing {gaps}")
    _check_complete(
        pop, where("population"), {"place": sorted(codes), "year": pop_years}, ("sex", "age")
    )
    for table, break_years in m.series_breaks.items():
        outside = [y for y in break_years if y not in years]
        if outside:
            raise DataError(
                f"manifest: series_breaks.{table} years {outside} are outside "
                f"{m.first_year}-{m.last_year}"
            )
    for name in ("components", "jobs", "migration_groups"):
        if name in panel.tables:
            df = panel.tables[name]
            _check_complete(
                df, where(name), {"place": sorted(codes), "year": sorted(set(df["year"]))}, ()
            )
    if "components" in panel.tables:
        _check_split(panel.tables["components"], where("components"))
        _check_balance(panel, where("components"))
    if "jobs" in panel.tables:
        _check_sectors(panel.tables["jobs"], where("jobs"))
    if "jobs" in panel.tables and "jobs_industry" in panel.tables:
        _check_industry_sum(panel, where("jobs_industry"))


def _check_complete(
    df: pd.DataFrame, where: str, index: dict[str, list], inner: tuple[str, ...]
) -> None:
    """Every place x year in ``index`` must be present (with all ``inner`` combinations)."""
    if df.empty:
        raise DataError(f"{where}: table is empty")
    full = pd.MultiIndex.from_product(list(index.values()), names=list(index))
    got = pd.MultiIndex.from_frame(df[list(index)].drop_duplicates())
    missing = full.difference(got)
    if len(missing):
        shown = [dict(zip(index, row, strict=True)) for row in missing[:_MAX_SHOWN]]
        raise DataError(
            f"{where}: {len(missing)} place-year combination(s) missing, e.g. {shown}; "
            f"every place must have a row for every year the table covers"
        )
    if inner:
        sizes = df.groupby(list(index)).size()
        expected = int(np.prod([df[c].nunique() for c in inner]))
        short = sizes[sizes != expected]
        if len(short):
            raise DataError(
                f"{where}: each place-year needs all {expected} {'/'.join(inner)} rows; "
                f"{len(short)} do not, e.g. {short.head(_MAX_SHOWN).to_dict()}"
            )


def _check_split(comp: pd.DataFrame, where: str) -> None:
    split = {"net_migration_domestic", "net_migration_international"}
    present = split & set(comp.columns)
    if present and present != split:
        raise DataError(
            f"{where}: give both {sorted(split)} or neither; got only {sorted(present)}"
        )
    if present:
        diff = (
            comp["net_migration_domestic"]
            + comp["net_migration_international"]
            - comp["net_migration"]
        )
        bad = diff.abs() > 0.5
        if bad.any():
            raise DataError(
                f"{where}: net_migration_domestic + net_migration_international must equal "
                "net_migration; " + _rows(comp, bad, ["place", "year", "net_migration"])
            )


def balance_residuals(panel: Panel) -> pd.DataFrame:
    """pop[t+1] - (pop[t] + births - deaths + net migration) per place and year."""
    totals = panel.population_totals()
    comp = panel.table("components").set_index(["place", "year"])
    start = totals.stack().rename("pop_start")
    nxt = totals.copy()
    nxt.columns = nxt.columns - 1  # pop on 1 Jan t+1 aligned with year t
    end = nxt.stack().rename("pop_end")
    frame = comp.join(start, how="inner").join(end, how="inner")
    frame["residual"] = frame["pop_end"] - (
        frame["pop_start"] + frame["births"] - frame["deaths"] + frame["net_migration"]
    )
    return frame.reset_index()[["place", "year", "pop_start", "pop_end", "residual"]]


def _check_balance(panel: Panel, where: str) -> None:
    tol = panel.manifest.balance_tolerance
    res = balance_residuals(panel)
    limit = tol["persons"] + tol["relative"] * res["pop_start"]
    bad = res["residual"].abs() > limit
    if bad.any():
        raise DataError(
            f"{where}: population balance pop[t+1] = pop[t] + births - deaths + net_migration "
            f"fails beyond the tolerance ({tol['persons']} persons + {tol['relative']:.4%} of "
            f"population; set [balance_tolerance] in {MANIFEST}); "
            + _rows(res, bad, ["place", "year", "pop_start", "pop_end", "residual"])
        )


def _check_sectors(jobs: pd.DataFrame, where: str) -> None:
    """Each place-year's sectors must be one whole breakdown, so they sum to all jobs."""
    sets = jobs.groupby(["place", "year"])["sector"].agg(frozenset)
    bad = sets[~sets.isin(SECTOR_BREAKDOWNS)]
    if len(bad):
        shown = {k: sorted(v) for k, v in bad.head(_MAX_SHOWN).items()}
        raise DataError(
            f"{where}, column 'sector': each place-year needs exactly one breakdown of "
            f"{[sorted(b) for b in SECTOR_BREAKDOWNS]}; {len(bad)} do not, e.g. {shown}"
        )


def _check_industry_sum(panel: Panel, where: str) -> None:
    ind = panel.tables["jobs_industry"].groupby(["place", "year"])["jobs"].sum()
    jobs = panel.tables["jobs"]
    private = jobs[jobs["sector"] == "private"].set_index(["place", "year"])["jobs"]
    both = pd.concat({"industry_sum": ind, "private": private}, axis=1, join="inner").reset_index()
    bad = (both["industry_sum"] - both["private"]).abs() > 0.5 + 0.001 * both["private"]
    if bad.any():
        raise DataError(
            f"{where}: industry jobs must sum to the private-sector jobs in jobs.parquet; "
            + _rows(both, bad, ["place", "year", "industry_sum", "private"])
        )
