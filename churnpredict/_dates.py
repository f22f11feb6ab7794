"""Times in the input tables: timezone-naive UTC ``datetime64[ns]`` within :data:`TIME_RANGE`.

Aware times are converted to UTC and naive ones read as UTC; numeric dates such as
``09/10/2011`` are read in the order the data proves (:func:`date_order_evidence`) or the user
declares (``dayfirst=`` / ``date_format=``), never guessed; epoch numbers need a declared
``time_unit``. :func:`normalise_timestamps` applies these rules to one column,
:func:`snapshot_time` to a snapshot's date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnDataError
from ._tables import format_examples, mapping_error
from ._windows import TIME_RANGE, TIME_RANGE_TEXT, to_naive_utc

__all__ = [
    "TIME_UNITS",
    "date_order_evidence",
    "normalise_timestamps",
    "snapshot_time",
]

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)$", re.IGNORECASE)
# d/m/y or m/d/y with '/', '.' or '-' and a 2- or 4-digit year, then an optional time part
_NUMERIC_DATE = r"^(\d{1,2})([/.\-])(\d{1,2})([/.\-])(\d{4}|\d{2})((?:[\sT].*)?)$"
_NS_MIN, _NS_MAX = TIME_RANGE
_RANGE_TEXT = TIME_RANGE_TEXT


def _to_naive_ns(where: str, parsed: pd.Series) -> pd.Series:
    """Timezone-naive UTC ``datetime64[ns]``; out-of-range times are a ChurnDataError."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    present = parsed.dropna()
    if len(present):
        out = (present < _NS_MIN) | (present > _NS_MAX)
        if out.any():
            raise ChurnDataError(
                f"{where} has {int(out.sum())} times outside {_RANGE_TEXT} "
                f"{format_examples(present[out].astype(str))}; fix them (a mistyped year?) or "
                f"leave them empty"
            )
    return parsed.astype("datetime64[ns]")


