"""The churn model: XGBoost with time-ordered validation, a purge gap and calibration.

:class:`ChurnModel` fits on (customer_id, cutoff) feature rows. When ``X.index`` has a
``cutoff`` level, the latest cutoffs form the validation fold (early stopping and calibration),
earlier cutoffs whose label horizon reaches past the first validation cutoff are purged from
training, and the booster is finally refit on every row with the chosen number of rounds, so
the newest behaviour is learnt too. :class:`LogisticBaseline` offers the same interface with a
regularised logistic regression, as a yardstick.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .exceptions import ChurnModelError
from .jsonstate import JSONStateMixin
from .model_metrics import classification_metrics
from .windows import parse_window

__all__ = ["ChurnModel", "LogisticBaseline", "Calibrator", "FitPlan"]

# Weight of the raw sigmoid blended into isotonic output: breaks the ties of the step
# function so the calibrated probability ranks customers exactly like the margin does.
_TIE_BREAK = 1e-4
_HOLDOUT_FRACTION = 0.2
_BAD_NAME_CHARS = ("[", "]", "<")
_TUNE_GRID = {
    "max_depth": (3, 4, 6),
    "min_child_weight": (1.0, 5.0, 20.0),
    "learning_rate_factor": (1.0, 2.0),
}


# --------------------------------------------------------------------------- calibration
class Calibrator:
    """Monotone map from the raw log-odds margin to a calibrated churn probability.

    Parameters
    ----------
    method : {"isotonic", "sigmoid"}
    x, y : array-like of float
        Isotonic: margins (increasing) and their probabilities, interpolated linearly and
        flat beyond the ends. Sigmoid: ``x = (slope, intercept)``; ``y`` unused.

    Notes
    -----
    The isotonic map is fitted as a *centred* isotonic regression (Oron & Flournoy, 2017):
    each block of the pool-adjacent-violators solution becomes one point at its mean margin,
    and the points are joined linearly, instead of a step function. Each block's churn rate is
    shrunk toward a prior by :data:`PRIOR_ROWS` pseudo-rows and the result made monotone
    again, so blocks with few rows (the ends, often with no churner at all) do not produce
    probabilities of exactly 0 or 1. The prior is the booster's own probability, or a Platt
    sigmoid fitted on the same rows when the booster was trained with class weights.
    A tiny share (1e-4) of the raw sigmoid is blended in so that calibrated probabilities
    keep the margin's strict order (no ties, same AUC).
    """

    #: Strength of the prior of each isotonic block, in rows.
    PRIOR_ROWS = 50.0

    def __init__(self, method: str, x: Any, y: Any = ()) -> None:
        if method not in ("isotonic", "sigmoid"):
            raise ChurnModelError(f"calibration method {method!r}; expected 'isotonic' or "
                                  f"'sigmoid'")
        self.method = method
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)

    @staticmethod
    def _platt(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(margin.reshape(-1, 1), y)
        return float(lr.coef_[0, 0]), float(lr.intercept_[0])

    @classmethod
    def fit(cls, method: str, margin: np.ndarray, y: np.ndarray, *,
            prior: str = "raw") -> Calibrator:
        """Fit on validation margins ``margin`` and 0/1 outcomes ``y``.

        ``prior`` ("raw" or "sigmoid") is what sparse isotonic blocks are shrunk toward.
        """
        margin = np.asarray(margin, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if method == "sigmoid":
            return cls("sigmoid", cls._platt(margin, y))
        if method != "isotonic":
            raise ChurnModelError(f"calibration method {method!r}; expected 'isotonic' or "
                                  f"'sigmoid'")
        order = np.argsort(margin, kind="stable")
        m, t = margin[order], y[order]
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(m, t).predict(m)
        starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
        size = np.diff(np.r_[starts, len(m)]).astype(np.float64)
        if prior == "raw":
            base = expit(m)
        else:
            slope, intercept = cls._platt(m, t)
            base = expit(slope * m + intercept)
        k = cls.PRIOR_ROWS
        value = (np.add.reduceat(t, starts) + k * np.add.reduceat(base, starts) / size) / (
            size + k)
        pos = np.arange(len(value), dtype=np.float64)
        value = IsotonicRegression().fit(pos, value, sample_weight=size + k).predict(pos)
        centre = np.add.reduceat(m, starts) / size
        return cls("isotonic", centre, value)

    def predict(self, margin: Any) -> np.ndarray:
        """Calibrated probability for each raw margin."""
        m = np.asarray(margin, dtype=np.float64)
        if self.method == "sigmoid":
            return expit(self.x[0] * m + self.x[1])
        step = np.interp(m, self.x, self.y)
        return (1.0 - _TIE_BREAK) * step + _TIE_BREAK * expit(m)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (exact: floats round-trip through ``repr``)."""
        return {"method": self.method, "x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        return cls(state["method"], state["x"], state.get("y", ()))

    def __repr__(self) -> str:
        return f"Calibrator(method={self.method!r}, n_points={len(self.x)})"


# --------------------------------------------------------------------------- input handling
def _is_named_frame(X: Any) -> bool:
    return isinstance(X, pd.DataFrame) and len(X.columns) > 0 and all(
        isinstance(c, str) for c in X.columns)


def _is_categorical_source(values: pd.Series) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return False
    if pd.api.types.is_object_dtype(dtype):
        converted = pd.to_numeric(values, errors="coerce")
        return bool((converted.isna() & values.notna()).any())
    return pd.api.types.is_string_dtype(dtype)


def _learn_categories(values: pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.categories.tolist()
    present = values.dropna().astype(str)
    return sorted(present.unique().tolist())


def _as_category(name: str, values: pd.Series, categories: list[Any]) -> pd.Categorical:
    """Code ``values`` with the training ``categories``; unseen values become missing."""
    dtype = pd.CategoricalDtype(categories)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    elif categories and all(isinstance(c, str) for c in categories):
        values = values.astype("string").astype(object)
    codes = dtype.categories.get_indexer(values.where(values.notna(), None))
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _as_float(name: str, values: pd.Series) -> np.ndarray:
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ChurnModelError(
            f"feature {name!r} holds {dtype} values; convert times to numbers first "
            f"(e.g. days since an event)"
        )
    if isinstance(dtype, pd.CategoricalDtype) or (
        not pd.api.types.is_object_dtype(dtype) and not pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
    ):
        raise ChurnModelError(
            f"feature {name!r} was numeric when the model was fitted but is {dtype} now; "
            f"build the features with the same builders and data types as in training"
        )
    if pd.api.types.is_object_dtype(dtype):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            examples = pd.unique(values[bad].astype(str))[:3].tolist()
            raise ChurnModelError(
                f"feature {name!r} is numeric in the model but holds {int(bad.sum())} "
                f"non-numeric values such as {examples}; fix or blank them"
            )
        values = converted
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


class _FrameInput:
    """Shared input handling: named, typed pandas frames in; one frame per call out."""

    def _booster_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _validated_frame(self, X: Any, y: Any = None, *, reset: bool) -> tuple[pd.DataFrame, Any]:
        """Validate ``X`` like sklearn, keep categoricals, return a typed DataFrame."""
        name = type(self).__name__
        if _is_named_frame(X):
            if reset:
                if y is None:
                    raise ValueError(f"This {name} estimator requires y to be passed, but the "
                                     f"target y is None.")
                validate_data(self, X, reset=True, skip_check_array=True)
            else:
                try:
                    validate_data(self, X, reset=False, skip_check_array=True)
                except ValueError as exc:
                    raise ChurnModelError(
                        f"{exc}\nBuild the features with the builders used in training, and "
                        f"select them in training order: X[model.feature_names_in_]."
                    ) from None
            if len(X) == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a "
                                 f"minimum of 1 is required by {name}.")
            source = X
            index = X.index
        else:
            if reset:
                X, y = validate_data(self, X, y, ensure_all_finite="allow-nan",
                                     dtype=[np.float64, np.float32])
            else:
                X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan",
                                  dtype=[np.float64, np.float32])
            source = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
            index = pd.RangeIndex(X.shape[0])
        if reset:
            self._check_names(list(map(str, source.columns)))
            self.categories_ = {}
        names = [str(c) for c in source.columns] if reset else self._booster_names()
        columns: dict[str, Any] = {}
        for src, col in zip(source.columns, names, strict=True):
            values = source[src]
            if reset and _is_categorical_source(values):
                self.categories_[col] = _learn_categories(values)
            if col in self.categories_:
                columns[col] = _as_category(col, values, self.categories_[col])
            else:
                columns[col] = _as_float(col, values)
        frame = pd.DataFrame(columns, index=index)
        numeric = [c for c in frame.columns if c not in self.categories_]
        if numeric:
            bad = [c for c in numeric if np.isinf(frame[c].to_numpy()).any()]
            if bad:
                raise ChurnModelError(
                    f"features {bad[:5]} hold infinite values; replace them with NaN (missing) "
                    f"or a finite number"
                )
        return frame, y

    @staticmethod
    def _check_names(names: list[str]) -> None:
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ChurnModelError(f"feature names {dup} appear more than once; make them unique")
        bad = [n for n in names if any(ch in n for ch in _BAD_NAME_CHARS)]
        if bad:
            raise ChurnModelError(
                f"feature names {bad[:5]} contain '[', ']' or '<', which XGBoost does not "
                f"accept; rename those columns"
            )

    def _encode_target(self, X: Any, y: Any) -> np.ndarray:
        """Check ``y`` (binary), set ``classes_``, return 0/1 with 1 = ``classes_[1]``."""
        name = type(self).__name__
        if isinstance(y, pd.Series) and isinstance(X, pd.DataFrame) and not y.index.equals(
                X.index):
            raise ChurnModelError(
                "y's index differs from X's index; align them first (y = y.reindex(X.index))"
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ChurnModelError(
                f"y holds one class only ({self.classes_.tolist()}): {name} needs churned and "
                f"retained customers; use more cutoffs or a longer horizon"
            )
        if type_of_target(y, input_name="y") != "binary":
            raise ChurnModelError(
                f"Only binary classification is supported. {name} predicts churned or not, "
                f"but y has {len(self.classes_)} classes {self.classes_.tolist()[:5]}; give "
                f"0/1 labels"
            )
        return encoded.astype(np.int8)

    def _proba_from_margin(self, margin: np.ndarray) -> np.ndarray:
        p = self.calibrate_margin(margin)
        return np.column_stack([1.0 - p, p])


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return str(value)
    return str(value)


def _summary_frame(rows: list[tuple[str, str, Any]]) -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([(s, n) for s, n, _ in rows], names=["section", "name"])
    return pd.DataFrame({"value": [_format_value(v) for _, _, v in rows]}, index=index)


def _html(est: BaseEstimator, summary: pd.DataFrame | None) -> str:
    head = f"<pre>{html.escape(repr(est))}</pre>"
    if summary is None:
        return f"<div>{head}<p>not fitted</p></div>"
    return f"<div>{head}{summary.to_html()}</div>"


# --------------------------------------------------------------------------- fit plan
@dataclass(frozen=True)
class FitPlan:
    """What :meth:`ChurnModel.plan_fit` decides before any tree is grown.

    Attributes
    ----------
    seed : int
        XGBoost seed (also the seed of a random holdout).
    candidates : tuple of dict
        Parameter overrides to try, the estimator's own first (more when ``tune``).
    scale_pos_weight : float
        Negatives / positives with ``class_weight="balanced"``, else 1.0.
    calibration_prior : {"raw", "sigmoid"}
        What sparse isotonic blocks are shrunk toward (see :class:`Calibrator`): "sigmoid"
        when class weights inflate the booster's raw probability.
    train, valid : ndarray of bool
        Training and validation masks over the rows given to :meth:`ChurnModel.plan_fit`.
    train_cutoffs, valid_cutoffs, purged_cutoffs, refit_cutoffs : DatetimeIndex or None
        Cutoffs of each fold (None for a random holdout).
    n_train_rows, n_valid_rows, n_rows : int
        Rows in the training fold, the validation fold and in all (the refit).
    """

    seed: int
    candidates: tuple[dict[str, Any], ...]
    scale_pos_weight: float
    calibration_prior: str
    train: np.ndarray
    valid: np.ndarray
    train_cutoffs: pd.DatetimeIndex | None
    valid_cutoffs: pd.DatetimeIndex | None
    purged_cutoffs: pd.DatetimeIndex | None
    refit_cutoffs: pd.DatetimeIndex | None
    n_train_rows: int
    n_valid_rows: int
    n_rows: int


#: ``train_candidate(params) -> (best_iteration, validation_margins, validation_labels)``:
#: trains one candidate with early stopping on the validation fold.
CandidateTrainer = Callable[[dict[str, Any]], tuple[int, np.ndarray, np.ndarray]]
#: ``refit(params, rounds) -> booster``: trains on every row for ``rounds`` rounds.
Refitter = Callable[[dict[str, Any], int], xgb.Booster]


# --------------------------------------------------------------------------- ChurnModel
class SummaryReprMixin:
    """Notebook display: the estimator's ``summary`` table as HTML (parameters when unfitted)."""

    def _repr_html_(self) -> str:
        try:
            summary = self.summary  # type: ignore[attr-defined]
        except Exception:  # not fitted
            summary = None
        return _html(self, summary)  # type: ignore[arg-type]

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


class ChurnModel(SummaryReprMixin, _FrameInput, ClassifierMixin, BaseEstimator):
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
        None purges nothing (:class:`~churnpredict.pipeline.ChurnPipeline` passes its horizon).
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

    def __init__(
        self,
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

    # ------------------------------------------------------------------ sklearn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

    def check_params(self) -> None:
        """Check the constructor parameters.

        Raises
        ------
        ChurnModelError
            Naming the parameter, its value and what is expected.
        """
        def bad(name: str, expected: str) -> ChurnModelError:
            return ChurnModelError(f"{name}={getattr(self, name)!r}; expected {expected}")

        def is_int(v: Any) -> bool:
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        def is_real(v: Any) -> bool:
            return isinstance(v, numbers.Real) and not isinstance(v, bool)

        if not is_int(self.n_estimators) or self.n_estimators < 1:
            raise bad("n_estimators", "an integer >= 1")
        if not is_real(self.learning_rate) or not 0 < self.learning_rate <= 1:
            raise bad("learning_rate", "a number in (0, 1]")
        if not is_int(self.max_depth) or self.max_depth < 1:
            raise bad("max_depth", "an integer >= 1")
        if not is_real(self.min_child_weight) or self.min_child_weight < 0:
            raise bad("min_child_weight", "a number >= 0")
        for name in ("subsample", "colsample_bytree"):
            value = getattr(self, name)
            if not is_real(value) or not 0 < value <= 1:
                raise bad(name, "a number in (0, 1]")
        if not is_real(self.reg_lambda) or self.reg_lambda < 0:
            raise bad("reg_lambda", "a number >= 0")
        if self.early_stopping_rounds is not None and (
                not is_int(self.early_stopping_rounds) or self.early_stopping_rounds < 1):
            raise bad("early_stopping_rounds", "an integer >= 1 or None")
        v = self.validation_cutoffs
        if not ((is_int(v) and v >= 1) or (is_real(v) and not is_int(v) and 0 < v < 1)):
            raise bad("validation_cutoffs", "an integer >= 1 (latest cutoffs) or a share in (0, 1)")
        if self.calibration not in ("isotonic", "sigmoid", None):
            raise bad("calibration", "'isotonic', 'sigmoid' or None")
        if self.class_weight not in (None, "balanced"):
            raise bad("class_weight", "None or 'balanced'")
        if not (isinstance(self.tune, bool) or (is_int(self.tune) and self.tune >= 1)):
            raise bad("tune", "True/False or a number of candidates >= 1")
        if self.n_jobs is not None and not is_int(self.n_jobs):
            raise bad("n_jobs", "an integer or None")

    def _horizon(self) -> pd.Timedelta | None:
        if self.horizon is None:
            return None
        try:
            return parse_window(self.horizon)
        except ValueError as exc:
            raise ChurnModelError(f"horizon={self.horizon!r}: {exc}") from None

    # ------------------------------------------------------------------ planning
    def plan_fit(self, index: pd.Index, y: Any, *, counts: Any = None) -> FitPlan:
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

        Returns
        -------
        FitPlan

        Raises
        ------
        ChurnModelError
            For bad parameters, or folds without both classes or without training cutoffs.
        """
        self.check_params()
        y = np.asarray(y, dtype=np.int8)
        weight = (np.ones(len(y), dtype=np.int64) if counts is None
                  else np.asarray(counts, dtype=np.int64))
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        folds = self._time_folds(index, y, weight)
        if folds is None:
            if counts is not None:
                names = list(getattr(index, "names", []) or [])
                n_cut = (len(pd.unique(index.get_level_values("cutoff")))
                         if "cutoff" in names else 0)
                raise ChurnModelError(
                    f"{n_cut} training cutoff(s) but validation_cutoffs="
                    f"{self.validation_cutoffs!r}: here the validation fold is the latest "
                    f"cutoffs, so more cutoffs are needed; raise n_cutoffs or lower "
                    f"validation_cutoffs"
                )
            train, valid = self._holdout(y, seed)
            cutoffs: tuple[pd.DatetimeIndex | None, ...] = (None, None, None, None)
        else:
            train, valid, *rest = folds
            cutoffs = tuple(rest)
        n_rows = int(weight.sum())
        n_pos = int(weight[y == 1].sum())
        balanced = self.class_weight == "balanced"
        spw = (n_rows - n_pos) / n_pos if balanced else 1.0
        return FitPlan(
            seed=seed, candidates=tuple(self._candidates(rng)), scale_pos_weight=float(spw),
            calibration_prior="sigmoid" if balanced else "raw", train=train, valid=valid,
            train_cutoffs=cutoffs[0], valid_cutoffs=cutoffs[1], purged_cutoffs=cutoffs[2],
            refit_cutoffs=cutoffs[3], n_train_rows=int(weight[train].sum()),
            n_valid_rows=int(weight[valid].sum()), n_rows=n_rows,
        )

    def _time_folds(self, index: pd.Index, y: np.ndarray, weight: np.ndarray) -> tuple | None:
        """Masks and cutoffs of the time-ordered folds; None when a holdout must be used."""
        names = list(getattr(index, "names", []) or [])
        if "cutoff" not in names:
            return None
        cut = pd.DatetimeIndex(index.get_level_values("cutoff"))
        unique = pd.DatetimeIndex(cut.unique()).sort_values()
        v = self.validation_cutoffs
        k = int(v) if isinstance(v, numbers.Integral) else max(1, math.ceil(v * len(unique)))
        if len(unique) <= k:
            return None
        valid = unique[-k:]
        earlier = unique[:-k]
        horizon = self._horizon()
        keep = earlier[earlier + horizon <= valid[0]] if horizon is not None else earlier
        purged = earlier.difference(keep)
        if len(keep) == 0:
            raise ChurnModelError(
                f"no training cutoff left: the {k} latest cutoffs ({valid[0].date()} on)"
                f" validate, and the purge gap (horizon {horizon}) removes the earlier "
                f"{len(purged)}; use more cutoffs, fewer validation_cutoffs or cutoffs "
                f"further apart"
            )
        train = np.asarray(cut.isin(keep))
        valid_mask = np.asarray(cut.isin(valid))
        for label, mask in (("training", train), ("validation", valid_mask)):
            if len(np.unique(y[mask & (weight > 0)])) < 2:
                churned = int(weight[mask & (y == 1)].sum())
                raise ChurnModelError(
                    f"the {label} cutoffs hold one class only "
                    f"({churned} churned of {int(weight[mask].sum())} rows); use more "
                    f"cutoffs, a longer horizon or a different validation_cutoffs"
                )
        return train, valid_mask, keep, valid, purged, unique

    def _holdout(self, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Masks of a stratified random holdout (no usable ``cutoff`` level)."""
        n = len(y)
        counts = np.bincount(y, minlength=2)
        if counts.min() < 2 or n < 5:
            raise ChurnModelError(
                f"too few rows to hold some out for early stopping and calibration: "
                f"{n} rows ({counts[1]} churned, {counts[0]} not); {type(self).__name__} needs "
                f"at least 2 rows of each class and 5 rows in all"
            )
        share = self.validation_cutoffs if isinstance(self.validation_cutoffs, float) else (
            _HOLDOUT_FRACTION)
        n_valid = min(max(2, round(share * n)), n - 2)
        rows = np.arange(n)
        train_idx, valid_idx = train_test_split(rows, test_size=n_valid, stratify=y,
                                                random_state=seed)
        train = np.zeros(n, dtype=bool)
        train[train_idx] = True
        return train, ~train

    def _candidates(self, rng: np.random.RandomState) -> list[dict[str, Any]]:
        base = {"max_depth": int(self.max_depth), "min_child_weight": float(self.min_child_weight),
                "learning_rate": float(self.learning_rate)}
        if not self.tune:
            return [base]
        budget = 8 if self.tune is True else int(self.tune)
        grid = [
            {"max_depth": d, "min_child_weight": w,
             "learning_rate": min(1.0, float(self.learning_rate) * f)}
            for d in _TUNE_GRID["max_depth"] for w in _TUNE_GRID["min_child_weight"]
            for f in _TUNE_GRID["learning_rate_factor"]
        ]
        grid = [g for g in grid if g != base]
        order = rng.permutation(len(grid))
        return [base] + [grid[i] for i in order[: max(0, budget - 1)]]

    # ------------------------------------------------------------------ xgboost
    def xgb_params(self, overrides: dict[str, Any], scale_pos_weight: float,
                   seed: int) -> dict[str, Any]:
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

    def _dmatrix(self, frame: pd.DataFrame, label: np.ndarray | None = None) -> xgb.DMatrix:
        kwargs = {} if self.n_jobs is None else {"nthread": int(self.n_jobs)}
        return xgb.DMatrix(frame, label=label, enable_categorical=True, missing=np.nan, **kwargs)

    def _train(self, params: dict[str, Any], dtrain: xgb.DMatrix,
               dvalid: xgb.DMatrix) -> tuple[xgb.Booster, int]:
        booster = xgb.train(
            params, dtrain, num_boost_round=int(self.n_estimators),
            evals=[(dvalid, "validation")], early_stopping_rounds=self.early_stopping_rounds,
            verbose_eval=False,
        )
        return booster, self.best_round(booster)

    def best_round(self, booster: xgb.Booster) -> int:
        """Best round (0-based) of a booster trained with this model's early stopping."""
        if self.early_stopping_rounds is None:
            return booster.num_boosted_rounds() - 1
        return int(booster.best_iteration)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> ChurnModel:
        """Fit with early stopping and calibration on the validation fold, then refit on all rows.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            Features. With a ``cutoff`` index level the validation fold is the latest cutoffs
            (time-ordered, purged); otherwise a stratified random holdout. Columns of pandas
            ``category`` or string dtype are categorical.
        y : array-like of shape (n_rows,)
            Binary churn labels.

        Returns
        -------
        ChurnModel
            Fitted estimator.
        """
        self.check_params()
        frame, y = self._validated_frame(X, y, reset=True)
        target = self._encode_target(frame, y)
        plan = self.plan_fit(frame.index, target)
        dtrain = self._dmatrix(frame.iloc[np.flatnonzero(plan.train)], target[plan.train])
        dvalid = self._dmatrix(frame.iloc[np.flatnonzero(plan.valid)], target[plan.valid])
        y_valid = target[plan.valid]

        def train_candidate(params: dict[str, Any]) -> tuple[int, np.ndarray, np.ndarray]:
            booster, best_it = self._train(params, dtrain, dvalid)
            margin = booster.predict(dvalid, output_margin=True,
                                     iteration_range=(0, best_it + 1))
            return best_it, margin, y_valid

        def refit(params: dict[str, Any], rounds: int) -> xgb.Booster:
            return xgb.train(params, self._dmatrix(frame, target), num_boost_round=rounds,
                             verbose_eval=False)

        return self.finish_fit(plan, train_candidate, refit)

    def finish_fit(self, plan: FitPlan, train_candidate: CandidateTrainer,
                   refit: Refitter) -> ChurnModel:
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
            scores = classification_metrics(y_valid, expit(margin))
            results.append({**candidate, "rounds": best_it + 1, "log_loss": scores["log_loss"],
                            "auc": scores["auc"],
                            "average_precision": scores["average_precision"]})
            if best is None or scores["log_loss"] < best[0]["log_loss"]:
                best = (scores, params, best_it, margin, y_valid)
        scores, params, best_it, margin, y_valid = best
        self.tuning_results_ = pd.DataFrame(results) if self.tune else None
        self.best_params_ = {k: v for k, v in params.items() if k not in ("verbosity",)}
        self.best_iteration_ = int(best_it)
        self.scale_pos_weight_ = float(plan.scale_pos_weight)
        self.calibrator_ = (
            Calibrator.fit(self.calibration, margin, y_valid, prior=plan.calibration_prior)
            if self.calibration is not None else None)
        self.validation_scores_ = {
            "auc": scores["auc"], "average_precision": scores["average_precision"],
            "log_loss": scores["log_loss"], "brier": scores["brier"],
            "top_decile_lift": scores["top_decile_lift"], "base_rate": scores["base_rate"],
            "n_rows": len(y_valid), "n_churned": int(y_valid.sum()),
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

    def set_feature_schema(self, names: Sequence[str],
                           categories: dict[str, list[Any]] | None = None) -> ChurnModel:
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
            raise ChurnModelError(f"categories of {unknown[:5]}, which are not features; "
                                  f"give categories of the named features only")
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
        frame, _ = self._validated_frame(X, reset=False)
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
        for key in ("subsample", "colsample_bytree", "reg_lambda", "calibration",
                    "class_weight", "horizon"):
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
        return _summary_frame(rows)


    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> dict[str, Any]:
        """Everything but the booster, JSON-ready (the bundle stores the booster itself)."""
        check_is_fitted(self)

        def cutoffs(value: pd.DatetimeIndex | None) -> list[str] | None:
            return None if value is None else [t.isoformat() for t in value]

        return {
            "classes": self.classes_.tolist(),
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (list(map(str, self.feature_names_in_))
                                 if hasattr(self, "feature_names_in_") else None),
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
    def from_fitted_state(cls, params: dict[str, Any], state: dict[str, Any],
                          booster: xgb.Booster) -> ChurnModel:
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
            return None if value is None else pd.DatetimeIndex(pd.to_datetime(value),
                                                               name="cutoff")

        model.classes_ = np.asarray(state["classes"])
        model.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            model.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        model.categories_ = {k: list(v) for k, v in state["categories"].items()}
        model.best_iteration_ = int(state["best_iteration"])
        model.best_params_ = dict(state["best_params"])
        model.scale_pos_weight_ = float(state["scale_pos_weight"])
        model.calibrator_ = (None if state["calibrator"] is None
                             else Calibrator.from_dict(state["calibrator"]))
        model.validation_scores_ = {k: (np.nan if v is None else v)
                                    for k, v in state["validation_scores"].items()}
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

    _from_state = from_fitted_state  # the former private name, still used by bundle loading


# --------------------------------------------------------------------------- baseline
class LogisticBaseline(JSONStateMixin, SummaryReprMixin, _FrameInput, ClassifierMixin,
                       BaseEstimator):
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

    def __init__(self, C: float = 1.0, class_weight: str | None = None,
                 max_iter: int = 1000) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

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
        if not isinstance(self.C, numbers.Real) or isinstance(self.C, bool) or self.C <= 0:
            raise ChurnModelError(f"C={self.C!r}; expected a number > 0")
        if not (self.class_weight in (None, "balanced") or isinstance(self.class_weight, dict)):
            raise ChurnModelError(f"class_weight={self.class_weight!r}; expected None, "
                                  f"'balanced' or a dict {{label: weight}}")
        frame, y = self._validated_frame(X, y, reset=True)
        target = self._encode_target(frame, y)
        categorical = [c for c in frame.columns if c in self.categories_]
        numeric = [c for c in frame.columns if c not in self.categories_]
        transformers = []
        if numeric:
            transformers.append((
                "numeric",
                make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                            keep_empty_features=True), StandardScaler()),
                numeric,
            ))
        if categorical:
            transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore"),
                                 categorical))
        self.pipeline_ = Pipeline([
            ("prepare", ColumnTransformer(transformers)),
            ("logistic", LogisticRegression(C=float(self.C), class_weight=self.class_weight,
                                            max_iter=int(self.max_iter))),
        ])
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
            imputer, scaler = prepare.named_transformers_["numeric"].steps[0][1], (
                prepare.named_transformers_["numeric"].steps[1][1])
            part = coef[prepare.output_indices_["numeric"]]
            scaled = part / scaler.scale_
            intercept -= float(np.sum(part * scaler.mean_ / scaler.scale_))
            indicators = (imputer.indicator_.features_.tolist()
                          if imputer.indicator_ is not None else [])
            missing = dict(zip(indicators, scaled[len(numeric):].tolist(), strict=True))
            for j, col in enumerate(numeric):
                numeric_form[col] = {"fill": float(imputer.statistics_[j]),
                                     "weight": float(scaled[j]),
                                     "missing_weight": float(missing.get(j, 0.0))}
        categorical_form: dict[str, dict[str, Any]] = {}
        if categorical:
            encoder = prepare.named_transformers_["categorical"]
            part = coef[prepare.output_indices_["categorical"]]
            start = 0
            for col, seen in zip(categorical, encoder.categories_, strict=True):
                weights = part[start:start + len(seen)]
                start += len(seen)
                position = {v: i for i, v in enumerate(seen) if not pd.isna(v)}
                nan_at = [i for i, v in enumerate(seen) if pd.isna(v)]
                categorical_form[col] = {
                    "weights": [float(weights[position[c]]) if c in position else 0.0
                                for c in self.categories_[col]],
                    "missing": float(weights[nan_at[0]]) if nan_at else 0.0,
                }
        return {"intercept": intercept, "numeric": numeric_form,
                "categorical": categorical_form}

    def _encoded(self, frame: pd.DataFrame) -> pd.DataFrame:
        # OneHotEncoder wants plain objects (NaN = its own "missing" category).
        if not self.categories_:
            return frame
        cols = {c: (frame[c].astype(object) if c in self.categories_ else frame[c])
                for c in frame.columns}
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
            out += np.where(codes >= 0, weights[np.maximum(codes, 0)] if len(weights) else 0.0,
                            term["missing"])
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
        return _summary_frame([
            ("parameter", "C", self.C), ("parameter", "class_weight", self.class_weight),
            ("fit", "n_features", self.n_features_in_), ("fit", "n_rows", self.n_rows_),
            ("fit", "base_rate", self.base_rate_),
        ])

