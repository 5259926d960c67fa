"""Atomic file writes (write to a temporary file or folder beside the target, then rename)
and TOML values for the small files written by hand."""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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


def ensure_space(path: str | Path, nbytes: int, what: str) -> None:
    """Refuse to start writing ``what`` (about ``nbytes``) to ``path`` when its file system
    has less free space than that plus a margin: HDF5 can crash on a full disk where a
    clear message belongs."""
    parent = Path(path).parent
    while not parent.exists():
        parent = parent.parent
    free = shutil.disk_usage(parent).free
    needed = int(nbytes * 1.1) + (16 << 20)
    if free < needed:
        raise DataError(f"not enough free space for {what} in {parent}: about "
                        f"{needed / 1e6:,.0f} MB needed, {free / 1e6:,.0f} MB free")  # fmt: skip


def read_text(path: str | Path, what: str) -> str:
    """A text file's content as UTF-8; an unreadable or non-UTF-8 file is a DataError
    naming it and ``what`` it should be."""
    source = Path(path)
    try:
        return source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: the {what} is not UTF-8 text (byte {exc.start}); save it "
                        "as UTF-8") from None  # fmt: skip
    except OSError as exc:
        raise DataError(f"{source}: cannot read the {what} ({exc.strerror or exc})") from None


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
    moved aside to a new hidden name and removed after, so ``target`` is never half
    written and nothing beside it is touched)."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old)  # onto the new, empty folder
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


# -- folders attrbayes owns ---------------------------------------------------------------
OWNER_FILE = ".attrbayes"  # in every folder attrbayes writes: what it is, which version


def mark_owned(folder: Path, kind: str, version: str) -> None:
    """Write the marker that says attrbayes wrote ``folder`` (a ``kind`` of result)."""
    atomic_write_text(folder / OWNER_FILE,
                      f"kind = {toml_value(kind)}\nversion = {toml_value(version)}\n")  # fmt: skip


def _ours(entry: Path, known: Collection[str]) -> bool:
    """Whether a folder entry is one attrbayes writes: a known name (or glob pattern), the
    marker, a leftover temporary of ours (``.NAME.xxxx``), or a folder holding a marker."""
    name = entry.name
    if name == OWNER_FILE or any(fnmatch.fnmatchcase(name, k) for k in known):
        return True
    if name.startswith(".") and any(fnmatch.fnmatchcase(name, f".{k}.*")
                                    for k in (*known, OWNER_FILE)):  # fmt: skip
        return True
    return entry.is_dir() and (entry / OWNER_FILE).is_file()


def claim_dir(path: str | Path, *, force: bool, known: Collection[str] = ()) -> Path:
    """Check, before any work, that a result may be written into the folder ``path``:
    new or empty, or (with ``force``) one attrbayes wrote, holding only the names in
    ``known`` (and its own subfolders). A folder with anything else in it is refused even
    with ``force``: attrbayes never deletes or overwrites what it did not write. The
    nearest existing parent must be a writable folder and each new name not too long."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise DataError(f"{target} is a file, not a folder; give a folder for the output")
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError) as exc:
        raise DataError(f"{target}: not a usable folder ({exc})") from exc
    if resolved == Path(os.getcwd()).resolve() or resolved in Path(os.getcwd()).parents:
        raise DataError(f"{target} is the current folder (or holds it); give a new folder")
    if target.is_dir():
        entries = sorted(target.iterdir())
        foreign = [e.name for e in entries if not _ours(e, known)]
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise DataError(
                f"{target} holds files attrbayes did not write ({', '.join(foreign[:3])}{more}); "
                "choose a new or empty folder (--force replaces only attrbayes's own results)"
            )
        if entries and not force:
            raise DataError(f"{target} already exists; pass --force to replace it")
    _check_writable(resolved)
    return target


def _check_writable(target: Path) -> None:
    parent = target
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise DataError(f"{parent} is a file: cannot create {target} inside it")
    try:  # a trial folder: permissions, read-only and special file systems alike
        os.rmdir(tempfile.mkdtemp(prefix=".attrbayes-probe-", dir=parent))
    except OSError as exc:
        raise DataError(f"cannot write into {parent} ({exc.strerror or exc})") from None
    try:
        limit = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    longest = max((p.name for p in (target, *target.parents) if not p.exists()), key=len,
                  default="")  # fmt: skip
    # temporaries beside it add a prefix and suffix of about 20 characters
    if len(longest.encode()) + 20 > limit:
        raise DataError(f"the folder name {longest[:40]}... is too long ({len(longest)} "
                        f"characters; this file system allows {limit - 20} here)")  # fmt: skip


# -- spreadsheet safety ----------------------------------------------------------------------
# A cell starting with one of these is a formula to Excel and LibreOffice (formula
# injection: a place name such as =HYPERLINK(...) would run when the file is opened).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral_text(value: object) -> object:
    """A text that a spreadsheet would read as a formula, prefixed with ``'`` (shown as
    text); numbers and other texts as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)  # "-1.5" and the like are numbers, not formulas
        except ValueError:
            return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV (no index) with every text cell made safe by :func:`neutral_text`."""
    texts = [c for c in frame.columns if frame[c].dtype == object or
             isinstance(frame[c].dtype, pd.StringDtype)]  # fmt: skip
    if texts:
        frame = frame.assign(**{str(c): frame[c].map(neutral_text) for c in texts})
    return frame.to_csv(index=False)


def neutralise_formulas(workbook: Any) -> None:
    """Store every cell of an openpyxl workbook that would be a formula as text: attrbayes
    writes values only, so a formula can only come from data (a place name)."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


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
