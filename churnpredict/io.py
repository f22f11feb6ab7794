"""Reading tables from disk and writing outputs atomically."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .exceptions import ChurnDataError
from .spreadsheet import (
    EXCEL_CELL_LIMIT,
    check_cells,
    safe_text,
    spreadsheet_safe,
    warn_carriage_returns,
)

__all__ = [
    "EXCEL_CELL_LIMIT",
    "OUTPUT_SUFFIXES",
    "TABLE_SUFFIXES",
    "atomic_directory",
    "atomic_write",
    "check_cells",
    "check_writable",
    "drift_path",
    "folder_lock",
    "output_batch",
    "find_table",
    "manifest_digest",
    "manifest_path",
    "ids_as_text",
    "read_bounded",
    "read_json_lines",
    "read_table",
    "sync_directory",
    "sync_tree",
    "spreadsheet_safe",
    "write_fix",
    "write_frame",
]

_PANDAS_MAJOR = int(pd.__version__.split(".")[0])

TABLE_SUFFIXES = (
    ".parquet",
    ".pq",
    ".csv",
    ".csv.gz",
    ".tsv",
    ".tsv.gz",
    ".jsonl",
    ".jsonl.gz",
    ".json",
    ".json.gz",
)


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
        File ending in ``.csv``, ``.tsv`` (either gzipped: ``.csv.gz``), ``.parquet``/``.pq``
        or ``.jsonl`` / ``.json`` holding JSON Lines (gzipped too).
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
    elif name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        kind, fix = "CSV", "export it again as UTF-8 CSV with a header row"
        sep = "\t" if name.endswith((".tsv", ".tsv.gz")) else ","
        reader = lambda: pd.read_csv(path, sep=sep, dtype=ids)  # noqa: E731
    elif name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):
        kind, fix = "JSON Lines", "write one JSON object per line"

        def reader() -> pd.DataFrame:
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as fh:
                return read_json_lines(fh, id_columns=id_columns, where=str(path))
    else:
        raise ChurnDataError(
            f"{path}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}"
        )
    try:
        frame = reader()
    except pd.errors.EmptyDataError:
        raise ChurnDataError(f"{path} is empty (no header, no rows); {fix}") from None
    except ChurnDataError:
        raise
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


class _FloatToken(str):
    """The text of a JSON number with a fraction or an exponent (kept exactly as written)."""


def read_json_lines(
    source: Any, *, id_columns: Sequence[str] = ("customer_id",), where: str = "JSON Lines"
) -> pd.DataFrame:
    """A JSON Lines text as a DataFrame, its id columns exactly as written, as text.

    Other columns are typed by pandas without guessing (text dates stay text). An id is its
    JSON string, or the digits of a whole JSON number however large (pandas alone would read
    a column holding one ``1.0`` as floats, turning ``9007199254740993`` into
    ``9007199254740992``). A number written with a fraction or an exponent, a JSON object or
    a list as an id is refused: it names no customer exactly.

    Parameters
    ----------
    source : str or file-like
        The text (or an open text file) of one JSON object per line.
    id_columns : sequence of str, default ("customer_id",)
    where : str
        The file, for messages.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ChurnDataError
        For ids that are floats, objects or lists (naming the file, the column and a few).

    Examples
    --------
    >>> text = '{"customer_id": 9007199254740993}\\n{"customer_id": "007"}\\n'
    >>> read_json_lines(text)["customer_id"].tolist()
    ['9007199254740993', '007']
    """
    import io as _io

    text = source if isinstance(source, str) else source.read()
    options = {"dtype": False} if _PANDAS_MAJOR >= 3 else {"dtype": False, "convert_dates": False}
    frame = pd.read_json(_io.StringIO(text), lines=True, **options)
    for col in id_columns:
        if col not in frame.columns:
            continue
        values = frame[col]
        exact = values.dtype == object and all(
            v is None or isinstance(v, (str, int)) for v in values.dropna().tolist()
        )
        if not (exact or pd.api.types.is_integer_dtype(values.dtype)):
            values = _exact_json_column(text, col, len(frame), where)
        frame[col] = ids_as_text(pd.Series(values, index=frame.index, dtype=object))
    return frame


def _exact_json_column(text: str, column: str, rows: int, where: str) -> list[Any]:
    """The values of ``column`` in each line as written (floats as :class:`_FloatToken`)."""
    values: list[Any] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line, parse_float=_FloatToken, parse_constant=_FloatToken)
        values.append(record.get(column) if isinstance(record, dict) else None)
    if len(values) != rows:  # pragma: no cover - pandas and json agree on JSON Lines
        raise ChurnDataError(f"{where}: {column} could not be read exactly; write ids as text")
    floats = [v for v in values if isinstance(v, _FloatToken)]
    if floats:
        raise ChurnDataError(
            f"{where}: {column} holds {len(floats):,} number(s) with a decimal point or an "
            f"exponent (e.g. {_format_id_examples(floats)}); such JSON numbers are floats, "
            f"which cannot tell every id apart (9007199254740993 reads as 9007199254740992). "
            f'Write ids as text ("{column}": "123") or as whole numbers (123)'
        )
    other = [v for v in values if isinstance(v, (dict, list))]
    if other:
        raise ChurnDataError(
            f"{where}: {column} holds {len(other):,} JSON object(s) or list(s) (e.g. "
            f"{_format_id_examples(other)}); an id is text or a whole number"
        )
    return values


def _format_id_examples(values: Sequence[Any], k: int = 3) -> str:
    """A few values as JSON text, for messages."""
    shown = [v if isinstance(v, _FloatToken) else json.dumps(v)[:40] for v in values[:k]]
    return ", ".join(shown)


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


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused when it holds more than ``limit``.

    The file is opened without blocking and checked before anything is read: a FIFO, a
    device (``/dev/zero``) or a folder is refused rather than waited on or read without end,
    also behind a symbolic link.

    Raises
    ------
    OSError
        When the file is missing or unreadable (``FileNotFoundError`` ...).
    ValueError
        When it is not a regular file or is larger than ``limit`` bytes (the message says
        which).
    """
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > limit:
            raise ValueError(f"{info.st_size:,} bytes, over the limit of {limit:,}")
        chunks, size = [], 0
        while True:
            block = os.read(fd, min(1 << 20, limit + 1 - size))
            if not block:
                break
            chunks.append(block)
            size += len(block)
            if size > limit:
                raise ValueError(f"over the limit of {limit:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


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
        pending = _BATCH.get()
        if pending is not None:  # renamed with the batch's other outputs, at its end
            pending.append((tmp, path))
            return
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


_BATCH: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar(
    "churnpredict_output_batch", default=None
)


@contextlib.contextmanager
def output_batch() -> Iterator[None]:
    """Outputs written inside the block replace their destinations together, or none does.

    Every :func:`atomic_write` inside the block (:func:`write_frame`, the at-risk list, its
    manifest, its drift file...) writes and fsyncs its temporary file as usual but waits with
    the rename: when the block ends without error, all are renamed under an exclusive lock
    on their folders (:func:`folder_lock`), so two writers of the same files never leave a
    mix of both and a reader holding the shared lock sees one writer's files. On any error
    every temporary file is removed and no destination is touched. A batch inside a batch
    joins the outer one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with output_batch():
    ...     with atomic_write(folder / "a.txt") as tmp:
    ...         _ = tmp.write_text("a")
    ...     print(sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")))
    []
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt']
    """
    if _BATCH.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _BATCH.set(pending)
    try:
        yield
    except BaseException:
        _BATCH.reset(token)
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    _BATCH.reset(token)
    folders = sorted({path.parent.resolve() for _, path in pending})
    try:
        with contextlib.ExitStack() as locks:
            for folder in folders:  # always in the same order: no deadlock between writers
                locks.enter_context(folder_lock(folder))
            while pending:
                tmp, path = pending[0]
                try:
                    os.replace(tmp, path)
                except OSError as exc:  # name the destination, not the temporary file
                    if exc.errno is None:
                        raise
                    raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
                pending.pop(0)
            for folder in folders:
                _fsync(folder)
    finally:
        for tmp, _ in pending:  # left over by a failed rename
            with contextlib.suppress(OSError):
                tmp.unlink()


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike, *, shared: bool = False) -> Iterator[None]:
    """An exclusive (or shared) lock on a folder between churnpredict processes.

    POSIX ``flock`` on the folder itself (no lock file is created); no lock on Windows.
    Writers of outputs that belong together take it exclusively around their renames
    (:func:`output_batch`, model bundles), readers of such outputs shared.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


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
    error the temporary directory is removed and ``path`` is left as it was. It replaces
    whatever ``path`` holds: callers first check that churnpredict wrote it
    (:func:`churnpredict.folders.check_output_folder`) and mark the new one.

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
    the format cannot hold (NUL and the like). In Excel, ``customer_id`` is always text
    (numbers as their exact digits): a number cell would round ids beyond 15 digits. Parquet
    keeps values as they are.
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
        book = {sheet_name: _text_ids(frame), **dict(sheets or {})}
        safe = {key: spreadsheet_safe(sheet, "xlsx") for key, sheet in book.items()}
        for sheet in safe.values():
            check_cells(sheet, path, cleaned=True)
        warn_carriage_returns(frame, path)
        _write_excel(safe, path, meta, excel_formats or {}, excel_fills or {})
    return path


#: Columns written as text in Excel whatever their type: a number cell holds 15 significant
#: digits (a double), so an id such as 9007199254740993 would come back as another id.
_ID_COLUMNS = ("customer_id",)


def _text_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its id columns as exact text (numbers as their digits)."""
    ids = [c for c in _ID_COLUMNS if c in frame.columns]
    if not ids:
        return frame
    out = frame.copy(deep=False)
    for col in ids:
        out[col] = ids_as_text(out[col])
    return out


