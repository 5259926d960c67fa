"""Atomic file writes (write to a temporary file or folder beside the target, then rename)
and TOML values for the small files written by hand."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from attrbayes.exceptions import DataError


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers never see a partial file."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers never see a partial file."""
    return atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_with(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Let ``writer`` write a temporary file beside ``path`` (e.g. a library's
    ``to_netcdf``, which needs a path), then rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix,
                                dir=target.parent)  # fmt: skip
    os.close(fd)
    tmp = Path(name)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes files owner-only
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _read_umask() -> int:
    current = os.umask(0)  # the only way to read it; read once, at import
    os.umask(current)
    return current


_UMASK = _read_umask()


def open_saved[T](path: str | Path, what: str, opener: Callable[[Path], T]) -> T:
    """Open a saved file with ``opener``; a missing or unreadable file is a DataError
    saying what was expected (h5py and xarray raise many exception types)."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: no saved {what} here")
    try:
        return opener(source)
    except Exception as exc:
        raise DataError(f"{source}: cannot be read as a saved {what} ({exc})") from exc


def replace_dir(tmp: Path, target: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``target`` (renames: the old folder is
    moved aside first and removed after, so ``target`` is never half written)."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def toml_value(value: Any) -> str:
    """``value`` (bool, number, string or a list of them, numpy scalars too) as TOML."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return repr(int(value))
    if isinstance(value, float | np.floating):  # numpy's repr is np.float64(...), not TOML
        return repr(float(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'
