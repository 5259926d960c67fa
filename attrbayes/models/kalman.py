"""The Kalman filter of time-varying attractiveness as compiled PyTensor Ops.

Per place, attractiveness is a constant place effect ``u`` plus a stationary AR(1) ``a``
(``components.ar1_attractiveness`` states the model). The filter runs over the window's
years for every place at once; its one-step-ahead predictions give the exact marginal
likelihood. Written as a ``pytensor.scan`` over a (year, place) grid, the filter, its
gradient and the gathers between rows and grid were most of the sampler's cost (0.5 of
0.8 ms a gradient on 7,476 rows); here the forward pass and its reverse-mode adjoint are
two numba loops that read and write the rows directly (benchmarks/RESULTS.md, issue 17).
The nutpie sampler inlines them through PyTensor's numba dispatch; other backends call
the same functions from ``perform``. After sampling, :func:`sample_states` draws the
place effects and states that the likelihood integrated out.

Inputs: per row the residual ``y - mu`` and the noise variance; ``cells`` (year, place)
holds each cell's row, -1 where the place has no row that year (a gap: the filter only
predicts); and the scalars ``phi`` (persistence), ``q`` (innovation variance), ``pu0``
and ``pa0`` (prior variances of ``u`` and ``a``). The state per place is the predicted
mean and covariance of ``(u, a)``: ``m_u, m_a, p_uu, p_ua, p_aa``. A row updates it with
gains ``(p_uu + p_ua, p_ua + p_aa) / s``, where ``s = p_uu + 2 p_ua + p_aa + v`` is the
prediction's variance plus the row's noise variance ``v``; the prediction step carries
``a`` by ``phi`` and adds ``q``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad_undefined
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_default_op_cache_key

_JIT = {"nogil": True, "cache": True}


def source_version(path: str) -> int:
    """A number from the hash of the source file ``path``. PyTensor caches compiled
    graphs on disk by Op class and props: a numba Op's version joins that key, so that a
    changed kernel is never run from an older cache entry."""
    return int.from_bytes(hashlib.sha256(Path(path).read_bytes()).digest()[:6], "big")


_VERSION = source_version(__file__)


@numba.njit(**_JIT)
def filter_forward(
    resid: np.ndarray,
    var: np.ndarray,
    cells: np.ndarray,
    phi: float,
    q: float,
    pu0: float,
    pa0: float,
    keep_filtered: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Predicted mean and variance of ``u + a`` per row, the predicted state before each
    year (5, year, place) and, with ``keep_filtered``, the filtered state after each
    year (5, year, place; else empty).

    Years are the outer loop and places the inner one: places are independent, so the
    inner loop carries no chain of dependent divisions; a gap is a zero gain.
    """
    n_years, n_places = cells.shape
    mean, variance = np.empty(len(resid)), np.empty(len(resid))
    predicted = np.empty((5, n_years, n_places))
    filtered = np.empty((5, n_years if keep_filtered else 0, n_places))
    m_u, m_a = np.zeros(n_places), np.zeros(n_places)
    p_uu, p_ua, p_aa = np.full(n_places, pu0), np.zeros(n_places), np.full(n_places, pa0)
    for t in range(n_years):
        for i in range(n_places):
            predicted[0, t, i], predicted[1, t, i] = m_u[i], m_a[i]
            predicted[2, t, i], predicted[3, t, i], predicted[4, t, i] = p_uu[i], p_ua[i], p_aa[i]
            row = cells[t, i]
            seen = 1.0 if row >= 0 else 0.0
            total = p_uu[i] + 2.0 * p_ua[i] + p_aa[i]
            inv = 1.0 / (total + (var[row] if row >= 0 else 1.0))
            a, b = seen * (p_uu[i] + p_ua[i]), seen * (p_ua[i] + p_aa[i])
            w = seen * (resid[max(row, 0)] - m_u[i] - m_a[i]) * inv
            if row >= 0:
                mean[row], variance[row] = m_u[i] + m_a[i], total
            f_u, f_a = m_u[i] + a * w, m_a[i] + b * w
            f_uu, f_ua, f_aa = p_uu[i] - a * a * inv, p_ua[i] - a * b * inv, p_aa[i] - b * b * inv
            if keep_filtered:
                filtered[0, t, i], filtered[1, t, i] = f_u, f_a
                filtered[2, t, i], filtered[3, t, i], filtered[4, t, i] = f_uu, f_ua, f_aa
            m_u[i], m_a[i] = f_u, phi * f_a
            p_uu[i], p_ua[i], p_aa[i] = f_uu, phi * f_ua, phi * phi * f_aa + q
    return mean, variance, predicted, filtered


