"""Reading, parsing and checking the input tables before they become an ``EventData``.

The canonical schema (:data:`SCHEMA`), and the rules every table goes through once, at load:
column renames and required columns, empty text as missing, ids compared as they are (numbers
and text never meet), timestamps settled to timezone-naive UTC ``datetime64[ns]`` (numeric
dates read in the order the data proves, never guessed), numbers checked finite, snapshot
labels read as 0/1, and the TOML configuration. :class:`churnpredict.data.EventData` applies
them; :mod:`churnpredict.dask` applies the same rules partition by partition.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ChurnDataError
from .windows import to_naive_utc

__all__ = [
    "CHURN_TYPES",
    "EVENT_TABLES",
    "PAYMENT_STATUSES",
    "SCHEMA",
    "TABLES",
    "TIME_RANGE",
    "TableSchema",
    "blank_to_missing",
    "check_customer_ids",
    "check_id_kind",
    "check_required",
    "date_order_evidence",
    "format_examples",
    "id_kind",
    "load_config",
    "normalise_label",
    "normalise_timestamps",
    "numeric_column",
    "rename_columns",
    "snapshot_time",
]

#: Canonical payment statuses (``payments.status``).
PAYMENT_STATUSES = ("succeeded", "failed", "refunded")
#: Canonical cancellation kinds (``customers.churn_type``).
CHURN_TYPES = ("voluntary", "involuntary")
#: The optional event tables, in the order they are validated.
EVENT_TABLES = ("activity", "payments", "tickets")
#: Every table an ``EventData`` can hold.
TABLES = ("customers",) + EVENT_TABLES


@dataclass(frozen=True)
class TableSchema:
    """Canonical columns of one input table."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    timestamps: tuple[str, ...]
    time_column: str | None  # the column events are sorted by


#: Canonical columns of each table.
SCHEMA: dict[str, TableSchema] = {
    "customers": TableSchema(
        "customers",
        ("customer_id", "signup_at"),
        ("churned_at", "churn_type", "plan", "mrr"),
        ("signup_at", "churned_at"),
        None,
    ),
    "activity": TableSchema(
        "activity", ("customer_id", "timestamp"), ("event", "value"), ("timestamp",), "timestamp"
    ),
    "payments": TableSchema(
        "payments",
        ("customer_id", "timestamp", "amount", "status"),
        (),
        ("timestamp",),
        "timestamp",
    ),
    "tickets": TableSchema(
        "tickets",
        ("customer_id", "created_at"),
        ("resolved_at", "priority", "csat"),
        ("created_at", "resolved_at"),
        "created_at",
    ),
}

#: pandas before 3 hashes object text as C strings, which end at a NUL character: ids that
#: differ only after a NUL would be one customer in joins and group-bys.
_NUL_SAFE_IDS = int(pd.__version__.split(".")[0]) >= 3

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)$", re.IGNORECASE)
# d/m/y or m/d/y with '/', '.' or '-' and a 2- or 4-digit year, then an optional time part
_NUMERIC_DATE = r"^(\d{1,2})([/.\-])(\d{1,2})([/.\-])(\d{4}|\d{2})((?:[\sT].*)?)$"
#: Earliest and latest time accepted in data and as a cutoff: pandas' nanosecond range
#: (1677-09-22 .. 2262-04-11) less room for the windows, periods and horizons computed from them.
TIME_RANGE = (pd.Timestamp("1700-01-01"), pd.Timestamp("2199-12-31 23:59:59"))
_NS_MIN, _NS_MAX = TIME_RANGE
_RANGE_TEXT = "1700-01-01 .. 2199-12-31"
_POSITIVE_LABELS = {"1", "true", "yes", "y", "churn", "churned", "attrited customer", "exited"}
_NEGATIVE_LABELS = {"0", "false", "no", "n", "existing customer", "retained", "stayed", "active"}


def format_examples(values: Any, k: int = 5) -> str:
    """Up to ``k`` distinct offending values, and how many more, for an error message.

    Parameters
    ----------
    values : array-like
        The offending values (repeats are shown once).
    k : int, default 5
        How many distinct values to show.

    Returns
    -------
    str
        ``{v1, v2, ...}`` with ``repr`` of each value, then ``and N more`` when cut.

    Examples
    --------
    >>> format_examples(["a", "b", "a", "c"], k=2)
    "{'a', 'b' and 1 more}"
    """
    uniq = pd.unique(pd.Series(values).astype(object))
    shown = ", ".join(repr(v) for v in uniq[:k])
    more = f" and {len(uniq) - k} more" if len(uniq) > k else ""
    return f"{{{shown}{more}}}"


