"""Output folders churnpredict fills: recognised by a marker it wrote, never by file names.

A report folder (``write_report``, ``evaluate --report``), a campaign readout
(``write_campaign``, ``campaign --out``), the ranked Parquet list of ``score --ranked-out``
and the demo folder have files replaced (or, for the ranked list, the whole folder swapped)
on every run. Such a folder is written only when it is new, empty, or holds the marker file
:data:`MARKER` that churnpredict wrote there, with the same kind of output: a folder of
someone's files is never touched, whatever its files are called. (Model bundles have their own
marker, the ``CURRENT`` pointer: see :mod:`churnpredict._bundle`.)

The marker is a small JSON file, ``.churnpredict-output``: a name starting with a dot, which
Parquet readers skip.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._atomic import atomic_write
from ._exceptions import ChurnDataError
from ._outputs import check_writable
from ._reading import read_bounded

__all__ = ["MARKER", "FOLDER_KINDS", "check_output_folder", "folder_kind", "mark_output_folder"]

#: The marker file in a folder churnpredict fills.
MARKER = ".churnpredict-output"
_FORMAT = "churnpredict-output"
_MAX_MARKER_BYTES = 4096
#: The kinds of output folders, with what they hold (for messages).
FOLDER_KINDS = {
    "report": "an HTML report",
    "campaign": "a campaign readout",
    "ranked-list": "a ranked Parquet list",
    "demo": "the demo's list, report and model",
}


def folder_kind(path: str | os.PathLike) -> str | None:
    """The kind recorded by the marker in ``path`` (None without a readable marker).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> folder_kind(folder) is None
    True
    >>> mark_output_folder(folder, "report")
    >>> folder_kind(folder)
    'report'
    """
    marker = Path(path) / MARKER
    try:
        raw = read_bounded(marker, _MAX_MARKER_BYTES)
        obj = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(obj, dict) and obj.get("format") == _FORMAT and obj.get("kind") in FOLDER_KINDS:
        return str(obj["kind"])
    return None


def check_output_folder(path: str | os.PathLike, kind: str, option: str = "out_dir") -> Path:
    """Check, before any work, that churnpredict may fill the folder ``path`` with ``kind``.

    The folder may be new, empty, or hold the marker of the same kind; its location must be
    writable (:func:`churnpredict._outputs.check_writable`). Nothing is created.

    Parameters
    ----------
    path : path-like
    kind : str
        One of :data:`FOLDER_KINDS`.
    option : str
        How the user named the folder, for messages.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ChurnDataError
        When ``path`` is a file, a non-empty folder churnpredict did not fill with ``kind``,
        or cannot be written.
    """
    if kind not in FOLDER_KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {sorted(FOLDER_KINDS)}")
    path = check_writable(Path(path), option, directory=True)
    if path.is_dir() and any(path.iterdir()):
        found = folder_kind(path)
        if found != kind:
            what = (
                f"holds {FOLDER_KINDS[found]}, not {FOLDER_KINDS[kind]}"
                if found
                else "is not empty and churnpredict did not write it (no marker file "
                f"{MARKER} there)"
            )
            raise ChurnDataError(
                f"{option} {str(path)!r} {what}; its files are not replaced. Give a new or "
                f"empty folder"
            )
    return path


def mark_output_folder(path: str | os.PathLike, kind: str) -> None:
    """Write the marker of ``kind`` into the folder ``path`` (created if needed), atomically."""
    if kind not in FOLDER_KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {sorted(FOLDER_KINDS)}")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if folder_kind(folder) == kind:
        return
    with atomic_write(folder / MARKER) as tmp:
        tmp.write_text(json.dumps({"format": _FORMAT, "kind": kind}) + "\n", encoding="utf-8")
