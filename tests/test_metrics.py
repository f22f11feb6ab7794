"""Business metrics: churn, retention and revenue churn per period, and cohort retention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnpredict._data import EventData
from churnpredict._exceptions import ChurnDataError
from churnpredict._metrics import churn_metrics, cohort_retention

NAN = np.nan


def subscriptions(*, payments: bool = True, mrr: bool = False) -> EventData:
    """Five subscribers from December 2023 to March 2024.

    * A (basic) signs up on 1 Dec at midnight and stays. Pays 10 on the 1st of each month,
      then 15 from 1 Mar: an expansion of 5 in March (the payment at the first instant of
      March belongs to March).
    * B (pro) signs up on 10 Dec, pays 50 a month and cancels on 20 Feb (voluntary).
    * C (pro) signs up on 15 Dec, pays 40, downgrades to 30 on 15 Feb (a contraction of 10
      in February); its 1 Mar payment fails and it is cancelled on 10 Mar (involuntary).
    * D (basic) signs up on 3 Feb and stays, paying 20; a refund on 20 Mar does not change
      its MRR.
    * E (basic) signs up on 12 Feb, pays 5 and cancels on 25 Feb: new and gone in February.

    December starts with nobody: its rates are NaN.
    """
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E"],
            "signup_at": ["2023-12-01", "2023-12-10", "2023-12-15", "2024-02-03", "2024-02-12"],
            "churned_at": [None, "2024-02-20", "2024-03-10", None, "2024-02-25"],
            "churn_type": [None, "voluntary", "involuntary", None, "voluntary"],
            "plan": ["basic", "pro", "pro", "basic", "basic"],
        }
    )
    if mrr:
        customers["mrr"] = [10.0, 50.0, 40.0, 20.0, 5.0]
    rows = [
        ("A", "2023-12-01", 10, "succeeded"),
        ("A", "2024-01-01", 10, "succeeded"),
        ("A", "2024-02-01", 10, "succeeded"),
        ("A", "2024-03-01", 15, "succeeded"),
        ("B", "2023-12-10", 50, "succeeded"),
        ("B", "2024-01-10", 50, "succeeded"),
        ("B", "2024-02-10", 50, "succeeded"),
        ("C", "2023-12-15", 40, "succeeded"),
        ("C", "2024-01-15", 40, "succeeded"),
        ("C", "2024-02-15", 30, "succeeded"),
        ("C", "2024-03-01", 30, "failed"),
        ("D", "2024-02-03", 20, "succeeded"),
        ("D", "2024-03-03", 20, "succeeded"),
        ("D", "2024-03-20", 20, "refunded"),
        ("E", "2024-02-12", 5, "succeeded"),
    ]
    table = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "status"])
    return EventData(customers, payments=table if payments else None)


PERIODS = pd.DatetimeIndex(
    ["2023-12-01", "2024-01-01", "2024-02-01", "2024-03-01"], name="period"
).astype("datetime64[ns]")


def expected_totals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period_end": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
            ).astype("datetime64[ns]"),
            "customers_start": [0, 3, 3, 3],
            "new": [3, 0, 2, 0],
            "churned": [0, 0, 1, 1],
            "churned_voluntary": [0, 0, 1, 0],
            "churned_involuntary": [0, 0, 0, 1],
            "churned_new": [0, 0, 1, 0],
            "customers_end": [3, 3, 3, 2],
            "churn_rate": [NAN, 0.0, 1 / 3, 1 / 3],
            "retention_rate": [NAN, 1.0, 2 / 3, 2 / 3],
            "mrr_start": [0.0, 100.0, 100.0, 60.0],
            "mrr_churned": [0.0, 0.0, 50.0, 30.0],
            "expansion": [0.0, 0.0, 0.0, 5.0],
            "contraction": [0.0, 0.0, 10.0, 0.0],
            "gross_revenue_churn": [NAN, 0.0, 0.6, 0.5],
            "net_revenue_churn": [NAN, 0.0, 0.6, 25 / 60],
        },
        index=PERIODS,
    )


def test_monthly_metrics_of_the_story():
    result = churn_metrics(subscriptions(), end="2024-04-01")
    pd.testing.assert_frame_equal(result, expected_totals())


def test_default_end_is_the_latest_time_and_clips_the_last_period():
    """The data ends with D's refund on 20 Mar: March is reported up to then."""
    result = churn_metrics(subscriptions())
    assert result.index.equals(PERIODS)
    assert result["period_end"].iloc[-1] == pd.Timestamp("2024-03-20")
    march = result.iloc[-1]
    assert (march["customers_start"], march["churned"], march["customers_end"]) == (3, 1, 2)
    assert march["expansion"] == 5.0  # A's 1 Mar payment, D's 3 Mar payment unchanged


