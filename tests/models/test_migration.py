"""The hierarchical migration model: structure, validation and the result machinery.

Draws here come from the prior (``SamplerConfig(sampler="prior")``): fast, and enough to
test shapes, intervals, ranks and persistence. Real sampling is in test_migration_mcmc.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from attrbayes.config import SamplerConfig, load_spec, parse_spec
from attrbayes.exceptions import ConvergenceError, ConvergenceWarning, DataError, SpecError
from attrbayes.features.design import build_design, compute_features
from attrbayes.models.components import ar1_matrix
from attrbayes.models.migration import MigrationModel
from attrbayes.priors import load_prior_set
from attrbayes.results import FitResult, MigrationFit


@pytest.fixture(scope="module")
def features(small_synthetic):
    return compute_features(small_synthetic.panel, "municipality")


@pytest.fixture(scope="module")
def model(features):
    spec = load_spec("migration_2022")
    return MigrationModel(build_design(features, spec), spec)


@pytest.fixture(scope="module")
def prior_fit(model) -> MigrationFit:
    return model.fit(SamplerConfig(sampler="prior", chains=2, draws=100))


def _spec(text: str):
    base = 'kind = "migration"\nterms = ["vra_t", "vra_t1", "vra_t2", "centrality", "ds"]\n'
    return parse_spec(base + text, name="test_spec", where="test")


def test_graph_has_the_specified_parts(features):
    spec = _spec('centrality = "jobs"\n')  # sampled place effects (no AR part)
    model = MigrationModel(build_design(features, spec), spec)
    built = model.build()
    names = {v.name for v in built.free_RVs}
    assert {"intercept", "vra_t", "vra_t1", "vra_t2", "ds", "centrality", "nu"} <= names
    assert {"sigma_year", "sigma_group", "sigma_place", "noise_scale", "noise_floor"} <= names
    # 40 places < 50: year effects and the walk are non-centred; place effects are
    # centred where the place's own data are informative, non-centred elsewhere
    assert {"year_effect_raw", "centrality_z", "group_effect_raw"} <= names
    assert {"place_level", "place_effect_z"} & names
    assert len(built.coords["place"]) == 40
    assert list(built.coords["year"]) == list(range(2003, 2011))
    assert len(built.coords["group"]) == model.design.frame["region"].nunique()
    assert "centrality_path" in {v.name for v in built.deterministics}


def test_switches_change_the_graph(features):
    def names(text: str) -> set[str]:
        spec = _spec(text)
        built = MigrationModel(build_design(features, spec), spec).build()
        return {v.name for v in built.free_RVs}

    centred = names('[hierarchy]\nparameterisation = "centred"\n')
    assert {"year_effect", "centrality_step", "place_level"} <= centred
    assert not {"year_effect_raw", "place_effect_z"} & centred
    assert "place_effect_z" in names('[hierarchy]\nparameterisation = "non_centred"\n')
    pooled = names(
        "[hierarchy]\nyear = false\ngroup = false\nplace = false\n"
        '[time_varying]\ncentrality = "constant"\n'
        '[likelihood]\nfamily = "normal"\nnoise = "constant"\n'
    )
    assert pooled == {"intercept", "vra_t", "vra_t1", "vra_t2", "ds", "centrality", "noise_floor"}
    assert {"ar_phi", "noise_ar_scale", "noise_ar_angle"} <= names("[attractiveness]\nar1 = true\n")
    assert "centrality_immigration" in names("[time_varying]\nimmigration = true\n")
    assert "noise_exponent" in names('[likelihood]\nnoise = "size_exponent"\n')
    assert "centrality_year" in names(
        '[hierarchy]\nparameterisation = "centred"\n[time_varying]\ncentrality = "hierarchical"\n'
    )
    ar1 = '[time_varying]\ncentrality = "ar1"\n'
    assert {"centrality_phi", "centrality_year"} <= names(
        '[hierarchy]\nparameterisation = "centred"\n' + ar1
    )
    assert {"centrality_phi", "centrality_z"} <= names(ar1)  # 40 places: non-centred


def test_constructor_validates(features):
    spec = load_spec("migration_2022")
    other = build_design(features, load_spec("migration_jobs"))
    with pytest.raises(SpecError, match="design terms"):
        MigrationModel(other, spec)
    jobs_only = parse_spec(
        'terms = ["vra_t"]\n[time_varying]\nimmigration = true\n', name="x", where="x"
    )
    with pytest.raises(SpecError, match="immigration needs the 'centrality' term"):
        MigrationModel(build_design(features, jobs_only), jobs_only)
    ar = _spec("[attractiveness]\nar1 = true\n")
    short = build_design(features, ar, years=(2009, 2010))
    with pytest.raises(SpecError, match="at least 3 years"):
        MigrationModel(short, ar)


def test_ar1_matrix_gives_a_stationary_ar1():
    """Hand check: Var(z_t) = 1/(1-phi^2) for all t and Corr(z_t, z_t+1) = phi."""
    phi = 0.6
    L = ar1_matrix(np.float64(phi), 5).eval()
    cov = L @ L.T
    np.testing.assert_allclose(np.diag(cov), 1 / (1 - phi**2))
    np.testing.assert_allclose(cov[1, 2] / cov[1, 1], phi)
    np.testing.assert_allclose(cov[0, 3] / cov[0, 0], phi**3)
    assert np.allclose(np.triu(L, 1), 0)


@pytest.mark.parametrize("kind", ["random_walk", "hierarchical"])
def test_immigration_link_is_orthogonal_to_the_process(kind):
    """With a covariate the path is level + slope x c + a remainder orthogonal to the
    centred covariate c, so that the slope alone carries c's share (identified)."""
    import pymc as pm

    from attrbayes.models.components import time_varying_coefficient

    covariate = np.array([0.002, 0.004, 0.009, 0.008, 0.003, 0.005])
    priors = load_prior_set("weakly_informative")
    with pm.Model(coords={"year": np.arange(2000, 2006)}):
        level, path = time_varying_coefficient(
            "centrality", priors, kind=kind, dim="year", covariate=covariate
        )
        draws = pm.draw([level, path, pm.modelcontext(None)["centrality_immigration"]],
                        draws=50, random_seed=1)  # fmt: skip
    c = covariate - covariate.mean()
    levels, paths, slopes = draws
    remainder = paths - levels[:, None] - slopes[:, None] * c[None]
    np.testing.assert_allclose(remainder @ c, 0.0, atol=1e-12)
    assert np.abs(remainder).max() > 0  # the process still varies


