"""Monetary features: what a customer pays, its point-in-time MRR, price changes and refunds.

Every window is ``[cutoff - window, cutoff)``: a payment exactly at the cutoff is not seen, one
exactly at ``cutoff - window`` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..data import EventData
from ._base import (
    FeatureBuilder,
    FeatureInfo,
    _Columns,
    _minus,
    _parse_windows,
    _positive_window,
    _window_text,
    as_rows,
    window_label,
)
from ._index import sums_between

__all__ = ["MonetaryFeatures"]

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

    def __init__(self, windows: Sequence[Any] = (30, 90, 180),
                 price_change_lookback: Any = 90) -> None:
        self.windows = windows
        self.price_change_lookback = price_change_lookback

    def fit(self, data: EventData, rows: Any = None) -> MonetaryFeatures:
        """Validate the parameters and check that ``data`` has a payments table.

        Parameters
        ----------
        data : EventData
        rows : ignored

        Returns
        -------
        self
        """
        self.windows_ = _parse_windows(self.windows, "windows")
        self.lookback_ = _positive_window(self.price_change_lookback, "price_change_lookback")
        self.require_tables(data)
        self.fitted_ = True
        return self

    def feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        check_is_fitted(self, "windows_")
        g = self.group
        day = pd.Timedelta(days=1)
        infos = [FeatureInfo(f"paid_{window_label(w)}", g,
                             f"{{value}} paid in the last {_window_text(w)}", kind="money",
                             fact="amount paid", window_days=w / day)
                 for w in self.windows_]
        longest = self.windows_[-1]
        lab, text = window_label(longest), _window_text(longest)
        plab, ptext = window_label(self.lookback_), _window_text(self.lookback_)
        infos += [
            FeatureInfo(f"payments_{lab}", g, f"{{value}} in the last {text}", kind="count",
                        noun="successful payment", fact="amount paid",
                        window_days=longest / day),
            FeatureInfo(f"avg_payment_{lab}", g, f"average payment {{value}} over the last {text}",
                        kind="money", fact="amount paid", window_days=longest / day),
            FeatureInfo("mrr", g, "latest payment {value} (current monthly revenue)",
                        kind="money", fact="price"),
            FeatureInfo(f"price_change_pct_{plab}", g, f"price changed {{value}} vs {ptext} ago",
                        kind="share_change", fact="price"),
            FeatureInfo(f"price_change_{plab}", g, f"price changed by {{value}} vs {ptext} ago",
                        kind="money_change", fact="price"),
        ]
        infos += [FeatureInfo(f"refunded_{window_label(w)}", g,
                              f"{{value}} refunded in the last {_window_text(w)}",
                              kind="money", fact="refunds", window_days=w / day)
                  for w in self.windows_]
        infos += [FeatureInfo(f"refunds_{window_label(w)}", g,
                              f"{{value}} in the last {_window_text(w)}", kind="count",
                              noun="refund", fact="refunds", window_days=w / day)
                  for w in self.windows_]
        return infos

    def build(self, data: EventData, rows: Any) -> pd.DataFrame:
        """Monetary features for (customer_id, cutoff) rows.

        Parameters
        ----------
        data : EventData
        rows : FeatureRows, MultiIndex or cutoffs

        Returns
        -------
        pandas.DataFrame
            Indexed like ``rows.index``; float64 columns in :meth:`feature_info` order.
        """
        check_is_fitted(self, "windows_")
        self.require_tables(data)
        rows = as_rows(data, rows)
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
            out[f"avg_payment_{lab}"] = np.where(
                n_paid > 0, out[f"paid_{lab}"] / n_paid, np.nan)
        first = index.starts[codes]
        mrr = _amount_before(paid, end, first)
        out["mrr"] = mrr
        before = (start[self.lookback_] if self.lookback_ in start
                  else index.position(codes, _minus(cutoffs, self.lookback_)))
        earlier = _amount_before(paid, before, first)
        plab = window_label(self.lookback_)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            out[f"price_change_pct_{plab}"] = np.where(
                earlier > 0, mrr / earlier - 1.0, np.nan)
        out[f"price_change_{plab}"] = mrr - earlier

        # Refunds.
        refunded = (status == "refunded").to_numpy(dtype=bool)
        r_index = self.event_index(data, "payments", mask=refunded, key="refunded")
        r_amount = r_index.sorted_values(amount[refunded])
        r_end = r_index.position(codes, cutoffs)
        r_start = {w: r_index.position(codes, _minus(cutoffs, w)) for w in self.windows_}
        r_sums = sums_between(r_amount, r_end, [r_start[w] for w in self.windows_])
        for w, total in zip(self.windows_, r_sums, strict=True):
            out[f"refunded_{window_label(w)}"] = total
        for w in self.windows_:
            out[f"refunds_{window_label(w)}"] = (r_end - r_start[w]).astype(np.float64)

        return out.frame(rows.index)


def _amount_before(amounts: np.ndarray, pos: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Amount of the event just before global position ``pos``; NaN when the customer has none.

    ``first`` is the customer's first position, so ``pos > first`` means an earlier event exists.
    """
    has = pos > first
    out = np.full(len(pos), np.nan)
    out[has] = amounts[pos[has] - 1]
    return out
