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

from .data import SCHEMA, EventData
from .exceptions import ChurnModelError
from .features import (
    DRIVER_GROUPS,
    EngagementFeatures,
    FeatureBuilder,
    ProfileFeatures,
    PurchaseHistoryFeatures,
    SupportFeatures,
    describe_features,
    expected_spend,
)
from .jsonstate import JSONStateMixin, to_json

__all__ = [
    "TrainingPlan",
    "business_kind",
    "customer_value",
    "describe_feature_columns",
    "latest_cutoff_rows",
    "model_id",
    "required_inputs",
    "season_gap",
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


def training_summary(labels: pd.DataFrame, n_features: int) -> dict[str, Any]:
    """Rows, customers, cutoffs, churners, churn rate and churn types of training labels.

    Parameters
    ----------
    labels : pandas.DataFrame
        :func:`~churnpredict.labels.label_churn` output (``churned``, optional
        ``churn_type``), indexed by (customer_id, cutoff).
    n_features : int

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
    }


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


#: The scoring horizon is in an unseen part of the year when training horizons cover less
#: than this share of its days of the year.
SEASON_COVERAGE = 0.5


def _days_of_year(starts: Any, days: int) -> np.ndarray:
    """Which of the 365 days of the year the horizons ``[start, start + days)`` touch."""
    seen = np.zeros(365, dtype=bool)
    for start in pd.DatetimeIndex(starts):
        first = (start - pd.Timestamp(start.year, 1, 1)).days
        seen[(first + np.arange(min(days, 365))) % 365] = True
    return seen


def season_gap(
    labels: pd.DataFrame,
    horizon: pd.Timedelta,
    as_of: pd.Timestamp,
    data_start: pd.Timestamp,
    cutoff_freq: Any,
) -> str | None:
    """Why probabilities may be off in the horizon after ``as_of``, or None.

    The horizon scored right after training, ``[as_of, as_of + horizon)``, is compared by
    day of the year with the training horizons ``[cutoff, cutoff + horizon)``: when they
    cover less than :data:`SEASON_COVERAGE` of its days, churn in that part of the year
    was never seen, and a seasonal business may churn more or less than the model expects
    (its ranking holds better than its probabilities).

    Parameters
    ----------
    labels : pandas.DataFrame
        Training labels (``churned``) indexed by (customer_id, cutoff).
    horizon : pandas.Timedelta
    as_of : pandas.Timestamp
        The end of training: the next scoring time.
    data_start : pandas.Timestamp
        The first event: whether a year earlier could have been used.
    cutoff_freq : duration
        Spacing of the training cutoffs.

    Returns
    -------
    str or None
        A warning message naming the dates, the training churn rates and what to do.
    """
    from .windows import parse_window

    days = max(int(horizon / pd.Timedelta(days=1)), 1)
    cutoffs = labels.index.get_level_values("cutoff").unique().sort_values()
    if len(cutoffs) == 0:
        return None
    scored = _days_of_year([as_of], days)
    covered = (scored & _days_of_year(cutoffs, days)).sum() / scored.sum()
    if covered >= SEASON_COVERAGE:
        return None
    rates = labels.groupby(level="cutoff")["churned"].mean()
    end = as_of + horizon
    message = (
        f"the scoring horizon after {as_of:%Y-%m-%d} ({as_of:%d %b}-{end:%d %b}) falls in a "
        f"part of the year no training horizon covered ({covered:.0%} of its days; training "
        f"horizons ran from {cutoffs[0]:%Y-%m-%d} to {cutoffs[-1] + horizon:%Y-%m-%d}, with "
        f"churn rates from {rates.min():.1%} to {rates.max():.1%}): if churn is seasonal, "
        f"the probabilities may run high or low there while the ranking holds. Compare the "
        f"mean predicted with the observed churn once the first outcomes are in "
        f"(churnpredict evaluate) and recalibrate (churnpredict recalibrate)"
    )
    freq = parse_window(cutoff_freq)
    if data_start <= as_of - pd.Timedelta(days=365):
        needed = int(np.ceil((pd.Timedelta(days=365) - horizon) / freq)) + 1
        message += f", or train with n_cutoffs={needed} to reach the same weeks a year earlier"
    return message
