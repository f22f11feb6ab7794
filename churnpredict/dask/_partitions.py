"""Customer partitions: every table shuffled by customer id into aligned partitions.

Partition ``i`` of every table holds the same customers, so each partition is an ordinary
pandas :class:`~churnpredict.EventData` and the single-machine code runs on it unchanged.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .._data import EventData
from .._dates import normalise_timestamps
from .._exceptions import ChurnDataError
from .._labels import known_at
from .._reading import load_config
from .._sources import RAW_EXPORT_KEYS
from .._tables import (
    EVENT_TABLES,
    SCHEMA,
    format_examples,
    mapping_error,
    rename_fix,
)
from ._frames import TEXT, is_dask_frame, numeric_ids, require_dask
from ._reading import customer_source, read_customers, read_lazy, read_tables

__all__ = ["CustomerPartitions", "partition_by_customer", "latest_time", "ROWS_PER_PARTITION"]

#: Event rows per partition when pandas tables are split (Dask inputs keep their partitions).
ROWS_PER_PARTITION = 2_000_000
#: The column holding each row's hashed customer id while the tables are partitioned.
KEY = "_churnpredict_key"


def partition_key(ids: pd.Series, numeric: bool) -> np.ndarray:
    """Hash of each customer id, equal for equal ids in every table (int64).

    Ids are compared as numbers when ``customers.customer_id`` is numeric (events holding
    ``"17"`` or ``17.0`` meet customer 17, as :class:`EventData` casts them) and as text
    otherwise.
    """
    if numeric:
        values = pd.to_numeric(ids, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        values = values + 0.0  # -0.0 -> 0.0
        hashed = pd.util.hash_array(values)
    else:
        text = ids.astype("string").to_numpy(dtype=object, na_value=None)
        hashed = pd.util.hash_array(text)
    return hashed.view(np.int64)


def with_key(frame: pd.DataFrame, id_column: str, numeric: bool) -> pd.DataFrame:
    """``frame`` with the :data:`KEY` column."""
    if id_column not in frame.columns:
        raise ChurnDataError(
            f"a table has no {id_column!r} column to partition by (columns "
            f"{list(frame.columns)[:20]}); map your id column with columns="
        )
    return frame.assign(**{KEY: partition_key(frame[id_column], numeric)})


@dataclass(frozen=True)
class PartitionSpec:
    """What every partition task needs to turn its pieces into an EventData."""

    columns: dict[str, dict[str, str]]
    status_map: dict[str, str] | None
    unknown_customers: str
    empty: dict[str, pd.DataFrame]  # validated zero-row tables, for partitions without events
    id_dtype: Any


@dataclass
class CustomerPartitions:
    """Customer tables split by customer: partition ``i`` of every table holds the same customers.

    Build it with :func:`partition_by_customer`. Every function of :mod:`churnpredict.dask`
    accepts it in place of the tables, so the (lazy) shuffle is described once and can be
    persisted.

    Attributes
    ----------
    customers : dask.dataframe.DataFrame
        Validated customers (canonical column names), partitioned by customer.
    activity, payments, tickets : dask.dataframe.DataFrame or None
        The event tables as given (your column names), partitioned by customer.
    customers_frame : pandas.DataFrame
        The validated customers table in one piece (metadata uses it).
    sources : dict
        The event tables before the shuffle (used for cheap reductions such as the latest time).
    """

    customers: Any
    activity: Any
    payments: Any
    tickets: Any
    customers_frame: pd.DataFrame
    sources: dict[str, Any]
    spec: PartitionSpec = field(repr=False)

    @property
    def npartitions(self) -> int:
        """Number of customer partitions."""
        return int(self.customers.npartitions)

    @property
    def tables(self) -> dict[str, Any]:
        """Present event tables by name."""
        return {n: getattr(self, n) for n in EVENT_TABLES if getattr(self, n) is not None}

    def persist(self) -> CustomerPartitions:
        """Keep the shuffled tables in the cluster's memory (spilled to disk when needed).

        Worth it when several passes read the partitions (training reads them twice).
        """
        import dask

        names = ["customers", *self.tables]
        persisted = dask.persist(*(getattr(self, n) for n in names))
        return replace(self, **dict(zip(names, persisted, strict=True)))

    def delayed_parts(self) -> list[tuple[Any, Any, Any, Any]]:
        """Per partition, the (customers, activity, payments, tickets) pieces as Delayed."""
        pieces = {
            n: (getattr(self, n).to_delayed() if getattr(self, n) is not None else None)
            for n in ("customers", *EVENT_TABLES)
        }
        n = self.npartitions
        return [
            tuple(
                pieces[t][i] if pieces[t] is not None else None
                for t in ("customers", *EVENT_TABLES)
            )
            for i in range(n)
        ]

    def local_data(self, customer_ids: Any) -> EventData:
        """These customers as an EventData with empty event tables (computes nothing).

        Its tables have the columns and dtypes of every partition's, which is what building
        the metadata of a Dask output needs.
        """
        cust = self.customers_frame
        rows = cust[cust["customer_id"].isin(list(customer_ids))]
        keyed = with_key(rows, "customer_id", numeric_ids(cust["customer_id"].dtype))
        events = {
            n: (getattr(self, n)._meta.iloc[:0] if n in self.tables else None) for n in EVENT_TABLES
        }
        data = partition_data(
            self.spec, keyed, events["activity"], events["payments"], events["tickets"]
        )
        if data is None:
            raise ChurnDataError(
                f"customers {list(customer_ids)[:5]} are not in the customers table"
            )
        return data

    def __repr__(self) -> str:
        present = ", ".join(["customers", *self.tables])
        return (
            f"CustomerPartitions({present}; {self.npartitions} partitions, "
            f"{len(self.customers_frame)} customers)"
        )


def as_dask_table(frame: Any, name: str) -> Any:
    """An event table as a Dask DataFrame: pandas split by rows, paths read lazily."""
    import dask.dataframe as dd

    if frame is None:
        return None
    if isinstance(frame, (str, os.PathLike)):
        return read_lazy(frame)
    if is_dask_frame(frame):
        return frame
    if isinstance(frame, pd.DataFrame):
        if len(frame) == 0:
            raise ChurnDataError(
                f"{name} is empty (0 rows); pass None instead of an empty table to skip it"
            )
        parts = max(1, math.ceil(len(frame) / ROWS_PER_PARTITION))
        return dd.from_pandas(frame, npartitions=min(parts, len(frame)), sort=False)
    raise ChurnDataError(
        f"{name} must be a pandas or Dask DataFrame or a path to Parquet/CSV, got "
        f"{type(frame).__name__}"
    )


def empty_tables(
    customer: pd.DataFrame,
    metas: Mapping[str, pd.DataFrame],
    columns: Mapping[str, Mapping[str, str]],
) -> dict[str, pd.DataFrame]:
    """Validated zero-row event tables with the columns and dtypes of the real ones.

    A partition holding no event of a present table gets one of these, so the family still
    applies there with no events (as after :meth:`EventData.cut`). :class:`EventData` refuses
    empty tables, so each is validated holding one placeholder event of ``customer`` at its
    signup, then emptied: only the dtypes are kept.
    """
    if not metas:
        return {}
    at = customer["signup_at"].iloc[0]
    tables: dict[str, pd.DataFrame] = {}
    for name, meta in metas.items():
        frame = (
            meta.rename(columns=dict(columns.get(name, {})))
            .iloc[:0]
            .reindex(pd.RangeIndex(1))
            .drop(columns=[KEY], errors="ignore")
        )
        frame["customer_id"] = customer["customer_id"].to_numpy()
        for col in SCHEMA[name].timestamps:
            if col in frame.columns:
                frame[col] = pd.Series([pd.NaT], dtype="datetime64[ns]")
        frame[SCHEMA[name].time_column] = pd.Series([at], dtype="datetime64[ns]")
        if name == "payments":
            frame["amount"] = 0.0
            frame["status"] = "succeeded"
        if name == "activity" and "event" in frame.columns:
            frame["event"] = pd.Series([None], dtype=object)
        tables[name] = frame
    validated = EventData(customer, **tables, unknown_customers="error")
    return {n: getattr(validated, n).iloc[:0].copy() for n in metas}


def partition_by_customer(
    customers: Any,
    activity: Any = None,
    payments: Any = None,
    tickets: Any = None,
    *,
    npartitions: int | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    status_map: Mapping[str, str] | None = None,
    unknown_customers: str = "error",
) -> CustomerPartitions:
    """Shuffle the tables by customer id into aligned partitions (lazily).

    Each table gets a hash of its customer id; the tables are shuffled on it into the same
    ``npartitions``, so partition ``i`` of every table holds the same customers and each
    customer's events sit with its customers row.

    Parameters
    ----------
    customers : pandas.DataFrame, dask.dataframe.DataFrame or path
        One row per customer. It is validated (and, if lazy, computed) in one piece on the
        client: a customers table must fit in the client's memory.
    activity, payments, tickets : pandas or Dask DataFrame, path, or None
        Event tables; a path is read lazily (Parquet file or directory, CSV, JSON Lines).
    npartitions : int, optional
        Customer partitions. Default: as many as the event table with the most partitions
        (pandas tables count one per ``ROWS_PER_PARTITION`` rows).
    columns : mapping, optional
        Column renames per table, as in :class:`~churnpredict.EventData`.
    status_map : mapping, optional
        Payment status mapping, as in :class:`~churnpredict.EventData`.
    unknown_customers : {"error", "drop"}, default "error"
        Events whose customer is not in ``customers``: raise :class:`ChurnDataError` when a
        partition meets one, or drop them silently.

    Returns
    -------
    CustomerPartitions
    """
    require_dask()
    _check_options(unknown_customers, npartitions)
    columns = {k: dict(v) for k, v in dict(columns or {}).items()}
    cust = _validated_customers(customers, columns.get("customers", {}))
    numeric = numeric_ids(cust["customer_id"].dtype)

    raw = {"activity": activity, "payments": payments, "tickets": tickets}
    sources = {n: as_dask_table(f, n) for n, f in raw.items()}
    present = {n: f for n, f in sources.items() if f is not None}
    if npartitions is None:
        npartitions = max([f.npartitions for f in present.values()] or [1])
    npartitions = int(npartitions)

    shuffled: dict[str, Any] = {}
    metas: dict[str, pd.DataFrame] = {}
    for name, frame in present.items():
        id_col = _checked_event_columns(name, frame, columns.get(name, {}))
        keyed = frame.map_partitions(with_key, id_col, numeric)
        metas[name] = frame._meta
        shuffled[name] = keyed.shuffle(on=KEY, npartitions=npartitions)

    event_columns = {k: v for k, v in columns.items() if k != "customers"}
    empty = empty_tables(cust.iloc[:1], metas, event_columns)
    id_dtype = cust["customer_id"].dtype if numeric else TEXT
    spec = PartitionSpec(
        event_columns, dict(status_map) if status_map else None, unknown_customers, empty, id_dtype
    )
    return CustomerPartitions(
        customers=_shuffled_customers(cust, numeric, npartitions),
        activity=shuffled.get("activity"),
        payments=shuffled.get("payments"),
        tickets=shuffled.get("tickets"),
        customers_frame=cust,
        sources=present,
        spec=spec,
    )


def _check_options(unknown_customers: Any, npartitions: Any) -> None:
    """Refuse an ``unknown_customers`` policy or a partition count partitioning cannot use."""
    if not isinstance(unknown_customers, str) or unknown_customers not in ("error", "drop"):
        raise ChurnDataError(
            f"unknown_customers={unknown_customers!r}; expected 'error' or 'drop' "
            f"(a warning could not be raised once per table on a cluster)"
        )
    if npartitions is not None and (
        isinstance(npartitions, bool)
        or not isinstance(npartitions, (int, np.integer))
        or npartitions < 1
    ):
        raise ValueError(f"npartitions={npartitions!r}; expected a positive integer")


def _validated_customers(customers: Any, columns: Mapping[str, str]) -> pd.DataFrame:
    """The customers table read (a path), computed (Dask) and validated, in memory."""
    if customers is None:
        raise ChurnDataError("customers table is required (one row per customer_id)")
    if isinstance(customers, (str, os.PathLike)):
        customers = read_customers(customers)
    if is_dask_frame(customers):
        customers = customers.compute()
    if not isinstance(customers, pd.DataFrame):
        raise ChurnDataError(
            f"customers must be a pandas or Dask DataFrame or a path, got "
            f"{type(customers).__name__}"
        )
    validated = EventData(customers, columns={"customers": columns})
    if validated.is_snapshot:  # pragma: no cover - label_column is not passed here
        raise ChurnDataError("snapshot tables fit in memory; use ChurnPipeline directly")
    return validated.customers


def _checked_event_columns(name: str, frame: Any, columns: Mapping[str, str]) -> str:
    """The customer id column of a lazy event table, its required columns checked.

    Raises
    ------
    ChurnDataError
        Naming the table, the missing column and the rename that fixes it.
    """
    id_col = customer_source(columns)
    if id_col not in frame.columns:
        raise mapping_error(
            f"{name} has no customer id column {id_col!r}; its columns are "
            f"{list(frame.columns)[:20]}",
            *rename_fix(name, "customer_id"),
        )
    renamed = frame._meta.rename(columns=columns)
    missing = [c for c in SCHEMA[name].required if c not in renamed.columns]
    if missing:
        raise mapping_error(
            f"{name} is missing required column(s) {missing}; it has {list(frame.columns)[:20]}",
            *rename_fix(name, missing[0]),
        )
    return id_col


def _shuffled_customers(cust: pd.DataFrame, numeric: bool, npartitions: int) -> Any:
    """The customers as a Dask frame shuffled into the events' ``npartitions`` by id."""
    import dask.dataframe as dd

    n_cust = max(1, min(npartitions, len(cust)))
    cust_dd = dd.from_pandas(cust, npartitions=n_cust, sort=False)
    cust_dd = cust_dd.map_partitions(with_key, "customer_id", numeric)
    return cust_dd.shuffle(on=KEY, npartitions=npartitions)