def _empty_times(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")


def _numeric_date_parts(text: pd.Series) -> pd.DataFrame:
    """Split d/m/y or m/d/y strings into ``a, b, year, rest`` (NaN where the form differs)."""
    parts = text.astype(object).str.extract(_NUMERIC_DATE)
    parts.columns = ["a", "sep1", "b", "sep2", "year", "rest"]
    parts = parts.loc[parts["a"].notna() & (parts["sep1"] == parts["sep2"])]
    a = parts["a"].astype(int)
    b = parts["b"].astype(int)
    month_first = a.between(1, 12) & b.between(1, 31)
    day_first = b.between(1, 12) & a.between(1, 31)
    return parts.assign(a=a, b=b, month_first=month_first, day_first=day_first)


def date_order_evidence(text: pd.Series) -> tuple[bool, bool]:
    """What numeric dates such as ``09/10/2011`` prove about their order.

    Parameters
    ----------
    text : pandas.Series of str

    Returns
    -------
    (bool, bool)
        Whether some value can only be day-first (first field over 12), and whether some
        value can only be month-first (second field over 12).

    Examples
    --------
    >>> date_order_evidence(pd.Series(["25/01/2024", "01/02/2024"]))
    (True, False)
    """
    parts = _numeric_date_parts(text)
    return (
        bool((parts["day_first"] & ~parts["month_first"]).any()),
        bool((parts["month_first"] & ~parts["day_first"]).any()),
    )


def _settle_numeric_dates(
    where: str, text: pd.Series, dayfirst: bool | None, hint: Callable[[], bool | None] | None
) -> pd.Series:
    """Rewrite d/m/y or m/d/y strings as ISO ``y-m-d``, never guessing the order.

    The order is ``dayfirst`` when given; otherwise the column's values settle it (a first
    field over 12 proves day-first, a second field over 12 proves month-first); a column
    whose values fit both orders takes the order the rest of the data proves (``hint()``),
    else it is refused.
    """
    parts = _numeric_date_parts(text)
    if len(parts) == 0:
        return text
    only_day = parts["day_first"] & ~parts["month_first"]
    only_month = parts["month_first"] & ~parts["day_first"]
    either = parts["day_first"] & parts["month_first"] & (parts["a"] != parts["b"])
    fix = (
        "pass dayfirst=True or False (CLI --dayfirst / --monthfirst, config dayfirst = "
        "true) or date_format= such as '%d/%m/%Y %H:%M'"
    )
    if dayfirst is None:
        if only_day.any() and only_month.any():
            days = format_examples(text[only_day.index[only_day]], 2)
            months = format_examples(text[only_month.index[only_month]], 2)
            raise ChurnDataError(
                f"{where} mixes day-first dates (e.g. {days}) and month-first dates (e.g. "
                f"{months}); export one format, or {fix}"
            )
        if only_day.any():
            dayfirst = True
        elif only_month.any():
            dayfirst = False
        elif either.any():
            dayfirst = hint() if hint is not None else None
            if dayfirst is None:
                examples = format_examples(text[either.index[either]], 2)
                raise ChurnDataError(
                    f"{where} has dates such as {examples} that "
                    f"read as day-first or month-first and no value settles which; {fix}"
                )
        else:
            dayfirst = False  # every value reads the same either way
    fits = parts["day_first"] if dayfirst else parts["month_first"]
    if not fits.all():
        bad = text[fits.index[~fits]]
        order = "day-first" if dayfirst else "month-first"
        raise ChurnDataError(
            f"{where} has {len(bad)} values that are not {order} dates {format_examples(bad, 3)}; "
            f"fix them, or {fix}"
        )
    day = np.where(dayfirst, parts["a"], parts["b"])
    month = np.where(dayfirst, parts["b"], parts["a"])
    year = parts["year"].astype(int)
    year = year.where(parts["year"].str.len() == 4, np.where(year < 69, 2000 + year, 1900 + year))
    iso = (
        year.astype(str).str.zfill(4)
        + "-"
        + pd.Series(month, index=parts.index).astype(str).str.zfill(2)
        + "-"
        + pd.Series(day, index=parts.index).astype(str).str.zfill(2)
        + parts["rest"].fillna("").astype(str)
    )
    out = text.astype(object).copy()
    out[parts.index] = iso.astype(object)
    return out


def normalise_timestamps(
    table: str,
    column: str,
    values: pd.Series,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    hint: Callable[[], bool | None] | None = None,
    time_unit: str | None = None,
) -> pd.Series:
    """Parse ``values`` to timezone-naive UTC ``datetime64[ns]``; raise on bad input.

    ISO 8601 text is always understood. Other text is read with ``date_format`` when given;
    otherwise numeric dates such as ``09/10/2011`` are read in the order ``dayfirst`` gives or
    the data proves, never guessed: a first field over 12 proves day-first, a second field
    over 12 proves month-first, and a column whose values fit both orders takes the order
    ``hint()`` gives (the other timestamp columns), else it is refused.

    Parameters
    ----------
    table, column : str
        Where the values come from, for messages (``table.column``).
    values : pandas.Series
        Text, datetimes (naive values are taken as UTC; aware ones are converted) or
        ``datetime`` objects.
    date_format : str, optional
        strptime format for text that is not ISO 8601.
    dayfirst : bool, optional
        Order of numeric dates; None lets the data settle it.
    hint : callable, optional
        ``hint() -> bool or None``: the order the rest of the data proves, asked only when
        this column cannot tell.
    time_unit : {"s", "ms", "us", "ns"}, optional
        Numbers are epoch times in this unit (UTC); without it numbers are refused.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]``, timezone-naive UTC, same index; missing stays ``NaT``.

    Raises
    ------
    ChurnDataError
        Numbers, values that are not timestamps, mixed time zones, contradicting or unsettled
        date orders, times outside :data:`TIME_RANGE`.

    Examples
    --------
    >>> normalise_timestamps("activity", "timestamp",
    ...                      pd.Series(["2024-01-31 12:00:00+01:00", "2024-02-01T00:00Z"]))
    0   2024-01-31 11:00:00
    1   2024-02-01 00:00:00
    dtype: datetime64[ns]
    >>> normalise_timestamps("activity", "timestamp", pd.Series(["13/01/2024", "02/03/2024"]))
    0   2024-01-13
    1   2024-03-02
    dtype: datetime64[ns]
    """
    where = f"{table}.{column}"
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        values.dtype
    ):
        return _to_naive_ns(where, values)
    if values.isna().all():  # an optional column empty for everyone (CSV reads it as float64)
        return _empty_times(values.index)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return _number_column(where, column, values, time_unit)
    present = values.dropna().astype(object)
    is_str = present.map(lambda v: isinstance(v, str)).astype(bool)
    _refuse_numbers(where, column, present[~is_str])
    text = present[is_str].astype(str).str.strip()
    not_str = present[~is_str]
    utc = _reads_offsets(where, present, is_str, text)
    parsed = _empty_times(values.index)
    if len(not_str):
        parsed[not_str.index] = _parse(where, not_str.astype(object), utc, format="mixed")
    if len(text):
        parsed[text.index] = _parse_text(where, text, utc, date_format, dayfirst, hint)
    _refuse_unread(where, values, parsed, date_format)
    return parsed


def _number_column(where: str, column: str, values: pd.Series, unit: str | None) -> pd.Series:
    """A column of numbers: epoch times in the declared ``time_unit``, else refused."""
    if unit is not None:
        return _epoch_times(where, values, unit)
    raise mapping_error(
        f"{where} holds numbers ({values.dtype}), not timestamps",
        "pass time_unit='ms' for epoch milliseconds ('s' for seconds), or convert them "
        f"first, e.g. pd.to_datetime({column}, unit='ms')",
        'add time_unit = "ms" to the config for epoch milliseconds ("s" for seconds)',
    )


