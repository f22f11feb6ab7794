"""EventData: the validated, typed container of a company's customer tables.

Column names are mapped once, here; every later step uses the canonical names listed in
:data:`SCHEMA`. The per-column rules (schema, renames, ids, timestamps, numbers, labels) live
in :mod:`churnpredict._tables` (this module re-exports its public names). Timestamps are
normalised once to timezone-naive UTC ``datetime64[ns]`` and event tables are sorted by
(customer, time) once, so feature builders can answer windowed questions with binary searches.
"""

from __future__ import annotations

import html
import os
import threading
import warnings
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ._dates import date_order_evidence, normalise_timestamps, snapshot_time
from ._derived import derive_customers
from ._eventindex import EventIndex
from ._exceptions import ChurnDataError, DataQualityWarning
from ._reading import load_config
from ._resources import return_free_memory
from ._sources import read_tables, table_files
from ._table_validation import (
    UnknownCustomers,
    activity_columns,
    check_arguments,
    check_customer_times,
    check_event_times,
    check_frames,
    churn_types,
    drop_outcome_columns,
    in_customer_time_order,
    known_customers,
    outside_lifetime,
    outside_lifetime_note,
    payment_columns,
    payment_status_column,
    report_unknown_customers,
    ticket_columns,
)
from ._tables import (
    ACTIVITY_VALUE_KINDS,
    CHURN_TYPES,
    EVENT_TABLES,
    PAYMENT_STATUSES,
    SCHEMA,
    TableSchema,
    blank_to_missing,
    check_customer_ids,
    check_id_kind,
    check_required,
    check_value_kind,
    normalise_label,
    numeric_column,
    rename_columns,
)

__all__ = [
    "ACTIVITY_VALUE_KINDS",
    "EventData",
    "TableSchema",
    "SCHEMA",
    "PAYMENT_STATUSES",
    "CHURN_TYPES",
]

T = TypeVar("T")

#: Held while a cached result is computed, so that feature blocks built on several threads
#: compute each index once (re-entrant: a computation may ask for another cached result).
_CACHE_LOCK = threading.RLock()


