"""SSB tables the model needs, and their conversion into panel tables.

:data:`SSB_TABLES` is the registry: one :class:`SsbTable` per SSB table id, saying what the
table holds, how its dimensions are named in the API (PxWebApi v2) and in statbank CSV
exports, which statistics ("statistikkvariabel", ``ContentsCode``) are used, and which
converter turns it into panel tables. Ids and codes are data: correct them here.

Both entry points share the converters: :func:`normalise_api` (a JSON-stat2 frame from
:mod:`attrbayes.data.ssb`) and :func:`normalise_csv` (a statbank export read by
:func:`~attrbayes.data.ssb_csv.read_statbank_csv`) produce the same normalised frame --
columns by role (``region``/``residence``/``workplace`` codes, ``year``, ``sex``, ``age``,
``sector``, ``variable``) plus ``value`` and ``status`` -- and :func:`convert` applies the
table's converter. Everything set aside (county and national rows, Svalbard, the
continental shelf, "unknown" codes, missing values by SSB symbol, unused statistics, ages
outside the panel's range) is counted in a :class:`ConversionReport`, never dropped
silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attrbayes.constants import MAX_AGE, SECTOR_BREAKDOWNS
from attrbayes.data.ssb import STATUS, TableMetadata, iter_years
from attrbayes.data.ssb_csv import StatbankTable, parse_age, parse_region, parse_sex
from attrbayes.exceptions import DataError

REGION_ROLES = ("region", "residence", "workplace")
CSV_SYMBOL = "symbol in the CSV export"  # status of a missing value read from a CSV export


@dataclass(frozen=True)
class Dim:
    """One dimension of an SSB table.

    ``api_id`` is the dimension id in PxWebApi v2 (``Region``, ``Kjonn``, ``Tid``);
    ``label`` a regular expression for the dimension's label, used when the id is not
    found; ``csv_names`` the column headings of statbank CSV exports (matched ignoring
    case); ``codes`` fixes the value codes to request (else the role decides).
    """

    role: str
    api_id: str
    csv_names: tuple[str, ...]
    label: str = ""
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variable:
    """A statistic of the table: our name, SSB's ``ContentsCode``(s), a label pattern."""

    key: str
    codes: tuple[str, ...]
    label: str  # regular expression, matched case-insensitively from the label's start
    scale: float = 1.0  # e.g. 0.001 for per mille / per 1,000 women


@dataclass(frozen=True)
class SsbTable:
    """An SSB table in the registry (see :data:`SSB_TABLES`)."""

    id: str
    name: str  # short: what the table is for us
    title: str
    holds: str
    converter: str
    produces: tuple[str, ...]
    dims: tuple[Dim, ...]
    variables: tuple[Variable, ...]
    # which region codes to request: municipal, municipal+national, national (0), none
    regions: str = "municipal"
    verified: str = ""
    default: bool = True  # fetched by ``attrbayes data fetch-ssb`` unless --tables says

    def dim(self, role: str) -> Dim | None:
        return next((d for d in self.dims if d.role == role), None)


_YEAR = Dim("year", "Tid", ("år", "year", "tid"))
_CONTENTS = Dim("contents", "ContentsCode", ("statistikkvariabel", "contents"))
_REGION = Dim("region", "Region", ("region", "kommune"))
_SEX = Dim("sex", "Kjonn", ("kjønn", "kjonn", "sex"), label=r"kjønn|sex|gender")

