"""Usage features of an app's or service's event log: sessions, active days, regularity.

The usage family of :func:`churnpredict.features.default_builders` (``business="usage"``):
what a log of use says beyond event counts. Every window is ``[cutoff - window, cutoff)``;
all rows are answered at once by binary searches over the activity events sorted by
(customer, time), as in the engagement family.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from .._bgnbd import expected_purchases, fit_bgnbd, p_no_purchase
from .._data import EventData
from .._eventindex import BitRank, EventIndex
from .._params import Constraint, Duration, Windows
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
from ._engagement import _first_of_day

__all__ = ["UsageFeatures"]

_DAY_NS = 86_400 * 10**9


class UsageFeatures(FeatureBuilder):
    """Sessions, active days and how regularly each customer comes back, before the cutoff.

    A session is a run of events with no gap longer than ``session_gap`` (30 minutes by
    default, the common web-analytics rule); it starts at its first event.

    Parameters
    ----------
    windows : sequence of durations, default (7, 30)
        Windows of the session counts, rates and shares.
    session_gap : duration, default "30min"
        Longest pause inside one session.
    horizon : duration, default 28
        The prediction horizon, for the chance of no use in it (the pipeline sets its own).
    bgnbd : bool, default True
        Add the BG/NBD chance of no active day in the horizon.
    min_customers : int, default 20
        Customers with a history a BG/NBD fit needs at a cutoff (else its columns are NaN
        there).

    Attributes
    ----------
    windows_ : tuple of pandas.Timedelta
    session_gap_ : pandas.Timedelta
    horizon_ : pandas.Timedelta

    Notes
    -----
    Columns (``W`` = each window label such as ``7d``):

    * ``sessions_W``: sessions started in the window;
    * ``sessions_change_W``: sessions in the window minus sessions in the window before it
      (the customer's own past: "3 sessions in the last 7 days, down from 9");
    * ``sessions_per_week_W``: sessions a week over the recorded part of the window (after
      signup and the log's start, at least a day);
    * ``events_per_session_W``: events per session in the window (NaN without a session);
    * ``active_day_share_W``: share of the window's recorded days (at least one) with an
      event;
    * ``usual_gap_days``: mean days between the customer's active days before the cutoff
      (first to last active day over the active days minus one; NaN with fewer than two);
    * ``silence_vs_usual_gap``: days since the last event over the usual gap: 1 is a
      customer as regular as ever, 5 one away five times longer than usual;
    * with ``bgnbd``: ``p_no_use_H`` and ``expected_active_days_H``, the chance of no active
      day in the next ``H`` (the horizon) and the active days expected in it, from a BG/NBD
      model (:mod:`churnpredict._bgnbd`) fitted at each cutoff on every customer's active
      days before it (a visit is a repeat "transaction" as much as an order is).

    As in the engagement family, counts over windows reaching before the start of an export
    that began after the customer signed up are not observed (NaN); rates and shares use the
    recorded part.
    """

    tables = ("activity",)
    group = "engagement"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "windows": Windows(),
        "session_gap": Duration(),
        "horizon": Duration(),
    }

    def __init__(
        self,
        *,
        windows: Sequence[Any] = (7, 30),
        session_gap: Any = "30min",
        horizon: Any = 28,
        bgnbd: bool = True,
        min_customers: int = 20,
    ) -> None:
        self.windows = windows
        self.session_gap = session_gap
        self.horizon = horizon
        self.bgnbd = bgnbd
        self.min_customers = min_customers

    def _fit_parameters(self) -> None:
        """Check the windows, the session gap and the horizon."""
        self.windows_ = _parse_windows(self.windows, "windows")
        self.session_gap_ = _positive_window(self.session_gap, "session_gap")
        self.horizon_ = _positive_window(self.horizon, "horizon")

    # ------------------------------------------------------------------ metadata
    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        g = self.group
        infos: list[FeatureInfo] = []
        for w in self.windows_:
            lab, text, days = window_label(w), window_text(w), w / pd.Timedelta(days=1)
            infos += [
                FeatureInfo(
                    f"sessions_{lab}",
                    g,
                    f"{{value}} in the last {text}",
                    kind="count",
                    noun="session",
                    fact="sessions",
                    window_days=days,
                    past_change=f"sessions_change_{lab}",
                    past_label=f"the {text} before",
                ),
                FeatureInfo(
                    f"sessions_change_{lab}",
                    g,
                    f"{{value}} in the last {text} vs the {text} before",
                    kind="change",
                    noun="session",
                    fact="sessions",
                    window_days=2 * days,
                ),
                FeatureInfo(
                    f"sessions_per_week_{lab}",
                    g,
                    f"{{value}} a week over the last {text}",
                    kind="rate",
                    noun="session",
                    fact="sessions",
                    window_days=days,
                ),
                FeatureInfo(
                    f"events_per_session_{lab}",
                    g,
                    f"{{value}} per session over the last {text}",
                    kind="rate",
                    noun="event",
                    fact="session depth",
                    window_days=days,
                ),
                FeatureInfo(
                    f"active_day_share_{lab}",
                    g,
                    f"active on {{value}} of days in the last {text}",
                    kind="share",
                    fact="active days",
                    window_days=days,
                ),
            ]
        longest = self.windows_[-1] / pd.Timedelta(days=1)
        infos += [
            FeatureInfo(
                "usual_gap_days",
                g,
                "usually back within {value}",
                kind="days",
                fact="regularity",
                window_days=longest,
            ),
            FeatureInfo(
                "silence_vs_usual_gap",
                g,
                "away {value:.1f} times longer than their usual gap between active days",
                fact="regularity",
                window_days=longest,
            ),
        ]
        if self.bgnbd:
            hlab, htext = window_label(self.horizon_), window_text(self.horizon_)
            infos += [
                FeatureInfo(  # in words: churn_probability is the one probability said
                    f"p_no_use_{hlab}",
                    g,
                    f"their pattern of use says a visit in the next {htext} is unlikely",
                    f"their pattern of use says they will be back in the next {htext}",
                    "no pattern of use to judge yet",
                    kind="share",
                    fact="regularity",
                    window_days=longest,
                ),
                FeatureInfo(
                    f"expected_active_days_{hlab}",
                    g,
                    f"{{value}} expected in the next {htext}",
                    kind="rate",
                    noun="active day",
                    fact="regularity",
                    window_days=longest,
                ),
            ]
        return infos

    # ------------------------------------------------------------------ build
    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Usage features for every (customer_id, cutoff) row."""
        names = [info.name for info in self.feature_info()]
        if len(rows) == 0:
            return pd.DataFrame({n: np.empty(0) for n in names}, index=rows.index)
        out = _Columns(names, len(rows))
        codes = rows.codes
        cut = rows.cutoffs.astype("datetime64[ns]").view(np.int64)
        since, late = recorded_since(data, "activity", codes, rows.cutoffs)
        index = self.event_index(data, "activity")
        days = _first_of_day(data, index)
        starts = _session_starts(data, index, self.session_gap_)

        def at(offset: int) -> np.ndarray:
            return index.position(codes, cut - offset)

        q = at(0)
        for w in self.windows_:
            lab = window_label(w)
            p, before = at(w.value), at(2 * w.value)
            sessions = (starts.rank(q) - starts.rank(p)).astype(np.float64)
            previous = (starts.rank(p) - starts.rank(before)).astype(np.float64)
            out[f"sessions_{lab}"] = not_observed(sessions, late, cut - w.value, since)
            out[f"sessions_change_{lab}"] = not_observed(
                sessions - previous, late, cut - 2 * w.value, since
            )
            recorded = _recorded_days(cut, since, w)
            out[f"sessions_per_week_{lab}"] = sessions / recorded * 7
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"events_per_session_{lab}"] = np.where(
                    sessions > 0, (q - p) / sessions, np.nan
                )
            partial = (q > p) & ~days.get(p)  # the window's first day began before it
            active = days.rank(q) - days.rank(p) + partial
            out[f"active_day_share_{lab}"] = np.minimum(active / np.ceil(recorded), 1.0)

        gap, silence = _regularity(index, days, codes, cut, q)
        out["usual_gap_days"] = gap
        out["silence_vs_usual_gap"] = silence
        if self.bgnbd:
            quiet, expected = self._bgnbd(data, index, days, codes, cut)
            hlab = window_label(self.horizon_)
            out[f"p_no_use_{hlab}"] = quiet
            out[f"expected_active_days_{hlab}"] = expected
        return out.frame(rows.index)

    def _bgnbd(
        self, data: EventData, index: EventIndex, days: BitRank, codes: np.ndarray, cut: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """BG/NBD on active days, fitted once per cutoff on every customer active before it
        (so a row's value does not depend on which rows are built)."""
        quiet, expected = np.full(len(codes), np.nan), np.full(len(codes), np.nan)
        everyone = np.arange(len(data.customers), dtype=np.int64)
        first = index.starts[:-1]
        t = self.horizon_ / pd.Timedelta(days=1)
        for value in np.unique(cut):
            pos = index.position(everyone, np.full(len(everyone), value).view("datetime64[ns]"))
            some = pos > first
            k = (days.rank(pos) - days.rank(first))[some].astype(np.float64)
            f_day = index.times[first[some]] // _DAY_NS * _DAY_NS
            l_day = index.times[pos[some] - 1] // _DAY_NS * _DAY_NS
            x, t_x, T = k - 1, (l_day - f_day) / _DAY_NS, (value - f_day) / _DAY_NS
            fit = fit_bgnbd(x, t_x, T, min_customers=int(self.min_customers))
            if not fit.converged:
                warnings.warn(
                    f"UsageFeatures: the chance of no use could not be estimated at cutoff "
                    f"{pd.Timestamp(value)} ({int(some.sum())} customers active before it; "
                    f"at least {self.min_customers} with more than one active day are needed); "
                    f"its columns are left empty there",
                    ConvergenceWarning,
                    stacklevel=4,
                )
                continue
            theta = fit.as_tuple()
            mine = np.flatnonzero(cut == value)
            at = (np.cumsum(some) - 1)[codes[mine]]
            seen = some[codes[mine]]
            mine, at = mine[seen], at[seen]
            quiet[mine] = p_no_purchase(theta, t, x[at], t_x[at], T[at])
            expected[mine] = expected_purchases(theta, t, x[at], t_x[at], T[at])
        return quiet, expected


def _recorded_days(cut: np.ndarray, since: np.ndarray, window: pd.Timedelta) -> np.ndarray:
    """Days of ``[cutoff - window, cutoff)`` after ``since``; at least a day (or the window);
    NaN when none."""
    observed = (cut - np.maximum(cut - window.value, since)).astype(np.float64)
    floor = float(min(window.value, _DAY_NS))
    return np.where(observed > 0, np.maximum(observed, floor), np.nan) / _DAY_NS


def _regularity(
    index: EventIndex, days: BitRank, codes: np.ndarray, cut: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean days between active days before the cutoff, and the silence since over it."""
    first = index.starts[codes]
    has = q > first
    n_days = (days.rank(q) - days.rank(first)).astype(np.float64)
    gap = np.full(len(codes), np.nan)
    silence = np.full(len(codes), np.nan)
    two = has & (n_days >= 2)
    first_day = index.times[first[two]] // _DAY_NS
    last_day = index.times[q[two] - 1] // _DAY_NS
    gap[two] = (last_day - first_day) / (n_days[two] - 1)
    since_last = (cut[two] - index.times[q[two] - 1]) / _DAY_NS
    silence[two] = since_last / np.maximum(gap[two], 1.0)
    return gap, silence


def _session_starts(data: EventData, index: EventIndex, gap: pd.Timedelta) -> BitRank:
    """Which sorted events start a session (a customer's first, or after a longer pause)."""
    times, starts = index.times, index.starts
    limit = int(gap.value)

    def flags(lo: int, hi: int) -> np.ndarray:
        t = times[max(lo - 1, 0) : hi].astype(np.int64)
        out = np.empty(hi - lo, dtype=bool)
        if lo == 0:
            out[0] = True
            out[1:] = np.diff(t) > limit
        else:
            out[:] = np.diff(t) > limit
        new = starts[np.searchsorted(starts, lo) : np.searchsorted(starts, hi)]
        out[new - lo] = True
        return out

    return data.cached(
        ("usage", "session_starts", id(index), limit),
        lambda: BitRank.from_chunks(len(times), flags),
    )
