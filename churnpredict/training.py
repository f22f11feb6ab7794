"""What a training run decides before and around the model: business kind, inputs, ids.

The rules :class:`~churnpredict.pipeline.ChurnPipeline` and the Dask trainer share: how the
business kind is detected, which tables and columns a fitted pipeline needs at scoring, the
driver metadata of its features, the id of a fitted model and the rows drift compares with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import has_fit_parameter

from .data import SCHEMA, EventData
from .exceptions import ChurnModelError
from .features import (
    DRIVER_GROUPS,
    EngagementFeatures,
    FeatureBuilder,
    FeatureRows,
    ProfileFeatures,
    PurchaseHistoryFeatures,
    SupportFeatures,
    as_rows,
    describe_features,
    expected_spend,
)
from .fitplan import validation_cutoff_count
from .jsonstate import JSONStateMixin, to_json
from .labels import training_cutoffs
from .resources import check_memory
from .windows import parse_window

__all__ = [
    "EXPLAIN_BLOCK_ROWS",
    "TrainingPlan",
    "business_kind",
    "check_training_size",
    "cutoff_count",
    "population_bound",
    "sample_training_rows",
    "training_memory",
    "training_rows",
    "auto_sample_share",
    "check_train_sample",
    "fit_builders_within_memory",
    "float32_features",
    "pipeline_summary_rows",
    "sized_training_cutoffs",
    "customer_value",
    "describe_feature_columns",
    "latest_cutoff_rows",
    "model_id",
    "required_inputs",
    "training_summary",
]


def model_id(model: BaseEstimator, feature_names: Sequence[str]) -> str:
    """A short, stable id of a fitted model: sha256 of what decides its predictions.

    For a model with an XGBoost booster: the booster in XGBoost's JSON format, the model's
    fitted state (calibration, categories) and the feature names; for a model with JSON state
    (:class:`~churnpredict.jsonstate.JSONStateMixin`, e.g. ``LogisticBaseline``): that state
    and the feature names; otherwise the model's class, parameters and feature names. The
    first 16 hex digits.
    """
    digest = hashlib.sha256()
    digest.update(f"{type(model).__module__}.{type(model).__qualname__}\n".encode())
    digest.update(json.dumps([str(n) for n in feature_names]).encode())
    booster = getattr(model, "booster_", None)
    if booster is not None:
        digest.update(bytes(booster.save_raw("json")))
        state = to_json(model.fitted_state(), "model state")
    elif isinstance(model, JSONStateMixin):
        state = model.get_state()
    else:
        state = model.get_params(deep=False)
    digest.update(json.dumps(state, sort_keys=True, default=repr).encode())
    return digest.hexdigest()[:16]


def latest_cutoff_rows(X: pd.DataFrame) -> pd.DataFrame:
    """The rows of the latest cutoff (all rows when ``X`` has no cutoff level)."""
    if "cutoff" not in (X.index.names or []):
        return X
    cut = X.index.get_level_values("cutoff")
    return X[cut == cut.max()]


def required_inputs(
    builders: Sequence[FeatureBuilder], data: EventData | None = None
) -> dict[str, list[str]]:
    """Tables and columns the fitted builders read (with ``data``: as found in it).

    Keys are table names, values the columns beyond each table's required ones (sorted): the
    optional columns a family was fitted with (``activity.value``, ``activity.event`` when the
    event types were learned from it, ``tickets.resolved_at`` / ``csat`` / ``priority``) and
    the customer attributes the profile family uses. Scoring data lacking one would give NaN
    features where training had values.
    """
    needed: dict[str, set[str]] = {}
    for builder in builders:
        for table in builder.tables:
            needed.setdefault(table, set())
        cols: dict[str, list[str]] = {}
        if isinstance(builder, EngagementFeatures):
            learned = builder.event_types == "auto" or data is not None
            cols["activity"] = (["value"] if getattr(builder, "has_value_", False) else []) + (
                ["event"] if learned and getattr(builder, "event_types_", None) else []
            )
        elif isinstance(builder, SupportFeatures):
            cols["tickets"] = [
                c
                for c, flag in (
                    ("resolved_at", "has_resolved_"),
                    ("csat", "has_csat_"),
                    ("priority", "has_priority_"),
                )
                if getattr(builder, flag, False)
            ]
        elif isinstance(builder, ProfileFeatures):
            cols["customers"] = list(getattr(builder, "columns_", []))
        elif isinstance(builder, PurchaseHistoryFeatures):
            source = getattr(builder, "source_", None)  # the table orders were read from
            if source is not None:
                needed.setdefault(source, set())
                if source == "activity":
                    cols["activity"] = (
                        ["value"] if getattr(builder, "has_value_", False) else []
                    ) + (["event"] if builder.event else [])
        for table, columns in cols.items():
            frame = None if data is None else getattr(data, table, None)
            present = (
                set(columns) if data is None else (set() if frame is None else set(frame.columns))
            )
            needed.setdefault(table, set()).update(
                c for c in columns if c in present and c not in SCHEMA[table].required
            )
    return {table: sorted(columns) for table, columns in sorted(needed.items())}


# --------------------------------------------------------------------------- business kind
#: A customer with at least this many successful payments shows whether they recur.
_MIN_PAYMENTS = 3
#: Gaps between successful payments whose coefficient of variation is at most this are
#: regular (monthly billing with a retry or two stays well below; orders do not).
_REGULAR_CV = 0.25


def _recurring_share(data: EventData) -> tuple[float, int]:
    """Share of the customers with 3+ successful payments whose payment gaps are regular."""
    ok = (data.payments["status"] == "succeeded").to_numpy(dtype=bool)
    # the cached index the spend features use: events sorted by (customer, time)
    index = data.event_index("payments", mask=ok, key="succeeded")
    codes, times = index.codes.astype(np.int64), index.times
    same = codes[1:] == codes[:-1]
    gaps = (np.diff(times)[same] / 86_400e9).astype(np.float64)
    who = codes[1:][same]
    n = len(data.customers)
    count = np.bincount(who, minlength=n).astype(np.float64)
    total = np.bincount(who, weights=gaps, minlength=n)
    squares = np.bincount(who, weights=gaps * gaps, minlength=n)
    enough = count >= _MIN_PAYMENTS - 1
    if not enough.any():
        return 0.0, 0
    mean = total[enough] / count[enough]
    var = np.maximum(squares[enough] / count[enough] - mean * mean, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.where(mean > 0, np.sqrt(var) / mean, np.inf)
    return float((cv <= _REGULAR_CV).mean()), int(enough.sum())


def business_kind(data: EventData, business: str = "auto") -> tuple[str, str]:
    """Resolve the business kind of ``data``: ``"subscription"`` or ``"purchases"``, and why.

    With ``business="auto"`` the first rule that applies decides:

    1. a snapshot table is ``subscription`` (no events to tell; profile features only);
    2. customers with a ``churned_at`` column: ``subscription`` (cancellations are recorded);
    3. customers with an ``mrr`` column: ``subscription``;
    4. a payments table where at least half of the customers with 3 or more successful
       payments pay at regular intervals (coefficient of variation of the gaps between
       payments at most 0.25): ``subscription`` (recurring billing);
    5. otherwise ``purchases``: no cancellation is recorded and payments, when there are
       any, look like one-off orders, so churn can only mean no purchase (no activity) for a
       while.

    Parameters
    ----------
    data : EventData
    business : {"auto", "subscription", "purchases"}, default "auto"
        A value other than "auto" is returned as it is.

    Returns
    -------
    (str, str)
        The kind and a one-line reason.

    Examples
    --------
    >>> import churnpredict as cp
    >>> business_kind(cp.load_sample())
    ('subscription', 'customers have churned_at: cancellations are recorded')
    """
    if business not in ("auto", "subscription", "purchases"):
        raise ChurnModelError(
            f"business={business!r}; expected 'auto', 'subscription' or 'purchases'"
        )
    if business != "auto":
        return business, f"set: business={business!r}"
    customers = data.customers
    if data.is_snapshot:
        return "subscription", "a snapshot table: no event history to tell a shop from"
    if "churned_at" in customers:
        return "subscription", "customers have churned_at: cancellations are recorded"
    if "mrr" in customers:
        return "subscription", "customers have an mrr column"
    if data.payments is not None:
        share, n = _recurring_share(data)
        if n and share >= 0.5:
            return "subscription", (
                f"no churned_at, but payments recur: {share:.0%} of the {n:,} customers with "
                f"{_MIN_PAYMENTS}+ payments pay at regular intervals"
            )
        if n:
            return "purchases", (
                f"no churned_at, and payments look like one-off orders: only {share:.0%} of "
                f"the {n:,} customers with {_MIN_PAYMENTS}+ payments pay at regular intervals"
            )
        return "purchases", (
            f"no churned_at, and no customer has {_MIN_PAYMENTS}+ payments (no recurring billing)"
        )
    return "purchases", "no churned_at and no payments: churn is inactivity"


def describe_feature_columns(
    builders: Sequence[FeatureBuilder], names: Sequence[str]
) -> pd.DataFrame:
    """Driver group and reason template of each feature column, in ``names`` order.

    Columns a builder does not describe are kept usable: group "profile" and a template
    made from the column name.

    Parameters
    ----------
    builders : sequence of FeatureBuilder
        Fitted builders.
    names : sequence of str
        The feature columns, in training order.

    Returns
    -------
    pandas.DataFrame
        Indexed by feature, with every column of :func:`~churnpredict.features.describe_features`.

    Raises
    ------
    ChurnModelError
        When a builder names a group outside :data:`~churnpredict.features.DRIVER_GROUPS`.
    """
    info = describe_features(builders)
    info = info[~info.index.duplicated()].reindex(names)
    missing = info["group"].isna()
    if missing.any():  # a builder that does not describe a column: keep it usable
        info.loc[missing, "group"] = "profile"
        info.loc[missing, "description"] = [
            str(n).replace("_", " ") + " is {value}" for n in info.index[missing]
        ]
    info["group"] = info["group"].astype(str)
    info["description"] = info["description"].astype(str)
    bad = sorted(set(info["group"]) - set(DRIVER_GROUPS))
    if bad:
        raise ChurnModelError(f"feature metadata names unknown driver groups {bad}")
    return info


@dataclass(frozen=True)
class TrainingPlan:
    """What a pipeline's settings decide for one data set, before any row is built.

    Made by :meth:`ChurnPipeline.training_plan <churnpredict.pipeline.ChurnPipeline.training_plan>`
    for the single-machine fit and the Dask fit alike.

    Attributes
    ----------
    horizon : pandas.Timedelta
    business : str
        ``"subscription"`` or ``"purchases"``.
    business_reason : str
        Why (see :func:`business_kind`).
    label_kind : str
        ``"cancellation"`` or ``"inactivity"``.
    builders : list of FeatureBuilder
        Unfitted clones of the pipeline's builders (or the business's defaults).
    model : estimator
        An unfitted clone of the pipeline's model, its ``horizon`` set when it has one.
    """

    horizon: pd.Timedelta
    business: str
    business_reason: str
    label_kind: str
    builders: list[FeatureBuilder]
    model: Any


def training_summary(
    labels: pd.DataFrame,
    n_features: int,
    *,
    trained: pd.DataFrame | None = None,
    weight: np.ndarray | None = None,
    share: float | None = None,
) -> dict[str, Any]:
    """Rows, customers, cutoffs, churners, churn rate and churn types of training labels.

    Parameters
    ----------
    labels : pandas.DataFrame
        :func:`~churnpredict.labels.label_churn` output (``churned``, optional
        ``churn_type``), indexed by (customer_id, cutoff).
    n_features : int
    trained, weight, share : optional
        With a training sample (:func:`training_rows`): its labels, weights and share; the
        summary then also holds ``n_trained_rows``, ``n_sampled_cutoffs`` and
        ``train_sample``.

    Returns
    -------
    dict
        Plain JSON: what ``ChurnPipeline.training_summary_`` holds.
    """
    y = labels["churned"].to_numpy()
    types: dict[str, int] = {}
    if "churn_type" in labels:
        counts = labels.loc[labels["churned"] == 1, "churn_type"].value_counts()
        types = {str(k): int(v) for k, v in counts.items()}
    return {
        "n_rows": len(labels),
        "n_customers": int(labels.index.get_level_values("customer_id").nunique()),
        "n_cutoffs": int(labels.index.get_level_values("cutoff").nunique()),
        "n_churned": int(y.sum()),
        "positive_rate": float(y.mean()),
        "churn_types": types,
        "n_features": int(n_features),
    } | (
        {}
        if trained is None or weight is None
        else {
            "n_trained_rows": len(trained),
            "n_sampled_cutoffs": int(
                trained.index.get_level_values("cutoff")[weight != 1.0].nunique()
            ),
            "train_sample": share,
        }
    )


def customer_value(
    data: EventData, X: pd.DataFrame, horizon: pd.Timedelta, business: str
) -> pd.DataFrame:
    """What each scored customer is worth: ``mrr`` (subscriptions) or ``expected_spend``.

    Subscriptions: the point-in-time MRR feature, else ``customers.mrr``, else NaN.
    Purchases: :func:`~churnpredict.features.expected_spend` over ``horizon``.

    Parameters
    ----------
    data : EventData
    X : pandas.DataFrame
        Features indexed by (customer_id, cutoff).
    horizon : pandas.Timedelta
    business : {"subscription", "purchases"}

    Returns
    -------
    pandas.DataFrame
        One column, indexed by ``customer_id`` in the order of ``X``.
    """
    customer_ids = X.index.get_level_values("customer_id")
    index = pd.Index(customer_ids, name="customer_id")
    if business == "purchases":
        spend = expected_spend(data, X.index, horizon).to_numpy()
        return pd.DataFrame({"expected_spend": spend}, index=index)
    mrr = (
        X["mrr"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "mrr" in X.columns
        else np.full(len(X), np.nan)
    )
    if "mrr" in data.customers.columns:
        static = data.customers.set_index("customer_id")["mrr"]
        known = (
            pd.to_numeric(static, errors="coerce")
            .reindex(customer_ids)
            .to_numpy(dtype=np.float64, na_value=np.nan)
        )
        mrr = np.where(np.isnan(mrr), known, mrr)
    return pd.DataFrame({"mrr": mrr}, index=index)


# --------------------------------------------------------------------------- size
#: Rows explained at a time when scoring (reasons cost a few KB a row while they are made).
EXPLAIN_BLOCK_ROWS = 100_000
#: Bytes a training row costs besides its features: labels, index, booster state per row.
ROW_BYTES = 200
#: Bytes per feature value of a training row: the float64 feature frame, the builders'
#: temporaries (at most about as much again) and the booster's binned copy.
FEATURE_BYTES = 17
#: Bytes per event of the indexes the feature families build (keys, flags).
EVENT_INDEX_BYTES = 12
#: The booster's blocks in flight and its working memory.
BOOSTER_BYTES = 768 << 20


def cutoff_count(data: EventData, end: pd.Timestamp, n_cutoffs: int, freq: pd.Timedelta) -> int:
    """How many of ``n_cutoffs`` cutoffs ``freq`` apart, the latest ``end``, can hold customers.

    Cutoffs at or before the first signup hold nobody and are dropped
    (:func:`~churnpredict.labels.training_cutoffs`); counting them first keeps a huge
    ``n_cutoffs`` from being laid out at all. One more than needed is returned, never fewer.
    """
    first = data.customers["signup_at"].min()
    if pd.isna(first) or end <= first:
        return min(int(n_cutoffs), 1)
    return int(min(int(n_cutoffs), (end - first) // freq + 2))


def population_bound(data: EventData, cutoffs: Any) -> int:
    """Rows of the population at ``cutoffs``, at most: customers signed up before each cutoff
    and not churned by then (inactivity populations are smaller), counted without laying
    the rows out."""
    cuts = np.asarray(pd.DatetimeIndex(cutoffs), dtype="datetime64[ns]")
    signup = np.sort(data.customers["signup_at"].to_numpy(dtype="datetime64[ns]"))
    total = np.searchsorted(signup, cuts, side="left").sum()
    if "churned_at" in data.customers:
        churned = data.customers["churned_at"].to_numpy(dtype="datetime64[ns]")
        churned = np.sort(churned[~np.isnat(churned)])
        total -= np.searchsorted(churned, cuts, side="right").sum()
    return int(max(total, 0))


def training_memory(n_rows: int, n_features: int, n_events: int = 0) -> float:
    """Bytes training adds to the loaded data: rows x features, plus the event indexes
    still to be built (``n_events``, 0 when they are); with ``n_features=0``, the labelled
    rows alone (the check made before any row is laid out)."""
    if n_features <= 0:  # before the builders are fitted: the labelled rows alone
        return float(n_rows * ROW_BYTES)
    return (
        n_rows * (ROW_BYTES + n_features * FEATURE_BYTES)
        + n_events * EVENT_INDEX_BYTES
        + BOOSTER_BYTES
    )


def check_training_size(
    n_rows: int, n_features: int, *, n_cutoffs: int, n_events: int = 0, sampled: bool = False
) -> None:
    """Refuse a training run that will not fit in memory, with the way out.

    Raises
    ------
    ResourceLimitError
        Naming the rows, cutoffs and features, the estimate, what is available and what
        would fit: fewer cutoffs, a training sample (``train_sample``), a Dask cluster.
    """
    needed = training_memory(n_rows, n_features, n_events)

    def fix(fits: float) -> str:
        cutoffs = max(1, int(n_cutoffs * fits * 0.9))
        share = max(0.01, round(fits * 0.9, 2))
        sample = (
            "a smaller train_sample"
            if sampled
            else f"a training sample (train_sample={share:g} keeps every churner and that share "
            f"of the others; --train-sample on the command line)"
        )
        return (
            f"use fewer cutoffs (n_cutoffs={cutoffs} would about fit) or fewer feature windows, "
            f"{sample}, or a Dask cluster (--scheduler)"
        )

    check_memory(
        needed,
        what=f"training on {n_rows:,} rows ({n_cutoffs:,} cutoffs)"
        + (f" x {n_features:,} features" if n_features > 0 else ""),
        fix=fix,
    )


def sample_training_rows(
    labels: pd.DataFrame, share: float, *, keep_latest: int = 0, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every churner and a random ``share`` of the other rows of each cutoff, with weights.

    Parameters
    ----------
    labels : pandas.DataFrame
        :func:`~churnpredict.labels.label_churn` output, indexed by (customer_id, cutoff).
    share : float
        In (0, 1]: the share of the non-churners kept at each sampled cutoff.
    keep_latest : int, default 0
        The latest cutoffs kept whole (the model's validation fold: early stopping and the
        calibration map then see every row).
    seed : int, default 0
        The same labels, share and seed keep the same rows.

    Returns
    -------
    labels : pandas.DataFrame
        The kept rows, in their order.
    weight : ndarray of float
        How many rows each kept row stands for: 1 for churners and whole cutoffs, and
        (non-churners of the cutoff) / (those kept) for the others, so weighted counts and
        rates are those of all the rows.
    """
    cut = labels.index.get_level_values("cutoff")
    churned = labels["churned"].to_numpy() == 1
    cutoffs = pd.DatetimeIndex(cut.unique()).sort_values()
    sampled = cutoffs[: max(0, len(cutoffs) - int(keep_latest))]
    keep = np.ones(len(labels), dtype=bool)
    weight = np.ones(len(labels), dtype=np.float64)
    rng = np.random.default_rng(seed)
    codes = pd.Index(cutoffs).get_indexer(cut)
    for k, stamp in enumerate(cutoffs):  # a dozen cutoffs, each vectorised over its rows
        if stamp not in sampled:
            continue
        others = np.flatnonzero((codes == k) & ~churned)
        n_keep = max(1, round(share * len(others))) if len(others) else 0
        if n_keep >= len(others):
            continue
        chosen = np.zeros(len(others), dtype=bool)
        chosen[rng.choice(len(others), n_keep, replace=False)] = True
        keep[others[~chosen]] = False
        weight[others[chosen]] = len(others) / n_keep
    return labels[keep], weight[keep]


