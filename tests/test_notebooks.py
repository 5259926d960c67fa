"""The methodologist notebooks (``notebooks/*.py``, jupytext percent format): their quick
switch and scratch folder. That every one runs end to end in quick mode, and what its
outputs show, is checked on the documentation's pages, which execute them
(``tests/test_docs.py``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_notebook_setup_reads_quick_mode_and_writes_outside_the_repo(tmp_path, monkeypatch):
    """Quick mode shrinks panel and sampler; setup sets the display options and returns a
    new folder under TMPDIR."""
    import importlib

    import pandas as pd

    import attrbayes.notebook as notebook

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    for flag, places, chains in (("1", 40, 2), ("0", None, 4)):
        monkeypatch.setenv("ATTRBAYES_NOTEBOOK_QUICK", flag)
        importlib.reload(notebook)
        assert notebook.QUICK is (flag == "1")
        assert notebook.PANEL_SIZE.get("n_places") == places
        assert notebook.SAMPLER.chains == chains
    with pd.option_context("display.precision", 6):
        out = notebook.setup("nbxx", width=120, precision=2)
        assert pd.get_option("display.precision") == 2
    assert out.is_dir()
    assert out.parent == tmp_path
    assert out.name.startswith("attrbayes-nbxx-")


@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.py")))
def test_notebook_has_a_quick_switch_in_its_first_cell(name: str):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0]
    assert "parameters" in first.metadata.get("tags", [])
    # quick mode and a scratch folder outside the repo come from attrbayes.notebook
    assert "from attrbayes.notebook import" in first.source
    assert 'OUT = setup("' in first.source
    assert nb.metadata["kernelspec"]["name"] == "python3"
