"""attrbayes: the Norwegian attractiveness model of local growth, refitted as Bayesian models.

Pipeline: data -> features -> models -> attractiveness -> projection -> reporting.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("attrbayes")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
