"""Tenure and profile features on tiny hand-built tables."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from churnpredict._data import EventData
from churnpredict._exceptions import ChurnDataError, DataQualityWarning, LeakageWarning
from churnpredict.features import ProfileFeatures, TenureFeatures, build_features

CUTOFF = pd.Timestamp("2024-04-01")


def rows_at(ids, cutoff=CUTOFF) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [pd.Index(ids), pd.DatetimeIndex([pd.Timestamp(cutoff)] * len(ids))],
        names=["customer_id", "cutoff"],
    )


@pytest.fixture
def shop() -> EventData:
    """Four customers of a subscription shop, seen at 2024-04-01.

    ann has been a customer since 1 Jan (91 days), bob since 2 Mar 12:00 (29.5 days, still
    onboarding), cat since exactly 30 days (no longer new), and dan signs up after the cutoff.
    Their plans, seats, a yes/no flag, a text column holding numbers and an e-mail column
    describe them; ``region`` is the same for everyone and ``notes`` is always empty.
    The ``mrr`` column is a snapshot from the export.
    """
    customers = pd.DataFrame(
        {
            "customer_id": ["ann", "bob", "cat", "dan"],
            "signup_at": ["2024-01-01", "2024-03-02 12:00", "2024-03-02", "2024-05-01"],
            "churned_at": [None, None, "2024-04-10", None],
            "plan": ["pro", "basic", "pro", " team "],
            "seats": [5, 1, 3, 2],
            "annual": [True, False, True, False],
            "total_charges": ["100.5", " ", "20", "7"],
            "region": ["eu", "eu", "eu", "eu"],
            "notes": [None, None, None, None],
            "mrr": [50.0, 10.0, 0.0, 20.0],
        }
    )
    activity = pd.DataFrame({"customer_id": ["ann"], "timestamp": ["2024-03-01"]})
    return EventData(customers, activity=activity)


# ---------------------------------------------------------------------------------- tenure
def test_tenure_days_and_onboarding(shop):
    out = TenureFeatures().fit(shop).build(shop, rows_at(["ann", "bob", "cat", "dan"]))
    assert out["tenure_days"].tolist()[:3] == [91.0, 29.5, 30.0]
    assert np.isnan(out["tenure_days"].iloc[3])  # signs up after the cutoff
    assert out["is_new"].tolist()[:3] == [0.0, 1.0, 0.0]
    assert np.isnan(out["is_new"].iloc[3])
    assert (out.dtypes == np.float64).all()


def test_tenure_onboarding_days_and_descriptions(shop):
    builder = TenureFeatures(onboarding_days=31).fit(shop)
    out = builder.build(shop, rows_at(["cat"]))
    assert out["is_new"].iloc[0] == 1.0
    info = {i.name: i for i in builder.feature_info()}
    assert info["tenure_days"].describe(91.0) == "customer for 3 months"
    assert info["is_new"].describe(1.0) == "new customer, in the first 31 days after signup"
    assert info["is_new"].describe(0.0) == "past the first 31 days after signup"
    assert {i.group for i in info.values()} == {"tenure"}


def test_tenure_at_the_population_cutoffs(shop):
    X = build_features(
        shop, pd.to_datetime(["2024-03-02 06:00", "2024-04-01 00:00"]), [TenureFeatures()]
    )
    # at 06:00 on 2 Mar only ann and cat (signed up at midnight) are customers
    assert X.loc[("cat", pd.Timestamp("2024-03-02 06:00")), "tenure_days"] == 0.25
    assert len(X) == 5


def test_tenure_on_a_snapshot_table():
    """A snapshot exported on 2024-06-30 with signup dates; one signup is after the export."""
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "signup_at": ["2024-06-01", "2023-06-30", "2024-07-05"],
            "churn": ["yes", "no", "no"],
        }
    )
    data = EventData(customers, label_column="churn", snapshot_at="2024-06-30")
    builder = TenureFeatures()
    assert builder.applies_to(data)
    with pytest.warns(DataQualityWarning, match="1 of 3 customers"):
        builder.fit(data)
    out = builder.build(data, ["2024-06-30"])
    assert out["tenure_days"].tolist()[:2] == [29.0, 366.0]
    assert np.isnan(out["tenure_days"].iloc[2])


def test_tenure_skipped_without_signup():
    data = EventData(pd.DataFrame({"customer_id": [1, 2], "churn": [0, 1]}), label_column="churn")
    assert not TenureFeatures().applies_to(data)
    with pytest.raises(ChurnDataError, match="needs customers.signup_at"):
        TenureFeatures().fit(data)


@pytest.mark.parametrize("days", [0, -3, float("nan"), "30", True])
def test_tenure_bad_onboarding_days(shop, days):
    with pytest.raises(ValueError, match="onboarding_days=.*positive number"):
        TenureFeatures(onboarding_days=days).fit(shop)


# ---------------------------------------------------------------------------------- profile
def fit_profile(data, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        return ProfileFeatures(**params).fit(data)


def test_profile_auto_columns_and_types(shop, caplog):
    with caplog.at_level(logging.INFO, logger="churnpredict"):
        with pytest.warns(LeakageWarning, match=r"customers\.mrr changes over time"):
            builder = ProfileFeatures().fit(shop)
    out = builder.build(shop, rows_at(["ann", "bob", "cat"]))
    assert builder.columns_ == ["plan", "seats", "annual", "total_charges", "mrr"]
    assert list(out.columns) == builder.columns_ == list(builder.get_feature_names_out())
    assert builder.kinds_ == {
        "plan": "categorical",
        "seats": "numeric",
        "annual": "bool",
        "total_charges": "numeric_text",
        "mrr": "numeric",
    }
    assert set(builder.dropped_) == {"region", "notes"}
    assert "constant" in builder.dropped_["region"]
    assert "entirely missing" in builder.dropped_["notes"]
    assert "customers.region not used" in caplog.text
    assert isinstance(out["plan"].dtype, pd.CategoricalDtype)
    assert list(out["plan"].cat.categories) == ["basic", "pro", "team"]  # " team " stripped
    assert out["plan"].tolist() == ["pro", "basic", "pro"]
    assert out["seats"].tolist() == [5.0, 1.0, 3.0]
    assert out["annual"].tolist() == [1.0, 0.0, 1.0]
    assert out["total_charges"].iloc[0] == 100.5 and np.isnan(out["total_charges"].iloc[1])
    assert (out.drop(columns="plan").dtypes == np.float64).all()
    assert builder.leaky_columns_ == ["mrr"]


def test_profile_descriptions(shop):
    builder = fit_profile(shop)
    info = {i.name: i for i in builder.feature_info()}
    assert info["plan"].describe("pro") == "plan is pro"
    assert info["total_charges"].describe(1234.5) == "total charges is 1,234.5"
    assert info["annual"].describe(1.0) == "annual: yes"
    assert info["annual"].describe(0.0) == "annual: no"
    assert {i.group for i in info.values()} == {"profile"}


def test_mrr_dropped_when_payments_give_it_point_in_time(shop):
    payments = pd.DataFrame(
        {
            "customer_id": ["ann"],
            "timestamp": ["2024-03-01"],
            "amount": [50.0],
            "status": ["succeeded"],
        }
    )
    data = EventData(shop.customers, activity=shop.activity, payments=payments)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        builder = ProfileFeatures().fit(data)
    assert "mrr" not in builder.columns_
    assert "point-in-time" in builder.dropped_["mrr"]
    assert builder.leaky_columns_ == []


def test_unseen_and_rare_categories():
    """Plans: 'pro' three times, 'basic' twice, 'team' and 'edu' once; max_categories=3.

    The two most frequent plans are kept and the rest become 'other'. At build time a new
    plan, 'gov', was never seen: it is missing, not 'other'.
    """
    customers = pd.DataFrame(
        {
            "customer_id": range(7),
            "signup_at": ["2024-01-01"] * 7,
            "plan": ["pro", "pro", "pro", "basic", "basic", "team", "edu"],
        }
    )
    activity = pd.DataFrame({"customer_id": [0], "timestamp": ["2024-02-01"]})
    data = EventData(customers, activity=activity)
    builder = ProfileFeatures(max_categories=3).fit(data)
    assert builder.categories_["plan"] == ["basic", "pro", "other"]
    assert builder.other_values_["plan"] == ["edu", "team"]
    later = customers.assign(plan=["pro", "gov", "pro", "basic", "basic", "team", "edu"])
    scored = EventData(later, activity=activity)
    out = builder.build(scored, rows_at(range(7)))
    assert out["plan"].astype(object).where(out["plan"].notna(), None).tolist() == [
        "pro",
        None,
        "pro",
        "basic",
        "basic",
        "other",
        "other",
    ]
    assert list(out["plan"].cat.categories) == ["basic", "pro", "other"]


def test_identifier_columns_are_dropped(caplog):
    """25 customers each with their own e-mail address: an identifier, not a feature."""
    n = 25
    customers = pd.DataFrame(
        {
            "customer_id": range(n),
            "signup_at": ["2024-01-01"] * n,
            "email": [f"user{i}@example.com" for i in range(n)],
            "size": ["small", "large"] * 12 + ["small"],
        }
    )
    data = EventData(
        customers, activity=pd.DataFrame({"customer_id": [0], "timestamp": ["2024-02-01"]})
    )
    with caplog.at_level(logging.INFO, logger="churnpredict"):
        builder = ProfileFeatures().fit(data)
    assert builder.columns_ == ["size"]
    assert "identifier" in builder.dropped_["email"]
    assert "customers.email not used" in caplog.text


def test_learns_from_the_rows_customers_only(shop):
    """Fitted on ann and cat only, plan has one value (pro) there: a constant column."""
    builder = fit_profile(shop, columns=["plan", "seats"])
    assert builder.columns_ == ["plan", "seats"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        sub = ProfileFeatures(columns=["plan", "seats"]).fit(shop, rows_at(["ann", "cat"]))
    assert sub.columns_ == ["seats"] and "constant" in sub.dropped_["plan"]


def test_explicit_columns_and_exclude(shop):
    builder = fit_profile(shop, columns=["seats", "plan", "mrr"], exclude=["mrr"])
    assert builder.columns_ == ["seats", "plan"]
    auto = fit_profile(shop, exclude=["plan", "mrr"])
    assert "plan" not in auto.columns_ and "mrr" not in auto.columns_
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        ProfileFeatures(time_varying=None, exclude=["mrr"]).fit(shop)


def test_missing_columns_raise(shop):
    with pytest.raises(ChurnDataError, match=r"names \['size'\] but customers has no such"):
        ProfileFeatures(columns=["plan", "size"]).fit(shop)
    with pytest.raises(ChurnDataError, match="customer id and the label cannot be features"):
        ProfileFeatures(columns=["customer_id"]).fit(shop)
    builder = fit_profile(shop, columns=["plan"])
    scored = EventData(shop.customers.drop(columns="plan"), activity=shop.activity)
    with pytest.raises(ChurnDataError, match=r"missing column\(s\) \['plan'\]"):
        builder.build(scored, rows_at(["ann"]))


def test_snapshot_table_uses_every_non_label_column():
    """A Telco-like snapshot: the label column and the id are not features, mrr is kept quietly."""
    customers = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "Contract": ["Month-to-month", "Two year", "One year"],
            "tenure": [1, 34, 2],
            "mrr": [29.85, 56.95, 53.85],
            "Churn": ["No", "No", "Yes"],
        }
    )
    data = EventData(customers, columns={"customers": {"id": "customer_id"}}, label_column="Churn")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        X = build_features(data, None, [ProfileFeatures(), TenureFeatures()])
    assert list(X.columns) == ["Contract", "tenure", "mrr"]
    assert X["tenure"].tolist() == [1.0, 34.0, 2.0]
    with pytest.raises(ChurnDataError, match="label cannot be features"):
        ProfileFeatures(columns=["Churn"]).fit(data)


def test_profile_build_before_fit(shop):
    with pytest.raises(NotFittedError):
        ProfileFeatures().build(shop, rows_at(["ann"]))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"columns": "all"}, "columns='all'; expected 'auto'"),
        ({"columns": [1]}, "expected .*a list of column names"),
        ({"exclude": "mrr"}, "exclude='mrr'; expected a list"),
        ({"time_varying": "mrr"}, "time_varying='mrr'; expected a list"),
        ({"max_categories": 1}, "max_categories=1; expected an integer >= 2"),
    ],
)
def test_profile_bad_parameters(shop, params, message):
    with pytest.raises(ValueError, match=message):
        ProfileFeatures(**params).fit(shop)
