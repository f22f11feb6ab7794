"""Engagement features: recency, frequency and usage trend from the activity table.

Every window is ``[cutoff - window, cutoff)``: an event exactly at the cutoff is not seen, one
exactly at ``cutoff - window`` is. All rows are answered at once by binary search over the
activity events sorted by (customer, time), so the cost hardly grows with cutoffs or windows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._data import EventData
from .._eventindex import BitRank, EventIndex, sums_between
from .._params import (
    AnyOf,
    Constraint,
    Duration,
    Integer,
    Options,
    Satisfies,
    SequenceOf,
    Windows,
)
from ._base import (
    FeatureBuilder,
    FeatureInfo,
    FeatureRows,
    _Columns,
    _parse_windows,
    _positive_window,
    not_observed,
    recorded_since,
    window_label,
    window_text,
)

__all__ = ["EngagementFeatures"]

_DAY_NS = 86_400 * 10**9
_WEEK = pd.Timedelta(days=7)


def _said(text: str) -> str:
    """An event type as people read it: underscores as spaces, braces kept literal."""
    return _escape(str(text).replace("_", " "))


def _escape(text: str) -> str:
    """Make ``text`` safe inside a ``str.format`` template."""
    return text.replace("{", "{{").replace("}", "}}")


def _slugs(types: Sequence[str]) -> list[str]:
    """Column-safe names for event types: 'Page View' -> 'page_view', unique."""
    out: list[str] = []
    for i, t in enumerate(types):
        base = re.sub(r"[^0-9a-z]+", "_", str(t).lower()).strip("_") or f"type{i}"
        name, k = base, 2
        while name in out:
            name, k = f"{base}_{k}", k + 1
        out.append(name)
    return out


def _observed_days(
    start: np.ndarray, end: np.ndarray, signup: np.ndarray, length: pd.Timedelta
) -> np.ndarray:
    """Days of ``[start, end)`` after signup; at least ``min(1 day, length)``; NaN if none.

    ``start``, ``end`` and ``signup`` are int64 nanoseconds.
    """
    observed = (end - np.maximum(start, signup)).astype(np.float64)
    floor = float(min(length.value, _DAY_NS))
    out = np.where(observed > 0, np.maximum(observed, floor), np.nan)
    return out / _DAY_NS


class EngagementFeatures(FeatureBuilder):
    """Recency, frequency and usage trend of each customer's activity before the cutoff.

    Every window is ``[cutoff - window, cutoff)``: only events strictly before the cutoff
    count, and an event exactly at ``cutoff - window`` is inside the window.

    Parameters
    ----------
    windows : sequence of durations, default (7, 30, 90)
        Frequency windows, in days (int) or as strings such as ``"30D"`` or ``"12h"``.
    trend_window : duration or None, default 30
        The usage trend compares ``[cutoff - trend_window, cutoff)`` with the
        ``trend_window`` before it. None leaves the trend out.
    trend_weeks : int or None, default 8
        Weeks of weekly counts behind the least-squares slope. None or 0 leaves it out.
    event_types : "auto", sequence of str or None, default "auto"
        Event types (``activity.event``) counted separately. ``"auto"`` learns the most
        frequent ones in :meth:`fit`; None counts all events together only.
    max_event_types : int, default 8
        How many types ``"auto"`` keeps.

    Attributes
    ----------
    windows_ : tuple of pandas.Timedelta
        Validated windows, shortest first.
    trend_window_ : pandas.Timedelta or None
    trend_weeks_ : int
    event_types_ : list of str
        Event types with their own columns, most frequent first.
    has_value_ : bool
        Whether the activity table has a ``value`` column (its sums are features).
    value_kind_ : str or None
        What the values are declared to hold (``EventData(value_kind=...)``): their sums read
        as time of use, money or counted items in reasons.

    Notes
    -----
    Columns (``W`` = each window label such as ``30d``, ``T`` = each learned event type,
    ``TW`` = the trend window label, ``K`` = ``trend_weeks``):

    * ``days_since_last_activity``: days from the last event before the cutoff to the cutoff;
      NaN when the customer has no event before it (the gradient-boosted model learns where
      missing values go, which is better than an arbitrary large number);
    * ``days_since_last_T``: the same for each event type (e.g. the last login);
    * ``events_W``: number of events in the window;
    * ``active_days_W``: distinct UTC calendar days with an event in the window (exact even
      when the window edges are not at midnight);
    * ``events_per_day_W``: events per *observed* day, the part of the window after signup
      (``min(window, time since signup)``, at least one day so that a signup minutes before
      the cutoff does not read as a burst), so a new customer's few events are not read as
      disengagement; NaN when the window ends before signup;
    * ``value_sum_W``: sum of ``activity.value`` in the window (only with a ``value`` column);
    * ``events_T_W``: events of each type in the window;
    * ``activity_trend_ratio_TW``: the event rate in the last trend window divided by the rate
      in the trend window before it, each rate over the observed (after-signup) part of its
      window; for customers older than twice the trend window this is simply
      ``last / previous``. NaN when the previous window has no event;
    * ``activity_trend_diff_TW``: events in the last trend window minus events in the one
      before (plain counts);
    * ``weekly_events_slope_Kw``: least-squares slope of weekly event counts (events per week,
      per week) over the last ``K`` weeks ``[cutoff - 7k days, cutoff - 7(k-1) days)``, using
      only weeks that start on or after signup (a partly observed first week would read as
      growth); NaN with fewer than two such weeks.

    When the activity log starts after a customer's signup (an export of recent events;
    :attr:`EventData.observed_start`), the time before the start is not observed: counts
    and sums over windows reaching before it are NaN (never zero, so no "up from 0" comes
    from the log's edge), and rates, the trend ratio and the slope use only the recorded part
    (as they use only the part after signup).
    """

    tables = ("activity",)
    group = "engagement"
    row_wise = True
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "windows": Windows(),
        "trend_window": AnyOf(None, Duration()),
        "trend_weeks": AnyOf(
            Integer(min=2),
            Integer(0, 0),
            None,
            expected="an integer of at least 2 weeks (a slope needs two), or 0 or None to "
            "leave it out",
        ),
        "event_types": AnyOf(
            Options("auto", None),
            Satisfies(
                lambda types: SequenceOf(str).accepts(types) and len(set(types)) == len(types),
                expected="a list of distinct event types such as ['login', 'export']",
            ),
        ),
        "max_event_types": Integer(min=0),
    }

    def __init__(
        self,
        *,
        windows: Sequence[Any] = (7, 30, 90),
        trend_window: Any = 30,
        trend_weeks: int | None = 8,
        event_types: str | Sequence[str] | None = "auto",
        max_event_types: int = 8,
    ) -> None:
        self.windows = windows
        self.trend_window = trend_window
        self.trend_weeks = trend_weeks
        self.event_types = event_types
        self.max_event_types = max_event_types

    # ------------------------------------------------------------------ fit
    def _fit_statistics(self, data: EventData, rows: FeatureRows | None) -> dict[str, Any]:
        """The activity columns and the event-type counts before the rows' latest cutoff.

        Parameters
        ----------
        data : EventData
        rows : cutoffs, MultiIndex or FeatureRows, optional
            When given, only events before the latest cutoff of these rows are counted, so
            the learned columns never depend on later data.

        Returns
        -------
        dict
            ``has_value``, ``has_event`` (the activity columns), ``rows`` (whether rows were
            given), ``latest`` (their latest cutoff; None without rows) and ``counts``
            (event type -> events, types seen only).
        """
        activity = data.activity
        stats: dict[str, Any] = {
            "has_value": "value" in activity.columns,
            "value_kind": getattr(data, "value_kind", None),
            "has_event": "event" in activity.columns,
            "rows": rows is not None,
            "latest": None,
            "counts": {},
        }
        if not (isinstance(self.event_types, str) and stats["has_event"]):
            return stats  # types are given (or not wanted): nothing to count
        codes, uniques = _event_codes(data)
        latest = None
        if rows is not None:
            if len(rows) == 0:
                return stats
            latest = pd.Timestamp(rows.cutoffs.max())
        counts = _count_types(codes, len(uniques), activity["timestamp"], latest)
        seen = np.flatnonzero(counts)
        stats["latest"] = latest
        stats["counts"] = {str(uniques[k]): int(counts[k]) for k in seen}
        return stats

    @classmethod
    def combine_statistics(cls, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Event-type counts summed over the parts, at the latest cutoff of all their rows.

        A part whose rows end before that cutoff (or that has no rows) adds no counts: its
        customers are in no row at the latest cutoff. Parts of the same rows split by customer
        (customer partitions) all reach it unless none of their customers is in the population
        there.
        """
        parts = list(parts)
        if not parts:
            raise ValueError("EngagementFeatures.combine_statistics needs at least one part")
        latest = max((p["latest"] for p in parts if p["latest"] is not None), default=None)
        counts: dict[str, int] = {}
        for p in parts:
            if p["latest"] == latest:
                for name, n in p["counts"].items():
                    counts[name] = counts.get(name, 0) + int(n)
        kinds = [p.get("value_kind") for p in parts if p.get("value_kind") is not None]
        return {
            "has_value": any(p["has_value"] for p in parts),
            "value_kind": kinds[0] if kinds else None,
            "has_event": any(p["has_event"] for p in parts),
            "rows": any(p["rows"] for p in parts),
            "latest": latest,
            "counts": counts,
        }

    def _fit(self, stats: dict[str, Any]) -> None:
        """Validate the parameters and keep the most frequent event types.

        Parameters
        ----------
        stats : dict
            :meth:`fit_statistics` of the whole data, or :meth:`combine_statistics` of parts.
        """
        self.has_value_ = bool(stats["has_value"])
        self.value_kind_ = stats.get("value_kind")
        if self.event_types is None or not stats["has_event"]:
            self.event_types_: list[str] = (
                [] if self.event_types in (None, "auto") else list(self.event_types)
            )
        elif isinstance(self.event_types, str):  # "auto"
            counts = stats["counts"]
            # most frequent first, ties by name; types never seen are left out
            order = sorted(
                (name for name, n in counts.items() if n > 0),
                key=lambda name: (-counts[name], name),
            )
            self.event_types_ = order[: self.max_event_types]
        else:
            self.event_types_ = list(self.event_types)

    def _fit_parameters(self) -> None:
        """Parse the windows and the trend window; take the number of trend weeks."""
        self.windows_ = _parse_windows(self.windows, "windows")
        self.trend_window_ = (
            None
            if self.trend_window is None
            else _positive_window(self.trend_window, "trend_window")
        )
        self.trend_weeks_ = int(self.trend_weeks or 0)

    # ------------------------------------------------------------------ metadata
    def _type_slugs(self) -> list[str]:
        return _slugs(self.event_types_)

    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        g = self.group
        types = list(zip(self.event_types_, self._type_slugs(), strict=True))
        # a customer younger than a month who is silent (or has never been active) is new,
        # not disengaged: reasons count recency as tenure below this age
        month = pd.Timedelta(days=30)
        young = min((w for w in self.windows_ if w >= month), default=self.windows_[-1])
        young_days = young / pd.Timedelta(days=1)
        infos = [
            FeatureInfo(
                "days_since_last_activity",
                g,
                "last active {value} ago",
                description_if_missing="no activity recorded yet",
                kind="days",
                fact="activity recency",
                window_days=young_days,
            )
        ]
        infos += [
            FeatureInfo(
                f"days_since_last_{slug}",
                g,
                f"last '{_said(t)}' event {{value}} ago",
                description_if_missing=f"no '{_said(t)}' event yet",
                kind="days",
                fact="activity recency",
                window_days=young_days,
            )
            for t, slug in types
        ]
        for w in self.windows_:
            lab, text, days = window_label(w), window_text(w), w / pd.Timedelta(days=1)
            past = {}
            if self.trend_window_ is not None and self.trend_window_ == w:
                past = {
                    "past_change": f"activity_trend_diff_{lab}",
                    "past_label": f"the {text} before",
                }
            infos += [
                FeatureInfo(
                    f"events_{lab}",
                    g,
                    f"{{value}} in the last {text}",
                    kind="count",
                    noun="activity event",
                    fact="activity",
                    window_days=days,
                    **past,
                ),
                FeatureInfo(
                    f"active_days_{lab}",
                    g,
                    f"active on {{value}} in the last {text}",
                    kind="count",
                    noun="day",
                    fact="activity",
                    window_days=days,
                ),
                FeatureInfo(
                    f"events_per_day_{lab}",
                    g,
                    f"{{value}} a day over the last {text}",
                    kind="rate",
                    noun="activity event",
                    fact="activity",
                    window_days=days,
                ),
            ]
            if self.has_value_:
                infos.append(self._value_info(lab, text, days))
            infos += [
                FeatureInfo(
                    f"events_{slug}_{lab}",
                    g,
                    f"{{value}} in the last {text}",
                    kind="count",
                    noun=f"'{str(t).replace('_', ' ')}' event",
                    fact=f"event {slug}",
                    window_days=days,
                )
                for t, slug in types
            ]
        if self.trend_window_ is not None:
            lab, text = window_label(self.trend_window_), window_text(self.trend_window_)
            days = 2 * (self.trend_window_ / pd.Timedelta(days=1))
            infos += [
                FeatureInfo(
                    f"activity_trend_ratio_{lab}",
                    g,
                    f"activity in the last {text} at {{value}} of the {text} before",
                    kind="share",
                    fact="activity trend",
                    window_days=days,
                ),
                FeatureInfo(
                    f"activity_trend_diff_{lab}",
                    g,
                    f"{{value}} in the last {text} vs the {text} before",
                    kind="change",
                    noun="activity event",
                    fact="activity trend",
                    window_days=days,
                ),
            ]
        if self.trend_weeks_:
            k = self.trend_weeks_
            infos.append(
                FeatureInfo(
                    f"weekly_events_slope_{k}w",
                    g,
                    f"weekly activity changing by {{value}} a week over the last {k} weeks",
                    kind="change",
                    noun="event",
                    fact="activity trend",
                    window_days=7.0 * k,
                )
            )
        return infos

    def _value_info(self, lab: str, text: str, days: float) -> FeatureInfo:
        """The window sum of ``activity.value``, worded by what the values are declared."""
        template, kind, noun = {
            "duration": (f"{{value}} of use in the last {text}", "seconds", None),
            "amount": (f"{{value}} spent in the last {text}", "money", None),
            "count": (f"{{value}} in the last {text}", "count", "counted item"),
        }.get(
            getattr(self, "value_kind_", None),
            (f"total activity value {{value}} in the last {text}", "number", None),
        )
        return FeatureInfo(
            f"value_sum_{lab}",
            "engagement",
            template,
            kind=kind,
            noun=noun,
            fact="activity",
            window_days=days,
        )

    # ------------------------------------------------------------------ build
    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Engagement features for every (customer_id, cutoff) row."""
        names = [info.name for info in self.feature_info()]
        if len(rows) == 0:
            return pd.DataFrame({n: np.empty(0) for n in names}, index=rows.index)
        act = _Activity.of(data, rows, self.windows_ if self.has_value_ else (), self.event_types_)
        out = _Columns(names, len(act.codes))
        out["days_since_last_activity"] = _recency(act.index, act.at, act.codes, act.cut)
        for k, slug in enumerate(self._type_slugs()):
            out[f"days_since_last_{slug}"] = (
                act.missing()
                if act.types is None
                else act.types.recency(k, act.at(0), act.type_at_cut[k], act.codes, act.cut)
            )
        for w in self.windows_:
            self._window_columns(out, act, w)
        if self.trend_window_ is not None:
            self._trend_columns(out, act, self.trend_window_)
        if self.trend_weeks_:
            k = self.trend_weeks_
            out[f"weekly_events_slope_{k}w"] = _weekly_slope(act.at, act.cut, act.signup, k)
        return out.frame(rows.index)

    def _window_columns(self, out: _Columns, act: _Activity, w: pd.Timedelta) -> None:
        """Events, active days, events per day, value sum and events per type in ``w``."""
        lab = window_label(w)
        p, q = act.at(w.value), act.at(0)
        count = (q - p).astype(np.float64)

        def seen(values: np.ndarray) -> np.ndarray:
            return not_observed(values, act.late, act.cut - w.value, act.signup)

        out[f"events_{lab}"] = seen(count)
        # distinct days: days whose first event falls in [p, q), plus the day of the
        # window's first event when that day started before the window
        partial = (q > p) & ~act.first_of_day.get(p)
        out[f"active_days_{lab}"] = seen(
            (act.first_of_day.rank(q) - act.first_of_day.rank(p) + partial).astype(np.float64)
        )
        observed = _observed_days(act.cut - w.value, act.cut, act.signup, w)
        out[f"events_per_day_{lab}"] = count / observed
        if self.has_value_:
            out[f"value_sum_{lab}"] = (
                act.missing() if act.values is None else seen(act.value_sums[w])
            )
        for k, slug in enumerate(self._type_slugs()):
            out[f"events_{slug}_{lab}"] = (
                act.missing()
                if act.types is None
                else seen((act.type_at_cut[k] - act.types.rank(k, p)).astype(np.float64))
            )

    @staticmethod
    def _trend_columns(out: _Columns, act: _Activity, tw: pd.Timedelta) -> None:
        """The event rate in the last trend window against the one before: ratio and diff."""
        lab = window_label(tw)
        cut, signup = act.cut, act.signup
        last = (act.at(0) - act.at(tw.value)).astype(np.float64)
        prev = (act.at(tw.value) - act.at(2 * tw.value)).astype(np.float64)
        obs_last = _observed_days(cut - tw.value, cut, signup, tw)
        obs_prev = _observed_days(cut - 2 * tw.value, cut - tw.value, signup, tw)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (last / obs_last) / (prev / obs_prev)
        ratio = np.where((prev > 0) & np.isfinite(ratio), ratio, np.nan)
        out[f"activity_trend_ratio_{lab}"] = ratio
        out[f"activity_trend_diff_{lab}"] = not_observed(
            last - prev, act.late, cut - 2 * tw.value, signup
        )


@dataclass
class _Activity:
    """What every engagement column of a set of rows reads: positions, flags, sums."""

    codes: np.ndarray
    cut: np.ndarray  # int64 ns
    signup: np.ndarray  # since when the log records each row's customer (int64 ns)
    late: np.ndarray  # the log starts after the customer's signup
    index: EventIndex
    at: _Positions
    first_of_day: BitRank
    values: np.ndarray | None
    value_sums: dict[pd.Timedelta, np.ndarray]
    types: _TypeFlags | None
    type_at_cut: list[np.ndarray]

    @classmethod
    def of(
        cls,
        data: EventData,
        rows: FeatureRows,
        value_windows: Sequence[pd.Timedelta],
        event_types: list[str],
    ) -> _Activity:
        """The activity of ``rows``; values summed over ``value_windows`` (none: no values)."""
        codes = rows.codes
        cut = rows.cutoffs.astype("datetime64[ns]").view(np.int64)
        # since when the log records each customer: signup, or the log's start if later
        signup, late = recorded_since(data, "activity", codes, rows.cutoffs)
        index = FeatureBuilder.event_index(data, "activity")
        at = _Positions(index, codes, cut)
        values = _sorted_values(data, index) if value_windows else None
        # each window's values summed on their own: exact per customer (see sums_between)
        value_sums = (
            {}
            if values is None
            else dict(
                zip(
                    value_windows,
                    sums_between(values, at(0), [at(w.value) for w in value_windows]),
                    strict=True,
                )
            )
        )
        types = _type_flags(data, index, event_types)
        type_at_cut = (
            [] if types is None else [types.rank(k, at(0)) for k in range(len(event_types))]
        )
        return cls(
            codes,
            cut,
            signup,
            late,
            index,
            at,
            _first_of_day(data, index),
            values,
            value_sums,
            types,
            type_at_cut,
        )

    def missing(self) -> np.ndarray:
        """A column of NaN (a table lacking what the builder was fitted with)."""
        return np.full(len(self.codes), np.nan)


class _Positions:
    """Positions of ``cutoff - offset`` in an index, computed once per offset."""

    def __init__(self, index: EventIndex, codes: np.ndarray, cut: np.ndarray) -> None:
        self.index, self.codes, self.cut = index, codes, cut
        self._done: dict[int, np.ndarray] = {}

    def __call__(self, offset_ns: int) -> np.ndarray:
        pos = self._done.get(offset_ns)
        if pos is None:
            pos = self.index.position(self.codes, self.cut - offset_ns)
            self._done[offset_ns] = pos
        return pos


class _TypeFlags:
    """Which sorted events are of each learned type, one :class:`BitRank` per type.

    The number of type-``k`` events among sorted positions ``[p, q)`` is then
    ``rank(k, q) - rank(k, p)``, reusing the base index's window edges, and the last
    type-``k`` event before a position is a ``select``.
    """

    def __init__(self, index: EventIndex, flags: list[BitRank]) -> None:
        self.index = index
        self.flags = flags

    def rank(self, k: int, pos: np.ndarray) -> np.ndarray:
        """Number of type-``k`` events before each sorted position ``pos``."""
        return self.flags[k].rank(pos)

    def recency(
        self,
        k: int,
        pos_at_cut: np.ndarray,
        rank_at_cut: np.ndarray,
        codes: np.ndarray,
        cut: np.ndarray,
    ) -> np.ndarray:
        """Days from the last type-``k`` event before the cutoff to the cutoff (NaN if none)."""
        out = np.full(len(codes), np.nan)
        last = self.flags[k].last_before(pos_at_cut, rank_at_cut)
        rows = np.flatnonzero(last >= self.index.starts[codes])  # this customer's event
        out[rows] = (cut[rows] - self.index.times[last[rows]]) / _DAY_NS
        return out


def _type_flags(data: EventData, index: EventIndex, types: list[str]) -> _TypeFlags | None:
    """Cached :class:`_TypeFlags` for ``types`` (None without an ``event`` column)."""
    if not types:
        return _TypeFlags(index, [])
    if "event" not in data.activity.columns:
        return None

    def compute() -> _TypeFlags:
        codes, uniques = _event_codes(data)
        lookup = {str(u): k for k, u in enumerate(uniques)}
        sorted_codes = index.sorted_values(codes)
        n = len(sorted_codes)
        wanted = [lookup.get(t, -2) for t in types]  # -2 matches nothing: an absent type
        flags = [
            BitRank.from_chunks(n, lambda lo, hi, c=c: sorted_codes[lo:hi] == c) for c in wanted
        ]
        return _TypeFlags(index, flags)

    return data.cached(("engagement", "type_flags", id(index), tuple(types)), compute)


def _recency(index: EventIndex, at: _Positions, codes: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Days from each customer's last event before the cutoff to the cutoff (NaN if none)."""
    pos = at(0)
    has = pos > index.starts[codes]
    out = np.full(len(codes), np.nan)
    last = index.times[pos[has] - 1]
    out[has] = (cut[has] - last) / _DAY_NS
    return out


def _weekly_slope(at: _Positions, cut: np.ndarray, signup: np.ndarray, weeks: int) -> np.ndarray:
    """Least-squares slope of weekly counts over fully observed weeks (NaN if < 2 weeks).

    Week ``j`` (0 = oldest) is ``[cutoff - 7 (weeks - j) days, cutoff - 7 (weeks - j - 1) days)``;
    it is used when it starts on or after signup. One pass per week over 1-D arrays.
    """
    week = _WEEK.value
    edges = [at(m * week) for m in range(weeks, -1, -1)]  # oldest edge first
    used = [(cut - week * (weeks - j)) >= signup for j in range(weeks)]
    n = np.zeros(len(cut))
    sum_x = np.zeros(len(cut))
    sum_y = np.zeros(len(cut))
    for j in range(weeks):
        n += used[j]
        sum_x += used[j] * float(j)
        sum_y += np.where(used[j], edges[j + 1] - edges[j], 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = sum_x / n
        ybar = sum_y / n
        num = np.zeros(len(cut))
        den = np.zeros(len(cut))
        for j in range(weeks):
            dx = np.where(used[j], j - xbar, 0.0)
            num += dx * ((edges[j + 1] - edges[j]) - ybar)
            den += dx * dx
        slope = num / den
    return np.where(n >= 2, slope, np.nan)


def _event_codes(data: EventData) -> tuple[np.ndarray, np.ndarray]:
    """Integer code of each activity event's type (-1 when missing), cached per data."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        event = data.activity["event"]
        if isinstance(event.dtype, pd.CategoricalDtype):  # the codes are there already
            return event.cat.codes.to_numpy(), np.asarray(event.cat.categories, dtype=object)
        codes, uniques = pd.factorize(event, use_na_sentinel=True)
        small = np.int16 if len(uniques) < 2**15 else np.int64  # 2 bytes an event, not 8
        return np.asarray(codes, dtype=small), np.asarray(uniques, dtype=object)

    return data.cached(("engagement", "event_codes"), compute)


def _count_types(codes: np.ndarray, n_types: int, times: pd.Series, before: Any) -> np.ndarray:
    """Events of each type code (``-1``, missing, not counted), only those before ``before``
    when it is given; a chunk at a time, so tens of millions of events need no large copy."""
    stamps = times.to_numpy()[: len(codes)]  # datetime64[ns], as EventData keeps it
    limit = None if before is None else np.datetime64(before, "ns")
    counts = np.zeros(n_types + 1, dtype=np.int64)
    step = 1 << 20
    for lo in range(0, len(codes), step):
        part = codes[lo : lo + step]
        if limit is not None:
            part = part[stamps[lo : lo + step] < limit]
        counts += np.bincount(part.astype(np.intp) + 1, minlength=n_types + 1)
    return counts[1:]


def _first_of_day(data: EventData, index: EventIndex) -> BitRank:
    """Which sorted events are their customer's first on their UTC day, as a :class:`BitRank`."""
    times, starts = index.times, index.starts

    def first(lo: int, hi: int) -> np.ndarray:
        day = times[max(lo - 1, 0) : hi] // _DAY_NS
        flag = np.empty(hi - lo, dtype=bool)
        if lo == 0:
            flag[0] = True
            np.not_equal(day[1:], day[:-1], out=flag[1:])
        else:
            np.not_equal(day[1:], day[:-1], out=flag)
        # each customer's first event
        new = starts[np.searchsorted(starts, lo) : np.searchsorted(starts, hi)]
        flag[new - lo] = True
        return flag

    return data.cached(
        ("engagement", "first_of_day", id(index)), lambda: BitRank.from_chunks(len(times), first)
    )


def _sorted_values(data: EventData, index: EventIndex) -> np.ndarray | None:
    """``activity.value`` in the index's order, missing values NaN (None without values).

    Events already in (customer, time) order give the column's own array, not a copy;
    :func:`~churnpredict._eventindex.sums_between` counts NaN as 0 window by window.
    """
    if "value" not in data.activity.columns:
        return None
    return data.cached(
        ("engagement", "sorted_values", id(index)),
        lambda: index.sorted_values(
            data.activity["value"].to_numpy(dtype=np.float64, na_value=np.nan)
        ),
    )
