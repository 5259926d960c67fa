"""A synthetic Norway-like panel simulated from the attractiveness model itself.

The generator is the embedded default data set: it writes a full panel (see
:mod:`attrbayes.data.schema`) plus the ground truth it was drawn from (true coefficients,
centrality path, year effects, latent residential and business attractiveness), so that
every estimator can be checked for recovery.

Each simulated year t runs the model's causal order (MODEL.md sections 2-5):

1. private jobs by industry grow at national industry growth + population effect
   (lagged relative population growth) + business attractiveness (AR(1) per place)
   + noise shrinking with the size of the private sector; public jobs grow exogenously;
2. relative job growth RA -> VRA through the commuting matrix (lags 0-2), DS from the age
   structure on 1 January;
3. relative net migration from the 2022 equation with a centrality coefficient that falls
   in immigration waves and otherwise drifts as a random walk (or, with
   ``centrality_process = "ar1"``, reverts to its mean as a stationary AR(1)), year
   shocks, residential attractiveness (place effects in regions plus an AR(1) deviation)
   and Student-t noise with scale s * pop^-0.5 (floored);
4. births and deaths from national rates times stable local ratios, migrants spread over
   ages by a migration profile, cohorts aged one year.

Three burn-in years before ``first_year`` supply the lags and are not written. All counts
are integers (stochastic rounding keeps small industries alive without bias).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from attrbayes.constants import AGE_GROUPS, INDUSTRIES, MAX_AGE, PUBLIC_SECTORS, SEXES
from attrbayes.data.panel import Manifest, Panel, write_panel
from attrbayes.exceptions import DataError
from attrbayes.features.demographic_supply import ds_absolute
from attrbayes.features.vra import relative_growth, weighted_growth
from attrbayes.io_utils import replace_dir, toml_value

BURN_IN = 3
CENTRALITY_PROCESSES = ("random_walk", "ar1")
N_AGES = MAX_AGE + 1
TRUTH_DIR = "truth"

# 2020 county codes and their share of municipalities (the capital county holds one place).
_COUNTIES = {
    "03": 1, "11": 23, "15": 26, "18": 41, "30": 51, "34": 46,
    "38": 23, "42": 25, "46": 43, "50": 38, "54": 39,
}  # fmt: skip

# Stylised national net immigration (share of population) shaped like Norway's: low in the
# early 1980s, a peak in 1987, Balkan refugees 1993, low around 2000, waves 2007-2012 (EU
# enlargement) and 2015-2016 (refugees), 2022-2023.
_IMMIGRATION = {
    1977: 0.0012, 1978: 0.0012, 1979: 0.0010, 1980: 0.0012, 1981: 0.0015, 1982: 0.0017,
    1983: 0.0013, 1984: 0.0011, 1985: 0.0015, 1986: 0.0030, 1987: 0.0036, 1988: 0.0025,
    1989: 0.0003, 1990: 0.0005, 1991: 0.0012, 1992: 0.0022, 1993: 0.0030, 1994: 0.0020,
    1995: 0.0014, 1996: 0.0014,
    1997: 0.0020, 1998: 0.0030, 1999: 0.0042, 2000: 0.0020, 2001: 0.0018, 2002: 0.0038,
    2003: 0.0025, 2004: 0.0030, 2005: 0.0040, 2006: 0.0050, 2007: 0.0084, 2008: 0.0091,
    2009: 0.0081, 2010: 0.0088, 2011: 0.0096, 2012: 0.0094, 2013: 0.0080, 2014: 0.0075,
    2015: 0.0058, 2016: 0.0050, 2017: 0.0034, 2018: 0.0034, 2019: 0.0050, 2020: 0.0020,
    2021: 0.0035, 2022: 0.0080, 2023: 0.0090,
}  # fmt: skip

_SYLLABLES = (
    "Berg Fjell Lund Vik Sand Strand Hol Nes Dal Haug Rud Stav Tinn Sel Ler Vang Eid Os Lom "
    "Gran Hov Sol Rinde Ul Fet Sig Bre Kvi Stor Mo Ask Bjørk Eik Furu Gjes Hval Kval Lyng Mjøs "
    "Nord Sør Vest Øst Rånd Skog Tangen Varg Ørne Alv Bru Flat"
).split()
_SUFFIXES = (
    "vik dal berg nes fjord stad land øy sund haug rud by hamn strand ås eid vang bø sand "
    "heim lia mark voll vær"
).split()


@dataclass(frozen=True)
class SynthConfig:
    """Size, seed and true parameters of a synthetic panel.

    The defaults follow the published 2022 model (MODEL.md section 2.4) for the
    net-migration coefficients and the book's qualitative findings elsewhere.
    """

    seed: int = 20240101
    n_places: int = 356
    first_year: int = 2000
    last_year: int = 2023
    places_per_region: float = 4.9
    commuting_years: int = 6  # the matrix is written for the last N years, as in SSB's data
    # net-migration equation (rates: share of population per year)
    intercept: float = -0.0024
    vra: tuple[float, float, float] = (0.136, 0.096, 0.053)
    ds: float = -0.40
    students: float = 0.0
    centrality_mean: float = 0.027
    centrality_immigration_slope: float = -2.5  # coefficient falls in immigration waves
    # the coefficient's own variation: a random walk with steps of sd centrality_rw_sd, or
    # a stationary AR(1) of persistence centrality_ar_phi and stationary sd centrality_ar_sd
    # (set near the real panel's AR(1) fit, 0.75 and 0.0079, whose sd also holds the part
    # that immigration explains here)
    centrality_process: str = "random_walk"
    centrality_rw_sd: float = 0.002
    centrality_ar_phi: float = 0.75
    centrality_ar_sd: float = 0.006
    year_shock_sd: float = 0.001
    region_sd: float = 0.002
    municipality_sd: float = 0.003
    ar_phi: float = 0.6
    ar_sd: float = 0.002
    noise_scale: float = 0.35  # sigma_i = max(noise_scale * pop^-0.5, noise_floor)
    noise_floor: float = 0.002
    noise_df: float = 5.0
    # private job-growth equation
    industry_coef: float = 1.0
    population_coef: float = 0.6
    business_region_sd: float = 0.004
    business_municipality_sd: float = 0.007
    business_ar_phi: float = 0.5
    business_ar_sd: float = 0.01
    jobs_noise_scale: float = 0.5
    jobs_noise_floor: float = 0.005
    jobs_year_shock_sd: float = 0.004
    # local demography
    fertility_ratio_sd: float = 0.10
    mortality_ratio_sd: float = 0.08
    # switches: turning them all off gives a panel drawn exactly from the pooled OLS model
    place_effects: bool = True
    ar_attractiveness: bool = True
    year_shocks: bool = True
    centrality_drift: bool = True
    heavy_tails: bool = True
    size_scaled_noise: bool = True
    closed_national_total: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ols_exact(cls, **kwargs: Any) -> SynthConfig:
        """A panel whose net migration follows the pooled OLS model exactly (Gaussian,
        homoskedastic, constant centrality coefficient, no place or year effects)."""
        flags = {
            "place_effects": False,
            "ar_attractiveness": False,
            "year_shocks": False,
            "centrality_drift": False,
            "heavy_tails": False,
            "size_scaled_noise": False,
            "closed_national_total": False,
        }
        return cls(**{**flags, **kwargs})

    def validate(self) -> None:
        if not 12 <= self.n_places <= MAX_PLACES:
            raise DataError(f"n_places must be between 12 and {MAX_PLACES}, got {self.n_places}")
        if self.last_year - self.first_year < 4:
            raise DataError(
                f"years {self.first_year}:{self.last_year}: need at least 5 years so that "
                "the two-year VRA lag leaves an estimation window"
            )
        if not self.commuting_years >= 1:
            raise DataError("commuting_years must be >= 1")
        if self.centrality_process not in CENTRALITY_PROCESSES:
            raise DataError(f"centrality_process must be one of {list(CENTRALITY_PROCESSES)}, "
                            f"got {self.centrality_process!r}")  # fmt: skip
        if not 0 <= self.centrality_ar_phi < 1:
            raise DataError(f"centrality_ar_phi must lie in [0, 1), got {self.centrality_ar_phi}")


@dataclass(frozen=True)
class SyntheticPanel:
    """A synthetic panel and the truth it was drawn from."""

    panel: Panel
    truth: dict[str, pd.DataFrame]
    parameters: dict[str, Any]

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the panel with its truth in ``path/truth/`` (atomically)."""
        target = write_panel(self.panel, path, overwrite=overwrite)
        tmp = target / f".{TRUTH_DIR}.tmp"
        tmp.mkdir(exist_ok=True)
        for name, df in self.truth.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        lines = [f"{k} = {toml_value(v)}" for k, v in self.parameters.items()]
        (tmp / "parameters.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        replace_dir(tmp, target / TRUTH_DIR)
        return target


def read_truth(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read the truth written beside a synthetic panel."""
    root = Path(path) / TRUTH_DIR
    if not root.is_dir():
        raise DataError(f"{root}: no truth here; only synthetic panels carry one")
    tables = {p.stem: pd.read_parquet(p) for p in sorted(root.glob("*.parquet"))}
    params = tomllib.loads((root / "parameters.toml").read_text(encoding="utf-8"))
    return tables, params


# ---------------------------------------------------------------------------------------
# national schedules
# ---------------------------------------------------------------------------------------
def _immigration_rate(year: int) -> float:
    return _IMMIGRATION.get(year, 0.004)


def _mortality(years: np.ndarray) -> np.ndarray:
    """Death probabilities (T, 2, A): Gompertz-Makeham, male excess, 1.5 % yearly decline."""
    age = np.arange(N_AGES, dtype=float)
    m = 0.0002 + 0.000025 * np.exp(0.097 * age)
    m[0] = 0.003
    m[1:5] = 0.0002
    male = 1 + 0.6 * np.exp(-(((age - 22) / 25) ** 2)) + 0.3 * (age < 80)
    trend = 0.985 ** (years - 2000.0)
    rates = m[None, None, :] * np.stack([np.ones_like(age), male])[None] * trend[:, None, None]
    q = 1 - np.exp(-rates)
    q[..., MAX_AGE] = np.maximum(q[..., MAX_AGE], 0.5)
    return np.clip(q, 0, 0.9)


def _fertility(years: np.ndarray) -> np.ndarray:
    """Age-specific fertility (T, A) with a TFR path like Norway's (1.85 -> 1.98 -> 1.45)."""
    age = np.arange(N_AGES, dtype=float)
    shape = np.where((age >= 15) & (age <= 49), np.exp(-0.5 * ((age - 30.5) / 5.2) ** 2), 0.0)
    shape /= shape.sum()
    tfr = np.interp(
        years, [1995, 2000, 2009, 2016, 2020, 2023], [1.87, 1.85, 1.98, 1.71, 1.48, 1.40]
    )
    return tfr[:, None] * shape[None, :]


def _employment() -> np.ndarray:
    """National employment rates (2, A): rise 16-25, plateau, exit after 60, zero from 75."""
    age = np.arange(N_AGES, dtype=float)
    rise = 1 / (1 + np.exp(-(age - 19.5) / 1.8))
    exit_ = 1 / (1 + np.exp((age - 65.0) / 2.6))
    base = rise * exit_
    e = np.stack([0.80 * base, 0.86 * base])
    e[:, (age < 15) | (age > 74)] = 0.0
    return e


def _migration_profile() -> np.ndarray:
    """Relative propensity to move by sex and age (2, A), peaking in the twenties."""
    age = np.arange(N_AGES, dtype=float)
    p = 0.25 + 1.6 * np.exp(-0.5 * ((age - 25) / 5.5) ** 2) + 0.4 * np.exp(-age / 4)
    p += 0.15 * np.exp(-0.5 * ((age - 65) / 4) ** 2)
    p *= np.where(age > 85, 0.4, 1.0)
    return np.stack([p, p * 0.97])


# ---------------------------------------------------------------------------------------
# geography and the starting state
# ---------------------------------------------------------------------------------------
def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of an integer total, at least one each."""
    raw = weights / weights.sum() * total
    out = np.maximum(np.floor(raw).astype(int), 1)
    while out.sum() < total:
        out[np.argmax(raw - out)] += 1
    while out.sum() > total:
        out[np.argmax(out - raw)] -= 1
    return out


# Qualifiers that make more names than the syllables give (large panels only).
_QUALIFIERS = ("Øvre", "Nedre", "Vestre", "Østre", "Nordre", "Søndre", "Indre", "Ytre")
MAX_PLACES = 9000  # two-digit municipality numbers in at most 98 counties besides the capital's
_MAX_PER_COUNTY = 99


def _names(n: int, rng: np.random.Generator) -> list[str]:
    combos = [(a + b).capitalize() for a in _SYLLABLES for b in _SUFFIXES]
    if n > len(combos):
        combos += [f"{q} {c}" for q in _QUALIFIERS for c in combos]
    chosen = rng.choice(len(combos), size=n, replace=False)
    return [combos[i] for i in chosen]


def _county_sizes(n_places: int) -> tuple[list[str], np.ndarray]:
    """County codes and their number of places: Norway's 2020 counties in their shares;
    where a county would need more than 99 municipality numbers, more counties (unused
    two-digit codes, each with the largest share) until none does."""
    codes, shares = list(_COUNTIES), list(_COUNTIES.values())
    spare = (f"{c:02d}" for c in range(1, 100) if f"{c:02d}" not in _COUNTIES)
    while True:
        per_county = np.concatenate([[1], _allocate(n_places - 1, np.array(shares[1:], float))])
        if per_county.max() <= _MAX_PER_COUNTY:
            return codes, per_county
        codes.append(next(spare))
        shares.append(max(shares))


def _geography(cfg: SynthConfig, rng: np.random.Generator) -> pd.DataFrame:
    counties, per_county = _county_sizes(cfg.n_places)
    rows = []
    for county, n in zip(counties, per_county, strict=True):
        n_regions = max(1, round(n / cfg.places_per_region))
        members = np.array_split(rng.permutation(n), n_regions)
        for r, idx in enumerate(members):
            for k in idx:
                rows.append(
                    {
                        "place": f"{county}{k + 1:02d}",
                        "county": county,
                        "region": f"R{county}{r + 1:02d}",
                    }
                )
    geo = pd.DataFrame(rows).sort_values("place", ignore_index=True)
    return geo


def _sizes(geo: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Population sizes: log-normal, largest draws to region centres, a 700k capital."""
    n = len(geo)
    draws = np.sort(np.clip(rng.lognormal(np.log(4700), 1.25, n - 1), 200, 300_000))[::-1]
    capital = geo["place"].eq("0301").to_numpy()  # the capital county always has one place
    sizes = np.zeros(n)
    sizes[capital] = 700_000
    rest = np.flatnonzero(~capital)
    # regions were filled in random order, so a region's first place is a random member
    first = ~pd.Series(geo["region"].to_numpy()[rest]).duplicated().to_numpy()
    order = np.concatenate([rng.permutation(rest[first]), rng.permutation(rest[~first])])
    sizes[order] = draws
    return sizes


def _pyramid(sizes: np.ndarray, tilt: np.ndarray, q0: np.ndarray) -> np.ndarray:
    """Starting population (P, 2, A): a national shape tilted towards young adults in
    central places and towards the elderly in peripheral ones."""
    age = np.arange(N_AGES, dtype=float)
    survival = np.cumprod(np.concatenate([[1.0], 1 - q0.mean(axis=0)[:-1]]))
    cohort = 1 + 0.18 * np.exp(-(((age - 52) / 6) ** 2)) + 0.08 * np.exp(-(((age - 28) / 7) ** 2))
    shape = survival * cohort * np.exp(-0.004 * age)
    profile = np.exp(-(((age - 30) / 11) ** 2)) - 0.6 / (1 + np.exp(-(age - 62) / 4))
    local = shape[None, :] * np.exp(tilt[:, None] * profile[None, :])
    local /= local.sum(axis=1, keepdims=True)
    male_share = 0.512 - 0.16 / (1 + np.exp(-(age - 85) / 5))
    by_sex = np.stack([1 - male_share, male_share])  # (2, A)
    return sizes[:, None, None] * local[:, None, :] * by_sex[None, :, :]


def _commuting(
    geo: pd.DataFrame, sizes: np.ndarray, is_centre: np.ndarray, rng: np.random.Generator
) -> sparse.csr_array:
    """Commuting shares (P, P), residence x workplace, rows summing to one; sparse, as a
    place's residents work in its region, a few county centres and the largest cities."""
    n = len(geo)
    zpop = (np.log(sizes) - np.log(sizes).mean()) / np.log(sizes).std()
    own = 0.15 + 0.8 / (1 + np.exp(-(-0.3 + 1.3 * zpop + 1.5 * is_centre + rng.normal(0, 0.6, n))))
    own = np.clip(own, 0.15, 0.95)
    region = geo["region"].to_numpy()
    county = geo["county"].to_numpy()
    top_nation = np.argsort(sizes)[::-1][:5]
    rows, cols, values = [], [], []
    for i in range(n):
        dest = np.zeros(n)
        mates = np.flatnonzero((region == region[i]) & (np.arange(n) != i))
        in_county = np.flatnonzero((county == county[i]) & (np.arange(n) != i))
        top_county = in_county[np.argsort(sizes[in_county])[::-1][:3]]
        nation = top_nation[top_nation != i]
        parts = [(mates, 0.7), (top_county, 0.2), (nation, 0.1)]
        mass = sum(share for idx, share in parts if len(idx))
        for idx, share in parts:
            if len(idx):
                dest[idx] += share / mass * sizes[idx] / sizes[idx].sum()
        row = (1 - own[i]) * dest
        row[i] = own[i]
        row /= row.sum()
        (nonzero,) = np.nonzero(row)
        rows.append(np.full(len(nonzero), i))
        cols.append(nonzero)
        values.append(row[nonzero])
    coords = (np.concatenate(rows), np.concatenate(cols))
    return sparse.csr_array((np.concatenate(values), coords), shape=(n, n))


def _industry_mix(centrality_z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Private industry shares (P, K): primary industries peripheral, services central."""
    names = list(INDUSTRIES)
    national = np.array(
        [3, 3, 4, 3, 2, 1, 1, 2, 3, 5, 4, 3, 10, 2, 4, 6, 11, 4, 4, 8, 6, 5, 2, 2, 3], float
    )
    national /= national.sum()
    lean = np.zeros(len(names))
    for k, name in enumerate(names):
        if name in ("fishing_aquaculture", "agriculture", "power", "manufacturing_food"):
            lean[k] = -1.0
        elif name in (
            "telecom_ict",
            "finance_real_estate",
            "business_services",
            "technical_science",
        ):
            lean[k] = 1.0
    alpha = 40 * national[None, :] * np.exp(0.8 * centrality_z[:, None] * lean[None, :])
    return np.vstack([rng.dirichlet(a) for a in alpha])


def _industry_trends(years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """National growth by industry and year (T, K): trends, a business cycle, shocks."""
    names = list(INDUSTRIES)
    trend = np.full(len(names), 0.01)
    for name, value in {
        "agriculture": -0.02, "fishing_aquaculture": 0.0, "manufacturing_process": -0.01,
        "manufacturing_workshop": -0.005, "telecom_ict": 0.03, "business_services": 0.025,
        "health": 0.03, "kindergarten_education": 0.02, "retail": 0.002, "labour_hire": 0.02,
        "construction": 0.015, "oil_gas": 0.02, "oil_platforms": 0.01,
    }.items():  # fmt: skip
        trend[names.index(name)] = value
    cycle = np.where(years == 2009, -0.025, np.where(years == 2020, -0.02, 0.005))
    growth = trend[None, :] + cycle[:, None] + rng.normal(0, 0.015, (len(years), len(names)))
    oil = [names.index("oil_gas"), names.index("oil_platforms")]
    growth[
        np.isin(years, [2015, 2016])[:, None] & np.isin(np.arange(len(names)), oil)[None, :]
    ] -= 0.09
    return growth


def _sround(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unbiased stochastic rounding to integers."""
    base = np.floor(x)
    return base + (rng.random(np.shape(x)) < (x - base))


def _centrality_class(index: np.ndarray) -> np.ndarray:
    return 6 - np.searchsorted(np.array([568, 673, 746, 844, 948]), index, side="right")


# ---------------------------------------------------------------------------------------
# the simulation
# ---------------------------------------------------------------------------------------
def synthesize_panel(config: SynthConfig | None = None, **overrides: Any) -> SyntheticPanel:
    """Simulate a Norway-like panel from the attractiveness model itself.

    Parameters
    ----------
    config
        Sizes, years, seed and true parameters; the defaults when None.
    **overrides
        Fields of ``config`` to replace (e.g. ``seed=1``, ``places=60``).

    Returns
    -------
    SyntheticPanel
        The validated ``panel``, the true ``parameters`` and the ``truth`` tables
        (attractiveness per place and year, the centrality path). Deterministic given the
        seed.
    """
    cfg = replace(config or SynthConfig(), **overrides)
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    years_all = np.arange(cfg.first_year - BURN_IN, cfg.last_year + 1)
    n_years = len(years_all)

    # --- geography, sizes, centrality -------------------------------------------------
    geo = _geography(cfg, rng)
    n = len(geo)
    sizes = _sizes(geo, rng)
    region_codes = geo["region"].to_numpy()
    regions, region_idx = np.unique(region_codes, return_inverse=True)
    centre = sizes == pd.Series(sizes).groupby(region_codes).transform("max").to_numpy()
    region_pop = pd.Series(sizes).groupby(region_codes).transform("max").to_numpy()
    zpop = (np.log(sizes) - np.log(sizes).mean()) / np.log(sizes).std()
    zreg = (np.log(region_pop) - np.log(region_pop).mean()) / np.log(region_pop).std()
    z = 0.55 * zpop + 0.45 * zreg + rng.normal(0, 0.45, n)
    z = (z - z.mean()) / z.std()
    centrality = np.clip(640 + 140 * z, 250, 995)
    capital = geo["place"].eq("0301").to_numpy()
    centrality[capital] = 1000.0
    centrality_jobs = np.clip(centrality + rng.normal(0, 25, n), 200, 1000)
    centrality_jobs[capital] = 1000.0
    cz = (centrality - centrality.mean()) / centrality.std()
    students = np.clip(0.015 + 0.03 / (1 + np.exp(-cz)) + rng.gamma(1.0, 0.004, n), 0, 1)
    uni = np.argsort(sizes)[::-1][1:4]
    students[uni] += 0.08
    students[capital] += 0.06

    # --- national schedules --------------------------------------------------------------
    q = _mortality(years_all)  # (T, 2, A)
    asfr = _fertility(years_all)  # (T, A)
    emp = _employment()  # (2, A)
    profile = _migration_profile()
    imm = np.array([_immigration_rate(int(y)) for y in years_all])
    fert_ratio = np.exp(rng.normal(0, cfg.fertility_ratio_sd, n))
    mort_ratio = np.exp(rng.normal(0, cfg.mortality_ratio_sd, n))

    # --- true parameters of the two equations ---------------------------------------------
    def effects(region_sd: float, muni_sd: float) -> tuple[np.ndarray, np.ndarray]:
        if not cfg.place_effects:
            return np.zeros(n), np.zeros(n)
        reg = rng.normal(0, region_sd, len(regions))
        reg -= reg.mean()
        muni = rng.normal(0, muni_sd, n)
        muni -= muni.mean()
        return reg[region_idx], muni

    res_region, res_muni = effects(cfg.region_sd, cfg.municipality_sd)
    bus_region, bus_muni = effects(cfg.business_region_sd, cfg.business_municipality_sd)
    imm_dev = imm - imm[BURN_IN:].mean()
    cpath = np.full(n_years, cfg.centrality_mean)
    if cfg.centrality_drift:
        cpath = cfg.centrality_mean + cfg.centrality_immigration_slope * imm_dev
        if cfg.centrality_process == "random_walk":
            walk = np.cumsum(rng.normal(0, cfg.centrality_rw_sd, n_years))
            cpath = cpath + walk - walk.mean()
        else:
            phi, sd = cfg.centrality_ar_phi, cfg.centrality_ar_sd
            shocks = rng.normal(0, sd * np.sqrt(1 - phi**2), n_years)
            deviation = np.empty(n_years)
            deviation[0] = rng.normal(0, sd)
            for t in range(1, n_years):
                deviation[t] = phi * deviation[t - 1] + shocks[t]
            cpath = cpath + deviation
    shocks = rng.normal(0, cfg.year_shock_sd, n_years) if cfg.year_shocks else np.zeros(n_years)
    jobs_shocks = (
        rng.normal(0, cfg.jobs_year_shock_sd, n_years) if cfg.year_shocks else np.zeros(n_years)
    )
    # migration responds to the job-reachability index, as in the 2022 model
    centrality_c = centrality_jobs / 1000 - (centrality_jobs / 1000).mean()

    # --- starting state ------------------------------------------------------------------
    tilt = 0.35 * cz + rng.normal(0, 0.15, n)
    pop = np.zeros((n_years + 1, n, 2, N_AGES))
    pop[0] = np.round(_pyramid(sizes, tilt, q[0]))
    w = _commuting(geo, sizes, centre, rng)
    employed0 = (pop[0] * emp[None]).sum(axis=(1, 2))
    jobs_total0 = employed0 @ w
    public0 = {
        "municipal": 0.065 * sizes,
        "county": 0.012 * sizes * (0.5 + centre),
        "state": 0.03 * sizes * np.exp(0.6 * cz),
    }
    scale = np.minimum(1.0, 0.7 * jobs_total0 / sum(public0.values()))
    names = list(INDUSTRIES)
    n_ind = len(names)
    mix = _industry_mix(cz, rng)
    private0 = jobs_total0 - scale * sum(public0.values())
    ind_jobs = np.zeros((n_years, n, n_ind))
    ind_jobs[0] = np.round(private0[:, None] * mix)
    pub_jobs = np.zeros((n_years, n, 3))
    pub_jobs[0] = np.round(np.stack([scale * public0[s] for s in PUBLIC_SECTORS], axis=1))
    ind_growth = _industry_trends(years_all, rng)

    stat = np.sqrt(1 - cfg.ar_phi**2)
    res_dev = rng.normal(0, cfg.ar_sd / stat, n) if cfg.ar_attractiveness else np.zeros(n)
    bstat = np.sqrt(1 - cfg.business_ar_phi**2)
    bus_dev = rng.normal(0, cfg.business_ar_sd / bstat, n) if cfg.ar_attractiveness else np.zeros(n)

    residential = np.zeros((n_years, n))
    business = np.zeros((n_years, n))
    jobs_year_effect = np.zeros(n_years)
    mig_year_effect = np.zeros(n_years)
    births = np.zeros((n_years, n, 2))
    deaths = np.zeros((n_years, n, 2, N_AGES))
    migrants = np.zeros((n_years, n, 2, N_AGES))
    international = np.zeros((n_years, n))
    ra = np.full((n_years, n), np.nan)
    vra = np.full((n_years, n), np.nan)
    ds_rel = np.full((n_years, n), np.nan)

    for t in range(n_years):
        totals = pop[: t + 1].sum(axis=(2, 3))  # (t+1, P)
        # 1. jobs -------------------------------------------------------------------------
        if t > 0:
            growth_hist = totals[1:] / totals[:-1] - 1 if t >= 1 else np.empty((0, n))
            nat = totals[1:].sum(axis=1) / totals[:-1].sum(axis=1) - 1
            rel = growth_hist - nat[:, None]
            pop_lag = rel[-3:].mean(axis=0) if len(rel) else np.zeros(n)
            if cfg.ar_attractiveness:
                bus_dev = cfg.business_ar_phi * bus_dev + rng.normal(0, cfg.business_ar_sd, n)
            business[t] = bus_region + bus_muni + bus_dev
            private_prev = ind_jobs[t - 1].sum(axis=1)
            sigma_j = np.maximum(
                cfg.jobs_noise_scale / np.sqrt(np.maximum(private_prev, 1)), cfg.jobs_noise_floor
            )
            local = cfg.population_coef * pop_lag + business[t] + sigma_j * rng.standard_t(5, n)
            weights = private_prev / private_prev.sum()
            jobs_year_effect[t] = jobs_shocks[t] - weights @ local
            local = local + jobs_year_effect[t]
            mix_prev = ind_jobs[t - 1] / np.maximum(private_prev, 1)[:, None]
            expected = mix_prev @ ind_growth[t]
            industry_part = expected + (cfg.industry_coef - 1) * (expected - weights @ expected)
            factor = (
                1 + industry_part[:, None] + (ind_growth[t] - expected[:, None]) + local[:, None]
            )
            ind_jobs[t] = _sround(np.maximum(ind_jobs[t - 1] * factor, 0), rng)
            # growth is multiplicative: a private sector that rounds to nothing would stay
            # at nothing, so a place keeps at least one job (in its largest industry; long
            # histories reach this in the tiniest places)
            empty = ind_jobs[t].sum(axis=1) == 0
            ind_jobs[t, empty, np.argmax(mix_prev[empty], axis=1)] = 1
            pub_growth = np.stack(
                [
                    0.006 + 0.8 * pop_lag + rng.normal(0, 0.02, n),
                    0.004 + rng.normal(0, 0.03, n),
                    0.005 + rng.normal(0, 0.03, n),
                ],
                axis=1,
            )
            pub_jobs[t] = _sround(np.maximum(pub_jobs[t - 1] * (1 + pub_growth), 0), rng)
            total_jobs = ind_jobs[: t + 1].sum(axis=2) + pub_jobs[: t + 1].sum(axis=2)
            ra[t] = relative_growth(total_jobs[t - 1 : t + 1].T)[:, 1]
            vra[t] = weighted_growth(w, ra[t][:, None])[:, 0]
        jobs_now = ind_jobs[t].sum(axis=1) + pub_jobs[t].sum(axis=1)
        ds_abs = ds_absolute(pop[t], emp, q[t])
        ds_rel[t] = ds_abs / jobs_now - ds_abs.sum() / jobs_now.sum()

        # 2. net migration ------------------------------------------------------------------
        if cfg.ar_attractiveness:
            res_dev = cfg.ar_phi * res_dev + rng.normal(0, cfg.ar_sd, n)
        residential[t] = res_region + res_muni + res_dev
        size = totals[t]
        lags = [vra[t - k] if t - k >= 0 else np.full(n, np.nan) for k in range(3)]
        lags = [np.nan_to_num(v) for v in lags]  # burn-in years lack lags; they are not written
        sigma = (
            np.maximum(cfg.noise_scale / np.sqrt(size), cfg.noise_floor)
            if cfg.size_scaled_noise
            else np.full(n, cfg.noise_floor * 2)
        )
        noise = rng.standard_t(cfg.noise_df, n) if cfg.heavy_tails else rng.normal(0, 1, n)
        y = (
            cfg.intercept
            + sum(b * v for b, v in zip(cfg.vra, lags, strict=True))
            + cpath[t] * centrality_c
            + cfg.ds * ds_rel[t]
            + cfg.students * students
            + shocks[t]
            + residential[t]
            + sigma * noise
        )
        mig_year_effect[t] = shocks[t]
        if cfg.closed_national_total:
            centre_t = (size / size.sum()) @ y
            y = y - centre_t
            mig_year_effect[t] -= centre_t
        target = _sround((y + imm[t]) * size, rng)

        # 3. demography ---------------------------------------------------------------------
        qt = np.clip(q[t][None] * mort_ratio[:, None, None], 0, 1)
        deaths[t] = rng.binomial(pop[t].astype(np.int64), qt)
        alive = pop[t] - deaths[t]
        expected_births = (pop[t][:, 0, :] * asfr[t][None, :]).sum(axis=1) * fert_ratio
        b = rng.poisson(expected_births)
        boys = rng.binomial(b, 0.513)
        births[t] = np.stack([b - boys, boys], axis=1)
        migrants[t] = _spread_migrants(target, alive, profile, rng)
        moved = migrants[t].sum(axis=(1, 2))
        share_int = np.round(imm[t] * size)
        share_int[np.argmax(size)] += moved.sum() - share_int.sum()
        international[t] = share_int
        after = alive + migrants[t]
        nxt = np.zeros_like(after)
        nxt[:, :, 1:] = after[:, :, :-1]
        nxt[:, :, MAX_AGE] += after[:, :, MAX_AGE]
        nxt[:, :, 0] = births[t]
        pop[t + 1] = nxt

    keep = slice(BURN_IN, None)
    out_years = years_all[keep]
    tables = _tables(
        cfg, geo, sizes, centrality, centrality_jobs, students, out_years,
        pop[BURN_IN:n_years], births[keep], deaths[keep], migrants[keep], international[keep],
        ind_jobs[keep], pub_jobs[keep], w, q[keep], asfr[keep], emp, imm[keep],
    )  # fmt: skip
    totals_out = pop[BURN_IN:n_years].sum(axis=(2, 3))
    truth = _truth(
        geo, out_years, cpath[keep], mig_year_effect[keep], jobs_year_effect[keep],
        residential[keep], business[keep], res_region, res_muni, bus_region, bus_muni,
        fert_ratio, mort_ratio, totals_out, vra[keep], ds_rel[keep], imm[keep],
    )  # fmt: skip
    params = _parameters(cfg, mig_year_effect[keep], cpath[keep])
    manifest = Manifest(
        name=f"synthetic-{cfg.seed}",
        description=(
            f"Synthetic Norway-like panel simulated from the attractiveness model "
            f"({n} places, {cfg.first_year}-{cfg.last_year}, seed {cfg.seed})"
        ),
        structure="synthetic",
        first_year=cfg.first_year,
        last_year=cfg.last_year,
        balance_tolerance={"persons": 0.0, "relative": 0.0},
        provenance={"generator": "attrbayes.synthetic", "seed": cfg.seed},
    )
    panel = Panel.from_tables(manifest, tables)
    return SyntheticPanel(panel=panel, truth=truth, parameters=params)


def _spread_migrants(
    target: np.ndarray, alive: np.ndarray, profile: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Net migrants by sex and age (P, 2, A) summing to ``target`` per place.

    Net in-migration is spread by the migration profile; net out-migration in proportion
    to profile x population, capped so that no cell goes negative."""
    n = len(target)
    flat_profile = np.broadcast_to(profile.ravel(), (n, profile.size))
    out = np.zeros((n, profile.size))
    pos = target > 0
    if pos.any():
        p = flat_profile[pos] / flat_profile[pos].sum(axis=1, keepdims=True)
        out[pos] = rng.multinomial(target[pos].astype(np.int64), p)
    neg = target < 0
    if neg.any():
        stock = alive.reshape(n, -1)[neg]
        weight = stock * flat_profile[neg]
        total = weight.sum(axis=1, keepdims=True)
        p = np.where(total > 0, weight / np.where(total > 0, total, 1), 1 / weight.shape[1])
        k = np.minimum(-target[neg], stock.sum(axis=1)).astype(np.int64)
        leave = rng.multinomial(k, p)
        out[neg] = -np.minimum(leave, stock)
    return out.reshape(n, 2, -1)


def _long(values: np.ndarray, index: dict[str, Any], name: str) -> pd.DataFrame:
    """Flatten an array with named axes into a long frame."""
    grids = np.meshgrid(*index.values(), indexing="ij")
    frame = {k: g.ravel() for k, g in zip(index, grids, strict=True)}
    frame[name] = values.ravel()
    return pd.DataFrame(frame)


def _commuting_table(
    year: int, codes: np.ndarray, w: sparse.csr_array, employed: np.ndarray
) -> pd.DataFrame:
    """One year's commuters (employed residents x shares, rounded), the pairs with any."""
    counts = sparse.coo_array(w.multiply(employed[:, None]))
    keep = np.round(counts.data) > 0
    return pd.DataFrame({
        "year": year,
        "residence": codes[counts.row[keep]],
        "workplace": codes[counts.col[keep]],
        "employed": np.round(counts.data[keep]),
    })  # fmt: skip


def _tables(
    cfg: SynthConfig,
    geo: pd.DataFrame,
    sizes: np.ndarray,
    centrality: np.ndarray,
    centrality_jobs: np.ndarray,
    students: np.ndarray,
    years: np.ndarray,
    pop: np.ndarray,
    births: np.ndarray,
    deaths: np.ndarray,
    migrants: np.ndarray,
    international: np.ndarray,
    ind_jobs: np.ndarray,
    pub_jobs: np.ndarray,
    w: sparse.csr_array,
    q: np.ndarray,
    asfr: np.ndarray,
    emp: np.ndarray,
    imm: np.ndarray,
) -> dict[str, pd.DataFrame]:
    codes = geo["place"].to_numpy()
    rng = np.random.default_rng(cfg.seed + 1)
    places = geo.assign(
        name=np.where(geo["place"] == "0301", "Storby", _names(len(geo), rng)),
        centrality=np.round(centrality, 1),
        centrality_class=_centrality_class(centrality),
        centrality_jobs=np.round(centrality_jobs, 1),
        students_share=np.round(students, 4),
    )[["place", "name", "region", "county", "centrality", "centrality_class",
       "centrality_jobs", "students_share"]]  # fmt: skip
    ages = np.arange(N_AGES)
    population = _long(
        pop, {"year": years, "place": codes, "sex": SEXES, "age": ages}, "population"
    )
    net = migrants.sum(axis=(2, 3))
    components = pd.concat(
        [
            _long(births.sum(axis=2), {"year": years, "place": codes}, "births"),
            _long(deaths.sum(axis=(2, 3)), {"year": years, "place": codes}, "deaths")[["deaths"]],
            _long(net, {"year": years, "place": codes}, "net_migration")[["net_migration"]],
            _long(net - international, {"year": years, "place": codes}, "net_migration_domestic")[
                ["net_migration_domestic"]
            ],
            _long(international, {"year": years, "place": codes}, "net_migration_international")[
                ["net_migration_international"]
            ],
        ],
        axis=1,
    )
    private = ind_jobs.sum(axis=2)
    sector_values = np.concatenate([private[..., None], pub_jobs], axis=2)
    jobs = _long(
        sector_values,
        {"year": years, "place": codes, "sector": ("private", *PUBLIC_SECTORS)},
        "jobs",
    )
    jobs_industry = _long(
        ind_jobs, {"year": years, "place": codes, "industry": list(INDUSTRIES)}, "jobs"
    )
    emp_res = (pop * emp[None, None]).sum(axis=(2, 3))  # (T, P)
    com_years = years[-cfg.commuting_years :]
    commuting = pd.concat(
        [_commuting_table(year, codes, w, employed) for year, employed
         in zip(com_years, emp_res[-cfg.commuting_years :], strict=True)],
        ignore_index=True,
    )  # fmt: skip
    mortality = _long(q, {"year": years, "sex": SEXES, "age": ages}, "death_probability")
    fertility = _long(asfr[:, 15:50], {"year": years, "age": np.arange(15, 50)}, "fertility_rate")
    employment = _long(emp, {"sex": SEXES, "age": ages}, "employment_rate")
    nat_pop = pop.sum(axis=(1, 2, 3))
    # With a closed national total the rate is what the places' migration sums to; in the
    # OLS-exact mode the places do not add up, and the rate is the one assumed.
    rate = net.sum(axis=1) / nat_pop if cfg.closed_national_total else imm
    immigration = pd.DataFrame(
        {"year": years, "net_immigration_rate": rate, "net_immigration": net.sum(axis=1)}
    )
    group_rows = []
    for sex_label, sex_idx in (("female", [0]), ("male", [1]), ("total", [0, 1])):
        for group, (lo, hi) in {**AGE_GROUPS, "all": (0, MAX_AGE)}.items():
            values = migrants[:, :, sex_idx, lo : hi + 1].sum(axis=(2, 3))
            frame = _long(values, {"year": years, "place": codes}, "net_migration")
            group_rows.append(frame.assign(sex=sex_label, age_group=group))
    migration_groups = pd.concat(group_rows, ignore_index=True)[
        ["place", "year", "sex", "age_group", "net_migration"]
    ]
    return {
        "places": places,
        "population": population,
        "components": components,
        "jobs": jobs,
        "jobs_industry": jobs_industry,
        "commuting": commuting,
        "mortality": mortality,
        "fertility": fertility,
        "employment_rates": employment,
        "immigration": immigration,
        "migration_groups": migration_groups,
    }


def _truth(
    geo: pd.DataFrame,
    years: np.ndarray,
    cpath: np.ndarray,
    mig_year: np.ndarray,
    jobs_year: np.ndarray,
    residential: np.ndarray,
    business: np.ndarray,
    res_region: np.ndarray,
    res_muni: np.ndarray,
    bus_region: np.ndarray,
    bus_muni: np.ndarray,
    fert_ratio: np.ndarray,
    mort_ratio: np.ndarray,
    totals: np.ndarray,
    vra: np.ndarray,
    ds: np.ndarray,
    imm: np.ndarray,
) -> dict[str, pd.DataFrame]:
    codes = geo["place"].to_numpy()
    idx = {"year": years, "place": codes}
    attractiveness = _long(residential, idx, "residential")
    attractiveness["residential_persons"] = (residential * totals).ravel()
    attractiveness["business"] = business.ravel()
    attractiveness["vra_t"] = vra.ravel()
    attractiveness["ds"] = ds.ravel()
    year_table = pd.DataFrame(
        {
            "year": years,
            "centrality": cpath,
            "migration_year_effect": mig_year,
            "jobs_year_effect": jobs_year,
            "immigration_rate_assumed": imm,
        }
    )
    place_table = geo.assign(
        residential_region_effect=res_region,
        residential_municipality_effect=res_muni,
        business_region_effect=bus_region,
        business_municipality_effect=bus_muni,
        fertility_ratio=fert_ratio,
        mortality_ratio=mort_ratio,
    )
    return {"attractiveness": attractiveness, "years": year_table, "places": place_table}


def _parameters(cfg: SynthConfig, mig_year: np.ndarray, cpath: np.ndarray) -> dict[str, Any]:
    """True coefficients under the names estimators use; pooled-model equivalents of the
    time-varying parts are averaged over the estimation window (years with all lags)."""
    params = {k: v for k, v in asdict(cfg).items() if k not in ("vra", "extra")}
    params.update({"vra_t": cfg.vra[0], "vra_t1": cfg.vra[1], "vra_t2": cfg.vra[2]})
    window = slice(BURN_IN, None)  # the first written years lack VRA lags
    params["centrality"] = float(cpath[window].mean())
    params["intercept_pooled"] = float(cfg.intercept + mig_year[window].mean())
    params["estimation_first_year"] = cfg.first_year + BURN_IN
    params["generator"] = "attrbayes.synthetic"
    return params
