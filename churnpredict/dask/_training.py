"""Training on a cluster: the ChurnPipeline recipe with partitioned rows and ``xgboost.dask``.

The rules stay in the core: :meth:`ChurnPipeline.training_plan` settles horizon, labels,
builders and model; :meth:`ChurnModel.plan_fit` / :meth:`ChurnModel.finish_fit` hold the
model recipe; :meth:`ChurnPipeline.set_fitted` installs the result. This module only moves
rows: labels and features per partition, boosters on the workers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._bundle import check_destination
from .._data import EventData
from .._exceptions import ChurnDataError, ChurnModelError
from .._labels import includes_lapsed, training_cutoffs
from ._cluster import dask_client, get_client
from ._features import features_meta, first_row, fit_builders, partitioned_features
from ._frames import Progress, require_dask
from ._labels import RowsSpec, RowsSummary
from ._partitions import (
    CustomerPartitions,
    as_of_time,
    as_partitions,
    on_partitions,
    open_data,
    partition_data,
    settings_of,
    whole_data_errors,
)

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from .._model import ChurnModel
    from .._pipeline import ChurnPipeline

__all__ = ["fit_dask", "train_dask", "REFERENCE_ROWS"]

#: Rows of the latest training cutoff (at most) behind a Dask-trained bundle's drift
#: reference and reason percentiles: a uniform sample of them.
REFERENCE_ROWS = 50_000


def _category_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as float codes (NaN when missing), others unchanged."""
    cols = {
        c: frame[c].cat.codes.astype(np.float64).where(frame[c].notna())
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
    }
    return frame.assign(**cols) if cols else frame


def _train_booster(
    client: Client,
    model: ChurnModel,
    feats: Any,
    names: list[str],
    meta: pd.DataFrame,
    summary: RowsSummary,
) -> ChurnModel:
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
    compact = pd.MultiIndex.from_arrays(
        [np.zeros(len(counts), dtype=np.int64), cut_level], names=["customer_id", "cutoff"]
    )
    plan = model.plan_fit(
        compact, counts.index.get_level_values("churned").to_numpy(), counts=counts.to_numpy()
    )

    # Categories as their codes, marked categorical: the category lists are the builders'
    # (the same in every partition), and a worker may then hold no row of a fold.
    feats = feats.map_partitions(_category_codes, meta=_category_codes(meta))
    types = ["c" if c in categorical else "float" for c in names]
    X, y = feats[names], feats["churned"]
    in_train = feats["cutoff"].isin(list(plan.train_cutoffs))
    in_valid = feats["cutoff"].isin(list(plan.valid_cutoffs))
    X_valid, y_valid_lazy = X[in_valid], y[in_valid]

    def matrix(kind: Any, data: Any, label: Any = None, **kwargs: Any) -> Any:
        return kind(
            client, data, label, missing=np.nan, feature_names=names, feature_types=types, **kwargs
        )

    dtrain = matrix(xgb.dask.DaskQuantileDMatrix, X[in_train], y[in_train])
    dvalid = matrix(xgb.dask.DaskQuantileDMatrix, X_valid, y_valid_lazy, ref=dtrain)
    dvalid_x = matrix(xgb.dask.DaskDMatrix, X_valid)
    y_valid: list[np.ndarray] = []

    def train_candidate(params: dict[str, Any]) -> tuple[int, np.ndarray, np.ndarray]:
        with xgb.config_context(verbosity=0):
            booster = xgb.dask.train(
                client,
                params,
                dtrain,
                num_boost_round=int(model.n_estimators),
                evals=[(dvalid, "validation")],
                early_stopping_rounds=model.early_stopping_rounds,
                verbose_eval=False,
            )["booster"]
        best_it = model.best_round(booster)
        lazy_margin = xgb.dask.predict(
            client, booster, dvalid_x, output_margin=True, iteration_range=(0, best_it + 1)
        )
        if not y_valid:  # same partitions, same order as the margins
            y_valid.append(y_valid_lazy.compute().to_numpy(dtype=np.int8))
        return best_it, np.asarray(lazy_margin.compute(), dtype=np.float64), y_valid[0]

    def refit(params: dict[str, Any], rounds: int) -> Any:
        dall = matrix(xgb.dask.DaskQuantileDMatrix, X, y)
        with xgb.config_context(verbosity=0):
            return xgb.dask.train(client, params, dall, num_boost_round=rounds, verbose_eval=False)[
                "booster"
            ]

    return model.finish_fit(plan, train_candidate, refit)


