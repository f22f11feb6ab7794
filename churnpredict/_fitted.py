"""The fitted state of a ChurnPipeline: one frozen object, assembled by one function.

A pandas fit (:meth:`ChurnPipeline.fit <churnpredict._pipeline.ChurnPipeline.fit>`), a Dask
fit (:func:`churnpredict.dask.fit_dask`), a recalibration
(:func:`churnpredict._recalibration.recalibrate`) and a bundle being loaded all end the same
way: :func:`fitted_state` assembles a :class:`FittedState` from what they learned, and the
pipeline installs it whole. The pipeline's fitted attributes (``model_``, ``builders_``,
``as_of_``, ``horizon_``, ``business_``...) are read-only views of its fields
(:class:`FittedView`), so nothing outside these steps writes a pipeline's fitted state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._training import describe_feature_columns
from ._training import model_id as _model_id
from ._training import required_inputs as _required_inputs
from ._windows import to_naive_utc

__all__ = ["FittedState", "FittedView", "fitted_state"]


@dataclass(frozen=True)
class FittedState:
    """What a fitted pipeline knows; each field is the pipeline attribute ``<field>_``.

    Attributes
    ----------
    builders : tuple of FeatureBuilder
        The fitted builders of the families that applied, in column order.
    model : estimator
        The fitted model.
    feature_names : tuple of str
    feature_info : pandas.DataFrame
        ``group`` and ``description`` of each feature, indexed by name.
    as_of : pandas.Timestamp
        What the training knew.
    cutoffs : pandas.DatetimeIndex
        The training cutoffs.
    horizon : pandas.Timedelta
    label_kind : str
    is_snapshot : bool
    business, business_reason : str
    training_summary, validation_scores : dict
    model_id : str
    required_inputs : dict of str -> list of str
    training_statuses, reference, recalibration, feature_percentiles, reason_facts,
    schedule, reason_directions : optional
        None when not recorded (a pipeline attribute that is None reads as absent).
    """

    builders: tuple[Any, ...]
    model: Any
    feature_names: tuple[str, ...]
    feature_info: pd.DataFrame
    as_of: pd.Timestamp
    cutoffs: pd.DatetimeIndex
    horizon: pd.Timedelta
    label_kind: str
    is_snapshot: bool
    business: str
    business_reason: str
    training_summary: dict[str, Any]
    validation_scores: dict[str, float]
    model_id: str
    required_inputs: dict[str, list[str]]
    training_statuses: dict[str, int] | None = None
    reference: dict[str, Any] | None = None
    recalibration: dict[str, Any] | None = None
    feature_percentiles: Any = None
    reason_facts: Any = None
    schedule: dict[str, Any] | None = None
    reason_directions: dict[str, Any] | None = None

    def replace(self, **changes: Any) -> FittedState:
        """A new state with some fields changed (a new model gets a new ``model_id``)."""
        if "model" in changes and "model_id" not in changes:
            changes["model_id"] = _model_id(changes["model"], self.feature_names)
        return dataclasses.replace(self, **changes)


#: Fields a state may lack (their pipeline attributes are then absent).
OPTIONAL_FIELDS = tuple(
    f.name for f in dataclasses.fields(FittedState) if f.default is None and f.name != "model"
)


def fitted_state(
    *,
    builders: Sequence[Any],
    model: Any,
    feature_names: Sequence[str],
    as_of: Any,
    cutoffs: Any,
    horizon: Any,
    label_kind: str,
    is_snapshot: bool,
    business: str,
    business_reason: str,
    training_summary: Mapping[str, Any],
    validation_scores: Mapping[str, float],
    feature_info: pd.DataFrame | None = None,
    model_id: str | None = None,
    required_inputs: Mapping[str, Sequence[str]] | None = None,
    **optional: Any,
) -> FittedState:
    """Assemble a fitted state: the one place a pandas fit, Dask, recalibration and loading
    make one.

    Parameters
    ----------
    builders, model, feature_names, as_of, cutoffs, horizon, label_kind, is_snapshot,
    business, business_reason, training_summary, validation_scores
        What the training saw and learned (see :class:`FittedState`).
    feature_info : pandas.DataFrame, optional
        Computed from the builders when not given.
    model_id : str, optional
        Computed from the model and the feature names when not given.
    required_inputs : dict, optional
        Computed from the builders when not given.
    **optional
        The optional fields (:data:`OPTIONAL_FIELDS`), by name.

    Returns
    -------
    FittedState
    """
    unknown = sorted(set(optional) - set(OPTIONAL_FIELDS))
    if unknown:
        raise TypeError(f"unknown fitted state fields {unknown}; expected {list(OPTIONAL_FIELDS)}")
    names = tuple(str(n) for n in feature_names)
    builders = tuple(builders)
    if feature_info is None:
        feature_info = describe_feature_columns(builders, names)
    return FittedState(
        builders=builders,
        model=model,
        feature_names=names,
        feature_info=feature_info[["group", "description"]],
        as_of=to_naive_utc(as_of),
        cutoffs=pd.DatetimeIndex(
            pd.DatetimeIndex(cutoffs).unique().sort_values(), name="cutoff"
        ).astype("datetime64[ns]"),
        horizon=pd.Timedelta(horizon),
        label_kind=str(label_kind),
        is_snapshot=bool(is_snapshot),
        business=str(business),
        business_reason=str(business_reason),
        training_summary=dict(training_summary),
        validation_scores=dict(validation_scores),
        model_id=model_id if model_id is not None else _model_id(model, names),
        required_inputs=(
            _required_inputs(builders)
            if required_inputs is None
            else {str(t): list(c) for t, c in required_inputs.items()}
        ),
        **optional,
    )


class FittedView:
    """A read-only fitted attribute (``model_``, ``as_of_``...): a field of the fitted state.

    Reading it on an unfitted object, or an optional field the state lacks, raises
    ``AttributeError`` (so ``hasattr`` and scikit-learn's ``check_is_fitted`` work);
    assigning it raises too: the state changes only as a whole.

    Parameters
    ----------
    field : str
        The :class:`FittedState` field.
    convert : callable, optional
        Applied to the value read (e.g. ``list`` for a tuple field).
    """

    def __init__(self, field: str, convert: Any = None) -> None:
        self.field, self.convert = field, convert
        self.optional = field in OPTIONAL_FIELDS

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        state = obj.__dict__.get("fitted_state_")
        if state is None:
            raise AttributeError(f"{type(obj).__name__} is not fitted: it has no {self.name}")
        value = getattr(state, self.field)
        if value is None and self.optional:
            raise AttributeError(f"this fitted {type(obj).__name__} has no {self.name}")
        return value if self.convert is None else self.convert(value)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(
            f"{self.name} is read-only: a fitted {type(obj).__name__}'s state is set as a whole "
            f"by fit, recalibrate or load"
        )
