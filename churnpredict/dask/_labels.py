"""Labels and populations per customer partition, and their summary for training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._data import EventData
from .._labels import complete_cutoffs, customer_status, label_churn, label_kind, population
from .._windows import parse_window
from ._frames import TEXT, conform, from_delayed, require_dask
from ._partitions import (
    CustomerPartitions,
    PartitionSpec,
    as_of_time,
    as_partitions,
    on_partitions,
    partition_data,
)

__all__ = ["label_churn_dask"]


@dataclass(frozen=True)
class RowsSpec:
    """Which (customer, cutoff) rows a pass works on: labels or the population."""

    cutoffs: pd.DatetimeIndex
    kind: str
    lookback: Any
    horizon: pd.Timedelta | None = None  # labels when set
    as_of: pd.Timestamp | None = None
    lapsed: bool | None = None  # None: labels.includes_lapsed(kind)

    def rows(self, data: EventData) -> pd.DataFrame:
        """The rows of ``data``: :func:`label_churn` output, or the :func:`population`."""
        if self.horizon is not None:
            return label_churn(
                data,
                self.cutoffs,
                self.horizon,
                kind=self.kind,
                as_of=self.as_of,
                lookback=self.lookback,
                lapsed=self.lapsed,
            )
        return population(
            data, self.cutoffs, kind=self.kind, lookback=self.lookback, lapsed=self.lapsed
        )


def _labels_partition(
    spec: PartitionSpec,
    shared: tuple[RowsSpec, pd.DataFrame],
    customers,
    activity,
    payments,
    tickets,
) -> pd.DataFrame:
    rows, meta = shared
    data = partition_data(spec, customers, activity, payments, tickets)
    if data is None:
        return meta
    return conform(rows.rows(data).reset_index(), meta)


def _label_meta(parts: CustomerPartitions, rows: RowsSpec) -> pd.DataFrame:
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

    Each partition runs :func:`churnpredict.label_churn` itself; ``as_of`` and the censored
    cutoffs are settled once, on the client, by the same rules
    (:func:`churnpredict._labels.known_at`, with the latest time over all partitions, and
    :func:`churnpredict._labels.complete_cutoffs`).

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
    require_dask()
    parts = as_partitions(data)
    whole = EventData(parts.customers_frame)
    kind = label_kind(whole, kind)
    horizon = parse_window(horizon)
    as_of = as_of_time(parts, as_of)
    complete = complete_cutoffs(cutoffs, horizon, as_of)
    rows = RowsSpec(complete, kind, lookback, horizon, as_of)
    meta = _label_meta(parts, rows)
    return from_delayed(on_partitions(parts, _labels_partition, (rows, meta)), meta)


# --------------------------------------------------------------------------- summary
@dataclass
class RowsSummary:
    """The rows of all partitions, summed: their customers and counts per (cutoff, class)."""

    ids: np.ndarray
    counts: pd.Series  # (cutoff, churned) -> rows
    churn_types: dict[str, int]
    statuses: dict[str, int]  # customer status (labels.customer_status) -> rows
    churned_ids: np.ndarray | None = None  # customers with a churned row

    @property
    def n_rows(self) -> int:
        """Rows in all."""
        return int(self.counts.sum())

    @property
    def latest(self) -> pd.Timestamp:
        """The latest cutoff with a row."""
        return pd.Timestamp(self.counts.index.get_level_values("cutoff").max())

    @property
    def n_churned(self) -> int:
        """Rows labelled churned."""
        return int(self.counts[self.counts.index.get_level_values("churned") == 1].sum())

    @classmethod
    def of_rows(
        cls, rows: pd.DataFrame, data: EventData | None = None, spec: RowsSpec | None = None
    ) -> dict[str, Any]:
        """One partition's share: its row customers, counts, churn types and, given the
        partition's ``data`` and a labels ``spec``, the rows' customer statuses."""
        cut = rows.index.get_level_values("cutoff")
        churned = (
            rows["churned"].to_numpy() if "churned" in rows else np.zeros(len(rows), dtype=np.int8)
        )
        types = None
        if "churn_type" in rows:
            types = rows.loc[rows["churned"] == 1, "churn_type"].value_counts()
        statuses = None
        if data is not None and spec is not None and spec.horizon is not None:
            statuses = customer_status(
                data, rows.index, spec.horizon, kind=spec.kind, lookback=spec.lookback
            ).value_counts()
        ids = rows.index.get_level_values("customer_id").to_numpy()
        return {
            "ids": pd.unique(ids),
            "churned_ids": pd.unique(ids[churned == 1]),
            "counts": pd.DataFrame({"cutoff": cut, "churned": churned}).value_counts(),
            "churn_types": types,
            "statuses": statuses,
        }

    @staticmethod
    def _total(counts: list[pd.Series]) -> dict[str, int]:
        if not counts:
            return {}
        total = pd.concat(counts).groupby(level=0).sum().sort_index()
        return {str(k): int(v) for k, v in total.items() if v}

    @classmethod
    def combine(cls, shares: list[dict[str, Any]]) -> RowsSummary:
        """The summary of all partitions from their shares (:meth:`of_rows`)."""
        counts = _given(shares, "counts")
        merged = (
            pd.concat(counts).groupby(level=["cutoff", "churned"]).sum()
            if counts
            else pd.Series(dtype=np.int64)
        )
        return cls(
            _joined(_given(shares, "ids")),
            merged,
            cls._total(_given(shares, "churn_types", empty=True)),
            cls._total(_given(shares, "statuses", empty=True)),
            _joined(_given(shares, "churned_ids")),
        )


def _given(shares: list[dict[str, Any]], key: str, empty: bool = False) -> list[Any]:
    """The partitions' values of ``key`` that are there (and not empty, unless ``empty``)."""
    values = [share.get(key) for share in shares]
    return [v for v in values if v is not None and (empty or len(v))]


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """The arrays end to end (an empty array when there are none)."""
    return np.concatenate(arrays) if arrays else np.empty(0)
