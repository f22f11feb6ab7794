"""Features per customer partition, and fitting the builders by parts.

Builders learn through their fit-by-parts protocol (:class:`~churnpredict.FeatureBuilder`):
each partition computes ``fit_statistics`` on its own customers and rows, the client combines
them with ``combine_statistics`` and fits with ``fit_from_statistics``: the state a
single-machine fit on all the rows gives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._data import EventData
from .._exceptions import ChurnDataError, ChurnModelError
from .._labels import cutoff_index, label_kind
from ..features import FeatureBuilder, build_features, default_builders
from ._frames import conform, from_delayed, require_dask
from ._labels import RowsSpec, RowsSummary
from ._partitions import (
    CustomerPartitions,
    PartitionSpec,
    as_partitions,
    on_partitions,
    partition_data,
)

__all__ = ["build_features_dask"]

logger = logging.getLogger("churnpredict")


def _fit_pass_partition(
    spec: PartitionSpec,
    shared: tuple[RowsSpec, list[FeatureBuilder]],
    customers,
    activity,
    payments,
    tickets,
) -> dict[str, Any]:
    """One partition's rows summary and each builder's statistics (None: does not apply)."""
    rows_spec, builders = shared
    data = partition_data(spec, customers, activity, payments, tickets)
    if data is None:
        return {"rows": None, "stats": None}
    rows = rows_spec.rows(data)
    stats = [b.fit_statistics(data, rows.index) if b.applies_to(data) else None for b in builders]
    return {"rows": RowsSummary.of_rows(rows, data, rows_spec), "stats": stats}


def check_fits_by_parts(builders: Sequence[FeatureBuilder]) -> None:
    """Refuse builders that learn in ``fit`` only: Dask cannot repeat that fit by parts."""
    bad = [type(b).__name__ for b in builders if not type(b).fits_by_parts()]
    if bad:
        raise ChurnModelError(
            f"builder(s) {bad} override fit() only; to fit them on Dask, implement "
            f"fit_statistics / combine_statistics / fit_from_statistics (see FeatureBuilder), "
            f"or pass them fitted with fit=False"
        )


def fit_builders(
    parts: CustomerPartitions, builders: Sequence[FeatureBuilder], rows: RowsSpec
) -> tuple[list[FeatureBuilder], RowsSummary]:
    """Fit ``builders`` by parts over all partitions, in one pass that also sums the rows.

    Returns
    -------
    active : list of FeatureBuilder
        The builders that apply to the data, fitted.
    summary : RowsSummary
        The rows of all partitions.
    """
    import dask

    check_fits_by_parts(builders)
    results = dask.compute(*on_partitions(parts, _fit_pass_partition, (rows, list(builders))))
    results = [r for r in results if r["rows"] is not None]
    summary = RowsSummary.combine([r["rows"] for r in results])
    if summary.n_rows == 0:
        return [], summary
    active = []
    for i, builder in enumerate(builders):
        stats = [r["stats"][i] for r in results if r["stats"][i] is not None]
        if not stats:
            logger.info("%s skipped: needs tables %s", type(builder).__name__, builder.tables)
            continue
        builder.fit_from_statistics(type(builder).combine_statistics(stats))
        active.append(builder)
    return active, summary


def features_meta(
    builders: Sequence[FeatureBuilder],
    data: EventData,
    row: pd.MultiIndex,
    id_dtype: Any,
    labels: bool,
) -> pd.DataFrame:
    """Empty frame with the columns and dtypes of the partitioned features.

    ``data`` holds real customers and empty event tables (see
    :meth:`CustomerPartitions.local_data`); the builders build ``row`` on it.
    """
    X = build_features(data, row, builders, fit=False, progress=False)
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
    if labels:
        meta["churned"] = pd.Series([], dtype=np.int8)
    return meta


def _features_partition(
    spec: PartitionSpec,
    shared: tuple[RowsSpec, list, pd.DataFrame],
    customers,
    activity,
    payments,
    tickets,
) -> pd.DataFrame:
    rows_spec, builders, meta = shared
    data = partition_data(spec, customers, activity, payments, tickets)
    if data is None:
        return meta
    rows = rows_spec.rows(data)
    if len(rows) == 0:
        return meta
    X = build_features(data, rows.index, builders, fit=False, progress=False)
    if "churned" in meta.columns:
        X = X.assign(churned=rows["churned"].to_numpy(np.int8))
    return conform(X.reset_index(), meta)


def partitioned_features(
    parts: CustomerPartitions,
    rows: RowsSpec,
    builders: Sequence[FeatureBuilder],
    meta: pd.DataFrame,
) -> Any:
    """The features of ``rows`` on every partition, as one Dask DataFrame shaped ``meta``."""
    return from_delayed(
        on_partitions(parts, _features_partition, (rows, list(builders), meta)), meta
    )


def first_row(
    parts: CustomerPartitions, customer: Any, cutoff: pd.Timestamp
) -> tuple[EventData, pd.MultiIndex]:
    """A customer's data (no events) and its row at ``cutoff``: enough to shape the outputs."""
    data = parts.local_data([customer])
    row = pd.MultiIndex.from_arrays(
        [data.customers["customer_id"].iloc[:1], pd.DatetimeIndex([cutoff])],
        names=["customer_id", "cutoff"],
    )
    return data, row


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
        Fit the builders first, by parts (an extra pass): each partition computes their
        ``fit_statistics`` on its rows, the client combines them and fits (see
        :class:`~churnpredict.FeatureBuilder`). False reuses fitted builders (scoring).
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
    require_dask()
    parts = as_partitions(
        customers,
        activity,
        payments,
        tickets,
        npartitions=npartitions,
        columns=columns,
        status_map=status_map,
    )
    builders = default_builders() if builders is None else list(builders)
    whole = EventData(parts.customers_frame)
    rows = RowsSpec(cutoff_index(cutoffs), label_kind(whole, kind), lookback)
    if fit:
        active, summary = fit_builders(parts, builders, rows)
        if summary.n_rows == 0:
            raise ChurnDataError(
                f"no customer is in the population at the cutoffs "
                f"{list(rows.cutoffs.strftime('%Y-%m-%d'))}; check cutoffs"
            )
        data, row = first_row(parts, summary.ids[0], summary.latest)
    else:
        data, row = first_row(parts, parts.customers_frame["customer_id"].iloc[0], rows.cutoffs[-1])
        active = [b for b in builders if b.applies_to(data)]
    meta = features_meta(active, data, row, parts.spec.id_dtype, labels=False)
    return partitioned_features(parts, rows, active, meta)
