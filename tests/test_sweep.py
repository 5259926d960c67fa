"""Backtest grids as Dask tasks (issue 20): each task's result is written on its own, a
failing task loses nothing of the others, a rerun skips finished tasks, and the numbers
are those of the in-process backtest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from attrbayes.cli import main
from attrbayes.config import SamplerConfig
from attrbayes.diagnostics.backtest import backtest
from attrbayes.diagnostics.sweep import SweepTask, grid, run_sweep, task_dir
from attrbayes.exceptions import SpecError
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
    first = run_sweep(panel_dir, [2009, 2010], specs, out, workers=2, **OPTIONS)
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
    again = run_sweep(panel_dir, [2009, 2010], specs, out, workers=1, **OPTIONS)
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
    assert task_dir(Path("out"), SweepTask(2009, "a", True)) == Path("out/tasks/origin2009-a")
    with pytest.raises(SpecError, match="at least one origin and one migration spec"):
        grid([], ["migration_2022"])


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
