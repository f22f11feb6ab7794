"""Engagement features on tiny hand-built tables with hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from churnpredict._data import EventData
from churnpredict._exceptions import ChurnDataError
from churnpredict.features import EngagementFeatures, build_features, describe_features
from churnpredict.features._base import FeatureRows

CUTOFF = pd.Timestamp("2024-04-01")


def rows_at(data: EventData, ids, cutoff=CUTOFF) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [pd.Index(ids), pd.DatetimeIndex([pd.Timestamp(cutoff)] * len(ids))],
        names=["customer_id", "cutoff"],
    )


@pytest.fixture
def story() -> EventData:
    """Three customers seen at the cutoff 2024-04-01 00:00.

    * ann, a customer since 2024-01-01, logged in on 1 Feb, exactly at the start of the 30-day
      window (2 Mar 00:00) and exactly at the start of the 7-day window (25 Mar 00:00); she
      exported twice (2 Mar 09:00, 31 Mar 23:00) and logged in again exactly at the cutoff,
      which must not count. Her event values are powers of two so every sum is unique.
    * bob signed up ten days before the cutoff (22 Mar) and logged in three times; one value
      is missing.
    * cat has been a customer since June 2023 and did nothing before the cutoff; her only
      event, an upgrade, comes after it.
    """
    customers = pd.DataFrame(
        {
            "customer_id": ["ann", "bob", "cat"],
            "signup_at": ["2024-01-01", "2024-03-22", "2023-06-01"],
        }
    )
    activity = pd.DataFrame(
        [
            ("ann", "2024-02-01 10:00", "login", 1.0),
            ("ann", "2024-03-02 00:00", "login", 2.0),
            ("ann", "2024-03-02 09:00", "export", 4.0),
            ("ann", "2024-03-25 00:00", "login", 8.0),
            ("ann", "2024-03-31 23:00", "export", 16.0),
            ("ann", "2024-04-01 00:00", "login", 32.0),
            ("bob", "2024-03-23 10:00", "login", 1.0),
            ("bob", "2024-03-23 11:00", "login", np.nan),
            ("bob", "2024-03-30 00:00", "login", 2.0),
            ("cat", "2024-04-05 00:00", "upgrade", 1.0),
        ],
        columns=["customer_id", "timestamp", "event", "value"],
    )
    return EventData(customers, activity=activity)


@pytest.fixture
def features(story) -> pd.DataFrame:
    rows = rows_at(story, ["ann", "bob", "cat"])
    return EngagementFeatures().fit(story, rows).build(story, rows)


def test_columns_follow_feature_info(story, features):
    builder = EngagementFeatures().fit(story, rows_at(story, ["ann"]))
    assert list(features.columns) == [i.name for i in builder.feature_info()]
    assert list(builder.get_feature_names_out()) == list(features.columns)
    assert (features.dtypes == np.float64).all()
    assert {i.group for i in builder.feature_info()} == {"engagement"}
    assert features.index.names == ["customer_id", "cutoff"]


def test_learned_event_types_ignore_events_after_the_latest_cutoff(story):
    with_rows = EngagementFeatures().fit(story, rows_at(story, ["ann", "bob", "cat"]))
    assert with_rows.event_types_ == ["login", "export"]  # 6 logins, 2 exports
    everything = EngagementFeatures().fit(story)
    assert everything.event_types_ == ["login", "export", "upgrade"]
    assert EngagementFeatures(max_event_types=1).fit(story).event_types_ == ["login"]


def test_recency(features):
    days = features["days_since_last_activity"]
    assert days["ann"].iloc[0] == pytest.approx(1 / 24)  # 31 Mar 23:00; the cutoff login is unseen
    assert days["bob"].iloc[0] == 2.0
    assert np.isnan(days["cat"].iloc[0])
    assert features["days_since_last_login"].tolist()[:2] == [7.0, 2.0]
    assert features["days_since_last_export"].iloc[0] == pytest.approx(1 / 24)
    assert np.isnan(features["days_since_last_export"].iloc[1])


def test_counts_include_the_window_start_and_exclude_the_cutoff(features):
    ann = features.loc["ann"].iloc[0]
    # 7 days [25 Mar, 1 Apr): the 25 Mar 00:00 login and the 31 Mar export
    assert ann["events_7d"] == 2 and ann["events_login_7d"] == 1 and ann["events_export_7d"] == 1
    # 30 days [2 Mar, 1 Apr): both 2 Mar events, 25 Mar, 31 Mar
    assert ann["events_30d"] == 4 and ann["events_login_30d"] == 2
    assert ann["events_90d"] == 5 and ann["events_login_90d"] == 3
    assert ann["value_sum_7d"] == 24 and ann["value_sum_30d"] == 30 and ann["value_sum_90d"] == 31


def test_distinct_active_days(features):
    assert features["active_days_7d"].tolist() == [2, 1, 0]
    assert features["active_days_30d"].tolist() == [3, 2, 0]  # ann: 2 Mar twice, 25, 31 Mar
    assert features["active_days_90d"].tolist() == [4, 2, 0]


def test_distinct_days_are_exact_when_the_window_starts_mid_day():
    """dan's window of one day runs from 31 Mar 12:00 to 1 Apr 12:00.

    His first event of 31 Mar (08:00) is before the window but two more events that day are
    inside it, so 31 Mar is an active day of the window, as is 1 Apr (09:00).
    """
    customers = pd.DataFrame({"customer_id": ["dan"], "signup_at": ["2024-01-01"]})
    activity = pd.DataFrame(
        {
            "customer_id": ["dan"] * 5,
            "timestamp": [
                "2024-03-31 08:00",
                "2024-03-31 13:00",
                "2024-03-31 20:00",
                "2024-04-01 09:00",
                "2024-04-01 12:00",
            ],
        }
    )
    data = EventData(customers, activity=activity)
    rows = rows_at(data, ["dan"], "2024-04-01 12:00")
    out = (
        EngagementFeatures(windows=("1D", "12h"), trend_window=None, trend_weeks=None)
        .fit(data)
        .build(data, rows)
    )
    assert out["events_1d"].iloc[0] == 3
    assert out["active_days_1d"].iloc[0] == 2
    assert out["events_12h"].iloc[0] == 1  # [1 Apr 00:00, 12:00): only 09:00
    assert out["active_days_12h"].iloc[0] == 1
    assert out["days_since_last_activity"].iloc[0] == pytest.approx(3 / 24)


def test_rates_use_the_observed_part_of_the_window(features):
    assert features["events_per_day_7d"].tolist() == pytest.approx([2 / 7, 1 / 7, 0.0])
    assert features["events_per_day_30d"].tolist() == pytest.approx([4 / 30, 3 / 10, 0.0])
    # bob's 90-day window is only 10 days old: 3 events over 10 observed days
    assert features["events_per_day_90d"].tolist() == pytest.approx([5 / 90, 3 / 10, 0.0])
    assert features["value_sum_30d"].loc["bob"].iloc[0] == 3.0  # the missing value counts 0


def test_trend(features):
    # ann: 4 events in [2 Mar, 1 Apr), 1 in [31 Jan, 2 Mar); bob and cat: none before
    assert features["activity_trend_ratio_30d"].iloc[0] == 4.0
    assert np.isnan(features["activity_trend_ratio_30d"].iloc[1:]).all()
    assert features["activity_trend_diff_30d"].tolist() == [3.0, 3.0, 0.0]


def test_weekly_slope(features):
    """ann's weekly counts over 8 weeks from 5 Feb are [0, 0, 0, 2, 0, 0, 0, 2]: slope 6/42.

    bob has one full week since signup (no slope); cat's eight empty weeks have slope 0.
    """
    slope = features["weekly_events_slope_8w"]
    assert slope.iloc[0] == pytest.approx(1 / 7)
    assert np.isnan(slope.iloc[1])
    assert slope.iloc[2] == 0.0


def test_trend_ratio_compares_rates_for_a_customer_newer_than_two_windows():
    """eve signed up 45 days before the cutoff: the previous 30-day window saw her 15 days.

    3 events in those 15 days (0.2 a day) and 3 in the last 30 days (0.1 a day): her
    activity halved, although the plain counts are equal.
    """
    customers = pd.DataFrame({"customer_id": ["eve"], "signup_at": ["2024-02-16"]})
    activity = pd.DataFrame(
        {
            "customer_id": ["eve"] * 6,
            "timestamp": [
                "2024-02-20",
                "2024-02-25",
                "2024-03-01",
                "2024-03-10",
                "2024-03-20",
                "2024-03-30",
            ],
        }
    )
    data = EventData(customers, activity=activity)
    out = EngagementFeatures().fit(data).build(data, rows_at(data, ["eve"]))
    assert out["activity_trend_ratio_30d"].iloc[0] == pytest.approx(0.5)
    assert out["activity_trend_diff_30d"].iloc[0] == 0.0


def test_descriptions_read_as_sentences(story, features):
    builder = EngagementFeatures().fit(story, rows_at(story, ["ann"]))
    info = {i.name: i for i in builder.feature_info()}
    ann = features.iloc[0]
    assert info["activity_trend_ratio_30d"].describe(ann["activity_trend_ratio_30d"]) == (
        "activity in the last 30 days at 400% of the 30 days before"
    )
    assert info["days_since_last_login"].describe(7.0) == "last 'login' event 7 days ago"
    assert info["events_login_7d"].describe(1.0) == "1 'login' event in the last 7 days"
    assert info["active_days_30d"].describe(3.0) == "active on 3 days in the last 30 days"
    assert info["weekly_events_slope_8w"].describe(-1.5) == (
        "weekly activity changing by -1.5 events a week over the last 8 weeks"
    )
    described = describe_features([builder])
    assert described.loc["events_7d", "description"] == ("{value} in the last 7 days")
    assert info["events_7d"].describe(1.0) == "1 activity event in the last 7 days"


def test_several_cutoffs_at_once_match_one_at_a_time(story):
    later = pd.Timestamp("2024-04-06")
    rows = rows_at(story, ["ann", "bob", "cat"]).append(
        rows_at(story, ["ann", "bob", "cat"], later)
    )
    builder = EngagementFeatures(event_types=["login", "upgrade"]).fit(story)
    both = builder.build(story, rows)
    first = builder.build(story, rows_at(story, ["ann", "bob", "cat"]))
    second = builder.build(story, rows_at(story, ["ann", "bob", "cat"], later))
    pd.testing.assert_frame_equal(both, pd.concat([first, second]))
    # from the later cutoff, [30 Mar, 6 Apr) holds ann's 31 Mar export and 1 Apr login
    assert second.loc["ann", "events_7d"].iloc[0] == 2
    assert second.loc["ann", "events_login_7d"].iloc[0] == 1
    assert second.loc["cat", "events_upgrade_7d"].iloc[0] == 1


def test_explicit_types_and_options(story):
    rows = rows_at(story, ["ann"])
    out = (
        EngagementFeatures(
            windows=[30], event_types=["export", "Page View"], trend_window=None, trend_weeks=None
        )
        .fit(story)
        .build(story, rows)
    )
    assert list(out.columns) == [
        "days_since_last_activity",
        "days_since_last_export",
        "days_since_last_page_view",
        "events_30d",
        "active_days_30d",
        "events_per_day_30d",
        "value_sum_30d",
        "events_export_30d",
        "events_page_view_30d",
    ]
    assert out["events_page_view_30d"].iloc[0] == 0.0
    none = EngagementFeatures(event_types=None).fit(story)
    assert none.event_types_ == []


def test_type_names_are_made_column_safe_and_unique():
    customers = pd.DataFrame({"customer_id": [1], "signup_at": ["2024-01-01"]})
    activity = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "timestamp": ["2024-02-01"] * 3,
            "event": ["Page View", "page-view", "{odd}"],
        }
    )
    data = EventData(customers, activity=activity)
    builder = EngagementFeatures(windows=[7], trend_window=None, trend_weeks=None).fit(data)
    names = list(builder.get_feature_names_out())
    assert names[1:4] == [
        "days_since_last_page_view",
        "days_since_last_page_view_2",
        "days_since_last_odd",
    ]
    info = {i.name: i for i in builder.feature_info()}
    assert info["events_odd_7d"].describe(2.0) == "2 '{odd}' events in the last 7 days"


def test_without_event_or_value_columns():
    """Only customer ids and times: no per-type counts and no value sums."""
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2024-01-01"] * 2})
    activity = pd.DataFrame(
        {"customer_id": [1, 2, 2], "timestamp": ["2024-03-30", "2024-03-05", "2024-03-31 06:00"]}
    )
    data = EventData(customers, activity=activity)
    builder = EngagementFeatures().fit(data)
    out = builder.build(data, ["2024-04-01"])
    assert builder.event_types_ == [] and not builder.has_value_
    assert not any(c.startswith("value_sum") for c in out.columns)
    assert out["events_30d"].tolist() == [1.0, 2.0]
    assert out["days_since_last_activity"].tolist() == [2.0, 0.75]


def test_build_features_runs_the_family(story):
    X = build_features(story, rows_at(story, ["ann", "bob"]), [EngagementFeatures()])
    assert X.loc["ann", "events_30d"].iloc[0] == 4.0


def test_empty_rows(story):
    builder = EngagementFeatures().fit(story)
    rows = FeatureRows(
        rows_at(story, []), np.empty(0, dtype=np.int64), np.empty(0, dtype="datetime64[ns]")
    )
    out = builder.build(story, rows)
    assert len(out) == 0 and list(out.columns) == list(builder.get_feature_names_out())


def test_build_before_fit_raises(story):
    with pytest.raises(NotFittedError):
        EngagementFeatures().build(story, rows_at(story, ["ann"]))


def test_needs_activity():
    data = EventData(pd.DataFrame({"customer_id": [1], "signup_at": ["2024-01-01"]}))
    assert not EngagementFeatures().applies_to(data)
    with pytest.raises(ChurnDataError, match="needs the activity table"):
        EngagementFeatures().fit(data)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"windows": ()}, "windows=.* is empty"),
        ({"windows": ("soon",)}, "is not a duration"),
        ({"windows": (-7,)}, "must be positive"),
        ({"trend_weeks": 1}, "trend_weeks=1; expected .*a slope needs two"),
        ({"trend_weeks": 2.5}, "trend_weeks=2.5"),
        ({"max_event_types": -1}, "max_event_types=-1"),
        ({"event_types": "logins"}, "event_types='logins'"),
        ({"event_types": ["a", "a"]}, r"event_types=\['a', 'a'\]; .*distinct"),
        ({"event_types": [1]}, r"event_types=\[1\]; expected .*event types"),
    ],
)
def test_bad_parameters(story, params, message):
    with pytest.raises(ValueError, match=message):
        EngagementFeatures(**params).fit(story)


def test_scoring_data_without_event_or_value_columns_keeps_the_fitted_columns(story):
    """Fitted with event types and values; scored on a table that lost both columns."""
    builder = EngagementFeatures().fit(story, rows_at(story, ["ann"]))
    bare = EventData(story.customers, activity=story.activity[["customer_id", "timestamp"]])
    out = builder.build(bare, rows_at(bare, ["ann"]))
    assert list(out.columns) == list(builder.get_feature_names_out())
    assert np.isnan(out["events_login_30d"].iloc[0]) and np.isnan(out["value_sum_30d"].iloc[0])
    assert out["events_30d"].iloc[0] == 4.0


def test_event_column_as_text_or_categorical_gives_the_same_features(story, features):
    """The event types may arrive as a categorical column (EventData's form) or as plain
    text, and a category that never occurs is not learned: same columns, same values."""
    assert isinstance(story.activity["event"].dtype, pd.CategoricalDtype)
    rows = rows_at(story, ["ann", "bob", "cat"])
    as_text = EventData(story.customers, activity=story.activity)
    as_text.activity = story.activity.assign(event=story.activity["event"].astype(object))
    text_features = EngagementFeatures().fit(as_text, rows).build(as_text, rows)
    pd.testing.assert_frame_equal(text_features, features)
    unused = EventData(story.customers, activity=story.activity)
    unused.activity = story.activity.assign(
        event=story.activity["event"].cat.add_categories(["never"])
    )
    builder = EngagementFeatures().fit(unused)
    assert builder.event_types_ == ["login", "export", "upgrade"]
    pd.testing.assert_frame_equal(
        builder.build(unused, rows)[features.columns[:1]], features[features.columns[:1]]
    )
