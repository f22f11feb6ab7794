"""Purchase-history features: orders, gaps between them, order-rate and spend trends, BG/NBD.

For shops, marketplaces and apps, where churn is "no purchase for a while". Every feature of a
(customer, cutoff) row uses only purchases strictly before the cutoff; windows are
``[cutoff - window, cutoff)``.

**What is a purchase, what is an order.** Purchases are the events the inactivity label counts:
the activity table (optionally one ``event`` type, e.g. ``"purchase"``), or, without an
activity table, the successful payments; their value is ``activity.value`` or
``payments.amount``. The UCI Online Retail recipe writes every invoice as both a ``purchase``
activity event (``value`` = invoice total) and a succeeded payment, so either source gives the
same orders. An **order** is a UTC calendar day with at least one purchase, dated by its first
purchase: several invoices on one day are one order (one basket split in two is not two
visits, and BG/NBD's Poisson purchase process is a process of visits). Gaps between orders are
therefore whole days, at least 1.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from .._data import EventData
from .._eventindex import EventIndex, sums_between
from .._exceptions import ChurnParameterError
from .._params import (
    AnyOf,
    Constraint,
    Duration,
    InstanceOf,
    Integer,
    Options,
    Windows,
)
from ._base import (
    FeatureBuilder,
    FeatureInfo,
    FeatureRows,
    _Columns,
    _minus,
    _parse_windows,
    _positive_window,
    window_label,
    window_text,
)

__all__ = ["PurchaseHistoryFeatures"]

logger = logging.getLogger("churnpredict")

_DAY = 86_400 * 10**9
_SOURCES = ("auto", "activity", "payments")
_MEDIAN_CHUNK = 1 << 22  # gaps sorted at a time when taking per-row medians


class _Orders:
    """Purchases of every customer sorted by (customer, time), and their order days.

    Attributes
    ----------
    events : EventIndex
        The purchase events.
    values : ndarray or None
        The purchase values in ``events`` order (None without values).
    orders : EventIndex
        One event per order day, at the day's first purchase.
    day : ndarray of int64
        Each order's day (nanoseconds at 00:00 UTC), in ``orders`` order.
    gap_days : ndarray of float64
        Days since the customer's previous order (0 for a customer's first order).
    """

    def __init__(self, events: EventIndex, values: np.ndarray | None, n_customers: int) -> None:
        self.events = events
        self.values = values
        codes, times = events.codes, events.times
        day = times // _DAY
        new = np.ones(len(times), dtype=bool)
        if len(times) > 1:
            new[1:] = (codes[1:] != codes[:-1]) | (day[1:] != day[:-1])
        first = np.flatnonzero(new)
        o_codes = np.asarray(codes[first], dtype=np.int64)
        self.orders = EventIndex(o_codes, times[first], n_customers)
        self.day = day[first] * _DAY
        gap = np.zeros(len(first), dtype=np.float64)
        if len(first) > 1:
            same = o_codes[1:] == o_codes[:-1]
            gap[1:] = np.where(same, (self.day[1:] - self.day[:-1]) / _DAY, 0.0)
        self.gap_days = gap


def _segment_medians(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Median of ``values[starts[i] : starts[i] + lengths[i]]`` for every i (NaN if empty).

    ``values`` are whole numbers >= 0 (gaps in days): each segment is sorted at once by one
    ``np.sort`` of ``segment * (max + 1) + value`` keys, in chunks of rows.
    """
    out = np.full(len(starts), np.nan)
    if len(values) == 0:
        return out
    top = int(values.max()) + 1
    lengths = lengths.astype(np.int64)
    ends = np.cumsum(lengths)
    lo = 0
    while lo < len(starts):
        # rows lo..hi whose segments hold at most _MEDIAN_CHUNK values (at least one row)
        base = ends[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(ends, base + _MEDIAN_CHUNK, side="right")), lo + 1)
        m = lengths[lo:hi]
        total = int(m.sum())
        if total:
            seg = np.repeat(np.arange(hi - lo, dtype=np.int64), m)
            first = np.cumsum(m) - m
            offset = np.arange(total, dtype=np.int64) - np.repeat(first, m)
            vals = values[np.repeat(starts[lo:hi], m) + offset].astype(np.int64)
            ordered = np.sort(seg * top + vals) % top
            has = m > 0
            a = ordered[first[has] + (m[has] - 1) // 2]
            b = ordered[first[has] + m[has] // 2]
            out[lo:hi][has] = (a + b) / 2.0
        lo = hi
    return out


class PurchaseHistoryFeatures(FeatureBuilder):
    """Lifetime purchase history: orders, gaps, how overdue, order-rate and spend trends, BG/NBD.

    Every value of a (customer, cutoff) row uses only purchases strictly before the cutoff;
    windows are ``[cutoff - window, cutoff)``. See the module docstring for what counts as a
    purchase and an order (a UTC day with at least one purchase).

    Parameters
    ----------
    source : {"auto", "activity", "payments"}, default "auto"
        Where purchases come from: ``"auto"`` takes the activity table when there is one (the
        events whose absence the inactivity label counts), else the successful payments.
    event : str, optional
        Only activity events of this type are purchases (e.g. ``"purchase"``); default all.
    trend_windows : sequence of durations, default (180, 365)
        Each window ``W`` compares orders in ``[cutoff - W, cutoff)`` with the ``W`` before.
    spend_window : duration, default 180
        Recent window for spend per order and its trend.
    horizon : duration, default 90
        Days ahead for the BG/NBD features.
    ranks : bool, default True
        Add where the customer's recency and age rank among all the shop's customers at the
        cutoff.
    bgnbd : bool, default True
        Fit BG/NBD at every cutoff (on all customers' purchases before it) and add P(alive),
        expected orders and P(no order) in the horizon.
    min_customers : int, default 20
        BG/NBD is not fitted at a cutoff with fewer customers with a purchase before it.

    Attributes
    ----------
    source_ : str
        ``"activity"`` or ``"payments"``.
    has_value_ : bool
        Whether purchases carry a value (spend columns are built).
    trend_windows_ : tuple of pandas.Timedelta
    spend_window_, horizon_ : pandas.Timedelta

    Notes
    -----
    Columns (``W`` = each trend window label such as ``180d``, ``S`` = the spend window,
    ``H`` = the horizon); every time is in days:

    * ``orders_to_date``: orders (order days) before the cutoff;
    * ``days_since_first_order`` (tenure group): cutoff minus the first order's day (00:00);
    * ``days_since_last_order``: cutoff minus the last order's day (00:00); NaN without orders;
    * ``orders_per_30d``: orders per 30 days since the first order day (at least one day);
    * ``mean_days_between_orders``: mean gap between consecutive orders, ``(last - first) /
      (orders - 1)``; NaN with fewer than two orders;
    * ``median_days_between_orders``: their median (the customer's usual gap);
    * ``order_gap_cv``: standard deviation of the gaps over their mean (NaN with fewer than
      two gaps): 0 for a clockwork customer, above 1 for a bursty one;
    * ``overdue_ratio``: ``days_since_last_order / mean_days_between_orders``: above 1, the
      customer is later than usual;
    * ``overdue_days``: ``days_since_last_order - median_days_between_orders``;
    * ``orders_W``, ``orders_prev_W``: orders in the last ``W`` and in the ``W`` before;
    * ``order_trend_W``: ``orders_W / orders_prev_W`` (NaN when the earlier window has none);
    * with values: ``spend_per_order`` (all purchases before the cutoff over orders),
      ``spend_W`` for the longest trend window, ``spend_per_order_S`` (recent), and
      ``spend_per_order_trend_S``: recent spend per order over spend per order before the
      window (NaN without orders in either part, or a non-positive earlier value);
    * with ``ranks``: ``recency_rank``, the share of the shop's customers (those with an order
      before the cutoff) whose last order is more recent (ties count one half): 1 for the
      longest-lapsed customer; and ``age_rank`` (tenure group), the same share for the first
      order. Trees cannot extrapolate: a shop's data a year long shows training cutoffs no
      customer silent for 250 days, while the test cutoff, months later, has many. Ranks put
      the longest-lapsed customers of every cutoff in the same place, so what the model learns
      about them at training cutoffs carries over;
    * with ``bgnbd``: ``bgnbd_p_alive``, ``bgnbd_expected_orders_H`` and ``bgnbd_p_no_order_H``
      from a BG/NBD model (:mod:`churnpredict._bgnbd`) fitted at each cutoff on every customer's
      orders before it (``x`` = orders - 1, ``t_x`` = last minus first order day, ``T`` =
      ``days_since_first_order``). When that fit is impossible or does not converge (too few
      customers, nobody bought twice), a :class:`~sklearn.exceptions.ConvergenceWarning`
      says so and the three columns are NaN at that cutoff: the columns stay, so scoring
      data always has the training columns, and the gradient-boosted model treats NaN as
      missing. NaN too for customers with no order yet.

    Windows count orders by the time of their day's first purchase, and spend by each
    purchase's own time. The ranks and the BG/NBD columns compare a customer with the others at
    the same cutoff (all customers with an order before it, whichever rows are built), so
    unlike the other columns they move when other customers' earlier purchases change; they
    never depend on anything at or after the cutoff. Built per customer partition (as
    :mod:`churnpredict.dask` does), they compare a customer with their partition only; use
    ``ranks=False, bgnbd=False`` where the partitioned result must equal the single-machine one.
    """

    tables = ()
    group = "engagement"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "source": Options(*_SOURCES),
        "event": AnyOf(None, InstanceOf(str, expected="an event type string")),
        "min_customers": Integer(min=1),
        "trend_windows": Windows(),
        "spend_window": Duration(),
        "horizon": Duration(),
    }

    def __init__(
        self,
        *,
        source: str = "auto",
        event: str | None = None,
        trend_windows: Sequence[Any] = (180, 365),
        spend_window: Any = 180,
        horizon: Any = 90,
        ranks: bool = True,
        bgnbd: bool = True,
        min_customers: int = 20,
    ) -> None:
        self.source = source
        self.event = event
        self.trend_windows = trend_windows
        self.spend_window = spend_window
        self.horizon = horizon
        self.ranks = ranks
        self.bgnbd = bgnbd
        self.min_customers = min_customers

    # ------------------------------------------------------------------ tables
    def _source(self, data: EventData) -> str | None:
        if self.source == "activity" or (self.source == "auto" and data.activity is not None):
            return "activity" if data.activity is not None else None
        return "payments" if data.payments is not None else None

    def applies_to(self, data: EventData) -> bool:
        """True when the purchase source (activity, else payments) is present."""
        return self._source(data) is not None

    def require_tables(self, data: EventData) -> None:
        """Raise :class:`ChurnDataError` when there is no table to read purchases from."""
        if self._source(data) is None:
            raise self._no_source()

    def _no_source(self) -> Exception:
        from .._exceptions import ChurnDataError

        wanted = {
            "auto": "an activity or payments table",
            "activity": "an activity table",
            "payments": "a payments table",
        }.get(self.source, "a purchases table")
        return ChurnDataError(
            f"PurchaseHistoryFeatures(source={self.source!r}) needs {wanted} holding the "
            f"purchases, but the data has none; add it, or leave PurchaseHistoryFeatures "
            f"out of the builders"
        )

    # ------------------------------------------------------------------ fit
    def _fit_parameters(self) -> None:
        """Parse the windows and the horizon."""
        self.trend_windows_ = _parse_windows(self.trend_windows, "trend_windows")
        self.spend_window_ = _positive_window(self.spend_window, "spend_window")
        self.horizon_ = _positive_window(self.horizon, "horizon")

    def _checked_source(self, source: str | None) -> str:
        if source is None:
            raise self._no_source()
        if self.event is not None and source != "activity":
            raise ChurnParameterError(
                f"event={self.event!r} filters activity events, but purchases "
                f"come from {source}; use source='activity'"
            )
        return source

    def _fit_statistics(self, data: EventData, rows: FeatureRows | None) -> dict[str, Any]:
        """Validate the parameters; the purchase source and whether purchases carry a value.

        Parameters
        ----------
        data : EventData
        rows : ignored

        Returns
        -------
        dict
            ``source`` (``"activity"`` or ``"payments"``) and ``has_value``.
        """
        source = self._checked_source(self._source(data))  # checked early, on every part
        return {
            "source": source,
            "has_value": source == "payments"
            or (source == "activity" and "value" in data.activity.columns),
        }

    def _fit(self, stats: dict[str, Any]) -> None:
        """Validate the parameters and take the purchase source.

        Parameters
        ----------
        stats : dict
            See :meth:`fit_statistics`.
        """
        self.source_ = self._checked_source(stats["source"])
        self.has_value_ = bool(stats["has_value"])

    # ------------------------------------------------------------------ metadata
    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        g = "engagement"
        day = pd.Timedelta(days=1)
        infos = [
            FeatureInfo(
                "orders_to_date",
                g,
                "{value} so far",
                "no order yet",
                "no order yet",
                kind="count",
                noun="order",
                fact="orders so far",
            ),
            FeatureInfo(
                "days_since_first_order",
                "tenure",
                "first order {value} ago",
                "first order today",
                "no order yet",
                kind="days",
                fact="tenure",
                is_tenure=True,
            ),
            FeatureInfo(
                "days_since_last_order",
                g,
                "no order for {value}",
                "ordered today",
                "no order yet",
                kind="days",
                fact="time since the last order",
            ),
            FeatureInfo(
                "orders_per_30d",
                g,
                "{value} a month since the first order",
                "no order yet",
                "no order yet",
                kind="rate",
                noun="order",
                fact="order rate",
            ),
            FeatureInfo(
                "mean_days_between_orders",
                g,
                "orders every {value} on average",
                description_if_missing="only one order so far",
                kind="days",
                fact="order rhythm",
            ),
            FeatureInfo(
                "median_days_between_orders",
                g,
                "usually orders every {value}",
                description_if_missing="only one order so far",
                kind="days",
                fact="order rhythm",
            ),
            FeatureInfo(
                "order_gap_cv",
                g,
                "gaps between orders vary by {value} of the average gap",
                "orders at a steady rhythm",
                "too few orders to see a rhythm",
                kind="share",
                fact="order rhythm",
            ),
            FeatureInfo(
                "overdue_ratio",
                g,
                "{value} times their average gap since the last order",
                "ordered today",
                "only one order so far",
                kind="number",
                fact="time since the last order",
            ),
            FeatureInfo(
                "overdue_days",
                g,
                "{value:,.0f} days past their usual gap between orders",
                "exactly at their usual gap between orders",
                "only one order so far",
                kind="change",
                noun="day",
                fact="time since the last order",
            ),
        ]
        for w in self.trend_windows_:
            lab, text = window_label(w), window_text(w)
            infos += [
                FeatureInfo(
                    f"orders_{lab}",
                    g,
                    f"{{value}} in the last {text}",
                    f"no order in the last {text}",
                    kind="count",
                    noun="order",
                    fact="recent orders",
                    window_days=w / day,
                ),
                FeatureInfo(
                    f"orders_prev_{lab}",
                    g,
                    f"{{value}} in the {text} before that",
                    f"no order in the {text} before that",
                    kind="count",
                    noun="order",
                    fact="recent orders",
                    window_days=2 * w / day,
                ),
                FeatureInfo(
                    f"order_trend_{lab}",
                    g,
                    f"orders in the last {text} at {{value}} of the {text} before",
                    f"no order in the last {text}, after some the {text} before",
                    f"no order in the {text} before the last {text}",
                    kind="share",
                    fact="recent orders",
                    window_days=2 * w / day,
                ),
            ]
        if self.has_value_:
            longest = self.trend_windows_[-1]
            slab, stext = window_label(self.spend_window_), window_text(self.spend_window_)
            infos += [
                FeatureInfo(
                    "spend_per_order",
                    "monetary",
                    "{value} per order on average",
                    "orders carried no spend",
                    "no order yet",
                    kind="money",
                    fact="spend per order",
                ),
                FeatureInfo(
                    f"spend_{window_label(longest)}",
                    "monetary",
                    f"{{value}} spent in the last {window_text(longest)}",
                    f"spent nothing in the last {window_text(longest)}",
                    kind="money",
                    fact="spend",
                    window_days=longest / day,
                ),
                FeatureInfo(
                    f"spend_per_order_{slab}",
                    "monetary",
                    f"{{value}} per order in the last {stext}",
                    f"orders in the last {stext} carried no spend",
                    f"no order in the last {stext}",
                    kind="money",
                    fact="spend per order",
                    window_days=self.spend_window_ / day,
                ),
                FeatureInfo(
                    f"spend_per_order_trend_{slab}",
                    "monetary",
                    f"spend per order in the last {stext} at {{value}} of before",
                    f"orders in the last {stext} carried no spend",
                    f"no spend per order to compare over the last {stext}",
                    kind="share",
                    fact="spend per order",
                ),
            ]
        if self.ranks:
            infos += [
                FeatureInfo(
                    "recency_rank",
                    g,
                    "longer without an order than {value} of customers",
                    "the most recent order of all customers",
                    "no order yet",
                    kind="rank",
                    fact="time since the last order",
                ),
                FeatureInfo(
                    "age_rank",
                    "tenure",
                    "first ordered before {value} of customers",
                    "the newest customer",
                    "no order yet",
                    kind="rank",
                    fact="tenure",
                    is_tenure=True,
                ),
            ]
        if self.bgnbd:
            hlab, htext = window_label(self.horizon_), window_text(self.horizon_)
            infos += [
                FeatureInfo(
                    "bgnbd_p_alive",
                    g,
                    "their order pattern says they may have stopped buying",
                    "their order pattern says they have stopped buying",
                    "no order pattern to judge yet",
                    kind="share",
                    fact="order pattern",
                ),
                FeatureInfo(
                    f"bgnbd_expected_orders_{hlab}",
                    g,
                    f"{{value}} expected in the next {htext}",
                    f"no order expected in the next {htext}",
                    "no order pattern to judge yet",
                    kind="rate",
                    noun="order",
                    fact="order pattern",
                ),
                FeatureInfo(
                    f"bgnbd_p_no_order_{hlab}",
                    g,
                    f"their order pattern says an order in the next {htext} is unlikely",
                    f"their order pattern says they will order in the next {htext}",
                    "no order pattern to judge yet",
                    kind="share",
                    fact="order pattern",
                ),
            ]
            if self.ranks:
                infos.append(
                    FeatureInfo(
                        f"bgnbd_p_no_order_rank_{hlab}",
                        g,
                        f"less likely to order in the next {htext} than {{value}} of customers",
                        f"the likeliest of all customers to order in the next {htext}",
                        "no order pattern to judge yet",
                        kind="rank",
                        fact="order pattern",
                    )
                )
        return infos

    # ------------------------------------------------------------------ build
    def _orders(self, data: EventData) -> _Orders:
        return data.cached(
            ("purchase_orders", self.source_, self.event), lambda: self._read_orders(data)
        )

    def _read_orders(self, data: EventData) -> _Orders:
        if self.source_ == "payments":
            mask = (data.payments["status"] == "succeeded").to_numpy(dtype=bool)
            index = self.event_index(data, "payments", mask=mask, key="succeeded")
            values = data.payments["amount"].to_numpy(dtype=np.float64)[mask]
        else:
            activity = data.activity
            mask = None
            if self.event is not None:
                mask = (
                    (activity["event"] == self.event).fillna(False).to_numpy(dtype=bool)
                    if "event" in activity.columns
                    else np.zeros(len(activity), dtype=bool)
                )
            index = self.event_index(
                data, "activity", mask=mask, key=None if mask is None else ("event", self.event)
            )
            values = None
            if "value" in activity.columns:
                values = pd.to_numeric(activity["value"], errors="coerce").to_numpy(
                    dtype=np.float64
                )
                if mask is not None:
                    values = values[mask]
        sorted_values = None if values is None else index.sorted_values(values)
        return _Orders(index, sorted_values, len(data.customers))

    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Purchase-history features for every (customer_id, cutoff) row."""
        names = [info.name for info in self.feature_info()]
        if len(rows) == 0:
            return pd.DataFrame({n: np.empty(0) for n in names}, index=rows.index)
        codes = rows.codes
        cutoffs = rows.cutoffs.astype("datetime64[ns]")
        cut = cutoffs.view(np.int64)
        o = self._orders(data)
        out = _Columns(names, len(codes))

        pos = o.orders.position(codes, cutoffs)
        start = o.orders.starts[codes]
        n = (pos - start).astype(np.float64)
        has = n > 0
        first_day = np.where(has, o.day[np.minimum(start, len(o.day) - 1)] if len(o.day) else 0, 0)
        last_day = np.where(has, o.day[np.maximum(pos - 1, 0)] if len(o.day) else 0, 0)
        age = np.where(has, (cut - first_day) / _DAY, np.nan)
        recency = np.where(has, (cut - last_day) / _DAY, np.nan)
        out["orders_to_date"] = n
        out["days_since_first_order"] = age
        out["days_since_last_order"] = recency
        out["orders_per_30d"] = np.where(has, n / np.maximum(age, 1.0) * 30.0, np.nan)

        gaps = n - 1.0
        multi = gaps >= 1
        with np.errstate(invalid="ignore", divide="ignore"):
            span = (last_day - first_day) / _DAY
            mean_gap = np.where(multi, span / np.maximum(gaps, 1.0), np.nan)
            g_lo = np.minimum(start + 1, pos)
            (sq,) = sums_between(o.gap_days * o.gap_days, pos, [g_lo])
            var = np.maximum(sq / np.maximum(gaps, 1.0) - mean_gap**2, 0.0)
            cv = np.where(gaps >= 2, np.sqrt(var) / mean_gap, np.nan)
        median_gap = _segment_medians(o.gap_days, g_lo, np.maximum(gaps, 0).astype(np.int64))
        out["mean_days_between_orders"] = mean_gap
        out["median_days_between_orders"] = median_gap
        out["order_gap_cv"] = cv
        with np.errstate(invalid="ignore", divide="ignore"):
            out["overdue_ratio"] = np.where(multi, recency / mean_gap, np.nan)
        out["overdue_days"] = recency - median_gap

        counts: dict[pd.Timedelta, np.ndarray] = {}
        for w in self.trend_windows_:
            lab = window_label(w)
            mid = o.orders.position(codes, _minus(cutoffs, w))
            early = o.orders.position(codes, _minus(cutoffs, 2 * w))
            last, prev = (pos - mid).astype(np.float64), (mid - early).astype(np.float64)
            counts[w] = last
            out[f"orders_{lab}"] = last
            out[f"orders_prev_{lab}"] = prev
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"order_trend_{lab}"] = np.where(prev > 0, last / prev, np.nan)

        if self.has_value_:
            self._spend(o, codes, cutoffs, n, counts, out)
        if self.ranks or self.bgnbd:
            self._shop(data, o, codes, cut, n, out)
        return out.frame(rows.index)

    def _spend(
        self,
        o: _Orders,
        codes: np.ndarray,
        cutoffs: np.ndarray,
        n: np.ndarray,
        counts: dict[pd.Timedelta, np.ndarray],
        out: _Columns,
    ) -> None:
        ev = o.events
        values = o.values if o.values is not None else np.zeros(len(ev.times))
        end = ev.position(codes, cutoffs)
        longest = self.trend_windows_[-1]
        s = self.spend_window_
        # each window summed from its own purchases only (exact, whatever other customers spent)
        total, in_longest, recent = sums_between(
            values,
            end,
            [
                ev.starts[codes],
                ev.position(codes, _minus(cutoffs, longest)),
                ev.position(codes, _minus(cutoffs, s)),
            ],
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out["spend_per_order"] = np.where(n > 0, total / n, np.nan)
            out[f"spend_{window_label(longest)}"] = in_longest
            recent_orders = (
                counts[s]
                if s in counts
                else (
                    o.orders.position(codes, cutoffs) - o.orders.position(codes, _minus(cutoffs, s))
                ).astype(float)
            )
            per_recent = np.where(recent_orders > 0, recent / recent_orders, np.nan)
            earlier_orders = n - recent_orders
            per_earlier = np.where(earlier_orders > 0, (total - recent) / earlier_orders, np.nan)
            slab = window_label(s)
            out[f"spend_per_order_{slab}"] = per_recent
            out[f"spend_per_order_trend_{slab}"] = np.where(
                per_earlier > 0, per_recent / per_earlier, np.nan
            )

    def _shop(
        self,
        data: EventData,
        o: _Orders,
        codes: np.ndarray,
        cut: np.ndarray,
        n: np.ndarray,
        out: _Columns,
    ) -> None:
        """Features that compare a customer with the whole shop at each cutoff.

        One pass per cutoff, vectorised over every customer with an order before it (not
        only the rows asked for, so a row's value does not depend on which rows are built).
        """
        from .._bgnbd import expected_purchases, fit_bgnbd, p_alive, p_no_purchase

        hlab = window_label(self.horizon_)
        t = self.horizon_ / pd.Timedelta(days=1)
        cols = {
            name: np.full(len(codes), np.nan)
            for name in ("recency_rank", "age_rank", "alive", "expected", "quiet", "quiet_rank")
        }
        everyone = np.arange(len(data.customers), dtype=np.int64)
        first_all = o.orders.starts[:-1]
        for value in np.unique(cut):  # one pass (and one BG/NBD fit) per cutoff
            stamp = np.full(len(everyone), value, dtype=np.int64).view("datetime64[ns]")
            pos = o.orders.position(everyone, stamp)
            k = pos - first_all
            some = k > 0
            if len(o.day):
                f_day = o.day[np.minimum(first_all[some], len(o.day) - 1)]
                l_day = o.day[pos[some] - 1]
            else:
                f_day = l_day = np.zeros(0, dtype=np.int64)
            x = (k[some] - 1).astype(np.float64)
            T = (value - f_day) / _DAY
            t_x = (l_day - f_day) / _DAY
            silent = (value - l_day) / _DAY
            mine = np.flatnonzero((cut == value) & (n > 0))
            # each row's place among the shop's customers with an order (same numbers)
            at = np.cumsum(some) - 1
            at = at[codes[mine]]
            if self.ranks and len(T):
                cols["recency_rank"][mine] = _mid_rank(silent, silent[at])
                cols["age_rank"][mine] = _mid_rank(T, T[at])
            if not self.bgnbd:
                continue
            fit = fit_bgnbd(x, t_x, T, min_customers=int(self.min_customers))
            if not fit.converged:
                when = pd.Timestamp(value)
                warnings.warn(
                    f"PurchaseHistoryFeatures: BG/NBD could not be fitted at cutoff {when} "
                    f"({fit.message}); its features (bgnbd_*) are left empty (NaN) there",
                    ConvergenceWarning,
                    stacklevel=4,
                )
                continue
            theta = fit.as_tuple()
            rx, rtx, rT = x[at], t_x[at], T[at]
            cols["alive"][mine] = p_alive(theta, rx, rtx, rT)
            cols["expected"][mine] = expected_purchases(theta, t, rx, rtx, rT)
            quiet = p_no_purchase(theta, t, x, t_x, T)
            cols["quiet"][mine] = quiet[at]
            if self.ranks:
                cols["quiet_rank"][mine] = _mid_rank(quiet, quiet[at])
        if self.ranks:
            out["recency_rank"] = cols["recency_rank"]
            out["age_rank"] = cols["age_rank"]
        if self.bgnbd:
            out["bgnbd_p_alive"] = cols["alive"]
            out[f"bgnbd_expected_orders_{hlab}"] = cols["expected"]
            out[f"bgnbd_p_no_order_{hlab}"] = cols["quiet"]
            if self.ranks:
                out[f"bgnbd_p_no_order_rank_{hlab}"] = cols["quiet_rank"]


def _mid_rank(population: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of ``population`` below each value, ties counting one half."""
    ordered = np.sort(population)
    below = np.searchsorted(ordered, values, side="left")
    upto = np.searchsorted(ordered, values, side="right")
    return (below + upto) / (2.0 * len(ordered))
