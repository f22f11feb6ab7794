"""Reading tables from disk and writing outputs atomically."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ChurnDataError, DataQualityWarning

__all__ = [
    "EXCEL_CELL_LIMIT",
    "OUTPUT_SUFFIXES",
    "TABLE_SUFFIXES",
    "atomic_directory",
    "atomic_write",
    "check_cells",
    "check_writable",
    "find_table",
    "manifest_path",
    "ids_as_text",
    "read_table",
    "sync_directory",
    "sync_tree",
    "spreadsheet_safe",
    "write_fix",
    "write_frame",
]

_PANDAS_MAJOR = int(pd.__version__.split(".")[0])

TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".jsonl", ".jsonl.gz")


def find_table(directory: str | os.PathLike, name: str, *, datasets: bool = False) -> Path | None:
    """Return the file holding table ``name`` in ``directory`` (any supported suffix), or None.

    Parameters
    ----------
    directory : path-like
        Folder holding ``customers.csv``, ``activity.parquet`` and so on.
    name : str
        Table name without suffix.
    datasets : bool, default False
        Also accept a directory of Parquet files: ``name.parquet/`` (any suffix) or
        ``name/`` (what Dask and Spark write).

    Raises
    ------
    ChurnDataError
        When more than one source holds the table.
    """
    directory = Path(directory)
    candidates = [directory / f"{name}{suffix}" for suffix in TABLE_SUFFIXES]
    found = [p for p in candidates if p.is_file() or (datasets and p.is_dir())]
    if datasets and (directory / name).is_dir():
        found.append(directory / name)
    if len(found) > 1:
        kind = "file or Parquet directory" if datasets else "file"
        raise ChurnDataError(
            f"{name}: found {len(found)} {'sources' if datasets else 'files'} "
            f"({', '.join(p.name for p in found)}) in "
            f"{directory}; keep exactly one {kind} per table"
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
        reader: Callable[[], pd.DataFrame] = lambda: _read_parquet(path)  # noqa: E731
    elif name.endswith((".csv", ".csv.gz", ".tsv")):
        kind, fix = "CSV", "export it again as UTF-8 CSV with a header row"
        sep = "\t" if name.endswith(".tsv") else ","
        reader = lambda: pd.read_csv(path, sep=sep, dtype=ids)  # noqa: E731
    elif name.endswith((".jsonl", ".jsonl.gz")):
        kind, fix = "JSON Lines", "write one JSON object per line"
        # no type guessing: ids stay as written, text dates are parsed by EventData
        options = (
            {"dtype": False} if _PANDAS_MAJOR >= 3 else {"dtype": False, "convert_dates": False}
        )

        def reader() -> pd.DataFrame:
            return _json_ids(pd.read_json(path, lines=True, **options), id_columns)
    else:
        raise ChurnDataError(
            f"{path}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}"
        )
    try:
        frame = reader()
    except pd.errors.EmptyDataError:
        raise ChurnDataError(f"{path} is empty (no header, no rows); {fix}") from None
    except UnicodeDecodeError:
        raise ChurnDataError(f"{path} is not UTF-8 text; re-save it as UTF-8 {kind}") from None
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


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame, with Arrow's memory handed back as soon as it is free.

    Arrow's buffers are released column by column while pandas takes them over (pandas 3),
    and what Arrow's allocator keeps for reuse afterwards is returned to the system: a big
    table otherwise costs about twice its size while it is read, and holds on to it after.
    """
    import pyarrow

    options = (
        {"to_pandas_kwargs": {"self_destruct": True, "split_blocks": True}}
        if _PANDAS_MAJOR >= 3
        else {}
    )
    try:
        return pd.read_parquet(path, **options)
    finally:
        pyarrow.default_memory_pool().release_unused()


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

    Readers never see half a file: the temporary file is flushed to disk (fsync) before the
    rename, and on any error it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        Final destination.
    mode : str
        Unused; kept for symmetry with :func:`open`.

    Raises
    ------
    OSError
        When the folder cannot be written (read-only, no permission, disk full, ...): the
        same error class, naming ``path`` instead of the temporary file.

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
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        # mkstemp creates 0600 files; give the output the permissions a normal write would
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if (
            isinstance(exc, OSError)
            and exc.errno is not None
            and (exc.filename is None or (tmp is not None and exc.filename == str(tmp)))
        ):
            # name the destination, not the temporary file; errno keeps the subclass
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def sync_directory(path: str | os.PathLike) -> None:
    """fsync a directory, so the names created or renamed in it survive a crash.

    Best effort: a no-op where directories cannot be opened or synced (Windows, some
    filesystems).
    """
    _fsync(Path(path))


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (best effort for folders: not every system allows it)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        os.close(fd)


