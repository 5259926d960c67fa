"""Sweeps as Dask tasks (issue 20): backtest grids and reports for every place. Each
task's result is written on its own, a failing task loses nothing of the others, a rerun
skips finished tasks (and only continues the same sweep), and the numbers are those of
the in-process runs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest

from attrbayes.cli import main
from attrbayes.config import SamplerConfig
from attrbayes.diagnostics import sweep
from attrbayes.diagnostics.backtest import backtest
from attrbayes.diagnostics.sweep import (
    Cluster,
    GridCell,
    Task,
    claim_sweep,
    grid,
    run_sweep,
    run_tasks,
    task_dir,
)
from attrbayes.exceptions import DataError, SpecError
from attrbayes.synthetic import synthesize_panel

OPTIONS = {"horizons": [1, 2], "draws": 10,
           "sampler": SamplerConfig(sampler="prior", chains=2, draws=20)}  # fmt: skip


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "panel"
    synthesize_panel(n_places=12, first_year=2000, last_year=2012, seed=11).write(path)
    return path


def _sorted(scores: pd.DataFrame) -> pd.DataFrame:
    keys = ["method", "spec", "origin", "horizon", "scenario", "place"]
    return scores.sort_values(keys).reset_index(drop=True)


@pytest.mark.slow
def test_a_failing_task_loses_nothing_and_a_rerun_skips_finished_tasks(panel_dir, tmp_path):
    out = tmp_path / "grid"
    specs = ["migration_2022", "no_such_spec"]
    first = run_sweep(panel_dir, [2009, 2010], specs, out, cluster=Cluster(workers=2), **OPTIONS)
    good = ("origin2009-migration_2022", "origin2010-migration_2022")
    assert sorted(first.ran) == list(good)
    assert sorted(first.failed) == ["origin2009-no_such_spec", "origin2010-no_such_spec"]
    assert "no model spec named 'no_such_spec'" in first.failed["origin2009-no_such_spec"]
    for key in good:
        assert (out / "tasks" / key / "scores.parquet").is_file()
    assert (out / "scores.csv").is_file()
    # the same numbers as the backtest run in this process
    from attrbayes.data.panel import read_panel

    direct = backtest(read_panel(panel_dir), [2009, 2010], migration_spec=["migration_2022"],
                      **OPTIONS)  # fmt: skip
    pd.testing.assert_frame_equal(_sorted(first.result.scores), _sorted(direct.scores))
    assert first.result.assumptions == direct.assumptions

    before = (out / "tasks" / good[0] / "scores.parquet").stat().st_mtime_ns
    again = run_sweep(panel_dir, [2009, 2010], specs, out, cluster=Cluster(workers=1), **OPTIONS)
    assert sorted(again.skipped) == list(good)
    assert again.ran == ()
    assert sorted(again.failed) == sorted(first.failed)  # retried, failed again
    assert (out / "tasks" / good[0] / "scores.parquet").stat().st_mtime_ns == before
    pd.testing.assert_frame_equal(_sorted(again.result.scores), _sorted(first.result.scores))


def test_the_grid_and_its_task_folders():
    tasks = grid([2010, 2009, 2010], ["migration_2022", "models/my spec.toml"])
    assert [t.key for t in tasks] == [
        "origin2009-migration_2022", "origin2009-my_spec",
        "origin2010-migration_2022", "origin2010-my_spec",
    ]  # fmt: skip
    assert [t.baseline for t in tasks] == [True, False, True, False]
    assert not any(t.baseline for t in grid([2009], ["a", "b"], baseline=False))
    assert task_dir(Path("out"), GridCell(2009, "a", None, True).key) == Path(
        "out/tasks/origin2009-a"
    )
    with pytest.raises(SpecError, match="at least one origin and one migration spec"):
        grid([], ["migration_2022"])
    # prior sets are a dimension of the grid; the baseline runs once per origin
    cells = grid([2009], ["migration_2022"], [None, "priors/published_2022.toml"])
    assert [c.key for c in cells] == ["origin2009-migration_2022",
                                      "origin2009-migration_2022-published_2022"]  # fmt: skip
    assert [c.baseline for c in cells] == [True, False]


def _write(folder: Path, text: str) -> None:
    """A task that writes its text (and fails for "bad")."""
    if text == "bad":
        raise ValueError("this task fails")
    (folder / "out.txt").write_text(text, encoding="utf-8")


def test_tasks_write_their_own_folders_and_a_failure_keeps_the_others(tmp_path):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    out = tmp_path / "sweep"
    claim_sweep(out, "toy", {"n": 1}, force=False)
    tasks = [Task(k, _write, (k,)) for k in ("a", "bad", "c")]
    lines = []
    first = run_tasks(tasks, out, Cluster(progress=lambda k, e: lines.append((k, e))))
    assert sorted(first.ran) == ["a", "c"]
    assert list(first.failed) == ["bad"]
    assert "ValueError: this task fails" in first.failed["bad"]
    assert sorted(lines) == [("a", None), ("bad", first.failed["bad"]), ("c", None)]
    assert (task_dir(out, "a") / "out.txt").read_text("utf-8") == "a"
    assert not task_dir(out, "bad").exists()
    assert not [p for p in (out / "tasks").iterdir() if p.name.startswith(".bad")]  # no leftovers
    before = (task_dir(out, "a") / "out.txt").stat().st_mtime_ns
    again = run_tasks(tasks, out, Cluster(workers=1))
    assert sorted(again.skipped) == ["a", "c"]
    assert list(again.failed) == ["bad"]
    assert (task_dir(out, "a") / "out.txt").stat().st_mtime_ns == before
    with pytest.raises(SpecError, match="distinct keys"):
        run_tasks([tasks[0], tasks[0]], out, Cluster())


def test_a_rerun_continues_only_the_same_sweep(tmp_path):
    out = tmp_path / "sweep"
    claim_sweep(out, "backtest", {"draws": 10, "scenarios": ["neutral"]}, force=False)
    assert (out / ".attrbayes").is_file()  # a new folder is ours; one with other files not:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's", encoding="utf-8")
    claim_sweep(mine, "report", {}, force=False)
    assert not (mine / ".attrbayes").exists()
    assert (mine / "tasks" / ".attrbayes").is_file()
    (task_dir(out, "origin2009-x")).mkdir()
    claim_sweep(out, "backtest", {"draws": 10, "scenarios": ["neutral"]}, force=False)
    assert task_dir(out, "origin2009-x").is_dir()  # continued
    with pytest.raises(DataError, match=r"other settings \(draws differ\); give --force"):
        claim_sweep(out, "backtest", {"draws": 20, "scenarios": ["neutral"]}, force=False)
    with pytest.raises(DataError, match=r"kind differ"):
        claim_sweep(out, "report", {"draws": 10, "scenarios": ["neutral"]}, force=False)
    claim_sweep(out, "backtest", {"draws": 20, "scenarios": ["neutral"]}, force=True)
    assert not task_dir(out, "origin2009-x").exists()  # started over
    assert json.loads((out / sweep.SETTINGS_FILE).read_text("utf-8"))["draws"] == 20


@pytest.mark.slow
def test_the_command_reports_failed_tasks_and_how_to_retry(panel_dir, tmp_path, capsys):
    out = tmp_path / "grid"
    # an origin whose horizon is past the panel's last year fails inside its task
    code = main(["backtest", "--data", str(panel_dir), "--origin", "2012", "--horizon", "1",
                 "--scheduler", "local", "--workers", "1", "--out", str(out)])  # fmt: skip
    text = " ".join(capsys.readouterr().err.split())
    assert code == 1
    assert "failed: origin2012-migration_2022: SpecError: no origin has an observed horizon" in text
    assert "no task of the grid finished; rerun the same command to retry" in text
    assert [p.name for p in (out / "tasks").iterdir()] == [".attrbayes"]  # no task folder


def test_a_grid_needs_an_output_folder(panel_dir, capsys):
    code = main(["backtest", "--data", str(panel_dir), "--origin", "2009", "--scheduler",
                 "local"])  # fmt: skip
    assert code == 1
    assert "--scheduler needs --out DIR" in capsys.readouterr().err


def _without_images(page: str) -> tuple[str, int]:
    """A page's text with its inline images left out, and how many there were."""
    return re.subn(r"data:image/png;base64,[A-Za-z0-9+/=]+", "IMAGE", page)