SSB_TABLES: dict[str, SsbTable] = {
    t.id: t
    for t in (
        SsbTable(
            id="07459",
            name="population",
            title="Befolkning, etter region, kjønn, alder og år",
            holds="population on 1 January by municipality, sex and single age 0-105+",
            converter="population",
            produces=("population",),
            dims=(
                _REGION,
                _SEX,
                Dim("age", "Alder", ("alder", "age"), r"alder|age"),
                _CONTENTS,
                _YEAR,
            ),
            variables=(Variable("population", ("Personer1",), r"personer|persons"),),
            verified=(
                "id, dimensions Region/Kjonn/Alder/ContentsCode/Tid, ContentsCode Personer1, "
                "region 0 = Hele landet, Kjonn 1/2 without a total code, Alder codes up to "
                "'105+': SSB's PxWebApi user guide and public API examples"
            ),
        ),
        SsbTable(
            id="06913",
            name="components of change",
            title="Endringer i kommuner, fylker og hele landets befolkning",
            holds=(
                "components of change by municipality and year: population 1 January, live "
                "births, deaths, in- and out-migration (domestic + international), net "
                "migration; for 'Hele landet' in/out-migration are immigration/emigration"
            ),
            converter="components",
            produces=("components", "immigration"),
            dims=(_REGION, _CONTENTS, _YEAR),
            variables=(
                Variable("population_start", (), r"befolkning|folketal|folkemengd|population"),
                Variable("births", (), r"levendefødte|fødde|levandefødde|live births|births"),
                Variable("deaths", (), r"døde|deaths"),
                Variable("net_migration", (), r"nettoinnflytting|net migration"),
            ),
            regions="municipal+national",
            verified=(
                "id, title and statistics (Befolkning 1.1., Levendefødte, Døde, "
                "Fødselsoverskudd, Innflyttinger, Utflyttinger, Nettoinnflytting, "
                "Folketilvekst): SSB's statbank page; national in/out = immigration/"
                "emigration: public SSB-based code. ContentsCode ids NOT verified, so "
                "statistics are matched by label"
            ),
        ),
        SsbTable(
            id="11618",
            name="jobs by workplace (total)",
            title=(
                "Sysselsatte per 4. kvartal, etter region (bosted og arbeidssted), kjønn, "
                "alder, statistikkvariabel og år (wording of the title not verified)"
            ),
            holds=(
                "residents 15-74, employed 15-74 by residence and by WORKPLACE municipality, "
                "4th quarter; no sector split (jobs as sector 'total')"
            ),
            converter="jobs",
            produces=("jobs",),
            dims=(
                Dim("workplace", "Region", ("region", "arbeidsstedskommune", "arbeidssted")),
                Dim("sex", "Kjonn", ("kjønn", "kjonn", "sex"), r"kjønn|sex", codes=("0",)),
                Dim("age", "Alder", ("alder", "age"), r"alder|age", codes=("15-74",)),
                _CONTENTS,
                _YEAR,
            ),
            variables=(
                Variable("jobs", ("SysselArbsted",), r"sysselsatte personer med arbeidssted"),
            ),
            verified=(
                "dimensions Region/Kjonn/Alder/ContentsCode/Tid, Kjonn 0, Alder 15-74 and "
                "ContentsCode SysselArbsted (employed by workplace): Statistics Norway's own "
                "'pendling' app (make_data.R)"
            ),
        ),
        SsbTable(
            id="13470",
            name="jobs by workplace and sector",
            title="Sysselsatte per 4. kvartal, etter arbeidsstedskommune, sektor og næring",
            holds="employed persons (jobs) by WORKPLACE municipality and sector, 4th quarter",
            converter="jobs",
            produces=("jobs",),
            dims=(
                Dim("workplace", "Region", ("region", "arbeidsstedskommune", "arbeidssted")),
                Dim("sector", "Sektor", ("sektor", "sector"), r"sektor|sector"),
                _CONTENTS,
                _YEAR,
            ),
            variables=(Variable("jobs", (), r"sysselsatte|employed"),),
            verified=(
                "id = employed persons by workplace municipality (SSB article on register-"
                "based employment, 2022). The sector dimension, its id and codes are NOT "
                "verified: sectors are matched by label (statlig/fylkeskommunal/kommunal/"
                "privat, offentlig, alle sektorer); not fetched unless asked (--tables)"
            ),
            default=False,
        ),
        SsbTable(
            id="03321",
            name="commuting",
            title=(
                "Sysselsatte per 4. kvartal. Pendlingsstrømmer etter arbeidsstedskommune, "
                "bostedskommune, statistikkvariabel og år"
            ),
            holds="employed persons 15-74 by workplace x residence municipality, 4th quarter",
            converter="commuting",
            produces=("commuting",),
            dims=(
                Dim("workplace", "ArbstedKomm", ("arbeidsstedskommune", "arbeidssted")),
                Dim("residence", "Bokommuen", ("bostedskommune", "bosted")),
                _CONTENTS,
                _YEAR,
            ),
            variables=(Variable("employed", ("Sysselsatte",), r"sysselsatte|employed"),),
            verified=(
                "title of a statbank export; dimensions ArbstedKomm/Bokommuen, ContentsCode "
                "Sysselsatte: Statistics Norway's own 'pendling' app and other public code"
            ),
        ),
        SsbTable(
            id="07902",
            name="life tables",
            title="Dødelighetstabeller, etter kjønn og alder",
            holds="national life tables: lx, dx, ex and qx (death probability, per mille)",
            converter="mortality",
            produces=("mortality",),
            dims=(
                _SEX,
                Dim("age", "Alder", ("alder x", "alder", "age"), r"alder|age"),
                _CONTENTS,
                _YEAR,
            ),
            variables=(
                Variable(
                    "death_probability",
                    (),
                    r"dødssannsynlighet|probability of death",
                    scale=0.001,
                ),
            ),
            regions="none",
            verified=(
                "id, title and the four statistics with qx in per mille: SSB's statbank "
                "page. Dimension ids and ContentsCode ids NOT verified (matched by label)"
            ),
        ),
        SsbTable(
            id="06445",
            name="employment rates by age group",
            title=(
                "Andel sysselsatte i befolkningen, etter bosted, kjønn og alder. "
                "4. kvartal (K) 2005 - 2019"
            ),
            holds=(
                "employed residents in % of the population by region, sex and 7 age groups "
                "(15-74 and 15-19 ... 67-74), 4th quarter 2005-2019 (closed series; from 2015 "
                "a new source, a-ordningen, and no longer coordinated with AKU's totals); the "
                "whole country's rates become single ages by the mean-preserving "
                "interpolation of attrbayes.data.employment"
            ),
            converter="employment_rates",
            produces=("employment_rates",),
            dims=(
                _REGION,
                _SEX,
                Dim("age_group", "Alder", ("alder", "age"), r"alder|age"),
                _CONTENTS,
                _YEAR,
            ),
            variables=(Variable("employment_rate", (), r"sysselsatte|employed", scale=0.01),),
            regions="national",
            verified=(
                "id, title, unit (employed in % of the population 15-74), reference time "
                "(4th quarter), variables region/kjønn/alder (7 groups)/år (15 years, "
                "2005-2019) and the 2015 break: SSB's statbank page for 06445. Dimension ids "
                "(Region/Kjonn/Alder/ContentsCode/Tid), value codes and the ContentsCode id "
                "NOT verified: matched by label. NOT single ages: no SSB table with employed "
                "persons or rates by single year of age and sex was found. Candidates "
                "checked: 13472 is employed persons by workplace municipality and sector "
                "(public code querying it: Region, Sektor, ContentsCode SysselEtterArbste; no "
                "age); 12542 is employed persons by occupation (STYRK-08) according to public "
                "code; 11607 has age groups (15-74) and country background; 03778 (AKU, 12 "
                "age groups, per SOURCES.md) and 11606 could not be checked"
            ),
            default=False,
        ),
    )
}