def blank_to_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty or whitespace-only text cells become missing values, in every column.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself when nothing is blank, else a shallow copy with the blank cells
        missing (``None`` in object columns, ``pd.NA`` in string columns; blank categories
        removed).

    Examples
    --------
    >>> blank_to_missing(pd.DataFrame({"plan": ["pro", " ", ""]}))["plan"].isna().tolist()
    [False, True, True]
    """
    out = {}
    for col in frame.columns:
        values = frame[col]
        if isinstance(values, pd.DataFrame):  # duplicated column names: reported later
            continue
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cats = pd.Series(dtype.categories, dtype=object)
            is_blank = cats.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
            if is_blank.any():
                out[col] = values.cat.remove_categories(list(cats[is_blank]))
            continue
        textual = dtype is np.dtype(object) or pd.api.types.is_string_dtype(dtype)
        if not textual:
            continue
        try:
            blank = values.str.strip().eq("")
        except AttributeError:  # object column without any text
            continue
        blank = blank.fillna(False).astype(bool)
        if blank.any():
            out[col] = values.where(~blank, None if dtype is np.dtype(object) else pd.NA)
    if not out:
        return frame
    frame = frame.copy(deep=False)
    for col, values in out.items():
        frame[col] = values
    return frame


def id_kind(values: pd.Series) -> str | None:
    """The kind of the ids in a column.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    str or None
        ``"number"``, ``"text"``, ``"mixed"`` (numbers and text) or pandas' inferred kind
        for anything else; None when every value is missing.

    Examples
    --------
    >>> id_kind(pd.Series([1, 2])), id_kind(pd.Series(["1", "2"])), id_kind(pd.Series([1, "2"]))
    ('number', 'text', 'mixed')
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(values.cat.categories)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal", "integer-na"):
        return "number"
    if kind == "string":
        return "text"
    if kind in ("mixed", "mixed-integer"):
        return "mixed"
    if kind == "empty":
        return None
    return kind


def check_id_kind(table: str, values: pd.Series, expected: str | None = None) -> str | None:
    """Refuse an id column that mixes numbers and text, or differs in kind from customers.

    Ids are compared as they are, never cast: ``345`` and ``"345"`` are two customers.

    Parameters
    ----------
    table : str
        Table name, for the message.
    values : pandas.Series
        The table's ``customer_id`` column.
    expected : str, optional
        The kind of ``customers.customer_id`` (from :func:`id_kind`).

    Returns
    -------
    str or None
        The column's kind.

    Raises
    ------
    ChurnDataError
        When the column mixes numbers and text, or its kind differs from ``expected``.
    """
    kind = id_kind(values)
    if kind == "mixed":
        present = values.dropna().astype(object)
        is_text = present.map(lambda v: isinstance(v, str)).astype(bool)
        raise ChurnDataError(
            f"{table}.customer_id mixes numbers and text (e.g. "
            f"{format_examples(present[~is_text], 2)} and "
            f"{format_examples(present[is_text], 2)}), so 345 and '345' would be two "
            f"customers; give every id one type, e.g. "
            f"{table}['customer_id'].astype(str) (files are read with text ids)"
        )
    if expected is not None and kind is not None and kind != expected:
        raise ChurnDataError(
            f"{table}.customer_id holds {kind} ids but customers.customer_id holds {expected} "
            f"ids, so 345 and '345' would not match; convert both to text with "
            f".astype(str) (CSV and JSON files are read with text ids already)"
        )
    return kind


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
        raise ChurnDataError(
            f"{where} holds numbers ({values.dtype}), not timestamps; convert them first, e.g. "
            f"pd.to_datetime({column}, unit='ms') for epoch milliseconds"
        )
    present = values.dropna().astype(object)
    is_str = present.map(lambda v: isinstance(v, str)).astype(bool)
    numbers = (
        present[~is_str]
        .map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
        .astype(bool)
    )
    if numbers.any():
        raise ChurnDataError(
            f"{where} has {int(numbers.sum())} numbers among its timestamps "
            f"{format_examples(present[~is_str][numbers], 3)}; convert them to times first, e.g. "
            f"pd.to_datetime({column}, unit='ms') for epoch milliseconds"
        )
    text = present[is_str].astype(str).str.strip()
    # Mixed time zones: some values carry an offset or are aware, others are naive.
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
    utc = bool(aware.any())

    def parse(items: pd.Series, **kwargs: Any) -> pd.Series:
        if len(items) == 0:
            return _empty_times(items.index)
        try:
            out = pd.to_datetime(items, errors="coerce", utc=utc, **kwargs)
        except (TypeError, ValueError, OverflowError):  # odd objects: report them below
            return _empty_times(items.index)
        return _to_naive_ns(where, out)

    parsed = _empty_times(values.index)
    if len(not_str):
        parsed[not_str.index] = parse(not_str.astype(object), format="mixed")
    if len(text):
        iso = parse(text, format="ISO8601")
        rest = text[iso.isna()]
        if len(rest):
            if date_format is not None:
                iso[rest.index] = parse(rest, format=date_format)
            else:
                rest = _settle_numeric_dates(where, rest, dayfirst, hint)
                iso[rest.index] = parse(rest, format="mixed", dayfirst=False)
        parsed[text.index] = iso
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
    return parsed


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


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
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        stamp = pd.NaT
    if pd.isna(stamp) or not (_NS_MIN <= stamp.tz_localize(None) <= _NS_MAX):
        raise ChurnDataError(
            f"snapshot_at={value!r} is not a date in {_RANGE_TEXT}; use YYYY-MM-DD"
        )
    stamp = to_naive_utc(stamp)
    return stamp.as_unit("ns")