#: ``train_sample="auto"`` samples when the sampled cutoffs hold more rows than this...
AUTO_SAMPLE_FROM = 500_000
#: ...keeping about this many of them (every churner and a share of the others)...
AUTO_SAMPLE_ROWS = 400_000
#: ...but never less than this share of the others.
AUTO_SAMPLE_MIN_SHARE = 0.1


def check_train_sample(value: Any) -> None:
    """Refuse a ``train_sample`` other than "auto", None or a share in (0, 1]."""
    if value in (None, "auto"):
        return
    if isinstance(value, bool) or not isinstance(value, (float, int)) or not 0 < value <= 1:
        raise ChurnModelError(f"train_sample={value!r}; expected 'auto', a share in (0, 1] or None")


def auto_sample_share(labels: pd.DataFrame, keep_latest: int) -> float | None:
    """The share of non-churners ``train_sample="auto"`` keeps; None: every row.

    Big data only: when the cutoffs that would be sampled (all but the ``keep_latest``
    latest) hold more than :data:`AUTO_SAMPLE_FROM` rows, every churner and enough of the
    others to keep about :data:`AUTO_SAMPLE_ROWS` rows, and at least
    :data:`AUTO_SAMPLE_MIN_SHARE` of them. Measured on the generator's data (see
    ``docs/performance_end_to_end.md``): on 200,000 customers the sample's ROC AUC on the
    next horizon is within 0.002 of every row's, in a fraction of the time and memory.
    """
    cut = labels.index.get_level_values("cutoff")
    latest = pd.DatetimeIndex(cut.unique()).sort_values()[-keep_latest:]
    sampled = ~np.asarray(cut.isin(latest))
    n_rows = int(sampled.sum())
    if n_rows <= AUTO_SAMPLE_FROM:
        return None
    churned = int((labels["churned"].to_numpy()[sampled] == 1).sum())
    others = n_rows - churned
    share = max(AUTO_SAMPLE_MIN_SHARE, (AUTO_SAMPLE_ROWS - churned) / max(others, 1))
    return None if share >= 1 else round(share, 3)


