"""The hierarchical net-migration model (MODEL.md sections 2 and 6).

For unit i in group g(i) and year t::

    NM[i,t] ~ StudentT(nu, mu[i,t], sigma[i,t])
    mu[i,t] = a + b0 VRA[i,t] + b1 VRA[i,t-1] + b2 VRA[i,t-2] + c[t] C[i] + d DS[i,t]
              (+ s ST[i]) (+ g . mean_t X[i,t]) + year[t] + group[g(i)] + place[i]
              (+ ar[i,t])
    sigma[i,t]^2 = floor^2 + (s_noise * (pop[i,t] / 10,000)^-k)^2

Residential attractiveness is ``group + place (+ ar)``. With ``[attractiveness] ar1`` it
changes over time: ``ar`` is a stationary AR(1) per place whose persistence ``ar_phi`` is
estimated, integrated out of the likelihood by a Kalman filter
(``components.ar1_attractiveness``) and sampled afterwards from its conditional posterior.
With ``[hierarchy] contextual`` the place means of the time-varying terms enter as
contextual terms (Mundlak), so that the place effects are uncorrelated with them: the
terms' coefficients are then the within-place effects, and within + contextual the
between-place ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from attrbayes.exceptions import DataError, SpecError
from attrbayes.models.base import BayesModel
from attrbayes.models.components import (
    ar1_attractiveness,
    floor_and_ar_scale,
    hierarchical_effect,
    informative_path,
    informative_places,
    informative_years,
    likelihood,
    nested_place_effects,
    noise_sd,
    time_varying_coefficient,
)

GROUP_OF_LEVEL = {"municipality": "region", "region": "county", "county": None}
AUTO_CENTRED_MIN_PLACES = 50


class MigrationModel(BayesModel):
    """Hierarchical net-migration model; see the module docstring for the equation."""

    kind = "migration"

    # -- validation ------------------------------------------------------------------
    def validate(self) -> None:
        spec, design = self.spec, self.design
        if spec.kind != self.kind:
            raise SpecError(f"spec {spec.name} is of kind {spec.kind!r}, not {self.kind!r}")
        if tuple(design.terms) != spec.design_terms:
            raise SpecError(
                f"design terms {list(design.terms)} differ from spec {spec.name}'s "
                f"{list(spec.design_terms)}; build the design from this spec"
            )
        years = self.years
        if spec.attractiveness.ar1 and len(years) < 3:
            raise SpecError(f"spec {spec.name}: an AR(1) needs at least 3 years, got {len(years)}")
        if spec.hierarchy.year and len(years) < 2:
            raise SpecError(f"spec {spec.name}: year effects need at least 2 years")
        if spec.time_varying.immigration and not spec.has_centrality:
            raise SpecError(
                f"spec {spec.name}: [time_varying] immigration needs the 'centrality' term"
            )

    # -- indexing ---------------------------------------------------------------------
    @property
    def years(self) -> np.ndarray:
        """The window's years: gap years too, so that year effects and the centrality
        process run through them (their values there come from the process alone)."""
        return self.design.window

    @property
    def group_column(self) -> str | None:
        column = GROUP_OF_LEVEL[self.design.level]
        return column if self.spec.hierarchy.group and column else None

    def coords(self) -> dict[str, np.ndarray]:
        frame = self.design.frame
        coords = {
            "obs": np.arange(len(frame)),
            "place": np.sort(frame["place"].unique()),
            "year": self.years,
        }
        if self.group_column:
            coords["group"] = np.sort(frame[self.group_column].unique())
        return coords

    def centred_steps(self) -> bool:
        """Whether the centrality process samples its yearly steps (random walk) or values
        (AR(1), deviations) centred, rather than standardised innovations."""
        choice = self.spec.hierarchy.parameterisation
        if choice != "auto":
            return choice == "centred"
        tv = self.spec.time_varying
        if tv.centrality == "ar1" and self.spec.has_centrality:
            frame = self.design.frame
            year_idx = pd.Index(self.years).get_indexer(frame["year"])
            place_idx = pd.Index(np.sort(frame["place"].unique())).get_indexer(frame["place"])
            covariate = self.national_immigration() if tv.immigration else None
            return informative_path(self.design.y, self.design.matrix().to_numpy(dtype=float),
                                    year_idx, place_idx,
                                    frame["centrality"].to_numpy(dtype=float),
                                    covariate)  # fmt: skip
        # with an immigration link the walk's (or deviations') share along the covariate is
        # removed, so the data leave one direction of them to the prior: a funnel with
        # their scale when centred
        return self._many_places() and not tv.immigration

    def _many_places(self) -> bool:
        return self.design.frame["place"].nunique() >= AUTO_CENTRED_MIN_PLACES

    def default_geometry(self) -> dict[str, object]:
        """The parameterisation chosen from the data (see ``parameterisation`` in specs):
        centred centrality steps, centred year effects, and the places sampled centred."""
        coords = self.coords()
        frame = self.design.frame
        year_idx = pd.Index(coords["year"]).get_indexer(frame["year"])
        place_idx = pd.Index(coords["place"]).get_indexer(frame["place"])
        steps = self.centred_steps()
        year_effects = steps
        if self.spec.hierarchy.parameterisation == "auto":
            if self.spec.time_varying.centrality == "ar1":  # judged apart from the path
                year_effects = self._many_places()
            if year_effects:
                X = self.design.matrix().to_numpy(dtype=float)
                year_effects = informative_years(self.design.y, X, year_idx)
        places: list[str] = []  # with an AR part the place effects are integrated out
        if self.spec.hierarchy.place and not self.spec.attractiveness.ar1:
            places = [str(p) for p in coords["place"][self.centred_places(coords, place_idx)]]
        return {
            "steps_centred": steps,
            "year_effects_centred": bool(year_effects),
            "places_centred": places,
        }

    def place_groups(self, coords: dict[str, np.ndarray]) -> np.ndarray | None:
        """Index of each place's group, or None without group effects."""
        if not self.group_column:
            return None
        groups = self.design.frame.groupby("place")[self.group_column].first()
        return pd.Index(coords["group"]).get_indexer(groups.reindex(coords["place"]))

    def centred_places(self, coords: dict[str, np.ndarray], place_idx: np.ndarray) -> np.ndarray:
        """Per place: centred (data-rich) or non-centred parameterisation of its effect."""
        choice = self.spec.hierarchy.parameterisation
        if choice != "auto":
            return np.full(len(coords["place"]), choice == "centred")
        X = self.design.matrix().to_numpy(dtype=float)
        population = pd.Series(self.design.size, index=self.design.frame["place"])
        population = population.groupby(level=0).mean()
        return informative_places(
            self.design.y, X, place_idx, population.reindex(coords["place"]).to_numpy()
        )

    def national_immigration(self) -> np.ndarray:
        rates = self.design.national_rates()
        if np.isnan(rates).any():
            missing = self.years[np.isnan(rates)].tolist()
            raise DataError(f"spec {self.spec.name}: the national net immigration rate is "
                            f"unknown in years {missing} of the window")  # fmt: skip
        return rates

    def place_constant_terms(self) -> list[str]:
        """Slope terms that do not vary over years within a place (e.g. students share)."""
        frame = self.design.frame
        varies = frame.groupby("place")[list(self.spec.slope_terms)].nunique().max() > 1
        return [t for t in self.spec.slope_terms if not varies[t]]

    # -- the graph --------------------------------------------------------------------
    def build(self) -> pm.Model:
        """The PyMC model. Everything constant within a place (intercept, centrality level
        x C, place-constant slopes) forms the place's expected level, which the place
        effects are centred on, so intercept and slopes stay uncorrelated with the
        effects of data-rich places."""
        spec, priors, frame = self.spec, self.priors, self.design.frame
        coords = self.coords()
        place_idx = pd.Index(coords["place"]).get_indexer(frame["place"])
        year_idx = pd.Index(coords["year"]).get_indexer(frame["year"])
        first_row = frame.groupby("place").head(1).set_index("place").reindex(coords["place"])
        constant = self.place_constant_terms()
        geometry = self.geometry
        with pm.Model(coords=coords) as model:
            level = priors["intercept"].create("intercept") + pt.zeros(len(coords["place"]))
            mu = pt.zeros(len(frame))
            for term in spec.slope_terms:
                coef = priors[term].create(term)
                if term in constant:
                    level = level + coef * first_row[term].to_numpy(dtype=float)
                else:
                    mu = mu + coef * frame[term].to_numpy(dtype=float)
            if spec.has_centrality:
                mean, path = time_varying_coefficient(
                    "centrality",
                    priors,
                    kind=spec.time_varying.centrality,
                    dim="year",
                    centred=bool(geometry["steps_centred"]),
                    covariate=self.national_immigration()
                    if spec.time_varying.immigration
                    else None,
                )
                level = level + mean * first_row["centrality"].to_numpy(dtype=float)
                mu = mu + (path - mean)[year_idx] * frame["centrality"].to_numpy(dtype=float)
            if spec.hierarchy.year:
                year_effect = hierarchical_effect(
                    "year_effect", priors, "sigma_year", "year",
                    centred=bool(geometry["year_effects_centred"]),
                    observed=np.isin(coords["year"], self.design.fitted_years),
                )  # fmt: skip
                mu = mu + year_effect[year_idx]
            place_sd = None
            if spec.hierarchy.place and spec.attractiveness.ar1:
                place_sd = priors["sigma_place"].create("sigma_place")  # integrated out below
            if spec.hierarchy.place and not spec.attractiveness.ar1:
                level = nested_place_effects(
                    priors,
                    level,
                    place_group=self.place_groups(coords),
                    centred=np.isin(coords["place"], list(geometry["places_centred"])),
                )
            elif self.group_column:
                group = hierarchical_effect("group_effect", priors, "sigma_group", "group")
                level = level + group[self.place_groups(coords)]
            mu = mu + level[place_idx]
            mu = pm.Deterministic("mu", mu, dims="obs")  # not stored; see BayesModel.unstored
            if spec.attractiveness.ar1:
                floor, ar_scale = floor_and_ar_scale(priors)
                sigma = noise_sd(priors, self.design.size, spec.likelihood, floor)
                mu, sigma = ar1_attractiveness(
                    priors, ar_scale, place_sd, mu, sigma**2, self.design.y, place_idx, year_idx,
                    len(coords["place"]), len(coords["year"]),
                )  # fmt: skip
            else:
                sigma = noise_sd(priors, self.design.size, spec.likelihood)
            likelihood("y", priors, spec.likelihood, mu, sigma, self.design.y, "obs")
        return model