def test_explicit_start_and_end_select_periods():
    result = churn_metrics(subscriptions(), start="2024-01-20", end="2024-03-01")
    assert result.index.equals(PERIODS[1:3])
    pd.testing.assert_frame_equal(result, expected_totals().iloc[1:3])


def test_segmented_by_plan():
    """Basic holds A, D, E; pro holds B, C. In March basic expands with no churn: its net
    revenue churn is negative."""
    result = churn_metrics(subscriptions(), segment="plan", end="2024-04-01")
    assert result.index.names == ["period", "plan"]
    assert result.index.get_level_values("plan").tolist() == ["basic", "pro"] * 4
    cols = ["customers_start", "new", "churned", "churned_new", "customers_end"]
    assert result[cols].to_numpy().tolist() == [
        [0, 1, 0, 0, 1],
        [0, 2, 0, 0, 2],  # December
        [1, 0, 0, 0, 1],
        [2, 0, 0, 0, 2],  # January
        [1, 2, 0, 1, 2],
        [2, 0, 1, 0, 1],  # February
        [2, 0, 0, 0, 2],
        [1, 0, 1, 0, 0],  # March
    ]
    feb_pro = result.loc[(pd.Timestamp("2024-02-01"), "pro")]
    assert feb_pro["churn_rate"] == 0.5
    assert feb_pro["mrr_start"] == 90.0
    assert feb_pro["gross_revenue_churn"] == pytest.approx(60 / 90)
    mar_basic = result.loc[(pd.Timestamp("2024-03-01"), "basic")]
    assert mar_basic["mrr_start"] == 30.0
    assert mar_basic["churn_rate"] == 0.0
    assert mar_basic["gross_revenue_churn"] == 0.0
    assert mar_basic["net_revenue_churn"] == pytest.approx(-5 / 30)
    mar_pro = result.loc[(pd.Timestamp("2024-03-01"), "pro")]
    assert (mar_pro["churned_involuntary"], mar_pro["churn_rate"]) == (1, 1.0)
    # segments add up to the totals
    summed = result.drop(columns="period_end").groupby(level="period").sum()
    totals = expected_totals()
    for col in (
        "customers_start",
        "new",
        "churned",
        "churned_new",
        "customers_end",
        "mrr_start",
        "mrr_churned",
        "expansion",
        "contraction",
    ):
        assert summed[col].tolist() == totals[col].tolist(), col


def test_customers_mrr_is_used_without_payments():
    """customers.mrr is constant: churned MRR counts, expansion and contraction are 0."""
    result = churn_metrics(subscriptions(payments=False, mrr=True), end="2024-04-01")
    assert result["mrr_start"].tolist() == [0.0, 100.0, 100.0, 70.0]  # March: A + C + D
    assert result["mrr_churned"].tolist() == [0.0, 0.0, 50.0, 40.0]
    assert result["expansion"].tolist() == [0.0] * 4
    assert result["contraction"].tolist() == [0.0] * 4
    np.testing.assert_allclose(result["net_revenue_churn"], [NAN, 0.0, 0.5, 40 / 70])


def test_payments_take_precedence_over_customers_mrr():
    result = churn_metrics(subscriptions(payments=True, mrr=True), end="2024-04-01")
    pd.testing.assert_frame_equal(result, expected_totals())


