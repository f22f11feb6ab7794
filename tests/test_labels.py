"""Cutoffs, population and labels on tiny hand-built tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnpredict import ChurnDataError, EventData, label_churn, make_cutoffs, population
from churnpredict._eventindex import EventIndex
from churnpredict._labels import training_cutoffs


@pytest.fixture
def subscriptions():
    """Four subscribers.

    * 1 signs up in January and stays;
    * 2 cancels voluntarily on 2024-03-10 (inside the horizon of the 2024-03-01 cutoff);
    * 3 is cancelled for non-payment exactly at 2024-03-01 00:00 (the cutoff itself: gone at it);
    * 4 signs up exactly at the cutoff, so is not yet a customer at it.
    Activity runs to 2024-04-30 so the horizon of March cutoffs is observed.
    """
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "signup_at": ["2024-01-01", "2024-01-05", "2024-01-10", "2024-03-01"],
            "churned_at": [None, "2024-03-10", "2024-03-01", None],
            "churn_type": [None, "voluntary", "involuntary", None],
        }
    )
    activity = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 4],
            "timestamp": ["2024-02-20", "2024-04-30", "2024-02-25", "2024-03-02"],
        }
    )
    return EventData(customers, activity=activity)


def test_make_cutoffs_spacing():
    cuts = make_cutoffs("2024-03-01", periods=3, freq="14D")
    assert list(cuts) == [
        pd.Timestamp("2024-02-02"),
        pd.Timestamp("2024-02-16"),
        pd.Timestamp("2024-03-01"),
    ]
    with pytest.raises(ValueError, match="at least one cutoff"):
        make_cutoffs("2024-03-01", periods=0)


def test_population_excludes_churned_at_cutoff_and_not_yet_signed_up(subscriptions):
    pop = population(subscriptions, ["2024-03-01"])
    assert pop.index.get_level_values("customer_id").tolist() == [1, 2]


def test_cancellation_labels_keep_churn_type(subscriptions):
    labels = label_churn(subscriptions, ["2024-02-16", "2024-03-01"], "14D")
    at_march = labels.xs(pd.Timestamp("2024-03-01"), level="cutoff")
    assert at_march["churned"].to_dict() == {1: 0, 2: 1}
    assert at_march.loc[2, "churn_type"] == "voluntary"
    at_feb = labels.xs(pd.Timestamp("2024-02-16"), level="cutoff")
    # customer 3 churns at 2024-03-01 00:00 = exactly cutoff + 14 days: inside (cutoff, cutoff+h]
    assert at_feb["churned"].to_dict() == {1: 0, 2: 0, 3: 1}
    assert at_feb.loc[3, "churn_type"] == "involuntary"


def test_censored_cutoffs_are_never_labelled(subscriptions):
    labels = label_churn(subscriptions, ["2024-03-01", "2024-04-20"], "28D")
    assert labels.index.get_level_values("cutoff").unique().tolist() == [pd.Timestamp("2024-03-01")]
    with pytest.raises(ChurnDataError, match="horizon over by as_of"):
        label_churn(subscriptions, ["2024-04-20"], "28D")
    with pytest.raises(ChurnDataError, match="horizon over by as_of"):
        label_churn(subscriptions, ["2024-03-01"], "28D", as_of="2024-03-20")


def test_inactivity_labels(subscriptions):
    """At 2024-03-01 (lookback 30 days) customers 1 and 2 were active; only 1 comes back, on
    2024-04-30, inside a 61-day horizon [2024-03-01, 2024-05-01)."""
    labels = label_churn(
        subscriptions, ["2024-03-01"], "61D", kind="inactivity", lookback="30D", as_of="2024-05-02"
    )
    assert labels["churned"].droplevel("cutoff").to_dict() == {1: 0, 2: 1}
    # a 60-day horizon ends exactly at the return (2024-04-30), which it does not hold; the
    # default as_of (the latest time in the data, 2024-04-30) completes it
    at_end = label_churn(subscriptions, ["2024-03-01"], "60D", kind="inactivity", lookback="30D")
    assert at_end["churned"].droplevel("cutoff").to_dict() == {1: 1, 2: 1}


def test_inactivity_horizon_holds_the_cutoff_and_not_its_end():
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2024-01-01", "2024-01-01"]})
    activity = pd.DataFrame(
        {
            "customer_id": [1, 2, 1, 2],
            "timestamp": ["2024-02-01", "2024-02-01", "2024-03-31", "2024-03-01"],
        }
    )
    data = EventData(customers, activity=activity)
    labels = label_churn(data, ["2024-03-01"], "30D", kind="inactivity", as_of="2024-04-01")
    # the horizon is [cutoff, cutoff + 30 days): 1's only event in it would be at cutoff + 30
    # days (the end, excluded) -> churned; 2 came back exactly at the cutoff (features see
    # only what came before it, so this is an outcome) -> active
    assert labels["churned"].droplevel("cutoff").to_dict() == {1: 1, 2: 0}


def test_cancellation_needs_churned_at():
    data = EventData(
        pd.DataFrame({"customer_id": [1], "signup_at": ["2024-01-01"]}),
        activity=pd.DataFrame({"customer_id": [1], "timestamp": ["2024-02-01"]}),
    )
    with pytest.raises(ChurnDataError, match="customers has no churned_at column"):
        label_churn(data, ["2024-01-15"], "7D", kind="cancellation")


def test_training_cutoffs_end_one_horizon_before_as_of(subscriptions):
    cuts = training_cutoffs(subscriptions, as_of="2024-04-30", horizon="28D", periods=3, freq="14D")
    assert cuts[-1] == pd.Timestamp("2024-04-02")
    assert len(cuts) == 3


def test_snapshot_labels():
    snap = pd.DataFrame({"customer_id": [1, 2], "Exited": [1, 0], "age": [30, 40]})
    data = EventData(snap, label_column="Exited")
    labels = label_churn(data, None)
    assert labels["churned"].tolist() == [1, 0]
    assert labels.index.get_level_values("cutoff").unique().tolist() == [data.snapshot_at]


def test_event_index_matches_brute_force():
    """Random events and queries: binary search counts equal a direct comparison."""
    rng = np.random.default_rng(0)
    n_cust, n_events = 20, 400
    codes = rng.integers(0, n_cust, n_events)
    base = np.datetime64("2024-01-01T00:00:00", "ns")
    times = base + rng.integers(0, 10**6, n_events).astype("timedelta64[s]")
    index = EventIndex(codes, times, n_cust, values={"v": np.ones(n_events)})
    q_codes = rng.integers(0, n_cust, 200)
    q_times = base + rng.integers(-10, 10**6 + 10, 200).astype("timedelta64[s]")
    q_times[:20] = times[:20]  # queries exactly at event times
    q_start = q_times - np.timedelta64(3, "D")
    brute = [np.sum((codes == c) & (times < t)) for c, t in zip(q_codes, q_times, strict=True)]
    assert index.count_before(q_codes, q_times).tolist() == brute
    brute_w = [
        np.sum((codes == c) & (times >= s) & (times < t))
        for c, s, t in zip(q_codes, q_start, q_times, strict=True)
    ]
    assert index.count_between(q_codes, q_start, q_times).tolist() == brute_w
    assert index.window_sum("v", q_codes, q_start, q_times).tolist() == brute_w
    # sub-second query on second-resolution events stays exact
    half = np.timedelta64(500, "ms")
    brute_h = [
        np.sum((codes == c) & (times < t + half)) for c, t in zip(q_codes, q_times, strict=True)
    ]
    assert index.count_before(q_codes, q_times + half).tolist() == brute_h


def _edge_data() -> EventData:
    """Customer "x" is active only exactly at T inside its horizon; "y" cancels exactly at T."""
    customers = pd.DataFrame(
        {
            "customer_id": ["x", "y", "z"],
            "signup_at": pd.to_datetime(["2024-01-01"] * 3),
            "churned_at": pd.to_datetime([None, "2024-03-29", None]),
        }
    )
    activity = pd.DataFrame(
        {
            "customer_id": ["x", "y", "z", "x", "z", "x"],
            "timestamp": pd.to_datetime(
                ["2024-02-25", "2024-02-25", "2024-02-25", "2024-03-29", "2024-03-20", "2024-04-02"]
            ),
        }
    )
    return EventData(customers, activity=activity)


def test_labels_know_at_as_of_what_data_cut_keeps():
    """Horizon from 2024-03-01 ending at as_of T = 2024-03-29: x's activity exactly at T is
    outside the activity horizon [cutoff, T) (x counts as churned for inactivity) and not
    known at T anyway; y's cancellation exactly at T is inside (cutoff, T] and known (churned
    for cancellation); the labels equal those of data.cut(T)."""
    data = _edge_data()
    as_of = pd.Timestamp("2024-03-29")
    cutoff = pd.Timestamp("2024-03-01")
    for kind, expected in [
        ("inactivity", {"x": 1, "y": 1, "z": 0}),
        ("cancellation", {"x": 0, "y": 1, "z": 0}),
    ]:
        full = label_churn(data, [cutoff], "28D", kind=kind, as_of=as_of)
        cut = label_churn(data.cut(as_of), [cutoff], "28D", kind=kind, as_of=as_of)
        pd.testing.assert_frame_equal(full, cut)
        assert full["churned"].droplevel("cutoff").to_dict() == expected, kind
    # a day later the activity at 2024-03-29 is known, but it is the horizon's end: still out
    later = label_churn(data, [cutoff], "28D", kind="inactivity", as_of="2024-03-30")
    assert later["churned"].droplevel("cutoff").to_dict() == {"x": 1, "y": 1, "z": 0}


def test_the_population_rule_is_the_default(subscriptions):
    """Lapsed customers count iff churn is inactivity: population's default, the pipeline's."""
    from churnpredict._labels import includes_lapsed

    assert includes_lapsed("inactivity") and not includes_lapsed("cancellation")
    # at 2024-04-15 with a 45-day lookback customer 4 (active 2024-03-02) is active and
    # customer 1 (last active 2024-02-20 until 2024-04-30) has lapsed
    cut = ["2024-04-15"]
    every = population(subscriptions, cut, kind="inactivity", lookback="45D")
    active = population(subscriptions, cut, kind="inactivity", lookback="45D", lapsed=False)
    assert every.index.get_level_values("customer_id").tolist() == [1, 4]
    assert active.index.get_level_values("customer_id").tolist() == [4]
    labels = label_churn(subscriptions, cut, "14D", kind="inactivity", lookback="45D")
    assert labels.index.equals(every.index)
    # cancellation churn has no lapsed customers to leave out
    assert population(subscriptions, cut, kind="cancellation").index.equals(
        population(subscriptions, cut, kind="cancellation", lapsed=False).index
    )
