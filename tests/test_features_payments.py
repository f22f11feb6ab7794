"""Payment (dunning) features on a tiny hand-built payments table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnpredict import ChurnDataError, EventData, PaymentFeatures

CUTOFF = pd.Timestamp("2024-07-01")  # cutoff - 30 days = 2024-06-01, - 90 days = 2024-04-02


@pytest.fixture
def data():
    """Four customers' payment attempts.

    * ``a`` paid on 2024-04-01 (before the 90-day window); an attempt failed exactly at
      cutoff - 90 days (2024-04-02, inside) and was recovered the next day; paid on 2024-05-01;
      then failed exactly at cutoff - 30 days (2024-06-01, inside the 30-day window) and on
      2024-06-15, and failed again exactly at the cutoff (not seen). A refund on 2024-06-20 is
      not an attempt. At the cutoff: in dunning after 2 failures in a row, 1 recovered failure
      in 90 days, last failure 16 days ago.
    * ``b`` failed on 2024-03-01 (outside 90 days) and was recovered; failed on 2024-06-10 and
      was recovered on 2024-06-11: not in dunning.
    * ``c`` only had a refund: no attempts at all.
    * ``d`` failed twice in January and never paid: in dunning with 2 failures in a row, but
      none inside the windows and none recovered.
    """
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "signup_at": ["2023-12-01"] * 4})
    payments = pd.DataFrame(
        {
            "customer_id": ["a"] * 8 + ["b"] * 4 + ["c", "d", "d"],
            "timestamp": [
                "2024-04-01",
                "2024-04-02",
                "2024-04-03",
                "2024-05-01",
                "2024-06-01",
                "2024-06-15",
                "2024-06-20",
                "2024-07-01",
                "2024-03-01",
                "2024-03-02",
                "2024-06-10",
                "2024-06-11",
                "2024-05-05",
                "2024-01-10",
                "2024-01-20",
            ],
            "amount": [10.0] * 15,
            "status": [
                "succeeded",
                "failed",
                "succeeded",
                "succeeded",
                "failed",
                "failed",
                "refunded",
                "failed",
                "failed",
                "succeeded",
                "failed",
                "succeeded",
                "refunded",
                "failed",
                "failed",
            ],
        }
    )
    return EventData(customers, payments=payments)


def rows(customers, cutoffs):
    return pd.MultiIndex.from_arrays(
        [customers, pd.DatetimeIndex(cutoffs)], names=["customer_id", "cutoff"]
    )


def test_hand_computed_values(data):
    idx = rows(["a", "b", "c", "d"], [CUTOFF] * 4)
    X = PaymentFeatures().fit(data).build(data, idx)
    expected = pd.DataFrame(
        {
            "failed_payments_30d": [2.0, 1, 0, 0],
            "failed_payments_90d": [3.0, 1, 0, 0],
            "failure_ratio_30d": [1.0, 0.5, np.nan, np.nan],  # a: 2 of 2 attempts; b: 1 of 2
            "failure_ratio_90d": [0.6, 0.5, np.nan, np.nan],  # a: 3 of 5 attempts
            "days_since_failed_payment": [16.0, 21, np.nan, 163],
            "in_dunning": [1.0, 0, 0, 1],
            "consecutive_failed_payments": [2.0, 0, 0, 2],
            "recovered_failed_payments_90d": [1.0, 1, 0, 0],
        },
        index=idx,
    )
    pd.testing.assert_frame_equal(X, expected)


def test_window_edges_and_dunning_over_time(data):
    """Customer ``a`` at several cutoffs.

    * 2024-04-02: the failure at that instant is not seen yet -> not in dunning;
    * 2024-04-03: it is the latest attempt -> in dunning; the success at 04-03 not seen yet;
    * 2024-04-04: recovered -> out of dunning, 1 recovered failure;
    * 2024-07-02: the failure at 07-01 is now seen -> 3 in a row; the 06-01 failure has left
      the 30-day window ([06-02, 07-02)) and the recovered 04-02 failure the 90-day one.
    """
    cutoffs = pd.to_datetime(["2024-04-02", "2024-04-03", "2024-04-04", "2024-07-02"])
    X = PaymentFeatures().fit(data).build(data, rows(["a"] * 4, cutoffs))
    assert X["in_dunning"].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert X["consecutive_failed_payments"].tolist() == [0.0, 1.0, 0.0, 3.0]
    assert X["recovered_failed_payments_90d"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert X["failed_payments_30d"].tolist() == [0.0, 1.0, 1.0, 2.0]
    assert np.isnan(X["days_since_failed_payment"].iloc[0])
    assert X["days_since_failed_payment"].tolist()[1:] == [1.0, 2.0, 1.0]


def test_point_in_time_matches_cut_data(data):
    """Features at a cutoff do not change when everything from the cutoff on is removed."""
    idx = rows(["a", "b", "c", "d"], [CUTOFF] * 4)
    builder = PaymentFeatures().fit(data)
    pd.testing.assert_frame_equal(builder.build(data, idx), builder.build(data.cut(CUTOFF), idx))


def test_columns_follow_windows_and_feature_info(data):
    builder = PaymentFeatures(windows=(60, "14D")).fit(data)
    names = [i.name for i in builder.feature_info()]
    assert names == [
        "failed_payments_14d",
        "failed_payments_60d",
        "failure_ratio_14d",
        "failure_ratio_60d",
        "days_since_failed_payment",
        "in_dunning",
        "consecutive_failed_payments",
        "recovered_failed_payments_60d",
    ]
    X = builder.build(data, rows(["a"], [CUTOFF]))
    assert list(X.columns) == names
    assert (X.dtypes == "float64").all()


def test_descriptions_read_in_plain_words(data):
    infos = {i.name: i for i in PaymentFeatures().fit(data).feature_info()}
    assert {i.group for i in infos.values()} == {"payments"}
    assert infos["failed_payments_30d"].describe(3.0) == "3 failed payments in the last 30 days"
    assert infos["failure_ratio_90d"].describe(0.5) == (
        "50% of payment attempts failed in the last 90 days"
    )
    assert infos["in_dunning"].describe(1.0) == "latest payment attempt failed"
    assert infos["in_dunning"].describe(0.0) == "latest payment attempt succeeded"


def test_absent_payments_table_is_skipped():
    customers = pd.DataFrame({"customer_id": [1], "signup_at": ["2024-01-01"]})
    tickets = pd.DataFrame({"customer_id": [1], "created_at": ["2024-01-02"]})
    data = EventData(customers, tickets=tickets)
    builder = PaymentFeatures()
    assert not builder.applies_to(data)
    with pytest.raises(ChurnDataError, match="PaymentFeatures needs the payments table"):
        builder.fit(data)


@pytest.mark.parametrize("windows, message", [((), "is empty"), ((-5,), "must be positive")])
def test_bad_windows(data, windows, message):
    with pytest.raises(ValueError, match=message):
        PaymentFeatures(windows=windows).fit(data)


def test_matches_a_plain_loop_on_a_seeded_synthetic_set():
    """Random attempts on whole days (so many fall exactly on cutoffs and window edges),
    checked against a direct reading of the definitions, one row at a time."""
    rng = np.random.default_rng(7)
    n = 300
    customers = pd.DataFrame({"customer_id": range(12), "signup_at": ["2023-01-01"] * 12})
    payments = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 12, n),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D"),
            "amount": 10.0,
            "status": rng.choice(["succeeded", "failed", "refunded"], n, p=[0.5, 0.4, 0.1]),
        }
    )
    data = EventData(customers, payments=payments)
    cutoffs = pd.to_datetime(["2024-03-01", "2024-05-01", "2024-07-01"])
    idx = pd.MultiIndex.from_product([range(12), cutoffs], names=["customer_id", "cutoff"])
    X = PaymentFeatures().fit(data).build(data, idx)
    day = pd.Timedelta(days=1)
    for (cid, cut), got in X.iterrows():
        p = data.payments  # sorted by (customer, time), ties in table order
        p = p[(p.customer_id == cid) & (p.timestamp < cut) & (p.status != "refunded")]
        failed = (p.status == "failed").to_numpy()
        t = p.timestamp.to_numpy()
        for w in (30, 90):
            inside = t >= np.datetime64(cut - w * day)
            assert got[f"failed_payments_{w}d"] == failed[inside].sum()
            ratio = failed[inside].mean() if inside.any() else np.nan
            np.testing.assert_equal(got[f"failure_ratio_{w}d"], ratio)
        last = t[failed].max() if failed.any() else None
        np.testing.assert_equal(
            got["days_since_failed_payment"], np.nan if last is None else (cut - last) / day
        )
        run = 0
        while run < len(failed) and failed[len(failed) - 1 - run]:
            run += 1
        assert got["consecutive_failed_payments"] == run
        assert got["in_dunning"] == float(run > 0)
        later_ok = np.cumsum((~failed)[::-1])[::-1] - (~failed)  # successes after each attempt
        recovered = failed & (later_ok > 0) & (t >= np.datetime64(cut - 90 * day))
        assert got["recovered_failed_payments_90d"] == recovered.sum()
