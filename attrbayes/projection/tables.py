"""Projection outputs as tables: per-draw series of a place or a group, quantile tables
(CSV, Parquet, Excel with optional Norwegian number formats) and per-draw trajectories.

Everything starts from the per-draw trajectories of a :class:`ProjectionResult`. Groups
(region, county, centrality class, nation) are summed **per draw** first and quantiles
are taken at the end, so a county's median is the median of the county's totals, not the
sum of its municipalities' medians. Intervals are equal-tailed (``lower_80`` is the 10 %
quantile, ``upper_80`` the 90 % quantile). Flows (births, deaths, net migration) are NaN
in the last projected year (see :mod:`attrbayes.projection.result`); their quantiles are
NaN there too (empty cells in CSV and Excel).

Variables: ``population``, the age groups ``0-15``, ``16-66``, ``67+``, ``80+`` (from
``age_group_population``; 80+ is part of 67+), ``births``, ``deaths``, ``net_migration``
and ``jobs`` (``jobs_private + jobs_public``, summed per draw).
"""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes.constants import INTERVALS
from attrbayes.exceptions import DataError
from attrbayes.io_utils import (
    atomic_write_bytes,
    atomic_write_text,
    csv_text,
    neutralise_formulas,
)
from attrbayes.projection.result import AGE_GROUPS_PROJECTION, FLOWS, ProjectionResult, unit_key
from attrbayes.quantiles import band_columns, band_probabilities, quantiles

AGE_GROUP_VARIABLES: tuple[str, ...] = tuple(AGE_GROUPS_PROJECTION)
MAIN_VARIABLES: tuple[str, ...] = (
    "population", *AGE_GROUP_VARIABLES, "births", "deaths", "net_migration", "jobs",
)  # fmt: skip
VARIABLE_LABELS: dict[str, str] = {
    "population": "Population (1 January)",
    "0-15": "Population aged 0-15",
    "16-66": "Population aged 16-66",
    "67+": "Population aged 67+",
    "80+": "Population aged 80+",
    "births": "Births",
    "deaths": "Deaths",
    "net_migration": "Net migration",
    "jobs": "Jobs (by workplace)",
}
# Selector levels: ``place`` (a municipality) and the aggregates of ProjectionResult.
LEVELS: tuple[str, ...] = ("place", "region", "county", "centrality_class", "nation")
LEVEL_LABELS = {"region": "Region", "county": "County", "centrality_class": "Centrality class"}
NATION = "nation"
EXCEL_FORMAT = "#,##0"  # Excel's locale-aware code: a Norwegian Excel shows 1 234
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Unit:
    """A place or a group of places: ``level`` (see LEVELS), ``code`` and ``label``."""

    level: str
    code: str
    label: str
    members: tuple[str, ...]


# -- selection -----------------------------------------------------------------------------
def _group_codes(result: ProjectionResult, level: str) -> np.ndarray:
    """Each place's group code at ``level`` as strings (``nation`` for all)."""
    n = result.ds.sizes["place"]
    if level == NATION:
        return np.full(n, NATION)
    if level == "place":
        return np.asarray(result.places)
    if level not in result.ds.coords:
        raise DataError(f"the projection has no {level!r} attribute for its places")
    values = np.asarray(result.ds[level].values)
    if values.dtype.kind == "f" and np.all(np.isfinite(values) & (values == np.round(values))):
        values = values.astype(np.int64)  # classes stored as floats: "3", not "3.0"
    return values.astype(str)


def _few(values: Iterable[str], n: int = 8) -> str:
    shown = sorted(set(values))
    more = f", ... ({len(shown)} in all)" if len(shown) > n else ""
    return ", ".join(shown[:n]) + more


