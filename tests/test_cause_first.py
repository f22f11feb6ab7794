"""The first reason names the cause, on a generator whose causes act through falling usage.

``benchmarks/cause_first.py`` simulates a business unlike the sample's (see its docstring):
discounts that end, problem tickets left open, cards that fail and suspend the account and
onboardings that never took all show first as an activity decline, weeks before the
cancellation. The benchmark measures five seeds and the sample; this checks one small seed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "cause_first_benchmark", ROOT / "benchmarks" / "cause_first.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(bench):
    return bench.make_cause_data(3000, random_state=1)


def test_every_churner_has_a_recorded_cause_that_starts_before_it(bench, generated):
    data, truth = generated
    customers = data.customers.set_index("customer_id")
    churned = customers["churned_at"].notna()
    assert churned.mean() == pytest.approx(0.4, abs=0.1)
    assert truth.loc[churned, "driver"].notna().all()
    assert (truth.loc[churned, "driver_start"] <= customers.loc[churned, "churned_at"]).all()
    mix = truth.loc[churned, "driver"].value_counts(normalize=True)
    assert mix["fade"] < 0.1  # unexplained fading is rare here, unlike in the sample
    assert (customers["churn_type"] == "involuntary").sum() == (
        truth.loc[churned, "driver"] == "card"
    ).sum()


def test_causes_act_through_an_activity_decline(bench, generated):
    """Price, ticket and card churners use the product far less in their last weeks than a
    month before their story started; customers who stay do not."""
    data, truth = generated
    activity = data.activity
    churned_at = data.customers.set_index("customer_id")["churned_at"]

    def ratio(ids: pd.Index) -> float:
        events = activity[activity["customer_id"].isin(ids)]
        end = churned_at.reindex(events["customer_id"]).to_numpy()
        start = truth["driver_start"].reindex(events["customer_id"]).to_numpy()
        last = (events["timestamp"].to_numpy() >= end - np.timedelta64(14, "D")).sum()
        before = (
            (events["timestamp"].to_numpy() < start)
            & (events["timestamp"].to_numpy() >= start - np.timedelta64(14, "D"))
        ).sum()
        return last / max(before, 1)

    for driver in ("price", "tickets", "card"):
        ids = truth.index[(truth["driver"] == driver) & churned_at.reindex(truth.index).notna()]
        assert len(ids) >= 20
        assert ratio(ids) < 0.25, driver


@pytest.mark.slow
def test_first_reason_names_the_cause_in_the_top_decile(bench, generated):
    """Measured with the benchmark (five seeds): 84-95% at the default cause share, 72-78%
    when reasons are ordered by weight only. Required here, on seed 1: at least 85%."""
    data, truth = generated
    pipe, top = bench.scored_top_decile(data, truth, bench.CAUSE_AS_OF)
    assert len(top) >= 100
    hits = bench.first_reason_hits(pipe, top)
    assert hits["cause share 0.3"] >= 0.85, hits
    assert hits["cause share 0.3"] > hits["weight only"] + 0.1
    for driver in ("price", "tickets", "card"):
        assert hits["by driver"][driver] >= 0.8, hits["by driver"]