# Ages and sexes of the labels in SSB's dimensions.
_SEX_CODES = {"1": "male", "2": "female", "0": "total"}
_AGE_CODE = re.compile(r"^(\d{1,3})\+?$")
_AGE_GROUP = re.compile(r"(\d{1,3})\s*-\s*(\d{1,3})")
_SECTORS = (
    (re.compile(r"^statlig|^state", re.I), "state"),
    (re.compile(r"^fylkeskommunal|^county", re.I), "county"),
    (re.compile(r"^kommunal|^municipal|^local", re.I), "municipal"),
    (re.compile(r"^privat|^private", re.I), "private"),
    (re.compile(r"^offentlig (sektor|forvaltning)$|^public sector$", re.I), "public"),
    (re.compile(r"^alle sektorer|^i alt|^total|^all sectors", re.I), "total"),
)
# Svalbard (21..), Jan Mayen (22..), the continental shelf (23..) and "unknown" (99..)
# carry 4-digit codes but are not municipalities.
_NON_MUNICIPAL_PREFIX = {"21": "Svalbard", "22": "Jan Mayen", "23": "continental shelf",
                         "99": "unknown/abroad"}  # fmt: skip


# ---------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------
@dataclass
class ConversionReport:
    """What was set aside or changed on the way to panel tables, per SSB table."""

    lines: list[str] = field(default_factory=list)

    def add(self, table: str, message: str) -> None:
        self.lines.append(f"{table}: {message}")

    def extend(self, other: ConversionReport) -> None:
        self.lines.extend(other.lines)

    def text(self) -> str:
        return "\n".join(self.lines)


# ---------------------------------------------------------------------------------------
# classification helpers
# ---------------------------------------------------------------------------------------
def region_kind(code: str) -> str:
    """ "municipality", "national", "county" or a named non-municipal area."""
    if code == "0":
        return "national"
    if re.fullmatch(r"\d{2}", code):
        return "county"
    if re.fullmatch(r"\d{4}", code):
        return _NON_MUNICIPAL_PREFIX.get(code[:2], "municipality")
    return "other"


def parse_age_code(code: str, label: str = "") -> int | None:
    """SSB age code ("000", "17", "105+") or label ("17 år") -> age; None for groups."""
    match = _AGE_CODE.match(code.strip())
    if match:
        return int(match.group(1))
    try:
        return parse_age(label)
    except DataError:
        return None


def parse_age_group(code: str, label: str = "") -> tuple[int, int] | None:
    """SSB age group label ("15-19 år") or code ("15-19") -> (15, 19); None otherwise."""
    for text in (label, code):
        match = _AGE_GROUP.search(text)
        if match and int(match.group(1)) <= int(match.group(2)):
            return int(match.group(1)), int(match.group(2))
    return None


def _group_text(group: tuple[int, int] | None) -> str | None:
    return None if group is None else f"{group[0]}-{group[1]}"


