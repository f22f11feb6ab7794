"""The steps ``EventData`` takes to validate its tables, one named step per rule.

:class:`churnpredict._data.EventData` checks its arguments (:func:`check_arguments`,
:func:`check_frames`), then the customers table (:func:`drop_outcome_columns`,
:func:`check_customer_times`, :func:`churn_types`), then each event table: the payments status
column (:func:`payment_status_column`), the time column (:func:`check_event_times`), the
columns of its kind (:func:`payment_columns`, :func:`activity_columns`,
:func:`ticket_columns`), the customers it belongs to (:func:`known_customers`), the lifetimes
(:func:`outside_lifetime`) and the order (:func:`in_customer_time_order`). The per-column rules
they apply live in :mod:`churnpredict._tables`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._dates import TIME_UNITS
from ._exceptions import ChurnDataError, DataQualityWarning
from ._tables import (
    CHURN_TYPES,
    PAYMENT_STATUSES,
    TABLES,
    activity_values,
    format_examples,
    mapping_error,
    numeric_column,
)

__all__ = [
    "UNKNOWN_CUSTOMER_POLICIES",
    "UnknownCustomers",
    "activity_columns",
    "check_arguments",
    "check_customer_times",
    "check_event_times",
    "check_frames",
    "churn_types",
    "drop_outcome_columns",
    "in_customer_time_order",
    "known_customers",
    "outside_lifetime",
    "outside_lifetime_note",
    "payment_columns",
    "payment_status_column",
    "report_unknown_customers",
    "ticket_columns",
]

#: What ``EventData(unknown_customers=...)`` accepts.
UNKNOWN_CUSTOMER_POLICIES = ("warn", "drop", "error")
#: Events checked at a time while validating (temporaries of a few MB).
_CHUNK = 1 << 20


# ---------------------------------------------------------------- arguments
def check_arguments(
    *,
    unknown_customers: Any,
    columns: Mapping[str, Any],
    date_format: Any,
    dayfirst: Any,
    time_unit: Any,
    default_status: Any,
    outcome_columns: Any,
) -> None:
    """Refuse an ``EventData`` argument of the wrong kind, naming it and what it takes."""
    if not isinstance(unknown_customers, str) or (
        unknown_customers not in UNKNOWN_CUSTOMER_POLICIES
    ):
        raise ChurnDataError(
            f"unknown_customers={unknown_customers!r}; expected 'warn', 'drop' or 'error'"
        )
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
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise ChurnDataError(f"time_unit={time_unit!r}; expected one of {list(TIME_UNITS)}")
    if default_status is not None and default_status not in PAYMENT_STATUSES:
        raise ChurnDataError(
            f"default_status={default_status!r}; expected one of {list(PAYMENT_STATUSES)}"
        )
    if isinstance(outcome_columns, str) or any(not isinstance(c, str) for c in outcome_columns):
        raise ChurnDataError(
            f"outcome_columns={outcome_columns!r}; give a list of customers column names"
        )


def check_frames(raw: Mapping[str, Any], cancel_event: str | None) -> None:
    """Refuse a table that is not a DataFrame, and ``cancel_event`` with a customers table."""
    for name, frame in raw.items():
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise ChurnDataError(
                f"{name} must be a pandas DataFrame, got {type(frame).__name__}; "
                f"read it with pd.read_csv/pd.read_parquet first"
            )
    if cancel_event is not None and raw.get("customers") is not None:
        raise ChurnDataError(
            "cancel_event= derives churned_at when customers is derived from the events "
            "(customers=None); with a customers table, give it a churned_at column"
        )


# ---------------------------------------------------------------- customers
def drop_outcome_columns(
    frame: pd.DataFrame, outcome: Sequence[str], label_column: str | None
) -> tuple[pd.DataFrame, str | None]:
    """``customers`` without the columns that describe the outcome, and a note saying so.

    Raises
    ------
    ChurnDataError
        When one is not a column of customers, or is the label column.
    """
    if not outcome:
        return frame, None
    absent = [c for c in outcome if c not in frame.columns]
    if absent or label_column in outcome:
        raise ChurnDataError(
            f"outcome_columns names {absent or [label_column]}, which "
            f"{'customers has not' if absent else 'is the label column'}; customers "
            f"has {list(frame.columns)[:20]}"
        )
    note = (
        f"customers columns {list(outcome)} describe the outcome (outcome_columns): not "
        f"used as features"
    )
    return frame.drop(columns=list(outcome)), note


def check_customer_times(frame: pd.DataFrame) -> None:
    """Every customer has a signup time, and nobody churned before signing up."""
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
                f"{format_examples(frame.loc[before, 'customer_id'])}; fix those dates"
            )


def churn_types(values: pd.Series) -> pd.Series:
    """``customers.churn_type`` as voluntary/involuntary (lower case) or None."""
    text = values.astype("string").str.strip().str.lower()
    bad = text.notna() & ~text.isin(CHURN_TYPES)
    if bad.any():
        raise ChurnDataError(
            f"customers.churn_type has values {format_examples(values[bad])}; expected "
            f"voluntary/involuntary (or empty); map yours before loading"
        )
    return text.astype(object).where(text.notna(), None)


# ---------------------------------------------------------------- event tables
def payment_status_column(
    frame: pd.DataFrame, default_status: str | None
) -> tuple[pd.DataFrame, str | None]:
    """payments with a status column: ``default_status`` for every row when it has none.

    Returns the table and a note when the status was declared.

    Raises
    ------
    ChurnDataError
        When there is no status column and no ``default_status``.
    """
    if "status" in frame:
        return frame, None
    if default_status is None:
        raise mapping_error(
            f"payments has no status column (it has {list(frame.columns)[:20]})",
            "map yours with columns={'payments': {'your_name': 'status'}}, or declare "
            "what every payment is with default_status='succeeded'",
            'map yours in the config ([columns.payments] your_name = "status"), or '
            'declare what every payment is: [payments] default_status = "succeeded"',
        )
    note = f"payments has no status column: every payment is {default_status!r} (default_status)"
    return frame.assign(status=default_status), note


def check_event_times(table: str, frame: pd.DataFrame, column: str) -> None:
    """Every event has a time."""
    if frame[column].isna().any():
        raise ChurnDataError(
            f"{table}.{column} has {int(frame[column].isna().sum())} missing values; every event "
            f"needs a time"
        )


def payment_columns(
    frame: pd.DataFrame, status_map: Mapping[str, str] | None, default_status: str | None
) -> pd.DataFrame:
    """payments with finite amounts and canonical statuses (a categorical column).

    Empty statuses are ``default_status`` when one is declared; ``status_map`` maps the
    others (case and spaces aside).
    """
    if default_status is not None:
        frame["status"] = frame["status"].where(frame["status"].notna(), default_status)
    frame["amount"] = numeric_column("payments", "amount", frame["amount"], False)
    status = frame["status"].astype("string").str.strip().str.lower()
    if status_map:
        lowered = {str(k).strip().lower(): v for k, v in status_map.items()}
        status = status.map(lambda s: lowered.get(s, s) if s is not pd.NA else s)
    status = status.astype("string")
    bad = ~status.isin(PAYMENT_STATUSES) | status.isna()
    if bad.any():
        raise mapping_error(
            f"payments.status has values {format_examples(frame.loc[bad, 'status'])}; "
            f"expected succeeded/failed/refunded",
            "map them with status_map= (e.g. status_map={'paid': 'succeeded', "
            "'declined': 'failed'})",
            'map them in the config\'s [status_map] (e.g. paid = "succeeded", declined = "failed")',
        )
    frame["status"] = pd.Categorical(status.astype(object), categories=PAYMENT_STATUSES)
    return frame


def activity_columns(frame: pd.DataFrame, value_kind: str | None) -> pd.DataFrame:
    """activity with its values checked against ``value_kind`` and event types categorical."""
    if "value" in frame:
        frame["value"] = activity_values(frame["value"], value_kind)
    elif value_kind is not None:
        raise ChurnDataError(
            f"activity has no value column, but value_kind={value_kind!r} "
            f"declares what it holds; map your column to value (columns="
            f"{{'activity': {{'your_column': 'value'}}}}) or leave value_kind out"
        )
    if "event" in frame and not isinstance(frame["event"].dtype, pd.CategoricalDtype):
        # categorical: compact for millions of events and cheap to group by type
        frame["event"] = frame["event"].astype("string").astype("category")
    return frame


def ticket_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """tickets with satisfaction on 1-5 (float) and no ticket resolved before it was opened."""
    if "csat" in frame:
        csat = pd.to_numeric(frame["csat"], errors="coerce")
        bad = (csat.notna() & ~csat.between(1, 5)) | (csat.isna() & frame["csat"].notna())
        if bad.any():
            raise ChurnDataError(
                f"tickets.csat has values {format_examples(frame.loc[bad, 'csat'])} "
                f"outside 1-5; rescale satisfaction to 1 (worst) .. 5 (best) or leave it "
                f"empty"
            )
        frame["csat"] = csat.astype("float64")
    if "resolved_at" in frame:
        before = frame["resolved_at"] < frame["created_at"]
        if before.any():
            raise ChurnDataError(
                f"tickets.resolved_at is before created_at in {int(before.sum())} rows; "
                f"fix those times or leave resolved_at empty for open tickets"
            )
    return frame


class UnknownCustomers(NamedTuple):
    """Events of one table whose customer is not in customers (dropped)."""

    table: str
    dropped: int
    total: int
    examples: str
    without_id: int


def known_customers(
    table: str, frame: pd.DataFrame, ids: pd.Index
) -> tuple[pd.DataFrame, np.ndarray, UnknownCustomers | None]:
    """The events of known customers, their customer positions, and what was dropped.

    Ids are compared as they are, never cast (345 is not '345').

    Raises
    ------
    ChurnDataError
        When no event belongs to a known customer.
    """
    codes = _positions(ids, frame["customer_id"])
    unknown = codes < 0
    dropped = None
    if unknown.any():
        # events without a customer id (e.g. logged-out traffic) belong to no customer
        no_id = frame["customer_id"].isna().to_numpy()
        dropped = UnknownCustomers(
            table,
            int(unknown.sum()),
            len(frame),
            format_examples(frame.loc[unknown & ~no_id, "customer_id"], 3),
            int(no_id.sum()),
        )
        frame = frame.loc[~unknown]
        codes = codes[~unknown]
    if len(frame) == 0:
        raise ChurnDataError(
            f"{table} has no events of known customers; check that {table}.customer_id uses "
            f"the same ids as customers.customer_id"
        )
    return frame, codes, dropped


def report_unknown_customers(
    pending: Sequence[UnknownCustomers], policy: str, notes: list[str]
) -> None:
    """Say which events had no known customer: a note, plus a warning or an error by policy."""
    for table, n, total, examples, no_id in pending:
        whose = (
            f"belong to customers not in customers {examples}"
            + (f" or have no customer id ({no_id})" if no_id else "")
            if n > no_id
            else "have no customer id (e.g. logged-out traffic)"
        )
        add = "add those customers, or " if n > no_id else ""
        msg = f"{table}.customer_id: {n} of {total} events {whose}; they were dropped"
        if policy != "drop":  # dropped as asked: the note says what, not how to silence it
            msg += f" ({add}pass unknown_customers='drop' to silence this)"
        if policy == "error":
            raise ChurnDataError(
                msg.replace("they were dropped", "they cannot be used"),
                config_message=msg.replace("they were dropped", "they cannot be used")
                .replace("pass unknown_customers='drop'", 'set unknown_customers = "drop"')
                .replace("to silence this", "in the config to drop them"),
            )
        notes.append(msg)
        if policy == "warn":
            warnings.warn(msg, DataQualityWarning, stacklevel=3)


def outside_lifetime(
    times: np.ndarray, codes: np.ndarray, customers: pd.DataFrame
) -> tuple[int, np.ndarray]:
    """How many events fall before their customer's signup, and which fall after churned_at.

    Parameters
    ----------
    times : numpy.ndarray of datetime64[ns]
        The events' times.
    codes : numpy.ndarray of int
        Each event's customer position in ``customers``.
    customers : pandas.DataFrame
        With ``signup_at`` and optionally ``churned_at``.

    Returns
    -------
    before : int
        Events before signup (kept: history).
    after : numpy.ndarray of bool
        Events after churned_at (dropped: no scored period sees them).
    """
    signup = customers["signup_at"].to_numpy(dtype="datetime64[ns]")
    churned = (
        customers["churned_at"].to_numpy(dtype="datetime64[ns]")
        if "churned_at" in customers
        else None
    )
    before = 0
    after = np.zeros(len(times), dtype=bool)
    for lo in range(0, len(times), _CHUNK):  # in chunks: no per-event copies of the times
        part, who = times[lo : lo + _CHUNK], codes[lo : lo + _CHUNK]
        before += int(np.count_nonzero(part < signup[who]))
        if churned is not None:
            ends = churned[who]
            after[lo : lo + _CHUNK] = ~np.isnat(ends) & (part > ends)
    return before, after


def outside_lifetime_note(counts: Sequence[tuple[str, int, int]]) -> str:
    """The message for events outside their customer's lifetime, per table."""
    per_table = "; ".join(
        f"{table}: {before} before signup_at (kept), {after} after churned_at (dropped)"
        for table, before, after in counts
    )
    return (
        f"events outside their customer's lifetime: {per_table}. Events before signup count "
        f"as history from the first cutoff after signup; events after a cancellation "
        f"belong to no scored period and are dropped. Check the dates if unexpected"
    )


