"""Metrics, lift, the recency baseline, the time-ordered comparison and the profit curve."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from churnpredict._evaluate import (
    churn_type_metrics,
    classification_metrics,
    lift_table,
    optimal_list_size,
    profit_curve,
    recency_rule,
    time_ordered_evaluation,
)
from churnpredict._exceptions import ChurnDataError, ChurnModelError
from churnpredict._model import ChurnModel
from churnpredict._pipeline import ChurnPipeline
from churnpredict.datasets import make_subscription_data


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


# ---------------------------------------------------------------- metrics
def test_classification_metrics_by_hand():
    """Four customers; the riskiest (0.8) churned, the second churner is ranked third.

    AUC: 3 of the 4 (churner, stayer) pairs are ordered right. Brier: mean of
    0.01, 0.16, 0.4225, 0.04. Top decile = the first row (churned) -> lift 1 / 0.5 = 2.
    """
    m = classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["n"] == 4 and m["n_churned"] == 2 and m["base_rate"] == 0.5
    assert m["auc"] == 0.75
    assert m["average_precision"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["brier"] == pytest.approx(0.158125)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))
    assert m["top_decile_lift"] == 2.0


def test_metrics_of_raw_scores_and_single_class():
    m = classification_metrics([0, 1, 0], [3.0, 40.0, 7.0], probability=False)
    assert m["auc"] == 1.0 and math.isnan(m["brier"]) and math.isnan(m["log_loss"])
    one = classification_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(one["auc"]) and math.isnan(one["average_precision"])
    assert math.isnan(one["top_decile_lift"]) and one["brier"] == pytest.approx(0.14 / 3)


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 2, 1], [0.1, 0.2, 0.3], r"0/1 churn outcomes; found values \['0', '1', '2'\]"),
        ([0, 1, 1], [0.1, 0.2], r"proba has shape \(2,\); expected \(3,\)"),
        ([0, 1, 1], [0.1, 0.2, 1.5], r"proba must lie in \[0, 1\]"),
        ([0, 1, 1], [0.1, np.nan, 0.5], "proba has 1 missing scores"),
    ],
)
def test_metric_input_errors(y, p, match):
    with pytest.raises(ChurnModelError, match=match):
        classification_metrics(y, p)


def test_lift_table_by_hand():
    """Ten customers, three churners at ranks 1, 2 and 6; three bands of 4, 3 and 3 rows."""
    y = [1, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    score = np.linspace(0.9, 0.0, 10)
    table = lift_table(y, score, bins=3)
    assert table["n"].tolist() == [4, 3, 3]
    assert table["n_churned"].tolist() == [2, 1, 0]
    assert table["lift"].tolist() == pytest.approx([0.5 / 0.3, (1 / 3) / 0.3, 0.0])
    assert table["cumulative_capture"].tolist() == pytest.approx([2 / 3, 1.0, 1.0])
    assert table["cumulative_lift"].iloc[-1] == pytest.approx(1.0)
    assert table["mean_score"].iloc[0] == pytest.approx(np.mean(score[:4]))
    assert table.index.name == "band" and table.index.tolist() == [1, 2, 3]


def test_lift_table_more_bins_than_rows():
    assert len(lift_table([1, 0], [0.9, 0.1], bins=10)) == 2
    with pytest.raises(ChurnModelError, match="bins=0"):
        lift_table([1, 0], [0.9, 0.1], bins=0)


def test_recency_rule():
    """Never-active customers (NaN) are treated as the most idle."""
    X = pd.DataFrame(
        {
            "events_30d": [5.0, 0.0, 2.0],
            "days_since_last_login": [1.0, 9.0, np.nan],
            "days_since_last_activity": [2.0, 30.0, np.nan],
        },
        index=pd.Index([10, 11, 12], name="customer_id"),
    )
    score = recency_rule(X)
    assert score.tolist() == [2.0, 30.0, 31.0]
    assert score.index.equals(X.index)
    assert recency_rule(X, "days_since_last_login").tolist() == [1.0, 9.0, 10.0]
    assert recency_rule(X.drop(columns="days_since_last_activity")).tolist() == [1.0, 9.0, 10.0]
    with pytest.raises(ChurnDataError, match="no recency column"):
        recency_rule(X[["events_30d"]])
    with pytest.raises(ChurnDataError, match="column 'idle' not found"):
        recency_rule(X, "idle")


def test_churn_type_metrics_by_hand():
    """Six customers: a voluntary churner ranked 1st, an involuntary one ranked 4th."""
    y = [1, 0, 0, 1, 0, 0]
    score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    types = ["voluntary", None, None, "involuntary", None, None]
    m = churn_type_metrics(y, score, types)
    assert m["auc_voluntary"] == 1.0 and m["top_decile_recall_voluntary"] == 1.0
    assert m["auc_involuntary"] == 0.5 and m["top_decile_recall_involuntary"] == 0.0
    assert m["n_voluntary"] == m["n_involuntary"] == 1
    none = churn_type_metrics([1, 0], [0.9, 0.1], ["voluntary", None])
    assert none["n_involuntary"] == 0 and math.isnan(none["auc_involuntary"])


# ---------------------------------------------------------------- profit
def test_profit_curve_by_hand():
    """Three customers worth 100 a month, contact 20, half of the would-be churners saved.

    Expected saving of each: 0.9*0.5*100 = 45, 25, 5; profit after k contacts:
    0, 45-20 = 25, 25+25-20 = 30, 30+5-20 = 15 -> contact the top 2.
    """
    curve = profit_curve(
        [0.5, 0.9, 0.1], [100, 100, 100], horizon_months=1, contact_cost=20, save_rate=0.5
    )
    assert curve.index.tolist() == [0, 1, 2, 3]
    assert curve["expected_profit"].tolist() == pytest.approx([0, 25, 30, 15])
    assert curve["min_probability"].iloc[1:].tolist() == [0.9, 0.5, 0.1]
    assert curve["cost"].tolist() == [0, 20, 40, 60]
    assert optimal_list_size(curve) == curve.attrs["optimal_list_size"] == 2


def test_profit_curve_ranking_by_value_and_unknown_mrr():
    """A 10%-risk customer worth 1,000 a month beats a 50%-risk one worth 10."""
    p, mrr = [0.5, 0.1, 0.3], [10.0, 1000.0, np.nan]
    by_value = profit_curve(
        p, mrr, horizon_months=3, contact_cost=5, save_rate=1.0, rank_by="expected_value"
    )
    assert by_value["expected_saved_revenue"].tolist() == pytest.approx([0, 300, 315, 315])
    assert optimal_list_size(by_value) == 2
    by_risk = profit_curve(p, mrr, horizon_months=3, contact_cost=5, save_rate=1.0)
    assert by_risk["expected_saved_revenue"].tolist() == pytest.approx([0, 15, 15, 315])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"save_rate": 1.5}, r"save_rate=1.5; expected a share in \[0, 1\]"),
        ({"contact_cost": -1}, "contact_cost=-1 must be >= 0"),
        ({"rank_by": "mrr"}, "rank_by='mrr'"),
    ],
)
def test_profit_curve_errors(kwargs, match):
    args = {"horizon_months": 1, "contact_cost": 1, "save_rate": 0.2, **kwargs}
    with pytest.raises(ChurnModelError, match=match):
        profit_curve([0.2, 0.4], [10, 20], **args)


# ---------------------------------------------------------------- time-ordered comparison
@pytest.fixture(scope="module")
def comparison():
    """Train on what was known at 2024-11-30, test on the population at that date.

    1,200 simulated subscribers (see churnpredict.datasets); about 3% churn in 28 days.
    """
    data = make_subscription_data(n_customers=1200, random_state=5)
    return time_ordered_evaluation(
        data, "2024-11-30", "28D", pipeline=ChurnPipeline(model=ChurnModel(n_jobs=1))
    )


def test_churn_model_beats_the_baselines(comparison):
    assert comparison.index.tolist() == ["ChurnModel", "LogisticBaseline", "recency rule"]
    auc = comparison["auc"]
    assert auc["ChurnModel"] > 0.8
    assert auc["ChurnModel"] > auc["recency rule"] + 0.1
    assert (
        comparison.loc["ChurnModel", "average_precision"]
        > (comparison.loc["recency rule", "average_precision"])
    )
    assert comparison.loc["ChurnModel", "top_decile_lift"] > 3


def test_comparison_is_time_ordered(comparison):
    attrs = comparison.attrs
    assert attrs["as_of"] == pd.Timestamp("2024-11-30")
    assert max(attrs["train_cutoffs"]) + attrs["horizon"] <= attrs["as_of"]
    assert (comparison["n"] == comparison["n"].iloc[0]).all()


def test_comparison_by_churn_type(comparison):
    cols = {
        "auc_voluntary",
        "auc_involuntary",
        "top_decile_recall_voluntary",
        "top_decile_recall_involuntary",
    }
    assert cols <= set(comparison.columns)
    row = comparison.loc["ChurnModel"]
    assert row["n_voluntary"] + row["n_involuntary"] == row["n_churned"]
    # failed payments announce involuntary churn; idleness alone does not
    assert row["auc_involuntary"] > comparison.loc["recency rule", "auc_involuntary"]
    assert math.isnan(comparison.loc["recency rule", "brier"])


@pytest.mark.slow
def test_bundled_sample_time_ordered_evaluation():
    """On the bundled sample: train as of 2024-11-30, test on the next 28 days.

    The model must beat chance clearly and beat both the logistic baseline and the
    recency rule on AUC and average precision.
    """
    from churnpredict.datasets import load_sample

    table = time_ordered_evaluation(
        load_sample(), "2024-11-30", "28D", pipeline=ChurnPipeline(model=ChurnModel(n_jobs=1))
    )
    print(table[["auc", "average_precision", "top_decile_lift", "brier"]].round(3))
    model, logistic, recency = (
        table.loc[name] for name in ("ChurnModel", "LogisticBaseline", "recency rule")
    )
    assert model["auc"] > 0.8 and model["top_decile_lift"] > 3
    assert model["auc"] > logistic["auc"] and model["auc"] > recency["auc"]
    assert model["average_precision"] > max(
        logistic["average_precision"], recency["average_precision"]
    )
    base_rate = model["n_churned"] / model["n"]
    assert model["brier"] < base_rate * (1 - base_rate)  # better than predicting the base rate
