"""attrbayes installs from its wheel and runs from an empty folder (issue 18): the specs,
prior sets and assumption sets travel inside the package."""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _requirements(wheel: Path) -> list[Requirement]:
    """The Requires-Dist of a wheel (extras' requirements left out)."""
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        message = email.parser.Parser().parsestr(zf.read(meta).decode())
    reqs = [Requirement(r) for r in message.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def _link_distributions(requirements: list[Requirement], into: Path) -> set[str]:
    """Symlink the files of ``requirements``' installed distributions, with everything they
    require in turn, into the folder ``into``; returns their normalised names."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(req.name)
        for text in dist.requires or []:
            sub = Requirement(text)
            envs = [{"extra": e} for e in ("", *req.extras)]
            if sub.marker is None or any(sub.marker.evaluate(e) for e in envs):
                todo.append(sub)
        for file in dist.files or []:
            if ".." in file.parts or file.suffix == ".pth":
                continue  # scripts and the like outside site-packages
            target = into / file
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(Path(dist.locate_file(file)).resolve())
    return seen


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
    # the wheel's declared dependencies, and nothing else of this environment, on a path
    # of their own: a missing declaration fails the commands below
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig"
                                ".get_paths()['purelib'])"], check=True, capture_output=True,
                               text=True).stdout.strip())  # fmt: skip
    deps = tmp_path / "deps"
    names = _link_distributions(_requirements(wheel), deps)
    assert {"pymc", "numpy", "typer"} <= names
    assert not {"pytest", "sphinx"} & names
    (site / "dependencies.pth").write_text(f"{deps}\n")
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
