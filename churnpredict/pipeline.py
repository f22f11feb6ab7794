"""ChurnPipeline: feature builders + churn model, trained on stacked cutoffs, saved as a bundle.

A bundle is a directory::

    bundle.json     settings, feature metadata, calibrator, training window, metrics, versions
    model.json      the XGBoost booster in XGBoost's own JSON format (ChurnModel)
                    (other models: model.joblib)
    builders.joblib the fitted feature builders
    SHA256SUMS      sha256 of every other file, in ``sha256sum`` format

:meth:`ChurnPipeline.load` checks every checksum and the major versions of the libraries
before it unpickles anything. The checksums catch corrupted or edited files; they are not a
signature, so only load bundles from a source you trust.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from ._version import __version__
from .data import EventData
from .evaluate import Evaluation
from .exceptions import BundleError, ChurnDataError, ChurnModelError, LeakageWarning
from .features import build_features, default_builders, describe_features, expected_spend
from .features._base import DRIVER_GROUPS, FeatureBuilder, parse_window
from .io import atomic_directory
from .labels import customer_status, label_churn, label_kind, population, training_cutoffs
from .model import ChurnModel, SummaryReprMixin

__all__ = ["ChurnPipeline", "BUNDLE_FORMAT", "business_kind"]

#: Version of the bundle layout written by :meth:`ChurnPipeline.save`.
BUNDLE_FORMAT = 1
_BUNDLE_JSON = "bundle.json"
_BOOSTER_JSON = "model.json"
_MODEL_JOBLIB = "model.joblib"
_BUILDERS = "builders.joblib"
_CHECKSUMS = "SHA256SUMS"
_VERSIONED = ("churnpredict", "xgboost", "scikit-learn", "pandas", "numpy")

Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- helpers
def _timestamp(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, timestamps to ISO text, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, pd.Index, np.ndarray)):
        return [_jsonable(v) for v in list(value)]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return str(value)
    if value is None or isinstance(value, (str, int)):
        return value
    return None


def _versions() -> dict[str, str]:
    import sklearn
    import xgboost

    return {"churnpredict": __version__, "xgboost": xgboost.__version__,
            "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
            "numpy": np.__version__}


def _compat(version: str) -> tuple[int, ...]:
    """The part of a version that must match: major (major.minor while major is 0)."""
    parts = []
    for piece in str(version).split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 2:
        parts.append(0)
    return (parts[0], parts[1]) if parts[0] == 0 else (parts[0],)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _model_params(model: BaseEstimator) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in model.get_params(deep=False).items()}


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
    index = FeatureBuilder.event_index(data, "payments", mask=ok, key="succeeded")
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
            f"business={business!r}; expected 'auto', 'subscription' or 'purchases'")
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
                f"{_MIN_PAYMENTS}+ payments pay at regular intervals")
        if n:
            return "purchases", (
                f"no churned_at, and payments look like one-off orders: only {share:.0%} of "
                f"the {n:,} customers with {_MIN_PAYMENTS}+ payments pay at regular intervals")
        return "purchases", (f"no churned_at, and no customer has {_MIN_PAYMENTS}+ payments "
                             f"(no recurring billing)")
    return "purchases", "no churned_at and no payments: churn is inactivity"


# --------------------------------------------------------------------------- pipeline
class ChurnPipeline(SummaryReprMixin, BaseEstimator):
    """Feature builders and a churn model, trained on many cutoffs and scored at one.

    Parameters
    ----------
    builders : sequence of FeatureBuilder, optional
        Feature families (cloned at fit). Default :func:`churnpredict.default_builders`;
        families whose tables are absent are skipped.
    model : classifier, optional
        Default ``ChurnModel()``. Its ``horizon`` (purge gap) is set to this pipeline's
        horizon when left at None.
    horizon : duration, default "28D"
        Churn is looked for in ``(cutoff, cutoff + horizon]``.
    label : {"auto", "cancellation", "inactivity"}, default "auto"
        "auto": cancellation when customers have ``churned_at`` (and the business is not
        ``purchases``), else inactivity.
    n_cutoffs : int, default 12
        Training cutoffs (the latest is ``as_of - horizon``).
    cutoff_freq : duration, default "14D"
        Spacing of the training cutoffs.
    lookback : duration, default "90D"
        Inactivity labels only: customers active this recently are ``active``; the others
        (no activity in the lookback) are ``lapsed``. Both are trained on and scored, so one
        scored list holds the retention list and the win-back list.
    business : {"auto", "subscription", "purchases"}, default "auto"
        What the customers buy. ``subscription``: MRR, price changes, revenue at risk from
        MRR. ``purchases`` (shops, marketplaces): no MRR and no price feature
        (:class:`~churnpredict.features.SpendFeatures` instead of ``MonetaryFeatures``),
        ``label="auto"`` means inactivity, and scores carry ``expected_spend`` (see
        :func:`~churnpredict.features.expected_spend`) instead of ``mrr``. "auto" detects
        the kind from the data (:func:`business_kind`).

    Attributes
    ----------
    builders_ : list of FeatureBuilder
        Fitted builders of the families that applied to the training data.
    model_ : classifier
        The fitted model.
    feature_names_ : list of str
    feature_info_ : pandas.DataFrame
        Indexed by feature name: ``group`` and ``description`` (see
        :func:`churnpredict.describe_features`).
    as_of_ : pandas.Timestamp
        What the training knew: every training label is over by then.
    cutoffs_ : pandas.DatetimeIndex
        Training cutoffs.
    horizon_ : pandas.Timedelta
    label_kind_ : str
        "cancellation", "inactivity" or "snapshot".
    is_snapshot_ : bool
    business_ : str
        "subscription" or "purchases".
    business_reason_ : str
        Why (the detection rule that decided, or "set").
    training_summary_ : dict
        Rows, customers, positive rate and churn-type counts of the training rows.
    training_statuses_ : dict
        Training rows per status (``active``, ``lapsed``, ``new``; see
        :func:`~churnpredict.labels.customer_status`): with inactivity churn the lapsed
        customers are trained on, not extrapolated to.
    validation_scores_ : dict
        The model's validation scores (latest cutoffs, before the refit).

    Examples
    --------
    >>> from churnpredict.datasets import make_subscription_data
    >>> from churnpredict.model import ChurnModel
    >>> data = make_subscription_data(n_customers=300, random_state=1)
    >>> pipe = ChurnPipeline(model=ChurnModel(n_estimators=50, n_jobs=1)).fit(data)
    >>> at_risk = pipe.score(data, as_of="2024-12-31", explain=False)
    >>> list(at_risk.columns)
    ['churn_probability', 'mrr', 'status']
    """

    def __init__(
        self,
        builders: Sequence[FeatureBuilder] | None = None,
        model: BaseEstimator | None = None,
        horizon: Any = "28D",
        label: str = "auto",
        n_cutoffs: int = 12,
        cutoff_freq: Any = "14D",
        lookback: Any = "90D",
        business: str = "auto",
    ) -> None:
        self.builders = builders
        self.model = model
        self.horizon = horizon
        self.label = label
        self.n_cutoffs = n_cutoffs
        self.cutoff_freq = cutoff_freq
        self.lookback = lookback
        self.business = business

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _check_data(data: Any) -> EventData:
        if not isinstance(data, EventData):
            raise ChurnDataError(
                f"data must be an EventData, got {type(data).__name__}; load your tables with "
                f"EventData(customers, activity=..., payments=...) or "
                f"EventData.from_directory(path)"
            )
        return data

    def _check_params(self) -> None:
        for name in ("horizon", "cutoff_freq", "lookback"):
            try:
                parse_window(getattr(self, name))
            except ValueError as exc:
                raise ChurnModelError(f"{name}={getattr(self, name)!r}: {exc}") from None
        if self.label not in ("auto", "cancellation", "inactivity"):
            raise ChurnModelError(
                f"label={self.label!r}; expected 'auto', 'cancellation' or 'inactivity'")
        if self.business not in ("auto", "subscription", "purchases"):
            raise ChurnModelError(f"business={self.business!r}; expected 'auto', "
                                  f"'subscription' or 'purchases'")
        n = self.n_cutoffs
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ChurnModelError(f"n_cutoffs={n!r}; expected an integer >= 1")

    # ------------------------------------------------------------------ fit
    def fit(self, data: EventData, as_of: Any = None,
            progress: Progress | None = None) -> ChurnPipeline:
        """Label the training cutoffs, build their features and fit the model.

        Only cutoffs whose horizon has passed by ``as_of`` are used (``as_of - horizon`` is
        the latest), so no label is censored. A snapshot table trains on its single cutoff with
        the profile family only.

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like, optional
            What is known at training time; defaults to the latest time in the data.
        progress : callable, optional
            ``progress(stage, step, total)`` after labelling, after each feature family and
            after fitting the model.

        Returns
        -------
        ChurnPipeline
        """
        self._fit_training(data, as_of, progress)
        return self

    def _fit_training(self, data: EventData, as_of: Any,
                      progress: Progress | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Fit everything; return the training features and labels (for evaluation)."""
        data = self._check_data(data)
        self._check_params()
        horizon = parse_window(self.horizon)
        business, business_reason = business_kind(data, self.business)
        # a shop has no cancellations to wait for: its churn is inactivity
        kind = label_kind(data, "inactivity" if self.label == "auto" and business == "purchases"
                          and not data.is_snapshot else self.label)
        builders = ([clone(b) for b in self.builders] if self.builders is not None
                    else default_builders(business))
        if data.is_snapshot:
            builders = [b for b in builders if b.group == "profile"]
            if not builders:
                raise ChurnModelError(
                    "a snapshot table has no event history, so only profile features apply, "
                    "but no ProfileFeatures builder was given; add ProfileFeatures()"
                )
            as_of = data.snapshot_at
            cutoffs = pd.DatetimeIndex([data.snapshot_at], name="cutoff")
            labels = label_churn(data, cutoffs)
        else:
            as_of = data.time_range[1] if as_of is None else _timestamp(as_of)
            cutoffs = training_cutoffs(data, as_of, horizon, int(self.n_cutoffs),
                                       self.cutoff_freq)
            labels = label_churn(data, cutoffs, horizon, kind=kind, as_of=as_of,
                                 lookback=self.lookback, lapsed=kind == "inactivity")
        if len(labels) == 0:
            raise ChurnDataError(
                f"no customer is in the population at the training cutoffs "
                f"({cutoffs.min()} .. {cutoffs.max()}); use a later as_of or check signup_at"
            )
        active = [b for b in builders if b.applies_to(data)]
        total = len(active) + 2
        if progress is not None:
            progress("labels", 1, total)
        X = build_features(
            data, labels.index, active, fit=True,
            progress=(None if progress is None
                      else lambda name, step, _n: progress(name, step + 1, total)),
        )
        if X.shape[1] == 0:
            raise ChurnDataError(
                "no feature could be built: every feature family lacks its table; give "
                "customers and at least one of activity, payments or tickets"
            )
        if data.is_snapshot and data.label_column in X.columns:
            X = X.drop(columns=[data.label_column])
        model = ChurnModel() if self.model is None else clone(self.model)
        if not data.is_snapshot and "horizon" in model.get_params(deep=False) and (
                model.get_params(deep=False)["horizon"] is None):
            model.set_params(horizon=horizon)
        y = labels["churned"].to_numpy()
        model.fit(X, y)
        if progress is not None:
            progress("model", total, total)

        self.builders_ = active
        self.model_ = model
        self.feature_names_ = [str(c) for c in X.columns]
        self.feature_info_ = self._feature_info(active, self.feature_names_)
        self.as_of_ = _timestamp(as_of)
        self.cutoffs_ = pd.DatetimeIndex(
            labels.index.get_level_values("cutoff").unique().sort_values(),
            name="cutoff").astype("datetime64[ns]")
        self.horizon_ = horizon
        self.label_kind_ = kind
        self.is_snapshot_ = bool(data.is_snapshot)
        self.business_ = business
        self.business_reason_ = business_reason
        status = customer_status(data, labels.index, horizon, kind=kind, lookback=self.lookback)
        types: dict[str, int] = {}
        if "churn_type" in labels:
            counts = labels.loc[labels["churned"] == 1, "churn_type"].value_counts()
            types = {str(k): int(v) for k, v in counts.items()}
        self.training_summary_ = {
            "n_rows": len(labels),
            "n_customers": int(labels.index.get_level_values("customer_id").nunique()),
            "n_cutoffs": len(self.cutoffs_),
            "n_churned": int(y.sum()),
            "positive_rate": float(y.mean()),
            "churn_types": types,
            "n_features": len(self.feature_names_),
        }
        self.training_statuses_ = {str(k): int(v)
                                   for k, v in status.value_counts().sort_index().items()}
        self.validation_scores_ = dict(getattr(model, "validation_scores_", {}) or {})
        return X, labels

    @staticmethod
    def _feature_info(builders: Sequence[FeatureBuilder], names: list[str]) -> pd.DataFrame:
        info = describe_features(builders)
        info = info[~info.index.duplicated()].reindex(names)
        missing = info["group"].isna()
        if missing.any():  # a builder that does not describe a column: keep it usable
            info.loc[missing, "group"] = "profile"
            info.loc[missing, "description"] = [f"{n} = {{value}}" for n in info.index[missing]]
        info["group"] = info["group"].astype(str)
        info["description"] = info["description"].astype(str)
        bad = sorted(set(info["group"]) - set(DRIVER_GROUPS))
        if bad:
            raise ChurnModelError(f"feature metadata names unknown driver groups {bad}")
        return info

    # ------------------------------------------------------------------ scoring
    def _align(self, X: pd.DataFrame) -> pd.DataFrame:
        """Put the scoring features in training order; name what is missing or extra."""
        expected = self.feature_names_
        if list(X.columns) == expected:
            return X
        missing = [c for c in expected if c not in X.columns]
        extra = [c for c in X.columns if c not in expected]
        if missing or extra:
            raise ChurnModelError(
                f"the features built for scoring differ from training: missing {missing[:10]}"
                f"{' ...' if len(missing) > 10 else ''}, unexpected {extra[:10]}"
                f"{' ...' if len(extra) > 10 else ''}; score data with the same tables and "
                f"columns as the training data, or retrain"
            )
        return X[expected]

    def features(self, data: EventData, as_of: Any = None) -> pd.DataFrame:
        """Features of the population at ``as_of`` with the fitted builders, training order.

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like, optional
            Defaults to the latest time in the data (snapshot: the snapshot).

        Returns
        -------
        pandas.DataFrame
            Indexed by (customer_id, cutoff).
        """
        check_is_fitted(self, "model_")
        data = self._check_data(data)
        if data.is_snapshot != self.is_snapshot_:
            form = {True: "a snapshot table", False: "event data"}
            raise ChurnDataError(
                f"the pipeline was trained on {form[self.is_snapshot_]} but data is "
                f"{form[data.is_snapshot]}; score data of the same form"
            )
        absent = [type(b).__name__ for b in self.builders_ if not b.applies_to(data)]
        if absent:
            tables = sorted({t for b in self.builders_ if not b.applies_to(data)
                             for t in b.tables if getattr(data, t, None) is None})
            raise ChurnDataError(
                f"{', '.join(absent)} were trained but the data lacks table(s) {tables}; add "
                f"them, or retrain without those families"
            )
        if data.is_snapshot:
            pop = population(data, [data.snapshot_at])
        else:
            stamp = data.time_range[1] if as_of is None else _timestamp(as_of)
            pop = population(data, [stamp], **self._population_rule())
        if len(pop) == 0:
            raise ChurnDataError(
                f"no customer is in the population at as_of={as_of}: nobody had signed up and "
                f"not yet churned by then; check as_of"
            )
        X = build_features(data, pop.index, self.builders_, fit=False)
        if self.is_snapshot_ and data.label_column in X.columns:
            X = X.drop(columns=[data.label_column])
        return self._align(X)

    def _population_rule(self) -> dict[str, Any]:
        """Keyword arguments of :func:`population` / :func:`label_churn` for this pipeline.

        Inactivity churn keeps the lapsed customers: everyone who signed up and has not
        cancelled is trained on and scored.
        """
        kind = self.label_kind_
        return {"kind": kind, "lookback": self.lookback, "lapsed": kind == "inactivity"}

    def score(self, data: EventData, as_of: Any = None, explain: bool = True) -> pd.DataFrame:
        """Churn probability (and reasons) for every customer at risk at ``as_of``.

        The population, features and reasons use only what was known before ``as_of``:
        scoring data that also holds later events gives the same result. With inactivity
        churn every customer who signed up before ``as_of`` and has not cancelled is scored,
        the lapsed ones included.

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like, optional
            Scoring time; defaults to the latest time in the data.
        explain : bool, default True
            Add ``reason_1..3``, ``reason_group_1..3``, ``reason_weight_1..3`` and the
            ``shap_<group>`` columns (needs a tree model such as ChurnModel).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``customer_id``, highest probability first: ``churn_probability``;
            for subscriptions ``mrr`` (point-in-time MRR from the monetary features, else
            ``customers.mrr``, else NaN), for purchases ``expected_spend`` (the spend
            expected over the horizon if the customer stays, see
            :func:`~churnpredict.features.expected_spend`); ``status`` (``active``,
            ``lapsed`` or ``new``, see :func:`~churnpredict.labels.customer_status`); and
            the reason columns.
        """
        X = self.features(data, as_of)
        proba = self.model_.predict_proba(X)[:, 1]
        customer_ids = X.index.get_level_values("customer_id")
        index = pd.Index(customer_ids, name="customer_id")
        if getattr(self, "business_", "subscription") == "purchases":
            spend = expected_spend(data, X.index, self.horizon_).to_numpy()
            out = pd.DataFrame({"churn_probability": proba, "expected_spend": spend},
                               index=index)
        else:
            mrr = (X["mrr"].to_numpy(dtype=np.float64, na_value=np.nan) if "mrr" in X.columns
                   else np.full(len(X), np.nan))
            if "mrr" in data.customers.columns:
                static = data.customers.set_index("customer_id")["mrr"]
                known = pd.to_numeric(static, errors="coerce").reindex(customer_ids).to_numpy(
                    dtype=np.float64, na_value=np.nan)
                mrr = np.where(np.isnan(mrr), known, mrr)
            out = pd.DataFrame({"churn_probability": proba, "mrr": mrr}, index=index)
        out["status"] = customer_status(data, X.index, self.horizon_, kind=self.label_kind_,
                                        lookback=self.lookback).to_numpy()
        if explain:
            if not hasattr(self.model_, "booster_"):
                raise ChurnModelError(
                    f"reasons need a tree model; {type(self.model_).__name__} has no booster_. "
                    f"Score with explain=False"
                )
            from .explain import explain as explain_rows

            reasons = explain_rows(self.model_, X, self.feature_info_, top=3)
            reasons.index = out.index
            out = pd.concat([out, reasons], axis=1)
        order = np.argsort(-out["churn_probability"].to_numpy(), kind="stable")
        return out.iloc[order]

    def evaluate(self, data: EventData, as_of: Any, explain: bool = False) -> Evaluation:
        """Score the population at ``as_of`` and compare with what happened next.

        Outcomes come from ``(as_of, as_of + horizon]``, so the data must reach
        ``as_of + horizon``. A cutoff inside the training window gives optimistic numbers
        (a :class:`~churnpredict.LeakageWarning` says so).

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like
        explain : bool, default False
            Keep the reason columns in ``scores``.

        Returns
        -------
        Evaluation
            ``scores`` (probability, mrr, churned, churn_type), ``metrics``, ``lift`` and
            ``by_churn_type``.
        """
        check_is_fitted(self, "model_")
        data = self._check_data(data)
        if data.is_snapshot:
            stamp = data.snapshot_at
            labels = label_churn(data, [stamp])
        else:
            stamp = _timestamp(as_of)
            if stamp < self.as_of_:
                warnings.warn(
                    f"evaluation cutoff {stamp} is inside the training window (labels up to "
                    f"{self.as_of_}): the model has seen these outcomes, so the metrics are "
                    f"optimistic; evaluate at as_of >= {self.as_of_}",
                    LeakageWarning, stacklevel=2,
                )
            labels = label_churn(data, [stamp], self.horizon_, **self._population_rule())
        scores = self.score(data, stamp, explain=explain)
        outcome = labels.droplevel("cutoff")
        scores = scores.join(outcome[[c for c in ("churned", "churn_type") if c in outcome]],
                             how="left")
        if scores["churned"].isna().any():  # pragma: no cover - same population both ways
            raise ChurnModelError("labels and scores cover different customers")
        scores["churned"] = scores["churned"].astype(np.int8)
        return Evaluation.from_scores(stamp, None if data.is_snapshot else self.horizon_,
                                      scores)

    # ------------------------------------------------------------------ reporting
    @property
    def summary(self) -> pd.DataFrame:
        """Training window, rows, churn rate and validation scores as a one-column DataFrame."""
        check_is_fitted(self, "model_")
        t = self.training_summary_
        rows: list[tuple[str, str, Any]] = [
            ("training", "as_of", self.as_of_),
            ("training", "business", getattr(self, "business_", "subscription")),
            ("training", "business_reason", getattr(self, "business_reason_", "")),
            ("training", "label", self.label_kind_),
            ("training", "horizon", self.horizon_),
            ("training", "first_cutoff", self.cutoffs_.min()),
            ("training", "last_cutoff", self.cutoffs_.max()),
            ("training", "n_cutoffs", t["n_cutoffs"]),
            ("training", "n_rows", t["n_rows"]),
            ("training", "n_customers", t["n_customers"]),
            ("training", "positive_rate", t["positive_rate"]),
            ("training", "n_features", t["n_features"]),
        ]
        rows += [("churn_type", k, v) for k, v in t["churn_types"].items()]
        rows += [("status", k, v) for k, v in getattr(self, "training_statuses_", {}).items()]
        rows += [("validation", k, v) for k, v in self.validation_scores_.items()]
        from .model import _summary_frame

        return _summary_frame(rows)


    # ------------------------------------------------------------------ bundle
    def _bundle_meta(self) -> dict[str, Any]:
        settings = {k: _jsonable(v) for k, v in self.get_params(deep=False).items()
                    if k not in ("builders", "model")}
        model_meta: dict[str, Any] = {
            "class": f"{type(self.model_).__module__}.{type(self.model_).__qualname__}",
        }
        if isinstance(self.model_, ChurnModel):
            model_meta.update(format="xgboost-json", file=_BOOSTER_JSON,
                              params=_model_params(self.model_),
                              state=_jsonable(self.model_._get_state()))
        else:
            model_meta.update(format="joblib", file=_MODEL_JOBLIB)
        return {
            "format": "churnpredict-bundle",
            "format_version": BUNDLE_FORMAT,
            "settings": settings,
            "model": model_meta,
            "features": {
                "names": self.feature_names_,
                "group": self.feature_info_["group"].tolist(),
                "description": self.feature_info_["description"].tolist(),
            },
            "training": _jsonable({
                "as_of": self.as_of_,
                "cutoffs": list(self.cutoffs_),
                "horizon": self.horizon_,
                "label_kind": self.label_kind_,
                "is_snapshot": self.is_snapshot_,
                "business": getattr(self, "business_", "subscription"),
                "business_reason": getattr(self, "business_reason_", ""),
                "statuses": getattr(self, "training_statuses_", {}),
                **self.training_summary_,
            }),
            "metrics": {"validation": _jsonable(self.validation_scores_)},
            "versions": _versions(),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted pipeline to a bundle directory, atomically.

        Everything is written to a temporary directory next to ``path`` and renamed into place
        only when complete; an existing bundle at ``path`` is replaced.

        Parameters
        ----------
        path : path-like
            Directory to create (or an existing bundle / empty directory to replace).

        Returns
        -------
        pathlib.Path
        """
        import joblib

        check_is_fitted(self, "model_")
        path = Path(path)
        if path.exists() and not (path.is_dir() and (
                not any(path.iterdir()) or (path / _CHECKSUMS).is_file())):
            raise BundleError(
                f"{path} exists and is not a churnpredict bundle; refusing to overwrite it. "
                f"Choose a new path or remove it"
            )
        with atomic_directory(path) as tmp:
            meta = self._bundle_meta()
            if isinstance(self.model_, ChurnModel):
                self.model_.booster_.save_model(str(tmp / _BOOSTER_JSON))
            else:
                joblib.dump(self.model_, tmp / _MODEL_JOBLIB)
            joblib.dump(self.builders_, tmp / _BUILDERS)
            (tmp / _BUNDLE_JSON).write_text(json.dumps(meta, indent=2, allow_nan=False),
                                            encoding="utf-8")
            sums = "".join(f"{_sha256(f)}  {f.name}\n" for f in sorted(tmp.iterdir()))
            (tmp / _CHECKSUMS).write_text(sums, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> ChurnPipeline:
        """Read a bundle written by :meth:`save`, after checking it.

        Raises
        ------
        BundleError
            When the bundle is missing or incomplete, a file's checksum does not match (changed
            or corrupted), or it was written by incompatible major versions of churnpredict,
            xgboost, scikit-learn, pandas or numpy.
        """
        path = Path(path)
        if not path.is_dir():
            raise BundleError(
                f"{path}: no model bundle there (not a directory); train one with "
                f"`churnpredict train DATA --model {path}` or ChurnPipeline(...).fit(data)"
                f".save(path)"
            )
        listed = cls._verify(path)
        try:
            meta = json.loads((path / _BUNDLE_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BundleError(f"{path / _BUNDLE_JSON}: unreadable ({exc}); re-save the "
                              f"bundle") from None
        if meta.get("format") != "churnpredict-bundle":
            raise BundleError(f"{path}: not a churnpredict bundle (format "
                              f"{meta.get('format')!r})")
        if meta.get("format_version") != BUNDLE_FORMAT:
            raise BundleError(
                f"{path}: bundle format {meta.get('format_version')!r}, this churnpredict reads "
                f"format {BUNDLE_FORMAT}; retrain with this version"
            )
        cls._check_versions(path, meta.get("versions", {}))
        model_meta = meta["model"]
        if model_meta["file"] not in listed:
            raise BundleError(f"{path}: SHA256SUMS does not list {model_meta['file']}; the "
                              f"bundle is incomplete")

        import joblib
        import xgboost as xgb

        builders = joblib.load(path / _BUILDERS)  # checksum verified above
        if model_meta["format"] == "xgboost-json":
            booster = xgb.Booster()
            booster.load_model(str(path / _BOOSTER_JSON))
            model = ChurnModel._from_state(model_meta["params"], model_meta["state"], booster)
        else:
            model = joblib.load(path / _MODEL_JOBLIB)

        settings = dict(meta["settings"])
        pipe = cls(builders=[clone(b) for b in builders], model=clone(model), **settings)
        training = meta["training"]
        pipe.builders_ = list(builders)
        pipe.model_ = model
        names = list(meta["features"]["names"])
        pipe.feature_names_ = names
        pipe.feature_info_ = pd.DataFrame(
            {"group": meta["features"]["group"], "description": meta["features"]["description"]},
            index=pd.Index(names, name="feature"),
        )
        pipe.as_of_ = pd.Timestamp(training["as_of"])
        pipe.cutoffs_ = pd.DatetimeIndex(pd.to_datetime(training["cutoffs"]),
                                         name="cutoff").astype("datetime64[ns]")
        pipe.horizon_ = pd.Timedelta(training["horizon"])
        pipe.label_kind_ = training["label_kind"]
        pipe.is_snapshot_ = bool(training["is_snapshot"])
        pipe.business_ = str(training.get("business", "subscription"))
        pipe.business_reason_ = str(training.get("business_reason", ""))
        pipe.training_summary_ = {k: training[k] for k in (
            "n_rows", "n_customers", "n_cutoffs", "n_churned", "positive_rate", "churn_types",
            "n_features")}
        pipe.training_statuses_ = dict(training.get("statuses", {}))
        pipe.validation_scores_ = {k: (np.nan if v is None else v)
                                   for k, v in meta["metrics"]["validation"].items()}
        return pipe

    @staticmethod
    def _verify(path: Path) -> set[str]:
        sums_file = path / _CHECKSUMS
        if not sums_file.is_file():
            raise BundleError(
                f"{path}: no {_CHECKSUMS} file, so this is not a complete churnpredict bundle; "
                f"copy the whole bundle directory or save it again"
            )
        expected: dict[str, str] = {}
        for line in sums_file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            digest, _, name = line.partition("  ")
            if not name or "/" in name or name.startswith("."):
                raise BundleError(f"{sums_file}: malformed line {line!r}; the bundle is "
                                  f"damaged, save it again")
            expected[name] = digest.strip()
        required = (_BUNDLE_JSON, _BUILDERS)
        absent = [n for n in required if n not in expected]
        if absent:
            raise BundleError(f"{path}: {_CHECKSUMS} does not list {absent}; the bundle is "
                              f"incomplete, save it again")
        for name, digest in expected.items():
            file = path / name
            if not file.is_file():
                raise BundleError(f"{path}: {name} is missing; the bundle is incomplete, copy "
                                  f"the whole directory or save it again")
            actual = _sha256(file)
            if actual != digest:
                raise BundleError(
                    f"{file}: checksum mismatch (sha256 {actual[:12]}..., expected "
                    f"{digest[:12]}...): the file changed after the bundle was saved "
                    f"(corrupted or tampered with); refusing to load it. Re-save or retrain"
                )
        return set(expected)

    @staticmethod
    def _check_versions(path: Path, saved: dict[str, str]) -> None:
        current = _versions()
        clashes = []
        for name in _VERSIONED:
            if name not in saved:
                clashes.append(f"{name} (version not recorded)")
            elif _compat(saved[name]) != _compat(current[name]):
                clashes.append(f"{name} {saved[name]} (installed: {current[name]})")
        if clashes:
            raise BundleError(
                f"{path}: bundle written with incompatible versions: {'; '.join(clashes)}. "
                f"Retrain with the installed versions, or install matching ones"
            )

