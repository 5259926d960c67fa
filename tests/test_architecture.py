"""ARCHITECTURE.md's module map matches the package."""

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
