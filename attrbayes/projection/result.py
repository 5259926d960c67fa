"""The projection result: per-draw trajectories as one labelled xarray Dataset.

Full population by place x sex x age x year x draw would not fit in memory (1,000 draws x
356 places x 28 years x 212 sex-ages is 17 GB), so the result keeps what people read,
per draw (quantiles are taken at the end, aggregates are summed per draw first):

=====================  ===============================================  =================
variable               dims                                             meaning
=====================  ===============================================  =================
population             scenario, draw, place, year                      1 January
age_group_population   scenario, draw, place, year, age_group           0-15, 16-66, 67+, 80+
births, deaths         scenario, draw, place, year                      during ``year``
net_migration          scenario, draw, place, year                      during ``year``
jobs_private           scenario, draw, place, year                      by workplace
jobs_public            scenario, draw, place, year                      by workplace
pyramid                scenario, draw, place, pyramid_year, sex, age    1 January, 0..105
history_population     place, history_year                              observed
history_jobs           place, history_year                              observed, all jobs
centrality_coefficient scenario, draw, coefficient_year                 fitted + projected
national_net_immigr.   scenario, draw, year                             realised rate
=====================  ===============================================  =================

``national_net_immigration_rate`` is the nation's net migration during ``year`` over its
population on 1 January, as realised per draw: the assumed rate, or what the national
population path asks for (attribute ``national_control`` = 1; neutral and historical
scenarios), or, in high and low, the assumed rate plus the places' what-if shifts.

``centrality_coefficient`` is the migration equation's centrality coefficient per draw:
as fitted up to the attribute ``centrality_last_fitted_year``, then carried on by its
process (attribute ``centrality_process``) through the gap to the base year and on to the
last year. It is absent when the migration spec has no centrality term.

Coordinates ``place`` carry ``name``, ``region``, ``county`` and ``centrality_class`` as
non-index coordinates, so aggregates need nothing else. The first projected ``year`` is
the base year (observed population on 1 January). Flows (births, deaths, net migration)
of ``year`` move the population from 1 January ``year`` to 1 January ``year + 1``; they
are NaN in the last year. Attributes record the scenarios, the assumption set, the
fits' data hashes, seeds and package versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes.constants import INTERVALS
from attrbayes.exceptions import DataError
from attrbayes.io_utils import atomic_write_with, open_saved
from attrbayes.results import interval_frame

PROJECTION_SCHEMA = 1
AGE_GROUPS_PROJECTION: dict[str, tuple[int, int]] = {
    "0-15": (0, 15),
    "16-66": (16, 66),
    "67+": (67, 105),
    "80+": (80, 105),
}
PER_PLACE = ("population", "births", "deaths", "net_migration", "jobs_private", "jobs_public")
AGGREGATES = ("region", "county", "centrality_class", "nation")


@dataclass(frozen=True)
class ProjectionResult:
    """Projected trajectories per draw, scenario and place; see the module docstring."""

    ds: xr.Dataset

    @property
    def scenarios(self) -> list[str]:
        return [str(s) for s in self.ds["scenario"].values]

    @property
    def places(self) -> list[str]:
        return [str(p) for p in self.ds["place"].values]

    def aggregate(self, by: str) -> xr.Dataset:
        """The per-place variables summed per draw over ``by`` (region, county,
        centrality_class or nation): the ``place`` dimension becomes the group codes."""
        if by not in AGGREGATES:
            raise DataError(f"aggregate by one of {list(AGGREGATES)}, got {by!r}")
        names = [v for v in (*PER_PLACE, "age_group_population", "pyramid") if v in self.ds]
        data = self.ds[names]
        if by == "nation":
            groups = xr.DataArray(np.full(self.ds.sizes["place"], "nation"), dims="place")
        else:
            groups = self.ds[by].astype(str)
        out = data.groupby(groups.rename("group")).sum("place", skipna=False)
        return out.rename(group="place")

    def quantiles(
        self, variable: str = "population", *, by: str | None = None,
        masses: tuple[float, ...] = INTERVALS,
    ) -> pd.DataFrame:  # fmt: skip
        """Mean, median and equal-tailed intervals per scenario, place (or group) and year."""
        data = self.aggregate(by) if by else self.ds
        if variable not in data:
            raise DataError(f"no projected variable {variable!r}; have {sorted(data.data_vars)}")
        da = data[variable]
        if variable in ("births", "deaths", "net_migration"):
            da = da.isel(year=slice(0, -1))  # flows of the last year move past the horizon
        frame = interval_frame(da, masses=masses)
        keep = [c for c in frame.columns if c not in ("name", "region", "county",
                                                      "centrality_class")]  # fmt: skip
        return frame[keep]

    def centrality_table(self, scenario: str | None = None) -> pd.DataFrame:
        """The centrality coefficient per year (fitted and projected): mean, median,
        equal-tailed intervals, ``p_negative`` (share of draws below 0) and ``fitted``."""
        if "centrality_coefficient" not in self.ds:
            raise DataError("this projection holds no centrality coefficient (the migration "
                            "spec has no centrality term, or it was made before attrbayes "
                            "stored the coefficient)")  # fmt: skip
        name = scenario or self.scenarios[0]
        if name not in self.scenarios:
            raise DataError(f"no scenario {name!r} in this projection; have {self.scenarios}")
        da = self.ds["centrality_coefficient"].sel(scenario=name, drop=True)
        frame = interval_frame(da.rename(coefficient_year="year"))
        frame["p_negative"] = (da < 0).mean("draw").to_numpy()
        last = int(self.ds.attrs["centrality_last_fitted_year"])
        frame["fitted"] = frame["year"] <= last
        return frame

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write as NetCDF (atomically; refuses to replace unless asked)."""
        target = Path(path)
        if target.exists() and not overwrite:
            raise DataError(f"{target} already exists; pass overwrite=True (CLI: --force)")
        ds = self.ds.copy()
        ds.attrs["attrbayes_projection_schema"] = PROJECTION_SCHEMA
        atomic_write_with(target, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))
        return target

    @staticmethod
    def load(path: str | Path) -> ProjectionResult:
        source = Path(path)
        ds = open_saved(source, "projection",
                        lambda p: xr.open_dataset(p, engine="h5netcdf").load())  # fmt: skip
        schema = ds.attrs.get("attrbayes_projection_schema")
        if schema is None or int(schema) != PROJECTION_SCHEMA:
            raise DataError(f"{source}: projection schema {schema} is not supported")
        for coord in ("place", "scenario", "name", "region", "county", "sex", "age_group"):
            if coord in ds.coords:
                ds = ds.assign_coords({coord: ds[coord].astype(str)})
        return ProjectionResult(ds)


