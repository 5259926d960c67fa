"""attrbayes installs from its wheel and runs from an empty folder (issue 18): the specs,
prior sets and assumption sets travel inside the package."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_installs_and_runs_from_an_empty_folder(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(wheels)],
                   check=True, cwd=tmp_path)  # fmt: skip
    (wheel,) = wheels.glob("attrbayes-*.whl")
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True)  # fmt: skip
    # the dependencies come from this environment's site-packages as a plain path: its
    # own .pth files (the editable install of the checkout) are not read from there
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig"
                                ".get_paths()['purelib'])"], check=True, capture_output=True,
                               text=True).stdout.strip())  # fmt: skip
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "ATTRBAYES_MODELS", "ATTRBAYES_PRIORS",
                          "ATTRBAYES_ASSUMPTIONS")}  # fmt: skip

    def run(*args: str) -> str:
        done = subprocess.run([str(env / "bin" / "attrbayes"), *args], cwd=empty, env=clean,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, f"attrbayes {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    code = ("from attrbayes.resources import SHIPPED, shipped_dir\n"
            "from attrbayes.projection.assumptions import load_assumptions\n"
            "from attrbayes.priors import load_prior_set\n"
            "load_assumptions('norway_2024'), load_prior_set('weakly_informative')\n"
            "for kind in SHIPPED: print(shipped_dir(kind))")  # fmt: skip
    where = subprocess.run([str(python), "-c", code], cwd=empty, env=clean, check=True,
                           capture_output=True, text=True).stdout.split()  # fmt: skip
    assert len(where) == 3
    for folder in map(Path, where):  # the wheel's copies
        assert folder.is_relative_to(env)
        assert any(folder.glob("*.toml"))
    run("data", "synth", "--out", "panel", "--places", "40", "--years", "2005:2016")
    assert "vra_t" in run("ols", "--data", "panel", "--spec", "migration_2022", "--level",
                          "region")  # fmt: skip
    run("fit", "--data", "panel", "--spec", "migration_2022", "--level", "municipality",
        "--dry-run")  # fmt: skip


def test_shipped_folders_follow_their_environment_variables(tmp_path, monkeypatch):
    from attrbayes.config import load_spec, models_dir
    from attrbayes.resources import shipped_dir

    assert models_dir() == ROOT / "models"  # a checkout reads its own folders
    (tmp_path / "toy.toml").write_text((ROOT / "models" / "migration_2022.toml").read_text())
    monkeypatch.setenv("ATTRBAYES_MODELS", str(tmp_path))
    assert shipped_dir("models") == tmp_path
    assert load_spec("toy").terms == load_spec(ROOT / "models" / "migration_2022.toml").terms
    with pytest.raises(ValueError, match="unknown kind"):
        shipped_dir("spec")