def as_partitions(
    data: Any, activity: Any = None, payments: Any = None, tickets: Any = None, **kwargs: Any
) -> CustomerPartitions:
    """CustomerPartitions as given, or partitioned from EventData, a mapping or tables."""
    if isinstance(data, CustomerPartitions):
        if any(t is not None for t in (activity, payments, tickets)) or any(
            v is not None for v in kwargs.values()
        ):
            raise ValueError(
                "pass either CustomerPartitions or tables (with their options), not both"
            )
        return data
    if isinstance(data, EventData):
        return partition_by_customer(
            data.customers,
            data.activity,
            data.payments,
            data.tickets,
            **{k: v for k, v in kwargs.items() if k == "npartitions"},
        )
    if isinstance(data, Mapping):
        tables = dict(data)
        return partition_by_customer(
            tables.pop("customers", None),
            **tables,
            **{k: v for k, v in kwargs.items() if v is not None},
        )
    return partition_by_customer(
        data, activity, payments, tickets, **{k: v for k, v in kwargs.items() if v is not None}
    )


def open_data(
    data: Any, settings: Mapping[str, Any], npartitions: int | None
) -> CustomerPartitions:
    """The command line's data (a directory, a mapping of tables or partitions), partitioned."""
    raw = [k for k in RAW_EXPORT_KEYS if k in settings]
    if raw:
        raise ChurnDataError(
            f"the config sets {raw}, which only in-memory loading reads; on Dask give "
            f"canonical tables (customers.*, activity.*...), or train without --scheduler"
        )
    if isinstance(data, CustomerPartitions):
        return data
    if isinstance(data, (str, os.PathLike)):
        tables = read_tables(data, columns=settings.get("columns"))
    elif isinstance(data, Mapping):
        tables = dict(data)
    else:
        raise ChurnDataError(
            f"data must be a directory, a mapping of tables or "
            f"CustomerPartitions, got {type(data).__name__}"
        )
    return partition_by_customer(
        tables.pop("customers", None),
        **tables,
        npartitions=npartitions,
        columns=settings.get("columns"),
        status_map=settings.get("status_map"),
        unknown_customers=settings.get("unknown_customers", "error"),
    )


