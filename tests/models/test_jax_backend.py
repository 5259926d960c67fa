"""nutpie's JAX backend (issue 20): the Kalman Op under JAX gives the numba filter's
numbers and gradients, the whole model's log density and gradient agree between the two
backends, and a fit with ``backend="jax"`` samples on the CPU."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.fg import FunctionGraph

from attrbayes.config import SamplerConfig, load_spec
from attrbayes.features.design import build_design, compute_features
from attrbayes.models import kalman_jax
from attrbayes.models.kalman import kalman_predict
from attrbayes.models.registry import model_class
from attrbayes.synthetic import synthesize_panel


def _case(seed: int, n_years: int = 8, n_places: int = 6):
    """Rows in shuffled order over a (year, place) grid with about a quarter gaps."""
    rng = np.random.default_rng(seed)
    seen = rng.uniform(size=(n_years, n_places)) > 0.25
    cells = np.full((n_years, n_places), -1)
    cells[seen] = rng.permutation(int(seen.sum()))
    n = int(seen.sum())
    return rng, cells, rng.normal(0.0, 0.01, n), rng.uniform(1e-5, 4e-5, n)


def test_the_kalman_op_under_jax_equals_the_numba_filter_and_its_adjoint():
    kalman_jax.register()
    rng, cells, resid, var = _case(seed=3)
    xs = [pt.vector("r"), pt.vector("v"), *(pt.scalar(n) for n in ("phi", "q", "pu0", "pa0"))]
    mean, variance = kalman_predict(xs[0], xs[1], cells, *xs[2:])
    loss = (mean * rng.normal(size=len(resid))).sum() + (variance**2).sum() * 1e6
    point = [resid, var, np.array(0.8), np.array(1e-5), np.array(2e-6), np.array(4e-5)]
    values = pytensor.function(xs, [loss, mean, variance], mode="JAX")(*point)
    wanted = pytensor.function(xs, [loss, mean, variance], mode="NUMBA")(*point)
    for got, want in zip(values, wanted, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-16)
    # JAX's own derivative of its scan equals the hand-written adjoint
    from pytensor.link.jax.dispatch import jax_funcify

    grads = pytensor.function(xs, pt.grad(loss, xs), mode="NUMBA")(*point)
    jax_loss = jax_funcify(FunctionGraph(xs, [loss], clone=True))
    jax_grads = jax.grad(lambda *a: jax_loss(*a)[0], argnums=tuple(range(6)))(
        *(jnp.asarray(x) for x in point)
    )
    for got, want in zip(jax_grads, grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)


@pytest.fixture(scope="module")
def model():
    panel = synthesize_panel(n_places=12, first_year=2000, last_year=2012, seed=5).panel
    spec = load_spec("migration_2022")
    return model_class(spec.kind)(build_design(compute_features(panel, "municipality"), spec),
                                  spec)  # fmt: skip


def test_the_model_has_the_same_density_and_gradient_on_both_backends(model):
    """What nutpie compiles: the log density on numba with PyTensor's gradient, and the
    log density in JAX differentiated by JAX."""
    from pymc.model.transform.optimization import freeze_dims_and_data
    from pymc.sampling.jax import get_jaxified_graph

    kalman_jax.register()
    pm_model = freeze_dims_and_data(model.build())  # static shapes, as nutpie compiles it
    rng = np.random.default_rng(0)
    point = {k: v + rng.normal(0, 0.1, np.shape(v))
             for k, v in pm_model.initial_point().items()}  # fmt: skip
    inputs = pm_model.value_vars
    logp = pm_model.logp()
    numba = pytensor.function(inputs, [logp, *pt.grad(logp, inputs)], mode="NUMBA")(**point)
    jax_logp = get_jaxified_graph(inputs=inputs, outputs=[logp])
    values = [jnp.asarray(point[v.name]) for v in inputs]
    value, grads = jax.value_and_grad(lambda *x: jax_logp(*x)[0], argnums=tuple(
        range(len(values))))(*values)  # fmt: skip
    np.testing.assert_allclose(value, numba[0], rtol=1e-10)
    for got, want in zip(grads, numba[1:], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8)


@pytest.mark.slow
def test_a_fit_samples_with_the_jax_backend(model):
    fit = model.fit(SamplerConfig(backend="jax", chains=2, draws=100, tune=100))
    post = fit.tree["posterior"]
    assert post.sizes["chain"] == 2
    assert post.sizes["draw"] == 100
    assert np.isfinite(post["ar_phi"].values).all()
    assert fit.sampler.backend == "jax"


def test_the_backend_is_nutpies():
    with pytest.raises(ValueError, match="backend 'jax' is nutpie's; sampler 'pymc' has none"):
        SamplerConfig(sampler="pymc", backend="jax")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--backend", "bogus"], "error: backend: Input should be 'numba' or 'jax'"),
        (["--sampler", "pymc", "--backend", "jax"],
         "error: options: backend 'jax' is nutpie's; sampler 'pymc' has none"),
    ],
)  # fmt: skip
def test_the_command_names_a_bad_backend_in_one_line(options, message, tmp_path, capsys):
    from attrbayes.cli import main

    code = main(["fit", "--data", str(tmp_path / "no_panel"), "--spec", "migration_2022",
                 "--dry-run", *options])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert " ".join(err.split()) == message