def sex_of(code: str, label: str) -> str | None:
    if code in _SEX_CODES:
        return _SEX_CODES[code]
    try:
        return parse_sex(label)
    except DataError:
        return None


def sector_of(label: str) -> str | None:
    for pattern, sector in _SECTORS:
        if pattern.match(label.strip()):
            return sector
    return None


def variable_of(table: SsbTable, code: str, label: str) -> str | None:
    """Our name for a statistic, by ``ContentsCode`` first and label second."""
    for var in table.variables:
        if code and code in var.codes:
            return var.key
    for var in table.variables:
        if re.match(var.label, label.strip(), re.I):
            return var.key
    return None


# ---------------------------------------------------------------------------------------
# selections for the API
# ---------------------------------------------------------------------------------------
def resolve_dims(table: SsbTable, meta: TableMetadata) -> dict[str, str]:
    """Registry role -> API dimension id; errors name the registry entry to correct."""
    found: dict[str, str] = {}
    for d in table.dims:
        if d.api_id in meta.dims:
            found[d.role] = d.api_id
            continue
        candidates = []
        if d.role == "year":
            candidates = list(meta.roles.get("time", ()))
        elif d.role == "contents":
            candidates = list(meta.roles.get("metric", ()))
        elif d.role in REGION_ROLES and sum(r.role in REGION_ROLES for r in table.dims) == 1:
            candidates = list(meta.roles.get("geo", ()))
        if not candidates and d.label:
            candidates = [x for x in meta.dims if re.search(d.label, meta.dim_labels[x], re.I)]
        if len(candidates) != 1:
            raise DataError(
                f"SSB table {table.id}: no dimension {d.api_id!r} ({d.role}) in the API's "
                f"metadata, whose dimensions are "
                f"{[f'{x} ({meta.dim_labels[x]})' for x in meta.dims]}; correct "
                f"SSB_TABLES['{table.id}'] in attrbayes/data/ssb_tables.py"
            )
        found[d.role] = candidates[0]
    unmapped = [x for x in meta.dims if x not in found.values() and not meta.elimination[x]]
    if unmapped:
        raise DataError(
            f"SSB table {table.id}: dimension(s) {unmapped} must be selected (not eliminable) "
            f"but SSB_TABLES['{table.id}'] gives them no role"
        )
    return found


def build_selection(
    table: SsbTable, meta: TableMetadata, years: tuple[int, int] | None
) -> dict[str, tuple[str, ...]]:
    """The value codes to request, per API dimension id, from the table's metadata.

    Regions: 4-digit codes (municipalities; other areas are reported after conversion),
    plus "0" (the whole country) where the converter needs it. Years: those in ``years``.
    Sexes: male and female. Ages: single years. Statistics: those the registry uses.
    Eliminable dimensions without a role are left out (SSB then gives their total).
    """
    roles = resolve_dims(table, meta)
    selection: dict[str, tuple[str, ...]] = {}
    for d in table.dims:
        dim = roles[d.role]
        codes, labels = meta.codes[dim], meta.labels[dim]
        if d.codes:
            chosen = [c for c in d.codes if c in codes]
        elif d.role in REGION_ROLES and table.regions == "national":
            chosen = [c for c in codes if c == "0"]
        elif d.role in REGION_ROLES:
            chosen = [c for c in codes if re.fullmatch(r"\d{4}", c)]
            if table.regions == "municipal+national":
                chosen += [c for c in codes if c == "0"]
        elif d.role == "year":
            chosen = [c for c, y in iter_years(codes) if years is None or years[0] <= y <= years[1]]
        elif d.role == "sex":
            chosen = [c for c in codes if sex_of(c, labels[c]) in ("male", "female")]
        elif d.role == "age":
            chosen = [c for c in codes if parse_age_code(c, labels[c]) is not None]
        elif d.role == "contents":
            chosen = [c for c in codes if variable_of(table, c, labels[c]) is not None]
            keys = {variable_of(table, c, labels[c]) for c in chosen}
            lacking = [v.key for v in table.variables if v.key not in keys]
            if lacking:
                raise DataError(
                    f"SSB table {table.id}: no statistic for {lacking} among "
                    f"{[f'{c} ({labels[c]})' for c in codes]}; correct SSB_TABLES['{table.id}']"
                )
        else:
            chosen = list(codes)
        if not chosen:
            span = f" in {years[0]}-{years[1]}" if years and d.role == "year" else ""
            raise DataError(
                f"SSB table {table.id}: nothing to select for {dim} ({d.role}){span}; "
                f"the table has {list(codes[:8])}{' ...' if len(codes) > 8 else ''}"
            )
        selection[dim] = tuple(chosen)
    return selection


