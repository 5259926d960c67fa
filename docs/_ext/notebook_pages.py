"""The methodologist notebooks (``notebooks/*.py``, jupytext percent format) as pages of
the documentation: their text and code, converted with jupytext on every build. Their
outputs come from running them (``tests/test_notebooks.py`` executes every one)."""

from __future__ import annotations

from pathlib import Path

import jupytext

NOTE = (
    "```{note}\nThis page is the notebook `notebooks/{name}` as text and code. Run it with "
    "Jupyter (jupytext opens the `.py` file as a notebook) to see its tables and figures; "
    "`ATTRBAYES_NOTEBOOK_QUICK=1` runs it on a small panel with tiny MCMC.\n```\n\n"
)


def write(source: Path, out: Path) -> list[Path]:
    """Write one Markdown page per notebook in ``source`` into ``out`` and an index page
    listing them; returns the pages."""
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for path in sorted(source.glob("[0-9]*.py")):
        notebook = jupytext.read(path)
        text = jupytext.writes(notebook, fmt="md")
        if text.startswith("---\n"):  # jupytext's own metadata header
            text = text[text.index("\n---\n", 4) + 5 :]
        title, _, body = text.lstrip("\n").partition("\n")
        page = out / f"{path.stem}.md"
        content = f"{title}\n\n" + NOTE.replace("{name}", path.name) + body.lstrip("\n")
        if not page.is_file() or page.read_text(encoding="utf-8") != content:
            page.write_text(content, encoding="utf-8")
        pages.append(page)
    toc = "\n".join(p.stem for p in pages)
    index = ("# Notebooks\n\nFive notebooks for methodologists: data and features, the OLS "
             "replication, the Bayesian migration model, attractiveness, projections and "
             f"backtests.\n\n```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n")  # fmt: skip
    target = out / "index.md"
    if not target.is_file() or target.read_text(encoding="utf-8") != index:
        target.write_text(index, encoding="utf-8")
    return pages
