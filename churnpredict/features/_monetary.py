"""Monetary features: what a customer pays, its point-in-time MRR, price changes and refunds.

:class:`MonetaryFeatures` is the subscription family (MRR, price changes);
:class:`SpendFeatures` the purchase family (spend per period, average payment, spend
trend), and :func:`expected_spend` the spend a shopper is expected to bring over a horizon.

Every window is ``[cutoff - window, cutoff)``: a payment exactly at the cutoff is not seen, one
exactly at ``cutoff - window`` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._data import EventData
from .._eventindex import sums_between
from .._params import Constraint, Duration, Windows
from .._windows import DAYS_PER_MONTH
from ._base import (
    FeatureBuilder,
    FeatureInfo,
    FeatureRows,
    _Columns,
    _minus,
    _parse_windows,
    _positive_window,
    as_rows,
    window_label,
    window_text,
)

__all__ = ["MonetaryFeatures", "SpendFeatures", "expected_spend"]

_NS_PER_DAY = 86_400 * 10**9


class MonetaryFeatures(FeatureBuilder):
    """Spend, point-in-time MRR, price changes and refunds from the payments table.

    All windows are ``[cutoff - window, cutoff)``: only payments strictly before the cutoff
    count, and a payment exactly at ``cutoff - window`` is inside the window.

    Parameters
    ----------
    windows : sequence of durations, default (30, 90, 180)
        Windows for paid and refunded amounts, in days (int) or as strings such as ``"30D"``.
    price_change_lookback : duration, default 90
        How far back the price is compared: the latest successful payment before the cutoff
        against the latest successful payment before ``cutoff - price_change_lookback``.

    Attributes
    ----------
    windows_ : tuple of pandas.Timedelta
        Validated windows, shortest first.
    lookback_ : pandas.Timedelta
        Validated ``price_change_lookback``.

    Notes
    -----
    Columns (``W`` = each window label such as ``30d``, ``L`` = the longest window, ``P`` =
    the price lookback):

    * ``paid_W``: amount of successful payments in the window;
    * ``payments_L``: number of successful payments in the longest window;
    * ``avg_payment_L``: their average amount (NaN when there are none);
    * ``mrr``: amount of the latest successful payment before the cutoff (the point-in-time
      MRR used for revenue at risk; NaN when the customer never paid);
    * ``price_change_pct_P``: ``mrr`` divided by the latest successful amount before
      ``cutoff - P``, minus 1 (NaN without such a payment or when it was 0);
    * ``price_change_P``: the same comparison as a difference of amounts;
    * ``refunded_W`` and ``refunds_W``: refunded amount and number of refunds in the window.
    """

    tables = ("payments",)
    group = "monetary"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "windows": Windows(),
        "price_change_lookback": Duration(),
    }
    row_wise = True

    def __init__(
        self, *, windows: Sequence[Any] = (30, 90, 180), price_change_lookback: Any = 90
    ) -> None:
        self.windows = windows
        self.price_change_lookback = price_change_lookback

    def _fit_parameters(self) -> None:
        """Parse the windows (the family learns nothing from the data)."""
        self.windows_ = _parse_windows(self.windows, "windows")
        self.lookback_ = _positive_window(self.price_change_lookback, "price_change_lookback")

    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        g = self.group
        day = pd.Timedelta(days=1)
        infos = [
            FeatureInfo(
                f"paid_{window_label(w)}",
                g,
                f"{{value}} paid in the last {window_text(w)}",
                kind="money",
                fact="amount paid",
                window_days=w / day,
            )
            for w in self.windows_
        ]
        longest = self.windows_[-1]
        lab, text = window_label(longest), window_text(longest)
        plab, ptext = window_label(self.lookback_), window_text(self.lookback_)
        infos += [
            FeatureInfo(
                f"payments_{lab}",
                g,
                f"{{value}} in the last {text}",
                kind="count",
                noun="successful payment",
                fact="amount paid",
                window_days=longest / day,
            ),
            FeatureInfo(
                f"avg_payment_{lab}",
                g,
                f"average payment {{value}} over the last {text}",
                kind="money",
                fact="amount paid",
                window_days=longest / day,
            ),
            FeatureInfo(
                "mrr",
                g,
                "latest payment {value} (current monthly revenue)",
                kind="money",
                fact="price",
            ),
            FeatureInfo(
                f"price_change_pct_{plab}",
                g,
                f"price changed {{value}} vs {ptext} ago",
                kind="share_change",
                fact="price",
                role="cause",
            ),
            FeatureInfo(
                f"price_change_{plab}",
                g,
                f"price changed by {{value}} vs {ptext} ago",
                kind="money_change",
                fact="price",
                role="cause",
            ),
        ]
        return infos + _refund_infos(self.windows_, g)

    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Monetary features for (customer_id, cutoff) rows."""
        codes, cutoffs = rows.codes, rows.cutoffs
        status = data.payments["status"]
        amount = data.payments["amount"].to_numpy(dtype=np.float64)
        out = _Columns([info.name for info in self.feature_info()], len(rows))

        # Successful payments: one binary search per distinct window edge.
        ok = (status == "succeeded").to_numpy(dtype=bool)
        index = self.event_index(data, "payments", mask=ok, key="succeeded")
        paid = index.sorted_values(amount[ok])
        end = index.position(codes, cutoffs)
        start = {w: index.position(codes, _minus(cutoffs, w)) for w in self.windows_}
        sums = sums_between(paid, end, [start[w] for w in self.windows_])
        for w, total in zip(self.windows_, sums, strict=True):
            out[f"paid_{window_label(w)}"] = total
        longest = self.windows_[-1]
        lab = window_label(longest)
        n_paid = (end - start[longest]).astype(np.float64)
        out[f"payments_{lab}"] = n_paid
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"avg_payment_{lab}"] = np.where(n_paid > 0, out[f"paid_{lab}"] / n_paid, np.nan)
        first = index.starts[codes]
        mrr = _amount_before(paid, end, first)
        out["mrr"] = mrr
        before = (
            start[self.lookback_]
            if self.lookback_ in start
            else index.position(codes, _minus(cutoffs, self.lookback_))
        )
        earlier = _amount_before(paid, before, first)
        plab = window_label(self.lookback_)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            out[f"price_change_pct_{plab}"] = np.where(earlier > 0, mrr / earlier - 1.0, np.nan)
        out[f"price_change_{plab}"] = mrr - earlier

        _refund_columns(self, data, codes, cutoffs, out)

        return out.frame(rows.index)


