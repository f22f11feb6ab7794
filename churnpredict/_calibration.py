"""Calibration: a monotone map from a model's raw log-odds margin to a churn probability.

:class:`Calibrator` is fitted on the validation fold's margins by
:meth:`~churnpredict._model.ChurnModel.finish_fit` (and refitted alone by
:meth:`~churnpredict._pipeline.ChurnPipeline.recalibrate`); it persists as plain JSON
(:meth:`Calibrator.to_dict`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ._exceptions import ChurnModelError

__all__ = ["Calibrator", "TIE_BREAK"]

#: Weight of the raw sigmoid blended into isotonic output: breaks the ties of the step
#: function so the calibrated probability ranks customers exactly like the margin does.
TIE_BREAK = 1e-4


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
            raise ChurnModelError(
                f"calibration method {method!r}; expected 'isotonic' or 'sigmoid'"
            )
        self.method = method
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)

    @staticmethod
    def _platt(
        margin: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
    ) -> tuple[float, float]:
        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(margin.reshape(-1, 1), y, sample_weight=weight)
        return float(lr.coef_[0, 0]), float(lr.intercept_[0])

    @classmethod
    def fit(
        cls,
        method: str,
        margin: np.ndarray,
        y: np.ndarray,
        *,
        prior: str = "raw",
        sample_weight: np.ndarray | None = None,
    ) -> Calibrator:
        """Fit on validation margins ``margin`` and 0/1 outcomes ``y``.

        ``prior`` ("raw" or "sigmoid") is what sparse isotonic blocks are shrunk toward;
        ``sample_weight`` says how many rows each row stands for (a block's size is the sum
        of its weights).
        """
        margin = np.asarray(margin, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        weight = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        if method == "sigmoid":
            return cls("sigmoid", cls._platt(margin, y, weight))
        if method != "isotonic":
            raise ChurnModelError(
                f"calibration method {method!r}; expected 'isotonic' or 'sigmoid'"
            )
        order = np.argsort(margin, kind="stable")
        m, t = margin[order], y[order]
        w = np.ones(len(m)) if weight is None else weight[order]
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0)
        fitted = isotonic.fit(m, t, sample_weight=None if weight is None else w).predict(m)
        starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
        size = np.add.reduceat(w, starts)
        if prior == "raw":
            base = expit(m)
        else:
            slope, intercept = cls._platt(m, t, None if weight is None else w)
            base = expit(slope * m + intercept)
        k = cls.PRIOR_ROWS
        value = (np.add.reduceat(w * t, starts) + k * np.add.reduceat(w * base, starts) / size) / (
            size + k
        )
        pos = np.arange(len(value), dtype=np.float64)
        value = IsotonicRegression().fit(pos, value, sample_weight=size + k).predict(pos)
        centre = np.add.reduceat(w * m, starts) / size
        return cls("isotonic", centre, value)

    def predict(self, margin: Any) -> np.ndarray:
        """Calibrated probability for each raw margin."""
        m = np.asarray(margin, dtype=np.float64)
        if self.method == "sigmoid":
            return expit(self.x[0] * m + self.x[1])
        step = np.interp(m, self.x, self.y)
        return (1.0 - TIE_BREAK) * step + TIE_BREAK * expit(m)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (exact: floats round-trip through ``repr``)."""
        return {"method": self.method, "x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        return cls(state["method"], state["x"], state.get("y", ()))

    def __repr__(self) -> str:
        return f"Calibrator(method={self.method!r}, n_points={len(self.x)})"
