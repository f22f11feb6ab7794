"""What a training run decides before and around the model: business kind, inputs, ids.

The rules :class:`~churnpredict._pipeline.ChurnPipeline` and the Dask trainer share: how the
business kind is detected, which tables and columns a fitted pipeline needs at scoring, the
driver metadata of its features, the id of a fitted model and the rows drift compares with.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ._data import SCHEMA, EventData
from ._exceptions import ChurnDataError, ChurnModelError, ModelQualityWarning
from ._jsonstate import JSONStateMixin, to_json
from ._labels import known_at, log_start, span_advice
from ._tables import mapping_error, toml_key
from ._windows import SPAN_HORIZONS, duration_words, fitting_horizon, parse_window
from .features import (
    BUSINESS_KINDS,
    DRIVER_GROUPS,
    EngagementFeatures,
    FeatureBuilder,
    ProfileFeatures,
    PurchaseHistoryFeatures,
    SupportFeatures,
    describe_features,
)

__all__ = [
    "CHANCE_AUC",
    "DEFAULT_CUTOFF_FREQ",
    "DEFAULT_HORIZON",
    "Schedule",
    "TrainingPlan",
    "business_kind",
    "check_labels",
    "check_outcome_columns",
    "outcome_columns",
    "pipeline_summary_rows",
    "describe_feature_columns",
    "fit_windows",
    "latest_cutoff_rows",
    "learned_nothing",
    "model_id",
    "required_inputs",
    "static_columns",
    "training_schedule",
    "training_summary",
]


def model_id(model: BaseEstimator, feature_names: Sequence[str]) -> str:
    """A short, stable id of a fitted model: sha256 of what decides its predictions.

    For a model with an XGBoost booster: the booster in XGBoost's JSON format, the model's
    fitted state (calibration, categories) and the feature names; for a model with JSON state
    (:class:`~churnpredict._jsonstate.JSONStateMixin`, e.g. ``LogisticBaseline``): that state
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
        for table, columns in _columns_read(builder, data).items():
            needed.setdefault(table, set()).update(_present_optional(columns, table, data))
    return {table: sorted(columns) for table, columns in sorted(needed.items())}


def _columns_read(builder: FeatureBuilder, data: EventData | None) -> dict[str, list[str]]:
    """The optional columns a fitted builder of a shipped family reads, per table."""
    if isinstance(builder, EngagementFeatures):
        learned = builder.event_types == "auto" or data is not None
        return {
            "activity": (["value"] if getattr(builder, "has_value_", False) else [])
            + (["event"] if learned and getattr(builder, "event_types_", None) else [])
        }
    if isinstance(builder, SupportFeatures):
        flags = (
            ("resolved_at", "has_resolved_"),
            ("csat", "has_csat_"),
            ("priority", "has_priority_"),
        )
        return {"tickets": [c for c, name in flags if getattr(builder, name, False)]}
    if isinstance(builder, ProfileFeatures):
        return {"customers": list(getattr(builder, "columns_", []))}
    if isinstance(builder, PurchaseHistoryFeatures):
        return _purchase_columns(builder)
    return {}


def _purchase_columns(builder: PurchaseHistoryFeatures) -> dict[str, list[str]]:
    """The table orders were read from, and the activity columns they need."""
    source = getattr(builder, "source_", None)
    if source is None:
        return {}
    if source != "activity":
        return {source: []}
    value = ["value"] if getattr(builder, "has_value_", False) else []
    return {"activity": value + (["event"] if builder.event else [])}


def _present_optional(columns: list[str], table: str, data: EventData | None) -> set[str]:
    """``columns`` beyond the table's required ones (with ``data``: those present in it)."""
    if data is None:
        present = set(columns)
    else:
        frame = getattr(data, table, None)
        present = set() if frame is None else set(frame.columns)
    return {c for c in columns if c in present and c not in SCHEMA[table].required}


# --------------------------------------------------------------------------- business kind
#: A customer with at least this many successful payments shows whether they recur.
_MIN_PAYMENTS = 3
#: Gaps between successful payments whose coefficient of variation is at most this are
#: regular (monthly billing with a retry or two stays well below; orders do not).
_REGULAR_CV = 0.25


