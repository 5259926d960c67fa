"""Backtest grids as tasks on Dask (``attrbayes backtest --scheduler``).

A grid of origins x migration specs becomes one task per (origin, spec): each refits
both equations on the panel cut at its origin, projects, and scores every scenario
(:func:`attrbayes.diagnostics.backtest.backtest` for that one origin and spec; the OLS
baseline runs with the first spec of each origin). Tasks run on a ``dask.distributed``
cluster: a :class:`~distributed.LocalCluster` of worker processes on this machine by
default, or an existing scheduler given by its address (``tcp://host:8786``), whose
workers need attrbayes installed and the panel at the same path.

Each task writes its own result atomically into ``OUT/tasks/origin<T>-<spec>/`` (a
temporary folder renamed into place), so a failed or interrupted task loses nothing of
the others, and a rerun skips every task whose folder is there. A task that fails is
retried (``retries``), then reported; the grid's combined scores are written to ``OUT``
from the finished tasks. The task graph is flat (no task depends on another): the jobs
equation is refitted in every task of an origin rather than shared, which costs one
jobs fit per extra spec and keeps every task independent on a cluster.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from attrbayes import __version__
from attrbayes.data.panel import read_panel
from attrbayes.diagnostics.backtest import BacktestResult, backtest
from attrbayes.exceptions import SpecError
from attrbayes.io_utils import mark_owned, replace_dir

TASKS_DIR = "tasks"
NOTES_FILE = "notes.txt"


@dataclass(frozen=True)
class SweepTask:
    """One cell of the grid: an origin and a migration spec."""

    origin: int
    spec: str
    baseline: bool  # run the OLS baseline (the first spec of each origin)

    @property
    def key(self) -> str:
        """The task's folder name (and Dask key)."""
        return f"origin{self.origin}-{re.sub(r'[^A-Za-z0-9_.-]', '_', Path(self.spec).stem)}"


@dataclass(frozen=True)
class SweepResult:
    """The combined result of the finished tasks, and what happened to each task."""

    result: BacktestResult | None
    ran: tuple[str, ...]
    skipped: tuple[str, ...]  # finished by an earlier run
    failed: dict[str, str] = field(default_factory=dict)  # task key -> the error


def grid(origins: Sequence[int], specs: Sequence[str], *, baseline: bool = True) -> list[SweepTask]:
    """The tasks of a grid, origin by origin (the baseline with each origin's first spec)."""
    if not origins or not specs:
        raise SpecError("a backtest grid needs at least one origin and one migration spec")
    return [SweepTask(int(o), s, baseline=baseline and i == 0)
            for o in sorted({int(o) for o in origins}) for i, s in enumerate(specs)]  # fmt: skip


def task_dir(out: Path, task: SweepTask) -> Path:
    return out / TASKS_DIR / task.key


def finished(out: Path, task: SweepTask) -> bool:
    """Whether an earlier run wrote the task's result (written whole, or not at all)."""
    return (task_dir(out, task) / "scores.parquet").is_file()


def run_task(task: SweepTask, panel_path: str, out: str, options: dict) -> str:
    """Run one task (in a Dask worker) and write its result atomically; returns its folder."""
    panel = read_panel(panel_path)
    result = backtest(panel, [task.origin], migration_spec=[task.spec], baseline=task.baseline,
                      **options)  # fmt: skip
    target = task_dir(Path(out), task)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        result.save(tmp)
        (tmp / NOTES_FILE).write_text("".join(f"{n}\n" for n in result.notes), encoding="utf-8")
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return str(target)


def load_task(folder: Path) -> BacktestResult:
    """A finished task's result, read back from its folder."""
    coefficient = folder / "coefficient_scores.parquet"
    notes = (folder / NOTES_FILE).read_text(encoding="utf-8").splitlines()
    texts = {p: p.read_text(encoding="utf-8") for p in sorted(folder.glob("assumptions_*.toml"))}
    return BacktestResult(
        scores=pd.read_parquet(folder / "scores.parquet"),
        assumptions={int(p.stem.removeprefix("assumptions_")): t for p, t in texts.items()},
        notes=tuple(notes),
        coefficient=pd.read_parquet(coefficient) if coefficient.is_file() else pd.DataFrame(),
    )


def combine(results: Sequence[BacktestResult]) -> BacktestResult:
    """One result of several tasks' results."""
    coefficients = [r.coefficient for r in results if not r.coefficient.empty]
    return BacktestResult(
        scores=pd.concat([r.scores for r in results], ignore_index=True),
        assumptions={k: v for r in results for k, v in r.assumptions.items()},
        notes=tuple(dict.fromkeys(n for r in results for n in r.notes)),
        coefficient=pd.concat(coefficients, ignore_index=True) if coefficients else pd.DataFrame(),
    )


@contextlib.contextmanager
def client_for(scheduler: str, workers: int) -> Iterator:
    """A Dask client: a local cluster of ``workers`` single-threaded processes for
    ``"local"`` (its dashboard off), else connected to the scheduler at that address."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        # failed tasks are reported by run_sweep; the workers' own logs would repeat them
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.CRITICAL)  # fmt: skip
        with cluster, Client(cluster) as client:
            yield client
    else:
        with Client(scheduler) as client:
            yield client


def run_sweep(
    panel_path: Path,
    origins: Sequence[int],
    specs: Sequence[str],
    out: Path,
    *,
    scheduler: str = "local",
    workers: int = 2,
    retries: int = 1,
    baseline: bool = True,
    progress: Callable[[str], None] | None = None,
    **options,
) -> SweepResult:
    """Run the grid's unfinished tasks on Dask and write the combined scores of all
    finished tasks to ``out`` (``options`` as for :func:`backtest`: horizons, sampler,
    draws, scenarios, ...)."""
    from distributed import as_completed

    say = progress or (lambda _msg: None)
    tasks = grid(origins, specs, baseline=baseline)
    skipped = [t for t in tasks if finished(out, t)]
    todo = [t for t in tasks if t not in skipped]
    out.mkdir(parents=True, exist_ok=True)
    mark_owned(out, "backtest", __version__)
    (out / TASKS_DIR).mkdir(exist_ok=True)
    mark_owned(out / TASKS_DIR, "backtest tasks", __version__)
    if skipped:
        say(f"{len(skipped)} of {len(tasks)} task(s) finished by an earlier run: skipped")
    failed: dict[str, str] = {}
    ran: list[str] = []
    if todo:
        with client_for(scheduler, workers) as client:
            futures = {client.submit(run_task, t, str(panel_path), str(out), options,
                                     key=t.key, retries=retries, pure=False): t
                       for t in todo}  # fmt: skip
            for future in as_completed(futures):
                task = futures[future]
                if future.status == "error":
                    failed[task.key] = f"{type(future.exception()).__name__}: {future.exception()}"
                    say(f"{task.key}: failed ({failed[task.key]})")
                else:
                    ran.append(task.key)
                    say(f"{task.key}: done ({len(ran) + len(failed)}/{len(todo)})")
    results = [load_task(task_dir(out, t)) for t in tasks if finished(out, t)]
    combined = combine(results) if results else None
    if combined is not None:
        combined.save(out)
    return SweepResult(combined, tuple(ran), tuple(t.key for t in skipped), failed)
