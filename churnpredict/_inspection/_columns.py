"""What one column holds: its type, how many distinct values, whether it reads as times, and
which canonical columns its values could be.

Times are parsed with the library's own rule (:func:`churnpredict._dates.normalise_timestamps`:
ISO 8601 always, numeric dates in the order the data proves, never guessed); numbers are
epoch times only when the name says time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._dates import date_order_evidence, normalise_timestamps
from .._exceptions import ChurnDataError
from ._vocabulary import STATUS_VALUES, match, squash

__all__ = ["ColumnProfile", "profile_column", "TIME_CONCEPTS"]

#: Concepts whose columns hold times.
TIME_CONCEPTS = ("event_time", "row_time", "signup", "churn_time", "end_time", "resolved")
_DATE_LIKE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4})")
#: Epoch numbers of times between these years, per unit.
_EPOCH_RANGE = (pd.Timestamp("1990-01-01").value, pd.Timestamp("2100-01-01").value)
_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_SAMPLE = 500


@dataclass
class ColumnProfile:
    """What a column holds (see :func:`profile_column`)."""

    name: str
    concepts: dict[str, int]
    kind: str  # empty, bool, integer, float, text, datetime, other
    n_rows: int
    n_present: int
    n_unique: int
    numbers: np.ndarray | None = None  # present values as floats (numbers or numeric text)
    times: pd.Series | None = None  # parsed times (naive UTC), where the column reads as times
    time_how: str = ""  # how the times were read
    epoch_unit: str | None = None  # the unit numbers were read in as epoch times
    date_order_open: bool = False  # numeric dates that read day- or month-first
    text: pd.Series | None = field(default=None, repr=False)  # present values as stripped text
    counts: pd.Series | None = field(default=None, repr=False)  # text value counts

    # ------------------------------------------------------------------ facts
    @property
    def unique_per_row(self) -> bool:
        """Every row has a value and no value repeats."""
        return self.n_present == self.n_rows and self.n_unique == self.n_rows

    @property
    def is_numeric(self) -> bool:
        return self.numbers is not None and self.kind != "bool"

    @property
    def integer_valued(self) -> bool:
        return self.numbers is not None and bool(np.all(np.mod(self.numbers, 1) == 0))

    def strength(self, *concepts: str) -> int:
        """The strongest name match among ``concepts`` (2 exact, 1 words, 0 none)."""
        return max((self.concepts.get(c, 0) for c in concepts), default=0)

    # ------------------------------------------------------------------ value checks
    def fits_id(self) -> bool:
        """Values that can be customer ids: whole numbers or short text, several of them."""
        if self.n_unique < 2 or self.kind in ("bool", "datetime", "empty", "other"):
            return False
        if self.kind == "float" and not self.integer_valued:
            return False
        if self.kind == "text" and self.text is not None:
            return bool(self.text.str.len().mean() <= 64)
        return True

    def fits_event_type(self) -> bool:
        """A few repeated text values (page names, event types)."""
        return (
            self.kind == "text"
            and 1 < self.n_unique <= 1000
            and self.n_unique * 2 <= self.n_present
            and self.numbers is None
        )

    def fits_category(self, most: int) -> bool:
        return 1 < self.n_unique <= most and self.n_unique * 2 <= max(self.n_present, 2)

    def fits_binary(self) -> bool:
        return self.n_present == self.n_rows and self.n_unique == 2

    def statuses(self) -> tuple[dict[str, str], list[str]]:
        """Payment statuses the values stand for, and the values that stand for none."""
        if self.kind != "text" or self.counts is None or self.n_unique > 20:
            return {}, []
        known, unknown = {}, []
        for value in self.counts.index:
            status = STATUS_VALUES.get(squash(value))
            if status is None:
                unknown.append(str(value))
            else:
                known[str(value)] = status
        return known, unknown

    def describe(self) -> str:
        """A short account of the values, for the reasons printed."""
        if self.n_present == 0:
            return "empty"
        if self.times is not None:
            present = self.times.dropna()
            return f"{self.time_how} {present.min():%Y-%m-%d} .. {present.max():%Y-%m-%d}"
        if self.n_unique <= 4:
            counts = self.counts
            if counts is None:
                counts = pd.Series(self.numbers).value_counts()
                counts.index = [_num(float(v)) for v in counts.index]
            shown = ", ".join(f"{k} {v:,}" for k, v in counts.head(4).items())
            return f"values {shown}"
        if self.numbers is not None and len(self.numbers):
            lo, hi = float(np.min(self.numbers)), float(np.max(self.numbers))
            return f"numbers {_num(lo)} .. {_num(hi)}"
        return f"{self.n_unique:,} distinct values"


def _num(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) and abs(value) < 1e15 else f"{value:,.2f}"


def _kind(values: pd.Series) -> str:
    dtype = values.dtype
    types = pd.api.types
    if values.notna().sum() == 0:
        return "empty"
    if types.is_bool_dtype(dtype):
        return "bool"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_integer_dtype(dtype):
        return "integer"
    if types.is_float_dtype(dtype):
        return "float"
    inferred = types.infer_dtype(values, skipna=True)
    if inferred == "string":
        return "text"
    if inferred in ("integer", "mixed-integer-float"):
        return "integer"
    if inferred == "floating":
        return "float"
    if inferred == "boolean":
        return "bool"
    if inferred in ("datetime", "datetime64", "date"):
        return "datetime"
    return "other"


def profile_column(file: str, name: str, values: pd.Series) -> ColumnProfile:
    """Profile one column of a file.

    Parameters
    ----------
    file : str
        The file name, for messages.
    name : str
        The column name.
    values : pandas.Series
        The column as read (empty text already missing).

    Returns
    -------
    ColumnProfile
    """
    kind = _kind(values)
    present = values.dropna()
    try:
        n_unique = int(present.nunique())
    except TypeError:  # unhashable cells (lists, dicts)
        kind, n_unique = "other", len(present)
    profile = ColumnProfile(
        name=str(name),
        concepts=match(str(name)),
        kind=kind,
        n_rows=len(values),
        n_present=len(present),
        n_unique=n_unique,
    )
    if kind in ("integer", "float", "bool"):
        profile.numbers = present.to_numpy(dtype=np.float64)
        profile.epoch_unit = _epoch_unit(profile.numbers)
        if profile.epoch_unit and profile.strength(*TIME_CONCEPTS):
            unit = profile.epoch_unit
            profile.times = normalise_timestamps(file, str(name), values, time_unit=unit)
            profile.time_how = f"epoch {unit}"
    elif kind == "datetime":
        profile.times = normalise_timestamps(file, str(name), values)
        profile.time_how = "times"
    elif kind == "text":
        text = present.astype(str).str.strip()
        profile.text = text
        profile.counts = text.value_counts()
        numbers = pd.to_numeric(text, errors="coerce")
        if len(text) and numbers.notna().mean() >= 0.99:
            profile.numbers = numbers.dropna().to_numpy(dtype=np.float64)
        else:
            _read_times(profile, file, values, text)
    return profile


def _epoch_unit(numbers: np.ndarray) -> str | None:
    """The unit in which (nearly) every number is a time between 1990 and 2100, if any."""
    if len(numbers) == 0 or not np.all(np.isfinite(numbers)):
        return None
    lo, hi = _EPOCH_RANGE
    for unit, ns in _UNIT_NS.items():
        scaled = numbers * float(ns)
        if float(((scaled >= lo) & (scaled <= hi)).mean()) >= 0.99:
            return unit
    return None


def _read_times(profile: ColumnProfile, file: str, values: pd.Series, text: pd.Series) -> None:
    """Parse text that looks like dates, as EventData will (order settled or left open)."""
    sample = text.head(_SAMPLE)
    if len(sample) == 0 or sample.str.match(_DATE_LIKE).mean() < 0.95:
        return
    try:
        profile.times = normalise_timestamps(file, profile.name, values)
        profile.time_how = "dates" if _all_midnight(profile.times) else "times"
        return
    except ChurnDataError:
        pass
    day, month = date_order_evidence(text)
    if day or month:  # contradicting orders, or values that are not dates
        return
    try:  # every value reads either way: record the span, leave the order to the user
        profile.times = normalise_timestamps(file, profile.name, values, dayfirst=True)
    except ChurnDataError:
        return
    profile.time_how = "dates (day-first or month-first?)"
    profile.date_order_open = True


def _all_midnight(times: pd.Series) -> bool:
    present = times.dropna()
    return bool(len(present)) and bool((present == present.dt.normalize()).all())
