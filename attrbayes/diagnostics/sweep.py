"""Sweeps as tasks on Dask: backtest grids and reports for every place.

``attrbayes backtest --scheduler`` runs a grid of origins x migration specs x prior sets,
one task per cell: each refits both equations on the panel cut at its origin, projects
every scenario and scores them (:func:`attrbayes.diagnostics.backtest.backtest` for that
one cell; the OLS baseline runs with the first spec and prior set of each origin). The
scenarios stay inside their cell's task: they share its fits and draws. ``attrbayes
project --sweep KEY=V1,V2 --scheduler`` projects the same fits once per combination of
the swept settings (assumption sets, alternatives, custom attractiveness levels), a
projection per task. ``attrbayes report --all --scheduler`` runs one task per place, on
workers that each got the prepared report builder once.

Tasks run on a ``dask.distributed`` cluster: a :class:`~distributed.LocalCluster` of
single-threaded worker processes on this machine by default, or an existing scheduler
given by its address (``tcp://host:8786``), whose workers need attrbayes installed and
the panel, the run and the output folder at the same paths (a shared file system).

Each task writes its record atomically into ``OUT/tasks/KEY/`` (a temporary folder
renamed into place), so a failed or interrupted task loses nothing of the others, and a
rerun skips every task whose folder is there. A task that fails is retried
(``retries``), then reported. A sweep keeps its settings in ``OUT/sweep.json``: a rerun
continues only a sweep with the same settings (``force`` starts it over), so that one
folder never mixes results of two different sweeps. No task depends on another: the jobs
equation is refitted in every cell of an origin rather than shared, which costs one jobs
fit per extra cell and keeps every task independent on a cluster.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from attrbayes import __version__
from attrbayes.data.panel import read_panel
from attrbayes.diagnostics.backtest import BacktestResult, backtest
from attrbayes.exceptions import DataError, SpecError
from attrbayes.io_utils import atomic_write_text, csv_text, mark_owned, replace_dir

TASKS_DIR = "tasks"
SETTINGS_FILE = "sweep.json"
NOTES_FILE = "notes.txt"
SUMMARY_FILE = "summary.json"


# -- tasks on Dask ------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One task: ``func(folder, [shared,] *args)`` writes the task's record into
    ``folder`` (a fresh temporary folder, renamed to ``OUT/tasks/KEY`` when it returns);
    ``func`` must be importable by the workers (a module-level function)."""

    key: str
    func: Callable[..., None]
    args: tuple = ()


@dataclass(frozen=True)
class TaskOutcome:
    """What happened to each task of a sweep."""

    ran: tuple[str, ...]
    skipped: tuple[str, ...]  # finished by an earlier run
    failed: dict[str, str] = field(default_factory=dict)  # task key -> the error


@dataclass(frozen=True)
class Cluster:
    """Where a sweep's tasks run and how they are followed: ``scheduler`` is ``"local"``
    (a local cluster of ``workers`` processes) or a scheduler's address; a failed task is
    tried ``retries`` more times; ``progress(key, error)`` is called as each task ends
    (``error`` None when it worked)."""

    scheduler: str = "local"
    workers: int = 2
    retries: int = 1
    progress: Callable[[str, str | None], None] | None = None

    def describe(self) -> str:
        if self.scheduler == "local":
            return f"a local cluster of {self.workers} worker(s)"
        return self.scheduler


def safe_key(text: str) -> str:
    """``text`` as a folder name and Dask key (letters, digits, ``_ . - = +``)."""
    return re.sub(r"[^A-Za-z0-9_.=+-]", "_", text)


def task_dir(out: Path, key: str) -> Path:
    return out / TASKS_DIR / key


def finished(out: Path, key: str) -> bool:
    """Whether an earlier run wrote the task's record (written whole, or not at all)."""
    return task_dir(out, key).is_dir()


def claim_sweep(out: Path, kind: str, settings: dict[str, Any], *, force: bool) -> None:
    """Start the sweep in ``out``, or continue the one there: a rerun continues only a
    sweep of the same ``kind`` and ``settings`` (JSON values); ``force`` starts over
    (removes the earlier tasks and settings, which are ours). ``out`` is marked as ours
    only when it is new or empty: reports may go into a folder that holds other files."""
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(parents=True, exist_ok=True)
        mark_owned(out, kind, __version__)
    path = out / SETTINGS_FILE
    wanted = {"kind": kind, **settings}
    if force:
        shutil.rmtree(out / TASKS_DIR, ignore_errors=True)
        path.unlink(missing_ok=True)
    if path.is_file():
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a sweep's settings ({exc}); give --force to start "
                            "the sweep over") from exc  # fmt: skip
        differ = sorted(k for k in wanted.keys() | earlier.keys()
                        if earlier.get(k) != wanted.get(k))  # fmt: skip
        if differ:
            raise DataError(
                f"{out} holds a sweep with other settings ({', '.join(differ)} differ); "
                "give --force to start it over, or another --out"
            )
    else:
        atomic_write_text(path, json.dumps(wanted, indent=1, sort_keys=True) + "\n")
    (out / TASKS_DIR).mkdir(exist_ok=True)
    mark_owned(out / TASKS_DIR, f"{kind} tasks", __version__)