def sync_tree(path: str | os.PathLike) -> None:
    """fsync every file and folder under ``path`` (itself included)."""
    for root, _dirs, names in os.walk(path):
        for name in names:
            _fsync(Path(root, name))
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
    sheet_name: str = "Sheet1",
    sheets: Mapping[str, pd.DataFrame] | None = None,
    metadata: Mapping[str, Any] | None = None,
    excel_formats: Mapping[str, Mapping[str, str]] | None = None,
    excel_fills: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> Path:
    """Write ``frame`` to CSV, Parquet or Excel (by suffix), atomically and spreadsheet-safe.

    Every table churnpredict writes goes through this function, which applies
    :func:`spreadsheet_safe` to every text cell and header (see Notes).

    Parameters
    ----------
    frame : pandas.DataFrame
        Written without its index (reset it first to keep it).
    path : path-like
        Destination ending in ``.csv``, ``.parquet`` (or ``.pq``) or ``.xlsx``.
    writer : callable, optional
        Custom ``writer(frame, tmp_path)`` for other formats; it gets ``frame`` as given and
        is responsible for its own escaping.
    sheet_name : str, default "Sheet1"
        Excel only: the name of the sheet holding ``frame``.
    sheets : dict of str -> DataFrame, optional
        Excel only: more sheets after it, named by the keys.
    metadata : dict of str -> str, int or None, optional
        Provenance kept with the file (e.g. ``as_of``, ``horizon``, ``model_id``), together
        with the row count, the churnpredict version and the creation time: in the Parquet
        key-value metadata (key ``churnpredict``, and as ``attrs`` for
        :func:`pandas.read_parquet`), in the Excel document properties, and for CSV in a
        sidecar ``<name>.manifest.json`` (with the CSV's SHA-256) written atomically next to
        the file. Without ``metadata`` a CSV gets no sidecar.
    excel_formats : dict of sheet -> {column: number format}, optional
        Excel only: number formats per column, e.g. ``{"at_risk": {"churn_probability":
        "0.0%", "mrr": '"€"#,##0.00'}}``. Every sheet gets a frozen, filterable header and
        column widths that fit its text.
    excel_fills : dict of sheet -> {column: {value: RGB hex}}, optional
        Excel only: background colour of a row's cell by its value (conditional formatting,
        e.g. risk tiers ``{"at_risk": {"risk_tier": {"high": "F8D7DA"}}}``).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ChurnDataError
        For an unsupported suffix, or (Excel) a cell longer than Excel's 32,767-character
        limit; checked before anything is written.
    OSError
        When the folder cannot be written; an existing file is left untouched.

    Notes
    -----
    CSV follows RFC 4180: CRLF line ends, and a field holding a comma, a double quote, a
    carriage return or a line feed is quoted, so a value such as ``"a\r=1+1"`` stays one
    cell of one row. In CSV and Excel, a text cell that a spreadsheet would run as a formula
    (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, also after leading
    spaces) gets a leading apostrophe. Excel cells also lose the control characters that
    the format cannot hold (NUL and the like). Parquet keeps values as they are.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if writer is not None:
        with atomic_write(path) as tmp:
            writer(frame, tmp)
        return path
    if suffix not in OUTPUT_SUFFIXES:
        raise ChurnDataError(
            f"{path}: unsupported output type {suffix or '(none)'!r}; use .csv, .parquet or .xlsx"
        )
    meta = _file_metadata(frame, metadata)
    if suffix in (".parquet", ".pq"):
        _write_parquet(frame, path, meta)
    elif suffix == ".csv":
        _write_csv(spreadsheet_safe(frame, "csv"), path, meta if metadata is not None else None)
    else:
        book = {sheet_name: frame, **dict(sheets or {})}
        safe = {key: spreadsheet_safe(sheet, "xlsx") for key, sheet in book.items()}
        for sheet in safe.values():
            check_cells(sheet, path, cleaned=True)
        _warn_carriage_returns(frame, path)
        _write_excel(safe, path, meta, excel_formats or {}, excel_fills or {})
    return path


def _warn_carriage_returns(frame: pd.DataFrame, path: Path) -> None:
    """Warn that an .xlsx file reads back a carriage return as a line feed (XML line ends)."""
    hits: dict[str, Any] = {}
    for name in frame.columns:
        col = frame[name]
        if not _may_hold_text(col.dtype):
            continue
        text = _text_values(_distinct(col)[1])
        if text is None:
            continue
        found = text[text.str.contains("\r", regex=False).fillna(False).to_numpy(dtype=bool)]
        if len(found):
            hits[str(name)] = found.iloc[0]
    if hits:
        first = next(iter(hits))
        warnings.warn(
            f"{path}: column(s) {list(hits)} hold carriage returns (e.g. {first} "
            f"{hits[first]!r}), which an .xlsx file gives back as line feeds; ids written so "
            f"no longer match the data (a campaign readout would miss those customers). "
            f"Write the list as .csv or .parquet to keep them exact",
            DataQualityWarning,
            stacklevel=3,
        )


#: Excel's limit on the characters in one cell.
EXCEL_CELL_LIMIT = 32_767
#: The file types :func:`write_frame` writes.
OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx")
# A cell a spreadsheet would run: starts with = + - @ (also after leading whitespace), tab or
# carriage return (OWASP CSV injection rule).
_FORMULA = r"(?:[\t\r]|\s*[=+\-@])"
# Characters an .xlsx cell cannot hold (the same set as openpyxl's ILLEGAL_CHARACTERS_RE).
_ILLEGAL_XLSX = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _may_hold_text(dtype: Any) -> bool:
    """False for dtypes that cannot hold str cells (numbers, booleans, dates, durations)."""
    types = pd.api.types
    return not (
        types.is_numeric_dtype(dtype)
        or types.is_bool_dtype(dtype)
        or types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype))
    )


def _text_values(col: pd.Series) -> pd.Series | None:
    """The str cells of ``col`` as a string Series (NA elsewhere), or None when it has none."""
    dtype = col.dtype
    if not _may_hold_text(dtype):
        return None
    if isinstance(dtype, pd.CategoricalDtype):
        col = col.astype(object)
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return col.astype("string")
    kind = pd.api.types.infer_dtype(col, skipna=True)
    if kind == "string":
        return col.astype("string")
    if kind in (
        "empty",
        "integer",
        "floating",
        "boolean",
        "decimal",
        "datetime",
        "datetime64",
        "date",
        "timedelta",
        "timedelta64",
        "time",
        "period",
        "interval",
        "complex",
        "bytes",
    ):
        return None
    return col.map(lambda v: v if isinstance(v, str) else None).astype("string")


def _safe_text(text: str, target: str) -> str:
    """One string made safe as :func:`spreadsheet_safe` makes a cell."""
    if target == "xlsx":
        text = re.sub(_ILLEGAL_XLSX, "", text)
    return "'" + text if re.match(_FORMULA, text) else text


def _distinct(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values of ``col`` (-1 for missing): text rules run once per value."""
    try:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): every cell on its own
        return np.arange(len(col)), pd.Series(col.to_numpy(dtype=object))
    return codes, pd.Series(np.asarray(uniques, dtype=object))


