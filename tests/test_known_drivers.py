"""On data generated with known churn drivers, the top reason names the right driver group."""

from __future__ import annotations

import pandas as pd
import pytest

import churnpredict as cp

AS_OF = pd.Timestamp("2024-12-31")


@pytest.fixture(scope="module")
def explained():
    """2,500 subscribers; the generator records why each churner is leaving (``truth``).

    Payment-driven churners have failed cards, support-driven ones a ticket backlog with low
    satisfaction, engagement-driven ones fading activity, all starting before they cancel.
    Customers whose story started at least a week before the scoring date are checked.
    """
    data, truth = cp.make_subscription_data(n_customers=2500, random_state=11,
                                            return_truth=True)
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_jobs=1)).fit(data, as_of=AS_OF)
    scores = pipe.score(data, AS_OF)
    joined = scores.join(truth)
    started = joined["driver"].notna() & (joined["driver_start"] < AS_OF - pd.Timedelta("7D"))
    return joined[started]


@pytest.mark.parametrize("driver", ["payments", "support", "engagement"])
def test_top_reason_group_matches_the_known_driver(explained, driver):
    at_risk = explained[(explained["driver"] == driver)
                        & (explained["churn_probability"] > 0.1)]
    assert len(at_risk) >= 3, f"too few {driver} customers flagged to judge"
    share = (at_risk["reason_group_1"] == driver).mean()
    assert share >= 0.8, at_risk[["churn_probability", "reason_1", "reason_group_1"]]


def test_customers_with_a_driver_rank_above_the_rest(explained):
    # the flagged customers' stories should make them riskier than the median customer
    assert explained["churn_probability"].median() > 0.05
