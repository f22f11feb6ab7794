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

from .exceptions import ChurnDataError, DataQualityWarning
from .io import find_table, read_table

__all__ = ["EventData", "TableSchema", "SCHEMA", "PAYMENT_STATUSES", "CHURN_TYPES", "load_config"]

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

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)$", re.IGNORECASE)
_POSITIVE_LABELS = {"1", "true", "yes", "y", "churn", "churned", "attrited customer", "exited"}
_NEGATIVE_LABELS = {"0", "false", "no", "n", "existing customer", "retained", "stayed", "active"}


def _examples(values: Any, k: int = 5) -> str:
    """Format up to ``k`` distinct offending values and their total count."""
    uniq = pd.unique(pd.Series(values).astype(object))
    shown = ", ".join(repr(v) for v in uniq[:k])
    more = f" and {len(uniq) - k} more" if len(uniq) > k else ""
    return f"{{{shown}{more}}}"


def _normalise_timestamps(table: str, column: str, values: pd.Series) -> pd.Series:
    """Parse ``values`` to timezone-naive UTC ``datetime64[ns]``; raise on bad input."""
    where = f"{table}.{column}"
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        out = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return out.astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        raise ChurnDataError(
            f"{where} holds numbers ({values.dtype}), not timestamps; convert them first, e.g. "
            f"pd.to_datetime({column}, unit='ms') for epoch milliseconds"
        )
    present = values.dropna()
    # Mixed time zones: some values carry an offset or are aware, others are naive.
    as_obj = present.astype(object)
    is_str = as_obj.map(lambda v: isinstance(v, str))
    aware = pd.Series(False, index=present.index)
    if is_str.any():
        stripped = as_obj[is_str].astype(str).str.strip()
        aware[is_str] = stripped.str.contains(_TZ_SUFFIX)
    not_str = as_obj[~is_str]
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
    try:
        parsed = pd.to_datetime(values, errors="coerce", utc=bool(aware.any()), format="mixed")
    except (TypeError, ValueError) as exc:  # pragma: no cover - pandas raises only on odd objects
        raise ChurnDataError(f"{where} could not be parsed as timestamps: {exc}") from exc
    bad = parsed.isna() & values.notna()
    if bad.any():
        raise ChurnDataError(
            f"{where} has {int(bad.sum())} values that are not timestamps: "
            f"{_examples(values[bad])}; fix or remove them (ISO 8601 such as "
            f"'2024-01-31 12:00:00' is always understood)"
        )
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


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
        self.notes: list[str] = []
        self.label_column = label_column
        self.snapshot_at = pd.Timestamp(snapshot_at if snapshot_at is not None else "1970-01-01")
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
        self.customers = self._validate_customers(customers, columns.get("customers", {}),
                                                  label_column, positive_label)
        ids = pd.Index(self.customers["customer_id"])
        self._validated_codes: dict[str, np.ndarray] = {}
        self.activity = self._validate_events("activity", activity, columns, ids)
        self.payments = self._validate_events("payments", payments, columns, ids,
                                              status_map=status_map)
        self.tickets = self._validate_events("tickets", tickets, columns, ids)
        self._unknown_customers = unknown_customers
        self._flush_unknown(unknown_customers)
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
                frame["signup_at"] = _normalise_timestamps("customers", "signup_at",
                                                           frame["signup_at"])
            return frame
        for col in SCHEMA["customers"].timestamps:
            if col in frame:
                frame[col] = _normalise_timestamps("customers", col, frame[col])
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
    def _numeric(table: str, column: str, values: pd.Series, allow_missing: bool) -> pd.Series:
        out = pd.to_numeric(values, errors="coerce").astype("float64")
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
        if (out < 0).any():
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
        frame = frame.copy(deep=False)  # only whole columns are replaced below
        for col in schema.timestamps:
            if col in frame:
                frame[col] = _normalise_timestamps(table, col, frame[col])
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
                frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
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
        # Match customers; keep ids' dtype aligned with customers.customer_id.
        codes = ids.get_indexer(frame["customer_id"])
        if (codes < 0).all() and frame["customer_id"].dtype != ids.dtype:
            try:
                cast = frame["customer_id"].astype(ids.dtype)
            except (TypeError, ValueError):
                cast = None
            if cast is not None:
                frame["customer_id"] = cast
                codes = ids.get_indexer(cast)
        unknown = codes < 0
        if unknown.any():
            self._pending_unknown = getattr(self, "_pending_unknown", [])
            self._pending_unknown.append(
                (table, int(unknown.sum()), len(frame),
                 _examples(frame.loc[unknown, "customer_id"], 3))
            )
            frame = frame.loc[~unknown]
            codes = codes[~unknown]
        times = frame[tcol].to_numpy()
        same = codes[1:] == codes[:-1]
        if not ((codes[1:] > codes[:-1]) | (same & (times[1:] >= times[:-1]))).all():
            order = np.lexsort((times, codes))
            frame = frame.iloc[order]
            codes = codes[order]
        frame = frame.reset_index(drop=True)
        self._validated_codes[table] = codes.astype(
            np.int32 if len(ids) < 2**31 else np.int64, copy=False)
        if len(frame) == 0:
            raise ChurnDataError(
                f"{table} has no events of known customers; check that {table}.customer_id uses "
                f"the same ids as customers.customer_id"
            )
        return frame

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
            ``positive_label`` keys (others are ignored here).
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
                    "unknown_customers"):
            if key in settings and key not in kwargs:
                kwargs[key] = settings[key]
        customers_file = find_table(path, "customers")
        if customers_file is None:
            raise ChurnDataError(
                f"customers table not found in {path}; add customers.csv or customers.parquet "
                f"(one row per customer_id with signup_at)"
            )
        tables = {name: (read_table(f) if (f := find_table(path, name)) else None)
                  for name in EVENT_TABLES}
        return cls(read_table(customers_file), **tables, **kwargs)

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
