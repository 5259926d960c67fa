"""The documentation site builds without a warning, and the README stays a short entry
point (issue 18)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_docs_build_with_warnings_as_errors(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                           "html", str(ROOT / "docs"), str(tmp_path / "html")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    reference = (tmp_path / "html" / "_generated" / "cli_reference.html").read_text()
    for command in ("attrbayes-fit", "attrbayes-project", "attrbayes-data-synth"):
        assert f'id="{command}"' in reference  # generated from the typer app
    assert "--draws" in reference
    for notebook in (ROOT / "notebooks").glob("[0-9]*.py"):  # every notebook is a page
        assert (tmp_path / "html" / "_generated" / "notebooks" / f"{notebook.stem}.html").is_file()
    api = (tmp_path / "html" / "api.html").read_text()
    assert "Validate and fit a Bayesian model in one call" in api  # autodoc of attrbayes.fit


def test_the_readme_is_a_short_entry_point():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 10_000
    assert readme.splitlines()[3].startswith("./dev demo")
    assert readme.splitlines()[4].startswith("./dev test")
    for link in ("docs/install.md", "docs/usage.md", "docs/model.md"):
        assert (ROOT / link).is_file()
        assert f"({link})" in readme
