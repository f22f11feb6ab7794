"""Monetary features on a tiny hand-built payments table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnpredict import ChurnDataError, EventData, MonetaryFeatures, build_features

CUTOFF = pd.Timestamp("2024-07-01")  # cutoff - 30 days = 2024-06-01, - 90 days = 2024-04-02,
#                                      cutoff - 180 days = 2024-01-03


@pytest.fixture
def data():
    """Four customers paying for a subscription.

    * ``a`` paid 50 on 2024-01-01 (before the 180-day window), 40 on 2024-02-01, 50 on
      2024-04-02 (exactly cutoff - 90 days: inside the 90-day window), 60 on 2024-06-01 (exactly
      cutoff - 30 days: inside the 30-day window), got 20 refunded on 2024-06-15, had a failed
      attempt of 60 on 2024-06-20 (not money paid), and paid 70 exactly at the cutoff (not seen).
      Latest payment before the cutoff: 60; latest before cutoff - 90 days: 40 (the 2024-04-02
      payment is not *before* 2024-04-02) -> price up 50%.
    * ``b`` never paid.
    * ``c`` paid 30 once, on 2024-06-10: no earlier price to compare.
    * ``d`` was on a free plan (a 0 payment on 2024-03-01), then paid 25 on 2024-06-15: the
      relative change from 0 is undefined, the absolute change is +25.
    """
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "signup_at": ["2023-12-01"] * 4})
    payments = pd.DataFrame(
        {
            "customer_id": ["a"] * 7 + ["c", "d", "d"],
            "timestamp": [
                "2024-01-01",
                "2024-02-01",
                "2024-04-02",
                "2024-06-01",
                "2024-06-15",
                "2024-06-20",
                "2024-07-01",
                "2024-06-10",
                "2024-03-01",
                "2024-06-15",
            ],
            "amount": [50, 40, 50, 60, 20, 60, 70, 30, 0, 25],
            "status": ["succeeded"] * 4
            + ["refunded", "failed", "succeeded", "succeeded", "succeeded", "succeeded"],
        }
    )
    return EventData(customers, payments=payments)


def rows(customers, cutoff=CUTOFF):
    return pd.MultiIndex.from_arrays(
        [customers, pd.DatetimeIndex([cutoff] * len(customers))], names=["customer_id", "cutoff"]
    )


def test_hand_computed_values(data):
    idx = rows(["a", "b", "c", "d"])
    X = MonetaryFeatures().fit(data).build(data, idx)
    expected = pd.DataFrame(
        {
            "paid_30d": [60.0, 0, 30, 25],
            "paid_90d": [110.0, 0, 30, 25],
            "paid_180d": [150.0, 0, 30, 25],
            "payments_180d": [3.0, 0, 1, 2],
            "avg_payment_180d": [50.0, np.nan, 30, 12.5],
            "mrr": [60.0, np.nan, 30, 25],
            "price_change_pct_90d": [0.5, np.nan, np.nan, np.nan],
            "price_change_90d": [20.0, np.nan, np.nan, 25],
            "refunded_30d": [20.0, 0, 0, 0],
            "refunded_90d": [20.0, 0, 0, 0],
            "refunded_180d": [20.0, 0, 0, 0],
            "refunds_30d": [1.0, 0, 0, 0],
            "refunds_90d": [1.0, 0, 0, 0],
            "refunds_180d": [1.0, 0, 0, 0],
        },
        index=idx,
    )
    pd.testing.assert_frame_equal(X, expected)


def test_window_edges(data):
    """A payment at the cutoff is excluded; one at cutoff - window is included.

    At cutoff 2024-06-01 the 60 paid that day is not seen (mrr is the 50 of 2024-04-02). At
    2024-07-01 the 60 paid exactly 30 days earlier is inside ``paid_30d``; one day later it has
    left it.
    """
    idx = pd.MultiIndex.from_arrays(
        [["a", "a", "a"], pd.to_datetime(["2024-06-01", "2024-07-01", "2024-07-02"])],
        names=["customer_id", "cutoff"],
    )
    X = MonetaryFeatures().fit(data).build(data, idx)
    assert X["mrr"].tolist() == [50.0, 60.0, 70.0]
    assert X["paid_30d"].tolist() == [0.0, 60.0, 70.0]  # 07-02: 70 at 07-01, 60 at 06-01 out
    assert X["paid_90d"].tolist() == [50.0, 110.0, 130.0]  # 04-02 is cutoff - 91 days at 07-02


def test_point_in_time_matches_cut_data(data):
    """Features at a cutoff do not change when everything from the cutoff on is removed."""
    idx = rows(["a", "b", "c", "d"])
    builder = MonetaryFeatures().fit(data)
    pd.testing.assert_frame_equal(builder.build(data, idx), builder.build(data.cut(CUTOFF), idx))


def test_parameters_change_columns(data):
    builder = MonetaryFeatures(windows=("7D", 60), price_change_lookback="14D").fit(data)
    names = builder.get_feature_names_out().tolist()
    assert names == [
        "paid_7d",
        "paid_60d",
        "payments_60d",
        "avg_payment_60d",
        "mrr",
        "price_change_pct_14d",
        "price_change_14d",
        "refunded_7d",
        "refunded_60d",
        "refunds_7d",
        "refunds_60d",
    ]
    X = builder.build(data, rows(["a"]))
    assert list(X.columns) == names
    assert (X.dtypes == "float64").all()
    # 14 days before 2024-07-01 the latest payment was the 60 of 2024-06-01: no change.
    assert X.loc[("a", CUTOFF), "price_change_pct_14d"] == 0.0


def test_descriptions_read_in_plain_words(data):
    infos = {i.name: i for i in MonetaryFeatures().fit(data).feature_info()}
    assert {i.group for i in infos.values()} == {"monetary"}
    assert infos["price_change_pct_90d"].describe(0.25) == "price changed +25% vs 90 days ago"
    assert infos["price_change_pct_90d"].describe(-0.1) == "price changed -10% vs 90 days ago"
    # without a currency an amount says so; with one it shows the symbol
    assert infos["paid_30d"].describe(1234.7) == "amount 1,235 paid in the last 30 days"
    assert infos["paid_30d"].describe(1234.7, "£") == "£1,235 paid in the last 30 days"
    assert infos["refunds_90d"].describe(2.0) == "2 refunds in the last 90 days"
    assert infos["mrr"].describe(49.0, "$") == "latest payment $49 (current monthly revenue)"
    assert infos["price_change_90d"].describe(-5.0) == "price changed by amount -5 vs 90 days ago"


def test_build_features_keeps_rows_and_mrr(data):
    idx = rows(["a", "b", "c", "d"])
    X = build_features(data, idx, builders=[MonetaryFeatures()])
    assert X.index.equals(idx)
    assert X["mrr"].tolist()[0] == 60.0


def test_absent_payments_table_is_skipped():
    customers = pd.DataFrame({"customer_id": [1], "signup_at": ["2024-01-01"]})
    activity = pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-02"]})
    data = EventData(customers, activity=activity)
    builder = MonetaryFeatures()
    assert not builder.applies_to(data)
    with pytest.raises(ChurnDataError, match="needs the payments table"):
        builder.fit(data)


@pytest.mark.parametrize(
    "windows, message",
    [
        ((), "is empty"),
        ((0,), "must be positive"),
        (("soon",), "is not a duration"),
    ],
)
def test_bad_windows(data, windows, message):
    with pytest.raises(ValueError, match=message):
        MonetaryFeatures(windows=windows).fit(data)


def test_build_before_fit_raises(data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        MonetaryFeatures().build(data, rows(["a"]))


def test_matches_a_plain_loop_on_a_seeded_synthetic_set():
    """Random payments on whole days (many fall exactly on cutoffs and window edges), with
    random amounts, checked against a direct reading of the definitions row by row."""
    rng = np.random.default_rng(11)
    n = 300
    customers = pd.DataFrame({"customer_id": range(12), "signup_at": ["2023-01-01"] * 12})
    payments = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 12, n),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
            "amount": rng.integers(0, 5, n) * 10.0,
            "status": rng.choice(["succeeded", "failed", "refunded"], n, p=[0.6, 0.2, 0.2]),
        }
    )
    data = EventData(customers, payments=payments)
    cutoffs = pd.to_datetime(["2024-03-01", "2024-06-01", "2024-09-01"])
    idx = pd.MultiIndex.from_product([range(12), cutoffs], names=["customer_id", "cutoff"])
    X = MonetaryFeatures().fit(data).build(data, idx)
    day = pd.Timedelta(days=1)
    for (cid, cut), got in X.iterrows():
        p = data.payments
        p = p[(p.customer_id == cid) & (p.timestamp < cut)]
        ok, ref = p[p.status == "succeeded"], p[p.status == "refunded"]
        for w in (30, 90, 180):
            paid = ok.amount[ok.timestamp >= cut - w * day].sum()
            assert got[f"paid_{w}d"] == pytest.approx(paid)
            in_w = ref.timestamp >= cut - w * day
            assert got[f"refunded_{w}d"] == pytest.approx(ref.amount[in_w].sum())
            assert got[f"refunds_{w}d"] == in_w.sum()
        recent = ok.amount[ok.timestamp >= cut - 180 * day]
        assert got["payments_180d"] == len(recent)
        np.testing.assert_allclose(
            got["avg_payment_180d"], recent.mean() if len(recent) else np.nan
        )
        mrr = ok.amount.iloc[-1] if len(ok) else np.nan
        earlier_ok = ok.amount[ok.timestamp < cut - 90 * day]
        earlier = earlier_ok.iloc[-1] if len(earlier_ok) else np.nan
        np.testing.assert_equal(got["mrr"], mrr)
        np.testing.assert_allclose(got["price_change_90d"], mrr - earlier)
        np.testing.assert_allclose(
            got["price_change_pct_90d"], mrr / earlier - 1 if earlier > 0 else np.nan
        )
