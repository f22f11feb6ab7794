"""Support features: ticket volume, open and overdue tickets, resolution time, satisfaction.

Every window is ``[cutoff - window, cutoff)``: a ticket created exactly at the cutoff is not
seen, one created exactly at ``cutoff - window`` is. What is known at the cutoff is all that is
used: a ticket resolved at or after the cutoff is still open at it, and its resolution time and
satisfaction score (known only once it is resolved) are not used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._data import EventData
from .._eventindex import EventIndex, count_prefix, sums_between
from .._exceptions import ChurnDataError
from .._params import Constraint, Duration, Real, Satisfies, Windows
from ._base import (
    FeatureBuilder,
    FeatureInfo,
    FeatureRows,
    _Columns,
    _minus,
    _parse_windows,
    _positive_window,
    not_observed,
    recorded_since,
    window_label,
    window_text,
)
from ._monetary import _NS_PER_DAY

__all__ = ["SupportFeatures"]

_DAYS_PER_MONTH = 30.0


class SupportFeatures(FeatureBuilder):
    """Support-ticket features from the tickets table.

    All windows are ``[cutoff - window, cutoff)``: only tickets created (or resolved, for
    resolution time and satisfaction) strictly before the cutoff count, and one exactly at
    ``cutoff - window`` is inside the window.

    Parameters
    ----------
    windows : sequence of durations, default (30, 90)
        Windows in days (int) or as strings such as ``"30D"``.
    overdue_days : duration, default 7
        A ticket open at the cutoff for longer than this is overdue.
    low_csat : float, default 2
        Satisfaction scores (1-5) at or below this are low.
    high_priority : sequence of str, default ("high", "urgent", "critical")
        Text priorities (case-insensitive) that count as high priority.
    high_priority_min : float, default 3
        Numeric priorities at or above this count as high priority (for scales where a larger
        number is more urgent; map P1-style scales, where 1 is most urgent, before loading).

    Attributes
    ----------
    windows_ : tuple of pandas.Timedelta
        Validated windows, shortest first.
    overdue_ : pandas.Timedelta
        Validated ``overdue_days``.
    has_resolved_, has_csat_, has_priority_ : bool
        Whether the fitted tickets table had ``resolved_at``, ``csat`` (with ``resolved_at``)
        and ``priority``; the features that need a missing column are left out.

    Notes
    -----
    Columns (``W`` = each window label such as ``30d``, ``L`` = the longest window, ``N`` =
    ``overdue_days``):

    * ``tickets_W``: tickets created in the window;
    * ``tickets_per_month_L``: tickets created in the longest window per 30 days of the part of
      it after signup (tenure-scaled, so new customers are not compared with a full window);
    * ``high_priority_tickets_W`` (needs ``priority``): high-priority tickets created in the
      window;
    * ``open_tickets`` (needs ``resolved_at``): tickets created before the cutoff and not
      resolved before it (``resolved_at`` empty or at/after the cutoff);
    * ``overdue_tickets_N`` (needs ``resolved_at``): of those, the ones created more than ``N``
      before the cutoff;
    * ``resolution_days_L`` (needs ``resolved_at``): mean days from creation to resolution of
      tickets resolved in the longest window, NaN if none;
    * ``low_csat_tickets_L`` (needs ``resolved_at`` and ``csat``): tickets resolved in the
      longest window with a score at or below ``low_csat``.
    """

    tables = ("tickets",)
    group = "support"
    row_wise = True
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "windows": Windows(),
        "overdue_days": Duration(),
        "low_csat": Real(
            1, 5, expected="a score between 1 and 5 (scores at or below it are low), e.g. 2"
        ),
        "high_priority": Satisfies(
            lambda value: not isinstance(value, str),
            expected="a sequence of priorities such as ('high', 'urgent'), not a single string",
        ),
    }

    def __init__(
        self,
        *,
        windows: Sequence[Any] = (30, 90),
        overdue_days: Any = 7,
        low_csat: float = 2,
        high_priority: Sequence[str] = ("high", "urgent", "critical"),
        high_priority_min: float = 3,
    ) -> None:
        self.windows = windows
        self.overdue_days = overdue_days
        self.low_csat = low_csat
        self.high_priority = high_priority
        self.high_priority_min = high_priority_min

    def _fit_statistics(self, data: EventData, rows: FeatureRows | None) -> dict[str, Any]:
        """Check the parameters and which optional columns the tickets table has.

        Parameters
        ----------
        data : EventData
        rows : ignored

        Returns
        -------
        dict
            ``resolved_at``, ``csat``, ``priority``: whether the column is present (the same
            in every part of the data).
        """
        columns = data.tickets.columns
        return {name: name in columns for name in ("resolved_at", "csat", "priority")}

    def _fit(self, stats: dict[str, Any]) -> None:
        """Validate the parameters and decide which columns the tickets table supports.

        Parameters
        ----------
        stats : dict
            See :meth:`fit_statistics`.
        """
        self.has_resolved_ = bool(stats["resolved_at"])
        self.has_csat_ = self.has_resolved_ and bool(stats["csat"])
        self.has_priority_ = bool(stats["priority"])

    def _fit_parameters(self) -> None:
        """Parse the windows and the overdue delay."""
        self.windows_ = _parse_windows(self.windows, "windows")
        self.overdue_ = _positive_window(self.overdue_days, "overdue_days")

    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        g = self.group
        longest = self.windows_[-1]
        lab, text = window_label(longest), window_text(longest)
        day = pd.Timedelta(days=1)
        noun = "support ticket"
        infos = [
            FeatureInfo(
                f"tickets_{window_label(w)}",
                g,
                f"{{value}} opened in the last {window_text(w)}",
                kind="count",
                noun=noun,
                fact="tickets",
                window_days=w / day,
            )
            for w in self.windows_
        ]
        infos.append(
            FeatureInfo(
                f"tickets_per_month_{lab}",
                g,
                f"{{value}} a month over the last {text}",
                kind="rate",
                noun=noun,
                fact="tickets",
                window_days=longest / day,
            )
        )
        if self.has_priority_:
            infos += [
                FeatureInfo(
                    f"high_priority_tickets_{window_label(w)}",
                    g,
                    f"{{value}} in the last {window_text(w)}",
                    kind="count",
                    noun="high-priority support ticket",
                    fact="urgent tickets",
                    window_days=w / day,
                )
                for w in self.windows_
            ]
        if self.has_resolved_:
            infos += [
                FeatureInfo(
                    "open_tickets", g, "{value} open", kind="count", noun=noun, fact="open tickets"
                ),
                FeatureInfo(
                    f"overdue_tickets_{window_label(self.overdue_)}",
                    g,
                    f"{{value}} open longer than {window_text(self.overdue_)}",
                    kind="count",
                    noun=noun,
                    fact="open tickets",
                ),
                FeatureInfo(
                    f"resolution_days_{lab}",
                    g,
                    f"support tickets took {{value}} to resolve on average (last {text})",
                    kind="days",
                    fact="resolution time",
                    window_days=longest / day,
                ),
            ]
        if self.has_csat_:
            infos.append(
                FeatureInfo(
                    f"low_csat_tickets_{lab}",
                    g,
                    f"{{value}} rated {self.low_csat:g} or lower out of 5 in the last {text}",
                    kind="count",
                    noun=noun,
                    fact="unhappy with support",
                    window_days=longest / day,
                )
            )
        return infos

    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Support features for (customer_id, cutoff) rows."""
        tickets = data.tickets
        needed = (
            (["resolved_at"] if self.has_resolved_ else [])
            + (["csat"] if self.has_csat_ else [])
            + (["priority"] if self.has_priority_ else [])
        )
        missing = [c for c in needed if c not in tickets.columns]
        if missing:
            raise ChurnDataError(
                f"tickets is missing column(s) {missing} that {type(self).__name__} was fitted "
                f"with; add them, or refit on data without them"
            )
        codes, cutoffs = rows.codes, rows.cutoffs
        longest = self.windows_[-1]
        lab = window_label(longest)
        out = _Columns([info.name for info in self.feature_info()], len(rows))

        # Tickets by creation time.
        created = self.event_index(data, "tickets")
        end = created.position(codes, cutoffs)
        start = {w: created.position(codes, _minus(cutoffs, w)) for w in self.windows_}
        # a window reaching before the tickets' record of a customer is not observed
        since, unrecorded = recorded_since(data, "tickets", codes, cutoffs)
        cut_ns = cutoffs.astype("datetime64[ns]").view(np.int64)

        def seen(values: np.ndarray, w: pd.Timedelta) -> np.ndarray:
            return not_observed(values, unrecorded, cut_ns - w.value, since)

        for w in self.windows_:
            out[f"tickets_{window_label(w)}"] = seen((end - start[w]).astype(np.float64), w)
        observed_days = np.minimum(cut_ns - since, longest.value) / _NS_PER_DAY
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"tickets_per_month_{lab}"] = np.where(
                observed_days > 0,
                (end - start[longest]) / observed_days * _DAYS_PER_MONTH,
                np.nan,
            )
        if self.has_priority_:
            high = created.sorted_values(self._is_high_priority(tickets["priority"]))
            cum_high = count_prefix(high)
            for w in self.windows_:
                out[f"high_priority_tickets_{window_label(w)}"] = seen(
                    (cum_high[end] - cum_high[start[w]]).astype(np.float64), w
                )

        if self.has_resolved_:
            created_ns = tickets["created_at"].to_numpy(dtype="datetime64[ns]")
            resolved_ns = tickets["resolved_at"].to_numpy(dtype="datetime64[ns]")
            # Open at the cutoff = created before it - resolved before it (resolved >= created).
            resolved = self.event_index(data, "tickets", time_column="resolved_at")
            r_end = resolved.position(codes, cutoffs)
            r_first = resolved.starts[codes]
            out["open_tickets"] = (end - created.starts[codes] - (r_end - r_first)).astype(
                np.float64
            )
            # Open longer than N at T: created + N < T, minus those also resolved before T,
            # i.e. max(created + N, resolved) < T (never for open tickets, whose max is NaT).
            n_ns = np.timedelta64(self.overdue_.value, "ns")
            due = created.position(codes, _minus(cutoffs, self.overdue_)) - created.starts[codes]
            late = np.where(
                np.isnat(resolved_ns), resolved_ns, np.maximum(created_ns + n_ns, resolved_ns)
            )
            closed_late = EventIndex(data.event_codes("tickets"), late, len(data.customers))
            out[f"overdue_tickets_{window_label(self.overdue_)}"] = (
                due - closed_late.count_before(codes, cutoffs)
            ).astype(np.float64)
            # Resolved in [cutoff - L, cutoff): resolution time and satisfaction are known.
            r_start = resolved.position(codes, _minus(cutoffs, longest))
            n_resolved = (r_end - r_start).astype(np.float64)
            took = (resolved_ns - created_ns).astype(np.int64) / _NS_PER_DAY
            (took_sum,) = sums_between(resolved.sorted_values(took), r_end, [r_start])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"resolution_days_{lab}"] = np.where(
                    n_resolved > 0, took_sum / n_resolved, np.nan
                )
            if self.has_csat_:
                csat = tickets["csat"].to_numpy(dtype=np.float64)
                low = csat <= self.low_csat  # NaN scores are not low
                cum_low = count_prefix(resolved.sorted_values(low))
                out[f"low_csat_tickets_{lab}"] = seen(
                    (cum_low[r_end] - cum_low[r_start]).astype(np.float64), longest
                )

        return out.frame(rows.index)

    def _is_high_priority(self, priority: pd.Series) -> np.ndarray:
        """True where a priority is one of ``high_priority`` or a number >= the minimum."""
        words = {str(p).strip().lower() for p in self.high_priority}
        codes, uniques = pd.factorize(priority)  # decide once per distinct priority
        text = pd.Series(uniques).astype("string").str.strip().str.lower()
        by_word = text.isin(words).fillna(False).to_numpy(dtype=bool)
        number = pd.to_numeric(text, errors="coerce")
        by_number = (number >= self.high_priority_min).fillna(False).to_numpy(dtype=bool)
        high = np.append(by_word | by_number, False)  # code -1 (missing) -> not high
        return high[codes]
