"""Scale out on Dask: the same features, training and scoring on a cluster.

The event tables are shuffled once by customer so that partition ``i`` of every table holds the
same customers (:func:`partition_by_customer`). Each partition is then an ordinary pandas
:class:`~churnpredict.EventData`, and the same builders, labels and pipeline code run on it;
features depend only on a customer's own rows, so the partitioned results equal the
single-machine ones. Training uses ``xgboost.dask`` with the parameters, folds, purge gap and
calibration of :class:`~churnpredict.model.ChurnModel`; the fitted pipeline is an ordinary
:class:`~churnpredict.pipeline.ChurnPipeline` that saves to the usual bundle.

Builders that learn from data are fitted once, globally, on the client: on the full customers
table (profile categories) and on what the event tables contribute, aggregated over the
partitions (event-type counts before the latest cutoff, for the engagement family). See
``docs/dask.md``.

Dask is an optional dependency (``pip install churnpredict[dask]``); it is imported only when
these functions run.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .bundle import check_destination
from .data import EVENT_TABLES, SCHEMA, EventData, _examples, _normalise_timestamps
from .exceptions import ChurnDataError, ChurnModelError
from .features import FeatureBuilder, build_features, default_builders
from .features.engagement import EngagementFeatures
from .io import atomic_directory
from .labels import (
    complete_cutoffs,
    cutoff_index,
    label_churn,
    label_kind,
    population,
    training_cutoffs,
)
from .windows import parse_window, to_naive_utc

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd
    from distributed import Client

    from .model import ChurnModel
    from .pipeline import ChurnPipeline

__all__ = [
    "CustomerPartitions",
    "partition_by_customer",
    "read_tables",
    "latest_time",
    "label_churn_dask",
    "build_features_dask",
    "fit_dask",
    "predict_dask",
    "shap_values_dask",
    "score_customers_dask",
    "write_at_risk_dask",
    "score_dask",
    "train_dask",
    "dask_client",
]

logger = logging.getLogger("churnpredict")

#: Event rows per partition when pandas tables are split (Dask inputs keep their partitions).
ROWS_PER_PARTITION = 2_000_000
#: dtype of text columns in the Dask outputs (what Dask itself gives text columns).
TEXT = pd.StringDtype("pyarrow")
_KEY = "_churnpredict_key"
Progress = Callable[[str, int, int], None]


def _require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "churnpredict.dask needs Dask: pip install 'churnpredict[dask]'"
        ) from None


def _is_dask_frame(obj: Any) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, dd.DataFrame)


# --------------------------------------------------------------------------- reading tables
_EVENT_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".jsonl", ".jsonl.gz")


def _find_source(directory: Path, name: str) -> Path | None:
    """``name.<suffix>`` (file or Parquet dataset directory) or a directory ``name/``."""
    found = [directory / f"{name}{s}" for s in _EVENT_SUFFIXES if (directory / f"{name}{s}"
                                                                    ).exists()]
    if (directory / name).is_dir():
        found.append(directory / name)
    if len(found) > 1:
        raise ChurnDataError(
            f"{name}: found {len(found)} sources ({', '.join(p.name for p in found)}) in "
            f"{directory}; keep exactly one file or Parquet directory per table"
        )
    return found[0] if found else None


def _read_lazy(path: str | os.PathLike, id_column: str = "customer_id") -> dd.DataFrame:
    """Open an event table lazily: Parquet file or dataset directory, CSV, TSV or JSON Lines.

    The id column of a CSV/TSV file is read as text, as :func:`churnpredict.io.read_table` does.
    """
    import dask.dataframe as dd

    path = Path(path)
    name = path.name.lower()
    if not path.exists():
        raise ChurnDataError(f"{path}: no such file or directory; check the path")
    if path.is_dir() or name.endswith((".parquet", ".pq")):
        return dd.read_parquet(str(path))
    ids = {id_column: str}
    if name.endswith(".csv.gz"):
        return dd.read_csv(str(path), blocksize=None, compression="gzip", dtype=ids)
    if name.endswith(".csv"):
        return dd.read_csv(str(path), dtype=ids)
    if name.endswith(".tsv"):
        return dd.read_csv(str(path), sep="\t", dtype=ids)
    if name.endswith((".jsonl", ".jsonl.gz")):
        return dd.read_json(str(path), lines=True, blocksize=None if name.endswith(".gz")
                            else 2**26)
    raise ChurnDataError(f"{path}: unsupported file type; use Parquet, CSV or JSON Lines")


def _read_customers(path: str | os.PathLike, id_column: str = "customer_id") -> pd.DataFrame:
    from .io import read_table

    path = Path(path)
    if path.is_dir():
        return pd.read_parquet(path)
    return read_table(path, id_columns=[id_column])


def read_tables(path: str | os.PathLike, *,
                columns: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """Open a data directory: customers in pandas, event tables lazily with Dask.

    The directory holds ``customers.csv`` (or ``.parquet``, or a Parquet directory
    ``customers/``) and any of ``activity``, ``payments``, ``tickets`` as a CSV / Parquet /
    JSON Lines file or a directory of Parquet files (``activity.parquet/`` or ``activity/``).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        ``customers`` (pandas.DataFrame) and one ``dask.dataframe.DataFrame`` (or None) per
        event table, ready for :func:`partition_by_customer`.
    """
    _require_dask()
    path = Path(path)
    if not path.is_dir():
        raise ChurnDataError(
            f"{path}: not a directory; DATA must be a folder holding customers.csv (or "
            f".parquet) and at least one of activity/payments/tickets"
        )
    source = _find_source(path, "customers")
    if source is None:
        raise ChurnDataError(
            f"customers table not found in {path}; add customers.csv or customers.parquet "
            f"(one row per customer_id with signup_at)"
        )
    columns = columns or {}
    id_of = {name: next((src for src, dst in (columns.get(name) or {}).items()
                         if dst == "customer_id"), "customer_id")
             for name in ("customers",) + EVENT_TABLES}
    out: dict[str, Any] = {"customers": _read_customers(source, id_of["customers"])}
    for name in EVENT_TABLES:
        found = _find_source(path, name)
        out[name] = None if found is None else _read_lazy(found, id_of[name])
    # numeric Parquet ids next to text ids read from CSV: use their exact text
    if not _numeric_ids(out["customers"][id_of["customers"]].dtype):
        for name in EVENT_TABLES:
            frame = out[name]
            if frame is not None and id_of[name] in frame.columns and pd.api.types.\
                    is_integer_dtype(frame[id_of[name]].dtype):
                out[name] = frame.assign(**{id_of[name]: frame[id_of[name]].astype(str)})
    return out


# --------------------------------------------------------------------------- partitioning
def _numeric_ids(dtype: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def _partition_key(ids: pd.Series, numeric: bool) -> np.ndarray:
    """Hash of each customer id, equal for equal ids in every table (int64).

    Ids are compared as numbers when ``customers.customer_id`` is numeric (events holding
    ``"17"`` or ``17.0`` meet customer 17, as :class:`EventData` casts them) and as text
    otherwise.
    """
    if numeric:
        values = pd.to_numeric(ids, errors="coerce").to_numpy(dtype=np.float64,
                                                              na_value=np.nan)
        values = values + 0.0  # -0.0 -> 0.0
        hashed = pd.util.hash_array(values)
    else:
        text = ids.astype("string").to_numpy(dtype=object, na_value=None)
        hashed = pd.util.hash_array(text)
    return hashed.view(np.int64)


def _with_key(frame: pd.DataFrame, id_column: str, numeric: bool) -> pd.DataFrame:
    if id_column not in frame.columns:
        raise ChurnDataError(
            f"a table has no {id_column!r} column to partition by (columns "
            f"{list(frame.columns)[:20]}); map your id column with columns="
        )
    return frame.assign(**{_KEY: _partition_key(frame[id_column], numeric)})


@dataclass(frozen=True)
class _Spec:
    """What every partition task needs to turn its pieces into an EventData."""

    columns: dict[str, dict[str, str]]
    status_map: dict[str, str] | None
    unknown_customers: str
    empty: dict[str, pd.DataFrame]  # validated zero-row tables, for partitions without events
    id_dtype: Any


@dataclass
class CustomerPartitions:
    """Customer tables split by customer: partition ``i`` of every table holds the same customers.

    Build it with :func:`partition_by_customer`. Every function of this module accepts it in
    place of the tables, so the (lazy) shuffle is described once and can be persisted.

    Attributes
    ----------
    customers : dask.dataframe.DataFrame
        Validated customers (canonical column names), partitioned by customer.
    activity, payments, tickets : dask.dataframe.DataFrame or None
        The event tables as given (your column names), partitioned by customer.
    customers_frame : pandas.DataFrame
        The validated customers table in one piece (fitting and metadata use it).
    sources : dict
        The event tables before the shuffle (used for cheap reductions such as the latest time).
    """

    customers: Any
    activity: Any
    payments: Any
    tickets: Any
    customers_frame: pd.DataFrame
    sources: dict[str, Any]
    spec: _Spec = field(repr=False)

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
        pieces = {n: (getattr(self, n).to_delayed() if getattr(self, n) is not None else None)
                  for n in ("customers", *EVENT_TABLES)}
        n = self.npartitions
        return [tuple(pieces[t][i] if pieces[t] is not None else None
                      for t in ("customers", *EVENT_TABLES)) for i in range(n)]

    def __repr__(self) -> str:
        present = ", ".join(["customers", *self.tables])
        return (f"CustomerPartitions({present}; {self.npartitions} partitions, "
                f"{len(self.customers_frame)} customers)")


def _as_dask_table(frame: Any, name: str) -> Any:
    import dask.dataframe as dd

    if frame is None:
        return None
    if isinstance(frame, (str, os.PathLike)):
        return _read_lazy(frame)
    if _is_dask_frame(frame):
        return frame
    if isinstance(frame, pd.DataFrame):
        if len(frame) == 0:
            raise ChurnDataError(
                f"{name} is empty (0 rows); pass None instead of an empty table to skip it")
        parts = max(1, math.ceil(len(frame) / ROWS_PER_PARTITION))
        return dd.from_pandas(frame, npartitions=min(parts, len(frame)), sort=False)
    raise ChurnDataError(
        f"{name} must be a pandas or Dask DataFrame or a path to Parquet/CSV, got "
        f"{type(frame).__name__}"
    )


def _customer_source(mapping: Mapping[str, str]) -> str:
    """Your name of the customer id column, given a ``{your_name: canonical}`` mapping."""
    for src, canonical in mapping.items():
        if canonical == "customer_id":
            return src
    return "customer_id"


def _standin(customers: pd.DataFrame, metas: Mapping[str, pd.DataFrame],
             columns: Mapping[str, Mapping[str, str]], at: pd.Timestamp,
             event_rows: Sequence[str] | None = None) -> EventData:
    """A tiny EventData: every customer, and one placeholder event per table at ``at``.

    Its event tables have the columns (and canonical names) of the real ones, so builders
    fitted on it choose the same columns; ``event_rows`` fills the activity ``event`` column
    (one row per item) so that the engagement family learns the same event types.
    """
    first = customers["customer_id"].iloc[0]
    tables: dict[str, pd.DataFrame] = {}
    for name, meta in metas.items():
        canonical = meta.rename(columns=dict(columns.get(name, {})))
        k = max(1, len(event_rows)) if (name == "activity" and event_rows is not None) else 1
        frame = canonical.iloc[:0].reindex(pd.RangeIndex(k)).drop(columns=[_KEY],
                                                                  errors="ignore")
        frame["customer_id"] = pd.Series([first] * k, dtype=customers["customer_id"].dtype)
        for col in SCHEMA[name].timestamps:
            if col in frame.columns:
                frame[col] = pd.Series([pd.NaT] * k, dtype="datetime64[ns]")
        frame[SCHEMA[name].time_column] = pd.Series([at] * k, dtype="datetime64[ns]")
        if name == "payments":
            frame["amount"] = 0.0
            frame["status"] = "succeeded"
        if name == "activity" and "event" in frame.columns:
            values = list(event_rows) if event_rows else [None]
            frame["event"] = pd.Series(values, dtype=object)
        tables[name] = frame
    return EventData(customers, **tables, unknown_customers="error")


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
    _require_dask()
    import dask.dataframe as dd

    if unknown_customers not in ("error", "drop"):
        raise ValueError(f"unknown_customers={unknown_customers!r}; expected 'error' or 'drop' "
                         f"(a warning could not be raised once per table on a cluster)")
    if npartitions is not None and (isinstance(npartitions, bool) or not isinstance(
            npartitions, (int, np.integer)) or npartitions < 1):
        raise ValueError(f"npartitions={npartitions!r}; expected a positive integer")
    columns = {k: dict(v) for k, v in dict(columns or {}).items()}
    if customers is None:
        raise ChurnDataError("customers table is required (one row per customer_id)")
    if isinstance(customers, (str, os.PathLike)):
        customers = _read_customers(customers)
    if _is_dask_frame(customers):
        customers = customers.compute()
    if not isinstance(customers, pd.DataFrame):
        raise ChurnDataError(f"customers must be a pandas or Dask DataFrame or a path, got "
                             f"{type(customers).__name__}")
    validated = EventData(customers, columns={"customers": columns.get("customers", {})})
    if validated.is_snapshot:  # pragma: no cover - label_column is not passed here
        raise ChurnDataError("snapshot tables fit in memory; use ChurnPipeline directly")
    cust = validated.customers
    numeric = _numeric_ids(cust["customer_id"].dtype)

    raw = {"activity": activity, "payments": payments, "tickets": tickets}
    sources = {n: _as_dask_table(f, n) for n, f in raw.items()}
    present = {n: f for n, f in sources.items() if f is not None}
    if npartitions is None:
        npartitions = max([f.npartitions for f in present.values()] or [1])
    npartitions = int(npartitions)

    shuffled: dict[str, Any] = {}
    metas: dict[str, pd.DataFrame] = {}
    for name, frame in present.items():
        id_col = _customer_source(columns.get(name, {}))
        if id_col not in frame.columns:
            raise ChurnDataError(
                f"{name} has no customer id column {id_col!r}; its columns are "
                f"{list(frame.columns)[:20]}. Map yours with columns={{'{name}': "
                f"{{'your_name': 'customer_id'}}}}"
            )
        renamed = frame._meta.rename(columns=columns.get(name, {}))
        missing = [c for c in SCHEMA[name].required if c not in renamed.columns]
        if missing:
            raise ChurnDataError(
                f"{name} is missing required column(s) {missing}; it has "
                f"{list(frame.columns)[:20]}. Rename yours with columns={{'{name}': "
                f"{{'your_name': '{missing[0]}'}}}}"
            )
        keyed = frame.map_partitions(_with_key, id_col, numeric)
        metas[name] = frame._meta
        shuffled[name] = keyed.shuffle(on=_KEY, npartitions=npartitions)
    n_cust = max(1, min(npartitions, len(cust)))
    cust_dd = dd.from_pandas(cust, npartitions=n_cust, sort=False)
    cust_dd = cust_dd.map_partitions(_with_key, "customer_id", numeric)
    cust_dd = cust_dd.shuffle(on=_KEY, npartitions=npartitions)

    event_columns = {k: v for k, v in columns.items() if k != "customers"}
    at = cust["signup_at"].min()
    empty: dict[str, pd.DataFrame] = {}
    if metas:
        probe = _standin(cust.iloc[:1], metas, event_columns, at)
        empty = {n: getattr(probe, n).iloc[:0].copy() for n in metas}
    id_dtype = cust["customer_id"].dtype if numeric else TEXT
    spec = _Spec(event_columns, dict(status_map) if status_map else None, unknown_customers,
                 empty, id_dtype)
    return CustomerPartitions(
        customers=cust_dd, activity=shuffled.get("activity"), payments=shuffled.get("payments"),
        tickets=shuffled.get("tickets"), customers_frame=cust, sources=present, spec=spec,
    )


def _as_partitions(data: Any, activity: Any = None, payments: Any = None, tickets: Any = None,
                   **kwargs: Any) -> CustomerPartitions:
    if isinstance(data, CustomerPartitions):
        if any(t is not None for t in (activity, payments, tickets)) or any(
                v is not None for v in kwargs.values()):
            raise ValueError("pass either CustomerPartitions or tables (with their options), "
                             "not both")
        return data
    if isinstance(data, EventData):
        return partition_by_customer(data.customers, data.activity, data.payments,
                                     data.tickets, **{k: v for k, v in kwargs.items()
                                                      if k == "npartitions"})
    if isinstance(data, Mapping):
        tables = dict(data)
        return partition_by_customer(tables.pop("customers", None), **tables,
                                     **{k: v for k, v in kwargs.items() if v is not None})
    return partition_by_customer(data, activity, payments, tickets,
                                 **{k: v for k, v in kwargs.items() if v is not None})


# --------------------------------------------------------------------------- per partition
def _partition_data(spec: _Spec, customers: pd.DataFrame, activity: Any, payments: Any,
                    tickets: Any) -> EventData | None:
    """The EventData of one partition (None when it holds no customer)."""
    given = {"activity": activity, "payments": payments, "tickets": tickets}
    if len(customers) == 0:
        stray = {n: f for n, f in given.items() if f is not None and len(f)}
        if stray and spec.unknown_customers == "error":
            name, frame = next(iter(stray.items()))
            ids = frame[_customer_source(spec.columns.get(name, {}))]
            raise ChurnDataError(
                f"{name}.customer_id: {len(frame)} of {len(frame)} events in a partition belong"
                f" to customers not in customers {_examples(ids, 3)}; they cannot be used (add"
                f" those customers, or pass unknown_customers='drop')"
            )
        return None
    if spec.unknown_customers == "drop":  # events of other customers cannot be here
        known = customers[_KEY]
        given = {n: (f if f is None else f[f[_KEY].isin(known)]) for n, f in given.items()}
    customers = customers.drop(columns=[_KEY])
    tables = {n: f.drop(columns=[_KEY]) for n, f in given.items() if f is not None}
    full = {n: f for n, f in tables.items() if len(f)}
    data = EventData(customers, **full, columns=spec.columns, status_map=spec.status_map,
                     unknown_customers=spec.unknown_customers)
    for name in tables:
        if name not in full:
            # the family still applies: these customers have no events of this kind
            setattr(data, name, spec.empty[name].copy())
            data.notes = [n for n in data.notes if not n.startswith(f"no {name} table")]
    return data


def _on_partitions(parts: CustomerPartitions, func: Callable[..., Any], shared: Any
                   ) -> list[Any]:
    """``func(spec, shared, *pieces)`` on every partition, as a list of Delayed."""
    import dask

    token = uuid.uuid4().hex
    spec = dask.delayed(parts.spec, name=f"churnpredict-spec-{token}")
    shared_d = dask.delayed(shared, name=f"churnpredict-shared-{token}")
    task = dask.delayed(func, pure=True)
    return [task(spec, shared_d, *pieces) for pieces in parts.delayed_parts()]


def _from_delayed(parts: list[Any], meta: pd.DataFrame) -> Any:
    import dask.dataframe as dd

    return dd.from_delayed(parts, meta=meta, verify_meta=True)


def _conform(frame: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Give ``frame`` exactly ``meta``'s columns and dtypes (partitions must agree)."""
    frame = frame[list(meta.columns)]
    for col in meta.columns:
        if frame[col].dtype != meta[col].dtype:
            frame = frame.assign(**{col: frame[col].astype(meta[col].dtype)})
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- time range
def _max_time(values: pd.Series, table: str, column: str) -> pd.DataFrame:
    stamps = _normalise_timestamps(table, column, values)
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

    parts = _as_partitions(data)
    stamps = [parts.customers_frame[c].max() for c in SCHEMA["customers"].timestamps
              if c in parts.customers_frame]
    lazy = []
    for name, frame in parts.sources.items():
        rename = parts.spec.columns.get(name, {})
        inverse = {canonical: src for src, canonical in rename.items()}
        for col in SCHEMA[name].timestamps:
            src = inverse.get(col, col)
            if src in frame.columns:
                meta = pd.DataFrame({"t": pd.Series([], dtype="datetime64[ns]")})
                lazy.append(frame[src].map_partitions(_max_time, name, col, meta=meta)["t"]
                            .max())
    stamps += list(dask.compute(*lazy))
    stamps = [s for s in stamps if not pd.isna(s)]
    return pd.Timestamp(max(stamps))


