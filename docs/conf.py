"""Sphinx configuration of the attrbayes documentation (built by ``./dev docs`` and by
``tests/test_docs.py`` with warnings as errors)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import cli_reference  # noqa: E402
import notebook_pages  # noqa: E402

from attrbayes import __version__  # noqa: E402

# the CLI reference is written from the typer app on every build, the notebooks as pages
# that myst-nb executes (git-ignored)
cli_reference.write(HERE / "_generated" / "cli_reference.md")
notebook_pages.write(HERE.parent / "notebooks", HERE / "_generated" / "notebooks")

project = "attrbayes"
author = "the attrbayes developers"
release = version = __version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
exclude_patterns = ["_build", "_ext"]
# the notebooks run in quick mode (small panel, tiny MCMC) unless the builder says otherwise;
# outputs are cached beside the output folder and a failing cell fails the build
os.environ.setdefault("ATTRBAYES_NOTEBOOK_QUICK", "1")
nb_execution_mode = "cache"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 600
nb_merge_streams = True
myst_heading_anchors = 3
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_typehints = "description"
autodoc_member_order = "bysource"
html_theme = "pydata_sphinx_theme"
html_title = f"attrbayes {version}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
