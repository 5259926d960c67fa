"""attrbayes: the Norwegian attractiveness model of local growth, refitted as Bayesian models.

Pipeline: data -> features -> models -> attractiveness -> projection -> reporting. The
names below are the public entry points; each is imported on first use, so that
``import attrbayes`` (and the command line) stays quick.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("attrbayes")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

# public name -> the module that defines it
_EXPORTS = {
    "read_panel": "attrbayes.data.panel",
    "write_panel": "attrbayes.data.panel",
    "Panel": "attrbayes.data.panel",
    "synthesize_panel": "attrbayes.synthetic",
    "SynthConfig": "attrbayes.synthetic",
    "compute_features": "attrbayes.features.design",
    "build_design": "attrbayes.features.design",
    "load_spec": "attrbayes.config",
    "SamplerConfig": "attrbayes.config",
    "load_prior_set": "attrbayes.priors",
    "fit_ols": "attrbayes.models.ols",
    "fit": "attrbayes.runs",
    "prepare_fit": "attrbayes.runs",
    "run_fit": "attrbayes.runs",
    "load_fit": "attrbayes.runs",
    "FitResult": "attrbayes.results",
    "decompose": "attrbayes.decomposition",
    "load_assumptions": "attrbayes.projection.assumptions",
    "project": "attrbayes.projection.engine",
    "Projector": "attrbayes.projection.engine",
    "ProjectionResult": "attrbayes.projection.result",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'attrbayes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
