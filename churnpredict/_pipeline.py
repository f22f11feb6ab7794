"""ChurnPipeline: feature builders + churn model, trained on stacked cutoffs, saved as a bundle.

:meth:`ChurnPipeline.save` and :meth:`ChurnPipeline.load` write and read a model bundle
(JSON state, the booster in XGBoost's own format, checksums, an optional HMAC signature);
see :mod:`churnpredict._bundle` and ``docs/trust.md``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from ._bundle import BUNDLE_FORMAT, load_pipeline, save_pipeline
from ._data import EventData
from ._drift import DEFAULT_THRESHOLDS, population_drift, reference_distribution
from ._exceptions import (
    ChurnDataError,
    ChurnModelError,
    ChurnParameterError,
    LeakageWarning,
    ModelQualityWarning,
    SeasonWarning,
)
from ._fitted import FittedState, FittedView, fitted_state
from ._labels import customer_status, includes_lapsed, label_churn, label_kind, population
from ._model import ChurnModel, SummaryReprMixin
from ._model_metrics import Evaluation
from ._params import (
    AnyOf,
    Constraint,
    Duration,
    Integer,
    Options,
    ParameterChecksMixin,
    Real,
    checks_parameters,
)
from ._progress import Progress, ProgressArg, reporter
from ._scoring import align_columns, check_families, check_inputs, customer_value
from ._season import season_gap
from ._sizing import (
    EXPLAIN_BLOCK_ROWS,
    fit_builders_within_memory,
    float32_features,
    sized_training_cutoffs,
    training_rows,
)
from ._summary import summary_frame
from ._training import (
    DEFAULT_CUTOFF_FREQ,
    TrainingPlan,
    business_kind,
    check_labels,
    check_outcome_columns,
    describe_feature_columns,
    fit_windows,
    latest_cutoff_rows,
    pipeline_summary_rows,
    required_inputs,
    static_columns,
    training_schedule,
    training_summary,
    warn_if_learned_nothing,
)
from ._windows import TIME_RANGE, horizon_text, parse_window, to_naive_utc
from .features import (
    BUSINESS_KINDS,
    FeatureBuilder,
    build_features,
    default_builders,
)

__all__ = ["ChurnPipeline", "BUNDLE_FORMAT", "business_kind"]

_SPAN_YEARS = round((TIME_RANGE[1] - TIME_RANGE[0]).days / 365.25)  # years data may span

#: Keys of a TOML config that are pipeline parameters of the same name.
CONFIG_PARAMETERS = (
    "horizon",
    "label",
    "n_cutoffs",
    "cutoff_freq",
    "lookback",
    "business",
    "train_sample",
)
#: How reasons are written: currency symbol, smallest reason in probability points.
REASON_CONFIG_KEYS = ("currency", "reason_threshold")
#: Every config key :meth:`ChurnPipeline.from_config` reads.
PIPELINE_CONFIG_KEYS = (*CONFIG_PARAMETERS, *REASON_CONFIG_KEYS, "windows", "model")


def reason_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config's ``currency`` and ``reason_threshold``, checked, as pipeline parameters.

    Raises
    ------
    ChurnDataError
        Naming the key and what it takes.
    """
    params: dict[str, Any] = {}
    if "currency" in config:
        currency = config["currency"]
        if not isinstance(currency, str) or len(currency) > 5:
            raise ChurnDataError(f'currency = {currency!r}; give a short symbol such as "€" or "$"')
        params["currency"] = currency
    if "reason_threshold" in config:
        value = config["reason_threshold"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ChurnDataError(
                f"reason_threshold = {value!r}; give probability points in [0, 1), e.g. 0.01 "
                f"for one point"
            )
        params["reason_threshold"] = float(value)
    return params


def _config_windows(windows: Any) -> tuple[Any, ...]:
    """The config's ``windows`` list, each a usable duration."""
    if isinstance(windows, (str, int)) or not windows:
        raise ChurnDataError(
            f'config windows = {windows!r}; give a list such as [7, 30, 90] or ["7D", "30D"]'
        )
    for window in windows:
        try:
            parse_window(window)
        except (TypeError, ValueError) as exc:
            raise ChurnDataError(
                f'config windows {window!r} is not a usable duration ({exc}); use e.g. 30 or "30D"'
            ) from None
    return tuple(windows)


def _config_model(section: Any) -> ChurnModel:
    """A ChurnModel from the config's ``[model]`` table."""
    if not isinstance(section, Mapping):
        raise ChurnDataError(f"config model must be a table ([model]), got {section!r}")
    try:
        return ChurnModel(**dict(section))
    except TypeError as exc:
        raise ChurnDataError(f"config [model]: {exc}; see ChurnModel for its parameters") from None


def _peer_references(peers: pd.DataFrame, info: pd.DataFrame) -> dict[str, Any]:
    """What reasons compare a customer with: percentiles and related facts of ``peers``.

    ``peers`` is every training row, or the latest cutoff's when the rows are a sample (a
    sample holds churners out of proportion).
    """
    from ._explain import reference_percentiles, related_facts

    return {
        "feature_percentiles": reference_percentiles(peers),
        "reason_facts": related_facts(peers, info),
    }


def _model_references(model: Any, latest: pd.DataFrame, info: pd.DataFrame) -> dict[str, Any]:
    """The drift reference and the reasons' risk directions of a fitted model."""
    from ._explain import risk_directions

    return {
        "reference": reference_distribution(latest, model.predict_proba(latest)[:, 1]),
        "reason_directions": (
            risk_directions(model, latest, info) if hasattr(model, "booster_") else {}
        ),
    }


# --------------------------------------------------------------------------- pipeline
class ChurnPipeline(ParameterChecksMixin, SummaryReprMixin, BaseEstimator):
    """Feature builders and a churn model, trained on many cutoffs and scored at one.

    Parameters
    ----------
    builders : sequence of FeatureBuilder, optional
        Feature families (cloned at fit). Default :func:`churnpredict.default_builders`;
        families whose tables are absent are skipped.
    model : classifier, optional
        Default ``ChurnModel()``. Its ``horizon`` (purge gap) is set to this pipeline's
        horizon when left at None.
    horizon : duration or "auto", default "auto"
        Churn is looked for in the horizon after each cutoff: a cancellation in
        ``(cutoff, cutoff + horizon]``, activity in ``[cutoff, cutoff + horizon)``. "auto":
        28 days, or the longest horizon a short log fits (a quarter of its span; see
        :func:`~churnpredict._training.training_schedule`).
    label : {"auto", "cancellation", "inactivity"}, default "auto"
        "auto": cancellation when customers have ``churned_at`` (and the business is
        ``subscription``), else inactivity.
    n_cutoffs : int, default 12
        Training cutoffs (the latest is ``as_of - horizon``).
    cutoff_freq : duration or "auto", default "auto"
        Spacing of the training cutoffs. "auto": 14 days with a 28-day horizon, closer on a
        short log so that the cutoffs fit in it.
    lookback : duration, default "90D"
        Inactivity labels only: customers active this recently are ``active``; the others
        (no activity in the lookback) are ``lapsed``. Both are trained on and scored, so one
        scored list holds the retention list and the win-back list.
    business : {"auto", "subscription", "purchases", "usage"}, default "auto"
        What the customers buy. ``subscription``: MRR, price changes, revenue at risk from
        MRR. ``purchases`` (shops, marketplaces): no MRR and no price feature
        (:class:`~churnpredict.features.SpendFeatures` instead of ``MonetaryFeatures``),
        ``label="auto"`` means inactivity, and scores carry ``expected_spend`` (see
        :func:`~churnpredict.features.expected_spend`) instead of ``mrr``. ``usage`` (an
        app's or service's event log): sessions, active days and event types
        (:class:`~churnpredict.features.UsageFeatures`), no money (scores carry ``mrr`` only
        when customers have it), churn is inactivity. "auto" detects the kind from the data
        (:func:`business_kind`).
    windows : sequence of durations, optional
        Feature windows (e.g. ``(7, 30, 90)`` days) of the default builders' families that
        have windows; default each family's own. Builders given in ``builders`` keep theirs.
    reason_threshold : float, default 0.01
        A reason must raise the churn probability by at least this many probability points
        (0.01 = one point; see docs/reasons.md).
    currency : str, default ""
        Symbol written before amounts in reasons (e.g. "€"; the config key ``currency``).
    train_sample : "auto", float or None, default "auto"
        Train on every churner and this share (in (0, 1]) of the other rows of each training
        cutoff, weighted so probabilities stay calibrated; the latest (validation) cutoffs
        stay whole. "auto" samples only big data (see :func:`~churnpredict._training.
        auto_sample_share`); None or 1 trains on every row.
    n_jobs : int, optional
        Threads building features (see :func:`~churnpredict.build_features`); default every
        processor. Results are the same whatever the number.

    Attributes
    ----------
    fitted_state_ : FittedState
        Everything below, as one frozen object (:class:`~churnpredict._fitted.FittedState`):
        the fitted attributes are read-only views of it, replaced whole by :meth:`fit`,
        :meth:`recalibrate` and :meth:`load`.
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
        :func:`~churnpredict._labels.customer_status`): with inactivity churn the lapsed
        customers are trained on, not extrapolated to.
    validation_scores_ : dict
        The model's validation scores (latest cutoffs, before the refit).
    required_inputs_ : dict of str -> list of str
        Tables the fitted families read, each with the columns beyond its required ones that
        they were fitted with (e.g. ``{"activity": ["event", "value"], "tickets": ["csat"]}``).
        Scoring data lacking one is refused with :class:`~churnpredict.ChurnDataError`.
    model_id_ : str
        A short, stable id of the fitted model (sha256 of the booster, its fitted state and
        the feature names); scores carry it in ``attrs["model_id"]``. It changes when
        :meth:`recalibrate` replaces the calibration map.
    reference_ : dict
        Distributions of every feature and of the churn probability over the training rows
        of the latest training cutoff (plain JSON, kept in the bundle): what :meth:`drift`
        compares a scored population with (see :mod:`churnpredict._drift`).
    recalibration_ : dict
        Only after :meth:`recalibrate`: when and on which cutoffs the calibration map was
        refitted, the observed churn rate there and the mean probability before and after.

    Examples
    --------
    >>> from churnpredict.datasets import make_subscription_data
    >>> from churnpredict._model import ChurnModel
    >>> data = make_subscription_data(n_customers=300, random_state=1)
    >>> pipe = ChurnPipeline(model=ChurnModel(n_estimators=50, n_jobs=1)).fit(data)
    >>> at_risk = pipe.score(data, as_of="2024-12-31", explain=False)
    >>> list(at_risk.columns)
    ['churn_probability', 'mrr', 'status']
    """

    #: fitted attributes, besides the builders and the model, that a bundle keeps
    bundle_attributes: tuple[str, ...] = (
        "required_inputs_",
        "model_id_",
        "business_",
        "business_reason_",
        "training_statuses_",
        "reference_",
        "recalibration_",
        "feature_percentiles_",
        "reason_facts_",
        "schedule_",
        "reason_directions_",
    )

    # the fitted attributes: read-only views of the fitted state (``fitted_state_``)
    builders_ = FittedView("builders", list)
    model_ = FittedView("model")
    feature_names_ = FittedView("feature_names", list)
    feature_info_ = FittedView("feature_info")
    as_of_ = FittedView("as_of")
    cutoffs_ = FittedView("cutoffs")
    horizon_ = FittedView("horizon")
    label_kind_ = FittedView("label_kind")
    is_snapshot_ = FittedView("is_snapshot")
    business_ = FittedView("business")
    business_reason_ = FittedView("business_reason")
    training_summary_ = FittedView("training_summary")
    validation_scores_ = FittedView("validation_scores")
    model_id_ = FittedView("model_id")
    required_inputs_ = FittedView("required_inputs")
    training_statuses_ = FittedView("training_statuses")
    reference_ = FittedView("reference")
    recalibration_ = FittedView("recalibration")
    feature_percentiles_ = FittedView("feature_percentiles")
    reason_facts_ = FittedView("reason_facts")
    schedule_ = FittedView("schedule")
    reason_directions_ = FittedView("reason_directions")

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "horizon": AnyOf(Options("auto"), Duration()),
        "label": Options("auto", "cancellation", "inactivity"),
        "n_cutoffs": Integer(min=1),
        "cutoff_freq": AnyOf(Options("auto"), Duration()),
        "lookback": Duration(),
        "business": Options("auto", *BUSINESS_KINDS),
        "train_sample": AnyOf(
            Options("auto", None),
            Real(0, 1, closed="right"),
            expected="'auto', a share in (0, 1] or None",
        ),
    }

    def __init__(
        self,
        *,
        builders: Sequence[FeatureBuilder] | None = None,
        model: BaseEstimator | None = None,
        horizon: Any = "auto",
        label: str = "auto",
        n_cutoffs: int = 12,
        cutoff_freq: Any = "auto",
        lookback: Any = "90D",
        business: str = "auto",
        windows: Sequence[Any] | None = None,
        reason_threshold: float = 0.01,
        currency: str = "",
        train_sample: float | str | None = "auto",
        n_jobs: int | None = None,
    ) -> None:
        self.builders = builders
        self.model = model
        self.horizon = horizon
        self.label = label
        self.n_cutoffs = n_cutoffs
        self.cutoff_freq = cutoff_freq
        self.lookback = lookback
        self.business = business
        self.windows = windows
        self.reason_threshold = reason_threshold
        self.currency = currency
        self.train_sample = train_sample
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ config
    @classmethod
    def from_config(cls, config: Mapping[str, Any], **params: Any) -> ChurnPipeline:
        """An unfitted pipeline from the settings of a TOML config (``cp.load_config``).

        The keys :data:`CONFIG_PARAMETERS` (``horizon``, ``label``, ``n_cutoffs``,
        ``cutoff_freq``, ``lookback``, ``business``, ``train_sample``) are the parameters of
        the same name; ``windows`` the feature windows of the default builders; the
        ``[model]`` table the parameters of :class:`~churnpredict._model.ChurnModel`;
        ``currency`` and ``reason_threshold`` how reasons are written. Other keys (the data's
        and the lists') are left to :meth:`EventData.from_directory
        <churnpredict.EventData.from_directory>` and the list options. The parameters are
        checked at once, before any data is read.

        Parameters
        ----------
        config : mapping
            The config's settings, e.g. ``cp.load_config("churn.toml")``.
        **params
            Parameters over the config's (what the command line's flags set), e.g.
            ``horizon="56D"``.

        Returns
        -------
        ChurnPipeline

        Raises
        ------
        ChurnParameterError
            A parameter the pipeline or its model cannot take (a ``ValueError``).
        ChurnDataError
            A ``windows`` list, ``[model]`` table, ``currency`` or ``reason_threshold``
            that is not usable.

        Examples
        --------
        >>> pipe = ChurnPipeline.from_config({"horizon": "56D", "model": {"n_estimators": 300}})
        >>> pipe.horizon, pipe.model.n_estimators
        ('56D', 300)
        """
        model = params.pop("model", None)
        settings = {**config, **params}
        given = {k: settings[k] for k in CONFIG_PARAMETERS if k in settings}
        given.update(reason_settings(settings))
        if "windows" in settings:
            given["windows"] = _config_windows(settings["windows"])
        given.update({k: v for k, v in params.items() if k not in given})
        if model is None:
            model = _config_model(settings.get("model", {}))
        pipeline = cls(model=model, **given)
        pipeline.check_params()  # refused before any data is read
        return pipeline

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

    def _check_parameter_combination(self) -> None:
        """The training cutoffs must fit in the times data may hold; the model's own table.

        ``n_cutoffs`` cutoffs ``cutoff_freq`` apart ("auto" spaces them at most
        :data:`~churnpredict._training.DEFAULT_CUTOFF_FREQ` apart) must fit in 1700..2199,
        whatever the data; a model with a parameter table (``ChurnModel``) is checked too, so
        a bad model parameter is refused before any data is read.
        """
        freq = DEFAULT_CUTOFF_FREQ if self.cutoff_freq == "auto" else parse_window(self.cutoff_freq)
        years = self.n_cutoffs * (freq / pd.Timedelta(days=365.25))
        if years > _SPAN_YEARS:
            raise ChurnParameterError(
                f"n_cutoffs={self.n_cutoffs!r} cutoffs every {horizon_text(freq)} span "
                f"{years:,.0f} years, more than the {_SPAN_YEARS} years data can cover "
                f"(1700-2199); use fewer cutoffs or a shorter cutoff_freq"
            )
        if isinstance(self.model, ParameterChecksMixin):
            self.model.check_params()

    # ------------------------------------------------------------------ fit
    @checks_parameters
    def fit(
        self, data: EventData, as_of: Any = None, progress: ProgressArg = None
    ) -> ChurnPipeline:
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
        progress : bool or callable, optional
            Default: a bar when fitting takes more than a second or two and the output is a
            notebook or terminal; False: silent; a callable: ``progress(stage, step, total)``
            after labelling, after each feature family and after fitting the model (see
            :mod:`churnpredict._progress`).

        Returns
        -------
        ChurnPipeline
        """
        with reporter(progress, "fit") as report:
            self._fit_training(data, as_of, report, keep_features=False)
        return self

    def _forget_fit(self) -> None:
        """Drop what an earlier fit (or recalibration) left: a new fit sets it all again."""
        self.__dict__.pop("fitted_state_", None)

    def _install(self, state: FittedState) -> ChurnPipeline:
        """Make ``state`` this pipeline's fitted state, whole (the fitted attributes view it)."""
        self.__dict__["fitted_state_"] = state
        return self

    def set_fitted(
        self,
        *,
        builders: Sequence[FeatureBuilder],
        model: BaseEstimator,
        feature_names: Sequence[str],
        as_of: Any,
        cutoffs: Any,
        horizon: pd.Timedelta,
        label_kind: str,
        is_snapshot: bool,
        business: str,
        business_reason: str,
        training_summary: dict[str, Any],
        validation_scores: dict[str, float],
        feature_info: pd.DataFrame | None = None,
        **extra: Any,
    ) -> ChurnPipeline:
        """Install a fitted state assembled by :func:`~churnpredict._fitted.fitted_state`.

        The one way :meth:`fit`, Dask training and loading set a fitted state; whatever an
        earlier fit left is replaced. ``extra`` sets the optional fitted attributes listed
        in :attr:`bundle_attributes` (e.g. ``required_inputs_``, ``reference_``);
        ``model_id_`` and ``required_inputs_`` are computed when not given.

        Parameters
        ----------
        builders : sequence of FeatureBuilder
            The fitted builders, in column order.
        model : estimator
            The fitted model.
        feature_names : sequence of str
        as_of, cutoffs, horizon, label_kind, is_snapshot, business, business_reason
            What the training saw: see the fitted attributes of this class.
        training_summary, validation_scores : dict
        feature_info : pandas.DataFrame, optional
            Driver metadata of the features (:func:`churnpredict._training.feature_info`);
            computed from the builders when not given.
        **extra
            Names from :attr:`bundle_attributes` and their values.

        Returns
        -------
        ChurnPipeline
            ``self``.
        """
        unknown = sorted(set(extra) - set(self.bundle_attributes))
        if unknown:
            raise TypeError(
                f"set_fitted got unknown fitted attributes {unknown}; expected "
                f"names from bundle_attributes {list(self.bundle_attributes)}"
            )
        state = fitted_state(
            builders=builders,
            model=model,
            feature_names=feature_names,
            feature_info=feature_info,
            as_of=as_of,
            cutoffs=cutoffs,
            horizon=horizon,
            label_kind=label_kind,
            is_snapshot=is_snapshot,
            business=business,
            business_reason=business_reason,
            training_summary=training_summary,
            validation_scores=validation_scores,
            **{name[:-1]: value for name, value in extra.items()},
        )
        return self._install(state)

    @checks_parameters
    def training_plan(
        self, data: EventData, *, business: tuple[str, str] | None = None, as_of: Any = None
    ) -> TrainingPlan:
        """What the settings decide for ``data``: horizon, business, label, builders, model.

        Parameters
        ----------
        data : EventData
            The business kind and the label kind are read from it.
        business : (str, str), optional
            The business kind and its reason, when the caller settles it (the Dask trainer,
            which has no single payments table to detect it from).
        as_of : timestamp-like, optional
            What is known: an "auto" horizon and spacing fit the log up to it
            (:func:`~churnpredict._training.training_schedule`).

        Returns
        -------
        TrainingPlan
        """
        schedule = training_schedule(
            data, as_of, self.horizon, self.cutoff_freq, int(self.n_cutoffs)
        )
        horizon = schedule.horizon
        kind_of_business, reason = (
            business_kind(data, self.business) if business is None else business
        )
        # a shop or an app's log has no cancellations to wait for: churn is inactivity
        kind = label_kind(
            data,
            "inactivity"
            if self.label == "auto" and kind_of_business != "subscription" and not data.is_snapshot
            else self.label,
        )
        builders = (
            [clone(b) for b in self.builders]
            if self.builders is not None
            else default_builders(kind_of_business, horizon=horizon, windows=self.windows)
        )
        if schedule.short_log and self.builders is None and self.windows is None:
            fit_windows(builders, horizon)
        model = ChurnModel() if self.model is None else clone(self.model)
        if (
            not data.is_snapshot
            and "horizon" in model.get_params(deep=False)
            and (model.get_params(deep=False)["horizon"] is None)
        ):
            model.set_params(horizon=horizon)
        return TrainingPlan(
            horizon,
            kind_of_business,
            reason,
            kind,
            builders,
            model,
            schedule.cutoff_freq,
            schedule.note,
        )

    @checks_parameters
    def fit_training(
        self, data: EventData, as_of: Any = None, progress: ProgressArg = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:meth:`fit`, returning the training features and labels it used.

        For evaluation and benchmarks that need the training rows (e.g. to fit a baseline on
        the same rows).

        Returns
        -------
        X : pandas.DataFrame
            Features indexed by (customer_id, cutoff).
        labels : pandas.DataFrame
            :func:`~churnpredict._labels.label_churn` output on the same index.
        """
        with reporter(progress, "fit") as report:
            return self._fit_training(data, as_of, report)

    def _fit_training(
        self, data: EventData, as_of: Any, progress: Progress | None, keep_features: bool = True
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Fit everything; return the training features (float32 for a ChurnModel unless
        ``keep_features``: what XGBoost reads, in half the memory) and labels.

        The steps: the plan, the labels at the training cutoffs, the features of the
        (sampled) rows, the references reasons and drift need, the model; then
        :func:`~churnpredict._fitted.fitted_state` assembles what was learned.
        """
        data = self._check_data(data)
        self._forget_fit()
        as_of = None if as_of is None or data.is_snapshot else to_naive_utc(as_of)
        plan = self.training_plan(data, as_of=as_of)
        as_of, builders, labels = self._training_labels(data, plan, as_of)
        trained, weight, share = training_rows(plan.model, labels, self.train_sample)
        active = [b for b in builders if b.applies_to(data)]
        X = self._training_features(data, trained, active, weight is not None, progress)
        check_labels(labels, data, as_of, plan.horizon)
        ids = labels.index.get_level_values("customer_id")
        y_all = labels["churned"].to_numpy()
        check_outcome_columns(data.customers, static_columns(active), ids, ids[y_all == 1])
        # what the fitted pipeline keeps of the rows, taken before the booster needs the room
        status = customer_status(
            data, labels.index, plan.horizon, kind=plan.label_kind, lookback=self.lookback
        )
        data.release_cache()  # the event indexes, rebuilt when next asked for
        names = [str(c) for c in X.columns]
        info = describe_feature_columns(active, names)
        # drift compares a scored population with the latest training population: rows pooled
        # over a year of cutoffs differ from any one cutoff (histories grow, prices change)
        latest = latest_cutoff_rows(X)
        references = _peer_references(X if weight is None else latest, info)
        if not keep_features and isinstance(plan.model, ChurnModel):
            X = float32_features(X)
        model = plan.model
        y = trained["churned"].to_numpy()
        model.fit(X, y) if weight is None else model.fit(X, y, sample_weight=weight)
        summary = training_summary(labels, len(names), trained=trained, weight=weight, share=share)
        warn_if_learned_nothing(model, summary, stacklevel=4)  # the caller of fit
        if progress is not None:
            progress("model", len(active) + 2, len(active) + 2)
        self._install(
            fitted_state(
                builders=active,
                model=model,
                feature_names=names,
                feature_info=info,
                as_of=as_of,
                cutoffs=labels.index.get_level_values("cutoff").unique(),
                horizon=plan.horizon,
                label_kind=plan.label_kind,
                is_snapshot=bool(data.is_snapshot),
                business=plan.business,
                business_reason=plan.business_reason,
                training_summary=summary,
                validation_scores=dict(getattr(model, "validation_scores_", {}) or {}),
                required_inputs=required_inputs(active, data),
                schedule={
                    "cutoff_freq": horizon_text(plan.cutoff_freq),
                    "note": plan.schedule_note,
                },
                training_statuses={
                    str(k): int(v) for k, v in status.value_counts().sort_index().items()
                },
                **references,
                **_model_references(model, latest, info),
            )
        )
        return X, labels

    def _training_labels(
        self, data: EventData, plan: TrainingPlan, as_of: pd.Timestamp | None
    ) -> tuple[pd.Timestamp, list[FeatureBuilder], pd.DataFrame]:
        """What training knew, the builders that apply, and the labels of the training rows.

        A snapshot table trains on its one cutoff with the profile family only; event data on
        the training cutoffs before ``as_of`` (a season the cutoffs miss is warned about).
        """
        builders = plan.builders
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
            as_of = data.time_range[1] if as_of is None else as_of
            cutoffs = sized_training_cutoffs(
                data, as_of, plan.horizon, int(self.n_cutoffs), plan.cutoff_freq
            )
            labels = label_churn(
                data,
                cutoffs,
                plan.horizon,
                kind=plan.label_kind,
                as_of=as_of,
                lookback=self.lookback,
                lapsed=includes_lapsed(plan.label_kind),
            )
        if len(labels) == 0:
            raise ChurnDataError(
                f"no customer is in the population at the training cutoffs "
                f"({cutoffs.min()} .. {cutoffs.max()}); use a later as_of or check signup_at"
            )
        if not data.is_snapshot:
            gap = season_gap(labels, plan.horizon, as_of, data.time_range[0], plan.cutoff_freq)
            if gap is not None:
                warnings.warn(gap, SeasonWarning, stacklevel=5)  # the caller of fit
        return to_naive_utc(as_of), builders, labels

    def _training_features(
        self,
        data: EventData,
        trained: pd.DataFrame,
        active: list[FeatureBuilder],
        sampled: bool,
        progress: Progress | None,
    ) -> pd.DataFrame:
        """Fit the builders (within memory) and build the features of the training rows."""
        total = len(active) + 2
        if progress is not None:
            progress("labels", 1, total)
        rows = fit_builders_within_memory(data, trained, active, sampled=sampled)
        X = build_features(
            data,
            rows,
            active,
            fit=False,
            n_jobs=self.n_jobs,
            progress=(
                False
                if progress is None
                else lambda name, step, _n: progress(name, step + 1, total)
            ),
        )
        if X.shape[1] == 0:
            raise ChurnDataError(
                "no feature could be built: every feature family lacks its table; give "
                "customers and at least one of activity, payments or tickets"
            )
        if data.is_snapshot and data.label_column in X.columns:
            X = X.drop(columns=[data.label_column])
        return X

    # ------------------------------------------------------------------ scoring
    def align_features(self, X: pd.DataFrame) -> pd.DataFrame:
        """Put features built for scoring in training column order; name what differs.

        Raises
        ------
        ChurnModelError
            When a training column is missing or an unexpected one is present.
        """
        return align_columns(X, self.feature_names_)

    def features(
        self, data: EventData, as_of: Any = None, progress: ProgressArg = None
    ) -> pd.DataFrame:
        """Features of the population at ``as_of`` with the fitted builders, training order.

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like, optional
            Defaults to the latest time in the data (snapshot: the snapshot).
        progress : bool or callable, optional
            As in :func:`~churnpredict.features.build_features`.

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
        check_families(self.builders_, data)
        self.check_inputs(data)
        if data.is_snapshot:
            pop = population(data, [data.snapshot_at])
        else:
            stamp = data.time_range[1] if as_of is None else to_naive_utc(as_of)
            pop = population(data, [stamp], **self.population_rule())
        if len(pop) == 0:
            raise ChurnDataError(
                f"no customer is in the population at as_of={as_of}: nobody had signed up and "
                f"not yet churned by then; check as_of"
            )
        X = build_features(
            data, pop.index, self.builders_, fit=False, progress=progress, n_jobs=self.n_jobs
        )
        if self.is_snapshot_ and data.label_column in X.columns:
            X = X.drop(columns=[data.label_column])
        return self.align_features(X)

    def check_inputs(self, data: EventData) -> None:
        """Refuse data lacking a table or column the pipeline was trained with.

        Raises
        ------
        ChurnDataError
            Naming the table or ``table.column`` (see :attr:`required_inputs_`).
        """
        check_inputs(self.required_inputs_, data)

    def population_rule(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~churnpredict._labels.population` and
        :func:`~churnpredict._labels.label_churn` that pick who this fitted pipeline scores.

        Inactivity churn keeps the lapsed customers: everyone who signed up and has not
        cancelled is trained on and scored.
        """
        kind = self.label_kind_
        return {"kind": kind, "lookback": self.lookback, "lapsed": includes_lapsed(kind)}

    def score(
        self,
        data: EventData,
        as_of: Any = None,
        explain: bool = True,
        drift: bool | Mapping[str, float] = False,
        progress: ProgressArg = None,
    ) -> pd.DataFrame:
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
            Add ``reason_1..3``, ``reason_group_1..3``, ``reason_weight_1..3``,
            ``reason_feature_1..3`` and the ``shap_<group>`` columns (needs a tree model such
            as ChurnModel; see :func:`churnpredict._explain.explain` and docs/reasons.md).
        drift : bool or dict, default False
            Also compare the scored population with the training reference
            (:attr:`reference_`) and put the summary of :func:`churnpredict._drift.
            population_drift` in ``attrs["drift"]``. A dict sets the PSI thresholds
            (``{"notice": 0.1, "warn": 0.25}``). Drift never raises: it is information.
        progress : bool or callable, optional
            Default: a bar when scoring takes more than a second or two and the output is a
            notebook or terminal; False: silent; a callable: ``progress(stage, step,
            total)`` after each feature family, the model and the reasons.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``customer_id``, highest probability first: ``churn_probability``;
            for subscriptions ``mrr`` (point-in-time MRR from the monetary features, else
            ``customers.mrr``, else NaN), for purchases ``expected_spend`` (the spend
            expected over the horizon if the customer stays, see
            :func:`~churnpredict.features.expected_spend`); ``status`` (``active``,
            ``lapsed`` or ``new``, see :func:`~churnpredict._labels.customer_status`); and
            the reason columns. ``attrs`` records what the scores are: ``horizon`` (e.g.
            ``"28D"``), ``as_of`` (ISO 8601, the cutoff scored) and ``model_id``
            (:attr:`model_id_`), ``label`` (the churn definition: ``cancellation``,
            ``inactivity`` or ``snapshot``) with its ``lookback``, ``currency`` and
            ``base_rate`` (the training churn rate: the risk tiers of a list of fewer than
            100 customers compare with it).

        Raises
        ------
        ChurnDataError
            When the data lacks a table or column the pipeline was trained with
            (:attr:`required_inputs_`), or nobody is in the population at ``as_of``.
        """
        with reporter(progress, "score") as report:
            return self._score(data, as_of, explain, drift, report)

    def _score(
        self,
        data: EventData,
        as_of: Any,
        explain: bool,
        drift: bool | Mapping[str, float],
        report: Progress | None,
    ) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        nothing = self.training_summary_.get("learned_nothing")
        if nothing:  # said at training; the list it makes must say it too
            warnings.warn(nothing, ModelQualityWarning, stacklevel=4)
        total = len(self.builders_) + 2
        # the families are steps 1..n of the score's n + 2 (model, reasons)
        X = self.features(
            data, as_of, False if report is None else (lambda n, s, _t: report(n, s, total))
        )
        proba = self.model_.predict_proba(X)[:, 1]
        if report is not None:
            report("model", total - 1, total)
        out = customer_value(data, X, self.horizon_, self.business_)
        out.insert(0, "churn_probability", proba)
        out["status"] = customer_status(
            data, X.index, self.horizon_, kind=self.label_kind_, lookback=self.lookback
        ).to_numpy()
        # the event indexes and positions: the reasons need the room more
        data.release_cache(keep_codes=False)
        if explain:
            out = pd.concat([out, self._reasons(X, out.index)], axis=1)
        if report is not None:
            report("reasons" if explain else "done", total, total)
        order = np.argsort(-out["churn_probability"].to_numpy(), kind="stable")
        out = out.iloc[order]
        out.attrs.update(self._score_attrs(X, data, as_of))
        if drift is not False and drift is not None:
            out.attrs["drift"] = self._drift_summary(X, proba, {} if drift is True else dict(drift))
        return out

    def _reasons(self, X: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
        """The reason columns of the scored rows (:func:`churnpredict._explain.explain`)."""
        if not hasattr(self.model_, "booster_"):
            raise ChurnModelError(
                f"reasons need a tree model; {type(self.model_).__name__} has no booster_. "
                f"Score with explain=False"
            )
        from ._explain import explain as explain_rows
        from ._reasons import population_peers

        state = self.fitted_state_
        info = describe_feature_columns(self.builders_, self.feature_names_)
        # everyone scored is each customer's crowd, whichever block explains them
        peers = population_peers(X, info, state.feature_percentiles)
        reasons = pd.concat(  # in blocks of rows: its temporaries are a few KB a row
            explain_rows(
                self.model_,
                X.iloc[lo : lo + EXPLAIN_BLOCK_ROWS],
                info,
                top=3,
                threshold=float(self.reason_threshold),
                percentiles=state.feature_percentiles,
                facts=state.reason_facts,
                currency=str(self.currency or ""),
                directions=state.reason_directions,
                peers=peers,
            )
            for lo in range(0, len(X), EXPLAIN_BLOCK_ROWS)
        )
        reasons.index = index
        return reasons

    def _score_attrs(self, X: pd.DataFrame, data: EventData, as_of: Any) -> dict[str, Any]:
        """What the scores are: the ``attrs`` of :meth:`score`'s frame."""
        cutoff = (
            pd.Timestamp(X.index.get_level_values("cutoff")[0])
            if len(X)
            else (to_naive_utc(as_of) if as_of is not None else data.time_range[1])
        )
        return {
            "horizon": horizon_text(self.horizon_),
            "as_of": cutoff.isoformat(),
            "model_id": self.model_id_,
            "label": self.label_kind_,
            "lookback": str(self.lookback),
            "business": self.business_,
            "currency": str(self.currency or ""),
            "base_rate": float(self.training_summary_["positive_rate"]),
        }

    def _drift_summary(
        self, X: pd.DataFrame, proba: np.ndarray, thresholds: Mapping[str, float]
    ) -> dict[str, Any] | None:
        reference = self.reference_
        unknown = sorted(set(thresholds) - set(DEFAULT_THRESHOLDS))
        if unknown:
            raise ValueError(f"drift thresholds {unknown}; expected 'notice' and/or 'warn'")
        return population_drift(reference, X, proba, **{**DEFAULT_THRESHOLDS, **thresholds})

    def drift(
        self,
        data: EventData,
        as_of: Any = None,
        *,
        notice: float = DEFAULT_THRESHOLDS["notice"],
        warn: float = DEFAULT_THRESHOLDS["warn"],
    ) -> dict[str, Any]:
        """Compare the population at ``as_of`` with the training population.

        Population stability index (PSI) of every feature and of the churn probability
        against :attr:`reference_`, shares of missing values, categories not seen in
        training; the binning and thresholds are described in :mod:`churnpredict._drift`.

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like, optional
            Defaults to the latest time in the data.
        notice, warn : float, default 0.1 and 0.25
            PSI of a moderate and of a major shift.

        Returns
        -------
        dict
            Plain JSON (see :func:`churnpredict._drift.population_drift`); its ``drifted``
            lists the features (and ``churn_probability``) at ``warn``.
        """
        check_is_fitted(self, "model_")
        X = self.features(data, as_of)
        proba = self.model_.predict_proba(X)[:, 1]
        return self._drift_summary(X, proba, {"notice": notice, "warn": warn})

    # ------------------------------------------------------------------ recalibration
    def recalibrate(
        self, data: EventData, as_of: Any = None, *, n_cutoffs: int = 3, method: str | None = None
    ) -> ChurnPipeline:
        """Refit only the calibration map on the latest complete cutoffs (trees unchanged).

        For seasonal shifts of the churn rate: the booster, hence every customer's margin
        and their ranking, stays as it is; only the monotone map from margin to probability
        is refitted on what happened after the ``n_cutoffs`` latest cutoffs whose horizon is
        over by ``as_of`` (the latest is ``as_of - horizon``, spaced ``cutoff_freq``).
        :attr:`model_id_` changes, so lists say which calibration they came from; save the
        pipeline to keep it (a new bundle version).

        Parameters
        ----------
        data : EventData
        as_of : timestamp-like, optional
            What is known (as in :meth:`fit`); defaults to the latest time in the data.
        n_cutoffs : int, default 3
            Cutoffs whose outcomes the map is fitted on.
        method : {"isotonic", "sigmoid"}, optional
            Default: the model's own ``calibration`` (isotonic when it has none). Isotonic
            blocks with few rows are shrunk toward a Platt sigmoid fitted on the same rows
            (:class:`churnpredict._model.Calibrator`), so the mean probability follows the
            observed rate.

        Returns
        -------
        ChurnPipeline
            ``self``, with a new calibration map, :attr:`model_id_` and
            :attr:`recalibration_`; the score reference of :attr:`reference_` becomes the
            recalibrated probabilities of those rows.

        Raises
        ------
        ChurnModelError
            When the model has no calibration map to refit (e.g. ``LogisticBaseline``).
        ChurnDataError
            When no cutoff is complete by ``as_of``, or the outcomes hold only one class.
        """
        from ._recalibration import recalibrate

        check_is_fitted(self, "model_")
        data = self._check_data(data)
        return self._install(recalibrate(self, data, as_of, n_cutoffs=n_cutoffs, method=method))

    def evaluate(
        self, data: EventData, as_of: Any, explain: bool = False, progress: ProgressArg = None
    ) -> Evaluation:
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
        progress : bool or callable, optional
            As in :meth:`score`.

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
            stamp = to_naive_utc(as_of)
            if stamp < self.as_of_:
                warnings.warn(
                    f"evaluation cutoff {stamp} is inside the training window (labels up to "
                    f"{self.as_of_}): the model has seen these outcomes, so the metrics are "
                    f"optimistic; evaluate at as_of >= {self.as_of_}",
                    LeakageWarning,
                    stacklevel=2,
                )
            labels = label_churn(data, [stamp], self.horizon_, **self.population_rule())
        scores = self.score(data, stamp, explain=explain, progress=progress)
        outcome = labels.droplevel("cutoff")
        attrs = dict(scores.attrs)  # what the scores are (horizon, business...) stays known
        scores = scores.join(
            outcome[[c for c in ("churned", "churn_type") if c in outcome]], how="left"
        )
        scores.attrs = attrs
        if scores["churned"].isna().any():  # pragma: no cover - same population both ways
            raise ChurnModelError("labels and scores cover different customers")
        scores["churned"] = scores["churned"].astype(np.int8)
        return Evaluation.from_scores(stamp, None if data.is_snapshot else self.horizon_, scores)

    # ------------------------------------------------------------------ reporting
    @property
    def summary(self) -> pd.DataFrame:
        """Training window, rows, churn rate and validation scores as a one-column DataFrame."""
        check_is_fitted(self, "model_")
        return summary_frame(pipeline_summary_rows(self))

    # ------------------------------------------------------------------ bundle
    def save(self, path: str | os.PathLike, *, key: str | bytes | None = None) -> Path:
        """Write the fitted pipeline to a bundle directory, atomically.

        The bundle holds JSON and the booster in XGBoost's own format, never a pickle. A new
        version folder is written and fsynced, then the ``CURRENT`` pointer is replaced, so
        readers see the old or the new bundle; the previous version is kept for readers
        still on it. See :mod:`churnpredict._bundle` and ``docs/trust.md``.

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
    def load(cls, path: str | os.PathLike, *, key: str | bytes | None = None) -> ChurnPipeline:
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
