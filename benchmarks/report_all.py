"""Benchmark: ``attrbayes report RUN --all`` (issue 17 target: 356 places in under 5 min
on the 2-core machine), with a baseline commit's reports timed beside it.

Run: ./dev python benchmarks/report_all.py RUN [--workers 2] [--baseline REF]
     [--baseline-seconds 150] [--dask]

The current code writes every place's report (HTML and xlsx) and the index; its wall time
and the peak memory of its largest process (GNU time) are printed. The baseline (git REF,
checked out once under ``runs/baseline-<REF>``) runs the same command on the same run for
``--baseline-seconds`` and is stopped; its time for all places is extrapolated from the
reports it finished (labelled as such). RUN must be readable by both versions (e.g. a
demo run whose projection the baseline wrote). ``--dask`` also writes them as Dask tasks
(``--scheduler local`` with the same number of workers) and prints its time beside.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = "import sys; from attrbayes.cli import app; sys.argv[0] = 'attrbayes'; app()"


def timed_report(python_path: str | None, run: Path, out: Path, workers: int,
                 limit: float | None, extra: tuple[str, ...] = ()
                 ) -> tuple[float, int, float, bool]:  # fmt: skip
    """Wall seconds, reports written, peak MB of the largest process, finished or not."""
    env = dict(os.environ)
    if python_path:
        env["PYTHONPATH"] = python_path
    peak_file = out.parent / f"{out.name}.peak"
    command = ["/usr/bin/time", "-o", str(peak_file), "-f", "%M", sys.executable, "-P", "-c",
               CLI, "report", str(run), "--all", "--out", str(out), "--lang", "nb",
               "--workers", str(workers), *extra]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        _, err = proc.communicate(timeout=limit)
        finished = proc.returncode == 0
        if not finished:
            raise RuntimeError(f"report --all failed:\n{err}")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # GNU time, the CLI and its workers
        proc.communicate()
        finished = False
    wall = time.perf_counter() - start
    done = sum(1 for p in out.glob("*.html") if p.name != "index.html") if out.exists() else 0
    lines = peak_file.read_text().split() if peak_file.exists() else []
    peak = float(lines[-1]) / 1024 if lines and lines[-1].isdigit() else float("nan")
    return wall, done, peak, finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", help="git ref whose report --all to time beside")
    parser.add_argument("--baseline-seconds", type=float, default=150.0)
    parser.add_argument("--dask", action="store_true", help="also time --scheduler local")
    args = parser.parse_args()
    from attrbayes.data.panel import read_panel

    n_places = len(read_panel(args.run / "panel").place_codes)
    scratch = Path(tempfile.mkdtemp(prefix="report-all-"))
    try:
        wall, done, peak, _ = timed_report(None, args.run, scratch / "now", args.workers, None)
        size = sum(p.stat().st_size for p in (scratch / "now").iterdir()) / 1e6
        print(f"report --all, {n_places} places, {args.workers} workers: {wall:.1f} s wall "
              f"({wall / done:.2f} s a place), peak RSS {peak:.0f} MB (largest process), "
              f"{size:.0f} MB written")  # fmt: skip
        if args.dask:
            d_wall, d_done, d_peak, _ = timed_report(None, args.run, scratch / "dask",
                                                     args.workers, None,
                                                     ("--scheduler", "local"))  # fmt: skip
            print(f"as Dask tasks (--scheduler local, {args.workers} workers): {d_wall:.1f} s "
                  f"wall ({d_wall / d_done:.2f} s a place), peak RSS {d_peak:.0f} MB (largest "
                  f"process); {d_wall / wall:.2f}x the time of the process pool")  # fmt: skip
        if args.baseline:
            from _baseline import worktree

            tree = str(worktree(args.baseline))
            b_wall, b_done, b_peak, b_finished = timed_report(
                tree, args.run, scratch / "base", args.workers, args.baseline_seconds
            )
            total = b_wall if b_finished else b_wall * n_places / max(b_done, 1)
            how = "measured" if b_finished else (
                f"extrapolated from {b_done} reports in {b_wall:.0f} s")  # fmt: skip
            print(f"baseline {args.baseline}: {total:.0f} s for all places ({how}), peak RSS "
                  f"{b_peak:.0f} MB; now {wall / total:.2f}x the time")  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
