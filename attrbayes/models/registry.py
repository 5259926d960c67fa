"""Model kinds -> classes. Specs name a ``kind``; never a dotted import path from a file."""

from __future__ import annotations

from attrbayes.exceptions import SpecError


def _kinds() -> dict[str, tuple[type, type]]:
    from attrbayes.models.jobs import JobsModel
    from attrbayes.models.migration import MigrationModel
    from attrbayes.results import JobsFit, MigrationFit

    return {"migration": (MigrationModel, MigrationFit), "jobs": (JobsModel, JobsFit)}


def model_class(kind: str) -> type:
    try:
        return _kinds()[kind][0]
    except KeyError:
        raise SpecError(f"unknown model kind {kind!r}; known: {sorted(_kinds())}") from None


def result_class(kind: str) -> type:
    try:
        return _kinds()[kind][1]
    except KeyError:
        raise SpecError(f"unknown model kind {kind!r}; known: {sorted(_kinds())}") from None
