"""The run-folder layout is spelled in one place (attrbayes.runs.RunLayout)."""

from __future__ import annotations

from pathlib import Path

from attrbayes.runs import RunLayout, fit_path


def test_the_layout_names_every_file_of_a_run_a_projection_and_a_demo(tmp_path):
    demo = RunLayout(Path("runs/demo"))
    assert demo.panel == Path("runs/demo/panel")
    run = RunLayout(demo.root / "migration_2022")
    assert (run.fit, run.summary) == (Path("runs/demo/migration_2022/fit.nc"),
                                      Path("runs/demo/migration_2022/summary.csv"))  # fmt: skip
    projection = demo.projection_dir
    assert projection.projection == Path("runs/demo/projection/projection.nc")
    assert projection.population == Path("runs/demo/projection/population.csv")
    assert projection.shock_effect == Path("runs/demo/projection/shock_effect.csv")
    assert demo.report_dir == Path("runs/demo/report")
    # a run folder resolves to its fit, a file is taken as it is
    assert fit_path(tmp_path) == tmp_path / "fit.nc"
    assert fit_path(tmp_path / "other.nc") == tmp_path / "other.nc"
