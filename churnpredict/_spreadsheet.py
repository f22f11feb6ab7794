"""Spreadsheet safety: text cells a spreadsheet shows as text, never runs, and can hold.

:func:`spreadsheet_safe` neutralises formulas (a leading apostrophe) and, for .xlsx, removes
the control characters the format cannot hold; :func:`check_cells` refuses text over Excel's
cell limit before any work; :func:`warn_carriage_returns` says when an .xlsx file would give
a value back changed. :func:`churnpredict._outputs.write_frame` applies them to every table written.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnDataError, DataQualityWarning

__all__ = [
    "EXCEL_CELL_LIMIT",
    "check_cells",
    "safe_text",
    "spreadsheet_safe",
    "warn_carriage_returns",
]

#: Excel's limit on the characters in one cell.
EXCEL_CELL_LIMIT = 32_767
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


def safe_text(text: str, target: str) -> str:
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
        safe_text(name, target) if isinstance(name, str) else name for name in out.columns
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


def warn_carriage_returns(frame: pd.DataFrame, path: Path) -> None:
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
