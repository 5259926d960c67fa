"""Build a panel from SSB tables: fetched from PxWebApi v2 or imported from statbank CSVs.

Both paths end in :func:`assemble_panel`: every table is converted in memory
(:mod:`attrbayes.data.ssb_tables`), cut to one window of years, optionally harmonised to
one municipal structure (:func:`~attrbayes.data.geography.harmonise`, splits reported),
joined with a places file (SSB's statistical tables hold no region, county or centrality),
validated by :meth:`Panel.from_tables` and only then written, atomically. Nothing partial
reaches the panel directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from attrbayes.data.geography import (
    Crosswalk,
    harmonise,
    read_csdata_crosswalk,
    to_2020_structure,
)
from attrbayes.data.panel import Manifest, Panel, write_panel
from attrbayes.data.schema import PLACES
from attrbayes.data.ssb import SsbClient
from attrbayes.data.ssb_csv import read_statbank_csv
from attrbayes.data.ssb_tables import (
    REGION_ROLES,
    SSB_TABLES,
    ConversionReport,
    build_selection,
    convert,
    normalise_api,
    normalise_csv,
    resolve_dims,
    table_for_export,
)
from attrbayes.exceptions import DataError

REPORT_FILE = "ssb_report.txt"
STRUCTURES = ("2020", "2024")
# value columns of each panel table that harmonisation sums or apportions
_COUNTS: Mapping[str, tuple[str, ...]] = {
    "population": ("population",),
    "components": ("births", "deaths", "net_migration"),
    "jobs": ("jobs",),
    "commuting": ("employed",),
}
_CODE_COLUMNS = ("place", "residence", "workplace")
PLACES_REQUIRED = tuple(c.name for c in PLACES.columns if c.required)
PLACES_OPTIONAL = tuple(c.name for c in PLACES.columns if not c.required)


@dataclass
class SsbBuild:
    """Panel tables converted from SSB tables, with what was set aside and where from."""

    tables: dict[str, pd.DataFrame]
    report: ConversionReport
    sources: list[str] = field(default_factory=list)
    splits: pd.DataFrame | None = None


# ---------------------------------------------------------------------------------------
# the two entry points
# ---------------------------------------------------------------------------------------
def fetch_tables(
    client: SsbClient,
    table_ids: Sequence[str],
    years: tuple[int, int] | None = None,
    *,
    progress: bool = False,
) -> SsbBuild:
    """Fetch SSB tables through ``client`` and convert them (nothing is written)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    unknown = [t for t in table_ids if t not in SSB_TABLES]
    if unknown:
        raise DataError(f"unknown SSB table(s) {unknown}; the registry has {sorted(SSB_TABLES)}")
    report = ConversionReport()
    converted, sources = [], []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, disable=not progress, transient=True) as bar:
        for table_id in table_ids:
            table = SSB_TABLES[table_id]
            task = bar.add_task(f"SSB {table_id}", total=None)
            meta = client.metadata(table_id)
            selection = build_selection(table, meta, years)
            roles = resolve_dims(table, meta)
            order = [roles[r] for r in ("year", *REGION_ROLES) if r in roles]
            result = client.fetch(
                table_id,
                selection,
                order=order,
                progress=lambda done, total, task=task: bar.update(
                    task, completed=done, total=total
                ),
            )
            frame = normalise_api(table, result.frame, meta)
            converted.append((table_id, convert(table, frame, report)))
            sources.append(
                f"{table_id} ({table.name}; SSB updated {result.updated}; "
                f"{result.chunks} request chunk(s), {result.requests} sent)"
            )
    return SsbBuild(_collect(converted), report, sources)


def import_exports(files: Iterable[str | Path]) -> SsbBuild:
    """Read statbank CSV exports, recognise each table from its title and convert it."""
    report = ConversionReport()
    converted, sources = [], []
    for file in files:
        path = Path(file)
        export = read_statbank_csv(path)
        table = table_for_export(export, str(path))
        converted.append((table.id, convert(table, normalise_csv(table, export), report)))
        sources.append(f"{table.id} ({table.name}) from {path.name}")
    if not sources:
        raise DataError("no statbank CSV files given")
    return SsbBuild(_collect(converted), report, sources)


def _collect(converted: list[tuple[str, dict[str, pd.DataFrame]]]) -> dict[str, pd.DataFrame]:
    """Concatenate per panel table; two different SSB tables may not fill the same one."""
    tables: dict[str, list[pd.DataFrame]] = {}
    origin: dict[str, set[str]] = {}
    for table_id, result in converted:
        for name, df in result.items():
            tables.setdefault(name, []).append(df)
            origin.setdefault(name, set()).add(table_id)
    clash = {name: sorted(ids) for name, ids in origin.items() if len(ids) > 1}
    if clash:
        raise DataError(
            f"more than one SSB table fills the same panel table: {clash}; use one of them"
        )
    return {name: pd.concat(dfs, ignore_index=True) for name, dfs in tables.items()}