# --------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class _RowsSpec:
    """Which (customer, cutoff) rows a pass works on: labels or the population."""

    cutoffs: pd.DatetimeIndex
    kind: str
    lookback: Any
    horizon: pd.Timedelta | None = None  # labels when set
    as_of: pd.Timestamp | None = None
    lapsed: bool = False


def _rows(data: EventData, rows: _RowsSpec) -> pd.DataFrame:
    if rows.horizon is not None:
        return label_churn(data, rows.cutoffs, rows.horizon, kind=rows.kind, as_of=rows.as_of,
                           lookback=rows.lookback, lapsed=rows.lapsed)
    return population(data, rows.cutoffs, kind=rows.kind, lookback=rows.lookback,
                      lapsed=rows.lapsed)


def _labels_partition(spec: _Spec, shared: tuple[_RowsSpec, pd.DataFrame], customers, activity,
                      payments, tickets) -> pd.DataFrame:
    rows, meta = shared
    data = _partition_data(spec, customers, activity, payments, tickets)
    if data is None:
        return meta
    return _conform(_rows(data, rows).reset_index(), meta)


def _label_meta(parts: CustomerPartitions, rows: _RowsSpec) -> pd.DataFrame:
    """Columns of :func:`churnpredict.label_churn` output (see its docstring), empty."""
    cols: dict[str, Any] = {
        "customer_id": pd.Series([], dtype=parts.spec.id_dtype),
        "cutoff": pd.Series([], dtype="datetime64[ns]"),
        "churned": pd.Series([], dtype=np.int8),
    }
    if rows.kind == "cancellation":
        if "churn_type" in parts.customers_frame.columns:
            cols["churn_type"] = pd.Series([], dtype=TEXT)
        cols["churned_at"] = pd.Series([], dtype="datetime64[ns]")
    return pd.DataFrame(cols)


