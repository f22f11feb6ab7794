"""The input-table rules: each column parsed and checked before the tables become ``EventData``.

The canonical schema (:data:`SCHEMA`), and the rules every table goes through once, at load:
column renames and required columns, empty text as missing, ids compared as they are (numbers
and text never meet), timestamps settled to timezone-naive UTC ``datetime64[ns]`` (numeric
dates read in the order the data proves, never guessed: :mod:`churnpredict._dates`), numbers
checked finite, snapshot labels read as 0/1.
:class:`churnpredict._data.EventData` applies them; :mod:`churnpredict.dask` applies the same
rules partition by partition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnDataError
from ._kinds import ACTIVITY_VALUE_KINDS, CHURN_TYPES, PAYMENT_STATUSES

__all__ = [
    "ACTIVITY_VALUE_KINDS",
    "CHURN_TYPES",
    "EVENT_TABLES",
    "PAYMENT_STATUSES",
    "SCHEMA",
    "TABLES",
    "MAX_TOTAL",
    "TableSchema",
    "activity_values",
    "blank_to_missing",
    "check_customer_ids",
    "check_id_kind",
    "check_required",
    "check_value_kind",
    "format_examples",
    "id_kind",
    "mapping_error",
    "normalise_label",
    "numeric_column",
    "rename_columns",
    "rename_fix",
    "toml_key",
]

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

#: The largest total of a number column's magnitudes (amounts, values, MRR): its sums, and
#: those times a probability and up to 1,200 months (a 100-year horizon), stay finite.
MAX_TOTAL = float(np.finfo(np.float64).max) / 1e4
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


def mapping_error(problem: str, python_fix: str, config_fix: str) -> ChurnDataError:
    """A :class:`ChurnDataError` whose fix is a Python argument, or a config line on the CLI.

    Parameters
    ----------
    problem : str
        What is wrong (table, column, values).
    python_fix : str
        The fix as Python arguments, e.g. ``"map it with columns={'activity': {'ts':
        'timestamp'}}"``.
    config_fix : str
        The same fix as a line of the TOML config, e.g. ``'add ts = "timestamp" under
        [columns.activity] in the config'``.

    Returns
    -------
    ChurnDataError
        ``str(error)`` holds the Python fix; ``error.config_message`` the config one.

    Examples
    --------
    >>> error = mapping_error("x is wrong", "pass y=1", "add y = 1 to the config")
    >>> str(error), error.config_message
    ('x is wrong; pass y=1', 'x is wrong; add y = 1 to the config')
    """
    return ChurnDataError(f"{problem}; {python_fix}", config_message=f"{problem}; {config_fix}")


def toml_key(name: str) -> str:
    """A name as a TOML key: bare when it can be, else quoted.

    Examples
    --------
    >>> toml_key("user_id"), toml_key("Churn Reason")
    ('user_id', '"Churn Reason"')
    """
    import json

    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def rename_fix(table: str, canonical: str, source: str = "your_name") -> tuple[str, str]:
    """How to map a column to ``canonical``: as Python ``columns=`` and as a config line."""
    return (
        f"map yours with columns={{'{table}': {{{source!r}: '{canonical}'}}}}",
        f'map yours in the config: [columns.{table}] {toml_key(source)} = "{canonical}"',
    )


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
        ``"integer"``, ``"float"``, ``"text"``, ``"mixed"`` (numbers and text),
        ``"mixed-number"`` (integers and floats), ``"object"`` (values that are neither text
        nor numbers, such as dicts) or pandas' inferred kind for anything else; None when
        every value is missing.

    Examples
    --------
    >>> id_kind(pd.Series([1, 2])), id_kind(pd.Series([1.0])), id_kind(pd.Series(["1", "2"]))
    ('integer', 'float', 'text')
    >>> id_kind(pd.Series([1, "2"])), id_kind(pd.Series([1, 2.5], dtype=object))
    ('mixed', 'mixed-number')
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(values.cat.categories)
    try:
        kind = pd.api.types.infer_dtype(values, skipna=True)
    except TypeError:  # pragma: no cover - unhashable cells in some pandas versions
        kind = "mixed"
    if kind in ("integer", "integer-na"):
        return "integer"
    if kind in ("floating", "decimal"):
        return "float"
    if kind == "mixed-integer-float":
        return "mixed-number"
    if kind == "string":
        return "text"
    if kind in ("mixed", "mixed-integer"):
        present = values.dropna().astype(object)
        plain = present.map(lambda v: isinstance(v, (str, int, float, np.number))).astype(bool)
        return "mixed" if plain.all() else "object"
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
    if kind == "object":
        present = values.dropna().astype(object)
        odd = present[~present.map(lambda v: isinstance(v, (str, int, float, np.number)))]
        raise ChurnDataError(
            f"{table}.customer_id holds {len(odd):,} values that are neither text nor numbers "
            f"(e.g. {format_examples(odd.map(repr), 2)}); an id is text or a whole number"
        )
    if kind == "mixed-number":
        present = values.dropna().astype(object)
        floats = present[present.map(lambda v: isinstance(v, (float, np.floating))).astype(bool)]
        raise ChurnDataError(
            f"{table}.customer_id mixes whole numbers and floats (e.g. "
            f"{format_examples(floats, 2)}), which cannot tell every id apart "
            f"(9007199254740993 as a float is 9007199254740992); give every id one type: whole "
            f"numbers ({table}['customer_id'].astype('int64')) or text"
        )
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
    if (
        expected is not None
        and kind is not None
        and kind != expected
        and "float"
        in (
            kind,
            expected,
        )
    ):
        floats, other = (table, "customers") if kind == "float" else ("customers", table)
        raise ChurnDataError(
            f"{floats}.customer_id holds floating-point ids but {other}.customer_id holds "
            f"{expected if floats == table else kind} ids; floats cannot match every id "
            f"exactly (9007199254740993 as a float is 9007199254740992), so they are not "
            f"compared: write {floats}.customer_id as whole numbers "
            f"(.astype('int64')) or both as text"
        )
    if expected is not None and kind is not None and kind != expected:
        raise ChurnDataError(
            f"{table}.customer_id holds {kind} ids but customers.customer_id holds {expected} "
            f"ids, so 345 and '345' would not match; convert both to text with "
            f".astype(str) (CSV and JSON files are read with text ids already)"
        )
    return kind


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return np.nan


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
    first = repr(values.dropna().astype(str).iloc[0]) if values.notna().any() else "'Yes'"
    raise mapping_error(
        f"{where} has values {format_examples(values)}; cannot tell which one means churned",
        f"pass positive_label= (e.g. positive_label={first})",
        f'add positive_label = "{first[1:-1]}" (the value that means churned) to the config',
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
        columns = list(frame.columns)[:20]
        raise ChurnDataError(
            f"{table}: columns= maps {missing_src} but the table has no such column; "
            f"its columns are {columns}",
            config_message=f"{table}: [columns.{table}] maps {missing_src} but the table "
            f"has no such column; its columns are {columns}",
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
        raise mapping_error(
            f"{table} is missing required column(s) {missing}; it has {list(frame.columns)[:20]}",
            *rename_fix(table, missing[0]),
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


#: Values summed at a time by :func:`_absolute_total` (temporaries of 8 MiB, not the column).
_TOTAL_CHUNK = 1 << 20


def _absolute_total(values: np.ndarray) -> float:
    """The sum of ``|values|``, NaN left out, a chunk at a time (inf when it overflows)."""
    total = 0.0
    with np.errstate(over="ignore"):
        for lo in range(0, len(values), _TOTAL_CHUNK):
            total += float(np.nansum(np.abs(values[lo : lo + _TOTAL_CHUNK])))
    return total


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
        negative values (unless allowed), and values whose magnitudes add up to more than
        :data:`MAX_TOTAL`: sums over them (windows, periods, revenue at risk over many months)
        could overflow.

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
    total = _absolute_total(out.to_numpy())
    if not total <= MAX_TOTAL:  # inf too
        big = out.abs().nlargest(3)
        raise ChurnDataError(
            f"{table}.{column} adds up to more than {MAX_TOTAL:.1e} (values such as "
            f"{format_examples(values[big.index])}), so sums over it would overflow; fix the "
            f"export (a unit or a corrupt value?), or drop those rows"
        )
    if not allow_negative and (out < 0).any():
        neg = values[out < 0]
        raise ChurnDataError(
            f"{table}.{column} has {len(neg)} negative values {format_examples(neg)}; amounts "
            f"must be >= 0 (record a refund as status 'refunded' with a positive amount)"
        )
    return out


def check_value_kind(value_kind: Any) -> str | None:
    """``value_kind`` checked: one of :data:`ACTIVITY_VALUE_KINDS`, or None (undeclared).

    Examples
    --------
    >>> check_value_kind("duration"), check_value_kind(None)
    ('duration', None)
    """
    if value_kind is None or value_kind in ACTIVITY_VALUE_KINDS:
        return value_kind
    raise ChurnDataError(
        f"value_kind={value_kind!r}; declare what activity.value holds: 'amount' (money), "
        f"'duration' (seconds) or 'count', or leave it out (undeclared)"
    )


def activity_values(values: pd.Series, value_kind: str | None) -> pd.Series:
    """``activity.value`` as ``float64``, checked against what it is declared to hold.

    * undeclared (None) and ``"amount"``: finite numbers, negative ones allowed (returns);
    * ``"duration"``: seconds, finite and ``>= 0``; a timedelta column is read as seconds;
    * ``"count"``: whole numbers ``>= 0``.

    Missing values are allowed (events without a value). A declaration the data contradicts
    is a :class:`ChurnDataError` naming the column, the offending values and the fix.

    Parameters
    ----------
    values : pandas.Series
    value_kind : {None, "amount", "duration", "count"}

    Returns
    -------
    pandas.Series of float64

    Examples
    --------
    >>> activity_values(pd.Series(pd.to_timedelta(["1min", "2s"])), "duration").tolist()
    [60.0, 2.0]
    """
    if value_kind == "duration" and pd.api.types.is_timedelta64_dtype(values.dtype):
        return (values.dt.total_seconds()).astype("float64")
    declared = "" if value_kind is None else f" (value_kind={value_kind!r})"
    fix = {
        "duration": "give seconds as numbers (e.g. 245.3; pd.to_timedelta(col)"
        ".dt.total_seconds() converts '00:04:05'), or declare another value_kind",
        "count": "give whole numbers of things, or declare another value_kind",
    }
    try:
        out = numeric_column("activity", "value", values, allow_missing=True, allow_negative=True)
    except ChurnDataError as exc:
        if value_kind in fix:
            raise ChurnDataError(
                f"{str(exc).rsplit(';', 1)[0]}{declared}; {fix[value_kind]}"
            ) from None
        raise
    if value_kind in fix:
        negative = out < 0
        if negative.any():
            raise ChurnDataError(
                f"activity.value has {int(negative.sum())} negative values "
                f"{format_examples(values[negative])}, but a {value_kind} is never negative"
                f"{declared}; fix those rows, or declare another value_kind"
            )
    if value_kind == "count":
        fractional = out.notna() & (out != np.floor(out))
        if fractional.any():
            raise ChurnDataError(
                f"activity.value has {int(fractional.sum())} fractional values "
                f"{format_examples(values[fractional])}, but a count is a whole number"
                f"{declared}; {fix['count']}"
            )
    return out