def _safe_column(col: pd.Series, target: str) -> np.ndarray | None:
    """The cells of ``col`` made safe (object array), or None when none changes."""
    if not _may_hold_text(col.dtype):
        return None
    codes, uniques = _distinct(col)
    text = _text_values(uniques)
    if text is None:
        return None
    new = text
    if target == "xlsx":
        new = new.str.replace(_ILLEGAL_XLSX, "", regex=True)
    risky = new.str.match(_FORMULA).fillna(False).to_numpy(dtype=bool)
    if risky.any():
        new = new.where(~risky, "'" + new)
    changed_unique = (new != text).fillna(False).to_numpy(dtype=bool)
    if not changed_unique.any():
        return None
    changed = (codes >= 0) & changed_unique[np.maximum(codes, 0)]
    values = col.astype(object).to_numpy(dtype=object, copy=True)
    values[changed] = new.to_numpy(dtype=object)[codes[changed]]
    return values


def spreadsheet_safe(frame: pd.DataFrame, target: str = "csv") -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and headers a spreadsheet shows as text.

    Parameters
    ----------
    frame : pandas.DataFrame
    target : {"csv", "xlsx"}, default "csv"
        ``"xlsx"`` also removes the control characters an .xlsx file cannot hold
        (``\x00-\x08``, ``\x0b``, ``\x0c``, ``\x0e-\x1f``).

    Returns
    -------
    pandas.DataFrame
        Text cells (and column names) starting with ``=``, ``+``, ``-``, ``@`` (also after
        leading whitespace), tab or carriage return get a leading apostrophe. Numbers, dates
        and missing values are untouched; ``attrs`` are kept.

    Examples
    --------
    >>> import pandas as pd
    >>> spreadsheet_safe(pd.DataFrame({"id": ["=1+1", " @SUM(A1)", "a-b"], "n": [-1, 2, 3]}))
               id  n
    0       '=1+1 -1
    1  ' @SUM(A1)  2
    2         a-b  3
    """
    if target not in ("csv", "xlsx"):
        raise ValueError(f"target={target!r}; expected 'csv' or 'xlsx'")
    out = frame.copy()
    for position in range(out.shape[1]):
        values = _safe_column(out.iloc[:, position], target)
        if values is not None:
            out.isetitem(position, values)
    out.columns = [
        _safe_text(name, target) if isinstance(name, str) else name for name in out.columns
    ]
    return out


def check_cells(
    frame: pd.DataFrame, path: str | os.PathLike, *, cleaned: bool = False, what: str | None = None
) -> None:
    """Refuse text that Excel cannot hold in one cell, before any work or write.

    Parameters
    ----------
    frame : pandas.DataFrame
        Values bound for ``path`` (e.g. the customer ids and extra columns of a list).
    path : path-like
        The destination; only ``.xlsx`` has a cell limit, other suffixes pass.
    cleaned : bool, default False
        ``frame`` already went through :func:`spreadsheet_safe`; otherwise the check counts
        the apostrophe a formula-like cell will get.
    what : str, optional
        Where the values come from (e.g. ``"customers"``), for the message.

    Raises
    ------
    ChurnDataError
        Naming the column, how many cells are too long, where, and the fix.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        return
    if not cleaned:
        frame = spreadsheet_safe(frame, "xlsx")
    for position, name in enumerate(frame.columns):
        if isinstance(name, str) and len(name) > EXCEL_CELL_LIMIT:
            raise ChurnDataError(
                f"{path}: a column name is {len(name):,} characters long, over Excel's "
                f"{EXCEL_CELL_LIMIT:,}-character cell limit; rename it or write .csv or .parquet"
            )
        codes, uniques = _distinct(frame.iloc[:, position])
        text = _text_values(uniques)
        if text is None:
            continue
        long = text.str.len().fillna(0).to_numpy(dtype=np.int64)
        lengths = (
            np.where(codes >= 0, long[np.maximum(codes, 0)], 0)
            if long.size
            else np.zeros(len(codes), dtype=np.int64)
        )
        over = np.flatnonzero(lengths > EXCEL_CELL_LIMIT)
        if over.size:
            first = str(frame.iloc[over[0], position])
            # spreadsheet rows are 1-based and follow the header; input rows are not rows of
            # the output, so they are named by their value
            where = (
                (f"{what}.{name}", f"e.g. {first[:20]!r}...")
                if what
                else (str(name), f"e.g. at spreadsheet rows {(over[:5] + 2).tolist()}")
            )
            raise ChurnDataError(
                f"{path}: column {where[0]} holds {over.size:,} value(s) longer than Excel's "
                f"{EXCEL_CELL_LIMIT:,}-character cell limit (longest {int(lengths.max()):,}), "
                f"{where[1]}; shorten them or write .csv or .parquet instead"
            )


