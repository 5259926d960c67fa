"""Shared fixtures: synthetic panels are generated once per session (they are immutable)."""

from __future__ import annotations

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