class EventData:
    """Validated customer tables with canonical column names.

    Parameters
    ----------
    customers : pandas.DataFrame or None
        One row per customer: ``customer_id``, ``signup_at``; optional ``churned_at``
        (cancellation time, empty while active), ``churn_type`` (``voluntary`` or
        ``involuntary``), ``plan``, ``mrr`` and any static attribute. None derives it from
        the event tables (:func:`churnpredict._derived.derive_customers`): every customer id
        seen, signing up at their first event, with ``churned_at`` only from
        ``cancel_event``; :attr:`notes` says so.
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
    time_unit : {"s", "ms", "us", "ns"}, optional
        Timestamp columns holding numbers are epoch times in this unit (UTC), e.g. ``"ms"``
        for an event log's ``ts``. Without it numbers are refused as timestamps.
    default_status : {"succeeded", "failed", "refunded"}, optional
        Status of payments that have none: a payments table without a ``status`` column
        (or with empty cells) declares here what its rows are, e.g. ``"succeeded"`` for an
        export of collected payments. Without it a missing status is an error.
    cancel_event : str, optional
        With ``customers=None``: the ``activity.event`` value that records a cancellation;
        a customer's first one is their ``churned_at``.
    outcome_columns : sequence of str, default ()
        ``customers`` columns that describe the outcome rather than the customer (filled
        only for those who left, e.g. a cancellation reason): they are dropped at load, so
        no feature is built from them (:attr:`notes` names them). Training refuses such a
        column left among the features (see
        :func:`churnpredict._training.check_outcome_columns`).
    value_kind : {"amount", "duration", "count"}, optional
        What ``activity.value`` holds: money, a duration in seconds (a timedelta column is
        converted), or a count of things. Undeclared (None), a value is money only when the
        business is a shop by detection (:func:`churnpredict._training.business_kind`), so no
        spend or revenue is made of song lengths or scores. A declaration the data
        contradicts (text, negative durations, fractional counts) is a
        :class:`ChurnDataError`.

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
    value_kind : str or None
        What ``activity.value`` is declared to hold (None: undeclared).

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
        customers: pd.DataFrame | None,
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
        time_unit: str | None = None,
        default_status: str | None = None,
        cancel_event: str | None = None,
        outcome_columns: Any = (),
        value_kind: str | None = None,
    ) -> None:
        self.value_kind = check_value_kind(value_kind)
        columns = dict(columns or {})
        check_arguments(
            unknown_customers=unknown_customers,
            columns=columns,
            date_format=date_format,
            dayfirst=dayfirst,
            time_unit=time_unit,
            default_status=default_status,
            outcome_columns=outcome_columns,
        )
        self.notes: list[str] = []
        self.label_column = label_column
        self.snapshot_at = snapshot_time(snapshot_at)
        self._dates = {
            "date_format": date_format,
            "dayfirst": None if dayfirst is None else bool(dayfirst),
            "time_unit": time_unit,
        }
        self._default_status = default_status
        raw = {
            "customers": customers,
            "activity": activity,
            "payments": payments,
            "tickets": tickets,
        }
        check_frames(raw, cancel_event)
        # names mapped once, empty text made missing once, before any check reads a column
        self._renamed = {
            name: blank_to_missing(rename_columns(name, frame, columns.get(name, {})))
            for name, frame in raw.items()
            if frame is not None
        }
        if customers is None:
            self._renamed["customers"] = self._derived_customers(cancel_event)
        self.customers = self._validate_customers(
            self._renamed["customers"], list(outcome_columns), label_column, positive_label
        )
        self._validate_event_tables(status_map)
        del self._renamed
        self._unknown_customers = unknown_customers
        report_unknown_customers(self._pending_unknown, unknown_customers, self.notes)
        del self._pending_unknown
        self._flush_outside()
        # customer positions of every event, worked out while validating (the index reuses them)
        self._cache: dict[Any, Any] = {("codes", t): c for t, c in self._validated_codes.items()}
        del self._validated_codes
        if (
            label_column is None
            and all(t is None for t in (self.activity, self.payments, self.tickets))
            and "churned_at" not in self.customers
        ):
            self.notes.append(
                "no event table and no churned_at: only profile and tenure features can be built"
            )

    # ------------------------------------------------------------------ validation
    def _derived_customers(self, cancel_event: str | None) -> pd.DataFrame:
        """customers from the events (their time columns parsed here, once)."""
        if self.label_column is not None:
            raise ChurnDataError(
                "a snapshot table (label_column=...) is the customers table itself; pass it "
                "as customers"
            )
        events = {}
        for name in EVENT_TABLES:
            frame = self._renamed.get(name)
            tcol = SCHEMA[name].time_column
            if frame is None or tcol not in frame or "customer_id" not in frame:
                continue
            frame = frame.copy(deep=False)
            frame[tcol] = self._timestamps(name, tcol, frame[tcol])
            self._renamed[name] = frame
            events[name] = frame
        customers, note = derive_customers(events, cancel_event=cancel_event)
        self.notes.append(note)
        return customers

    def _validate_customers(self, frame, outcome, label_column, positive_label) -> pd.DataFrame:
        """customers checked: outcome columns dropped, ids, times, churn types, MRR."""
        frame, note = drop_outcome_columns(frame, outcome, label_column)
        if note is not None:
            self.notes.append(note)
        if label_column is not None:
            required: tuple[str, ...] = ("customer_id", label_column)
        else:
            required = SCHEMA["customers"].required
        check_required("customers", frame, required)
        frame = frame.reset_index(drop=True)
        check_customer_ids(frame["customer_id"])
        if label_column is not None:
            frame[label_column] = normalise_label(
                "customers", label_column, frame[label_column], positive_label
            )
            if "signup_at" in frame:
                frame["signup_at"] = self._timestamps("customers", "signup_at", frame["signup_at"])
            return frame
        for col in SCHEMA["customers"].timestamps:
            if col in frame:
                frame[col] = self._timestamps("customers", col, frame[col])
        check_customer_times(frame)
        if "churn_type" in frame:
            frame["churn_type"] = churn_types(frame["churn_type"])
        if "mrr" in frame:
            frame["mrr"] = numeric_column("customers", "mrr", frame["mrr"], allow_missing=True)
        return frame

    def _validate_event_tables(self, status_map: Mapping[str, str] | None) -> None:
        """activity, payments and tickets validated against customers, in that order."""
        ids = pd.Index(self.customers["customer_id"])
        self._id_kind = check_id_kind("customers", self.customers["customer_id"])
        self._validated_codes: dict[str, np.ndarray] = {}
        self._outside: list[tuple[str, int, int]] = []
        self._pending_unknown: list[UnknownCustomers] = []
        self.activity = self._validate_events("activity", self._renamed.get("activity"), ids)
        self.payments = self._validate_events(
            "payments", self._renamed.get("payments"), ids, status_map=status_map
        )
        self.tickets = self._validate_events("tickets", self._renamed.get("tickets"), ids)
        if self.value_kind is not None and self.activity is None:
            raise ChurnDataError(
                f"value_kind={self.value_kind!r} declares what activity.value holds, but there "
                f"is no activity table; add it, or leave value_kind out"
            )

    def _validate_events(self, table, frame, ids, status_map=None):
        """One event table checked, matched to its customers and sorted (None: no table)."""
        if frame is None:
            # a shop's or an app's log comes without payments or tickets as a rule; a
            # subscription export (cancellations or MRR recorded) is expected to have them
            if table == "activity" or {"churned_at", "mrr"} & set(self.customers.columns):
                self.notes.append(f"no {table} table: its feature family is skipped")
            return None
        if self.label_column is not None:
            raise ChurnDataError(
                f"{table}: a snapshot table (label_column={self.label_column!r}) takes no event "
                f"tables; pass only customers, or drop label_column to use events",
                config_message=f"{table}: a snapshot table (label_column = "
                f"{self.label_column!r} in the config) takes no event tables; keep only the "
                f"customers file, or remove label_column to use the events",
            )
        schema = SCHEMA[table]
        if table == "payments":
            frame, note = payment_status_column(frame, self._default_status)
            if note is not None:
                self.notes.append(note)
        check_required(table, frame, schema.required)
        frame = frame.reset_index(drop=True)  # only whole columns are replaced below
        for col in schema.timestamps:
            if col in frame:
                frame[col] = self._timestamps(table, col, frame[col])
        check_event_times(table, frame, schema.time_column)
        if table == "payments":
            frame = payment_columns(frame, status_map, self._default_status)
        elif table == "activity":
            frame = activity_columns(frame, self.value_kind)
        else:
            frame = ticket_columns(frame)
        check_id_kind(table, frame["customer_id"], self._id_kind)
        frame, codes, dropped = known_customers(table, frame, ids)
        if dropped is not None:
            self._pending_unknown.append(dropped)
        # may leave the table empty: the family then applies with no events, as after cut()
        frame, codes = self._outside_lifetime(table, frame, codes)
        frame, codes = in_customer_time_order(frame, codes, schema.time_column)
        self._validated_codes[table] = codes.astype(
            np.int32 if len(ids) < 2**31 else np.int64, copy=False
        )
        return frame

    def _timestamps(self, table: str, column: str, values: pd.Series) -> pd.Series:
        return normalise_timestamps(
            table, column, values, **self._dates, hint=lambda: self._date_hint(table, column)
        )

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
                d, m = date_order_evidence(text)
                day, month = day or d, month or m
        return True if day and not month else False if month and not day else None

    def _outside_lifetime(
        self, table: str, frame: pd.DataFrame, codes: np.ndarray
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Count events before signup (kept) and drop events after churned_at."""
        if len(frame) == 0:
            return frame, codes
        times = frame[SCHEMA[table].time_column].to_numpy(dtype="datetime64[ns]")
        before, after_mask = outside_lifetime(times, codes, self.customers)
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
        msg = outside_lifetime_note(self._outside)
        self.notes.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=3)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_directory(
        cls,
        path: str | os.PathLike,
        *,
        config: str | os.PathLike | Mapping[str, Any] | None = None,
        tables: Mapping[str, str] | None = None,
        derive_customers: bool | None = None,
        **kwargs: Any,
    ) -> EventData:
        """Load the tables of a folder: ``customers.*``, ``activity.*``, ``payments.*``...

        Parameters
        ----------
        path : path-like
            Folder holding one file per table (CSV, TSV, Parquet or JSON Lines, gzipped
            too), named after its table (``activity.csv``) or as ``tables`` says.
        config : path-like or mapping, optional
            TOML file or dict with ``tables``, ``derive_customers``, ``columns``,
            ``status_map``, ``label_column``, ``positive_label``, ``snapshot_at``,
            ``unknown_customers``, ``date_format``, ``dayfirst``, ``time_unit``,
            ``cancel_event``, ``outcome_columns``, ``value_kind`` and ``[payments]
            default_status`` keys (others are ignored here).
        tables : mapping of str -> str, optional
            Table name -> file name (relative to ``path``), e.g. ``{"activity":
            "listening_log.jsonl.gz"}``; then only these files are read. Default: the
            files named after their tables.
        derive_customers : bool, optional
            No customers file: derive the customers from the events (each one's first
            event is their signup; see :class:`EventData` with ``customers=None``).
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
        settings = (
            load_config(config) if isinstance(config, (str, os.PathLike)) else dict(config or {})
        )
        for key in (
            "columns",
            "status_map",
            "label_column",
            "positive_label",
            "snapshot_at",
            "unknown_customers",
            "date_format",
            "dayfirst",
            "time_unit",
            "cancel_event",
            "outcome_columns",
            "value_kind",
        ):
            if key in settings and key not in kwargs:
                kwargs[key] = settings[key]
        payments = settings.get("payments") or {}
        if isinstance(payments, Mapping) and "default_status" in payments:
            kwargs.setdefault("default_status", payments["default_status"])
        tables = settings.get("tables") if tables is None else tables
        derive = (
            settings.get("derive_customers", False)
            if derive_customers is None
            else derive_customers
        )
        files = table_files(path, tables, derive=bool(derive))
        columns = kwargs.get("columns") or {}
        if not isinstance(columns, Mapping):
            raise ChurnDataError(f"columns={columns!r}; give a mapping of table to renames")

        tables = read_tables(files, columns)
        data = cls(tables.pop("customers"), **tables, **kwargs)
        return_free_memory()  # what reading and checking the files held for reuse
        return data

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
        index = self.cached("customer_index", lambda: pd.Index(self.customers["customer_id"]))
        return index.get_indexer(customer_ids)

    def event_codes(self, table: str) -> np.ndarray:
        """Customer position (int32 or int64) of every row of an event table, in its order."""
        return self.cached(
            ("codes", table), lambda: self.customer_codes(getattr(self, table)["customer_id"])
        )

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """What ``compute()`` returns, computed once per ``key`` for this data and then reused.

        Feature builders keep what they derive from the tables here (sorted codes, flags,
        per-customer orders), so several builders and several calls share one copy. The
        cache lives as long as this ``EventData``; :meth:`cut` starts an empty one.

        Parameters
        ----------
        key : hashable
            Names the result; start it with the builder's family, e.g.
            ``("engagement", "event_codes")``.
        compute : callable
            Called without arguments on the first request.

        Returns
        -------
        object
            The cached result.
        """
        if key not in self._cache:
            with _CACHE_LOCK:
                if key not in self._cache:
                    self._cache[key] = compute()
        return self._cache[key]

    def release_cache(self, *, keep_codes: bool = True) -> None:
        """Drop what builders keep in :meth:`cached` (event indexes, flags, sorted values).

        Each is computed again when next asked for. Training calls it once the features
        are built, before the booster needs the room; scoring once the scores are known,
        before the reasons need it.

        Parameters
        ----------
        keep_codes : bool, default True
            Keep the customer positions of the events (worked out at load, 4 bytes an
            event), which the next features would need again.
        """
        with _CACHE_LOCK:
            self._cache = {
                key: value
                for key, value in self._cache.items()
                if keep_codes
                and (key == "customer_index" or (isinstance(key, tuple) and key[0] == "codes"))
            }
        return_free_memory()

    def event_index(
        self,
        table: str,
        time_column: str | None = None,
        values: dict[str, np.ndarray] | None = None,
        mask: np.ndarray | None = None,
        key: Any = None,
    ) -> EventIndex:
        """Cached :class:`~churnpredict._eventindex.EventIndex` over one event table.

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
        return self.cached(cache_key, lambda: self._event_index(table, time_column, values, mask))

    def _event_index(
        self,
        table: str,
        time_column: str,
        values: dict[str, np.ndarray] | None,
        mask: np.ndarray | None,
    ) -> EventIndex:
        frame = getattr(self, table)
        codes = self.event_codes(table)
        times = frame[time_column].to_numpy(dtype="datetime64[ns]")
        vals = dict(values or {})
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            codes, times = codes[mask], times[mask]
            vals = {k: np.asarray(v)[mask] for k, v in vals.items()}
        return EventIndex(codes, times, len(self.customers), vals)

    @property
    def observed_start(self) -> dict[str, pd.Timestamp]:
        """When each event table starts: the time of its first event (tables with events).

        An export of an app's log often starts after many customers signed up: what they did
        before it is not recorded, not zero (see :meth:`record_start`).

        Returns
        -------
        dict of str -> pandas.Timestamp
            Table name -> first event time, for the present event tables holding events.

        Examples
        --------
        >>> customers = pd.DataFrame({"customer_id": [1], "signup_at": ["2024-01-01"]})
        >>> activity = pd.DataFrame({"customer_id": [1, 1],
        ...                          "timestamp": ["2024-03-01", "2024-02-01"]})
        >>> EventData(customers, activity=activity).observed_start
        {'activity': Timestamp('2024-02-01 00:00:00')}
        """

        def first() -> dict[str, pd.Timestamp]:
            out = {}
            for name in EVENT_TABLES:
                frame = getattr(self, name)
                if frame is not None and len(frame):
                    out[name] = pd.Timestamp(frame[SCHEMA[name].time_column].min())
            return out

        return dict(self.cached("observed_start", first))

    #: An event table is an export that starts after its customers' history began when at
    #: least this many customers, and this share of the customers with events in its first
    #: week, signed up before its first event (a complete history has only its first few
    #: customers signing up before anything is recorded). Deciding on the first week alone
    #: keeps the decision the same for the data as known at any later time.
    EXPORT_MIN_CUSTOMERS = 20
    EXPORT_MIN_SHARE = 0.2
    EXPORT_FIRST_DAYS = 7

    def record_start(self, table: str) -> pd.Timestamp | None:
        """When ``table`` starts recording customers who signed up before: None if it does not.

        The table's first event (:attr:`observed_start`) when the table looks like an export
        of recent events: at least :attr:`EXPORT_MIN_CUSTOMERS` customers, and
        :attr:`EXPORT_MIN_SHARE` of the customers with events in its first
        :attr:`EXPORT_FIRST_DAYS` days, signed up before that event. Their activity before
        it is unknown, not zero: training drops the cutoffs whose horizon reaches before it
        (:func:`churnpredict._labels.recorded_cutoffs`) and feature windows reaching before it
        are not observed for them. A table with nothing
        before another table's export start (tickets taken from the same app log) starts
        there too. None when the table holds its customers' history from signup as far as
        the data tells.

        Parameters
        ----------
        table : str
            An event table.

        Returns
        -------
        pandas.Timestamp or None
        """

        def decide() -> pd.Timestamp | None:
            first = self.observed_start.get(table)
            starts = [self._export_start(t) for t in self.observed_start]
            known = [s for s in starts if s is not None and first is not None and s <= first]
            return max(known) if known else None

        return self.cached(("record_start", table), decide)

    def _export_start(self, table: str) -> pd.Timestamp | None:
        """The first event of ``table`` when the table itself looks like an export."""

        def decide() -> pd.Timestamp | None:
            start = self.observed_start.get(table)
            if start is None:
                return None
            signup = self.customers["signup_at"].to_numpy(dtype="datetime64[ns]")
            frame = getattr(self, table)
            first_week = frame[SCHEMA[table].time_column] < start + pd.Timedelta(
                days=self.EXPORT_FIRST_DAYS
            )
            seen = np.zeros(len(signup), dtype=bool)
            seen[self.event_codes(table)[first_week.to_numpy()]] = True
            before = signup[seen] < np.datetime64(start.value, "ns")
            n = int(before.sum())
            if n >= self.EXPORT_MIN_CUSTOMERS and n >= self.EXPORT_MIN_SHARE * len(before):
                return start
            return None

        return self.cached(("export_start", table), decide)

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
        out.value_kind = self.value_kind
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

    @property
    def summary(self) -> pd.DataFrame:
        """One row per present table: its size, time span and columns.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``table``: ``rows``, ``customers`` (distinct customer ids),
            ``first`` and ``last`` (time range of ``signup_at`` for customers, of the sort
            column for event tables; NaT when absent), ``optional_columns`` (the canonical
            optional columns present, comma-separated) and ``other_columns`` (any further
            columns, e.g. static customer attributes or the snapshot label).

        Examples
        --------
        >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_at": ["2024-01-01",
        ...                           "2024-02-01"], "plan": ["pro", "basic"]})
        >>> summary = EventData(customers).summary
        >>> int(summary.loc["customers", "rows"]), summary.loc["customers", "optional_columns"]
        (2, 'plan')
        """
        records = {}
        for name, frame in self.tables.items():
            schema = SCHEMA[name]
            tcol = schema.time_column or "signup_at"
            times = frame[tcol] if tcol in frame else pd.Series([], dtype="datetime64[ns]")
            known = set(schema.required) | set(schema.optional)
            records[name] = {
                "rows": len(frame),
                "customers": int(frame["customer_id"].nunique()),
                "first": times.min(),
                "last": times.max(),
                "optional_columns": ", ".join(c for c in schema.optional if c in frame),
                "other_columns": ", ".join(str(c) for c in frame.columns if c not in known),
            }
        out = pd.DataFrame.from_dict(records, orient="index")
        out.index.name = "table"
        return out

    def _repr_html_(self) -> str:
        """Notebook display: the tables with rows, customers, time span and columns.

        Every value is escaped: ids, column names and notes may hold markup.
        """
        start, end = self.time_range
        facts = [f"{len(self.customers):,} customers"]
        if self.is_snapshot:
            facts.append(f"snapshot with label column {self.label_column!r}")
        else:
            facts.append(f"{start} .. {end}")
        table = self.summary.to_html(
            escape=True,
            na_rep="",
            border=0,
            formatters={"rows": "{:,}".format, "customers": "{:,}".format},
        )
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        notes = (
            f"<details><summary>notes ({len(self.notes)})</summary><ul>{notes}</ul></details>"
            if self.notes
            else ""
        )
        return (
            f"<div><strong>EventData</strong>: {html.escape('; '.join(facts))}{table}{notes}</div>"
        )