def resolve_unit(result: ProjectionResult, level: str, code: str | int | None = None) -> Unit:
    """The place or group ``code`` at ``level``; a place may also be given by a unique
    name (case-insensitive). Unknown codes raise DataError naming a few valid ones."""
    if level not in LEVELS:
        raise DataError(f"unknown level {level!r}; choose from {', '.join(LEVELS)}")
    places = np.asarray(result.places, dtype=object)
    if level == NATION:
        return Unit(NATION, NATION, f"Nation ({len(places)} places)", tuple(places))
    if code is None:
        raise DataError(f"a {level} code is needed")
    key = str(code).strip()
    codes = _group_codes(result, level)
    if level == "place":
        names = np.asarray(result.ds["name"].values).astype(str) if "name" in result.ds else places
        if key not in set(places):
            hits = [p for p, n in zip(places, names, strict=True) if n.lower() == key.lower()]
            if len(hits) != 1:
                raise DataError(
                    f"unknown place {key!r}; valid codes include {_few(places)}"
                    + (f" ({key!r} names {len(hits)} places)" if hits else "")
                )
            key = hits[0]
        name = str(names[list(places).index(key)])
        return Unit("place", key, f"{name} ({key})", (key,))
    members = tuple(str(p) for p in places[codes == key])
    if not members:
        label = "centrality class" if level == "centrality_class" else level
        raise DataError(f"unknown {label} {key!r}; valid codes include {_few(codes)}")
    return Unit(level, key, f"{LEVEL_LABELS[level]} {key} ({len(members)} places)", members)


def check_scenarios(result: ProjectionResult, scenarios: Sequence[str] | None) -> list[str]:
    """The scenarios asked for (all when None), in the order asked; unknown ones raise."""
    have = result.scenarios
    if not scenarios:
        return have
    unknown = [s for s in scenarios if s not in have]
    if unknown:
        raise DataError(f"unknown scenario {unknown[0]!r}; have {', '.join(have)}")
    return list(dict.fromkeys(scenarios))


def check_variable(variable: str) -> str:
    if variable not in MAIN_VARIABLES:
        raise DataError(f"unknown variable {variable!r}; choose from {', '.join(MAIN_VARIABLES)}")
    return variable


# -- per-draw series -------------------------------------------------------------------------
def has_variable(result: ProjectionResult, variable: str) -> bool:
    """Whether the projection holds what ``variable`` is computed from."""
    check_variable(variable)
    if variable in AGE_GROUP_VARIABLES:
        return "age_group_population" in result.ds
    if variable == "jobs":
        return "jobs_private" in result.ds and "jobs_public" in result.ds
    return variable in result.ds or f"{variable}_quantiles" in result.ds


def has_draws(result: ProjectionResult, variable: str) -> bool:
    """Whether the projection holds ``variable`` per draw (flows are kept as quantiles)."""
    return has_variable(result, variable) and not (
        variable in FLOWS and variable not in result.ds
    )  # fmt: skip


def stored_bands(
    result: ProjectionResult, variable: str, level: str = "place",
    codes: Sequence[str] | None = None, masses: Sequence[float] = INTERVALS,
) -> pd.DataFrame | None:  # fmt: skip
    """Rows ``scenario, place, year, median, lower_50 ...`` of a variable the projection
    keeps as quantiles of every place and group (the flows), as
    ``bands_frame(level_draws(...))`` would give them from draws; None where it keeps
    draws."""
    name = f"{variable}_quantiles"
    if name not in result.ds:
        return None
    if list(masses) != list(INTERVALS):
        raise DataError(f"{variable} is stored as 50/80/95 % intervals only")
    if codes is None:  # the order level_draws gives: places as stored, groups sorted
        codes = result.places if level == "place" else sorted(set(_group_codes(result, level)))
    else:
        codes = [resolve_unit(result, level, c).code for c in codes]
    da = result.ds[name].sel(unit=[unit_key(level, c) for c in codes])
    da = da.assign_coords(unit=codes).rename(unit="place")
    frame = da.to_dataset(dim="band").to_dataframe().reset_index()
    return frame[["scenario", "place", "year", *band_columns(masses)]]