@numba.njit(**_JIT)
def filter_backward(
    resid: np.ndarray,
    var: np.ndarray,
    cells: np.ndarray,
    phi: float,
    q: float,
    predicted: np.ndarray,
    g_mean: np.ndarray,
    g_variance: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float, float, float, float]:
    """The adjoint of :func:`filter_forward`'s predictions: given the forward pass's
    predicted states and the cotangents of the predicted means and variances per row,
    the gradients with respect to ``resid``, ``var``, ``phi``, ``q`` and the prior
    variances ``pu0`` and ``pa0`` (which enter only through ``predicted``'s first year).
    Each year's steps are reversed from the last year: the prediction step, the update,
    and the predictions read off the state."""
    n_years, n_places = cells.shape
    g_resid, g_var = np.zeros(len(resid)), np.zeros(len(resid))
    g_phi, g_q = np.zeros(n_places), np.zeros(n_places)
    # adjoints of the predicted state after the last year (nothing depends on it)
    b_mu, b_ma = np.zeros(n_places), np.zeros(n_places)
    b_uu, b_ua, b_aa = np.zeros(n_places), np.zeros(n_places), np.zeros(n_places)
    for t in range(n_years - 1, -1, -1):
        for i in range(n_places):
            row = cells[t, i]
            seen = 1.0 if row >= 0 else 0.0
            m_u, m_a = predicted[0, t, i], predicted[1, t, i]
            p_uu, p_ua, p_aa = predicted[2, t, i], predicted[3, t, i], predicted[4, t, i]
            inv = 1.0 / (p_uu + 2.0 * p_ua + p_aa + (var[row] if row >= 0 else 1.0))
            a, b = seen * (p_uu + p_ua), seen * (p_ua + p_aa)
            w = seen * (resid[max(row, 0)] - m_u - m_a) * inv
            # the prediction step from the filtered state f
            g_phi[i] += (b_ma[i] * (m_a + b * w) + b_ua[i] * (p_ua - a * b * inv)
                         + 2.0 * phi * (p_aa - b * b * inv) * b_aa[i])  # fmt: skip
            g_q[i] += b_aa[i]
            b_fu, b_fa = b_mu[i], phi * b_ma[i]
            b_fuu, b_fua, b_faa = b_uu[i], phi * b_ua[i], phi * phi * b_aa[i]
            # the update f = state + gains: the covariances' a^2 / s etc. and w = e / s
            # both depend on s
            b_w = b_fu * a + b_fa * b
            b_s = ((a * a * b_fuu + a * b * b_fua + b * b * b_faa) * inv - b_w * w) * inv
            b_e = seen * b_w * inv
            b_a = seen * (b_fu * w - (2.0 * a * b_fuu + b * b_fua) * inv)
            b_b = seen * (b_fa * w - (a * b_fua + 2.0 * b * b_faa) * inv)
            g_m = g_v = 0.0
            if row >= 0:
                g_resid[row], g_var[row] = b_e, b_s
                g_m, g_v = g_mean[row], g_variance[row]
            b_mu[i] = b_fu - b_e + g_m
            b_ma[i] = b_fa - b_e + g_m
            b_uu[i] = b_fuu + b_s + b_a + g_v
            b_ua[i] = b_fua + 2.0 * b_s + b_a + b_b + 2.0 * g_v
            b_aa[i] = b_faa + b_s + b_b + g_v
    return g_resid, g_var, g_phi.sum(), g_q.sum(), b_uu.sum(), b_aa.sum()


