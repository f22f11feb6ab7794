"""Command-line values checked before any work: dates, durations, periods, outputs, models.

Every check raises :class:`~churnpredict.cli.session.BadInput` (or ``BundleError``) naming the
flag and the fix, so a bad value is exit 2 before data is read or anything is written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .. import _kinds as kinds
from .._exceptions import BundleError
from .._windows import to_naive_utc
from .session import BadInput, Session

__all__ = [
    "OUTPUT_SUFFIXES",
    "PERIOD_ALIASES",
    "BUSINESS_KINDS",
    "parse_date",
    "parse_duration",
    "parse_period",
    "check_output",
    "check_output_dir",
    "check_list_output",
    "check_not_input",
    "side_files",
    "check_cells",
    "check_bundle_destination",
    "check_model_dir",
    "check_business",
    "load_pipeline",
]

OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx")
PERIOD_ALIASES = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}
BUSINESS_KINDS = ("auto", *kinds.BUSINESS_KINDS)  # --business: a kind, or read from the data

_ISO_DATE = (
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?"
)


def parse_date(value: str | None, option: str = "--as-of") -> Any:
    """Parse an ISO date/time option (YYYY-MM-DD[THH:MM[:SS]]) to a naive UTC Timestamp.

    Anything else (``09/09/2011`` could be either of two days) and times outside the range
    pandas can hold raise BadInput.
    """
    if value is None:
        return None
    text = value.strip()
    try:  # only ISO: 09/09/2011 could be either of two days
        stamp = to_naive_utc(text, option) if re.fullmatch(_ISO_DATE, text) else None
    except ValueError:  # no such day, or out of range
        stamp = None
    if stamp is None:
        raise BadInput(
            f"{option} {value!r} is not a date in ISO form between 1700-01-01 and "
            f"2199-12-31; use YYYY-MM-DD (or YYYY-MM-DDTHH:MM), e.g. 2024-12-31"
        )
    return stamp


def parse_duration(value: Any, option: str) -> Any:
    """A positive duration (``28D``, ``4W``, a number of days) as a Timedelta."""
    from .._windows import parse_window

    try:
        window = parse_window(value)
    except (ValueError, TypeError) as exc:
        raise BadInput(
            f"{option} {value!r} is not a usable duration ({exc}); use e.g. 28D"
        ) from None
    if window <= window * 0:
        raise BadInput(f"{option} {value!r} must be positive, e.g. 28D")
    return window


def parse_period(value: str) -> str:
    """``--period``: a name from :data:`PERIOD_ALIASES` or a pandas frequency."""
    from pandas.tseries.frequencies import to_offset

    freq = PERIOD_ALIASES.get(value.strip().lower(), value.strip())
    try:
        to_offset(freq)
    except (ValueError, TypeError):
        raise BadInput(
            f"--period {value!r} is not a period; use day, week, month, quarter, year or a "
            f"pandas frequency such as MS or W-MON"
        ) from None
    return freq


def check_output(path: Path, option: str = "--out") -> Path:
    """Check an output file before any work: supported suffix, writable location."""
    from .._outputs import check_writable

    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise BadInput(
            f"{option} {str(path)!r}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use .csv, .parquet or .xlsx"
        )
    if path.exists() and path.is_dir():
        raise BadInput(
            f"{option} {str(path)!r} is a directory; give a file name such as at_risk.csv"
        )
    if path.suffix.lower() == ".xlsx":
        try:
            import openpyxl  # noqa: F401  (a dependency of churnpredict)
        except ImportError:
            raise BadInput(
                "writing .xlsx needs openpyxl, which churnpredict depends on: reinstall "
                "churnpredict (pip install --force-reinstall churnpredict), or write .csv / "
                ".parquet"
            ) from None
    return check_writable(path, option)


def side_files(path: Path, *, drift: bool = False) -> list[Path]:
    """The files written next to an at-risk list ``path``: the CSV manifest, the drift file."""
    from .._outputs import drift_path, manifest_path

    files = [manifest_path(path)] if path.suffix.lower() == ".csv" else []
    return files + ([drift_path(path)] if drift else [])


def check_list_output(path: Path, option: str = "--out", *, drift: bool = False) -> list[Path]:
    """An at-risk list's destination and its side files, before any work: the list as
    :func:`check_output`, and no side file may be a folder. Returns every file written."""
    check_output(path, option)
    files = [path, *side_files(path, drift=drift)]
    for file in files[1:]:
        if file.is_dir():
            raise BadInput(
                f"{option} {str(path)!r}: {file} is a folder, but the list's "
                f"{'manifest' if file.name.endswith('.manifest.json') else 'drift record'} "
                f"goes there; remove it or choose another name"
            )
    return files


def check_not_input(
    outputs: list[Path],
    option: str,
    *,
    data: Path | None = None,
    inputs: tuple[Path | None, ...] = (),
    model: Path | None = None,
    tables: dict[str, str] | None = None,
) -> None:
    """Refuse, before any work, an output that would replace an input.

    An output may not be named like a table file in the DATA folder (``customers.csv``,
    ``activity.parquet``...: replacing one, or adding a second source of a table), be a file
    the config's ``[tables]`` names, be the same file as another input (the config, the list
    read), or lie inside the model folder.
    """
    if data is not None:
        inputs = (*inputs, *(data / name for name in (tables or {}).values()))
    for out in outputs:
        replaced = _replaced_input(out, data=data, inputs=inputs, model=model)
        if replaced is not None:
            raise BadInput(f"{option} {str(out)!r} {replaced}; write the output elsewhere")


def _replaced_input(
    out: Path, *, data: Path | None, inputs: tuple[Path | None, ...], model: Path | None
) -> str | None:
    """What input ``out`` would replace, in words (None when it replaces none)."""
    from .._reading import TABLE_SUFFIXES
    from .._tables import TABLES

    where = out.absolute().parent.resolve()
    if data is not None and data.is_dir() and where == data.resolve():
        if out.name.lower() in {f"{t}{s}" for t in TABLES for s in TABLE_SUFFIXES}:
            return f"is an input table (in DATA {str(data)!r})"
    if model is not None and model.is_dir() and _inside(where, model):
        return f"is inside the model folder {str(model)!r}"
    given = next((g for g in inputs if g is not None and _same_file(out, g)), None)
    return None if given is None else f"is an input ({str(given)!r})"


def _inside(where: Path, folder: Path) -> bool:
    """Whether the resolved folder ``where`` is ``folder`` or lies in it."""
    root = folder.resolve()
    return where == root or root in where.parents


def _same_file(a: Path, b: Path) -> bool:
    """Whether two existing paths name the same file (False when either is missing)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_dir(path: Path, option: str, kind: str) -> Path:
    """Check an output folder before any work: not a file, can be made, writable, and new,
    empty or a folder of ``kind`` churnpredict wrote (:mod:`churnpredict._folders`)."""
    from .._folders import check_output_folder

    return check_output_folder(path, kind, option)


