"""The synthetic subscription business and the shipped sample.

The generator is documentation of the domain: these tests pin the story it tells (churn
rates, dunning before involuntary churn, a price rise, silence after cancellation) and that
every hidden driver leaves a trace *before* the churn it causes.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from churnpredict import EventData, datasets
from churnpredict.datasets import (
    DRIVER_GROUP,
    SAMPLE_AS_OF,
    SAMPLE_PARAMS,
    load_sample,
    make_subscription_data,
    sample_path,
)

DAY = pd.Timedelta(days=1)
EXPORT = pd.Timestamp("2024-12-31")
RISE = pd.Timestamp("2024-07-01")


@pytest.fixture(scope="module")
def small():
    """300 customers, seed 7: quick to make twice."""
    return make_subscription_data(n_customers=300, random_state=7, return_truth=True)


@pytest.fixture(scope="module")
def business():
    """The sample's story (3,000 customers over 2023-2024) with its hidden drivers."""
    return make_subscription_data(**SAMPLE_PARAMS, return_truth=True)


def tables_equal(a: EventData, b: EventData) -> None:
    for name in ("customers", "activity", "payments", "tickets"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def churned_before(frame: pd.DataFrame, customers: pd.DataFrame, column: str) -> pd.Series:
    """For every event row: is ``column`` at or after its customer's cancellation?"""
    churned_at = frame["customer_id"].map(customers.set_index("customer_id")["churned_at"])
    return frame[column] >= churned_at


# ------------------------------------------------------------------ contract
def test_same_seed_same_tables_other_seed_other_tables(small):
    again, truth = make_subscription_data(n_customers=300, random_state=7, return_truth=True)
    tables_equal(small[0], again)
    pd.testing.assert_frame_equal(small[1], truth)
    other = make_subscription_data(n_customers=300, random_state=8)
    assert not small[0].activity["timestamp"].equals(other.activity["timestamp"])


def test_generator_seed_is_accepted():
    a = make_subscription_data(n_customers=50, random_state=np.random.default_rng(3))
    b = make_subscription_data(n_customers=50, random_state=np.random.default_rng(3))
    tables_equal(a, b)


def test_returns_validated_event_data_with_documented_columns(small):
    data, _ = small
    assert isinstance(data, EventData)
    assert data.notes == []
    assert list(data.customers.columns) == [
        "customer_id",
        "signup_at",
        "churned_at",
        "churn_type",
        "plan",
        "channel",
        "mrr",
    ]
    assert list(data.activity.columns) == ["customer_id", "timestamp", "event", "value"]
    assert list(data.payments.columns) == ["customer_id", "timestamp", "amount", "status"]
    assert list(data.tickets.columns) == [
        "customer_id",
        "created_at",
        "resolved_at",
        "priority",
        "csat",
    ]
    assert data.customers["customer_id"].tolist() == list(range(1, 301))
    assert data.customers["signup_at"].is_monotonic_increasing  # ids in signup order
    assert set(data.activity["event"]) == {
        "login",
        "feature_use",
        "report_created",
        "export",
        "invite_sent",
    }
    assert set(data.payments["status"]) == {"succeeded", "failed", "refunded"}
    assert set(data.tickets["priority"]) == {"low", "normal", "high", "urgent"}
    assert set(data.tickets["csat"].dropna()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert (data.activity["value"] >= 0).all()


def test_all_times_fall_between_start_and_export(small):
    data, _ = small
    low, high = data.time_range
    assert low >= pd.Timestamp("2023-01-01") and high < EXPORT
    assert (data.tickets["resolved_at"].dropna() < EXPORT).all()


def test_activity_times_follow_a_working_week(business):
    """Weekdays are busier than weekends, afternoons (UTC) busier than nights."""
    stamps = business[0].activity["timestamp"]
    per_weekday = stamps.dt.day_of_week.value_counts(normalize=True)
    assert per_weekday[[0, 1, 2, 3]].min() > 1.4 * per_weekday[[5, 6]].max()
    per_hour = stamps.dt.hour.value_counts(normalize=True)
    assert per_hour[14] > 4 * per_hour[3]


# ------------------------------------------------------------------ the business
def test_monthly_churn_rate_is_realistic(business):
    """2-4% of the customers at the start of a month leave in it (price-rise months aside)."""
    c = business[0].customers
    rates = {}
    for month in pd.date_range("2023-07-01", "2024-12-01", freq="MS"):
        base = (c["signup_at"] < month) & ~(c["churned_at"] < month)
        lost = base & (c["churned_at"] < month + pd.DateOffset(months=1))
        rates[month] = lost.sum() / base.sum()
    rates = pd.Series(rates)
    usual = rates.drop([RISE, RISE + pd.DateOffset(months=1)])
    assert 0.02 <= usual.mean() <= 0.04
    assert usual.between(0.01, 0.06).all()
    assert rates[RISE + pd.DateOffset(months=1)] > usual.mean()


def test_signups_grow_over_the_period(business):
    per_year = business[0].customers["signup_at"].dt.year.value_counts()
    assert per_year[2024] > 1.4 * per_year[2023]


def test_no_events_after_cancellation(business):
    data, _ = business
    c = data.customers
    for name, column in (
        ("activity", "timestamp"),
        ("payments", "timestamp"),
        ("tickets", "created_at"),
        ("tickets", "resolved_at"),
    ):
        frame = getattr(data, name)
        assert not churned_before(frame, c, column).any(), (name, column)
        signup = frame["customer_id"].map(c.set_index("customer_id")["signup_at"])
        assert (frame[column].dropna() >= signup[frame[column].notna()]).all(), (name, column)


def test_involuntary_churners_fail_payments_before_they_go(business):
    """Dunning: failed charges, then cancellation 18-24 days after the first failure."""
    c = business[0].customers.set_index("customer_id")
    p = business[0].payments
    involuntary = c.index[c["churn_type"] == "involuntary"]
    assert len(involuntary) > 50
    failed = p[(p["status"] == "failed") & p["customer_id"].isin(involuntary)]
    churned_at = failed["customer_id"].map(c["churned_at"])
    recent = failed[
        (failed["timestamp"] < churned_at) & (failed["timestamp"] >= churned_at - 28 * DAY)
    ]
    attempts = recent.groupby("customer_id").size().reindex(involuntary, fill_value=0)
    assert (attempts >= 3).all()
    lead = (
        churned_at.groupby(failed["customer_id"]).max()
        - failed.groupby("customer_id")["timestamp"].max()
    )
    assert (lead > 0 * DAY).all()


def test_recovered_card_failures_are_common_too(business):
    """Most failed charges are recovered by a retry: failures alone do not mean churn."""
    c = business[0].customers.set_index("customer_id")
    p = business[0].payments
    failing = p.loc[p["status"] == "failed", "customer_id"].unique()
    still_here = c.loc[failing, "churn_type"].ne("involuntary")
    assert still_here.mean() > 0.4


def test_price_rise_charges_pro_15_percent_more_and_some_leave(business):
    data, truth = business
    p = data.payments.merge(data.customers[["customer_id", "plan"]], on="customer_id")
    paid = p[p["status"] == "succeeded"]
    pro = paid[paid["plan"] == "pro"]
    assert set(pro.loc[pro["timestamp"] < RISE, "amount"]) == {79.0}
    # invoices from the rise on (retries of older invoices keep their amount)
    assert set(pro.loc[pro["timestamp"] >= RISE + 15 * DAY, "amount"]) == {90.85}
    basic = paid[paid["plan"] == "basic"]
    assert set(basic["amount"]) == {29.0}
    c = data.customers
    pro_churn = c[(c["plan"] == "pro") & (c["churn_type"] == "voluntary")]["churned_at"]
    after = pro_churn.between(RISE, RISE + 60 * DAY).sum()
    before = pro_churn.between(RISE - 60 * DAY, RISE).sum()
    assert after > 2 * before
    price = truth[truth["driver"] == "price"]
    assert len(price) > 20
    assert (c.set_index("customer_id").loc[price.index, "plan"] == "pro").all()
    assert (price["driver_start"] >= RISE).all()


def test_no_price_rise_when_disabled():
    data, truth = make_subscription_data(
        n_customers=300, random_state=7, price_rise_at=None, return_truth=True
    )
    pro = data.payments.merge(data.customers[["customer_id", "plan"]], on="customer_id")
    assert set(pro.loc[pro["plan"] == "pro", "amount"]) == {79.0}
    assert "price" not in set(truth["driver"].dropna())


def test_mrr_is_a_snapshot_at_export_not_point_in_time(business):
    """A leak trap: pro customers who left before the rise still show the raised price."""
    c = business[0].customers
    assert c.groupby("plan", observed=True)["mrr"].unique().map(list).to_dict() == {
        "basic": [29.0],
        "pro": [90.85],
        "business": [249.0],
    }
    assert ((c["plan"] == "pro") & (c["churned_at"] < RISE)).any()


def test_events_per_day_scales_activity_only(small):
    data, _ = small
    half = make_subscription_data(n_customers=300, random_state=7, events_per_day=0.5)
    for name in ("customers", "payments", "tickets"):
        pd.testing.assert_frame_equal(getattr(data, name), getattr(half, name))
    assert 0.4 < len(half.activity) / len(data.activity) < 0.6
    none = make_subscription_data(n_customers=300, random_state=7, events_per_day=0)
    assert none.activity is None and none.payments is not None


def test_churn_scale_raises_churn():
    calm = make_subscription_data(n_customers=500, random_state=7, events_per_day=0.1)
    rough = make_subscription_data(
        n_customers=500, random_state=7, events_per_day=0.1, churn_scale=2.0
    )
    assert rough.customers["churned_at"].notna().sum() > (
        1.5 * calm.customers["churned_at"].notna().sum()
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_customers": 0}, r"n_customers=0; expected a positive integer"),
        ({"n_customers": 2.5}, r"n_customers=2.5"),
        ({"start": "2024-01-01", "end": "2023-01-01"}, r"end=2023-01-01 .* is not after start"),
        ({"start": "soon"}, r"start='soon' is not a date; give e.g. '2024-06-30'"),
        ({"events_per_day": -1}, r"events_per_day=-1; expected a number >= 0"),
        ({"churn_scale": float("nan")}, r"churn_scale=nan"),
        ({"growth": 0}, r"growth=0; expected a number > 0"),
        ({"price_rise_plan": "gold"}, r"price_rise_plan='gold'; expected one of \['basic'"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_subscription_data(**kwargs)


# ------------------------------------------------------------------ the hidden drivers
def test_truth_aligns_with_customers(business):
    data, truth = business
    c = data.customers.set_index("customer_id")
    assert truth.index.equals(c.index)
    assert list(truth.columns) == ["driver", "driver_start", "churn_at", "group"]
    churned = c["churned_at"].notna()
    assert truth.loc[churned, "driver"].notna().all()
    pd.testing.assert_series_equal(
        truth.loc[churned, "churn_at"], c.loc[churned, "churned_at"], check_names=False
    )
    involuntary = c.loc[churned, "churn_type"] == "involuntary"
    assert (involuntary == (truth.loc[churned, "driver"] == "payments")).all()
    has = truth["driver"].notna()
    assert (truth.loc[has, "driver_start"] <= truth.loc[has, "churn_at"]).all()
    assert (truth.loc[has, "driver_start"] < EXPORT).all()
    assert (truth.loc[has & ~churned, "churn_at"] >= EXPORT).all()  # about to churn
    assert truth.loc[~has, ["driver_start", "churn_at"]].isna().all().all()
    expected = truth.loc[has, "driver"].astype(str).map(DRIVER_GROUP).fillna("none")
    assert (truth.loc[has, "group"].astype(object).fillna("none") == expected).all()
    counts = truth.loc[churned, "driver"].value_counts()
    assert set(counts[counts >= 30].index) == set(DRIVER_GROUP)


def test_engagement_churners_fade_weeks_before_they_leave(business):
    """Activity in the 4 weeks before (churn - 2 weeks) is far below the 4 weeks before that."""
    data, truth = business
    c = data.customers.set_index("customer_id")
    ids = truth.index[
        (truth["driver"] == "engagement")
        & c["churned_at"].notna()
        & (c["churned_at"] - c["signup_at"] > 120 * DAY)
    ]
    a = data.activity[data.activity["customer_id"].isin(ids)]
    cut = a["customer_id"].map(c["churned_at"]) - 14 * DAY
    recent = (
        ((a["timestamp"] < cut) & (a["timestamp"] >= cut - 28 * DAY))
        .groupby(a["customer_id"])
        .sum()
    )
    before = (
        ((a["timestamp"] < cut - 28 * DAY) & (a["timestamp"] >= cut - 56 * DAY))
        .groupby(a["customer_id"])
        .sum()
    )
    assert len(ids) > 50
    assert recent.sum() < 0.6 * before.sum()
    assert (truth.loc[ids, "churn_at"] - truth.loc[ids, "driver_start"] >= 28 * DAY).all()


def test_support_churners_show_a_ticket_backlog_before_they_leave(business):
    """Weeks before the churn: several tickets, slow or open, rated worse than usual."""
    data, truth = business
    c = data.customers.set_index("customer_id")
    t = data.tickets
    support = truth.index[(truth["driver"] == "support") & c["churned_at"].notna()]
    others = truth.index[
        truth["driver"].isin(["engagement", "price", "other"]) & c["churned_at"].notna()
    ]

    def before_churn(ids):
        rows = t[t["customer_id"].isin(ids)]
        churned_at = rows["customer_id"].map(c["churned_at"])
        window = (rows["created_at"] < churned_at - 14 * DAY) & (
            rows["created_at"] >= churned_at - 70 * DAY
        )
        return rows[window]

    mine, theirs = before_churn(support), before_churn(others)
    assert len(mine) / len(support) > 5 * len(theirs) / len(others)
    assert mine["csat"].mean() < 2.5 < theirs["csat"].mean()
    slow = (mine["resolved_at"] - mine["created_at"]).fillna(pd.Timedelta.max) > 2 * DAY
    assert slow.mean() > 0.5


def test_onboarding_churners_leave_within_weeks_of_signup(business):
    data, truth = business
    c = data.customers.set_index("customer_id")
    ids = truth.index[truth["driver"] == "onboarding"]
    tenure = (c.loc[ids, "churned_at"] - c.loc[ids, "signup_at"]).dropna()
    assert len(tenure) > 50 and (tenure <= 40 * DAY).all()
    assert (truth.loc[ids, "driver_start"] == c.loc[ids, "signup_at"]).all()


# ------------------------------------------------------------------ the shipped sample
def test_load_sample_is_the_documented_generator_output(business):
    sample = load_sample()
    assert isinstance(sample, EventData)
    made = business[0]
    for name in ("customers", "activity", "payments", "tickets"):
        ours, theirs = getattr(sample, name), getattr(made, name)
        assert list(ours.columns) == list(theirs.columns), name
        for column in ours.columns:
            a, b = ours[column], theirs[column]
            if isinstance(b.dtype, pd.CategoricalDtype) or b.dtype == object:
                a, b = (
                    a.astype(object).where(a.notna(), None),
                    b.astype(object).where(b.notna(), None),
                )
            pd.testing.assert_series_equal(a, b, check_dtype=False, obj=f"{name}.{column}")


def test_sample_files_are_small_and_documented():
    folder = sample_path()
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "README.md",
        "activity.parquet",
        "customers.parquet",
        "payments.parquet",
        "tickets.parquet",
    ]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5_000_000
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "python benchmarks/make_sample.py" in readme
    assert f"random_state={SAMPLE_PARAMS['random_state']}" in readme


def test_sample_ends_before_its_as_of_date():
    low, high = load_sample().time_range
    assert low >= pd.Timestamp(SAMPLE_PARAMS["start"]) and high < SAMPLE_AS_OF
    assert SAMPLE_AS_OF == pd.Timestamp("2024-12-31")


def test_sample_path_copies_out_of_a_zip(tmp_path, monkeypatch):
    """Imported from a zip file, the sample is copied to a real folder for the CLI."""
    archive = tmp_path / "churnpredict.zip"
    source = sample_path()
    with zipfile.ZipFile(archive, "w") as zf:
        for item in source.iterdir():
            zf.write(item, f"churnpredict/_sample/{item.name}")
    monkeypatch.setattr(
        datasets.importlib.resources,
        "files",
        lambda package: zipfile.Path(archive, "churnpredict/"),
    )
    folder = sample_path.__wrapped__()
    assert folder.is_dir() and folder != source
    assert (folder / "customers.parquet").read_bytes() == (
        source / "customers.parquet"
    ).read_bytes()
    assert len(EventData.from_directory(folder).customers) == SAMPLE_PARAMS["n_customers"]