def cell_grid(place_idx: np.ndarray, year_idx: np.ndarray, n_places: int, n_years: int):
    """The (year, place) grid of row numbers that the filter reads, -1 for a gap."""
    cells = np.full((n_years, n_places), -1, dtype=np.int64)
    cells[year_idx, place_idx] = np.arange(len(place_idx))
    return cells


@numba.njit(**_JIT)
def sample_states(
    filtered: np.ndarray, phi: float, q: float, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One draw of the place effects (place) and AR states (year, place) from their
    conditional posterior, given the filtered state after each year (5, year, place) and
    standard normals (year + 1, place): the place effect and the last year's state from
    their filtered joint distribution, then each earlier year's state given the place
    effect and the year after it (backward sampling)."""
    m_u, m_a, p_uu, p_ua, p_aa = filtered[0], filtered[1], filtered[2], filtered[3], filtered[4]
    n_years, n_places = m_a.shape
    last = n_years - 1
    u = np.empty(n_places)
    state = np.empty((n_years, n_places))
    for i in range(n_places):
        u[i] = m_u[last, i] + np.sqrt(max(p_uu[last, i], 0.0)) * normals[n_years, i]
        for t in range(last, -1, -1):
            # the filtered state of year t given the place effect
            slope = p_ua[t, i] / p_uu[t, i] if p_uu[t, i] > 0 else 0.0
            var = max(p_aa[t, i] - slope * p_ua[t, i], 0.0)
            mean = m_a[t, i] + slope * (u[i] - m_u[t, i])
            if t == last:
                state[t, i] = mean + np.sqrt(var) * normals[t, i]
                continue
            predicted = phi * phi * var + q
            gain = var * phi / predicted if predicted > 0 else 0.0
            spread = np.sqrt(max(var - gain * gain * predicted, 0.0))
            state[t, i] = mean + gain * (state[t + 1, i] - phi * mean) + spread * normals[t, i]
    return u, state


@numba.njit(**_JIT)
def state_draws_block(
    resid: np.ndarray,
    var: np.ndarray,
    cells: np.ndarray,
    phi: np.ndarray,
    sigma: np.ndarray,
    place_var: np.ndarray,
    normals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Place effects (draw, place) and AR states (draw, place, year) for a block of
    posterior draws: per draw (residuals and noise variances per row, persistence,
    stationary sd and place-effect variance) the filter, then :func:`sample_states` with
    the draw's standard normals (draw, year + 1, place)."""
    n_years, n_places = cells.shape
    u = np.empty((len(phi), n_places))
    ar = np.empty((len(phi), n_places, n_years))
    for k in range(len(phi)):
        q = sigma[k] ** 2 * (1.0 - phi[k] ** 2)
        filtered = filter_forward(resid[k], var[k], cells, phi[k], q, place_var[k],
                                  sigma[k] ** 2, True)[3]  # fmt: skip
        u[k], state = sample_states(filtered, phi[k], q, normals[k])
        ar[k] = state.T
    return u, ar


def _inputs(resid, var, cells, *scalars) -> list[pt.TensorVariable]:
    """The rows (``resid``, ``var``), the (year, place) grid of rows and the scalars as
    tensors, their ranks checked."""
    inputs = [pt.as_tensor_variable(x).astype("float64") for x in (resid, var, *scalars)]
    inputs.insert(2, pt.as_tensor_variable(cells).astype("int64"))
    ranks = [x.ndim for x in inputs]
    if ranks[:3] != [1, 1, 2] or any(r != 0 for r in ranks[3:]):
        raise TypeError("Kalman filter inputs: expected rows (resid, var), a (year, place) "
                        f"grid of rows and {len(scalars)} scalars, got ranks {ranks}")  # fmt: skip
    return inputs


def _scalars(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


class KalmanPredict(Op):
    """``(resid, var, cells, phi, q, pu0, pa0) -> (mean, variance, predicted)``: the
    filter's one-step-ahead predictions of ``u + a`` per row, differentiable, and the
    predicted state per (year, place) that the gradient reuses."""

    __props__ = ()

    def make_node(self, resid, var, cells, phi, q, pu0, pa0) -> Apply:
        inputs = _inputs(resid, var, cells, phi, q, pu0, pa0)
        outputs = [pt.vector(dtype="float64"), pt.vector(dtype="float64"), pt.tensor3("float64")]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, outputs) -> None:
        resid, var, cells, *scalars = inputs
        results = filter_forward(resid, var, cells, *_scalars(scalars), False)[:3]
        for out, value in zip(outputs, results, strict=True):
            out[0] = value

    def infer_shape(self, node, shapes):
        return [shapes[0], shapes[0], (5, *shapes[2])]

    def pullback(self, inputs, outputs, cotangents):
        if not isinstance(cotangents[2].type, DisconnectedType):
            raise NotImplementedError("the predicted state is not differentiated")
        g_mean, g_variance = (
            pt.zeros_like(inputs[0]) if isinstance(g.type, DisconnectedType) else g
            for g in cotangents[:2]
        )
        resid, var, cells, phi, q, _, _ = inputs
        grads = KalmanPredictGrad()(resid, var, cells, phi, q, outputs[2], g_mean, g_variance)
        cells_grad = grad_undefined(self, 2, cells, "the rows' places and years are data")
        return [grads[0], grads[1], cells_grad, *grads[2:]]


class KalmanPredictGrad(Op):
    """The vector-Jacobian product of :class:`KalmanPredict` (see :func:`filter_backward`)."""

    __props__ = ()

    def make_node(self, resid, var, cells, phi, q, predicted, g_mean, g_variance) -> Apply:
        inputs = _inputs(resid, var, cells, phi, q)
        inputs += [pt.as_tensor_variable(x).astype("float64")
                   for x in (predicted, g_mean, g_variance)]  # fmt: skip
        outputs = [pt.vector(dtype="float64"), pt.vector(dtype="float64")]
        return Apply(self, inputs, [*outputs, *(pt.scalar(dtype="float64") for _ in range(4))])

    def perform(self, node, inputs, outputs) -> None:
        resid, var, cells, phi, q, predicted, g_mean, g_variance = inputs
        grads = filter_backward(resid, var, cells, float(phi), float(q), predicted, g_mean,
                                g_variance)  # fmt: skip
        for out, value in zip(outputs, grads, strict=True):
            out[0] = np.asarray(value, dtype="float64")

    def infer_shape(self, node, shapes):
        return [shapes[0], shapes[0], (), (), (), ()]


def kalman_predict(resid, var, cells, phi, q, pu0, pa0) -> tuple[pt.TensorVariable, ...]:
    """The predicted mean and variance of ``u + a`` per row (see :class:`KalmanPredict`)."""
    mean, variance, _ = KalmanPredict()(resid, var, cells, phi, q, pu0, pa0)
    return mean, variance


@register_funcify_default_op_cache_key(KalmanPredict)
def _numba_predict(op, node, **kwargs):
    @numba_njit
    def predict(resid, var, cells, phi, q, pu0, pa0):
        mean, variance, predicted, _ = filter_forward(resid, var, cells, phi.item(), q.item(),
                                                      pu0.item(), pa0.item(), False)  # fmt: skip
        return mean, variance, predicted

    return predict, _VERSION


@register_funcify_default_op_cache_key(KalmanPredictGrad)
def _numba_predict_grad(op, node, **kwargs):
    @numba_njit
    def predict_grad(resid, var, cells, phi, q, predicted, g_mean, g_variance):
        g_resid, g_var, g_phi, g_q, g_pu0, g_pa0 = filter_backward(
            resid, var, cells, phi.item(), q.item(), predicted, g_mean, g_variance
        )
        return (g_resid, g_var, np.asarray(g_phi), np.asarray(g_q), np.asarray(g_pu0),
                np.asarray(g_pa0))  # fmt: skip

    return predict_grad, _VERSION