@pytest.mark.slow
def test_reports_for_every_place_as_tasks(small_run_dir, tmp_path, capsys):
    out, plain = tmp_path / "dask", tmp_path / "plain"
    command = ["report", str(small_run_dir), "--all", "--no-xlsx", "--lang", "en"]
    assert main([*command, "--out", str(out), "--scheduler", "local", "--workers", "2"]) == 0
    assert main([*command, "--out", str(plain), "--workers", "1"]) == 0
    written = sorted(p.name for p in out.glob("*.html"))
    assert written == sorted(p.name for p in plain.glob("*.html"))
    assert len(written) == 13  # 12 places and the index
    for name in written:  # the same pages as the reports written in this process; charts
        # are redrawn into reused figures, so their pixels may shift (test_report_charts)
        pages = [_without_images((d / name).read_text("utf-8")) for d in (out, plain)]
        assert pages[0] == pages[1], name
    capsys.readouterr()
    page = next(p for p in out.glob("*.html") if p.name != "index.html")
    before = page.stat().st_mtime_ns
    assert main([*command, "--out", str(out), "--scheduler", "local", "--workers", "1"]) == 0
    assert "12 report(s) written by an earlier run: skipped" in capsys.readouterr().out
    assert page.stat().st_mtime_ns == before
    # another sweep's settings are refused in the same folder, and nothing is touched
    assert main(["report", str(small_run_dir), "--all", "--no-xlsx", "--lang", "nb", "--out",
                 str(out), "--scheduler", "local"]) == 1  # fmt: skip
    assert "other settings (lang differ)" in " ".join(capsys.readouterr().err.split())
    assert page.stat().st_mtime_ns == before


