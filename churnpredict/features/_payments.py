"""Payment features: failed payments and dunning, the signs of involuntary churn.

Every window is ``[cutoff - window, cutoff)``: a payment attempt exactly at the cutoff is not
seen, one exactly at ``cutoff - window`` is. Payment attempts are the ``succeeded`` and
``failed`` rows; refunds are not attempts (they are monetary features).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._data import EventData
from .._eventindex import count_prefix
from .._params import Constraint, Windows
from ._base import (
    FeatureBuilder,
    FeatureInfo,
    FeatureRows,
    _Columns,
    _minus,
    _parse_windows,
    window_label,
    window_text,
)
from ._monetary import _NS_PER_DAY

__all__ = ["PaymentFeatures"]


_DAY = pd.Timedelta(days=1)


class PaymentFeatures(FeatureBuilder):
    """Failed payments, dunning and recoveries from the payments table (involuntary-churn risk).

    All windows are ``[cutoff - window, cutoff)``: only attempts strictly before the cutoff
    count, and an attempt exactly at ``cutoff - window`` is inside the window.

    Parameters
    ----------
    windows : sequence of durations, default (30, 90)
        Windows in days (int) or as strings such as ``"30D"``.

    Attributes
    ----------
    windows_ : tuple of pandas.Timedelta
        Validated windows, shortest first.

    Notes
    -----
    Columns (``W`` = each window label such as ``30d``, ``L`` = the longest window):

    * ``failed_payments_W``: failed payment attempts in the window;
    * ``failure_ratio_W``: failed / all attempts (succeeded + failed) in the window, NaN
      without attempts;
    * ``days_since_failed_payment``: days from the latest failed attempt to the cutoff, NaN if
      the customer never had one;
    * ``in_dunning``: 1 when the latest attempt before the cutoff failed (a retry is
      pending), else 0;
    * ``consecutive_failed_payments``: failed attempts since the latest successful one (all
      failed attempts if none succeeded);
    * ``recovered_failed_payments_L``: failed attempts in the longest window that a later
      successful payment before the cutoff recovered.

    Attempts sharing a timestamp keep the order of the payments table.
    """

    tables = ("payments",)
    group = "payments"
    row_wise = True
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "windows": Windows(),
    }

    def __init__(self, *, windows: Sequence[Any] = (30, 90)) -> None:
        self.windows = windows

    def _fit_parameters(self) -> None:
        """Parse the windows (the family learns nothing from the data)."""
        self.windows_ = _parse_windows(self.windows, "windows")

    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        g = self.group
        fact = "failed payments"
        infos = [
            FeatureInfo(
                f"failed_payments_{window_label(w)}",
                g,
                f"{{value}} in the last {window_text(w)}",
                kind="count",
                noun="failed payment",
                fact=fact,
                window_days=w / _DAY,
            )
            for w in self.windows_
        ]
        infos += [
            FeatureInfo(
                f"failure_ratio_{window_label(w)}",
                g,
                f"{{value}} of payment attempts failed in the last {window_text(w)}",
                kind="share",
                fact=fact,
                window_days=w / _DAY,
            )
            for w in self.windows_
        ]
        longest = self.windows_[-1]
        infos += [
            FeatureInfo(
                "days_since_failed_payment",
                g,
                "last failed payment {value} ago",
                kind="days",
                fact=fact,
            ),
            FeatureInfo(
                "in_dunning",
                g,
                "latest payment attempt failed",
                "latest payment attempt succeeded",
                kind="flag",
                fact=fact,
            ),
            FeatureInfo(
                "consecutive_failed_payments",
                g,
                "{value} in a row since the last successful payment",
                kind="count",
                noun="failed payment attempt",
                fact=fact,
            ),
            FeatureInfo(
                f"recovered_failed_payments_{window_label(longest)}",
                g,
                f"{{value}} recovered by a later payment in the last {window_text(longest)}",
                kind="count",
                noun="failed payment",
                fact="recovered payments",
                window_days=longest / _DAY,
            ),
        ]
        return infos

    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Payment features for (customer_id, cutoff) rows."""
        codes, cutoffs = rows.codes, rows.cutoffs
        status = data.payments["status"]
        failed = (status == "failed").to_numpy(dtype=bool)
        attempt = failed | (status == "succeeded").to_numpy(dtype=bool)
        index = self.event_index(data, "payments", mask=attempt, key="attempts")

        # Per sorted attempt: running failure count, and the position of the latest failed /
        # successful attempt so far (-1 before any); entry i describes the first i attempts.
        is_failed = index.sorted_values(failed[attempt])
        position = np.arange(len(is_failed), dtype=np.int64)
        cum_failed = count_prefix(is_failed)
        last_failed = _running_last(np.where(is_failed, position, -1))
        last_ok = _running_last(np.where(is_failed, -1, position))

        end = index.position(codes, cutoffs)
        first = index.starts[codes]
        start = {w: index.position(codes, _minus(cutoffs, w)) for w in self.windows_}
        out = _Columns([info.name for info in self.feature_info()], len(rows))
        n_failed = {
            w: (cum_failed[end] - cum_failed[start[w]]).astype(np.float64) for w in self.windows_
        }
        for w in self.windows_:
            out[f"failed_payments_{window_label(w)}"] = n_failed[w]
        for w in self.windows_:
            attempts = (end - start[w]).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"failure_ratio_{window_label(w)}"] = np.where(
                    attempts > 0, n_failed[w] / attempts, np.nan
                )

        lf = last_failed[end]
        has_failed = lf >= first
        days = np.full(len(end), np.nan)
        cut_ns = cutoffs.astype("datetime64[ns]").view(np.int64)
        days[has_failed] = (cut_ns[has_failed] - index.times[lf[has_failed]]) / _NS_PER_DAY
        out["days_since_failed_payment"] = days
        consecutive = end - np.maximum(last_ok[end] + 1, first)
        out["in_dunning"] = (consecutive > 0).astype(np.float64)
        out["consecutive_failed_payments"] = consecutive.astype(np.float64)
        longest = self.windows_[-1]
        in_window = n_failed[longest]
        out[f"recovered_failed_payments_{window_label(longest)}"] = in_window - np.minimum(
            consecutive, in_window
        )

        return out.frame(rows.index)


def _running_last(marked: np.ndarray) -> np.ndarray:
    """``out[i]`` = the largest of ``marked[:i]`` (-1 for none); ``len(marked) + 1`` entries."""
    out = np.full(len(marked) + 1, -1, dtype=np.int64)
    if len(marked):
        np.maximum.accumulate(marked, out=out[1:])
    return out