def training_rows(
    model: Any, labels: pd.DataFrame, train_sample: float | str | None
) -> tuple[pd.DataFrame, np.ndarray | None, float | None]:
    """The labelled rows a fit builds features for, their weights and the share kept.

    With ``train_sample`` (a share, or "auto": :func:`auto_sample_share`),
    :func:`sample_training_rows` keeps every churner and that share of the others, but the
    model's validation cutoffs (at least the latest) whole. Weights and share are None when
    every row is kept.

    Raises
    ------
    ChurnModelError
        When a share is asked of a model whose ``fit`` takes no ``sample_weight``.
    """
    n_cutoffs = labels.index.get_level_values("cutoff").nunique()
    params = model.get_params(deep=False)
    keep = max(
        1,
        validation_cutoff_count(params["validation_cutoffs"], n_cutoffs)
        if "validation_cutoffs" in params
        else 1,
    )
    weighted = has_fit_parameter(model, "sample_weight")
    share = train_sample
    if share == "auto":
        share = auto_sample_share(labels, keep) if weighted else None
    if share is None or float(share) >= 1:
        return labels, None, None
    if not weighted:
        raise ChurnModelError(
            f"train_sample needs a model whose fit takes sample_weight; "
            f"{type(model).__name__} does not (use ChurnModel, or train_sample=None)"
        )
    kept, weight = sample_training_rows(labels, float(share), keep_latest=keep)
    return kept, weight, float(share)


