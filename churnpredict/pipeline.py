"""ChurnPipeline: feature builders + churn model, trained on stacked cutoffs, saved as a bundle.

:meth:`ChurnPipeline.save` and :meth:`ChurnPipeline.load` write and read a model bundle
(JSON state, the booster in XGBoost's own format, checksums, an optional HMAC signature);
see :mod:`churnpredict.bundle` and ``docs/trust.md``.
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

from .bundle import BUNDLE_FORMAT, load_pipeline, save_pipeline
from .data import EventData
from .evaluate import Evaluation
from .exceptions import ChurnDataError, ChurnModelError, LeakageWarning
from .features import build_features, default_builders, describe_features
from .features._base import DRIVER_GROUPS, FeatureBuilder, parse_window
from .labels import label_churn, label_kind, population, training_cutoffs
from .model import ChurnModel, SummaryReprMixin

__all__ = ["ChurnPipeline", "BUNDLE_FORMAT"]

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








def _model_params(model: BaseEstimator) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in model.get_params(deep=False).items()}


def _horizon_text(horizon: pd.Timedelta) -> str:
    """A horizon as short text that :func:`pandas.Timedelta` reads back: '28D', '12h', '90s'."""
    if horizon % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{horizon.days}D"
    if horizon % pd.Timedelta(hours=1) == pd.Timedelta(0):
        return f"{int(horizon.total_seconds() // 3600)}h"
    if horizon % pd.Timedelta(seconds=1) == pd.Timedelta(0):
        return f"{int(horizon.total_seconds())}s"
    return f"{horizon.value}ns"


def _model_id(model: BaseEstimator, feature_names: Sequence[str]) -> str:
    """A short, stable id of a fitted model: sha256 of what decides its predictions.

    For a model with an XGBoost booster: the booster in XGBoost's JSON format, the model's
    fitted state (calibration, categories) and the feature names. Otherwise: the model's
    class, parameters and feature names. The first 16 hex digits.
    """
    digest = hashlib.sha256()
    digest.update(f"{type(model).__module__}.{type(model).__qualname__}\n".encode())
    digest.update(json.dumps([str(n) for n in feature_names]).encode())
    booster = getattr(model, "booster_", None)
    if booster is not None:
        digest.update(bytes(booster.save_raw("json")))
        get_state = getattr(model, "_get_state", None)
        if get_state is not None:
            digest.update(json.dumps(_jsonable(get_state()), sort_keys=True).encode())
    else:
        digest.update(json.dumps(_model_params(model), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _required_inputs(builders: Sequence[FeatureBuilder],
                     data: EventData | None = None) -> dict[str, list[str]]:
    """Tables and columns the fitted builders read (with ``data``: as found in it).

    Keys are table names, values the columns beyond each table's required ones (sorted): the
    optional columns a family was fitted with (``activity.value``, ``activity.event`` when the
    event types were learned from it, ``tickets.resolved_at`` / ``csat`` / ``priority``) and
    the customer attributes the profile family uses. Scoring data lacking one would give NaN
    features where training had values.
    """
    from .data import SCHEMA
    from .features import EngagementFeatures, ProfileFeatures, SupportFeatures

    needed: dict[str, set[str]] = {}
    for builder in builders:
        for table in builder.tables:
            needed.setdefault(table, set())
        cols: dict[str, list[str]] = {}
        if isinstance(builder, EngagementFeatures):
            learned = builder.event_types == "auto" or data is not None
            cols["activity"] = (["value"] if getattr(builder, "has_value_", False) else []) + (
                ["event"] if learned and getattr(builder, "event_types_", None) else [])
        elif isinstance(builder, SupportFeatures):
            cols["tickets"] = [c for c, flag in (("resolved_at", "has_resolved_"),
                                                 ("csat", "has_csat_"),
                                                 ("priority", "has_priority_"))
                               if getattr(builder, flag, False)]
        elif isinstance(builder, ProfileFeatures):
            cols["customers"] = list(getattr(builder, "columns_", []))
        for table, columns in cols.items():
            frame = None if data is None else getattr(data, table, None)
            present = set(columns) if data is None else (
                set() if frame is None else set(frame.columns))
            needed.setdefault(table, set()).update(
                c for c in columns if c in present and c not in SCHEMA[table].required)
    return {table: sorted(columns) for table, columns in sorted(needed.items())}


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
        "auto": cancellation when customers have ``churned_at``, else inactivity.
    n_cutoffs : int, default 12
        Training cutoffs (the latest is ``as_of - horizon``).
    cutoff_freq : duration, default "14D"
        Spacing of the training cutoffs.
    lookback : duration, default "90D"
        Inactivity labels only: a customer must have been active this recently to count.
    reason_threshold : float, default 0.01
        A reason must raise the churn probability by at least this many probability points
        (0.01 = one point; see docs/reasons.md).
    currency : str, default ""
        Symbol written before amounts in reasons (e.g. "€"; the config key ``currency``).

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
    training_summary_ : dict
        Rows, customers, positive rate and churn-type counts of the training rows.
    validation_scores_ : dict
        The model's validation scores (latest cutoffs, before the refit).
    required_inputs_ : dict of str -> list of str
        Tables the fitted families read, each with the columns beyond its required ones that
        they were fitted with (e.g. ``{"activity": ["event", "value"], "tickets": ["csat"]}``).
        Scoring data lacking one is refused with :class:`~churnpredict.ChurnDataError`.
    model_id_ : str
        A short, stable id of the fitted model (sha256 of the booster, its fitted state and
        the feature names); scores carry it in ``attrs["model_id"]``.

    Examples
    --------
    >>> from churnpredict.datasets import make_subscription_data
    >>> from churnpredict.model import ChurnModel
    >>> data = make_subscription_data(n_customers=300, random_state=1)
    >>> pipe = ChurnPipeline(model=ChurnModel(n_estimators=50, n_jobs=1)).fit(data)
    >>> at_risk = pipe.score(data, as_of="2024-12-31", explain=False)
    >>> list(at_risk.columns)
    ['churn_probability', 'mrr']
    """

    #: fitted attributes, besides the builders and the model, that a bundle keeps
    bundle_attributes: tuple[str, ...] = ("required_inputs_", "model_id_",
                                          "feature_percentiles_", "reason_facts_")


    def __init__(
        self,
        builders: Sequence[FeatureBuilder] | None = None,
        model: BaseEstimator | None = None,
        horizon: Any = "28D",
        label: str = "auto",
        n_cutoffs: int = 12,
        cutoff_freq: Any = "14D",
        lookback: Any = "90D",
        reason_threshold: float = 0.01,
        currency: str = "",
    ) -> None:
        self.builders = builders
        self.model = model
        self.horizon = horizon
        self.label = label
        self.n_cutoffs = n_cutoffs
        self.cutoff_freq = cutoff_freq
        self.lookback = lookback
        self.reason_threshold = reason_threshold
        self.currency = currency

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
            What is known at training time: features and labels use only events strictly
            before it (and cancellations at or before it), exactly what ``data.cut(as_of)``
            keeps, so fitting on ``data`` and on ``data.cut(as_of)`` gives the same model.
            Defaults to the latest time in the data.
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
        kind = label_kind(data, self.label)
        builders = ([clone(b) for b in self.builders] if self.builders is not None
                    else default_builders())
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
                                 lookback=self.lookback)
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
        info = self._feature_info(active, self.feature_names_)
        self.feature_info_ = info[["group", "description"]]
        self.as_of_ = _timestamp(as_of)
        self.cutoffs_ = pd.DatetimeIndex(
            labels.index.get_level_values("cutoff").unique().sort_values(),
            name="cutoff").astype("datetime64[ns]")
        self.horizon_ = horizon
        self.label_kind_ = kind
        self.is_snapshot_ = bool(data.is_snapshot)
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
        self.validation_scores_ = dict(getattr(model, "validation_scores_", {}) or {})
        self.required_inputs_ = _required_inputs(active, data)
        self.model_id_ = _model_id(model, self.feature_names_)
        from .explain import reference_percentiles, related_facts

        self.feature_percentiles_ = reference_percentiles(X)
        self.reason_facts_ = related_facts(X, info)
        return X, labels

    @staticmethod
    def _feature_info(builders: Sequence[FeatureBuilder], names: list[str]) -> pd.DataFrame:
        info = describe_features(builders)
        info = info[~info.index.duplicated()].reindex(names)
        missing = info["group"].isna()
        if missing.any():  # a builder that does not describe a column: keep it usable
            info.loc[missing, "group"] = "profile"
            info.loc[missing, "description"] = [str(n).replace("_", " ") + " is {value}"
                                                for n in info.index[missing]]
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
        self._check_inputs(data)
        if data.is_snapshot:
            pop = population(data, [data.snapshot_at])
        else:
            stamp = data.time_range[1] if as_of is None else _timestamp(as_of)
            pop = population(data, [stamp], kind=self.label_kind_, lookback=self.lookback)
        if len(pop) == 0:
            raise ChurnDataError(
                f"no customer is in the population at as_of={as_of}: nobody had signed up and "
                f"not yet churned by then; check as_of"
            )
        X = build_features(data, pop.index, self.builders_, fit=False)
        if self.is_snapshot_ and data.label_column in X.columns:
            X = X.drop(columns=[data.label_column])
        return self._align(X)

    def _check_inputs(self, data: EventData) -> None:
        """Refuse data lacking a table or column the fitted pipeline was trained with."""
        required = getattr(self, "required_inputs_", None)
        if required is None:  # not stored with the pipeline: what the fitted builders read
            required = _required_inputs(self.builders_)
        for table, columns in required.items():
            frame = getattr(data, table, None)
            if frame is None:
                raise ChurnDataError(
                    f"the pipeline was trained with the {table} table but the data has none; "
                    f"add {table}, or retrain without it"
                )
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                names = ", ".join(f"{table}.{c}" for c in missing)
                raise ChurnDataError(
                    f"{table} is missing column(s) {missing} that the pipeline was trained "
                    f"with ({names}): without them those features would be empty; add them "
                    f"(missing values are fine), or retrain on data without them"
                )

    def score(self, data: EventData, as_of: Any = None, explain: bool = True) -> pd.DataFrame:
        """Churn probability (and reasons) for every customer at risk at ``as_of``.

        The population, features and reasons use only what was known before ``as_of``:
        scoring data that also holds later events gives the same result.

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like, optional
            Scoring time; defaults to the latest time in the data.
        explain : bool, default True
            Add ``reason_1..3``, ``reason_group_1..3``, ``reason_weight_1..3``,
            ``reason_feature_1..3`` and the ``shap_<group>`` columns (needs a tree model such
            as ChurnModel; see :func:`churnpredict.explain.explain` and docs/reasons.md).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``customer_id``, highest probability first: ``churn_probability``,
            ``mrr`` (point-in-time MRR from the monetary features, else ``customers.mrr``,
            else NaN) and the reason columns. ``attrs`` records what the scores are:
            ``horizon`` (e.g. ``"28D"``), ``as_of`` (ISO 8601, the cutoff scored) and
            ``model_id`` (:attr:`model_id_`).

        Raises
        ------
        ChurnDataError
            When the data lacks a table or column the pipeline was trained with
            (:attr:`required_inputs_`), or nobody is in the population at ``as_of``.
        """
        X = self.features(data, as_of)
        proba = self.model_.predict_proba(X)[:, 1]
        customer_ids = X.index.get_level_values("customer_id")
        mrr = (X["mrr"].to_numpy(dtype=np.float64, na_value=np.nan) if "mrr" in X.columns
               else np.full(len(X), np.nan))
        if "mrr" in data.customers.columns:
            static = data.customers.set_index("customer_id")["mrr"]
            known = pd.to_numeric(static, errors="coerce").reindex(customer_ids).to_numpy(
                dtype=np.float64, na_value=np.nan)
            mrr = np.where(np.isnan(mrr), known, mrr)
        out = pd.DataFrame({"churn_probability": proba, "mrr": mrr},
                           index=pd.Index(customer_ids, name="customer_id"))
        if explain:
            if not hasattr(self.model_, "booster_"):
                raise ChurnModelError(
                    f"reasons need a tree model; {type(self.model_).__name__} has no booster_. "
                    f"Score with explain=False"
                )
            from .explain import explain as explain_rows

            info = self._feature_info(self.builders_, self.feature_names_)
            reasons = explain_rows(
                self.model_, X, info, top=3, threshold=float(self.reason_threshold),
                percentiles=getattr(self, "feature_percentiles_", None),
                facts=getattr(self, "reason_facts_", None), currency=str(self.currency or ""))
            reasons.index = out.index
            out = pd.concat([out, reasons], axis=1)
        order = np.argsort(-out["churn_probability"].to_numpy(), kind="stable")
        out = out.iloc[order]
        cutoff = pd.Timestamp(X.index.get_level_values("cutoff")[0]) if len(X) else (
            _timestamp(as_of) if as_of is not None else data.time_range[1])
        model_id = getattr(self, "model_id_", None) or _model_id(self.model_,
                                                                 self.feature_names_)
        out.attrs.update({"horizon": _horizon_text(self.horizon_),
                          "as_of": cutoff.isoformat(), "model_id": model_id})
        return out

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
            labels = label_churn(data, [stamp], self.horizon_, kind=self.label_kind_,
                                 lookback=self.lookback)
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
        rows += [("validation", k, v) for k, v in self.validation_scores_.items()]
        from .model import _summary_frame

        return _summary_frame(rows)


    # ------------------------------------------------------------------ bundle
    def save(self, path: str | os.PathLike, *, key: str | bytes | None = None) -> Path:
        """Write the fitted pipeline to a bundle directory, atomically.

        The bundle holds JSON and the booster in XGBoost's own format, never a pickle. A new
        version folder is written and fsynced, then the ``CURRENT`` pointer is replaced, so
        readers see the old or the new bundle; the previous version is kept for readers
        still on it. See :mod:`churnpredict.bundle` and ``docs/trust.md``.

        Parameters
        ----------
        path : path-like
            A new path, an empty directory or an existing bundle (replaced).
        key : str or bytes, optional
            Sign the manifest with this key (HMAC-SHA256); default
            ``$CHURNPREDICT_BUNDLE_KEY``, unsigned when that is unset.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        BundleError
            When ``path`` is a file or a non-empty directory that is not a bundle (nothing
            there is changed), or the model or a builder holds state that is not plain data.
        """
        check_is_fitted(self, "model_")
        return save_pipeline(self, path, key=key)

    @classmethod
    def load(cls, path: str | os.PathLike, *, key: str | bytes | None = None
             ) -> ChurnPipeline:
        """Read a bundle written by :meth:`save`, after checking it. Nothing is unpickled.

        Parameters
        ----------
        path : path-like
        key : str or bytes, optional
            Verify the bundle's signature with this key; default
            ``$CHURNPREDICT_BUNDLE_KEY``. With a key, unsigned or wrongly signed bundles
            are refused; without one, only the checksums are checked (they catch
            corruption, not tampering).

        Raises
        ------
        BundleError
            When the bundle is missing, incomplete, of an older format ("retrain"), a file's
            checksum or the signature does not match, ``bundle.json`` lacks a key or holds
            a wrong type, or it was written by incompatible major versions of churnpredict,
            xgboost, scikit-learn, pandas or numpy.
        """
        return load_pipeline(cls, path, key=key)