def test_revenue_columns_are_nan_without_revenue_data():
    result = churn_metrics(subscriptions(payments=False), end="2024-04-01")
    assert result["churned"].tolist() == [0, 0, 1, 1]
    for col in (
        "mrr_start",
        "mrr_churned",
        "expansion",
        "contraction",
        "gross_revenue_churn",
        "net_revenue_churn",
    ):
        assert result[col].isna().all(), col


def test_churn_type_split_is_nan_when_unknown():
    data = subscriptions()
    customers = data.customers.drop(columns="churn_type")
    result = churn_metrics(EventData(customers, payments=data.payments), end="2024-04-01")
    assert result["churned"].tolist() == [0, 0, 1, 1]
    assert result["churned_voluntary"].isna().all()
    assert result["churned_involuntary"].isna().all()


def test_weekly_periods_count_each_churn_once():
    result = churn_metrics(subscriptions(), period="W-MON", end="2024-04-01")
    assert result.index[0] == pd.Timestamp("2023-11-27")  # the Monday before 1 Dec
    assert result["churned"].sum() + result["churned_new"].sum() == 3
    assert result["new"].sum() == 5
    assert (
        result["customers_end"].to_numpy()[:-1] == result["customers_start"].to_numpy()[1:]
    ).all()


def test_churn_exactly_at_a_period_start_belongs_to_the_period_before():
    """X churns at the first instant of February: active at no February start, lost in
    January."""
    customers = pd.DataFrame(
        {
            "customer_id": ["X", "Y"],
            "signup_at": ["2023-12-05", "2023-12-06"],
            "churned_at": ["2024-02-01", None],
        }
    )
    result = churn_metrics(EventData(customers), end="2024-03-01")
    assert result["customers_start"].tolist() == [0, 2, 1]
    assert result["churned"].tolist() == [0, 1, 0]


def activity_story(**activity_rows) -> EventData:
    """Retail customers without churned_at; churn is 30 days without activity.

    * P signs up on 1 Jan, is active on 5 and 20 Jan, then silent: churned on 19 Feb.
    * Q signs up on 10 Jan, active until 20 Mar: its 30 days are not over when the data ends
      (10 Apr), so it is still active.
    * R signs up on 1 Feb, is silent for more than 30 days, comes back on 10 Apr: the gap is
      not churn, only a final lapse is.
    * S signs up on 1 Mar and never does anything: churned 30 days after signup, on 31 Mar,
      in the month it joined.
    """
    customers = pd.DataFrame(
        {
            "customer_id": ["P", "Q", "R", "S"],
            "signup_at": ["2024-01-01", "2024-01-10", "2024-02-01", "2024-03-01"],
        }
    )
    activity = pd.DataFrame(
        [
            ("P", "2024-01-05"),
            ("P", "2024-01-20"),
            ("Q", "2024-01-10"),
            ("Q", "2024-02-15"),
            ("Q", "2024-03-20"),
            ("R", "2024-02-01"),
            ("R", "2024-04-10"),
        ],
        columns=["customer_id", "timestamp"],
    )
    return EventData(customers, activity=activity)


def test_non_contractual_churn_after_inactivity():
    result = churn_metrics(activity_story(), inactivity="30D")
    assert result.index.equals(
        pd.DatetimeIndex(
            ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"], name="period"
        ).astype("datetime64[ns]")
    )
    assert result["period_end"].iloc[-1] == pd.Timestamp("2024-04-10")
    assert result["customers_start"].tolist() == [0, 2, 2, 2]
    assert result["new"].tolist() == [2, 1, 1, 0]
    assert result["churned"].tolist() == [0, 1, 0, 0]
    assert result["churned_new"].tolist() == [0, 0, 1, 0]
    assert result["customers_end"].tolist() == [2, 2, 2, 2]
    np.testing.assert_array_equal(result["churn_rate"], [NAN, 0.5, 0.0, 0.0])
    assert result["churned_voluntary"].isna().all()
    assert result["mrr_start"].isna().all()


