"""A timezone-aware as-of means the same instant as its naive UTC twin in every entry point.

Every public function or method that takes an ``as_of``, a cutoff or a date reads it with
:func:`churnpredict._windows.to_naive_utc`; each test below calls one entry point twice, with
``2024-06-30T02:00:00+02:00`` and with ``2024-06-30T00:00:00``, and compares the results.
"""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pandas as pd
import pytest

import churnpredict as cp
from churnpredict import _labels as labels
from churnpredict import _metrics as metrics
from churnpredict._evaluate import time_ordered_evaluation
from churnpredict._report import evaluate_at, write_report
from churnpredict._windows import to_naive_utc
from churnpredict.cli.inputs import parse_date

NAIVE = "2024-06-30T00:00:00"
AWARE = "2024-06-30T02:00:00+02:00"
HORIZON = "28D"


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def _same(a, b):
    """Equal results: frames and series (with their attrs), dicts, evaluations, indexes."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        assert {k: str(v) for k, v in a.attrs.items()} == {k: str(v) for k, v in b.attrs.items()}
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, cp.Evaluation):
        assert (a.as_of, a.horizon, a.metrics) == (b.as_of, b.horizon, b.metrics)
        _same(a.scores, b.scores)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


@pytest.fixture(scope="module")
def data():
    return cp.make_subscription_data(n_customers=300, events_per_day=0.3, random_state=7)


def _pipeline():
    return cp.ChurnPipeline(
        horizon=HORIZON, n_cutoffs=6, model=cp.ChurnModel(n_estimators=20, n_jobs=1)
    )


@pytest.fixture(scope="module")
def fitted(data):
    """The same settings fitted with the naive and the aware as-of."""
    return [_quiet(_pipeline().fit, data, as_of=when, progress=False) for when in (NAIVE, AWARE)]


def test_the_coercion_reads_every_kind_of_time():
    expected = pd.Timestamp(NAIVE)
    for value in (
        NAIVE,
        AWARE,
        "2024-06-30",
        datetime.date(2024, 6, 30),
        datetime.datetime(2024, 6, 30, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        np.datetime64("2024-06-30"),
        pd.Timestamp(AWARE).tz_convert("America/New_York"),
    ):
        got = to_naive_utc(value)
        assert got == expected and got.tz is None and got.unit == "ns", value


@pytest.mark.parametrize("value", ["yesterday", 5, None, pd.NaT, "3024-01-01", True])
def test_the_coercion_names_the_argument(value):
    with pytest.raises(ValueError, match=r"^cutoff=.* (is not a date|is outside).*'2024-06-30'"):
        to_naive_utc(value, "cutoff")


def test_pipeline_fit_trains_the_same_model(data, fitted):
    naive, aware = fitted
    assert naive.as_of_ == aware.as_of_ == pd.Timestamp(NAIVE)
    _same(naive.score(data, NAIVE, explain=False), aware.score(data, NAIVE, explain=False))


def test_pipeline_score_features_drift(data, fitted):
    pipe = fitted[0]
    _same(pipe.score(data, NAIVE), pipe.score(data, AWARE))
    _same(pipe.features(data, NAIVE), pipe.features(data, AWARE))
    _same(pipe.drift(data, NAIVE), pipe.drift(data, AWARE))


def test_pipeline_and_report_evaluate(data, fitted):
    pipe = fitted[0]
    _same(_quiet(pipe.evaluate, data, NAIVE), _quiet(pipe.evaluate, data, AWARE))
    _same(_quiet(evaluate_at, pipe, data, NAIVE), _quiet(evaluate_at, pipe, data, AWARE))


def test_recalibrate(data, fitted):
    naive = _quiet(fitted[0].recalibrate, data, NAIVE)
    aware = _quiet(fitted[1].recalibrate, data, AWARE)
    _same(naive.score(data, NAIVE, explain=False), aware.score(data, NAIVE, explain=False))


def test_write_report(tmp_path, data, fitted):
    pipe = fitted[0]
    scores = pipe.score(data, NAIVE)
    pages = []
    for when in (NAIVE, AWARE):
        out = _quiet(write_report, pipe, data, when, tmp_path / str(len(pages)), scores=scores)
        pages.append(out.read_text(encoding="utf-8"))
    assert pages[0] == pages[1]


def test_time_ordered_evaluation(data):
    runs = [
        _quiet(time_ordered_evaluation, data, when, HORIZON, pipeline=_pipeline())
        for when in (NAIVE, AWARE)
    ]
    _same(*runs)


def test_labels(data):
    for call in (
        lambda when: labels.label_churn(data, [when], HORIZON),
        lambda when: labels.label_churn(data, ["2024-05-01"], HORIZON, as_of=when),
        lambda when: labels.population(data, [when]),
        lambda when: labels.customer_status(data, labels.population(data, [when]), HORIZON),
        lambda when: labels.training_cutoffs(data, when, HORIZON, periods=3),
        lambda when: labels.make_cutoffs(when, periods=3),
        lambda when: labels.recorded_cutoffs(data, ["2024-05-01"], HORIZON, as_of=when),
        lambda when: labels.span_advice(data, when),
        lambda when: cp.build_features(data, [when]),
    ):
        _same(call(NAIVE), call(AWARE))


def test_business_metrics(data):
    for call in (
        lambda when: metrics.churn_metrics(data, start="2024-01-01", end=when),
        lambda when: metrics.churn_metrics(data, start=when, end="2024-10-01"),
        lambda when: metrics.cohort_retention(data, end=when),
    ):
        _same(call(NAIVE), call(AWARE))


def test_campaign_readout(data, fitted):
    listed = cp.at_risk_list(
        fitted[0].score(data, "2024-05-01", explain=False), holdout=0.5, random_state=3
    )
    given = listed.copy()
    given.attrs = {}
    runs = [
        (
            cp.campaign_readout(listed, data, as_of=when),
            cp.campaign_readout(given, data, as_of="2024-08-31", horizon=HORIZON, list_as_of=when),
        )
        for when in (NAIVE, AWARE)
    ]
    _same(runs[0][0], runs[1][0])
    _same(runs[0][1], runs[1][1])


def test_datasets():
    for call in (
        lambda when: cp.make_subscription_data(n_customers=20, end=when, random_state=1),
        lambda when: cp.make_subscription_data(n_customers=20, price_rise_at=when, random_state=1),
        lambda when: cp.datasets.make_usage_data(n_customers=20, export_from=when, random_state=1),
    ):
        naive, aware = call(NAIVE), call(AWARE)
        for name in ("customers", "activity", "payments", "tickets"):
            if getattr(naive, name, None) is not None:
                _same(getattr(naive, name), getattr(aware, name))


def test_snapshot_date():
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_at": ["2024-01-01", "2024-02-01"]})
    naive = cp.EventData(customers.assign(churn=[0, 1]), label_column="churn", snapshot_at=NAIVE)
    aware = cp.EventData(customers.assign(churn=[0, 1]), label_column="churn", snapshot_at=AWARE)
    assert naive.snapshot_at == aware.snapshot_at == pd.Timestamp(NAIVE)


def test_command_line_dates():
    assert parse_date(AWARE) == parse_date(NAIVE) == pd.Timestamp(NAIVE)
    assert parse_date("2024-06-30T02:00:00Z") == pd.Timestamp("2024-06-30T02:00:00")
