"""Event logs of apps and services: what activity.value is declared to hold, and logs that start
after their customers signed up (exports of recent events)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from churnpredict import ChurnDataError, DataQualityWarning, EventData
from churnpredict.features import EngagementFeatures
from churnpredict.labels import training_cutoffs

START = pd.Timestamp("2024-03-01 08:00")


def customers(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(range(1, n + 1)), "signup_at": "2024-01-01"})


def activity(values) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [1, 2, 3][: len(values)], "timestamp": "2024-02-01", "value": values}
    )


# ---------------------------------------------------------------------------- value_kind
@pytest.mark.parametrize(
    ("kind", "values", "match"),
    [
        (
            "duration",
            ["245.3", "3:20"],
            r"activity.value has 1 non-numeric values \{'3:20'\} "
            r"\(value_kind='duration'\); give seconds as numbers",
        ),
        (
            "duration",
            [12.0, -3.0],
            r"activity.value has 1 negative values \{-3.0\}, but a "
            r"duration is never negative \(value_kind='duration'\); fix those rows",
        ),
        ("count", [2, -1], r"negative values \{-1\}, but a count is never negative"),
        ("count", [2, 1.5], r"fractional values \{1.5\}, but a count is a whole number"),
        ("count", ["two", 1], r"non-numeric values \{'two'\} \(value_kind='count'\); give whole"),
    ],
)
def test_a_declared_value_kind_that_the_data_contradicts_is_refused(kind, values, match):
    with pytest.raises(ChurnDataError, match=match):
        EventData(customers(), activity=activity(values), value_kind=kind)


@pytest.mark.parametrize("kind", ["seconds", "money", 3, ""])
def test_an_unknown_value_kind_is_refused(kind):
    with pytest.raises(
        ChurnDataError,
        match=r"value_kind=.*; declare what activity.value holds: "
        r"'amount' \(money\), 'duration' \(seconds\) or 'count'",
    ):
        EventData(customers(), activity=activity([1.0]), value_kind=kind)


def test_a_value_kind_needs_the_value_column():
    with pytest.raises(
        ChurnDataError,
        match=r"activity has no value column, but "
        r"value_kind='duration'.*map your column to value",
    ):
        EventData(
            customers(), activity=activity([1.0]).drop(columns="value"), value_kind="duration"
        )
    with pytest.raises(ChurnDataError, match="there is no activity table"):
        EventData(customers(), value_kind="count")


def test_declared_values_are_kept_and_durations_read_as_seconds():
    data = EventData(
        customers(), activity=activity(pd.to_timedelta(["4min", "5s", None])), value_kind="duration"
    )
    assert data.value_kind == "duration"
    np.testing.assert_array_equal(data.activity["value"], [240.0, 5.0, np.nan])
    assert data.cut("2024-03-01").value_kind == "duration"
    # amounts may be negative (returns); undeclared values are kept as they are
    assert EventData(customers(), activity=activity([-5.0, 2.0]), value_kind="amount").value_kind
    assert EventData(customers(), activity=activity([-5.0, 2.0])).value_kind is None


def test_value_sums_read_by_their_declared_kind():
    wording = {}
    for kind in (None, "duration", "amount", "count"):
        data = EventData(customers(), activity=activity([3600.0, 7200.0, 60.0]), value_kind=kind)
        builder = EngagementFeatures(windows=(30,)).fit(data, ["2024-02-10"])
        info = {i.name: i for i in builder.feature_info()}["value_sum_30d"]
        wording[kind] = info.describe(11520.0, currency="€")
    assert wording == {
        None: "total activity value 11,520 in the last 30 days",
        "duration": "3.2 hours of use in the last 30 days",
        "amount": "activity worth €11,520 in the last 30 days",
        "count": "11,520 counted items in the last 30 days",
    }


# ---------------------------------------------------------------------------- log starts
def export(n_old: int, n_new: int = 0) -> EventData:
    """``n_old`` customers signed up in January, ``n_new`` in March; the log starts 1 March.

    Every customer is active on 1 March 08:00 + i hours (in the log's first week) and on
    1 April.
    """
    ids = list(range(n_old + n_new))
    signup = ["2024-01-10"] * n_old + ["2024-03-01 09:00"] * n_new
    first = [START + pd.Timedelta(hours=i) for i in ids]
    act = pd.DataFrame(
        {
            "customer_id": ids * 2,
            "timestamp": first + [pd.Timestamp("2024-04-01")] * len(ids),
        }
    )
    return EventData(pd.DataFrame({"customer_id": ids, "signup_at": signup}), activity=act)


def test_an_export_of_recent_events_starts_at_its_first_event():
    data = export(25, 5)
    assert data.observed_start == {"activity": START}
    assert data.record_start("activity") == START


@pytest.mark.parametrize(
    ("n_old", "n_new", "why"),
    [
        (19, 0, "fewer than 20 customers signed up before the first event"),
        (20, 81, "fewer than a fifth of the first week's customers signed up before it"),
    ],
)
def test_a_complete_history_has_no_record_start(n_old, n_new, why):
    assert export(n_old, n_new).record_start("activity") is None, why


def test_tickets_from_the_same_log_start_with_it():
    data = export(25)
    tickets = pd.DataFrame({"customer_id": [3], "created_at": ["2024-03-20"]})
    with_tickets = EventData(data.customers, activity=data.activity, tickets=tickets)
    assert with_tickets.record_start("tickets") == START
    earlier = pd.DataFrame({"customer_id": [3], "created_at": ["2024-02-01"]})
    older_helpdesk = EventData(data.customers, activity=data.activity, tickets=earlier)
    assert older_helpdesk.record_start("tickets") is None


def test_cutoffs_before_one_horizon_of_the_log_are_dropped_with_a_note():
    data = export(25)
    with pytest.warns(
        DataQualityWarning,
        match=r"4 of 6 training cutoffs dropped \(2024-03-05 "
        r"\.\. 2024-03-08\): the activity log starts 2024-03-01 08:00, after 25 "
        r"customers signed up, so a cutoff needs its horizon \(7 days\) and as "
        r"much history before it inside the log",
    ):
        cuts = training_cutoffs(data, "2024-03-17", "7D", periods=6, freq="1D")
    assert list(cuts.strftime("%m-%d")) == ["03-09", "03-10"]  # 03-08 00:00 is 16 h short


def test_no_cutoff_left_names_the_horizon_the_log_fits():
    data = export(25)
    with pytest.raises(
        ChurnDataError,
        match=r"no training cutoff is left: the activity log "
        r"starts .*; the activity log spans 61 days: use a horizon of at most "
        r"14 days",
    ):
        training_cutoffs(data, START + pd.Timedelta(days=61), "35D", periods=12, freq="14D")


def test_a_complete_history_keeps_its_cutoffs():
    data = export(19)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        cuts = training_cutoffs(data, "2024-03-17", "7D", periods=6, freq="1D")
    assert len(cuts) == 6