def recurring_share(data: EventData) -> tuple[float, int]:
    """Share of the customers with 3+ successful payments whose payment gaps are regular.

    Returns
    -------
    (float, int)
        The share, and how many customers have 3+ successful payments. Over disjoint parts
        of the customers, ``sum(share * n) / sum(n)`` is the share of the whole.
    """
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


#: Event types holding at least this share of the events count as types of use.
_TYPE_SHARE = 0.01
#: A customer active on at least this share of the days from their first to their last
#: event uses a service regularly; shoppers buy on a few percent of their days.
_REGULAR_USE = 0.1
#: Customers with this many active days show how regularly they come (at least
#: ``_MIN_REGULAR_CUSTOMERS`` such customers are needed to tell).
_MIN_ACTIVE_DAYS = 3
_MIN_REGULAR_CUSTOMERS = 10
#: Share of values without one, or with more than two decimals, that shows ``value`` is
#: not money.
_NOT_MONEY_SHARE = 0.05
_DAY_NS = 86_400 * 10**9


def _event_types(activity: pd.DataFrame) -> int:
    """Event types holding at least :data:`_TYPE_SHARE` of the events (0 without ``event``)."""
    if "event" not in activity.columns or len(activity) == 0:
        return 0
    shares = activity["event"].value_counts(normalize=True, dropna=True)
    return int((shares >= _TYPE_SHARE).sum())


