"""National assumptions tied to SSB's 2024 national projection (table 14288, MODEL.md 5).

SSB publishes the 2024 projection for the nation and counties; the raw folder holds the
15 county totals of three alternatives (``ssb_national_misc/``, SOURCES.md 8), in a wide
layout: ``Tid`` (year 2024-2050) and one column per ``County_Label (CODE)``. Summed over
the counties they give the national population on 1 January per alternative.

:func:`ssb_assumption_text` writes the assumption set ``assumptions/norway_2024_ssb.toml``:

* ``national_population``: SSB's national totals (the engine steers national net
  immigration to them per draw);
* ``net_immigration_rate``: what a national cohort-component run (one region, sexes x
  single ages) needs to follow the same totals with this set's TFR and mortality paths:
  each year ``(target(t+1) - (N_t + births - deaths)) / N_t``. It only feeds the years
  outside the national path, the high/low what-ifs and the centrality coefficient's
  immigration link;
* ``tfr``, ``mortality_decline``, ``industry_convergence_years``: the base set's
  (``norway_2024``) values of the same alternative;
* job growth from employment rates (the rule ``"employment_rates"``) for private and
  public jobs: constant national employment rates x the projected population.

The national run starts from the nation's population by sex and single age on 1 January
of the first SSB year (FHI's csdata copy of SSB 07459), with HMD death probabilities of
the last year (lowered by the set's mortality decline each year, as the engine does) and
HFD fertility of the last year (scaled to the set's TFR). Its net migrants are spread over
sex and age by the nation's net migration of the last ten years (cohort residuals).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attrbayes.constants import MAX_AGE, SEXES
from attrbayes.data.real import death_probabilities
from attrbayes.exceptions import AttrbayesError, DataError
from attrbayes.io_utils import atomic_write_text
from attrbayes.projection.assumptions import Alternative, load_assumptions, parse_assumptions

# the set's alternatives and SSB's codes (fertility, life expectancy, internal migration,
# immigration): main, high national growth, low national growth
ALTERNATIVES: dict[str, str] = {"main": "MMMM", "high": "HHMH", "low": "LLML"}
N_COUNTIES = 15
PROJECTION_FILE = "ssb_national_misc/ssb_projection2024_county_totals_MMMM_HHMH_LLML_2024_2050.csv"
POPULATION_FILE = "csdata_fhi/population_nation_county_b2024_age_sex.csv.gz"
MORTALITY_FILE = "vital_hmd_hfd/norway_mortality.csv"
FERTILITY_FILE = "vital_hmd_hfd/norway_fertility.csv"
PROFILE_YEARS = 10  # years of national cohort residuals behind the migrants' age profile
BOY_SHARE = 105 / 205
INFANT_EXPOSURE = 0.5
BASE_SET = "norway_2024"
OUT = "assumptions/norway_2024_ssb.toml"
COMMAND = (
    f"./dev attrbayes assumptions from-ssb --projection ../shared/data/raw/{PROJECTION_FILE} "
    f"--out {OUT} --force"
)
_COLUMN = re.compile(r"^(?P<county>.+)_(?P<label>[^_]+) \((?P<code>[A-Z]{4})\)$")


def read_county_projection(csv_path: str | Path) -> pd.DataFrame:
    """The wide SSB 14288 export as a long table: code, county, year, persons."""
    path = Path(csv_path)
    if not path.is_file():
        raise DataError(f"{path}: SSB projection file not found")
    wide = pd.read_csv(path, encoding="utf-8")
    if "Tid" not in wide.columns:
        raise DataError(f"{path}: no 'Tid' (year) column; columns {list(wide.columns)[:5]}")
    rows = []
    for column in wide.columns.drop("Tid"):
        match = _COLUMN.match(column)
        if match is None:
            raise DataError(f"{path}: column {column!r} is not 'County_Label (CODE)'")
        values = pd.to_numeric(wide[column], errors="coerce")
        if values.isna().any() or (values <= 0).any():
            raise DataError(f"{path}: column {column!r} has missing or non-positive totals")
        rows.append(pd.DataFrame({"code": match["code"], "county": match["county"],
                                  "year": wide["Tid"].astype(int), "persons": values}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def national_targets(csv_path: str | Path) -> dict[str, dict[int, float]]:
    """SSB code (MMMM, HHMH, LLML) -> year -> national persons on 1 January: the sum of
    the 15 counties."""
    long = read_county_projection(csv_path)
    out = {}
    for code, rows in long.groupby("code"):
        counts = rows.groupby("year")["county"].nunique()
        if (counts != N_COUNTIES).any():
            raise DataError(f"{csv_path}: alternative {code} has {sorted(set(counts))} counties "
                            f"per year, expected {N_COUNTIES}")  # fmt: skip
        years = sorted(counts.index)
        if years != list(range(years[0], years[-1] + 1)):
            raise DataError(f"{csv_path}: alternative {code} skips years ({years})")
        totals = rows.groupby("year")["persons"].sum()
        out[str(code)] = {int(y): float(v) for y, v in totals.items()}
    missing = sorted(set(ALTERNATIVES.values()) - set(out))
    if missing:
        raise DataError(f"{csv_path}: no columns for alternative(s) {missing}")
    return out


@dataclass(frozen=True)
class NationalBase:
    """What the national cohort run starts from (arrays over sexes x ages 0..105+)."""

    year: int
    population: np.ndarray  # (S, A) on 1 January of ``year``
    death_prob: np.ndarray  # (S, A) of ``death_prob_year``
    death_prob_year: int
    asfr: np.ndarray  # (A,) of the last year with rates
    profile: np.ndarray  # (S, A) share of net migrants by sex and age at the start (sum 1)


def _sex_age(frame: pd.DataFrame, value: str, fill: float) -> np.ndarray:
    return (
        frame.set_index(["sex", "age"])[value].to_xarray()
        .reindex(sex=list(SEXES), age=np.arange(MAX_AGE + 1)).fillna(fill).to_numpy()
    )  # fmt: skip


def read_national_base(raw: str | Path, year: int) -> NationalBase:
    """The nation's population by sex and age on 1 January ``year``, HMD q(x) and HFD
    fertility of their last years, and the sex-age profile of net migration of the
    ``PROFILE_YEARS`` years before ``year`` (cohort residuals with HMD q(x))."""
    root = Path(raw)
    files = {k: root / f for k, f in (("population", POPULATION_FILE),
                                      ("mortality", MORTALITY_FILE),
                                      ("fertility", FERTILITY_FILE))}  # fmt: skip
    for key, file in files.items():
        if not file.is_file():
            raise DataError(f"{file}: not found (national {key} for the SSB assumption set)")
    pop = pd.read_csv(files["population"])
    pop = pop[pop["granularity_geo"] == "nation"].rename(columns={"pop_jan1": "population"})
    pop["age"] = pop["age"].clip(upper=MAX_AGE)
    pop = pop.groupby(["year", "sex", "age"], as_index=False)["population"].sum()
    if year not in set(pop["year"]):
        raise DataError(f"{files['population']}: no national population for {year}")
    q = death_probabilities(pd.read_csv(files["mortality"]))
    q_year = int(q["year"].max())
    fert = pd.read_csv(files["fertility"])
    f_year = int(fert["Year"].max())
    asfr = np.zeros(MAX_AGE + 1)
    last = fert[fert["Year"] == f_year]
    asfr[last["Age"].to_numpy(dtype=int)] = last["Fertility"].to_numpy(dtype=float)

    migrants = np.zeros((len(SEXES), MAX_AGE + 1))
    for t in range(year - PROFILE_YEARS, year):
        now = _sex_age(pop[pop["year"] == t], "population", 0.0)
        nxt = _sex_age(pop[pop["year"] == t + 1], "population", 0.0)
        q_t = _sex_age(q[q["year"] == min(t, q_year)], "death_probability", 1.0)
        survivors = now * (1 - q_t)
        migrants[:, :-1] += nxt[:, 1:] - survivors[:, :-1]  # by age at the start of t
        migrants[:, -2] -= survivors[:, -1]  # the open group's own survivors
    if migrants.sum() <= 0:
        raise DataError(f"national net migration {year - PROFILE_YEARS}-{year - 1} is not "
                        "positive: no age profile for net immigrants")  # fmt: skip
    return NationalBase(
        year=year,
        population=_sex_age(pop[pop["year"] == year], "population", 0.0),
        death_prob=_sex_age(q[q["year"] == q_year], "death_probability", 1.0),
        death_prob_year=q_year,
        asfr=asfr,
        profile=migrants / migrants.sum(),
    )


def implied_immigration(
    base: NationalBase, alt: Alternative, target: dict[int, float]
) -> tuple[dict[int, float], pd.DataFrame]:
    """National net immigration rate per year (``base.year`` .. last target year - 1) that
    brings a national cohort-component run with ``alt``'s TFR and mortality paths to
    ``target`` on each 1 January; also the run's components by year."""
    pop = base.population.copy()
    q = base.death_prob.copy()
    for y in range(base.death_prob_year + 1, base.year):
        q = q * (1 - alt.path("mortality_decline", np.array([y]))[0])
    rates, rows = {}, []
    for year in range(base.year, max(target)):
        q = np.clip(q * (1 - alt.path("mortality_decline", np.array([year]))[0]), 0, 1)
        n = pop.sum()
        scale = alt.path("tfr", np.array([year]))[0] / base.asfr.sum()
        births = float(pop[0] @ (base.asfr * scale))
        newborn = births * np.array([1 - BOY_SHARE, BOY_SHARE])
        infant = newborn * q[:, 0] * INFANT_EXPOSURE
        deaths = float((pop * q).sum() + infant.sum())
        migrants = target[year + 1] - (n + births - deaths)
        nxt = np.zeros_like(pop)
        moved = pop * (1 - q) + migrants * base.profile
        nxt[:, 1:] = moved[:, :-1]
        nxt[:, -1] += moved[:, -1]
        nxt[:, 0] = newborn - infant
        if nxt.min() < 0:
            raise DataError(f"the national run meets a negative cohort in {year + 1}")
        rates[year] = migrants / n
        rows.append({"year": year, "population": n, "births": births, "deaths": deaths,
                     "net_immigration": migrants, "rate": migrants / n,
                     "population_next": float(nxt.sum())})  # fmt: skip
        pop = nxt
    return rates, pd.DataFrame(rows)


