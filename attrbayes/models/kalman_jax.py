"""The Kalman filter's predictions (and the Student-t's row terms) for nutpie's JAX backend
(``SamplerConfig(backend="jax")``).

:class:`~attrbayes.models.kalman.KalmanPredict` runs as numba loops on the default
backend. Under JAX the same recursion is a ``lax.scan`` over years, vectorised over
places, and JAX differentiates it itself: nutpie's ``gradient_backend="jax"`` takes the
derivative of the whole log density, and PyTensor's own gradient graph (the adjoint Op)
runs as JAX's vector-Jacobian product of the same scan. :func:`register` is called before
a JAX compile; it imports JAX, an optional dependency (``pip install 'attrbayes[jax]'``).
"""

from __future__ import annotations

from attrbayes.exceptions import SpecError
from attrbayes.models.kalman import KalmanPredict, KalmanPredictGrad
from attrbayes.models.student_t import StudentTRows

_REGISTERED: list[bool] = []


def register() -> None:
    """Teach PyTensor's JAX linker the Kalman and Student-t Ops (once per process)."""
    if _REGISTERED:
        return
    try:
        import jax
        import jax.numpy as jnp
        from pytensor.link.jax.dispatch import jax_funcify
    except ImportError as exc:
        raise SpecError("the JAX backend needs JAX: pip install 'attrbayes[jax]' (or jax "
                        f"and jaxlib) into this environment ({exc})") from None  # fmt: skip

    @jax_funcify.register(KalmanPredict)
    def _jax_predict(op, **kwargs):
        return predictions(jax, jnp)

    @jax_funcify.register(KalmanPredictGrad)
    def _jax_predict_grad(op, **kwargs):
        forward = predictions(jax, jnp)

        def predict_grad(resid, var, cells, phi, q, predicted, g_mean, g_variance):
            # the prior variances are the first year's predicted state, in every place
            pu0, pa0 = predicted[2, 0, 0], predicted[4, 0, 0]
            _, vjp = jax.vjp(lambda *x: forward(x[0], x[1], cells, *x[2:])[:2],
                             resid, var, phi, q, pu0, pa0)  # fmt: skip
            return vjp((g_mean, g_variance))

        return predict_grad

    @jax_funcify.register(StudentTRows)
    def _jax_student_t_rows(op, **kwargs):
        def rows(value, mu, sigma, nu):
            z = (value - mu) / sigma
            q = z * z / nu
            w = (nu + 1.0) / (nu * (1.0 + q))
            log1p = jnp.log1p(q)
            valid = (sigma > 0) & (nu > 0)
            return (jnp.where(valid, -0.5 * (nu + 1.0) * log1p - jnp.log(sigma), -jnp.inf),
                    w * z / sigma, (w * z * z - 1.0) / sigma,
                    -0.5 * log1p + 0.5 * (nu + 1.0) * q / (nu * (1.0 + q)))  # fmt: skip

        return rows

    _REGISTERED.append(True)


def predictions(jax, jnp):
    """The filter as a JAX function ``(resid, var, cells, phi, q, pu0, pa0) -> (mean,
    variance, predicted)``, the same numbers as ``kalman.filter_forward``."""

    def predict(resid, var, cells, phi, q, pu0, pa0):
        n_places = cells.shape[1]
        seen = cells >= 0
        rows = jnp.where(seen, cells, 0)

        def year(state, inputs):
            m_u, m_a, p_uu, p_ua, p_aa = state
            row, here = inputs
            on = here.astype(resid.dtype)
            total = p_uu + 2.0 * p_ua + p_aa
            inv = 1.0 / (total + jnp.where(here, var[row], 1.0))
            a, b = on * (p_uu + p_ua), on * (p_ua + p_aa)
            w = on * (resid[row] - m_u - m_a) * inv
            f_u, f_a = m_u + a * w, m_a + b * w
            f_uu, f_ua, f_aa = p_uu - a * a * inv, p_ua - a * b * inv, p_aa - b * b * inv
            after = (f_u, phi * f_a, f_uu, phi * f_ua, phi * phi * f_aa + q)
            return after, (jnp.stack(state), m_u + m_a, total)

        zeros = jnp.zeros(n_places, resid.dtype)
        start = (zeros, zeros, zeros + pu0, zeros, zeros + pa0)
        _, (predicted, means, variances) = jax.lax.scan(year, start, (rows, seen))
        # each row's prediction from its (year, place) cell; gaps write nowhere
        where = jnp.where(seen, cells, resid.shape[0]).ravel()
        mean = jnp.zeros_like(resid).at[where].set(means.ravel(), mode="drop")
        variance = jnp.zeros_like(resid).at[where].set(variances.ravel(), mode="drop")
        return mean, variance, jnp.moveaxis(predicted, 1, 0)

    return predict