@pytest.mark.parametrize("centred", [True, False])
def test_ar1_coefficient_by_hand(centred):
    """The AR(1) path around level + slope x c (c: centred immigration) with stationary
    sd sigma: start N(0, sigma), then N(phi e[t-1], sigma sqrt(1 - phi^2)). Centred, the
    yearly values' prior density matches the hand-computed one; non-centred, standardised
    innovations z map to the path by the same recursion."""
    import pymc as pm
    from scipy import stats

    from attrbayes.models.components import time_varying_coefficient

    covariate = np.array([0.002, 0.004, 0.009, 0.008, 0.003, 0.005])
    c = covariate - covariate.mean()
    priors = load_prior_set("weakly_informative")
    with pm.Model(coords={"year": np.arange(2000, 2006)}) as model:
        time_varying_coefficient("centrality", priors, kind="ar1", dim="year",
                                 centred=centred, covariate=covariate)  # fmt: skip
    level, phi, sigma, slope = 0.02, 0.7, 0.004, -2.0
    e = np.array([0.003, 0.001, -0.002, -0.004, 0.0, 0.002])
    innovation = sigma * np.sqrt(1 - phi**2)
    point = {"centrality": level, "centrality_phi_logodds__": np.log(phi / (1 - phi)),
             "centrality_sigma_log__": np.log(sigma), "centrality_immigration": slope}  # fmt: skip
    path = level + slope * c + e
    if centred:
        point["centrality_year"] = path
        got = model.compile_logp(vars=[model["centrality_year"]])(point)
        expected = stats.norm(0, sigma).logpdf(e[0]) + stats.norm(
            phi * e[:-1], innovation
        ).logpdf(e[1:]).sum()  # fmt: skip
        assert got == pytest.approx(expected)
    else:
        steps = (e[1:] - phi * e[:-1]) / innovation
        point["centrality_z"] = np.concatenate([[e[0] / sigma], steps])
    (output,) = model.replace_rvs_by_values([model["centrality_path"]])
    evaluate = model.compile_fn(output, inputs=model.value_vars, on_unused_input="ignore")
    np.testing.assert_allclose(evaluate(point), path, atol=1e-12)