def example_projection(
    *, n_draws: int = 50, n_places: int = 6, first_year: int = 2024, last_year: int = 2030,
    scenarios: tuple[str, ...] = ("neutral", "historical"), seed: int = 0,
) -> ProjectionResult:  # fmt: skip
    """A small, internally consistent fake projection for testing outputs (not a model run):
    population follows its flows exactly, age groups and pyramids sum to population."""
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, last_year + 1)
    places = [f"{1101 + i:04d}" for i in range(n_places)]
    shape = (len(scenarios), n_draws, n_places, len(years))
    base = rng.uniform(500, 50_000, n_places)
    births = np.empty(shape)
    deaths = np.empty(shape)
    nm = np.empty(shape)
    pop = np.empty(shape)
    pop[..., 0] = base[None, None, :]
    for t in range(len(years)):
        births[..., t] = pop[..., t] * rng.normal(0.011, 0.001, shape[:3])
        deaths[..., t] = pop[..., t] * rng.normal(0.009, 0.001, shape[:3])
        nm[..., t] = pop[..., t] * rng.normal(0.002, 0.006, shape[:3])
        if t + 1 < len(years):
            pop[..., t + 1] = pop[..., t] + births[..., t] - deaths[..., t] + nm[..., t]
    for flow in (births, deaths, nm):
        flow[..., -1] = np.nan
    ages = np.arange(106)
    shares = np.exp(-ages / 40.0)
    shares /= shares.sum()
    sex_share = np.array([0.5, 0.5])
    pyramid_years = years[[0, -1]]
    pyr = pop[..., [0, -1], None, None] * sex_share[:, None] * shares[None, :]
    group_pop = np.stack(
        [pop * shares[lo : hi + 1].sum() for lo, hi in AGE_GROUPS_PROJECTION.values()], axis=-1
    )
    jobs_private = pop * 0.35 * rng.normal(1, 0.02, shape)
    jobs_public = pop * 0.15 * np.ones(shape)
    dims = ("scenario", "draw", "place", "year")
    history_years = np.arange(first_year - 10, first_year)
    ds = xr.Dataset(
        {
            "population": (dims, pop),
            "births": (dims, births),
            "deaths": (dims, deaths),
            "net_migration": (dims, nm),
            "jobs_private": (dims, jobs_private),
            "jobs_public": (dims, jobs_public),
            "age_group_population": ((*dims, "age_group"), group_pop),
            "pyramid": (("scenario", "draw", "place", "pyramid_year", "sex", "age"), pyr),
            "history_population": (
                ("place", "history_year"),
                base[:, None] * np.linspace(0.9, 1.0, len(history_years))[None, :],
            ),
            "history_jobs": (
                ("place", "history_year"),
                base[:, None] * 0.5 * np.linspace(0.95, 1.0, len(history_years))[None, :],
            ),
        },
        coords={
            "scenario": list(scenarios),
            "draw": np.arange(n_draws),
            "place": places,
            "year": years,
            "age_group": list(AGE_GROUPS_PROJECTION),
            "pyramid_year": pyramid_years,
            "sex": ["female", "male"],
            "age": ages,
            "history_year": history_years,
            "name": ("place", [f"Place {p}" for p in places]),
            "region": ("place", [f"R{i // 2}" for i in range(n_places)]),
            "county": ("place", ["11"] * (n_places // 2) + ["15"] * (n_places - n_places // 2)),
            "centrality_class": ("place", [1 + i % 6 for i in range(n_places)]),
        },
        attrs={"assumptions": "example", "kind": "example (not a model run)"},
    )
    return ProjectionResult(ds)