def _toml_path(points: dict[int, float], digits: int | None = None) -> str:
    if set(points) == {0}:
        return repr(float(points[0]))

    def fmt(v: float) -> str:
        return f"{round(float(v)):d}" if digits is None else repr(round(float(v), digits))

    return "{ " + ", ".join(f"{y} = {fmt(v)}" for y, v in sorted(points.items())) + " }"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class SsbAssumptions:
    text: str  # the TOML
    components: pd.DataFrame  # the national runs: alternative, year, population, ...


def ssb_assumptions(
    projection: str | Path, raw: str | Path | None = None, base_set: str = BASE_SET
) -> SsbAssumptions:
    """The SSB-tied assumption set (see the module docstring) from the projection CSV;
    ``raw`` (default: the CSV's folder's parent) holds the national base files."""
    projection = Path(projection)
    raw = Path(raw) if raw is not None else projection.resolve().parents[1]
    targets = national_targets(projection)
    base = load_assumptions(base_set)
    first = min(min(t) for t in targets.values())
    national = read_national_base(raw, first)
    runs = []
    lines = [
        "# National assumptions tied to SSB's 2024 national projection (table 14288).",
        "# Generated: do not edit by hand. Regenerate with",
        f"#   {COMMAND}",
        "",
        "[provenance]",
        'source = "Statistics Norway (SSB), table 14288: regional population projections, '
        "2024 vintage; the 15 county totals of MMMM (main), HHMH (high) and LLML (low) "
        'summed to the nation"',
        f'file = "../shared/data/raw/{PROJECTION_FILE} (SOURCES.md 8: '
        'JohanWidding/SSB-regionale-befolkningsframskrivinger output.csv)"',
        f'file_sha256 = "{_sha256(projection)}"',
        'vintage = "2024"',
        f'command = "{COMMAND}"',
        f'base_set = "{base_set} (tfr, mortality_decline, industry_convergence_years of the '
        'same alternative)"',
        f'national_run = "net_immigration_rate from a national cohort-component run: '
        f"{POPULATION_FILE} (1 January {first}), {MORTALITY_FILE} (q(x) "
        f"{national.death_prob_year}), {FERTILITY_FILE} (rates {_last_fertility_year(raw)}), "
        f"net migrants by sex and age as the nation's cohort residuals "
        f'{first - PROFILE_YEARS}-{first - 1}"',
        'notes = """national_population: SSB\'s totals; the engine sets national net '
        "immigration per draw so that\n"
        "the nation follows them (neutral and historical scenarios). net_immigration_rate: "
        "what a national\ncohort-component run with this set's TFR and mortality needs to "
        "follow the same totals,\n(target(t+1) - (N + births - deaths)) / N; it serves the "
        "years outside the path, the high/low\nwhat-ifs and the centrality coefficient's "
        "immigration link. Jobs, private and public: national\ngrowth of employed persons "
        "at constant employment rates by sex and age (MODEL.md 5), so jobs\nfollow the "
        'labour supply SSB\'s population implies."""',
    ]
    for name, code in ALTERNATIVES.items():
        alt = base[name]
        target = targets[code]
        rates, components = implied_immigration(national, alt, target)
        runs.append(components.assign(alternative=name))
        lines += [
            "",
            f"[{name}]  # SSB {code}",
            f"national_population = {_toml_path(target)}",
            f"net_immigration_rate = {_toml_path(rates, 6)}",
            f"tfr = {_toml_path(alt.paths['tfr'], 6)}",
            f"mortality_decline = {_toml_path(alt.paths['mortality_decline'], 6)}",
            'private_job_growth = "employment_rates"',
            'public_job_growth = "employment_rates"',
            f"industry_convergence_years = {_number(alt.scalars['industry_convergence_years'])}",
        ]
    text = "\n".join(lines) + "\n"
    parse_assumptions(text, name="norway_2024_ssb", where="the generated SSB set")  # validate
    return SsbAssumptions(text, pd.concat(runs, ignore_index=True))


def _last_fertility_year(raw: Path) -> int:
    return int(pd.read_csv(raw / FERTILITY_FILE, usecols=["Year"])["Year"].max())


def write_ssb_assumptions(
    projection: str | Path,
    out: str | Path,
    *,
    raw: str | Path | None = None,
    base_set: str = BASE_SET,
    force: bool = False,
) -> SsbAssumptions:
    """Write :func:`ssb_assumptions` to ``out`` (atomically; an existing file only with
    ``force``)."""
    target = Path(out)
    if target.exists() and not force:
        raise AttrbayesError(f"{target} already exists; pass --force to replace it")
    result = ssb_assumptions(projection, raw, base_set)
    atomic_write_text(target, result.text)
    return result