def sized_training_cutoffs(
    data: EventData, as_of: pd.Timestamp, horizon: pd.Timedelta, n_cutoffs: int, freq: Any
) -> pd.DatetimeIndex:
    """:func:`~churnpredict.labels.training_cutoffs`, counted and sized before any row exists.

    Cutoffs before the first signup are not laid out at all (see :func:`cutoff_count`), and
    the population they would hold is checked against the memory available.

    Raises
    ------
    ResourceLimitError
        When the rows of those cutoffs alone would not fit.
    """
    n = cutoff_count(data, as_of - horizon, n_cutoffs, parse_window(freq))
    cutoffs = training_cutoffs(data, as_of, horizon, n, freq)
    check_training_size(population_bound(data, cutoffs), 0, n_cutoffs=len(cutoffs))
    return cutoffs


def fit_builders_within_memory(
    data: EventData, labels: pd.DataFrame, builders: Sequence[FeatureBuilder], *, sampled: bool
) -> FeatureRows:
    """Fit the builders on the rows of ``labels``, then check that their columns will fit.

    Returns the rows as :class:`~churnpredict.features.FeatureRows`, for
    ``build_features(data, rows, builders, fit=False)``.

    Raises
    ------
    ResourceLimitError
        When rows x columns (and the event indexes still to build) will not fit in memory.
    """
    rows = as_rows(data, labels.index)
    for builder in builders:
        builder.fit(data, rows)
    check_training_size(
        len(rows),
        sum(len(b.get_feature_names_out()) for b in builders),
        n_cutoffs=labels.index.get_level_values("cutoff").nunique(),
        n_events=sum(len(t) for name, t in data.tables.items() if name != "customers"),
        sampled=sampled,
    )
    return rows


