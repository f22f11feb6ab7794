"""Input handling of the churn classifiers: feature frames in, checked and typed.

:class:`FrameInputMixin` is shared by :class:`~churnpredict._model.ChurnModel` and
:class:`~churnpredict._model.LogisticBaseline`: scikit-learn's checks of ``X`` and ``y``
plus what a churn model needs (categorical columns kept with their training categories,
numeric columns as float64 with NaN for missing, clear errors for infinite values, times
and feature names XGBoost does not accept), and the estimator tags that say so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_consistent_length, column_or_1d, validate_data

from ._exceptions import ChurnModelError

__all__ = ["FrameInputMixin", "BAD_NAME_CHARS"]

#: Characters XGBoost does not accept in feature names.
BAD_NAME_CHARS = ("[", "]", "<")


def _is_named_frame(X: Any) -> bool:
    return (
        isinstance(X, pd.DataFrame)
        and len(X.columns) > 0
        and all(isinstance(c, str) for c in X.columns)
    )


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


def _as_float(name: str, values: pd.Series, dtype: type = np.float64) -> np.ndarray:
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ChurnModelError(
            f"feature {name!r} holds {dtype} values; convert times to numbers first "
            f"(e.g. days since an event)"
        )
    if isinstance(dtype, pd.CategoricalDtype) or (
        not pd.api.types.is_object_dtype(dtype)
        and not pd.api.types.is_numeric_dtype(dtype)
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
    return values.to_numpy(dtype=dtype, na_value=np.nan)


class FrameInputMixin:
    """Input handling shared by the churn classifiers: named, typed pandas frames in.

    :meth:`_validated_frame` checks ``X`` like scikit-learn (feature names and count, at
    least one row) but keeps categorical columns (pandas ``category`` or strings, coded with
    the categories learnt in fit, unseen values missing) and refuses infinite values and
    times; :meth:`_encode_target` checks a binary ``y`` and sets ``classes_``. The
    estimator tags say so: NaN and categorical inputs allowed, binary targets only.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

    def _booster_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _validated_frame(
        self, X: Any, y: Any = None, *, reset: bool, dtype: type = np.float64
    ) -> tuple[pd.DataFrame, Any]:
        """Validate ``X`` like sklearn, keep categoricals, return a typed DataFrame.

        Numeric columns become ``dtype`` (float64, or float32 for XGBoost, which reads its
        input as float32 anyway).
        """
        source, y = self._checked_input(X, y, reset=reset)
        return self._typed_rows(source, None, dtype), y

    def _checked_input(self, X: Any, y: Any = None, *, reset: bool) -> tuple[pd.DataFrame, Any]:
        """Check ``X`` like sklearn (names, count, rows) without converting its columns.

        Returns ``X`` as a DataFrame (arrays get columns ``x0, x1, ...``) whose columns
        :meth:`_typed_rows` converts, all at once or a block of rows at a time. With
        ``reset``, the feature names and the categories of categorical columns are learnt.
        """
        name = type(self).__name__
        if _is_named_frame(X):
            if reset:
                if y is None:
                    raise ValueError(
                        f"This {name} estimator requires y to be passed, but the target y is None."
                    )
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
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a "
                    f"minimum of 1 is required by {name}."
                )
            source = X
        else:
            if reset:
                X, y = validate_data(
                    self, X, y, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32]
                )
            else:
                X = validate_data(
                    self,
                    X,
                    reset=False,
                    ensure_all_finite="allow-nan",
                    dtype=[np.float64, np.float32],
                )
            source = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        if reset:
            names = list(map(str, source.columns))
            self._check_names(names)
            self.categories_ = {
                col: _learn_categories(source[src])
                for src, col in zip(source.columns, names, strict=True)
                if _is_categorical_source(source[src])
            }
        return source, y

    def _typed_rows(
        self, source: pd.DataFrame, rows: np.ndarray | None, dtype: type = np.float64
    ) -> pd.DataFrame:
        """Rows of a :meth:`_checked_input` frame (all when ``rows`` is None), typed.

        Categorical columns are coded with the learnt categories (unseen values missing),
        the others become ``dtype`` with NaN for missing; infinite values are refused.
        """
        names = self._booster_names()
        columns: dict[str, Any] = {}
        for src, col in zip(source.columns, names, strict=True):  # one column at a time
            values = source[src] if rows is None else source[src].iloc[rows]
            if col in self.categories_:
                columns[col] = _as_category(col, values, self.categories_[col])
            else:
                columns[col] = _as_float(col, values, dtype)
        index = source.index if rows is None else source.index[rows]
        frame = pd.DataFrame(columns, index=index, copy=False)
        numeric = [c for c in frame.columns if c not in self.categories_]
        if numeric:
            # XGBoost holds float32: beyond its range a value is infinite there too
            limit = float(np.finfo(np.float32).max)
            bad = [c for c in numeric if (np.abs(frame[c].to_numpy()) > limit).any()]
            if bad:
                raise ChurnModelError(
                    f"features {bad[:5]} hold infinite values or values beyond +-3.4e38 (a "
                    f"profile feature is the customers column of its name); replace them with "
                    f"NaN (missing) or a finite number"
                )
        return frame

    @staticmethod
    def _check_names(names: list[str]) -> None:
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ChurnModelError(f"feature names {dup} appear more than once; make them unique")
        bad = [n for n in names if any(ch in n for ch in BAD_NAME_CHARS)]
        if bad:
            raise ChurnModelError(
                f"feature names {bad[:5]} contain '[', ']' or '<', which XGBoost does not "
                f"accept; rename those columns"
            )

    def _encode_target(self, X: Any, y: Any) -> np.ndarray:
        """Check ``y`` (binary), set ``classes_``, return 0/1 with 1 = ``classes_[1]``."""
        name = type(self).__name__
        if isinstance(y, pd.Series) and isinstance(X, pd.DataFrame) and not y.index.equals(X.index):
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