def normalise_label(table: str, column: str, values: pd.Series, positive: Any) -> pd.Series:
    """Read a snapshot label column as 0/1 (1 = churned).

    Parameters
    ----------
    table, column : str
        Where the labels come from, for messages.
    values : pandas.Series
    positive : optional
        The value that means churned; None detects 1/0, true/false, yes/no and a few common
        wordings (``Exited``, ``Attrited Customer``...).

    Returns
    -------
    pandas.Series of int8

    Raises
    ------
    ChurnDataError
        Missing labels, or values whose churned one cannot be told.

    Examples
    --------
    >>> normalise_label("customers", "Churn", pd.Series(["Yes", "No", "yes"]), None).tolist()
    [1, 0, 1]
    """
    where = f"{table}.{column}"
    if values.isna().any():
        raise ChurnDataError(
            f"{where} has {int(values.isna().sum())} missing labels; drop those rows or fill them"
        )
    if positive is not None:
        return (values == positive).astype("int8")
    if pd.api.types.is_bool_dtype(values):
        return values.astype("int8")
    text = values.astype(str).str.strip().str.lower()
    uniq = set(text.unique())
    if uniq <= {"0", "1", "0.0", "1.0"}:
        return text.isin({"1", "1.0"}).astype("int8")
    pos = uniq & _POSITIVE_LABELS
    neg = uniq & _NEGATIVE_LABELS
    if len(uniq) == 2 and len(pos) == 1 and len(neg) == 1:
        return (text == next(iter(pos))).astype("int8")
    raise ChurnDataError(
        f"{where} has values {format_examples(values)}; cannot tell which one means churned; "
        f"pass positive_label= (e.g. positive_label='Yes')"
    )


