"""Ranked at-risk lists for retention teams, written atomically to CSV, Parquet or Excel."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._actions import (
    DEFAULT_ACTIONS,
    GROUP_MEANINGS,
    PURCHASE_ACTIONS,
    PURCHASE_GROUP_MEANINGS,
    USAGE_ACTIONS,
    USAGE_GROUP_MEANINGS,
    action_table,
    check_actions,
    group_meanings,
    suggested_actions,
)
from ._exceptions import ChurnDataError
from ._kinds import BUSINESS_KINDS, STATUSES
from ._labels import MIN_POPULATION
from ._list_options import (
    AT_RISK_COLUMNS,
    N_REASONS,
    PURCHASE_AT_RISK_COLUMNS,
    USAGE_AT_RISK_COLUMNS,
    ListOptionError,
    ListOptions,
    checked_tiers,
    options_or_keywords,
)
from ._outputs import OUTPUT_SUFFIXES, write_frame
from ._windows import horizon_months, horizon_text, parse_window

__all__ = [
    "ListOptions",
    "ListOptionError",
    "at_risk_list",
    "write_at_risk",
    "value_if_retained",
    "revenue_at_risk",
    "rank_columns",
    "ranking_key",
    "DEFAULT_ACTIONS",
    "PURCHASE_ACTIONS",
    "USAGE_ACTIONS",
    "PROBABILITY_DIGITS",
    "base_rate_tiers",
    "list_base_rate",
    "tier_meanings",
    "list_legend",
    "GROUP_MEANINGS",
    "PURCHASE_GROUP_MEANINGS",
    "USAGE_GROUP_MEANINGS",
    "AT_RISK_COLUMNS",
    "PURCHASE_AT_RISK_COLUMNS",
    "USAGE_AT_RISK_COLUMNS",
    "list_kind",
    "NO_VALUE_NOTE",
    "STATUSES",
]

#: Churn probabilities equal to this many decimals (0.1 point) are ties: the list orders
#: them by revenue at risk.
PROBABILITY_DIGITS = 3


def _customer_ids(scores: pd.DataFrame) -> pd.Series:
    """Customer ids of the score rows (index level or column ``customer_id``), one per row."""
    if "customer_id" in scores.columns:
        ids = scores["customer_id"]
    elif "customer_id" in (scores.index.names or []):
        ids = pd.Series(scores.index.get_level_values("customer_id"), index=scores.index)
    elif scores.index.nlevels == 1:
        ids = pd.Series(scores.index, index=scores.index)
    else:
        raise ChurnDataError(
            f"scores: index levels {list(scores.index.names)} hold no 'customer_id'; index the "
            f"scores by customer_id (the ChurnPipeline.score output) or add that column"
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise ChurnDataError(
            f"scores: column customer_id repeats {dup.nunique()} customer(s), e.g. "
            f"{dup.unique()[:5].tolist()}; score one row per customer (a single as-of date)"
        )
    return ids.reset_index(drop=True)


def base_rate_tiers(base_rate: float) -> dict[str, float]:
    """The default risk tiers: churn probability against the base rate.

    ``high`` from twice the base rate, and in any case from 50% (more likely to leave than
    to stay); ``medium`` from the base rate (above the average customer); ``low`` below it.
    So a tier never contradicts the probability: nobody at 50% or more is ``low``.

    Parameters
    ----------
    base_rate : float
        The expected churn rate of the customers scored (:func:`list_base_rate`).

    Returns
    -------
    dict
        Tier name -> minimum probability, lowest first (``at_risk_list(tiers=...)``).

    Examples
    --------
    >>> base_rate_tiers(0.05)
    {'low': 0.0, 'medium': 0.05, 'high': 0.1}
    >>> base_rate_tiers(0.43)  # a shop where many leave: high from 50%
    {'low': 0.0, 'medium': 0.43, 'high': 0.5}
    """
    rate = float(base_rate) if np.isfinite(base_rate) and base_rate > 0 else 1e-9
    high = min(2.0 * rate, 0.5)
    return {"low": 0.0, "medium": min(rate, high), "high": high}


def list_base_rate(mean: float, n: int, attrs: Mapping[str, Any] | None = None) -> float:
    """The base rate behind the default tiers: the mean churn probability of everyone scored.

    With fewer than :data:`~churnpredict._labels.MIN_POPULATION` customers the mean says
    little; then the training churn rate the scores carry (``attrs["base_rate"]``, set by
    ``ChurnPipeline.score``) is used when there is one.

    Parameters
    ----------
    mean : float
        The mean churn probability of the ``n`` scored customers.
    n : int
    attrs : dict, optional
        ``scores.attrs``.

    Returns
    -------
    float
    """
    known = (attrs or {}).get("base_rate")
    if n < MIN_POPULATION and known is not None:
        return float(known)
    return float(mean)


def tier_meanings(tiers: Mapping[str, float], base_rate: float | None = None) -> dict[str, str]:
    """What each tier means, in words, highest first (for the legend and the report).

    Parameters
    ----------
    tiers : dict of str -> float
        Tier name -> minimum churn probability.
    base_rate : float, optional
        Given for the default tiers (:func:`base_rate_tiers`), whose rule is then said.

    Returns
    -------
    dict of str -> str

    Examples
    --------
    >>> tier_meanings(base_rate_tiers(0.05), 0.05)["high"]
    'churn probability 10.0% or more: at least twice the base rate (5.0%), or 50% or more'
    """
    # highest first; of equal thresholds the one _tiers gives (the later) comes first
    items = sorted(checked_tiers(tiers).items(), key=lambda item: item[1])[::-1]
    out: dict[str, str] = {}
    upper: float | None = None
    for name, threshold in items:
        if upper is not None and threshold >= upper:
            continue  # an empty tier (its threshold equals the one above)
        if threshold > 0:
            text = f"churn probability {threshold:.1%} or more"
            if upper is not None:
                text = f"churn probability {threshold:.1%} to {upper:.1%}"
        else:
            text = f"churn probability below {upper:.1%}" if upper is not None else "everyone"
        if base_rate is not None and dict(tiers) == base_rate_tiers(base_rate):
            text += {
                "high": f": at least twice the base rate ({base_rate:.1%}), or 50% or more",
                "medium": f": at or above the base rate ({base_rate:.1%})",
                "low": f": below the base rate ({base_rate:.1%})",
            }.get(name, "")
        out[name] = text
        upper = threshold
    return out


def _tiers(prob: np.ndarray, tiers: Mapping[str, float]) -> np.ndarray:
    """Tier name per row: the highest tier whose minimum probability the row reaches."""
    out = np.empty(prob.size, dtype=object)
    items = sorted(checked_tiers(tiers).items(), key=lambda item: item[1])
    out[:] = items[0][0]
    for name, threshold in items[1:]:
        out[prob >= threshold] = name
    return out


#: Why a list of an event log of use has no value columns (what the list records with it).
NO_VALUE_NOTE = (
    "no value per customer is known (an event log of use), so the list ranks by churn "
    "probability alone"
)


def list_kind(frame: Any) -> str:
    """The business kind of scores or a list: ``attrs["business"]``, else from the columns.

    Without the attribute: ``expected_spend`` and no ``mrr`` is purchases, a list with
    neither ``mrr`` nor ``revenue_at_risk`` (nor ``expected_spend``) is usage, anything
    else subscription.
    """
    kind = getattr(frame, "attrs", {}).get("business")
    if kind in BUSINESS_KINDS:
        return str(kind)
    columns = set(frame.columns)
    if "expected_spend" in columns and "mrr" not in columns:
        return "purchases"
    if "rank" in columns and not columns & {"mrr", "expected_spend", "revenue_at_risk"}:
        return "usage"
    return "subscription"


def _value_column(scores: Any) -> str | None:
    """The column revenue at risk comes from: ``mrr``, ``expected_spend``, or None (usage
    data with no value known)."""
    kind = list_kind(scores)
    if kind == "purchases":
        return "expected_spend"
    if kind == "usage" and "mrr" not in scores.columns:
        return None
    return "mrr"


def _is_purchases(frame: Any) -> bool:
    """Scores (or a list) of purchase data: their value is ``expected_spend``."""
    return _value_column(frame) == "expected_spend"


def value_if_retained(scores: Any, horizon: Any = "28D") -> Any:
    """What each scored customer is worth over the horizon if they stay.

    * subscriptions (scores with ``mrr``): ``mrr x months``, ``months = horizon days /
      (365.25 / 12)``;
    * purchases (scores with ``expected_spend`` and no ``mrr``): ``expected_spend``, the spend
      expected over the horizon (see :func:`churnpredict.features.expected_spend`).

    ``revenue_at_risk = churn_probability x value_if_retained``, and a save in the profit view
    (:func:`churnpredict._evaluate.profit_curve_from_scores`) is worth it.

    Parameters
    ----------
    scores : pandas.DataFrame (or a dask DataFrame)
        ``ChurnPipeline.score`` output.
    horizon : duration, default "28D"

    Returns
    -------
    pandas.Series
        Float, NaN where unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> value_if_retained(pd.DataFrame({"mrr": [30.0]}), "30D").round(2).tolist()
    [29.57]
    >>> value_if_retained(pd.DataFrame({"expected_spend": [120.0]}), "90D").tolist()
    [120.0]
    """
    if _is_purchases(scores):
        return scores["expected_spend"].astype(np.float64)
    if "mrr" not in scores.columns:
        raise ChurnDataError(
            "scores lacks column(s) ['mrr']; pass the ChurnPipeline.score output (mrr may be "
            "NaN when unknown; purchase data has expected_spend instead)"
        )
    months = horizon_months(horizon)
    return scores["mrr"].astype(np.float64) * months


def revenue_at_risk(scores: Any, horizon: Any = "28D") -> Any:
    """Revenue at risk of each scored customer: ``churn_probability x value_if_retained``.

    Parameters
    ----------
    scores : pandas.DataFrame (or a dask DataFrame)
        ``ChurnPipeline.score`` output: ``churn_probability`` and ``mrr`` (or, for purchase
        data, ``expected_spend``).
    horizon : duration, default "28D"

    Returns
    -------
    pandas.Series
        Float, NaN where the value is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"churn_probability": [0.5], "mrr": [30.0]})
    >>> revenue_at_risk(scores, "30D").round(2).tolist()
    [14.78]
    """
    prob = scores["churn_probability"].astype(np.float64)
    if _is_purchases(scores):
        return prob * value_if_retained(scores, horizon)
    value_if_retained(scores, horizon)  # the check that scores have mrr
    months = horizon_months(horizon)
    # (probability x MRR) x months: the order the list has always used, so files stay
    # byte-identical for the same scores
    return prob * scores["mrr"].astype(np.float64) * months


def rank_columns(rank_by: str) -> tuple[str, str]:
    """The at-risk list's sort columns for ``rank_by``: primary, then secondary.

    Both descending (missing values last), then ``customer_id`` ascending. Probabilities
    are compared to :data:`PROBABILITY_DIGITS` decimals (0.1 point, as the list shows
    them): customers tied there are ordered by revenue at risk.

    Parameters
    ----------
    rank_by : {"probability", "revenue"}

    Returns
    -------
    (str, str)

    Examples
    --------
    >>> rank_columns("revenue")
    ('revenue_at_risk', 'churn_probability')
    """
    if rank_by == "revenue":
        return "revenue_at_risk", "churn_probability"
    if rank_by == "probability":
        return "churn_probability", "revenue_at_risk"
    raise ListOptionError("rank_by", f"rank_by={rank_by!r}; expected 'probability' or 'revenue'")


def ranking_key(scores: Any, horizon: Any = "28D", rank_by: str = "probability") -> Any:
    """The primary ranking key of each scored customer, missing as ``-inf`` (ranked last).

    The at-risk list's first rows are those with the largest keys (ties: see
    :func:`rank_columns`), so the rows whose key reaches the ``top``-th largest are the only
    candidates for a top-``top`` list.

    Parameters
    ----------
    scores : pandas.DataFrame (or a dask DataFrame)
        ``ChurnPipeline.score`` output.
    horizon : duration, default "28D"
    rank_by : {"probability", "revenue"}

    Returns
    -------
    pandas.Series
        Float.
    """
    primary, _ = rank_columns(rank_by)
    key = (
        revenue_at_risk(scores, horizon)
        if primary == "revenue_at_risk"
        else scores["churn_probability"].astype(np.float64).round(PROBABILITY_DIGITS)
    )
    return key.fillna(-np.inf)


def at_risk_list(
    scores: pd.DataFrame,
    *,
    horizon: Any = None,
    rank_by: str = "probability",
    top: int | None = None,
    min_probability: float | None = None,
    tiers: Mapping[str, float] | None = None,
    actions: Mapping[str, str] | None = None,
    customers: pd.DataFrame | None = None,
    extra_columns: Sequence[str] = (),
    status: str | Sequence[str] | None = "all",
    holdout: float | None = None,
    random_state: int | None = None,
    options: ListOptions | None = None,
) -> pd.DataFrame:
    """Ranked list of the customers most likely to churn, with revenue at risk and actions.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per customer, indexed by ``customer_id`` (or with that column), holding
        ``churn_probability`` and ``mrr`` (NaN when unknown), or for purchase data
        ``expected_spend`` instead of ``mrr``, and optionally ``status``, ``reason_1..3``
        and ``reason_group_1..3``: the output of ``ChurnPipeline.score``.
    horizon : duration, optional
        The prediction horizon; ``revenue_at_risk = churn_probability * mrr * months`` with
        ``months = horizon days / (365.25 / 12)``, or for purchase data
        ``churn_probability * expected_spend`` (the spend expected over the horizon if the
        customer stays); see :func:`value_if_retained`. By default the horizon the scores
        were made for (``scores.attrs["horizon"]``, set by ``ChurnPipeline.score``), else 28
        days. A horizon that contradicts ``scores.attrs["horizon"]`` is an error: the
        probabilities are for the model's horizon only.
    rank_by : {"probability", "revenue"}, default "probability"
        Order by churn probability (to 0.1 point, as shown; ties: higher revenue at risk
        first) or by revenue at risk (unknown revenue last; ties: higher probability
        first). Remaining ties go by customer id.
    top : int, optional
        Keep only the first ``top`` customers after ranking.
    min_probability : float, optional
        Keep only customers with ``churn_probability >= min_probability``.
    tiers : dict of str -> float, optional
        Tier name -> minimum churn probability; a customer gets the highest tier whose
        threshold it reaches, and a ``"low"`` tier at 0 is added when no threshold is 0
        (customers at 50% or more are never ``"low"``). By default the tiers compare the
        probability with the base rate, the mean probability of everyone scored
        (:func:`base_rate_tiers`, :func:`list_base_rate`): ``"high"`` from twice the base
        rate (and from 50% in any case), ``"medium"`` from the base rate, ``"low"`` below
        it. Tiers are assigned before ``top`` and ``min_probability`` filter the list;
        ``attrs["tiers"]`` and ``attrs["base_rate"]`` record them.
    actions : dict, optional
        Overrides of the suggested actions (:func:`churnpredict._actions.action_table`):
        ``{group: action}`` for every status, ``{status: {group: action}}`` for one. The
        action follows the first reason's driver group and the customer's status:
        onboarding help for new customers, a win-back offer only for lapsed ones, billing
        help for payment failures, a service call for ticket trouble.
    customers : pandas.DataFrame, optional
        Customer attributes indexed by ``customer_id`` (or with that column), the source of
        ``extra_columns`` not found in ``scores``.
    extra_columns : sequence of str, default ()
        Columns to carry into the list (e.g. ``"plan"``, ``"account_manager"``), appended
        after the standard columns.
    status : {"all", "active", "lapsed", "new"} or list of them, default "all"
        Keep only customers with these statuses (needs a ``status`` column in ``scores``):
        "active" is the retention list, "lapsed" the win-back list. Like ``top``, applied
        after the tiers are assigned.
    holdout : float, optional
        Share of the list to keep out of the campaign as a control group, in ``(0, 1)``:
        adds a column ``group`` (``"treatment"`` / ``"control"``, after
        ``suggested_action``). Customers are drawn at random within each risk tier
        (stratified): each tier of ``n`` listed customers gets ``round(holdout * n)``
        controls, so the control share is the same in every tier (within one customer) and
        a campaign readout (:func:`churnpredict._campaign.campaign_readout`) compares like
        with like.
    random_state : int, optional
        Seed of the holdout draw: the same scores, options and seed give the same groups.
        Without one a seed is drawn; either way it is kept in ``attrs["holdout_seed"]``
        (and in the written file) so the draw can be repeated.
    options : ListOptions, optional
        All of ``rank_by``, ``top``, ``min_probability``, ``tiers``, ``actions``,
        ``extra_columns``, ``status``, ``holdout`` and ``random_state`` as one checked
        object, instead of the keywords (which must then be left at their defaults).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AT_RISK_COLUMNS` (``rank, customer_id, churn_probability, risk_tier,
        mrr, revenue_at_risk, reason_1..3, reason_group_1..3, suggested_action, status``;
        purchase data: :data:`PURCHASE_AT_RISK_COLUMNS`, ``expected_spend`` for ``mrr``),
        then the extra columns; ``rank`` starts at 1. ``suggested_action`` comes from the top
        reason's group (empty when a customer has no reason); ``status`` is empty when the
        scores have none. ``attrs`` hold the ``horizon`` used (e.g. ``"28D"``) and, when
        ``scores.attrs`` has them, ``as_of`` and ``model_id``; :func:`write_at_risk` keeps
        them in the file. With a holdout, also ``holdout_share`` and ``holdout_seed``.

    Raises
    ------
    ChurnDataError
        When ``scores`` lacks a needed column, repeats customers or holds probabilities
        outside [0, 1], an extra column is found nowhere, or ``horizon`` contradicts
        ``scores.attrs["horizon"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame(
    ...     {"churn_probability": [0.2, 0.7, 0.05, 0.4], "mrr": [50.0, 100.0, 80.0, None]},
    ...     index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    >>> at_risk_list(scores)[["rank", "customer_id", "risk_tier", "revenue_at_risk"]].round(2)
       rank customer_id risk_tier  revenue_at_risk
    0     1           b      high            64.39
    1     2           d    medium              NaN
    2     3           a       low             9.20
    3     4           c       low             3.68
    """
    if not isinstance(scores, pd.DataFrame):
        raise ChurnDataError(
            f"scores must be a DataFrame (ChurnPipeline.score output), got {type(scores).__name__}"
        )
    opts = options_or_keywords(
        options,
        rank_by=rank_by,
        top=top,
        min_probability=min_probability,
        tiers=tiers,
        actions=actions,
        extra_columns=extra_columns,
        status=status,
        holdout=holdout,
        random_state=random_state,
    )
    listed = _validated(scores, opts, horizon)
    frame = _tiered(scores, listed, opts, customers)
    out = _ranked(frame, listed, opts)
    out.attrs = _list_attrs(scores, listed, opts, out.attrs)
    return _with_holdout(out, opts, listed.seed)


class _Listed(NamedTuple):
    """The checked inputs of a list (:func:`_validated`)."""

    ids: pd.Series  # customer ids, one per score row
    prob: np.ndarray  # churn probabilities in [0, 1]
    value_column: str | None  # "mrr", "expected_spend", or None (no value per customer)
    window: pd.Timedelta  # the horizon
    seed: int | None  # of the holdout draw (None: no holdout)


def _validated(scores: pd.DataFrame, opts: ListOptions, horizon: Any) -> _Listed:
    """Step 1, validate: the columns the options need, reasons with their groups, the
    horizon against the scores' own and probabilities in [0, 1]; ChurnDataError naming the
    fix (ListOptionError for ``rank_by='revenue'`` without a value per customer)."""
    value_column = _value_column(scores)
    missing = [c for c in ("churn_probability", value_column) if c and c not in scores.columns]
    if value_column is None and opts.rank_by == "revenue":
        raise ListOptionError(
            "rank_by", f"rank_by='revenue' needs a value per customer, but {NO_VALUE_NOTE}"
        )
    if missing:
        raise ChurnDataError(
            f"scores lacks column(s) {missing}; pass the ChurnPipeline.score output (mrr may "
            f"be NaN when unknown)"
        )
    if opts.statuses is not None and "status" not in scores.columns:
        status = opts.status if len(opts.status) != 1 else opts.status[0]
        raise ChurnDataError(
            f"scores has no status column, so status={status!r} cannot filter it; score with "
            f"ChurnPipeline.score, or pass status='all'"
        )
    _check_reason_pairs(scores)
    seed = _holdout_seed(opts)
    window = _list_horizon(scores, horizon)
    prob = pd.to_numeric(scores["churn_probability"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = ~((prob >= 0.0) & (prob <= 1.0))
    if bad.any():
        ids = _customer_ids(scores)
        raise ChurnDataError(
            f"scores: column churn_probability holds {int(bad.sum())} value(s) outside [0, 1] "
            f"or missing, e.g. customers {ids[bad].head(5).tolist()} with "
            f"{scores['churn_probability'][bad].head(5).tolist()}; pass calibrated "
            f"probabilities"
        )
    return _Listed(_customer_ids(scores), prob, value_column, window, seed)


def _check_reason_pairs(scores: pd.DataFrame) -> None:
    """Each ``reason_k`` comes with its ``reason_group_k`` (or neither is there)."""
    for k in range(1, N_REASONS + 1):
        pair = [f"reason_{k}", f"reason_group_{k}"]
        present = [c for c in pair if c in scores.columns]
        if len(present) == 1:
            absent = next(c for c in pair if c not in scores.columns)
            raise ChurnDataError(
                f"scores has {present[0]} but lacks {absent}; keep reasons and their groups "
                f"together (score with explain=True)"
            )


def _text(scores: pd.DataFrame, column: str) -> np.ndarray:
    """A column of the scores as text, "" where missing or absent."""
    if column not in scores.columns:
        return np.full(len(scores), "", dtype=object)
    col = scores[column]
    return col.astype(object).where(col.notna(), "").to_numpy(dtype=object)


def _tiered(
    scores: pd.DataFrame,
    listed: _Listed,
    opts: ListOptions,
    customers: pd.DataFrame | None,
) -> pd.DataFrame:
    """Step 2, tier: every scored customer's row, in score order, with risk tier, value and
    revenue at risk, reasons, suggested action, status and the extra columns.

    The tiers are those of the options, else :func:`base_rate_tiers` of the scores' base
    rate; they are assigned before any filter. ``attrs`` hold the tiers and base rate.
    """
    prob, value_column = listed.prob, listed.value_column
    base_rate = list_base_rate(prob.mean() if prob.size else np.nan, prob.size, scores.attrs)
    tiers = opts.tiers if opts.tiers is not None else base_rate_tiers(base_rate)
    columns: dict[str, Any] = {
        "customer_id": listed.ids,
        "churn_probability": prob,
        "risk_tier": _tiers(prob, tiers),
    }
    if value_column is not None:
        value = pd.to_numeric(scores[value_column], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        revenue = revenue_at_risk(
            pd.DataFrame({"churn_probability": prob, value_column: value}), listed.window
        ).to_numpy(dtype=np.float64)
        columns.update({value_column: value, "revenue_at_risk": revenue})
    for name in ("reason", "reason_group"):
        for k in range(1, N_REASONS + 1):
            columns[f"{name}_{k}"] = _text(scores, f"{name}_{k}")
    status_text = _text(scores, "status")  # "" when the scores have no status
    columns["suggested_action"] = suggested_actions(
        columns["reason_group_1"], status_text, kind=list_kind(scores), actions=opts.actions
    )
    columns["status"] = status_text
    extras = _extra_columns(scores, listed.ids, customers, opts.extra_columns)
    frame = pd.DataFrame(columns)
    for name, values in extras.items():
        frame[name] = values
    frame.attrs = {"tiers": dict(checked_tiers(tiers)), "base_rate": base_rate}
    return frame


def _ranked(frame: pd.DataFrame, listed: _Listed, opts: ListOptions) -> pd.DataFrame:
    """Step 3, rank: the rows kept (``min_probability``, ``status``) in list order, cut at
    ``top``, with ``rank`` from 1.

    Order: the primary key of ``rank_by`` descending, the secondary descending (missing
    last), then customer id ascending (input order for ids of mixed types).
    """
    prob, ids = listed.prob, listed.ids
    keep = np.ones(len(frame), dtype=bool)
    if opts.min_probability is not None:
        keep &= prob >= opts.min_probability
    if opts.statuses is not None:
        keep &= np.isin(frame["status"].to_numpy(dtype=object), list(opts.statuses))
    revenue = (
        frame["revenue_at_risk"].to_numpy(dtype=np.float64)
        if listed.value_column is not None
        else np.full(len(prob), np.nan)
    )
    keys = {"churn_probability": np.round(prob, PROBABILITY_DIGITS), "revenue_at_risk": revenue}
    primary, secondary = (keys[name] for name in rank_columns(opts.rank_by))
    try:
        id_order, _ = pd.factorize(ids, sort=True)
    except TypeError:  # ids of mixed types: keep their input order
        id_order = np.arange(len(ids))
    order = np.lexsort(
        (id_order, np.nan_to_num(-secondary, nan=np.inf), np.nan_to_num(-primary, nan=np.inf))
    )
    order = order[keep[order]]
    if opts.top is not None:
        order = order[: opts.top]
    out = frame.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    out.attrs = dict(frame.attrs)
    return out


def _list_attrs(
    scores: pd.DataFrame, listed: _Listed, opts: ListOptions, tiered: Mapping[str, Any]
) -> dict[str, Any]:
    """What the list records of itself: horizon, the scores' as-of, model and data
    settings, the note of a list without values, the tiers and base rate (``tiered``, of
    :func:`_tiered`) and the action overrides."""
    return {
        "horizon": horizon_text(listed.window),
        **{
            key: str(scores.attrs[key])
            for key in ("as_of", "model_id", "label", "lookback", "business", "currency")
            if scores.attrs.get(key) is not None
        },
        **({"note": NO_VALUE_NOTE} if listed.value_column is None else {}),
        "tiers": tiered["tiers"],
        "base_rate": tiered["base_rate"],
        **({"actions": check_actions(opts.actions)} if opts.actions else {}),
    }


def _with_holdout(out: pd.DataFrame, opts: ListOptions, seed: int | None) -> pd.DataFrame:
    """Step 4, holdout: a ``group`` column of treatment and control, drawn per risk tier
    (:func:`_holdout_groups`), and the share and seed in ``attrs``; the list as it is without
    a holdout."""
    if seed is not None:
        out["group"] = _holdout_groups(out["risk_tier"].to_numpy(dtype=object), opts.holdout, seed)
        out.attrs.update({"holdout_share": opts.holdout, "holdout_seed": seed})
    return out


def _holdout_seed(options: ListOptions) -> int | None:
    """The seed to draw the holdout with (None without a holdout); drawn when not given."""
    if options.holdout is None:
        return None
    if options.random_state is None:
        return int(np.random.SeedSequence().entropy % (2**32))
    return options.random_state


def _holdout_groups(tier: np.ndarray, share: float, seed: int) -> np.ndarray:
    """``treatment`` / ``control`` per row: ``round(share * n)`` random controls per tier."""
    rng = np.random.default_rng(seed)
    key = rng.random(tier.size)
    codes, _ = pd.factorize(pd.Series(tier, dtype=object).fillna(""))
    # position of each row within its tier, in random order: controls are the first ones
    order = np.lexsort((key, codes))
    sizes = np.bincount(codes, minlength=codes.max() + 1 if codes.size else 0)
    starts = np.r_[0, np.cumsum(sizes)[:-1]] if sizes.size else sizes
    position = np.empty(tier.size, dtype=np.int64)
    position[order] = np.arange(tier.size) - np.repeat(starts, sizes)
    n_control = np.floor(share * sizes + 0.5).astype(np.int64)
    control = position < n_control[codes] if codes.size else np.zeros(0, dtype=bool)
    return np.where(control, "control", "treatment").astype(object)


def _list_horizon(scores: pd.DataFrame, horizon: Any) -> pd.Timedelta:
    """The horizon of the list: the given one, checked against the scores' own, or theirs."""
    known = scores.attrs.get("horizon")
    if known is not None:
        try:
            known = parse_window(known)
        except ValueError:
            raise ChurnDataError(
                f"scores.attrs['horizon'] = {known!r} is not a duration; set it to the "
                f"model's horizon (e.g. '28D') or clear it"
            ) from None
    if horizon is None:
        return known if known is not None else pd.Timedelta(days=28)
    window = parse_window(horizon)
    if known is not None and window != known:
        raise ChurnDataError(
            f"horizon={horizon!r} contradicts the scores, which were made for a "
            f"{horizon_text(known)} horizon (scores.attrs['horizon']); leave horizon out "
            f"or score with a model of that horizon"
        )
    return window


def _extra_columns(
    scores: pd.DataFrame,
    ids: pd.Series,
    customers: pd.DataFrame | None,
    extra_columns: Sequence[str],
) -> dict[str, np.ndarray]:
    """The extra columns' values per score row: from ``scores``, else from ``customers``."""
    if isinstance(extra_columns, str):
        extra_columns = [extra_columns]
    clash = [c for c in extra_columns if c in AT_RISK_COLUMNS or c in PURCHASE_AT_RISK_COLUMNS]
    if clash:
        raise ChurnDataError(
            f"extra_columns {clash} clash with the list's own columns; rename them"
        )
    table = None if customers is None else _customer_table(customers)
    out: dict[str, Any] = {}
    for name in extra_columns:
        if name in scores.columns:
            out[name] = scores[name].to_numpy()
        elif table is not None and name in table.columns:
            out[name] = table[name].reindex(pd.Index(ids)).to_numpy()
        else:
            where = "scores" + (" or customers" if table is not None else "")
            raise ChurnDataError(
                f"extra column {name!r} is in neither {where}; pass customers=... holding it "
                f"or drop it from extra_columns"
            )
    return out


def _customer_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Customer attributes indexed by ``customer_id`` alone, one row per customer."""
    table = customers
    if "customer_id" in customers.columns:
        table = customers.set_index("customer_id")
    elif "customer_id" not in (customers.index.names or []) and customers.index.name is None:
        raise ChurnDataError("customers: no customer_id column or index; index it by customer_id")
    if table.index.nlevels > 1:
        table = table.reset_index([n for n in table.index.names if n != "customer_id"], drop=True)
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()].unique()[:5].tolist()
        raise ChurnDataError(
            f"customers: customer_id repeats, e.g. {dup}; keep one row per customer"
        )
    return table


def list_legend(
    frame: pd.DataFrame, actions: Mapping[str, Any] | None = None, currency: str | None = None
) -> pd.DataFrame:
    """What a list's columns mean: driver groups and their actions by status, the risk
    tiers, amounts and the order (the ``legend`` sheet of an Excel list).

    Parameters
    ----------
    frame : pandas.DataFrame
        An :func:`at_risk_list` output (its ``attrs`` give the tiers and the base rate).
    actions : dict, optional
        The action overrides the list was made with (default ``frame.attrs["actions"]``).
    currency : str, optional
        The amounts' currency symbol (default ``frame.attrs["currency"]``).

    Returns
    -------
    pandas.DataFrame
        Columns ``topic``, ``name``, ``meaning`` and one ``action_<status>`` per status in
        the list.
    """
    kind = list_kind(frame)
    meanings = group_meanings(kind)
    if actions is None:
        actions = frame.attrs.get("actions")
    table = action_table(kind, actions)
    seen = [s for s in STATUSES if "status" in frame and (frame["status"] == s).any()]
    statuses = seen or list(STATUSES)
    rows = [
        {
            "topic": "driver group",
            "name": group,
            "meaning": meanings.get(group, ""),
            **{f"action_{s}": table.loc[group, s] for s in statuses},
        }
        for group in table.index
    ]
    tiers = frame.attrs.get("tiers")
    if tiers:
        for name, text in tier_meanings(tiers, frame.attrs.get("base_rate")).items():
            rows.append({"topic": "risk tier", "name": name, "meaning": text})
    symbol = currency if currency is not None else frame.attrs.get("currency", "")
    value = _value_column(frame)
    if value is not None:
        rows.append(
            {
                "topic": "amounts",
                "name": f"{value}, revenue_at_risk",
                "meaning": f"in {symbol}"
                if symbol
                else "no currency configured: amounts are in the data's own currency (set "
                "currency in the config)",
            }
        )
    rows.append(
        {
            "topic": "order",
            "name": "rank",
            "meaning": "by churn probability; equal probabilities (to 0.1 point) by revenue at risk"
            if value is not None
            else f"by churn probability: {NO_VALUE_NOTE}",
        }
    )
    return pd.DataFrame(rows).fillna("")


#: Background colour of each risk tier in the Excel list.
TIER_COLORS: dict[str, str] = {"high": "F4CCCC", "medium": "FCE5CD", "low": "D9EAD3"}


def write_at_risk(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    *,
    legend: bool = True,
    actions: Mapping[str, Any] | None = None,
    currency: str | None = None,
) -> Path:
    """Write an at-risk list to CSV, Parquet or Excel (by suffix), atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        The output of :func:`at_risk_list`.
    path : path-like
        Destination ending in ``.csv``, ``.parquet`` (or ``.pq``) or ``.xlsx``.
    legend : bool, default True
        Excel only: add a sheet ``legend`` (:func:`list_legend`: each driver group, what it
        means and its suggested action per status; how the risk tiers are made; the
        amounts' currency; the order) next to the sheet ``at_risk``.
    actions : dict, optional
        The action overrides of the list, for the legend (default: those it was made with,
        ``frame.attrs["actions"]``).
    currency : str, optional
        Symbol of the amounts (Excel number formats, the legend, the file's metadata);
        default ``frame.attrs["currency"]`` (the pipeline's ``currency``), else none.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ChurnDataError
        For an unsupported suffix or a frame lacking the list's columns; nothing is written.

    Notes
    -----
    The file appears only when complete (temporary file, then rename); on any error an
    existing file is left untouched. It goes through :func:`churnpredict._outputs.write_frame`:
    in CSV and Excel, text cells that a spreadsheet would run as a formula (starting with
    ``=``, ``+``, ``-``, ``@``, tab or carriage return, also after leading spaces) get a
    leading apostrophe, CSV fields holding a comma, quote, CR or LF are quoted, and Excel
    cells lose the control characters the format cannot hold; an Excel cell over 32,767
    characters is refused before anything is written. In Excel the probability shows as a
    percentage, amounts with thousands separators (and ``currency``), the header is frozen
    with filters, and rows are coloured by risk tier (:data:`TIER_COLORS`). The list's
    ``attrs`` (``as_of``, ``horizon``, ``model_id``; with a holdout ``holdout_share`` and
    ``holdout_seed``; the churn ``label`` and ``lookback`` when known), its row count, the
    churnpredict version and the creation time are kept with the file: Parquet key-value
    metadata, Excel document properties, or
    for CSV a sidecar ``<name>.manifest.json`` (see :func:`churnpredict._outputs.manifest_path`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    _check_list_frame(frame, path, suffix)
    if currency is None:
        currency = str(frame.attrs.get("currency") or "")
    sheets = (
        {"legend": list_legend(frame, actions, currency)} if legend and suffix == ".xlsx" else None
    )
    symbol = str(currency or "").replace('"', "")
    amount = f'"{symbol}"#,##0.00' if symbol else "#,##0.00"
    formats = {
        "at_risk": {
            "churn_probability": "0.0%",
            "mrr": amount,
            "expected_spend": amount,
            "revenue_at_risk": amount,
        }
    }
    fills = {"at_risk": {"risk_tier": TIER_COLORS}}
    return write_frame(
        frame,
        path,
        sheet_name="at_risk",
        sheets=sheets,
        metadata=_list_metadata(frame, currency),
        excel_formats=formats,
        excel_fills=fills,
    )


def _check_list_frame(frame: Any, path: Path, suffix: str) -> None:
    """A supported output suffix and a list frame with its kind's columns, before writing."""
    if suffix not in OUTPUT_SUFFIXES:
        raise ChurnDataError(
            f"{path}: unsupported output type {suffix or '(none)'!r}; use .csv, .parquet or .xlsx"
        )
    if not isinstance(frame, pd.DataFrame):
        raise ChurnDataError(
            f"frame must be a DataFrame from at_risk_list, got {type(frame).__name__}"
        )
    required = {
        "mrr": AT_RISK_COLUMNS,
        "expected_spend": PURCHASE_AT_RISK_COLUMNS,
        None: USAGE_AT_RISK_COLUMNS,
    }[_value_column(frame)]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ChurnDataError(
            f"frame lacks column(s) {missing}; build it with at_risk_list(scores, ...)"
        )


def _list_metadata(frame: pd.DataFrame, currency: str) -> dict[str, Any]:
    """What the written file keeps of the list: its ``attrs``, currency and tiers in words."""
    metadata = {
        "title": "churnpredict at-risk list",
        **{key: frame.attrs.get(key) for key in ("as_of", "horizon", "model_id")},
        **{
            key: frame.attrs[key]
            for key in ("label", "lookback", "business", "note", "holdout_share", "holdout_seed")
            if frame.attrs.get(key) is not None
        },
        "currency": currency or None,
    }
    if frame.attrs.get("tiers"):
        meanings = tier_meanings(frame.attrs["tiers"], frame.attrs.get("base_rate"))
        metadata["risk_tiers"] = "; ".join(f"{k}: {v}" for k, v in meanings.items())
    return metadata
