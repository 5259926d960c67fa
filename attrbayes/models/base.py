"""The Bayesian model lifecycle: validate on creation, ``build()`` the graph, ``fit()``.

Constructors only check their inputs; ``build()`` returns a fresh PyMC model; ``fit()``
samples it with the configured sampler and returns an immutable result object.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pymc as pm
import pytensor
import xarray as xr
from threadpoolctl import threadpool_limits

from attrbayes.config import ModelSpec, SamplerConfig
from attrbayes.diagnostics.convergence import nonfinite_variables
from attrbayes.exceptions import Interrupted, SpecError
from attrbayes.features.design import Design
from attrbayes.models.components import FILTER_NOISE
from attrbayes.priors import PriorSet, load_prior_set

if TYPE_CHECKING:
    from attrbayes.results import FitResult


class BayesModel(ABC):
    """A Bayesian model of one design, spec and prior set."""

    kind: ClassVar[str]
    # Per-observation deterministics left out of the trace (recomputed on demand).
    unstored: ClassVar[tuple[str, ...]] = ("mu", FILTER_NOISE)

    def __init__(
        self,
        design: Design,
        spec: ModelSpec,
        priors: PriorSet | None = None,
        *,
        geometry: Mapping[str, object] | None = None,
    ) -> None:
        self.design = design
        self.spec = spec
        self._geometry = dict(geometry) if geometry is not None else None
        self.priors = priors or load_prior_set(kind=spec.kind)
        if self.priors.kind != spec.kind:
            raise SpecError(
                f"prior set {self.priors.name!r} is for the {self.priors.kind} model, but spec "
                f"{spec.name} is a {spec.kind} model"
            )
        self.validate()

    @abstractmethod
    def validate(self) -> None:
        """Raise a clear error if design, spec and priors do not fit together."""

    @property
    def geometry(self) -> dict[str, object]:
        """Parameterisation choices of the graph. Chosen from the data once, and stored with
        a fit, so that a saved fit rebuilds the graph it was sampled with."""
        if self._geometry is None:
            self._geometry = self.default_geometry()
        return self._geometry

    def default_geometry(self) -> dict[str, object]:
        return {}

    @abstractmethod
    def build(self) -> pm.Model:
        """A new PyMC model of the design."""

    def result(
        self, tree: xr.DataTree, sampler: SamplerConfig, timings: dict[str, float]
    ) -> FitResult:
        """Wrap sampled draws in this model's result class (``results.RESULT_CLASSES`` by
        kind: results sit a layer above models, and this is the one import upwards that
        the import contract in pyproject.toml allows)."""
        from attrbayes.results import RESULT_CLASSES

        return RESULT_CLASSES[self.kind].create(tree, self, sampler, timings)

    def fit(self, sampler: SamplerConfig | None = None) -> FitResult:
        """Sample the posterior and return the model's result object."""
        sampler = sampler or SamplerConfig()
        tree, timings = sample(self.build(), sampler, exclude=self.unstored)
        return self.result(tree, sampler, timings)


def sample(
    model: pm.Model, config: SamplerConfig, *, exclude: tuple[str, ...] = ()
) -> tuple[xr.DataTree, dict[str, float]]:
    """Draw from ``model`` with nutpie, PyMC's NUTS or (for tests) the prior.

    Variables named in ``exclude`` are not stored (large per-observation deterministics).
    """
    keep = [v.name for v in (*model.free_RVs, *model.deterministics) if v.name not in exclude]
    cores = config.cores or min(config.chains, os.cpu_count() or 1)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    # one BLAS thread: sums in the gradient then add up in one order everywhere (in this
    # process, in a Dask worker, which pins BLAS to one thread anyway), so that the same
    # seed gives the same draws; the chains are the parallel work
    with threadpool_limits(limits=1, user_api="blas"):
        tree, sampling_start = _draw(model, config, keep, cores, timings, start)
    timings["sampling_s"] = time.perf_counter() - sampling_start
    _check_complete(tree, config)
    return tree, timings


def _draw(model: pm.Model, config: SamplerConfig, keep: list[str], cores: int,
          timings: dict[str, float], start: float) -> tuple[xr.DataTree, float]:  # fmt: skip
    """The draws, and when sampling began (after nutpie's compiling, timed in ``timings``)."""
    if config.sampler == "nutpie":
        import nutpie  # imported here: compiling pulls in numba

        if config.backend == "jax":
            from attrbayes.models import kalman_jax

            kalman_jax.register()
        else:
            from attrbayes.models import nutpie_wrappers

            nutpie_wrappers.install()
        # no stack trace on the nodes the rewrites create (they copy the model's own):
        # walking the stack for each of ~18,000 new nodes took 0.5 s of a 3 s compile
        with pytensor.config.change_flags(traceback__limit=0):
            compiled = nutpie.compile_pymc_model(
                model, var_names=keep, backend=config.backend,
                gradient_backend="jax" if config.backend == "jax" else "pytensor",
            )  # fmt: skip
        timings["compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        tree = nutpie.sample(
            compiled,
            chains=config.chains,
            draws=config.draws,
            tune=config.tune,
            seed=config.seed,
            cores=cores,
            progress_bar=config.progress,
            adaptation=config.adaptation,
        )
    elif config.sampler == "pymc":
        with model:
            tree = pm.sample(
                nuts_sampler="pymc",  # PyMC 6 would otherwise pick nutpie when installed
                draws=config.draws,
                tune=config.tune,
                chains=config.chains,
                cores=cores,
                random_seed=config.seed,
                target_accept=config.target_accept,
                progressbar=config.progress,
                compute_convergence_checks=False,
                var_names=keep,
            )
        timings["compile_s"] = 0.0
    else:
        tree = _prior_as_posterior(model, config, keep)
        timings["compile_s"] = 0.0
    return tree, start


def _check_complete(tree: xr.DataTree, config: SamplerConfig) -> None:
    """A sampler stopped early (nutpie returns what it has on Ctrl-C) or draws that are
    not numbers: an error, so that no partial posterior is taken for a finished one."""
    post = tree["posterior"].to_dataset()
    sizes = (post.sizes.get("chain", 0), post.sizes.get("draw", 0))
    if sizes != (config.chains, config.draws):
        raise Interrupted(f"sampling stopped early ({sizes[0]} chains x {sizes[1]} draws of "
                          f"{config.chains} x {config.draws}); nothing was saved")  # fmt: skip
    bad = nonfinite_variables(post)
    if bad:
        raise Interrupted(f"sampling stopped early or failed: draws of {', '.join(bad[:5])} are "
                          "not all finite numbers; nothing was saved")  # fmt: skip


def _prior_as_posterior(model: pm.Model, config: SamplerConfig, keep: list[str]) -> xr.DataTree:
    """Prior draws shaped as (chain, draw): exercises the result machinery without MCMC."""
    with model:
        prior = pm.sample_prior_predictive(
            draws=config.chains * config.draws, random_seed=config.seed
        )
    ds = prior["prior"].to_dataset()
    ds = ds[[n for n in keep if n in ds.data_vars]].isel(chain=0, drop=True)
    ds = ds.assign_coords(
        chain=("draw", np.repeat(np.arange(config.chains), config.draws)),
        draw=("draw", np.tile(np.arange(config.draws), config.chains)),
    )
    posterior = (
        ds.rename_dims(draw="_s")
        .set_index(_s=["chain", "draw"])
        .unstack("_s")
        .transpose("chain", "draw", ...)
    )
    observed = prior["observed_data"].to_dataset() if "observed_data" in prior else xr.Dataset()
    return xr.DataTree.from_dict({"posterior": posterior, "observed_data": observed})
