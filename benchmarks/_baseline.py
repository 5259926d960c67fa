"""Run a benchmark script as an earlier commit of attrbayes had it, beside the current one.

``run_baseline(ref, script, args)`` checks ``ref`` out into a detached git worktree under
``runs/baseline-<ref>`` (once), then runs that worktree's copy of ``script`` with the
worktree first on the import path, from the repository root (so cached inputs in
``runs/`` are shared), and returns its standard output. Numbers from both runs come from
the same machine in the same session, so their ratio is fair.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worktree(ref: str) -> Path:
    """A checkout of ``ref`` beside the runs (made once, reused)."""
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    path = ROOT / "runs" / f"baseline-{commit}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
    return path


def run_baseline(ref: str, script: str, args: list[str]) -> str:
    """Standard output of ``ref``'s ``benchmarks/<script>`` run with ``args``."""
    tree = worktree(ref)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, str(tree / "benchmarks" / script), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"baseline {ref} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def number(pattern: str, text: str) -> float:
    """The first number after ``pattern`` in ``text`` (NaN when absent)."""
    found = re.search(pattern + r"\s*([0-9.]+)", text)
    return float(found.group(1)) if found else float("nan")