@contextlib.contextmanager
def client_for(cluster: Cluster) -> Iterator:
    """A Dask client: of a local cluster of single-threaded worker processes, or
    connected to the scheduler at the cluster's address."""
    from distributed import Client, LocalCluster

    if cluster.scheduler == "local":
        # the scheduler's HTTP server starts in any case: on a free port, so that two
        # local clusters at once do not both ask for 8787; failed tasks are reported by
        # run_tasks, and the workers' own logs would repeat them
        local = LocalCluster(n_workers=cluster.workers, threads_per_worker=1, processes=True,
                             dashboard_address=":0", silence_logs=logging.CRITICAL)  # fmt: skip
        with local, Client(local) as client:
            yield client
    else:
        with Client(cluster.scheduler) as client:
            yield client


def run_tasks(
    tasks: Sequence[Task], out: Path, cluster: Cluster, *, shared: object | None = None
) -> TaskOutcome:
    """Run the unfinished ``tasks`` on Dask, each writing ``OUT/tasks/KEY`` atomically;
    ``shared`` (when given) is sent once to every worker and passed to each task."""
    from distributed import as_completed

    say = cluster.progress or (lambda _key, _error: None)
    if len({t.key for t in tasks}) < len(tasks):
        raise SpecError("the tasks of a sweep need distinct keys")
    skipped = [t.key for t in tasks if finished(out, t.key)]
    todo = [t for t in tasks if t.key not in skipped]
    failed: dict[str, str] = {}
    ran: list[str] = []
    if todo:
        with client_for(cluster) as client:
            common = () if shared is None else (client.scatter(shared, broadcast=True),)
            futures = {client.submit(_run_task, t, str(out), *common, key=t.key,
                                     retries=cluster.retries, pure=False): t
                       for t in todo}  # fmt: skip
            for future in as_completed(futures):
                task = futures[future]
                if future.status == "error":
                    failed[task.key] = f"{type(future.exception()).__name__}: {future.exception()}"
                else:
                    ran.append(task.key)
                say(task.key, failed.get(task.key))
    return TaskOutcome(tuple(ran), tuple(skipped), failed)


def _run_task(task: Task, out: str, *shared: object) -> str:
    """Run one task (in a Dask worker) into a temporary folder, then rename it into place."""
    target = task_dir(Path(out), task.key)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        task.func(tmp, *shared, *task.args)
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return str(target)


# -- backtest grids ------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    """One cell of a backtest grid: an origin, a migration spec and a prior set."""

    origin: int
    spec: str
    priors: str | None  # None: the default prior set
    baseline: bool  # run the OLS baseline (the first cell of each origin)

    @property
    def key(self) -> str:
        parts = [f"origin{self.origin}", Path(self.spec).stem]
        parts += [] if self.priors is None else [Path(self.priors).stem]
        return safe_key("-".join(parts))


@dataclass(frozen=True)
class SweepResult(TaskOutcome):
    """What happened to each task of a grid, and the combined result of the finished ones."""

    result: BacktestResult | None = None


def grid(
    origins: Sequence[int],
    specs: Sequence[str],
    priors: Sequence[str | None] = (None,),
    *,
    baseline: bool = True,
) -> list[GridCell]:
    """The cells of a grid, origin by origin (the baseline with each origin's first cell)."""
    if not origins or not specs or not priors:
        raise SpecError("a backtest grid needs at least one origin and one migration spec")
    cells = [(s, p) for s in specs for p in priors]
    years = sorted({int(o) for o in origins})
    return [GridCell(o, s, p, baseline=baseline and i == 0)
            for o in years for i, (s, p) in enumerate(cells)]  # fmt: skip


def backtest_task(folder: Path, cell: GridCell, panel_path: str, options: dict) -> None:
    """One cell's backtest, written into ``folder`` (runs in a Dask worker)."""
    result = backtest(read_panel(panel_path), [cell.origin], migration_spec=[cell.spec],
                      priors=cell.priors, baseline=cell.baseline, **options)  # fmt: skip
    result.save(folder)
    (folder / NOTES_FILE).write_text("".join(f"{n}\n" for n in result.notes), encoding="utf-8")


