"""Reading input files: tables (CSV, TSV, Parquet, JSON Lines), bounded files and the config.

Every input churnpredict reads from disk comes through here: :func:`find_table` finds the
file of a table in a folder, :func:`read_table` reads it with ids as text, and
:func:`read_bounded` reads a small file (a manifest, a bundle's pointer) without ever waiting
on a FIFO or reading a device without end. :func:`load_config` reads the TOML configuration.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._exceptions import ChurnDataError

__all__ = [
    "TABLE_SUFFIXES",
    "find_table",
    "ids_as_text",
    "load_config",
    "read_bounded",
    "read_json_lines",
    "read_table",
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
    :class:`~churnpredict._exceptions.ChurnDataError` naming it.

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
    if not path.is_file():
        raise ChurnDataError(f"{path}: no such file; check the path")
    kind, fix, reader = _table_reader(path, id_columns)
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


def _table_reader(
    path: Path, id_columns: Sequence[str]
) -> tuple[str, str, Callable[[], pd.DataFrame]]:
    """The format of ``path`` (by suffix), the fix for a file that fails, and its reader.

    Raises
    ------
    ChurnDataError
        For a suffix churnpredict does not read.
    """
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "Parquet", "write it again (e.g. DataFrame.to_parquet)", lambda: _read_parquet(path)
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        sep = "\t" if name.endswith((".tsv", ".tsv.gz")) else ","
        ids = {col: str for col in id_columns}
        return (
            "CSV",
            "export it again as UTF-8 CSV with a header row",
            lambda: pd.read_csv(path, sep=sep, dtype=ids),
        )
    if name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):

        def reader() -> pd.DataFrame:
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as fh:
                return read_json_lines(fh, id_columns=id_columns, where=str(path))

        return "JSON Lines", "write one JSON object per line", reader
    raise ChurnDataError(f"{path}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}")


#: Parquet files with at least this many rows are read a column at a time (pandas 3).
_COLUMN_AT_A_TIME_ROWS = 1_000_000


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame, with Arrow's memory handed back as soon as it is free.

    Arrow's buffers are released column by column while pandas takes them over (pandas 3),
    and what Arrow's allocator keeps for reuse afterwards is returned to the system. A big
    file (a million rows or more) is read one column at a time, each column's decoding
    freed before the next: reading the whole file at once costs about twice the table's size
    on top of it (decoded pages, buffers kept for reuse), one column at a time about one
    column's worth. The frame is the same either way, dtypes and index included.
    """
    import pyarrow
    import pyarrow.parquet as pq

    options = (
        {"to_pandas_kwargs": {"self_destruct": True, "split_blocks": True}}
        if _PANDAS_MAJOR >= 3
        else {}
    )
    pool = pyarrow.default_memory_pool()
    try:
        meta = pq.ParquetFile(path)
        names = meta.schema_arrow.names
        by_column = (
            _PANDAS_MAJOR >= 3  # pandas 2 would consolidate the columns again: a copy
            and meta.metadata.num_rows >= _COLUMN_AT_A_TIME_ROWS
            and len(names) > 1
            and len(set(names)) == len(names)
        )
        frame = _read_by_column(path, names, options, pool) if by_column else None
        return pd.read_parquet(path, **options) if frame is None else frame
    finally:
        pool.release_unused()


def _read_by_column(
    path: Path, names: Sequence[str], options: dict[str, Any], pool: Any
) -> pd.DataFrame | None:
    """The file read one column at a time; None when a column makes part of an index."""
    columns = {}
    index = None
    for name in names:
        part = pd.read_parquet(path, columns=[name], **options)
        pool.release_unused()
        index = part.index if index is None else index
        if part.shape[1] != 1 or not part.index.equals(index):  # pandas' metadata: an index
            return None
        columns[part.columns[0]] = part.iloc[:, 0]
    return pd.DataFrame(columns, index=index, copy=False)


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


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML configuration file.

    The file may hold ``[columns.<table>]`` renames (your name = canonical name), a
    ``[status_map]`` for payment statuses and any pipeline settings (``horizon``,
    ``windows``, ``actions``...).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ChurnDataError(f"config file {path} not found; check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ChurnDataError(f"config file {path} is not valid TOML: {exc}") from None
