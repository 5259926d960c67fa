"""The documentation site builds without a warning, with the CLI reference generated from
the code and every methodologist notebook executed (quick mode) and rendered with its
outputs; the README stays a short entry point (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

# notebook -> (texts that must appear in its rendered outputs, minimum number of figures)
EXPECTED: dict[str, tuple[tuple[str, ...], int]] = {
    "01_data_and_features": (("missing terms: none", "migration_2022: terms", "truth"), 7),
    "02_ols_replication": (
        ("Residual standard error", "published_2022", "Years fitted at region level",
         "centrality", "cluster / nonrobust"),
        1,
    ),
    "03_bayesian_migration_model": (
        ("vra_t", "diagnostics gate", "elpd_diff", "coverage", "posterior_median",
         "prior median", "data_hash"),
        6,
    ),
    "04_attractiveness": (
        ("rank_median", "p_top_", "Pearson", "coverage of the true attractiveness",
         "drivers add up to the actual change in every draw: True"),
        7,
    ),
    "05_projections_and_backtests": (
        ("national population", "coverage table", "coverage_80", "crps_pct"),
        6,
    ),
}  # fmt: skip


class _Outputs(HTMLParser):
    """The text inside a rendered notebook page's cell outputs and its figures."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # open elements inside the current cell output (0: outside one)
        self.texts: list[str] = []
        self.figures = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += tag not in VOID
            self.figures += tag == "img" and (dict(attrs).get("src") or "").endswith(".png")
        elif tag == "div" and "cell_output" in classes:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts.append(data)


VOID = {"img", "br", "hr", "meta", "link", "input", "col", "wbr", "source"}


def _outputs(page: str) -> tuple[str, int]:
    parser = _Outputs()
    parser.feed(page)
    return "".join(parser.texts), parser.figures


def test_every_notebook_is_checked():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.py")) == sorted(EXPECTED)


@pytest.mark.slow
def test_the_docs_build_with_warnings_as_errors(tmp_path):
    before = sorted(NOTEBOOKS.iterdir())
    env = os.environ | {"ATTRBAYES_NOTEBOOK_QUICK": "1", "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                           "html", str(ROOT / "docs"), str(tmp_path / "html")],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "html"
    reference = (out / "_generated" / "cli_reference.html").read_text()
    for command in ("attrbayes-fit", "attrbayes-project", "attrbayes-data-synth"):
        assert f'id="{command}"' in reference  # generated from the typer app
    assert "--draws" in reference
    api = (out / "api.html").read_text()
    assert "Validate and fit a Bayesian model in one call" in api  # autodoc of attrbayes.fit
    # every notebook ran (a failing cell fails the build) and its page shows its outputs
    problems = []
    for name, (texts, min_figures) in EXPECTED.items():
        page = (out / "_generated" / "notebooks" / f"{name}.html").read_text()
        text, figures = _outputs(page)
        if missing := [t for t in texts if t not in text]:
            problems.append(f"{name}: outputs lack {missing}")
        if figures < min_figures:
            problems.append(f"{name}: {figures} figures, expected >= {min_figures}")
        if "quick mode" not in page:
            problems.append(f"{name}: the page does not say it ran in quick mode")
    assert not problems, problems
    assert sorted(NOTEBOOKS.iterdir()) == before, "a notebook wrote into notebooks/"


def test_the_readme_is_a_short_entry_point():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 10_000
    assert readme.splitlines()[3].startswith("./dev demo")
    assert readme.splitlines()[4].startswith("./dev test")
    for link in ("docs/install.md", "docs/usage.md", "docs/model.md"):
        assert (ROOT / link).is_file()
        assert f"({link})" in readme
