"""Cutoffs, the population at each cutoff, and point-in-time churn labels.

This is the only module that reads data at or after a cutoff: a label for (customer, cutoff)
looks at the horizon after the cutoff and nothing else: ``(cutoff, cutoff + horizon]`` for a
cancellation, ``[cutoff, cutoff + horizon)`` for activity (features see activity strictly
before the cutoff, so activity at the cutoff itself is an outcome; with day-precision dates
and cutoffs at midnight, the cutoff day's orders count as coming back).

What is known at ``as_of``
--------------------------
Labels follow the same rule as :meth:`churnpredict.EventData.cut`, so that labelling the full
data as of ``T`` and labelling ``data.cut(T)`` give the same labels:

* an event (activity, payment) is known at ``T`` only if it happened strictly before ``T``.
  An event exactly at ``T`` is not; inactivity horizons ``[cutoff, cutoff + horizon)`` end
  before ``T`` anyway when their cutoff is complete (``cutoff + horizon <= T``);
* a cancellation is known at ``T`` if ``churned_at <= T``: a customer who churned exactly at
  ``T`` is known to have churned (cancellation labels whose horizon ends at ``T`` count it);
* only cutoffs whose horizon is over by ``as_of`` (``cutoff + horizon <= as_of``) are labelled.

``as_of`` defaults to the latest time in the data, and the same rule applies to it: events at
exactly that time are not known yet. (On the command line and on a Dask cluster alike.)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._data import EventData
from ._eventindex import EventIndex
from ._exceptions import ChurnDataError, DataQualityWarning
from ._kinds import LABEL_KINDS, LabelKind
from ._windows import duration_words, fitting_horizon, parse_window, to_naive_utc

__all__ = [
    "make_cutoffs",
    "training_cutoffs",
    "population",
    "customer_status",
    "label_churn",
    "includes_lapsed",
    "label_kind",
    "complete_cutoffs",
    "cutoff_index",
    "known_at",
    "log_start",
    "recorded_cutoffs",
    "span_advice",
    "MIN_POPULATION",
]

#: Fewest customers scored at once that are compared with one another (peer comparisons in
#: reasons, the base rate behind risk tiers); smaller scores fall back to the training rows.
MIN_POPULATION = 100

#: A label kind as a parameter: one of :data:`~churnpredict._kinds.LABEL_KINDS` or ``"auto"``.
LabelChoice = Literal[LabelKind, "auto"]


def make_cutoffs(end: Any, periods: int = 12, freq: Any = "14D") -> pd.DatetimeIndex:
    """Cutoffs every ``freq`` going back from ``end`` (``end`` included), oldest first.

    Parameters
    ----------
    end : timestamp-like
        The latest cutoff.
    periods : int, default 12
        How many cutoffs.
    freq : duration, default "14D"
        Spacing (days as int, or a string such as "14D", "7D").

    Returns
    -------
    pandas.DatetimeIndex

    Examples
    --------
    >>> make_cutoffs("2024-03-01", periods=3, freq="14D").strftime("%Y-%m-%d").tolist()
    ['2024-02-02', '2024-02-16', '2024-03-01']
    """
    if periods < 1:
        raise ValueError(f"periods={periods}; need at least one cutoff")
    step = parse_window(freq)
    end = to_naive_utc(end, "end")
    stamps = [end - step * k for k in range(periods - 1, -1, -1)]
    return pd.DatetimeIndex(stamps, name="cutoff").astype("datetime64[ns]")


def training_cutoffs(
    data: EventData,
    as_of: Any = None,
    horizon: Any = "28D",
    periods: int = 12,
    freq: Any = "14D",
) -> pd.DatetimeIndex:
    """Cutoffs whose label horizon has fully passed by ``as_of`` and that have customers.

    The latest cutoff is ``as_of - horizon``; cutoffs before the first signup are dropped.

    Parameters
    ----------
    data : EventData
    as_of : timestamp-like, optional
        What is known; defaults to the latest time in the data.
    horizon : duration, default "28D"
    periods, freq
        See :func:`make_cutoffs`.

    Returns
    -------
    pandas.DatetimeIndex
    """
    as_of = _as_of(data, as_of)
    horizon = parse_window(horizon)
    cutoffs = make_cutoffs(as_of - horizon, periods, freq)
    first = data.customers["signup_at"].min()
    cutoffs = cutoffs[cutoffs > first]
    if len(cutoffs) == 0:
        raise ChurnDataError(
            f"no cutoff between the first signup ({first}) and as_of - horizon "
            f"({as_of - horizon}); use a later as_of or a shorter horizon"
            f"{span_advice(data, as_of)}"
        )
    return recorded_cutoffs(data, cutoffs, horizon, as_of)


def log_start(data: EventData) -> tuple[str | None, pd.Timestamp | None]:
    """The log inactivity is read from (activity, else payments) and when it starts.

    Returns
    -------
    (str or None, pandas.Timestamp or None)
        The table and its first event (:attr:`EventData.observed_start`); ``(None, None)``
        without either table or events.
    """
    for table in ("activity", "payments"):
        if getattr(data, table) is not None:
            return table, data.observed_start.get(table)
    return None, None


def span_advice(data: EventData, as_of: Any) -> str:
    """ "; the activity log spans 29 days: use a horizon of at most 7 days" (or nothing).

    The longest horizon the log fits (:func:`~churnpredict._windows.fitting_horizon`), as
    advice for messages about horizons that do not fit. Empty without a log.
    """
    table, start = log_start(data)
    if start is None:
        return ""
    span = _as_of(data, as_of) - start
    days = f"{span / pd.Timedelta(days=1):,.0f} days"
    fit = fitting_horizon(span)
    if fit is None:
        return (
            f"; the {table} log spans {days}, too short to learn churn from: collect a few "
            f"weeks of events"
        )
    return f"; the {table} log spans {days}: use a horizon of at most {duration_words(fit)}"


def recorded_cutoffs(
    data: EventData, cutoffs: Any, horizon: Any, as_of: Any = None
) -> pd.DatetimeIndex:
    """The cutoffs whose history and outcomes the log recorded, for customers older than it.

    When the log (:func:`log_start`) is an export that starts after many customers signed
    up (:meth:`EventData.record_start`: the last weeks of an app's events), what they did
    before the start is unknown, not zero. A cutoff is kept only when one horizon before it
    is recorded (``cutoff - horizon >= start``): its label horizon and its shortest history
    then lie inside the log (longer feature windows reaching before the start are not
    observed, see the features). The dropped cutoffs are named in a
    :class:`~churnpredict.DataQualityWarning`. A log holding its customers' history from
    signup keeps every cutoff.

    Parameters
    ----------
    data : EventData
    cutoffs : timestamp-like or sequence of them
    horizon : duration
    as_of : timestamp-like, optional
        For the advice in the error; defaults to the latest time in the data.

    Returns
    -------
    pandas.DatetimeIndex

    Raises
    ------
    ChurnDataError
        When no cutoff is left, with the horizon the log fits.
    """
    cuts = cutoff_index(cutoffs)
    table, _ = log_start(data)
    start = None if table is None else data.record_start(table)
    if start is None or len(cuts) == 0:
        return cuts
    older = int((data.customers["signup_at"] < start).sum())
    horizon = parse_window(horizon)
    keep = cuts[cuts - horizon >= start]
    why = (
        f"the {table} log starts {start:%Y-%m-%d %H:%M}, after {older:,} customers signed "
        f"up, so a cutoff needs its horizon ({duration_words(horizon)}) and as much history "
        f"before it inside the log"
    )
    if len(keep) == 0:
        raise ChurnDataError(f"no training cutoff is left: {why}{span_advice(data, as_of)}")
    dropped = cuts.difference(keep)
    if len(dropped):
        span = (
            f"{dropped[0]:%Y-%m-%d}"
            if len(dropped) == 1
            else f"{dropped[0]:%Y-%m-%d} .. {dropped[-1]:%Y-%m-%d}"
        )
        warnings.warn(
            f"{len(dropped)} of {len(cuts)} training cutoffs dropped ({span}): {why}",
            DataQualityWarning,
            stacklevel=3,
        )
    return keep


def _as_of(data: EventData, as_of: Any) -> pd.Timestamp:
    return known_at(as_of, lambda: data.time_range[1])


def known_at(as_of: Any, latest: Callable[[], pd.Timestamp]) -> pd.Timestamp:
    """The time labels are censored at: ``as_of``, or the latest time in the data.

    What is known at that time follows the module notes (events strictly before it,
    cancellations at or before it); :func:`complete_cutoffs` keeps the cutoffs whose horizon
    is over by then. :func:`label_churn` and the Dask labels both resolve ``as_of`` here.

    Parameters
    ----------
    as_of : timestamp-like or None
        Aware times are converted to UTC.
    latest : callable
        Returns the latest time in the data; called only when ``as_of`` is None.

    Returns
    -------
    pandas.Timestamp
        Timezone-naive (UTC).
    """
    if as_of is None:
        return pd.Timestamp(latest())
    return to_naive_utc(as_of)


def cutoff_index(cutoffs: Any) -> pd.DatetimeIndex:
    """Cutoffs as a sorted, unique, timezone-naive ``DatetimeIndex`` named ``cutoff``.

    Parameters
    ----------
    cutoffs : timestamp-like or sequence of them
        Aware times are converted to UTC.

    Returns
    -------
    pandas.DatetimeIndex
        ``datetime64[ns]``.
    """
    if isinstance(cutoffs, (str, pd.Timestamp)) or np.isscalar(cutoffs):
        cutoffs = [cutoffs]
    idx = pd.DatetimeIndex([to_naive_utc(c, "cutoffs") for c in cutoffs])  # a few cutoffs
    return pd.DatetimeIndex(idx.unique().sort_values(), name="cutoff").astype("datetime64[ns]")


_cutoff_index = cutoff_index  # the former private name


def complete_cutoffs(cutoffs: Any, horizon: Any, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """The cutoffs whose label horizon is over by ``as_of``: the ones that can be labelled.

    A cutoff is kept when ``cutoff + horizon <= as_of``; the labels of later cutoffs would be
    censored.

    Parameters
    ----------
    cutoffs : timestamp-like or sequence of them
    horizon : duration
    as_of : pandas.Timestamp
        Timezone-naive (UTC).

    Returns
    -------
    pandas.DatetimeIndex
        As :func:`cutoff_index`, without the censored cutoffs.

    Raises
    ------
    ChurnDataError
        When every cutoff would be censored.
    """
    horizon = parse_window(horizon)
    cuts = cutoff_index(cutoffs)
    complete = cuts[cuts + horizon <= as_of]
    if len(complete) == 0:
        raise ChurnDataError(
            f"no cutoff has its {horizon.days}-day horizon over by as_of={as_of}: the labels would"
            f" be censored; use earlier cutoffs (latest {as_of - horizon}) or a shorter horizon"
        )
    return complete


def label_kind(data: EventData, kind: LabelChoice = "auto") -> str:
    """Resolve ``"auto"``: cancellation when customers have ``churned_at``, else inactivity."""
    if kind not in ("auto", *LABEL_KINDS):
        raise ValueError(f"label kind {kind!r}; expected 'cancellation', 'inactivity' or 'auto'")
    if data.is_snapshot:
        return "snapshot"
    if kind == "auto":
        return "cancellation" if "churned_at" in data.customers else "inactivity"
    if kind == "cancellation" and "churned_at" not in data.customers:
        raise ChurnDataError(
            "customers has no churned_at column, needed for cancellation labels; add it "
            "(cancellation time, empty while active) or use label='inactivity'"
        )
    return kind


def activity_index(data: EventData) -> tuple[str, EventIndex]:
    """Events that count as "active" for inactivity churn: activity, else succeeded payments.

    Parameters
    ----------
    data : EventData

    Returns
    -------
    table : str
        ``"activity"`` or ``"payments"``.
    index : EventIndex
        The events, per customer in time order.
    """
    if data.activity is not None:
        return "activity", data.event_index("activity")
    if data.payments is not None:
        mask = (data.payments["status"] == "succeeded").to_numpy()
        return "payments", data.event_index("payments", mask=mask, key="succeeded")
    raise ChurnDataError(
        "inactivity labels need an activity or payments table; add one, or add "
        "customers.churned_at and use label='cancellation'"
    )


def includes_lapsed(kind: str) -> bool:
    """The population rule: whether the lapsed customers are scored, for a resolved label kind.

    With inactivity churn everyone who signed up and has not cancelled is trained on and
    scored, the customers with no activity in the lookback (``lapsed``, the win-back list)
    included; with cancellation churn (and snapshots) nobody is lapsed. :func:`population`
    and :func:`label_churn` follow this rule unless told otherwise, and so do the pipeline,
    recalibration, campaign readouts and the Dask trainer.

    Parameters
    ----------
    kind : str
        ``"cancellation"``, ``"inactivity"`` or ``"snapshot"`` (see :func:`label_kind`).

    Returns
    -------
    bool

    Examples
    --------
    >>> includes_lapsed("inactivity"), includes_lapsed("cancellation")
    (True, False)
    """
    return kind == "inactivity"


def population(
    data: EventData,
    cutoffs: Any,
    *,
    kind: LabelChoice = "auto",
    lookback: Any = "90D",
    lapsed: bool | None = None,
) -> pd.DataFrame:
    """Customers at risk at each cutoff, as an empty DataFrame indexed by (customer_id, cutoff).

    A customer is in the population at a cutoff if they signed up before it and had not churned
    at it (``churned_at`` empty or after the cutoff). For inactivity churn they must also have
    been active in ``[cutoff - lookback, cutoff)``, unless ``lapsed`` (the default, see
    :func:`includes_lapsed`): then every such customer is in, those without activity in the
    lookback included (their status is ``lapsed``, see :func:`customer_status`). A snapshot
    table has one cutoff, ``data.snapshot_at``, and every customer.

    Parameters
    ----------
    data : EventData
    cutoffs : timestamp-like or sequence of them
    kind : {"auto", "cancellation", "inactivity"}
    lookback : duration, default "90D"
        Inactivity churn only: how recently a customer must have been active to count.
    lapsed : bool, optional
        Inactivity churn only: keep the customers with no activity in the lookback too, so
        that everyone who has signed up and not cancelled is scored (the win-back list).
        Defaults to :func:`includes_lapsed` (True for inactivity churn), the pipeline's rule.

    Returns
    -------
    pandas.DataFrame
        No columns; index levels ``customer_id``, ``cutoff``, sorted by cutoff then customer.
    """
    kind = label_kind(data, kind)
    customers = data.customers
    if kind == "snapshot":
        index = pd.MultiIndex.from_arrays(
            [customers["customer_id"], pd.DatetimeIndex([data.snapshot_at] * len(customers))],
            names=["customer_id", "cutoff"],
        )
        return pd.DataFrame(index=index)
    cuts = cutoff_index(cutoffs)
    signup = customers["signup_at"].to_numpy(dtype="datetime64[ns]")
    churned = (
        customers["churned_at"].to_numpy(dtype="datetime64[ns]")
        if "churned_at" in customers
        else None
    )
    code_parts, cut_parts = [], []
    for cut in cuts.to_numpy():  # loop over cutoffs (a dozen), vectorised over customers
        alive = signup < cut
        if churned is not None:
            alive &= np.isnat(churned) | (churned > cut)
        codes = np.flatnonzero(alive)
        code_parts.append(codes)
        cut_parts.append(np.full(len(codes), cut, dtype="datetime64[ns]"))
    codes = np.concatenate(code_parts) if code_parts else np.empty(0, dtype=np.int64)
    cut_arr = np.concatenate(cut_parts) if cut_parts else np.empty(0, dtype="datetime64[ns]")
    if lapsed is None:
        lapsed = includes_lapsed(kind)
    if kind == "inactivity" and len(codes) and not lapsed:
        _, index = activity_index(data)
        start = cut_arr - np.timedelta64(parse_window(lookback).value, "ns")
        active = index.count_between(codes, start, cut_arr) > 0
        codes, cut_arr = codes[active], cut_arr[active]
    index = pd.MultiIndex.from_arrays(
        [customers["customer_id"].to_numpy()[codes], pd.DatetimeIndex(cut_arr)],
        names=["customer_id", "cutoff"],
    )
    return pd.DataFrame(index=index)


def label_churn(
    data: EventData,
    cutoffs: Any,
    horizon: Any = "28D",
    *,
    kind: LabelChoice = "auto",
    as_of: Any = None,
    lookback: Any = "90D",
    lapsed: bool | None = None,
) -> pd.DataFrame:
    """Point-in-time churn labels for the population at each cutoff.

    * cancellation: churned if ``churned_at`` is in ``(cutoff, cutoff + horizon]``;
      ``churn_type`` keeps voluntary/involuntary when customers have it.
    * inactivity: churned if a customer active in ``[cutoff - lookback, cutoff)`` has no activity
      (or, without an activity table, no successful payment) in ``[cutoff, cutoff + horizon)``
      (activity at the cutoff itself is an outcome, not a feature; see the module notes).
      With ``lapsed=True`` the population also holds the customers with no activity in the
      lookback, under the same rule: a lapsed customer who comes back (buys again) within
      the horizon is a 0, one who does not is a 1.
    * snapshot tables: the label column, at ``data.snapshot_at``.

    Cutoffs whose horizon is not over by ``as_of`` are dropped: their labels would be censored.
    The labels are the same for ``data`` and for ``data.cut(as_of)``.

    Parameters
    ----------
    data : EventData
    cutoffs : timestamp-like or sequence of them
    horizon : duration, default "28D"
    kind : {"auto", "cancellation", "inactivity"}
        "auto" picks cancellation when customers have ``churned_at``.
    as_of : timestamp-like, optional
        What is known: events strictly before it, cancellations at or before it (see the
        module notes). Defaults to the latest time in the data.
    lookback : duration, default "90D"
        Inactivity churn only.
    lapsed : bool, optional
        Inactivity churn only: label the lapsed customers too; defaults to
        :func:`includes_lapsed` (see :func:`population`).

    Returns
    -------
    pandas.DataFrame
        Indexed by (customer_id, cutoff) with ``churned`` (int8, 0/1) and, for cancellation
        labels, ``churn_type`` (``voluntary``/``involuntary``/None) and ``churned_at``.
    """
    kind = label_kind(data, kind)
    if kind == "snapshot":
        pop = population(data, cutoffs, kind="auto")
        return pd.DataFrame(
            {"churned": data.customers[data.label_column].to_numpy(np.int8)}, index=pop.index
        )
    horizon = parse_window(horizon)
    as_of = _as_of(data, as_of)
    complete = complete_cutoffs(cutoffs, horizon, as_of)
    pop = population(data, complete, kind=kind, lookback=lookback, lapsed=lapsed)
    codes = data.customer_codes(pop.index.get_level_values("customer_id"))
    cut = np.asarray(pop.index.get_level_values("cutoff"), dtype="datetime64[ns]")
    end = cut + np.timedelta64(horizon.value, "ns")
    out = pd.DataFrame(index=pop.index)
    if kind == "cancellation":
        churned_at = data.customers["churned_at"].to_numpy(dtype="datetime64[ns]")[codes]
        hit = ~np.isnat(churned_at) & (churned_at > cut) & (churned_at <= end)
        out["churned"] = hit.astype(np.int8)
        if "churn_type" in data.customers:
            types = data.customers["churn_type"].to_numpy(dtype=object)[codes]
            out["churn_type"] = np.where(hit, types, None)
        out["churned_at"] = np.where(hit, churned_at, np.datetime64("NaT"))
    else:
        _, index = activity_index(data)
        # events in [cut, end) known at as_of (strictly before it). An event exactly at the
        # cutoff is not a feature (features see events before the cutoff) so it is part of
        # the outcome: with day-precision dates, the cutoff day's orders count as coming back.
        known = np.minimum(end, np.datetime64(as_of.value, "ns"))
        seen = index.count_between(codes, cut, known) > 0
        out["churned"] = (~seen).astype(np.int8)
    return out


def customer_status(
    data: EventData,
    rows: Any,
    horizon: Any = "28D",
    *,
    kind: LabelChoice = "auto",
    lookback: Any = "90D",
) -> pd.Series:
    """Status of each (customer_id, cutoff) row: ``new``, ``active`` or ``lapsed``.

    Only what is known before the cutoff is used:

    * ``new``: signed up within one horizon before the cutoff
      (``signup_at >= cutoff - horizon``);
    * ``lapsed`` (inactivity churn only): not new, and no activity (or, without an activity
      table, no successful payment) in ``[cutoff - lookback, cutoff)``;
    * ``active``: everyone else. Cancellation churn has no lapsed customers (a subscriber who
      has not cancelled is a customer however quiet), and a snapshot table has only ``active``.

    Parameters
    ----------
    data : EventData
    rows : pandas.MultiIndex or DataFrame
        (customer_id, cutoff) rows, e.g. a :func:`population` index.
    horizon : duration, default "28D"
    kind : {"auto", "cancellation", "inactivity"}
    lookback : duration, default "90D"

    Returns
    -------
    pandas.Series
        Indexed like ``rows``, named ``status``, object dtype.

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": [1, 2, 3],
    ...                           "signup_at": ["2024-01-01", "2024-01-01", "2024-05-20"]})
    >>> activity = pd.DataFrame({"customer_id": [1, 2, 3],
    ...                          "timestamp": ["2024-05-01", "2024-01-02", "2024-05-21"]})
    >>> data = EventData(customers, activity=activity)
    >>> pop = population(data, ["2024-06-01"], kind="inactivity", lapsed=True)
    >>> customer_status(data, pop, "28D", kind="inactivity", lookback="90D").tolist()
    ['active', 'lapsed', 'new']
    """
    index = rows.index if isinstance(rows, pd.DataFrame) else rows
    out = np.full(len(index), "active", dtype=object)
    if data.is_snapshot or kind == "snapshot" or len(index) == 0:
        return pd.Series(out, index=index, name="status")
    codes = data.customer_codes(index.get_level_values("customer_id"))
    cut = np.asarray(index.get_level_values("cutoff"), dtype="datetime64[ns]")
    kind = label_kind(data, kind)
    signup = data.customers["signup_at"].to_numpy(dtype="datetime64[ns]")[codes]
    new = signup >= cut - np.timedelta64(parse_window(horizon).value, "ns")
    if kind == "inactivity":
        _, events = activity_index(data)
        start = cut - np.timedelta64(parse_window(lookback).value, "ns")
        out[events.count_between(codes, start, cut) == 0] = "lapsed"
    out[new] = "new"
    return pd.Series(out, index=index, name="status")