def _latest_sample(feats: Any, summary: RowsSummary, names: list[str]) -> pd.DataFrame:
    """A uniform sample of at most :data:`REFERENCE_ROWS` rows of the latest cutoff."""
    at_latest = summary.counts[summary.counts.index.get_level_values("cutoff") == summary.latest]
    n = max(int(at_latest.sum()), 1)
    rows = feats[feats["cutoff"] == summary.latest]
    if n > REFERENCE_ROWS:
        rows = rows.sample(frac=REFERENCE_ROWS / n, random_state=0)
    frame = rows.compute().set_index(["customer_id", "cutoff"])
    return frame[names]


def _references(model: ChurnModel, X: pd.DataFrame, info: pd.DataFrame) -> dict[str, Any]:
    """The drift reference and the reason percentiles, facts and directions of a fit."""
    from .._drift import reference_distribution
    from .._explain import reference_percentiles, related_facts, risk_directions

    if len(X) == 0:
        return {}
    return {
        "reference_": reference_distribution(X, model.predict_proba(X)[:, 1]),
        "feature_percentiles_": reference_percentiles(X),
        "reason_facts_": related_facts(X, info),
        "reason_directions_": risk_directions(model, X, info),
    }


def _recurring_partition(
    spec: Any, _shared: Any, customers, activity, payments, tickets
) -> tuple[float, int]:
    """:func:`~churnpredict._training.recurring_share` of one partition's payments."""
    from .._training import recurring_share

    data = partition_data(spec, customers, activity, payments, tickets)
    if data is None or data.payments is None:
        return 0.0, 0
    return recurring_share(data)


def business_on_partitions(
    pipeline: ChurnPipeline, parts: CustomerPartitions, whole: EventData
) -> tuple[str, str]:
    """The business kind and why, decided as :func:`~churnpredict.business_kind` decides it.

    A kind that is set is taken; with "auto" the customers table decides on the client when
    it can (``churned_at``, ``mrr``), else the payments, their recurring share summed over
    the partitions. An activity log alone is told apart (a shop's orders from an app's use)
    on one machine only: "auto" is then refused, asking for the kind.

    Raises
    ------
    ChurnModelError
        With ``business="auto"``, no ``churned_at`` or ``mrr`` and no payments.
    """
    from .._training import business_kind, customers_kind, payments_kind

    if pipeline.business != "auto":
        return business_kind(whole, pipeline.business)
    told = customers_kind(whole)
    if told is not None:
        return told
    if parts.payments is None:
        raise ChurnModelError(
            "business='auto' cannot be decided on Dask for this data: customers have no "
            "churned_at or mrr and there are no payments, so only the activity log could tell "
            "a shop's orders from an app's use, which is decided on one machine; set "
            "business='purchases' or business='usage' (churnpredict train --business)"
        )
    import dask

    shares = dask.compute(*on_partitions(parts, _recurring_partition, None))
    n = sum(k for _share, k in shares)
    recurring = sum(share * k for share, k in shares)
    return payments_kind(recurring / n if n else 0.0, int(n))


