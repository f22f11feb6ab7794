"""How good is a churn ranking: metrics, lift, baselines, a time-ordered test and a profit view.

Everything here takes plain arrays or Series of outcomes (1 = churned) and scores, except
:func:`time_ordered_evaluation`, which trains on the past and tests on the following horizon.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._bgnbd import SUMMARY_COLUMNS, BGNBDBaseline
from ._exceptions import ChurnDataError, ChurnModelError
from ._export import value_if_retained
from ._labels import label_churn
from ._model import LogisticBaseline
from ._model_metrics import (
    Evaluation,
    base_rate_check,
    churn_type_metrics,
    classification_metrics,
    lift_table,
    top_order,
)
from ._pipeline import ChurnPipeline
from ._progress import ProgressArg
from ._windows import to_naive_utc
from .features import PurchaseHistoryFeatures, build_features

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
        raise ChurnDataError(
            f"features: column {column!r} not found; pick one of {list(X.columns)[:10]}"
        )
    days = pd.to_numeric(X[column], errors="coerce").astype("float64")
    top = days.max()
    fill = (0.0 if pd.isna(top) else float(top)) + 1.0
    return days.fillna(fill).rename(f"recency_rule({column})")


def time_ordered_evaluation(
    data: Any,
    as_of: Any,
    horizon: Any = None,
    *,
    pipeline: Any = None,
    baseline: Any = None,
    recency_column: str | None = None,
    progress: ProgressArg = None,
) -> pd.DataFrame:
    """Train on what was known at ``as_of``, test on the next horizon; compare with baselines.

    The pipeline is trained with ``as_of``: its latest training cutoff is ``as_of - horizon``,
    so every training label is over by ``as_of``. The test rows are the population at cutoff
    ``as_of``, labelled over ``(as_of, as_of + horizon]`` (the data must reach that far).
    :class:`~churnpredict._model.ChurnModel` (the pipeline's model),
    :class:`~churnpredict._model.LogisticBaseline` (same features, same training rows),
    with inactivity labels :class:`~churnpredict._bgnbd.BGNBDBaseline` (BG/NBD's probability of
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
    progress : bool or callable, optional
        Of the training: see :meth:`ChurnPipeline.fit <churnpredict._pipeline.ChurnPipeline.fit>`.

    Returns
    -------
    pandas.DataFrame
        One row per model (``model`` index), columns from :func:`classification_metrics`
        plus, when customers have ``churn_type``, :func:`churn_type_metrics`. ``attrs`` holds
        ``as_of``, ``horizon`` and the training cutoffs.
    """
    from sklearn.base import clone

    pipe = ChurnPipeline() if pipeline is None else clone(pipeline)
    if horizon is not None:
        pipe.set_params(horizon=horizon)
    as_of = to_naive_utc(as_of)
    X_train, labels = pipe.fit_training(data, as_of, progress)
    test = label_churn(data, [as_of], pipe.horizon_, **pipe.population_rule())
    if len(test) == 0:
        raise ChurnDataError(f"no customer in the population at {as_of}; pick another as_of")
    X_test = build_features(data, test.index, pipe.builders_, fit=False, progress=False)
    X_test = pipe.align_features(X_test)
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
        candidates.append(("recency rule", recency_rule(X_test, recency_column).to_numpy(), False))
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
    out.attrs.update(
        {
            "as_of": as_of,
            "horizon": pipe.horizon_,
            "train_cutoffs": list(pipe.cutoffs_),
            "n_train_rows": len(X_train),
        }
    )
    return out


def _bgnbd_scores(data: Any, X_test: pd.DataFrame, horizon: pd.Timedelta) -> np.ndarray | None:
    """BG/NBD's P(no purchase in the horizon) for the test rows; None when it cannot be fitted.

    The purchase summaries come from the test features when they hold them (the pipeline has
    :class:`~churnpredict.features.PurchaseHistoryFeatures`), else from a
    ``PurchaseHistoryFeatures(bgnbd=False)`` built for the test rows. A fit that fails is
    reported with a :class:`~sklearn.exceptions.ConvergenceWarning`, never an error.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    summaries = X_test
    if not all(c in X_test.columns for c in SUMMARY_COLUMNS):
        builder = PurchaseHistoryFeatures(bgnbd=False)
        if not builder.applies_to(data):
            return None
        summaries = build_features(data, X_test.index, [builder], fit=True, progress=False)
    baseline = BGNBDBaseline(horizon=horizon)
    try:
        baseline.fit(summaries)
    except ChurnModelError as exc:
        warnings.warn(
            f"BGNBDBaseline left out of the comparison: {exc}", ConvergenceWarning, stacklevel=3
        )
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
        raise ChurnModelError(
            f"proba {p.shape} and mrr {value.shape} must be 1-D and of equal length"
        )
    if np.isnan(p).any() or ((p < 0) | (p > 1)).any():
        raise ChurnModelError("proba must hold probabilities in [0, 1] without missing values")
    if not 0 <= save_rate <= 1:
        raise ChurnModelError(f"save_rate={save_rate!r}; expected a share in [0, 1]")
    if contact_cost < 0 or horizon_months <= 0:
        raise ChurnModelError(
            f"contact_cost={contact_cost!r} must be >= 0 and horizon_months={horizon_months!r} > 0"
        )
    if rank_by not in ("probability", "expected_value"):
        raise ChurnModelError(f"rank_by={rank_by!r}; expected 'probability' or 'expected_value'")
    value = np.nan_to_num(value, nan=0.0) * float(horizon_months)
    gain = p * float(save_rate) * value
    order = top_order(p if rank_by == "probability" else p * value)
    n = len(p)
    k = np.arange(n + 1)
    saved = np.concatenate([[0.0], np.cumsum(gain[order])])
    cost = k * float(contact_cost)
    curve = pd.DataFrame(
        {
            "share_contacted": k / n if n else np.zeros(1),
            "min_probability": np.concatenate([[np.nan], np.minimum.accumulate(p[order])]),
            "expected_churners": np.concatenate([[0.0], np.cumsum(p[order])]),
            "expected_saved_revenue": saved,
            "cost": cost,
            "expected_profit": saved - cost,
        },
        index=pd.Index(k, name="list_size"),
    )
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

    A save is worth :func:`churnpredict._export.value_if_retained`: ``mrr x`` the horizon in
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

    value = value_if_retained(scores, horizon).to_numpy(dtype=np.float64, na_value=np.nan)
    # the value already covers the whole horizon: one "month" of it
    curve = profit_curve(
        scores["churn_probability"].to_numpy(dtype=np.float64),
        value,
        horizon_months=1.0,
        contact_cost=contact_cost,
        save_rate=save_rate,
        rank_by=rank_by,
    )
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
