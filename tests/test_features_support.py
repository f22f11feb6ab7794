"""Support-ticket features on a tiny hand-built tickets table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnpredict import ChurnDataError, EventData, SupportFeatures

CUTOFF = pd.Timestamp("2024-07-01")  # cutoff - 7 days = 06-24, - 30 days = 06-01, - 90 = 04-02


@pytest.fixture
def tickets():
    """Tickets of three customers.

    Customer ``a`` (signed up 2024-01-01):

    1. created 06-01 (exactly cutoff - 30 days: inside), resolved 06-03 (2 days), csat 1, "High";
    2. created 06-20, resolved 07-05 (after the cutoff: open at it, 11 days old -> overdue),
       csat 1 given on 07-05 (unknown at the cutoff: ignored), "low";
    3. created 06-26, still open (5 days old: not overdue), "URGENT";
    4. created 06-24, still open: exactly 7 days old, not *longer* than 7 days, "normal";
    5. created exactly at the cutoff (not seen at all), "critical";
    6. created 03-01 (before the 90-day window), resolved 04-10 (inside it: 40 days), csat 2,
       "critical";
    7. created 04-02 (exactly cutoff - 90 days: inside), resolved 06-30 (89 days), csat 5.

    Customer ``b`` signed up 2024-06-01, so only 30 days of the 90-day window are observed:

    8. created 06-10, resolved exactly at the cutoff (open at it, overdue), csat 1 (ignored);
    9. created 06-12, resolved 06-14 (2 days), no csat;
    10. created 06-28, resolved 06-29 (1 day): closed, though too young to be overdue anyway.

    Customer ``c`` never opened a ticket.
    """
    return pd.DataFrame(
        {
            "customer_id": ["a"] * 7 + ["b"] * 3,
            "created_at": [
                "2024-06-01",
                "2024-06-20",
                "2024-06-26",
                "2024-06-24",
                "2024-07-01",
                "2024-03-01",
                "2024-04-02",
                "2024-06-10",
                "2024-06-12",
                "2024-06-28",
            ],
            "resolved_at": [
                "2024-06-03",
                "2024-07-05",
                None,
                None,
                None,
                "2024-04-10",
                "2024-06-30",
                "2024-07-01",
                "2024-06-14",
                "2024-06-29",
            ],
            "priority": [
                "High",
                "low",
                "URGENT",
                "normal",
                "critical",
                "critical",
                "normal",
                "low",
                "low",
                "low",
            ],
            "csat": [1, 1, None, None, None, 2, 5, 1, None, None],
        }
    )


@pytest.fixture
def customers():
    return pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "signup_at": ["2024-01-01", "2024-06-01", "2024-01-01"]}
    )


def rows(customers, cutoffs):
    return pd.MultiIndex.from_arrays(
        [customers, pd.DatetimeIndex(cutoffs)], names=["customer_id", "cutoff"]
    )


def test_hand_computed_values(customers, tickets):
    data = EventData(customers, tickets=tickets)
    idx = rows(["a", "b", "c"], [CUTOFF] * 3)
    X = SupportFeatures().fit(data).build(data, idx)
    expected = pd.DataFrame(
        {
            "tickets_30d": [4.0, 3, 0],  # a: 1, 2, 3, 4
            "tickets_90d": [5.0, 3, 0],  # a: + 7
            "tickets_per_month_90d": [5 / 90 * 30, 3 / 30 * 30, 0],
            "high_priority_tickets_30d": [2.0, 0, 0],  # a: 1 "High", 3 "URGENT"
            "high_priority_tickets_90d": [2.0, 0, 0],  # 6 "critical" is before the window
            "open_tickets": [3.0, 1, 0],  # a: 2, 3, 4; b: 8
            "overdue_tickets_7d": [1.0, 1, 0],  # a: 2; b: 8
            "resolution_days_90d": [(2 + 40 + 89) / 3, (2 + 1) / 2, np.nan],
            "low_csat_tickets_90d": [2.0, 0, 0],  # a: 1 and 6; 2 and 8 resolved too late
        },
        index=idx,
    )
    pd.testing.assert_frame_equal(X, expected)


def test_csat_known_only_after_resolution(customers, tickets):
    """Ticket 2's csat counts once it is resolved (07-05), not at the 07-01 cutoff."""
    data = EventData(customers, tickets=tickets)
    idx = rows(["a", "a"], ["2024-07-05", "2024-07-06"])
    X = SupportFeatures().fit(data).build(data, idx)
    assert X["low_csat_tickets_90d"].tolist() == [2.0, 3.0]
    # ticket 2 is open at 07-05 00:00 (resolved at that instant) and closed one day later
    assert X["open_tickets"].tolist() == [4.0, 3.0]  # 07-05: 2, 3, 4, 5; 07-06: 3, 4, 5


