"""Scoring on a cluster: calibrated probabilities, SHAP values and the pipeline's scores."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._exceptions import ChurnDataError, ChurnModelError
from .._export import ListOptions
from .._labels import population
from .._list_options import options_or_keywords
from ._cluster import dask_client, get_client
from ._frames import TEXT, conform, from_delayed, require_dask, text_like
from ._lists import write_at_risk_dask
from ._partitions import (
    CustomerPartitions,
    PartitionSpec,
    as_of_time,
    as_partitions,
    on_partitions,
    open_data,
    partition_data,
    settings_of,
    whole_data_errors,
)

if TYPE_CHECKING:  # pragma: no cover
    from .._model import ChurnModel
    from .._pipeline import ChurnPipeline

__all__ = ["predict_dask", "shap_values_dask", "score_customers_dask", "score_dask"]


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
        Fitted (on pandas or with :func:`~churnpredict.dask.fit_dask`).
    X : dask.dataframe.DataFrame
        Holding the model's feature columns (others, such as ``customer_id``, are ignored),
        e.g. from :func:`~churnpredict.dask.build_features_dask` with the fitted builders.
    client : distributed.Client, optional

    Returns
    -------
    dask.dataframe.Series
        ``churn_probability``, partitioned like ``X``; equals ``model.predict_proba(X)[:, 1]``.
    """
    require_dask()
    import xgboost as xgb
    import xgboost.dask  # noqa: F401  (registers xgb.dask)
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    client = get_client(client)
    names = [str(c) for c in model.feature_names_in_]
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ChurnModelError(
            f"X lacks {len(missing)} feature column(s) the model was trained "
            f"on: {missing[:5]}; build them with the fitted builders"
        )
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
        As :func:`churnpredict._explain.shap_values` (XGBoost computes in float32, so values
        agree to about 1e-5): one column per feature, the base value last.
    """
    require_dask()
    import xgboost as xgb
    import xgboost.dask  # noqa: F401  (registers xgb.dask)

    client = get_client(client)
    names = [str(c) for c in model.feature_names_in_]
    dmatrix = xgb.dask.DaskDMatrix(client, X[names], missing=np.nan, enable_categorical=True)
    return xgb.dask.predict(client, model.booster_, dmatrix, pred_contribs=True)


def _scores_meta(
    pipeline: ChurnPipeline, parts: CustomerPartitions, explain: bool, extra: Sequence[str]
) -> pd.DataFrame:
    from ..features import DRIVER_GROUPS

    cols: dict[str, Any] = {
        "customer_id": pd.Series([], dtype=parts.spec.id_dtype),
        "churn_probability": pd.Series([], dtype=np.float64),
        (
            "expected_spend"
            if getattr(pipeline, "business_", "subscription") == "purchases"
            else "mrr"
        ): pd.Series([], dtype=np.float64),
        "status": pd.Series([], dtype=TEXT),
    }
    if explain:
        for stem, dtype in (
            ("reason", TEXT),
            ("reason_group", TEXT),
            ("reason_weight", np.float64),
            ("reason_feature", TEXT),
        ):
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
        cols[name] = pd.Series([], dtype=TEXT if text_like(dtype) else dtype)
    return pd.DataFrame(cols)


def _score_partition(
    spec: PartitionSpec, shared: tuple, customers, activity, payments, tickets
) -> pd.DataFrame:
    pipeline, stamp, explain, meta = shared
    data = partition_data(spec, customers, activity, payments, tickets)
    if data is None:
        return meta
    pop = population(data, [stamp], **pipeline.population_rule())
    if len(pop) == 0:
        return meta
    scores = pipeline.score(data, stamp, explain=explain, progress=False).reset_index()
    extra = [c for c in meta.columns if c not in scores.columns]
    if extra:
        table = data.customers.set_index("customer_id")[extra]
        scores = scores.join(table, on="customer_id")
    return conform(scores, meta)


def score_customers_dask(
    pipeline: ChurnPipeline,
    data: Any,
    as_of: Any = None,
    *,
    explain: bool = True,
    extra_columns: Sequence[str] = (),
) -> Any:
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
        of :meth:`ChurnPipeline.score` (unsorted; see
        :func:`~churnpredict.dask.write_at_risk_dask`).
    """
    require_dask()
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(pipeline, "model_")
    parts = as_partitions(data)
    if pipeline.is_snapshot_:
        raise ChurnDataError(
            "the pipeline was trained on a snapshot table; score it with "
            "ChurnPipeline.score (a snapshot fits in memory)"
        )
    present = set(parts.tables)
    absent = sorted(
        {t for b in pipeline.builders_ for t in b.tables if t != "customers" and t not in present}
    )
    if absent:
        raise ChurnDataError(
            f"the pipeline was trained with table(s) {absent} that the data lacks; add them, or "
            f"retrain without those families"
        )
    stamp = as_of_time(parts, as_of)
    meta = _scores_meta(pipeline, parts, explain, list(extra_columns))
    shared = (pipeline, stamp, bool(explain), meta)
    return from_delayed(on_partitions(parts, _score_partition, shared), meta)


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
    options: ListOptions | None = None,
) -> tuple[pd.DataFrame, int]:
    """``churnpredict score --scheduler ...``: score on a cluster and write the at-risk list.

    Parameters
    ----------
    pipeline : ChurnPipeline or path-like
        A fitted pipeline or a bundle directory.
    data : path-like, mapping of tables or CustomerPartitions
        A data directory (see :func:`~churnpredict.dask.read_tables`).
    as_of : timestamp-like or None
        Scoring time (None: the latest time in the data).
    out : path-like
        The at-risk list file (``.csv``, ``.parquet``, ``.xlsx``).
    scheduler : Client, address, "local" or None
        See :func:`~churnpredict.dask.dask_client`.
    top, rank_by, min_probability, tiers, actions, extra_columns, options
        The list options, as keywords or as one :class:`~churnpredict._export.ListOptions`
        (see :func:`~churnpredict.dask.write_at_risk_dask`).
    ranked_out : path-like, optional
        Directory for the full ranked list as partitioned Parquet.
    config : path-like or mapping, optional
        Settings with ``columns`` / ``status_map`` for the tables.
    npartitions : int, optional
        Customer partitions (see :func:`~churnpredict.dask.partition_by_customer`).
    explain : bool, default True

    Returns
    -------
    (pandas.DataFrame, int)
        The at-risk list written to ``out`` and the number of customers scored.
    """
    require_dask()
    from .._pipeline import ChurnPipeline

    options = options_or_keywords(
        options,
        top=top,
        rank_by=rank_by,
        min_probability=min_probability,
        tiers=tiers,
        actions=actions,
        extra_columns=tuple(extra_columns) or None,
    )  # before any work
    if not isinstance(pipeline, ChurnPipeline):
        pipeline = ChurnPipeline.load(pipeline)
    settings = settings_of(config)
    with dask_client(scheduler):
        parts = open_data(data, settings, npartitions)
        with whole_data_errors(parts):  # a partition's data error, as the whole data's
            scores = score_customers_dask(
                pipeline, parts, as_of, explain=explain, extra_columns=options.extra_columns
            ).persist()
            n = int(scores.shape[0].compute())
            frame = write_at_risk_dask(
                scores, out, horizon=pipeline.horizon_, ranked_out=ranked_out, options=options
            )
    return frame, n