def test_sweep_options_are_checked():
    assert sweep.parse_sweep(["alternative=low,high", "attractiveness-percentile=10,90"]) == {
        "alternative": ["low", "high"], "attractiveness_percentile": [10.0, 90.0]}  # fmt: skip
    cells = sweep.sweep_cells({"alternative": ["low", "high"], "attractiveness": [-0.2, 0.2]})
    assert [sweep.cell_key(c) for c in cells] == [
        "alternative=low-attractiveness=-0.2", "alternative=low-attractiveness=0.2",
        "alternative=high-attractiveness=-0.2", "alternative=high-attractiveness=0.2",
    ]  # fmt: skip
    for bad, message in (("colour=red", "KEY one of"), ("attractiveness", "KEY=V1,V2"),
                         ("attractiveness=high", "takes numbers"),
                         ("alternative=low,low", "repeated")):  # fmt: skip
        with pytest.raises(SpecError, match=message):
            sweep.parse_sweep([bad])
    with pytest.raises(SpecError, match="given twice"):
        sweep.parse_sweep(["alternative=low", "alternative=high"])


@pytest.mark.slow
def test_a_projection_sweep_runs_a_projection_per_value(small_run_dir, tmp_path, capsys):
    out, single = tmp_path / "sweep", tmp_path / "single"
    common = ["project", str(small_run_dir), "--draws", "12", "--to", "2016"]
    command = [*common, "--sweep", "attractiveness=-0.5,0.5", "--out", str(out)]
    assert main(command) == 1  # a sweep needs a scheduler
    assert "give --scheduler local" in capsys.readouterr().err
    assert main([*command, "--scheduler", "local", "--workers", "2"]) == 0
    table = pd.read_csv(out / sweep.SWEEP_TABLE, dtype={"place": str})
    assert sorted(table["attractiveness"].unique()) == [-0.5, 0.5]
    assert set(table["scenario"]) == {"custom"}
    assert {"place", "county", "nation"} <= set(table["level"])
    nation = table[(table["level"] == "nation") & (table["year"] == 2016)]
    low, high = (nation.loc[nation["attractiveness"] == v, "median"].item() for v in (-0.5, 0.5))
    assert high > low  # 1 % of the population a year apart, over six years
    # a cell is the projection the single command makes with that level
    assert main([*common, "--attractiveness", "0.5", "--out", str(single)]) == 0
    cell = pd.read_csv(out / "tasks" / "attractiveness=0.5" / "population.csv")
    pd.testing.assert_frame_equal(cell, pd.read_csv(single / "population.csv"))
    capsys.readouterr()
    assert main([*command, "--scheduler", "local", "--workers", "1"]) == 0
    assert "2 projection(s) made by an earlier run: skipped" in capsys.readouterr().out