def test_resolved_after_cutoff_counts_as_open(customers, tickets):
    """Ticket 8 (customer b) is resolved exactly at the cutoff: open at it, closed just after."""
    data = EventData(customers, tickets=tickets)
    idx = rows(["b", "b"], ["2024-07-01", "2024-07-01 00:00:01"])
    X = SupportFeatures().fit(data).build(data, idx)
    assert X["open_tickets"].tolist() == [1.0, 0.0]
    assert X["overdue_tickets_7d"].tolist() == [1.0, 0.0]
    assert X["low_csat_tickets_90d"].tolist() == [0.0, 1.0]
    assert X["resolution_days_90d"].tolist() == [1.5, (2 + 21 + 1) / 3]


def test_window_edges(customers, tickets):
    """A ticket created at the cutoff is excluded; one at cutoff - window is included.

    Ticket 1 (06-01) is in the 30-day window at 07-01 and has left it at 07-01 00:00:01;
    ticket 5 (created 07-01) is not seen at 07-01 but is one second later.
    """
    data = EventData(customers, tickets=tickets)
    idx = rows(["a", "a"], ["2024-07-01", "2024-07-01 00:00:01"])
    X = SupportFeatures().fit(data).build(data, idx)
    assert X["tickets_30d"].tolist() == [4.0, 4.0]  # 1 out, 5 in
    assert X["high_priority_tickets_30d"].tolist() == [2.0, 2.0]  # "High" out, "critical" in


def test_overdue_exactly_at_threshold(customers, tickets):
    """Ticket 4 (created 06-24, open) is exactly 7 days old at 07-01: overdue only after."""
    data = EventData(customers, tickets=tickets)
    idx = rows(["a", "a"], ["2024-07-01", "2024-07-01 12:00"])
    X = SupportFeatures().fit(data).build(data, idx)
    assert X["overdue_tickets_7d"].tolist() == [1.0, 2.0]


def test_point_in_time_matches_cut_data(customers, tickets):
    """Features at a cutoff do not change when everything from the cutoff on is removed
    (later resolutions and their csat blanked)."""
    data = EventData(customers, tickets=tickets)
    idx = rows(["a", "b", "c"], [CUTOFF] * 3)
    builder = SupportFeatures().fit(data)
    pd.testing.assert_frame_equal(builder.build(data, idx), builder.build(data.cut(CUTOFF), idx))


def test_missing_optional_columns_leave_features_out(customers, tickets):
    data = EventData(customers, tickets=tickets[["customer_id", "created_at"]])
    builder = SupportFeatures().fit(data)
    assert builder.get_feature_names_out().tolist() == [
        "tickets_30d",
        "tickets_90d",
        "tickets_per_month_90d",
    ]
    X = builder.build(data, rows(["a"], [CUTOFF]))
    assert X.loc[("a", CUTOFF)].tolist() == [4.0, 5.0, 5 / 90 * 30]
    # csat without resolved_at cannot be placed in time: left out too
    data = EventData(customers, tickets=tickets[["customer_id", "created_at", "csat"]])
    assert "low_csat_tickets_90d" not in SupportFeatures().fit(data).get_feature_names_out()


def test_fitted_column_missing_at_build(customers, tickets):
    builder = SupportFeatures().fit(EventData(customers, tickets=tickets))
    data = EventData(customers, tickets=tickets.drop(columns=["csat"]))
    with pytest.raises(ChurnDataError, match=r"missing column\(s\) \['csat'\]"):
        builder.build(data, rows(["a"], [CUTOFF]))


def test_numeric_priorities_and_parameters(customers):
    """Priorities 1-5 where 5 is most urgent; with high_priority_min=4 two of three count."""
    tickets = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "created_at": ["2024-06-20", "2024-06-21", "2024-06-22"],
            "priority": [5, 2, 4],
        }
    )
    data = EventData(customers, tickets=tickets)
    builder = SupportFeatures(windows=(14,), overdue_days="3D", high_priority_min=4).fit(data)
    X = builder.build(data, rows(["a"], [CUTOFF]))
    assert list(X.columns) == ["tickets_14d", "tickets_per_month_14d", "high_priority_tickets_14d"]
    assert X.loc[("a", CUTOFF), "high_priority_tickets_14d"] == 2.0


