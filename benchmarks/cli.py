"""Benchmark: one attrbayes command's wall time, peak memory and output size, with a
baseline commit's CLI timed beside it on the same arguments (issue 17).

Run: ./dev python benchmarks/cli.py [--baseline REF] [--repeat N] -- COMMAND [ARGS ...]

For example (the issue's table):
    ./dev python benchmarks/cli.py --baseline 429834d -- demo --out runs/demo-bench
    ./dev python benchmarks/cli.py --baseline 429834d -- project runs/r24_mig --jobs
        runs/r24_jobs --data runs/real2024 --assumptions norway_2024 --draws 500
        --out runs/proj2024 --force
    ./dev python benchmarks/cli.py --repeat 3 -- fan runs/bench-projection --place 0301
        --out runs/fan.png

``attrbayes COMMAND ARGS`` runs in a new process, from the repository root; GNU time
measures its peak resident memory (that process's own, not its workers'). The baseline
runs git REF's CLI (checked out once under ``runs/baseline-<REF>``, first on the import
path) with the same arguments, except that its ``--out`` goes to ``OUT-baseline-<REF>``,
so that neither run replaces the other's output. Each run is printed with its figures,
then the ratio of the best times and of the peaks.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from attrbayes.cli import app; sys.argv[0] = 'attrbayes'; app()"


def size_mb(path: Path) -> float:
    """Bytes under ``path`` (a file or a folder), in MB."""
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def out_path(args: list[str]) -> Path | None:
    return Path(args[args.index("--out") + 1]) if "--out" in args[:-1] else None


def timed(args: list[str], tree: Path | None) -> tuple[float, float]:
    """Wall seconds and peak MB of ``attrbayes args`` (``tree``'s CLI when given)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        # -P: the working directory does not come before PYTHONPATH on the import path
        command = ["/usr/bin/time", "-o", peak.name, "-f", "%M", sys.executable, "-P", "-c",
                   CLI, *args]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"attrbayes {' '.join(args)} failed:\n{done.stdout}\n"
                               f"{done.stderr}")  # fmt: skip
        lines = Path(peak.name).read_text().split()
    return wall, float(lines[-1]) / 1024 if lines else float("nan")


def measure(label: str, args: list[str], tree: Path | None, repeat: int) -> tuple[float, float]:
    """Run ``repeat`` times and print each; the best wall time and the largest peak."""
    out = out_path(args)
    walls, peaks = [], []
    for _ in range(repeat):
        wall, peak = timed(args, tree)
        walls.append(wall)
        peaks.append(peak)
        written = f", {size_mb(ROOT / out):.1f} MB written" if out is not None else ""
        print(f"{label}: {wall:.1f} s wall, peak RSS {peak:.0f} MB{written}", flush=True)
    return min(walls), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", help="git ref whose CLI to time beside")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- then an attrbayes command and its arguments")  # fmt: skip
    opts = parser.parse_args()
    args = opts.command[1:] if opts.command[:1] == ["--"] else opts.command
    if not args:
        parser.error("give an attrbayes command after --")
    print(f"attrbayes {' '.join(args)}")
    now = measure("now", args, None, opts.repeat)
    if opts.baseline:
        from _baseline import worktree

        tree = worktree(opts.baseline)
        base_args = list(args)
        out = out_path(args)
        if out is not None:
            moved = out.with_name(f"{out.stem}-baseline-{tree.name.removeprefix('baseline-')}"
                                  f"{out.suffix}")  # fmt: skip
            base_args[base_args.index("--out") + 1] = str(moved)
        base = measure(f"baseline {opts.baseline}", base_args, tree, opts.repeat)
        print(f"now {now[0] / base[0]:.2f}x the baseline's best time, {now[1] / base[1]:.2f}x "
              f"its peak memory")  # fmt: skip


if __name__ == "__main__":
    main()
