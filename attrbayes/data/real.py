"""A panel for Norway from the public files described in ``shared/data/raw/SOURCES.md``.

The sources come in three municipal structures and two halves of time:

* 2003-2016, Telemarksforsking's model input (2017 codes, series summed back in time):
  population on 1 January, growth and natural increase in % of population, jobs by
  workplace (total and private), the national net immigration rate, the 85 TF regions;
* 2005-2026, SSB population by single age and sex (FHI's csdata, 2024 codes; summed back
  to the 2020 structure it is exact, which also undoes csdata's 50/50 Ålesund/Haram split);
* 2017-2022, SSB employed 15-74 by workplace (11618) and commuting matrices (03321) in
  the codes of each year; the 2020 centrality index; national HMD/HFD rates;
* 2003-2024, SSB's (and Eurostat's) published employment rates by broad age group, from
  which :mod:`attrbayes.data.employment` builds the national employment schedule by year,
  sex and single age that DS needs.

:func:`build_real_panel` harmonises them to one structure (``2020`` by default, ``2017``
for the Telemarksforsking replica, or ``2024``) and returns the panel with a
:class:`BuildReport` that lists every estimate, approximation, split and check.
Municipal births and deaths are not in the sources: they are estimated from the age
structure and national rates (:func:`estimate_births_deaths`). For 2003-2016 only their
sum is needed, because net migration is observed there (growth minus natural increase);
from 2017 net migration is the residual of population change (the residual method), and
its error is measured on 2005-2016 where both exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from attrbayes.constants import MAX_AGE
from attrbayes.data.employment import employment_schedule
from attrbayes.data.geography import (
    Crosswalk,
    codes_2024_to_2020,
    harmonise,
    read_csdata_crosswalk,
    to_2020_structure,
)
from attrbayes.data.panel import Manifest, Panel
from attrbayes.exceptions import DataError

STRUCTURES: Final = ("2017", "2020", "2024")
TF_FIRST, TF_LAST = 2003, 2016  # Telemarksforsking's years
JOBS_SPLICE: Final = 2017  # first year of SSB 11618 jobs (15-74) after TF's (all ages)
# TF's shift-share industry effect on private jobs (% growth, relative to national growth)
INDUSTRY_EFFECT_COLUMN: Final = "jobs_industry_effect__privatejobs_version"

# key -> (path under the raw folder, what it gives the panel)
RAW_FILES: Final[dict[str, tuple[str, str]]] = {
    "tf_panel": (
        "tf_attraktivitet_didrikv/tf_attraktivitet_panel_2003_2016_codes2017.csv",
        "population, growth, natural increase and jobs 2003-2016",
    ),
    "tf_regions": (
        "tf_attraktivitet_didrikv/tf_regions_municip2017_to_region.csv",
        "Telemarksforsking's 85 regions",
    ),
    "tf_immigration": (
        "tf_attraktivitet_didrikv/national_net_immigration_pct_2003_2016.csv",
        "the national net immigration rate 2003-2016",
    ),
    "population": (
        "csdata_fhi/population_municip_b2024_age_sex_2005_2026.csv.gz",
        "population by sex and single age 2005-2026",
    ),
    "crosswalk": (
        "csdata_fhi/municip_redistricting_to_b2024_1940_2034.csv",
        "municipal code changes",
    ),
    "jobs_ssb": (
        "ssb_pendling_app/ssb11618_employed_by_residence_and_workplace_15_74_2017_2022.csv",
        "jobs by workplace 2017-2022",
    ),
    "commuting": (
        "ssb_pendling_app/ssb03321_commuting_2017_2022_nonzero.csv.gz",
        "commuting matrices 2017-2022",
    ),
    "centrality": (
        "covidnorge_solvang/sentralitetsindeks_2020_b2020.csv",
        "the 2020 centrality index and 2020 names and counties",
    ),
    "classes": (
        "rogfk_boligbehov/kommune_sentralitet_1994_2024.csv",
        "centrality classes of historic codes",
    ),
    "geography_2024": (
        "rogfk_boligbehov/geografiske_referansekoder_2024.csv",
        "2024 names, counties and centrality classes",
    ),
    "mortality": ("vital_hmd_hfd/norway_mortality.csv", "national death rates (HMD)"),
    "fertility": ("vital_hmd_hfd/norway_fertility.csv", "national fertility rates (HFD)"),
    "national": (
        "national_vital_migration/norway_national_components_2000_2025_derived.csv",
        "national births, deaths and net migration",
    ),
    "employment_register": (
        "ssb_pages_employment/regsys_employment_rate_by_age_national_2003_2006.csv",
        "register-based employment rates by age 2003-2006 (employment schedule)",
    ),
    "employment_aku": (
        "ssb_pages_employment/aku_employment_rate_by_sex_broad_age_2011_2020.csv",
        "AKU employment rates by sex, 15-74/15-24/25-66 (employment schedule)",
    ),
    "employment_aku_older": (
        "ssb_pages_employment/aku_employment_rate_older_ages_by_sex_2004.csv",
        "AKU 2004 employment rates of ages 50-66 by sex (employment schedule)",
    ),
    "participation_aku": (
        "ssb_pages_employment/aku_labour_force_participation_by_age_sex_2009_2011_2016_2017.csv",
        "AKU labour-force participation by sex and age group (employment schedule)",
    ),
    "employment_eurostat": (
        "ssb_pages_employment/eurostat_lfsa_ergan_NO_55_64_both_sexes_2005_2024_via_apiardata.csv",
        "Eurostat employment rate 55-64 (employment schedule)",
    ),
}

# (code, year) -> code the crosswalk knows: SSB's 2019 tables still call Rindal 1567,
# though it moved to Trøndelag (5061) on 1 January 2019 (SOURCES.md lists the same trap).
CODE_FIXES: Final[dict[tuple[str, int], str]] = {("1567", 2019): "5061"}

# What the sources cannot give, and which stages therefore cannot run on the real panel.
NOT_IN_SOURCES: Final[dict[str, str]] = {
    "jobs_industry": "jobs by industry (NACE) are not in the raw files; the shift-share "
    "industry effect comes from Telemarksforsking's column (2003-2016) instead",
    "migration_groups": "net migration by sex and age group is not in the raw files; "
    "sub-population fits cannot run",
    "centrality_jobs": "the job-reachability centrality index is not public; the "
    "'migration_2019_jobcent' and 'migration_2022*' specs cannot run as published (a copy "
    'with centrality = "full" can)',
    "students_share": "registered students by municipality are not in the raw files",
    "net_migration_domestic": "net migration is not split into domestic and international",
}


@dataclass(frozen=True)
class RawData:
    """The raw folder, with clear errors for missing or malformed files."""

    root: Path

    def path(self, key: str) -> Path:
        relative, purpose = RAW_FILES[key]
        file = self.root / relative
        if not file.is_file():
            raise DataError(f"{file}: not found; it is needed for {purpose} ({key})")
        return file

    def csv(
        self,
        key: str,
        columns: set[str],
        codes: tuple[str, ...] = (),
        strings: tuple[str, ...] = (),
    ) -> pd.DataFrame:
        """Read a raw CSV: ``codes`` are checked 4-digit strings, ``strings`` kept as text."""
        file = self.path(key)
        frame = pd.read_csv(file, dtype=dict.fromkeys((*codes, *strings), str))
        absent = sorted(columns - set(frame.columns))
        if absent:
            raise DataError(f"{file}: columns {absent} missing; got {list(frame.columns)}")
        for col in codes:
            self.check_codes(frame[col], key, col)
        return frame

    def check_codes(self, codes: pd.Series, key: str, column: str) -> None:
        bad = ~codes.astype(str).str.fullmatch(r"\d{4}")
        if bad.any():
            raise DataError(
                f"{self.path(key)}, column '{column}': municipality codes must be 4 digits, "
                f"e.g. {codes[bad].head(3).tolist()}"
            )


@dataclass
class BuildReport:
    """What the builder did: sources, approximations, splits, checks and measured errors."""

    structure: str
    raw: str
    notes: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    splits: pd.DataFrame = field(default_factory=pd.DataFrame)
    residual_method: pd.DataFrame = field(default_factory=pd.DataFrame)
    jobs_splice: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: dict[str, str] = field(default_factory=lambda: dict(NOT_IN_SOURCES))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def to_json(self) -> str:
        payload = {
            "structure": self.structure,
            "raw": self.raw,
            "notes": self.notes,
            "checks": self.checks,
            "missing": self.missing,
            "splits": self.splits.to_dict("records"),
            "residual_method": self.residual_method.to_dict("records"),
            "jobs_splice": self.jobs_splice.to_dict("records"),
        }
        return json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default) + "\n"

    def markdown(self) -> str:
        lines = [f"# Real panel, {self.structure} structure", "", f"Raw files: `{self.raw}`", ""]
        lines += ["## How it was built", "", *(f"* {n}" for n in self.notes), ""]
        lines += ["## Checks", "", "| check | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in self.checks.items()]
        if not self.residual_method.empty:
            lines += ["", "## Residual-method error, 2005-2016 (estimated vs observed)", ""]
            lines += [_markdown_table(self.residual_method)]
        if not self.jobs_splice.empty:
            lines += ["", f"## Jobs splice at {JOBS_SPLICE}", "", _markdown_table(self.jobs_splice)]
        lines += ["", "## Not in the sources", ""]
        lines += [f"* `{k}`: {v}" for k, v in self.missing.items()]
        if not self.splits.empty:
            lines += ["", "## Apportioned splits", "", _markdown_table(self.splits)]
        return "\n".join(lines) + "\n"


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:,.4g}"
    return str(value)


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, rule, *rows])


# ---------------------------------------------------------------------------------------
# crosswalks
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Geography:
    """The crosswalks a structure needs and how 2020 codes become the target's codes."""

    structure: str
    to_target: Crosswalk  # original code and year -> target code (2017 codes stay put)
    from_2020: pd.DataFrame  # code2020 -> target, weight (target "2017" has none)


