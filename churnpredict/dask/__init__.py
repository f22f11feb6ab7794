"""Scale out on Dask: the same features, training and scoring on a cluster.

This package only distributes. The event tables are shuffled once by customer so that
partition ``i`` of every table holds the same customers (:func:`partition_by_customer`). Each
partition is then an ordinary pandas :class:`~churnpredict.EventData`, and the core's own
labels, builders, pipeline and list code run on it: features depend only on a customer's own
rows, so the partitioned results equal the single-machine ones. Builders are fitted by parts
(``fit_statistics`` per partition, ``combine_statistics``, ``fit_from_statistics``: see
:class:`~churnpredict.FeatureBuilder`). Training uses ``xgboost.dask`` with the plan and
recipe of :class:`~churnpredict._model.ChurnModel`; the fitted pipeline is an ordinary
:class:`~churnpredict._pipeline.ChurnPipeline` that saves to the usual bundle. See
``docs/dask.md``.

Modules: :mod:`~churnpredict.dask._reading` (data directories), :mod:`~churnpredict.dask.
partitions` (the shuffle and the per-partition EventData), :mod:`~churnpredict.dask._labels`,
:mod:`~churnpredict.dask._features`, :mod:`~churnpredict.dask._training`,
:mod:`~churnpredict.dask._scoring`, :mod:`~churnpredict.dask._lists` (the at-risk list) and
:mod:`~churnpredict.dask._cluster` (the client).

Dask is an optional dependency (``pip install churnpredict[dask]``); it is imported only when
these functions run.
"""

from __future__ import annotations

from ._cluster import dask_client
from ._features import build_features_dask
from ._frames import TEXT
from ._labels import label_churn_dask
from ._lists import write_at_risk_dask
from ._partitions import (
    ROWS_PER_PARTITION,
    CustomerPartitions,
    latest_time,
    partition_by_customer,
)
from ._reading import read_tables
from ._scoring import predict_dask, score_customers_dask, score_dask, shap_values_dask
from ._training import fit_dask, train_dask

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
    "ROWS_PER_PARTITION",
    "TEXT",
]