# ---------------------------------------------------------------------------------------
# normalisation: API frame or CSV export -> one frame by role
# ---------------------------------------------------------------------------------------
def normalise_api(table: SsbTable, frame: pd.DataFrame, meta: TableMetadata) -> pd.DataFrame:
    """A frame from :func:`~attrbayes.data.ssb.parse_jsonstat2` -> the normalised frame.

    Codes are read with the metadata's labels; each distinct code is decoded once.
    """
    roles = resolve_dims(table, meta)
    out: dict[str, object] = {}
    for role, dim in roles.items():
        labels = meta.labels[dim]
        out.update(_role_columns(table, role, frame[dim], lambda c, lab=labels: (c, lab.get(c, c))))
    result = pd.DataFrame(out)
    result["value"] = frame["value"].to_numpy(dtype=float)
    result["status"] = frame["status"].astype(str).to_numpy()
    return result


def normalise_csv(table: SsbTable, export: StatbankTable) -> pd.DataFrame:
    """A statbank CSV export (read by ``read_statbank_csv``) -> the normalised frame.

    Exports carry labels ("0301 Oslo", "Menn", "17 år"); region codes and years are read
    from them, everything else is decoded by label.
    """
    frame = export.frame
    lower = {c.strip().lower(): c for c in frame.columns}
    out: dict[str, object] = {}
    for d in table.dims:
        column = next((lower[n] for n in d.csv_names if n in lower), None)
        if d.role == "contents" and column is None:
            column = "variable"  # the statistic is the value column's heading
        if column is None and d.codes:
            continue  # a fixed selection (e.g. both sexes, ages 15-74) may be left out
        if column is None:
            raise DataError(
                f"statbank export of table {table.id} has no column for {d.role} "
                f"(looked for {list(d.csv_names)}); columns are {list(frame.columns)}. "
                "Export the table with this variable selected."
            )
        if d.role in REGION_ROLES:

            def decode(label: str, table_id: str = table.id) -> tuple[str, str]:
                return _csv_region_code(label, table_id), label

        elif d.role == "year":

            def decode(label: str) -> tuple[str, str]:
                return label, label

        else:

            def decode(label: str) -> tuple[str, str]:
                return "", label

        out.update(_role_columns(table, d.role, frame[column], decode))
    result = pd.DataFrame(out)
    result["value"] = frame["value"].to_numpy(dtype=float)
    # read_statbank_csv turns SSB's missing symbols into NaN; which one it was is gone
    result["status"] = np.where(result["value"].isna(), CSV_SYMBOL, "")
    return result


def _csv_region_code(label: str, table_id: str) -> str:
    text = label.strip()
    if re.match(r"^(0\s+)?hele landet$", text, re.I):
        return "0"
    try:
        return parse_region(text)[0]
    except DataError as exc:
        raise DataError(f"statbank export of table {table_id}: {exc}") from exc


def _role_columns(
    table: SsbTable,
    role: str,
    keys: pd.Series,
    decode: Callable[[str], tuple[str, str]],
) -> dict[str, object]:
    """Columns for one role; ``decode`` turns a distinct key into (code, label)."""
    cat = pd.Categorical(keys.astype(str))
    pairs = [decode(str(k)) for k in cat.categories]

    def spread(values: list[object], dtype: object = object) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[cat.codes]

    if role in REGION_ROLES:
        return {role: pd.array(spread([c for c, _ in pairs]), dtype="str")}
    if role == "year":
        years = []
        for code, _ in pairs:
            match = re.match(r"^(\d{4})", code.strip())
            if not match:
                raise DataError(f"SSB table {table.id}: time code {code!r} has no year")
            years.append(int(match.group(1)))
        return {"year": spread(years, np.int64)}
    if role == "sex":
        return {"sex": spread([sex_of(c, lab) for c, lab in pairs])}
    if role == "age":
        ages = [parse_age_code(c, lab) for c, lab in pairs]
        return {"age": spread([np.nan if a is None else a for a in ages], float)}
    if role == "age_group":
        return {
            "age_group": spread([_group_text(parse_age_group(c, lab)) for c, lab in pairs]),
            "age_group_label": spread([lab for _, lab in pairs]),
        }
    if role == "sector":
        return {
            "sector": spread([sector_of(lab) for _, lab in pairs]),
            "sector_label": spread([lab for _, lab in pairs]),
        }
    if role == "contents":
        return {
            "variable": spread([variable_of(table, c, lab) for c, lab in pairs]),
            "variable_label": spread([lab for _, lab in pairs]),
        }
    raise DataError(f"SSB table {table.id}: unknown role {role!r}")  # pragma: no cover