def _identity(codes: list[str], years: range, structure: str) -> Crosswalk:
    grid = pd.MultiIndex.from_product([codes, list(years)], names=["original", "year"])
    table = grid.to_frame(index=False).assign(target=lambda d: d["original"], weight=1.0)
    return Crosswalk(table, structure)


def _from_2020_to_2024(cw2024: Crosswalk, pop2024: pd.Series) -> pd.DataFrame:
    """2020 code -> 2024 code(s); Ålesund 1507 is apportioned by 1 Jan 2024 population."""
    back = codes_2024_to_2020(cw2024).rename("code2020").reset_index()
    back["weight"] = back["code2024"].map(pop2024)
    back["weight"] = back["weight"] / back.groupby("code2020")["weight"].transform("sum")
    return back.rename(columns={"code2024": "target"})[["code2020", "target", "weight"]]


def _recode_2020(df: pd.DataFrame, geo: Geography, values: list[str], code: str) -> pd.DataFrame:
    """Recode a table in 2020 codes to the target structure (2024: one split)."""
    if geo.structure == "2020":
        return df
    cw = geo.from_2020.rename(columns={"code2020": "original"}).assign(year=0)
    out = harmonise(df.assign(_cw_year=0), Crosswalk(cw, geo.structure), values=values,
                    code=code, year="_cw_year")  # fmt: skip
    return out.frame.drop(columns="_cw_year")


