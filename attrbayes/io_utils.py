"""Atomic file writes: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

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