def settings_of(config: Any) -> dict[str, Any]:
    """Settings from a config file or mapping (empty for None)."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    return load_config(config)


# --------------------------------------------------------------------------- per partition
def partition_data(
    spec: PartitionSpec, customers: pd.DataFrame, activity: Any, payments: Any, tickets: Any
) -> EventData | None:
    """The EventData of one partition (None when it holds no customer)."""
    given = {"activity": activity, "payments": payments, "tickets": tickets}
    if len(customers) == 0:
        _refuse_stray_events(spec, given)
        return None
    if spec.unknown_customers == "drop":  # events of other customers cannot be here
        known = customers[KEY]
        given = {n: (f if f is None else f[f[KEY].isin(known)]) for n, f in given.items()}
    customers = customers.drop(columns=[KEY])
    tables = {n: f.drop(columns=[KEY]) for n, f in given.items() if f is not None}
    full = {n: f for n, f in tables.items() if len(f)}
    data = EventData(
        customers,
        **full,
        columns=spec.columns,
        status_map=spec.status_map,
        unknown_customers=spec.unknown_customers,
    )
    for name in tables:
        if name not in full:
            # the family still applies: these customers have no events of this kind
            setattr(data, name, spec.empty[name].copy())
            data.notes = [n for n in data.notes if not n.startswith(f"no {name} table")]
    return data


def _refuse_stray_events(spec: PartitionSpec, given: Mapping[str, Any]) -> None:
    """A partition without customers holding events: an error unless unknown ones are dropped."""
    stray = {n: f for n, f in given.items() if f is not None and len(f)}
    if not stray or spec.unknown_customers != "error":
        return
    name, frame = next(iter(stray.items()))
    ids = frame[customer_source(spec.columns.get(name, {}))]
    problem = (
        f"{name}.customer_id: {len(frame)} of {len(frame)} events in a partition belong"
        f" to customers not in customers {format_examples(ids, 3)}; they cannot be used"
    )
    raise mapping_error(
        problem,
        "add those customers, or pass unknown_customers='drop'",
        'add those customers, or set unknown_customers = "drop" in the config',
    )


def on_partitions(parts: CustomerPartitions, func: Callable[..., Any], shared: Any) -> list[Any]:
    """``func(spec, shared, *pieces)`` on every partition, as a list of Delayed."""
    import dask

    token = uuid.uuid4().hex
    spec = dask.delayed(parts.spec, name=f"churnpredict-spec-{token}")
    shared_d = dask.delayed(shared, name=f"churnpredict-shared-{token}")
    task = dask.delayed(func, pure=True)
    return [task(spec, shared_d, *pieces) for pieces in parts.delayed_parts()]


# --------------------------------------------------------------------------- data errors
#: Event rows of the failing partitions brought to the client to state a data error with
#: whole-data counts; beyond it the first partition's message is given, saying so.
WHOLE_DATA_ROWS = 5 * ROWS_PER_PARTITION


def _check_partition(
    spec: PartitionSpec, _shared: Any, customers, activity, payments, tickets
) -> tuple[str, int] | None:
    """A partition's data error as a value (message, event rows), None when it has none."""
    try:
        partition_data(spec, customers, activity, payments, tickets)
    except ChurnDataError as exc:
        return str(exc), sum(len(f) for f in (activity, payments, tickets) if f is not None)
    return None


