"""The churn model: XGBoost with time-ordered validation, a purge gap and calibration.

:class:`ChurnModel` fits on (customer_id, cutoff) feature rows. When ``X.index`` has a
``cutoff`` level, the latest cutoffs form the validation fold (early stopping and calibration),
earlier cutoffs whose label horizon reaches past the first validation cutoff are purged from
training, and the booster is finally refit on every row with the chosen number of rounds, so
the newest behaviour is learnt too. :class:`LogisticBaseline` offers the same interface with a
regularised logistic regression, as a yardstick.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._calibration import Calibrator
from ._exceptions import ChurnModelError
from ._fitplan import CandidateTrainer, FitPlan, Refitter, early_stopping_rows, make_fit_plan
from ._jsonstate import JSONStateMixin
from ._model_input import FrameInputMixin
from ._model_matrix import BoosterRows
from ._model_metrics import classification_metrics
from ._params import (
    AnyOf,
    Boolean,
    Constraint,
    Duration,
    InstanceOf,
    Integer,
    Options,
    ParameterChecksMixin,
    Real,
    checks_parameters,
)
from ._summary import SummaryReprMixin, summary_frame
from ._windows import parse_window

# Calibrator, FitPlan and SummaryReprMixin live in calibration, fitplan and summary; they
# stay importable from here.
__all__ = [
    "ChurnModel",
    "LogisticBaseline",
    "Calibrator",
    "FitPlan",
    "SummaryReprMixin",
    "CandidateTrainer",
    "Refitter",
]


# --------------------------------------------------------------------------- ChurnModel
class ChurnModel(
    ParameterChecksMixin, SummaryReprMixin, FrameInputMixin, ClassifierMixin, BaseEstimator
):
    """Gradient-boosted churn classifier with time-ordered validation and calibration.

    Parameters
    ----------
    n_estimators : int, default 1000
        Maximum boosting rounds; early stopping on the validation fold picks fewer.
    learning_rate : float, default 0.05
    max_depth : int, default 4
    min_child_weight : float, default 1.0
    subsample : float, default 0.8
    colsample_bytree : float, default 0.8
    reg_lambda : float, default 1.0
        L2 regularisation of leaf weights.
    early_stopping_rounds : int or None, default 50
        Stop when validation log-loss has not improved for this many rounds; None uses
        ``n_estimators`` rounds.
    validation_cutoffs : int or float, default 2
        With a ``cutoff`` index level: how many of the latest cutoffs form the validation fold
        (a float in (0, 1) is a share of the cutoffs). Without a ``cutoff`` level, or with no
        more cutoffs than that, a stratified random holdout is used instead: a float is the
        share of rows held out, otherwise 20%.
    horizon : duration or None, default None
        Label horizon (e.g. "28D"). Training cutoffs with ``cutoff + horizon`` after the first
        validation cutoff are purged: their labels would overlap the validation period.
        None purges nothing (:class:`~churnpredict._pipeline.ChurnPipeline` passes its horizon).
    calibration : {"isotonic", "sigmoid", None}, default "isotonic"
        Map from margin to probability, fitted on the validation fold's predictions.
    class_weight : {None, "balanced"}, default None
        "balanced" sets XGBoost's ``scale_pos_weight`` to negatives / positives.
    tune : bool or int, default False
        Search a few values of ``max_depth``, ``min_child_weight`` and ``learning_rate``
        (True: 8 candidates; an int: that many), time-ordered, picking by validation log-loss.
    random_state : int, RandomState or None, default 0
    n_jobs : int or None, default None
        XGBoost threads (None: XGBoost's default).

    Attributes
    ----------
    booster_ : xgboost.Booster
        Refit on every row with ``best_iteration_ + 1`` rounds.
    classes_ : ndarray
        The two labels; ``classes_[1]`` is "churned".
    feature_names_in_ : ndarray of str
        Column names seen in fit (only for DataFrames with string column names).
    n_features_in_ : int
    categories_ : dict
        Learned categories of categorical columns; other values are read as missing.
    best_iteration_ : int
        Best round (0-based) on the validation fold.
    best_params_ : dict
        The XGBoost settings used (after tuning when ``tune``).
    calibrator_ : Calibrator or None
    validation_scores_ : dict
        Validation AUC, average precision, log-loss and Brier score of the early-stopped
        booster (raw probabilities), with row counts.
    train_cutoffs_, valid_cutoffs_, purged_cutoffs_, refit_cutoffs_ : DatetimeIndex or None
        Cutoffs of each fold (None without a ``cutoff`` level).
    n_train_rows_, n_valid_rows_, n_refit_rows_ : int
    tuning_results_ : pandas.DataFrame or None
        One row per candidate when ``tune``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"days_idle": rng.exponential(10, 400)})
    >>> y = (rng.random(400) < 1 / (1 + np.exp(2 - X["days_idle"] / 5))).astype(int)
    >>> model = ChurnModel(n_estimators=50, n_jobs=1).fit(X, y)
    >>> model.predict_proba(X).shape
    (400, 2)
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "n_estimators": Integer(min=1),
        "learning_rate": Real(0, 1, closed="right"),
        "max_depth": Integer(min=1),
        "min_child_weight": Real(min=0),
        "subsample": Real(0, 1, closed="right"),
        "colsample_bytree": Real(0, 1, closed="right"),
        "reg_lambda": Real(min=0),
        "early_stopping_rounds": AnyOf(Integer(min=1), None),
        "validation_cutoffs": AnyOf(
            Integer(min=1),
            Real(0, 1, closed="neither"),
            expected="an integer >= 1 (latest cutoffs) or a share in (0, 1)",
        ),
        "horizon": AnyOf(None, Duration()),
        "calibration": AnyOf(Options("isotonic", "sigmoid"), None),
        "class_weight": Options(None, "balanced"),
        "tune": AnyOf(
            Boolean(), Integer(min=1), expected="True/False or a number of candidates >= 1"
        ),
        "random_state": AnyOf(
            None, Integer(min=0, max=2**32 - 1), InstanceOf(np.random.RandomState)
        ),
        "n_jobs": AnyOf(Integer(), None),
    }

    def __init__(
        self,
        *,
        n_estimators: int = 1000,
        learning_rate: float = 0.05,
        max_depth: int = 4,
        min_child_weight: float = 1.0,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int | None = 50,
        validation_cutoffs: int | float = 2,
        horizon: Any = None,
        calibration: str | None = "isotonic",
        class_weight: str | None = None,
        tune: bool | int = False,
        random_state: Any = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_cutoffs = validation_cutoffs
        self.horizon = horizon
        self.calibration = calibration
        self.class_weight = class_weight
        self.tune = tune
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ parameters
    def _horizon(self) -> pd.Timedelta | None:
        if self.horizon is None:
            return None
        try:
            return parse_window(self.horizon)
        except ValueError as exc:
            raise ChurnModelError(f"horizon={self.horizon!r}: {exc}") from None

    # ------------------------------------------------------------------ planning
    @checks_parameters
    def plan_fit(
        self, index: pd.Index, y: Any, *, counts: Any = None, sample_weight: Any = None
    ) -> FitPlan:
        """Folds, purge gap, candidates and class weight of a fit, before any training.

        Parameters
        ----------
        index : pandas.Index
            Index of the rows. With a ``cutoff`` level and more cutoffs than
            ``validation_cutoffs``, the latest cutoffs validate and earlier cutoffs whose
            horizon reaches the first validation cutoff are purged; otherwise a stratified
            random holdout validates.
        y : array-like of 0/1
            Encoded labels of the rows.
        counts : array-like of int, optional
            How many rows each given row stands for, so that grouped rows (one per cutoff and
            class) plan a fit on many. Grouped rows need the time-ordered fold.
        sample_weight : array-like of float, optional
            Row weights: ``scale_pos_weight`` of ``class_weight="balanced"`` weighs by them.

        Returns
        -------
        FitPlan

        Raises
        ------
        ChurnModelError
            For bad parameters, or folds without both classes or without training cutoffs.
        """
        return make_fit_plan(
            index,
            y,
            counts=counts,
            sample_weight=sample_weight,
            validation_cutoffs=self.validation_cutoffs,
            horizon=self._horizon(),
            class_weight=self.class_weight,
            tune=self.tune,
            max_depth=self.max_depth,
            min_child_weight=self.min_child_weight,
            learning_rate=self.learning_rate,
            random_state=self.random_state,
            name=type(self).__name__,
        )

    # ------------------------------------------------------------------ xgboost
    def xgb_params(
        self, overrides: dict[str, Any], scale_pos_weight: float, seed: int
    ) -> dict[str, Any]:
        """XGBoost training parameters of one candidate.

        Parameters
        ----------
        overrides : dict
            A candidate of :attr:`FitPlan.candidates`.
        scale_pos_weight : float
        seed : int

        Returns
        -------
        dict
        """
        params = {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "learning_rate": float(self.learning_rate),
            "max_depth": int(self.max_depth),
            "min_child_weight": float(self.min_child_weight),
            "subsample": float(self.subsample),
            "colsample_bytree": float(self.colsample_bytree),
            "reg_lambda": float(self.reg_lambda),
            "scale_pos_weight": float(scale_pos_weight),
            "seed": seed,
            "verbosity": 0,
        }
        if self.n_jobs is not None:
            params["nthread"] = int(self.n_jobs)
        params.update(overrides)
        return params

    def _dmatrix(self, frame: pd.DataFrame) -> xgb.DMatrix:
        kwargs = {} if self.n_jobs is None else {"nthread": int(self.n_jobs)}
        return xgb.DMatrix(frame, enable_categorical=True, missing=np.nan, **kwargs)

    def _train(
        self, params: dict[str, Any], dtrain: xgb.DMatrix, dvalid: xgb.DMatrix
    ) -> tuple[xgb.Booster, int]:
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=int(self.n_estimators),
            evals=[(dvalid, "validation")],
            early_stopping_rounds=self.early_stopping_rounds,
            verbose_eval=False,
        )
        return booster, self.best_round(booster)

    def best_round(self, booster: xgb.Booster) -> int:
        """Best round (0-based) of a booster trained with this model's early stopping."""
        if self.early_stopping_rounds is None:
            return booster.num_boosted_rounds() - 1
        return int(booster.best_iteration)

    # ------------------------------------------------------------------ fit
    @checks_parameters
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ChurnModel:
        """Fit with early stopping and calibration on the validation fold, then refit on all rows.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            Features. With a ``cutoff`` index level the validation fold is the latest cutoffs
            (time-ordered, purged); otherwise a stratified random holdout. Columns of pandas
            ``category`` or string dtype are categorical.
        y : array-like of shape (n_rows,)
            Binary churn labels.
        sample_weight : array-like of shape (n_rows,), optional
            How many rows each row stands for (e.g. ``1 / share`` for rows kept from a random
            share): the booster, early stopping, the calibration map and the validation scores
            weigh the rows so.

        Returns
        -------
        ChurnModel
            Fitted estimator.

        Notes
        -----
        The booster reads the rows a block at a time into XGBoost's binned
        ``QuantileDMatrix`` (float32 values, one byte per value once binned), so no typed
        copy of ``X`` is made; see :mod:`churnpredict._model_matrix`.
        """
        source, y = self._checked_input(X, y, reset=True)
        target = self._encode_target(source, y)
        weight = self._sample_weight(sample_weight, len(target))
        plan = self.plan_fit(source.index, target, sample_weight=weight)
        rows = BoosterRows(
            lambda at: self._typed_rows(source, at, np.float32),
            self.n_features_in_,
            target,
            weight,
            self.n_jobs,
        )
        watched, watch_weight = early_stopping_rows(target, plan.valid, weight, plan.seed)
        matrices = {
            "train": rows.quantile_matrix(plan.train),
            "watch": rows.matrix(watched, watch_weight),
        }
        y_valid = target[plan.valid]

        def train_candidate(params: dict[str, Any]) -> tuple[int, np.ndarray, np.ndarray]:
            booster, best_it = self._train(params, matrices["train"], matrices["watch"])
            # the calibration map and the validation scores: every validation row
            valid = matrices["watch"] if watched is plan.valid else rows.matrix(plan.valid)
            margin = booster.predict(valid, output_margin=True, iteration_range=(0, best_it + 1))
            return best_it, margin, y_valid

        def refit(params: dict[str, Any], rounds: int) -> xgb.Booster:
            matrices.clear()  # the folds' matrices go before the matrix of every row is built
            return xgb.train(
                params, rows.quantile_matrix(), num_boost_round=rounds, verbose_eval=False
            )

        valid_weight = None if weight is None else weight[plan.valid]
        return self.finish_fit(plan, train_candidate, refit, valid_weight=valid_weight)

    @staticmethod
    def _sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray | None:
        """Checked row weights (None: every row counts once)."""
        if sample_weight is None:
            return None
        weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if len(weight) != n_rows:
            raise ChurnModelError(
                f"sample_weight has {len(weight)} values for {n_rows} rows; give one per row"
            )
        if not np.isfinite(weight).all() or (weight < 0).any():
            raise ChurnModelError("sample_weight must hold finite numbers >= 0")
        if not (weight > 0).any():
            raise ChurnModelError("sample_weight is zero for every row; some weight must be > 0")
        return weight

    def finish_fit(
        self,
        plan: FitPlan,
        train_candidate: CandidateTrainer,
        refit: Refitter,
        *,
        valid_weight: np.ndarray | None = None,
    ) -> ChurnModel:
        """Train the plan's candidates, calibrate the best, refit it on every row.

        The rest of :meth:`fit` after :meth:`plan_fit`, with the booster training passed in,
        so that rows held elsewhere (e.g. on a cluster) follow the same recipe. The input
        attributes (``classes_``, ``n_features_in_``, ``feature_names_in_``,
        ``categories_``) are set by :meth:`fit` or :meth:`set_feature_schema`.

        Parameters
        ----------
        plan : FitPlan
            From :meth:`plan_fit` of this model.
        train_candidate : callable
            ``train_candidate(params) -> (best_iteration, margins, labels)``: train with
            ``params`` and early stopping on the validation fold; return the best round
            (0-based), and the validation rows' raw margins up to it and their 0/1 labels.
        refit : callable
            ``refit(params, rounds) -> xgboost.Booster``: train on every row.
        valid_weight : ndarray, optional
            Weights of the validation rows (in the order of the returned margins), for the
            calibration map and the validation scores.

        Returns
        -------
        ChurnModel
            Fitted: the best candidate by validation log-loss, calibrated on its validation
            margins (toward ``plan.calibration_prior``), refit with its number of rounds.
        """
        results = []
        best = None
        for candidate in plan.candidates:
            params = self.xgb_params(candidate, plan.scale_pos_weight, plan.seed)
            best_it, margin, y_valid = train_candidate(params)
            y_valid = np.asarray(y_valid)
            scores = classification_metrics(y_valid, expit(margin), sample_weight=valid_weight)
            results.append(
                {
                    **candidate,
                    "rounds": best_it + 1,
                    "log_loss": scores["log_loss"],
                    "auc": scores["auc"],
                    "average_precision": scores["average_precision"],
                }
            )
            if best is None or scores["log_loss"] < best[0]["log_loss"]:
                best = (scores, params, best_it, margin, y_valid)
        scores, params, best_it, margin, y_valid = best
        self.tuning_results_ = pd.DataFrame(results) if self.tune else None
        self.best_params_ = {k: v for k, v in params.items() if k not in ("verbosity",)}
        self.best_iteration_ = int(best_it)
        self.scale_pos_weight_ = float(plan.scale_pos_weight)
        self.calibrator_ = (
            Calibrator.fit(
                self.calibration,
                margin,
                y_valid,
                prior=plan.calibration_prior,
                sample_weight=valid_weight,
            )
            if self.calibration is not None
            else None
        )
        self.validation_scores_ = {
            "auc": scores["auc"],
            "average_precision": scores["average_precision"],
            "log_loss": scores["log_loss"],
            "brier": scores["brier"],
            "top_decile_lift": scores["top_decile_lift"],
            "base_rate": scores["base_rate"],
            "n_rows": len(y_valid),
            "n_churned": int(y_valid.sum()),
        }
        self.train_cutoffs_ = plan.train_cutoffs
        self.valid_cutoffs_ = plan.valid_cutoffs
        self.purged_cutoffs_ = plan.purged_cutoffs
        self.refit_cutoffs_ = plan.refit_cutoffs
        self.n_train_rows_ = plan.n_train_rows
        self.n_valid_rows_ = plan.n_valid_rows
        # Refit on every row (validation cutoffs hold the newest behaviour).
        self.booster_ = refit(params, self.best_iteration_ + 1)
        self.n_refit_rows_ = plan.n_rows
        return self

    def set_feature_schema(
        self, names: Sequence[str], categories: dict[str, list[Any]] | None = None
    ) -> ChurnModel:
        """Declare the input columns when the rows never pass through :meth:`fit`.

        For training elsewhere with :meth:`plan_fit` and :meth:`finish_fit`: labels are 0/1
        (``classes_ = [0, 1]``), the features are ``names`` in order, and ``categories``
        gives the categories of the categorical ones (their codes are what the booster sees).

        Parameters
        ----------
        names : sequence of str
        categories : dict, optional
            ``{column: [category, ...]}``.

        Returns
        -------
        ChurnModel
        """
        names = [str(n) for n in names]
        self._check_names(names)
        categories = {str(k): list(v) for k, v in dict(categories or {}).items()}
        unknown = sorted(set(categories) - set(names))
        if unknown:
            raise ChurnModelError(
                f"categories of {unknown[:5]}, which are not features; "
                f"give categories of the named features only"
            )
        self.classes_ = np.asarray([0, 1])
        self.n_features_in_ = len(names)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.categories_ = categories
        return self

    # ------------------------------------------------------------------ predict
    def dmatrix(self, X: Any) -> xgb.DMatrix:
        """Validated features as an :class:`xgboost.DMatrix`, named and typed as in training.

        Use it to call the booster directly, e.g. ``model.booster_.predict(model.dmatrix(X),
        pred_contribs=True)`` for SHAP contributions.
        """
        check_is_fitted(self)
        frame, _ = self._validated_frame(X, reset=False, dtype=np.float32)
        return self._dmatrix(frame)

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw (uncalibrated) log-odds margin of churn for each row."""
        check_is_fitted(self)
        return self.booster_.predict(self.dmatrix(X), output_margin=True)

    def calibrate_margin(self, margin: Any) -> np.ndarray:
        """Map raw margins (from :meth:`decision_function`) to calibrated probabilities."""
        check_is_fitted(self)
        margin = np.asarray(margin, dtype=np.float64)
        if self.calibrator_ is None:
            return expit(margin)
        return self.calibrator_.predict(margin)

    def with_calibrator(self, calibrator: Calibrator | None) -> ChurnModel:
        """A copy of this fitted model with another calibration map; the trees are shared.

        What :func:`churnpredict._recalibration.recalibrate` makes: the model it was given is
        left as it is.

        Parameters
        ----------
        calibrator : Calibrator or None
            None maps margins with the logistic function.

        Returns
        -------
        ChurnModel
        """
        check_is_fitted(self)
        out = copy.copy(self)
        out.calibrator_ = calibrator
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n_rows, 2); column 1 is churn.

        Raises
        ------
        ChurnModelError
            When ``X``'s columns differ from those seen in fit (names the missing and
            unexpected ones).
        """
        check_is_fitted(self)
        return self._proba_from_margin(self.decision_function(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted label: ``classes_[1]`` where the calibrated churn probability exceeds 0.5."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Names of the features the model uses, in order."""
        check_is_fitted(self)
        return np.asarray(self._booster_names(), dtype=object)

    # ------------------------------------------------------------------ reporting
    @property
    def summary(self) -> pd.DataFrame:
        """Parameters, rounds, folds and validation scores as a one-column DataFrame."""
        check_is_fitted(self)
        rows: list[tuple[str, str, Any]] = []
        for key in ("learning_rate", "max_depth", "min_child_weight"):
            rows.append(("parameter", key, self.best_params_[key]))
        for key in (
            "subsample",
            "colsample_bytree",
            "reg_lambda",
            "calibration",
            "class_weight",
            "horizon",
        ):
            rows.append(("parameter", key, getattr(self, key)))
        rows.append(("fit", "rounds", self.best_iteration_ + 1))
        rows.append(("fit", "n_features", self.n_features_in_))
        rows.append(("fit", "n_train_rows", self.n_train_rows_))
        rows.append(("fit", "n_validation_rows", self.n_valid_rows_))
        rows.append(("fit", "n_refit_rows", self.n_refit_rows_))
        if self.valid_cutoffs_ is not None:
            rows.append(("fit", "train_cutoffs", len(self.train_cutoffs_)))
            rows.append(("fit", "purged_cutoffs", len(self.purged_cutoffs_)))
            rows.append(("fit", "validation_cutoffs", len(self.valid_cutoffs_)))
        for key in ("auc", "average_precision", "log_loss", "brier", "base_rate"):
            rows.append(("validation", key, self.validation_scores_[key]))
        return summary_frame(rows)

    # ------------------------------------------------------------------ persistence
    def fitted_state(self) -> dict[str, Any]:
        """Everything fitted but the booster, as JSON-ready values.

        With the booster (saved in XGBoost's own format), what
        :meth:`from_fitted_state` needs to rebuild the model; bundles store it.

        Returns
        -------
        dict
        """
        return self._get_state()

    def _get_state(self) -> dict[str, Any]:
        check_is_fitted(self)

        def cutoffs(value: pd.DatetimeIndex | None) -> list[str] | None:
            return None if value is None else [t.isoformat() for t in value]

        return {
            "classes": self.classes_.tolist(),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (
                list(map(str, self.feature_names_in_))
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "categories": {k: list(v) for k, v in self.categories_.items()},
            "best_iteration": self.best_iteration_,
            "best_params": self.best_params_,
            "scale_pos_weight": self.scale_pos_weight_,
            "calibrator": None if self.calibrator_ is None else self.calibrator_.to_dict(),
            "validation_scores": self.validation_scores_,
            "train_cutoffs": cutoffs(self.train_cutoffs_),
            "valid_cutoffs": cutoffs(self.valid_cutoffs_),
            "purged_cutoffs": cutoffs(self.purged_cutoffs_),
            "refit_cutoffs": cutoffs(self.refit_cutoffs_),
            "n_train_rows": self.n_train_rows_,
            "n_valid_rows": self.n_valid_rows_,
            "n_refit_rows": self.n_refit_rows_,
        }

    @classmethod
    def from_fitted_state(
        cls, params: dict[str, Any], state: dict[str, Any], booster: xgb.Booster
    ) -> ChurnModel:
        """Rebuild a fitted model from its parameters, fitted state and booster.

        Parameters
        ----------
        params : dict
            Constructor parameters (``get_params(deep=False)``).
        state : dict
            The JSON-ready fitted state a bundle stores (everything but the booster).
        booster : xgboost.Booster

        Returns
        -------
        ChurnModel
        """
        model = cls(**params)

        def cutoffs(value: list[str] | None) -> pd.DatetimeIndex | None:
            return None if value is None else pd.DatetimeIndex(pd.to_datetime(value), name="cutoff")

        model.classes_ = np.asarray(state["classes"])
        model.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            model.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        model.categories_ = {k: list(v) for k, v in state["categories"].items()}
        model.best_iteration_ = int(state["best_iteration"])
        model.best_params_ = dict(state["best_params"])
        model.scale_pos_weight_ = float(state["scale_pos_weight"])
        model.calibrator_ = (
            None if state["calibrator"] is None else Calibrator.from_dict(state["calibrator"])
        )
        model.validation_scores_ = {
            k: (np.nan if v is None else v) for k, v in state["validation_scores"].items()
        }
        model.train_cutoffs_ = cutoffs(state["train_cutoffs"])
        model.valid_cutoffs_ = cutoffs(state["valid_cutoffs"])
        model.purged_cutoffs_ = cutoffs(state["purged_cutoffs"])
        model.refit_cutoffs_ = cutoffs(state["refit_cutoffs"])
        model.n_train_rows_ = int(state["n_train_rows"])
        model.n_valid_rows_ = int(state["n_valid_rows"])
        model.n_refit_rows_ = int(state["n_refit_rows"])
        model.tuning_results_ = None
        model.booster_ = booster
        return model

    _from_state = from_fitted_state  # the former private name


# --------------------------------------------------------------------------- baseline
class LogisticBaseline(
    JSONStateMixin,
    ParameterChecksMixin,
    SummaryReprMixin,
    FrameInputMixin,
    ClassifierMixin,
    BaseEstimator,
):
    """Regularised logistic regression on the same features: a yardstick for ChurnModel.

    Numeric columns are median-imputed (with missing-value indicators) and standardised;
    categorical columns (pandas ``category`` or strings) are one-hot encoded, unknown values
    ignored. A logistic model fitted by log-loss is close to calibrated without a
    separate calibration step.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 regularisation strength.
    class_weight : {None, "balanced"} or dict, default None
        Passed to :class:`~sklearn.linear_model.LogisticRegression` (dict keys are labels).
    max_iter : int, default 1000

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted preparation and regression (not kept in a bundle: ``linear_`` is the
        same model).
    linear_ : dict
        The same model as one linear function of the raw features, which predictions use
        and bundles store as JSON: ``intercept``, per numeric column its ``fill`` value
        (median), ``weight`` and ``missing_weight``, per categorical column one weight per
        category in ``categories_`` order and a ``missing`` weight.
    n_iter_ : ndarray
        Solver iterations.
    classes_, feature_names_in_, n_features_in_, categories_
        As in :class:`ChurnModel`.
    """

    _state_skip = ("pipeline_",)
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "C": Real(min=0, closed="neither"),
        "class_weight": AnyOf(
            Options(None, "balanced"), InstanceOf(dict, expected="a dict {label: weight}")
        ),
        "max_iter": Integer(min=1),
    }

    def __init__(
        self, *, C: float = 1.0, class_weight: str | None = None, max_iter: int = 1000
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    @checks_parameters
    def fit(self, X: Any, y: Any) -> LogisticBaseline:
        """Fit the imputation, scaling, encoding and logistic regression.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
        y : array-like of 0/1

        Returns
        -------
        LogisticBaseline
        """
        frame, y = self._validated_frame(X, y, reset=True)
        target = self._encode_target(frame, y)
        categorical = [c for c in frame.columns if c in self.categories_]
        numeric = [c for c in frame.columns if c not in self.categories_]
        transformers = []
        if numeric:
            transformers.append(
                (
                    "numeric",
                    make_pipeline(
                        SimpleImputer(
                            strategy="median", add_indicator=True, keep_empty_features=True
                        ),
                        StandardScaler(),
                    ),
                    numeric,
                )
            )
        if categorical:
            transformers.append(
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)
            )
        self.pipeline_ = Pipeline(
            [
                ("prepare", ColumnTransformer(transformers)),
                (
                    "logistic",
                    LogisticRegression(
                        C=float(self.C), class_weight=self.class_weight, max_iter=int(self.max_iter)
                    ),
                ),
            ]
        )
        weights = self.class_weight
        if isinstance(weights, dict):  # labels -> weights of the 0/1 encoding
            weights = {code: weights.get(label, 1.0) for code, label in enumerate(self.classes_)}
        self.pipeline_.set_params(logistic__class_weight=weights)
        self.pipeline_.fit(self._encoded(frame), target)
        self.n_iter_ = self.pipeline_.named_steps["logistic"].n_iter_.copy()
        self.n_rows_ = len(target)
        self.base_rate_ = float(target.mean())
        self.linear_ = self._linear_form(numeric, categorical)
        return self

    def _linear_form(self, numeric: list[str], categorical: list[str]) -> dict[str, Any]:
        """Fold imputation, scaling and one-hot encoding into one linear function."""
        prepare = self.pipeline_.named_steps["prepare"]
        logistic = self.pipeline_.named_steps["logistic"]
        coef = logistic.coef_[0].astype(np.float64)
        intercept = float(logistic.intercept_[0])
        numeric_form: dict[str, dict[str, float]] = {}
        if numeric:
            imputer, scaler = (
                prepare.named_transformers_["numeric"].steps[0][1],
                (prepare.named_transformers_["numeric"].steps[1][1]),
            )
            part = coef[prepare.output_indices_["numeric"]]
            scaled = part / scaler.scale_
            intercept -= float(np.sum(part * scaler.mean_ / scaler.scale_))
            indicators = (
                imputer.indicator_.features_.tolist() if imputer.indicator_ is not None else []
            )
            missing = dict(zip(indicators, scaled[len(numeric) :].tolist(), strict=True))
            for j, col in enumerate(numeric):
                numeric_form[col] = {
                    "fill": float(imputer.statistics_[j]),
                    "weight": float(scaled[j]),
                    "missing_weight": float(missing.get(j, 0.0)),
                }
        categorical_form: dict[str, dict[str, Any]] = {}
        if categorical:
            encoder = prepare.named_transformers_["categorical"]
            part = coef[prepare.output_indices_["categorical"]]
            start = 0
            for col, seen in zip(categorical, encoder.categories_, strict=True):
                weights = part[start : start + len(seen)]
                start += len(seen)
                position = {v: i for i, v in enumerate(seen) if not pd.isna(v)}
                nan_at = [i for i, v in enumerate(seen) if pd.isna(v)]
                categorical_form[col] = {
                    "weights": [
                        float(weights[position[c]]) if c in position else 0.0
                        for c in self.categories_[col]
                    ],
                    "missing": float(weights[nan_at[0]]) if nan_at else 0.0,
                }
        return {"intercept": intercept, "numeric": numeric_form, "categorical": categorical_form}

    def _encoded(self, frame: pd.DataFrame) -> pd.DataFrame:
        # OneHotEncoder wants plain objects (NaN = its own "missing" category).
        if not self.categories_:
            return frame
        cols = {
            c: (frame[c].astype(object) if c in self.categories_ else frame[c])
            for c in frame.columns
        }
        return pd.DataFrame(cols, index=frame.index)

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of churn for each row."""
        check_is_fitted(self)
        frame, _ = self._validated_frame(X, reset=False)
        form = self.linear_
        out = np.full(len(frame), form["intercept"], dtype=np.float64)
        for col, term in form["numeric"].items():
            values = frame[col].to_numpy(dtype=np.float64)
            missing = np.isnan(values)
            out += term["weight"] * np.where(missing, term["fill"], values)
            out += term["missing_weight"] * missing
        for col, term in form["categorical"].items():
            codes = np.asarray(frame[col].cat.codes)
            weights = np.asarray(term["weights"], dtype=np.float64)
            out += np.where(
                codes >= 0, weights[np.maximum(codes, 0)] if len(weights) else 0.0, term["missing"]
            )
        return out

    def calibrate_margin(self, margin: Any) -> np.ndarray:
        """Probability from log-odds (the logistic function)."""
        check_is_fitted(self)
        return expit(np.asarray(margin, dtype=np.float64))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities, shape (n_rows, 2); column 1 is churn."""
        check_is_fitted(self)
        return self._proba_from_margin(self.decision_function(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted label: ``classes_[1]`` where the churn probability exceeds 0.5."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Names of the input features, in order."""
        check_is_fitted(self)
        return np.asarray(self._booster_names(), dtype=object)

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters and fit sizes as a one-column DataFrame."""
        check_is_fitted(self)
        return summary_frame(
            [
                ("parameter", "C", self.C),
                ("parameter", "class_weight", self.class_weight),
                ("fit", "n_features", self.n_features_in_),
                ("fit", "n_rows", self.n_rows_),
                ("fit", "base_rate", self.base_rate_),
            ]
        )
