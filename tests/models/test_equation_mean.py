"""The projection and the decomposition evaluate each equation's mean with one numpy
function (:func:`attrbayes.equation.equation_mean`, the sum of
:func:`~attrbayes.equation.equation_parts`); at posterior draws and on the design's own
rows it must equal the fitted PyMC graph's ``mu`` (the mean without the time-varying
attractiveness the likelihood integrates out), for every shipped spec."""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from attrbayes.config import SamplerConfig, available_specs
from attrbayes.equation import (
    equation_draws,
    equation_mean,
    equation_parts,
    fixed_attractiveness,
    noise_sd,
    row_parts,
)
from attrbayes.models.components import FILTER_NOISE
from attrbayes.runs import prepare_fit

PRIOR = SamplerConfig(sampler="prior", chains=1, draws=6, seed=3)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", available_specs())
def test_the_projection_mean_is_the_graph_mean(name, small_synthetic):
    fit = prepare_fit(small_synthetic.panel, name, level="municipality").model.fit(PRIOR)
    frame = fit.design.frame
    places = np.array(sorted(frame["place"].unique()))
    index = np.arange(PRIOR.chains * PRIOR.draws)
    eq = equation_draws(fit, list(places), index)
    place_idx = pd.Index(places).get_indexer(frame["place"])
    year_idx = pd.Index(eq.fitted_years).get_indexer(frame["year"])
    covariates = {term: frame[term].to_numpy(dtype=float) for term in eq.slopes}
    year_effect = eq.year_effects[:, year_idx]
    if "year_effect" in fit.posterior:
        draws = fit.draws("year_effect").isel(draw=index).transpose("draw", "year")
        np.testing.assert_array_equal(year_effect, draws.to_numpy()[:, year_idx])
    attractiveness = fixed_attractiveness(fit, index, places).to_numpy()[:, place_idx]
    got = equation_mean(equation_parts(eq, index, covariates, eq.path[:, year_idx],
                                       year_effect, attractiveness, places=place_idx))  # fmt: skip
    names = ("mu", FILTER_NOISE) if fit.spec.attractiveness.ar1 else ("mu",)
    ((_, graph),) = list(fit.deterministic_draws(names, index))
    mu = graph[0]
    assert np.abs(mu).max() > 0
    np.testing.assert_allclose(got, mu, rtol=1e-9, atol=1e-12)
    # the design's rows in one call, as the AR states, decompositions and comparisons take them
    row_eq, parts = row_parts(fit, frame, index)
    np.testing.assert_allclose(equation_mean(parts), mu, rtol=1e-9, atol=1e-12)
    _, parts = row_parts(fit, frame, index, attractiveness=False)
    np.testing.assert_allclose(equation_mean(parts), mu - attractiveness, rtol=1e-9, atol=1e-12)
    if fit.spec.attractiveness.ar1:  # the filter's noise variance, the graph's sd squared
        sd = noise_sd(row_eq, slice(None), fit.design.size)
        np.testing.assert_allclose(sd**2, graph[1], rtol=1e-12)


def test_the_noise_sd_by_hand():
    """sqrt(floor^2 + (scale (size / 10,000)^-exponent)^2), or the floor alone."""
    eq = SimpleNamespace(noise_floor=np.array([0.003, 0.004]), noise_scale=np.array([0.01, 0.02]),
                         noise_exponent=np.array([0.5, 1.0]), noise_kind="size")  # fmt: skip
    size = np.array([[2500.0, 40000.0], [2500.0, 40000.0]])
    expected = [[np.hypot(0.003, 0.01 * 2), np.hypot(0.003, 0.01 / 2)],
                [np.hypot(0.004, 0.02 * 4), np.hypot(0.004, 0.02 / 4)]]  # fmt: skip
    np.testing.assert_allclose(noise_sd(eq, slice(None), size), expected, rtol=1e-14)
    eq.noise_kind = "constant"
    np.testing.assert_array_equal(noise_sd(eq, np.array([1]), size[:1]), [[0.004, 0.004]])