def test_non_contractual_uses_only_what_is_known_at_end():
    """As of 15 Feb, P's 30 silent days (from 20 Jan) are not over yet."""
    result = churn_metrics(activity_story(), inactivity="30D", end="2024-02-15")
    assert result["churned"].tolist() == [0, 0]
    assert result["customers_end"].tolist() == [2, 3]
    assert result["period_end"].iloc[-1] == pd.Timestamp("2024-02-15")


def test_non_contractual_from_payments_without_activity():
    """No activity table: the latest succeeded payment is the last event. Z's failed payment
    on 20 Feb is not activity, so Z lapses 30 days after 15 Jan (14 Feb)."""
    customers = pd.DataFrame({"customer_id": ["Z", "W"], "signup_at": ["2024-01-02", "2024-01-03"]})
    payments = pd.DataFrame(
        {
            "customer_id": ["Z", "Z", "W", "W"],
            "timestamp": ["2024-01-15", "2024-02-20", "2024-01-03", "2024-03-25"],
            "amount": [10.0, 10.0, 7.0, 7.0],
            "status": ["succeeded", "failed", "succeeded", "succeeded"],
        }
    )
    result = churn_metrics(EventData(customers, payments=payments), inactivity="30D")
    assert result["churned"].tolist() == [0, 1, 0]
    assert result["mrr_churned"].tolist() == [0.0, 10.0, 0.0]
    assert result["mrr_start"].tolist() == [0.0, 17.0, 7.0]


def test_cohort_retention_of_the_story():
    """December cohort: A, B, C; B is gone by 1 Mar, C by 1 Apr. February cohort: D, E; E
    is gone by 1 Mar. Beyond 1 Apr nothing is known."""
    table = cohort_retention(subscriptions(), max_periods=4, end="2024-04-01")
    expected = pd.DataFrame(
        [[1.0, 1.0, 1.0, 2 / 3, 1 / 3], [1.0, 0.5, 0.5, NAN, NAN]],
        index=pd.DatetimeIndex(["2023-12-01", "2024-02-01"], name="cohort").astype(
            "datetime64[ns]"
        ),
        columns=pd.RangeIndex(5, name="periods_since_signup"),
    )
    pd.testing.assert_frame_equal(table, expected)


def test_cohort_retention_non_contractual():
    table = cohort_retention(activity_story(), max_periods=3, inactivity="30D")
    # January (P, Q): P lapses on 19 Feb. February (R). March (S): S lapses on 31 Mar.
    np.testing.assert_array_equal(
        table.to_numpy(),
        [[1.0, 1.0, 0.5, 0.5], [1.0, 1.0, 1.0, NAN], [1.0, 0.0, NAN, NAN]],
    )


def test_cohort_retention_leaves_out_later_signups():
    table = cohort_retention(subscriptions(), max_periods=1, end="2024-01-15")
    assert table.index.tolist() == [pd.Timestamp("2023-12-01")]
    assert table.to_numpy().tolist() == [[1.0, 1.0]]


def synthetic(seed: int = 7) -> EventData:
    """Forty subscribers with random signups, cancellations and monthly payments whose
    amounts drift up and down, some of them exactly at month starts."""
    rng = np.random.default_rng(seed)
    n = 40
    t0 = pd.Timestamp("2024-01-01")
    signup = t0 + pd.to_timedelta(rng.integers(0, 150, n), unit="D")
    life = pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    churned = pd.Series(signup + life).where(rng.random(n) < 0.6)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "signup_at": signup,
            "churned_at": churned,
            "churn_type": np.where(rng.random(n) < 0.5, "voluntary", "involuntary"),
            "plan": rng.choice(["basic", "pro", "team"], n),
        }
    )
    rows = []
    for i in range(n):
        for m in range(8):
            when = signup[i] + pd.DateOffset(months=m)
            if m % 3 == 1:
                when = when.to_period("M").to_timestamp()  # at a month start
            rows.append(
                (
                    i,
                    when,
                    float(rng.choice([10, 20, 30])),
                    rng.choice(["succeeded", "succeeded", "failed"]),
                )
            )
    payments = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "status"])
    return EventData(customers, payments=payments)