def check_writable(
    path: str | os.PathLike, option: str = "--out", *, directory: bool = False
) -> Path:
    """Check before any work that ``path`` can be written: folders exist or can be made.

    A probe file is created and removed in the nearest existing folder, which catches
    read-only file systems and missing permissions the way a real write would (a disk that
    fills up during the work is reported by the write itself, naming the file).

    Parameters
    ----------
    path : path-like
        A file to write (or, with ``directory=True``, a folder to fill).
    option : str, default "--out"
        How the user named the path, for the message.
    directory : bool, default False
        ``path`` is a folder.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ChurnDataError
        Naming the path, the reason and the fix; nothing is created.
    """
    path = Path(path)
    if directory:
        if path.exists() and not path.is_dir():
            raise ChurnDataError(f"{option} {str(path)!r} is a file; give a folder")
        folder = path
    else:
        if path.is_dir():
            raise ChurnDataError(f"{option} {str(path)!r} is a folder; give a file name")
        folder = path.parent
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ChurnDataError(
            f"{option} {str(path)!r}: {existing} is a file, so no folder can be made there; "
            f"choose another location"
        )
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".churnpredict-probe-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ChurnDataError(
            f"{option} {str(path)!r}: cannot write in {existing} "
            f"({exc.strerror or exc}); {write_fix(exc)}"
        ) from None
    return path