def float32_features(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its float64 columns as float32 (other columns as they are).

    What XGBoost reads anyway (it casts every input to float32), in half the memory: the
    booster is the same, split for split.
    """
    return X.astype({c: np.float32 for c in X.columns if X[c].dtype == np.float64})


def pipeline_summary_rows(pipeline: Any) -> list[tuple[str, str, Any]]:
    """The rows of a fitted :class:`~churnpredict.pipeline.ChurnPipeline`'s ``summary``:
    training window, rows, churn rate, churn types, statuses and validation scores."""
    t = pipeline.training_summary_
    rows: list[tuple[str, str, Any]] = [
        ("training", "as_of", pipeline.as_of_),
        ("training", "business", getattr(pipeline, "business_", "subscription")),
        ("training", "business_reason", getattr(pipeline, "business_reason_", "")),
        ("training", "label", pipeline.label_kind_),
        ("training", "horizon", pipeline.horizon_),
        ("training", "first_cutoff", pipeline.cutoffs_.min()),
        ("training", "last_cutoff", pipeline.cutoffs_.max()),
        ("training", "n_cutoffs", t["n_cutoffs"]),
        ("training", "n_rows", t["n_rows"]),
        ("training", "n_customers", t["n_customers"]),
        ("training", "positive_rate", t["positive_rate"]),
        ("training", "n_features", t["n_features"]),
    ]
    if "n_trained_rows" in t:  # a training sample
        rows.append(("training", "n_trained_rows", t["n_trained_rows"]))
    rows += [("churn_type", k, v) for k, v in t["churn_types"].items()]
    rows += [("status", k, v) for k, v in getattr(pipeline, "training_statuses_", {}).items()]
    rows += [("validation", k, v) for k, v in pipeline.validation_scores_.items()]
    return rows