def rename_columns(table: str, frame: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Rename a table's columns to canonical names, refusing unknown sources and duplicates.

    Parameters
    ----------
    table : str
        Table name, for messages.
    frame : pandas.DataFrame
    mapping : mapping
        ``{your_name: canonical_name}``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ChurnDataError
        A source column the table lacks, or two columns mapped to one name.
    """
    missing_src = [c for c in mapping if c not in frame.columns]
    if missing_src:
        raise ChurnDataError(
            f"{table}: columns= maps {missing_src} but the table has no such column; "
            f"its columns are {list(frame.columns)[:20]}"
        )
    frame = frame.rename(columns=dict(mapping))
    dup = frame.columns[frame.columns.duplicated()].tolist()
    if dup:
        raise ChurnDataError(
            f"{table}: after renaming, columns {dup} appear twice; map only one column "
            f"to each canonical name"
        )
    return frame


def check_required(table: str, frame: pd.DataFrame, required: tuple[str, ...]) -> None:
    """Refuse a table that lacks a required column or has no rows.

    Parameters
    ----------
    table : str
        Table name, for messages.
    frame : pandas.DataFrame
        The table, after renaming.
    required : tuple of str
        Canonical columns it must hold (``SCHEMA[table].required``).

    Raises
    ------
    ChurnDataError
    """
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ChurnDataError(
            f"{table} is missing required column(s) {missing}; it has "
            f"{list(frame.columns)[:20]}. Rename yours with columns={{'{table}': "
            f"{{'your_name': '{missing[0]}'}}}}"
        )
    if len(frame) == 0:
        raise ChurnDataError(
            f"{table} is empty (0 rows); pass None instead of an empty table to skip it"
        )


def check_customer_ids(ids: pd.Series) -> None:
    """Refuse missing or duplicated ``customers.customer_id`` values.

    On pandas before 3, text ids holding a NUL character are refused too: pandas 2 compares
    such text only up to the NUL, so they would merge customers.

    Parameters
    ----------
    ids : pandas.Series
        ``customers.customer_id``.

    Raises
    ------
    ChurnDataError
    """
    if ids.isna().any():
        raise ChurnDataError(
            f"customers.customer_id has {int(ids.isna().sum())} missing values; every "
            f"customer needs an id"
        )
    if not _NUL_SAFE_IDS and not pd.api.types.is_numeric_dtype(ids.dtype):
        nul = ids.astype("string").str.contains("\x00", regex=False).fillna(False)
        if nul.any():
            raise ChurnDataError(
                f"customers.customer_id has {int(nul.sum())} ids holding a NUL character "
                f"(e.g. {ids[nul].iloc[0]!r}); pandas {pd.__version__} compares such text "
                f"only up to the NUL, so they would merge customers: remove the NULs "
                f"(ids.str.replace('\\x00', '')) or use pandas 3"
            )
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise ChurnDataError(
            f"customers.customer_id has {dup.nunique()} duplicated ids "
            f"{format_examples(dup)}; keep one row per customer (e.g. "
            f"drop_duplicates('customer_id', keep='last'))"
        )


def numeric_column(
    table: str, column: str, values: pd.Series, allow_missing: bool, allow_negative: bool = False
) -> pd.Series:
    """A column of finite numbers as ``float64``; anything else is a ChurnDataError.

    Parameters
    ----------
    table, column : str
        Where the values come from, for messages.
    values : pandas.Series
    allow_missing : bool
        Whether missing values are allowed (they stay NaN).
    allow_negative : bool, default False
        Whether values below zero are allowed (amounts are not).

    Returns
    -------
    pandas.Series of float64

    Raises
    ------
    ChurnDataError
        True/False, text that is not a number, missing values (unless allowed), infinite or
        negative values (unless allowed).

    Examples
    --------
    >>> numeric_column("payments", "amount", pd.Series(["9.5", 20]), False).tolist()
    [9.5, 20.0]
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        raise ChurnDataError(
            f"{table}.{column} holds True/False, not numbers; convert them to numbers"
        )
    try:  # float64 already: the column itself (no copy of millions of values)
        out = (
            values
            if values.dtype == np.float64
            else pd.to_numeric(values, errors="coerce").astype("float64")
        )
    except (TypeError, ValueError, OverflowError):  # odd objects (lists, huge ints...)
        out = pd.to_numeric(values.astype(object).map(_to_float), errors="coerce")
    bad = out.isna() & values.notna()
    if bad.any():
        raise ChurnDataError(
            f"{table}.{column} has {int(bad.sum())} non-numeric values "
            f"{format_examples(values[bad])}; convert them to numbers"
        )
    if not allow_missing and out.isna().any():
        raise ChurnDataError(
            f"{table}.{column} has {int(out.isna().sum())} missing values; fill or drop them"
        )
    infinite = np.isinf(out.to_numpy())
    if infinite.any():
        raise ChurnDataError(
            f"{table}.{column} has {int(infinite.sum())} infinite values "
            f"{format_examples(values[infinite])}; every value must be a finite number (fix "
            f"the export, or drop those rows)"
        )
    if not allow_negative and (out < 0).any():
        neg = values[out < 0]
        raise ChurnDataError(
            f"{table}.{column} has {len(neg)} negative values {format_examples(neg)}; amounts "
            f"must be >= 0 (record a refund as status 'refunded' with a positive amount)"
        )
    return out


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
