"""The output files: tables written as CSV, Parquet or Excel, their manifests and drift files.

:func:`write_frame` writes every table churnpredict produces (atomically, spreadsheet-safe,
with its provenance); :func:`manifest_path` and :func:`drift_path` say where a list's
sidecar files go; :func:`check_writable` checks before any work that an output can be
written, and :func:`write_fix` words the fix for a failed write.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ._atomic import atomic_write, output_batch
from ._exceptions import ChurnDataError
from ._reading import ids_as_text
from ._spreadsheet import check_cells, safe_text, spreadsheet_safe, warn_carriage_returns

__all__ = [
    "OUTPUT_SUFFIXES",
    "check_writable",
    "drift_path",
    "manifest_digest",
    "manifest_path",
    "write_fix",
    "write_frame",
]


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
    :func:`churnpredict._spreadsheet.spreadsheet_safe` to every text cell and header (see
    Notes).

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
