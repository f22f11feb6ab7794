"""Customers of an at-risk list who read alike, as one line: the top of the report.

Twenty rows at the same probability with the same three reasons tell a retention manager
less than one line saying "12 lapsed customers, customer for 7-9 months, spent amount
102-233 in the last 365 days". :func:`alike_groups` joins *consecutive* rows of a list (so
ranks stay meaningful) with the same status, risk tier, suggested action and driver groups
of their first two reasons; each reason is said once per wording, its numbers as ranges.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ._list_options import N_REASONS

__all__ = ["alike_groups", "merge_numbers", "merge_reasons"]

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def merge_numbers(texts: Any) -> str:
    """Sentences that differ only in their numbers, said once with each number's range.

    Parameters
    ----------
    texts : sequence of str
        Sentences of the same shape (the same words around their numbers).

    Returns
    -------
    str

    Examples
    --------
    >>> merge_numbers(["customer for 9 months, spent amount 233",
    ...                "customer for 7 months, spent amount 1,102"])
    'customer for 7-9 months, spent amount 233-1,102'
    """
    texts = [str(t) for t in texts]
    if not texts:
        return ""
    found = [_NUMBER.findall(t) for t in texts]
    parts = _NUMBER.split(texts[0])
    slots = []
    for i in range(len(found[0])):
        tokens = [f[i] for f in found if len(f) > i]
        values = [float(t.replace(",", "")) for t in tokens]
        low, high = tokens[int(np.argmin(values))], tokens[int(np.argmax(values))]
        slots.append(low if low == high or min(values) == max(values) else f"{low}-{high}")
    return "".join(p + (slots[i] if i < len(slots) else "") for i, p in enumerate(parts))


def merge_reasons(texts: Any) -> str:
    """The reasons of one slot of a group: each wording once, most frequent first.

    Sentences that differ only in their numbers are one wording (:func:`merge_numbers`);
    two wordings are joined by " / ", more are counted; when some customers have no
    reason in the slot, the count of those who do follows ("(3 of 5)").

    Examples
    --------
    >>> merge_reasons(["no order for 9 months", "no order for 7 months", ""])
    'no order for 7-9 months (2 of 3)'
    """
    said = pd.Series([str(t) for t in texts], dtype=object)
    given = said[said != ""]
    if given.empty:
        return ""
    shape = given.str.replace(_NUMBER, "#", regex=True)
    order = shape.value_counts(sort=True).index  # most frequent first, ties by first seen
    parts = [merge_numbers(given[shape == s]) for s in order[:2]]
    text = " / ".join(parts) + (f" / {len(order) - 2} more wordings" if len(order) > 2 else "")
    return text if len(given) == len(said) else f"{text} ({len(given)} of {len(said)})"


def _total(part: pd.DataFrame, column: str) -> float:
    """The sum of a column's known amounts; NaN when none is known (or no such column: a
    list of a log of use holds no value)."""
    if column not in part.columns:
        return np.nan
    amounts = pd.to_numeric(part[column], errors="coerce")
    return float(amounts.sum()) if amounts.notna().any() else np.nan


def alike_groups(at_risk: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """Consecutive rows of an at-risk list that read alike, one row per group.

    Rows join the group above them when their ``status``, ``risk_tier``,
    ``suggested_action`` and the driver groups of their first two reasons are the same;
    their reasons are merged slot by slot (:func:`merge_reasons`).

    Parameters
    ----------
    at_risk : pandas.DataFrame
        :func:`churnpredict._export.at_risk_list` output, in rank order.
    limit : int, optional
        Keep the first ``limit`` groups.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``first_rank``, ``last_rank``, ``customers`` (how many),
        ``customer_ids`` (list, rank order), ``probability_low`` / ``probability_high``,
        ``value`` (summed ``mrr`` or ``expected_spend``, NaN when none is known),
        ``revenue_at_risk`` (summed; NaN when the list holds no value), ``status``,
        ``risk_tier``, ``suggested_action``, ``reason_1..3`` (merged) and
        ``reason_group_1..3`` (of the first customer).
    """
    if len(at_risk) == 0:
        return pd.DataFrame()
    value = "expected_spend" if "expected_spend" in at_risk.columns else "mrr"
    keys = [
        c
        for c in ("status", "risk_tier", "suggested_action", "reason_group_1", "reason_group_2")
        if c in at_risk.columns
    ]
    reasons = [f"reason_{k}" for k in range(1, N_REASONS + 1) if f"reason_{k}" in at_risk]
    shape = at_risk[keys].fillna("").astype(str).agg("|".join, axis=1)
    run = (shape != shape.shift()).cumsum().to_numpy()
    starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    ends = np.r_[starts[1:], len(run)]
    if limit is not None:
        starts, ends = starts[:limit], ends[:limit]
    rows = []
    for lo, hi in zip(starts, ends, strict=True):
        part = at_risk.iloc[lo:hi]
        first = part.iloc[0]
        row = {
            "first_rank": int(first["rank"]),
            "last_rank": int(part["rank"].iloc[-1]),
            "customers": len(part),
            "customer_ids": part["customer_id"].tolist(),
            "probability_low": float(part["churn_probability"].min()),
            "probability_high": float(part["churn_probability"].max()),
            "value": _total(part, value),
            "revenue_at_risk": _total(part, "revenue_at_risk"),
            **{k: first[k] for k in keys if not k.startswith("reason_group")},
        }
        for column in reasons:
            row[column] = merge_reasons(part[column].fillna(""))
            group = column.replace("reason_", "reason_group_")
            row[group] = first.get(group, "")
        rows.append(row)
    return pd.DataFrame(rows)
