"""Campaign readouts: what a past at-risk list's campaign saved, measured against its holdout.

A list scored with a holdout (``at_risk_list(..., holdout=0.2, random_state=11)`` or
``churnpredict score ... --holdout 0.2 --seed 11``) splits every risk tier at random into a
``treatment`` group (contacted) and a ``control`` group (left alone). Once the list's horizon
is over, :func:`campaign_readout` looks up who churned in ``(list as-of, list as-of +
horizon]`` with the same churn definition as training (:func:`churnpredict._labels.label_churn`)
and compares the groups.

Retention lift and its interval
-------------------------------
``retention_lift = churn_rate_control - churn_rate_treatment``: the share of treated customers
the campaign kept (positive when it worked). Its 95% interval is Newcombe's hybrid score
interval for a difference of two independent proportions (Newcombe 1998, *Statistics in
Medicine* 17:873-890, method 10): with Wilson score intervals ``(l1, u1)`` of the control
rate ``p1`` and ``(l2, u2)`` of the treatment rate ``p2``,

    low  = (p1 - p2) - sqrt((p1 - l1)^2 + (u2 - p2)^2)
    high = (p1 - p2) + sqrt((u1 - p1)^2 + (p2 - l2)^2)

It keeps close to its nominal coverage with small groups and rates near 0 or 1, where the
textbook Wald interval does not (Newcombe's comparison of eleven methods), and needs no
resampling, so a readout is exact and repeatable.

Since the holdout has the same share in every tier, the pooled comparison is a fair one; each
tier is also read out on its own.

Savings
-------
``customers_saved = retention_lift x treated customers``. ``revenue_saved`` takes the list's
``revenue_at_risk`` (probability x MRR x horizon months) of the treated customers, the revenue
expected to leave without the campaign, and multiplies it by the relative reduction of churn
the campaign achieved, ``retention_lift / churn_rate_control``. Both come with the interval
of the lift carried through (``*_low``, ``*_high``).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnDataError, DataQualityWarning
from ._kinds import GROUPS, LABEL_KINDS
from ._lists import read_list
from ._windows import TIME_RANGE, horizon_text, parse_window, to_naive_utc

__all__ = [
    "MIN_GROUP",
    "TOO_FEW",
    "campaign_readout",
    "date_text",
    "newcombe_interval",
    "saved_text",
    "read_list",
    "readout_frame",
    "wilson_interval",
    "write_campaign",
    "CAMPAIGN_PLOTS",
]

#: Plots written by :func:`write_campaign`: file stem -> caption.
CAMPAIGN_PLOTS: dict[str, str] = {
    "campaign_rates": "Churn rate of treated and control customers, per risk tier "
    "(bars: 95% Wilson intervals; none where a group has fewer than 30 customers)",
    "campaign_lift": "Retention lift (control minus treatment churn rate) with its 95% "
    "Newcombe interval (none where a group has fewer than 30 customers)",
}

_METHOD = (
    "Newcombe hybrid score interval (Newcombe 1998, method 10) from Wilson score "
    "intervals of each group's churn rate"
)


# ---------------------------------------------------------------------------- intervals
def _z(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level={level!r}; expected a confidence level between 0 and 1")
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2.0))


def wilson_interval(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``x / n`` (no continuity correction).

    Parameters
    ----------
    x : int
        Successes (here: churners), ``0 <= x <= n``.
    n : int
        Trials (customers), ``n >= 1``.
    level : float, default 0.95

    Returns
    -------
    (float, float)

    Examples
    --------
    Newcombe (1998), "Two-sided confidence intervals for the single proportion":

    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    >>> [round(v, 4) for v in wilson_interval(0, 20)]
    [0.0, 0.1611]
    """
    if n < 1 or not 0 <= x <= n:
        raise ValueError(f"x={x!r}, n={n!r}; expected 0 <= x <= n and n >= 1")
    z = _z(level)
    p = x / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at x = 0 (x = n) the lower (upper) limit is exactly 0 (1); rounding would leave a hair
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return low, high


