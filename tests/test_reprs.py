"""Notebook displays: EventData and Evaluation as HTML, with every value escaped."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from churnpredict import DataQualityWarning, EventData
from churnpredict._model_metrics import Evaluation, lift_table

SCRIPT = "<script>alert(1)</script>"


def cells(html: str, row: str) -> list[str]:
    """The data cells of the table row whose header cell is ``row`` (escaped text)."""
    match = re.search(rf"<tr>\s*<th>{re.escape(row)}</th>(.*?)</tr>", html, re.S)
    assert match, f"no row {row!r} in\n{html}"
    return re.findall(r"<td>(.*?)</td>", match.group(1), re.S)


@pytest.fixture
def data():
    """Three customers (one id holding a script, one column name holding markup), two of
    them with activity in March, one payment each for two of them, no tickets; one event
    belongs to a customer not in the customers table (its id holds markup too)."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", SCRIPT, "c"],
            "signup_at": ["2024-01-01", "2024-01-15", "2024-02-01"],
            "churned_at": [None, "2024-04-10", None],
            "plan": ["basic", "pro", "basic"],
            "<b>region</b>": ["north", "<i>south</i>", "east"],
        }
    )
    activity = pd.DataFrame(
        {
            "customer_id": ["a", "a", SCRIPT, "<img src=x onerror=alert(2)>"],
            "timestamp": ["2024-03-01", "2024-03-05 12:00", "2024-03-02", "2024-03-03"],
        }
    )
    payments = pd.DataFrame(
        {
            "customer_id": ["a", "c"],
            "timestamp": ["2024-02-01", "2024-02-20"],
            "amount": [10.0, 12.5],
            "status": ["succeeded", "failed"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return EventData(customers, activity=activity, payments=payments)


def test_event_data_summary_counts_rows_customers_times_and_columns(data):
    summary = data.summary
    assert list(summary.index) == ["customers", "activity", "payments"]
    assert summary["rows"].tolist() == [3, 3, 2]  # the unknown customer's event is dropped
    assert summary["customers"].tolist() == [3, 2, 2]
    assert summary.loc["customers", "first"] == pd.Timestamp("2024-01-01")
    assert summary.loc["customers", "last"] == pd.Timestamp("2024-02-01")
    assert summary.loc["activity", "last"] == pd.Timestamp("2024-03-05 12:00")
    assert summary.loc["customers", "optional_columns"] == "churned_at, plan"
    assert summary.loc["activity", "optional_columns"] == ""
    assert summary.loc["customers", "other_columns"] == "<b>region</b>"


def test_event_data_html_shows_the_tables_and_escapes_everything(data):
    html = data._repr_html_()
    assert "<script" not in html and "<img" not in html and "<b>region" not in html
    assert "&lt;b&gt;region&lt;/b&gt;" in html  # column name, escaped
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # unknown id in the notes, escaped
    # the whole span, churned_at included
    assert "3 customers; 2024-01-01 00:00:00 .. 2024-04-10 00:00:00" in html
    # a column shows times of day when one of its values has one (activity's last event)
    assert cells(html, "customers") == [
        "3",
        "3",
        "2024-01-01",
        "2024-02-01 00:00:00",
        "churned_at, plan",
        "&lt;b&gt;region&lt;/b&gt;",
    ]
    assert cells(html, "activity") == ["3", "2", "2024-03-01", "2024-03-05 12:00:00", "", ""]
    assert cells(html, "payments")[:2] == ["2", "2"]
    assert "tickets" not in re.findall(r"<th>(\w+)</th>", html)
    assert "notes (2)" in html and "no tickets table" in html
    assert repr(data) == "EventData(customers=3, activity=3, payments=2)"  # plain repr stays


def test_event_data_html_of_a_large_table_groups_thousands():
    n = 12_345
    customers = pd.DataFrame({"customer_id": np.arange(n), "signup_at": pd.Timestamp("2024-01-01")})
    html = EventData(customers)._repr_html_()
    assert cells(html, "customers")[:2] == ["12,345", "12,345"]


def test_snapshot_html_names_the_label_column_escaped():
    """A snapshot table whose label column name holds markup."""
    customers = pd.DataFrame(
        {"customer_id": ["x", "y"], "<u>Exited</u>": [1, 0], "balance": [10.0, 0.0]}
    )
    data = EventData(customers, label_column="<u>Exited</u>")
    html = data._repr_html_()
    assert "<u>" not in html
    assert "snapshot with label column &#x27;&lt;u&gt;Exited&lt;/u&gt;&#x27;" in html
    assert cells(html, "customers") == ["2", "2", "", "", "", "&lt;u&gt;Exited&lt;/u&gt;, balance"]


def scores_frame():
    """Ten customers with hand-set scores: the three churners hold ranks 1, 2 and 6."""
    proba = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    churned = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0])
    ids = pd.Index([f"c{i}" for i in range(9)] + [SCRIPT], name="customer_id")
    return pd.DataFrame(
        {
            "churn_probability": proba,
            "mrr": 1.0,
            "churned": churned,
            "churn_type": [
                "voluntary",
                "involuntary",
                None,
                None,
                None,
                "voluntary",
                None,
                None,
                None,
                None,
            ],
        },
        index=ids,
    )


def test_evaluation_html_holds_the_metrics_and_the_lift_by_decile():
    ev = Evaluation.from_scores(pd.Timestamp("2024-05-01"), pd.Timedelta("28D"), scores_frame())
    html = ev._repr_html_()
    assert "as of 2024-05-01, horizon 28D" in html
    assert cells(html, "n") == ["10"]
    assert cells(html, "n_churned") == ["3"]
    assert cells(html, "base_rate") == ["0.300"]
    assert cells(html, "top_decile_lift") == [f"{1 / 0.3:.3f}"]  # 3.333
    assert cells(html, "auc") == [f"{ev.metrics['auc']:.3f}"]
    assert cells(html, "n_voluntary") == ["2"]
    assert cells(html, "n_involuntary") == ["1"]
    # the lift by decile: ten bands of one customer, the churners in bands 1, 2 and 6
    lift = lift_table(scores_frame()["churned"], scores_frame()["churn_probability"])
    assert cells(html, "1")[:3] == ["1", "1", "1.000"]
    assert cells(html, "3")[:3] == ["1", "0", "0.000"]
    assert cells(html, "6")[:3] == ["1", "1", "1.000"]
    assert cells(html, "10")[-2:] == ["1.000", "1.000"]  # all churners captured by band 10
    assert len(lift) == 10 and html.count("<th>10</th>") == 1
    assert "<script" not in html  # customer ids are not shown, and nothing is unescaped
    assert repr(ev).startswith("Evaluation(as_of=2024-05-01, n=10, churned=3")
    # calibration is always in view: mean predicted against observed churn
    mean = scores_frame()["churn_probability"].mean()
    assert repr(ev).endswith(f"mean_predicted={mean:.3f}, observed=0.300)")
    assert cells(html, "mean_predicted") == [f"{mean:.3f}"]
    assert "Mean predicted vs observed churn</strong>: mean predicted churn probability" in html


def test_evaluation_html_escapes_names_and_shows_missing_as_na():
    """Metrics and lift columns arriving with markup in their names are shown as text."""
    lift = pd.DataFrame({"<b>lift</b>": [np.nan, 1.5]}, index=pd.RangeIndex(1, 3, name="band"))
    ev = Evaluation(
        pd.Timestamp("2024-05-01 06:30"),
        None,
        pd.DataFrame(),
        {"n": 4, "<i>auc</i>": float("nan")},
        lift,
        {SCRIPT: 0.25},
    )
    html = ev._repr_html_()
    assert "<b>" not in html and "<i>" not in html and "<script" not in html
    assert "as of 2024-05-01 06:30:00<" in html and "horizon" not in html
    assert cells(html, "&lt;i&gt;auc&lt;/i&gt;") == ["n/a"]
    assert cells(html, "&lt;script&gt;alert(1)&lt;/script&gt;") == ["0.250"]
    assert "<th>&lt;b&gt;lift&lt;/b&gt;</th>" in html
    assert cells(html, "1") == ["n/a"] and cells(html, "2") == ["1.500"]


def test_pipeline_html_differs_once_fitted():
    import churnpredict as cp
    from churnpredict._model import ChurnModel

    data = cp.make_subscription_data(n_customers=300, random_state=3)
    pipe = cp.ChurnPipeline(model=ChurnModel(n_estimators=20, n_jobs=1), n_cutoffs=6)
    before = pipe._repr_html_()
    assert "not fitted" in before
    pipe.fit(data, "2024-11-30", progress=False)
    after = pipe._repr_html_()
    assert after != before and "not fitted" not in after
    for shown in (
        "as_of",
        "2024-11-30",
        "n_rows",
        f"{pipe.training_summary_['n_rows']}",
        "positive_rate",
        "business_reason",
    ):
        assert shown in after, shown