#: The file types :func:`write_frame` writes.
OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx")


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
    # one unit: both temporary files are complete, then renamed together under the lock
    with output_batch(), atomic_write(sidecar) as side_tmp, atomic_write(path) as tmp:
        write(tmp)
        digest = hashlib.sha256()
        with open(tmp, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        manifest = {"file": path.name, **meta, "sha256": digest.hexdigest()}
        manifest["manifest_sha256"] = manifest_digest(manifest)
        side_tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of a manifest's own fields (all but ``manifest_sha256``), in canonical JSON.

    Written into the manifest, it shows a reader that the manifest was not edited since it
    was written (by mistake; anyone who edits on purpose can recompute it).
    """
    fields = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_path(path: str | os.PathLike) -> Path:
    """Where :func:`write_frame` puts the manifest of a CSV: ``<name>.manifest.json``.

    Examples
    --------
    >>> manifest_path("out/at_risk.csv").as_posix()
    'out/at_risk.manifest.json'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.manifest.json")


def drift_path(path: str | os.PathLike) -> Path:
    """Where ``churnpredict score`` puts the drift record of a list: ``<name>.drift.json``.

    One per list, so this week's list does not overwrite last week's record.

    Examples
    --------
    >>> drift_path("out/at_risk.csv").as_posix()
    'out/at_risk.drift.json'
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.drift.json")


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
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise ImportError(
            "writing .xlsx needs openpyxl, which churnpredict depends on: reinstall churnpredict"
        ) from None
    with atomic_write(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, sheet in sheets.items():
                sheet.to_excel(writer, sheet_name=name, index=False)
                for j, col in enumerate(sheet.columns, start=1):
                    if col in _ID_COLUMNS:  # text cells, shown as text ("@")
                        for (cell,) in writer.sheets[name].iter_rows(
                            min_row=2, min_col=j, max_col=j
                        ):
                            cell.number_format = "@"
                _style_sheet(
                    writer.sheets[name],
                    sheet,
                    (formats or {}).get(name, {}),
                    (fills or {}).get(name, {}),
                )
            book = writer.book
            props = book.properties
            props.creator = f"churnpredict {meta['churnpredict_version']}"
            props.title = safe_text(str(meta.get("title") or next(iter(sheets))), "xlsx")[:255]
            props.description = safe_text(json.dumps(meta), "xlsx")
            for key, value in meta.items():
                if value is not None:
                    book.custom_doc_props.append(
                        StringProperty(name=key, value=safe_text(str(value), "xlsx"))
                    )
