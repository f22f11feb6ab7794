"""Property-based checks of the point-in-time rule on random customer tables.

Features at a cutoff use events strictly before it, through every family in
:func:`churnpredict.features.default_builders`; labels use ``(cutoff, cutoff + horizon]``
only. Random worlds hold customers, activity, payments and tickets on an hourly grid, with
many events placed exactly on window edges (the cutoff, ``cutoff - window``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnpredict._data import EventData
from churnpredict._labels import label_churn, population
from churnpredict.features import (
    EngagementFeatures,
    TenureFeatures,
    UsageFeatures,
    build_features,
    default_builders,
)

BASE = pd.Timestamp("2024-01-01")
HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
SPAN_HOURS = 200 * 24
EVENT_TYPES = ("login", "view", "export")
PRIORITIES = ("low", "high", "urgent")
STATUSES = ("succeeded", "succeeded", "failed", "refunded")
#: offsets (hours before the cutoff) where window edges fall: the cutoff itself, the feature
#: windows, and (negative) the ends of label horizons after it
EDGES = (
    0,
    0,
    0,
    1,
    12,
    24,
    7 * 24,
    7 * 24,
    14 * 24,
    28 * 24,
    30 * 24,
    30 * 24,
    60 * 24,
    90 * 24,
    180 * 24,
    -1,
    -7 * 24,
    -14 * 24,
    -28 * 24,
)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class World:
    """Raw tables (canonical names) and a cutoff."""

    customers: pd.DataFrame
    activity: pd.DataFrame
    payments: pd.DataFrame
    tickets: pd.DataFrame
    cutoff: pd.Timestamp

    def data(self, **changes: pd.DataFrame) -> EventData:
        tables = {
            "customers": self.customers,
            "activity": self.activity,
            "payments": self.payments,
            "tickets": self.tickets,
            **changes,
        }
        return EventData(
            tables["customers"],
            activity=tables["activity"],
            payments=tables["payments"],
            tickets=tables["tickets"],
        )


def _at(hours) -> pd.Series:
    return pd.Series(BASE + pd.to_timedelta(np.asarray(hours, dtype=np.int64), unit="h"))


def _late(hours) -> pd.Series:
    return pd.Series(list(hours), dtype="int64")


# Strategies are built once: an hour is ("at", h) anywhere in the span or, twice as likely,
# ("edge", e): e hours before the cutoff, on a window edge.
EDGE = st.sampled_from(EDGES).map(lambda e: ("edge", e))
TIME = st.one_of(st.integers(0, SPAN_HOURS).map(lambda h: ("at", h)), EDGE, EDGE)
ON_EDGE = st.tuples(st.integers(0, 9), st.sampled_from(EDGES))
LATE = st.one_of(st.just(0), st.integers(0, SPAN_HOURS))  # hours after the cutoff
CUSTOMER = st.tuples(
    st.integers(-10 * 24, 150 * 24),
    st.one_of(st.none(), st.none(), TIME),
    st.sampled_from(("voluntary", "involuntary")),
    st.sampled_from(("basic", "pro", "team")),
    st.integers(1, 20),
    st.floats(0, 500, allow_nan=False),
)
ACTIVITY = st.tuples(
    st.integers(0, 9),
    TIME,
    st.sampled_from(EVENT_TYPES),
    st.one_of(st.just(np.nan), st.floats(0, 100, allow_nan=False)),
)
PAYMENT = st.tuples(
    st.integers(0, 9), TIME, st.sampled_from((10.0, 20.0, 35.5)), st.sampled_from(STATUSES)
)
TICKET = st.tuples(
    st.integers(0, 9),
    TIME,
    st.one_of(st.none(), st.integers(0, 40 * 24), EDGE),
    st.sampled_from(PRIORITIES),
    st.one_of(st.none(), st.integers(1, 5)),
)
LATE_EVENT = st.tuples(
    st.integers(0, 9),
    LATE,
    st.sampled_from(EVENT_TYPES + ("logout",)),
    st.floats(0, 1000, allow_nan=False),
    st.sampled_from(STATUSES),
    st.sampled_from(PRIORITIES),
)


def _hour(time: tuple[str, int], cutoff_h: int, lo: int = 0, hi: int = SPAN_HOURS) -> int:
    kind, value = time
    return int(min(max(value if kind == "at" else cutoff_h - value, lo), hi))


@st.composite
def worlds(draw, n_max: int = 6) -> World:
    day, hour = draw(st.integers(40, 160)), draw(st.sampled_from((0, 0, 6, 13)))
    cutoff_h = day * 24 + hour
    people = draw(st.lists(CUSTOMER, min_size=1, max_size=n_max))
    n = len(people)
    ids = [f"c{i}" for i in range(n)]
    signup = [max(cutoff_h - p[0], 0) for p in people]  # hours before the cutoff
    signup[0] = min(signup[0], cutoff_h - 1)  # someone is a customer at the cutoff
    churned = [
        None if p[1] is None else max(s, _hour(p[1], cutoff_h))
        for s, p in zip(signup, people, strict=True)
    ]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_at": _at(signup),
            "churned_at": [None if c is None else BASE + c * HOUR for c in churned],
            "churn_type": [
                None if c is None else p[2] for c, p in zip(churned, people, strict=True)
            ],
            "plan": [p[3] for p in people],
            "seats": [p[4] for p in people],
            "mrr": [p[5] for p in people],
        }
    )
    # every table has one event of the first customer before the cutoff, so that
    # EventData.cut keeps every table
    first = [
        _hour(t, cutoff_h, 0, cutoff_h - 1) for t in draw(st.lists(TIME, min_size=3, max_size=3))
    ]
    acts = draw(st.lists(ACTIVITY, min_size=2, max_size=25))
    # and events exactly on window edges of the cutoff
    acts += [(i, ("edge", e), "login", 2.0) for i, e in draw(st.lists(ON_EDGE, max_size=6))]
    activity = pd.DataFrame(
        [("c0", first[0], "login", 1.0)]
        + [(ids[i % n], _hour(t, cutoff_h), e, v) for i, t, e, v in acts],
        columns=["customer_id", "hour", "event", "value"],
    )
    activity["timestamp"] = _at(activity.pop("hour"))
    pays = draw(st.lists(PAYMENT, max_size=12))
    pays += [(i, ("edge", e), 20.0, "failed") for i, e in draw(st.lists(ON_EDGE, max_size=3))]
    payments = pd.DataFrame(
        [("c0", first[1], 20.0, "succeeded")]
        + [(ids[i % n], _hour(t, cutoff_h), a, st_) for i, t, a, st_ in pays],
        columns=["customer_id", "hour", "amount", "status"],
    )
    payments["timestamp"] = _at(payments.pop("hour"))
    tix = [(0, ("at", first[2]), None, "low", None)] + draw(st.lists(TICKET, max_size=8))
    created = [_hour(t, cutoff_h) for _, t, _, _, _ in tix]
    resolved = []
    for c, (_, _, r, _, _) in zip(created, tix, strict=True):
        end = None if r is None else (c + r if isinstance(r, int) else cutoff_h - r[1])
        resolved.append(None if end is None or end < c else BASE + end * HOUR)
    tickets = pd.DataFrame(
        {
            "customer_id": [ids[t[0] % n] for t in tix],
            "created_at": _at(created),
            "resolved_at": pd.to_datetime(pd.Series(resolved, dtype=object)),
            "priority": [t[3] for t in tix],
            "csat": pd.Series(
                [t[4] if r is not None else None for t, r in zip(tix, resolved, strict=True)],
                dtype="float64",
            ),
        }
    )
    return World(customers, activity, payments, tickets, BASE + cutoff_h * HOUR)


@st.composite
def late_changes(draw, world: World) -> dict[str, pd.DataFrame]:
    """The world's tables with events at or after the cutoff added, removed and altered."""
    cut = world.cutoff

    def lists(strategy, size: int) -> list:
        return draw(st.lists(strategy, min_size=size, max_size=size))

    # new customers signing up at or after the cutoff, with late events only
    new_ids = [f"new{i}" for i in range(draw(st.integers(0, 2)))]
    customers = world.customers.copy()
    customers["churned_at"] = customers["churned_at"].astype("datetime64[ns]")
    if new_ids:
        customers = pd.concat(
            [
                customers,
                pd.DataFrame(
                    {
                        "customer_id": new_ids,
                        "signup_at": cut
                        + pd.to_timedelta(_late(lists(LATE, len(new_ids))), unit="h"),
                        "plan": "team",
                        "seats": 1,
                        "mrr": 99.0,
                    }
                ),
            ],
            ignore_index=True,
        )
    # churn dates at or after the cutoff move or vanish
    later = np.flatnonzero((customers["churned_at"] >= cut).to_numpy())
    for i, new in zip(later, lists(st.one_of(st.none(), LATE), len(later)), strict=True):
        stamp = pd.NaT if new is None else max(cut + new * HOUR, customers.loc[i, "signup_at"])
        customers.loc[i, "churned_at"] = stamp
        customers.loc[i, "churn_type"] = None if new is None else "involuntary"
    everyone = customers["customer_id"].tolist()

    def altered(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, np.ndarray, list]:
        """Drop some late rows; return the rest, where the late ones are, new values for them."""
        is_late = (frame[column] >= cut).to_numpy()
        drop = np.zeros(len(frame), dtype=bool)
        drop[is_late] = lists(st.booleans(), int(is_late.sum()))
        frame = frame.loc[~drop].reset_index(drop=True)
        where = np.flatnonzero((frame[column] >= cut).to_numpy())
        return frame, where, lists(LATE_EVENT, len(where))

    def added(size: int) -> pd.DataFrame:
        rows = draw(st.lists(LATE_EVENT, max_size=size))
        return pd.DataFrame(
            {
                "customer_id": [everyone[r[0] % len(everyone)] for r in rows],
                "late": _late([r[1] for r in rows]),
                "event": [r[2] for r in rows],
                "value": [r[3] for r in rows],
                "status": [r[4] for r in rows],
                "priority": [r[5] for r in rows],
            }
        )

    activity, where, new = altered(world.activity, "timestamp")
    for i, (_, h, event, value, _, _) in zip(where, new, strict=True):
        activity.loc[i, ["event", "value", "timestamp"]] = [event, value, cut + h * HOUR]
    extra = added(8)
    extra["timestamp"] = cut + pd.to_timedelta(extra.pop("late"), unit="h")
    activity = pd.concat(
        [activity, extra[["customer_id", "timestamp", "event", "value"]]], ignore_index=True
    )

    payments, where, new = altered(world.payments, "timestamp")
    for i, (_, h, _, value, status, _) in zip(where, new, strict=True):
        payments.loc[i, ["amount", "status", "timestamp"]] = [round(value), status, cut + h * HOUR]
    extra = added(5).rename(columns={"value": "amount"})
    extra["timestamp"] = cut + pd.to_timedelta(extra.pop("late"), unit="h")
    payments = pd.concat(
        [payments, extra[["customer_id", "timestamp", "amount", "status"]]], ignore_index=True
    )

    tickets, where, new = altered(world.tickets, "created_at")
    for i, (_, _, _, _, _, priority) in zip(where, new, strict=True):
        tickets.loc[i, "priority"] = priority
    # tickets still open at the cutoff: when (and how well) they end is not known yet
    still_open = np.flatnonzero(
        (tickets["resolved_at"].isna() | (tickets["resolved_at"] >= cut)).to_numpy()
    )
    ends = lists(st.one_of(st.none(), st.tuples(LATE, st.integers(1, 5))), len(still_open))
    for i, end in zip(still_open, ends, strict=True):
        start = max(cut, tickets.loc[i, "created_at"])
        tickets.loc[i, "resolved_at"] = pd.NaT if end is None else start + end[0] * HOUR
        tickets.loc[i, "csat"] = np.nan if end is None else float(end[1])
    extra = added(4)
    extra["created_at"] = cut + pd.to_timedelta(extra.pop("late"), unit="h")
    extra["resolved_at"] = extra["created_at"] + DAY
    extra["csat"] = 1.0
    tickets = pd.concat([tickets, extra[list(tickets.columns)]], ignore_index=True)
    return {"customers": customers, "activity": activity, "payments": payments, "tickets": tickets}


