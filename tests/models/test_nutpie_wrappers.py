"""The leaner C wrappers of nutpie's numba backend (issue 17): the same log density,
gradient, stored variables and draws as nutpie's own, and the same status codes; compiled
once per model (numba's disk cache, named by PyTensor's key of the graph and its data)."""

from __future__ import annotations

import ctypes

import numpy as np
import nutpie
import nutpie.compile_pymc as compile_pymc
import pymc as pm
import pytest

from attrbayes.models import nutpie_wrappers

Y = np.array([0.3, -1.2, 2.0, 0.7, 1.1, -0.4])


def _model(y: np.ndarray = Y, *, shared: bool = False) -> pm.Model:
    with pm.Model(coords={"obs": range(6), "g": range(3)}) as model:
        sigma = pm.HalfNormal("sigma", 1.0)
        effect = pm.Normal("effect", 0.0, 1.0, dims="g")
        pm.Deterministic("scaled", sigma * effect, dims="g")
        data = pm.Data("y_data", y) if shared else y
        pm.Normal("y", effect[np.arange(6) % 3], sigma, observed=data, dims="obs")
    return model


def _compiled(monkeypatch, ours: bool, model: pm.Model | None = None):
    assert nutpie_wrappers.install()
    if not ours:
        for name, func in nutpie_wrappers.ORIGINALS.items():
            monkeypatch.setattr(compile_pymc, name, func)
    return nutpie.compile_pymc_model(model or _model())


def _cached(compiled) -> list:
    """The disk-cached ``cfunc``s behind a compiled model's two wrappers (none when the
    wrappers were compiled in this process only)."""
    funcs = (compiled.compiled_logp_func, compiled.compiled_expand_func)
    return [f._pyfunc.cached for f in funcs if hasattr(f._pyfunc, "cached")]


def _logp(compiled, x: np.ndarray) -> tuple[int, float, np.ndarray]:
    """Call the compiled C log density directly: status, log density, gradient."""
    grad, logp = np.zeros(len(x)), np.zeros(())
    status = compiled.compiled_logp_func.ctypes(
        len(x), x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        grad.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        logp.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )  # fmt: skip
    return status, float(logp), grad


@pytest.fixture(scope="module")
def pair():
    with pytest.MonkeyPatch.context() as monkeypatch:
        theirs = _compiled(monkeypatch, ours=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        ours = _compiled(monkeypatch, ours=True)
    return theirs, ours


def test_the_wrappers_are_installed_in_nutpie():
    assert nutpie_wrappers.install()
    assert compile_pymc._make_c_logp_func is nutpie_wrappers.make_logp_func
    assert compile_pymc._make_c_expand_func is nutpie_wrappers.make_expand_func


def test_log_density_and_gradient_equal_nutpies(pair):
    theirs, ours = pair
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.normal(size=theirs.n_dim)
        status, logp, grad = _logp(ours, x)
        assert status == 0
        assert (status, logp) == _logp(theirs, x)[:2]
        np.testing.assert_array_equal(grad, _logp(theirs, x)[2])


def test_status_codes_equal_nutpies(pair):
    theirs, ours = pair
    x = np.zeros(theirs.n_dim)
    x[0] = np.nan  # nothing finite
    assert _logp(ours, x)[0] == _logp(theirs, x)[0] == 3
    wrong_size = ours.compiled_logp_func.ctypes(
        theirs.n_dim + 1, None, None, None, ctypes.c_void_p(ours.user_data.ctypes.data)
    )
    assert wrong_size == -1


def test_draws_and_stored_variables_equal_nutpies(pair):
    settings = {"chains": 2, "draws": 30, "tune": 30, "seed": 5, "cores": 1}
    draws = [nutpie.sample(c, progress_bar=False, **settings)["posterior"] for c in pair]
    for name in ("sigma", "effect", "scaled"):
        np.testing.assert_array_equal(draws[0][name].values, draws[1][name].values)
    np.testing.assert_allclose(draws[1]["scaled"], draws[1]["sigma"] * draws[1]["effect"])


def test_a_model_compiled_again_loads_its_wrappers_from_the_cache(pair):
    _, first = pair
    assert len(_cached(first)) == 2
    again = nutpie.compile_pymc_model(_model())
    assert [f.cache_hits for f in _cached(again)] == [1, 1]
    x = np.random.default_rng(4).normal(size=first.n_dim)
    status, logp, grad = _logp(again, x)
    assert (status, logp) == _logp(first, x)[:2]
    np.testing.assert_array_equal(grad, _logp(first, x)[2])


def test_the_cache_is_named_by_the_data_too(pair):
    """Two models that differ only in their observations: no stale wrapper is loaded."""
    _, ours = pair
    other = nutpie.compile_pymc_model(_model(Y + 1.0))
    x = np.zeros(ours.n_dim)
    assert _logp(other, x)[1] != _logp(ours, x)[1]
    reference = _model(Y + 1.0)
    point = reference.initial_point()
    point.update({"sigma_log__": np.array(0.0), "effect": np.zeros(3)})
    np.testing.assert_allclose(_logp(other, x)[1], reference.compile_logp()(point))


def test_shared_variables_keep_the_wrappers_uncached():
    """pm.Data is read through nutpie's user data, which the cache key does not name:
    the log density's wrapper, which reads it, is compiled in the process, with nutpie's
    values (the expansion, which does not read it, is cached)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        theirs = _compiled(monkeypatch, ours=False, model=_model(shared=True))
    ours = nutpie.compile_pymc_model(_model(shared=True))
    assert not hasattr(ours.compiled_logp_func._pyfunc, "cached")
    x = np.random.default_rng(6).normal(size=ours.n_dim)
    assert _logp(ours, x)[:2] == _logp(theirs, x)[:2]