def variable_draws(
    result: ProjectionResult, variable: str, places: Sequence[str] | None = None
) -> xr.DataArray:
    """Per-draw values of ``variable`` for every place (or only ``places``): dims
    scenario, draw, place, year."""
    if not has_variable(result, variable):
        raise DataError(f"the projection has no data for {variable!r}")
    if not has_draws(result, variable):
        raise DataError(f"the projection keeps {variable} as quantiles of every place and "
                        "group, not per draw")  # fmt: skip
    ds = result.ds if places is None else result.ds.sel(place=list(places))
    if variable in AGE_GROUP_VARIABLES:
        da = ds["age_group_population"].sel(age_group=variable, drop=True)
    elif variable == "jobs":
        da = ds["jobs_private"] + ds["jobs_public"]
    else:
        da = ds[variable]
    return da.rename(variable).transpose("scenario", "draw", "place", "year")


def _sum_places(da: xr.DataArray, result: ProjectionResult, level: str) -> xr.DataArray:
    """Sum over places per draw into the groups of ``level`` (place dim = group codes)."""
    if level == "place":
        return da
    groups = xr.DataArray(_group_codes(result, level), dims="place", name="group")
    out = da.groupby(groups).sum("place", skipna=False)
    return out.rename(group="place")


def level_draws(
    result: ProjectionResult, variable: str, level: str = "place",
    codes: Sequence[str] | None = None,
) -> xr.DataArray:  # fmt: skip
    """Per-draw values at ``level`` (groups summed per draw), optionally only ``codes``."""
    if level not in LEVELS:
        raise DataError(f"unknown level {level!r}; choose from {', '.join(LEVELS)}")
    if level == "place":
        places = None if codes is None else [resolve_unit(result, level, c).code for c in codes]
        return variable_draws(result, variable, places)
    out = _sum_places(variable_draws(result, variable), result, level)
    if codes is not None:
        out = out.sel(place=[resolve_unit(result, level, c).code for c in codes])
    return out.transpose("scenario", "draw", "place", "year")


def unit_draws(result: ProjectionResult, variable: str, unit: Unit) -> xr.DataArray:
    """Per-draw series of one place or group: dims scenario, draw, year."""
    return variable_draws(result, variable, unit.members).sum("place", skipna=False)


def unit_history(result: ProjectionResult, variable: str, unit: Unit) -> pd.DataFrame:
    """Observed history (``year, value``) of population or jobs, summed for groups; empty
    for variables without a history in the projection."""
    source = {"population": "history_population", "jobs": "history_jobs"}.get(variable)
    if source is None or source not in result.ds:
        return pd.DataFrame({"year": pd.Series(dtype=int), "value": pd.Series(dtype=float)})
    da = result.ds[source].sel(place=list(unit.members)).sum("place", skipna=False)
    frame = pd.DataFrame({"year": da["history_year"].values.astype(int), "value": da.values})
    return frame.dropna().reset_index(drop=True)


def draw_quantiles(values: np.ndarray, masses: Sequence[float] = INTERVALS) -> dict:
    """Median and equal-tailed bounds along the last axis (NaN propagates)."""
    return dict(zip(band_columns(masses), quantiles(values, band_probabilities(masses)),
                    strict=True))  # fmt: skip


def bands_frame(da: xr.DataArray, masses: Sequence[float] = INTERVALS) -> pd.DataFrame:
    """Quantiles over ``draw`` of a DataArray: one row per combination of its other dims."""
    other = [d for d in da.dims if d != "draw"]
    arr = da.transpose(*other, "draw")
    stats = draw_quantiles(arr.values, masses)
    index = pd.MultiIndex.from_product([arr[d].values for d in other], names=other)
    frame = pd.DataFrame({k: np.asarray(v).reshape(-1) for k, v in stats.items()}, index=index)
    return frame.reset_index()


# -- quantile tables ---------------------------------------------------------------------------
def _names(result: ProjectionResult, level: str, codes: Sequence[str]) -> list[str]:
    if level == "place":
        if "name" not in result.ds.coords:
            return list(codes)
        names = dict(zip(result.places, result.ds["name"].values.astype(str), strict=True))
        return [names[c] for c in codes]
    if level == NATION:
        return ["Nation"] * len(codes)
    return [f"{LEVEL_LABELS[level]} {c}" for c in codes]