def _features(data: EventData, rows: pd.MultiIndex, builders, fit: bool) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # leakage / data-quality notes
        return build_features(data, rows, builders, fit=fit)


def _rows(data: EventData, cutoffs) -> pd.MultiIndex:
    return population(data, cutoffs, kind="cancellation").index


def _assert_same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same index, columns and dtypes; the same values bit for bit (NaN equal to NaN): each
    window sum adds up its own events only, so events at or after the cutoff cannot change a
    single bit of it."""
    pd.testing.assert_index_equal(left.index, right.index)
    pd.testing.assert_index_equal(left.columns, right.columns)
    pd.testing.assert_series_equal(left.dtypes, right.dtypes)
    is_cat = [isinstance(t, pd.CategoricalDtype) for t in left.dtypes]
    for col in left.columns[is_cat]:
        pd.testing.assert_series_equal(left[col], right[col])
    numeric = left.columns[~np.asarray(is_cat, dtype=bool)]
    np.testing.assert_array_equal(
        left[numeric].to_numpy(np.float64),
        right[numeric].to_numpy(np.float64),
        err_msg=f"columns {list(numeric)}",
        strict=True,
    )


# ------------------------------------------------------------------------------ features
@pytest.mark.slow
@SETTINGS
@given(world=worlds())
def test_features_do_not_change_when_the_data_is_cut_at_the_cutoff(world):
    """Scoring as of the cutoff gives the same numbers with or without the later data."""
    data = world.data()
    rows = _rows(data, [world.cutoff])
    builders = default_builders()
    assert all(b.applies_to(data) for b in builders)  # every default family is exercised
    full = _features(data, rows, builders, fit=True)
    cut = _features(data.cut(world.cutoff), rows, builders, fit=False)
    _assert_same(full, cut)
    # and the families of an app's event log (sessions, active days, regularity)
    usage = [b for b in default_builders("usage") if type(b).__name__ == "UsageFeatures"]
    full = _features(data, rows, usage, fit=True)
    _assert_same(full, _features(data.cut(world.cutoff), rows, usage, fit=False))


@pytest.mark.slow
@SETTINGS
@given(st.data())
def test_features_ignore_added_removed_and_altered_late_events(hyp):
    """Events at or after the cutoff (many exactly at it) never move a feature."""
    world = hyp.draw(worlds())
    data = world.data()
    rows = _rows(data, [world.cutoff])
    changed = world.data(**hyp.draw(late_changes(world)))
    builders = default_builders() + [UsageFeatures(windows=(1, 7, 30))]
    before = _features(data, rows, builders, fit=True)
    _assert_same(before, _features(changed, rows, builders, fit=False))
    # fitting at the cutoff learns nothing from later data either (same columns, same values)
    again = default_builders() + [UsageFeatures(windows=(1, 7, 30))]
    _assert_same(before, _features(changed, rows, again, fit=True))


@pytest.mark.slow
@SETTINGS
@given(world=worlds())
def test_several_cutoffs_at_once_match_one_at_a_time(world):
    data = world.data()
    cutoffs = [world.cutoff - 10 * DAY, world.cutoff]
    rows = _rows(data, cutoffs)
    builders = default_builders()
    both = _features(data, rows, builders, fit=True)
    for cut in cutoffs:
        mine = rows[rows.get_level_values("cutoff") == cut]
        _assert_same(both.loc[mine], _features(data, mine, builders, fit=False))


# ------------------------------------------------------------------------------ window edges
@pytest.mark.slow
@SETTINGS
@given(
    world=worlds(),
    windows=st.lists(
        st.sampled_from([1, 7, 30, "12h", "36h"]), min_size=1, max_size=3, unique=True
    ),
)
def test_engagement_matches_a_direct_count_over_each_window(world, windows):
    """Each window is [cutoff - window, cutoff): compared with plain pandas filters."""
    data = world.data()
    cutoffs = [world.cutoff, world.cutoff + 13 * HOUR]
    rows = _rows(data, cutoffs)
    builder = EngagementFeatures(windows=windows, event_types=list(EVENT_TYPES))
    X = _features(data, rows, [builder], fit=True)
    act = data.activity
    for (cid, cut), got in X.iterrows():
        mine = act[act["customer_id"] == cid]
        before = mine[mine["timestamp"] < cut]
        expected_recency = (cut - before["timestamp"].max()) / DAY if len(before) else np.nan
        np.testing.assert_allclose(got["days_since_last_activity"], expected_recency)
        for w in builder.windows_:
            lab = f"{w.days}d" if w % DAY == pd.Timedelta(0) else f"{w // HOUR}h"
            inside = mine[(mine["timestamp"] >= cut - w) & (mine["timestamp"] < cut)]
            assert got[f"events_{lab}"] == len(inside)
            assert got[f"active_days_{lab}"] == inside["timestamp"].dt.normalize().nunique()
            np.testing.assert_allclose(
                got[f"value_sum_{lab}"], inside["value"].sum(), rtol=1e-9, atol=1e-9
            )
            for t in EVENT_TYPES:
                assert got[f"events_{t}_{lab}"] == (inside["event"] == t).sum()
        tw = 30 * DAY
        last = ((mine["timestamp"] >= cut - tw) & (mine["timestamp"] < cut)).sum()
        prev = ((mine["timestamp"] >= cut - 2 * tw) & (mine["timestamp"] < cut - tw)).sum()
        assert got["activity_trend_diff_30d"] == last - prev


@pytest.mark.slow
@SETTINGS
@given(world=worlds())
def test_tenure_is_the_time_since_signup(world):
    data = world.data()
    rows = _rows(data, [world.cutoff])
    X = _features(data, rows, [TenureFeatures()], fit=True)
    signup = data.customers.set_index("customer_id")["signup_at"]
    expected = (world.cutoff - signup.loc[rows.get_level_values(0)]) / DAY
    np.testing.assert_allclose(X["tenure_days"].to_numpy(), expected.to_numpy())
    assert (X["tenure_days"] > 0).all()  # the population signed up strictly before the cutoff


# ------------------------------------------------------------------------------ labels
@st.composite
def outside_horizon(draw, world: World, lookback_h: int, horizon_h: int) -> pd.DataFrame:
    """Activity events before ``cutoff - lookback``, exactly at the horizon's end or after it.

    (The activity horizon is ``[cutoff, cutoff + horizon)``: an event at the cutoff is an
    outcome, one at ``cutoff + horizon`` is not.)"""
    cut_h = int((world.cutoff - BASE) / HOUR)
    ids = world.customers["customer_id"].tolist()
    hours = st.one_of(
        st.integers(-2000, cut_h - lookback_h - 1),
        st.just(cut_h + horizon_h),
        st.integers(cut_h + horizon_h + 1, cut_h + horizon_h + 3000),
        st.just(cut_h + horizon_h + 1),
    )
    k = draw(st.integers(1, 10))
    extra = pd.DataFrame(
        {
            "customer_id": [draw(st.sampled_from(ids)) for _ in range(k)],
            "timestamp": _at([draw(hours) for _ in range(k)]),
            "event": "login",
            "value": 1.0,
        }
    )
    return pd.concat([world.activity, extra], ignore_index=True)


@pytest.mark.slow
@SETTINGS
@given(
    hyp=st.data(),
    horizon_days=st.sampled_from([7, 14, 28]),
    lookback_days=st.sampled_from([30, 90]),
    lapsed=st.sampled_from([None, False]),
)
def test_inactivity_labels_read_only_the_horizon(hyp, horizon_days, lookback_days, lapsed):
    """With the default population (lapsed customers in) and with lapsed=False."""
    world = hyp.draw(worlds())
    horizon, lookback = horizon_days * DAY, lookback_days * DAY
    as_of = world.cutoff + 400 * DAY
    kwargs = dict(horizon=horizon, kind="inactivity", as_of=as_of, lookback=lookback, lapsed=lapsed)
    data = world.data()
    labels = label_churn(data, [world.cutoff], **kwargs)
    activity = hyp.draw(outside_horizon(world, lookback_days * 24, horizon_days * 24))
    changed = world.data(activity=activity)
    pd.testing.assert_frame_equal(labels, label_churn(changed, [world.cutoff], **kwargs))
    # and the labels are what the definition says, counted directly, also with events exactly
    # on the edges: the cutoff, the end of the horizon, the start of the lookback
    cut = world.cutoff
    ids = world.customers["customer_id"].tolist()
    offsets = (0 * DAY, horizon, horizon + HOUR, -lookback, -lookback - HOUR, HOUR)
    on_edges = hyp.draw(
        st.lists(st.tuples(st.integers(0, 9), st.sampled_from(offsets)), max_size=6)
    )
    edged = pd.concat(
        [
            world.activity,
            pd.DataFrame(
                {
                    "customer_id": [ids[i % len(ids)] for i, _ in on_edges],
                    "timestamp": pd.Series([cut + o for _, o in on_edges], dtype="datetime64[ns]"),
                    "event": "login",
                    "value": 1.0,
                }
            ),
        ],
        ignore_index=True,
    )
    data = world.data(activity=edged)
    labels = label_churn(data, [cut], **kwargs)
    act = data.activity
    churned_at = data.customers.set_index("customer_id")["churned_at"]
    signup = data.customers.set_index("customer_id")["signup_at"]
    expected = {}
    for cid in ids:
        mine = act.loc[act["customer_id"] == cid, "timestamp"]
        alive = signup[cid] < cut and (pd.isna(churned_at[cid]) or churned_at[cid] > cut)
        if alive and (lapsed is None or ((mine >= cut - lookback) & (mine < cut)).any()):
            expected[cid] = int(not ((mine >= cut) & (mine < cut + horizon)).any())
    got = labels["churned"].droplevel("cutoff").to_dict()
    assert got == expected


@pytest.mark.slow
@SETTINGS
@given(hyp=st.data(), horizon_days=st.sampled_from([7, 28]))
def test_cancellation_labels_read_only_the_horizon(hyp, horizon_days):
    world = hyp.draw(worlds())
    horizon = horizon_days * DAY
    end = world.cutoff + horizon
    kwargs = dict(horizon=horizon, kind="cancellation", as_of=end + 400 * DAY)
    labels = label_churn(world.data(), [world.cutoff], **kwargs)
    # events come and go, new customers arrive, churn dates after the horizon move or vanish:
    # no label changes
    changes = hyp.draw(late_changes(world))
    customers = changes["customers"]
    n = len(world.customers)
    customers["churned_at"] = pd.concat(
        [world.customers["churned_at"].astype("datetime64[ns]"), customers["churned_at"].iloc[n:]],
        ignore_index=True,
    )
    customers["churn_type"] = pd.concat(
        [world.customers["churn_type"], customers["churn_type"].iloc[n:]], ignore_index=True
    )
    for i in np.flatnonzero((customers["churned_at"] > end).to_numpy()):
        extra = hyp.draw(st.one_of(st.none(), st.integers(1, 3000)))
        customers.loc[i, "churned_at"] = (
            pd.NaT if extra is None else max(end + extra * HOUR, customers.loc[i, "signup_at"])
        )
    changed = world.data(**changes)
    pd.testing.assert_frame_equal(labels, label_churn(changed, [world.cutoff], **kwargs))
    churned_at = world.customers.set_index("customer_id")["churned_at"]
    for (cid, cut), row in labels.iterrows():
        when = churned_at[cid]
        assert row["churned"] == int(pd.notna(when) and cut < when <= cut + horizon)


# ------------------------------------------------------------------------------ training
def _with_events_at(
    data: EventData, at: pd.Timestamp, horizon: pd.Timedelta, rng: np.random.Generator
) -> EventData:
    """``data`` with activity and payments of some customers exactly at ``at`` (among them
    customers otherwise quiet since ``at - horizon``), and some cancelling exactly at ``at``."""
    customers = data.customers.copy()
    alive = np.flatnonzero(
        (
            (customers["signup_at"] < at - 40 * DAY)
            & (customers["churned_at"].isna() | (customers["churned_at"] > at))
        ).to_numpy()
    )
    quitters = rng.choice(alive, min(3, len(alive)), replace=False)
    customers.loc[quitters, "churned_at"] = at
    customers.loc[quitters, "churn_type"] = "voluntary"
    who = customers["customer_id"].to_numpy()[rng.choice(alive, min(8, len(alive)), replace=False)]
    act = data.activity.loc[data.activity["timestamp"] < at]
    last = act.groupby("customer_id")["timestamp"].max()
    quiet = last.index[(last < at - horizon) & (last >= at - horizon - 60 * DAY)].to_numpy()
    who = np.concatenate([quiet[:6], who])
    activity = pd.concat(
        [
            data.activity,
            pd.DataFrame({"customer_id": who, "timestamp": at, "event": "login", "value": 1.0}),
        ],
        ignore_index=True,
    )
    payments = pd.concat(
        [
            data.payments,
            pd.DataFrame(
                {"customer_id": who[:4], "timestamp": at, "amount": 49.0, "status": "succeeded"}
            ),
        ],
        ignore_index=True,
    )
    return EventData(customers, activity=activity, payments=payments, tickets=data.tickets)


@pytest.mark.slow
@settings(
    max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 1000),
    day=st.integers(0, 150),
    kind=st.sampled_from(["cancellation", "inactivity"]),
    horizon_days=st.sampled_from([28, 42]),
)
def test_fit_on_the_full_data_equals_fit_on_the_data_cut_at_as_of(seed, day, kind, horizon_days):
    """``fit(data, as_of=T)`` reads nothing at or after T, labels included: its training rows,
    features, labels and model are those of ``fit(data.cut(T), as_of=T)``, with events and
    cancellations placed exactly at T."""
    from churnpredict._model import ChurnModel
    from churnpredict._pipeline import ChurnPipeline
    from churnpredict.datasets import make_subscription_data

    data = make_subscription_data(
        250, start="2023-06-01", end="2024-12-31", churn_scale=3.0, random_state=seed
    )
    rng = np.random.default_rng(seed)
    # T is an existing activity time (events exactly at T), or a midnight
    act = data.activity["timestamp"]
    lo, hi = pd.Timestamp("2024-05-01") + day * DAY, pd.Timestamp("2024-10-01") + day * DAY
    inside = act[(act > lo) & (act < hi)]
    as_of = inside.iloc[int(rng.integers(len(inside)))] if day % 2 else lo.normalize()
    data = _with_events_at(data, as_of, horizon_days * DAY, rng)
    cut = data.cut(as_of)

    def fitted(d: EventData) -> tuple[ChurnPipeline, pd.DataFrame, pd.DataFrame]:
        pipe = ChurnPipeline(
            model=ChurnModel(n_estimators=15, n_jobs=1, random_state=0),
            horizon=f"{horizon_days}D",
            label=kind,
            n_cutoffs=8,
            cutoff_freq="14D",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            X, labels = pipe.fit_training(d, as_of, None)
        return pipe, X, labels

    full_pipe, full_X, full_labels = fitted(data)
    cut_pipe, cut_X, cut_labels = fitted(cut)
    pd.testing.assert_frame_equal(full_labels, cut_labels, check_exact=True)
    pd.testing.assert_frame_equal(full_X, cut_X, check_exact=True)
    assert full_pipe.feature_names_ == cut_pipe.feature_names_
    # events exactly at T were in the data
    assert (data.activity["timestamp"] == as_of).sum() >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        full_scores = full_pipe.score(cut, as_of=as_of, explain=False)
        cut_scores = cut_pipe.score(cut, as_of=as_of, explain=False)
    pd.testing.assert_frame_equal(full_scores, cut_scores, check_exact=True)


# ------------------------------------------------------------------------------ log starts
@st.composite
def exports(draw) -> tuple[EventData, EventData, pd.Timestamp]:
    """A complete random history, and its export from ``start`` on.

    30-40 customers signed up over the 100 days before the export starts (the history), a
    few after; each is active on random days, some every day, some rarely. The export keeps
    the events from ``start`` on: what the customers did before is not recorded.
    """
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    n_old, n_new = draw(st.integers(30, 40)), draw(st.integers(0, 5))
    start = BASE + 100 * DAY + draw(st.integers(0, 23)) * HOUR
    signup = np.concatenate(
        [rng.integers(0, 100 * 24, n_old), 100 * 24 + rng.integers(1, 40 * 24, n_new)]
    )
    ids = [f"c{i}" for i in range(len(signup))]
    rows = []
    for i, s in enumerate(signup):
        rate = rng.choice([0.9, 0.3, 0.05])  # share of hours-blocks with an event
        hours = np.arange(s, 160 * 24, 6)
        hours = hours[rng.random(len(hours)) < rate / 4]
        if s < 100 * 24:  # every older customer comes back in the export's first week
            hours = np.append(hours, 100 * 24 + int(rng.integers(24, 6 * 24)))
        rows += [(ids[i], h, "login" if h % 2 else "view") for h in hours]
    activity = pd.DataFrame(rows, columns=["customer_id", "hour", "event"])
    activity["timestamp"] = _at(activity.pop("hour"))
    customers = pd.DataFrame({"customer_id": ids, "signup_at": _at(signup)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        full = EventData(customers, activity=activity)
        export = EventData(customers, activity=activity[activity["timestamp"] >= start])
    return full, export, start


@pytest.mark.slow
@settings(SETTINGS, max_examples=12)
@given(exported=exports(), horizon_days=st.sampled_from([3, 7, 14]))
def test_no_window_or_label_reaches_before_the_log_start(exported, horizon_days):
    """On an export that starts after its customers signed up, every training cutoff has its
    label horizon and one horizon of history inside the log, and every feature either equals
    the one of the complete history or is not observed (NaN), never a count of the unrecorded
    time: counts over windows reaching before the start are NaN, rates are taken over the
    recorded part."""
    from churnpredict._labels import training_cutoffs

    full, export, start = exported
    first = export.activity["timestamp"].min()
    assert export.record_start("activity") == first and full.record_start("activity") is None
    horizon = horizon_days * DAY
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cuts = training_cutoffs(export, None, horizon, periods=30, freq="1D")
    assert len(cuts) and (cuts - horizon >= first).all()
    labels = label_churn(export, cuts, horizon, kind="inactivity", lapsed=True)
    expected = label_churn(full, cuts, horizon, kind="inactivity", lapsed=True)
    pd.testing.assert_frame_equal(labels, expected)

    rows = labels.index
    builder = EngagementFeatures(windows=(1, 7, 30), event_types=["login", "view"])
    got = _features(export, rows, [builder], fit=True)
    truth = _features(full, rows, [builder], fit=True)
    signup = export.customers.set_index("customer_id")["signup_at"]
    older = (signup.loc[rows.get_level_values(0)] < first).to_numpy()
    cut = rows.get_level_values("cutoff")
    for w in builder.windows_:
        lab = f"{w.days}d"
        blind = older & np.asarray(cut - w < first)
        for col in (f"events_{lab}", f"active_days_{lab}", f"events_login_{lab}"):
            assert got[col][blind].isna().all(), col  # not observed, never zero
            np.testing.assert_array_equal(got[col][~blind], truth[col][~blind])
        # the rate over the recorded part of the window: events since max(signup, start)
        since = np.maximum(signup.loc[rows.get_level_values(0)].to_numpy(), first.to_numpy())
        days = np.maximum((cut.to_numpy() - np.maximum(since, (cut - w).to_numpy())) / DAY, 1)
        counted = _features(full, rows, [builder], fit=True)[f"events_{lab}"]
        recorded = export.activity
        n = [
            int(
                (
                    (recorded["customer_id"] == c)
                    & (recorded["timestamp"] >= t - w)
                    & (recorded["timestamp"] < t)
                ).sum()
            )
            for c, t in rows
        ]
        np.testing.assert_allclose(got[f"events_per_day_{lab}"], np.asarray(n) / days)
        assert (np.asarray(n)[~blind] == counted[~blind]).all()
    assert (older & np.asarray(cut - 30 * DAY < first)).any()  # both kinds of rows are here
    assert (~(older & np.asarray(cut - 30 * DAY < first))).any()
    # the trend never compares with unrecorded time: no "up from 0" at the log's edge
    blind = older & np.asarray(cut - 60 * DAY < first)
    assert got["activity_trend_diff_30d"][blind].isna().all()