def _regular_use(data: EventData) -> float | None:
    """Median share of active days between each customer's first and last event.

    Over the customers with :data:`_MIN_ACTIVE_DAYS` or more active (UTC) days; None with
    fewer than :data:`_MIN_REGULAR_CUSTOMERS` of them.
    """
    index = data.event_index("activity")
    codes, day = index.codes.astype(np.int64), index.times.astype(np.int64) // _DAY_NS
    if len(codes) == 0:
        return None
    new = np.ones(len(codes), dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (day[1:] != day[:-1])
    n = len(data.customers)
    active = np.bincount(codes[new], minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, codes[new], day[new])
    np.maximum.at(last, codes[new], day[new])
    enough = active >= _MIN_ACTIVE_DAYS
    if enough.sum() < _MIN_REGULAR_CUSTOMERS:
        return None
    return float(np.median(active[enough] / (last[enough] - first[enough] + 1)))


def _money_like(activity: pd.DataFrame) -> bool | None:
    """True when every event has a value in whole cents, False when many lack one or have
    finer decimals (song lengths, scores), None without a ``value`` column."""
    if "value" not in activity.columns or len(activity) == 0:
        return None
    values = activity["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    known = values[~np.isnan(values)]
    fine = np.abs(known * 100 - np.round(known * 100)) > 1e-6
    missing = 1 - len(known) / len(values)
    if missing >= _NOT_MONEY_SHARE or (len(known) and fine.mean() >= _NOT_MONEY_SHARE):
        return False
    return bool(missing == 0 and not fine.any())


def _log_kind(data: EventData) -> tuple[str | None, str]:
    """``"usage"``, ``"purchases"`` or None (cannot tell) for an activity log, and why."""
    activity = data.activity
    types, use, money = _event_types(activity), _regular_use(data), _money_like(activity)
    said = [f"{types} event type{'s' if types != 1 else ''}"]
    if use is not None:
        said.append(f"customers active on a median {use:.0%} of their days")
    votes = {"types": "usage" if types >= 2 else "purchases"}
    if use is not None:
        votes["use"] = "usage" if use >= _REGULAR_USE else "purchases"
    value = {True: "purchases", False: "usage"}.get(money)  # type: ignore[arg-type]
    behaviour = list(said)
    if value is not None:
        said.append(
            "every value in whole cents" if money else "values that are not amounts of money"
        )
    evidence = ", ".join(said)
    if len(set(votes.values())) == 1 and len(votes) == 2:
        kind = votes["types"]
    elif value is not None and value in votes.values():
        kind = value
    else:
        return None, evidence
    if kind == "usage":  # values that look like money say nothing of use: left unsaid
        return kind, f"an event log of use: {', '.join(said if money is False else behaviour)}"
    return kind, f"no churned_at and no payments; orders logged as activity: {evidence}"


def customers_kind(data: EventData) -> tuple[str, str] | None:
    """Rules 1-3 of :func:`business_kind`: what the customers table alone tells, if anything."""
    if data.is_snapshot:
        return "subscription", "a snapshot table: no event history to tell a shop from"
    if "churned_at" in data.customers:
        return "subscription", "customers have churned_at: cancellations are recorded"
    if "mrr" in data.customers:
        return "subscription", "customers have an mrr column"
    return None


def payments_kind(share: float, n: int) -> tuple[str, str]:
    """Rules 4 and 5 of :func:`business_kind`: recurring payments, or one-off orders.

    Parameters
    ----------
    share, n
        :func:`recurring_share` of the payments.
    """
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


def business_kind(data: EventData, business: str = "auto") -> tuple[str, str]:
    """Resolve the business kind of ``data``: subscription, purchases or usage, and why.

    With ``business="auto"`` the first rule that applies decides:

    1. a snapshot table is ``subscription`` (no events to tell; profile features only);
    2. customers with a ``churned_at`` column: ``subscription`` (cancellations are recorded);
    3. customers with an ``mrr`` column: ``subscription``;
    4. a payments table where at least half of the customers with 3 or more successful
       payments pay at regular intervals (coefficient of variation of the gaps between
       payments at most 0.25): ``subscription`` (recurring billing);
    5. any other payments table: ``purchases``: payments look like one-off orders, so churn
       can only mean no purchase for a while;
    6. only an activity log, its ``value`` declared (``EventData(value_kind=...)``): an
       ``amount`` makes its rows orders (``purchases``), a ``duration`` or ``count`` makes
       it a log of use (``usage``);
    7. only an activity log, undeclared: what the log shows. An app's or service's log has
       several event types (each at least 1% of the events) and customers who come
       regularly (the median customer with 3+ active days is active on at least 10% of the
       days between their first and last event); a shop's orders have one type and come
       on a few percent of days. When the two agree they decide; when they disagree (or
       regularity cannot be measured: fewer than 10 customers with 3+ active days) the
       values decide if they settle it: every value in whole cents reads as money
       (``purchases``), values missing on 5% or more of the events or with finer decimals
       (song lengths, scores) as use (``usage``). Otherwise it cannot tell and raises
       :class:`~churnpredict.ChurnModelError` asking for ``business=``.

    Churn in ``purchases`` and ``usage`` is inactivity: no order, or no use, over the
    horizon. ``usage`` makes no money of the values: no spend, no revenue at risk unless
    customers have ``mrr``.

    Parameters
    ----------
    data : EventData
    business : {"auto", "subscription", "purchases", "usage"}, default "auto"
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
    if business not in ("auto", *BUSINESS_KINDS):
        raise ChurnModelError(
            f"business={business!r}; expected 'auto', 'subscription', 'purchases' or 'usage'"
        )
    declared = getattr(data, "value_kind", None)
    if business == "purchases" and declared in ("duration", "count") and data.payments is None:
        raise ChurnModelError(
            f"business='purchases' reads activity.value as the money of orders, but it is "
            f"declared a {declared} (value_kind={declared!r}); use business='usage', or "
            f"add a payments table for the orders' amounts"
        )
    if business != "auto":
        return business, f"set: business={business!r}"
    told = customers_kind(data)
    if told is not None:
        return told
    if data.payments is not None:
        return payments_kind(*recurring_share(data))
    if data.activity is None:
        return "purchases", "no churned_at and no payments: churn is inactivity"
    if declared == "amount":
        return "purchases", (
            "no churned_at and no payments; activity.value is declared an amount: activity "
            "rows are orders"
        )
    if declared is not None:
        return "usage", (f"an event log of use: activity.value is declared a {declared} of use")
    kind, why = _log_kind(data)
    if kind is None:
        raise ChurnModelError(
            f"cannot tell whether the activity log is a shop's orders or an app's use ({why}); "
            f"set business='purchases' (orders, spend) or business='usage' (sessions, active "
            f"days), or declare value_kind"
        )
    return kind, why


# --------------------------------------------------------------------------- outcome columns
#: A static attribute describes the outcome when (nearly) only the customers who churned have
#: it, or lack it: at least this share of the customers on that side churned...
_OUTCOME_PRECISION = 0.95
#: ... at least this much more often than on the other side (so a data set where almost
#: everyone churns does not make every column an outcome) ...
_OUTCOME_GAP = 0.5
#: ... and at least this many churned customers are on that side (a few is chance).
_OUTCOME_MIN_CUSTOMERS = 10


def check_outcome_columns(
    customers: pd.DataFrame, columns: Sequence[str], row_ids: Any, churned_ids: Any
) -> None:
    """Refuse static attributes whose presence predicts the label: they describe the outcome.

    A column filled only for the customers who left (a cancellation reason, a closing date
    under another name), or only for those who stayed, tells the model who churned: it is
    written when or after the customer leaves, not known before. For each column, the
    training customers are split by whether it has a value; the column is refused when on
    one side at least 95% churned, 50 points more than on the other side, and at least 10
    churned customers are there.

    Parameters
    ----------
    customers : pandas.DataFrame
        The validated customers table (``customer_id`` and the columns).
    columns : sequence of str
        The static attributes used as features (e.g. a fitted ``ProfileFeatures.columns_``).
    row_ids : array-like
        The customers in the training rows.
    churned_ids : array-like
        The customers with at least one churned training row.

    Raises
    ------
    ChurnDataError
        Naming each such column, how many churned and stayed customers have it, and the fix
        (map it as ``churned_at`` / ``churn_type``, or leave it out with ``outcome_columns``).

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": range(40),
    ...                           "reason": ["price"] * 12 + [None] * 28})
    >>> check_outcome_columns(customers, ["reason"], range(40), range(12))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    churnpredict._exceptions.ChurnDataError: customers.reason is filled for 12 of the 12 ...
    """
    found = outcome_columns(customers, columns, row_ids, churned_ids)
    if not found:
        return
    names = list(found)
    col = names[0]
    raise mapping_error(
        "; ".join(f"customers.{c} is {text}" for c, text in found.items())
        + ": it describes the outcome, not the customer before it, so it cannot be a feature",
        f"map it as what it is (a cancellation date: columns={{'customers': {{'{col}': "
        f"'churned_at'}}}}; voluntary/involuntary: 'churn_type'), or leave it out with "
        f"EventData(..., outcome_columns={names!r})",
        f"map it as what it is (a cancellation date: [columns.customers] {toml_key(col)} = "
        f'"churned_at"; voluntary/involuntary: "churn_type"), or leave it out: outcome_columns = '
        f"{json.dumps(names)} in the config",
    )


def outcome_columns(
    customers: pd.DataFrame, columns: Sequence[str], row_ids: Any, churned_ids: Any
) -> dict[str, str]:
    """The columns whose presence predicts the label, each with what shows it.

    The rule of :func:`check_outcome_columns`, which raises on what this returns.

    Returns
    -------
    dict of str -> str
        Column -> e.g. ``"filled for 212 of the 230 customers who churned in training and for
        0 of the 1,770 who stayed"``.
    """
    if not len(columns):
        return {}
    ids = pd.Index(customers["customer_id"])
    rows = ids.get_indexer(pd.unique(np.asarray(row_ids, dtype=object)))
    rows = rows[rows >= 0]
    churned = np.zeros(len(ids), dtype=bool)
    hit = ids.get_indexer(pd.unique(np.asarray(churned_ids, dtype=object)))
    churned[hit[hit >= 0]] = True
    churned = churned[rows]
    found = {}
    for col in columns:
        present = customers[col].notna().to_numpy()[rows]
        for side, name in ((present, "filled"), (~present, "empty")):
            n_side, n_churned = int(side.sum()), int((side & churned).sum())
            other = ~side
            if n_side == 0 or other.sum() == 0 or n_churned < _OUTCOME_MIN_CUSTOMERS:
                continue
            rate, rest = n_churned / n_side, float(churned[other].mean())
            if rate >= _OUTCOME_PRECISION and rate - rest >= _OUTCOME_GAP:
                stayed = int((side & ~churned).sum())
                found[col] = (
                    f"{name} for {n_churned:,} of the {int(churned.sum()):,} customers who "
                    f"churned in training and for {stayed:,} of the {int((~churned).sum()):,} "
                    f"who stayed"
                )
                break
    return found


def static_columns(builders: Sequence[FeatureBuilder]) -> list[str]:
    """The customers columns fitted builders use as static attributes (profile columns)."""
    return [
        col
        for builder in builders
        if isinstance(builder, ProfileFeatures)
        for col in getattr(builder, "columns_", [])
    ]


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


#: The horizon and cutoff spacing of a log long enough for them (see
#: :func:`training_schedule`).
DEFAULT_HORIZON = pd.Timedelta(days=28)
DEFAULT_CUTOFF_FREQ = pd.Timedelta(days=14)


@dataclass(frozen=True)
class Schedule:
    """The horizon and cutoff spacing a training uses (see :func:`training_schedule`).

    Attributes
    ----------
    horizon, cutoff_freq : pandas.Timedelta
    note : str
        What was chosen from the data and why ("" when nothing was).
    short_log : bool
        The log spans less than four default horizons: default feature windows are fitted
        to it (:func:`fit_windows`).
    """

    horizon: pd.Timedelta
    cutoff_freq: pd.Timedelta
    note: str = ""
    short_log: bool = False


def fit_windows(builders: Sequence[FeatureBuilder], horizon: pd.Timedelta) -> None:
    """Fit the families' default windows to a short log, in place: one and two horizons.

    A log spanning about four horizons (:func:`training_schedule`) holds no 90-day window;
    windows of one and two horizons fit before the later training cutoffs (the latest of
    which the drift reference is taken at), trends compare the last horizon with the one
    before, weekly slopes use up to four horizons of weeks.
    """
    week = pd.Timedelta(days=7)
    for builder in builders:
        params = builder.get_params()
        if "windows" in params:
            builder.set_params(windows=(horizon, 2 * horizon))
        if params.get("trend_window") is not None:
            builder.set_params(trend_window=horizon)
        if params.get("trend_weeks"):
            builder.set_params(trend_weeks=max(2, int(4 * horizon / week)))


def training_schedule(
    data: EventData,
    as_of: Any = None,
    horizon: Any = "auto",
    cutoff_freq: Any = "auto",
    n_cutoffs: int = 12,
) -> Schedule:
    """The horizon and cutoff spacing to train with, ``"auto"`` ones chosen from the data.

    * ``horizon="auto"``: 28 days, or for a log (:func:`~churnpredict._labels.log_start` to
      ``as_of``) spanning less than four times that, the longest horizon it fits
      (:func:`~churnpredict._windows.fitting_horizon`: a quarter of the span in whole weeks,
      whole days under a week), so that history, training cutoffs, the purge gap and the
      validation outcomes all fit.
    * ``cutoff_freq="auto"``: 14 days; on a short log (under four 28-day horizons) half the
      horizon, closer when the span cannot hold ``n_cutoffs`` cutoffs that far apart (the span
      minus two horizons, over ``n_cutoffs - 1``), in whole days, at least one.

    Parameters
    ----------
    data : EventData
    as_of : timestamp-like, optional
        What is known; defaults to the latest time in the data.
    horizon, cutoff_freq : duration or "auto"
    n_cutoffs : int, default 12

    Returns
    -------
    Schedule

    Raises
    ------
    ChurnDataError
        When the log is too short for any horizon (under four days).

    Examples
    --------
    >>> import churnpredict as cp
    >>> schedule = training_schedule(cp.load_sample())
    >>> schedule.horizon, schedule.cutoff_freq, schedule.note
    (Timedelta('28 days 00:00:00'), Timedelta('14 days 00:00:00'), '')
    """
    auto_h, auto_f = horizon == "auto", cutoff_freq == "auto"
    given_h = DEFAULT_HORIZON if auto_h else parse_window(horizon)
    given_f = DEFAULT_CUTOFF_FREQ if auto_f else parse_window(cutoff_freq)
    table, start = log_start(data)
    if start is None or data.is_snapshot:
        return Schedule(given_h, given_f)
    span = known_at(as_of, lambda: data.time_range[1]) - start
    short = span < SPAN_HORIZONS * DEFAULT_HORIZON
    if not (auto_h or auto_f):
        return Schedule(given_h, given_f, "", short)
    fit = fitting_horizon(span)
    if fit is None:
        raise ChurnDataError(f"cannot choose a horizon{span_advice(data, as_of)}")
    chosen_h = min(fit, DEFAULT_HORIZON) if auto_h else given_h
    chosen_f = given_f
    if auto_f and short:
        room = (span - 2 * chosen_h) / max(int(n_cutoffs) - 1, 1)
        days = int(min(chosen_h / 2, room) / pd.Timedelta(days=1))
        chosen_f = pd.Timedelta(days=max(days, 1))
    if (chosen_h, chosen_f) == (DEFAULT_HORIZON, DEFAULT_CUTOFF_FREQ):
        return Schedule(chosen_h, chosen_f, "", short)
    chose = [f"horizon {duration_words(chosen_h)}"] if auto_h else []
    chose += [f"cutoffs {duration_words(chosen_f)} apart"] if auto_f else []
    days = span / pd.Timedelta(days=1)
    windows = (
        f", feature windows of {duration_words(chosen_h)} and {duration_words(2 * chosen_h)}"
        if short
        else ""
    )
    note = (
        f"the {table} log spans {days:,.0f} days: {' and '.join(chose)}{windows}, chosen to "
        f"fit it (set horizon= and cutoff_freq= to choose)"
    )
    return Schedule(chosen_h, chosen_f, note, short)


def check_labels(labels: pd.DataFrame, data: EventData, as_of: Any, horizon: Any) -> None:
    """Refuse training labels of one class with advice that fits the data.

    Raises
    ------
    ChurnDataError
        No churner (a longer horizon or more cutoffs would find some; the log fits at most
        what :func:`~churnpredict._labels.span_advice` says) or only churners (a shorter
        horizon).
    """
    y = labels["churned"].to_numpy()
    if len(y) == 0 or 0 < y.sum() < len(y):
        return
    cuts = labels.index.get_level_values("cutoff")
    where = (
        f"{len(y):,} rows at {cuts.nunique()} training cutoffs ({cuts.min():%Y-%m-%d} .. "
        f"{cuts.max():%Y-%m-%d}) within {duration_words(horizon)}"
    )
    if y.sum() == 0:
        fix = "use a longer horizon or more cutoffs, or check the churn definition (label=)"
        said = f"no customer churned in {where}"
    else:
        fix = "use a shorter horizon, or check that activity holds every customer's use"
        said = f"every customer churned in {where}"
    raise ChurnDataError(f"{said}: nothing to learn from; {fix}{span_advice(data, as_of)}")


#: A validation AUC below this ranks customers about as well as a coin.
CHANCE_AUC = 0.55


def warn_if_learned_nothing(model: Any, summary: dict[str, Any], stacklevel: int) -> None:
    """Warn (:class:`~churnpredict.ModelQualityWarning`), and note it in the training summary
    (``learned_nothing``), when the fitted model learned nothing (:func:`learned_nothing`)."""
    nothing = learned_nothing(model)
    if nothing is not None:
        summary["learned_nothing"] = nothing
        warnings.warn(nothing, ModelQualityWarning, stacklevel=stacklevel + 1)


def learned_nothing(model: Any) -> str | None:
    """Why a fitted model's ranking is no better than chance, or None when it learned.

    A model learned nothing when early stopping kept only its first round (no later tree
    improved the validation log-loss: the features told the validation cutoffs nothing) or
    when its validation AUC is below :data:`CHANCE_AUC`.

    Parameters
    ----------
    model : estimator
        Fitted, with ``validation_scores_`` (and ``best_iteration_`` for boosted models).

    Returns
    -------
    str or None
        The finding, its likely cause and what to do.
    """
    scores = dict(getattr(model, "validation_scores_", {}) or {})
    auc = scores.get("auc")
    n1 = int(scores.get("n_churned", 0) or 0)
    n0 = int(scores.get("n_rows", 0) or 0) - n1
    stopped = getattr(model, "best_iteration_", None) == 0 and (
        getattr(model, "early_stopping_rounds", None) is not None
    )
    chance = auc is not None and auc == auc and auc < CHANCE_AUC
    if not (stopped or chance):
        return None
    said = "nan" if auc is None or auc != auc else f"{auc:.2f}"
    found = (
        "early stopping kept only its first round"
        if stopped
        else f"its validation AUC is {said}, as good as a coin"
    )
    if n1 < 20:
        cause = (
            f"only {n1:,} churners (and {n0:,} stayers) in the validation cutoffs: use more "
            f"cutoffs (n_cutoffs=, cutoff_freq=) or more customers"
        )
    else:
        cause = (
            "the features do not predict the labels: check the churn definition (label=, "
            "horizon=) and that the events are the customers' own use"
        )
    return (
        f"the model learned nothing: {found} (validation AUC {said}); do not act on its "
        f"ranking. Likely cause: {cause}"
    )


@dataclass(frozen=True)
class TrainingPlan:
    """What a pipeline's settings decide for one data set, before any row is built.

    Made by :meth:`ChurnPipeline.training_plan <churnpredict._pipeline.ChurnPipeline.training_plan>`
    for the single-machine fit and the Dask fit alike.

    Attributes
    ----------
    horizon : pandas.Timedelta
    business : str
        ``"subscription"``, ``"purchases"`` or ``"usage"``.
    business_reason : str
        Why (see :func:`business_kind`).
    label_kind : str
        ``"cancellation"`` or ``"inactivity"``.
    builders : list of FeatureBuilder
        Unfitted clones of the pipeline's builders (or the business's defaults).
    model : estimator
        An unfitted clone of the pipeline's model, its ``horizon`` set when it has one.
    cutoff_freq : pandas.Timedelta
        Spacing of the training cutoffs.
    schedule_note : str
        What :func:`training_schedule` chose from the data and why ("" when given).
    """

    horizon: pd.Timedelta
    business: str
    business_reason: str
    label_kind: str
    builders: list[FeatureBuilder]
    model: Any
    cutoff_freq: pd.Timedelta = DEFAULT_CUTOFF_FREQ
    schedule_note: str = ""


@dataclass(frozen=True)
class LabelCounts:
    """What a training summary counts of the training labels, wherever they were made.

    Attributes
    ----------
    counts : pandas.Series
        Rows per (``cutoff``, ``churned``).
    n_customers : int
        Distinct customers in the rows.
    churn_types : dict of str -> int
        Churned rows per churn type.
    """

    counts: pd.Series
    n_customers: int
    churn_types: dict[str, int]

    @classmethod
    def of_labels(cls, labels: pd.DataFrame) -> LabelCounts:
        """The counts of a :func:`~churnpredict._labels.label_churn` frame."""
        types: dict[str, int] = {}
        if "churn_type" in labels:
            counts = labels.loc[labels["churned"] == 1, "churn_type"].value_counts()
            types = {str(k): int(v) for k, v in counts.items()}
        rows = pd.DataFrame(
            {
                "cutoff": labels.index.get_level_values("cutoff"),
                "churned": labels["churned"].to_numpy(),
            }
        ).value_counts()
        n_customers = int(labels.index.get_level_values("customer_id").nunique())
        return cls(rows, n_customers, types)


def training_summary(
    labels: pd.DataFrame | LabelCounts,
    n_features: int,
    *,
    trained: pd.DataFrame | None = None,
    weight: np.ndarray | None = None,
    share: float | None = None,
) -> dict[str, Any]:
    """Rows, customers, cutoffs, churners, churn rate and churn types of training labels.

    Parameters
    ----------
    labels : pandas.DataFrame or LabelCounts
        :func:`~churnpredict._labels.label_churn` output (``churned``, optional
        ``churn_type``), indexed by (customer_id, cutoff), or its counts (what a Dask fit
        sums over its partitions).
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
    counts = labels if isinstance(labels, LabelCounts) else LabelCounts.of_labels(labels)
    rows = counts.counts[counts.counts > 0]
    n_rows = int(rows.sum())
    n_churned = int(rows[rows.index.get_level_values("churned") == 1].sum())
    return {
        "n_rows": n_rows,
        "n_customers": int(counts.n_customers),
        "n_cutoffs": int(rows.index.get_level_values("cutoff").nunique()),
        "n_churned": n_churned,
        "positive_rate": n_churned / n_rows if n_rows else float("nan"),
        "churn_types": dict(counts.churn_types),
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


def pipeline_summary_rows(pipeline: Any) -> list[tuple[str, str, Any]]:
    """The rows of a fitted :class:`~churnpredict._pipeline.ChurnPipeline`'s ``summary``:
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