# ---------------------------------------------------------------------------------------
# places
# ---------------------------------------------------------------------------------------
def read_places(path: str | Path) -> pd.DataFrame:
    """The places table from a CSV or Parquet file, checked for the columns the panel needs.

    Required: place (4-character code), name, region, county, centrality (0-1000) and
    centrality_class (1-6); optional: centrality_jobs, students_share.
    """
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: places file not found")
    if source.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(source)
    elif source.suffix.lower() in (".csv", ".txt"):
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    else:
        raise DataError(f"{source}: places file must be .csv or .parquet")
    missing = [c for c in PLACES_REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: places file lacks column(s) {missing}; it needs {list(PLACES_REQUIRED)} "
            f"(optional: {list(PLACES_OPTIONAL)})"
        )
    extra = [c for c in frame.columns if c not in (*PLACES_REQUIRED, *PLACES_OPTIONAL)]
    if extra:
        raise DataError(
            f"{source}: places file has unknown column(s) {extra}; allowed: "
            f"{list(PLACES_REQUIRED + PLACES_OPTIONAL)}"
        )
    out = frame.copy()
    for column in ("place", "name", "region", "county"):
        out[column] = out[column].astype(str).str.strip()
    bad = ~out["place"].str.fullmatch(r"\d{4}")
    if bad.any():
        raise DataError(
            f"{source}: column 'place' must hold 4-digit codes like '0301'; got "
            f"{out.loc[bad, 'place'].head(5).tolist()}"
        )
    for column in ("centrality", "centrality_class", *PLACES_OPTIONAL):
        if column in out.columns:
            values = pd.to_numeric(out[column], errors="coerce")
            blank = values.isna()
            if blank.any():
                raise DataError(
                    f"{source}: column '{column}' must be numeric; not for places "
                    f"{out.loc[blank, 'place'].head(5).tolist()}"
                )
            out[column] = values
    return out.reset_index(drop=True)


def load_crosswalk(path: str | Path | None, structure: str | None) -> Crosswalk | None:
    """The csdata crosswalk, taken back to 2020 codes when ``structure`` is "2020"."""
    if structure is not None and structure not in STRUCTURES:
        raise DataError(f"--structure must be one of {list(STRUCTURES)}, got {structure!r}")
    if path is None:
        if structure is not None:
            raise DataError(
                f"--structure {structure} needs --crosswalk FILE (FHI csdata's "
                "municip_redistricting_to_b2024 file) to recode municipalities"
            )
        return None
    crosswalk = read_csdata_crosswalk(path)
    return to_2020_structure(crosswalk) if structure == "2020" else crosswalk


# ---------------------------------------------------------------------------------------
# assembling
# ---------------------------------------------------------------------------------------
def window(build: SsbBuild, years: tuple[int, int] | None) -> tuple[int, int]:
    """Cut every table to ``years`` (default: the population's years); returns the window."""
    population = build.tables.get("population")
    if population is None or population.empty:
        raise DataError(
            "no population (SSB table 07459) among the inputs; a panel needs population by "
            "municipality, sex and single age"
        )
    have = (int(population["year"].min()), int(population["year"].max()))
    first, last = years or have
    if years and (first < have[0] or last > have[1]):
        build.report.add(
            "population",
            f"covers {have[0]}-{have[1]} only; the panel's years are cut to that from "
            f"{first}-{last}",
        )
        first, last = max(first, have[0]), min(last, have[1])
        if first > last:
            raise DataError(f"no population in {years[0]}-{years[1]}; SSB's covers {have}")
    for name, df in list(build.tables.items()):
        outside = ~df["year"].between(first, last)
        if outside.any():
            shown = sorted(set(df.loc[outside, "year"].tolist()))
            build.report.add(
                name, f"{int(outside.sum()):,} row(s) in years {shown} outside {first}-{last} cut"
            )
            build.tables[name] = df[~outside].reset_index(drop=True)
    return first, last


def harmonise_build(build: SsbBuild, crosswalk: Crosswalk) -> None:
    """Recode every count table to the crosswalk's structure; record the splits used."""
    known = set(zip(crosswalk.table["original"], crosswalk.table["year"], strict=True))
    splits = []
    for name, values in _COUNTS.items():
        df = build.tables.get(name)
        if df is None:
            continue
        for code in (c for c in _CODE_COLUMNS if c in df.columns):
            df = _drop_unused_codes(df, code, values, known, name, build.report)
            result = harmonise(df, crosswalk, values=values, code=code)
            df = result.frame
            if len(result.splits):
                splits.append(result.splits.assign(table=name, column=code))
        build.tables[name] = df
    build.splits = (
        pd.concat(splits, ignore_index=True).drop_duplicates(["original", "year", "target"])
        if splits
        else pd.DataFrame(columns=["original", "year", "target", "weight", "table", "column"])
    )
    n = build.splits[["original", "year"]].drop_duplicates().shape[0]
    build.report.add(
        "harmonise",
        f"recoded to the {crosswalk.structure} structure; {n} code-year(s) split between "
        f"successors by the crosswalk's weights",
    )
    for (original, year), rows in build.splits.groupby(["original", "year"]):
        shares = ", ".join(
            f"{t} {w:.3f}" for t, w in zip(rows["target"], rows["weight"], strict=True)
        )
        build.report.add("harmonise", f"split {original} ({year}) -> {shares}")