def quantile_table(
    result: ProjectionResult, *, level: str = "place", codes: Sequence[str] | None = None,
    variables: Sequence[str] | None = None, scenarios: Sequence[str] | None = None,
    masses: Sequence[float] = INTERVALS,
) -> pd.DataFrame:  # fmt: skip
    """Long quantile table: ``scenario, level, place, name, year, variable, median,
    lower_50, upper_50, lower_80, upper_80, lower_95, upper_95``; groups are per-draw
    sums. ``variables=None`` means every main variable the projection holds."""
    chosen = check_scenarios(result, scenarios)
    if variables is None:
        variables = [v for v in MAIN_VARIABLES if has_variable(result, v)]
    frames = []
    for variable in variables:
        frame = stored_bands(result, variable, level, codes, masses)
        if frame is None:
            frame = bands_frame(level_draws(result, variable, level, codes), masses)
        frame = frame[frame["scenario"].isin(chosen)].reset_index(drop=True)
        frame.insert(3, "variable", variable)
        frames.append(frame)
    if not frames:
        raise DataError("no variables to tabulate")
    out = pd.concat(frames, ignore_index=True)
    out["scenario"] = out["scenario"].astype(str)
    out["place"] = out["place"].astype(str)
    out["year"] = out["year"].astype(np.int64)
    out.insert(1, "level", level)
    out.insert(3, "name", _names(result, level, list(out["place"])))
    scen_order = {s: i for i, s in enumerate(chosen)}
    var_order = {v: i for i, v in enumerate(variables)}

    def key(column: pd.Series) -> pd.Series:
        if column.name == "scenario":
            return column.map(scen_order)
        if column.name == "variable":
            return column.map(var_order)
        return column

    out = out.sort_values(["scenario", "place", "variable", "year"], key=key)
    return out.reset_index(drop=True)