def _event_pieces(
    spec: PartitionSpec, _shared: Any, customers, activity, payments, tickets
) -> dict[str, pd.DataFrame]:
    given = dict(zip(EVENT_TABLES, (activity, payments, tickets), strict=True))
    return {n: f.drop(columns=[KEY]) for n, f in given.items() if f is not None and len(f)}


def whole_data_error(parts: CustomerPartitions, error: ChurnDataError) -> ChurnDataError:
    """A data error met on one partition, as :class:`EventData` states it for the whole data.

    Every partition is validated again, its error returned rather than raised (no worker
    reports a failed task); the event rows of the failing partitions are then validated
    together with the whole customers table on the client, which gives pandas' message with
    whole-data counts (rows outside the failing partitions break no rule). When those rows
    exceed :data:`WHOLE_DATA_ROWS`, the first partition's message is kept and says so.
    ``error`` itself is returned when no partition fails (it was not about the tables).
    """
    import dask

    found = dask.compute(*on_partitions(parts, _check_partition, None))
    failing = [i for i, hit in enumerate(found) if hit is not None]
    if not failing:
        return error
    rows = sum(found[i][1] for i in failing)
    if rows > WHOLE_DATA_ROWS:
        return ChurnDataError(
            f"{found[failing[0]][0]} (counted in one of the {len(failing)} partitions "
            f"holding such rows)"
        )
    tasks = on_partitions(parts, _event_pieces, None)
    pieces = dask.compute(*[tasks[i] for i in failing])
    tables = {
        name: pd.concat([p[name] for p in pieces if name in p], ignore_index=True)
        for name in EVENT_TABLES
        if any(name in p for p in pieces)
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            EventData(
                parts.customers_frame,
                **tables,
                columns=parts.spec.columns,
                status_map=parts.spec.status_map,
                unknown_customers=parts.spec.unknown_customers,
            )
    except ChurnDataError as exc:
        return exc
    return ChurnDataError(found[failing[0]][0])


@contextlib.contextmanager
def whole_data_errors(parts: CustomerPartitions) -> Iterator[None]:
    """Raise a data error met on a partition as the whole data's (:func:`whole_data_error`)."""
    try:
        yield
    except ChurnDataError as exc:
        raise whole_data_error(parts, exc) from None


# --------------------------------------------------------------------------- time range
def _max_time(values: pd.Series, table: str, column: str) -> pd.DataFrame:
    stamps = normalise_timestamps(table, column, values)
    return pd.DataFrame({"t": pd.Series([stamps.max()], dtype="datetime64[ns]")})


def latest_time(data: Any) -> pd.Timestamp:
    """Latest time in the data (signups, churns and events): the default ``as_of``.

    Equals ``EventData.time_range[1]`` of the same tables; reads only the timestamp columns.

    Parameters
    ----------
    data : CustomerPartitions or tables (see :func:`partition_by_customer`)

    Returns
    -------
    pandas.Timestamp
    """
    import dask

    parts = as_partitions(data)
    stamps = [
        parts.customers_frame[c].max()
        for c in SCHEMA["customers"].timestamps
        if c in parts.customers_frame
    ]
    lazy = []
    for name, frame in parts.sources.items():
        rename = parts.spec.columns.get(name, {})
        inverse = {canonical: src for src, canonical in rename.items()}
        for col in SCHEMA[name].timestamps:
            src = inverse.get(col, col)
            if src in frame.columns:
                meta = pd.DataFrame({"t": pd.Series([], dtype="datetime64[ns]")})
                lazy.append(frame[src].map_partitions(_max_time, name, col, meta=meta)["t"].max())
    stamps += list(dask.compute(*lazy))
    stamps = [s for s in stamps if not pd.isna(s)]
    return pd.Timestamp(max(stamps))


def as_of_time(parts: CustomerPartitions, as_of: Any) -> pd.Timestamp:
    """``as_of`` as naive UTC, or the latest time in the data (:func:`labels.known_at`)."""
    return known_at(as_of, lambda: latest_time(parts))
