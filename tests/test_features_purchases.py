"""Purchase-history features on a tiny hand-built shop, BG/NBD at each cutoff, and the
point-in-time rule checked on random shops with hypothesis."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from churnpredict import ChurnDataError, EventData
from churnpredict._bgnbd import fit_bgnbd, p_alive, p_no_purchase
from churnpredict.features import PurchaseHistoryFeatures, build_features

CUTOFF = pd.Timestamp("2024-03-01")  # cutoff - 30 days = 2024-01-31, - 60 days = 2024-01-01


def shop(**changes) -> EventData:
    """Four shoppers; every invoice is a "purchase" activity event and a succeeded payment.

    * ``a`` buys 100 on 2024-01-01 10:00 and 50 the same afternoon (one order: one day), 30 on
      2024-01-11, 70 on 2024-01-31 12:00, and 200 exactly at the cutoff (not seen). Orders on
      Jan 1, 11, 31: gaps 10 and 20 days (mean and median 15, spread 5), first order 60 days
      before the cutoff, last one 30 days before: twice their usual gap, 15 days overdue.
      Last 30 days [Jan 31, Mar 1): 1 order of 70; the 30 days before: 2 orders of 180.
    * ``b`` buys once, 40 on 2024-02-20 08:00, and again after the cutoff.
    * ``c`` signed up but buys only after the cutoff.
    * ``d`` orders on Feb 1, 3, 5 and 15 (10 each): gaps 2, 2, 10 (median 2, mean 14/3), all
      in the last 30 days.
    """
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "signup_at": ["2023-12-01"] * 4})
    rows = [
        ("a", "2024-01-01 10:00", 100),
        ("a", "2024-01-01 15:00", 50),
        ("a", "2024-01-11 09:00", 30),
        ("a", "2024-01-31 12:00", 70),
        ("a", "2024-03-01 00:00", 200),
        ("b", "2024-02-20 08:00", 40),
        ("b", "2024-03-05", 40),
        ("c", "2024-03-02", 25),
        ("d", "2024-02-01", 10),
        ("d", "2024-02-03", 10),
        ("d", "2024-02-05", 10),
        ("d", "2024-02-15", 10),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "value"])
    activity = frame.assign(event="purchase")
    payments = frame.rename(columns={"value": "amount"}).assign(status="succeeded")
    tables = {"customers": customers, "activity": activity, "payments": payments, **changes}
    return EventData(tables["customers"], activity=tables["activity"], payments=tables["payments"])


def rows(customers, cutoff=CUTOFF):
    return pd.MultiIndex.from_arrays(
        [customers, pd.DatetimeIndex([cutoff] * len(customers))], names=["customer_id", "cutoff"]
    )


NAN = np.nan
EXPECTED = pd.DataFrame(
    {
        "orders_to_date": [3.0, 1, 0, 4],
        "days_since_first_order": [60.0, 10, NAN, 29],
        "days_since_last_order": [30.0, 10, NAN, 15],
        "orders_per_30d": [1.5, 3.0, NAN, 4 / 29 * 30],
        "mean_days_between_orders": [15.0, NAN, NAN, 14 / 3],
        "median_days_between_orders": [15.0, NAN, NAN, 2],
        "order_gap_cv": [5 / 15, NAN, NAN, np.sqrt(108 / 3 - (14 / 3) ** 2) / (14 / 3)],
        "overdue_ratio": [2.0, NAN, NAN, 15 / (14 / 3)],
        "overdue_days": [15.0, NAN, NAN, 13],
        "orders_30d": [1.0, 1, 0, 4],
        "orders_prev_30d": [2.0, 0, 0, 0],
        "order_trend_30d": [0.5, NAN, NAN, NAN],
        "spend_per_order": [250 / 3, 40, NAN, 10],
        "spend_30d": [70.0, 40, 0, 40],
        "spend_per_order_30d": [70.0, 40, NAN, 10],
        "spend_per_order_trend_30d": [70 / 90, NAN, NAN, NAN],
        # among a, b and d (c has no order yet), ties counting one half
        "recency_rank": [5 / 6, 1 / 6, NAN, 3 / 6],
        "age_rank": [5 / 6, 1 / 6, NAN, 3 / 6],
    },
    index=rows(["a", "b", "c", "d"]),
)


@pytest.mark.parametrize("source", ["auto", "activity", "payments"])
def test_hand_computed_values(source):
    data = shop()
    builder = PurchaseHistoryFeatures(
        source=source, trend_windows=(30,), spend_window=30, bgnbd=False
    )
    X = builder.fit(data).build(data, EXPECTED.index)
    assert builder.source_ == ("payments" if source == "payments" else "activity")
    pd.testing.assert_frame_equal(X, EXPECTED, check_exact=False, rtol=1e-12)
    assert list(builder.get_feature_names_out()) == list(EXPECTED.columns)
    # ranks compare with every shopper at the cutoff, whichever rows are built
    alone = builder.build(data, rows(["a"]))
    pd.testing.assert_frame_equal(alone, EXPECTED.iloc[:1], check_exact=False, rtol=1e-12)


def test_an_event_type_filter_and_a_cutoff_within_a_day():
    """At 2024-01-31 11:00 a's purchase of 12:00 that day is not seen yet; a "view" event
    of b is not a purchase."""
    data = shop()
    extra = pd.DataFrame(
        {"customer_id": ["b"], "timestamp": ["2024-01-15"], "value": [0.0], "event": ["view"]}
    )
    activity = pd.concat([data.activity, extra], ignore_index=True)
    data = shop(activity=activity)
    cut = pd.Timestamp("2024-01-31 11:00")
    builder = PurchaseHistoryFeatures(
        event="purchase", trend_windows=(30,), spend_window=30, bgnbd=False
    )
    X = builder.fit(data).build(data, rows(["a", "b"], cut))
    assert X.loc[("a", cut), "orders_to_date"] == 2
    assert X.loc[("a", cut), "days_since_last_order"] == pytest.approx(20 + 11 / 24)
    assert X.loc[("a", cut), "spend_per_order"] == pytest.approx(90.0)
    assert X.loc[("b", cut), "orders_to_date"] == 0
    everything = PurchaseHistoryFeatures(trend_windows=(30,), bgnbd=False).fit(data)
    assert everything.build(data, rows(["b"], cut)).iloc[0]["orders_to_date"] == 1


def test_groups_and_shopper_wording():
    data = shop()
    builder = PurchaseHistoryFeatures().fit(data)
    infos = {i.name: i for i in builder.feature_info()}
    assert infos["days_since_first_order"].group == "tenure"
    assert infos["spend_per_order"].group == "monetary"
    assert infos["overdue_ratio"].group == "engagement"
    # durations as people say them (see churnpredict.features.duration_text)
    assert infos["days_since_last_order"].describe(88.0) == "no order for 3 months"
    assert infos["days_since_last_order"].describe(12.0) == "no order for 12 days"
    assert infos["median_days_between_orders"].describe(21.0) == "usually orders every 3 weeks"
    assert infos["orders_180d"].describe(1.0) == "1 order in the last 180 days"
    assert infos["orders_180d"].describe(2.0) == "2 orders in the last 180 days"
    assert infos["order_trend_180d"].describe(0.25) == (
        "orders in the last 180 days at 25% of the 180 days before"
    )
    assert infos["days_since_last_order"].describe(np.nan) == "no order yet"
    # BG/NBD's view in words: no second probability next to the churn probability
    assert infos["bgnbd_p_no_order_90d"].describe(0.7) == (
        "their order pattern says an order in the next 90 days is unlikely"
    )
    assert "%" not in infos["bgnbd_p_alive"].describe(0.2)
    assert {infos[n].kind for n in ("recency_rank", "age_rank")} == {"rank"}
    assert infos["overdue_days"].describe(281.4) == "281 days past their usual gap between orders"
    words = " ".join(
        f"{i.description} {i.description_if_zero} {i.description_if_missing}"
        for i in infos.values()
    ).lower()
    for banned in ("mrr", "price", "subscription", "payment"):
        assert banned not in words


def test_bgnbd_that_cannot_be_fitted_leaves_its_columns_empty():
    data = shop()
    builder = PurchaseHistoryFeatures().fit(data)
    with pytest.warns(
        ConvergenceWarning, match="could not be fitted at cutoff 2024-03-01.*only 3 customers"
    ):
        X = builder.build(data, EXPECTED.index)
    bg = [c for c in X.columns if c.startswith("bgnbd_")]
    assert bg == [
        "bgnbd_p_alive",
        "bgnbd_expected_orders_90d",
        "bgnbd_p_no_order_90d",
        "bgnbd_p_no_order_rank_90d",
    ]
    assert X[bg].isna().all().all()
    assert X["orders_to_date"].notna().all()


def random_shop(n: int = 300, seed: int = 0) -> EventData:
    """Shoppers buying at random rates for a year, some stopping for good."""
    rng = np.random.default_rng(seed)
    per = rng.poisson(rng.gamma(0.8, 6.0, size=n)) + 1
    cust = np.repeat(np.arange(n), per)
    start = rng.integers(0, 300, size=n)
    stop = start + rng.integers(1, 400, size=n)
    days = start[cust] + (rng.random(len(cust)) * (stop - start)[cust]).astype(int)
    hours = rng.integers(0, 24, size=len(cust))
    ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(days * 24 + hours, unit="h")
    ids = np.array([f"s{i:03d}" for i in range(n)])
    activity = pd.DataFrame(
        {
            "customer_id": ids[cust],
            "timestamp": ts,
            "event": "purchase",
            "value": rng.gamma(2.0, 20.0, size=len(cust)).round(2),
        }
    )
    first = activity.groupby("customer_id")["timestamp"].min()
    customers = pd.DataFrame({"customer_id": first.index, "signup_at": first.to_numpy()})
    return EventData(customers, activity=activity)


def test_bgnbd_features_are_the_model_fitted_on_the_history_before_each_cutoff():
    data = random_shop()
    cutoffs = [pd.Timestamp("2023-08-01"), pd.Timestamp("2023-11-01")]
    act = data.activity
    index_parts = []
    for cut in cutoffs:
        seen = act.loc[act["timestamp"] < cut, "customer_id"].unique()
        index_parts.append(rows(sorted(seen), cut))
    idx = index_parts[0].append(index_parts[1])
    X = PurchaseHistoryFeatures().fit(data).build(data, idx)
    for cut in cutoffs:
        # the summaries of every shopper before the cutoff, with plain pandas
        days = act.loc[act["timestamp"] < cut].assign(day=lambda f: f["timestamp"].dt.floor("D"))
        g = days.groupby("customer_id")["day"].agg(["min", "max", "nunique"])
        x = (g["nunique"] - 1).to_numpy(float)
        T = ((cut - g["min"]) / pd.Timedelta(days=1)).to_numpy(float)
        t_x = ((g["max"] - g["min"]) / pd.Timedelta(days=1)).to_numpy(float)
        fit = fit_bgnbd(x, t_x, T)
        assert fit.converged
        theta = fit.as_tuple()
        mine = X.xs(cut, level="cutoff").loc[g.index]
        np.testing.assert_allclose(mine["orders_to_date"], g["nunique"])
        np.testing.assert_allclose(mine["bgnbd_p_alive"], p_alive(theta, x, t_x, T), rtol=1e-12)
        quiet = p_no_purchase(theta, 90.0, x, t_x, T)
        np.testing.assert_allclose(mine["bgnbd_p_no_order_90d"], quiet, rtol=1e-12)
        # every shopper before the cutoff is a row here, so the rank is pandas' mid-rank
        rank = (pd.Series(quiet).rank(method="average") - 0.5) / len(quiet)
        np.testing.assert_allclose(mine["bgnbd_p_no_order_rank_90d"], rank, rtol=1e-12)
        # and the medians against pandas
        gaps = days.drop_duplicates(["customer_id", "day"]).sort_values(["customer_id", "day"])
        gap = gaps.groupby("customer_id")["day"].diff() / pd.Timedelta(days=1)
        median = gap.groupby(gaps["customer_id"]).median().reindex(g.index)
        np.testing.assert_allclose(mine["median_days_between_orders"], median)
        std = gap.groupby(gaps["customer_id"]).std(ddof=0).reindex(g.index)
        counts = gap.groupby(gaps["customer_id"]).count().reindex(g.index)
        cv = (std / gap.groupby(gaps["customer_id"]).mean().reindex(g.index)).where(counts >= 2)
        np.testing.assert_allclose(mine["order_gap_cv"], cv, rtol=1e-9, atol=1e-12)


def test_errors_name_the_fix():
    customers = pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]})
    tickets = pd.DataFrame({"customer_id": ["a"], "created_at": ["2024-01-02"]})
    data = EventData(customers, tickets=tickets)
    builder = PurchaseHistoryFeatures()
    assert not builder.applies_to(data)
    with pytest.raises(ChurnDataError, match="activity or payments table holding the purchases"):
        builder.fit(data)
    with pytest.raises(ValueError, match="source='basket'"):
        PurchaseHistoryFeatures(source="basket").fit(shop())
    with pytest.raises(ValueError, match="use source='activity'"):
        PurchaseHistoryFeatures(source="payments", event="purchase").fit(shop())


# ------------------------------------------------------------------------- point in time
BASE = pd.Timestamp("2024-01-01")
HOUR = pd.Timedelta(hours=1)
#: hours before the cutoff where windows and days have edges
EDGES = (0, 0, 1, 11, 24, 30 * 24, 60 * 24, 180 * 24, 360 * 24, 365 * 24, 730 * 24)
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PURCHASE = st.tuples(
    st.integers(0, 39),
    st.one_of(st.integers(1, 800 * 24), st.sampled_from(EDGES)),
    st.floats(0, 500, allow_nan=False),
)
LATE = st.tuples(
    st.integers(0, 44),
    st.one_of(st.just(0), st.integers(0, 200 * 24)),
    st.floats(0, 500, allow_nan=False),
)


@st.composite
def shops(draw):
    """Up to 40 shoppers, purchases up to 800 days before a cutoff at 00:00 or 13:00, many on
    window edges and exactly at the cutoff."""
    cut = BASE + pd.Timedelta(days=900) + draw(st.sampled_from((0, 13))) * HOUR
    bought = draw(st.lists(PURCHASE, min_size=5, max_size=150))
    # and a seeded backbone of repeat buyers, so that BG/NBD can be fitted
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    per = rng.integers(1, 6, size=40)
    bought += [
        (int(i), int(h), 10.0)
        for i, h in zip(
            np.repeat(np.arange(40), per), rng.integers(1, 800 * 24, size=per.sum()), strict=True
        )
    ]
    ids = [f"c{i:02d}" for i in range(40)]
    activity = pd.DataFrame(
        {
            "customer_id": [ids[i] for i, _, _ in bought],
            "timestamp": pd.Series([cut - h * HOUR for _, h, _ in bought], dtype="datetime64[ns]"),
            "value": [v for _, _, v in bought],
        }
    )
    customers = pd.DataFrame({"customer_id": ids, "signup_at": BASE})
    return customers, activity, cut


def _late_changes(draw, customers, activity, cut):
    """Late purchases dropped, moved, revalued and added; new shoppers who come later."""
    late = (activity["timestamp"] >= cut).to_numpy()
    keep = ~late
    keep[late] = draw(st.lists(st.booleans(), min_size=int(late.sum()), max_size=int(late.sum())))
    changed = activity.loc[keep].reset_index(drop=True)
    moved = np.flatnonzero((changed["timestamp"] >= cut).to_numpy())
    for i in moved:
        _, h, v = draw(LATE)
        changed.loc[i, ["timestamp", "value"]] = [cut + h * HOUR, v]
    new_ids = [f"c{i:02d}" for i in range(40, 45)]
    ids = customers["customer_id"].tolist() + new_ids
    added = draw(st.lists(LATE, max_size=20))
    extra = pd.DataFrame(
        {
            "customer_id": [ids[i] for i, _, _ in added],
            "timestamp": pd.Series([cut + h * HOUR for _, h, _ in added], dtype="datetime64[ns]"),
            "value": [v for _, _, v in added],
        }
    )
    customers = pd.concat(
        [customers, pd.DataFrame({"customer_id": new_ids, "signup_at": cut + HOUR})],
        ignore_index=True,
    )
    return customers, pd.concat([changed, extra], ignore_index=True)


def _build(customers, activity, index, builder, fit=True):
    data = EventData(customers, activity=activity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tiny shops: BG/NBD may not fit
        return build_features(data, index, [builder], fit=fit)


def _same(left, right):
    pd.testing.assert_index_equal(left.index, right.index)
    pd.testing.assert_index_equal(left.columns, right.columns)
    np.testing.assert_allclose(left.to_numpy(), right.to_numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.slow
@SETTINGS
@given(st.data())
def test_features_ignore_added_removed_and_altered_late_purchases(hyp):
    customers, activity, cut = hyp.draw(shops())
    index = rows(customers["customer_id"].tolist(), cut)
    builder = PurchaseHistoryFeatures(min_customers=5)
    before = _build(customers, activity, index, builder)
    later_customers, later_activity = _late_changes(hyp.draw, customers, activity, cut)
    after = _build(later_customers, later_activity, index, PurchaseHistoryFeatures(min_customers=5))
    _same(before, after)
    # and cutting the data at the cutoff changes nothing either
    data = EventData(customers, activity=activity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _same(before, build_features(data.cut(cut), index, [builder], fit=False))


@pytest.mark.slow
@SETTINGS
@given(shop_=shops())
def test_several_cutoffs_at_once_match_one_at_a_time(shop_):
    customers, activity, cut = shop_
    ids = customers["customer_id"].tolist()
    cutoffs = [cut - pd.Timedelta(days=200), cut]
    index = rows(ids, cutoffs[0]).append(rows(ids, cutoffs[1]))
    builder = PurchaseHistoryFeatures(min_customers=5)
    both = _build(customers, activity, index, builder)
    for c in cutoffs:
        mine = index[index.get_level_values("cutoff") == c]
        _same(both.loc[mine], _build(customers, activity, mine, builder, fit=False))
