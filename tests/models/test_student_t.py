"""The Student-t likelihood's compiled row terms (issue 17): its logarithm within 1 ulp of
numpy's, the density and its gradient equal to PyMC's Student-t, on every backend."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrbayes.models.student_t import log_into, student_t_logp

RNG = np.random.default_rng(11)
N = 257  # not a multiple of any vector width


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.maximum(np.abs(want), np.finfo(float).tiny))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0.0, allow_infinity=True) | st.sampled_from([np.nan, -1.0, -0.0]),
        min_size=1,
        max_size=40,
    )
)
def test_log_is_numpys_within_one_ulp(values):
    x = np.array(values)
    out = np.empty_like(x)
    log_into(x, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.log(x)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(out[~finite], want[~finite])  # 0, <0, inf, NaN
    assert _ulps(out[finite], want[finite]).max(initial=0.0) <= 1.0


def test_log_near_one_and_at_the_reduction_boundary():
    x = np.concatenate([1.0 + np.linspace(-1e-3, 1e-3, 1001), np.nextafter(np.sqrt(2), [0, 3]),
                        np.nextafter(np.sqrt(0.5), [0, 3]), [1e-310, 5e-324, 1e308]])  # fmt: skip
    out = np.empty_like(x)
    log_into(x, out)
    assert _ulps(out, np.log(x)).max() <= 1.0


def _inputs(scalar_sigma: bool = False):
    value = RNG.standard_t(4, N) * 0.004
    mu = RNG.normal(size=N) * 0.002
    sigma = 0.003 if scalar_sigma else RNG.uniform(0.001, 0.006, N)
    return value, mu, sigma, 4.5


@pytest.mark.parametrize("scalar_sigma", [False, True])
@pytest.mark.parametrize("mode", ["NUMBA", "FAST_COMPILE"])
def test_the_density_and_its_gradient_are_pymcs(mode, scalar_sigma):
    value, mu, sigma, nu = _inputs(scalar_sigma)
    m, s, n = pt.dvector("mu"), (pt.dscalar if scalar_sigma else pt.dvector)("sigma"), pt.dscalar()
    ours = student_t_logp(value, m, s, n)
    theirs = pm.logp(pm.StudentT.dist(nu=n, mu=m, sigma=s), value)
    outputs = []
    for logp in (ours, theirs):
        outputs += [logp, *pt.grad(logp.sum(), [m, s, n])]
    got = pytensor.function([m, s, n], outputs, mode=mode)(mu, sigma, nu)
    half = len(got) // 2
    np.testing.assert_allclose(got[0], got[half], rtol=1e-13, atol=1e-12)  # per row (LOO)
    for a, b in zip(got[1:half], got[half + 1 :], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-9)


def test_a_scale_or_nu_that_is_not_positive_gives_minus_infinity():
    value, mu, sigma, nu = _inputs()
    sigma[3] = 0.0
    rows = student_t_logp(value, mu, sigma, nu).eval()
    assert rows[3] == -np.inf
    assert np.isfinite(np.delete(rows, 3)).all()
    assert (student_t_logp(value, mu, sigma, -1.0).eval() == -np.inf).all()


def test_the_likelihood_draws_as_pymcs_student_t():
    """The model's likelihood is a CustomDist whose draws follow PyMC's Student-t with
    the drawn ``nu`` (a Kolmogorov-Smirnov test against scipy's, location 0.5, scale 2)."""
    from scipy import stats

    from attrbayes.config import Likelihood
    from attrbayes.models.components import likelihood
    from attrbayes.priors import load_prior_set

    priors = load_prior_set(kind="migration")
    with pm.Model(coords={"obs": range(4000)}) as model:
        likelihood("y", priors, Likelihood(family="student_t"), 0.5, 2.0, np.zeros(4000), "obs")
    draws, nu = pm.draw([model["y"], model["nu"]], random_seed=3)
    assert draws.shape == (4000,)
    assert stats.kstest(draws, stats.t(df=nu, loc=0.5, scale=2.0).cdf).pvalue > 1e-3
    assert stats.kstest(draws, stats.t(df=nu, loc=0.5, scale=2.6).cdf).pvalue < 1e-3