def test_descriptions_read_in_plain_words(customers, tickets):
    data = EventData(customers, tickets=tickets)
    infos = {i.name: i for i in SupportFeatures().fit(data).feature_info()}
    assert {i.group for i in infos.values()} == {"support"}
    assert infos["overdue_tickets_7d"].describe(3.0) == (
        "3 support tickets open longer than 7 days"
    )
    assert infos["low_csat_tickets_90d"].describe(2.0) == (
        "2 support tickets rated 2 or lower out of 5 in the last 90 days"
    )
    assert infos["tickets_30d"].describe(3.0) == "3 support tickets opened in the last 30 days"
    assert infos["tickets_per_month_90d"].describe(1.25) == (
        "1.2 support tickets a month over the last 90 days"
    )


def test_absent_tickets_table_is_skipped(customers):
    payments = pd.DataFrame(
        {
            "customer_id": ["a"],
            "timestamp": ["2024-02-01"],
            "amount": [9.0],
            "status": ["succeeded"],
        }
    )
    data = EventData(customers, payments=payments)
    builder = SupportFeatures()
    assert not builder.applies_to(data)
    with pytest.raises(ChurnDataError, match="SupportFeatures needs the tickets table"):
        builder.fit(data)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"low_csat": 7}, "between 1 and 5"),
        ({"low_csat": "low"}, "between 1 and 5"),
        ({"overdue_days": 0}, "must be positive"),
        ({"windows": ()}, "is empty"),
        ({"high_priority": "high"}, "single string"),
    ],
)
def test_bad_parameters(customers, tickets, params, message):
    data = EventData(customers, tickets=tickets)
    with pytest.raises(ValueError, match=message):
        SupportFeatures(**params).fit(data)


def test_matches_a_plain_loop_on_a_seeded_synthetic_set():
    """Random tickets on whole days (many created or resolved exactly on cutoffs and window
    edges), some never resolved, checked against the definitions row by row."""
    rng = np.random.default_rng(3)
    n = 300
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D")
    resolved = created + pd.to_timedelta(rng.integers(0, 30, n), "D")
    tickets = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 12, n),
            "created_at": created,
            "resolved_at": resolved.where(rng.random(n) < 0.8),
            "priority": rng.choice(["low", "High", "urgent", "normal"], n),
            "csat": pd.Series(rng.integers(1, 6, n), dtype="float64").where(rng.random(n) < 0.7),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": range(12),
            "signup_at": pd.Timestamp("2023-12-01")
            + pd.to_timedelta(rng.integers(0, 120, 12), "D"),
        }
    )
    data = EventData(customers, tickets=tickets)
    cutoffs = pd.to_datetime(["2024-04-15", "2024-06-01", "2024-07-20"])
    idx = pd.MultiIndex.from_product([range(12), cutoffs], names=["customer_id", "cutoff"])
    X = SupportFeatures().fit(data).build(data, idx)
    day = pd.Timedelta(days=1)
    signup = customers.set_index("customer_id")["signup_at"]
    for (cid, cut), got in X.iterrows():
        t = data.tickets[(data.tickets.customer_id == cid) & (data.tickets.created_at < cut)]
        for w in (30, 90):
            recent = t[t.created_at >= cut - w * day]
            assert got[f"tickets_{w}d"] == len(recent)
            high = recent.priority.str.lower().isin(["high", "urgent", "critical"]).sum()
            assert got[f"high_priority_tickets_{w}d"] == high
        observed = min(90, (cut - signup[cid]) / day)
        assert got["tickets_per_month_90d"] == pytest.approx(
            (t.created_at >= cut - 90 * day).sum() / observed * 30
        )
        is_open = t.resolved_at.isna() | (t.resolved_at >= cut)
        assert got["open_tickets"] == is_open.sum()
        assert got["overdue_tickets_7d"] == (is_open & (t.created_at < cut - 7 * day)).sum()
        done = t[(t.resolved_at < cut) & (t.resolved_at >= cut - 90 * day)]
        took = ((done.resolved_at - done.created_at) / day).mean() if len(done) else np.nan
        np.testing.assert_allclose(got["resolution_days_90d"], took)
        assert got["low_csat_tickets_90d"] == (done.csat <= 2).sum()
