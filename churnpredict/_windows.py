"""Time helpers every layer shares: durations, their labels and naive-UTC timestamps.

A leaf module: it imports nothing from the package, so data reading, labels, features, the
model and the outputs can all use it without import cycles.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DAYS_PER_MONTH",
    "MAX_DURATION",
    "MIN_DURATION",
    "SPAN_HORIZONS",
    "TIME_RANGE",
    "duration_words",
    "fitting_horizon",
    "horizon_months",
    "horizon_text",
    "parse_window",
    "to_naive_utc",
    "window_label",
    "window_text",
]

#: A horizon fits a log that spans at least this many horizons: one of history before the
#: first training cutoff, one over which training cutoffs are spread, the purge gap of one
#: before the validation cutoffs, and one of validation outcomes.
SPAN_HORIZONS = 4


#: Earliest and latest time accepted in data and as a cutoff: pandas' nanosecond range
#: (1677-09-22 .. 2262-04-11) less room for the windows, periods and horizons computed from them.
TIME_RANGE = (pd.Timestamp("1700-01-01"), pd.Timestamp("2199-12-31 23:59:59"))
TIME_RANGE_TEXT = "1700-01-01 .. 2199-12-31"

#: What :func:`to_naive_utc` reads as a time (a number is not one: ``5`` is not 1970-01-01).
_TIME_TYPES = (str, datetime.date, np.datetime64, pd.Timestamp)


def to_naive_utc(value: Any, name: str = "as_of") -> pd.Timestamp:
    """A time given by the user as a naive UTC nanosecond Timestamp: the one as-of coercion.

    Every time inside churnpredict is naive UTC, so event times and cutoffs compare directly.
    Every entry point that takes an ``as_of``, a cutoff or a date reads it here, so
    ``"2024-06-30T02:00:00+02:00"`` and ``"2024-06-30"`` mean the same instant everywhere.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, numpy.datetime64 or pandas.Timestamp
        Aware times are converted to UTC; naive ones are read as UTC.
    name : str, default "as_of"
        The argument's name, for the error message.

    Returns
    -------
    pandas.Timestamp
        Timezone-naive, nanosecond unit, within :data:`TIME_RANGE`.

    Raises
    ------
    ValueError
        When ``value`` is not a time (a number, ``"yesterday"``, NaT) or lies outside
        :data:`TIME_RANGE`; the message names the argument and gives an example.

    Examples
    --------
    >>> to_naive_utc(pd.Timestamp("2024-03-01 02:00", tz="Europe/Paris"))
    Timestamp('2024-03-01 01:00:00')
    >>> to_naive_utc("2024-03-01T02:00+01:00")
    Timestamp('2024-03-01 01:00:00')
    >>> to_naive_utc("yesterday")
    Traceback (most recent call last):
    ...
    ValueError: as_of='yesterday' is not a date; give e.g. '2024-06-30'
    """
    stamp = pd.NaT
    if isinstance(value, _TIME_TYPES):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError, OverflowError):
            stamp = pd.NaT
    if pd.isna(stamp):
        raise ValueError(f"{name}={value!r} is not a date; give e.g. '2024-06-30'")
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    if not TIME_RANGE[0] <= stamp <= TIME_RANGE[1]:
        raise ValueError(f"{name}={value!r} is outside {TIME_RANGE_TEXT}; give e.g. '2024-06-30'")
    return stamp.as_unit("ns")


#: Days in the average month of the Gregorian calendar: monthly values (MRR, spend per month)
#: become values over a horizon with it.
DAYS_PER_MONTH = 365.25 / 12


def horizon_months(horizon: Any) -> float:
    """How many average months (:data:`DAYS_PER_MONTH`) a horizon lasts.

    Examples
    --------
    >>> round(horizon_months("28D"), 4), horizon_months(pd.Timedelta(days=365.25))
    (0.9199, 12.0)
    """
    return parse_window(horizon) / pd.Timedelta(days=1) / DAYS_PER_MONTH


#: The shortest and longest durations accepted (windows, horizons, lookbacks, periods).
MIN_DURATION = pd.Timedelta(seconds=1)
MAX_DURATION = pd.Timedelta(days=36_525)  # 100 years
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)\s*")


def parse_window(window: Any) -> pd.Timedelta:
    """Read a duration as a Timedelta: a number is days, else a duration string or Timedelta.

    Numbers always mean days, whole or not (``30``, ``28.0``, ``"7"``, ``7.5`` is 7 days and
    12 hours); strings with a unit (``"30D"``, ``"12h"``, ``"4W"``) and Timedeltas are taken as
    they are. Every duration must lie between :data:`MIN_DURATION` (1 second) and
    :data:`MAX_DURATION` (100 years).

    Raises
    ------
    ValueError
        For anything else (``NaT``, ``nan``, ``True``, a negative or out-of-range duration),
        saying what was given and what to give.

    Examples
    --------
    >>> parse_window(30)
    Timedelta('30 days 00:00:00')
    >>> parse_window(7.5)
    Timedelta('7 days 12:00:00')
    >>> parse_window("2W")
    Timedelta('14 days 00:00:00')
    """
    if isinstance(window, (bool, np.bool_)):
        raise ValueError(f"window {window!r} is not a duration; use days (30) or e.g. '30D'")
    if isinstance(window, (int, float, np.integer, np.floating)) or (
        isinstance(window, str) and _NUMBER.fullmatch(window)
    ):
        days = float(window)
        if not math.isfinite(days):
            raise ValueError(f"window {window!r} is not a number of days; use e.g. 30 or '30D'")
        if abs(days) > MAX_DURATION.days:
            raise ValueError(f"window {window!r} (days) is longer than 100 years")
        out = pd.Timedelta(days=days).round("us") if days % 1 else pd.Timedelta(days=days)
    else:
        try:
            out = pd.Timedelta(window)
        except (ValueError, TypeError, OverflowError):
            raise ValueError(
                f"window {window!r} is not a duration; use days (30) or a string such as '30D'"
            ) from None
        if pd.isna(out):
            raise ValueError(f"window {window!r} is not a duration; use days (30) or e.g. '30D'")
    if out <= pd.Timedelta(0):
        raise ValueError(f"window {window!r} must be positive")
    if out < MIN_DURATION:
        raise ValueError(f"window {window!r} is shorter than 1 second; use e.g. '1h' or '30D'")
    if out > MAX_DURATION:
        raise ValueError(f"window {window!r} is longer than 100 years")
    return out


def window_label(window: pd.Timedelta) -> str:
    """Short label for column names: 30 days -> '30d', 12 hours -> '12h'."""
    if window % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{window.days}d"
    if window % pd.Timedelta(hours=1) == pd.Timedelta(0):
        return f"{int(window.total_seconds() // 3600)}h"
    return f"{int(window.total_seconds())}s"


def window_text(window: pd.Timedelta) -> str:
    """Plain words for a window: 30 days -> '30 days', 1 day -> 'day', 12 hours -> '12 hours'."""
    if window % pd.Timedelta(days=1) == pd.Timedelta(0):
        n, unit = window.days, "day"
    elif window % pd.Timedelta(hours=1) == pd.Timedelta(0):
        n, unit = int(window.total_seconds() // 3600), "hour"
    else:
        n, unit = int(window.total_seconds()), "second"
    return unit if n == 1 else f"{n} {unit}s"


def horizon_text(window: Any) -> str:
    """A duration as short text that :func:`parse_window` and pandas read back.

    The form scores, lists and readouts record their horizon in (``attrs["horizon"]``).

    Examples
    --------
    >>> horizon_text("4W"), horizon_text("36h"), horizon_text(pd.Timedelta(seconds=90))
    ('28D', '36h', '90s')
    """
    window = parse_window(window)
    if window % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{window.days}D"
    if window % pd.Timedelta(hours=1) == pd.Timedelta(0):
        return f"{int(window // pd.Timedelta(hours=1))}h"
    if window % pd.Timedelta(seconds=1) == pd.Timedelta(0):
        return f"{int(window // pd.Timedelta(seconds=1))}s"
    return f"{window.value}ns"


def fitting_horizon(span: Any) -> pd.Timedelta | None:
    """The longest horizon a log spanning ``span`` fits (see :data:`SPAN_HORIZONS`).

    A quarter of the span, rounded down to whole weeks (whole days under a week); None when
    that is under one day.

    Examples
    --------
    >>> fitting_horizon("61D"), fitting_horizon("29D 23h"), fitting_horizon("22D")
    (Timedelta('14 days 00:00:00'), Timedelta('7 days 00:00:00'), Timedelta('5 days 00:00:00'))
    >>> fitting_horizon("3D") is None
    True
    """
    days = int(pd.Timedelta(span) / pd.Timedelta(days=1) // SPAN_HORIZONS)
    if days < 1:
        return None
    return pd.Timedelta(days=days // 7 * 7 if days >= 7 else days)


def duration_words(window: Any) -> str:
    """A duration in words with its number: '7 days', '1 day', '12 hours'.

    Examples
    --------
    >>> duration_words("7D"), duration_words(1), duration_words("12h")
    ('7 days', '1 day', '12 hours')
    """
    text = window_text(parse_window(window))
    return text if text[0].isdigit() else f"1 {text}"
