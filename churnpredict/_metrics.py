"""Business metrics per period: churn and retention rates, revenue churn, cohort retention.

Every customer is reduced to two times, signup ``a`` and churn ``c`` (infinite while not
churned), and a customer is *active* at time ``t`` when ``a < t < c``: signed up before ``t`` and
not churned at it, the population rule of :mod:`churnpredict._labels`. Periods are calendar
periods of a pandas frequency (``"MS"`` month start, ``"W-MON"``, ``"QS"``, ``"7D"``...); the
counts of all periods and segments come from one pass of binary searches and ``bincount`` over
the customers, never a loop over customers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._data import EventData
from ._exceptions import ChurnDataError
from ._kinds import CHURN_TYPES
from ._labels import LabelChoice, activity_index, label_kind
from ._resources import check_memory
from ._windows import parse_window, to_naive_utc

__all__ = ["churn_metrics", "cohort_retention"]

_NEVER = np.iinfo(np.int64).max  # churn time of a customer who has not churned


def churn_metrics(
    data: EventData,
    period: Any = "MS",
    segment: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    kind: LabelChoice = "auto",
    inactivity: Any = "90D",
) -> pd.DataFrame:
    """Churn, retention and revenue churn per period (and segment).

    Parameters
    ----------
    data : EventData
    period : pandas frequency, default "MS"
        Length and alignment of the periods: ``"MS"`` (calendar months), ``"W-MON"`` (weeks
        starting on Monday), ``"QS"`` (quarters), ``"7D"``...
    segment : str, optional
        A ``customers`` column (e.g. ``"plan"``) to break every metric down by; customers
        without a value form their own segment (NaN).
    start : timestamp-like, optional
        The first period is the one containing ``start``; defaults to the first signup.
    end : timestamp-like, optional
        What is known: periods starting before ``end`` are reported, the last one ending at
        ``end`` if the period would run past it (see ``period_end``); events after ``end``
        are not used. Defaults to the latest time in the data.
    kind : {"auto", "cancellation", "inactivity"}, default "auto"
        How churn is read; "auto" uses ``customers.churned_at`` when present, else inactivity.
    inactivity : duration, default "90D"
        Inactivity churn only: the silence after a customer's last event that means churned.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period`` (the period start), or by (``period``, ``segment``) with one row
        for every segment value in every period. Columns: ``period_end``, ``customers_start``,
        ``new``, ``churned``, ``churned_voluntary``, ``churned_involuntary``, ``churned_new``,
        ``customers_end``, ``churn_rate``, ``retention_rate``, ``mrr_start``, ``mrr_churned``,
        ``expansion``, ``contraction``, ``gross_revenue_churn``, ``net_revenue_churn``.

    Notes
    -----
    For a period ``[s, e)`` and customers with signup ``a`` and churn time ``c`` (infinite if
    not churned), a customer being active at ``t`` when ``a < t < c``:

    * ``customers_start`` = #{a < s < c}, the customers active at the period start;
    * ``new`` = #{s <= a < e}, the signups of the period;
    * ``churned`` = #{a < s < c <= e}, the customers active at the start who churn in the
      period, split into ``churned_voluntary`` and ``churned_involuntary`` by
      ``customers.churn_type`` (NaN when the type is unknown; untyped churners count in
      ``churned`` only);
    * ``churned_new`` = #{s <= a < e, c <= e}, signups of the period who churn in it; they are
      not in the churn rate, whose denominator does not hold them;
    * ``customers_end`` = #{a < e < c} = customers_start + new - churned - churned_new;
    * ``churn_rate`` = churned / customers_start, ``retention_rate`` = 1 - churn_rate.

    Revenue uses each customer's MRR at time ``t``, ``m(t)``:

    * ``mrr_start`` = sum of m(s) over the customers active at ``s``;
    * ``mrr_churned`` = sum of m(s) over the ``churned`` customers;
    * ``expansion`` and ``contraction`` = sums of the increases and of the decreases
      ``m(e) - m(s)`` over the retained customers (a < s, c > e);
    * ``gross_revenue_churn`` = (mrr_churned + contraction) / mrr_start;
    * ``net_revenue_churn`` = (mrr_churned + contraction - expansion) / mrr_start, negative
      when expansion outweighs what was lost.

    With a payments table, ``m(t)`` is the amount of the customer's latest succeeded payment
    strictly before ``t`` (0 before the first one), as for the monetary features: a payment made
    at the first instant of a period changes MRR in that period, and ``m(e) - m(s)`` is the
    change brought by the payments of ``[s, e)``. Without payments, ``customers.mrr`` is used,
    constant over time (so expansion and contraction are 0; missing values count as 0); without
    either, the revenue columns are NaN. Every rate is NaN, not an error, when its denominator
    is 0, e.g. a period with no customer at its start.

    Churn time ``c``: ``customers.churned_at`` (cancellation). Without it (inactivity, for
    non-contractual data), ``c = last + inactivity`` where ``last`` is the customer's latest
    activity at or before ``end`` (latest succeeded payment when there is no activity table;
    the signup for a customer with no such event), counted only when ``c <= end``: a customer
    whose silence has not yet lasted ``inactivity`` by ``end`` is still active. Only the final lapse
    is churn: a customer who came back after a long gap was not churned during it.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": [1, 2, 3],
    ...     "signup_at": ["2024-01-10", "2024-01-20", "2024-02-05"],
    ...     "churned_at": [None, "2024-02-15", None],
    ... })
    >>> table = churn_metrics(EventData(customers), end="2024-03-01")
    >>> table[["customers_start", "new", "churned", "churn_rate"]]  # doctest: +NORMALIZE_WHITESPACE
                customers_start  new  churned  churn_rate
    period
    2024-01-01                0    2        0         NaN
    2024-02-01                2    1        1         0.5
    """
    off = _offset(period)
    lives = _lifetimes(data, end, kind, inactivity)
    end_ns = lives.end
    first = lives.signup.min() if start is None else to_naive_utc(start, "start").value
    _check_size(period, off, pd.Timestamp(first), lives, data, segment)
    starts = _boundaries(off, pd.Timestamp(first), end=end_ns)
    ends = np.append(starts[1:], (pd.Timestamp(starts[-1]) + off).value)
    ends = np.minimum(ends, end_ns)
    n_periods = len(starts)

    if segment is None:
        seg_codes = np.zeros(len(data.customers), dtype=np.int64)
        seg_values: pd.Index | None = None
    else:
        if segment not in data.customers:
            raise ChurnDataError(
                f"customers has no column {segment!r} to segment by; its columns are "
                f"{list(data.customers.columns)[:20]}; pass one of them (e.g. segment='plan')"
            )
        codes, uniques = pd.factorize(data.customers[segment], sort=True, use_na_sentinel=False)
        seg_codes = codes.astype(np.int64)
        seg_values = pd.Index(uniques, name=segment)
    n_seg = 1 if seg_values is None else len(seg_values)
    a, c = lives.signup, lives.churn

    # (customer, period) pairs for every period start at which the customer is active.
    first_k = np.searchsorted(starts, a, side="right")  # first start after signup
    last_k = np.searchsorted(starts, c, side="left") - 1  # last start before churn
    counts = np.maximum(last_k - first_k + 1, 0)
    cust = np.repeat(np.arange(len(a)), counts)
    k = np.arange(len(cust)) - np.repeat(np.cumsum(counts) - counts, counts)
    k += first_k[cust]
    key = k * n_seg + seg_codes[cust]
    churned = c[cust] <= ends[k]

    def total(
        mask: np.ndarray | None = None, weights: np.ndarray | None = None, keys: np.ndarray = key
    ) -> np.ndarray:
        if mask is not None:
            keys = keys[mask]
            weights = None if weights is None else weights[mask]
        return np.bincount(keys, weights=weights, minlength=n_periods * n_seg)

    # Signups of each period (the last start at or before signup), and who churns in it.
    signup_k = np.maximum(first_k - 1, 0)
    is_new = (first_k > 0) & (a < ends[signup_k])
    new_key = signup_k * n_seg + seg_codes
    churned_new = is_new & (c <= ends[signup_k])

    out = pd.DataFrame(index=_period_index(starts, seg_values))
    out["period_end"] = np.repeat(ends, n_seg).astype("datetime64[ns]")
    out["customers_start"] = total()
    out["new"] = total(is_new, keys=new_key)
    out["churned"] = total(churned)
    for label in CHURN_TYPES:
        if lives.churn_type is None:
            out[f"churned_{label}"] = np.nan
        else:
            out[f"churned_{label}"] = total(churned & (lives.churn_type[cust] == label))
    out["churned_new"] = total(churned_new, keys=new_key)
    out["customers_end"] = out["customers_start"] + out["new"] - out["churned"] - out["churned_new"]
    out["churn_rate"] = _ratio(out["churned"], out["customers_start"])
    out["retention_rate"] = 1.0 - out["churn_rate"]

    mrr_start = _mrr_at(data, cust, starts[k])
    if mrr_start is None:
        for col in (
            "mrr_start",
            "mrr_churned",
            "expansion",
            "contraction",
            "gross_revenue_churn",
            "net_revenue_churn",
        ):
            out[col] = np.nan
        return out
    kept = ~churned
    change = np.zeros(len(cust))
    change[kept] = _mrr_at(data, cust[kept], ends[k[kept]]) - mrr_start[kept]
    out["mrr_start"] = total(weights=mrr_start)
    out["mrr_churned"] = total(churned, weights=mrr_start)
    out["expansion"] = total(weights=np.maximum(change, 0.0))
    out["contraction"] = total(weights=np.maximum(-change, 0.0))
    lost = out["mrr_churned"] + out["contraction"]
    out["gross_revenue_churn"] = _ratio(lost, out["mrr_start"])
    out["net_revenue_churn"] = _ratio(lost - out["expansion"], out["mrr_start"])
    return out


def cohort_retention(
    data: EventData,
    period: Any = "MS",
    max_periods: int = 12,
    *,
    end: Any = None,
    kind: LabelChoice = "auto",
    inactivity: Any = "90D",
) -> pd.DataFrame:
    """Share of each signup cohort still active at the start of each later period.

    Parameters
    ----------
    data : EventData
    period : pandas frequency, default "MS"
        Cohorts and steps: ``"MS"`` groups customers by signup month and follows them month
        by month.
    max_periods : int, default 12
        The last column: periods ``0 .. max_periods`` after signup are reported.
    end : timestamp-like, optional
        What is known (defaults to the latest time in the data); customers who signed up
        after it are left out.
    kind, inactivity
        How churn is read, as in :func:`churn_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per signup cohort with at least one customer (index ``cohort``, the start of
        the signup period), columns ``0 .. max_periods`` (``periods_since_signup``). Column
        ``j >= 1`` holds the share of the cohort active (signed up, not churned, as in
        :func:`churn_metrics`) at the start of the ``j``-th period after the cohort's period,
        NaN when that time is after ``end``; column 0 is 1.0, the cohort at signup.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({
    ...     "customer_id": [1, 2, 3],
    ...     "signup_at": ["2024-01-10", "2024-01-20", "2024-02-05"],
    ...     "churned_at": [None, "2024-02-15", None],
    ... })
    >>> cohort_retention(EventData(customers), max_periods=2, end="2024-03-01")
    ... # doctest: +NORMALIZE_WHITESPACE
    periods_since_signup    0    1    2
    cohort
    2024-01-01            1.0  1.0  0.5
    2024-02-01            1.0  1.0  NaN
    """
    if (
        isinstance(max_periods, bool)
        or not isinstance(max_periods, (int, np.integer))
        or max_periods < 0
    ):
        raise ValueError(f"max_periods={max_periods!r}; expected an integer >= 0")
    off = _offset(period)
    lives = _lifetimes(data, end, kind, inactivity)
    member = lives.signup <= lives.end
    a, c = lives.signup[member], lives.churn[member]
    if len(a) == 0:
        raise ChurnDataError(
            f"customers: nobody signed up by end={pd.Timestamp(lives.end)}; use a later end"
        )
    first = pd.Timestamp(a.min())
    n_cohorts = len(_boundaries(off, first, end=int(a.max()) + 1))
    bounds = _boundaries(off, first, periods=n_cohorts + max_periods + 1)
    cohort = np.searchsorted(bounds, a, side="right") - 1
    # Active at bounds[cohort + j] for j = 1 .. survived: the last start before churn.
    survived = np.searchsorted(bounds, c, side="left") - 1 - cohort
    survived = np.clip(survived, 0, max_periods)
    width = max_periods + 1
    hits = np.bincount(cohort * width + survived, minlength=n_cohorts * width)
    # active at column j <=> survived >= j: reverse cumulative sum along each row
    active = hits.reshape(n_cohorts, width)[:, ::-1].cumsum(axis=1)[:, ::-1]
    size = active[:, 0]
    share = active / np.maximum(size, 1)[:, None]
    when = bounds[np.arange(n_cohorts)[:, None] + np.arange(width)[None, :]]
    share = np.where(when > lives.end, np.nan, share)
    table = pd.DataFrame(
        share,
        index=pd.DatetimeIndex(bounds[:n_cohorts].astype("datetime64[ns]"), name="cohort"),
        columns=pd.RangeIndex(width, name="periods_since_signup"),
    )
    return table.loc[size > 0]


# ---------------------------------------------------------------------------------- helpers
class _Lifetimes(NamedTuple):
    """Signup and churn times of every customer (int64 ns; churn ``_NEVER`` if not churned)."""

    signup: np.ndarray
    churn: np.ndarray
    churn_type: np.ndarray | None  # voluntary / involuntary / None, when customers have it
    end: int  # what is known, int64 ns


def _lifetimes(data: EventData, end: Any, kind: LabelChoice, inactivity: Any) -> _Lifetimes:
    kind_ = label_kind(data, kind)
    if kind_ == "snapshot":
        raise ChurnDataError(
            f"customers is a snapshot table (label_column={data.label_column!r}) without "
            f"signup and churn times; business metrics need customers.signup_at and churned_at "
            f"or an event table"
        )
    customers = data.customers
    signup = customers["signup_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    end_ns = to_naive_utc(data.time_range[1] if end is None else end, "end").value
    churn_type = None
    if kind_ == "cancellation":
        churned_at = customers["churned_at"].to_numpy(dtype="datetime64[ns]")
        churn = np.where(np.isnat(churned_at), _NEVER, churned_at.view(np.int64))
        if "churn_type" in customers:
            churn_type = customers["churn_type"].to_numpy(dtype=object)
    else:
        gap = parse_window(inactivity).value
        _, index = activity_index(data)
        codes = np.arange(len(customers))
        known = np.full(len(codes), end_ns + 1).view("datetime64[ns]")  # events <= end
        last = index.last_time_before(codes, known)
        last = np.where(np.isnat(last), signup, last.view(np.int64))
        lapse = np.maximum(last, signup) + gap
        churn = np.where(lapse <= end_ns, lapse, _NEVER)
    return _Lifetimes(signup, churn, churn_type, end_ns)


def _mrr_at(data: EventData, codes: np.ndarray, times: np.ndarray) -> np.ndarray | None:
    """MRR of customers ``codes`` at ``times`` (int64 ns); None when revenue is unknown."""
    if data.payments is not None:
        mask = (data.payments["status"] == "succeeded").to_numpy()
        # Same cached index as the inactivity labels (succeeded payments).
        index = data.event_index("payments", mask=mask, key="succeeded")
        amounts = index.sorted_values(data.payments["amount"].to_numpy(np.float64)[mask])
        if len(amounts) == 0:
            return np.zeros(len(codes))
        last = index.last_before(codes, times.astype("datetime64[ns]"))
        return np.where(last >= 0, amounts[last], 0.0)
    if "mrr" in data.customers:
        mrr = np.nan_to_num(data.customers["mrr"].to_numpy(np.float64), nan=0.0)
        return mrr[codes]
    return None


#: Bytes per (customer, period) pair of :func:`churn_metrics` (positions, keys, masks, MRR).
_PAIR_BYTES = 96
#: Bytes per row of its output (about 20 columns).
_OUTPUT_ROW_BYTES = 200


def _check_size(
    period: Any,
    off: pd.DateOffset,
    first: pd.Timestamp,
    lives: _Lifetimes,
    data: EventData,
    segment: str | None,
) -> None:
    """Refuse metrics whose periods (and customer-periods) would not fit in memory.

    Counted from the period's length, before any period is laid out: ``period="s"`` over
    two years is 63 million periods and, for each customer, one pair per second alive.
    """
    origin = _floor(first, off)
    length = max(1, (origin + off).value - origin.value)
    span = max(0, lives.end - origin.value)
    n_periods = span // length + 1
    n_seg = (
        1
        if segment is None or segment not in data.customers
        else (int(data.customers[segment].nunique(dropna=False)))
    )
    alive = np.minimum(lives.churn, lives.end) - np.maximum(lives.signup, origin.value)
    pairs = float(np.maximum(alive, 0).sum(dtype=np.float64)) / length + len(alive)
    check_memory(
        pairs * _PAIR_BYTES + float(n_periods) * n_seg * _OUTPUT_ROW_BYTES,
        what=(
            f"metrics per {period!r} ({n_periods:,} periods x {n_seg:,} segments, "
            f"{pairs:,.0f} customer-periods)"
        ),
        fix="use a longer period (day, week, month), fewer segments or a later start",
    )


def _offset(period: Any) -> pd.DateOffset:
    try:
        off = pd.tseries.frequencies.to_offset(period)
    except (TypeError, ValueError):
        off = None
    if off is None or off.n < 1:
        raise ValueError(
            f"period={period!r} is not a positive pandas frequency; use e.g. 'MS' (month "
            f"start), 'W-MON' (weeks from Monday), 'QS' (quarters) or '7D'"
        )
    return off


def _floor(stamp: pd.Timestamp, off: pd.DateOffset) -> pd.Timestamp:
    """The period boundary at or before ``stamp``."""
    try:
        return stamp.floor(off)  # fixed frequencies: hours, days, "7D"
    except ValueError:  # calendar frequencies: months, weeks, quarters
        return off.rollback(stamp.normalize())


def _boundaries(
    off: pd.DateOffset, first: pd.Timestamp, *, end: int | None = None, periods: int | None = None
) -> np.ndarray:
    """Period starts (int64 ns) from the one holding ``first``: before ``end``, or ``periods``."""
    origin = _floor(pd.Timestamp(first), off)
    if end is not None:
        if origin.value >= end:
            raise ChurnDataError(
                f"start {origin} is not before end {pd.Timestamp(end)}; no period to report "
                f"(the data must span some time after the first signup, or pass a later end)"
            )
        stamps = pd.date_range(origin, pd.Timestamp(end), freq=off)
    else:
        stamps = pd.date_range(origin, periods=periods, freq=off)
    out = stamps.to_numpy().astype("datetime64[ns]").view(np.int64)
    return out if end is None else out[out < end]


def _period_index(starts: np.ndarray, segments: pd.Index | None) -> pd.Index:
    periods = pd.DatetimeIndex(starts.astype("datetime64[ns]"), name="period")
    if segments is None:
        return periods
    return pd.MultiIndex.from_product([periods, segments], names=["period", segments.name])


def _ratio(num: pd.Series, den: pd.Series) -> np.ndarray:
    """num / den, NaN where den is 0."""
    num_, den_ = num.to_numpy(np.float64), den.to_numpy(np.float64)
    return np.divide(num_, den_, out=np.full(len(num_), np.nan), where=den_ > 0)