def test_a_term_without_projected_values_is_an_error(small_synthetic):
    from attrbayes.exceptions import SpecError

    fit = prepare_fit(small_synthetic.panel, "migration_jobs", level="municipality")
    fit = fit.model.fit(PRIOR)
    eq = equation_draws(fit, sorted(fit.design.frame["place"].unique()), np.arange(2))
    zeros = np.zeros((2, 1))
    with pytest.raises(SpecError, match="'vra_t1' has no values to project"):
        equation_mean(equation_parts(eq, np.arange(2), {"vra_t": 0.0, "vra_t2": 0.0}, zeros,
                                     zeros, 0.0))  # fmt: skip


def test_a_new_term_needs_only_its_declaration(small_synthetic, tmp_path, monkeypatch):
    """A place-constant term declared in attrbayes.terms (here SSB's centrality class, an
    attribute column the design also carries) is fitted with its declared prior, listed
    in the summary and evaluated by the projection's mean like any other term. The
    declaration is the one code change; the monkeypatching stands in for the line in
    terms.py and the views derived from it at import."""
    from attrbayes import config, terms
    from attrbayes.features.design import build_design, compute_features
    from attrbayes.models.registry import model_class

    toy = terms.Term("centrality_class", ("migration",), "coefficient of the centrality class",
                     "centrality class", "centrality class", time_varying=False)  # fmt: skip
    monkeypatch.setitem(terms.BY_NAME, toy.name, toy)
    monkeypatch.setitem(config.KIND_TERMS, "migration",
                        (*config.KIND_TERMS["migration"], toy.name))  # fmt: skip
    text = (ROOT / "models" / "migration_2022.toml").read_text(encoding="utf-8")
    text = text.replace('"centrality", "ds"]', '"centrality", "ds", "centrality_class"]')
    (tmp_path / "toy.toml").write_text(text, encoding="utf-8")
    spec = config.load_spec(tmp_path / "toy.toml")
    design = build_design(compute_features(small_synthetic.panel, "municipality"), spec)
    assert list(design.frame.columns).count("centrality_class") == 1
    fit = model_class("migration")(design, spec).fit(PRIOR)
    assert "centrality_class" in fit.posterior
    places = sorted(design.frame["place"].unique())
    eq = equation_draws(fit, places, np.arange(PRIOR.draws))
    first = design.frame.groupby("place")["centrality_class"].first().reindex(places)
    coef = fit.draws("centrality_class").to_numpy()
    np.testing.assert_allclose(eq.constants["centrality_class"],
                               coef[:, None] * first.to_numpy()[None, :])  # fmt: skip


def test_the_deterministics_are_compiled_once_per_fit(small_synthetic, monkeypatch):
    """The decompositions and the residuals recompute the
    unstored deterministics: one compiled function of them serves every later call."""
    fit = prepare_fit(small_synthetic.panel, "migration_2022", level="municipality")
    fit = fit.model.fit(PRIOR)
    index = np.arange(PRIOR.chains * PRIOR.draws)
    ((_, (mu, noise)),) = list(fit.deterministic_draws(("mu", FILTER_NOISE), index))
    builds = []
    model = type(fit).model
    monkeypatch.setattr(type(fit), "model", lambda self: builds.append(1) or model(self))
    ((_, (again,)),) = list(fit.deterministic_draws(("mu",), index))
    ((_, (noise_only,)),) = list(fit.deterministic_draws((FILTER_NOISE,), index[:2]))
    assert builds == []
    np.testing.assert_array_equal(again, mu)
    np.testing.assert_array_equal(noise_only, noise[:2])
    assert np.all(noise > 0)
    # report workers get the fit pickled: without the compiled function, which they rebuild
    monkeypatch.undo()
    copy = pickle.loads(pickle.dumps(fit))
    ((_, (mu_copy,)),) = list(copy.deterministic_draws(("mu",), index))
    np.testing.assert_array_equal(mu_copy, mu)


def test_stacked_draws_are_kept_read_only_and_not_pickled(small_synthetic):
    """Blocks of draws ask for the same variables again: each is stacked once, shared
    read-only (no caller can change another's), and left out of what workers get."""
    fit = prepare_fit(small_synthetic.panel, "migration_2022", level="municipality")
    fit = fit.model.fit(PRIOR)
    first = fit.draws("intercept")
    assert fit.draws("intercept") is first
    with pytest.raises(ValueError, match="read-only"):
        first.values[0] = 1.0
    copy = pickle.loads(pickle.dumps(fit))
    assert "_stacked_" not in vars(copy)
    np.testing.assert_array_equal(copy.draws("intercept"), first)
