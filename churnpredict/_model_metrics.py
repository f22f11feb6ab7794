"""Metrics of a churn ranking against outcomes, and the :class:`Evaluation` that holds them.

A leaf of the package (it imports only exceptions and windows), so the model, the pipeline and the
evaluation helpers can all use it. :mod:`churnpredict._evaluate` re-exports every name.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from ._exceptions import ChurnModelError
from ._kinds import CHURN_TYPES
from ._windows import horizon_text

__all__ = [
    "Evaluation",
    "base_rate_check",
    "churn_type_metrics",
    "classification_metrics",
    "lift_table",
    "top_order",
]


def _binary(y_true: Any, name: str = "y_true") -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ChurnModelError(f"{name} must be one-dimensional, got shape {y.shape}")
    if y.dtype == bool:
        return y.astype(np.int8)
    values = pd.unique(pd.Series(y).dropna())
    if pd.Series(y).isna().any() or not set(values.tolist()) <= {0, 1}:
        raise ChurnModelError(
            f"{name} must hold 0/1 churn outcomes; found values {sorted(map(str, values))[:5]}"
        )
    return y.astype(np.int8)


def _scores(proba: Any, n: int, name: str = "proba") -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim != 1 or len(p) != n:
        raise ChurnModelError(f"{name} has shape {p.shape}; expected ({n},), one score per row")
    if np.isnan(p).any():
        raise ChurnModelError(f"{name} has {int(np.isnan(p).sum())} missing scores")
    return p


def top_order(p: np.ndarray) -> np.ndarray:
    """Row positions from highest to lowest score (stable: ties keep their order)."""
    return np.argsort(-p, kind="stable")


def classification_metrics(
    y_true: Any, proba: Any, *, probability: bool = True, sample_weight: Any = None
) -> dict[str, float]:
    """Ranking and probability metrics of churn scores.

    Parameters
    ----------
    y_true : array-like of 0/1
        Outcomes (1 = churned).
    proba : array-like of float
        Churn probabilities (or, with ``probability=False``, any score where higher means
        more at risk).
    probability : bool, default True
        False skips Brier score and log-loss (NaN), which need probabilities.
    sample_weight : array-like of float, optional
        How many customers each row stands for (e.g. rows kept from a random share): the
        base rate, the scores and the lift weigh the rows so; ``n`` and ``n_churned`` still
        count rows.

    Returns
    -------
    dict
        ``n``, ``n_churned``, ``base_rate`` (the observed churn rate), ``mean_predicted``
        (the mean probability: with calibrated probabilities it should match the base
        rate), ``auc`` (ROC AUC), ``average_precision``, ``brier``, ``log_loss`` and
        ``top_decile_lift`` (churn rate among the 10% highest scores over the base rate).
        Metrics that need both classes are NaN when one is absent; ``mean_predicted``,
        ``brier`` and ``log_loss`` are NaN with ``probability=False``.

    Examples
    --------
    >>> m = classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(m["auc"], 2), m["n_churned"]
    (0.75, 2)
    """
    y = _binary(y_true)
    p = _scores(proba, len(y))
    n = len(y)
    n_pos = int(y.sum())
    both = 0 < n_pos < n
    if probability and ((p < 0) | (p > 1)).any():
        raise ChurnModelError("proba must lie in [0, 1]; pass probability=False for raw scores")
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    base_rate = (n_pos / n if w is None else float(w @ y / w.sum())) if n else math.nan
    fit = _probability_metrics(y, p, w) if probability and n else {}
    return {
        "n": n,
        "n_churned": n_pos,
        "base_rate": base_rate,
        "mean_predicted": fit.get("mean_predicted", math.nan),
        "auc": float(roc_auc_score(y, p, sample_weight=w)) if both else math.nan,
        "average_precision": (
            float(average_precision_score(y, p, sample_weight=w)) if n_pos else math.nan
        ),
        "brier": fit.get("brier", math.nan),
        "log_loss": fit.get("log_loss", math.nan),
        "top_decile_lift": _top_decile_lift(y, p, w, base_rate) if n_pos else math.nan,
    }


def _probability_metrics(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    """The metrics that read scores as probabilities: their mean, Brier score and log-loss."""
    return {
        "mean_predicted": float(np.average(p, weights=w)),
        "brier": float(brier_score_loss(y, p, sample_weight=w)),
        "log_loss": float(
            log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1], sample_weight=w)
        ),
    }


def _top_decile_lift(y: np.ndarray, p: np.ndarray, w: np.ndarray | None, base_rate: float) -> float:
    """Churn rate among the 10% highest scores (by weight, with weights) over the base rate."""
    order = top_order(p)
    if w is None:
        n = len(y)
        top = order[: math.ceil(0.1 * n)]
        return float(y[top].mean() / (int(y.sum()) / n))
    # the highest scores standing for a tenth of the customers
    mass = np.cumsum(w[order])
    top = order[: int(np.searchsorted(mass, 0.1 * mass[-1])) + 1]
    return float(w[top] @ y[top] / w[top].sum() / base_rate)


def base_rate_check(y_true: Any, proba: Any, *, tolerance: float = 0.1) -> dict[str, Any]:
    """Compare the mean predicted churn probability with the observed churn rate.

    A model whose probabilities were right when it was trained can run high or low later
    (seasons, a price change, a new acquisition channel) while still ranking customers well;
    this is the check that says so. Run it on the latest cutoff whose horizon is complete.

    Parameters
    ----------
    y_true : array-like of 0/1
        Outcomes (1 = churned within the horizon).
    proba : array-like of float
        Predicted churn probabilities of the same customers.
    tolerance : float, default 0.1
        Largest relative gap, ``|mean predicted / observed - 1|``, still counted as fine.

    Returns
    -------
    dict
        ``n``, ``mean_predicted``, ``observed_rate``, ``ratio`` (mean predicted over
        observed; NaN when nobody churned), ``relative_gap`` (``ratio - 1``), ``tolerance``,
        ``ok`` (bool) and ``message`` (one line; it suggests ``churnpredict recalibrate``
        when the gap is larger than the tolerance).

    Examples
    --------
    >>> check = base_rate_check([0, 0, 0, 1, 0, 0, 0, 0, 0, 1], [0.4] * 10)
    >>> round(check["ratio"], 2), check["ok"]
    (2.0, False)
    """
    y = _binary(y_true)
    p = _scores(proba, len(y))
    if tolerance < 0:
        raise ValueError(f"tolerance={tolerance!r}; expected a share >= 0")
    n = len(y)
    observed = float(y.mean()) if n else math.nan
    mean = float(p.mean()) if n else math.nan
    ratio = mean / observed if n and observed > 0 else math.nan
    gap = ratio - 1.0
    ok = bool(abs(gap) <= tolerance) if ratio == ratio else bool(n and mean <= tolerance)
    if ratio != ratio:
        message = (
            f"mean predicted churn probability {mean:.1%}; nobody churned"
            if n
            else "no customer to compare"
        )
    else:
        direction = "above" if gap > 0 else "below"
        message = (
            f"mean predicted churn probability {mean:.1%} against {observed:.1%} "
            f"observed ({abs(gap):.0%} {direction})"
        )
        if not ok:
            message += (
                "; the probabilities no longer match the churn rate: recalibrate on "
                "the latest complete cutoffs (churnpredict recalibrate) or retrain"
            )
    return {
        "n": n,
        "mean_predicted": mean,
        "observed_rate": observed,
        "ratio": ratio,
        "relative_gap": gap,
        "tolerance": float(tolerance),
        "ok": ok,
        "message": message,
    }


def lift_table(y: Any, proba: Any, bins: int = 10) -> pd.DataFrame:
    """Churn rate and lift by score band, highest scores first.

    Rows are ranked by score and split into ``bins`` bands of (almost) equal size.

    Parameters
    ----------
    y : array-like of 0/1
    proba : array-like of float
    bins : int, default 10

    Returns
    -------
    pandas.DataFrame
        Indexed by ``band`` (1 = highest scores), columns ``n``, ``n_churned``,
        ``churn_rate``, ``mean_score``, ``lift`` (churn rate / base rate),
        ``cumulative_capture`` (share of all churners in bands 1..k) and
        ``cumulative_lift``.

    Examples
    --------
    >>> t = lift_table([1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1], bins=2)
    >>> t["n_churned"].tolist(), t["cumulative_capture"].tolist()
    ([2, 0], [1.0, 1.0])
    """
    y = _binary(y, "y")
    p = _scores(proba, len(y))
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ChurnModelError(f"bins={bins!r}; expected an integer >= 1")
    n = len(y)
    if n == 0:
        raise ChurnModelError("lift_table needs at least one row")
    bins = min(int(bins), n)
    order = top_order(p)
    band = (np.arange(n) * bins) // n  # equal-size bands over the ranked rows
    ys, ps = y[order].astype(np.float64), p[order]
    size = np.bincount(band, minlength=bins)
    churned = np.bincount(band, weights=ys, minlength=bins)
    score_sum = np.bincount(band, weights=ps, minlength=bins)
    total = ys.sum()
    base = total / n
    rate = churned / size
    cum_churned = np.cumsum(churned)
    cum_size = np.cumsum(size)
    out = pd.DataFrame(
        {
            "n": size.astype(np.int64),
            "n_churned": churned.astype(np.int64),
            "churn_rate": rate,
            "mean_score": score_sum / size,
            "lift": rate / base if base > 0 else np.full(bins, np.nan),
            "cumulative_capture": cum_churned / total if total > 0 else np.full(bins, np.nan),
            "cumulative_lift": (cum_churned / cum_size) / base
            if base > 0
            else np.full(bins, np.nan),
        },
        index=pd.RangeIndex(1, bins + 1, name="band"),
    )
    return out


def churn_type_metrics(
    y: Any, score: Any, churn_type: Any, *, top: float = 0.1
) -> dict[str, float]:
    """AUC and top-of-list recall per churn type (voluntary / involuntary).

    For type ``t``, AUC compares churners of type ``t`` with non-churners; recall is the share
    of type-``t`` churners ranked in the top ``top`` share of rows.

    Parameters
    ----------
    y : array-like of 0/1
    score : array-like of float
    churn_type : array-like of str or None
        Type of each churner (ignored for non-churners).
    top : float, default 0.1

    Returns
    -------
    dict
        ``auc_<type>``, ``top_decile_recall_<type>`` (key says "decile" for ``top=0.1``) and
        ``n_<type>`` for each type present.
    """
    y = _binary(y, "y")
    s = _scores(score, len(y), "score")
    types = pd.Series(np.asarray(churn_type, dtype=object)).astype("string").str.lower()
    types = types.where(pd.Series(y == 1), pd.NA)
    k = math.ceil(top * len(y))
    in_top = np.zeros(len(y), dtype=bool)
    in_top[top_order(s)[:k]] = True
    label = "top_decile_recall" if top == 0.1 else f"top_{top:g}_recall"
    out: dict[str, float] = {}
    for t in CHURN_TYPES:
        of_type = (types == t).fillna(False).to_numpy(dtype=bool)
        n_t = int(of_type.sum())
        out[f"n_{t}"] = n_t
        if n_t == 0:
            out[f"auc_{t}"] = math.nan
            out[f"{label}_{t}"] = math.nan
            continue
        keep = of_type | (y == 0)
        both = keep.sum() > n_t
        out[f"auc_{t}"] = float(roc_auc_score(y[keep], s[keep])) if both else math.nan
        out[f"{label}_{t}"] = float(in_top[of_type].mean())
    return out


@dataclass
class Evaluation:
    """Scores and outcomes of one pipeline on one cutoff, with metrics.

    Attributes
    ----------
    as_of : pandas.Timestamp
        The cutoff scored; outcomes come from ``(as_of, as_of + horizon]``.
    horizon : pandas.Timedelta or None
    scores : pandas.DataFrame
        Indexed by ``customer_id``: ``churn_probability``, ``mrr``, ``churned`` and, when
        known, ``churn_type``.
    metrics : dict
        :func:`classification_metrics` of the probabilities.
    lift : pandas.DataFrame
        :func:`lift_table` by decile.
    by_churn_type : dict
        :func:`churn_type_metrics` (empty without churn types).
    """

    as_of: pd.Timestamp
    horizon: pd.Timedelta | None
    scores: pd.DataFrame
    metrics: dict[str, float]
    lift: pd.DataFrame
    by_churn_type: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_scores(
        cls, as_of: pd.Timestamp, horizon: pd.Timedelta | None, scores: pd.DataFrame
    ) -> Evaluation:
        """Compute the metrics of a frame with ``churned`` and ``churn_probability``."""
        y = scores["churned"].to_numpy()
        p = scores["churn_probability"].to_numpy()
        by_type = {}
        if "churn_type" in scores and scores["churn_type"].notna().any():
            by_type = churn_type_metrics(y, p, scores["churn_type"].to_numpy(dtype=object))
        return cls(as_of, horizon, scores, classification_metrics(y, p), lift_table(y, p), by_type)

    @property
    def summary(self) -> pd.Series:
        """Metrics and per-type metrics as one Series."""
        return pd.Series({**self.metrics, **self.by_churn_type}, name=str(self.as_of.date()))

    @property
    def base_rate(self) -> dict[str, Any] | None:
        """:func:`base_rate_check` of the scores: mean predicted against observed churn.

        None when the scores hold no outcomes (``churned``) or no probabilities.
        """
        if not {"churned", "churn_probability"} <= set(self.scores.columns):
            return None
        return base_rate_check(self.scores["churned"], self.scores["churn_probability"])

    def __repr__(self) -> str:
        m = self.metrics
        mean = m.get("mean_predicted", math.nan)
        return (
            f"Evaluation(as_of={self.as_of.date()}, n={m['n']}, churned={m['n_churned']}, "
            f"auc={m['auc']:.3f}, average_precision={m['average_precision']:.3f}, "
            f"mean_predicted={mean:.3f}, observed={m['base_rate']:.3f})"
        )

    def _repr_html_(self) -> str:
        """Notebook display: the metrics table and the lift by decile, every value escaped."""

        def number(value: Any) -> str:
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                return f"{int(value):,}"
            try:
                value = float(value)
            except (TypeError, ValueError):
                return str(value)
            return "n/a" if math.isnan(value) else f"{value:.3f}"

        values = {**self.metrics, **self.by_churn_type}
        metrics = pd.DataFrame(
            {"value": [number(v) for v in values.values()]},
            index=pd.Index([str(k) for k in values], name="metric"),
        ).to_html(escape=True, border=0)
        lift = self.lift.to_html(escape=True, border=0, na_rep="n/a", float_format="{:.3f}".format)
        as_of = self.as_of.date() if self.as_of == self.as_of.normalize() else self.as_of
        horizon = "" if self.horizon is None else f", horizon {horizon_text(self.horizon)}"
        head = f"as of {as_of}{horizon}"
        check = self.base_rate
        calibration = (
            ""
            if check is None
            else f"<p><strong>Mean predicted vs observed churn</strong>: "
            f"{html.escape(check['message'])}</p>"
        )
        return (
            f"<div><strong>Evaluation</strong>: {html.escape(head)}{calibration}"
            f"<h4>Metrics</h4>{metrics}<h4>Lift by decile</h4>{lift}</div>"
        )