def label_churn_dask(
    data: Any,
    cutoffs: Any,
    horizon: Any = "28D",
    *,
    kind: str = "auto",
    as_of: Any = None,
    lookback: Any = "90D",
) -> Any:
    """Point-in-time churn labels, computed per customer partition.

    Same rules and result as :func:`churnpredict.label_churn`; ``as_of`` defaults to the
    latest time over all partitions (:func:`latest_time`).

    Parameters
    ----------
    data : CustomerPartitions or tables
    cutoffs, horizon, kind, as_of, lookback
        See :func:`churnpredict.label_churn`.

    Returns
    -------
    dask.dataframe.DataFrame
        Columns ``customer_id``, ``cutoff``, ``churned`` (and for cancellation labels
        ``churn_type``, ``churned_at``); ``.compute().set_index(["customer_id", "cutoff"])``
        equals the pandas labels up to row order.
    """
    _require_dask()
    parts = _as_partitions(data)
    whole = EventData(parts.customers_frame)
    kind = label_kind(whole, kind)
    horizon = parse_window(horizon)
    as_of = latest_time(parts) if as_of is None else _stamp(as_of)
    complete = complete_cutoffs(cutoffs, horizon, as_of)
    rows = _RowsSpec(complete, kind, lookback, horizon, as_of)
    meta = _label_meta(parts, rows)
    return _from_delayed(_on_partitions(parts, _labels_partition, (rows, meta)), meta)


