"""Shared fixtures: synthetic panels are generated once per session (they are immutable)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from attrbayes.data.synthetic import SyntheticPanel, synthesize_panel


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


@pytest.fixture(scope="session")
def shared_file() -> Callable[[str], Path]:
    """A file of ../shared/data/raw; skipped locally when absent, an error under CI
    (CI has ../shared beside the checkout)."""

    def find(relative: str) -> Path:
        path = SHARED_RAW / relative
        if not path.is_file():
            if os.environ.get("CI"):
                pytest.fail(f"{path} is missing (CI expects ../shared beside the checkout)")
            pytest.skip(f"{path} not available")
        return path

    return find


@pytest.fixture(scope="session")
def shared_raw() -> Path:
    """The raw folder ../shared/data/raw (skipped locally when absent, an error under CI)."""
    if not SHARED_RAW.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_RAW} is missing (CI expects ../shared beside the checkout)")
        pytest.skip(f"{SHARED_RAW} not available")
    return SHARED_RAW