# ---------------------------------------------------------------------------------------
# demography
# ---------------------------------------------------------------------------------------
def death_probabilities(mortality: pd.DataFrame) -> pd.DataFrame:
    """HMD central death rates m(x) by year, sex and age -> q(x), ages 105+ pooled.

    q = m / (1 + (1 - a) m) with a = 0.1 at age 0 and 0.5 above (the usual person-years
    lived by those dying); the open group pools deaths and exposure of ages 105-110.
    """
    m = mortality[mortality["Sex"].isin(["Female", "Male"])].copy()
    m["sex"] = m["Sex"].str.lower()
    m["age"] = m["Age"].clip(upper=MAX_AGE)
    grouped = m.groupby(["Year", "sex", "age"], as_index=False)[["Deaths", "Population"]].sum()
    rate = grouped["Deaths"] / grouped["Population"].where(grouped["Population"] > 0)
    a = np.where(grouped["age"] == 0, 0.1, 0.5)
    q = (rate / (1 + (1 - a) * rate)).fillna(1.0).clip(0, 1)
    q[grouped["age"] == MAX_AGE] = 1.0  # nobody leaves the open group alive in the end
    return pd.DataFrame(
        {"year": grouped["Year"], "sex": grouped["sex"], "age": grouped["age"],
         "death_probability": q}
    )  # fmt: skip


def estimate_births_deaths(
    population: pd.DataFrame,
    death_prob: pd.DataFrame,
    national: pd.DataFrame,
) -> pd.DataFrame:
    """Births and deaths per place and year from the age structure (indirect estimates).

    * births[i,t] = pop_age0[i,t+1] x B[t] / sum_i pop_age0[i,t+1]: the infants a place
      has on 1 January, scaled so that the places sum to the nation's births (the factor
      absorbs infant deaths and infant migration);
    * deaths[i,t] = sum_{s,a} pop[i,s,a,t] q[s,a,t] x D[t] / sum_i (same): expected deaths
      at national rates, scaled to the nation's deaths.

    ``national`` has year, births, deaths. Years need population on 1 January t and t+1
    and national rates and totals for t.
    """
    pop = population.copy()
    pop_years = sorted(set(pop["year"]))
    q = death_prob.set_index(["year", "sex", "age"])["death_probability"]
    nat = national.set_index("year")
    years = [
        y for y in pop_years
        if y + 1 in pop_years and y in nat.index and y in q.index.get_level_values("year")
    ]  # fmt: skip
    if not years:
        raise DataError("estimate_births_deaths: no year has population, rates and totals")
    now = pop[pop["year"].isin(years)].copy()
    now["q"] = q.reindex(pd.MultiIndex.from_frame(now[["year", "sex", "age"]])).to_numpy()
    if now["q"].isna().any():
        raise DataError("estimate_births_deaths: death probabilities missing for some ages")
    expected = (now["population"] * now["q"]).groupby([now["place"], now["year"]]).sum()
    infants = pop[(pop["age"] == 0) & pop["year"].isin([y + 1 for y in years])]
    infants = infants.groupby(["place", "year"])["population"].sum()
    infants.index = infants.index.set_levels(infants.index.levels[1] - 1, level="year")
    out = pd.DataFrame({"births": infants, "deaths": expected}).reset_index()
    for col in ("births", "deaths"):
        factor = nat[col] / out.groupby("year")[col].sum()
        out[col] = out[col] * out["year"].map(factor)
    return out[["place", "year", "births", "deaths"]]


def rake_to_natural_increase(est: pd.DataFrame, natural_increase: pd.Series) -> pd.DataFrame:
    """Adjust estimated births and deaths so that births - deaths equals the observed value.

    The discrepancy is shared in proportion to the two estimates. Where that would make
    one negative (tiny places, where the observed value carries rounding of the published
    %), births become max(observed + deaths, 0) and deaths the rest.
    """
    out = est.copy()
    ni = natural_increase.reindex(pd.MultiIndex.from_frame(out[["place", "year"]])).to_numpy()
    if np.isnan(ni).any():
        raise DataError("rake_to_natural_increase: observed natural increase missing for rows")
    births, deaths = out["births"].to_numpy(), out["deaths"].to_numpy()
    gap = ni - (births - deaths)
    total = births + deaths
    share = np.divide(births, total, out=np.full(len(out), 0.5), where=total > 0)
    new_births = births + gap * share
    new_deaths = deaths - gap * (1 - share)
    bad = (new_births < 0) | (new_deaths < 0)
    new_births[bad] = np.maximum(ni[bad] + deaths[bad], 0)
    new_deaths[bad] = new_births[bad] - ni[bad]
    out["births"], out["deaths"] = new_births, new_deaths
    return out