def _stamp(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    stamp = to_naive_utc(stamp)
    return stamp


# --------------------------------------------------------------------------- fitting builders
def _summary_partition(spec: _Spec, shared: tuple[_RowsSpec, bool], customers, activity,
                       payments, tickets) -> dict[str, Any]:
    """What fitting needs from one partition: its row customers, row counts, event types."""
    rows_spec, want_types = shared
    data = _partition_data(spec, customers, activity, payments, tickets)
    out: dict[str, Any] = {"ids": None, "counts": None, "churn_types": None, "types": None}
    if data is None:
        return out
    rows = _rows(data, rows_spec)
    cut = rows.index.get_level_values("cutoff")
    out["ids"] = pd.unique(rows.index.get_level_values("customer_id").to_numpy())
    churned = (rows["churned"].to_numpy() if "churned" in rows
               else np.zeros(len(rows), dtype=np.int8))
    out["counts"] = pd.DataFrame({"cutoff": cut, "churned": churned}).value_counts()
    if "churn_type" in rows:
        types = rows.loc[rows["churned"] == 1, "churn_type"]
        out["churn_types"] = types.value_counts()
    activity_table = data.activity
    if want_types and activity_table is not None and "event" in activity_table.columns \
            and len(activity_table):
        codes, uniques = pd.factorize(activity_table["event"], use_na_sentinel=True)
        times = activity_table["timestamp"].to_numpy(dtype="datetime64[ns]")
        counts = {}
        for c in rows_spec.cutoffs.to_numpy():  # a dozen cutoffs
            keep = (codes >= 0) & (times < c)
            counts[pd.Timestamp(c)] = np.bincount(codes[keep], minlength=len(uniques))
        out["types"] = pd.DataFrame(counts, index=pd.Index([str(u) for u in uniques]))
    return out


@dataclass
class _Summary:
    ids: np.ndarray
    counts: pd.Series  # (cutoff, churned) -> rows
    churn_types: dict[str, int]
    types: pd.DataFrame | None  # event type x cutoff -> events before the cutoff

    @property
    def n_rows(self) -> int:
        return int(self.counts.sum())

    @property
    def latest(self) -> pd.Timestamp:
        return pd.Timestamp(self.counts.index.get_level_values("cutoff").max())


def _summarise(parts: CustomerPartitions, rows: _RowsSpec, want_types: bool) -> _Summary:
    import dask

    results = dask.compute(*_on_partitions(parts, _summary_partition, (rows, want_types)))
    ids = [r["ids"] for r in results if r["ids"] is not None and len(r["ids"])]
    counts = [r["counts"] for r in results if r["counts"] is not None and len(r["counts"])]
    types = [r["types"] for r in results if r["types"] is not None]
    ctypes = [r["churn_types"] for r in results if r["churn_types"] is not None]
    merged_counts = (pd.concat(counts).groupby(level=["cutoff", "churned"]).sum()
                     if counts else pd.Series(dtype=np.int64))
    merged_types = None
    if types:
        merged_types = pd.concat(types).groupby(level=0).sum()
    churn_types: dict[str, int] = {}
    if ctypes:
        total = pd.concat(ctypes).groupby(level=0).sum()
        churn_types = {str(k): int(v) for k, v in total.items() if v}
    return _Summary(np.concatenate(ids) if ids else np.empty(0), merged_counts, churn_types,
                    merged_types)


def _ranked_event_rows(types: pd.DataFrame | None, latest: pd.Timestamp, keep: int
                       ) -> list[str]:
    """Placeholder event rows whose counts rank the types as the real counts do.

    Type ``t`` appears ``dense_rank(count_t)`` times (the rarest kept count once), which
    keeps the order and the ties of the real counts; only the ``keep`` most frequent types
    (and any tied with the last of them) matter.
    """
    if types is None or latest not in types.columns:
        return []
    counts = types[latest]
    counts = counts[counts > 0]
    if len(counts) == 0:
        return []
    if len(counts) > keep > 0:
        floor = counts.sort_values(ascending=False).iloc[keep - 1]
        counts = counts[counts >= floor]
    elif keep == 0:
        return []
    ranks = counts.rank(method="dense").astype(np.int64)
    return [name for name, r in ranks.items() for _ in range(int(r))]


def _fit_builders(parts: CustomerPartitions, builders: Sequence[FeatureBuilder],
                  summary: _Summary) -> tuple[list[FeatureBuilder], EventData, pd.MultiIndex]:
    """Fit ``builders`` once on the whole customers table and the event summaries."""
    metas = {n: f._meta for n, f in parts.sources.items()}
    cust = parts.customers_frame
    keep = max([int(b.max_event_types) for b in builders
                if isinstance(b, EngagementFeatures)] or [0])
    events = _ranked_event_rows(summary.types, summary.latest, keep)
    at = cust["signup_at"].min()
    fit_data = _standin(cust, metas, parts.spec.columns, at, event_rows=events)
    active = [b for b in builders if b.applies_to(fit_data)]
    for b in builders:
        if b not in active:
            logger.info("%s skipped: needs tables %s", type(b).__name__, b.tables)
    # The rows builders learn from: their customers and their latest cutoff.
    index = pd.MultiIndex.from_arrays(
        [pd.Index(summary.ids).astype(cust["customer_id"].dtype),
         pd.DatetimeIndex([summary.latest] * len(summary.ids)).astype("datetime64[ns]")],
        names=["customer_id", "cutoff"])
    for b in active:
        b.fit(fit_data, index)
    return active, fit_data, index


def _features_meta(builders: Sequence[FeatureBuilder], data: EventData, rows: pd.MultiIndex,
                   id_dtype: Any, labels: pd.DataFrame | None) -> pd.DataFrame:
    X = build_features(data, rows[:1], builders, fit=False)
    if X.shape[1] == 0:
        raise ChurnDataError(
            "no feature could be built: every feature family lacks its table; give "
            "customers and at least one of activity, payments or tickets"
        )
    clash = [c for c in ("customer_id", "cutoff", "churned") if c in X.columns]
    if clash:
        raise ChurnDataError(f"features named {clash} clash with the row keys; rename them")
    meta = X.iloc[:0].reset_index()
    meta["customer_id"] = meta["customer_id"].astype(id_dtype)
    if labels is not None:
        meta["churned"] = pd.Series([], dtype=np.int8)
    return meta


def _features_partition(spec: _Spec, shared: tuple[_RowsSpec, list, pd.DataFrame], customers,
                        activity, payments, tickets) -> pd.DataFrame:
    rows_spec, builders, meta = shared
    data = _partition_data(spec, customers, activity, payments, tickets)
    if data is None:
        return meta
    rows = _rows(data, rows_spec)
    if len(rows) == 0:
        return meta
    X = build_features(data, rows.index, builders, fit=False)
    if "churned" in meta.columns:
        X = X.assign(churned=rows["churned"].to_numpy(np.int8))
    return _conform(X.reset_index(), meta)


def build_features_dask(
    customers: Any,
    activity: Any = None,
    payments: Any = None,
    tickets: Any = None,
    *,
    cutoffs: Any,
    builders: Sequence[FeatureBuilder] | None = None,
    fit: bool = True,
    kind: str = "auto",
    lookback: Any = "90D",
    npartitions: int | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    status_map: Mapping[str, str] | None = None,
) -> Any:
    """Features of the population at each cutoff, built per customer partition.

    The same builders run on every partition's :class:`~churnpredict.EventData`; the result
    equals :func:`churnpredict.build_features` on the whole data (rows in another order).

    Parameters
    ----------
    customers : CustomerPartitions, or the customers table (pandas, Dask or path)
    activity, payments, tickets : optional
        Event tables (pandas, Dask or path) when ``customers`` is a table.
    cutoffs : timestamp-like or sequence
        The rows are the population at each cutoff (:func:`churnpredict.population`).
    builders : sequence of FeatureBuilder, optional
        Default :func:`churnpredict.default_builders`.
    fit : bool, default True
        Fit the builders first, once for the whole data: profile categories on the whole
        customers table, engagement event types on event counts summed over the partitions
        (an extra pass). False reuses fitted builders (scoring).
    kind, lookback
        Population rule (see :func:`churnpredict.population`).
    npartitions, columns, status_map
        See :func:`partition_by_customer` (only with tables).

    Returns
    -------
    dask.dataframe.DataFrame
        Columns ``customer_id``, ``cutoff`` and one per feature;
        ``.compute().set_index(["customer_id", "cutoff"])`` is the pandas feature frame.
    """
    _require_dask()
    parts = _as_partitions(customers, activity, payments, tickets, npartitions=npartitions,
                           columns=columns, status_map=status_map)
    builders = default_builders() if builders is None else list(builders)
    whole = EventData(parts.customers_frame)
    rows = _RowsSpec(cutoff_index(cutoffs), label_kind(whole, kind), lookback)
    if fit:
        summary = _summarise(parts, rows, want_types=True)
        if summary.n_rows == 0:
            raise ChurnDataError(f"no customer is in the population at the cutoffs "
                                 f"{list(rows.cutoffs.strftime('%Y-%m-%d'))}; check cutoffs")
        active, fit_data, index = _fit_builders(parts, builders, summary)
    else:
        metas = {n: f._meta for n, f in parts.sources.items()}
        cust = parts.customers_frame
        fit_data = _standin(cust.iloc[:1], metas, parts.spec.columns, cust["signup_at"].min())
        active = [b for b in builders if b.applies_to(fit_data)]
        index = pd.MultiIndex.from_arrays(
            [cust["customer_id"].iloc[:1], pd.DatetimeIndex([rows.cutoffs[-1]])],
            names=["customer_id", "cutoff"])
    meta = _features_meta(active, fit_data, index, parts.spec.id_dtype, None)
    return _from_delayed(_on_partitions(parts, _features_partition, (rows, active, meta)), meta)


# --------------------------------------------------------------------------- cluster
def _get_client(client: Any) -> Client:
    if client is not None:
        return client
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        raise ChurnModelError(
            "training and prediction on Dask need a dask.distributed Client: start one, e.g. "
            "Client('tcp://scheduler:8786') or Client(LocalCluster()), or use dask_client()"
        ) from None


@contextlib.contextmanager
def dask_client(scheduler: Any = None, **cluster_kwargs: Any) -> Iterator[Client]:
    """A dask.distributed Client for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : Client, str or None
        A Client to use as is; a scheduler address (``"tcp://host:8786"``) to connect to; or
        ``"local"`` to start a :class:`distributed.LocalCluster` on this machine. None uses the
        current default client, or starts a local cluster when there is none.
    **cluster_kwargs
        Passed to :class:`distributed.LocalCluster` (``n_workers``, ``memory_limit`` ...).

    Yields
    ------
    distributed.Client
        Clients and clusters started here are closed on exit.
    """
    _require_dask()
    from distributed import Client, LocalCluster, default_client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is None:
        try:
            yield default_client()
            return
        except ValueError:
            scheduler = "local"
    if scheduler == "local":
        cluster_kwargs.setdefault("dashboard_address", None)
        with LocalCluster(**cluster_kwargs) as cluster, Client(cluster) as client:
            yield client
        return
    with Client(str(scheduler)) as client:
        yield client


# --------------------------------------------------------------------------- training
def _category_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as float codes (NaN when missing), others unchanged."""
    cols = {c: frame[c].cat.codes.astype(np.float64).where(frame[c].notna())
            for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    return frame.assign(**cols) if cols else frame


def _train_booster(client: Client, model: ChurnModel, feats: Any, names: list[str],
                   meta: pd.DataFrame, summary: _Summary) -> ChurnModel:
    """ChurnModel.fit, distributed: the model's own plan and recipe, boosters on the cluster.

    :meth:`ChurnModel.plan_fit` plans on one row per (cutoff, class) weighted by its row count
    (the fold rules look only at cutoffs and classes); :meth:`ChurnModel.finish_fit` trains
    the candidates, calibrates and refits through ``xgboost.dask``.
    """
    import xgboost as xgb
    import xgboost.dask  # noqa: F401  (registers xgb.dask)

    counts = summary.counts
    by_class = counts.groupby(level="churned").sum()
    if len(by_class[by_class > 0]) < 2:
        raise ChurnModelError(
            f"y holds one class only ({sorted(int(c) for c in by_class.index)}): ChurnModel "
            f"needs churned and retained customers; use more cutoffs or a longer horizon"
        )
    categorical = [c for c in names if isinstance(meta[c].dtype, pd.CategoricalDtype)]
    model.set_feature_schema(names, {c: list(meta[c].cat.categories) for c in categorical})
    cut_level = pd.DatetimeIndex(counts.index.get_level_values("cutoff"))
    compact = pd.MultiIndex.from_arrays([np.zeros(len(counts), dtype=np.int64), cut_level],
                                        names=["customer_id", "cutoff"])
    plan = model.plan_fit(compact, counts.index.get_level_values("churned").to_numpy(),
                          counts=counts.to_numpy())

    # Categories as their codes, marked categorical: the category lists are the builders'
    # (the same in every partition), and a worker may then hold no row of a fold.
    types = ["c" if c in categorical else "float" for c in names]
    X, y = feats[names], feats["churned"]
    in_train = feats["cutoff"].isin(list(plan.train_cutoffs))
    in_valid = feats["cutoff"].isin(list(plan.valid_cutoffs))
    X_valid, y_valid_lazy = X[in_valid], y[in_valid]

    def matrix(kind: Any, data: Any, label: Any = None, **kwargs: Any) -> Any:
        return kind(client, data, label, missing=np.nan, feature_names=names,
                    feature_types=types, **kwargs)

    dtrain = matrix(xgb.dask.DaskQuantileDMatrix, X[in_train], y[in_train])
    dvalid = matrix(xgb.dask.DaskQuantileDMatrix, X_valid, y_valid_lazy, ref=dtrain)
    dvalid_x = matrix(xgb.dask.DaskDMatrix, X_valid)
    y_valid: list[np.ndarray] = []

    def train_candidate(params: dict[str, Any]) -> tuple[int, np.ndarray, np.ndarray]:
        with xgb.config_context(verbosity=0):
            booster = xgb.dask.train(
                client, params, dtrain, num_boost_round=int(model.n_estimators),
                evals=[(dvalid, "validation")],
                early_stopping_rounds=model.early_stopping_rounds, verbose_eval=False,
            )["booster"]
        best_it = model.best_round(booster)
        lazy_margin = xgb.dask.predict(client, booster, dvalid_x, output_margin=True,
                                       iteration_range=(0, best_it + 1))
        if not y_valid:  # same partitions, same order as the margins
            y_valid.append(y_valid_lazy.compute().to_numpy(dtype=np.int8))
        return best_it, np.asarray(lazy_margin.compute(), dtype=np.float64), y_valid[0]

    def refit(params: dict[str, Any], rounds: int) -> Any:
        dall = matrix(xgb.dask.DaskQuantileDMatrix, X, y)
        with xgb.config_context(verbosity=0):
            return xgb.dask.train(client, params, dall, num_boost_round=rounds,
                                  verbose_eval=False)["booster"]

    return model.finish_fit(plan, train_candidate, refit)


def fit_dask(pipeline: ChurnPipeline, data: Any, *, as_of: Any = None, client: Any = None,
             persist: bool = False, progress: Progress | None = None) -> ChurnPipeline:
    """Fit a ChurnPipeline on a Dask cluster: partitioned features, ``xgboost.dask`` training.

    Labels and features are built per customer partition with the same code as
    :meth:`ChurnPipeline.fit`; builders are fitted once, globally (see the module notes). The
    model follows :class:`~churnpredict.model.ChurnModel`'s recipe: the latest cutoffs
    validate (early stopping and calibration), purged training cutoffs, parameter search when
    ``tune``, then a refit on all rows, all with ``xgboost.dask``. The result is an ordinary
    fitted pipeline: ``pipeline.save(path)`` writes the usual bundle.

    Parameters
    ----------
    pipeline : ChurnPipeline
        Its settings are used; it is fitted in place and returned. Its model must be a
        ChurnModel (or None for the default).
    data : CustomerPartitions, mapping of tables, or EventData
    as_of : timestamp-like, optional
        What is known at training time; default the latest time in the data.
    client : distributed.Client, optional
        Default: the current default client.
    persist : bool, default False
        Keep the shuffled tables in cluster memory between the two passes (labels, then
        features) instead of shuffling twice.
    progress : callable, optional
        ``progress(stage, step, total)`` after each stage.

    Returns
    -------
    ChurnPipeline

    Notes
    -----
    Distributed XGBoost merges per-worker quantile sketches and sees rows in another order,
    so the trees are close to, not identical with, a single-machine fit on the same rows.
    """
    _require_dask()

    from .model import ChurnModel
    from .pipeline import ChurnPipeline

    if not isinstance(pipeline, ChurnPipeline):
        raise ChurnModelError(f"pipeline must be a ChurnPipeline, got {type(pipeline).__name__}")
    client = _get_client(client)
    parts = _as_partitions(data)
    whole = EventData(parts.customers_frame)
    # the business kind is detected from the payments on a single machine only; on Dask it is
    # what the pipeline says ("auto" keeps the subscription default)
    business = (("purchases", "set: business='purchases'") if pipeline.business == "purchases"
                else ("subscription", "Dask training: subscription unless business='purchases'"))
    plan = pipeline.training_plan(whole, business=business)
    horizon, kind, builders, model = plan.horizon, plan.label_kind, plan.builders, plan.model
    if not isinstance(model, ChurnModel):
        raise ChurnModelError(
            f"Dask training supports ChurnModel only, got {type(model).__name__}; fit other "
            f"models with ChurnPipeline.fit on a sample"
        )
    model.check_params()
    total = 4
    as_of = latest_time(parts) if as_of is None else _stamp(as_of)
    cutoffs = training_cutoffs(whole, as_of, horizon, int(pipeline.n_cutoffs),
                               pipeline.cutoff_freq)
    rows = _RowsSpec(cutoffs, kind, pipeline.lookback, horizon, as_of,
                     lapsed=kind == "inactivity")
    if persist:
        parts = parts.persist()
    summary = _summarise(parts, rows, want_types=True)
    if summary.n_rows == 0:
        raise ChurnDataError(
            f"no customer is in the population at the training cutoffs "
            f"({cutoffs.min()} .. {cutoffs.max()}); use a later as_of or check signup_at"
        )
    if progress is not None:
        progress("labels", 1, total)
    active, fit_data, index = _fit_builders(parts, builders, summary)
    meta = _features_meta(active, fit_data, index, parts.spec.id_dtype, labels=True)
    del fit_data
    feats = _from_delayed(_on_partitions(parts, _features_partition, (rows, active, meta)), meta)
    feats = client.persist(feats.map_partitions(_category_codes, meta=_category_codes(meta)))
    if progress is not None:
        progress("features", 2, total)
    names = [c for c in meta.columns if c not in ("customer_id", "cutoff", "churned")]
    fitted = _train_booster(client, model, feats, names, meta, summary)
    del feats
    if progress is not None:
        progress("model", 3, total)

    n_churned = int(summary.counts[summary.counts.index.get_level_values("churned") == 1].sum())
    pipeline.set_fitted(
        builders=active, model=fitted, feature_names=names, as_of=as_of,
        cutoffs=summary.counts.index.get_level_values("cutoff"), horizon=horizon,
        label_kind=kind, is_snapshot=False, business=plan.business,
        business_reason=plan.business_reason,
        training_summary={
            "n_rows": summary.n_rows,
            "n_customers": int(len(summary.ids)),
            "n_cutoffs": int(summary.counts.index.get_level_values("cutoff").nunique()),
            "n_churned": n_churned,
            "positive_rate": n_churned / summary.n_rows,
            "churn_types": summary.churn_types,
            "n_features": len(names),
        },
        validation_scores=dict(fitted.validation_scores_))
    if progress is not None:
        progress("done", total, total)
    return pipeline


# --------------------------------------------------------------------------- prediction
def _calibrate(margin: pd.Series, calibrator: Any) -> pd.Series:
    from scipy.special import expit

    m = margin.to_numpy(dtype=np.float64)
    p = expit(m) if calibrator is None else calibrator.predict(m)
    return pd.Series(p, index=margin.index, name="churn_probability")


def predict_dask(model: ChurnModel, X: Any, *, client: Any = None) -> Any:
    """Calibrated churn probabilities of distributed feature rows (``xgboost.dask``).

    Parameters
    ----------
    model : ChurnModel
        Fitted (on pandas or with :func:`fit_dask`).
    X : dask.dataframe.DataFrame
        Holding the model's feature columns (others, such as ``customer_id``, are ignored),
        e.g. from :func:`build_features_dask` with the fitted builders.
    client : distributed.Client, optional

    Returns
    -------
    dask.dataframe.Series
        ``churn_probability``, partitioned like ``X``; equals ``model.predict_proba(X)[:, 1]``.
    """
    _require_dask()
    import xgboost as xgb
    import xgboost.dask  # noqa: F401  (registers xgb.dask)
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    client = _get_client(client)
    names = [str(c) for c in model.feature_names_in_]
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ChurnModelError(f"X lacks {len(missing)} feature column(s) the model was trained "
                              f"on: {missing[:5]}; build them with the fitted builders")
    margin = xgb.dask.inplace_predict(client, model.booster_, X[names], predict_type="margin")
    if not hasattr(margin, "map_partitions"):  # a dask array for array input
        margin = margin.to_dask_dataframe()
    meta = pd.Series([], dtype=np.float64, name="churn_probability")
    return margin.map_partitions(_calibrate, model.calibrator_, meta=meta)


def shap_values_dask(model: ChurnModel, X: Any, *, client: Any = None) -> Any:
    """TreeSHAP log-odds contributions of distributed rows (``xgboost.dask`` ``pred_contribs``).

    Parameters
    ----------
    model : ChurnModel
    X : dask.dataframe.DataFrame
        Holding the model's feature columns.
    client : distributed.Client, optional

    Returns
    -------
    dask.array.Array of shape (n_rows, n_features + 1)
        As :func:`churnpredict.explain.shap_values` (XGBoost computes in float32, so values
        agree to about 1e-5): one column per feature, the base value last.
    """
    _require_dask()
    import xgboost as xgb
    import xgboost.dask  # noqa: F401  (registers xgb.dask)

    client = _get_client(client)
    names = [str(c) for c in model.feature_names_in_]
    dmatrix = xgb.dask.DaskDMatrix(client, X[names], missing=np.nan, enable_categorical=True)
    out = xgb.dask.predict(client, model.booster_, dmatrix, pred_contribs=True)
    return out


# --------------------------------------------------------------------------- scoring
def _text_like(dtype: Any) -> bool:
    return bool(pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)) \
        and not isinstance(dtype, pd.CategoricalDtype)


def _scores_meta(pipeline: ChurnPipeline, parts: CustomerPartitions, explain: bool,
                 extra: Sequence[str]) -> pd.DataFrame:
    from .features import DRIVER_GROUPS

    cols: dict[str, Any] = {
        "customer_id": pd.Series([], dtype=parts.spec.id_dtype),
        "churn_probability": pd.Series([], dtype=np.float64),
        ("expected_spend" if getattr(pipeline, "business_", "subscription") == "purchases"
         else "mrr"): pd.Series([], dtype=np.float64),
        "status": pd.Series([], dtype=TEXT),
    }
    if explain:
        for stem, dtype in (("reason", TEXT), ("reason_group", TEXT),
                            ("reason_weight", np.float64), ("reason_feature", TEXT)):
            for k in range(1, 4):
                cols[f"{stem}_{k}"] = pd.Series([], dtype=dtype)
        groups = set(pipeline.feature_info_.loc[pipeline.feature_names_, "group"].astype(str))
        for g in DRIVER_GROUPS:
            if g in groups:
                cols[f"shap_{g}"] = pd.Series([], dtype=np.float64)
    customers = parts.customers_frame
    for name in extra:
        if name in cols:
            continue
        if name not in customers.columns:
            raise ChurnDataError(
                f"extra column {name!r} is in neither the scores nor customers (columns "
                f"{list(customers.columns)[:20]}); drop it from extra_columns"
            )
        dtype = customers[name].dtype
        cols[name] = pd.Series([], dtype=TEXT if _text_like(dtype) else dtype)
    return pd.DataFrame(cols)


def _score_partition(spec: _Spec, shared: tuple, customers, activity, payments, tickets
                     ) -> pd.DataFrame:
    pipeline, stamp, explain, meta = shared
    data = _partition_data(spec, customers, activity, payments, tickets)
    if data is None:
        return meta
    pop = population(data, [stamp], **pipeline.population_rule())
    if len(pop) == 0:
        return meta
    scores = pipeline.score(data, stamp, explain=explain).reset_index()
    extra = [c for c in meta.columns if c not in scores.columns]
    if extra:
        table = data.customers.set_index("customer_id")[extra]
        scores = scores.join(table, on="customer_id")
    return _conform(scores, meta)


def score_customers_dask(pipeline: ChurnPipeline, data: Any, as_of: Any = None, *,
                         explain: bool = True, extra_columns: Sequence[str] = ()) -> Any:
    """:meth:`ChurnPipeline.score` on every customer partition: probability, MRR, reasons.

    Each partition runs the pipeline's own scoring (features with the fitted builders,
    calibrated probability, exact TreeSHAP reasons), so the rows equal the single-machine
    scores.

    Parameters
    ----------
    pipeline : ChurnPipeline
        Fitted.
    data : CustomerPartitions or tables
    as_of : timestamp-like, optional
        Default: the latest time in the data.
    explain : bool, default True
    extra_columns : sequence of str
        Customer columns to carry along (for the at-risk list).

    Returns
    -------
    dask.dataframe.DataFrame
        One row per customer in the population at ``as_of``: ``customer_id`` then the columns
        of :meth:`ChurnPipeline.score` (unsorted; see :func:`write_at_risk_dask`).
    """
    _require_dask()
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(pipeline, "model_")
    parts = _as_partitions(data)
    if pipeline.is_snapshot_:
        raise ChurnDataError("the pipeline was trained on a snapshot table; score it with "
                             "ChurnPipeline.score (a snapshot fits in memory)")
    present = set(parts.tables)
    absent = sorted({t for b in pipeline.builders_ for t in b.tables
                     if t != "customers" and t not in present})
    if absent:
        raise ChurnDataError(
            f"the pipeline was trained with table(s) {absent} that the data lacks; add them, or "
            f"retrain without those families"
        )
    stamp = latest_time(parts) if as_of is None else _stamp(as_of)
    meta = _scores_meta(pipeline, parts, explain, list(extra_columns))
    shared = (pipeline, stamp, bool(explain), meta)
    return _from_delayed(_on_partitions(parts, _score_partition, shared), meta)


# --------------------------------------------------------------------------- at-risk lists
def _at_risk_partition(scores: pd.DataFrame, options: dict[str, Any], meta: pd.DataFrame
                       ) -> pd.DataFrame:
    from .export import at_risk_list

    if len(scores) == 0:
        return meta
    frame = at_risk_list(scores, top=None, **options).drop(columns=["rank"])
    return _conform(frame, meta)


def _with_rank(frame: pd.DataFrame, start: int) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "rank", np.arange(start + 1, start + len(frame) + 1, dtype=np.int64))
    return frame


@contextlib.contextmanager
def _atomic_directory(path: Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; it replaces ``path`` only on success."""
    if path.exists() and not path.is_dir():
        raise ChurnDataError(f"{path} exists and is a file; give a directory for the ranked "
                             f"Parquet list")
    if path.is_dir() and any(p for p in path.iterdir()
                             if not (p.name.endswith(".parquet") or p.name.startswith("_"))):
        raise ChurnDataError(f"{path} holds files other than Parquet parts; refusing to "
                             f"replace it. Choose a new directory")
    with atomic_directory(path) as tmp:
        yield tmp