def fit_dask(
    pipeline: ChurnPipeline,
    data: Any,
    *,
    as_of: Any = None,
    client: Any = None,
    persist: bool = False,
    progress: Progress | None = None,
) -> ChurnPipeline:
    """Fit a ChurnPipeline on a Dask cluster: partitioned features, ``xgboost.dask`` training.

    Labels and features are built per customer partition with the same code as
    :meth:`ChurnPipeline.fit`; builders are fitted by parts (statistics per partition,
    combined: see :class:`~churnpredict.FeatureBuilder`). The model follows
    :class:`~churnpredict._model.ChurnModel`'s recipe: the latest cutoffs validate (early
    stopping and calibration), purged training cutoffs, parameter search when ``tune``, then
    a refit on all rows, all with ``xgboost.dask``. The result is an ordinary fitted
    pipeline: ``pipeline.save(path)`` writes the usual bundle.

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
    The drift reference (``reference_``) and the reason percentiles (``feature_percentiles_``,
    ``reason_facts_``) come from a uniform sample of at most :data:`REFERENCE_ROWS` rows of
    the latest training cutoff (a pandas fit takes the percentiles over every training row).
    """
    require_dask()

    from .._model import ChurnModel
    from .._pipeline import ChurnPipeline
    from .._training import (
        LabelCounts,
        check_outcome_columns,
        describe_feature_columns,
        required_inputs,
        static_columns,
        training_summary,
        warn_if_learned_nothing,
    )

    if not isinstance(pipeline, ChurnPipeline):
        raise ChurnModelError(f"pipeline must be a ChurnPipeline, got {type(pipeline).__name__}")
    client = get_client(client)
    parts = as_partitions(data)
    whole = EventData(parts.customers_frame)
    plan = pipeline.training_plan(whole, business=business_on_partitions(pipeline, parts, whole))
    horizon, kind, builders, model = plan.horizon, plan.label_kind, plan.builders, plan.model
    if not isinstance(model, ChurnModel):
        raise ChurnModelError(
            f"Dask training supports ChurnModel only, got {type(model).__name__}; fit other "
            f"models with ChurnPipeline.fit on a sample"
        )
    total = 4
    as_of = as_of_time(parts, as_of)
    cutoffs = training_cutoffs(whole, as_of, horizon, int(pipeline.n_cutoffs), plan.cutoff_freq)
    rows = RowsSpec(cutoffs, kind, pipeline.lookback, horizon, as_of, lapsed=includes_lapsed(kind))
    if persist:
        parts = parts.persist()
    active, summary = fit_builders(parts, builders, rows)
    if summary.n_rows == 0:
        raise ChurnDataError(
            f"no customer is in the population at the training cutoffs "
            f"({cutoffs.min()} .. {cutoffs.max()}); use a later as_of or check signup_at"
        )
    check_outcome_columns(whole.customers, static_columns(active), summary.ids, summary.churned_ids)
    if progress is not None:
        progress("labels", 1, total)
    local, row = first_row(parts, summary.ids[0], summary.latest)
    meta = features_meta(active, local, row, parts.spec.id_dtype, labels=True)
    feats = client.persist(partitioned_features(parts, rows, active, meta))
    if progress is not None:
        progress("features", 2, total)
    names = [c for c in meta.columns if c not in ("customer_id", "cutoff", "churned")]
    fitted = _train_booster(client, model, feats, names, meta, summary)
    info = describe_feature_columns(active, names)
    references = _references(fitted, _latest_sample(feats, summary, names), info)
    del feats
    if progress is not None:
        progress("model", 3, total)
    counts = LabelCounts(summary.counts, int(len(summary.ids)), summary.churn_types)
    training = training_summary(counts, len(names))
    warn_if_learned_nothing(fitted, training, stacklevel=2)

    pipeline.set_fitted(
        builders=active,
        model=fitted,
        feature_names=names,
        feature_info=info,
        as_of=as_of,
        cutoffs=summary.counts.index.get_level_values("cutoff"),
        horizon=horizon,
        label_kind=kind,
        is_snapshot=False,
        business=plan.business,
        business_reason=plan.business_reason,
        training_summary=training,
        validation_scores=dict(fitted.validation_scores_),
        training_statuses_=summary.statuses,
        required_inputs_=required_inputs(active, local),
        **references,
    )
    if progress is not None:
        progress("done", total, total)
    return pipeline


def train_dask(
    pipeline: ChurnPipeline,
    data: Any,
    model_dir: str | os.PathLike,
    *,
    as_of: Any = None,
    scheduler: Any = None,
    config: Any = None,
    npartitions: int | None = None,
    persist: bool = False,
    progress: Progress | None = None,
) -> ChurnPipeline:
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
        See :func:`~churnpredict.dask.score_dask`.

    Returns
    -------
    ChurnPipeline
        Fitted.
    """
    require_dask()
    check_destination(model_dir)  # before any work: a wrong destination fails fast
    settings = settings_of(config)
    with dask_client(scheduler) as client:
        parts: CustomerPartitions = open_data(data, settings, npartitions)
        with whole_data_errors(parts):  # a partition's data error, as the whole data's
            fit_dask(
                pipeline, parts, as_of=as_of, client=client, persist=persist, progress=progress
            )
    pipeline.save(model_dir)
    return pipeline
