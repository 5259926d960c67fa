"""The compiled Kalman filter Ops: gradients against finite differences, the numba
dispatch against the Python path, and the predictions against the dense normal."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from attrbayes.models.kalman import filter_forward, kalman_predict


def _case(seed: int = 0, n_years: int = 6, n_places: int = 4):
    """Rows in shuffled order over a (year, place) grid with about a quarter gaps."""
    rng = np.random.default_rng(seed)
    seen = rng.uniform(size=(n_years, n_places)) > 0.25
    cells = np.full((n_years, n_places), -1)
    cells[seen] = rng.permutation(int(seen.sum()))
    n = int(seen.sum())
    resid = rng.normal(0.0, 0.01, n)
    var = rng.uniform(1e-5, 4e-5, n)
    return rng, cells, resid, var


@pytest.mark.parametrize("pu0", [0.0, 1e-5])
def test_gradient_matches_finite_differences(pu0):
    rng, cells, resid, var = _case()
    w_mean, w_var = rng.normal(size=len(resid)), rng.normal(size=len(resid)) * 1e3

    def f(r, v, phi, q, pa0):
        mean, variance = kalman_predict(r, v, cells, phi, q, pt.as_tensor(pu0), pa0)
        return (mean * w_mean).sum() + (variance * w_var).sum()

    point = [resid, var, np.array(0.6), np.array(2e-5), np.array(3e-5)]
    verify_grad(f, point, rng=rng, eps=1e-9, abs_tol=1e-6, rel_tol=1e-4, mode="FAST_COMPILE")


def test_numba_dispatch_equals_the_python_path():
    """nutpie runs the Ops through PyTensor's numba backend; it must agree with
    ``perform`` on values and every gradient."""
    rng, cells, resid, var = _case(seed=1, n_years=9, n_places=7)
    xs = [pt.vector("r"), pt.vector("v"), *(pt.scalar(n) for n in ("phi", "q", "pu0", "pa0"))]
    mean, variance = kalman_predict(xs[0], xs[1], cells, *xs[2:])
    loss = (mean * rng.normal(size=len(resid))).sum() + (variance**2).sum() * 1e6
    outputs = [loss, *pt.grad(loss, xs), mean, variance]
    point = [resid, var, np.array(0.8), np.array(1e-5), np.array(2e-6), np.array(4e-5)]
    numba = pytensor.function(xs, outputs, mode="NUMBA")(*point)
    python = pytensor.function(xs, outputs, mode="FAST_COMPILE")(*point)
    for got, want in zip(numba, python, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_predictions_are_the_dense_conditional_moments():
    """Each row's predicted mean and variance of u + a equal the conditional moments
    given the place's earlier rows under the dense joint normal (gaps skipped)."""
    _, cells, resid, var = _case(seed=2)
    phi, sigma, place_sd = 0.7, 0.004, 0.002
    q = sigma**2 * (1 - phi**2)
    mean, variance, _, _ = filter_forward(resid, var, cells, phi, q, place_sd**2, sigma**2, False)
    for i in range(cells.shape[1]):
        years = np.flatnonzero(cells[:, i] >= 0)
        rows = cells[years, i]
        lag = np.abs(np.subtract.outer(years, years))
        latent = place_sd**2 + sigma**2 * phi**lag  # cov of u + a between the place's years
        for k, row in enumerate(rows):
            before = slice(0, k)
            cov_y = latent[before, before] + np.diag(var[rows[:k]])
            gain = np.linalg.solve(cov_y, latent[before, k]) if k else np.zeros(0)
            assert mean[row] == pytest.approx(gain @ resid[rows[:k]], abs=1e-12)
            assert variance[row] == pytest.approx(latent[k, k] - gain @ latent[before, k],
                                                  rel=1e-9)  # fmt: skip


def test_bad_inputs_are_a_clear_error():
    with pytest.raises(TypeError, match="grid of rows and 4 scalars"):
        kalman_predict(np.zeros(3), np.ones(3), np.zeros(3, dtype=int), 0.5, 1e-5, 0.0, 1e-5)