def load_task(folder: Path) -> BacktestResult:
    """A finished cell's result, read back from its folder."""
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


def grid_settings(panel_path: Path, options: dict) -> dict[str, Any]:
    """What a rerun of a grid must share with the first run (JSON values)."""
    sampler = options.get("sampler")
    plain = {k: v for k, v in options.items() if k not in ("sampler", "coefficient_truth")}
    return {"panel": str(Path(panel_path).resolve()),
            "sampler": sampler.model_dump(exclude={"progress", "cores"}) if sampler else None,
            **json.loads(json.dumps(plain, default=list))}  # fmt: skip


def run_sweep(
    panel_path: Path,
    origins: Sequence[int],
    specs: Sequence[str],
    out: Path,
    *,
    priors: Sequence[str | None] = (None,),
    cluster: Cluster = Cluster(),
    baseline: bool = True,
    force: bool = False,
    **options,
) -> SweepResult:
    """Run the grid's unfinished cells on Dask and write the combined scores of all
    finished cells to ``out`` (``options`` as for :func:`backtest`: horizons, sampler,
    draws, scenarios, ...)."""
    cells = grid(origins, specs, priors, baseline=baseline)
    claim_sweep(out, "backtest", {**grid_settings(panel_path, options), "baseline": baseline},
                force=force)  # fmt: skip
    tasks = [Task(c.key, backtest_task, (c, str(panel_path), options)) for c in cells]
    outcome = run_tasks(tasks, out, cluster)
    results = [load_task(task_dir(out, c.key)) for c in cells if finished(out, c.key)]
    combined = combine(results) if results else None
    if combined is not None:
        combined.save(out)
    return SweepResult(outcome.ran, outcome.skipped, outcome.failed, result=combined)


# -- projection sweeps ---------------------------------------------------------------------

# what ``project --sweep`` may vary, and how a value is read
SWEEP_KEYS: dict[str, Callable[[str], Any]] = {
    "assumptions": str, "alternative": str,
    "attractiveness": float, "attractiveness_percentile": float,
    "business_attractiveness": float, "business_attractiveness_percentile": float,
}  # fmt: skip
LEVEL_KEYS = ("attractiveness", "attractiveness_percentile", "business_attractiveness",
              "business_attractiveness_percentile")  # fmt: skip
SWEEP_TABLE = "sweep_population.csv"
PROJECTION_SWEEP_NAMES = frozenset({SETTINGS_FILE, TASKS_DIR, SWEEP_TABLE})


def parse_sweep(texts: Sequence[str]) -> dict[str, list]:
    """``["alternative=low,main,high", "attractiveness=-0.2,0.2"]`` as the swept values
    of each key (keys with ``-`` or ``_``), checked."""
    axes: dict[str, list] = {}
    for text in texts:
        key, sep, values = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in SWEEP_KEYS or not values.strip():
            raise SpecError(f"--sweep {text!r}: expected KEY=V1,V2,... with KEY one of "
                            f"{sorted(k.replace('_', '-') for k in SWEEP_KEYS)}")  # fmt: skip
        if key in axes:
            raise SpecError(f"--sweep {key.replace('_', '-')} is given twice")
        try:
            parsed = [SWEEP_KEYS[key](v.strip()) for v in values.split(",") if v.strip()]
        except ValueError:
            raise SpecError(f"--sweep {text!r}: {key.replace('_', '-')} takes numbers") from None
        if len(set(parsed)) < len(parsed):
            raise SpecError(f"--sweep {text!r}: a value is repeated")
        axes[key] = parsed
    return axes


def sweep_cells(axes: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the swept values, in the order given."""
    cells: list[dict[str, Any]] = [{}]
    for key, values in axes.items():
        cells = [{**cell, key: v} for cell in cells for v in values]
    return cells


def cell_key(cell: dict[str, Any]) -> str:
    """A cell's folder name: ``alternative=low-attractiveness=0.2``."""
    return safe_key("-".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={Path(v).stem}"
                             for k, v in cell.items()))  # fmt: skip