# ---------------------------------------------------------------------------------------
# converters: normalised frame -> panel tables
# ---------------------------------------------------------------------------------------
def _drop_missing(frame: pd.DataFrame, table: SsbTable, report: ConversionReport) -> pd.DataFrame:
    missing = frame["value"].isna()
    if missing.any():
        counts = Counter(frame.loc[missing, "status"].replace("", "null"))
        shown = ", ".join(
            f"{n:,} '{sym}' ({STATUS.get(sym, 'no status')})"
            if sym != CSV_SYMBOL
            else f"{n:,} with one of SSB's symbols (. .. ... :) in the CSV export"
            for sym, n in sorted(counts.items())
        )
        report.add(table.id, f"{int(missing.sum()):,} row(s) without a value excluded: {shown}")
    return frame[~missing]


def _keep_variables(frame: pd.DataFrame, table: SsbTable, report: ConversionReport) -> pd.DataFrame:
    unused = frame["variable"].isna()
    if unused.any():
        names = sorted(set(frame.loc[unused, "variable_label"]))
        report.add(table.id, f"statistics not used: {names} ({int(unused.sum()):,} rows)")
    return frame[~unused]


def _municipal(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport, columns: tuple[str, ...]
) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    for column in columns:
        kinds = frame[column].map(region_kind)
        other = (kinds != "municipality").to_numpy()
        if other.any():
            summary = (
                frame.loc[other, [column]]
                .assign(kind=kinds[other].to_numpy())
                .groupby("kind")[column]
                .agg(lambda s: sorted(set(s)))
            )
            for kind, codes in summary.items():
                rows = int((kinds == kind).sum())
                report.add(
                    table.id,
                    f"{column}: {len(codes)} {kind} code(s) {codes[:6]}"
                    f"{' ...' if len(codes) > 6 else ''} excluded from municipal tables "
                    f"({rows:,} rows)",
                )
        keep &= ~other
    return frame[keep]


def _ages(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport, low: int, high: int
) -> pd.DataFrame:
    age = frame["age"]
    bad = age.isna() | (age < low) | (age > high)
    if bad.any():
        shown = sorted({"group" if pd.isna(a) else str(int(a)) for a in age[bad]})
        report.add(
            table.id, f"ages outside {low}-{high} excluded: {shown[:8]} ({int(bad.sum()):,} rows)"
        )
    out = frame[~bad].copy()
    out["age"] = out["age"].astype(np.int64)
    return out


def _sexes(frame: pd.DataFrame, table: SsbTable, report: ConversionReport) -> pd.DataFrame:
    keep = frame["sex"].isin(["male", "female"])
    if (~keep).any():
        report.add(table.id, f"{int((~keep).sum()):,} row(s) for both sexes together excluded")
    return frame[keep]


def _scaled(frame: pd.DataFrame, table: SsbTable) -> pd.Series:
    scale = {v.key: v.scale for v in table.variables}
    return frame["value"] * frame["variable"].map(scale).astype(float)