def test_informative_path_reads_the_spread_of_yearly_slopes():
    """100 places x 12 years, y = c[t] C + place effect + noise (sd 0.01, so a year's slope
    has sampling sd about 0.0035): coefficients spread by 0.02 around their level are
    informative; spread by 0.001 they are not; and spread by 0.02 along a covariate that
    the link explains leave nothing for the process when the covariate is given."""
    from attrbayes.models.components import informative_path

    rng = np.random.default_rng(0)
    places, years = np.meshgrid(np.arange(100), np.arange(12), indexing="ij")
    place_idx, year_idx = places.ravel(), years.ravel()
    centrality = np.linspace(-0.3, 0.3, 100)[place_idx]
    covariate = np.linspace(0.002, 0.01, 12)
    X = np.column_stack([np.ones(len(place_idx)), centrality])
    effects = rng.normal(0, 0.005, 100)[place_idx]

    def y(path):
        return path[year_idx] * centrality + effects + rng.normal(0, 0.01, len(place_idx))

    wide = 0.02 + rng.normal(0, 0.02, 12)
    assert informative_path(y(wide), X, year_idx, place_idx, centrality)
    narrow = 0.02 + rng.normal(0, 0.001, 12)
    assert not informative_path(y(narrow), X, year_idx, place_idx, centrality)
    linked = 0.02 - 4 * (covariate - covariate.mean()) + rng.normal(0, 0.001, 12)
    observed = y(linked)
    assert informative_path(observed, X, year_idx, place_idx, centrality)
    assert not informative_path(observed, X, year_idx, place_idx, centrality, covariate)


