"""Timings for the foundation: synthetic panel, panel I/O, features, OLS and the demo.

Run: ./dev python benchmarks/synth_and_demo.py
Targets (issue 2): the default panel generates in under 20 s; `attrbayes demo` prints the
OLS tables of the four model versions in under 2 minutes.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from attrbayes.data import read_panel
from attrbayes.features.design import compute_features
from attrbayes.pipeline import DEMO_SPECS, run_ols
from attrbayes.synthetic import synthesize_panel


def timed(label: str, fn, repeat: int = 1):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<48} {best:8.2f} s  (best of {repeat})")
    return value


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.node()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "panel"
        sp = timed("synthesize default panel (356 x 2000-2023)", synthesize_panel, repeat=3)
        timed("write panel + truth", lambda: sp.write(out, overwrite=True), repeat=3)
        panel = timed("read + validate panel", lambda: read_panel(out), repeat=3)
        region = timed("features, region level", lambda: compute_features(panel, "region"))
        municipal = timed(
            "features, municipality level", lambda: compute_features(panel, "municipality")
        )
        timed(
            "four OLS versions, region level",
            lambda: [run_ols(region, s, level="region") for s in DEMO_SPECS],
        )
        timed(
            "migration_2022 by year, municipality level",
            lambda: run_ols(municipal, "migration_2022", level="municipality", by_year=True),
        )
        exe = Path(sys.executable).with_name("attrbayes")
        timed(
            "attrbayes demo (end to end, subprocess)",
            lambda: _run([str(exe), "demo", "--out", str(Path(tmp) / "demo")]),
        )


if __name__ == "__main__":
    main()
