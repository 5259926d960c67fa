"""Immutable result objects of Bayesian fits, saved as NetCDF with their provenance.

A result holds an ``xarray.DataTree`` with the posterior, the sampler statistics, the
observed data and a ``fit_data`` group with the design, so a saved file describes itself.
Root attributes store the spec and prior-set TOML, a SHA-256 of the design, the sampler
settings and seed, timings and package versions; :meth:`FitResult.load` re-checks them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from attrbayes import __version__
from attrbayes.config import ModelSpec, SamplerConfig, parse_spec
from attrbayes.diagnostics.convergence import nonfinite_variables
from attrbayes.exceptions import DataError
from attrbayes.features.design import Design
from attrbayes.inference import convergence_table
from attrbayes.io_utils import atomic_write_with, ensure_space, open_saved
from attrbayes.models.base import BayesModel
from attrbayes.models.jobs import JobsModel
from attrbayes.models.migration import MigrationModel
from attrbayes.priors import KIND_PARAMETERS, PriorSet, parse_prior_set
from attrbayes.quantiles import interval_frame

RESULT_SCHEMA = 1
_PACKAGES = ("attrbayes", "pymc", "pytensor", "nutpie", "arviz", "xarray", "numpy", "pandas")


def package_versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def design_hash(design: Design) -> str:
    """SHA-256 of the design's values and labels: identifies the data a fit used."""
    frame = design.frame
    digest = hashlib.sha256()
    digest.update(json.dumps([list(frame.columns), list(design.terms), design.level]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def draws_hash(tree: xr.DataTree) -> str:
    """SHA-256 of the posterior's and sample statistics' values (names, types, shapes,
    bytes): an edited draw changes it, so a saved fit whose draws were altered is refused."""
    digest = hashlib.sha256()
    for group in ("posterior", "sample_stats"):
        if group not in tree:
            continue
        ds = tree[group].to_dataset()
        for name in sorted(ds.data_vars):
            values = np.ascontiguousarray(ds[name].values)
            if values.dtype.kind not in "fiub":
                continue  # messages and the like
            digest.update(f"{group}/{name}:{values.dtype.str}:{values.shape}".encode())
            digest.update(values.tobytes())
    return digest.hexdigest()


def stack_draws(da: xr.DataArray) -> xr.DataArray:
    """Merge ``chain`` and ``draw`` into one ``draw`` dimension numbered 0..S-1."""
    stacked = da.stack(_sample=("chain", "draw"))
    n = stacked.sizes["_sample"]
    stacked = stacked.drop_vars(["_sample", "chain", "draw"]).rename(_sample="draw")
    return stacked.assign_coords(draw=np.arange(n)).transpose("draw", ...)


def stacked_size(posterior: xr.Dataset) -> int:
    """The number of draws with chains merged (:func:`stack_draws`)."""
    return posterior.sizes["chain"] * posterior.sizes["draw"]


def thin(posterior: xr.Dataset, max_draws: int | None) -> xr.Dataset:
    """Every k-th draw of each chain, k = ceil(all draws / ``max_draws``): about
    ``max_draws`` remain (at most one more per chain)."""
    step = _thin_step(posterior, max_draws)
    return posterior if step == 1 else posterior.isel(draw=slice(None, None, step))


def thinned_index(posterior: xr.Dataset, max_draws: int | None) -> np.ndarray:
    """The stacked draw numbers (:func:`stack_draws`) that :func:`thin` keeps."""
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    step = _thin_step(posterior, max_draws)
    return (np.arange(chains)[:, None] * draws + np.arange(0, draws, step)).ravel()


def _thin_step(posterior: xr.Dataset, max_draws: int | None) -> int:
    total = stacked_size(posterior)
    return 1 if max_draws is None or total <= max_draws else int(np.ceil(total / max_draws))


def _design_to_dataset(design: Design) -> xr.Dataset:
    ds = xr.Dataset.from_dataframe(design.frame.rename_axis("obs"))
    ds.attrs.update(
        terms=json.dumps(list(design.terms)),
        level=design.level,
        spec_name=design.spec_name,
        years=json.dumps(list(design.years)),
        label=design.label,
        kind=design.kind,
        left_out=json.dumps([list(item) for item in design.left_out]),
        year_rates=json.dumps(list(design.year_rates)),
        notes=json.dumps(list(design.notes)),
    )
    return ds


def _design_from_dataset(ds: xr.Dataset) -> Design:
    frame = ds.to_dataframe().reset_index(drop=True)
    for col in ("place", "name", "region", "county"):
        if col in frame.columns:
            frame[col] = frame[col].astype(str)
    return Design(
        frame=frame,
        terms=tuple(json.loads(ds.attrs["terms"])),
        level=str(ds.attrs["level"]),
        spec_name=str(ds.attrs["spec_name"]),
        years=tuple(json.loads(ds.attrs["years"])),
        label=str(ds.attrs["label"]),
        kind=str(ds.attrs.get("kind", "migration")),
        left_out=tuple((int(y), str(why)) for y, why in json.loads(ds.attrs.get("left_out", "[]"))),
        year_rates=tuple(float(r) for r in json.loads(ds.attrs.get("year_rates", "[]"))),
        notes=tuple(json.loads(ds.attrs.get("notes", "[]"))),
    )


@dataclass(frozen=True)
class FitResult:
    """A fitted Bayesian model: draws plus everything needed to interpret and re-check them.

    Immutable; made by a model's ``fit`` or by :meth:`load`.

    Attributes
    ----------
    tree
        The posterior, sample statistics, observed data and the design (``fit_data``),
        with provenance in its attributes (spec and priors as TOML, data hash, sampler
        settings, seed, package versions).
    spec, priors, design, sampler
        What the fit was made from.
    """

    tree: xr.DataTree
    spec: ModelSpec
    priors: PriorSet
    design: Design
    sampler: SamplerConfig

    kind: ClassVar[str] = "base"
    model_class: ClassVar[type[BayesModel]]  # the model the result class belongs to
    # Parameters reported by summary(), in order, when present in the posterior: those a
    # prior set gives for the kind (priors.KIND_PARAMETERS), so a new term is listed once.
    summary_vars: ClassVar[tuple[str, ...]] = ()

    # -- construction -------------------------------------------------------------------
    @classmethod
    def create(
        cls, tree: xr.DataTree, model: BayesModel, sampler: SamplerConfig, timings: dict
    ) -> Self:
        """Attach the design and provenance to freshly sampled draws."""
        nodes = {path: node.to_dataset() for path, node in tree.subtree_with_keys if path != "."}
        nodes["fit_data"] = _design_to_dataset(model.design)
        new = xr.DataTree.from_dict(nodes)
        new.attrs.update(
            attrbayes_result_schema=RESULT_SCHEMA,
            attrbayes_version=__version__,
            model_kind=cls.kind,
            spec_name=model.spec.name,
            spec_toml=model.spec.source_text,
            prior_name=model.priors.name,
            prior_toml=model.priors.source_text,
            data_hash=design_hash(model.design),
            sampler=sampler.model_dump_json(),
            seed=sampler.seed,
            timings=json.dumps(timings),
            geometry=json.dumps(model.geometry),
            package_versions=json.dumps(package_versions()),
            created=dt.datetime.now(dt.UTC).isoformat(),
        )
        return cls(new, model.spec, model.priors, model.design, sampler)

    # -- access -------------------------------------------------------------------------
    @property
    def posterior(self) -> xr.Dataset:
        return self.tree["posterior"].to_dataset()

    @property
    def timings(self) -> dict[str, float]:
        return json.loads(self.tree.attrs["timings"])

    @property
    def has_latent_attractiveness(self) -> bool:
        """Whether attractiveness is modelled (region or place effects, or an AR(1) part)
        rather than read off the residual ``y - mu`` (noise included)."""
        post = self.posterior
        return ("place_effect" in post or "group_effect" in post
                or bool(self.spec.attractiveness.ar1))  # fmt: skip

    def draws(self, name: str) -> xr.DataArray:
        """Posterior draws of ``name`` with chains merged into one ``draw`` dimension
        (stacked once per variable: blocks of draws ask for the same variables again)."""
        if name not in self.posterior:
            raise KeyError(f"no posterior variable {name!r}; have {sorted(self.posterior)}")
        stacked = self.__dict__.setdefault("_stacked_", {})
        if name not in stacked:
            stacked[name] = stack_draws(self.posterior[name])
            stacked[name].values.flags.writeable = False  # shared by every caller
        return stacked[name]

    def summary(self, *, prob: float = 0.95, paths: bool = False) -> pd.DataFrame:
        """Posterior table: term, estimate (median), sd, lower, upper, rhat, ess_bulk,
        ess_tail. ``paths`` adds the yearly centrality coefficients and year effects."""
        names = [n for n in self.summary_vars if n in self.posterior]
        if paths:
            names += [n for n in ("centrality_path", "year_effect") if n in self.posterior]
        rows = []
        conv = convergence_table(self.tree, var_names=names)
        lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
        for name in names:
            da = self.draws(name)
            stat = xr.Dataset(
                {
                    "estimate": da.median("draw"),
                    "sd": da.std("draw"),
                    "lower": da.quantile(lo, "draw", keep_attrs=False).drop_vars("quantile"),
                    "upper": da.quantile(hi, "draw", keep_attrs=False).drop_vars("quantile"),
                }
            )
            for label, values in _labelled(name, stat).items():
                rows.append({"term": label, **values})
        table = pd.DataFrame(rows).set_index("term").join(conv)
        return table.reset_index()

    def convergence(self):
        """The diagnostics gate's report (R-hat, ESS, divergences, E-BFMI); computed
        once (the draws do not change), however many commands and reports ask."""
        return self._gate

    @cached_property
    def _gate(self):
        from attrbayes.diagnostics.convergence import gate

        return gate(self.tree)

    # -- the model's draws ------------------------------------------------------------
    def model(self) -> BayesModel:
        """The model object this result came from (rebuilt from the stored design)."""
        stored = self.tree.attrs.get("geometry")
        geometry = json.loads(str(stored)) if stored is not None else _legacy_geometry(self)
        return self.model_class(self.design, self.spec, self.priors, geometry=geometry)

    def mu_draws(self, *, max_draws: int | None = 1000) -> xr.DataArray:
        """Draws of the linear predictor per observation (draw, obs), recomputed from the
        posterior with the model graph; thinned to at most ``max_draws``."""
        index = thinned_index(self.posterior, max_draws)
        mu = np.concatenate([part[0] for _, part in self.deterministic_draws(("mu",), index)])
        coords = {"draw": np.arange(len(index)), "obs": np.arange(mu.shape[1])}
        return xr.DataArray(mu, coords=coords, dims=("draw", "obs"), name="mu")

    def deterministic_draws(
        self, names: tuple[str, ...], index: np.ndarray | None = None, *, block: int = 500
    ) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """Unstored deterministics recomputed with the model graph at the stacked draws
        ``index`` (all when None), in blocks of at most ``block`` draws: yields each
        block's draw numbers and arrays (draw, ...). One compiled function is called per
        draw, without PyMC's per-draw dataset bookkeeping; it is compiled once per fit
        (building the model and compiling took about 0.5 s a call)."""
        fn, inputs, outputs = self._deterministic_function()
        values = [self.draws(name).to_numpy() for name in inputs]
        picks = [outputs.index(n) for n in names]
        index = np.arange(len(values[0])) if index is None else np.asarray(index)
        for start in range(0, len(index), block):
            part = index[start : start + block]
            out: list[np.ndarray] = []
            for k, d in enumerate(part):
                results = fn(*(v[d] for v in values))
                for j, p in enumerate(picks):
                    if k == 0:
                        out.append(np.empty((len(part), *np.shape(results[p]))))
                    out[j][k] = results[p]
            yield part, out

    def _deterministic_function(self) -> tuple[Callable, list[str], list[str]]:
        """A compiled function of all the model's deterministics of its free variables, with
        the free variables' names (its arguments) and the deterministics' (its outputs);
        compiled once and kept with the fit."""
        if "_deterministic_function_" not in self.__dict__:
            model = self.model().build()
            outputs = [v.name for v in model.deterministics]
            fn = model.compile_fn(model.deterministics, inputs=model.free_RVs,
                                  on_unused_input="ignore", point_fn=False)  # fmt: skip
            self.__dict__["_deterministic_function_"] = (
                fn,
                [rv.name for rv in model.free_RVs],
                outputs,
            )
        return self.__dict__["_deterministic_function_"]

    def __getstate__(self) -> dict:
        """What a worker process gets: the compiled function of the deterministics does not
        pickle, and a worker compiles its own when it needs one."""
        state = dict(self.__dict__)
        state.pop("_deterministic_function_", None)
        state.pop("_stacked_", None)  # the posterior again: the worker stacks its own
        return state

    def residual_draws(self, *, max_draws: int | None = 1000) -> xr.DataArray:
        """Posterior residuals ``y - mu`` (draw, obs)."""
        mu = self.mu_draws(max_draws=max_draws)
        return (xr.DataArray(self.design.y, dims="obs") - mu).transpose("draw", "obs")

    @cached_property
    def latent_attractiveness(self) -> xr.DataArray:
        """Draws of the fit's attractiveness (draw, place, year); computed once."""
        from attrbayes.attractiveness import attractiveness_draws

        return attractiveness_draws(self)

    @cached_property
    def attractiveness_state(self) -> xr.Dataset | None:
        """Draws of the place effects and of attractiveness's time-varying AR(1) part
        (``place_effect``, ``ar``) that the likelihood integrated out, None without an AR
        part; computed once (:func:`attrbayes.attractiveness.state_draws`). All draws of
        it take as much memory as :attr:`latent_attractiveness`, which does not keep it."""
        from attrbayes.attractiveness import state_draws

        return state_draws(self)

    def attractiveness_at(self, index: np.ndarray) -> tuple[xr.DataArray, xr.Dataset | None]:
        """:attr:`latent_attractiveness` and :attr:`attractiveness_state` at the stacked
        draws ``index``; only those draws are computed (attractiveness is selected when
        all draws of it already are)."""
        from attrbayes.attractiveness import attractiveness_draws, state_draws

        state = state_draws(self, index) if self.spec.attractiveness.ar1 else None
        if "latent_attractiveness" in self.__dict__ or not self.has_latent_attractiveness:
            return self.latent_attractiveness.isel(draw=index), state
        return attractiveness_draws(self, index, state), state

    def centrality_table(self) -> pd.DataFrame:
        """The time-varying centrality coefficient by year with 50/80/95 % intervals."""
        if not self.spec.has_centrality:
            raise DataError(f"spec {self.spec.name} has no centrality term")
        return interval_frame(self.draws("centrality_path"))

    def attractiveness(
        self, *, years: tuple[int, int] | None = None, by: str = "period"
    ) -> pd.DataFrame:
        """Attractiveness per place (and year): residential for a migration fit, business
        for a jobs fit (:mod:`attrbayes.attractiveness`)."""
        from attrbayes.attractiveness import attractiveness_table

        return attractiveness_table(self, years=years, by=by)

    def ranked_attractiveness(
        self, *, years: tuple[int, int] | None = None, top: int = 10
    ) -> pd.DataFrame:
        """Period attractiveness and its rank distribution in one table."""
        from attrbayes.attractiveness import ranked_attractiveness

        return ranked_attractiveness(self, years=years, top=top)

    def ranks(self, *, years: tuple[int, int] | None = None, top: int = 10) -> pd.DataFrame:
        """Rank distribution of period attractiveness (median rank, 80 % interval, P(top))."""
        from attrbayes.attractiveness import rank_table

        return rank_table(self, years=years, top=top)

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the result as NetCDF (atomically; refuses to replace unless asked)."""
        target = Path(path)
        if target.exists() and not overwrite:
            raise DataError(f"{target} already exists; pass overwrite=True (CLI: --force)")
        tree = _serialisable(self.tree)
        ensure_space(target, sum(n.to_dataset().nbytes for n in tree.subtree), "the fit")
        tree.attrs["draws_hash"] = draws_hash(tree)
        return atomic_write_with(target, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))

    @staticmethod
    def load(path: str | Path) -> FitResult:
        """Read a saved result, re-checking schema, spec, priors and data hash."""
        source = Path(path)
        tree = open_saved(source, "fit",
                          lambda p: xr.open_datatree(p, engine="h5netcdf").load())  # fmt: skip
        attrs = tree.attrs
        schema = attrs.get("attrbayes_result_schema")
        if schema is None or int(schema) != RESULT_SCHEMA:
            raise DataError(
                f"{source}: result schema {schema} is not supported (expected {RESULT_SCHEMA})"
            )
        lacking = [key for key in ("model_kind", "spec_toml", "spec_name", "prior_toml",
                                   "prior_name", "data_hash", "sampler", "package_versions")
                   if key not in attrs]  # fmt: skip
        if lacking or "fit_data" not in tree or "posterior" not in tree:
            what = ", ".join(lacking) or "its posterior or design"
            raise DataError(f"{source}: not a complete attrbayes fit (it lacks {what})")
        kind = str(attrs["model_kind"])
        if kind not in RESULT_CLASSES:
            raise DataError(f"{source}: unknown model kind {kind!r}; known: "
                            f"{sorted(RESULT_CLASSES)}")  # fmt: skip
        cls = RESULT_CLASSES[kind]
        where = f"{source} (stored spec)"
        spec = parse_spec(str(attrs["spec_toml"]), name=str(attrs["spec_name"]), where=where)
        priors = parse_prior_set(
            str(attrs["prior_toml"]), name=str(attrs["prior_name"]), where=f"{source} (priors)"
        )
        design = _design_from_dataset(tree["fit_data"].to_dataset())
        if design_hash(design) != attrs["data_hash"]:
            raise DataError(f"{source}: the stored design does not match its hash; file altered?")
        stored = attrs.get("draws_hash")
        if stored is not None and draws_hash(tree) != stored:
            raise DataError(f"{source}: the posterior draws do not match their checksum; the "
                            "file was altered after it was saved")  # fmt: skip
        if nonfinite_variables(tree["posterior"].to_dataset()):
            raise DataError(f"{source}: the posterior holds draws that are not numbers (saved "
                            "from an interrupted or failed run); refit")  # fmt: skip
        if stored is None:
            warnings.warn(f"{source} was saved without a checksum of its draws (before "
                          "attrbayes checked them): they cannot be verified", UserWarning,
                          stacklevel=2)  # fmt: skip
        sampler = SamplerConfig(**json.loads(str(attrs["sampler"])))
        stored = json.loads(str(attrs["package_versions"]))
        changed = {k: (v, package_versions().get(k)) for k, v in stored.items()
                   if package_versions().get(k) != v}  # fmt: skip
        if changed:
            warnings.warn(
                f"{source} was written with other package versions {changed}; "
                "results load, but refits may differ",
                UserWarning,
                stacklevel=2,
            )
        return cls(tree, spec, priors, design, sampler)


def _legacy_geometry(fit: FitResult) -> dict[str, object] | None:
    """Fits saved before the geometry was stored: year effects and steps read from the
    posterior's variable names; the places from the data, as they were chosen then."""
    fresh = fit.model_class(fit.design, fit.spec, fit.priors).default_geometry()
    post = fit.posterior
    fresh["year_effects_centred"] = "year_effect_raw" not in post
    fresh["steps_centred"] = "centrality_step" in post or "centrality_year" in post
    return fresh


def _labelled(name: str, stat: xr.Dataset) -> dict[str, dict[str, float]]:
    """Rows of a per-variable statistics dataset, labelled like ``name[coord]``."""
    if not stat.dims:
        return {name: {k: float(v) for k, v in stat.items()}}
    frame = stat.to_dataframe()
    out = {}
    for key, row in frame.iterrows():
        label = ", ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        out[f"{name}[{label}]"] = {k: float(row[k]) for k in stat.data_vars}
    return out


def _serialisable(tree: xr.DataTree) -> xr.DataTree:
    """Object-typed sampler fields (messages, often None) become strings for NetCDF."""
    nodes = {}
    for path, node in tree.subtree_with_keys:
        ds = node.to_dataset()
        for name, da in ds.data_vars.items():
            if da.dtype == object:
                ds[name] = da.astype(str)
        nodes[path if path != "." else "/"] = ds
    out = xr.DataTree.from_dict(nodes)
    out.attrs.update(tree.attrs)
    return out


@dataclass(frozen=True)
class MigrationFit(FitResult):
    """A fitted :class:`~attrbayes.models.migration.MigrationModel`."""

    kind: ClassVar[str] = "migration"
    model_class: ClassVar[type[BayesModel]] = MigrationModel
    summary_vars: ClassVar[tuple[str, ...]] = tuple(KIND_PARAMETERS["migration"])

    @property
    def residential(self) -> xr.DataArray:
        """Draws of residential attractiveness (draw, place, year)."""
        return self.latent_attractiveness


@dataclass(frozen=True)
class JobsFit(FitResult):
    """A fitted :class:`~attrbayes.models.jobs.JobsModel`: business attractiveness is the
    latent part of private job growth, in % of last year's private jobs and jobs a year."""

    kind: ClassVar[str] = "jobs"
    model_class: ClassVar[type[BayesModel]] = JobsModel
    summary_vars: ClassVar[tuple[str, ...]] = tuple(KIND_PARAMETERS["jobs"])

    @property
    def business(self) -> xr.DataArray:
        """Draws of business attractiveness (draw, place, year)."""
        return self.latent_attractiveness

    def __getattr__(self, name: str) -> object:
        if name == "residential":  # the migration fit's name for its attractiveness
            raise AttributeError("a jobs fit has business attractiveness: use .business")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


RESULT_CLASSES: dict[str, type[FitResult]] = {cls.kind: cls for cls in (MigrationFit, JobsFit)}
