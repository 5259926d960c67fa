"""ARCHITECTURE.md's module map matches the package, and the imports keep its layers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_module_map_matches_the_package():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`(attrbayes/[\w/]+\.py)`", text))
    actual = {p.relative_to(ROOT).as_posix() for p in (ROOT / "attrbayes").rglob("*.py")}
    assert actual - listed == set(), "modules missing from ARCHITECTURE.md"
    assert listed - actual == set(), "ARCHITECTURE.md lists modules that do not exist"


def test_imports_follow_the_pipeline_layers(monkeypatch, capsys):
    """The import contract in pyproject.toml ([tool.importlinter]): each module imports
    only from the layers below its own (data -> features -> models -> attractiveness ->
    projection -> reporting -> fronts)."""
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)  # the contract names the package as it sits in the checkout
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                        no_logo=True)  # fmt: skip
    assert code == 0, capsys.readouterr().out


def test_the_top_level_exports_resolve_without_importing_the_stack():
    """``import attrbayes`` is light (the CLI starts fast); each public name is imported
    from its module on first use."""
    import subprocess
    import sys

    code = ("import sys, attrbayes; assert 'pymc' not in sys.modules\n"
            "names = [n for n in attrbayes.__all__ if n != '__version__']\n"
            "assert all(getattr(attrbayes, n).__name__ == n for n in names)\n"
            "print(len(names))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 15
