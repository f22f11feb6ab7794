"""Reading an at-risk list back, with what it records about itself, checked.

:func:`churnpredict.write_at_risk` writes a list with its provenance: a CSV with its
``<name>.manifest.json`` (written together with it under a lock on their folder, holding the
CSV's SHA-256), Parquet with key-value metadata, Excel with document properties.
:func:`read_list` reads it back and checks it against that record, so a campaign readout
never reads out an edited, cut or mismatched list.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ._exceptions import ChurnDataError

__all__ = ["read_list"]

_MAX_MANIFEST_BYTES = 1 << 20


def _manifest(sidecar: Path) -> dict[str, Any] | None:
    """The manifest of a CSV list (None when there is none); ChurnDataError when unreadable."""
    from ._reading import read_bounded

    if not os.path.lexists(sidecar):
        return None
    try:
        meta = json.loads(read_bounded(sidecar, _MAX_MANIFEST_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ChurnDataError(
            f"{sidecar}: not a readable manifest ({exc}); restore it (or remove it and pass "
            f"the list's as-of and horizon)"
        ) from None
    if not isinstance(meta, dict):
        raise ChurnDataError(f"{sidecar}: not a manifest (a JSON object); restore it")
    return meta


def _read_csv_list(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A CSV list and its manifest, read together and checked against each other."""
    import hashlib
    import io as _io

    from ._atomic import folder_lock
    from ._outputs import manifest_digest, manifest_path

    sidecar = manifest_path(path)
    with folder_lock(path.parent, shared=True):  # the writer renames both under this lock
        raw = path.read_bytes()
        meta = _manifest(sidecar)
    if meta is not None:
        if "manifest_sha256" in meta and meta["manifest_sha256"] != manifest_digest(meta):
            raise ChurnDataError(
                f"{sidecar}: the manifest was edited after churnpredict wrote it (its own "
                f"SHA-256 does not match); restore the pair 'churnpredict score' wrote (or, at "
                f"your own risk, remove the manifest and pass --list-as-of and --horizon)"
            )
        recorded, actual = meta.get("sha256"), hashlib.sha256(raw).hexdigest()
        if recorded != actual:
            raise ChurnDataError(
                f"LIST {str(path)!r} does not match its manifest {sidecar.name} (SHA-256 "
                f"{str(recorded)[:12]}... recorded, {actual[:12]}... found): the list was "
                f"edited, cut or replaced after churnpredict wrote it, or the manifest is "
                f"another list's. Restore the pair 'churnpredict score' wrote"
            )
    frame = pd.read_csv(
        _io.BytesIO(raw), dtype={"customer_id": str, "group": str, "risk_tier": str}
    )
    return frame, meta or {}


def _embedded_metadata(path: Path, suffix: str) -> dict[str, Any]:
    """What a Parquet or Excel list records about itself."""
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        raw = (pq.read_schema(path).metadata or {}).get(b"churnpredict")
        meta = json.loads(raw) if raw else {}
        return meta if isinstance(meta, dict) else {}
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {p.name: p.value for p in book.custom_doc_props.props}
    finally:
        book.close()


def read_list(path: str | os.PathLike) -> pd.DataFrame:
    """Read an at-risk list written by :func:`churnpredict.write_at_risk`, with its metadata.

    A CSV list is checked against its ``<name>.manifest.json``: the SHA-256 of the file must
    be the one recorded (list and manifest are written and read as one unit, under a lock on
    their folder). Parquet and Excel lists carry their metadata inside; the row count they
    record must match.

    Parameters
    ----------
    path : path-like
        ``.csv`` (its ``<name>.manifest.json`` next to it), ``.parquet`` / ``.pq`` (key-value
        metadata) or ``.xlsx`` (sheet ``at_risk``, document properties).

    Returns
    -------
    pandas.DataFrame
        The list, ``customer_id`` as text for CSV and Excel (so ids such as ``007`` keep
        their zeros); ``attrs`` hold what the file recorded (``as_of``, ``horizon``,
        ``model_id``, ``holdout_share``, ``holdout_seed``, ...), empty when it recorded
        nothing.

    Raises
    ------
    ChurnDataError
        When the file is missing, of another type, unreadable, or does not match what it
        records (SHA-256, rows).
    """
    path = Path(path)
    if not path.is_file():
        raise ChurnDataError(
            f"LIST {str(path)!r}: no such file; give the at-risk list "
            f"written by 'churnpredict score'"
        )
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq", ".xlsx"):
        raise ChurnDataError(
            f"LIST {str(path)!r}: unsupported type {suffix or '(none)'!r}; "
            f"give the .csv, .parquet or .xlsx list"
        )
    try:
        if suffix == ".csv":
            frame, metadata = _read_csv_list(path)
        else:
            if suffix == ".xlsx":
                frame = pd.read_excel(
                    path,
                    sheet_name="at_risk",
                    dtype={"customer_id": str, "group": str, "risk_tier": str},
                )
            else:
                frame = pd.read_parquet(path)
            metadata = _embedded_metadata(path, suffix)
    except ChurnDataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser's complaint: the file is damaged
        raise ChurnDataError(
            f"LIST {str(path)!r} cannot be read as a {suffix} at-risk list "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}); "
            f"give the list 'churnpredict score' wrote, unedited"
        ) from None
    rows = metadata.get("rows")
    if rows not in (None, "") and str(rows) != str(len(frame)):
        raise ChurnDataError(
            f"LIST {str(path)!r} holds {len(frame):,} rows but records {rows!r}: it was cut "
            f"or edited after churnpredict wrote it; read out the list 'score' wrote"
        )
    skip = ("file", "sha256", "manifest_sha256", "title")
    frame.attrs = {k: v for k, v in metadata.items() if k not in skip}
    return frame
