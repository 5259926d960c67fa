"""The methodologist notebooks (``notebooks/*.py``, jupytext percent format) run end to end.

Each notebook is read with jupytext and executed with nbclient in a fresh ``python3``
kernel of this environment, in quick mode (``ATTRBAYES_NOTEBOOK_QUICK=1``: a small
synthetic panel and tiny MCMC), with the working directory and temporary files in the
test's own folder; then its key outputs are checked.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT_S = 600  # per cell; in quick mode the slowest cell takes well under a minute

# notebook -> (texts that must appear in its outputs, minimum number of figures)
EXPECTED: dict[str, tuple[tuple[str, ...], int]] = {
    "01_data_and_features": (("missing terms: none", "migration_2022: terms", "truth"), 7),
    "02_ols_replication": (
        (
            "Residual standard error",
            "published_2022",
            "Years fitted at region level",
            "centrality",
            "cluster / nonrobust",
        ),
        1,
    ),
    "03_bayesian_migration_model": (
        (
            "vra_t",
            "diagnostics gate",
            "elpd_diff",
            "coverage",
            "posterior_median",
            "prior median",
            "data_hash",
        ),
        6,
    ),
    "04_attractiveness": (
        (
            "rank_median",
            "p_top_",
            "Pearson",
            "coverage of the true attractiveness",
            "drivers add up to the actual change in every draw: True",
        ),
        7,
    ),
    "05_projections_and_backtests": (
        ("national population", "coverage table", "coverage_80", "crps_pct"),
        6,
    ),
}


def _outputs(nb: nbformat.NotebookNode) -> tuple[str, int, list[str]]:
    """All text the notebook printed or displayed, its number of figures, its errors."""
    texts, errors, figures = [], [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                texts.append(out["text"])
            elif out["output_type"] in ("display_data", "execute_result"):
                texts.append(out["data"].get("text/plain", ""))
                figures += "image/png" in out["data"]
            elif out["output_type"] == "error":
                errors.append(f"{out['ename']}: {out['evalue']}")
    return "\n".join(texts), figures, errors


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


def test_every_notebook_is_checked():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_has_a_quick_switch_in_its_first_cell(name: str):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0]
    assert "parameters" in first.metadata.get("tags", [])
    # quick mode and a scratch folder outside the repo come from attrbayes.notebook
    assert "from attrbayes.notebook import" in first.source
    assert 'OUT = setup("' in first.source
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_in_quick_mode(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTRBAYES_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's tempfile.mkdtemp lands here
    before = sorted(NOTEBOOKS.iterdir())
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError with the cell's traceback
    elapsed = time.perf_counter() - start
    text, figures, errors = _outputs(nb)
    assert not errors
    expected, min_figures = EXPECTED[name]
    missing = [t for t in expected if t not in text]
    assert not missing, f"{name}: outputs lack {missing}"
    assert figures >= min_figures, f"{name}: {figures} figures, expected >= {min_figures}"
    assert sorted(NOTEBOOKS.iterdir()) == before, "a notebook wrote into notebooks/"
    print(f"{name}: {elapsed:.1f} s")