def write_fix(exc: OSError) -> str:
    """The usual fix for an OSError met when writing an output, as advice for a message."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "free some space or write to another disk"
    if exc.errno == errno.EROFS:
        return "choose a writable location"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "fix the permissions or choose another location"
    return "check the location and choose another if needed"


def _file_metadata(frame: pd.DataFrame, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    from ._version import __version__

    meta = dict(metadata or {})
    meta.update(
        {
            "rows": int(len(frame)),
            "churnpredict_version": __version__,
            "created_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        }
    )
    return {
        k: (v if v is None or isinstance(v, (bool, int, float)) else str(v))
        for k, v in meta.items()
    }


def _write_csv(frame: pd.DataFrame, path: Path, meta: dict[str, Any] | None) -> None:
    def write(tmp: Path) -> None:
        # CRLF (RFC 4180) puts CR and LF among the characters that force quoting
        frame.to_csv(tmp, index=False, lineterminator="\r\n")

    if meta is None:
        with atomic_write(path) as tmp:
            write(tmp)
        return
    sidecar = manifest_path(path)
    # data first, then its manifest: both temporary files are complete before either rename
    with atomic_write(sidecar) as side_tmp, atomic_write(path) as tmp:
        write(tmp)
        digest = hashlib.sha256()
        with open(tmp, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        manifest = {"file": path.name, **meta, "sha256": digest.hexdigest()}
        side_tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def manifest_path(path: str | os.PathLike) -> Path:
    """Where :func:`write_frame` puts the manifest of a CSV: ``<name>.manifest.json``.

    Examples
    --------
    >>> manifest_path("out/at_risk.csv").as_posix()
    'out/at_risk.manifest.json'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.manifest.json")


def _write_parquet(frame: pd.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    extra = dict(table.schema.metadata or {})
    text = json.dumps(meta)
    extra[b"churnpredict"] = text.encode("utf-8")
    extra[b"PANDAS_ATTRS"] = text.encode("utf-8")  # read back as DataFrame.attrs
    table = table.replace_schema_metadata(extra)
    with atomic_write(path) as tmp:
        pq.write_table(table, tmp)


def _style_sheet(
    ws: Any, frame: pd.DataFrame, formats: Mapping[str, str], fills: Mapping[str, Mapping[str, str]]
) -> None:
    """Frozen header, filters, widths, number formats and value colours of one sheet."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    n_rows, n_cols = frame.shape
    if n_cols == 0:
        return
    ws.freeze_panes = "A2"
    last = get_column_letter(n_cols)
    ws.auto_filter.ref = f"A1:{last}{n_rows + 1}"
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for j, name in enumerate(frame.columns, start=1):
        letter = get_column_letter(j)
        col = frame.iloc[:, j - 1]
        text = col.astype("string").str.len() if n_rows else pd.Series([0])
        longest = max(len(str(name)), int(text.max()) if text.notna().any() else 0)
        ws.column_dimensions[letter].width = float(min(max(longest + 2, 8), 60))
        number_format = formats.get(str(name))
        if number_format and n_rows:
            for (cell,) in ws.iter_rows(min_row=2, max_row=n_rows + 1, min_col=j, max_col=j):
                cell.number_format = number_format
        colours = fills.get(str(name))
        if colours and n_rows:
            area = f"A2:{last}{n_rows + 1}"
            for value, rgb in colours.items():
                literal = str(value).replace('"', '""')
                ws.conditional_formatting.add(
                    area,
                    FormulaRule(
                        formula=[f'${letter}2="{literal}"'],
                        fill=PatternFill(start_color=rgb, end_color=rgb, fill_type="solid"),
                    ),
                )


def _write_excel(
    sheets: Mapping[str, pd.DataFrame],
    path: Path,
    meta: dict[str, Any],
    formats: Mapping[str, Mapping[str, str]] | None = None,
    fills: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> None:
    try:
        import openpyxl  # noqa: F401
        from openpyxl.packaging.custom import StringProperty
    except ImportError:
        raise ImportError(
            "writing .xlsx needs openpyxl: pip install 'churnpredict[excel]'"
        ) from None
    with atomic_write(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, sheet in sheets.items():
                sheet.to_excel(writer, sheet_name=name, index=False)
                _style_sheet(
                    writer.sheets[name],
                    sheet,
                    (formats or {}).get(name, {}),
                    (fills or {}).get(name, {}),
                )
            book = writer.book
            props = book.properties
            props.creator = f"churnpredict {meta['churnpredict_version']}"
            props.title = _safe_text(str(meta.get("title") or next(iter(sheets))), "xlsx")[:255]
            props.description = _safe_text(json.dumps(meta), "xlsx")
            for key, value in meta.items():
                if value is not None:
                    book.custom_doc_props.append(
                        StringProperty(name=key, value=_safe_text(str(value), "xlsx"))
                    )