def newcombe_interval(
    x1: int, n1: int, x2: int, n2: int, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of the difference ``x1/n1 - x2/n2``.

    Parameters
    ----------
    x1, n1 : int
        Successes and trials of the first group (here: the control group).
    x2, n2 : int
        Of the second group (the treatment group).
    level : float, default 0.95

    Returns
    -------
    (float, float)
        Lower and upper limits, within ``[-1, 1]``.

    Examples
    --------
    Newcombe (1998), "Interval estimation for the difference between independent
    proportions", Table II, method 10:

    >>> [round(v, 4) for v in newcombe_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    >>> [round(v, 4) for v in newcombe_interval(9, 10, 3, 10)]
    [0.1705, 0.809]
    """
    l1, u1 = wilson_interval(x1, n1, level)
    l2, u2 = wilson_interval(x2, n2, level)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


# ---------------------------------------------------------------------------- readout
#: Fewest customers in each group of a segment for its interval to be shown; below it the
#: segment reads "too few to tell" (the interval's coverage is no longer what it says).
MIN_GROUP = 30
TOO_FEW = "too few to tell"


def date_text(stamp: Any) -> str:
    """A time as a date (``2011-09-10``), with its time of day only when it has one.

    Examples
    --------
    >>> date_text(pd.Timestamp("2011-09-10")), date_text(pd.Timestamp("2011-09-10 14:30"))
    ('2011-09-10', '2011-09-10 14:30')
    """
    stamp = pd.Timestamp(stamp)
    if stamp == stamp.normalize():
        return f"{stamp:%Y-%m-%d}"
    return f"{stamp:%Y-%m-%d %H:%M:%S}" if stamp.second else f"{stamp:%Y-%m-%d %H:%M}"


def _stored(attrs: Mapping[str, Any], key: str, parse: Any, what: str) -> Any:
    """What the list records under ``key``, parsed (None when nothing is recorded)."""
    stored = attrs.get(key)
    try:
        return None if stored in (None, "", "None") else parse(stored)
    except (TypeError, ValueError, OverflowError):
        raise ChurnDataError(
            f"the list's metadata records {key} = {stored!r}, which is not a usable {what}; "
            f"the manifest is damaged: restore it"
        ) from None


def _known(
    attrs: Mapping[str, Any],
    key: str,
    given: Any,
    parse: Any,
    what: str,
    option: str,
    override: bool,
) -> tuple[Any, str]:
    """A list setting and where it comes from: the list's, or the given one (when the list
    records none, or with ``override``); a given one contradicting the list is refused."""
    stored = _stored(attrs, key, parse, what)
    if given is None:
        if stored is None:
            raise ChurnDataError(
                f"the list does not record its {what} (no manifest or metadata: a list written "
                f"without churnpredict, or a CSV whose .manifest.json was lost); pass {option}"
            )
        return stored, "list"
    try:
        value = parse(given)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ChurnDataError(f"{option} {given!r} is not a usable {what} ({exc})") from None
    if stored is None:
        return value, "given"
    if value == stored:
        return value, "list"
    if not override:
        raise ChurnDataError(
            f"{option} {given} contradicts the list, which records {what} {attrs.get(key)}; "
            f"leave {option} out, or pass --override-list-dates (override=True) to read out "
            f"with yours (the readout says so)"
        )
    return value, f"overridden (the list records {attrs.get(key)})"


def _holdout(attrs: Mapping[str, Any]) -> tuple[float | None, int | None]:
    """The holdout share and seed the list records, checked."""

    def share(value: Any) -> float:
        out = float(value)
        if not 0 < out < 1:
            raise ValueError("not a share")
        return out

    def seed(value: Any) -> int:
        number = float(value) if not isinstance(value, int) else value
        if isinstance(value, bool) or number != int(number) or int(number) < 0:
            raise ValueError("not a seed")
        return int(number)

    return (
        _stored(attrs, "holdout_share", share, "holdout share (between 0 and 1)"),
        _stored(attrs, "holdout_seed", seed, "seed (a whole number >= 0)"),
    )


def _unescape_ids(ids: pd.Series, known: pd.Index) -> pd.Series:
    """List ids as text; a leading apostrophe the spreadsheet guard added is removed."""
    text = ids.astype(str)
    escaped = ~text.isin(known) & text.str.startswith("'")
    return text.where(~escaped, text.str[1:])


def _check_customers(ids: pd.Series, groups: np.ndarray) -> None:
    """Each customer once, so in one group: a readout counts customers, not rows."""
    repeated = ids.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    both = pd.Series(groups[repeated]).groupby(ids[repeated].to_numpy()).nunique()
    in_both = both.index[both > 1]
    detail = (
        f"{len(in_both):,} of them in both groups (e.g. {in_both[0]!r})"
        if len(in_both)
        else f"e.g. {ids[repeated].iloc[0]!r}"
    )
    raise ChurnDataError(
        f"the list holds {int(ids[repeated].nunique()):,} customers more than once ({detail}); "
        f"a readout counts each customer once, in one group: read out the list "
        f"'churnpredict score' wrote, unedited"
    )


def _figures(
    x_c: int, n_c: int, x_t: int, n_t: int, revenue_t: float, level: float
) -> dict[str, Any]:
    """Rates, lift, interval and savings of one comparison (None where undefined).

    With fewer than :data:`MIN_GROUP` customers in either group no interval is given
    (``too_few`` is True): the rates and the lift are shown, but no claim about them.
    """
    too_few = n_t < MIN_GROUP or n_c < MIN_GROUP
    out: dict[str, Any] = {
        "n_treatment": int(n_t),
        "n_control": int(n_c),
        "churned_treatment": int(x_t),
        "churned_control": int(x_c),
        "churn_rate_treatment": x_t / n_t if n_t else None,
        "churn_rate_control": x_c / n_c if n_c else None,
        "too_few": bool(too_few),
        "retention_lift": None,
        "ci_low": None,
        "ci_high": None,
        "customers_saved": None,
        "customers_saved_low": None,
        "customers_saved_high": None,
        "revenue_at_risk_treatment": float(revenue_t),
        "revenue_saved": None,
        "revenue_saved_low": None,
        "revenue_saved_high": None,
    }
    if not (n_t and n_c):
        return out
    lift = x_c / n_c - x_t / n_t
    out.update({"retention_lift": lift, "customers_saved": lift * n_t})
    scale = revenue_t / (x_c / n_c) if x_c else None
    if scale is not None:
        out["revenue_saved"] = lift * scale
    if too_few:
        return out
    low, high = newcombe_interval(x_c, n_c, x_t, n_t, level)
    out.update(
        {
            "ci_low": low,
            "ci_high": high,
            "customers_saved_low": low * n_t,
            "customers_saved_high": high * n_t,
        }
    )
    if scale is not None:
        out.update({"revenue_saved_low": low * scale, "revenue_saved_high": high * scale})
    return out


def saved_text(figures: Mapping[str, Any]) -> str:
    """The customers saved of a readout (or a tier) in words, its sign spelled out.

    Examples
    --------
    >>> saved_text({"customers_saved": -30.0, "churn_rate_control": 0.2, "n_treatment": 500,
    ...             "churned_treatment": 130})
    '30 more customers churned than the control rate predicts (100 expected, 130 churned)'
    >>> saved_text({"customers_saved": 2.5, "churn_rate_control": 0.5, "n_treatment": 7,
    ...             "churned_treatment": 1})
    '2.5 fewer customers churned than the control rate predicts (3.5 expected, 1 churned)'
    """
    saved = figures.get("customers_saved")
    if saved is None or figures.get("churn_rate_control") is None:
        return "no comparison (a group is empty)"

    def count(value: float) -> str:
        whole = abs(value) >= 10 or abs(value - round(value)) < 0.05
        return f"{value:,.0f}" if whole else f"{value:.1f}"

    expected = figures["churn_rate_control"] * figures["n_treatment"]
    tail = f" ({count(expected)} expected, {figures['churned_treatment']:,} churned)"
    if abs(saved) < 0.05:
        return "as many customers churned as the control rate predicts" + tail
    more = "fewer" if saved > 0 else "more"
    return f"{count(abs(saved))} {more} customers churned than the control rate predicts{tail}"


def _tier_order(frame: pd.DataFrame, tier: np.ndarray) -> list[str]:
    """Tier names from the riskiest down: by their customers' mean churn probability."""
    names = [t for t in dict.fromkeys(tier.tolist()) if t]
    if "churn_probability" not in frame.columns:
        return names
    prob = pd.to_numeric(frame["churn_probability"], errors="coerce").to_numpy(dtype=float)
    mean = pd.Series(prob).groupby(tier).mean().to_dict()

    def risk(name: str) -> tuple[bool, float]:
        value = float(mean.get(name, np.nan))
        return (value != value, -value if value == value else 0.0)  # unknown ones last

    return sorted(names, key=risk)


def campaign_readout(
    list_frame: pd.DataFrame | str | os.PathLike,
    data: Any,
    as_of: Any,
    *,
    horizon: Any = None,
    list_as_of: Any = None,
    label: str | None = None,
    lookback: Any = None,
    level: float = 0.95,
    override: bool = False,
) -> dict[str, Any]:
    """Read out a campaign run on a past at-risk list against its holdout group.

    Parameters
    ----------
    list_frame : pandas.DataFrame or path-like
        The list (``at_risk_list(..., holdout=...)``, or a file :func:`read_list` reads and
        checks), with ``customer_id``, ``group`` (``treatment``/``control``) and optionally
        ``risk_tier``, ``churn_probability`` and ``revenue_at_risk``; its ``attrs`` give its
        as-of and horizon. Each customer must appear once.
    data : EventData
        What happened since: must reach the end of the list's horizon.
    as_of : timestamp-like
        When the readout is made: what is known then (events strictly before it,
        cancellations at or before it). Must be on or after the list's as-of + horizon.
    horizon, list_as_of : optional
        The list's horizon and as-of, for a list that does not record them (a CSV without
        its manifest); when it does, they must agree with it, unless ``override``.
    label : {"cancellation", "inactivity"}, optional
        Churn definition; default: the list's (the model's training definition), else
        cancellation when customers have ``churned_at``.
    lookback : duration, optional
        Inactivity churn only; default: the list's, else 90 days.
    level : float, default 0.95
        Confidence level of the intervals.
    override : bool, default False
        Use ``horizon`` / ``list_as_of`` in place of what the list records; the readout
        states it (``dates``).

    Returns
    -------
    dict
        Plain JSON: the list's ``list_as_of`` (a date), ``horizon``, ``model_id``,
        ``holdout_share``, ``holdout_seed`` and ``label``; ``dates``: where the as-of and
        horizon come from (``"list"``, ``"given"`` or ``"overridden (...)"``); the readout
        ``as_of``, ``level``, ``interval_method`` and ``min_group``; ``n_treatment``,
        ``n_control``, ``churned_treatment``, ``churned_control``,
        ``churn_rate_treatment``, ``churn_rate_control``, ``retention_lift``, ``too_few``,
        ``ci_low``, ``ci_high``, ``customers_saved`` (and ``_low`` / ``_high``),
        ``revenue_at_risk_treatment``, ``revenue_saved`` (and ``_low`` / ``_high``);
        ``tiers``: the same figures per risk tier, riskiest first; ``n_unmatched``: listed
        customers not found in the population of ``data`` at the list's as-of (left out).
        Figures that cannot be computed (a group with no customer) are None; a segment with
        fewer than :data:`MIN_GROUP` customers in a group has ``too_few`` True and no
        interval.

    Raises
    ------
    ChurnDataError
        When the list has no ``group`` column or a group is empty, holds a customer twice,
        its as-of or horizon is unknown (or contradicts the given one), its metadata is
        damaged, ``as_of`` is before the horizon has ended, or no listed customer is found
        in ``data``.

    Warns
    -----
    DataQualityWarning
        When the data's latest event is more than a day before the horizon ends.

    Examples
    --------
    >>> import churnpredict as cp
    >>> data = cp.make_subscription_data(n_customers=600, random_state=2)
    >>> pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=30, n_jobs=1))
    >>> pipe = pipe.fit(data, as_of="2024-11-01")
    >>> scores = pipe.score(data, "2024-11-01", explain=False)
    >>> listed = cp.at_risk_list(scores, holdout=0.5, random_state=11)
    >>> out = cp.campaign_readout(listed, data, as_of="2024-12-01")
    >>> out["n_treatment"] + out["n_control"] == len(listed), out["list_as_of"]
    (True, '2024-11-01')
    """
    frame, groups = _list_groups(list_frame)
    attrs = dict(frame.attrs)
    start, window, stamp, dates = _readout_dates(
        attrs, data, as_of, horizon=horizon, list_as_of=list_as_of, override=override
    )
    holdout, seed = _holdout(attrs)
    kind, window_back = _churn_definition(attrs, label, lookback)
    out = _outcomes(frame, groups, data, start, window, stamp, kind, window_back)

    def figures(mask: np.ndarray) -> dict[str, Any]:
        t, c = mask & out.treated, mask & ~out.treated
        y = out.churned
        return _figures(
            int(y[c].sum()),
            int(c.sum()),
            int(y[t].sum()),
            int(t.sum()),
            float(out.revenue[t].sum()),
            level,
        )

    overall = figures(np.ones(len(out.churned), dtype=bool))
    if not overall["n_treatment"] or not overall["n_control"]:
        empty = "treatment" if not overall["n_treatment"] else "control"
        raise ChurnDataError(
            f"the list's {empty} group has no customer found in the data; "
            f"a readout compares both groups"
        )
    tiers = _tier_order(frame, out.tier_all)
    return _clean(
        {
            "list_as_of": date_text(start),
            "horizon": horizon_text(window),
            "as_of": date_text(stamp),
            "dates": dates,
            "model_id": attrs.get("model_id"),
            "holdout_share": holdout,
            "holdout_seed": seed,
            "label": kind,
            "level": float(level),
            "interval_method": _METHOD,
            "min_group": MIN_GROUP,
            **overall,
            "n_unmatched": int((~out.matched).sum()),
            "tiers": {name: figures(out.tier == name) for name in tiers},
        }
    )


def _list_groups(list_frame: Any) -> tuple[pd.DataFrame, pd.Series]:
    """The list (read from its file when a path) and its holdout groups, checked."""
    frame = read_list(list_frame) if isinstance(list_frame, (str, os.PathLike)) else list_frame
    if not isinstance(frame, pd.DataFrame):
        raise ChurnDataError(
            f"list_frame must be an at-risk list (DataFrame or file), got "
            f"{type(list_frame).__name__}"
        )
    missing = [c for c in ("customer_id", "group") if c not in frame.columns]
    if missing:
        raise ChurnDataError(
            f"the list lacks column(s) {missing}; a campaign readout needs the holdout "
            f"groups: score with a holdout (churnpredict score ... --holdout 0.2, or "
            f"at_risk_list(..., holdout=0.2))"
        )
    groups = frame["group"].astype(object).where(frame["group"].notna(), None)
    bad = sorted({str(g) for g in groups} - set(GROUPS))
    if bad:
        raise ChurnDataError(
            f"the list's column group holds {bad[:5]}; expected 'treatment' or 'control'"
        )
    return frame, groups


def _readout_dates(
    attrs: Mapping[str, Any],
    data: Any,
    as_of: Any,
    *,
    horizon: Any,
    list_as_of: Any,
    override: bool,
) -> tuple[pd.Timestamp, pd.Timedelta, pd.Timestamp, str]:
    """The list's as-of and horizon, the readout's as-of, and where the list's dates come from.

    The horizon must be over by the readout's as-of; data ending more than a day before the
    horizon does is a warning.
    """
    window, horizon_from = _known(
        attrs, "horizon", horizon, parse_window, "horizon", "--horizon (horizon=)", override
    )
    start, as_of_from = _known(
        attrs,
        "as_of",
        list_as_of,
        to_naive_utc,
        "as-of",
        "--list-as-of (list_as_of=)",
        override,
    )
    try:
        stamp = to_naive_utc(as_of)
    except ValueError as exc:
        raise ChurnDataError(f"--as-of (as_of=): {exc}") from None
    end = start + window
    if end > TIME_RANGE[1]:
        raise ChurnDataError(
            f"the list's horizon ends on {end:%Y-%m-%d}, after 2199; the list's as-of or "
            f"horizon is wrong"
        )
    if stamp < end:
        raise ChurnDataError(
            f"the list's {horizon_text(window)} horizon after {start:%Y-%m-%d} ends on "
            f"{end:%Y-%m-%d %H:%M}, after as-of {stamp:%Y-%m-%d %H:%M}: churn is not known "
            f"yet; read out on or after {end:%Y-%m-%d}"
        )
    last = data.time_range[1]
    if last < end - pd.Timedelta(days=1):
        warnings.warn(
            f"the data's latest event is at {last:%Y-%m-%d %H:%M}, more than a day before the "
            f"list's horizon ends on {end:%Y-%m-%d %H:%M}: churn after it is not seen (or, for "
            f"inactivity churn, everyone looks inactive); load data reaching that far",
            DataQualityWarning,
            stacklevel=3,  # the caller of campaign_readout
        )
    sources = {horizon_from, as_of_from}
    dates = next((s for s in sources if s.startswith("overridden")), None) or (
        "given" if "given" in sources else "list"
    )
    return start, window, stamp, dates


def _churn_definition(attrs: Mapping[str, Any], label: Any, lookback: Any) -> tuple[str, Any]:
    """The churn definition of the readout: the given label and lookback, else the list's."""
    kind = label or attrs.get("label") or "auto"
    if kind not in ("auto", *LABEL_KINDS, "snapshot"):
        raise ChurnDataError(
            f"the list's metadata records label = {kind!r}; expected "
            f"cancellation or inactivity (repair the manifest, or pass --label)"
        )
    if kind == "snapshot":
        raise ChurnDataError(
            "the list was scored from a snapshot table, which holds no later "
            "outcomes; a readout needs event data with cancellations or "
            "activity after the list's as-of"
        )
    window_back = lookback or attrs.get("lookback") or "90D"
    try:
        parse_window(window_back)
    except (TypeError, ValueError):
        raise ChurnDataError(
            f"the list's lookback {window_back!r} is not a duration such as "
            f"'90D'; repair the manifest, or pass lookback="
        ) from None
    return kind, window_back


@dataclass(frozen=True)
class _Outcomes:
    """The listed customers found in the data: what happened to them, by group and tier."""

    matched: np.ndarray  # per list row: found in the population at the list's as-of
    churned: np.ndarray  # per matched row, 0/1
    treated: np.ndarray  # per matched row
    tier: np.ndarray  # per matched row
    tier_all: np.ndarray  # per list row
    revenue: np.ndarray  # per matched row: revenue at risk (0 when unknown)


def _outcomes(
    frame: pd.DataFrame,
    groups: pd.Series,
    data: Any,
    start: pd.Timestamp,
    window: pd.Timedelta,
    stamp: pd.Timestamp,
    kind: str,
    window_back: Any,
) -> _Outcomes:
    """Label the population the list was scored from and match the listed customers to it."""
    from ._labels import includes_lapsed, label_churn, label_kind

    lapsed = includes_lapsed(label_kind(data, kind))  # the population the list was scored from
    outcome = label_churn(
        data, [start], window, kind=kind, as_of=stamp, lookback=window_back, lapsed=lapsed
    ).droplevel("cutoff")["churned"]
    known = pd.Index(outcome.index.astype(str))
    ids = _unescape_ids(frame["customer_id"].reset_index(drop=True), known)
    group_values = groups.to_numpy(dtype=object)
    _check_customers(ids, group_values)
    churned = pd.Series(outcome.to_numpy(), index=known)
    churned = churned[~churned.index.duplicated()].reindex(ids.to_numpy()).to_numpy()
    matched = ~pd.isna(churned)
    if not matched.any():
        raise ChurnDataError(
            f"none of the list's {len(frame):,} customers is in the population of the data at "
            f"{start:%Y-%m-%d} (e.g. {ids.head(3).tolist()}); read out with the data the "
            f"list was scored from, updated"
        )
    tier_all = (
        frame["risk_tier"].astype(object).fillna("").astype(str).to_numpy()
        if "risk_tier" in frame.columns
        else np.full(len(frame), "", dtype=object)
    )
    revenue = (
        pd.to_numeric(frame["revenue_at_risk"], errors="coerce").fillna(0.0).to_numpy()[matched]
        if "revenue_at_risk" in frame.columns
        else np.zeros(int(matched.sum()))
    )
    return _Outcomes(
        matched=matched,
        churned=churned[matched].astype(np.int64),
        treated=(group_values == "treatment")[matched],
        tier=tier_all[matched],
        tier_all=tier_all,
        revenue=revenue,
    )


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def readout_frame(readout: Mapping[str, Any]) -> pd.DataFrame:
    """A readout as a table: one row for all customers, then one per risk tier.

    Parameters
    ----------
    readout : dict
        From :func:`campaign_readout`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``segment`` (``"all"``, then the tiers, riskiest first); ``too_few`` is 1
        where a group has fewer than :data:`MIN_GROUP` customers (no interval).
    """
    keys = [
        "n_treatment",
        "n_control",
        "churned_treatment",
        "churned_control",
        "churn_rate_treatment",
        "churn_rate_control",
        "retention_lift",
        "ci_low",
        "ci_high",
        "customers_saved",
        "revenue_saved",
        "too_few",
    ]
    rows = {"all": {k: readout.get(k) for k in keys}}
    for name, tier in readout.get("tiers", {}).items():
        rows[name] = {k: tier.get(k) for k in keys}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=keys).astype(float)
    frame.index.name = "segment"
    return frame


