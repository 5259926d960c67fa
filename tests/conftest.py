"""Shared fixtures: synthetic panels are generated once per session (they are immutable)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from attrbayes.synthetic import SyntheticPanel, synthesize_panel


@pytest.fixture(scope="session")
def small_synthetic() -> SyntheticPanel:
    """40 places, 2000-2010: fast enough for every unit test that needs a whole panel."""
    return synthesize_panel(n_places=40, first_year=2000, last_year=2010, seed=7)


@pytest.fixture(scope="session")
def default_synthetic() -> SyntheticPanel:
    """The embedded default panel (356 places, 2000-2023)."""
    return synthesize_panel()


@pytest.fixture(scope="session")
def small_panel_dir(tmp_path_factory: pytest.TempPathFactory, small_synthetic: SyntheticPanel):
    path = tmp_path_factory.mktemp("panels") / "small"
    small_synthetic.write(path)
    return path


SHARED_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


def require(path: Path, present: bool, why: str) -> Path:
    """``path`` when ``present``; otherwise skip locally and fail under CI (``why`` says
    why CI has it)."""
    if not present:
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing ({why})")
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="session")
def shared_file() -> Callable[[str], Path]:
    """A file of ../shared/data/raw; skipped locally when absent, an error under CI
    (CI has ../shared beside the checkout)."""

    def find(relative: str) -> Path:
        path = SHARED_RAW / relative
        return require(path, path.is_file(), "CI expects ../shared beside the checkout")

    return find


@pytest.fixture(scope="session")
def shared_raw() -> Path:
    """The raw folder ../shared/data/raw (skipped locally when absent, an error under CI)."""
    return require(SHARED_RAW, SHARED_RAW.is_dir(), "CI expects ../shared beside the checkout")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's headless Chromium for browser tests (CI installs it in ``.ci/run``)."""
    path = Path("/usr/bin/chromium")
    require(path, path.is_file(), "CI installs Debian's chromium")
    pytest.importorskip("playwright.sync_api")
    return path


@pytest.fixture(scope="session")
def small_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run like ``attrbayes demo`` writes (panel/, both fits, projection/), small: 12
    places, 2000-2010, prior draws, 30 projected draws to 2030 (for report tests)."""
    from attrbayes.config import SamplerConfig, load_spec
    from attrbayes.features.design import build_design, compute_features
    from attrbayes.models.registry import model_class
    from attrbayes.projection.engine import project

    root = tmp_path_factory.mktemp("report_run")
    synthetic = synthesize_panel(n_places=12, first_year=2000, last_year=2010, seed=11)
    synthetic.write(root / "panel")
    features = compute_features(synthetic.panel, "municipality")
    fits = {}
    for name in ("migration_2022", "jobs_2022"):
        spec = load_spec(name)
        model = model_class(spec.kind)(build_design(features, spec), spec)
        fit = model.fit(SamplerConfig(sampler="prior", chains=2, draws=40))
        fit.save(root / name / "fit.nc")
        fits[spec.kind] = fit
    result = project(fits["migration"], fits["jobs"], synthetic.panel, draws=30, to=2030)
    result.save(root / "projection" / "projection.nc")
    return root
