"""EventData: the validated, typed container of a company's customer tables.

Column names are mapped once, here; every later step uses the canonical names listed in
:data:`SCHEMA`. Timestamps are normalised once to timezone-naive UTC ``datetime64[ns]`` and
event tables are sorted by (customer, time) once, so feature builders can answer windowed
questions with binary searches.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .eventindex import EventIndex
from .exceptions import ChurnDataError, DataQualityWarning
from .io import find_table, ids_as_text, read_table
from .windows import to_naive_utc

__all__ = ["EventData", "TableSchema", "SCHEMA", "PAYMENT_STATUSES", "CHURN_TYPES", "TIME_RANGE",
           "load_config"]

PAYMENT_STATUSES = ("succeeded", "failed", "refunded")
CHURN_TYPES = ("voluntary", "involuntary")
EVENT_TABLES = ("activity", "payments", "tickets")
TABLES = ("customers",) + EVENT_TABLES


@dataclass(frozen=True)
class TableSchema:
    """Canonical columns of one input table."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    timestamps: tuple[str, ...]
    time_column: str | None  # the column events are sorted by


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


def _examples(values: Any, k: int = 5) -> str:
    """Format up to ``k`` distinct offending values and their total count."""
    uniq = pd.unique(pd.Series(values).astype(object))
    shown = ", ".join(repr(v) for v in uniq[:k])
    more = f" and {len(uniq) - k} more" if len(uniq) > k else ""
    return f"{{{shown}{more}}}"


format_examples = _examples