# ---------------------------------------------------------------------------- writing
def _plot_rates(frame: pd.DataFrame, level: float, ax: Any) -> None:
    x = np.arange(len(frame))
    width = 0.38
    for offset, group, color in (
        (-width / 2, "control", "#8c959f"),
        (width / 2, "treatment", "#0969da"),
    ):
        rates = frame[f"churn_rate_{group}"].to_numpy(dtype=float)
        ns = frame[f"n_{group}"].to_numpy(dtype=float)
        churned = frame[f"churned_{group}"].to_numpy(dtype=float)
        few = frame["too_few"].to_numpy(dtype=float) > 0
        low, high = [], []
        for rate, count, n, small in zip(rates, churned, ns, few, strict=True):  # a few rows
            if n and rate == rate and not small:  # no interval drawn for too few customers
                lo, hi = wilson_interval(int(count), int(n), level)
                low.append(max(0.0, rate - lo))  # rounding can put a limit a hair inside
                high.append(max(0.0, hi - rate))
            else:
                low.append(0.0)
                high.append(0.0)
        ax.bar(
            x + offset,
            np.nan_to_num(rates),
            width,
            yerr=[low, high],
            capsize=3,
            color=color,
            label=group,
        )
    ax.set_xticks(x, [str(s) for s in frame.index])
    ax.set_ylabel("churn rate in the horizon")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.legend(frameon=False)