def reference(data: EventData, periods: pd.DatetimeIndex, ends: list) -> pd.DataFrame:
    """Straightforward per-customer, per-period computation of the definitions."""
    c = data.customers
    p = data.payments[data.payments["status"] == "succeeded"]
    inf = pd.Timestamp.max

    def mrr(cid, t):
        paid = p[(p["customer_id"] == cid) & (p["timestamp"] < t)]
        return float(paid["amount"].iloc[-1]) if len(paid) else 0.0

    out = []
    for s, e in zip(periods, ends, strict=True):
        row = dict.fromkeys(
            ["customers_start", "new", "churned", "churned_new", "customers_end"], 0
        )
        row.update(mrr_start=0.0, mrr_churned=0.0, expansion=0.0, contraction=0.0)
        for cid, a, ch in zip(c["customer_id"], c["signup_at"], c["churned_at"], strict=True):
            ch = inf if pd.isna(ch) else ch
            if a < s < ch:
                row["customers_start"] += 1
                row["mrr_start"] += mrr(cid, s)
                if ch <= e:
                    row["churned"] += 1
                    row["mrr_churned"] += mrr(cid, s)
                else:
                    delta = mrr(cid, e) - mrr(cid, s)
                    row["expansion"] += max(delta, 0.0)
                    row["contraction"] += max(-delta, 0.0)
            if s <= a < e:
                row["new"] += 1
                row["churned_new"] += ch <= e
            row["customers_end"] += a < e < ch
        out.append(row)
    return pd.DataFrame(out, index=periods)


def test_matches_a_per_customer_reference_on_synthetic_data():
    data = synthetic()
    result = churn_metrics(data, end="2024-09-15")
    expected = reference(data, result.index, list(result["period_end"]))
    for col in expected.columns:
        np.testing.assert_allclose(
            result[col].to_numpy(float), expected[col].to_numpy(float), err_msg=col
        )
    # the segments partition the customers
    by_plan = churn_metrics(data, segment="plan", end="2024-09-15")
    summed = by_plan.drop(columns="period_end").groupby(level="period").sum()
    for col in expected.columns:
        np.testing.assert_allclose(summed[col], result[col], err_msg=col)
    assert (result["churned"] == result["churned_voluntary"] + result["churned_involuntary"]).all()


def test_timezone_aware_bounds_are_read_as_utc():
    naive = churn_metrics(subscriptions(), end="2024-04-01")
    aware = churn_metrics(subscriptions(), end=pd.Timestamp("2024-04-01 02:00", tz="Europe/Paris"))
    pd.testing.assert_frame_equal(naive, aware)


@pytest.mark.parametrize("period", ["XYZ", "-1MS", 0])
def test_bad_period(period):
    with pytest.raises(ValueError, match="not a positive pandas frequency"):
        churn_metrics(subscriptions(), period=period)


def test_unknown_segment_column():
    with pytest.raises(ChurnDataError, match="customers has no column 'region'.*'plan'"):
        churn_metrics(subscriptions(), segment="region")


def test_start_after_end():
    with pytest.raises(ValueError, match="start 2024-05-01 00:00:00 is not before end"):
        churn_metrics(subscriptions(), start="2024-05-01", end="2024-04-01")


def test_snapshot_data_has_no_metrics():
    snapshot = EventData(
        pd.DataFrame({"customer_id": [1, 2], "Exited": [0, 1]}), label_column="Exited"
    )
    with pytest.raises(ChurnDataError, match="snapshot table.*need customers.signup_at"):
        churn_metrics(snapshot)
    with pytest.raises(ChurnDataError, match="snapshot table"):
        cohort_retention(snapshot)


def test_cancellation_kind_needs_churned_at():
    with pytest.raises(ChurnDataError, match="no churned_at column"):
        churn_metrics(activity_story(), kind="cancellation")


@pytest.mark.parametrize("max_periods", [-1, 2.5, True])
def test_bad_max_periods(max_periods):
    with pytest.raises(ValueError, match="max_periods=.*integer >= 0"):
        cohort_retention(subscriptions(), max_periods=max_periods)