def _blank_to_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty or whitespace-only text cells become missing values, in every column."""
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


def _id_kind(values: pd.Series) -> str | None:
    """'number', 'text', 'mixed' or the inferred kind of an id column (None when all missing)."""
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


def _check_id_kind(table: str, values: pd.Series, expected: str | None = None) -> str | None:
    """Raise when an id column mixes numbers and text, or differs in kind from customers."""
    kind = _id_kind(values)
    if kind == "mixed":
        present = values.dropna().astype(object)
        is_text = present.map(lambda v: isinstance(v, str)).astype(bool)
        raise ChurnDataError(
            f"{table}.customer_id mixes numbers and text (e.g. "
            f"{_examples(present[~is_text], 2)} and {_examples(present[is_text], 2)}), so 345 "
            f"and '345' would be two customers; give every id one type, e.g. "
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
                f"{_examples(present[out].astype(str))}; fix them (a mistyped year?) or leave "
                f"them empty"
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


def _date_order_evidence(text: pd.Series) -> tuple[bool, bool]:
    """Whether some values can only be day-first, and whether some can only be month-first."""
    parts = _numeric_date_parts(text)
    return (bool((parts["day_first"] & ~parts["month_first"]).any()),
            bool((parts["month_first"] & ~parts["day_first"]).any()))


def _settle_numeric_dates(where: str, text: pd.Series, dayfirst: bool | None,
                          hint: Any) -> pd.Series:
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
    fix = ("pass dayfirst=True or False (CLI --dayfirst / --monthfirst, config dayfirst = "
           "true) or date_format= such as '%d/%m/%Y %H:%M'")
    if dayfirst is None:
        if only_day.any() and only_month.any():
            days = _examples(text[only_day.index[only_day]], 2)
            months = _examples(text[only_month.index[only_month]], 2)
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
                raise ChurnDataError(
                    f"{where} has dates such as {_examples(text[either.index[either]], 2)} that "
                    f"read as day-first or month-first and no value settles which; {fix}"
                )
        else:
            dayfirst = False  # every value reads the same either way
    fits = parts["day_first"] if dayfirst else parts["month_first"]
    if not fits.all():
        bad = text[fits.index[~fits]]
        order = "day-first" if dayfirst else "month-first"
        raise ChurnDataError(
            f"{where} has {len(bad)} values that are not {order} dates {_examples(bad, 3)}; "
            f"fix them, or {fix}"
        )
    day = np.where(dayfirst, parts["a"], parts["b"])
    month = np.where(dayfirst, parts["b"], parts["a"])
    year = parts["year"].astype(int)
    year = year.where(parts["year"].str.len() == 4, np.where(year < 69, 2000 + year, 1900 + year))
    iso = (year.astype(str).str.zfill(4) + "-" + pd.Series(month, index=parts.index).astype(str)
           .str.zfill(2) + "-" + pd.Series(day, index=parts.index).astype(str).str.zfill(2)
           + parts["rest"].fillna("").astype(str))
    out = text.astype(object).copy()
    out[parts.index] = iso.astype(object)
    return out


def _normalise_timestamps(
    table: str,
    column: str,
    values: pd.Series,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    hint: Any = None,
) -> pd.Series:
    """Parse ``values`` to timezone-naive UTC ``datetime64[ns]``; raise on bad input.

    ISO 8601 text is always understood. Other text is read with ``date_format`` when given;
    otherwise numeric dates such as ``09/10/2011`` are read in the order ``dayfirst`` gives or
    the data proves (see :func:`_settle_numeric_dates`), never guessed.
    """
    where = f"{table}.{column}"
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
            values.dtype):
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
    numbers = present[~is_str].map(
        lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
    ).astype(bool)
    if numbers.any():
        raise ChurnDataError(
            f"{where} has {int(numbers.sum())} numbers among its timestamps "
            f"{_examples(present[~is_str][numbers], 3)}; convert them to times first, e.g. "
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
        how = (f"in date_format={date_format!r} or ISO 8601" if date_format is not None
               else "ISO 8601 such as '2024-01-31 12:00:00' is always understood")
        raise ChurnDataError(
            f"{where} has {int(bad.sum())} values that are not timestamps: "
            f"{_examples(values[bad])}; fix or remove them ({how}; times must fall in "
            f"{_RANGE_TEXT})"
        )
    return parsed


normalise_timestamps = _normalise_timestamps


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


def _snapshot_time(value: Any) -> pd.Timestamp:
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


def _normalise_label(table: str, column: str, values: pd.Series, positive: Any) -> pd.Series:
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
        f"{where} has values {_examples(values)}; cannot tell which one means churned; "
        f"pass positive_label= (e.g. positive_label='Yes')"
    )


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


class EventData:
    """Validated customer tables with canonical column names.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer: ``customer_id``, ``signup_at``; optional ``churned_at``
        (cancellation time, empty while active), ``churn_type`` (``voluntary`` or
        ``involuntary``), ``plan``, ``mrr`` and any static attribute.
    activity, payments, tickets : pandas.DataFrame, optional
        Event tables (see :data:`SCHEMA`). A table that is absent is ``None``; the feature
        families that need it are skipped.
    columns : mapping, optional
        Column renames per table, in pandas' ``{your_name: canonical_name}`` form, e.g.
        ``{"activity": {"event_time": "timestamp"}, "customers": {"user": "customer_id"}}``.
    status_map : mapping, optional
        Maps your payment status values to ``succeeded``/``failed``/``refunded``, e.g.
        ``{"paid": "succeeded", "declined": "failed"}``. Statuses are compared case-insensitively.
    unknown_customers : {"warn", "drop", "error"}, default "warn"
        What to do with events whose customer is not in ``customers``: drop them and warn with
        a count, drop them silently, or raise :class:`ChurnDataError`.
    label_column : str, optional
        Snapshot mode: ``customers`` is a one-row-per-customer table whose ``label_column``
        says who churned. Its other columns become profile features and no event table is used.
    positive_label : optional
        The value of ``label_column`` that means churned (detected for 1/0, yes/no,
        true/false and a few common wordings).
    snapshot_at : timestamp-like, optional
        Date of the snapshot; used as the single cutoff of a snapshot table. Defaults to
        1970-01-01, which stands for "the snapshot".
    date_format : str, optional
        strptime format of text timestamps that are not ISO 8601, e.g. ``"%d/%m/%Y %H:%M"``.
        ISO 8601 text is always understood.
    dayfirst : bool, optional
        Order of numeric dates such as ``09/10/2011``: True for day-first, False for
        month-first. By default the data settles it: a value whose first field is over 12
        proves day-first, one whose second field is over 12 proves month-first (the other
        timestamp columns are consulted when a column cannot tell); when nothing settles it,
        or the values contradict each other, :class:`ChurnDataError` asks for ``dayfirst`` or
        ``date_format``. Dates are never guessed.

    Notes
    -----
    Input rules:

    * Ids are compared as they are: ``345`` and ``"345"`` never meet. An id column mixing
      numbers and text, or an event table whose ids are of another kind than
      ``customers.customer_id``, is a :class:`ChurnDataError` (convert with
      ``.astype(str)``). :meth:`from_directory` reads ids from CSV and JSON as text.
    * Empty or whitespace-only strings are missing values in every column; an optional
      timestamp column that is empty for everyone is all ``NaT``.
    * Timestamps must fall between 1700-01-01 and 2199-12-31 (:data:`TIME_RANGE`); amounts,
      ``mrr`` and activity
      values must be finite.
    * Events before their customer's ``signup_at`` are kept (history the features may use from
      the first cutoff after signup; ``signup_at`` is not moved). Events after the customer's
      ``churned_at`` are dropped: no cutoff at which the customer is scored can see them, and
      inactivity labels must not count them as activity. Both are counted per table in one
      :class:`DataQualityWarning` (and in :attr:`notes`).

    Attributes
    ----------
    customers, activity, payments, tickets : pandas.DataFrame or None
        The validated tables, canonical names, timestamps as naive UTC ``datetime64[ns]``;
        event tables sorted by (customer, time) with a fresh ``RangeIndex``.
    notes : list of str
        What validation repaired (dropped events, skipped tables).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"id": [1, 2], "signup_at": ["2024-01-01", "2024-02-01"]})
    >>> activity = pd.DataFrame({"id": [1, 1, 2], "timestamp": ["2024-03-01", "2024-03-05",
    ...                                                           "2024-03-02"]})
    >>> data = EventData(customers, activity=activity,
    ...                  columns={"customers": {"id": "customer_id"},
    ...                           "activity": {"id": "customer_id"}})
    >>> data
    EventData(customers=2, activity=3)
    """

    def __init__(
        self,
        customers: pd.DataFrame,
        activity: pd.DataFrame | None = None,
        payments: pd.DataFrame | None = None,
        tickets: pd.DataFrame | None = None,
        *,
        columns: Mapping[str, Mapping[str, str]] | None = None,
        status_map: Mapping[str, str] | None = None,
        unknown_customers: str = "warn",
        label_column: str | None = None,
        positive_label: Any = None,
        snapshot_at: Any = None,
        date_format: str | None = None,
        dayfirst: bool | None = None,
    ) -> None:
        if unknown_customers not in ("warn", "drop", "error"):
            raise ValueError(
                f"unknown_customers={unknown_customers!r}; expected 'warn', 'drop' or 'error'"
            )
        columns = dict(columns or {})
        unknown_tables = set(columns) - set(TABLES)
        if unknown_tables:
            raise ChurnDataError(
                f"columns= names unknown tables {sorted(unknown_tables)}; expected keys among "
                f"{list(TABLES)}, each mapping your column names to canonical ones"
            )
        if date_format is not None and not isinstance(date_format, str):
            raise ChurnDataError(
                f"date_format={date_format!r}; give a strptime format such as '%d/%m/%Y %H:%M'"
            )
        if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
            raise ChurnDataError(f"dayfirst={dayfirst!r}; give True, False or None")
        self.notes: list[str] = []
        self.label_column = label_column
        self.snapshot_at = _snapshot_time(snapshot_at)
        self._dates = {"date_format": date_format,
                       "dayfirst": None if dayfirst is None else bool(dayfirst)}
        raw = {"customers": customers, "activity": activity, "payments": payments,
               "tickets": tickets}
        for name, frame in raw.items():
            if frame is not None and not isinstance(frame, pd.DataFrame):
                raise ChurnDataError(
                    f"{name} must be a pandas DataFrame, got {type(frame).__name__}; "
                    f"read it with pd.read_csv/pd.read_parquet first"
                )
        if customers is None:
            raise ChurnDataError("customers table is required (one row per customer_id)")
        # names mapped once, empty text made missing once, before any check reads a column
        renamed = {name: _blank_to_missing(self._rename(name, frame, columns.get(name, {})))
                   for name, frame in raw.items() if frame is not None}
        self._renamed = renamed
        self.customers = self._validate_customers(renamed["customers"], {}, label_column,
                                                  positive_label)
        ids = pd.Index(self.customers["customer_id"])
        self._id_kind = _check_id_kind("customers", self.customers["customer_id"])
        self._validated_codes: dict[str, np.ndarray] = {}
        self._outside: list[tuple[str, int, int]] = []
        self.activity = self._validate_events("activity", renamed.get("activity"), {}, ids)
        self.payments = self._validate_events("payments", renamed.get("payments"), {}, ids,
                                              status_map=status_map)
        self.tickets = self._validate_events("tickets", renamed.get("tickets"), {}, ids)
        del self._renamed
        self._unknown_customers = unknown_customers
        self._flush_unknown(unknown_customers)
        self._flush_outside()
        # customer positions of every event, worked out while validating (the index reuses them)
        self._cache: dict[Any, Any] = {("codes", t): c for t, c in self._validated_codes.items()}
        del self._validated_codes
        if label_column is None and all(
            t is None for t in (self.activity, self.payments, self.tickets)
        ) and "churned_at" not in self.customers:
            self.notes.append(
                "no event table and no churned_at: only profile and tenure features can be built"
            )

    # ------------------------------------------------------------------ validation
    def _rename(self, table: str, frame: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
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

    def _check_required(self, table: str, frame: pd.DataFrame, required: tuple[str, ...]) -> None:
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

    def _validate_customers(self, frame, mapping, label_column, positive_label) -> pd.DataFrame:
        frame = self._rename("customers", frame, mapping)
        if label_column is not None:
            required: tuple[str, ...] = ("customer_id", label_column)
        else:
            required = SCHEMA["customers"].required
        self._check_required("customers", frame, required)
        frame = frame.reset_index(drop=True)
        ids = frame["customer_id"]
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
                f"{_examples(dup)}; keep one row per customer (e.g. drop_duplicates('customer_id', "
                f"keep='last'))"
            )
        if label_column is not None:
            frame[label_column] = _normalise_label("customers", label_column, frame[label_column],
                                                   positive_label)
            if "signup_at" in frame:
                frame["signup_at"] = self._timestamps("customers", "signup_at",
                                                      frame["signup_at"])
            return frame
        for col in SCHEMA["customers"].timestamps:
            if col in frame:
                frame[col] = self._timestamps("customers", col, frame[col])
        if frame["signup_at"].isna().any():
            raise ChurnDataError(
                f"customers.signup_at has {int(frame['signup_at'].isna().sum())} missing values; "
                f"every customer needs a signup time (use the first event's time if unknown)"
            )
        if "churned_at" in frame:
            before = frame["churned_at"] < frame["signup_at"]
            if before.any():
                raise ChurnDataError(
                    f"customers.churned_at is before signup_at for {int(before.sum())} customers "
                    f"{_examples(frame.loc[before, 'customer_id'])}; fix those dates"
                )
        if "churn_type" in frame:
            text = frame["churn_type"].astype("string").str.strip().str.lower()
            bad = text.notna() & ~text.isin(CHURN_TYPES)
            if bad.any():
                raise ChurnDataError(
                    f"customers.churn_type has values {_examples(frame.loc[bad, 'churn_type'])}; "
                    f"expected voluntary/involuntary (or empty); map yours before loading"
                )
            frame["churn_type"] = text.astype(object).where(text.notna(), None)
        if "mrr" in frame:
            frame["mrr"] = self._numeric("customers", "mrr", frame["mrr"], allow_missing=True)
        return frame

    @staticmethod
    def _numeric(table: str, column: str, values: pd.Series, allow_missing: bool,
                 allow_negative: bool = False) -> pd.Series:
        if pd.api.types.is_bool_dtype(values.dtype):
            raise ChurnDataError(
                f"{table}.{column} holds True/False, not numbers; convert them to numbers"
            )
        try:
            out = pd.to_numeric(values, errors="coerce").astype("float64")
        except (TypeError, ValueError, OverflowError):  # odd objects (lists, huge ints...)
            out = pd.to_numeric(values.astype(object).map(_to_float), errors="coerce")
        bad = out.isna() & values.notna()
        if bad.any():
            raise ChurnDataError(
                f"{table}.{column} has {int(bad.sum())} non-numeric values "
                f"{_examples(values[bad])};"
                f" convert them to numbers"
            )
        if not allow_missing and out.isna().any():
            raise ChurnDataError(
                f"{table}.{column} has {int(out.isna().sum())} missing values; fill or drop them"
            )
        infinite = np.isinf(out.to_numpy())
        if infinite.any():
            raise ChurnDataError(
                f"{table}.{column} has {int(infinite.sum())} infinite values "
                f"{_examples(values[infinite])}; every value must be a finite number (fix the "
                f"export, or drop those rows)"
            )
        if not allow_negative and (out < 0).any():
            neg = values[out < 0]
            raise ChurnDataError(
                f"{table}.{column} has {len(neg)} negative values {_examples(neg)}; amounts must "
                f"be >= 0 (record a refund as status 'refunded' with a positive amount)"
            )
        return out

    def _validate_events(self, table, frame, columns, ids, status_map=None):
        if frame is None:
            self.notes.append(f"no {table} table: its feature family is skipped")
            return None
        if self.label_column is not None:
            raise ChurnDataError(
                f"{table}: a snapshot table (label_column={self.label_column!r}) takes no event "
                f"tables; pass only customers, or drop label_column to use events"
            )
        schema = SCHEMA[table]
        frame = self._rename(table, frame, columns.get(table, {}))
        self._check_required(table, frame, schema.required)
        frame = frame.reset_index(drop=True)  # only whole columns are replaced below
        for col in schema.timestamps:
            if col in frame:
                frame[col] = self._timestamps(table, col, frame[col])
        tcol = schema.time_column
        if frame[tcol].isna().any():
            raise ChurnDataError(
                f"{table}.{tcol} has {int(frame[tcol].isna().sum())} missing values; every event "
                f"needs a time"
            )
        if frame["customer_id"].isna().any():
            raise ChurnDataError(
                f"{table}.customer_id has {int(frame['customer_id'].isna().sum())} missing values;"
                f" drop events without a customer (e.g. logged-out traffic)"
            )
        if table == "payments":
            frame["amount"] = self._numeric("payments", "amount", frame["amount"], False)
            status = frame["status"].astype("string").str.strip().str.lower()
            if status_map:
                lowered = {str(k).strip().lower(): v for k, v in status_map.items()}
                status = status.map(lambda s: lowered.get(s, s) if s is not pd.NA else s)
            status = status.astype("string")
            bad = ~status.isin(PAYMENT_STATUSES) | status.isna()
            if bad.any():
                raise ChurnDataError(
                    f"payments.status has values {_examples(frame.loc[bad, 'status'])}; expected "
                    f"succeeded/failed/refunded; map them with status_map= (e.g. "
                    f"status_map={{'paid': 'succeeded', 'declined': 'failed'}})"
                )
            frame["status"] = pd.Categorical(status.astype(object), categories=PAYMENT_STATUSES)
        if table == "activity":
            if "value" in frame:
                frame["value"] = self._numeric("activity", "value", frame["value"],
                                               allow_missing=True, allow_negative=True)
            if "event" in frame and not isinstance(frame["event"].dtype, pd.CategoricalDtype):
                # categorical: compact for millions of events and cheap to group by type
                frame["event"] = frame["event"].astype("string").astype("category")
        if table == "tickets":
            if "csat" in frame:
                csat = pd.to_numeric(frame["csat"], errors="coerce")
                bad = (csat.notna() & ~csat.between(1, 5)) | (csat.isna() & frame["csat"].notna())
                if bad.any():
                    raise ChurnDataError(
                        f"tickets.csat has values {_examples(frame.loc[bad, 'csat'])} outside 1-5;"
                        f" rescale satisfaction to 1 (worst) .. 5 (best) or leave it empty"
                    )
                frame["csat"] = csat.astype("float64")
            if "resolved_at" in frame:
                before = frame["resolved_at"] < frame["created_at"]
                if before.any():
                    raise ChurnDataError(
                        f"tickets.resolved_at is before created_at in {int(before.sum())} rows; "
                        f"fix those times or leave resolved_at empty for open tickets"
                    )
        # Match customers: ids are compared as they are, never cast (345 is not '345').
        _check_id_kind(table, frame["customer_id"], self._id_kind)
        codes = ids.get_indexer(frame["customer_id"])
        unknown = codes < 0
        if unknown.any():
            self._pending_unknown = getattr(self, "_pending_unknown", [])
            self._pending_unknown.append(
                (table, int(unknown.sum()), len(frame),
                 _examples(frame.loc[unknown, "customer_id"], 3))
            )
            frame = frame.loc[~unknown]
            codes = codes[~unknown]
        if len(frame) == 0:
            raise ChurnDataError(
                f"{table} has no events of known customers; check that {table}.customer_id uses "
                f"the same ids as customers.customer_id"
            )
        # may leave the table empty: the family then applies with no events, as after cut()
        frame, codes = self._outside_lifetime(table, frame, codes)
        times = frame[tcol].to_numpy()
        same = codes[1:] == codes[:-1]
        if not ((codes[1:] > codes[:-1]) | (same & (times[1:] >= times[:-1]))).all():
            order = np.lexsort((times, codes))
            frame = frame.iloc[order]
            codes = codes[order]
        frame = frame.reset_index(drop=True)
        self._validated_codes[table] = codes.astype(
            np.int32 if len(ids) < 2**31 else np.int64, copy=False)
        return frame

    def _timestamps(self, table: str, column: str, values: pd.Series) -> pd.Series:
        return _normalise_timestamps(table, column, values, **self._dates,
                                     hint=lambda: self._date_hint(table, column))

    def _date_hint(self, table: str, column: str) -> bool | None:
        """The date order the other timestamp columns prove (True: day-first), or None."""
        day = month = False
        for name, frame in self._renamed.items():
            for col in SCHEMA[name].timestamps:
                if (name, col) == (table, column) or col not in frame:
                    continue
                values = frame[col]
                if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
                    continue
                text = values.dropna().astype(object)
                text = text[text.map(lambda v: isinstance(v, str)).astype(bool)].str.strip()
                d, m = _date_order_evidence(text)
                day, month = day or d, month or m
        return True if day and not month else False if month and not day else None

    def _outside_lifetime(self, table: str, frame: pd.DataFrame, codes: np.ndarray
                          ) -> tuple[pd.DataFrame, np.ndarray]:
        """Count events before signup (kept) and drop events after churned_at."""
        if len(frame) == 0:
            return frame, codes
        times = frame[SCHEMA[table].time_column].to_numpy(dtype="datetime64[ns]")
        signup = self.customers["signup_at"].to_numpy(dtype="datetime64[ns]")[codes]
        before = int((times < signup).sum())
        after_mask = np.zeros(len(frame), dtype=bool)
        if "churned_at" in self.customers:
            churned = self.customers["churned_at"].to_numpy(dtype="datetime64[ns]")[codes]
            after_mask = ~np.isnat(churned) & (times > churned)
        after = int(after_mask.sum())
        if before or after:
            self._outside.append((table, before, after))
        if after:
            frame = frame.loc[~after_mask]
            codes = codes[~after_mask]
        return frame, codes

    def _flush_outside(self) -> None:
        if not self._outside:
            return
        counts = "; ".join(f"{table}: {before} before signup_at (kept), {after} after "
                           f"churned_at (dropped)" for table, before, after in self._outside)
        msg = (f"events outside their customer's lifetime: {counts}. Events before signup count "
               f"as history from the first cutoff after signup; events after a cancellation "
               f"belong to no scored period and are dropped. Check the dates if unexpected")
        self.notes.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=3)

    def _flush_unknown(self, policy: str) -> None:
        pending = getattr(self, "_pending_unknown", [])
        self._pending_unknown = []
        for table, n, total, examples in pending:
            msg = (
                f"{table}.customer_id: {n} of {total} events belong to customers not in "
                f"customers {examples}; they were dropped (add those customers, or pass "
                f"unknown_customers='drop' to silence this)"
            )
            if policy == "error":
                raise ChurnDataError(msg.replace("they were dropped", "they cannot be used"))
            self.notes.append(msg)
            if policy == "warn":
                warnings.warn(msg, DataQualityWarning, stacklevel=3)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_directory(
        cls,
        path: str | os.PathLike,
        *,
        config: str | os.PathLike | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> EventData:
        """Load ``customers.*``, ``activity.*``, ``payments.*`` and ``tickets.*`` from a folder.

        Parameters
        ----------
        path : path-like
            Folder holding one file per table (CSV, Parquet or JSON Lines).
        config : path-like or mapping, optional
            TOML file or dict with ``columns``, ``status_map``, ``label_column``,
            ``positive_label``, ``snapshot_at``, ``unknown_customers``, ``date_format``,
            ``dayfirst`` keys (others are ignored here).
        **kwargs
            Passed to :class:`EventData` (override the config).

        Returns
        -------
        EventData
        """
        path = Path(path)
        if not path.is_dir():
            raise ChurnDataError(
                f"{path}: not a directory; DATA must be a folder holding customers.csv "
                f"(or .parquet) and at least one of activity/payments/tickets"
            )
        settings = load_config(config) if isinstance(config, (str, os.PathLike)) else dict(
            config or {})
        for key in ("columns", "status_map", "label_column", "positive_label", "snapshot_at",
                    "unknown_customers", "date_format", "dayfirst"):
            if key in settings and key not in kwargs:
                kwargs[key] = settings[key]
        customers_file = find_table(path, "customers")
        if customers_file is None:
            raise ChurnDataError(
                f"customers table not found in {path}; add customers.csv or customers.parquet "
                f"(one row per customer_id with signup_at)"
            )
        columns = kwargs.get("columns") or {}
        if not isinstance(columns, Mapping):
            raise ChurnDataError(f"columns={columns!r}; give a mapping of table to renames")

        def read(name: str, file: Path) -> pd.DataFrame:
            # ids are text in CSV and JSON files: "007" keeps its zeros and is not "7"
            renames = columns.get(name) or {}
            id_columns = [src for src, dst in renames.items() if dst == "customer_id"]
            return read_table(file, id_columns=id_columns or ["customer_id"])

        tables = {name: (read(name, f) if (f := find_table(path, name)) else None)
                  for name in EVENT_TABLES}
        tables["customers"] = read("customers", customers_file)
        # A Parquet file keeps numeric ids; next to text ids read from CSV/JSON, use their text.
        sources = {name: next((src for src, dst in (columns.get(name) or {}).items()
                               if dst == "customer_id"), "customer_id")
                   for name in tables}
        kinds = {name: _id_kind(frame[sources[name]]) for name, frame in tables.items()
                 if frame is not None and sources[name] in frame.columns}
        if "text" in kinds.values() and "number" in kinds.values():
            for name, kind in kinds.items():
                if kind == "number":
                    frame = tables[name].copy(deep=False)
                    frame[sources[name]] = ids_as_text(frame[sources[name]])
                    tables[name] = frame
        return cls(tables.pop("customers"), **tables, **kwargs)

    # ------------------------------------------------------------------ helpers
    @property
    def is_snapshot(self) -> bool:
        """True when the data is a single labelled customers table (no event history)."""
        return self.label_column is not None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The present tables by name."""
        out = {"customers": self.customers}
        for name in EVENT_TABLES:
            frame = getattr(self, name)
            if frame is not None:
                out[name] = frame
        return out

    def customer_codes(self, customer_ids: Any) -> np.ndarray:
        """Positions of ``customer_ids`` in :attr:`customers` (-1 where unknown)."""
        key = "customer_index"
        if key not in self._cache:
            self._cache[key] = pd.Index(self.customers["customer_id"])
        return self._cache[key].get_indexer(customer_ids)

    def event_codes(self, table: str) -> np.ndarray:
        """Customer position (int32 or int64) of every row of an event table, in its order."""
        key = ("codes", table)
        if key not in self._cache:
            self._cache[key] = self.customer_codes(getattr(self, table)["customer_id"])
        return self._cache[key]

    def event_index(self, table: str, time_column: str | None = None,
                    values: dict[str, np.ndarray] | None = None,
                    mask: np.ndarray | None = None, key: Any = None) -> EventIndex:
        """Cached :class:`~churnpredict.eventindex.EventIndex` over one event table.

        Parameters
        ----------
        table : str
            An event table, e.g. ``"activity"``.
        time_column : str, optional
            Defaults to the table's sort column.
        values : dict, optional
            Per-row numbers (original row order, full table length) for window sums.
        mask : ndarray of bool, optional
            Keep only these rows (e.g. failed payments).
        key : hashable, optional
            Cache key distinguishing subsets; required with ``mask``.

        Returns
        -------
        EventIndex
            Built once per (table, time column, key, value names) and reused.
        """
        time_column = time_column or SCHEMA[table].time_column
        cache_key = ("index", table, time_column, key, tuple(sorted(values or {})))
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        frame = getattr(self, table)
        codes = self.event_codes(table)
        times = frame[time_column].to_numpy(dtype="datetime64[ns]")
        vals = dict(values or {})
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            codes, times = codes[mask], times[mask]
            vals = {k: np.asarray(v)[mask] for k, v in vals.items()}
        index = EventIndex(codes, times, len(self.customers), vals)
        self._cache[cache_key] = index
        return index

    @property
    def time_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Earliest and latest time in the data (signups, churns and events)."""
        stamps = []
        for name, frame in self.tables.items():
            for col in SCHEMA[name].timestamps:
                if col in frame and frame[col].notna().any():
                    stamps += [frame[col].min(), frame[col].max()]
        if not stamps:
            return (self.snapshot_at, self.snapshot_at)
        return (min(stamps), max(stamps))

    def cut(self, at: Any) -> EventData:
        """Return the data as it was known at ``at``: events at or after ``at`` removed.

        Customers who signed up at or after ``at`` are dropped; ``churned_at`` (and
        ``churn_type``) later than ``at`` are blanked, ``resolved_at`` and ``csat`` of tickets
        still open at ``at`` are blanked. Useful to check that scoring as of ``at`` does not
        depend on later data.

        Parameters
        ----------
        at : timestamp-like

        Returns
        -------
        EventData
        """
        at = pd.Timestamp(at)
        c = self.customers.loc[self.customers["signup_at"] < at].copy()
        if "churned_at" in c:
            late = c["churned_at"] > at  # churned exactly at `at` is known at `at`
            c.loc[late, "churned_at"] = pd.NaT
            if "churn_type" in c:
                c.loc[late, "churn_type"] = None
        tables = {}
        for name in EVENT_TABLES:
            frame = getattr(self, name)
            if frame is None:
                tables[name] = None
                continue
            tcol = SCHEMA[name].time_column
            frame = frame.loc[(frame[tcol] < at) & frame["customer_id"].isin(c["customer_id"])]
            frame = frame.copy()
            if name == "tickets" and "resolved_at" in frame:
                late = frame["resolved_at"] >= at
                frame.loc[late, "resolved_at"] = pd.NaT
                if "csat" in frame:
                    frame.loc[late, "csat"] = np.nan
            tables[name] = frame  # may be empty: the family still applies, with no events
        out = EventData.__new__(EventData)
        out.notes = list(self.notes)
        out.label_column = self.label_column
        out.snapshot_at = self.snapshot_at
        out.customers = c.reset_index(drop=True)
        for name in EVENT_TABLES:
            frame = tables[name]
            setattr(out, name, None if frame is None else frame.reset_index(drop=True))
        out._unknown_customers = self._unknown_customers
        out._cache = {}
        return out

    def __repr__(self) -> str:
        parts = [f"{name}={len(frame)}" for name, frame in self.tables.items()]
        if self.is_snapshot:
            parts.append(f"label_column={self.label_column!r}")
        return f"EventData({', '.join(parts)})"
