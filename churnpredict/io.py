"""Reading tables from disk and writing outputs atomically."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from .exceptions import ChurnDataError

__all__ = [
    "TABLE_SUFFIXES",
    "atomic_directory",
    "atomic_write",
    "find_table",
    "read_table",
    "sync_directory",
    "sync_tree",
    "write_frame",
]

TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".jsonl", ".jsonl.gz")


def find_table(directory: str | os.PathLike, name: str) -> Path | None:
    """Return the file holding table ``name`` in ``directory`` (any supported suffix), or None.

    Parameters
    ----------
    directory : path-like
        Folder holding ``customers.csv``, ``activity.parquet`` and so on.
    name : str
        Table name without suffix.
    """
    directory = Path(directory)
    found = [directory / f"{name}{suffix}" for suffix in TABLE_SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        raise ChurnDataError(
            f"{name}: found {len(found)} files ({', '.join(p.name for p in found)}) in "
            f"{directory}; keep exactly one file per table"
        )
    return found[0] if found else None


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON Lines file into a DataFrame.

    Parameters
    ----------
    path : path-like
        File ending in ``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``/``.pq`` or ``.jsonl``.

    Returns
    -------
    pandas.DataFrame
    """
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise ChurnDataError(f"{path}: no such file; check the path")
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    if name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path)
    if name.endswith(".tsv"):
        return pd.read_csv(path, sep="\t")
    if name.endswith((".jsonl", ".jsonl.gz")):
        return pd.read_json(path, lines=True)
    raise ChurnDataError(
        f"{path}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}"
    )


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` only on success.

    Readers never see half a file: on any error the temporary file is removed and
    ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        Final destination.
    mode : str
        Unused; kept for symmetry with :func:`open`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the output the permissions a normal write would
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def sync_directory(path: str | os.PathLike) -> None:
    """fsync a directory, so the names created or renamed in it survive a crash.

    A no-op where directories cannot be opened (Windows).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except (PermissionError, IsADirectoryError):  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def sync_tree(path: str | os.PathLike) -> None:
    """fsync every file and folder under ``path`` (itself included)."""
    for root, _dirs, names in os.walk(path):
        for name in names:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        sync_directory(root)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary directory next to ``path``; it replaces ``path`` only on success.

    When the block succeeds, every file and folder written is fsynced, then an existing
    ``path`` is moved aside, the new directory renamed into place and the old one removed.
    A reader may find no ``path`` during that swap of two renames (use a versioned layout
    with a pointer, as model bundles do, when readers must never see a gap); concurrent
    writers retry the swap, so each one succeeds and the last one's directory stays. On any
    error the temporary directory is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        Final directory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        sync_tree(tmp)
        _swap_in(tmp, path)
        sync_directory(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(tmp: Path, path: Path, attempts: int = 50) -> None:
    """Rename ``tmp`` to ``path``, moving an existing ``path`` aside and removing it."""
    for _ in range(attempts):
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex}")
            try:
                os.replace(path, old)
            except FileNotFoundError:  # another writer moved it first
                continue
        try:
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):  # another writer's landed
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                continue
            if old is not None:  # put the previous directory back
                with contextlib.suppress(OSError):
                    os.replace(old, path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return
    raise OSError(errno.EBUSY, f"{path} kept being replaced by other writers; try again")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_frame(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    *,
    writer: Callable[[pd.DataFrame, Path], None] | None = None,
) -> Path:
    """Write ``frame`` to CSV, Parquet or Excel (by suffix), atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : path-like
        Destination ending in ``.csv``, ``.parquet`` or ``.xlsx``.
    writer : callable, optional
        Custom ``writer(frame, tmp_path)``; overrides the suffix rule.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if writer is None:
        if suffix == ".csv":
            def writer(f, p):
                f.to_csv(p, index=False)
        elif suffix in (".parquet", ".pq"):
            def writer(f, p):
                f.to_parquet(p, index=False)
        elif suffix == ".xlsx":
            def writer(f, p):
                f.to_excel(p, index=False, engine="openpyxl")
        else:
            raise ChurnDataError(
                f"{path}: unsupported output type {suffix!r}; use .csv, .parquet or .xlsx"
            )
    with atomic_write(path) as tmp:
        writer(frame, tmp)
    return path
