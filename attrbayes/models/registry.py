"""Model kinds -> model classes. Specs name a ``kind``; never a dotted import path from a
file. (A saved fit finds its result class by kind in ``attrbayes.results``.)"""

from __future__ import annotations

from attrbayes.exceptions import SpecError
from attrbayes.models.base import BayesModel
from attrbayes.models.jobs import JobsModel
from attrbayes.models.migration import MigrationModel

MODEL_CLASSES: dict[str, type[BayesModel]] = {"migration": MigrationModel, "jobs": JobsModel}


def model_class(kind: str) -> type[BayesModel]:
    """The model class of ``kind`` ("migration" or "jobs")."""
    if kind not in MODEL_CLASSES:
        raise SpecError(f"unknown model kind {kind!r}; known: {sorted(MODEL_CLASSES)}")
    return MODEL_CLASSES[kind]