def check_cells(out: Path, frame: Any, what: str) -> None:
    """Refuse, before scoring, input text an .xlsx output could not hold."""
    from .._spreadsheet import check_cells as check_frame_cells

    check_frame_cells(frame, out, what=what)


def check_bundle_destination(path: Path) -> Path:
    """``train --model``: refuse, before any work, a destination that is not a bundle."""
    from .._bundle import check_destination

    try:
        return check_destination(path)
    except BundleError as exc:
        raise BundleError(f"--model {exc}") from None


def check_model_dir(path: Path) -> Path:
    """``--model`` of a command that reads a model: an existing directory."""
    if not path.exists():
        raise BundleError(
            f"--model {str(path)!r}: no such directory; train one first with "
            f"'churnpredict train DATA --model {path}'"
        )
    if not path.is_dir():
        raise BundleError(
            f"--model {str(path)!r} is a file, not a model directory written by "
            f"'churnpredict train'"
        )
    return path


def check_business(pipeline: Any, business: str | None) -> None:
    """--business on a saved model: it must be the kind the model was trained for."""
    if business is None or business == "auto":
        return
    if business not in BUSINESS_KINDS:
        raise BadInput(f"--business {business!r}; use auto, subscription, purchases or usage")
    trained = getattr(pipeline, "business_", "subscription")
    if trained != business:
        raise BadInput(
            f"--business {business}: the model was trained for {trained} data; retrain with "
            f"'churnpredict train ... --business {business}' or drop --business"
        )


def load_pipeline(session: Session, path: Path) -> Any:
    """The ChurnPipeline saved in the bundle directory ``path``."""
    from .._pipeline import ChurnPipeline

    check_model_dir(path)
    with session.step(f"Loading model {path}"):
        return ChurnPipeline.load(path)