def _plot_lift(frame: pd.DataFrame, ax: Any) -> None:
    y = np.arange(len(frame))[::-1]
    lift = frame["retention_lift"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    ok = ~np.isnan(lift)
    below = np.nan_to_num(np.maximum(lift - low, 0.0))  # no interval: too few customers
    above = np.nan_to_num(np.maximum(high - lift, 0.0))
    ax.errorbar(
        lift[ok],
        y[ok],
        xerr=[below[ok], above[ok]],
        fmt="o",
        color="#0969da",
        capsize=4,
    )
    ax.axvline(0.0, color="#cf222e", lw=1, ls="--")
    ax.set_yticks(y, [str(s) for s in frame.index])
    ax.set_xlabel("retention lift (control minus treatment churn rate)")
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:+.0%}")


def _interval_text(figures: Mapping[str, Any], level: float, short: bool = False) -> str:
    """The lift's interval in words, or :data:`TOO_FEW`."""
    if figures.get("too_few"):
        return TOO_FEW if short else f"{TOO_FEW}: fewer than {MIN_GROUP} customers in a group"
    if figures.get("ci_low") is None:
        return "n/a"
    low, high = f"{figures['ci_low']:+.1%}", f"{figures['ci_high']:+.1%}"
    return f"{low} to {high}" if short else f"{level:.0%} interval {low} to {high}"


