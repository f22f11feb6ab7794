"""Refit only the calibration map of a fitted pipeline on later outcomes (trees unchanged).

:meth:`ChurnPipeline.recalibrate <churnpredict._pipeline.ChurnPipeline.recalibrate>` documents
the behaviour; this module holds the work, on the pipeline's public interface: it returns a
new fitted state (:class:`~churnpredict._fitted.FittedState`), which the pipeline installs.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._calibration import Calibrator
from ._data import EventData
from ._drift import reference_distribution
from ._exceptions import ChurnDataError, ChurnModelError, LeakageWarning
from ._fitted import FittedState
from ._labels import label_churn, training_cutoffs
from ._params import Integer, check_parameters
from ._windows import to_naive_utc
from .features import build_features

__all__ = ["recalibrate"]


def recalibrate(
    pipeline: Any,
    data: EventData,
    as_of: Any = None,
    *,
    n_cutoffs: int = 3,
    method: str | None = None,
) -> FittedState:
    """The fitted state of ``pipeline`` with its calibration map refitted on later outcomes.

    See :meth:`ChurnPipeline.recalibrate <churnpredict._pipeline.ChurnPipeline.recalibrate>`,
    which installs the state returned; ``pipeline`` and its model are left as they are.

    Returns
    -------
    FittedState
        A new model (the same trees, a new calibration map) and its ``model_id``, the
        ``reference`` of the recalibrated probabilities and the ``recalibration`` record.
    """
    model = pipeline.model_
    _check_recalibration(model, data, n_cutoffs)
    method = method or getattr(model, "calibration", None) or "isotonic"
    pipeline.check_inputs(data)
    stamp, cutoffs = _recalibration_cutoffs(pipeline, data, as_of, int(n_cutoffs))
    # the same population as training and scoring (lapsed customers with inactivity churn)
    labels = label_churn(
        data, cutoffs, pipeline.horizon_, as_of=stamp, **pipeline.population_rule()
    )
    y = labels["churned"].to_numpy(dtype=np.float64)
    if len(y) == 0 or y.min() == y.max():
        raise ChurnDataError(
            f"recalibration needs churners and customers who stayed at the cutoffs "
            f"{[c.strftime('%Y-%m-%d') for c in cutoffs]}, but found {int(y.sum())} "
            f"churner(s) in {len(y)} row(s); use more cutoffs (n_cutoffs) or a later as_of"
        )
    X = pipeline.align_features(
        build_features(data, labels.index, pipeline.builders_, fit=False, progress=False)
    )
    margin = model.decision_function(X)
    calibrator = Calibrator.fit(method, margin, y, prior="sigmoid")
    if method == "sigmoid" and calibrator.x[0] <= 0:
        raise ChurnDataError(
            "the refitted sigmoid would reverse the ranking (the margin no longer "
            "separates churners at these cutoffs); retrain instead of recalibrating"
        )
    recalibrated = model.with_calibrator(calibrator)
    proba = recalibrated.calibrate_margin(margin)
    state = pipeline.fitted_state_
    reference = state.reference
    if reference is not None:
        bins = int(reference.get("bins", 10))
        score = reference_distribution(X.iloc[:, :0], proba, bins=bins)["score"]
        reference = {**reference, "score": score}
    return state.replace(
        model=recalibrated,
        reference=reference,
        recalibration={
            "as_of": stamp.isoformat(),
            "cutoffs": [c.isoformat() for c in cutoffs],
            "method": method,
            "n_rows": int(len(y)),
            "observed_rate": float(y.mean()),
            "mean_probability_before": float(model.calibrate_margin(margin).mean()),
            "mean_probability_after": float(proba.mean()),
        },
    )


def _check_recalibration(model: Any, data: EventData, n_cutoffs: Any) -> None:
    """Refuse a model without a calibration map, a snapshot table and a bad ``n_cutoffs``."""
    if not hasattr(model, "calibrator_") or not hasattr(model, "with_calibrator"):
        raise ChurnModelError(
            f"{type(model).__name__} has no calibration map to refit; recalibration "
            f"needs a ChurnModel"
        )
    if data.is_snapshot:
        raise ChurnDataError(
            "a snapshot table has one cutoff and no later outcomes to "
            "recalibrate on; retrain on the new snapshot instead"
        )
    check_parameters({"n_cutoffs": n_cutoffs}, {"n_cutoffs": Integer(min=1)})


def _recalibration_cutoffs(
    pipeline: Any, data: EventData, as_of: Any, n_cutoffs: int
) -> tuple[pd.Timestamp, pd.DatetimeIndex]:
    """What is known, and the latest ``n_cutoffs`` complete cutoffs, spaced as training was.

    Warns (:class:`~churnpredict.LeakageWarning`) when they overlap the training cutoffs.
    """
    end = data.time_range[1]
    stamp = end if as_of is None else to_naive_utc(as_of)
    if stamp > end + pd.Timedelta(days=1):
        # outcomes after the data's end are unknown, not "no activity": refuse, as evaluate
        raise ChurnDataError(
            f"recalibrating as of {stamp:%Y-%m-%d} needs what happened up to then, but "
            f"the data ends at {end:%Y-%m-%d %H:%M}; use an as-of on or before "
            f"{end:%Y-%m-%d}"
        )
    # the spacing training used (chosen from the data when cutoff_freq="auto")
    freq = getattr(pipeline, "schedule_", {}).get("cutoff_freq", pipeline.cutoff_freq)
    freq = "14D" if freq == "auto" else freq
    cutoffs = training_cutoffs(data, stamp, pipeline.horizon_, n_cutoffs, freq)
    trained_to = pipeline.as_of_ - pipeline.horizon_
    if cutoffs[0] <= trained_to:
        warnings.warn(
            f"recalibration cutoffs from {cutoffs[0]:%Y-%m-%d} overlap the training "
            f"cutoffs (up to {trained_to:%Y-%m-%d}): the trees have seen "
            f"those outcomes, so the map fits optimistic margins; recalibrate on outcomes "
            f"after the training as-of {pipeline.as_of_:%Y-%m-%d}",
            LeakageWarning,
            stacklevel=4,  # the caller of ChurnPipeline.recalibrate
        )
    return stamp, cutoffs