def in_customer_time_order(
    frame: pd.DataFrame, codes: np.ndarray, time_column: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The events sorted by (customer, time), with a fresh index (kept as is when sorted)."""
    times = frame[time_column].to_numpy()
    if not _sorted_by_customer_and_time(codes, times):
        order = np.lexsort((times, codes))
        frame = frame.iloc[order]
        codes = codes[order]
    return frame.reset_index(drop=True), codes


def _positions(ids: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each of ``values`` in ``ids`` (-1 where absent), as int32 when it fits.

    Event tables are mostly grouped by customer: numeric ids are then looked up once per run
    of equal ids and repeated, instead of once per event; otherwise chunk by chunk.
    """
    dtype = np.int32 if len(ids) < 2**31 else np.int64
    array = values.to_numpy()
    if len(array) and array.dtype.kind in "iu":
        change = np.flatnonzero(array[1:] != array[:-1]) + 1
        if len(change) < len(array) // 4:
            starts = np.concatenate([[0], change])
            lengths = np.diff(np.append(starts, len(array)))
            return np.repeat(ids.get_indexer(array[starts]).astype(dtype), lengths)
    out = np.empty(len(array), dtype=dtype)
    for lo in range(0, len(array), _CHUNK):
        out[lo : lo + _CHUNK] = ids.get_indexer(values.iloc[lo : lo + _CHUNK])
    return out


def _sorted_by_customer_and_time(codes: np.ndarray, times: np.ndarray) -> bool:
    """True when events are in (customer, time) order; checked in chunks (small temporaries)."""
    for lo in range(0, max(len(codes) - 1, 0), _CHUNK):
        hi = min(lo + _CHUNK, len(codes) - 1)
        a, b = codes[lo:hi], codes[lo + 1 : hi + 1]
        same = a == b
        if np.any(b < a) or np.any(times[lo + 1 : hi + 1][same] < times[lo:hi][same]):
            return False
    return True
