"""Where the shipped model specifications, prior sets and assumption sets are found.

The repository's top-level ``models/``, ``priors/`` and ``assumptions/`` are the source of
truth. A wheel carries copies inside the package (``attrbayes/shipped/``; pyproject.toml
maps them in), so an installed attrbayes finds them wherever it runs; a source checkout
(the editable install of ``./dev``) reads the repository's folders directly. An
environment variable per kind points elsewhere (``ATTRBAYES_MODELS``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = {"models": "ATTRBAYES_MODELS", "priors": "ATTRBAYES_PRIORS",
           "assumptions": "ATTRBAYES_ASSUMPTIONS"}  # fmt: skip


def shipped_dir(kind: str) -> Path:
    """The folder of ``kind`` ("models", "priors" or "assumptions"): its environment
    variable if set, else the copy inside the installed package, else the checkout's."""
    if kind not in SHIPPED:
        raise ValueError(f"unknown kind of shipped file {kind!r}; choose from {list(SHIPPED)}")
    env = os.environ.get(SHIPPED[kind])
    if env:
        return Path(env)
    inside = PACKAGE / "shipped" / kind
    return inside if inside.is_dir() else PACKAGE.parent / kind