def residual_method_error(
    estimated: pd.DataFrame, observed: pd.DataFrame, population: pd.Series
) -> pd.DataFrame:
    """Per year: how far residual-method net migration is from the observed one.

    Residual net migration = population change - (births - deaths) estimated, so its
    error equals the error of the estimated natural increase. Reported in persons and in
    percentage points of population (the scale of the dependent variable).
    """
    key = ["place", "year"]
    both = estimated[[*key, "births", "deaths"]].merge(
        observed[[*key, "natural_increase", "net_migration"]], on=key
    )
    both["pop"] = population.reindex(pd.MultiIndex.from_frame(both[key])).to_numpy()
    # residual net migration error = -(error of the estimated natural increase)
    both["err"] = both["natural_increase"] - (both["births"] - both["deaths"])
    both["err_pp"] = 100 * both["err"] / both["pop"]
    both["nm_pp"] = 100 * both["net_migration"] / both["pop"]
    rows = []
    for year, g in [*both.groupby("year"), ("all", both)]:
        rows.append(
            {
                "year": year,
                "places": len(g),
                "mean_abs_error_persons": g["err"].abs().mean(),
                "mean_abs_error_pp": g["err_pp"].abs().mean(),
                "p90_abs_error_pp": g["err_pp"].abs().quantile(0.9),
                "bias_pp": g["err_pp"].mean(),
                "sd_observed_nm_pp": g["nm_pp"].std(),
                "corr_nm": np.corrcoef(g["nm_pp"], g["nm_pp"] + g["err_pp"])[0, 1],
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------------------
def _tf_municipalities(raw: RawData) -> pd.DataFrame:
    cols = {"level", "code_str", "year", "pop_jan1", "pop_growth_pct", "natural_increase_pct",
            "jobs_total", "jobs_private", INDUSTRY_EFFECT_COLUMN}  # fmt: skip
    tf = raw.csv("tf_panel", cols, strings=("code_str",))
    tf = tf[tf["level"] == "Kommune"]
    raw.check_codes(tf["code_str"], "tf_panel", "code_str")
    out = pd.DataFrame(
        {
            "place": tf["code_str"],
            "year": tf["year"].astype(int),
            "pop": tf["pop_jan1"].astype(float),
            "growth": tf["pop_growth_pct"] * tf["pop_jan1"] / 100,
            "natural_increase": tf["natural_increase_pct"] * tf["pop_jan1"] / 100,
            "jobs_total": tf["jobs_total"].astype(float),
            "jobs_private": tf["jobs_private"].astype(float),
            "industry_effect": tf[INDUSTRY_EFFECT_COLUMN] / 100,
        }
    )
    if out.duplicated(["place", "year"]).any():
        raise DataError(f"{raw.path('tf_panel')}: duplicate municipality-year rows")
    return out.reset_index(drop=True)


def _harmonise_2017_codes(
    df: pd.DataFrame, geo: Geography, values: list[str], report: BuildReport
) -> pd.DataFrame:
    """TF's series are summed back into 2017 codes: map them with the 2017 crosswalk."""
    if geo.structure == "2017":
        return df
    out = harmonise(df.assign(_cw_year=2017), geo.to_target, values=values, year="_cw_year")
    _add_splits(report, out.splits, "Telemarksforsking 2003-2016 (2017 codes)")
    return out.frame.drop(columns="_cw_year")


def _add_splits(report: BuildReport, splits: pd.DataFrame, table: str) -> None:
    if splits.empty:
        return
    rows = splits.assign(table=table).groupby(["table", "original", "target", "weight"])
    rows = rows["year"].agg(["min", "max"]).reset_index()
    rows["years"] = rows["min"].astype(str) + "-" + rows["max"].astype(str)
    rows = rows[["table", "original", "target", "weight", "years"]]
    report.splits = pd.concat([report.splits, rows], ignore_index=True).drop_duplicates()


def _population_2020(raw: RawData, cw: Crosswalk) -> pd.DataFrame:
    cols = {"municip", "year", "sex", "age", "pop_jan1"}
    pop = raw.csv("population", cols, codes=("municip",))
    back = codes_2024_to_2020(cw)
    pop["place"] = pop["municip"].map(back)
    unknown = pop.loc[pop["place"].isna(), "municip"].unique()
    if len(unknown):
        raise DataError(f"{raw.path('population')}: 2024 codes without a 2020 code {unknown[:5]}")
    return (
        pop.groupby(["place", "year", "sex", "age"], as_index=False)["pop_jan1"].sum()
        .rename(columns={"pop_jan1": "population"})
    )  # fmt: skip


def _fill_missing_first_year(
    pop: pd.DataFrame, totals: pd.Series, report: BuildReport
) -> pd.DataFrame:
    """Places absent in the first year get the next year's age-sex shares x TF's total."""
    first = int(pop["year"].min())
    have = set(pop.loc[pop["year"] == first, "place"])
    absent = sorted(set(pop["place"]) - have)
    if not absent:
        return pop
    nxt = pop[(pop["year"] == first + 1) & pop["place"].isin(absent)].copy()
    shares = nxt["population"] / nxt.groupby("place")["population"].transform("sum")
    nxt["population"] = shares * nxt["place"].map(totals.xs(first, level="year"))
    nxt["year"] = first
    if nxt["population"].isna().any():
        raise DataError(f"no total population to fill {absent} in {first}")
    report.note(
        f"Population {first} of {absent} is missing in csdata; filled with Telemarksforsking's "
        f"1 January total x the places' {first + 1} age-sex shares."
    )
    return pd.concat([pop, nxt], ignore_index=True)


def _disaggregate(
    totals: pd.DataFrame, shares_from: pd.DataFrame, parent: pd.Series
) -> pd.DataFrame:
    """Population by sex and age = a place's total x its parent's age-sex shares."""
    src = shares_from.copy()
    src["share"] = src["population"] / src.groupby(["place", "year"])["population"].transform("sum")
    src = src.rename(columns={"place": "parent"})
    frame = totals.assign(parent=totals["place"].map(parent))
    out = frame.merge(src[["parent", "year", "sex", "age", "share"]], on=["parent", "year"])
    out["population"] = out["pop"] * out["share"]
    return out[["place", "year", "sex", "age", "population"]]


def _national(raw: RawData) -> pd.DataFrame:
    cols = {"year", "pop_jan1", "live_births_hmd", "deaths_hmd", "net_migration_residual"}
    nat = raw.csv("national", cols)
    return nat.rename(columns={"live_births_hmd": "births", "deaths_hmd": "deaths"}).dropna(
        subset=["births", "deaths"]
    )


def _immigration(
    raw: RawData, nat: pd.DataFrame, years: range, report: BuildReport
) -> pd.DataFrame:
    tf = raw.csv("tf_immigration", {"year", "national_net_immigration_pct"})
    given = pd.DataFrame(
        {"year": tf["year"], "net_immigration_rate": tf["national_net_immigration_pct"] / 100}
    )
    given["net_immigration"] = given["net_immigration_rate"] * given["year"].map(
        nat.set_index("year")["pop_jan1"]
    )
    later = nat[nat["year"] > given["year"].max()].dropna(subset=["net_migration_residual"])
    derived = pd.DataFrame(
        {
            "year": later["year"],
            "net_immigration_rate": later["net_migration_residual"] / later["pop_jan1"],
            "net_immigration": later["net_migration_residual"],
        }
    )
    overlap = nat.set_index("year").reindex(given["year"])
    diff = (overlap["net_migration_residual"] / overlap["pop_jan1"]).to_numpy() - given[
        "net_immigration_rate"
    ].to_numpy()
    report.checks["immigration rate: derived - TF, 2003-2016, max abs (pp)"] = float(
        np.nanmax(np.abs(diff)) * 100
    )
    report.note(
        "National net immigration rate: Telemarksforsking's values 2003-2016; from 2017 "
        "national population change minus births plus deaths (HMD), over 1 January population."
    )
    out = pd.concat([given, derived], ignore_index=True)
    return out[out["year"].isin(years)].reset_index(drop=True)


def _jobs(
    raw: RawData, tf: pd.DataFrame, geo: Geography, cw_years: Crosswalk, report: BuildReport
) -> pd.DataFrame:
    tf_jobs = _harmonise_2017_codes(tf[["place", "year", "jobs_total", "jobs_private"]], geo,
                                    ["jobs_total", "jobs_private"], report)  # fmt: skip
    early = pd.concat(
        [
            tf_jobs.assign(sector="private", jobs=tf_jobs["jobs_private"]),
            tf_jobs.assign(sector="public", jobs=tf_jobs["jobs_total"] - tf_jobs["jobs_private"]),
        ]
    )[["place", "year", "sector", "jobs"]]
    cols = {"year", "municip_code", "employed_15_74_by_workplace", "pop_15_74_resident"}
    ssb = raw.csv("jobs_ssb", cols, codes=("municip_code",))
    # an all-zero row is a place the table did not deliver that year, not a place without jobs
    empty = ssb["pop_15_74_resident"] == 0
    ssb = ssb.rename(columns={"municip_code": "place", "employed_15_74_by_workplace": "jobs"})
    if geo.structure == "2017":
        ssb = ssb[ssb["year"] == JOBS_SPLICE]
        report.note(
            "Jobs 2018-2022 are in merged codes that cannot be split back into the 2017 "
            "structure; the 2017 panel has jobs 2003-2017."
        )
    ssb = _fix_codes(ssb, "place", report, "SSB 11618 jobs")
    gaps = ssb.loc[empty, ["place", "year"]]
    late = harmonise(ssb.loc[~empty, ["place", "year", "jobs"]], cw_years, values=["jobs"])
    _add_splits(report, late.splits, "jobs 2017-2022")
    late_frame = _interpolate_gaps(late.frame, gaps, cw_years, report).assign(sector="total")
    report.jobs_splice = _splice_check(tf_jobs, late_frame)
    report.note(
        f"Jobs by workplace: Telemarksforsking 2003-{TF_LAST} (all ages, total and private; "
        f"public = total - private), SSB 11618 from {JOBS_SPLICE} (ages 15-74, total only). "
        f"Growth into {JOBS_SPLICE} is not comparable and is marked as a series break, so "
        f"VRA is undefined for {JOBS_SPLICE}-{JOBS_SPLICE + 2}. (SSB's employment "
        "statistics moved to the a-ordning in 2015; TF's series shows it as a fall in "
        "national jobs 2014-2015, which relative job growth subtracts.)"
    )
    jobs = pd.concat([early, late_frame[["place", "year", "sector", "jobs"]]], ignore_index=True)
    return jobs.sort_values(["place", "year", "sector"]).reset_index(drop=True)


def _fix_codes(df: pd.DataFrame, column: str, report: BuildReport, what: str) -> pd.DataFrame:
    """Apply :data:`CODE_FIXES` and say how many rows they changed."""
    out = df.copy()
    for (code, year), fixed in CODE_FIXES.items():
        hit = (out[column] == code) & (out["year"] == year)
        if hit.any():
            out.loc[hit, column] = fixed
            report.note(
                f"{what}: {int(hit.sum())} row(s) with code {code} in {year} read as {fixed}."
            )
    return out


def _interpolate_gaps(
    jobs: pd.DataFrame, gaps: pd.DataFrame, cw: Crosswalk, report: BuildReport
) -> pd.DataFrame:
    """Fill place-years the source left empty with the geometric mean of the years around."""
    if gaps.empty:
        return jobs
    mapped = gaps.merge(cw.table, left_on=["place", "year"], right_on=["original", "year"])
    wide = jobs.pivot_table(index="place", columns="year", values="jobs", aggfunc="sum")
    filled = []
    for place, year in mapped[["target", "year"]].drop_duplicates().itertuples(index=False):
        before, after = wide.loc[place].get(year - 1), wide.loc[place].get(year + 1)
        if before is None or after is None or pd.isna(before) or pd.isna(after):
            raise DataError(f"jobs for {place} in {year} are missing and cannot be interpolated")
        filled.append({"place": place, "year": year, "jobs": float(np.sqrt(before * after))})
        report.note(
            f"Jobs {place} {year}: the source row is empty (all zeros); filled with the "
            f"geometric mean of {year - 1} and {year + 1} ({filled[-1]['jobs']:.0f})."
        )
    keep = jobs.merge(pd.DataFrame(filled)[["place", "year"]], how="left", indicator=True)
    keep = keep[keep["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([keep, pd.DataFrame(filled)], ignore_index=True)


def _industry_effect(tf: pd.DataFrame, geo: Geography, report: BuildReport) -> pd.DataFrame:
    """TF's industry effect in the target structure: a merged place's effect is its parts'
    effects weighted by private jobs the year before (the same year in 2003)."""
    frame = tf[["place", "year", "industry_effect", "jobs_private"]].sort_values(["place", "year"])
    base = frame.groupby("place")["jobs_private"].shift(1).fillna(frame["jobs_private"])
    frame = frame.assign(effect_jobs=frame["industry_effect"] * base, base=base)
    merged = _harmonise_2017_codes(frame[["place", "year", "effect_jobs", "base"]], geo,
                                   ["effect_jobs", "base"], report)  # fmt: skip
    merged["industry_effect"] = merged["effect_jobs"] / merged["base"]
    report.note(
        f"Industry effect {TF_FIRST}-{TF_LAST}: Telemarksforsking's shift-share effect on "
        "private jobs (computed by TF from SSB's jobs by industry, which are not public "
        "here), relative to national private growth; merged places weight their parts by "
        "last year's private jobs."
    )
    return merged[["place", "year", "industry_effect"]]


def _splice_check(tf_jobs: pd.DataFrame, late: pd.DataFrame) -> pd.DataFrame:
    """National growth around the splice and the spread of place ratios across it."""
    last = tf_jobs[tf_jobs["year"] == TF_LAST].set_index("place")["jobs_total"]
    first = late[late["year"] == JOBS_SPLICE].set_index("place")["jobs"]
    ratio = (first / last).dropna()
    national = pd.concat(
        [tf_jobs.groupby("year")["jobs_total"].sum(), late.groupby("year")["jobs"].sum()]
    )
    growth = national.pct_change()
    return pd.DataFrame(
        [
            {"measure": f"national growth {y - 1}->{y} (%)", "value": 100 * growth[y]}
            for y in (TF_LAST - 1, TF_LAST, JOBS_SPLICE, JOBS_SPLICE + 1) if y in growth.index
        ]
        + [
            {"measure": f"place ratio {JOBS_SPLICE}/{TF_LAST}: median", "value": ratio.median()},
            {"measure": "place ratio: 10th percentile", "value": ratio.quantile(0.1)},
            {"measure": "place ratio: 90th percentile", "value": ratio.quantile(0.9)},
            {"measure": "places with |ratio - 1| > 5 %",
             "value": int(((ratio - 1).abs() > 0.05).sum())},
        ]
    )  # fmt: skip


def _commuting(
    raw: RawData, cw_years: Crosswalk, structure: str, report: BuildReport
) -> pd.DataFrame:
    cols = {"year", "workplace_code", "residence_code", "employed"}
    com = raw.csv("commuting", cols, codes=("workplace_code", "residence_code"))
    com = com.rename(columns={"workplace_code": "workplace", "residence_code": "residence"})
    if structure == "2017":
        com = com[com["year"] == JOBS_SPLICE]
    for side in ("residence", "workplace"):
        com = _fix_codes(com, side, report, f"SSB 03321 commuting ({side})")
        out = harmonise(com, cw_years, values=["employed"], code=side)
        _add_splits(report, out.splits, f"commuting ({side})")
        com = out.frame
    com = _fill_missing_commuting(com, report)
    report.note(
        f"Commuting: SSB 03321 matrices for {sorted(set(com['year']))}; earlier years use "
        "the nearest year's weights (2017)."
    )
    return com[["year", "residence", "workplace", "employed"]]


def _fill_missing_commuting(com: pd.DataFrame, report: BuildReport) -> pd.DataFrame:
    """A place absent from one year's matrix gets its flows of the nearest year with data."""
    present = com.groupby("year")["residence"].agg(set)
    everyone = set().union(*present)
    extra = []
    for year, have in present.items():
        for place in sorted(everyone - have):
            donors = [y for y in present.index if place in present[y]]
            donor = min(donors, key=lambda y: (abs(y - year), y))
            rows = com[(com["year"] == donor) & ((com["residence"] == place)
                                                 | (com["workplace"] == place))]  # fmt: skip
            extra.append(rows.assign(year=year))
            report.note(
                f"Commuting {year}: {place} is absent from the matrix; its {len(rows)} flows "
                f"are taken from {donor}."
            )
    return pd.concat([com, *extra], ignore_index=True) if extra else com


def _places(
    raw: RawData,
    structure: str,
    parent: pd.Series,
    tf_pop: pd.DataFrame,
    cw2020: Crosswalk,
    from_2020: pd.DataFrame,
    report: BuildReport,
) -> pd.DataFrame:  # fmt: skip
    regions = raw.csv("tf_regions", {"municip_code_2017", "municip_name", "tf_region_code"},
                      codes=("municip_code_2017",))  # fmt: skip
    region17 = regions.set_index("municip_code_2017")["tf_region_code"].map(lambda c: f"TF{c}")
    cent = raw.csv(
        "centrality",
        {"kommunenummer", "kommunenavn", "fylkesnummer", "sentralitetsindeks"},
        codes=("kommunenummer",),
        strings=("fylkesnummer",),
    )
    cent = cent.set_index("kommunenummer")
    classes = raw.csv("classes", {"kommune_kode", "sentralitetsklasse"}, codes=("kommune_kode",))
    klass = classes.set_index("kommune_kode")["sentralitetsklasse"]
    if structure == "2017":
        places = pd.DataFrame({"place": regions["municip_code_2017"],
                               "name": regions["municip_name"]})  # fmt: skip
        places["region"] = places["place"].map(region17)
        places["county"] = places["place"].str[:2]
        places["centrality"] = places["place"].map(parent).map(cent["sentralitetsindeks"])
        places["centrality_class"] = places["place"].map(klass)
        report.note(
            "Centrality in the 2017 structure: the 2020 index of the 2020 municipality each "
            "2017 municipality became part of (merged municipalities share one value)."
        )
        return places
    # region of a 2020 municipality: the TF region of its largest 2017 predecessor
    last = tf_pop[tf_pop["year"] == TF_LAST].set_index("place")["pop"]
    pred = cw2020.table
    pred = pred[pred["year"] == 2017].assign(pop=lambda d: d["original"].map(last) * d["weight"])
    largest = pred.sort_values("pop", ascending=False).drop_duplicates("target")
    region2020 = largest.set_index("target")["original"].map(region17)
    crossing = pred.assign(r=pred["original"].map(region17)).groupby("target")["r"].nunique()
    report.checks["2020 municipalities whose predecessors lie in several TF regions"] = int(
        (crossing > 1).sum()
    )
    g24 = raw.csv(
        "geography_2024",
        {"kommune_kode", "kommune_navn", "fylke_kode", "sentralitetsklasse"},
        codes=("kommune_kode",),
    )
    origin = from_2020.set_index("target")["code2020"]
    if structure == "2020":
        # names from the 2024 list (the 2020 file lost Sámi letters to '?'); 1507 is
        # named after 1508 Ålesund, its larger successor
        names = g24.assign(place=g24["kommune_kode"].map(origin)).sort_values("kommune_kode")
        names = names.drop_duplicates("place").set_index("place")["kommune_navn"]
        places = pd.DataFrame({"place": cent.index, "county": cent["fylkesnummer"].to_numpy()})
        places["name"] = places["place"].map(names).fillna(places["place"].map(
            cent["kommunenavn"]))  # fmt: skip
        places["region"] = places["place"].map(region2020)
        places["centrality"] = places["place"].map(cent["sentralitetsindeks"])
        places["centrality_class"] = places["place"].map(klass)
    else:
        places = pd.DataFrame({"place": g24["kommune_kode"], "name": g24["kommune_navn"],
                               "county": g24["fylke_kode"].astype(str).str.zfill(4).str[:2],
                               "centrality_class": g24["sentralitetsklasse"]})  # fmt: skip
        places["region"] = places["place"].map(origin).map(region2020)
        places["centrality"] = places["place"].map(origin).map(cent["sentralitetsindeks"])
        report.note("Centrality in the 2024 structure: the 2020 index (Ålesund's for Haram).")
    report.checks["TF regions in the panel"] = int(places["region"].nunique())
    return places


def _population_and_geography(
    raw: RawData,
    structure: str,
    tf: pd.DataFrame,
    pop2020: pd.DataFrame,
    parent: pd.Series,
    cw2024: Crosswalk,
    cw2020: Crosswalk,
    report: BuildReport,
) -> tuple[pd.DataFrame, Geography]:
    """Population by sex and age in the target structure, and the crosswalks to it."""
    if structure == "2017":
        codes17 = sorted(tf["place"].unique())
        geo = Geography("2017", _identity(codes17, range(TF_FIRST, JOBS_SPLICE + 1), "2017"),
                        pd.DataFrame())  # fmt: skip
        totals = tf[["place", "year", "pop"]]
        next_year = tf[tf["year"] == TF_LAST].assign(
            year=TF_LAST + 1, pop=lambda d: d["pop"] + d["growth"]
        )
        totals = pd.concat([totals, next_year[["place", "year", "pop"]]], ignore_index=True)
        totals = totals[totals["year"] >= int(pop2020["year"].min())]
        population = _disaggregate(totals, pop2020, parent)
        report.note(
            "Population by sex and age in the 2017 structure does not exist: each 2017 "
            "municipality's 1 January total (Telemarksforsking; 2017 = 2016 + growth) is "
            "split by the age-sex shares of the 2020 municipality it became part of. Totals "
            "are exact; age structures of merged municipalities are approximate (they matter "
            "for expected births and deaths, not for the net migration rate)."
        )
    else:
        pop24 = raw.csv("population", {"municip", "year", "sex", "age", "pop_jan1"},
                        codes=("municip",))  # fmt: skip
        share24 = pop24[pop24["year"] == 2024].groupby("municip")["pop_jan1"].sum()
        from_2020 = _from_2020_to_2024(cw2024, share24)
        geo = Geography("2020", cw2020, from_2020)
        if structure == "2024":
            geo = Geography("2024", _compose(cw2020, from_2020), from_2020)
        population = pop2020
        report.note(
            "Population by sex and single age: SSB 07459 via FHI csdata (2024 codes) summed "
            "to the 2020 structure, which is exact and undoes csdata's 50/50 Ålesund/Haram "
            "split before 2024."
        )
        if structure == "2024":
            early = _recode_2020(population[population["year"] < 2024], geo, ["population"],
                                 "place")  # fmt: skip
            real = pop24[pop24["year"] >= 2024].rename(
                columns={"municip": "place", "pop_jan1": "population"}
            )
            population = pd.concat([early, real[early.columns]], ignore_index=True)
            report.note(
                "2024 structure: tables are built in the 2020 structure and Ålesund (1507) is "
                "apportioned to 1508 Ålesund and 1580 Haram by their 1 January 2024 "
                "population (csdata's own 50/50 split before 2024 is not used); population "
                "from 2024 is SSB's own."
            )

    return population, geo


def _components(
    raw: RawData,
    population: pd.DataFrame,
    tf: pd.DataFrame,
    geo: Geography,
    report: BuildReport,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Births, deaths and net migration per place-year, and the national death
    probabilities used to estimate deaths."""
    nat = _national(raw)
    q = death_probabilities(raw.csv("mortality", {"Year", "Age", "Sex", "Deaths", "Population"}))
    est = estimate_births_deaths(population, q, nat)
    tf_h = _harmonise_2017_codes(tf[["place", "year", "growth", "natural_increase"]], geo,
                                 ["growth", "natural_increase"], report)  # fmt: skip
    observed = tf_h.assign(net_migration=tf_h["growth"] - tf_h["natural_increase"])
    totals_idx = population.groupby(["place", "year"])["population"].sum()
    report.residual_method = residual_method_error(est, observed, totals_idx)
    ni = observed.set_index(["place", "year"])["natural_increase"]
    early = rake_to_natural_increase(est[est["year"] <= TF_LAST], ni)
    early = early.merge(observed[["place", "year", "net_migration"]], on=["place", "year"])
    late = est[est["year"] > TF_LAST].copy()
    change = totals_idx.groupby(level="place").diff(-1).mul(-1)  # pop[t+1] - pop[t]
    late["net_migration"] = (
        change.reindex(pd.MultiIndex.from_frame(late[["place", "year"]])).to_numpy()
        - late["births"] + late["deaths"]
    )  # fmt: skip
    components = pd.concat([early, late], ignore_index=True)
    components = components[["place", "year", "births", "deaths", "net_migration"]]
    report.note(
        f"Net migration {TF_FIRST}-{TF_LAST}: Telemarksforsking's growth minus natural "
        "increase (observed; counts from the rounded % values). Births and deaths there are "
        "indirect estimates raked so that births - deaths equals the observed natural increase."
    )
    if not late.empty:
        report.note(
            f"Net migration from {TF_LAST + 1}: residual method, population change minus "
            "estimated births plus estimated deaths (births from infants on 1 January next year, "
            "deaths from national q(x) by sex and age; both scaled to the nation's HMD totals). "
            "Its error, measured on 2005-2016, is in the table below."
        )

    return components, q


def build_real_panel(
    raw_root: str | Path,
    structure: str = "2020",
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[Panel, BuildReport]:
    """Assemble and validate the real panel for ``structure`` (2017, 2020 or 2024)."""
    if structure not in STRUCTURES:
        raise DataError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    raw = RawData(Path(raw_root))
    if not raw.root.is_dir():
        raise DataError(f"{raw.root}: raw data folder not found")
    say = progress or (lambda _msg: None)
    report = BuildReport(structure=structure, raw=str(raw.root))

    say("crosswalks")
    cw2024 = read_csdata_crosswalk(raw.path("crosswalk"))
    cw2020 = to_2020_structure(cw2024)
    say("population")
    pop2020 = _population_2020(raw, cw2024)
    tf = _tf_municipalities(raw)
    tf_totals = _harmonise_2017_codes(tf[["place", "year", "pop"]], _geo_2020(cw2020), ["pop"],
                                      report)  # fmt: skip
    pop2020 = _fill_missing_first_year(
        pop2020, tf_totals.set_index(["place", "year"])["pop"], report
    )
    # every 2017 code's main 2020 successor (for age structures and centrality)
    leg = cw2020.table[cw2020.table["year"] == 2017]
    parent = leg.sort_values("weight", ascending=False).drop_duplicates("original")
    parent = parent.set_index("original")["target"]

    population, geo = _population_and_geography(
        raw, structure, tf, pop2020, parent, cw2024, cw2020, report
    )
    cw_years = geo.to_target
    say("components")
    components, q = _components(raw, population, tf, geo, report)

    say("jobs and commuting")
    jobs = _jobs(raw, tf, geo, cw_years, report)
    commuting = _commuting(raw, cw_years, structure, report)
    places = _places(raw, structure, parent, tf, cw2020, geo.from_2020, report)

    say("national rates")
    first_year = TF_FIRST
    last_year = int(population["year"].max())
    years = range(first_year, last_year + 1)
    fert = raw.csv("fertility", {"Year", "Age", "Fertility"})
    fertility = pd.DataFrame({"year": fert["Year"], "age": fert["Age"],
                              "fertility_rate": fert["Fertility"]})  # fmt: skip
    say("employment schedule")
    employment = employment_schedule(raw, population, years, report)
    tables = {
        "places": places,
        "population": population,
        "components": components,
        "jobs": jobs[jobs["year"].isin(years)],
        "industry_effect": _industry_effect(tf, geo, report),
        "commuting": commuting,
        "mortality": q[q["year"].isin(years)],
        "fertility": fertility[fertility["year"].isin(years)],
        "immigration": _immigration(raw, _national(raw), years, report),
        "employment_rates": employment,
    }
    tolerance = _balance_tolerance(population, components, report)
    manifest = Manifest(
        name=f"norway-real-{structure}",
        description=f"Norwegian municipalities in the {structure} structure, built from "
        "public SSB-based files by attrbayes.data.real",
        structure=structure,
        first_year=first_year,
        last_year=last_year,
        balance_tolerance=tolerance,
        provenance={"builder": "attrbayes.data.real.build_real_panel", "raw": str(raw.root)},
        series_breaks={"jobs": (JOBS_SPLICE,)},
    )
    say("validating")
    panel = Panel.from_tables(manifest, tables)
    _known_values(panel, report)
    return panel, report


def _geo_2020(cw2020: Crosswalk) -> Geography:
    return Geography("2020", cw2020, pd.DataFrame())


def _compose(cw2020: Crosswalk, from_2020: pd.DataFrame) -> Crosswalk:
    """Original code and year -> 2024 code through the 2020 structure (one split)."""
    step = from_2020.rename(columns={"code2020": "target", "target": "final",
                                         "weight": "w2"})  # fmt: skip
    table = cw2020.table.merge(step, on="target")
    table = table.assign(target=table["final"], weight=table["weight"] * table["w2"])
    table = table.groupby(["original", "year", "target"], as_index=False)["weight"].sum()
    return Crosswalk(table, "2024")


def _balance_tolerance(population: pd.DataFrame, components: pd.DataFrame,
                       report: BuildReport) -> dict[str, float]:  # fmt: skip
    """Measure the balance residuals and state a tolerance that covers them."""
    totals = population.groupby(["place", "year"])["population"].sum()
    comp = components.set_index(["place", "year"])
    nxt = totals.copy()
    nxt.index = nxt.index.set_levels(nxt.index.levels[1] - 1, level="year")
    res = (nxt - totals - comp["births"] + comp["deaths"] - comp["net_migration"]).dropna()
    rel = (res.abs() / totals.reindex(res.index)).max()
    report.checks["balance residual: max abs (persons)"] = float(res.abs().max())
    report.checks["balance residual: max relative"] = float(rel)
    report.note(
        "Population balance: exact where net migration is a residual; in Telemarksforsking's "
        "years the population change differs from the rounded growth %, so the manifest "
        f"states a tolerance that covers the largest residual ({res.abs().max():.1f} persons)."
    )
    return {"persons": float(np.ceil(res.abs().max()) + 1), "relative": 0.0}


def _known_values(panel: Panel, report: BuildReport) -> None:
    """Record values anyone can check against SSB's own publications."""
    totals = panel.population_totals()
    jobs = panel.tables["jobs"].groupby("year")["jobs"].sum()
    report.checks["places"] = len(panel.place_codes)
    for year in (2016, 2020):
        if year in totals.columns:
            report.checks[f"population 1 Jan {year}, nation"] = float(totals[year].sum())
    if "0301" in totals.index and 2016 in totals.columns:
        report.checks["population 1 Jan 2016, Oslo 0301"] = float(totals.loc["0301", 2016])
    for year in (2016, 2022):
        if year in jobs.index:
            report.checks[f"jobs {year}, nation"] = float(jobs[year])


def report_files(report: BuildReport) -> dict[str, str]:
    """The report as files to store beside the panel."""
    return {"BUILD_REPORT.md": report.markdown(), "build_report.json": report.to_json()}