def _refuse_numbers(where: str, column: str, not_str: pd.Series) -> None:
    """Numbers among text or datetime objects are refused (their unit is unknown)."""
    numbers = not_str.map(
        lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
    ).astype(bool)
    if numbers.any():
        raise ChurnDataError(
            f"{where} has {int(numbers.sum())} numbers among its timestamps "
            f"{format_examples(not_str[numbers], 3)}; convert them to times first, e.g. "
            f"pd.to_datetime({column}, unit='ms') for epoch milliseconds"
        )


def _reads_offsets(where: str, present: pd.Series, is_str: pd.Series, text: pd.Series) -> bool:
    """Whether the values carry time zones: all of them (True) or none (False), never a mix."""
    aware = pd.Series(False, index=present.index)
    if len(text):
        aware[is_str] = text.str.contains(_TZ_SUFFIX).astype(bool)
    not_str = present[~is_str]
    if len(not_str):
        aware[~is_str] = not_str.map(lambda v: getattr(v, "tzinfo", None) is not None)
    if aware.any() and not aware.all():
        naive_examples = present[~aware].head(2).tolist()
        aware_examples = present[aware].head(2).tolist()
        raise ChurnDataError(
            f"{where} mixes time zones: {int(aware.sum())} values carry a UTC offset "
            f"(e.g. {aware_examples}) and {int((~aware).sum())} do not (e.g. {naive_examples}); "
            f"give every value an offset, or none (naive values are read as UTC)"
        )
    return bool(aware.any())


def _parse(where: str, items: pd.Series, utc: bool, **kwargs: Any) -> pd.Series:
    """``pd.to_datetime`` of ``items`` as naive UTC ns; what it cannot read is NaT."""
    if len(items) == 0:
        return _empty_times(items.index)
    try:
        out = pd.to_datetime(items, errors="coerce", utc=utc, **kwargs)
    except (TypeError, ValueError, OverflowError):  # odd objects: reported by the caller
        return _empty_times(items.index)
    return _to_naive_ns(where, out)


def _parse_text(
    where: str,
    text: pd.Series,
    utc: bool,
    date_format: str | None,
    dayfirst: bool | None,
    hint: Callable[[], bool | None] | None,
) -> pd.Series:
    """Text times: ISO 8601, then ``date_format`` or numeric dates in their settled order."""
    iso = _parse(where, text, utc, format="ISO8601")
    rest = text[iso.isna()]
    if not len(rest):
        return iso
    if date_format is not None:
        iso[rest.index] = _parse(where, rest, utc, format=date_format)
    else:
        rest = _settle_numeric_dates(where, rest, dayfirst, hint)
        iso[rest.index] = _parse(where, rest, utc, format="mixed", dayfirst=False)
    return iso


def _refuse_unread(
    where: str, values: pd.Series, parsed: pd.Series, date_format: str | None
) -> None:
    """Values present but not read as times are refused, with the forms that are read."""
    bad = parsed.isna() & values.notna()
    if bad.any():
        how = (
            f"in date_format={date_format!r} or ISO 8601"
            if date_format is not None
            else "ISO 8601 such as '2024-01-31 12:00:00' is always understood"
        )
        raise ChurnDataError(
            f"{where} has {int(bad.sum())} values that are not timestamps: "
            f"{format_examples(values[bad])}; fix or remove them ({how}; times must fall in "
            f"{_RANGE_TEXT})"
        )


#: Units of epoch numbers (``time_unit=``).
TIME_UNITS = ("s", "ms", "us", "ns")


def _epoch_times(where: str, values: pd.Series, unit: str) -> pd.Series:
    """Epoch numbers in ``unit`` as naive UTC times; out-of-range values are refused."""
    if unit not in TIME_UNITS:
        raise ChurnDataError(f"time_unit={unit!r}; expected one of {list(TIME_UNITS)}")
    numbers = values.astype("float64")
    scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[unit]
    nanos = numbers * scale
    low, high = (float(t.value) for t in TIME_RANGE)
    bad = numbers.notna() & ~((nanos >= low) & (nanos <= high))
    if bad.any():
        raise ChurnDataError(
            f"{where} has {int(bad.sum())} numbers that are not epoch times in "
            f"{unit!r} within {_RANGE_TEXT} {format_examples(values[bad], 3)}; check "
            f"time_unit (s, ms, us or ns)"
        )
    return pd.to_datetime(numbers, unit=unit).astype("datetime64[ns]")


def snapshot_time(value: Any) -> pd.Timestamp:
    """The date of a snapshot table as naive UTC, checked against :data:`TIME_RANGE`.

    Parameters
    ----------
    value : timestamp-like or None
        None stands for "the snapshot" (1970-01-01).

    Returns
    -------
    pandas.Timestamp

    Raises
    ------
    ChurnDataError
        When ``value`` is not a date in range.
    """
    if value is None:
        return pd.Timestamp("1970-01-01")
    try:
        return to_naive_utc(value, "snapshot_at")
    except ValueError as exc:
        raise ChurnDataError(str(exc)) from None