def write_at_risk_dask(
    scores: Any,
    out: str | os.PathLike | None = None,
    *,
    horizon: Any = "28D",
    ranked_out: str | os.PathLike | None = None,
    top: int | None = None,
    rank_by: str = "probability",
    min_probability: float | None = None,
    tiers: Mapping[str, float] | None = None,
    actions: Mapping[str, str] | None = None,
    extra_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Rank distributed scores: a top-N list for the retention team and the full ranked list.

    The result is what :func:`churnpredict.export.at_risk_list` gives on all the scores at
    once: default tiers are shares of *all* scored customers (their probability thresholds are
    found first), the order is the same (probability, then revenue at risk, then customer id),
    and only the candidates for the top ``top`` rows are brought to the client.

    Parameters
    ----------
    scores : dask.dataframe.DataFrame
        From :func:`score_customers_dask`.
    out : path-like, optional
        The at-risk list file (``.csv``, ``.parquet`` or ``.xlsx``), written atomically with
        :func:`churnpredict.export.write_at_risk`.
    horizon : duration
        The pipeline's horizon (for revenue at risk).
    ranked_out : path-like, optional
        Directory for the complete ranked list as partitioned Parquet, globally sorted with a
        ``rank`` column. Written to a temporary directory next to it, then renamed (every
        worker must see this path: a shared disk).
    top, rank_by, min_probability, tiers, actions, extra_columns
        As in :func:`churnpredict.export.at_risk_list`.

    Returns
    -------
    pandas.DataFrame
        The at-risk list (first ``top`` rows, or all when ``top`` is None).
    """
    _require_dask()
    from .export import (
        AT_RISK_COLUMNS,
        PURCHASE_AT_RISK_COLUMNS,
        at_risk_list,
        share_tier_rows,
        share_tier_thresholds,
        value_if_retained,
        write_at_risk,
    )

    if rank_by not in ("probability", "revenue"):
        raise ValueError(f"rank_by={rank_by!r}; expected 'probability' or 'revenue'")
    scores = scores.persist()
    n = int(scores.shape[0].compute())
    if n == 0:
        raise ChurnDataError("no customer was scored; check as_of")
    if tiers is None:  # the shares of all scored customers, from the highest probabilities
        highest = scores["churn_probability"].nlargest(share_tier_rows(n)).compute()
        thresholds = share_tier_thresholds(highest.to_numpy(), n)
    else:
        thresholds = dict(tiers)
    options = {"horizon": horizon, "rank_by": rank_by, "min_probability": min_probability,
               "tiers": thresholds, "actions": actions, "extra_columns": tuple(extra_columns)}

    candidates = scores
    if min_probability is not None:
        candidates = candidates[candidates["churn_probability"] >= float(min_probability)]
    if top is not None and int(top) > 0:
        # every row of the top `top` has a ranking key at least the top-th largest key
        key = (candidates["churn_probability"] if rank_by == "probability"
               else candidates["churn_probability"] * value_if_retained(candidates, horizon))
        key = key.fillna(-np.inf)
        kth = float(key.nlargest(int(top)).min().compute())
        if np.isfinite(kth):  # -inf: unknown revenue reaches the top, keep every row
            candidates = candidates[key >= kth]
    frame = at_risk_list(candidates.compute(), top=top, **options)
    if out is not None:
        write_at_risk(frame, out, actions=actions)

    if ranked_out is not None:
        empty = scores._meta.iloc[:0]
        meta = at_risk_list(empty, top=None, **options).drop(columns=["rank"])
        meta = meta.astype({c: TEXT for c in meta.columns if _text_like(meta[c].dtype)})
        ranked = scores.map_partitions(_at_risk_partition, options, meta, meta=meta)
        primary, secondary = (("churn_probability", "revenue_at_risk") if rank_by == "probability"
                              else ("revenue_at_risk", "churn_probability"))
        ranked = ranked.sort_values([primary, secondary, "customer_id"],
                                    ascending=[False, False, True])
        ranked = ranked.persist()
        lengths = ranked.map_partitions(len).compute().tolist()
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
        import dask

        pieces = [dask.delayed(_with_rank)(p, s) for p, s in zip(ranked.to_delayed(), starts,
                                                                   strict=True)]
        rank_meta = _with_rank(meta, 0)
        with_rank = _from_delayed(pieces, rank_meta)
        with _atomic_directory(Path(ranked_out)) as tmp:
            with_rank.to_parquet(str(tmp), write_index=False,
                                 name_function=lambda i: f"part.{i:05d}.parquet")
    required = AT_RISK_COLUMNS if "mrr" in frame.columns else PURCHASE_AT_RISK_COLUMNS
    missing = [c for c in required if c not in frame.columns]
    if missing:  # pragma: no cover - at_risk_list always adds them
        raise ChurnDataError(f"at-risk list lacks {missing}")
    return frame


# --------------------------------------------------------------------------- command line
def _open_data(data: Any, settings: Mapping[str, Any], npartitions: int | None
               ) -> CustomerPartitions:
    if isinstance(data, CustomerPartitions):
        return data
    if isinstance(data, (str, os.PathLike)):
        tables = read_tables(data, columns=settings.get("columns"))
    elif isinstance(data, Mapping):
        tables = dict(data)
    else:
        raise ChurnDataError(f"data must be a directory, a mapping of tables or "
                             f"CustomerPartitions, got {type(data).__name__}")
    return partition_by_customer(
        tables.pop("customers", None), **tables, npartitions=npartitions,
        columns=settings.get("columns"), status_map=settings.get("status_map"),
        unknown_customers=settings.get("unknown_customers", "error"),
    )


def _settings(config: Any) -> dict[str, Any]:
    from .data import load_config

    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    return load_config(config)


def score_dask(
    pipeline: Any,
    data: Any,
    as_of: Any,
    out: str | os.PathLike,
    *,
    scheduler: Any = None,
    top: int | None = None,
    ranked_out: str | os.PathLike | None = None,
    rank_by: str = "probability",
    min_probability: float | None = None,
    tiers: Mapping[str, float] | None = None,
    actions: Mapping[str, str] | None = None,
    extra_columns: Sequence[str] = (),
    config: Any = None,
    npartitions: int | None = None,
    explain: bool = True,
) -> tuple[pd.DataFrame, int]:
    """``churnpredict score --scheduler ...``: score on a cluster and write the at-risk list.

    Parameters
    ----------
    pipeline : ChurnPipeline or path-like
        A fitted pipeline or a bundle directory.
    data : path-like, mapping of tables or CustomerPartitions
        A data directory (see :func:`read_tables`).
    as_of : timestamp-like or None
        Scoring time (None: the latest time in the data).
    out : path-like
        The at-risk list file (``.csv``, ``.parquet``, ``.xlsx``).
    scheduler : Client, address, "local" or None
        See :func:`dask_client`.
    top, rank_by, min_probability, tiers, actions, extra_columns
        See :func:`write_at_risk_dask`.
    ranked_out : path-like, optional
        Directory for the full ranked list as partitioned Parquet.
    config : path-like or mapping, optional
        Settings with ``columns`` / ``status_map`` for the tables.
    npartitions : int, optional
        Customer partitions (see :func:`partition_by_customer`).
    explain : bool, default True

    Returns
    -------
    (pandas.DataFrame, int)
        The at-risk list written to ``out`` and the number of customers scored.
    """
    _require_dask()
    from .pipeline import ChurnPipeline

    if not isinstance(pipeline, ChurnPipeline):
        pipeline = ChurnPipeline.load(pipeline)
    settings = _settings(config)
    with dask_client(scheduler):
        parts = _open_data(data, settings, npartitions)
        scores = score_customers_dask(pipeline, parts, as_of, explain=explain,
                                      extra_columns=extra_columns).persist()
        n = int(scores.shape[0].compute())
        frame = write_at_risk_dask(
            scores, out, horizon=pipeline.horizon, ranked_out=ranked_out, top=top,
            rank_by=rank_by, min_probability=min_probability, tiers=tiers, actions=actions,
            extra_columns=extra_columns)
    return frame, n


def train_dask(pipeline: ChurnPipeline, data: Any, model_dir: str | os.PathLike, *,
               as_of: Any = None, scheduler: Any = None, config: Any = None,
               npartitions: int | None = None, persist: bool = False,
               progress: Progress | None = None) -> ChurnPipeline:
    """``churnpredict train --scheduler ...``: fit on a cluster and save the bundle.

    Parameters
    ----------
    pipeline : ChurnPipeline
        Unfitted settings (horizon, label, cutoffs, model parameters).
    data : path-like, mapping of tables or CustomerPartitions
    model_dir : path-like
        Bundle directory (written atomically by :meth:`ChurnPipeline.save`).
    as_of, persist, progress
        See :func:`fit_dask`.
    scheduler, config, npartitions
        See :func:`score_dask`.

    Returns
    -------
    ChurnPipeline
        Fitted.
    """
    _require_dask()
    check_destination(model_dir)  # before any work: a wrong destination fails fast
    settings = _settings(config)
    with dask_client(scheduler) as client:
        parts = _open_data(data, settings, npartitions)
        fit_dask(pipeline, parts, as_of=as_of, client=client, persist=persist,
                 progress=progress)
    pipeline.save(model_dir)
    return pipeline