def _amount_before(amounts: np.ndarray, pos: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Amount of the event just before global position ``pos``; NaN when the customer has none.

    ``first`` is the customer's first position, so ``pos > first`` means an earlier event exists.
    """
    has = pos > first
    out = np.full(len(pos), np.nan)
    out[has] = amounts[pos[has] - 1]
    return out


def _refund_infos(windows: tuple[pd.Timedelta, ...], group: str) -> list[FeatureInfo]:
    day = pd.Timedelta(days=1)
    infos = [
        FeatureInfo(
            f"refunded_{window_label(w)}",
            group,
            f"{{value}} refunded in the last {window_text(w)}",
            kind="money",
            fact="refunds",
            window_days=w / day,
        )
        for w in windows
    ]
    infos += [
        FeatureInfo(
            f"refunds_{window_label(w)}",
            group,
            f"{{value}} in the last {window_text(w)}",
            kind="count",
            noun="refund",
            fact="refunds",
            window_days=w / day,
        )
        for w in windows
    ]
    return infos


def _refund_columns(
    builder: FeatureBuilder, data: EventData, codes: np.ndarray, cutoffs: np.ndarray, out: _Columns
) -> None:
    """Fill ``refunded_W`` (amount) and ``refunds_W`` (count) for ``builder.windows_``."""
    status = data.payments["status"]
    amount = data.payments["amount"].to_numpy(dtype=np.float64)
    refunded = (status == "refunded").to_numpy(dtype=bool)
    r_index = builder.event_index(data, "payments", mask=refunded, key="refunded")
    r_amount = r_index.sorted_values(amount[refunded])
    r_end = r_index.position(codes, cutoffs)
    r_start = {w: r_index.position(codes, _minus(cutoffs, w)) for w in builder.windows_}
    r_sums = sums_between(r_amount, r_end, [r_start[w] for w in builder.windows_])
    for w, total in zip(builder.windows_, r_sums, strict=True):
        out[f"refunded_{window_label(w)}"] = total
    for w in builder.windows_:
        out[f"refunds_{window_label(w)}"] = (r_end - r_start[w]).astype(np.float64)


def _spend_events(data: EventData) -> tuple[Any, np.ndarray] | None:
    """Index and amounts of what customers spent: successful payments, else activity values.

    Purchase data often comes as one activity event per order with its value (and no
    payments table); then those values are the spend. None when neither is there.
    """
    if data.payments is not None:
        return _succeeded(data)
    if data.activity is not None and "value" in data.activity:
        index = FeatureBuilder.event_index(data, "activity")
        values = data.activity["value"].to_numpy(dtype=np.float64)
        return index, index.sorted_values(np.nan_to_num(values, nan=0.0))
    return None


def _succeeded(data: EventData) -> tuple[Any, np.ndarray]:
    """Index of the successful payments and their amounts (in the index's sorted order)."""
    ok = (data.payments["status"] == "succeeded").to_numpy(dtype=bool)
    index = FeatureBuilder.event_index(data, "payments", mask=ok, key="succeeded")
    amount = data.payments["amount"].to_numpy(dtype=np.float64)
    return index, index.sorted_values(amount[ok])


class SpendFeatures(FeatureBuilder):
    """Spend of a shopper: spend per window and per month, payments, their value, spend trend.

    The monetary family of purchase data (``business="purchases"``). It counts successful
    payments (invoices) and their amounts; its reasons speak of payments, because an
    *order* is a day with purchases everywhere in churnpredict
    (:class:`~churnpredict.features.PurchaseHistoryFeatures`), and one basket paid in two
    invoices is one order. It has no MRR and no price: a smaller basket is a smaller
    payment, not a price change. All windows are ``[cutoff - window, cutoff)``. The column
    names keep their historical ``orders`` wording.

    Parameters
    ----------
    windows : sequence of durations, default (30, 90, 180)
        Windows for spend and refunds, in days (int) or as strings such as ``"30D"``.
    trend_window : duration, default 90
        Spend in ``[cutoff - T, cutoff)`` is compared with spend in
        ``[cutoff - 2T, cutoff - T)``.

    Attributes
    ----------
    windows_ : tuple of pandas.Timedelta
        Validated windows, shortest first.
    trend_window_ : pandas.Timedelta

    Notes
    -----
    Columns (``W`` = each window label such as ``30d``, ``L`` = the longest window, ``T`` =
    the trend window):

    * ``spent_W``: amount of successful payments in the window;
    * ``paid_orders_L``: number of successful payments in the longest window;
    * ``avg_order_value_L``: ``spent_L / paid_orders_L``, the average payment (NaN without
      payments);
    * ``spend_per_month_L``: ``spent_L`` per month of the part of the window the customer was
      a customer, ``spent_L / clip(cutoff - signup_at, 30 days, L) x 30.44`` (a first order
      just before the cutoff is not extrapolated to a month);
    * ``spend_trend_pct_T``: spend in the last ``T`` divided by spend in the ``T`` before,
      minus 1 (NaN when the earlier spend is 0);
    * ``spend_trend_T``: the same comparison as a difference of amounts;
    * ``refunded_W`` and ``refunds_W``: refunded amount and number of refunds in the window.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnpredict import EventData
    >>> customers = pd.DataFrame({"customer_id": [1], "signup_at": ["2024-01-01"]})
    >>> payments = pd.DataFrame({"customer_id": 1, "amount": [40.0, 10.0, 30.0],
    ...                          "timestamp": ["2024-02-01", "2024-04-15", "2024-05-20"],
    ...                          "status": "succeeded"})
    >>> data = EventData(customers, payments=payments)
    >>> X = SpendFeatures().fit(data).build(data, ["2024-06-01"])
    >>> X[["spent_90d", "paid_orders_180d", "avg_order_value_180d", "spend_trend_90d"]
    ...   ].iloc[0].tolist()
    [40.0, 3.0, 26.666666666666668, 0.0]
    """

    tables = ("payments",)
    group = "monetary"
    row_wise = True
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "windows": Windows(),
        "trend_window": Duration(),
    }

    def __init__(self, *, windows: Sequence[Any] = (30, 90, 180), trend_window: Any = 90) -> None:
        self.windows = windows
        self.trend_window = trend_window

    def _fit_parameters(self) -> None:
        """Parse the windows (the family learns nothing from the data)."""
        self.windows_ = _parse_windows(self.windows, "windows")
        self.trend_window_ = _positive_window(self.trend_window, "trend_window")

    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        g = self.group
        day = pd.Timedelta(days=1)
        infos = [
            FeatureInfo(
                f"spent_{window_label(w)}",
                g,
                f"{{value}} spent in the last {window_text(w)}",
                f"nothing paid in the last {window_text(w)}",
                kind="money",
                fact="spend",
                window_days=w / day,
            )
            for w in self.windows_
        ]
        longest = self.windows_[-1]
        lab, text = window_label(longest), window_text(longest)
        tlab, ttext = window_label(self.trend_window_), window_text(self.trend_window_)
        infos += [
            FeatureInfo(
                f"paid_orders_{lab}",
                g,
                f"{{value}} in the last {text}",
                f"no payment in the last {text}",
                kind="count",
                noun="payment",
                fact="spend",
                window_days=longest / day,
            ),
            FeatureInfo(
                f"avg_order_value_{lab}",
                g,
                f"average payment {{value}} over the last {text}",
                kind="money",
                fact="order value",
                window_days=longest / day,
            ),
            FeatureInfo(
                f"spend_per_month_{lab}",
                g,
                f"{{value}} a month over the last {text}",
                f"nothing paid in the last {text}",
                kind="money",
                fact="spend",
                window_days=longest / day,
            ),
            FeatureInfo(
                f"spend_trend_pct_{tlab}",
                g,
                f"spend {{value}} vs the {ttext} before",
                kind="share_change",
                fact="spend trend",
                window_days=2 * self.trend_window_ / day,
            ),
            FeatureInfo(
                f"spend_trend_{tlab}",
                g,
                f"spend changed by {{value}} vs the {ttext} before",
                kind="money_change",
                fact="spend trend",
                window_days=2 * self.trend_window_ / day,
            ),
        ]
        return infos + _refund_infos(self.windows_, g)

    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Spend features for (customer_id, cutoff) rows."""
        codes, cutoffs = rows.codes, rows.cutoffs
        out = _Columns([info.name for info in self.feature_info()], len(rows))
        index, paid = _succeeded(data)
        end = index.position(codes, cutoffs)
        edges = set(self.windows_) | {self.trend_window_, 2 * self.trend_window_}
        start = {w: index.position(codes, _minus(cutoffs, w)) for w in edges}
        sums = sums_between(paid, end, [start[w] for w in self.windows_])
        for w, total in zip(self.windows_, sums, strict=True):
            out[f"spent_{window_label(w)}"] = total
        longest = self.windows_[-1]
        lab = window_label(longest)
        spent = out[f"spent_{lab}"]
        n_orders = (end - start[longest]).astype(np.float64)
        out[f"paid_orders_{lab}"] = n_orders
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"avg_order_value_{lab}"] = np.where(n_orders > 0, spent / n_orders, np.nan)
        signup = data.customers["signup_at"].to_numpy(dtype="datetime64[ns]")[codes]
        days = _observed_days(cutoffs, signup, pd.Timedelta(days=30), longest)
        out[f"spend_per_month_{lab}"] = spent / days * DAYS_PER_MONTH
        t = self.trend_window_
        (recent,) = sums_between(paid, end, [start[t]])
        (before,) = sums_between(paid, start[t], [start[2 * t]])
        tlab = window_label(t)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"spend_trend_pct_{tlab}"] = np.where(before > 0, recent / before - 1.0, np.nan)
        out[f"spend_trend_{tlab}"] = recent - before
        _refund_columns(self, data, codes, cutoffs, out)
        return out.frame(rows.index)


def _observed_days(
    cutoffs: np.ndarray, signup: np.ndarray, least: pd.Timedelta, most: pd.Timedelta
) -> np.ndarray:
    """Days a customer was a customer before the cutoff, clipped to ``[least, most]``.

    An unknown signup counts as ``most``.
    """
    since = (cutoffs - signup).astype("timedelta64[ns]").astype(np.int64) / _NS_PER_DAY
    since = np.where(np.isnat(signup), most / pd.Timedelta(days=1), since)
    return np.clip(since, least / pd.Timedelta(days=1), most / pd.Timedelta(days=1))


def expected_spend(data: EventData, rows: Any, horizon: Any, *, window: Any = "365D") -> pd.Series:
    """Spend a shopper is expected to bring in over ``horizon`` if they stay, point in time.

    ``expected_spend = spent / observed_days x horizon_days``, where ``spent`` is the amount of
    successful payments in ``[cutoff - window, cutoff)`` and ``observed_days`` is the part of
    that window since the customer's first successful payment, clipped to
    ``[horizon, window]``: the trailing year's spend rate, or the rate since the first order
    when that is shorter, and never a rate over less than one horizon (a first order just
    before the cutoff counts as that order's value per horizon). Customers without any
    successful payment before the cutoff expect 0.

    Parameters
    ----------
    data : EventData
        Needs a payments table, or activity with a ``value`` column (one event per order,
        its value the spend); without either the result is NaN (unknown).
    rows : pandas.MultiIndex, DataFrame or FeatureRows
        (customer_id, cutoff) rows.
    horizon : duration
    window : duration, default "365D"

    Returns
    -------
    pandas.Series
        Named ``expected_spend``, indexed like ``rows``.

    Examples
    --------
    >>> import pandas as pd
    >>> from churnpredict import EventData
    >>> customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2023-01-01"] * 2})
    >>> payments = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [100.0, 50.0, 80.0],
    ...                          "timestamp": ["2023-03-01", "2024-05-01", "2024-05-30"],
    ...                          "status": "succeeded"})
    >>> data = EventData(customers, payments=payments)
    >>> rows = pd.MultiIndex.from_product([[1, 2], [pd.Timestamp("2024-06-01")]],
    ...                                   names=["customer_id", "cutoff"])
    >>> expected_spend(data, rows, "90D").round(2).tolist()  # 50 / 365 x 90, 80 / 90 x 90
    [12.33, 80.0]
    """
    rows = as_rows(data, rows)
    horizon = _positive_window(horizon, "horizon")
    window = _positive_window(window, "window")
    spend = _spend_events(data)
    if spend is None:
        return pd.Series(np.full(len(rows), np.nan), index=rows.index, name="expected_spend")
    codes, cutoffs = rows.codes, rows.cutoffs
    index, paid = spend
    end = index.position(codes, cutoffs)
    (spent,) = sums_between(paid, end, [index.position(codes, _minus(cutoffs, window))])
    first = index.starts[codes]
    has = end > first
    first_time = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    first_time[has] = index.times[first[has]].view("datetime64[ns]")
    days = _observed_days(cutoffs, first_time, min(horizon, window), window)
    value = np.where(has, spent / days * (horizon / pd.Timedelta(days=1)), 0.0)
    return pd.Series(value, index=rows.index, name="expected_spend")
