"""Big runs: sizes estimated and refused up front, a training sample that stays calibrated.

Work whose size is known before it starts (training rows x features, metric periods) is
checked against the memory available (``CHURNPREDICT_MEMORY_LIMIT`` sets a budget here, so
the tests do not depend on the machine) and refused with ``ResourceLimitError`` naming the
sizes and the way out, before any row is laid out. ``train_sample`` keeps every churner and a
share of the other rows of each training cutoff, weighted: the raw booster's probabilities
stay calibrated without the calibration map's help.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

import churnpredict._pipeline as pipeline_module
from churnpredict import ChurnModelError, ResourceLimitError
from churnpredict._metrics import churn_metrics
from churnpredict._model import ChurnModel
from churnpredict._pipeline import ChurnPipeline
from churnpredict._resources import (
    MEMORY_LIMIT_VARIABLE,
    available_memory,
    format_bytes,
    parse_bytes,
    process_memory,
)
from churnpredict._sizing import population_bound, sample_training_rows
from churnpredict.datasets import make_subscription_data
from churnpredict.features import EngagementFeatures, TenureFeatures

AS_OF = pd.Timestamp("2024-12-01")


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data():
    return make_subscription_data(n_customers=2500, random_state=8)


def _budget(monkeypatch, extra: int) -> None:
    """Leave ``extra`` bytes above what this process holds now."""
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, str(process_memory() + extra))


# ------------------------------------------------------------------ memory available
def test_budget_variable_caps_what_is_available(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "1G")
    assert available_memory() == max(0, (1 << 30) - process_memory())
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "lots")
    with pytest.raises(ResourceLimitError, match=r"CHURNPREDICT_MEMORY_LIMIT='lots'; give bytes"):
        available_memory()
    assert parse_bytes("2.5G") == int(2.5 * 2**30) and format_bytes(3 * 2**30) == "3.0 GiB"


# ------------------------------------------------------------------ training refused up front
def test_twenty_thousand_hourly_cutoffs_are_refused_before_any_row_exists(data, monkeypatch):
    """20,000 cutoffs an hour apart: tens of millions of rows. The count comes from sorted
    signups and cancellations, so the refusal is immediate and labels are never built."""
    _budget(monkeypatch, 256 << 20)

    def no_labels(*args, **kwargs):  # pragma: no cover - the check must come first
        raise AssertionError("labels were built before the size check")

    monkeypatch.setattr(pipeline_module, "label_churn", no_labels)
    start = time.perf_counter()
    pipe = ChurnPipeline(n_cutoffs=20_000, cutoff_freq="1h")
    with pytest.raises(ResourceLimitError) as caught:
        pipe.fit(data, as_of=AS_OF, progress=False)
    assert time.perf_counter() - start < 10
    message = str(caught.value)
    # the cutoffs before the first signup (two years of data: about 16,100 hours) not counted
    assert re.match(r"training on [\d,]{9,} rows \(16,1\d\d cutoffs\) needs about", message)
    assert "n_cutoffs=" in message and "train_sample=" in message and "--scheduler" in message


def test_a_huge_n_cutoffs_is_counted_not_laid_out(data):
    """Cutoffs before the first signup hold nobody: asking for 450 years of fortnightly
    cutoffs (about as many as data can span, 1700-2199) costs what the data's own do; more
    is refused with a clear error."""

    def pipe(n):
        return ChurnPipeline(
            n_cutoffs=n,
            cutoff_freq="14D",
            model=ChurnModel(n_estimators=20, n_jobs=1, validation_cutoffs=1),
            builders=[TenureFeatures()],
        )

    start = time.perf_counter()
    huge = pipe(int(450 * 365.25 / 14)).fit(data, as_of=AS_OF, progress=False)
    assert time.perf_counter() - start < 20
    enough = pipe(200).fit(data, as_of=AS_OF, progress=False)  # 7.7 years: every cutoff
    assert list(huge.cutoffs_) == list(enough.cutoffs_)
    with pytest.raises(ChurnModelError, match="more than the 500 years data can cover"):
        pipe(10**9).fit(data, as_of=AS_OF, progress=False)


def test_fifteen_hundred_windows_are_refused_before_they_are_built(data, monkeypatch):
    """The builders are fitted first, so the check counts their columns exactly."""
    _budget(monkeypatch, 400 << 20)
    built = []
    monkeypatch.setattr(EngagementFeatures, "build", lambda *a: built.append(1))
    pipe = ChurnPipeline(builders=[EngagementFeatures(windows=list(range(1, 1501)))])
    with pytest.raises(ResourceLimitError, match=r"x [\d,]{5,} features needs about"):
        pipe.fit(data, as_of=AS_OF, progress=False)
    assert not built


def test_population_bound_is_an_upper_bound(data):
    from churnpredict._labels import make_cutoffs, population

    cutoffs = make_cutoffs(AS_OF, 6, "30D")
    assert population_bound(data, cutoffs) >= len(population(data, cutoffs))
    assert population_bound(data, cutoffs) <= 1.01 * len(population(data, cutoffs))


# ------------------------------------------------------------------ metrics refused up front
def test_metrics_per_second_are_refused_up_front(data, monkeypatch):
    _budget(monkeypatch, 256 << 20)
    start = time.perf_counter()
    with pytest.raises(ResourceLimitError, match=r"metrics per 's'.*use a longer period"):
        churn_metrics(data, period="s")
    assert time.perf_counter() - start < 5
    assert len(churn_metrics(data, period="MS")) == 24  # months are small


# ------------------------------------------------------------------ the training sample
def test_sample_keeps_every_churner_and_a_share_of_each_cutoff():
    cutoffs = pd.DatetimeIndex(["2024-01-01", "2024-02-01", "2024-03-01"], name="cutoff")
    index = pd.MultiIndex.from_product([np.arange(1000), cutoffs], names=["customer_id", "cutoff"])
    churned = (np.arange(3000) % 20 == 0).astype(np.int8)
    labels = pd.DataFrame({"churned": churned}, index=index)
    kept, weight = sample_training_rows(labels, 0.1, keep_latest=1)
    cut = kept.index.get_level_values("cutoff")
    assert kept["churned"].sum() == churned.sum()  # every churner
    latest = cut == cutoffs[-1]
    assert latest.sum() == 1000 and np.all(weight[latest] == 1.0)  # the latest cutoff whole
    for stamp in cutoffs[:-1]:
        here = (cut == stamp) & (kept["churned"].to_numpy() == 0)
        assert here.sum() == 95  # a tenth of the 950 others
        assert np.allclose(weight[here], 10.0)
        # weighted, each sampled cutoff counts all its rows again
        assert weight[cut == stamp].sum() == pytest.approx(1000)
    again, _ = sample_training_rows(labels, 0.1, keep_latest=1)
    assert again.index.equals(kept.index)  # the same rows every time


def test_training_sample_stays_calibrated_and_ranks_like_all_rows(data):
    """Without the calibration map, the booster's own probabilities must match the churn
    rate of the next horizon: the weights undo the sample's excess of churners (unweighted,
    the mean probability would be about 1.5 times the rate here)."""
    model = ChurnModel(n_estimators=300, n_jobs=1, calibration=None)
    full = ChurnPipeline(model=model).fit(data, as_of=AS_OF, progress=False)
    sampled = ChurnPipeline(model=model, train_sample=0.25).fit(data, as_of=AS_OF, progress=False)
    summary = sampled.training_summary_
    assert summary["n_trained_rows"] < 0.5 * summary["n_rows"]
    assert summary["n_sampled_cutoffs"] == 12 - 2  # the two validation cutoffs stay whole
    later = sampled.evaluate(data, AS_OF, progress=False)
    base = full.evaluate(data, AS_OF, progress=False)
    observed = later.scores["churned"].mean()
    assert later.scores["churn_probability"].mean() == pytest.approx(observed, rel=0.2)
    assert later.metrics["auc"] > base.metrics["auc"] - 0.03


def test_training_sample_needs_weights_and_a_share(data):
    from churnpredict._model import LogisticBaseline

    with pytest.raises(Exception, match="sample_weight"):
        ChurnPipeline(model=LogisticBaseline(), train_sample=0.5).fit(data, progress=False)
    with pytest.raises(Exception, match=r"train_sample=1.5; expected 'auto', a share in \(0, 1\]"):
        ChurnPipeline(train_sample=1.5).fit(data, progress=False)
    # "auto" (the default) never asks a model without weights for a sample
    ChurnPipeline(model=LogisticBaseline()).fit(data, as_of=AS_OF, progress=False)


def test_auto_samples_big_data_only(monkeypatch):
    """ "auto" keeps every row up to AUTO_SAMPLE_FROM rows in the sampled cutoffs; above,
    every churner and about AUTO_SAMPLE_ROWS rows, never less than a tenth of the others."""
    import churnpredict._sizing as training
    from churnpredict._sizing import auto_sample_share

    cutoffs = pd.date_range("2024-01-01", periods=12, freq="14D", name="cutoff")
    index = pd.MultiIndex.from_product(
        [np.arange(10_000), cutoffs], names=["customer_id", "cutoff"]
    )
    churned = (np.arange(len(index)) % 25 == 0).astype(np.int8)  # 4% churn
    labels = pd.DataFrame({"churned": churned}, index=index)
    assert auto_sample_share(labels, keep_latest=2) is None  # 100,000 rows: every row
    monkeypatch.setattr(training, "AUTO_SAMPLE_FROM", 50_000)
    monkeypatch.setattr(training, "AUTO_SAMPLE_ROWS", 30_000)
    share = auto_sample_share(labels, keep_latest=2)
    assert share == pytest.approx((30_000 - 4_000) / 96_000, abs=1e-3)
    monkeypatch.setattr(training, "AUTO_SAMPLE_ROWS", 5_000)
    assert auto_sample_share(labels, keep_latest=2) == 0.1  # the floor


# ------------------------------------------------------------------ the command line
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale") / "data"
    folder.mkdir()
    tables = make_subscription_data(n_customers=400, events_per_day=0.3, random_state=3).tables
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _invoke(*args):
    from typer.testing import CliRunner

    from churnpredict import cli

    return CliRunner().invoke(cli.app, [str(a) for a in args], catch_exceptions=False)


def _one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("churnpredict: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_cli_refuses_a_run_too_big_with_exit_2_and_the_way_out(data_dir, tmp_path, monkeypatch):
    config = tmp_path / "big.toml"
    config.write_text('n_cutoffs = 20000\ncutoff_freq = "1h"\n')
    _budget(monkeypatch, 64 << 20)
    result = _invoke("train", data_dir, "--model", tmp_path / "m", "--config", config)
    _one_line_error(result, "more memory", "n_cutoffs=", "--train-sample", "--scheduler")
    result = _invoke("metrics", data_dir, "--period", "s")
    _one_line_error(result, "metrics per", "use a longer period")


def test_cli_out_of_memory_is_exit_2_with_the_way_out(data_dir, tmp_path, monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.45 TiB for an array")

    monkeypatch.setattr(ChurnPipeline, "fit", exhausted)
    result = _invoke("train", data_dir, "--model", tmp_path / "m")
    _one_line_error(result, "out of memory", "--train-sample", "--scheduler")


def test_cli_trains_on_a_sample(data_dir, tmp_path):
    config = tmp_path / "small.toml"
    config.write_text("[model]\nn_estimators = 40\nn_jobs = 1\n")
    model = tmp_path / "m"
    result = _invoke(
        "train", data_dir, "--model", model, "--config", config, "--train-sample", "0.3"
    )
    assert result.exit_code == 0, result.stderr
    assert "sample: " in result.stdout and "every churner" in result.stdout
    assert ChurnPipeline.load(model).train_sample == 0.3
    assert ChurnPipeline().train_sample == "auto"
    _one_line_error(
        _invoke("train", data_dir, "--model", tmp_path / "x", "--train-sample", "1.5"),
        "train_sample=1.5",
    )


# ------------------------------------------------------------------ loading
@pytest.mark.skipif(
    int(pd.__version__.split(".")[0]) < 3,
    reason="pandas 2 copies a table's columns on reset_index and assignment (no copy-on-write)",
)
def test_loading_checks_events_without_copying_them():
    """Validation looks customers up once per run of events and checks lifetimes and order
    chunk by chunk: its temporaries stay under the size of the event table (they were about
    twice its size: per-event copies of signups, cancellations and positions)."""
    import tracemalloc

    from churnpredict import EventData

    rng = np.random.default_rng(0)
    n = 20_000
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
    customers = pd.DataFrame({"customer_id": np.arange(n), "signup_at": signup})
    customers["churned_at"] = signup + pd.Timedelta("1100D")
    ids = np.repeat(np.arange(n), 150)
    seconds = rng.integers(0, 700 * 86_400, len(ids))
    times = pd.Timestamp("2023-01-01") + pd.to_timedelta(seconds, "s")
    activity = pd.DataFrame({"customer_id": ids, "timestamp": times.astype("datetime64[ns]")})
    activity = activity.sort_values(["customer_id", "timestamp"], ignore_index=True)
    with pytest.warns(Warning):  # events before signup are kept and counted
        EventData(customers.iloc[:10], activity=activity.iloc[:100], unknown_customers="drop")
    tracemalloc.start()
    try:
        with pytest.warns(Warning):
            data = EventData(customers, activity=activity)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < activity.memory_usage().sum()
    # the same positions as a lookup of every event, grouped by customer or not
    expected = pd.Index(customers["customer_id"]).get_indexer(activity["customer_id"])
    assert np.array_equal(data.event_codes("activity"), expected)
    shuffled = activity.sample(frac=1.0, random_state=1)
    with pytest.warns(Warning):
        again = EventData(customers, activity=shuffled)
    assert np.array_equal(again.event_codes("activity"), expected)
    pd.testing.assert_frame_equal(again.activity, data.activity)


def test_reasons_made_in_blocks_are_the_reasons_made_whole(monkeypatch):
    """Scoring explains its rows a block at a time (bounded temporaries): the same list."""
    import churnpredict._pipeline as pipeline_module

    data = make_subscription_data(n_customers=600, random_state=4)
    pipe = ChurnPipeline(model=ChurnModel(n_estimators=60, n_jobs=1)).fit(
        data, as_of=AS_OF, progress=False
    )
    whole = pipe.score(data, AS_OF, progress=False)
    monkeypatch.setattr(pipeline_module, "EXPLAIN_BLOCK_ROWS", 37)
    blocks = pipe.score(data, AS_OF, progress=False)
    assert len(whole) > 37 * 5
    pd.testing.assert_frame_equal(blocks, whole, check_exact=True)