def _drop_unused_codes(
    df: pd.DataFrame,
    code: str,
    values: Sequence[str],
    known: set[tuple[str, int]],
    name: str,
    report: ConversionReport,
) -> pd.DataFrame:
    """Rows of codes not in use in a year (unknown to the crosswalk) that hold only zeros."""
    pairs = list(zip(df[code], df["year"].astype(int), strict=True))
    unknown = np.array([p not in known for p in pairs], dtype=bool)
    if not unknown.any():
        return df
    sub = df[unknown]
    nonzero = sub.groupby([code, "year"])[list(values)].apply(lambda g: bool((g != 0).any().any()))
    zero_pairs = set(nonzero.index[~nonzero.to_numpy()])
    drop = np.array([p in zero_pairs for p in pairs], dtype=bool)
    if drop.any():
        report.add(
            name,
            f"{len(zero_pairs)} {code}-year(s) of codes not in use that year (unknown to the "
            f"crosswalk, all values 0) dropped ({int(drop.sum()):,} rows)",
        )
    return df[~drop]


def restrict_to_places(build: SsbBuild, codes: set[str]) -> None:
    """Keep the places' codes; other codes may only hold zeros (e.g. codes no longer used)."""
    for name, df in list(build.tables.items()):
        values = _COUNTS.get(name, ())
        for column in (c for c in _CODE_COLUMNS if c in df.columns):
            other = ~df[column].isin(codes)
            if not other.any():
                continue
            extra = df[other]
            nonzero = (
                (extra[list(values)] != 0).any(axis=1) if values else pd.Series(True, extra.index)
            )
            if nonzero.any():
                shown = sorted(set(extra.loc[nonzero, column]))
                raise DataError(
                    f"{name}: {len(shown)} {column} code(s) with data are not in the places "
                    f"file: {shown[:10]}{' ...' if len(shown) > 10 else ''}; add them to the "
                    "places file, or harmonise the codes (--crosswalk FILE --structure 2020|2024)"
                )
            build.report.add(
                name,
                f"{extra[column].nunique()} {column} code(s) not in the places file, holding "
                f"only zeros, dropped ({int(other.sum()):,} rows)",
            )
            df = df[~other]
        build.tables[name] = df.reset_index(drop=True)


def assemble_panel(
    build: SsbBuild,
    *,
    places: pd.DataFrame | None,
    years: tuple[int, int] | None = None,
    crosswalk: Crosswalk | None = None,
    source: str = "SSB",
) -> Panel:
    """Window, harmonise, join the places and validate: a :class:`Panel` (not written).

    Without ``places`` it raises, saying what is needed: SSB's statistical tables do not
    hold names, regions, counties or centrality.
    """
    first, last = window(build, years)
    if crosswalk is not None:
        harmonise_build(build, crosswalk)
    if places is None:
        raise DataError(
            "no panel written: SSB's statistical tables do not hold the places table; give "
            f"--places FILE (CSV or Parquet with columns {list(PLACES_REQUIRED)}; optional "
            f"{list(PLACES_OPTIONAL)}) for the municipalities of the "
            f"{crosswalk.structure if crosswalk else 'published'} structure"
        )
    restrict_to_places(build, set(places["place"]))
    structure = crosswalk.structure if crosswalk is not None else "as published by SSB"
    manifest = Manifest(
        name=f"ssb-{first}-{last}",
        first_year=first,
        last_year=last,
        structure=structure,
        description=f"Norwegian municipalities from SSB ({source}), {first}-{last}",
        provenance={
            "source": source,
            "ssb_tables": list(build.sources),
            "report": REPORT_FILE,
        },
    )
    return Panel.from_tables(manifest, {"places": places, **build.tables})


def write_build(panel: Panel, build: SsbBuild, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the panel and the conversion report beside its tables, in one atomic step."""
    return write_panel(
        panel, out, overwrite=overwrite, extra_files={REPORT_FILE: report_text(build)}
    )


def report_text(build: SsbBuild) -> str:
    lines = ["SSB tables:", *(f"  {s}" for s in build.sources), "", "Conversion report:"]
    lines += [f"  {line}" for line in build.report.lines] or ["  (nothing set aside)"]
    return "\n".join(lines) + "\n"


def open_client(cache_dir: str | Path | None, *, refresh: bool = False) -> SsbClient:
    """The client the command line uses (tests replace this factory)."""
    return SsbClient(cache_dir=cache_dir, refresh=refresh)
