"""Reading tables from disk and writing outputs atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from .exceptions import ChurnDataError

__all__ = [
    "TABLE_SUFFIXES",
    "atomic_directory",
    "atomic_write",
    "find_table",
    "ids_as_text",
    "read_table",
    "write_frame",
]

_PANDAS_MAJOR = int(pd.__version__.split(".")[0])

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


def read_table(
    path: str | os.PathLike, *, id_columns: Sequence[str] = ("customer_id",)
) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON Lines file into a DataFrame.

    Ids are text: in CSV and JSON Lines files the ``id_columns`` are read as strings, so
    ``"00345"`` keeps its leading zeros and ``"007"`` and ``"7"`` stay two customers (Parquet
    files keep the type they were written with). Other columns are typed by the reader; empty
    cells are missing values. A file that cannot be read, or holds no rows, is a
    :class:`~churnpredict.exceptions.ChurnDataError` naming it.

    Parameters
    ----------
    path : path-like
        File ending in ``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``/``.pq`` or ``.jsonl``.
    id_columns : sequence of str, default ("customer_id",)
        Columns to read as text (those absent from the file are ignored).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "customers.csv"
    >>> _ = file.write_text("customer_id,signup_at\\n00345,2024-01-01\\n7,2024-01-02\\n")
    >>> read_table(file)["customer_id"].tolist()
    ['00345', '7']
    """
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise ChurnDataError(f"{path}: no such file; check the path")
    ids = {col: str for col in id_columns}
    if name.endswith((".parquet", ".pq")):
        kind, fix = "Parquet", "write it again (e.g. DataFrame.to_parquet)"
        reader: Callable[[], pd.DataFrame] = lambda: pd.read_parquet(path)  # noqa: E731
    elif name.endswith((".csv", ".csv.gz", ".tsv")):
        kind, fix = "CSV", "export it again as UTF-8 CSV with a header row"
        sep = "\t" if name.endswith(".tsv") else ","
        reader = lambda: pd.read_csv(path, sep=sep, dtype=ids)  # noqa: E731
    elif name.endswith((".jsonl", ".jsonl.gz")):
        kind, fix = "JSON Lines", "write one JSON object per line"
        # no type guessing: ids stay as written, text dates are parsed by EventData
        options = {"dtype": False} if _PANDAS_MAJOR >= 3 else {"dtype": False,
                                                               "convert_dates": False}
        reader = lambda: _json_ids(pd.read_json(path, lines=True, **options),  # noqa: E731
                                   id_columns)
    else:
        raise ChurnDataError(
            f"{path}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}"
        )
    try:
        frame = reader()
    except pd.errors.EmptyDataError:
        raise ChurnDataError(
            f"{path} is empty (no header, no rows); {fix}"
        ) from None
    except UnicodeDecodeError:
        raise ChurnDataError(
            f"{path} is not UTF-8 text; re-save it as UTF-8 {kind}"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ChurnDataError(f"{path} cannot be read as {kind} ({reason}); {fix}") from None
    if not isinstance(frame, pd.DataFrame) or len(frame.columns) == 0:
        raise ChurnDataError(f"{path} holds no table columns; {fix}")
    if len(frame) == 0:
        raise ChurnDataError(
            f"{path} has column names but no rows; export the rows too (an event table you "
            f"do not use can be removed)"
        )
    return frame


def _json_ids(frame: pd.DataFrame, id_columns: Sequence[str]) -> pd.DataFrame:
    for col in id_columns:
        if col in frame.columns:
            frame[col] = ids_as_text(frame[col])
    return frame


def ids_as_text(values: pd.Series) -> pd.Series:
    """Ids as text: numbers become their exact text (345 and 345.0 -> "345"); text is kept.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    pandas.Series
        ``object`` dtype; missing values stay missing.

    Examples
    --------
    >>> import pandas as pd
    >>> ids_as_text(pd.Series([345, 7.0, "007", None], dtype=object)).tolist()
    ['345', '7', '007', None]
    """
    out = values.astype(object).map(_id_text).astype(object)
    return out.where(out.notna(), None)


def _id_text(value: object) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    return value


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


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary directory next to ``path``; it replaces ``path`` only on success.

    An existing ``path`` is swapped out and removed after the new directory is in place, so
    readers see either the old or the new folder, never a half-written one.

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
        if path.exists():
            old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