def write_campaign(
    readout: Mapping[str, Any], out_dir: str | os.PathLike, *, title: str = "Campaign readout"
) -> Path:
    """Write ``campaign.json``, ``campaign.html`` and its PNG plots to ``out_dir``, atomically.

    Parameters
    ----------
    readout : dict
        From :func:`campaign_readout`.
    out_dir : path-like
        Created if needed; an existing folder must be empty or a readout folder churnpredict
        wrote (its marker, see :mod:`churnpredict._folders`).
    title : str

    Returns
    -------
    pathlib.Path
        The path of ``campaign.html``.
    """
    from ._folders import check_output_folder, mark_output_folder
    from ._htmlpage import PAGE_CSS, Plot, escape, figure_html, number, render_plot, write_page

    out = check_output_folder(Path(out_dir), "campaign")
    frame = readout_frame(readout)
    level = float(readout.get("level", 0.95))
    plots = [
        Plot(
            "campaign_rates",
            CAMPAIGN_PLOTS["campaign_rates"],
            render_plot(lambda ax: _plot_rates(frame, level, ax)),
        ),
        Plot(
            "campaign_lift",
            CAMPAIGN_PLOTS["campaign_lift"],
            render_plot(lambda ax: _plot_lift(frame, ax), size=(6.4, 0.5 * len(frame) + 1.6)),
        ),
    ]
    pct = "{:.1%}"
    cards = [
        (
            "Churn rate, treated",
            number(readout.get("churn_rate_treatment"), pct),
            f"{number(readout.get('churned_treatment'))} of {number(readout.get('n_treatment'))}",
        ),
        (
            "Churn rate, control",
            number(readout.get("churn_rate_control"), pct),
            f"{number(readout.get('churned_control'))} of {number(readout.get('n_control'))}",
        ),
        (
            "Retention lift",
            number(readout.get("retention_lift"), "{:+.1%}"),
            _interval_text(readout, level),
        ),
        (
            "Customers saved",
            number(readout.get("customers_saved"), "{:+,.1f}"),
            saved_text(readout),
        ),
        (
            "Revenue saved",
            number(readout.get("revenue_saved"), "{:,.0f}"),
            f"{number(readout.get('revenue_saved_low'), '{:,.0f}')} to "
            f"{number(readout.get('revenue_saved_high'), '{:,.0f}')}",
        ),
    ]
    card_html = (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{v}</div>'
            f'<div class="h">{escape(h)}</div></div>'
            for k, v, h in cards
        )
        + "</div>"
    )
    head = (
        "<tr><th>segment</th><th>treated</th><th>control</th><th>churn rate, treated</th>"
        "<th>churn rate, control</th><th>retention lift</th><th>interval</th>"
        "<th>customers saved</th><th>revenue saved</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(name)}</td><td class=n>{number(r['n_treatment'])}</td>"
        f"<td class=n>{number(r['n_control'])}</td>"
        f"<td class=n>{number(r['churn_rate_treatment'], pct)}</td>"
        f"<td class=n>{number(r['churn_rate_control'], pct)}</td>"
        f"<td class=n>{number(r['retention_lift'], '{:+.1%}')}</td>"
        f"<td class=n>{escape(_interval_text(r, level, short=True))}</td>"
        f"<td>{escape(saved_text(r))}</td>"
        f"<td class=n>{number(r['revenue_saved'], '{:,.0f}')}</td></tr>"
        for name, r in [("all", readout), *readout.get("tiers", {}).items()]
    )
    unmatched = int(readout.get("n_unmatched") or 0)
    note = (
        f'<p class="note">{unmatched:,} listed customers were not in the data\'s population '
        f"at the list's as-of and are left out.</p>"
        if unmatched
        else ""
    )
    if readout.get("dates", "list") != "list":
        note += (
            f'<p class="note">The list\'s as-of and horizon: {escape(readout.get("dates"))}.</p>'
        )
    if any(r.get("too_few") for r in [readout, *readout.get("tiers", {}).values()]):
        note += (
            f'<p class="note">"{TOO_FEW}": fewer than {MIN_GROUP} customers in a group, so no '
            f"interval is given; the rates are what happened, not evidence of an effect.</p>"
        )
    figs = "".join(figure_html(p) for p in plots)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head><body><main>"
        f"<header><h1>{escape(title)}</h1><p class=sub>List of "
        f"<b>{escape(readout.get('list_as_of'))}"
        f"</b> (model {escape(readout.get('model_id') or 'unknown')}), churn within "
        f"<b>{escape(readout.get('horizon'))}</b> ({escape(readout.get('label'))}), read out on "
        f"{escape(readout.get('as_of'))}; holdout share "
        f"{number(readout.get('holdout_share'), '{:.0%}')}, seed "
        f"{escape(readout.get('holdout_seed'))}.</p></header>{card_html}{note}"
        f"<section id=tiers><h2>By risk tier</h2><table>{head}{body}</table></section>"
        f'<section id=plots><h2>Plots</h2><div class="grid">{figs}</div></section>'
        f"<footer>Retention lift = control churn rate minus treated churn rate. Intervals: "
        f"{escape(readout.get('interval_method'))}. Revenue saved = the treated customers' "
        f"revenue at risk x lift / control churn rate.</footer></main></body></html>\n"
    )
    mark_output_folder(out, "campaign")
    for plot in plots:
        write_page(out / f"{plot.stem}.png", plot.png)
    write_page(
        out / "campaign.json",
        (json.dumps(_clean(dict(readout)), indent=2, allow_nan=False) + "\n").encode("utf-8"),
    )
    target = out / "campaign.html"
    write_page(target, page.encode("utf-8"))
    return target