def projection_task(folder: Path, cell: dict[str, Any], sources: tuple, levels: dict,
                    options: dict) -> None:  # fmt: skip
    """One cell's projection into ``folder`` (runs in a Dask worker): the fits and panel
    read from ``sources`` (run, jobs, data), the cell's settings over ``options`` and the
    custom scenario's ``levels``."""
    from attrbayes.pipeline import run_projection
    from attrbayes.projection.scenarios import custom_scenario
    from attrbayes.runs import resolve_projection_runs

    run, jobs, data = (None if p is None else Path(p) for p in sources)
    levels = {**levels, **{k: v for k, v in cell.items() if k in LEVEL_KEYS}}
    settings = {k: v for k, v in cell.items() if k not in LEVEL_KEYS}
    with warnings.catch_warnings():  # the command checked the runs and said so once
        warnings.simplefilter("ignore")
        runs = resolve_projection_runs(run, jobs, data)
    run_projection(runs, folder, overwrite=True,
                   custom=custom_scenario(*(levels.get(k) for k in LEVEL_KEYS)),
                   **{**options, **settings})  # fmt: skip


def run_projection_sweep(
    sources: tuple[Path, Path | None, Path | None],
    axes: dict[str, list],
    out: Path,
    *,
    levels: dict[str, float | None],
    options: dict[str, Any],
    cluster: Cluster = Cluster(),
    force: bool = False,
) -> tuple[TaskOutcome, pd.DataFrame]:
    """A projection per combination of the swept settings (``axes``, as from
    :func:`parse_sweep`), each into ``OUT/tasks/KEY``, and the population quantiles of
    every finished cell in one table (``OUT/sweep_population.csv``, a column per swept
    key)."""
    cells = sweep_cells(axes)
    paths = tuple(None if p is None else str(Path(p).resolve()) for p in sources)
    settings = json.loads(json.dumps({"sources": paths, "axes": axes, "levels": levels,
                                      "options": options}, default=str))  # fmt: skip
    claim_sweep(out, "projection sweep", settings, force=force)
    tasks = [Task(cell_key(c), projection_task, (c, paths, levels, options)) for c in cells]
    outcome = run_tasks(tasks, out, cluster)
    frames = [population_table(task_dir(out, t.key)).assign(**cell)
              for t, cell in zip(tasks, cells, strict=True) if finished(out, t.key)]  # fmt: skip
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frames:
        first = [*axes, *(c for c in table.columns if c not in axes)]
        table = table[first]
        atomic_write_text(out / SWEEP_TABLE, csv_text(table))
    return outcome, table


def population_table(folder: Path) -> pd.DataFrame:
    """A projection's population quantiles at every level (place, region, county,
    centrality class, nation; groups summed per draw, as the projection stores them)."""
    from attrbayes.projection.result import ProjectionResult
    from attrbayes.projection.tables import LEVELS, quantile_table

    result = ProjectionResult.load(folder / "projection.nc")
    return pd.concat([quantile_table(result, level=level, variables=["population"])
                      for level in LEVELS], ignore_index=True)  # fmt: skip


# -- reports for every place ---------------------------------------------------------------


def report_task(folder: Path, builder: Any, code: str, out_dir: str, lang: str,
                xlsx: bool) -> None:  # fmt: skip
    """One place's report into ``out_dir`` (its HTML and workbook, each written atomically)
    and its summary for the index page into ``folder`` (runs in a Dask worker, on the
    builder every task of that worker shares)."""
    from attrbayes.reporting.report import write_place

    builder.prepare()  # once per worker: only what the parent left out ("what must happen")
    paths, report = write_place(builder, code, Path(out_dir), lang, xlsx)
    record = {"place": report.place, "name": report.name, "lang": lang,
              "summary": report.summary, "files": [Path(p).name for p in paths]}  # fmt: skip
    (folder / SUMMARY_FILE).write_text(json.dumps(record, default=float), encoding="utf-8")


def run_report_sweep(
    builder: Any,
    out: Path,
    *,
    lang: str,
    xlsx: bool,
    settings: dict[str, Any],
    cluster: Cluster = Cluster(),
    force: bool = False,
) -> tuple[TaskOutcome, list[Path]]:
    """Reports for every place of the prepared ``builder`` as Dask tasks (one a place),
    then ``index.html`` over the finished places; returns the outcome and the index."""
    from attrbayes.reporting.report import PlaceReport, write_index

    claim_sweep(out, "report", {**settings, "lang": lang, "xlsx": xlsx}, force=force)
    tasks = [Task(safe_key(c), report_task, (c, str(out), lang, xlsx)) for c in builder.places]
    outcome = run_tasks(tasks, out, cluster, shared=builder)
    records = [json.loads((task_dir(out, t.key) / SUMMARY_FILE).read_text("utf-8"))
               for t in tasks if finished(out, t.key)]  # fmt: skip
    reports = [PlaceReport(r["place"], r["name"], "", {}, None, lang, r["summary"])
               for r in records]  # fmt: skip
    return outcome, [write_index(builder, out, reports, lang=lang)] if reports else []
