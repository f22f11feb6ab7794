"""Customers who read alike share one line of the report's top table."""

from __future__ import annotations

import pandas as pd

from churnpredict._alike import alike_groups, merge_numbers


def _list():
    """Five lapsed one-time buyers who read alike but for their numbers, then one active
    customer, then two more lapsed ones (not next to the first five: a new line)."""
    lapsed = "customer for {} months, spent amount {} in the last 365 days"
    rows = [
        (0.793, 9, 233),
        (0.793, 9, 226),
        (0.793, 8, 206),
        (0.792, 7, "1,102"),
        (0.792, 9, 79.6),
    ]
    frame = pd.DataFrame(
        {
            "rank": range(1, 9),
            "customer_id": list("abcdefgh"),
            "churn_probability": [p for p, _, _ in rows] + [0.7, 0.6, 0.6],
            "risk_tier": "high",
            "expected_spend": [10.0] * 8,
            "revenue_at_risk": [7.0] * 8,
            "reason_1": [lapsed.format(m, s) for _, m, s in rows]
            + ["no order for 2 weeks", lapsed.format(9, 50), lapsed.format(9, 60)],
            "reason_2": ["only one order so far"] * 5 + ["", "only one order so far"] * 1 + [""],
            "reason_3": [""] * 8,
            "reason_group_1": ["tenure"] * 5 + ["engagement", "tenure", "tenure"],
            "reason_group_2": ["engagement"] * 5 + ["", "engagement", ""],
            "reason_group_3": [""] * 8,
            "suggested_action": ["win-back offer"] * 5 + ["reminder"] + ["win-back offer"] * 2,
            "status": ["lapsed"] * 5 + ["active", "lapsed", "lapsed"],
        }
    )
    return frame


def test_merge_numbers_gives_ranges_in_number_order():
    assert merge_numbers(["for 9 months, amount 233", "for 7 months, amount 1,102"]) == (
        "for 7-9 months, amount 233-1,102"
    )
    assert merge_numbers(["+25% vs 90 days ago", "+25% vs 90 days ago"]) == "+25% vs 90 days ago"
    assert merge_numbers([]) == ""


def test_consecutive_customers_who_read_alike_share_a_line():
    groups = alike_groups(_list())
    assert groups["customers"].tolist() == [5, 1, 1, 1]
    first = groups.iloc[0]
    assert (first["first_rank"], first["last_rank"]) == (1, 5)
    assert first["customer_ids"] == list("abcde")
    assert (
        first["reason_1"] == "customer for 7-9 months, spent amount 79.6-1,102 in the last 365 days"
    )
    assert first["reason_2"] == "only one order so far"
    assert (first["probability_low"], first["probability_high"]) == (0.792, 0.793)
    assert first["revenue_at_risk"] == 35.0 and first["value"] == 50.0
    assert first["status"] == "lapsed" and first["suggested_action"] == "win-back offer"
    # g and h read alike but for reason_2: two lines
    assert groups["first_rank"].tolist() == [1, 6, 7, 8]
    assert len(alike_groups(_list(), limit=2)) == 2
    assert alike_groups(_list().head(0)).empty
