"""The Student-t likelihood's per-row terms as one compiled, vectorised loop.

PyMC's Student-t log density compiles to a loop that calls the C library's ``log1p`` and
``log`` twice a row, which keeps numba from vectorising it: with its derivatives it was 44
% of a gradient of the default model (benchmarks/RESULTS.md, issue 17). Here the row
terms and their derivatives are one operation whose loops vectorise, with a branch-free
logarithm (fdlibm's polynomial, within 1 ulp of ``np.log``). The model states the
likelihood as ``pm.CustomDist`` with PyMC's own Student-t as its generative form, so
posterior predictive draws are PyMC's; the log density is :func:`student_t_logp`, the
same number as PyMC's up to rounding (tested), row by row for LOO.

Per row, with ``z = (y - mu) / sigma`` and ``q = z^2 / nu``::

    log p = lgamma((nu + 1) / 2) - lgamma(nu / 2) - log(nu pi) / 2
            - (nu + 1) / 2 log(1 + q) - log(sigma)

The first line, the same for every row, stays in the PyTensor graph; :class:`StudentTRows`
computes the second and its derivatives with respect to ``mu``, ``sigma`` and ``nu``.
"""

from __future__ import annotations

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_default_op_cache_key

from attrbayes.models.kalman import source_version

_JIT = {"nogil": True, "cache": True, "error_model": "numpy"}
_VERSION = source_version(__file__)  # joins PyTensor's cache key of the compiled Op

# fdlibm's e_log.c: ln 2 in two parts and the minimax polynomial of log on [sqrt(1/2), sqrt(2))
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_LG1, _LG2, _LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
_LG4, _LG5 = 2.222219843214978396e-01, 1.818357216161805012e-01
_LG6, _LG7 = 1.531383769920937332e-01, 1.479819860511658591e-01
_MANTISSA, _ONE, _SQRT2 = 0x000FFFFFFFFFFFFF, 0x3FF0000000000000, 0x3FF6A09E667F3BCD
_TINY = np.finfo(np.float64).tiny


@numba.njit(**_JIT)
def log_into(x: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = log(x)`` for a contiguous float64 ``x``. Positive, finite, normal values
    take fdlibm's reduction and polynomial in loops without branches or calls, which
    vectorise; zero, negative, subnormal, infinite and NaN values take ``np.log``."""
    n = len(x)
    bits = x.view(np.int64)
    mantissa = np.empty(n, np.int64)
    exponent = np.empty(n)
    for i in range(n):
        b = bits[i]
        m = (b & _MANTISSA) | _ONE  # x's significand in [1, 2)
        up = np.int64(m > _SQRT2)  # then halved into [sqrt(1/2), 1), the exponent raised
        mantissa[i] = m - (up << 52)
        exponent[i] = ((b >> 52) & 0x7FF) - 1023 + up
    significand = mantissa.view(np.float64)
    for i in range(n):
        f = significand[i] - 1.0
        k = exponent[i]
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
        hfsq = 0.5 * f * f
        out[i] = k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)
    for i in range(n):
        if not (_TINY <= x[i] < np.inf):
            out[i] = np.log(x[i])


@numba.njit(**_JIT)
def student_t_rows(
    value: np.ndarray, mu: np.ndarray, sigma: np.ndarray, nu: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: ``-(nu + 1) / 2 log(1 + q) - log(sigma)`` and its derivatives with
    respect to ``mu``, ``sigma`` and ``nu``; ``-inf`` (and NaN derivatives) where
    ``sigma`` or ``nu`` is not positive."""
    n = len(value)
    rows, d_mu, d_sigma, d_nu = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    u, q = np.empty(n), np.empty(n)
    half = 0.5 * (nu + 1.0)
    for i in range(n):
        inv = 1.0 / sigma[i]
        z = (value[i] - mu[i]) * inv
        q[i] = z * z / nu
        u[i] = 1.0 + q[i]
        w = (nu + 1.0) / (nu * u[i])
        d_mu[i] = w * z * inv
        d_sigma[i] = (w * z * z - 1.0) * inv
    log_u, log_sigma = np.empty(n), np.empty(n)
    log_into(u, log_u)
    log_into(np.ascontiguousarray(sigma), log_sigma)
    for i in range(n):
        # log1p(q): log(1 + q) corrected for the rounding of 1 + q
        log1p = log_u[i] + (q[i] - (u[i] - 1.0)) / u[i]
        rows[i] = -half * log1p - log_sigma[i]
        d_nu[i] = -0.5 * log1p + half * q[i] / (nu * u[i])
    for i in range(n):
        if not (sigma[i] > 0.0 and nu > 0.0):
            rows[i], d_mu[i], d_sigma[i], d_nu[i] = -np.inf, np.nan, np.nan, np.nan
    return rows, d_mu, d_sigma, d_nu


class StudentTRows(Op):
    """``(value, mu, sigma, nu) -> (rows, d_mu, d_sigma, d_nu)``: the row terms of the
    Student-t log density (see the module docstring) and their derivatives, all vectors
    of the rows; ``nu`` a scalar. Differentiable through the first output."""

    __props__ = ()

    def make_node(self, value, mu, sigma, nu) -> Apply:
        inputs = [pt.as_tensor_variable(x).astype("float64") for x in (value, mu, sigma, nu)]
        ranks = [x.ndim for x in inputs]
        if ranks != [1, 1, 1, 0]:
            raise TypeError("Student-t rows: expected vectors value, mu, sigma and a scalar "
                            f"nu, got ranks {ranks}")  # fmt: skip
        return Apply(self, inputs, [pt.vector(dtype="float64") for _ in range(4)])

    def perform(self, node, inputs, outputs) -> None:
        value, mu, sigma, nu = inputs
        for out, result in zip(outputs, student_t_rows(value, mu, sigma, float(nu)), strict=True):
            out[0] = result

    def infer_shape(self, node, shapes):
        return [shapes[0]] * 4

    def pullback(self, inputs, outputs, cotangents):
        if any(not isinstance(g.type, DisconnectedType) for g in cotangents[1:]):
            raise NotImplementedError("only the rows of the Student-t are differentiated")
        g = cotangents[0]
        _, d_mu, d_sigma, d_nu = outputs
        return [-g * d_mu, g * d_mu, g * d_sigma, (g * d_nu).sum()]


def student_t_logp(value, mu, sigma, nu) -> pt.TensorVariable:
    """The Student-t log density of each row of ``value`` (location ``mu``, scale
    ``sigma``, each a row vector or a scalar; degrees of freedom ``nu``, a scalar)."""
    value, nu = pt.as_tensor_variable(value), pt.as_tensor_variable(nu)
    mu, sigma = (pt.broadcast_to(x, value.shape) for x in (mu, sigma))
    rows = StudentTRows()(value, mu, sigma, nu)[0]
    constant = pt.gammaln((nu + 1.0) / 2.0) - pt.gammaln(nu / 2.0) - 0.5 * pt.log(nu * np.pi)
    return rows + pt.switch(nu > 0, constant, -np.inf)  # as the rows: -inf, not NaN


@register_funcify_default_op_cache_key(StudentTRows)
def _numba_rows(op, node, **kwargs):
    @numba_njit
    def rows(value, mu, sigma, nu):
        return student_t_rows(value, mu, sigma, nu.item())

    return rows, _VERSION
