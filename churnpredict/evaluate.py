"""How good is a churn ranking: metrics, lift, baselines, a time-ordered test and a profit view.

Everything here takes plain arrays or Series of outcomes (1 = churned) and scores, except
:func:`time_ordered_evaluation`, which trains on the past and tests on the following horizon.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from .exceptions import ChurnDataError, ChurnModelError

__all__ = [
    "Evaluation",
    "base_rate_check",
    "classification_metrics",
    "lift_table",
    "recency_rule",
    "churn_type_metrics",
    "time_ordered_evaluation",
    "profit_curve",
    "profit_curve_from_scores",
    "optimal_list_size",
    "RECENCY_COLUMNS",
]

#: Feature columns :func:`recency_rule` looks for, in order of preference.
RECENCY_COLUMNS = (
    "days_since_last_activity",
    "days_since_last_event",
    "days_since_last_login",
    "days_since_last_payment",
)


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


def _top_order(p: np.ndarray) -> np.ndarray:
    """Row positions from highest to lowest score (stable: ties keep their order)."""
    return np.argsort(-p, kind="stable")


def classification_metrics(y_true: Any, proba: Any, *, probability: bool = True
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

    Returns
    -------
    dict
        ``n``, ``n_churned``, ``base_rate``, ``auc`` (ROC AUC), ``average_precision``,
        ``brier``, ``log_loss`` and ``top_decile_lift`` (churn rate among the 10% highest
        scores over the base rate). Metrics that need both classes are NaN when one is absent.

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
    out = {
        "n": n,
        "n_churned": n_pos,
        "base_rate": n_pos / n if n else math.nan,
        "auc": float(roc_auc_score(y, p)) if both else math.nan,
        "average_precision": float(average_precision_score(y, p)) if n_pos else math.nan,
        "brier": float(brier_score_loss(y, p)) if probability and n else math.nan,
        "log_loss": (float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]))
                     if probability and n else math.nan),
        "top_decile_lift": math.nan,
    }
    if n_pos and n:
        k = math.ceil(0.1 * n)
        top = _top_order(p)[:k]
        out["top_decile_lift"] = float(y[top].mean() / (n_pos / n))
    return out


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
        message = (f"mean predicted churn probability {mean:.1%}; nobody churned"
                   if n else "no customer to compare")
    else:
        direction = "above" if gap > 0 else "below"
        message = (f"mean predicted churn probability {mean:.1%} against {observed:.1%} "
                   f"observed ({abs(gap):.0%} {direction})")
        if not ok:
            message += ("; the probabilities no longer match the churn rate: recalibrate on "
                        "the latest complete cutoffs (churnpredict recalibrate) or retrain")
    return {"n": n, "mean_predicted": mean, "observed_rate": observed, "ratio": ratio,
            "relative_gap": gap, "tolerance": float(tolerance), "ok": ok, "message": message}


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
    order = _top_order(p)
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
    out = pd.DataFrame({
        "n": size.astype(np.int64),
        "n_churned": churned.astype(np.int64),
        "churn_rate": rate,
        "mean_score": score_sum / size,
        "lift": rate / base if base > 0 else np.full(bins, np.nan),
        "cumulative_capture": cum_churned / total if total > 0 else np.full(bins, np.nan),
        "cumulative_lift": (cum_churned / cum_size) / base if base > 0 else np.full(bins, np.nan),
    }, index=pd.RangeIndex(1, bins + 1, name="band"))
    return out


def recency_rule(X: pd.DataFrame, column: str | None = None) -> pd.Series:
    """Baseline risk score: days since the customer's last activity (longer = riskier).

    Parameters
    ----------
    X : pandas.DataFrame
        Feature frame holding a "days since last ..." column.
    column : str, optional
        The column to use; by default the first of :data:`RECENCY_COLUMNS` present, else the
        first column whose name starts with ``days_since_last``.

    Returns
    -------
    pandas.Series
        Indexed like ``X``; customers with no activity yet score above everyone else.

    Examples
    --------
    >>> X = pd.DataFrame({"days_since_last_activity": [3.0, 40.0, None]})
    >>> recency_rule(X).tolist()
    [3.0, 40.0, 41.0]
    """
    if column is None:
        present = [c for c in RECENCY_COLUMNS if c in X.columns]
        present += [c for c in X.columns if str(c).startswith("days_since_last")]
        if not present:
            raise ChurnDataError(
                f"features: no recency column (one of {list(RECENCY_COLUMNS)}) among "
                f"{list(X.columns)[:10]}; pass column= or build engagement features"
            )
        column = present[0]
    elif column not in X.columns:
        raise ChurnDataError(f"features: column {column!r} not found; pick one of "
                             f"{list(X.columns)[:10]}")
    days = pd.to_numeric(X[column], errors="coerce").astype("float64")
    top = days.max()
    fill = (0.0 if pd.isna(top) else float(top)) + 1.0
    return days.fillna(fill).rename(f"recency_rule({column})")


def churn_type_metrics(y: Any, score: Any, churn_type: Any, *, top: float = 0.1
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
    in_top[_top_order(s)[:k]] = True
    label = "top_decile_recall" if top == 0.1 else f"top_{top:g}_recall"
    out: dict[str, float] = {}
    for t in ("voluntary", "involuntary"):
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
    def from_scores(cls, as_of: pd.Timestamp, horizon: pd.Timedelta | None,
                    scores: pd.DataFrame) -> Evaluation:
        """Compute the metrics of a frame with ``churned`` and ``churn_probability``."""
        y = scores["churned"].to_numpy()
        p = scores["churn_probability"].to_numpy()
        by_type = {}
        if "churn_type" in scores and scores["churn_type"].notna().any():
            by_type = churn_type_metrics(y, p, scores["churn_type"].to_numpy(dtype=object))
        return cls(as_of, horizon, scores, classification_metrics(y, p), lift_table(y, p),
                   by_type)

    @property
    def summary(self) -> pd.Series:
        """Metrics and per-type metrics as one Series."""
        return pd.Series({**self.metrics, **self.by_churn_type}, name=str(self.as_of.date()))

    def __repr__(self) -> str:
        m = self.metrics
        return (f"Evaluation(as_of={self.as_of.date()}, n={m['n']}, churned={m['n_churned']}, "
                f"auc={m['auc']:.3f}, average_precision={m['average_precision']:.3f})")


def time_ordered_evaluation(
    data: Any,
    as_of: Any,
    horizon: Any = None,
    *,
    pipeline: Any = None,
    baseline: Any = None,
    recency_column: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> pd.DataFrame:
    """Train on what was known at ``as_of``, test on the next horizon; compare with baselines.

    The pipeline is trained with ``as_of``: its latest training cutoff is ``as_of - horizon``,
    so every training label is over by ``as_of``. The test rows are the population at cutoff
    ``as_of``, labelled over ``(as_of, as_of + horizon]`` (the data must reach that far).
    :class:`~churnpredict.model.ChurnModel` (the pipeline's model),
    :class:`~churnpredict.model.LogisticBaseline` (same features, same training rows),
    with inactivity labels :class:`~churnpredict.bgnbd.BGNBDBaseline` (BG/NBD's probability of
    no purchase in the horizon, fitted on the purchase history before ``as_of``) and the
    recency rule (days since last activity) are scored on the same test rows.

    Parameters
    ----------
    data : EventData
    as_of : timestamp-like
        The test cutoff.
    horizon : duration, optional
        Overrides the pipeline's horizon.
    pipeline : ChurnPipeline, optional
        Settings to use (cloned; default ``ChurnPipeline()``).
    baseline : classifier, optional
        Defaults to ``LogisticBaseline()``.
    recency_column : str, optional
        See :func:`recency_rule`; the rule is left out when no recency feature exists.
    progress : callable, optional
        ``progress(stage, step, total)``.

    Returns
    -------
    pandas.DataFrame
        One row per model (``model`` index), columns from :func:`classification_metrics`
        plus, when customers have ``churn_type``, :func:`churn_type_metrics`. ``attrs`` holds
        ``as_of``, ``horizon`` and the training cutoffs.
    """
    from sklearn.base import clone

    from .features import build_features
    from .labels import label_churn
    from .model import LogisticBaseline
    from .pipeline import ChurnPipeline

    pipe = ChurnPipeline() if pipeline is None else clone(pipeline)
    if horizon is not None:
        pipe.set_params(horizon=horizon)
    as_of = pd.Timestamp(as_of)
    X_train, labels = pipe._fit_training(data, as_of, progress)
    test = label_churn(data, [as_of], pipe.horizon_, **pipe._population_rule())
    if len(test) == 0:
        raise ChurnDataError(f"no customer in the population at {as_of}; pick another as_of")
    X_test = build_features(data, test.index, pipe.builders_, fit=False)
    X_test = pipe._align(X_test)
    y_test = test["churned"].to_numpy()
    types = test["churn_type"].to_numpy(dtype=object) if "churn_type" in test else None

    base = LogisticBaseline() if baseline is None else clone(baseline)
    base.fit(X_train, labels["churned"].to_numpy())
    candidates: list[tuple[str, np.ndarray, bool]] = [
        (type(pipe.model_).__name__, pipe.model_.predict_proba(X_test)[:, 1], True),
        (type(base).__name__, base.predict_proba(X_test)[:, 1], True),
    ]
    if pipe.label_kind_ == "inactivity":
        bgnbd = _bgnbd_scores(data, X_test, pipe.horizon_)
        if bgnbd is not None:
            candidates.append(("BGNBDBaseline", bgnbd, True))
    try:
        candidates.append(("recency rule", recency_rule(X_test, recency_column).to_numpy(),
                           False))
    except ChurnDataError:
        if recency_column is not None:
            raise
    rows = {}
    for name, score, is_proba in candidates:
        row = classification_metrics(y_test, score, probability=is_proba)
        if types is not None:
            row.update(churn_type_metrics(y_test, score, types))
        rows[name] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "model"
    out.attrs.update({
        "as_of": as_of,
        "horizon": pipe.horizon_,
        "train_cutoffs": list(pipe.cutoffs_),
        "n_train_rows": len(X_train),
    })
    return out


def _bgnbd_scores(data: Any, X_test: pd.DataFrame, horizon: pd.Timedelta
                  ) -> np.ndarray | None:
    """BG/NBD's P(no purchase in the horizon) for the test rows; None when it cannot be fitted.

    The purchase summaries come from the test features when they hold them (the pipeline has
    :class:`~churnpredict.features.PurchaseHistoryFeatures`), else from a
    ``PurchaseHistoryFeatures(bgnbd=False)`` built for the test rows. A fit that fails is
    reported with a :class:`~sklearn.exceptions.ConvergenceWarning`, never an error.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from .bgnbd import SUMMARY_COLUMNS, BGNBDBaseline
    from .features import PurchaseHistoryFeatures, build_features

    summaries = X_test
    if not all(c in X_test.columns for c in SUMMARY_COLUMNS):
        builder = PurchaseHistoryFeatures(bgnbd=False)
        if not builder.applies_to(data):
            return None
        summaries = build_features(data, X_test.index, [builder], fit=True)
    baseline = BGNBDBaseline(horizon=horizon)
    try:
        baseline.fit(summaries)
    except ChurnModelError as exc:
        warnings.warn(f"BGNBDBaseline left out of the comparison: {exc}", ConvergenceWarning,
                      stacklevel=3)
        return None
    return baseline.predict_proba(summaries)[:, 1]


def profit_curve(
    proba: Any,
    mrr: Any,
    horizon_months: float,
    contact_cost: float,
    save_rate: float,
    *,
    rank_by: str = "probability",
) -> pd.DataFrame:
    """Expected profit of a retention campaign that contacts the top ``k`` customers.

    Contacting customer ``i`` costs ``contact_cost`` and, if they would churn (probability
    ``p_i``), keeps them with probability ``save_rate``, saving ``mrr_i x horizon_months``.
    The expected profit of a list of the top ``k`` is
    ``sum(p_i x save_rate x value_i) - k x contact_cost`` (the expected-maximum-profit idea).

    Parameters
    ----------
    proba : array-like of float
        Churn probabilities.
    mrr : array-like of float
        Monthly recurring revenue per customer; unknown (NaN) counts as 0.
    horizon_months : float
        Months of revenue a save is worth (e.g. the horizon, or a lifetime).
    contact_cost : float
        Cost of one contact (offer, call).
    save_rate : float
        Share of would-be churners a contact keeps, in [0, 1].
    rank_by : {"probability", "expected_value"}, default "probability"
        Order of the list: as the at-risk list ranks by probability, or by expected saved
        revenue ``p_i x value_i``.

    Returns
    -------
    pandas.DataFrame
        One row per list size ``k`` = 0..n (index ``list_size``): ``share_contacted``,
        ``min_probability`` (lowest probability on the list), ``expected_churners``,
        ``expected_saved_revenue``, ``cost`` and ``expected_profit``.
        ``attrs["optimal_list_size"]`` is the best ``k`` (see :func:`optimal_list_size`).

    Examples
    --------
    >>> curve = profit_curve([0.9, 0.5, 0.1], [100, 100, 100], horizon_months=1,
    ...                      contact_cost=20, save_rate=0.5)
    >>> curve["expected_profit"].round(2).tolist()
    [0.0, 25.0, 30.0, 15.0]
    >>> optimal_list_size(curve)
    2
    """
    p = np.asarray(proba, dtype=np.float64)
    value = np.asarray(mrr, dtype=np.float64)
    if p.ndim != 1 or value.shape != p.shape:
        raise ChurnModelError(f"proba {p.shape} and mrr {value.shape} must be 1-D and of equal "
                              f"length")
    if np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise ChurnModelError("proba must hold probabilities in [0, 1] without missing values")
    if not 0 <= save_rate <= 1:
        raise ChurnModelError(f"save_rate={save_rate!r}; expected a share in [0, 1]")
    if contact_cost < 0 or horizon_months <= 0:
        raise ChurnModelError(f"contact_cost={contact_cost!r} must be >= 0 and "
                              f"horizon_months={horizon_months!r} > 0")
    if rank_by not in ("probability", "expected_value"):
        raise ChurnModelError(f"rank_by={rank_by!r}; expected 'probability' or 'expected_value'")
    value = np.nan_to_num(value, nan=0.0) * float(horizon_months)
    gain = p * float(save_rate) * value
    order = _top_order(p if rank_by == "probability" else p * value)
    n = len(p)
    k = np.arange(n + 1)
    saved = np.concatenate([[0.0], np.cumsum(gain[order])])
    cost = k * float(contact_cost)
    curve = pd.DataFrame({
        "share_contacted": k / n if n else np.zeros(1),
        "min_probability": np.concatenate([[np.nan], np.minimum.accumulate(p[order])]),
        "expected_churners": np.concatenate([[0.0], np.cumsum(p[order])]),
        "expected_saved_revenue": saved,
        "cost": cost,
        "expected_profit": saved - cost,
    }, index=pd.Index(k, name="list_size"))
    curve.attrs["optimal_list_size"] = optimal_list_size(curve)
    return curve


def profit_curve_from_scores(
    scores: pd.DataFrame,
    horizon: Any,
    contact_cost: float,
    save_rate: float,
    *,
    rank_by: str = "probability",
) -> pd.DataFrame:
    """:func:`profit_curve` of ``ChurnPipeline.score`` output, subscriptions or purchases.

    A save is worth :func:`churnpredict.export.value_if_retained`: ``mrr x`` the horizon in
    months for subscriptions, ``expected_spend`` (the spend expected over the horizon if the
    customer stays) for purchase data. Unknown values count as 0.

    Parameters
    ----------
    scores : pandas.DataFrame
        With ``churn_probability`` and ``mrr`` or ``expected_spend``.
    horizon : duration
    contact_cost, save_rate, rank_by
        As in :func:`profit_curve`.

    Returns
    -------
    pandas.DataFrame
        As :func:`profit_curve`; ``attrs["value"]`` names what a save is worth
        (``"mrr"`` or ``"expected_spend"``).

    Examples
    --------
    >>> scores = pd.DataFrame({"churn_probability": [0.9, 0.5, 0.1],
    ...                        "expected_spend": [100.0, 100.0, 100.0]})
    >>> curve = profit_curve_from_scores(scores, "90D", contact_cost=20, save_rate=0.5)
    >>> curve["expected_profit"].round(2).tolist(), curve.attrs["optimal_list_size"]
    ([0.0, 25.0, 30.0, 15.0], 2)
    """
    from .export import value_if_retained

    value = value_if_retained(scores, horizon).to_numpy(dtype=np.float64, na_value=np.nan)
    # the value already covers the whole horizon: one "month" of it
    curve = profit_curve(scores["churn_probability"].to_numpy(dtype=np.float64), value,
                         horizon_months=1.0, contact_cost=contact_cost, save_rate=save_rate,
                         rank_by=rank_by)
    curve.attrs["value"] = "mrr" if "mrr" in scores.columns else "expected_spend"
    return curve


def optimal_list_size(curve: pd.DataFrame) -> int:
    """List size with the highest expected profit in a :func:`profit_curve` (smallest on ties).

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`profit_curve`.

    Returns
    -------
    int
    """
    profit = curve["expected_profit"].to_numpy()
    return int(curve.index[int(np.argmax(profit))])