def test_summary_layout_and_intervals(prior_fit):
    table = prior_fit.summary()
    assert list(table.columns[:5]) == ["term", "estimate", "sd", "lower", "upper"]
    assert {"rhat", "ess_bulk", "ess_tail"} <= set(table.columns)
    assert table["term"].tolist()[:6] == [
        "intercept",
        "vra_t",
        "vra_t1",
        "vra_t2",
        "centrality",
        "ds",
    ]
    assert (table["lower"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["upper"]).all()
    paths = prior_fit.summary(paths=True)["term"]
    assert "centrality_path[2003]" in set(paths)
    assert "year_effect[2010]" in set(paths)


def test_a_random_walk_level_is_the_mean_of_its_path(features, prior_fit):
    """A walk has no level of its own: ``centrality`` is its mean over the fitted years.
    An AR(1)'s level is the long-run mean it reverts to, not its mean over the years."""
    spec = load_spec("migration_2022_rw")
    walk = MigrationModel(build_design(features, spec), spec).fit(
        SamplerConfig(sampler="prior", chains=1, draws=50)
    )
    np.testing.assert_allclose(walk.draws("centrality"),
                               walk.draws("centrality_path").mean("year"), atol=1e-10)  # fmt: skip
    assert prior_fit.spec.time_varying.centrality == "ar1"
    gap = prior_fit.draws("centrality") - prior_fit.draws("centrality_path").mean("year")
    assert float(abs(gap).max()) > 1e-4


def test_attractiveness_is_group_plus_place_effect(prior_fit, model):
    table = prior_fit.attractiveness(by="year").set_index(["place", "year"])
    group = prior_fit.draws("group_effect")
    state = prior_fit.attractiveness_state  # place effects and AR part, integrated out
    frame = model.design.frame
    code = frame["place"].iloc[0]
    region = frame.loc[frame["place"] == code, "region"].iloc[0]
    draws = (group.sel(group=region) + state["place_effect"].sel(place=code)
             + state["ar"].sel(place=code, year=2005)) * 100  # fmt: skip
    assert table.loc[(code, 2005), "pct_median"] == pytest.approx(float(draws.median()))
    pop = frame.set_index(["place", "year"]).loc[(code, 2005), "population"]
    assert table.loc[(code, 2005), "persons_median"] == pytest.approx(
        float((draws / 100 * pop).median())
    )
    nested = ["lower_95", "lower_80", "lower_50", "median", "upper_50", "upper_80", "upper_95"]
    values = table[[f"pct_{c}" for c in nested]].to_numpy()
    assert (np.diff(values, axis=1) >= -1e-12).all()


def test_period_means_are_taken_per_draw(prior_fit):
    period = prior_fit.attractiveness(years=(2004, 2006)).set_index("place")
    yearly = prior_fit.attractiveness(years=(2004, 2006), by="year")
    assert len(period) == 40
    assert set(yearly["year"]) == {2004, 2005, 2006}
    # the period mean is taken per draw, then the median
    per_draw = prior_fit.latent_attractiveness.sel(year=slice(2004, 2006)).mean("year")
    np.testing.assert_allclose(period["pct_median"],
                               per_draw.median("draw").sel(place=period.index) * 100)  # fmt: skip
    with pytest.raises(DataError, match="no fitted years in 2030-2031"):
        prior_fit.attractiveness(years=(2030, 2031))


def test_rank_distribution(prior_fit):
    ranks = prior_fit.ranks(top=5)
    assert len(ranks) == 40
    assert ranks["rank_median"].between(1, 40).all()
    # every draw puts exactly five places in its top five
    assert ranks["p_top_5"].sum() == pytest.approx(5.0)
    assert ranks["p_bottom_5"].sum() == pytest.approx(5.0)
    assert (ranks["rank_lower_80"] <= ranks["rank_median"]).all()
    assert ranks["rank_median"].is_monotonic_increasing
    with pytest.raises(DataError, match="top must be between"):
        prior_fit.ranks(top=0)


def test_save_load_round_trip_keeps_everything(prior_fit, tmp_path):
    path = prior_fit.save(tmp_path / "fit.nc")
    loaded = FitResult.load(path)
    assert isinstance(loaded, MigrationFit)
    assert loaded.spec == prior_fit.spec
    assert loaded.priors == prior_fit.priors
    assert loaded.sampler == prior_fit.sampler
    pd.testing.assert_frame_equal(loaded.design.frame, prior_fit.design.frame)
    assert loaded.design.terms == prior_fit.design.terms
    assert loaded.design.years == prior_fit.design.years
    xr.testing.assert_allclose(loaded.posterior, prior_fit.posterior)
    assert loaded.tree.attrs["seed"] == prior_fit.sampler.seed
    assert "pymc" in loaded.tree.attrs["package_versions"]
    pd.testing.assert_frame_equal(loaded.summary(), prior_fit.summary())
    with pytest.raises(DataError, match="already exists"):
        prior_fit.save(path)


def test_load_detects_altered_files(prior_fit, tmp_path):
    tree = prior_fit.tree.copy()
    tree.attrs["data_hash"] = "0" * 64
    FitResult(tree, prior_fit.spec, prior_fit.priors, prior_fit.design, prior_fit.sampler).save(
        tmp_path / "bad.nc"
    )
    with pytest.raises(DataError, match="does not match its hash"):
        FitResult.load(tmp_path / "bad.nc")
    tree.attrs["attrbayes_result_schema"] = 99
    FitResult(tree, prior_fit.spec, prior_fit.priors, prior_fit.design, prior_fit.sampler).save(
        tmp_path / "old.nc"
    )
    with pytest.raises(DataError, match="schema 99 is not supported"):
        FitResult.load(tmp_path / "old.nc")
    with pytest.raises(DataError, match="no saved fit"):
        FitResult.load(tmp_path / "missing.nc")


def test_gate_refuses_draws_that_are_not_mcmc(prior_fit):
    report = prior_fit.convergence()
    assert not report.passed
    assert any("did not come from MCMC" in p for p in report.problems)
    with pytest.warns(ConvergenceWarning, match="diagnostics gate FAILED"):
        report.enforce()
    with pytest.raises(ConvergenceError, match="worst parameters"):
        report.enforce(strict=True)


def test_published_priors_load_with_provenance():
    priors = load_prior_set("published_2022")
    assert "Vareide" in priors.provenance["source"]
    assert priors["vra_t"].kwargs == {"mu": 0.1361, "sigma": 0.027}
    weak = load_prior_set()
    assert weak.name == "weakly_informative"


def test_region_level_uses_counties_as_groups(small_synthetic):
    spec = load_spec("migration_2022")
    design = build_design(compute_features(small_synthetic.panel, "region"), spec)
    built = MigrationModel(design, spec).build()
    assert set(built.coords["place"]) == set(small_synthetic.panel.places["region"])
    assert set(built.coords["group"]) == set(small_synthetic.panel.places["county"])


def test_pooled_model_uses_posterior_residuals(features):
    spec = load_spec("migration_2022_pooled")
    design = build_design(features, spec)
    fit = MigrationModel(design, spec).fit(SamplerConfig(sampler="prior", chains=1, draws=50))
    resid = fit.residual_draws()
    mu = fit.mu_draws()
    np.testing.assert_allclose(resid + mu, np.broadcast_to(design.y, resid.shape))
    # mu is the linear predictor: intercept + slopes x regressors + centrality x C
    draw0 = {k: float(fit.draws(k)[0]) for k in ("intercept", "vra_t", "vra_t1", "vra_t2", "ds")}
    frame = design.frame
    expected = draw0["intercept"] + sum(
        draw0[t] * frame[t] for t in ("vra_t", "vra_t1", "vra_t2", "ds")
    )
    expected = expected + float(fit.draws("centrality")[0]) * frame["centrality"]
    np.testing.assert_allclose(mu.isel(draw=0), expected, rtol=1e-8)
    table = fit.attractiveness()
    assert len(table) == 40
    by_year = fit.attractiveness(by="year").set_index(["place", "year"])
    code = frame["place"].iloc[0]
    first = frame.index[(frame["place"] == code) & (frame["year"] == 2003)][0]
    assert by_year.loc[(code, 2003), "pct_median"] == pytest.approx(
        float(resid.isel(obs=first).median()) * 100
    )


def test_informative_places_are_the_data_rich_ones():
    """Large places (small noise) have their level pinned down by their own data and are
    centred; small places (noise of a rate ~ 1/sqrt(population)) are not."""
    from attrbayes.models.components import informative_places

    rng = np.random.default_rng(0)
    population = np.where(np.arange(40) < 20, 100_000.0, 300.0)
    levels = rng.normal(0, 0.003, 40)
    idx = np.repeat(np.arange(40), 10)
    sd = 0.5 / np.sqrt(population)
    y = levels[idx] + rng.normal(0, 1, len(idx)) * sd[idx]
    flags = informative_places(y, np.ones((len(y), 1)), idx, population)
    assert flags[:20].all()
    assert not flags[20:].any()


def test_time_varying_attractiveness_varies_by_year(prior_fit):
    yearly = prior_fit.attractiveness(by="year").set_index(["place", "year"])
    assert yearly["pct_median"].groupby(level="place").nunique().max() > 1
    again = prior_fit.attractiveness_state  # cached: the same draws every time
    assert again is prior_fit.attractiveness_state


def test_attractiveness_at_chosen_draws_equals_the_full_draws_there(model):
    """A projection computes the AR state for its draws only: each draw has its own
    random stream, so the state and attractiveness at a subset are the full ones there."""
    prior_fit = model.fit(SamplerConfig(sampler="prior", chains=2, draws=100))  # uncached
    index = np.array([7, 150, 3])
    latent, state = prior_fit.attractiveness_at(index)  # before anything is cached
    assert "latent_attractiveness" not in prior_fit.__dict__
    full = prior_fit.attractiveness_state
    for name in ("place_effect", "ar"):
        np.testing.assert_allclose(state[name], full[name].isel(draw=index), rtol=1e-12)
    np.testing.assert_allclose(latent, prior_fit.latent_attractiveness.isel(draw=index),
                               rtol=1e-12)  # fmt: skip
    assert list(latent["draw"].values) == list(index)


def test_attractiveness_at_chosen_draws_without_place_effects(features):
    """Without place or group effects attractiveness is the posterior residual: chosen
    draws are selected from it (projections of such fits need them)."""
    spec = _spec("[hierarchy]\nplace = false\ngroup = false\n[attractiveness]\nar1 = false\n")
    fit = MigrationModel(build_design(features, spec), spec).fit(
        SamplerConfig(sampler="prior", chains=1, draws=20)
    )
    latent, state = fit.attractiveness_at(np.array([4, 1]))
    assert state is None
    np.testing.assert_array_equal(latent, fit.latent_attractiveness.isel(draw=[4, 1]))


def test_ranked_attractiveness_carries_names_and_ranks(prior_fit, small_synthetic):
    table = prior_fit.ranked_attractiveness(top=5)
    names = small_synthetic.panel.places.set_index("place")["name"]
    assert (table["name"] == table["place"].map(names)).all()
    assert {"pct_median", "persons_median", "rank_median", "p_top_5"} <= set(table.columns)
    assert table["rank_median"].is_monotonic_increasing
    assert len(table) == 40


def test_thinning_keeps_at_most_the_asked_draws():
    from attrbayes.results import thin

    post = xr.Dataset({"a": (("chain", "draw"), np.zeros((4, 100)))})
    assert thin(post, 150).sizes["draw"] == 34  # every 3rd draw: 4 x 34 = 136 <= 150
    assert thin(post, 1000).sizes["draw"] == 100
    assert thin(post, None).sizes["draw"] == 100


def test_a_saved_fit_rebuilds_the_graph_it_was_sampled_with(features, prior_fit):
    import json

    # with an AR part no place effect is sampled, so no place is centred
    assert json.loads(prior_fit.tree.attrs["geometry"])["places_centred"] == []
    spec = _spec('[hierarchy]\nparameterisation = "centred"\n')  # sampled, centred places
    prior_fit = MigrationModel(build_design(features, spec), spec).fit(
        SamplerConfig(sampler="prior", chains=1, draws=20)
    )
    stored = json.loads(prior_fit.tree.attrs["geometry"])
    assert stored["places_centred"]
    assert set(stored) == {"steps_centred", "year_effects_centred", "places_centred"}
    assert prior_fit.model().geometry == stored
    # the stored choice wins over what the data would suggest today
    tree = prior_fit.tree.copy()
    tree.attrs["geometry"] = json.dumps({**stored, "places_centred": []})
    altered = type(prior_fit)(tree, prior_fit.spec, prior_fit.priors, prior_fit.design,
                              prior_fit.sampler)  # fmt: skip
    names = {v.name for v in altered.model().build().free_RVs}
    assert "place_level" not in names
    # fits saved before the geometry was stored: read from the posterior's names
    del tree.attrs["geometry"]
    legacy = type(prior_fit)(tree, prior_fit.spec, prior_fit.priors, prior_fit.design,
                             prior_fit.sampler)  # fmt: skip
    geometry = legacy.model().geometry
    assert geometry["year_effects_centred"] == ("year_effect_raw" not in prior_fit.posterior)
    assert geometry["places_centred"] == stored["places_centred"]


def _kalman_case():
    """Two places over four window years: place a seen in years 0, 1, 3 (year 2 a gap),
    place b in all four, rows not in place-year order."""
    place_idx = np.array([1, 0, 1, 0, 1, 1, 0])
    year_idx = np.array([0, 0, 1, 1, 2, 3, 3])
    y = np.array([0.004, 0.010, 0.006, 0.004, -0.002, 0.001, 0.003])
    mu = np.array([0.001, 0.002, 0.001, 0.001, 0.000, 0.002, 0.001])
    noise_var = np.array([4.0, 2.0, 3.0, 5.0, 1.0, 2.0, 6.0]) * 1e-6
    return place_idx, year_idx, y, mu, noise_var


def _filter_model(place_sd):
    import pymc as pm
    import pytensor.tensor as pt

    from attrbayes.models.components import ar1_attractiveness

    place_idx, year_idx, y, mu, noise_var = _kalman_case()
    coords = {"place": ["a", "b"], "year": [0, 1, 2, 3], "obs": np.arange(len(y))}
    with pm.Model(coords=coords) as model:
        mean, sd = ar1_attractiveness(
            load_prior_set("weakly_informative"), pt.as_tensor(0.003),
            None if place_sd is None else pt.as_tensor(place_sd), pt.as_tensor(mu),
            pt.as_tensor(noise_var), y, place_idx, year_idx, 2, 4,
        )  # fmt: skip
    return model, mean, sd


@pytest.mark.parametrize("place_sd", [None, 0.002])
def test_ar1_attractiveness_is_the_exact_marginal_likelihood(place_sd):
    """The Kalman filter's prediction-error likelihood equals the dense multivariate
    normal of place effect + AR(1) + noise (a gap year and unsorted rows included)."""
    from scipy import stats

    place_idx, year_idx, y, mu, noise_var = _kalman_case()
    phi, sigma = 0.7, 0.003
    model, mean, sd = _filter_model(place_sd)
    given = {model["ar_phi"]: phi}
    got = stats.norm.logpdf(y, mean.eval(given), sd.eval(given)).sum()
    same = place_idx[:, None] == place_idx[None, :]
    lag = np.abs(year_idx[:, None] - year_idx[None, :])
    cov = same * ((place_sd or 0.0) ** 2 + sigma**2 * phi**lag) + np.diag(noise_var)
    assert got == pytest.approx(stats.multivariate_normal(mu, cov).logpdf(y), rel=1e-9)


def test_state_draws_follow_the_exact_conditional_posterior():
    """Backward sampling from the filter's output reproduces the conditional mean and
    covariance of (place effects, AR states) given the data from the dense normal."""
    from attrbayes.models.kalman import cell_grid, filter_forward, sample_states

    place_idx, year_idx, y, mu, noise_var = _kalman_case()
    phi, sigma, place_sd, n = 0.7, 0.003, 0.002, 40_000
    q = sigma**2 * (1 - phi**2)
    cells = cell_grid(place_idx, year_idx, 2, 4)
    filtered = filter_forward(y - mu, noise_var, cells, phi, q, place_sd**2, sigma**2, True)[3]
    normals = np.random.default_rng(3).standard_normal((n, 5, 2))
    draws = np.empty((n, 10))
    for k in range(n):
        u, state = sample_states(filtered, phi, q, normals[k])
        draws[k] = np.concatenate([u, state.T.ravel()])
    # the dense joint of z = (u_a, u_b, a[a, 0..3], a[b, 0..3]) and y = mu + L z + e
    cells = [(p, t) for p in range(2) for t in range(4)]
    lag = np.abs(np.subtract.outer([t for _, t in cells], [t for _, t in cells]))
    same = np.equal.outer([p for p, _ in cells], [p for p, _ in cells])
    cov_z = np.zeros((10, 10))
    cov_z[:2, :2] = np.eye(2) * place_sd**2
    cov_z[2:, 2:] = same * sigma**2 * phi**lag
    load = np.zeros((len(y), 10))
    for row, (p, t) in enumerate(zip(place_idx, year_idx, strict=True)):
        load[row, p] = load[row, 2 + 4 * p + t] = 1
    cov_y = load @ cov_z @ load.T + np.diag(noise_var)
    gain = cov_z @ load.T @ np.linalg.inv(cov_y)
    cov = cov_z - gain @ load @ cov_z
    np.testing.assert_allclose(draws.mean(axis=0), gain @ (y - mu),
                               atol=4 * np.sqrt(cov.diagonal().max() / n))  # fmt: skip
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.03 * cov.diagonal().max())


def test_time_varying_attractiveness_integrates_place_effects_and_states_out(features):
    spec = load_spec("migration_2022")
    assert spec.attractiveness.ar1
    built = MigrationModel(build_design(features, spec), spec).build()
    names = {v.name for v in built.free_RVs}
    assert {"ar_phi", "noise_ar_scale", "noise_ar_angle", "sigma_place"} <= names
    assert not {"place_level", "place_effect_z", "noise_floor"} & names  # none per place
    assert built.named_vars_to_dims["ar_noise_var"] == ("obs",)


def test_the_replaced_noise_persistence_is_a_clear_error():
    with pytest.raises(SpecError, match=r"replaced by \[attractiveness\] ar1"):
        _spec('[likelihood]\npersistence = "ar1"\n')