def unit_quantile_table(
    result: ProjectionResult, unit: Unit, *, variables: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """The quantile table of one place or group (see :func:`quantile_table`)."""
    codes = None if unit.level == NATION else [unit.code]
    return quantile_table(
        result, level=unit.level, codes=codes, variables=variables, scenarios=scenarios
    )


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario x place x year; columns ``<variable>_<stat>``."""
    stats = [c for c in band_columns() if c in table.columns]
    keys = ["scenario", "level", "place", "name", "year"]
    variables = list(dict.fromkeys(table["variable"]))
    wide = table.pivot(index=keys, columns="variable", values=stats)
    wide.columns = [f"{v}_{s}" for s, v in wide.columns]
    ordered = [f"{v}_{s}" for v in variables for s in stats]
    wide = wide[ordered].reset_index()
    scen = {s: i for i, s in enumerate(dict.fromkeys(table["scenario"]))}
    wide = wide.sort_values(["scenario", "place", "year"],
                            key=lambda s: s.map(scen) if s.name == "scenario" else s)  # fmt: skip
    return wide.reset_index(drop=True)


# -- writing ---------------------------------------------------------------------------------
def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_table(
    table: pd.DataFrame, path: str | Path, *, norwegian: bool = False, overwrite: bool = True
) -> Path:
    """Write a long quantile table by suffix: ``.csv``, ``.parquet`` (both long) or
    ``.xlsx`` (one sheet per scenario, see :func:`excel_bytes`); atomically."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise DataError(f"{target} already exists")
    suffix = target.suffix.lower()
    if suffix == ".csv":
        return atomic_write_text(target, csv_text(table))
    if suffix == ".parquet":
        return atomic_write_bytes(target, _parquet_bytes(table))
    if suffix == ".xlsx":
        return atomic_write_bytes(target, excel_bytes(table, norwegian=norwegian))
    raise DataError(f"{target}: write tables as .csv, .parquet or .xlsx")


def norwegian_number_format(value: float | None, decimals: int = 0) -> str:
    """An Excel number format that shows ``value`` with spaces between thousands whatever
    the reader's locale: ``0`` below 1,000, ``# ##0`` for thousands, ``# ### ##0`` for
    millions and so on. Excel's own thousands separator (``,`` in a format code) follows
    the reader's locale, so these spaces are literal characters sized to the value (a
    larger number typed in later keeps its extra digits in the first group); the cell
    stays numeric. The decimal mark of ``decimals > 0`` (``.`` in the code) is shown as
    the reader's locale says (a comma in Norwegian Excel): Excel format codes have no
    locale-independent decimal comma for numbers."""
    digits = 1
    if value is not None and math.isfinite(value):
        digits = len(str(int(round(abs(value), decimals))))
    groups = (digits - 1) // 3 + 1
    code = "0" if groups == 1 else "# " + "### " * (groups - 2) + "##0"
    return code + ("." + "0" * decimals if decimals > 0 else "")


def _sheet_name(name: str, taken: set[str]) -> str:
    base = SHEET_FORBIDDEN.sub("_", name).strip("'")[:31] or "scenario"
    candidate, i = base, 2
    while candidate.lower() in taken:
        suffix = f"_{i}"
        candidate, i = base[: 31 - len(suffix)] + suffix, i + 1
    taken.add(candidate.lower())
    return candidate


def excel_bytes(table: pd.DataFrame, *, norwegian: bool = False, decimals: int = 0) -> bytes:
    """An xlsx workbook of a long quantile table: one sheet per scenario, rows place x
    year, columns ``<variable>_<stat>``; cells numeric, NaN left empty. Number formats:
    ``#,##0`` (the reader's locale decides the separators) or, with ``norwegian``, the
    literal-space formats of :func:`norwegian_number_format` per cell."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    add_excel_sheets(workbook, table, norwegian=norwegian, decimals=decimals)
    if not workbook.sheetnames:
        workbook.create_sheet("empty")
    neutralise_formulas(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def add_excel_sheets(workbook, table: pd.DataFrame, *, norwegian: bool = False,
                     decimals: int = 0) -> list[str]:  # fmt: skip
    """Add the sheets of :func:`excel_bytes` to an openpyxl ``workbook`` (one more
    workbook's sheets, saved once); returns their names."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wide = wide_table(table)
    taken: set[str] = {name.lower() for name in workbook.sheetnames}
    added = []
    value_cols = [c for c in wide.columns if c not in ("scenario", "level", "place", "name")]
    value_cols.remove("year")
    default_format = EXCEL_FORMAT + ("." + "0" * decimals if decimals > 0 else "")
    for scenario, rows in wide.groupby("scenario", sort=False):
        sheet = workbook.create_sheet(_sheet_name(str(scenario), taken))
        added.append(sheet.title)
        header = ["place", "name", "year", *value_cols]
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for record in rows[["place", "name", "year", *value_cols]].itertuples(index=False):
            place, name, year, *values = record
            sheet.append(
                [str(place), str(name), int(year)]
                + [None if not np.isfinite(v) else float(v) for v in values]
            )
        for row in sheet.iter_rows(min_row=2, min_col=4):
            for cell in row:
                if cell.value is None:
                    continue
                cell.number_format = (
                    norwegian_number_format(cell.value, decimals) if norwegian else default_format
                )
        sheet.freeze_panes = "D2"
        for i, title in enumerate(header, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, len(title) + 2)
    return added


def trajectories_table(
    result: ProjectionResult, *, level: str = "place", codes: Sequence[str] | None = None,
    variables: Sequence[str] | None = None, scenarios: Sequence[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Per-draw trajectories, long: ``scenario, draw, place, year`` and one column per
    variable (groups summed per draw). Meant for small selections; :func:
    `write_trajectories` streams large ones to Parquet."""
    chosen = check_scenarios(result, scenarios)
    if variables is None:
        variables = [v for v in MAIN_VARIABLES if has_draws(result, v)]
    columns = {}
    for variable in variables:
        columns[variable] = level_draws(result, variable, level, codes).sel(scenario=chosen)
    if not columns:
        raise DataError("no variables asked for")
    first = next(iter(columns.values()))
    index = pd.MultiIndex.from_product(
        [first[d].values for d in ("scenario", "draw", "place", "year")],
        names=["scenario", "draw", "place", "year"],
    )
    frame = pd.DataFrame({v: da.values.reshape(-1) for v, da in columns.items()}, index=index)
    frame = frame.reset_index()
    frame["scenario"] = frame["scenario"].astype(str)
    frame["place"] = frame["place"].astype(str)
    frame["draw"] = frame["draw"].astype(np.int64)
    frame["year"] = frame["year"].astype(np.int64)
    return frame


def write_trajectories(
    result: ProjectionResult, path: str | Path, *, level: str = "place",
    codes: Sequence[str] | None = None, variables: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None, chunk_places: int = 50, overwrite: bool = True,
) -> Path:  # fmt: skip
    """Write :func:`trajectories_table` as Parquet, one row group per scenario and chunk
    of places (memory stays bounded), to a temporary file beside ``path``, then rename."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = Path(path)
    if target.exists() and not overwrite:
        raise DataError(f"{target} already exists")
    chosen = check_scenarios(result, scenarios)
    if variables is None:
        variables = [v for v in MAIN_VARIABLES if has_draws(result, v)]
    for variable in variables:  # fail before writing anything
        if not has_draws(result, variable):
            raise DataError(f"the projection has no draws of {variable!r}")
    if codes is None:
        units = list(dict.fromkeys(_group_codes(result, level)))
    else:
        units = [resolve_unit(result, level, c).code for c in codes]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    writer = None
    try:
        for scenario in chosen:
            for start in range(0, len(units), max(1, chunk_places)):
                part = trajectories_table(
                    result, level=level, codes=units[start : start + chunk_places],
                    variables=variables, scenarios=[scenario],
                )  # fmt: skip
                table = pa.Table.from_pandas(part, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
        if writer is None:
            raise DataError("nothing to write: no scenarios or places selected")
        writer.close()
        writer = None
        os.replace(tmp, target)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def shock_effect_table(result: ProjectionResult) -> pd.DataFrame:
    """The job shocks' effect per draw (run with minus run without), as ``scenario, place,
    name, variable (population, jobs), year, median, lower_80, upper_80`` for the shocked
    places and their commuting neighbours."""
    if "shock_population_effect" not in result.ds:
        raise DataError("the projection has no job shocks (project with --jobs-shock)")
    names = result.ds["name"].to_series()
    frames = []
    for variable in ("population", "jobs"):
        da = result.ds[f"shock_{variable}_effect"]
        q = da.quantile([0.5, 0.1, 0.9], dim="draw").assign_coords(
            quantile=["median", "lower_80", "upper_80"])  # fmt: skip
        frame = q.to_dataset(dim="quantile").to_dataframe().reset_index()
        frame["variable"] = variable
        frames.append(frame.rename(columns={"effect_place": "place"}))
    out = pd.concat(frames, ignore_index=True)
    out["name"] = out["place"].map(names)
    order = {p: i for i, p in enumerate(result.ds["effect_place"].values)}
    out = out.sort_values(["scenario", "variable", "place", "year"],
                          key=lambda c: c.map(order) if c.name == "place" else c)  # fmt: skip
    cols = ["scenario", "place", "name", "variable", "year", "median", "lower_80", "upper_80"]
    return out[cols].reset_index(drop=True)


def milestone_years(years: Iterable[int], milestones: Sequence[int] = (2030, 2040, 2050)) -> list:
    """The base (first) year and the milestones among ``years``."""
    years = sorted(int(y) for y in years)
    if not years:
        return []
    return [years[0], *[y for y in milestones if y in years and y != years[0]]]


def milestone_text(table: pd.DataFrame, variable: str, *, years: Sequence[int]) -> str:
    """Median [80 % interval] per milestone year (rows) and scenario (columns)."""
    rows = table[(table["variable"] == variable) & table["year"].isin(years)]
    if rows.empty:
        return f"(no {variable} values in {', '.join(map(str, years))})"

    def cell(r) -> str:
        if not np.isfinite(r["median"]):
            return "-"
        return f"{r['median']:,.0f} [{r['lower_80']:,.0f} - {r['upper_80']:,.0f}]"

    shown = rows.assign(text=rows.apply(cell, axis=1))
    scen = list(dict.fromkeys(shown["scenario"]))
    grid = shown.pivot(index="year", columns="scenario", values="text")[scen]
    grid.columns.name = None
    return grid.reset_index().to_string(index=False)
