"""The methodologist notebooks (``notebooks/*.py``, jupytext percent format) as pages of
the documentation: each is converted to a notebook with jupytext on every build, and
myst-nb executes it in quick mode (a small synthetic panel, tiny MCMC) and renders its
text, code, tables and figures. A cell that fails fails the build."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

NOTE = (
    "```{note}\nThis page is the notebook `notebooks/{name}`, run in quick mode "
    "(`ATTRBAYES_NOTEBOOK_QUICK=1`: a small synthetic panel and tiny MCMC) when the "
    "documentation was built, so its numbers show what the notebook computes, not "
    "estimates to cite. Open the `.py` file in Jupyter (jupytext) and run it without "
    "quick mode for full-size fits.\n```"
)


def write(source: Path, out: Path) -> list[Path]:
    """Write one notebook (``.ipynb``, unexecuted) per notebook in ``source`` into
    ``out`` and an index page listing them; returns the notebooks. Unchanged files are
    not rewritten, so that myst-nb's cache keeps their outputs."""
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for path in sorted(source.glob("[0-9]*.py")):
        notebook = jupytext.read(path)
        title = notebook.cells[0]
        if title.cell_type != "markdown" or not title.source.startswith("# "):
            raise ValueError(f"{path}: the first cell must be the notebook's '# title'")
        notebook.cells.insert(1, nbformat.v4.new_markdown_cell(NOTE.replace("{name}", path.name)))
        for i, cell in enumerate(notebook.cells):
            cell.id = f"cell-{i}"  # jupytext's random ids would change the file every build
        notebook.metadata.pop("jupytext", None)
        page = out / f"{path.stem}.ipynb"
        page.with_suffix(".md").unlink(missing_ok=True)  # what earlier builds wrote here
        _write_if_changed(page, nbformat.writes(notebook))
        pages.append(page)
    toc = "\n".join(p.stem for p in pages)
    index = ("# Notebooks\n\nFive notebooks for methodologists: data and features, the OLS "
             "replication, the Bayesian migration model, attractiveness, projections and "
             f"backtests.\n\n```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n")  # fmt: skip
    _write_if_changed(out / "index.md", index)
    return pages


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
