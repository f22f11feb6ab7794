"""At fit, a warning when the horizon scored next lies in a part of the year training never saw."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import churnpredict as cp
from churnpredict._season import season_gap

HORIZON = pd.Timedelta("28D")


def _labels(cutoffs, rates=(0.02, 0.05), n=1000):
    """``n`` customers at each cutoff, churning at the given rates in turn."""
    rows = []
    for k, cutoff in enumerate(pd.DatetimeIndex(cutoffs)):
        rate = rates[k % len(rates)]
        rows += [(f"c{i}", cutoff, int(i < n * rate)) for i in range(n)]
    frame = pd.DataFrame(rows, columns=["customer_id", "cutoff", "churned"])
    return frame.set_index(["customer_id", "cutoff"])


def test_an_unseen_part_of_the_year_is_named_with_what_to_do():
    """Half a year of fortnightly cutoffs before 31 December: January was never a horizon."""
    cutoffs = pd.date_range(end="2024-12-03", periods=12, freq="14D")
    said = season_gap(
        _labels(cutoffs, (0.02, 0.05)),
        HORIZON,
        pd.Timestamp("2024-12-31"),
        pd.Timestamp("2024-03-01"),
        "14D",
    )
    assert said.startswith("the scoring horizon after 2024-12-31 (31 Dec-28 Jan) falls in a part")
    assert "0% of its days" in said and "churn rates from 2.0% to 5.0%" in said
    assert said.endswith("(churnpredict evaluate) and recalibrate (churnpredict recalibrate)")
    # with data a year back, the advice says how many cutoffs reach the same weeks
    longer = season_gap(
        _labels(cutoffs), HORIZON, pd.Timestamp("2024-12-31"), pd.Timestamp("2023-01-01"), "14D"
    )
    assert longer.endswith("or train with n_cutoffs=26 to reach the same weeks a year earlier")
    yearly = pd.date_range(end="2024-12-03", periods=26, freq="14D")
    assert (
        season_gap(
            _labels(yearly), HORIZON, pd.Timestamp("2024-12-31"), pd.Timestamp("2023-01-01"), "14D"
        )
        is None
    )


def test_a_steady_churn_rate_gives_no_sign_of_a_season():
    """An unseen part of the year, but the rate held within chance over the cutoffs seen."""
    cutoffs = pd.date_range(end="2024-12-03", periods=12, freq="14D")
    for rates, n in (((0.03,), 1000), ((0.17, 0.27), 90)):  # one rate; a short log's noise
        said = season_gap(
            _labels(cutoffs, rates, n),
            HORIZON,
            pd.Timestamp("2024-12-31"),
            pd.Timestamp("2024-03-01"),
            "14D",
        )
        assert said is None, rates
    moved = season_gap(
        _labels(cutoffs, (0.17, 0.27), 2000),
        HORIZON,
        pd.Timestamp("2024-12-31"),
        pd.Timestamp("2024-03-01"),
        "14D",
    )
    assert moved is not None and "churn rates from 17.0% to 27.0%" in moved


def test_a_horizon_seen_a_year_earlier_is_no_gap():
    cutoffs = [pd.Timestamp("2023-12-20")] + list(
        pd.date_range("2024-06-01", periods=5, freq="30D")
    )
    assert (
        season_gap(
            _labels(cutoffs), HORIZON, pd.Timestamp("2024-12-31"), pd.Timestamp("2023-06-01"), "30D"
        )
        is None
    )


def test_fit_warns_and_evaluation_shows_mean_predicted_against_observed():
    data = cp.make_subscription_data(n_customers=2000, random_state=5)  # rates move
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=30, n_jobs=1), n_cutoffs=6)
    with pytest.warns(cp.SeasonWarning, match=r"scoring horizon after 2024-11-01"):
        pipe.fit(data, as_of="2024-11-01", progress=False)
    evaluation = pipe.evaluate(data, "2024-11-01", progress=False)
    mean = evaluation.scores["churn_probability"].mean()
    assert evaluation.metrics["mean_predicted"] == pytest.approx(mean)
    assert f"mean_predicted={mean:.3f}" in repr(evaluation)
    assert "Mean predicted vs observed churn" in evaluation._repr_html_()
    with warnings.catch_warnings():  # a year of cutoffs covers the next month: no warning
        warnings.simplefilter("error", cp.SeasonWarning)
        cp.ChurnPipeline(
            model=cp.ChurnModel(n_estimators=30, n_jobs=1), n_cutoffs=14, cutoff_freq="28D"
        ).fit(data, as_of="2024-11-01", progress=False)
    assert np.isfinite(mean)
