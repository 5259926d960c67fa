"""What every notebook in ``notebooks/`` sets up first: quick mode, a scratch folder
outside the repository, table display options and a figure helper.

Quick mode (``ATTRBAYES_NOTEBOOK_QUICK=1``, what CI runs) shrinks the panel and the
sampler so that a notebook runs in about a minute; without it the notebooks use the
package defaults.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from attrbayes.config import SamplerConfig

QUICK_ENV = "ATTRBAYES_NOTEBOOK_QUICK"
QUICK = os.environ.get(QUICK_ENV, "0") == "1"
# synthesize_panel keyword arguments and the sampler of quick mode (defaults otherwise)
PANEL_SIZE: dict[str, int] = (
    {"n_places": 40, "first_year": 2000, "last_year": 2014} if QUICK else {}
)
SAMPLER = SamplerConfig(chains=2, draws=100, tune=100) if QUICK else SamplerConfig()


def setup(name: str, *, width: int = 160, precision: int = 3) -> Path:
    """Set pandas' display options for the notebook's tables and return a new scratch
    folder (under the system's temporary directory, so nothing is written into the
    repository)."""
    pd.set_option("display.width", width)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.precision", precision)
    return Path(tempfile.mkdtemp(prefix=f"attrbayes-{name}-"))


def show(fig) -> None:
    """Display a matplotlib figure once (inline) and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)