def convert_population(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """07459 -> ``population`` (place, year, sex, age 0-105, population)."""
    frame = _keep_variables(frame, table, report)
    frame = _municipal(frame, table, report, ("region",))
    frame = _sexes(frame, table, report)
    frame = _ages(frame, table, report, 0, MAX_AGE)
    frame = _drop_missing(frame, table, report)
    out = pd.DataFrame(
        {
            "place": frame["region"].to_numpy(),
            "year": frame["year"].to_numpy(),
            "sex": frame["sex"].to_numpy(),
            "age": frame["age"].to_numpy(),
            "population": _scaled(frame, table).to_numpy(),
        }
    )
    return {"population": _sum_duplicates(out, ["place", "year", "sex", "age"], table, report)}


def convert_components(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """06913 -> ``components`` (municipalities) and ``immigration`` (the whole country)."""
    frame = _keep_variables(frame, table, report)
    frame = _drop_missing(frame, table, report)
    frame = frame.assign(value=_scaled(frame, table))
    national = frame[frame["region"] == "0"]
    municipal = _municipal(frame, table, report, ("region",))
    wide = municipal.pivot_table(
        index=["region", "year"], columns="variable", values="value", aggfunc="sum"
    )
    needed = ["births", "deaths", "net_migration"]
    absent = [c for c in needed if c not in wide.columns]
    if absent:
        raise DataError(f"SSB table {table.id}: no {absent} in the data; cannot build components")
    incomplete = wide[needed].isna().any(axis=1)
    if incomplete.any():
        shown = [f"{p} {y}" for p, y in wide.index[incomplete][:5]]
        report.add(
            table.id,
            f"{int(incomplete.sum())} place-year(s) lacking births, deaths or net migration "
            f"excluded, e.g. {shown}",
        )
    wide = wide[~incomplete]
    components = pd.DataFrame(
        {
            "place": wide.index.get_level_values("region").astype(str),
            "year": wide.index.get_level_values("year").astype(np.int64),
            "births": wide["births"].to_numpy(),
            "deaths": wide["deaths"].to_numpy(),
            "net_migration": wide["net_migration"].to_numpy(),
        }
    )
    out = {"components": components}
    nat = national.pivot_table(index="year", columns="variable", values="value", aggfunc="sum")
    if {"net_migration", "population_start"} <= set(nat.columns):
        lacking = nat[["net_migration", "population_start"]].isna().any(axis=1)
        if lacking.any():
            report.add(
                table.id,
                f"national net immigration not derived for {int(lacking.sum())} year(s) "
                f"lacking the whole country's net migration or population: "
                f"{[int(y) for y in nat.index[lacking]]}",
            )
        nat = nat[~lacking]
        out["immigration"] = pd.DataFrame(
            {
                "year": nat.index.astype(np.int64),
                "net_immigration_rate": (nat["net_migration"] / nat["population_start"]).to_numpy(),
                "net_immigration": nat["net_migration"].to_numpy(),
            }
        )
        report.add(
            table.id,
            "national net immigration = 'Nettoinnflytting' of Hele landet (0) over its "
            "population on 1 January",
        )
    else:
        report.add(
            table.id,
            "no national row (0 Hele landet) with net migration and population: "
            "immigration table not derived",
        )
    return out


def convert_jobs(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """13470 / 11618 -> ``jobs`` (place, year, sector, jobs) by workplace municipality.

    Each place-year gets one whole sector breakdown (the panel's ``SECTOR_BREAKDOWNS``):
    the full split (state, county, municipal, private) where every part has a value, else
    private + public, else the total. A table without a sector dimension gives the total.
    """
    frame = _keep_variables(frame, table, report)
    frame = _municipal(frame, table, report, ("workplace",))
    if "sector" not in frame.columns:
        frame = frame.assign(sector="total", sector_label="total")
    unknown = frame["sector"].isna()
    if unknown.any():
        labels = sorted(set(frame.loc[unknown, "sector_label"]))
        report.add(table.id, f"sectors not used: {labels} ({int(unknown.sum()):,} rows)")
    frame = _drop_missing(frame[~unknown], table, report)
    frame = frame.assign(jobs=_scaled(frame, table))
    chosen, fallback = [], 0
    for (place, year), group in frame.groupby(["workplace", "year"], sort=True):
        present = set(group["sector"])
        for breakdown in SECTOR_BREAKDOWNS:
            if breakdown <= present:
                rows = group[group["sector"].isin(breakdown)]
                chosen.append(rows)
                fallback += len(breakdown) < 4
                break
        else:
            report.add(table.id, f"{place} {year}: no whole sector breakdown in {sorted(present)}")
    if fallback and "sector" in {d.role for d in table.dims}:
        report.add(
            table.id,
            f"{fallback} place-year(s) without every sector (missing values) use a coarser "
            "breakdown (private + public, or the total)",
        )
    frame = pd.concat(chosen, ignore_index=True) if chosen else frame.iloc[:0]
    out = pd.DataFrame(
        {
            "place": frame["workplace"].to_numpy(),
            "year": frame["year"].to_numpy(),
            "sector": frame["sector"].to_numpy(),
            "jobs": frame["jobs"].to_numpy(),
        }
    )
    return {"jobs": _sum_duplicates(out, ["place", "year", "sector"], table, report)}


def convert_commuting(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """03321 -> ``commuting`` (year, residence, workplace, employed); zero flows omitted."""
    frame = _keep_variables(frame, table, report)
    frame = _municipal(frame, table, report, ("residence", "workplace"))
    frame = _drop_missing(frame, table, report)
    zero = frame["value"] == 0
    if zero.any():
        report.add(
            table.id,
            f"{int(zero.sum()):,} zero flows omitted (absent pairs count as 0 commuters)",
        )
    frame = frame[~zero]
    out = pd.DataFrame(
        {
            "year": frame["year"].to_numpy(),
            "residence": frame["residence"].to_numpy(),
            "workplace": frame["workplace"].to_numpy(),
            "employed": _scaled(frame, table).to_numpy(),
        }
    )
    return {"commuting": _sum_duplicates(out, ["year", "residence", "workplace"], table, report)}


def convert_mortality(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """07902 -> ``mortality`` (year, sex, age 0-105, death_probability from per mille)."""
    frame = _keep_variables(frame, table, report)
    frame = _sexes(frame, table, report)
    frame = _ages(frame, table, report, 0, MAX_AGE)
    frame = _drop_missing(frame, table, report)
    out = pd.DataFrame(
        {
            "year": frame["year"].to_numpy(),
            "sex": frame["sex"].to_numpy(),
            "age": frame["age"].to_numpy(),
            "death_probability": _scaled(frame, table).to_numpy(),
        }
    )
    return {"mortality": out}


def convert_fertility(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """Age-specific fertility (births per 1,000 women by mother's age) -> ``fertility``."""
    frame = _keep_variables(frame, table, report)
    frame = _ages(frame, table, report, 10, 55)
    frame = _drop_missing(frame, table, report)
    out = pd.DataFrame(
        {
            "year": frame["year"].to_numpy(),
            "age": frame["age"].to_numpy(),
            "fertility_rate": _scaled(frame, table).to_numpy(),
        }
    )
    return {"fertility": out}


def convert_employment_rates(
    frame: pd.DataFrame, table: SsbTable, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """06445 -> ``employment_rates`` (year, sex, age 0-105, employment_rate 0-1).

    The whole country's rates by sex and age group (totals like 15-74 set aside: the
    finest groups are kept) become single ages by
    :func:`attrbayes.data.employment.schedule_from_groups`: piecewise linear between the
    group mid-points, a jump allowed at 67, 0 outside the groups; each group's mean (equal
    weights within it, no population is fetched) equals its published rate.
    """
    from attrbayes.data.employment import PENSION_AGE, finest, parse_group, schedule_from_groups

    frame = _keep_variables(frame, table, report)
    if "region" in frame.columns:
        other = frame["region"] != "0"
        if other.any():
            codes = sorted(set(frame.loc[other, "region"]))
            report.add(table.id, f"regions other than the whole country (0) excluded: {codes[:6]}")
        frame = frame[~other]
    frame = _sexes(frame, table, report)
    frame = _drop_missing(frame, table, report)
    unknown = frame["age_group"].isna()
    if unknown.any():
        labels = sorted(set(frame.loc[unknown, "age_group_label"]))
        report.add(table.id, f"ages that are not a group like '15-19' excluded: {labels}")
    frame = frame[~unknown].assign(rate=_scaled(frame[~unknown], table))
    if frame.empty:
        raise DataError(f"SSB table {table.id}: no national rates by sex and age group")
    out, dropped = [], set()
    for (year, sex), rows in frame.groupby(["year", "sex"], sort=True):
        rates = {parse_group(g): r for g, r in zip(rows["age_group"], rows["rate"], strict=True)}
        keep = finest(rates)
        dropped |= set(rates) - set(keep)
        schedule = schedule_from_groups([(g, rates[g]) for g in keep], breaks=(PENSION_AGE,))
        out.append(pd.DataFrame({"year": int(year), "sex": sex, "age": np.arange(MAX_AGE + 1),
                                 "employment_rate": schedule}))  # fmt: skip
    if dropped:
        shown = [f"{lo}-{hi}" for lo, hi in sorted(dropped)]
        report.add(table.id, f"age groups containing others set aside: {shown}")
    report.add(
        table.id,
        "single ages from the age groups: piecewise linear between group mid-points, a "
        "jump allowed at 67, 0 outside the groups, each group's unweighted mean equal to "
        "its rate (attrbayes.data.employment.schedule_from_groups)",
    )
    return {"employment_rates": pd.concat(out, ignore_index=True)}


def _sum_duplicates(
    frame: pd.DataFrame, key: list[str], table: SsbTable, report: ConversionReport
) -> pd.DataFrame:
    dup = frame.duplicated(key, keep=False)
    if not dup.any():
        return frame.reset_index(drop=True)
    raise DataError(
        f"SSB table {table.id}: {int(dup.sum())} rows share a key {key}, e.g. "
        f"{frame[dup].head(3).to_dict('records')}; is a dimension missing from the registry?"
    )


CONVERTERS: Mapping[
    str, Callable[[pd.DataFrame, SsbTable, ConversionReport], dict[str, pd.DataFrame]]
] = {
    "population": convert_population,
    "components": convert_components,
    "jobs": convert_jobs,
    "commuting": convert_commuting,
    "mortality": convert_mortality,
    "fertility": convert_fertility,
    "employment_rates": convert_employment_rates,
}


def convert(
    table: SsbTable, frame: pd.DataFrame, report: ConversionReport
) -> dict[str, pd.DataFrame]:
    """Apply the table's converter to a normalised frame."""
    return CONVERTERS[table.converter](frame, table, report)


def table_for_export(export: StatbankTable, source: str) -> SsbTable:
    """The registry entry for a statbank export, recognised from its title line."""
    table_id = export.table_id
    if table_id is None:
        raise DataError(
            f"{source}: the title line {export.title!r} does not start with a table number "
            "like '07459:'; export the table with its title"
        )
    if table_id not in SSB_TABLES:
        raise DataError(
            f"{source}: SSB table {table_id} is not one attrbayes can import; known tables: "
            + ", ".join(f"{t.id} ({t.name})" for t in SSB_TABLES.values())
        )
    return SSB_TABLES[table_id]
